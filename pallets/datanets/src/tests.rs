//! Unit tests of the datanets pallet against the mock runtime. Every test ends with `try_state`.

use crate::{mmr, mock::*, *};
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
	BoundedVec,
};
use sp_runtime::{BuildStorage, DispatchError, TokenError};

type E = Error<Test>;

/// The record deposit of a contribution with `submit_as`'s 13 bytes of metadata.
const RECORD: Balance = RECORD_BASE + 13 * RECORD_PER_BYTE;

fn bytes<L: frame_support::traits::Get<u32>>(s: &str) -> BoundedVec<u8, L> {
	s.as_bytes().to_vec().try_into().unwrap()
}

fn formats(fs: &[&str]) -> FormatsOf<Test> {
	fs.iter().map(|f| bytes(f)).collect::<Vec<_>>().try_into().unwrap()
}

fn curators(cs: &[AccountId]) -> CuratorsOf<Test> {
	cs.to_vec().try_into().unwrap()
}

/// Defaults with a deposit of 5 and quorums of 2 out of 3 curators.
fn rules() -> RulesOf<Test> {
	Rules {
		approval_quorum: 2,
		rejection_quorum: 2,
		contribution_deposit: 5,
		..Rules::with_defaults()
	}
}

fn create_with(modality: Modality, fs: &[&str], cs: &[AccountId], r: RulesOf<Test>) -> DatanetId {
	let id = NextDatanetId::<Test>::get();
	assert_ok!(Datanets::create_datanet(
		RuntimeOrigin::signed(OWNER),
		bytes("instructions"),
		bytes("instruction pairs"),
		modality,
		formats(fs),
		r,
		curators(cs),
	));
	id
}

fn create() -> DatanetId {
	create_with(Modality::Text, &["txt", "jsonl"], &[CUR1, CUR2, CUR3], rules())
}

/// Puts `d` on the global board (OWNER posts the bond).
fn on_board(d: DatanetId) -> DatanetId {
	assert_ok!(Datanets::join_global_board(RuntimeOrigin::signed(OWNER), d));
	d
}

fn h(n: u32) -> ContentHash {
	let mut out = [0u8; 32];
	out[..4].copy_from_slice(&n.to_le_bytes());
	out[31] = 0xAA;
	out
}

/// Commits `who` to `hash` in `d` and moves to the next block, where the reveal may land.
fn commit(who: AccountId, d: DatanetId, hash: ContentHash) {
	assert_ok!(Datanets::commit_contribution(
		RuntimeOrigin::signed(who),
		commitment_of(d, &hash, &who)
	));
	run_to(System::block_number() + 1);
}

fn lifetime() -> u64 {
	<<Test as Config>::CommitmentLifetime as frame_support::traits::Get<u32>>::get().into()
}

/// Commits each `(who, datanet, hash)` in this block and moves to the next, where all may reveal.
fn commit_all(commitments: &[(AccountId, DatanetId, ContentHash)]) {
	for (who, d, hash) in commitments {
		assert_ok!(Datanets::commit_contribution(
			RuntimeOrigin::signed(*who),
			commitment_of(*d, hash, who)
		));
	}
	run_to(System::block_number() + 1);
}

/// Submits with empty metadata, without committing first; returns the call's result.
fn reveal(
	who: AccountId,
	d: DatanetId,
	hash: ContentHash,
	size: u64,
	format: &str,
) -> sp_runtime::DispatchResult {
	Datanets::submit_contribution(
		RuntimeOrigin::signed(who),
		d,
		hash,
		size,
		bytes(format),
		bytes(""),
	)
	.map(|_| ())
	.map_err(|e| e.error)
}

/// Commits, then submits with empty metadata; returns the submission's result.
fn try_submit(
	who: AccountId,
	d: DatanetId,
	hash: ContentHash,
	size: u64,
	format: &str,
) -> sp_runtime::DispatchResult {
	commit(who, d, hash);
	reveal(who, d, hash, size, format)
}

/// Commits, then asserts that the submission is refused with `err` and changes nothing.
#[track_caller]
fn assert_refused(
	who: AccountId,
	d: DatanetId,
	hash: ContentHash,
	size: u64,
	format: &str,
	err: impl Into<DispatchError>,
) {
	commit(who, d, hash);
	assert_noop!(reveal(who, d, hash, size, format), err.into());
}

/// Commits, then submits; asserts the submission is stored.
fn submit_as(who: AccountId, d: DatanetId, hash: ContentHash, size: u64) -> ContributionId {
	commit(who, d, hash);
	let id = NextContributionId::<Test>::get();
	assert_ok!(Datanets::submit_contribution(
		RuntimeOrigin::signed(who),
		d,
		hash,
		size,
		bytes("txt"),
		bytes("{\"lang\":\"en\"}"),
	));
	id
}

fn submit(who: AccountId, d: DatanetId, n: u32) -> ContributionId {
	submit_as(who, d, h(n), 1000)
}

fn approve(c: ContributionId, curators: &[AccountId]) {
	for cur in curators {
		assert_ok!(Datanets::vote(RuntimeOrigin::signed(*cur), c, Vote::Approve));
	}
}

fn reject(c: ContributionId, curators: &[AccountId], reason: RejectReason) {
	for cur in curators {
		assert_ok!(Datanets::vote(RuntimeOrigin::signed(*cur), c, Vote::Reject(reason)));
	}
}

fn held(who: AccountId) -> Balance {
	Balances::total_balance_on_hold(&who)
}

fn status(c: ContributionId) -> ContributionStatus {
	Contributions::<Test>::get(c).unwrap().status
}

fn set_time(ms: u64) {
	pallet_timestamp::Now::<Test>::put(ms);
}

/// Runs the pallet's block hooks up to and including block `n`.
fn run_to(n: u64) {
	use frame_support::traits::Hooks;
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Datanets::on_initialize(next);
	}
}

// ---------------------------------------------------------------- datanets

#[test]
fn create_datanet_stores_rules_holds_deposit_and_emits() {
	run_test(|| {
		let d = create();
		let dn = DatanetInfo::<Test>::get(d).unwrap();
		assert_eq!(dn.owner, OWNER);
		assert_eq!(dn.modality, Modality::Text);
		assert_eq!(dn.rules, rules());
		assert_eq!(dn.status, DatanetStatus::Open);
		assert_eq!(dn.deposit, DATANET_DEPOSIT);
		assert_eq!(Curators::<Test>::get(d).into_inner(), vec![CUR1, CUR2, CUR3]);
		assert_eq!(held(OWNER), DATANET_DEPOSIT);
		System::assert_last_event(
			Event::DatanetCreated { datanet: d, owner: OWNER, modality: Modality::Text }.into(),
		);
		assert_eq!(create(), d + 1);
	});
}

#[test]
fn defaults_follow_the_public_numbers() {
	let r = Rules::<u128>::with_defaults();
	assert_eq!(r.contributor_daily_bytes, 10 * 1024 * 1024);
	assert_eq!(r.contributor_daily_items, 20);
	assert_eq!(r.datanet_daily_bytes, 10 * 1024 * 1024);
	assert_eq!(r.max_item_bytes * MIN_ITEMS_PER_DATANET_DAY as u64, r.datanet_daily_bytes);
}

#[test]
fn one_item_cannot_take_a_datanets_day() {
	run_test(|| {
		let d = create();
		let set = |r| Datanets::update_rules(RuntimeOrigin::signed(OWNER), d, r);
		// The old defaults (one 10 MiB item = the datanet's 10 MiB day) are refused now.
		let whole_day = Rules { max_item_bytes: rules().datanet_daily_bytes, ..rules() };
		assert_noop!(set(whole_day), E::InvalidCaps);
		let tenth = rules().datanet_daily_bytes / 10;
		assert_noop!(set(Rules { max_item_bytes: tenth + 1, ..rules() }), E::InvalidCaps);
		assert_ok!(set(Rules { max_item_bytes: tenth, ..rules() }));
		assert_noop!(set(Rules { datanet_daily_items: 9, ..rules() }), E::InvalidCaps);
		assert_ok!(set(Rules { datanet_daily_items: 10, ..rules() }));
	});
}

#[test]
fn datanet_item_cap_is_shared_by_all_contributors() {
	run_test(|| {
		let d = create_with(
			Modality::Text,
			&["txt"],
			&[CUR1, CUR2],
			Rules { datanet_daily_items: 10, ..rules() },
		);
		for n in 0..10 {
			submit(if n < 5 { ALICE } else { BOB }, d, n);
		}
		assert_refused(CAROL, d, h(10), 1, "txt", E::DatanetDailyItemsExceeded);
		set_time(DAY0_MS + DAY_MS);
		submit(CAROL, d, 10);
		assert_eq!(DatanetDaily::<Test>::get(d).items, 1);
	});
}

#[test]
fn create_datanet_refuses_bad_definitions() {
	run_test(|| {
		let o = || RuntimeOrigin::signed(OWNER);
		let c3 = || curators(&[CUR1, CUR2, CUR3]);
		let text = Modality::Text;
		assert_noop!(
			Datanets::create_datanet(
				o(),
				bytes(""),
				bytes(""),
				text,
				formats(&["txt"]),
				rules(),
				c3()
			),
			E::EmptyName
		);
		assert_noop!(
			Datanets::create_datanet(o(), bytes("n"), bytes(""), text, formats(&[]), rules(), c3()),
			E::NoFormats
		);
		assert_noop!(
			Datanets::create_datanet(
				o(),
				bytes("n"),
				bytes(""),
				text,
				formats(&["txt", "txt"]),
				rules(),
				c3()
			),
			E::DuplicateFormat
		);
		assert_noop!(
			Datanets::create_datanet(
				o(),
				bytes("n"),
				bytes(""),
				text,
				formats(&["png"]),
				rules(),
				c3()
			),
			E::FormatNotForModality
		);
		assert_noop!(
			Datanets::create_datanet(
				o(),
				bytes("n"),
				bytes(""),
				Modality::Audio,
				formats(&["TXT"]),
				rules(),
				c3()
			),
			E::FormatNotForModality
		);
		let zero = Rules { approval_quorum: 0, ..rules() };
		assert_noop!(
			Datanets::create_datanet(
				o(),
				bytes("n"),
				bytes(""),
				text,
				formats(&["txt"]),
				zero,
				c3()
			),
			E::ZeroQuorum
		);
		let big = Rules { rejection_quorum: 4, ..rules() };
		assert_noop!(
			Datanets::create_datanet(
				o(),
				bytes("n"),
				bytes(""),
				text,
				formats(&["txt"]),
				big,
				c3()
			),
			E::QuorumExceedsCurators
		);
		let caps = Rules { max_item_bytes: rules().contributor_daily_bytes + 1, ..rules() };
		assert_noop!(
			Datanets::create_datanet(
				o(),
				bytes("n"),
				bytes(""),
				text,
				formats(&["txt"]),
				caps,
				c3()
			),
			E::InvalidCaps
		);
		let no_items = Rules { contributor_daily_items: 0, ..rules() };
		assert_noop!(
			Datanets::create_datanet(
				o(),
				bytes("n"),
				bytes(""),
				text,
				formats(&["txt"]),
				no_items,
				c3()
			),
			E::InvalidCaps
		);
		assert_noop!(
			Datanets::create_datanet(
				o(),
				bytes("n"),
				bytes(""),
				text,
				formats(&["txt"]),
				rules(),
				curators(&[CUR1, CUR1, CUR2])
			),
			E::AlreadyCurator
		);
		// An owner who cannot afford the deposit.
		assert_noop!(
			Datanets::create_datanet(
				RuntimeOrigin::signed(1234),
				bytes("n"),
				bytes(""),
				text,
				formats(&["txt"]),
				rules(),
				c3()
			),
			TokenError::FundsUnavailable
		);
	});
}

#[test]
fn owner_updates_rules_and_others_cannot() {
	run_test(|| {
		let d = create();
		let new = Rules { approval_quorum: 3, max_item_bytes: 500, ..rules() };
		assert_noop!(
			Datanets::update_rules(RuntimeOrigin::signed(ALICE), d, new.clone()),
			E::NotOwner
		);
		assert_noop!(
			Datanets::update_rules(RuntimeOrigin::signed(OWNER), 77, new.clone()),
			E::UnknownDatanet
		);
		assert_noop!(
			Datanets::update_rules(
				RuntimeOrigin::signed(OWNER),
				d,
				Rules { approval_quorum: 4, ..rules() }
			),
			E::QuorumExceedsCurators
		);
		assert_ok!(Datanets::update_rules(RuntimeOrigin::signed(OWNER), d, new.clone()));
		// The cap applies at once; the quorum waits `RulesChangeDelay` (5 in the mock).
		let now = System::block_number();
		assert_eq!(
			DatanetInfo::<Test>::get(d).unwrap().rules,
			Rules { approval_quorum: 2, ..new.clone() }
		);
		System::assert_has_event(Event::RulesUpdated { datanet: d }.into());
		System::assert_last_event(Event::RulesChangeScheduled { datanet: d, at: now + 5 }.into());
		assert_refused(ALICE, d, h(1), 501, "txt", E::ItemTooLarge);
		run_to(now + 5);
		submit_as(ALICE, d, h(2), 100);
		assert_eq!(DatanetInfo::<Test>::get(d).unwrap().rules, new);
		System::assert_has_event(Event::RulesChangeApplied { datanet: d }.into());
		assert!(ScheduledRules::<Test>::get(d).is_none());
	});
}

#[test]
fn a_fee_raised_by_the_owner_waits_so_curators_and_contributors_see_it_coming() {
	run_test(|| {
		let d = create();
		assert_ok!(Datanets::fund_curation_pot(RuntimeOrigin::signed(OUTSIDER), d, 1000));
		let raised =
			Rules { curator_fee: 900, approval_quorum: 1, contribution_deposit: 50, ..rules() };
		assert_ok!(Datanets::update_rules(RuntimeOrigin::signed(OWNER), d, raised.clone()));
		let due = System::block_number() + 5;
		assert_eq!(
			ScheduledRules::<Test>::get(d),
			Some(ScheduledChange {
				approval_quorum: 1,
				rejection_quorum: 2,
				contribution_deposit: 50,
				curator_fee: 900,
				at: due
			})
		);
		// Until then: the old fee (0), quorum (2) and deposit (5).
		let c = submit(ALICE, d, 1);
		assert_eq!(held(ALICE), 5 + RECORD);
		approve(c, &[CUR1]);
		assert_eq!(status(c), ContributionStatus::Pending);
		approve(c, &[CUR2]);
		assert_eq!(Balances::balance(&Datanets::curation_pot(d)), 1000, "no fee yet");
		// Asking for the current values again cancels the change.
		assert_ok!(Datanets::update_rules(RuntimeOrigin::signed(OWNER), d, rules()));
		assert!(ScheduledRules::<Test>::get(d).is_none());
		run_to(due + 1);
		let c = submit(BOB, d, 2);
		assert_eq!(held(BOB), 5 + RECORD);
		// Scheduled again, it applies at its block: the first vote decides and pays the fee.
		assert_ok!(Datanets::update_rules(RuntimeOrigin::signed(OWNER), d, raised));
		run_to(System::block_number() + 5);
		approve(c, &[CUR1]);
		assert!(matches!(status(c), ContributionStatus::Accepted { .. }));
		assert_eq!(Balances::balance(&Datanets::curation_pot(d)), 100);
	});
}

#[test]
fn a_curator_cannot_be_removed_below_a_scheduled_quorum() {
	run_test(|| {
		let d = create();
		let r = Rules { approval_quorum: 3, rejection_quorum: 1, ..rules() };
		assert_ok!(Datanets::update_rules(RuntimeOrigin::signed(OWNER), d, r));
		assert_noop!(
			Datanets::remove_curator(RuntimeOrigin::signed(OWNER), d, CUR3),
			E::QuorumExceedsCurators
		);
	});
}

#[test]
fn a_curator_without_a_bond_cannot_decide_anything() {
	run_test(|| {
		// ALICE is named curator but posts no bond: her vote is refused and decides nothing.
		let d = create_with(Modality::Text, &["txt"], &[CUR1, ALICE], rules());
		let c = submit(BOB, d, 1);
		assert_noop!(
			Datanets::vote(RuntimeOrigin::signed(ALICE), c, Vote::Approve),
			Error::<Test>::CuratorNotBonded
		);
		// Too small a bond is refused; the full bond is held and makes her votes count.
		assert_noop!(
			Datanets::bond_curator(RuntimeOrigin::signed(ALICE), CURATOR_BOND - 1),
			Error::<Test>::CuratorBondTooSmall
		);
		let before = held(ALICE);
		assert_ok!(Datanets::bond_curator(RuntimeOrigin::signed(ALICE), CURATOR_BOND));
		assert_eq!(held(ALICE), before + CURATOR_BOND);
		approve(c, &[CUR1, ALICE]);
		assert!(matches!(status(c), ContributionStatus::Accepted { .. }));
	});
}

#[test]
fn an_unbonding_curator_stops_voting_at_once_and_stays_slashable_for_the_delay() {
	run_test(|| {
		let d = create();
		let c = submit(BOB, d, 1);
		assert_ok!(Datanets::unbond_curator(RuntimeOrigin::signed(CUR1)));
		assert_noop!(
			Datanets::unbond_curator(RuntimeOrigin::signed(CUR1)),
			Error::<Test>::NotUnbondable
		);
		assert_noop!(
			Datanets::vote(RuntimeOrigin::signed(CUR1), c, Vote::Approve),
			Error::<Test>::CuratorNotBonded
		);
		// Not before the delay; the force origin can still slash meanwhile.
		assert_noop!(
			Datanets::withdraw_curator_bond(RuntimeOrigin::signed(CUR1)),
			Error::<Test>::BondStillLocked
		);
		assert_ok!(Datanets::slash_curator(RuntimeOrigin::root(), CUR1, 20));
		let now = System::block_number();
		run_to(now + 20);
		let free = Balances::free_balance(CUR1);
		assert_ok!(Datanets::withdraw_curator_bond(RuntimeOrigin::signed(CUR1)));
		assert_eq!(Balances::free_balance(CUR1), free + CURATOR_BOND - 20);
		assert!(CuratorBonds::<Test>::get(CUR1).is_none());
		// Bonding again makes a curator of it again.
		assert_ok!(Datanets::bond_curator(RuntimeOrigin::signed(CUR1), CURATOR_BOND));
		assert_ok!(Datanets::vote(RuntimeOrigin::signed(CUR1), c, Vote::Approve));
	});
}

#[test]
fn only_the_force_origin_slashes_curators_and_a_slashed_one_must_top_up() {
	run_test(|| {
		let d = create();
		let c = submit(BOB, d, 1);
		assert_noop!(
			Datanets::slash_curator(RuntimeOrigin::signed(OWNER), CUR1, 10),
			DispatchError::BadOrigin
		);
		let issuance = Balances::total_issuance();
		assert_ok!(Datanets::slash_curator(RuntimeOrigin::root(), CUR1, 10));
		assert_eq!(Balances::total_issuance(), issuance - 10, "burned");
		assert_noop!(
			Datanets::vote(RuntimeOrigin::signed(CUR1), c, Vote::Approve),
			Error::<Test>::CuratorNotBonded
		);
		assert_ok!(Datanets::bond_curator(RuntimeOrigin::signed(CUR1), 10));
		assert_ok!(Datanets::vote(RuntimeOrigin::signed(CUR1), c, Vote::Approve));
		// Slashing more than is held burns what there is and ends the bond.
		assert_ok!(Datanets::slash_curator(RuntimeOrigin::root(), CUR2, 10 * CURATOR_BOND));
		assert!(CuratorBonds::<Test>::get(CUR2).is_none());
		assert_noop!(
			Datanets::slash_curator(RuntimeOrigin::root(), CUR2, 1),
			Error::<Test>::CuratorNotBonded
		);
	});
}

#[test]
fn the_force_origin_closes_slashes_and_sweeps_and_nobody_else_can() {
	run_test(|| {
		let d = create();
		assert_ok!(Datanets::fund_curation_pot(RuntimeOrigin::signed(OUTSIDER), d, 700));
		let c = submit(ALICE, d, 1);
		assert_noop!(
			Datanets::force_close_datanet(RuntimeOrigin::signed(OWNER), d, true, Some(BOB)),
			DispatchError::BadOrigin
		);
		let issuance = Balances::total_issuance();
		let bob = Balances::balance(&BOB);
		assert_ok!(Datanets::force_close_datanet(RuntimeOrigin::root(), d, true, Some(BOB)));
		System::assert_last_event(
			Event::DatanetForceClosed {
				datanet: d,
				slashed: DATANET_DEPOSIT,
				pot_to: Some(BOB),
				swept: 700,
			}
			.into(),
		);
		assert_eq!(Balances::total_issuance(), issuance - DATANET_DEPOSIT);
		assert_eq!(held(OWNER), 0);
		assert_eq!(Balances::balance(&BOB), bob + 700);
		assert_eq!(Balances::balance(&Datanets::curation_pot(d)), 0);
		assert_refused(BOB, d, h(2), 10, "txt", E::DatanetClosed);
		// What is pending can still be decided; later forfeits can be swept again.
		approve(c, &[CUR1, CUR2]);
		assert!(matches!(status(c), ContributionStatus::Accepted { .. }));
		assert_ok!(Datanets::force_close_datanet(RuntimeOrigin::root(), d, false, None));
		assert_noop!(
			Datanets::force_close_datanet(RuntimeOrigin::root(), 99, false, None),
			E::UnknownDatanet
		);
	});
}

#[test]
fn curators_are_added_and_removed_by_the_owner() {
	run_test(|| {
		let d = create_with(
			Modality::Text,
			&["txt"],
			&[CUR1, CUR2],
			Rules { approval_quorum: 1, rejection_quorum: 2, ..rules() },
		);
		assert_noop!(Datanets::add_curator(RuntimeOrigin::signed(ALICE), d, CUR3), E::NotOwner);
		assert_noop!(
			Datanets::add_curator(RuntimeOrigin::signed(OWNER), d, CUR1),
			E::AlreadyCurator
		);
		assert_ok!(Datanets::add_curator(RuntimeOrigin::signed(OWNER), d, CUR3));
		System::assert_last_event(Event::CuratorAdded { datanet: d, curator: CUR3 }.into());
		for extra in 30..35 {
			assert_ok!(Datanets::add_curator(RuntimeOrigin::signed(OWNER), d, extra));
		}
		assert_noop!(
			Datanets::add_curator(RuntimeOrigin::signed(OWNER), d, 40),
			E::TooManyCurators
		);
		assert_noop!(Datanets::remove_curator(RuntimeOrigin::signed(ALICE), d, CUR3), E::NotOwner);
		assert_noop!(
			Datanets::remove_curator(RuntimeOrigin::signed(OWNER), d, OUTSIDER),
			E::NotCurator
		);
		for extra in 30..35 {
			assert_ok!(Datanets::remove_curator(RuntimeOrigin::signed(OWNER), d, extra));
		}
		assert_ok!(Datanets::remove_curator(RuntimeOrigin::signed(OWNER), d, CUR3));
		System::assert_last_event(Event::CuratorRemoved { datanet: d, curator: CUR3 }.into());
		// Two curators left and a rejection quorum of two: neither may go.
		assert_noop!(
			Datanets::remove_curator(RuntimeOrigin::signed(OWNER), d, CUR2),
			E::QuorumExceedsCurators
		);
	});
}

#[test]
fn closing_refuses_submissions_keeps_the_deposit_and_lets_pending_finish() {
	run_test(|| {
		let d = create();
		let c = submit(ALICE, d, 1);
		assert_noop!(Datanets::close_datanet(RuntimeOrigin::signed(ALICE), d), E::NotOwner);
		assert_ok!(Datanets::close_datanet(RuntimeOrigin::signed(OWNER), d));
		System::assert_last_event(Event::DatanetClosed { datanet: d }.into());
		assert_eq!(held(OWNER), DATANET_DEPOSIT);
		assert_eq!(DatanetInfo::<Test>::get(d).unwrap().status, DatanetStatus::Closed);
		assert_noop!(Datanets::close_datanet(RuntimeOrigin::signed(OWNER), d), E::AlreadyClosed);
		assert_refused(ALICE, d, h(2), 10, "txt", E::DatanetClosed);
		approve(c, &[CUR1, CUR2]);
		assert_eq!(status(c), ContributionStatus::Accepted { index: 0 });
		assert_eq!(held(ALICE), RECORD);
	});
}

// ---------------------------------------------------------------- submissions

#[test]
fn submit_records_pending_holds_deposit_and_emits() {
	run_test(|| {
		let d = create();
		let before = Balances::balance(&ALICE);
		let c = submit_as(ALICE, d, h(7), 4096);
		let rec = Contributions::<Test>::get(c).unwrap();
		assert_eq!(rec.contributor, ALICE);
		assert_eq!(rec.content_hash, h(7));
		assert_eq!(rec.bytes, 4096);
		assert_eq!(rec.format.to_vec(), b"txt".to_vec());
		assert_eq!(rec.status, ContributionStatus::Pending);
		assert_eq!((rec.deposit, rec.record_deposit), (5, RECORD));
		assert_eq!(held(ALICE), 5 + RECORD);
		assert_eq!(Balances::balance(&ALICE), before - 5 - RECORD);
		assert_eq!(ContributionByHash::<Test>::get(d, h(7)), Some(c));
		assert_eq!(Stats::<Test>::get(d, ALICE).submitted, 1);
		System::assert_last_event(
			Event::ContributionSubmitted {
				contribution: c,
				datanet: d,
				contributor: ALICE,
				content_hash: h(7),
				bytes: 4096,
			}
			.into(),
		);
	});
}

#[test]
fn submit_refuses_rule_breakers_and_stores_nothing() {
	run_test(|| {
		let d = create();
		assert_refused(ALICE, 9, h(1), 10, "txt", E::UnknownDatanet);
		assert_refused(ALICE, d, h(1), 10, "md", E::FormatNotAllowed);
		assert_refused(ALICE, d, h(1), 0, "txt", E::EmptyItem);
		let max = rules().max_item_bytes;
		assert_refused(ALICE, d, h(1), max + 1, "txt", E::ItemTooLarge);
		assert_ok!(try_submit(ALICE, d, h(1), max, "txt"));
		set_time(DAY0_MS + DAY_MS);
		// The same bytes again, by anyone, on any day.
		assert_refused(BOB, d, h(1), 10, "txt", E::DuplicateContent);
		// A contributor who cannot pay the deposit.
		assert_refused(4321, d, h(2), 10, "txt", TokenError::FundsUnavailable);
	});
}

#[test]
fn a_rejected_squatter_frees_the_hash_for_its_real_author() {
	run_test(|| {
		let d = create();
		// A squatter who learned the hash submits it first with a size the bytes do not have;
		// curators who fetched the bytes find the mismatch and reject it.
		let squat = submit_as(BOB, d, h(1), 999);
		assert_refused(ALICE, d, h(1), 1000, "txt", E::DuplicateContent);
		reject(squat, &[CUR1, CUR2], RejectReason::HashMismatch);
		assert_eq!(ContributionByHash::<Test>::get(d, h(1)), None);
		// The author submits the same bytes and gets the credit.
		let real = submit_as(ALICE, d, h(1), 1000);
		approve(real, &[CUR1, CUR2]);
		assert_eq!(ContributionByHash::<Test>::get(d, h(1)), Some(real));
		assert_eq!(Datanets::contributor_stats(&ALICE, Some(d)).accepted, 1);
		// Accepted bytes keep their hash: nobody submits them again.
		assert_refused(BOB, d, h(1), 1000, "txt", E::DuplicateContent);
	});
}

#[test]
fn a_squatter_who_learns_the_hash_gets_nothing() {
	run_test(|| {
		let d = create();
		let pot = Datanets::curation_pot(d);
		// Alice commits in block 1: the commitment tells nobody the hash.
		assert_ok!(Datanets::commit_contribution(
			RuntimeOrigin::signed(ALICE),
			commitment_of(d, &h(1), &ALICE)
		));
		run_to(2);
		// Bob learns the hash (say, from Alice's reveal waiting in the pool) and races her: he
		// commits and reveals first, and his curators even start approving.
		let squat = submit_as(BOB, d, h(1), 1000);
		assert_ok!(Datanets::vote(RuntimeOrigin::signed(CUR1), squat, Vote::Approve));
		let bob_before = Balances::total_balance(&BOB);
		// Alice's reveal lands: her commitment is older, so the hash is hers. The takeover is
		// part of what it pays for.
		let real = NextContributionId::<Test>::get();
		let post = Datanets::submit_contribution(
			RuntimeOrigin::signed(ALICE),
			d,
			h(1),
			1000,
			bytes("txt"),
			bytes(""),
		)
		.unwrap();
		// Alice holds one commitment; no metadata; off the global board; no rules change due.
		let expected = <() as WeightInfo>::submit_contribution(0, 1, 1, 0, 0, 0);
		assert_eq!(post.actual_weight, Some(expected));
		assert_eq!(status(squat), ContributionStatus::Superseded { by: real });
		System::assert_has_event(
			Event::ContributionSuperseded {
				contribution: squat,
				by: real,
				datanet: d,
				contributor: BOB,
				forfeited: 5,
			}
			.into(),
		);
		assert_eq!(ContributionByHash::<Test>::get(d, h(1)), Some(real));
		// Bob's deposit went to the pot; votes on his contribution are refused.
		assert_eq!(Balances::total_balance(&BOB), bob_before - 5);
		assert_eq!(held(BOB), RECORD);
		assert_eq!(Balances::balance(&pot), 5);
		let due = Contributions::<Test>::get(squat).unwrap().expires_at;
		assert!(!PendingExpiries::<Test>::get(due).contains(&squat), "out of its expiry bucket");
		assert_noop!(
			Datanets::vote(RuntimeOrigin::signed(CUR2), squat, Vote::Approve),
			E::NotPending
		);
		approve(real, &[CUR1, CUR2]);
		assert_eq!(Datanets::contributor_stats(&ALICE, Some(d)).accepted, 1);
		assert_eq!(Datanets::contributor_stats(&BOB, Some(d)).accepted, 0);
		// Once accepted, not even an older commitment takes the hash back.
		assert_refused(CAROL, d, h(1), 1000, "txt", E::DuplicateContent);
	});
}

#[test]
fn a_later_or_equal_commitment_cannot_take_a_pending_hash() {
	run_test(|| {
		let d = create();
		// Same block: the first reveal keeps the hash.
		commit_all(&[(ALICE, d, h(1)), (BOB, d, h(1))]);
		let first = submit_as(ALICE, d, h(2), 10);
		assert_ok!(reveal(ALICE, d, h(1), 1000, "txt"));
		assert_noop!(reveal(BOB, d, h(1), 1000, "txt"), E::DuplicateContent);
		// A later commitment (Carol's) cannot either.
		assert_refused(CAROL, d, h(1), 1000, "txt", E::DuplicateContent);
		assert_eq!(status(first), ContributionStatus::Pending);
	});
}

#[test]
fn a_reveal_needs_its_own_live_commitment_from_an_earlier_block() {
	run_test(|| {
		let d = create();
		let other = create();
		// None at all.
		assert_noop!(reveal(ALICE, d, h(1), 10, "txt"), E::NotCommitted);
		// Someone else's commitment, posted by Bob, is not Bob's.
		assert_ok!(Datanets::commit_contribution(
			RuntimeOrigin::signed(BOB),
			commitment_of(d, &h(1), &ALICE)
		));
		// A commitment to the same bytes in another datanet is not one for this datanet.
		assert_ok!(Datanets::commit_contribution(
			RuntimeOrigin::signed(ALICE),
			commitment_of(other, &h(1), &ALICE)
		));
		// Committed in this block: not yet.
		assert_ok!(Datanets::commit_contribution(
			RuntimeOrigin::signed(CAROL),
			commitment_of(d, &h(1), &CAROL)
		));
		assert_noop!(reveal(CAROL, d, h(1), 10, "txt"), E::CommitmentTooRecent);
		run_to(2);
		assert_noop!(reveal(BOB, d, h(1), 10, "txt"), E::NotCommitted);
		assert_noop!(reveal(ALICE, d, h(1), 10, "txt"), E::NotCommitted);
		// A commitment is used up by its reveal.
		assert_ok!(reveal(CAROL, d, h(1), 10, "txt"));
		assert_eq!(Commitments::<Test>::get(CAROL).len(), 0);
		assert!(!Commitments::<Test>::contains_key(CAROL), "an emptied list is removed");
		// Expired after `CommitmentLifetime` blocks.
		assert_ok!(Datanets::commit_contribution(
			RuntimeOrigin::signed(ALICE),
			commitment_of(d, &h(2), &ALICE)
		));
		run_to(2 + lifetime() + 1);
		assert_noop!(reveal(ALICE, d, h(2), 10, "txt"), E::NotCommitted);
	});
}

#[test]
fn commitments_are_bounded_per_account_and_expired_ones_make_room() {
	run_test(|| {
		let d = create();
		let max = <<Test as Config>::MaxCommitments as frame_support::traits::Get<u32>>::get();
		for n in 0..max {
			assert_ok!(Datanets::commit_contribution(
				RuntimeOrigin::signed(ALICE),
				commitment_of(d, &h(n), &ALICE)
			));
		}
		assert_noop!(
			Datanets::commit_contribution(RuntimeOrigin::signed(ALICE), [7; 32]),
			E::TooManyCommitments
		);
		// Committing again to a live commitment keeps its first block.
		run_to(5);
		assert_ok!(Datanets::commit_contribution(
			RuntimeOrigin::signed(ALICE),
			commitment_of(d, &h(0), &ALICE)
		));
		assert_eq!(Commitments::<Test>::get(ALICE)[0], (commitment_of(d, &h(0), &ALICE), 1));
		// Once they expire, the next commitment drops them all.
		run_to(1 + lifetime() + 1);
		assert_ok!(Datanets::commit_contribution(RuntimeOrigin::signed(ALICE), [7; 32]));
		let now = System::block_number();
		assert_eq!(Commitments::<Test>::get(ALICE).into_inner(), vec![([7; 32], now)]);
	});
}

#[test]
fn try_state_catches_commitment_records_out_of_place() {
	new_test_ext().execute_with(|| {
		let d = create();
		let c = submit(ALICE, d, 1);
		approve(c, &[CUR1, CUR2]);
		Datanets::do_try_state().unwrap();
		// A decided contribution still in an expiry bucket.
		PendingExpiries::<Test>::insert(7, BoundedVec::truncate_from(vec![c]));
		Contributions::<Test>::mutate(c, |x| x.as_mut().unwrap().expires_at = 7);
		assert!(Datanets::do_try_state().is_err());
		PendingExpiries::<Test>::remove(7);
		Datanets::do_try_state().unwrap();
		// A commitment block after the submission.
		Contributions::<Test>::mutate(c, |x| {
			let x = x.as_mut().unwrap();
			x.committed_at = x.submitted_at + 1;
		});
		assert!(Datanets::do_try_state().is_err());
		Contributions::<Test>::mutate(c, |x| x.as_mut().unwrap().committed_at = 1);
		// A commitment dated in the future.
		Commitments::<Test>::insert(BOB, BoundedVec::truncate_from(vec![([1; 32], 99)]));
		assert!(Datanets::do_try_state().is_err());
		Commitments::<Test>::remove(BOB);
		Datanets::do_try_state().unwrap();
	});
}

#[test]
fn try_state_catches_a_hash_index_that_disagrees_with_statuses() {
	new_test_ext().execute_with(|| {
		let d = create();
		let c = submit(ALICE, d, 1);
		reject(c, &[CUR1, CUR2], RejectReason::LowQuality);
		Datanets::do_try_state().unwrap();
		// A rejected contribution left in the index.
		ContributionByHash::<Test>::insert(d, h(1), c);
		assert!(Datanets::do_try_state().is_err());
		// An index entry pointing at another hash's contribution.
		ContributionByHash::<Test>::remove(d, h(1));
		let live = submit(ALICE, d, 2);
		ContributionByHash::<Test>::insert(d, h(3), live);
		assert!(Datanets::do_try_state().is_err());
	});
}

#[test]
fn the_same_hash_may_enter_different_datanets() {
	run_test(|| {
		let a = create();
		let b = create();
		submit(ALICE, a, 1);
		submit(ALICE, b, 1);
		assert_eq!(DatanetInfo::<Test>::get(b).unwrap().submitted, 1);
	});
}

#[test]
fn contributor_item_cap_holds_until_the_day_ends() {
	run_test(|| {
		let d = create_with(
			Modality::Text,
			&["txt"],
			&[CUR1, CUR2],
			Rules { contributor_daily_items: 3, ..rules() },
		);
		// Late in the day: three items fit, the fourth does not.
		set_time(DAY0_MS + DAY_MS - 10);
		for n in 0..3 {
			submit(ALICE, d, n);
		}
		assert_refused(ALICE, d, h(3), 10, "txt", E::ContributorDailyItemsExceeded);
		// Another contributor has a cap of their own.
		submit(BOB, d, 100);
		// One millisecond before midnight: still the same day.
		set_time(DAY0_MS + DAY_MS - 1);
		assert_refused(ALICE, d, h(3), 10, "txt", E::ContributorDailyItemsExceeded);
		// Midnight UTC: a new day, a new allowance.
		set_time(DAY0_MS + DAY_MS);
		for n in 3..6 {
			submit(ALICE, d, n);
		}
		assert_eq!(ContributorDaily::<Test>::get(d, ALICE).items, 3);
	});
}

#[test]
fn contributor_byte_cap_counts_every_submission_of_the_day() {
	run_test(|| {
		let d = create_with(
			Modality::Text,
			&["txt"],
			&[CUR1, CUR2],
			Rules {
				max_item_bytes: 600,
				contributor_daily_bytes: 1000,
				datanet_daily_bytes: 10_000,
				..rules()
			},
		);
		submit_as(ALICE, d, h(1), 600);
		submit_as(ALICE, d, h(2), 400);
		assert_refused(ALICE, d, h(3), 1, "txt", E::ContributorDailyBytesExceeded);
		set_time(DAY0_MS + 2 * DAY_MS + 5);
		submit_as(ALICE, d, h(3), 600);
	});
}

#[test]
fn datanet_byte_cap_is_shared_by_all_contributors() {
	run_test(|| {
		let d = create_with(
			Modality::Text,
			&["txt"],
			&[CUR1, CUR2],
			Rules {
				max_item_bytes: 150,
				contributor_daily_bytes: 1000,
				datanet_daily_bytes: 1500,
				..rules()
			},
		);
		for n in 0..10u32 {
			submit_as(if n < 6 { ALICE } else { BOB }, d, h(n), if n == 9 { 100 } else { 150 });
		}
		assert_refused(CAROL, d, h(10), 51, "txt", E::DatanetDailyBytesExceeded);
		submit_as(CAROL, d, h(10), 50);
		set_time(DAY0_MS + DAY_MS);
		submit_as(CAROL, d, h(11), 150);
		assert_eq!(DatanetDaily::<Test>::get(d).bytes, 150);
	});
}

// ---------------------------------------------------------------- votes

#[test]
fn approval_quorum_accepts_and_returns_the_deposit() {
	run_test(|| {
		let d = on_board(create());
		let c = submit(ALICE, d, 1);
		approve(c, &[CUR1]);
		assert_eq!(status(c), ContributionStatus::Pending);
		assert_eq!(held(ALICE), 5 + RECORD);
		approve(c, &[CUR2]);
		assert_eq!(status(c), ContributionStatus::Accepted { index: 0 });
		assert_eq!(held(ALICE), RECORD);
		assert_eq!(Balances::balance(&ALICE), START_BALANCE - RECORD);
		assert_eq!(AcceptedList::<Test>::get(d, 0), Some(c));
		System::assert_has_event(
			Event::ContributionAccepted {
				contribution: c,
				datanet: d,
				contributor: ALICE,
				index: 0,
			}
			.into(),
		);
		let s = Stats::<Test>::get(d, ALICE);
		assert_eq!((s.submitted, s.accepted, s.rejected, s.accepted_bytes), (1, 1, 0, 1000));
		assert_eq!(s.first_accepted, Some(c));
		assert_eq!(GlobalStats::<Test>::get(ALICE), s);
	});
}

#[test]
fn first_accepted_is_the_lowest_accepted_id_whatever_the_decision_order() {
	run_test(|| {
		// Found by the random call sequences: acceptances out of id order across datanets left
		// the global record at the first accepted in time, not the minimum of the datanets'.
		let (d1, d2) = (on_board(create()), on_board(create()));
		let early = submit(ALICE, d1, 1);
		let late = submit(ALICE, d2, 2);
		let later = submit(ALICE, d1, 3);
		approve(later, &[CUR1, CUR2]);
		approve(late, &[CUR1, CUR2]);
		approve(early, &[CUR1, CUR2]);
		assert_eq!(Stats::<Test>::get(d1, ALICE).first_accepted, Some(early));
		assert_eq!(Stats::<Test>::get(d2, ALICE).first_accepted, Some(late));
		assert_eq!(GlobalStats::<Test>::get(ALICE).first_accepted, Some(early));
	});
}

#[test]
fn rejection_quorum_rejects_returns_the_deposit_and_records_the_reason() {
	run_test(|| {
		let d = create();
		let c = submit(ALICE, d, 1);
		reject(c, &[CUR1], RejectReason::LowQuality);
		assert_eq!(status(c), ContributionStatus::Pending);
		reject(c, &[CUR3], RejectReason::Malformed);
		assert_eq!(status(c), ContributionStatus::Rejected { reason: RejectReason::Malformed });
		assert_eq!(held(ALICE), RECORD);
		assert_eq!(Balances::balance(&ALICE), START_BALANCE - RECORD);
		System::assert_has_event(
			Event::ContributionRejected {
				contribution: c,
				datanet: d,
				contributor: ALICE,
				reason: RejectReason::Malformed,
			}
			.into(),
		);
		assert_eq!(DatanetInfo::<Test>::get(d).unwrap().accepted, 0);
		assert!(MmrPeaks::<Test>::get(d).is_empty());
	});
}

#[test]
fn split_votes_wait_for_a_quorum() {
	run_test(|| {
		let d = create();
		let c = submit(ALICE, d, 1);
		reject(c, &[CUR1], RejectReason::OffTopic);
		approve(c, &[CUR2]);
		assert_eq!(status(c), ContributionStatus::Pending);
		approve(c, &[CUR3]);
		assert_eq!(status(c), ContributionStatus::Accepted { index: 0 });
		let rec = Contributions::<Test>::get(c).unwrap();
		assert_eq!((rec.approvals, rec.rejections), (2, 1));
	});
}

#[test]
fn quorum_equal_to_all_curators_needs_every_vote() {
	run_test(|| {
		let d = create_with(
			Modality::Text,
			&["txt"],
			&[CUR1, CUR2, CUR3],
			Rules { approval_quorum: 3, rejection_quorum: 1, ..rules() },
		);
		let c = submit(ALICE, d, 1);
		approve(c, &[CUR1, CUR2]);
		assert_eq!(status(c), ContributionStatus::Pending);
		approve(c, &[CUR3]);
		assert!(matches!(status(c), ContributionStatus::Accepted { .. }));
		// A single rejection decides with a rejection quorum of one.
		let c2 = submit(ALICE, d, 2);
		reject(c2, &[CUR2], RejectReason::Duplicate);
		assert!(matches!(status(c2), ContributionStatus::Rejected { .. }));
	});
}

#[test]
fn a_lowered_quorum_applies_at_the_next_vote() {
	run_test(|| {
		let d = create_with(
			Modality::Text,
			&["txt"],
			&[CUR1, CUR2, CUR3],
			Rules { approval_quorum: 3, ..rules() },
		);
		let c = submit(ALICE, d, 1);
		approve(c, &[CUR1]);
		assert_ok!(Datanets::update_rules(
			RuntimeOrigin::signed(OWNER),
			d,
			Rules { approval_quorum: 2, ..rules() }
		));
		run_to(System::block_number() + 5);
		assert_eq!(status(c), ContributionStatus::Pending);
		approve(c, &[CUR2]);
		assert!(matches!(status(c), ContributionStatus::Accepted { .. }));
	});
}

#[test]
fn votes_are_refused_from_outsiders_twice_own_and_after_decision() {
	run_test(|| {
		let d = create_with(Modality::Text, &["txt"], &[CUR1, CUR2, ALICE], rules());
		let c = submit(ALICE, d, 1);
		assert_noop!(
			Datanets::vote(RuntimeOrigin::signed(OUTSIDER), c, Vote::Approve),
			E::NotCurator
		);
		assert_noop!(
			Datanets::vote(RuntimeOrigin::signed(ALICE), c, Vote::Approve),
			E::OwnContribution
		);
		assert_noop!(
			Datanets::vote(RuntimeOrigin::signed(CUR1), 999, Vote::Approve),
			E::UnknownContribution
		);
		approve(c, &[CUR1]);
		assert_noop!(
			Datanets::vote(RuntimeOrigin::signed(CUR1), c, Vote::Reject(RejectReason::Other(7))),
			E::AlreadyVoted
		);
		approve(c, &[CUR2]);
		assert_ok!(Datanets::add_curator(RuntimeOrigin::signed(OWNER), d, CUR3));
		assert_noop!(Datanets::vote(RuntimeOrigin::signed(CUR3), c, Vote::Approve), E::NotPending);
		// A removed curator's vote stands, but they vote no more.
		let c2 = submit(BOB, d, 2);
		approve(c2, &[CUR3]);
		assert_ok!(Datanets::remove_curator(RuntimeOrigin::signed(OWNER), d, CUR3));
		assert_eq!(Contributions::<Test>::get(c2).unwrap().approvals, 1);
		let c3 = submit(BOB, d, 3);
		assert_noop!(Datanets::vote(RuntimeOrigin::signed(CUR3), c3, Vote::Approve), E::NotCurator);
	});
}

// ---------------------------------------------------------------- leaderboard

fn board(d: Option<DatanetId>) -> Vec<(AccountId, u32)> {
	Datanets::leaderboard(d, 0, 100).into_iter().map(|e| (e.account, e.rank)).collect()
}

#[test]
fn leaderboard_ranks_by_accepted_then_bytes_then_earliest() {
	run_test(|| {
		let d = create();
		// ALICE: 2 accepted x 1000 bytes. BOB: 2 accepted, 1000 + 2000 bytes. CAROL: 1 accepted
		// before anyone else with 3000 bytes.
		let c = submit_as(CAROL, d, h(1), 3000);
		approve(c, &[CUR1, CUR2]);
		for n in 2..4 {
			let c = submit(ALICE, d, n);
			approve(c, &[CUR1, CUR2]);
		}
		let c = submit(BOB, d, 10);
		approve(c, &[CUR1, CUR2]);
		let c = submit_as(BOB, d, h(11), 2000);
		approve(c, &[CUR1, CUR2]);
		assert_eq!(board(Some(d)), vec![(BOB, 1), (ALICE, 2), (CAROL, 3)]);

		// Equal accepted count and bytes: the earlier first acceptance ranks higher.
		let c = submit_as(CAROL, d, h(20), 1000);
		approve(c, &[CUR1, CUR2]);
		assert_eq!(board(Some(d)), vec![(CAROL, 1), (BOB, 2), (ALICE, 3)]);

		// Paging keeps the ranks.
		let page = Datanets::leaderboard(Some(d), 1, 1);
		assert_eq!(page.len(), 1);
		assert_eq!((page[0].account, page[0].rank), (BOB, 2));
		assert!(Datanets::leaderboard(Some(d), 3, 10).is_empty());
	});
}

#[test]
fn a_rejection_never_lowers_rank_or_score() {
	run_test(|| {
		let d = create();
		for (who, n) in [(ALICE, 1), (BOB, 2), (BOB, 3)] {
			let c = submit(who, d, n);
			approve(c, &[CUR1, CUR2]);
		}
		let before = Datanets::leaderboard(Some(d), 0, 10);
		for n in 10..15 {
			let c = submit(ALICE, d, n);
			reject(c, &[CUR1, CUR2], RejectReason::LowQuality);
		}
		let after = Datanets::leaderboard(Some(d), 0, 10);
		assert_eq!(before.len(), after.len());
		for (b, a) in before.iter().zip(after.iter()) {
			assert_eq!((b.account, b.rank), (a.account, a.rank));
			assert_eq!(b.stats.accepted, a.stats.accepted);
			assert_eq!(b.stats.accepted_bytes, a.stats.accepted_bytes);
		}
		let alice = after.iter().find(|e| e.account == ALICE).unwrap();
		assert_eq!(alice.stats.rejected, 5);
		// One accepted out of six decided.
		assert_eq!(alice.acceptance_rate_ppm, Some(166_666));
		// Contributors without an acceptance are not on the board; their records stay readable.
		let c = submit(CAROL, d, 50);
		reject(c, &[CUR1, CUR2], RejectReason::Malformed);
		assert!(board(Some(d)).iter().all(|(who, _)| *who != CAROL));
		assert_eq!(Datanets::contributor_stats(&CAROL, Some(d)).rejected, 1);
	});
}

#[test]
fn global_leaderboard_adds_up_all_datanets() {
	run_test(|| {
		let a = on_board(create());
		let b = on_board(create());
		let c = submit(ALICE, a, 1);
		approve(c, &[CUR1, CUR2]);
		for n in 2..4 {
			let c = submit(BOB, b, n);
			approve(c, &[CUR1, CUR2]);
		}
		let c = submit(ALICE, b, 9);
		approve(c, &[CUR1, CUR2]);
		let c = submit(ALICE, a, 10);
		approve(c, &[CUR1, CUR2]);
		assert_eq!(board(None), vec![(ALICE, 1), (BOB, 2)]);
		assert_eq!(Datanets::contributor_stats(&ALICE, None).accepted, 3);
		assert_eq!(Datanets::contributor_stats(&ALICE, Some(b)).accepted, 1);
		assert_eq!(board(Some(b)), vec![(BOB, 1), (ALICE, 2)]);
	});
}

#[test]
fn a_self_made_datanet_cannot_farm_the_global_board_without_a_bond() {
	run_test(|| {
		// BOB makes a datanet with his friend as curator (who must bond, like any curator) and
		// accepts his own items: his datanet's board shows them, the global board does not.
		assert_ok!(Datanets::bond_curator(RuntimeOrigin::signed(CAROL), CURATOR_BOND));
		let farm = create_with(
			Modality::Text,
			&["txt"],
			&[CAROL],
			Rules { approval_quorum: 1, rejection_quorum: 1, ..rules() },
		);
		let honest = on_board(create());
		for n in 0..3 {
			let c = submit(BOB, farm, n);
			approve(c, &[CAROL]);
		}
		let c = submit(ALICE, honest, 10);
		approve(c, &[CUR1, CUR2]);
		assert_eq!(board(Some(farm)), vec![(BOB, 1)]);
		assert_eq!(board(None), vec![(ALICE, 1)]);
		assert_eq!(Datanets::contributor_stats(&BOB, None).accepted, 0);
		// Joining later would bring only part of the record: refused once anything was submitted.
		assert_noop!(
			Datanets::join_global_board(RuntimeOrigin::signed(OWNER), farm),
			E::HasSubmissions
		);
		// Joining costs the bond, held for good; only the owner, once.
		let fresh = create();
		assert_noop!(Datanets::join_global_board(RuntimeOrigin::signed(BOB), fresh), E::NotOwner);
		let before = Balances::total_balance_on_hold(&OWNER);
		on_board(fresh);
		assert_eq!(Balances::total_balance_on_hold(&OWNER), before + 500);
		System::assert_last_event(Event::DatanetOnGlobalBoard { datanet: fresh, bond: 500 }.into());
		assert_noop!(
			Datanets::join_global_board(RuntimeOrigin::signed(OWNER), fresh),
			E::AlreadyOnGlobalBoard
		);
		assert_ok!(Datanets::close_datanet(RuntimeOrigin::signed(OWNER), fresh));
		let bond_held = Balances::balance_on_hold(&HoldReason::GlobalBoardBond.into(), &OWNER);
		// Two bonds: `honest` and `fresh`.
		assert_eq!(bond_held, 1000, "the bond stays when the datanet closes");
	});
}

#[test]
fn the_stored_board_keeps_the_best_and_a_climber_pushes_the_last_off() {
	run_test(|| {
		// Three places in the mock. ALICE 3 accepted, BOB 2, CAROL 1: full.
		let d = create();
		for (who, n) in [(ALICE, 1), (ALICE, 2), (ALICE, 3), (BOB, 4), (BOB, 5), (CAROL, 6)] {
			let c = submit(who, d, n);
			approve(c, &[CUR1, CUR2]);
		}
		assert_eq!(board(Some(d)), vec![(ALICE, 1), (BOB, 2), (CAROL, 3)]);
		// OUTSIDER's first acceptance ranks below CAROL's (same count and bytes, later id): off.
		let c = submit(OUTSIDER, d, 7);
		approve(c, &[CUR1, CUR2]);
		assert_eq!(board(Some(d)), vec![(ALICE, 1), (BOB, 2), (CAROL, 3)]);
		// Two more and OUTSIDER climbs to second; CAROL falls off the end.
		for n in 8..10 {
			let c = submit(OUTSIDER, d, n);
			approve(c, &[CUR1, CUR2]);
		}
		assert_eq!(board(Some(d)), vec![(ALICE, 1), (OUTSIDER, 2), (BOB, 3)]);
		assert_eq!(TopContributors::<Test>::get(Some(d)).len(), 3);
		// The page carries each contributor's full record.
		let top = Datanets::leaderboard(Some(d), 0, 1);
		assert_eq!((top[0].stats.submitted, top[0].stats.accepted), (3, 3));
		// CAROL comes back by improving past BOB, and ties OUTSIDER: her first acceptance is
		// earlier, so she ranks above.
		for n in 10..12 {
			let c = submit(CAROL, d, n);
			approve(c, &[CUR1, CUR2]);
		}
		assert_eq!(board(Some(d)), vec![(ALICE, 1), (CAROL, 2), (OUTSIDER, 3)]);
	});
}

#[test]
fn try_state_catches_a_stored_board_out_of_order() {
	new_test_ext().execute_with(|| {
		let d = on_board(create());
		for (who, n) in [(ALICE, 1), (ALICE, 2), (BOB, 3)] {
			let c = submit(who, d, n);
			approve(c, &[CUR1, CUR2]);
		}
		Datanets::do_try_state().unwrap();
		TopContributors::<Test>::mutate(Some(d), |b| b.as_mut().swap(0, 1));
		assert!(Datanets::do_try_state().is_err());
		TopContributors::<Test>::mutate(Some(d), |b| b.as_mut().swap(0, 1));
		TopContributors::<Test>::remove(None::<DatanetId>);
		assert!(Datanets::do_try_state().is_err(), "a missing global board");
	});
}

#[test]
fn v5_migration_builds_every_board_from_the_records() {
	use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
	run_test(|| {
		let (a, b) = (on_board(create()), on_board(create()));
		for (who, d, n) in [(ALICE, a, 1), (BOB, a, 2), (BOB, b, 3), (BOB, b, 4), (CAROL, b, 5)] {
			let c = submit(who, d, n);
			approve(c, &[CUR1, CUR2]);
		}
		let before = (board(Some(a)), board(Some(b)), board(None));
		let _ = TopContributors::<Test>::clear(u32::MAX, None);
		StorageVersion::new(4).put::<Datanets>();
		assert!(Datanets::do_try_state().is_err(), "a v4 chain has no stored boards");
		migrations::v5::MigrateV4ToV5::<Test>::on_runtime_upgrade();
		assert_eq!(Datanets::on_chain_storage_version(), 5);
		assert_eq!((board(Some(a)), board(Some(b)), board(None)), before);
		assert_eq!(board(None), vec![(BOB, 1), (ALICE, 2), (CAROL, 3)]);
	});
}

// ---------------------------------------------------------------- MMR and versions

#[test]
fn mmr_matches_hand_computed_small_trees() {
	let l: Vec<MmrHash> = (0..3u64).map(|i| mmr::leaf_hash(i, &ALICE, &h(i as u32))).collect();
	let blake = |tag: u8, a: &MmrHash, b: &MmrHash| {
		let mut v = vec![tag];
		v.extend_from_slice(a);
		v.extend_from_slice(b);
		sp_io::hashing::blake2_256(&v)
	};
	let mut leaf0 = vec![0u8];
	leaf0.extend_from_slice(&0u64.to_le_bytes());
	leaf0.extend_from_slice(&ALICE.to_le_bytes()); // SCALE of the mock's u64 account
	leaf0.extend_from_slice(&h(0));
	assert_eq!(l[0], sp_io::hashing::blake2_256(&leaf0));
	// The contributor is committed: the same item credited to someone else is another leaf.
	assert_ne!(mmr::leaf_hash(0, &BOB, &h(0)), l[0]);
	assert_eq!(mmr::root(&[]), [0u8; 32]);
	assert_eq!(mmr::root_from_leaves(&l[..1]), l[0]);
	assert_eq!(mmr::root_from_leaves(&l[..2]), blake(1, &l[0], &l[1]));
	assert_eq!(mmr::root_from_leaves(&l[..3]), blake(2, &blake(1, &l[0], &l[1]), &l[2]));
}

#[test]
fn mmr_root_after_each_acceptance_matches_an_independent_rebuild() {
	run_test(|| {
		let d = create();
		let mut leaves = Vec::new();
		for n in 0..40u32 {
			// Some contributions are rejected in between: they never enter the MMR.
			if n % 7 == 3 {
				let c = submit(BOB, d, 1000 + n);
				reject(c, &[CUR1, CUR2], RejectReason::Duplicate);
			}
			let who = if n % 2 == 0 { ALICE } else { CAROL };
			let c = submit(who, d, n);
			approve(c, &[CUR1, CUR2]);
			leaves.push(mmr::leaf_hash(c, &who, &h(n)));
			assert_eq!(
				Datanets::current_root(d),
				mmr::root_from_leaves(&leaves),
				"{} leaves",
				n + 1
			);
			assert_eq!(MmrPeaks::<Test>::get(d).len() as u32, (n + 1).count_ones());
			// The accepted list is what a worker reads to rebuild the root.
			let listed: Vec<MmrHash> = (0..leaves.len() as u64)
				.map(|i| {
					let id = AcceptedList::<Test>::get(d, i).unwrap();
					let c = Contributions::<Test>::get(id).unwrap();
					mmr::leaf_hash(id, &c.contributor, &c.content_hash)
				})
				.collect();
			assert_eq!(listed, leaves);
		}
	});
}

#[test]
fn versions_snapshot_count_and_root() {
	run_test(|| {
		let d = create();
		assert_noop!(
			Datanets::publish_version(RuntimeOrigin::signed(OWNER), d),
			E::NothingToPublish
		);
		let c = submit(ALICE, d, 1);
		approve(c, &[CUR1, CUR2]);
		assert_noop!(Datanets::publish_version(RuntimeOrigin::signed(ALICE), d), E::NotOwner);
		assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), d));
		let v1 = Versions::<Test>::get(d, 1).unwrap();
		assert_eq!(v1.count, 1);
		assert_eq!(v1.root, mmr::root_from_leaves(&[mmr::leaf_hash(c, &ALICE, &h(1))]));
		System::assert_last_event(
			Event::VersionPublished { datanet: d, version: 1, count: 1, root: v1.root }.into(),
		);
		assert_noop!(
			Datanets::publish_version(RuntimeOrigin::signed(OWNER), d),
			E::NothingToPublish
		);
		let c2 = submit(BOB, d, 2);
		approve(c2, &[CUR1, CUR2]);
		assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), d));
		let v2 = Versions::<Test>::get(d, 2).unwrap();
		assert_eq!(v2.count, 2);
		assert_ne!(v2.root, v1.root);
		assert_eq!(LatestVersion::<Test>::get(d), 2);
		// Version 1 is unchanged by later acceptances.
		assert_eq!(Versions::<Test>::get(d, 1), Some(v1));
	});
}

// ---------------------------------------------------------------- curation pot

#[test]
fn curators_are_paid_from_the_pot_while_it_lasts() {
	run_test(|| {
		let d = create_with(
			Modality::Text,
			&["txt"],
			&[CUR1, CUR2, CUR3],
			Rules { curator_fee: 4, ..rules() },
		);
		assert_noop!(
			Datanets::fund_curation_pot(RuntimeOrigin::signed(OWNER), d, 0),
			E::ZeroAmount
		);
		assert_noop!(
			Datanets::fund_curation_pot(RuntimeOrigin::signed(OWNER), 9, 5),
			E::UnknownDatanet
		);
		assert_ok!(Datanets::fund_curation_pot(RuntimeOrigin::signed(OWNER), d, 7));
		let pot = Datanets::curation_pot(d);
		assert_eq!(Balances::balance(&pot), 7);
		// A vote that decides nothing is not paid; the decision pays its fee once, shared by the
		// two curators who approved.
		let c = submit(ALICE, d, 1);
		approve(c, &[CUR1]);
		assert_eq!(Balances::balance(&pot), 7);
		approve(c, &[CUR2]);
		assert_eq!(Balances::balance(&CUR1), START_BALANCE - CURATOR_BOND + 2);
		assert_eq!(Balances::balance(&CUR2), START_BALANCE - CURATOR_BOND + 2);
		assert_eq!(Balances::balance(&pot), 3);
		// A rejection pays those who rejected, not the one who approved; 3 left cannot pay 2 + 2,
		// so nobody is paid for it, and the decision stands.
		let c2 = submit(ALICE, d, 2);
		assert_ok!(Datanets::vote(RuntimeOrigin::signed(CUR3), c2, Vote::Approve));
		reject(c2, &[CUR1, CUR2], RejectReason::LowQuality);
		assert_eq!(status(c2), ContributionStatus::Rejected { reason: RejectReason::LowQuality });
		assert_eq!(Balances::balance(&pot), 3);
		// Funded again: the rejecters are paid, the approver is not.
		assert_ok!(Datanets::fund_curation_pot(RuntimeOrigin::signed(OWNER), d, 10));
		let c3 = submit(ALICE, d, 3);
		assert_ok!(Datanets::vote(RuntimeOrigin::signed(CUR3), c3, Vote::Approve));
		reject(c3, &[CUR1, CUR2], RejectReason::LowQuality);
		assert_eq!(Balances::balance(&CUR1), START_BALANCE - CURATOR_BOND + 4);
		assert_eq!(Balances::balance(&CUR3), START_BALANCE - CURATOR_BOND);
		assert_eq!(Balances::balance(&pot), 9);
	});
}

// ---------------------------------------------------------------- genesis

#[test]
fn genesis_creates_datanets_without_deposits() {
	let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	crate::GenesisConfig::<Test> {
		datanets: vec![GenesisDatanet {
			owner: OWNER,
			name: "spoken-digits".into(),
			description: "digits".into(),
			modality: Modality::Audio,
			formats: vec!["wav".into(), "flac".into()],
			curators: vec![CUR1],
			rules: Rules::with_defaults(),
		}],
		bonded_curators: vec![],
	}
	.assimilate_storage(&mut t)
	.unwrap();
	sp_io::TestExternalities::new(t).execute_with(|| {
		let d = DatanetInfo::<Test>::get(0).unwrap();
		assert_eq!(d.modality, Modality::Audio);
		assert_eq!(d.deposit, 0);
		assert_eq!(d.board_bond, Some(0), "genesis datanets count on the global board, bond-free");
		assert_eq!(d.formats.len(), 2);
		assert_eq!(NextDatanetId::<Test>::get(), 1);
		Datanets::do_try_state().unwrap();
	});
}

#[test]
fn unknown_errors_are_dispatch_errors() {
	// Keeps the error type in the public API stable for clients matching on names.
	let e: DispatchError = E::DuplicateContent.into();
	assert!(matches!(e, DispatchError::Module(_)));
}

#[test]
fn datanets_without_deposits_work_end_to_end() {
	run_test(|| {
		// The defaults: no contribution deposit.
		let d = create_with(Modality::Text, &["txt"], &[CUR1], Rules::with_defaults());
		let c = submit(ALICE, d, 1);
		assert_eq!(held(ALICE), RECORD);
		approve(c, &[CUR1]);
		assert_eq!(status(c), ContributionStatus::Accepted { index: 0 });
		assert_eq!(Balances::balance(&ALICE), START_BALANCE - RECORD);
		assert_ok!(Datanets::close_datanet(RuntimeOrigin::signed(OWNER), d));
	});
}

#[test]
fn other_pallets_read_published_versions_and_their_items_in_order() {
	run_test(|| {
		let d = create();
		let image = create_with(Modality::Image, &["png"], &[CUR1, CUR2, CUR3], rules());
		let a = submit(ALICE, d, 1);
		let b = submit(BOB, d, 2);
		let rejected = submit(CAROL, d, 3);
		approve(b, &[CUR1, CUR2]);
		reject(rejected, &[CUR1, CUR2], RejectReason::LowQuality);
		approve(a, &[CUR1, CUR2]);
		assert_eq!(<Datanets as DatasetRead<AccountId>>::version(d, 1), None);
		assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), d));
		let v = <Datanets as DatasetRead<AccountId>>::version(d, 1).unwrap();
		assert_eq!((v.modality, v.count), (Modality::Text, 2));
		// Items in acceptance order; the rejected one is not among them.
		let items: Vec<_> =
			(0..3).map(|i| <Datanets as DatasetRead<AccountId>>::item(d, i)).collect();
		assert_eq!(
			items[0],
			Some(DatasetItem {
				contribution: b,
				contributor: BOB,
				content_hash: h(2),
				bytes: 1000
			})
		);
		assert_eq!(items[1].as_ref().map(|i| (i.contribution, i.contributor)), Some((a, ALICE)));
		assert_eq!(items[2], None);
		// The version's root is the MMR over exactly those items.
		let leaves: Vec<_> = items[..2]
			.iter()
			.map(|i| i.as_ref().unwrap())
			.map(|i| mmr::leaf_hash(i.contribution, &i.contributor, &i.content_hash))
			.collect();
		assert_eq!(v.root, mmr::root_from_leaves(&leaves));
		assert_eq!(<Datanets as DatasetRead<AccountId>>::version(image, 1), None);
		assert_eq!(<Datanets as DatasetRead<AccountId>>::version(99, 1), None);
	});
}

#[test]
fn inclusion_proofs_verify_every_leaf_of_every_size_and_nothing_else() {
	for n in 1..=33u64 {
		let leaves: Vec<MmrHash> =
			(0..n).map(|i| mmr::leaf_hash(i, &ALICE, &h(i as u32))).collect();
		let root = mmr::root_from_leaves(&leaves);
		for i in 0..n {
			let proof = mmr::prove(&leaves, i).expect("in range");
			assert!(mmr::verify(&root, n, i, &leaves[i as usize], &proof), "n={n} i={i}");
			// Another leaf, another position, another count or a changed sibling: refused.
			let other = mmr::leaf_hash(999, &ALICE, &h(999));
			assert!(!mmr::verify(&root, n, i, &other, &proof));
			if n > 1 {
				assert!(!mmr::verify(&root, n, (i + 1) % n, &leaves[i as usize], &proof));
			}
			// The root of a longer list does not take this proof. (The root does not commit to the
			// count on its own: verifiers take `count` from the same published version as `root`.)
			let mut longer = leaves.clone();
			longer.push(mmr::leaf_hash(n, &ALICE, &h(n as u32)));
			let longer_root = mmr::root_from_leaves(&longer);
			assert!(!mmr::verify(&longer_root, n + 1, i, &leaves[i as usize], &proof));
			if let Some(s) = proof.siblings.first() {
				let mut bad = proof.clone();
				bad.siblings[0] = mmr::node_hash(s, s);
				assert!(!mmr::verify(&root, n, i, &leaves[i as usize], &bad));
			}
		}
		assert!(mmr::prove(&leaves, n).is_none());
		assert!(!mmr::verify(&root, n, n, &leaves[0], &mmr::prove(&leaves, 0).unwrap()));
	}
}

#[test]
fn proofs_verify_against_the_root_of_a_published_version() {
	run_test(|| {
		let d = create();
		let ids: Vec<_> = (0..5).map(|n| submit(ALICE, d, n)).collect();
		for c in &ids {
			approve(*c, &[CUR1, CUR2]);
		}
		assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), d));
		let v = Versions::<Test>::get(d, 1).unwrap();
		let leaves: Vec<MmrHash> =
			ids.iter().enumerate().map(|(n, c)| mmr::leaf_hash(*c, &ALICE, &h(n as u32))).collect();
		let proof = mmr::prove(&leaves, 3).unwrap();
		assert!(mmr::verify(&v.root, v.count, 3, &leaves[3], &proof));
	});
}

// ---------------------------------------------------------------- migrations

/// The v1 leaf, without the contributor: what chains before storage version 2 hold.
fn v1_leaf(id: ContributionId, content: &ContentHash) -> MmrHash {
	let mut buf = vec![0u8];
	buf.extend_from_slice(&id.to_le_bytes());
	buf.extend_from_slice(content);
	sp_io::hashing::blake2_256(&buf)
}

/// Rewrites a datanet's peaks and version roots as a v1 chain stored them.
fn rewrite_as_v1(d: DatanetId) {
	let accepted = DatanetInfo::<Test>::get(d).unwrap().accepted;
	let leaves: Vec<MmrHash> = (0..accepted)
		.map(|i| {
			let id = AcceptedList::<Test>::get(d, i).unwrap();
			v1_leaf(id, &Contributions::<Test>::get(id).unwrap().content_hash)
		})
		.collect();
	let mut peaks = Vec::new();
	for (i, l) in leaves.iter().enumerate() {
		mmr::append(&mut peaks, i as u64, *l);
	}
	MmrPeaks::<Test>::insert(d, BoundedVec::truncate_from(peaks));
	for (version, v) in Versions::<Test>::iter_prefix(d).collect::<Vec<_>>() {
		let root = mmr::root_from_leaves(&leaves[..v.count as usize]);
		Versions::<Test>::mutate(d, version, |x| x.as_mut().unwrap().root = root);
	}
}

#[test]
fn v2_migration_rebuilds_peaks_and_version_roots_with_contributors() {
	use frame_support::traits::{
		GetStorageVersion, OnRuntimeUpgrade, StorageVersion, UncheckedOnRuntimeUpgrade,
	};
	run_test(|| {
		let (a, b) = (create(), create());
		for n in 0..11u32 {
			let c = submit(if n % 3 == 0 { BOB } else { ALICE }, a, n);
			approve(c, &[CUR1, CUR2]);
			if n == 4 || n == 9 {
				assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), a));
			}
		}
		let c = submit(CAROL, b, 100);
		approve(c, &[CUR1, CUR2]);
		let pending = submit(CAROL, b, 101);
		let expected: Vec<_> =
			[(a, 1), (a, 2)].map(|(d, v)| Versions::<Test>::get(d, v).unwrap()).into();
		let current = (Datanets::current_root(a), Datanets::current_root(b));

		// A chain still at v1: old leaves, and try_state sees the roots do not match the items.
		rewrite_as_v1(a);
		rewrite_as_v1(b);
		StorageVersion::new(1).put::<Datanets>();
		assert_ne!(Datanets::current_root(a), current.0);
		assert!(Datanets::do_try_state().is_err());

		migrations::v2::MigrateV1ToV2::<Test>::on_runtime_upgrade();
		assert_eq!(Datanets::on_chain_storage_version(), 2);
		assert_eq!((Datanets::current_root(a), Datanets::current_root(b)), current);
		for (v, e) in [1, 2].into_iter().zip(&expected) {
			let got = Versions::<Test>::get(a, v).unwrap();
			assert_eq!((got.count, got.root, got.published_at), (e.count, e.root, e.published_at));
		}
		// Nothing else moved: the pending contribution is still pending, counts are the same.
		assert_eq!(
			Contributions::<Test>::get(pending).unwrap().status,
			ContributionStatus::Pending
		);
		assert_eq!(DatanetInfo::<Test>::get(a).unwrap().accepted, 11);

		// Already at v2: a second run does nothing, even to a root that is (wrongly) old-format.
		rewrite_as_v1(b);
		migrations::v2::MigrateV1ToV2::<Test>::on_runtime_upgrade();
		assert_ne!(Datanets::current_root(b), current.1);
		migrations::v2::RebuildRoots::<Test>::on_runtime_upgrade();
		assert_eq!(Datanets::current_root(b), current.1);
	});
}

/// Stores every contribution as storage versions 1 to 6 did: without the fields v7 added (their
/// record deposits are released: none was held then) and, with `maps`, the commitment and
/// expiry blocks of pending ones in the maps of v6.
fn store_contributions_as_v6(maps: bool) {
	use frame_support::traits::{fungible::MutateHold, tokens::Precision};
	use migrations::v7::{CommittedAt, ExpiresAt, V6Contribution, V6Contributions};
	for (id, c) in Contributions::<Test>::iter().collect::<Vec<_>>() {
		let reason = HoldReason::ContributionDeposit.into();
		assert_ok!(Balances::release(&reason, &c.contributor, c.record_deposit, Precision::Exact));
		if maps && c.status == ContributionStatus::Pending {
			CommittedAt::<Test>::insert(id, c.committed_at);
			ExpiresAt::<Test>::insert(id, c.expires_at);
		}
		let old = V6Contribution {
			datanet: c.datanet,
			contributor: c.contributor,
			content_hash: c.content_hash,
			bytes: c.bytes,
			format: c.format,
			metadata: c.metadata,
			submitted_at: c.submitted_at,
			approvals: c.approvals,
			rejections: c.rejections,
			deposit: c.deposit,
			status: c.status,
		};
		V6Contributions::<Test>::insert(id, old);
		assert!(Contributions::<Test>::get(id).is_none(), "the old layout does not decode as new");
	}
}

#[test]
fn v3_migration_rekeys_the_hash_index_and_drops_rejected_entries() {
	use codec::Encode;
	use frame_support::{
		storage::{unhashed, StoragePrefixedMap},
		traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion, UncheckedOnRuntimeUpgrade},
		StorageHasher,
	};
	run_test(|| {
		let d = create();
		let live = submit(ALICE, d, 1);
		let accepted = submit(BOB, d, 2);
		approve(accepted, &[CUR1, CUR2]);
		let rejected = submit(CAROL, d, 3);
		reject(rejected, &[CUR1, CUR2], RejectReason::LowQuality);

		// The index as a v2 chain holds it: Identity-keyed hashes, the rejected one included.
		let prefix = ContributionByHash::<Test>::final_prefix();
		let old_key = |n: u32| {
			let mut k = prefix.to_vec();
			k.extend(frame_support::Twox64Concat::hash(&d.encode()));
			k.extend(h(n));
			k
		};
		let _ = ContributionByHash::<Test>::clear(u32::MAX, None);
		for (n, id) in [(1, live), (2, accepted), (3, rejected)] {
			unhashed::put(&old_key(n), &id);
		}
		store_contributions_as_v6(true);
		StorageVersion::new(2).put::<Datanets>();
		assert_eq!(ContributionByHash::<Test>::get(d, h(1)), None, "new keys do not see old ones");

		migrations::v3::MigrateV2ToV3::<Test>::on_runtime_upgrade();
		assert_eq!(Datanets::on_chain_storage_version(), 3);
		// The contribution layout of v7, as the runtime's later migrations leave it.
		migrations::v7::AddRecordDeposits::<Test>::on_runtime_upgrade();
		assert_eq!(ContributionByHash::<Test>::get(d, h(1)), Some(live));
		assert_eq!(ContributionByHash::<Test>::get(d, h(2)), Some(accepted));
		assert_eq!(ContributionByHash::<Test>::get(d, h(3)), None);
		for n in 1..=3 {
			assert!(unhashed::get_raw(&old_key(n)).is_none(), "old key {n} left behind");
		}
		// The rejected hash is free again; the live ones are not.
		assert_ok!(try_submit(ALICE, d, h(3), 10, "txt"));
		assert_refused(CAROL, d, h(1), 10, "txt", E::DuplicateContent);
	});
}

// ---------------------------------------------------------------- expiry of pending contributions

/// A datanet whose contributions may stay pending 10 blocks, with a deposit of 5.
fn create_expiring() -> DatanetId {
	let d = create();
	assert_ok!(Datanets::update_rules(
		RuntimeOrigin::signed(OWNER),
		d,
		Rules { pending_blocks: 10, ..rules() }
	));
	d
}

#[test]
fn an_undecided_contribution_expires_frees_its_hash_and_pays_its_deposit_to_the_pot() {
	run_test(|| {
		let d = create_expiring();
		let pot = Datanets::curation_pot(d);
		// Pot funded, so it can take any deposit (no existential-deposit refusal).
		assert_ok!(Datanets::fund_curation_pot(RuntimeOrigin::signed(OWNER), d, 100));
		let before = Balances::balance(&BOB);
		// Both revealed in block 2: due in block 12.
		commit_all(&[(BOB, d, h(1)), (CAROL, d, h(2))]);
		let squat = NextContributionId::<Test>::get();
		assert_ok!(reveal(BOB, d, h(1), 999, "txt"));
		let decided = squat + 1;
		assert_ok!(reveal(CAROL, d, h(2), 1000, "txt"));
		assert_ok!(Datanets::vote(RuntimeOrigin::signed(CUR1), squat, Vote::Approve));
		approve(decided, &[CUR1, CUR2]);
		let due = Contributions::<Test>::get(decided).unwrap().expires_at;
		assert!(!PendingExpiries::<Test>::get(due).contains(&decided), "a decision unschedules");
		run_to(11);
		assert_eq!(Contributions::<Test>::get(squat).unwrap().status, ContributionStatus::Pending);
		run_to(12);
		assert_eq!(Contributions::<Test>::get(squat).unwrap().status, ContributionStatus::Expired);
		System::assert_has_event(
			Event::ContributionExpired {
				contribution: squat,
				datanet: d,
				contributor: BOB,
				forfeited: 5,
			}
			.into(),
		);
		assert_eq!(Balances::balance(&BOB), before - 5 - RECORD_BASE);
		assert_eq!(held(BOB), RECORD_BASE);
		assert_eq!(Balances::balance(&pot), 105);
		// Votes on it are refused; the hash is free for its real author.
		assert_noop!(
			Datanets::vote(RuntimeOrigin::signed(CUR2), squat, Vote::Approve),
			E::NotPending
		);
		let real = submit_as(ALICE, d, h(1), 1000);
		approve(real, &[CUR1, CUR2]);
		// The decided contribution never expires, and rank is untouched by the expiry.
		run_to(30);
		assert!(matches!(
			Contributions::<Test>::get(decided).unwrap().status,
			ContributionStatus::Accepted { .. }
		));
		assert_eq!(Datanets::contributor_stats(&BOB, Some(d)).rejected, 0);
	});
}

#[test]
fn expiries_spill_into_later_blocks_when_a_block_is_full_and_all_expire() {
	run_test(|| {
		let d = create_expiring();
		assert_ok!(Datanets::fund_curation_pot(RuntimeOrigin::signed(OWNER), d, 100));
		// Four per block in the mock: the fifth and sixth revealed in block 2 expire in block 13.
		let who = |n: u32| if n.is_multiple_of(2) { ALICE } else { BOB };
		commit_all(&(0..6).map(|n| (who(n), d, h(n))).collect::<Vec<_>>());
		let first = NextContributionId::<Test>::get();
		for n in 0..6 {
			assert_ok!(reveal(who(n), d, h(n), 1000, "txt"));
		}
		let ids: Vec<_> = (first..first + 6).collect();
		assert_eq!(PendingExpiries::<Test>::get(12).len(), 4);
		assert_eq!(Contributions::<Test>::get(ids[5]).unwrap().expires_at, 13);
		run_to(12);
		assert_eq!(Contributions::<Test>::get(ids[4]).unwrap().status, ContributionStatus::Pending);
		run_to(13);
		for id in ids {
			assert_eq!(Contributions::<Test>::get(id).unwrap().status, ContributionStatus::Expired);
		}
	});
}

#[test]
fn when_every_reachable_bucket_is_full_a_submission_is_refused_and_stores_nothing() {
	run_test(|| {
		let d = create_expiring();
		for k in 0..EXPIRY_SPILL_BLOCKS as u64 {
			let full: BoundedVec<_, _> = vec![u64::MAX; 4].try_into().unwrap();
			// Revealed in block 2 (after its commitment), due in block 12.
			PendingExpiries::<Test>::insert(12 + k, full);
		}
		let next = NextContributionId::<Test>::get();
		assert_refused(ALICE, d, h(1), 10, "txt", E::ExpiryScheduleFull);
		assert_eq!(NextContributionId::<Test>::get(), next);
		let _ = PendingExpiries::<Test>::clear(u32::MAX, None);
	});
}

#[test]
fn pending_blocks_must_be_between_one_and_the_maximum() {
	run_test(|| {
		let d = create();
		for bad in [0, 200_001] {
			assert_noop!(
				Datanets::update_rules(
					RuntimeOrigin::signed(OWNER),
					d,
					Rules { pending_blocks: bad, ..rules() }
				),
				E::InvalidPendingBlocks
			);
		}
	});
}

#[test]
fn try_state_catches_a_pending_contribution_without_an_expiry() {
	new_test_ext().execute_with(|| {
		let d = create_expiring();
		submit(ALICE, d, 1);
		Datanets::do_try_state().unwrap();
		let _ = PendingExpiries::<Test>::clear(u32::MAX, None);
		assert!(Datanets::do_try_state().is_err());
	});
}

#[test]
fn v4_migration_adds_pending_blocks_and_schedules_pending_contributions() {
	use codec::Encode;
	use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
	run_test(|| {
		// Before v6 every datanet counted on the global board, without a bond.
		let d = create();
		DatanetInfo::<Test>::mutate(d, |x| x.as_mut().unwrap().board_bond = Some(0));
		let pending = submit(ALICE, d, 1);
		let accepted = submit(BOB, d, 2);
		approve(accepted, &[CUR1, CUR2]);
		// A v3 chain: rules without `pending_blocks` (the field is last, so the old encoding is
		// the new one minus its last four bytes... inside the datanet: re-encode by hand).
		let new = DatanetInfo::<Test>::get(d).unwrap();
		let mut old = Vec::new();
		(&new.owner, &new.name, &new.description, &new.modality, &new.formats).encode_to(&mut old);
		let r = &new.rules;
		// This v3 datanet let one item take its whole day.
		(
			r.datanet_daily_bytes,
			r.contributor_daily_bytes,
			r.contributor_daily_items,
			r.datanet_daily_bytes,
			r.approval_quorum,
			r.rejection_quorum,
			r.contribution_deposit,
			r.curator_fee,
		)
			.encode_to(&mut old);
		(&new.status, &new.deposit, new.submitted, new.accepted, new.rejected).encode_to(&mut old);
		frame_support::storage::unhashed::put_raw(&DatanetInfo::<Test>::hashed_key_for(d), &old);
		store_contributions_as_v6(false);
		let _ = PendingExpiries::<Test>::clear(u32::MAX, None);
		StorageVersion::new(3).put::<Datanets>();
		assert!(DatanetInfo::<Test>::get(d).is_none(), "the old encoding does not decode as new");

		migrations::v4::MigrateV3ToV4::<Test>::on_runtime_upgrade();
		assert_eq!(Datanets::on_chain_storage_version(), 4);
		// v4 writes the layout v5 keeps and v6 extends: the runtime runs them in a row.
		migrations::v5::MigrateV4ToV5::<Test>::on_runtime_upgrade();
		migrations::v6::MigrateV5ToV6::<Test>::on_runtime_upgrade();
		assert_eq!(Datanets::on_chain_storage_version(), 6);
		let migrated = DatanetInfo::<Test>::get(d).unwrap();
		assert_eq!(migrated.board_bond, Some(0), "datanets before v6 stay on the global board");
		assert_eq!(migrated.rules.pending_blocks, DEFAULT_PENDING_BLOCKS);
		assert_eq!(migrated.rules.datanet_daily_items, DEFAULT_DATANET_DAILY_ITEMS);
		assert_eq!(migrated.rules.max_item_bytes, new.rules.datanet_daily_bytes / 10);
		assert_eq!(
			Rules { max_item_bytes: new.rules.max_item_bytes, ..migrated.rules.clone() },
			new.rules
		);
		assert_eq!((migrated.submitted, migrated.accepted), (2, 1));
		let due = System::block_number() + DEFAULT_PENDING_BLOCKS as u64;
		assert_eq!(migrations::v7::ExpiresAt::<Test>::get(pending), Some(due));
		assert_eq!(migrations::v7::ExpiresAt::<Test>::get(accepted), None);
		// v7 moves the expiry into the record.
		migrations::v7::MigrateV6ToV7::<Test>::on_runtime_upgrade();
		assert_eq!(Contributions::<Test>::get(pending).unwrap().expires_at, due);
		assert_eq!(PendingExpiries::<Test>::get(due).into_inner(), vec![pending]);
		assert_eq!(migrations::v7::ExpiresAt::<Test>::iter().count(), 0);
	});
}

#[test]
fn a_submission_pays_for_the_full_buckets_it_skipped_not_for_the_worst_case() {
	run_test(|| {
		let d = create_expiring();
		// Alice's commitments: five at first, one fewer with each reveal.
		let weight = |s, held| Some(<() as WeightInfo>::submit_contribution(s, 0, held, 0, 0, 0));
		let post = |n: u32| {
			Datanets::submit_contribution(
				RuntimeOrigin::signed(ALICE),
				d,
				h(n),
				10,
				bytes("txt"),
				bytes(""),
			)
			.unwrap()
			.actual_weight
		};
		commit_all(&(0..5).map(|n| (ALICE, d, h(n))).collect::<Vec<_>>());
		for n in 0..4 {
			assert_eq!(post(n), weight(0, 5 - n));
		}
		// Block 12's bucket (four in the mock) is full: the fifth skips one.
		assert_eq!(post(4), weight(1, 1));
		assert!(weight(1, 1).unwrap().all_lt(weight(EXPIRY_SPILL_BLOCKS - 1, 1).unwrap()));
	});
}

#[test]
fn try_state_catches_a_hold_that_differs_from_the_pending_deposits() {
	use frame_support::traits::{fungible::MutateHold, tokens::Precision};
	new_test_ext().execute_with(|| {
		let d = create();
		submit(ALICE, d, 1);
		Datanets::do_try_state().unwrap();
		let reason: RuntimeHoldReason = HoldReason::ContributionDeposit.into();
		assert_ok!(Balances::release(&reason, &ALICE, 1, Precision::Exact));
		assert!(Datanets::do_try_state().is_err());
	});
}

#[test]
fn a_vote_pays_for_the_votes_cast_not_for_the_largest_curator_set() {
	run_test(|| {
		let d = create();
		let c = submit(ALICE, d, 1);
		let weight = |v| Some(<() as WeightInfo>::vote(v));
		let first = Datanets::vote(RuntimeOrigin::signed(CUR1), c, Vote::Approve).unwrap();
		assert_eq!(first.actual_weight, weight(1));
		let second = Datanets::vote(RuntimeOrigin::signed(CUR2), c, Vote::Approve).unwrap();
		assert_eq!(second.actual_weight, weight(2));
		assert!(weight(2).unwrap().all_lt(weight(64).unwrap()));
	});
}

#[test]
fn try_state_catches_vote_counts_and_a_global_board_that_disagree() {
	new_test_ext().execute_with(|| {
		let d = create();
		let c = submit(ALICE, d, 1);
		assert_ok!(Datanets::vote(RuntimeOrigin::signed(CUR1), c, Vote::Approve));
		Datanets::do_try_state().unwrap();
		Contributions::<Test>::mutate(c, |c| c.as_mut().unwrap().approvals = 2);
		assert!(Datanets::do_try_state().is_err());
		Contributions::<Test>::mutate(c, |c| c.as_mut().unwrap().approvals = 1);
		GlobalStats::<Test>::mutate(ALICE, |s| s.submitted += 1);
		assert!(Datanets::do_try_state().is_err());
	});
}

#[path = "clearing_tests.rs"]
mod clearing;
