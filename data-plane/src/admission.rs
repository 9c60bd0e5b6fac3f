//! Who may make this peer fetch and keep a blob (the upload path), and how much at once.
//!
//! A push costs the receiver a fetch, disk space and a pin, and anyone can send one. So a push is
//! taken only when:
//! 1. the pusher has a free slot: at most [`PushLimits::per_peer`] of its pushes, and
//!    [`PushLimits::in_flight`] in all, are being fetched at once; a peer whose pushes keep
//!    failing their voucher is turned away for a while ([`PushLimits::strikes`]);
//! 2. its [`Voucher`] holds: an on-chain record someone paid for declares this very hash and size
//!    (checked by the [`Vouch`] the worker gives, against the chain);
//! 3. the store can reserve the blob's whole size now ([`ContentStore::reserve`]), evicting only
//!    unpinned data.
//!
//! Then the blob is pinned as `upload` for [`PushLimits::pin_for`] and fetched from the pusher,
//! verified group by group; the slot and the reservation are held until the fetch ends. A fetch
//! that fails leaves nothing behind: its partial file and its pin go.

use crate::fetch::{fetch, FetchOptions};
use crate::net::{DataNode, NodeEvent, PushHandler};
use crate::protocol::{BlobResponse, Voucher};
use crate::store::{now_secs, ContentStore, StoreError};
use crate::tree::Hash;
use libp2p::PeerId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Checks a voucher against the chain.
#[async_trait::async_trait]
pub trait Vouch: Send + Sync + 'static {
	/// `Ok` when the record `voucher` names declares `hash` of `size` bytes and still needs the
	/// bytes; otherwise why not, in a sentence for the pusher.
	async fn vouch(&self, hash: &Hash, size: u64, voucher: &Voucher) -> Result<(), String>;
}

#[derive(Debug, Clone)]
pub struct PushLimits {
	/// Pushes being fetched at once, from everyone.
	pub in_flight: usize,
	/// Pushes being fetched at once, from one peer.
	pub per_peer: usize,
	/// Failed vouchers from one peer before its pushes are refused for `cooldown`.
	pub strikes: u32,
	pub cooldown: Duration,
	/// How long a pushed blob stays pinned while its record waits on chain (the curators'
	/// pins take over once they fetch it).
	pub pin_for: Duration,
	/// A pushed blob's fetch gives up after this long without progress.
	pub give_up_after: Duration,
}

impl Default for PushLimits {
	fn default() -> Self {
		Self {
			in_flight: 16,
			per_peer: 2,
			strikes: 16,
			cooldown: Duration::from_secs(600),
			pin_for: Duration::from_secs(24 * 3600),
			give_up_after: Duration::from_secs(60),
		}
	}
}

/// Takes pushes by the rules above.
pub struct Admission {
	vouch: Arc<dyn Vouch>,
	limits: PushLimits,
	state: Mutex<State>,
}

#[derive(Default)]
struct State {
	in_flight: usize,
	per_peer: HashMap<PeerId, usize>,
	/// Failed vouchers per peer, and since when it is counted.
	strikes: HashMap<PeerId, (u32, Instant)>,
}

/// One push's place in the limits; given back when dropped.
struct Slot {
	admission: Arc<Admission>,
	peer: PeerId,
}

impl Drop for Slot {
	fn drop(&mut self) {
		let mut s = self.admission.state.lock().unwrap();
		s.in_flight -= 1;
		if let Some(n) = s.per_peer.get_mut(&self.peer) {
			*n -= 1;
			if *n == 0 {
				s.per_peer.remove(&self.peer);
			}
		}
	}
}

/// The holder name of a pushed blob's pin (see [`crate::pins`]).
pub const UPLOAD_PIN: &str = "upload";

impl Admission {
	pub fn new(vouch: Arc<dyn Vouch>, limits: PushLimits) -> Arc<Self> {
		Arc::new(Self { vouch, limits, state: Mutex::default() })
	}

	fn slot(self: &Arc<Self>, peer: PeerId) -> Result<Slot, String> {
		let mut s = self.state.lock().unwrap();
		if let Some((n, since)) = s.strikes.get(&peer).copied() {
			if since.elapsed() >= self.limits.cooldown {
				s.strikes.remove(&peer);
			} else if n >= self.limits.strikes {
				return Err(format!(
					"{n} of your pushes named no record that declares them; try again later"
				));
			}
		}
		if s.in_flight >= self.limits.in_flight {
			return Err(format!("busy: {} uploads in progress; try again later", s.in_flight));
		}
		let mine = s.per_peer.get(&peer).copied().unwrap_or(0);
		if mine >= self.limits.per_peer {
			return Err(format!("you have {mine} uploads in progress here; wait for them"));
		}
		s.in_flight += 1;
		*s.per_peer.entry(peer).or_default() += 1;
		Ok(Slot { admission: self.clone(), peer })
	}

	fn strike(&self, peer: PeerId) {
		let mut s = self.state.lock().unwrap();
		let e = s.strikes.entry(peer).or_insert((0, Instant::now()));
		e.0 += 1;
	}

	async fn admit(
		self: Arc<Self>,
		node: DataNode,
		from: PeerId,
		hash: Hash,
		size: u64,
		voucher: Voucher,
	) -> BlobResponse {
		let store = node.store().clone();
		if size > store.budget() {
			let budget = store.budget();
			return BlobResponse::Refused(format!(
				"{size} bytes exceed this peer's {budget}-byte store"
			));
		}
		let slot = match self.slot(from) {
			Ok(s) => s,
			Err(why) => return BlobResponse::Refused(why),
		};
		if let Err(why) = self.vouch.vouch(&hash, size, &voucher).await {
			self.strike(from);
			return BlobResponse::Refused(why);
		}
		let until = Some(now_secs() + self.limits.pin_for.as_secs());
		if store.has(&hash) {
			return pin_for_upload(&store, &hash, until);
		}
		let room = match store.reserve(&hash, size) {
			Ok(room) => room,
			Err(e @ StoreError::Full { .. }) => return BlobResponse::Refused(e.to_string()),
			Err(e) => return BlobResponse::Refused(format!("cannot take it: {e}")),
		};
		let Some(room) = room else {
			// Another transfer of these bytes is under way here: it will hold them.
			return pin_for_upload(&store, &hash, until);
		};
		// Pinned before the first byte arrives, so eviction cannot take it between fetch and pin.
		if let Err(e) = store.pin(&hash, UPLOAD_PIN, until) {
			return BlobResponse::Refused(format!("cannot pin: {e}"));
		}
		let give_up_after = self.limits.give_up_after;
		tokio::spawn(async move {
			let opts = FetchOptions {
				providers: vec![from],
				expected_size: Some(size),
				give_up_after,
				..Default::default()
			};
			match fetch(&node, hash, opts).await {
				Ok(_) => node.notify(NodeEvent::PushStored { from, hash }),
				Err(e) => {
					tracing::warn!(%from, hash = %hex::encode(hash), "pushed blob not stored: {e}");
					store.abandon(&hash);
					let _ = store.unpin(&hash, UPLOAD_PIN);
				}
			}
			drop((room, slot));
		});
		BlobResponse::PushAccepted
	}
}

/// Pins `hash` as an upload until `until` and accepts the push, or says why it cannot.
fn pin_for_upload(store: &ContentStore, hash: &Hash, until: Option<u64>) -> BlobResponse {
	match store.pin(hash, UPLOAD_PIN, until) {
		Ok(()) => BlobResponse::PushAccepted,
		Err(e) => BlobResponse::Refused(format!("cannot pin: {e}")),
	}
}

impl PushHandler for Admission {
	fn push(
		self: Arc<Self>,
		node: DataNode,
		from: PeerId,
		hash: Hash,
		size: u64,
		voucher: Voucher,
	) -> futures::future::BoxFuture<'static, BlobResponse> {
		Box::pin(self.admit(node, from, hash, size, voucher))
	}
}
