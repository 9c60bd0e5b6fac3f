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
use crate::train::{collate, Example};
use candle_core::{DType, Result, Tensor};

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
}

impl Default for AttributionConfig {
	fn default() -> Self {
		Self { projection: 16, seed: 0, checkpoints: 3, damping: Some(0.1) }
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
	/// Per target, ψ_z of the current segment.
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

	/// Feature width per example (all layers).
	pub fn dim(&self) -> usize {
		self.dim
	}

	/// Called before step `step` runs: at a segment's first step, closes the last segment and
	/// differentiates the targets at the current weights.
	pub fn before_step(&mut self, model: &mut dyn CausalLm, step: usize) -> Result<()> {
		if step < self.next_start || self.begun >= self.cfg.checkpoints.max(1) {
			return Ok(());
		}
		self.close_segment();
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
	pub fn finish(mut self, model: &mut dyn CausalLm) -> Table {
		self.close_segment();
		tap::disarm(model);
		Table {
			targets: self.targets.iter().map(|t| t.name.clone()).collect(),
			scores: self.scores,
			self_influence: self.self_influence,
		}
	}

	fn preconditioner(&self) -> Option<Preconditioner> {
		self.cfg.damping.map(|d| self.fisher.factor(d))
	}

	fn close_segment(&mut self) {
		if self.psi.is_empty() {
			return;
		}
		let pre = self.preconditioner();
		let apply = |v: &[f64]| match &pre {
			Some(p) => p.apply(v),
			None => v.to_vec(),
		};
		let targets: Vec<Vec<f64>> = self.psi.iter().map(|p| apply(p)).collect();
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
			let mut psi = vec![0f64; self.dim];
			for chunk in t.examples.chunks(self.batch_size) {
				let refs: Vec<&Example> = chunk.iter().collect();
				let (ids, tgt, mask) = collate(&refs, &dev, model.dtype())?;
				let n = mask.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
				if n == 0.0 {
					tap::clear(model);
					continue;
				}
				// The chunk's mean, reweighted to its share of the target's mean.
				let loss = (model.loss(&ids, &tgt, &mask, false)? * (n / tokens.max(1.0)))?;
				let grads = loss.backward()?;
				let f = tap::collect(model, &grads, 1.0)?;
				let summed: Vec<f32> = f.sum(0)?.to_vec1()?;
				for (acc, v) in psi.iter_mut().zip(summed) {
					*acc += v as f64;
				}
			}
			out.push(psi);
		}
		Ok(out)
	}

	/// The widths of the per-layer blocks of a feature row.
	pub fn widths(&self) -> &[usize] {
		&self.widths
	}
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
	a.iter().zip(b).map(|(x, y)| x * y).sum()
}
