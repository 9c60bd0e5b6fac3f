//! Fetches against peers that lie: a real libp2p peer speaking the blob protocol whose answers
//! come from a function the test gives it (forged outboards, sizes, bytes, malformed runs).

use crate::fetch::{fetch, FetchError, FetchOptions};
use crate::net::{DataNode, NetConfig};
use crate::protocol::{BlobCodec, BlobRequest, BlobResponse, PROTOCOL};
use crate::store::ContentStore;
use crate::tree::{Hash, Outboard, GROUP_LEN};
use futures::StreamExt;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, Multiaddr, PeerId};
use std::sync::Arc;
use std::time::Duration;

type Answer = Arc<dyn Fn(&BlobRequest) -> BlobResponse + Send + Sync>;

/// A peer that answers every blob request with `answer(request)`.
struct Liar {
	addr: Multiaddr,
	task: tokio::task::JoinHandle<()>,
}

impl Drop for Liar {
	fn drop(&mut self) {
		self.task.abort();
	}
}

async fn liar(answer: Answer) -> Liar {
	let mut swarm = libp2p::SwarmBuilder::with_new_identity()
		.with_tokio()
		.with_tcp(
			tcp::Config::default(),
			(crate::tls::Config::new, noise::Config::new),
			crate::mux::Config::default,
		)
		.unwrap()
		.with_behaviour(|_| {
			request_response::Behaviour::<BlobCodec>::with_codec(
				BlobCodec,
				[(PROTOCOL, ProtocolSupport::Full)],
				request_response::Config::default(),
			)
		})
		.unwrap()
		.with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
		.build();
	swarm.listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap()).unwrap();
	let addr = loop {
		if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
			break address;
		}
	};
	let id = *swarm.local_peer_id();
	let task = tokio::spawn(async move {
		loop {
			if let SwarmEvent::Behaviour(request_response::Event::Message {
				message: request_response::Message::Request { request, channel, .. },
				..
			}) = swarm.select_next_some().await
			{
				let _ = swarm.behaviour_mut().send_response(channel, answer(&request));
			}
		}
	});
	Liar { addr: addr.with(Protocol::P2p(id)), task }
}

struct Peer {
	node: DataNode,
	_dir: tempfile::TempDir,
}

async fn peer() -> Peer {
	let dir = tempfile::tempdir().unwrap();
	let store = Arc::new(ContentStore::open(dir.path().join("store"), 1 << 30).unwrap());
	let key = crate::net::load_or_create_identity(&dir.path().join("key")).unwrap();
	let node = DataNode::start(key, store, NetConfig::default()).await.unwrap();
	Peer { node, _dir: dir }
}

async fn tcp_addr(p: &Peer) -> Multiaddr {
	let addrs = p.node.listen_addrs().await;
	addrs.into_iter().find(|a| a.iter().any(|x| matches!(x, Protocol::Tcp(_)))).unwrap()
}

use crate::testing::random_bytes as data;

/// Waits until `who` is banned by `node` and no longer connected to it.
async fn banned(node: &DataNode, who: PeerId) -> bool {
	for _ in 0..100 {
		if node.banned_peers().await.contains(&who) && node.connections(who).await == 0 {
			return true;
		}
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
	false
}

fn groups_of(d: &[u8], first: u64, count: u32) -> BlobResponse {
	let g = GROUP_LEN as usize;
	let groups = (first..first + count as u64)
		.map(|i| i as usize * g)
		.filter(|s| *s < d.len().max(1))
		.map(|s| d[s..(s + g).min(d.len())].to_vec().into())
		.collect();
	BlobResponse::Groups(groups)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_lying_about_a_small_blobs_size_is_banned_and_cannot_get_it_rejected() {
	// A 5000-byte blob: its outboard is its hash, so a liar can claim any size up to 1 MiB and
	// still pass the outboard check. Before the last group had to back the outboard, the fetch
	// ended with "declared 5000 bytes, content is 4000" and the curator voted the contribution down.
	let d = data(5000, 1);
	let h: Hash = *blake3::hash(&d).as_bytes();
	let (honest, victim) = (peer().await, peer().await);
	honest.node.store().put_bytes(&d).unwrap();
	let l = liar(Arc::new(move |req| match req {
		BlobRequest::Outboard(_) => BlobResponse::Outboard(Outboard { size: 4000, cvs: vec![h] }),
		BlobRequest::Groups { .. } => BlobResponse::Groups(vec![vec![0u8; 4000].into()]),
		_ => BlobResponse::NotFound,
	}))
	.await;
	let pl = victim.node.dial(l.addr.clone()).await.unwrap();
	let ph = victim.node.dial(tcp_addr(&honest).await).await.unwrap();
	let opts = FetchOptions {
		providers: vec![pl, ph],
		expected_size: Some(5000),
		give_up_after: Duration::from_secs(10),
		..Default::default()
	};
	let r = fetch(&victim.node, h, opts).await.unwrap();
	assert_eq!(r.received.get(&ph), Some(&1));
	assert_eq!(victim.node.store().read_all(&h).unwrap(), d);
	assert!(banned(&victim.node, pl).await, "the liar is not banned");
	assert!(victim.node.dial(l.addr.clone()).await.is_err(), "a banned peer can be dialed");
	assert!(!victim.node.banned_peers().await.contains(&ph));

	// A declaration that really is false is still caught, from the honest peer's proof.
	let h2 = honest.node.store().put_bytes(&d[..4999]).unwrap();
	let opts =
		FetchOptions { providers: vec![ph], expected_size: Some(5000), ..Default::default() };
	match fetch(&victim.node, h2, opts).await {
		Err(FetchError::SizeMismatch { declared: 5000, actual: 4999 }) => {}
		other => panic!("expected a size mismatch, got {other:?}"),
	}
	assert!(!victim.node.banned_peers().await.contains(&ph));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_outboards_bad_groups_and_malformed_runs_ban_their_sender() {
	let d = data(3 * GROUP_LEN as usize + 77, 2);
	let h: Hash = *blake3::hash(&d).as_bytes();
	let ob = Outboard::of_bytes(&d);
	let (honest, victim) = (peer().await, peer().await);
	honest.node.store().put_bytes(&d).unwrap();
	// One sends group hashes that do not reproduce the content hash.
	let mut forged = ob.clone();
	forged.cvs[1][3] ^= 1;
	let forger = liar(Arc::new(move |_| BlobResponse::Outboard(forged.clone()))).await;
	// One backs the true outboard with the true last group, then serves a corrupt group 0.
	let (d2, ob2) = (d.clone(), ob.clone());
	let corrupter = liar(Arc::new(move |req| match req {
		BlobRequest::Outboard(_) => BlobResponse::Outboard(ob2.clone()),
		BlobRequest::Groups { first: 0, count, .. } => {
			let BlobResponse::Groups(mut run) = groups_of(&d2, 0, *count) else { unreachable!() };
			run[0][17] ^= 0x40;
			BlobResponse::Groups(run)
		}
		BlobRequest::Groups { first, count, .. } => groups_of(&d2, *first, *count),
		_ => BlobResponse::NotFound,
	}))
	.await;
	// One answers with a run longer than the protocol allows: the frame does not decode.
	let garbler = liar(Arc::new(|_| BlobResponse::Groups(vec![vec![1u8].into(); 5]))).await;
	let mut providers = vec![];
	for l in [&forger, &corrupter, &garbler] {
		providers.push(victim.node.dial(l.addr.clone()).await.unwrap());
	}
	let ph = victim.node.dial(tcp_addr(&honest).await).await.unwrap();
	providers.push(ph);
	// Small requests, one at a time per provider, so every liar gets asked.
	let opts = FetchOptions {
		providers: providers.clone(),
		expected_size: Some(d.len() as u64),
		run: 1,
		per_provider: 1,
		..Default::default()
	};
	let r = fetch(&victim.node, h, opts).await.unwrap();
	assert_eq!(victim.node.store().read_all(&h).unwrap(), d);
	assert!(r.received.get(&ph).copied().unwrap_or(0) >= 1);
	for (who, name) in providers[..2].iter().zip(["forger", "corrupter"]) {
		assert!(banned(&victim.node, *who).await, "the {name} is not banned");
	}
	// The garbler was asked first for the outboard only if the fetch reached it; ask it directly.
	let _ = victim.node.request(providers[2], BlobRequest::Outboard(h)).await;
	assert!(banned(&victim.node, providers[2]).await, "the garbler is not banned");
	assert!(!victim.node.banned_peers().await.contains(&ph));
}

/// A plain gossipsub peer on the announcement topic: publishes what it is given and reports every
/// message it receives (before any validation of ours).
struct Gossiper {
	publish: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
	received: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
	addr: Multiaddr,
	task: tokio::task::JoinHandle<()>,
}

impl Drop for Gossiper {
	fn drop(&mut self) {
		self.task.abort();
	}
}

async fn gossiper() -> Gossiper {
	use libp2p::gossipsub;
	let mut swarm = libp2p::SwarmBuilder::with_new_identity()
		.with_tokio()
		.with_tcp(
			tcp::Config::default(),
			(crate::tls::Config::new, noise::Config::new),
			crate::mux::Config::default,
		)
		.unwrap()
		.with_behaviour(|key| {
			let cfg = gossipsub::ConfigBuilder::default()
				.heartbeat_interval(Duration::from_millis(200))
				.build()
				.unwrap();
			gossipsub::Behaviour::<
				gossipsub::IdentityTransform,
				gossipsub::AllowAllSubscriptionFilter,
			>::new(gossipsub::MessageAuthenticity::Signed(key.clone()), cfg)
			.unwrap()
		})
		.unwrap()
		.with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
		.build();
	let topic = gossipsub::IdentTopic::new(crate::protocol::ANNOUNCE_TOPIC);
	swarm.behaviour_mut().subscribe(&topic).unwrap();
	swarm.listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap()).unwrap();
	let addr = loop {
		if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
			break address;
		}
	};
	let id = *swarm.local_peer_id();
	let (publish, mut to_publish) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
	let (got, received) = tokio::sync::mpsc::unbounded_channel();
	let task = tokio::spawn(async move {
		loop {
			tokio::select! {
				ev = swarm.select_next_some() => {
					if let SwarmEvent::Behaviour(gossipsub::Event::Message { message, .. }) = ev {
						let _ = got.send(message.data);
					}
				}
				Some(data) = to_publish.recv() => {
					let _ = swarm.behaviour_mut().publish(topic.clone(), data);
				}
			}
		}
	});
	Gossiper { publish, received, addr: addr.with(Protocol::P2p(id)), task }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_that_does_not_decode_is_not_relayed_and_its_sender_is_ignored() {
	use crate::protocol::Announcement;
	use codec::Encode;
	// P and T know only our node V: whatever T receives from P, V relayed.
	let v = peer().await;
	let mut events = v.node.events();
	let (p, mut t) = (gossiper().await, gossiper().await);
	v.node.dial(p.addr.clone()).await.unwrap();
	v.node.dial(t.addr.clone()).await.unwrap();
	// A valid announcement gets through (published again until the meshes have formed).
	let first = Announcement::Have { hash: [1; 32], size: 10 }.encode();
	let mut relayed = false;
	for _ in 0..100 {
		p.publish.send(first.clone()).unwrap();
		if let Ok(Some(m)) =
			tokio::time::timeout(Duration::from_millis(200), t.received.recv()).await
		{
			assert_eq!(m, first);
			relayed = true;
			break;
		}
	}
	assert!(relayed, "a valid announcement was never relayed");
	// Junk on the topic is not relayed (it used to be, before anything looked at it)...
	p.publish.send(b"not an announcement at all".to_vec()).unwrap();
	let junk = tokio::time::timeout(Duration::from_secs(2), async {
		loop {
			match t.received.recv().await {
				Some(m) if m == first => continue,
				other => return other,
			}
		}
	})
	.await;
	assert!(junk.is_err(), "junk was relayed: {junk:?}");
	// ...and its sender is scored down to the graylist: its next, valid, announcement is ignored.
	while events.try_recv().is_ok() {}
	let second = Announcement::Have { hash: [2; 32], size: 20 }.encode();
	p.publish.send(second.clone()).unwrap();
	let heard = tokio::time::timeout(Duration::from_secs(2), async {
		loop {
			if let Ok(crate::net::NodeEvent::Announced { hash, .. }) = events.recv().await {
				if hash == [2; 32] {
					return;
				}
			}
		}
	})
	.await;
	assert!(heard.is_err(), "an announcement from a graylisted peer was taken");
	assert!(v.node.find_providers([1; 32]).await.len() == 1);
}
