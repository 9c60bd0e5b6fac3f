//! The job runner: finds open jobs this worker can run, prepares each before claiming it (the base
//! model's files and the version's items fetched and verified; a job whose data does not verify is
//! refused and never claimed), claims it, trains through `model_factory::finetune` while heartbeating
//! its progress, stores and provides the canonical adapter blob, and submits the result.
//!
//! After a restart it resumes the job the chain says it holds, from its last checkpoint.

use super::dataset::{self, DatasetError};
use super::examples;
use super::progress::ProgressHub;
use candle_core::{DType, Device};
use data_plane::{DataNode, Pin};
use model_factory::data::Record;
use model_factory::finetune::{finetune, Finetune, FinetuneError, Length, Update};
use model_factory::lora::LoraConfig;
use model_factory::train::{Event, TrainConfig};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tributary_client::adapter_blob;
use tributary_client::keys::Key;
use tributary_client::training::{
	BaseModelView, JobId, JobState, JobView, LengthArg, MethodArg, Metrics, ResultSpec,
};
use tributary_client::Client;

#[derive(Debug, Clone)]
pub struct RunnerConfig {
	/// How often to look for work.
	pub poll: Duration,
	/// How often a running job heartbeats (well inside the chain's lease).
	pub heartbeat_every: Duration,
	/// Give up a fetch after this long without progress.
	pub fetch_timeout: Duration,
	/// Checkpoint every this many steps.
	pub checkpoint_every: usize,
	/// Where base models and job folders live.
	pub work_dir: PathBuf,
}

impl Default for RunnerConfig {
	fn default() -> Self {
		Self {
			poll: Duration::from_secs(2),
			heartbeat_every: Duration::from_secs(30),
			fetch_timeout: Duration::from_secs(60),
			checkpoint_every: 10,
			work_dir: PathBuf::from("jobs"),
		}
	}
}

/// The latest progress of the running job, shared with the heartbeat loop.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Progress {
	pub step: u32,
	pub total_steps: u32,
	pub loss: Option<f64>,
}

/// What a job needs before it is claimed.
pub struct Prepared {
	pub model_path: PathBuf,
	pub base_name: String,
	pub records: Vec<Record>,
}

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
	#[error(transparent)]
	Dataset(#[from] DatasetError),
	#[error(transparent)]
	Examples(#[from] examples::ExamplesError),
	#[error("base model file {name} (0x{hash}) could not be fetched verified: {reason}")]
	BaseFile { name: String, hash: String, reason: String },
	#[error("{0}")]
	Io(String),
	#[error(transparent)]
	Chain(#[from] tributary_client::ClientError),
}

pub struct JobRunner {
	client: Client,
	key: Key,
	node: DataNode,
	cfg: RunnerConfig,
	hub: ProgressHub,
	/// Jobs whose data or model did not verify: never claimed.
	refused: HashSet<JobId>,
	/// The bond at which the chain last said this worker is not active: no claims (and no fees)
	/// until the bond changes.
	inactive_at_bond: Option<u128>,
}

impl JobRunner {
	pub fn new(
		client: Client,
		key: Key,
		node: DataNode,
		cfg: RunnerConfig,
		hub: ProgressHub,
	) -> Self {
		Self { client, key, node, cfg, hub, refused: HashSet::new(), inactive_at_bond: None }
	}

	/// Runs until the process stops; a failed round is logged and the next one retries.
	pub async fn run(mut self) {
		tracing::info!(worker = %self.key.ss58(), "job runner started");
		loop {
			match self.round().await {
				Ok(Some(job)) => tracing::info!(job, "job done"),
				Ok(None) => {}
				Err(e) => {
					tracing::warn!("job round failed: {e:#}");
					if let Ok(c) = Client::connect(self.client.url()).await {
						self.client = c;
					}
				}
			}
			tokio::time::sleep(self.cfg.poll).await;
		}
	}

	/// One look for work: resume the job we hold, or prepare, claim and run the first open job we
	/// can. Returns the job finished, if any.
	pub async fn round(&mut self) -> anyhow::Result<Option<JobId>> {
		let me = self.key.account_id();
		if let Some(id) = self.client.claimed_by(&me).await? {
			let job = self.client.job(id).await?;
			tracing::info!(job = id, "resuming the job we hold");
			let base = self.client.base_model(job.base).await?;
			let prepared = prepare(&self.client, &self.node, &self.cfg, &job, &base).await?;
			let lease_until = match job.state {
				JobState::Claimed { lease_until, .. } => Some(lease_until),
				_ => None,
			};
			self.train_and_submit(&job, prepared, lease_until).await?;
			return Ok(Some(id));
		}
		let Some(w) = self.client.worker(&me).await? else { return Ok(None) };
		if w.unbonding_until.is_some() || self.inactive_at_bond == Some(w.bond) {
			return Ok(None);
		}
		for job in self.client.jobs().await? {
			if job.state != JobState::Open || self.refused.contains(&job.id) {
				continue;
			}
			let base = self.client.base_model(job.base).await?;
			if base.spec.params > w.caps.max_model_params {
				continue;
			}
			let prepared = match prepare(&self.client, &self.node, &self.cfg, &job, &base).await {
				Ok(p) => p,
				Err(e) => {
					tracing::error!(
						job = job.id,
						"refusing the job, nothing will be submitted: {e}"
					);
					self.refused.insert(job.id);
					continue;
				}
			};
			let lease_until = match self.client.claim_job(&self.key, job.id).await {
				Ok(lease_until) => {
					tracing::info!(job = job.id, lease_until, "claimed");
					lease_until
				}
				Err(e) if e.chain_error() == Some("NotActiveWorker") => {
					tracing::error!(
						bond = w.bond,
						"the chain says this worker is not active (its bond is below the minimum, \
						 e.g. after a lapse penalty): no claims until `tributary worker bond-extra`"
					);
					self.inactive_at_bond = Some(w.bond);
					return Ok(None);
				}
				Err(e) => {
					tracing::info!(job = job.id, "not claimed: {e}");
					continue;
				}
			};
			self.train_and_submit(&job, prepared, Some(lease_until)).await?;
			return Ok(Some(job.id));
		}
		Ok(None)
	}

	/// Trains the claimed `job` (resuming a checkpoint if there is one), heartbeating, then publishes
	/// the adapter blob and submits the result.
	async fn train_and_submit(
		&self,
		job: &JobView,
		prepared: Prepared,
		lease_until: Option<u32>,
	) -> anyhow::Result<()> {
		let out = self.cfg.work_dir.join("jobs").join(job.id.to_string()).join("adapter");
		let resume = out.join("checkpoint").join("trainer_state.json").exists();
		let spec = finetune_spec(job, self.cfg.checkpoint_every);
		let reporter = Arc::new(Reporter::new(job.id, self.hub.clone()));
		let shared = reporter.clone();
		let out_dir = out.clone();
		let training = tokio::task::spawn_blocking(move || {
			model_factory::on_compute_pool(|| train(&prepared, &spec, &out_dir, resume, &shared))
		});
		tokio::pin!(training);
		// Heartbeat every `heartbeat_every`, and also whenever half the lease has run out, whatever
		// the chain's block time: the lease is counted in blocks.
		let mut lease_until = lease_until.unwrap_or(0);
		let claimed_at = self.client.best_block().await.unwrap_or(0);
		let mut half_lease = lease_until.saturating_sub(claimed_at) / 2;
		let mut last_beat = tokio::time::Instant::now();
		let mut tick = tokio::time::interval(Duration::from_millis(
			(self.cfg.heartbeat_every.as_millis() as u64).clamp(100, 1000),
		));
		tick.tick().await;
		let summary = loop {
			tokio::select! {
				done = &mut training => match done? {
					Ok(s) => break s,
					Err(e) => {
						self.hub.publish(job.id, "failed", serde_json::json!({ "reason": format!("{e:#}") }));
						if let Some(FinetuneError::Stopped { step }) = e.downcast_ref::<FinetuneError>() {
							// The lease is gone: another worker may take the job; nothing to submit.
							tracing::warn!(job = job.id, step, "training stopped: the lease was lost");
							return Ok(());
						}
						return Err(e);
					},
				},
				_ = tick.tick() => {
					let best = self.client.best_block().await.unwrap_or(0);
					let due = last_beat.elapsed() >= self.cfg.heartbeat_every
						|| best.saturating_add(half_lease) >= lease_until;
					if !due {
						continue;
					}
					let p = reporter.latest();
					match self.client.heartbeat(&self.key, job.id, p.step, p.total_steps.max(p.step), p.loss).await {
						Ok(until) => {
							tracing::info!(job = job.id, step = p.step, total = p.total_steps, lease_until = until, "heartbeat");
							half_lease = half_lease.max(until.saturating_sub(best) / 2);
							lease_until = until;
						},
						Err(e) if e.chain_error() == Some("NotLeaseHolder") => {
							tracing::warn!(job = job.id, "the lease is lost (it lapsed): stopping the training");
							reporter.stop();
						},
						Err(e) => tracing::warn!(job = job.id, "heartbeat failed: {e}"),
					}
					last_beat = tokio::time::Instant::now();
				},
			}
		};
		let blob = adapter_blob::pack(&out)?;
		let store = self.node.store();
		let hash = store.put_bytes(&blob)?;
		store.pin(&hash, Pin { chain: true, until: None })?;
		self.node.provide(hash, blob.len() as u64);
		let result = ResultSpec {
			adapter_hash: hash,
			adapter_bytes: blob.len() as u64,
			metrics: Metrics {
				train_loss: summary.last_loss,
				eval_loss: summary.eval_loss_after,
				tokens: summary.trained_tokens as u64,
				steps: summary.total_steps as u32,
			},
			attribution: None,
		};
		let final_at = match self.client.submit_result(&self.key, job.id, &result).await {
			Ok(b) => b,
			Err(e) => {
				self.hub.publish(job.id, "failed", serde_json::json!({ "reason": e.to_string() }));
				return Err(e.into());
			}
		};
		self.hub.publish(
			job.id,
			"submitted",
			serde_json::json!({ "adapter": format!("0x{}", hex::encode(hash)), "bytes": blob.len(), "final_at": final_at }),
		);
		tracing::info!(job = job.id, adapter = %hex::encode(hash), final_at, "result submitted");
		Ok(())
	}
}

/// Fetches and verifies a job's base model (`base`, the job's) and dataset, and builds its training
/// records.
pub async fn prepare(
	client: &Client,
	node: &DataNode,
	cfg: &RunnerConfig,
	job: &JobView,
	base: &BaseModelView,
) -> Result<Prepared, PrepareError> {
	let model_path = fetch_base(node, cfg, base).await?;
	let items =
		dataset::fetch_version(client, node, job.datanet, job.version, cfg.fetch_timeout).await?;
	let records = examples::records(&items)?;
	Ok(Prepared { model_path, base_name: base.spec.name.clone(), records })
}

/// Every file of a base model, fetched by hash and laid out as its folder (or its .gguf file).
async fn fetch_base(
	node: &DataNode,
	cfg: &RunnerConfig,
	base: &BaseModelView,
) -> Result<PathBuf, PrepareError> {
	let dir = cfg.work_dir.join("bases").join(base.id.to_string());
	std::fs::create_dir_all(&dir).map_err(|e| PrepareError::Io(e.to_string()))?;
	let mut gguf = None;
	for f in &base.spec.files {
		let blob = dataset::fetch_blob(node, &f.hash, f.bytes, cfg.fetch_timeout).await.map_err(
			|reason| PrepareError::BaseFile {
				name: f.name.clone(),
				hash: hex::encode(f.hash),
				reason,
			},
		)?;
		// Names are plain on chain (no paths); a link into the store costs no space.
		let target = dir.join(&f.name);
		if !target.exists() {
			std::fs::hard_link(&blob, &target)
				.or_else(|_| std::fs::copy(&blob, &target).map(|_| ()))
				.map_err(|e| PrepareError::Io(format!("{}: {e}", target.display())))?;
		}
		if f.name.ends_with(".gguf") {
			gguf = Some(target);
		}
	}
	Ok(gguf.unwrap_or(dir))
}

/// Re-runs a job's training from its chain record into `out` and returns the adapter blob's hash
/// and size: anyone can check a worker's result this way (bit for bit on CPU with the same thread
/// count).
pub async fn reproduce(
	client: &Client,
	node: &DataNode,
	cfg: &RunnerConfig,
	job: &JobView,
	out: &Path,
) -> anyhow::Result<([u8; 32], u64)> {
	let base = client.base_model(job.base).await?;
	let prepared = prepare(client, node, cfg, job, &base).await?;
	let spec = finetune_spec(job, 0);
	let reporter = Reporter::new(job.id, ProgressHub::default());
	let dir = out.to_path_buf();
	let summary = tokio::task::spawn_blocking(move || {
		model_factory::on_compute_pool(|| train(&prepared, &spec, &dir, false, &reporter))
	})
	.await??;
	tracing::info!(steps = summary.total_steps, loss = summary.last_loss, "re-trained");
	let blob = adapter_blob::pack(out)?;
	Ok((*blake3::hash(&blob).as_bytes(), blob.len() as u64))
}

/// The engine's configuration for a job's chain parameters.
pub fn finetune_spec(job: &JobView, checkpoint_every: usize) -> Finetune {
	let t = &job.training;
	Finetune {
		lora: LoraConfig {
			r: t.rank as usize,
			lora_alpha: t.alpha as f64,
			lora_dropout: t.dropout,
			use_rslora: false,
			target_modules: t.target_modules.clone(),
		},
		qlora: t.method == MethodArg::Qlora,
		length: match t.length {
			LengthArg::Steps(s) => Length::Steps(s as usize),
			LengthArg::Epochs(e) => Length::Epochs(e as usize),
		},
		train: TrainConfig {
			learning_rate: t.learning_rate,
			warmup_steps: t.warmup_steps as usize,
			steps: 0,
			weight_decay: 0.0,
			batch_size: t.batch_size as usize,
			grad_accum: 1,
			max_grad_norm: 1.0,
			eval_every: 0,
			seed: t.seed,
		},
		seq_len: t.max_seq_len as usize,
		eval_fraction: t.eval_fraction,
		checkpoint_every,
	}
}

/// Where a training reports: the latest progress for heartbeats, and every event for the stream.
pub struct Reporter {
	job: JobId,
	latest: Mutex<Progress>,
	hub: ProgressHub,
	/// Set when the lease is lost: the training stops at the next step (checkpoint kept).
	stop: std::sync::atomic::AtomicBool,
}

impl Reporter {
	pub fn new(job: JobId, hub: ProgressHub) -> Self {
		Self { job, latest: Mutex::new(Progress::default()), hub, stop: Default::default() }
	}

	pub fn latest(&self) -> Progress {
		*self.latest.lock().expect("progress lock")
	}

	/// Asks the training to stop at its next step.
	pub fn stop(&self) {
		self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
	}

	/// Records `u`; returns whether the training goes on.
	fn update(&self, u: &Update) -> bool {
		let mut g = self.latest.lock().expect("progress lock");
		let (kind, data) = match u {
			Update::Started { total_steps, first_step, .. } => {
				g.total_steps = *total_steps as u32;
				g.step = *first_step as u32;
				("started", serde_json::to_value(u).expect("json")["Started"].clone())
			}
			Update::Event(e @ Event::Step { step, loss, .. }) => {
				g.step = *step as u32 + 1;
				g.loss = Some(*loss);
				("step", serde_json::to_value(e).expect("json")["Step"].clone())
			}
			Update::Event(e @ Event::Eval { .. }) => {
				("eval", serde_json::to_value(e).expect("json")["Eval"].clone())
			}
			Update::Checkpoint { step } => ("checkpoint", serde_json::json!({ "step": step })),
		};
		drop(g);
		self.hub.publish(self.job, kind, data);
		!self.stop.load(std::sync::atomic::Ordering::Relaxed)
	}
}

/// Opens the base and runs the training, reporting as it goes.
pub fn train(
	prepared: &Prepared,
	spec: &Finetune,
	out: &Path,
	resume: bool,
	reporter: &Reporter,
) -> anyhow::Result<model_factory::finetune::Summary> {
	let mut p = model_factory::pretrained::open(&prepared.model_path, DType::F32, &Device::Cpu)?;
	let summary =
		finetune(&mut p, &prepared.records, spec, out, &prepared.base_name, resume, |u| {
			reporter.update(u)
		})?;
	Ok(summary)
}
