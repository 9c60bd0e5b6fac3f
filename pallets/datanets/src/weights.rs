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
	fn submit_contribution(s: u32, t: u32, ) -> Weight;
	fn commit_contribution() -> Weight;
	fn vote(v: u32, ) -> Weight;
	fn publish_version() -> Weight;
	fn bond_curator() -> Weight;
	fn unbond_curator() -> Weight;
	fn withdraw_curator_bond() -> Weight;
	fn slash_curator() -> Weight;
	fn fund_curation_pot() -> Weight;
	fn on_initialize(n: u32, ) -> Weight;
}

/// Measured weights, with storage priced by the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// `c` in `[1, 64]`.
	/// `f` in `[1, 8]`.
	fn create_datanet(c: u32, f: u32, ) -> Weight {
		Weight::from_parts(230_086_296, 3658)
			.saturating_add(Weight::from_parts(105_674, 0).saturating_mul(c.into()))
			.saturating_add(Weight::from_parts(400_471, 0).saturating_mul(f.into()))
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(5 as u64))
	}
	fn update_rules() -> Weight {
		Weight::from_parts(196_394_000, 5527)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(2 as u64))
	}
	/// `c` in `[1, 63]`.
	fn add_curator(c: u32, ) -> Weight {
		Weight::from_parts(94_162_170, 5527)
			.saturating_add(Weight::from_parts(590_802, 0).saturating_mul(c.into()))
			.saturating_add(T::DbWeight::get().reads(2 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	/// `c` in `[2, 64]`.
	fn remove_curator(c: u32, ) -> Weight {
		Weight::from_parts(101_015_372, 5527)
			.saturating_add(Weight::from_parts(577_244, 0).saturating_mul(c.into()))
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	fn close_datanet() -> Weight {
		Weight::from_parts(210_519_000, 5009)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn join_global_board() -> Weight {
		Weight::from_parts(248_812_000, 5009)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn force_close_datanet() -> Weight {
		Weight::from_parts(376_580_000, 8799)
			.saturating_add(T::DbWeight::get().reads(5 as u64))
			.saturating_add(T::DbWeight::get().writes(5 as u64))
	}
	/// `s` in `[0, 15]`.
	/// `t` in `[0, 1]`.
	fn submit_contribution(s: u32, t: u32, ) -> Weight {
		Weight::from_parts(512_876_402, 7575)
			.saturating_add(Weight::from_parts(12_522_931, 0).saturating_mul(s.into()))
			.saturating_add(Weight::from_parts(224_333_713, 0).saturating_mul(t.into()))
			.saturating_add(Weight::from_parts(0, 6585).saturating_mul(s.into()))
			.saturating_add(Weight::from_parts(0, 6585).saturating_mul(t.into()))
			.saturating_add(T::DbWeight::get().reads(14 as u64))
			.saturating_add(T::DbWeight::get().writes(15 as u64))
			.saturating_add(T::DbWeight::get().reads((1 as u64).saturating_mul(s.into())))
			.saturating_add(T::DbWeight::get().reads((7 as u64).saturating_mul(t.into())))
			.saturating_add(T::DbWeight::get().writes((6 as u64).saturating_mul(t.into())))
	}
	fn commit_contribution() -> Weight {
		Weight::from_parts(56_161_000, 5819)
			.saturating_add(T::DbWeight::get().reads(1 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	/// `v` in `[1, 64]`.
	fn vote(v: u32, ) -> Weight {
		Weight::from_parts(720_953_182, 17370)
			.saturating_add(Weight::from_parts(173_098_102, 0).saturating_mul(v.into()))
			.saturating_add(Weight::from_parts(0, 2603).saturating_mul(v.into()))
			.saturating_add(T::DbWeight::get().reads(16 as u64))
			.saturating_add(T::DbWeight::get().writes(16 as u64))
			.saturating_add(T::DbWeight::get().reads((2 as u64).saturating_mul(v.into())))
			.saturating_add(T::DbWeight::get().writes((1 as u64).saturating_mul(v.into())))
	}
	fn publish_version() -> Weight {
		Weight::from_parts(105_828_000, 5527)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(2 as u64))
	}
	fn bond_curator() -> Weight {
		Weight::from_parts(221_368_000, 3658)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn unbond_curator() -> Weight {
		Weight::from_parts(60_092_000, 3534)
			.saturating_add(T::DbWeight::get().reads(1 as u64))
			.saturating_add(T::DbWeight::get().writes(1 as u64))
	}
	fn withdraw_curator_bond() -> Weight {
		Weight::from_parts(195_532_000, 3658)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn slash_curator() -> Weight {
		Weight::from_parts(155_155_000, 3658)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(3 as u64))
	}
	fn fund_curation_pot() -> Weight {
		Weight::from_parts(234_935_000, 6196)
			.saturating_add(T::DbWeight::get().reads(3 as u64))
			.saturating_add(T::DbWeight::get().writes(2 as u64))
	}
	/// `n` in `[0, 512]`.
	fn on_initialize(n: u32, ) -> Weight {
		Weight::from_parts(15_913_000, 7575)
			.saturating_add(Weight::from_parts(208_945_168, 0).saturating_mul(n.into()))
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
		Weight::from_parts(230_086_296, 3658)
			.saturating_add(Weight::from_parts(105_674, 0).saturating_mul(c.into()))
			.saturating_add(Weight::from_parts(400_471, 0).saturating_mul(f.into()))
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(5 as u64))
	}
	fn update_rules() -> Weight {
		Weight::from_parts(196_394_000, 5527)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
	}
	fn add_curator(c: u32, ) -> Weight {
		Weight::from_parts(94_162_170, 5527)
			.saturating_add(Weight::from_parts(590_802, 0).saturating_mul(c.into()))
			.saturating_add(ParityDbWeight::get().reads(2 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn remove_curator(c: u32, ) -> Weight {
		Weight::from_parts(101_015_372, 5527)
			.saturating_add(Weight::from_parts(577_244, 0).saturating_mul(c.into()))
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn close_datanet() -> Weight {
		Weight::from_parts(210_519_000, 5009)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn join_global_board() -> Weight {
		Weight::from_parts(248_812_000, 5009)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn force_close_datanet() -> Weight {
		Weight::from_parts(376_580_000, 8799)
			.saturating_add(ParityDbWeight::get().reads(5 as u64))
			.saturating_add(ParityDbWeight::get().writes(5 as u64))
	}
	fn submit_contribution(s: u32, t: u32, ) -> Weight {
		Weight::from_parts(512_876_402, 7575)
			.saturating_add(Weight::from_parts(12_522_931, 0).saturating_mul(s.into()))
			.saturating_add(Weight::from_parts(224_333_713, 0).saturating_mul(t.into()))
			.saturating_add(Weight::from_parts(0, 6585).saturating_mul(s.into()))
			.saturating_add(Weight::from_parts(0, 6585).saturating_mul(t.into()))
			.saturating_add(ParityDbWeight::get().reads(14 as u64))
			.saturating_add(ParityDbWeight::get().writes(15 as u64))
			.saturating_add(ParityDbWeight::get().reads((1 as u64).saturating_mul(s.into())))
			.saturating_add(ParityDbWeight::get().reads((7 as u64).saturating_mul(t.into())))
			.saturating_add(ParityDbWeight::get().writes((6 as u64).saturating_mul(t.into())))
	}
	fn commit_contribution() -> Weight {
		Weight::from_parts(56_161_000, 5819)
			.saturating_add(ParityDbWeight::get().reads(1 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn vote(v: u32, ) -> Weight {
		Weight::from_parts(720_953_182, 17370)
			.saturating_add(Weight::from_parts(173_098_102, 0).saturating_mul(v.into()))
			.saturating_add(Weight::from_parts(0, 2603).saturating_mul(v.into()))
			.saturating_add(ParityDbWeight::get().reads(16 as u64))
			.saturating_add(ParityDbWeight::get().writes(16 as u64))
			.saturating_add(ParityDbWeight::get().reads((2 as u64).saturating_mul(v.into())))
			.saturating_add(ParityDbWeight::get().writes((1 as u64).saturating_mul(v.into())))
	}
	fn publish_version() -> Weight {
		Weight::from_parts(105_828_000, 5527)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
	}
	fn bond_curator() -> Weight {
		Weight::from_parts(221_368_000, 3658)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn unbond_curator() -> Weight {
		Weight::from_parts(60_092_000, 3534)
			.saturating_add(ParityDbWeight::get().reads(1 as u64))
			.saturating_add(ParityDbWeight::get().writes(1 as u64))
	}
	fn withdraw_curator_bond() -> Weight {
		Weight::from_parts(195_532_000, 3658)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn slash_curator() -> Weight {
		Weight::from_parts(155_155_000, 3658)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(3 as u64))
	}
	fn fund_curation_pot() -> Weight {
		Weight::from_parts(234_935_000, 6196)
			.saturating_add(ParityDbWeight::get().reads(3 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
	}
	fn on_initialize(n: u32, ) -> Weight {
		Weight::from_parts(15_913_000, 7575)
			.saturating_add(Weight::from_parts(208_945_168, 0).saturating_mul(n.into()))
			.saturating_add(Weight::from_parts(0, 3135).saturating_mul(n.into()))
			.saturating_add(ParityDbWeight::get().reads(2 as u64))
			.saturating_add(ParityDbWeight::get().writes(2 as u64))
			.saturating_add(ParityDbWeight::get().reads((4 as u64).saturating_mul(n.into())))
			.saturating_add(ParityDbWeight::get().writes((6 as u64).saturating_mul(n.into())))
	}
}
