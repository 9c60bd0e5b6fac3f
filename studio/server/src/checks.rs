//! `GET /check/{contribution}`: the content checks the curator workers run (content-check: the
//! bytes against the chain's hash and size, the datanet's formats and modality, and each format's
//! own rules), run here on the contribution's bytes fetched from the data peers, so a curator
//! sees before voting what the workers will find. Duplicates are not judged here (each worker
//! keeps its own index of what it accepted).
//!
//! Anyone can ask: a check costs a chain read, a fetch bounded by the preview size cap and a
//! decode bounded by content-check's limits, under the same concurrency gate as previews.

use crate::{
	data_peers::{busy, ChainPeers},
	upload::refuse,
};
use axum::{
	extract::{Path, State},
	http::StatusCode,
	response::{IntoResponse, Response},
	routing::get,
	Json, Router,
};
use content_check::{Checked, Declared, Limits, Modality};
use std::sync::Arc;

pub fn routes(c: Arc<ChainPeers>) -> Router {
	Router::new().route("/check/:contribution", get(check)).with_state(c)
}

/// What a passing check found, in a few words.
fn found(c: &Checked) -> String {
	match c {
		Checked::Text { chars, records: Some(r), .. } => {
			format!("text, {chars} characters in {r} records")
		}
		Checked::Text { chars, .. } => format!("text, {chars} characters"),
		Checked::Image { width, height } => format!("image, {width}×{height}"),
		Checked::Audio { secs, rate, channels } => {
			format!("audio, {secs:.1} s at {rate} Hz, {channels} channel(s)")
		}
	}
}

async fn check(State(c): State<Arc<ChainPeers>>, Path(id): Path<u64>) -> Response {
	let client = match c.client().await {
		Ok(c) => c,
		Err(unreachable) => return unreachable,
	};
	let contribution = match client.contribution(id).await {
		Ok(x) => x,
		Err(e) => return refuse(StatusCode::NOT_FOUND, format!("contribution {id}: {e}")),
	};
	let datanet = match client.datanet(contribution.datanet).await {
		Ok(Some(d)) => d,
		Ok(None) => {
			return refuse(StatusCode::NOT_FOUND, format!("no datanet {}", contribution.datanet))
		}
		Err(e) => return refuse(StatusCode::BAD_GATEWAY, format!("the node: {e}")),
	};
	let Some(modality) = Modality::from_name(&datanet.modality) else {
		return refuse(StatusCode::BAD_GATEWAY, format!("unknown modality {}", datanet.modality));
	};
	let hex = contribution.content_hash.trim_start_matches("0x");
	let Some(hash) = hex::decode(hex).ok().and_then(|b| <[u8; 32]>::try_from(b).ok()) else {
		return refuse(StatusCode::BAD_GATEWAY, "the chain's hash is not 32 bytes".into());
	};
	if contribution.bytes == 0 || contribution.bytes > c.peers.max_bytes as u64 {
		return refuse(
			StatusCode::PAYLOAD_TOO_LARGE,
			format!(
				"checks here take at most {} bytes; the workers check larger ones",
				c.peers.max_bytes
			),
		);
	}
	let Ok(_permit) = c.peers.gate.try_acquire() else { return busy() };
	let bytes = match c.peers.fetch_bytes(hash, contribution.bytes).await {
		Ok(b) => b,
		Err(e) => {
			return refuse(StatusCode::BAD_GATEWAY, format!("the bytes could not be fetched: {e}"))
		}
	};
	let (format, allowed) = (contribution.format.clone(), datanet.formats.clone());
	let size = contribution.bytes;
	// Decoding is CPU work: off the async threads, while the gate's permit is held.
	let checked = tokio::task::spawn_blocking(move || {
		let declared = Declared { hash, size, format: &format, modality, allowed: &allowed };
		content_check::check(&bytes, &declared, &Limits::default())
	})
	.await;
	let body = match checked {
		Ok(Ok(found_)) => serde_json::json!({ "passes": true, "found": found(&found_) }),
		Ok(Err(reason)) => match reason.code() {
			Some(code) => {
				serde_json::json!({ "passes": false, "code": format!("{code:?}"), "reason": reason.to_string() })
			}
			None => serde_json::json!({ "passes": null, "reason": reason.to_string() }),
		},
		Err(e) => {
			return refuse(StatusCode::INTERNAL_SERVER_ERROR, format!("the check failed: {e}"))
		}
	};
	Json(body).into_response()
}
