//! Leaderboards kept sorted as decisions happen, so reading one is a page, not a scan.
//!
//! Each datanet's board and the global board (`TopContributors(Some(datanet))`, `(None)`) hold the
//! best `MaxLeaderboardLen` contributors with at least one acceptance, best first, with the fields
//! their rank is decided by. Only an acceptance changes a rank (rejections, expiries and takeovers
//! never lower one), and it only ever improves the contributor's: so the board is updated on
//! acceptance alone — the contributor's entry is taken out and put back where its new key sorts —
//! and a contributor pushed off the end can only come back by improving, which updates the board
//! again. One storage read and write per board per acceptance; the work in memory is bounded by
//! `MaxLeaderboardLen`.

use crate::{pallet::*, types::*};
use alloc::vec::Vec;
use frame_support::traits::Get;

impl<T: Config> Pallet<T> {
	/// Puts `who` with its new record `stats` in its place on `board`.
	pub(crate) fn rank_up(board: Option<DatanetId>, who: &T::AccountId, stats: &ContributorStats) {
		TopContributors::<T>::mutate(board, |list| {
			if let Some(i) = list.iter().position(|e| &e.account == who) {
				list.remove(i);
			}
			let entry = BoardEntry::new(who.clone(), stats);
			let at = list.partition_point(|e| e.sorts_before(&entry));
			if at >= T::MaxLeaderboardLen::get() as usize {
				return;
			}
			if list.is_full() {
				list.pop();
			}
			// Room was made above: this cannot fail.
			let _ = list.try_insert(at, entry);
		});
	}

	/// Leaderboard of one datanet (`Some`) or of all datanets on the global board (`None`):
	/// `limit` rows from `offset` (0-based) of its best `MaxLeaderboardLen` contributors with an
	/// acceptance. Reads the stored board and one record per row returned.
	pub fn leaderboard(
		board: Option<DatanetId>,
		offset: u32,
		limit: u32,
	) -> Vec<LeaderboardEntry<T::AccountId>> {
		TopContributors::<T>::get(board)
			.into_iter()
			.enumerate()
			.skip(offset as usize)
			.take(limit as usize)
			.map(|(i, e)| {
				let stats = Self::contributor_stats(&e.account, board);
				LeaderboardEntry {
					rank: (i as u32).saturating_add(1),
					account: e.account,
					acceptance_rate_ppm: stats.acceptance_rate_ppm(),
					stats,
				}
			})
			.collect()
	}

	/// The board as a full sort of every record would give it: for migrations and `try_state`
	/// (`O(n log n)` in the board's contributors), never for calls.
	pub(crate) fn rebuild_board(board: Option<DatanetId>) -> Vec<BoardEntry<T::AccountId>> {
		Self::sort_board(Self::board_records(board))
	}

	/// Every record a board ranks from.
	pub(crate) fn board_records(board: Option<DatanetId>) -> Vec<(T::AccountId, ContributorStats)> {
		match board {
			Some(d) => Stats::<T>::iter_prefix(d).collect(),
			None => GlobalStats::<T>::iter().collect(),
		}
	}

	/// The best `MaxLeaderboardLen` of `records` with an acceptance, best first.
	pub(crate) fn sort_board(
		records: Vec<(T::AccountId, ContributorStats)>,
	) -> Vec<BoardEntry<T::AccountId>> {
		let mut entries: Vec<_> = records
			.into_iter()
			.filter(|(_, s)| s.accepted > 0)
			.map(|(who, s)| BoardEntry::new(who, &s))
			.collect();
		entries.sort_by(|a, b| a.order(b));
		entries.truncate(T::MaxLeaderboardLen::get() as usize);
		entries
	}
}
