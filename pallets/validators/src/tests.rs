use crate::{
	mock::*, AuraEquivocationProof, Error, Event, PlannedValidators, Reports, SessionLength,
	AURA_EQUIVOCATION,
};
use codec::Encode;
use frame_support::{assert_noop, assert_ok};
use sp_consensus_aura::{Slot, AURA_ENGINE_ID};
use sp_core::{crypto::Pair as _, sr25519, H256};
#[allow(deprecated)]
use sp_runtime::traits::ValidateUnsigned;
use sp_runtime::{
	generic::{Digest, DigestItem},
	traits::Header as _,
	transaction_validity::{InvalidTransaction, TransactionSource},
	DispatchError,
};
use sp_staking::offence::{Kind, Offence, OffenceError, ReportOffence};

type Header = frame_system::pallet_prelude::HeaderFor<Test>;

fn session_validators() -> Vec<AccountId> {
	pallet_session::Validators::<Test>::get()
}

fn aura_authorities() -> Vec<sp_consensus_aura::sr25519::AuthorityId> {
	pallet_aura::Authorities::<Test>::get().into_inner()
}

fn set_keys(who: AccountId) {
	assert_ok!(Session::set_keys(RuntimeOrigin::signed(who), keys_of(who), ownership_proof(who)));
}

#[test]
fn genesis_validators_author_and_sessions_rotate_every_length_blocks() {
	new_test_ext().execute_with(|| {
		assert_eq!(session_validators(), vec![1, 2, 3, 4]);
		assert_eq!(aura_authorities(), (1..=4).map(|v| keys_of(v).aura).collect::<Vec<_>>());
		assert_eq!(Session::current_index(), 0);
		run_to(SESSION_LENGTH);
		assert_eq!(Session::current_index(), 1);
		run_to(3 * SESSION_LENGTH);
		assert_eq!(Session::current_index(), 3);
		assert_ok!(Validators::do_try_state());
	});
}

#[test]
fn an_added_validator_with_keys_joins_aura_within_two_sessions() {
	new_test_ext().execute_with(|| {
		// No keys yet: refused, so the set never names someone who cannot author.
		assert_noop!(
			Validators::add_validator(RuntimeOrigin::root(), 5),
			Error::<Test>::NoSessionKeys
		);
		set_keys(5);
		// Only the validator origin.
		assert_noop!(
			Validators::add_validator(RuntimeOrigin::signed(5), 5),
			DispatchError::BadOrigin
		);
		assert_ok!(Validators::add_validator(RuntimeOrigin::root(), 5));
		assert_noop!(
			Validators::add_validator(RuntimeOrigin::root(), 5),
			Error::<Test>::AlreadyValidator
		);
		assert_eq!(events(), vec![Event::ValidatorAdded { who: 5 }]);
		run_to(SESSION_LENGTH);
		assert_eq!(session_validators(), vec![1, 2, 3, 4], "queued, not yet active");
		run_to(2 * SESSION_LENGTH);
		assert_eq!(session_validators(), vec![1, 2, 3, 4, 5]);
		assert!(aura_authorities().contains(&keys_of(5).aura));
		assert_ok!(Validators::do_try_state());
	});
}

#[test]
fn the_set_is_bounded_both_ways() {
	new_test_ext().execute_with(|| {
		for v in [5, 6, 7] {
			set_keys(v);
		}
		assert_ok!(Validators::add_validator(RuntimeOrigin::root(), 5));
		assert_ok!(Validators::add_validator(RuntimeOrigin::root(), 6));
		assert_noop!(
			Validators::add_validator(RuntimeOrigin::root(), 7),
			Error::<Test>::TooManyValidators
		);
		for v in [1, 2, 3, 4] {
			assert_ok!(Validators::remove_validator(RuntimeOrigin::root(), v));
		}
		assert_noop!(
			Validators::remove_validator(RuntimeOrigin::root(), 5),
			Error::<Test>::TooFewValidators
		);
		assert_noop!(
			Validators::remove_validator(RuntimeOrigin::root(), 1),
			Error::<Test>::NotValidator
		);
		run_to(2 * SESSION_LENGTH);
		assert_eq!(session_validators(), vec![5, 6]);
		assert_eq!(aura_authorities(), vec![keys_of(5).aura, keys_of(6).aura]);
	});
}

#[test]
fn a_validator_who_purges_its_keys_leaves_the_sessions() {
	new_test_ext().execute_with(|| {
		assert_ok!(Session::purge_keys(RuntimeOrigin::signed(4)));
		run_to(2 * SESSION_LENGTH);
		assert_eq!(session_validators(), vec![1, 2, 3]);
		assert!(!aura_authorities().contains(&keys_of(4).aura));
	});
}

#[test]
fn the_session_length_changes_under_the_validator_origin_only() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Validators::set_session_length(RuntimeOrigin::root(), 1),
			Error::<Test>::SessionTooShort
		);
		assert_noop!(
			Validators::set_session_length(RuntimeOrigin::signed(1), 10),
			DispatchError::BadOrigin
		);
		assert_ok!(Validators::set_session_length(RuntimeOrigin::root(), 10));
		assert_eq!(SessionLength::<Test>::get(), 10);
		run_to(9);
		assert_eq!(Session::current_index(), 0);
		run_to(10);
		assert_eq!(Session::current_index(), 1);
	});
}

#[test]
fn old_validator_sets_are_pruned_after_the_history_depth() {
	new_test_ext().execute_with(|| {
		run_to(SESSION_LENGTH * (HISTORY_DEPTH as u64 + 3));
		// Session 6 ended last: sessions before 6 - HISTORY_DEPTH are gone, the rest kept.
		assert_eq!(Session::current_index(), 7);
		let (first, _) = pallet_session::historical::StoredRange::<Test>::get().unwrap();
		assert_eq!(first, 2);
		assert!(pallet_session::historical::HistoricalSessions::<Test>::get(1).is_none());
		assert!(pallet_session::historical::HistoricalSessions::<Test>::get(2).is_some());
	});
}

/// A header at `slot`, its content varied by `salt`, sealed by `author` as Aura seals.
fn sealed(author: &sr25519::Pair, slot: u64, salt: u8) -> Header {
	let digest =
		Digest { logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, Slot::from(slot).encode())] };
	let mut header = Header::new(7, H256::repeat_byte(salt), H256::zero(), H256::zero(), digest);
	let signature = author.sign(header.hash().as_ref());
	header.digest_mut().push(DigestItem::Seal(AURA_ENGINE_ID, signature.encode()));
	header
}

/// A report that `offender` sealed both headers at `slot`.
fn proof(
	offender: AccountId,
	slot: u64,
	a: Header,
	b: Header,
) -> Box<AuraEquivocationProof<Header>> {
	Box::new(AuraEquivocationProof {
		offender: keys_of(offender).aura,
		slot: Slot::from(slot),
		first_header: a,
		second_header: b,
	})
}

#[test]
fn an_aura_equivocation_disables_and_removes_its_author_once() {
	new_test_ext().execute_with(|| {
		pallet_aura::CurrentSlot::<Test>::put(Slot::from(100));
		let two = aura_pair(2);
		let report = proof(2, 99, sealed(&two, 99, 1), sealed(&two, 99, 2));
		// Anyone may report it, and a true report is free.
		let info =
			Validators::report_aura_equivocation(RuntimeOrigin::signed(7), report.clone()).unwrap();
		assert_eq!(info.pays_fee, frame_support::dispatch::Pays::No);
		assert!(Session::disabled_validators().contains(&1), "index 1 (account 2) disabled now");
		assert_eq!(PlannedValidators::<Test>::get().into_inner(), vec![1, 3, 4]);
		assert!(events().contains(&Event::ValidatorRemoved { who: 2, offence: true }));
		assert!(events()
			.contains(&Event::OffenceReported { kind: AURA_EQUIVOCATION, offenders: vec![2] }));
		// Once only.
		assert_noop!(
			Validators::report_aura_equivocation(RuntimeOrigin::signed(7), report),
			Error::<Test>::DuplicateReport
		);
		run_to(2 * SESSION_LENGTH);
		assert_eq!(session_validators(), vec![1, 3, 4]);
		assert!(!aura_authorities().contains(&keys_of(2).aura));
		assert_ok!(Validators::do_try_state());
	});
}

#[test]
fn false_or_stale_aura_reports_are_refused_and_punish_nobody() {
	new_test_ext().execute_with(|| {
		pallet_aura::CurrentSlot::<Test>::put(Slot::from(100));
		let (two, three) = (aura_pair(2), aura_pair(3));
		let bad = || Error::<Test>::InvalidEquivocationProof;
		// One header sealed by someone else: a forgery against account 2.
		let forged = proof(2, 99, sealed(&two, 99, 1), sealed(&three, 99, 2));
		assert_noop!(Validators::report_aura_equivocation(RuntimeOrigin::signed(7), forged), bad());
		// The same block sealed twice is one block (signatures are randomised).
		let header = sealed(&two, 99, 1);
		let mut resealed = header.clone();
		resealed.digest_mut().pop();
		let again = two.sign(resealed.hash().as_ref()).encode();
		resealed.digest_mut().push(DigestItem::Seal(AURA_ENGINE_ID, again));
		assert_ne!(header.hash(), resealed.hash());
		let twice = proof(2, 99, header, resealed);
		assert_noop!(Validators::report_aura_equivocation(RuntimeOrigin::signed(7), twice), bad());
		// Two slots are not one.
		let apart = proof(2, 99, sealed(&two, 99, 1), sealed(&two, 98, 2));
		assert_noop!(Validators::report_aura_equivocation(RuntimeOrigin::signed(7), apart), bad());
		// Out of the window, or in the future.
		let old = 100 - REPORT_WINDOW - 1;
		let stale = proof(2, old, sealed(&two, old, 1), sealed(&two, old, 2));
		assert_noop!(
			Validators::report_aura_equivocation(RuntimeOrigin::signed(7), stale),
			Error::<Test>::NotReportable
		);
		let ahead = proof(2, 101, sealed(&two, 101, 1), sealed(&two, 101, 2));
		assert_noop!(
			Validators::report_aura_equivocation(RuntimeOrigin::signed(7), ahead),
			Error::<Test>::NotReportable
		);
		// A key no validator owns.
		let eight = aura_pair(8);
		let stranger = proof(8, 99, sealed(&eight, 99, 1), sealed(&eight, 99, 2));
		assert_noop!(
			Validators::report_aura_equivocation(RuntimeOrigin::signed(7), stranger),
			Error::<Test>::NotReportable
		);
		assert!(Session::disabled_validators().is_empty());
		assert_eq!(PlannedValidators::<Test>::get().into_inner(), vec![1, 2, 3, 4]);
	});
}

#[test]
#[allow(deprecated)]
fn unsigned_reports_come_only_from_the_node_itself() {
	new_test_ext().execute_with(|| {
		pallet_aura::CurrentSlot::<Test>::put(Slot::from(100));
		let two = aura_pair(2);
		let call = crate::Call::report_aura_equivocation {
			proof: proof(2, 99, sealed(&two, 99, 1), sealed(&two, 99, 2)),
		};
		assert_eq!(
			Validators::validate_unsigned(TransactionSource::External, &call),
			Err(InvalidTransaction::Call.into())
		);
		let valid = Validators::validate_unsigned(TransactionSource::Local, &call).unwrap();
		assert!(!valid.propagate);
		let false_call = crate::Call::report_aura_equivocation {
			proof: proof(2, 99, sealed(&two, 99, 1), sealed(&two, 99, 1)),
		};
		assert_eq!(
			Validators::validate_unsigned(TransactionSource::Local, &false_call),
			Err(InvalidTransaction::BadProof.into())
		);
		assert_ok!(Validators::report_aura_equivocation(
			RuntimeOrigin::none(),
			match call {
				crate::Call::report_aura_equivocation { proof } => proof,
				_ => unreachable!(),
			}
		));
		assert!(Session::disabled_validators().contains(&1));
	});
}

/// An offence as pallet-grandpa's report system hands it over (it checks the votes itself).
struct TestOffence {
	offenders: Vec<(AccountId, ())>,
	round: u64,
}
impl Offence<(AccountId, ())> for TestOffence {
	const ID: Kind = *b"test:equivocatio";
	type Slot = u64;
	fn offenders(&self) -> Vec<(AccountId, ())> {
		self.offenders.clone()
	}
	fn session_index(&self) -> u32 {
		0
	}
	fn validator_set_count(&self) -> u32 {
		4
	}
	fn slot(&self) -> u64 {
		self.round
	}
	fn slash_fraction(&self, _: u32) -> sp_runtime::Perbill {
		sp_runtime::Perbill::one()
	}
}

#[test]
fn a_reported_grandpa_style_offence_counts_once_and_never_empties_the_set() {
	new_test_ext().execute_with(|| {
		let report = |who: AccountId, round: u64| {
			<Validators as ReportOffence<_, _, TestOffence>>::report_offence(
				vec![],
				TestOffence { offenders: vec![(who, ())], round },
			)
		};
		assert!(!<Validators as ReportOffence<_, _, TestOffence>>::is_known_offence(
			&[(3, ())],
			&5
		));
		assert_ok!(report(3, 5));
		assert!(<Validators as ReportOffence<_, _, TestOffence>>::is_known_offence(&[(3, ())], &5));
		assert_eq!(report(3, 5), Err(OffenceError::DuplicateReport));
		assert!(Session::disabled_validators().contains(&2));
		assert_eq!(PlannedValidators::<Test>::get().into_inner(), vec![1, 2, 4]);
		assert_ok!(report(2, 6));
		assert_eq!(PlannedValidators::<Test>::get().into_inner(), vec![1, 4]);
		// At most a third of the set is disabled at once (pallet-session's strategy).
		assert_eq!(Session::disabled_validators(), vec![2]);
		// The set is at its minimum: a third offender stays in it, so the chain keeps validators.
		assert_ok!(report(4, 7));
		assert_eq!(PlannedValidators::<Test>::get().into_inner(), vec![1, 4]);
		assert_eq!(Reports::<Test>::iter().count(), 3);
		assert_ok!(Validators::do_try_state());
	});
}
