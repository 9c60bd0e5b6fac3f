//! Weights for `pallet_workers`: provisional, set from the measured costs of comparable datanets calls
//! (a held-balance change, a few storage items) with a margin, until `scripts/bench-weights.sh pallet_workers`
//! measures them on an optimised build and rewrites this file.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens, unused_imports, missing_docs, clippy::unnecessary_cast)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::ParityDbWeight, Weight}};

/// Weight functions of `pallet_workers`'s calls.
pub trait WeightInfo {
	fn register() -> Weight;
	fn update() -> Weight;
	fn bond_extra() -> Weight;
	fn unbond() -> Weight;
	fn withdraw() -> Weight;
}

/// Weights with storage priced by the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn register() -> Weight {
		Weight::from_parts(250_000_000, 6000)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn update() -> Weight {
		Weight::from_parts(120_000_000, 6000)
			.saturating_add(T::DbWeight::get().reads(1 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	fn bond_extra() -> Weight {
		Weight::from_parts(250_000_000, 6000)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn unbond() -> Weight {
		Weight::from_parts(120_000_000, 6000)
			.saturating_add(T::DbWeight::get().reads(1 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	fn withdraw() -> Weight {
		Weight::from_parts(250_000_000, 6000)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
}

/// The same weights priced with ParityDB's weights, for tests and mocks.
impl WeightInfo for () {
	fn register() -> Weight {
		Weight::from_parts(250_000_000, 6000)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn update() -> Weight {
		Weight::from_parts(120_000_000, 6000)
			.saturating_add(ParityDbWeight::get().reads(1 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn bond_extra() -> Weight {
		Weight::from_parts(250_000_000, 6000)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn unbond() -> Weight {
		Weight::from_parts(120_000_000, 6000)
			.saturating_add(ParityDbWeight::get().reads(1 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn withdraw() -> Weight {
		Weight::from_parts(250_000_000, 6000)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
}
