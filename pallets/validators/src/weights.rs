//! Weights for `pallet_validators`, measured by `scripts/bench-weights.sh` (do not edit by hand).
//!
//! Benchmark CLI 64.0.0, 2026-11-28; steps 20, repeat 10; host `vm`, CPU `Intel(R) Xeon(R) Processor`.
//! Each weight is the measured base plus its per-component slopes; storage reads and writes are
//! priced by the runtime's database weights (`SubstrateWeight`) or ParityDB's (`()`).

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens, unused_imports, missing_docs, clippy::unnecessary_cast)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::ParityDbWeight, Weight}};

/// Weight functions of `pallet_validators`'s calls.
pub trait WeightInfo {
	fn add_validator() -> Weight;
	fn remove_validator() -> Weight;
	fn set_session_length() -> Weight;
	fn report_aura_equivocation() -> Weight;
}

/// Measured weights, with storage priced by the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn add_validator() -> Weight {
		Weight::from_parts(88_354_000, 5156)
			.saturating_add(T::DbWeight::get().reads(2 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	fn remove_validator() -> Weight {
		Weight::from_parts(50_377_000, 2510)
			.saturating_add(T::DbWeight::get().reads(1 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	fn set_session_length() -> Weight {
		Weight::from_parts(27_561_000, 0)
			.saturating_add(T::DbWeight::get().reads(0 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	fn report_aura_equivocation() -> Weight {
		Weight::from_parts(341_005_000, 4963)
			.saturating_add(T::DbWeight::get().reads(7 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
}

/// The same measurements priced with ParityDB's weights, for tests and mocks.
impl WeightInfo for () {
	fn add_validator() -> Weight {
		Weight::from_parts(88_354_000, 5156)
			.saturating_add(ParityDbWeight::get().reads(2 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn remove_validator() -> Weight {
		Weight::from_parts(50_377_000, 2510)
			.saturating_add(ParityDbWeight::get().reads(1 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn set_session_length() -> Weight {
		Weight::from_parts(27_561_000, 0)
			.saturating_add(ParityDbWeight::get().reads(0 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn report_aura_equivocation() -> Weight {
		Weight::from_parts(341_005_000, 4963)
			.saturating_add(ParityDbWeight::get().reads(7 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
}
