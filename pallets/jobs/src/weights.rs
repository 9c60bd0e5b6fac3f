//! Weights for `pallet_jobs`, measured by `scripts/bench-weights.sh` (do not edit by hand).
//!
//! Benchmark CLI 64.0.0, 2026-11-27; steps 20, repeat 10; host `vm`, CPU `Intel(R) Xeon(R) Processor`.
//! Each weight is the measured base plus its per-component slopes; storage reads and writes are
//! priced by the runtime's database weights (`SubstrateWeight`) or ParityDB's (`()`).

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens, unused_imports, missing_docs, clippy::unnecessary_cast)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::ParityDbWeight, Weight}};

/// Weight functions of `pallet_jobs`'s calls.
pub trait WeightInfo {
	fn create_job() -> Weight;
	fn cancel_job() -> Weight;
	fn claim_job() -> Weight;
	fn heartbeat() -> Weight;
	fn submit_result() -> Weight;
	fn stop_job() -> Weight;
	fn on_initialize(l: u32, f: u32, ) -> Weight;
}

/// Measured weights, with storage priced by the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn create_job() -> Weight {
		Weight::from_parts(297_818_000, 5368)
			.saturating_add(T::DbWeight::get().reads(7 as u64))
			.saturating_add(T::DbWeight::get().writes(4 as u64))
	}
	fn cancel_job() -> Weight {
		Weight::from_parts(196_623_000, 4274)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn claim_job() -> Weight {
		Weight::from_parts(292_045_000, 40230)
			.saturating_add(T::DbWeight::get().reads(19 as u64))
			.saturating_add(T::DbWeight::get().writes(17 as u64))
	}
	fn heartbeat() -> Weight {
		Weight::from_parts(258_781_000, 45462)
			.saturating_add(T::DbWeight::get().reads(18 as u64))
			.saturating_add(T::DbWeight::get().writes(18 as u64))
	}
	fn submit_result() -> Weight {
		Weight::from_parts(257_834_000, 40230)
			.saturating_add(T::DbWeight::get().reads(17 as u64))
			.saturating_add(T::DbWeight::get().writes(18 as u64))
	}
	/// Not measured yet (added after the last `scripts/bench-weights.sh` run): cancel_job's
	/// release plus a transfer and heartbeat's lease bucket removal, rounded up.
	fn stop_job() -> Weight {
		Weight::from_parts(420_000_000, 45462)
			.saturating_add(T::DbWeight::get().reads(20 as u64))
			.saturating_add(T::DbWeight::get().writes(20 as u64))
	}
	/// `l` in `[0, 16]`.
	/// `f` in `[0, 16]`.
	fn on_initialize(l: u32, f: u32, ) -> Weight {
		Weight::from_parts(1_646_537, 5368)
			.saturating_add(Weight::from_parts(156_185_156, 0).saturating_mul(l.into()))
			.saturating_add(Weight::from_parts(213_274_515, 0).saturating_mul(f.into()))
			.saturating_add(Weight::from_parts(0, 3284).saturating_mul(f.into()))
			.saturating_add(Weight::from_parts(0, 3668).saturating_mul(l.into()))
			.saturating_add(T::DbWeight::get().reads(4 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
			.saturating_add(T::DbWeight::get().reads((4 as u64).saturating_mul(l.into())))
			.saturating_add(T::DbWeight::get().reads((2 as u64).saturating_mul(f.into())))
			.saturating_add(T::DbWeight::get().writes((5 as u64).saturating_mul(l.into())))
			.saturating_add(T::DbWeight::get().writes((5 as u64).saturating_mul(f.into())))
	}
}

/// The same measurements priced with ParityDB's weights, for tests and mocks.
impl WeightInfo for () {
	fn create_job() -> Weight {
		Weight::from_parts(297_818_000, 5368)
			.saturating_add(ParityDbWeight::get().reads(7 as u64))
			.saturating_add(ParityDbWeight::get().writes(4 as u64))
	}
	fn cancel_job() -> Weight {
		Weight::from_parts(196_623_000, 4274)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn claim_job() -> Weight {
		Weight::from_parts(292_045_000, 40230)
			.saturating_add(ParityDbWeight::get().reads(19 as u64))
			.saturating_add(ParityDbWeight::get().writes(17 as u64))
	}
	fn heartbeat() -> Weight {
		Weight::from_parts(258_781_000, 45462)
			.saturating_add(ParityDbWeight::get().reads(18 as u64))
			.saturating_add(ParityDbWeight::get().writes(18 as u64))
	}
	fn submit_result() -> Weight {
		Weight::from_parts(257_834_000, 40230)
			.saturating_add(ParityDbWeight::get().reads(17 as u64))
			.saturating_add(ParityDbWeight::get().writes(18 as u64))
	}
	/// Not measured yet (added after the last `scripts/bench-weights.sh` run): cancel_job's
	/// release plus a transfer and heartbeat's lease bucket removal, rounded up.
	fn stop_job() -> Weight {
		Weight::from_parts(420_000_000, 45462)
			.saturating_add(ParityDbWeight::get().reads(20 as u64))
			.saturating_add(ParityDbWeight::get().writes(20 as u64))
	}
	fn on_initialize(l: u32, f: u32, ) -> Weight {
		Weight::from_parts(1_646_537, 5368)
			.saturating_add(Weight::from_parts(156_185_156, 0).saturating_mul(l.into()))
			.saturating_add(Weight::from_parts(213_274_515, 0).saturating_mul(f.into()))
			.saturating_add(Weight::from_parts(0, 3284).saturating_mul(f.into()))
			.saturating_add(Weight::from_parts(0, 3668).saturating_mul(l.into()))
			.saturating_add(ParityDbWeight::get().reads(4 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
			.saturating_add(ParityDbWeight::get().reads((4 as u64).saturating_mul(l.into())))
			.saturating_add(ParityDbWeight::get().reads((2 as u64).saturating_mul(f.into())))
			.saturating_add(ParityDbWeight::get().writes((5 as u64).saturating_mul(l.into())))
			.saturating_add(ParityDbWeight::get().writes((5 as u64).saturating_mul(f.into())))
	}
}
