//! A test runtime: system, balances, timestamp and the datanets pallet.

use crate as pallet_datanets;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU128, ConstU32, ConstU64},
	PalletId,
};
use sp_runtime::BuildStorage;

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
	pub type Timestamp = pallet_timestamp;
	#[runtime::pallet_index(3)]
	pub type Datanets = pallet_datanets;
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

impl pallet_timestamp::Config for Test {
	type Moment = u64;
	type OnTimestampSet = ();
	type MinimumPeriod = ConstU64<1>;
	type WeightInfo = ();
}

parameter_types! {
	pub const DatanetsPalletId: PalletId = PalletId(*b"trib/dnt");
}

pub const DATANET_DEPOSIT: Balance = 100;
pub const CURATOR_BOND: Balance = 50;
/// A record deposit is `RECORD_BASE + RECORD_PER_BYTE * metadata bytes`.
pub const RECORD_BASE: Balance = 3;
pub const RECORD_PER_BYTE: Balance = 1;
/// Just over `MaxPendingBlocks` and the expiry spill.
pub const CLEAR_DELAY: u32 = 200_100;

impl pallet_datanets::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Time = Timestamp;
	type PalletId = DatanetsPalletId;
	type DatanetDeposit = ConstU128<DATANET_DEPOSIT>;
	type GlobalBoardBond = ConstU128<500>;
	type RecordDepositBase = ConstU128<RECORD_BASE>;
	type RecordDepositPerByte = ConstU128<RECORD_PER_BYTE>;
	type ClearDelay = ConstU32<CLEAR_DELAY>;
	type MaxNameLen = ConstU32<32>;
	type MaxDescriptionLen = ConstU32<128>;
	type MaxFormats = ConstU32<8>;
	type MaxFormatLen = ConstU32<8>;
	type MaxCurators = ConstU32<8>;
	type MaxMetadataLen = ConstU32<64>;
	type MaxPendingBlocks = ConstU32<200_000>;
	type MaxExpiriesPerBlock = ConstU32<4>;
	type MaxCommitments = ConstU32<8>;
	type MaxLeaderboardLen = ConstU32<3>;
	type RulesChangeDelay = ConstU32<5>;
	type ForceOrigin = frame_system::EnsureRoot<AccountId>;
	type CommitmentLifetime = ConstU32<40>;
	type CuratorBond = ConstU128<CURATOR_BOND>;
	type CuratorUnbondDelay = ConstU32<20>;
	type WeightInfo = ();
}

pub const OWNER: AccountId = 1;
pub const ALICE: AccountId = 10;
pub const BOB: AccountId = 11;
pub const CAROL: AccountId = 12;
pub const CUR1: AccountId = 20;
pub const CUR2: AccountId = 21;
pub const CUR3: AccountId = 22;
pub const OUTSIDER: AccountId = 99;
pub const START_BALANCE: Balance = 10_000;

/// Funded accounts, the clock at 2026-11-22 00:00 UTC, block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: [OWNER, ALICE, BOB, CAROL, CUR1, CUR2, CUR3, OUTSIDER]
			.into_iter()
			.map(|a| (a, START_BALANCE))
			.collect(),
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.unwrap();
	// The curators curate with a bond from the start.
	crate::GenesisConfig::<Test> { datanets: vec![], bonded_curators: vec![CUR1, CUR2, CUR3] }
		.assimilate_storage(&mut t)
		.unwrap();
	let mut ext = sp_io::TestExternalities::new(t);
	ext.execute_with(|| {
		System::set_block_number(1);
		pallet_timestamp::Now::<Test>::put(DAY0_MS);
	});
	ext
}

/// 2026-11-22T00:00:00Z in ms.
pub const DAY0_MS: u64 = 20_414 * crate::DAY_MS;

/// Runs `test` in a fresh externality, then checks the pallet's invariants.
pub fn run_test(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Datanets::do_try_state().expect("try_state after test");
	});
}
