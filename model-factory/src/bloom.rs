//! BLOOM (`BloomForCausalLM`), written here: candle-transformers has no BLOOM.
//!
//! No position embeddings: ALiBi adds `slope_h * j` to the score of key position `j` in head `h`
//! (softmax ignores the per-row constant, so this equals the paper's `-slope * (i - j)`). A LayerNorm
//! follows the word embeddings; the fused `query_key_value` projection is laid out per head as
//! (q, k, v), not as three blocks; the MLP is 4x wide with BLOOM's tanh GELU; the LM head is tied to
//! the word embeddings.

use crate::fused::fast_layer_norm as layer_norm;
use crate::lora::Linear;
use crate::model::{CausalLm, Family, Head};
use crate::pass::Pass;
use crate::weights::{LoadError, Weights};
use candle_core::{DType, Result, Tensor};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BloomConfig {
	pub vocab_size: usize,
	#[serde(alias = "n_embed")]
	pub hidden_size: usize,
	#[serde(alias = "num_hidden_layers")]
	pub n_layer: usize,
	#[serde(alias = "num_attention_heads")]
	pub n_head: usize,
	#[serde(default = "default_eps")]
	pub layer_norm_epsilon: f64,
	/// The residual taken after the norm instead of before it (false in every released BLOOM).
	#[serde(default)]
	pub apply_residual_connection_post_layernorm: bool,
}

fn default_eps() -> f64 {
	1e-5
}

/// ALiBi slopes for `n` heads: a geometric sequence for the largest power of two below `n`, then
/// every other term of the sequence for twice that many heads.
pub fn alibi_slopes(n: usize) -> Vec<f64> {
	let p = 1usize << (usize::BITS - 1 - n.leading_zeros());
	let base = |m: usize| 2f64.powf(-(2f64.powf(-((m as f64).log2() - 3.0))));
	let b = base(p);
	let mut s: Vec<f64> = (1..=p).map(|i| b.powi(i as i32)).collect();
	if p != n {
		let e = base(2 * p);
		s.extend((0..(n - p).min(p)).map(|i| e.powi(2 * i as i32 + 1)));
	}
	s
}

/// BLOOM's GELU (tanh approximation with its own constant).
fn gelu(x: &Tensor) -> Result<Tensor> {
	let inner = ((x.sqr()? * 0.044715)? + 1.0)?.mul(x)? * 0.79788456;
	(x * 0.5)? * (inner?.tanh()? + 1.0)?
}

struct Block {
	ln1: (Tensor, Tensor),
	qkv: Linear,
	dense: Linear,
	ln2: (Tensor, Tensor),
	up: Linear,
	down: Linear,
}

pub struct Bloom {
	pub cfg: BloomConfig,
	embed: Tensor,
	embed_ln: (Tensor, Tensor),
	blocks: Vec<Block>,
	ln_f: (Tensor, Tensor),
	slopes: Vec<f64>,
}

impl Bloom {
	/// Everything up to the LM head: the final hidden states (batch, seq, hidden) after the last norm.
	fn trunk(&self, ids: &Tensor, pass: &mut Pass) -> Result<Tensor> {
		let (b, t) = ids.dims2()?;
		pass.check_rows(b)?;
		let (h, nh) = (self.cfg.hidden_size, self.cfg.n_head);
		let hd = h / nh;
		let eps = self.cfg.layer_norm_epsilon;
		let x = self.embed.embedding(&ids.flatten_all()?)?.reshape((b, t, h))?;
		let mut x = layer_norm(&x, &self.embed_ln.0, &self.embed_ln.1, eps)?;
		let post = self.cfg.apply_residual_connection_post_layernorm;
		let keep = |_: usize, q: Tensor, k: Tensor| Ok((q, k));
		let slopes = &self.slopes;
		for (i, blk) in self.blocks.iter().enumerate() {
			let n1 = layer_norm(&x, &blk.ln1.0, &blk.ln1.1, eps)?;
			let residual = if post { n1.clone() } else { x.clone() };
			let qkv = pass.linear(&blk.qkv, &n1)?.reshape((b, t, nh, 3, hd))?;
			let part = |j: usize| qkv.narrow(3, j, 1)?.squeeze(3)?.transpose(1, 2)?.contiguous();
			let (q, k, v) = (part(0)?, part(1)?, part(2)?);
			let att = pass.attend(i, q, k, v, keep, |q, k, v, o| {
				crate::fused::alibi_attention(q, k, v, o, slopes)
			})?;
			x = (residual + pass.linear(&blk.dense, &att)?)?;
			let n2 = layer_norm(&x, &blk.ln2.0, &blk.ln2.1, eps)?;
			let residual = if post { n2.clone() } else { x.clone() };
			let m = pass.linear(&blk.down, &gelu(&pass.linear(&blk.up, &n2)?)?)?;
			x = (residual + m)?;
		}
		pass.advance(t);
		layer_norm(&x, &self.ln_f.0, &self.ln_f.1, eps)
	}

	/// Builds the model from Hugging Face names, with or without the `transformer.` prefix.
	pub fn from_tensors(
		cfg: BloomConfig,
		w: HashMap<String, Tensor>,
		dtype: DType,
	) -> std::result::Result<Self, LoadError> {
		let w: HashMap<String, Tensor> = w
			.into_iter()
			.map(|(k, v)| (k.strip_prefix("transformer.").map(str::to_string).unwrap_or(k), v))
			.collect();
		let mut w = Weights::new(w, dtype);
		let (h, v) = (cfg.hidden_size, cfg.vocab_size);
		let embed = w.take("word_embeddings.weight", &[v, h])?;
		let embed_ln = (
			w.take("word_embeddings_layernorm.weight", &[h])?,
			w.take("word_embeddings_layernorm.bias", &[h])?,
		);
		let mut blocks = Vec::with_capacity(cfg.n_layer);
		for i in 0..cfg.n_layer {
			let p = format!("h.{i}");
			let mut ln = |n: &str| {
				Ok::<_, LoadError>((
					w.take(&format!("{p}.{n}.weight"), &[h])?,
					w.take(&format!("{p}.{n}.bias"), &[h])?,
				))
			};
			let (ln1, ln2) = (ln("input_layernorm")?, ln("post_attention_layernorm")?);
			let mut lin =
				|n: &str, out: usize, inp: usize| w.linear(&format!("{p}.{n}"), out, inp, true);
			blocks.push(Block {
				ln1,
				qkv: lin("self_attention.query_key_value", 3 * h, h)?,
				dense: lin("self_attention.dense", h, h)?,
				ln2,
				up: lin("mlp.dense_h_to_4h", 4 * h, h)?,
				down: lin("mlp.dense_4h_to_h", h, 4 * h)?,
			});
		}
		let ln_f = (w.take("ln_f.weight", &[h])?, w.take("ln_f.bias", &[h])?);
		let slopes = alibi_slopes(cfg.n_head);
		Ok(Self { cfg, embed, embed_ln, blocks, ln_f, slopes })
	}
}

impl CausalLm for Bloom {
	fn family(&self) -> Family {
		Family::Bloom
	}
	fn embeddings(&self) -> &Tensor {
		&self.embed
	}
	fn num_layers(&self) -> usize {
		self.blocks.len()
	}
	fn run(&self, ids: &Tensor, pass: &mut Pass) -> Result<Tensor> {
		let h = self.trunk(ids, pass)?;
		crate::ops::frozen_linear(&pass.head_input(h)?, &self.embed)
	}
	fn hidden_and_head(&self, ids: &Tensor, train: bool) -> Result<Option<(Tensor, Head<'_>)>> {
		Ok(Some((self.trunk(ids, &mut Pass::plain(train))?, Head::Tied(&self.embed))))
	}
	/// Module paths as PEFT names them (`transformer.h.N...`).
	fn linears_mut(&mut self) -> Vec<(String, &mut Linear)> {
		let mut out = Vec::new();
		for (i, b) in self.blocks.iter_mut().enumerate() {
			let p = format!("transformer.h.{i}");
			out.push((format!("{p}.self_attention.query_key_value"), &mut b.qkv));
			out.push((format!("{p}.self_attention.dense"), &mut b.dense));
			out.push((format!("{p}.mlp.dense_h_to_4h"), &mut b.up));
			out.push((format!("{p}.mlp.dense_4h_to_h"), &mut b.down));
		}
		out
	}
}

/// Random weights of a config under Hugging Face names, for tests.
pub fn random_weights(
	cfg: &BloomConfig,
	seed: u64,
	dtype: DType,
) -> Result<HashMap<String, Tensor>> {
	let mut rng = crate::lora::rng(seed);
	let (h, v) = (cfg.hidden_size, cfg.vocab_size);
	let mut w = HashMap::new();
	let mut put = |name: String, shape: &[usize], std: f64, mean: f64| -> Result<()> {
		w.insert(name, (crate::lora::randn(shape, std, &mut rng, dtype)? + mean)?);
		Ok(())
	};
	put("transformer.word_embeddings.weight".into(), &[v, h], 0.5, 0.0)?;
	for n in ["word_embeddings_layernorm", "ln_f"] {
		put(format!("transformer.{n}.weight"), &[h], 0.1, 1.0)?;
		put(format!("transformer.{n}.bias"), &[h], 0.1, 0.0)?;
	}
	for i in 0..cfg.n_layer {
		let p = format!("transformer.h.{i}");
		for n in ["input_layernorm", "post_attention_layernorm"] {
			put(format!("{p}.{n}.weight"), &[h], 0.1, 1.0)?;
			put(format!("{p}.{n}.bias"), &[h], 0.1, 0.0)?;
		}
		for (n, out, inp) in [
			("self_attention.query_key_value", 3 * h, h),
			("self_attention.dense", h, h),
			("mlp.dense_h_to_4h", 4 * h, h),
			("mlp.dense_4h_to_h", h, 4 * h),
		] {
			put(format!("{p}.{n}.weight"), &[out, inp], 0.3, 0.0)?;
			put(format!("{p}.{n}.bias"), &[out], 0.1, 0.0)?;
		}
	}
	Ok(w)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::testutil;

	fn tiny(heads: usize, post: bool) -> BloomConfig {
		serde_json::from_value(serde_json::json!({
			"vocab_size": 13, "hidden_size": 12, "n_layer": 2, "n_head": heads,
			"apply_residual_connection_post_layernorm": post,
		}))
		.unwrap()
	}

	#[test]
	fn alibi_slopes_follow_the_paper() {
		// 8 heads: 1/2, 1/4, ..., 1/256. 6 heads: the 4-head sequence (1/4, 1/16, ...), then every
		// other term of the 8-head one (1/2, 1/8).
		let s8 = alibi_slopes(8);
		assert_eq!(s8, (1..=8).map(|i| 0.5f64.powi(i)).collect::<Vec<_>>());
		let s6 = alibi_slopes(6);
		let want = [0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125];
		for (a, b) in s6.iter().zip(want) {
			assert!((a - b).abs() < 1e-15, "{s6:?}");
		}
	}

	#[test]
	fn bloom_lora_gradients_match_finite_differences() {
		for (heads, post) in [(3, false), (4, true)] {
			let cfg = tiny(heads, post);
			let w = random_weights(&cfg, 2, DType::F64).unwrap();
			let mut m = Bloom::from_tensors(cfg, w, DType::F64).unwrap();
			let t =
				testutil::lora(2, &["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"]);
			testutil::lora_gradient_check(&mut m, &t, 7);
		}
	}

	#[test]
	fn cached_generation_matches_recomputation() {
		let cfg = tiny(3, false);
		let m = Bloom::from_tensors(
			cfg.clone(),
			random_weights(&cfg, 5, DType::F32).unwrap(),
			DType::F32,
		)
		.unwrap();
		let s = crate::generate::Sampling { max_new_tokens: 6, ..Default::default() };
		let got = crate::generate::generate(&m, &[2, 7, 1], &s, |_| true).unwrap();
		assert_eq!(got, testutil::greedy_uncached(&m, &[2, 7, 1], 6));
	}
}
