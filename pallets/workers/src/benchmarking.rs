//! Benchmarks of every call, at their worst case (longest peer id and addresses).

use super::*;
use crate::Pallet as Workers;
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Get};
use frame_support::BoundedVec;
use frame_system::RawOrigin;

fn funded<T: Config>(name: &'static str) -> T::AccountId {
	let who: T::AccountId = account(name, 0, 0);
	T::Currency::set_balance(&who, T::MinBond::get() * 1000u32.into());
	who
}

fn peer<T: Config>() -> PeerIdOf<T> {
	BoundedVec::truncate_from(alloc::vec![7u8; T::MaxPeerIdLen::get() as usize])
}

fn addrs<T: Config>() -> AddrsOf<T> {
	let one = BoundedVec::truncate_from(alloc::vec![b'a'; T::MaxAddrLen::get() as usize]);
	BoundedVec::truncate_from(alloc::vec![one; T::MaxAddrs::get() as usize])
}

/// The longest valid endpoint.
fn endpoint<T: Config>() -> EndpointOf<T> {
	let mut url = b"https://".to_vec();
	url.resize(T::MaxEndpointLen::get() as usize, b'a');
	BoundedVec::truncate_from(url)
}

fn caps() -> Capabilities {
	Capabilities { device: Device::Cuda, memory_mib: 80_000, max_model_params: 8_000_000_000 }
}

fn registered<T: Config>() -> T::AccountId {
	let who = funded::<T>("worker");
	Workers::<T>::register(
		RawOrigin::Signed(who.clone()).into(),
		T::MinBond::get(),
		peer::<T>(),
		addrs::<T>(),
		caps(),
	)
	.expect("registers");
	who
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register() {
		let who = funded::<T>("worker");
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), T::MinBond::get(), peer::<T>(), addrs::<T>(), caps());
		assert!(crate::WorkerInfo::<T>::contains_key(&who));
	}

	#[benchmark]
	fn update() {
		let who = registered::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), peer::<T>(), addrs::<T>(), caps());
		assert!(crate::WorkerInfo::<T>::contains_key(&who));
	}

	#[benchmark]
	fn bond_extra() {
		let who = registered::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), T::MinBond::get());
		assert_eq!(
			crate::WorkerInfo::<T>::get(&who).map(|w| w.bond),
			Some(T::MinBond::get() * 2u32.into())
		);
	}

	#[benchmark]
	fn unbond() {
		let who = registered::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(Workers::<T>::active_capabilities(&who).is_none());
	}

	#[benchmark]
	fn withdraw() {
		let who = registered::<T>();
		Workers::<T>::set_endpoint(RawOrigin::Signed(who.clone()).into(), Some(endpoint::<T>()))
			.expect("sets an endpoint");
		Workers::<T>::unbond(RawOrigin::Signed(who.clone()).into()).expect("unbonds");
		let later = frame_system::Pallet::<T>::block_number() + T::UnbondDelay::get();
		frame_system::Pallet::<T>::set_block_number(later);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!crate::WorkerInfo::<T>::contains_key(&who));
		assert!(!crate::Endpoints::<T>::contains_key(&who));
	}

	#[benchmark]
	fn set_endpoint() {
		let who = registered::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), Some(endpoint::<T>()));
		assert_eq!(crate::Endpoints::<T>::get(&who), Some(endpoint::<T>()));
	}

	impl_benchmark_test_suite!(Workers, crate::mock::new_test_ext(), crate::mock::Test);
}
