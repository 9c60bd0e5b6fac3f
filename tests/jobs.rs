//! Training jobs end to end, with real processes on loopback: a dev node sealing every 300 ms (so a
//! lease of 20 blocks lapses in ~6 s), a data peer, and two job-running workers.
//!
//! Thirty instruction pairs are contributed (through the data peer) and accepted, a version is
//! published, a tiny llama (the committed fixture plus a tokenizer written here) is registered as a
//! base, and a job is opened. Worker A (Dave) claims it and is killed as it starts training; the
//! lease lapses (A's bond pays the penalty) and worker B (Eve) claims, trains and submits. After the
//! challenge window the model is final with its lineage and B is paid. `model fetch` gets an adapter
//! whose hash matches the chain, `tributary-worker reproduce` re-trains it bit for bit, and the
//! adapter chats. B, killed mid-job and restarted, resumes from its checkpoint to the same adapter an
//! uninterrupted run gives. A job whose data no peer can serve is refused: never claimed, nothing
//! submitted.

use crate::{json, wait_for, wait_for_showing};
use std::path::Path;
use std::time::Duration;
use tributary_client::{
	client::VoteArg,
	keys::Key,
	training::{JobState, JobView},
	Client,
};
use tributary_e2e::{cli, cli_spawn, worker_cli, Node, Worker};

pub(crate) fn key(suri: &str) -> Key {
	Key::from_suri(suri).expect("dev key")
}

pub(crate) const TRIB: u128 = 1_000_000_000_000;
pub(crate) const TOPICS: [&str; 6] =
	["rivers", "datanets", "curators", "adapters", "rewards", "versions"];

/// A tiny llama folder: the committed reference fixture (vocab 64) and a word-level tokenizer over
/// the words of the test data.
pub(crate) fn tiny_base(dir: &Path) {
	let mut words: Vec<String> =
		["[UNK]", "<s>", "</s>", "what", "is", "a", "the", "?", "it", "of"]
			.map(String::from)
			.to_vec();
	words.extend(TOPICS.iter().map(|t| t.to_string()));
	for i in 0..64 - words.len() {
		words.push(format!("w{i}"));
	}
	tiny_folder(dir, &words);
}

/// The committed reference llama fixture (vocab 64) in `dir`, with a lower-casing word-level
/// tokenizer whose word `i` is `words[i]` (64 of them).
pub(crate) fn tiny_folder(dir: &Path, words: &[String]) {
	assert_eq!(words.len(), 64, "the fixture's vocabulary");
	let fixture = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
		.join("../model-factory/testdata/reference/llama");
	std::fs::create_dir_all(dir).unwrap();
	for f in ["config.json", "model.safetensors"] {
		std::fs::copy(fixture.join(f), dir.join(f)).unwrap();
	}
	let vocab: serde_json::Map<String, serde_json::Value> =
		words.iter().enumerate().map(|(i, w)| (w.clone(), serde_json::json!(i))).collect();
	let tokenizer = serde_json::json!({
		"version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
		"normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
		"post_processor": null, "decoder": null,
		"model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
	});
	std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
}

/// Five instruction pairs about `topic`, as JSON lines.
pub(crate) fn pairs(topic: &str) -> String {
	(0..5)
		.map(|i| {
			serde_json::json!({
				"prompt": format!("what is {topic} {i} ?"),
				"response": format!("it is the w{i} of {topic} w{}", i + 5),
			})
			.to_string()
		})
		.collect::<Vec<_>>()
		.join("\n")
}

/// The training of the test's jobs: `steps` of the tiny model (~350 steps a second on 2 cores).
pub(crate) fn tiny_run(steps: &str) -> Vec<&str> {
	vec![
		"--steps",
		steps,
		"--batch",
		"2",
		"--seq-len",
		"32",
		"--lr",
		"1e-3",
		"--rank",
		"4",
		"--alpha",
		"8",
	]
}

/// Alice creates a job on base 0 of datanet `d` with `args` (length, parameters, budget) through
/// the CLI; returns its id.
pub(crate) fn create_job(url: &str, ks: &Path, d: u32, args: &[&str]) -> u64 {
	let d = d.to_string();
	let mut all = vec!["--json", "job", "create", "--datanet", d.as_str(), "--base", "0"];
	all.extend_from_slice(args);
	all.extend_from_slice(&["--key", "//Alice"]);
	json(&cli(url, ks, &all).unwrap())["job"].as_u64().expect("job id")
}

pub(crate) async fn job(client: &Client, id: u64) -> JobView {
	client.job(id).await.expect("job on chain")
}

/// A text datanet named `name` owned by Alice and curated by Bob: six files of five pairs each
/// (the [`TOPICS`]), contributed alternately by Ferdie and Charlie through the data peer `peer`,
/// approved by Bob; version 1 published. Returns its id.
pub(crate) async fn six_file_datanet(
	client: &Client,
	url: &str,
	ks: &Path,
	home: &Path,
	peer: &str,
	name: &str,
) -> u32 {
	let (alice, bob) = (key("//Alice"), key("//Bob"));
	let d = client
		.create_datanet(
			&alice,
			&tributary_client::client::NewDatanet {
				name: name.into(),
				description: String::new(),
				modality: tributary_client::client::ModalityArg::Text,
				formats: vec!["jsonl".into()],
				curators: vec![bob.account_id()],
				rules: Default::default(),
			},
		)
		.await
		.unwrap();
	for (i, topic) in TOPICS.iter().enumerate() {
		let f = home.join(format!("{topic}.jsonl"));
		std::fs::write(&f, pairs(topic)).unwrap();
		let who = if i.is_multiple_of(2) { "//Ferdie" } else { "//Charlie" };
		let d = d.to_string();
		let args = ["--json", "contribute", f.to_str().unwrap(), "--datanet", &d, "--key", who];
		let out = json(&cli(url, ks, &[&args[..], &["--peer", peer]].concat()).unwrap());
		let id = out["contribution"].as_u64().unwrap();
		client.vote(&bob, id, VoteArg::Approve).await.unwrap();
	}
	let (version, count, _) = client.publish_version(&alice, d).await.unwrap();
	assert_eq!((version, count), (1, 6));
	d
}

/// Writes the tiny llama to `dir` and registers it as a base model (by Alice), its files uploaded
/// to `peer`; returns the CLI's JSON answer.
pub(crate) fn register_tiny_base(
	url: &str,
	ks: &Path,
	dir: &Path,
	peer: &str,
) -> serde_json::Value {
	tiny_base(dir);
	let args = ["--json", "base", "register", dir.to_str().unwrap(), "--name", "tiny-llama"];
	let rest = ["--family", "llama", "--license", "mit", "--key", "//Alice", "--peer", peer];
	json(&cli(url, ks, &[&args[..], &rest].concat()).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_survives_a_dead_worker_and_its_adapter_is_fetched_reproduced_and_chatted_with() {
	let mut node = Node::start("jobs", &["--dev", "--sealing", "300"]).expect("node starts");
	node.wait_rpc().expect("rpc up");
	let url = node.url();
	let client = Client::connect(&url).await.unwrap();
	let home = tempfile::tempdir().unwrap();
	let ks = home.path().join("keys");
	let (alice, bob) = (key("//Alice"), key("//Bob"));

	// A data peer that takes uploads (those the chain vouches for) and serves them.
	let store =
		Worker::start("store", &home.path().join("store"), &["run", "--url", &url]).unwrap();
	let peer = store.tcp_addr();

	// A text datanet curated by Bob; 6 files of 5 pairs each from Ferdie and Charlie, accepted;
	// version 1. The base model, uploaded to the data peer and registered.
	let d = six_file_datanet(&client, &url, &ks, home.path(), &peer, "jobs-e2e").await;
	let base_dir = home.path().join("tiny-llama");
	let base = register_tiny_base(&url, &ks, &base_dir, &peer);
	assert_eq!(base["base"], 0);
	let shown = json(&cli(&url, &ks, &["--json", "base", "show", "0"]).unwrap());
	assert_eq!(shown["files"].as_array().unwrap().len(), 3);
	assert!(shown["params"].as_u64().unwrap() > 10_000, "params read from the safetensors header");

	let (wa, wb) = (home.path().join("worker-a"), home.path().join("worker-b"));
	let run = |k: &'static str| -> Vec<String> {
		[
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
			"--checkpoint-every",
			"5",
		]
		.map(String::from)
		.to_vec()
	};
	let (a_owned, b_owned) = (run("//Dave"), run("//Eve"));
	let a_args: Vec<&str> = a_owned.iter().map(String::as_str).collect();
	let b_args: Vec<&str> = b_owned.iter().map(String::as_str).collect();
	// Registration takes the peer id and addresses from the worker's own worker.json.
	let idle_a = Worker::start("a-idle", &wa, &["run"]).unwrap();
	let idle_b = Worker::start("b-idle", &wb, &["run"]).unwrap();
	for (k, dir) in [("//Dave", &wa), ("//Eve", &wb)] {
		let r = cli(
			&url,
			&ks,
			&["worker", "register", "--worker-dir", dir.to_str().unwrap(), "--key", k],
		)
		.unwrap();
		assert!(r.ok, "{}", r.stderr);
	}
	drop((idle_a, idle_b));
	let dave_bond = client.worker(&key("//Dave").account_id()).await.unwrap().unwrap().bond;

	// The job: 600 steps on the tiny model (a few seconds), budget 10 TRIB.
	let extra =
		["--targets", "q_proj,v_proj", "--eval-fraction", "0.2", "--seed", "7", "--budget", "10"];
	let job_id = create_job(&url, &ks, d, &[&tiny_run("600")[..], &extra].concat());

	// Worker A claims and is killed as soon as it starts training. (Not later: the tiny run takes
	// about a second, so a worker killed after its first heartbeat may already have submitted.)
	let mut a = Worker::start("a", &wa, &a_args).unwrap();
	a.proc.wait_log("training started", Duration::from_secs(120)).unwrap();
	a.proc.kill();
	assert!(matches!(job(&client, job_id).await.state, JobState::Claimed { .. }));
	// The lease lapses: the job is open again and Dave's bond paid the penalty.
	wait_for("the lease to lapse", Duration::from_secs(60), || async {
		let j = job(&client, job_id).await;
		assert!(
			matches!(j.state, JobState::Open | JobState::Claimed { .. }),
			"A was killed mid-training, yet the job is {:?}",
			j.state
		);
		(j.state == JobState::Open && j.lapses == 1).then_some(())
	})
	.await;
	let after = client.worker(&key("//Dave").account_id()).await.unwrap().unwrap().bond;
	assert_eq!(dave_bond - after, 10 * 1_000_000_000_000, "the lapse burns 10 TRIB of A's bond");
	let r = cli(&url, &ks, &["worker", "status", "--key", "//Dave"]).unwrap();
	assert!(r.stdout.contains("inactive: the bond is below"), "{}", r.stdout);

	// Worker B claims, trains and submits; after the window the model is final.
	let eve_before = client.free_balance(&key("//Eve").account_id()).await.unwrap();
	let mut b = Worker::start("b", &wb, &b_args).unwrap();
	// Someone watches the job, told nothing of where B runs: B publishes its endpoint on chain.
	let mut watch = cli_spawn("watch", &url, &ks, &["job", "watch", &job_id.to_string()]).unwrap();
	let model = wait_for("the result to become final", Duration::from_secs(300), || async {
		match job(&client, job_id).await.state {
			JobState::Finalized { model, worker, .. } => Some((model, worker)),
			_ => None,
		}
	})
	.await;
	assert_eq!(model.1, key("//Eve").ss58());
	let m = client.model(model.0).await.unwrap();
	assert_eq!((m.base, m.datanet, m.version, m.job, m.parent), (0, d, 1, job_id, None));
	assert_eq!(m.metrics.steps, 600);
	assert!(m.metrics.train_loss.is_finite() && m.metrics.eval_loss.is_some());
	let eve_after = client.free_balance(&key("//Eve").account_id()).await.unwrap();
	// 30% of 10 TRIB (the default split), less B's transaction fees.
	assert!(eve_after + 100_000_000_000 > eve_before + 3_000_000_000_000, "B was paid its share");
	rewards_are_claimed_by_the_published_table(&client, &url, &ks, job_id, &b.tcp_addr()).await;
	assert!(watch.wait_exit(Duration::from_secs(30)).unwrap(), "{}", watch.tail(20));
	let endpoint = watch.wait_log("live from http://127.0.0.1:", Duration::ZERO).unwrap();
	watch.wait_log("submitted; final at block", Duration::ZERO).unwrap();
	watch.wait_log(&format!("job {job_id}: final"), Duration::ZERO).unwrap();
	let r = cli(&url, &ks, &["worker", "status", "--key", "//Eve"]).unwrap();
	let published = endpoint.split("live from ").nth(1).unwrap();
	assert!(r.stdout.contains(&format!("endpoint {published}")), "{}\n{endpoint}", r.stdout);
	let listed =
		json(&cli(&url, &ks, &["--json", "model", "list", "--datanet", &d.to_string()]).unwrap());
	assert_eq!(listed.as_array().unwrap().len(), 1);

	// Anyone fetches the adapter by the chain's hash and gets a PEFT folder.
	let fetched = home.path().join("fetched");
	let r = cli(
		&url,
		&ks,
		&[
			"model",
			"fetch",
			&model.0.to_string(),
			"--out",
			fetched.to_str().unwrap(),
			"--peer",
			&b.tcp_addr(),
		],
	)
	.unwrap();
	assert!(r.ok, "{}", r.stderr);
	let blob = tributary_client::adapter_blob::pack(&fetched).unwrap();
	assert_eq!(*blake3::hash(&blob).as_bytes(), m.adapter_hash);
	let config: serde_json::Value =
		serde_json::from_slice(&std::fs::read(fetched.join("adapter_config.json")).unwrap())
			.unwrap();
	assert_eq!(config["base_model_name_or_path"], "tiny-llama");
	assert_eq!(config["r"], 4);

	// A re-run of the job from its chain record reproduces the hash.
	let rd = home.path().join("reproducer");
	let r = worker_cli(&[
		"--data-dir",
		rd.to_str().unwrap(),
		"--bootstrap",
		&peer,
		"reproduce",
		&job_id.to_string(),
		"--url",
		&url,
	])
	.unwrap();
	assert!(
		r.ok && r.stdout.contains("the payout table is reproduced"),
		"{}\n{}",
		r.stdout,
		r.stderr
	);

	// Chat with base + adapter.
	let r = worker_cli(&[
		"chat",
		"--model",
		base_dir.to_str().unwrap(),
		"--adapter",
		fetched.to_str().unwrap(),
		"--prompt",
		"what is rivers 1 ?",
		"--temperature",
		"0",
		"--max-tokens",
		"8",
	])
	.unwrap();
	assert!(r.ok, "{}", r.stderr);
	let cli_answer = r.stdout.trim().to_string();

	// The chain's models behind OpenAI's API: the base fetched over the data plane, the trained
	// model listed as model-<id> and fetched (verified by the chain's hash) on first use; its
	// answer is the CLI's with the fetched adapter. A model that is not on the chain is a 404.
	// Answers of the trained model are paid: Dave serves at 0.1 TRIB per 1,000 tokens, Charlie
	// opens a tab with Dave and sends a signed voucher with each request.
	let dave = key("//Dave").account_id();
	let r =
		cli(&url, &ks, &["fees", "fund", &dave.to_string(), "2", "--key", "//Charlie"]).unwrap();
	assert!(r.ok, "{}", r.stderr);
	let tab = client.tab(&key("//Charlie").account_id(), &dave).await.unwrap().expect("a tab");
	assert_eq!(tab.balance, 2 * 1_000_000_000_000);
	// The first answer waits for its model's influence index (built in well under a second here;
	// a minute leaves room for a loaded machine).
	let wait = ["--influence-wait-ms", "60000"];
	let (api, api_url) =
		super::serving::start_paid_api(&home.path().join("api"), &peer, &url, &wait);
	const PRICE: u128 = 100_000_000_000;
	assert_eq!(client.price(&dave).await.unwrap(), PRICE, "the price is published on chain");
	let voucher = |model: &str, amount: &str| -> String {
		let r = cli(
			&url,
			&ks,
			&[
				"fees",
				"voucher",
				&dave.to_string(),
				"--model",
				model,
				"--amount",
				amount,
				"--key",
				"//Charlie",
			],
		)
		.unwrap();
		assert!(r.ok, "{}", r.stderr);
		r.stdout.trim().to_string()
	};
	let paid = voucher(&model.0.to_string(), "1");
	let tiny = voucher(&model.0.to_string(), "0.000001");
	let other_model = voucher("99", "1");
	let mut forged: serde_json::Value = serde_json::from_str(&paid).unwrap();
	forged["cumulative"] = "2000000000000".into();
	let script = r#"
import json, sys, openai
c = openai.OpenAI(base_url=sys.argv[1], api_key="unused")
pay = {"Tributary-Voucher": sys.argv[4]}
out = {"models": [[m.id, m.parent] for m in c.models.list().data]}
import urllib.request
out["terms"] = json.loads(urllib.request.urlopen(sys.argv[1] + "/billing").read())
def refused(header):
    try:
        c.chat.completions.create(model=sys.argv[2], max_tokens=8, extra_headers=header,
            messages=[{"role": "user", "content": "what is rivers 1 ?"}])
        return "answered"
    except openai.APIStatusError as e:
        return [e.status_code, e.body.get("code"), e.body.get("message")]
out["unpaid"] = refused({})
out["forged"] = refused({"Tributary-Voucher": sys.argv[5]})
out["other_model"] = refused({"Tributary-Voucher": sys.argv[6]})
out["too_low"] = refused({"Tributary-Voucher": sys.argv[7]})
r = c.chat.completions.create(model=sys.argv[2], temperature=0, max_tokens=8, extra_headers=pay,
    messages=[{"role": "user", "content": "what is rivers 1 ?"}])
out["chat"] = r.choices[0].message.content
out["attribution"] = r.model_dump().get("attribution")
out["billing"] = r.model_dump().get("billing")
out["usage"] = r.usage.total_tokens
s = c.chat.completions.create(model=sys.argv[2], temperature=0, max_tokens=8, stream=True,
    extra_headers=pay, messages=[{"role": "user", "content": "what is rivers 1 ?"}],
    stream_options={"include_usage": True})
last = None
for ch in s:
    if ch.choices and ch.choices[0].finish_reason:
        last = ch.model_dump()
    if ch.usage:
        out["streamed_usage"] = ch.usage.total_tokens
out["streamed_attribution"] = last.get("attribution")
out["streamed_billing"] = last.get("billing")
r = c.chat.completions.create(model=sys.argv[3], temperature=0, max_tokens=8,
    messages=[{"role": "user", "content": "what is curators 3 ?"}])
out["grounded"] = r.model_dump()
def get(path):
    try:
        return json.loads(urllib.request.urlopen(sys.argv[1] + path).read())
    except urllib.error.HTTPError as e:
        return [e.code, json.loads(e.read())["error"]["message"]]
out["line"] = get("/billing?payer=" + sys.argv[8] + "&model=" + sys.argv[2])["line"]
out["no_tab"] = get("/billing?payer=" + sys.argv[9] + "&model=" + sys.argv[2])["line"]
out["bad_payer"] = get("/billing?payer=nobody&model=1")
try:
    c.chat.completions.create(model="model-99", messages=[{"role": "user", "content": "x"}])
except openai.NotFoundError as e:
    out["unknown"] = e.status_code
print(json.dumps(out))
"#;
	let served = format!("model-{}", model.0);
	let chat_over = format!("datanet-{d}");
	let forged = forged.to_string();
	let v = super::serving::ask_openai(
		&api,
		script,
		&[
			&api_url,
			&served,
			&chat_over,
			&paid,
			&forged,
			&other_model,
			&tiny,
			&key("//Charlie").ss58(),
			&key("//Ferdie").ss58(),
		],
	);
	// Refused before any work, with a reason the caller can act on.
	for (case, says) in [
		("unpaid", "Tributary-Voucher"),
		("forged", "signature"),
		("other_model", "for model 99"),
		("too_low", "sign a higher one"),
	] {
		let r = &v[case];
		assert_eq!(
			(&r[0], &r[1]),
			(&serde_json::json!(402), &serde_json::json!("payment_required")),
			"{case}: {v}"
		);
		assert!(r[2].as_str().unwrap().contains(says), "{case}: {r}");
	}
	// Each paid answer's cost is the price of its tokens, rounded up; the total is charged
	// against the voucher.
	let cost =
		|tokens: &serde_json::Value| (PRICE * tokens.as_u64().unwrap() as u128).div_ceil(1000);
	let (c1, c2) = (cost(&v["usage"]), cost(&v["streamed_usage"]));
	assert_eq!(v["billing"]["cost"], c1.to_string(), "{v}");
	assert_eq!(v["billing"]["payee"], dave.to_string());
	assert_eq!(v["streamed_billing"]["cost"], c2.to_string(), "{v}");
	assert_eq!(v["streamed_billing"]["charged"], (c1 + c2).to_string(), "{v}");
	assert!(v["grounded"].get("billing").is_none(), "chat over a datanet is free");
	// Where a payer stands, for a client (the Studio) to sign its next voucher just above it.
	let line = &v["line"];
	assert_eq!(line["tab"], tab.id, "{v}");
	assert_eq!(line["charged"], (c1 + c2).to_string(), "{v}");
	assert_eq!((&line["reserved"], &line["closing"]), (&"0".into(), &false.into()), "{v}");
	assert_eq!(line["allows"], "1000000000000", "the highest voucher it holds: {v}");
	assert_eq!(v["no_tab"], serde_json::Value::Null, "Ferdie has no tab: {v}");
	assert_eq!(v["bad_payer"][0], 400, "{v}");
	// The terms a client reads before it opens a tab and signs.
	let terms = &v["terms"];
	assert_eq!(terms["price_per_1k_tokens"], PRICE.to_string());
	assert_eq!(terms["payee"], dave.to_string());
	assert_eq!(terms["genesis"], format!("0x{}", hex::encode(client.genesis())));
	assert_eq!(
		v["models"],
		serde_json::json!([
			["tiny-llama", null],
			[served, "tiny-llama"],
			[chat_over, "tiny-llama"]
		])
	);
	assert_eq!(v["chat"].as_str().unwrap().trim(), cli_answer, "{v}");
	assert_eq!(v["unknown"], 404);
	// The answer's attribution: the model's dataset version, and the spans of the answer that
	// its text holds word for word (each in the answer and in the training pairs), with their
	// contributions; the same on the streamed answer's last chunk.
	let att = &v["attribution"];
	assert_eq!(att["dataset"], serde_json::json!({ "datanet": d, "version": 1 }), "{v}");
	assert_eq!(v["streamed_attribution"], *att);
	let training: String = TOPICS.iter().map(|t| pairs(t)).collect();
	let answer = v["chat"].as_str().unwrap();
	for span in att["spans"].as_array().expect("spans") {
		let text = span["text"].as_str().unwrap();
		assert!(answer.contains(text) && training.contains(text.trim()), "{span}");
		assert!(!span["contributions"].as_array().unwrap().is_empty(), "{span}");
	}
	// And the contributions that most shaped it (the server waits for the model's influence
	// index here): at most 5, each a contribution of the version, highest score first; the
	// streamed answer is the same text, so the same scores.
	let influence = &att["influence"];
	assert_eq!(influence["status"], "ready", "{att}");
	let ranked = influence["contributions"].as_array().expect("contributions");
	let count = client.dataset_version(d, 1).await.unwrap().unwrap().count;
	let version: Vec<u64> =
		client.dataset_items(d, count).await.unwrap().iter().map(|i| i.contribution).collect();
	assert!(!ranked.is_empty() && ranked.len() <= 5, "{att}");
	let scores: Vec<f64> = ranked.iter().map(|c| c["score"].as_f64().unwrap()).collect();
	assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{att}");
	assert!(scores.iter().any(|s| *s != 0.0), "{att}");
	for c in ranked {
		assert!(version.contains(&c["contribution"].as_u64().unwrap()), "{c} not in {version:?}");
	}
	eprintln!("served answer {answer:?}, attribution {att}");
	// Chat over the datanet: the passage that answers (the curators file's pair 3) is retrieved
	// first and given to the model; the answer lists the passages it was given.
	let g = &v["grounded"];
	let citations = g["citations"].as_array().expect("citations");
	assert!(!citations.is_empty() && citations.len() <= 3, "{g}");
	assert!(citations[0]["text"].as_str().unwrap().contains("what is curators 3 ?"), "{g}");
	assert_eq!(citations[0]["n"], 1);
	assert!(citations.iter().all(|c| c["contribution"].is_u64() && c["cited"].is_boolean()));
	assert_eq!(g["attribution"]["dataset"], serde_json::json!({ "datanet": d, "version": 1 }));
	let fees = answer_fees_are_settled_and_pooled(
		&client,
		&api,
		&api_url,
		job_id,
		model.0,
		tab.id,
		c1 + c2,
	)
	.await;
	drop(api);

	// A worker restarted mid-job resumes from its checkpoint, and the result is still the one an
	// uninterrupted run gives.
	// Long enough (seconds) that B cannot finish between the chain showing progress and the kill.
	let resumed = create_job(
		&url,
		&ks,
		d,
		&[&tiny_run("3000")[..], &["--seed", "11", "--budget", "2"]].concat(),
	);
	wait_for("B to report a checkpointed step", Duration::from_secs(120), || async {
		match job(&client, resumed).await.state {
			JobState::Claimed { step, .. } if step > 5 => Some(()),
			JobState::Open | JobState::Claimed { .. } => None,
			other => panic!("B was to be killed mid-training, yet the job is {other:?}"),
		}
	})
	.await;
	b.proc.kill();
	let mut b = Worker::start("b-again", &wb, &b_args).unwrap();
	b.proc.wait_log("resuming the job we hold", Duration::from_secs(30)).unwrap();
	// (Seen once under a loaded CI run: still not final after 300 s; the logs show where it was.)
	let final_model = wait_for_showing(
		"the resumed job to become final",
		Duration::from_secs(300),
		|| async {
			match job(&client, resumed).await.state {
				JobState::Finalized { model, .. } => Some(model),
				_ => None,
			}
		},
		|| format!("worker B:\n{}", b.proc.tail(40)),
	)
	.await;
	assert_eq!(job(&client, resumed).await.lapses, 0, "resumed within the lease");
	assert_eq!(client.model(final_model).await.unwrap().metrics.steps, 3000);
	let r = worker_cli(&[
		"--data-dir",
		rd.to_str().unwrap(),
		"--bootstrap",
		&peer,
		"reproduce",
		&resumed.to_string(),
		"--url",
		&url,
	])
	.unwrap();
	assert!(
		r.ok && r.stdout.contains("the payout table is reproduced"),
		"{}\n{}",
		r.stdout,
		r.stderr
	);

	// A version whose only item no peer serves: B refuses the job and never claims it.
	let lonely = home.path().join("lonely.jsonl");
	std::fs::write(&lonely, pairs("lonely")).unwrap();
	let out = json(
		&cli(
			&url,
			&ks,
			&[
				"--json",
				"contribute",
				lonely.to_str().unwrap(),
				"--datanet",
				&d.to_string(),
				"--key",
				"//Ferdie",
			],
		)
		.unwrap(),
	);
	client.vote(&bob, out["contribution"].as_u64().unwrap(), VoteArg::Approve).await.unwrap();
	client.publish_version(&alice, d).await.unwrap();
	let refused = create_job(&url, &ks, d, &["--version", "2", "--steps", "5", "--budget", "1"]);
	b.proc.wait_log("nothing claimed", Duration::from_secs(60)).unwrap();
	tokio::time::sleep(Duration::from_secs(2)).await;
	let j = job(&client, refused).await;
	assert_eq!((j.state, j.lapses), (JobState::Open, 0), "nothing claimed, nothing submitted");

	// Once the fees' periods are over, contributors claim their part of the fee pools by the same
	// table as the budget's.
	fee_rewards_are_claimed(&client, &url, &ks, job_id, fees, &b.tcp_addr()).await;
}

/// The serving worker (Dave) settles its charges on its own, once per fee period (the two answers
/// may fall in one period or two): the tab pays `charged`, each settlement commits to the receipts
/// the worker serves for its period, and the fees join the job's fee pools by the split. Returns
/// the settled periods, each with what its pool's contributors' part holds.
async fn answer_fees_are_settled_and_pooled(
	client: &Client,
	api: &tributary_e2e::Proc,
	api_url: &str,
	job: u64,
	model: u64,
	tab: u64,
	charged: u128,
) -> Vec<(u32, u128)> {
	let dave = key("//Dave").account_id();
	wait_for_showing(
		"the worker to settle its charges",
		Duration::from_secs(120),
		|| async { (client.tab_spent(tab, model).await.unwrap() == charged).then_some(()) },
		|| api.tail(20),
	)
	.await;
	let left = client.tab(&key("//Charlie").account_id(), &dave).await.unwrap().unwrap().balance;
	assert_eq!(left, 2 * 1_000_000_000_000 - charged);
	let now = client.fee_period().await.unwrap();
	let (mut receipts, mut total, mut pools) = (0, 0u128, vec![]);
	for period in 0..=now {
		let Some((usage, paid)) = client.settlement(&dave, period).await.unwrap() else { continue };
		// The receipts the worker serves are the ones it committed to.
		let script = r#"
import json, sys, urllib.request
body = urllib.request.urlopen(sys.argv[1] + "/receipts/" + sys.argv[2]).read()
print(json.dumps({"file": body.decode()}))
"#;
		let v = super::serving::ask_openai(api, script, &[api_url, &period.to_string()]);
		let file = v["file"].as_str().unwrap();
		let lines: Vec<Vec<u8>> = file.lines().map(|l| l.as_bytes().to_vec()).collect();
		assert_eq!(usage.receipts as usize, lines.len(), "{file}");
		assert_eq!(usage.root, tributary_client::fees::receipts_root(&lines));
		assert_eq!(usage.file, *blake3::hash(file.as_bytes()).as_bytes());
		let cost = |l: &Vec<u8>| -> u128 {
			let r: serde_json::Value = serde_json::from_slice(l).unwrap();
			r["cost"].as_str().unwrap().parse().unwrap()
		};
		assert_eq!(lines.iter().map(cost).sum::<u128>(), paid, "{file}");
		// The default split: the worker 30%, the owner 10%, curators 10%, contributors the rest.
		let pool = client.fee_pool(job, period).await.unwrap().expect("the job's fee pool");
		let share = |ppm: u128| paid * ppm / 1_000_000;
		assert_eq!(pool.curators, share(100_000));
		assert_eq!(pool.contributors, paid - share(300_000) - share(100_000) - share(100_000));
		receipts += lines.len();
		total += paid;
		pools.push((period, pool.contributors));
	}
	assert_eq!((receipts, total), (2, charged), "two paid answers, settled in {pools:?}");
	pools
}

/// After each fee pool's period: each contributor's lines of the job's table are paid from it,
/// and a second claim pays nothing.
async fn fee_rewards_are_claimed(
	client: &Client,
	url: &str,
	ks: &Path,
	job: u64,
	pools: Vec<(u32, u128)>,
	peer: &str,
) {
	for (period, contributors) in pools {
		wait_for("the fee period to end", Duration::from_secs(120), || async {
			(client.fee_period().await.unwrap() > period).then_some(())
		})
		.await;
		let (id, p) = (job.to_string(), period.to_string());
		let mut paid = 0u128;
		for who in ["//Ferdie", "//Charlie"] {
			let account = key(who).ss58();
			// `rewards pending` lists the fee pool's lines with what each would pay now.
			let pending = |state: &'static str| {
				let out = json(
					&cli(
						url,
						ks,
						&["--json", "rewards", "pending", "--account", &account, "--peer", peer],
					)
					.unwrap(),
				);
				let lines: Vec<serde_json::Value> = out["lines"]
					.as_array()
					.unwrap()
					.iter()
					.filter(|l| l["job"] == job && l["period"] == period)
					.cloned()
					.collect();
				assert!(!lines.is_empty(), "{who}: {out}");
				assert!(lines.iter().all(|l| l["state"] == state), "{who}: {out}");
				lines
			};
			let before = pending("pending");
			let claim = [
				"--json", "rewards", "claim", &id, "--period", &p, "--for", &account, "--peer",
				peer, "--key", "//Alice",
			];
			let out = json(&cli(url, ks, &claim).unwrap());
			let lines = out.as_array().unwrap();
			assert!(!lines.is_empty(), "{who} contributed and is paid from the fee pool: {out}");
			paid += lines.iter().map(|l| l["amount"].as_u64().unwrap() as u128).sum::<u128>();
			let again = json(&cli(url, ks, &claim).unwrap());
			assert_eq!(again, serde_json::json!([]), "each line is paid once");
			// What `pending` said each line would pay is what the claim paid.
			let said: u128 =
				before.iter().map(|l| l["amount"].as_str().unwrap().parse::<u128>().unwrap()).sum();
			let got: u128 = lines.iter().map(|l| l["amount"].as_u64().unwrap() as u128).sum();
			assert_eq!(said, got, "{who}");
			pending("claimed");
		}
		// Rounding down per line leaves at most a unit per line unpaid.
		assert!(paid <= contributors && contributors - paid <= 6, "{paid} of {contributors}");
	}
}

/// After `job` is final: its payout table, fetched from the worker (`peer`) and checked against the
/// chain, pays each contributor and the curator exactly what the published formula gives; a
/// second claim pays nothing.
async fn rewards_are_claimed_by_the_published_table(
	client: &Client,
	url: &str,
	ks: &Path,
	job: u64,
	peer: &str,
) {
	let id = job.to_string();
	let table = json(&cli(url, ks, &["--json", "rewards", "show", &id, "--peer", peer]).unwrap());
	let lines = table["contributions"].as_array().unwrap();
	assert_eq!(lines.len(), 6, "one line per item of the version: {table}");
	let ppm_sum: u64 = lines.iter().map(|l| l["ppm"].as_u64().unwrap()).sum();
	assert_eq!(ppm_sum, 1_000_000, "{table}");
	let curators = table["curators"].as_array().unwrap();
	assert_eq!(curators.len(), 1);
	assert_eq!(
		(curators[0]["approvals"].as_u64(), curators[0]["ppm"].as_u64()),
		(Some(6), Some(1_000_000))
	);
	// The pool: the default split's 50% for contributors and 10% for curators of 10 TRIB.
	let pool = client.reward_pool(job).await.unwrap().expect("an open pool");
	assert_eq!((pool.contributors, pool.curators), (5 * TRIB, TRIB));
	assert_eq!(pool.leaves, 7);

	// Alice claims for each of them (anyone may sign): each balance rises by exactly
	// ⌊part × ppm / 10⁶⌋ summed over the account's lines.
	for (who, part) in [
		("//Ferdie", pool.contributors),
		("//Charlie", pool.contributors),
		("//Bob", pool.curators),
	] {
		let account = key(who).account_id();
		let mine: Vec<u64> = lines
			.iter()
			.chain(curators)
			.filter(|l| {
				l["contributor"].as_str().or(l["account"].as_str()) == Some(&account.to_string())
			})
			.map(|l| l["ppm"].as_u64().unwrap())
			.collect();
		let due: u128 = mine.iter().map(|p| part * *p as u128 / 1_000_000).sum();
		let before = client.free_balance(&account).await.unwrap();
		let ss58 = account.to_string();
		// What the node says the lines would pay, before: exactly what is due; after: nothing.
		let pending = |ss58: &str| {
			json(
				&cli(url, ks, &["--json", "rewards", "pending", "--account", ss58, "--peer", peer])
					.unwrap(),
			)
		};
		let p = pending(&ss58);
		assert_eq!(p["pending"].as_str(), Some(due.to_string().as_str()), "{p}");
		let r = cli(
			url,
			ks,
			&["rewards", "claim", &id, "--for", &ss58, "--key", "//Alice", "--peer", peer],
		)
		.unwrap();
		assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
		let after = client.free_balance(&account).await.unwrap();
		assert_eq!(after - before, due, "{who}: {}", r.stdout);
		let p = pending(&ss58);
		assert_eq!(p["pending"].as_str(), Some("0"), "{p}");
		assert_eq!(
			p["claimed_lines"].as_u64(),
			Some(mine.iter().filter(|m| **m > 0).count() as u64),
			"{p}"
		);
		// Claimed once: a second claim finds nothing left.
		let again = cli(
			url,
			ks,
			&["rewards", "claim", &id, "--for", &ss58, "--key", "//Alice", "--peer", peer],
		)
		.unwrap();
		assert!(
			again.ok && again.stdout.contains("nothing left"),
			"{}\n{}",
			again.stdout,
			again.stderr
		);
	}
	let pool = client.reward_pool(job).await.unwrap().unwrap();
	assert_eq!(pool.curators_paid, TRIB);
	// The contributors' lines with a share were all paid: the part is paid out to the unit.
	assert_eq!(pool.contributors_paid, 5 * TRIB);
}
