//! Storage migrations of the jobs pallet.

/// v0 → v1: results carry an [`AttributionCommitment`](crate::AttributionCommitment) (it was an
/// optional root), and a final job's escrow is paid out whole through the rewards pallet (it used
/// to pay the worker `WorkerShare` and keep the rest held).
///
/// - A submitted result without a table gets an empty one (no leaves): at finality the worker and
///   the owner are paid their parts, and the contributors' and curators' parts wait unclaimable
///   until the pool expires and goes to the datanet's pot, where the datanet's next pool pays
///   them by that job's attribution.
/// - A final job's leftover escrow goes to its datanet's pot the same way.
///
/// One block, `O(jobs)`: fits the test networks this can meet.
pub mod v1 {
	use crate::{
		pallet::{BalanceOf, Config, HoldReason, Pallet},
		types::{AttributionCommitment, JobId, JobResult, JobStatus, Progress},
		RewardPools,
	};
	use codec::{Decode, Encode};
	use frame_support::{
		defensive,
		migrations::VersionedMigration,
		traits::{fungible::MutateHold, tokens::Precision, Get, UncheckedOnRuntimeUpgrade},
		weights::Weight,
	};
	use frame_system::pallet_prelude::BlockNumberFor;
	use pallet_models::{AdapterRef, ModelId, TrainingMetrics};
	use sp_runtime::traits::Zero;

	/// The migration to register in the runtime: runs only when the on-chain version is 0.
	pub type MigrateV0ToV1<T> = VersionedMigration<
		0,
		1,
		PayOutAttribution<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;

	/// What a v0 result committed to, as v1 reads it: no table.
	const NO_TABLE: AttributionCommitment = AttributionCommitment {
		root: [0u8; 32],
		leaves: 0,
		total: 0,
		table: [0u8; 32],
		table_bytes: 0,
	};

	/// v0's result.
	#[derive(Encode, Decode)]
	pub struct OldResult {
		pub adapter: AdapterRef,
		pub metrics: TrainingMetrics,
		pub attribution: Option<[u8; 32]>,
	}

	/// v0's status: only `Submitted` differs (its result).
	#[derive(Encode, Decode)]
	pub enum OldStatus<AccountId, BlockNumber> {
		Open,
		Claimed {
			worker: AccountId,
			lease_until: BlockNumber,
			deadline: BlockNumber,
			progress: Progress,
		},
		Submitted {
			worker: AccountId,
			result: OldResult,
			final_at: BlockNumber,
		},
		Finalized {
			worker: AccountId,
			model: ModelId,
		},
		Cancelled,
	}

	/// v0's job: the status is its last field, so the rest decodes as v1's fields.
	#[derive(Encode, Decode)]
	pub struct OldJobRecord<AccountId, Balance, BlockNumber> {
		pub creator: AccountId,
		pub datanet: u32,
		pub version: u32,
		pub base: pallet_models::BaseModelId,
		pub parent: Option<ModelId>,
		pub config: pallet_models::TrainingConfig,
		pub budget: Balance,
		pub escrow: Balance,
		pub status: OldStatus<AccountId, BlockNumber>,
		pub created_at: BlockNumber,
		pub lapses: u32,
	}

	type OldOf<T> =
		OldJobRecord<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

	/// Rewrites every job in v1's form and sends final jobs' leftover escrow to their datanet's pot.
	pub struct PayOutAttribution<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for PayOutAttribution<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut count = 0u64;
			let mut leftovers: alloc::vec::Vec<(JobId, T::AccountId, u32, BalanceOf<T>)> =
				Default::default();
			super::v2::stored::JobInfo::<T>::translate::<OldOf<T>, _>(|id, old| {
				count += 1;
				let status = match old.status {
					OldStatus::Open => JobStatus::Open,
					OldStatus::Claimed { worker, lease_until, deadline, progress } => {
						JobStatus::Claimed { worker, lease_until, deadline, progress }
					}
					OldStatus::Submitted { worker, result, final_at } => JobStatus::Submitted {
						worker,
						result: JobResult {
							adapter: result.adapter,
							metrics: result.metrics,
							attribution: NO_TABLE,
						},
						final_at,
					},
					OldStatus::Finalized { worker, model } => {
						if !old.escrow.is_zero() {
							leftovers.push((id, old.creator.clone(), old.datanet, old.escrow));
						}
						JobStatus::Finalized { worker, model, attribution: NO_TABLE }
					}
					OldStatus::Cancelled => JobStatus::Cancelled,
				};
				Some(super::v2::JobV1 {
					creator: old.creator,
					datanet: old.datanet,
					version: old.version,
					base: old.base,
					parent: old.parent,
					config: old.config,
					budget: old.budget,
					escrow: old.escrow,
					status,
					created_at: old.created_at,
					lapses: old.lapses,
				})
			});
			let paid = leftovers.len() as u64;
			for (id, creator, datanet, escrow) in leftovers {
				let moved = frame_support::storage::with_storage_layer(|| {
					let released = T::Currency::release(
						&HoldReason::JobEscrow.into(),
						&creator,
						escrow,
						Precision::BestEffort,
					)?;
					T::Rewards::fund_pot(datanet, &creator, released)
				});
				match moved {
					Ok(()) => super::v2::stored::JobInfo::<T>::mutate(id, |j| {
						if let Some(j) = j {
							j.escrow = Zero::zero();
						}
					}),
					Err(e) => {
						defensive!("jobs v1 migration: a leftover escrow stays held", e);
					}
				}
			}
			T::DbWeight::get().reads_writes(count + 3 * paid, count + 4 * paid)
		}
	}

	#[cfg(test)]
	mod tests {
		use super::*;
		use crate::{mock::*, tests::*, JobInfo};
		use frame_support::{
			assert_ok,
			traits::{fungible::InspectHold, GetStorageVersion, OnRuntimeUpgrade, StorageVersion},
		};

		#[test]
		fn v0_jobs_read_as_v1_and_leftover_escrow_goes_to_the_pot() {
			run_test(|| {
				let d = crate::tests::published_text();
				let m = base(1_000_000);
				for _ in 0..3 {
					assert_ok!(Jobs::create_job(
						RuntimeOrigin::signed(BUILDER),
						d,
						1,
						m,
						None,
						config(),
						10_000
					));
				}
				// v0 records: job 0 submitted with an optional root, job 1 final with 70% of its
				// budget still held, job 2 open.
				let old = |id: JobId, status, escrow| {
					let j = JobInfo::<Test>::get(id).unwrap();
					OldJobRecord {
						creator: j.creator,
						datanet: j.datanet,
						version: j.version,
						base: j.base,
						parent: j.parent,
						config: j.config,
						budget: j.budget,
						escrow,
						status,
						created_at: j.created_at,
						lapses: j.lapses,
					}
				};
				let r = result();
				let submitted = OldStatus::Submitted {
					worker: W1,
					result: OldResult {
						adapter: r.adapter,
						metrics: r.metrics,
						attribution: Some([5; 32]),
					},
					final_at: 9u64,
				};
				let key = |id: JobId| JobInfo::<Test>::hashed_key_for(id);
				sp_io::storage::set(&key(0), &old(0, submitted, 10_000).encode());
				let finalized = OldStatus::Finalized { worker: W1, model: 0 };
				sp_io::storage::set(&key(1), &old(1, finalized, 7_000).encode());
				sp_io::storage::set(&key(2), &old(2, OldStatus::Open, 10_000).encode());
				// What v0 paid the worker from job 1's escrow.
				assert_ok!(<Balances as MutateHold<_>>::release(
					&HoldReason::JobEscrow.into(),
					&BUILDER,
					3_000,
					Precision::Exact
				));
				StorageVersion::new(0).put::<Jobs>();

				MigrateV0ToV1::<Test>::on_runtime_upgrade();
				assert_eq!(Jobs::on_chain_storage_version(), 1);
				crate::migrations::v2::MigrateV1ToV2::<Test>::on_runtime_upgrade();
				let j0 = JobInfo::<Test>::get(0).unwrap();
				let JobStatus::Submitted { result, final_at, .. } = j0.status else {
					panic!("{:?}", j0.status)
				};
				assert_eq!(
					(result.adapter, final_at, result.attribution.leaves),
					(r.adapter, 9, 0)
				);
				assert_eq!(j0.escrow, 10_000);
				let j1 = JobInfo::<Test>::get(1).unwrap();
				assert_eq!(
					j1.status,
					JobStatus::Finalized { worker: W1, model: 0, attribution: NO_TABLE }
				);
				assert_eq!(j1.escrow, 0);
				assert_eq!(pallet_rewards::Pots::<Test>::get(d), 7_000);
				assert_eq!(JobInfo::<Test>::get(2).unwrap().status, JobStatus::Open);
				assert_eq!(
					Balances::balance_on_hold(&HoldReason::JobEscrow.into(), &BUILDER),
					20_000
				);
				// Job 0 is still in no finality bucket (v0 test set-up): drop it for try_state.
				JobInfo::<Test>::remove(0);
				<Balances as MutateHold<_>>::release(
					&HoldReason::JobEscrow.into(),
					&BUILDER,
					10_000,
					Precision::Exact,
				)
				.unwrap();
			});
		}
	}
}

/// v1 → v2: every job records the [`AttributionMethod`](crate::AttributionMethod) its payout table
/// is computed with. Jobs opened before did not say; their workers used the engine's default of
/// the day, which is the runtime's method at this upgrade, so that is what they get.
///
/// One block, `O(jobs)`.
pub mod v2 {
	use crate::{
		pallet::{BalanceOf, Config, JobInfo, Pallet},
		types::{Job, JobStatus},
	};
	use codec::{Decode, Encode};
	use frame_support::{
		migrations::VersionedMigration,
		storage_alias,
		traits::{Get, UncheckedOnRuntimeUpgrade},
		weights::Weight,
		Twox64Concat,
	};
	use frame_system::pallet_prelude::BlockNumberFor;
	use pallet_models::{BaseModelId, ModelId, TrainingConfig};

	/// The migration to register in the runtime: runs only when the on-chain version is 1.
	pub type MigrateV1ToV2<T> = VersionedMigration<
		1,
		2,
		RecordAttributionMethod<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;

	/// v1's job: v2's without the method.
	#[derive(Encode, Decode)]
	pub struct JobV1<AccountId, Balance, BlockNumber> {
		pub creator: AccountId,
		pub datanet: u32,
		pub version: u32,
		pub base: BaseModelId,
		pub parent: Option<ModelId>,
		pub config: TrainingConfig,
		pub budget: Balance,
		pub escrow: Balance,
		pub status: JobStatus<AccountId, BlockNumber>,
		pub created_at: BlockNumber,
		pub lapses: u32,
	}

	pub type JobV1Of<T> =
		JobV1<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

	/// The jobs map as v1 stored it (for the v0 → v1 migration, which writes v1's records).
	pub mod stored {
		use super::*;

		#[storage_alias]
		pub type JobInfo<T: Config> = StorageMap<Pallet<T>, Twox64Concat, crate::JobId, JobV1Of<T>>;
	}

	pub struct RecordAttributionMethod<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for RecordAttributionMethod<T> {
		fn on_runtime_upgrade() -> Weight {
			let method = T::AttributionMethod::get();
			let mut count = 0u64;
			JobInfo::<T>::translate::<JobV1Of<T>, _>(|_, old| {
				count += 1;
				Some(Job {
					creator: old.creator,
					datanet: old.datanet,
					version: old.version,
					base: old.base,
					parent: old.parent,
					config: old.config,
					budget: old.budget,
					escrow: old.escrow,
					status: old.status,
					created_at: old.created_at,
					lapses: old.lapses,
					attribution: method,
				})
			});
			T::DbWeight::get().reads_writes(count + 1, count + 1)
		}
	}

	#[cfg(test)]
	mod tests {
		use super::*;
		use crate::{mock::*, tests::*};
		use frame_support::{
			assert_ok,
			traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion},
		};

		#[test]
		fn v1_jobs_get_the_runtimes_method_and_keep_everything_else() {
			run_test(|| {
				let d = crate::tests::published_text();
				let m = base(1_000_000);
				assert_ok!(Jobs::create_job(
					RuntimeOrigin::signed(BUILDER),
					d,
					1,
					m,
					None,
					config(),
					10_000
				));
				let now = JobInfo::<Test>::get(0).unwrap();
				let v1 = JobV1 {
					creator: now.creator,
					datanet: now.datanet,
					version: now.version,
					base: now.base,
					parent: now.parent,
					config: now.config.clone(),
					budget: now.budget,
					escrow: now.escrow,
					status: now.status.clone(),
					created_at: now.created_at,
					lapses: 2,
				};
				sp_io::storage::set(&JobInfo::<Test>::hashed_key_for(0), &v1.encode());
				assert!(JobInfo::<Test>::get(0).is_none(), "a v1 record does not read as v2");
				StorageVersion::new(1).put::<Jobs>();
				let method = crate::AttributionMethod { projection: 8, ..Method::get() };
				Method::set(method);

				MigrateV1ToV2::<Test>::on_runtime_upgrade();

				assert_eq!(Jobs::on_chain_storage_version(), 2);
				let j = JobInfo::<Test>::get(0).unwrap();
				assert_eq!(j.attribution, method);
				assert_eq!(j.lapses, 2);
				assert_eq!((j.config, j.budget, j.status), (now.config, now.budget, now.status));
			});
		}
	}
}
