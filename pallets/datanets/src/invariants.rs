//! The pallet's invariants, checked by the `try_state` hook, the tests and the random call
//! sequences. They read every record: never called from a dispatchable.

use crate::{mmr, pallet::*, types::*};
use alloc::vec::Vec;
use frame_support::{ensure, traits::fungible::InspectHold};
use sp_runtime::traits::{CheckedAdd, Zero};

impl<T: Config> Pallet<T> {
	/// Checks the pallet's invariants (the `try_state` hook; also called by tests).
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let next_datanet = NextDatanetId::<T>::get();
		let next_contribution = NextContributionId::<T>::get();
		let mut per_datanet: alloc::collections::BTreeMap<DatanetId, (u64, u64, u64)> =
			Default::default();
		for (id, c) in Contributions::<T>::iter() {
			ensure!(id < next_contribution, "contribution id at or above NextContributionId");
			let indexed = ContributionByHash::<T>::get(c.datanet, c.content_hash) == Some(id);
			let live = matches!(
				c.status,
				ContributionStatus::Pending | ContributionStatus::Accepted { .. }
			);
			ensure!(
				indexed == live,
				"hash index holds a decided-out contribution or misses a live one"
			);
			let pending = c.status == ContributionStatus::Pending;
			ensure!(
				!pending || PendingExpiries::<T>::get(c.expires_at).contains(&id),
				"a pending contribution is missing from its expiry bucket"
			);
			ensure!(c.committed_at <= c.submitted_at, "committed after it was submitted");
			if let ContributionStatus::Superseded { by } = c.status {
				ensure!(by > id && by < next_contribution, "superseded by no later contribution");
				// The winner's record may have been removed since.
				if let Some(winner) = Contributions::<T>::get(by) {
					ensure!(
						winner.datanet == c.datanet && winner.content_hash == c.content_hash,
						"superseded by a contribution of other bytes"
					);
				}
			}
			let (approvals, rejections) =
				Votes::<T>::iter_prefix(id).fold((0u32, 0u32), |n, v| match v.1 {
					Vote::Approve => (n.0 + 1, n.1),
					Vote::Reject(_) => (n.0, n.1 + 1),
				});
			ensure!(
				(approvals, rejections) == (c.approvals, c.rejections),
				"a contribution's vote counts differ from its votes"
			);
			let e = per_datanet.entry(c.datanet).or_default();
			e.0 += 1;
			match c.status {
				ContributionStatus::Accepted { index } => {
					e.1 += 1;
					ensure!(
						AcceptedList::<T>::get(c.datanet, index) == Some(id),
						"accepted contribution not at its index"
					);
				}
				ContributionStatus::Rejected { .. } => e.2 += 1,
				ContributionStatus::Pending
				| ContributionStatus::Expired
				| ContributionStatus::Superseded { .. } => {}
			}
		}
		// Held balances: each contributor's pending deposits and stored records' deposits, each
		// owner's datanet deposits. (Accounts holding more without any record cannot be
		// enumerated here; the random-sequence test checks every account it uses.)
		let mut held: alloc::collections::BTreeMap<(T::AccountId, bool), BalanceOf<T>> =
			Default::default();
		for (_, c) in Contributions::<T>::iter() {
			let e = held.entry((c.contributor, true)).or_default();
			*e = e.checked_add(&c.record_deposit).ok_or("contribution deposits overflow")?;
			if c.status == ContributionStatus::Pending {
				*e = e.checked_add(&c.deposit).ok_or("contribution deposits overflow")?;
			}
		}
		let mut bonds: alloc::collections::BTreeMap<T::AccountId, BalanceOf<T>> =
			Default::default();
		let mut on_board = alloc::collections::BTreeSet::new();
		for (id, d) in DatanetInfo::<T>::iter() {
			if let Some(bond) = d.board_bond {
				on_board.insert(id);
				let e = bonds.entry(d.owner.clone()).or_default();
				*e = e.checked_add(&bond).ok_or("board bonds overflow")?;
			}
			let e = held.entry((d.owner, false)).or_default();
			*e = e.checked_add(&d.deposit).ok_or("datanet deposits overflow")?;
		}
		for (who, sum) in bonds {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::GlobalBoardBond.into(), &who) == sum,
				"held board bond differs from the owner's datanets' bonds"
			);
		}
		for ((who, contribution), sum) in held {
			let reason = match contribution {
				true => HoldReason::ContributionDeposit,
				false => HoldReason::DatanetDeposit,
			};
			ensure!(
				T::Currency::balance_on_hold(&reason.into(), &who) == sum,
				"held balance differs from the deposits it backs"
			);
		}
		// Each curator bond is exactly what is held for it.
		for (who, bond) in CuratorBonds::<T>::iter() {
			ensure!(!bond.amount.is_zero(), "an empty curator bond is kept");
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::CuratorBond.into(), &who) == bond.amount,
				"held curator bond differs from the recorded bond"
			);
		}
		// The global board is the sum of the boards of the datanets on it.
		let mut summed: alloc::collections::BTreeMap<T::AccountId, ContributorStats> =
			Default::default();
		for (_, who, s) in Stats::<T>::iter().filter(|(d, _, _)| on_board.contains(d)) {
			let g = summed.entry(who).or_default();
			g.submitted = g.submitted.checked_add(s.submitted).ok_or("stats overflow")?;
			g.accepted = g.accepted.checked_add(s.accepted).ok_or("stats overflow")?;
			g.rejected = g.rejected.checked_add(s.rejected).ok_or("stats overflow")?;
			g.accepted_bytes = g.accepted_bytes.saturating_add(s.accepted_bytes);
			g.first_accepted = match (g.first_accepted, s.first_accepted) {
				(Some(a), Some(b)) => Some(a.min(b)),
				(a, b) => a.or(b),
			};
		}
		let global: alloc::collections::BTreeMap<_, _> = GlobalStats::<T>::iter().collect();
		ensure!(summed == global, "global leaderboard differs from the sum of the datanets'");
		// A scheduled change belongs to a datanet and fits its curators.
		for (datanet, change) in ScheduledRules::<T>::iter() {
			let d = DatanetInfo::<T>::get(datanet).ok_or("a rules change for no datanet")?;
			ensure!(
				Self::check_rules(&change.apply_to(d.rules), Curators::<T>::get(datanet).len())
					.is_ok(),
				"a scheduled rules change breaks the rule checks"
			);
		}
		// Each stored board is the top of a full sort of its records (a datanet's rows go
		// while it is being cleared, its board last).
		for board in DatanetInfo::<T>::iter_keys()
			.filter(|id| !ClearCursor::<T>::contains_key(id))
			.map(Some)
			.chain(core::iter::once(None))
		{
			ensure!(
				TopContributors::<T>::get(board).into_inner() == Self::rebuild_board(board),
				"a stored leaderboard differs from a sort of its records"
			);
		}
		for board in TopContributors::<T>::iter_keys().flatten() {
			ensure!(DatanetInfo::<T>::contains_key(board), "a leaderboard of no datanet");
		}
		// Closing and clearing: a close block for each closed datanet, a cursor only while one
		// is cleared.
		for (id, _) in ClosedAt::<T>::iter() {
			let d = DatanetInfo::<T>::get(id).ok_or("a close block of no datanet")?;
			ensure!(d.status == DatanetStatus::Closed, "a close block of a datanet not closed");
		}
		for (id, left) in ClearCursor::<T>::iter() {
			let d = DatanetInfo::<T>::get(id).ok_or("a clear cursor of no datanet")?;
			ensure!(
				d.status == DatanetStatus::Closed && left <= d.accepted,
				"a clear cursor of a datanet not closed, or past its accepted list"
			);
		}
		// Commitments: made no later than now, each held once per account.
		let now = frame_system::Pallet::<T>::block_number();
		for (_, list) in Commitments::<T>::iter() {
			ensure!(!list.is_empty(), "an empty commitment list is stored");
			for (i, (c, made)) in list.iter().enumerate() {
				ensure!(*made <= now, "a commitment from a future block");
				ensure!(
					!list[..i].iter().any(|(other, _)| other == c),
					"a commitment is held twice by one account"
				);
			}
		}
		for (at, bucket) in PendingExpiries::<T>::iter() {
			for id in bucket {
				let c = Contributions::<T>::get(id).ok_or("an expiry of no contribution")?;
				ensure!(
					c.status == ContributionStatus::Pending && c.expires_at == at,
					"expiry bucket entry out of place, or no longer pending"
				);
			}
		}
		for (datanet, hash, id) in ContributionByHash::<T>::iter() {
			let c = Contributions::<T>::get(id).ok_or("hash index points to no contribution")?;
			ensure!(
				c.datanet == datanet && c.content_hash == hash,
				"hash index points to another datanet's or hash's contribution"
			);
		}
		for (id, d) in DatanetInfo::<T>::iter() {
			ensure!(id < next_datanet, "datanet id at or above NextDatanetId");
			ensure!(
				(d.status == DatanetStatus::Closed) == ClosedAt::<T>::contains_key(id),
				"a closed datanet without its close block"
			);
			// Records counted here are those still stored: decided-out ones may have been removed.
			let (s, a, r) = per_datanet.get(&id).copied().unwrap_or_default();
			ensure!(s <= d.submitted && r <= d.rejected, "more records than the datanet counted");
			if d.status == DatanetStatus::Cleared {
				ensure!(
					a == 0 && d.deposit.is_zero() && d.board_bond.is_some(),
					"a cleared datanet keeps records or a deposit, or is off the board"
				);
				continue;
			}
			if let Some(left) = ClearCursor::<T>::get(id) {
				// Accepted items go from the end of the list.
				ensure!(a == left, "a datanet being cleared has accepted records past its cursor");
				continue;
			}
			ensure!(a == d.accepted, "datanet counters disagree with its accepted contributions");
			let peaks = MmrPeaks::<T>::get(id);
			ensure!(
				peaks.len() as u32 == d.accepted.count_ones(),
				"MMR peaks do not match the accepted count"
			);
			// The call-time checks (quorums within the curators, caps, pending blocks) hold.
			ensure!(
				Self::check_rules(&d.rules, Curators::<T>::get(id).len()).is_ok(),
				"a datanet's rules break the rule checks (quorums, caps or expiry)"
			);
			let stats_sum =
				Stats::<T>::iter_prefix(id).try_fold(ContributorStats::default(), |acc, (_, s)| {
					Some(ContributorStats {
						submitted: acc.submitted.checked_add(s.submitted)?,
						accepted: acc.accepted.checked_add(s.accepted)?,
						rejected: acc.rejected.checked_add(s.rejected)?,
						..acc
					})
				});
			let stats_sum = stats_sum.ok_or("leaderboard counters overflow")?;
			ensure!(
				(stats_sum.submitted, stats_sum.accepted, stats_sum.rejected)
					== (d.submitted, d.accepted, d.rejected),
				"leaderboard disagrees with the datanet's counters"
			);
			let latest = LatestVersion::<T>::get(id);
			if latest > 0 {
				let v = Versions::<T>::get(id, latest).ok_or("latest version missing")?;
				ensure!(v.count <= d.accepted, "version counts more than accepted");
			}
			// Every root (current and published) is the MMR of the accepted list's leaves.
			let mut published: alloc::collections::BTreeMap<u64, Vec<MmrHash>> = Default::default();
			for (_, v) in Versions::<T>::iter_prefix(id) {
				published.entry(v.count).or_default().push(v.root);
			}
			let mut versions_ok = true;
			let replayed = Self::replay_mmr(id, d.accepted, |n, peaks| {
				if let Some(roots) = published.get(&n) {
					let root = mmr::root(peaks);
					versions_ok &= roots.iter().all(|r| *r == root);
				}
			})
			.ok_or("accepted list has a gap")?;
			ensure!(
				mmr::root(&replayed) == mmr::root(&peaks),
				"MMR peaks do not match the accepted list"
			);
			ensure!(versions_ok, "a version's root is not the MMR of its items");
		}
		Ok(())
	}
}
