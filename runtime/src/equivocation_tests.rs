//! GRANDPA equivocations through the real runtime: a validator that signs two prevotes in one round
//! is reported with a key-ownership proof from the session's historical roots, and pallet-validators
//! records it once and takes the validator out of the set.

use crate::*;
use sp_consensus_grandpa::{Equivocation, EquivocationProof, KEY_TYPE};
use sp_core::{Pair, H256};
use sp_keyring::Ed25519Keyring;
use sp_runtime::BuildStorage;

fn local_testnet() -> sp_io::TestExternalities {
	let json = genesis_config_presets::get_preset(
		&sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET.into(),
	)
	.expect("local preset");
	let config: RuntimeGenesisConfig = serde_json::from_slice(&json).expect("full genesis config");
	let mut ext = sp_io::TestExternalities::new(config.build_storage().expect("genesis builds"));
	ext.execute_with(|| System::set_block_number(1));
	ext
}

fn grandpa_key(k: Ed25519Keyring) -> sp_consensus_grandpa::AuthorityId {
	k.public().into()
}

/// Two prevotes by `voter` in round 1 of the current set, for blocks `a` and `b`.
fn double_prevote(voter: Ed25519Keyring, a: u8, b: u8) -> EquivocationProof<Hash, BlockNumber> {
	let set_id = Grandpa::current_set_id();
	let signed = |byte: u8| {
		let prevote =
			finality_grandpa::Prevote { target_hash: H256::repeat_byte(byte), target_number: 1 };
		let payload = sp_consensus_grandpa::localized_payload(
			1,
			set_id,
			&finality_grandpa::Message::<Hash, BlockNumber>::Prevote(prevote.clone()),
		);
		(prevote, voter.pair().sign(&payload).into())
	};
	let equivocation = finality_grandpa::Equivocation {
		round_number: 1,
		identity: voter.public().into(),
		first: signed(a),
		second: signed(b),
	};
	EquivocationProof::new(set_id, Equivocation::Prevote(equivocation))
}

#[test]
fn a_grandpa_double_vote_is_reported_once_and_removes_the_voter() {
	local_testnet().execute_with(|| {
		use frame_support::traits::KeyOwnerProofSystem;
		let bob = sp_keyring::Sr25519Keyring::Bob.to_account_id();
		assert!(pallet_validators::PlannedValidators::<Runtime>::get().contains(&bob));
		let proof = double_prevote(Ed25519Keyring::Bob, 1, 2);
		let key_owner = Historical::prove((KEY_TYPE, grandpa_key(Ed25519Keyring::Bob)))
			.expect("Bob's GRANDPA key is in the current session");

		Grandpa::report_equivocation_unsigned(
			RuntimeOrigin::none(),
			Box::new(proof.clone()),
			key_owner.clone(),
		)
		.expect("a true report is accepted");
		assert!(!pallet_validators::PlannedValidators::<Runtime>::get().contains(&bob));
		let reported = System::events().iter().any(|r| {
			matches!(&r.event, RuntimeEvent::Validators(pallet_validators::Event::OffenceReported { offenders, .. }) if offenders == &vec![bob.clone()])
		});
		assert!(reported);
		// Once only.
		assert!(Grandpa::report_equivocation_unsigned(RuntimeOrigin::none(), Box::new(proof), key_owner).is_err());
		Validators::do_try_state().expect("validator invariants hold");
	});
}

#[test]
fn a_false_grandpa_report_punishes_nobody() {
	local_testnet().execute_with(|| {
		use frame_support::traits::KeyOwnerProofSystem;
		// The same prevote twice is no equivocation.
		let proof = double_prevote(Ed25519Keyring::Bob, 1, 1);
		let key_owner = Historical::prove((KEY_TYPE, grandpa_key(Ed25519Keyring::Bob))).unwrap();
		assert!(Grandpa::report_equivocation_unsigned(
			RuntimeOrigin::none(),
			Box::new(proof),
			key_owner
		)
		.is_err());
		// A key-ownership proof for another validator's key does not fit Bob's votes.
		let proof = double_prevote(Ed25519Keyring::Bob, 1, 2);
		let alice_owner =
			Historical::prove((KEY_TYPE, grandpa_key(Ed25519Keyring::Alice))).unwrap();
		assert!(Grandpa::report_equivocation_unsigned(
			RuntimeOrigin::none(),
			Box::new(proof),
			alice_owner
		)
		.is_err());
		assert_eq!(pallet_validators::PlannedValidators::<Runtime>::get().len(), 2);
	});
}
