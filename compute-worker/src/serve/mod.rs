//! Serving: trained adapters and their base behind OpenAI's API (`tributary-worker api`).
//!
//! - [`engine`]: the generation thread, adapters applied per request, stop strings, streaming.
//! - [`openai`]: the API's request checks and answer shapes.
//! - [`http`]: the routes (`/v1/models`, `/v1/chat/completions`, `/v1/completions`).
//!
//! docs/serving.md shows it from a client's side.

pub mod engine;
pub mod http;
pub mod openai;

use anyhow::{bail, Context, Result};
use engine::{Catalog, Engine, EngineLimits};
use openai::RequestLimits;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
	/// The base model: a folder (safetensors, config.json, tokenizer.json) or a .gguf file.
	#[arg(long)]
	pub model: PathBuf,
	/// The base's id in the `model` field (default: its file or folder name).
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

/// Loads the base, then serves until the process is stopped. Prints `listening on ADDR` on
/// stderr once requests are taken.
pub async fn serve(a: ServeArgs) -> Result<()> {
	model_factory::tune_process_for_training();
	let base_id = match &a.name {
		Some(n) => n.clone(),
		None => a
			.model
			.file_stem()
			.map(|s| s.to_string_lossy().into_owned())
			.filter(|s| !s.is_empty())
			.context("--model has no file name to take an id from: give --name")?,
	};
	let adapters = adapters(&base_id, &a.adapters)?;
	let device = crate::factory::device(&a.device)?;
	let path = a.model.clone();
	let model = tokio::task::spawn_blocking(move || {
		model_factory::pretrained::open(&path, candle_core::DType::F32, &device)
	})
	.await?
	.with_context(|| format!("cannot open the model {}", a.model.display()))?;
	let n_adapters = adapters.len();
	let engine = Engine::start(
		model,
		Catalog { base_id: base_id.clone(), adapters },
		EngineLimits { queue: a.queue, cached_adapters: a.cached_adapters },
	);
	let server = Arc::new(http::Server {
		engine,
		limits: RequestLimits {
			default_max_tokens: a.default_max_tokens.min(a.max_tokens_limit),
			max_tokens: a.max_tokens_limit,
		},
		started: std::time::SystemTime::now()
			.duration_since(std::time::UNIX_EPOCH)
			.map(|d| d.as_secs())
			.unwrap_or(0),
	});
	let listener = tokio::net::TcpListener::bind(a.bind)
		.await
		.with_context(|| format!("cannot listen on {}", a.bind))?;
	eprintln!(
		"serving {base_id} and {n_adapters} adapter(s); listening on http://{}/v1",
		listener.local_addr()?
	);
	axum::serve(listener, http::router(server)).await?;
	Ok(())
}

#[cfg(test)]
mod tests;
