//! The upload path, pusher's side: import a file, ask data peers to fetch it from us (naming the
//! on-chain record that vouches for it, see [`crate::admission`]), and serve it until they hold it.

use crate::fetch::kind;
use crate::net::{DataNode, RequestError};
use crate::protocol::{BlobRequest, BlobResponse, Voucher};
use crate::store::ContentStore;
use crate::tree::Hash;
use libp2p::PeerId;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum PushError {
	#[error("peer {peer} refused the upload: {reason}")]
	Refused { peer: PeerId, reason: String },
	#[error("peer {peer} did not confirm it holds the blob within {waited:?}")]
	NotStored { peer: PeerId, waited: Duration },
	#[error(transparent)]
	Request(#[from] RequestError),
	#[error("peer {peer} answered the upload with {answer}")]
	Unexpected { peer: PeerId, answer: &'static str },
}

/// Asks `peer` to fetch `hash` from us and keep it, naming the on-chain record that declares it,
/// then waits (serving it meanwhile) until the peer holds the complete, verified blob, or
/// `timeout` passes without that.
pub async fn push(
	node: &DataNode,
	peer: PeerId,
	hash: Hash,
	size: u64,
	voucher: Voucher,
	timeout: Duration,
) -> Result<(), PushError> {
	match node.request(peer, BlobRequest::Push { hash, size, voucher }).await? {
		BlobResponse::PushAccepted => {}
		BlobResponse::Refused(reason) => return Err(PushError::Refused { peer, reason }),
		other => return Err(PushError::Unexpected { peer, answer: kind(other) }),
	}
	let start = Instant::now();
	loop {
		match node.request(peer, BlobRequest::Has(hash)).await? {
			BlobResponse::Have { complete: true, .. } => return Ok(()),
			BlobResponse::Have { .. } => {}
			other => return Err(PushError::Unexpected { peer, answer: kind(other) }),
		}
		if start.elapsed() > timeout {
			return Err(PushError::NotStored { peer, waited: start.elapsed() });
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

/// Imports `path` into the node's store and pushes it to each of `peers` under `voucher`. Succeeds
/// when at least one peer holds it; returns the hash and, per peer, the outcome.
pub async fn upload(
	node: &DataNode,
	path: &Path,
	peers: &[PeerId],
	voucher: Voucher,
	timeout: Duration,
) -> anyhow::Result<(Hash, Vec<(PeerId, Result<(), PushError>)>)> {
	let store: &ContentStore = node.store();
	let (hash, ob) = store.import_file(path)?;
	node.provide(hash, ob.size);
	let results = futures::future::join_all(
		peers
			.iter()
			.map(|p| async move { (*p, push(node, *p, hash, ob.size, voucher, timeout).await) }),
	)
	.await;
	if !peers.is_empty() && results.iter().all(|(_, r)| r.is_err()) {
		let why: Vec<String> =
			results.iter().map(|(_, r)| r.as_ref().unwrap_err().to_string()).collect();
		anyhow::bail!("no data peer took {}: {}", path.display(), why.join("; "));
	}
	Ok((hash, results))
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::admission::{Admission, PushLimits, Vouch, UPLOAD_PIN};
	use crate::net::NetConfig;
	use crate::store::now_secs;
	use crate::tree::GROUP_LEN;
	use libp2p::multiaddr::Protocol;
	use libp2p::Multiaddr;
	use std::collections::HashMap;
	use std::sync::{Arc, Mutex};

	/// Records as a chain would hold them: voucher to (hash, size). The worker's own `Vouch` asks
	/// the real chain (tested end to end); here the rules around it are.
	#[derive(Default)]
	struct Records(Mutex<HashMap<Voucher, (Hash, u64)>>);

	#[async_trait::async_trait]
	impl Vouch for Records {
		async fn vouch(&self, hash: &Hash, size: u64, voucher: &Voucher) -> Result<(), String> {
			match self.0.lock().unwrap().get(voucher) {
				Some((h, s)) if h == hash && *s == size => Ok(()),
				Some(_) => Err(format!("{voucher:?} declares other content")),
				None => Err(format!("no record {voucher:?}")),
			}
		}
	}

	struct Peer {
		node: DataNode,
		_dir: tempfile::TempDir,
	}

	async fn peer(budget: u64, pushes: Option<Arc<dyn crate::net::PushHandler>>) -> Peer {
		let dir = tempfile::tempdir().unwrap();
		let store = Arc::new(ContentStore::open(dir.path().join("store"), budget).unwrap());
		let key = crate::net::load_or_create_identity(&dir.path().join("key")).unwrap();
		let node =
			DataNode::start_with_pushes(key, store, NetConfig::default(), pushes).await.unwrap();
		Peer { node, _dir: dir }
	}

	use crate::testing::random_bytes as data;

	async fn addr(p: &Peer) -> Multiaddr {
		let addrs = p.node.listen_addrs().await;
		addrs.into_iter().find(|a| a.iter().any(|x| matches!(x, Protocol::Tcp(_)))).unwrap()
	}

	fn write(p: &Peer, name: &str, d: &[u8]) -> std::path::PathBuf {
		let f = p._dir.path().join(name);
		std::fs::write(&f, d).unwrap();
		f
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn an_upload_is_taken_only_under_a_voucher_that_declares_it_and_is_pinned() {
		let records = Arc::new(Records::default());
		let admission = Admission::new(records.clone(), PushLimits::default());
		let worker = peer(1 << 30, Some(admission)).await;
		let refuser = peer(1 << 30, None).await;
		let client = peer(1 << 30, None).await;
		let d = data(2 * GROUP_LEN as usize + 1, 3);
		let h = *blake3::hash(&d).as_bytes();
		let file = write(&client, "contribution.bin", &d);
		let w = client.node.dial(addr(&worker).await).await.unwrap();
		let r = client.node.dial(addr(&refuser).await).await.unwrap();
		let t = Duration::from_secs(30);
		// No record declares it yet: refused, nothing fetched, nothing pinned.
		let err = upload(&client.node, &file, &[w], Voucher::Contribution(7), t).await.unwrap_err();
		assert!(err.to_string().contains("no record"), "{err}");
		// A record that declares other bytes (or another size) does not vouch for these.
		records.0.lock().unwrap().insert(Voucher::Contribution(7), (h, d.len() as u64 - 1));
		let err = upload(&client.node, &file, &[w], Voucher::Contribution(7), t).await.unwrap_err();
		assert!(err.to_string().contains("declares other content"), "{err}");
		assert!(!worker.node.store().has(&h) && worker.node.store().pins_of(&h).holders.is_empty());
		// Declared on chain: taken, verified and pinned for the upload.
		records.0.lock().unwrap().insert(Voucher::Contribution(7), (h, d.len() as u64));
		let (got, results) =
			upload(&client.node, &file, &[w, r], Voucher::Contribution(7), t).await.unwrap();
		assert_eq!(got, h);
		assert!(results[0].1.is_ok(), "{:?}", results[0].1);
		assert!(
			matches!(&results[1].1, Err(PushError::Refused { reason, .. }) if reason.contains("uploads"))
		);
		assert_eq!(worker.node.store().read_all(&h).unwrap(), d);
		let pins = worker.node.store().pins_of(&h);
		assert!(pins.live(now_secs()) && pins.held_by(UPLOAD_PIN));
		// Only refusers: the upload fails with their reasons.
		let err =
			upload(&client.node, &file, &[r], Voucher::Contribution(7), Duration::from_secs(5))
				.await
				.unwrap_err();
		assert!(err.to_string().contains("no data peer took"), "{err}");
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn many_peers_pushing_at_once_stay_within_the_quotas_and_the_budget() {
		let records = Arc::new(Records::default());
		let limits = PushLimits { in_flight: 3, per_peer: 1, strikes: 2, ..Default::default() };
		let admission = Admission::new(records.clone(), limits);
		// Room for four 1 MiB blobs.
		let worker = peer(4 * GROUP_LEN, Some(admission)).await;
		let w_addr = addr(&worker).await;
		let mut pushers = vec![];
		for i in 0..8u64 {
			let p = peer(1 << 30, None).await;
			let d = data(GROUP_LEN as usize, 100 + i);
			let h = p.node.store().put_bytes(&d).unwrap();
			records.0.lock().unwrap().insert(Voucher::Contribution(i), (h, d.len() as u64));
			let w = p.node.dial(w_addr.clone()).await.unwrap();
			pushers.push((p, w, h));
		}
		// All eight push at once: at most three are fetched at a time, and no more than fit the
		// budget are ever taken; the rest are told why.
		let results =
			futures::future::join_all(pushers.iter().enumerate().map(|(i, (p, w, h))| {
				push(
					&p.node,
					*w,
					*h,
					GROUP_LEN,
					Voucher::Contribution(i as u64),
					Duration::from_secs(30),
				)
			}))
			.await;
		let taken = results.iter().filter(|r| r.is_ok()).count();
		let refused: Vec<String> = results
			.iter()
			.filter_map(|r| match r {
				Err(PushError::Refused { reason, .. }) => Some(reason.clone()),
				_ => None,
			})
			.collect();
		assert_eq!(taken + refused.len(), 8, "{results:?}");
		assert!((1..=4).contains(&taken), "{taken} taken: {refused:?}");
		assert!(refused.iter().all(|r| r.contains("busy") || r.contains("full")), "{refused:?}");
		let store = worker.node.store();
		assert!(store.used() <= 4 * GROUP_LEN, "{} bytes used", store.used());
		assert_eq!(store.reserved(), 0);
		// Pushes that name no record, from one peer: after `strikes` of them it is turned away
		// before any lookup, even with a good voucher.
		let (p, w, h) = &pushers[7];
		for _ in 0..2 {
			let r = push(&p.node, *w, *h, GROUP_LEN, Voucher::BaseModel(9), Duration::from_secs(5));
			assert!(
				matches!(r.await, Err(PushError::Refused { reason, .. }) if reason.contains("no record"))
			);
		}
		let r = push(&p.node, *w, *h, GROUP_LEN, Voucher::Contribution(7), Duration::from_secs(5));
		assert!(
			matches!(r.await, Err(PushError::Refused { reason, .. }) if reason.contains("try again later"))
		);
	}
}
