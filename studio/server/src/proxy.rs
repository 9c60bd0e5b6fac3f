//! `/v1/*` forwarded to the serving worker's OpenAI API, bodies streamed both ways (chat answers
//! arrive as Server-Sent Events). Only that one upstream is ever reached: the path is appended to
//! the configured base, never taken as an address.

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

pub fn routes(api: String) -> Router {
	let upstream = Arc::new(Upstream {
		base: api.trim_end_matches('/').to_string(),
		client: Client::builder(TokioExecutor::new()).build_http(),
	});
	Router::new().route("/v1/*rest", any(forward)).with_state(upstream)
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

async fn forward(State(up): State<Arc<Upstream>>, req: Request) -> Response {
	let (parts, body) = req.into_parts();
	let path_and_query = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/v1");
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
			tracing::warn!("serving API unreachable at {}: {e}", up.base);
			let msg = serde_json::json!({"error": {
				"message": format!("the serving API at {} cannot be reached", up.base),
				"type": "unavailable", "param": null, "code": "upstream_unreachable"}});
			(StatusCode::BAD_GATEWAY, axum::Json(msg)).into_response()
		}
	}
}
