//! Mixture-of-experts feed-forward blocks, as Qwen2-MoE and Qwen3-MoE have them: a router scores
//! every expert for each token (softmax over `x Wᵣᵀ`), the token runs through its top k experts
//! (SwiGLU MLPs), and their outputs are summed weighted by those probabilities (renormalised over
//! the k when `norm_topk_prob`). Qwen2-MoE adds a shared expert on every token, scaled by
//! `sigmoid(x · w_gate)`.
//!
//! The routed experts and the router are frozen: LoRA adapts the attention, the shared expert and
//! the dense layers (what PEFT reaches on transformers' fused 3-D expert weights with
//! `target_modules`). The choice of experts carries no gradient (it is a top-k); their weights do,
//! through the router's softmax, back to the adapters of earlier layers. No load-balancing loss is
//! added (transformers adds one only when asked for router logits, for pre-training).
//!
//! Checkpoints name the experts either one by one (`mlp.experts.<e>.gate_proj.weight`, as released
//! on the Hub) or fused (`mlp.experts.gate_up_proj`, as transformers 5 saves them); both load.

use crate::lora::Linear;
use crate::ops::{frozen_linear, softmax};
use crate::pass::Pass;
use crate::weights::{LoadError, Weights};
use candle_core::{DType, Module, Result, Tensor};
use serde::Deserialize;

/// The mixture-of-experts fields of a Qwen2-MoE / Qwen3-MoE `config.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MoeConfig {
	/// Routed experts per sparse layer (0: no sparse layer). Transformers 5 writes Qwen3-MoE's as
	/// `num_local_experts`; the Hub's configs say `num_experts`.
	#[serde(default, alias = "num_local_experts")]
	pub num_experts: usize,
	/// Experts each token runs through.
	#[serde(default)]
	pub num_experts_per_tok: usize,
	#[serde(default)]
	pub moe_intermediate_size: usize,
	/// Qwen2-MoE's shared expert (absent or 0: none).
	#[serde(default)]
	pub shared_expert_intermediate_size: usize,
	/// Renormalise the top k probabilities to sum to one.
	#[serde(default)]
	pub norm_topk_prob: bool,
	/// Every `decoder_sparse_step`-th layer is sparse (counting from 1) ...
	#[serde(default = "one")]
	pub decoder_sparse_step: usize,
	/// ... except these, which keep a dense MLP.
	#[serde(default)]
	pub mlp_only_layers: Vec<usize>,
}

fn one() -> usize {
	1
}

impl MoeConfig {
	/// Whether layer `i` has experts (transformers' rule).
	pub fn sparse(&self, i: usize) -> bool {
		self.num_experts > 0
			&& !self.mlp_only_layers.contains(&i)
			&& (i + 1).is_multiple_of(self.decoder_sparse_step.max(1))
	}

	pub fn check(&self) -> std::result::Result<(), String> {
		if self.num_experts > 0
			&& (self.num_experts_per_tok == 0 || self.num_experts_per_tok > self.num_experts)
		{
			return Err(format!(
				"num_experts_per_tok is {} for {} experts",
				self.num_experts_per_tok, self.num_experts
			));
		}
		if self.num_experts > 0 && self.moe_intermediate_size == 0 {
			return Err("moe_intermediate_size is missing".into());
		}
		Ok(())
	}
}

/// A SwiGLU MLP that LoRA may adapt (dense layers, the shared expert).
pub struct Mlp {
	pub gate: Linear,
	pub up: Linear,
	pub down: Linear,
}

impl Mlp {
	pub fn load(
		w: &mut Weights,
		prefix: &str,
		hidden: usize,
		inner: usize,
	) -> std::result::Result<Self, LoadError> {
		let mut lin = |name: &str, out: usize, inp: usize| {
			Ok::<_, LoadError>(Linear::new(
				w.take(&format!("{prefix}.{name}.weight"), &[out, inp])?,
				None,
			))
		};
		Ok(Self {
			gate: lin("gate_proj", inner, hidden)?,
			up: lin("up_proj", inner, hidden)?,
			down: lin("down_proj", hidden, inner)?,
		})
	}

	/// `linear` applies an adaptable layer (the pass's, or one row's).
	fn run(
		&self,
		x: &Tensor,
		linear: &impl Fn(&Linear, &Tensor) -> Result<Tensor>,
	) -> Result<Tensor> {
		let h = crate::fused::fast_swiglu(&linear(&self.gate, x)?, &linear(&self.up, x)?)?;
		linear(&self.down, &h)
	}

	pub fn forward(&self, x: &Tensor, pass: &Pass) -> Result<Tensor> {
		self.run(x, &|l, x| pass.linear(l, x))
	}

	fn linears_mut<'a>(&'a mut self, prefix: &str, out: &mut Vec<(String, &'a mut Linear)>) {
		out.push((format!("{prefix}.gate_proj"), &mut self.gate));
		out.push((format!("{prefix}.up_proj"), &mut self.up));
		out.push((format!("{prefix}.down_proj"), &mut self.down));
	}
}

/// One sparse layer's experts.
pub struct Moe {
	/// (experts, hidden): the router's logits are `x Wᵀ`.
	router: Tensor,
	/// Per expert: gate and up stacked (2 × inner, hidden), and down (hidden, inner).
	experts: Vec<(Tensor, Tensor)>,
	top_k: usize,
	norm_topk: bool,
	/// The shared expert and its gate (hidden → 1).
	shared: Option<(Mlp, Linear)>,
}

impl Moe {
	/// Layer `prefix`'s `mlp` (e.g. `model.layers.3.mlp`), in either expert layout.
	pub fn load(
		w: &mut Weights,
		prefix: &str,
		cfg: &MoeConfig,
		hidden: usize,
	) -> std::result::Result<Self, LoadError> {
		let (n, inner) = (cfg.num_experts, cfg.moe_intermediate_size);
		let router = w.take(&format!("{prefix}.gate.weight"), &[n, hidden])?;
		let fused = format!("{prefix}.experts.gate_up_proj");
		let experts = if w.has(&fused) {
			let gate_up = w.take(&fused, &[n, 2 * inner, hidden])?;
			let down = w.take(&format!("{prefix}.experts.down_proj"), &[n, hidden, inner])?;
			(0..n)
				.map(|e| Ok((gate_up.get(e)?.contiguous()?, down.get(e)?.contiguous()?)))
				.collect::<Result<Vec<_>>>()?
		} else {
			let mut out = Vec::with_capacity(n);
			for e in 0..n {
				let p = format!("{prefix}.experts.{e}");
				let gate = w.take(&format!("{p}.gate_proj.weight"), &[inner, hidden])?;
				let up = w.take(&format!("{p}.up_proj.weight"), &[inner, hidden])?;
				let down = w.take(&format!("{p}.down_proj.weight"), &[hidden, inner])?;
				out.push((Tensor::cat(&[&gate, &up], 0)?, down));
			}
			out
		};
		let shared = if cfg.shared_expert_intermediate_size > 0 {
			let mlp = Mlp::load(
				w,
				&format!("{prefix}.shared_expert"),
				hidden,
				cfg.shared_expert_intermediate_size,
			)?;
			let gate = Linear::new(
				w.take(&format!("{prefix}.shared_expert_gate.weight"), &[1, hidden])?,
				None,
			);
			Some((mlp, gate))
		} else {
			None
		};
		Ok(Self {
			router,
			experts,
			top_k: cfg.num_experts_per_tok,
			norm_topk: cfg.norm_topk_prob,
			shared,
		})
	}

	/// `x` (batch, seq, hidden) through the experts. With an adapter per row (batched serving),
	/// each row's tokens run through the layers with that row's adapter.
	pub fn forward(&self, x: &Tensor, pass: &Pass) -> Result<Tensor> {
		let (b, t, h) = x.dims3()?;
		if !pass.has_row_adapters() {
			let y = self.tokens(&x.reshape((b * t, h))?, &|l, x| pass.linear(l, x))?;
			return y.reshape((b, t, h));
		}
		let rows = (0..b)
			.map(|r| {
				let linear = |l: &Linear, x: &Tensor| pass.linear_row(l, x, r);
				self.tokens(&x.get(r)?, &linear)
			})
			.collect::<Result<Vec<_>>>()?;
		Tensor::stack(&rows, 0)
	}

	/// Tokens `x` (n, hidden) through their experts; `linear` applies an adaptable layer.
	fn tokens(
		&self,
		x: &Tensor,
		linear: &impl Fn(&Linear, &Tensor) -> Result<Tensor>,
	) -> Result<Tensor> {
		let (n, h) = x.dims2()?;
		let probs = softmax(&frozen_linear(x, &self.router)?)?;
		let chosen = top_k(&probs.to_dtype(DType::F64)?.to_vec2::<f64>()?, self.top_k);
		// The chosen probabilities, (n, k): the gradient's path back to the hidden states.
		let idx: Vec<u32> = chosen.iter().flatten().map(|&e| e as u32).collect();
		let idx = Tensor::from_vec(idx, (n, self.top_k), x.device())?;
		let mut weights = probs.gather(&idx, 1)?;
		if self.norm_topk {
			weights = weights.broadcast_div(&weights.sum_keepdim(1)?)?;
		}
		let weights = weights.flatten_all()?;
		let mut out = x.zeros_like()?;
		for (e, (gate_up, down)) in self.experts.iter().enumerate() {
			// The tokens that chose expert e, and where in their (n, k) slots.
			let (tokens, slots): (Vec<u32>, Vec<u32>) = chosen
				.iter()
				.enumerate()
				.filter_map(|(i, c)| {
					c.iter().position(|&x| x == e).map(|s| (i as u32, (i * self.top_k + s) as u32))
				})
				.unzip();
			if tokens.is_empty() {
				continue;
			}
			let m = tokens.len();
			let tokens = Tensor::from_vec(tokens, m, x.device())?;
			let slots = Tensor::from_vec(slots, m, x.device())?;
			let xe = x.index_select(&tokens, 0)?;
			let gu = frozen_linear(&xe, gate_up)?;
			let inner = gu.dim(1)? / 2;
			let act =
				crate::fused::fast_swiglu(&gu.narrow(1, 0, inner)?, &gu.narrow(1, inner, inner)?)?;
			let ye = frozen_linear(&act, down)?;
			let ye = ye.broadcast_mul(&weights.index_select(&slots, 0)?.unsqueeze(1)?)?;
			out = out.index_add(&tokens, &ye, 0)?;
		}
		if let Some((mlp, gate)) = &self.shared {
			let g = candle_nn::Activation::Sigmoid.forward(&linear(gate, x)?)?;
			out = (out + mlp.run(x, linear)?.broadcast_mul(&g)?)?;
		}
		debug_assert_eq!(out.dims(), [n, h]);
		Ok(out)
	}

	pub fn linears_mut<'a>(&'a mut self, prefix: &str, out: &mut Vec<(String, &'a mut Linear)>) {
		if let Some((mlp, gate)) = &mut self.shared {
			mlp.linears_mut(&format!("{prefix}.shared_expert"), out);
			out.push((format!("{prefix}.shared_expert_gate"), gate));
		}
	}
}

/// A layer's feed-forward part: dense, or experts.
pub enum FeedForward {
	Dense(Box<Mlp>),
	Experts(Box<Moe>),
}

impl FeedForward {
	pub fn forward(&self, x: &Tensor, pass: &Pass) -> Result<Tensor> {
		match self {
			FeedForward::Dense(m) => m.forward(x, pass),
			FeedForward::Experts(m) => m.forward(x, pass),
		}
	}

	pub fn linears_mut<'a>(&'a mut self, prefix: &str, out: &mut Vec<(String, &'a mut Linear)>) {
		match self {
			FeedForward::Dense(m) => m.linears_mut(prefix, out),
			FeedForward::Experts(m) => m.linears_mut(prefix, out),
		}
	}
}

/// Each row's `k` largest entries, largest first (ties: the lower index first).
fn top_k(probs: &[Vec<f64>], k: usize) -> Vec<Vec<usize>> {
	probs
		.iter()
		.map(|p| {
			let mut order: Vec<usize> = (0..p.len()).collect();
			order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
			order.truncate(k);
			order
		})
		.collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn top_k_takes_the_largest_lower_index_first_on_ties() {
		let p = vec![vec![0.1, 0.4, 0.1, 0.4], vec![0.7, 0.1, 0.1, 0.1]];
		assert_eq!(top_k(&p, 2), vec![vec![1, 3], vec![0, 1]]);
	}

	#[test]
	fn sparse_layers_follow_the_step_and_the_dense_list() {
		let cfg: MoeConfig = serde_json::from_value(serde_json::json!({
			"num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 8,
			"decoder_sparse_step": 2, "mlp_only_layers": [3]
		}))
		.unwrap();
		let sparse: Vec<bool> = (0..6).map(|i| cfg.sparse(i)).collect();
		assert_eq!(sparse, [false, true, false, false, false, true]);
		let none: MoeConfig = serde_json::from_value(serde_json::json!({})).unwrap();
		assert!(!none.sparse(0));
		let bad: MoeConfig = serde_json::from_value(
			serde_json::json!({"num_experts": 4, "num_experts_per_tok": 5, "moe_intermediate_size": 8}),
		)
		.unwrap();
		assert!(bad.check().unwrap_err().contains("num_experts_per_tok is 5 for 4 experts"));
	}
}
