//! Benchmarks of every call at its worst case: a settlement of `MaxVouchers` vouchers, each with
//! a real signature, each paying a fee through the rewards pallet.

use super::*;
use crate::Pallet as Fees;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_runtime::traits::{Saturating, Zero};

fn funded<T: Config>(who: &T::AccountId) {
	T::Currency::set_balance(who, 1_000_000_000_000u64.try_into().unwrap_or_else(|_| 0u32.into()));
}

fn opened<T: Config>(payer: &T::AccountId, worker: &T::AccountId) {
	funded::<T>(payer);
	let amount = T::MinTab::get().saturating_mul(1_000u32.into());
	Fees::<T>::fund_tab(RawOrigin::Signed(payer.clone()).into(), worker.clone(), amount)
		.expect("a tab opens");
}

#[benchmarks]
mod benches {
	use super::*;

	#[benchmark]
	fn fund_tab() {
		let payer: T::AccountId = account("payer", 0, 0);
		let worker: T::AccountId = account("worker", 0, 0);
		funded::<T>(&payer);
		#[extrinsic_call]
		_(RawOrigin::Signed(payer.clone()), worker.clone(), T::MinTab::get());
		assert!(Tabs::<T>::contains_key(&payer, &worker));
	}

	#[benchmark]
	fn close_tab() {
		let payer: T::AccountId = account("payer", 0, 0);
		let worker: T::AccountId = account("worker", 0, 0);
		opened::<T>(&payer, &worker);
		#[extrinsic_call]
		_(RawOrigin::Signed(payer.clone()), worker.clone());
		assert!(Tabs::<T>::get(&payer, &worker).expect("tab").closes_at.is_some());
	}

	#[benchmark]
	fn withdraw() {
		let payer: T::AccountId = account("payer", 0, 0);
		let worker: T::AccountId = account("worker", 0, 0);
		opened::<T>(&payer, &worker);
		for model in 0..T::MaxVouchers::get() as u64 {
			Spent::<T>::insert(0, model, BalanceOf::<T>::from(1u32));
		}
		Fees::<T>::close_tab(RawOrigin::Signed(payer.clone()).into(), worker.clone())
			.expect("closes");
		frame_system::Pallet::<T>::set_block_number(
			frame_system::Pallet::<T>::block_number() + T::CloseDelay::get(),
		);
		#[extrinsic_call]
		_(RawOrigin::Signed(payer.clone()), worker.clone());
		assert!(!Tabs::<T>::contains_key(&payer, &worker));
	}

	#[benchmark]
	fn set_price() {
		let worker: T::AccountId = account("worker", 0, 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(worker.clone()), 100u32.into());
		assert!(Prices::<T>::contains_key(&worker));
	}

	#[benchmark]
	fn settle(v: Linear<0, { T::MaxVouchers::get() }>) {
		let (payer, sign) = T::BenchmarkHelper::signer().expect("a voucher signer for benchmarks");
		let worker: T::AccountId = account("worker", 0, 0);
		funded::<T>(&worker);
		opened::<T>(&payer, &worker);
		let tab = Tabs::<T>::get(&payer, &worker).expect("tab").id;
		let model = T::Models::bench_model();
		let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
		// Each voucher raises the last: every one pays.
		let vouchers: alloc::vec::Vec<ChargeOf<T>> = (1..=v)
			.map(|i| {
				let voucher = Voucher {
					tab,
					worker: worker.clone(),
					model,
					cumulative: T::MinTab::get().saturating_mul(i.into()),
				};
				let signature = sign(&crate::voucher::payload(&genesis, &voucher));
				let total = voucher.cumulative;
				Charge { signed: SignedVoucher { payer: payer.clone(), voucher, signature }, total }
			})
			.collect();
		#[extrinsic_call]
		_(
			RawOrigin::Signed(worker.clone()),
			UsageCommitment::default(),
			BoundedVec::truncate_from(vouchers),
		);
		let (_, paid) = Settlements::<T>::get(&worker, T::Rewards::fee_period()).expect("settled");
		assert_eq!(paid, T::MinTab::get().saturating_mul(v.into()));
	}

	impl_benchmark_test_suite!(Fees, crate::mock::new_test_ext(), crate::mock::Test);
}
