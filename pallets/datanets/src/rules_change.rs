//! Changes to what a datanet pays and how it decides wait `RulesChangeDelay` blocks.
//!
//! An owner who could raise the curator fee, lower a quorum or raise the deposit at once could
//! drain the curation pot through curators of their own, or decide contributions submitted under
//! other terms. So `update_rules` applies caps and `pending_blocks` at once (they bound what later
//! submissions may do, nothing already done), and schedules the fee, the quorums and the deposit
//! (`ScheduledRules`); contributors and curators see the change on chain for the whole delay. The
//! change applies in the first call that reads the datanet's rules at or after its block (a
//! submission, a vote, a rules update), so nothing is scanned.

use crate::{pallet::*, types::*};
use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {
	/// The datanet, with a scheduled change of rules applied if its block has come.
	pub(crate) fn load_datanet(datanet: DatanetId) -> Result<DatanetOf<T>, DispatchError> {
		Self::load_datanet_applying(datanet).map(|(d, _)| d)
	}

	/// As `load_datanet`, and whether a scheduled change came due (the work a caller that
	/// charges for it refunds otherwise).
	pub(crate) fn load_datanet_applying(
		datanet: DatanetId,
	) -> Result<(DatanetOf<T>, bool), DispatchError> {
		let mut d = DatanetInfo::<T>::get(datanet).ok_or(Error::<T>::UnknownDatanet)?;
		let Some(change) = ScheduledRules::<T>::get(datanet) else { return Ok((d, false)) };
		if change.at > frame_system::Pallet::<T>::block_number() {
			return Ok((d, false));
		}
		ScheduledRules::<T>::remove(datanet);
		let rules = change.apply_to(d.rules.clone());
		// `remove_curator` keeps scheduled quorums within the curators, so this holds; a change
		// that no longer fits is dropped rather than applied.
		if Self::check_rules(&rules, Curators::<T>::get(datanet).len()).is_ok() {
			d.rules = rules;
			DatanetInfo::<T>::insert(datanet, &d);
			Self::deposit_event(Event::RulesChangeApplied { datanet });
		}
		Ok((d, true))
	}

	/// Applies `rules`' caps and expiry now and schedules its fee, quorums and deposit if they
	/// differ from the current ones (replacing any change already scheduled; asking for the
	/// current values cancels it). Returns the block the scheduled part applies in, if any.
	pub(crate) fn change_rules(
		datanet: DatanetId,
		d: &mut DatanetOf<T>,
		rules: RulesOf<T>,
	) -> Result<Option<BlockNumberFor<T>>, DispatchError> {
		Self::check_rules(&rules, Curators::<T>::get(datanet).len())?;
		let delayed = ScheduledChange::of(&rules, Zero::zero());
		let current = ScheduledChange::of(&d.rules, Zero::zero());
		d.rules = current.apply_to(rules);
		if delayed == current {
			ScheduledRules::<T>::remove(datanet);
			return Ok(None);
		}
		let at = frame_system::Pallet::<T>::block_number()
			.saturating_add(T::RulesChangeDelay::get().into());
		ScheduledRules::<T>::insert(datanet, ScheduledChange { at, ..delayed });
		Ok(Some(at))
	}
}
