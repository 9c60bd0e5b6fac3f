//! NF4 (4-bit NormalFloat, from the QLoRA paper) weights with double quantization, and the quantized
//! linear op QLoRA trains through.
//!
//! Format: the weight is flattened row-major and cut into blocks of 64. Each block stores its absolute
//! maximum, and each element the index (4 bits, two per byte, the first in the high nibble) of the
//! nearest of 16 levels spaced at the quantiles of a normal distribution, scaled by that maximum. The
//! block maxima are quantized again ("double quantization"): minus their mean, as signed 8-bit
//! integers with one f32 scale per 256 blocks. About 4.13 bits per weight.
//!
//! [`Nf4Matmul`] is a custom op `y = x W^T` holding only the packed weight: forward and backward each
//! dequantize into a temporary that is dropped right after, so the autograd graph keeps no
//! full-precision copy. Its backward gives the input gradient `dy W` (the base weight is frozen, so it
//! has no gradient of its own); that is what carries the loss back to the LoRA adapters of earlier
//! layers.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use std::sync::Arc;

/// The 16 NF4 levels (bitsandbytes' table).
pub const LEVELS: [f32; 16] = [
	-1.0,
	-0.696_192_8,
	-0.525_073_05,
	-0.394_917_5,
	-0.284_441_38,
	-0.184_773_43,
	-0.091_050_036,
	0.0,
	0.079_580_3,
	0.160_930_2,
	0.246_112_3,
	0.337_915_24,
	0.440_709_83,
	0.562_617,
	0.722_956_84,
	1.0,
];

pub const BLOCK: usize = 64;
pub const ABSMAX_BLOCK: usize = 256;

/// Index of the level nearest to `x` (in [-1, 1]).
fn nearest(x: f32) -> u8 {
	// Midpoints between neighbouring levels split the line into 16 bins.
	let mut i = 0;
	while i < 15 && x > (LEVELS[i] + LEVELS[i + 1]) / 2.0 {
		i += 1;
	}
	i as u8
}

/// A weight matrix in NF4 with double-quantized block maxima.
#[derive(Debug, Clone)]
pub struct Nf4Tensor {
	shape: (usize, usize),
	/// Two codes per byte, the first in the high nibble.
	codes: Vec<u8>,
	/// Block maxima minus `offset`, as int8, one f32 scale per `ABSMAX_BLOCK` of them.
	absmax_q: Vec<i8>,
	absmax_scale: Vec<f32>,
	offset: f32,
	/// The packed buffers on a GPU, uploaded on first use there.
	#[cfg(feature = "cuda")]
	gpu: crate::cuda::Nf4Cache,
}

impl Nf4Tensor {
	/// Quantizes a 2-D weight (any float dtype).
	pub fn quantize(w: &Tensor) -> Result<Self> {
		let shape = w.dims2()?;
		let v: Vec<f32> = w.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
		let absmax: Vec<f32> =
			v.chunks(BLOCK).map(|b| b.iter().fold(0f32, |m, x| m.max(x.abs()))).collect();
		let mut codes = vec![0u8; v.len().div_ceil(2)];
		for (bi, block) in v.chunks(BLOCK).enumerate() {
			let m = absmax[bi];
			for (j, x) in block.iter().enumerate() {
				let q = if m > 0.0 { nearest(x / m) } else { 7 };
				let i = bi * BLOCK + j;
				codes[i / 2] |= if i.is_multiple_of(2) { q << 4 } else { q };
			}
		}
		let offset = absmax.iter().sum::<f32>() / absmax.len().max(1) as f32;
		let mut absmax_q = Vec::with_capacity(absmax.len());
		let mut absmax_scale = Vec::new();
		for chunk in absmax.chunks(ABSMAX_BLOCK) {
			let s = chunk.iter().fold(0f32, |m, a| m.max((a - offset).abs())) / 127.0;
			absmax_scale.push(s);
			absmax_q.extend(chunk.iter().map(|a| {
				if s > 0.0 {
					((a - offset) / s).round().clamp(-127.0, 127.0) as i8
				} else {
					0
				}
			}));
		}
		Ok(Self {
			shape,
			codes,
			absmax_q,
			absmax_scale,
			offset,
			#[cfg(feature = "cuda")]
			gpu: Default::default(),
		})
	}

	pub fn shape(&self) -> (usize, usize) {
		self.shape
	}

	/// Bytes held (codes, quantized maxima, their scales and the offset).
	pub fn bytes(&self) -> usize {
		self.codes.len() + self.absmax_q.len() + 4 * self.absmax_scale.len() + 4
	}

	/// The maximum of block `b` as stored (after double quantization).
	pub fn block_absmax(&self, b: usize) -> f32 {
		self.absmax_q[b] as f32 * self.absmax_scale[b / ABSMAX_BLOCK] + self.offset
	}

	/// The code of element `i` (row-major).
	pub fn code(&self, i: usize) -> u8 {
		let byte = self.codes[i / 2];
		if i.is_multiple_of(2) {
			byte >> 4
		} else {
			byte & 0x0f
		}
	}

	/// The weight back in f32, row-major.
	pub fn dequantize_vec(&self) -> Vec<f32> {
		use rayon::prelude::*;
		let n = self.shape.0 * self.shape.1;
		let mut out = vec![0f32; n];
		// QLoRA dequantizes every weight twice a step (forward and backward): spread it over the pool,
		// 64 blocks to a task.
		out.par_chunks_mut(64 * BLOCK).enumerate().for_each(|(t, chunk)| {
			for (j, block) in chunk.chunks_mut(BLOCK).enumerate() {
				let b = t * 64 + j;
				let m = self.block_absmax(b);
				for (k, o) in block.iter_mut().enumerate() {
					*o = LEVELS[self.code(b * BLOCK + k) as usize] * m;
				}
			}
		});
		out
	}

	/// The weight back as a (out, in) tensor of `dtype` on `dev` (dequantized there on a GPU).
	pub fn dequantize(&self, dtype: DType, dev: &candle_core::Device) -> Result<Tensor> {
		#[cfg(feature = "cuda")]
		if let candle_core::Device::Cuda(d) = dev {
			return crate::cuda::nf4_dequantize_tensor(self, d, dtype);
		}
		Tensor::from_vec(self.dequantize_vec(), self.shape, dev)?.to_dtype(dtype)
	}

	/// The packed codes, quantized block maxima and their scales (for the GPU upload).
	#[cfg(feature = "cuda")]
	pub(crate) fn packed(&self) -> (&[u8], &[i8], &[f32]) {
		(&self.codes, &self.absmax_q, &self.absmax_scale)
	}

	#[cfg(feature = "cuda")]
	pub(crate) fn offset(&self) -> f32 {
		self.offset
	}

	#[cfg(feature = "cuda")]
	pub(crate) fn gpu_cache(&self) -> &crate::cuda::Nf4Cache {
		&self.gpu
	}
}

/// `y = x W^T` with W in NF4; differentiable in `x`.
pub struct Nf4Matmul(pub Arc<Nf4Tensor>);

impl Nf4Matmul {
	/// Applies the op to `x` (.., in) -> (.., out).
	pub fn forward(w: &Arc<Nf4Tensor>, x: &Tensor) -> Result<Tensor> {
		x.contiguous()?.apply_op1(Nf4Matmul(w.clone()))
	}
}

impl CustomOp1 for Nf4Matmul {
	fn name(&self) -> &'static str {
		"nf4-matmul"
	}

	fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
		let (out_f, in_f) = self.0.shape();
		let dims = l.dims();
		if dims.last() != Some(&in_f) {
			candle_core::bail!("nf4-matmul: input {dims:?} does not end in {in_f}");
		}
		let Some((start, end)) = l.contiguous_offsets() else {
			candle_core::bail!("nf4-matmul: the input must be contiguous");
		};
		let rows = l.shape().elem_count() / in_f;
		let dev = candle_core::Device::Cpu;
		// The dequantized weight lives only for this call.
		let x = match s {
			CpuStorage::F32(v) => Tensor::from_slice(&v[start..end], (rows, in_f), &dev)?,
			CpuStorage::F64(v) => Tensor::from_slice(&v[start..end], (rows, in_f), &dev)?,
			CpuStorage::BF16(v) => Tensor::from_slice(&v[start..end], (rows, in_f), &dev)?,
			CpuStorage::F16(v) => Tensor::from_slice(&v[start..end], (rows, in_f), &dev)?,
			_ => candle_core::bail!("nf4-matmul: the input must be a float tensor"),
		};
		let w = self.0.dequantize(x.dtype(), &dev)?;
		let y = crate::blas::gemm(&x, &w.t()?)?;
		let mut out_dims = dims.to_vec();
		*out_dims.last_mut().expect("rank >= 1") = out_f;
		Ok((cpu_storage(&y)?, Shape::from(out_dims)))
	}

	#[cfg(feature = "cuda")]
	fn cuda_fwd(
		&self,
		s: &candle_core::CudaStorage,
		l: &Layout,
	) -> Result<(candle_core::CudaStorage, Shape)> {
		use candle_core::backend::BackendStorage;
		let (out_f, in_f) = self.0.shape();
		let dims = l.dims();
		if dims.last() != Some(&in_f) || !l.is_contiguous() {
			candle_core::bail!("nf4-matmul: input {dims:?} must be contiguous and end in {in_f}");
		}
		let rows = l.shape().elem_count() / in_f;
		// The dequantized weight lives only for this call, as on the CPU.
		let w = crate::cuda::nf4_dequantize(&self.0, s.device(), s.dtype())?;
		let wl = Layout::contiguous((out_f, in_f));
		let y = crate::cuda::matmul_wt(s, l, &w, &wl, (rows, out_f, in_f))?;
		let mut out_dims = dims.to_vec();
		*out_dims.last_mut().expect("rank >= 1") = out_f;
		Ok((y, Shape::from(out_dims)))
	}

	fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
		let w = self.0.dequantize(grad_res.dtype(), arg.device())?;
		let (out_f, in_f) = self.0.shape();
		let rows = grad_res.elem_count() / out_f;
		let g = crate::blas::gemm(&grad_res.contiguous()?.reshape((rows, out_f))?, &w)?;
		let mut dims = grad_res.dims().to_vec();
		*dims.last_mut().expect("rank >= 1") = in_f;
		Ok(Some(g.reshape(dims)?))
	}
}

/// A contiguous CPU tensor's storage, copied out.
fn cpu_storage(t: &Tensor) -> Result<CpuStorage> {
	let t = t.contiguous()?;
	let (s, l) = t.storage_and_layout();
	let candle_core::Storage::Cpu(c) = &*s else { candle_core::bail!("expected a CPU tensor") };
	let (a, b) = l.contiguous_offsets().expect("contiguous");
	Ok(match c {
		CpuStorage::F32(v) => CpuStorage::F32(v[a..b].to_vec()),
		CpuStorage::F64(v) => CpuStorage::F64(v[a..b].to_vec()),
		CpuStorage::BF16(v) => CpuStorage::BF16(v[a..b].to_vec()),
		CpuStorage::F16(v) => CpuStorage::F16(v[a..b].to_vec()),
		_ => candle_core::bail!("unexpected dtype"),
	})
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::lora::{randn, rng};
	use candle_core::{Device, Var};

	#[test]
	fn levels_are_sorted_symmetric_ends_and_codes_pack_high_nibble_first() {
		assert!(LEVELS.windows(2).all(|w| w[0] < w[1]));
		assert_eq!((LEVELS[0], LEVELS[7], LEVELS[15]), (-1.0, 0.0, 1.0));
		let w = Tensor::new(&[[-1f32, 1.0, 0.0, 0.5]], &Device::Cpu).unwrap();
		let q = Nf4Tensor::quantize(&w).unwrap();
		assert_eq!(q.codes, vec![0x0f, 0x7c], "-1 -> 0, 1 -> 15, 0 -> 7, 0.5 -> 13 (0.5626)");
		assert_eq!(nearest(0.079), 8);
		assert_eq!(nearest(0.039), 7);
	}

	/// Every element is within half the widest gap between levels (times its block's maximum) plus the
	/// error of the double-quantized maximum; on Gaussian weights the relative RMS error is the ~0.1
	/// that 4-bit NormalFloat is known for, and storage is ~4.13 bits per weight.
	#[test]
	fn quantization_error_is_within_the_nf4_bounds() {
		let (rows, cols) = (96, 320); // 480 blocks: two absmax groups, the second partial
		let w = randn(&[rows, cols], 0.02, &mut rng(1), DType::F32).unwrap();
		let q = Nf4Tensor::quantize(&w).unwrap();
		let orig: Vec<f32> = w.flatten_all().unwrap().to_vec1().unwrap();
		let back = q.dequantize_vec();
		let half_gap = LEVELS.windows(2).map(|p| p[1] - p[0]).fold(0f32, f32::max) / 2.0;
		let (mut se, mut ss) = (0f64, 0f64);
		for (b, block) in orig.chunks(BLOCK).enumerate() {
			let true_max = block.iter().fold(0f32, |m, x| m.max(x.abs()));
			let stored = q.block_absmax(b);
			let dq_err = (stored - true_max).abs();
			assert!(dq_err <= q.absmax_scale[b / ABSMAX_BLOCK] / 2.0 + 1e-7, "block {b}: {dq_err}");
			for (j, x) in block.iter().enumerate() {
				let y = back[b * BLOCK + j];
				assert!((x - y).abs() <= half_gap * true_max + dq_err + 1e-6, "{x} vs {y}");
				se += ((x - y) as f64).powi(2);
				ss += (*x as f64).powi(2);
			}
		}
		let rel = (se / ss).sqrt();
		assert!(rel > 0.05 && rel < 0.12, "relative RMS error {rel}");
		let bits = 8.0 * q.bytes() as f64 / (rows * cols) as f64;
		assert!(bits > 4.12 && bits < 4.14, "{bits} bits per weight");
	}

	/// The op's forward equals a dense matmul with the dequantized weight, and its backward gives the
	/// input gradient: checked against finite differences in f64.
	#[test]
	fn the_nf4_matmul_has_the_input_gradient() {
		let dev = Device::Cpu;
		let w = randn(&[6, 128], 0.3, &mut rng(2), DType::F64).unwrap();
		let q = Arc::new(Nf4Tensor::quantize(&w).unwrap());
		let dense = q.dequantize(DType::F64, &dev).unwrap();
		let x = randn(&[2, 3, 128], 1.0, &mut rng(3), DType::F64).unwrap();
		let y = Nf4Matmul::forward(&q, &x).unwrap();
		let want = x.broadcast_matmul(&dense.t().unwrap()).unwrap();
		assert_eq!(y.dims(), &[2, 3, 6]);
		let d = (y - want).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f64>().unwrap();
		assert!(d < 1e-12, "{d}");

		let var = Var::from_tensor(&x).unwrap();
		let probe = randn(&[2, 3, 6], 1.0, &mut rng(4), DType::F64).unwrap();
		let f = |x: &Tensor| {
			(Nf4Matmul::forward(&q, x).unwrap().tanh().unwrap() * &probe)
				.unwrap()
				.sum_all()
				.unwrap()
		};
		let g = f(var.as_tensor()).backward().unwrap();
		let g: Vec<f64> = g
			.get(var.as_tensor())
			.expect("gradient reaches x")
			.flatten_all()
			.unwrap()
			.to_vec1()
			.unwrap();
		let x0: Vec<f64> = x.flatten_all().unwrap().to_vec1().unwrap();
		for i in (0..x0.len()).step_by(7) {
			let at = |d: f64| {
				let mut v = x0.clone();
				v[i] += d;
				f(&Tensor::from_vec(v, x.shape(), &dev).unwrap()).to_scalar::<f64>().unwrap()
			};
			let num = (at(1e-6) - at(-1e-6)) / 2e-6;
			assert!((num - g[i]).abs() < 1e-6 * (1.0 + num.abs()), "[{i}] {num} vs {}", g[i]);
		}
	}

	/// QLoRA through every family: with all block linears in NF4, the LoRA gradients still match
	/// finite differences (the loss reaches earlier layers' adapters through the op's backward).
	#[test]
	fn qlora_gradients_match_finite_differences_for_every_family() {
		let root = crate::testutil::testdata().join("reference");
		for f in crate::model::Family::ALL {
			let mut m =
				crate::model::load(&root.join(f.model_type()), DType::F64, &Device::Cpu).unwrap();
			let n = m.quantize_nf4().unwrap();
			assert!(n >= 8, "{f:?}: {n} layers quantized");
			if f == crate::model::Family::ChatGlm {
				assert_eq!(
					n, 8,
					"THUDM's LM head (transformer.output_layer) stays in full precision"
				);
			}
			let targets: Vec<&str> = match f {
				crate::model::Family::Gpt2 => vec!["c_attn", "c_fc"],
				crate::model::Family::Bloom => vec!["query_key_value", "dense_h_to_4h"],
				crate::model::Family::ChatGlm => vec!["query_key_value", "dense_4h_to_h"],
				// MLP names mean the routed experts there (refused): the attention only.
				_ if f.moe_mlp_names() => {
					vec!["q_proj", "q_b_proj", "kv_b_proj", "v_proj", "o_proj"]
				}
				_ => vec!["q_proj", "v_proj", "down_proj"],
			};
			crate::testutil::lora_gradient_check(
				m.as_mut(),
				&crate::testutil::lora(2, &targets),
				11,
			);
			let e = m.merge_lora(true).unwrap_err().to_string();
			assert!(e.contains("full precision"), "{e}");
		}
	}

	/// The same codes as bitsandbytes (PyPI, its CPU path) for the same matrix, and block maxima that
	/// differ from bitsandbytes' only by the double quantization.
	#[test]
	fn codes_match_bitsandbytes() {
		let p = crate::testutil::testdata().join("reference/nf4/bitsandbytes.safetensors");
		let t = candle_core::safetensors::load(p, &Device::Cpu).unwrap();
		let q = Nf4Tensor::quantize(&t["weight"]).unwrap();
		let theirs: Vec<u8> = t["codes"].to_vec1().unwrap();
		assert_eq!(q.codes.len(), theirs.len());
		let differ = q.codes.iter().zip(&theirs).filter(|(a, b)| a != b).count();
		assert_eq!(differ, 0, "{differ} of {} bytes differ from bitsandbytes", theirs.len());
		let absmax: Vec<f32> = t["absmax"].to_vec1().unwrap();
		for (b, m) in absmax.iter().enumerate() {
			let d = (q.block_absmax(b) - m).abs();
			assert!(d <= q.absmax_scale[b / ABSMAX_BLOCK] / 2.0 + 1e-7, "block {b}: {d}");
		}
	}
}
