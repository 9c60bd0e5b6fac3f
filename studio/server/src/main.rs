//! `tributary-studio`: serves the Studio (docs/studio.md).

use anyhow::{Context, Result};
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(version, about = "Serves Tributary Studio, the browser app, on one address")]
struct Args {
	/// Address to listen on.
	#[arg(long, default_value = "127.0.0.1:8080")]
	bind: String,
	/// The built app (studio/web/dist; `npm run build` in studio/web makes it).
	#[arg(long, default_value = "studio/web/dist")]
	web: PathBuf,
	/// The node's WebSocket RPC, as the browser reaches it.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	node: String,
	/// The node's RPC as this server reaches it, for payout tables, adapter downloads and content
	/// checks (default: --node).
	#[arg(long)]
	rpc: Option<String>,
	/// The serving worker's OpenAI API (`tributary-worker api`), without `/v1`; forwarded at /v1.
	#[arg(long, default_value = "http://127.0.0.1:8000")]
	api: String,
	/// Serve no model API (the chat page then says so).
	#[arg(long)]
	no_api: bool,
	/// Data peer (a compute worker, ending in /p2p/<peer id>) that contributions uploaded in the
	/// browser are handed to and curators' previews are fetched from; repeat for more. None: the
	/// Contribute page cannot upload, the Curate page shows no previews.
	#[arg(long = "peer")]
	peers: Vec<libp2p::Multiaddr>,
	/// Largest upload taken (and preview fetched), in bytes.
	#[arg(long, default_value_t = 32 << 20)]
	max_upload: usize,
	/// Seconds to wait for a data peer to hold an upload.
	#[arg(long, default_value_t = 120)]
	upload_timeout: u64,
	/// A worker's progress endpoint (its `--public-url`, as published on chain) whose live
	/// training events the Train and Models pages may show; repeat for more.
	#[arg(long = "progress")]
	progress: Vec<String>,
	/// Seconds a preview waits without receiving anything from the data peers.
	#[arg(long, default_value_t = 15)]
	preview_timeout: u64,
}

#[tokio::main]
async fn main() -> Result<()> {
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env()
				.unwrap_or_else(|_| "info".parse().expect("static filter")),
		)
		.init();
	let args = Args::parse();
	if !args.web.join("index.html").is_file() {
		tracing::warn!(
			"no index.html in {}: build the app first (`npm ci && npm run build` in studio/web)",
			args.web.display()
		);
	}
	let data_peers = if args.peers.is_empty() {
		None
	} else {
		let secs = std::time::Duration::from_secs;
		let dp = tributary_studio::data_peers::DataPeers::start(
			args.peers,
			args.max_upload,
			secs(args.upload_timeout),
			secs(args.preview_timeout),
		);
		Some(std::sync::Arc::new(dp.await?))
	};
	let app = tributary_studio::router(tributary_studio::Config {
		web_dir: args.web,
		node: args.node.clone(),
		api: (!args.no_api).then_some(args.api),
		data_peers,
		progress: args.progress,
		rpc: Some(args.rpc.unwrap_or(args.node.clone())),
	});
	let listener = tokio::net::TcpListener::bind(&args.bind)
		.await
		.with_context(|| format!("binding {}", args.bind))?;
	let addr = listener.local_addr()?;
	tracing::info!("studio on http://{addr}");
	println!("studio listening on http://{addr}");
	axum::serve(listener, app)
		.with_graceful_shutdown(async {
			let _ = tokio::signal::ctrl_c().await;
		})
		.await?;
	Ok(())
}
