//! Weights for `pallet_rewards`. Not measured yet: these are estimates from the calls' storage
//! accesses and hashing (a proof hash ~ 2 µs), until the pallet joins the runtime and
//! `scripts/bench-weights.sh` measures it from `benchmarking.rs`.

#![allow(unused_parens, unused_imports, missing_docs, clippy::unnecessary_cast)]

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{constants::ParityDbWeight, Weight},
};

/// Weight functions of `pallet_rewards`'s calls.
pub trait WeightInfo {
	fn set_split() -> Weight;
	fn claim(p: u32) -> Weight;
	fn sweep() -> Weight;
}

/// Estimated weights, with storage priced by the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn set_split() -> Weight {
		Weight::from_parts(30_000_000, 3_500)
			.saturating_add(T::DbWeight::get().reads(1 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	/// `p` proof hashes, in `[0, MaxProofLen]`.
	fn claim(p: u32) -> Weight {
		Weight::from_parts(80_000_000, 6_000)
			.saturating_add(Weight::from_parts(2_000_000, 0).saturating_mul(p.into()))
			.saturating_add(T::DbWeight::get().reads(4 as u64))
			.saturating_add(T::DbWeight::get().writes(4 as u64))
	}
	fn sweep() -> Weight {
		Weight::from_parts(100_000_000, 6_000)
			.saturating_add(T::DbWeight::get().reads(4 as u64))
			.saturating_add(T::DbWeight::get().writes(5 as u64))
	}
}

/// For tests: the same estimates, storage priced as ParityDB.
impl WeightInfo for () {
	fn set_split() -> Weight {
		Weight::from_parts(30_000_000, 3_500)
			.saturating_add(ParityDbWeight::get().reads(1 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn claim(p: u32) -> Weight {
		Weight::from_parts(80_000_000, 6_000)
			.saturating_add(Weight::from_parts(2_000_000, 0).saturating_mul(p.into()))
			.saturating_add(ParityDbWeight::get().reads(4 as u64))
			.saturating_add(ParityDbWeight::get().writes(4 as u64))
	}
	fn sweep() -> Weight {
		Weight::from_parts(100_000_000, 6_000)
			.saturating_add(ParityDbWeight::get().reads(4 as u64))
			.saturating_add(ParityDbWeight::get().writes(5 as u64))
	}
}
