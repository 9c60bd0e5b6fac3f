//! Fused CPU kernels with analytic backward passes, for the hot ops of training: RMSNorm, rotary
//! embedding, causally masked softmax and SwiGLU. Each replaces a chain of 4 to 8 candle ops (one
//! allocation and one memory pass each, forward and backward) by one pass.
//!
//! They run on contiguous f32/f64 CPU tensors; [`usable`] says when, and the model code falls back
//! to the composed ops in [`crate::ops`] otherwise (other dtypes, other devices). Every kernel's
//! backward is checked against finite differences and its forward against the composed ops.

// Generic `Float` has no `AddAssign`/`SubAssign`/`MulAssign`, so the kernels write `a = a + b`.
#![allow(clippy::assign_op_pattern)]

use candle_core::{
	CpuStorage, CustomOp1, CustomOp2, DType, Layout, Result, Shape, Tensor, WithDType,
};
use num_traits::Float;
use rayon::prelude::*;

/// Whether the fused kernels can take `x`.
pub fn usable(x: &Tensor) -> bool {
	x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64)
}

/// RMSNorm: fused when possible, composed otherwise.
pub fn fast_rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
	if usable(x) {
		rms_norm(x, w, eps)
	} else {
		crate::ops::rms_norm(x, w, eps)
	}
}

/// Rotate-half rotary embedding: fused when possible, composed otherwise.
pub fn fast_rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
	if usable(x) {
		rope(x, cos, sin)
	} else {
		crate::ops::rope(x, cos, sin)
	}
}

/// `silu(gate) * up`: fused when possible, composed otherwise.
pub fn fast_swiglu(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
	if usable(gate) {
		swiglu(gate, up)
	} else {
		gate.silu()? * up
	}
}

/// Causal scaled dot-product attention with grouped-query heads: `q` (b, heads, t, d) for positions
/// `offset..offset+t`, `k` (b, kv_heads, keys, d) and `v` (b, kv_heads, keys, dv); returns
/// (b, t, heads * dv), scores scaled by 1/√d. The fused path stacks each kv head's query heads
/// along the rows instead of copying k and v per query head.
pub fn attention(
	q: &Tensor,
	k: &Tensor,
	v: &Tensor,
	offset: usize,
	window: Option<usize>,
) -> Result<Tensor> {
	let (b, nh, t, hd) = q.dims4()?;
	let (nkv, vd) = (k.dim(1)?, v.dim(3)?);
	let scale = 1.0 / (hd as f64).sqrt();
	let att = if usable(q) {
		let q = q.contiguous()?.reshape((b, nkv, (nh / nkv) * t, hd))?;
		let scores = crate::blas::matmul(&q, &k.t()?)?;
		let probs = causal_softmax(&scores, scale, t, offset, window)?;
		crate::blas::matmul(&probs, v)?.reshape((b, nh, t, vd))?
	} else {
		let (k, v) = (crate::ops::repeat_kv(k, nh / nkv)?, crate::ops::repeat_kv(v, nh / nkv)?);
		let scores = (q.contiguous()?.matmul(&k.t()?.contiguous()?)? * scale)?;
		let mask = crate::ops::causal_mask(t, offset, window, q.dtype(), q.device())?;
		crate::ops::softmax(&scores.broadcast_add(&mask)?)?.matmul(&v.contiguous()?)?
	};
	att.transpose(1, 2)?.reshape((b, t, nh * vd))
}

fn slice<'a, T: WithDType>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [T]> {
	let Some((a, b)) = l.contiguous_offsets() else {
		candle_core::bail!("fused op: input must be contiguous")
	};
	Ok(&s.as_slice::<T>()?[a..b])
}

/// Dispatches a kernel body on the storage's float type.
macro_rules! float_dispatch {
	($s:expr, $f:ident, $($arg:expr),*) => {
		match $s {
			CpuStorage::F32(_) => $f::<f32>($($arg),*),
			CpuStorage::F64(_) => $f::<f64>($($arg),*),
			_ => candle_core::bail!("fused op: only f32 and f64"),
		}
	};
}

fn cast<T: Float>(x: f64) -> T {
	T::from(x).expect("representable")
}

// ---- RMSNorm and LayerNorm ----------------------------------------------------------------------

/// `x / sqrt(mean(x^2) + eps) * w` over the last dimension; gradient to `x` (the norm weight is
/// frozen in LoRA training). Statistics are accumulated in f64.
pub fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
	norm(x, w, None, eps, false)
}

/// `(x - mean) / sqrt(var + eps) * w + b` over the last dimension; gradient to `x` (weight and bias
/// are frozen in LoRA training). Statistics are accumulated in f64.
pub fn layer_norm(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor> {
	norm(x, w, Some(b), eps, true)
}

/// LayerNorm: fused when possible, composed otherwise.
pub fn fast_layer_norm(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor> {
	if usable(x) {
		layer_norm(x, w, b, eps)
	} else {
		crate::ops::layer_norm(x, w, b, eps)
	}
}

fn norm(x: &Tensor, w: &Tensor, b: Option<&Tensor>, eps: f64, center: bool) -> Result<Tensor> {
	let dt = x.dtype();
	let b = b.map(|b| b.to_dtype(dt)?.contiguous()).transpose()?;
	x.contiguous()?.apply_op1(Norm { w: w.to_dtype(dt)?.contiguous()?, b, eps, center })
}

/// A row norm with a frozen weight (and bias): LayerNorm when `center`, RMSNorm otherwise (which
/// is LayerNorm without the mean and the bias).
struct Norm {
	w: Tensor,
	b: Option<Tensor>,
	eps: f64,
	center: bool,
}

fn weight_vec<T: WithDType>(w: &Tensor) -> Result<Vec<T>> {
	w.flatten_all()?.to_vec1::<T>()
}

/// The mean (0 when not centring) and `1 / sqrt(var + eps)` of a row, in f64; uncentred, the
/// "variance" is mean(x^2), as RMSNorm's.
fn row_stats<T: WithDType>(x: &[T], eps: f64, center: bool) -> (f64, f64) {
	let n = x.len() as f64;
	let mean = if center { x.iter().map(|v| WithDType::to_f64(*v)).sum::<f64>() / n } else { 0.0 };
	let var = x.iter().map(|v| (WithDType::to_f64(*v) - mean).powi(2)).sum::<f64>() / n;
	(mean, 1.0 / (var + eps).sqrt())
}

fn norm_fwd<T: WithDType + Float + Send + Sync>(
	s: &CpuStorage,
	l: &Layout,
	op: &Norm,
) -> Result<CpuStorage> {
	let x = slice::<T>(s, l)?;
	let w = weight_vec::<T>(&op.w)?;
	let b = op.b.as_ref().map(weight_vec::<T>).transpose()?;
	let d = w.len();
	let mut y = vec![T::zero(); x.len()];
	y.par_chunks_mut(d).zip(x.par_chunks(d)).for_each(|(y, x)| {
		let (mean, rstd) = row_stats(x, op.eps, op.center);
		let (mean, rstd): (T, T) = (cast(mean), cast(rstd));
		for i in 0..d {
			y[i] = (x[i] - mean) * rstd * w[i];
		}
		if let Some(b) = &b {
			for i in 0..d {
				y[i] = y[i] + b[i];
			}
		}
	});
	Ok(T::to_cpu_storage_owned(y))
}

impl CustomOp1 for Norm {
	fn name(&self) -> &'static str {
		if self.center {
			"fused-layer-norm"
		} else {
			"fused-rms-norm"
		}
	}
	fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
		if l.dims().last() != Some(&self.w.elem_count()) {
			candle_core::bail!(
				"{}: input {:?} does not end in {}",
				self.name(),
				l.dims(),
				self.w.elem_count()
			);
		}
		Ok((float_dispatch!(s, norm_fwd, s, l, self)?, l.shape().clone()))
	}
	fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
		let op = NormBwd { w: self.w.clone(), eps: self.eps, center: self.center };
		Ok(Some(x.apply_op2_no_bwd(&dy.contiguous()?, &op)?))
	}
}

struct NormBwd {
	w: Tensor,
	eps: f64,
	center: bool,
}

fn norm_bwd<T: WithDType + Float + Send + Sync>(
	s1: &CpuStorage,
	l1: &Layout,
	s2: &CpuStorage,
	l2: &Layout,
	op: &NormBwd,
) -> Result<CpuStorage> {
	let (x, dy) = (slice::<T>(s1, l1)?, slice::<T>(s2, l2)?);
	let w = weight_vec::<T>(&op.w)?;
	let d = w.len();
	let mut dx = vec![T::zero(); x.len()];
	dx.par_chunks_mut(d).zip(x.par_chunks(d).zip(dy.par_chunks(d))).for_each(|(dx, (x, dy))| {
		// With x̂ = (x - mean) rstd and g = dy w:  dx = rstd (g - mean(g) - x̂ mean(g x̂)), where the
		// mean(g) term belongs to centring (absent for RMSNorm, whose mean is 0).
		let (mean, rstd) = row_stats(x, op.eps, op.center);
		let (mut mg, mut mgx) = (0f64, 0f64);
		for i in 0..d {
			let g = WithDType::to_f64(dy[i] * w[i]);
			mg += g;
			mgx += g * (WithDType::to_f64(x[i]) - mean) * rstd;
		}
		let mg = if op.center { mg / d as f64 } else { 0.0 };
		let mgx = mgx / d as f64;
		for i in 0..d {
			let xh = (WithDType::to_f64(x[i]) - mean) * rstd;
			let g = WithDType::to_f64(dy[i] * w[i]);
			dx[i] = cast(rstd * (g - mg - xh * mgx));
		}
	});
	Ok(T::to_cpu_storage_owned(dx))
}

impl CustomOp2 for NormBwd {
	fn name(&self) -> &'static str {
		"fused-norm-bwd"
	}
	fn cpu_fwd(
		&self,
		s1: &CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
	) -> Result<(CpuStorage, Shape)> {
		Ok((float_dispatch!(s1, norm_bwd, s1, l1, s2, l2, self)?, l1.shape().clone()))
	}
}

// ---- Rotary embedding ------------------------------------------------------------------------------

/// `x * cos + rotate_half(x) * sin` for `x` (b, h, t, d) and tables (t, d) with duplicated halves,
/// as [`crate::ops::rope`]. The backward is the inverse rotation (the same op with `-sin`).
pub fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
	rope_op(x, cos, sin, false)
}

/// The interleaved layout of [`crate::ops::rope_interleaved`]: pairs (x_2i, x_2i+1) turn, and the
/// features past the tables' width pass unchanged (GLM rotates half of each head).
pub fn rope_interleaved(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
	rope_op(x, cos, sin, true)
}

fn rope_op(x: &Tensor, cos: &Tensor, sin: &Tensor, interleaved: bool) -> Result<Tensor> {
	let dt = x.dtype();
	x.contiguous()?.apply_op1(Rope {
		cos: cos.to_dtype(dt)?.contiguous()?,
		sin: sin.to_dtype(dt)?.contiguous()?,
		interleaved,
	})
}

struct Rope {
	cos: Tensor,
	sin: Tensor,
	interleaved: bool,
}

fn rope_kernel<T: WithDType + Float + Send + Sync>(
	s: &CpuStorage,
	l: &Layout,
	cos: &Tensor,
	sin: &Tensor,
	interleaved: bool,
) -> Result<CpuStorage> {
	let x = slice::<T>(s, l)?;
	let (t, rot) = cos.dims2()?;
	let (c, sn) = (weight_vec::<T>(cos)?, weight_vec::<T>(sin)?);
	let dims = l.dims();
	let d = dims.last().copied().unwrap_or(0);
	if dims.len() != 4 || dims[2] != t || rot > d || (!interleaved && rot != d) {
		candle_core::bail!("rope: input {dims:?} does not match tables ({t}, {rot})");
	}
	let half = rot / 2;
	let mut y = x.to_vec(); // features past `rot` pass through
	y.par_chunks_mut(t * d).zip(x.par_chunks(t * d)).for_each(|(y, x)| {
		for p in 0..t {
			let (x, y) = (&x[p * d..(p + 1) * d], &mut y[p * d..(p + 1) * d]);
			let (c, s) = (&c[p * rot..(p + 1) * rot], &sn[p * rot..(p + 1) * rot]);
			if interleaved {
				for i in 0..half {
					let (a, b) = (x[2 * i], x[2 * i + 1]);
					y[2 * i] = a * c[2 * i] - b * s[2 * i];
					y[2 * i + 1] = b * c[2 * i + 1] + a * s[2 * i + 1];
				}
			} else {
				for i in 0..half {
					y[i] = x[i] * c[i] - x[i + half] * s[i];
					y[i + half] = x[i + half] * c[i + half] + x[i] * s[i + half];
				}
			}
		}
	});
	Ok(T::to_cpu_storage_owned(y))
}

impl CustomOp1 for Rope {
	fn name(&self) -> &'static str {
		"fused-rope"
	}
	fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
		let out = float_dispatch!(s, rope_kernel, s, l, &self.cos, &self.sin, self.interleaved)?;
		Ok((out, l.shape().clone()))
	}
	fn bwd(&self, _x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
		let inverse =
			Rope { cos: self.cos.clone(), sin: self.sin.neg()?, interleaved: self.interleaved };
		Ok(Some(dy.contiguous()?.apply_op1_no_bwd(&inverse)?))
	}
}

/// Interleaved rotary embedding: fused when possible, composed otherwise.
pub fn fast_rope_interleaved(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
	if usable(x) {
		rope_interleaved(x, cos, sin)
	} else {
		crate::ops::rope_interleaved(x, cos, sin)
	}
}

// ---- Causally masked softmax ----------------------------------------------------------------------

/// `softmax(scale * s + causal mask)` over the last dimension of scores `s` (.., rows, keys). Row `r`
/// is the query at position `offset + r % q_len` (so grouped-query heads can be stacked along the
/// rows); it may see keys `j <= position`, and with a `window` only `j > position - window`.
pub fn causal_softmax(
	s: &Tensor,
	scale: f64,
	q_len: usize,
	offset: usize,
	window: Option<usize>,
) -> Result<Tensor> {
	s.contiguous()?.apply_op1(CausalSoftmax { scale, q_len, offset, window, alibi: None })
}

/// BLOOM's attention: causal softmax of `scale * q k^T + slope_h * j` for scores (b, heads, t, keys),
/// then the values; `q` (b, heads, t, d) for positions `offset..`, `k`, `v` (b, heads, keys, d).
/// Returns (b, t, heads * d). Fused when possible, composed otherwise.
pub fn alibi_attention(
	q: &Tensor,
	k: &Tensor,
	v: &Tensor,
	offset: usize,
	slopes: &[f64],
) -> Result<Tensor> {
	let (b, nh, t, hd) = q.dims4()?;
	let scale = 1.0 / (hd as f64).sqrt();
	let scores = crate::blas::matmul(q, &k.t()?)?;
	let probs = if usable(q) {
		let op = CausalSoftmax {
			scale,
			q_len: t,
			offset,
			window: None,
			alibi: Some(std::sync::Arc::new(slopes.to_vec())),
		};
		scores.apply_op1(op)?
	} else {
		let keys = k.dim(2)?;
		let sl = Tensor::from_vec(slopes.to_vec(), (nh, 1, 1), q.device())?;
		let pos = Tensor::arange(0f64, keys as f64, q.device())?.reshape((1, 1, keys))?;
		let bias = sl.broadcast_mul(&pos)?.to_dtype(q.dtype())?;
		let mask = crate::ops::causal_mask(t, offset, None, q.dtype(), q.device())?;
		crate::ops::softmax(&(scores * scale)?.broadcast_add(&bias.broadcast_add(&mask)?)?)?
	};
	crate::blas::matmul(&probs, v)?.transpose(1, 2)?.reshape((b, t, nh * hd))
}

#[derive(Clone)]
struct CausalSoftmax {
	scale: f64,
	q_len: usize,
	offset: usize,
	window: Option<usize>,
	/// ALiBi: per head, `slope * key position` is added to the scaled scores (BLOOM).
	alibi: Option<std::sync::Arc<Vec<f64>>>,
}

impl CausalSoftmax {
	/// The visible keys of row `r`: `lo..hi`.
	fn visible(&self, r: usize, keys: usize) -> (usize, usize) {
		let pos = self.offset + r % self.q_len;
		let hi = (pos + 1).min(keys);
		let lo = self.window.map_or(0, |w| (pos + 1).saturating_sub(w));
		(lo, hi)
	}
}

fn softmax_fwd<T: WithDType + Float + Send + Sync>(
	s: &CpuStorage,
	l: &Layout,
	op: &CausalSoftmax,
) -> Result<CpuStorage> {
	let x = slice::<T>(s, l)?;
	let dims = l.dims();
	let (rows, keys) = (dims[dims.len() - 2], dims[dims.len() - 1]);
	if let Some(sl) = &op.alibi {
		if dims.len() < 3 || dims[dims.len() - 3] != sl.len() {
			candle_core::bail!("causal_softmax: {} ALiBi slopes for scores {dims:?}", sl.len());
		}
	}
	let mut y = vec![T::zero(); x.len()];
	let scale: T = cast(op.scale);
	y.par_chunks_mut(keys).zip(x.par_chunks(keys)).enumerate().for_each(|(i, (y, x))| {
		let (lo, hi) = op.visible(i % rows, keys);
		if lo >= hi {
			return;
		}
		let slope: Option<T> = op.alibi.as_ref().map(|sl| cast(sl[(i / rows) % sl.len()]));
		let mut m = T::neg_infinity();
		for j in lo..hi {
			let z = x[j] * scale + slope.map_or(T::zero(), |k| k * cast(j as f64));
			y[j] = z;
			m = Float::max(m, z);
		}
		let mut sum = T::zero();
		for v in &mut y[lo..hi] {
			*v = (*v - m).exp();
			sum = sum + *v;
		}
		let inv = T::one() / sum;
		for v in &mut y[lo..hi] {
			*v = *v * inv;
		}
	});
	Ok(T::to_cpu_storage_owned(y))
}

impl CustomOp1 for CausalSoftmax {
	fn name(&self) -> &'static str {
		"fused-causal-softmax"
	}
	fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
		if l.dims().len() < 2 {
			candle_core::bail!("causal_softmax: scores need rows and keys");
		}
		Ok((float_dispatch!(s, softmax_fwd, s, l, self)?, l.shape().clone()))
	}
	fn bwd(&self, _s: &Tensor, p: &Tensor, dp: &Tensor) -> Result<Option<Tensor>> {
		Ok(Some(p.apply_op2_no_bwd(&dp.contiguous()?, &SoftmaxBwd(self.scale))?))
	}
}

/// ds = scale * p * (dp - sum(dp * p)), row by row (masked entries have p = 0).
struct SoftmaxBwd(f64);

fn softmax_bwd<T: WithDType + Float + Send + Sync>(
	s1: &CpuStorage,
	l1: &Layout,
	s2: &CpuStorage,
	l2: &Layout,
	scale: f64,
) -> Result<CpuStorage> {
	let (p, dp) = (slice::<T>(s1, l1)?, slice::<T>(s2, l2)?);
	let keys = *l1.dims().last().expect("rank >= 2");
	let scale: T = cast(scale);
	let mut ds = vec![T::zero(); p.len()];
	ds.par_chunks_mut(keys).zip(p.par_chunks(keys).zip(dp.par_chunks(keys))).for_each(
		|(ds, (p, dp))| {
			let dot = (0..keys).fold(T::zero(), |a, j| a + p[j] * dp[j]);
			for j in 0..keys {
				ds[j] = scale * p[j] * (dp[j] - dot);
			}
		},
	);
	Ok(T::to_cpu_storage_owned(ds))
}

impl CustomOp2 for SoftmaxBwd {
	fn name(&self) -> &'static str {
		"fused-causal-softmax-bwd"
	}
	fn cpu_fwd(
		&self,
		s1: &CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
	) -> Result<(CpuStorage, Shape)> {
		Ok((float_dispatch!(s1, softmax_bwd, s1, l1, s2, l2, self.0)?, l1.shape().clone()))
	}
}

// ---- SwiGLU ---------------------------------------------------------------------------------------

/// `silu(gate) * up`, differentiable in both.
pub fn swiglu(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
	gate.contiguous()?.apply_op2(&up.contiguous()?, Swiglu)
}

struct Swiglu;

fn sigmoid<T: Float>(x: T) -> T {
	T::one() / (T::one() + (-x).exp())
}

fn swiglu_fwd<T: WithDType + Float + Send + Sync>(
	s1: &CpuStorage,
	l1: &Layout,
	s2: &CpuStorage,
	l2: &Layout,
) -> Result<CpuStorage> {
	let (g, u) = (slice::<T>(s1, l1)?, slice::<T>(s2, l2)?);
	let mut y = vec![T::zero(); g.len()];
	y.par_chunks_mut(4096).zip(g.par_chunks(4096).zip(u.par_chunks(4096))).for_each(
		|(y, (g, u))| {
			for i in 0..y.len() {
				y[i] = g[i] * sigmoid(g[i]) * u[i];
			}
		},
	);
	Ok(T::to_cpu_storage_owned(y))
}

impl CustomOp2 for Swiglu {
	fn name(&self) -> &'static str {
		"fused-swiglu"
	}
	fn cpu_fwd(
		&self,
		s1: &CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
	) -> Result<(CpuStorage, Shape)> {
		if l1.shape() != l2.shape() {
			candle_core::bail!("swiglu: gate {:?} and up {:?} differ", l1.dims(), l2.dims());
		}
		Ok((float_dispatch!(s1, swiglu_fwd, s1, l1, s2, l2)?, l1.shape().clone()))
	}
	fn bwd(
		&self,
		g: &Tensor,
		u: &Tensor,
		_y: &Tensor,
		dy: &Tensor,
	) -> Result<(Option<Tensor>, Option<Tensor>)> {
		// d/dg = dy * u * s (1 + g (1 - s)),  d/du = dy * g * s,  s = sigmoid(g).
		let dy = dy.contiguous()?;
		let dg = Tensor::cat(&[g, u], 0)?.apply_op2_no_bwd(&dy, &SwigluBwd)?;
		let n = g.dim(0)?;
		Ok((Some(dg.narrow(0, 0, n)?), Some(dg.narrow(0, n, n)?)))
	}
}

/// Given cat(g, u) along dim 0 and dy, returns cat(dg, du).
struct SwigluBwd;

fn swiglu_bwd<T: WithDType + Float + Send + Sync>(
	s1: &CpuStorage,
	l1: &Layout,
	s2: &CpuStorage,
	l2: &Layout,
) -> Result<CpuStorage> {
	let (gu, dy) = (slice::<T>(s1, l1)?, slice::<T>(s2, l2)?);
	let n = dy.len();
	let (g, u) = gu.split_at(n);
	let mut out = vec![T::zero(); 2 * n];
	let (dg, du) = out.split_at_mut(n);
	dg.par_chunks_mut(4096)
		.zip(du.par_chunks_mut(4096))
		.zip(g.par_chunks(4096).zip(u.par_chunks(4096)).zip(dy.par_chunks(4096)))
		.for_each(|((dg, du), ((g, u), dy))| {
			for i in 0..dg.len() {
				let s = sigmoid(g[i]);
				dg[i] = dy[i] * u[i] * s * (T::one() + g[i] * (T::one() - s));
				du[i] = dy[i] * g[i] * s;
			}
		});
	Ok(T::to_cpu_storage_owned(out))
}

impl CustomOp2 for SwigluBwd {
	fn name(&self) -> &'static str {
		"fused-swiglu-bwd"
	}
	fn cpu_fwd(
		&self,
		s1: &CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
	) -> Result<(CpuStorage, Shape)> {
		Ok((float_dispatch!(s1, swiglu_bwd, s1, l1, s2, l2)?, l1.shape().clone()))
	}
}

// ---- Cross-entropy ---------------------------------------------------------------------------------

/// Per-position next-token cross-entropy `logsumexp(logits_i) - logits_i[target_i]` for logits
/// (n, vocab) and `targets` (n); differentiable in the logits, whose gradient
/// `dloss_i * (softmax(logits_i) - onehot(target_i))` is formed in one pass (the composed form makes
/// half a dozen vocab-sized temporaries per position, forward and backward).
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
	let targets: Vec<u32> = targets.flatten_all()?.to_vec1()?;
	logits.contiguous()?.apply_op1(CrossEntropy(std::sync::Arc::new(targets)))
}

struct CrossEntropy(std::sync::Arc<Vec<u32>>);

fn ce_fwd<T: WithDType + Float + Send + Sync>(
	s: &CpuStorage,
	l: &Layout,
	targets: &[u32],
) -> Result<CpuStorage> {
	let x = slice::<T>(s, l)?;
	let v = *l.dims().last().expect("rank 2");
	if x.len() != v * targets.len() {
		candle_core::bail!("cross_entropy: {} targets for logits {:?}", targets.len(), l.dims());
	}
	if let Some(t) = targets.iter().find(|t| **t as usize >= v) {
		candle_core::bail!("cross_entropy: target {t} is outside the vocabulary of {v}");
	}
	let mut out = vec![T::zero(); targets.len()];
	out.par_iter_mut().zip(x.par_chunks(v).zip(targets.par_iter())).for_each(|(o, (row, t))| {
		let m = row.iter().fold(T::neg_infinity(), |m, v| Float::max(m, *v));
		let sum = row.iter().fold(T::zero(), |a, v| a + (*v - m).exp());
		*o = m + sum.ln() - row[*t as usize];
	});
	Ok(T::to_cpu_storage_owned(out))
}

impl CustomOp1 for CrossEntropy {
	fn name(&self) -> &'static str {
		"fused-cross-entropy"
	}
	fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
		if l.dims().len() != 2 {
			candle_core::bail!("cross_entropy: logits must be (n, vocab), got {:?}", l.dims());
		}
		Ok((float_dispatch!(s, ce_fwd, s, l, &self.0)?, Shape::from(self.0.len())))
	}
	fn bwd(&self, logits: &Tensor, _loss: &Tensor, dloss: &Tensor) -> Result<Option<Tensor>> {
		Ok(Some(logits.apply_op2_no_bwd(&dloss.contiguous()?, &CrossEntropyBwd(self.0.clone()))?))
	}
}

struct CrossEntropyBwd(std::sync::Arc<Vec<u32>>);

fn ce_bwd<T: WithDType + Float + Send + Sync>(
	s1: &CpuStorage,
	l1: &Layout,
	s2: &CpuStorage,
	l2: &Layout,
	targets: &[u32],
) -> Result<CpuStorage> {
	let (x, dl) = (slice::<T>(s1, l1)?, slice::<T>(s2, l2)?);
	let v = *l1.dims().last().expect("rank 2");
	let mut dx = vec![T::zero(); x.len()];
	dx.par_chunks_mut(v).zip(x.par_chunks(v).zip(dl.par_iter().zip(targets.par_iter()))).for_each(
		|(dx, (row, (g, t)))| {
			if *g == T::zero() {
				return; // masked position: no gradient
			}
			let m = row.iter().fold(T::neg_infinity(), |m, v| Float::max(m, *v));
			let sum = row.iter().fold(T::zero(), |a, v| a + (*v - m).exp());
			let k = *g / sum;
			for j in 0..v {
				dx[j] = (row[j] - m).exp() * k;
			}
			dx[*t as usize] = dx[*t as usize] - *g;
		},
	);
	Ok(T::to_cpu_storage_owned(dx))
}

impl CustomOp2 for CrossEntropyBwd {
	fn name(&self) -> &'static str {
		"fused-cross-entropy-bwd"
	}
	fn cpu_fwd(
		&self,
		s1: &CpuStorage,
		l1: &Layout,
		s2: &CpuStorage,
		l2: &Layout,
	) -> Result<(CpuStorage, Shape)> {
		Ok((float_dispatch!(s1, ce_bwd, s1, l1, s2, l2, &self.0)?, l1.shape().clone()))
	}
}

// ---- LM head + cross-entropy -------------------------------------------------------------------

/// Whether [`linear_cross_entropy`] runs for these hidden states.
pub fn linear_cross_entropy_usable(h: &Tensor) -> bool {
	crate::blas::ENABLED && usable(h)
}

/// The mean masked next-token loss of the logits `h W^T` (`h` (n, hidden) final hidden states, `w`
/// (vocab, hidden) a frozen LM head, `targets` (n), `mask` (n) weights), as [`crate::ops::masked_loss`]
/// of those logits, without ever holding them: rows go through in blocks whose logits are made,
/// reduced, and turned into that block's gradient `mask/count * (softmax - onehot) W` in one pass. The
/// backward pass only scales the stored gradient. Differentiable in `h`. Saves the (n, vocab) logits
/// and their gradient (100 MB each for 512 tokens of a 49k vocabulary) and their page faults.
pub fn linear_cross_entropy(
	h: &Tensor,
	w: &Tensor,
	targets: &Tensor,
	mask: &Tensor,
) -> Result<Tensor> {
	if !linear_cross_entropy_usable(h) || w.dtype() != h.dtype() || !w.is_contiguous() {
		candle_core::bail!("linear_cross_entropy: CPU f32/f64 with OpenBLAS, a contiguous head");
	}
	#[cfg(not(feature = "openblas"))]
	{
		let _ = (targets, mask);
		unreachable!("usable only with OpenBLAS")
	}
	#[cfg(feature = "openblas")]
	{
		let targets: Vec<u32> = targets.flatten_all()?.to_vec1()?;
		let mask: Vec<f64> = mask.flatten_all()?.to_dtype(DType::F64)?.to_vec1()?;
		let op = LinearCe {
			want_grad: h.track_op(),
			w: w.clone(),
			targets: std::sync::Arc::new(targets),
			mask: std::sync::Arc::new(mask),
			grad: std::sync::Mutex::new(None),
		};
		h.contiguous()?.apply_op1(op)
	}
}

#[cfg(feature = "openblas")]
struct LinearCe {
	/// Whether `h` is part of a graph to differentiate; otherwise only the loss is formed.
	want_grad: bool,
	w: Tensor,
	targets: std::sync::Arc<Vec<u32>>,
	mask: std::sync::Arc<Vec<f64>>,
	/// d loss / d h, formed by the forward pass.
	grad: std::sync::Mutex<Option<Tensor>>,
}

#[cfg(feature = "openblas")]
/// Rows per block: the block's logits (64 x vocab) stay in cache-friendly reach and the blocks spread
/// over the rayon pool.
const CE_BLOCK: usize = 64;

#[cfg(feature = "openblas")]
fn lce_fwd<T: crate::blas::Gemm + WithDType + Float + Send + Sync>(
	s: &CpuStorage,
	l: &Layout,
	op: &LinearCe,
) -> Result<CpuStorage> {
	use crate::blas::Operand;
	let h = slice::<T>(s, l)?;
	let (n, k) = (op.targets.len(), *l.dims().last().expect("rank 2"));
	let (v, k2) = op.w.dims2()?;
	if h.len() != n * k || k2 != k || op.mask.len() != n {
		candle_core::bail!(
			"linear_cross_entropy: hidden {:?}, head ({v}, {k2}), {n} targets, {} mask",
			l.dims(),
			op.mask.len()
		);
	}
	if let Some(t) = op.targets.iter().find(|t| **t as usize >= v) {
		candle_core::bail!("linear_cross_entropy: target {t} is outside the vocabulary of {v}");
	}
	let (ws, wl) = op.w.storage_and_layout();
	let candle_core::Storage::Cpu(wc) = &*ws else {
		candle_core::bail!("linear_cross_entropy: the head is not on the CPU")
	};
	let w = &T::cpu_storage_as_slice(wc)?[wl.start_offset()..][..v * k];
	let count = op.mask.iter().sum::<f64>().max(1.0);
	// One block of rows: its loss, and (when asked) its rows of d loss / d h written into `g`.
	let block = |bi: usize, g: Option<&mut [T]>| -> f64 {
		let r0 = bi * CE_BLOCK;
		let rows = CE_BLOCK.min(n - r0);
		let weights = &op.mask[r0..r0 + rows];
		if weights.iter().all(|m| *m == 0.0) {
			return 0.0; // nothing counted here: no loss, zero gradient
		}
		let mut z = vec![T::zero(); rows * v];
		let hb = Operand { data: &h[r0 * k..(r0 + rows) * k], transposed: false };
		T::gemm(rows, v, k, hb, Operand { data: w, transposed: true }, &mut z);
		let mut loss = 0.0;
		for (i, row) in z.chunks_mut(v).enumerate() {
			let t = op.targets[r0 + i] as usize;
			let c = weights[i] / count;
			if c == 0.0 {
				row.fill(T::zero());
				continue;
			}
			let m = row.iter().fold(T::neg_infinity(), |m, x| Float::max(m, *x));
			let sum = row.iter().fold(T::zero(), |a, x| a + (*x - m).exp());
			let picked = row[t];
			loss += c * WithDType::to_f64(m + sum.ln() - picked);
			if g.is_some() {
				let scale: T = cast::<T>(c) / sum;
				for x in row.iter_mut() {
					*x = (*x - m).exp() * scale;
				}
				row[t] = row[t] - cast(c);
			}
		}
		if let Some(g) = g {
			let zb = Operand { data: &z, transposed: false };
			T::gemm(rows, k, v, zb, Operand { data: w, transposed: false }, g);
		}
		loss
	};
	let loss: f64 = if op.want_grad {
		let mut grad = vec![T::zero(); n * k];
		let loss =
			grad.par_chunks_mut(CE_BLOCK * k).enumerate().map(|(bi, g)| block(bi, Some(g))).sum();
		*op.grad.lock().unwrap() = Some(Tensor::from_vec(grad, (n, k), &candle_core::Device::Cpu)?);
		loss
	} else {
		(0..n.div_ceil(CE_BLOCK)).into_par_iter().map(|bi| block(bi, None)).sum()
	};
	Ok(T::to_cpu_storage_owned(vec![cast::<T>(loss)]))
}

#[cfg(feature = "openblas")]
impl CustomOp1 for LinearCe {
	fn name(&self) -> &'static str {
		"fused-linear-cross-entropy"
	}
	fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
		if l.dims().len() != 2 {
			candle_core::bail!("linear_cross_entropy: hidden must be (n, k), got {:?}", l.dims());
		}
		Ok((float_dispatch!(s, lce_fwd, s, l, self)?, Shape::from(())))
	}
	fn bwd(&self, _h: &Tensor, _loss: &Tensor, dloss: &Tensor) -> Result<Option<Tensor>> {
		let g = self.grad.lock().unwrap().clone();
		let Some(g) = g else {
			candle_core::bail!("linear_cross_entropy: the forward pass formed no gradient")
		};
		Ok(Some(g.broadcast_mul(dloss)?))
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::lora::{randn, rng};
	use crate::ops;
	use candle_core::{Device, Var};

	fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
		(a - b)
			.unwrap()
			.abs()
			.unwrap()
			.flatten_all()
			.unwrap()
			.max(0)
			.unwrap()
			.to_scalar::<f64>()
			.unwrap()
	}

	/// d(sum(f(x) * probe))/dx by backprop against central differences, in f64.
	fn grad_check(x: &Tensor, f: impl Fn(&Tensor) -> Result<Tensor>) {
		let var = Var::from_tensor(x).unwrap();
		let y = f(var.as_tensor()).unwrap();
		let probe = randn(y.dims(), 1.0, &mut rng(9), DType::F64).unwrap();
		let g = (y * &probe).unwrap().sum_all().unwrap().backward().unwrap();
		let g: Vec<f64> =
			g.get(var.as_tensor()).expect("gradient").flatten_all().unwrap().to_vec1().unwrap();
		let x0: Vec<f64> = x.flatten_all().unwrap().to_vec1().unwrap();
		let eval = |v: Vec<f64>| {
			let t = Tensor::from_vec(v, x.shape(), &Device::Cpu).unwrap();
			(f(&t).unwrap() * &probe).unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap()
		};
		for i in (0..x0.len()).step_by(3) {
			let (mut p, mut m) = (x0.clone(), x0.clone());
			p[i] += 1e-6;
			m[i] -= 1e-6;
			let num = (eval(p) - eval(m)) / 2e-6;
			assert!((num - g[i]).abs() < 1e-6 * (1.0 + num.abs()), "[{i}] {num} vs {}", g[i]);
		}
	}

	#[test]
	fn fused_ops_equal_the_composed_ones_and_have_exact_gradients() {
		let dev = Device::Cpu;
		let x = randn(&[2, 3, 4, 6], 1.0, &mut rng(1), DType::F64).unwrap();
		let w = (randn(&[6], 0.1, &mut rng(2), DType::F64).unwrap() + 1.0).unwrap();
		assert!(
			max_diff(&rms_norm(&x, &w, 1e-6).unwrap(), &ops::rms_norm(&x, &w, 1e-6).unwrap())
				< 1e-12
		);
		grad_check(&x, |x| rms_norm(x, &w, 1e-6));
		let bias = randn(&[6], 0.1, &mut rng(14), DType::F64).unwrap();
		let want_ln = ops::layer_norm(&x, &w, &bias, 1e-5).unwrap();
		assert!(max_diff(&layer_norm(&x, &w, &bias, 1e-5).unwrap(), &want_ln) < 1e-12);
		grad_check(&x, |x| layer_norm(x, &w, &bias, 1e-5));

		let inv: Vec<f64> = (0..3).map(|i| 1.0 / 10000f64.powf(2.0 * i as f64 / 6.0)).collect();
		let (cos, sin) = ops::rope_tables(&inv, 5, 4, false, DType::F64, &dev).unwrap();
		assert!(
			max_diff(&rope(&x, &cos, &sin).unwrap(), &ops::rope(&x, &cos, &sin).unwrap()) < 1e-12
		);
		grad_check(&x, |x| rope(x, &cos, &sin));
		// Interleaved, rotating 4 of the 6 features.
		let (cos4, sin4) = ops::rope_tables(&inv[..2], 5, 4, true, DType::F64, &dev).unwrap();
		let want = ops::rope_interleaved(&x, &cos4, &sin4).unwrap();
		assert!(max_diff(&rope_interleaved(&x, &cos4, &sin4).unwrap(), &want) < 1e-12);
		grad_check(&x, |x| rope_interleaved(x, &cos4, &sin4));

		// Scores (b, h, rows, keys): 2 grouped heads stacked on the rows (rows = 2 x q_len 3),
		// continuing a sequence of 2 (keys = 5), with and without a window of 2.
		let s = randn(&[2, 2, 6, 5], 1.0, &mut rng(3), DType::F64).unwrap();
		for window in [None, Some(2)] {
			let mask = ops::causal_mask(3, 2, window, DType::F64, &dev).unwrap();
			let mask = Tensor::cat(&[&mask, &mask], 0).unwrap();
			let want = ops::softmax(&(&s * 0.5).unwrap().broadcast_add(&mask).unwrap()).unwrap();
			let got = causal_softmax(&s, 0.5, 3, 2, window).unwrap();
			assert!(max_diff(&got, &want) < 1e-12, "{window:?}");
			grad_check(&s, |s| causal_softmax(s, 0.5, 3, 2, window));
		}

		let g = randn(&[2, 5, 7], 2.0, &mut rng(4), DType::F64).unwrap();
		let u = randn(&[2, 5, 7], 1.0, &mut rng(5), DType::F64).unwrap();
		let want = (g.silu().unwrap() * &u).unwrap();
		assert!(max_diff(&swiglu(&g, &u).unwrap(), &want) < 1e-12);
		grad_check(&g, |g| swiglu(g, &u));
		grad_check(&u, |u| swiglu(&g, u));
		// Attention (grouped heads stacked on rows) against repeat_kv + mask + softmax.
		let q = randn(&[2, 4, 3, 8], 1.0, &mut rng(6), DType::F64).unwrap();
		let k = randn(&[2, 2, 5, 8], 1.0, &mut rng(7), DType::F64).unwrap();
		let v = randn(&[2, 2, 5, 8], 1.0, &mut rng(8), DType::F64).unwrap();
		for window in [None, Some(3)] {
			let got = attention(&q, &k, &v, 2, window).unwrap();
			let (kk, vv) = (ops::repeat_kv(&k, 2).unwrap(), ops::repeat_kv(&v, 2).unwrap());
			let mask = ops::causal_mask(3, 2, window, DType::F64, &dev).unwrap();
			let scores = (q.matmul(&kk.t().unwrap()).unwrap() / 8f64.sqrt()).unwrap();
			let want =
				ops::softmax(&scores.broadcast_add(&mask).unwrap()).unwrap().matmul(&vv).unwrap();
			let want = want.transpose(1, 2).unwrap().reshape((2, 3, 32)).unwrap();
			assert!(max_diff(&got, &want) < 1e-12, "{window:?}");
			grad_check(&q, |q| attention(q, &k, &v, 2, window));
			grad_check(&k, |k| attention(&q, k, &v, 2, window));
		}
		// ALiBi attention: fused (f64) against the composed path (f32 input is fused too, so build
		// the composed reference by hand).
		let (q, k, v) = (
			randn(&[1, 3, 4, 8], 1.0, &mut rng(11), DType::F64).unwrap(),
			randn(&[1, 3, 6, 8], 1.0, &mut rng(12), DType::F64).unwrap(),
			randn(&[1, 3, 6, 8], 1.0, &mut rng(13), DType::F64).unwrap(),
		);
		let slopes = [0.5, 0.25, 0.125];
		let got = alibi_attention(&q, &k, &v, 2, &slopes).unwrap();
		let sl = Tensor::new(&slopes, &dev).unwrap().reshape((3, 1, 1)).unwrap();
		let pos = Tensor::arange(0f64, 6.0, &dev).unwrap().reshape((1, 1, 6)).unwrap();
		let bias = sl.broadcast_mul(&pos).unwrap();
		let mask = ops::causal_mask(4, 2, None, DType::F64, &dev).unwrap();
		let scores = (q.matmul(&k.t().unwrap()).unwrap() / 8f64.sqrt()).unwrap();
		let p = ops::softmax(&scores.broadcast_add(&bias).unwrap().broadcast_add(&mask).unwrap())
			.unwrap();
		let want_alibi =
			p.matmul(&v).unwrap().transpose(1, 2).unwrap().reshape((1, 4, 24)).unwrap();
		assert!(max_diff(&got, &want_alibi) < 1e-12);
		grad_check(&q, |q| alibi_attention(q, &k, &v, 2, &slopes));

		// Cross-entropy per position against log_softmax + gather; gradient through a mask.
		let logits = randn(&[6, 11], 2.0, &mut rng(10), DType::F64).unwrap();
		let targets = Tensor::new(&[3u32, 0, 10, 7, 7, 1], &dev).unwrap();
		let mask = Tensor::new(&[1f64, 1., 0., 1., 1., 0.], &dev).unwrap();
		let want_ce = candle_nn::ops::log_softmax(&logits, candle_core::D::Minus1)
			.unwrap()
			.gather(&targets.unsqueeze(1).unwrap(), 1)
			.unwrap()
			.squeeze(1)
			.unwrap()
			.neg()
			.unwrap();
		assert!(max_diff(&cross_entropy(&logits, &targets).unwrap(), &want_ce) < 1e-12);
		grad_check(&logits, |l| cross_entropy(l, &targets)?.mul(&mask));
		let bad = Tensor::new(&[3u32, 0, 11, 7, 7, 1], &dev).unwrap();
		assert!(cross_entropy(&logits, &bad)
			.unwrap_err()
			.to_string()
			.contains("outside the vocabulary"));
		// f32 runs too.
		let g32 = g.to_dtype(DType::F32).unwrap();
		let u32 = u.to_dtype(DType::F32).unwrap();
		let d = max_diff(&swiglu(&g32, &u32).unwrap().to_dtype(DType::F64).unwrap(), &want);
		assert!(d < 1e-5, "{d}");
	}

	/// The LM head and cross-entropy in one op: the loss and its gradient in `h` equal the composed
	/// `masked_loss(h W^T)`, over several row blocks with masked rows and a fully masked block.
	#[test]
	#[cfg(feature = "openblas")]
	fn linear_cross_entropy_equals_the_head_then_the_masked_loss() {
		let dev = Device::Cpu;
		let n = 2 * CE_BLOCK + 5;
		let mut r = rng(21);
		let h = randn(&[n, 12], 1.0, &mut r, DType::F64).unwrap();
		let w = randn(&[37, 12], 0.7, &mut r, DType::F64).unwrap();
		let targets =
			Tensor::new((0..n as u32).map(|i| (i * 7) % 37).collect::<Vec<_>>(), &dev).unwrap();
		// The second block is entirely masked; elsewhere every third row is.
		let mask: Vec<f64> = (0..n)
			.map(|i| if (CE_BLOCK..2 * CE_BLOCK).contains(&i) || i % 3 == 0 { 0.0 } else { 1.0 })
			.collect();
		let mask = Tensor::new(mask, &dev).unwrap();
		let reference = |h: &Tensor| {
			ops::masked_loss_composed(&h.matmul(&w.t().unwrap()).unwrap(), &targets, &mask)
		};
		let hv = Var::from_tensor(&h).unwrap();
		let ours = linear_cross_entropy(hv.as_tensor(), &w, &targets, &mask).unwrap();
		let want = reference(&h).unwrap();
		assert!(max_diff(&ours, &want) < 1e-12, "{ours} vs {want}");
		// Outside a graph only the loss is formed: the same value.
		let plain = linear_cross_entropy(&h, &w, &targets, &mask).unwrap();
		assert!(max_diff(&plain, &want) < 1e-12);
		let g = (ours * 3.0).unwrap().backward().unwrap();
		let hw = Var::from_tensor(&h).unwrap();
		let g2 = (reference(hw.as_tensor()).unwrap() * 3.0).unwrap().backward().unwrap();
		let (a, b) = (g.get(hv.as_tensor()).unwrap(), g2.get(hw.as_tensor()).unwrap());
		assert!(max_diff(a, b) < 1e-12);
		// Masked rows get no gradient.
		let row0: Vec<f64> = a.get(0).unwrap().to_vec1().unwrap();
		assert!(row0.iter().all(|x| *x == 0.0));
		// A target outside the vocabulary is refused; f32 agrees with f64.
		let bad = targets.clone().affine(0.0, 40.0).unwrap();
		let e = linear_cross_entropy(&h, &w, &bad, &mask).unwrap_err().to_string();
		assert!(e.contains("outside the vocabulary"), "{e}");
		let f = |t: &Tensor| t.to_dtype(DType::F32).unwrap();
		let l32 = linear_cross_entropy(&f(&h), &f(&w), &targets, &mask).unwrap();
		assert!(max_diff(&l32.to_dtype(DType::F64).unwrap(), &want) < 1e-5);
	}
}
