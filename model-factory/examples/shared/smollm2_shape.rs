//! The benchmarks' model: SmolLM2-135M's shape (llama architecture) with random weights rescaled
//! to transformers' initialisation (N(0, 0.02) matrices, unit norms), as the PyTorch side of
//! scripts/bench-train builds it. Included by the examples with `#[path]`.

use candle_core::{DType, Tensor};
use model_factory::llama::{random_weights, LlamaConfig};
use std::collections::HashMap;

pub fn smollm2_shape() -> anyhow::Result<(LlamaConfig, HashMap<String, Tensor>)> {
	let cfg: LlamaConfig = serde_json::from_value(serde_json::json!({
		"model_type": "llama", "vocab_size": 49152, "hidden_size": 576, "intermediate_size": 1536,
		"num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
		"rms_norm_eps": 1e-5, "rope_theta": 100000.0, "tie_word_embeddings": true,
	}))?;
	let w = random_weights(&cfg, 1, DType::F32)?
		.into_iter()
		.map(|(k, t)| {
			let std = if k.contains("embed") { 0.5 } else { 0.3 };
			let t = if t.rank() == 2 { (t * (0.02 / std))? } else { t };
			Ok((k, t))
		})
		.collect::<candle_core::Result<_>>()?;
	Ok((cfg, w))
}
