//! Expiry of pending contributions: per-block buckets that `on_initialize` takes, so nothing is
//! scanned; an expired contribution frees its hash and forfeits its deposit to the curation pot.

use crate::{pallet::*, types::*, EXPIRY_SPILL_BLOCKS};
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::MutateHold,
		tokens::{Fortitude, Precision, Restriction},
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {
	/// Puts `id` in the first expiry bucket with room at or after block `at`; returns that
	/// bucket's block (the contribution records it) and how many full buckets it skipped (each
	/// costs a read, and nothing is written to it).
	pub(crate) fn schedule_expiry(
		id: ContributionId,
		at: BlockNumberFor<T>,
	) -> Result<(BlockNumberFor<T>, u32), DispatchError> {
		let mut block = at;
		for skipped in 0..EXPIRY_SPILL_BLOCKS {
			let mut bucket = PendingExpiries::<T>::get(block);
			if bucket.try_push(id).is_ok() {
				PendingExpiries::<T>::insert(block, bucket);
				return Ok((block, skipped));
			}
			block = block.saturating_add(1u32.into());
		}
		Err(Error::<T>::ExpiryScheduleFull.into())
	}

	/// A contribution stops being pending (decided or taken over): out of the expiry bucket of
	/// block `at` (its `expires_at`). An expiry, whose bucket is already taken, needs nothing.
	pub(crate) fn end_pending(id: ContributionId, at: BlockNumberFor<T>) {
		PendingExpiries::<T>::mutate(at, |b| b.retain(|x| *x != id));
	}

	/// A pending contribution ran out of time: its hash is freed and its deposit goes to the
	/// curation pot (burned if the pot cannot take it, e.g. below the existential deposit).
	pub(crate) fn expire(id: ContributionId) {
		let Some(mut c) = Contributions::<T>::get(id) else { return };
		if c.status != ContributionStatus::Pending {
			return;
		}
		c.status = ContributionStatus::Expired;
		if ContributionByHash::<T>::get(c.datanet, c.content_hash) == Some(id) {
			ContributionByHash::<T>::remove(c.datanet, c.content_hash);
		}
		let forfeited = Self::forfeit_deposit(&c);
		let (datanet, contributor) = (c.datanet, c.contributor.clone());
		Contributions::<T>::insert(id, c);
		Self::deposit_event(Event::ContributionExpired {
			contribution: id,
			datanet,
			contributor,
			forfeited,
		});
	}

	/// Moves a contribution's held deposit to its datanet's curation pot (burns it if the pot
	/// cannot take it, e.g. below the existential deposit); returns what left the contributor.
	pub(crate) fn forfeit_deposit(c: &ContributionOf<T>) -> BalanceOf<T> {
		let reason = HoldReason::ContributionDeposit.into();
		T::Currency::transfer_on_hold(
			&reason,
			&c.contributor,
			&Self::curation_pot(c.datanet),
			c.deposit,
			Precision::BestEffort,
			Restriction::Free,
			Fortitude::Force,
		)
		.or_else(|_| {
			T::Currency::burn_held(
				&reason,
				&c.contributor,
				c.deposit,
				Precision::BestEffort,
				Fortitude::Force,
			)
		})
		.unwrap_or_else(|_| Zero::zero())
	}
}
