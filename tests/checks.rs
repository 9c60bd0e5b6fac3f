//! Spot checks end to end: a worker built to lie (`tributary-worker-falsifier`, which publishes a
//! well-formed payout table with two contributions' scores swapped) trains a job; two verifiers
//! (`run --verify`, registered too small to claim the job themselves, so they are up and waiting
//! before it opens) commit, reveal, re-run the job and dispute the sampled entry that differs. The
//! check voids the result: the liar loses `FraudPenalty` of its bond and may not claim the job
//! again. An honest worker then does the job; both verifiers check that result and agree, and it
//! becomes final, paying by the honest table.

use crate::jobs::{create_job, job, key, register_tiny_base, six_file_datanet, tiny_run, TRIB};
use crate::wait_for;
use std::time::Duration;
use tributary_client::{training::JobState, Client};
use tributary_e2e::{cli, Node, Worker};

#[tokio::test(flavor = "multi_thread")]
async fn a_falsified_payout_table_is_disputed_voided_slashed_and_the_job_redone() {
	let mut node = Node::start("checks", &["--dev", "--sealing", "300"]).expect("node starts");
	node.wait_rpc().expect("rpc up");
	let url = node.url();
	let client = Client::connect(&url).await.unwrap();
	let home = tempfile::tempdir().unwrap();
	let ks = home.path().join("keys");
	let store =
		Worker::start("store", &home.path().join("store"), &["run", "--url", &url]).unwrap();
	let peer = store.tcp_addr();

	// Six files, by Ferdie and Charlie alternately, approved by Bob; version 1; the tiny base.
	let d = six_file_datanet(&client, &url, &ks, home.path(), &peer, "checks-e2e").await;
	let base = register_tiny_base(&url, &ks, &home.path().join("tiny-llama"), &peer);
	assert_eq!(base["base"], 0, "{base}");

	// Workers: Dave lies, Charlie is honest; Eve and Ferdie verify (declaring too little capacity
	// to train the base, so they never claim the job).
	let workers = [
		("//Dave", "liar", None),
		("//Charlie", "honest", None),
		("//Eve", "v1", Some("1000")),
		("//Ferdie", "v2", Some("1000")),
	];
	for (k, name, max_params) in workers {
		let dir = home.path().join(name);
		let idle = Worker::start(&format!("{name}-idle"), &dir, &["run"]).unwrap();
		let mut a = vec!["worker", "register", "--worker-dir", dir.to_str().unwrap(), "--key", k];
		if let Some(m) = max_params {
			a.extend(["--max-params", m]);
		}
		let r = cli(&url, &ks, &a).unwrap();
		assert!(r.ok, "{}", r.stderr);
		drop(idle);
	}
	let args = |k: &str, verify: bool| -> Vec<String> {
		let mut a: Vec<String> = [
			"--bootstrap",
			&peer,
			"run",
			"--url",
			&url,
			"--jobs-key",
			k,
			"--poll-ms",
			"300",
			"--heartbeat-ms",
			"250",
			"--fetch-timeout",
			"5",
		]
		.map(String::from)
		.to_vec();
		if verify {
			a.push("--verify".into());
		}
		a
	};
	let strs = |v: &[String]| v.iter().map(String::to_string).collect::<Vec<_>>();

	let mut verifiers = Vec::new();
	for (k, name) in [("//Eve", "v1"), ("//Ferdie", "v2")] {
		let a = strs(&args(k, true));
		let argv: Vec<&str> = a.iter().map(String::as_str).collect();
		let mut v = Worker::start(name, &home.path().join(name), &argv).unwrap();
		v.proc.wait_log("verifier started", Duration::from_secs(60)).unwrap();
		verifiers.push(v);
	}
	let extra = ["--eval-fraction", "0.2", "--seed", "3", "--budget", "10"];
	let job_id = create_job(&url, &ks, d, &[&tiny_run("600")[..], &extra].concat());
	let liar_args = strs(&args("//Dave", false));
	let liar_argv: Vec<&str> = liar_args.iter().map(String::as_str).collect();
	let mut liar = Worker::start_binary(
		"tributary-worker-falsifier",
		"liar",
		&home.path().join("liar"),
		&liar_argv,
	)
	.unwrap();
	liar.proc.wait_log("publishing a falsified payout table", Duration::from_secs(120)).unwrap();

	// Both verifiers dispute; the check voids the result and the job opens again.
	wait_for("the liar's result to be voided", Duration::from_secs(120), || async {
		let j = job(&client, job_id).await;
		match j.state {
			JobState::Open => Some(()),
			// The chain is read at finalized blocks: the claim may still show.
			JobState::Claimed { .. } | JobState::Submitted { .. } => None,
			other => panic!("the liar's result was to be voided, yet the job is {other:?}"),
		}
	})
	.await;
	for v in &mut verifiers {
		v.proc.wait_log("check: a sampled entry differs: disputing", Duration::ZERO).unwrap();
	}
	// The liar may not take it again: an honest worker does it; both verifiers check and agree.
	let honest_args = strs(&args("//Charlie", false));
	let honest_argv: Vec<&str> = honest_args.iter().map(String::as_str).collect();
	let _honest = Worker::start("honest", &home.path().join("honest"), &honest_argv).unwrap();
	let dave = key("//Dave").account_id();
	let final_worker =
		wait_for("an honest result to become final", Duration::from_secs(400), || async {
			match job(&client, job_id).await.state {
				JobState::Finalized { worker, .. } => Some(worker),
				_ => None,
			}
		})
		.await;
	assert_ne!(
		final_worker,
		dave.to_string(),
		"the liar's result was final\n{}",
		logs(&liar, &verifiers)
	);
	assert_eq!(final_worker, key("//Charlie").ss58());
	let agreed = verifiers
		.iter_mut()
		.map(|v| v.proc.wait_log("agreed", Duration::ZERO).is_ok())
		.filter(|a| *a)
		.count();
	assert_eq!(
		agreed,
		2,
		"both verifiers agreed with the honest result\n{}",
		logs(&liar, &verifiers)
	);
	// The liar lost the fraud penalty (50 TRIB of its 100); the verifiers lost nothing.
	let bond = |who: &str| {
		let client = &client;
		let who = key(who).account_id();
		async move { client.worker(&who).await.unwrap().unwrap().bond }
	};
	assert_eq!(bond("//Dave").await, 50 * TRIB, "{}", logs(&liar, &verifiers));
	assert_eq!((bond("//Eve").await, bond("//Ferdie").await), (100 * TRIB, 100 * TRIB));
	// The liar may not take the job again (it is final anyway), and the job went through once
	// voided: no lapse.
	let j = job(&client, job_id).await;
	assert_eq!(j.lapses, 0);
	// The pool pays by the honest table.
	let pool = client.reward_pool(job_id).await.unwrap().expect("a pool");
	let JobState::Finalized { attribution, .. } = j.state else { unreachable!() };
	assert_eq!(pool.root, format!("0x{}", hex::encode(attribution.root)));
	drop((liar, verifiers, store));
	drop(node);
}

fn logs(liar: &Worker, verifiers: &[Worker]) -> String {
	let mut s = format!("liar:\n{}", liar.proc.tail(30));
	for (i, v) in verifiers.iter().enumerate() {
		s += &format!("\nverifier {}:\n{}", i + 1, v.proc.tail(30));
	}
	s
}
