//! Weights for pallet_datanets. Placeholder until `scripts/bench-weights.sh` regenerates this file.
#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, Weight},
};

pub trait WeightInfo {
	fn create_datanet(c: u32, f: u32) -> Weight;
	fn update_rules() -> Weight;
	fn add_curator(c: u32) -> Weight;
	fn remove_curator(c: u32) -> Weight;
	fn close_datanet() -> Weight;
	fn submit_contribution() -> Weight;
	fn vote() -> Weight;
	fn publish_version() -> Weight;
	fn fund_curation_pot() -> Weight;
}

pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn create_datanet(c: u32, f: u32) -> Weight {
		Weight::from_parts(50_000_000, 4000)
			.saturating_add(Weight::from_parts(100_000, 0).saturating_mul(c.into()))
			.saturating_add(Weight::from_parts(100_000, 0).saturating_mul(f.into()))
			.saturating_add(T::DbWeight::get().reads_writes(2, 4))
	}
	fn update_rules() -> Weight {
		Weight::from_parts(30_000_000, 4000).saturating_add(T::DbWeight::get().reads_writes(2, 1))
	}
	fn add_curator(_c: u32) -> Weight {
		Weight::from_parts(30_000_000, 4000).saturating_add(T::DbWeight::get().reads_writes(2, 1))
	}
	fn remove_curator(_c: u32) -> Weight {
		Weight::from_parts(30_000_000, 4000).saturating_add(T::DbWeight::get().reads_writes(2, 1))
	}
	fn close_datanet() -> Weight {
		Weight::from_parts(40_000_000, 4000).saturating_add(T::DbWeight::get().reads_writes(3, 2))
	}
	fn submit_contribution() -> Weight {
		Weight::from_parts(80_000_000, 8000).saturating_add(T::DbWeight::get().reads_writes(8, 9))
	}
	fn vote() -> Weight {
		Weight::from_parts(120_000_000, 8000)
			.saturating_add(T::DbWeight::get().reads_writes(10, 10))
	}
	fn publish_version() -> Weight {
		Weight::from_parts(40_000_000, 4000).saturating_add(T::DbWeight::get().reads_writes(4, 2))
	}
	fn fund_curation_pot() -> Weight {
		Weight::from_parts(50_000_000, 4000).saturating_add(T::DbWeight::get().reads_writes(3, 2))
	}
}

impl WeightInfo for () {
	fn create_datanet(_c: u32, _f: u32) -> Weight {
		Weight::from_parts(50_000_000, 4000)
	}
	fn update_rules() -> Weight {
		Weight::from_parts(30_000_000, 4000)
	}
	fn add_curator(_c: u32) -> Weight {
		Weight::from_parts(30_000_000, 4000)
	}
	fn remove_curator(_c: u32) -> Weight {
		Weight::from_parts(30_000_000, 4000)
	}
	fn close_datanet() -> Weight {
		Weight::from_parts(40_000_000, 4000)
	}
	fn submit_contribution() -> Weight {
		Weight::from_parts(80_000_000, 8000)
	}
	fn vote() -> Weight {
		Weight::from_parts(120_000_000, 8000)
	}
	fn publish_version() -> Weight {
		Weight::from_parts(40_000_000, 4000)
	}
	fn fund_curation_pot() -> Weight {
		Weight::from_parts(50_000_000, 4000)
	}
}
