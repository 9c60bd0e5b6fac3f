//! The LLaMA-architecture decoder, written here (candle-transformers' fields are private and use fused
//! ops without a backward). One implementation covers the Hugging Face classes that share it:
//! `LlamaForCausalLM` (incl. Llama 3 rope scaling, and DeepSeek's llama-architecture models and R1
//! distills), `MistralForCausalLM` (sliding-window attention), `Qwen2ForCausalLM` (biases on q, k, v)
//! and `Qwen3ForCausalLM` (per-head RMSNorm on q and k before the rotation), and their mixtures of
//! experts `Qwen2MoeForCausalLM` and `Qwen3MoeForCausalLM` (the experts in [`crate::moe`]). Weights
//! load by their Hugging Face tensor names.
//!
//! DeepSeek V2/V3 (latent attention) are [`crate::deepseek`]. Not covered: Qwen2's optional
//! sliding window (`use_sliding_window`, off in every released Qwen2/2.5 config).

use crate::fused::{attention, fast_rms_norm, fast_rope};
use crate::lora::Linear;
use crate::model::{CausalLm, Family, Head};
use crate::moe::{FeedForward, Mlp, Moe, MoeConfig};
use crate::ops::RopeConfig;
use crate::pass::Pass;
pub use crate::weights::LoadError;
use crate::weights::Weights;
use candle_core::{DType, Result, Tensor};
use serde::Deserialize;
use std::collections::HashMap;

/// The fields of a Hugging Face `config.json` this decoder reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LlamaConfig {
	#[serde(default)]
	pub model_type: Option<String>,
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
	#[serde(default)]
	pub tie_word_embeddings: bool,
	/// LLaMA's optional biases on every attention projection.
	#[serde(default)]
	pub attention_bias: bool,
	/// Biases on the MLP projections (no released model uses them; refused on load).
	#[serde(default)]
	pub mlp_bias: bool,
	/// Mistral: attend to at most this many previous positions.
	#[serde(default)]
	pub sliding_window: Option<usize>,
	/// Qwen2-MoE: biases on q, k and v (its default: yes).
	#[serde(default)]
	pub qkv_bias: Option<bool>,
	/// Qwen2-MoE and Qwen3-MoE: the experts.
	#[serde(flatten)]
	pub moe: MoeConfig,
}

fn default_eps() -> f64 {
	1e-6
}

impl LlamaConfig {
	pub fn kv_heads(&self) -> usize {
		self.num_key_value_heads.unwrap_or(self.num_attention_heads)
	}

	pub fn head_dim(&self) -> usize {
		self.head_dim.unwrap_or(self.hidden_size / self.num_attention_heads)
	}

	pub fn family(&self) -> Family {
		self.model_type.as_deref().and_then(Family::from_model_type).unwrap_or(Family::Llama)
	}

	/// Qwen2 always has biases on q, k and v (its config does not say so); Qwen2-MoE unless its
	/// `qkv_bias` says no.
	fn qkv_bias(&self) -> bool {
		match self.family() {
			Family::Qwen2 => true,
			Family::Qwen2Moe => self.qkv_bias.unwrap_or(true),
			_ => self.attention_bias,
		}
	}

	/// Qwen3 (and Qwen3-MoE) normalise each query and key head before the rotation.
	fn qk_norm(&self) -> bool {
		matches!(self.family(), Family::Qwen3 | Family::Qwen3Moe)
	}

	/// Whether layer `i` has experts.
	fn sparse(&self, i: usize) -> bool {
		matches!(self.family(), Family::Qwen2Moe | Family::Qwen3Moe) && self.moe.sparse(i)
	}

	fn window(&self) -> Option<usize> {
		match self.family() {
			Family::Mistral => self.sliding_window,
			_ => None,
		}
	}

	/// Rotary inverse frequencies, with Llama 3 scaling when configured.
	pub fn inv_freq(&self) -> Vec<f64> {
		self.rope.inv_freq(self.head_dim())
	}
}

struct Layer {
	input_norm: Tensor,
	q: Linear,
	k: Linear,
	v: Linear,
	o: Linear,
	/// Qwen3's per-head norms of q and k.
	qk_norm: Option<(Tensor, Tensor)>,
	post_norm: Tensor,
	mlp: FeedForward,
}

pub struct Llama {
	pub cfg: LlamaConfig,
	embed: Tensor,
	layers: Vec<Layer>,
	norm: Tensor,
	lm_head: Linear,
	inv_freq: Vec<f64>,
	/// Dynamic NTK scaling, when configured: the frequencies follow each sequence's length.
	dynamic: Option<crate::ops::DynamicNtk>,
}

impl Llama {
	/// Everything up to the LM head: the final hidden states (batch, seq, hidden) after the last norm.
	fn trunk(&self, ids: &Tensor, pass: &mut Pass) -> Result<Tensor> {
		let (b, t) = ids.dims2()?;
		pass.check_rows(b)?;
		let dev = ids.device();
		let dtype = self.embed.dtype();
		let (nh, nkv, hd) =
			(self.cfg.num_attention_heads, self.cfg.kv_heads(), self.cfg.head_dim());
		let mut x =
			self.embed.embedding(&ids.flatten_all()?)?.reshape((b, t, self.cfg.hidden_size))?;
		let tables =
			pass.rope_tables(&self.inv_freq, self.dynamic.as_ref(), t, false, dtype, dev)?;
		let tables = crate::ops::scale_tables(tables, self.cfg.rope.attention_factor())?;
		let rotate = |g: usize, q: Tensor, k: Tensor| {
			let (cos, sin) = &tables[g];
			Ok((fast_rope(&q, cos, sin)?, fast_rope(&k, cos, sin)?))
		};
		let window = self.cfg.window();
		let eps = self.cfg.rms_norm_eps;
		for (i, l) in self.layers.iter().enumerate() {
			let h = fast_rms_norm(&x, &l.input_norm, eps)?;
			let split = |y: Tensor, heads: usize| y.reshape((b, t, heads, hd))?.transpose(1, 2);
			let (mut q, mut k) =
				(split(pass.linear(&l.q, &h)?, nh)?, split(pass.linear(&l.k, &h)?, nkv)?);
			if let Some((qn, kn)) = &l.qk_norm {
				(q, k) = (fast_rms_norm(&q, qn, eps)?, fast_rms_norm(&k, kn, eps)?);
			}
			let v = split(pass.linear(&l.v, &h)?, nkv)?;
			let att =
				pass.attend(i, q, k, v, rotate, |q, k, v, o| attention(q, k, v, o, window))?;
			x = (x + pass.linear(&l.o, &att)?)?;
			let h = fast_rms_norm(&x, &l.post_norm, eps)?;
			x = (x + l.mlp.forward(&h, pass)?)?;
		}
		pass.advance(t);
		fast_rms_norm(&x, &self.norm, eps)
	}

	/// Builds the model from Hugging Face-named tensors (e.g. `candle_core::safetensors::load`).
	pub fn from_tensors(
		cfg: LlamaConfig,
		w: HashMap<String, Tensor>,
		dtype: DType,
	) -> std::result::Result<Self, LoadError> {
		cfg.rope.check().map_err(LoadError::Config)?;
		cfg.moe.check().map_err(LoadError::Config)?;
		if cfg.mlp_bias {
			return Err(LoadError::Config("mlp_bias = true is not supported".into()));
		}
		let mut w = Weights::new(w, dtype);
		let (h, i, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
		let (qd, kvd) = (cfg.num_attention_heads * cfg.head_dim(), cfg.kv_heads() * cfg.head_dim());
		let embed = w.take("model.embed_tokens.weight", &[v, h])?;
		let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
		for l in 0..cfg.num_hidden_layers {
			let p = format!("model.layers.{l}");
			let mut lin = |name: &str, out: usize, inp: usize, bias: bool| {
				w.linear(&format!("{p}.{name}"), out, inp, bias)
			};
			let qkv_bias = cfg.qkv_bias();
			let q = lin("self_attn.q_proj", qd, h, qkv_bias)?;
			let k = lin("self_attn.k_proj", kvd, h, qkv_bias)?;
			let vv = lin("self_attn.v_proj", kvd, h, qkv_bias)?;
			let o = lin("self_attn.o_proj", h, qd, cfg.attention_bias)?;
			let hd = cfg.head_dim();
			let qk_norm = if cfg.qk_norm() {
				Some((
					w.take(&format!("{p}.self_attn.q_norm.weight"), &[hd])?,
					w.take(&format!("{p}.self_attn.k_norm.weight"), &[hd])?,
				))
			} else {
				None
			};
			let mlp = if cfg.sparse(l) {
				FeedForward::Experts(Box::new(Moe::load_qwen(
					&mut w,
					&format!("{p}.mlp"),
					&cfg.moe,
					h,
				)?))
			} else {
				FeedForward::Dense(Box::new(Mlp::load(&mut w, &format!("{p}.mlp"), h, i)?))
			};
			layers.push(Layer {
				input_norm: w.take(&format!("{p}.input_layernorm.weight"), &[h])?,
				q,
				k,
				v: vv,
				o,
				qk_norm,
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
		let inv_freq = cfg.inv_freq();
		let dynamic = cfg.rope.dynamic_ntk(cfg.head_dim());
		let lm_head = Linear::new(head, None);
		Ok(Self { cfg, embed, layers, norm, lm_head, inv_freq, dynamic })
	}
}

impl CausalLm for Llama {
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
			out.push((format!("{p}.self_attn.q_proj"), &mut l.q));
			out.push((format!("{p}.self_attn.k_proj"), &mut l.k));
			out.push((format!("{p}.self_attn.v_proj"), &mut l.v));
			out.push((format!("{p}.self_attn.o_proj"), &mut l.o));
			l.mlp.linears_mut(&format!("{p}.mlp"), &mut out);
		}
		out.push(("lm_head".into(), &mut self.lm_head));
		out
	}
}

/// Random weights of a config, by Hugging Face name (for tests and benchmarks).
pub fn random_weights(
	cfg: &LlamaConfig,
	seed: u64,
	dtype: DType,
) -> Result<HashMap<String, Tensor>> {
	let mut rng = crate::lora::rng(seed);
	let mut w = HashMap::new();
	let (h, i, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
	let (qd, kvd) = (cfg.num_attention_heads * cfg.head_dim(), cfg.kv_heads() * cfg.head_dim());
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
		for (n, o, inp) in
			[("q_proj", qd, h), ("k_proj", kvd, h), ("v_proj", kvd, h), ("o_proj", h, qd)]
		{
			put(format!("{p}.self_attn.{n}.weight"), &[o, inp], 0.3)?;
			let bias = if n == "o_proj" { cfg.attention_bias } else { cfg.qkv_bias() };
			if bias {
				put(format!("{p}.self_attn.{n}.bias"), &[o], 0.1)?;
			}
		}
		if cfg.qk_norm() {
			put(format!("{p}.self_attn.q_norm.weight"), &[cfg.head_dim()], 0.0)?;
			put(format!("{p}.self_attn.k_norm.weight"), &[cfg.head_dim()], 0.0)?;
		}
		let m = &cfg.moe;
		let mut mlp = |prefix: String, i: usize| {
			for (n, o, inp) in [("gate_proj", i, h), ("up_proj", i, h), ("down_proj", h, i)] {
				put(format!("{prefix}.{n}.weight"), &[o, inp], 0.3)?;
			}
			Ok::<_, candle_core::Error>(())
		};
		if cfg.sparse(l) {
			for e in 0..m.num_experts {
				mlp(format!("{p}.mlp.experts.{e}"), m.moe_intermediate_size)?;
			}
			if m.shared_expert_intermediate_size > 0 {
				mlp(format!("{p}.mlp.shared_expert"), m.shared_expert_intermediate_size)?;
			}
		} else {
			mlp(format!("{p}.mlp"), i)?;
		}
		if cfg.sparse(l) {
			put(format!("{p}.mlp.gate.weight"), &[m.num_experts, h], 0.3)?;
			if m.shared_expert_intermediate_size > 0 {
				put(format!("{p}.mlp.shared_expert_gate.weight"), &[1, h], 0.3)?;
			}
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
	use crate::ops::{masked_loss, RopeParameters};
	use crate::testutil::{self, batch};
	use candle_core::Device;

	fn tiny(model_type: &str) -> LlamaConfig {
		let mut c = serde_json::json!({
			"model_type": model_type,
			"vocab_size": 11, "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 2,
			"num_attention_heads": 2, "num_key_value_heads": 1, "rms_norm_eps": 1e-5,
			"rope_theta": 10000.0, "sliding_window": 3, "tie_word_embeddings": model_type == "qwen2",
		});
		if model_type.ends_with("_moe") {
			// Four experts, two per token; Qwen2-MoE with a shared expert and layer 1 dense.
			let moe = serde_json::json!({
				"num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 6,
				"norm_topk_prob": model_type == "qwen3_moe",
				"shared_expert_intermediate_size": if model_type == "qwen2_moe" { 10 } else { 0 },
				"mlp_only_layers": if model_type == "qwen2_moe" { vec![1] } else { vec![] },
			});
			c.as_object_mut().unwrap().extend(moe.as_object().unwrap().clone());
		}
		serde_json::from_value(c).unwrap()
	}

	const ALL: [&str; 7] =
		["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

	fn gradient_check(model_type: &str) {
		let cfg = tiny(model_type);
		let w = random_weights(&cfg, 7, DType::F64).unwrap();
		let family = cfg.family();
		let mut m = Llama::from_tensors(cfg, w, DType::F64).unwrap();
		let mut targets = ALL.to_vec();
		targets.push("shared_expert_gate");
		if family.moe_mlp_names() {
			targets.retain(|t| {
				t.ends_with("_proj") && !["gate_proj", "up_proj", "down_proj"].contains(t)
			});
		}
		testutil::lora_gradient_check(&mut m, &testutil::lora(2, &targets), 3);
	}

	/// The routing weights carry gradient back through the router's softmax to the adapters
	/// before them; the shared expert's gate through its sigmoid.
	#[test]
	fn mixture_of_experts_lora_gradients_match_finite_differences() {
		gradient_check("qwen2_moe");
		gradient_check("qwen3_moe");
	}

	#[test]
	fn experts_load_one_by_one_or_fused_alike() {
		let cfg = tiny("qwen3_moe");
		let w = random_weights(&cfg, 7, DType::F64).unwrap();
		let (ids, _, _) = batch();
		let one_by_one = Llama::from_tensors(cfg.clone(), w.clone(), DType::F64).unwrap();
		// Transformers 5's layout: gate and up stacked per expert, all experts in one tensor.
		let mut fused = w.clone();
		for l in 0..2 {
			let p = format!("model.layers.{l}.mlp.experts");
			let (mut gate_up, mut down) = (vec![], vec![]);
			for e in 0..4 {
				let mut take = |n: &str| fused.remove(&format!("{p}.{e}.{n}.weight")).unwrap();
				let (g, u, d) = (take("gate_proj"), take("up_proj"), take("down_proj"));
				gate_up.push(Tensor::cat(&[g, u], 0).unwrap());
				down.push(d);
			}
			fused.insert(format!("{p}.gate_up_proj"), Tensor::stack(&gate_up, 0).unwrap());
			fused.insert(format!("{p}.down_proj"), Tensor::stack(&down, 0).unwrap());
		}
		let fused = Llama::from_tensors(cfg.clone(), fused, DType::F64).unwrap();
		let d = testutil::max_diff(
			&one_by_one.forward(&ids, false).unwrap(),
			&fused.forward(&ids, false).unwrap(),
		);
		assert_eq!(d, 0.0);
		// A config that asks more experts per token than there are is refused.
		let mut bad = cfg;
		bad.moe.num_experts_per_tok = 5;
		let e = Llama::from_tensors(bad, w, DType::F64).err().unwrap();
		assert_eq!(e.to_string(), "num_experts_per_tok is 5 for 4 experts");
	}

	#[test]
	fn llama_lora_gradients_match_finite_differences() {
		gradient_check("llama");
	}

	#[test]
	fn mistral_and_qwen_lora_gradients_match_finite_differences() {
		gradient_check("mistral");
		gradient_check("qwen2");
		gradient_check("qwen3");
	}

	#[test]
	fn a_fresh_adapter_leaves_the_logits_unchanged_and_attention_is_causal() {
		let cfg = tiny("llama");
		let w = random_weights(&cfg, 7, DType::F64).unwrap();
		let mut m = Llama::from_tensors(cfg, w, DType::F64).unwrap();
		let (ids, _, _) = batch();
		let base = m.forward(&ids, false).unwrap();
		m.attach_lora(&testutil::lora(2, &ALL), 3).unwrap();
		let with = m.forward(&ids, false).unwrap();
		let d = (&base - &with).unwrap().abs().unwrap().max_all().unwrap();
		assert_eq!(d.to_scalar::<f64>().unwrap(), 0.0);
		// Changing the last token changes no earlier position's logits.
		let other = Tensor::new(&[[1u32, 4, 2, 9, 8], [7, 7, 0, 5, 2]], &Device::Cpu).unwrap();
		let o = m.forward(&other, false).unwrap();
		let d = (base.narrow(1, 0, 4).unwrap() - o.narrow(1, 0, 4).unwrap())
			.unwrap()
			.abs()
			.unwrap()
			.max_all()
			.unwrap();
		assert_eq!(d.to_scalar::<f64>().unwrap(), 0.0);
	}

	#[test]
	fn the_loss_is_a_mean_over_counted_positions_in_any_dtype() {
		let (_, targets, mask) = batch();
		let logits = Tensor::zeros((2, 5, 11), DType::F64, &Device::Cpu).unwrap();
		// Uniform logits: every counted position costs ln(11), so the mean is ln(11).
		let want = (11f64).ln();
		let l64 = masked_loss(&logits, &targets, &mask).unwrap().to_scalar::<f64>().unwrap();
		assert!((l64 - want).abs() < 1e-12, "{l64}");
		let (lf, mf) = (logits.to_dtype(DType::F32).unwrap(), mask.to_dtype(DType::F32).unwrap());
		let l32 = masked_loss(&lf, &targets, &mf).unwrap().to_scalar::<f32>().unwrap();
		assert!((l32 as f64 - want).abs() < 1e-5, "{l32}");
	}

	#[test]
	fn missing_or_misshapen_weights_are_named() {
		let cfg = tiny("llama");
		let mut w = random_weights(&cfg, 7, DType::F32).unwrap();
		w.remove("model.layers.1.mlp.up_proj.weight");
		let e = Llama::from_tensors(cfg.clone(), w, DType::F32).err().unwrap();
		assert_eq!(e.to_string(), "the checkpoint has no tensor model.layers.1.mlp.up_proj.weight");
		let mut w = random_weights(&cfg, 7, DType::F32).unwrap();
		w.insert("model.norm.weight".into(), Tensor::zeros(7, DType::F32, &Device::Cpu).unwrap());
		let e = Llama::from_tensors(cfg, w, DType::F32).err().unwrap();
		assert!(e.to_string().contains("model.norm.weight has shape [7]"), "{e}");
	}

	#[test]
	fn linear_rope_scaling_divides_every_frequency_by_its_factor() {
		// DeepSeek-Coder v1's config (transformers 4 layout, `type`), and transformers 5's.
		let mut cfg = tiny("llama");
		cfg.rope = RopeConfig { rope_theta: Some(100000.0), ..Default::default() };
		let base = cfg.inv_freq();
		for v in [
			serde_json::json!({"rope_theta": 100000.0, "rope_scaling": {"type": "linear", "factor": 4.0}}),
			serde_json::json!({"rope_parameters": {"rope_type": "linear", "rope_theta": 100000.0,
				"factor": 4.0}}),
		] {
			cfg.rope = serde_json::from_value(v).unwrap();
			assert_eq!(cfg.rope.check(), Ok(()));
			let f = cfg.inv_freq();
			assert_eq!(f.len(), base.len());
			for (s, b) in f.iter().zip(&base) {
				assert!((s * 4.0 - b).abs() <= 1e-15 * b, "{s} {b}");
			}
		}
		for bad in [
			serde_json::json!({"type": "linear"}),
			serde_json::json!({"type": "linear", "factor": 0.0}),
		] {
			cfg.rope = serde_json::from_value(serde_json::json!({ "rope_scaling": bad })).unwrap();
			assert!(cfg.rope.check().unwrap_err().contains("positive factor"));
		}
		// Dynamic NTK needs the context it stretches; LongRoPE is not implemented.
		cfg.rope = serde_json::from_value(
			serde_json::json!({"rope_scaling": {"type": "dynamic", "factor": 2.0}}),
		)
		.unwrap();
		assert!(cfg.rope.check().unwrap_err().contains("needs max_position_embeddings"));
		cfg.rope.max_position_embeddings = Some(16);
		assert_eq!(cfg.rope.check(), Ok(()));
		cfg.rope = serde_json::from_value(
			serde_json::json!({"rope_scaling": {"type": "longrope", "factor": 2.0}}),
		)
		.unwrap();
		assert!(cfg.rope.check().unwrap_err().contains("\"longrope\" is not supported"));
	}

	#[test]
	fn llama3_rope_scaling_follows_the_reference_formula() {
		let mut cfg = tiny("llama");
		cfg.head_dim = Some(128);
		// The transformers 4 layout (rope_theta + rope_scaling) and 5 (rope_parameters) agree.
		let v4 = serde_json::json!({"rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3",
			"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
			"original_max_position_embeddings": 8192}});
		let v5 = serde_json::json!({"rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0,
			"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
			"original_max_position_embeddings": 8192}});
		cfg.rope = serde_json::from_value(v4).unwrap();
		let f = cfg.inv_freq();
		cfg.rope = serde_json::from_value(v5).unwrap();
		assert_eq!(cfg.inv_freq(), f);
		cfg.rope = RopeConfig {
			rope_theta: Some(500000.0),
			rope_scaling: None,
			rope_parameters: Some(RopeParameters::default()),
			max_position_embeddings: None,
		};
		let base = cfg.inv_freq();
		// High frequencies (short wavelengths) are kept, low ones divided by the factor.
		assert_eq!(f[0], base[0]);
		assert!((f[63] - base[63] / 8.0).abs() < 1e-18);
		// In between, a smooth blend: strictly between the two.
		let mid =
			(0..64).find(|&i| f[i] != base[i] && (f[i] - base[i] / 8.0).abs() > 1e-18).unwrap();
		assert!(f[mid] < base[mid] && f[mid] > base[mid] / 8.0);
	}
}
