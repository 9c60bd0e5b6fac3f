//! Types stored and accepted by the fees pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// Identifier of a tab (sequential from 0, never reused: vouchers name it, so a voucher for a
/// closed tab can never draw on a later one).
pub type TabId = u64;
/// Identifier of a trained model (the models pallet's).
pub type ModelId = u64;

/// Funds a payer set aside for one serving worker, held on the payer's account.
#[derive(Clone, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen)]
pub struct Tab<Balance, BlockNumber> {
	pub id: TabId,
	/// Held and not yet paid out.
	pub balance: Balance,
	/// Set when the payer closed the tab: from this block the payer may withdraw what is left.
	/// Until then the worker may still settle.
	pub closes_at: Option<BlockNumber>,
}

/// What a payer signs: `worker` may take up to `cumulative` in all, over the life of tab `tab`,
/// for answers of `model`. Each new voucher raises `cumulative`; the chain pays the difference
/// from what earlier vouchers of the same tab and model already paid.
#[derive(
	Clone, Encode, Decode, DecodeWithMemTracking, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct Voucher<AccountId, Balance> {
	pub tab: TabId,
	pub worker: AccountId,
	pub model: ModelId,
	pub cumulative: Balance,
}

/// A voucher with its payer and the payer's signature over [`crate::voucher::payload`].
#[derive(
	Clone, Encode, Decode, DecodeWithMemTracking, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct SignedVoucher<AccountId, Balance, Signature> {
	pub payer: AccountId,
	pub voucher: Voucher<AccountId, Balance>,
	pub signature: Signature,
}

/// One line of a settlement: the payer's latest voucher for a model, and what the worker charges
/// in all on the tab for that model: what its receipts add up to, at most the voucher's
/// `cumulative`. The chain pays the charge's rise over what was paid before.
#[derive(
	Clone, Encode, Decode, DecodeWithMemTracking, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct Charge<AccountId, Balance, Signature> {
	pub signed: SignedVoucher<AccountId, Balance, Signature>,
	pub total: Balance,
}

/// A worker's commitment to one period's usage receipts: the Merkle root over the receipts
/// (request, model, tokens, amount, attribution; docs/fees.md), their number, and the BLAKE3
/// hash and size of the receipts file the worker publishes on the data plane.
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
	Default,
)]
pub struct UsageCommitment {
	pub root: [u8; 32],
	pub receipts: u32,
	pub file: [u8; 32],
	pub bytes: u64,
}

/// Why a voucher in a settlement paid nothing (the others are still paid).
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
pub enum VoucherRefusal {
	/// The payer has no tab with this worker (never opened, or withdrawn).
	NoTab,
	/// The voucher names another tab of the payer's (an older one).
	WrongTab,
	/// The signature is not the payer's over this voucher.
	BadSignature,
	/// The charge was paid already (or is zero).
	NothingOwed,
	/// The charge is above what the voucher allows.
	OverVoucher,
	/// The tab is empty.
	TabEmpty,
	/// No trained model with a final job has this id.
	UnknownModel,
	/// The rewards pallet refused the payment (nothing moved).
	PaymentFailed,
}

/// What the fees pallet needs to know of a trained model: the job that trained it, its datanet
/// and the job's payout table, which fee pools pay by.
#[derive(Clone, Copy, Eq, PartialEq, Debug)]
pub struct ModelPayout {
	pub job: u64,
	pub datanet: u32,
	pub root: [u8; 32],
	pub leaves: u32,
}
