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
	/// Root of the attribution commitment (per-contribution scores); the attribution pallet checks it.
	pub attribution: Option<[u8; 32]>,
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
	/// Final: the model is registered and the worker was paid.
	Finalized { worker: AccountId, model: ModelId },
	/// Cancelled by its creator before any claim; the budget was refunded.
	Cancelled,
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
	/// What is still held from the creator for this job: the budget, less the worker's fee once
	/// paid. The rest waits for the contributors' rewards.
	pub escrow: Balance,
	pub status: JobStatus<AccountId, BlockNumber>,
	pub created_at: BlockNumber,
	/// Leases that lapsed on this job.
	pub lapses: u32,
}
