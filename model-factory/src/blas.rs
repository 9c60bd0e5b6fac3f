//! Matrix products on the CPU through the system's OpenBLAS (the default `openblas` feature; Debian's
//! `libopenblas-dev`, which scripts/bootstrap.sh installs). On the team VM it runs the training
//! shapes at 215 to 235 GFLOP/s where candle's `gemm` crate reaches 110 to 140; see
//! docs/model-factory.md. Without the feature, [`gemm`] falls back to candle's matmul.

use candle_core::{Result, Tensor};

#[cfg(feature = "openblas")]
mod ffi {
	#![allow(non_camel_case_types)]
	pub type blasint = i32;
	pub const ROW_MAJOR: i32 = 101;
	pub const NO_TRANS: i32 = 111;
	pub const TRANS: i32 = 112;
	#[link(name = "openblas")]
	extern "C" {
		pub fn cblas_sgemm(
			order: i32,
			ta: i32,
			tb: i32,
			m: blasint,
			n: blasint,
			k: blasint,
			alpha: f32,
			a: *const f32,
			lda: blasint,
			b: *const f32,
			ldb: blasint,
			beta: f32,
			c: *mut f32,
			ldc: blasint,
		);
		pub fn cblas_sgemv(
			order: i32,
			ta: i32,
			m: blasint,
			n: blasint,
			alpha: f32,
			a: *const f32,
			lda: blasint,
			x: *const f32,
			incx: blasint,
			beta: f32,
			y: *mut f32,
			incy: blasint,
		);
		pub fn cblas_dgemv(
			order: i32,
			ta: i32,
			m: blasint,
			n: blasint,
			alpha: f64,
			a: *const f64,
			lda: blasint,
			x: *const f64,
			incx: blasint,
			beta: f64,
			y: *mut f64,
			incy: blasint,
		);
		pub fn openblas_set_num_threads(n: i32);
		pub fn openblas_get_config() -> *const std::ffi::c_char;
		pub fn openblas_get_corename() -> *const std::ffi::c_char;
		pub fn cblas_dgemm(
			order: i32,
			ta: i32,
			tb: i32,
			m: blasint,
			n: blasint,
			k: blasint,
			alpha: f64,
			a: *const f64,
			lda: blasint,
			b: *const f64,
			ldb: blasint,
			beta: f64,
			c: *mut f64,
			ldc: blasint,
		);
	}
}

/// What multiplies matrices here, for benchmarks to report: OpenBLAS's build string and the
/// kernel it chose for this CPU, or candle's gemm without the `openblas` feature.
pub fn backend() -> String {
	#[cfg(feature = "openblas")]
	{
		// SAFETY: both return pointers to static NUL-terminated strings in the library.
		let text = |p: *const std::ffi::c_char| {
			if p.is_null() {
				String::new()
			} else {
				unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().trim().to_string()
			}
		};
		let (config, core) =
			unsafe { (text(ffi::openblas_get_config()), text(ffi::openblas_get_corename())) };
		format!("{config} (kernel {core})")
	}
	#[cfg(not(feature = "openblas"))]
	{
		"candle gemm".to_string()
	}
}

/// A row-major matrix operand: its elements, and whether it is read transposed.
pub struct Operand<'a, T> {
	pub data: &'a [T],
	pub transposed: bool,
}

/// Element types OpenBLAS multiplies.
pub trait Gemm: Copy + Default {
	/// `c (m, n) = a (m, k) @ b (k, n)`, each operand row-major (or its transpose read in place).
	fn gemm(m: usize, n: usize, k: usize, a: Operand<Self>, b: Operand<Self>, c: &mut [Self]);
}

#[cfg(feature = "openblas")]
macro_rules! impl_gemm {
	($t:ty, $f:ident, $gemv:ident) => {
		impl Gemm for $t {
			fn gemm(m: usize, n: usize, k: usize, a: Operand<$t>, b: Operand<$t>, c: &mut [$t]) {
				assert!(a.data.len() >= m * k && b.data.len() >= k * n && c.len() >= m * n);
				assert!(m.max(n).max(k) <= i32::MAX as usize, "matrix too large for OpenBLAS");
				let (ta, lda) = if a.transposed { (ffi::TRANS, m) } else { (ffi::NO_TRANS, k) };
				let (tb, ldb) = if b.transposed { (ffi::TRANS, k) } else { (ffi::NO_TRANS, n) };
				single_threaded_blas();
				let c_ptr = SendPtr(c.as_mut_ptr());
				// Rows r0..r0+mb and columns c0..c0+nb of `c`, in one single-threaded BLAS call.
				let block = |r0: usize, mb: usize, c0: usize, nb: usize| {
					// Row r0 of `a` starts r0 rows down, or r0 columns across when transposed;
					// column c0 of `b` is row c0 of its transpose as stored, or column c0 of the
					// row-major matrix.
					let a0 = if a.transposed { r0 } else { r0 * k };
					let b0 = if b.transposed { c0 * k } else { c0 };
					let c_ptr = &c_ptr;
					// SAFETY: the block lies inside `a`, `b` and `c` (lengths checked above, with
					// the full matrices' leading dimensions), and blocks never overlap in `c`.
					unsafe {
						let out = c_ptr.0.add(r0 * n + c0);
						if m == 1 && k > 0 {
							// One row: a matrix-vector product, which packs nothing.
							let (t, rows_, cols_, ld) = if b.transposed {
								(ffi::NO_TRANS, nb, k, k)
							} else {
								(ffi::TRANS, k, nb, n)
							};
							ffi::$gemv(
								ffi::ROW_MAJOR,
								t,
								rows_ as i32,
								cols_ as i32,
								1.0,
								b.data[b0..].as_ptr(),
								ld.max(1) as i32,
								a.data[a0..].as_ptr(),
								1,
								0.0,
								out,
								1,
							)
						} else {
							ffi::$f(
								ffi::ROW_MAJOR,
								ta,
								tb,
								mb as i32,
								nb as i32,
								k as i32,
								1.0,
								a.data[a0..].as_ptr(),
								lda.max(1) as i32,
								b.data[b0..].as_ptr(),
								ldb.max(1) as i32,
								0.0,
								out,
								n.max(1) as i32,
							)
						}
					}
				};
				use rayon::prelude::*;
				// Rows split over the rayon pool, one single-threaded BLAS call each: OpenBLAS's own
				// threads and rayon's workers spinning on the same two cores cost ~25%. Too few
				// rows: the columns split instead (each thread reads only its share of `b`, which
				// OpenBLAS packs on every call: with few rows, packing the weights costs more than
				// the product).
				let rows = row_block(m, n, k);
				let cols = col_block(m, n, k);
				if rows < m && n > 0 {
					let blocks = m.div_ceil(rows);
					(0..blocks).into_par_iter().for_each(|i| {
						let r0 = i * rows;
						block(r0, rows.min(m - r0), 0, n)
					});
				} else if cols < n && k > 0 {
					(0..n.div_ceil(cols)).into_par_iter().for_each(|i| {
						let c0 = i * cols;
						block(0, m, c0, cols.min(n - c0))
					});
				} else {
					block(0, m, 0, n);
				}
			}
		}
	};
}
#[cfg(feature = "openblas")]
impl_gemm!(f32, cblas_sgemm, cblas_sgemv);
#[cfg(feature = "openblas")]
impl_gemm!(f64, cblas_dgemm, cblas_dgemv);

/// A pointer the pool's threads write disjoint parts through.
#[cfg(feature = "openblas")]
struct SendPtr<T>(*mut T);
// SAFETY: only used to write disjoint blocks of one output from the pool's threads.
#[cfg(feature = "openblas")]
unsafe impl<T> Send for SendPtr<T> {}
#[cfg(feature = "openblas")]
unsafe impl<T> Sync for SendPtr<T> {}

/// Columns per parallel block when there are too few rows to split: the pool's threads share the
/// columns when the product is big enough to pay for it, each block a multiple of 16 columns.
#[cfg(feature = "openblas")]
fn col_block(m: usize, n: usize, k: usize) -> usize {
	let threads = rayon::current_num_threads().max(1);
	if threads == 1 || n < 64 || m * n * k < 1 << 18 {
		return n.max(1);
	}
	n.div_ceil(threads).next_multiple_of(16)
}

/// Rows per parallel block: the pool's threads share the rows when the product is big enough to pay
/// for it, each block at least 16 rows.
#[cfg(feature = "openblas")]
fn row_block(m: usize, n: usize, k: usize) -> usize {
	let threads = rayon::current_num_threads().max(1);
	if threads == 1 || m < 32 || m * n * k < 1 << 20 {
		return m.max(1);
	}
	m.div_ceil(threads.min(m / 16))
}

#[cfg(feature = "openblas")]
fn single_threaded_blas() {
	static ONCE: std::sync::Once = std::sync::Once::new();
	// SAFETY: sets OpenBLAS's thread count, once, before this crate's first product.
	ONCE.call_once(|| unsafe { ffi::openblas_set_num_threads(1) });
}

/// Whether products go through OpenBLAS in this build.
pub const ENABLED: bool = cfg!(feature = "openblas");

/// `a @ b` through OpenBLAS like [`matmul`], but not differentiable: for use inside ops with their
/// own backward.
pub fn gemm(a: &Tensor, b: &Tensor) -> Result<Tensor> {
	product(a, b, false)
}

/// `a @ b` over matching leading (batch) dimensions, differentiable in both: through OpenBLAS for f32
/// and f64 CPU tensors whose matrices are row-major or transposed views (attention's `k^T`, LoRA's
/// `A^T` are read in place), the batch matrices spread over the rayon pool; candle's matmul otherwise.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
	product(a, b, true)
}

fn product(a: &Tensor, b: &Tensor, differentiable: bool) -> Result<Tensor> {
	// Operands whose matrices are neither row-major nor transposed views are copied once.
	let packed = |t: &Tensor| match batch_layout(t.layout()) {
		Some(_) => Ok(t.clone()),
		None => t.contiguous(),
	};
	let (a, b) = (packed(a)?, packed(b)?);
	#[cfg(feature = "openblas")]
	if a.device().is_cpu()
		&& a.dtype() == b.dtype()
		&& matches!(a.dtype(), candle_core::DType::F32 | candle_core::DType::F64)
		&& a.rank() >= 2
		&& a.rank() == b.rank()
		&& a.dims()[..a.rank() - 2] == b.dims()[..b.rank() - 2]
		&& a.dim(a.rank() - 1)? == b.dim(b.rank() - 2)?
	{
		return if differentiable {
			a.apply_op2(&b, Matmul)
		} else {
			a.apply_op2_no_bwd(&b, &Matmul)
		};
	}
	let _ = differentiable;
	a.matmul(&b)
}

/// `a @ b` of CPU storages holding packed (batch.., m, k) and (batch.., k, n) matrices, row-major or
/// transposed, through OpenBLAS. `None` when this build or these dtypes do not take that path.
pub fn cpu_matmul(
	a: &candle_core::CpuStorage,
	la: &candle_core::Layout,
	b: &candle_core::CpuStorage,
	lb: &candle_core::Layout,
) -> Result<Option<(candle_core::CpuStorage, candle_core::Shape)>> {
	#[cfg(feature = "openblas")]
	{
		use candle_core::CpuStorage as S;
		match (a, b) {
			(S::F32(x), S::F32(y)) => {
				return Matmul::run(x, la, y, lb).map(|(v, s)| Some((S::F32(v), s)))
			}
			(S::F64(x), S::F64(y)) => {
				return Matmul::run(x, la, y, lb).map(|(v, s)| Some((S::F64(v), s)))
			}
			_ => {}
		}
	}
	let _ = (a, la, b, lb);
	Ok(None)
}

/// How a (batch.., rows, cols) layout stores its matrices: `Some(transposed)` when they are packed one
/// after another, each row-major or the transpose of a row-major one.
fn batch_layout(l: &candle_core::Layout) -> Option<(bool, usize)> {
	if l.dims().len() < 2 {
		return None;
	}
	let d = l.dims();
	let s = l.stride();
	let n = d.len();
	let (r, c) = (d[n - 2], d[n - 1]);
	// A single row or column only needs its own elements adjacent; its other stride is free.
	let transposed = if s[n - 1] == 1 && (s[n - 2] == c || r == 1) {
		false
	} else if s[n - 2] == 1 && (s[n - 1] == r || c == 1) {
		true
	} else {
		return None;
	};
	// The batch dimensions flatten to one with a single step between matrices (size-1
	// dimensions may have any stride). The step may exceed a matrix's size: matrices cut out of
	// larger ones, as a key cache's filled part of its buffers, are read in place.
	let mut step = None;
	let mut expect = 0;
	for i in (0..n - 2).rev() {
		if d[i] == 1 {
			continue;
		}
		match step {
			None if s[i] >= r * c => {
				step = Some(s[i]);
				expect = s[i] * d[i];
			}
			None => return None,
			Some(_) if s[i] == expect => expect *= d[i],
			Some(_) => return None,
		}
	}
	Some((transposed, step.unwrap_or(r * c)))
}

#[cfg(feature = "openblas")]
struct Matmul;

#[cfg(feature = "openblas")]
impl Matmul {
	fn run<T: Gemm + candle_core::WithDType>(
		a: &[T],
		la: &candle_core::Layout,
		b: &[T],
		lb: &candle_core::Layout,
	) -> Result<(Vec<T>, candle_core::Shape)> {
		use rayon::prelude::*;
		let (da, db) = (la.dims(), lb.dims());
		let n_dims = da.len();
		let (m, k, n) = (da[n_dims - 2], da[n_dims - 1], db[n_dims - 1]);
		let batch: usize = da[..n_dims - 2].iter().product();
		let ((ta, sa), (tb, sb)) = match (batch_layout(la), batch_layout(lb)) {
			(Some(a), Some(b)) => (a, b),
			_ => candle_core::bail!("blas matmul: operands must be packed matrices"),
		};
		let (a, b) = (&a[la.start_offset()..], &b[lb.start_offset()..]);
		let mut out = vec![T::default(); batch * m * n];
		let one = |i: usize, c: &mut [T]| {
			let a = Operand { data: &a[i * sa..][..m * k], transposed: ta };
			let b = Operand { data: &b[i * sb..][..k * n], transposed: tb };
			T::gemm(m, n, k, a, b, c);
		};
		if batch == 1 || m * n == 0 {
			if m * n > 0 {
				one(0, &mut out);
			}
		} else {
			out.par_chunks_mut(m * n).enumerate().for_each(|(i, c)| one(i, c));
		}
		let mut dims = da.to_vec();
		dims[n_dims - 1] = n;
		Ok((out, dims.into()))
	}
}

#[cfg(feature = "openblas")]
impl candle_core::CustomOp2 for Matmul {
	fn name(&self) -> &'static str {
		"blas-matmul"
	}

	fn cpu_fwd(
		&self,
		s1: &candle_core::CpuStorage,
		l1: &candle_core::Layout,
		s2: &candle_core::CpuStorage,
		l2: &candle_core::Layout,
	) -> Result<(candle_core::CpuStorage, candle_core::Shape)> {
		cpu_matmul(s1, l1, s2, l2)?.ok_or_else(|| {
			candle_core::Error::Msg("blas matmul: f32 or f64 operands of one dtype".into())
		})
	}

	fn bwd(
		&self,
		a: &Tensor,
		b: &Tensor,
		_res: &Tensor,
		g: &Tensor,
	) -> Result<(Option<Tensor>, Option<Tensor>)> {
		let n = a.rank();
		// dA = dY B^T, dB = A^T dY; the transposes are views that the op reads in place.
		let da = matmul(g, &b.transpose(n - 2, n - 1)?)?;
		let db = matmul(&a.transpose(n - 2, n - 1)?, g)?;
		Ok((Some(da), Some(db)))
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use candle_core::{DType, Device};

	#[test]
	fn products_match_candle_for_every_layout() {
		let mut rng = crate::lora::rng(9);
		for dt in [DType::F32, DType::F64] {
			let a = crate::lora::randn(&[7, 5], 1.0, &mut rng, dt).unwrap();
			let b = crate::lora::randn(&[5, 3], 1.0, &mut rng, dt).unwrap();
			let at = crate::lora::randn(&[5, 7], 1.0, &mut rng, dt).unwrap().t().unwrap();
			let bt = crate::lora::randn(&[3, 5], 1.0, &mut rng, dt).unwrap().t().unwrap();
			let wide = crate::lora::randn(&[9, 9], 1.0, &mut rng, dt).unwrap();
			let strided = wide.narrow(0, 1, 7).unwrap().narrow(1, 2, 5).unwrap();
			let row = crate::lora::randn(&[1, 5], 1.0, &mut rng, dt).unwrap();
			// A column and a row cut out of a wider matrix: their elements are not adjacent.
			let col = wide.narrow(1, 4, 1).unwrap();
			let strided_row = wide.t().unwrap().narrow(0, 3, 1).unwrap().narrow(1, 0, 5).unwrap();
			let c3 = crate::lora::randn(&[1, 3], 1.0, &mut rng, dt).unwrap();
			for (x, y) in [
				(&a, &b),
				(&at, &b),
				(&a, &bt),
				(&at, &bt),
				(&strided, &bt),
				(&row, &b),
				(&col, &c3),
				(&strided_row, &b),
			] {
				let got = gemm(x, y).unwrap();
				let want = x.contiguous().unwrap().matmul(&y.contiguous().unwrap()).unwrap();
				let tol = if dt == DType::F32 { 1e-5 } else { 1e-12 };
				assert!(crate::testutil::max_diff(&got, &want) < tol, "{dt:?} {:?}", x.stride());
			}
		}
		// Large enough to be split over the pool's threads by rows, with `a` stored either way.
		for dt in [DType::F32, DType::F64] {
			let a = crate::lora::randn(&[97, 130], 1.0, &mut rng, dt).unwrap();
			let at = crate::lora::randn(&[130, 97], 1.0, &mut rng, dt).unwrap().t().unwrap();
			let bt = crate::lora::randn(&[301, 130], 1.0, &mut rng, dt).unwrap().t().unwrap();
			#[cfg(feature = "openblas")]
			assert!(row_block(97, 301, 130) < 97 || rayon::current_num_threads() == 1);
			for x in [&a, &at] {
				let got = gemm(x, &bt).unwrap();
				let want = x.contiguous().unwrap().matmul(&bt.contiguous().unwrap()).unwrap();
				let tol = if dt == DType::F32 { 1e-4 } else { 1e-11 };
				assert!(crate::testutil::max_diff(&got, &want) < tol, "{dt:?} {:?}", x.stride());
			}
		}
		// Few rows and many columns: split over the pool by columns; one row: a matrix-vector
		// product. `b` stored either way.
		for dt in [DType::F32, DType::F64] {
			let b = crate::lora::randn(&[450, 601], 1.0, &mut rng, dt).unwrap();
			let bt = crate::lora::randn(&[601, 450], 1.0, &mut rng, dt).unwrap().t().unwrap();
			#[cfg(feature = "openblas")]
			assert!(col_block(1, 601, 450) < 601 || rayon::current_num_threads() == 1);
			for rows in [1, 5] {
				let a = crate::lora::randn(&[rows, 450], 1.0, &mut rng, dt).unwrap();
				let at = crate::lora::randn(&[450, rows], 1.0, &mut rng, dt).unwrap().t().unwrap();
				for (x, y) in [(&a, &b), (&a, &bt), (&at, &b), (&at, &bt)] {
					let got = gemm(x, y).unwrap();
					let want = x.contiguous().unwrap().matmul(&y.contiguous().unwrap()).unwrap();
					let tol = if dt == DType::F32 { 1e-4 } else { 1e-11 };
					let d = crate::testutil::max_diff(&got, &want);
					assert!(
						d < tol,
						"{dt:?} {rows} rows, {:?} x {:?}: {d}",
						x.stride(),
						y.stride()
					);
				}
			}
		}
		// The batched, differentiable product: values and both gradients as candle's.
		for dt in [DType::F32, DType::F64] {
			let a = candle_core::Var::from_tensor(
				&crate::lora::randn(&[2, 3, 40, 24], 1.0, &mut rng, dt).unwrap(),
			)
			.unwrap();
			let b = candle_core::Var::from_tensor(
				&crate::lora::randn(&[2, 3, 33, 24], 1.0, &mut rng, dt).unwrap(),
			)
			.unwrap();
			let bt = b.as_tensor().transpose(2, 3).unwrap(); // read in place
			let w = crate::lora::randn(&[2, 3, 40, 33], 1.0, &mut rng, dt).unwrap();
			let ours = matmul(a.as_tensor(), &bt).unwrap();
			let theirs = a.as_tensor().matmul(&bt.contiguous().unwrap()).unwrap();
			let tol = if dt == DType::F32 { 1e-4 } else { 1e-11 };
			assert!(crate::testutil::max_diff(&ours, &theirs) < tol);
			let g1 = (ours * &w).unwrap().sum_all().unwrap().backward().unwrap();
			let g2 = (theirs * &w).unwrap().sum_all().unwrap().backward().unwrap();
			for v in [&a, &b] {
				let (x, y) = (g1.get(v.as_tensor()).unwrap(), g2.get(v.as_tensor()).unwrap());
				assert!(crate::testutil::max_diff(x, y) < tol, "{dt:?} gradient");
			}
		}
		// Matrices cut out of larger ones along their rows (a key cache's filled part of its
		// buffers, and its transpose): read in place, the same products.
		for dt in [DType::F32, DType::F64] {
			let buf = crate::lora::randn(&[2, 3, 9, 5], 1.0, &mut rng, dt).unwrap();
			let filled = buf.narrow(2, 0, 7).unwrap();
			assert_eq!(batch_layout(filled.layout()), Some((false, 45)));
			assert_eq!(batch_layout(filled.t().unwrap().layout()), Some((true, 45)));
			let q = crate::lora::randn(&[2, 3, 4, 5], 1.0, &mut rng, dt).unwrap();
			let p = crate::lora::randn(&[2, 3, 4, 7], 1.0, &mut rng, dt).unwrap();
			let tol = if dt == DType::F32 { 1e-5 } else { 1e-12 };
			let want = q.matmul(&filled.t().unwrap().contiguous().unwrap()).unwrap();
			assert!(
				crate::testutil::max_diff(&matmul(&q, &filled.t().unwrap()).unwrap(), &want) < tol
			);
			let want = p.matmul(&filled.contiguous().unwrap()).unwrap();
			assert!(crate::testutil::max_diff(&matmul(&p, &filled).unwrap(), &want) < tol);
			// Overlapping or broadcast batches are not packed: copied first.
			let broadcast = crate::lora::randn(&[1, 4, 5], 1.0, &mut rng, dt)
				.unwrap()
				.broadcast_as((3, 4, 5))
				.unwrap();
			assert_eq!(batch_layout(broadcast.layout()), None);
		}
		assert!(gemm(
			&Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap(),
			&Tensor::zeros((4, 2), DType::F32, &Device::Cpu).unwrap()
		)
		.is_err());
	}
}
