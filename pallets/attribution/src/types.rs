//! Types stored by the attribution pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{traits::Get, BoundedVec};
use scale_info::TypeInfo;

/// Identifier of a job (the jobs pallet's).
pub type JobId = u64;

/// Where one verifier of a check stands.
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
pub enum Stand {
	/// Committed to a secret; not revealed yet.
	Committed,
	/// Revealed its secret (it went into the seed); not voted yet.
	Revealed,
	/// Recomputed the sampled entries and found them as committed.
	Agreed,
	/// Found the entry at `index` committed with `committed` ppm where its recomputation gives
	/// `recomputed`.
	Disputed { index: u32, committed: u32, recomputed: u32 },
	/// Could not get the committed table (not served, or not the table committed): counted as a
	/// dispute. A table nobody can fetch can be neither checked nor claimed from.
	Unavailable,
}

/// A verifier of one check.
#[derive(
	Clone, Encode, Decode, DecodeWithMemTracking, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct Verifier<AccountId> {
	pub account: AccountId,
	/// `BLAKE2-256(secret ‖ account)`, its SCALE encoding.
	pub commitment: [u8; 32],
	pub stand: Stand,
}

/// The check of one submitted result's payout table.
#[derive(Clone, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen)]
#[scale_info(skip_type_params(MaxVerifiers))]
#[codec(mel_bound(AccountId: MaxEncodedLen, BlockNumber: MaxEncodedLen))]
pub struct Check<AccountId, BlockNumber, MaxVerifiers: Get<u32>> {
	/// The worker whose result is checked.
	pub worker: AccountId,
	/// The committed table: its root and leaf count; the first `entries` leaves (the
	/// contributors') are what is sampled.
	pub root: [u8; 32],
	pub leaves: u32,
	pub entries: u32,
	/// Commits are taken before `commit_end`, reveals before `reveal_end`, votes before
	/// `vote_end`, when the check concludes.
	pub commit_end: BlockNumber,
	pub reveal_end: BlockNumber,
	pub vote_end: BlockNumber,
	/// The running seed: the job and root, then every revealed secret in turn, hashed in.
	pub seed: [u8; 32],
	pub verifiers: BoundedVec<Verifier<AccountId>, MaxVerifiers>,
}

/// How a check ended.
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
pub enum Outcome {
	/// No verifier voted: the result stands unchecked.
	Unchecked,
	/// At least as many agreed as disputed: the result stands; disputers lose their stake.
	Upheld,
	/// More disputed than agreed: the result is void, the worker slashed (part to the
	/// disputers), those who agreed lose their stake.
	Voided,
}
