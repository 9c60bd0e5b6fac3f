//! Live progress of the jobs this worker runs, served over HTTP as Server-Sent Events.
//!
//! - `GET /jobs/{id}/events`: `text/event-stream`; every event of the job so far, then live ones, each
//!   `event: <kind>` with a JSON `data:` line. Kinds: `started` (total and first step, examples,
//!   tokens), `step` (step, loss, lr, grad_norm, tokens_per_s), `eval` (step, loss, perplexity),
//!   `checkpoint`, `submitted` (adapter hash, final block), `failed` (reason). The stream ends after
//!   `submitted` or `failed`.
//! - `GET /jobs`: the latest event of each job, as JSON.
//!
//! It is read-only and binds loopback by default. Requests are cut at 8 KiB and 10 s, and at most
//! 64 connections are served at once, so a slow or hostile client costs little.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, Semaphore};

/// Events kept per job for late subscribers.
const HISTORY: usize = 20_000;
const MAX_CONNECTIONS: usize = 64;
const MAX_REQUEST: usize = 8 << 10;

/// One progress event of a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobEvent {
	pub job: u64,
	pub kind: &'static str,
	pub data: serde_json::Value,
}

impl JobEvent {
	fn ends(&self) -> bool {
		matches!(self.kind, "submitted" | "failed")
	}
}

/// Where the runner publishes events and the server reads them.
#[derive(Clone)]
pub struct ProgressHub {
	inner: Arc<Mutex<BTreeMap<u64, Vec<JobEvent>>>>,
	live: broadcast::Sender<JobEvent>,
}

impl Default for ProgressHub {
	fn default() -> Self {
		Self { inner: Default::default(), live: broadcast::channel(1024).0 }
	}
}

impl ProgressHub {
	/// Records and broadcasts an event (callable from the training thread).
	pub fn publish(&self, job: u64, kind: &'static str, data: serde_json::Value) {
		let e = JobEvent { job, kind, data };
		{
			let mut all = self.inner.lock().expect("progress lock");
			let h = all.entry(job).or_default();
			if h.len() >= HISTORY {
				h.remove(1); // keep `started`
			}
			h.push(e.clone());
		}
		let _ = self.live.send(e);
	}

	/// A job's events so far, and a receiver for the ones after them.
	fn subscribe(&self, job: u64) -> (Vec<JobEvent>, broadcast::Receiver<JobEvent>) {
		let all = self.inner.lock().expect("progress lock");
		// Subscribed under the lock: no event falls between the history and the live stream.
		let rx = self.live.subscribe();
		(all.get(&job).cloned().unwrap_or_default(), rx)
	}

	fn latest(&self) -> Vec<JobEvent> {
		let all = self.inner.lock().expect("progress lock");
		all.values().filter_map(|h| h.last().cloned()).collect()
	}
}

/// Serves the hub on `listener` until the process ends.
pub async fn serve(listener: TcpListener, hub: ProgressHub) {
	let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
	loop {
		let Ok((stream, _)) = listener.accept().await else { continue };
		let Ok(permit) = slots.clone().try_acquire_owned() else {
			drop(stream); // full: refuse rather than queue
			continue;
		};
		let hub = hub.clone();
		tokio::spawn(async move {
			let _permit = permit;
			if let Err(e) = handle(stream, hub).await {
				tracing::debug!("progress connection: {e}");
			}
		});
	}
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
	let mut buf = Vec::new();
	let mut chunk = [0u8; 1024];
	loop {
		let n = stream.read(&mut chunk).await?;
		if n == 0 {
			return Ok(None);
		}
		buf.extend_from_slice(&chunk[..n]);
		if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
			buf.truncate(end);
			return Ok(Some(String::from_utf8_lossy(&buf).into_owned()));
		}
		if buf.len() > MAX_REQUEST {
			return Ok(None);
		}
	}
}

async fn respond(
	stream: &mut TcpStream,
	status: &str,
	ctype: &str,
	body: &str,
) -> std::io::Result<()> {
	let head = format!(
		"HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
		body.len()
	);
	stream.write_all(head.as_bytes()).await?;
	stream.write_all(body.as_bytes()).await
}

fn sse(e: &JobEvent) -> String {
	format!("event: {}\ndata: {}\n\n", e.kind, e.data)
}

async fn handle(mut stream: TcpStream, hub: ProgressHub) -> std::io::Result<()> {
	let req = match tokio::time::timeout(Duration::from_secs(10), read_request(&mut stream)).await {
		Ok(Ok(Some(r))) => r,
		_ => return Ok(()),
	};
	let line = req.lines().next().unwrap_or_default();
	let mut parts = line.split_whitespace();
	let (method, path) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
	if method != "GET" {
		return respond(&mut stream, "405 Method Not Allowed", "text/plain", "GET only\n").await;
	}
	if path == "/jobs" {
		let body = serde_json::to_string(&hub.latest()).expect("json");
		return respond(&mut stream, "200 OK", "application/json", &body).await;
	}
	let job = path
		.strip_prefix("/jobs/")
		.and_then(|r| r.strip_suffix("/events"))
		.and_then(|id| id.parse::<u64>().ok());
	let Some(job) = job else {
		return respond(
			&mut stream,
			"404 Not Found",
			"text/plain",
			"try /jobs or /jobs/<id>/events\n",
		)
		.await;
	};
	let (history, mut rx) = hub.subscribe(job);
	stream
		.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n")
		.await?;
	for e in &history {
		stream.write_all(sse(e).as_bytes()).await?;
		if e.ends() {
			return Ok(());
		}
	}
	loop {
		match rx.recv().await {
			Ok(e) if e.job == job => {
				stream.write_all(sse(&e).as_bytes()).await?;
				if e.ends() {
					return Ok(());
				}
			}
			Ok(_) => {}
			// A slow reader that fell behind skips ahead rather than holding memory.
			Err(broadcast::error::RecvError::Lagged(_)) => {}
			Err(broadcast::error::RecvError::Closed) => return Ok(()),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use tokio::io::AsyncBufReadExt;

	async fn get(addr: std::net::SocketAddr, path: &str) -> String {
		let mut s = TcpStream::connect(addr).await.unwrap();
		s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes()).await.unwrap();
		let mut out = String::new();
		s.read_to_string(&mut out).await.unwrap();
		out
	}

	#[tokio::test]
	async fn late_subscribers_get_the_history_then_live_events_until_the_end() {
		let hub = ProgressHub::default();
		let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
		let addr = listener.local_addr().unwrap();
		tokio::spawn(serve(listener, hub.clone()));
		hub.publish(3, "started", serde_json::json!({"total_steps": 2}));
		hub.publish(3, "step", serde_json::json!({"step": 0, "loss": 2.5}));
		hub.publish(4, "step", serde_json::json!({"step": 9}));

		let mut s = TcpStream::connect(addr).await.unwrap();
		s.write_all(b"GET /jobs/3/events HTTP/1.1\r\n\r\n").await.unwrap();
		let mut lines = tokio::io::BufReader::new(s).lines();
		let mut seen = Vec::new();
		while let Some(l) = lines.next_line().await.unwrap() {
			if l.starts_with("event: ") {
				seen.push(l);
				if seen.len() == 2 {
					// Live from here: another job's events are not sent, this one's are.
					hub.publish(4, "step", serde_json::json!({"step": 10}));
					hub.publish(3, "step", serde_json::json!({"step": 1, "loss": 2.1}));
					hub.publish(3, "submitted", serde_json::json!({"adapter": "0x00"}));
				}
			}
		}
		assert_eq!(seen, ["event: started", "event: step", "event: step", "event: submitted"]);
		let latest = get(addr, "/jobs").await;
		assert!(
			latest.contains("\"kind\":\"submitted\"") && latest.contains("\"job\":4"),
			"{latest}"
		);
		assert!(get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
		let post = {
			let mut s = TcpStream::connect(addr).await.unwrap();
			s.write_all(b"POST /jobs HTTP/1.1\r\n\r\n").await.unwrap();
			let mut out = String::new();
			s.read_to_string(&mut out).await.unwrap();
			out
		};
		assert!(post.starts_with("HTTP/1.1 405"));
	}

	#[tokio::test]
	async fn an_oversized_request_is_dropped_without_an_answer() {
		let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
		let addr = listener.local_addr().unwrap();
		tokio::spawn(serve(listener, ProgressHub::default()));
		let mut s = TcpStream::connect(addr).await.unwrap();
		let _ = s.write_all(&vec![b'a'; MAX_REQUEST + 2048]).await;
		let mut out = Vec::new();
		let _ = s.read_to_end(&mut out).await;
		assert!(out.is_empty());
	}
}
