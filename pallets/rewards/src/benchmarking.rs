//! Benchmarks of every call at its worst case (the longest proof; a sweep that pays back).

use super::*;
use crate::Pallet as Rewards;
use codec::Encode;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use sp_runtime::traits::{BlakeTwo256, Hash};

fn funded<T: Config>(name: &'static str) -> T::AccountId {
	let who: T::AccountId = account(name, 0, 0);
	T::Currency::set_balance(&who, 1_000_000_000u32.into());
	who
}

/// A pool for job 0 whose table has 2^p leaves, and a valid claim for its first leaf: the proof's
/// hashes are arbitrary, and the root is what they hash up to.
fn pool_with_proof<T: Config>(p: u32) -> (LeafOf<T>, BoundedVec<[u8; 32], T::MaxProofLen>) {
	let owner = funded::<T>("owner");
	let datanet = T::Datanets::bench_datanet(&owner);
	let leaf =
		Leaf { role: Role::Contributor, account: account("contributor", 0, 0), item: 1, ppm: 1 };
	let proof: alloc::vec::Vec<[u8; 32]> = (0..p).map(|i| [i as u8 + 1; 32]).collect();
	let mut node = BlakeTwo256::hash(&leaf.encode()).0;
	for sibling in &proof {
		let mut pair = node.to_vec();
		pair.extend_from_slice(sibling);
		node = BlakeTwo256::hash(&pair).0;
	}
	let payer = funded::<T>("builder");
	let worker = funded::<T>("worker");
	let leaves = 1u32.checked_shl(p).unwrap_or(u32::MAX);
	<Rewards<T> as RewardPools<_, _>>::open(
		0,
		datanet,
		&payer,
		1_000_000u32.into(),
		&worker,
		node,
		leaves,
	)
	.expect("pool opens");
	(leaf, BoundedVec::truncate_from(proof))
}

#[benchmarks]
mod benches {
	use super::*;

	#[benchmark]
	fn set_split() {
		let owner = funded::<T>("owner");
		let datanet = T::Datanets::bench_datanet(&owner);
		let split = RewardSplit {
			contributors: 700_000,
			curators: 100_000,
			worker: 150_000,
			owner: 50_000,
		};
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), datanet, split);
		assert_eq!(Splits::<T>::get(datanet), Some(split));
	}

	#[benchmark]
	fn claim(p: Linear<0, { T::MaxProofLen::get() }>) {
		let (leaf, proof) = pool_with_proof::<T>(p);
		let caller = funded::<T>("caller");
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), 0, 0, leaf, proof);
		assert!(Claimed::<T>::contains_key(0, 0));
	}

	#[benchmark]
	fn sweep() {
		let _ = pool_with_proof::<T>(1);
		let expires = Pools::<T>::get(0).expect("pool").expires_at;
		frame_system::Pallet::<T>::set_block_number(expires);
		let caller = funded::<T>("caller");
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), 0);
		assert!(Pools::<T>::get(0).is_none());
	}

	impl_benchmark_test_suite!(Rewards, crate::mock::new_test_ext(), crate::mock::Test);
}
