//! A damped, block-diagonal second-moment preconditioner for gradient features (the Gauss-Newton /
//! Fisher approximation of the Hessian that DataInf and K-FAC style influence use), one block per
//! adapted layer: `F_l = (1/n) Σ φ_l φ_lᵀ`, applied as `(F_l + λ_l I)⁻¹` with
//! `λ_l = damping · trace(F_l) / width_l`. Solved by Cholesky in f64.

/// Second moments of features, accumulated block by block.
pub struct Fisher {
	widths: Vec<usize>,
	/// Per block, the (w × w) sum of φ φᵀ, row-major; only the lower triangle is kept.
	sums: Vec<Vec<f64>>,
	n: usize,
}

/// The factored `(F + λI)` of each block.
pub struct Preconditioner {
	widths: Vec<usize>,
	/// Per block, the lower Cholesky factor L (w × w, row-major): F + λI = L Lᵀ.
	chol: Vec<Vec<f64>>,
}

impl Fisher {
	pub fn new(widths: &[usize]) -> Self {
		Self {
			widths: widths.to_vec(),
			sums: widths.iter().map(|w| vec![0.0; w * w]).collect(),
			n: 0,
		}
	}

	/// Adds one example's features (the blocks side by side).
	pub fn add(&mut self, phi: &[f32]) {
		let mut at = 0;
		for (b, &w) in self.widths.iter().enumerate() {
			let x = &phi[at..at + w];
			let s = &mut self.sums[b];
			for i in 0..w {
				let xi = x[i] as f64;
				if xi == 0.0 {
					continue;
				}
				let row = &mut s[i * w..i * w + w];
				for (j, xj) in x.iter().enumerate().take(i + 1) {
					row[j] += xi * *xj as f64;
				}
			}
			at += w;
		}
		self.n += 1;
	}

	/// The blocks' sums (lower triangles, row-major w × w) and the count of rows added.
	pub fn parts(&self) -> (&[Vec<f64>], usize) {
		(&self.sums, self.n)
	}

	/// A `Fisher` from [`Self::parts`] (a resumed run's).
	pub fn from_parts(widths: &[usize], sums: Vec<Vec<f64>>, n: usize) -> Option<Self> {
		let fits =
			sums.len() == widths.len() && sums.iter().zip(widths).all(|(s, w)| s.len() == w * w);
		fits.then(|| Self { widths: widths.to_vec(), sums, n })
	}

	/// Factors `F + λI` per block. A block with no signal (all zero) gets the identity.
	pub fn factor(&self, damping: f64) -> Preconditioner {
		let n = self.n.max(1) as f64;
		let chol = self
			.widths
			.iter()
			.zip(&self.sums)
			.map(|(&w, s)| {
				let mut m: Vec<f64> = s.iter().map(|v| v / n).collect();
				let trace: f64 = (0..w).map(|i| m[i * w + i]).sum();
				let lambda = if trace > 0.0 { damping * trace / w as f64 } else { 1.0 };
				for i in 0..w {
					m[i * w + i] += lambda;
				}
				cholesky(&mut m, w);
				m
			})
			.collect();
		Preconditioner { widths: self.widths.clone(), chol }
	}
}

/// In place: the lower triangle of `m` (w × w, symmetric positive definite, lower triangle
/// filled) becomes L with `m = L Lᵀ`; the upper triangle is zeroed.
fn cholesky(m: &mut [f64], w: usize) {
	for j in 0..w {
		let mut d = m[j * w + j];
		for k in 0..j {
			d -= m[j * w + k] * m[j * w + k];
		}
		// Damping keeps d positive; guard against rounding all the same.
		let d = d.max(f64::MIN_POSITIVE).sqrt();
		m[j * w + j] = d;
		for i in j + 1..w {
			let mut v = m[i * w + j];
			for k in 0..j {
				v -= m[i * w + k] * m[j * w + k];
			}
			m[i * w + j] = v / d;
		}
		for k in j + 1..w {
			m[j * w + k] = 0.0;
		}
	}
}

impl Preconditioner {
	/// `(F + λI)⁻¹ v`, block by block.
	pub fn apply(&self, v: &[f64]) -> Vec<f64> {
		let mut out = vec![0.0; v.len()];
		let mut at = 0;
		for (&w, l) in self.widths.iter().zip(&self.chol) {
			let x = &mut out[at..at + w];
			x.copy_from_slice(&v[at..at + w]);
			// L y = v, then Lᵀ x = y.
			for i in 0..w {
				let mut s = x[i];
				for k in 0..i {
					s -= l[i * w + k] * x[k];
				}
				x[i] = s / l[i * w + i];
			}
			for i in (0..w).rev() {
				let mut s = x[i];
				for k in i + 1..w {
					s -= l[k * w + i] * x[k];
				}
				x[i] = s / l[i * w + i];
			}
			at += w;
		}
		out
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_preconditioner_inverts_the_damped_second_moment() {
		// Two blocks (3 and 2 wide), five examples.
		let phis: Vec<Vec<f32>> = (0..5)
			.map(|i| (0..5).map(|j| ((i * 7 + j * 3) % 5) as f32 - 1.5 + 0.1 * j as f32).collect())
			.collect();
		let mut f = Fisher::new(&[3, 2]);
		for p in &phis {
			f.add(p);
		}
		let damping = 0.1;
		let pre = f.factor(damping);
		let v = [0.3, -1.0, 2.0, 0.5, 0.25];
		let x = pre.apply(&v);
		// (F + λI) x must give v back, per block.
		for (lo, w) in [(0usize, 3usize), (3, 2)] {
			let m = |i: usize, j: usize| -> f64 {
				phis.iter().map(|p| p[lo + i] as f64 * p[lo + j] as f64).sum::<f64>() / 5.0
			};
			let trace: f64 = (0..w).map(|i| m(i, i)).sum();
			let lambda = damping * trace / w as f64;
			for i in 0..w {
				let back: f64 =
					(0..w).map(|j| (m(i, j) + if i == j { lambda } else { 0.0 }) * x[lo + j]).sum();
				assert!((back - v[lo + i]).abs() < 1e-9, "{back} vs {}", v[lo + i]);
			}
		}
	}

	#[test]
	fn a_block_without_signal_is_left_alone() {
		let mut f = Fisher::new(&[2]);
		f.add(&[0.0, 0.0]);
		assert_eq!(f.factor(0.1).apply(&[1.5, -2.0]), vec![1.5, -2.0]);
	}
}
