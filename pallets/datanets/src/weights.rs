//! Weights for `pallet_datanets`, measured by `scripts/bench-weights.sh` (do not edit by hand).
//!
//! Benchmark CLI 64.0.0, 2026-11-28; steps 20, repeat 10; host `vm`, CPU `Intel(R) Xeon(R) Processor`.
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
	fn force_close_datanet() -> Weight;
	fn submit_contribution(s: u32, t: u32, c: u32, m: u32, g: u32, r: u32, ) -> Weight;
	fn commit_contribution() -> Weight;
	fn vote(v: u32, ) -> Weight;
	fn publish_version() -> Weight;
	fn bond_curator() -> Weight;
	fn unbond_curator() -> Weight;
	fn withdraw_curator_bond() -> Weight;
	fn slash_curator() -> Weight;
	fn fund_curation_pot() -> Weight;
	fn on_initialize(n: u32, ) -> Weight;
	fn remove_contribution(v: u32, ) -> Weight;
	fn clear_closed_datanet(i: u32, k: u32, ) -> Weight;
}

/// Measured weights, with storage priced by the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// `c` in `[1, 64]`.
	/// `f` in `[1, 8]`.
	fn create_datanet(c: u32, f: u32, ) -> Weight {
		Weight::from_parts(232_140_801, 3658)
			.saturating_add(Weight::from_parts(99_325, 0).saturating_mul(c.into()))
			.saturating_add(Weight::from_parts(420_497, 0).saturating_mul(f.into()))
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(5 as u64))
	}
	fn update_rules() -> Weight {
		Weight::from_parts(217_670_000, 5527)
			.saturating_add(T::DbWeight::get().reads(4 as u64))
			.saturating_add(T::DbWeight::get().writes(2 as u64))
	}
	/// `c` in `[1, 63]`.
	fn add_curator(c: u32, ) -> Weight {
		Weight::from_parts(105_855_741, 5527)
			.saturating_add(Weight::from_parts(716_810, 0).saturating_mul(c.into()))
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	/// `c` in `[2, 64]`.
	fn remove_curator(c: u32, ) -> Weight {
		Weight::from_parts(113_911_177, 5527)
			.saturating_add(Weight::from_parts(710_976, 0).saturating_mul(c.into()))
			.saturating_add(T::DbWeight::get().reads(4 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	fn close_datanet() -> Weight {
		Weight::from_parts(84_443_000, 5009)
			.saturating_add(T::DbWeight::get().reads(1 as u64))
			.saturating_add(T::DbWeight::get().writes(2 as u64))
	}
	fn join_global_board() -> Weight {
		Weight::from_parts(263_191_000, 5009)
			.saturating_add(T::DbWeight::get().reads(4 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn force_close_datanet() -> Weight {
		Weight::from_parts(389_236_000, 8799)
			.saturating_add(T::DbWeight::get().reads(5 as u64))
			.saturating_add(T::DbWeight::get().writes(6 as u64))
	}
	/// `s` in `[0, 15]`.
	/// `t` in `[0, 1]`.
	/// `c` in `[1, 64]`.
	/// `m` in `[0, 512]`.
	/// `g` in `[0, 1]`.
	/// `r` in `[0, 1]`.
	fn submit_contribution(s: u32, t: u32, c: u32, _m: u32, g: u32, r: u32, ) -> Weight {
		Weight::from_parts(447_375_280, 7575)
			.saturating_add(Weight::from_parts(12_507_901, 0).saturating_mul(s.into()))
			.saturating_add(Weight::from_parts(182_033_846, 0).saturating_mul(t.into()))
			.saturating_add(Weight::from_parts(70_436, 0).saturating_mul(c.into()))
			.saturating_add(Weight::from_parts(15_168_778, 0).saturating_mul(g.into()))
			.saturating_add(Weight::from_parts(44_952_930, 0).saturating_mul(r.into()))
			.saturating_add(Weight::from_parts(0, 1777).saturating_mul(g.into()))
			.saturating_add(Weight::from_parts(0, 2764).saturating_mul(r.into()))
			.saturating_add(Weight::from_parts(0, 6585).saturating_mul(s.into()))
			.saturating_add(Weight::from_parts(0, 6585).saturating_mul(t.into()))
			.saturating_add(T::DbWeight::get().reads(12 as u64))
			.saturating_add(T::DbWeight::get().writes(11 as u64))
			.saturating_add(T::DbWeight::get().reads((1 as u64).saturating_mul(s.into())))
			.saturating_add(T::DbWeight::get().reads((5 as u64).saturating_mul(t.into())))
			.saturating_add(T::DbWeight::get().reads((1 as u64).saturating_mul(g.into())))
			.saturating_add(T::DbWeight::get().reads((1 as u64).saturating_mul(r.into())))
			.saturating_add(T::DbWeight::get().writes((4 as u64).saturating_mul(t.into())))
			.saturating_add(T::DbWeight::get().writes((1 as u64).saturating_mul(g.into())))
			.saturating_add(T::DbWeight::get().writes((1 as u64).saturating_mul(r.into())))
	}
	fn commit_contribution() -> Weight {
		Weight::from_parts(57_273_000, 5819)
			.saturating_add(T::DbWeight::get().reads(1 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	/// `v` in `[1, 64]`.
	fn vote(v: u32, ) -> Weight {
		Weight::from_parts(713_044_368, 17370)
			.saturating_add(Weight::from_parts(176_066_499, 0).saturating_mul(v.into()))
			.saturating_add(Weight::from_parts(0, 2603).saturating_mul(v.into()))
			.saturating_add(T::DbWeight::get().reads(15 as u64))
			.saturating_add(T::DbWeight::get().writes(14 as u64))
			.saturating_add(T::DbWeight::get().reads((2 as u64).saturating_mul(v.into())))
			.saturating_add(T::DbWeight::get().writes((1 as u64).saturating_mul(v.into())))
	}
	fn publish_version() -> Weight {
		Weight::from_parts(119_270_000, 5527)
			.saturating_add(T::DbWeight::get().reads(4 as u64))
			.saturating_add(T::DbWeight::get().writes(2 as u64))
	}
	fn bond_curator() -> Weight {
		Weight::from_parts(225_439_000, 3658)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn unbond_curator() -> Weight {
		Weight::from_parts(61_909_000, 3534)
			.saturating_add(T::DbWeight::get().reads(1 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	fn withdraw_curator_bond() -> Weight {
		Weight::from_parts(198_312_000, 3658)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn slash_curator() -> Weight {
		Weight::from_parts(156_990_000, 3658)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn fund_curation_pot() -> Weight {
		Weight::from_parts(253_898_000, 6196)
			.saturating_add(T::DbWeight::get().reads(4 as u64))
			.saturating_add(T::DbWeight::get().writes(2 as u64))
	}
	/// `n` in `[0, 512]`.
	fn on_initialize(n: u32, ) -> Weight {
		Weight::from_parts(15_514_000, 7575)
			.saturating_add(Weight::from_parts(202_042_481, 0).saturating_mul(n.into()))
			.saturating_add(Weight::from_parts(0, 3159).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(2 as u64))
			.saturating_add(T::DbWeight::get().writes(2 as u64))
			.saturating_add(T::DbWeight::get().reads((4 as u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes((4 as u64).saturating_mul(n.into())))
	}
	/// `v` in `[0, 128]`.
	fn remove_contribution(v: u32, ) -> Weight {
		Weight::from_parts(311_154_269, 5009)
			.saturating_add(Weight::from_parts(25_142_411, 0).saturating_mul(v.into()))
			.saturating_add(Weight::from_parts(0, 2543).saturating_mul(v.into()))
			.saturating_add(T::DbWeight::get().reads(6 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
			.saturating_add(T::DbWeight::get().reads((1 as u64).saturating_mul(v.into())))
			.saturating_add(T::DbWeight::get().writes((1 as u64).saturating_mul(v.into())))
	}
	/// `i` in `[0, 100]`.
	/// `k` in `[0, 100]`.
	fn clear_closed_datanet(i: u32, k: u32, ) -> Weight {
		Weight::from_parts(622_299_950, 6196)
			.saturating_add(Weight::from_parts(218_006_683, 0).saturating_mul(i.into()))
			.saturating_add(Weight::from_parts(23_536_991, 0).saturating_mul(k.into()))
			.saturating_add(Weight::from_parts(0, 3159).saturating_mul(i.into()))
			.saturating_add(Weight::from_parts(0, 2576).saturating_mul(k.into()))
			.saturating_add(T::DbWeight::get().reads(9 as u64))
			.saturating_add(T::DbWeight::get().writes(12 as u64))
			.saturating_add(T::DbWeight::get().reads((6 as u64).saturating_mul(i.into())))
			.saturating_add(T::DbWeight::get().reads((1 as u64).saturating_mul(k.into())))
			.saturating_add(T::DbWeight::get().writes((5 as u64).saturating_mul(i.into())))
			.saturating_add(T::DbWeight::get().writes((1 as u64).saturating_mul(k.into())))
	}
}

/// The same measurements priced with ParityDB's weights, for tests and mocks.
impl WeightInfo for () {
	fn create_datanet(c: u32, f: u32, ) -> Weight {
		Weight::from_parts(232_140_801, 3658)
			.saturating_add(Weight::from_parts(99_325, 0).saturating_mul(c.into()))
			.saturating_add(Weight::from_parts(420_497, 0).saturating_mul(f.into()))
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(5 as u64))
	}
	fn update_rules() -> Weight {
		Weight::from_parts(217_670_000, 5527)
			.saturating_add(ParityDbWeight::get().reads(4 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
	}
	fn add_curator(c: u32, ) -> Weight {
		Weight::from_parts(105_855_741, 5527)
			.saturating_add(Weight::from_parts(716_810, 0).saturating_mul(c.into()))
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn remove_curator(c: u32, ) -> Weight {
		Weight::from_parts(113_911_177, 5527)
			.saturating_add(Weight::from_parts(710_976, 0).saturating_mul(c.into()))
			.saturating_add(ParityDbWeight::get().reads(4 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn close_datanet() -> Weight {
		Weight::from_parts(84_443_000, 5009)
			.saturating_add(ParityDbWeight::get().reads(1 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
	}
	fn join_global_board() -> Weight {
		Weight::from_parts(263_191_000, 5009)
			.saturating_add(ParityDbWeight::get().reads(4 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn force_close_datanet() -> Weight {
		Weight::from_parts(389_236_000, 8799)
			.saturating_add(ParityDbWeight::get().reads(5 as u64))
			.saturating_add(ParityDbWeight::get().writes(6 as u64))
	}
	fn submit_contribution(s: u32, t: u32, c: u32, _m: u32, g: u32, r: u32, ) -> Weight {
		Weight::from_parts(447_375_280, 7575)
			.saturating_add(Weight::from_parts(12_507_901, 0).saturating_mul(s.into()))
			.saturating_add(Weight::from_parts(182_033_846, 0).saturating_mul(t.into()))
			.saturating_add(Weight::from_parts(70_436, 0).saturating_mul(c.into()))
			.saturating_add(Weight::from_parts(15_168_778, 0).saturating_mul(g.into()))
			.saturating_add(Weight::from_parts(44_952_930, 0).saturating_mul(r.into()))
			.saturating_add(Weight::from_parts(0, 1777).saturating_mul(g.into()))
			.saturating_add(Weight::from_parts(0, 2764).saturating_mul(r.into()))
			.saturating_add(Weight::from_parts(0, 6585).saturating_mul(s.into()))
			.saturating_add(Weight::from_parts(0, 6585).saturating_mul(t.into()))
			.saturating_add(ParityDbWeight::get().reads(12 as u64))
			.saturating_add(ParityDbWeight::get().writes(11 as u64))
			.saturating_add(ParityDbWeight::get().reads((1 as u64).saturating_mul(s.into())))
			.saturating_add(ParityDbWeight::get().reads((5 as u64).saturating_mul(t.into())))
			.saturating_add(ParityDbWeight::get().reads((1 as u64).saturating_mul(g.into())))
			.saturating_add(ParityDbWeight::get().reads((1 as u64).saturating_mul(r.into())))
			.saturating_add(ParityDbWeight::get().writes((4 as u64).saturating_mul(t.into())))
			.saturating_add(ParityDbWeight::get().writes((1 as u64).saturating_mul(g.into())))
			.saturating_add(ParityDbWeight::get().writes((1 as u64).saturating_mul(r.into())))
	}
	fn commit_contribution() -> Weight {
		Weight::from_parts(57_273_000, 5819)
			.saturating_add(ParityDbWeight::get().reads(1 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn vote(v: u32, ) -> Weight {
		Weight::from_parts(713_044_368, 17370)
			.saturating_add(Weight::from_parts(176_066_499, 0).saturating_mul(v.into()))
			.saturating_add(Weight::from_parts(0, 2603).saturating_mul(v.into()))
			.saturating_add(ParityDbWeight::get().reads(15 as u64))
			.saturating_add(ParityDbWeight::get().writes(14 as u64))
			.saturating_add(ParityDbWeight::get().reads((2 as u64).saturating_mul(v.into())))
			.saturating_add(ParityDbWeight::get().writes((1 as u64).saturating_mul(v.into())))
	}
	fn publish_version() -> Weight {
		Weight::from_parts(119_270_000, 5527)
			.saturating_add(ParityDbWeight::get().reads(4 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
	}
	fn bond_curator() -> Weight {
		Weight::from_parts(225_439_000, 3658)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn unbond_curator() -> Weight {
		Weight::from_parts(61_909_000, 3534)
			.saturating_add(ParityDbWeight::get().reads(1 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn withdraw_curator_bond() -> Weight {
		Weight::from_parts(198_312_000, 3658)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn slash_curator() -> Weight {
		Weight::from_parts(156_990_000, 3658)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn fund_curation_pot() -> Weight {
		Weight::from_parts(253_898_000, 6196)
			.saturating_add(ParityDbWeight::get().reads(4 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
	}
	fn on_initialize(n: u32, ) -> Weight {
		Weight::from_parts(15_514_000, 7575)
			.saturating_add(Weight::from_parts(202_042_481, 0).saturating_mul(n.into()))
			.saturating_add(Weight::from_parts(0, 3159).saturating_mul(n.into()))
			.saturating_add(ParityDbWeight::get().reads(2 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
			.saturating_add(ParityDbWeight::get().reads((4 as u64).saturating_mul(n.into())))
			.saturating_add(ParityDbWeight::get().writes((4 as u64).saturating_mul(n.into())))
	}
	fn remove_contribution(v: u32, ) -> Weight {
		Weight::from_parts(311_154_269, 5009)
			.saturating_add(Weight::from_parts(25_142_411, 0).saturating_mul(v.into()))
			.saturating_add(Weight::from_parts(0, 2543).saturating_mul(v.into()))
			.saturating_add(ParityDbWeight::get().reads(6 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
			.saturating_add(ParityDbWeight::get().reads((1 as u64).saturating_mul(v.into())))
			.saturating_add(ParityDbWeight::get().writes((1 as u64).saturating_mul(v.into())))
	}
	fn clear_closed_datanet(i: u32, k: u32, ) -> Weight {
		Weight::from_parts(622_299_950, 6196)
			.saturating_add(Weight::from_parts(218_006_683, 0).saturating_mul(i.into()))
			.saturating_add(Weight::from_parts(23_536_991, 0).saturating_mul(k.into()))
			.saturating_add(Weight::from_parts(0, 3159).saturating_mul(i.into()))
			.saturating_add(Weight::from_parts(0, 2576).saturating_mul(k.into()))
			.saturating_add(ParityDbWeight::get().reads(9 as u64))
			.saturating_add(ParityDbWeight::get().writes(12 as u64))
			.saturating_add(ParityDbWeight::get().reads((6 as u64).saturating_mul(i.into())))
			.saturating_add(ParityDbWeight::get().reads((1 as u64).saturating_mul(k.into())))
			.saturating_add(ParityDbWeight::get().writes((5 as u64).saturating_mul(i.into())))
			.saturating_add(ParityDbWeight::get().writes((1 as u64).saturating_mul(k.into())))
	}
}
