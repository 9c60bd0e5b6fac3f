//! GLM-4 as transformers implements it: `GlmForCausalLM` (`model_type` "glm", THUDM/glm-4-9b and its
//! chat model in the transformers format) and `Glm4ForCausalLM` ("glm4", GLM-4-0414, which adds a norm
//! after attention and after the MLP).
//!
//! Differences from LLaMA: only part of each head rotates (`partial_rotary_factor`, 0.5), in the
//! interleaved layout (pairs of neighbouring features); biases on q, k, v; the MLP's gate and up
//! projections are one fused `gate_up_proj` (gate first).
//!
//! The same model in THUDM's own layout (`ChatGLMModel`, `model_type` "chatglm": ChatGLM2-6B,
//! ChatGLM3-6B and the original glm-4-9b / glm-4-9b-chat "remote code" checkpoints) loads from its own
//! names with q, k and v kept fused in `query_key_value`, so adapters target THUDM's module names as
//! PEFT does on those checkpoints ([`ChatGlmConfig`]). ChatGLM-6B (the first, GLM-130B style) is a
//! different architecture and is refused.

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
	/// Tensor and module names: transformers' or THUDM's (set from a [`ChatGlmConfig`]).
	#[serde(skip)]
	pub layout: Layout,
}

/// Whose names a GLM checkpoint uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
	/// transformers' `GlmForCausalLM`: `model.layers.<i>.self_attn.{q,k,v,o}_proj`, `mlp.gate_up_proj`.
	#[default]
	Transformers,
	/// THUDM's `ChatGLMModel`: `transformer.encoder.layers.<i>.self_attention.query_key_value`
	/// (q, k, v stacked), `self_attention.dense`, `mlp.dense_h_to_4h`, `mlp.dense_4h_to_h`.
	Thudm,
}

impl Layout {
	fn layer(self, l: usize) -> String {
		match self {
			Layout::Transformers => format!("model.layers.{l}"),
			Layout::Thudm => format!("transformer.encoder.layers.{l}"),
		}
	}
	fn embed(self) -> &'static str {
		match self {
			Layout::Transformers => "model.embed_tokens.weight",
			Layout::Thudm => "transformer.embedding.word_embeddings.weight",
		}
	}
	fn norm(self) -> &'static str {
		match self {
			Layout::Transformers => "model.norm.weight",
			Layout::Thudm => "transformer.encoder.final_layernorm.weight",
		}
	}
	fn head(self) -> &'static str {
		match self {
			Layout::Transformers => "lm_head",
			Layout::Thudm => "transformer.output_layer",
		}
	}
	/// Attention output, MLP in and MLP out, under the layer.
	fn others(self) -> [&'static str; 3] {
		match self {
			Layout::Transformers => ["self_attn.o_proj", "mlp.gate_up_proj", "mlp.down_proj"],
			Layout::Thudm => ["self_attention.dense", "mlp.dense_h_to_4h", "mlp.dense_4h_to_h"],
		}
	}
}

/// THUDM's `config.json` for `ChatGLMModel` (ChatGLM2/3, remote-code glm-4-9b). The mapping onto
/// transformers' GLM: `num_layers` → layers, `padded_vocab_size` → vocab, `ffn_hidden_size` →
/// intermediate, `kv_channels` → head dim, `multi_query_group_num` → kv heads (when
/// `multi_query_attention`), `layernorm_epsilon` → eps, rotary base `10000 × rope_ratio` over half
/// of each head, interleaved; biases on q, k, v when `add_qkv_bias`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChatGlmConfig {
	pub num_layers: usize,
	pub padded_vocab_size: usize,
	pub hidden_size: usize,
	pub ffn_hidden_size: usize,
	pub kv_channels: usize,
	pub num_attention_heads: usize,
	#[serde(default)]
	pub multi_query_attention: bool,
	#[serde(default = "one")]
	pub multi_query_group_num: usize,
	#[serde(default = "chatglm_eps")]
	pub layernorm_epsilon: f64,
	#[serde(default = "yes")]
	pub rmsnorm: bool,
	#[serde(default)]
	pub add_qkv_bias: bool,
	#[serde(default)]
	pub add_bias_linear: bool,
	#[serde(default)]
	pub apply_residual_connection_post_layernorm: bool,
	#[serde(default = "yes")]
	pub post_layer_norm: bool,
	#[serde(default = "one_f64")]
	pub rope_ratio: f64,
	#[serde(default)]
	pub tie_word_embeddings: bool,
}

fn one() -> usize {
	1
}
fn one_f64() -> f64 {
	1.0
}
fn chatglm_eps() -> f64 {
	1e-5
}

impl ChatGlmConfig {
	/// Reads THUDM's config, refusing the variants this model does not compute.
	pub fn parse(json: serde_json::Value) -> std::result::Result<Self, String> {
		if json.get("num_layers").is_none() || json.get("ffn_hidden_size").is_none() {
			return Err("a ChatGLM-6B (first generation) config: that architecture is not \
				supported (ChatGLM2/3 and glm-4-9b are)"
				.into());
		}
		let c: Self = serde_json::from_value(json).map_err(|e| e.to_string())?;
		for (on, what) in [
			(!c.rmsnorm, "rmsnorm = false (LayerNorm)"),
			(c.add_bias_linear, "add_bias_linear = true"),
			(
				c.apply_residual_connection_post_layernorm,
				"apply_residual_connection_post_layernorm",
			),
			(!c.post_layer_norm, "post_layer_norm = false"),
		] {
			if on {
				return Err(format!("ChatGLM with {what} is not supported"));
			}
		}
		Ok(c)
	}

	/// The same model as transformers' GLM describes it, in THUDM's layout.
	pub fn to_glm(&self) -> GlmConfig {
		let theta = 10000.0 * self.rope_ratio;
		GlmConfig {
			model_type: "chatglm".into(),
			vocab_size: self.padded_vocab_size,
			hidden_size: self.hidden_size,
			intermediate_size: self.ffn_hidden_size,
			num_hidden_layers: self.num_layers,
			num_attention_heads: self.num_attention_heads,
			num_key_value_heads: Some(if self.multi_query_attention {
				self.multi_query_group_num
			} else {
				self.num_attention_heads
			}),
			head_dim: Some(self.kv_channels),
			rms_norm_eps: self.layernorm_epsilon,
			rope: RopeConfig { rope_theta: Some(theta), ..Default::default() },
			partial_rotary_factor: Some(0.5),
			attention_bias: self.add_qkv_bias,
			tie_word_embeddings: self.tie_word_embeddings,
			layout: Layout::Thudm,
		}
	}
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

/// Queries, keys and values: three layers, or THUDM's one (q, k, v rows stacked).
enum Qkv {
	Separate { q: Box<Linear>, k: Box<Linear>, v: Box<Linear> },
	Fused(Linear),
}

struct Layer {
	input_norm: Tensor,
	qkv: Qkv,
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
		let tables = pass.rope_tables(&self.inv_freq, None, t, true, dtype, dev)?;
		let rotate = |g: usize, q: Tensor, k: Tensor| {
			let (cos, sin) = &tables[g];
			Ok((fast_rope_interleaved(&q, cos, sin)?, fast_rope_interleaved(&k, cos, sin)?))
		};
		let eps = self.cfg.rms_norm_eps;
		for (i, l) in self.layers.iter().enumerate() {
			let h = fast_rms_norm(&x, &l.input_norm, eps)?;
			let split = |y: Tensor, heads: usize| y.reshape((b, t, heads, hd))?.transpose(1, 2);
			let (q, k, v) = match &l.qkv {
				Qkv::Separate { q, k, v } => {
					(pass.linear(q, &h)?, pass.linear(k, &h)?, pass.linear(v, &h)?)
				}
				Qkv::Fused(qkv) => {
					let y = pass.linear(qkv, &h)?;
					let part = |at: usize, n: usize| y.narrow(D::Minus1, at * hd, n * hd);
					(part(0, nh)?, part(nh, nkv)?, part(nh + nkv, nkv)?)
				}
			};
			let (q, k, v) = (split(q, nh)?, split(k, nkv)?, split(v, nkv)?);
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
		if cfg.rope.dynamic_ntk(2).is_some() {
			return Err(LoadError::Config(
				"dynamic rope scaling is not implemented for GLM".into(),
			));
		}
		let mut w = Weights::new(w, dtype);
		let layout = cfg.layout;
		let (h, i, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
		let (qd, kvd) = (cfg.num_attention_heads * cfg.head_dim(), cfg.kv_heads() * cfg.head_dim());
		let embed = w.take(layout.embed(), &[v, h])?;
		let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
		for l in 0..cfg.num_hidden_layers {
			let p = layout.layer(l);
			let mut lin = |name: &str, out: usize, inp: usize, bias: bool| {
				w.linear(&format!("{p}.{name}"), out, inp, bias)
			};
			let bias = cfg.attention_bias;
			let qkv = match layout {
				Layout::Transformers => Qkv::Separate {
					q: Box::new(lin("self_attn.q_proj", qd, h, bias)?),
					k: Box::new(lin("self_attn.k_proj", kvd, h, bias)?),
					v: Box::new(lin("self_attn.v_proj", kvd, h, bias)?),
				},
				Layout::Thudm => {
					Qkv::Fused(lin("self_attention.query_key_value", qd + 2 * kvd, h, bias)?)
				}
			};
			let [o_name, gate_up_name, down_name] = layout.others();
			let o = lin(o_name, h, qd, false)?;
			let gate_up = lin(gate_up_name, 2 * i, h, false)?;
			let down = lin(down_name, h, i, false)?;
			let post_sublayer_norms = if cfg.is_glm4() {
				Some((
					w.take(&format!("{p}.post_self_attn_layernorm.weight"), &[h])?,
					w.take(&format!("{p}.post_mlp_layernorm.weight"), &[h])?,
				))
			} else {
				None
			};
			layers.push(Layer {
				input_norm: w.take(&format!("{p}.input_layernorm.weight"), &[h])?,
				qkv,
				o,
				post_sublayer_norms,
				post_norm: w.take(&format!("{p}.post_attention_layernorm.weight"), &[h])?,
				gate_up,
				down,
			});
		}
		let norm = w.take(layout.norm(), &[h])?;
		let head = if cfg.tie_word_embeddings {
			embed.clone()
		} else {
			w.take(&format!("{}.weight", layout.head()), &[v, h])?
		};
		let inv_freq = cfg.rope.inv_freq(cfg.rotary_dim());
		Ok(Self { cfg, embed, layers, norm, lm_head: Linear::new(head, None), inv_freq })
	}
}

impl CausalLm for Glm {
	fn family(&self) -> Family {
		match (self.cfg.is_glm4(), self.cfg.layout) {
			(true, _) => Family::Glm4,
			(false, Layout::Thudm) => Family::ChatGlm,
			(false, Layout::Transformers) => Family::Glm,
		}
	}
	fn embeddings(&self) -> &Tensor {
		&self.embed
	}
	fn num_layers(&self) -> usize {
		self.layers.len()
	}
	fn head_path(&self) -> &'static str {
		self.cfg.layout.head()
	}
	fn run(&self, ids: &Tensor, pass: &mut Pass) -> Result<Tensor> {
		let h = self.trunk(ids, pass)?;
		let h = pass.head_input(h)?;
		pass.linear(&self.lm_head, &h)
	}
	fn hidden_and_head(&self, ids: &Tensor, train: bool) -> Result<Option<(Tensor, Head<'_>)>> {
		Ok(Some((self.trunk(ids, &mut Pass::plain(train))?, Head::Linear(&self.lm_head))))
	}
	fn linears_mut(&mut self) -> Vec<(String, &mut Linear)> {
		let mut out = Vec::new();
		let layout = self.cfg.layout;
		for (i, l) in self.layers.iter_mut().enumerate() {
			let p = layout.layer(i);
			match &mut l.qkv {
				Qkv::Separate { q, k, v } => {
					out.push((format!("{p}.self_attn.q_proj"), &mut **q));
					out.push((format!("{p}.self_attn.k_proj"), &mut **k));
					out.push((format!("{p}.self_attn.v_proj"), &mut **v));
				}
				Qkv::Fused(qkv) => out.push((format!("{p}.self_attention.query_key_value"), qkv)),
			}
			let [o, gate_up, down] = layout.others();
			out.push((format!("{p}.{o}"), &mut l.o));
			out.push((format!("{p}.{gate_up}"), &mut l.gate_up));
			out.push((format!("{p}.{down}"), &mut l.down));
		}
		out.push((layout.head().into(), &mut self.lm_head));
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

	/// THUDM's layout: LoRA on the fused `query_key_value` and the other THUDM names.
	#[test]
	fn chatglm_lora_gradients_match_finite_differences() {
		let c: ChatGlmConfig = ChatGlmConfig::parse(serde_json::json!({
			"num_layers": 2, "padded_vocab_size": 13, "hidden_size": 16, "ffn_hidden_size": 12,
			"kv_channels": 8, "num_attention_heads": 2, "multi_query_attention": true,
			"multi_query_group_num": 1, "add_qkv_bias": true, "rope_ratio": 2.0,
		}))
		.unwrap();
		let cfg = c.to_glm();
		// The same tensors under THUDM's names, q/k/v stacked.
		let mut w = random_weights(
			&GlmConfig { layout: Layout::Transformers, ..cfg.clone() },
			2,
			DType::F64,
		)
		.unwrap();
		let mut renamed = HashMap::new();
		for l in 0..2 {
			let (s, t) = (format!("model.layers.{l}"), format!("transformer.encoder.layers.{l}"));
			for kind in ["weight", "bias"] {
				let parts: Vec<Tensor> = ["q", "k", "v"]
					.iter()
					.map(|p| w.remove(&format!("{s}.self_attn.{p}_proj.{kind}")).unwrap())
					.collect();
				renamed.insert(
					format!("{t}.self_attention.query_key_value.{kind}"),
					Tensor::cat(&parts, 0).unwrap(),
				);
			}
			for (from, to) in [
				("self_attn.o_proj", "self_attention.dense"),
				("mlp.gate_up_proj", "mlp.dense_h_to_4h"),
				("mlp.down_proj", "mlp.dense_4h_to_h"),
				("input_layernorm", "input_layernorm"),
				("post_attention_layernorm", "post_attention_layernorm"),
			] {
				let t2 = w.remove(&format!("{s}.{from}.weight")).unwrap();
				renamed.insert(format!("{t}.{to}.weight"), t2);
			}
		}
		for (from, to) in [
			("model.embed_tokens.weight", "transformer.embedding.word_embeddings.weight"),
			("model.norm.weight", "transformer.encoder.final_layernorm.weight"),
			("lm_head.weight", "transformer.output_layer.weight"),
		] {
			renamed.insert(to.to_string(), w.remove(from).unwrap());
		}
		let mut m = Glm::from_tensors(cfg, renamed, DType::F64).unwrap();
		let t = testutil::lora(2, &["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"]);
		testutil::lora_gradient_check(&mut m, &t, 5);
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
