//! Many adapters in one batch: row `r` of a batch computes with its own LoRA adapter (or none) on
//! the shared base, `y_r = x_r W^T + b + scale_r x_r A_r^T B_r^T` (Punica's SGMV idea). The base
//! product runs once for the whole batch; only the low-rank part is per row.
//!
//! On the CPU the low-rank products of every row run in one pass over the adapters' own memory
//! (one copy of the input out, one add back, whatever the number of distinct adapters), so a batch
//! of a hundred adapters costs what a batch of one adapter does. Elsewhere (CUDA, half precision)
//! rows are grouped by adapter and each group is gathered, multiplied and added back.

use crate::lora::{Linear, LoraConfig};
use crate::model::CausalLm;
use candle_core::{DType, Layout, Result, Storage, Tensor, WithDType, D};
use std::collections::HashMap;
use std::sync::Arc;

/// One layer's adapter: A (r, in) and B transposed, (r, out), both contiguous, and its scale.
/// B is kept transposed so that adding `B u` is a sum of contiguous rows.
struct LowRank {
	a: Tensor,
	bt: Tensor,
	scale: f64,
}

/// One adapter made ready for batching on one model: its low-rank pair for each adaptable layer,
/// by the layer numbers [`CausalLm::number_linears`] gives.
pub struct BatchAdapter {
	layers: Vec<Option<LowRank>>,
	bytes: usize,
}

impl BatchAdapter {
	/// From PEFT tensors (`base_model.model.<path>.lora_A.weight` and `lora_B`), checked against
	/// `model`'s layers: every layer `cfg` targets must have both, in its shape, and every tensor must
	/// belong to one. Stored in the model's dtype, on its device.
	pub fn new(
		model: &mut dyn CausalLm,
		cfg: &LoraConfig,
		tensors: &HashMap<String, Tensor>,
	) -> Result<Self> {
		let dtype = model.dtype();
		Self::stored_as(model, cfg, tensors, dtype)
	}

	/// [`BatchAdapter::new`], stored as `dtype`. An f32 model on the CPU also takes adapters kept in
	/// bf16: half the memory and half the bytes read per row, each value widened as it is read.
	pub fn stored_as(
		model: &mut dyn CausalLm,
		cfg: &LoraConfig,
		tensors: &HashMap<String, Tensor>,
		dtype: DType,
	) -> Result<Self> {
		let dev = model.device();
		let paths = model.number_linears();
		let mut dims = Vec::with_capacity(paths.len());
		for (_, l) in model.linears_mut() {
			dims.push(l.dims()?);
		}
		let mut used = 0;
		let mut layers = Vec::with_capacity(paths.len());
		let mut bytes = 0;
		for (path, (out_f, in_f)) in paths.iter().zip(dims) {
			if !cfg.targets(path) {
				layers.push(None);
				continue;
			}
			let get = |part: &str, shape: (usize, usize)| -> Result<Tensor> {
				let name = format!("base_model.model.{path}.{part}.weight");
				let t = tensors.get(&name).ok_or_else(|| {
					candle_core::Error::Msg(format!("the adapter has no tensor {name}"))
				})?;
				if t.dims2().ok() != Some(shape) {
					candle_core::bail!(
						"{name} has shape {:?}; this model's layer takes {shape:?}",
						t.dims()
					);
				}
				t.to_dtype(dtype)?.to_device(&dev)?.contiguous()
			};
			let a = get("lora_A", (cfg.r, in_f))?;
			let bt = get("lora_B", (out_f, cfg.r))?.t()?.contiguous()?;
			used += 2;
			bytes += (a.elem_count() + bt.elem_count()) * dtype.size_in_bytes();
			layers.push(Some(LowRank { a, bt, scale: cfg.scale() }));
		}
		if used == 0 {
			candle_core::bail!(
				"no layer of this model matches the targets {:?}",
				cfg.target_modules
			);
		}
		if used != tensors.len() {
			let extra = tensors
				.keys()
				.find(|n| !paths.iter().any(|p| n.starts_with(&format!("base_model.model.{p}."))))
				.cloned()
				.unwrap_or_else(|| "a tensor of a layer it does not target".into());
			candle_core::bail!(
				"the adapter has {} tensors, this model takes {used} for its targets ({extra} is not one of them)",
				tensors.len()
			);
		}
		Ok(Self { layers, bytes })
	}

	/// Memory its tensors take.
	pub fn bytes(&self) -> usize {
		self.bytes
	}
}

/// The adapter of each row of a batch (`None`: the bare base).
pub struct RowAdapters {
	rows: Vec<Option<Arc<BatchAdapter>>>,
}

impl RowAdapters {
	pub fn new(rows: Vec<Option<Arc<BatchAdapter>>>) -> Self {
		Self { rows }
	}

	pub fn len(&self) -> usize {
		self.rows.len()
	}

	pub fn is_empty(&self) -> bool {
		self.rows.is_empty()
	}

	/// Adds each row's low-rank update for layer `l` to `y = l(x)`; `x` (rows, .., in).
	pub(crate) fn apply(&self, l: &Linear, x: &Tensor, y: Tensor) -> Result<Tensor> {
		apply_rows(&self.rows, l, x, y)
	}

	/// Row `row`'s update alone, to `x` (1, .., in) of that row's tokens.
	pub(crate) fn apply_row(
		&self,
		l: &Linear,
		x: &Tensor,
		y: Tensor,
		row: usize,
	) -> Result<Tensor> {
		let Some(one) = self.rows.get(row) else {
			candle_core::bail!("row {row} of {} rows", self.rows.len())
		};
		apply_rows(std::slice::from_ref(one), l, x, y)
	}
}

/// Adds the update of each row's adapter (`rows[r]` for row r of `x` and `y`).
fn apply_rows(
	rows: &[Option<Arc<BatchAdapter>>],
	l: &Linear,
	x: &Tensor,
	y: Tensor,
) -> Result<Tensor> {
	let any = rows.iter().any(Option::is_some);
	let Some(slot) = l.slot else {
		if any {
			candle_core::bail!(
				"the model's layers are not numbered (make adapters with BatchAdapter::new)"
			);
		}
		return Ok(y);
	};
	let pairs: Vec<Option<&LowRank>> = rows
		.iter()
		.map(|a| a.as_ref().and_then(|a| a.layers.get(slot)).and_then(Option::as_ref))
		.collect();
	if pairs.iter().all(Option::is_none) {
		return Ok(y);
	}
	let (in_f, out_f) = (x.dim(D::Minus1)?, y.dim(D::Minus1)?);
	for p in pairs.iter().flatten() {
		if p.a.dim(1)? != in_f || p.bt.dim(1)? != out_f {
			candle_core::bail!("an adapter does not fit layer {slot} of this model");
		}
	}
	let stored = pairs.iter().flatten().map(|p| p.a.dtype()).collect::<Vec<_>>();
	let all = |d: DType| stored.iter().all(|s| *s == d);
	match (x.device().is_cpu(), x.dtype()) {
		(true, DType::F32) if all(DType::F32) => cpu_rows::<f32, f32>(x, y, &pairs),
		(true, DType::F32) if all(DType::BF16) => cpu_rows::<f32, half::bf16>(x, y, &pairs),
		(true, DType::F64) if all(DType::F64) => cpu_rows::<f64, f64>(x, y, &pairs),
		_ => grouped_rows(x, y, &pairs),
	}
}

fn cpu_slice<'s, T: WithDType>(s: &'s Storage, l: &Layout) -> Result<&'s [T]> {
	let Storage::Cpu(c) = s else { candle_core::bail!("the adapter is not on the CPU") };
	let (start, end) = l
		.contiguous_offsets()
		.ok_or_else(|| candle_core::Error::Msg("the adapter is not contiguous".into()))?;
	Ok(&c.as_slice::<T>()?[start..end])
}

/// Every row's update in one pass over plain memory, rows split across the compute threads: for
/// each position of row `r`, `u = scale_r A_r x` (r dot products), then `y += B_r u` (r scaled
/// rows of B^T added).
/// One row's adapter as plain memory: A, B^T and the scale.
type RowView<'s, S, T> = (&'s [S], &'s [S], T);

/// `T`: the activations' type; `S`: the adapters' (the same, or narrower).
fn cpu_rows<T: WithDType + From<S>, S: WithDType>(
	x: &Tensor,
	y: Tensor,
	pairs: &[Option<&LowRank>],
) -> Result<Tensor> {
	use rayon::prelude::*;
	let (in_f, out_f) = (x.dim(D::Minus1)?, y.dim(D::Minus1)?);
	let rows = pairs.len();
	let per_row = x.elem_count() / (rows * in_f);
	let xs: Vec<T> = x.flatten_all()?.to_vec1()?;
	// The adapters' memory, read in place (the guards live until the end).
	let guards: Vec<_> = pairs
		.iter()
		.map(|p| p.map(|p| (p.a.storage_and_layout(), p.bt.storage_and_layout(), p.scale)))
		.collect();
	let mut views: Vec<Option<RowView<S, T>>> = Vec::with_capacity(rows);
	for g in &guards {
		views.push(match g {
			Some(((ga, la), (gb, lb), scale)) => {
				Some((cpu_slice::<S>(ga, la)?, cpu_slice::<S>(gb, lb)?, T::from_f64(*scale)))
			}
			None => None,
		});
	}
	let mut delta = vec![T::zero(); rows * per_row * out_f];
	delta.par_chunks_mut(per_row * out_f).zip(views.par_iter()).enumerate().for_each(
		|(r, (out, view))| {
			let Some((a, bt, scale)) = view else { return };
			let mut u: Vec<T> = Vec::with_capacity(a.len() / in_f);
			for (pos, out) in out.chunks_exact_mut(out_f).enumerate() {
				let i = r * per_row + pos;
				let xv = &xs[i * in_f..(i + 1) * in_f];
				u.clear();
				u.extend(a.chunks_exact(in_f).map(|ar| dot::<T, S>(ar, xv) * *scale));
				for (uk, bk) in u.iter().zip(bt.chunks_exact(out_f)) {
					for (o, b) in out.iter_mut().zip(bk) {
						*o += *uk * T::from(*b);
					}
				}
			}
		},
	);
	let delta = Tensor::from_vec(delta, y.shape(), y.device())?;
	y + delta
}

/// A dot product in eight independent sums, which the compiler turns into vector instructions (one
/// running sum cannot be reordered).
fn dot<T: WithDType + From<S>, S: WithDType>(a: &[S], b: &[T]) -> T {
	let mut acc = [T::zero(); 8];
	let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
	let tail: T =
		ca.remainder().iter().zip(cb.remainder()).fold(T::zero(), |s, (x, y)| s + T::from(*x) * *y);
	for (x, y) in ca.zip(cb) {
		for k in 0..8 {
			acc[k] += T::from(x[k]) * y[k];
		}
	}
	acc.iter().fold(tail, |s, v| s + *v)
}

/// Rows grouped by adapter: each group's rows gathered, multiplied by its pair, added back.
fn grouped_rows(x: &Tensor, y: Tensor, pairs: &[Option<&LowRank>]) -> Result<Tensor> {
	let in_f = x.dim(D::Minus1)?;
	let mut groups: Vec<(&LowRank, Vec<u32>)> = Vec::new();
	for (r, p) in pairs.iter().enumerate() {
		let Some(p) = p else { continue };
		match groups.iter_mut().find(|(q, _)| std::ptr::eq(*q, *p)) {
			Some((_, rows)) => rows.push(r as u32),
			None => groups.push((p, vec![r as u32])),
		}
	}
	let mut y = y;
	for (p, rows) in groups {
		let n = rows.len();
		let idx = Tensor::from_vec(rows, n, x.device())?;
		let xs = x.index_select(&idx, 0)?;
		let mut shape = xs.dims().to_vec();
		let flat = xs.contiguous()?.reshape(((), in_f))?;
		let (a, bt) = (p.a.to_dtype(x.dtype())?, p.bt.to_dtype(x.dtype())?);
		let up = (flat.matmul(&a.t()?)?.matmul(&bt)? * p.scale)?;
		*shape.last_mut().expect("rank >= 1") = p.bt.dim(1)?;
		y = y.index_add(&idx, &up.reshape(shape)?, 0)?;
	}
	Ok(y)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::lora::{randn, rng};

	fn pair(seed: u64, dtype: DType) -> LowRank {
		let mut g = rng(seed);
		LowRank {
			a: randn(&[3, 21], 0.5, &mut g, dtype).unwrap(),
			bt: randn(&[3, 4], 0.5, &mut g, dtype).unwrap(),
			scale: 1.5 + seed as f64,
		}
	}

	/// Adapters kept in bf16 for an f32 model: the kernel widens each value as it reads it, and
	/// gives what the rounded adapters give in f32.
	#[test]
	fn adapters_kept_in_bf16_compute_as_their_rounded_values() {
		let to = |p: &LowRank, d: DType| LowRank {
			a: p.a.to_dtype(d).unwrap(),
			bt: p.bt.to_dtype(d).unwrap(),
			scale: p.scale,
		};
		let (p1, p2) = (pair(1, DType::F32), pair(2, DType::F32));
		let (h1, h2) = (to(&p1, DType::BF16), to(&p2, DType::BF16));
		let (r1, r2) = (to(&h1, DType::F32), to(&h2, DType::F32));
		let x = randn(&[3, 1, 21], 1.0, &mut rng(9), DType::F32).unwrap();
		let y = randn(&[3, 1, 4], 1.0, &mut rng(10), DType::F32).unwrap();
		let half =
			cpu_rows::<f32, half::bf16>(&x, y.clone(), &[Some(&h1), None, Some(&h2)]).unwrap();
		let rounded = cpu_rows::<f32, f32>(&x, y.clone(), &[Some(&r1), None, Some(&r2)]).unwrap();
		let grouped = grouped_rows(&x, y.clone(), &[Some(&h1), None, Some(&h2)]).unwrap();
		assert!(crate::testutil::max_diff(&half, &rounded) < 1e-5);
		assert!(crate::testutil::max_diff(&grouped, &rounded) < 1e-5);
		let exact = cpu_rows::<f32, f32>(&x, y, &[Some(&p1), None, Some(&p2)]).unwrap();
		let d = crate::testutil::max_diff(&half, &exact);
		assert!(d > 0.0 && d < 0.05, "bf16 rounds, a little: {d}");
	}

	/// The one-pass CPU kernel and the grouped path agree with each row computed by plain matmuls,
	/// with rows on no adapter, shared adapters and distinct ones.
	#[test]
	fn the_cpu_kernel_and_the_grouped_path_equal_each_row_alone() {
		for dtype in [DType::F32, DType::F64] {
			let (p1, p2) = (pair(1, dtype), pair(2, dtype));
			let pairs = [Some(&p1), None, Some(&p2), Some(&p1)];
			let x = randn(&[4, 2, 21], 1.0, &mut rng(9), dtype).unwrap();
			let y = randn(&[4, 2, 4], 1.0, &mut rng(10), dtype).unwrap();
			let want: Vec<Tensor> = pairs
				.iter()
				.enumerate()
				.map(|(r, p)| {
					let (xr, yr) = (x.get(r).unwrap(), y.get(r).unwrap());
					match p {
						None => yr,
						Some(p) => (yr
							+ (xr.matmul(&p.a.t().unwrap()).unwrap().matmul(&p.bt).unwrap()
								* p.scale)
								.unwrap())
						.unwrap(),
					}
				})
				.collect();
			let want = Tensor::stack(&want, 0).unwrap();
			let tol = if dtype == DType::F64 { 1e-12 } else { 1e-5 };
			let cpu = match dtype {
				DType::F32 => cpu_rows::<f32, f32>(&x, y.clone(), &pairs).unwrap(),
				_ => cpu_rows::<f64, f64>(&x, y.clone(), &pairs).unwrap(),
			};
			let grouped = grouped_rows(&x, y.clone(), &pairs).unwrap();
			for (name, got) in [("cpu", cpu), ("grouped", grouped)] {
				let d = crate::testutil::max_diff(&got, &want);
				assert!(d < tol, "{name} {dtype:?}: {d}");
			}
			assert!(crate::testutil::max_diff(&y, &want) > 0.1, "the adapters change the rows");
		}
	}
}
