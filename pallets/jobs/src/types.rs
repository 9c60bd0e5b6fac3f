//! Types stored by the jobs pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use pallet_models::{AdapterRef, BaseModelId, ModelId, TrainingConfig, TrainingMetrics};
use scale_info::TypeInfo;

/// Identifier of a job (sequential from 0).
pub type JobId = u64;

/// How far a claimed job has come, as its worker reports in heartbeats.
#[derive(
	Clone,
	Copy,
	Default,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Eq,
	PartialEq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Progress {
	pub step: u32,
	pub total_steps: u32,
	/// Latest training loss in millionths.
	pub loss_micro: Option<u32>,
}

/// What a worker submits when training is done.
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
pub struct JobResult {
	/// The adapter blob (see docs/jobs.md for its canonical form and hash).
	pub adapter: AdapterRef,
	pub metrics: TrainingMetrics,
	/// Who shaped the model, and so who is paid for it.
	pub attribution: AttributionCommitment,
}

/// A worker's commitment to a job's attribution and payout table (docs/attribution.md,
/// docs/rewards.md).
///
/// The table is a list of the rewards pallet's leaves: first one contributor leaf per item of the
/// version (every item, sorted by contribution id; `item` is the contribution id and `ppm` its
/// share of the positive attribution scores), then one curator leaf per curator with approving
/// votes on the version's items (sorted by account; `item` is the number of those votes and `ppm`
/// its share of all of them). The full table, raw scores included, is a blob on the data plane
/// that anyone can fetch by `table` and check against `root`.
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
pub struct AttributionCommitment {
	/// Merkle root of the leaves (the rewards pallet's `merkle`).
	pub root: [u8; 32],
	/// Number of leaves: at least the version's item count.
	pub leaves: u32,
	/// The sum of the positive raw scores, in units of 10⁻¹⁸ (spot checks compare against it).
	pub total: u128,
	/// The table blob's BLAKE3 hash and size.
	pub table: [u8; 32],
	pub table_bytes: u64,
}

/// Where a job stands.
#[derive(Clone, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen)]
pub enum JobStatus<AccountId, BlockNumber> {
	/// Waiting for a worker.
	Open,
	/// A worker holds it until `lease_until` (the lease lapses at the start of that block), and at
	/// most until `deadline`, however often it heartbeats.
	Claimed {
		worker: AccountId,
		lease_until: BlockNumber,
		deadline: BlockNumber,
		progress: Progress,
	},
	/// The worker submitted a result; it becomes final at the start of block `final_at`.
	Submitted { worker: AccountId, result: JobResult, final_at: BlockNumber },
	/// Final: the model is registered and the escrow went into the job's reward pool.
	/// `attribution` is the result's commitment, kept: its table is what the pool pays by.
	Finalized { worker: AccountId, model: ModelId, attribution: AttributionCommitment },
	/// Cancelled by its creator before any claim; the budget was refunded.
	Cancelled,
	/// Stopped by its creator while `worker` trained it, at its last reported `progress`: the
	/// worker was paid for that share of the job, the rest of the budget refunded; no model.
	Stopped { worker: AccountId, progress: Progress },
}

/// A training job.
#[derive(Clone, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen)]
pub struct Job<AccountId, Balance, BlockNumber> {
	pub creator: AccountId,
	pub datanet: u32,
	pub version: u32,
	pub base: BaseModelId,
	/// A trained model (of the same base) whose adapter training continues from.
	pub parent: Option<ModelId>,
	pub config: TrainingConfig,
	/// What the creator put in.
	pub budget: Balance,
	/// What is still held from the creator for this job: the budget until the result is final,
	/// then nothing (it went into the job's reward pool).
	pub escrow: Balance,
	pub status: JobStatus<AccountId, BlockNumber>,
	pub created_at: BlockNumber,
	/// Leases that lapsed on this job.
	pub lapses: u32,
	/// How the result's payout table is computed: the runtime's method when the job was opened.
	/// The worker and every verifier compute it this way, so a worker on a release with other
	/// defaults is neither paid by a different formula nor disputed for an honest table.
	pub attribution: AttributionMethod,
}

/// The parameters of training-data attribution (docs/attribution.md): with the job's training
/// configuration, base and dataset they fix the payout table bit for bit on CPU.
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
pub struct AttributionMethod {
	/// Random projection per side of each adapted layer (0: exact gradients).
	pub projection: u16,
	/// Seeds the projections.
	pub seed: u64,
	/// Segments the run is cut into (targets are differentiated at the start of each); at least 1.
	pub checkpoints: u16,
	/// Preconditioner damping in millionths of each block's mean eigenvalue (100_000 is 0.1);
	/// `None`: plain inner products.
	pub damping_micro: Option<u32>,
	/// Scores follow AdamW's steps (each target gradient scaled by `1/(√v̂ + ε)`).
	pub optimizer_aware: bool,
}
