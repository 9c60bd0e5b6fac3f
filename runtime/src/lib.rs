//! The Tributary runtime.
//!
//! Aura block production and GRANDPA finality over a validator set that root changes at runtime
//! (sessions, equivocation reports), balances and fees, sudo (dev and local presets only),
//! the datanets pallet, and the training loop's pallets: workers, models and jobs. `apis.rs` implements the runtime APIs (including the datanets queries the
//! node serves over RPC); `genesis_config_presets.rs` holds the `development` and `local_testnet`
//! presets.

#![cfg_attr(not(feature = "std"), no_std)]
#![recursion_limit = "256"]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

use alloc::vec::Vec;

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
pub mod configs;
pub mod genesis_config_presets;

use sp_runtime::{
	generic, impl_opaque_keys,
	traits::{BlakeTwo256, IdentifyAccount, Verify},
	MultiAddress, MultiSignature,
};
use sp_version::RuntimeVersion;

pub use pallet_datanets;
pub use pallet_fees;
pub use pallet_jobs;
pub use pallet_models;
pub use pallet_validators;
pub use pallet_workers;
#[cfg(feature = "std")]
pub use sp_runtime::BuildStorage;

/// Opaque types for the node, which does not need to know the extrinsic format.
pub mod opaque {
	use super::*;
	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	pub type Hash = <BlakeTwo256 as sp_runtime::traits::Hash>::Output;
}

impl_opaque_keys! {
	pub struct SessionKeys {
		pub aura: Aura,
		pub grandpa: Grandpa,
	}
}

#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("tributary"),
	impl_name: alloc::borrow::Cow::Borrowed("tributary"),
	authoring_version: 1,
	spec_version: 113,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// Target block time. Aura slots are this long; the node's dev sealing modes ignore it.
pub const MILLI_SECS_PER_BLOCK: u64 = 6000;
/// Aura slot duration; it cannot change once a chain has started.
pub const SLOT_DURATION: u64 = MILLI_SECS_PER_BLOCK;

/// 12 decimals: one TRIB is 10^12 plancks.
pub const UNIT: Balance = 1_000_000_000_000;
pub const MILLI_UNIT: Balance = UNIT / 1000;
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

pub type Signature = MultiSignature;
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
pub type Balance = u128;
pub type Nonce = u32;
pub type Hash = sp_core::H256;
pub type BlockNumber = u32;
pub type Address = MultiAddress<AccountId, ()>;
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// The transaction extensions every signed extrinsic carries.
pub type TxExtension = (
	frame_system::AuthorizeCall<Runtime>,
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	frame_metadata_hash_extension::CheckMetadataHash<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);

pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Storage migrations run at the next runtime upgrade (each checks its pallet's storage version, so
/// a migration already applied does nothing).
pub type Migrations = (
	pallet_datanets::migrations::v2::MigrateV1ToV2<Runtime>,
	pallet_datanets::migrations::v3::MigrateV2ToV3<Runtime>,
	pallet_datanets::migrations::v4::MigrateV3ToV4<Runtime>,
	pallet_datanets::migrations::v5::MigrateV4ToV5<Runtime>,
	pallet_datanets::migrations::v6::MigrateV5ToV6<Runtime>,
	pallet_datanets::migrations::v7::MigrateV6ToV7<Runtime>,
	pallet_jobs::migrations::v1::MigrateV0ToV1<Runtime>,
	pallet_jobs::migrations::v2::MigrateV1ToV2<Runtime>,
);

pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

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
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;
	// Genesis and `on_initialize` run in this order: the validator set before the session that
	// reads it, and the session (which sets Aura's and GRANDPA's authorities) before both.
	#[runtime::pallet_index(7)]
	pub type Authorship = pallet_authorship;
	#[runtime::pallet_index(8)]
	pub type Validators = pallet_validators;
	#[runtime::pallet_index(9)]
	pub type Session = pallet_session;
	#[runtime::pallet_index(14)]
	pub type Historical = pallet_session::historical;
	#[runtime::pallet_index(2)]
	pub type Aura = pallet_aura;
	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;
	#[runtime::pallet_index(4)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(5)]
	pub type TransactionPayment = pallet_transaction_payment;
	#[runtime::pallet_index(6)]
	pub type Sudo = pallet_sudo;
	#[runtime::pallet_index(10)]
	pub type Datanets = pallet_datanets;
	#[runtime::pallet_index(11)]
	pub type Workers = pallet_workers;
	#[runtime::pallet_index(12)]
	pub type Models = pallet_models;
	#[runtime::pallet_index(13)]
	pub type Jobs = pallet_jobs;
	#[runtime::pallet_index(15)]
	pub type Rewards = pallet_rewards;
	#[runtime::pallet_index(16)]
	pub type Attribution = pallet_attribution;
	#[runtime::pallet_index(17)]
	pub type Fees = pallet_fees;
}

#[cfg(test)]
mod equivocation_tests;

#[cfg(test)]
mod tests {
	use super::*;

	/// The client crate generates its typed API from `client/metadata/tributary.scale`. This fails
	/// when that file is not this runtime's metadata; `scripts/gen-metadata.sh` rewrites it (by
	/// running this test with `TRIBUTARY_WRITE_METADATA=1`).
	#[test]
	fn client_metadata_is_current() {
		// CARGO_MANIFEST_DIR read at run time: a test binary built in another checkout sharing the
		// target directory must not read (or write) that checkout's files.
		let dir = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
		let path = format!("{dir}/../client/metadata/tributary.scale");
		let fresh: Vec<u8> =
			Runtime::metadata_at_version(15).expect("metadata v15 is supported").to_vec();
		if std::env::var_os("TRIBUTARY_WRITE_METADATA").is_some() {
			std::fs::write(path, &fresh).expect("writing the client metadata");
			return;
		}
		let stored = std::fs::read(path).expect("client/metadata/tributary.scale exists");
		assert!(
			stored == fresh,
			"client/metadata/tributary.scale is stale: run scripts/gen-metadata.sh and commit it"
		);
	}

	#[test]
	fn presets_build_and_hold_one_datanet_per_modality() {
		use sp_runtime::BuildStorage;
		for preset in genesis_config_presets::preset_names() {
			let json = genesis_config_presets::get_preset(&preset).expect("listed preset exists");
			let config: RuntimeGenesisConfig =
				serde_json::from_slice(&json).expect("preset is a full genesis config");
			let storage = config.build_storage().expect("genesis builds");
			sp_io::TestExternalities::new(storage).execute_with(|| {
				let modalities: Vec<_> = (0..3)
					.map(|id| {
						pallet_datanets::DatanetInfo::<Runtime>::get(id).expect("datanet").modality
					})
					.collect();
				use pallet_datanets::Modality::*;
				assert_eq!(modalities, vec![Text, Image, Audio]);
				Datanets::do_try_state().expect("datanets invariants hold at genesis");
				Workers::do_try_state().expect("workers invariants hold at genesis");
				Models::do_try_state().expect("models invariants hold at genesis");
				Jobs::do_try_state().expect("jobs invariants hold at genesis");
				Validators::do_try_state().expect("validator invariants hold at genesis");
				Fees::do_try_state().expect("fees invariants hold at genesis");
				// The session's validators are Aura's and GRANDPA's authorities.
				let set = pallet_session::Validators::<Runtime>::get();
				assert!(!set.is_empty());
				assert_eq!(pallet_aura::Authorities::<Runtime>::get().len(), set.len());
				assert_eq!(Grandpa::grandpa_authorities().len(), set.len());
			});
		}
	}
}
