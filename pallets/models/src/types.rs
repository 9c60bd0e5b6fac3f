//! Types stored by the models pallet: base models, training configurations, trained adapters.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	pallet_prelude::ConstU32, traits::Get, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound,
	PartialEqNoBound,
};
use scale_info::TypeInfo;
use sp_runtime::{Perbill, Permill};

/// Identifier of a base model (sequential from 0).
pub type BaseModelId = u32;
/// Identifier of a trained model (sequential from 0).
pub type ModelId = u64;
/// BLAKE3 hash of a file or blob.
pub type Blake3Hash = [u8; 32];

/// Architecture families the ModelFactory trains (its `model::Family`).
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
pub enum ModelFamily {
	/// LLaMA, and DeepSeek's llama-architecture models.
	Llama,
	Mistral,
	Qwen2,
	Qwen3,
	Gpt2,
	Bloom,
	/// GLM-4 (ChatGLM's successor architecture).
	Glm,
	Glm4,
	/// Qwen1.5-MoE, Qwen2-57B-A14B (mixture of experts with a shared expert).
	Qwen2Moe,
	/// Qwen3-30B-A3B, Qwen3-235B-A22B.
	Qwen3Moe,
	/// DeepSeek-V2, V2-Lite, V2.5 (latent attention, DeepSeekMoE).
	DeepseekV2,
	/// DeepSeek-V3, R1.
	DeepseekV3,
	/// ChatGLM2, ChatGLM3 and the remote-code glm-4-9b checkpoints (THUDM's layout of GLM).
	ChatGlm,
}

/// One file of a base model, stored as a content-addressed blob on the data plane.
#[derive(
	CloneNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	EqNoBound,
	PartialEqNoBound,
	DebugNoBound,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(NameLen))]
pub struct ModelFile<NameLen: Get<u32>> {
	/// File name inside the model folder (`config.json`, `model.safetensors`, ...).
	pub name: BoundedVec<u8, NameLen>,
	pub hash: Blake3Hash,
	pub bytes: u64,
}

/// A base model that jobs may fine-tune.
#[derive(Clone, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen)]
#[scale_info(skip_type_params(NameLen, LicenseLen, MaxFiles, FileNameLen))]
pub struct BaseModel<AccountId, Balance, BlockNumber, NameLen, LicenseLen, MaxFiles, FileNameLen>
where
	NameLen: Get<u32>,
	LicenseLen: Get<u32>,
	MaxFiles: Get<u32>,
	FileNameLen: Get<u32>,
{
	pub owner: AccountId,
	pub name: BoundedVec<u8, NameLen>,
	pub family: ModelFamily,
	/// SPDX identifier or licence name.
	pub license: BoundedVec<u8, LicenseLen>,
	/// Parameter count: workers compare it with the largest model they declare.
	pub params: u64,
	pub files: BoundedVec<ModelFile<FileNameLen>, MaxFiles>,
	/// Held from the owner while the model is listed.
	pub deposit: Balance,
	/// Retired models keep their record (trained models name them) but take no new jobs.
	pub retired: bool,
	pub registered_at: BlockNumber,
}

/// How the adapter is trained.
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
pub enum TrainingMethod {
	/// LoRA over the frozen base in full precision.
	Lora,
	/// LoRA over an NF4-quantized frozen base.
	Qlora,
}

/// How long training runs.
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
pub enum TrainingLength {
	/// Whole passes over the training split.
	Epochs(u16),
	/// Optimizer steps.
	Steps(u32),
}

/// A module name to adapt, e.g. `q_proj` or `c_attn`.
pub type TargetModule = BoundedVec<u8, ConstU32<32>>;
/// At most 16 target modules.
pub type TargetModules = BoundedVec<TargetModule, ConstU32<16>>;

/// Every parameter of a training run. With the base, the dataset and the worker's thread count it fixes
/// the adapter bit for bit on CPU.
#[derive(
	Clone, Encode, Decode, DecodeWithMemTracking, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct TrainingConfig {
	pub method: TrainingMethod,
	/// LoRA rank.
	pub rank: u16,
	/// LoRA alpha (the update is scaled by alpha / rank).
	pub alpha: u16,
	pub dropout: Permill,
	pub target_modules: TargetModules,
	/// Peak learning rate (a fraction: 2e-4 is `Perbill::from_parts(200_000)`).
	pub learning_rate: Perbill,
	pub warmup_steps: u32,
	pub length: TrainingLength,
	/// Sequences per optimizer step.
	pub batch_size: u16,
	/// Tokens per sequence; longer examples are cut.
	pub max_seq_len: u32,
	pub seed: u64,
	/// Share of the dataset held out for evaluation.
	pub eval_fraction: Permill,
}

/// What a finished training reports. Losses are in millionths (2.5 is `2_500_000`).
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
pub struct TrainingMetrics {
	pub train_loss_micro: u32,
	/// `None` when the eval split was empty.
	pub eval_loss_micro: Option<u32>,
	pub tokens: u64,
	pub steps: u32,
}

/// The adapter blob: PEFT's `adapter_config.json` and `adapter_model.safetensors` in one canonical
/// archive (see docs/jobs.md), by BLAKE3 hash and size.
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
pub struct AdapterRef {
	pub hash: Blake3Hash,
	pub bytes: u64,
}

/// Where a trained model's data came from.
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
pub struct Lineage {
	pub base: BaseModelId,
	/// The trained model this one continued from.
	pub parent: Option<ModelId>,
	/// The job that produced it.
	pub job: u64,
	pub datanet: u32,
	pub version: u32,
}

/// A trained adapter, registered when its job's result became final.
#[derive(Clone, Encode, Decode, Eq, PartialEq, Debug, TypeInfo, MaxEncodedLen)]
pub struct TrainedModel<AccountId, BlockNumber> {
	/// The job's creator.
	pub owner: AccountId,
	/// The worker that trained it.
	pub trainer: AccountId,
	pub lineage: Lineage,
	pub adapter: AdapterRef,
	pub config: TrainingConfig,
	pub metrics: TrainingMetrics,
	pub registered_at: BlockNumber,
}
