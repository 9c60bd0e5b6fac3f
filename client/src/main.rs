//! `tributary`: the command line for contributors, curators, datanet owners, workers, model builders
//! and token holders.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;
mod account_cmd;
mod curator_cmd;
mod datanet_cmd;
mod fees_cmd;
mod rewards_cmd;
mod training_cmd;
mod validator_cmd;

use curator_cmd::CuratorCmd;
use datanet_cmd::DatanetCmd;
use fees_cmd::FeesCmd;
use rewards_cmd::RewardsCmd;
use training_cmd::{BaseCmd, JobCmd, ModelCmd, WorkerCmd};
use tributary_client::{
	client::{Decision, RejectArg, VoteArg, Wait},
	content,
	keys::{Key, Keystore},
	Client, DEFAULT_URL,
};
use validator_cmd::ValidatorCmd;

/// Tributary: contribute data to datanets, curate it, follow the leaderboard, and train models on it.
#[derive(Parser)]
#[command(name = "tributary", version, about)]
struct Cli {
	/// Node RPC endpoint.
	#[arg(long, global = true, env = "TRIBUTARY_URL", default_value = DEFAULT_URL)]
	url: String,
	/// Signing key: a name in the keystore, or a secret URI (phrase, 0x seed, //Dev path).
	#[arg(long, global = true, env = "TRIBUTARY_KEY")]
	key: Option<String>,
	/// Keystore directory (default: $TRIBUTARY_HOME/keys or ~/.tributary/keys).
	#[arg(long, global = true, env = "TRIBUTARY_KEYSTORE")]
	keystore: Option<PathBuf>,
	/// Return once a transaction is in a block instead of waiting for finality.
	#[arg(long, global = true)]
	no_wait_finality: bool,
	/// Print results as JSON.
	#[arg(long, global = true)]
	json: bool,
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// Create, import and inspect sr25519 keys.
	#[command(subcommand)]
	Key(KeyCmd),
	/// Create and read datanets.
	#[command(subcommand)]
	Datanet(DatanetCmd),
	/// Declare a file as a contribution to a datanet (BLAKE3 hash, size, format), signed with --key:
	/// commit to it, reveal it in a later block, then send the bytes to the data peers. Run again
	/// for a contribution of yours still pending to send its bytes again.
	Contribute {
		/// The file to contribute.
		file: PathBuf,
		#[arg(long)]
		datanet: u32,
		/// Format to declare instead of the file's extension.
		#[arg(long)]
		format: Option<String>,
		/// Free-form metadata stored with the contribution (e.g. JSON: language, source, licence).
		#[arg(long, default_value = "")]
		metadata: String,
		/// Data peer to upload the bytes to once the contribution is on chain, ending in
		/// /p2p/<peer id> (repeatable, or comma-separated in TRIBUTARY_PEERS). Nothing goes on chain
		/// unless one is reachable; the command waits until at least one peer holds the bytes.
		#[arg(long = "peer", env = "TRIBUTARY_PEERS", value_delimiter = ',')]
		peers: Vec<libp2p::Multiaddr>,
		/// Seconds to wait for the peers to confirm the upload.
		#[arg(long, default_value_t = 600)]
		upload_timeout: u64,
	},
	/// A curator's bond: votes count only while one is held.
	#[command(subcommand)]
	Curator(CuratorCmd),
	/// Vote on a pending contribution as a curator (signed with --key; needs a curator bond).
	Vote {
		contribution: u64,
		#[arg(value_parser = ["approve", "reject"])]
		verdict: String,
		/// Why, when rejecting: malformed, hash-mismatch, off-topic, duplicate, low-quality,
		/// policy, or other:<code>.
		#[arg(long)]
		reason: Option<RejectArg>,
	},
	/// Show one contribution and where it stands.
	Contribution { id: u64 },
	/// Remove a rejected, expired or superseded contribution's record and release its record
	/// deposit (signed with --key: its contributor, or anyone once its datanet can be cleared).
	RemoveContribution { id: u64 },
	/// Leaderboard of a datanet (or of all datanets): rank by accepted contributions.
	Leaderboard {
		#[arg(long)]
		datanet: Option<u32>,
		#[arg(long, default_value_t = 20)]
		limit: u32,
		#[arg(long, default_value_t = 0)]
		offset: u32,
	},
	/// Node, chain and (with --key) account status.
	Status,
	/// An account's balance: free, held (deposits, bonds) and frozen (--key's account, or the
	/// address given).
	Balance { address: Option<String> },
	/// Send TRIB to an address, signed with --key (never leaves --key's account below the
	/// existential deposit).
	Transfer {
		to: String,
		/// In TRIB, e.g. 1.5.
		amount: String,
	},
	/// Register, inspect and retire compute workers.
	#[command(subcommand)]
	Worker(WorkerCmd),
	/// List and inspect base models.
	#[command(subcommand)]
	Base(BaseCmd),
	/// Open, follow and cancel training jobs.
	#[command(subcommand)]
	Job(JobCmd),
	/// Trained models and their lineage.
	#[command(subcommand)]
	Model(ModelCmd),
	/// The validator set: list it, set session keys, and (as root) add or remove validators.
	#[command(subcommand)]
	Validator(ValidatorCmd),
	/// Rewards: datanets' splits, jobs' pools and payout tables, pending rewards and claims.
	#[command(subcommand)]
	Rewards(RewardsCmd),
	/// Fees for answers: workers' prices, tabs with a serving worker, vouchers.
	#[command(subcommand)]
	Fees(FeesCmd),
}

#[derive(Subcommand)]
enum KeyCmd {
	/// Generate a new key; --name stores it in the keystore.
	Generate {
		#[arg(long)]
		name: Option<String>,
		#[arg(long, default_value_t = 12)]
		words: usize,
	},
	/// Show the public facts of a secret URI or a stored key.
	Inspect {
		/// Secret URI or stored key name.
		key: String,
	},
	/// Store an existing secret URI or phrase under a name (read from stdin when not given).
	Import {
		#[arg(long)]
		name: String,
		suri: Option<String>,
	},
	/// List stored keys.
	List,
}

#[tokio::main]
async fn main() {
	let cli = Cli::parse();
	if let Err(e) = run(cli).await {
		eprintln!("error: {e:#}");
		std::process::exit(1);
	}
}

fn keystore(cli: &Cli) -> Keystore {
	Keystore::open(cli.keystore.clone().unwrap_or_else(Keystore::default_dir))
}

fn signer(cli: &Cli) -> Result<Key> {
	let name = cli
		.key
		.as_deref()
		.context("this command signs a transaction: pass --key NAME|SURI or set TRIBUTARY_KEY")?;
	Ok(keystore(cli).resolve(name)?)
}

async fn connect(cli: &Cli) -> Result<Client> {
	let wait = if cli.no_wait_finality { Wait::InBlock } else { Wait::Finalized };
	Ok(Client::connect(&cli.url).await?.with_wait(wait))
}

/// A short-lived data node for the CLI: a temporary store with room for `bytes` (removed when the
/// returned folder drops), connected to `peers`. Returns the peers reached; unreachable ones are
/// reported as warnings.
async fn ephemeral_node(
	bytes: u64,
	peers: &[libp2p::Multiaddr],
) -> Result<(tempfile::TempDir, data_plane::DataNode, Vec<libp2p::PeerId>)> {
	let dir = tempfile::tempdir()?;
	let store = std::sync::Arc::new(data_plane::ContentStore::open(dir.path(), bytes + (1 << 20))?);
	let cfg = data_plane::NetConfig { listen: vec![], ..Default::default() };
	let node =
		data_plane::DataNode::start(libp2p::identity::Keypair::generate_ed25519(), store, cfg)
			.await?;
	let mut ids = Vec::new();
	for p in peers {
		match node.dial(p.clone()).await {
			Ok(id) => ids.push(id),
			Err(e) => eprintln!("warning: {e}"),
		}
	}
	Ok((dir, node, ids))
}

/// Data peers reached for an upload, before anything goes on chain.
struct Uploader {
	_dir: tempfile::TempDir,
	node: data_plane::DataNode,
	ids: Vec<libp2p::PeerId>,
}

/// Dials the data peers; refuses when none answers (so nothing is submitted for bytes nobody
/// will hold).
async fn reach_peers(bytes: u64, peers: &[libp2p::Multiaddr]) -> Result<Uploader> {
	let (dir, node, ids) = ephemeral_node(bytes, peers).await?;
	if ids.is_empty() {
		bail!("none of the {} data peer(s) could be reached; nothing was submitted", peers.len());
	}
	Ok(Uploader { _dir: dir, node, ids })
}

/// Pushes `file` to the reached peers under `voucher` (the on-chain record that declares it) and
/// waits until at least one holds it (verified); returns how many do. The CLI serves the bytes
/// itself, from a temporary store, only while the peers fetch them.
async fn upload(
	up: Uploader,
	file: &std::path::Path,
	decl: &content::FileDeclaration,
	voucher: data_plane::Voucher,
	timeout: Duration,
) -> Result<usize> {
	let Uploader { _dir, node, ids } = up;
	let (hash, results) = data_plane::upload(&node, file, &ids, voucher, timeout).await?;
	if hash != decl.hash {
		bail!("{} changed since it was declared: its declared bytes are gone", file.display());
	}
	for (peer, r) in &results {
		if let Err(e) = r {
			eprintln!("warning: upload to {peer} failed: {e}");
		}
	}
	node.shutdown();
	Ok(results.iter().filter(|(_, r)| r.is_ok()).count())
}

/// An account from its SS58 address.
fn ss58(s: &str) -> Result<subxt::utils::AccountId32> {
	s.parse().with_context(|| format!("`{s}` is not an SS58 address"))
}

fn print_json(v: &impl serde::Serialize) {
	println!("{}", serde_json::to_string_pretty(v).expect("serializable"));
}

/// Plancks as TRIB with 12 decimals, trailing zeros trimmed.
fn trib(plancks: u128) -> String {
	let whole = plancks / 1_000_000_000_000;
	let frac = plancks % 1_000_000_000_000;
	if frac == 0 {
		return format!("{whole} TRIB");
	}
	let frac = format!("{frac:012}");
	format!("{whole}.{} TRIB", frac.trim_end_matches('0'))
}

fn table(header: &[&str], rows: &[Vec<String>]) -> String {
	let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
	for r in rows {
		for (w, c) in widths.iter_mut().zip(r) {
			*w = (*w).max(c.chars().count());
		}
	}
	let line = |cells: Vec<String>| {
		cells
			.iter()
			.zip(&widths)
			.map(|(c, w)| format!("{c:<w$}"))
			.collect::<Vec<_>>()
			.join("  ")
			.trim_end()
			.to_string()
	};
	let mut out = vec![line(header.iter().map(|h| h.to_string()).collect())];
	out.push(widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
	out.extend(rows.iter().map(|r| line(r.clone())));
	out.join("\n")
}

async fn run(cli: Cli) -> Result<()> {
	match &cli.command {
		Command::Key(cmd) => run_key(&cli, cmd),
		Command::Datanet(cmd) => datanet_cmd::run_datanet(&cli, cmd).await,
		Command::Worker(cmd) => training_cmd::run_worker(&cli, cmd).await,
		Command::Base(cmd) => training_cmd::run_base(&cli, cmd).await,
		Command::Job(cmd) => training_cmd::run_job(&cli, cmd).await,
		Command::Model(cmd) => training_cmd::run_model(&cli, cmd).await,
		Command::Validator(cmd) => validator_cmd::run_validator(&cli, cmd).await,
		Command::Curator(cmd) => curator_cmd::run_curator(&cli, cmd).await,
		Command::Balance { address } => account_cmd::balance(&cli, address.as_deref()).await,
		Command::Transfer { to, amount } => account_cmd::transfer(&cli, to, amount).await,
		Command::Rewards(cmd) => rewards_cmd::run_rewards(&cli, cmd).await,
		Command::Fees(cmd) => fees_cmd::run_fees(&cli, cmd).await,
		Command::Contribute { file, datanet, format, metadata, peers, upload_timeout } => {
			let key = signer(&cli)?;
			let decl = content::declare(file, format.as_deref())?;
			let client = connect(&cli).await?;
			let uploader = if peers.is_empty() {
				eprintln!(
					"note: no --peer given, so the bytes stay here; curators need them from a data \
					 peer (see `tributary contribute --help`)"
				);
				None
			} else {
				Some(reach_peers(decl.bytes, peers).await?)
			};
			// A pending contribution of ours for these bytes: only send them again.
			let mine = match client.contribution_by_hash(*datanet, &decl.hash).await? {
				Some(id) => {
					let c = client.contribution(id).await?;
					(c.contributor == key.ss58() && c.decision == Decision::Pending).then_some(id)
				}
				None => None,
			};
			let id = match mine {
				Some(id) => {
					eprintln!("contribution {id} (yours, pending) already holds these bytes");
					id
				}
				None => client.contribute(&key, *datanet, &decl, metadata).await?,
			};
			let uploaded = match uploader {
				Some(up) => upload(
					up,
					file,
					&decl,
					data_plane::Voucher::Contribution(id),
					Duration::from_secs(*upload_timeout),
				)
				.await
				.with_context(|| format!("contribution {id} is on chain, but its upload failed"))?,
				None => 0,
			};
			if cli.json {
				print_json(&serde_json::json!({
					"contribution": id,
					"datanet": datanet,
					"hash": format!("0x{}", hex::encode(decl.hash)),
					"bytes": decl.bytes,
					"format": decl.format,
					"uploaded_to": uploaded,
				}));
			} else {
				println!("contribution {id} submitted to datanet {datanet}: pending curator votes");
				println!("  hash    0x{}", hex::encode(decl.hash));
				println!("  bytes   {}", decl.bytes);
				println!("  format  {}", decl.format);
				if uploaded > 0 {
					println!("  stored  on {uploaded} data peer(s)");
				}
			}
			Ok(())
		}
		Command::Vote { contribution, verdict, reason } => {
			let vote = match (verdict.as_str(), reason) {
				("approve", None) => VoteArg::Approve,
				("approve", Some(_)) => bail!("--reason goes with reject, not approve"),
				(_, Some(r)) => VoteArg::Reject(*r),
				(_, None) => bail!("rejecting needs --reason (e.g. --reason malformed)"),
			};
			let key = signer(&cli)?;
			let client = connect(&cli).await?;
			let decision = client.vote(&key, *contribution, vote).await?;
			if cli.json {
				print_json(&decision);
			} else {
				println!("voted on contribution {contribution}: now {decision:?}");
			}
			Ok(())
		}
		Command::Contribution { id } => {
			let c = connect(&cli).await?.contribution(*id).await?;
			if cli.json {
				print_json(&c);
			} else {
				println!("contribution {} in datanet {}", c.id, c.datanet);
				println!("  contributor  {}", c.contributor);
				println!("  hash         {}", c.content_hash);
				println!("  bytes        {}  format {}", c.bytes, c.format);
				println!("  votes        {} approve / {} reject", c.approvals, c.rejections);
				println!("  status       {:?}", c.decision);
				println!("  record held  {}", trib(c.record_deposit));
			}
			Ok(())
		}
		Command::RemoveContribution { id } => {
			let released = connect(&cli).await?.remove_contribution(&signer(&cli)?, *id).await?;
			if cli.json {
				print_json(&serde_json::json!({ "contribution": id, "released": released }));
			} else {
				println!("contribution {id} removed; {} released", trib(released));
			}
			Ok(())
		}
		Command::Leaderboard { datanet, limit, offset } => {
			let rows = connect(&cli).await?.leaderboard(*datanet, *offset, *limit).await?;
			if cli.json {
				print_json(&rows);
				return Ok(());
			}
			let title = match datanet {
				Some(d) => format!("Leaderboard of datanet {d}"),
				None => "Leaderboard of all datanets".to_string(),
			};
			println!("{title}");
			if rows.is_empty() {
				println!("(no contributors yet)");
				return Ok(());
			}
			let body: Vec<Vec<String>> = rows
				.iter()
				.map(|r| {
					vec![
						r.rank.to_string(),
						r.account.clone(),
						r.stats.accepted.to_string(),
						r.stats.accepted_bytes.to_string(),
						r.stats.submitted.to_string(),
						r.stats.rejected.to_string(),
						r.acceptance_rate_ppm
							.map(|p| format!("{:.1}%", p as f64 / 10_000.0))
							.unwrap_or_else(|| "-".into()),
					]
				})
				.collect();
			println!(
				"{}",
				table(
					&["RANK", "ACCOUNT", "ACCEPTED", "BYTES", "SUBMITTED", "REJECTED", "RATE"],
					&body
				)
			);
			Ok(())
		}
		Command::Status => {
			let client = connect(&cli).await?;
			let s = client.status().await?;
			let account = match &cli.key {
				Some(_) => {
					let key = signer(&cli)?;
					let free = client.free_balance(&key.account_id()).await?;
					let stats = client.contributor_stats(&key.account_id(), None).await?;
					Some((key.ss58(), free, stats))
				}
				None => None,
			};
			if cli.json {
				print_json(
					&serde_json::json!({ "node": s, "account": account.as_ref().map(|(a, f, st)| serde_json::json!({"address": a, "free": f.to_string(), "stats": st})) }),
				);
				return Ok(());
			}
			println!("node      {} {} at {}", s.node, s.version, s.url);
			println!("chain     {} (runtime spec {})", s.chain, s.spec_version);
			println!("blocks    best #{}  finalized #{}", s.best, s.finalized);
			println!("peers     {}{}", s.peers, if s.syncing { "  (syncing)" } else { "" });
			if let Some((address, free, st)) = account {
				println!("account   {address}");
				println!("balance   {}", trib(free));
				println!(
					"record    {} submitted, {} accepted ({} bytes), {} rejected",
					st.submitted, st.accepted, st.accepted_bytes, st.rejected
				);
			}
			Ok(())
		}
	}
}

fn run_key(cli: &Cli, cmd: &KeyCmd) -> Result<()> {
	let ks = keystore(cli);
	match cmd {
		KeyCmd::Generate { name, words } => {
			let (key, phrase) = Key::generate(*words)?;
			println!("{}", key.report(Some(&phrase)));
			if let Some(name) = name {
				let path = ks.save(name, &key)?;
				eprintln!("stored as `{name}` in {}", path.display());
			}
			Ok(())
		}
		KeyCmd::Inspect { key } => {
			let key = ks.resolve(key)?;
			println!("{}", key.report(None));
			Ok(())
		}
		KeyCmd::Import { name, suri } => {
			let suri = match suri {
				Some(s) => s.clone(),
				None => {
					let mut s = String::new();
					std::io::stdin().read_line(&mut s).context("reading the secret from stdin")?;
					s
				}
			};
			let key = Key::from_suri(&suri)?;
			let path = ks.save(name, &key)?;
			println!("stored `{name}` ({}) in {}", key.ss58(), path.display());
			Ok(())
		}
		KeyCmd::List => {
			let keys = ks.list()?;
			if keys.is_empty() {
				println!("no keys in {}", ks.dir().display());
			}
			for (name, address) in keys {
				println!("{name:<20} {address}");
			}
			Ok(())
		}
	}
}
