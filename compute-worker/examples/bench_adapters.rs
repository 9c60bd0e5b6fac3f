//! Adapters on one base (issue 19's benchmark (b) and (c)), on SmolLM2-135M-Instruct
//! (`TRIBUTARY_SMOLLM2`, scripts/fetch-smollm2.sh): `N` LoRA adapters (r 8 on q, k, v, o, random
//! weights, PEFT folders on local disk) served by the engine, one request each of one token.
//! - (c) cold load: request to first token for an adapter not in memory (read from its folder,
//!   applied), against the same adapter again (in memory, applied: the warm path) and against the
//!   bare base, all in this run. Goal: cold under 200 ms.
//! - (b) adapters resident: the memory each cached adapter takes (process RSS before and after
//!   caching all N), and how many fit in 1 GiB at that rate. Goal: at least 1,000 on one base.
//!
//!   bench_adapters [N (default 100)]
//!
//! Prints one JSON line.

use model_factory::chat::Message;
use model_factory::lora::LoraConfig;
use std::path::PathBuf;
use std::time::Instant;
use tributary_worker::serve::engine::{Adapter, Engine, EngineLimits, Piece, Prompt, Request};

fn rss_bytes() -> u64 {
	let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
	status
		.lines()
		.find(|l| l.starts_with("VmRSS:"))
		.and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
		.unwrap_or(0)
		* 1024
}

fn open(path: &std::path::Path) -> model_factory::pretrained::Pretrained {
	model_factory::pretrained::open(path, candle_core::DType::F32, &candle_core::Device::Cpu)
		.expect("open SmolLM2")
}

/// Seconds from submitting a one-token request to its first piece of text (or its end).
fn first_token(engine: &Engine, adapter: Option<Adapter>) -> f64 {
	let req = Request {
		model: adapter.as_ref().map_or("base".into(), |a| a.id.clone()),
		adapter,
		prompt: Prompt::Chat { messages: vec![Message::new("user", "Name a river.")], tools: None },
		max_tokens: 1,
		temperature: 0.0,
		top_p: 1.0,
		seed: 0,
		stop: vec![],
		logit_bias: vec![],
	};
	let started = Instant::now();
	let mut rx = engine.submit(req).expect("queued");
	let mut at = None;
	while let Some(p) = rx.blocking_recv() {
		match p {
			Piece::Text(_) | Piece::Done { .. } if at.is_none() => {
				at = Some(started.elapsed().as_secs_f64())
			}
			Piece::Failed(e) => panic!("{e}"),
			_ => {}
		}
	}
	at.expect("an answer")
}

fn median(mut v: Vec<f64>) -> f64 {
	v.sort_by(f64::total_cmp);
	v[v.len() / 2]
}

fn main() {
	model_factory::tune_process_for_training();
	let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100);
	let model = PathBuf::from(std::env::var("TRIBUTARY_SMOLLM2").expect("TRIBUTARY_SMOLLM2"));
	let dir = tempfile::tempdir().expect("tempdir");
	// Adapters: random B so each changes the model; saved as PEFT folders.
	let cfg = LoraConfig {
		r: 8,
		lora_alpha: 16.0,
		lora_dropout: 0.0,
		use_rslora: false,
		target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"].map(String::from).to_vec(),
	};
	let mut p = open(&model);
	let family = p.model.family();
	let mut adapters = Vec::with_capacity(n);
	let mut adapter_bytes = 0;
	for i in 0..n {
		p.model.attach_lora(&cfg, i as u64).expect("attach");
		let vars = p.model.lora_vars();
		let mut rng = model_factory::lora::rng(i as u64);
		for (name, v) in &vars {
			if name.ends_with("lora_B.weight") {
				v.set(&model_factory::lora::randn(v.dims(), 0.01, &mut rng, v.dtype()).unwrap())
					.unwrap();
			}
		}
		let out = dir.path().join(format!("a{i}"));
		model_factory::adapter::save(&out, &cfg, "smollm2", family, &vars).expect("save");
		adapter_bytes = std::fs::metadata(out.join("adapter_model.safetensors")).unwrap().len();
		adapters.push(Adapter { id: format!("a{i}"), dir: out });
	}
	drop(p);
	let engine = Engine::start(
		open(&model),
		EngineLimits {
			queue: 4,
			cached_adapters: n + 1,
			max_batch: 1,
			bf16_adapters: false,
			prefill_chunk: 4096,
		},
	);
	// Warm up the process (allocator, thread pool, first forward).
	first_token(&engine, None);
	first_token(&engine, None);
	let rss_before = rss_bytes();
	let mut cold = Vec::with_capacity(n);
	let mut warm = Vec::new();
	let mut base = Vec::new();
	for (i, a) in adapters.iter().enumerate() {
		// First use: read from disk, cached, applied.
		cold.push(first_token(&engine, Some(a.clone())));
		if i % 10 == 0 {
			// Cached: switching to it again (from the base) copies it onto the base.
			base.push(first_token(&engine, None));
			warm.push(first_token(&engine, Some(a.clone())));
		}
	}
	let rss_after = rss_bytes();
	let per_adapter = (rss_after.saturating_sub(rss_before)) as f64 / n as f64;
	let (cold, warm, base) = (median(cold), median(warm), median(base));
	println!(
		"{}",
		serde_json::json!({
			"model": "SmolLM2-135M-Instruct (GGUF Q4_1, computed in f32)",
			"adapters": n,
			"adapter": "LoRA r 8 on q, k, v, o",
			"adapter_file_bytes": adapter_bytes,
			"first_token_ms_cold_median": cold * 1e3,
			"first_token_ms_warm_median": warm * 1e3,
			"first_token_ms_base_median": base * 1e3,
			"cold_over_warm": cold / warm,
			"cold_load_goal_ms": 200.0,
			"rss_bytes_per_cached_adapter": per_adapter,
			"adapters_per_gib_at_that_rate": (1u64 << 30) as f64 / per_adapter.max(1.0),
			"resident_goal": 1000,
		})
	);
}
