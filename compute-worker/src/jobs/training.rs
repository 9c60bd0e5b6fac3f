//! A job's training: its chain parameters as the engine's configuration, the reporter that feeds
//! heartbeats and the progress stream, and the re-run anyone can do to check a result.

use super::prepare::{prepare, Prepared};
use super::progress::ProgressHub;
use super::runner::RunnerConfig;
use candle_core::{DType, Device};
use data_plane::DataNode;
use model_factory::attribution::AttributionConfig;
use model_factory::finetune::{finetune, Finetune, Length, Update};
use model_factory::lora::LoraConfig;
use model_factory::train::{Event, TrainConfig};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tributary_client::adapter_blob;
use tributary_client::payout::PayoutTable;
use tributary_client::training::{AttributionSpec, JobId, JobView, LengthArg, MethodArg};
use tributary_client::Client;

/// The latest progress of the running job, shared with the heartbeat loop.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Progress {
	pub step: u32,
	pub total_steps: u32,
	pub loss: Option<f64>,
}

/// What a re-run of a job gives: the adapter blob's hash and size, and the payout table.
pub struct Reproduced {
	pub adapter_hash: [u8; 32],
	pub adapter_bytes: u64,
	pub table: PayoutTable,
}

/// Re-runs a job's training (attribution included) from its chain record into `out`: anyone can
/// check a worker's result this way (bit for bit on CPU with the same thread count).
pub async fn reproduce(
	client: &Client,
	node: &DataNode,
	cfg: &RunnerConfig,
	job: &JobView,
	out: &Path,
) -> anyhow::Result<Reproduced> {
	let base = client.base_model(job.base).await?;
	let prepared = Arc::new(prepare(client, node, cfg, job, &base).await?);
	let spec = finetune_spec(job, 0);
	let reporter = Reporter::new(job.id, ProgressHub::default());
	let dir = out.to_path_buf();
	let inputs = prepared.clone();
	let summary = tokio::task::spawn_blocking(move || {
		model_factory::on_compute_pool(|| train(&inputs, &spec, &dir, false, &reporter))
	})
	.await??;
	tracing::info!(steps = summary.total_steps, loss = summary.last_loss, "re-trained");
	let blob = adapter_blob::pack(out)?;
	let table = super::payout::build(client, job, &prepared, &summary).await?;
	Ok(Reproduced {
		adapter_hash: *blake3::hash(&blob).as_bytes(),
		adapter_bytes: blob.len() as u64,
		table,
	})
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
		// Every job commits to who shaped its model (the payout table, see `payout`), computed by
		// the method the chain fixed for the job, whatever this release's defaults are.
		attribution: Some(attribution_config(&job.attribution)),
	}
}

/// The engine's attribution configuration for a job's method.
pub fn attribution_config(m: &AttributionSpec) -> AttributionConfig {
	AttributionConfig {
		projection: m.projection as usize,
		seed: m.seed,
		checkpoints: m.checkpoints as usize,
		damping: m.damping,
		optimizer_aware: m.optimizer_aware,
	}
}

/// Where a training reports: the latest progress for heartbeats, and every event for the stream.
pub struct Reporter {
	job: JobId,
	latest: Mutex<Progress>,
	hub: ProgressHub,
	/// Set when the lease is lost or the job stopped: the training stops at its next step
	/// (checkpoint kept).
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

	/// Whether the training was asked to stop.
	pub fn stopped(&self) -> bool {
		self.stop.load(std::sync::atomic::Ordering::Relaxed)
	}

	/// Records `u`; returns whether the training goes on.
	fn update(&self, u: &Update) -> bool {
		let mut g = self.latest.lock().expect("progress lock");
		let (kind, data) = match u {
			Update::Started { total_steps, first_step, .. } => {
				tracing::info!(job = self.job, total_steps, first_step, "training started");
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

#[cfg(test)]
mod tests {
	use super::*;
	use tributary_client::training::{JobState, TrainingSpec};

	fn job(attribution: AttributionSpec) -> JobView {
		JobView {
			id: 7,
			creator: String::new(),
			datanet: 0,
			version: 1,
			base: 0,
			parent: None,
			training: TrainingSpec {
				method: MethodArg::Lora,
				rank: 4,
				alpha: 8,
				dropout: 0.0,
				target_modules: vec!["q_proj".into()],
				learning_rate: 1e-3,
				warmup_steps: 0,
				length: LengthArg::Steps(3),
				batch_size: 2,
				max_seq_len: 64,
				seed: 1,
				eval_fraction: 0.1,
			},
			budget: 1,
			escrow: 1,
			state: JobState::Open,
			created_at: 0,
			lapses: 0,
			attribution,
		}
	}

	#[test]
	fn a_job_is_attributed_by_its_own_method_not_the_engines_default() {
		// Every field away from the engine's default: a worker (or verifier) that used its own
		// defaults would compute another table and dispute an honest one.
		let method = AttributionSpec {
			projection: 8,
			seed: 42,
			checkpoints: 5,
			damping: None,
			optimizer_aware: false,
		};
		let got = finetune_spec(&job(method), 0).attribution.expect("jobs always attribute");
		let default = AttributionConfig::default();
		assert_ne!(got.projection, default.projection);
		assert_ne!(got.seed, default.seed);
		assert_ne!(got.checkpoints, default.checkpoints);
		assert_ne!(got.damping, default.damping);
		assert_ne!(got.optimizer_aware, default.optimizer_aware);
		assert_eq!(
			got,
			AttributionConfig {
				projection: 8,
				seed: 42,
				checkpoints: 5,
				damping: None,
				optimizer_aware: false
			}
		);
		let damped = AttributionSpec { damping: Some(0.25), ..method };
		assert_eq!(finetune_spec(&job(damped), 0).attribution.unwrap().damping, Some(0.25));
	}
}
