//! Benchmarks of every call and of `on_initialize`, at their worst case: the longest configuration,
//! and lease and finality buckets full for every block but the last one a call may try.

use super::*;
use crate::Pallet as Jobs;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get, Hooks},
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use pallet_models::{AdapterRef, TrainingMethod, TrainingMetrics};
use pallet_workers::{Capabilities, Device};
use sp_runtime::{traits::One, Perbill, Permill};

fn config<T: Config>() -> TrainingConfig {
	let module = BoundedVec::truncate_from(alloc::vec![b'm'; 32]);
	TrainingConfig {
		method: TrainingMethod::Qlora,
		rank: T::MaxRank::get(),
		alpha: 32,
		dropout: Permill::from_percent(5),
		target_modules: BoundedVec::truncate_from(alloc::vec![module; 16]),
		learning_rate: Perbill::from_parts(200_000),
		warmup_steps: 10,
		length: TrainingLength::Steps(T::MaxSteps::get()),
		batch_size: 8,
		max_seq_len: T::MaxSeqLen::get(),
		seed: 1,
		eval_fraction: Permill::from_percent(10),
	}
}

fn creator<T: Config>() -> T::AccountId {
	let who: T::AccountId = account("creator", 0, 0);
	T::Currency::set_balance(&who, T::MinBudget::get() * 10_000u32.into());
	who
}

/// A published text version and a base model; returns (datanet, base).
fn catalogue<T: Config>() -> (u32, BaseModelId) {
	let owner: T::AccountId = account("owner", 0, 0);
	(T::Datasets::bench_text_version(&owner), T::Models::bench_register_base(&owner))
}

fn open_job<T: Config>(who: &T::AccountId, datanet: u32, base: BaseModelId) -> JobId {
	let id = NextJobId::<T>::get();
	Jobs::<T>::create_job(
		RawOrigin::Signed(who.clone()).into(),
		datanet,
		1,
		base,
		None,
		config::<T>(),
		T::MinBudget::get(),
	)
	.expect("job opens");
	id
}

fn worker<T: Config>(i: u32) -> T::AccountId {
	let who: T::AccountId = account("worker", i, 0);
	T::Workers::bench_register(
		&who,
		Capabilities { device: Device::Cpu, memory_mib: 1 << 20, max_model_params: u64::MAX },
	);
	who
}

fn result() -> JobResult {
	JobResult {
		adapter: AdapterRef { hash: [3u8; 32], bytes: 1 << 20 },
		metrics: TrainingMetrics {
			train_loss_micro: 1,
			eval_loss_micro: Some(2),
			tokens: 3,
			steps: 4,
		},
		attribution: AttributionCommitment {
			root: [5u8; 32],
			leaves: 1 << 20,
			total: 1,
			table: [6u8; 32],
			table_bytes: 1 << 16,
		},
	}
}

/// Fills `queue`'s buckets from `from` for all but the last block a schedule may try.
fn fill<T: Config>(leases: bool, from: BlockNumberFor<T>) {
	let full: BucketOf<T> =
		BoundedVec::truncate_from(alloc::vec![u64::MAX; T::MaxPerBlock::get() as usize]);
	let mut block = from;
	for _ in 1..T::MaxPerBlock::get() {
		if leases {
			LeaseExpiries::<T>::insert(block, full.clone());
		} else {
			Finalizing::<T>::insert(block, full.clone());
		}
		block += One::one();
	}
}

fn now<T: Config>() -> BlockNumberFor<T> {
	frame_system::Pallet::<T>::block_number()
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create_job() {
		let (datanet, base) = catalogue::<T>();
		let who = creator::<T>();
		// Worst case: continuing from a parent model (one more read).
		let parent = T::Models::register_trained(pallet_models::TrainedModel {
			owner: who.clone(),
			trainer: who.clone(),
			lineage: pallet_models::Lineage { base, parent: None, job: 0, datanet, version: 1 },
			adapter: result().adapter,
			config: config::<T>(),
			metrics: result().metrics,
			registered_at: now::<T>(),
		})
		.expect("parent registers");
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who),
			datanet,
			1,
			base,
			Some(parent),
			config::<T>(),
			T::MinBudget::get(),
		);
		assert_eq!(NextJobId::<T>::get(), 1);
	}

	#[benchmark]
	fn cancel_job() {
		let (datanet, base) = catalogue::<T>();
		let who = creator::<T>();
		let job = open_job::<T>(&who, datanet, base);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), job);
		assert!(matches!(JobInfo::<T>::get(job).map(|j| j.status), Some(JobStatus::Cancelled)));
	}

	#[benchmark]
	fn claim_job() {
		let (datanet, base) = catalogue::<T>();
		let job = open_job::<T>(&creator::<T>(), datanet, base);
		let w = worker::<T>(0);
		fill::<T>(true, now::<T>() + T::LeasePeriod::get());
		#[extrinsic_call]
		_(RawOrigin::Signed(w.clone()), job);
		assert_eq!(ClaimedBy::<T>::get(&w), Some(job));
	}

	#[benchmark]
	fn heartbeat() {
		let (datanet, base) = catalogue::<T>();
		let job = open_job::<T>(&creator::<T>(), datanet, base);
		let w = worker::<T>(0);
		Jobs::<T>::claim_job(RawOrigin::Signed(w.clone()).into(), job).expect("claims");
		// The old bucket is full (removal scans it) and the new ones too (the schedule walks them).
		let old = now::<T>() + T::LeasePeriod::get();
		LeaseExpiries::<T>::mutate(old, |b| while b.try_push(u64::MAX).is_ok() {});
		frame_system::Pallet::<T>::set_block_number(now::<T>() + One::one());
		fill::<T>(true, now::<T>() + T::LeasePeriod::get());
		let progress = Progress { step: 1, total_steps: 2, loss_micro: Some(3) };
		#[extrinsic_call]
		_(RawOrigin::Signed(w), job, progress);
		assert!(matches!(
			JobInfo::<T>::get(job).map(|j| j.status),
			Some(JobStatus::Claimed { progress: p, .. }) if p == progress
		));
	}

	#[benchmark]
	fn stop_job() {
		let (datanet, base) = catalogue::<T>();
		let who = creator::<T>();
		let job = open_job::<T>(&who, datanet, base);
		let w = worker::<T>(0);
		Jobs::<T>::claim_job(RawOrigin::Signed(w.clone()).into(), job).expect("claims");
		let progress = Progress { step: 1, total_steps: 2, loss_micro: Some(3) };
		Jobs::<T>::heartbeat(RawOrigin::Signed(w.clone()).into(), job, progress).expect("beats");
		// The lease's bucket is full: taking the job out of it scans it.
		LeaseExpiries::<T>::mutate(now::<T>() + T::LeasePeriod::get(), |b| {
			while b.try_push(u64::MAX).is_ok() {}
		});
		#[extrinsic_call]
		_(RawOrigin::Signed(who), job);
		assert!(matches!(
			JobInfo::<T>::get(job).map(|j| j.status),
			Some(JobStatus::Stopped { progress: p, .. }) if p == progress
		));
		assert_eq!(ClaimedBy::<T>::get(&w), None);
	}

	#[benchmark]
	fn submit_result() {
		let (datanet, base) = catalogue::<T>();
		let job = open_job::<T>(&creator::<T>(), datanet, base);
		let w = worker::<T>(0);
		Jobs::<T>::claim_job(RawOrigin::Signed(w.clone()).into(), job).expect("claims");
		LeaseExpiries::<T>::mutate(now::<T>() + T::LeasePeriod::get(), |b| {
			while b.try_push(u64::MAX).is_ok() {}
		});
		fill::<T>(false, now::<T>() + T::ChallengeWindow::get());
		#[extrinsic_call]
		_(RawOrigin::Signed(w), job, result());
		assert!(matches!(
			JobInfo::<T>::get(job).map(|j| j.status),
			Some(JobStatus::Submitted { .. })
		));
	}

	#[benchmark]
	fn on_initialize(
		l: Linear<0, { T::MaxPerBlock::get() }>,
		f: Linear<0, { T::MaxPerBlock::get() }>,
	) {
		let (datanet, base) = catalogue::<T>();
		let who = creator::<T>();
		let target = T::LeasePeriod::get() + T::ChallengeWindow::get() + 10u32.into();
		frame_system::Pallet::<T>::set_block_number(target - T::ChallengeWindow::get());
		for i in 0..f {
			let job = open_job::<T>(&who, datanet, base);
			let w = worker::<T>(i);
			Jobs::<T>::claim_job(RawOrigin::Signed(w.clone()).into(), job).expect("claims");
			Jobs::<T>::submit_result(RawOrigin::Signed(w).into(), job, result()).expect("submits");
		}
		frame_system::Pallet::<T>::set_block_number(target - T::LeasePeriod::get());
		for i in 0..l {
			let job = open_job::<T>(&who, datanet, base);
			Jobs::<T>::claim_job(RawOrigin::Signed(worker::<T>(1000 + i)).into(), job)
				.expect("claims");
		}
		frame_system::Pallet::<T>::set_block_number(target);
		assert_eq!(LeaseExpiries::<T>::get(target).len() as u32, l);
		assert_eq!(Finalizing::<T>::get(target).len() as u32, f);
		#[block]
		{
			Jobs::<T>::on_initialize(target);
		}
		assert!(
			LeaseExpiries::<T>::get(target).is_empty() && Finalizing::<T>::get(target).is_empty()
		);
	}

	impl_benchmark_test_suite!(Jobs, crate::mock::new_test_ext(), crate::mock::Test);
}
