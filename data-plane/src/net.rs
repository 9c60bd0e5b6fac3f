//! A data peer on the libp2p network: TCP (TLS or noise, then yamux) and QUIC; identify; Kademlia provider records
//! (content hash -> peers); gossipsub for small announcements; and the blob exchange of
//! [`crate::protocol`], serving what the local [`ContentStore`] holds.
//!
//! [`DataNode::start`] spawns the swarm on the current tokio runtime and returns a cheap, cloneable
//! handle. Fetching (with verification, resume and provider switching) is in [`crate::fetch`].

use crate::protocol::{
	is_violation, Announcement, BlobCodec, BlobRequest, BlobResponse, Voucher, ANNOUNCE_TOPIC,
	MAX_RUN, PROTOCOL,
};
use crate::providers::{ProviderLimits, ProviderStore};
use crate::store::{now_secs, ContentStore};
use crate::tree::{Hash, Outboard};
use codec::{Decode, Encode};
use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{
	allow_block_list, connection_limits, gossipsub, identify, identity, kad, noise, tcp, Multiaddr,
	PeerId, Swarm,
};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Settings of a data peer.
#[derive(Debug, Clone)]
pub struct NetConfig {
	/// Addresses to listen on, e.g. `/ip4/127.0.0.1/tcp/0` and `/ip4/127.0.0.1/udp/0/quic-v1`.
	pub listen: Vec<Multiaddr>,
	/// Peers to connect to at start (each ending in `/p2p/<peer id>`); `start` waits for them.
	pub bootstrap: Vec<Multiaddr>,
	/// How long others keep our provider records (the libp2p spec's default is 48 h).
	pub provider_ttl: Duration,
	/// How often we re-announce what we provide (the spec's default is 22 h).
	pub provider_republish: Duration,
	/// Time limit of one request (one group, at most 1 MiB).
	pub request_timeout: Duration,
	/// How long a peer caught lying (see [`DataNode::report_lie`]) stays banned.
	pub ban_for: Duration,
	/// Addresses others reach us at (a public IP or DNS name and port). Confirming one puts the
	/// DHT in server mode on a public network; without one the node is a DHT client there.
	pub external: Vec<Multiaddr>,
	/// Bounds on other peers' provider records (see [`crate::providers`]).
	pub provider_limits: ProviderLimits,
	/// Connections others may open to us, in all and per peer (a fetch opens a few lanes).
	pub max_inbound_connections: u32,
	pub max_connections_per_peer: u32,
	/// Requests served at once (each holds up to a run of groups, 4 MiB, in memory); more are
	/// answered "busy" at once.
	pub max_serving: usize,
}

impl NetConfig {
	/// Whether this node lives on a private network: no address it listens on or starts from is
	/// public or unspecified (`0.0.0.0`, all interfaces): a dev network, a test, a LAN, or a
	/// short-lived client. There the DHT serves unconditionally and peers' private addresses are
	/// kept; on a public network they are dropped (see [`is_public`]).
	pub fn private_network(&self) -> bool {
		let unspecified = |a: &Multiaddr| match a.iter().next() {
			Some(Protocol::Ip4(ip)) => ip.is_unspecified(),
			Some(Protocol::Ip6(ip)) => ip.is_unspecified(),
			_ => false,
		};
		self.listen
			.iter()
			.chain(&self.bootstrap)
			.chain(&self.external)
			.all(|a| !is_public(a) && !unspecified(a))
	}
}

/// The DHT protocol of Tributary's data peers: our own, so the network is not mixed with the
/// IPFS DHT (`/ipfs/kad/1.0.0`) and its peers.
pub const KAD_PROTOCOL: libp2p::StreamProtocol =
	libp2p::StreamProtocol::new("/tributary/kad/1.0.0");

/// Whether `addr` can be reached from the internet: its IP is not loopback, private, link-local,
/// shared (CGNAT), documentation or unspecified. DNS names count as public.
pub fn is_public(addr: &Multiaddr) -> bool {
	use std::net::{Ipv4Addr, Ipv6Addr};
	let v4 = |ip: Ipv4Addr| {
		let o = ip.octets();
		!(ip.is_loopback()
			|| ip.is_private()
			|| ip.is_link_local()
			|| ip.is_unspecified()
			|| ip.is_broadcast()
			|| ip.is_documentation()
			|| (o[0] == 100 && (o[1] & 0xc0) == 64)
			|| o[0] == 0
			|| o[0] >= 240)
	};
	let v6 = |ip: Ipv6Addr| {
		let s = ip.segments();
		!(ip.is_loopback()
			|| ip.is_unspecified()
			|| (s[0] & 0xfe00) == 0xfc00
			|| (s[0] & 0xffc0) == 0xfe80
			|| (s[0] == 0x2001 && s[1] == 0x0db8))
			&& ip.to_ipv4_mapped().is_none_or(v4)
	};
	match addr.iter().next() {
		Some(Protocol::Ip4(ip)) => v4(ip),
		Some(Protocol::Ip6(ip)) => v6(ip),
		Some(Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_) | Protocol::Dnsaddr(_)) => {
			true
		}
		_ => false,
	}
}

impl Default for NetConfig {
	fn default() -> Self {
		Self {
			listen: vec![
				"/ip4/127.0.0.1/tcp/0".parse().unwrap(),
				"/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap(),
			],
			bootstrap: vec![],
			provider_ttl: Duration::from_secs(48 * 3600),
			provider_republish: Duration::from_secs(22 * 3600),
			request_timeout: Duration::from_secs(30),
			ban_for: Duration::from_secs(3600),
			external: vec![],
			provider_limits: ProviderLimits::default(),
			max_inbound_connections: 256,
			max_connections_per_peer: 8,
			max_serving: 128,
		}
	}
}

/// Loads the node's ed25519 identity from `path`, creating it (mode 0600) the first time.
pub fn load_or_create_identity(path: &Path) -> anyhow::Result<identity::Keypair> {
	use std::os::unix::fs::OpenOptionsExt;
	if path.exists() {
		let bytes = std::fs::read(path)?;
		return identity::Keypair::from_protobuf_encoding(&bytes).map_err(|e| {
			anyhow::anyhow!(
				"{} is not a libp2p identity key ({e}); move it away to make a new one",
				path.display()
			)
		});
	}
	if let Some(dir) = path.parent() {
		std::fs::create_dir_all(dir)?;
	}
	let kp = identity::Keypair::generate_ed25519();
	let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
	std::io::Write::write_all(&mut f, &kp.to_protobuf_encoding()?)?;
	f.sync_all()?;
	Ok(kp)
}

/// Something the node saw that its users may care about.
#[derive(Debug, Clone)]
pub enum NodeEvent {
	/// The first connection to a peer opened (extra lanes do not repeat it).
	Connected(PeerId),
	/// The last connection to a peer closed.
	Disconnected(PeerId),
	Announced {
		peer: PeerId,
		hash: Hash,
		size: u64,
	},
	/// A peer pushed a blob to us and we now hold it.
	PushStored {
		from: PeerId,
		hash: Hash,
	},
}

/// What a data peer does with pushes (the upload path); [`crate::admission::Admission`] is the
/// product's. A node started without one refuses every push.
pub trait PushHandler: Send + Sync + 'static {
	/// Decides on a push of `hash` (`size` bytes) from `from`; the answer goes back to it.
	fn push(
		self: Arc<Self>,
		node: DataNode,
		from: PeerId,
		hash: Hash,
		size: u64,
		voucher: Voucher,
	) -> futures::future::BoxFuture<'static, BlobResponse>;
}

/// Why a request to a peer failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RequestError {
	#[error("peer {peer} failed: {reason}")]
	Failed { peer: PeerId, reason: String },
	#[error("the data node has stopped")]
	Stopped,
}

#[derive(NetworkBehaviour)]
struct Behaviour {
	/// Peers banned for lying: their connections close and new ones are denied.
	banned: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
	limits: connection_limits::Behaviour,
	identify: identify::Behaviour,
	kad: kad::Behaviour<ProviderStore>,
	gossip: gossipsub::Behaviour,
	blob: request_response::Behaviour<BlobCodec>,
}

enum Command {
	Dial(Multiaddr, oneshot::Sender<Result<PeerId, String>>),
	Request(PeerId, BlobRequest, oneshot::Sender<Result<BlobResponse, RequestError>>),
	Provide(Hash, u64),
	FindProviders(Hash, oneshot::Sender<Vec<PeerId>>),
	ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
	Connected(oneshot::Sender<Vec<PeerId>>),
	Lanes(PeerId, usize),
	Connections(PeerId, oneshot::Sender<usize>),
	Ban(PeerId, String),
	Bootstrap,
	DhtAddresses(PeerId, oneshot::Sender<Vec<Multiaddr>>),
	Banned(oneshot::Sender<Vec<PeerId>>),
}

struct Inner {
	peer_id: PeerId,
	store: Arc<ContentStore>,
	cmd: mpsc::UnboundedSender<Command>,
	events: broadcast::Sender<NodeEvent>,
	task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Handle to a running data peer. Clones share the node; [`DataNode::shutdown`] stops it.
#[derive(Clone)]
pub struct DataNode(Arc<Inner>);

impl DataNode {
	/// Starts a node with identity `key`, serving `store`; it refuses pushes.
	pub async fn start(
		key: identity::Keypair,
		store: Arc<ContentStore>,
		cfg: NetConfig,
	) -> anyhow::Result<Self> {
		Self::start_with_pushes(key, store, cfg, None).await
	}

	/// Starts a node that hands pushes to `pushes` (see [`crate::admission`]).
	pub async fn start_with_pushes(
		key: identity::Keypair,
		store: Arc<ContentStore>,
		cfg: NetConfig,
		pushes: Option<Arc<dyn PushHandler>>,
	) -> anyhow::Result<Self> {
		let peer_id = key.public().to_peer_id();
		let mut swarm = build_swarm(key, &cfg)?;
		for a in &cfg.listen {
			swarm.listen_on(a.clone()).map_err(|e| anyhow::anyhow!("cannot listen on {a}: {e}"))?;
		}
		let (cmd, cmd_rx) = mpsc::unbounded_channel();
		let (events, _) = broadcast::channel(1024);
		let node = DataNode(Arc::new(Inner {
			peer_id,
			store: store.clone(),
			cmd,
			events: events.clone(),
			task: Mutex::new(None),
		}));
		// Wait for the listeners so `listen_addrs` is meaningful as soon as `start` returns.
		let mut pending = cfg.listen.len();
		let mut listen_addrs = Vec::new();
		while pending > 0 {
			match tokio::time::timeout(Duration::from_secs(10), swarm.select_next_some()).await {
				Ok(SwarmEvent::NewListenAddr { address, .. }) => {
					listen_addrs.push(address);
					pending -= 1;
				}
				Ok(SwarmEvent::ListenerError { error, .. }) => {
					anyhow::bail!("listener failed: {error}")
				}
				Ok(_) => {}
				Err(_) => anyhow::bail!("listeners did not start within 10 s"),
			}
		}
		for a in &cfg.external {
			swarm.add_external_address(a.clone());
		}
		for (hash, size) in store.list() {
			provide(&mut swarm, hash, size, false);
		}
		let mut state = Loop {
			node: Arc::downgrade(&node.0),
			store,
			cfg: cfg.clone(),
			events,
			listen_addrs,
			dials: HashMap::new(),
			connections: HashMap::new(),
			lane_dials: HashMap::new(),
			requests: HashMap::new(),
			queries: HashMap::new(),
			announced: Announced::default(),
			banned: HashMap::new(),
			private: cfg.private_network(),
			pushes,
			serving: Default::default(),
			outboards: Arc::new(Mutex::new(HashMap::new())),
		};
		let task = tokio::spawn(async move { state.run(swarm, cmd_rx).await });
		*node.0.task.lock().unwrap() = Some(task);
		// Connected before `start` returns, so requests to bootstrap peers can go out at once. An
		// unreachable one is only a warning: the DHT and later dials may still find peers.
		for a in &cfg.bootstrap {
			if let Err(e) = node.dial(a.clone()).await {
				tracing::warn!("bootstrap peer: {e}");
			}
		}
		// Fill the routing table from the peers reached (Kademlia repeats it every 5 minutes).
		let _ = node.0.cmd.send(Command::Bootstrap);
		Ok(node)
	}

	pub fn peer_id(&self) -> PeerId {
		self.0.peer_id
	}

	pub fn store(&self) -> &Arc<ContentStore> {
		&self.0.store
	}

	pub fn events(&self) -> broadcast::Receiver<NodeEvent> {
		self.0.events.subscribe()
	}

	/// Tells the node's event subscribers about `event`.
	pub fn notify(&self, event: NodeEvent) {
		let _ = self.0.events.send(event);
	}

	/// Listen addresses, each with our `/p2p/<id>` appended so others can dial them as given.
	pub async fn listen_addrs(&self) -> Vec<Multiaddr> {
		let (tx, rx) = oneshot::channel();
		let _ = self.0.cmd.send(Command::ListenAddrs(tx));
		let id = self.0.peer_id;
		rx.await.unwrap_or_default().into_iter().map(|a| a.with(Protocol::P2p(id))).collect()
	}

	/// Dials `addr` and waits for the connection; a peer `addr` names (`/p2p/<id>`) that is
	/// connected already is not dialed again.
	pub async fn dial(&self, addr: Multiaddr) -> anyhow::Result<PeerId> {
		let (tx, rx) = oneshot::channel();
		self.0.cmd.send(Command::Dial(addr.clone(), tx)).map_err(|_| RequestError::Stopped)?;
		rx.await
			.map_err(|_| RequestError::Stopped)?
			.map_err(|e| anyhow::anyhow!("cannot connect to {addr}: {e}"))
	}

	pub async fn connected_peers(&self) -> Vec<PeerId> {
		let (tx, rx) = oneshot::channel();
		let _ = self.0.cmd.send(Command::Connected(tx));
		rx.await.unwrap_or_default()
	}

	/// Opens more connections to `peer`, in the background, until there are `lanes` of them. Requests
	/// to a peer take its connections in turn. All of one connection's work (the socket, TLS records,
	/// yamux frames, the request codecs) runs in one task, so one connection keeps at most one core
	/// busy on each side; a bulk transfer over two spreads over two (and, across the internet, two
	/// TCP windows ride out loss better than one). Idle extra connections close like any other
	/// (after the idle timeout). Dials that fail are ignored: the existing connections carry on.
	pub fn open_lanes(&self, peer: PeerId, lanes: usize) {
		let _ = self.0.cmd.send(Command::Lanes(peer, lanes));
	}

	/// How many connections to `peer` are established.
	pub async fn connections(&self, peer: PeerId) -> usize {
		let (tx, rx) = oneshot::channel();
		let _ = self.0.cmd.send(Command::Connections(peer, tx));
		rx.await.unwrap_or_default()
	}

	/// Sends one request and waits for its response.
	pub async fn request(
		&self,
		peer: PeerId,
		req: BlobRequest,
	) -> Result<BlobResponse, RequestError> {
		let (tx, rx) = oneshot::channel();
		self.0.cmd.send(Command::Request(peer, req, tx)).map_err(|_| RequestError::Stopped)?;
		rx.await.map_err(|_| RequestError::Stopped)?
	}

	/// Announces that we hold `hash` (a Kademlia provider record and a gossip message).
	pub fn provide(&self, hash: Hash, size: u64) {
		let _ = self.0.cmd.send(Command::Provide(hash, size));
	}

	/// Peers known to hold `hash`: Kademlia providers and gossip announcements (never ourselves).
	pub async fn find_providers(&self, hash: Hash) -> Vec<PeerId> {
		let (tx, rx) = oneshot::channel();
		let _ = self.0.cmd.send(Command::FindProviders(hash, tx));
		rx.await.unwrap_or_default()
	}

	/// Reports that `peer` was caught lying: it sent something that provably does not match what
	/// was asked (an outboard that does not reproduce the hash, group bytes that do not verify, a
	/// malformed message). An honest peer never does (it verifies what it serves), so one proven
	/// lie bans the peer for [`NetConfig::ban_for`]: its connections close, new ones are refused,
	/// and it is no longer offered as a provider.
	pub fn report_lie(&self, peer: PeerId, why: &str) {
		let _ = self.0.cmd.send(Command::Ban(peer, why.to_string()));
	}

	/// The addresses our DHT routing table holds for `peer` (what others looking for it learn).
	pub async fn dht_addresses(&self, peer: PeerId) -> Vec<Multiaddr> {
		let (tx, rx) = oneshot::channel();
		let _ = self.0.cmd.send(Command::DhtAddresses(peer, tx));
		rx.await.unwrap_or_default()
	}

	/// Peers banned now.
	pub async fn banned_peers(&self) -> Vec<PeerId> {
		let (tx, rx) = oneshot::channel();
		let _ = self.0.cmd.send(Command::Banned(tx));
		rx.await.unwrap_or_default()
	}

	/// Stops the node: its connections close and pending requests fail.
	pub fn shutdown(&self) {
		if let Some(t) = self.0.task.lock().unwrap().take() {
			t.abort();
		}
	}
}

fn build_swarm(key: identity::Keypair, cfg: &NetConfig) -> anyhow::Result<Swarm<Behaviour>> {
	let cfg = cfg.clone();
	let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
		.with_tokio()
		.with_tcp(
			tcp::Config::default().nodelay(true),
			// TLS first (AES-GCM on most CPUs: a quarter of noise's cipher cost); noise for peers that
			// offer only noise.
			(crate::tls::Config::new, noise::Config::new),
			crate::mux::Config::default,
		)?
		.with_quic()
		.with_behaviour(move |key| {
			let peer_id = key.public().to_peer_id();
			let mut kcfg = kad::Config::new(KAD_PROTOCOL);
			kcfg.set_provider_record_ttl(Some(cfg.provider_ttl));
			kcfg.set_provider_publication_interval(Some(cfg.provider_republish));
			// A fetch waits on provider lookups; do not let one dead peer hold it for the default 60 s.
			kcfg.set_query_timeout(Duration::from_secs(10));
			let store = ProviderStore::new(peer_id, cfg.provider_limits.clone());
			let mut kad = kad::Behaviour::with_config(peer_id, store, kcfg);
			// On a private network, serve the DHT without a confirmed public address; on a public
			// one, serve it once an address others can reach is confirmed (`external`), and be a
			// client until then (an unreachable server only slows everyone's lookups down).
			if cfg.private_network() {
				kad.set_mode(Some(kad::Mode::Server));
			}
			// Announcements are a few dozen bytes; each is checked before it is relayed (see
			// `Loop::on_announcement`), and a peer that sends one that does not decode is scored
			// down to the graylist at once.
			let gcfg = gossipsub::ConfigBuilder::default()
				.max_transmit_size(1024)
				.validation_mode(gossipsub::ValidationMode::Strict)
				.validate_messages()
				.build()
				.map_err(|e| e.to_string())?;
			let mut gossip = gossipsub::Behaviour::new(
				gossipsub::MessageAuthenticity::Signed(key.clone()),
				gcfg,
			)?;
			let topic = gossipsub::IdentTopic::new(ANNOUNCE_TOPIC);
			gossip.subscribe(&topic)?;
			gossip.with_peer_score(
				gossip_scoring(&topic, cfg.private_network()),
				Default::default(),
			)?;
			let blob = request_response::Behaviour::with_codec(
				BlobCodec,
				[(PROTOCOL, ProtocolSupport::Full)],
				request_response::Config::default()
					.with_request_timeout(cfg.request_timeout)
					.with_max_concurrent_streams(64),
			);
			let identify = identify::Behaviour::new(identify::Config::new(
				"/tributary/1.0.0".into(),
				key.public(),
			));
			let limits = connection_limits::Behaviour::new(
				connection_limits::ConnectionLimits::default()
					.with_max_pending_incoming(Some(64))
					.with_max_established_incoming(Some(cfg.max_inbound_connections))
					.with_max_established_per_peer(Some(cfg.max_connections_per_peer)),
			);
			Ok(Behaviour { banned: Default::default(), limits, identify, kad, gossip, blob })
		})?
		.with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
		.build();
	Ok(swarm)
}

/// Gossip scoring: announcements carry no mesh traffic worth rewarding, so only invalid messages
/// count (heavily: one puts the sender on the graylist, where its messages are ignored). On a private network every peer shares
/// an address, so the colocation penalty is off there.
fn gossip_scoring(topic: &gossipsub::IdentTopic, private: bool) -> gossipsub::PeerScoreParams {
	let mut params = gossipsub::PeerScoreParams::default();
	if private {
		params.ip_colocation_factor_weight = 0.0;
	}
	let t = gossipsub::TopicScoreParams {
		topic_weight: 1.0,
		time_in_mesh_weight: 0.0,
		first_message_deliveries_weight: 0.0,
		mesh_message_deliveries_weight: 0.0,
		mesh_failure_penalty_weight: 0.0,
		// One invalid message scores -1000 and decays by 3% a second (decay interval 1 s): its
		// sender stays below the graylist threshold (-80) for about 40 s, longer for more.
		invalid_message_deliveries_weight: -1000.0,
		invalid_message_deliveries_decay: 0.97,
		..Default::default()
	};
	params.topics.insert(topic.hash(), t);
	params
}

fn provide(swarm: &mut Swarm<Behaviour>, hash: Hash, size: u64, announce: bool) {
	if let Err(e) = swarm.behaviour_mut().kad.start_providing(kad::RecordKey::new(&hash)) {
		tracing::warn!("cannot record provider entry: {e}");
	}
	if announce {
		let msg = Announcement::Have { hash, size }.encode();
		// With no subscribed peer yet there is nobody to tell; the DHT record still stands.
		let _ =
			swarm.behaviour_mut().gossip.publish(gossipsub::IdentTopic::new(ANNOUNCE_TOPIC), msg);
	}
}

type Reply = (ResponseChannel<BlobResponse>, BlobResponse);

/// Who announced which blob over gossip, bounded: an announcement counts for
/// [`Announced::TTL`], a blob keeps the [`Announced::PER_BLOB`] latest announcers, and the cache
/// holds at most [`Announced::BLOBS`] blobs (the stalest go first). It used to grow forever.
#[derive(Default)]
struct Announced {
	by_blob: HashMap<Hash, Vec<(PeerId, std::time::Instant)>>,
}

impl Announced {
	const TTL: Duration = Duration::from_secs(3600);
	const PER_BLOB: usize = 20;
	const BLOBS: usize = 65_536;

	fn insert(&mut self, hash: Hash, peer: PeerId) {
		let now = std::time::Instant::now();
		if !self.by_blob.contains_key(&hash) && self.by_blob.len() >= Self::BLOBS {
			self.expire();
			if self.by_blob.len() >= Self::BLOBS {
				let stalest = self
					.by_blob
					.iter()
					.min_by_key(|(_, v)| v.iter().map(|(_, t)| *t).max())
					.map(|(h, _)| *h);
				if let Some(h) = stalest {
					self.by_blob.remove(&h);
				}
			}
		}
		let peers = self.by_blob.entry(hash).or_default();
		peers.retain(|(p, _)| *p != peer);
		if peers.len() >= Self::PER_BLOB {
			peers.remove(0);
		}
		peers.push((peer, now));
	}

	fn providers(&self, hash: &Hash) -> impl Iterator<Item = PeerId> + '_ {
		let now = std::time::Instant::now();
		let peers = self.by_blob.get(hash).into_iter().flatten();
		peers.filter(move |(_, t)| now.duration_since(*t) < Self::TTL).map(|(p, _)| *p)
	}

	fn forget(&mut self, peer: &PeerId) {
		for peers in self.by_blob.values_mut() {
			peers.retain(|(p, _)| p != peer);
		}
		self.by_blob.retain(|_, v| !v.is_empty());
	}

	fn expire(&mut self) {
		let now = std::time::Instant::now();
		for peers in self.by_blob.values_mut() {
			peers.retain(|(_, t)| now.duration_since(*t) < Self::TTL);
		}
		self.by_blob.retain(|_, v| !v.is_empty());
	}

	#[cfg(test)]
	fn len(&self) -> usize {
		self.by_blob.len()
	}
}

/// A `find_providers` in progress: what was found so far and who waits for it.
struct ProviderQuery {
	found: HashSet<PeerId>,
	reply: oneshot::Sender<Vec<PeerId>>,
}

struct Loop {
	node: std::sync::Weak<Inner>,
	store: Arc<ContentStore>,
	cfg: NetConfig,
	events: broadcast::Sender<NodeEvent>,
	listen_addrs: Vec<Multiaddr>,
	dials: HashMap<ConnectionId, oneshot::Sender<Result<PeerId, String>>>,
	/// Established connections per peer, and the extra ones ([`DataNode::open_lanes`]) being dialed.
	connections: HashMap<PeerId, usize>,
	lane_dials: HashMap<ConnectionId, PeerId>,
	requests: HashMap<OutboundRequestId, oneshot::Sender<Result<BlobResponse, RequestError>>>,
	queries: HashMap<kad::QueryId, ProviderQuery>,
	announced: Announced,
	/// See [`NetConfig::private_network`].
	private: bool,
	pushes: Option<Arc<dyn PushHandler>>,
	/// Requests being served (see [`NetConfig::max_serving`]).
	serving: Arc<std::sync::atomic::AtomicUsize>,
	/// Banned peers and when each ban ends.
	banned: HashMap<PeerId, std::time::Instant>,
	outboards: Arc<Mutex<HashMap<Hash, Arc<Outboard>>>>,
}

impl Loop {
	async fn run(
		&mut self,
		mut swarm: Swarm<Behaviour>,
		mut cmds: mpsc::UnboundedReceiver<Command>,
	) {
		let (reply_tx, mut reply_rx) = mpsc::unbounded_channel::<Reply>();
		let mut housekeeping = tokio::time::interval(Duration::from_secs(1));
		let mut ticks = 0u64;
		loop {
			tokio::select! {
				_ = housekeeping.tick() => {
					self.lift_bans(&mut swarm);
					ticks += 1;
					if ticks.is_multiple_of(60) {
						self.announced.expire();
					}
				}
				ev = swarm.select_next_some() => self.on_event(&mut swarm, ev, &reply_tx),
				cmd = cmds.recv() => match cmd {
					Some(c) => self.on_command(&mut swarm, c),
					None => return,
				},
				Some((ch, resp)) = reply_rx.recv() => {
					let _ = swarm.behaviour_mut().blob.send_response(ch, resp);
				}
			}
		}
	}

	fn on_command(&mut self, swarm: &mut Swarm<Behaviour>, cmd: Command) {
		match cmd {
			Command::Dial(addr, tx) => {
				// A peer already connected is reached: a new connection per call would pile up
				// past the per-peer limit, and the dial past it be denied, as if it were gone.
				let named = addr.iter().find_map(|p| match p {
					Protocol::P2p(id) => Some(id),
					_ => None,
				});
				if let Some(peer) = named.filter(|p| swarm.is_connected(p)) {
					let _ = tx.send(Ok(peer));
					return;
				}
				let opts: DialOpts = addr.into();
				let id = opts.connection_id();
				match swarm.dial(opts) {
					Ok(()) => {
						self.dials.insert(id, tx);
					}
					Err(e) => {
						let _ = tx.send(Err(e.to_string()));
					}
				}
			}
			Command::Request(peer, req, tx) => {
				let id = swarm.behaviour_mut().blob.send_request(&peer, req);
				self.requests.insert(id, tx);
			}
			Command::Provide(hash, size) => provide(swarm, hash, size, true),
			Command::FindProviders(hash, tx) => {
				let mut found: HashSet<PeerId> = self.announced.providers(&hash).collect();
				found.remove(swarm.local_peer_id());
				let id = swarm.behaviour_mut().kad.get_providers(kad::RecordKey::new(&hash));
				self.queries.insert(id, ProviderQuery { found, reply: tx });
			}
			Command::ListenAddrs(tx) => {
				let _ = tx.send(self.listen_addrs.clone());
			}
			Command::Connected(tx) => {
				let _ = tx.send(swarm.connected_peers().copied().collect());
			}
			Command::Lanes(peer, lanes) => {
				let have = self.connections.get(&peer).copied().unwrap_or(0)
					+ self.lane_dials.values().filter(|p| **p == peer).count();
				for _ in have..lanes {
					// The address comes from the behaviours (Kademlia knows every peer we talk to).
					let opts = DialOpts::peer_id(peer).condition(PeerCondition::Always).build();
					let id = opts.connection_id();
					if swarm.dial(opts).is_err() {
						break;
					}
					self.lane_dials.insert(id, peer);
				}
			}
			Command::Connections(peer, tx) => {
				let _ = tx.send(self.connections.get(&peer).copied().unwrap_or(0));
			}
			Command::Ban(peer, why) => self.ban(swarm, peer, &why),
			Command::DhtAddresses(peer, tx) => {
				let kad = &mut swarm.behaviour_mut().kad;
				let addrs = kad.kbucket(peer).and_then(|b| {
					b.iter()
						.find(|e| e.node.key.preimage() == &peer)
						.map(|e| e.node.value.iter().cloned().collect())
				});
				let _ = tx.send(addrs.unwrap_or_default());
			}
			Command::Bootstrap => {
				if let Err(e) = swarm.behaviour_mut().kad.bootstrap() {
					tracing::debug!("no DHT bootstrap: {e}");
				}
			}
			Command::Banned(tx) => {
				let _ = tx.send(self.banned.keys().copied().collect());
			}
		}
	}

	/// Checks an announcement before it is relayed: it must decode exactly, name its signed
	/// author, and not come from a banned peer. Accepted ones join the bounded announcement
	/// cache (see [`Announced`]).
	fn on_announcement(&mut self, message: &gossipsub::Message) -> gossipsub::MessageAcceptance {
		use gossipsub::MessageAcceptance::{Accept, Ignore, Reject};
		let mut data = &message.data[..];
		let (Some(peer), Ok(Announcement::Have { hash, size })) =
			(message.source, Announcement::decode(&mut data))
		else {
			return Reject;
		};
		if !data.is_empty() {
			return Reject;
		}
		if self.banned.contains_key(&peer) {
			return Ignore;
		}
		self.announced.insert(hash, peer);
		let _ = self.events.send(NodeEvent::Announced { peer, hash, size });
		Accept
	}

	fn routable(&self, addr: &Multiaddr) -> bool {
		self.private || is_public(addr)
	}

	fn ban(&mut self, swarm: &mut Swarm<Behaviour>, peer: PeerId, why: &str) {
		if peer == *swarm.local_peer_id() {
			return;
		}
		tracing::warn!(%peer, "banning a peer for {:?}: {why}", self.cfg.ban_for);
		self.banned.insert(peer, std::time::Instant::now() + self.cfg.ban_for);
		// Closes its connections and refuses new ones, both ways.
		swarm.behaviour_mut().banned.block_peer(peer);
		swarm.behaviour_mut().kad.remove_peer(&peer);
		self.announced.forget(&peer);
	}

	fn lift_bans(&mut self, swarm: &mut Swarm<Behaviour>) {
		let now = std::time::Instant::now();
		let ended: Vec<PeerId> =
			self.banned.iter().filter(|(_, until)| **until <= now).map(|(p, _)| *p).collect();
		for p in ended {
			self.banned.remove(&p);
			swarm.behaviour_mut().banned.unblock_peer(p);
		}
	}

	fn on_event(
		&mut self,
		swarm: &mut Swarm<Behaviour>,
		ev: SwarmEvent<BehaviourEvent>,
		reply_tx: &mpsc::UnboundedSender<Reply>,
	) {
		match ev {
			SwarmEvent::NewListenAddr { address, .. } => self.listen_addrs.push(address),
			SwarmEvent::ConnectionEstablished {
				peer_id,
				connection_id,
				endpoint,
				num_established,
				..
			} => {
				self.connections.insert(peer_id, num_established.get() as usize);
				self.lane_dials.remove(&connection_id);
				if let Some(tx) = self.dials.remove(&connection_id) {
					let _ = tx.send(Ok(peer_id));
				}
				// An address we reached it at is good, whatever it looks like.
				if let ConnectedPoint::Dialer { address, .. } = endpoint {
					swarm.behaviour_mut().kad.add_address(&peer_id, address);
				}
				if num_established.get() == 1 {
					let _ = self.events.send(NodeEvent::Connected(peer_id));
				}
			}
			SwarmEvent::ConnectionClosed { peer_id, num_established, .. } => {
				if num_established == 0 {
					self.connections.remove(&peer_id);
					let _ = self.events.send(NodeEvent::Disconnected(peer_id));
				} else {
					self.connections.insert(peer_id, num_established as usize);
				}
			}
			SwarmEvent::OutgoingConnectionError { connection_id, error, .. } => {
				self.lane_dials.remove(&connection_id);
				if let Some(tx) = self.dials.remove(&connection_id) {
					let _ = tx.send(Err(error.to_string()));
				}
			}
			SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
				peer_id,
				info,
				..
			})) => {
				// A peer's loopback and private addresses lead nowhere (or somewhere else) from
				// the internet: on a public network they stay out of the routing table.
				for a in info.listen_addrs.into_iter().filter(|a| self.routable(a)) {
					swarm.behaviour_mut().kad.add_address(&peer_id, a);
				}
			}
			SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
				id,
				result: kad::QueryResult::GetProviders(res),
				step,
				..
			})) => {
				let Some(q) = self.queries.get_mut(&id) else { return };
				if let Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) = res {
					q.found.extend(providers);
				}
				q.found.remove(swarm.local_peer_id());
				if step.last {
					let q = self.queries.remove(&id).expect("present");
					let found = q.found.into_iter().filter(|p| !self.banned.contains_key(p));
					let _ = q.reply.send(found.collect());
				}
			}
			SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message {
				propagation_source,
				message_id,
				message,
			})) => {
				let verdict = self.on_announcement(&message);
				let gossip = &mut swarm.behaviour_mut().gossip;
				let _ = gossip.report_message_validation_result(
					&message_id,
					&propagation_source,
					verdict,
				);
			}
			SwarmEvent::Behaviour(BehaviourEvent::Blob(ev)) => self.on_blob(swarm, ev, reply_tx),
			_ => {}
		}
	}

	fn on_blob(
		&mut self,
		swarm: &mut Swarm<Behaviour>,
		ev: request_response::Event<BlobRequest, BlobResponse>,
		reply_tx: &mpsc::UnboundedSender<Reply>,
	) {
		use request_response::{Event, Message};
		match ev {
			Event::Message { peer, message: Message::Request { request, channel, .. } } => {
				self.serve(peer, request, channel, reply_tx)
			}
			Event::Message { message: Message::Response { request_id, response }, .. } => {
				if let Some(tx) = self.requests.remove(&request_id) {
					let _ = tx.send(Ok(response));
				}
			}
			Event::OutboundFailure { peer, request_id, error } => {
				// A response that breaks the protocol is a lie (a dropped connection, a failed TLS
				// record or a timeout is not).
				if let request_response::OutboundFailure::Io(e) = &error {
					if is_violation(e) {
						self.ban(swarm, peer, &format!("sent a malformed response: {e}"));
					}
				}
				if let Some(tx) = self.requests.remove(&request_id) {
					let _ = tx.send(Err(RequestError::Failed { peer, reason: error.to_string() }));
				}
			}
			Event::InboundFailure { peer, error, .. } => {
				if let request_response::InboundFailure::Io(e) = &error {
					if is_violation(e) {
						self.ban(swarm, peer, &format!("sent a malformed request: {e}"));
						return;
					}
				}
				tracing::debug!(%peer, "inbound blob request failed: {error}");
			}
			Event::ResponseSent { .. } => {}
		}
	}

	/// Answers a request off the swarm task (disk reads and hashing must not stall the network).
	fn serve(
		&mut self,
		peer: PeerId,
		req: BlobRequest,
		channel: ResponseChannel<BlobResponse>,
		reply_tx: &mpsc::UnboundedSender<Reply>,
	) {
		let store = self.store.clone();
		let outboards = self.outboards.clone();
		let reply_tx = reply_tx.clone();
		// Reads of the disk (a run holds up to 4 MiB in memory until sent) are bounded in number;
		// past the bound a request is answered "busy" at once and the fetcher asks someone else.
		let counted = matches!(req, BlobRequest::Outboard(_) | BlobRequest::Groups { .. });
		if counted {
			let serving = self.serving.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
			if serving >= self.cfg.max_serving {
				self.serving.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
				let why = format!("busy: serving {serving} requests; ask again or elsewhere");
				let _ = reply_tx.send((channel, BlobResponse::Refused(why)));
				return;
			}
		}
		let slot = counted.then(|| ServingSlot(self.serving.clone()));
		match req {
			BlobRequest::Outboard(hash) => {
				tokio::task::spawn_blocking(move || {
					let _slot = slot;
					let resp = match cached_outboard(&store, &outboards, &hash) {
						Some(ob) => BlobResponse::Outboard((*ob).clone()),
						None => BlobResponse::NotFound,
					};
					let _ = reply_tx.send((channel, resp));
				});
			}
			BlobRequest::Groups { hash, first, count } => {
				if count == 0 || count > MAX_RUN {
					let why = format!("a run is 1 to {MAX_RUN} groups, not {count}");
					let _ = reply_tx.send((channel, BlobResponse::Refused(why)));
					return;
				}
				tokio::task::spawn_blocking(move || {
					let _slot = slot;
					let resp = match cached_outboard(&store, &outboards, &hash) {
						Some(ob) => {
							let mut groups = Vec::new();
							for index in
								first..(first.saturating_add(count as u64)).min(ob.groups())
							{
								match store.read_group(&hash, &ob, index) {
									Ok(bytes) => groups.push(bytes),
									Err(e) => {
										outboards.lock().unwrap().remove(&hash);
										tracing::warn!("cannot serve group {index}: {e}");
										break;
									}
								}
							}
							if groups.is_empty() {
								BlobResponse::NotFound
							} else {
								BlobResponse::Groups(groups)
							}
						}
						None => BlobResponse::NotFound,
					};
					let _ = reply_tx.send((channel, resp));
				});
			}
			BlobRequest::Has(hash) => {
				let resp = BlobResponse::Have {
					complete: store.has(&hash),
					pinned: store.pins_of(&hash).live(now_secs()),
				};
				let _ = reply_tx.send((channel, resp));
			}
			BlobRequest::Push { hash, size, voucher } => {
				let (Some(pushes), Some(inner)) = (self.pushes.clone(), self.node.upgrade()) else {
					let why = "this peer does not take uploads".to_string();
					let _ = reply_tx.send((channel, BlobResponse::Refused(why)));
					return;
				};
				let push = pushes.push(DataNode(inner), peer, hash, size, voucher);
				tokio::spawn(async move {
					let _ = reply_tx.send((channel, push.await));
				});
			}
		}
	}
}

/// One request being served; dropping it frees its place under [`NetConfig::max_serving`].
struct ServingSlot(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for ServingSlot {
	fn drop(&mut self) {
		self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
	}
}

fn cached_outboard(
	store: &ContentStore,
	cache: &Mutex<HashMap<Hash, Arc<Outboard>>>,
	hash: &Hash,
) -> Option<Arc<Outboard>> {
	if let Some(ob) = cache.lock().unwrap().get(hash) {
		return Some(ob.clone());
	}
	let ob = Arc::new(store.outboard(hash).ok()?);
	let mut c = cache.lock().unwrap();
	if c.len() >= 64 {
		c.clear();
	}
	c.insert(*hash, ob.clone());
	Some(ob)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn only_public_addresses_are_routable_outside_a_private_network() {
		let a = |s: &str| s.parse::<Multiaddr>().unwrap();
		for public in [
			"/ip4/8.8.8.8/tcp/4001",
			"/ip4/100.128.0.1/udp/1/quic-v1",
			"/ip6/2a00:1450::1/tcp/1",
			"/dns4/peer.example.org/tcp/30333",
		] {
			assert!(is_public(&a(public)), "{public}");
		}
		for private in [
			"/ip4/127.0.0.1/tcp/1",
			"/ip4/10.1.2.3/tcp/1",
			"/ip4/172.16.0.9/tcp/1",
			"/ip4/192.168.1.1/tcp/1",
			"/ip4/169.254.0.1/tcp/1",
			"/ip4/100.64.0.1/tcp/1",
			"/ip4/0.0.0.0/tcp/1",
			"/ip4/192.0.2.1/tcp/1",
			"/ip6/::1/tcp/1",
			"/ip6/fe80::1/tcp/1",
			"/ip6/fd00::1/tcp/1",
			"/ip6/::ffff:127.0.0.1/tcp/1",
			"/ip6/2001:db8::1/tcp/1",
		] {
			assert!(!is_public(&a(private)), "{private}");
		}
		// Listening on loopback (tests, `up.sh`) is a private network; on 0.0.0.0 a public one.
		assert!(NetConfig::default().private_network());
		let public = NetConfig { listen: vec![a("/ip4/0.0.0.0/tcp/4001")], ..Default::default() };
		assert!(!public.private_network());
		let client = NetConfig { listen: vec![], ..Default::default() };
		assert!(client.private_network());
		let bootstrap = vec![a("/dns4/boot.example.org/tcp/4001")];
		assert!(!NetConfig { bootstrap, ..Default::default() }.private_network());
	}

	#[test]
	fn the_announcement_cache_is_bounded() {
		let mut a = Announced::default();
		let peers: Vec<PeerId> = (0..30).map(|_| PeerId::random()).collect();
		for p in &peers {
			a.insert([1; 32], *p);
		}
		// The latest announcers of a blob are kept, up to PER_BLOB.
		let kept: Vec<PeerId> = a.providers(&[1; 32]).collect();
		assert_eq!(kept, peers[30 - Announced::PER_BLOB..]);
		for i in 0..Announced::BLOBS as u32 + 10 {
			let mut h = [0u8; 32];
			h[..4].copy_from_slice(&i.to_le_bytes());
			h[4] = 9;
			a.insert(h, peers[0]);
		}
		// Full: the stalest blobs made way, the first one among them.
		assert_eq!(a.len(), Announced::BLOBS);
		assert_eq!(a.providers(&[1; 32]).count(), 0);
		// A banned peer's announcements all go.
		a.forget(&peers[0]);
		assert_eq!(a.len(), 0);
	}

	/// A node with its store and key in `dir`, named `name`.
	async fn node_in(dir: &Path, name: &str, cfg: NetConfig) -> anyhow::Result<DataNode> {
		let store = Arc::new(ContentStore::open(dir.join(name), 1 << 20).unwrap());
		let key = load_or_create_identity(&dir.join(format!("{name}.key"))).unwrap();
		DataNode::start(key, store, cfg).await
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn a_peer_gets_no_more_connections_than_the_limit_allows() {
		let dir = tempfile::tempdir().unwrap();
		let server = node_in(
			dir.path(),
			"server",
			NetConfig { max_connections_per_peer: 2, ..Default::default() },
		)
		.await
		.unwrap();
		let client = node_in(dir.path(), "client", NetConfig::default()).await.unwrap();
		let addr = server.listen_addrs().await.into_iter().next().unwrap();
		let id = client.dial(addr).await.unwrap();
		// The client asks for six lanes; the server keeps two.
		client.open_lanes(id, 6);
		tokio::time::sleep(Duration::from_millis(1500)).await;
		assert_eq!(server.connections(client.peer_id()).await, 2);
		assert!(client.connections(id).await <= 2);
		// Requests still go through.
		let r = client.request(id, BlobRequest::Has([7; 32])).await.unwrap();
		assert_eq!(r, BlobResponse::Have { complete: false, pinned: false });

		// Past `max_serving` reads in progress, a request for data is answered "busy" at once
		// (here the bound is 0, so every one is).
		let busy = node_in(dir.path(), "busy", NetConfig { max_serving: 0, ..Default::default() })
			.await
			.unwrap();
		let h = busy.store().put_bytes(b"some bytes to serve").unwrap();
		let addr = busy.listen_addrs().await.into_iter().next().unwrap();
		let b = client.dial(addr).await.unwrap();
		for req in [BlobRequest::Outboard(h), BlobRequest::Groups { hash: h, first: 0, count: 1 }] {
			let r = client.request(b, req).await.unwrap();
			assert!(matches!(&r, BlobResponse::Refused(why) if why.starts_with("busy")), "{r:?}");
		}
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn dialing_a_connected_peer_again_reuses_its_connection() {
		// The Studio dials its data peers before every upload, preview and payout table: each
		// dial used to open one more connection, until the per-peer limit denied the next and
		// the peer looked unreachable.
		let dir = tempfile::tempdir().unwrap();
		let server = node_in(dir.path(), "server", NetConfig::default()).await.unwrap();
		let client = node_in(dir.path(), "client", NetConfig::default()).await.unwrap();
		let addr = server.listen_addrs().await.into_iter().next().unwrap();
		for i in 0..20 {
			let id = client.dial(addr.clone()).await.unwrap_or_else(|e| panic!("dial {i}: {e}"));
			assert_eq!(id, server.peer_id());
		}
		assert_eq!(client.connections(server.peer_id()).await, 1);
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn on_a_public_network_a_peers_loopback_addresses_stay_out_of_the_routing_table() {
		let dir = tempfile::tempdir().unwrap();
		// A listens on every interface (a public node); B only on loopback (a private one).
		let all: Multiaddr = "/ip4/0.0.0.0/tcp/0".parse().unwrap();
		let public =
			node_in(dir.path(), "public", NetConfig { listen: vec![all], ..Default::default() })
				.await
				.unwrap();
		let private = node_in(dir.path(), "private", NetConfig::default()).await.unwrap();
		let port = public.listen_addrs().await.into_iter().find_map(|a| {
			a.iter().find_map(|p| if let Protocol::Tcp(port) = p { Some(port) } else { None })
		});
		let a: Multiaddr = format!("/ip4/127.0.0.1/tcp/{}", port.unwrap()).parse().unwrap();
		let pa = private.dial(a).await.unwrap();
		// B learns A's address by dialing it (kept: it was reached); A learns B's loopback listen
		// addresses from identify, and a public node drops them.
		let mut seen_by_private = vec![];
		for _ in 0..100 {
			seen_by_private = private.dht_addresses(pa).await;
			if !seen_by_private.is_empty() {
				break;
			}
			tokio::time::sleep(Duration::from_millis(50)).await;
		}
		assert!(!seen_by_private.is_empty());
		tokio::time::sleep(Duration::from_millis(500)).await; // identify has run both ways
		let seen_by_public = public.dht_addresses(private.peer_id()).await;
		assert!(seen_by_public.iter().all(is_public), "{seen_by_public:?}");
		assert!(seen_by_public.is_empty(), "{seen_by_public:?}");
	}
}
