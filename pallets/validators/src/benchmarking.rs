//! Benchmarks of every call at its worst case: a full set, and for the Aura report two sealed
//! headers checked, an offence recorded, the offender disabled and removed.

use super::*;
use codec::{Decode, Encode};
use frame_benchmarking::v2::*;
use frame_support::traits::Get;
use frame_system::{pallet_prelude::HeaderFor, RawOrigin};
use sp_consensus_aura::{sr25519::AuthorityId, Slot, AURA_ENGINE_ID};
use sp_runtime::{
	generic::{Digest, DigestItem},
	traits::{Header as _, TrailingZeroInput},
	RuntimeAppPublic,
};

/// A full planned set (less `room` seats), each with session keys.
fn full_set<T: Config>(room: u32) -> alloc::vec::Vec<T::AccountId> {
	let set: alloc::vec::Vec<T::AccountId> =
		(0..T::MaxValidators::get() - room).map(|i| account("validator", i, 0)).collect();
	for who in &set {
		with_keys::<T>(who);
	}
	PlannedValidators::<T>::put(ValidatorsOf::<T>::truncate_from(set.clone()));
	set
}

fn with_keys<T: Config>(who: &T::AccountId) {
	let keys = T::Keys::decode(&mut TrailingZeroInput::zeroes()).expect("keys decode from zeroes");
	pallet_session::NextKeys::<T>::insert(who, keys);
}

/// A header at `slot`, varied by `salt`, sealed by `author` through the keystore.
fn sealed<T: Config>(author: &AuthorityId, slot: u64, salt: u8) -> HeaderFor<T> {
	let digest = Digest {
		logs: alloc::vec![DigestItem::PreRuntime(AURA_ENGINE_ID, Slot::from(slot).encode())],
	};
	let root = T::Hash::decode(&mut TrailingZeroInput::new(&[salt; 32])).expect("hash decodes");
	let mut header = HeaderFor::<T>::new(1u32.into(), root, root, Default::default(), digest);
	let signature = author.sign(&header.hash().as_ref()).expect("the key is in the keystore");
	header.digest_mut().push(DigestItem::Seal(AURA_ENGINE_ID, signature.encode()));
	header
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn add_validator() {
		full_set::<T>(1);
		let who: T::AccountId = account("joiner", 0, 0);
		with_keys::<T>(&who);
		#[extrinsic_call]
		_(RawOrigin::Root, who.clone());
		assert!(PlannedValidators::<T>::get().contains(&who));
	}

	#[benchmark]
	fn remove_validator() {
		let set = full_set::<T>(0);
		let last = set.last().expect("a full set").clone();
		#[extrinsic_call]
		_(RawOrigin::Root, last.clone());
		assert!(!PlannedValidators::<T>::get().contains(&last));
	}

	#[benchmark]
	fn set_session_length() {
		let blocks = T::MinSessionLength::get();
		#[extrinsic_call]
		_(RawOrigin::Root, blocks);
		assert_eq!(SessionLength::<T>::get(), blocks);
	}

	#[benchmark]
	fn report_aura_equivocation() {
		let set = full_set::<T>(0);
		let offender = set.last().expect("a full set").clone();
		pallet_session::Validators::<T>::put(set);
		let key = AuthorityId::generate_pair(None);
		pallet_session::KeyOwner::<T>::insert(
			(<AuthorityId as RuntimeAppPublic>::ID, key.to_raw_vec()),
			offender.clone(),
		);
		pallet_aura::CurrentSlot::<T>::put(Slot::from(1_000));
		let proof = AuraEquivocationProof {
			offender: key.clone(),
			slot: Slot::from(999),
			first_header: sealed::<T>(&key, 999, 1),
			second_header: sealed::<T>(&key, 999, 2),
		};
		#[extrinsic_call]
		_(RawOrigin::None, alloc::boxed::Box::new(proof));
		assert!(!PlannedValidators::<T>::get().contains(&offender));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
