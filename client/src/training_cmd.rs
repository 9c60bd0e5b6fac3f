//! The `tributary` commands of the training loop: `worker`, `base`, `job` and `model`.

use crate::{connect, ephemeral_node, print_json, reach_peers, signer, table, trib, upload, Cli};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tributary_client::model_folder::family_of;
use tributary_client::worker_url::split_http_url;
use tributary_client::{
	content,
	training::{
		parse_trib, BaseModelSpec, FamilyArg, JobSpec, JobState, LengthArg, MethodArg,
		ModelFileSpec, TrainingSpec, WorkerCaps,
	},
};

#[derive(Subcommand)]
pub enum WorkerCmd {
	/// Register --key as a compute worker, holding a bond.
	Register {
		/// Bond in TRIB (the chain's minimum is 100).
		#[arg(long, default_value = "100")]
		bond: String,
		/// A worker's data directory: its worker.json gives the peer id and addresses.
		#[arg(long, conflicts_with_all = ["peer_id", "addrs"])]
		worker_dir: Option<PathBuf>,
		/// The worker's libp2p peer id.
		#[arg(long)]
		peer_id: Option<libp2p::PeerId>,
		/// A multiaddress its data peer listens on (repeatable).
		#[arg(long = "addr")]
		addrs: Vec<libp2p::Multiaddr>,
		/// Trains on a CUDA GPU.
		#[arg(long)]
		cuda: bool,
		/// Memory available to training, MiB.
		#[arg(long, default_value_t = 8192)]
		memory_mib: u32,
		/// Largest base model it will train, in parameters.
		#[arg(long, default_value_t = 1_000_000_000)]
		max_params: u64,
	},
	/// Show a worker (--key's account, or the address given).
	Status { address: Option<String> },
	/// Hold more as the bond (e.g. to become active again after a lapse penalty), in TRIB.
	BondExtra { amount: String },
	/// Stop taking work; the bond can be withdrawn after the unbonding delay.
	Unbond,
	/// Release the bond after the unbonding delay.
	Withdraw,
	/// Publish the worker's HTTP endpoint (where `job watch` finds live progress), or remove it.
	/// `tributary-worker run --public-url` publishes it itself.
	Endpoint {
		/// `http://host:port` (or https); omit with --remove.
		#[arg(required_unless_present = "remove")]
		url: Option<String>,
		#[arg(long, conflicts_with = "url")]
		remove: bool,
	},
}

#[derive(Subcommand)]
pub enum BaseCmd {
	/// List a base model from a folder (every plain file in it), holding the deposit; with --peer
	/// the files are then uploaded to data peers (which take them because the registration
	/// declares them), so workers can fetch them by hash.
	Register {
		/// The model folder (or a single .gguf file).
		path: PathBuf,
		#[arg(long)]
		name: String,
		/// The family; read from the folder's config.json (`model_type`) when not given, and
		/// checked against it when given.
		#[arg(long, value_enum)]
		family: Option<FamilyArg>,
		#[arg(long, default_value = "apache-2.0")]
		license: String,
		/// Parameter count; read from the safetensors headers when not given (required for GGUF).
		#[arg(long)]
		params: Option<u64>,
		/// Data peer to upload the files to (repeatable).
		#[arg(long = "peer", env = "TRIBUTARY_PEERS", value_delimiter = ',')]
		peers: Vec<libp2p::Multiaddr>,
		#[arg(long, default_value_t = 1800)]
		upload_timeout: u64,
	},
	/// List base models.
	List,
	/// Show one base model and its files.
	Show { id: u32 },
}

#[derive(Subcommand)]
pub enum JobCmd {
	/// Open a training job signed by --key, holding its budget in escrow.
	Create {
		#[arg(long)]
		datanet: u32,
		/// Published version of the datanet (default: its latest).
		#[arg(long)]
		version: Option<u32>,
		#[arg(long)]
		base: u32,
		/// A trained model (of the same base) to continue from.
		#[arg(long)]
		parent: Option<u64>,
		#[arg(long, value_enum, default_value = "lora")]
		method: MethodArg,
		#[arg(long, default_value_t = 8)]
		rank: u16,
		#[arg(long, default_value_t = 16)]
		alpha: u16,
		#[arg(long, default_value_t = 0.0)]
		dropout: f64,
		/// Modules to adapt, comma separated.
		#[arg(long, value_delimiter = ',', default_value = "q_proj,v_proj")]
		targets: Vec<String>,
		#[arg(long = "lr", default_value_t = 2e-4)]
		learning_rate: f64,
		#[arg(long, default_value_t = 0)]
		warmup: u32,
		/// Optimizer steps (or use --epochs).
		#[arg(long, conflicts_with = "epochs")]
		steps: Option<u32>,
		#[arg(long)]
		epochs: Option<u16>,
		#[arg(long, default_value_t = 4)]
		batch: u16,
		#[arg(long, default_value_t = 512)]
		seq_len: u32,
		#[arg(long, default_value_t = 42)]
		seed: u64,
		#[arg(long, default_value_t = 0.1)]
		eval_fraction: f64,
		/// Budget in TRIB, held until the job is final (30% pays the worker; the rest awaits the
		/// contributors' rewards).
		#[arg(long)]
		budget: String,
	},
	/// List jobs.
	List,
	/// Show one job.
	Show { id: u64 },
	/// Cancel an open job and get its budget back (creator only).
	Cancel { id: u64 },
	/// Stop a job a worker is training (creator only): the worker is paid for the share of the
	/// steps it reported done (of its part of the budget), the rest comes back; no model.
	Stop { id: u64 },
	/// Follow a job to its end: live steps, loss and speed from the event stream of the worker
	/// training it (at the endpoint the worker publishes on chain, or --worker-url), else from the
	/// progress its heartbeats put on chain.
	Watch {
		id: u64,
		/// Use this worker endpoint instead of the one on chain (e.g. one only you can reach).
		#[arg(long, env = "TRIBUTARY_WORKER_URL")]
		worker_url: Option<String>,
	},
}

#[derive(Subcommand)]
pub enum ModelCmd {
	/// List trained models (optionally of one datanet or base).
	List {
		#[arg(long)]
		datanet: Option<u32>,
		#[arg(long)]
		base: Option<u32>,
	},
	/// Show a trained model and its lineage.
	Show { id: u64 },
	/// Fetch a trained model's adapter over the data plane, verified against the hash on chain, and
	/// unpack it as a PEFT folder (adapter_config.json, adapter_model.safetensors).
	Fetch {
		id: u64,
		#[arg(long)]
		out: PathBuf,
		/// Data peer to fetch from, ending in /p2p/<peer id> (repeatable); the trainer serves it.
		#[arg(long = "peer", env = "TRIBUTARY_PEERS", value_delimiter = ',', required = true)]
		peers: Vec<libp2p::Multiaddr>,
		/// Seconds without progress before giving up.
		#[arg(long, default_value_t = 120)]
		timeout: u64,
	},
}

pub async fn run_worker(cli: &Cli, cmd: &WorkerCmd) -> Result<()> {
	match cmd {
		WorkerCmd::Register { bond, worker_dir, peer_id, addrs, cuda, memory_mib, max_params } => {
			let (peer, addrs) = match worker_dir {
				Some(dir) => read_worker_json(dir)?,
				None => (
					peer_id.context("give --worker-dir, or --peer-id with at least one --addr")?,
					addrs.clone(),
				),
			};
			if addrs.is_empty() {
				bail!("a worker publishes at least one address (--addr)");
			}
			let key = signer(cli)?;
			let caps =
				WorkerCaps { cuda: *cuda, memory_mib: *memory_mib, max_model_params: *max_params };
			connect(cli)
				.await?
				.register_worker(&key, parse_trib(bond)?, &peer, &addrs, caps)
				.await?;
			println!(
				"worker {} registered (peer {peer}), bond {}",
				key.ss58(),
				trib(parse_trib(bond)?)
			);
			Ok(())
		}
		WorkerCmd::Status { address } => {
			let who = match address {
				Some(a) => crate::ss58(a)?,
				None => signer(cli)?.account_id(),
			};
			let w = connect(cli)
				.await?
				.worker(&who)
				.await?
				.with_context(|| format!("{who} is not a registered worker"))?;
			if cli.json {
				print_json(&w);
				return Ok(());
			}
			println!("worker   {}", w.account);
			println!("bond     {}", trib(w.bond));
			println!("peer     {}", w.peer_id);
			for a in &w.addrs {
				println!("addr     {a}");
			}
			println!(
				"runs     {} with {} MiB, models up to {} parameters",
				if w.caps.cuda { "CUDA" } else { "CPU" },
				w.caps.memory_mib,
				w.caps.max_model_params
			);
			match w.unbonding_until {
				None if w.bond < 100 * 1_000_000_000_000 => println!(
					"status   inactive: the bond is below the 100 TRIB minimum (`tributary worker bond-extra`)"
				),
				None => println!("status   active"),
				Some(b) => println!("status   unbonding: withdraw from block #{b}"),
			}
			if let Some(e) = &w.endpoint {
				println!("endpoint {e}");
			}
			Ok(())
		}
		WorkerCmd::Endpoint { url, remove: _ } => {
			connect(cli).await?.set_worker_endpoint(&signer(cli)?, url.as_deref()).await?;
			match url {
				Some(u) => println!("endpoint published: {u}"),
				None => println!("endpoint removed"),
			}
			Ok(())
		}
		WorkerCmd::BondExtra { amount } => {
			let bond = connect(cli).await?.bond_extra(&signer(cli)?, parse_trib(amount)?).await?;
			println!("bond now {}", trib(bond));
			Ok(())
		}
		WorkerCmd::Unbond => {
			let until = connect(cli).await?.unbond_worker(&signer(cli)?).await?;
			println!("unbonding: the bond can be withdrawn from block #{until}");
			Ok(())
		}
		WorkerCmd::Withdraw => {
			let released = connect(cli).await?.withdraw_worker(&signer(cli)?).await?;
			println!("bond released: {}", trib(released));
			Ok(())
		}
	}
}

fn read_worker_json(dir: &Path) -> Result<(libp2p::PeerId, Vec<libp2p::Multiaddr>)> {
	let path = dir.join("worker.json");
	let text = std::fs::read_to_string(&path).with_context(|| {
		format!(
			"cannot read {}: is a worker running with --data-dir {}?",
			path.display(),
			dir.display()
		)
	})?;
	#[derive(serde::Deserialize)]
	struct Info {
		peer_id: String,
		addrs: Vec<String>,
	}
	let info: Info = serde_json::from_str(&text)
		.with_context(|| format!("{} is not a worker.json", path.display()))?;
	let peer =
		info.peer_id.parse().with_context(|| format!("bad peer id in {}", path.display()))?;
	let addrs = info
		.addrs
		.iter()
		.map(|a| a.parse())
		.collect::<Result<_, _>>()
		.with_context(|| format!("bad address in {}", path.display()))?;
	Ok((peer, addrs))
}

/// The files of a model folder (plain names, sorted), or the single file given.
fn model_files(path: &Path) -> Result<Vec<PathBuf>> {
	if path.is_file() {
		return Ok(vec![path.to_path_buf()]);
	}
	let mut out = Vec::new();
	for e in std::fs::read_dir(path).with_context(|| format!("cannot read {}", path.display()))? {
		let e = e?;
		let name = e.file_name().to_string_lossy().into_owned();
		if e.file_type()?.is_file() && !name.starts_with('.') {
			out.push(e.path());
		}
	}
	out.sort();
	if out.is_empty() {
		bail!("{} holds no files", path.display());
	}
	Ok(out)
}

/// Parameters in the safetensors files: the element counts of every tensor in their headers.
fn safetensors_params(files: &[PathBuf]) -> Result<Option<u64>> {
	use std::io::Read;
	let mut total = 0u64;
	let mut any = false;
	for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "safetensors")) {
		any = true;
		let mut file = std::fs::File::open(f)?;
		let mut len = [0u8; 8];
		file.read_exact(&mut len)?;
		let len = u64::from_le_bytes(len);
		if len > 100 << 20 {
			bail!("{}: safetensors header of {len} bytes is implausible", f.display());
		}
		let mut header = vec![0u8; len as usize];
		file.read_exact(&mut header)?;
		let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header)
			.with_context(|| format!("{}: not a safetensors header", f.display()))?;
		for (name, t) in header {
			if name == "__metadata__" {
				continue;
			}
			let shape = t["shape"]
				.as_array()
				.with_context(|| format!("{}: tensor {name} has no shape", f.display()))?;
			total += shape.iter().map(|d| d.as_u64().unwrap_or(0)).product::<u64>();
		}
	}
	Ok(any.then_some(total))
}

pub async fn run_base(cli: &Cli, cmd: &BaseCmd) -> Result<()> {
	match cmd {
		BaseCmd::Register { path, name, family, license, params, peers, upload_timeout } => {
			let key = signer(cli)?;
			let family = family_of(path, *family)?;
			let paths = model_files(path)?;
			let params = match params {
				Some(p) => *p,
				None => safetensors_params(&paths)?.context(
					"give --params: the parameter count cannot be read from these files",
				)?,
			};
			let mut files = Vec::new();
			let mut decls = Vec::new();
			for p in &paths {
				let decl = content::declare(p, Some("bin"))?;
				let file_name = p.file_name().expect("a file").to_string_lossy().into_owned();
				files.push(ModelFileSpec { name: file_name, hash: decl.hash, bytes: decl.bytes });
				decls.push(decl);
			}
			let spec = BaseModelSpec {
				name: name.clone(),
				family,
				license: license.clone(),
				params,
				files,
			};
			// Reach the data peers before anything goes on chain.
			let most = decls.iter().map(|d| d.bytes).max().unwrap_or(0);
			let mut uploader =
				if peers.is_empty() { None } else { Some(reach_peers(most, peers).await?) };
			let id = connect(cli).await?.register_base(&key, &spec).await?;
			// Then the files go up, vouched for by the registration (data peers take only
			// content an on-chain record declares).
			if let Some(up) = uploader.take() {
				let voucher = data_plane::Voucher::BaseModel(id);
				let timeout = Duration::from_secs(*upload_timeout);
				let mut up = Some(up);
				for (p, decl) in paths.iter().zip(&decls) {
					let up = match up.take() {
						Some(u) => u,
						None => reach_peers(decl.bytes, peers).await?,
					};
					let n = upload(up, p, decl, voucher, timeout).await.with_context(|| {
						format!(
							"base model {id} is registered, but uploading {} failed",
							p.display()
						)
					})?;
					eprintln!("{}: {} bytes on {n} data peer(s)", p.display(), decl.bytes);
				}
			}
			if cli.json {
				print_json(&serde_json::json!({ "base": id }));
			} else {
				println!(
					"base model {id} registered: {name} ({} files, {params} parameters)",
					spec.files.len()
				);
			}
			Ok(())
		}
		BaseCmd::List => {
			let all = connect(cli).await?.base_models().await?;
			if cli.json {
				print_json(&all);
				return Ok(());
			}
			let rows: Vec<Vec<String>> = all
				.iter()
				.map(|m| {
					vec![
						m.id.to_string(),
						m.spec.name.clone(),
						m.spec.family.model_type().to_string(),
						m.spec.params.to_string(),
						m.spec.license.clone(),
						if m.retired { "retired".into() } else { "listed".into() },
					]
				})
				.collect();
			println!("{}", table(&["ID", "NAME", "FAMILY", "PARAMS", "LICENSE", "STATUS"], &rows));
			Ok(())
		}
		BaseCmd::Show { id } => {
			let m = connect(cli).await?.base_model(*id).await?;
			if cli.json {
				print_json(&m);
				return Ok(());
			}
			println!(
				"base model {} — {} ({}, {} parameters)",
				m.id,
				m.spec.name,
				m.spec.family.model_type(),
				m.spec.params
			);
			println!("  owner    {}", m.owner);
			println!("  license  {}", m.spec.license);
			for f in &m.spec.files {
				println!(
					"  file     {:<32} {:>12} bytes  0x{}",
					f.name,
					f.bytes,
					hex::encode(f.hash)
				);
			}
			Ok(())
		}
	}
}

pub async fn run_job(cli: &Cli, cmd: &JobCmd) -> Result<()> {
	match cmd {
		JobCmd::Create {
			datanet,
			version,
			base,
			parent,
			method,
			rank,
			alpha,
			dropout,
			targets,
			learning_rate,
			warmup,
			steps,
			epochs,
			batch,
			seq_len,
			seed,
			eval_fraction,
			budget,
		} => {
			let key = signer(cli)?;
			let client = connect(cli).await?;
			let version = match version {
				Some(v) => *v,
				None => {
					let d = client
						.datanet(*datanet)
						.await?
						.with_context(|| format!("no datanet {datanet} on chain"))?;
					if d.latest_version == 0 {
						bail!("datanet {datanet} has no published version yet: its owner runs `tributary datanet publish {datanet}`");
					}
					d.latest_version
				}
			};
			let length = match (steps, epochs) {
				(Some(s), _) => LengthArg::Steps(*s),
				(None, Some(e)) => LengthArg::Epochs(*e),
				(None, None) => LengthArg::Epochs(1),
			};
			let spec = JobSpec {
				datanet: *datanet,
				version,
				base: *base,
				parent: *parent,
				training: TrainingSpec {
					method: *method,
					rank: *rank,
					alpha: *alpha,
					dropout: *dropout,
					target_modules: targets.clone(),
					learning_rate: *learning_rate,
					warmup_steps: *warmup,
					length,
					batch_size: *batch,
					max_seq_len: *seq_len,
					seed: *seed,
					eval_fraction: *eval_fraction,
				},
				budget: parse_trib(budget)?,
			};
			let id = client.create_job(&key, &spec).await?;
			if cli.json {
				print_json(&serde_json::json!({ "job": id }));
			} else {
				println!("job {id} opened on datanet {datanet} version {version}, base {base}: waiting for a worker");
			}
			Ok(())
		}
		JobCmd::List => {
			let all = connect(cli).await?.jobs().await?;
			if cli.json {
				print_json(&all);
				return Ok(());
			}
			let rows: Vec<Vec<String>> = all
				.iter()
				.map(|j| {
					vec![
						j.id.to_string(),
						format!("{}/v{}", j.datanet, j.version),
						j.base.to_string(),
						format!("{:?}", j.training.method).to_lowercase(),
						trib(j.budget),
						state_line(&j.state),
					]
				})
				.collect();
			println!("{}", table(&["ID", "DATASET", "BASE", "METHOD", "BUDGET", "STATE"], &rows));
			Ok(())
		}
		JobCmd::Show { id } => {
			let j = connect(cli).await?.job(*id).await?;
			if cli.json {
				print_json(&j);
				return Ok(());
			}
			println!(
				"job {} — datanet {} version {}, base {}{}",
				j.id,
				j.datanet,
				j.version,
				j.base,
				j.parent.map(|p| format!(", continuing model {p}")).unwrap_or_default()
			);
			println!("  creator   {}", j.creator);
			println!("  budget    {} ({} still in escrow)", trib(j.budget), trib(j.escrow));
			let t = &j.training;
			println!(
				"  training  {:?} rank {} alpha {} dropout {} on {}; lr {} warmup {}; {:?}; batch {} x {} tokens; seed {}; eval {}",
				t.method, t.rank, t.alpha, t.dropout, t.target_modules.join(","), t.learning_rate, t.warmup_steps, t.length, t.batch_size, t.max_seq_len, t.seed, t.eval_fraction
			);
			println!("  state     {}", state_line(&j.state));
			if j.lapses > 0 {
				println!("  lapses    {}", j.lapses);
			}
			Ok(())
		}
		JobCmd::Watch { id, worker_url } => watch(cli, *id, worker_url.as_deref()).await,
		JobCmd::Cancel { id } => {
			connect(cli).await?.cancel_job(&signer(cli)?, *id).await?;
			println!("job {id} cancelled; its budget is back");
			Ok(())
		}
		JobCmd::Stop { id } => {
			let (paid, refunded) = connect(cli).await?.stop_job(&signer(cli)?, *id).await?;
			if cli.json {
				print_json(&serde_json::json!({
					"job": id, "paid": paid.to_string(), "refunded": refunded.to_string()
				}));
			} else {
				println!(
					"job {id} stopped: {} paid to its worker for the work it reported, {} back to you",
					trib(paid),
					trib(refunded)
				);
			}
			Ok(())
		}
	}
}

/// Fetches a blob by hash from `peers` into a temporary store (verified group by group against the
/// hash) and returns its bytes.
pub(crate) async fn fetch_verified(
	hash: &[u8; 32],
	bytes: u64,
	peers: &[libp2p::Multiaddr],
	timeout: u64,
) -> Result<Vec<u8>> {
	let (_dir, node, providers) = ephemeral_node(bytes, peers).await?;
	if providers.is_empty() {
		bail!("none of the {} data peer(s) could be reached", peers.len());
	}
	let opts = data_plane::FetchOptions {
		providers,
		expected_size: Some(bytes),
		give_up_after: Duration::from_secs(timeout),
		..Default::default()
	};
	data_plane::fetch(&node, *hash, opts).await?;
	let blob = node.store().read_all(hash)?;
	node.shutdown();
	Ok(blob)
}

fn bar(total: u64) -> indicatif::ProgressBar {
	let b = indicatif::ProgressBar::new(total);
	b.set_style(
		indicatif::ProgressStyle::with_template("[{bar:30}] step {pos}/{len} {msg}")
			.expect("template")
			.progress_chars("#>-"),
	);
	b
}

/// Follows job `id` until it is final or cancelled.
async fn watch(cli: &Cli, id: u64, worker_url: Option<&str>) -> Result<()> {
	let client = connect(cli).await?;
	let mut shown: Option<String> = None;
	let mut progress: Option<indicatif::ProgressBar> = None;
	// The worker whose stream was followed: each new claimant's stream is tried once.
	let mut streamed: Option<String> = None;
	// Looks at the job as blocks are finalized (every 2 s if the subscription fails).
	let mut blocks = client.finalized_blocks().await.ok().map(Box::pin);
	loop {
		let j = client.job(id).await?;
		match &j.state {
			// The stream replays the job's events so far: worth reading even once submitted.
			JobState::Claimed { worker, .. } | JobState::Submitted { worker, .. }
				if streamed.as_ref() != Some(worker) =>
			{
				streamed = Some(worker.clone());
				let url = match worker_url {
					Some(u) => Some(u.to_string()),
					None => match worker.parse::<subxt::utils::AccountId32>() {
						Ok(w) => client.worker_endpoint(&w).await?,
						Err(_) => None,
					},
				};
				if let Some(url) = url {
					if let Some(b) = progress.take() {
						b.finish_and_clear();
					}
					println!("job {id}: training on {worker}, live from {url}");
					if let Err(e) = stream_events(&url, id).await {
						eprintln!("warning: the worker's stream at {url} failed ({e:#}); following the chain");
					}
				}
				continue;
			}
			JobState::Claimed { step, total_steps, loss, .. } => {
				let b = progress.get_or_insert_with(|| bar(*total_steps as u64));
				b.set_length(*total_steps as u64);
				b.set_position(*step as u64);
				b.set_message(loss.map(|l| format!("loss {l:.4}")).unwrap_or_default());
			}
			JobState::Finalized { .. } | JobState::Cancelled | JobState::Stopped { .. } => {
				if let Some(b) = progress.take() {
					b.finish_and_clear();
				}
				println!("job {id}: {}", state_line(&j.state));
				return Ok(());
			}
			other => {
				let line = state_line(other);
				if shown.as_deref() != Some(&line) {
					if let Some(b) = progress.take() {
						b.finish_and_clear();
					}
					println!("job {id}: {line}");
					shown = Some(line);
				}
			}
		}
		match blocks.as_mut() {
			Some(b) => {
				if !matches!(futures::StreamExt::next(b).await, Some(Ok(_))) {
					blocks = None;
				}
			}
			None => tokio::time::sleep(Duration::from_secs(2)).await,
		}
	}
}

/// Reads the worker's Server-Sent Events for job `id` until it submits or fails.
async fn stream_events(url: &str, id: u64) -> Result<()> {
	use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
	let (host, prefix) = split_http_url(url)?;
	let mut s = tokio::net::TcpStream::connect(&host)
		.await
		.with_context(|| format!("cannot reach {host}"))?;
	s.write_all(
		format!("GET {prefix}/jobs/{id}/events HTTP/1.1\r\nhost: {host}\r\n\r\n").as_bytes(),
	)
	.await?;
	let mut lines = tokio::io::BufReader::new(s).lines();
	let status = lines.next_line().await?.unwrap_or_default();
	if !status.contains(" 200 ") {
		bail!("the worker answered {status:?}");
	}
	while let Some(l) = lines.next_line().await? {
		if l.is_empty() {
			break;
		}
	}
	let b = bar(0);
	let mut kind = String::new();
	while let Some(l) = lines.next_line().await? {
		if let Some(k) = l.strip_prefix("event: ") {
			kind = k.to_string();
			continue;
		}
		let Some(data) = l.strip_prefix("data: ") else { continue };
		let v: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
		match kind.as_str() {
			"started" => {
				b.set_length(v["total_steps"].as_u64().unwrap_or(0));
				b.set_position(v["first_step"].as_u64().unwrap_or(0));
			}
			"step" => {
				b.set_position(v["step"].as_u64().unwrap_or(0) + 1);
				b.set_message(format!(
					"loss {:.4} lr {:.2e} {:.0} tok/s",
					v["loss"].as_f64().unwrap_or(f64::NAN),
					v["lr"].as_f64().unwrap_or(0.0),
					v["tokens_per_s"].as_f64().unwrap_or(0.0)
				));
			}
			"eval" => b.println(format!(
				"eval loss {:.4} perplexity {:.2}",
				v["loss"].as_f64().unwrap_or(f64::NAN),
				v["perplexity"].as_f64().unwrap_or(f64::NAN)
			)),
			"submitted" => {
				b.finish_and_clear();
				println!(
					"job {id}: adapter {} submitted; final at block #{}",
					v["adapter"].as_str().unwrap_or("?"),
					v["final_at"]
				);
				return Ok(());
			}
			"failed" => {
				b.finish_and_clear();
				bail!("the worker failed the job: {}", v["reason"].as_str().unwrap_or("?"));
			}
			_ => {}
		}
	}
	b.finish_and_clear();
	bail!("the stream ended before the job did")
}

fn state_line(s: &JobState) -> String {
	match s {
		JobState::Open => "open".into(),
		JobState::Claimed { worker, lease_until, step, total_steps, loss, .. } => format!(
			"training on {worker}: step {step}/{total_steps}{}, lease to #{lease_until}",
			loss.map(|l| format!(", loss {l:.4}")).unwrap_or_default()
		),
		JobState::Submitted { adapter_hash, metrics, final_at, .. } => format!(
			"submitted adapter 0x{}… (loss {:.4}), final at #{final_at}",
			&hex::encode(adapter_hash)[..12],
			metrics.train_loss
		),
		JobState::Finalized { model, .. } => format!("final: model {model}"),
		JobState::Cancelled => "cancelled".into(),
		JobState::Stopped { worker, step, total_steps } => {
			format!(
				"stopped by its creator while {worker} trained it, at step {step}/{total_steps}"
			)
		}
	}
}

pub async fn run_model(cli: &Cli, cmd: &ModelCmd) -> Result<()> {
	match cmd {
		ModelCmd::List { datanet, base } => {
			let all: Vec<_> = connect(cli)
				.await?
				.models()
				.await?
				.into_iter()
				.filter(|m| {
					datanet.is_none_or(|d| m.datanet == d) && base.is_none_or(|b| m.base == b)
				})
				.collect();
			if cli.json {
				print_json(&all);
				return Ok(());
			}
			let rows: Vec<Vec<String>> = all
				.iter()
				.map(|m| {
					vec![
						m.id.to_string(),
						m.base.to_string(),
						format!("{}/v{}", m.datanet, m.version),
						m.job.to_string(),
						format!("{:.4}", m.metrics.train_loss),
						m.metrics
							.eval_loss
							.map(|l| format!("{l:.4}"))
							.unwrap_or_else(|| "-".into()),
						format!("0x{}…", &hex::encode(m.adapter_hash)[..12]),
					]
				})
				.collect();
			println!(
				"{}",
				table(&["ID", "BASE", "DATASET", "JOB", "LOSS", "EVAL", "ADAPTER"], &rows)
			);
			Ok(())
		}
		ModelCmd::Fetch { id, out, peers, timeout } => {
			let m = connect(cli).await?.model(*id).await?;
			let blob = fetch_verified(&m.adapter_hash, m.adapter_bytes, peers, *timeout).await?;
			tributary_client::adapter_blob::unpack(&blob, out)?;
			if cli.json {
				print_json(&serde_json::json!({
					"model": id,
					"adapter": format!("0x{}", hex::encode(m.adapter_hash)),
					"out": out.display().to_string(),
				}));
			} else {
				println!(
					"model {id}: adapter 0x{} verified, unpacked into {} (load it with PEFT on base {})",
					hex::encode(m.adapter_hash),
					out.display(),
					m.base
				);
			}
			Ok(())
		}
		ModelCmd::Show { id } => {
			let m = connect(cli).await?.model(*id).await?;
			if cli.json {
				print_json(&m);
				return Ok(());
			}
			println!(
				"model {} — adapter 0x{} ({} bytes)",
				m.id,
				hex::encode(m.adapter_hash),
				m.adapter_bytes
			);
			println!(
				"  lineage   base {}{}, datanet {} version {}, job {}",
				m.base,
				m.parent.map(|p| format!(" + model {p}")).unwrap_or_default(),
				m.datanet,
				m.version,
				m.job
			);
			println!("  owner     {}", m.owner);
			println!("  trainer   {}", m.trainer);
			println!(
				"  metrics   train loss {:.4}, eval loss {}, {} tokens, {} steps",
				m.metrics.train_loss,
				m.metrics.eval_loss.map(|l| format!("{l:.4}")).unwrap_or_else(|| "-".into()),
				m.metrics.tokens,
				m.metrics.steps
			);
			println!(
				"  training  {:?} rank {} alpha {} on {}",
				m.training.method,
				m.training.rank,
				m.training.alpha,
				m.training.target_modules.join(",")
			);
			Ok(())
		}
	}
}
