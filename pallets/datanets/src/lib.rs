//! # Datanets pallet
//!
//! Datanets are datasets with rules. An owner creates one with a single modality (text, image or
//! audio), the formats it allows, size and daily caps, a curator set and the votes needed to decide.
//! Contributors submit the BLAKE3 hash, size and format of a file, signed with their key; the chain
//! refuses a submission that breaks a rule before it is stored, and holds a deposit while it is pending.
//! Curators vote once each; at the approval quorum the contribution is accepted and appended to the
//! datanet's Merkle mountain range ([`mmr`]), at the rejection quorum it is rejected. The deposit comes
//! back either way: an honest rejection costs nothing and never lowers anyone's rank. The owner
//! publishes versions, `(count, root)` snapshots that training jobs name to pin an exact dataset.
//!
//! Storage is paid for while it lives (`clearing.rs`): each contribution holds a record deposit
//! until its record is removed (by its contributor once rejected, expired or superseded), the
//! owner's deposit lasts until the datanet is cleared, and anyone clears a closed datanet in
//! bounded steps once `ClearDelay` has passed, each deposit going back to whoever paid it.
//!
//! Leaderboard: per datanet and globally, contributors rank by accepted contributions, then accepted
//! bytes, then the earliest first acceptance (see [`types::ContributorStats`]). The runtime API
//! [`DatanetsApi`] serves it paged and sorted.
//!
//! Pending contributions expire after the datanet's `pending_blocks`: each sits in a per-block bucket
//! (`PendingExpiries`, at most `MaxExpiriesPerBlock`; a full block pushes it to the next with room,
//! within `EXPIRY_SPILL_BLOCKS`) that `on_initialize` takes, so nothing is scanned. An expired
//! contribution frees its hash, and its deposit goes to the curation pot: a submission nobody can
//! fetch or decide costs its submitter, and pays the curators who tried.
//!
//! Contributions are committed before they are revealed ([`commitments`]): the contributor posts a
//! commitment to `(datanet, hash, contributor)`, submits in a later block, and only then sends the
//! bytes; an earlier commitment to the same bytes takes the hash from a later one while it is
//! pending, so someone who learns a hash cannot take the credit for it.
//!
//! Curation pot (optional): anyone may fund a datanet's pot; while it can pay, each decided
//! contribution pays the datanet's `curator_fee` once, shared by the curators who voted with the
//! decision. Paying per decision, not per vote, bounds what an owner who raises the fee can take
//! out through curators of their own. An empty pot never blocks voting.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

mod board;
mod clearing;
pub mod commitments;
mod curator_bonds;
mod expiry;
mod invariants;
pub mod migrations;
pub mod mmr;
pub mod read;
mod rules_change;
pub mod types;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod fuzz;
#[cfg(feature = "std")]
pub mod fuzzing;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use commitments::commitment_of;
pub use read::{DatasetItem, DatasetRead, VersionInfo};
pub use types::*;
pub use weights::WeightInfo;

use alloc::vec::Vec;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			tokens::{Fortitude, Precision, Preservation},
			UnixTime,
		},
		PalletId,
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::traits::{AccountIdConversion, Saturating, Zero};

	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	pub type DatanetOf<T> = Datanet<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		<T as Config>::MaxNameLen,
		<T as Config>::MaxDescriptionLen,
		<T as Config>::MaxFormats,
		<T as Config>::MaxFormatLen,
	>;
	pub type ContributionOf<T> = Contribution<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		BlockNumberFor<T>,
		<T as Config>::MaxFormatLen,
		<T as Config>::MaxMetadataLen,
	>;
	pub type RulesOf<T> = Rules<BalanceOf<T>>;
	pub type CuratorBondOf<T> = CuratorBondInfo<BalanceOf<T>, BlockNumberFor<T>>;
	pub type FormatOf<T> = BoundedVec<u8, <T as Config>::MaxFormatLen>;
	pub type FormatsOf<T> = BoundedVec<FormatOf<T>, <T as Config>::MaxFormats>;
	pub type CuratorsOf<T> =
		BoundedVec<<T as frame_system::Config>::AccountId, <T as Config>::MaxCurators>;

	/// v2: the MMR leaf commits the contributor ([`migrations::v2`]); v3: the content-hash index is
	/// keyed with `Blake2_128Concat` and frees rejected hashes ([`migrations::v3`]); v4: rules have
	/// `pending_blocks` and pending contributions expire ([`migrations::v4`]); v5: leaderboards
	/// are stored sorted ([`migrations::v5`]); v6: datanets record whether they count on the
	/// global board ([`migrations::v6`]); v7: contributions hold a record deposit and carry
	/// their commitment and expiry blocks (the `CommittedAt` and `ExpiresAt` maps are gone), and
	/// closed datanets record when they closed ([`migrations::v7`]). `Commitments` started empty:
	/// no migration.
	pub(crate) const STORAGE_VERSION: StorageVersion = StorageVersion::new(7);

	/// Blocks an expiry may be pushed past its due block when buckets are full.
	pub const EXPIRY_SPILL_BLOCKS: u32 = 16;

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency deposits are held in and curator fees are paid in.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;
		/// Wall-clock time; daily caps count UTC days of it.
		type Time: UnixTime;
		/// Derives each datanet's curation pot account.
		#[pallet::constant]
		type PalletId: Get<PalletId>;
		/// Held from the owner for as long as a datanet's storage lives (until it is cleared).
		#[pallet::constant]
		type DatanetDeposit: Get<BalanceOf<Self>>;
		/// Held from a contributor for as long as a contribution's record is stored (with
		/// `RecordDepositPerByte` per metadata byte): pays for the record, its votes, its hash
		/// index entry and its accepted-list entry.
		#[pallet::constant]
		type RecordDepositBase: Get<BalanceOf<Self>>;
		/// Record deposit per byte of a contribution's metadata.
		#[pallet::constant]
		type RecordDepositPerByte: Get<BalanceOf<Self>>;
		/// Blocks between closing a datanet and anyone being able to clear its storage: longer
		/// than any contribution can stay pending, and time for jobs on its versions to finish.
		#[pallet::constant]
		type ClearDelay: Get<u32>;
		/// Held for good from the owner of a datanet that counts on the global board.
		#[pallet::constant]
		type GlobalBoardBond: Get<BalanceOf<Self>>;
		/// Longest datanet name, in bytes.
		#[pallet::constant]
		type MaxNameLen: Get<u32>;
		/// Longest datanet description, in bytes.
		#[pallet::constant]
		type MaxDescriptionLen: Get<u32>;
		/// Most formats one datanet allows.
		#[pallet::constant]
		type MaxFormats: Get<u32>;
		/// Longest format name, in bytes.
		#[pallet::constant]
		type MaxFormatLen: Get<u32>;
		/// Most curators of one datanet.
		#[pallet::constant]
		type MaxCurators: Get<u32>;
		/// Longest contribution metadata, in bytes.
		#[pallet::constant]
		type MaxMetadataLen: Get<u32>;
		/// Longest `pending_blocks` rules may set.
		#[pallet::constant]
		type MaxPendingBlocks: Get<u32>;
		/// Most contributions expiring in one block.
		#[pallet::constant]
		type MaxExpiriesPerBlock: Get<u32>;
		/// Most contributors a leaderboard (each datanet's, and the global one) lists.
		#[pallet::constant]
		type MaxLeaderboardLen: Get<u32>;
		/// Blocks a change of a datanet's fee, quorums or deposit waits before it applies.
		#[pallet::constant]
		type RulesChangeDelay: Get<u32>;
		/// May close any datanet and sweep its curation pot (root now, governance later).
		type ForceOrigin: EnsureOrigin<Self::RuntimeOrigin>;
		/// Most live commitments one account may hold.
		#[pallet::constant]
		type MaxCommitments: Get<u32>;
		/// Blocks a commitment stays revealable (and counts as a claim) after the block it was
		/// made in.
		#[pallet::constant]
		type CommitmentLifetime: Get<u32>;
		/// What a curator holds before its votes count (`bond_curator`); `ForceOrigin` can
		/// slash it.
		#[pallet::constant]
		type CuratorBond: Get<BalanceOf<Self>>;
		/// Blocks between `unbond_curator` and `withdraw_curator_bond`: the bond stays slashable
		/// for a while after the curator's last vote.
		#[pallet::constant]
		type CuratorUnbondDelay: Get<u32>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Reasons this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A datanet's creation deposit.
		DatanetDeposit,
		/// A contribution's deposits: the decision deposit while it is pending, and the record
		/// deposit while its record is stored.
		ContributionDeposit,
		/// The bond that puts a datanet on the global board.
		GlobalBoardBond,
		/// A curator's bond, held while its votes count and for a delay after.
		CuratorBond,
	}

	/// The id the next datanet gets.
	#[pallet::storage]
	pub type NextDatanetId<T> = StorageValue<_, DatanetId, ValueQuery>;

	/// Datanets by id.
	#[pallet::storage]
	pub type DatanetInfo<T: Config> = StorageMap<_, Twox64Concat, DatanetId, DatanetOf<T>>;

	/// The curators of each datanet.
	#[pallet::storage]
	pub type Curators<T: Config> =
		StorageMap<_, Twox64Concat, DatanetId, CuratorsOf<T>, ValueQuery>;

	/// The id the next contribution gets.
	#[pallet::storage]
	pub type NextContributionId<T> = StorageValue<_, ContributionId, ValueQuery>;

	/// Contributions by id.
	#[pallet::storage]
	pub type Contributions<T: Config> =
		StorageMap<_, Twox64Concat, ContributionId, ContributionOf<T>>;

	/// Content hash to its pending or accepted contribution, per datanet: the same bytes cannot be
	/// pending or accepted twice. A rejection frees the hash. The hash is chosen by the caller, so it
	/// is hashed again for the trie key (`Blake2_128Concat`, storage version 3): a caller cannot pick
	/// keys that unbalance the trie.
	#[pallet::storage]
	pub type ContributionByHash<T> =
		StorageDoubleMap<_, Twox64Concat, DatanetId, Blake2_128Concat, ContentHash, ContributionId>;

	/// A change of a datanet's fee, quorums or deposit, waiting for its block (see
	/// [`crate::rules_change`]).
	#[pallet::storage]
	pub type ScheduledRules<T: Config> =
		StorageMap<_, Twox64Concat, DatanetId, ScheduledChange<BalanceOf<T>, BlockNumberFor<T>>>;

	/// Pending contributions by the block in which they expire.
	#[pallet::storage]
	pub type PendingExpiries<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<ContributionId, T::MaxExpiriesPerBlock>,
		ValueQuery,
	>;

	/// Each account's live commitments and the blocks they were made in, oldest first (see
	/// [`crate::commitments`]). Expired entries are dropped when the account commits or reveals.
	#[pallet::storage]
	pub type Commitments<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<(Commitment, BlockNumberFor<T>), T::MaxCommitments>,
		ValueQuery,
	>;

	/// Votes cast, by contribution and curator.
	#[pallet::storage]
	pub type Votes<T: Config> =
		StorageDoubleMap<_, Twox64Concat, ContributionId, Blake2_128Concat, T::AccountId, Vote>;

	/// The accepted list of each datanet, append-only: position -> contribution.
	#[pallet::storage]
	pub type AcceptedList<T> =
		StorageDoubleMap<_, Twox64Concat, DatanetId, Twox64Concat, u64, ContributionId>;

	/// Peaks of each datanet's MMR over its accepted list (highest first); the leaf count is the
	/// datanet's `accepted`.
	#[pallet::storage]
	pub type MmrPeaks<T> =
		StorageMap<_, Twox64Concat, DatanetId, BoundedVec<MmrHash, MaxPeaks>, ValueQuery>;

	/// Published versions of each datanet, numbered from 1.
	#[pallet::storage]
	pub type Versions<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		DatanetId,
		Twox64Concat,
		u32,
		DatasetVersion<BlockNumberFor<T>>,
	>;

	/// The latest published version number of each datanet (0: none yet).
	#[pallet::storage]
	pub type LatestVersion<T> = StorageMap<_, Twox64Concat, DatanetId, u32, ValueQuery>;

	/// Per contributor and datanet: what was submitted on the current UTC day.
	#[pallet::storage]
	pub type ContributorDaily<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		DatanetId,
		Blake2_128Concat,
		T::AccountId,
		DailyUsage,
		ValueQuery,
	>;

	/// Per datanet: what all contributors submitted on the current UTC day.
	#[pallet::storage]
	pub type DatanetDaily<T> = StorageMap<_, Twox64Concat, DatanetId, DailyUsage, ValueQuery>;

	/// Leaderboard records per datanet and contributor.
	#[pallet::storage]
	pub type Stats<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		DatanetId,
		Blake2_128Concat,
		T::AccountId,
		ContributorStats,
		ValueQuery,
	>;

	/// Leaderboard records across the datanets on the global board (`board_bond`).
	#[pallet::storage]
	pub type GlobalStats<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, ContributorStats, ValueQuery>;

	/// The best `MaxLeaderboardLen` contributors of each datanet (`Some`) and of all datanets
	/// (`None`), best first; kept sorted on each acceptance (see [`crate::board`]).
	#[pallet::storage]
	pub type TopContributors<T: Config> = StorageMap<
		_,
		Twox64Concat,
		Option<DatanetId>,
		BoundedVec<BoardEntry<T::AccountId>, T::MaxLeaderboardLen>,
		ValueQuery,
	>;

	/// The block each closed datanet was closed in: `ClearDelay` blocks later it may be cleared.
	#[pallet::storage]
	pub type ClosedAt<T: Config> = StorageMap<_, Twox64Concat, DatanetId, BlockNumberFor<T>>;

	/// While a datanet is being cleared: how many of its accepted items are left to remove
	/// (they go from the end of the accepted list).
	#[pallet::storage]
	pub type ClearCursor<T> = StorageMap<_, Twox64Concat, DatanetId, u64>;

	/// Each curator's bond (see `bond_curator`).
	#[pallet::storage]
	pub type CuratorBonds<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, CuratorBondOf<T>>;

	/// A datanet created at genesis (no deposit is held for it).
	#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
	#[serde(bound(serialize = "T::AccountId: serde::Serialize, BalanceOf<T>: serde::Serialize"))]
	#[serde(bound(
		deserialize = "T::AccountId: serde::Deserialize<'de>, BalanceOf<T>: serde::Deserialize<'de>"
	))]
	#[serde(rename_all = "camelCase")]
	pub struct GenesisDatanet<T: Config> {
		pub owner: T::AccountId,
		pub name: alloc::string::String,
		pub description: alloc::string::String,
		pub modality: Modality,
		pub formats: Vec<alloc::string::String>,
		pub curators: Vec<T::AccountId>,
		pub rules: RulesOf<T>,
	}

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		pub datanets: Vec<GenesisDatanet<T>>,
		/// Accounts that hold `CuratorBond` as curators from genesis (they must be funded).
		pub bonded_curators: Vec<T::AccountId>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for who in &self.bonded_curators {
				Pallet::<T>::do_bond_curator(who, T::CuratorBond::get())
					.expect("a genesis curator can hold its bond");
			}
			for d in &self.datanets {
				let name = d.name.as_bytes().to_vec().try_into().expect("genesis name too long");
				let description = d
					.description
					.as_bytes()
					.to_vec()
					.try_into()
					.expect("genesis description too long");
				let formats: Vec<FormatOf<T>> = d
					.formats
					.iter()
					.map(|f| f.as_bytes().to_vec().try_into().expect("genesis format too long"))
					.collect();
				let formats = formats.try_into().expect("too many genesis formats");
				let curators = d.curators.clone().try_into().expect("too many genesis curators");
				let id = Pallet::<T>::do_create_datanet(
					d.owner.clone(),
					name,
					description,
					d.modality,
					formats,
					d.rules.clone(),
					curators,
					Zero::zero(),
				)
				.expect("invalid genesis datanet");
				// Genesis datanets count on the global board without a bond.
				DatanetInfo::<T>::mutate(id, |d| {
					if let Some(d) = d {
						d.board_bond = Some(Zero::zero());
					}
				});
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A datanet was created.
		DatanetCreated { datanet: DatanetId, owner: T::AccountId, modality: Modality },
		/// A datanet's rules were updated (caps and expiry at once; see `RulesChangeScheduled`).
		RulesUpdated { datanet: DatanetId },
		/// A change of a datanet's fee, quorums or deposit will apply in block `at`.
		RulesChangeScheduled { datanet: DatanetId, at: BlockNumberFor<T> },
		/// A scheduled change of a datanet's fee, quorums or deposit applied.
		RulesChangeApplied { datanet: DatanetId },
		/// The force origin closed a datanet: `slashed` of the owner's deposit was burned and
		/// `swept` moved from the curation pot to `pot_to`.
		DatanetForceClosed {
			datanet: DatanetId,
			slashed: BalanceOf<T>,
			pot_to: Option<T::AccountId>,
			swept: BalanceOf<T>,
		},
		/// A curator was added to a datanet.
		CuratorAdded { datanet: DatanetId, curator: T::AccountId },
		/// A curator was removed from a datanet.
		CuratorRemoved { datanet: DatanetId, curator: T::AccountId },
		/// A datanet was closed to new submissions.
		DatanetClosed { datanet: DatanetId },
		/// A datanet's owner bonded it onto the global board.
		DatanetOnGlobalBoard { datanet: DatanetId, bond: BalanceOf<T> },
		/// `curator` now holds `total` as its curator bond.
		CuratorBonded { curator: T::AccountId, total: BalanceOf<T> },
		/// `curator` stopped curating; its bond can be withdrawn from block `withdraw_at`.
		CuratorUnbonding { curator: T::AccountId, withdraw_at: BlockNumberFor<T> },
		/// `curator`'s bond was released.
		CuratorBondWithdrawn { curator: T::AccountId, amount: BalanceOf<T> },
		/// `amount` of `curator`'s bond was burned by the force origin.
		CuratorSlashed { curator: T::AccountId, amount: BalanceOf<T> },
		/// A contribution was submitted and awaits votes.
		ContributionSubmitted {
			contribution: ContributionId,
			datanet: DatanetId,
			contributor: T::AccountId,
			content_hash: ContentHash,
			bytes: u64,
		},
		/// A curator voted.
		Voted { contribution: ContributionId, curator: T::AccountId, vote: Vote },
		/// A contribution reached the approval quorum and joined the accepted list at `index`.
		ContributionAccepted {
			contribution: ContributionId,
			datanet: DatanetId,
			contributor: T::AccountId,
			index: u64,
		},
		/// A contribution reached the rejection quorum.
		ContributionRejected {
			contribution: ContributionId,
			datanet: DatanetId,
			contributor: T::AccountId,
			reason: RejectReason,
		},
		/// A dataset version was published.
		VersionPublished { datanet: DatanetId, version: u32, count: u64, root: MmrHash },
		/// A datanet's curation pot was funded.
		CurationPotFunded { datanet: DatanetId, from: T::AccountId, amount: BalanceOf<T> },
		/// A curator was paid the curator fee for a vote.
		CuratorPaid { datanet: DatanetId, curator: T::AccountId, amount: BalanceOf<T> },
		/// An account committed to a contribution it will reveal in a later block.
		ContributionCommitted { who: T::AccountId, commitment: Commitment },
		/// A pending contribution lost its hash to contribution `by`, whose author committed to the
		/// same bytes earlier; `forfeited` of its deposit went to the curation pot.
		ContributionSuperseded {
			contribution: ContributionId,
			by: ContributionId,
			datanet: DatanetId,
			contributor: T::AccountId,
			forfeited: BalanceOf<T>,
		},
		/// A contribution was not decided in time; `forfeited` of its deposit went to the pot.
		ContributionExpired {
			contribution: ContributionId,
			datanet: DatanetId,
			contributor: T::AccountId,
			forfeited: BalanceOf<T>,
		},
		/// A decided-out contribution's record was removed and its record deposit released.
		ContributionRemoved {
			contribution: ContributionId,
			datanet: DatanetId,
			contributor: T::AccountId,
			released: BalanceOf<T>,
		},
		/// Part of a closed datanet's storage was cleared: `contributions` accepted items and
		/// `keys` other entries (votes, versions, per-contributor rows); `done` when nothing is
		/// left (the owner's deposit and the pot's remainder then went back to the owner).
		DatanetStorageCleared { datanet: DatanetId, contributions: u32, keys: u32, done: bool },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No datanet has this id.
		UnknownDatanet,
		/// Only the datanet's owner may do this.
		NotOwner,
		/// The datanet is closed to new submissions.
		DatanetClosed,
		/// The datanet is already closed.
		AlreadyClosed,
		/// The datanet name is empty.
		EmptyName,
		/// A datanet must allow at least one format.
		NoFormats,
		/// A format is listed twice.
		DuplicateFormat,
		/// A format is not one of the datanet modality's known formats.
		FormatNotForModality,
		/// The datanet does not allow this format.
		FormatNotAllowed,
		/// A quorum is zero.
		ZeroQuorum,
		/// A quorum is larger than the number of curators.
		QuorumExceedsCurators,
		/// A cap is zero, the item cap exceeds the contributor's daily bytes, or the datanet's day
		/// holds fewer than `MIN_ITEMS_PER_DATANET_DAY` items (or of its largest items).
		InvalidCaps,
		/// This account is already a curator of the datanet.
		AlreadyCurator,
		/// This account is not a curator of the datanet.
		NotCurator,
		/// The datanet has the maximum number of curators.
		TooManyCurators,
		/// The item is larger than the datanet's per-item limit.
		ItemTooLarge,
		/// The item is empty.
		EmptyItem,
		/// This submission would exceed the contributor's daily byte cap.
		ContributorDailyBytesExceeded,
		/// This submission would exceed the contributor's daily item cap.
		ContributorDailyItemsExceeded,
		/// This submission would exceed the datanet's daily byte cap.
		DatanetDailyBytesExceeded,
		/// This content hash is already in the datanet.
		DuplicateContent,
		/// No contribution has this id.
		UnknownContribution,
		/// The contribution is already decided.
		NotPending,
		/// This curator already voted on the contribution.
		AlreadyVoted,
		/// A curator may not vote on their own contribution.
		OwnContribution,
		/// No contribution was accepted since the last published version.
		NothingToPublish,
		/// The amount is zero.
		ZeroAmount,
		/// A counter reached its maximum.
		Overflow,
		/// `pending_blocks` must be at least 1 and at most `MaxPendingBlocks`.
		InvalidPendingBlocks,
		/// Too many contributions already expire in the blocks this one would: try again later.
		ExpiryScheduleFull,
		/// The datanet's item cap for today is reached.
		DatanetDailyItemsExceeded,
		/// The caller holds no live commitment to this content in this datanet: post
		/// `commit_contribution(commitment_of(datanet, hash, caller))` first, then submit in a
		/// later block.
		NotCommitted,
		/// The commitment was made in this block: submit in a later one.
		CommitmentTooRecent,
		/// The caller holds `MaxCommitments` live commitments: reveal or let some expire first.
		TooManyCommitments,
		/// The datanet is already on the global board.
		AlreadyOnGlobalBoard,
		/// The curator holds no curator bond of at least `CuratorBond`, or is unbonding
		/// (`bond_curator` first).
		CuratorNotBonded,
		/// The bond would stay below `CuratorBond`.
		CuratorBondTooSmall,
		/// The account is already unbonding, or holds no curator bond.
		NotUnbondable,
		/// The bond is not withdrawable yet (or `unbond_curator` was not called).
		BondStillLocked,
		/// Only a datanet without submissions yet can join the global board (its whole record
		/// must count there).
		HasSubmissions,
		/// Only a rejected, expired or superseded contribution's record can be removed.
		NotRemovable,
		/// Only the contributor may remove the record before its datanet can be cleared.
		NotContributor,
		/// The datanet is open, was closed less than `ClearDelay` blocks ago, or is cleared.
		NotClearable,
		/// The datanet's storage is being cleared, or was.
		DatanetCleared,
		/// `max_keys` must be at least 1.
		ZeroBudget,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let due = PendingExpiries::<T>::take(now);
			for &id in due.iter() {
				Self::expire(id);
			}
			T::WeightInfo::on_initialize(due.len() as u32)
		}

		fn integrity_test() {
			assert!(T::MaxExpiriesPerBlock::get() > 0, "MaxExpiriesPerBlock must be positive");
			assert!(T::MaxPendingBlocks::get() > 0, "MaxPendingBlocks must be positive");
			assert!(
				T::ClearDelay::get()
					> T::MaxPendingBlocks::get().saturating_add(EXPIRY_SPILL_BLOCKS),
				"ClearDelay must outlast any pending contribution"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Create a datanet owned by the caller, holding `DatanetDeposit` until its storage is
		/// cleared.
		///
		/// `formats` must be lower-case extensions known for `modality`; quorums must be at least one
		/// and at most the number of `curators`.
		///
		/// Emits `DatanetCreated`.
		///
		/// Weight: `O(c + f)` in curators and formats.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::create_datanet(curators.len() as u32, formats.len() as u32))]
		pub fn create_datanet(
			origin: OriginFor<T>,
			name: BoundedBytes<T::MaxNameLen>,
			description: BoundedBytes<T::MaxDescriptionLen>,
			modality: Modality,
			formats: FormatsOf<T>,
			rules: RulesOf<T>,
			curators: CuratorsOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_create_datanet(
				owner,
				name,
				description,
				modality,
				formats,
				rules,
				curators,
				T::DatanetDeposit::get(),
			)
			.map(|_| ())
		}

		/// Replace a datanet's rules. Owner only. Caps and `pending_blocks` apply at once; a
		/// different curator fee, quorum or contribution deposit applies `RulesChangeDelay`
		/// blocks later (replacing a change already scheduled; asking for the current values
		/// cancels it). Pending contributions keep the deposit they were charged and are decided
		/// by the quorums in force when the deciding vote comes.
		///
		/// Emits `RulesUpdated`, and `RulesChangeScheduled` when part of the change waits.
		///
		/// Weight: `O(1)`
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::update_rules())]
		pub fn update_rules(
			origin: OriginFor<T>,
			datanet: DatanetId,
			rules: RulesOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut d = Self::load_datanet(datanet)?;
			ensure!(d.owner == who, Error::<T>::NotOwner);
			Self::ensure_not_cleared(datanet, &d)?;
			let scheduled = Self::change_rules(datanet, &mut d, rules)?;
			DatanetInfo::<T>::insert(datanet, d);
			Self::deposit_event(Event::RulesUpdated { datanet });
			if let Some(at) = scheduled {
				Self::deposit_event(Event::RulesChangeScheduled { datanet, at });
			}
			Ok(())
		}

		/// Add a curator. Owner only.
		///
		/// Emits `CuratorAdded`.
		///
		/// Weight: `O(c)` in curators.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::add_curator(T::MaxCurators::get()))]
		pub fn add_curator(
			origin: OriginFor<T>,
			datanet: DatanetId,
			curator: T::AccountId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_owner(datanet, &who)?;
			Curators::<T>::try_mutate(datanet, |cs| {
				ensure!(!cs.contains(&curator), Error::<T>::AlreadyCurator);
				cs.try_push(curator.clone()).map_err(|_| Error::<T>::TooManyCurators)
			})?;
			Self::deposit_event(Event::CuratorAdded { datanet, curator });
			Ok(())
		}

		/// Remove a curator. Owner only. Refused if the quorums, current or scheduled, would
		/// exceed the curators left. Votes already cast stand.
		///
		/// Emits `CuratorRemoved`.
		///
		/// Weight: `O(c)` in curators.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::remove_curator(T::MaxCurators::get()))]
		pub fn remove_curator(
			origin: OriginFor<T>,
			datanet: DatanetId,
			curator: T::AccountId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let d = Self::ensure_owner(datanet, &who)?;
			Curators::<T>::try_mutate(datanet, |cs| {
				let pos = cs.iter().position(|c| c == &curator).ok_or(Error::<T>::NotCurator)?;
				cs.remove(pos);
				Self::check_rules(&d.rules, cs.len())?;
				// A scheduled change must still fit the curators left when it applies.
				match ScheduledRules::<T>::get(datanet) {
					Some(change) => Self::check_rules(&change.apply_to(d.rules.clone()), cs.len()),
					None => Ok(()),
				}
			})?;
			Self::deposit_event(Event::CuratorRemoved { datanet, curator });
			Ok(())
		}

		/// Close a datanet to new submissions. Owner only. Pending contributions can still be
		/// voted on; published versions stay. `ClearDelay` blocks later anyone may clear its
		/// storage (`clear_closed_datanet`), which releases the owner's deposit.
		///
		/// Emits `DatanetClosed`.
		///
		/// Weight: `O(1)`
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::close_datanet())]
		pub fn close_datanet(origin: OriginFor<T>, datanet: DatanetId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			DatanetInfo::<T>::try_mutate(datanet, |d| {
				let d = d.as_mut().ok_or(Error::<T>::UnknownDatanet)?;
				ensure!(d.owner == who, Error::<T>::NotOwner);
				ensure!(d.status == DatanetStatus::Open, Error::<T>::AlreadyClosed);
				d.status = DatanetStatus::Closed;
				Ok::<_, DispatchError>(())
			})?;
			ClosedAt::<T>::insert(datanet, frame_system::Pallet::<T>::block_number());
			Self::deposit_event(Event::DatanetClosed { datanet });
			Ok(())
		}

		/// Submit (reveal) a contribution: the BLAKE3 `content_hash`, size in `bytes` and `format`
		/// of a file the caller committed to with `commit_contribution` in an earlier block (the
		/// commitment is used up). Refused if there is no such live commitment, the datanet is
		/// closed, the format is not allowed, the item is empty or too large, a daily cap would be
		/// exceeded, or the hash is accepted in the datanet or pending under a commitment made no
		/// later than the caller's. A pending contribution whose commitment is later than the
		/// caller's is superseded: the caller committed to these bytes first. Holds the datanet's
		/// contribution deposit until the contribution is decided, and the record deposit
		/// (`RecordDepositBase` + `RecordDepositPerByte` per metadata byte) until the record is
		/// removed.
		///
		/// Emits `ContributionSubmitted`, after `ContributionSuperseded` when it takes a hash over.
		///
		/// Weight: `O(s + c + m)` in the full expiry buckets skipped (at most
		/// `EXPIRY_SPILL_BLOCKS - 1`), the caller's commitments (`c`) and metadata bytes (`m`),
		/// plus a takeover (`t`), a datanet on the global board (`g`) and a due rules change
		/// (`r`), each 0 or 1; charged for the worst case, the unused part refunded.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::submit_contribution(
			EXPIRY_SPILL_BLOCKS - 1,
			1,
			T::MaxCommitments::get(),
			T::MaxMetadataLen::get(),
			1,
			1,
		))]
		pub fn submit_contribution(
			origin: OriginFor<T>,
			datanet: DatanetId,
			content_hash: ContentHash,
			bytes: u64,
			format: FormatOf<T>,
			metadata: BoundedBytes<T::MaxMetadataLen>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let (mut d, rules_applied) = Self::load_datanet_applying(datanet)?;
			ensure!(d.status == DatanetStatus::Open, Error::<T>::DatanetClosed);
			ensure!(d.formats.contains(&format), Error::<T>::FormatNotAllowed);
			ensure!(bytes > 0, Error::<T>::EmptyItem);
			ensure!(bytes <= d.rules.max_item_bytes, Error::<T>::ItemTooLarge);
			let (committed, commitments) = Self::take_commitment(&who, datanet, &content_hash)?;
			let superseded = match ContributionByHash::<T>::get(datanet, content_hash) {
				None => None,
				Some(holder) => match Contributions::<T>::get(holder) {
					Some(c) if Self::takes_over(&c, committed) => Some((holder, c)),
					_ => return Err(Error::<T>::DuplicateContent.into()),
				},
			};

			let day = T::Time::now().as_millis() as u64 / DAY_MS;
			let mut mine = ContributorDaily::<T>::get(datanet, &who);
			if mine.day != day {
				mine = DailyUsage { day, bytes: 0, items: 0 };
			}
			let mut all = DatanetDaily::<T>::get(datanet);
			if all.day != day {
				all = DailyUsage { day, bytes: 0, items: 0 };
			}
			mine.items = mine.items.saturating_add(1);
			mine.bytes = mine.bytes.saturating_add(bytes);
			all.items = all.items.saturating_add(1);
			all.bytes = all.bytes.saturating_add(bytes);
			ensure!(
				mine.items <= d.rules.contributor_daily_items,
				Error::<T>::ContributorDailyItemsExceeded
			);
			ensure!(
				mine.bytes <= d.rules.contributor_daily_bytes,
				Error::<T>::ContributorDailyBytesExceeded
			);
			ensure!(
				all.bytes <= d.rules.datanet_daily_bytes,
				Error::<T>::DatanetDailyBytesExceeded
			);
			ensure!(
				all.items <= d.rules.datanet_daily_items,
				Error::<T>::DatanetDailyItemsExceeded
			);

			let deposit = d.rules.contribution_deposit;
			let record_deposit = Self::record_deposit(&metadata);
			let metadata_len = metadata.len() as u32;
			// One hold for both: a second would cost the hot path another write.
			T::Currency::hold(
				&HoldReason::ContributionDeposit.into(),
				&who,
				deposit.saturating_add(record_deposit),
			)?;
			let on_board = d.board_bond.is_some();

			let id = NextContributionId::<T>::get();
			let now = frame_system::Pallet::<T>::block_number();
			let (expires_at, spilled) =
				Self::schedule_expiry(id, now.saturating_add(d.rules.pending_blocks.into()))?;
			NextContributionId::<T>::put(id.checked_add(1).ok_or(Error::<T>::Overflow)?);
			let took_over = u32::from(superseded.is_some());
			if let Some((holder, record)) = superseded {
				Self::supersede(holder, record, id);
			}
			d.submitted = d.submitted.saturating_add(1);
			DatanetInfo::<T>::insert(datanet, d);
			ContributorDaily::<T>::insert(datanet, &who, mine);
			DatanetDaily::<T>::insert(datanet, all);
			ContributionByHash::<T>::insert(datanet, content_hash, id);
			Stats::<T>::mutate(datanet, &who, |s| s.submitted = s.submitted.saturating_add(1));
			if on_board {
				GlobalStats::<T>::mutate(&who, |s| s.submitted = s.submitted.saturating_add(1));
			}
			Contributions::<T>::insert(
				id,
				Contribution {
					datanet,
					contributor: who.clone(),
					content_hash,
					bytes,
					format,
					metadata,
					submitted_at: now,
					approvals: 0,
					rejections: 0,
					deposit,
					status: ContributionStatus::Pending,
					record_deposit,
					committed_at: committed,
					expires_at,
				},
			);
			Self::deposit_event(Event::ContributionSubmitted {
				contribution: id,
				datanet,
				contributor: who,
				content_hash,
				bytes,
			});
			let weight = T::WeightInfo::submit_contribution(
				spilled,
				took_over,
				commitments,
				metadata_len,
				u32::from(on_board),
				u32::from(rules_applied),
			);
			Ok(Some(weight).into())
		}

		/// Vote on a pending contribution as a curator of its datanet, once. The vote that reaches
		/// a quorum decides it: accepted contributions join the accepted list and MMR; either way the
		/// deposit is released, and the curator fee is paid once from the pot, shared by the
		/// curators who voted with the decision.
		///
		/// Emits `Voted`, then `ContributionAccepted` or `ContributionRejected` at a quorum, and
		/// `CuratorPaid` for each share paid.
		///
		/// Weight: `O(v + log n)` in the votes on the contribution and accepted items (both
		/// bounded); charged for `MaxCurators` votes, refunded for those actually cast.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::vote(T::MaxCurators::get()))]
		pub fn vote(
			origin: OriginFor<T>,
			contribution: ContributionId,
			vote: Vote,
		) -> DispatchResultWithPostInfo {
			let curator = ensure_signed(origin)?;
			let mut c =
				Contributions::<T>::get(contribution).ok_or(Error::<T>::UnknownContribution)?;
			ensure!(c.status == ContributionStatus::Pending, Error::<T>::NotPending);
			ensure!(Curators::<T>::get(c.datanet).contains(&curator), Error::<T>::NotCurator);
			ensure!(c.contributor != curator, Error::<T>::OwnContribution);
			ensure!(Self::is_bonded_curator(&curator), Error::<T>::CuratorNotBonded);
			ensure!(!Votes::<T>::contains_key(contribution, &curator), Error::<T>::AlreadyVoted);
			let mut d = Self::load_datanet(c.datanet)?;

			Votes::<T>::insert(contribution, &curator, vote);
			match vote {
				Vote::Approve => c.approvals = c.approvals.saturating_add(1),
				Vote::Reject(_) => c.rejections = c.rejections.saturating_add(1),
			}
			Self::deposit_event(Event::Voted { contribution, curator: curator.clone(), vote });

			let decided = match vote {
				Vote::Approve if c.approvals >= d.rules.approval_quorum => {
					Some(Self::accept(contribution, &mut c, &mut d)?)
				}
				Vote::Reject(reason) if c.rejections >= d.rules.rejection_quorum => {
					Some(Self::reject(contribution, &mut c, &mut d, reason))
				}
				_ => None,
			};
			if let Some(event) = decided {
				Self::end_pending(contribution, c.expires_at);
				T::Currency::release(
					&HoldReason::ContributionDeposit.into(),
					&c.contributor,
					c.deposit,
					Precision::BestEffort,
				)?;
				DatanetInfo::<T>::insert(c.datanet, &d);
				Self::deposit_event(event);
				let accepted = matches!(c.status, ContributionStatus::Accepted { .. });
				Self::pay_deciders(contribution, c.datanet, accepted, d.rules.curator_fee);
			}
			let votes = c.approvals.saturating_add(c.rejections);
			Contributions::<T>::insert(contribution, c);
			Ok(Some(T::WeightInfo::vote(votes)).into())
		}

		/// Publish the datanet's accepted list as it stands as a new version `(count, root)`. Owner
		/// only; refused when nothing was accepted since the last version.
		///
		/// Emits `VersionPublished`.
		///
		/// Weight: `O(log n)` in accepted items.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::publish_version())]
		pub fn publish_version(origin: OriginFor<T>, datanet: DatanetId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let d = Self::ensure_owner(datanet, &who)?;
			let latest = LatestVersion::<T>::get(datanet);
			let published = match latest {
				0 => 0,
				v => Versions::<T>::get(datanet, v).map(|v| v.count).unwrap_or(0),
			};
			ensure!(d.accepted > published, Error::<T>::NothingToPublish);
			let version = latest.checked_add(1).ok_or(Error::<T>::Overflow)?;
			let root = mmr::root(&MmrPeaks::<T>::get(datanet));
			Versions::<T>::insert(
				datanet,
				version,
				DatasetVersion {
					count: d.accepted,
					root,
					published_at: frame_system::Pallet::<T>::block_number(),
				},
			);
			LatestVersion::<T>::insert(datanet, version);
			Self::deposit_event(Event::VersionPublished {
				datanet,
				version,
				count: d.accepted,
				root,
			});
			Ok(())
		}

		/// Move `amount` from the caller into a datanet's curation pot, which pays curator fees.
		///
		/// Emits `CurationPotFunded`.
		///
		/// Weight: `O(1)`
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::fund_curation_pot())]
		pub fn fund_curation_pot(
			origin: OriginFor<T>,
			datanet: DatanetId,
			amount: BalanceOf<T>,
		) -> DispatchResult {
			let from = ensure_signed(origin)?;
			let d = DatanetInfo::<T>::get(datanet).ok_or(Error::<T>::UnknownDatanet)?;
			Self::ensure_not_cleared(datanet, &d)?;
			ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
			T::Currency::transfer(
				&from,
				&Self::curation_pot(datanet),
				amount,
				Preservation::Preserve,
			)?;
			Self::deposit_event(Event::CurationPotFunded { datanet, from, amount });
			Ok(())
		}

		/// Commit to a contribution before revealing it: `commitment` is
		/// [`commitment_of`]`(datanet, content_hash, caller)`, which tells nobody the hash and
		/// which nobody else can make for the caller. Reveal with `submit_contribution` in a later
		/// block, within `CommitmentLifetime` blocks; send the bytes to data peers only after the
		/// reveal. Committing again to a live commitment keeps its first block.
		///
		/// Emits `ContributionCommitted`.
		///
		/// Weight: `O(MaxCommitments)` (the caller's list is read, pruned and written).
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::commit_contribution())]
		pub fn commit_contribution(origin: OriginFor<T>, commitment: Commitment) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_commit(&who, commitment)?;
			Self::deposit_event(Event::ContributionCommitted { who, commitment });
			Ok(())
		}

		/// Put a datanet on the global board: its contributors' records then count across
		/// datanets. Owner only, before the datanet's first submission (its whole record must
		/// count). Holds `GlobalBoardBond` from the owner for good, so that a board of self-made
		/// datanets with self-made curators costs a bond per datanet.
		///
		/// Emits `DatanetOnGlobalBoard`.
		///
		/// Weight: `O(1)`
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::join_global_board())]
		pub fn join_global_board(origin: OriginFor<T>, datanet: DatanetId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut d = Self::ensure_owner(datanet, &who)?;
			ensure!(d.board_bond.is_none(), Error::<T>::AlreadyOnGlobalBoard);
			ensure!(d.status == DatanetStatus::Open, Error::<T>::DatanetClosed);
			ensure!(d.submitted == 0, Error::<T>::HasSubmissions);
			let bond = T::GlobalBoardBond::get();
			T::Currency::hold(&HoldReason::GlobalBoardBond.into(), &who, bond)?;
			d.board_bond = Some(bond);
			DatanetInfo::<T>::insert(datanet, d);
			Self::deposit_event(Event::DatanetOnGlobalBoard { datanet, bond });
			Ok(())
		}

		/// Close a datanet by force (`ForceOrigin`: root now, governance later), e.g. one whose
		/// owner abuses contributors or curators; a closed datanet may be swept again. As with
		/// `close_datanet`, pending contributions can still be decided, published versions stay
		/// and the storage can be cleared `ClearDelay` blocks after the first close. The owner's
		/// deposit is burned when `slash_deposit`, else kept until the storage is cleared; the
		/// curation pot is emptied into `pot_to` when given.
		///
		/// Emits `DatanetForceClosed`.
		///
		/// Weight: `O(1)`
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::force_close_datanet())]
		pub fn force_close_datanet(
			origin: OriginFor<T>,
			datanet: DatanetId,
			slash_deposit: bool,
			pot_to: Option<T::AccountId>,
		) -> DispatchResult {
			T::ForceOrigin::ensure_origin(origin)?;
			let mut d = DatanetInfo::<T>::get(datanet).ok_or(Error::<T>::UnknownDatanet)?;
			let mut slashed = Zero::zero();
			if slash_deposit {
				slashed = T::Currency::burn_held(
					&HoldReason::DatanetDeposit.into(),
					&d.owner,
					d.deposit,
					Precision::BestEffort,
					Fortitude::Force,
				)?;
				d.deposit = d.deposit.saturating_sub(slashed);
			}
			if d.status == DatanetStatus::Open {
				d.status = DatanetStatus::Closed;
				ClosedAt::<T>::insert(datanet, frame_system::Pallet::<T>::block_number());
			}
			DatanetInfo::<T>::insert(datanet, d);
			let mut swept = Zero::zero();
			if let Some(to) = &pot_to {
				let pot = Self::curation_pot(datanet);
				swept = T::Currency::reducible_balance(
					&pot,
					Preservation::Expendable,
					Fortitude::Polite,
				);
				T::Currency::transfer(&pot, to, swept, Preservation::Expendable)?;
			}
			Self::deposit_event(Event::DatanetForceClosed { datanet, slashed, pot_to, swept });
			Ok(())
		}

		/// Hold `amount` more as the caller's curator bond (cancelling an unbonding). A curator's
		/// votes count only while it holds at least `CuratorBond` and is not unbonding, so a
		/// curator that approves junk or rejects honest work has something to lose.
		///
		/// Emits `CuratorBonded`.
		///
		/// Weight: `O(1)`
		#[pallet::call_index(12)]
		#[pallet::weight(T::WeightInfo::bond_curator())]
		pub fn bond_curator(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_bond_curator(&who, amount)
		}

		/// Stop curating: votes stop counting at once; the bond can be withdrawn after
		/// `CuratorUnbondDelay` blocks and stays slashable until then.
		///
		/// Emits `CuratorUnbonding`.
		///
		/// Weight: `O(1)`
		#[pallet::call_index(13)]
		#[pallet::weight(T::WeightInfo::unbond_curator())]
		pub fn unbond_curator(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_unbond_curator(&who)
		}

		/// Release the caller's curator bond once its unbonding delay has passed.
		///
		/// Emits `CuratorBondWithdrawn`.
		///
		/// Weight: `O(1)`
		#[pallet::call_index(14)]
		#[pallet::weight(T::WeightInfo::withdraw_curator_bond())]
		pub fn withdraw_curator_bond(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_withdraw_curator_bond(&who)
		}

		/// Burn up to `amount` of `curator`'s bond (`ForceOrigin`: root now, governance later),
		/// e.g. for approving junk or rejecting honest work. Below `CuratorBond` its votes stop
		/// counting until it bonds more.
		///
		/// Emits `CuratorSlashed`.
		///
		/// Weight: `O(1)`
		#[pallet::call_index(15)]
		#[pallet::weight(T::WeightInfo::slash_curator())]
		pub fn slash_curator(
			origin: OriginFor<T>,
			curator: T::AccountId,
			amount: BalanceOf<T>,
		) -> DispatchResult {
			T::ForceOrigin::ensure_origin(origin)?;
			Self::do_slash_curator(&curator, amount)
		}

		/// Remove a rejected, expired or superseded contribution's record and its votes,
		/// releasing its record deposit to the contributor. The contributor may do so at any
		/// time; anyone may once the datanet can be cleared (`clear_closed_datanet`), and then
		/// pays no fee.
		///
		/// Emits `ContributionRemoved`.
		///
		/// Weight: `O(v)` in the contribution's votes; charged for the most a contribution can
		/// hold, refunded for those removed.
		#[pallet::call_index(16)]
		#[pallet::weight(T::WeightInfo::remove_contribution(2 * T::MaxCurators::get()))]
		pub fn remove_contribution(
			origin: OriginFor<T>,
			contribution: ContributionId,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_remove_contribution(&who, contribution)
		}

		/// Clear up to `max_keys` entries of a closed datanet's storage, `ClearDelay` blocks or
		/// more after it closed. Anyone may call it, and pays no fee when something was
		/// cleared. Accepted contributions go first (each with its votes and hash index entry;
		/// record deposits go back to their contributors), then versions and per-contributor
		/// rows; the call that finds nothing left removes the datanet and releases the owner's
		/// deposit and the curation pot's remainder to the owner. A datanet on the global board
		/// keeps its record and its contributors' rows, which its board bond pays for, as
		/// `Cleared`. Rejected and expired records are removed with `remove_contribution`.
		///
		/// Emits `DatanetStorageCleared`.
		///
		/// Weight: `O(i + k)` in accepted items and other keys removed (at most `max_keys`, plus
		/// one item's votes); refunded to what was removed.
		#[pallet::call_index(17)]
		#[pallet::weight(T::WeightInfo::clear_closed_datanet(
			*max_keys,
			max_keys.saturating_add(2 * T::MaxCurators::get()),
		))]
		pub fn clear_closed_datanet(
			origin: OriginFor<T>,
			datanet: DatanetId,
			max_keys: u32,
		) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			Self::do_clear_closed_datanet(datanet, max_keys)
		}
	}

	impl<T: Config> Pallet<T> {
		/// The account holding a datanet's curation pot.
		pub fn curation_pot(datanet: DatanetId) -> T::AccountId {
			T::PalletId::get().into_sub_account_truncating(datanet)
		}

		/// The root committing the datanet's accepted list as it stands.
		pub fn current_root(datanet: DatanetId) -> MmrHash {
			mmr::root(&MmrPeaks::<T>::get(datanet))
		}

		fn ensure_owner(
			datanet: DatanetId,
			who: &T::AccountId,
		) -> Result<DatanetOf<T>, DispatchError> {
			let d = DatanetInfo::<T>::get(datanet).ok_or(Error::<T>::UnknownDatanet)?;
			ensure!(&d.owner == who, Error::<T>::NotOwner);
			Self::ensure_not_cleared(datanet, &d)?;
			Ok(d)
		}

		pub(crate) fn check_rules(rules: &RulesOf<T>, curators: usize) -> DispatchResult {
			ensure!(
				rules.approval_quorum > 0 && rules.rejection_quorum > 0,
				Error::<T>::ZeroQuorum
			);
			ensure!(
				rules.approval_quorum as usize <= curators
					&& rules.rejection_quorum as usize <= curators,
				Error::<T>::QuorumExceedsCurators
			);
			let min_day = u64::from(MIN_ITEMS_PER_DATANET_DAY);
			ensure!(
				rules.max_item_bytes > 0
					&& rules.contributor_daily_items > 0
					&& rules.max_item_bytes <= rules.contributor_daily_bytes
					&& rules.max_item_bytes.saturating_mul(min_day) <= rules.datanet_daily_bytes
					&& rules.datanet_daily_items >= MIN_ITEMS_PER_DATANET_DAY,
				Error::<T>::InvalidCaps
			);
			ensure!(
				(1..=T::MaxPendingBlocks::get()).contains(&rules.pending_blocks),
				Error::<T>::InvalidPendingBlocks
			);
			Ok(())
		}

		#[allow(clippy::too_many_arguments)]
		pub(crate) fn do_create_datanet(
			owner: T::AccountId,
			name: BoundedBytes<T::MaxNameLen>,
			description: BoundedBytes<T::MaxDescriptionLen>,
			modality: Modality,
			formats: FormatsOf<T>,
			rules: RulesOf<T>,
			curators: CuratorsOf<T>,
			deposit: BalanceOf<T>,
		) -> Result<DatanetId, DispatchError> {
			ensure!(!name.is_empty(), Error::<T>::EmptyName);
			ensure!(!formats.is_empty(), Error::<T>::NoFormats);
			for (i, f) in formats.iter().enumerate() {
				ensure!(modality.knows(f), Error::<T>::FormatNotForModality);
				ensure!(!formats[..i].contains(f), Error::<T>::DuplicateFormat);
			}
			for (i, c) in curators.iter().enumerate() {
				ensure!(!curators[..i].contains(c), Error::<T>::AlreadyCurator);
			}
			Self::check_rules(&rules, curators.len())?;

			let id = NextDatanetId::<T>::get();
			NextDatanetId::<T>::put(id.checked_add(1).ok_or(Error::<T>::Overflow)?);
			if !deposit.is_zero() {
				T::Currency::hold(&HoldReason::DatanetDeposit.into(), &owner, deposit)?;
			}
			DatanetInfo::<T>::insert(
				id,
				Datanet {
					owner: owner.clone(),
					name,
					description,
					modality,
					formats,
					rules,
					status: DatanetStatus::Open,
					deposit,
					submitted: 0,
					accepted: 0,
					rejected: 0,
					board_bond: None,
				},
			);
			Curators::<T>::insert(id, curators);
			Self::deposit_event(Event::DatanetCreated { datanet: id, owner, modality });
			Ok(id)
		}

		/// Appends an approved contribution to the accepted list and MMR, and credits its contributor.
		fn accept(
			id: ContributionId,
			c: &mut ContributionOf<T>,
			d: &mut DatanetOf<T>,
		) -> Result<Event<T>, DispatchError> {
			let index = d.accepted;
			let mut peaks = MmrPeaks::<T>::get(c.datanet).into_inner();
			mmr::append(&mut peaks, index, mmr::leaf_hash(id, &c.contributor, &c.content_hash));
			let peaks: BoundedVec<_, MaxPeaks> =
				peaks.try_into().map_err(|_| Error::<T>::Overflow)?;
			MmrPeaks::<T>::insert(c.datanet, peaks);
			AcceptedList::<T>::insert(c.datanet, index, id);
			d.accepted = index.checked_add(1).ok_or(Error::<T>::Overflow)?;
			c.status = ContributionStatus::Accepted { index };
			let credit = |s: &mut ContributorStats| {
				s.accepted = s.accepted.saturating_add(1);
				s.accepted_bytes = s.accepted_bytes.saturating_add(c.bytes);
				// The lowest accepted id, whatever order decisions came in: the global record is
				// then the minimum over the datanets' (acceptances are not in id order).
				s.first_accepted = Some(s.first_accepted.map_or(id, |f| f.min(id)));
				*s
			};
			let mine = Stats::<T>::mutate(c.datanet, &c.contributor, credit);
			Self::rank_up(Some(c.datanet), &c.contributor, &mine);
			if d.board_bond.is_some() {
				let all = GlobalStats::<T>::mutate(&c.contributor, credit);
				Self::rank_up(None, &c.contributor, &all);
			}
			Ok(Event::ContributionAccepted {
				contribution: id,
				datanet: c.datanet,
				contributor: c.contributor.clone(),
				index,
			})
		}

		/// Marks a contribution rejected. Only the `rejected` counter moves: rank ignores it.
		fn reject(
			id: ContributionId,
			c: &mut ContributionOf<T>,
			d: &mut DatanetOf<T>,
			reason: RejectReason,
		) -> Event<T> {
			d.rejected = d.rejected.saturating_add(1);
			c.status = ContributionStatus::Rejected { reason };
			// The bytes may come back (from their real author, or fixed): a rejection does not
			// keep the hash, so whoever submits a hash first cannot squat it by being rejected.
			ContributionByHash::<T>::remove(c.datanet, c.content_hash);
			Stats::<T>::mutate(c.datanet, &c.contributor, |s| {
				s.rejected = s.rejected.saturating_add(1)
			});
			if d.board_bond.is_some() {
				GlobalStats::<T>::mutate(&c.contributor, |s| {
					s.rejected = s.rejected.saturating_add(1)
				});
			}
			Event::ContributionRejected {
				contribution: id,
				datanet: c.datanet,
				contributor: c.contributor.clone(),
				reason,
			}
		}

		/// Pays `fee` once for a decided contribution, in equal shares to the curators whose votes
		/// agreed with the decision, if the pot can pay every share; otherwise nobody is paid.
		fn pay_deciders(
			contribution: ContributionId,
			datanet: DatanetId,
			accepted: bool,
			fee: BalanceOf<T>,
		) {
			let winners: Vec<T::AccountId> = Votes::<T>::iter_prefix(contribution)
				.filter(|(_, v)| matches!(v, Vote::Approve) == accepted)
				.map(|(who, _)| who)
				.collect();
			let Ok(n) = u32::try_from(winners.len()) else { return };
			if n == 0 {
				return;
			}
			let share = fee / n.into();
			let pot = Self::curation_pot(datanet);
			let available =
				T::Currency::reducible_balance(&pot, Preservation::Expendable, Fortitude::Polite);
			if share.is_zero() || available < share.saturating_mul(n.into()) {
				return;
			}
			for curator in winners {
				if T::Currency::transfer(&pot, &curator, share, Preservation::Expendable).is_ok() {
					Self::deposit_event(Event::CuratorPaid { datanet, curator, amount: share });
				}
			}
		}

		/// A contributor's record in one datanet (`Some`) or across all (`None`).
		pub fn contributor_stats(
			who: &T::AccountId,
			datanet: Option<DatanetId>,
		) -> ContributorStats {
			match datanet {
				Some(d) => Stats::<T>::get(d, who),
				None => GlobalStats::<T>::get(who),
			}
		}

		/// Replays `datanet`'s first `count` accepted items into MMR peaks, calling `at(n, peaks)`
		/// after the n-th append. `None` when the accepted list has a gap (a broken invariant).
		/// `O(count)` reads: for migrations and `try_state`, never for calls.
		pub(crate) fn replay_mmr(
			datanet: DatanetId,
			count: u64,
			mut at: impl FnMut(u64, &[MmrHash]),
		) -> Option<Vec<MmrHash>> {
			let mut peaks = Vec::new();
			for index in 0..count {
				let id = AcceptedList::<T>::get(datanet, index)?;
				let c = Contributions::<T>::get(id)?;
				mmr::append(&mut peaks, index, mmr::leaf_hash(id, &c.contributor, &c.content_hash));
				at(index + 1, &peaks);
			}
			Some(peaks)
		}
	}
}

sp_api::decl_runtime_apis! {
	/// Queries over datanets for UIs and CLIs.
	pub trait DatanetsApi<AccountId> where AccountId: codec::Codec {
		/// Leaderboard of `datanet` (or of all datanets when `None`), sorted by rank, `limit` rows
		/// from `offset`.
		fn leaderboard(datanet: Option<DatanetId>, offset: u32, limit: u32) -> Vec<LeaderboardEntry<AccountId>>;
		/// A contributor's record in `datanet` (or across all datanets when `None`).
		fn contributor_stats(who: AccountId, datanet: Option<DatanetId>) -> ContributorStats;
		/// The root of the datanet's accepted list as it stands, and its leaf count.
		fn current_commitment(datanet: DatanetId) -> Option<(u64, MmrHash)>;
	}
}
