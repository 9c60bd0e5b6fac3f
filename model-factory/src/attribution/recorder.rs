//! TracIn over checkpoints, logged during training.
//!
//! The run is cut into `checkpoints` segments of steps. At the start of each, the targets' loss
//! gradients ψ_z are taken (a forward and backward pass over the target examples, features as in
//! [`super::tap`]). During the segment each training step hands over its examples' features φ_t(e):
//! the example's share of that step's gradient (the step's loss is its tokens' mean, so this is the
//! gradient of the example's summed token loss over the step's token count), with the step's weight
//! w_t = learning rate × clipping factor. At the segment's end, with `Φ_e = Σ_t w_t φ_t(e)`:
//!
//! `score(e, z) += ⟨Φ_e, F⁻¹ ψ_z⟩`, `self(e) += ⟨Φ_e, F⁻¹ Φ_e⟩ / Σ_t w_t`,
//!
//! where F is the damped block-diagonal second moment of every φ seen so far
//! ([`super::precondition`]), or the identity without damping. For plain SGD, `w_t ⟨φ_t(e), ψ_z⟩` is
//! how much step t's use of e lowered z's loss, to first order; AdamW rescales steps per
//! coordinate, which this ignores (as TracIn does).

use super::precondition::{Fisher, Preconditioner};
use super::table::Table;
use super::tap;
use crate::model::CausalLm;
use crate::optim::AdamW;
use crate::train::{collate, Example};
use candle_core::{DType, Device, Result, Tensor};
use std::collections::HashMap;
use std::path::Path;

/// How a run is attributed.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributionConfig {
	/// Random projection per side of each adapted layer (0: exact gradients).
	pub projection: usize,
	/// Seeds the projections.
	pub seed: u64,
	/// Segments the run is cut into (targets are differentiated at the start of each).
	pub checkpoints: usize,
	/// Preconditioner damping, relative to each block's mean eigenvalue; `None`: plain inner
	/// products (TracIn as published).
	pub damping: Option<f64>,
	/// Scores follow AdamW's steps (LESS-style): each target's gradient is scaled per coordinate
	/// by the optimizer's step factor `1/(√v̂ + ε)` at the segment's end before it is projected,
	/// in place of the preconditioner (which self-influence keeps).
	pub optimizer_aware: bool,
}

impl Default for AttributionConfig {
	fn default() -> Self {
		Self { projection: 16, seed: 0, checkpoints: 3, damping: Some(0.1), optimizer_aware: true }
	}
}

/// What the scores are against: examples whose mean token loss should go down (the held-out
/// split, or one query with its answer).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
	pub name: String,
	pub examples: Vec<Example>,
}

/// Collects a run's attribution while it trains (see [`crate::train::Trainer::attribute`]).
pub struct Recorder {
	cfg: AttributionConfig,
	targets: Vec<Target>,
	widths: Vec<usize>,
	dim: usize,
	total_steps: usize,
	/// The next segment's first step, and how many segments have begun.
	next_start: usize,
	begun: usize,
	/// Per target, ψ_z of the current segment: its features, or with `optimizer_aware` its full
	/// LoRA gradient (projected when the segment closes).
	psi: Vec<Vec<f64>>,
	/// Per training example, `Σ w φ` and `Σ w` in the current segment.
	phi: Vec<Option<(Vec<f64>, f64)>>,
	fisher: Fisher,
	scores: Vec<Vec<f64>>,
	self_influence: Vec<f64>,
	batch_size: usize,
}

impl Recorder {
	/// Arms `model`'s adapted layers; `n_train` examples, `total_steps` steps in the run.
	pub fn new(
		model: &mut dyn CausalLm,
		cfg: AttributionConfig,
		targets: Vec<Target>,
		n_train: usize,
		total_steps: usize,
		batch_size: usize,
	) -> Result<Self> {
		if targets.is_empty() || targets.iter().any(|t| t.examples.is_empty()) {
			candle_core::bail!("attribution needs at least one target, each with examples");
		}
		let widths = tap::arm(model, cfg.projection, cfg.seed)?;
		let dim = widths.iter().sum();
		Ok(Self {
			fisher: Fisher::new(&widths),
			psi: vec![],
			phi: vec![None; n_train],
			scores: vec![vec![0.0; targets.len()]; n_train],
			self_influence: vec![0.0; n_train],
			cfg,
			targets,
			widths,
			dim,
			total_steps: total_steps.max(1),
			next_start: 0,
			begun: 0,
			batch_size: batch_size.max(1),
		})
	}

	/// Called before step `step` runs: at a segment's first step, closes the last segment and
	/// differentiates the targets at the current weights.
	pub fn before_step(
		&mut self,
		model: &mut dyn CausalLm,
		step: usize,
		opt: &AdamW,
	) -> Result<()> {
		if step < self.next_start || self.begun >= self.cfg.checkpoints.max(1) {
			return Ok(());
		}
		self.close_segment(model, opt)?;
		self.psi = self.target_gradients(model)?;
		self.begun += 1;
		let c = self.cfg.checkpoints.max(1);
		self.next_start = (self.begun * self.total_steps).div_ceil(c).max(step + 1);
		Ok(())
	}

	/// One step's features: rows of `features` belong to `examples` (indices into the training
	/// split), `weight` is the step's learning rate times its clipping factor.
	pub fn add_step(&mut self, examples: &[usize], features: &Tensor, weight: f64) -> Result<()> {
		let rows: Vec<Vec<f32>> = features.to_dtype(DType::F32)?.to_vec2()?;
		if rows.len() != examples.len() {
			candle_core::bail!("{} feature rows for {} examples", rows.len(), examples.len());
		}
		for (&e, row) in examples.iter().zip(&rows) {
			if self.cfg.damping.is_some() {
				self.fisher.add(row);
			}
			let slot = self.phi[e].get_or_insert_with(|| (vec![0.0; self.dim], 0.0));
			for (acc, v) in slot.0.iter_mut().zip(row) {
				*acc += weight * *v as f64;
			}
			slot.1 += weight;
		}
		Ok(())
	}

	/// Ends the run: scores the last segment, takes the taps off and returns the table.
	pub fn finish(mut self, model: &mut dyn CausalLm, opt: &AdamW) -> Result<Table> {
		let closed = self.close_segment(model, opt);
		tap::disarm(model);
		closed?;
		Ok(Table {
			targets: self.targets.iter().map(|t| t.name.clone()).collect(),
			scores: self.scores,
			self_influence: self.self_influence,
		})
	}

	fn preconditioner(&self) -> Option<Preconditioner> {
		self.cfg.damping.map(|d| self.fisher.factor(d))
	}

	fn close_segment(&mut self, model: &mut dyn CausalLm, opt: &AdamW) -> Result<()> {
		if self.psi.is_empty() {
			return Ok(());
		}
		let pre = self.preconditioner();
		let apply = |v: &[f64]| match &pre {
			Some(p) => p.apply(v),
			None => v.to_vec(),
		};
		let targets: Vec<Vec<f64>> = if self.cfg.optimizer_aware {
			let scale = opt.step_scale(&tap::lora_params(model))?;
			self.psi.iter().map(|g| tap::project(model, g, Some(&scale))).collect::<Result<_>>()?
		} else {
			self.psi.iter().map(|p| apply(p)).collect()
		};
		for (e, slot) in self.phi.iter_mut().enumerate() {
			let Some((big_phi, w)) = slot.take() else { continue };
			for (z, t) in targets.iter().enumerate() {
				self.scores[e][z] += dot(&big_phi, t);
			}
			if w > 0.0 {
				self.self_influence[e] += dot(&big_phi, &apply(&big_phi)) / w;
			}
		}
		self.psi.clear();
		Ok(())
	}

	/// ψ_z per target: the gradient features of its examples' mean token loss, at the current
	/// weights, without dropout.
	fn target_gradients(&self, model: &mut dyn CausalLm) -> Result<Vec<Vec<f64>>> {
		let dev = model.device();
		let mut out = Vec::with_capacity(self.targets.len());
		for t in &self.targets {
			let tokens: f64 = t
				.examples
				.iter()
				.map(|e| {
					e.train_on.iter().take(e.ids.len().saturating_sub(1)).filter(|x| **x).count()
				})
				.sum::<usize>() as f64;
			let params = tap::lora_params(model);
			let width = if self.cfg.optimizer_aware {
				params.iter().map(|v| v.elem_count()).sum()
			} else {
				self.dim
			};
			let mut psi = vec![0f64; width];
			for chunk in t.examples.chunks(self.batch_size) {
				let refs: Vec<&Example> = chunk.iter().collect();
				let (ids, tgt, mask) = collate(&refs, &dev, model.dtype())?;
				let n = mask.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
				if n == 0.0 {
					continue;
				}
				// The chunk's mean, reweighted to its share of the target's mean.
				let loss = (model.loss(&ids, &tgt, &mask, false)? * (n / tokens.max(1.0)))?;
				let grads = loss.backward()?;
				let f = tap::collect(model, &grads, 1.0)?;
				let summed: Vec<f64> = if self.cfg.optimizer_aware {
					tap::lora_gradient(&params, &grads)?
				} else {
					f.sum(0)?.to_dtype(DType::F64)?.to_vec1()?
				};
				for (acc, v) in psi.iter_mut().zip(summed) {
					*acc += v;
				}
			}
			out.push(psi);
		}
		Ok(out)
	}

	/// Writes what a resumed run needs to record on exactly as an uninterrupted one would, into
	/// `dir` (a checkpoint): the f64 state as safetensors, the positions as JSON.
	pub fn save(&self, dir: &Path) -> Result<()> {
		let dev = Device::Cpu;
		let n = self.phi.len();
		let mut t = HashMap::new();
		let mut phi = vec![0f64; n * self.dim];
		let mut weight = vec![-1f64; n];
		for (e, slot) in self.phi.iter().enumerate() {
			if let Some((v, w)) = slot {
				phi[e * self.dim..(e + 1) * self.dim].copy_from_slice(v);
				weight[e] = *w;
			}
		}
		t.insert("phi".to_string(), Tensor::from_vec(phi, (n, self.dim), &dev)?);
		// -1 marks an example not seen in the current segment.
		t.insert("phi_weight".to_string(), Tensor::from_vec(weight, n, &dev)?);
		let z = self.targets.len();
		let psi: Vec<f64> = self.psi.iter().flatten().copied().collect();
		let width = self.psi.first().map_or(0, Vec::len);
		t.insert("psi".to_string(), Tensor::from_vec(psi, (self.psi.len(), width), &dev)?);
		let scores: Vec<f64> = self.scores.iter().flatten().copied().collect();
		t.insert("scores".to_string(), Tensor::from_vec(scores, (n, z), &dev)?);
		t.insert(
			"self_influence".to_string(),
			Tensor::from_vec(self.self_influence.clone(), n, &dev)?,
		);
		let (sums, count) = self.fisher.parts();
		for (b, s) in sums.iter().enumerate() {
			t.insert(format!("fisher.{b}"), Tensor::from_slice(s, s.len(), &dev)?);
		}
		candle_core::safetensors::save(&t, dir.join(STATE_TENSORS))?;
		let meta = serde_json::json!({
			"projection": self.cfg.projection, "seed": self.cfg.seed,
			"checkpoints": self.cfg.checkpoints, "damping": self.cfg.damping,
			"optimizer_aware": self.cfg.optimizer_aware,
			"widths": self.widths, "examples": n, "targets": z,
			"next_start": self.next_start, "begun": self.begun, "fisher_rows": count,
		});
		std::fs::write(dir.join(STATE_JSON), serde_json::to_vec_pretty(&meta).expect("json"))
			.map_err(|e| candle_core::Error::Msg(format!("{}: {e}", dir.display())))
	}

	/// [`Self::new`] for a run resumed from the checkpoint in `dir`, whose attribution state
	/// [`Self::save`] wrote with the same configuration, examples and targets.
	#[allow(clippy::too_many_arguments)]
	pub fn resume(
		model: &mut dyn CausalLm,
		cfg: AttributionConfig,
		targets: Vec<Target>,
		n_train: usize,
		total_steps: usize,
		batch_size: usize,
		dir: &Path,
	) -> Result<Self> {
		let err = |what: &dyn std::fmt::Display| {
			candle_core::Error::Msg(format!("attribution state in {}: {what}", dir.display()))
		};
		let raw =
			std::fs::read(dir.join(STATE_JSON)).map_err(|e| {
				err(&format!("{e} (the checkpoint was saved without attribution: train again from the start)"))
			})?;
		let meta: serde_json::Value = serde_json::from_slice(&raw).map_err(|e| err(&e))?;
		let mut me = Self::new(model, cfg.clone(), targets, n_train, total_steps, batch_size)?;
		let same = meta["projection"] == cfg.projection
			&& meta["seed"] == cfg.seed
			&& meta["checkpoints"] == cfg.checkpoints
			&& meta["damping"] == serde_json::json!(cfg.damping)
			&& meta["optimizer_aware"].as_bool().unwrap_or(false) == cfg.optimizer_aware
			&& meta["widths"] == serde_json::json!(me.widths)
			&& meta["examples"] == n_train
			&& meta["targets"] == me.targets.len();
		if !same {
			tap::disarm(model);
			return Err(err(&format!("saved for another configuration or data: {meta}")));
		}
		let t = candle_core::safetensors::load(dir.join(STATE_TENSORS), &Device::Cpu)?;
		let get = |name: &str| -> Result<Vec<f64>> {
			t.get(name).ok_or_else(|| err(&format!("{name} missing")))?.flatten_all()?.to_vec1()
		};
		let (phi, weight) = (get("phi")?, get("phi_weight")?);
		for (e, w) in weight.iter().enumerate() {
			if *w >= 0.0 {
				me.phi[e] = Some((phi[e * me.dim..(e + 1) * me.dim].to_vec(), *w));
			}
		}
		let psi = t.get("psi").ok_or_else(|| err(&"psi missing"))?;
		let width = psi.dims().get(1).copied().unwrap_or(0).max(1);
		me.psi = psi.flatten_all()?.to_vec1::<f64>()?.chunks(width).map(<[f64]>::to_vec).collect();
		let z = me.targets.len().max(1);
		me.scores = get("scores")?.chunks(z).map(<[f64]>::to_vec).collect();
		me.self_influence = get("self_influence")?;
		let sums =
			(0..me.widths.len()).map(|b| get(&format!("fisher.{b}"))).collect::<Result<_>>()?;
		let rows =
			meta["fisher_rows"].as_u64().ok_or_else(|| err(&"fisher_rows missing"))? as usize;
		me.fisher = Fisher::from_parts(&me.widths, sums, rows)
			.ok_or_else(|| err(&"preconditioner blocks of the wrong size"))?;
		me.next_start =
			meta["next_start"].as_u64().ok_or_else(|| err(&"next_start missing"))? as usize;
		me.begun = meta["begun"].as_u64().ok_or_else(|| err(&"begun missing"))? as usize;
		Ok(me)
	}
}

const STATE_TENSORS: &str = "attribution_state.safetensors";
const STATE_JSON: &str = "attribution_state.json";

fn dot(a: &[f64], b: &[f64]) -> f64 {
	a.iter().zip(b).map(|(x, y)| x * y).sum()
}
