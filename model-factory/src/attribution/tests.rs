use super::*;
use crate::llama::{random_weights, Llama, LlamaConfig};
use crate::model::CausalLm;
use crate::testutil::{lora, randomize_lora_b};
use crate::train::{collate, Example, TrainConfig, Trainer};
use candle_core::{DType, Device, Tensor};

fn tiny(dtype: DType, seed: u64) -> Llama {
	let cfg: LlamaConfig = serde_json::from_value(serde_json::json!({
		"vocab_size": 16, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2,
	}))
	.unwrap();
	let mut m = Llama::from_tensors(cfg.clone(), random_weights(&cfg, seed, dtype).unwrap(), dtype)
		.unwrap();
	m.attach_lora(&lora(4, &["q_proj", "v_proj", "down_proj"]), seed).unwrap();
	m
}

/// Three examples of different lengths; the second has an uncounted prompt token.
fn examples() -> Vec<Example> {
	vec![
		Example { ids: vec![1, 4, 2, 9, 3, 6], train_on: vec![true; 6] },
		Example { ids: vec![7, 7, 0, 5], train_on: vec![false, true, true, true] },
		Example { ids: vec![3, 8, 8, 1, 12], train_on: vec![true; 5] },
	]
}

/// The summed token loss of `batch` (not the mean: per-example gradients then add up to it).
fn summed_loss(m: &dyn CausalLm, batch: &[&Example]) -> Tensor {
	let (ids, tgt, mask) = collate(batch, &Device::Cpu, m.dtype()).unwrap();
	let n = mask.sum_all().unwrap().to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap();
	(m.loss(&ids, &tgt, &mask, false).unwrap() * n).unwrap()
}

/// One example's gradients laid out as features are: per layer, ∂B then ∂A, flattened.
fn gradient_row(m: &mut Llama, e: &Example) -> Vec<f64> {
	let grads = summed_loss(m, &[e]).backward().unwrap();
	tap::clear(m);
	let vars = m.lora_vars();
	let mut row = vec![];
	for pair in vars.chunks(2) {
		for v in [&pair[1].1, &pair[0].1] {
			let g = grads.get(v.as_tensor()).unwrap();
			row.extend(g.flatten_all().unwrap().to_vec1::<f64>().unwrap());
		}
	}
	row
}

#[test]
fn one_backward_pass_gives_each_examples_exact_gradient() {
	let mut m = tiny(DType::F64, 1);
	randomize_lora_b(&m.lora_vars());
	let widths = tap::arm(&mut m, 0, 9).unwrap();
	let data = examples();
	let refs: Vec<&Example> = data.iter().collect();
	let grads = summed_loss(&m, &refs).backward().unwrap();
	let rows: Vec<Vec<f32>> = tap::collect(&mut m, &grads, 1.0).unwrap().to_vec2().unwrap();
	assert_eq!(rows.len(), 3);
	assert_eq!(rows[0].len(), widths.iter().sum::<usize>());
	for (e, row) in data.iter().zip(&rows) {
		let want = gradient_row(&mut m, e);
		let scale = want.iter().map(|v| v.abs()).fold(0.0, f64::max);
		assert!(scale > 1e-3, "gradients are not trivially zero");
		for (got, want) in row.iter().zip(&want) {
			// Features are stored in f32.
			assert!(
				(*got as f64 - want).abs() <= 1e-6 * scale + 1e-6 * want.abs(),
				"{got} vs {want}"
			);
		}
	}
}

#[test]
fn projected_features_are_the_projected_gradients() {
	let mut exact = tiny(DType::F32, 2);
	randomize_lora_b(&exact.lora_vars());
	let mut projected = tiny(DType::F32, 2);
	randomize_lora_b(&projected.lora_vars());
	tap::arm(&mut exact, 0, 4).unwrap();
	let widths = tap::arm(&mut projected, 3, 4).unwrap();
	let data = examples();
	let refs: Vec<&Example> = data.iter().collect();
	let run = |m: &mut Llama| -> Vec<Vec<f32>> {
		let grads = summed_loss(m, &refs).backward().unwrap();
		tap::collect(m, &grads, 1.0).unwrap().to_vec2().unwrap()
	};
	let (full, small) = (run(&mut exact), run(&mut projected));
	// q_proj (16 -> 16), v_proj (16 -> 8), down_proj (32 -> 16), r = 4: every side is wider than 3.
	assert_eq!(widths, vec![24; 6]);
	// Rebuild each block from the exact gradient and the layer's own projections.
	let dims = [(16, 16), (8, 16), (16, 32)];
	let mut at_full = 0;
	let mut at_small = 0;
	for (i, (_, lin)) in
		projected.linears_mut().into_iter().filter(|(_, l)| l.lora.is_some()).enumerate()
	{
		let (out_f, in_f) = dims[i % 3];
		let guard = lin.lora.as_ref().unwrap().tap.lock().unwrap();
		let t = guard.as_ref().unwrap();
		let (p_out, p_in) = (t.proj_out.clone().unwrap(), t.proj_in.clone().unwrap());
		for (e, row) in full.iter().enumerate() {
			let gb =
				Tensor::from_slice(&row[at_full..at_full + out_f * 4], (out_f, 4), &Device::Cpu)
					.unwrap();
			let ga = Tensor::from_slice(
				&row[at_full + out_f * 4..at_full + out_f * 4 + 4 * in_f],
				(4, in_f),
				&Device::Cpu,
			)
			.unwrap();
			let want_b: Vec<f32> =
				p_out.matmul(&gb).unwrap().flatten_all().unwrap().to_vec1().unwrap();
			let want_a: Vec<f32> =
				ga.matmul(&p_in.t().unwrap()).unwrap().flatten_all().unwrap().to_vec1().unwrap();
			let got = &small[e][at_small..at_small + 24];
			for (g, w) in got.iter().zip(want_b.iter().chain(&want_a)) {
				assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "layer {i}: {g} vs {w}");
			}
		}
		at_full += out_f * 4 + 4 * in_f;
		at_small += 24;
	}
}

#[test]
fn projecting_a_full_gradient_gives_the_taps_features() {
	// The optimizer-aware targets are projected from full gradients: that must land exactly
	// where the taps put an example's features, layer by layer, side by side.
	let mut m = tiny(DType::F32, 3);
	randomize_lora_b(&m.lora_vars());
	tap::arm(&mut m, 3, 5).unwrap();
	let e = &examples()[0];
	let grads = summed_loss(&m, &[e]).backward().unwrap();
	let feats: Vec<Vec<f32>> = tap::collect(&mut m, &grads, 1.0).unwrap().to_vec2().unwrap();
	let params = tap::lora_params(&mut m);
	let full = tap::lora_gradient(&params, &grads).unwrap();
	let got = tap::project(&mut m, &full, None).unwrap();
	assert_eq!(got.len(), feats[0].len());
	let scale = got.iter().map(|v| v.abs()).fold(0.0, f64::max);
	assert!(scale > 1e-3);
	for (g, w) in got.iter().zip(&feats[0]) {
		assert!((g - *w as f64).abs() <= 1e-5 * scale, "{g} vs {w}");
	}
	// Scaling is per coordinate, before the projection: doubling every factor doubles the features.
	let twice = tap::project(&mut m, &full, Some(&vec![2.0; full.len()])).unwrap();
	assert!(twice.iter().zip(&got).all(|(a, b)| (a - 2.0 * b).abs() <= 1e-9 * scale));
	// A gradient of the wrong size is refused.
	assert!(tap::project(&mut m, &full[1..], None).is_err());
}

fn train_cfg() -> TrainConfig {
	TrainConfig {
		learning_rate: 5e-2,
		warmup_steps: 1,
		steps: 6,
		batch_size: 2,
		grad_accum: 2,
		max_grad_norm: 1.0,
		seed: 3,
		..Default::default()
	}
}

fn counting(n: usize) -> Vec<Example> {
	(0..n as u32)
		.map(|s| {
			let ids: Vec<u32> = (0..10).map(|i| (s * 5 + i * (1 + s % 3)) % 16).collect();
			Example { train_on: vec![true; ids.len()], ids }
		})
		.collect()
}

fn adapter_values(m: &mut Llama) -> Vec<Vec<f32>> {
	m.lora_vars()
		.iter()
		.map(|(_, v)| v.as_tensor().flatten_all().unwrap().to_vec1().unwrap())
		.collect()
}

#[test]
fn recording_attribution_leaves_training_bit_for_bit_the_same() {
	let data = counting(8);
	let mut plain = tiny(DType::F32, 4);
	let mut t = Trainer::new(&mut plain, &train_cfg()).unwrap();
	while !t.finished() {
		t.step(&data).unwrap();
	}
	drop(t);
	let mut recorded = tiny(DType::F32, 4);
	let mut t = Trainer::new(&mut recorded, &train_cfg()).unwrap();
	let target = Target { name: "eval".into(), examples: counting(10)[8..].to_vec() };
	t.attribute(AttributionConfig::default(), vec![target], data.len()).unwrap();
	while !t.finished() {
		t.step(&data).unwrap();
	}
	let table = t.finish_attribution().unwrap().unwrap();
	drop(t);
	assert_eq!(adapter_values(&mut plain), adapter_values(&mut recorded));
	assert_eq!(table.scores.len(), 8);
	assert!(table.scores.iter().all(|s| s[0].is_finite() && s[0] != 0.0));
	assert!(table.self_influence.iter().all(|s| *s > 0.0));
}

#[test]
fn evaluating_during_a_recorded_run_changes_nothing_recorded() {
	// The eval forward passes go through the armed taps too; they have no backward, and must
	// not be taken for the next step's examples.
	let data = counting(8);
	let held_out = counting(10)[8..].to_vec();
	let run = |eval_between: bool| {
		let mut m = tiny(DType::F32, 4);
		let mut t = Trainer::new(&mut m, &train_cfg()).unwrap();
		let target = Target { name: "eval".into(), examples: held_out.clone() };
		t.attribute(AttributionConfig::default(), vec![target], data.len()).unwrap();
		while !t.finished() {
			t.step(&data).unwrap();
			if eval_between {
				t.evaluate(&held_out).unwrap();
			}
		}
		t.finish_attribution().unwrap().unwrap()
	};
	assert_eq!(run(true), run(false));
}

#[test]
fn one_step_scores_add_up_to_the_first_order_change_of_the_target_loss() {
	// One step, exact features, no preconditioner: Σ_e score(e) = lr · clip · ⟨g_step, ∇L_target⟩.
	let data = counting(4);
	let cfg = TrainConfig { steps: 1, grad_accum: 2, batch_size: 2, ..train_cfg() };
	let target = counting(6)[4..].to_vec();
	let mut m = tiny(DType::F32, 5);
	randomize_lora_b(&m.lora_vars());
	// The step's gradient and the target's, computed plainly.
	let vars = m.lora_vars();
	let flat = |grads: &candle_core::backprop::GradStore| -> Vec<f64> {
		vars.iter()
			.flat_map(|(_, v)| {
				grads
					.get(v.as_tensor())
					.unwrap()
					.flatten_all()
					.unwrap()
					.to_dtype(DType::F64)
					.unwrap()
					.to_vec1::<f64>()
					.unwrap()
			})
			.collect()
	};
	let all: Vec<&Example> = data.iter().collect();
	let tokens = |b: &[&Example]| b.iter().map(|e| e.ids.len() - 1).sum::<usize>() as f64;
	let g_step = flat(&(summed_loss(&m, &all) / tokens(&all)).unwrap().backward().unwrap());
	let trefs: Vec<&Example> = target.iter().collect();
	let g_target = flat(&(summed_loss(&m, &trefs) / tokens(&trefs)).unwrap().backward().unwrap());
	let norm = g_step.iter().map(|v| v * v).sum::<f64>().sqrt();
	let clip = if norm > cfg.max_grad_norm { cfg.max_grad_norm / (norm + 1e-6) } else { 1.0 };
	let lr = crate::train::lr_at(&cfg, 0);
	let sgd = lr * clip * g_step.iter().zip(&g_target).map(|(a, b)| a * b).sum::<f64>();
	// Optimizer-aware: AdamW's first step scales each clipped coordinate by 1/(|clip g| + ε)
	// (v̂ = (clip g)² after one step), so the scores add up to the first-order change its
	// actual update makes, lr Σ sign(g) ∇L_target.
	let adam = lr
		* g_step
			.iter()
			.zip(&g_target)
			.map(|(a, b)| clip * a * b / ((clip * a).abs() + 1e-8))
			.sum::<f64>();
	assert!((sgd - adam).abs() > 0.1 * sgd.abs(), "the two formulas differ here");

	for (optimizer_aware, want) in [(false, sgd), (true, adam)] {
		let mut m = tiny(DType::F32, 5);
		randomize_lora_b(&m.lora_vars());
		let mut t = Trainer::new(&mut m, &cfg).unwrap();
		let acfg = AttributionConfig {
			projection: 0,
			checkpoints: 1,
			damping: None,
			seed: 0,
			optimizer_aware,
		};
		let target = Target { name: "t".into(), examples: target.clone() };
		t.attribute(acfg, vec![target], data.len()).unwrap();
		t.step(&data).unwrap();
		let table = t.finish_attribution().unwrap().unwrap();
		let got: f64 = (0..4).map(|e| table.score(e)).sum();
		assert!(want.abs() > 1e-6);
		assert!((got - want).abs() <= 1e-4 * want.abs(), "{optimizer_aware}: {got} vs {want}");
	}
}

#[test]
fn a_target_that_repeats_a_training_example_ranks_that_example_first() {
	let data = counting(12);
	let cfg = TrainConfig { steps: 12, grad_accum: 1, ..train_cfg() };
	for (planted, damping) in [(5usize, None), (9, Some(0.1))] {
		let mut m = tiny(DType::F32, 6);
		let mut t = Trainer::new(&mut m, &cfg).unwrap();
		let target = Target { name: "copy".into(), examples: vec![data[planted].clone()] };
		let acfg = AttributionConfig {
			projection: 8,
			checkpoints: 3,
			damping,
			seed: 1,
			optimizer_aware: false,
		};
		t.attribute(acfg, vec![target], data.len()).unwrap();
		while !t.finished() {
			t.step(&data).unwrap();
		}
		let table = t.finish_attribution().unwrap().unwrap();
		let best =
			(0..data.len()).max_by(|&a, &b| table.score(a).total_cmp(&table.score(b))).unwrap();
		assert_eq!(best, planted, "damping {damping:?}: {:?}", table.scores);
	}
}
