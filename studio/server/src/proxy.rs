//! `/v1/*` forwarded to the serving worker's OpenAI API, and `/progress/{n}/jobs/{id}/events` to
//! the n-th configured worker's live training progress; bodies streamed both ways (chat answers
//! and progress arrive as Server-Sent Events). Only configured upstreams are ever reached: the
//! path is appended to a configured base, never taken as an address.

use axum::{
	body::Body,
	extract::{Request, State},
	http::{header, HeaderName, StatusCode, Uri},
	response::{IntoResponse, Response},
	routing::any,
	Router,
};
use hyper_util::{
	client::legacy::{connect::HttpConnector, Client},
	rt::TokioExecutor,
};
use std::sync::Arc;

/// Largest request body forwarded (the API's own limit is the same).
const MAX_REQUEST_BYTES: usize = 1 << 20;

struct Upstream {
	base: String,
	client: Client<HttpConnector, Body>,
}

fn upstream(base: &str) -> Arc<Upstream> {
	Arc::new(Upstream {
		base: base.trim_end_matches('/').to_string(),
		client: Client::builder(TokioExecutor::new()).build_http(),
	})
}

pub fn routes(api: String) -> Router {
	Router::new().route("/v1/*rest", any(forward_v1)).with_state(upstream(&api))
}

/// `/progress/{n}/jobs/{id}/events` (GET) to `{progress[n]}/jobs/{id}/events`.
pub fn progress_routes(progress: &[String]) -> Router {
	let ups: Arc<Vec<Arc<Upstream>>> = Arc::new(progress.iter().map(|p| upstream(p)).collect());
	Router::new()
		.route(
			"/progress/:n/jobs/:id/events",
			axum::routing::get(
				|State(ups): State<Arc<Vec<Arc<Upstream>>>>,
				 axum::extract::Path((n, id)): axum::extract::Path<(usize, u64)>,
				 req: Request| async move {
					match ups.get(n) {
						Some(up) => forward(up, &format!("/jobs/{id}/events"), req).await,
						None => {
							(StatusCode::NOT_FOUND, "no such progress endpoint\n").into_response()
						}
					}
				},
			),
		)
		.with_state(ups)
}

async fn forward_v1(State(up): State<Arc<Upstream>>, req: Request) -> Response {
	let path_and_query =
		req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or("/v1".into());
	forward(&up, &path_and_query, req).await
}

/// Headers that describe one connection, not the message: never forwarded.
fn hop_by_hop(name: &HeaderName) -> bool {
	matches!(
		name.as_str(),
		"connection"
			| "keep-alive"
			| "proxy-authenticate"
			| "proxy-authorization"
			| "te" | "trailer"
			| "transfer-encoding"
			| "upgrade"
			| "host" | "cookie"
			| "origin"
			| "referer"
	)
}

/// Sends `req` to `up` at `path_and_query`, streaming the answer back.
async fn forward(up: &Upstream, path_and_query: &str, req: Request) -> Response {
	let (parts, body) = req.into_parts();
	let Ok(uri) = format!("{}{}", up.base, path_and_query).parse::<Uri>() else {
		return (StatusCode::BAD_REQUEST, "bad path\n").into_response();
	};
	// Read the (small) request whole: a bounded body, and a clear 413 instead of a cut stream.
	let body = match axum::body::to_bytes(body, MAX_REQUEST_BYTES).await {
		Ok(b) => b,
		Err(_) => {
			return (StatusCode::PAYLOAD_TOO_LARGE, "request body over 1 MiB\n").into_response()
		}
	};
	let mut out = axum::http::Request::builder().method(parts.method).uri(uri);
	for (name, value) in parts.headers.iter().filter(|(n, _)| !hop_by_hop(n)) {
		out = out.header(name, value);
	}
	let Ok(out) = out.body(Body::from(body)) else {
		return (StatusCode::BAD_REQUEST, "bad request\n").into_response();
	};
	match up.client.request(out).await {
		Ok(res) => {
			let (mut parts, body) = res.into_parts();
			let drop: Vec<HeaderName> =
				parts.headers.keys().filter(|n| hop_by_hop(n)).cloned().collect();
			for name in drop {
				parts.headers.remove(name);
			}
			// Let answers stream through any buffering in front of us.
			parts.headers.insert(header::CACHE_CONTROL, "no-cache".parse().expect("static"));
			Response::from_parts(parts, Body::new(body))
		}
		Err(e) => {
			tracing::warn!("upstream unreachable at {}: {e}", up.base);
			let msg = serde_json::json!({"error": {
				"message": format!("{} cannot be reached", up.base),
				"type": "unavailable", "param": null, "code": "upstream_unreachable"}});
			(StatusCode::BAD_GATEWAY, axum::Json(msg)).into_response()
		}
	}
}
