//! The job runner: finds open jobs this worker can run, prepares each before claiming it (the base
//! model's files and the version's items fetched and verified; a job whose data does not verify is
//! refused and never claimed), claims it, trains through `model_factory::finetune` while heartbeating
//! its progress, stores and provides the canonical adapter blob, and submits the result.
//!
//! It follows finalized blocks by subscription and reads the chain at finalized blocks: it looks for
//! work when a block carries a jobs or workers event, and every `rescan` in any case. Leases are kept
//! by the best blocks (the chain's tip is where a lease runs out). A job that could not be prepared
//! for a passing reason (no peer had the data yet) is retried with a growing delay; one whose data
//! or model does not verify is refused for good.
//!
//! After a restart it resumes the job the chain says it holds, from its last checkpoint.

use super::prepare::{prepare, Prepared};
use super::progress::ProgressHub;
use super::training::{finetune_spec, train, Reporter};
use data_plane::DataNode;
use futures::StreamExt;
use model_factory::finetune::FinetuneError;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tributary_client::adapter_blob;
use tributary_client::keys::Key;
use tributary_client::training::{JobId, JobState, JobView, Metrics, ResultSpec};
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
	/// Published on chain as the worker's endpoint once it is registered (live progress).
	pub public_url: Option<String>,
	/// Look for work at least this often even when no block says anything changed.
	pub rescan: Duration,
	/// Attempts to prepare a job that failed for a passing reason before refusing it.
	pub prepare_attempts: u32,
	/// Delay before retry n of a job's preparation (multiplied by n).
	pub retry_backoff: Duration,
}

impl Default for RunnerConfig {
	fn default() -> Self {
		Self {
			poll: Duration::from_secs(2),
			heartbeat_every: Duration::from_secs(30),
			fetch_timeout: Duration::from_secs(60),
			checkpoint_every: 10,
			work_dir: PathBuf::from("jobs"),
			public_url: None,
			rescan: Duration::from_secs(30),
			prepare_attempts: 3,
			retry_backoff: Duration::from_secs(30),
		}
	}
}

pub struct JobRunner {
	client: Client,
	key: Key,
	node: DataNode,
	cfg: RunnerConfig,
	hub: ProgressHub,
	/// Jobs whose data or model did not verify: never claimed.
	refused: HashSet<JobId>,
	/// Jobs whose preparation failed for a passing reason: attempts so far and when to retry.
	retry: HashMap<JobId, (u32, tokio::time::Instant)>,
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
		Self {
			client,
			key,
			node,
			cfg,
			hub,
			refused: HashSet::new(),
			retry: HashMap::new(),
			inactive_at_bond: None,
		}
	}

	/// Runs until the process stops, following finalized blocks; a failed round or a dropped
	/// subscription is logged, and the runner reconnects and goes on.
	pub async fn run(mut self) {
		tracing::info!(worker = %self.key.ss58(), "job runner started");
		loop {
			let blocks = match self.client.finalized_blocks().await {
				Ok(b) => b,
				Err(e) => {
					tracing::warn!("cannot follow finalized blocks: {e}");
					self.reconnect().await;
					continue;
				}
			};
			let mut blocks = Box::pin(blocks);
			let mut look = true;
			let mut last_look = tokio::time::Instant::now();
			loop {
				let retry_due =
					self.retry.values().any(|(_, at)| *at <= tokio::time::Instant::now());
				if look || retry_due || last_look.elapsed() >= self.cfg.rescan {
					look = false;
					last_look = tokio::time::Instant::now();
					match self.round().await {
						// Blocks queued while training are stale: subscribe afresh and look again.
						Ok(Some(job)) => {
							tracing::info!(job, "job done");
							break;
						}
						Ok(None) => {}
						Err(e) => {
							tracing::warn!("job round failed: {e:#}");
							break;
						}
					}
				}
				match tokio::time::timeout(self.cfg.poll, blocks.next()).await {
					Ok(Some(Ok(b))) => look |= b.jobs_or_workers,
					Ok(Some(Err(e))) => {
						tracing::warn!("finalized block subscription failed: {e}");
						break;
					}
					Ok(None) => {
						tracing::warn!("finalized block subscription ended");
						break;
					}
					Err(_) => {} // no block within `poll`: check the timers
				}
			}
			drop(blocks);
			self.reconnect().await;
		}
	}

	/// A fresh connection (after a failure, or to drop a stale subscription), after `poll`.
	async fn reconnect(&mut self) {
		tokio::time::sleep(self.cfg.poll).await;
		match Client::connect(self.client.url()).await {
			Ok(c) => self.client = c,
			Err(e) => tracing::warn!("cannot reconnect to {}: {e}", self.client.url()),
		}
	}

	/// Publishes `public_url` as this worker's endpoint when the chain holds another.
	async fn publish_endpoint(&self, on_chain: Option<&String>) {
		let Some(url) = &self.cfg.public_url else { return };
		if on_chain == Some(url) {
			return;
		}
		match self.client.set_worker_endpoint(&self.key, Some(url)).await {
			Ok(()) => tracing::info!(endpoint = %url, "endpoint published on chain"),
			Err(e) => tracing::warn!(endpoint = %url, "cannot publish the endpoint: {e}"),
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
		self.publish_endpoint(w.endpoint.as_ref()).await;
		if w.unbonding_until.is_some() || self.inactive_at_bond == Some(w.bond) {
			return Ok(None);
		}
		let now = tokio::time::Instant::now();
		for job in self.client.jobs().await? {
			if job.state != JobState::Open || self.refused.contains(&job.id) {
				continue;
			}
			if self.retry.get(&job.id).is_some_and(|(_, at)| *at > now) {
				continue;
			}
			let base = self.client.base_model(job.base).await?;
			if base.spec.params > w.caps.max_model_params {
				continue;
			}
			let prepared = match prepare(&self.client, &self.node, &self.cfg, &job, &base).await {
				Ok(p) => {
					self.retry.remove(&job.id);
					p
				}
				Err(e) => {
					let attempts = self.retry.get(&job.id).map_or(0, |r| r.0) + 1;
					if e.is_passing() && attempts < self.cfg.prepare_attempts {
						let wait = self.cfg.retry_backoff * attempts;
						tracing::warn!(
							job = job.id,
							"job not prepared, nothing claimed; attempt {attempts} of {}, \
							 next in {wait:?}: {e}",
							self.cfg.prepare_attempts
						);
						self.retry.insert(job.id, (attempts, tokio::time::Instant::now() + wait));
					} else {
						tracing::error!(
							job = job.id,
							"refusing the job, nothing claimed or submitted: {e}"
						);
						self.retry.remove(&job.id);
						self.refused.insert(job.id);
					}
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
		let prepared = Arc::new(prepared);
		let inputs = prepared.clone();
		let training = tokio::task::spawn_blocking(move || {
			model_factory::on_compute_pool(|| train(&inputs, &spec, &out_dir, resume, &shared))
		});
		tokio::pin!(training);
		// Heartbeat every `heartbeat_every`, and also whenever half the lease has run out, whatever
		// the chain's block time: the lease is counted in blocks, watched as best blocks arrive.
		let mut lease_until = lease_until.unwrap_or(0);
		let claimed_at = self.client.best_block().await.unwrap_or(0);
		let mut half_lease = lease_until.saturating_sub(claimed_at) / 2;
		let mut best = claimed_at;
		let mut heads = match self.client.best_block_numbers().await {
			Ok(h) => Some(Box::pin(h)),
			Err(e) => {
				tracing::warn!("cannot follow best blocks ({e}); heartbeating by time only");
				None
			}
		};
		let mut last_beat = tokio::time::Instant::now();
		let summary = loop {
			let next_head = async {
				match heads.as_mut() {
					Some(h) => h.next().await,
					None => std::future::pending().await,
				}
			};
			let next_beat = tokio::time::sleep_until(last_beat + self.cfg.heartbeat_every);
			tokio::select! {
				done = &mut training => match done? {
					Ok(s) => {
						tracing::info!(job = job.id, steps = s.total_steps, "training finished");
						break s;
					}
					Err(e) => {
						self.hub.publish(job.id, "failed", serde_json::json!({ "reason": format!("{e:#}") }));
						if let Some(FinetuneError::Stopped { step }) = e.downcast_ref::<FinetuneError>() {
							// The lease is gone (lapsed, or the creator stopped the job): nothing to
							// submit; another worker may take a lapsed job.
							tracing::warn!(job = job.id, step, "training stopped: the lease is gone");
							return Ok(());
						}
						return Err(e);
					},
				},
				head = next_head => {
					match head {
						Some(Ok(n)) => best = best.max(n),
						Some(Err(e)) => {
							tracing::warn!("best block subscription failed ({e}); heartbeating by time only");
							heads = None;
						}
						None => heads = None,
					}
					// A creator who stops the job frees its worker at once, not at the next heartbeat.
					if let Ok(j) = self.client.job(job.id).await {
						if matches!(j.state, JobState::Stopped { .. }) && !reporter.stopped() {
							tracing::warn!(job = job.id, "the creator stopped the job: stopping the training");
							reporter.stop();
						}
					}
					if best.saturating_add(half_lease) < lease_until {
						continue;
					}
					self.beat(job.id, &reporter, best, &mut half_lease, &mut lease_until).await;
					last_beat = tokio::time::Instant::now();
				},
				_ = next_beat => {
					self.beat(job.id, &reporter, best, &mut half_lease, &mut lease_until).await;
					last_beat = tokio::time::Instant::now();
				},
			}
		};
		let blob = adapter_blob::pack(&out)?;
		let store = self.node.store();
		let hash = store.put_bytes(&blob)?;
		store.pin(&hash, super::dataset::TRAINING_PIN, None)?;
		self.node.provide(hash, blob.len() as u64);
		let (table, attribution) =
			super::payout::publish(&self.client, &self.node, job, &prepared, &summary).await?;
		tracing::info!(
			job = job.id,
			table = %hex::encode(attribution.table),
			lines = table.contributions.len(),
			curators = table.curators.len(),
			"payout table published"
		);
		let result = ResultSpec {
			adapter_hash: hash,
			adapter_bytes: blob.len() as u64,
			metrics: Metrics {
				train_loss: summary.last_loss,
				eval_loss: summary.eval_loss_after,
				tokens: summary.trained_tokens as u64,
				steps: summary.total_steps as u32,
			},
			attribution,
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
	/// One heartbeat: reports progress and extends the lease; a lost lease stops the training.
	async fn beat(
		&self,
		job: JobId,
		reporter: &Reporter,
		best: u32,
		half_lease: &mut u32,
		lease_until: &mut u32,
	) {
		let p = reporter.latest();
		match self.client.heartbeat(&self.key, job, p.step, p.total_steps.max(p.step), p.loss).await
		{
			Ok(until) => {
				tracing::info!(
					job = job,
					step = p.step,
					total = p.total_steps,
					lease_until = until,
					"heartbeat"
				);
				*half_lease = (*half_lease).max(until.saturating_sub(best) / 2);
				*lease_until = until;
			}
			Err(e) if e.chain_error() == Some("NotLeaseHolder") => {
				tracing::warn!(
					job = job,
					"the lease is lost (it lapsed, or the creator stopped the job): stopping the training"
				);
				reporter.stop();
			}
			Err(e) => tracing::warn!(job = job, "heartbeat failed: {e}"),
		}
	}
}
