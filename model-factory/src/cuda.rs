//! The CUDA side of this crate's custom ops (the `cuda` feature): the frozen-weight matmul and NF4
//! dequantization. candle's own kernels serve everything else; the fused CPU kernels in [`crate::fused`]
//! fall back to composed ops on other devices.

use crate::nf4::Nf4Tensor;
use candle_core::backend::{BackendDevice, BackendStorage};
use candle_core::cuda_backend::cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};
use candle_core::cuda_backend::WrapErr;
use candle_core::{CudaDevice, CudaStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use std::sync::{Arc, Mutex};

const NF4_PTX: &str = include_str!(concat!(env!("OUT_DIR"), "/nf4.ptx"));

/// `x @ w^T` with x (m, k) at `xl`'s offset and w (n, k) row-major: cuBLAS through candle's matmul,
/// reading w transposed in place.
pub fn matmul_wt(
	x: &CudaStorage,
	xl: &Layout,
	w: &CudaStorage,
	wl: &Layout,
	(m, n, k): (usize, usize, usize),
) -> Result<CudaStorage> {
	let lhs = Layout::contiguous_with_offset((m, k), xl.start_offset());
	let rhs = wl.transpose(0, 1)?;
	x.matmul(w, (1, m, n, k), &lhs, &rhs)
}

/// An NF4 weight's packed buffers on one GPU, uploaded once and kept with the weight.
pub struct Nf4OnDevice {
	device: CudaDevice,
	codes: CudaSlice<u8>,
	absmax_q: CudaSlice<i8>,
	absmax_scale: CudaSlice<f32>,
}

impl std::fmt::Debug for Nf4OnDevice {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "Nf4OnDevice({:?}, {} code bytes)", self.device.location(), self.codes.len())
	}
}

/// Where an [`Nf4Tensor`] keeps its device copy (shared by its clones).
pub type Nf4Cache = Arc<Mutex<Option<Arc<Nf4OnDevice>>>>;

fn on_device(w: &Nf4Tensor, dev: &CudaDevice) -> Result<Arc<Nf4OnDevice>> {
	let mut cache = w.gpu_cache().lock().unwrap();
	if let Some(d) = cache.as_ref().filter(|d| d.device.same_device(dev)) {
		return Ok(d.clone());
	}
	let (codes, absmax_q, absmax_scale) = w.packed();
	let d = Arc::new(Nf4OnDevice {
		device: dev.clone(),
		codes: dev.clone_htod(codes)?,
		absmax_q: dev.clone_htod(absmax_q)?,
		absmax_scale: dev.clone_htod(absmax_scale)?,
	});
	*cache = Some(d.clone());
	Ok(d)
}

/// The weight dequantized on `dev` as a row-major (out, in) buffer of `dtype`.
pub fn nf4_dequantize(w: &Nf4Tensor, dev: &CudaDevice, dtype: DType) -> Result<CudaStorage> {
	let d = on_device(w, dev)?;
	let (rows, cols) = w.shape();
	let n = rows * cols;
	let name = match dtype {
		DType::F32 => "nf4_dequantize_f32",
		DType::F64 => "nf4_dequantize_f64",
		DType::BF16 => "nf4_dequantize_bf16",
		DType::F16 => "nf4_dequantize_f16",
		other => candle_core::bail!("nf4: no dequantization to {other:?}"),
	};
	let func = dev.get_or_load_custom_func(name, "tributary_nf4", NF4_PTX)?;
	let cfg = LaunchConfig::for_num_elems(n.div_ceil(2) as u32);
	let offset = w.offset();
	let n64 = n as u64;
	macro_rules! launch {
		($t:ty) => {{
			// SAFETY: every element is written by the kernel below before anyone reads it.
			let out = unsafe { dev.alloc::<$t>(n)? };
			let mut b = func.builder();
			b.arg(&d.codes).arg(&d.absmax_q).arg(&d.absmax_scale).arg(&offset).arg(&out).arg(&n64);
			// SAFETY: the argument list matches the kernel's signature in src/cuda/nf4.cu.
			unsafe { b.launch(cfg) }.w()?;
			CudaStorage::wrap_cuda_slice(out, dev.clone())
		}};
	}
	Ok(match dtype {
		DType::F32 => launch!(f32),
		DType::F64 => launch!(f64),
		DType::BF16 => launch!(half::bf16),
		_ => launch!(half::f16),
	})
}

/// Dequantization as a tensor (for the backward pass), through a no-gradient op on a placeholder.
pub fn nf4_dequantize_tensor(w: &Nf4Tensor, dev: &CudaDevice, dtype: DType) -> Result<Tensor> {
	struct Dequantize<'a>(&'a Nf4Tensor);
	impl CustomOp1 for Dequantize<'_> {
		fn name(&self) -> &'static str {
			"nf4-dequantize"
		}
		fn cpu_fwd(
			&self,
			_: &candle_core::CpuStorage,
			_: &Layout,
		) -> Result<(candle_core::CpuStorage, Shape)> {
			candle_core::bail!("nf4-dequantize is the CUDA path")
		}
		fn cuda_fwd(&self, s: &CudaStorage, _: &Layout) -> Result<(CudaStorage, Shape)> {
			Ok((nf4_dequantize(self.0, s.device(), s.dtype())?, Shape::from(self.0.shape())))
		}
	}
	let placeholder = Tensor::zeros(1, dtype, &candle_core::Device::Cuda(dev.clone()))?;
	placeholder.apply_op1_no_bwd(&Dequantize(w))
}
