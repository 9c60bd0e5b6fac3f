//! A test runtime with the real neighbours of the jobs pallet: system, balances, timestamp,
//! datanets, workers, models, rewards and jobs.

use crate as pallet_jobs;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU128, ConstU16, ConstU32, ConstU64, Hooks},
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
	#[runtime::pallet_index(4)]
	pub type Workers = pallet_workers;
	#[runtime::pallet_index(5)]
	pub type ModelCatalog = pallet_models;
	#[runtime::pallet_index(6)]
	pub type Jobs = pallet_jobs;
	#[runtime::pallet_index(7)]
	pub type Rewards = pallet_rewards;
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
	pub const RewardsPalletId: PalletId = PalletId(*b"trib/rwd");
	pub const Split: pallet_rewards::RewardSplit = pallet_rewards::RewardSplit {
		contributors: 500_000,
		curators: 100_000,
		worker: 300_000,
		owner: 100_000,
	};
}

pub const CLAIM_PERIOD: u64 = 50;

/// The rewards pallet asks the datanets pallet who owns a datanet.
pub struct Owners;
impl pallet_rewards::DatanetOwners<AccountId> for Owners {
	fn owner(datanet: u32) -> Option<AccountId> {
		<Datanets as pallet_datanets::DatasetRead<AccountId>>::owner(datanet)
	}
}

impl pallet_rewards::Config for Test {
	type Currency = Balances;
	type Datanets = Owners;
	type PalletId = RewardsPalletId;
	type DefaultSplit = Split;
	type ClaimPeriod = ConstU64<CLAIM_PERIOD>;
	type FeePeriod = ConstU64<100>;
	type MaxProofLen = ConstU32<16>;
	type WeightInfo = ();
}

impl pallet_datanets::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Time = Timestamp;
	type PalletId = DatanetsPalletId;
	type DatanetDeposit = ConstU128<100>;
	type GlobalBoardBond = ConstU128<500>;
	type RecordDepositBase = ConstU128<2>;
	type RecordDepositPerByte = ConstU128<1>;
	type ClearDelay = ConstU32<200_100>;
	type MaxNameLen = ConstU32<32>;
	type MaxDescriptionLen = ConstU32<128>;
	type MaxFormats = ConstU32<8>;
	type MaxFormatLen = ConstU32<8>;
	type MaxCurators = ConstU32<8>;
	type MaxMetadataLen = ConstU32<64>;
	type MaxPendingBlocks = ConstU32<200_000>;
	type MaxExpiriesPerBlock = ConstU32<4>;
	type MaxCommitments = ConstU32<4>;
	type MaxLeaderboardLen = ConstU32<8>;
	type RulesChangeDelay = ConstU32<5>;
	type ForceOrigin = frame_system::EnsureRoot<AccountId>;
	type CommitmentLifetime = ConstU32<10>;
	type CuratorBond = ConstU128<10>;
	type CuratorUnbondDelay = ConstU32<10>;
	type WeightInfo = ();
}

pub const MIN_BOND: Balance = 1_000;

impl pallet_workers::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinBond = ConstU128<MIN_BOND>;
	type UnbondDelay = ConstU64<200>;
	type MaxPeerIdLen = ConstU32<64>;
	type MaxAddrs = ConstU32<4>;
	type MaxAddrLen = ConstU32<64>;
	type MaxEndpointLen = ConstU32<64>;
	type WeightInfo = ();
}

impl pallet_models::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type BaseModelDeposit = ConstU128<300>;
	type MaxNameLen = ConstU32<32>;
	type MaxLicenseLen = ConstU32<16>;
	type MaxFiles = ConstU32<8>;
	type MaxFileNameLen = ConstU32<32>;
	type WeightInfo = ();
}

pub const MIN_BUDGET: Balance = 1_000;
pub const LEASE: u64 = 10;
pub const MAX_CLAIM: u64 = 35;
pub const WINDOW: u64 = 5;
pub const PENALTY: Balance = 200;
pub const PER_BLOCK: u32 = 3;

parameter_types! {
	/// The runtime's attribution method; tests change it to show that jobs keep theirs.
	pub static Method: pallet_jobs::AttributionMethod = pallet_jobs::AttributionMethod {
		projection: 16,
		seed: 0,
		checkpoints: 3,
		damping_micro: Some(100_000),
		optimizer_aware: true,
	};
}

impl pallet_jobs::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Datasets = Datanets;
	type Workers = Workers;
	type Models = ModelCatalog;
	type Rewards = Rewards;
	type Checks = ();
	type MinBudget = ConstU128<MIN_BUDGET>;
	type LeasePeriod = ConstU64<LEASE>;
	type MaxClaimBlocks = ConstU64<MAX_CLAIM>;
	type ChallengeWindow = ConstU64<WINDOW>;
	type LapsePenalty = ConstU128<PENALTY>;
	type MaxPerBlock = ConstU32<PER_BLOCK>;
	type MaxRank = ConstU16<64>;
	type MaxSeqLen = ConstU32<4096>;
	type MaxSteps = ConstU32<10_000>;
	type AttributionMethod = Method;
	type WeightInfo = ();
}

pub const OWNER: AccountId = 1;
pub const BUILDER: AccountId = 2;
pub const CONTRIBUTOR: AccountId = 3;
pub const CURATOR: AccountId = 4;
pub const W1: AccountId = 10;
pub const W2: AccountId = 11;
pub const SMALL: AccountId = 12;
pub const OUTSIDER: AccountId = 99;
pub const START_BALANCE: Balance = 100_000;

pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: [OWNER, BUILDER, CONTRIBUTOR, CURATOR, W1, W2, SMALL, OUTSIDER]
			.into_iter()
			.map(|a| (a, START_BALANCE))
			.collect(),
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.unwrap();
	pallet_datanets::GenesisConfig::<Test> { datanets: vec![], bonded_curators: vec![CURATOR] }
		.assimilate_storage(&mut t)
		.unwrap();
	pallet_rewards::GenesisConfig::<Test>::default().assimilate_storage(&mut t).unwrap();
	let mut ext = sp_io::TestExternalities::new(t);
	ext.execute_with(|| {
		System::set_block_number(1);
		pallet_timestamp::Now::<Test>::put(20_414 * pallet_datanets::DAY_MS);
	});
	ext
}

/// Runs blocks up to `n`, each with the jobs pallet's `on_initialize`, checking invariants after each.
pub fn run_to(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Jobs::on_initialize(next);
		check_all();
	}
}

/// Every pallet's invariants.
pub fn check_all() {
	Jobs::do_try_state().expect("jobs try_state");
	Workers::do_try_state().expect("workers try_state");
	ModelCatalog::do_try_state().expect("models try_state");
	Datanets::do_try_state().expect("datanets try_state");
	Rewards::do_try_state().expect("rewards try_state");
}

/// Runs `test` in a fresh externality, then checks every pallet's invariants.
pub fn run_test(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		check_all();
	});
}
