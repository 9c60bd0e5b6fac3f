//! Load from outside, against a running node (`scripts/bench-chain` starts one):
//!
//! 1. `ACCOUNTS` (100) fresh accounts, funded by //Alice, send `PER_ACCOUNT` (10) balance transfers
//!    each, all at once; then `PER_ACCOUNT` contributions each (a commitment, then in a later block
//!    the reveal). Prints extrinsics included per second for both and their ratio.
//! 2. A flood: `FLOOD` (10,000) contributions from the same accounts at once, in waves of at most
//!    50 per account (an account holds at most 64 open commitments). Every contribution is
//!    accounted for: included, refused by the pool or the runtime with a named reason, or lost
//!    (never included nor refused, which makes the run fail).
//!
//! Extrinsics are signed offline with explicit nonces and sent with `author_submitExtrinsic`;
//! outcomes come from the best blocks' events, matched by extrinsic hash.
//!
//! `cargo run --example chain_load -- ws://127.0.0.1:9944 [accounts] [per_account] [flood]`

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use std::{
	collections::{BTreeMap, HashMap},
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};
use subxt::{
	backend::{legacy::LegacyRpcMethods, rpc::RpcClient},
	config::DefaultExtrinsicParamsBuilder,
	events::Phase,
	tx::Payload,
	utils::{AccountId32, MultiAddress, H256},
	OnlineClient, SubstrateConfig,
};
use tributary_client::{
	chain::{
		self,
		runtime_types::{bounded_collections::bounded_vec::BoundedVec, sp_runtime::DispatchError},
		system::events::{ExtrinsicFailed, ExtrinsicSuccess},
	},
	client::{contribution_commitment, ModalityArg, NewDatanet, RulesArg},
	keys::Key,
	Client,
};

type Api = OnlineClient<SubstrateConfig>;
type Legacy = LegacyRpcMethods<SubstrateConfig>;
const UNIT: u128 = 1_000_000_000_000;
/// Submissions in flight at once.
const IN_FLIGHT: usize = 128;
/// Give up on extrinsics not seen in a block for this long after the last one was.
const QUIET: Duration = Duration::from_secs(90);

/// Extrinsic hash -> when its block arrived, and whether it succeeded (else the error's name).
type Seen = Arc<Mutex<HashMap<H256, (Instant, Result<(), String>)>>>;

/// What became of one extrinsic.
#[derive(Clone, Debug)]
enum Outcome {
	Included(Instant),
	Failed(String),
	Refused(String),
	Lost,
}

fn error_name(api: &Api, e: &DispatchError) -> String {
	match e {
		DispatchError::Module(m) => {
			let md = api.metadata();
			md.pallet_by_index(m.index)
				.and_then(|p| {
					p.error_variant_by_index(m.error[0]).map(|v| format!("{}.{}", p.name(), v.name))
				})
				.unwrap_or_else(|| format!("module {} error {}", m.index, m.error[0]))
		}
		other => format!("{other:?}"),
	}
}

/// Follows best blocks and records every extrinsic's outcome.
async fn track(api: Api, seen: Seen) -> Result<()> {
	let mut blocks = api.blocks().subscribe_best().await?;
	while let Some(block) = blocks.next().await {
		let block = block?;
		let at = Instant::now();
		let hashes: Vec<H256> = block.extrinsics().await?.iter().map(|e| e.hash()).collect();
		let mut results: Vec<Option<Result<(), String>>> = vec![None; hashes.len()];
		for ev in block.events().await?.iter() {
			let ev = ev?;
			let Phase::ApplyExtrinsic(i) = ev.phase() else { continue };
			let Some(slot) = results.get_mut(i as usize) else { continue };
			if let Some(f) = ev.as_event::<ExtrinsicFailed>()? {
				*slot = Some(Err(error_name(&api, &f.dispatch_error)));
			} else if ev.as_event::<ExtrinsicSuccess>()?.is_some() {
				*slot = Some(Ok(()));
			}
		}
		let mut seen = seen.lock().expect("not poisoned");
		for (h, r) in hashes.into_iter().zip(results) {
			if let Some(r) = r {
				seen.insert(h, (at, r));
			}
		}
	}
	Ok(())
}

struct Load {
	api: Api,
	legacy: Legacy,
	seen: Seen,
}

/// One signed extrinsic, ready to send.
struct Tx {
	hash: H256,
	bytes: Vec<u8>,
}

impl Load {
	fn sign<C: Payload>(&self, call: &C, key: &Key, nonce: u64) -> Result<Tx> {
		let params = DefaultExtrinsicParamsBuilder::<SubstrateConfig>::new().nonce(nonce).build();
		let tx = self.api.tx().create_partial_offline(call, params)?.sign(key);
		Ok(Tx { hash: tx.hash(), bytes: tx.encoded().to_vec() })
	}

	/// Each account's next nonce, as the node counts it (chain and pool).
	async fn next_nonces(&self, keys: &[Key]) -> Result<Vec<u64>> {
		let mut nonces = Vec::with_capacity(keys.len());
		for k in keys {
			nonces.push(self.legacy.system_account_next_index(&k.account_id()).await?);
		}
		Ok(nonces)
	}

	/// Sends every transaction, then waits for each to be included or given up on. Returns the
	/// outcome of each, in order, and when the first was sent.
	async fn run(&self, txs: Vec<Tx>) -> (Vec<Outcome>, Instant) {
		let start = Instant::now();
		let sent: Vec<Option<String>> = futures::stream::iter(txs.iter())
			.map(|tx| async move {
				self.legacy.author_submit_extrinsic(&tx.bytes).await.err().map(|e| pool_reason(&e))
			})
			.buffered(IN_FLIGHT)
			.collect()
			.await;
		let mut last_progress = Instant::now();
		let mut found = 0;
		loop {
			let now_found = {
				let seen = self.seen.lock().expect("not poisoned");
				txs.iter()
					.zip(&sent)
					.filter(|(tx, refused)| refused.is_none() && seen.contains_key(&tx.hash))
					.count()
			};
			let waiting = sent.iter().filter(|r| r.is_none()).count();
			if now_found > found {
				found = now_found;
				last_progress = Instant::now();
			}
			if found == waiting || last_progress.elapsed() > QUIET {
				break;
			}
			tokio::time::sleep(Duration::from_millis(200)).await;
		}
		let seen = self.seen.lock().expect("not poisoned");
		let outcomes = txs
			.iter()
			.zip(sent)
			.map(|(tx, refused)| match (refused, seen.get(&tx.hash)) {
				(Some(why), _) => Outcome::Refused(why),
				(None, Some((at, Ok(())))) => Outcome::Included(*at),
				(None, Some((_, Err(e)))) => Outcome::Failed(e.clone()),
				(None, None) => Outcome::Lost,
			})
			.collect();
		(outcomes, start)
	}
}

/// The pool's refusal, shortened to its reason.
fn pool_reason(e: &subxt::ext::subxt_rpcs::Error) -> String {
	let text = e.to_string();
	let text = text.split("data: ").last().unwrap_or(&text);
	format!("pool: {}", text.trim().trim_matches('"'))
}

/// Included extrinsics per second, from the first send to the last inclusion; and how many.
fn rate(outcomes: &[Outcome], start: Instant) -> (f64, usize) {
	let mut last = start;
	let mut n = 0;
	for o in outcomes {
		if let Outcome::Included(at) = o {
			n += 1;
			last = last.max(*at);
		}
	}
	(n as f64 / last.duration_since(start).as_secs_f64().max(1e-3), n)
}

fn require_all_included(what: &str, outcomes: &[Outcome]) -> Result<()> {
	let bad: Vec<_> = outcomes.iter().filter(|o| !matches!(o, Outcome::Included(_))).collect();
	if !bad.is_empty() {
		bail!("{what}: {} of {} not included, e.g. {:?}", bad.len(), outcomes.len(), bad[0]);
	}
	Ok(())
}

fn load_rules(items: u32) -> RulesArg {
	RulesArg {
		max_item_bytes: 1024,
		contributor_daily_bytes: 1 << 30,
		contributor_daily_items: items,
		datanet_daily_bytes: 1 << 40,
		datanet_daily_items: 1_000_000,
		approval_quorum: 1,
		rejection_quorum: 1,
		contribution_deposit: 0,
		curator_fee: 0,
		pending_blocks: 14_400,
	}
}

/// The reveal of a 1-KiB-or-less text item.
fn reveal(datanet: u32, hash: [u8; 32], bytes: u64) -> impl Payload {
	chain::tx().datanets().submit_contribution(
		datanet,
		hash,
		bytes,
		BoundedVec(b"txt".to_vec()),
		BoundedVec(Vec::new()),
	)
}

fn content_hash(tag: &str, account: usize, n: usize) -> [u8; 32] {
	*blake3::hash(format!("chain-load {tag} {account} {n}").as_bytes()).as_bytes()
}

#[tokio::main]
async fn main() -> Result<()> {
	let args: Vec<String> = std::env::args().collect();
	let url = args.get(1).cloned().unwrap_or_else(|| tributary_client::DEFAULT_URL.into());
	let arg = |i: usize, default: usize| -> Result<usize> {
		args.get(i).map(|s| s.parse().context("counts are integers")).unwrap_or(Ok(default))
	};
	let (accounts, per_account, flood) = (arg(2, 100)?, arg(3, 10)?, arg(4, 10_000)?);

	let client = Client::connect(&url).await?;
	let load = Load {
		api: client.api().clone(),
		legacy: LegacyRpcMethods::new(RpcClient::from_url(&url).await?),
		seen: Default::default(),
	};
	tokio::spawn(track(load.api.clone(), load.seen.clone()));
	let alice = Key::from_suri("//Alice")?;
	let keys: Vec<Key> = (0..accounts)
		.map(|i| Key::from_suri(&format!("//chain-load//{i}")))
		.collect::<Result<_, _>>()?;
	let mut nonces = vec![0u64; accounts];

	// A datanet per phase, created by Alice.
	let new_datanet = |name: &str, items: u32| NewDatanet {
		name: name.into(),
		description: "chain load".into(),
		modality: ModalityArg::Text,
		formats: vec!["txt".into()],
		curators: vec![Key::from_suri("//Bob").expect("dev key").account_id()],
		rules: load_rules(items),
	};
	let steady = client.create_datanet(&alice, &new_datanet("load-steady", 1_000)).await?;
	let flooded = client.create_datanet(&alice, &new_datanet("load-flood", 100_000)).await?;
	// Fund the accounts. (Alice's datanets come first: the client signs at the finalized nonce.)
	let mut alice_nonce = load.legacy.system_account_next_index(&alice.account_id()).await?;
	let mut funding = Vec::new();
	for k in &keys {
		let call = chain::tx()
			.balances()
			.transfer_keep_alive(MultiAddress::Id(k.account_id()), 1_000 * UNIT);
		funding.push(load.sign(&call, &alice, alice_nonce)?);
		alice_nonce += 1;
	}
	let (funded, _) = load.run(funding).await;
	require_all_included("funding", &funded)?;
	println!("{accounts} accounts funded; datanets {steady} and {flooded}; {url}");

	// 1a. Transfers.
	let sink = MultiAddress::<AccountId32, ()>::Id(alice.account_id());
	let mut txs = Vec::new();
	for (i, k) in keys.iter().enumerate() {
		for _ in 0..per_account {
			let call = chain::tx().balances().transfer_keep_alive(sink.clone(), UNIT);
			txs.push(load.sign(&call, k, nonces[i])?);
			nonces[i] += 1;
		}
	}
	let (transfers, t_start) = load.run(txs).await;
	require_all_included("transfers", &transfers)?;
	let (transfer_rate, n_transfers) = rate(&transfers, t_start);

	// 1b. Contributions: commitments, then reveals once they are in a block.
	let decl = |i: usize, n: usize, tag: &str| (content_hash(tag, i, n), 64u64 + n as u64);
	let commit_txs = |tag: &str, from: usize, to: usize, datanet: u32, nonces: &mut [u64]| {
		let mut txs = Vec::new();
		for (i, k) in keys.iter().enumerate() {
			for n in from..to {
				let (hash, _) = decl(i, n, tag);
				let c = contribution_commitment(datanet, &hash, &k.account_id());
				let call = chain::tx().datanets().commit_contribution(c);
				txs.push(load.sign(&call, k, nonces[i])?);
				nonces[i] += 1;
			}
		}
		anyhow::Ok(txs)
	};
	// `items[i]`: the numbers of account `i`'s items to reveal.
	let reveal_txs = |tag: &str, items: &[Vec<usize>], datanet: u32, nonces: &mut [u64]| {
		let mut txs = Vec::new();
		for (i, k) in keys.iter().enumerate() {
			for &n in &items[i] {
				let (hash, bytes) = decl(i, n, tag);
				let call = reveal(datanet, hash, bytes);
				txs.push(load.sign(&call, k, nonces[i])?);
				nonces[i] += 1;
			}
		}
		anyhow::Ok(txs)
	};
	let (commits, c_start) =
		load.run(commit_txs("steady", 0, per_account, steady, &mut nonces)?).await;
	require_all_included("commitments", &commits)?;
	let every: Vec<Vec<usize>> = vec![(0..per_account).collect(); accounts];
	let (reveals, _) = load.run(reveal_txs("steady", &every, steady, &mut nonces)?).await;
	require_all_included("reveals", &reveals)?;
	let both: Vec<Outcome> = commits.into_iter().chain(reveals).collect();
	let (contribution_rate, n_contribution_txs) = rate(&both, c_start);
	println!(
		"transfers:     {n_transfers} included, {transfer_rate:.1} extrinsics/s\n\
		 contributions: {} (commit + reveal: {n_contribution_txs} extrinsics), \
		 {contribution_rate:.1} extrinsics/s, {:.1} contributions/s",
		n_contribution_txs / 2,
		contribution_rate / 2.0
	);
	println!(
		"ratio (contribution extrinsics/s over transfers/s): {:.2}x (goal 0.8x)",
		contribution_rate / transfer_rate
	);

	// 2. The flood, in waves of at most 50 contributions per account.
	let per = flood.div_ceil(accounts);
	let mut tally: BTreeMap<String, usize> = BTreeMap::new();
	let (mut included, mut lost, mut accounted) = (0usize, 0usize, 0usize);
	let f_start = Instant::now();
	let mut last_in = f_start;
	let mut from = 0;
	while from < per {
		let to = (from + 50).min(per);
		let (commits, _) = load.run(commit_txs("flood", from, to, flooded, &mut nonces)?).await;
		// Reveal only what was committed; each account's nonces follow its included commitments.
		let mut ok = vec![Vec::new(); accounts];
		for (k, o) in commits.iter().enumerate() {
			let (i, n) = (k / (to - from), from + k % (to - from));
			match o {
				Outcome::Included(_) => ok[i].push(n),
				Outcome::Failed(e) => *tally.entry(format!("commit failed: {e}")).or_default() += 1,
				Outcome::Refused(e) => {
					*tally.entry(format!("commit refused: {e}")).or_default() += 1
				}
				Outcome::Lost => lost += 1,
			}
		}
		// A refused commitment never used its nonce: start each account again from the chain.
		nonces = load.next_nonces(&keys).await?;
		let (reveals, _) = load.run(reveal_txs("flood", &ok, flooded, &mut nonces)?).await;
		for o in &reveals {
			match o {
				Outcome::Included(at) => {
					included += 1;
					last_in = last_in.max(*at);
				}
				Outcome::Failed(e) => *tally.entry(format!("reveal failed: {e}")).or_default() += 1,
				Outcome::Refused(e) => {
					*tally.entry(format!("reveal refused: {e}")).or_default() += 1
				}
				Outcome::Lost => lost += 1,
			}
		}
		accounted += commits.len();
		nonces = load.next_nonces(&keys).await?;
		from = to;
	}
	let refused: usize = tally.values().sum();
	println!(
		"flood: {accounted} contributions from {accounts} accounts: {included} included \
		 ({:.1}/s), {refused} refused, {lost} lost",
		included as f64 / last_in.duration_since(f_start).as_secs_f64().max(1e-3)
	);
	for (why, n) in &tally {
		println!("  {n:>6}  {why}");
	}
	if included + refused + lost != accounted {
		bail!("{accounted} sent but {} accounted for", included + refused + lost);
	}
	if lost > 0 {
		bail!("{lost} contributions were neither included nor refused");
	}
	Ok(())
}
