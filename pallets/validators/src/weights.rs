//! Weights for `pallet_validators`: estimated from each call's storage accesses and, for the Aura
//! report, two sr25519 verifications; replace with `scripts/bench-weights.sh validators`.

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

/// Weights with storage priced by the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn add_validator() -> Weight {
		Weight::from_parts(60_000_000, 3_500)
			.saturating_add(T::DbWeight::get().reads(2 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	fn remove_validator() -> Weight {
		Weight::from_parts(60_000_000, 3_500)
			.saturating_add(T::DbWeight::get().reads(1 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	fn set_session_length() -> Weight {
		Weight::from_parts(20_000_000, 0)
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	fn report_aura_equivocation() -> Weight {
		Weight::from_parts(400_000_000, 8_000)
			.saturating_add(T::DbWeight::get().reads(7 as u64))
			.saturating_add(T::DbWeight::get().writes(4 as u64))
	}
}

/// The same estimates priced with ParityDB's weights, for tests and mocks.
impl WeightInfo for () {
	fn add_validator() -> Weight {
		Weight::from_parts(60_000_000, 3_500)
			.saturating_add(ParityDbWeight::get().reads(2 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn remove_validator() -> Weight {
		Weight::from_parts(60_000_000, 3_500)
			.saturating_add(ParityDbWeight::get().reads(1 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn set_session_length() -> Weight {
		Weight::from_parts(20_000_000, 0)
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn report_aura_equivocation() -> Weight {
		Weight::from_parts(400_000_000, 8_000)
			.saturating_add(ParityDbWeight::get().reads(7 as u64))
			.saturating_add(ParityDbWeight::get().writes(4 as u64))
	}
}
