//! Offences: recorded once, then the offenders are disabled for the session and leave the set.

use crate::{Config, Event, Pallet, PlannedValidators, Reports};
use codec::Encode;
use frame_support::traits::Get;
use sp_runtime::traits::{BlakeTwo256, Hash};
use sp_staking::offence::{Kind, Offence, OffenceError, OffenceSeverity, ReportOffence};

impl<T: Config> Pallet<T> {
	fn report_id(kind: Kind, time_slot: &impl Encode, offenders: &[T::AccountId]) -> [u8; 32] {
		(kind, time_slot, offenders).using_encoded(|bytes| BlakeTwo256::hash(bytes).into())
	}

	/// Whether this offence (kind, time slot and offenders) was already reported.
	pub(crate) fn is_reported(
		kind: Kind,
		time_slot: &impl Encode,
		offenders: &[T::AccountId],
	) -> bool {
		Reports::<T>::contains_key(Self::report_id(kind, time_slot, offenders))
	}

	/// Records an offence and punishes its offenders: each is disabled for the rest of the
	/// session (as far as pallet-session's disabling strategy allows) and removed from the set
	/// unless that would leave fewer than `MinValidators`.
	pub(crate) fn note_offence(
		kind: Kind,
		time_slot: &impl Encode,
		offenders: &[T::AccountId],
	) -> Result<(), OffenceError> {
		let id = Self::report_id(kind, time_slot, offenders);
		if Reports::<T>::contains_key(id) {
			return Err(OffenceError::DuplicateReport);
		}
		Reports::<T>::insert(id, pallet_session::Pallet::<T>::current_index());
		for who in offenders {
			// The disabling strategy skips anyone outside the active set.
			pallet_session::Pallet::<T>::report_offence(
				who.clone(),
				OffenceSeverity(sp_runtime::Perbill::one()),
			);
			let removed = PlannedValidators::<T>::mutate(|set| {
				let at = set.iter().position(|v| v == who)?;
				(set.len() as u32 > T::MinValidators::get()).then(|| set.remove(at))
			});
			if removed.is_some() {
				Self::deposit_event(Event::ValidatorRemoved { who: who.clone(), offence: true });
			}
		}
		Self::deposit_event(Event::OffenceReported { kind, offenders: offenders.to_vec() });
		Ok(())
	}
}

/// Where pallet-grandpa's equivocation report system sends the offences it has checked.
impl<T: Config, O: Offence<(T::AccountId, ())>> ReportOffence<T::AccountId, (T::AccountId, ()), O>
	for Pallet<T>
{
	fn report_offence(
		_reporters: alloc::vec::Vec<T::AccountId>,
		offence: O,
	) -> Result<(), OffenceError> {
		let offenders: alloc::vec::Vec<_> =
			offence.offenders().into_iter().map(|(who, ())| who).collect();
		Self::note_offence(O::ID, &offence.slot(), &offenders)
	}

	fn is_known_offence(offenders: &[(T::AccountId, ())], time_slot: &O::Slot) -> bool {
		let offenders: alloc::vec::Vec<_> = offenders.iter().map(|(who, ())| who.clone()).collect();
		Self::is_reported(O::ID, time_slot, &offenders)
	}
}
