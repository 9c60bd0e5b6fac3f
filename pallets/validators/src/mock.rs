//! A test runtime: system, timestamp, balances, session (with historical roots), Aura and this
//! pallet. Accounts 1..=4 validate at genesis with Aura keys from the seeds `//1`..`//4`; sessions
//! last 5 blocks.

use crate as pallet_validators;
use codec::Encode;
use frame_support::{
	derive_impl,
	traits::{ConstBool, ConstU128, ConstU32, ConstU64, Hooks},
};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_core::{crypto::Pair as _, sr25519};
use sp_runtime::{impl_opaque_keys, traits::ConvertInto, BuildStorage};

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
	pub type Timestamp = pallet_timestamp;
	#[runtime::pallet_index(2)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(3)]
	pub type Validators = pallet_validators;
	#[runtime::pallet_index(4)]
	pub type Session = pallet_session;
	#[runtime::pallet_index(5)]
	pub type Historical = pallet_session::historical;
	#[runtime::pallet_index(6)]
	pub type Aura = pallet_aura;
}

impl_opaque_keys! {
	pub struct SessionKeys {
		pub aura: Aura,
	}
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
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<3000>;
	type WeightInfo = ();
}

impl pallet_aura::Config for Test {
	type AuthorityId = AuraId;
	type DisabledValidators = Session;
	type MaxAuthorities = ConstU32<16>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Test>;
}

impl pallet_session::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type ValidatorId = AccountId;
	type ValidatorIdOf = ConvertInto;
	type ShouldEndSession = Validators;
	type NextSessionRotation = Validators;
	type SessionManager = pallet_session::historical::NoteHistoricalRoot<Test, Validators>;
	type SessionHandler = <SessionKeys as sp_runtime::traits::OpaqueKeys>::KeyTypeIdProviders;
	type Keys = SessionKeys;
	type DisablingStrategy = pallet_session::disabling::UpToLimitDisablingStrategy;
	type WeightInfo = ();
	type Currency = Balances;
	type KeyDeposit = ConstU128<KEY_DEPOSIT>;
}

impl pallet_session::historical::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type FullIdentification = ();
	type FullIdentificationOf = pallet_validators::NoIdentification;
}

pub const SESSION_LENGTH: u64 = 5;
pub const HISTORY_DEPTH: u32 = 4;
pub const REPORT_WINDOW: u64 = 20;
pub const KEY_DEPOSIT: Balance = 10;

impl pallet_validators::Config for Test {
	type ValidatorOrigin = frame_system::EnsureRoot<AccountId>;
	type MaxValidators = ConstU32<6>;
	type MinValidators = ConstU32<2>;
	type MinSessionLength = ConstU64<2>;
	type HistoryDepth = ConstU32<HISTORY_DEPTH>;
	type AuraReportWindow = ConstU64<REPORT_WINDOW>;
	type WeightInfo = ();
}

/// The Aura key pair of account `n` (seed `//n`).
pub fn aura_pair(n: AccountId) -> sr25519::Pair {
	sr25519::Pair::from_string(&format!("//{n}"), None).expect("dev seed")
}

pub fn keys_of(n: AccountId) -> SessionKeys {
	SessionKeys { aura: aura_pair(n).public().into() }
}

/// `Session::set_keys`'s proof that `who` holds its keys: each key signs `"POP_" ‖ who`.
pub fn ownership_proof(who: AccountId) -> Vec<u8> {
	let statement = [b"POP_".as_slice(), &who.encode()].concat();
	aura_pair(who).sign(&statement).encode()
}

pub fn new_test_ext() -> sp_io::TestExternalities {
	let validators = vec![1, 2, 3, 4];
	let config = RuntimeGenesisConfig {
		balances: pallet_balances::GenesisConfig {
			balances: (1..=9).map(|a| (a, 1_000)).collect(),
			..Default::default()
		},
		validators: pallet_validators::GenesisConfig {
			validators: validators.clone(),
			session_length: SESSION_LENGTH,
		},
		session: pallet_session::GenesisConfig {
			keys: validators.iter().map(|&v| (v, v, keys_of(v))).collect(),
			..Default::default()
		},
		..Default::default()
	};
	let mut ext: sp_io::TestExternalities = config.build_storage().unwrap().into();
	// A keystore, as the benchmark CLI has, for the benchmarks that sign.
	ext.register_extension(sp_keystore::KeystoreExt::new(
		sp_keystore::testing::MemoryKeystore::new(),
	));
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs blocks up to `n`: session rotation (and so Aura's authority changes) at each block.
pub fn run_to(n: u64) {
	while System::block_number() < n {
		let b = System::block_number() + 1;
		System::set_block_number(b);
		Session::on_initialize(b);
	}
}

/// The events of this pallet so far.
pub fn events() -> Vec<pallet_validators::Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Validators(e) => Some(e),
			_ => None,
		})
		.collect()
}
