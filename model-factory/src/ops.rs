//! Differentiable building blocks.
//!
//! candle's fused `rms_norm`, `softmax_last_dim` and `rope` kernels have no backward pass: gradients stop
//! at them silently. Everything here is composed of ops that do have one (elementwise, reductions,
//! matmul, narrow/cat), and the tests check the gradients against finite differences in f64.

use candle_core::{CpuStorage, CustomOp1, DType, Device, Layout, Result, Shape, Tensor, D};

/// Root-mean-square norm over the last dimension, times `weight` (LLaMA's RMSNorm; computed in f32 or
/// wider, like transformers does).
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Result<Tensor> {
	let dtype = x.dtype();
	let wide = match dtype {
		DType::F16 | DType::BF16 => DType::F32,
		d => d,
	};
	let x = x.to_dtype(wide)?;
	let var = x.sqr()?.mean_keepdim(D::Minus1)?;
	let x = x.broadcast_div(&(var + eps)?.sqrt()?)?;
	x.to_dtype(dtype)?.broadcast_mul(weight)
}

/// LayerNorm over the last dimension with weight and bias, from differentiable ops.
pub fn layer_norm(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor> {
	let mean = x.mean_keepdim(D::Minus1)?;
	let xc = x.broadcast_sub(&mean)?;
	let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
	xc.broadcast_div(&(var + eps)?.sqrt()?)?.broadcast_mul(w)?.broadcast_add(b)
}

/// Softmax over the last dimension (max-subtracted, differentiable).
pub fn softmax(x: &Tensor) -> Result<Tensor> {
	candle_nn::ops::softmax(x, D::Minus1)
}

/// `x @ w^T` for a frozen weight `w` (out, in): differentiable in `x` only. candle's matmul backward
/// always computes the weight's gradient as well, a full extra matmul per layer (and for the LM
/// head, a vocab-sized one) that LoRA training throws away; this op skips it, and runs the forward
/// as one (rows, in) x (in, out) product over all leading dimensions.
pub fn frozen_linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
	if w.dtype() != x.dtype() || !w.is_contiguous() {
		candle_core::bail!("frozen_linear: the weight must be contiguous and of the input's dtype");
	}
	x.contiguous()?.apply_op1(FrozenMatmul(w.clone()))
}

struct FrozenMatmul(Tensor);

impl FrozenMatmul {
	fn shapes(&self, l: &Layout) -> Result<(usize, usize, usize, Vec<usize>)> {
		let (n, k) = self.0.dims2()?;
		let dims = l.dims();
		if dims.last() != Some(&k) {
			candle_core::bail!("frozen_linear: input {dims:?} does not end in {k}");
		}
		let m = l.shape().elem_count() / k;
		let mut out = dims.to_vec();
		*out.last_mut().expect("rank >= 1") = n;
		Ok((m, n, k, out))
	}
}

impl CustomOp1 for FrozenMatmul {
	fn name(&self) -> &'static str {
		"frozen-linear"
	}

	fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
		use candle_core::backend::BackendStorage;
		let (m, n, k, out) = self.shapes(l)?;
		let wt = self.0.t()?; // (in, out) view of the same storage
		let (ws, wl) = wt.storage_and_layout();
		let candle_core::Storage::Cpu(w) = &*ws else {
			candle_core::bail!("frozen_linear: the weight is not on the CPU")
		};
		let lhs = Layout::contiguous_with_offset((m, k), l.start_offset());
		if let Some((y, _)) = crate::blas::cpu_matmul(s, &lhs, w, wl)? {
			return Ok((y, Shape::from(out)));
		}
		Ok((s.matmul(w, (1, m, n, k), &lhs, wl)?, Shape::from(out)))
	}

	#[cfg(feature = "cuda")]
	fn cuda_fwd(
		&self,
		s: &candle_core::CudaStorage,
		l: &Layout,
	) -> Result<(candle_core::CudaStorage, Shape)> {
		let (m, n, k, out) = self.shapes(l)?;
		let (ws, wl) = self.0.storage_and_layout();
		let candle_core::Storage::Cuda(w) = &*ws else {
			candle_core::bail!("frozen_linear: the weight is not on the input's GPU")
		};
		Ok((crate::cuda::matmul_wt(s, l, w, wl, (m, n, k))?, Shape::from(out)))
	}

	fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
		let (n, k) = self.0.dims2()?;
		let rows = grad_res.elem_count() / n;
		let g = crate::blas::gemm(&grad_res.contiguous()?.reshape((rows, n))?, &self.0)?;
		Ok(Some(g.reshape(arg.shape())?.reshape({
			let mut d = arg.dims().to_vec();
			*d.last_mut().expect("rank >= 1") = k;
			d
		})?))
	}
}

/// Swaps and negates the two halves of the last dimension: (x1, x2) -> (-x2, x1).
pub fn rotate_half(x: &Tensor) -> Result<Tensor> {
	let half = x.dim(D::Minus1)? / 2;
	let x1 = x.narrow(D::Minus1, 0, half)?;
	let x2 = x.narrow(D::Minus1, half, half)?;
	Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)
}

/// Interleaved rotation of the first `cos.dim(-1)` features (GPT-J / GLM layout): each pair
/// (x_2i, x_2i+1) turns by its angle; the features past the rotary dimension pass unchanged.
pub fn rope_interleaved(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
	let rot = cos.dim(D::Minus1)?;
	let d = x.dim(D::Minus1)?;
	let xr = x.narrow(D::Minus1, 0, rot)?;
	let mut dims = xr.dims().to_vec();
	let last = dims.len() - 1;
	dims[last] = rot / 2;
	dims.push(2);
	let pairs = xr.reshape(dims)?;
	let (x1, x2) = (pairs.narrow(D::Minus1, 0, 1)?, pairs.narrow(D::Minus1, 1, 1)?);
	let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?.reshape(xr.shape())?;
	let (cos, sin) = (cos.unsqueeze(0)?.unsqueeze(0)?, sin.unsqueeze(0)?.unsqueeze(0)?);
	let y = (xr.broadcast_mul(&cos)? + rotated.broadcast_mul(&sin)?)?;
	if rot == d {
		return Ok(y);
	}
	Tensor::cat(&[&y, &x.narrow(D::Minus1, rot, d - rot)?], D::Minus1)
}

/// Rotary position embedding in the "rotate half" layout used by Hugging Face LLaMA-style models.
/// `x` is (batch, heads, seq, head_dim); `cos` and `sin` are (seq, head_dim) for the positions of `x`.
pub fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
	let cos = cos.unsqueeze(0)?.unsqueeze(0)?;
	let sin = sin.unsqueeze(0)?.unsqueeze(0)?;
	x.broadcast_mul(&cos)? + rotate_half(x)?.broadcast_mul(&sin)?
}

/// Rotary settings as Hugging Face configs give them: transformers 4 writes `rope_theta` and
/// `rope_scaling` at the top level, transformers 5 writes one `rope_parameters` object.
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize)]
pub struct RopeConfig {
	#[serde(default)]
	pub rope_theta: Option<f64>,
	#[serde(default)]
	pub rope_scaling: Option<RopeParameters>,
	#[serde(default)]
	pub rope_parameters: Option<RopeParameters>,
	/// The context dynamic NTK scaling stretches beyond (the model's `max_position_embeddings`).
	#[serde(default)]
	pub max_position_embeddings: Option<usize>,
}

/// Dynamic NTK scaling (`rope_type: dynamic`): while a sequence is no longer than
/// `max_positions`, the plain frequencies; beyond, the base grows with the sequence's length `n`,
/// `θ' = θ (factor n / max_positions − (factor − 1))^(d / (d − 2))`, recomputed as it grows
/// (transformers' `_compute_dynamic_ntk_parameters`). Positions already in a KV cache keep the
/// rotation they were written with, as in transformers.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicNtk {
	theta: f64,
	factor: f64,
	max_positions: usize,
	dim: usize,
}

impl DynamicNtk {
	/// The inverse frequencies for a sequence `end` positions long, or `None` while it fits the
	/// original context (the plain frequencies then).
	pub fn inv_freq(&self, end: usize) -> Option<Vec<f64>> {
		if end <= self.max_positions {
			return None;
		}
		let d = self.dim as f64;
		let stretch = self.factor * end as f64 / self.max_positions as f64 - (self.factor - 1.0);
		let theta = self.theta * stretch.powf(d / (d - 2.0));
		Some((0..self.dim / 2).map(|i| 1.0 / theta.powf(2.0 * i as f64 / d)).collect())
	}
}

#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize)]
pub struct RopeParameters {
	#[serde(default, alias = "type")]
	pub rope_type: Option<String>,
	#[serde(default)]
	pub rope_theta: Option<f64>,
	#[serde(default)]
	pub partial_rotary_factor: Option<f64>,
	#[serde(default)]
	pub factor: Option<f64>,
	#[serde(default)]
	pub low_freq_factor: Option<f64>,
	#[serde(default)]
	pub high_freq_factor: Option<f64>,
	#[serde(default)]
	pub original_max_position_embeddings: Option<usize>,
	/// YaRN: the ramp between interpolated and extrapolated frequencies (defaults 32 and 1).
	#[serde(default)]
	pub beta_fast: Option<f64>,
	#[serde(default)]
	pub beta_slow: Option<f64>,
	/// YaRN: the factor on cos and sin, given, or from `factor` (and `mscale`/`mscale_all_dim`).
	#[serde(default)]
	pub attention_factor: Option<f64>,
	#[serde(default)]
	pub mscale: Option<f64>,
	#[serde(default)]
	pub mscale_all_dim: Option<f64>,
	/// YaRN: round the ramp's ends to whole dimensions (default true).
	#[serde(default)]
	pub truncate: Option<bool>,
}

/// YaRN's attention temperature for a context `scale` times the original: `0.1 m ln(scale) + 1`.
pub fn yarn_mscale(scale: f64, m: f64) -> f64 {
	if scale <= 1.0 {
		1.0
	} else {
		0.1 * m * scale.ln() + 1.0
	}
}

impl RopeConfig {
	pub fn theta(&self) -> f64 {
		self.rope_parameters
			.as_ref()
			.and_then(|p| p.rope_theta)
			.or(self.rope_theta)
			.unwrap_or(10000.0)
	}

	fn scaling(&self) -> Option<&RopeParameters> {
		self.rope_parameters.as_ref().or(self.rope_scaling.as_ref())
	}

	/// The share of each head that rotates (GLM rotates half), if the config says.
	pub fn partial_rotary_factor(&self) -> Option<f64> {
		self.scaling().and_then(|p| p.partial_rotary_factor)
	}

	/// Inverse frequencies for a rotary dimension of `dim`, with linear (position interpolation:
	/// every frequency divided by `factor`, as DeepSeek-Coder v1 and other long-context llamas
	/// set) or Llama 3 scaling when configured (other scaling types are refused when the config is
	/// read by [`RopeConfig::check`]).
	pub fn inv_freq(&self, dim: usize) -> Vec<f64> {
		let theta = self.theta();
		let base: Vec<f64> =
			(0..dim / 2).map(|i| 1.0 / theta.powf(2.0 * i as f64 / dim as f64)).collect();
		if let Some(s) = self.scaling().filter(|s| s.rope_type.as_deref() == Some("linear")) {
			let factor = s.factor.unwrap_or(1.0);
			return base.into_iter().map(|f| f / factor).collect();
		}
		if let Some(s) = self.scaling().filter(|s| s.rope_type.as_deref() == Some("yarn")) {
			return yarn_inv_freq(&base, theta, dim, s);
		}
		let Some(s) = self.scaling().filter(|s| s.rope_type.as_deref() == Some("llama3")) else {
			return base;
		};
		let factor = s.factor.unwrap_or(8.0);
		let (low, high) = (s.low_freq_factor.unwrap_or(1.0), s.high_freq_factor.unwrap_or(4.0));
		let old = s.original_max_position_embeddings.unwrap_or(8192) as f64;
		let (low_wavelen, high_wavelen) = (old / low, old / high);
		base.into_iter()
			.map(|f| {
				let wavelen = 2.0 * std::f64::consts::PI / f;
				if wavelen < high_wavelen {
					f
				} else if wavelen > low_wavelen {
					f / factor
				} else {
					let smooth = (old / wavelen - low) / (high - low);
					(1.0 - smooth) * f / factor + smooth * f
				}
			})
			.collect()
	}

	/// Dynamic NTK scaling for a rotary dimension of `dim`, when configured.
	pub fn dynamic_ntk(&self, dim: usize) -> Option<DynamicNtk> {
		let s = self.scaling().filter(|s| s.rope_type.as_deref() == Some("dynamic"))?;
		Some(DynamicNtk {
			theta: self.theta(),
			factor: s.factor?,
			max_positions: self.max_position_embeddings?,
			dim,
		})
	}

	/// The factor on the rotary tables (YaRN's attention temperature; 1 for other types).
	pub fn attention_factor(&self) -> f64 {
		let Some(s) = self.scaling().filter(|s| s.rope_type.as_deref() == Some("yarn")) else {
			return 1.0;
		};
		let factor = s.factor.unwrap_or(1.0);
		s.attention_factor.unwrap_or_else(|| match (s.mscale, s.mscale_all_dim) {
			(Some(m), Some(all)) if m != 0.0 && all != 0.0 => {
				yarn_mscale(factor, m) / yarn_mscale(factor, all)
			}
			_ => yarn_mscale(factor, 1.0),
		})
	}

	/// DeepSeek's extra softmax temperature under YaRN: `mscale(factor, mscale_all_dim)²` when
	/// the config sets `mscale_all_dim` (transformers' `yarn_apply_mscale`), else 1.
	pub fn yarn_softmax_scale(&self) -> f64 {
		match self.scaling() {
			Some(s) if s.rope_type.as_deref().is_some_and(|t| t != "default") => {
				match (s.mscale_all_dim, s.factor) {
					(Some(all), Some(f)) if all != 0.0 => yarn_mscale(f, all).powi(2),
					_ => 1.0,
				}
			}
			_ => 1.0,
		}
	}

	/// Refuses scaling types this engine does not implement, rather than silently ignoring them.
	pub fn check(&self) -> std::result::Result<(), String> {
		let scaling = self.scaling();
		if let Some(f) =
			scaling.filter(|s| s.rope_type.as_deref() == Some("linear")).map(|s| s.factor)
		{
			if !f.is_some_and(|f| f.is_finite() && f > 0.0) {
				return Err(format!("linear rope scaling needs a positive factor, not {f:?}"));
			}
		}
		if let Some(s) = scaling.filter(|s| s.rope_type.as_deref() == Some("yarn")) {
			if !s.factor.is_some_and(|f| f.is_finite() && f > 0.0) {
				return Err(format!(
					"yarn rope scaling needs a positive factor, not {:?}",
					s.factor
				));
			}
			if s.original_max_position_embeddings.is_none() {
				return Err("yarn rope scaling needs original_max_position_embeddings".into());
			}
		}
		if let Some(s) = scaling.filter(|s| s.rope_type.as_deref() == Some("dynamic")) {
			if !s.factor.is_some_and(|f| f.is_finite() && f >= 1.0) {
				return Err(format!(
					"dynamic rope scaling needs a factor of at least 1, not {:?}",
					s.factor
				));
			}
			if self.max_position_embeddings.is_none_or(|m| m == 0) {
				return Err("dynamic rope scaling needs max_position_embeddings".into());
			}
		}
		match scaling.and_then(|s| s.rope_type.as_deref()) {
			None | Some("default") | Some("linear") | Some("llama3") | Some("yarn")
			| Some("dynamic") => Ok(()),
			Some(t) => Err(format!(
				"rope scaling type {t:?} is not supported (default, linear, llama3, yarn, dynamic \
				 are)"
			)),
		}
	}
}

/// YaRN (Peng et al. 2023): each frequency blends its interpolated value (divided by `factor`)
/// and its original one, by a linear ramp over the dimensions whose wavelength completes between
/// `beta_slow` and `beta_fast` rotations in the original context.
fn yarn_inv_freq(base: &[f64], theta: f64, dim: usize, s: &RopeParameters) -> Vec<f64> {
	let factor = s.factor.unwrap_or(1.0);
	let original = s.original_max_position_embeddings.unwrap_or(4096) as f64;
	let (fast, slow) = (s.beta_fast.unwrap_or(32.0), s.beta_slow.unwrap_or(1.0));
	let correction = |rotations: f64| {
		dim as f64 * (original / (rotations * 2.0 * std::f64::consts::PI)).ln() / (2.0 * theta.ln())
	};
	let (mut low, mut high) = (correction(fast), correction(slow));
	if s.truncate.unwrap_or(true) {
		(low, high) = (low.floor(), high.ceil());
	}
	let (low, high) = (low.max(0.0), high.min(dim as f64 - 1.0));
	let high = if low == high { high + 0.001 } else { high };
	base.iter()
		.enumerate()
		.map(|(i, &f)| {
			let ramp = ((i as f64 - low) / (high - low)).clamp(0.0, 1.0);
			let extrapolate = 1.0 - ramp;
			f / factor * (1.0 - extrapolate) + f * extrapolate
		})
		.collect()
}

/// The rotary tables for positions `offset..offset+len`: (len, 2 * inv_freq.len()) each. The
/// frequencies are laid out as two halves (f0..fn, f0..fn) for the rotate-half layout, or pairwise
/// (f0, f0, f1, f1, ...) for the interleaved one.
pub fn rope_tables(
	inv_freq: &[f64],
	offset: usize,
	len: usize,
	interleaved: bool,
	dtype: DType,
	dev: &Device,
) -> Result<(Tensor, Tensor)> {
	let half = inv_freq.len();
	let mut angles = Vec::with_capacity(len * half * 2);
	for p in offset..offset + len {
		let row: Vec<f64> = inv_freq.iter().map(|f| p as f64 * f).collect();
		if interleaved {
			angles.extend(row.iter().flat_map(|a| [*a, *a]));
		} else {
			angles.extend_from_slice(&row);
			angles.extend_from_slice(&row);
		}
	}
	let a = Tensor::from_vec(angles, (len, 2 * half), dev)?;
	Ok((a.cos()?.to_dtype(dtype)?, a.sin()?.to_dtype(dtype)?))
}

/// Rotary tables multiplied by `factor` (YaRN's attention factor scales cos and sin alike).
pub fn scale_tables(tables: Vec<(Tensor, Tensor)>, factor: f64) -> Result<Vec<(Tensor, Tensor)>> {
	if factor == 1.0 {
		return Ok(tables);
	}
	tables.into_iter().map(|(c, s)| Ok(((c * factor)?, (s * factor)?))).collect()
}

/// Additive causal mask (0 where a query at position `offset + i` may attend key `j`, -inf elsewhere),
/// shape (q_len, offset + q_len). `window` limits attention to the last `window` keys (sliding window).
pub fn causal_mask(
	q_len: usize,
	offset: usize,
	window: Option<usize>,
	dtype: DType,
	dev: &Device,
) -> Result<Tensor> {
	let k_len = offset + q_len;
	let mut m = vec![0f32; q_len * k_len];
	for i in 0..q_len {
		let q = offset + i;
		for j in 0..k_len {
			let too_old = window.is_some_and(|w| q >= w && j <= q - w);
			if j > q || too_old {
				m[i * k_len + j] = f32::NEG_INFINITY;
			}
		}
	}
	Tensor::from_vec(m, (q_len, k_len), dev)?.to_dtype(dtype)
}

/// Repeats each key/value head `n` times (grouped-query attention): (b, kv, t, d) -> (b, kv*n, t, d).
pub fn repeat_kv(x: &Tensor, n: usize) -> Result<Tensor> {
	if n == 1 {
		return Ok(x.clone());
	}
	let (b, kv, t, d) = x.dims4()?;
	x.unsqueeze(2)?.broadcast_as((b, kv, n, t, d))?.contiguous()?.reshape((b, kv * n, t, d))
}

/// Mean cross-entropy of next-token prediction over positions where `mask` is 1.
/// `logits` (b, t, v) predict `targets` (b, t) (already shifted); `mask` (b, t) in the logits' dtype.
pub fn masked_loss(logits: &Tensor, targets: &Tensor, mask: &Tensor) -> Result<Tensor> {
	if crate::fused::usable(logits) {
		let v = logits.dim(D::Minus1)?;
		let per = crate::fused::cross_entropy(&logits.reshape(((), v))?, targets)?;
		let total = (per * mask.flatten_all()?.to_dtype(logits.dtype())?)?.sum_all()?;
		let n = mask.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
		return total / n.max(1.0);
	}
	masked_loss_composed(logits, targets, mask)
}

/// [`masked_loss`] from candle's ops only (other dtypes and devices; the reference for the fused one).
pub fn masked_loss_composed(logits: &Tensor, targets: &Tensor, mask: &Tensor) -> Result<Tensor> {
	let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
	let picked = logp.gather(&targets.unsqueeze(D::Minus1)?, D::Minus1)?.squeeze(D::Minus1)?;
	let total = (picked * mask)?.sum_all()?;
	let n = mask.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
	total.neg()? / n.max(1.0)
}

#[cfg(test)]
mod tests {
	use super::*;
	use candle_core::Var;

	/// Checks d(sum(f(x) * probe))/dx from backprop against central differences, in f64.
	fn grad_check(x: &Tensor, f: impl Fn(&Tensor) -> Result<Tensor>) {
		let var = Var::from_tensor(x).unwrap();
		let y = f(var.as_tensor()).unwrap();
		let probe = Tensor::randn(0f64, 1.0, y.shape(), x.device()).unwrap();
		let loss = (y * &probe).unwrap().sum_all().unwrap();
		let grads = loss.backward().unwrap();
		let g = grads.get(var.as_tensor()).expect("gradient reaches the input");
		let g: Vec<f64> = g.flatten_all().unwrap().to_vec1().unwrap();
		let x0: Vec<f64> = x.flatten_all().unwrap().to_vec1().unwrap();
		let eval = |v: &[f64]| -> f64 {
			let t = Tensor::from_vec(v.to_vec(), x.shape(), x.device()).unwrap();
			(f(&t).unwrap() * &probe).unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap()
		};
		let h = 1e-6;
		for i in 0..x0.len() {
			let (mut p, mut m) = (x0.clone(), x0.clone());
			p[i] += h;
			m[i] -= h;
			let num = (eval(&p) - eval(&m)) / (2.0 * h);
			assert!(
				(num - g[i]).abs() < 1e-6 * (1.0 + num.abs()),
				"element {i}: {num} vs {}",
				g[i]
			);
		}
	}

	#[test]
	fn every_op_has_an_exact_gradient() {
		let dev = Device::Cpu;
		let x = Tensor::randn(0f64, 1.0, (2, 3, 4, 6), &dev).unwrap();
		let w = Tensor::randn(1f64, 0.1, 6, &dev).unwrap();
		grad_check(&x, |x| rms_norm(x, &w, 1e-6));
		let b = Tensor::randn(0f64, 0.1, 6, &dev).unwrap();
		grad_check(&x, |x| layer_norm(x, &w, &b, 1e-5));
		grad_check(&x, softmax);
		let inv: Vec<f64> = (0..3).map(|i| 1.0 / 10000f64.powf(2.0 * i as f64 / 6.0)).collect();
		let (cos, sin) = rope_tables(&inv, 5, 4, false, DType::F64, &dev).unwrap();
		grad_check(&x, |x| rope(x, &cos, &sin));
		// Interleaved, rotating 4 of the 6 features.
		let (cos, sin) = rope_tables(&inv[..2], 5, 4, true, DType::F64, &dev).unwrap();
		grad_check(&x, |x| rope_interleaved(x, &cos, &sin));
		grad_check(&x, |x| repeat_kv(x, 2));
		let m = Tensor::randn(0f64, 1.0, (5, 6), &dev).unwrap();
		let bias = Tensor::randn(0f64, 1.0, 5, &dev).unwrap();
		grad_check(&x, |x| frozen_linear(x, &m)?.broadcast_add(&bias));
		grad_check(&x, |x| frozen_linear(x, &m));
		let a = frozen_linear(&x, &m).unwrap();
		let b = x.broadcast_matmul(&m.t().unwrap()).unwrap();
		let d = (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f64>().unwrap();
		assert!(d < 1e-12, "{d}");
		grad_check(&x, |x| x.silu());
		let mask = causal_mask(4, 0, None, DType::F64, &dev).unwrap();
		grad_check(&x, |x| softmax(&x.narrow(3, 0, 4)?.broadcast_add(&mask)?));
	}

	#[test]
	fn masks_are_causal_and_windowed() {
		let m = causal_mask(3, 2, None, DType::F32, &Device::Cpu).unwrap();
		let v: Vec<Vec<f32>> = m.to_vec2().unwrap();
		let inf = f32::NEG_INFINITY;
		assert_eq!(v, vec![vec![0., 0., 0., inf, inf], vec![0., 0., 0., 0., inf], vec![0.; 5]]);
		let w = causal_mask(4, 0, Some(2), DType::F32, &Device::Cpu).unwrap();
		let v: Vec<Vec<f32>> = w.to_vec2().unwrap();
		assert_eq!(v[3], vec![inf, inf, 0., 0.]);
		assert_eq!(v[1], vec![0., 0., inf, inf]);
	}

	#[test]
	fn rope_rotates_pairs_by_position() {
		// At position p, the pair (x_i, x_{i+d/2}) is rotated by angle p * inv_freq_i.
		let dev = Device::Cpu;
		let inv = [0.5f64, 0.1];
		let (cos, sin) = rope_tables(&inv, 3, 1, false, DType::F64, &dev).unwrap();
		let x = Tensor::new(&[[[[1f64, 0., 0., 0.]]]], &dev).unwrap();
		let y: Vec<f64> = rope(&x, &cos, &sin).unwrap().flatten_all().unwrap().to_vec1().unwrap();
		let a: f64 = 3.0 * 0.5;
		assert!((y[0] - a.cos()).abs() < 1e-12 && (y[2] - a.sin()).abs() < 1e-12, "{y:?}");
		// Interleaved: the pair is (x_0, x_1); with one frequency the last two features pass.
		let (cos, sin) = rope_tables(&inv[..1], 3, 1, true, DType::F64, &dev).unwrap();
		let x = Tensor::new(&[[[[1f64, 0., 5., 7.]]]], &dev).unwrap();
		let y: Vec<f64> =
			rope_interleaved(&x, &cos, &sin).unwrap().flatten_all().unwrap().to_vec1().unwrap();
		assert!((y[0] - a.cos()).abs() < 1e-12 && (y[1] - a.sin()).abs() < 1e-12, "{y:?}");
		assert_eq!(&y[2..], &[5., 7.]);
	}
}
