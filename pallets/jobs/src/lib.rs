//! # Jobs pallet
//!
//! Training jobs on chain. A model builder opens a job naming a published text datanet version, a
//! base model (and optionally a trained parent model of that base), a training configuration and a
//! budget, which is held from them in escrow. A registered, bonded worker able to run the base
//! claims it under a lease of `LeasePeriod` blocks and renews the lease with heartbeats that carry
//! its progress, up to `MaxClaimBlocks` from the claim. A lease that lapses burns `LapsePenalty` of
//! the worker's bond (nobody gains from a lapse, so nobody is paid to cause one) and the job opens
//! again for any worker. The worker submits the adapter's hash and size, metrics and its
//! [`AttributionCommitment`] (the root of the payout table); after `ChallengeWindow` blocks the
//! result is final: the trained model is registered with its lineage and the whole escrow is paid
//! through the rewards pallet ([`RewardPools::open`]): the worker's and the owner's parts at once,
//! the contributors' and curators' parts into a pool claimed against the committed table.
//!
//! Leases and finality are found without scanning: jobs sit in per-block buckets (`LeaseExpiries`,
//! `Finalizing`) of at most `MaxPerBlock` entries that `on_initialize` takes. A full bucket pushes the
//! entry to the next block with room (a lease or window a block longer), within `MaxPerBlock`
//! blocks.
//!
//! Other pallets are reached through traits only: datanets' [`DatasetRead`], workers'
//! [`WorkerRegistry`], models' [`ModelRegistry`] and rewards' [`RewardPools`].

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

pub mod migrations;
pub mod types;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use types::*;
pub use weights::WeightInfo;

pub use pallet_attribution::{ResultChecks, VoidResult};
use pallet_datanets::{DatasetRead, Modality};
pub use pallet_rewards::RewardPools;

use pallet_models::{
	BaseModelId, Lineage, ModelId, ModelRegistry, TrainedModel, TrainingConfig, TrainingLength,
};
use pallet_workers::WorkerRegistry;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, InspectHold, Mutate, MutateHold},
			tokens::{Precision, Preservation},
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::{
		traits::{CheckedAdd, One, Saturating, Zero},
		Perbill, Permill,
	};

	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	pub type JobOf<T> =
		Job<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
	pub type BucketOf<T> = BoundedVec<JobId, <T as Config>::MaxPerBlock>;

	pub(crate) const STORAGE_VERSION: StorageVersion = StorageVersion::new(2);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency budgets are held in.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;
		/// Published dataset versions.
		type Datasets: DatasetRead<Self::AccountId>;
		/// Bonded workers.
		type Workers: WorkerRegistry<Self::AccountId, Balance = BalanceOf<Self>>;
		/// Base and trained models.
		type Models: ModelRegistry<Self::AccountId, BlockNumberFor<Self>>;
		/// Where a final job's escrow is paid.
		type Rewards: RewardPools<Self::AccountId, BalanceOf<Self>>;
		/// The spot checks every result's payout table goes through before it is final.
		type Checks: ResultChecks<Self::AccountId, BlockNumberFor<Self>>;
		/// The least budget a job holds.
		#[pallet::constant]
		type MinBudget: Get<BalanceOf<Self>>;
		/// Blocks a claim or heartbeat keeps the lease alive.
		#[pallet::constant]
		type LeasePeriod: Get<BlockNumberFor<Self>>;
		/// The longest a single claim may last, heartbeats included.
		#[pallet::constant]
		type MaxClaimBlocks: Get<BlockNumberFor<Self>>;
		/// Blocks between a result and its finality, at least (never before its check concludes:
		/// `Checks::period()`).
		#[pallet::constant]
		type ChallengeWindow: Get<BlockNumberFor<Self>>;
		/// Burned from a worker's bond when its lease lapses.
		#[pallet::constant]
		type LapsePenalty: Get<BalanceOf<Self>>;
		/// Most lease expiries, and most finalizations, in one block.
		#[pallet::constant]
		type MaxPerBlock: Get<u32>;
		/// Largest LoRA rank.
		#[pallet::constant]
		type MaxRank: Get<u16>;
		/// Longest training sequence, in tokens.
		#[pallet::constant]
		type MaxSeqLen: Get<u32>;
		/// Most optimizer steps (or epochs) a job may ask for.
		#[pallet::constant]
		type MaxSteps: Get<u32>;
		/// How payout tables of jobs opened from now on are computed (a job keeps the method it
		/// was opened with across runtime upgrades).
		type AttributionMethod: Get<AttributionMethod>;
		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
	}

	/// Reasons this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A job's escrowed budget.
		JobEscrow,
	}

	/// The id the next job gets.
	#[pallet::storage]
	pub type NextJobId<T> = StorageValue<_, JobId, ValueQuery>;

	/// Jobs by id.
	#[pallet::storage]
	pub type JobInfo<T: Config> = StorageMap<_, Twox64Concat, JobId, JobOf<T>>;

	/// The job each worker holds (one at a time).
	#[pallet::storage]
	pub type ClaimedBy<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, JobId>;

	/// Jobs whose lease lapses at the start of each block.
	#[pallet::storage]
	pub type LeaseExpiries<T: Config> =
		StorageMap<_, Twox64Concat, BlockNumberFor<T>, BucketOf<T>, ValueQuery>;

	/// Jobs whose result becomes final at the start of each block.
	#[pallet::storage]
	pub type Finalizing<T: Config> =
		StorageMap<_, Twox64Concat, BlockNumberFor<T>, BucketOf<T>, ValueQuery>;

	/// Workers whose result for a job was voided by its check: they may not claim it again.
	#[pallet::storage]
	pub type Voided<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobId, Blake2_128Concat, T::AccountId, ()>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A job was opened and its budget held.
		JobCreated {
			job: JobId,
			creator: T::AccountId,
			datanet: u32,
			version: u32,
			base: BaseModelId,
			budget: BalanceOf<T>,
		},
		/// A job was cancelled and its budget refunded.
		JobCancelled { job: JobId },
		/// A claimed job was stopped by its creator: `paid` to the worker for the share it
		/// reported done, `refunded` to the creator.
		JobStopped { job: JobId, worker: T::AccountId, paid: BalanceOf<T>, refunded: BalanceOf<T> },
		/// A worker claimed a job.
		JobClaimed { job: JobId, worker: T::AccountId, lease_until: BlockNumberFor<T> },
		/// A worker reported progress and renewed its lease.
		JobProgressed { job: JobId, progress: Progress, lease_until: BlockNumberFor<T> },
		/// A lease lapsed: the job is open again and `penalty` of the worker's bond was burned.
		LeaseLapsed { job: JobId, worker: T::AccountId, penalty: BalanceOf<T> },
		/// A worker submitted a result, final at `final_at`.
		ResultSubmitted {
			job: JobId,
			worker: T::AccountId,
			result: JobResult,
			final_at: BlockNumberFor<T>,
		},
		/// The result's check voided it: the job is open again, and `worker` may not claim it.
		ResultVoided { job: JobId, worker: T::AccountId },
		/// A result became final: the model is registered and `paid` (the escrow) went to the
		/// rewards pallet, which shares it by the datanet's split (its `PoolOpened` event).
		JobFinalized { job: JobId, model: ModelId, worker: T::AccountId, paid: BalanceOf<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The datanet has no such published version.
		UnknownVersion,
		/// Training jobs take text datanets only.
		NotTextDatanet,
		/// No base model has this id.
		UnknownBaseModel,
		/// The base model is retired.
		BaseModelRetired,
		/// No trained model has the parent id.
		UnknownParentModel,
		/// The parent model was trained on another base.
		ParentOnOtherBase,
		/// The rank is zero or above `MaxRank`.
		InvalidRank,
		/// Alpha is zero.
		ZeroAlpha,
		/// Dropout must be below 100%.
		InvalidDropout,
		/// Target modules must be one to sixteen names of `a-z A-Z 0-9 _`.
		InvalidTargetModules,
		/// The learning rate is zero.
		ZeroLearningRate,
		/// Zero steps or epochs, or more than `MaxSteps`.
		InvalidLength,
		/// The batch size is zero.
		ZeroBatchSize,
		/// The sequence length is zero or above `MaxSeqLen`.
		InvalidSeqLen,
		/// The eval fraction is above 50%.
		EvalFractionTooLarge,
		/// The budget is below `MinBudget`.
		BudgetTooLow,
		/// No job has this id.
		UnknownJob,
		/// Only the job's creator may do this.
		NotCreator,
		/// The job is not open.
		NotOpen,
		/// The job is not being trained (claimed): only a claimed job can be stopped.
		NotClaimed,
		/// The caller is not an active, bonded worker.
		NotActiveWorker,
		/// The worker declares no capacity for a model of this size.
		WorkerTooSmall,
		/// The worker already holds a job.
		WorkerBusy,
		/// The caller does not hold this job's lease.
		NotLeaseHolder,
		/// Progress reports a step past the total.
		InvalidProgress,
		/// The adapter size or the step count is zero.
		InvalidResult,
		/// This worker's result for the job was voided: another worker must do it.
		ResultWasVoided,
		/// The attribution table has fewer leaves than the version has items, or no table blob.
		InvalidAttribution,
		/// Every block bucket in reach is full; try again in a later block.
		ScheduleFull,
		/// A counter reached its maximum.
		Overflow,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let lapsed = LeaseExpiries::<T>::take(now);
			for &job in lapsed.iter() {
				Self::lapse(job, now);
			}
			let finals = Finalizing::<T>::take(now);
			for &job in finals.iter() {
				Self::finalize(job, now);
			}
			T::WeightInfo::on_initialize(lapsed.len() as u32, finals.len() as u32)
		}

		fn integrity_test() {
			assert!(!T::LeasePeriod::get().is_zero(), "LeasePeriod must be at least one block");
			assert!(
				!T::ChallengeWindow::get().is_zero(),
				"ChallengeWindow must be at least one block"
			);
			assert!(
				T::MaxClaimBlocks::get() >= T::LeasePeriod::get(),
				"MaxClaimBlocks below LeasePeriod"
			);
			assert!(T::MaxPerBlock::get() > 0, "MaxPerBlock must be positive");
			assert!(
				T::AttributionMethod::get().checkpoints > 0,
				"AttributionMethod needs at least one checkpoint"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Open a training job on `version` of the text datanet `datanet`, fine-tuning base model
		/// `base` (continuing from trained model `parent` if given, which must share the base) with
		/// `config`. Holds `budget` (at least `MinBudget`) from the caller in escrow.
		///
		/// Emits `JobCreated`.
		///
		/// Weight: `O(1)` (bounded configuration).
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::create_job())]
		pub fn create_job(
			origin: OriginFor<T>,
			datanet: u32,
			version: u32,
			base: BaseModelId,
			parent: Option<ModelId>,
			config: TrainingConfig,
			budget: BalanceOf<T>,
		) -> DispatchResult {
			let creator = ensure_signed(origin)?;
			let v = T::Datasets::version(datanet, version).ok_or(Error::<T>::UnknownVersion)?;
			ensure!(v.modality == Modality::Text, Error::<T>::NotTextDatanet);
			let b = T::Models::base(base).ok_or(Error::<T>::UnknownBaseModel)?;
			ensure!(!b.retired, Error::<T>::BaseModelRetired);
			if let Some(p) = parent {
				let parent_base =
					T::Models::base_of_trained(p).ok_or(Error::<T>::UnknownParentModel)?;
				ensure!(parent_base == base, Error::<T>::ParentOnOtherBase);
			}
			Self::check_config(&config)?;
			ensure!(budget >= T::MinBudget::get(), Error::<T>::BudgetTooLow);

			let id = NextJobId::<T>::get();
			NextJobId::<T>::put(id.checked_add(1).ok_or(Error::<T>::Overflow)?);
			T::Currency::hold(&HoldReason::JobEscrow.into(), &creator, budget)?;
			JobInfo::<T>::insert(
				id,
				Job {
					creator: creator.clone(),
					datanet,
					version,
					base,
					parent,
					config,
					budget,
					escrow: budget,
					status: JobStatus::Open,
					created_at: frame_system::Pallet::<T>::block_number(),
					lapses: 0,
					attribution: T::AttributionMethod::get(),
				},
			);
			Self::deposit_event(Event::JobCreated {
				job: id,
				creator,
				datanet,
				version,
				base,
				budget,
			});
			Ok(())
		}

		/// Cancel an open (unclaimed) job and refund its budget. Creator only.
		///
		/// Emits `JobCancelled`.
		///
		/// Weight: `O(1)`
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::cancel_job())]
		pub fn cancel_job(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			JobInfo::<T>::try_mutate(job, |j| {
				let j = j.as_mut().ok_or(Error::<T>::UnknownJob)?;
				ensure!(j.creator == who, Error::<T>::NotCreator);
				ensure!(j.status == JobStatus::Open, Error::<T>::NotOpen);
				T::Currency::release(
					&HoldReason::JobEscrow.into(),
					&who,
					j.escrow,
					Precision::BestEffort,
				)?;
				j.escrow = Zero::zero();
				j.status = JobStatus::Cancelled;
				Ok::<_, DispatchError>(())
			})?;
			Self::deposit_event(Event::JobCancelled { job });
			Ok(())
		}

		/// Claim an open job as an active worker that can run its base model and holds no other job.
		/// The lease runs `LeasePeriod` blocks; heartbeats renew it.
		///
		/// Emits `JobClaimed`.
		///
		/// Weight: `O(1)` (bounded bucket).
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::claim_job())]
		pub fn claim_job(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			let caps =
				T::Workers::active_capabilities(&worker).ok_or(Error::<T>::NotActiveWorker)?;
			ensure!(!ClaimedBy::<T>::contains_key(&worker), Error::<T>::WorkerBusy);
			let mut j = JobInfo::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
			ensure!(j.status == JobStatus::Open, Error::<T>::NotOpen);
			ensure!(!Voided::<T>::contains_key(job, &worker), Error::<T>::ResultWasVoided);
			let params = T::Models::base(j.base).map(|b| b.params).unwrap_or(u64::MAX);
			ensure!(caps.max_model_params >= params, Error::<T>::WorkerTooSmall);

			let now = frame_system::Pallet::<T>::block_number();
			let deadline = now.saturating_add(T::MaxClaimBlocks::get());
			let lease_until = Self::schedule(
				Queue::Leases,
				job,
				now.saturating_add(T::LeasePeriod::get()).min(deadline),
			)?;
			j.status = JobStatus::Claimed {
				worker: worker.clone(),
				lease_until,
				deadline,
				progress: Progress::default(),
			};
			JobInfo::<T>::insert(job, j);
			ClaimedBy::<T>::insert(&worker, job);
			Self::deposit_event(Event::JobClaimed { job, worker, lease_until });
			Ok(())
		}

		/// Report progress on the caller's claimed job and renew its lease for `LeasePeriod` blocks
		/// (never past the claim's deadline).
		///
		/// Emits `JobProgressed`.
		///
		/// Weight: `O(1)` (bounded buckets).
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::heartbeat())]
		pub fn heartbeat(origin: OriginFor<T>, job: JobId, progress: Progress) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(progress.step <= progress.total_steps, Error::<T>::InvalidProgress);
			let mut j = JobInfo::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
			let JobStatus::Claimed { worker, lease_until, deadline, .. } = j.status.clone() else {
				return Err(Error::<T>::NotLeaseHolder.into());
			};
			ensure!(worker == who, Error::<T>::NotLeaseHolder);
			let now = frame_system::Pallet::<T>::block_number();
			let wanted = now.saturating_add(T::LeasePeriod::get()).min(deadline);
			let lease_until = if wanted > lease_until {
				let new = Self::schedule(Queue::Leases, job, wanted)?;
				Self::unschedule(Queue::Leases, job, lease_until);
				new
			} else {
				lease_until
			};
			j.status = JobStatus::Claimed { worker, lease_until, deadline, progress };
			JobInfo::<T>::insert(job, j);
			Self::deposit_event(Event::JobProgressed { job, progress, lease_until });
			Ok(())
		}

		/// Stop a job a worker is training (creator only): no model comes of it. The worker is
		/// paid for what its heartbeats reported done, that share of the steps of what finishing
		/// would have paid it (the worker's part of the budget by the datanet's split); the rest of
		/// the budget comes back to the creator. The worker finds its lease gone at its next
		/// heartbeat and stops training.
		///
		/// Emits `JobStopped`.
		///
		/// Weight: `O(1)` (bounded bucket).
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::stop_job())]
		pub fn stop_job(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut j = JobInfo::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
			ensure!(j.creator == who, Error::<T>::NotCreator);
			let JobStatus::Claimed { worker, lease_until, progress, .. } = j.status.clone() else {
				return Err(Error::<T>::NotClaimed.into());
			};
			let released = T::Currency::release(
				&HoldReason::JobEscrow.into(),
				&who,
				j.escrow,
				Precision::BestEffort,
			)?;
			// Heartbeats keep `step <= total_steps`; none yet reads as nothing done.
			let done = Perbill::from_rational(progress.step, progress.total_steps.max(1));
			let paid = done * (T::Rewards::worker_part(j.datanet) * released);
			if !paid.is_zero() {
				T::Currency::transfer(&who, &worker, paid, Preservation::Expendable)?;
			}
			Self::unschedule(Queue::Leases, job, lease_until);
			ClaimedBy::<T>::remove(&worker);
			j.escrow = Zero::zero();
			j.status = JobStatus::Stopped { worker: worker.clone(), progress };
			JobInfo::<T>::insert(job, j);
			let refunded = released.saturating_sub(paid);
			Self::deposit_event(Event::JobStopped { job, worker, paid, refunded });
			Ok(())
		}

		/// Submit the result of the caller's claimed job: the adapter blob's hash and size, metrics,
		/// and the attribution commitment, whose table has a contributor leaf for every item of
		/// the version. The result is final after `ChallengeWindow` blocks.
		///
		/// Emits `ResultSubmitted`.
		///
		/// Weight: `O(1)` (bounded buckets).
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::submit_result())]
		pub fn submit_result(
			origin: OriginFor<T>,
			job: JobId,
			result: JobResult,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(
				result.adapter.bytes > 0 && result.metrics.steps > 0,
				Error::<T>::InvalidResult
			);
			let mut j = JobInfo::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
			let JobStatus::Claimed { worker, lease_until, .. } = j.status.clone() else {
				return Err(Error::<T>::NotLeaseHolder.into());
			};
			ensure!(worker == who, Error::<T>::NotLeaseHolder);
			// Every item has its leaf: a table that leaves contributions out cannot commit.
			// (A cleared datanet's version is gone; its count is then unknown and not checked.)
			let a = &result.attribution;
			let items = T::Datasets::version(j.datanet, j.version).map_or(0, |v| v.count);
			ensure!(
				u64::from(a.leaves) >= items && a.table_bytes > 0,
				Error::<T>::InvalidAttribution
			);
			let now = frame_system::Pallet::<T>::block_number();
			let window = T::ChallengeWindow::get().max(T::Checks::period());
			let final_at = Self::schedule(Queue::Finality, job, now.saturating_add(window))?;
			let entries = u32::try_from(items).unwrap_or(u32::MAX);
			T::Checks::open(job, &worker, a.root, a.leaves, entries)?;
			Self::unschedule(Queue::Leases, job, lease_until);
			ClaimedBy::<T>::remove(&worker);
			j.status = JobStatus::Submitted { worker: worker.clone(), result, final_at };
			JobInfo::<T>::insert(job, j);
			Self::deposit_event(Event::ResultSubmitted { job, worker, result, final_at });
			Ok(())
		}
	}

	/// The two per-block queues.
	#[derive(Clone, Copy)]
	enum Queue {
		Leases,
		Finality,
	}

	impl<T: Config> VoidResult for Pallet<T> {
		fn void(job: JobId) -> bool {
			let Some(mut j) = JobInfo::<T>::get(job) else { return false };
			let JobStatus::Submitted { worker, final_at, .. } = j.status.clone() else {
				return false;
			};
			Self::unschedule(Queue::Finality, job, final_at);
			Voided::<T>::insert(job, &worker, ());
			j.status = JobStatus::Open;
			JobInfo::<T>::insert(job, j);
			Self::deposit_event(Event::ResultVoided { job, worker });
			true
		}
	}

	impl<T: Config> Pallet<T> {
		fn check_config(c: &TrainingConfig) -> DispatchResult {
			ensure!(c.rank > 0 && c.rank <= T::MaxRank::get(), Error::<T>::InvalidRank);
			ensure!(c.alpha > 0, Error::<T>::ZeroAlpha);
			ensure!(c.dropout < Permill::one(), Error::<T>::InvalidDropout);
			ensure!(
				!c.target_modules.is_empty()
					&& c.target_modules.iter().all(|m| {
						!m.is_empty() && m.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
					}),
				Error::<T>::InvalidTargetModules
			);
			ensure!(!c.learning_rate.is_zero(), Error::<T>::ZeroLearningRate);
			let length_ok = match c.length {
				TrainingLength::Epochs(e) => e > 0 && u32::from(e) <= T::MaxSteps::get(),
				TrainingLength::Steps(s) => s > 0 && s <= T::MaxSteps::get(),
			};
			ensure!(length_ok, Error::<T>::InvalidLength);
			ensure!(c.batch_size > 0, Error::<T>::ZeroBatchSize);
			ensure!(
				c.max_seq_len > 0 && c.max_seq_len <= T::MaxSeqLen::get(),
				Error::<T>::InvalidSeqLen
			);
			ensure!(c.eval_fraction <= Permill::from_percent(50), Error::<T>::EvalFractionTooLarge);
			Ok(())
		}

		/// Puts `job` in the first bucket of `queue` with room at or after block `at`, trying
		/// `MaxPerBlock` blocks; returns the block chosen.
		fn schedule(
			queue: Queue,
			job: JobId,
			at: BlockNumberFor<T>,
		) -> Result<BlockNumberFor<T>, DispatchError> {
			let mut block = at;
			for _ in 0..T::MaxPerBlock::get() {
				let push = |bucket: &mut BucketOf<T>| bucket.try_push(job).is_ok();
				let placed = match queue {
					Queue::Leases => LeaseExpiries::<T>::mutate(block, push),
					Queue::Finality => Finalizing::<T>::mutate(block, push),
				};
				if placed {
					return Ok(block);
				}
				block = block.saturating_add(One::one());
			}
			Err(Error::<T>::ScheduleFull.into())
		}

		/// Takes `job` out of `queue`'s bucket of block `at`.
		fn unschedule(queue: Queue, job: JobId, at: BlockNumberFor<T>) {
			let remove = |bucket: &mut BucketOf<T>| bucket.retain(|j| *j != job);
			match queue {
				Queue::Leases => LeaseExpiries::<T>::mutate(at, remove),
				Queue::Finality => Finalizing::<T>::mutate(at, remove),
			}
		}

		/// A lease ran out: burn the penalty and open the job again.
		fn lapse(job: JobId, now: BlockNumberFor<T>) {
			let Some(mut j) = JobInfo::<T>::get(job) else { return };
			let JobStatus::Claimed { worker, lease_until, .. } = j.status.clone() else { return };
			if lease_until != now {
				return;
			}
			let penalty = T::Workers::slash(&worker, T::LapsePenalty::get());
			ClaimedBy::<T>::remove(&worker);
			j.status = JobStatus::Open;
			j.lapses = j.lapses.saturating_add(1);
			JobInfo::<T>::insert(job, j);
			Self::deposit_event(Event::LeaseLapsed { job, worker, penalty });
		}

		/// Releases `j`'s escrow and pays it through the rewards pallet; returns what was paid. If
		/// the rewards pallet refuses (it should not: datanets are never removed and a job has one
		/// pool), nothing is paid and the released escrow stays with the creator.
		fn pay(
			job: JobId,
			j: &JobOf<T>,
			worker: &T::AccountId,
			a: &AttributionCommitment,
		) -> BalanceOf<T> {
			let paid = frame_support::storage::with_storage_layer(|| {
				let released = T::Currency::release(
					&HoldReason::JobEscrow.into(),
					&j.creator,
					j.escrow,
					Precision::BestEffort,
				)?;
				T::Rewards::open(job, j.datanet, &j.creator, released, worker, a.root, a.leaves)?;
				Ok::<_, DispatchError>(released)
			});
			paid.unwrap_or_else(|e| {
				frame_support::defensive!("paying a final job's escrow failed", e);
				let _ = T::Currency::release(
					&HoldReason::JobEscrow.into(),
					&j.creator,
					j.escrow,
					Precision::BestEffort,
				);
				Zero::zero()
			})
		}

		/// The challenge window passed: register the model and pay the escrow out.
		fn finalize(job: JobId, now: BlockNumberFor<T>) {
			let Some(mut j) = JobInfo::<T>::get(job) else { return };
			let JobStatus::Submitted { worker, result, final_at } = j.status.clone() else {
				return;
			};
			if final_at != now {
				return;
			}
			let model = T::Models::register_trained(TrainedModel {
				owner: j.creator.clone(),
				trainer: worker.clone(),
				lineage: Lineage {
					base: j.base,
					parent: j.parent,
					job,
					datanet: j.datanet,
					version: j.version,
				},
				adapter: result.adapter,
				config: j.config.clone(),
				metrics: result.metrics,
				registered_at: now,
			});
			let model = match model {
				Ok(m) => m,
				Err(e) => {
					// Bases are never deleted and ids are u64: unreachable in practice. The job stays
					// Submitted (its result is kept) rather than being lost.
					frame_support::defensive!("registering a trained model failed", e);
					return;
				}
			};
			let paid = Self::pay(job, &j, &worker, &result.attribution);
			j.escrow = Zero::zero();
			j.status = JobStatus::Finalized {
				worker: worker.clone(),
				model,
				attribution: result.attribution,
			};
			JobInfo::<T>::insert(job, j);
			Self::deposit_event(Event::JobFinalized { job, model, worker, paid });
		}

		/// Checks the pallet's invariants: escrow held per creator equals the jobs' escrows; every
		/// claimed job has a live lease in its bucket, a claim record and a registered worker; every
		/// submitted job waits in its finality bucket; bucket entries and claim records point back.
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let now = frame_system::Pallet::<T>::block_number();
			let next = NextJobId::<T>::get();
			let mut escrow: alloc::collections::BTreeMap<T::AccountId, BalanceOf<T>> =
				Default::default();
			for (id, j) in JobInfo::<T>::iter() {
				ensure!(id < next, "job id at or above NextJobId");
				ensure!(j.escrow <= j.budget, "escrow above budget");
				let held = escrow.entry(j.creator.clone()).or_insert_with(Zero::zero);
				*held = held.checked_add(&j.escrow).ok_or("job escrows overflow")?;
				match j.status {
					JobStatus::Claimed { worker, lease_until, deadline, .. } => {
						ensure!(lease_until > now, "claimed job with a lapsed lease");
						ensure!(
							lease_until <= deadline.saturating_add(T::MaxPerBlock::get().into()),
							"lease past the claim deadline"
						);
						ensure!(
							LeaseExpiries::<T>::get(lease_until).contains(&id),
							"claimed job missing from its lease bucket"
						);
						ensure!(ClaimedBy::<T>::get(&worker) == Some(id), "claim record missing");
						ensure!(
							T::Workers::is_registered(&worker),
							"claimed by an unregistered worker"
						);
					}
					JobStatus::Submitted { final_at, .. } => {
						ensure!(final_at > now, "submitted job past its finality");
						ensure!(
							Finalizing::<T>::get(final_at).contains(&id),
							"submitted job missing from its finality bucket"
						);
					}
					JobStatus::Cancelled => {
						ensure!(j.escrow.is_zero(), "cancelled job holds escrow")
					}
					JobStatus::Stopped { .. } => {
						ensure!(j.escrow.is_zero(), "stopped job holds escrow")
					}
					JobStatus::Finalized { .. } => {
						ensure!(j.escrow.is_zero(), "final job still holds escrow")
					}
					JobStatus::Open => {}
				}
			}
			for (creator, total) in escrow {
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::JobEscrow.into(), &creator) == total,
					"escrow held differs from the jobs' escrows"
				);
			}
			for (worker, id) in ClaimedBy::<T>::iter() {
				let claimed = JobInfo::<T>::get(id).is_some_and(
					|j| matches!(j.status, JobStatus::Claimed { worker: w, .. } if w == worker),
				);
				ensure!(claimed, "claim record of a job the worker does not hold");
			}
			for (block, bucket) in LeaseExpiries::<T>::iter() {
				for id in bucket {
					let ok = JobInfo::<T>::get(id).is_some_and(
						|j| matches!(j.status, JobStatus::Claimed { lease_until, .. } if lease_until == block),
					);
					ensure!(ok, "lease bucket entry of a job not leased until then");
				}
			}
			for (block, bucket) in Finalizing::<T>::iter() {
				for id in bucket {
					let ok = JobInfo::<T>::get(id).is_some_and(
						|j| matches!(j.status, JobStatus::Submitted { final_at, .. } if final_at == block),
					);
					ensure!(ok, "finality bucket entry of a job not final then");
				}
			}
			Ok(())
		}
	}
}
