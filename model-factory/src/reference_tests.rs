//! The engine against Hugging Face transformers + PEFT: fixtures made by
//! `testdata/make_reference.py` (tiny random models of every family, a PEFT adapter, and float64
//! logits, LoRA gradients and a greedy continuation). Nobody here wrote the reference.
//!
//! Tolerances: the reference model runs in float64, but transformers still computes the rotary
//! tables, RMSNorm and attention softmax in float32, so its "float64" numbers carry float32
//! roundings (relative ~1e-7). A wrong op, layout or constant shows up at 1e-2 or more.

use crate::adapter;
use crate::generate::{generate, Sampling};
use crate::model::{load, CausalLm, Family};
use crate::ops::masked_loss;
use crate::testutil::max_diff;
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
	crate::testutil::testdata().join("reference").join(name)
}

fn expected(name: &str) -> HashMap<String, Tensor> {
	candle_core::safetensors::load(fixture(name).join("expected.safetensors"), &Device::Cpu)
		.unwrap()
}

/// The base model with the fixture's PEFT adapter loaded, in `dtype`.
fn adapted(name: &str, dtype: DType) -> Box<dyn CausalLm> {
	let dir = fixture(name);
	let mut m = load(&dir, dtype, &Device::Cpu).unwrap();
	let cfg = adapter::load_config(&dir.join("adapter")).unwrap();
	m.attach_lora(&cfg, 0).unwrap();
	adapter::load_into(&dir.join("adapter"), &cfg, &m.lora_vars()).unwrap();
	m
}

fn ids(e: &HashMap<String, Tensor>, key: &str) -> Tensor {
	e[key].to_dtype(DType::U32).unwrap()
}

/// Targets are the ids shifted left; the last column's target is unused (its mask is 0).
fn targets(ids: &Tensor) -> Tensor {
	let t = ids.dim(1).unwrap();
	Tensor::cat(&[&ids.narrow(1, 1, t - 1).unwrap(), &ids.narrow(1, 0, 1).unwrap()], 1).unwrap()
}

fn check_family(name: &str, family: Family) {
	let e = expected(name);
	let input = ids(&e, "input_ids");

	// Base logits, in f64 and in f32 (both from the same f32 weights).
	let base = load(&fixture(name), DType::F64, &Device::Cpu).unwrap();
	assert_eq!(base.family(), family);
	let d = max_diff(&base.forward(&input, false).unwrap(), &e["logits"]);
	assert!(d < 5e-6, "{name}: base logits differ from transformers by {d}");
	let base32 = load(&fixture(name), DType::F32, &Device::Cpu).unwrap();
	let d = max_diff(&base32.forward(&input, false).unwrap(), &e["logits"]);
	assert!(d < 2e-4, "{name}: f32 base logits differ from transformers by {d}");

	// With PEFT's adapter: logits, loss and every LoRA gradient.
	let mut m = adapted(name, DType::F64);
	let logits = m.forward(&input, false).unwrap();
	let d = max_diff(&logits, &e["logits_lora"]);
	assert!(d < 5e-6, "{name}: adapted logits differ from PEFT by {d}");
	let loss = masked_loss(&logits, &targets(&input), &e["loss_mask"]).unwrap();
	let d = max_diff(&loss.reshape(1).unwrap(), &e["loss_lora"]);
	assert!(d < 1e-6, "{name}: loss differs by {d}");
	let grads = loss.backward().unwrap();
	let vars = m.lora_vars();
	let want: Vec<&String> = e.keys().filter(|k| k.starts_with("grad.")).collect();
	assert_eq!(vars.len(), want.len(), "{name}: same number of LoRA tensors as PEFT");
	for (n, v) in &vars {
		let g = grads.get(v.as_tensor()).unwrap_or_else(|| panic!("{name}: no gradient for {n}"));
		let w = e.get(&format!("grad.{n}")).unwrap_or_else(|| panic!("{name}: PEFT has no {n}"));
		let scale = w.abs().unwrap().max_all().unwrap().to_dtype(DType::F64).unwrap();
		let d = max_diff(g, w) / scale.to_scalar::<f64>().unwrap().max(1e-12);
		assert!(d < 1e-5, "{name}: gradient of {n} differs from PyTorch by {d} (relative)");
	}

	// Greedy generation with the adapter, through the KV cache.
	let prompt: Vec<u32> = ids(&e, "prompt").to_vec1().unwrap();
	let want: Vec<u32> = ids(&e, "greedy_lora").to_vec1().unwrap();
	let s = Sampling { max_new_tokens: want.len(), ..Default::default() };
	assert_eq!(generate(m.as_ref(), &prompt, &s, |_| true).unwrap(), want, "{name}: greedy");
}

#[test]
fn llama_with_llama3_rope_scaling_matches_transformers_and_peft() {
	check_family("llama", Family::Llama);
}

#[test]
fn mistral_with_a_sliding_window_matches_transformers_and_peft() {
	check_family("mistral", Family::Mistral);
}

#[test]
fn qwen2_and_qwen3_match_transformers_and_peft() {
	check_family("qwen2", Family::Qwen2);
	check_family("qwen3", Family::Qwen3);
}

#[test]
fn qwen_mixtures_of_experts_match_transformers_and_peft() {
	check_family("qwen2_moe", Family::Qwen2Moe);
	check_family("qwen3_moe", Family::Qwen3Moe);
}

#[test]
fn deepseek_v2_and_v3_match_transformers_and_peft() {
	check_family("deepseek_v2", Family::DeepseekV2);
	check_family("deepseek_v3", Family::DeepseekV3);
}

/// THUDM's layout (ChatGLM2/3, remote-code glm-4-9b): the `glm` fixture's weights renamed and
/// q/k/v fused by make_reference.py's documented mapping give transformers' GLM logits and greedy
/// tokens; LoRA then targets THUDM's module names (gradients: `glm::tests`).
#[test]
fn chatglm_layout_matches_transformers_glm() {
	let e = expected("chatglm");
	let input = ids(&e, "input_ids");
	let m = load(&fixture("chatglm"), DType::F64, &Device::Cpu).unwrap();
	assert_eq!(m.family(), Family::ChatGlm);
	let d = max_diff(&m.forward(&input, false).unwrap(), &e["logits"]);
	assert!(d < 5e-6, "chatglm: logits differ from transformers' GLM by {d}");
	let prompt: Vec<u32> = ids(&e, "prompt").to_vec1().unwrap();
	let want: Vec<u32> = ids(&e, "greedy").to_vec1().unwrap();
	let s = Sampling { max_new_tokens: want.len(), ..Default::default() };
	assert_eq!(generate(m.as_ref(), &prompt, &s, |_| true).unwrap(), want, "chatglm: greedy");
	let mut m = m;
	let names: Vec<String> = m.linears_mut().into_iter().map(|(n, _)| n).collect();
	assert!(names.contains(&"transformer.encoder.layers.1.self_attention.query_key_value".into()));
	assert_eq!(names.last().map(String::as_str), Some("transformer.output_layer"));
	// ChatGLM-6B (the first generation) is another architecture: refused by name.
	let dir = tempfile::tempdir().unwrap();
	std::fs::write(
		dir.path().join("config.json"),
		r#"{"model_type": "chatglm", "hidden_size": 4096, "inner_hidden_size": 16384, "num_layers": 28}"#,
	)
	.unwrap();
	let one =
		HashMap::from([("x".to_string(), Tensor::zeros(1, DType::F32, &Device::Cpu).unwrap())]);
	candle_core::safetensors::save(&one, dir.path().join("model.safetensors")).unwrap();
	let e = load(dir.path(), DType::F32, &Device::Cpu).err().unwrap().to_string();
	assert!(e.contains("ChatGLM-6B (first generation)"), "{e}");
}

#[test]
fn yarn_rope_scaling_matches_transformers() {
	check_family("qwen2_yarn", Family::Qwen2);
}

/// Dynamic NTK: the batch's rows and the generation run past a context of 4, so the frequencies
/// change with every length (the fixture's generation starts from a fresh rotary state).
#[test]
fn dynamic_ntk_rope_scaling_matches_transformers() {
	check_family("llama_dynamic", Family::Llama);
}

#[test]
fn linear_rope_scaling_matches_transformers() {
	check_family("llama_linear", Family::Llama);
}

#[test]
fn gpt2_matches_transformers_and_peft() {
	check_family("gpt2", Family::Gpt2);
}

#[test]
fn bloom_matches_transformers_and_peft() {
	check_family("bloom", Family::Bloom);
}

#[test]
fn glm_and_glm4_match_transformers_and_peft() {
	check_family("glm", Family::Glm);
	check_family("glm4", Family::Glm4);
}

/// An adapter the engine saves has PEFT's file layout: the same tensor names and shapes as PEFT's
/// own file, and a config PEFT reads the same way. (`scripts/peft-reference` also has PEFT itself
/// load an engine-written adapter and reproduce the engine's logits.)
#[test]
fn saved_adapters_have_pefts_layout() {
	for name in ["llama", "gpt2", "bloom", "glm"] {
		let dir = fixture(name);
		let mut m = adapted(name, DType::F32);
		let cfg = adapter::load_config(&dir.join("adapter")).unwrap();
		let out = tempfile::tempdir().unwrap();
		adapter::save(out.path(), &cfg, name, m.family(), &m.lora_vars()).unwrap();
		let theirs = candle_core::safetensors::load(
			dir.join("adapter/adapter_model.safetensors"),
			&Device::Cpu,
		)
		.unwrap();
		let ours = candle_core::safetensors::load(
			out.path().join("adapter_model.safetensors"),
			&Device::Cpu,
		)
		.unwrap();
		let shapes = |m: &HashMap<String, Tensor>| {
			let mut v: Vec<(String, Vec<usize>)> =
				m.iter().map(|(k, t)| (k.clone(), t.dims().to_vec())).collect();
			v.sort();
			v
		};
		assert_eq!(shapes(&ours), shapes(&theirs), "{name}");
		for (k, t) in &theirs {
			assert_eq!(max_diff(t, &ours[k]), 0.0, "{name}: {k} round-trips exactly");
		}
		let read = |p: &Path| -> serde_json::Value {
			serde_json::from_slice(&std::fs::read(p.join("adapter_config.json")).unwrap()).unwrap()
		};
		let (a, b) = (read(&dir.join("adapter")), read(out.path()));
		for k in [
			"peft_type",
			"task_type",
			"r",
			"lora_alpha",
			"lora_dropout",
			"use_rslora",
			"fan_in_fan_out",
			"bias",
		] {
			assert_eq!(a[k], b[k], "{name}: {k}");
		}
		assert_eq!(adapter::load_config(out.path()).unwrap(), cfg);
	}
}

/// PEFT options that change the computation are refused by name, not silently ignored.
#[test]
fn adapters_using_unimplemented_peft_features_are_refused() {
	let dir = tempfile::tempdir().unwrap();
	let src = fixture("llama").join("adapter/adapter_config.json");
	let base: serde_json::Value = serde_json::from_slice(&std::fs::read(src).unwrap()).unwrap();
	for (k, v, want) in [
		("use_dora", serde_json::json!(true), "use_dora = true"),
		("rank_pattern", serde_json::json!({"q_proj": 8}), "rank_pattern"),
		("bias", serde_json::json!("all"), "bias = \"all\""),
		("target_modules", serde_json::json!(".*proj"), "regular expression"),
		("peft_type", serde_json::json!("IA3"), "peft_type \"IA3\""),
	] {
		let mut c = base.clone();
		c[k] = v;
		std::fs::write(dir.path().join("adapter_config.json"), serde_json::to_vec(&c).unwrap())
			.unwrap();
		let e = adapter::load_config(dir.path()).unwrap_err().to_string();
		assert!(e.contains(want), "{k}: {e}");
	}
}

/// When `TRIBUTARY_PEFT_ROUNDTRIP` names a directory, writes an engine-made adapter there (trained a
/// few steps so it is not PEFT's) with the logits the engine computes, for
/// `make_reference.py verify` to load with PEFT. Without the variable it only checks that the
/// adapter changes the logits.
#[test]
fn engine_adapter_for_peft_to_load() {
	use crate::train::{train, Example, TrainConfig};
	// scripts/peft-reference names the fixture (default: qwen3).
	let name = std::env::var("TRIBUTARY_PEFT_FIXTURE").unwrap_or_else(|_| "qwen3".into());
	let name = name.as_str();
	let e = expected(name);
	let mut m = load(&fixture(name), DType::F64, &Device::Cpu).unwrap();
	let targets = m.family().all_linear();
	let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
	let cfg = crate::testutil::lora(4, &targets);
	m.attach_lora(&cfg, 7).unwrap();
	let data: Vec<Example> = (0..8u32)
		.map(|s| Example {
			ids: (0..10).map(|i| (s * 5 + i * 3) % 64).collect(),
			train_on: vec![true; 10],
		})
		.collect();
	let tc = TrainConfig { steps: 3, learning_rate: 1e-2, warmup_steps: 1, ..Default::default() };
	train(m.as_mut(), &data, &[], &tc, |_| {}).unwrap();
	let input = ids(&e, "input_ids");
	let logits = m.forward(&input, false).unwrap();
	assert!(max_diff(&logits, &e["logits"]) > 1e-3, "the trained adapter changes the output");
	if let Ok(out) = std::env::var("TRIBUTARY_PEFT_ROUNDTRIP") {
		let out = Path::new(&out);
		adapter::save(&out.join("adapter"), &cfg, name, m.family(), &m.lora_vars()).unwrap();
		std::fs::write(out.join("fixture"), name).unwrap();
		let t = HashMap::from([
			("logits".to_string(), logits),
			("input_ids".to_string(), e["input_ids"].clone()),
		]);
		candle_core::safetensors::save(&t, out.join("logits.safetensors")).unwrap();
	}
}
