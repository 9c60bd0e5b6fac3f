//! The Studio in a real browser: a dev node, a serving API on the small real model, and
//! `tributary-studio` serving the built app, and Charlie's curator worker as the data peer the
//! Studio hands uploads to; `studio/web/tests/studio-browser.mjs` drives Debian's chromium through
//! playwright-core: datanets listed and filtered, Bob approves Dave's pending contribution after
//! the dialog shows the call and its fee, the contribution turns Accepted and the leaderboard
//! ranks Dave; Eve contributes a file from the browser (hashed there, committed, revealed, its
//! bytes through the Studio to Charlie's worker, which checks it and votes) and watches it turn
//! Accepted; a file of the wrong format is refused before anything is signed; Alice publishes a
//! version, creates a datanet and a training job from their forms, and the job page draws the
//! worker's live loss as it trains; once the job is final, Eve claims her contributor's reward
//! from the Rewards page (the table fetched and checked by the Studio, the proof checked by the
//! chain); a test wallet speaking the extension API (window.injectedWeb3) signs a
//! curation-pot funding; a chat answer streams through the Studio's /v1; the trained model's
//! lineage is drawn and its adapter downloaded (its BLAKE3 as on chain); Eve opens a tab with the
//! serving worker (which charges) and chats with the trained model beside its base, the page
//! signing her voucher; the test wallet signs one voucher as raw bytes for two answers; once the
//! worker has settled and the fee period ended, Eve claims her line of the answer-fee pool; Alice
//! retrains model-0 as a child and compares the two runs, then stops a long job while Charlie's
//! worker trains it (the worker stops); a phone's width does not scroll sideways; no console
//! errors. Screenshots go to `$TRIBUTARY_STUDIO_SHOTS` (default
//! `<target>/studio-shots`).

use crate::{json, serving::start_paid_api};
use std::{path::PathBuf, process::Command, time::Duration};
use tributary_e2e::{bin_dir, cli, free_port, Node, Proc, Worker};

fn web_dir() -> PathBuf {
	let root = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
	PathBuf::from(root).join("../studio/web")
}

#[test]
fn the_studio_in_a_real_browser() {
	let web = web_dir();
	assert!(
		web.join("dist/index.html").exists() && web.join("node_modules/playwright-core").exists(),
		"the Studio is not built: `npm ci && npm run build` in studio/web (scripts/test.sh does)"
	);
	let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
	assert!(
		std::path::Path::new(&chromium).exists(),
		"{chromium} is missing: scripts/bootstrap.sh installs Debian's chromium"
	);

	// A block every 300 ms: the job the browser creates becomes final (its challenge window and
	// spot-check phases pass) while the test runs, so its rewards can be claimed.
	let mut node = Node::start("studio-dev", &["--dev", "--sealing", "300"]).unwrap();
	node.wait_rpc().unwrap();
	let url = node.url();
	let home = tempfile::tempdir().unwrap();
	let ks = home.path().join("keys");

	// Charlie's curator worker: the data peer the Studio hands browser uploads to and fetches
	// previews from; it curates the example datanets (Charlie is their curator) and runs training
	// jobs as the bonded worker Eve, with live progress the Studio forwards.
	let wc = home.path().join("w-charlie");
	let progress_port = free_port();
	let progress_listen = format!("127.0.0.1:{progress_port}");
	let mut args = super::data_plane::curator_args(&url, "//Charlie");
	args.extend(["--jobs-key", "//Eve", "--progress-listen", &progress_listen].map(String::from));
	let args: Vec<&str> = args.iter().map(String::as_str).collect();
	let mut worker = Worker::start("charlie", &wc, &args).unwrap();
	ok(&url, &ks, &["worker", "register", "--worker-dir", wc.to_str().unwrap(), "--key", "//Eve"]);

	// A (tiny) base model on chain, for the Train page. Its words go into Eve's contribution, so
	// that the trained model's answers (made of those words) hold spans found in its training text.
	let tiny = home.path().join("tiny");
	super::jobs::register_tiny_base(&url, &ks, &tiny, &worker.tcp_addr());
	let tokenizer: serde_json::Value =
		serde_json::from_slice(&std::fs::read(tiny.join("tokenizer.json")).unwrap()).unwrap();
	let mut words: Vec<(&String, u64)> = tokenizer["model"]["vocab"]
		.as_object()
		.unwrap()
		.iter()
		.map(|(w, id)| (w, id.as_u64().unwrap()))
		.collect();
	words.sort_by_key(|&(_, id)| id);
	let words: Vec<&str> = words.iter().map(|(w, _)| w.as_str()).collect();

	// Dave contributes a text file to a datanet only Bob curates (Charlie's worker holds the
	// bytes but does not vote on it): it waits in Bob's queue, with its content to preview.
	let bob_only = super::data_plane::create_datanet(
		&url,
		&ks,
		"studio-notes",
		"text",
		"txt",
		&[&tributary_client::keys::Key::from_suri("//Bob").unwrap().ss58()],
	);
	let file = home.path().join("note.txt");
	std::fs::write(&file, "Rivers carry what the rain gives them.\n").unwrap();
	let out = super::data_plane::contribute(&url, &ks, &file, &bob_only, Some(&worker.tcp_addr()));
	let pending = out["contribution"].as_u64().expect("a contribution id");

	// The CLI keeps pace with the Studio: Bob's queue, balances and a transfer.
	let addr = |suri: &str| tributary_client::keys::Key::from_suri(suri).unwrap().ss58();
	let (bob, charlie) = (addr("//Bob"), addr("//Charlie"));
	let run = |args: &[&str]| json(&cli(&url, &ks, args).unwrap());
	let queue = run(&["--json", "curator", "queue", &bob]);
	assert_eq!(queue[0]["id"], pending, "Bob's queue: {queue}");
	let free = |who: &str| -> u128 {
		run(&["--json", "balance", who])["free"].as_str().unwrap().parse().unwrap()
	};
	let before = free(&charlie);
	ok(&url, &ks, &["transfer", &charlie, "1.5", "--key", "//Dave"]);
	assert_eq!(free(&charlie) - before, 1_500_000_000_000);
	let bad = cli(&url, &ks, &["transfer", "not-an-address", "1", "--key", "//Dave"]).unwrap();
	assert!(!bad.ok && bad.stderr.contains("is not an SS58 address"), "{}", bad.stderr);

	// The model API on the chain's base 0 (fetched from Charlie's worker) and every model trained
	// on it, reached through the Studio, as `up.sh` serves it; Dave's worker charges 0.1 TRIB per
	// 1,000 tokens for the trained models' answers and settles each fee period. Spans of a word
	// and its space are reported (the tiny model's answers are a few words each); a model's
	// first answer waits for its influence index, so every answer the page shows carries it.
	let (mut api, api_url) = start_paid_api(
		&home.path().join("api"),
		&worker.tcp_addr(),
		&url,
		&["--span-min-bytes", "3", "--influence-wait-ms", "60000"],
	);
	let api_base = api_url.trim_end_matches('/').trim_end_matches("/v1").to_string();

	let port = free_port();
	let studio_url = format!("http://127.0.0.1:{port}");
	let mut cmd = Command::new(bin_dir().join("tributary-studio"));
	cmd.args(["--bind", &format!("127.0.0.1:{port}"), "--node", &url, "--api", &api_base])
		.args(["--peer", &worker.tcp_addr(), "--max-upload", "1048576"])
		.args(["--progress", &format!("http://{progress_listen}")])
		.arg("--web")
		.arg(web.join("dist"));
	let mut studio = Proc::spawn("studio", cmd).unwrap();
	studio.wait_log("studio listening", Duration::from_secs(30)).unwrap();

	// Anyone can post to /upload: the data peer refuses bytes no record declares before a byte
	// moves, and the Studio bounds what it reads. (Before the browser's upload: junk sent through
	// the Studio must not get it banned by the peer, or no user could upload after an attacker.)
	let (status, body) = post(port, &format!("/upload/{pending}"), b"junk nobody declared");
	assert_eq!(status, 502, "{body}");
	assert!(body.contains("declares other content"), "{body}");
	let (status, body) = post(port, "/upload/987654", b"junk");
	assert_eq!(status, 502, "{body}");
	assert!(body.contains("not on chain"), "{body}");
	let (status, body) = post(port, "/upload/0", &vec![b'x'; (1 << 20) + 1]);
	assert_eq!(status, 413, "{body}");
	assert!(!wc.join("store/blobs").join(hex_blake3(b"junk nobody declared")).exists());
	// Adapter downloads name a model on chain (the browser downloads a real one below).
	let (status, body) = request(port, "GET", "/adapters/not-a-model", b"");
	assert_eq!(status, 400, "{body}");
	let (status, body) = request(port, "GET", "/adapters/77", b"");
	assert_eq!(status, 404, "{body}");
	assert!(body.contains("no model 77 on chain"), "{body}");

	let shots = std::env::var("TRIBUTARY_STUDIO_SHOTS")
		.map(PathBuf::from)
		.unwrap_or_else(|_| bin_dir().join("studio-shots"));
	let browser = Command::new("node")
		.arg("tests/studio-browser.mjs")
		.current_dir(&web)
		.env("STUDIO_URL", &studio_url)
		.env("NODE_URL", &url)
		.env("PENDING", pending.to_string())
		.env("DATANET", &bob_only)
		.env("SHOTS", &shots)
		.env("CHROMIUM", &chromium)
		.env("EXPECT_CHAT", "1")
		.env("PAID_CHAT", "1")
		.env("BASE_NAME", "tiny-llama")
		.env("BASE_WORDS", words.join(" "))
		.output()
		.expect("node runs");
	let stdout = String::from_utf8_lossy(&browser.stdout);
	let stderr = String::from_utf8_lossy(&browser.stderr);
	println!("{stdout}\n{stderr}\nscreenshots in {}", shots.display());
	assert!(
		browser.status.success(),
		"the browser test failed:\n{stdout}\n{stderr}\nstudio:\n{}\napi:\n{}\nnode:\n{}",
		studio.tail(20),
		api.tail(20),
		node.tail(20)
	);
	assert!(stdout.contains("studio-browser: passed"), "{stdout}");
	// Anyone may ask the serving worker about any payer's line, which costs it chain reads: a
	// burst beyond its per-second allowance is answered 429 (with Retry-After) and reads nothing;
	// a second later it answers again.
	let api_port: u16 = api_base.rsplit(':').next().unwrap().parse().unwrap();
	let path = format!("/v1/billing?payer={bob}&model=0");
	let burst: Vec<_> = (0..300)
		.map(|_| {
			let path = path.clone();
			std::thread::spawn(move || request(api_port, "GET", &path, b""))
		})
		.collect();
	let statuses: Vec<u16> = burst.into_iter().map(|t| t.join().unwrap().0).collect();
	let limited = statuses.iter().filter(|&&s| s == 429).count();
	assert!(limited > 0 && statuses.iter().all(|&s| s == 200 || s == 429), "{statuses:?}");
	std::thread::sleep(Duration::from_millis(1100));
	let (status, body) = request(api_port, "GET", &path, b"");
	assert_eq!(status, 200, "{body}");
	assert!(body.contains("\"line\""), "{body}");
	api.kill();
	// The job Alice stopped in the browser: its worker stopped training it and is free again.
	worker.proc.wait_log("stopped the job", Duration::from_secs(60)).unwrap();
	worker.proc.wait_log("training stopped: the lease is gone", Duration::from_secs(60)).unwrap();

	// What the browser did, seen from the CLI: Bob's queue is empty, the commitment counts the
	// acceptance; then the CLI funds the pot and publishes a version the CLI lists.
	assert_eq!(run(&["--json", "curator", "queue", &bob]), serde_json::json!([]));
	assert_eq!(run(&["--json", "datanet", "commitment", &bob_only])["count"], 1);
	let d: u32 = bob_only.parse().unwrap();
	let pot = tributary_client::curation_pot::curation_pot(d).to_string();
	let pot_before = free(&pot);
	ok(&url, &ks, &["datanet", "fund", &bob_only, "1", "--key", "//Alice"]);
	assert_eq!(free(&pot) - pot_before, 1_000_000_000_000);
	ok(&url, &ks, &["datanet", "publish", &bob_only, "--key", "//Alice"]);
	let versions = run(&["--json", "datanet", "versions", &bob_only]);
	assert_eq!(
		(versions[0]["version"].clone(), versions[0]["count"].clone()),
		(1.into(), 1.into())
	);
	let none = cli(&url, &ks, &["datanet", "commitment", "999"]).unwrap();
	assert!(!none.ok && none.stderr.contains("no datanet 999"), "{}", none.stderr);

	// The workers' checks, run by the Studio for a curator: a text that is not UTF-8 fails as
	// Malformed (the reason the workers would vote); a contribution not on chain is a 404.
	let bad = home.path().join("bad.txt");
	std::fs::write(
		&bad,
		b"A note that starts well and then \xff\xfe breaks its encoding.
",
	)
	.unwrap();
	let out = super::data_plane::contribute(&url, &ks, &bad, &bob_only, Some(&worker.tcp_addr()));
	let bad_id = out["contribution"].as_u64().expect("a contribution id");
	let (status, body) = request(port, "GET", &format!("/check/{bad_id}"), b"");
	assert_eq!(status, 200, "{body}");
	let v: serde_json::Value = serde_json::from_str(&body).unwrap();
	assert_eq!((&v["passes"], &v["code"]), (&false.into(), &"Malformed".into()), "{body}");
	assert!(v["reason"].as_str().unwrap().contains("not valid UTF-8"), "{body}");
	let (status, _) = request(port, "GET", &format!("/check/{pending}"), b"");
	assert_eq!(status, 200, "the accepted note still checks");
	let (status, body) = request(port, "GET", "/check/424242", b"");
	assert_eq!(status, 404, "{body}");
}

fn ok(url: &str, ks: &std::path::Path, args: &[&str]) {
	let out = cli(url, ks, args).unwrap();
	assert!(out.ok, "tributary {args:?} failed:\n{}", out.stderr);
}

/// A raw HTTP POST to the Studio on 127.0.0.1:`port`; the status and body.
fn post(port: u16, path: &str, body: &[u8]) -> (u16, String) {
	request(port, "POST", path, body)
}

/// A raw HTTP request to the Studio on 127.0.0.1:`port`; the status and body.
fn request(port: u16, method: &str, path: &str, body: &[u8]) -> (u16, String) {
	use std::io::{Read, Write};
	let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
	s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
	let head = format!(
		"{method} {path} HTTP/1.1\r\nhost: studio\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
		body.len()
	);
	s.write_all(head.as_bytes()).unwrap();
	// The server may answer (413) before reading everything.
	let _ = s.write_all(body);
	let mut out = Vec::new();
	let _ = s.read_to_end(&mut out);
	let text = String::from_utf8_lossy(&out).to_string();
	let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
	(status, text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

fn hex_blake3(b: &[u8]) -> String {
	blake3::hash(b).to_hex().to_string()
}
