//! Tests of storage deposits, record removal and clearing closed datanets (see `clearing.rs`).

use super::*;
use frame_support::{dispatch::Pays, traits::fungible::MutateHold};

/// Moves past the clear delay of a datanet closed now (nothing is pending in these tests).
fn past_clear_delay() {
	System::set_block_number(System::block_number() + u64::from(CLEAR_DELAY));
}

fn clear(who: AccountId, d: DatanetId, max_keys: u32) -> frame_support::dispatch::PostDispatchInfo {
	Datanets::clear_closed_datanet(RuntimeOrigin::signed(who), d, max_keys).unwrap()
}

#[test]
fn a_record_deposit_is_held_for_as_long_as_the_record_is_stored() {
	run_test(|| {
		let d = create();
		let before = Balances::balance(&ALICE);
		let c = submit(ALICE, d, 1);
		// Both deposits on one hold: the decision deposit and the record's.
		assert_eq!(held(ALICE), 5 + RECORD);
		reject(c, &[CUR1, CUR2], RejectReason::LowQuality);
		// The decision gives the decision deposit back; the record stays, and so does its deposit.
		assert_eq!(held(ALICE), RECORD);
		assert_eq!(Votes::<Test>::iter_prefix(c).count(), 2);
		// Nobody else may remove it while the datanet is open; the contributor may.
		assert_noop!(
			Datanets::remove_contribution(RuntimeOrigin::signed(BOB), c),
			E::NotContributor
		);
		let post = Datanets::remove_contribution(RuntimeOrigin::signed(ALICE), c).unwrap();
		assert_eq!(post.pays_fee, Pays::Yes);
		assert_eq!(post.actual_weight, Some(<() as WeightInfo>::remove_contribution(2)));
		System::assert_last_event(
			Event::ContributionRemoved {
				contribution: c,
				datanet: d,
				contributor: ALICE,
				released: RECORD,
			}
			.into(),
		);
		assert!(Contributions::<Test>::get(c).is_none());
		assert_eq!(Votes::<Test>::iter_prefix(c).count(), 0);
		assert_eq!((held(ALICE), Balances::balance(&ALICE)), (0, before));
		// The datanet's record of the rejection stays (rank never counted it).
		assert_eq!(Stats::<Test>::get(d, ALICE).rejected, 1);
		assert_eq!(DatanetInfo::<Test>::get(d).unwrap().rejected, 1);
		assert_noop!(
			Datanets::remove_contribution(RuntimeOrigin::signed(ALICE), c),
			E::UnknownContribution
		);
	});
}

#[test]
fn the_record_deposit_grows_with_the_metadata() {
	run_test(|| {
		let d = create();
		commit(ALICE, d, h(1));
		let metadata = vec![b'x'; 64];
		assert_ok!(Datanets::submit_contribution(
			RuntimeOrigin::signed(ALICE),
			d,
			h(1),
			10,
			bytes("txt"),
			metadata.try_into().unwrap(),
		));
		assert_eq!(held(ALICE), 5 + RECORD_BASE + 64 * RECORD_PER_BYTE);
	});
}

#[test]
fn pending_and_accepted_records_cannot_be_removed() {
	run_test(|| {
		let d = create();
		let pending = submit(ALICE, d, 1);
		let accepted = submit(ALICE, d, 2);
		approve(accepted, &[CUR1, CUR2]);
		for c in [pending, accepted] {
			assert_noop!(
				Datanets::remove_contribution(RuntimeOrigin::signed(ALICE), c),
				E::NotRemovable
			);
		}
		// Expired and superseded records can be (see the fuzz for superseded).
		let d2 = create_expiring();
		let gone = submit_as(BOB, d2, h(9), 10);
		run_to(System::block_number() + 20);
		assert_eq!(status(gone), ContributionStatus::Expired);
		assert_ok!(Datanets::remove_contribution(RuntimeOrigin::signed(BOB), gone));
		assert_eq!(held(BOB), 0);
	});
}

#[test]
fn a_closed_datanet_keeps_its_deposit_until_anyone_clears_it_after_the_delay() {
	run_test(|| {
		let d = create();
		assert_ok!(Datanets::fund_curation_pot(RuntimeOrigin::signed(OUTSIDER), d, 40));
		let a = submit(ALICE, d, 1);
		let b = submit(BOB, d, 2);
		let r = submit(CAROL, d, 3);
		approve(a, &[CUR1, CUR2]);
		approve(b, &[CUR1, CUR2]);
		reject(r, &[CUR1, CUR2], RejectReason::Malformed);
		assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), d));
		let owner_free = Balances::balance(&OWNER);

		assert_noop!(
			Datanets::clear_closed_datanet(RuntimeOrigin::signed(OUTSIDER), d, 10),
			E::NotClearable
		);
		assert_ok!(Datanets::close_datanet(RuntimeOrigin::signed(OWNER), d));
		assert_eq!(held(OWNER), DATANET_DEPOSIT);
		assert_eq!(ClosedAt::<Test>::get(d), Some(System::block_number()));
		System::set_block_number(System::block_number() + u64::from(CLEAR_DELAY) - 1);
		assert_noop!(
			Datanets::clear_closed_datanet(RuntimeOrigin::signed(OUTSIDER), d, 10),
			E::NotClearable
		);
		assert_noop!(
			Datanets::remove_contribution(RuntimeOrigin::signed(OUTSIDER), r),
			E::NotContributor
		);
		System::set_block_number(System::block_number() + 1);
		assert_noop!(
			Datanets::clear_closed_datanet(RuntimeOrigin::signed(OUTSIDER), d, 0),
			E::ZeroBudget
		);

		// One key per call: the last accepted item first (with its two votes: one item always
		// goes, whatever its votes), and nothing for the caller to pay.
		assert!(<Datanets as DatasetRead<AccountId>>::version(d, 1).is_some());
		let post = clear(OUTSIDER, d, 1);
		assert_eq!(post.pays_fee, Pays::No);
		assert_eq!(post.actual_weight, Some(<() as WeightInfo>::clear_closed_datanet(1, 2)));
		System::assert_last_event(
			Event::DatanetStorageCleared { datanet: d, contributions: 1, keys: 2, done: false }
				.into(),
		);
		assert!(Contributions::<Test>::get(b).is_none());
		assert_eq!(ContributionByHash::<Test>::get(d, h(2)), None);
		assert_eq!(held(BOB), 0);
		assert_eq!(ClearCursor::<Test>::get(d), Some(1));
		// While it is cleared, no job can pin its versions, and the owner can change nothing.
		assert!(<Datanets as DatasetRead<AccountId>>::version(d, 1).is_none());
		assert_noop!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), d), E::DatanetCleared);
		assert_noop!(Datanets::add_curator(RuntimeOrigin::signed(OWNER), d, 40), E::DatanetCleared);
		assert_noop!(
			Datanets::update_rules(RuntimeOrigin::signed(OWNER), d, rules()),
			E::DatanetCleared
		);
		assert_noop!(
			Datanets::fund_curation_pot(RuntimeOrigin::signed(OUTSIDER), d, 5),
			E::DatanetCleared
		);
		// The next item and its two votes use a budget of three.
		clear(CAROL, d, 3);
		assert!(Contributions::<Test>::get(a).is_none());
		assert_eq!(held(ALICE), 0);
		// Then the version, the per-contributor rows (two of each for Alice, Bob and Carol)...
		let mut calls = 0;
		loop {
			calls += 1;
			clear(OUTSIDER, d, 2);
			if DatanetInfo::<Test>::get(d).is_none() {
				break;
			}
		}
		assert_eq!(
			calls, 4,
			"1 version + 3 daily rows + 3 stats rows, two per call, then the rest"
		);
		System::assert_last_event(
			Event::DatanetStorageCleared { datanet: d, contributions: 0, keys: 1, done: true }
				.into(),
		);
		// ...and the datanet itself: the owner's deposit and the pot's remainder go back to it.
		assert_eq!(held(OWNER), 0);
		assert_eq!(Balances::balance(&OWNER), owner_free + DATANET_DEPOSIT + 40);
		assert_eq!(Balances::balance(&Datanets::curation_pot(d)), 0);
		for gone in [
			Curators::<Test>::contains_key(d),
			MmrPeaks::<Test>::contains_key(d),
			LatestVersion::<Test>::contains_key(d),
			Versions::<Test>::contains_key(d, 1),
			ClosedAt::<Test>::contains_key(d),
			ClearCursor::<Test>::contains_key(d),
			TopContributors::<Test>::contains_key(Some(d)),
			Stats::<Test>::contains_key(d, ALICE),
			ContributorDaily::<Test>::contains_key(d, ALICE),
			AcceptedList::<Test>::contains_key(d, 0),
		] {
			assert!(!gone);
		}
		// The rejected record is left to its contributor, or to anyone now, for free.
		assert_eq!(held(CAROL), RECORD);
		let post = Datanets::remove_contribution(RuntimeOrigin::signed(OUTSIDER), r).unwrap();
		assert_eq!(post.pays_fee, Pays::No);
		assert_eq!(held(CAROL), 0);
		assert_eq!(Contributions::<Test>::iter().count(), 0);
		assert_noop!(
			Datanets::clear_closed_datanet(RuntimeOrigin::signed(OUTSIDER), d, 5),
			E::UnknownDatanet
		);
	});
}

#[test]
fn clearing_a_datanet_on_the_global_board_keeps_its_contributors_credit() {
	run_test(|| {
		let d = on_board(create());
		let a = submit(ALICE, d, 1);
		approve(a, &[CUR1, CUR2]);
		let global = GlobalStats::<Test>::get(ALICE);
		assert_eq!(global.accepted, 1);
		assert_ok!(Datanets::force_close_datanet(RuntimeOrigin::root(), d, false, None));
		assert_eq!(held(OWNER), DATANET_DEPOSIT + 500, "the deposit and the board bond");
		past_clear_delay();
		assert_eq!(clear(OUTSIDER, d, 100).pays_fee, Pays::No);
		let left = DatanetInfo::<Test>::get(d).expect("kept for the board");
		assert_eq!(left.status, DatanetStatus::Cleared);
		assert_eq!((left.deposit, left.accepted), (0, 1));
		assert!(Contributions::<Test>::get(a).is_none());
		assert_eq!(held(ALICE), 0);
		// The bond stays held for the rows it keeps; the deposit came back.
		assert_eq!(held(OWNER), 500);
		assert_eq!(GlobalStats::<Test>::get(ALICE), global);
		assert_eq!(Stats::<Test>::get(d, ALICE).accepted, 1);
		assert_eq!(Datanets::leaderboard(None, 0, 10)[0].account, ALICE);
		assert_noop!(
			Datanets::clear_closed_datanet(RuntimeOrigin::signed(OUTSIDER), d, 5),
			E::NotClearable
		);
		assert_noop!(Datanets::add_curator(RuntimeOrigin::signed(OWNER), d, 40), E::DatanetCleared);
		// A force close of a cleared datanet sweeps its pot but does not reopen the clock.
		assert_ok!(Datanets::force_close_datanet(RuntimeOrigin::root(), d, false, None));
		assert_eq!(DatanetInfo::<Test>::get(d).unwrap().status, DatanetStatus::Cleared);
	});
}

#[test]
fn a_slashing_force_close_burns_the_deposit_that_clearing_would_have_returned() {
	run_test(|| {
		let d = create();
		assert_ok!(Datanets::force_close_datanet(RuntimeOrigin::root(), d, true, None));
		assert_eq!(DatanetInfo::<Test>::get(d).unwrap().deposit, 0);
		past_clear_delay();
		let free = Balances::balance(&OWNER);
		clear(OUTSIDER, d, 10);
		assert!(DatanetInfo::<Test>::get(d).is_none());
		assert_eq!(Balances::balance(&OWNER), free);
	});
}

#[test]
fn after_expiries_one_call_clears_a_small_datanet_and_anyone_removes_what_expired() {
	run_test(|| {
		// Expiries run on the way to the delay, so nothing pending is left to clear around.
		let d = create_expiring();
		let c = submit(ALICE, d, 1);
		assert_ok!(Datanets::close_datanet(RuntimeOrigin::signed(OWNER), d));
		let due = System::block_number() + u64::from(CLEAR_DELAY);
		run_to(System::block_number() + 20);
		assert_eq!(status(c), ContributionStatus::Expired);
		System::set_block_number(due);
		// Everything fits one call; a datanet that is gone cannot be cleared again.
		let post = clear(OUTSIDER, d, 100);
		assert_eq!(post.pays_fee, Pays::No);
		assert!(DatanetInfo::<Test>::get(d).is_none());
		assert_ok!(Datanets::remove_contribution(RuntimeOrigin::signed(OUTSIDER), c));
	});
}

#[test]
fn v7_migration_adds_free_records_and_starts_the_clock_of_closed_datanets() {
	use codec::Encode;
	use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
	run_test(|| {
		let d = create();
		let c = submit(ALICE, d, 1);
		approve(c, &[CUR1, CUR2]);
		let pending = submit(BOB, d, 2);
		let (committed, due) =
			Contributions::<Test>::get(pending).map(|p| (p.committed_at, p.expires_at)).unwrap();
		assert_ok!(Datanets::close_datanet(RuntimeOrigin::signed(OWNER), d));
		// A v6 chain: no record deposit, commitment or expiry block in the record, no close
		// block, and the owner's deposit released on close.
		let new = Contributions::<Test>::get(c).unwrap();
		store_contributions_as_v6(true);
		assert_ok!(Balances::release(
			&HoldReason::DatanetDeposit.into(),
			&OWNER,
			DATANET_DEPOSIT,
			frame_support::traits::tokens::Precision::Exact
		));
		DatanetInfo::<Test>::mutate(d, |x| x.as_mut().unwrap().deposit = 0);
		ClosedAt::<Test>::remove(d);
		StorageVersion::new(6).put::<Datanets>();
		run_to(System::block_number() + 3);

		migrations::v7::MigrateV6ToV7::<Test>::on_runtime_upgrade();
		assert_eq!(Datanets::on_chain_storage_version(), 7);
		// Decided: its commitment and expiry blocks were no longer kept.
		let migrated = Contributions::<Test>::get(c).expect("decodes as v7");
		let want =
			ContributionOf::<Test> { record_deposit: 0, committed_at: 0, expires_at: 0, ..new };
		assert_eq!(migrated.encode(), want.encode());
		// Pending: they move from the old maps into the record.
		let p = Contributions::<Test>::get(pending).unwrap();
		assert_eq!((p.committed_at, p.expires_at, p.record_deposit), (committed, due, 0));
		assert_eq!(migrations::v7::CommittedAt::<Test>::iter().count(), 0);
		assert_eq!(migrations::v7::ExpiresAt::<Test>::iter().count(), 0);
		assert_eq!(ClosedAt::<Test>::get(d), Some(System::block_number()));
	});
}
