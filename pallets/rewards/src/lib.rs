//! # Rewards pallet
//!
//! Who is paid for a model, by a split each datanet publishes, and how they claim it.
//!
//! - **Split.** A datanet's owner publishes its [`RewardSplit`]: parts per million of every payment
//!   for contributors (by the attribution table), curators (by their approving votes on the
//!   version's accepted items), the worker and the owner. Without one, `DefaultSplit` applies.
//! - **Pools.** When a job's result is final, the jobs pallet opens a pool through
//!   [`RewardPools::open`]: the worker's and the owner's parts are paid at once; the contributors'
//!   and curators' parts (plus whatever the datanet's pot holds, and the rounding dust) stay in the
//!   pallet's account under the job's payout table, committed as a Merkle root of [`Leaf`]s.
//! - **Claims.** Anyone may submit a leaf with its proof; the leaf's account is paid
//!   `⌊part × ppm / 10⁶⌋` of its role's part, once per leaf. The work is O(log n) hashes.
//! - **Expiry.** After `ClaimPeriod` blocks, anyone may sweep the pool: what is left goes to the
//!   datanet's pot, and the next pool of that datanet takes it in.
//!
//! - **Answer fees.** Fees paid for a trained model's answers (the fees pallet settles them)
//!   are shared by the same split and the same payout table: the serving worker's and the
//!   owner's parts at once, the rest into the model's job's fee pool of the current period
//!   (`FeePeriod` blocks). A fee pool fills while its period lasts, pays claims from the period's
//!   end for `ClaimPeriod` blocks, then is swept into the datanet's pot like a job's pool.
//!
//! `try_state` checks conservation: the pallet's account holds exactly its existential deposit
//! (minted at genesis, so payments never create or close it), what open pools have not paid out
//! and what the pots hold. docs/rewards.md gives the formulas a contributor can recompute.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

pub mod merkle;
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

/// Who owns a datanet (the datanets pallet answers).
pub trait DatanetOwners<AccountId> {
	fn owner(datanet: DatanetId) -> Option<AccountId>;
	/// A datanet owned by `owner` (benchmark set-up only). The default names none (the
	/// benchmarks then fail as `UnknownDatanet`): a runtime built with its own
	/// `runtime-benchmarks` feature provides one.
	#[cfg(feature = "runtime-benchmarks")]
	fn bench_datanet(_owner: &AccountId) -> DatanetId {
		DatanetId::MAX
	}
}

/// What the jobs pallet calls when a job's result is final.
pub trait RewardPools<AccountId, Balance> {
	/// Pays `amount` from `from` (free balance) for `job` on `datanet`, by the datanet's split:
	/// the worker's and the owner's parts at once, the rest into a pool under the payout table
	/// `root` of `leaves` leaves.
	fn open(
		job: JobId,
		datanet: DatanetId,
		from: &AccountId,
		amount: Balance,
		worker: &AccountId,
		root: [u8; 32],
		leaves: u32,
	) -> frame_support::dispatch::DispatchResult;
	/// Pays `amount` of answer fees from `from` (free balance) for the model `job` trained on
	/// `datanet`, by the datanet's split: `worker` (who served the answers) and the owner at
	/// once, the rest into the job's fee pool of the current period, under the job's payout
	/// table `root` of `leaves` leaves. Returns the period.
	fn pay_fees(
		job: JobId,
		datanet: DatanetId,
		from: &AccountId,
		amount: Balance,
		worker: &AccountId,
		root: [u8; 32],
		leaves: u32,
	) -> Result<Period, sp_runtime::DispatchError>;
	/// The fee period now: fees paid now join this period's pools.
	fn fee_period() -> Period;
	/// The part of a job's budget that `datanet`'s split gives the worker that trains it.
	fn worker_part(datanet: DatanetId) -> sp_runtime::Permill;
	/// Moves `amount` from `from` (free balance) into `datanet`'s pot: the datanet's next pool
	/// pays it out.
	fn fund_pot(
		datanet: DatanetId,
		from: &AccountId,
		amount: Balance,
	) -> frame_support::dispatch::DispatchResult;
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate},
			tokens::Preservation,
		},
		PalletId,
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::traits::{AccountIdConversion, One, Saturating, UniqueSaturatedInto, Zero};

	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	pub type PoolOf<T> = Pool<BalanceOf<T>, BlockNumberFor<T>>;
	pub type LeafOf<T> = Leaf<<T as frame_system::Config>::AccountId>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency rewards are paid in.
		type Currency: Inspect<Self::AccountId> + Mutate<Self::AccountId>;
		/// Datanets' owners.
		type Datanets: DatanetOwners<Self::AccountId>;
		/// Derives the account pools are held in, and each datanet's pot.
		#[pallet::constant]
		type PalletId: Get<PalletId>;
		/// The split of a datanet that has not published one.
		#[pallet::constant]
		type DefaultSplit: Get<RewardSplit>;
		/// Blocks a pool pays claims for, from its opening.
		#[pallet::constant]
		type ClaimPeriod: Get<BlockNumberFor<Self>>;
		/// Blocks of one fee period: answer fees of a period share one pool per model, which
		/// pays claims once the period is over.
		#[pallet::constant]
		type FeePeriod: Get<BlockNumberFor<Self>>;
		/// Most hashes in a proof (a table of up to 2^MaxProofLen leaves).
		#[pallet::constant]
		type MaxProofLen: Get<u32>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Published splits by datanet.
	#[pallet::storage]
	pub type Splits<T> = StorageMap<_, Twox64Concat, DatanetId, RewardSplit>;

	/// Open pools by job.
	#[pallet::storage]
	pub type Pools<T: Config> = StorageMap<_, Twox64Concat, JobId, PoolOf<T>>;

	/// What expired pools left, by datanet: the next pool of the datanet takes it in. (Held in
	/// the pallet's account, with the open pools.)
	#[pallet::storage]
	pub type Pots<T: Config> = StorageMap<_, Twox64Concat, DatanetId, BalanceOf<T>, ValueQuery>;

	/// Leaves already paid, by job and leaf index.
	#[pallet::storage]
	pub type Claimed<T> = StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, u32, ()>;

	/// Answer fees' pools, by the job that trained the model and the period they were paid in.
	#[pallet::storage]
	pub type FeePools<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, Period, PoolOf<T>>;

	/// Leaves of fee pools already paid, by job, period and leaf index.
	#[pallet::storage]
	pub type FeeClaimed<T> = StorageNMap<
		_,
		(NMapKey<Twox64Concat, JobId>, NMapKey<Twox64Concat, Period>, NMapKey<Twox64Concat, u32>),
		(),
	>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A datanet's owner published its split.
		SplitSet { datanet: DatanetId, split: RewardSplit },
		/// A job's payment was shared: the worker and the owner were paid, the rest waits in a
		/// pool for claims until `expires_at`.
		PoolOpened {
			job: JobId,
			datanet: DatanetId,
			worker: T::AccountId,
			worker_paid: BalanceOf<T>,
			owner_paid: BalanceOf<T>,
			contributors: BalanceOf<T>,
			curators: BalanceOf<T>,
			root: [u8; 32],
			leaves: u32,
			expires_at: BlockNumberFor<T>,
		},
		/// A leaf of a pool's table was paid.
		RewardClaimed {
			job: JobId,
			index: u32,
			account: T::AccountId,
			role: Role,
			amount: BalanceOf<T>,
		},
		/// An expired pool's unclaimed funds went back to its datanet's pot.
		PoolSwept { job: JobId, datanet: DatanetId, returned: BalanceOf<T> },
		/// Answer fees for the model `job` trained were shared: the serving worker and the
		/// owner were paid, the rest joined the job's fee pool of `period`.
		FeesPooled {
			job: JobId,
			period: Period,
			datanet: DatanetId,
			worker: T::AccountId,
			worker_paid: BalanceOf<T>,
			owner_paid: BalanceOf<T>,
			contributors: BalanceOf<T>,
			curators: BalanceOf<T>,
		},
		/// A leaf of a fee pool's table was paid.
		FeeRewardClaimed {
			job: JobId,
			period: Period,
			index: u32,
			account: T::AccountId,
			role: Role,
			amount: BalanceOf<T>,
		},
		/// An expired fee pool's unclaimed funds went back to its datanet's pot.
		FeePoolSwept { job: JobId, period: Period, datanet: DatanetId, returned: BalanceOf<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The datanet does not exist.
		UnknownDatanet,
		/// Only the datanet's owner may publish its split.
		NotDatanetOwner,
		/// The split's parts do not sum to exactly one million.
		SplitNotWhole,
		/// No open pool for this job.
		NoSuchPool,
		/// This job already has a pool.
		PoolExists,
		/// The leaf index is beyond the pool's table.
		BadIndex,
		/// The leaf and proof do not match the pool's root at that index.
		BadProof,
		/// A proof longer than `MaxProofLen`.
		ProofTooLong,
		/// This leaf was paid already.
		AlreadyClaimed,
		/// The pool's claim period is over (sweep it).
		PoolExpired,
		/// The pool still pays claims.
		PoolNotExpired,
		/// The table promises more than its role's part holds (a table whose parts per
		/// million sum above one million); the leaf is refused, nothing is paid.
		PartExhausted,
		/// A leaf with more than one million parts per million.
		BadPpm,
		/// The fee pool's period is not over: it still takes fees and pays no claims yet.
		PoolFilling,
	}

	/// The pallet's account starts with the existential deposit, so that it never has to be
	/// created by a payment or closed by one: every unit above that is owed to someone.
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		#[serde(skip)]
		pub _config: core::marker::PhantomData<T>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			let account = Pallet::<T>::account();
			let _ = T::Currency::mint_into(&account, T::Currency::minimum_balance());
		}
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
		/// Publishes `datanet`'s split (its owner only); it applies to pools opened from now on.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::set_split())]
		pub fn set_split(
			origin: OriginFor<T>,
			datanet: DatanetId,
			split: RewardSplit,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let owner = T::Datanets::owner(datanet).ok_or(Error::<T>::UnknownDatanet)?;
			ensure!(who == owner, Error::<T>::NotDatanetOwner);
			ensure!(split.is_whole(), Error::<T>::SplitNotWhole);
			Splits::<T>::insert(datanet, split);
			Self::deposit_event(Event::SplitSet { datanet, split });
			Ok(())
		}

		/// Pays leaf `index` of `job`'s table to the leaf's account. Anyone may submit it (the
		/// payment goes to the leaf's account whoever signs).
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::claim(proof.len() as u32))]
		pub fn claim(
			origin: OriginFor<T>,
			job: JobId,
			index: u32,
			leaf: LeafOf<T>,
			proof: BoundedVec<[u8; 32], T::MaxProofLen>,
		) -> DispatchResult {
			ensure_signed(origin)?;
			let (mut pool, amount) = Self::payable(job, index, &leaf, &proof)?;
			Self::pay_leaf(&mut pool, &leaf, amount)?;
			Claimed::<T>::insert(job, index, ());
			Pools::<T>::insert(job, pool);
			Self::deposit_event(Event::RewardClaimed {
				job,
				index,
				account: leaf.account,
				role: leaf.role,
				amount,
			});
			Ok(())
		}

		/// Closes `job`'s pool once its claim period is over: what is left goes to its datanet's
		/// pot (the next pool of that datanet takes it in). Anyone may call it.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::sweep())]
		pub fn sweep(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			ensure_signed(origin)?;
			let pool = Pools::<T>::get(job).ok_or(Error::<T>::NoSuchPool)?;
			let left = Self::return_to_pot(&pool)?;
			Pools::<T>::remove(job);
			let _ = Claimed::<T>::clear_prefix(job, pool.leaves, None);
			Self::deposit_event(Event::PoolSwept { job, datanet: pool.datanet, returned: left });
			Ok(())
		}

		/// Pays leaf `index` of the payout table of `job` from its fee pool of `period`, once
		/// that period is over. Anyone may submit it (the payment goes to the leaf's account).
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::claim(proof.len() as u32))]
		pub fn claim_fees(
			origin: OriginFor<T>,
			job: JobId,
			period: Period,
			index: u32,
			leaf: LeafOf<T>,
			proof: BoundedVec<[u8; 32], T::MaxProofLen>,
		) -> DispatchResult {
			ensure_signed(origin)?;
			let (mut pool, amount) = Self::fees_payable(job, period, index, &leaf, &proof)?;
			Self::pay_leaf(&mut pool, &leaf, amount)?;
			FeeClaimed::<T>::insert((job, period, index), ());
			FeePools::<T>::insert(job, period, pool);
			Self::deposit_event(Event::FeeRewardClaimed {
				job,
				period,
				index,
				account: leaf.account,
				role: leaf.role,
				amount,
			});
			Ok(())
		}

		/// Closes `job`'s fee pool of `period` once its claim period is over: what is left goes
		/// to its datanet's pot. Anyone may call it.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::sweep())]
		pub fn sweep_fees(origin: OriginFor<T>, job: JobId, period: Period) -> DispatchResult {
			ensure_signed(origin)?;
			let pool = FeePools::<T>::get(job, period).ok_or(Error::<T>::NoSuchPool)?;
			let left = Self::return_to_pot(&pool)?;
			FeePools::<T>::remove(job, period);
			let _ = FeeClaimed::<T>::clear_prefix((job, period), pool.leaves, None);
			Self::deposit_event(Event::FeePoolSwept {
				job,
				period,
				datanet: pool.datanet,
				returned: left,
			});
			Ok(())
		}
	}

	/// `⌊part × ppm / 10⁶⌋`, without overflow for any balance.
	pub fn share<B: sp_runtime::traits::AtLeast32BitUnsigned + Copy>(part: B, ppm: u32) -> B {
		let whole = B::from(PPM);
		let ppm = B::from(ppm.min(PPM));
		(part / whole) * ppm + (part % whole) * ppm / whole
	}

	impl<T: Config> Pallet<T> {
		/// What a claim of leaf `index` of `job`'s table would pay now, with the pool it pays
		/// from; or why it would be refused. The claim and the runtime API both use it.
		pub fn payable(
			job: JobId,
			index: u32,
			leaf: &LeafOf<T>,
			proof: &[[u8; 32]],
		) -> Result<(PoolOf<T>, BalanceOf<T>), Error<T>> {
			let pool = Pools::<T>::get(job).ok_or(Error::<T>::NoSuchPool)?;
			let claimed = Claimed::<T>::contains_key(job, index);
			Self::check_leaf(pool, claimed, index, leaf, proof)
		}

		/// What a claim of leaf `index` of `job`'s fee pool of `period` would pay now, with the
		/// pool; or why it would be refused.
		pub fn fees_payable(
			job: JobId,
			period: Period,
			index: u32,
			leaf: &LeafOf<T>,
			proof: &[[u8; 32]],
		) -> Result<(PoolOf<T>, BalanceOf<T>), Error<T>> {
			let pool = FeePools::<T>::get(job, period).ok_or(Error::<T>::NoSuchPool)?;
			ensure!(Self::period_now() > period, Error::<T>::PoolFilling);
			let claimed = FeeClaimed::<T>::contains_key((job, period, index));
			Self::check_leaf(pool, claimed, index, leaf, proof)
		}

		/// The checks every claim makes of its pool, leaf and proof; the amount it pays.
		fn check_leaf(
			pool: PoolOf<T>,
			claimed: bool,
			index: u32,
			leaf: &LeafOf<T>,
			proof: &[[u8; 32]],
		) -> Result<(PoolOf<T>, BalanceOf<T>), Error<T>> {
			ensure!(
				frame_system::Pallet::<T>::block_number() < pool.expires_at,
				Error::<T>::PoolExpired
			);
			ensure!(index < pool.leaves, Error::<T>::BadIndex);
			ensure!(!claimed, Error::<T>::AlreadyClaimed);
			ensure!(leaf.ppm <= PPM, Error::<T>::BadPpm);
			ensure!(proof.len() as u32 <= T::MaxProofLen::get(), Error::<T>::ProofTooLong);
			ensure!(
				merkle::verify(&pool.root, pool.leaves, index, leaf, proof),
				Error::<T>::BadProof
			);
			let (part, paid) = match leaf.role {
				Role::Contributor => (pool.contributors, pool.contributors_paid),
				Role::Curator => (pool.curators, pool.curators_paid),
			};
			let amount = share(part, leaf.ppm);
			ensure!(paid.saturating_add(amount) <= part, Error::<T>::PartExhausted);
			Ok((pool, amount))
		}

		/// [`Self::payable`]'s amount, or the refusal, as the runtime API reports it.
		pub fn claimable(
			job: JobId,
			index: u32,
			leaf: LeafOf<T>,
			proof: alloc::vec::Vec<[u8; 32]>,
		) -> Result<BalanceOf<T>, ClaimRefusal> {
			Self::refusal(Self::payable(job, index, &leaf, &proof))
		}

		/// [`Self::fees_payable`]'s amount, or the refusal, as the runtime API reports it.
		pub fn claimable_fees(
			job: JobId,
			period: Period,
			index: u32,
			leaf: LeafOf<T>,
			proof: alloc::vec::Vec<[u8; 32]>,
		) -> Result<BalanceOf<T>, ClaimRefusal> {
			Self::refusal(Self::fees_payable(job, period, index, &leaf, &proof))
		}

		fn refusal(
			payable: Result<(PoolOf<T>, BalanceOf<T>), Error<T>>,
		) -> Result<BalanceOf<T>, ClaimRefusal> {
			payable.map(|(_, amount)| amount).map_err(|e| match e {
				Error::<T>::NoSuchPool => ClaimRefusal::NoSuchPool,
				Error::<T>::PoolExpired => ClaimRefusal::PoolExpired,
				Error::<T>::BadIndex => ClaimRefusal::BadIndex,
				Error::<T>::AlreadyClaimed => ClaimRefusal::AlreadyClaimed,
				Error::<T>::BadPpm => ClaimRefusal::BadPpm,
				Error::<T>::ProofTooLong => ClaimRefusal::ProofTooLong,
				Error::<T>::PartExhausted => ClaimRefusal::PartExhausted,
				Error::<T>::PoolFilling => ClaimRefusal::PoolFilling,
				_ => ClaimRefusal::BadProof,
			})
		}

		/// Adds `amount` to what `leaf`'s role was paid from `pool`, and pays it.
		fn pay_leaf(
			pool: &mut PoolOf<T>,
			leaf: &LeafOf<T>,
			amount: BalanceOf<T>,
		) -> DispatchResult {
			match leaf.role {
				Role::Contributor => pool.contributors_paid.saturating_accrue(amount),
				Role::Curator => pool.curators_paid.saturating_accrue(amount),
			}
			if !amount.is_zero() {
				T::Currency::transfer(
					&Self::account(),
					&leaf.account,
					amount,
					Preservation::Expendable,
				)?;
			}
			Ok(())
		}

		/// Once `pool`'s claim period is over, adds what it has not paid out to its datanet's
		/// pot; returns that amount. (The caller removes the pool and its claim records.)
		fn return_to_pot(pool: &PoolOf<T>) -> Result<BalanceOf<T>, Error<T>> {
			ensure!(
				frame_system::Pallet::<T>::block_number() >= pool.expires_at,
				Error::<T>::PoolNotExpired
			);
			let left = Self::unpaid(pool);
			Pots::<T>::mutate(pool.datanet, |pot| *pot = pot.saturating_add(left));
			Ok(left)
		}

		/// What `pool` has not paid out.
		fn unpaid(pool: &PoolOf<T>) -> BalanceOf<T> {
			pool.contributors
				.saturating_sub(pool.contributors_paid)
				.saturating_add(pool.curators.saturating_sub(pool.curators_paid))
		}

		/// The fee period block `now` falls in.
		pub fn period_now() -> Period {
			let now = frame_system::Pallet::<T>::block_number();
			let period = now / T::FeePeriod::get().max(One::one());
			period.unique_saturated_into()
		}

		/// The first block after `period`: its fee pools pay claims from then.
		pub fn period_end(period: Period) -> BlockNumberFor<T> {
			let next: BlockNumberFor<T> = period.saturating_add(1).into();
			next.saturating_mul(T::FeePeriod::get().max(One::one()))
		}

		/// The account open pools are held in.
		pub fn account() -> T::AccountId {
			T::PalletId::get().into_account_truncating()
		}

		/// The split that applies to `datanet` now.
		pub fn split_of(datanet: DatanetId) -> RewardSplit {
			Splits::<T>::get(datanet).unwrap_or_else(T::DefaultSplit::get)
		}

		/// Checks conservation: the pallet's account holds exactly the existential deposit, what
		/// open pools owe and what the pots hold.
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let mut owed: BalanceOf<T> = T::Currency::minimum_balance();
			for (_, pot) in Pots::<T>::iter() {
				owed = owed.saturating_add(pot);
			}
			let fee_pools = FeePools::<T>::iter().map(|(_, _, p)| p);
			for p in Pools::<T>::iter().map(|(_, p)| p).chain(fee_pools) {
				ensure!(p.contributors_paid <= p.contributors, "contributors overpaid");
				ensure!(p.curators_paid <= p.curators, "curators overpaid");
				owed = owed.saturating_add(Self::unpaid(&p));
			}
			ensure!(
				T::Currency::balance(&Self::account()) == owed,
				"the pallet's account differs from what pools and pots owe"
			);
			for ((job, period, index), ()) in FeeClaimed::<T>::iter() {
				let p = FeePools::<T>::get(job, period).ok_or("a fee claim without its pool")?;
				ensure!(index < p.leaves, "a fee claim beyond its table");
			}
			for (job, index, ()) in Claimed::<T>::iter() {
				let p = Pools::<T>::get(job).ok_or("a claim record without its pool")?;
				ensure!(index < p.leaves, "a claim record beyond its table");
			}
			Ok(())
		}
	}

	impl<T: Config> RewardPools<T::AccountId, BalanceOf<T>> for Pallet<T> {
		fn open(
			job: JobId,
			datanet: DatanetId,
			from: &T::AccountId,
			amount: BalanceOf<T>,
			worker: &T::AccountId,
			root: [u8; 32],
			leaves: u32,
		) -> DispatchResult {
			// All or nothing: called from a hook, where nothing else rolls a half-done payment back.
			frame_support::storage::with_storage_layer(|| {
				Self::open_pool(job, datanet, from, amount, worker, root, leaves)
			})
		}

		fn fund_pot(
			datanet: DatanetId,
			from: &T::AccountId,
			amount: BalanceOf<T>,
		) -> DispatchResult {
			frame_support::storage::with_storage_layer(|| Self::pay_into_pot(datanet, from, amount))
		}

		fn pay_fees(
			job: JobId,
			datanet: DatanetId,
			from: &T::AccountId,
			amount: BalanceOf<T>,
			worker: &T::AccountId,
			root: [u8; 32],
			leaves: u32,
		) -> Result<Period, DispatchError> {
			frame_support::storage::with_storage_layer(|| {
				Self::pool_fees(job, datanet, from, amount, worker, root, leaves)
			})
		}

		fn fee_period() -> Period {
			Self::period_now()
		}

		fn worker_part(datanet: DatanetId) -> sp_runtime::Permill {
			sp_runtime::Permill::from_parts(Self::split_of(datanet).worker)
		}
	}

	impl<T: Config> Pallet<T> {
		fn pay_into_pot(
			datanet: DatanetId,
			from: &T::AccountId,
			amount: BalanceOf<T>,
		) -> DispatchResult {
			ensure!(T::Datanets::owner(datanet).is_some(), Error::<T>::UnknownDatanet);
			if !amount.is_zero() {
				T::Currency::transfer(from, &Self::account(), amount, Preservation::Expendable)?;
			}
			Pots::<T>::mutate(datanet, |pot| *pot = pot.saturating_add(amount));
			Ok(())
		}

		/// `amount` by `datanet`'s split, paid from `from`: the worker's and the owner's parts
		/// to them, the contributors' part (which takes the rounding dust) and the curators' into
		/// the pallet's account. Returns (worker's, owner's, contributors', curators') parts.
		fn share_out(
			datanet: DatanetId,
			from: &T::AccountId,
			amount: BalanceOf<T>,
			worker: &T::AccountId,
		) -> Result<[BalanceOf<T>; 4], DispatchError> {
			let owner = T::Datanets::owner(datanet).ok_or(Error::<T>::UnknownDatanet)?;
			let split = Self::split_of(datanet);
			let worker_paid = share(amount, split.worker);
			let owner_paid = share(amount, split.owner);
			let curators = share(amount, split.curators);
			let contributors = amount
				.saturating_sub(worker_paid)
				.saturating_sub(owner_paid)
				.saturating_sub(curators);
			let expendable = Preservation::Expendable;
			if !worker_paid.is_zero() {
				T::Currency::transfer(from, worker, worker_paid, expendable)?;
			}
			if !owner_paid.is_zero() {
				T::Currency::transfer(from, &owner, owner_paid, expendable)?;
			}
			let pooled = contributors.saturating_add(curators);
			if !pooled.is_zero() {
				T::Currency::transfer(from, &Self::account(), pooled, expendable)?;
			}
			Ok([worker_paid, owner_paid, contributors, curators])
		}

		fn pool_fees(
			job: JobId,
			datanet: DatanetId,
			from: &T::AccountId,
			amount: BalanceOf<T>,
			worker: &T::AccountId,
			root: [u8; 32],
			leaves: u32,
		) -> Result<Period, DispatchError> {
			let [worker_paid, owner_paid, contributors, curators] =
				Self::share_out(datanet, from, amount, worker)?;
			let period = Self::period_now();
			let expires_at = Self::period_end(period).saturating_add(T::ClaimPeriod::get());
			FeePools::<T>::mutate(job, period, |pool| {
				let pool = pool.get_or_insert_with(|| Pool {
					datanet,
					contributors: Zero::zero(),
					contributors_paid: Zero::zero(),
					curators: Zero::zero(),
					curators_paid: Zero::zero(),
					root,
					leaves,
					expires_at,
				});
				pool.contributors.saturating_accrue(contributors);
				pool.curators.saturating_accrue(curators);
			});
			Self::deposit_event(Event::FeesPooled {
				job,
				period,
				datanet,
				worker: worker.clone(),
				worker_paid,
				owner_paid,
				contributors,
				curators,
			});
			Ok(period)
		}

		fn open_pool(
			job: JobId,
			datanet: DatanetId,
			from: &T::AccountId,
			amount: BalanceOf<T>,
			worker: &T::AccountId,
			root: [u8; 32],
			leaves: u32,
		) -> DispatchResult {
			ensure!(!Pools::<T>::contains_key(job), Error::<T>::PoolExists);
			let [worker_paid, owner_paid, mut contributors, curators] =
				Self::share_out(datanet, from, amount, worker)?;
			// What expired pools of this datanet left in its pot joins the contributors' part.
			contributors = contributors.saturating_add(Pots::<T>::take(datanet));
			let expires_at =
				frame_system::Pallet::<T>::block_number().saturating_add(T::ClaimPeriod::get());
			Pools::<T>::insert(
				job,
				Pool {
					datanet,
					contributors,
					contributors_paid: Zero::zero(),
					curators,
					curators_paid: Zero::zero(),
					root,
					leaves,
					expires_at,
				},
			);
			Self::deposit_event(Event::PoolOpened {
				job,
				datanet,
				worker: worker.clone(),
				worker_paid,
				owner_paid,
				contributors,
				curators,
				root,
				leaves,
				expires_at,
			});
			Ok(())
		}
	}
}

sp_api::decl_runtime_apis! {
	/// Rewards queries for wallets, CLIs and UIs.
	pub trait RewardsApi<AccountId, Balance> where AccountId: codec::Codec, Balance: codec::Codec {
		/// What claiming leaf `index` of `job`'s payout table (with its Merkle proof) would pay
		/// now, or why the claim would be refused: the same checks as `claim`, nothing changed.
		fn claimable(
			job: JobId,
			index: u32,
			leaf: Leaf<AccountId>,
			proof: alloc::vec::Vec<[u8; 32]>,
		) -> Result<Balance, ClaimRefusal>;
		/// The same for leaf `index` of `job`'s fee pool of `period`.
		fn claimable_fees(
			job: JobId,
			period: Period,
			index: u32,
			leaf: Leaf<AccountId>,
			proof: alloc::vec::Vec<[u8; 32]>,
		) -> Result<Balance, ClaimRefusal>;
	}
}
