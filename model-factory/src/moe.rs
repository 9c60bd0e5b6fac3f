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
			w.linear(&format!("{prefix}.{name}"), out, inp, false)
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

/// How a router turns its logits into each token's experts and their weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
	pub top_k: usize,
	/// Sigmoid scores (DeepSeek-V3) instead of a softmax over the experts.
	pub sigmoid: bool,
	/// Added to the scores for the choice only, not to the weights (DeepSeek-V3's
	/// `e_score_correction_bias`).
	pub choice_bias: Option<Vec<f64>>,
	/// Group-limited choice: the experts in `groups` equal groups, the top k taken only from the
	/// `keep` best groups (by their best score, or by the sum of their best two with
	/// `group_by_top2`). `groups = 1`: no limit.
	pub groups: usize,
	pub keep: usize,
	pub group_by_top2: bool,
	/// Renormalise the chosen weights to sum to one.
	pub normalize: bool,
	/// Multiplies the weights (DeepSeek's `routed_scaling_factor`).
	pub scale: f64,
}

impl Routing {
	/// Qwen's: softmax, top k, optionally renormalised.
	pub fn softmax(top_k: usize, normalize: bool) -> Self {
		Self {
			top_k,
			sigmoid: false,
			choice_bias: None,
			groups: 1,
			keep: 1,
			group_by_top2: false,
			normalize,
			scale: 1.0,
		}
	}

	/// Each token's chosen experts, by their scores (experts per row).
	fn choose(&self, scores: &[Vec<f64>]) -> Vec<Vec<usize>> {
		scores
			.iter()
			.map(|row| {
				let mut s = row.clone();
				if let Some(b) = &self.choice_bias {
					s.iter_mut().zip(b).for_each(|(x, b)| *x += b);
				}
				if self.groups > 1 {
					let size = s.len() / self.groups;
					let group_score = |g: &[f64]| {
						let mut v = g.to_vec();
						v.sort_by(|a, b| b.total_cmp(a));
						if self.group_by_top2 {
							v.iter().take(2).sum()
						} else {
							v[0]
						}
					};
					let scored: Vec<Vec<f64>> =
						s.chunks(size).map(|g| vec![group_score(g)]).collect();
					let kept: Vec<usize> =
						top_k(&scored.iter().map(|g| g[0]).collect::<Vec<_>>(), self.keep);
					for (g, chunk) in s.chunks_mut(size).enumerate() {
						if !kept.contains(&g) {
							chunk.iter_mut().for_each(|x| *x = f64::NEG_INFINITY);
						}
					}
				}
				top_k(&s, self.top_k)
			})
			.collect()
	}
}

/// A shared expert: on every token, alone (DeepSeek) or scaled by `sigmoid(x · w)` (Qwen2-MoE).
pub struct Shared {
	pub mlp: Mlp,
	pub gate: Option<Linear>,
	/// Its module path under the layer's `mlp` (`shared_expert`, `shared_experts`).
	pub name: &'static str,
}

/// One sparse layer's experts.
pub struct Moe {
	/// (experts, hidden): the router's logits are `x Wᵀ`.
	router: Tensor,
	/// Per expert: gate and up stacked (2 × inner, hidden), and down (hidden, inner).
	experts: Vec<(Tensor, Tensor)>,
	routing: Routing,
	shared: Option<Shared>,
}

/// The routed experts of layer `prefix`'s `mlp` (e.g. `model.layers.3.mlp`), one by one or fused.
pub fn load_experts(
	w: &mut Weights,
	prefix: &str,
	n: usize,
	inner: usize,
	hidden: usize,
) -> std::result::Result<Vec<(Tensor, Tensor)>, LoadError> {
	let fused = format!("{prefix}.experts.gate_up_proj");
	if w.has(&fused) {
		let gate_up = w.take(&fused, &[n, 2 * inner, hidden])?;
		let down = w.take(&format!("{prefix}.experts.down_proj"), &[n, hidden, inner])?;
		return Ok((0..n)
			.map(|e| Ok((gate_up.get(e)?.contiguous()?, down.get(e)?.contiguous()?)))
			.collect::<Result<Vec<_>>>()?);
	}
	let mut out = Vec::with_capacity(n);
	for e in 0..n {
		let p = format!("{prefix}.experts.{e}");
		let gate = w.take(&format!("{p}.gate_proj.weight"), &[inner, hidden])?;
		let up = w.take(&format!("{p}.up_proj.weight"), &[inner, hidden])?;
		let down = w.take(&format!("{p}.down_proj.weight"), &[hidden, inner])?;
		out.push((Tensor::cat(&[&gate, &up], 0)?, down));
	}
	Ok(out)
}

impl Moe {
	pub fn new(
		router: Tensor,
		experts: Vec<(Tensor, Tensor)>,
		routing: Routing,
		shared: Option<Shared>,
	) -> Self {
		Self { router, experts, routing, shared }
	}

	/// A Qwen2-MoE / Qwen3-MoE layer's `mlp` at `prefix`.
	pub fn load_qwen(
		w: &mut Weights,
		prefix: &str,
		cfg: &MoeConfig,
		hidden: usize,
	) -> std::result::Result<Self, LoadError> {
		let (n, inner) = (cfg.num_experts, cfg.moe_intermediate_size);
		let router = w.take(&format!("{prefix}.gate.weight"), &[n, hidden])?;
		let experts = load_experts(w, prefix, n, inner, hidden)?;
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
			Some(Shared { mlp, gate: Some(gate), name: "shared_expert" })
		} else {
			None
		};
		let routing = Routing::softmax(cfg.num_experts_per_tok, cfg.norm_topk_prob);
		Ok(Self::new(router, experts, routing, shared))
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
		let r = &self.routing;
		let logits = frozen_linear(x, &self.router)?;
		let scores = if r.sigmoid { sigmoid(&logits)? } else { softmax(&logits)? };
		let chosen = r.choose(&scores.to_dtype(DType::F64)?.to_vec2::<f64>()?);
		// The chosen scores, (n, k): the gradient's path back to the hidden states.
		let idx: Vec<u32> = chosen.iter().flatten().map(|&e| e as u32).collect();
		let idx = Tensor::from_vec(idx, (n, r.top_k), x.device())?;
		let mut weights = scores.gather(&idx, 1)?;
		if r.normalize {
			weights = weights.broadcast_div(&(weights.sum_keepdim(1)? + 1e-20)?)?;
		}
		if r.scale != 1.0 {
			weights = (weights * r.scale)?;
		}
		let weights = weights.flatten_all()?;
		let mut out = x.zeros_like()?;
		for (e, (gate_up, down)) in self.experts.iter().enumerate() {
			// The tokens that chose expert e, and where in their (n, k) slots.
			let (tokens, slots): (Vec<u32>, Vec<u32>) = chosen
				.iter()
				.enumerate()
				.filter_map(|(i, c)| {
					c.iter().position(|&x| x == e).map(|s| (i as u32, (i * r.top_k + s) as u32))
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
			let act = crate::fused::fast_swiglu(
				&gu.narrow(1, 0, inner)?.contiguous()?,
				&gu.narrow(1, inner, inner)?.contiguous()?,
			)?;
			let ye = frozen_linear(&act, down)?;
			let ye = ye.broadcast_mul(&weights.index_select(&slots, 0)?.unsqueeze(1)?)?;
			out = out.index_add(&tokens, &ye, 0)?;
		}
		if let Some(sh) = &self.shared {
			let y = sh.mlp.run(x, linear)?;
			out = match &sh.gate {
				Some(g) => (out + y.broadcast_mul(&sigmoid(&linear(g, x)?)?)?)?,
				None => (out + y)?,
			};
		}
		debug_assert_eq!(out.dims(), [n, h]);
		Ok(out)
	}

	pub fn linears_mut<'a>(&'a mut self, prefix: &str, out: &mut Vec<(String, &'a mut Linear)>) {
		if let Some(sh) = &mut self.shared {
			sh.mlp.linears_mut(&format!("{prefix}.{}", sh.name), out);
			if let Some(g) = &mut sh.gate {
				out.push((format!("{prefix}.{}_gate", sh.name), g));
			}
		}
	}
}

fn sigmoid(x: &Tensor) -> Result<Tensor> {
	candle_nn::Activation::Sigmoid.forward(x)
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

/// The `k` largest entries' indices, largest first (ties: the lower index first).
fn top_k(p: &[f64], k: usize) -> Vec<usize> {
	let mut order: Vec<usize> = (0..p.len()).collect();
	order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
	order.truncate(k);
	order
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn top_k_takes_the_largest_lower_index_first_on_ties() {
		assert_eq!(top_k(&[0.1, 0.4, 0.1, 0.4], 2), vec![1, 3]);
		assert_eq!(top_k(&[0.7, 0.1, 0.1, 0.1], 2), vec![0, 1]);
	}

	#[test]
	fn group_limited_routing_chooses_only_in_the_best_groups() {
		// Two groups of three; the second holds the best single expert (0.9), the first the best
		// pair (0.5 + 0.45).
		let scores = vec![vec![0.5, 0.45, 0.0, 0.9, 0.0, 0.0]];
		let mut r = Routing::softmax(2, false);
		assert_eq!(r.choose(&scores), vec![vec![3, 0]]);
		(r.groups, r.keep) = (2, 1);
		assert_eq!(r.choose(&scores), vec![vec![3, 4]], "by its best: group 2 only");
		r.group_by_top2 = true;
		assert_eq!(r.choose(&scores), vec![vec![0, 1]], "by the sum of its best two: group 1");
		// The bias moves the choice, not the weights.
		r.choice_bias = Some(vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
		assert_eq!(r.choose(&scores), vec![vec![4, 5]]);
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
