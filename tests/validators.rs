//! The validator set changes at runtime on a real network of validator nodes on loopback: a chain
//! spec (the local testnet's, patched) starts Alice, Bob, Charlie and Dave validating with 4-block
//! sessions. A second node with Dave's Aura key (a failover gone wrong) makes Dave author two
//! blocks in one slot: the other validators' nodes report it and the chain takes Dave out of the
//! planned set. Both Dave nodes stop and the other three keep finalizing (3 of 4 is over two
//! thirds). Eve starts a node, has it make session keys and registers them (`validator
//! set-keys`), root adds her (`validator add`), and within two sessions she is a validator and her
//! node authors a block that the chain finalizes.

use crate::{json, wait_for};
use std::time::Duration;
use tributary_client::{keys::Key, Client};
use tributary_e2e::{bin_dir, cli, Node};

const NODE_KEYS: [&str; 6] = [
	"0000000000000000000000000000000000000000000000000000000000000011",
	"0000000000000000000000000000000000000000000000000000000000000012",
	"0000000000000000000000000000000000000000000000000000000000000013",
	"0000000000000000000000000000000000000000000000000000000000000014",
	"0000000000000000000000000000000000000000000000000000000000000015",
	"0000000000000000000000000000000000000000000000000000000000000016",
];

/// The SS58 address of a dev key in `scheme`, as `tributary-node key inspect` prints it.
fn dev_address(scheme: &str, suri: &str) -> String {
	let out = std::process::Command::new(bin_dir().join("tributary-node"))
		.args(["key", "inspect", "--scheme", scheme, suri])
		.output()
		.expect("tributary-node key inspect");
	let text = String::from_utf8_lossy(&out.stdout);
	text.lines()
		.find_map(|l| l.trim().strip_prefix("SS58 Address:"))
		.map(|a| a.trim().to_string())
		.unwrap_or_else(|| panic!("no address in:\n{text}"))
}

/// The local testnet's spec with `validators` (dev names) and sessions of `length` blocks.
fn spec(dir: &std::path::Path, validators: &[&str], length: u32) -> std::path::PathBuf {
	let out = std::process::Command::new(bin_dir().join("tributary-node"))
		.args(["build-spec", "--chain", "local"])
		.output()
		.expect("build-spec");
	let mut spec: serde_json::Value = serde_json::from_slice(&out.stdout).expect("spec JSON");
	let patch = &mut spec["genesis"]["runtimeGenesis"]["patch"];
	let accounts: Vec<String> =
		validators.iter().map(|v| dev_address("sr25519", &format!("//{v}"))).collect();
	patch["validators"] = serde_json::json!({ "validators": accounts, "sessionLength": length });
	patch["session"]["keys"] = validators
		.iter()
		.zip(&accounts)
		.map(|(v, a)| {
			let grandpa = dev_address("ed25519", &format!("//{v}"));
			serde_json::json!([a, a, { "aura": a, "grandpa": grandpa }])
		})
		.collect();
	let path = dir.join("four-validators.json");
	std::fs::write(&path, spec.to_string()).unwrap();
	path
}

#[tokio::test(flavor = "multi_thread")]
async fn four_validators_lose_one_and_gain_a_fifth_at_runtime() {
	let home = tempfile::tempdir().unwrap();
	let ks = home.path().join("keys");
	let spec = spec(home.path(), &["Alice", "Bob", "Charlie", "Dave"], 4);
	let spec = spec.to_str().unwrap();
	let mut alice = Node::start(
		"alice",
		&["--chain", spec, "--alice", "--validator", "--node-key", NODE_KEYS[0]],
	)
	.expect("alice starts");
	let peer = alice.peer_id().unwrap();
	let boot = format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer}", alice.p2p_port);
	let start_with = |name: &str, extra: &[&str], node_key: &str| {
		let mut args = vec!["--chain", spec, "--validator", "--node-key", node_key];
		args.extend(["--bootnodes", &boot]);
		args.extend(extra);
		Node::start(name, &args).expect("node starts")
	};
	let start = |name: &str, flag: Option<&str>, node_key: &str| {
		start_with(name, flag.as_slice(), node_key)
	};
	let mut others = [
		start("bob", Some("--bob"), NODE_KEYS[1]),
		start("charlie", Some("--charlie"), NODE_KEYS[2]),
		start("dave", Some("--dave"), NODE_KEYS[3]),
	];
	alice.wait_rpc().unwrap();
	for n in &mut others {
		n.wait_rpc().unwrap();
	}
	let client = Client::connect(&alice.url()).await.unwrap();
	let finalized = || async { client.status().await.map(|s| s.finalized).unwrap_or(0) };
	let set = client.validator_set().await.unwrap();
	assert_eq!((set.active.len(), set.session_length), (4, 4), "{set:?}");
	wait_for("four validators to finalize", Duration::from_secs(180), || async {
		(finalized().await >= 3).then_some(())
	})
	.await;

	// Dave's key runs on a second node (Aura only): Dave equivocates, is reported by the others'
	// nodes, and leaves the planned set.
	let twin_keys = home.path().join("dave-twin-keys");
	let inserted = std::process::Command::new(bin_dir().join("tributary-node"))
		.args(["key", "insert", "--chain", spec, "--keystore-path", twin_keys.to_str().unwrap()])
		.args(["--scheme", "sr25519", "--key-type", "aura", "--suri", "//Dave"])
		.output()
		.unwrap();
	assert!(inserted.status.success(), "{}", String::from_utf8_lossy(&inserted.stderr));
	let mut twin =
		start_with("dave-twin", &["--keystore-path", twin_keys.to_str().unwrap()], NODE_KEYS[5]);
	let dave = Key::from_suri("//Dave").unwrap().ss58();
	wait_for("Dave's equivocation reported", Duration::from_secs(240), || async {
		client.validator_set().await.ok().filter(|s| !s.planned.contains(&dave))
	})
	.await;
	let reported = alice.proc.tail(2000).contains("Aura equivocation by")
		|| others.iter().any(|n| n.proc.tail(2000).contains("Aura equivocation by"));
	assert!(reported, "a validator node reported it");

	// Dave stops; three of four keep finalizing.
	twin.proc.kill();
	others[2].proc.kill();
	let before = finalized().await;
	wait_for("finality without Dave", Duration::from_secs(180), || async {
		(finalized().await >= before + 4).then_some(())
	})
	.await;

	// Eve starts a node without dev keys, has it make session keys, and root adds her.
	let mut eve = start("eve", None, NODE_KEYS[4]);
	eve.wait_rpc().unwrap();
	let eve_account = Key::from_suri("//Eve").unwrap().ss58();
	let r =
		cli(&alice.url(), &ks, &["validator", "add", &eve_account, "--key", "//Alice"]).unwrap();
	assert!(!r.ok && r.stderr.contains("NoSessionKeys"), "no keys, no seat: {}", r.stderr);
	let keys = json(
		&cli(
			&alice.url(),
			&ks,
			&["--json", "validator", "set-keys", "--node", &eve.url(), "--key", "//Eve"],
		)
		.unwrap(),
	);
	assert_eq!(keys["account"], eve_account.as_str());
	let r = cli(&alice.url(), &ks, &["validator", "add", &eve_account, "--key", "//Bob"]).unwrap();
	assert!(!r.ok, "only root adds validators: {}", r.stdout);
	let r =
		cli(&alice.url(), &ks, &["validator", "add", &eve_account, "--key", "//Alice"]).unwrap();
	assert!(r.ok, "{}", r.stderr);
	assert!(client.validator_set().await.unwrap().planned.contains(&eve_account));

	wait_for("Eve in the session's validators", Duration::from_secs(240), || async {
		client.validator_set().await.ok().filter(|s| s.active.contains(&eve_account))
	})
	.await;
	let line = eve.wait_log("Pre-sealed block for proposal at", Duration::from_secs(240)).unwrap();
	let number: u64 = line
		.split("proposal at ")
		.nth(1)
		.and_then(|rest| rest.split('.').next())
		.and_then(|n| n.trim().parse().ok())
		.unwrap_or_else(|| panic!("no block number in `{line}`"));
	let hash = line.split("Hash now ").nth(1).and_then(|r| r.split(',').next()).unwrap().trim();
	wait_for("Eve's block finalized", Duration::from_secs(180), || async {
		(finalized().await >= number).then_some(())
	})
	.await;
	let at = client.block_hash(number).await.unwrap();
	assert_eq!(at.as_deref(), Some(hash), "Eve's block {number} is the finalized one");
	let listed = json(&cli(&alice.url(), &ks, &["--json", "validator", "list"]).unwrap());
	let active: Vec<&str> =
		listed["active"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
	assert!(
		active.contains(&eve_account.as_str()) && !active.contains(&dave.as_str()),
		"{active:?}"
	);
}
