//! `GET /rewards/{job}/{account}`: the lines of `job`'s payout table that pay `account`, each with
//! its Merkle proof, so the page can ask the node what each would pay (`rewards_claimable`) and
//! sign `rewards.claim` itself. The table is fetched from the data peers by the hash the job's
//! result commits to and taken only if it is that table (`PayoutTable::from_committed`: well
//! formed, shares recomputed, root, leaf count and total equal to the commitment); the server
//! signs nothing.

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
use std::sync::Arc;
use tributary_client::{payout::PayoutTable, training::JobState};

pub fn routes(r: Arc<ChainPeers>) -> Router {
	Router::new().route("/rewards/:job/:account", get(lines)).with_state(r)
}

async fn lines(
	State(r): State<Arc<ChainPeers>>,
	Path((job, account)): Path<(u64, String)>,
) -> Response {
	let Ok(account) = account.parse::<subxt::utils::AccountId32>() else {
		return refuse(StatusCode::BAD_REQUEST, format!("`{account}` is not an SS58 address"));
	};
	let client = match r.client().await {
		Ok(c) => c,
		Err(unreachable) => return unreachable,
	};
	let commitment = match client.job(job).await.map(|j| j.state) {
		Ok(JobState::Submitted { attribution, .. } | JobState::Finalized { attribution, .. }) => {
			attribution
		}
		Ok(_) => return refuse(StatusCode::NOT_FOUND, format!("job {job} has no result yet")),
		Err(e) => return refuse(StatusCode::NOT_FOUND, format!("job {job}: {e}")),
	};
	if commitment.table_bytes == 0 || commitment.table_bytes > r.peers.max_bytes as u64 {
		return refuse(
			StatusCode::NOT_FOUND,
			format!("job {job}'s payout table cannot be served here"),
		);
	}
	let Ok(_permit) = r.peers.gate.try_acquire() else { return busy() };
	let fetched = r.peers.fetch_bytes(commitment.table, commitment.table_bytes).await;
	let bytes = match fetched {
		Ok(b) => b,
		Err(e) => {
			return refuse(
				StatusCode::BAD_GATEWAY,
				format!("job {job}'s payout table could not be fetched: {e}"),
			)
		}
	};
	let table = match PayoutTable::from_committed(&bytes, job, &commitment) {
		Ok(t) => t,
		Err(e) => return refuse(StatusCode::BAD_GATEWAY, format!("job {job}'s payout table: {e}")),
	};
	let lines: Vec<serde_json::Value> = table
		.claims_of(&account)
		.into_iter()
		.map(|c| {
			serde_json::json!({
				"index": c.index,
				"leaf": {
					"role": format!("{:?}", c.leaf.role).to_lowercase(),
					"account": subxt::utils::AccountId32(c.leaf.account).to_string(),
					"item": c.leaf.item,
					"ppm": c.leaf.ppm,
				},
				"proof": c.proof.iter().map(|h| format!("0x{}", hex::encode(h))).collect::<Vec<_>>(),
			})
		})
		.collect();
	Json(serde_json::json!({ "job": job, "datanet": table.datanet, "version": table.version, "lines": lines }))
		.into_response()
}
