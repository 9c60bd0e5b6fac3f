//! `POST /upload/{contribution}`: the bytes of a contribution the browser has already declared on
//! chain, handed to the data peers as `tributary contribute` does: pushed under the contribution's
//! id, held here only until a peer has fetched and verified them.
//!
//! Who can send what, and what it costs: anyone who reaches this address can post. A data peer
//! takes a push only for bytes a record on chain declares (hash and size) and refuses anything
//! else before a byte moves, so junk costs the sender a request and us one bounded body: bodies
//! are capped (`--max-upload`), few transfers run at once (others get 503), and the bytes are
//! deleted here once the push is over.

use crate::data_peers::{busy, DataPeers};
use axum::{
	body::Body,
	extract::{Path, State},
	http::StatusCode,
	response::{IntoResponse, Response},
	routing::post,
	Json, Router,
};
use data_plane::Voucher;
use std::sync::Arc;

pub fn routes(peers: Arc<DataPeers>) -> Router {
	Router::new().route("/upload/:contribution", post(upload)).with_state(peers)
}

pub(crate) fn refuse(status: StatusCode, message: String) -> Response {
	(status, Json(serde_json::json!({ "error": message }))).into_response()
}

async fn upload(
	State(dp): State<Arc<DataPeers>>,
	Path(contribution): Path<u64>,
	body: Body,
) -> Response {
	let Ok(_permit) = dp.gate.try_acquire() else { return busy() };
	let bytes = match axum::body::to_bytes(body, dp.max_bytes).await {
		Ok(b) if !b.is_empty() => b,
		Ok(_) => return refuse(StatusCode::BAD_REQUEST, "empty body".into()),
		Err(_) => {
			return refuse(
				StatusCode::PAYLOAD_TOO_LARGE,
				format!("over this Studio's upload limit of {} bytes", dp.max_bytes),
			)
		}
	};
	let store = dp.node.store().clone();
	let hash = match store.put_bytes(&bytes) {
		Ok(h) => h,
		Err(e) => {
			return refuse(StatusCode::SERVICE_UNAVAILABLE, format!("cannot hold the bytes: {e}"))
		}
	};
	let size = bytes.len() as u64;
	drop(bytes);
	dp.node.provide(hash, size);
	let (reached, mut refusals) = dp.reach().await;
	let mut taken = 0;
	for peer in reached {
		let voucher = Voucher::Contribution(contribution);
		match data_plane::push(&dp.node, peer, hash, size, voucher, dp.upload_timeout).await {
			Ok(()) => taken += 1,
			Err(e) => refusals.push(e.to_string()),
		}
	}
	store.remove(&hash);
	let hash = format!("0x{}", hex::encode(hash));
	if taken == 0 {
		tracing::info!(contribution, %hash, "upload refused: {}", refusals.join("; "));
		return refuse(
			StatusCode::BAD_GATEWAY,
			format!("no data peer took the bytes: {}", refusals.join("; ")),
		);
	}
	tracing::info!(contribution, %hash, peers = taken, "uploaded");
	Json(
		serde_json::json!({ "hash": hash, "bytes": size, "uploaded_to": taken, "refused": refusals }),
	)
	.into_response()
}
