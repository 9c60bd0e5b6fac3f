//! Fetching a blob from the network, verified as it arrives.
//!
//! [`fetch`] asks a provider for the outboard (checked against the wanted hash), then keeps a window of
//! group requests in flight spread over every provider it knows. Each group is verified before it is
//! written. A provider that fails, times out, disconnects or sends bad bytes is dropped and its groups go
//! back in the queue for the others; when no provider is left it asks the DHT and gossip again, and gives
//! up only after [`FetchOptions::give_up_after`] without progress. Whatever was received stays in the
//! store's partial file, so a later fetch (even after a restart) resumes where this one stopped.

use crate::net::DataNode;
use crate::pool::GroupBuf;
use crate::protocol::{BlobRequest, BlobResponse, MAX_RUN};
use crate::store::{ContentStore, Partial, StoreError, VerifiedGroup};
use crate::tree::{Hash, Outboard};
use futures::stream::{FuturesUnordered, StreamExt};
use libp2p::PeerId;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[derive(Debug, Clone)]
pub struct FetchOptions {
	/// Peers to try first (e.g. the uploader); others are found through the DHT and gossip.
	pub providers: Vec<PeerId>,
	/// The size the chain declares, when known. An outboard of another size whose last group
	/// verifies ends the fetch with [`FetchError::SizeMismatch`]: the declaration is provably false.
	/// One whose last group does not verify is a provider's lie: the provider is banned.
	pub expected_size: Option<u64>,
	/// Groups asked for and not yet received, in total and per provider.
	pub window: usize,
	pub per_provider: usize,
	/// Consecutive groups asked for in one request (1 to [`MAX_RUN`]).
	pub run: u32,
	/// Connections to each provider while fetching from it (see [`DataNode::open_lanes`]).
	pub lanes: usize,
	/// Give up after this long without receiving a verified group (or an outboard).
	pub give_up_after: Duration,
	/// Stop after receiving this many groups in this call, leaving a resumable partial transfer.
	pub stop_after: Option<u64>,
	/// Progress after each group is written (a fetch killed after `have` resumes from at least `have`).
	pub progress: Option<mpsc::UnboundedSender<Progress>>,
}

impl Default for FetchOptions {
	fn default() -> Self {
		Self {
			providers: vec![],
			expected_size: None,
			window: 32,
			per_provider: 16,
			run: MAX_RUN,
			lanes: 2,
			give_up_after: Duration::from_secs(60),
			stop_after: None,
			progress: None,
		}
	}
}

#[derive(Debug, Clone)]
pub struct Progress {
	pub have: u64,
	pub groups: u64,
	pub from: PeerId,
}

#[derive(Debug, Clone)]
pub struct FetchReport {
	pub hash: Hash,
	pub size: u64,
	pub groups: u64,
	/// Groups already present from an earlier, interrupted fetch.
	pub resumed: u64,
	/// Groups received by this call, per provider.
	pub received: HashMap<PeerId, u64>,
	pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
	#[error(
		"no peer could provide {} within {:?} (none found, or all failed)",
		hex::encode(.hash),
		.waited
	)]
	Unavailable { hash: Hash, waited: Duration },
	#[error("stopped after {have} of {groups} groups as asked; fetch again to resume")]
	Paused { have: u64, groups: u64 },
	/// The outboard, verified against the hash, proves the blob has another size than declared.
	#[error("the content with this hash is {actual} bytes, not the declared {declared}")]
	SizeMismatch { declared: u64, actual: u64 },
	#[error(transparent)]
	Store(#[from] StoreError),
}

/// Fetches `hash` into the node's store (no-op if it is already there) and then provides it.
pub async fn fetch(
	node: &DataNode,
	hash: Hash,
	opts: FetchOptions,
) -> Result<FetchReport, FetchError> {
	let started = Instant::now();
	let store = node.store().clone();
	let held = |store: &ContentStore| -> Result<FetchReport, FetchError> {
		let size = store.size(&hash)?;
		let groups = crate::tree::group_count(size);
		Ok(FetchReport {
			hash,
			size,
			groups,
			resumed: groups,
			received: HashMap::new(),
			elapsed: started.elapsed(),
		})
	};
	if store.has(&hash) {
		return held(&store);
	}
	// One transfer of a blob at a time; a second waits for the first and finds the blob.
	let _slot = store.transfer_slot(&hash).await;
	if store.has(&hash) {
		return held(&store);
	}
	let mut peers = Providers::new(node, hash, opts.providers.clone(), opts.give_up_after);

	// An outboard is taken only with its last group, verified: that binds the size (see
	// `proven_outboard`), so a size that differs from the declared one is a proof against the
	// declaration, never a provider's word.
	let (ob, last, from) = loop {
		let Some(p) = peers.next().await? else { continue };
		match proven_outboard(node, p, hash).await {
			Ok((ob, last)) => {
				if let Some(declared) = opts.expected_size.filter(|s| *s != ob.size) {
					return Err(FetchError::SizeMismatch { declared, actual: ob.size });
				}
				peers.keep(p);
				peers.progressed();
				break (ob, last, p);
			}
			Err(Fault::Lied(why)) => peers.lied(p, &why),
			Err(Fault::Failed(why)) => peers.drop(p, &why),
		}
	};
	let partial = Arc::new(store.begin(&hash, ob)?);
	let groups = partial.outboard().groups();
	let mut missing: VecDeque<u64> = partial.missing().into();
	let resumed = groups - missing.len() as u64;
	// Verified groups are written on their own thread, so that the disk's time (direct I/O waits
	// for the device) overlaps the network's instead of holding up the next requests.
	// Progress is reported from here, once a group is on disk, not when it was verified.
	let (to_disk, mut queue) = mpsc::channel::<(VerifiedGroup, PeerId)>(WRITE_QUEUE);
	let writer = tokio::task::spawn_blocking({
		let partial = partial.clone();
		let progress = opts.progress.clone();
		move || -> Result<(), StoreError> {
			let mut have = resumed;
			while let Some((group, from)) = queue.blocking_recv() {
				partial.write(group)?;
				have += 1;
				if let Some(tx) = &progress {
					let _ = tx.send(Progress { have, groups, from });
				}
			}
			Ok(())
		}
	});
	// The last group came with the outboard: written first, counted as received from its provider.
	let mut first_received = None;
	if missing.back() == Some(&(groups - 1)) {
		let group = partial.verify(groups - 1, last)?;
		if to_disk.send((group, from)).await.is_ok() {
			missing.pop_back();
			first_received = Some(from);
		}
	}
	let already = first_received.is_some() as u64;
	let receiving = receive(&opts, &mut peers, &partial, missing, already, to_disk).await;
	// The queue is closed (`receive` owned its sender): the writer drains it and ends. A write
	// error is what stopped `receive`, if anything did.
	match writer.await {
		Ok(written) => written?,
		Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
		Err(e) => panic!("the group writer was cancelled: {e}"),
	}
	let mut received = receiving?;
	if let Some(p) = first_received {
		*received.entry(p).or_default() += 1;
	}
	let partial = Arc::into_inner(partial).expect("the writer has ended");
	let size = partial.outboard().size;
	partial.finish()?;
	node.provide(hash, size);
	Ok(FetchReport { hash, size, groups, resumed, received, elapsed: started.elapsed() })
}

/// Groups verified and waiting for the writer, at most.
const WRITE_QUEUE: usize = 8;

/// Keeps requests for the `missing` groups in flight until none is missing; verifies what arrives and
/// queues it for the writer. `already` groups were received by this call before (they count
/// towards [`FetchOptions::stop_after`]). Returns the groups received from each provider.
async fn receive(
	opts: &FetchOptions,
	peers: &mut Providers<'_>,
	partial: &Partial,
	mut missing: VecDeque<u64>,
	already: u64,
	to_disk: mpsc::Sender<(VerifiedGroup, PeerId)>,
) -> Result<HashMap<PeerId, u64>, FetchError> {
	let (node, hash) = (peers.node, peers.hash);
	let groups = partial.outboard().groups();
	let mut have = groups - missing.len() as u64;
	let mut received: HashMap<PeerId, u64> = HashMap::new();
	let mut load: HashMap<PeerId, usize> = HashMap::new();
	let mut in_flight = FuturesUnordered::new();
	let mut asked = 0usize; // groups in the requests in flight
	let mut laned = HashSet::new();
	let mut this_call = already; // groups received by this fetch call
	let room = |this_call: u64, asked: usize| {
		opts.stop_after.map_or(u64::MAX, |s| s.saturating_sub(this_call + asked as u64))
	};
	let run = opts.run.clamp(1, MAX_RUN) as usize;

	loop {
		while asked < opts.window && room(this_call, asked) > 0 {
			let Some(&first) = missing.front() else { break };
			let Some(p) = peers.least_loaded(&load, opts.per_provider) else { break };
			// A run: consecutive missing groups, within the window, the provider's share and the pause.
			let most = run
				.min(opts.window - asked)
				.min(opts.per_provider - load.get(&p).copied().unwrap_or(0))
				.min(room(this_call, asked).min(MAX_RUN as u64) as usize);
			let mut count = 0;
			while count < most && missing.front() == Some(&(first + count as u64)) {
				missing.pop_front();
				count += 1;
			}
			if laned.insert(p) {
				node.open_lanes(p, opts.lanes);
			}
			*load.entry(p).or_default() += count;
			asked += count;
			let node = node.clone();
			let req = BlobRequest::Groups { hash, first, count: count as u32 };
			in_flight.push(async move { (p, first, count, node.request(p, req).await) });
		}
		if in_flight.is_empty() {
			if missing.is_empty() {
				break;
			}
			if room(this_call, 0) == 0 {
				return Err(FetchError::Paused { have, groups });
			}
			// Nobody left to ask: look for providers again (waits and gives up inside).
			if let Some(p) = peers.next().await? {
				peers.keep(p);
			}
			continue;
		}
		let (p, first, count, res) = in_flight.next().await.expect("not empty");
		if let Some(l) = load.get_mut(&p) {
			*l = l.saturating_sub(count);
		}
		asked -= count;
		// Groups from `next` on go back in the queue (in order, at the front) unless they arrive intact.
		let mut next = first;
		let mut failure = None;
		match res {
			Ok(BlobResponse::Groups(run)) if !run.is_empty() && run.len() <= count => {
				let sent = run.len();
				for bytes in run {
					if failure.is_some() {
						continue; // the rest of a bad run is dropped (back to the pool)
					}
					match partial.verify(next, bytes) {
						Ok(group) => {
							if to_disk.send((group, p)).await.is_err() {
								// The writer failed; the fetch returns its error.
								return Ok(received);
							}
							next += 1;
							have += 1;
							this_call += 1;
							*received.entry(p).or_default() += 1;
							peers.progressed();
						}
						Err(StoreError::Verify(e)) => {
							failure = Some(Fault::Lied(format!("sent bad bytes: {e}")))
						}
						Err(e) => return Err(e.into()),
					}
				}
				// A short run means the provider could not read the rest back intact.
				if failure.is_none() && sent < count {
					failure =
						Some(Fault::Failed(format!("sent {sent} of the {count} groups asked")));
				}
			}
			// Honest peers answer NotFound, never an empty or overlong run.
			Ok(BlobResponse::Groups(run)) => {
				failure = Some(Fault::Lied(format!("answered {count} groups with {}", run.len())))
			}
			other => failure = Some(Fault::Failed(format!("{:?}", other.map(kind)))),
		}
		match failure {
			Some(Fault::Lied(why)) => peers.lied(p, &why),
			Some(Fault::Failed(why)) => peers.drop(p, &why),
			None => {}
		}
		for index in (next..first + count as u64).rev() {
			missing.push_front(index);
		}
	}
	Ok(received)
}

/// Why a provider was dropped.
enum Fault {
	/// It sent something that provably does not match what was asked: it is banned.
	Lied(String),
	/// It could not help (not found, refused, timed out, disconnected).
	Failed(String),
}

/// Asks `p` for the outboard of `hash` and then for the blob's last group, and verifies both.
///
/// The outboard's root binds its group hashes but not its `size`: a blob of one group has the
/// content hash itself as its outboard, so anyone can claim any size up to 1 MiB for it (and, for
/// larger blobs, any size with the same number of groups). The last group's hash does bind its
/// length (BLAKE3 hashes a chunk's length with its bytes), so an outboard whose last group
/// verifies has the true size. An honest provider always has that group; a liar cannot make one.
async fn proven_outboard(
	node: &DataNode,
	p: PeerId,
	hash: Hash,
) -> Result<(Outboard, GroupBuf), Fault> {
	let ob = match node.request(p, BlobRequest::Outboard(hash)).await {
		Ok(BlobResponse::Outboard(ob)) => match ob.verify(&hash) {
			Ok(()) => ob,
			Err(e) => return Err(Fault::Lied(format!("sent a false outboard: {e}"))),
		},
		other => return Err(Fault::Failed(format!("{:?}", other.map(kind)))),
	};
	let last = ob.groups() - 1;
	match node.request(p, BlobRequest::Groups { hash, first: last, count: 1 }).await {
		Ok(BlobResponse::Groups(mut run)) if run.len() == 1 => {
			let bytes = run.pop().expect("one group");
			match ob.verify_group(last, &bytes) {
				Ok(()) => Ok((ob, bytes)),
				Err(e) => Err(Fault::Lied(format!(
					"sent an outboard of {} bytes its last group does not match: {e}",
					ob.size
				))),
			}
		}
		Ok(BlobResponse::Groups(run)) => {
			Err(Fault::Lied(format!("answered 1 group with {}", run.len())))
		}
		other => Err(Fault::Failed(format!(
			"could not back its outboard with the last group: {:?}",
			other.map(kind)
		))),
	}
}

pub(crate) fn kind(r: BlobResponse) -> &'static str {
	match r {
		BlobResponse::Outboard(_) => "unexpected or invalid outboard",
		BlobResponse::Groups(_) => "an empty or overlong run of groups",
		BlobResponse::NotFound => "not found",
		BlobResponse::PushAccepted | BlobResponse::Have { .. } => "unexpected answer",
		BlobResponse::Refused(_) => "refused",
	}
}

/// The providers a fetch is using, the ones it dropped, and rediscovery with backoff.
struct Providers<'a> {
	node: &'a DataNode,
	hash: Hash,
	active: Vec<PeerId>,
	queue: VecDeque<PeerId>,
	dropped: HashMap<PeerId, Instant>,
	backoff: Duration,
	/// When the fetch last got something (an outboard or a verified group); it gives up
	/// `give_up` after that.
	last_progress: Instant,
	give_up: Duration,
}

/// A dropped provider is not asked again for this long (a restarted peer may come back).
const RETRY_DROPPED_AFTER: Duration = Duration::from_secs(10);

impl<'a> Providers<'a> {
	fn new(node: &'a DataNode, hash: Hash, hints: Vec<PeerId>, give_up: Duration) -> Self {
		Self {
			node,
			hash,
			active: vec![],
			queue: hints.into(),
			dropped: HashMap::new(),
			backoff: Duration::from_millis(100),
			last_progress: Instant::now(),
			give_up,
		}
	}

	fn progressed(&mut self) {
		self.last_progress = Instant::now();
	}

	/// The next untried provider, discovering more when none is queued. `Ok(None)` means "waited, try
	/// again"; an error means nothing turned up within `give_up` of the last progress.
	async fn next(&mut self) -> Result<Option<PeerId>, FetchError> {
		if let Some(p) = self.queue.pop_front() {
			return Ok(Some(p));
		}
		let now = Instant::now();
		self.dropped.retain(|_, t| now.duration_since(*t) < RETRY_DROPPED_AFTER);
		for p in self.node.find_providers(self.hash).await {
			if !self.dropped.contains_key(&p)
				&& !self.active.contains(&p)
				&& !self.queue.contains(&p)
			{
				self.queue.push_back(p);
			}
		}
		if let Some(p) = self.queue.pop_front() {
			self.backoff = Duration::from_millis(100);
			return Ok(Some(p));
		}
		if self.last_progress.elapsed() >= self.give_up {
			return Err(FetchError::Unavailable {
				hash: self.hash,
				waited: self.last_progress.elapsed(),
			});
		}
		tokio::time::sleep(self.backoff).await;
		self.backoff = (self.backoff * 2).min(Duration::from_secs(2));
		Ok(None)
	}

	fn keep(&mut self, p: PeerId) {
		if !self.active.contains(&p) {
			self.active.push(p);
		}
		// Everyone else queued is worth using too: spread the load.
		self.active.extend(self.queue.drain(..));
	}

	/// Drops `p` for good and bans it (see [`DataNode::report_lie`]).
	fn lied(&mut self, p: PeerId, why: &str) {
		self.node.report_lie(p, why);
		self.drop(p, why);
	}

	fn drop(&mut self, p: PeerId, why: &str) {
		if self.active.contains(&p) || !self.dropped.contains_key(&p) {
			tracing::info!(peer = %p, hash = %hex::encode(self.hash), "dropping provider: {why}");
		}
		self.active.retain(|x| *x != p);
		self.dropped.insert(p, Instant::now());
	}

	fn least_loaded(&self, load: &HashMap<PeerId, usize>, cap: usize) -> Option<PeerId> {
		self.active
			.iter()
			.map(|p| (load.get(p).copied().unwrap_or(0), *p))
			.filter(|(l, _)| *l < cap)
			.min_by_key(|(l, _)| *l)
			.map(|(_, p)| p)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::net::NetConfig;
	use crate::store::ContentStore;
	use crate::tree::GROUP_LEN;
	use libp2p::multiaddr::Protocol;
	use libp2p::Multiaddr;
	use std::sync::Arc;

	struct Peer {
		node: DataNode,
		_dir: tempfile::TempDir,
	}

	async fn peer(cfg: NetConfig) -> Peer {
		let dir = tempfile::tempdir().unwrap();
		let store = Arc::new(ContentStore::open(dir.path().join("store"), 1 << 30).unwrap());
		let key = crate::net::load_or_create_identity(&dir.path().join("key")).unwrap();
		let node = DataNode::start(key, store, cfg).await.unwrap();
		Peer { node, _dir: dir }
	}

	use crate::testing::random_bytes as data;

	async fn addr(p: &Peer, quic: bool) -> Multiaddr {
		p.node
			.listen_addrs()
			.await
			.into_iter()
			.find(|a| a.iter().any(|x| matches!(x, Protocol::QuicV1)) == quic)
			.unwrap()
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn a_fetch_resumes_and_switches_provider_when_one_goes_away() {
		let d = data(8 * GROUP_LEN as usize + 333, 1);
		let (a, b, c) = (
			peer(NetConfig::default()).await,
			peer(NetConfig::default()).await,
			peer(NetConfig::default()).await,
		);
		let h = a.node.store().put_bytes(&d).unwrap();
		b.node.store().put_bytes(&d).unwrap();
		let pa = c.node.dial(addr(&a, false).await).await.unwrap();
		let pb = c.node.dial(addr(&b, false).await).await.unwrap();

		// First attempt: only A, stopped after 3 groups (as if the process had been interrupted).
		let opts = FetchOptions {
			providers: vec![pa],
			stop_after: Some(3),
			window: 1,
			..Default::default()
		};
		let err = fetch(&c.node, h, opts).await.unwrap_err();
		assert!(matches!(err, FetchError::Paused { have: 3, groups: 9 }), "{err}");
		assert!(!c.node.store().has(&h));

		// A goes away. The next fetch is pointed at A first, resumes from group 3, and finishes from B.
		a.node.shutdown();
		let opts = FetchOptions {
			providers: vec![pa, pb],
			expected_size: Some(d.len() as u64),
			..Default::default()
		};
		let r = fetch(&c.node, h, opts).await.unwrap();
		assert_eq!(r.resumed, 3);
		assert_eq!(r.received.get(&pb), Some(&6));
		assert_eq!(r.received.get(&pa), None);
		assert_eq!(c.node.store().read_all(&h).unwrap(), d);
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn fetches_of_the_same_blob_at_once_share_one_transfer() {
		// A curator's fetch and an upload's pull of the same bytes used to write one partial
		// file together: one of them found it renamed away ("No such file"), and the curator put
		// the contribution off.
		let d = data(12 * GROUP_LEN as usize + 77, 6);
		let (a, c) = (peer(NetConfig::default()).await, peer(NetConfig::default()).await);
		let h = a.node.store().put_bytes(&d).unwrap();
		let pa = c.node.dial(addr(&a, false).await).await.unwrap();
		for round in 0..4 {
			let one = || {
				let opts = FetchOptions { providers: vec![pa], window: 1, ..Default::default() };
				fetch(&c.node, h, opts)
			};
			let results = futures::future::join_all((0..4).map(|_| one())).await;
			for r in results {
				let r = r.unwrap_or_else(|e| panic!("round {round}: {e}"));
				assert_eq!(r.size, d.len() as u64);
			}
			assert_eq!(c.node.store().read_all(&h).unwrap(), d);
			c.node.store().remove(&h);
		}
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn a_fetch_nobody_can_serve_gives_up_after_its_time_without_progress() {
		let (a, c) = (peer(NetConfig::default()).await, peer(NetConfig::default()).await);
		let pa = c.node.dial(addr(&a, false).await).await.unwrap();
		// A is connected but does not hold the blob, and the DHT knows no one else.
		let h = *blake3::hash(b"held by nobody").as_bytes();
		let give_up_after = Duration::from_millis(400);
		let opts = FetchOptions { providers: vec![pa], give_up_after, ..Default::default() };
		let err = fetch(&c.node, h, opts).await.unwrap_err();
		match err {
			FetchError::Unavailable { hash, waited } => {
				assert_eq!(hash, h);
				assert!(waited >= give_up_after, "gave up after {waited:?}");
			}
			other => panic!("expected Unavailable, got {other}"),
		}
		assert!(!c.node.store().has(&h));
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn a_fetch_spreads_over_extra_connections_to_its_provider() {
		let d = data(6 * GROUP_LEN as usize + 5, 4);
		let (a, c) = (peer(NetConfig::default()).await, peer(NetConfig::default()).await);
		let h = a.node.store().put_bytes(&d).unwrap();
		let pa = c.node.dial(addr(&a, false).await).await.unwrap();
		assert_eq!(c.node.connections(pa).await, 1);
		let (cn, an) = (&c.node, &a.node);
		let lanes = |n: usize| async move {
			for _ in 0..100 {
				if cn.connections(pa).await == n && an.connections(cn.peer_id()).await == n {
					return true;
				}
				tokio::time::sleep(Duration::from_millis(50)).await;
			}
			false
		};
		// The fetch asks for three lanes: two more connections open beside the first.
		let opts = FetchOptions { providers: vec![pa], lanes: 3, ..Default::default() };
		let r = fetch(&c.node, h, opts).await.unwrap();
		assert_eq!(r.received.get(&pa), Some(&7));
		assert_eq!(c.node.store().read_all(&h).unwrap(), d);
		assert!(lanes(3).await, "{} connections", c.node.connections(pa).await);
		// Asking for as many or fewer opens nothing more.
		c.node.open_lanes(pa, 3);
		c.node.open_lanes(pa, 2);
		tokio::time::sleep(Duration::from_millis(300)).await;
		assert_eq!(c.node.connections(pa).await, 3);
		// Requests take the connections in turn and all of them answer.
		for index in 0..6 {
			let got = c.node.request(pa, BlobRequest::Groups { hash: h, first: index, count: 1 });
			let got = got.await.unwrap();
			assert!(
				matches!(&got, BlobResponse::Groups(g) if g.len() == 1 && g[0].len() == GROUP_LEN as usize)
			);
		}
		// A run is 1 to MAX_RUN groups; one that starts past the end finds nothing, and one that runs
		// past it gets the groups that exist.
		for count in [0, MAX_RUN + 1] {
			let got = c.node.request(pa, BlobRequest::Groups { hash: h, first: 0, count }).await;
			assert!(matches!(got.unwrap(), BlobResponse::Refused(why) if why.contains("1 to 4")));
		}
		let past = c.node.request(pa, BlobRequest::Groups { hash: h, first: 7, count: 1 }).await;
		assert_eq!(past.unwrap(), BlobResponse::NotFound);
		let tail = c.node.request(pa, BlobRequest::Groups { hash: h, first: 5, count: 4 }).await;
		assert!(
			matches!(tail.unwrap(), BlobResponse::Groups(g) if g.len() == 2 && g[1].len() == 5)
		);
		// A lane to a peer that is gone fails quietly; the fetch layer never waits on it.
		let gone = a.node.peer_id();
		a.node.shutdown();
		assert!(lanes(0).await);
		c.node.open_lanes(gone, 2);
		tokio::time::sleep(Duration::from_millis(300)).await;
		assert_eq!(c.node.connections(gone).await, 0);
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn providers_are_found_through_the_dht_over_quic_and_a_corrupt_provider_is_skipped() {
		let d = data(3 * GROUP_LEN as usize, 2);
		let (a, b, c) = (
			peer(NetConfig::default()).await,
			peer(NetConfig::default()).await,
			peer(NetConfig::default()).await,
		);
		let h = a.node.store().put_bytes(&d).unwrap();
		b.node.store().put_bytes(&d).unwrap();
		// B and C only know A (over QUIC); A's DHT tells C that B provides too.
		b.node.dial(addr(&a, true).await).await.unwrap();
		c.node.dial(addr(&a, true).await).await.unwrap();
		a.node.provide(h, d.len() as u64);
		b.node.provide(h, d.len() as u64);
		// A's copy rots on disk: it must not serve it, and C must still complete (from B).
		let blob = a.node.store().blob_path(&h);
		let f = std::fs::OpenOptions::new().write(true).open(&blob).unwrap();
		std::os::unix::fs::FileExt::write_all_at(&f, &[1, 2, 3], 2 * GROUP_LEN + 9).unwrap();
		drop(f);
		let mut found = vec![];
		for _ in 0..50 {
			found = c.node.find_providers(h).await;
			if found.contains(&b.node.peer_id()) {
				break;
			}
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
		assert!(found.contains(&b.node.peer_id()), "B not found: {found:?}");
		let r = fetch(&c.node, h, FetchOptions::default()).await.unwrap();
		assert_eq!(r.groups, 3);
		assert_eq!(c.node.store().read_all(&h).unwrap(), d);
		// Asked for the rotten group directly, A answers NotFound and drops its copy.
		let pa = a.node.peer_id();
		let asked = BlobRequest::Groups { hash: h, first: 2, count: 1 };
		assert_eq!(c.node.request(pa, asked).await.unwrap(), BlobResponse::NotFound);
		assert!(!a.node.store().has(&h), "A should have dropped its corrupt copy");
	}
}
