//! GPU tests, compiled only with the `cuda` feature: the CUDA paths against the CPU paths on the same
//! inputs, for the NF4 kernel and for every family's logits and LoRA gradients, plain and QLoRA, and a
//! few training steps. They need a CUDA device. Without one they stop with a note, unless
//! `TRIBUTARY_REQUIRE_GPU` is set (as on the GPU machine), where a missing device fails them.

use crate::model::Family;
use crate::nf4::Nf4Tensor;
use crate::ops::masked_loss;
use crate::testutil::{batch, lora, testdata};
use candle_core::{DType, Device, Tensor};

fn gpu() -> Option<Device> {
	match Device::new_cuda(0) {
		Ok(d) => Some(d),
		Err(e) => {
			assert!(std::env::var_os("TRIBUTARY_REQUIRE_GPU").is_none(), "no CUDA device: {e}");
			eprintln!("skipped: no CUDA device ({e})");
			None
		}
	}
}

fn host(t: &Tensor) -> Vec<f64> {
	t.to_device(&Device::Cpu)
		.and_then(|t| t.to_dtype(DType::F64))
		.and_then(|t| t.flatten_all())
		.and_then(|t| t.to_vec1())
		.unwrap()
}

/// Asserts max |a - b| <= tol * (1 + max |b|).
fn close(a: &Tensor, b: &Tensor, tol: f64, what: &str) {
	assert_eq!(a.dims(), b.dims(), "{what}");
	let (a, b) = (host(a), host(b));
	let scale = 1.0 + b.iter().fold(0f64, |m, x| m.max(x.abs()));
	let worst = a.iter().zip(&b).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
	assert!(worst <= tol * scale, "{what}: max difference {worst:e} (scale {scale:e})");
}

#[test]
fn nf4_dequantizes_on_the_gpu_as_on_the_cpu() {
	let Some(dev) = gpu() else { return };
	let mut r = crate::lora::rng(3);
	// An odd element count: the last byte holds one code, and the last block is partial.
	let w = crate::lora::randn(&[301, 131], 0.05, &mut r, DType::F32).unwrap();
	let q = Nf4Tensor::quantize(&w).unwrap();
	let cpu = q.dequantize(DType::F32, &Device::Cpu).unwrap();
	for (dt, tol) in
		[(DType::F32, 1e-6), (DType::F64, 1e-6), (DType::BF16, 8e-3), (DType::F16, 1e-3)]
	{
		let g = q.dequantize(dt, &dev).unwrap();
		assert!(g.device().is_cuda());
		assert_eq!(g.dtype(), dt);
		close(&g, &cpu, tol, &format!("dequantized to {dt:?}"));
	}
	// The packed weight went up once and is reused.
	let again = q.dequantize(DType::F32, &dev).unwrap();
	close(&again, &cpu, 1e-6, "second dequantization");
}

#[test]
fn frozen_and_nf4_matmuls_match_the_cpu_forward_and_backward() {
	let Some(dev) = gpu() else { return };
	let mut r = crate::lora::rng(4);
	let x = crate::lora::randn(&[2, 5, 131], 1.0, &mut r, DType::F32).unwrap();
	let w = crate::lora::randn(&[301, 131], 0.05, &mut r, DType::F32).unwrap();
	let q = std::sync::Arc::new(Nf4Tensor::quantize(&w).unwrap());
	let run = |d: &Device| {
		let xv = candle_core::Var::from_tensor(&x.to_device(d).unwrap()).unwrap();
		let y1 = crate::ops::frozen_linear(xv.as_tensor(), &w.to_device(d).unwrap()).unwrap();
		let y2 = crate::nf4::Nf4Matmul::forward(&q, xv.as_tensor()).unwrap();
		let loss = (y1.sqr().unwrap().sum_all().unwrap() + y2.sum_all().unwrap()).unwrap();
		let g = loss.backward().unwrap().get(xv.as_tensor()).unwrap().clone();
		(y1, y2, g)
	};
	let (a1, a2, ag) = run(&dev);
	let (b1, b2, bg) = run(&Device::Cpu);
	close(&a1, &b1, 1e-5, "frozen_linear forward");
	close(&a2, &b2, 1e-5, "nf4 forward");
	close(&ag, &bg, 1e-5, "input gradient");
}

/// Logits and every LoRA gradient, on the GPU and on the CPU, for one model.
fn logits_and_grads(f: Family, qlora: bool, d: &Device) -> (Tensor, Vec<(String, Tensor)>) {
	let mut m =
		crate::model::load(&testdata().join("reference").join(f.model_type()), DType::F32, d)
			.unwrap();
	if qlora {
		assert!(m.quantize_nf4().unwrap() >= 8);
	}
	let targets = f.all_linear();
	m.attach_lora(&lora(2, &targets.iter().map(String::as_str).collect::<Vec<_>>()), 3).unwrap();
	let vars = m.lora_vars();
	crate::testutil::randomize_lora_b(&vars);
	let (ids, tgt, mask) = batch();
	let (ids, tgt) = (ids.to_device(d).unwrap(), tgt.to_device(d).unwrap());
	let mask = mask.to_dtype(DType::F32).unwrap().to_device(d).unwrap();
	let logits = m.forward(&ids, false).unwrap();
	let grads = masked_loss(&logits, &tgt, &mask).unwrap().backward().unwrap();
	let g = vars.iter().map(|(n, v)| (n.clone(), grads.get(v.as_tensor()).expect(n).clone()));
	(logits, g.collect())
}

#[test]
fn every_family_matches_the_cpu_in_logits_and_lora_gradients_with_and_without_nf4() {
	let Some(dev) = gpu() else { return };
	for f in Family::ALL {
		for qlora in [false, true] {
			let what = format!("{f:?}{}", if qlora { " (QLoRA)" } else { "" });
			let (gl, gg) = logits_and_grads(f, qlora, &dev);
			let (cl, cg) = logits_and_grads(f, qlora, &Device::Cpu);
			close(&gl, &cl, 1e-4, &format!("{what} logits"));
			assert_eq!(gg.len(), cg.len());
			for ((n, a), (_, b)) in gg.iter().zip(&cg) {
				close(a, b, 1e-3, &format!("{what} gradient of {n}"));
			}
		}
	}
}

#[test]
fn training_steps_on_the_gpu_follow_the_cpu() {
	let Some(dev) = gpu() else { return };
	let run = |d: &Device| {
		let root = testdata().join("reference").join(Family::Llama.model_type());
		let mut m = crate::model::load(&root, DType::F32, d).unwrap();
		m.quantize_nf4().unwrap();
		m.attach_lora(&lora(4, &["q_proj", "v_proj"]), 7).unwrap();
		let data: Vec<crate::train::Example> = (0..8u32)
			.map(|i| crate::train::Example {
				ids: (0..12).map(|j| (i * 5 + j * 3) % 32).collect(),
				train_on: vec![true; 12],
			})
			.collect();
		let tc = crate::train::TrainConfig {
			steps: 4,
			batch_size: 2,
			learning_rate: 1e-2,
			..Default::default()
		};
		let mut t = crate::train::Trainer::new(m.as_mut(), &tc).unwrap();
		let mut losses = vec![];
		for _ in 0..4 {
			if let crate::train::Event::Step { loss, .. } = t.step(&data).unwrap() {
				losses.push(loss);
			}
		}
		losses
	};
	let (g, c) = (run(&dev), run(&Device::Cpu));
	assert_eq!(g.len(), 4);
	for (a, b) in g.iter().zip(&c) {
		assert!((a - b).abs() < 1e-3 * (1.0 + b.abs()), "losses {g:?} vs {c:?}");
	}
	assert!(g[3] < g[0], "the loss falls on the GPU: {g:?}");
}
