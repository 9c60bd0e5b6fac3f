//! Weights for `pallet_models`, measured by `scripts/bench-weights.sh` (do not edit by hand).
//!
//! Benchmark CLI 64.0.0, 2026-11-27; steps 20, repeat 10; host `vm`, CPU `Intel(R) Xeon(R) Processor`.
//! Each weight is the measured base plus its per-component slopes; storage reads and writes are
//! priced by the runtime's database weights (`SubstrateWeight`) or ParityDB's (`()`).

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens, unused_imports, missing_docs, clippy::unnecessary_cast)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::ParityDbWeight, Weight}};

/// Weight functions of `pallet_models`'s calls.
pub trait WeightInfo {
	fn register_base(f: u32, ) -> Weight;
	fn retire_base() -> Weight;
}

/// Measured weights, with storage priced by the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// `f` in `[2, 16]`.
	fn register_base(f: u32, ) -> Weight {
		Weight::from_parts(198_479_930, 3604)
			.saturating_add(Weight::from_parts(1_149_839, 0).saturating_mul(f.into()))
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(4 as u64))
	}
	fn retire_base() -> Weight {
		Weight::from_parts(170_642_000, 5368)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
}

/// The same measurements priced with ParityDB's weights, for tests and mocks.
impl WeightInfo for () {
	fn register_base(f: u32, ) -> Weight {
		Weight::from_parts(198_479_930, 3604)
			.saturating_add(Weight::from_parts(1_149_839, 0).saturating_mul(f.into()))
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(4 as u64))
	}
	fn retire_base() -> Weight {
		Weight::from_parts(170_642_000, 5368)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
}
