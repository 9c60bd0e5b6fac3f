//! The server on a real socket: files, refusals, config, and forwarding to a real upstream.

use super::*;
use axum::http::StatusCode;
use http_body_util::BodyExt;
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use std::net::SocketAddr;

async fn start(app: Router) -> SocketAddr {
	let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = l.local_addr().unwrap();
	tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
	addr
}

/// Sends a raw request line (paths the URI type would normalise go through as written).
async fn raw(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String, String) {
	use tokio::io::{AsyncReadExt, AsyncWriteExt};
	let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
	let req = format!(
		"{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
		body.len()
	);
	s.write_all(req.as_bytes()).await.unwrap();
	let mut out = Vec::new();
	s.read_to_end(&mut out).await.unwrap();
	let text = String::from_utf8_lossy(&out).to_string();
	let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
	let status = head.split(' ').nth(1).unwrap().parse().unwrap();
	(status, head.to_lowercase(), body.to_string())
}

fn web_dir() -> tempfile::TempDir {
	let d = tempfile::tempdir().unwrap();
	std::fs::write(d.path().join("index.html"), "<html>app</html>").unwrap();
	std::fs::create_dir(d.path().join("assets")).unwrap();
	std::fs::write(d.path().join("assets/main-abc.js"), "console.log(1)").unwrap();
	std::fs::write(d.path().join(".env"), "secret").unwrap();
	d
}

fn config(web: &std::path::Path, api: Option<String>) -> Config {
	Config {
		web_dir: web.to_path_buf(),
		node: "ws://127.0.0.1:9944".into(),
		api,
		data_peers: None,
		progress: vec![],
		rpc: None,
	}
}

#[tokio::test]
async fn serves_the_app_its_assets_and_its_config() {
	let web = web_dir();
	let addr = start(router(config(web.path(), None))).await;
	let (s, head, body) = raw(addr, "GET", "/", "").await;
	assert_eq!((s, body.as_str()), (200, "<html>app</html>"));
	assert!(head.contains("content-type: text/html"), "{head}");
	assert!(head.contains("content-security-policy: default-src 'self'"), "{head}");
	assert!(head.contains("connect-src 'self' ws://127.0.0.1:9944"), "{head}");
	let (s, head, body) = raw(addr, "GET", "/assets/main-abc.js", "").await;
	assert_eq!((s, body.as_str()), (200, "console.log(1)"));
	assert!(head.contains("text/javascript") && head.contains("immutable"), "{head}");
	// An app route gets the page; a missing asset does not.
	assert_eq!(raw(addr, "GET", "/datanets/3", "").await.2, "<html>app</html>");
	assert_eq!(raw(addr, "GET", "/assets/missing.js", "").await.0, 404);
	let (s, _, body) = raw(addr, "GET", "/studio.json", "").await;
	assert_eq!(s, 200);
	let v: serde_json::Value = serde_json::from_str(&body).unwrap();
	assert_eq!(
		v,
		serde_json::json!({"node": "ws://127.0.0.1:9944", "api": null, "upload": false, "progress": []})
	);
	// Without an API, /v1 is not forwarded anywhere: the app's page, never another host.
	assert_eq!(raw(addr, "POST", "/v1/chat/completions", "{}").await.0, 405);
}

#[tokio::test]
async fn refuses_paths_that_leave_the_folder() {
	let web = web_dir();
	let outside = tempfile::tempdir().unwrap();
	std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
	std::os::unix::fs::symlink(outside.path().join("secret.txt"), web.path().join("link.txt"))
		.unwrap();
	let addr = start(router(config(web.path(), None))).await;
	for path in [
		"/../secret.txt",
		"/assets/../../secret.txt",
		"/%2e%2e/secret.txt",
		"/.env",
		"/assets/..%2f..%2fsecret.txt",
		"/a\\..\\secret.txt",
	] {
		let (s, _, body) = raw(addr, "GET", path, "").await;
		assert!(s == 400 || s == 404, "{path}: {s}");
		assert!(!body.contains("secret"), "{path} leaked: {body}");
	}
	// A link out of the folder is not followed.
	let (s, _, body) = raw(addr, "GET", "/link.txt", "").await;
	assert_eq!(s, 404);
	assert!(!body.contains("secret"));
	assert_eq!(static_files::safe_relative("/a/./b//c"), Some("a/b/c".into()));
	assert_eq!(static_files::safe_relative("/a/../b"), None);
}

#[tokio::test]
async fn says_when_the_app_is_not_built() {
	let empty = tempfile::tempdir().unwrap();
	let addr = start(router(config(empty.path(), None))).await;
	let (s, _, body) = raw(addr, "GET", "/", "").await;
	assert_eq!(s, 503);
	assert!(body.contains("npm ci && npm run build"), "{body}");
}

#[tokio::test]
async fn forwards_v1_to_the_api_and_streams_the_answer() {
	use axum::{body::Bytes, http::HeaderMap, routing::post};
	// A real upstream: echoes what it got, the answer in three chunks with pauses between.
	let upstream = Router::new().route(
		"/v1/chat/completions",
		post(|headers: HeaderMap, uri: Uri, body: Bytes| async move {
			let seen = format!(
				"{} {} cookie={} ",
				uri,
				String::from_utf8_lossy(&body),
				headers.contains_key("cookie")
			);
			let chunks = futures_chunks(seen);
			([(header::CONTENT_TYPE, "text/event-stream")], axum::body::Body::from_stream(chunks))
		}),
	);
	let api = start(upstream).await;
	let web = web_dir();
	let addr = start(router(config(web.path(), Some(format!("http://{api}/"))))).await;
	let client = Client::builder(TokioExecutor::new()).build_http::<axum::body::Body>();
	let req = axum::http::Request::post(format!("http://{addr}/v1/chat/completions?x=1"))
		.header("cookie", "session=1")
		.header("content-type", "application/json")
		.body(axum::body::Body::from("{\"model\":\"m\"}"))
		.unwrap();
	let res = client.request(req).await.unwrap();
	assert_eq!(res.status(), StatusCode::OK);
	assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
	let mut body = res.into_body();
	let mut frames = Vec::new();
	while let Some(f) = body.frame().await {
		if let Ok(data) = f.unwrap().into_data() {
			frames.push(String::from_utf8(data.to_vec()).unwrap());
		}
	}
	let all = frames.concat();
	assert_eq!(all, "/v1/chat/completions?x=1 {\"model\":\"m\"} cookie=false data: 1\ndata: 2\n");
	assert!(frames.len() >= 2, "streamed, not buffered: {frames:?}");

	// Too large a body: 413, nothing forwarded.
	let big = "x".repeat((1 << 20) + 1);
	assert_eq!(raw(addr, "POST", "/v1/chat/completions", &big).await.0, 413);
}

/// The chunks one at a time, 50 ms apart.
fn futures_chunks(
	first: String,
) -> impl futures::Stream<Item = Result<String, std::convert::Infallible>> {
	let items = vec![first, "data: 1\n".to_string(), "data: 2\n".to_string()];
	futures::stream::unfold(items.into_iter(), |mut it| async move {
		let next = it.next()?;
		tokio::time::sleep(std::time::Duration::from_millis(50)).await;
		Some((Ok(next), it))
	})
}

#[tokio::test]
async fn an_unreachable_api_is_a_clear_502() {
	let dead = tempfile::tempdir().unwrap(); // any closed port
	let port = {
		let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
		l.local_addr().unwrap().port()
	};
	let addr = start(router(config(dead.path(), Some(format!("http://127.0.0.1:{port}"))))).await;
	let (s, _, body) = raw(addr, "GET", "/v1/models", "").await;
	assert_eq!(s, 502);
	assert!(body.contains("cannot be reached"), "{body}");
}

#[tokio::test]
async fn forwards_only_to_configured_progress_endpoints() {
	use axum::routing::get;
	let worker = Router::new().route(
		"/jobs/:id/events",
		get(|axum::extract::Path(id): axum::extract::Path<u64>| async move {
			(
				[(header::CONTENT_TYPE, "text/event-stream")],
				format!("event: step\ndata: {{\"job\":{id}}}\n\n"),
			)
		}),
	);
	let w = start(worker).await;
	let web = web_dir();
	let mut cfg = config(web.path(), None);
	cfg.progress = vec![format!("http://{w}")];
	let addr = start(router(cfg)).await;
	let (s, head, body) = raw(addr, "GET", "/progress/0/jobs/7/events", "").await;
	assert_eq!(s, 200, "{head}");
	assert!(body.contains("{\"job\":7}"), "{body}");
	// Only the configured list, only that path shape.
	assert_eq!(raw(addr, "GET", "/progress/1/jobs/7/events", "").await.0, 404);
	assert_eq!(raw(addr, "GET", "/progress/0/jobs/x/events", "").await.0, 400);
	assert_eq!(raw(addr, "POST", "/progress/0/jobs/7/events", "").await.0, 405);
}

#[test]
fn previews_are_inert_types_from_a_plain_query() {
	use crate::preview::{content_type, wanted};
	assert_eq!(content_type("md"), Some("text/plain; charset=utf-8"));
	assert_eq!(content_type("jpeg"), Some("image/jpeg"));
	// Formats a browser would run or render as a document are never previewed.
	for f in ["html", "svg", "pdf", "docx", "js", ""] {
		assert_eq!(content_type(f), None, "{f}");
	}
	let q = |s: &str| wanted(&s.parse().unwrap());
	assert_eq!(q("/content/ab?size=12&format=txt"), Some((12, "txt".into())));
	assert_eq!(q("/content/ab?format=txt"), None);
	assert_eq!(q("/content/ab?size=x&format=txt"), None);
	assert_eq!(q("/content/ab?size=1&format=t%2fx"), None);
	assert_eq!(q("/content/ab"), None);
}

/// Every upload, preview, payout table and adapter download dials the data peers first: the
/// peer must stay reachable however many requests come (each dial used to open one more
/// connection until the per-peer limit denied the next, and the Studio reported its only peer
/// unreachable: anyone could cut it off by asking often). Requests for the same blob at once
/// each get it whole, and the peer that served it is not taken for a liar.
#[tokio::test(flavor = "multi_thread")]
async fn a_data_peer_stays_reachable_through_many_requests_and_one_blob_fetched_at_once() {
	use data_plane::{ContentStore, DataNode, NetConfig};
	use std::sync::Arc;
	let dir = tempfile::tempdir().unwrap();
	let store = Arc::new(ContentStore::open(dir.path().join("store"), 1 << 30).unwrap());
	let key = libp2p::identity::Keypair::generate_ed25519();
	let provider = DataNode::start(key, store.clone(), NetConfig::default()).await.unwrap();
	// Several verification groups, so that interleaved writes would show.
	let blob: Vec<u8> =
		(0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
	let hash = store.put_bytes(&blob).unwrap();
	let addr = provider
		.listen_addrs()
		.await
		.into_iter()
		.find(|a| a.to_string().contains("/tcp/"))
		.expect("a tcp address");
	let dp = Arc::new(
		crate::data_peers::DataPeers::start(
			vec![addr],
			4 << 20,
			std::time::Duration::from_secs(30),
			std::time::Duration::from_secs(30),
		)
		.await
		.unwrap(),
	);
	let fetches = (0..6).map(|_| {
		let dp = dp.clone();
		tokio::spawn(async move { dp.fetch_bytes(hash, 3_000_000).await })
	});
	for f in futures::future::join_all(fetches).await {
		let got = f.unwrap().expect("each request gets the blob");
		assert!(got == blob, "each request gets the blob whole");
	}
	assert!(dp.node.banned_peers().await.is_empty(), "the honest provider was banned");
	for i in 0..20 {
		let (reached, unreachable) = dp.reach().await;
		assert_eq!((reached.len(), unreachable.len()), (1, 0), "request {i}: {unreachable:?}");
	}
}
