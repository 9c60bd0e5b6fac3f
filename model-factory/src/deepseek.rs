//! DeepSeek-V2 and DeepSeek-V3 (`DeepseekV2ForCausalLM`, `DeepseekV3ForCausalLM`; V2-Lite, V2.5,
//! V3, R1 are these classes): multi-head latent attention and DeepSeekMoE.
//!
//! **Multi-head latent attention.** Keys and values come from one compressed latent per token:
//! `kv_a_proj_with_mqa` maps the hidden state to `kv_lora_rank` latent dims plus a
//! `qk_rope_head_dim` key part shared by every head; the latent, RMS-normed, expands through
//! `kv_b_proj` to each head's un-rotated key part and its value (`v_head_dim`, which may differ from
//! the key's). Queries come from `q_proj`, or through a low-rank pair (`q_a_proj`, a norm,
//! `q_b_proj`). Only the last `qk_rope_head_dim` dims of each query and key rotate, in interleaved
//! pairs. Under YaRN the softmax temperature carries `mscale(factor, mscale_all_dim)²`. The cache
//! holds the expanded keys and values (the absorbed-weights path with a latent cache is not
//! written yet).
//!
//! **DeepSeekMoE.** The first `first_k_dense_replace` layers are dense; the others route each token
//! to `num_experts_per_tok` of `n_routed_experts` experts and add `n_shared_experts` shared ones
//! (one MLP of that many times the expert width). V2 scores by softmax, optionally limited to the
//! `topk_group` best of `n_group` groups by their best score; V3 by sigmoid, choosing with
//! `e_score_correction_bias` added and groups ranked by the sum of their two best, the weights
//! renormalised. Both multiply by `routed_scaling_factor` ([`crate::moe::Routing`]).
//!
//! Not covered: the multi-token-prediction layer of V3 (`num_nextn_predict_layers`, used for
//! speculative decoding, not for the next token) and FP8 checkpoints (dequantize to bf16 first).

use crate::fused::{attention, fast_rms_norm, fast_rope, fast_rope_interleaved};
use crate::lora::Linear;
use crate::model::{CausalLm, Family, Head};
use crate::moe::{load_experts, FeedForward, Mlp, Moe, Routing, Shared};
use crate::ops::RopeConfig;
use crate::pass::Pass;
use crate::weights::{LoadError, Weights};
use candle_core::{DType, Result, Tensor};
use serde::Deserialize;
use std::collections::HashMap;

/// The fields of a DeepSeek-V2/V3 `config.json` this decoder reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeepseekConfig {
	#[serde(default)]
	pub model_type: Option<String>,
	pub vocab_size: usize,
	pub hidden_size: usize,
	/// The dense layers' MLP width.
	pub intermediate_size: usize,
	pub num_hidden_layers: usize,
	pub num_attention_heads: usize,
	#[serde(default = "default_eps")]
	pub rms_norm_eps: f64,
	#[serde(flatten)]
	pub rope: RopeConfig,
	#[serde(default)]
	pub tie_word_embeddings: bool,
	#[serde(default)]
	pub attention_bias: bool,
	pub kv_lora_rank: usize,
	/// Queries through a low-rank pair of this rank (V2, V3), or directly (V2-Lite: null).
	#[serde(default)]
	pub q_lora_rank: Option<usize>,
	pub qk_rope_head_dim: usize,
	pub qk_nope_head_dim: usize,
	pub v_head_dim: usize,
	#[serde(default, alias = "num_local_experts")]
	pub n_routed_experts: Option<usize>,
	#[serde(default)]
	pub n_shared_experts: Option<usize>,
	#[serde(default)]
	pub moe_intermediate_size: usize,
	#[serde(default)]
	pub num_experts_per_tok: Option<usize>,
	#[serde(default = "one_f64")]
	pub routed_scaling_factor: f64,
	/// V2: `greedy` or `group_limited_greedy`; V3: `noaux_tc`.
	#[serde(default)]
	pub topk_method: Option<String>,
	#[serde(default)]
	pub n_group: Option<usize>,
	#[serde(default)]
	pub topk_group: Option<usize>,
	#[serde(default)]
	pub norm_topk_prob: bool,
	#[serde(default)]
	pub first_k_dense_replace: usize,
	#[serde(default = "one")]
	pub moe_layer_freq: usize,
	/// V3: the rotary dims are interleaved pairs (the checkpoints' layout); false: rotate-half.
	#[serde(default = "yes")]
	pub rope_interleave: bool,
}

fn yes() -> bool {
	true
}

fn default_eps() -> f64 {
	1e-6
}
fn one() -> usize {
	1
}
fn one_f64() -> f64 {
	1.0
}

impl DeepseekConfig {
	pub fn family(&self) -> Family {
		match self.model_type.as_deref() {
			Some("deepseek_v3") => Family::DeepseekV3,
			_ => Family::DeepseekV2,
		}
	}

	fn qk_head_dim(&self) -> usize {
		self.qk_nope_head_dim + self.qk_rope_head_dim
	}

	/// Whether layer `i` has experts (DeepSeek's rule).
	pub fn sparse(&self, i: usize) -> bool {
		self.n_routed_experts.unwrap_or(0) > 0
			&& i >= self.first_k_dense_replace
			&& i.is_multiple_of(self.moe_layer_freq.max(1))
	}

	fn routing(&self) -> Routing {
		let top_k = self.num_experts_per_tok.unwrap_or(1);
		let mut r = Routing::softmax(top_k, self.norm_topk_prob);
		r.scale = self.routed_scaling_factor;
		let grouped = (self.n_group.unwrap_or(1), self.topk_group.unwrap_or(1));
		match self.family() {
			Family::DeepseekV3 => {
				r.sigmoid = true;
				(r.groups, r.keep, r.group_by_top2) = (grouped.0, grouped.1, true);
			}
			_ => {
				if self.topk_method.as_deref() == Some("group_limited_greedy") {
					(r.groups, r.keep) = grouped;
				}
			}
		}
		r
	}

	fn check(&self) -> std::result::Result<(), String> {
		self.rope.check()?;
		if self.rope.dynamic_ntk(2).is_some() {
			return Err("dynamic rope scaling is not implemented for DeepSeek-V2/V3".into());
		}
		let n = self.n_routed_experts.unwrap_or(0);
		if n > 0 {
			let k = self.num_experts_per_tok.unwrap_or(0);
			if k == 0 || k > n {
				return Err(format!("num_experts_per_tok is {k} for {n} experts"));
			}
			let r = self.routing();
			if r.groups > 1 && (!n.is_multiple_of(r.groups) || r.keep == 0 || r.keep > r.groups) {
				return Err(format!(
					"{n} experts cannot form n_group {} groups with topk_group {}",
					r.groups, r.keep
				));
			}
			if r.groups > 1 && r.keep * (n / r.groups) < k {
				return Err(format!("topk_group {} groups hold fewer than {k} experts", r.keep));
			}
		}
		match self.topk_method.as_deref() {
			None | Some("greedy") | Some("group_limited_greedy") | Some("noaux_tc") => Ok(()),
			Some(m) => Err(format!("topk_method {m:?} is not supported")),
		}
	}
}

/// How a layer makes its queries.
enum Query {
	Direct(Linear),
	/// `q_b(norm(q_a(x)))`.
	LowRank {
		a: Linear,
		norm: Tensor,
		b: Linear,
	},
}

struct Layer {
	input_norm: Tensor,
	q: Query,
	kv_a: Linear,
	kv_norm: Tensor,
	kv_b: Linear,
	o: Linear,
	post_norm: Tensor,
	mlp: FeedForward,
}

pub struct Deepseek {
	pub cfg: DeepseekConfig,
	embed: Tensor,
	layers: Vec<Layer>,
	norm: Tensor,
	lm_head: Linear,
	inv_freq: Vec<f64>,
}

impl Deepseek {
	/// Everything up to the LM head: the final hidden states (batch, seq, hidden) after the last norm.
	fn trunk(&self, ids: &Tensor, pass: &mut Pass) -> Result<Tensor> {
		let (b, t) = ids.dims2()?;
		pass.check_rows(b)?;
		let cfg = &self.cfg;
		let (dev, dtype, eps) = (ids.device(), self.embed.dtype(), cfg.rms_norm_eps);
		let (nh, nope, rope, vd) =
			(cfg.num_attention_heads, cfg.qk_nope_head_dim, cfg.qk_rope_head_dim, cfg.v_head_dim);
		let rank = cfg.kv_lora_rank;
		let mut x = self.embed.embedding(&ids.flatten_all()?)?.reshape((b, t, cfg.hidden_size))?;
		// V2 rotates interleaved pairs (complex multiplication); V3 the same pairs, unless
		// `rope_interleave` is off (rotate-half).
		let interleaved = self.interleaved();
		let tables = pass.rope_tables(&self.inv_freq, None, t, interleaved, dtype, dev)?;
		let tables = crate::ops::scale_tables(tables, cfg.rope.attention_factor())?;
		// Rotates the last `rope` dims of each head of q and k.
		let rotate = |g: usize, q: Tensor, k: Tensor| {
			let (cos, sin) = &tables[g];
			let turn = |x: &Tensor| -> Result<Tensor> {
				let pe = x.narrow(3, nope, rope)?.contiguous()?;
				let pe = if interleaved {
					fast_rope_interleaved(&pe, cos, sin)?
				} else {
					fast_rope(&pe, cos, sin)?
				};
				Tensor::cat(&[&x.narrow(3, 0, nope)?, &pe], 3)
			};
			Ok((turn(&q)?, turn(&k)?))
		};
		// The softmax scale is 1/√(qk head dim) times YaRN's mscale²: the queries carry the factor.
		let temperature = cfg.rope.yarn_softmax_scale();
		for (i, l) in self.layers.iter().enumerate() {
			let h = fast_rms_norm(&x, &l.input_norm, eps)?;
			let q = match &l.q {
				Query::Direct(q) => pass.linear(q, &h)?,
				Query::LowRank { a, norm, b: qb } => {
					pass.linear(qb, &fast_rms_norm(&pass.linear(a, &h)?, norm, eps)?)?
				}
			};
			let mut q = q.reshape((b, t, nh, nope + rope))?.transpose(1, 2)?;
			if temperature != 1.0 {
				q = (q * temperature)?;
			}
			let latent = pass.linear(&l.kv_a, &h)?;
			let kv_nope =
				fast_rms_norm(&latent.narrow(2, 0, rank)?.contiguous()?, &l.kv_norm, eps)?;
			let kv =
				pass.linear(&l.kv_b, &kv_nope)?.reshape((b, t, nh, nope + vd))?.transpose(1, 2)?;
			let k_pe = latent.narrow(2, rank, rope)?.reshape((b, 1, t, rope))?;
			let k =
				Tensor::cat(&[&kv.narrow(3, 0, nope)?, &k_pe.broadcast_as((b, nh, t, rope))?], 3)?;
			let v = kv.narrow(3, nope, vd)?.contiguous()?;
			let att =
				pass.attend(i, q.contiguous()?, k.contiguous()?, v, rotate, |q, k, v, o| {
					attention(q, k, v, o, None)
				})?;
			x = (x + pass.linear(&l.o, &att)?)?;
			let h = fast_rms_norm(&x, &l.post_norm, eps)?;
			x = (x + l.mlp.forward(&h, pass)?)?;
		}
		pass.advance(t);
		fast_rms_norm(&x, &self.norm, eps)
	}

	fn interleaved(&self) -> bool {
		self.cfg.family() == Family::DeepseekV2 || self.cfg.rope_interleave
	}

	/// Builds the model from Hugging Face-named tensors.
	pub fn from_tensors(
		cfg: DeepseekConfig,
		w: HashMap<String, Tensor>,
		dtype: DType,
	) -> std::result::Result<Self, LoadError> {
		cfg.check().map_err(LoadError::Config)?;
		let mut w = Weights::new(w, dtype);
		let (h, v, nh) = (cfg.hidden_size, cfg.vocab_size, cfg.num_attention_heads);
		let (qk, rank, rope) = (cfg.qk_head_dim(), cfg.kv_lora_rank, cfg.qk_rope_head_dim);
		let bias = cfg.attention_bias;
		let embed = w.take("model.embed_tokens.weight", &[v, h])?;
		let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
		for l in 0..cfg.num_hidden_layers {
			let p = format!("model.layers.{l}");
			let a = format!("{p}.self_attn");
			let lin = |w: &mut Weights, name: &str, out: usize, inp: usize, bias: bool| {
				w.linear(&format!("{a}.{name}"), out, inp, bias)
			};
			let q = match cfg.q_lora_rank {
				None => Query::Direct(lin(&mut w, "q_proj", nh * qk, h, false)?),
				Some(r) => Query::LowRank {
					a: lin(&mut w, "q_a_proj", r, h, bias)?,
					norm: w.take(&format!("{a}.q_a_layernorm.weight"), &[r])?,
					b: lin(&mut w, "q_b_proj", nh * qk, r, false)?,
				},
			};
			let kv_a = lin(&mut w, "kv_a_proj_with_mqa", rank + rope, h, bias)?;
			let kv_b = lin(
				&mut w,
				"kv_b_proj",
				nh * (cfg.qk_nope_head_dim + cfg.v_head_dim),
				rank,
				false,
			)?;
			let o = lin(&mut w, "o_proj", h, nh * cfg.v_head_dim, bias)?;
			let kv_norm = w.take(&format!("{a}.kv_a_layernorm.weight"), &[rank])?;
			let mlp = if cfg.sparse(l) {
				FeedForward::Experts(Box::new(load_moe(&mut w, &format!("{p}.mlp"), &cfg)?))
			} else {
				let mlp = Mlp::load(&mut w, &format!("{p}.mlp"), h, cfg.intermediate_size)?;
				FeedForward::Dense(Box::new(mlp))
			};
			layers.push(Layer {
				input_norm: w.take(&format!("{p}.input_layernorm.weight"), &[h])?,
				q,
				kv_a,
				kv_norm,
				kv_b,
				o,
				post_norm: w.take(&format!("{p}.post_attention_layernorm.weight"), &[h])?,
				mlp,
			});
		}
		let norm = w.take("model.norm.weight", &[h])?;
		let head = if cfg.tie_word_embeddings {
			embed.clone()
		} else {
			w.take("lm_head.weight", &[v, h])?
		};
		let inv_freq = cfg.rope.inv_freq(cfg.qk_rope_head_dim);
		Ok(Self { cfg, embed, layers, norm, lm_head: Linear::new(head, None), inv_freq })
	}
}

/// The linear layer `name` (its weight, and its bias when `bias`).
/// A sparse layer's `mlp` at `prefix`: router (and V3's choice bias), routed and shared experts.
fn load_moe(
	w: &mut Weights,
	prefix: &str,
	cfg: &DeepseekConfig,
) -> std::result::Result<Moe, LoadError> {
	let (n, h, inner) =
		(cfg.n_routed_experts.unwrap_or(0), cfg.hidden_size, cfg.moe_intermediate_size);
	let router = w.take(&format!("{prefix}.gate.weight"), &[n, h])?;
	let mut routing = cfg.routing();
	if cfg.family() == Family::DeepseekV3 {
		let bias = w.take(&format!("{prefix}.gate.e_score_correction_bias"), &[n])?;
		routing.choice_bias = Some(bias.to_dtype(DType::F64)?.to_vec1()?);
	}
	let experts = load_experts(w, prefix, n, inner, h)?;
	let shared = match cfg.n_shared_experts.unwrap_or(0) {
		0 => None,
		s => Some(Shared {
			mlp: Mlp::load(w, &format!("{prefix}.shared_experts"), h, s * inner)?,
			gate: None,
			name: "shared_experts",
		}),
	};
	Ok(Moe::new(router, experts, routing, shared))
}

impl CausalLm for Deepseek {
	fn family(&self) -> Family {
		self.cfg.family()
	}
	fn embeddings(&self) -> &Tensor {
		&self.embed
	}
	fn num_layers(&self) -> usize {
		self.layers.len()
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
		for (i, l) in self.layers.iter_mut().enumerate() {
			let p = format!("model.layers.{i}");
			match &mut l.q {
				Query::Direct(q) => out.push((format!("{p}.self_attn.q_proj"), q)),
				Query::LowRank { a, b, .. } => {
					out.push((format!("{p}.self_attn.q_a_proj"), a));
					out.push((format!("{p}.self_attn.q_b_proj"), b));
				}
			}
			out.push((format!("{p}.self_attn.kv_a_proj_with_mqa"), &mut l.kv_a));
			out.push((format!("{p}.self_attn.kv_b_proj"), &mut l.kv_b));
			out.push((format!("{p}.self_attn.o_proj"), &mut l.o));
			l.mlp.linears_mut(&format!("{p}.mlp"), &mut out);
		}
		out.push(("lm_head".into(), &mut self.lm_head));
		out
	}
}

/// Random weights of a config, by Hugging Face name (for tests).
pub fn random_weights(
	cfg: &DeepseekConfig,
	seed: u64,
	dtype: DType,
) -> Result<HashMap<String, Tensor>> {
	let mut rng = crate::lora::rng(seed);
	let mut w = HashMap::new();
	let (h, v, nh) = (cfg.hidden_size, cfg.vocab_size, cfg.num_attention_heads);
	let (rank, rope, inner) = (cfg.kv_lora_rank, cfg.qk_rope_head_dim, cfg.moe_intermediate_size);
	let mut put = |name: String, shape: &[usize], std: f64| -> Result<()> {
		let t = crate::lora::randn(shape, std, &mut rng, dtype)?;
		let t = if std == 0.0 { (t.ones_like()? + 0.0)? } else { t };
		w.insert(name, t);
		Ok(())
	};
	put("model.embed_tokens.weight".into(), &[v, h], 0.5)?;
	for l in 0..cfg.num_hidden_layers {
		let p = format!("model.layers.{l}");
		put(format!("{p}.input_layernorm.weight"), &[h], 0.0)?;
		put(format!("{p}.post_attention_layernorm.weight"), &[h], 0.0)?;
		let a = format!("{p}.self_attn");
		match cfg.q_lora_rank {
			None => put(format!("{a}.q_proj.weight"), &[nh * cfg.qk_head_dim(), h], 0.3)?,
			Some(r) => {
				put(format!("{a}.q_a_proj.weight"), &[r, h], 0.3)?;
				put(format!("{a}.q_a_layernorm.weight"), &[r], 0.0)?;
				put(format!("{a}.q_b_proj.weight"), &[nh * cfg.qk_head_dim(), r], 0.3)?;
			}
		}
		put(format!("{a}.kv_a_proj_with_mqa.weight"), &[rank + rope, h], 0.3)?;
		put(format!("{a}.kv_a_layernorm.weight"), &[rank], 0.0)?;
		let kv = nh * (cfg.qk_nope_head_dim + cfg.v_head_dim);
		put(format!("{a}.kv_b_proj.weight"), &[kv, rank], 0.3)?;
		put(format!("{a}.o_proj.weight"), &[h, nh * cfg.v_head_dim], 0.3)?;
		let mut mlp = |prefix: String, i: usize| {
			for (n, o, inp) in [("gate_proj", i, h), ("up_proj", i, h), ("down_proj", h, i)] {
				put(format!("{prefix}.{n}.weight"), &[o, inp], 0.3)?;
			}
			Ok::<_, candle_core::Error>(())
		};
		if cfg.sparse(l) {
			let n = cfg.n_routed_experts.unwrap_or(0);
			for e in 0..n {
				mlp(format!("{p}.mlp.experts.{e}"), inner)?;
			}
			if let Some(s) = cfg.n_shared_experts.filter(|&s| s > 0) {
				mlp(format!("{p}.mlp.shared_experts"), s * inner)?;
			}
			put(format!("{p}.mlp.gate.weight"), &[n, h], 0.3)?;
			if cfg.family() == Family::DeepseekV3 {
				put(format!("{p}.mlp.gate.e_score_correction_bias"), &[n], 0.1)?;
			}
		} else {
			mlp(format!("{p}.mlp"), cfg.intermediate_size)?;
		}
	}
	put("model.norm.weight".into(), &[h], 0.0)?;
	if !cfg.tie_word_embeddings {
		put("lm_head.weight".into(), &[v, h], 0.3)?;
	}
	Ok(w)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::testutil;

	/// Tiny configs: V2-Lite style (direct queries, group-limited softmax routing, one dense
	/// layer) and V3 style (low-rank queries, sigmoid routing with a bias, YaRN).
	fn tiny(model_type: &str) -> DeepseekConfig {
		let v3 = model_type == "deepseek_v3";
		serde_json::from_value(serde_json::json!({
			"model_type": model_type,
			"vocab_size": 11, "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 2,
			"num_attention_heads": 2, "rms_norm_eps": 1e-5,
			"kv_lora_rank": 6, "q_lora_rank": if v3 { Some(5) } else { None },
			"qk_rope_head_dim": 4, "qk_nope_head_dim": 2, "v_head_dim": 3,
			"n_routed_experts": 4, "n_shared_experts": 1, "moe_intermediate_size": 5,
			"num_experts_per_tok": 2, "n_group": 2, "topk_group": 1,
			"topk_method": if v3 { "noaux_tc" } else { "group_limited_greedy" },
			"routed_scaling_factor": 1.5, "norm_topk_prob": v3, "first_k_dense_replace": 1,
			"rope_parameters": if v3 {
				serde_json::json!({"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
					"original_max_position_embeddings": 2, "mscale": 0.7, "mscale_all_dim": 0.7})
			} else {
				serde_json::json!({"rope_type": "default", "rope_theta": 10000.0})
			},
		}))
		.unwrap()
	}

	const ATTENTION: [&str; 6] =
		["q_proj", "q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj"];

	/// LoRA gradients through MLA (latent norm, partial rotation, unequal key and value widths)
	/// and, from the first layer's adapters, through the second layer's routing weights, against
	/// central differences.
	#[test]
	fn deepseek_lora_gradients_match_finite_differences() {
		for t in ["deepseek_v2", "deepseek_v3"] {
			let cfg = tiny(t);
			let w = random_weights(&cfg, 7, DType::F64).unwrap();
			let mut m = Deepseek::from_tensors(cfg, w, DType::F64).unwrap();
			testutil::lora_gradient_check(&mut m, &testutil::lora(2, &ATTENTION), 3);
			// MLP names mean the routed experts to PEFT here: refused, not silently different.
			let e = m.attach_lora(&testutil::lora(2, &["q_b_proj", "up_proj"]), 3).unwrap_err();
			assert!(e.to_string().contains("LoRA target up_proj of a deepseek"), "{e}");
		}
	}

	#[test]
	fn routing_configs_that_cannot_work_are_refused() {
		let mut c = tiny("deepseek_v2");
		c.topk_group = Some(3);
		let w = random_weights(&c, 7, DType::F64).unwrap();
		let e = Deepseek::from_tensors(c.clone(), w.clone(), DType::F64).err().unwrap();
		assert_eq!(e.to_string(), "4 experts cannot form n_group 2 groups with topk_group 3");
		c.topk_group = Some(1);
		c.topk_method = Some("sinkhorn".into());
		let e = Deepseek::from_tensors(c, w, DType::F64).err().unwrap();
		assert_eq!(e.to_string(), "topk_method \"sinkhorn\" is not supported");
	}
}
