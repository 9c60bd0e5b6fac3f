// `tributary-worker`: the off-chain daemon. See `tributary-worker --help`. (A plain comment: the
// test-only falsifier binary includes this file.)

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use data_plane::{
	fetch, load_or_create_identity, Admission, ContentStore, DataNode, FetchOptions, NetConfig,
	PushLimits,
};
use libp2p::{multiaddr::Protocol, Multiaddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tributary_client::training::JobState;
use tributary_client::{keys::Keystore, Client, DEFAULT_URL};
use tributary_worker::curator::{Curator, CuratorConfig};
use tributary_worker::factory;
use tributary_worker::jobs::progress::{self, ProgressHub};
use tributary_worker::jobs::runner::{JobRunner, RunnerConfig};
use tributary_worker::jobs::training::reproduce;
use tributary_worker::jobs::verifier::Verifier;
use tributary_worker::journal::Journal;
use tributary_worker::vouch::ChainVouch;

#[derive(Parser)]
#[command(
	name = "tributary-worker",
	version,
	about = "Tributary compute worker: data peer, curator agent and ModelFactory (train, chat, merge, inspect)"
)]
struct Cli {
	/// Where the worker keeps its identity, content store and journal.
	#[arg(long, global = true, env = "TRIBUTARY_WORKER_HOME")]
	data_dir: Option<PathBuf>,
	/// Address to listen on (repeatable). Default: TCP and QUIC on 127.0.0.1, ports chosen by the OS.
	#[arg(long, global = true)]
	listen: Vec<Multiaddr>,
	/// Peer to connect to at start, ending in /p2p/<peer id> (repeatable).
	#[arg(long, global = true, env = "TRIBUTARY_PEERS", value_delimiter = ',')]
	bootstrap: Vec<Multiaddr>,
	/// An address others reach this worker at (public IP or DNS name, and port; repeatable). On a
	/// public network the worker serves the DHT only once it has one.
	#[arg(long, global = true)]
	external_address: Vec<Multiaddr>,
	/// Content store budget in bytes; unpinned content is evicted beyond it.
	#[arg(long, global = true, default_value_t = 10 << 30)]
	store_budget: u64,
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// Fine-tune a LoRA or QLoRA adapter on text or instruction data (CPU), with live loss.
	Train(factory::TrainArgs),
	/// Chat with a model, with or without an adapter (one-shot with --prompt, else interactive).
	Chat(factory::ChatArgs),
	/// Fold an adapter into its base model, writing a plain model folder.
	Merge(factory::MergeArgs),
	/// Facts about a model folder, GGUF file or adapter.
	Inspect(factory::InspectArgs),
	/// Serve a base model and adapters trained on it through OpenAI's API (`/v1/chat/completions`,
	/// `/v1/completions`, `/v1/models`; streaming as Server-Sent Events).
	Api(tributary_worker::serve::ServeArgs),
	/// Run the worker: serve and fetch content, take uploads, curate with a curator key, and run
	/// training jobs with a jobs key.
	Run {
		/// Node RPC endpoint.
		#[arg(long, env = "TRIBUTARY_URL", default_value = DEFAULT_URL)]
		url: String,
		/// Curator key (keystore name or secret URI). Without it the worker only serves data.
		#[arg(long, env = "TRIBUTARY_CURATOR_KEY")]
		curator_key: Option<String>,
		/// Keystore directory for --curator-key names.
		#[arg(long, env = "TRIBUTARY_KEYSTORE")]
		keystore: Option<PathBuf>,
		/// Worker key (keystore name or secret URI) to run training jobs with: a registered, bonded
		/// worker (`tributary worker register`). Without it the worker runs no jobs.
		#[arg(long, env = "TRIBUTARY_JOBS_KEY")]
		jobs_key: Option<String>,
		/// Also check other workers' results with the jobs key: join every open spot check, re-run
		/// the job and vote (docs/attribution.md). Costs one re-run per result; the bond is at
		/// stake for a wrong vote or a missed step.
		#[arg(long, requires = "jobs_key")]
		verify: bool,
		/// Milliseconds between heartbeats of a running job (keep well inside the chain's lease).
		#[arg(long, default_value_t = 30_000)]
		heartbeat_ms: u64,
		/// Serve running jobs' progress as Server-Sent Events on this address (`GET /jobs/<id>/events`).
		#[arg(long, default_value = "127.0.0.1:0")]
		progress_listen: std::net::SocketAddr,
		/// The URL others reach the progress server at, published on chain as this worker's endpoint
		/// (so `tributary job watch` finds it). Default: `http://` + the progress address, unless that
		/// is a wildcard address (0.0.0.0 or ::), which names no host: then nothing is published.
		#[arg(long)]
		public_url: Option<String>,
		/// Save a training checkpoint every this many steps (a restarted worker resumes from it).
		#[arg(long, default_value_t = 10)]
		checkpoint_every: usize,
		/// Curate only this datanet (repeatable; default: every datanet the key curates).
		#[arg(long)]
		datanet: Vec<u32>,
		/// How often to look for new contributions, in milliseconds, when the node offers no
		/// subscription to finalized blocks (with one, the curator acts at each block).
		#[arg(long, default_value_t = 1000)]
		poll_ms: u64,
		/// Seconds without progress before one fetch attempt is abandoned.
		#[arg(long, default_value_t = 20)]
		fetch_timeout: u64,
		/// Fetch attempts before a contribution is left to other curators (never voted down), and
		/// before a job whose data cannot be fetched is refused (never claimed).
		#[arg(long, default_value_t = 3)]
		fetch_attempts: u32,
		/// Seconds to wait before retry n (multiplied by n).
		#[arg(long, default_value_t = 30)]
		retry_backoff: u64,
	},
	/// Re-run a job's training from its chain record (base, dataset version, parameters) and check
	/// that the adapter's hash matches the one its worker submitted. Exits non-zero on a mismatch.
	Reproduce {
		/// The job id.
		job: u64,
		/// Node RPC endpoint.
		#[arg(long, env = "TRIBUTARY_URL", default_value = DEFAULT_URL)]
		url: String,
		/// Keep the re-trained adapter (PEFT folder) here; default: a temporary folder.
		#[arg(long)]
		out: Option<PathBuf>,
		/// Seconds without progress before a fetch is abandoned.
		#[arg(long, default_value_t = 60)]
		fetch_timeout: u64,
	},
	/// Import files into the store and serve them until stopped (no chain needed).
	Serve { files: Vec<PathBuf> },
	/// Fetch one blob by its BLAKE3 hash, verified, optionally copying it out.
	Fetch {
		/// 0x-prefixed or bare hex BLAKE3 hash.
		hash: String,
		/// Write the bytes here.
		#[arg(long)]
		out: Option<PathBuf>,
		/// Seconds without progress before giving up.
		#[arg(long, default_value_t = 60)]
		timeout: u64,
	},
	/// Check a file as a curator would (format, limits, decoding), without the chain.
	Check {
		file: PathBuf,
		#[arg(long)]
		format: Option<String>,
		#[arg(long, value_parser = ["text", "image", "audio"])]
		modality: String,
	},
	/// Print this worker's peer id.
	Id,
}

fn data_dir(cli: &Cli) -> PathBuf {
	cli.data_dir.clone().unwrap_or_else(|| {
		let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| ".".into());
		home.join(".tributary").join("worker")
	})
}

/// Starts the data peer; with `uploads_from`, a node URL, it takes the uploads that chain vouches for.
async fn start_node(cli: &Cli, uploads_from: Option<&str>) -> Result<DataNode> {
	let dir = data_dir(cli);
	let key = load_or_create_identity(&dir.join("identity.key"))?;
	let store = Arc::new(
		ContentStore::open(dir.join("store"), cli.store_budget)
			.with_context(|| format!("cannot open the content store in {}", dir.display()))?,
	);
	let mut cfg = NetConfig {
		bootstrap: cli.bootstrap.clone(),
		external: cli.external_address.clone(),
		..Default::default()
	};
	if !cli.listen.is_empty() {
		cfg.listen = cli.listen.clone();
	}
	let pushes = uploads_from.map(|url| -> Arc<dyn data_plane::PushHandler> {
		Admission::new(Arc::new(ChainVouch::new(url)), PushLimits::default())
	});
	let node = DataNode::start_with_pushes(key, store, cfg, pushes).await?;
	let addrs = node.listen_addrs().await;
	for a in &addrs {
		println!("listening on {a}");
	}
	// For scripts and tests: where to reach this worker.
	let info = serde_json::json!({
		"peer_id": node.peer_id().to_string(),
		"addrs": addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
	});
	// Written whole, then renamed: a script or test that sees the file can read all of it.
	let tmp = dir.join("worker.json.partial");
	std::fs::write(&tmp, serde_json::to_vec_pretty(&info)?)?;
	std::fs::rename(&tmp, dir.join("worker.json"))?;
	Ok(node)
}

fn parse_hash(s: &str) -> Result<[u8; 32]> {
	let b = hex::decode(s.trim_start_matches("0x")).context("the hash is not hex")?;
	b.try_into().map_err(|_| anyhow::anyhow!("a BLAKE3 hash has 32 bytes (64 hex digits)"))
}

async fn wait_for_ctrl_c() {
	let _ = tokio::signal::ctrl_c().await;
}

async fn run(cli: Cli) -> Result<()> {
	match &cli.command {
		// Compute-bound: off the async runtime's worker threads.
		Command::Train(a) => {
			tokio::task::block_in_place(|| model_factory::on_compute_pool(|| factory::train(a)))
		}
		Command::Chat(a) => {
			tokio::task::block_in_place(|| model_factory::on_compute_pool(|| factory::chat(a)))
		}
		Command::Merge(a) => tokio::task::block_in_place(|| factory::merge(a)),
		Command::Inspect(a) => tokio::task::block_in_place(|| factory::inspect(a)),
		Command::Api(a) => {
			let chain = match a.base {
				Some(_) => Some(tributary_worker::serve::ChainContext {
					client: Client::connect(&a.url).await?,
					node: start_node(&cli, None).await?,
					data_dir: data_dir(&cli),
				}),
				None => None,
			};
			tributary_worker::serve::serve(a.clone(), chain).await
		}
		Command::Id => {
			let key = load_or_create_identity(&data_dir(&cli).join("identity.key"))?;
			println!("{}", key.public().to_peer_id());
			Ok(())
		}
		Command::Check { file, format, modality } => {
			let bytes =
				std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
			let decl = tributary_client::content::declare(file, format.as_deref())?;
			let modality = match modality.as_str() {
				"text" => content_check::Modality::Text,
				"image" => content_check::Modality::Image,
				_ => content_check::Modality::Audio,
			};
			let allowed = vec![decl.format.clone()];
			let d = content_check::Declared {
				hash: decl.hash,
				size: decl.bytes,
				format: &decl.format,
				modality,
				allowed: &allowed,
			};
			match content_check::check(&bytes, &d, &Default::default()) {
				Ok(found) => {
					println!("ok: {}", serde_json::to_string(&summary(&found))?);
					Ok(())
				}
				Err(reason) => match reason.code() {
					Some(code) => bail!("would be rejected ({code:?}): {reason}"),
					None => bail!("cannot be checked automatically: {reason}"),
				},
			}
		}
		Command::Reproduce { job, url, out, fetch_timeout } => {
			model_factory::tune_process_for_training();
			let client = Client::connect(url).await?;
			let view = client.job(*job).await?;
			let (submitted, commitment) = match &view.state {
				JobState::Submitted { adapter_hash, attribution, .. } => {
					(*adapter_hash, *attribution)
				}
				JobState::Finalized { model, attribution, .. } => {
					(client.model(*model).await?.adapter_hash, *attribution)
				}
				other => bail!("job {job} has no result yet ({other:?})"),
			};
			let node = start_node(&cli, None).await?;
			let cfg = RunnerConfig {
				fetch_timeout: Duration::from_secs(*fetch_timeout),
				work_dir: data_dir(&cli).join("work"),
				..Default::default()
			};
			let tmp = tempfile::tempdir()?;
			let dir = out.clone().unwrap_or_else(|| tmp.path().join("adapter"));
			let r = reproduce(&client, &node, &cfg, &view, &dir).await?;
			let (hash, bytes) = (r.adapter_hash, r.adapter_bytes);
			println!("job {job}: re-trained adapter 0x{} ({bytes} bytes)", hex::encode(hash));
			if hash != submitted {
				bail!(
					"MISMATCH: the worker submitted 0x{}; this run gives 0x{} (same thread count? \
					 see docs/jobs.md on determinism)",
					hex::encode(submitted),
					hex::encode(hash)
				);
			}
			println!("match: the submitted adapter is reproduced bit for bit");
			let table_bytes = r.table.to_bytes();
			let mine = r.table.commitment(&table_bytes);
			if mine != commitment {
				if let Some(out) = out {
					std::fs::write(out.join("payout_table.json"), &table_bytes)?;
				}
				bail!(
					"MISMATCH: the payout table differs: the worker committed root 0x{} over {} \
					 leaves (total {}); this run gives root 0x{} over {} leaves (total {})",
					hex::encode(commitment.root),
					commitment.leaves,
					commitment.total,
					hex::encode(mine.root),
					mine.leaves,
					mine.total
				);
			}
			println!("match: the payout table is reproduced (root 0x{})", hex::encode(mine.root));
			Ok(())
		}
		Command::Serve { files } => {
			let node = start_node(&cli, None).await?;
			for f in files {
				let (hash, ob) = node.store().import_file(f)?;
				node.store().pin(&hash, "serve", None)?;
				node.provide(hash, ob.size);
				println!(
					"serving 0x{} ({} bytes) from {}",
					hex::encode(hash),
					ob.size,
					f.display()
				);
			}
			wait_for_ctrl_c().await;
			Ok(())
		}
		Command::Fetch { hash, out, timeout } => {
			let hash = parse_hash(hash)?;
			let node = start_node(&cli, None).await?;
			let hints = cli
				.bootstrap
				.iter()
				.filter_map(|a| {
					a.iter().find_map(|p| match p {
						Protocol::P2p(id) => Some(id),
						_ => None,
					})
				})
				.collect();
			let (tx, mut rx) =
				tokio::sync::mpsc::unbounded_channel::<data_plane::fetch::Progress>();
			let opts = FetchOptions {
				providers: hints,
				give_up_after: Duration::from_secs(*timeout),
				progress: Some(tx),
				..Default::default()
			};
			let printer = tokio::spawn(async move {
				while let Some(p) = rx.recv().await {
					if p.have % 16 == 0 || p.have == p.groups {
						println!("progress {}/{} groups", p.have, p.groups);
					}
				}
			});
			let r = fetch(&node, hash, opts).await;
			let _ = printer.await;
			let r = r?;
			let secs = r.elapsed.as_secs_f64();
			println!(
				"fetched 0x{} ({} bytes, {} groups, {} resumed) in {secs:.2} s: {:.1} MiB/s",
				hex::encode(hash),
				r.size,
				r.groups,
				r.resumed,
				r.size as f64 / (1 << 20) as f64 / secs.max(1e-9)
			);
			for (peer, n) in &r.received {
				println!("  {n} groups from {peer}");
			}
			if let Some(out) = out {
				std::fs::copy(node.store().blob_path(&hash), out)
					.with_context(|| format!("cannot write {}", out.display()))?;
			}
			Ok(())
		}
		Command::Run {
			url,
			curator_key,
			keystore,
			jobs_key,
			verify,
			heartbeat_ms,
			progress_listen,
			public_url,
			checkpoint_every,
			datanet,
			poll_ms,
			fetch_timeout,
			fetch_attempts,
			retry_backoff,
		} => {
			let node = start_node(&cli, Some(url)).await?;
			if curator_key.is_none() && jobs_key.is_none() {
				tracing::info!("no curator or jobs key: serving data only");
				wait_for_ctrl_c().await;
				return Ok(());
			}
			let ks = Keystore::open(keystore.clone().unwrap_or_else(Keystore::default_dir));
			let curator = match curator_key {
				Some(name) => {
					let key = ks.resolve(name)?;
					let client = Client::connect(url).await?;
					// A curator's votes count only with a bond: say so now, not at every vote.
					if !client.curator_bond(&key.account_id()).await?.is_some_and(|b| b.active) {
						anyhow::bail!(
							"{} holds no curator bond, so the chain would refuse its votes: run \
							 `tributary curator bond --key {name}` first",
							key.ss58()
						);
					}
					let journal =
						Journal::open(data_dir(&cli).join(format!("curator-{}.json", key.ss58())))?;
					let cfg = CuratorConfig {
						datanets: (!datanet.is_empty()).then(|| datanet.clone()),
						poll: Duration::from_millis(*poll_ms),
						fetch_timeout: Duration::from_secs(*fetch_timeout),
						max_fetch_attempts: *fetch_attempts,
						retry_backoff: Duration::from_secs(*retry_backoff),
						..Default::default()
					};
					Some(Curator::new(client, key, node.clone(), journal, cfg))
				}
				None => None,
			};
			let runner = match jobs_key {
				Some(name) => {
					// The same allocator and thread-pool settings as `train` (without them a job
					// trains about 25% slower than the same training run alone).
					model_factory::tune_process_for_training();
					let key = ks.resolve(name)?;
					let client = Client::connect(url).await?;
					let mut cfg = RunnerConfig {
						poll: Duration::from_millis(*poll_ms),
						heartbeat_every: Duration::from_millis(*heartbeat_ms),
						fetch_timeout: Duration::from_secs(*fetch_timeout),
						checkpoint_every: *checkpoint_every,
						work_dir: data_dir(&cli).join("work"),
						public_url: None,
						prepare_attempts: *fetch_attempts,
						retry_backoff: Duration::from_secs(*retry_backoff),
						..Default::default()
					};
					let hub = ProgressHub::default();
					let listener = tokio::net::TcpListener::bind(progress_listen)
						.await
						.with_context(|| format!("cannot listen on {progress_listen}"))?;
					let at = listener.local_addr()?;
					println!("progress on http://{at}/jobs");
					if let Some(u) = public_url {
						// The chain's own check: a URL it would refuse fails here, at start.
						if !pallet_workers::is_valid_endpoint(u.as_bytes()) {
							bail!(
								"--public-url {u:?}: give an http:// or https:// URL with a host"
							);
						}
					}
					cfg.public_url = public_url
						.clone()
						.or_else(|| (!at.ip().is_unspecified()).then(|| format!("http://{at}")));
					let tmp = data_dir(&cli).join("progress.url.partial");
					std::fs::write(&tmp, format!("http://{at}"))?;
					std::fs::rename(&tmp, data_dir(&cli).join("progress.url"))?;
					tokio::spawn(progress::serve(listener, hub.clone()));
					let verifier = if *verify {
						let client = Client::connect(url).await?;
						Some(Verifier::new(client, key.clone(), node.clone(), cfg.clone()))
					} else {
						None
					};
					Some((JobRunner::new(client, key, node.clone(), cfg, hub), verifier))
				}
				None => None,
			};
			let (runner, verifier) = match runner {
				Some((r, v)) => (Some(r), v),
				None => (None, None),
			};
			let check = async move {
				match verifier {
					Some(v) => v.run().await,
					None => std::future::pending().await,
				}
			};
			let curate = async move {
				match curator {
					Some(c) => c.run().await,
					None => std::future::pending().await,
				}
			};
			let train = async move {
				match runner {
					Some(r) => r.run().await,
					None => std::future::pending().await,
				}
			};
			tokio::select! {
				_ = curate => Ok(()),
				_ = train => Ok(()),
				_ = check => Ok(()),
				_ = wait_for_ctrl_c() => Ok(()),
			}
		}
	}
}

fn summary(c: &content_check::Checked) -> serde_json::Value {
	match c {
		content_check::Checked::Text { chars, records, .. } => {
			serde_json::json!({ "chars": chars, "records": records })
		}
		other => serde_json::to_value(other).unwrap_or_default(),
	}
}

#[tokio::main]
async fn main() {
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env()
				.unwrap_or_else(|_| "info,libp2p=warn".into()),
		)
		.with_writer(std::io::stderr)
		// Colour codes only on a terminal: logs kept in files or read by scripts stay plain.
		.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
		.init();
	if let Err(e) = run(Cli::parse()).await {
		eprintln!("error: {e:#}");
		std::process::exit(1);
	}
}
