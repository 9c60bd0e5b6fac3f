//! A test runtime: system, balances and the rewards pallet; datanet owners from a fixed table.

use crate as pallet_rewards;
use crate::{DatanetId, DatanetOwners, RewardSplit};
use frame_support::{derive_impl, parameter_types, traits::ConstU32, PalletId};
use sp_runtime::BuildStorage;

/// Wide enough that the pallet's account and the datanets' pots differ after truncation.
pub type AccountId = u128;
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
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId;
	type Lookup = sp_runtime::traits::IdentityLookup<AccountId>;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type AccountStore = System;
	// Above the smallest payouts, so that paying into and out of the pallet's accounts below it
	// is exercised.
	type ExistentialDeposit = frame_support::traits::ConstU128<10>;
	type RuntimeHoldReason = RuntimeHoldReason;
}

pub const OWNER: AccountId = 1;
pub const BUILDER: AccountId = 2;
pub const WORKER: AccountId = 3;
pub const OUTSIDER: AccountId = 4;
/// Datanets 0 and 1 exist (owned by OWNER); others do not.
pub const DATANET: DatanetId = 0;
pub const OTHER_DATANET: DatanetId = 1;

thread_local! {
	/// Benchmarks' datanets (id 2 and up), by owner.
	static MORE: core::cell::RefCell<Vec<AccountId>> = const { core::cell::RefCell::new(Vec::new()) };
}

pub struct Owners;
impl DatanetOwners<AccountId> for Owners {
	fn owner(datanet: DatanetId) -> Option<AccountId> {
		if datanet <= 1 {
			return Some(OWNER);
		}
		MORE.with(|m| m.borrow().get(datanet as usize - 2).copied())
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn bench_datanet(owner: &AccountId) -> DatanetId {
		MORE.with(|m| {
			m.borrow_mut().push(*owner);
			m.borrow().len() as DatanetId + 1
		})
	}
}

pub const CLAIM_PERIOD: u64 = 100;
pub const FEE_PERIOD: u64 = 10;

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

pub const START: Balance = 1_000_000_000;

pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![(OWNER, START), (BUILDER, START), (WORKER, START), (OUTSIDER, START)],
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.unwrap();
	pallet_rewards::GenesisConfig::<Test>::default().assimilate_storage(&mut t).unwrap();
	let mut ext = sp_io::TestExternalities::new(t);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
