//! Per-example gradients of the LoRA parameters from one backward pass per batch.
//!
//! An adapted layer computes `y = x Wᵀ + s (x Aᵀ) Bᵀ`. With `G = ∂L/∂y` per row (a token), the
//! gradients are `∂L/∂B = s Gᵀ (x Aᵀ)` and `∂L/∂A = s (G B)ᵀ x`: sums over rows. Summing only an
//! example's rows gives that example's gradient, exactly. While armed, a tap records per forward pass
//! the rows' inputs (projected) and low-rank activations `x Aᵀ`, and adds a zero variable (the probe)
//! to the output: the backward pass then hands back `G` as the probe's gradient. Adding zero changes
//! no value, so a run trains bit for bit the same with taps armed.
//!
//! Projection (LoGra-style, using the Kronecker structure of these gradients): a seeded random sign
//! matrix `P_out` (k, out) and `P_in` (k, in) per layer, entries ±1/√k, so `E[PᵀP] = I` and inner
//! products are kept in expectation. The example's features for a layer are `P_out ∂L/∂B` (k × r)
//! and `∂L/∂A P_inᵀ` (r × k), computed from `G P_outᵀ` and `x P_inᵀ` without forming a gradient. A
//! side whose width is at most k is kept whole (exact).

use crate::lora::Linear;
use crate::model::CausalLm;
use candle_core::{backprop::GradStore, DType, Device, Result, Tensor, Var, D};
use rand::Rng;

/// What an armed layer keeps between the forward and the backward pass.
pub struct Tap {
	pub(super) proj_in: Option<Tensor>,
	pub(super) proj_out: Option<Tensor>,
	passes: Vec<Pass>,
}

struct Pass {
	/// (examples, rows per example, k_in): the inputs, projected.
	xp: Tensor,
	/// (examples, rows per example, r).
	low: Tensor,
	probe: Var,
}

/// A seeded (k, n) matrix of ±1/√k, or `None` when k ≥ n (the side is kept whole).
fn sign_projection(k: usize, n: usize, seed: u64, dev: &Device) -> Result<Option<Tensor>> {
	if k == 0 || k >= n {
		return Ok(None);
	}
	let mut rng = crate::lora::rng(seed);
	let v = 1.0 / (k as f64).sqrt();
	let data: Vec<f32> =
		(0..k * n).map(|_| if rng.gen::<bool>() { v as f32 } else { -v as f32 }).collect();
	Tensor::from_vec(data, (k, n), dev).map(Some)
}

impl Tap {
	/// A tap for a layer of `(out, in)` features; `k` per side (0: exact), seeded per layer.
	fn new(out_f: usize, in_f: usize, k: usize, seed: u64, dev: &Device) -> Result<Self> {
		Ok(Self {
			proj_in: sign_projection(k, in_f, seed, dev)?,
			proj_out: sign_projection(k, out_f, seed ^ 0x5851_F42D_4C95_7F2D, dev)?,
			passes: Vec::new(),
		})
	}

	/// Records one forward pass of the layer (`x`: its input after dropout, `low = x Aᵀ` as rows,
	/// `out`: its output, (examples, rows, out)) and returns `out` plus the probe.
	pub(crate) fn record(&mut self, x: &Tensor, low: &Tensor, out: &Tensor) -> Result<Tensor> {
		let (n, t, _) = out.dims3()?;
		let in_f = x.dim(D::Minus1)?;
		let xr = x.detach().reshape((n * t, in_f))?;
		let xp = match &self.proj_in {
			Some(p) => xr.to_dtype(p.dtype())?.matmul(&p.t()?)?,
			None => xr,
		};
		let k_in = xp.dim(1)?;
		let r = low.dim(D::Minus1)?;
		let probe = Var::zeros(out.shape(), out.dtype(), out.device())?;
		self.passes.push(Pass {
			xp: xp.reshape((n, t, k_in))?,
			low: low.detach().reshape((n, t, r))?,
			probe: probe.clone(),
		});
		out + probe.as_tensor()
	}

	/// Per-example features (examples of every recorded pass, in order; width
	/// `k_out·r + r·k_in`) from the gradients of the loss the passes fed, in f32. Clears the passes.
	fn features(&mut self, grads: &GradStore, b: &Tensor, scale: f64) -> Result<Tensor> {
		let mut out = Vec::with_capacity(self.passes.len());
		for pass in self.passes.drain(..) {
			let (n, t, r) = pass.low.dims3()?;
			let dtype = pass.low.dtype();
			let probe = pass.probe.as_tensor();
			let g = match grads.get(probe) {
				Some(g) => g.to_dtype(dtype)?,
				// Not on the loss's path: no gradient through this layer.
				None => probe.zeros_like()?,
			};
			let out_f = g.dim(D::Minus1)?;
			let g = g.reshape((n * t, out_f))?;
			let gp = match &self.proj_out {
				Some(p) => g.matmul(&p.t()?.to_dtype(dtype)?)?,
				None => g.clone(),
			};
			let k_out = gp.dim(1)?;
			// (n, k_out, r): Σ_rows (G P_outᵀ)ᵀ low per example.
			let fb = gp.reshape((n, t, k_out))?.transpose(1, 2)?.contiguous()?.matmul(&pass.low)?;
			// (n, r, k_in): Σ_rows (G B)ᵀ (x P_inᵀ) per example.
			let gb = g.matmul(&b.to_dtype(dtype)?)?.reshape((n, t, r))?;
			let fa = gb.transpose(1, 2)?.contiguous()?.matmul(&pass.xp.to_dtype(dtype)?)?;
			let f = Tensor::cat(&[fb.reshape((n, ()))?, fa.reshape((n, ()))?], 1)?;
			out.push((f * scale)?.to_dtype(DType::F32)?);
		}
		if out.is_empty() {
			candle_core::bail!("no forward pass was recorded");
		}
		Tensor::cat(&out, 0)
	}
}

/// Arms a tap on every adapted layer of `model`: `k` dimensions per side (0: exact gradients),
/// projections seeded from `seed` and the layer's position. Returns each layer's feature width.
pub fn arm(model: &mut dyn CausalLm, k: usize, seed: u64) -> Result<Vec<usize>> {
	let mut widths = Vec::new();
	for (i, (_, lin)) in adapted(model).into_iter().enumerate() {
		let (out_f, in_f) = lin.dims()?;
		let lora = lin.lora.as_ref().expect("adapted");
		let r = lora.a.dim(0)?;
		let dev = lora.a.device().clone();
		let layer_seed = seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
		let tap = Tap::new(out_f, in_f, k, layer_seed, &dev)?;
		let k_out = tap.proj_out.as_ref().map_or(out_f, |p| p.dim(0).unwrap_or(out_f));
		let k_in = tap.proj_in.as_ref().map_or(in_f, |p| p.dim(0).unwrap_or(in_f));
		widths.push(k_out * r + r * k_in);
		*lora.tap.lock().expect("tap lock") = Some(tap);
	}
	if widths.is_empty() {
		candle_core::bail!("the model has no LoRA adapter to attribute through");
	}
	Ok(widths)
}

/// Takes every tap off `model`.
pub fn disarm(model: &mut dyn CausalLm) {
	for (_, lin) in adapted(model) {
		if let Some(l) = &lin.lora {
			*l.tap.lock().expect("tap lock") = None;
		}
	}
}

/// Per-example features of every armed layer, side by side: (examples, Σ widths), for the
/// forward passes recorded since the last call, from `grads` of the loss they fed, times `scale`.
pub fn collect(model: &mut dyn CausalLm, grads: &GradStore, scale: f64) -> Result<Tensor> {
	let mut blocks = Vec::new();
	for (_, lin) in adapted(model) {
		let lora = lin.lora.as_ref().expect("adapted");
		let b = lora.b.as_tensor().clone();
		let mut guard = lora.tap.lock().expect("tap lock");
		let Some(tap) = guard.as_mut() else { candle_core::bail!("a layer's tap is not armed") };
		blocks.push(tap.features(grads, &b, lora.scale * scale)?);
	}
	Tensor::cat(&blocks, 1)
}

/// The LoRA parameters of every adapted layer, in the order features are laid out: per layer
/// `B` (out, r), then `A` (r, in).
pub fn lora_params(model: &mut dyn CausalLm) -> Vec<Var> {
	adapted(model)
		.into_iter()
		.flat_map(|(_, l)| {
			let lora = l.lora.as_ref().expect("adapted");
			[lora.b.clone(), lora.a.clone()]
		})
		.collect()
}

/// The full gradient of [`lora_params`] in `grads`, flattened side by side in f64 (zeros for a
/// parameter off the loss's path).
pub fn lora_gradient(params: &[Var], grads: &GradStore) -> Result<Vec<f64>> {
	let mut out = Vec::new();
	for v in params {
		match grads.get(v.as_tensor()) {
			Some(g) => out.extend(g.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?),
			None => out.extend(std::iter::repeat_n(0.0, v.elem_count())),
		}
	}
	Ok(out)
}

/// The features of a full LoRA gradient laid out as [`lora_gradient`]'s, each coordinate first
/// multiplied by `scale` (same layout; `None`: 1): the projection the taps apply to an example's
/// gradient, so inner products with tap features are kept in expectation.
pub fn project(model: &mut dyn CausalLm, g: &[f64], scale: Option<&[f64]>) -> Result<Vec<f64>> {
	let mut out = Vec::new();
	let mut at = 0;
	for (_, lin) in adapted(model) {
		let lora = lin.lora.as_ref().expect("adapted");
		let guard = lora.tap.lock().expect("tap lock");
		let Some(tap) = guard.as_ref() else { candle_core::bail!("a layer's tap is not armed") };
		let mut take = |v: &Var| -> Result<Tensor> {
			let n = v.elem_count();
			if at + n > g.len() || scale.is_some_and(|s| s.len() != g.len()) {
				candle_core::bail!("a gradient of {} numbers for more parameters", g.len());
			}
			let mut part = g[at..at + n].to_vec();
			if let Some(s) = scale {
				part.iter_mut().zip(&s[at..at + n]).for_each(|(x, f)| *x *= f);
			}
			at += n;
			Tensor::from_vec(part, v.shape(), &Device::Cpu)
		};
		let (gb, ga) = (take(&lora.b)?, take(&lora.a)?);
		let f64p = |p: &Tensor| p.to_device(&Device::Cpu)?.to_dtype(DType::F64);
		// (k_out, r) and (r, k_in), as the taps' features.
		let fb = match &tap.proj_out {
			Some(p) => f64p(p)?.matmul(&gb)?,
			None => gb,
		};
		let fa = match &tap.proj_in {
			Some(p) => ga.matmul(&f64p(p)?.t()?)?,
			None => ga,
		};
		out.extend(fb.flatten_all()?.to_vec1::<f64>()?);
		out.extend(fa.flatten_all()?.to_vec1::<f64>()?);
	}
	if at != g.len() {
		candle_core::bail!("a gradient of {} numbers for {at} parameters", g.len());
	}
	Ok(out)
}

/// Forgets recorded passes without using them (a forward pass that will have no backward).
pub fn clear(model: &mut dyn CausalLm) {
	for (_, lin) in adapted(model) {
		let lora = lin.lora.as_ref().expect("adapted");
		if let Some(t) = lora.tap.lock().expect("tap lock").as_mut() {
			t.passes.clear();
		}
	}
}

/// The layers with an unmerged adapter, in the model's order.
fn adapted(model: &mut dyn CausalLm) -> Vec<(String, &mut Linear)> {
	model
		.linears_mut()
		.into_iter()
		.filter(|(_, l)| l.lora.as_ref().is_some_and(|l| !l.is_merged()))
		.collect()
}
