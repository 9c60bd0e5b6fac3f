//! `GET /adapters/{model}`: a trained model's PEFT adapter to download, as the canonical adapter
//! blob (a tar of `adapter_config.json` and `adapter_model.safetensors`: `tar xf` gives the
//! folder PEFT loads). The bytes are fetched from the data peers by the hash the chain records
//! for the model, verified as they arrive, and served only if they are a canonical blob; the
//! response names that hash (`x-adapter-blake3`) so a download can be checked against the chain.

use crate::{
	data_peers::{busy, ChainPeers},
	upload::refuse,
};
use axum::{
	extract::{Path, State},
	http::{header, StatusCode},
	response::{IntoResponse, Response},
	routing::get,
	Router,
};
use std::sync::Arc;
use tributary_client::ClientError;

pub fn routes(a: Arc<ChainPeers>) -> Router {
	Router::new().route("/adapters/:model", get(download)).with_state(a)
}

async fn download(State(a): State<Arc<ChainPeers>>, Path(model): Path<String>) -> Response {
	let Ok(id) = model.trim_start_matches("model-").parse::<u64>() else {
		return refuse(StatusCode::BAD_REQUEST, format!("`{model}` is not a model id"));
	};
	let client = match a.client().await {
		Ok(c) => c,
		Err(unreachable) => return unreachable,
	};
	let m = match client.model(id).await {
		Ok(m) => m,
		Err(ClientError::NotFound { .. }) => {
			return refuse(StatusCode::NOT_FOUND, format!("no model {id} on chain"))
		}
		Err(e) => return refuse(StatusCode::BAD_GATEWAY, format!("the node: {e}")),
	};
	if m.adapter_bytes == 0 || m.adapter_bytes > a.peers.max_bytes as u64 {
		return refuse(
			StatusCode::PAYLOAD_TOO_LARGE,
			format!(
				"model {id}'s adapter is {} bytes; this Studio serves at most {} (`tributary model fetch {id}` has no limit)",
				m.adapter_bytes, a.peers.max_bytes
			),
		);
	}
	let Ok(_permit) = a.peers.gate.try_acquire() else { return busy() };
	let blob = match a.peers.fetch_bytes(m.adapter_hash, m.adapter_bytes).await {
		Ok(b) => b,
		Err(e) => {
			return refuse(
				StatusCode::BAD_GATEWAY,
				format!("model {id}'s adapter could not be fetched: {e}"),
			)
		}
	};
	if let Err(e) = tributary_client::adapter_blob::members(&blob) {
		return refuse(StatusCode::BAD_GATEWAY, format!("model {id}'s adapter on chain: {e}"));
	}
	let name = format!("attachment; filename=\"model-{id}-adapter.tar\"");
	(
		[
			(header::CONTENT_TYPE, "application/x-tar".to_string()),
			(header::CONTENT_DISPOSITION, name),
			(header::HeaderName::from_static("x-adapter-blake3"), hex::encode(m.adapter_hash)),
		],
		blob,
	)
		.into_response()
}
