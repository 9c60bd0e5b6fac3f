//! Weights for `pallet_fees`. Not measured yet: estimates from the calls' storage accesses, one
//! sr25519 verification (~60 µs) per voucher and the rewards pallet's transfers, until
//! `scripts/bench-weights.sh fees` measures them from `benchmarking.rs`.

#![allow(unused_parens, unused_imports, missing_docs, clippy::unnecessary_cast)]

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{constants::ParityDbWeight, Weight},
};

/// Weight functions of `pallet_fees`'s calls.
pub trait WeightInfo {
	fn fund_tab() -> Weight;
	fn close_tab() -> Weight;
	fn withdraw() -> Weight;
	fn set_price() -> Weight;
	fn settle(v: u32) -> Weight;
}

fn estimate(
	ref_time: u64,
	proof: u64,
	reads: u64,
	writes: u64,
	db: frame_support::weights::RuntimeDbWeight,
) -> Weight {
	Weight::from_parts(ref_time, proof).saturating_add(db.reads_writes(reads, writes))
}

/// Estimated weights, with storage priced by the runtime's `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn fund_tab() -> Weight {
		estimate(60_000_000, 6_000, 4, 4, T::DbWeight::get())
	}
	fn close_tab() -> Weight {
		estimate(30_000_000, 4_000, 1, 1, T::DbWeight::get())
	}
	/// Up to `MaxVouchers` records of what the tab paid are cleared.
	fn withdraw() -> Weight {
		estimate(200_000_000, 20_000, 4, 260, T::DbWeight::get())
	}
	fn set_price() -> Weight {
		estimate(25_000_000, 3_000, 0, 1, T::DbWeight::get())
	}
	/// `v` vouchers: each a signature check, the model's payout table, a release and the split's
	/// transfers.
	fn settle(v: u32) -> Weight {
		estimate(40_000_000, 4_000, 2, 1, T::DbWeight::get()).saturating_add(
			estimate(350_000_000, 12_000, 12, 9, T::DbWeight::get()).saturating_mul(v.into()),
		)
	}
}

/// For tests: the same estimates, storage priced as ParityDB.
impl WeightInfo for () {
	fn fund_tab() -> Weight {
		estimate(60_000_000, 6_000, 4, 4, ParityDbWeight::get())
	}
	fn close_tab() -> Weight {
		estimate(30_000_000, 4_000, 1, 1, ParityDbWeight::get())
	}
	fn withdraw() -> Weight {
		estimate(200_000_000, 20_000, 4, 260, ParityDbWeight::get())
	}
	fn set_price() -> Weight {
		estimate(25_000_000, 3_000, 0, 1, ParityDbWeight::get())
	}
	fn settle(v: u32) -> Weight {
		estimate(40_000_000, 4_000, 2, 1, ParityDbWeight::get()).saturating_add(
			estimate(350_000_000, 12_000, 12, 9, ParityDbWeight::get()).saturating_mul(v.into()),
		)
	}
}
