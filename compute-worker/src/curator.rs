//! The curator agent: for each pending contribution in the datanets its key curates, fetch the bytes
//! over the data plane, check them (content-check), and vote Approve or Reject with the reason's code.
//!
//! Rules it keeps:
//! - never votes twice: it asks the chain (`Votes`) before voting and records every outcome in its
//!   journal, which survives restarts;
//! - never votes on its own contributions, nor on content it cannot judge (it abstains);
//! - when the bytes cannot be fetched it retries with backoff up to `max_fetch_attempts`, then gives up
//!   *without* voting, leaving the decision to curators who can get them;
//! - it pins the bytes it judged while the chain needs them, and unpins them once rejected;
//! - an approved text joins the duplicate index only once its vote is on chain (a vote that fails
//!   is tried again later, and the text must not then be a duplicate of itself);
//! - a vote the chain refuses (say, the curator's bond lapsed) or that times out waiting for its
//!   block is retried later; it never stops the round for the other contributions, and neither
//!   does a full content store;
//! - files are decoded on the blocking pool within [`CuratorConfig::check_time`].

use crate::journal::Retry;
use crate::journal::{Journal, Outcome};
use crate::timed_check::{Declaration, Timed, TimedChecker};
use content_check::dedupe::Fingerprint;
use content_check::{Checked, Code, Limits, Modality};
use data_plane::{fetch, DataNode, FetchError, FetchOptions, StoreError};
use futures::StreamExt;
use std::collections::HashMap;
use std::time::Duration;
use tributary_client::client::{ContributionView, DatanetView, Decision, RejectArg, VoteArg};
use tributary_client::keys::Key;
use tributary_client::{Client, ClientError};

/// Finalized blocks as the node announces them.
type FinalizedBlocks = futures::stream::BoxStream<
	'static,
	Result<tributary_client::training::FinalizedBlock, ClientError>,
>;

#[derive(Debug, Clone)]
pub struct CuratorConfig {
	/// Only these datanets (default: every datanet the key curates).
	pub datanets: Option<Vec<u32>>,
	/// A round runs at each finalized block, when a retry falls due, and after `idle_poll`
	/// without either; every `poll` when the node gives no block subscription.
	pub poll: Duration,
	pub idle_poll: Duration,
	/// Give up one fetch attempt after this long without progress.
	pub fetch_timeout: Duration,
	pub max_fetch_attempts: u32,
	/// Wait before retry n is `retry_backoff * n`.
	pub retry_backoff: Duration,
	pub limits: Limits,
	/// Most time one file's check (decoding included) may take; past it the curator abstains.
	pub check_time: Duration,
	/// Most a vote waits for finality; past it the vote is tried again later (the next try asks
	/// the chain first, so a vote that did land is not sent twice).
	pub vote_timeout: Duration,
}

impl Default for CuratorConfig {
	fn default() -> Self {
		Self {
			datanets: None,
			poll: Duration::from_secs(2),
			idle_poll: Duration::from_secs(30),
			fetch_timeout: Duration::from_secs(20),
			max_fetch_attempts: 3,
			retry_backoff: Duration::from_secs(30),
			limits: Limits::default(),
			check_time: Duration::from_secs(30),
			vote_timeout: Duration::from_secs(60),
		}
	}
}

pub struct Curator {
	client: Client,
	key: Key,
	node: DataNode,
	journal: Journal,
	cfg: CuratorConfig,
	checker: TimedChecker,
}

fn reject_arg(c: Code) -> RejectArg {
	match c {
		Code::Malformed => RejectArg::Malformed,
		Code::HashMismatch => RejectArg::HashMismatch,
		Code::OffTopic => RejectArg::OffTopic,
		Code::Duplicate => RejectArg::Duplicate,
		Code::LowQuality => RejectArg::LowQuality,
	}
}

/// What to do about one contribution.
enum Verdict {
	/// Vote; an approved text's fingerprint joins the datanet's index once the vote is on chain.
	Vote(VoteArg, String, Option<Fingerprint>),
	Abstain(String),
	/// Bytes not available (yet): counts towards giving up.
	Unavailable(String),
	/// Cannot be judged now for a reason of our own (a full store, a check still stuck): try
	/// again later, without counting it against the contribution.
	Later(String),
}

impl Curator {
	pub fn new(
		client: Client,
		key: Key,
		node: DataNode,
		journal: Journal,
		cfg: CuratorConfig,
	) -> Self {
		let checker = TimedChecker::new(cfg.check_time, cfg.limits.clone());
		let client = client.with_wait_timeout(cfg.vote_timeout);
		Self { client, key, node, journal, cfg, checker }
	}

	/// Runs until the process stops; errors of one round are logged and the next round retries.
	pub async fn run(mut self) {
		tracing::info!(curator = %self.key.ss58(), journal = %self.journal.path().display(), "curator agent started");
		let mut finalized = None;
		loop {
			if let Err(e) = self.round().await {
				tracing::warn!("curator round failed: {e}");
				// A node restart closes the RPC connection for good: open a new one.
				if e.downcast_ref::<tributary_client::ClientError>().is_some() {
					finalized = None;
					match Client::connect(self.client.url()).await {
						Ok(c) => self.client = c.with_wait_timeout(self.cfg.vote_timeout),
						Err(e) => tracing::warn!("cannot reconnect to the node: {e}"),
					}
				}
			}
			self.wait_for_work(&mut finalized).await;
		}
	}

	/// Waits for the next finalized block (what a round reads), following them by subscription
	/// rather than asking the node over and over. A round also runs when a retry falls due, and
	/// after `idle_poll` without a block; without a subscription, every `poll`.
	async fn wait_for_work(&mut self, finalized: &mut Option<FinalizedBlocks>) {
		if finalized.is_none() {
			*finalized = self.client.finalized_blocks().await.ok().map(|s| s.boxed());
		}
		let Some(blocks) = finalized else {
			return tokio::time::sleep(self.cfg.poll).await;
		};
		// Until the next block, or the earliest retry falling due (at least 1 s from now), or
		// `idle_poll`, whichever comes first.
		let now = data_plane::store::now_secs();
		let wait = match self.journal.data().retries.values().map(|r| r.not_before).min() {
			Some(due) => Duration::from_secs(due.saturating_sub(now))
				.clamp(Duration::from_secs(1), self.cfg.idle_poll.max(Duration::from_secs(1))),
			None => self.cfg.idle_poll,
		};
		match tokio::time::timeout(wait, blocks.next()).await {
			Ok(Some(Ok(_))) | Err(_) => {}
			// The subscription ended or failed: subscribe again next time.
			Ok(_) => *finalized = None,
		}
	}

	/// One pass over the contributions not yet settled for us. Returns how many votes were cast.
	pub async fn round(&mut self) -> anyhow::Result<usize> {
		let me = self.key.ss58();
		let mine: HashMap<u32, DatanetView> = self
			.client
			.datanets()
			.await?
			.into_iter()
			.filter(|d| d.curators.contains(&me))
			.filter(|d| self.cfg.datanets.as_ref().is_none_or(|only| only.contains(&d.id)))
			.map(|d| (d.id, d))
			.collect();
		if mine.keys().any(|d| !self.journal.data().curated.contains(d)) {
			// Newly curated datanets may have older pending contributions: look again from the start.
			self.journal.set_low_water(0)?;
			self.journal.set_curated(mine.keys().copied().collect())?;
		}
		self.release_rejected().await?;
		let next = self.client.next_contribution_id().await?;
		let mut votes = 0;
		let mut settled_prefix = true;
		for id in self.journal.data().low_water..next {
			let settled = self.consider(id, &mine, &mut votes).await?;
			if settled && settled_prefix {
				self.journal.set_low_water(id + 1)?;
			}
			settled_prefix &= settled;
		}
		self.journal.flush()?;
		Ok(votes)
	}

	/// Unpins the bytes of contributions that ended Rejected (the chain no longer needs them; the
	/// store may evict them); accepted ones stay pinned.
	async fn release_rejected(&mut self) -> anyhow::Result<()> {
		let watching: Vec<(u64, String)> =
			self.journal.data().pinned_pending.iter().map(|(k, v)| (*k, v.clone())).collect();
		for (id, hash) in watching {
			let Some(c) = self.client.find_contribution(id).await? else {
				// Removed: it was rejected, expired or superseded (or its datanet cleared). Our
				// pin was this contribution's own: other holders of the same bytes keep theirs.
				unpin(&self.node, &hash, id)?;
				self.journal.unpin_pending(id)?;
				continue;
			};
			match c.decision {
				Decision::Pending => continue,
				// A superseded contribution's bytes are the contribution that took it over's.
				Decision::Accepted { .. } | Decision::Superseded { .. } => {}
				Decision::Rejected { .. } | Decision::Expired => unpin(&self.node, &hash, id)?,
			}
			self.journal.unpin_pending(id)?;
		}
		Ok(())
	}

	/// Handles one contribution; returns whether it is settled for us (nothing left to do, ever).
	async fn consider(
		&mut self,
		id: u64,
		mine: &HashMap<u32, DatanetView>,
		votes: &mut usize,
	) -> anyhow::Result<bool> {
		if self.journal.data().outcomes.contains_key(&id) {
			return Ok(true);
		}
		// A record removed before we saw it (its contributor took out a rejected one): nothing
		// to do, and it must not stop the round.
		let Some(c) = self.client.find_contribution(id).await? else { return Ok(true) };
		let Some(datanet) = mine.get(&c.datanet) else {
			// Not ours (if a datanet adds us later, `round` rescans).
			return Ok(true);
		};
		if c.decision != Decision::Pending {
			return Ok(true);
		}
		if c.contributor == self.key.ss58() {
			self.journal.record(id, Outcome::Abstained("own contribution".into()))?;
			return Ok(true);
		}
		if self.client.has_voted(id, &self.key.account_id()).await? {
			self.journal.record(id, Outcome::Voted("(found on chain)".into()))?;
			return Ok(true);
		}
		let now = data_plane::store::now_secs();
		if self.journal.data().retries.get(&id).is_some_and(|r| r.not_before > now) {
			return Ok(false);
		}
		match self.judge(&c, datanet).await? {
			Verdict::Vote(vote, what, fingerprint) => {
				match self.client.vote(&self.key, id, vote).await {
					Ok(decision) => {
						tracing::info!(contribution = id, vote = %what, ?decision, "voted");
						*votes += 1;
					}
					// Someone else's vote decided it first, or ours landed before a restart.
					Err(e) if matches!(e.chain_error(), Some("NotPending" | "AlreadyVoted")) => {
						tracing::info!(contribution = id, "not voting: {e}");
					}
					// Refused by the chain or the pool, or not in a block in time (it may still
					// land: the next try asks the chain first). Only this contribution waits.
					Err(e @ (ClientError::Refused { .. } | ClientError::Invalid(_)))
					| Err(e @ ClientError::TimedOut { .. }) => {
						tracing::warn!(contribution = id, "vote not cast, will retry: {e}");
						self.retry_later(id, now)?;
						return Ok(false);
					}
					Err(e) => return Err(e.into()),
				}
				if let Some(fp) = fingerprint {
					self.journal.index(c.datanet, id, fp)?;
				}
				self.journal.record(id, Outcome::Voted(what))?;
				Ok(true)
			}
			Verdict::Abstain(why) => {
				tracing::info!(contribution = id, "abstaining: {why}");
				self.journal.record(id, Outcome::Abstained(why))?;
				Ok(true)
			}
			Verdict::Unavailable(why) => {
				let mut r = self.journal.data().retries.get(&id).cloned().unwrap_or_default();
				r.attempts += 1;
				if r.attempts >= self.cfg.max_fetch_attempts {
					tracing::warn!(contribution = id, "giving up without voting: {why}");
					self.journal.record(id, Outcome::GaveUp(why))?;
					return Ok(true);
				}
				r.not_before = now + (self.cfg.retry_backoff * r.attempts).as_secs();
				tracing::info!(
					contribution = id,
					attempt = r.attempts,
					"bytes unavailable, will retry: {why}"
				);
				self.journal.retry(id, r)?;
				Ok(false)
			}
			Verdict::Later(why) => {
				tracing::warn!(contribution = id, "not judged this round, will retry: {why}");
				self.retry_later(id, now)?;
				Ok(false)
			}
		}
	}

	/// Puts contribution `id` off by `retry_backoff` for a reason of ours (a refused or timed-out
	/// vote, a full store): its fetch attempts do not count up.
	fn retry_later(&mut self, id: u64, now: u64) -> anyhow::Result<()> {
		let r = self.journal.data().retries.get(&id).cloned().unwrap_or_default();
		let not_before = now + self.cfg.retry_backoff.as_secs().max(1);
		self.journal.retry(id, Retry { not_before, ..r })
	}

	async fn judge(&mut self, c: &ContributionView, d: &DatanetView) -> anyhow::Result<Verdict> {
		let hash = parse_hash(&c.content_hash)?;
		let Some(modality) = Modality::from_name(&d.modality) else {
			return Ok(Verdict::Abstain(format!("unknown modality {}", d.modality)));
		};
		// Refuse oversize declarations before fetching anything (the chain enforces the cap too).
		if c.bytes > d.rules.max_item_bytes {
			return Ok(reject(Code::LowQuality, "larger than the datanet's item cap"));
		}
		let store = self.node.store().clone();
		// Keep what the chain still needs, before it arrives.
		if let Err(e) = store.pin(&hash, &pin_holder(c.id), None) {
			return Ok(Verdict::Later(format!("cannot pin the bytes: {e}")));
		}
		self.journal.pin_pending(c.id, c.content_hash.clone())?;
		let opts = FetchOptions {
			expected_size: Some(c.bytes),
			give_up_after: self.cfg.fetch_timeout,
			..Default::default()
		};
		match fetch(&self.node, hash, opts).await {
			Ok(_) => {}
			// Proven by the bytes' own hash (the last group backs the outboard): the declaration
			// is false, whoever served it.
			Err(FetchError::SizeMismatch { declared, actual }) => {
				return Ok(reject(
					Code::HashMismatch,
					&format!("declared {declared} bytes, content is {actual}"),
				))
			}
			Err(e @ FetchError::Unavailable { .. }) => {
				return Ok(Verdict::Unavailable(e.to_string()))
			}
			// A full store (or a disk error) is ours, not the contribution's.
			Err(e @ FetchError::Store(_)) => return Ok(Verdict::Later(e.to_string())),
			Err(e) => return Err(e.into()),
		}
		let bytes = match store.read_all(&hash) {
			Ok(b) => b,
			// Removed or found corrupt since the fetch: fetch again next time.
			Err(e @ (StoreError::NotFound(_) | StoreError::Corrupt { .. })) => {
				return Ok(Verdict::Later(e.to_string()))
			}
			Err(e) => return Err(e.into()),
		};
		let checked = match self.check(bytes, c, d, modality).await {
			Ok(checked) => checked,
			Err(verdict) => return Ok(verdict),
		};
		Ok(match checked {
			Ok(Checked::Text { text, .. }) => {
				let fp = Fingerprint::of(&text);
				let index = self.journal.data().dedupe.get(&d.id);
				match index.and_then(|i| i.find_fingerprint(&fp, Some(c.id))) {
					Some(dup) => {
						let reason = dup.reason();
						reject(reason.code().expect("duplicates have a code"), &reason.to_string())
					}
					None => Verdict::Vote(VoteArg::Approve, "approve".into(), Some(fp)),
				}
			}
			Ok(_) => Verdict::Vote(VoteArg::Approve, "approve".into(), None),
			Err(reason) => match reason.code() {
				Some(code) => reject(code, &reason.to_string()),
				None => Verdict::Abstain(reason.to_string()),
			},
		})
	}

	/// Runs the content check on the blocking pool within `check_time` (see
	/// [`crate::timed_check`]): past it the curator abstains (a file that takes that long to
	/// decode is not one it can judge), and tries others only once the overdue check has ended.
	async fn check(
		&mut self,
		bytes: Vec<u8>,
		c: &ContributionView,
		d: &DatanetView,
		modality: Modality,
	) -> Result<Result<Checked, content_check::Reason>, Verdict> {
		let hash = parse_hash(&c.content_hash).map_err(|e| Verdict::Abstain(e.to_string()))?;
		let declaration = Declaration {
			hash,
			size: c.bytes,
			format: c.format.clone(),
			modality,
			allowed: d.formats.clone(),
		};
		match self.checker.check(bytes, declaration).await {
			Timed::Done(checked) => Ok(checked),
			Timed::Busy => Err(Verdict::Later("an earlier check is still running".into())),
			Timed::Overdue => Err(Verdict::Abstain(format!(
				"checking took longer than {:?}",
				self.checker.budget()
			))),
		}
	}
}

fn reject(code: Code, why: &str) -> Verdict {
	Verdict::Vote(VoteArg::Reject(reject_arg(code)), format!("reject:{code:?} ({why})"), None)
}

/// The holder name of the pin a curator keeps on a contribution's bytes (see `data_plane::pins`).
fn pin_holder(contribution: u64) -> String {
	format!("curator:{contribution}")
}

/// Releases the curator's pin on contribution `id`'s bytes, and the pin of workers before pins had
/// holders (`chain`, shared by every use: such stores come from dev networks).
fn unpin(node: &DataNode, hash: &str, id: u64) -> anyhow::Result<()> {
	let hash = parse_hash(hash)?;
	node.store().unpin(&hash, &pin_holder(id))?;
	node.store().unpin(&hash, "chain")?;
	Ok(())
}

fn parse_hash(s: &str) -> anyhow::Result<[u8; 32]> {
	let b = hex::decode(s.trim_start_matches("0x"))?;
	b.try_into().map_err(|_| anyhow::anyhow!("content hash {s} is not 32 bytes"))
}
