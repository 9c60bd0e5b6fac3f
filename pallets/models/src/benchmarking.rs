//! Benchmarks of every call, at their worst case (most files, longest names).

use super::*;
use crate::Pallet as ModelCatalog;
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Get};
use frame_support::BoundedVec;
use frame_system::RawOrigin;

fn funded<T: Config>() -> T::AccountId {
	let who: T::AccountId = account("owner", 0, 0);
	T::Currency::set_balance(
		&who,
		T::BaseModelDeposit::get() * 1000u32.into() + 1_000_000u32.into(),
	);
	who
}

/// `n` files (at least 2): `config.json`, then distinct `.safetensors` names of the longest length.
fn files<T: Config>(n: u32) -> FilesOf<T> {
	let len = T::MaxFileNameLen::get() as usize;
	let mut out = alloc::vec![ModelFile {
		name: BoundedVec::truncate_from(b"config.json".to_vec()),
		hash: [1u8; 32],
		bytes: 1
	}];
	for i in 1..n.max(2) {
		let mut name = alloc::vec![b'w'; len.saturating_sub(14)];
		name.extend_from_slice(&[b'a' + (i / 26 % 26) as u8, b'a' + (i % 26) as u8]);
		name.extend_from_slice(b".safetensors");
		out.push(ModelFile {
			name: BoundedVec::truncate_from(name),
			hash: [2u8; 32],
			bytes: 1 << 30,
		});
	}
	BoundedVec::truncate_from(out)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register_base(f: Linear<2, { T::MaxFiles::get() }>) {
		let who = funded::<T>();
		let name = BoundedVec::truncate_from(alloc::vec![b'n'; T::MaxNameLen::get() as usize]);
		let license =
			BoundedVec::truncate_from(alloc::vec![b'l'; T::MaxLicenseLen::get() as usize]);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), name, ModelFamily::Qwen2, license, 7_000_000_000, files::<T>(f));
		assert_eq!(NextBaseModelId::<T>::get(), 1);
	}

	#[benchmark]
	fn retire_base() {
		let who = funded::<T>();
		let base = ModelCatalog::<T>::bench_register_base(&who);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), base);
		assert!(BaseModels::<T>::get(base).map(|m| m.retired).unwrap_or(false));
	}

	impl_benchmark_test_suite!(ModelCatalog, crate::mock::new_test_ext(), crate::mock::Test);
}
