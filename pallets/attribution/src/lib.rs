//! # Attribution pallet: spot checks of payout tables
//!
//! A worker's result commits to a payout table (the jobs pallet's `AttributionCommitment`: a
//! Merkle root of the rewards pallet's leaves). Before the result is final, bonded workers other
//! than its author check it:
//!
//! 1. **Commit** (until `commit_end`): a verifier commits `BLAKE2-256(secret ‖ account)`; up to
//!    `MaxVerifiers` per check. Its worker bond is its stake.
//! 2. **Reveal** (until `reveal_end`): each reveals its secret, hashed into the check's seed. The
//!    worker could not know the seed when it committed its table, nor can any one verifier choose
//!    it: the last to reveal can only withhold its secret (one bit of choice), and pays
//!    `NoShowPenalty` for it. Aura has no VRF; docs/attribution.md bounds this bias.
//! 3. **Vote** (until `vote_end`): from the seed, [`sampling::spot_checks`] picks
//!    `min(Checks, entries)` of the table's contributor leaves. Each verifier that revealed re-runs
//!    the job (deterministic on CPU) and either agrees, or disputes one sampled entry, naming the
//!    committed leaf with its proof (checked here against the root) and the share it recomputes.
//! 4. **Conclusion** (at `vote_end`): more disputes than agreements void the result (the jobs
//!    pallet reopens the job), slash the worker `FraudPenalty` (`ChallengerShare` of it to the
//!    disputers, the rest burned) and those who agreed `WrongVotePenalty`; otherwise disputers pay
//!    `WrongVotePenalty`. A verifier that committed and never revealed, or revealed and never
//!    voted, pays `NoShowPenalty`. No votes: the result stands unchecked.
//!
//! The jobs pallet opens a check at every submission ([`ResultChecks::open`]) and makes results
//! final no sooner than [`ResultChecks::period`] after; voiding goes back through
//! [`VoidResult`]. Bonds and slashing are the workers pallet's (`WorkerRegistry`).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

pub mod sampling;
pub mod types;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use types::*;

use pallet_workers::WorkerRegistry;

/// What the jobs pallet calls: a result was submitted.
pub trait ResultChecks<AccountId, BlockNumber> {
	/// Opens the check of `job`'s result by `worker`: a table of `leaves` leaves under `root`, the
	/// first `entries` of them the contributors'.
	fn open(
		job: JobId,
		worker: &AccountId,
		root: [u8; 32],
		leaves: u32,
		entries: u32,
	) -> frame_support::dispatch::DispatchResult;
	/// Blocks from a result's submission to its check's conclusion; finality must not come sooner.
	fn period() -> BlockNumber;
}

/// No checks: results stand as submitted.
impl<AccountId, BlockNumber: Default> ResultChecks<AccountId, BlockNumber> for () {
	fn open(
		_: JobId,
		_: &AccountId,
		_: [u8; 32],
		_: u32,
		_: u32,
	) -> frame_support::dispatch::DispatchResult {
		Ok(())
	}
	fn period() -> BlockNumber {
		BlockNumber::default()
	}
}

/// What this pallet calls on the jobs pallet when a check voids a result.
pub trait VoidResult {
	/// Voids `job`'s submitted result: the job opens again for any worker. False if the job has
	/// no submitted result (nothing done).
	fn void(job: JobId) -> bool;
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use codec::Encode;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use sp_runtime::{traits::Saturating, Perbill};

	pub type CheckOf<T> = Check<
		<T as frame_system::Config>::AccountId,
		BlockNumberFor<T>,
		<T as Config>::MaxVerifiers,
	>;
	pub type BalanceOf<T> = <T as Config>::Balance;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency of workers' bonds.
		type Balance: Parameter + Member + MaxEncodedLen + Copy + Default;
		/// Workers' bonds.
		type Workers: WorkerRegistry<Self::AccountId, Balance = Self::Balance>;
		/// The jobs pallet, to void results.
		type Results: VoidResult;
		/// Blocks verifiers may commit, from the submission.
		#[pallet::constant]
		type CommitPeriod: Get<BlockNumberFor<Self>>;
		/// Blocks verifiers may reveal, after the commits.
		#[pallet::constant]
		type RevealPeriod: Get<BlockNumberFor<Self>>;
		/// Blocks verifiers may vote, after the reveals: a re-run of the job must fit.
		#[pallet::constant]
		type VotePeriod: Get<BlockNumberFor<Self>>;
		/// Most verifiers per check.
		#[pallet::constant]
		type MaxVerifiers: Get<u32>;
		/// Entries sampled per check (fewer when the table has fewer).
		#[pallet::constant]
		type Checks: Get<u32>;
		/// Most hashes in a dispute's proof.
		#[pallet::constant]
		type MaxProofLen: Get<u32>;
		/// Most checks concluding in one block.
		#[pallet::constant]
		type MaxPerBlock: Get<u32>;
		/// Taken from a worker whose result is voided.
		#[pallet::constant]
		type FraudPenalty: Get<BalanceOf<Self>>;
		/// The part of `FraudPenalty` paid to the disputers (the rest is burned).
		#[pallet::constant]
		type ChallengerShare: Get<Perbill>;
		/// Taken from a verifier on the losing side.
		#[pallet::constant]
		type WrongVotePenalty: Get<BalanceOf<Self>>;
		/// Taken from a verifier that committed and did not reveal, or revealed and did not vote.
		#[pallet::constant]
		type NoShowPenalty: Get<BalanceOf<Self>>;
	}

	/// Open checks by job.
	#[pallet::storage]
	pub type Checks<T: Config> = StorageMap<_, Twox64Concat, JobId, CheckOf<T>>;

	/// Checks concluding at the start of each block.
	#[pallet::storage]
	pub type Concluding<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<JobId, T::MaxPerBlock>,
		ValueQuery,
	>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A result's check opened: commits until `commit_end`, reveals until `reveal_end`, votes
		/// until `vote_end`.
		CheckOpened {
			job: JobId,
			worker: T::AccountId,
			commit_end: BlockNumberFor<T>,
			reveal_end: BlockNumberFor<T>,
			vote_end: BlockNumberFor<T>,
		},
		/// A verifier committed to a secret.
		VerifierCommitted { job: JobId, verifier: T::AccountId },
		/// A verifier revealed its secret; `seed` is the check's seed so far.
		SecretRevealed { job: JobId, verifier: T::AccountId, seed: [u8; 32] },
		/// A verifier agreed with every sampled entry.
		Agreed { job: JobId, verifier: T::AccountId },
		/// A verifier could not get the committed table.
		Unavailable { job: JobId, verifier: T::AccountId },
		/// A verifier disputed the sampled entry at `index`.
		Disputed { job: JobId, verifier: T::AccountId, index: u32, committed: u32, recomputed: u32 },
		/// A check concluded.
		CheckConcluded { job: JobId, outcome: Outcome, agreed: u32, disputed: u32 },
		/// `who` lost `amount` of its bond in `job`'s check.
		Slashed { job: JobId, who: T::AccountId, amount: BalanceOf<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No open check for this job.
		NoCheck,
		/// The job's check is already open.
		CheckExists,
		/// Only active workers verify.
		NotActiveWorker,
		/// A worker does not verify its own result.
		OwnResult,
		/// Not in this phase of the check.
		WrongPhase,
		/// Already committed to this check.
		AlreadyCommitted,
		/// The check has its `MaxVerifiers`.
		TooManyVerifiers,
		/// The caller is not a verifier of this check, or not at this step.
		NotVerifier,
		/// The secret does not match the commitment.
		BadReveal,
		/// The index is not one the seed sampled.
		NotSampled,
		/// The leaf and proof do not match the committed root at that index, or the leaf is not
		/// a contributor's.
		BadProof,
		/// A dispute that recomputes the committed leaf is no dispute.
		NoDifference,
		/// Every block bucket in reach is full.
		ScheduleFull,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let due = Concluding::<T>::take(now);
			for &job in due.iter() {
				Self::conclude(job);
			}
			// Per check: the check, every verifier's slash and the void (estimates; see weights
			// in docs/attribution.md).
			let per = T::DbWeight::get()
				.reads_writes(4, 4)
				.saturating_mul(1u64.saturating_add(T::MaxVerifiers::get().into()));
			T::DbWeight::get()
				.reads_writes(1, 1)
				.saturating_add(per.saturating_mul(due.len() as u64))
		}

		fn integrity_test() {
			assert!(T::MaxVerifiers::get() > 0, "MaxVerifiers must be positive");
			assert!(T::MaxPerBlock::get() > 0, "MaxPerBlock must be positive");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Offer to verify `job`'s result, committing to `BLAKE2-256(secret ‖ account)` (the
		/// account's SCALE encoding). Active workers other than the result's author, before
		/// `commit_end`.
		#[pallet::call_index(0)]
		#[pallet::weight(T::DbWeight::get().reads_writes(2, 1).saturating_add(Weight::from_parts(20_000_000, 2_000)))]
		pub fn commit(origin: OriginFor<T>, job: JobId, commitment: [u8; 32]) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(T::Workers::active_capabilities(&who).is_some(), Error::<T>::NotActiveWorker);
			Checks::<T>::try_mutate(job, |c| {
				let c = c.as_mut().ok_or(Error::<T>::NoCheck)?;
				ensure!(c.worker != who, Error::<T>::OwnResult);
				ensure!(Self::now() < c.commit_end, Error::<T>::WrongPhase);
				ensure!(
					!c.verifiers.iter().any(|v| v.account == who),
					Error::<T>::AlreadyCommitted
				);
				c.verifiers
					.try_push(Verifier {
						account: who.clone(),
						commitment,
						stand: Stand::Committed,
					})
					.map_err(|_| Error::<T>::TooManyVerifiers)?;
				Ok::<_, DispatchError>(())
			})?;
			Self::deposit_event(Event::VerifierCommitted { job, verifier: who });
			Ok(())
		}

		/// Reveal the secret committed to; it is hashed into the check's seed. Between
		/// `commit_end` and `reveal_end`.
		#[pallet::call_index(1)]
		#[pallet::weight(T::DbWeight::get().reads_writes(1, 1).saturating_add(Weight::from_parts(20_000_000, 2_000)))]
		pub fn reveal(origin: OriginFor<T>, job: JobId, secret: [u8; 32]) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let seed = Checks::<T>::try_mutate(job, |c| {
				let c = c.as_mut().ok_or(Error::<T>::NoCheck)?;
				let now = Self::now();
				ensure!(c.commit_end <= now && now < c.reveal_end, Error::<T>::WrongPhase);
				let v = c
					.verifiers
					.iter_mut()
					.find(|v| v.account == who && v.stand == Stand::Committed)
					.ok_or(Error::<T>::NotVerifier)?;
				ensure!(v.commitment == commitment_of(&secret, &who), Error::<T>::BadReveal);
				v.stand = Stand::Revealed;
				c.seed = sp_io::hashing::blake2_256(&(c.seed, secret).encode());
				Ok::<_, DispatchError>(c.seed)
			})?;
			Self::deposit_event(Event::SecretRevealed { job, verifier: who, seed });
			Ok(())
		}

		/// Every sampled entry recomputes as committed. A verifier that revealed, between
		/// `reveal_end` and `vote_end`.
		#[pallet::call_index(2)]
		#[pallet::weight(T::DbWeight::get().reads_writes(1, 1).saturating_add(Weight::from_parts(20_000_000, 2_000)))]
		pub fn agree(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::cast(job, &who, Stand::Agreed)?;
			Self::deposit_event(Event::Agreed { job, verifier: who });
			Ok(())
		}

		/// The sampled entry at `index` does not recompute as committed: `leaf` with `proof` is the
		/// committed contributor leaf there (checked against the root), `recomputed` the leaf the
		/// verifier's re-run gives (another share, or another account or contribution). A verifier that revealed, between `reveal_end` and `vote_end`.
		#[pallet::call_index(3)]
		#[pallet::weight(T::DbWeight::get().reads_writes(1, 1).saturating_add(Weight::from_parts(
			20_000_000u64.saturating_add(2_000_000u64.saturating_mul(u64::from(T::Checks::get()) + u64::from(T::MaxProofLen::get()))),
			4_000,
		)))]
		pub fn dispute(
			origin: OriginFor<T>,
			job: JobId,
			index: u32,
			leaf: pallet_rewards::Leaf<T::AccountId>,
			proof: BoundedVec<[u8; 32], T::MaxProofLen>,
			recomputed: pallet_rewards::Leaf<T::AccountId>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let c = Checks::<T>::get(job).ok_or(Error::<T>::NoCheck)?;
			ensure!(Self::sample(&c).contains(&index), Error::<T>::NotSampled);
			ensure!(
				leaf.role == pallet_rewards::Role::Contributor
					&& pallet_rewards::merkle::verify(&c.root, c.leaves, index, &leaf, &proof),
				Error::<T>::BadProof
			);
			ensure!(leaf != recomputed, Error::<T>::NoDifference);
			let (committed, recomputed) = (leaf.ppm, recomputed.ppm);
			Self::cast(job, &who, Stand::Disputed { index, committed, recomputed })?;
			Self::deposit_event(Event::Disputed {
				job,
				verifier: who,
				index,
				committed,
				recomputed,
			});
			Ok(())
		}

		/// The committed table could not be had: not served by anyone within the verifier's
		/// patience, or not the table committed (its leaves give another root). Counted as a
		/// dispute. A verifier that revealed, between `reveal_end` and `vote_end`.
		#[pallet::call_index(4)]
		#[pallet::weight(T::DbWeight::get().reads_writes(1, 1).saturating_add(Weight::from_parts(20_000_000, 2_000)))]
		pub fn unavailable(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::cast(job, &who, Stand::Unavailable)?;
			Self::deposit_event(Event::Unavailable { job, verifier: who });
			Ok(())
		}
	}

	/// A verifier's commitment to `secret`: `BLAKE2-256(secret ‖ account)`.
	pub fn commitment_of<A: Encode>(secret: &[u8; 32], account: &A) -> [u8; 32] {
		sp_io::hashing::blake2_256(&(secret, account).encode())
	}

	impl<T: Config> Pallet<T> {
		fn now() -> BlockNumberFor<T> {
			frame_system::Pallet::<T>::block_number()
		}

		/// The entries a check samples, from its seed (final once the reveals are over).
		pub fn sample(c: &CheckOf<T>) -> alloc::vec::Vec<u32> {
			sampling::spot_checks(&c.seed, c.entries, T::Checks::get())
		}

		/// Records a revealed verifier's vote during the vote phase.
		fn cast(job: JobId, who: &T::AccountId, stand: Stand) -> DispatchResult {
			Checks::<T>::try_mutate(job, |c| {
				let c = c.as_mut().ok_or(Error::<T>::NoCheck)?;
				let now = Self::now();
				ensure!(c.reveal_end <= now && now < c.vote_end, Error::<T>::WrongPhase);
				let v = c
					.verifiers
					.iter_mut()
					.find(|v| &v.account == who && v.stand == Stand::Revealed)
					.ok_or(Error::<T>::NotVerifier)?;
				v.stand = stand;
				Ok(())
			})
		}

		fn slash(
			job: JobId,
			who: &T::AccountId,
			amount: BalanceOf<T>,
			to: &[T::AccountId],
			paid: Perbill,
		) {
			let amount = T::Workers::slash_paying(who, amount, to, paid);
			Self::deposit_event(Event::Slashed { job, who: who.clone(), amount });
		}

		/// The vote is over: count, void or uphold, and slash.
		fn conclude(job: JobId) {
			let Some(c) = Checks::<T>::take(job) else { return };
			let votes = |f: fn(&Stand) -> bool| -> alloc::vec::Vec<T::AccountId> {
				c.verifiers.iter().filter(|v| f(&v.stand)).map(|v| v.account.clone()).collect()
			};
			let agreed = votes(|s| *s == Stand::Agreed);
			let disputed = votes(|s| matches!(s, Stand::Disputed { .. } | Stand::Unavailable));
			let absent = votes(|s| matches!(s, Stand::Committed | Stand::Revealed));
			for who in &absent {
				Self::slash(job, who, T::NoShowPenalty::get(), &[], Perbill::zero());
			}
			let outcome = if agreed.is_empty() && disputed.is_empty() {
				Outcome::Unchecked
			} else if disputed.len() > agreed.len() {
				T::Results::void(job);
				Self::slash(
					job,
					&c.worker,
					T::FraudPenalty::get(),
					&disputed,
					T::ChallengerShare::get(),
				);
				for who in &agreed {
					Self::slash(job, who, T::WrongVotePenalty::get(), &[], Perbill::zero());
				}
				Outcome::Voided
			} else {
				for who in &disputed {
					Self::slash(job, who, T::WrongVotePenalty::get(), &[], Perbill::zero());
				}
				Outcome::Upheld
			};
			Self::deposit_event(Event::CheckConcluded {
				job,
				outcome,
				agreed: agreed.len() as u32,
				disputed: disputed.len() as u32,
			});
		}

		/// Puts `job` in the first conclusion bucket with room at or after `at`.
		fn schedule(job: JobId, at: BlockNumberFor<T>) -> Result<BlockNumberFor<T>, DispatchError> {
			let mut block = at;
			for _ in 0..T::MaxPerBlock::get() {
				if Concluding::<T>::mutate(block, |b| b.try_push(job).is_ok()) {
					return Ok(block);
				}
				block = block.saturating_add(1u32.into());
			}
			Err(Error::<T>::ScheduleFull.into())
		}

		/// Every open check waits in the bucket of its `vote_end`, and every bucket entry is an
		/// open check concluding then.
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			for (job, c) in Checks::<T>::iter() {
				ensure!(
					c.commit_end <= c.reveal_end && c.reveal_end <= c.vote_end,
					"phases out of order"
				);
				ensure!(
					Concluding::<T>::get(c.vote_end).contains(&job),
					"check missing from its bucket"
				);
				ensure!(c.entries <= c.leaves, "more entries than leaves");
			}
			for (block, bucket) in Concluding::<T>::iter() {
				for job in bucket {
					let ok = Checks::<T>::get(job).is_some_and(|c| c.vote_end == block);
					ensure!(ok, "bucket entry of no check concluding then");
				}
			}
			Ok(())
		}
	}

	impl<T: Config> ResultChecks<T::AccountId, BlockNumberFor<T>> for Pallet<T> {
		fn open(
			job: JobId,
			worker: &T::AccountId,
			root: [u8; 32],
			leaves: u32,
			entries: u32,
		) -> DispatchResult {
			ensure!(!Checks::<T>::contains_key(job), Error::<T>::CheckExists);
			let now = Self::now();
			let commit_end = now.saturating_add(T::CommitPeriod::get());
			let reveal_end = commit_end.saturating_add(T::RevealPeriod::get());
			let vote_end = Self::schedule(job, reveal_end.saturating_add(T::VotePeriod::get()))?;
			let seed = sp_io::hashing::blake2_256(&(b"tributary/checks", job, root).encode());
			Checks::<T>::insert(
				job,
				Check {
					worker: worker.clone(),
					root,
					leaves,
					entries: entries.min(leaves),
					commit_end,
					reveal_end,
					vote_end,
					seed,
					verifiers: BoundedVec::new(),
				},
			);
			Self::deposit_event(Event::CheckOpened {
				job,
				worker: worker.clone(),
				commit_end,
				reveal_end,
				vote_end,
			});
			Ok(())
		}

		fn period() -> BlockNumberFor<T> {
			// The vote may spill `MaxPerBlock` blocks when buckets are full.
			T::CommitPeriod::get()
				.saturating_add(T::RevealPeriod::get())
				.saturating_add(T::VotePeriod::get())
				.saturating_add(T::MaxPerBlock::get().into())
		}
	}
}
