//! Storage that lives only as long as someone pays for it. Each contribution holds a record
//! deposit for as long as its record is stored; the owner's datanet deposit lasts as long as the
//! datanet. Decided-out records are removed by their contributors (or by anyone once the
//! datanet may be cleared), and a closed datanet is cleared by anyone in bounded steps, each
//! deposit going back to whoever paid it.

use crate::{pallet::*, types::*, weights::WeightInfo};
use frame_support::{
	dispatch::{DispatchResultWithPostInfo, Pays, PostDispatchInfo},
	pallet_prelude::*,
	traits::{
		fungible::{Inspect, Mutate, MutateHold},
		tokens::{Fortitude, Precision, Preservation},
	},
};
use sp_runtime::traits::{Saturating, Zero};

/// What one `clear_closed_datanet` call removed.
#[derive(Default)]
struct Cleared {
	/// Accepted contributions (record, hash index and accepted-list entries).
	items: u32,
	/// Other keys: votes, versions, per-contributor rows.
	keys: u32,
}

impl Cleared {
	fn used(&self) -> u32 {
		self.items.saturating_add(self.keys)
	}
}

impl<T: Config> Pallet<T> {
	/// The record deposit of a contribution with `metadata`.
	pub(crate) fn record_deposit(metadata: &[u8]) -> BalanceOf<T> {
		let bytes: u32 = metadata.len().try_into().unwrap_or(u32::MAX);
		T::RecordDepositBase::get()
			.saturating_add(T::RecordDepositPerByte::get().saturating_mul(bytes.into()))
	}

	/// Whether anyone may clear `datanet`'s storage: closed `ClearDelay` blocks ago or more, or
	/// already cleared (or gone).
	pub fn is_clearable(datanet: DatanetId) -> bool {
		DatanetInfo::<T>::get(datanet).is_none_or(|d| Self::clear_delay_passed(datanet, &d))
	}

	/// `is_clearable` for a datanet already read.
	fn clear_delay_passed(datanet: DatanetId, d: &DatanetOf<T>) -> bool {
		match d.status {
			DatanetStatus::Open => false,
			DatanetStatus::Closed => {
				let closed = ClosedAt::<T>::get(datanet).unwrap_or_default();
				frame_system::Pallet::<T>::block_number()
					>= closed.saturating_add(T::ClearDelay::get().into())
			}
			DatanetStatus::Cleared => true,
		}
	}

	/// Refuses owner calls on a datanet whose storage is being cleared or was.
	pub(crate) fn ensure_not_cleared(datanet: DatanetId, d: &DatanetOf<T>) -> DispatchResult {
		ensure!(
			d.status != DatanetStatus::Cleared && !ClearCursor::<T>::contains_key(datanet),
			Error::<T>::DatanetCleared
		);
		Ok(())
	}

	/// Releases `amount` of `who`'s contribution hold; returns what was released.
	fn release_record(who: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
		T::Currency::release(
			&HoldReason::ContributionDeposit.into(),
			who,
			amount,
			Precision::BestEffort,
		)
		.unwrap_or_else(|_| Zero::zero())
	}

	pub(crate) fn do_remove_contribution(
		who: &T::AccountId,
		id: ContributionId,
	) -> DispatchResultWithPostInfo {
		let c = Contributions::<T>::get(id).ok_or(Error::<T>::UnknownContribution)?;
		ensure!(
			matches!(
				c.status,
				ContributionStatus::Rejected { .. }
					| ContributionStatus::Expired
					| ContributionStatus::Superseded { .. }
			),
			Error::<T>::NotRemovable
		);
		let own = *who == c.contributor;
		ensure!(own || Self::is_clearable(c.datanet), Error::<T>::NotContributor);
		let votes = Votes::<T>::drain_prefix(id).count() as u32;
		Contributions::<T>::remove(id);
		let released = Self::release_record(&c.contributor, c.record_deposit);
		Self::deposit_event(Event::ContributionRemoved {
			contribution: id,
			datanet: c.datanet,
			contributor: c.contributor,
			released,
		});
		Ok(PostDispatchInfo {
			actual_weight: Some(T::WeightInfo::remove_contribution(votes)),
			pays_fee: if own { Pays::Yes } else { Pays::No },
		})
	}

	pub(crate) fn do_clear_closed_datanet(
		datanet: DatanetId,
		max_keys: u32,
	) -> DispatchResultWithPostInfo {
		ensure!(max_keys > 0, Error::<T>::ZeroBudget);
		let mut d = DatanetInfo::<T>::get(datanet).ok_or(Error::<T>::UnknownDatanet)?;
		ensure!(
			d.status == DatanetStatus::Closed && Self::clear_delay_passed(datanet, &d),
			Error::<T>::NotClearable
		);
		let mut done = Cleared::default();
		let left = Self::clear_accepted(datanet, &d, max_keys, &mut done);
		ClearCursor::<T>::insert(datanet, left);
		let on_board = d.board_bond.is_some();
		let mut finished = left == 0
			&& Self::drain(Versions::<T>::drain_prefix(datanet), max_keys, &mut done)
			&& Self::drain(ContributorDaily::<T>::drain_prefix(datanet), max_keys, &mut done);
		if finished && !on_board {
			finished = Self::drain(Stats::<T>::drain_prefix(datanet), max_keys, &mut done);
		}
		if finished {
			Self::finish_clearing(datanet, &mut d);
		}
		Self::deposit_event(Event::DatanetStorageCleared {
			datanet,
			contributions: done.items,
			keys: done.keys,
			done: finished,
		});
		// Every call that gets here removed something or finished: clearing is free.
		Ok(PostDispatchInfo {
			actual_weight: Some(T::WeightInfo::clear_closed_datanet(done.items, done.keys)),
			pays_fee: Pays::No,
		})
	}

	/// Removes accepted items from the end of the list while the budget lasts (the first one
	/// always, whatever its votes); returns how many are left.
	fn clear_accepted(
		datanet: DatanetId,
		d: &DatanetOf<T>,
		max_keys: u32,
		done: &mut Cleared,
	) -> u64 {
		let mut left = ClearCursor::<T>::get(datanet).unwrap_or(d.accepted);
		while left > 0 {
			let index = left - 1;
			let record = AcceptedList::<T>::get(datanet, index)
				.and_then(|id| Some((id, Contributions::<T>::get(id)?)));
			let votes =
				record.as_ref().map_or(0, |(_, c)| c.approvals.saturating_add(c.rejections));
			if done.used() > 0 && done.used().saturating_add(1).saturating_add(votes) > max_keys {
				break;
			}
			AcceptedList::<T>::remove(datanet, index);
			if let Some((id, c)) = record {
				done.keys = done.keys.saturating_add(Votes::<T>::drain_prefix(id).count() as u32);
				if ContributionByHash::<T>::get(datanet, c.content_hash) == Some(id) {
					ContributionByHash::<T>::remove(datanet, c.content_hash);
				}
				Contributions::<T>::remove(id);
				Self::release_record(&c.contributor, c.record_deposit);
			}
			done.items = done.items.saturating_add(1);
			left = index;
		}
		left
	}

	/// Takes entries from `iter` (which removes them) while the budget lasts; true when it ran
	/// out of entries.
	fn drain<I: Iterator>(mut iter: I, max_keys: u32, done: &mut Cleared) -> bool {
		while done.used() < max_keys {
			if iter.next().is_none() {
				return true;
			}
			done.keys = done.keys.saturating_add(1);
		}
		false
	}

	/// The last step: the datanet's own entries go, the owner gets its deposit and the pot's
	/// remainder back. A datanet on the global board stays as `Cleared` with its contributors'
	/// rows (its bond stays held for them).
	fn finish_clearing(datanet: DatanetId, d: &mut DatanetOf<T>) {
		Curators::<T>::remove(datanet);
		MmrPeaks::<T>::remove(datanet);
		LatestVersion::<T>::remove(datanet);
		DatanetDaily::<T>::remove(datanet);
		ScheduledRules::<T>::remove(datanet);
		ClosedAt::<T>::remove(datanet);
		ClearCursor::<T>::remove(datanet);
		T::Currency::release(
			&HoldReason::DatanetDeposit.into(),
			&d.owner,
			d.deposit,
			Precision::BestEffort,
		)
		.ok();
		let pot = Self::curation_pot(datanet);
		let rest =
			T::Currency::reducible_balance(&pot, Preservation::Expendable, Fortitude::Polite);
		if !rest.is_zero() {
			T::Currency::transfer(&pot, &d.owner, rest, Preservation::Expendable).ok();
		}
		if d.board_bond.is_some() {
			d.deposit = Zero::zero();
			d.status = DatanetStatus::Cleared;
			DatanetInfo::<T>::insert(datanet, &*d);
		} else {
			TopContributors::<T>::remove(Some(datanet));
			DatanetInfo::<T>::remove(datanet);
		}
	}
}
