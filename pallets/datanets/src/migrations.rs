//! Storage migrations of the datanets pallet.

/// v1 → v2: the MMR leaf commits the contributor (`mmr::leaf_hash`). Every datanet's peaks and
/// every published version's root are rebuilt from the accepted list, so a version's `(count,
/// root)` keeps naming the same items while its root now also proves who contributed each one.
///
/// Runs in one block: `O(accepted items + versions)` reads. That fits the chains this can meet
/// (test and early networks of thousands of items); a chain with millions of accepted items would
/// need a multi-block migration instead.
pub mod v2 {
	use crate::{
		mmr,
		pallet::{Config, DatanetInfo, MmrPeaks, Pallet, Versions},
		types::{MaxPeaks, MmrHash},
	};
	use alloc::{collections::BTreeMap, vec::Vec};
	use frame_support::{
		defensive,
		migrations::VersionedMigration,
		traits::{Get, UncheckedOnRuntimeUpgrade},
		weights::Weight,
		BoundedVec,
	};

	/// The migration to register in the runtime: runs only when the on-chain version is 1.
	pub type MigrateV1ToV2<T> =
		VersionedMigration<1, 2, RebuildRoots<T>, Pallet<T>, <T as frame_system::Config>::DbWeight>;

	/// Rebuilds the MMR peaks and version roots with contributor-committing leaves.
	pub struct RebuildRoots<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for RebuildRoots<T> {
		fn on_runtime_upgrade() -> Weight {
			let (mut reads, mut writes) = (0u64, 0u64);
			for (datanet, d) in DatanetInfo::<T>::iter() {
				reads += 1;
				// Version numbers by the count they snapshot; several versions never share a
				// count (publishing needs new items) but nothing here relies on it.
				let mut by_count: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
				for (version, v) in Versions::<T>::iter_prefix(datanet) {
					reads += 1;
					by_count.entry(v.count).or_default().push(version);
				}
				let mut roots: Vec<(u32, MmrHash)> = Vec::new();
				let replayed = Pallet::<T>::replay_mmr(datanet, d.accepted, |n, peaks| {
					for version in by_count.get(&n).into_iter().flatten() {
						roots.push((*version, mmr::root(peaks)));
					}
				});
				reads += 2 * d.accepted;
				let Some(peaks) = replayed else {
					defensive!(
						"datanets v2 migration: accepted list has a gap; datanet left as is"
					);
					continue;
				};
				let Ok(peaks) = BoundedVec::<MmrHash, MaxPeaks>::try_from(peaks) else {
					defensive!("datanets v2 migration: more MMR peaks than bits in a u64");
					continue;
				};
				MmrPeaks::<T>::insert(datanet, peaks);
				writes += 1;
				for (version, root) in roots {
					Versions::<T>::mutate(datanet, version, |v| {
						if let Some(v) = v {
							v.root = root;
						}
					});
					reads += 1;
					writes += 1;
				}
			}
			T::DbWeight::get().reads_writes(reads, writes)
		}

		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<Vec<u8>, sp_runtime::TryRuntimeError> {
			use codec::Encode;
			let counts: Vec<(u32, u64, u32)> = DatanetInfo::<T>::iter()
				.map(|(id, d)| (id, d.accepted, Versions::<T>::iter_prefix(id).count() as u32))
				.collect();
			Ok(counts.encode())
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(state: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
			use codec::Decode;
			let before: Vec<(u32, u64, u32)> = Decode::decode(&mut &state[..])
				.map_err(|_| "datanets v2 migration: pre-upgrade state undecodable")?;
			for (id, accepted, versions) in before {
				let d = DatanetInfo::<T>::get(id).ok_or("datanet vanished")?;
				frame_support::ensure!(d.accepted == accepted, "accepted count changed");
				frame_support::ensure!(
					Versions::<T>::iter_prefix(id).count() as u32 == versions,
					"versions changed"
				);
			}
			// The invariants include "every root is the MMR of its items" with the new leaves.
			Pallet::<T>::do_try_state()
		}
	}
}

/// v2 → v3: `ContributionByHash` keys the caller-chosen content hash with `Blake2_128Concat`
/// instead of `Identity` (a caller could otherwise choose trie keys), and no longer holds rejected
/// contributions (a rejection frees the hash). Every entry is read with the old hasher and written
/// with the new one, except those of rejected contributions, which are dropped.
///
/// One block, `O(index entries)`.
pub mod v3 {
	use crate::{
		migrations::v7::V6Contributions as Contributions,
		pallet::{Config, ContributionByHash, Pallet},
		types::{ContentHash, ContributionId, ContributionStatus, DatanetId},
	};
	use alloc::vec::Vec;
	use frame_support::{
		migrations::VersionedMigration,
		traits::{Get, UncheckedOnRuntimeUpgrade},
		weights::Weight,
	};

	mod old {
		use super::*;
		use frame_support::{storage_alias, Identity, Twox64Concat};

		/// The index as storage version 2 keyed it.
		#[storage_alias]
		pub type ContributionByHash<T: Config> = StorageDoubleMap<
			Pallet<T>,
			Twox64Concat,
			DatanetId,
			Identity,
			ContentHash,
			ContributionId,
		>;
	}

	/// The migration to register in the runtime: runs only when the on-chain version is 2.
	pub type MigrateV2ToV3<T> = VersionedMigration<
		2,
		3,
		RekeyHashIndex<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;

	/// Re-keys the content-hash index and drops rejected contributions from it.
	pub struct RekeyHashIndex<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for RekeyHashIndex<T> {
		fn on_runtime_upgrade() -> Weight {
			// Read all first: the old and new maps share the storage prefix.
			let entries: Vec<(DatanetId, ContentHash, ContributionId)> =
				old::ContributionByHash::<T>::drain().collect();
			let (mut reads, mut writes) = (entries.len() as u64, entries.len() as u64);
			for (datanet, hash, id) in entries {
				reads += 1;
				let live = Contributions::<T>::get(id)
					.is_some_and(|c| !matches!(c.status, ContributionStatus::Rejected { .. }));
				if live {
					ContributionByHash::<T>::insert(datanet, hash, id);
					writes += 1;
				}
			}
			T::DbWeight::get().reads_writes(reads, writes)
		}

		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<Vec<u8>, sp_runtime::TryRuntimeError> {
			use codec::Encode;
			let live = Contributions::<T>::iter()
				.filter(|(_, c)| !matches!(c.status, ContributionStatus::Rejected { .. }))
				.count() as u64;
			Ok(live.encode())
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(state: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
			use codec::Decode;
			let live = u64::decode(&mut &state[..])
				.map_err(|_| "datanets v3 migration: pre-upgrade state undecodable")?;
			frame_support::ensure!(
				ContributionByHash::<T>::iter().count() as u64 == live,
				"the index does not hold exactly the live contributions"
			);
			// The invariants need the contribution layout of v7.
			Ok(())
		}
	}
}

/// v3 → v4: rules gain `pending_blocks` (set to `DEFAULT_PENDING_BLOCKS` for every datanet) and
/// `datanet_daily_items` (`DEFAULT_DATANET_DAILY_ITEMS`, at least `MIN_ITEMS_PER_DATANET_DAY`),
/// and an item may be at most a tenth of the datanet's day (`max_item_bytes` is lowered where it was
/// larger); every contribution pending at the upgrade is scheduled to expire `DEFAULT_PENDING_BLOCKS`
/// later (spread over the following blocks when buckets fill).
///
/// One block, `O(datanets + contributions)`.
pub mod v4 {
	use crate::{
		migrations::v7::{ExpiresAt, V6Contributions as Contributions},
		pallet::{BalanceOf, Config, DatanetInfo, Pallet, PendingExpiries},
		types::{
			ContributionStatus, DatanetStatus, Modality, Rules, DEFAULT_DATANET_DAILY_ITEMS,
			DEFAULT_PENDING_BLOCKS, MIN_ITEMS_PER_DATANET_DAY,
		},
	};
	use alloc::vec::Vec;
	use codec::{Decode, Encode};
	use frame_support::{
		migrations::VersionedMigration,
		traits::{Get, UncheckedOnRuntimeUpgrade},
		weights::Weight,
		BoundedVec,
	};

	/// Rules and datanets as storage version 3 encoded them.
	mod old {
		use super::*;

		#[derive(Encode, Decode)]
		pub struct Rules<Balance> {
			pub max_item_bytes: u64,
			pub contributor_daily_bytes: u64,
			pub contributor_daily_items: u32,
			pub datanet_daily_bytes: u64,
			pub approval_quorum: u32,
			pub rejection_quorum: u32,
			pub contribution_deposit: Balance,
			pub curator_fee: Balance,
		}

		#[derive(Encode, Decode)]
		pub struct Datanet<AccountId, Balance, NameLen, DescLen, MaxFormats, FormatLen>
		where
			NameLen: Get<u32>,
			DescLen: Get<u32>,
			MaxFormats: Get<u32>,
			FormatLen: Get<u32>,
		{
			pub owner: AccountId,
			pub name: BoundedVec<u8, NameLen>,
			pub description: BoundedVec<u8, DescLen>,
			pub modality: Modality,
			pub formats: BoundedVec<BoundedVec<u8, FormatLen>, MaxFormats>,
			pub rules: Rules<Balance>,
			pub status: DatanetStatus,
			pub deposit: Balance,
			pub submitted: u64,
			pub accepted: u64,
			pub rejected: u64,
		}

		pub type DatanetOf<T> = Datanet<
			<T as frame_system::Config>::AccountId,
			BalanceOf<T>,
			<T as Config>::MaxNameLen,
			<T as Config>::MaxDescriptionLen,
			<T as Config>::MaxFormats,
			<T as Config>::MaxFormatLen,
		>;
	}

	/// The migration to register in the runtime: runs only when the on-chain version is 3.
	pub type MigrateV3ToV4<T> = VersionedMigration<
		3,
		4,
		AddPendingExpiry<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;

	/// Adds `pending_blocks` to every datanet's rules and schedules pending contributions.
	pub struct AddPendingExpiry<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for AddPendingExpiry<T> {
		fn on_runtime_upgrade() -> Weight {
			let (mut reads, mut writes) = (0u64, 0u64);
			// Written in the layout of storage versions 4 and 5 (`v6` adds a field after them).
			let ids: Vec<_> = DatanetInfo::<T>::iter_keys().collect();
			for id in ids {
				let key = DatanetInfo::<T>::hashed_key_for(id);
				reads += 1;
				let Some(d) = frame_support::storage::unhashed::get::<old::DatanetOf<T>>(&key)
				else {
					continue;
				};
				writes += 1;
				let r = d.rules;
				let new = crate::migrations::v6::V5DatanetOf::<T> {
					owner: d.owner,
					name: d.name,
					description: d.description,
					modality: d.modality,
					formats: d.formats,
					rules: Rules {
						max_item_bytes: r
							.max_item_bytes
							.min(r.datanet_daily_bytes / u64::from(MIN_ITEMS_PER_DATANET_DAY)),
						contributor_daily_bytes: r.contributor_daily_bytes,
						contributor_daily_items: r.contributor_daily_items,
						datanet_daily_bytes: r.datanet_daily_bytes,
						datanet_daily_items: DEFAULT_DATANET_DAILY_ITEMS,
						approval_quorum: r.approval_quorum,
						rejection_quorum: r.rejection_quorum,
						contribution_deposit: r.contribution_deposit,
						curator_fee: r.curator_fee,
						pending_blocks: DEFAULT_PENDING_BLOCKS,
					},
					status: d.status,
					deposit: d.deposit,
					submitted: d.submitted,
					accepted: d.accepted,
					rejected: d.rejected,
				};
				frame_support::storage::unhashed::put(&key, &new);
			}
			let pending: Vec<u64> = Contributions::<T>::iter()
				.inspect(|_| reads += 1)
				.filter(|(_, c)| c.status == ContributionStatus::Pending)
				.map(|(id, _)| id)
				.collect();
			let mut block =
				frame_system::Pallet::<T>::block_number() + DEFAULT_PENDING_BLOCKS.into();
			for id in pending {
				// Unbounded spill is fine here: the upgrade places each pending item once.
				while !PendingExpiries::<T>::mutate(block, |b| b.try_push(id).is_ok()) {
					block += 1u32.into();
					reads += 1;
				}
				ExpiresAt::<T>::insert(id, block);
				reads += 1;
				writes += 2;
			}
			T::DbWeight::get().reads_writes(reads, writes)
		}

		// No `post_upgrade` check here: the datanet layout changes again in v6, whose
		// `post_upgrade` runs every invariant.
	}
}

/// v4 → v5: leaderboards are stored sorted (`TopContributors`, see [`crate::board`]). Each
/// datanet's board and the global one are built once from the records: `O(n log n)` in records,
/// one block.
pub mod v5 {
	use crate::pallet::{Config, DatanetInfo, Pallet, TopContributors};
	use frame_support::{
		migrations::VersionedMigration,
		traits::{Get, UncheckedOnRuntimeUpgrade},
		weights::Weight,
		BoundedVec,
	};

	/// The migration to register in the runtime: runs only when the on-chain version is 4.
	pub type MigrateV4ToV5<T> =
		VersionedMigration<4, 5, BuildBoards<T>, Pallet<T>, <T as frame_system::Config>::DbWeight>;

	/// Builds every stored leaderboard from the contributor records.
	pub struct BuildBoards<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for BuildBoards<T> {
		fn on_runtime_upgrade() -> Weight {
			let (mut reads, mut writes) = (0u64, 0u64);
			let boards = DatanetInfo::<T>::iter_keys().map(Some).chain(core::iter::once(None));
			for board in boards.collect::<alloc::vec::Vec<_>>() {
				let records = Pallet::<T>::board_records(board);
				reads += 1 + records.len() as u64;
				let entries = Pallet::<T>::sort_board(records);
				TopContributors::<T>::insert(board, BoundedVec::truncate_from(entries));
				writes += 1;
			}
			T::DbWeight::get().reads_writes(reads, writes)
		}
		// Checked by v6's `post_upgrade` (datanets only decode in the current layout after it).
	}
}

/// v5 → v6: a datanet records whether it counts on the global board (`board_bond`). Every
/// datanet existing at the upgrade already counted there, so each gets `Some(0)`: on the board,
/// with no bond (new datanets join with `join_global_board` and a bond). `O(datanets)`, one block.
pub mod v6 {
	use crate::{
		pallet::{BalanceOf, Config, DatanetInfo, Pallet},
		types::{DatanetStatus, Modality, Rules},
	};
	use codec::{Decode, Encode};
	use frame_support::{
		migrations::VersionedMigration,
		traits::{Get, UncheckedOnRuntimeUpgrade},
		weights::Weight,
		BoundedVec,
	};
	use sp_runtime::traits::Zero;

	/// A datanet as storage versions 4 and 5 encoded it.
	#[derive(Encode, Decode)]
	pub(crate) struct V5Datanet<AccountId, Balance, NameLen, DescLen, MaxFormats, FormatLen>
	where
		NameLen: Get<u32>,
		DescLen: Get<u32>,
		MaxFormats: Get<u32>,
		FormatLen: Get<u32>,
	{
		pub owner: AccountId,
		pub name: BoundedVec<u8, NameLen>,
		pub description: BoundedVec<u8, DescLen>,
		pub modality: Modality,
		pub formats: BoundedVec<BoundedVec<u8, FormatLen>, MaxFormats>,
		pub rules: Rules<Balance>,
		pub status: DatanetStatus,
		pub deposit: Balance,
		pub submitted: u64,
		pub accepted: u64,
		pub rejected: u64,
	}

	pub(crate) type V5DatanetOf<T> = V5Datanet<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		<T as Config>::MaxNameLen,
		<T as Config>::MaxDescriptionLen,
		<T as Config>::MaxFormats,
		<T as Config>::MaxFormatLen,
	>;

	/// The migration to register in the runtime: runs only when the on-chain version is 5.
	pub type MigrateV5ToV6<T> =
		VersionedMigration<5, 6, PutOnBoard<T>, Pallet<T>, <T as frame_system::Config>::DbWeight>;

	/// Marks every existing datanet as on the global board, without a bond.
	pub struct PutOnBoard<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for PutOnBoard<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut n = 0u64;
			DatanetInfo::<T>::translate::<V5DatanetOf<T>, _>(|_, d| {
				n += 1;
				Some(crate::types::Datanet {
					owner: d.owner,
					name: d.name,
					description: d.description,
					modality: d.modality,
					formats: d.formats,
					rules: d.rules,
					status: d.status,
					deposit: d.deposit,
					submitted: d.submitted,
					accepted: d.accepted,
					rejected: d.rejected,
					board_bond: Some(Zero::zero()),
				})
			});
			T::DbWeight::get().reads_writes(n, n)
		}

		// No `post_upgrade` check here: contributions change layout in v7, whose `post_upgrade`
		// runs every invariant.
	}
}

/// v6 → v7: contributions carry a record deposit (none was held for those stored before, so it
/// is zero: their records stay free, as they were) and the blocks of their commitment and expiry,
/// taken from the `CommittedAt` and `ExpiresAt` maps, which go (a reveal then writes two entries
/// fewer); closed datanets record the block they closed in (the upgrade block: clearing them
/// waits `ClearDelay` from now). Closing no longer releases the owner's deposit; datanets closed
/// before kept theirs released (zero).
///
/// Runs in one block: `O(contributions + datanets)`, as the earlier migrations.
pub mod v7 {
	use crate::{
		pallet::{BalanceOf, ClosedAt, Config, Contributions, DatanetInfo, Pallet},
		types::{ContentHash, ContributionId, ContributionStatus, DatanetId, DatanetStatus},
	};
	use codec::{Decode, Encode};
	use frame_support::Twox64Concat;
	use frame_support::{
		migrations::VersionedMigration,
		traits::{Get, UncheckedOnRuntimeUpgrade},
		weights::Weight,
		BoundedVec,
	};
	use frame_system::pallet_prelude::BlockNumberFor;
	use sp_runtime::traits::Zero;

	/// A contribution as storage versions up to 6 encoded it.
	#[derive(Encode, Decode)]
	pub(crate) struct V6Contribution<AccountId, Balance, BlockNumber, FormatLen, MetaLen>
	where
		FormatLen: Get<u32>,
		MetaLen: Get<u32>,
	{
		pub datanet: DatanetId,
		pub contributor: AccountId,
		pub content_hash: ContentHash,
		pub bytes: u64,
		pub format: BoundedVec<u8, FormatLen>,
		pub metadata: BoundedVec<u8, MetaLen>,
		pub submitted_at: BlockNumber,
		pub approvals: u32,
		pub rejections: u32,
		pub deposit: Balance,
		pub status: ContributionStatus,
	}

	pub(crate) type V6ContributionOf<T> = V6Contribution<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		BlockNumberFor<T>,
		<T as Config>::MaxFormatLen,
		<T as Config>::MaxMetadataLen,
	>;

	/// `Contributions` in the layout of storage versions 1 to 6 (for the migrations up to v7).
	pub(crate) mod v6_layout {
		use super::*;

		#[frame_support::storage_alias]
		pub(crate) type Contributions<T: Config> =
			StorageMap<Pallet<T>, Twox64Concat, ContributionId, V6ContributionOf<T>>;
	}
	pub(crate) use v6_layout::Contributions as V6Contributions;

	/// Storage versions 4 to 6: the block each pending contribution expires in.
	#[frame_support::storage_alias]
	pub(crate) type ExpiresAt<T: Config> =
		StorageMap<Pallet<T>, Twox64Concat, ContributionId, BlockNumberFor<T>>;

	/// Storage version 6: the block each pending contribution's author committed in.
	#[frame_support::storage_alias]
	pub(crate) type CommittedAt<T: Config> =
		StorageMap<Pallet<T>, Twox64Concat, ContributionId, BlockNumberFor<T>>;

	/// The migration to register in the runtime: runs only when the on-chain version is 6.
	pub type MigrateV6ToV7<T> = VersionedMigration<
		6,
		7,
		AddRecordDeposits<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;

	/// Adds a zero record deposit to each contribution and a close block to each closed datanet.
	pub struct AddRecordDeposits<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for AddRecordDeposits<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut n = 0u64;
			Contributions::<T>::translate::<V6ContributionOf<T>, _>(|id, c| {
				n += 1;
				// Set only while pending; a contribution pending from before commitments existed
				// counts as committed at block 0 (nobody takes it over).
				let committed_at = CommittedAt::<T>::take(id).unwrap_or_default();
				let expires_at = ExpiresAt::<T>::take(id).unwrap_or_default();
				Some(crate::types::Contribution {
					datanet: c.datanet,
					contributor: c.contributor,
					content_hash: c.content_hash,
					bytes: c.bytes,
					format: c.format,
					metadata: c.metadata,
					submitted_at: c.submitted_at,
					approvals: c.approvals,
					rejections: c.rejections,
					deposit: c.deposit,
					status: c.status,
					record_deposit: Zero::zero(),
					committed_at,
					expires_at,
				})
			});
			// Nothing else should be left in the old maps; clear them whatever they hold.
			let left = ExpiresAt::<T>::clear(u32::MAX, None).unique
				+ CommittedAt::<T>::clear(u32::MAX, None).unique;
			let now = frame_system::Pallet::<T>::block_number();
			let mut closed = 0u64;
			for (id, d) in DatanetInfo::<T>::iter() {
				n += 1;
				if d.status == DatanetStatus::Closed && !ClosedAt::<T>::contains_key(id) {
					ClosedAt::<T>::insert(id, now);
					closed += 1;
				}
			}
			let (n, left) = (n * 3, u64::from(left));
			T::DbWeight::get().reads_writes(n + closed + left, n + closed + left)
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(_: alloc::vec::Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
			Pallet::<T>::do_try_state()
		}
	}
}
