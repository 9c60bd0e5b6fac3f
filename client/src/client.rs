//! A connection to a Tributary node: signed calls, storage reads and the `datanets_*` RPCs.

use crate::{
	chain::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			pallet_datanets::types::{
				ContributionStatus, DatanetStatus, Modality, RejectReason, Rules, Vote,
			},
		},
	},
	content::FileDeclaration,
	keys::Key,
};
use serde::{Deserialize, Serialize};
use subxt::{
	backend::{legacy::LegacyRpcMethods, rpc::RpcClient},
	blocks::ExtrinsicEvents,
	error::DispatchError,
	ext::subxt_rpcs::rpc_params,
	utils::AccountId32,
	OnlineClient, SubstrateConfig,
};

/// A transaction signed and ready to submit ([`Client::sign`], [`Client::submit_signed`]).
pub struct SignedTx {
	pub tx: subxt::tx::SubmittableTransaction<SubstrateConfig, OnlineClient<SubstrateConfig>>,
	/// The nonce it carries.
	pub nonce: u64,
	/// The best block's number when it was signed: it cannot be in an earlier block.
	pub since: u64,
}

/// Whether the pool refused a transaction because another one took its nonce: on chain
/// ("outdated"), or in the pool with the same priority ("Priority is too low").
fn nonce_taken(e: &ClientError) -> bool {
	let text = e.to_string();
	text.contains("outdated") || text.contains("Priority is too low")
}

pub type DatanetId = u32;
pub type ContributionId = u64;

/// Prefix of every contribution commitment's preimage (the pallet's `COMMITMENT_DOMAIN`).
const COMMITMENT_DOMAIN: &[u8] = b"tributary/contribution-commitment/v1";

/// What `who` posts with `commit_contribution` before revealing `hash` in `datanet`:
/// `blake2_256(domain ‖ datanet:u32 LE ‖ hash ‖ who)`, as the pallet's `commitment_of` computes it.
pub fn contribution_commitment(datanet: DatanetId, hash: &[u8; 32], who: &AccountId32) -> [u8; 32] {
	let mut preimage = Vec::with_capacity(COMMITMENT_DOMAIN.len() + 4 + 32 + 32);
	preimage.extend_from_slice(COMMITMENT_DOMAIN);
	preimage.extend_from_slice(&datanet.to_le_bytes());
	preimage.extend_from_slice(hash);
	preimage.extend_from_slice(&who.0);
	<sp_core::Blake2Hasher as sp_core::Hasher>::hash(&preimage).0
}

/// Every way a client call fails, each with a sentence that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
	#[error("cannot reach a Tributary node at {url} ({reason}): is it running? `./scripts/up.sh` starts one, or pass --url")]
	Unreachable { url: String, reason: String },
	#[error("the chain refused the call: {pallet}.{error}: {sentence}")]
	Refused { pallet: String, error: String, sentence: String },
	#[error("the transaction was not accepted: {0}")]
	Invalid(String),
	#[error("no {what} {id} on chain")]
	NotFound { what: &'static str, id: u64 },
	/// Sent, but not in a block (per [`Wait`]) within the wait timeout. It may still land: look
	/// on chain before sending it again.
	#[error("the transaction was sent but not in a {what} block within {waited:?}; it may still land, check before sending it again")]
	TimedOut { what: &'static str, waited: std::time::Duration },
	#[error("{0}")]
	Other(String),
}

impl ClientError {
	/// The `Pallet.Error` name of a chain refusal, for callers that branch on it.
	pub fn chain_error(&self) -> Option<&str> {
		match self {
			ClientError::Refused { error, .. } => Some(error),
			_ => None,
		}
	}
}

impl From<subxt::Error> for ClientError {
	fn from(e: subxt::Error) -> Self {
		match e {
			subxt::Error::Runtime(DispatchError::Module(m)) => match m.details() {
				Ok(d) => ClientError::Refused {
					pallet: d.pallet.name().to_string(),
					error: d.variant.name.clone(),
					sentence: d.variant.docs.join(" ").trim().to_string(),
				},
				Err(_) => ClientError::Other(format!("the chain refused the call: {m}")),
			},
			subxt::Error::Runtime(DispatchError::Token(t)) => ClientError::Refused {
				pallet: "Balances".into(),
				error: format!("{t:?}"),
				sentence: "the account has too little free balance for this (deposit or transfer): fund it first".into(),
			},
			subxt::Error::Runtime(other) => ClientError::Other(format!("the chain refused the call: {other}")),
			subxt::Error::Rpc(r) => {
				// The node says why in the error's data ("Transaction has a bad signature", ...);
				// the error's own text leaves it out.
				let data = match &r {
					subxt::error::RpcError::ClientError(subxt::ext::subxt_rpcs::Error::User(u)) => {
						u.data.as_ref().map(|d| format!(": {}", d.get())).unwrap_or_default()
					}
					_ => String::new(),
				};
				let text = format!("{r}{data}");
				if text.contains("Inability to pay some fees") {
					ClientError::Invalid("the account cannot pay the transaction fee: fund it first".into())
				} else if text.contains("Could not decode") || text.contains("decode") {
					ClientError::Invalid(format!(
						"the node could not decode the call ({text}): a value is longer than the chain allows, or the client's metadata is stale"
					))
				} else if text.contains("Invalid Transaction") || text.contains("1010") {
					ClientError::Invalid(text)
				} else {
					ClientError::Other(format!("RPC error: {text}"))
				}
			},
			other => ClientError::Other(other.to_string()),
		}
	}
}

/// A datanet as the CLI shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DatanetView {
	pub id: DatanetId,
	pub owner: String,
	pub name: String,
	pub description: String,
	pub modality: String,
	pub formats: Vec<String>,
	pub status: String,
	pub rules: RulesArg,
	pub curators: Vec<String>,
	pub submitted: u64,
	pub accepted: u64,
	pub rejected: u64,
	pub latest_version: u32,
	/// Whether the datanet counts on the global board.
	pub on_global_board: bool,
	/// A change of fee, quorums or deposit the owner asked for, and the block it applies in.
	pub scheduled_rules: Option<ScheduledRulesView>,
}

/// A rules change waiting for its block (the chain's `ScheduledRules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledRulesView {
	pub approval_quorum: u32,
	pub rejection_quorum: u32,
	pub contribution_deposit: u128,
	pub curator_fee: u128,
	pub at_block: u32,
}

/// A new datanet's definition.
#[derive(Debug, Clone)]
pub struct NewDatanet {
	pub name: String,
	pub description: String,
	pub modality: ModalityArg,
	pub formats: Vec<String>,
	pub curators: Vec<AccountId32>,
	pub rules: RulesArg,
}

/// The three modalities, as plain Rust for callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
pub enum ModalityArg {
	Text,
	Image,
	Audio,
}

/// Datanet rules, as plain Rust for callers; defaults follow the chain's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RulesArg {
	pub max_item_bytes: u64,
	pub contributor_daily_bytes: u64,
	pub contributor_daily_items: u32,
	pub datanet_daily_bytes: u64,
	pub datanet_daily_items: u32,
	pub approval_quorum: u32,
	pub rejection_quorum: u32,
	pub contribution_deposit: u128,
	pub curator_fee: u128,
	/// Blocks a contribution may stay pending before it expires.
	pub pending_blocks: u32,
}

impl From<&RulesArg> for Rules<u128> {
	fn from(r: &RulesArg) -> Self {
		Rules {
			max_item_bytes: r.max_item_bytes,
			contributor_daily_bytes: r.contributor_daily_bytes,
			contributor_daily_items: r.contributor_daily_items,
			datanet_daily_bytes: r.datanet_daily_bytes,
			datanet_daily_items: r.datanet_daily_items,
			approval_quorum: r.approval_quorum,
			rejection_quorum: r.rejection_quorum,
			contribution_deposit: r.contribution_deposit,
			curator_fee: r.curator_fee,
			pending_blocks: r.pending_blocks,
		}
	}
}

impl From<&Rules<u128>> for RulesArg {
	fn from(r: &Rules<u128>) -> Self {
		RulesArg {
			max_item_bytes: r.max_item_bytes,
			contributor_daily_bytes: r.contributor_daily_bytes,
			contributor_daily_items: r.contributor_daily_items,
			datanet_daily_bytes: r.datanet_daily_bytes,
			datanet_daily_items: r.datanet_daily_items,
			approval_quorum: r.approval_quorum,
			rejection_quorum: r.rejection_quorum,
			contribution_deposit: r.contribution_deposit,
			curator_fee: r.curator_fee,
			pending_blocks: r.pending_blocks,
		}
	}
}

/// A curator's verdict, as plain Rust for callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteArg {
	Approve,
	Reject(RejectArg),
}

/// Rejection reasons; the names match the chain's `RejectReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectArg {
	Malformed,
	HashMismatch,
	OffTopic,
	Duplicate,
	LowQuality,
	PolicyViolation,
	Other(u16),
}

impl std::str::FromStr for RejectArg {
	type Err = String;
	fn from_str(s: &str) -> Result<Self, String> {
		Ok(match s {
			"malformed" => RejectArg::Malformed,
			"hash-mismatch" => RejectArg::HashMismatch,
			"off-topic" => RejectArg::OffTopic,
			"duplicate" => RejectArg::Duplicate,
			"low-quality" => RejectArg::LowQuality,
			"policy" | "policy-violation" => RejectArg::PolicyViolation,
			other => match other.strip_prefix("other:").and_then(|n| n.parse().ok()) {
				Some(n) => RejectArg::Other(n),
				None => {
					return Err(format!(
						"unknown reason `{s}`: use malformed, hash-mismatch, off-topic, duplicate, \
						 low-quality, policy or other:<code>"
					))
				}
			},
		})
	}
}

impl From<RejectArg> for RejectReason {
	fn from(r: RejectArg) -> Self {
		match r {
			RejectArg::Malformed => RejectReason::Malformed,
			RejectArg::HashMismatch => RejectReason::HashMismatch,
			RejectArg::OffTopic => RejectReason::OffTopic,
			RejectArg::Duplicate => RejectReason::Duplicate,
			RejectArg::LowQuality => RejectReason::LowQuality,
			RejectArg::PolicyViolation => RejectReason::PolicyViolation,
			RejectArg::Other(n) => RejectReason::Other(n),
		}
	}
}

impl From<&RejectReason> for RejectArg {
	fn from(r: &RejectReason) -> Self {
		match r {
			RejectReason::Malformed => RejectArg::Malformed,
			RejectReason::HashMismatch => RejectArg::HashMismatch,
			RejectReason::OffTopic => RejectArg::OffTopic,
			RejectReason::Duplicate => RejectArg::Duplicate,
			RejectReason::LowQuality => RejectArg::LowQuality,
			RejectReason::PolicyViolation => RejectArg::PolicyViolation,
			RejectReason::Other(n) => RejectArg::Other(*n),
		}
	}
}

/// Where a contribution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Decision {
	Pending,
	Accepted {
		index: u64,
	},
	Rejected {
		reason: RejectArg,
	},
	/// Not decided within the datanet's `pending_blocks`; the deposit went to the curation pot.
	Expired,
	/// Contribution `by` took the hash over while this one was pending: its author committed to
	/// the same bytes first. The deposit went to the curation pot.
	Superseded {
		by: ContributionId,
	},
}

impl From<&ContributionStatus> for Decision {
	fn from(s: &ContributionStatus) -> Self {
		match s {
			ContributionStatus::Pending => Decision::Pending,
			ContributionStatus::Accepted { index } => Decision::Accepted { index: *index },
			ContributionStatus::Rejected { reason } => Decision::Rejected { reason: reason.into() },
			ContributionStatus::Expired => Decision::Expired,
			ContributionStatus::Superseded { by } => Decision::Superseded { by: *by },
		}
	}
}

/// A contribution as the CLI shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ContributionView {
	pub id: ContributionId,
	pub datanet: DatanetId,
	pub contributor: String,
	pub content_hash: String,
	pub bytes: u64,
	pub format: String,
	pub approvals: u32,
	pub rejections: u32,
	pub decision: Decision,
	/// Held from the contributor while the record is stored (plancks); `remove-contribution`
	/// releases it once the contribution is rejected, expired or superseded.
	pub record_deposit: u128,
}

/// A contributor's record, as the `datanets_*` RPCs return it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
	pub submitted: u64,
	pub accepted: u64,
	pub rejected: u64,
	pub accepted_bytes: u64,
	pub first_accepted: Option<u64>,
}

/// One leaderboard row, as `datanets_leaderboard` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderboardRow {
	pub rank: u32,
	pub account: String,
	pub stats: Stats,
	pub acceptance_rate_ppm: Option<u32>,
}

/// The node and chain at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
	pub url: String,
	pub chain: String,
	pub node: String,
	pub version: String,
	pub peers: u64,
	pub syncing: bool,
	pub best: u64,
	pub finalized: u64,
	pub spec_version: u32,
}

/// How long to wait for a submitted transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
	/// Until the block holding it is finalized (the default: the result cannot be reverted).
	Finalized,
	/// Until it is in a best block (faster; could still be reorganised away).
	InBlock,
}

/// A connected client.
pub struct Client {
	url: String,
	api: OnlineClient<SubstrateConfig>,
	pub(crate) rpc: RpcClient,
	legacy: LegacyRpcMethods<SubstrateConfig>,
	wait: Wait,
	wait_timeout: std::time::Duration,
	reads: Head,
}

/// Which block a client reads state at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
	/// The latest finalized block (the default: what is read there stays true).
	Finalized,
	/// The best block: sees a transaction as soon as it is in a block, before finality (a
	/// reorganisation may still undo it).
	Best,
}

/// How long [`Client::connect`] waits for a node to answer.
pub const DEFAULT_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a submission waits for its block (per [`Wait`]) unless told otherwise: a node that
/// stops producing or finalizing blocks must not hold a caller forever.
pub const DEFAULT_WAIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

pub(crate) fn text(b: &BoundedVec<u8>) -> String {
	String::from_utf8_lossy(&b.0).into_owned()
}

pub(crate) fn bounded(s: &str) -> BoundedVec<u8> {
	BoundedVec(s.as_bytes().to_vec())
}

impl Client {
	/// Connects to the node at `url` (ws:// or wss://), giving up after
	/// [`DEFAULT_CONNECT_TIMEOUT`].
	pub async fn connect(url: &str) -> Result<Self, ClientError> {
		Self::connect_within(url, DEFAULT_CONNECT_TIMEOUT).await
	}

	/// [`Self::connect`], giving up after `timeout`: a node that takes the connection and never
	/// answers (one still starting, seen after a restart) must not hold the caller forever.
	pub async fn connect_within(
		url: &str,
		timeout: std::time::Duration,
	) -> Result<Self, ClientError> {
		let unreachable = |e: &dyn std::fmt::Display| ClientError::Unreachable {
			url: url.to_string(),
			reason: e.to_string(),
		};
		let opened = tokio::time::timeout(timeout, async {
			let rpc = RpcClient::from_insecure_url(url).await.map_err(|e| unreachable(&e))?;
			let api = OnlineClient::<SubstrateConfig>::from_rpc_client(rpc.clone())
				.await
				.map_err(|e| unreachable(&e))?;
			Ok::<_, ClientError>((rpc, api))
		})
		.await
		.map_err(|_| unreachable(&format!("no answer within {timeout:?}")))?;
		let (rpc, api) = opened?;
		let legacy = LegacyRpcMethods::new(rpc.clone());
		Ok(Client {
			url: url.to_string(),
			api,
			rpc,
			legacy,
			wait: Wait::Finalized,
			wait_timeout: DEFAULT_WAIT_TIMEOUT,
			reads: Head::Finalized,
		})
	}

	/// The endpoint this client is connected to.
	pub fn url(&self) -> &str {
		&self.url
	}

	/// Sets how long submissions wait.
	pub fn with_wait(mut self, wait: Wait) -> Self {
		self.wait = wait;
		self
	}

	/// Sets which block reads go to.
	pub fn reading(mut self, head: Head) -> Self {
		self.reads = head;
		self
	}

	/// State at the block reads go to (see [`Head`]).
	pub(crate) async fn state(
		&self,
	) -> Result<subxt::storage::Storage<SubstrateConfig, OnlineClient<SubstrateConfig>>, ClientError>
	{
		match self.reads {
			Head::Finalized => Ok(self.api.storage().at_latest().await?),
			Head::Best => Ok(self.api.storage().at(self.best_hash().await?)),
		}
	}

	/// Sets the most a submission waits for its block ([`ClientError::TimedOut`] after that).
	pub fn with_wait_timeout(mut self, timeout: std::time::Duration) -> Self {
		self.wait_timeout = timeout;
		self
	}

	pub fn api(&self) -> &OnlineClient<SubstrateConfig> {
		&self.api
	}

	/// Signs `call` with `key`, submits it, waits per [`Wait`] and returns its events, or the
	/// chain's refusal as a sentence.
	///
	/// Another process signing with the same key (a worker, and the CLI beside it) can take the
	/// nonce this one read: the pool then refuses ours as outdated (or of too low a priority while
	/// the other waits in the pool), or takes ours in and reports it invalid once the other lands
	/// or replaces it. When the chain shows ours never ran (see
	/// [`Self::submit_signed`]), it is signed again with the next nonce, a few times.
	pub async fn submit<Call: subxt::tx::Payload>(
		&self,
		call: &Call,
		key: &Key,
	) -> Result<ExtrinsicEvents<SubstrateConfig>, ClientError> {
		const TRIES: usize = 4;
		let mut tried = 1;
		loop {
			let tx = self.sign(call, key).await?;
			let out = self.submit_signed(&tx).await;
			match &out {
				Err(e) if tried < TRIES && self.lost_its_nonce(e, &tx, key).await? => tried += 1,
				_ => return out,
			}
		}
	}

	/// Whether `tx` failed because another transaction took its nonce: the pool said so at once
	/// ([`nonce_taken`]), or it took ours in and later reported it invalid, usurped or dropped
	/// while the account's nonce moved past ours (the other one was included, or replaced ours
	/// with a higher tip). [`Self::submit_signed`] has already looked for ours in the chain.
	async fn lost_its_nonce(
		&self,
		e: &ClientError,
		tx: &SignedTx,
		key: &Key,
	) -> Result<bool, ClientError> {
		if nonce_taken(e) {
			return Ok(true);
		}
		if !matches!(e, ClientError::Invalid(_) | ClientError::Other(_)) {
			return Ok(false);
		}
		let text = e.to_string().to_lowercase();
		if !["invalid", "not valid", "usurped", "dropped"].iter().any(|w| text.contains(w)) {
			return Ok(false);
		}
		let who = subxt::tx::Signer::<SubstrateConfig>::account_id(key);
		Ok(self.next_nonce(&who).await? > tx.nonce)
	}

	/// The nonce `who`'s next transaction takes, as the node's pool sees it: transactions in
	/// best blocks that are not yet final and those still in the pool count.
	pub async fn next_nonce(&self, who: &AccountId32) -> Result<u64, ClientError> {
		Ok(self.legacy.system_account_next_index(who).await.map_err(subxt::Error::from)?)
	}

	/// `call` signed by `key` with the account's next nonce as the node's pool sees it
	/// (`system_accountNextIndex`): it counts transactions in best blocks that are not yet
	/// final, and those still in the pool. (subxt's default reads the nonce at the finalized
	/// block: a second transaction sent before the first was final reused its nonce and was
	/// refused as outdated.) Mortal for subxt's default period, from the finalized block.
	pub async fn sign<Call: subxt::tx::Payload>(
		&self,
		call: &Call,
		key: &Key,
	) -> Result<SignedTx, ClientError> {
		let since = self.best_number().await?;
		let nonce = self.next_nonce(&subxt::tx::Signer::<SubstrateConfig>::account_id(key)).await?;
		let params = subxt::config::DefaultExtrinsicParamsBuilder::<SubstrateConfig>::new()
			.nonce(nonce)
			.build();
		let tx = self.api.tx().create_signed(call, key, params).await?;
		Ok(SignedTx { tx, nonce, since })
	}

	/// Submits a signed transaction and waits per [`Wait`].
	///
	/// The pool refuses a transaction as outdated when its nonce is used. That is an error only
	/// if the chain shows it never ran: a transaction submitted again once on chain is answered
	/// outdated (or "already imported" while its block is not final), and so is a first
	/// submission whose block was made while the node was still answering (instant sealing does
	/// this). So before saying it failed, the best chain is searched from the block the
	/// transaction was signed at; found, its events are the answer.
	pub async fn submit_signed(
		&self,
		tx: &SignedTx,
	) -> Result<ExtrinsicEvents<SubstrateConfig>, ClientError> {
		let hash = tx.tx.hash();
		let progress = match tx.tx.submit_and_watch().await {
			Ok(p) => p,
			Err(e) => {
				let e = ClientError::from(e);
				if !["outdated", "Already Imported"].iter().any(|w| e.to_string().contains(w)) {
					return Err(e);
				}
				return match self.find_included(hash, tx.since).await? {
					Some(events) => Ok(events),
					None => Err(e),
				};
			}
		};
		let what = match self.wait {
			Wait::Finalized => "finalized",
			Wait::InBlock => "best",
		};
		let waited = tokio::time::timeout(self.wait_timeout, self.watch(progress, hash, tx.since))
			.await
			.map_err(|_| ClientError::TimedOut { what, waited: self.wait_timeout })?;
		match waited {
			// The pool can report a transaction invalid or dropped and still have it included
			// (polkadot-sdk#8479; seen with instant sealing): look for it in the chain before
			// saying it failed.
			Err(e)
				if ["invalid", "not valid", "dropped", "outdated"]
					.iter()
					.any(|w| e.to_string().to_lowercase().contains(w)) =>
			{
				match self.find_included(hash, tx.since).await? {
					Some(events) => Ok(events),
					None => Err(e),
				}
			}
			other => other,
		}
	}

	/// The hash of the node's best block.
	async fn best_hash(&self) -> Result<subxt::utils::H256, ClientError> {
		let best = self.legacy.chain_get_block_hash(None).await.map_err(subxt::Error::from)?;
		best.ok_or_else(|| ClientError::Other("the node has no best block".into()))
	}

	/// The hash of the block reads go to (see [`Head`]), for the node's own RPCs, so that they
	/// answer from the same block as storage reads do.
	pub(crate) async fn read_hash(&self) -> Result<subxt::utils::H256, ClientError> {
		match self.reads {
			Head::Finalized => {
				Ok(self.legacy.chain_get_finalized_head().await.map_err(subxt::Error::from)?)
			}
			Head::Best => self.best_hash().await,
		}
	}

	/// The number of the node's best block.
	async fn best_number(&self) -> Result<u64, ClientError> {
		let header = self.legacy.chain_get_header(None).await.map_err(subxt::Error::from)?;
		let header =
			header.ok_or_else(|| ClientError::Other("the node has no best block".into()))?;
		Ok(header.number.into())
	}

	/// The events of extrinsic `tx` if it is in a block of the best chain numbered `since` or
	/// later; a failed dispatch is its error. Searched three times a second apart (a block being
	/// imported as the pool answered shows up a moment later). With [`Wait::Finalized`], a block
	/// found is waited for until final.
	async fn find_included(
		&self,
		tx: subxt::utils::H256,
		since: u64,
	) -> Result<Option<ExtrinsicEvents<SubstrateConfig>>, ClientError> {
		for attempt in 0..3 {
			if attempt > 0 {
				tokio::time::sleep(std::time::Duration::from_secs(1)).await;
			}
			if let (Some((events, number)), _) = self.search(tx, since).await? {
				if self.wait == Wait::Finalized {
					self.until_final(number).await?;
				}
				return Ok(Some(events));
			}
		}
		Ok(None)
	}

	/// One pass over the best chain's blocks numbered `since` or later (at most 1024 back from
	/// the best) for extrinsic `tx`: its events and block number if found (a failed dispatch is
	/// its error), and the number of the best block the pass started from.
	#[allow(clippy::type_complexity)]
	async fn search(
		&self,
		tx: subxt::utils::H256,
		since: u64,
	) -> Result<(Option<(ExtrinsicEvents<SubstrateConfig>, u64)>, u64), ClientError> {
		const MOST: u64 = 1024;
		let mut block = self.api.blocks().at(self.best_hash().await?).await?;
		let best = u64::from(block.number());
		let lowest = best.saturating_sub(MOST).max(since);
		while u64::from(block.number()) >= lowest {
			for ext in block.extrinsics().await?.iter() {
				if ext.hash() != tx {
					continue;
				}
				let events = ext.events().await?;
				for ev in events.iter() {
					let ev = ev?;
					if (ev.pallet_name(), ev.variant_name()) == ("System", "ExtrinsicFailed") {
						let err =
							DispatchError::decode_from(ev.field_bytes(), self.api.metadata())?;
						return Err(subxt::Error::Runtime(err).into());
					}
				}
				return Ok((Some((events, block.number().into())), best));
			}
			if block.number() == 0 {
				break;
			}
			block = self.api.blocks().at(block.header().parent_hash).await?;
		}
		Ok((None, best))
	}

	/// Follows the node's reports on a submitted transaction until it is in a block (per
	/// [`Wait`]), and meanwhile looks for it in the chain every few seconds: the pool can fall
	/// silent about a transaction it included (seen with instant sealing right after a node
	/// restart: a worker's vote waited out its whole timeout).
	async fn watch(
		&self,
		progress: subxt::tx::TxProgress<SubstrateConfig, OnlineClient<SubstrateConfig>>,
		tx: subxt::utils::H256,
		since: u64,
	) -> Result<ExtrinsicEvents<SubstrateConfig>, ClientError> {
		const LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(3);
		let reports = self.wait_for(progress);
		tokio::pin!(reports);
		let mut look =
			tokio::time::interval_at(tokio::time::Instant::now() + LOOK_EVERY, LOOK_EVERY);
		let mut from = since;
		loop {
			tokio::select! {
				r = &mut reports => return r,
				_ = look.tick() => {
					match self.search(tx, from).await? {
						(Some((events, number)), _) => {
							if self.wait == Wait::InBlock || self.finalized_number().await? >= number {
								return Ok(events);
							}
						}
						// Next time, only the blocks since (less a few, for a reorganisation).
						(None, best) => from = from.max(best.saturating_sub(8)),
					}
				}
			}
		}
	}

	/// The number of the node's latest finalized block.
	async fn finalized_number(&self) -> Result<u64, ClientError> {
		let head = self.legacy.chain_get_finalized_head().await.map_err(subxt::Error::from)?;
		let header = self.legacy.chain_get_header(Some(head)).await.map_err(subxt::Error::from)?;
		Ok(header.map_or(0, |h| h.number.into()))
	}

	/// Waits (up to the wait timeout) until block `number` is finalized.
	async fn until_final(&self, number: u64) -> Result<(), ClientError> {
		let deadline = tokio::time::Instant::now() + self.wait_timeout;
		loop {
			if self.finalized_number().await? >= number {
				return Ok(());
			}
			if tokio::time::Instant::now() >= deadline {
				return Err(ClientError::TimedOut { what: "finalized", waited: self.wait_timeout });
			}
			tokio::time::sleep(std::time::Duration::from_millis(500)).await;
		}
	}

	async fn wait_for(
		&self,
		progress: subxt::tx::TxProgress<SubstrateConfig, OnlineClient<SubstrateConfig>>,
	) -> Result<ExtrinsicEvents<SubstrateConfig>, ClientError> {
		let events = match self.wait {
			Wait::Finalized => progress.wait_for_finalized_success().await?,
			Wait::InBlock => {
				use subxt::tx::TxStatus;
				let mut progress = progress;
				loop {
					match progress.next().await {
						Some(Ok(TxStatus::InBestBlock(b) | TxStatus::InFinalizedBlock(b))) => {
							break b.wait_for_success().await?;
						}
						Some(Ok(
							TxStatus::Error { message }
							| TxStatus::Invalid { message }
							| TxStatus::Dropped { message },
						)) => return Err(ClientError::Invalid(message)),
						Some(Ok(_)) => continue,
						Some(Err(e)) => return Err(e.into()),
						None => {
							return Err(ClientError::Other(
								"the node stopped reporting on the transaction".into(),
							))
						}
					}
				}
			}
		};
		Ok(events)
	}

	/// Dispatches `call` as root through sudo. Sudo itself succeeds whatever the call does, so
	/// the call's own failure (in the `Sudid` event) is turned into the same error a signed call
	/// would give.
	pub(crate) async fn sudo(
		&self,
		root: &Key,
		call: chain::runtime_types::tributary_runtime::RuntimeCall,
	) -> Result<(), ClientError> {
		let events = self.submit(&chain::tx().sudo().sudo(call), root).await?;
		for event in events.iter() {
			let event = event?;
			if (event.pallet_name(), event.variant_name()) != ("Sudo", "Sudid") {
				continue;
			}
			// The field is `Result<(), DispatchError>`: 0 then nothing, or 1 then the error.
			return match event.field_bytes().split_first() {
				Some((0, _)) => Ok(()),
				Some((_, failed)) => {
					let err = DispatchError::decode_from(failed, self.api.metadata())?;
					Err(subxt::Error::Runtime(err).into())
				}
				None => Err(ClientError::Other("an empty Sudid event".into())),
			};
		}
		Err(ClientError::Other("sudo ran without a Sudid event".into()))
	}

	/// [`Self::submit`], then the first event `E` the extrinsic emitted (its success event).
	pub(crate) async fn submit_for<E: subxt::events::StaticEvent, Call: subxt::tx::Payload>(
		&self,
		call: &Call,
		key: &Key,
	) -> Result<E, ClientError> {
		self.submit(call, key).await?.find_first::<E>()?.ok_or_else(|| {
			ClientError::Other(format!("the extrinsic succeeded without a {} event", E::EVENT))
		})
	}

	/// Creates a datanet owned by `key`; returns its id.
	pub async fn create_datanet(
		&self,
		key: &Key,
		d: &NewDatanet,
	) -> Result<DatanetId, ClientError> {
		let modality = match d.modality {
			ModalityArg::Text => Modality::Text,
			ModalityArg::Image => Modality::Image,
			ModalityArg::Audio => Modality::Audio,
		};
		let call = chain::tx().datanets().create_datanet(
			bounded(&d.name),
			bounded(&d.description),
			modality,
			BoundedVec(d.formats.iter().map(|f| bounded(f)).collect()),
			(&d.rules).into(),
			BoundedVec(d.curators.clone()),
		);
		let created: chain::datanets::events::DatanetCreated = self.submit_for(&call, key).await?;
		Ok(created.datanet)
	}

	/// Puts `datanet` (owned by `key`, no submissions yet) on the global board, bonding
	/// `GlobalBoardBond` for good.
	pub async fn join_global_board(
		&self,
		key: &Key,
		datanet: DatanetId,
	) -> Result<(), ClientError> {
		let call = chain::tx().datanets().join_global_board(datanet);
		let _: chain::datanets::events::DatanetOnGlobalBoard = self.submit_for(&call, key).await?;
		Ok(())
	}

	/// Contributes `file` to `datanet` as `key`: commits to it, then (once the commitment is in a
	/// block, per [`Wait`]) reveals it; returns the contribution id. Send the bytes to data peers
	/// only after this returns: until the reveal is on chain, anyone who sees them could claim
	/// them first.
	pub async fn contribute(
		&self,
		key: &Key,
		datanet: DatanetId,
		file: &FileDeclaration,
		metadata: &str,
	) -> Result<ContributionId, ClientError> {
		self.commit_contribution(key, datanet, file).await?;
		self.submit_contribution(key, datanet, file, metadata).await
	}

	/// Posts `key`'s commitment to `file` in `datanet` (see [`contribution_commitment`]).
	pub async fn commit_contribution(
		&self,
		key: &Key,
		datanet: DatanetId,
		file: &FileDeclaration,
	) -> Result<(), ClientError> {
		let commitment = contribution_commitment(datanet, &file.hash, &key.account_id());
		let call = chain::tx().datanets().commit_contribution(commitment);
		let _: chain::datanets::events::ContributionCommitted = self.submit_for(&call, key).await?;
		Ok(())
	}

	/// The pending or accepted contribution holding `hash` in `datanet`, if any.
	pub async fn contribution_by_hash(
		&self,
		datanet: DatanetId,
		hash: &[u8; 32],
	) -> Result<Option<ContributionId>, ClientError> {
		let at = self.state().await?;
		Ok(at.fetch(&chain::storage().datanets().contribution_by_hash(datanet, *hash)).await?)
	}

	/// Reveals a contribution `key` committed to in an earlier block (see [`Self::contribute`]);
	/// returns the contribution id.
	pub async fn submit_contribution(
		&self,
		key: &Key,
		datanet: DatanetId,
		file: &FileDeclaration,
		metadata: &str,
	) -> Result<ContributionId, ClientError> {
		let call = chain::tx().datanets().submit_contribution(
			datanet,
			file.hash,
			file.bytes,
			bounded(&file.format),
			bounded(metadata),
		);
		let submitted: chain::datanets::events::ContributionSubmitted =
			self.submit_for(&call, key).await?;
		Ok(submitted.contribution)
	}

	/// Votes as curator `key`; returns where the contribution stands after the vote.
	pub async fn vote(
		&self,
		key: &Key,
		contribution: ContributionId,
		vote: VoteArg,
	) -> Result<Decision, ClientError> {
		let v = match vote {
			VoteArg::Approve => Vote::Approve,
			VoteArg::Reject(r) => Vote::Reject(r.into()),
		};
		let events = self.submit(&chain::tx().datanets().vote(contribution, v), key).await?;
		if let Some(a) = events.find_first::<chain::datanets::events::ContributionAccepted>()? {
			return Ok(Decision::Accepted { index: a.index });
		}
		if let Some(r) = events.find_first::<chain::datanets::events::ContributionRejected>()? {
			return Ok(Decision::Rejected { reason: (&r.reason).into() });
		}
		Ok(Decision::Pending)
	}

	/// Publishes the datanet's accepted list as a new version; returns (version, count, root).
	pub async fn publish_version(
		&self,
		key: &Key,
		datanet: DatanetId,
	) -> Result<(u32, u64, [u8; 32]), ClientError> {
		let v: chain::datanets::events::VersionPublished =
			self.submit_for(&chain::tx().datanets().publish_version(datanet), key).await?;
		Ok((v.version, v.count, v.root))
	}

	/// One datanet with its curators, or `None`.
	pub async fn datanet(&self, id: DatanetId) -> Result<Option<DatanetView>, ClientError> {
		let at = self.state().await?;
		let q = chain::storage().datanets();
		let Some(d) = at.fetch(&q.datanet_info(id)).await? else { return Ok(None) };
		let curators = at.fetch(&q.curators(id)).await?.map(|c| c.0).unwrap_or_default();
		let latest_version = at.fetch(&q.latest_version(id)).await?.unwrap_or(0);
		let scheduled = at.fetch(&q.scheduled_rules(id)).await?.map(|c| ScheduledRulesView {
			approval_quorum: c.approval_quorum,
			rejection_quorum: c.rejection_quorum,
			contribution_deposit: c.contribution_deposit,
			curator_fee: c.curator_fee,
			at_block: c.at,
		});
		Ok(Some(DatanetView {
			id,
			owner: d.owner.to_string(),
			name: text(&d.name),
			description: text(&d.description),
			modality: format!("{:?}", d.modality).to_lowercase(),
			formats: d.formats.0.iter().map(text).collect(),
			status: match d.status {
				DatanetStatus::Open => "open".into(),
				DatanetStatus::Closed => "closed".into(),
				DatanetStatus::Cleared => "cleared".into(),
			},
			rules: (&d.rules).into(),
			curators: curators.iter().map(|c| c.to_string()).collect(),
			submitted: d.submitted,
			accepted: d.accepted,
			rejected: d.rejected,
			latest_version,
			on_global_board: d.board_bond.is_some(),
			scheduled_rules: scheduled,
		}))
	}

	/// All datanets, by id.
	pub async fn datanets(&self) -> Result<Vec<DatanetView>, ClientError> {
		let at = self.state().await?;
		let next = at.fetch(&chain::storage().datanets().next_datanet_id()).await?.unwrap_or(0);
		let mut out = Vec::with_capacity(next as usize);
		for id in 0..next {
			if let Some(d) = self.datanet(id).await? {
				out.push(d);
			}
		}
		Ok(out)
	}

	/// One contribution.
	pub async fn contribution(&self, id: ContributionId) -> Result<ContributionView, ClientError> {
		let at = self.state().await?;
		let c = at
			.fetch(&chain::storage().datanets().contributions(id))
			.await?
			.ok_or(ClientError::NotFound { what: "contribution", id })?;
		Ok(ContributionView {
			id,
			datanet: c.datanet,
			contributor: c.contributor.to_string(),
			content_hash: format!("0x{}", hex::encode(c.content_hash)),
			bytes: c.bytes,
			format: text(&c.format),
			approvals: c.approvals,
			rejections: c.rejections,
			decision: (&c.status).into(),
			record_deposit: c.record_deposit,
		})
	}

	/// One contribution, or `None` when no record has this id (never stored, or removed: a
	/// rejected, expired or superseded record its contributor took out, or a cleared datanet's).
	pub async fn find_contribution(
		&self,
		id: ContributionId,
	) -> Result<Option<ContributionView>, ClientError> {
		match self.contribution(id).await {
			Ok(c) => Ok(Some(c)),
			Err(ClientError::NotFound { .. }) => Ok(None),
			Err(e) => Err(e),
		}
	}

	/// The id the next contribution will get (ids below it were given out; records may have
	/// been removed since).
	pub async fn next_contribution_id(&self) -> Result<ContributionId, ClientError> {
		let at = self.state().await?;
		Ok(at.fetch(&chain::storage().datanets().next_contribution_id()).await?.unwrap_or(0))
	}

	/// Whether `curator` has voted on `contribution`.
	pub async fn has_voted(
		&self,
		contribution: ContributionId,
		curator: &AccountId32,
	) -> Result<bool, ClientError> {
		let at = self.state().await?;
		Ok(at
			.fetch(&chain::storage().datanets().votes(contribution, curator.clone()))
			.await?
			.is_some())
	}

	/// The leaderboard of a datanet, or of all datanets, from the node's `datanets_leaderboard` RPC,
	/// at the block storage reads go to (finalized by default), so that it agrees with them.
	pub async fn leaderboard(
		&self,
		datanet: Option<DatanetId>,
		offset: u32,
		limit: u32,
	) -> Result<Vec<LeaderboardRow>, ClientError> {
		let at = self.read_hash().await?;
		self.rpc
			.request("datanets_leaderboard", rpc_params![datanet, offset, limit, at])
			.await
			.map_err(|e| ClientError::Other(format!("datanets_leaderboard: {e}")))
	}

	/// A contributor's record from the node's `datanets_contributorStats` RPC (at the block storage
	/// reads go to).
	pub async fn contributor_stats(
		&self,
		who: &AccountId32,
		datanet: Option<DatanetId>,
	) -> Result<Stats, ClientError> {
		let at = self.read_hash().await?;
		self.rpc
			.request("datanets_contributorStats", rpc_params![who.to_string(), datanet, at])
			.await
			.map_err(|e| ClientError::Other(format!("datanets_contributorStats: {e}")))
	}

	/// Free balance of `who`, in plancks.
	pub async fn free_balance(&self, who: &AccountId32) -> Result<u128, ClientError> {
		Ok(self.balance(who).await?.free)
	}

	/// Makes a block now on a dev node that seals on request (`--sealing manual`), finalized or
	/// left to be finalized later; returns its hash (0x hex).
	pub async fn seal_block(&self, finalize: bool) -> Result<String, ClientError> {
		let created: serde_json::Value = self
			.rpc
			.request("engine_createBlock", rpc_params![true, finalize, Option::<String>::None])
			.await
			.map_err(|e| ClientError::Other(format!("engine_createBlock: {e}")))?;
		created["hash"]
			.as_str()
			.map(String::from)
			.ok_or_else(|| ClientError::Other(format!("engine_createBlock answered {created}")))
	}

	/// The hash (0x hex) of the block at `number` on the node's best chain, if it has one.
	pub async fn block_hash(&self, number: u64) -> Result<Option<String>, ClientError> {
		let hash = self
			.legacy
			.chain_get_block_hash(Some(subxt::backend::legacy::rpc_methods::BlockNumber::from(
				number,
			)))
			.await
			.map_err(|e| ClientError::from(subxt::Error::from(e)))?;
		Ok(hash.map(|h| format!("{h:?}")))
	}

	/// Node name, chain, peers, best and finalized heights.
	pub async fn status(&self) -> Result<NodeStatus, ClientError> {
		let err = |e: subxt::Error| ClientError::from(e);
		let chain = self.legacy.system_chain().await.map_err(|e| err(e.into()))?;
		let node = self.legacy.system_name().await.map_err(|e| err(e.into()))?;
		let version = self.legacy.system_version().await.map_err(|e| err(e.into()))?;
		let health = self.legacy.system_health().await.map_err(|e| err(e.into()))?;
		let best = self
			.legacy
			.chain_get_header(None)
			.await
			.map_err(|e| err(e.into()))?
			.map(|h| h.number as u64)
			.unwrap_or(0);
		let fin_hash = self.legacy.chain_get_finalized_head().await.map_err(|e| err(e.into()))?;
		let finalized = self
			.legacy
			.chain_get_header(Some(fin_hash))
			.await
			.map_err(|e| err(e.into()))?
			.map(|h| h.number as u64)
			.unwrap_or(0);
		Ok(NodeStatus {
			url: self.url.clone(),
			chain,
			node,
			version,
			peers: health.peers as u64,
			syncing: health.is_syncing,
			best,
			finalized,
			spec_version: self.api.runtime_version().spec_version,
		})
	}
}

impl Default for RulesArg {
	/// The chain's defaults: 10 MiB and 20 items per contributor per day, 10 MiB and 1,000 items per
	/// datanet per day, items up to 1 MiB, one vote decides, no deposit, no curator fee, a week to
	/// decide.
	fn default() -> Self {
		RulesArg {
			max_item_bytes: 1024 * 1024,
			contributor_daily_bytes: 10 * 1024 * 1024,
			contributor_daily_items: 20,
			datanet_daily_bytes: 10 * 1024 * 1024,
			datanet_daily_items: 1_000,
			approval_quorum: 1,
			rejection_quorum: 1,
			contribution_deposit: 0,
			curator_fee: 0,
			pending_blocks: 7 * 14_400,
		}
	}
}

/// The `u64` a storage map's key ends with (`Twox64Concat` keeps the key whole after its hash).
pub(crate) fn u64_key(key_bytes: &[u8]) -> Option<u64> {
	let tail = key_bytes.len().checked_sub(8)?;
	Some(u64::from_le_bytes(key_bytes[tail..].try_into().ok()?))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn reject_reasons_parse_and_round_trip() {
		for (s, r) in [
			("malformed", RejectArg::Malformed),
			("hash-mismatch", RejectArg::HashMismatch),
			("off-topic", RejectArg::OffTopic),
			("duplicate", RejectArg::Duplicate),
			("low-quality", RejectArg::LowQuality),
			("policy", RejectArg::PolicyViolation),
			("other:42", RejectArg::Other(42)),
		] {
			let parsed: RejectArg = s.parse().unwrap();
			assert_eq!(parsed, r);
			let chain: RejectReason = parsed.into();
			assert_eq!(RejectArg::from(&chain), r);
		}
		assert!("nonsense".parse::<RejectArg>().unwrap_err().contains("unknown reason"));
		assert!("other:x".parse::<RejectArg>().is_err());
	}

	#[tokio::test]
	async fn a_node_that_takes_the_connection_and_never_answers_is_given_up_on() {
		// A listener that accepts and then says nothing (a node still starting after a restart
		// did this to a worker, which waited forever).
		let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
		let port = listener.local_addr().unwrap().port();
		let held = tokio::spawn(async move {
			let mut open = vec![];
			while let Ok((s, _)) = listener.accept().await {
				open.push(s);
			}
		});
		let url = format!("ws://127.0.0.1:{port}");
		let t = std::time::Duration::from_millis(500);
		let r = tokio::time::timeout(
			std::time::Duration::from_secs(20),
			Client::connect_within(&url, t),
		)
		.await
		.expect("connect gave up by itself");
		let msg = r.err().expect("nothing answered").to_string();
		assert!(msg.contains("cannot reach") && msg.contains("no answer within"), "{msg}");
		held.abort();
	}

	#[tokio::test]
	async fn an_unreachable_node_is_reported_as_such() {
		// Port 9 (discard) on loopback: nothing listens there.
		let err = Client::connect("ws://127.0.0.1:9").await.err().expect("no node there");
		let msg = err.to_string();
		assert!(msg.contains("cannot reach a Tributary node at ws://127.0.0.1:9"), "{msg}");
		assert!(msg.contains("scripts/up.sh"));
	}
}
