//! Unit tests of the checks against the real workers pallet (bonds, slashing).

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok, traits::fungible::Inspect, BoundedVec};
use pallet_rewards::{merkle, Leaf, Role};

type E = Error<Test>;

/// A table of 8 contributor leaves (contribution i pays account 100 + i) and one curator leaf.
fn table() -> Vec<Leaf<AccountId>> {
	let mut t: Vec<Leaf<AccountId>> = (0..8)
		.map(|i| Leaf { role: Role::Contributor, account: 100 + i, item: i, ppm: 125_000 })
		.collect();
	t.push(Leaf { role: Role::Curator, account: 200, item: 8, ppm: 1_000_000 });
	t
}

const JOB: u64 = 7;

/// Opens JOB's check at block 1: commits until 4, reveals until 7, votes until 12.
fn open() {
	let t = table();
	assert_ok!(<Attribution as ResultChecks<_, _>>::open(JOB, &AUTHOR, merkle::root(&t), 9, 8));
}

fn secret(who: AccountId) -> [u8; 32] {
	[who as u8; 32]
}

fn commit(who: AccountId) {
	assert_ok!(Attribution::commit(
		RuntimeOrigin::signed(who),
		JOB,
		commitment_of(&secret(who), &who)
	));
}

fn reveal(who: AccountId) {
	assert_ok!(Attribution::reveal(RuntimeOrigin::signed(who), JOB, secret(who)));
}

/// `verifiers` commit and reveal; returns at the start of the vote (block 7).
fn all_reveal(verifiers: &[AccountId]) {
	for v in verifiers {
		commit(*v);
	}
	run_to(4);
	for v in verifiers {
		reveal(*v);
	}
	run_to(7);
}

fn bond(who: AccountId) -> Balance {
	pallet_workers::WorkerInfo::<Test>::get(who).map_or(0, |w| w.bond)
}

/// A dispute of the first sampled entry, claiming `recomputed` ppm.
fn dispute(who: AccountId, recomputed: u32) -> sp_runtime::DispatchResult {
	let c = Checks::<Test>::get(JOB).unwrap();
	let index = Attribution::sample(&c)[0];
	let t = table();
	let proof = BoundedVec::truncate_from(merkle::proof(&t, index));
	let leaf = t[index as usize].clone();
	let other = Leaf { ppm: recomputed, ..leaf.clone() };
	Attribution::dispute(RuntimeOrigin::signed(who), JOB, index, leaf, proof, other)
}

#[test]
fn the_phases_run_in_order_and_the_seed_takes_every_reveal() {
	new_test_ext().execute_with(|| {
		open();
		let c = Checks::<Test>::get(JOB).unwrap();
		assert_eq!((c.commit_end, c.reveal_end, c.vote_end), (4, 7, 12));
		assert_eq!(<Attribution as ResultChecks<_, _>>::period(), COMMIT + REVEAL + VOTE + 2);
		// Only other active workers verify, once each.
		assert_noop!(
			Attribution::commit(RuntimeOrigin::signed(AUTHOR), JOB, [0; 32]),
			E::OwnResult
		);
		assert_noop!(
			Attribution::commit(RuntimeOrigin::signed(OUTSIDER), JOB, [0; 32]),
			E::NotActiveWorker
		);
		commit(V1);
		assert_noop!(
			Attribution::commit(RuntimeOrigin::signed(V1), JOB, [0; 32]),
			E::AlreadyCommitted
		);
		commit(V2);
		// No reveal before the commits close; no commit after.
		assert_noop!(
			Attribution::reveal(RuntimeOrigin::signed(V1), JOB, secret(V1)),
			E::WrongPhase
		);
		run_to(4);
		assert_noop!(Attribution::commit(RuntimeOrigin::signed(V3), JOB, [0; 32]), E::WrongPhase);
		// A secret that is not the one committed is refused.
		assert_noop!(Attribution::reveal(RuntimeOrigin::signed(V1), JOB, [0; 32]), E::BadReveal);
		let start = Checks::<Test>::get(JOB).unwrap().seed;
		reveal(V1);
		let after_one = Checks::<Test>::get(JOB).unwrap().seed;
		assert_ne!(after_one, start);
		reveal(V2);
		let after_two = Checks::<Test>::get(JOB).unwrap().seed;
		assert_ne!(after_two, after_one);
		assert_noop!(
			Attribution::reveal(RuntimeOrigin::signed(V2), JOB, secret(V2)),
			E::NotVerifier
		);
		// No vote before the reveals close.
		assert_noop!(Attribution::agree(RuntimeOrigin::signed(V1), JOB), E::WrongPhase);
	});
}

#[test]
fn a_confirmed_dispute_voids_the_result_slashes_its_author_and_pays_the_disputers() {
	new_test_ext().execute_with(|| {
		open();
		all_reveal(&[V1, V2, V3]);
		let c = Checks::<Test>::get(JOB).unwrap();
		assert_eq!(Attribution::sample(&c).len(), 3, "min(Checks, entries) distinct entries");
		assert_ok!(dispute(V1, 200_000));
		assert_ok!(dispute(V2, 90_000));
		assert_ok!(Attribution::agree(RuntimeOrigin::signed(V3), JOB));
		assert_noop!(Attribution::agree(RuntimeOrigin::signed(V3), JOB), E::NotVerifier);
		let free = |who| Balances::balance(&who);
		let (f1, f2) = (free(V1), free(V2));
		run_to(11);
		assert!(voided().is_empty(), "nothing before the vote closes");
		run_to(12);
		assert_eq!(voided(), vec![JOB]);
		assert!(Checks::<Test>::get(JOB).is_none());
		// The author loses FRAUD; half of it goes to the two disputers, 150 each.
		assert_eq!(bond(AUTHOR), MIN_BOND - FRAUD);
		assert_eq!((free(V1) - f1, free(V2) - f2), (150, 150));
		assert_eq!((bond(V1), bond(V2)), (MIN_BOND, MIN_BOND));
		// The verifier that agreed with a voided table pays for it.
		assert_eq!(bond(V3), MIN_BOND - WRONG);
		System::assert_has_event(
			Event::CheckConcluded { job: JOB, outcome: Outcome::Voided, agreed: 1, disputed: 2 }
				.into(),
		);
	});
}

#[test]
fn an_upheld_result_costs_the_disputer_and_the_verifiers_that_did_not_show() {
	new_test_ext().execute_with(|| {
		open();
		for v in [V1, V2, V3] {
			commit(v);
		}
		run_to(4);
		// V3 withholds its secret (it would choose between two seeds: it pays for the choice).
		reveal(V1);
		reveal(V2);
		run_to(7);
		assert_ok!(Attribution::agree(RuntimeOrigin::signed(V1), JOB));
		assert_ok!(dispute(V2, 1));
		assert_noop!(Attribution::agree(RuntimeOrigin::signed(V3), JOB), E::NotVerifier);
		run_to(12);
		// A tie upholds the result.
		assert!(voided().is_empty());
		assert_eq!(bond(AUTHOR), MIN_BOND);
		assert_eq!(
			(bond(V1), bond(V2), bond(V3)),
			(MIN_BOND, MIN_BOND - WRONG, MIN_BOND - NO_SHOW)
		);
		System::assert_has_event(
			Event::CheckConcluded { job: JOB, outcome: Outcome::Upheld, agreed: 1, disputed: 1 }
				.into(),
		);
	});
}

#[test]
fn a_dispute_must_name_a_sampled_leaf_as_committed_and_differ_from_it() {
	new_test_ext().execute_with(|| {
		open();
		commit(V1);
		commit(V2);
		run_to(4);
		reveal(V1);
		run_to(7);
		let c = Checks::<Test>::get(JOB).unwrap();
		let sampled = Attribution::sample(&c);
		let t = table();
		let proof = |i: u32| BoundedVec::truncate_from(merkle::proof(&t, i));
		let unsampled = (0..8).find(|i| !sampled.contains(i)).unwrap();
		let d = |who, i: u32, leaf: Leaf<AccountId>, recomputed: u32| {
			let other = Leaf { ppm: recomputed, ..t[i as usize].clone() };
			Attribution::dispute(RuntimeOrigin::signed(who), JOB, i, leaf, proof(i), other)
		};
		let i = sampled[0];
		assert_noop!(d(V1, unsampled, t[unsampled as usize].clone(), 1), E::NotSampled);
		// The curators' leaf is never sampled (index 8 is past the entries).
		assert_noop!(d(V1, 8, t[8].clone(), 1), E::NotSampled);
		// A leaf that is not the committed one at that index: the proof fails.
		let forged = Leaf { ppm: 1, ..t[i as usize].clone() };
		assert_noop!(d(V1, i, forged, 2), E::BadProof);
		assert_noop!(d(V1, i, t[i as usize].clone(), 125_000), E::NoDifference);
		// The same share credited to another account is a difference.
		let elsewhere = Leaf { account: 999, ..t[i as usize].clone() };
		assert_ok!(Attribution::dispute(
			RuntimeOrigin::signed(V1),
			JOB,
			i,
			t[i as usize].clone(),
			proof(i),
			elsewhere
		));
		// Once only; V2 never revealed and cannot vote; nor can an outsider.
		assert_noop!(d(V1, i, t[i as usize].clone(), 1), E::NotVerifier);
		assert_noop!(d(V2, i, t[i as usize].clone(), 1), E::NotVerifier);
		assert_noop!(d(OUTSIDER, i, t[i as usize].clone(), 1), E::NotVerifier);
		// After the vote closes, nothing more is taken.
		run_to(12);
		assert_noop!(d(V1, i, t[i as usize].clone(), 1), E::NoCheck);
	});
}

#[test]
fn without_votes_the_result_stands_unchecked_and_checks_spill_into_later_blocks() {
	new_test_ext().execute_with(|| {
		let t = table();
		let root = merkle::root(&t);
		// MaxPerBlock is 2: a third check opened in the same block concludes a block later.
		for job in 0..3 {
			assert_ok!(<Attribution as ResultChecks<_, _>>::open(job, &AUTHOR, root, 9, 8));
		}
		assert_eq!(Checks::<Test>::get(2).unwrap().vote_end, 13);
		assert_noop!(
			<Attribution as ResultChecks<_, _>>::open(0, &AUTHOR, root, 9, 8),
			E::CheckExists
		);
		run_to(13);
		assert!(voided().is_empty());
		assert_eq!(Checks::<Test>::iter().count(), 0);
		System::assert_has_event(
			Event::CheckConcluded { job: 2, outcome: Outcome::Unchecked, agreed: 0, disputed: 0 }
				.into(),
		);
		assert_eq!(bond(AUTHOR), MIN_BOND);
	});
}

#[test]
fn a_table_nobody_can_fetch_is_voided_by_unavailable_votes() {
	new_test_ext().execute_with(|| {
		open();
		all_reveal(&[V1, V2, V3]);
		assert_ok!(Attribution::unavailable(RuntimeOrigin::signed(V1), JOB));
		assert_ok!(Attribution::unavailable(RuntimeOrigin::signed(V2), JOB));
		assert_noop!(Attribution::unavailable(RuntimeOrigin::signed(V2), JOB), E::NotVerifier);
		assert_ok!(Attribution::agree(RuntimeOrigin::signed(V3), JOB));
		run_to(12);
		assert_eq!(voided(), vec![JOB]);
		assert_eq!(bond(AUTHOR), MIN_BOND - FRAUD);
		assert_eq!(bond(V3), MIN_BOND - WRONG);
	});
}
