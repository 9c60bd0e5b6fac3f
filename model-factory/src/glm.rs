//! GLM-4 as transformers implements it: `GlmForCausalLM` (`model_type` "glm", THUDM/glm-4-9b and its
//! chat model in the transformers format) and `Glm4ForCausalLM` ("glm4", GLM-4-0414, which adds a norm
//! after attention and after the MLP).
//!
//! Differences from LLaMA: only part of each head rotates (`partial_rotary_factor`, 0.5), in the
//! interleaved layout (pairs of neighbouring features); biases on q, k, v; the MLP's gate and up
//! projections are one fused `gate_up_proj` (gate first).
//!
//! Not covered: ChatGLM2/3 and the original glm-4-9b "remote code" checkpoints (`ChatGLMModel`, fused
//! `query_key_value`, `transformer.encoder.layers` names). Their weights map onto this model, but the
//! conversion is not written.

use crate::fused::{attention, fast_rms_norm, fast_rope_interleaved, fast_swiglu};
use crate::lora::Linear;
use crate::model::{CausalLm, Family, Head};
use crate::ops::RopeConfig;
use crate::pass::Pass;
use crate::weights::{LoadError, Weights};
use candle_core::{DType, Result, Tensor, D};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GlmConfig {
	pub model_type: String,
	pub vocab_size: usize,
	pub hidden_size: usize,
	pub intermediate_size: usize,
	pub num_hidden_layers: usize,
	pub num_attention_heads: usize,
	#[serde(default)]
	pub num_key_value_heads: Option<usize>,
	#[serde(default)]
	pub head_dim: Option<usize>,
	#[serde(default = "default_eps")]
	pub rms_norm_eps: f64,
	#[serde(flatten)]
	pub rope: RopeConfig,
	/// transformers 4 configs carry the factor at the top level.
	#[serde(default)]
	pub partial_rotary_factor: Option<f64>,
	#[serde(default = "yes")]
	pub attention_bias: bool,
	#[serde(default)]
	pub tie_word_embeddings: bool,
}

fn default_eps() -> f64 {
	1.5625e-7
}
fn yes() -> bool {
	true
}

impl GlmConfig {
	pub fn head_dim(&self) -> usize {
		self.head_dim.unwrap_or(self.hidden_size / self.num_attention_heads)
	}
	pub fn kv_heads(&self) -> usize {
		self.num_key_value_heads.unwrap_or(self.num_attention_heads)
	}
	/// Features per head that rotate.
	pub fn rotary_dim(&self) -> usize {
		let f = self.rope.partial_rotary_factor().or(self.partial_rotary_factor).unwrap_or(0.5);
		(self.head_dim() as f64 * f) as usize
	}
	fn is_glm4(&self) -> bool {
		self.model_type == "glm4"
	}
}

struct Layer {
	input_norm: Tensor,
	q: Linear,
	k: Linear,
	v: Linear,
	o: Linear,
	/// GLM-4-0414's norms after attention and after the MLP.
	post_sublayer_norms: Option<(Tensor, Tensor)>,
	post_norm: Tensor,
	gate_up: Linear,
	down: Linear,
}

pub struct Glm {
	pub cfg: GlmConfig,
	embed: Tensor,
	layers: Vec<Layer>,
	norm: Tensor,
	lm_head: Linear,
	inv_freq: Vec<f64>,
}

impl Glm {
	/// Everything up to the LM head: the final hidden states (batch, seq, hidden) after the last norm.
	fn trunk(&self, ids: &Tensor, pass: &mut Pass) -> Result<Tensor> {
		let (b, t) = ids.dims2()?;
		pass.check_rows(b)?;
		let dev = ids.device();
		let dtype = self.embed.dtype();
		let (nh, nkv, hd) =
			(self.cfg.num_attention_heads, self.cfg.kv_heads(), self.cfg.head_dim());
		let i_size = self.cfg.intermediate_size;
		let mut x =
			self.embed.embedding(&ids.flatten_all()?)?.reshape((b, t, self.cfg.hidden_size))?;
		let tables = pass.rope_tables(&self.inv_freq, t, true, dtype, dev)?;
		let rotate = |g: usize, q: Tensor, k: Tensor| {
			let (cos, sin) = &tables[g];
			Ok((fast_rope_interleaved(&q, cos, sin)?, fast_rope_interleaved(&k, cos, sin)?))
		};
		let eps = self.cfg.rms_norm_eps;
		for (i, l) in self.layers.iter().enumerate() {
			let h = fast_rms_norm(&x, &l.input_norm, eps)?;
			let split = |y: Tensor, heads: usize| y.reshape((b, t, heads, hd))?.transpose(1, 2);
			let q = split(pass.linear(&l.q, &h)?, nh)?;
			let k = split(pass.linear(&l.k, &h)?, nkv)?;
			let v = split(pass.linear(&l.v, &h)?, nkv)?;
			let att = pass.attend(i, q, k, v, rotate, |q, k, v, o| attention(q, k, v, o, None))?;
			let mut a = pass.linear(&l.o, &att)?;
			if let Some((n, _)) = &l.post_sublayer_norms {
				a = fast_rms_norm(&a, n, eps)?;
			}
			x = (x + a)?;
			let h = fast_rms_norm(&x, &l.post_norm, eps)?;
			let gu = pass.linear(&l.gate_up, &h)?;
			let (gate, up) =
				(gu.narrow(D::Minus1, 0, i_size)?, gu.narrow(D::Minus1, i_size, i_size)?);
			let mut m = pass.linear(&l.down, &fast_swiglu(&gate, &up)?)?;
			if let Some((_, n)) = &l.post_sublayer_norms {
				m = fast_rms_norm(&m, n, eps)?;
			}
			x = (x + m)?;
		}
		pass.advance(t);
		fast_rms_norm(&x, &self.norm, eps)
	}

	pub fn from_tensors(
		cfg: GlmConfig,
		w: HashMap<String, Tensor>,
		dtype: DType,
	) -> std::result::Result<Self, LoadError> {
		cfg.rope.check().map_err(LoadError::Config)?;
		let mut w = Weights::new(w, dtype);
		let mut take = |name: &str, shape: &[usize]| w.take(name, shape);
		let (h, i, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
		let (qd, kvd) = (cfg.num_attention_heads * cfg.head_dim(), cfg.kv_heads() * cfg.head_dim());
		let embed = take("model.embed_tokens.weight", &[v, h])?;
		let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
		for l in 0..cfg.num_hidden_layers {
			let p = format!("model.layers.{l}");
			let mut lin = |name: &str, out: usize, inp: usize, bias: bool| {
				let w = take(&format!("{p}.{name}.weight"), &[out, inp])?;
				let b = if bias { Some(take(&format!("{p}.{name}.bias"), &[out])?) } else { None };
				Ok::<_, LoadError>(Linear::new(w, b))
			};
			let bias = cfg.attention_bias;
			let q = lin("self_attn.q_proj", qd, h, bias)?;
			let k = lin("self_attn.k_proj", kvd, h, bias)?;
			let vv = lin("self_attn.v_proj", kvd, h, bias)?;
			let o = lin("self_attn.o_proj", h, qd, false)?;
			let gate_up = lin("mlp.gate_up_proj", 2 * i, h, false)?;
			let down = lin("mlp.down_proj", h, i, false)?;
			let post_sublayer_norms = if cfg.is_glm4() {
				Some((
					take(&format!("{p}.post_self_attn_layernorm.weight"), &[h])?,
					take(&format!("{p}.post_mlp_layernorm.weight"), &[h])?,
				))
			} else {
				None
			};
			layers.push(Layer {
				input_norm: take(&format!("{p}.input_layernorm.weight"), &[h])?,
				q,
				k,
				v: vv,
				o,
				post_sublayer_norms,
				post_norm: take(&format!("{p}.post_attention_layernorm.weight"), &[h])?,
				gate_up,
				down,
			});
		}
		let norm = take("model.norm.weight", &[h])?;
		let head =
			if cfg.tie_word_embeddings { embed.clone() } else { take("lm_head.weight", &[v, h])? };
		let inv_freq = cfg.rope.inv_freq(cfg.rotary_dim());
		Ok(Self { cfg, embed, layers, norm, lm_head: Linear::new(head, None), inv_freq })
	}
}

impl CausalLm for Glm {
	fn family(&self) -> Family {
		if self.cfg.is_glm4() {
			Family::Glm4
		} else {
			Family::Glm
		}
	}
	fn embeddings(&self) -> &Tensor {
		&self.embed
	}
	fn num_layers(&self) -> usize {
		self.layers.len()
	}
	fn run(&self, ids: &Tensor, pass: &mut Pass) -> Result<Tensor> {
		let h = self.trunk(ids, pass)?;
		pass.linear(&self.lm_head, &h)
	}
	fn hidden_and_head(&self, ids: &Tensor, train: bool) -> Result<Option<(Tensor, Head<'_>)>> {
		Ok(Some((self.trunk(ids, &mut Pass::plain(train))?, Head::Linear(&self.lm_head))))
	}
	fn linears_mut(&mut self) -> Vec<(String, &mut Linear)> {
		let mut out = Vec::new();
		for (i, l) in self.layers.iter_mut().enumerate() {
			let p = format!("model.layers.{i}");
			out.push((format!("{p}.self_attn.q_proj"), &mut l.q));
			out.push((format!("{p}.self_attn.k_proj"), &mut l.k));
			out.push((format!("{p}.self_attn.v_proj"), &mut l.v));
			out.push((format!("{p}.self_attn.o_proj"), &mut l.o));
			out.push((format!("{p}.mlp.gate_up_proj"), &mut l.gate_up));
			out.push((format!("{p}.mlp.down_proj"), &mut l.down));
		}
		out.push(("lm_head".into(), &mut self.lm_head));
		out
	}
}

/// Random weights of a config under Hugging Face names, for tests.
pub fn random_weights(cfg: &GlmConfig, seed: u64, dtype: DType) -> Result<HashMap<String, Tensor>> {
	let mut rng = crate::lora::rng(seed);
	let (h, i, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
	let (qd, kvd) = (cfg.num_attention_heads * cfg.head_dim(), cfg.kv_heads() * cfg.head_dim());
	let mut w = HashMap::new();
	let mut put = |name: String, shape: &[usize], std: f64, mean: f64| -> Result<()> {
		w.insert(name, (crate::lora::randn(shape, std, &mut rng, dtype)? + mean)?);
		Ok(())
	};
	put("model.embed_tokens.weight".into(), &[v, h], 0.5, 0.0)?;
	for l in 0..cfg.num_hidden_layers {
		let p = format!("model.layers.{l}");
		let mut norms = vec!["input_layernorm", "post_attention_layernorm"];
		if cfg.is_glm4() {
			norms.extend(["post_self_attn_layernorm", "post_mlp_layernorm"]);
		}
		for n in norms {
			put(format!("{p}.{n}.weight"), &[h], 0.1, 1.0)?;
		}
		for (n, o, inp) in
			[("q_proj", qd, h), ("k_proj", kvd, h), ("v_proj", kvd, h), ("o_proj", h, qd)]
		{
			put(format!("{p}.self_attn.{n}.weight"), &[o, inp], 0.3, 0.0)?;
			if cfg.attention_bias && n != "o_proj" {
				put(format!("{p}.self_attn.{n}.bias"), &[o], 0.1, 0.0)?;
			}
		}
		put(format!("{p}.mlp.gate_up_proj.weight"), &[2 * i, h], 0.3, 0.0)?;
		put(format!("{p}.mlp.down_proj.weight"), &[h, i], 0.3, 0.0)?;
	}
	put("model.norm.weight".into(), &[h], 0.1, 1.0)?;
	if !cfg.tie_word_embeddings {
		put("lm_head.weight".into(), &[v, h], 0.3, 0.0)?;
	}
	Ok(w)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::testutil;

	fn tiny(model_type: &str) -> GlmConfig {
		serde_json::from_value(serde_json::json!({
			"model_type": model_type, "vocab_size": 13, "hidden_size": 16, "intermediate_size": 12,
			"num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8,
			"rms_norm_eps": 1e-5,
		}))
		.unwrap()
	}

	#[test]
	fn glm_lora_gradients_match_finite_differences() {
		for mt in ["glm", "glm4"] {
			let cfg = tiny(mt);
			assert_eq!(cfg.rotary_dim(), 4, "half of each 8-wide head rotates by default");
			let w = random_weights(&cfg, 2, DType::F64).unwrap();
			let mut m = Glm::from_tensors(cfg, w, DType::F64).unwrap();
			let t = testutil::lora(
				2,
				&["q_proj", "k_proj", "v_proj", "o_proj", "gate_up_proj", "down_proj"],
			);
			testutil::lora_gradient_check(&mut m, &t, 5);
		}
	}

	#[test]
	fn cached_generation_matches_recomputation() {
		for mt in ["glm", "glm4"] {
			let cfg = tiny(mt);
			let m = Glm::from_tensors(
				cfg.clone(),
				random_weights(&cfg, 5, DType::F32).unwrap(),
				DType::F32,
			)
			.unwrap();
			let s = crate::generate::Sampling { max_new_tokens: 6, ..Default::default() };
			let got = crate::generate::generate(&m, &[2, 7, 1], &s, |_| true).unwrap();
			assert_eq!(got, testutil::greedy_uncached(&m, &[2, 7, 1], 6), "{mt}");
		}
	}
}
