//! A test runtime: system, balances, the real workers pallet (bonds and slashing) and this
//! pallet. The jobs pallet's side (voiding a result) is a recorder: the runtime wires the real one.

use crate as pallet_attribution;
use frame_support::{
	assert_ok, derive_impl, parameter_types,
	traits::{ConstU128, ConstU32, ConstU64, Hooks},
	BoundedVec,
};
use sp_runtime::{BuildStorage, Perbill};

pub type AccountId = u64;
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
	pub type Workers = pallet_workers;
	#[runtime::pallet_index(3)]
	pub type Attribution = pallet_attribution;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type AccountStore = System;
	type ExistentialDeposit = ConstU128<1>;
	type RuntimeHoldReason = RuntimeHoldReason;
}

pub const MIN_BOND: Balance = 1_000;

impl pallet_workers::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinBond = ConstU128<MIN_BOND>;
	type UnbondDelay = ConstU64<50>;
	type MaxPeerIdLen = ConstU32<64>;
	type MaxAddrs = ConstU32<4>;
	type MaxAddrLen = ConstU32<64>;
	type MaxEndpointLen = ConstU32<64>;
	type WeightInfo = ();
}

std::thread_local! {
	pub static VOIDED: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Records the jobs voided.
pub struct Recorder;
impl crate::VoidResult for Recorder {
	fn void(job: u64) -> bool {
		VOIDED.with(|v| v.borrow_mut().push(job));
		true
	}
}

pub fn voided() -> Vec<u64> {
	VOIDED.with(|v| v.borrow().clone())
}

pub const COMMIT: u64 = 3;
pub const REVEAL: u64 = 3;
pub const VOTE: u64 = 5;
pub const FRAUD: Balance = 600;
pub const WRONG: Balance = 100;
pub const NO_SHOW: Balance = 50;

parameter_types! {
	pub const ChallengerShare: Perbill = Perbill::from_percent(50);
}

impl pallet_attribution::Config for Test {
	type Balance = Balance;
	type Workers = Workers;
	type Results = Recorder;
	type CommitPeriod = ConstU64<COMMIT>;
	type RevealPeriod = ConstU64<REVEAL>;
	type VotePeriod = ConstU64<VOTE>;
	type MaxVerifiers = ConstU32<4>;
	type Checks = ConstU32<3>;
	type MaxProofLen = ConstU32<16>;
	type MaxPerBlock = ConstU32<2>;
	type FraudPenalty = ConstU128<FRAUD>;
	type ChallengerShare = ChallengerShare;
	type WrongVotePenalty = ConstU128<WRONG>;
	type NoShowPenalty = ConstU128<NO_SHOW>;
}

/// The worker whose result is checked, and verifiers.
pub const AUTHOR: AccountId = 1;
pub const V1: AccountId = 2;
pub const V2: AccountId = 3;
pub const V3: AccountId = 4;
pub const OUTSIDER: AccountId = 9;

pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: [AUTHOR, V1, V2, V3, OUTSIDER].into_iter().map(|a| (a, 10_000)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(t);
	ext.execute_with(|| {
		System::set_block_number(1);
		for who in [AUTHOR, V1, V2, V3] {
			assert_ok!(Workers::register(
				RuntimeOrigin::signed(who),
				MIN_BOND,
				BoundedVec::truncate_from(b"peer".to_vec()),
				BoundedVec::truncate_from(vec![BoundedVec::truncate_from(b"/ip4/1".to_vec())]),
				pallet_workers::Capabilities {
					device: pallet_workers::Device::Cpu,
					memory_mib: 1,
					max_model_params: 1,
				},
			));
		}
		VOIDED.with(|v| v.borrow_mut().clear());
	});
	ext
}

/// Runs blocks up to `n` with this pallet's `on_initialize`, checking its invariants after each.
pub fn run_to(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Attribution::on_initialize(next);
		Attribution::do_try_state().expect("attribution try_state");
		Workers::do_try_state().expect("workers try_state");
	}
}
