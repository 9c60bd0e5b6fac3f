//! What other pallets may read of datanets: published versions and the items they commit. Jobs pin
//! a version; attribution and rewards walk its items. They read through this trait, never the storage.

use crate::{
	pallet::{AcceptedList, ClearCursor, Config, Contributions, DatanetInfo, Pallet, Versions},
	types::{ContentHash, ContributionId, DatanetId, MmrHash, Modality},
};

/// A published version of a datanet, as other pallets see it.
#[derive(Clone, Copy, Eq, PartialEq, Debug)]
pub struct VersionInfo {
	pub modality: Modality,
	/// The version holds the first `count` accepted items.
	pub count: u64,
	pub root: MmrHash,
}

/// The item at one position of a datanet's accepted list.
#[derive(Clone, Eq, PartialEq, Debug)]
pub struct DatasetItem<AccountId> {
	pub contribution: ContributionId,
	pub contributor: AccountId,
	pub content_hash: ContentHash,
	pub bytes: u64,
}

/// Read access to published datasets.
pub trait DatasetRead<AccountId> {
	/// Version `version` of `datanet`, if published.
	fn version(datanet: DatanetId, version: u32) -> Option<VersionInfo>;
	/// The accepted item at `index` (0-based) of `datanet`'s accepted list.
	fn item(datanet: DatanetId, index: u64) -> Option<DatasetItem<AccountId>>;
	/// The datanet's owner, if it exists.
	fn owner(datanet: DatanetId) -> Option<AccountId>;
	/// Publishes version 1 of a new text datanet holding one accepted item (benchmark set-up only);
	/// returns the datanet.
	#[cfg(feature = "runtime-benchmarks")]
	fn bench_text_version(owner: &AccountId) -> DatanetId;
}

impl<T: Config> DatasetRead<T::AccountId> for Pallet<T> {
	fn version(datanet: DatanetId, version: u32) -> Option<VersionInfo> {
		// Items go while a closed datanet is cleared: no new job may pin one of its versions.
		if ClearCursor::<T>::contains_key(datanet) {
			return None;
		}
		let d = DatanetInfo::<T>::get(datanet)?;
		let v = Versions::<T>::get(datanet, version)?;
		Some(VersionInfo { modality: d.modality, count: v.count, root: v.root })
	}

	fn owner(datanet: DatanetId) -> Option<T::AccountId> {
		DatanetInfo::<T>::get(datanet).map(|d| d.owner)
	}

	fn item(datanet: DatanetId, index: u64) -> Option<DatasetItem<T::AccountId>> {
		let id = AcceptedList::<T>::get(datanet, index)?;
		let c = Contributions::<T>::get(id)?;
		Some(DatasetItem {
			contribution: id,
			contributor: c.contributor,
			content_hash: c.content_hash,
			bytes: c.bytes,
		})
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn bench_text_version(owner: &T::AccountId) -> DatanetId {
		use crate::types::{Modality, Rules, Vote};
		use frame_support::{
			traits::{fungible::Inspect, fungible::Mutate, Get},
			BoundedVec,
		};
		use frame_system::RawOrigin;
		use sp_runtime::traits::Saturating;
		let rich = T::DatanetDeposit::get().saturating_add(T::Currency::minimum_balance())
			* 1000u32.into();
		let curator: T::AccountId = frame_benchmarking::account("bench-curator", 0, 0);
		let contributor: T::AccountId = frame_benchmarking::account("bench-contributor", 0, 0);
		for who in [owner, &curator, &contributor] {
			if T::Currency::balance(who) < rich {
				T::Currency::set_balance(who, rich);
			}
		}
		if !Pallet::<T>::is_bonded_curator(&curator) {
			T::Currency::set_balance(&curator, rich.saturating_add(T::CuratorBond::get()));
			Pallet::<T>::do_bond_curator(&curator, T::CuratorBond::get())
				.expect("benchmark curator bonds");
		}
		let id = Pallet::<T>::do_create_datanet(
			owner.clone(),
			BoundedVec::truncate_from(b"bench".to_vec()),
			BoundedVec::new(),
			Modality::Text,
			BoundedVec::truncate_from(alloc::vec![BoundedVec::truncate_from(b"jsonl".to_vec())]),
			Rules::with_defaults(),
			BoundedVec::truncate_from(alloc::vec![curator.clone()]),
			T::DatanetDeposit::get(),
		)
		.expect("benchmark datanet");
		let cid = crate::pallet::NextContributionId::<T>::get();
		Pallet::<T>::commit_contribution(
			RawOrigin::Signed(contributor.clone()).into(),
			crate::commitments::commitment_of(id, &[4u8; 32], &contributor),
		)
		.expect("benchmark commitment");
		let now = frame_system::Pallet::<T>::block_number();
		frame_system::Pallet::<T>::set_block_number(now.saturating_add(1u32.into()));
		Pallet::<T>::submit_contribution(
			RawOrigin::Signed(contributor).into(),
			id,
			[4u8; 32],
			100,
			BoundedVec::truncate_from(b"jsonl".to_vec()),
			BoundedVec::new(),
		)
		.expect("benchmark contribution");
		Pallet::<T>::vote(RawOrigin::Signed(curator).into(), cid, Vote::Approve)
			.expect("benchmark vote");
		Pallet::<T>::publish_version(RawOrigin::Signed(owner.clone()).into(), id)
			.expect("benchmark version");
		id
	}
}
