//! End to end against real node processes on loopback:
//! (a) one `--dev` node: create a datanet, submit, vote to acceptance and rejection, read the
//!     leaderboard through the RPC and the CLI, publish a version and verify its root;
//! (b) two validators (`--chain local`, Alice and Bob): a contribution submitted to one node is
//!     finalized by GRANDPA and visible on the other, and a vote sent to the other decides it.

use pallet_datanets::mmr;
use std::time::{Duration, Instant};
use tributary_client::{
	client::Wait,
	client::{Decision, RejectArg, VoteArg},
	content,
	keys::Key,
	Client,
};
use tributary_e2e::{cli, Node};

mod checks;
mod data_plane;
mod jobs;
mod model_factory_cli;
mod serving;
mod studio;
mod validators;

fn key(suri: &str) -> Key {
	Key::from_suri(suri).expect("dev key")
}

fn json(out: &tributary_e2e::CliOutput) -> serde_json::Value {
	assert!(out.ok, "CLI failed:\nstdout: {}\nstderr: {}", out.stdout, out.stderr);
	serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", out.stdout))
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_node_create_submit_vote_and_rank() {
	let mut node = Node::start("dev", &["--dev", "--sealing", "instant"]).expect("node starts");
	node.wait_rpc().expect("rpc up");
	let url = node.url();
	let home = tempfile::tempdir().unwrap();
	let ks = home.path().join("keys");
	let files = tempfile::tempdir().unwrap();
	let (bob, charlie, dave, eve) = (key("//Bob"), key("//Charlie"), key("//Dave"), key("//Eve"));

	// The owner creates a text datanet through the CLI: two approvals accept, one rejection rejects.
	let created = json(
		&cli(
			&url,
			&ks,
			&[
				"--json",
				"datanet",
				"create",
				"--key",
				"//Alice",
				"--name",
				"e2e-instructions",
				"--description",
				"end-to-end test data",
				"--modality",
				"text",
				"--formats",
				"txt,md",
				"--curator",
				&bob.ss58(),
				"--curator",
				&charlie.ss58(),
				"--approval-quorum",
				"2",
				"--rejection-quorum",
				"1",
				"--deposit",
				"1000000000000",
				"--global-board",
			],
		)
		.unwrap(),
	);
	let datanet = created["datanet"].as_u64().unwrap() as u32;
	assert_eq!(datanet, 3, "three genesis datanets come first");
	let shown =
		json(&cli(&url, &ks, &["--json", "datanet", "show", &datanet.to_string()]).unwrap());
	assert_eq!(shown["formats"], serde_json::json!(["txt", "md"]));
	assert_eq!(shown["rules"]["approval_quorum"], 2);
	assert_eq!(shown["on_global_board"], true);

	// Its reward split: the chain's default until the owner publishes one; nobody else may.
	let split = |ks: &std::path::Path| {
		json(
			&cli(&url, ks, &["--json", "rewards", "split", "--datanet", &datanet.to_string()])
				.unwrap(),
		)
	};
	assert_eq!(split(&ks)["published"], false);
	assert_eq!(split(&ks)["contributors"], 500_000);
	let set = |key: &str, percent: &str| {
		cli(
			&url,
			&ks,
			&["rewards", "set-split", "--datanet", &datanet.to_string(), percent, "--key", key],
		)
		.unwrap()
	};
	let refused = set("//Dave", "70,10,10,10");
	assert!(
		!refused.ok && refused.stderr.contains("Rewards.NotDatanetOwner"),
		"{}",
		refused.stderr
	);
	let refused = set("//Alice", "70,10,10,20");
	assert!(!refused.ok && refused.stderr.contains("110%"), "{}", refused.stderr);
	assert!(set("//Alice", "62.5,7.5,20,10").ok);
	let s = split(&ks);
	assert_eq!(
		(s["published"].clone(), s["contributors"].clone(), s["curators"].clone()),
		(true.into(), 625_000.into(), 75_000.into())
	);

	// A contributor declares a file through the CLI.
	let good = files.path().join("pair.txt");
	std::fs::write(&good, "Q: What is a datanet?\nA: A dataset with rules and curators.\n")
		.unwrap();
	let d = datanet.to_string();
	let submitted = json(
		&cli(
			&url,
			&ks,
			&["--json", "contribute", good.to_str().unwrap(), "--datanet", &d, "--key", "//Dave"],
		)
		.unwrap(),
	);
	let c1 = submitted["contribution"].as_u64().unwrap();
	let decl = content::declare(&good, None).unwrap();
	assert_eq!(submitted["hash"], format!("0x{}", hex::encode(decl.hash)));

	// Rule breakers are refused on chain with a sentence, and the CLI exits non-zero.
	let png = files.path().join("photo.png");
	std::fs::write(&png, [0x89, b'P', b'N', b'G']).unwrap();
	let refused =
		cli(&url, &ks, &["contribute", png.to_str().unwrap(), "--datanet", &d, "--key", "//Dave"])
			.unwrap();
	assert!(!refused.ok);
	assert!(refused.stderr.contains("Datanets.FormatNotAllowed"), "{}", refused.stderr);
	assert!(refused.stderr.contains("does not allow this format"), "{}", refused.stderr);
	let dup =
		cli(&url, &ks, &["contribute", good.to_str().unwrap(), "--datanet", &d, "--key", "//Eve"])
			.unwrap();
	assert!(dup.stderr.contains("DuplicateContent"), "{}", dup.stderr);
	let unsigned =
		cli(&url, &ks, &["contribute", good.to_str().unwrap(), "--datanet", &d]).unwrap();
	assert!(unsigned.stderr.contains("pass --key"), "{}", unsigned.stderr);

	// Votes: a non-curator and a double vote are refused; the second approval accepts.
	let v =
		cli(&url, &ks, &["--json", "vote", &c1.to_string(), "approve", "--key", "//Bob"]).unwrap();
	assert_eq!(json(&v), serde_json::json!("Pending"));
	let again = cli(&url, &ks, &["vote", &c1.to_string(), "approve", "--key", "//Bob"]).unwrap();
	assert!(again.stderr.contains("AlreadyVoted"), "{}", again.stderr);
	let outsider =
		cli(&url, &ks, &["vote", &c1.to_string(), "approve", "--key", "//Dave"]).unwrap();
	assert!(outsider.stderr.contains("NotCurator"), "{}", outsider.stderr);
	let v = cli(&url, &ks, &["--json", "vote", &c1.to_string(), "approve", "--key", "//Charlie"])
		.unwrap();
	assert_eq!(json(&v), serde_json::json!({"Accepted": {"index": 0}}));

	// Through the library: Eve's contribution is rejected with a reason.
	let client = Client::connect(&url).await.expect("connect");
	let md = files.path().join("notes.md");
	std::fs::write(&md, "# half a thought").unwrap();
	let c2 = client
		.contribute(&eve, datanet, &content::declare(&md, None).unwrap(), "{}")
		.await
		.unwrap();
	let decision = client.vote(&bob, c2, VoteArg::Reject(RejectArg::LowQuality)).await.unwrap();
	assert_eq!(decision, Decision::Rejected { reason: RejectArg::LowQuality });
	let err = client.vote(&charlie, c2, VoteArg::Approve).await.unwrap_err();
	assert_eq!(err.chain_error(), Some("NotPending"), "{err}");
	// The rejected record holds Eve's record deposit (0.01 TRIB + 2 metadata bytes) until she
	// removes it; nobody else may while the datanet is open.
	let record = 10_000_000_000u128 + 2 * 10_000_000;
	assert_eq!(client.contribution(c2).await.unwrap().record_deposit, record);
	let c2s = c2.to_string();
	let other = cli(&url, &ks, &["remove-contribution", &c2s, "--key", "//Charlie"]).unwrap();
	assert!(other.stderr.contains("NotContributor"), "{}", other.stderr);
	let removed =
		cli(&url, &ks, &["--json", "remove-contribution", &c2s, "--key", "//Eve"]).unwrap();
	assert_eq!(json(&removed)["released"], serde_json::json!(record));
	assert!(client.contribution(c2).await.is_err(), "the record is gone");

	// The leaderboard through the node's RPC.
	// Only contributors with an acceptance are ranked; Eve's record is read directly.
	let board = client.leaderboard(Some(datanet), 0, 10).await.unwrap();
	assert_eq!(board.len(), 1);
	assert_eq!((board[0].rank, board[0].account.as_str()), (1, dave.ss58().as_str()));
	assert_eq!(board[0].stats.accepted, 1);
	assert_eq!(board[0].stats.accepted_bytes, decl.bytes);
	assert_eq!(board[0].acceptance_rate_ppm, Some(1_000_000));
	let global = client.leaderboard(None, 0, 10).await.unwrap();
	assert_eq!(global[0].account, dave.ss58());
	let stats = client.contributor_stats(&eve.account_id(), Some(datanet)).await.unwrap();
	assert_eq!((stats.submitted, stats.rejected), (1, 1));

	// ... and through the CLI, as a table.
	let table = cli(&url, &ks, &["leaderboard", "--datanet", &d]).unwrap();
	assert!(table.ok, "{}", table.stderr);
	let first = table.stdout.lines().nth(3).expect("first row");
	assert!(first.starts_with('1') && first.contains(&dave.ss58()), "{}", table.stdout);
	assert!(first.contains("100.0%"), "{}", table.stdout);

	// A published version commits exactly the accepted list; rebuild its root independently.
	let published =
		json(&cli(&url, &ks, &["--json", "datanet", "publish", &d, "--key", "//Alice"]).unwrap());
	let expected = mmr::root_from_leaves(&[mmr::leaf_hash(c1, &dave.account_id().0, &decl.hash)]);
	assert_eq!(published["count"], 1);
	assert_eq!(published["root"], format!("0x{}", hex::encode(expected)));

	let status = cli(&url, &ks, &["status", "--key", "//Dave"]).unwrap();
	assert!(
		status.ok && status.stdout.contains("1 accepted"),
		"{}{}",
		status.stdout,
		status.stderr
	);

	// Front-running: Dave commits; Eve learns the hash before Dave reveals, and commits and
	// reveals first. Dave's reveal takes the hash over (his commitment is older): Eve gets nothing.
	let front = files.path().join("front.txt");
	std::fs::write(&front, "Q: Who gets the credit?\nA: Whoever committed first.\n").unwrap();
	let fd = content::declare(&front, None).unwrap();
	assert_eq!(
		tributary_client::client::contribution_commitment(datanet, &fd.hash, &dave.account_id()),
		pallet_datanets::commitment_of(datanet, &fd.hash, &dave.account_id().0),
		"the client computes the pallet's commitment"
	);
	client.commit_contribution(&dave, datanet, &fd).await.unwrap();
	let squat = client.contribute(&eve, datanet, &fd, "").await.unwrap();
	let err = client.submit_contribution(&eve, datanet, &fd, "").await.unwrap_err();
	assert_eq!(err.chain_error(), Some("NotCommitted"), "a commitment is used once: {err}");
	let real = client.submit_contribution(&dave, datanet, &fd, "").await.unwrap();
	assert_eq!(
		client.contribution(squat).await.unwrap().decision,
		Decision::Superseded { by: real }
	);
	// Running `contribute` again for a pending contribution of one's own only re-sends bytes.
	let again = json(
		&cli(
			&url,
			&ks,
			&["--json", "contribute", front.to_str().unwrap(), "--datanet", &d, "--key", "//Dave"],
		)
		.unwrap(),
	);
	assert_eq!(again["contribution"], real);
	client.vote(&bob, real, VoteArg::Approve).await.unwrap();
	let decided = client.vote(&charlie, real, VoteArg::Approve).await.unwrap();
	assert!(matches!(decided, Decision::Accepted { .. }), "{decided:?}");
	let eve_stats = client.contributor_stats(&eve.account_id(), Some(datanet)).await.unwrap();
	assert_eq!(eve_stats.accepted, 0);

	// The owner raises the curator fee: it waits a day of blocks, and `datanet show` says so.
	let r = cli(
		&url,
		&ks,
		&["datanet", "update-rules", &d, "--curator-fee", "7000000000000", "--key", "//Alice"],
	)
	.unwrap();
	assert!(r.ok && r.stdout.contains("change at block"), "{}{}", r.stdout, r.stderr);
	let r =
		cli(&url, &ks, &["datanet", "update-rules", &d, "--curator-fee", "1", "--key", "//Bob"])
			.unwrap();
	assert!(!r.ok && r.stderr.contains("NotOwner"), "only the owner: {}", r.stderr);
	let shown =
		json(&cli(&url, &ks, &["--json", "datanet", "show", &datanet.to_string()]).unwrap());
	assert_eq!(shown["rules"]["curator_fee"], 0, "not yet");
	assert_eq!(shown["scheduled_rules"]["curator_fee"], 7_000_000_000_000u64);
	let at = shown["scheduled_rules"]["at_block"].as_u64().unwrap();
	let now = client.api().blocks().at_latest().await.unwrap().number() as u64;
	assert!(at > now + 14_000, "applies a day of blocks later: at {at}, now {now}");

	// A curator named without a bond decides nothing until it bonds (`tributary curator`).
	let ferdie = key("//Ferdie");
	let r = cli(&url, &ks, &["datanet", "add-curator", &d, &ferdie.ss58(), "--key", "//Alice"])
		.unwrap();
	assert!(r.ok, "{}", r.stderr);
	let late = files.path().join("late.txt");
	std::fs::write(&late, "Q: Who may curate?\nA: Whoever holds a curator bond.\n").unwrap();
	let pending = client
		.contribute(&eve, datanet, &content::declare(&late, None).unwrap(), "")
		.await
		.unwrap();
	let err = client.vote(&ferdie, pending, VoteArg::Approve).await.unwrap_err();
	assert_eq!(err.chain_error(), Some("CuratorNotBonded"), "{err}");
	let status = cli(&url, &ks, &["curator", "status", "--key", "//Ferdie"]).unwrap();
	assert!(status.stdout.contains("no curator bond"), "{}{}", status.stdout, status.stderr);
	let bonded = cli(&url, &ks, &["curator", "bond", "--key", "//Ferdie"]).unwrap();
	assert!(bonded.ok, "{}", bonded.stderr);
	let status = cli(&url, &ks, &["curator", "status", "--key", "//Ferdie"]).unwrap();
	assert!(status.stdout.contains("50 TRIB held, votes count"), "{}", status.stdout);
	assert_eq!(client.vote(&ferdie, pending, VoteArg::Approve).await.unwrap(), Decision::Pending);
	// Root slashes a curator below the bond: its votes stop counting until it bonds again.
	let r =
		cli(&url, &ks, &["curator", "slash", &ferdie.ss58(), "10", "--key", "//Alice"]).unwrap();
	assert!(r.ok, "{}", r.stderr);
	let status = cli(&url, &ks, &["curator", "status", "--key", "//Ferdie"]).unwrap();
	assert!(status.stdout.contains("below the required bond"), "{}", status.stdout);
	let r = cli(&url, &ks, &["curator", "slash", &ferdie.ss58(), "10", "--key", "//Bob"]).unwrap();
	assert!(!r.ok, "only root slashes: {}", r.stdout);
}

async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, f: F) -> T
where
	F: FnMut() -> Fut,
	Fut: std::future::Future<Output = Option<T>>,
{
	wait_for_showing(what, timeout, f, String::new).await
}

/// [`wait_for`], and on a timeout the panic shows `show()` (processes' logs, the chain's state).
async fn wait_for_showing<T, F, Fut>(
	what: &str,
	timeout: Duration,
	mut f: F,
	show: impl Fn() -> String,
) -> T
where
	F: FnMut() -> Fut,
	Fut: std::future::Future<Output = Option<T>>,
{
	let start = Instant::now();
	loop {
		if let Some(v) = f().await {
			return v;
		}
		assert!(start.elapsed() < timeout, "timed out waiting for {what}\n{}", show());
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_interval_sealing_makes_and_finalizes_blocks_on_its_own() {
	let mut node = Node::start("interval", &["--dev", "--sealing", "300"]).expect("node starts");
	node.wait_rpc().expect("rpc up");
	let client = Client::connect(&node.url()).await.unwrap();
	// No transactions: empty blocks every 300 ms, each finalized at once.
	let status = wait_for("five sealed blocks", Duration::from_secs(60), || async {
		client.status().await.ok().filter(|s| s.finalized >= 5)
	})
	.await;
	assert!(status.best >= status.finalized, "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_submission_stops_waiting_when_no_block_comes() {
	// Manual sealing: transactions enter the pool, but no block is made unless asked for. A
	// client used to wait for its block forever; it now gives up after its wait timeout and says
	// the transaction may still land.
	let mut node = Node::start("manual", &["--dev", "--sealing", "manual"]).expect("node starts");
	node.wait_rpc().expect("rpc up");
	let client =
		Client::connect(&node.url()).await.unwrap().with_wait_timeout(Duration::from_secs(2));
	let dave = tributary_client::keys::Key::from_suri("//Dave").unwrap();
	let file = tributary_client::content::FileDeclaration {
		hash: [7; 32],
		bytes: 10,
		format: "txt".into(),
	};
	let started = Instant::now();
	let r =
		tokio::time::timeout(Duration::from_secs(60), client.commit_contribution(&dave, 0, &file))
			.await
			.expect("the client gave up within its timeout");
	match r {
		Err(e @ tributary_client::ClientError::TimedOut { .. }) => {
			assert!(e.to_string().contains("may still land"), "{e}");
		}
		other => panic!("expected a timeout, got {other:?}"),
	}
	assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread")]
async fn transactions_sent_before_finality_get_their_own_nonces() {
	// Manual sealing, blocks made but not finalized: what a client sees on a chain whose finality
	// lags its best block. A second transaction sent as soon as the first was in a best block took
	// the finalized block's nonce (subxt's default), which the first had used: "outdated".
	let mut node = Node::start("unfinal", &["--dev", "--sealing", "manual"]).expect("node starts");
	node.wait_rpc().expect("rpc up");
	let client = Client::connect(&node.url()).await.unwrap().with_wait(Wait::InBlock);
	let dave = tributary_client::keys::Key::from_suri("//Dave").unwrap();
	let remark = |i: u8| tributary_client::chain::tx().system().remark(vec![i; 8]);
	for i in 0..3 {
		let events = sealed(&client, client.submit(&remark(i), &dave)).await;
		events.unwrap_or_else(|e| panic!("transaction {i}: {e}"));
	}
	let status = client.status().await.unwrap();
	assert_eq!(status.finalized, 0, "nothing was finalized: {status:?}");
	assert!(status.best >= 3, "{status:?}");

	// A transaction submitted again once it is on chain is not an error: the pool refuses it as
	// outdated, and the client finds it in its block. (Instant sealing gives that same answer
	// for a first submission whose block was made before the node replied.)
	let tx = client.sign(&remark(9), &dave).await.unwrap();
	let first = sealed(&client, client.submit_signed(&tx)).await.unwrap();
	let again = client.submit_signed(&tx).await.unwrap();
	assert_eq!(again.extrinsic_hash(), first.extrinsic_hash());
	assert_eq!(again.extrinsic_index(), first.extrinsic_index());
	// A transaction the chain never saw, with a used nonce, is still refused as outdated.
	let params = subxt::config::DefaultExtrinsicParamsBuilder::new().nonce(0).build();
	let tx = client.api().tx().create_signed(&remark(7), &dave, params).await.unwrap();
	let stale = tributary_client::client::SignedTx { tx, nonce: 0, since: 0 };
	let err = client.submit_signed(&stale).await.unwrap_err();
	assert!(err.to_string().contains("outdated"), "{err}");

	// Two transactions signed with the same nonce (a worker and the CLI with one key): the
	// second is refused while the first waits in the pool; signed again it takes the next nonce.
	let first = client.sign(&remark(20), &dave).await.unwrap();
	let second = client.sign(&remark(21), &dave).await.unwrap();
	assert_eq!(first.nonce, second.nonce);
	first.tx.submit().await.unwrap();
	let err = client.submit_signed(&second).await.unwrap_err();
	assert!(err.to_string().contains("Priority is too low"), "{err}");
	let third = client.sign(&remark(21), &dave).await.unwrap();
	assert_eq!(third.nonce, first.nonce + 1, "the pool's transaction counts");
	sealed(&client, client.submit_signed(&third)).await.unwrap();

	// One waiting in the pool is replaced by another with its nonce and a tip (a worker with the
	// same key): the pool reports ours invalid ("usurped") after taking it in. The client sees the
	// nonce taken and signs again with the next one. (It used to give up: the CLI beside a
	// curator worker failed with "Transaction is invalid (eg because of a bad nonce ...)".)
	let who = subxt::tx::Signer::<subxt::SubstrateConfig>::account_id(&dave);
	let n = client.next_nonce(&who).await.unwrap();
	let ours = {
		let client = Client::connect(&node.url()).await.unwrap().with_wait(Wait::InBlock);
		let dave = dave.clone();
		tokio::spawn(async move { client.submit(&remark(30), &dave).await })
	};
	wait_for("ours to wait in the pool", Duration::from_secs(20), || async {
		(client.next_nonce(&who).await.unwrap() == n + 1).then_some(())
	})
	.await;
	let params = subxt::config::DefaultExtrinsicParamsBuilder::new().nonce(n).tip(1).build();
	let tipped = client.api().tx().create_signed(&remark(31), &dave, params).await.unwrap();
	tipped.submit().await.unwrap();
	let events = sealed(&client, ours).await.unwrap();
	let events = events.unwrap_or_else(|e| panic!("ours was given up: {e}"));
	assert_ne!(events.extrinsic_hash(), tipped.hash(), "ours landed, not the tipped one");
	assert_eq!(client.next_nonce(&who).await.unwrap(), n + 2, "both landed");
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_agree_on_one_block_before_finality() {
	// A vote in a best block that is not final yet: a client reading the finalized block (the
	// CLI's default) saw the contribution still pending but the leaderboard (the node's RPC, at
	// the best block) already ranking it. Every read now goes to one block.
	let mut node = Node::start("views", &["--dev", "--sealing", "manual"]).expect("node starts");
	node.wait_rpc().expect("rpc up");
	let client = Client::connect(&node.url()).await.unwrap().with_wait(Wait::InBlock);
	let (dave, bob) = (key("//Dave"), key("//Bob"));
	let decl = content::FileDeclaration {
		hash: *blake3::hash(b"a view of one block").as_bytes(),
		bytes: 19,
		format: "txt".into(),
	};
	sealed(&client, client.commit_contribution(&dave, 0, &decl)).await.unwrap();
	let id = sealed(&client, client.submit_contribution(&dave, 0, &decl, "")).await.unwrap();
	let decision = sealed(&client, client.vote(&bob, id, VoteArg::Approve)).await.unwrap();
	assert!(matches!(decision, Decision::Accepted { .. }), "{decision:?}");
	assert_eq!(client.status().await.unwrap().finalized, 0);

	let best =
		Client::connect(&node.url()).await.unwrap().reading(tributary_client::client::Head::Best);
	assert!(matches!(best.contribution(id).await.unwrap().decision, Decision::Accepted { .. }));
	assert_eq!(best.leaderboard(Some(0), 0, 10).await.unwrap().len(), 1);
	assert_eq!(best.commitment(0).await.unwrap().unwrap().count, 1);
	assert_eq!(best.contributor_stats(&dave.account_id(), Some(0)).await.unwrap().accepted, 1);

	// The finalized view: nothing of it yet, in every read.
	assert!(client.contribution(id).await.is_err(), "not even submitted at block 0");
	assert_eq!(client.leaderboard(Some(0), 0, 10).await.unwrap(), vec![]);
	assert_eq!(client.commitment(0).await.unwrap().unwrap().count, 0);
	assert_eq!(client.contributor_stats(&dave.account_id(), Some(0)).await.unwrap().accepted, 0);
}

/// Makes a block (not finalized) on a manual-sealing node every 200 ms until `submission` ends.
async fn sealed<T>(client: &Client, submission: impl std::future::Future<Output = T>) -> T {
	tokio::pin!(submission);
	loop {
		tokio::select! {
			r = &mut submission => break r,
			_ = tokio::time::sleep(Duration::from_millis(200)) => {
				client.seal_block(false).await.unwrap();
			}
		}
	}
}

/// Fixed libp2p keys for the test validators (validators refuse to invent one silently).
const ALICE_NODE_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";
const BOB_NODE_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000002";

#[tokio::test(flavor = "multi_thread")]
async fn two_validators_finalize_and_share_contributions() {
	let mut alice = Node::start(
		"alice",
		&["--chain", "local", "--alice", "--validator", "--node-key", ALICE_NODE_KEY],
	)
	.expect("alice starts");
	let peer = alice.peer_id().expect("alice peer id");
	let boot = format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer}", alice.p2p_port);
	let mut bob = Node::start(
		"bob",
		&[
			"--chain",
			"local",
			"--bob",
			"--validator",
			"--node-key",
			BOB_NODE_KEY,
			"--bootnodes",
			&boot,
		],
	)
	.expect("bob starts");
	alice.wait_rpc().unwrap();
	bob.wait_rpc().unwrap();

	let on_alice = Client::connect(&alice.url()).await.unwrap();
	let on_bob = Client::connect(&bob.url()).await.unwrap();
	let bob_status = on_bob.status().await.unwrap();
	assert_eq!(bob_status.chain, "Tributary Local Testnet");

	// Submitted to Alice's node; returns once GRANDPA (needing both validators) finalizes it.
	let decl = content::FileDeclaration {
		hash: *blake3::hash(b"two validators, one truth").as_bytes(),
		bytes: 25,
		format: "txt".into(),
	};
	let id = on_alice.contribute(&key("//Dave"), 0, &decl, "").await.unwrap();

	// Bob's node serves it from its own finalized state.
	let seen = wait_for("the contribution on bob's node", Duration::from_secs(90), || async {
		on_bob.contribution(id).await.ok()
	})
	.await;
	assert_eq!(seen.content_hash, format!("0x{}", hex::encode(decl.hash)));
	assert_eq!(seen.decision, Decision::Pending);

	// A curator's vote sent to Bob's node decides it; Alice's node sees the result.
	let decision = on_bob.vote(&key("//Charlie"), id, VoteArg::Approve).await.unwrap();
	assert_eq!(decision, Decision::Accepted { index: 0 });
	let on_alice_now =
		wait_for("the decision on alice's node", Duration::from_secs(90), || async {
			on_alice.contribution(id).await.ok().filter(|c| c.decision != Decision::Pending)
		})
		.await;
	assert_eq!(on_alice_now.decision, Decision::Accepted { index: 0 });

	let s = on_alice.status().await.unwrap();
	assert!(s.finalized >= 2 && s.peers >= 1, "{s:?}");
}
