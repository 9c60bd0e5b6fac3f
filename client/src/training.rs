//! Typed access to the training loop's pallets: workers, base and trained models, and jobs. Plain
//! Rust views and specs for callers (the CLI, the worker's job runner), converted to and from the
//! chain's types here and nowhere else.

use crate::payout::CommitmentSpec;
use crate::{
	chain::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			pallet_jobs::types::{AttributionMethod, JobResult, JobStatus, Progress},
			pallet_models::types::{
				AdapterRef, ModelFamily, ModelFile, TrainingConfig, TrainingLength, TrainingMethod,
				TrainingMetrics,
			},
			pallet_workers::types::{Capabilities, Device, WorkerStatus},
			sp_arithmetic::per_things::{Perbill, Permill},
		},
	},
	client::{bounded, text, Client, ClientError},
	keys::Key,
};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use subxt::utils::AccountId32;

type Storage =
	subxt::storage::Storage<subxt::SubstrateConfig, subxt::OnlineClient<subxt::SubstrateConfig>>;

/// A finalized block, as the job runner follows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinalizedBlock {
	pub number: u32,
	/// Whether the block has an event of the jobs or workers pallets.
	pub jobs_or_workers: bool,
}

pub type BaseModelId = u32;
pub type ModelId = u64;
pub type JobId = u64;

/// What a worker declares it can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerCaps {
	pub cuda: bool,
	pub memory_mib: u32,
	pub max_model_params: u64,
}

/// A registered worker.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerView {
	pub account: String,
	pub bond: u128,
	/// base58 libp2p peer id (hex when the bytes are not a peer id).
	pub peer_id: String,
	pub addrs: Vec<String>,
	pub caps: WorkerCaps,
	/// `None` while active; the block from which the bond can be withdrawn while unbonding.
	pub unbonding_until: Option<u32>,
	pub registered_at: u32,
	/// The HTTP base URL it publishes (live progress at `{endpoint}/jobs/{id}/events`).
	pub endpoint: Option<String>,
}

/// Model families the chain knows (the ModelFactory's), named as Hugging Face's `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[clap(rename_all = "snake_case")]
pub enum FamilyArg {
	Llama,
	Mistral,
	Qwen2,
	Qwen3,
	Gpt2,
	Bloom,
	Glm,
	Glm4,
	Qwen2Moe,
	Qwen3Moe,
	DeepseekV2,
	DeepseekV3,
	#[serde(rename = "chatglm")]
	#[value(name = "chatglm")]
	ChatGlm,
}

impl FamilyArg {
	/// The `model_type` a model folder's `config.json` gives for this family.
	pub fn model_type(self) -> &'static str {
		match self {
			FamilyArg::Llama => "llama",
			FamilyArg::Mistral => "mistral",
			FamilyArg::Qwen2 => "qwen2",
			FamilyArg::Qwen3 => "qwen3",
			FamilyArg::Gpt2 => "gpt2",
			FamilyArg::Bloom => "bloom",
			FamilyArg::Glm => "glm",
			FamilyArg::Glm4 => "glm4",
			FamilyArg::Qwen2Moe => "qwen2_moe",
			FamilyArg::Qwen3Moe => "qwen3_moe",
			FamilyArg::DeepseekV2 => "deepseek_v2",
			FamilyArg::DeepseekV3 => "deepseek_v3",
			FamilyArg::ChatGlm => "chatglm",
		}
	}

	/// The family a `config.json` names, if the chain knows it.
	pub fn from_model_type(t: &str) -> Option<Self> {
		<Self as clap::ValueEnum>::value_variants().iter().copied().find(|f| f.model_type() == t)
	}
}

impl From<FamilyArg> for ModelFamily {
	fn from(f: FamilyArg) -> Self {
		match f {
			FamilyArg::Llama => ModelFamily::Llama,
			FamilyArg::Mistral => ModelFamily::Mistral,
			FamilyArg::Qwen2 => ModelFamily::Qwen2,
			FamilyArg::Qwen3 => ModelFamily::Qwen3,
			FamilyArg::Gpt2 => ModelFamily::Gpt2,
			FamilyArg::Bloom => ModelFamily::Bloom,
			FamilyArg::Glm => ModelFamily::Glm,
			FamilyArg::Glm4 => ModelFamily::Glm4,
			FamilyArg::Qwen2Moe => ModelFamily::Qwen2Moe,
			FamilyArg::Qwen3Moe => ModelFamily::Qwen3Moe,
			FamilyArg::DeepseekV2 => ModelFamily::DeepseekV2,
			FamilyArg::DeepseekV3 => ModelFamily::DeepseekV3,
			FamilyArg::ChatGlm => ModelFamily::ChatGlm,
		}
	}
}

impl From<&ModelFamily> for FamilyArg {
	fn from(f: &ModelFamily) -> Self {
		match f {
			ModelFamily::Llama => FamilyArg::Llama,
			ModelFamily::Mistral => FamilyArg::Mistral,
			ModelFamily::Qwen2 => FamilyArg::Qwen2,
			ModelFamily::Qwen3 => FamilyArg::Qwen3,
			ModelFamily::Gpt2 => FamilyArg::Gpt2,
			ModelFamily::Bloom => FamilyArg::Bloom,
			ModelFamily::Glm => FamilyArg::Glm,
			ModelFamily::Glm4 => FamilyArg::Glm4,
			ModelFamily::Qwen2Moe => FamilyArg::Qwen2Moe,
			ModelFamily::Qwen3Moe => FamilyArg::Qwen3Moe,
			ModelFamily::DeepseekV2 => FamilyArg::DeepseekV2,
			ModelFamily::DeepseekV3 => FamilyArg::DeepseekV3,
			ModelFamily::ChatGlm => FamilyArg::ChatGlm,
		}
	}
}

/// One file of a base model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelFileSpec {
	pub name: String,
	#[serde(with = "hex32")]
	pub hash: [u8; 32],
	pub bytes: u64,
}

/// A base model to list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseModelSpec {
	pub name: String,
	pub family: FamilyArg,
	pub license: String,
	pub params: u64,
	pub files: Vec<ModelFileSpec>,
}

/// A listed base model.
#[derive(Debug, Clone, Serialize)]
pub struct BaseModelView {
	pub id: BaseModelId,
	pub owner: String,
	#[serde(flatten)]
	pub spec: BaseModelSpec,
	pub retired: bool,
}

/// LoRA over a full-precision or an NF4-quantized base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MethodArg {
	Lora,
	Qlora,
}

/// How long training runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LengthArg {
	Steps(u32),
	Epochs(u16),
}

/// Every training parameter, in the units people use (fractions as `f64`). The chain stores
/// fractions as parts per billion (learning rate) and per million (dropout, eval fraction); the
/// conversion rounds to the nearest part, and [`TrainingSpec::from_chain`] gives back the stored value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSpec {
	pub method: MethodArg,
	pub rank: u16,
	pub alpha: u16,
	pub dropout: f64,
	pub target_modules: Vec<String>,
	pub learning_rate: f64,
	pub warmup_steps: u32,
	pub length: LengthArg,
	pub batch_size: u16,
	pub max_seq_len: u32,
	pub seed: u64,
	pub eval_fraction: f64,
}

fn parts(x: f64, per_one: f64, what: &str) -> Result<u32, ClientError> {
	if !(0.0..=1.0).contains(&x) || x.is_nan() {
		return Err(ClientError::Other(format!("{what} must be between 0 and 1 (got {x})")));
	}
	Ok((x * per_one).round() as u32)
}

impl TrainingSpec {
	pub(crate) fn to_chain(&self) -> Result<TrainingConfig, ClientError> {
		Ok(TrainingConfig {
			method: match self.method {
				MethodArg::Lora => TrainingMethod::Lora,
				MethodArg::Qlora => TrainingMethod::Qlora,
			},
			rank: self.rank,
			alpha: self.alpha,
			dropout: Permill(parts(self.dropout, 1e6, "dropout")?),
			target_modules: BoundedVec(
				self.target_modules.iter().map(|m| BoundedVec(m.as_bytes().to_vec())).collect(),
			),
			learning_rate: Perbill(parts(self.learning_rate, 1e9, "the learning rate")?),
			warmup_steps: self.warmup_steps,
			length: match self.length {
				LengthArg::Steps(s) => TrainingLength::Steps(s),
				LengthArg::Epochs(e) => TrainingLength::Epochs(e),
			},
			batch_size: self.batch_size,
			max_seq_len: self.max_seq_len,
			seed: self.seed,
			eval_fraction: Permill(parts(self.eval_fraction, 1e6, "the eval fraction")?),
		})
	}

	pub(crate) fn from_chain(c: &TrainingConfig) -> Self {
		TrainingSpec {
			method: match c.method {
				TrainingMethod::Lora => MethodArg::Lora,
				TrainingMethod::Qlora => MethodArg::Qlora,
			},
			rank: c.rank,
			alpha: c.alpha,
			dropout: c.dropout.0 as f64 / 1e6,
			target_modules: c.target_modules.0.iter().map(text).collect(),
			learning_rate: c.learning_rate.0 as f64 / 1e9,
			warmup_steps: c.warmup_steps,
			length: match c.length {
				TrainingLength::Steps(s) => LengthArg::Steps(s),
				TrainingLength::Epochs(e) => LengthArg::Epochs(e),
			},
			batch_size: c.batch_size,
			max_seq_len: c.max_seq_len,
			seed: c.seed,
			eval_fraction: c.eval_fraction.0 as f64 / 1e6,
		}
	}
}

/// How a job's payout table is computed (the chain's [`AttributionMethod`], fixed when the job was
/// opened), in the engine's units: the worker and every verifier attribute with exactly this.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AttributionSpec {
	/// Projected dimensions per side of each adapted layer (0: exact gradients).
	pub projection: u16,
	pub seed: u64,
	pub checkpoints: u16,
	/// Relative damping of the preconditioner; `None`: none.
	pub damping: Option<f64>,
	pub optimizer_aware: bool,
}

impl AttributionSpec {
	pub(crate) fn from_chain(m: &AttributionMethod) -> Self {
		AttributionSpec {
			projection: m.projection,
			seed: m.seed,
			checkpoints: m.checkpoints,
			damping: m.damping_micro.map(|d| d as f64 / 1e6),
			optimizer_aware: m.optimizer_aware,
		}
	}
}

/// A job to open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
	pub datanet: u32,
	pub version: u32,
	pub base: BaseModelId,
	pub parent: Option<ModelId>,
	pub training: TrainingSpec,
	pub budget: u128,
}

/// Training metrics; losses as numbers (the chain keeps millionths).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
	pub train_loss: f64,
	pub eval_loss: Option<f64>,
	pub tokens: u64,
	pub steps: u32,
}

impl Metrics {
	fn to_chain(self) -> TrainingMetrics {
		TrainingMetrics {
			train_loss_micro: micro(self.train_loss),
			eval_loss_micro: self.eval_loss.map(micro),
			tokens: self.tokens,
			steps: self.steps,
		}
	}

	fn from_chain(m: &TrainingMetrics) -> Self {
		Metrics {
			train_loss: m.train_loss_micro as f64 / 1e6,
			eval_loss: m.eval_loss_micro.map(|l| l as f64 / 1e6),
			tokens: m.tokens,
			steps: m.steps,
		}
	}
}

/// A worker's result for a job.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ResultSpec {
	#[serde(with = "hex32")]
	pub adapter_hash: [u8; 32],
	pub adapter_bytes: u64,
	pub metrics: Metrics,
	pub attribution: CommitmentSpec,
}

/// Where a job stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum JobState {
	Open,
	Claimed {
		worker: String,
		lease_until: u32,
		deadline: u32,
		step: u32,
		total_steps: u32,
		loss: Option<f64>,
	},
	Submitted {
		worker: String,
		#[serde(with = "hex32")]
		adapter_hash: [u8; 32],
		adapter_bytes: u64,
		metrics: Metrics,
		attribution: CommitmentSpec,
		final_at: u32,
	},
	Finalized {
		worker: String,
		model: ModelId,
		attribution: CommitmentSpec,
	},
	Cancelled,
	/// Stopped by its creator while `worker` trained it, at `step` of `total_steps`.
	Stopped {
		worker: String,
		step: u32,
		total_steps: u32,
	},
}

/// A job as the CLI shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
	pub id: JobId,
	pub creator: String,
	pub datanet: u32,
	pub version: u32,
	pub base: BaseModelId,
	pub parent: Option<ModelId>,
	pub training: TrainingSpec,
	pub budget: u128,
	pub escrow: u128,
	pub state: JobState,
	pub created_at: u32,
	pub lapses: u32,
	pub attribution: AttributionSpec,
}

/// A trained model with its lineage.
#[derive(Debug, Clone, Serialize)]
pub struct ModelView {
	pub id: ModelId,
	pub owner: String,
	pub trainer: String,
	pub base: BaseModelId,
	pub parent: Option<ModelId>,
	pub job: JobId,
	pub datanet: u32,
	pub version: u32,
	#[serde(with = "hex32")]
	pub adapter_hash: [u8; 32],
	pub adapter_bytes: u64,
	pub training: TrainingSpec,
	pub metrics: Metrics,
	pub registered_at: u32,
}

/// An amount of TRIB ("1.5", at most 12 decimals) in plancks.
pub fn parse_trib(s: &str) -> Result<u128, ClientError> {
	let bad = || {
		ClientError::Other(format!("`{s}` is not an amount of TRIB (digits, at most 12 decimals)"))
	};
	let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
	let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
	if frac.len() > 12 || (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
		return Err(bad());
	}
	let w: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
	let f: u128 =
		if frac.is_empty() { 0 } else { format!("{frac:0<12}").parse().map_err(|_| bad())? };
	w.checked_mul(1_000_000_000_000).and_then(|w| w.checked_add(f)).ok_or_else(bad)
}

/// A loss in millionths, as the chain keeps it (negative clamps to 0, huge to `u32::MAX`).
fn micro(loss: f64) -> u32 {
	(loss.max(0.0) * 1e6).round().min(u32::MAX as f64) as u32
}

/// 32-byte hashes as `0x`-prefixed hex in JSON.
pub(crate) mod hex32 {
	use serde::{Deserialize, Deserializer, Serializer};

	pub fn serialize<S: Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
		s.serialize_str(&format!("0x{}", hex::encode(h)))
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
		let s = String::deserialize(d)?;
		let bytes = hex::decode(s.trim_start_matches("0x")).map_err(serde::de::Error::custom)?;
		bytes.try_into().map_err(|_| serde::de::Error::custom("expected 32 bytes"))
	}
}

fn peer_text(bytes: &[u8]) -> String {
	libp2p::PeerId::from_bytes(bytes)
		.map(|p| p.to_base58())
		.unwrap_or_else(|_| format!("0x{}", hex::encode(bytes)))
}

impl Client {
	/// Registers `key` as a worker holding `bond`.
	pub async fn register_worker(
		&self,
		key: &Key,
		bond: u128,
		peer_id: &libp2p::PeerId,
		addrs: &[libp2p::Multiaddr],
		caps: WorkerCaps,
	) -> Result<(), ClientError> {
		let call = chain::tx().workers().register(
			bond,
			BoundedVec(peer_id.to_bytes()),
			BoundedVec(addrs.iter().map(|a| bounded(&a.to_string())).collect()),
			Capabilities {
				device: if caps.cuda { Device::Cuda } else { Device::Cpu },
				memory_mib: caps.memory_mib,
				max_model_params: caps.max_model_params,
			},
		);
		let _: chain::workers::events::WorkerRegistered = self.submit_for(&call, key).await?;
		Ok(())
	}

	/// Holds `amount` more as `key`'s worker bond; returns the new bond.
	pub async fn bond_extra(&self, key: &Key, amount: u128) -> Result<u128, ClientError> {
		let e: chain::workers::events::BondIncreased =
			self.submit_for(&chain::tx().workers().bond_extra(amount), key).await?;
		Ok(e.bond)
	}

	/// The number of the latest block (best, not yet finalized).
	pub async fn best_block(&self) -> Result<u32, ClientError> {
		Ok(self.api().blocks().at_latest().await?.number())
	}

	/// Stops `key`'s worker from taking work; returns the block from which it may withdraw.
	pub async fn unbond_worker(&self, key: &Key) -> Result<u32, ClientError> {
		let e: chain::workers::events::UnbondingStarted =
			self.submit_for(&chain::tx().workers().unbond(), key).await?;
		Ok(e.until)
	}

	/// Releases `key`'s bond after the unbonding delay; returns what was released.
	pub async fn withdraw_worker(&self, key: &Key) -> Result<u128, ClientError> {
		let e: chain::workers::events::WorkerWithdrawn =
			self.submit_for(&chain::tx().workers().withdraw(), key).await?;
		Ok(e.released)
	}

	/// Publishes (`Some`) or removes (`None`) `key`'s worker HTTP endpoint.
	pub async fn set_worker_endpoint(
		&self,
		key: &Key,
		url: Option<&str>,
	) -> Result<(), ClientError> {
		let call = chain::tx().workers().set_endpoint(url.map(bounded));
		let _: chain::workers::events::EndpointSet = self.submit_for(&call, key).await?;
		Ok(())
	}

	/// The HTTP endpoint `who` publishes as a worker, if any.
	pub async fn worker_endpoint(&self, who: &AccountId32) -> Result<Option<String>, ClientError> {
		let at = self.state().await?;
		let e = at.fetch(&chain::storage().workers().endpoints(who.clone())).await?;
		Ok(e.map(|e| text(&e)))
	}

	/// The worker record of `who`, if registered.
	pub async fn worker(&self, who: &AccountId32) -> Result<Option<WorkerView>, ClientError> {
		let at = self.state().await?;
		let Some(w) = at.fetch(&chain::storage().workers().worker_info(who.clone())).await? else {
			return Ok(None);
		};
		let endpoint = at.fetch(&chain::storage().workers().endpoints(who.clone())).await?;
		Ok(Some(WorkerView {
			account: who.to_string(),
			bond: w.bond,
			peer_id: peer_text(&w.peer_id.0),
			addrs: w.addrs.0.iter().map(text).collect(),
			caps: WorkerCaps {
				cuda: matches!(w.capabilities.device, Device::Cuda),
				memory_mib: w.capabilities.memory_mib,
				max_model_params: w.capabilities.max_model_params,
			},
			unbonding_until: match w.status {
				WorkerStatus::Active => None,
				WorkerStatus::Unbonding { until } => Some(until),
			},
			registered_at: w.registered_at,
			endpoint: endpoint.map(|e| text(&e)),
		}))
	}

	/// Lists a base model owned by `key`; returns its id.
	pub async fn register_base(
		&self,
		key: &Key,
		spec: &BaseModelSpec,
	) -> Result<BaseModelId, ClientError> {
		let call = chain::tx().models().register_base(
			bounded(&spec.name),
			spec.family.into(),
			bounded(&spec.license),
			spec.params,
			BoundedVec(
				spec.files
					.iter()
					.map(|f| ModelFile { name: bounded(&f.name), hash: f.hash, bytes: f.bytes })
					.collect(),
			),
		);
		let e: chain::models::events::BaseModelRegistered = self.submit_for(&call, key).await?;
		Ok(e.base)
	}

	/// One base model.
	pub async fn base_model(&self, id: BaseModelId) -> Result<BaseModelView, ClientError> {
		let at = self.state().await?;
		let m = at
			.fetch(&chain::storage().models().base_models(id))
			.await?
			.ok_or(ClientError::NotFound { what: "base model", id: id as u64 })?;
		Ok(BaseModelView {
			id,
			owner: m.owner.to_string(),
			spec: BaseModelSpec {
				name: text(&m.name),
				family: (&m.family).into(),
				license: text(&m.license),
				params: m.params,
				files: m
					.files
					.0
					.iter()
					.map(|f| ModelFileSpec { name: text(&f.name), hash: f.hash, bytes: f.bytes })
					.collect(),
			},
			retired: m.retired,
		})
	}

	/// Every base model, by id.
	pub async fn base_models(&self) -> Result<Vec<BaseModelView>, ClientError> {
		let at = self.state().await?;
		let next = at.fetch(&chain::storage().models().next_base_model_id()).await?.unwrap_or(0);
		let mut out = Vec::new();
		for id in 0..next {
			out.push(self.base_model(id).await?);
		}
		Ok(out)
	}

	/// Opens a training job signed by `key`; returns its id.
	pub async fn create_job(&self, key: &Key, spec: &JobSpec) -> Result<JobId, ClientError> {
		let call = chain::tx().jobs().create_job(
			spec.datanet,
			spec.version,
			spec.base,
			spec.parent,
			spec.training.to_chain()?,
			spec.budget,
		);
		let e: chain::jobs::events::JobCreated = self.submit_for(&call, key).await?;
		Ok(e.job)
	}

	/// Cancels an open job (creator only) and refunds it.
	pub async fn cancel_job(&self, key: &Key, job: JobId) -> Result<(), ClientError> {
		let _: chain::jobs::events::JobCancelled =
			self.submit_for(&chain::tx().jobs().cancel_job(job), key).await?;
		Ok(())
	}

	/// Stops a claimed job (creator only): the worker is paid for the share it reported done;
	/// returns what it was paid and what came back to the creator.
	pub async fn stop_job(&self, key: &Key, job: JobId) -> Result<(u128, u128), ClientError> {
		let e: chain::jobs::events::JobStopped =
			self.submit_for(&chain::tx().jobs().stop_job(job), key).await?;
		Ok((e.paid, e.refunded))
	}

	/// Claims `job` for worker `key`; returns the block its lease lapses at.
	pub async fn claim_job(&self, key: &Key, job: JobId) -> Result<u32, ClientError> {
		let e: chain::jobs::events::JobClaimed =
			self.submit_for(&chain::tx().jobs().claim_job(job), key).await?;
		Ok(e.lease_until)
	}

	/// Reports progress on a claimed job and renews its lease; returns the new lease end.
	pub async fn heartbeat(
		&self,
		key: &Key,
		job: JobId,
		step: u32,
		total_steps: u32,
		loss: Option<f64>,
	) -> Result<u32, ClientError> {
		let progress = Progress { step, total_steps, loss_micro: loss.map(micro) };
		let e: chain::jobs::events::JobProgressed =
			self.submit_for(&chain::tx().jobs().heartbeat(job, progress), key).await?;
		Ok(e.lease_until)
	}

	/// Submits a claimed job's result; returns the block it becomes final at.
	pub async fn submit_result(
		&self,
		key: &Key,
		job: JobId,
		result: &ResultSpec,
	) -> Result<u32, ClientError> {
		let r = JobResult {
			adapter: AdapterRef { hash: result.adapter_hash, bytes: result.adapter_bytes },
			metrics: result.metrics.to_chain(),
			attribution: result.attribution.to_chain(),
		};
		let e: chain::jobs::events::ResultSubmitted =
			self.submit_for(&chain::tx().jobs().submit_result(job, r), key).await?;
		Ok(e.final_at)
	}

	/// The job `who` holds, if any.
	pub async fn claimed_by(&self, who: &AccountId32) -> Result<Option<JobId>, ClientError> {
		let at = self.state().await?;
		Ok(at.fetch(&chain::storage().jobs().claimed_by(who.clone())).await?)
	}

	/// One job.
	pub async fn job(&self, id: JobId) -> Result<JobView, ClientError> {
		let at = self.state().await?;
		Self::job_at(&at, id).await
	}

	/// Job `id` in the state `at` (one block).
	async fn job_at(at: &Storage, id: JobId) -> Result<JobView, ClientError> {
		let j = at
			.fetch(&chain::storage().jobs().job_info(id))
			.await?
			.ok_or(ClientError::NotFound { what: "job", id })?;
		let state = match &j.status {
			JobStatus::Open => JobState::Open,
			JobStatus::Claimed { worker, lease_until, deadline, progress } => JobState::Claimed {
				worker: worker.to_string(),
				lease_until: *lease_until,
				deadline: *deadline,
				step: progress.step,
				total_steps: progress.total_steps,
				loss: progress.loss_micro.map(|l| l as f64 / 1e6),
			},
			JobStatus::Submitted { worker, result, final_at } => JobState::Submitted {
				worker: worker.to_string(),
				adapter_hash: result.adapter.hash,
				adapter_bytes: result.adapter.bytes,
				metrics: Metrics::from_chain(&result.metrics),
				attribution: CommitmentSpec::from_chain(&result.attribution),
				final_at: *final_at,
			},
			JobStatus::Finalized { worker, model, attribution } => JobState::Finalized {
				worker: worker.to_string(),
				model: *model,
				attribution: CommitmentSpec::from_chain(attribution),
			},
			JobStatus::Cancelled => JobState::Cancelled,
			JobStatus::Stopped { worker, progress } => JobState::Stopped {
				worker: worker.to_string(),
				step: progress.step,
				total_steps: progress.total_steps,
			},
		};
		Ok(JobView {
			id,
			creator: j.creator.to_string(),
			datanet: j.datanet,
			version: j.version,
			base: j.base,
			parent: j.parent,
			training: TrainingSpec::from_chain(&j.config),
			budget: j.budget,
			escrow: j.escrow,
			state,
			created_at: j.created_at,
			lapses: j.lapses,
			attribution: AttributionSpec::from_chain(&j.attribution),
		})
	}

	/// Every job, by id, as of one block (the latest finalized), read concurrently.
	pub async fn jobs(&self) -> Result<Vec<JobView>, ClientError> {
		let at = self.state().await?;
		let next = at.fetch(&chain::storage().jobs().next_job_id()).await?.unwrap_or(0);
		let reads = (0..next).map(|id| Self::job_at(&at, id));
		futures::stream::iter(reads).buffered(16).try_collect().await
	}

	/// Numbers of new best blocks, by subscription (leases are counted at the chain's tip).
	pub async fn best_block_numbers(
		&self,
	) -> Result<impl futures::Stream<Item = Result<u32, ClientError>>, ClientError> {
		let sub = self.api().blocks().subscribe_best().await?;
		Ok(sub.map(|b| b.map(|b| b.number()).map_err(ClientError::from)))
	}

	/// Finalized blocks from now on, by subscription, each with whether it carries an event of the
	/// jobs or workers pallets (what can make a job claimable for someone).
	pub async fn finalized_blocks(
		&self,
	) -> Result<impl futures::Stream<Item = Result<FinalizedBlock, ClientError>>, ClientError> {
		// Bounded like a connection: a node that never answers must not hold the caller.
		let sub = tokio::time::timeout(
			crate::client::DEFAULT_CONNECT_TIMEOUT,
			self.api().blocks().subscribe_finalized(),
		)
		.await
		.map_err(|_| ClientError::Other("the node did not answer a block subscription".into()))??;
		Ok(sub.then(|block| async move {
			let block = block?;
			let events = block.events().await?;
			let jobs_or_workers = events.iter().any(|e| match e {
				Ok(e) => matches!(e.pallet_name(), "Jobs" | "Workers"),
				// An event this client cannot decode: look, to be safe.
				Err(_) => true,
			});
			Ok(FinalizedBlock { number: block.number(), jobs_or_workers })
		}))
	}

	/// One trained model with its lineage.
	pub async fn model(&self, id: ModelId) -> Result<ModelView, ClientError> {
		let at = self.state().await?;
		let m = at
			.fetch(&chain::storage().models().models(id))
			.await?
			.ok_or(ClientError::NotFound { what: "model", id })?;
		Ok(ModelView {
			id,
			owner: m.owner.to_string(),
			trainer: m.trainer.to_string(),
			base: m.lineage.base,
			parent: m.lineage.parent,
			job: m.lineage.job,
			datanet: m.lineage.datanet,
			version: m.lineage.version,
			adapter_hash: m.adapter.hash,
			adapter_bytes: m.adapter.bytes,
			training: TrainingSpec::from_chain(&m.config),
			metrics: Metrics::from_chain(&m.metrics),
			registered_at: m.registered_at,
		})
	}

	/// Every trained model, by id.
	pub async fn models(&self) -> Result<Vec<ModelView>, ClientError> {
		let at = self.state().await?;
		let next = at.fetch(&chain::storage().models().next_model_id()).await?.unwrap_or(0);
		let mut out = Vec::new();
		for id in 0..next {
			out.push(self.model(id).await?);
		}
		Ok(out)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn spec() -> TrainingSpec {
		TrainingSpec {
			method: MethodArg::Qlora,
			rank: 8,
			alpha: 16,
			dropout: 0.05,
			target_modules: vec!["q_proj".into(), "v_proj".into()],
			learning_rate: 2e-4,
			warmup_steps: 3,
			length: LengthArg::Epochs(2),
			batch_size: 4,
			max_seq_len: 512,
			seed: 9,
			eval_fraction: 0.1,
		}
	}

	#[test]
	fn trib_amounts_parse_to_plancks() {
		assert_eq!(parse_trib("1").unwrap(), 1_000_000_000_000);
		assert_eq!(parse_trib("1.5").unwrap(), 1_500_000_000_000);
		assert_eq!(parse_trib("0.000000000001").unwrap(), 1);
		assert_eq!(parse_trib(".25").unwrap(), 250_000_000_000);
		for bad in ["1.0000000000001", "abc", "", ".", "-1", "1e3", "1.2.3"] {
			assert!(parse_trib(bad).is_err(), "{bad}");
		}
	}

	#[test]
	fn training_specs_survive_the_chain_encoding() {
		let chain = spec().to_chain().unwrap();
		assert_eq!(chain.learning_rate.0, 200_000);
		assert_eq!(chain.dropout.0, 50_000);
		assert_eq!(chain.eval_fraction.0, 100_000);
		assert_eq!(TrainingSpec::from_chain(&chain), spec());
	}

	#[test]
	fn fractions_outside_zero_to_one_are_refused_before_signing() {
		for bad in [-0.1, 1.5, f64::NAN] {
			let s = TrainingSpec { learning_rate: bad, ..spec() };
			let e = s.to_chain().unwrap_err().to_string();
			assert!(e.contains("learning rate must be between 0 and 1"), "{e}");
		}
		let e = TrainingSpec { dropout: 2.0, ..spec() }.to_chain().unwrap_err().to_string();
		assert!(e.contains("dropout"), "{e}");
	}
}
