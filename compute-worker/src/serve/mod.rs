//! Serving: trained adapters and their base behind OpenAI's API (`tributary-worker api`).
//!
//! - [`engine`]: the generation thread: continuous batching, each row with its own adapter, stop
//!   strings, streaming.
//! - [`models`]: which adapter a `model` id names: local folders, or the chain's trained models
//!   fetched over the data plane on first use, and chat over a datanet (`datanet-<id>`).
//! - [`retrieval`]: BM25 over a version's records, for chat over a datanet.
//! - [`influence`]: which contributions most shaped each answer of a chain model.
//! - [`openai`]: the API's request checks and answer shapes.
//! - [`text`]: incremental detokenization and stop strings.
//! - [`http`]: the routes (`/v1/models`, `/v1/chat/completions`, `/v1/completions`,
//!   `/v1/receipts/<period>`).
//! - [`billing`]: paid answers: vouchers checked against payers' tabs, charges, receipts and
//!   the per-period settlement.
//!
//! docs/serving.md shows it from a client's side.

pub mod billing;
pub mod engine;
pub mod http;
pub mod influence;
pub mod models;
pub mod openai;
pub mod read_limit;
pub mod retrieval;
pub mod text;

use anyhow::{bail, Context, Result};
use data_plane::DataNode;
use engine::{Engine, EngineLimits};
use models::{ChainModels, Models};
use openai::RequestLimits;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
	/// The base model: a folder (safetensors, config.json, tokenizer.json) or a .gguf file.
	#[arg(long, required_unless_present = "base", conflicts_with = "base")]
	pub model: Option<PathBuf>,
	/// Serve the chain's base model N (its files fetched over the data plane by their hashes) and
	/// every model trained on it, as `model-<id>` (adapters fetched and verified on first use).
	#[arg(long)]
	pub base: Option<u32>,
	/// Node RPC endpoint (with --base).
	#[arg(long, env = "TRIBUTARY_URL", default_value = tributary_client::DEFAULT_URL)]
	pub url: String,
	/// Seconds without progress before a fetch of model files is abandoned (with --base).
	#[arg(long, default_value_t = 60)]
	pub fetch_timeout: u64,
	/// The base's id in the `model` field (default: its chain name, or its file or folder name).
	#[arg(long)]
	pub name: Option<String>,
	/// An adapter trained on the base, as ID=FOLDER (a PEFT folder); repeatable.
	#[arg(long = "adapter", value_name = "ID=FOLDER")]
	pub adapters: Vec<String>,
	/// HTTP address to serve the API on (the worker's `--listen` is its data peer's).
	#[arg(long, default_value = "127.0.0.1:8000")]
	pub bind: std::net::SocketAddr,
	/// `cpu`, `cuda` or `cuda:N` (CUDA needs the `cuda` build).
	#[arg(long, default_value = "cpu")]
	pub device: String,
	/// Tokens generated when a request names no `max_tokens`.
	#[arg(long, default_value_t = 256)]
	pub default_max_tokens: usize,
	/// The most tokens one request may ask for.
	#[arg(long, default_value_t = 2048)]
	pub max_tokens_limit: usize,
	/// Requests waiting to run; more are answered 503.
	#[arg(long, default_value_t = 32)]
	pub queue: usize,
	/// Adapters kept in memory (least recently used first out).
	#[arg(long, default_value_t = 64)]
	pub cached_adapters: usize,
	/// Sequences decoded together, each with its own adapter, in one batched forward pass.
	#[arg(long, default_value_t = 16)]
	pub max_batch: usize,
	/// Keep adapters in memory in bf16: half the memory per adapter (answers then differ from the
	/// full-precision adapter's by bf16's rounding).
	#[arg(long)]
	pub bf16_adapters: bool,
	/// Prompt tokens run between two decoding steps at most: a long prompt then delays the
	/// running answers by one chunk, not by its whole prefill.
	#[arg(long, default_value_t = 256)]
	pub prefill_chunk: usize,
	/// Shortest part of an answer, in bytes, reported as found word for word in the model's
	/// training text (chain models).
	#[arg(long, default_value_t = 24)]
	pub span_min_bytes: usize,
	/// Charge for answers of the chain's models: TRIB per 1,000 tokens (prompt and answer),
	/// published on chain; requests then need a voucher (docs/fees.md). With --base and --key.
	#[arg(long, requires_all = ["base", "key"])]
	pub price: Option<String>,
	/// The serving worker's key (keystore name or secret URI): publishes the price and is paid.
	#[arg(long)]
	pub key: Option<String>,
	/// Keystore directory for --key names.
	#[arg(long, env = "TRIBUTARY_KEYSTORE")]
	pub keystore: Option<PathBuf>,
	/// Seconds between checks for a new fee period to settle in.
	#[arg(long, default_value_t = 30)]
	pub settle_check: u64,
	/// Contributions listed in each chain model's answer as those that most shaped it (0: none,
	/// and no second copy of the base is loaded for it).
	#[arg(long, default_value_t = 5)]
	pub influence_top: usize,
	/// Projected dimensions per side of each adapted layer in influence indexes: an index holds
	/// `Σ r·(2k)` numbers per contribution (k 8, rank 8, 120 adapted layers: 61 KB).
	#[arg(long, default_value_t = 8)]
	pub influence_projection: usize,
	/// Models whose influence index is kept in memory.
	#[arg(long, default_value_t = 4)]
	pub influence_indexes: usize,
	/// Milliseconds a model's first answer waits for its influence index to be built; beyond, it
	/// says `indexing` and later answers carry the scores.
	#[arg(long, default_value_t = 2000)]
	pub influence_wait_ms: u64,
}

/// `ID=FOLDER` pairs, checked: ids unique and not the base's, each folder an adapter.
fn adapters(base_id: &str, specs: &[String]) -> Result<BTreeMap<String, PathBuf>> {
	let mut out = BTreeMap::new();
	for s in specs {
		let Some((id, dir)) = s.split_once('=') else { bail!("--adapter {s}: expected ID=FOLDER") };
		if id.is_empty() || id == base_id || out.contains_key(id) {
			bail!("--adapter {s}: the id `{id}` is empty, the base's, or given twice");
		}
		let dir = PathBuf::from(dir);
		model_factory::adapter::load_config(&dir)
			.with_context(|| format!("--adapter {s}: not an adapter folder"))?;
		out.insert(id.to_string(), dir);
	}
	Ok(out)
}

/// What serving the chain's models needs, started by the binary (which owns the data peer's
/// settings): a chain client, a data peer, and the worker's directory.
pub struct ChainContext {
	pub client: tributary_client::Client,
	pub node: DataNode,
	pub data_dir: PathBuf,
}

/// Loads the base (with `--base`, fetched first), then serves until the process is stopped.
/// Prints `listening on http://ADDR/v1` on stderr once requests are taken.
pub async fn serve(a: ServeArgs, chain: Option<ChainContext>) -> Result<()> {
	model_factory::tune_process_for_training();
	let timeout = std::time::Duration::from_secs(a.fetch_timeout);
	let mut billing = None;
	let (path, default_id, chain) = match (&a.model, a.base, chain) {
		(Some(p), None, _) => {
			let id = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
			(p.clone(), id, None)
		}
		(None, Some(base), Some(c)) => {
			let view = c
				.client
				.base_model(base)
				.await
				.with_context(|| format!("base model {base} on the chain"))?;
			let cfg = crate::jobs::runner::RunnerConfig {
				fetch_timeout: timeout,
				work_dir: c.data_dir.join("work"),
				..Default::default()
			};
			eprintln!("fetching base model {base} ({}) over the data plane", view.spec.name);
			let path = crate::jobs::prepare::fetch_base(&c.node, &cfg, &view)
				.await
				.with_context(|| format!("cannot fetch base model {base}"))?;
			if let Some(price) = &a.price {
				let price = tributary_client::training::parse_trib(price)?;
				let ks = tributary_client::keys::Keystore::open(
					a.keystore
						.clone()
						.unwrap_or_else(tributary_client::keys::Keystore::default_dir),
				);
				let key = ks.resolve(a.key.as_deref().unwrap_or_default())?;
				if price > 0 {
					let dir = c.data_dir.join("serve").join("receipts");
					let client = tributary_client::Client::connect(&a.url).await?;
					let b = billing::Billing::start(client, key, price, dir).await?;
					eprintln!("charging {price} plancks per 1,000 tokens, paid to {}", b.payee());
					billing = Some(b);
				} else {
					c.client.set_price(&key, 0).await?;
				}
			}
			let models = ChainModels::new(
				c.client,
				c.node,
				base,
				c.data_dir.join("serve").join("adapters"),
				timeout,
			);
			(path, view.spec.name.clone(), Some(models))
		}
		_ => bail!("give --model PATH, or --base N (with a chain to fetch it from)"),
	};
	let base_id = match &a.name {
		Some(n) => n.clone(),
		None if !default_id.is_empty() => default_id,
		None => bail!("the base has no name to serve it under: give --name"),
	};
	let local = adapters(&base_id, &a.adapters)?;
	let device = crate::factory::device(&a.device)?;
	let influence = (chain.is_some() && a.influence_top > 0).then(|| {
		Arc::new(influence::Influencer::start(
			path.clone(),
			device.clone(),
			influence::InfluenceLimits {
				projection: a.influence_projection,
				indexes: a.influence_indexes,
				top: a.influence_top,
				queue: a.queue,
				wait: std::time::Duration::from_millis(a.influence_wait_ms),
			},
		))
	});
	let shown = path.display().to_string();
	let model = tokio::task::spawn_blocking(move || {
		model_factory::pretrained::open(&path, candle_core::DType::F32, &device)
	})
	.await?
	.with_context(|| format!("cannot open the model {shown}"))?;
	let tool_format = model_factory::tool_calls::ToolFormat::of_template(&model.template.source);
	let n_adapters = local.len();
	let on_chain = chain.is_some();
	let limits = EngineLimits {
		queue: a.queue,
		cached_adapters: a.cached_adapters,
		max_batch: a.max_batch,
		bf16_adapters: a.bf16_adapters,
		prefill_chunk: a.prefill_chunk,
	};
	let engine = Engine::start(model, limits);
	let server = Arc::new(http::Server {
		engine,
		models: Models { base_id: base_id.clone(), local, chain },
		span_min_bytes: a.span_min_bytes,
		limits: RequestLimits {
			default_max_tokens: a.default_max_tokens.min(a.max_tokens_limit),
			max_tokens: a.max_tokens_limit,
		},
		started: std::time::SystemTime::now()
			.duration_since(std::time::UNIX_EPOCH)
			.map(|d| d.as_secs())
			.unwrap_or(0),
		billing: billing.clone(),
		influence,
		tool_format,
	});
	if let Some(b) = billing {
		tokio::spawn(b.settle_every(std::time::Duration::from_secs(a.settle_check.max(1))));
	}
	let listener = tokio::net::TcpListener::bind(a.bind)
		.await
		.with_context(|| format!("cannot listen on {}", a.bind))?;
	eprintln!(
		"serving {base_id}, {n_adapters} local adapter(s){}; listening on http://{}/v1",
		if on_chain { " and the chain's models on it (model-<id>)" } else { "" },
		listener.local_addr()?
	);
	axum::serve(listener, http::router(server)).await?;
	Ok(())
}

#[cfg(test)]
mod tests;
