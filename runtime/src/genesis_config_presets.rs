//! Genesis presets: `development` (Alice alone) and `local_testnet` (Alice and Bob validating).
//! Both fund the well-known dev accounts, make Alice sudo, and create one example datanet per
//! modality owned by Alice with Bob and Charlie as curators (bonded).

use crate::{
	AccountId, BalancesConfig, BlockNumber, DatanetsConfig, RuntimeGenesisConfig, SessionConfig,
	SessionKeys, SudoConfig, ValidatorsConfig, UNIT,
};
use alloc::{string::ToString, vec, vec::Vec};
use pallet_datanets::{GenesisDatanet, Modality, Rules};
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// Balance of each endowed dev account: one million TRIB.
pub const ENDOWMENT: u128 = 1_000_000 * UNIT;

fn example_datanets() -> Vec<GenesisDatanet<crate::Runtime>> {
	let owner = Sr25519Keyring::Alice.to_account_id();
	let curators =
		vec![Sr25519Keyring::Bob.to_account_id(), Sr25519Keyring::Charlie.to_account_id()];
	let rules = Rules { contribution_deposit: UNIT, ..Rules::with_defaults() };
	let make =
		|name: &str, description: &str, modality: Modality, formats: &[&str]| GenesisDatanet {
			owner: owner.clone(),
			name: name.to_string(),
			description: description.to_string(),
			modality,
			formats: formats.iter().map(|f| f.to_string()).collect(),
			curators: curators.clone(),
			rules: rules.clone(),
		};
	vec![
		make(
			"open-instructions",
			"Instruction and answer pairs in English for fine-tuning small chat models.",
			Modality::Text,
			&["txt", "md", "jsonl"],
		),
		make(
			"street-scenes",
			"Photographs of streets and traffic, for detection and captioning.",
			Modality::Image,
			&["png", "jpeg", "webp"],
		),
		make(
			"spoken-digits",
			"Short recordings of spoken digits, one per file.",
			Modality::Audio,
			&["wav", "flac", "mp3"],
		),
	]
}

fn testnet_genesis(
	validators: Vec<(AccountId, AuraId, GrandpaId)>,
	session_length: BlockNumber,
	endowed: Vec<AccountId>,
	root: AccountId,
) -> Value {
	let config = RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed.iter().cloned().map(|k| (k, ENDOWMENT)).collect(),
			..Default::default()
		},
		// Aura's and GRANDPA's authorities come from the session's keys (their own genesis
		// lists stay empty, or the session's first set would clash with them).
		validators: ValidatorsConfig {
			validators: validators.iter().map(|v| v.0.clone()).collect(),
			session_length,
		},
		session: SessionConfig {
			keys: validators
				.iter()
				.map(|(who, aura, grandpa)| {
					(
						who.clone(),
						who.clone(),
						SessionKeys { aura: aura.clone(), grandpa: grandpa.clone() },
					)
				})
				.collect(),
			..Default::default()
		},
		sudo: SudoConfig { key: Some(root) },
		datanets: DatanetsConfig {
			datanets: example_datanets(),
			// The example datanets' curators curate with a bond from the start.
			bonded_curators: vec![
				Sr25519Keyring::Bob.to_account_id(),
				Sr25519Keyring::Charlie.to_account_id(),
			],
		},
		..Default::default()
	};
	serde_json::to_value(config).expect("genesis config serializes")
}

/// A dev validator: its account and Aura key are the sr25519 dev key, its GRANDPA key the ed25519.
fn validator(k: Sr25519Keyring, g: Ed25519Keyring) -> (AccountId, AuraId, GrandpaId) {
	(k.to_account_id(), k.public().into(), g.public().into())
}

/// Blocks per session on the dev chain (an hour) and on the local testnet (two minutes, so a
/// validator added there starts authoring within a few minutes).
pub const DEV_SESSION_LENGTH: BlockNumber = 600;
pub const LOCAL_SESSION_LENGTH: BlockNumber = 20;

fn dev_accounts() -> Vec<AccountId> {
	Sr25519Keyring::iter()
		.filter(|k| k != &Sr25519Keyring::One && k != &Sr25519Keyring::Two)
		.map(|k| k.to_account_id())
		.collect()
}

/// Alice alone validates.
pub fn development_config_genesis() -> Value {
	testnet_genesis(
		vec![validator(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
		DEV_SESSION_LENGTH,
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// Alice and Bob validate.
pub fn local_config_genesis() -> Value {
	testnet_genesis(
		vec![
			validator(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			validator(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
		],
		LOCAL_SESSION_LENGTH,
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The JSON of the preset `id`, if there is one.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_config_genesis(),
		_ => return None,
	};
	Some(serde_json::to_string(&patch).expect("preset serializes").into_bytes())
}

/// The presets this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}
