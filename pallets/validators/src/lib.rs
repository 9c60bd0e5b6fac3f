//! # Validators pallet
//!
//! Who validates. A set of accounts, changed by `ValidatorOrigin` (root now, governance later), is
//! handed to pallet-session at each session's end; pallet-session queues it, so a change takes
//! effect one to two sessions later, and Aura and GRANDPA follow it. Sessions last `SessionLength`
//! blocks, set in the chain spec and changeable by the same origin.
//!
//! An account must have set its session keys (`Session::set_keys`, which holds a deposit) before it
//! can be added, so the set never names a validator that cannot author.
//!
//! **Offences.** Equivocation is the one offence here: two Aura blocks for one slot, or two GRANDPA
//! votes in one round, signed by one key. GRANDPA's reports come through pallet-grandpa's own
//! report system, which calls this pallet's [`ReportOffence`](sp_staking::offence::ReportOffence);
//! Aura has no report system upstream, so [`Pallet::report_aura_equivocation`] checks the two
//! sealed headers itself. Either way the offender is disabled at once (pallet-session's disabling
//! strategy: at most a third of the set) and removed from the set (unless it is the last
//! `MinValidators`), and the report is recorded so it counts once. Validators post no bond here,
//! so nothing is slashed: the set is permissioned, and removal is the penalty.
//!
//! Key-ownership proofs for GRANDPA reports come from pallet-session's historical roots, kept for
//! `HistoryDepth` sessions.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

mod aura_equivocation;
mod offences;
mod sessions;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use aura_equivocation::{AuraEquivocationProof, InvalidAuraProof};
pub use sessions::NoIdentification;
pub use weights::WeightInfo;

/// The offence kind recorded for an Aura equivocation (GRANDPA's reports carry their own).
pub const AURA_EQUIVOCATION: sp_staking::offence::Kind = *b"aura:equivocatio";

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use sp_runtime::transaction_validity::{
		InvalidTransaction, TransactionPriority, TransactionSource, TransactionValidity,
		ValidTransaction,
	};
	use sp_staking::SessionIndex;

	pub type ValidatorsOf<T> =
		BoundedVec<<T as frame_system::Config>::AccountId, <T as Config>::MaxValidators>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config:
		frame_system::Config
		+ pallet_session::Config<ValidatorId = <Self as frame_system::Config>::AccountId>
		+ pallet_session::historical::Config<FullIdentification = ()>
		+ pallet_aura::Config<AuthorityId = sp_consensus_aura::sr25519::AuthorityId>
	{
		/// Who may add and remove validators and change the session length.
		type ValidatorOrigin: EnsureOrigin<Self::RuntimeOrigin>;
		/// The largest set.
		#[pallet::constant]
		type MaxValidators: Get<u32>;
		/// The smallest set: removals (offenders included) stop here.
		#[pallet::constant]
		type MinValidators: Get<u32>;
		/// The shortest session, in blocks.
		#[pallet::constant]
		type MinSessionLength: Get<BlockNumberFor<Self>>;
		/// Sessions whose validator sets are kept for key-ownership proofs (and so for reports).
		#[pallet::constant]
		type HistoryDepth: Get<SessionIndex>;
		/// How many slots back an Aura equivocation can still be reported.
		#[pallet::constant]
		type AuraReportWindow: Get<u64>;
		type WeightInfo: WeightInfo;
	}

	/// The validators the next planned session gets (pallet-session queues them).
	#[pallet::storage]
	pub type PlannedValidators<T: Config> = StorageValue<_, ValidatorsOf<T>, ValueQuery>;

	/// Blocks per session; a session ends at each multiple of it.
	#[pallet::storage]
	pub type SessionLength<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

	/// Offences already reported, by report id (kind, time slot and offenders hashed), with the
	/// session they were reported in. One offence is punished once.
	#[pallet::storage]
	pub type Reports<T: Config> = StorageMap<_, Identity, [u8; 32], SessionIndex, OptionQuery>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The first validators (their keys are pallet-session's genesis `keys`).
		pub validators: alloc::vec::Vec<T::AccountId>,
		/// Blocks per session; 0 takes `MinSessionLength`.
		pub session_length: BlockNumberFor<T>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			let set: ValidatorsOf<T> =
				self.validators.clone().try_into().expect("at most MaxValidators at genesis");
			assert!(
				set.is_empty() || set.len() as u32 >= T::MinValidators::get(),
				"at least MinValidators at genesis"
			);
			PlannedValidators::<T>::put(set);
			SessionLength::<T>::put(self.session_length.max(T::MinSessionLength::get()));
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// `who` joins the set from the next planned session.
		ValidatorAdded { who: T::AccountId },
		/// `who` leaves the set from the next planned session (`offence`: removed for one).
		ValidatorRemoved { who: T::AccountId, offence: bool },
		/// Sessions now last `blocks` blocks.
		SessionLengthSet { blocks: BlockNumberFor<T> },
		/// An offence was reported and its offenders disabled.
		OffenceReported {
			kind: sp_staking::offence::Kind,
			offenders: alloc::vec::Vec<T::AccountId>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account is already in the set.
		AlreadyValidator,
		/// The account is not in the set.
		NotValidator,
		/// The account has no session keys (`Session::set_keys` first).
		NoSessionKeys,
		/// The set is full.
		TooManyValidators,
		/// The set cannot shrink below `MinValidators`.
		TooFewValidators,
		/// Shorter than `MinSessionLength`.
		SessionTooShort,
		/// The equivocation proof does not hold.
		InvalidEquivocationProof,
		/// The offender is not a current validator, or the slot is outside the report window.
		NotReportable,
		/// This offence was already reported.
		DuplicateReport,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Adds `who` to the set from the next planned session. `who` must have set session keys.
		///
		/// Emits `ValidatorAdded`.
		///
		/// Weight: `O(MaxValidators)` (the bounded set is read and written whole).
		#[pallet::call_index(0)]
		#[pallet::weight(<T as Config>::WeightInfo::add_validator())]
		pub fn add_validator(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			T::ValidatorOrigin::ensure_origin(origin)?;
			ensure!(pallet_session::NextKeys::<T>::contains_key(&who), Error::<T>::NoSessionKeys);
			PlannedValidators::<T>::try_mutate(|set| {
				ensure!(!set.contains(&who), Error::<T>::AlreadyValidator);
				set.try_push(who.clone()).map_err(|_| Error::<T>::TooManyValidators)
			})?;
			Self::deposit_event(Event::ValidatorAdded { who });
			Ok(())
		}

		/// Removes `who` from the set from the next planned session.
		///
		/// Emits `ValidatorRemoved`.
		///
		/// Weight: `O(MaxValidators)`.
		#[pallet::call_index(1)]
		#[pallet::weight(<T as Config>::WeightInfo::remove_validator())]
		pub fn remove_validator(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			T::ValidatorOrigin::ensure_origin(origin)?;
			PlannedValidators::<T>::try_mutate(|set| {
				let at = set.iter().position(|v| v == &who).ok_or(Error::<T>::NotValidator)?;
				ensure!(set.len() as u32 > T::MinValidators::get(), Error::<T>::TooFewValidators);
				set.remove(at);
				Ok::<_, Error<T>>(())
			})?;
			Self::deposit_event(Event::ValidatorRemoved { who, offence: false });
			Ok(())
		}

		/// Sessions last `blocks` blocks from now on (the current one ends at the next multiple).
		///
		/// Emits `SessionLengthSet`.
		#[pallet::call_index(2)]
		#[pallet::weight(<T as Config>::WeightInfo::set_session_length())]
		pub fn set_session_length(
			origin: OriginFor<T>,
			blocks: BlockNumberFor<T>,
		) -> DispatchResult {
			T::ValidatorOrigin::ensure_origin(origin)?;
			ensure!(blocks >= T::MinSessionLength::get(), Error::<T>::SessionTooShort);
			SessionLength::<T>::put(blocks);
			Self::deposit_event(Event::SessionLengthSet { blocks });
			Ok(())
		}

		/// Reports an Aura equivocation: two different blocks for one slot, both sealed by the
		/// offender's Aura key. The offender must be a validator of the current session and the
		/// slot within `AuraReportWindow` slots. Signed by anyone (free when the report holds) or
		/// unsigned from a validator node's own detector.
		///
		/// Emits `OffenceReported`.
		#[pallet::call_index(3)]
		#[pallet::weight(<T as Config>::WeightInfo::report_aura_equivocation())]
		pub fn report_aura_equivocation(
			origin: OriginFor<T>,
			proof: alloc::boxed::Box<AuraEquivocationProof<HeaderFor<T>>>,
		) -> DispatchResultWithPostInfo {
			match origin.into() {
				Ok(frame_system::RawOrigin::Signed(_)) | Ok(frame_system::RawOrigin::None) => {}
				_ => return Err(DispatchError::BadOrigin.into()),
			}
			let offender = Self::check_aura_report(&proof)?;
			Self::note_offence(AURA_EQUIVOCATION, &u64::from(proof.slot), &[offender])
				.map_err(|_| Error::<T>::DuplicateReport)?;
			Ok(Pays::No.into())
		}
	}

	// `ValidateUnsigned` is deprecated for `#[pallet::authorize]`, which needs `AuthorizeCall` in the
	// runtime's extensions; pallet-grandpa's reports still use it too.
	#[allow(deprecated)]
	#[pallet::validate_unsigned]
	impl<T: Config> ValidateUnsigned for Pallet<T> {
		type Call = Call<T>;

		fn validate_unsigned(source: TransactionSource, call: &Self::Call) -> TransactionValidity {
			let Call::report_aura_equivocation { proof } = call else {
				return InvalidTransaction::Call.into();
			};
			// Only this node's own detector (or a block) may carry unsigned reports: anyone else
			// signs and pays for a report that turns out false.
			if !matches!(source, TransactionSource::Local | TransactionSource::InBlock) {
				return InvalidTransaction::Call.into();
			}
			let offender =
				Self::check_aura_report(proof).map_err(|_| InvalidTransaction::BadProof)?;
			if Self::is_reported(
				AURA_EQUIVOCATION,
				&u64::from(proof.slot),
				core::slice::from_ref(&offender),
			) {
				return InvalidTransaction::Stale.into();
			}
			ValidTransaction::with_tag_prefix("ValidatorsAuraEquivocation")
				.priority(TransactionPriority::MAX)
				.and_provides((offender, u64::from(proof.slot)))
				.longevity(T::AuraReportWindow::get())
				.propagate(false)
				.build()
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}
}
