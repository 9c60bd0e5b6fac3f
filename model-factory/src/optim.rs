//! AdamW (decoupled weight decay, as PyTorch's `torch.optim.AdamW`) whose state can be saved and
//! restored, so a training run resumes exactly where it stopped. Moments are kept in f32 whatever the
//! parameter's dtype (f64 stays f64).

use candle_core::{backprop::GradStore, DType, Device, Result, Tensor, Var};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWParams {
	pub lr: f64,
	pub beta1: f64,
	pub beta2: f64,
	pub eps: f64,
	pub weight_decay: f64,
}

impl Default for AdamWParams {
	fn default() -> Self {
		Self { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
	}
}

struct Slot {
	name: String,
	var: Var,
	m: Tensor,
	v: Tensor,
}

pub struct AdamW {
	slots: Vec<Slot>,
	/// Optimizer steps taken (bias correction uses it).
	pub t: usize,
	pub params: AdamWParams,
}

fn moment_dtype(d: DType) -> DType {
	if d == DType::F64 {
		DType::F64
	} else {
		DType::F32
	}
}

impl AdamW {
	/// One slot per named parameter, with zero moments.
	pub fn new(vars: Vec<(String, Var)>, params: AdamWParams) -> Result<Self> {
		let slots = vars
			.into_iter()
			.map(|(name, var)| {
				let dt = moment_dtype(var.dtype());
				let m = Tensor::zeros(var.shape(), dt, var.device())?;
				Ok(Slot { name, v: m.clone(), m, var })
			})
			.collect::<Result<Vec<_>>>()?;
		Ok(Self { slots, t: 0, params })
	}

	pub fn set_lr(&mut self, lr: f64) {
		self.params.lr = lr;
	}

	/// Applies one update from `grads`; parameters without a gradient are left alone.
	pub fn step(&mut self, grads: &GradStore) -> Result<()> {
		self.t += 1;
		let p = self.params;
		let (c1, c2) = (1.0 - p.beta1.powi(self.t as i32), 1.0 - p.beta2.powi(self.t as i32));
		for s in &mut self.slots {
			let Some(g) = grads.get(s.var.as_tensor()) else { continue };
			let g = g.to_dtype(s.m.dtype())?;
			s.m = ((&s.m * p.beta1)? + (&g * (1.0 - p.beta1))?)?;
			s.v = ((&s.v * p.beta2)? + (g.sqr()? * (1.0 - p.beta2))?)?;
			let update = ((&s.m / c1)? / ((&s.v / c2)?.sqrt()? + p.eps)?)?;
			let theta = s.var.as_tensor().to_dtype(s.m.dtype())?;
			let next = ((theta * (1.0 - p.lr * p.weight_decay))? - (update * p.lr)?)?;
			s.var.set(&next.to_dtype(s.var.dtype())?)?;
		}
		Ok(())
	}

	/// Per coordinate of `params` (flattened side by side, f64), the factor AdamW's next update
	/// applies to a gradient: `1 / (√v̂ + ε)`, with v̂ the bias-corrected second moment. Before the
	/// first step (no moment yet) every factor is 1.
	pub fn step_scale(&self, params: &[Var]) -> Result<Vec<f64>> {
		let mut out = Vec::new();
		let c2 = 1.0 - self.params.beta2.powi(self.t as i32);
		for v in params {
			let slot = self.slots.iter().find(|s| s.var.as_tensor().id() == v.as_tensor().id());
			match slot {
				Some(s) if self.t > 0 => {
					let v_hat = (s.v.to_dtype(DType::F64)? / c2)?;
					let f = (v_hat.sqrt()? + self.params.eps)?.recip()?;
					out.extend(f.flatten_all()?.to_vec1::<f64>()?);
				}
				_ => out.extend(std::iter::repeat_n(1.0, v.elem_count())),
			}
		}
		Ok(out)
	}

	/// The moments by `<name>.exp_avg` / `<name>.exp_avg_sq` (PyTorch's names), for saving.
	pub fn state_tensors(&self) -> HashMap<String, Tensor> {
		let mut out = HashMap::new();
		for s in &self.slots {
			out.insert(format!("{}.exp_avg", s.name), s.m.clone());
			out.insert(format!("{}.exp_avg_sq", s.name), s.v.clone());
		}
		out
	}

	/// Restores moments saved by [`AdamW::state_tensors`] after `t` steps; every slot must be present
	/// with its shape.
	pub fn load_state(
		&mut self,
		t: usize,
		state: &HashMap<String, Tensor>,
		dev: &Device,
	) -> Result<()> {
		for s in &mut self.slots {
			for (suffix, dst) in [("exp_avg", &mut s.m), ("exp_avg_sq", &mut s.v)] {
				let key = format!("{}.{suffix}", s.name);
				let Some(src) = state.get(&key) else {
					candle_core::bail!("the optimizer state has no {key}")
				};
				if src.dims() != dst.dims() {
					candle_core::bail!(
						"optimizer state {key} has shape {:?}, expected {:?}",
						src.dims(),
						dst.dims()
					);
				}
				*dst = src.to_dtype(dst.dtype())?.to_device(dev)?;
			}
		}
		self.t = t;
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Against PyTorch's AdamW update, written out for two steps on one scalar.
	#[test]
	fn updates_follow_the_adamw_formula() {
		let var = Var::new(&[1.0f64], &Device::Cpu).unwrap();
		let p = AdamWParams { lr: 0.1, weight_decay: 0.5, ..Default::default() };
		let mut opt = AdamW::new(vec![("w".into(), var.clone())], p).unwrap();
		let (mut theta, mut m, mut v) = (1.0f64, 0.0, 0.0);
		for (t, g) in [(1, 0.3f64), (2, -0.2)] {
			let loss = (var.as_tensor() * g).unwrap().sum_all().unwrap();
			opt.step(&loss.backward().unwrap()).unwrap();
			m = 0.9 * m + 0.1 * g;
			v = 0.999 * v + 0.001 * g * g;
			let (mh, vh) = (m / (1.0 - 0.9f64.powi(t)), v / (1.0 - 0.999f64.powi(t)));
			theta = theta * (1.0 - 0.1 * 0.5) - 0.1 * mh / (vh.sqrt() + 1e-8);
			let got = var.as_tensor().to_vec1::<f64>().unwrap()[0];
			assert!((got - theta).abs() < 1e-12, "step {t}: {got} vs {theta}");
		}
		let st = opt.state_tensors();
		assert_eq!(st.len(), 2);
		let mut other = AdamW::new(vec![("w".into(), var.clone())], p).unwrap();
		other.load_state(2, &st, &Device::Cpu).unwrap();
		assert_eq!(other.t, 2);
		let mut bad = st.clone();
		bad.remove("w.exp_avg");
		assert!(other
			.load_state(2, &bad, &Device::Cpu)
			.unwrap_err()
			.to_string()
			.contains("w.exp_avg"));
	}
}
