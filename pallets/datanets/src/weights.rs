//! Weights for `pallet_datanets`, measured by `scripts/bench-weights.sh` (do not edit by hand).
//!
//! Benchmark CLI 64.0.0, 2026-11-27; steps 20, repeat 10; host `vm`, CPU `Intel(R) Xeon(R) Processor`.
//! Each weight is the measured base plus its per-component slopes; storage reads and writes are
//! priced by the runtime's database weights (`SubstrateWeight`) or ParityDB's (`()`).

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens, unused_imports, missing_docs, clippy::unnecessary_cast)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::ParityDbWeight, Weight}};

/// Weight functions of `pallet_datanets`'s calls.
pub trait WeightInfo {
	fn create_datanet(c: u32, f: u32, ) -> Weight;
	fn update_rules() -> Weight;
	fn add_curator(c: u32, ) -> Weight;
	fn remove_curator(c: u32, ) -> Weight;
	fn close_datanet() -> Weight;
	fn join_global_board() -> Weight;
	fn bond_curator() -> Weight;
	fn unbond_curator() -> Weight;
	fn withdraw_curator_bond() -> Weight;
	fn slash_curator() -> Weight;
	fn force_close_datanet() -> Weight;
	fn submit_contribution(s: u32, t: u32, ) -> Weight;
	fn commit_contribution() -> Weight;
	fn vote(v: u32, ) -> Weight;
	fn publish_version() -> Weight;
	fn fund_curation_pot() -> Weight;
	fn on_initialize(n: u32, ) -> Weight;
}

/// Measured weights, with storage priced by the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// `c` in `[1, 64]`.
	/// `f` in `[1, 8]`.
	fn create_datanet(c: u32, f: u32, ) -> Weight {
		Weight::from_parts(211_068_256, 3622)
			.saturating_add(Weight::from_parts(157_599, 0).saturating_mul(c.into()))
			.saturating_add(Weight::from_parts(990_751, 0).saturating_mul(f.into()))
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(5 as u64))
	}
	fn update_rules() -> Weight {
		Weight::from_parts(157_077_000, 5527)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(2 as u64))
	}
	/// `c` in `[1, 63]`.
	fn add_curator(c: u32, ) -> Weight {
		Weight::from_parts(82_942_211, 5527)
			.saturating_add(Weight::from_parts(305_608, 0).saturating_mul(c.into()))
			.saturating_add(T::DbWeight::get().reads(2 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	/// `c` in `[2, 64]`.
	fn remove_curator(c: u32, ) -> Weight {
		Weight::from_parts(87_924_436, 5527)
			.saturating_add(Weight::from_parts(295_310, 0).saturating_mul(c.into()))
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	fn close_datanet() -> Weight {
		Weight::from_parts(192_773_000, 5009)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn join_global_board() -> Weight {
		Weight::from_parts(226_907_000, 5009)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn bond_curator() -> Weight {
		Weight::from_parts(226_907_000, 5009)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn unbond_curator() -> Weight {
		Weight::from_parts(226_907_000, 5009)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn withdraw_curator_bond() -> Weight {
		Weight::from_parts(226_907_000, 5009)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn slash_curator() -> Weight {
		Weight::from_parts(226_907_000, 5009)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn force_close_datanet() -> Weight {
		Weight::from_parts(349_608_000, 8799)
			.saturating_add(T::DbWeight::get().reads(5 as u64))
			.saturating_add(T::DbWeight::get().writes(5 as u64))
	}
	/// `s` in `[0, 15]`.
	/// `t` in `[0, 1]`.
	fn submit_contribution(s: u32, t: u32, ) -> Weight {
		Weight::from_parts(477_152_638, 7575)
			.saturating_add(Weight::from_parts(11_094_600, 0).saturating_mul(s.into()))
			.saturating_add(Weight::from_parts(196_487_874, 0).saturating_mul(t.into()))
			.saturating_add(Weight::from_parts(0, 6585).saturating_mul(s.into()))
			.saturating_add(Weight::from_parts(0, 6585).saturating_mul(t.into()))
			.saturating_add(T::DbWeight::get().reads(14 as u64))
			.saturating_add(T::DbWeight::get().writes(15 as u64))
			.saturating_add(T::DbWeight::get().reads((1 as u64).saturating_mul(s.into())))
			.saturating_add(T::DbWeight::get().reads((7 as u64).saturating_mul(t.into())))
			.saturating_add(T::DbWeight::get().writes((6 as u64).saturating_mul(t.into())))
	}
	fn commit_contribution() -> Weight {
		Weight::from_parts(50_669_000, 5819)
			.saturating_add(T::DbWeight::get().reads(1 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	/// `v` in `[1, 64]`.
	fn vote(v: u32, ) -> Weight {
		Weight::from_parts(550_430_591, 17370)
			.saturating_add(Weight::from_parts(242_158_231, 0).saturating_mul(v.into()))
			.saturating_add(Weight::from_parts(0, 2603).saturating_mul(v.into()))
			.saturating_add(T::DbWeight::get().reads(15 as u64))
			.saturating_add(T::DbWeight::get().writes(16 as u64))
			.saturating_add(T::DbWeight::get().reads((2 as u64).saturating_mul(v.into())))
			.saturating_add(T::DbWeight::get().writes((1 as u64).saturating_mul(v.into())))
	}
	fn publish_version() -> Weight {
		Weight::from_parts(96_274_000, 5527)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(2 as u64))
	}
	fn fund_curation_pot() -> Weight {
		Weight::from_parts(229_445_000, 6196)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(2 as u64))
	}
	/// `n` in `[0, 512]`.
	fn on_initialize(n: u32, ) -> Weight {
		Weight::from_parts(12_825_000, 7575)
			.saturating_add(Weight::from_parts(304_894_651, 0).saturating_mul(n.into()))
			.saturating_add(Weight::from_parts(0, 3135).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(2 as u64))
			.saturating_add(T::DbWeight::get().writes(2 as u64))
			.saturating_add(T::DbWeight::get().reads((4 as u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes((6 as u64).saturating_mul(n.into())))
	}
}

/// The same measurements priced with ParityDB's weights, for tests and mocks.
impl WeightInfo for () {
	fn create_datanet(c: u32, f: u32, ) -> Weight {
		Weight::from_parts(211_068_256, 3622)
			.saturating_add(Weight::from_parts(157_599, 0).saturating_mul(c.into()))
			.saturating_add(Weight::from_parts(990_751, 0).saturating_mul(f.into()))
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(5 as u64))
	}
	fn update_rules() -> Weight {
		Weight::from_parts(157_077_000, 5527)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
	}
	fn add_curator(c: u32, ) -> Weight {
		Weight::from_parts(82_942_211, 5527)
			.saturating_add(Weight::from_parts(305_608, 0).saturating_mul(c.into()))
			.saturating_add(ParityDbWeight::get().reads(2 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn remove_curator(c: u32, ) -> Weight {
		Weight::from_parts(87_924_436, 5527)
			.saturating_add(Weight::from_parts(295_310, 0).saturating_mul(c.into()))
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn close_datanet() -> Weight {
		Weight::from_parts(192_773_000, 5009)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn join_global_board() -> Weight {
		Weight::from_parts(226_907_000, 5009)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn bond_curator() -> Weight {
		Weight::from_parts(226_907_000, 5009)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn unbond_curator() -> Weight {
		Weight::from_parts(226_907_000, 5009)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn withdraw_curator_bond() -> Weight {
		Weight::from_parts(226_907_000, 5009)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn slash_curator() -> Weight {
		Weight::from_parts(226_907_000, 5009)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn force_close_datanet() -> Weight {
		Weight::from_parts(349_608_000, 8799)
			.saturating_add(ParityDbWeight::get().reads(5 as u64))
			.saturating_add(ParityDbWeight::get().writes(5 as u64))
	}
	fn submit_contribution(s: u32, t: u32, ) -> Weight {
		Weight::from_parts(477_152_638, 7575)
			.saturating_add(Weight::from_parts(11_094_600, 0).saturating_mul(s.into()))
			.saturating_add(Weight::from_parts(196_487_874, 0).saturating_mul(t.into()))
			.saturating_add(Weight::from_parts(0, 6585).saturating_mul(s.into()))
			.saturating_add(Weight::from_parts(0, 6585).saturating_mul(t.into()))
			.saturating_add(ParityDbWeight::get().reads(14 as u64))
			.saturating_add(ParityDbWeight::get().writes(15 as u64))
			.saturating_add(ParityDbWeight::get().reads((1 as u64).saturating_mul(s.into())))
			.saturating_add(ParityDbWeight::get().reads((7 as u64).saturating_mul(t.into())))
			.saturating_add(ParityDbWeight::get().writes((6 as u64).saturating_mul(t.into())))
	}
	fn commit_contribution() -> Weight {
		Weight::from_parts(50_669_000, 5819)
			.saturating_add(ParityDbWeight::get().reads(1 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn vote(v: u32, ) -> Weight {
		Weight::from_parts(550_430_591, 17370)
			.saturating_add(Weight::from_parts(242_158_231, 0).saturating_mul(v.into()))
			.saturating_add(Weight::from_parts(0, 2603).saturating_mul(v.into()))
			.saturating_add(ParityDbWeight::get().reads(15 as u64))
			.saturating_add(ParityDbWeight::get().writes(16 as u64))
			.saturating_add(ParityDbWeight::get().reads((2 as u64).saturating_mul(v.into())))
			.saturating_add(ParityDbWeight::get().writes((1 as u64).saturating_mul(v.into())))
	}
	fn publish_version() -> Weight {
		Weight::from_parts(96_274_000, 5527)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
	}
	fn fund_curation_pot() -> Weight {
		Weight::from_parts(229_445_000, 6196)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
	}
	fn on_initialize(n: u32, ) -> Weight {
		Weight::from_parts(12_825_000, 7575)
			.saturating_add(Weight::from_parts(304_894_651, 0).saturating_mul(n.into()))
			.saturating_add(Weight::from_parts(0, 3135).saturating_mul(n.into()))
			.saturating_add(ParityDbWeight::get().reads(2 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
			.saturating_add(ParityDbWeight::get().reads((4 as u64).saturating_mul(n.into())))
			.saturating_add(ParityDbWeight::get().writes((6 as u64).saturating_mul(n.into())))
	}
}
