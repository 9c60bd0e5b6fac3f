//! The Studio's own data node: how the browser's uploads reach data peers and previews come back
//! from them (libp2p, which a browser cannot speak). No listening address: peers fetch from us,
//! and we from them, over the connections we open. Its store is temporary and only holds what is
//! in flight.

use crate::upload::refuse;
use axum::{http::StatusCode, response::Response};
use data_plane::{ContentStore, DataNode, FetchOptions, Hash, Multiaddr, NetConfig};
use libp2p::PeerId;
use std::{sync::Arc, time::Duration};
use tokio::sync::Semaphore;

/// Transfers (uploads and previews together) handled at once; others are told to retry.
pub const CONCURRENT: usize = 4;

pub struct DataPeers {
	pub node: DataNode,
	pub peers: Vec<Multiaddr>,
	/// Largest body or preview moved, in bytes.
	pub max_bytes: usize,
	/// How long an upload waits for a peer to hold it.
	pub upload_timeout: Duration,
	/// How long a preview waits without progress.
	pub preview_timeout: Duration,
	pub gate: Semaphore,
	/// One fetch of a blob at a time: requests for the same blob (a curator's preview and its
	/// check) share the one store, and the first to finish deleted it under the other.
	inflight: std::sync::Mutex<std::collections::HashMap<Hash, Arc<tokio::sync::Mutex<()>>>>,
	_dir: tempfile::TempDir,
}

impl DataPeers {
	pub async fn start(
		peers: Vec<Multiaddr>,
		max_bytes: usize,
		upload_timeout: Duration,
		preview_timeout: Duration,
	) -> anyhow::Result<DataPeers> {
		let dir = tempfile::tempdir()?;
		let budget = (max_bytes as u64 + (1 << 20)) * CONCURRENT as u64;
		let store = Arc::new(ContentStore::open(dir.path(), budget)?);
		let cfg = NetConfig { listen: vec![], ..Default::default() };
		let key = libp2p::identity::Keypair::generate_ed25519();
		let node = DataNode::start(key, store, cfg).await?;
		Ok(DataPeers {
			node,
			peers,
			max_bytes,
			upload_timeout,
			preview_timeout,
			gate: Semaphore::new(CONCURRENT),
			inflight: Default::default(),
			_dir: dir,
		})
	}

	/// Dials every configured peer (again: a peer may have restarted); the reached ones, and why
	/// the others were not.
	pub async fn reach(&self) -> (Vec<PeerId>, Vec<String>) {
		let (mut ids, mut unreachable) = (Vec::new(), Vec::new());
		for addr in &self.peers {
			match self.node.dial(addr.clone()).await {
				Ok(p) => ids.push(p),
				Err(e) => unreachable.push(format!("{addr}: unreachable ({e})")),
			}
		}
		(ids, unreachable)
	}

	/// Fetches blob `hash` of `size` bytes from the peers (verified as it arrives), reads it, and
	/// deletes it here; the caller holds a permit of [`Self::gate`]. `Err` says why, for the user.
	pub async fn fetch_bytes(&self, hash: Hash, size: u64) -> Result<Vec<u8>, String> {
		let one = self.inflight.lock().expect("inflight").entry(hash).or_default().clone();
		let held = one.lock().await;
		let bytes = self.fetch_bytes_alone(hash, size).await;
		drop(held);
		let mut inflight = self.inflight.lock().expect("inflight");
		// The map's and ours: nobody else waits for this blob.
		if Arc::strong_count(&one) == 2 {
			inflight.remove(&hash);
		}
		bytes
	}

	/// [`Self::fetch_bytes`] while no other request fetches `hash`.
	async fn fetch_bytes_alone(&self, hash: Hash, size: u64) -> Result<Vec<u8>, String> {
		let (providers, unreachable) = self.reach().await;
		if providers.is_empty() {
			return Err(format!("no data peer reached: {}", unreachable.join("; ")));
		}
		let opts = FetchOptions {
			providers,
			expected_size: Some(size),
			give_up_after: self.preview_timeout,
			..Default::default()
		};
		let store = self.node.store().clone();
		let bytes = data_plane::fetch(&self.node, hash, opts)
			.await
			.map_err(|e| e.to_string())
			.and_then(|_| store.read_all(&hash).map_err(|e| e.to_string()));
		store.remove(&hash);
		bytes
	}
}

/// The answer to a transfer past [`DataPeers::gate`]'s limit.
pub(crate) fn busy() -> Response {
	refuse(StatusCode::SERVICE_UNAVAILABLE, "busy with other transfers: try again".into())
}

/// What the routes that read the chain and then fetch from the data peers share (payout tables,
/// adapters, content checks): the peers, and the node's RPC as this server reaches it.
pub struct ChainPeers {
	pub peers: Arc<DataPeers>,
	pub rpc: String,
}

impl ChainPeers {
	/// A client of the node, or the 502 that says it cannot be reached.
	pub async fn client(&self) -> Result<tributary_client::Client, Response> {
		tributary_client::Client::connect(&self.rpc)
			.await
			.map_err(|e| refuse(StatusCode::BAD_GATEWAY, format!("the node: {e}")))
	}
}
