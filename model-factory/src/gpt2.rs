//! GPT-2 (`GPT2LMHeadModel`), written here: candle-transformers has no GPT-2.
//!
//! Learned absolute positions, pre-LayerNorm blocks, fused `c_attn` (q, k, v), `gelu_new`, and an LM
//! head tied to the token embedding. Hugging Face stores GPT-2's projections as `Conv1D`, with weights
//! of shape (in, out); they are transposed on load into the (out, in) layout of [`Linear`]. LoRA
//! shapes are the same either way (PEFT sets `fan_in_fan_out` only for merging), so adapters target
//! `c_attn`, `c_proj` (both the attention and the MLP one, as PEFT's suffix match does) and `c_fc`.

use crate::fused::fast_layer_norm as layer_norm;
use crate::lora::Linear;
use crate::model::{CausalLm, Family, Head};
use crate::pass::Pass;
use crate::weights::{LoadError, Weights};
use candle_core::{DType, Result, Tensor, D};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Gpt2Config {
	pub vocab_size: usize,
	pub n_positions: usize,
	pub n_embd: usize,
	pub n_layer: usize,
	pub n_head: usize,
	#[serde(default)]
	pub n_inner: Option<usize>,
	#[serde(default = "default_eps")]
	pub layer_norm_epsilon: f64,
}

fn default_eps() -> f64 {
	1e-5
}

struct Block {
	ln1: (Tensor, Tensor),
	attn: Linear,
	proj: Linear,
	ln2: (Tensor, Tensor),
	fc: Linear,
	fc_proj: Linear,
}

pub struct Gpt2 {
	pub cfg: Gpt2Config,
	wte: Tensor,
	wpe: Tensor,
	blocks: Vec<Block>,
	ln_f: (Tensor, Tensor),
}

impl Gpt2 {
	/// Everything up to the LM head: the final hidden states (batch, seq, hidden) after the last norm.
	fn trunk(&self, ids: &Tensor, pass: &mut Pass) -> Result<Tensor> {
		let (b, t) = ids.dims2()?;
		pass.check_rows(b)?;
		if pass.end(t) > self.cfg.n_positions {
			candle_core::bail!(
				"{} tokens exceed GPT-2's {} positions",
				pass.end(t),
				self.cfg.n_positions
			);
		}
		let (e, nh) = (self.cfg.n_embd, self.cfg.n_head);
		let hd = e / nh;
		let eps = self.cfg.layer_norm_epsilon;
		let tok = self.wte.embedding(&ids.flatten_all()?)?.reshape((b, t, e))?;
		let pos = pass.positions(b, t, ids.device())?.flatten_all()?;
		let mut x = (tok + self.wpe.embedding(&pos)?.reshape((b, t, e))?)?;
		let keep = |_: usize, q: Tensor, k: Tensor| Ok((q, k));
		for (i, blk) in self.blocks.iter().enumerate() {
			let h = layer_norm(&x, &blk.ln1.0, &blk.ln1.1, eps)?;
			let qkv = pass.linear(&blk.attn, &h)?;
			let heads = |i: usize| {
				qkv.narrow(D::Minus1, i * e, e)?
					.reshape((b, t, nh, hd))?
					.transpose(1, 2)?
					.contiguous()
			};
			let (q, k, v) = (heads(0)?, heads(1)?, heads(2)?);
			let att = pass
				.attend(i, q, k, v, keep, |q, k, v, o| crate::fused::attention(q, k, v, o, None))?;
			x = (x + pass.linear(&blk.proj, &att)?)?;
			let h = layer_norm(&x, &blk.ln2.0, &blk.ln2.1, eps)?;
			let m = pass.linear(&blk.fc_proj, &pass.linear(&blk.fc, &h)?.gelu()?)?;
			x = (x + m)?;
		}
		pass.advance(t);
		layer_norm(&x, &self.ln_f.0, &self.ln_f.1, eps)
	}

	/// Builds the model from Hugging Face names, with or without the `transformer.` prefix.
	pub fn from_tensors(
		cfg: Gpt2Config,
		w: HashMap<String, Tensor>,
		dtype: DType,
	) -> std::result::Result<Self, LoadError> {
		let w: HashMap<String, Tensor> = w
			.into_iter()
			.map(|(k, v)| (k.strip_prefix("transformer.").map(str::to_string).unwrap_or(k), v))
			.collect();
		let mut w = Weights::new(w, dtype);
		let mut take = |name: &str, shape: &[usize]| w.take(name, shape);
		let (e, v) = (cfg.n_embd, cfg.vocab_size);
		let inner = cfg.n_inner.unwrap_or(4 * e);
		let wte = take("wte.weight", &[v, e])?;
		let wpe = take("wpe.weight", &[cfg.n_positions, e])?;
		let mut blocks = Vec::with_capacity(cfg.n_layer);
		for i in 0..cfg.n_layer {
			let p = format!("h.{i}");
			let mut ln = |n: &str| {
				Ok::<_, LoadError>((
					take(&format!("{p}.{n}.weight"), &[e])?,
					take(&format!("{p}.{n}.bias"), &[e])?,
				))
			};
			let ln1 = ln("ln_1")?;
			let ln2 = ln("ln_2")?;
			// Conv1D: weight (in, out) -> Linear (out, in).
			let mut conv = |n: &str, inp: usize, out: usize| {
				let wt = take(&format!("{p}.{n}.weight"), &[inp, out])?.t()?.contiguous()?;
				Ok::<_, LoadError>(Linear::new(wt, Some(take(&format!("{p}.{n}.bias"), &[out])?)))
			};
			blocks.push(Block {
				ln1,
				attn: conv("attn.c_attn", e, 3 * e)?,
				proj: conv("attn.c_proj", e, e)?,
				ln2,
				fc: conv("mlp.c_fc", e, inner)?,
				fc_proj: conv("mlp.c_proj", inner, e)?,
			});
		}
		let ln_f = (take("ln_f.weight", &[e])?, take("ln_f.bias", &[e])?);
		Ok(Self { cfg, wte, wpe, blocks, ln_f })
	}
}

impl CausalLm for Gpt2 {
	fn family(&self) -> Family {
		Family::Gpt2
	}
	fn embeddings(&self) -> &Tensor {
		&self.wte
	}
	fn num_layers(&self) -> usize {
		self.blocks.len()
	}
	fn max_positions(&self) -> Option<usize> {
		Some(self.cfg.n_positions)
	}
	fn run(&self, ids: &Tensor, pass: &mut Pass) -> Result<Tensor> {
		let h = self.trunk(ids, pass)?;
		crate::ops::frozen_linear(&pass.head_input(h)?, &self.wte)
	}
	fn hidden_and_head(&self, ids: &Tensor, train: bool) -> Result<Option<(Tensor, Head<'_>)>> {
		Ok(Some((self.trunk(ids, &mut Pass::plain(train))?, Head::Tied(&self.wte))))
	}
	/// The adaptable layers by module path (as PEFT names them under `base_model.model.`).
	fn linears_mut(&mut self) -> Vec<(String, &mut Linear)> {
		let mut out = Vec::new();
		for (i, b) in self.blocks.iter_mut().enumerate() {
			let p = format!("transformer.h.{i}");
			out.push((format!("{p}.attn.c_attn"), &mut b.attn));
			out.push((format!("{p}.attn.c_proj"), &mut b.proj));
			out.push((format!("{p}.mlp.c_fc"), &mut b.fc));
			out.push((format!("{p}.mlp.c_proj"), &mut b.fc_proj));
		}
		out
	}
}

/// Random weights of a config under Hugging Face names (Conv1D layout), for tests.
pub fn random_weights(
	cfg: &Gpt2Config,
	seed: u64,
	dtype: DType,
) -> Result<HashMap<String, Tensor>> {
	let mut rng = crate::lora::rng(seed);
	let (e, v) = (cfg.n_embd, cfg.vocab_size);
	let inner = cfg.n_inner.unwrap_or(4 * e);
	let mut w = HashMap::new();
	let mut put = |name: String, shape: &[usize], std: f64, mean: f64| -> Result<()> {
		let t = (crate::lora::randn(shape, std, &mut rng, dtype)? + mean)?;
		w.insert(name, t);
		Ok(())
	};
	put("transformer.wte.weight".into(), &[v, e], 0.5, 0.0)?;
	put("transformer.wpe.weight".into(), &[cfg.n_positions, e], 0.1, 0.0)?;
	for i in 0..cfg.n_layer {
		let p = format!("transformer.h.{i}");
		for n in ["ln_1", "ln_2"] {
			put(format!("{p}.{n}.weight"), &[e], 0.1, 1.0)?;
			put(format!("{p}.{n}.bias"), &[e], 0.1, 0.0)?;
		}
		for (n, inp, out) in [
			("attn.c_attn", e, 3 * e),
			("attn.c_proj", e, e),
			("mlp.c_fc", e, inner),
			("mlp.c_proj", inner, e),
		] {
			put(format!("{p}.{n}.weight"), &[inp, out], 0.3, 0.0)?;
			put(format!("{p}.{n}.bias"), &[out], 0.1, 0.0)?;
		}
	}
	put("transformer.ln_f.weight".into(), &[e], 0.1, 1.0)?;
	put("transformer.ln_f.bias".into(), &[e], 0.1, 0.0)?;
	Ok(w)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::testutil;
	use candle_core::Device;

	fn tiny() -> Gpt2Config {
		serde_json::from_value(serde_json::json!({
			"vocab_size": 13, "n_positions": 8, "n_embd": 8, "n_layer": 2, "n_head": 2,
		}))
		.unwrap()
	}

	#[test]
	fn gpt2_lora_gradients_match_finite_differences() {
		let cfg = tiny();
		let w = random_weights(&cfg, 3, DType::F64).unwrap();
		let mut m = Gpt2::from_tensors(cfg, w, DType::F64).unwrap();
		let targets = testutil::lora(2, &["c_attn", "c_proj", "c_fc"]);
		testutil::lora_gradient_check(&mut m, &targets, 5);
		assert_eq!(m.lora_vars().len(), 16, "2 blocks x 4 modules x (A, B)");
	}

	#[test]
	fn cached_generation_matches_recomputation() {
		let cfg = tiny();
		let m = Gpt2::from_tensors(
			cfg.clone(),
			random_weights(&cfg, 4, DType::F32).unwrap(),
			DType::F32,
		)
		.unwrap();
		let s = crate::generate::Sampling { max_new_tokens: 5, ..Default::default() };
		let got = crate::generate::generate(&m, &[3, 1, 4], &s, |_| true).unwrap();
		assert_eq!(got, testutil::greedy_uncached(&m, &[3, 1, 4], 5));
		// The 8 positions hold the prompt and 5 new tokens, whose logits give a 6th; then it stops.
		let s = crate::generate::Sampling { max_new_tokens: 20, ..s };
		assert_eq!(crate::generate::generate(&m, &[3, 1, 4], &s, |_| true).unwrap().len(), 6);
		let e = crate::generate::generate(&m, &[1; 9], &s, |_| true).unwrap_err();
		assert!(e.to_string().contains("exceed"), "{e}");
	}

	#[test]
	fn conv1d_weights_are_transposed_and_positions_bounded() {
		let cfg = tiny();
		let w = random_weights(&cfg, 3, DType::F32).unwrap();
		// With the transformer. prefix stripped, loading still works (GPT2Model checkpoints).
		let bare: HashMap<String, Tensor> = w
			.iter()
			.map(|(k, v)| (k.trim_start_matches("transformer.").to_string(), v.clone()))
			.collect();
		let a = Gpt2::from_tensors(cfg.clone(), w.clone(), DType::F32).unwrap();
		let b = Gpt2::from_tensors(cfg.clone(), bare, DType::F32).unwrap();
		let ids = Tensor::new(&[[1u32, 2, 3]], &Device::Cpu).unwrap();
		let (x, y) = (a.forward(&ids, false).unwrap(), b.forward(&ids, false).unwrap());
		assert_eq!(x.to_vec3::<f32>().unwrap(), y.to_vec3::<f32>().unwrap());
		// c_fc is (in=8, out=32) in the checkpoint; a (32, 8) tensor there is refused by name.
		let mut bad = w.clone();
		bad.insert(
			"transformer.h.0.mlp.c_fc.weight".into(),
			Tensor::zeros((32, 8), DType::F32, &Device::Cpu).unwrap(),
		);
		let e = Gpt2::from_tensors(cfg.clone(), bad, DType::F32).err().unwrap();
		assert!(e.to_string().contains("h.0.mlp.c_fc.weight has shape [32, 8]"), "{e}");
		let long = Tensor::zeros((1, 9), DType::U32, &Device::Cpu).unwrap();
		assert!(a.forward(&long, false).unwrap_err().to_string().contains("exceed"));
	}
}
