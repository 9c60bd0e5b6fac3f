//! The verifier: checks other workers' results before they are final (the attribution pallet's
//! spot checks, docs/attribution.md).
//!
//! For each open check of a result this worker did not submit, it commits to a random secret (kept
//! on disk, so a restart can still reveal it) and starts re-running the job at once; it reveals
//! in the reveal phase; once the reveals are over and its re-run is done, it fetches the committed
//! table by its hash and compares the sampled leaves with its own: all equal, it agrees; else it
//! disputes the first that differs, with the committed leaf's proof. Every step is read from the
//! chain at each round, so a restarted verifier picks up where the chain says it stands.

use super::runner::RunnerConfig;
use super::training::reproduce;
use data_plane::DataNode;
use rand::RngCore;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokio::task::JoinHandle;
use tributary_client::checks::{CheckView, StandView};
use tributary_client::keys::Key;
use tributary_client::payout::PayoutTable;
use tributary_client::training::JobState;
use tributary_client::Client;

/// A re-run in progress or done: the table it gives.
type Rerun = JoinHandle<anyhow::Result<PayoutTable>>;

pub struct Verifier {
	client: Client,
	key: Key,
	node: DataNode,
	cfg: RunnerConfig,
	/// Re-runs by job.
	reruns: HashMap<u64, Rerun>,
	/// Tables of finished re-runs, by job.
	tables: HashMap<u64, PayoutTable>,
}

impl Verifier {
	pub fn new(client: Client, key: Key, node: DataNode, cfg: RunnerConfig) -> Self {
		Self { client, key, node, cfg, reruns: HashMap::new(), tables: HashMap::new() }
	}

	/// Runs until the process stops; a failed round is logged and the next one goes on.
	pub async fn run(mut self) {
		tracing::info!(verifier = %self.key.ss58(), "verifier started");
		loop {
			if let Err(e) = self.round().await {
				tracing::warn!("verifier round failed: {e:#}");
				if let Ok(c) = Client::connect(self.client.url()).await {
					self.client = c;
				}
			}
			tokio::time::sleep(self.cfg.poll).await;
		}
	}

	fn secret_path(&self, job: u64) -> PathBuf {
		self.cfg.work_dir.join("checks").join(format!("{job}.secret"))
	}

	/// One pass over the open checks.
	pub async fn round(&mut self) -> anyhow::Result<()> {
		let me = self.key.account_id();
		let checks = self.client.checks().await?;
		let open: Vec<u64> = checks.iter().map(|c| c.job).collect();
		// Checks that concluded: drop their state.
		self.reruns.retain(|job, r| {
			let keep = open.contains(job);
			if !keep {
				r.abort();
			}
			keep
		});
		self.tables.retain(|job, _| open.contains(job));
		if checks.iter().all(|c| c.worker == me) {
			return Ok(());
		}
		let now = self.client.best_block().await?;
		let active = self.client.worker(&me).await?.is_some_and(|w| w.unbonding_until.is_none());
		for c in checks.into_iter().filter(|c| c.worker != me) {
			let job = c.job;
			match c.stand_of(&me) {
				None if active && now + 1 < c.commit_end => self.join(&c).await?,
				Some(StandView::Committed) if c.commit_end <= now && now < c.reveal_end => {
					let secret = self.secret(job)?;
					self.client.reveal_check(&self.key, job, secret).await?;
					tracing::info!(job, "check: secret revealed");
				}
				Some(StandView::Revealed) if c.reveal_end <= now && now < c.vote_end => {
					self.vote(&c).await?;
				}
				_ => {}
			}
			// A re-run is needed from the commit until the vote (also after a restart).
			if matches!(c.stand_of(&me), Some(StandView::Committed | StandView::Revealed)) {
				self.start_rerun(job).await?;
			}
		}
		Ok(())
	}

	/// Commits to the check's secret (see [`secret_at`]).
	async fn join(&mut self, c: &CheckView) -> anyhow::Result<()> {
		let secret = secret_at(&self.secret_path(c.job))?;
		self.client.commit_check(&self.key, c.job, &secret).await?;
		tracing::info!(job = c.job, author = %c.worker, "check: committed, re-running the job");
		self.start_rerun(c.job).await
	}

	fn secret(&self, job: u64) -> anyhow::Result<[u8; 32]> {
		read_secret(&self.secret_path(job))
	}

	async fn start_rerun(&mut self, job: u64) -> anyhow::Result<()> {
		if self.reruns.contains_key(&job) || self.tables.contains_key(&job) {
			return Ok(());
		}
		let view = self.client.job(job).await?;
		let (url, node, cfg) = (self.client.url().to_string(), self.node.clone(), self.cfg.clone());
		let out = self.cfg.work_dir.join("checks").join(job.to_string()).join("adapter");
		self.reruns.insert(
			job,
			tokio::spawn(async move {
				let client = Client::connect(&url).await?;
				let r = reproduce(&client, &node, &cfg, &view, &out).await?;
				Ok(r.table)
			}),
		);
		Ok(())
	}

	/// Votes once the re-run is done: agree, or dispute the first sampled leaf that differs.
	async fn vote(&mut self, c: &CheckView) -> anyhow::Result<()> {
		let job = c.job;
		if !self.tables.contains_key(&job) {
			let Some(r) = self.reruns.get(&job) else { return Ok(()) };
			if !r.is_finished() {
				return Ok(());
			}
			let r = self.reruns.remove(&job).expect("present");
			match r.await? {
				Ok(t) => {
					self.tables.insert(job, t);
				}
				Err(e) => {
					// Nothing to vote with: the no-show penalty is smaller than a wrong vote's.
					tracing::error!(job, "check: the re-run failed, not voting: {e:#}");
					return Ok(());
				}
			}
		}
		let mine = &self.tables[&job];
		let committed = match self.committed_table(job).await? {
			Ok(t) => t,
			Err(why) => {
				tracing::warn!(job, "check: the committed table cannot be had ({why}): voting so");
				self.client.unavailable_check(&self.key, job).await?;
				return Ok(());
			}
		};
		let (ours, theirs) = (mine.leaves(), committed.leaves());
		let checks = self.client.checks_per_result()?;
		let differing =
			c.sample(checks).into_iter().find(|&i| ours.get(i as usize) != theirs.get(i as usize));
		match differing {
			None => {
				self.client.agree_check(&self.key, job).await?;
				tracing::info!(job, "check: every sampled entry recomputes as committed: agreed");
			}
			Some(index) => {
				let claim = committed
					.claim_at(index)
					.ok_or_else(|| anyhow::anyhow!("no committed leaf {index}"))?;
				let recomputed = ours
					.get(index as usize)
					.cloned()
					.ok_or_else(|| anyhow::anyhow!("the re-run has no leaf {index}"))?;
				tracing::warn!(
					job,
					index,
					committed = claim.leaf.ppm,
					recomputed = recomputed.ppm,
					"check: a sampled entry differs: disputing"
				);
				self.client.dispute_check(&self.key, job, &claim, &recomputed).await?;
			}
		}
		Ok(())
	}

	/// The table the job's result committed to, fetched by its hash and checked against the
	/// commitment; the inner error says why the committed table cannot be had (the outer one is
	/// a passing failure, tried again next round).
	async fn committed_table(&self, job: u64) -> anyhow::Result<Result<PayoutTable, String>> {
		let view = self.client.job(job).await?;
		let JobState::Submitted { attribution: a, .. } = view.state else {
			anyhow::bail!("job {job} has no submitted result");
		};
		let fetched =
			super::dataset::fetch_blob(&self.node, &a.table, a.table_bytes, self.cfg.fetch_timeout)
				.await;
		let path = match fetched {
			Ok(p) => p,
			Err(e) => return Ok(Err(format!("not fetched: {e}"))),
		};
		let bytes = std::fs::read(path)?;
		let table = match PayoutTable::from_bytes(&bytes) {
			Ok(t) => t,
			Err(e) => return Ok(Err(format!("not a valid table: {e}"))),
		};
		if table.commitment(&bytes).root != a.root {
			return Ok(Err("its leaves do not give the committed root".into()));
		}
		Ok(Ok(table))
	}
}

/// The secret of a check, kept at `path`: the one saved there if any, else a fresh one, saved
/// before it is used. A commit whose answer was lost (a timeout, a restart) may still be on chain:
/// committing again must not replace the secret it committed to, or the reveal fails and the bond
/// pays the no-show penalty.
fn secret_at(path: &Path) -> anyhow::Result<[u8; 32]> {
	if path.exists() {
		return read_secret(path);
	}
	let mut secret = [0u8; 32];
	rand::thread_rng().fill_bytes(&mut secret);
	std::fs::create_dir_all(path.parent().expect("a folder"))?;
	let partial = path.with_extension("partial");
	std::fs::write(&partial, hex::encode(secret))?;
	std::fs::rename(&partial, path)?;
	Ok(secret)
}

fn read_secret(path: &Path) -> anyhow::Result<[u8; 32]> {
	let text = std::fs::read_to_string(path)?;
	hex::decode(text.trim())?
		.try_into()
		.map_err(|_| anyhow::anyhow!("a secret of the wrong length"))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_check_keeps_the_secret_it_first_saved() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("checks").join("7.secret");
		let first = secret_at(&path).unwrap();
		// Joining again (the first commit's answer lost) commits to the same secret.
		assert_eq!(secret_at(&path).unwrap(), first);
		assert_eq!(read_secret(&path).unwrap(), first);
		// Another check gets its own.
		assert_ne!(secret_at(&dir.path().join("checks").join("8.secret")).unwrap(), first);
		std::fs::write(&path, "abcd").unwrap();
		assert!(secret_at(&path).is_err(), "a damaged secret is an error, not replaced");
	}
}
