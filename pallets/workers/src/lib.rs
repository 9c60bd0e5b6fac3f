//! # Workers pallet
//!
//! Compute workers register here before they may take jobs: they hold a bond (at least `MinBond`),
//! publish their libp2p peer id and addresses, and declare their capabilities (device, memory,
//! largest model). Other pallets see workers only through [`WorkerRegistry`]: whether an account is
//! an active worker and what it can run, and slashing its bond.
//!
//! A worker may also publish an HTTP endpoint (`set_endpoint`): the base URL of its public API, where
//! clients find live training progress (`GET {endpoint}/jobs/{id}/events`) without being told where
//! the worker runs.
//!
//! Leaving takes two steps: `unbond` stops new work at once; the bond stays held, and slashable, for
//! `UnbondDelay` blocks (longer than any lease plus challenge window, so a worker cannot walk away from
//! a result it still answers for), then `withdraw` releases it and removes the record.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

pub mod types;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use types::*;
pub use weights::WeightInfo;

/// How other pallets use workers.
pub trait WorkerRegistry<AccountId> {
	type Balance;
	/// The capabilities of `who` if it is an active worker whose bond is at least the minimum.
	fn active_capabilities(who: &AccountId) -> Option<Capabilities>;
	/// Whether `who` is registered at all (active or unbonding).
	fn is_registered(who: &AccountId) -> bool;
	/// Burns up to `amount` of `who`'s bond (active or unbonding); returns what was burned.
	fn slash(who: &AccountId, amount: Self::Balance) -> Self::Balance {
		Self::slash_paying(who, amount, &[], sp_runtime::Perbill::zero())
	}
	/// Takes up to `amount` of `who`'s bond: `paid` of what is taken goes to `to` in equal parts
	/// (the division's remainder is burned), the rest is burned. Returns what was taken.
	fn slash_paying(
		who: &AccountId,
		amount: Self::Balance,
		to: &[AccountId],
		paid: sp_runtime::Perbill,
	) -> Self::Balance;
	/// Registers `who` as an active worker with a minimum bond (benchmark set-up only).
	#[cfg(feature = "runtime-benchmarks")]
	fn bench_register(who: &AccountId, capabilities: Capabilities);
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, InspectHold, Mutate, MutateHold},
			tokens::{Fortitude, Precision, Restriction},
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::traits::{Saturating, Zero};

	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	pub type PeerIdOf<T> = BoundedVec<u8, <T as Config>::MaxPeerIdLen>;
	pub type EndpointOf<T> = BoundedVec<u8, <T as Config>::MaxEndpointLen>;
	pub type AddrsOf<T> =
		BoundedVec<BoundedVec<u8, <T as Config>::MaxAddrLen>, <T as Config>::MaxAddrs>;
	pub type WorkerOf<T> = Worker<
		BalanceOf<T>,
		BlockNumberFor<T>,
		<T as Config>::MaxPeerIdLen,
		<T as Config>::MaxAddrs,
		<T as Config>::MaxAddrLen,
	>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency bonds are held in.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;
		/// The least bond an active worker holds.
		#[pallet::constant]
		type MinBond: Get<BalanceOf<Self>>;
		/// Blocks between `unbond` and `withdraw`.
		#[pallet::constant]
		type UnbondDelay: Get<BlockNumberFor<Self>>;
		/// Longest peer id, in bytes.
		#[pallet::constant]
		type MaxPeerIdLen: Get<u32>;
		/// Most multiaddresses per worker.
		#[pallet::constant]
		type MaxAddrs: Get<u32>;
		/// Longest multiaddress, in bytes.
		#[pallet::constant]
		type MaxAddrLen: Get<u32>;
		/// Longest endpoint URL, bytes.
		#[pallet::constant]
		type MaxEndpointLen: Get<u32>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Reasons this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A worker's bond.
		WorkerBond,
	}

	/// Registered workers.
	#[pallet::storage]
	pub type WorkerInfo<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, WorkerOf<T>>;

	/// The HTTP base URL a registered worker publishes (ASCII `http://` or `https://`, no spaces).
	#[pallet::storage]
	pub type Endpoints<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, EndpointOf<T>>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A worker registered with a bond.
		WorkerRegistered { worker: T::AccountId, bond: BalanceOf<T>, capabilities: Capabilities },
		/// A worker changed its addresses or capabilities.
		WorkerUpdated { worker: T::AccountId, capabilities: Capabilities },
		/// A worker added to its bond.
		BondIncreased { worker: T::AccountId, bond: BalanceOf<T> },
		/// A worker stopped taking work; its bond can be withdrawn from block `until`.
		UnbondingStarted { worker: T::AccountId, until: BlockNumberFor<T> },
		/// A worker withdrew its bond and left.
		WorkerWithdrawn { worker: T::AccountId, released: BalanceOf<T> },
		/// Part of a worker's bond was burned.
		WorkerSlashed { worker: T::AccountId, amount: BalanceOf<T> },
		/// A worker published (`Some`) or removed (`None`) its HTTP endpoint.
		EndpointSet { worker: T::AccountId, endpoint: Option<EndpointOf<T>> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// This account is already a registered worker.
		AlreadyRegistered,
		/// This account is not a registered worker.
		NotRegistered,
		/// The bond is below the minimum.
		BondTooLow,
		/// The peer id is empty.
		EmptyPeerId,
		/// A worker must publish at least one address.
		NoAddrs,
		/// Declared memory or model size is zero.
		InvalidCapabilities,
		/// The worker is unbonding and takes no new work or bond.
		Unbonding,
		/// The worker has not started unbonding.
		NotUnbonding,
		/// The unbonding delay has not passed yet.
		UnbondDelayNotPassed,
		/// The amount is zero.
		ZeroAmount,
		/// An endpoint must be an `http://` or `https://` URL of printable ASCII with a host.
		BadEndpoint,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Register the caller as a worker, holding `bond` (at least `MinBond`).
		///
		/// Emits `WorkerRegistered`.
		///
		/// Weight: `O(1)` (bounded addresses).
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register())]
		pub fn register(
			origin: OriginFor<T>,
			bond: BalanceOf<T>,
			peer_id: PeerIdOf<T>,
			addrs: AddrsOf<T>,
			capabilities: Capabilities,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!WorkerInfo::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
			ensure!(bond >= T::MinBond::get(), Error::<T>::BondTooLow);
			Self::check_profile(&peer_id, &addrs, &capabilities)?;
			T::Currency::hold(&HoldReason::WorkerBond.into(), &who, bond)?;
			WorkerInfo::<T>::insert(
				&who,
				Worker {
					bond,
					peer_id,
					addrs,
					capabilities,
					status: WorkerStatus::Active,
					registered_at: frame_system::Pallet::<T>::block_number(),
				},
			);
			Self::deposit_event(Event::WorkerRegistered { worker: who, bond, capabilities });
			Ok(())
		}

		/// Replace the caller's peer id, addresses and capabilities.
		///
		/// Emits `WorkerUpdated`.
		///
		/// Weight: `O(1)` (bounded addresses).
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::update())]
		pub fn update(
			origin: OriginFor<T>,
			peer_id: PeerIdOf<T>,
			addrs: AddrsOf<T>,
			capabilities: Capabilities,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::check_profile(&peer_id, &addrs, &capabilities)?;
			WorkerInfo::<T>::try_mutate(&who, |w| {
				let w = w.as_mut().ok_or(Error::<T>::NotRegistered)?;
				w.peer_id = peer_id;
				w.addrs = addrs;
				w.capabilities = capabilities;
				Ok::<_, DispatchError>(())
			})?;
			Self::deposit_event(Event::WorkerUpdated { worker: who, capabilities });
			Ok(())
		}

		/// Hold `amount` more as the caller's bond (e.g. to get back above `MinBond` after a slash).
		///
		/// Emits `BondIncreased`.
		///
		/// Weight: `O(1)`
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::bond_extra())]
		pub fn bond_extra(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
			let bond = WorkerInfo::<T>::try_mutate(&who, |w| {
				let w = w.as_mut().ok_or(Error::<T>::NotRegistered)?;
				ensure!(w.status == WorkerStatus::Active, Error::<T>::Unbonding);
				T::Currency::hold(&HoldReason::WorkerBond.into(), &who, amount)?;
				w.bond = w.bond.saturating_add(amount);
				Ok::<_, DispatchError>(w.bond)
			})?;
			Self::deposit_event(Event::BondIncreased { worker: who, bond });
			Ok(())
		}

		/// Stop taking work. The bond stays held for `UnbondDelay` blocks, then `withdraw` frees it.
		///
		/// Emits `UnbondingStarted`.
		///
		/// Weight: `O(1)`
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::unbond())]
		pub fn unbond(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let until =
				frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondDelay::get());
			WorkerInfo::<T>::try_mutate(&who, |w| {
				let w = w.as_mut().ok_or(Error::<T>::NotRegistered)?;
				ensure!(w.status == WorkerStatus::Active, Error::<T>::Unbonding);
				w.status = WorkerStatus::Unbonding { until };
				Ok::<_, DispatchError>(())
			})?;
			Self::deposit_event(Event::UnbondingStarted { worker: who, until });
			Ok(())
		}

		/// Release the caller's bond once its unbonding delay has passed, and deregister.
		///
		/// Emits `WorkerWithdrawn`.
		///
		/// Weight: `O(1)`
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::withdraw())]
		pub fn withdraw(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let w = WorkerInfo::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			let WorkerStatus::Unbonding { until } = w.status else {
				return Err(Error::<T>::NotUnbonding.into());
			};
			ensure!(
				frame_system::Pallet::<T>::block_number() >= until,
				Error::<T>::UnbondDelayNotPassed
			);
			let released = T::Currency::release(
				&HoldReason::WorkerBond.into(),
				&who,
				w.bond,
				Precision::BestEffort,
			)?;
			WorkerInfo::<T>::remove(&who);
			Endpoints::<T>::remove(&who);
			Self::deposit_event(Event::WorkerWithdrawn { worker: who, released });
			Ok(())
		}

		/// Publish (`Some`) or remove (`None`) the caller's HTTP endpoint. Registered workers only,
		/// active or unbonding (an unbonding worker may still be finishing a job people watch).
		///
		/// Emits `EndpointSet`.
		///
		/// Weight: `O(1)` (bounded URL).
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::set_endpoint())]
		pub fn set_endpoint(
			origin: OriginFor<T>,
			endpoint: Option<EndpointOf<T>>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(WorkerInfo::<T>::contains_key(&who), Error::<T>::NotRegistered);
			match &endpoint {
				Some(url) => {
					ensure!(is_valid_endpoint(url), Error::<T>::BadEndpoint);
					Endpoints::<T>::insert(&who, url);
				}
				None => Endpoints::<T>::remove(&who),
			}
			Self::deposit_event(Event::EndpointSet { worker: who, endpoint });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		fn check_profile(
			peer_id: &PeerIdOf<T>,
			addrs: &AddrsOf<T>,
			capabilities: &Capabilities,
		) -> DispatchResult {
			ensure!(!peer_id.is_empty(), Error::<T>::EmptyPeerId);
			ensure!(!addrs.is_empty() && addrs.iter().all(|a| !a.is_empty()), Error::<T>::NoAddrs);
			ensure!(
				capabilities.memory_mib > 0 && capabilities.max_model_params > 0,
				Error::<T>::InvalidCapabilities
			);
			Ok(())
		}

		/// Checks the pallet's invariants: every worker's recorded bond is exactly what is held for
		/// it, and every endpoint belongs to a registered worker.
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			for (who, _) in Endpoints::<T>::iter() {
				ensure!(WorkerInfo::<T>::contains_key(&who), "endpoint of an unregistered account");
			}
			for (who, w) in WorkerInfo::<T>::iter() {
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::WorkerBond.into(), &who) == w.bond,
					"worker bond differs from the balance held for it"
				);
			}
			Ok(())
		}
	}

	impl<T: Config> WorkerRegistry<T::AccountId> for Pallet<T> {
		type Balance = BalanceOf<T>;

		fn active_capabilities(who: &T::AccountId) -> Option<Capabilities> {
			WorkerInfo::<T>::get(who)
				.filter(|w| w.status == WorkerStatus::Active && w.bond >= T::MinBond::get())
				.map(|w| w.capabilities)
		}

		fn is_registered(who: &T::AccountId) -> bool {
			WorkerInfo::<T>::contains_key(who)
		}

		fn slash_paying(
			who: &T::AccountId,
			amount: BalanceOf<T>,
			to: &[T::AccountId],
			paid: sp_runtime::Perbill,
		) -> BalanceOf<T> {
			let reason = HoldReason::WorkerBond.into();
			let taken = WorkerInfo::<T>::mutate(who, |w| {
				let Some(w) = w.as_mut() else { return Zero::zero() };
				let take = amount.min(w.bond);
				let mut taken: BalanceOf<T> = Zero::zero();
				if !to.is_empty() {
					let each = (paid * take) / (to.len() as u32).into();
					for dest in to {
						taken = taken.saturating_add(
							T::Currency::transfer_on_hold(
								&reason,
								who,
								dest,
								each,
								Precision::BestEffort,
								Restriction::Free,
								Fortitude::Force,
							)
							.unwrap_or_else(|_| Zero::zero()),
						);
					}
				}
				taken = taken.saturating_add(
					T::Currency::burn_held(
						&reason,
						who,
						take.saturating_sub(taken),
						Precision::BestEffort,
						Fortitude::Force,
					)
					.unwrap_or_else(|_| Zero::zero()),
				);
				w.bond = w.bond.saturating_sub(taken);
				taken
			});
			if !taken.is_zero() {
				Self::deposit_event(Event::WorkerSlashed { worker: who.clone(), amount: taken });
			}
			taken
		}

		#[cfg(feature = "runtime-benchmarks")]
		fn bench_register(who: &T::AccountId, capabilities: Capabilities) {
			let bond = T::MinBond::get();
			let need = bond.saturating_add(T::Currency::minimum_balance());
			if T::Currency::balance(who) < need {
				T::Currency::set_balance(who, need.saturating_mul(2u32.into()));
			}
			let peer: PeerIdOf<T> = BoundedVec::truncate_from(alloc::vec![1u8; 38]);
			let addrs: AddrsOf<T> =
				BoundedVec::truncate_from(alloc::vec![BoundedVec::truncate_from(
					b"/ip4/127.0.0.1/tcp/30400".to_vec()
				)]);
			Pallet::<T>::register(
				frame_system::RawOrigin::Signed(who.clone()).into(),
				bond,
				peer,
				addrs,
				capabilities,
			)
			.expect("benchmark worker registers");
		}
	}
}
