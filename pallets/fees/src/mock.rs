//! A test runtime: system, balances, rewards and fees; accounts are sr25519 keys, vouchers are
//! signed for real; trained models from a fixed table.

use crate as pallet_fees;
use crate::{ModelId, ModelPayout, PaidModels};
use frame_support::{derive_impl, parameter_types, traits::ConstU32, PalletId};
use pallet_rewards::RewardSplit;
use sp_core::{sr25519, Pair};
use sp_runtime::{
	traits::{IdentifyAccount, IdentityLookup, Verify},
	BuildStorage, MultiSignature,
};

pub type Signature = MultiSignature;
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
pub type Balance = u128;
type Block = frame_system::mocking::MockBlock<Test>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(2)]
	pub type Rewards = pallet_rewards;
	#[runtime::pallet_index(3)]
	pub type Fees = pallet_fees;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId;
	type Lookup = IdentityLookup<AccountId>;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type AccountStore = System;
	type ExistentialDeposit = frame_support::traits::ConstU128<10>;
	type RuntimeHoldReason = RuntimeHoldReason;
}

/// The key behind a named test account.
pub fn pair(name: &str) -> sr25519::Pair {
	sr25519::Pair::from_string(&format!("//{name}"), None).expect("a dev key")
}

pub fn account(name: &str) -> AccountId {
	sp_runtime::MultiSigner::from(pair(name).public()).into_account()
}

pub fn payer() -> AccountId {
	account("Payer")
}
pub fn worker() -> AccountId {
	account("Worker")
}
pub fn owner() -> AccountId {
	account("Owner")
}
pub fn outsider() -> AccountId {
	account("Outsider")
}

/// Datanet 0 exists, owned by `owner()`.
pub struct Owners;
impl pallet_rewards::DatanetOwners<AccountId> for Owners {
	fn owner(datanet: pallet_rewards::DatanetId) -> Option<AccountId> {
		(datanet == 0).then(owner)
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn bench_datanet(_owner: &AccountId) -> pallet_rewards::DatanetId {
		0
	}
}

/// Models 1 and 2 were trained by jobs 10 and 20 on datanet 0; model 3's datanet is gone (its
/// fees cannot be shared, so they are refused).
pub const MODEL: ModelId = 1;
pub const OTHER_MODEL: ModelId = 2;
pub const ORPHAN_MODEL: ModelId = 3;
pub const TABLE_ROOT: [u8; 32] = [7; 32];

pub struct Models;
impl PaidModels for Models {
	fn payout(model: ModelId) -> Option<ModelPayout> {
		let at = |job, datanet| ModelPayout { job, datanet, root: TABLE_ROOT, leaves: 3 };
		match model {
			MODEL => Some(at(10, 0)),
			OTHER_MODEL => Some(at(20, 0)),
			ORPHAN_MODEL => Some(at(30, 9)),
			_ => None,
		}
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn bench_model() -> ModelId {
		MODEL
	}
}

pub const CLAIM_PERIOD: u64 = 100;
pub const FEE_PERIOD: u64 = 10;
pub const CLOSE_DELAY: u64 = 2 * FEE_PERIOD;
pub const MIN_TAB: Balance = 1_000;

parameter_types! {
	pub const RewardsPalletId: PalletId = PalletId(*b"trib/rwd");
	pub const SplitByDefault: RewardSplit =
		RewardSplit { contributors: 500_000, curators: 100_000, worker: 300_000, owner: 100_000 };
}

impl pallet_rewards::Config for Test {
	type Currency = Balances;
	type Datanets = Owners;
	type PalletId = RewardsPalletId;
	type DefaultSplit = SplitByDefault;
	type ClaimPeriod = frame_support::traits::ConstU64<CLAIM_PERIOD>;
	type FeePeriod = frame_support::traits::ConstU64<FEE_PERIOD>;
	type MaxProofLen = ConstU32<20>;
	type WeightInfo = ();
}

pub struct Signer;
impl crate::BenchmarkHelper<AccountId, Signature> for Signer {
	#[cfg(feature = "runtime-benchmarks")]
	fn signer() -> Option<(AccountId, crate::Sign<Signature>)> {
		Some((payer(), |payload| pair("Payer").sign(payload).into()))
	}
}

impl pallet_fees::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Signature = Signature;
	type Models = Models;
	type Rewards = Rewards;
	type MinTab = frame_support::traits::ConstU128<MIN_TAB>;
	type CloseDelay = frame_support::traits::ConstU64<CLOSE_DELAY>;
	type MaxVouchers = ConstU32<16>;
	type WeightInfo = ();
	type BenchmarkHelper = Signer;
}

pub const START: Balance = 1_000_000_000;

pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![(payer(), START), (worker(), START), (owner(), START), (outsider(), START)],
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.unwrap();
	pallet_rewards::GenesisConfig::<Test>::default().assimilate_storage(&mut t).unwrap();
	let mut ext = sp_io::TestExternalities::new(t);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
