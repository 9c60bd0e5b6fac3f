//! The data plane end to end, with real processes on loopback:
//! (a) a dev node and two curator workers (Bob and Charlie): a contributor uploads three text files and
//!     two images through the CLI; the workers fetch, check and vote; the good ones end Accepted, the
//!     malformed ones Rejected as Malformed, and the leaderboard shows it; bytes that were never
//!     uploaded are given up on without a vote; a restarted worker keeps its identity and votes only
//!     on new work;
//! (b) a curator runs a round at each finalized block, not on a timer;
//! (c) a 256 MiB blob served by two workers: a third fetches it and is killed (SIGKILL) while
//!     writing, leaving no complete-looking blob; restarted, it resumes; the first provider is
//!     killed midway, and the transfer completes from the second and verifies.

use crate::{json, wait_for};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tributary_client::{
	client::{Decision, RejectArg},
	Client,
};
use tributary_e2e::{cli, Node, Proc, Worker};

fn corpus(rel: &str) -> PathBuf {
	// At run time: a binary built in another checkout sharing the target dir must not read its files.
	let root = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
	Path::new(&root).join("../content-check/testdata").join(rel)
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_fetch_check_and_vote_on_uploaded_contributions() {
	let mut node = Node::start("dev", &["--dev", "--sealing", "instant"]).expect("node starts");
	node.wait_rpc().expect("rpc up");
	let url = node.url();
	let home = tempfile::tempdir().unwrap();
	let ks = home.path().join("keys");
	let bob = tributary_client::keys::Key::from_suri("//Bob").unwrap().ss58();
	let charlie = tributary_client::keys::Key::from_suri("//Charlie").unwrap().ss58();

	let mut datanets = vec![];
	for (name, modality, formats) in
		[("e2e-text", "text", "txt,md,jsonl"), ("e2e-images", "image", "png,jpeg")]
	{
		datanets.push(create_datanet(&url, &ks, name, modality, formats, &[&bob, &charlie]));
	}

	// Two curator workers; Charlie's knows Bob's.
	let (wb, wc) = (home.path().join("w-bob"), home.path().join("w-charlie"));
	let run = |key: &str, bootstrap: Option<String>| -> Vec<String> {
		let mut a: Vec<String> =
			bootstrap.map(|b| vec!["--bootstrap".into(), b]).unwrap_or_default();
		a.extend(curator_args(&url, key));
		a
	};
	let w_bob = Worker::start("bob", &wb, &strs(&run("//Bob", None))).unwrap();
	let charlie_args = run("//Charlie", Some(w_bob.tcp_addr()));
	let w_charlie = Worker::start("charlie", &wc, &strs(&charlie_args)).unwrap();

	// Dave uploads each file to Bob's worker and submits it.
	let uploads = [
		(&datanets[0], "good/river.txt", None),
		(&datanets[0], "good/pairs.jsonl", None),
		(&datanets[0], "hostile/invalid-utf8.txt", Some(RejectArg::Malformed)),
		(&datanets[1], "good/gradient.png", None),
		(&datanets[1], "hostile/truncated.png", Some(RejectArg::Malformed)),
	];
	let mut ids = vec![];
	for (d, file, _) in &uploads {
		let path = corpus(file);
		let out = contribute(&url, &ks, &path, d, Some(&w_bob.tcp_addr()));
		assert_eq!(out["uploaded_to"], 1, "{file}");
		ids.push(out["contribution"].as_u64().unwrap());
	}

	// Anyone can push, but a worker takes only what a record on chain declares: junk pushed under
	// a real contribution's id, or under an id that does not exist, is refused before a byte moves.
	{
		let dir = tempfile::tempdir().unwrap();
		let store =
			std::sync::Arc::new(data_plane::ContentStore::open(dir.path(), 1 << 20).unwrap());
		let junk = store.put_bytes(b"junk that no record on chain declares").unwrap();
		let cfg = data_plane::NetConfig { listen: vec![], ..Default::default() };
		let key = data_plane::load_or_create_identity(&dir.path().join("key")).unwrap();
		let pusher = data_plane::DataNode::start(key, store, cfg).await.unwrap();
		let w = pusher.dial(w_bob.tcp_addr().parse().unwrap()).await.unwrap();
		let t = Duration::from_secs(10);
		for (voucher, why) in [
			(data_plane::Voucher::Contribution(ids[0]), "declares other content"),
			(data_plane::Voucher::Contribution(1 << 40), "not on chain"),
			(data_plane::Voucher::BaseModel(4242), "not on chain"),
		] {
			let err = data_plane::push(&pusher, w, junk, 37, voucher, t).await.unwrap_err();
			assert!(err.to_string().contains(why), "{voucher:?}: {err}");
		}
		assert!(!wb.join("store/blobs").join(hex::encode(junk)).exists());
		pusher.shutdown();
	}

	// 100 peers push junk at Bob's worker all at once, while it curates: each push names a real
	// pending contribution (or none) that does not declare the junk. Every one is refused before a
	// byte moves; the store takes nothing, the worker's memory stays bounded, and the votes below
	// still arrive.
	let rss_before = w_bob.proc.rss_kib().unwrap();
	let flood = {
		let target: data_plane::Multiaddr = w_bob.tcp_addr().parse().unwrap();
		let pending = ids.clone();
		tokio::spawn(async move {
			let pushes = (0..100u64).map(|i| {
				let (target, pending) = (target.clone(), pending.clone());
				async move {
					let dir = tempfile::tempdir().unwrap();
					let store = std::sync::Arc::new(
						data_plane::ContentStore::open(dir.path(), 1 << 20).unwrap(),
					);
					let junk = vec![i as u8; 4096 + i as usize];
					let h = store.put_bytes(&junk).unwrap();
					let cfg = data_plane::NetConfig { listen: vec![], ..Default::default() };
					let key = data_plane::load_or_create_identity(&dir.path().join("k")).unwrap();
					let node = data_plane::DataNode::start(key, store, cfg).await.unwrap();
					let w = node.dial(target).await.unwrap();
					let voucher = match i % 2 {
						0 => data_plane::Voucher::Contribution(pending[i as usize % pending.len()]),
						_ => data_plane::Voucher::Contribution(1 << 40 | i),
					};
					let t = Duration::from_secs(30);
					let r = data_plane::push(&node, w, h, junk.len() as u64, voucher, t).await;
					node.shutdown();
					(h, r.is_err())
				}
			});
			futures::future::join_all(pushes).await
		})
	};

	// Both workers vote on everything; each contribution reaches its decision.
	let client = Client::connect(&url).await.unwrap();
	for ((_, file, want), id) in uploads.iter().zip(&ids) {
		let decision = decided(&client, *id, file).await;
		match want {
			None => assert!(matches!(decision, Decision::Accepted { .. }), "{file}: {decision:?}"),
			Some(r) => assert_eq!(decision, Decision::Rejected { reason: *r }, "{file}"),
		}
		let c = client.contribution(*id).await.unwrap();
		assert_eq!(c.approvals + c.rejections, 2, "{file}: both curators voted once");
	}

	let flood = flood.await.unwrap();
	assert_eq!(flood.len(), 100);
	assert!(flood.iter().all(|(_, refused)| *refused), "every junk push is refused");
	for (h, _) in &flood {
		assert!(!wb.join("store/blobs").join(hex::encode(h)).exists());
		assert!(!wb.join("store/partial").join(hex::encode(h)).exists());
	}
	let rss_after = w_bob.proc.rss_kib().unwrap();
	assert!(rss_after < rss_before + 256 * 1024, "RSS {rss_before} KiB -> {rss_after} KiB");

	// The leaderboard of the text datanet: Dave with two accepted, one rejected.
	let text: u32 = datanets[0].parse().unwrap();
	let board = client.leaderboard(Some(text), 0, 10).await.unwrap();
	assert_eq!(board.len(), 1);
	assert_eq!(board[0].account, tributary_client::keys::Key::from_suri("//Dave").unwrap().ss58());
	assert_eq!((board[0].stats.accepted, board[0].stats.rejected), (2, 1));
	let table = cli(&url, &ks, &["leaderboard", "--datanet", &datanets[0]]).unwrap();
	assert!(table.ok && table.stdout.contains(&board[0].account), "{}", table.stdout);

	// Charlie's worker fetched everything over the network: its store holds the accepted bytes.
	let blobs = std::fs::read_dir(wc.join("store/blobs"))
		.unwrap()
		.filter(|e| !e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".ob"))
		.count();
	assert_eq!(blobs, 5, "Charlie's store holds every contribution he judged");

	// Rejected bytes are unpinned in the curators' stores (the budget may evict them); accepted stay.
	// Each pin names its holder: Charlie's curator pins per contribution (`curator:<id>`).
	let curator_pinned = |name: &str| {
		let h = blake3::hash(&std::fs::read(corpus(name)).unwrap());
		let p = wc.join("store/pins").join(h.to_hex().as_str());
		let Ok(bytes) = std::fs::read(p) else { return false };
		let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
		v["holders"].as_object().is_some_and(|h| h.keys().any(|k| k.starts_with("curator:")))
	};
	wait_for("rejected content to be unpinned", Duration::from_secs(30), || async {
		(!curator_pinned("hostile/truncated.png") && !curator_pinned("hostile/invalid-utf8.txt"))
			.then_some(())
	})
	.await;
	assert!(curator_pinned("good/gradient.png"));

	// Bytes that never reach a data peer: both workers retry, then give up without voting.
	let lost = home.path().join("lost.txt");
	std::fs::write(&lost, "These bytes were declared on chain but never uploaded anywhere.\n")
		.unwrap();
	let out = contribute(&url, &ks, &lost, &datanets[0], None);
	let lost_id = out["contribution"].as_u64().unwrap();
	for w in [&w_bob, &w_charlie] {
		let id = format!("contribution={lost_id}");
		wait_for("a worker to give up on unavailable bytes", Duration::from_secs(60), || async {
			let log = w.proc.log.lock().unwrap();
			log.iter()
				.any(|l| l.contains("giving up without voting") && l.contains(&id))
				.then_some(())
		})
		.await;
	}
	let c = client.contribution(lost_id).await.unwrap();
	assert_eq!((c.decision, c.approvals, c.rejections), (Decision::Pending, 0, 0));

	// Dave takes his rejected records out, for their record deposits.
	for ((_, file, want), id) in uploads.iter().zip(&ids) {
		if want.is_some() {
			let out = cli(&url, &ks, &["remove-contribution", &id.to_string(), "--key", "//Dave"])
				.unwrap();
			assert!(out.ok, "{file}: {}", out.stderr);
		}
	}

	// Bob's worker restarts: same identity, nothing voted again, and it takes on new work. Its
	// journal is gone (a fresh machine with the same key), so it walks every id again, past the
	// records Dave removed.
	let bob_peer = w_bob.tcp_addr().rsplit('/').next().unwrap().to_string();
	drop(w_bob);
	std::fs::remove_file(wb.join(format!("curator-{bob}.json"))).unwrap();
	let args = run("//Bob", Some(w_charlie.tcp_addr()));
	let mut w_bob = Worker::start("bob-again", &wb, &strs(&args)).unwrap();
	assert!(w_bob.tcp_addr().ends_with(&bob_peer), "the peer id persists across restarts");
	let fresh = home.path().join("fresh.md");
	std::fs::write(
		&fresh,
		"# Late note\n\nA new observation about the delta, after the restart.\n",
	)
	.unwrap();
	let out = contribute(&url, &ks, &fresh, &datanets[0], Some(&w_charlie.tcp_addr()));
	let fresh_id = out["contribution"].as_u64().unwrap();
	let decision = decided(&client, fresh_id, "fresh.md").await;
	assert!(matches!(decision, Decision::Accepted { .. }), "{decision:?}");
	w_bob.proc.wait_log("voted", Duration::from_secs(5)).unwrap();
	let votes = w_bob.proc.log.lock().unwrap().iter().filter(|l| l.contains(" voted")).count();
	assert_eq!(votes, 1, "the restarted worker voted only on the new contribution");

	// A vote the chain refuses is tried again later, and the text it approved is not then a
	// duplicate of itself. Ferdie alone curates a datanet; his bond is slashed below the minimum
	// after his worker started, so his approval is refused until he bonds again. (The duplicate
	// index used to take the text in before the vote landed: the retry rejected it as a
	// duplicate of itself.)
	let ferdie = tributary_client::keys::Key::from_suri("//Ferdie").unwrap().ss58();
	let solo = create_datanet(&url, &ks, "e2e-solo", "text", "txt", &[&ferdie]);
	let ok = |args: &[&str], node: &Node| {
		let out = cli(&url, &ks, args).unwrap();
		assert!(out.ok, "{args:?}: {}\nnode log:\n{}", out.stderr, node.tail(30));
	};
	ok(&["curator", "bond", "--key", "//Ferdie"], &node);
	// Ferdie's worker has a tiny store (256 KiB): see the full store below.
	let wf = home.path().join("w-ferdie");
	let mut ferdie_args = vec!["--store-budget".to_string(), (256 << 10).to_string()];
	ferdie_args.extend(run("//Ferdie", Some(w_charlie.tcp_addr())));
	let mut w_ferdie = Worker::start("ferdie", &wf, &strs(&ferdie_args)).unwrap();
	ok(&["curator", "slash", &ferdie, "10", "--key", "//Alice"], &node);
	let note = home.path().join("solo.txt");
	std::fs::write(
		&note,
		"A note for a datanet with one curator, whose bond lapsed for a while.\n",
	)
	.unwrap();
	let out = contribute(&url, &ks, &note, &solo, Some(&w_ferdie.tcp_addr()));
	let solo_id = out["contribution"].as_u64().unwrap();
	w_ferdie.proc.wait_log("CuratorNotBonded", Duration::from_secs(60)).unwrap();
	ok(&["curator", "bond", "--key", "//Ferdie"], &node);
	let decision = decided(&client, solo_id, "solo.txt").await;
	assert!(matches!(decision, Decision::Accepted { .. }), "{decision:?}");

	// A full store is the curator's problem, not the contribution's: a text bigger than Ferdie's
	// whole store is left pending (tried again later, never voted on), and the round goes on to
	// the next one. (A full store used to abort every round: nothing after it was ever judged.)
	let big = home.path().join("big.txt");
	let words: String = (0..40_000).map(|i| format!("word{i} ")).collect();
	std::fs::write(&big, words).unwrap();
	let big_id = contribute(&url, &ks, &big, &solo, Some(&w_charlie.tcp_addr()))["contribution"]
		.as_u64()
		.unwrap();
	let small = home.path().join("small.txt");
	std::fs::write(&small, "A short note that fits in the smallest of stores.\n").unwrap();
	let small_id = contribute(&url, &ks, &small, &solo, Some(&w_charlie.tcp_addr()))
		["contribution"]
		.as_u64()
		.unwrap();
	let decision = decided(&client, small_id, "small.txt").await;
	assert!(matches!(decision, Decision::Accepted { .. }), "{decision:?}");
	let line = w_ferdie.proc.wait_log("not judged this round", Duration::from_secs(30)).unwrap();
	assert!(
		line.contains("store is full") && line.contains(&format!("contribution={big_id}")),
		"{line}"
	);
	assert_eq!(client.contribution(big_id).await.unwrap().decision, Decision::Pending);

	// The node is killed (SIGKILL) and restarted on its database: the chain's state is all there,
	// and the workers reconnect by themselves and curate what comes next.
	drop(client);
	node.restart().unwrap();
	let client = Client::connect(&url).await.unwrap();
	let c = client.contribution(solo_id).await.unwrap();
	assert!(matches!(c.decision, Decision::Accepted { .. }), "{:?}", c.decision);
	let board = client.leaderboard(Some(text), 0, 10).await.unwrap();
	assert_eq!(board[0].stats.accepted, 3, "Dave's accepted texts: river, pairs, fresh");
	let after = home.path().join("after-restart.md");
	std::fs::write(&after, "# After the restart\n\nThe node came back with its whole chain.\n")
		.unwrap();
	let out = contribute(&url, &ks, &after, &datanets[0], Some(&w_charlie.tcp_addr()));
	let after_id = out["contribution"].as_u64().unwrap();
	let decision = tokio::time::timeout(
		Duration::from_secs(100), // before `decided` gives up, to show the workers' logs
		decided(&client, after_id, "after-restart.md"),
	)
	.await
	.unwrap_or_else(|_| {
		panic!(
			"no decision after the restart\nbob:\n{}\ncharlie:\n{}\nnode:\n{}",
			w_bob.proc.tail(25),
			w_charlie.proc.tail(25),
			node.tail(40)
		)
	});
	assert!(matches!(decision, Decision::Accepted { .. }), "{decision:?}");
	let c = client.contribution(after_id).await.unwrap();
	assert_eq!(c.approvals, 2, "both restarted-node curators voted");
	drop(node);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_256_mib_transfer_survives_its_first_provider_being_killed() {
	let dir = tempfile::tempdir().unwrap();
	let blob = dir.path().join("blob.bin");
	// 256 MiB of incompressible bytes, quickly: BLAKE3's extendable output.
	{
		let mut f = std::io::BufWriter::new(std::fs::File::create(&blob).unwrap());
		let mut xof = blake3::Hasher::new().update(b"tributary e2e blob").finalize_xof();
		std::io::copy(&mut std::io::Read::take(&mut XofReader(&mut xof), 256 << 20), &mut f)
			.unwrap();
	}
	let want = content_hash(&blob);
	let a = Worker::start("a", &dir.path().join("a"), &["serve", blob.to_str().unwrap()]).unwrap();
	let mut a = a;
	a.proc.wait_log("serving 0x", Duration::from_secs(60)).unwrap();
	let mut b =
		Worker::start("b", &dir.path().join("b"), &["serve", blob.to_str().unwrap()]).unwrap();
	b.proc.wait_log("serving 0x", Duration::from_secs(60)).unwrap();

	let out = dir.path().join("fetched.bin");
	let peers = format!("{},{}", a.tcp_addr(), b.tcp_addr());
	let fetch = || {
		let mut cmd = std::process::Command::new(tributary_e2e::bin_dir().join("tributary-worker"));
		cmd.args(["--data-dir", dir.path().join("c").to_str().unwrap()])
			.args(["--bootstrap", &peers, "fetch", &format!("0x{}", hex::encode(want))])
			.args(["--out", out.to_str().unwrap(), "--timeout", "30"]);
		cmd
	};
	// A first fetcher is killed (SIGKILL) in the middle of writing: its store shows no blob, only
	// the partial transfer, and the next fetcher resumes from it.
	let mut killed = Proc::spawn("fetcher-killed", fetch()).unwrap();
	killed.wait_log("progress 32/256", Duration::from_secs(120)).unwrap();
	killed.kill();
	let store = dir.path().join("c/store");
	let name = hex::encode(want);
	assert!(
		!store.join("blobs").join(&name).exists(),
		"a killed fetch left a complete-looking blob"
	);
	assert!(store.join("partial").join(&name).exists());
	let mut c = Proc::spawn("fetcher", fetch()).unwrap();
	// Midway (some 70 groups after the resume point), the first provider dies.
	c.wait_log("progress 112/256", Duration::from_secs(120)).unwrap();
	a.proc.kill();
	assert!(c.wait_exit(Duration::from_secs(300)).unwrap(), "fetch failed:\n{}", c.tail(30));
	let done = c.wait_log("fetched 0x", Duration::from_secs(1)).unwrap();
	assert!(done.contains("268435456 bytes"), "{done}");
	let resumed: u64 =
		done.split(" resumed").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
	assert!(resumed >= 32, "{done}");
	assert_eq!(content_hash(&out), want, "the fetched copy verifies");
	// Both providers served groups: A until it was killed, B the rest.
	let mut served = 0;
	for w in [&a, &b] {
		let id = w.tcp_addr().rsplit('/').next().unwrap().to_string();
		let line = c.wait_log(&format!("groups from {id}"), Duration::from_secs(1)).unwrap();
		let n: u64 = line.split_whitespace().next().unwrap().parse().unwrap();
		assert!(n > 0, "{line}");
		served += n;
	}
	assert_eq!(served + resumed, 256);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_curator_acts_on_each_finalized_block_not_on_a_timer() {
	// The worker polls only every 10 minutes; the contribution below is still judged within
	// seconds, because a round runs at each finalized block (a subscription), and when a retry
	// falls due (its bytes may reach the worker after the block that reveals it). On a timer
	// alone it would wait for the next poll.
	let mut node = Node::start("dev", &["--dev", "--sealing", "instant"]).expect("node starts");
	node.wait_rpc().expect("rpc up");
	let url = node.url();
	let home = tempfile::tempdir().unwrap();
	let ks = home.path().join("keys");
	let bob = tributary_client::keys::Key::from_suri("//Bob").unwrap().ss58();
	let datanet = create_datanet(&url, &ks, "blocks", "text", "txt", &[&bob]);
	let args = [
		"run",
		"--url",
		&url,
		"--curator-key",
		"//Bob",
		"--poll-ms",
		"600000",
		"--fetch-timeout",
		"5",
		"--retry-backoff",
		"1",
	];
	let w = Worker::start("bob", &home.path().join("w"), &args).unwrap();
	let file = home.path().join("note.txt");
	std::fs::write(&file, "A note judged at the next finalized block, not at the next poll.\n")
		.unwrap();
	let id = contribute(&url, &ks, &file, &datanet, Some(&w.tcp_addr()))["contribution"]
		.as_u64()
		.unwrap();
	let client = Client::connect(&url).await.unwrap();
	let decision = wait_for("a decision without a poll", Duration::from_secs(60), || async {
		let c = client.contribution(id).await.ok()?;
		(c.decision != Decision::Pending).then_some(c.decision)
	})
	.await;
	assert!(matches!(decision, Decision::Accepted { .. }), "{decision:?}");
}

struct XofReader<'a>(&'a mut blake3::OutputReader);
impl std::io::Read for XofReader<'_> {
	fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
		self.0.fill(buf);
		Ok(buf.len())
	}
}

fn content_hash(p: &Path) -> [u8; 32] {
	let mut h = blake3::Hasher::new();
	h.update_reader(std::fs::File::open(p).unwrap()).unwrap();
	*h.finalize().as_bytes()
}

/// `run` as curator `key` against the node at `url`, with the short fetch timeouts and retries
/// the tests use.
pub(crate) fn curator_args(url: &str, key: &str) -> Vec<String> {
	let a = ["run", "--url", url, "--curator-key", key, "--poll-ms", "300", "--fetch-timeout", "2"];
	let b = ["--fetch-attempts", "2", "--retry-backoff", "1"];
	a.iter().chain(&b).map(|s| s.to_string()).collect()
}

/// Creates a datanet owned by Alice whose `curators` must all agree (both quorums are their
/// number); returns its id.
pub(crate) fn create_datanet(
	url: &str,
	ks: &Path,
	name: &str,
	modality: &str,
	formats: &str,
	curators: &[&str],
) -> String {
	let quorum = curators.len().to_string();
	let mut args = vec!["--json", "datanet", "create", "--key", "//Alice", "--name", name];
	args.extend(["--modality", modality, "--formats", formats]);
	for c in curators {
		args.extend(["--curator", c]);
	}
	args.extend(["--approval-quorum", &quorum, "--rejection-quorum", &quorum]);
	json(&cli(url, ks, &args).unwrap())["datanet"].as_u64().unwrap().to_string()
}

/// `tributary --json contribute FILE --datanet D --key //Dave [--peer P]`, which must succeed.
pub(crate) fn contribute(
	url: &str,
	ks: &Path,
	file: &Path,
	datanet: &str,
	peer: Option<&str>,
) -> serde_json::Value {
	let mut args = vec!["--json", "contribute", file.to_str().unwrap(), "--datanet", datanet];
	args.extend(["--key", "//Dave"]);
	if let Some(p) = peer {
		args.extend(["--peer", p]);
	}
	json(&cli(url, ks, &args).unwrap())
}

/// Waits until contribution `id` leaves Pending; returns its decision.
async fn decided(client: &Client, id: u64, what: &str) -> Decision {
	wait_for(&format!("a decision on {what}"), Duration::from_secs(120), || async {
		let c = client.contribution(id).await.ok()?;
		(c.decision != Decision::Pending).then_some(c.decision)
	})
	.await
}

fn strs(v: &[String]) -> Vec<&str> {
	v.iter().map(String::as_str).collect()
}
