//! The engine against the model run directly: each request gets exactly the answer of its own
//! adapter (or of the bare base), whatever ran before it.

use super::engine::{Adapter, Engine, EngineLimits, Finish, Piece, Prompt, Request};
use super::models::{Models, ResolveError};
use model_factory::chat::Message;
use model_factory::generate::{generate, Sampling};
use model_factory::lora::LoraConfig;
use model_factory::pretrained::{open, Pretrained};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const WORDS: [&str; 12] =
	["[UNK]", "<s>", "</s>", "what", "is", "a", "the", "?", "it", "of", "river", "data"];

/// A tiny llama folder: the committed reference fixture (vocab 64) with a word-level tokenizer.
pub(super) fn tiny_base(dir: &Path) {
	// Read at run time (docs/BUILD.md: CI's clone shares the target directory).
	let fixture = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
		.join("../model-factory/testdata/reference/llama");
	std::fs::create_dir_all(dir).unwrap();
	for f in ["config.json", "model.safetensors"] {
		std::fs::copy(fixture.join(f), dir.join(f)).unwrap();
	}
	let mut words: Vec<String> = WORDS.map(String::from).to_vec();
	for i in 0..64 - words.len() {
		words.push(format!("w{i}"));
	}
	let vocab: serde_json::Map<String, serde_json::Value> =
		words.iter().enumerate().map(|(i, w)| (w.clone(), serde_json::json!(i))).collect();
	let tokenizer = serde_json::json!({
		"version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
		"normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
		"post_processor": null, "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": false},
		"model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
	});
	std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
}

pub(super) fn load(base: &Path) -> Pretrained {
	open(base, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap()
}

/// Saves an adapter with random (not zero) B, so it changes the answers.
fn make_adapter(base: &Path, out: &Path, targets: &[&str], r: usize, seed: u64) {
	let mut p = load(base);
	let cfg = LoraConfig {
		r,
		lora_alpha: 2.0 * r as f64,
		lora_dropout: 0.0,
		use_rslora: false,
		target_modules: targets.iter().map(|s| s.to_string()).collect(),
	};
	p.model.attach_lora(&cfg, seed).unwrap();
	let vars = p.model.lora_vars();
	let mut rng = model_factory::lora::rng(seed);
	for (name, v) in &vars {
		if name.ends_with("lora_B.weight") {
			let b = model_factory::lora::randn(v.dims(), 0.5, &mut rng, v.dtype()).unwrap();
			v.set(&b).unwrap();
		}
	}
	let family = p.model.family();
	model_factory::adapter::save(out, &cfg, "tiny", family, &vars).unwrap();
}

fn convo() -> Vec<Message> {
	vec![Message::new("user", "what is a river ?")]
}

/// The greedy answer of `base` with the adapter in `adapter` (or none), run directly.
fn direct(base: &Path, adapter: Option<&Path>, max: usize) -> String {
	let mut p = load(base);
	if let Some(dir) = adapter {
		let cfg = model_factory::adapter::load_config(dir).unwrap();
		p.model.attach_lora(&cfg, 0).unwrap();
		model_factory::adapter::load_into(dir, &cfg, &p.model.lora_vars()).unwrap();
	}
	let text = p.template.render(&convo(), true).unwrap();
	let ids = p.tokenizer.encode(text.as_str(), false).unwrap().get_ids().to_vec();
	let s =
		Sampling { max_new_tokens: max, stop_tokens: p.stop_tokens.clone(), ..Default::default() };
	let mut out = generate(p.model.as_ref(), &ids, &s, |_| true).unwrap();
	out.retain(|t| !s.stop_tokens.contains(t));
	p.tokenizer.decode(&out, true).unwrap()
}

fn request(models: &Models, model: &str, max: usize) -> Request {
	let adapter = tokio::runtime::Builder::new_current_thread()
		.build()
		.unwrap()
		.block_on(models.resolve(model))
		.unwrap()
		.adapter;
	Request {
		model: model.into(),
		adapter,
		prompt: Prompt::Chat { messages: convo(), tools: None },
		max_tokens: max,
		temperature: 0.0,
		top_p: 1.0,
		seed: 0,
		stop: vec![],
		logit_bias: vec![],
	}
}

/// Runs `req` to its end: the text, and the last piece.
fn ask(engine: &Engine, req: Request) -> (String, Piece) {
	let mut rx = engine.submit(req).unwrap();
	let mut text = String::new();
	loop {
		match rx.blocking_recv().expect("the engine answers") {
			Piece::Text(t) => text += &t,
			Piece::Started { .. } => {}
			end => return (text, end),
		}
	}
}

#[test]
fn each_request_is_answered_by_its_own_adapter_whatever_ran_before() {
	let dir = tempfile::tempdir().unwrap();
	let base = dir.path().join("base");
	tiny_base(&base);
	let (a, b) = (dir.path().join("a"), dir.path().join("b"));
	make_adapter(&base, &a, &["q_proj", "v_proj"], 4, 1);
	// Other targets and rank: switching re-attaches, not only copies.
	make_adapter(&base, &b, &["o_proj", "up_proj"], 2, 2);
	// An adapter for another model: its tensors do not fit this base.
	let wrong = dir.path().join("wrong");
	make_adapter(&base, &wrong, &["q_proj"], 4, 3);
	let t = candle_core::Tensor::zeros((3, 5), candle_core::DType::F32, &candle_core::Device::Cpu)
		.unwrap();
	let cfg = model_factory::adapter::load_config(&wrong).unwrap();
	let names: Vec<String> = {
		let mut p = load(&base);
		p.model.attach_lora(&cfg, 0).unwrap();
		p.model.lora_vars().into_iter().map(|(n, _)| n).collect()
	};
	let bad: std::collections::HashMap<String, candle_core::Tensor> =
		names.into_iter().map(|n| (n, t.clone())).collect();
	candle_core::safetensors::save(&bad, wrong.join("adapter_model.safetensors")).unwrap();

	let max = 6;
	let want_a = direct(&base, Some(&a), max);
	let want_b = direct(&base, Some(&b), max);
	let want_base = direct(&base, None, max);
	assert!(want_a != want_base && want_b != want_base, "the adapters change the answer");

	let adapters = BTreeMap::from([
		("a".to_string(), a.clone()),
		("b".to_string(), b.clone()),
		("wrong".to_string(), wrong.clone()),
	]);
	let models = Models { base_id: "tiny".into(), local: adapters, chain: None };
	let engine = Engine::start(
		load(&base),
		EngineLimits {
			queue: 4,
			cached_adapters: 1,
			max_batch: 4,
			bf16_adapters: false,
			prefill_chunk: 256,
		},
	);
	let request = |model: &str, max: usize| request(&models, model, max);
	// The cache holds one adapter: a, b, a reads a again from its folder.
	for (model, want) in
		[("a", &want_a), ("b", &want_b), ("tiny", &want_base), ("a", &want_a), ("a", &want_a)]
	{
		let (text, end) = ask(&engine, request(model, max));
		assert_eq!(&text, want, "{model}");
		assert!(matches!(end, Piece::Done { completion_tokens, .. } if completion_tokens <= max));
	}
	// A misfit adapter is an error, never an answer from the base; the next request is whole.
	let (text, end) = ask(&engine, request("wrong", max));
	assert!(text.is_empty());
	assert!(matches!(&end, Piece::Failed(e) if e.contains("does not fit")), "{end:?}");
	assert_eq!(ask(&engine, request("tiny", max)).0, want_base);
	assert_eq!(ask(&engine, request("b", max)).0, want_b);
	let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
	assert!(matches!(rt.block_on(models.resolve("nope")), Err(ResolveError::NotFound(_))));
	assert!(matches!(rt.block_on(models.resolve("model-0")), Err(ResolveError::NotFound(_))));
	assert_eq!(rt.block_on(models.resolve("tiny")).unwrap().adapter, None);
	let resolved = rt.block_on(models.resolve("a")).unwrap();
	assert_eq!(resolved.adapter, Some(Adapter { id: "a".into(), dir: a.clone() }));
	assert!(resolved.source.is_none(), "a local adapter has no known training text");
	let listed: Vec<(String, Option<String>)> =
		rt.block_on(models.list()).unwrap().into_iter().map(|m| (m.id, m.parent)).collect();
	let tiny = Some("tiny".to_string());
	assert_eq!(
		listed,
		vec![
			("tiny".into(), None),
			("a".into(), tiny.clone()),
			("b".into(), tiny.clone()),
			("wrong".into(), tiny)
		]
	);

	// A stop string cuts the answer before it (here: everything after the first word, which
	// starts with a space and so cannot occur inside that word); max_tokens 1 ends by length.
	let first_word = want_a.split_whitespace().next().unwrap().to_string();
	assert!(want_a.len() > first_word.len(), "{want_a}");
	let stop = want_a[first_word.len()..].to_string();
	let (text, end) = ask(&engine, Request { stop: vec![stop], ..request("a", max) });
	assert_eq!(text, first_word);
	assert!(matches!(end, Piece::Done { finish: Finish::Stop, .. }));
	let (_, end) = ask(&engine, request("a", 1));
	assert!(matches!(end, Piece::Done { finish: Finish::Length, completion_tokens: 1 }));
}

#[test]
fn requests_decoded_together_each_get_their_own_adapters_answer() {
	let dir = tempfile::tempdir().unwrap();
	let base = dir.path().join("base");
	tiny_base(&base);
	let (a, b) = (dir.path().join("a"), dir.path().join("b"));
	make_adapter(&base, &a, &["q_proj", "v_proj"], 4, 1);
	make_adapter(&base, &b, &["o_proj", "up_proj", "lm_head"], 2, 2);
	let max = 12;
	let want = [
		("a", direct(&base, Some(&a), max)),
		("b", direct(&base, Some(&b), max)),
		("tiny", direct(&base, None, max)),
	];
	assert!(want[0].1 != want[1].1 && want[0].1 != want[2].1 && want[1].1 != want[2].1);
	let adapters = BTreeMap::from([("a".to_string(), a.clone()), ("b".to_string(), b.clone())]);
	let models = Models { base_id: "tiny".into(), local: adapters, chain: None };
	let engine = Engine::start(
		load(&base),
		// Prompts run four tokens at a time, between decoding steps of the running sequences.
		EngineLimits {
			queue: 16,
			cached_adapters: 4,
			max_batch: 4,
			bf16_adapters: false,
			prefill_chunk: 4,
		},
	);
	// Nine requests at once: more than a batch holds, so some wait and join as others end; one
	// asks for fewer tokens and leaves the batch early. Each answer is the one its prompt gets
	// run whole and alone.
	let order = ["a", "b", "tiny", "b", "a", "tiny", "a", "b", "a"];
	let mut pending = Vec::new();
	for (i, model) in order.iter().enumerate() {
		let n = if i == 4 { 2 } else { max };
		pending.push((*model, n, engine.submit(request(&models, model, n)).unwrap()));
	}
	for (model, n, mut rx) in pending {
		let mut text = String::new();
		let end = loop {
			match rx.blocking_recv().expect("the engine answers") {
				Piece::Text(t) => text += &t,
				Piece::Started { .. } => {}
				end => break end,
			}
		};
		let full = &want.iter().find(|w| w.0 == model).unwrap().1;
		if n == max {
			assert_eq!(&text, full, "{model}");
		} else {
			assert!(full.starts_with(&text) && text.len() < full.len(), "{model}: {text}");
			assert!(matches!(end, Piece::Done { finish: Finish::Length, completion_tokens: 2 }));
		}
	}
	assert!(engine.peak_batch() >= 2, "requests were decoded together: {}", engine.peak_batch());
	assert!(engine.peak_batch() <= 4, "never more than max_batch");
}

#[test]
fn adapters_kept_in_bf16_answer_as_their_rounded_weights_do() {
	let dir = tempfile::tempdir().unwrap();
	let base = dir.path().join("base");
	tiny_base(&base);
	let (a, rounded) = (dir.path().join("a"), dir.path().join("rounded"));
	make_adapter(&base, &a, &["q_proj", "v_proj", "down_proj"], 4, 1);
	// The same adapter with every value rounded to bf16, saved in f32.
	std::fs::create_dir_all(&rounded).unwrap();
	std::fs::copy(a.join("adapter_config.json"), rounded.join("adapter_config.json")).unwrap();
	let t = candle_core::safetensors::load(
		a.join("adapter_model.safetensors"),
		&candle_core::Device::Cpu,
	)
	.unwrap();
	let t: std::collections::HashMap<_, _> = t
		.into_iter()
		.map(|(n, v)| {
			let v = v.to_dtype(candle_core::DType::BF16).unwrap();
			(n, v.to_dtype(candle_core::DType::F32).unwrap())
		})
		.collect();
	candle_core::safetensors::save(&t, rounded.join("adapter_model.safetensors")).unwrap();
	let max = 6;
	let want = direct(&base, Some(&rounded), max);
	let models = Models {
		base_id: "tiny".into(),
		local: BTreeMap::from([("a".to_string(), a.clone())]),
		chain: None,
	};
	let limits = EngineLimits {
		queue: 4,
		cached_adapters: 4,
		max_batch: 4,
		bf16_adapters: true,
		prefill_chunk: 256,
	};
	let engine = Engine::start(load(&base), limits);
	assert_eq!(ask(&engine, request(&models, "a", max)).0, want);
}
