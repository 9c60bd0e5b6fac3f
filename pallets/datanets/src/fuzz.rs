//! Random call sequences through the mock runtime: every call of the pallet (commitments honest,
//! for someone else, junk, or missing; reveals by their author or by a squatter), from owners, curators,
//! contributors, outsiders and an account with no funds, with valid and invalid arguments, and
//! blocks and days passing in between (expiries run). `try_state` and the held balances are
//! checked after every step. A failure prints the seed and step to replay.
//!
//! `cargo test -p pallet-datanets random_call_sequences` runs `FUZZ_SEQUENCES` sequences (default
//! 200) from `FUZZ_SEED` (default a fixed one); `scripts/fuzz-chain` runs 10,000.

use crate::fuzzing::{env_u64, Rng};
use crate::{mock::*, *};
use frame_support::traits::{fungible::InspectHold, Hooks};

/// Funded accounts, and one with nothing (4321).
const ACCOUNTS: [AccountId; 9] = [OWNER, ALICE, BOB, CAROL, CUR1, CUR2, CUR3, OUTSIDER, 4321];

fn bytes<L: frame_support::traits::Get<u32>>(s: &[u8]) -> frame_support::BoundedVec<u8, L> {
	frame_support::BoundedVec::truncate_from(s.to_vec())
}

fn random_rules(rng: &mut Rng, curators: u32) -> RulesOf<Test> {
	let mut r = Rules::<Balance>::with_defaults();
	r.approval_quorum = 1 + rng.below(curators.max(1) as u64) as u32;
	r.rejection_quorum = 1 + rng.below(curators.max(1) as u64) as u32;
	r.contribution_deposit = rng.pick(&[0, 1, 5, 50]);
	r.curator_fee = rng.pick(&[0, 1, 3]);
	r.pending_blocks = 1 + rng.below(30) as u32;
	r.contributor_daily_items = rng.pick(&[3, 20]);
	r.datanet_daily_items = rng.pick(&[10, 12, 1000]);
	r.max_item_bytes = rng.pick(&[100, 1000]);
	r.contributor_daily_bytes = rng.pick(&[1000, 5000]);
	r.datanet_daily_bytes = rng.pick(&[10_000, 50_000]);
	if rng.chance(10) {
		// Something invalid: the call must refuse it and change nothing.
		match rng.below(4) {
			0 => r.approval_quorum = 0,
			1 => r.pending_blocks = 0,
			2 => r.max_item_bytes = r.datanet_daily_bytes,
			_ => r.datanet_daily_items = 3,
		}
	}
	r
}

/// What each account must have on hold: the record deposits of its stored contributions and the
/// deposits of its pending ones, its datanets' deposits (until they are cleared or slashed), and
/// its curator bond.
fn check_holds() -> Result<(), String> {
	for who in ACCOUNTS {
		let owed: Balance = Contributions::<Test>::iter()
			.filter(|(_, c)| c.contributor == who)
			.map(|(_, c)| match c.status {
				ContributionStatus::Pending => c.record_deposit + c.deposit,
				_ => c.record_deposit,
			})
			.sum();
		let held = Balances::balance_on_hold(&HoldReason::ContributionDeposit.into(), &who);
		if held != owed {
			return Err(format!("{who}: {held} held for contributions, {owed} owed"));
		}
		let stored: Balance = DatanetInfo::<Test>::iter()
			.filter(|(_, d)| d.owner == who)
			.map(|(_, d)| d.deposit)
			.sum();
		let held = Balances::balance_on_hold(&HoldReason::DatanetDeposit.into(), &who);
		if held != stored {
			return Err(format!("{who}: {held} held for datanets, {stored} recorded"));
		}
		let bond = CuratorBonds::<Test>::get(who).map_or(0, |b| b.amount);
		let held = Balances::balance_on_hold(&HoldReason::CuratorBond.into(), &who);
		if held != bond {
			return Err(format!("{who}: {held} held as curator bond, {bond} recorded"));
		}
	}
	Ok(())
}

/// One random step. Results are ignored on purpose: a refusal is as good as a success, as long
/// as the invariants hold afterwards. `committed` remembers commitments made by honest commit
/// steps, so that later reveals (and takeovers by an earlier committer) happen.
fn step(rng: &mut Rng, committed: &mut Vec<(AccountId, DatanetId, ContentHash)>) {
	let mut who = rng.pick(&ACCOUNTS);
	let datanets = NextDatanetId::<Test>::get() as u64;
	let mut datanet = rng.below(datanets + 1) as DatanetId;
	let contributions = NextContributionId::<Test>::get();
	let contribution = contributions.saturating_sub(rng.below(6)).saturating_sub(rng.below(2));
	let curator = rng.pick(&ACCOUNTS);
	// A small pool of hashes: duplicates, takeovers and re-submissions after rejection or expiry.
	let mut hash = [0u8; 32];
	hash[0] = rng.below(12) as u8;
	let choice = rng.below(27);
	let remembered = (6..=10).contains(&choice) && !committed.is_empty() && rng.chance(60);
	let mut squatter = false;
	if remembered {
		(who, datanet, hash) = committed.swap_remove(rng.below(committed.len() as u64) as usize);
	} else if (6..=10).contains(&choice) && !committed.is_empty() && rng.chance(40) {
		// A squatter: someone else's committed bytes, learned before their author revealed.
		(_, datanet, hash) = committed[rng.below(committed.len() as u64) as usize];
		squatter = true;
	}
	let origin = RuntimeOrigin::signed(who);
	let _ = match choice {
		0 | 1 => {
			let curators: Vec<AccountId> =
				ACCOUNTS.iter().copied().filter(|_| rng.chance(40)).take(4).collect();
			let modality = rng.pick(&[Modality::Text, Modality::Image]);
			let formats: &[&[u8]] = match (modality, rng.chance(90)) {
				(Modality::Text, true) => &[b"txt", b"jsonl"],
				(_, true) => &[b"png"],
				(_, false) => &[b"exe"],
			};
			let formats =
				formats.iter().map(|f| bytes(f)).collect::<Vec<_>>().try_into().expect("few");
			Datanets::create_datanet(
				origin,
				bytes(b"fuzz"),
				bytes(b"random"),
				modality,
				formats,
				random_rules(rng, curators.len() as u32),
				curators.try_into().expect("at most 4"),
			)
		}
		2 => {
			let curators = Curators::<Test>::get(datanet).len() as u32;
			Datanets::update_rules(origin, datanet, random_rules(rng, curators))
		}
		3 => Datanets::add_curator(origin, datanet, curator),
		4 => Datanets::remove_curator(origin, datanet, curator),
		5 if rng.chance(50) => Datanets::close_datanet(origin, datanet),
		5 if rng.chance(60) => Datanets::join_global_board(origin, datanet),
		5 => {
			// The force origin, or someone pretending to be it.
			let force = if rng.chance(70) { RuntimeOrigin::root() } else { origin };
			let to = rng.chance(50).then_some(curator);
			Datanets::force_close_datanet(force, datanet, rng.chance(50), to)
		}
		6..=10 => {
			if !remembered && rng.chance(75) {
				// Commit, then reveal in the next block (sometimes the same block: refused).
				let _ = Datanets::commit_contribution(
					origin.clone(),
					commitment_of(datanet, &hash, &who),
				);
				if rng.chance(90) {
					pass_blocks(1);
				}
			}
			let mut size = rng.pick(&[0, 1, 99, 100, 101, 1000, 6000]);
			let mut format = bytes(rng.pick(&[&b"txt"[..], b"jsonl", b"png", b"md"]));
			// Revealed and squatted bytes mostly follow the rules, so that takeovers happen.
			if (remembered || squatter) && rng.chance(80) {
				let first =
					DatanetInfo::<Test>::get(datanet).and_then(|d| d.formats.first().cloned());
				if let Some(f) = first {
					(size, format) = (50, f);
				}
			}
			let metadata = bytes(rng.pick(&[&b""[..], b"{}", b"{\"lang\":\"en\"}"]));
			Datanets::submit_contribution(origin, datanet, hash, size, format, metadata)
				.map(|_| ())
				.map_err(|e| e.error)
		}
		11..=15 => {
			let vote = if rng.chance(60) {
				Vote::Approve
			} else {
				Vote::Reject(rng.pick(&[RejectReason::Malformed, RejectReason::Duplicate]))
			};
			Datanets::vote(origin, contribution, vote).map(|_| ()).map_err(|e| e.error)
		}
		16 => {
			// Mostly the owner (versions get published), sometimes anyone.
			let owner = DatanetInfo::<Test>::get(datanet).map(|d| d.owner);
			let by = owner.filter(|_| rng.chance(70)).map_or(origin, RuntimeOrigin::signed);
			Datanets::publish_version(by, datanet)
		}
		17 if rng.chance(50) => {
			Datanets::fund_curation_pot(origin, datanet, rng.pick(&[0, 1, 10, 1_000_000]))
		}
		17 => match rng.below(5) {
			// Curator bonds: bond (too little, enough, more than the account has), leave,
			// withdraw (often too early), and slashes by the force origin or a pretender.
			0 | 1 => {
				Datanets::bond_curator(origin, rng.pick(&[1, CURATOR_BOND, 10 * START_BALANCE]))
			}
			2 => Datanets::unbond_curator(origin),
			3 => Datanets::withdraw_curator_bond(origin),
			_ => {
				let force = if rng.chance(70) { RuntimeOrigin::root() } else { origin };
				Datanets::slash_curator(force, curator, rng.pick(&[1, CURATOR_BOND, 1_000_000]))
			}
		},
		18..=20 => {
			// A commitment revealed later, if ever (an earlier claim for takeovers), or junk.
			let commitment = match rng.chance(85) {
				true => {
					let by = rng.pick(&[who, who, curator]);
					if by == who {
						committed.push((who, datanet, hash));
					}
					commitment_of(datanet, &hash, &by)
				}
				false => [rng.below(256) as u8; 32],
			};
			Datanets::commit_contribution(origin, commitment)
		}
		24 => {
			// Removing a record: mostly by its contributor, sometimes by anyone.
			let contributor = Contributions::<Test>::get(contribution).map(|c| c.contributor);
			let by = contributor.filter(|_| rng.chance(70)).map_or(origin, RuntimeOrigin::signed);
			Datanets::remove_contribution(by, contribution).map(|_| ()).map_err(|e| e.error)
		}
		25 => Datanets::clear_closed_datanet(origin, datanet, rng.pick(&[0, 1, 2, 5, 100]))
			.map(|_| ())
			.map_err(|e| e.error),
		26 if rng.chance(15) => {
			// A clear delay passes (every expiry bucket on the way runs, as on a chain).
			skip_blocks(u64::from(CLEAR_DELAY) + rng.below(3));
			Ok(())
		}
		_ => {
			// Time passes: some blocks (expiries run), sometimes a UTC day (caps reset).
			pass_blocks(1 + rng.below(8));
			if rng.chance(20) {
				pallet_timestamp::Now::<Test>::mutate(|t| *t += DAY_MS);
			}
			Ok(())
		}
	};
}

/// Moves `n` blocks on, running only the blocks that have expiries due.
fn skip_blocks(n: u64) {
	let target = System::block_number() + n;
	let mut due: Vec<u64> = PendingExpiries::<Test>::iter_keys()
		.filter(|at| *at > System::block_number() && *at <= target)
		.collect();
	due.sort();
	for at in due {
		System::set_block_number(at);
		Datanets::on_initialize(at);
	}
	System::set_block_number(target);
}

fn pass_blocks(n: u64) {
	for _ in 0..n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Datanets::on_initialize(next);
	}
}

/// How far the sequences got: contributions by final status, and calls that succeeded.
#[derive(Default, Debug)]
struct Reached {
	accepted: u64,
	rejected: u64,
	expired: u64,
	superseded: u64,
	versions: u64,
	/// Records removed by `remove_contribution`, datanets fully cleared.
	removed: u64,
	cleared: u64,
}

fn sequence(seed: u64, steps: usize, reached: &mut Reached) {
	new_test_ext().execute_with(|| {
		let mut rng = Rng::new(seed);
		let mut committed = Vec::new();
		// Besides the genesis curators, some accounts curate with a bond from the start.
		for who in ACCOUNTS {
			if rng.chance(85) {
				let _ = Datanets::bond_curator(RuntimeOrigin::signed(who), CURATOR_BOND);
			}
		}
		for n in 0..steps {
			step(&mut rng, &mut committed);
			if let Err(e) = Datanets::do_try_state() {
				panic!("seed {seed}, step {n}: try_state: {e:?}");
			}
			if let Err(e) = check_holds() {
				panic!("seed {seed}, step {n}: holds: {e}");
			}
		}
		for (_, c) in Contributions::<Test>::iter() {
			match c.status {
				ContributionStatus::Accepted { .. } => reached.accepted += 1,
				ContributionStatus::Rejected { .. } => reached.rejected += 1,
				ContributionStatus::Expired => reached.expired += 1,
				ContributionStatus::Superseded { .. } => reached.superseded += 1,
				ContributionStatus::Pending => {}
			}
		}
		reached.versions += LatestVersion::<Test>::iter().map(|(_, v)| v as u64).sum::<u64>();
		for e in System::events() {
			match e.event {
				RuntimeEvent::Datanets(Event::ContributionRemoved { .. }) => reached.removed += 1,
				RuntimeEvent::Datanets(Event::DatanetStorageCleared { done: true, .. }) => {
					reached.cleared += 1
				}
				_ => {}
			}
		}
	});
}

#[test]
fn random_call_sequences_keep_every_invariant() {
	let count = env_u64("FUZZ_SEQUENCES", 200);
	let first = env_u64("FUZZ_SEED", 0x7121_b07a);
	let mut reached = Reached::default();
	for i in 0..count {
		sequence(first.wrapping_add(i), 150, &mut reached);
	}
	println!(
		"random call sequences: {count} of 150 steps from seed {first:#x}; reached {reached:?}"
	);
	// The generator must reach every outcome, or the invariants were checked on too little.
	assert!(
		reached.accepted > 0
			&& reached.rejected > 0
			&& reached.expired > 0
			&& reached.superseded > 0
			&& reached.versions > 0
			&& reached.removed > 0
			&& reached.cleared > 0,
		"{reached:?}"
	);
}
