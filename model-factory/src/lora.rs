//! LoRA: a low-rank, trainable update `scale * B A` beside a frozen weight, in PEFT's conventions.
//!
//! `y = x W^T + b + scale * dropout(x) A^T B^T`, with A (r, in) drawn from U(-1/sqrt(in), 1/sqrt(in))
//! (PEFT's Kaiming-uniform with a = sqrt(5)) and B (out, r) zero, so a fresh adapter leaves the model's
//! output unchanged. `scale` is alpha / r, or alpha / sqrt(r) with rsLoRA. Merging adds `scale * B A`
//! to W (and unmerging subtracts it), after which the layer costs nothing extra.

use crate::nf4::{Nf4Matmul, Nf4Tensor};
use candle_core::{DType, Device, Result, Tensor, Var};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Adapter settings; field names follow PEFT's `LoraConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoraConfig {
	pub r: usize,
	pub lora_alpha: f64,
	pub lora_dropout: f64,
	#[serde(default)]
	pub use_rslora: bool,
	/// Module names to adapt (the last path component, e.g. `q_proj`, `c_attn`).
	pub target_modules: Vec<String>,
}

impl LoraConfig {
	pub fn scale(&self) -> f64 {
		if self.use_rslora {
			self.lora_alpha / (self.r as f64).sqrt()
		} else {
			self.lora_alpha / self.r as f64
		}
	}

	pub fn targets(&self, module: &str) -> bool {
		let last = module.rsplit('.').next().unwrap_or(module);
		self.target_modules.iter().any(|t| t == last)
	}
}

/// The trainable part of one adapted layer.
pub struct Lora {
	pub a: Var,
	pub b: Var,
	pub scale: f64,
	pub dropout: f64,
	merged: bool,
	/// Dropout masks are drawn from `(dropout_seed, n)` for the n-th training forward pass, so a run
	/// is reproducible and a resumed run draws the masks an uninterrupted one would. The trainer sets
	/// both (see [`Linear::set_dropout_stream`]).
	dropout_seed: std::sync::atomic::AtomicU64,
	dropout_calls: std::sync::atomic::AtomicU64,
	/// While armed, each forward pass records what per-example gradients are made of (see
	/// [`crate::attribution::tap`]).
	pub(crate) tap: std::sync::Mutex<Option<crate::attribution::tap::Tap>>,
}

impl Lora {
	/// Whether the adapter is folded into its layer's weight (then it adds nothing at run time).
	pub fn is_merged(&self) -> bool {
		self.merged
	}
}

/// The frozen weight of a linear layer: full precision, or NF4 (QLoRA).
pub enum Base {
	Dense(Tensor),
	/// Packed 4-bit weight; `dtype` is the precision it computes in.
	Nf4 {
		w: Arc<Nf4Tensor>,
		dtype: DType,
		device: Device,
	},
}

/// A linear layer (PyTorch layout: weight (out, in)) that may carry a LoRA adapter.
pub struct Linear {
	pub weight: Base,
	pub bias: Option<Tensor>,
	pub lora: Option<Lora>,
	/// Its number among the model's adaptable layers, by which per-row adapters find their part
	/// (see [`crate::model::CausalLm::number_linears`]).
	pub slot: Option<usize>,
}

impl Linear {
	pub fn new(weight: Tensor, bias: Option<Tensor>) -> Self {
		Self { weight: Base::Dense(weight), bias, lora: None, slot: None }
	}

	/// (out, in).
	pub fn dims(&self) -> Result<(usize, usize)> {
		match &self.weight {
			Base::Dense(w) => w.dims2(),
			Base::Nf4 { w, .. } => Ok(w.shape()),
		}
	}

	fn dtype_device(&self) -> (DType, Device) {
		match &self.weight {
			Base::Dense(w) => (w.dtype(), w.device().clone()),
			Base::Nf4 { dtype, device, .. } => (*dtype, device.clone()),
		}
	}

	/// Replaces the full-precision weight by its NF4 form (QLoRA); the dense tensor is dropped.
	pub fn quantize_nf4(&mut self) -> Result<()> {
		if let Base::Dense(w) = &self.weight {
			if self.lora.as_ref().is_some_and(|l| l.merged) {
				candle_core::bail!("unmerge the adapter before quantizing");
			}
			let q = Nf4Tensor::quantize(w)?;
			self.weight =
				Base::Nf4 { w: Arc::new(q), dtype: w.dtype(), device: w.device().clone() };
		}
		Ok(())
	}

	/// Attaches a fresh adapter. Its parameters are f32 (f64 when the layer is f64, for gradient checks).
	pub fn attach(&mut self, cfg: &LoraConfig, rng: &mut impl Rng) -> Result<()> {
		let (out_f, in_f) = self.dims()?;
		let (wdtype, dev) = self.dtype_device();
		let dev = &dev;
		let dtype = if wdtype == DType::F64 { DType::F64 } else { DType::F32 };
		let bound = 1.0 / (in_f as f64).sqrt();
		let a: Vec<f64> = (0..cfg.r * in_f).map(|_| rng.gen_range(-bound..bound)).collect();
		let a = Tensor::from_vec(a, (cfg.r, in_f), dev)?.to_dtype(dtype)?;
		let b = Tensor::zeros((out_f, cfg.r), dtype, dev)?;
		self.lora = Some(Lora {
			a: Var::from_tensor(&a)?,
			b: Var::from_tensor(&b)?,
			scale: cfg.scale(),
			dropout: cfg.lora_dropout,
			merged: false,
			dropout_seed: 0.into(),
			dropout_calls: 0.into(),
			tap: Default::default(),
		});
		Ok(())
	}

	/// Sets the dropout stream: its seed, and how many training forward passes it has served
	/// (non-zero when a run resumes).
	pub fn set_dropout_stream(&self, seed: u64, calls: u64) {
		if let Some(l) = &self.lora {
			l.dropout_seed.store(seed, std::sync::atomic::Ordering::Relaxed);
			l.dropout_calls.store(calls, std::sync::atomic::Ordering::Relaxed);
		}
	}

	pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
		let y = match &self.weight {
			Base::Dense(w) => {
				let y = crate::ops::frozen_linear(x, w)?;
				match &self.bias {
					Some(b) => y.broadcast_add(b)?,
					None => y,
				}
			}
			Base::Nf4 { w, .. } => {
				let y = Nf4Matmul::forward(w, x)?;
				match &self.bias {
					Some(b) => y.broadcast_add(b)?,
					None => y,
				}
			}
		};
		let Some(l) = self.lora.as_ref().filter(|l| !l.merged) else { return Ok(y) };
		let x = if train && l.dropout > 0.0 {
			let n = l.dropout_calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
			let seed = l.dropout_seed.load(std::sync::atomic::Ordering::Relaxed);
			let mut r = rng(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
			let keep = 1.0 - l.dropout;
			let mask: Vec<f32> = (0..x.elem_count())
				.map(|_| if r.gen::<f64>() < keep { (1.0 / keep) as f32 } else { 0.0 })
				.collect();
			let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
			(x * mask)?
		} else {
			x.clone()
		};
		let a = l.a.as_tensor().to_dtype(x.dtype())?;
		let b = l.b.as_tensor().to_dtype(x.dtype())?;
		// As one (rows, in) product: a batched matmul against a broadcast A would make the backward
		// form a per-sequence gradient of A and then sum it.
		let in_f = a.dim(1)?;
		let rows = x.elem_count() / in_f;
		let low = crate::blas::matmul(&x.contiguous()?.reshape((rows, in_f))?, &a.t()?)?;
		let up = (crate::blas::matmul(&low, &b.t()?)? * l.scale)?;
		let up = up.reshape(y.shape())?;
		let out = (y + up)?;
		match l.tap.lock().expect("tap lock").as_mut() {
			Some(tap) => tap.record(&x, &low, &out),
			None => Ok(out),
		}
	}

	/// The weight, when this layer computes exactly `x W^T`: full precision, no bias, no adapter
	/// outside the weight.
	pub fn frozen_dense(&self) -> Option<&Tensor> {
		match (&self.weight, &self.bias, self.lora.as_ref().filter(|l| !l.merged)) {
			(Base::Dense(w), None, None) => Some(w),
			_ => None,
		}
	}

	/// `scale B A` (out, in) of an unmerged adapter, in f32 (f64 for f64 adapters).
	pub fn lora_delta(&self) -> Result<Option<Tensor>> {
		match &self.lora {
			Some(l) if !l.merged => self.delta(l.a.dtype()),
			_ => Ok(None),
		}
	}

	fn delta(&self, dtype: DType) -> Result<Option<Tensor>> {
		let Some(l) = &self.lora else { return Ok(None) };
		let d = (l.b.as_tensor().matmul(l.a.as_tensor())? * l.scale)?;
		Ok(Some(d.to_dtype(dtype)?))
	}

	fn dense_mut(&mut self) -> Result<&mut Tensor> {
		match &mut self.weight {
			Base::Dense(w) => Ok(w),
			Base::Nf4 { .. } => candle_core::bail!(
				"cannot merge an adapter into a 4-bit weight: load the base model in full precision to merge"
			),
		}
	}

	/// Folds the adapter into the weight (`W += scale B A`).
	pub fn merge(&mut self) -> Result<()> {
		if self.lora.as_ref().is_some_and(|l| !l.merged) {
			let d = self.delta(self.dtype_device().0)?.expect("adapter present");
			let w = self.dense_mut()?;
			*w = (&*w + d)?;
			self.lora.as_mut().expect("adapter present").merged = true;
		}
		Ok(())
	}

	/// Takes a merged adapter back out of the weight.
	pub fn unmerge(&mut self) -> Result<()> {
		if self.lora.as_ref().is_some_and(|l| l.merged) {
			let d = self.delta(self.dtype_device().0)?.expect("adapter present");
			let w = self.dense_mut()?;
			*w = (&*w - d)?;
			self.lora.as_mut().expect("adapter present").merged = false;
		}
		Ok(())
	}
}

/// Attaches fresh adapters (seeded) to the `layers` that `cfg` targets; returns their paths.
pub fn attach_targets(
	layers: Vec<(String, &mut Linear)>,
	cfg: &LoraConfig,
	seed: u64,
) -> Result<Vec<String>> {
	let mut rng = rng(seed);
	let mut done = Vec::new();
	for (path, lin) in layers {
		if cfg.targets(&path) {
			lin.attach(cfg, &mut rng)?;
			done.push(path);
		}
	}
	Ok(done)
}

/// The adapters' parameters by PEFT tensor name (`base_model.model.<path>.lora_A.weight`).
pub fn peft_vars(layers: Vec<(String, &mut Linear)>) -> Vec<(String, Var)> {
	let mut out = Vec::new();
	for (path, lin) in layers {
		if let Some(l) = &lin.lora {
			out.push((format!("base_model.model.{path}.lora_A.weight"), l.a.clone()));
			out.push((format!("base_model.model.{path}.lora_B.weight"), l.b.clone()));
		}
	}
	out
}

/// A seeded generator for adapter initialisation (same seed, same adapter).
pub fn rng(seed: u64) -> rand::rngs::StdRng {
	rand::rngs::StdRng::seed_from_u64(seed)
}

/// A random tensor for tests and tiny models: N(0, std) in `dtype`.
pub fn randn(shape: &[usize], std: f64, rng: &mut impl Rng, dtype: DType) -> Result<Tensor> {
	let n: usize = shape.iter().product();
	// Box-Muller from the seeded generator, so tiny models are reproducible everywhere.
	let v: Vec<f64> = (0..n)
		.map(|_| {
			let (u1, u2): (f64, f64) = (rng.gen_range(1e-12..1.0), rng.gen());
			std * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
		})
		.collect();
	Tensor::from_vec(v, shape, &Device::Cpu)?.to_dtype(dtype)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn cfg() -> LoraConfig {
		LoraConfig {
			r: 4,
			lora_alpha: 8.0,
			lora_dropout: 0.0,
			use_rslora: false,
			target_modules: vec!["q_proj".into()],
		}
	}

	#[test]
	fn a_fresh_adapter_is_a_no_op_and_merge_matches_the_unmerged_output() {
		let mut r = rng(1);
		let w = randn(&[6, 5], 0.5, &mut r, DType::F64).unwrap();
		let x = randn(&[2, 3, 5], 1.0, &mut r, DType::F64).unwrap();
		let mut l = Linear::new(w.clone(), None);
		let base = l.forward(&x, false).unwrap();
		l.attach(&cfg(), &mut r).unwrap();
		let fresh = l.forward(&x, false).unwrap();
		assert_eq!(base.to_vec3::<f64>().unwrap(), fresh.to_vec3::<f64>().unwrap());
		// Train-like change to B, then merged and unmerged outputs agree.
		let lora = l.lora.as_ref().unwrap();
		lora.b.set(&randn(&[6, 4], 0.3, &mut r, DType::F64).unwrap()).unwrap();
		let adapted = l.forward(&x, false).unwrap();
		let diff = (&adapted - &base).unwrap().abs().unwrap().max_all().unwrap();
		assert!(diff.to_scalar::<f64>().unwrap() > 1e-3, "the adapter changes the output");
		l.merge().unwrap();
		let merged = l.forward(&x, false).unwrap();
		let d = (&merged - &adapted).unwrap().abs().unwrap().max_all().unwrap();
		assert!(d.to_scalar::<f64>().unwrap() < 1e-12);
		l.unmerge().unwrap();
		let Base::Dense(lw) = &l.weight else { panic!() };
		let d = (lw - &w).unwrap().abs().unwrap().max_all().unwrap();
		assert!(d.to_scalar::<f64>().unwrap() < 1e-12);
	}

	#[test]
	fn scale_and_targets_follow_peft() {
		let mut c = cfg();
		assert_eq!(c.scale(), 2.0);
		c.use_rslora = true;
		assert_eq!(c.scale(), 4.0);
		assert!(c.targets("model.layers.3.self_attn.q_proj"));
		assert!(!c.targets("model.layers.3.self_attn.k_proj"));
		// A's init range is U(-1/sqrt(in), 1/sqrt(in)).
		let mut l = Linear::new(Tensor::zeros((3, 100), DType::F32, &Device::Cpu).unwrap(), None);
		l.attach(&cfg(), &mut rng(2)).unwrap();
		let a = l.lora.unwrap().a.as_tensor().abs().unwrap().max_all().unwrap();
		let m = a.to_scalar::<f32>().unwrap();
		assert!(m <= 0.1 && m > 0.08, "{m}");
	}
}
