//! What pallet-session asks of this pallet: when a session ends, who validates the next one, and
//! when to prune the validator sets kept for key-ownership proofs.

use crate::{Config, Pallet, PlannedValidators, Reports, SessionLength};
use alloc::vec::Vec;
use frame_support::{
	traits::{EstimateNextSessionRotation, Get},
	weights::Weight,
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::{
	traits::{Convert, Saturating, Zero},
	Permill,
};
use sp_staking::SessionIndex;

impl<T: Config> pallet_session::ShouldEndSession<BlockNumberFor<T>> for Pallet<T> {
	fn should_end_session(now: BlockNumberFor<T>) -> bool {
		let len = SessionLength::<T>::get();
		!len.is_zero() && (now % len).is_zero()
	}
}

impl<T: Config> EstimateNextSessionRotation<BlockNumberFor<T>> for Pallet<T> {
	fn average_session_length() -> BlockNumberFor<T> {
		SessionLength::<T>::get()
	}

	fn estimate_current_session_progress(now: BlockNumberFor<T>) -> (Option<Permill>, Weight) {
		let len = SessionLength::<T>::get();
		let progress = (!len.is_zero()).then(|| Permill::from_rational(now % len, len));
		(progress, T::DbWeight::get().reads(1))
	}

	fn estimate_next_session_rotation(
		now: BlockNumberFor<T>,
	) -> (Option<BlockNumberFor<T>>, Weight) {
		let len = SessionLength::<T>::get();
		let next = (!len.is_zero()).then(|| now.saturating_add(len - now % len));
		(next, T::DbWeight::get().reads(1))
	}
}

impl<T: Config> pallet_session::SessionManager<T::AccountId> for Pallet<T> {
	fn new_session(_index: SessionIndex) -> Option<Vec<T::AccountId>> {
		// pallet-session leaves out members without session keys (purged): a validator that
		// wants to leave asks root to remove it, so the set never ends up empty that way.
		let set = PlannedValidators::<T>::get();
		(!set.is_empty()).then(|| set.into_inner())
	}

	fn end_session(index: SessionIndex) {
		let Some(oldest_kept) = index.checked_sub(T::HistoryDepth::get()) else { return };
		pallet_session::historical::Pallet::<T>::prune_up_to(oldest_kept);
		// Reports older than the kept history cannot be repeated (their proofs no longer verify),
		// so their records go with it. Bounded: a report needs a real offence by a validator.
		let old: Vec<_> =
			Reports::<T>::iter().filter(|(_, at)| *at < oldest_kept).map(|(id, _)| id).collect();
		for id in old {
			Reports::<T>::remove(id);
		}
	}

	fn start_session(_index: SessionIndex) {}
}

impl<T: Config> pallet_session::historical::SessionManager<T::AccountId, ()> for Pallet<T> {
	fn new_session(index: SessionIndex) -> Option<Vec<(T::AccountId, ())>> {
		<Self as pallet_session::SessionManager<_>>::new_session(index)
			.map(|set| set.into_iter().map(|v| (v, ())).collect())
	}

	fn end_session(index: SessionIndex) {
		<Self as pallet_session::SessionManager<_>>::end_session(index)
	}

	fn start_session(index: SessionIndex) {
		<Self as pallet_session::SessionManager<_>>::start_session(index)
	}
}

/// Validators carry no identification beyond their account (no stake to expose).
pub struct NoIdentification;
impl<A> Convert<A, Option<()>> for NoIdentification {
	fn convert(_: A) -> Option<()> {
		Some(())
	}
}

impl<T: Config> Pallet<T> {
	/// The set is within bounds and has no duplicates; the session length is allowed. (A member
	/// may purge its session keys later; pallet-session then leaves it out of the sessions.)
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let set = PlannedValidators::<T>::get();
		frame_support::ensure!(
			set.len() as u32 >= T::MinValidators::get(),
			"fewer than MinValidators"
		);
		let mut sorted = set.clone().into_inner();
		sorted.sort();
		sorted.dedup();
		frame_support::ensure!(sorted.len() == set.len(), "a validator listed twice");
		frame_support::ensure!(
			SessionLength::<T>::get() >= T::MinSessionLength::get(),
			"session shorter than MinSessionLength"
		);
		Ok(())
	}
}
