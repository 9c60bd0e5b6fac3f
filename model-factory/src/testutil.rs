//! Checks every family's tests share.

use crate::lora::LoraConfig;
use crate::model::CausalLm;
use crate::ops::masked_loss;
use candle_core::{DType, Device, Tensor, D};

pub fn lora(r: usize, targets: &[&str]) -> LoraConfig {
	LoraConfig {
		r,
		lora_alpha: 2.0 * r as f64,
		lora_dropout: 0.0,
		use_rslora: false,
		target_modules: targets.iter().map(|s| s.to_string()).collect(),
	}
}

/// A two-row batch (token ids below 11) whose second row starts with an uncounted "prompt" token.
pub fn batch() -> (Tensor, Tensor, Tensor) {
	let dev = Device::Cpu;
	let ids = Tensor::new(&[[1u32, 4, 2, 9, 3], [7, 7, 0, 5, 10]], &dev).unwrap();
	let targets = Tensor::new(&[[4u32, 2, 9, 3, 6], [7, 0, 5, 10, 1]], &dev).unwrap();
	let mask = Tensor::new(&[[1f64, 1., 1., 1., 1.], [0., 1., 1., 1., 1.]], &dev).unwrap();
	(ids, targets, mask)
}

/// Sets every adapter's B to N(0, 0.2) from a fixed seed (in its own dtype and device), so that A's
/// gradients are not trivially zero.
pub fn randomize_lora_b(vars: &[(String, candle_core::Var)]) {
	let mut rng = crate::lora::rng(5);
	for (name, v) in vars {
		if name.ends_with("lora_B.weight") {
			let b = crate::lora::randn(v.dims(), 0.2, &mut rng, v.dtype()).unwrap();
			v.set(&b.to_device(v.device()).unwrap()).unwrap();
		}
	}
}

/// Backprop gradients of every LoRA parameter of an f64 model against central differences of the
/// masked loss, checking every `stride`-th element. B is set random (not zero) first so A's gradients
/// are not trivially zero; this proves the gradient flows through every op of the model.
pub fn lora_gradient_check(m: &mut dyn CausalLm, cfg: &LoraConfig, stride: usize) {
	let attached = m.attach_lora(cfg, 3).unwrap();
	let vars = m.lora_vars();
	assert_eq!(vars.len(), 2 * attached.len());
	randomize_lora_b(&vars);
	let (ids, targets, mask) = batch();
	let loss =
		|m: &dyn CausalLm| masked_loss(&m.forward(&ids, false).unwrap(), &targets, &mask).unwrap();
	let grads = loss(m).backward().unwrap();
	let h = 1e-6;
	let mut checked = 0;
	for (name, v) in &vars {
		let g: Vec<f64> =
			grads.get(v.as_tensor()).expect(name).flatten_all().unwrap().to_vec1().unwrap();
		let x0: Vec<f64> = v.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
		for i in (0..x0.len()).step_by(stride) {
			let at = |d: f64| {
				let mut x = x0.clone();
				x[i] += d;
				v.set(&Tensor::from_vec(x, v.dims(), &Device::Cpu).unwrap()).unwrap();
				loss(m).to_scalar::<f64>().unwrap()
			};
			let num = (at(h) - at(-h)) / (2.0 * h);
			at(0.0);
			assert!(
				(num - g[i]).abs() < 1e-6 * (1.0 + num.abs()),
				"{:?} {name}[{i}]: finite difference {num}, backprop {}",
				m.family(),
				g[i]
			);
			checked += 1;
		}
	}
	assert!(checked > 50, "{checked}");
}

/// Greedy continuation recomputed from scratch at every step (no cache): the reference the cached
/// path is tested against.
pub fn greedy_uncached(model: &dyn CausalLm, prompt: &[u32], n: usize) -> Vec<u32> {
	let mut seq = prompt.to_vec();
	for _ in 0..n {
		let ids = Tensor::new(seq.as_slice(), &Device::Cpu).unwrap().unsqueeze(0).unwrap();
		let logits = model.forward(&ids, false).unwrap();
		let last = logits.narrow(1, seq.len() - 1, 1).unwrap().argmax(D::Minus1).unwrap();
		seq.push(last.flatten_all().unwrap().to_vec1::<u32>().unwrap()[0]);
	}
	seq[prompt.len()..].to_vec()
}

/// This crate's `testdata/`, found at run time: a test binary built in another checkout that shares
/// the target directory must not read that checkout's files (cargo sets the variable when it runs
/// tests).
pub fn testdata() -> std::path::PathBuf {
	std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test"))
		.join("testdata")
}

/// Largest absolute difference of two tensors, as f64.
pub fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
	let d = (a.to_dtype(DType::F64).unwrap() - b.to_dtype(DType::F64).unwrap()).unwrap();
	d.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f64>().unwrap()
}
