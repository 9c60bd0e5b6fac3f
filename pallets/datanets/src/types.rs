//! Types stored by the datanets pallet and shared with the runtime API and off-chain code.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{pallet_prelude::ConstU32, BoundedVec};
use scale_info::TypeInfo;
use serde::{Deserialize, Serialize};

/// Identifier of a datanet (sequential, starting at 0).
pub type DatanetId = u32;
/// Identifier of a contribution (sequential across all datanets, starting at 0).
pub type ContributionId = u64;
/// BLAKE3 hash of a contribution's bytes.
pub type ContentHash = [u8; 32];
/// A contributor's commitment to a contribution it will reveal later (see
/// [`crate::commitments::commitment_of`]).
pub type Commitment = [u8; 32];
/// A node of a datanet's Merkle mountain range (BLAKE2-256, see [`crate::mmr`]).
pub type MmrHash = [u8; 32];
/// Upper bound on MMR peaks: one per set bit of a 64-bit leaf count.
pub type MaxPeaks = ConstU32<64>;

/// Milliseconds in one UTC day; daily caps reset when `timestamp / DAY_MS` changes.
pub const DAY_MS: u64 = 86_400_000;

/// The single kind of data a datanet holds.
#[derive(
	Clone,
	Copy,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Eq,
	PartialEq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
	Serialize,
	Deserialize,
)]
pub enum Modality {
	Text,
	Image,
	Audio,
}

impl Modality {
	/// File formats (lower-case extensions) a datanet of this modality may allow.
	pub fn known_formats(self) -> &'static [&'static str] {
		match self {
			Modality::Text => &["txt", "md", "jsonl", "json", "csv", "pdf", "docx", "html"],
			Modality::Image => &["png", "jpeg", "webp", "gif", "bmp", "tiff"],
			Modality::Audio => &["wav", "flac", "mp3", "ogg", "opus", "m4a"],
		}
	}

	/// Whether `format` is one of [`Self::known_formats`].
	pub fn knows(self, format: &[u8]) -> bool {
		self.known_formats().iter().any(|f| f.as_bytes() == format)
	}
}

/// Whether a datanet still takes submissions.
#[derive(
	Clone,
	Copy,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Eq,
	PartialEq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum DatanetStatus {
	Open,
	/// No new submissions; pending contributions can still be decided. `ClearDelay` blocks after
	/// closing, anyone may clear its storage (`clear_closed_datanet`).
	Closed,
	/// Cleared, but kept because it counts on the global board: its contributors' records there
	/// are kept with it (paid for by its board bond). Contributions, versions and daily usage are
	/// gone.
	Cleared,
}

/// The rules a datanet owner sets and may later update.
#[derive(
	Clone,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Eq,
	PartialEq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
	Serialize,
	Deserialize,
)]
pub struct Rules<Balance> {
	/// Largest accepted item, in bytes.
	pub max_item_bytes: u64,
	/// Bytes one contributor may submit to this datanet per UTC day.
	pub contributor_daily_bytes: u64,
	/// Items one contributor may submit to this datanet per UTC day.
	pub contributor_daily_items: u32,
	/// Bytes all contributors together may submit to this datanet per UTC day.
	pub datanet_daily_bytes: u64,
	/// Items all contributors together may submit to this datanet per UTC day.
	pub datanet_daily_items: u32,
	/// Approve votes that accept a contribution.
	pub approval_quorum: u32,
	/// Reject votes that reject a contribution.
	pub rejection_quorum: u32,
	/// Held from the contributor while a contribution is pending; released when it is decided.
	pub contribution_deposit: Balance,
	/// Paid from the curation pot once per decided contribution, shared equally by the curators
	/// whose votes agreed with the decision (the remainder of the division stays in the pot); a
	/// pot that cannot pay it all pays nothing for that decision.
	pub curator_fee: Balance,
	/// Blocks a contribution may stay pending; then it expires, its hash is freed and its deposit
	/// goes to the curation pot. Changing it affects later submissions only.
	pub pending_blocks: u32,
}

/// 10 MB, the public per-user and per-datanet daily figure this project's defaults follow.
pub const DEFAULT_DAILY_BYTES: u64 = 10 * 1024 * 1024;
/// 20 files per user per day.
pub const DEFAULT_DAILY_ITEMS: u32 = 20;
/// 1 MiB per item: ten of them fit a datanet's default day.
pub const DEFAULT_MAX_ITEM_BYTES: u64 = 1024 * 1024;
/// 1,000 items per datanet per day.
pub const DEFAULT_DATANET_DAILY_ITEMS: u32 = 1_000;
/// A datanet's day holds at least this many of its largest items (and this many items), so no one
/// submission can use up everybody's day.
pub const MIN_ITEMS_PER_DATANET_DAY: u32 = 10;
/// A week of 6-second blocks for curators to decide.
pub const DEFAULT_PENDING_BLOCKS: u32 = 7 * 14_400;

impl<Balance: Default> Rules<Balance> {
	/// Defaults: 10 MiB and 20 items per contributor per day, 10 MiB and 1,000 items per datanet per
	/// day, items up to 1 MiB, one vote each way decides, no deposit and no curator fee, a week to
	/// decide.
	pub fn with_defaults() -> Self {
		Rules {
			max_item_bytes: DEFAULT_MAX_ITEM_BYTES,
			contributor_daily_bytes: DEFAULT_DAILY_BYTES,
			contributor_daily_items: DEFAULT_DAILY_ITEMS,
			datanet_daily_bytes: DEFAULT_DAILY_BYTES,
			datanet_daily_items: DEFAULT_DATANET_DAILY_ITEMS,
			approval_quorum: 1,
			rejection_quorum: 1,
			contribution_deposit: Balance::default(),
			curator_fee: Balance::default(),
			pending_blocks: DEFAULT_PENDING_BLOCKS,
		}
	}
}

/// A curator's bond: what is held, and from which block it can be withdrawn once the curator
/// asked to leave (`None` while it curates).
#[derive(Clone, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen)]
pub struct CuratorBondInfo<Balance, BlockNumber> {
	pub amount: Balance,
	pub unbonding_at: Option<BlockNumber>,
}

/// The part of a datanet's rules whose changes wait (see [`crate::rules_change`]): what a
/// decision pays, how many votes make one, and what a submission holds; `at` is the block the
/// change applies in.
#[derive(Clone, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen)]
pub struct ScheduledChange<Balance, BlockNumber> {
	pub approval_quorum: u32,
	pub rejection_quorum: u32,
	pub contribution_deposit: Balance,
	pub curator_fee: Balance,
	pub at: BlockNumber,
}

impl<Balance: Clone, BlockNumber> ScheduledChange<Balance, BlockNumber> {
	/// The delayed fields of `rules`.
	pub fn of(rules: &Rules<Balance>, at: BlockNumber) -> Self {
		ScheduledChange {
			approval_quorum: rules.approval_quorum,
			rejection_quorum: rules.rejection_quorum,
			contribution_deposit: rules.contribution_deposit.clone(),
			curator_fee: rules.curator_fee.clone(),
			at,
		}
	}

	/// `rules` with this change's fields.
	pub fn apply_to(&self, rules: Rules<Balance>) -> Rules<Balance> {
		Rules {
			approval_quorum: self.approval_quorum,
			rejection_quorum: self.rejection_quorum,
			contribution_deposit: self.contribution_deposit.clone(),
			curator_fee: self.curator_fee.clone(),
			..rules
		}
	}
}

/// A datanet: its owner, metadata, modality, formats and rules. Curators are stored beside it.
#[derive(Clone, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen)]
#[scale_info(skip_type_params(NameLen, DescLen, MaxFormats, FormatLen))]
pub struct Datanet<AccountId, Balance, NameLen, DescLen, MaxFormats, FormatLen>
where
	NameLen: frame_support::traits::Get<u32>,
	DescLen: frame_support::traits::Get<u32>,
	MaxFormats: frame_support::traits::Get<u32>,
	FormatLen: frame_support::traits::Get<u32>,
{
	pub owner: AccountId,
	pub name: BoundedVec<u8, NameLen>,
	pub description: BoundedVec<u8, DescLen>,
	pub modality: Modality,
	pub formats: BoundedVec<BoundedVec<u8, FormatLen>, MaxFormats>,
	pub rules: Rules<Balance>,
	pub status: DatanetStatus,
	/// Creation deposit held from the owner (zero for genesis datanets) for as long as the
	/// datanet's storage lives: released when it is cleared (burned on a slashing force close).
	pub deposit: Balance,
	/// Contributions submitted / accepted / rejected so far.
	pub submitted: u64,
	pub accepted: u64,
	pub rejected: u64,
	/// `Some(bond)` when the datanet counts on the global board: the owner posted `bond`
	/// (`GlobalBoardBond`; zero for genesis datanets and those that counted before bonds), held for
	/// good. `None`: its contributors rank on its own board only.
	pub board_bond: Option<Balance>,
}

/// Where a contribution stands.
#[derive(
	Clone,
	Copy,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Eq,
	PartialEq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum ContributionStatus {
	Pending,
	/// Accepted; `index` is its position in the datanet's accepted list and MMR.
	Accepted {
		index: u64,
	},
	/// Rejected for the reason given by the vote that reached the rejection quorum.
	Rejected {
		reason: RejectReason,
	},
	/// Not decided within the datanet's `pending_blocks`: the hash is free again and the deposit
	/// went to the curation pot.
	Expired,
	/// While pending, contribution `by` took its hash over: `by`'s author committed to the same
	/// bytes in an earlier block. The deposit went to the curation pot.
	Superseded {
		by: ContributionId,
	},
}

/// Why a curator rejects a contribution. Codes are stable: off-chain validators map their findings to them.
#[derive(
	Clone,
	Copy,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Eq,
	PartialEq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum RejectReason {
	/// The bytes are not in the declared format, or cannot be decoded.
	Malformed,
	/// The bytes do not match the declared hash or size.
	HashMismatch,
	/// The content is not of the datanet's modality or topic.
	OffTopic,
	/// The same or nearly the same content is already in the datanet.
	Duplicate,
	/// Too short, too noisy or otherwise of too little value.
	LowQuality,
	/// Breaks the datanet's content policy (illegal, abusive, private data, ...).
	PolicyViolation,
	/// Any other datanet-specific code.
	Other(u16),
}

/// A curator's vote.
#[derive(
	Clone,
	Copy,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Eq,
	PartialEq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum Vote {
	Approve,
	Reject(RejectReason),
}

/// A contribution as recorded on chain: who submitted what, to which datanet, and its state.
#[derive(Clone, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen)]
#[scale_info(skip_type_params(FormatLen, MetaLen))]
pub struct Contribution<AccountId, Balance, BlockNumber, FormatLen, MetaLen>
where
	FormatLen: frame_support::traits::Get<u32>,
	MetaLen: frame_support::traits::Get<u32>,
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
	/// The decision deposit (the datanet's `contribution_deposit`), held while pending.
	pub deposit: Balance,
	pub status: ContributionStatus,
	/// The storage deposit (`RecordDepositBase` plus `RecordDepositPerByte` per metadata byte),
	/// held for as long as this record is stored: released when it is removed.
	pub record_deposit: Balance,
	/// The block its author committed to it in: while it is pending, a reveal of the same bytes
	/// committed earlier takes the hash over (`crate::commitments`).
	pub committed_at: BlockNumber,
	/// The block whose expiry bucket holds it while it is pending (`crate::expiry`).
	pub expires_at: BlockNumber,
}

/// Usage counted against a daily cap, for the UTC day `day`.
#[derive(Clone, Copy, Default, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen)]
pub struct DailyUsage {
	pub day: u64,
	pub bytes: u64,
	pub items: u32,
}

/// A contributor's record, per datanet and globally. Rank is by `accepted`, then `accepted_bytes`, then
/// the earliest first acceptance; `rejected` is shown but never enters the rank.
#[derive(
	Clone,
	Copy,
	Default,
	Encode,
	Decode,
	Eq,
	PartialEq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
	Serialize,
	Deserialize,
)]
pub struct ContributorStats {
	pub submitted: u64,
	pub accepted: u64,
	pub rejected: u64,
	pub accepted_bytes: u64,
	/// Id of the contributor's first accepted contribution: the tie-breaker "earliest".
	pub first_accepted: Option<ContributionId>,
}

impl ContributorStats {
	/// Accepted over decided (accepted + rejected), in parts per million; `None` before any decision.
	pub fn acceptance_rate_ppm(&self) -> Option<u32> {
		let decided = self.accepted.saturating_add(self.rejected);
		if decided == 0 {
			return None;
		}
		Some((self.accepted.saturating_mul(1_000_000) / decided) as u32)
	}

	/// Sort key: smaller sorts first (better rank).
	pub fn rank_key(&self) -> (core::cmp::Reverse<u64>, core::cmp::Reverse<u64>, u64) {
		(
			core::cmp::Reverse(self.accepted),
			core::cmp::Reverse(self.accepted_bytes),
			self.first_accepted.unwrap_or(u64::MAX),
		)
	}
}

/// A contributor's place on a leaderboard: the fields its rank is decided by (see
/// [`ContributorStats::rank_key`]), then the account as the last tie-breaker.
#[derive(Clone, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen)]
pub struct BoardEntry<AccountId> {
	pub account: AccountId,
	pub accepted: u64,
	pub accepted_bytes: u64,
	pub first_accepted: Option<ContributionId>,
}

impl<AccountId: Ord> BoardEntry<AccountId> {
	pub fn new(account: AccountId, s: &ContributorStats) -> Self {
		BoardEntry {
			account,
			accepted: s.accepted,
			accepted_bytes: s.accepted_bytes,
			first_accepted: s.first_accepted,
		}
	}

	fn stats(&self) -> ContributorStats {
		ContributorStats {
			accepted: self.accepted,
			accepted_bytes: self.accepted_bytes,
			first_accepted: self.first_accepted,
			..Default::default()
		}
	}

	/// Better ranks sort first.
	pub fn order(&self, other: &Self) -> core::cmp::Ordering {
		self.stats()
			.rank_key()
			.cmp(&other.stats().rank_key())
			.then_with(|| self.account.cmp(&other.account))
	}

	pub fn sorts_before(&self, other: &Self) -> bool {
		self.order(other) == core::cmp::Ordering::Less
	}
}

/// One row of a leaderboard, as the runtime API returns it.
#[derive(Clone, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, Serialize, Deserialize)]
pub struct LeaderboardEntry<AccountId> {
	/// 1-based rank.
	pub rank: u32,
	pub account: AccountId,
	pub stats: ContributorStats,
	/// See [`ContributorStats::acceptance_rate_ppm`].
	pub acceptance_rate_ppm: Option<u32>,
}

/// A published dataset version: the first `count` accepted contributions, committed by `root`.
#[derive(
	Clone,
	Copy,
	Encode,
	Decode,
	Eq,
	PartialEq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
	Serialize,
	Deserialize,
)]
pub struct DatasetVersion<BlockNumber> {
	pub count: u64,
	pub root: MmrHash,
	pub published_at: BlockNumber,
}

/// A format or name given in a call: bounded raw bytes.
pub type BoundedBytes<L> = BoundedVec<u8, L>;
