//! Weights for `pallet_jobs`: provisional, set from the measured costs of comparable datanets calls
//! (a held-balance change, a few storage items) with a margin, until `scripts/bench-weights.sh pallet_jobs`
//! measures them on an optimised build and rewrites this file.

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
	fn on_initialize(l: u32, f: u32, ) -> Weight;
}

/// Weights with storage priced by the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn create_job() -> Weight {
		Weight::from_parts(300_000_000, 6000)
			.saturating_add(T::DbWeight::get().reads(4 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn cancel_job() -> Weight {
		Weight::from_parts(200_000_000, 6000)
			.saturating_add(T::DbWeight::get().reads(2 as u64))
			.saturating_add(T::DbWeight::get().writes(2 as u64))
	}
	fn claim_job() -> Weight {
		Weight::from_parts(250_000_000, 6000)
			.saturating_add(T::DbWeight::get().reads(5 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn heartbeat() -> Weight {
		Weight::from_parts(200_000_000, 6000)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn submit_result() -> Weight {
		Weight::from_parts(250_000_000, 6000)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(4 as u64))
	}
	fn on_initialize(l: u32, f: u32, ) -> Weight {
		Weight::from_parts(20_000_000, 6000)
			.saturating_add(Weight::from_parts(150_000_000, 1000).saturating_mul(l.into()))
			.saturating_add(T::DbWeight::get().reads(6 as u64).saturating_mul(l.into()))
			.saturating_add(T::DbWeight::get().writes(6 as u64).saturating_mul(l.into()))
			.saturating_add(Weight::from_parts(150_000_000, 1000).saturating_mul(f.into()))
			.saturating_add(T::DbWeight::get().reads(6 as u64).saturating_mul(f.into()))
			.saturating_add(T::DbWeight::get().writes(6 as u64).saturating_mul(f.into()))
			.saturating_add(T::DbWeight::get().reads(2 as u64))
			.saturating_add(T::DbWeight::get().writes(2 as u64))
	}
}

/// The same weights priced with ParityDB's weights, for tests and mocks.
impl WeightInfo for () {
	fn create_job() -> Weight {
		Weight::from_parts(300_000_000, 6000)
			.saturating_add(ParityDbWeight::get().reads(4 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn cancel_job() -> Weight {
		Weight::from_parts(200_000_000, 6000)
			.saturating_add(ParityDbWeight::get().reads(2 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
	}
	fn claim_job() -> Weight {
		Weight::from_parts(250_000_000, 6000)
			.saturating_add(ParityDbWeight::get().reads(5 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn heartbeat() -> Weight {
		Weight::from_parts(200_000_000, 6000)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn submit_result() -> Weight {
		Weight::from_parts(250_000_000, 6000)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(4 as u64))
	}
	fn on_initialize(l: u32, f: u32, ) -> Weight {
		Weight::from_parts(20_000_000, 6000)
			.saturating_add(Weight::from_parts(150_000_000, 1000).saturating_mul(l.into()))
			.saturating_add(ParityDbWeight::get().reads(6 as u64).saturating_mul(l.into()))
			.saturating_add(ParityDbWeight::get().writes(6 as u64).saturating_mul(l.into()))
			.saturating_add(Weight::from_parts(150_000_000, 1000).saturating_mul(f.into()))
			.saturating_add(ParityDbWeight::get().reads(6 as u64).saturating_mul(f.into()))
			.saturating_add(ParityDbWeight::get().writes(6 as u64).saturating_mul(f.into()))
			.saturating_add(ParityDbWeight::get().reads(2 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
	}
}
