//! The Studio's web server: the built browser app as static files, `/studio.json` telling the app
//! where the node is, `/v1/*` forwarded to a serving worker's OpenAI API (so the app talks to
//! one origin), `/upload/{contribution}` handing a contribution's bytes to data peers, and
//! `/content/{hash}` fetching them back for a curator's preview, `/check/{contribution}` the
//! workers' content checks run on them, `/adapters/{model}` a trained
//! model's adapter to download, and `/progress/...` forwarding workers' live training events. It holds no keys and signs nothing: transactions are signed in the browser.

mod adapters;
mod checks;
pub mod data_peers;
pub(crate) mod preview;
mod proxy;
pub mod rewards;
mod static_files;
mod upload;

use axum::{
	http::{header, HeaderValue, Method, StatusCode, Uri},
	response::IntoResponse,
	routing::get,
	Json, Router,
};
use std::path::PathBuf;

/// What the server is told at start.
#[derive(Clone)]
pub struct Config {
	/// The built app (`studio/web/dist`): `index.html` and its assets.
	pub web_dir: PathBuf,
	/// The node's WebSocket RPC address the browser connects to.
	pub node: String,
	/// Base URL of the serving worker's API (`http://127.0.0.1:8000`), without `/v1`; `None` when
	/// nothing serves models (the chat page then says so).
	pub api: Option<String>,
	/// Contributions' bytes go to data peers, and previews come from them, through this (`None`:
	/// the app can neither upload nor preview).
	pub data_peers: Option<std::sync::Arc<data_peers::DataPeers>>,
	/// Workers' progress endpoints (as they publish them on chain) whose live training events the
	/// app may follow through `/progress/{index}/...`.
	pub progress: Vec<String>,
	/// The node's RPC as this server reaches it (for `/rewards`, `/adapters` and `/check`, with
	/// `data_peers`).
	pub rpc: Option<String>,
}

/// The whole app: config, API forwarding, then static files with the app's page as fallback.
pub fn router(config: Config) -> Router {
	let studio_json = serde_json::json!({
		"node": config.node,
		"api": config.api.as_ref().map(|_| "/v1"),
		"upload": config.data_peers.is_some(),
		"progress": config.progress,
	});
	let mut app = Router::new().route(
		"/studio.json",
		get(move || {
			let body = studio_json.clone();
			async move { ([(header::CACHE_CONTROL, "no-store")], Json(body)) }
		}),
	);
	if let Some(api) = config.api {
		app = app.merge(proxy::routes(api));
	}
	if !config.progress.is_empty() {
		app = app.merge(proxy::progress_routes(&config.progress));
	}
	if let Some(dp) = config.data_peers {
		if let Some(rpc) = config.rpc {
			let cp = std::sync::Arc::new(data_peers::ChainPeers { peers: dp.clone(), rpc });
			app = app
				.merge(rewards::routes(cp.clone()))
				.merge(adapters::routes(cp.clone()))
				.merge(checks::routes(cp));
		}
		app = app.merge(upload::routes(dp.clone())).merge(preview::routes(dp));
	}
	let csp = content_security_policy(&config.node);
	let root = std::sync::Arc::new(config.web_dir);
	app.fallback(move |method: Method, uri: Uri| {
		let root = root.clone();
		async move {
			if method != Method::GET && method != Method::HEAD {
				return StatusCode::METHOD_NOT_ALLOWED.into_response();
			}
			static_files::serve(&root, uri.path()).await
		}
	})
	.layer(axum::middleware::map_response(move |mut res: axum::response::Response| {
		let csp = csp.clone();
		async move {
			let h = res.headers_mut();
			h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
			h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
			h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
			if let Ok(v) = HeaderValue::from_str(&csp) {
				h.insert(header::CONTENT_SECURITY_POLICY, v);
			}
			res.into_response()
		}
	}))
}

/// Scripts only from this origin (WebAssembly allowed: the sr25519 and BLAKE3 code is wasm),
/// connections only to this origin and the node, no framing.
fn content_security_policy(node: &str) -> String {
	let node: String = node.chars().filter(|c| !c.is_whitespace() && *c != ';').collect();
	format!(
		"default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
		 img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' {node}; \
		 frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	)
}

#[cfg(test)]
mod tests;
