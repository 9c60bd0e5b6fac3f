//! Types stored by the rewards pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use serde::{Deserialize, Serialize};

/// Parts per million: a whole.
pub const PPM: u32 = 1_000_000;

/// Identifier of a datanet (the datanets pallet's).
pub type DatanetId = u32;
/// Identifier of the job a pool pays for (the jobs pallet's).
pub type JobId = u64;
/// A fee period: block number divided by the `FeePeriod` constant.
pub type Period = u32;

/// How a datanet shares what is paid for models trained on it, in parts per million of each
/// payment; the four parts sum to exactly [`PPM`].
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
pub struct RewardSplit {
	/// To contributors, by the attribution table.
	pub contributors: u32,
	/// To curators, by their approving votes on the version's accepted items.
	pub curators: u32,
	/// To the worker that trained the model.
	pub worker: u32,
	/// To the datanet's owner.
	pub owner: u32,
}

impl RewardSplit {
	/// Whether the parts sum to exactly one whole.
	pub fn is_whole(&self) -> bool {
		[self.curators, self.worker, self.owner]
			.iter()
			.try_fold(self.contributors, |acc, p| acc.checked_add(*p))
			== Some(PPM)
	}
}

/// Which part of a pool a leaf is paid from.
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
#[serde(rename_all = "lowercase")]
pub enum Role {
	Contributor,
	Curator,
}

/// One line of a pool's payout table: `account` gets `ppm` millionths of the pool's part for
/// `role`. `item` is what the line is for: the contribution id (contributors) or the count of
/// approving votes (curators). Leaves are hashed as BLAKE2-256 of their SCALE encoding.
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
pub struct Leaf<AccountId> {
	pub role: Role,
	pub account: AccountId,
	pub item: u64,
	pub ppm: u32,
}

/// A job's rewards, waiting to be claimed.
#[derive(Clone, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen)]
pub struct Pool<Balance, BlockNumber> {
	pub datanet: DatanetId,
	/// The contributors' part, and what has been claimed from it.
	pub contributors: Balance,
	pub contributors_paid: Balance,
	/// The curators' part, and what has been claimed from it.
	pub curators: Balance,
	pub curators_paid: Balance,
	/// Root of the payout table ([`Leaf`]s, in order), and its number of leaves.
	pub root: [u8; 32],
	pub leaves: u32,
	/// From this block, the pool no longer pays: what is left goes back to the datanet's pot.
	pub expires_at: BlockNumber,
}

/// Why a claim would be refused (the pallet's errors, as the runtime API reports them).
#[derive(Clone, Copy, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ClaimRefusal {
	NoSuchPool,
	PoolExpired,
	BadIndex,
	AlreadyClaimed,
	BadPpm,
	BadProof,
	ProofTooLong,
	PartExhausted,
	/// A fee pool whose period is not over yet.
	PoolFilling,
}
