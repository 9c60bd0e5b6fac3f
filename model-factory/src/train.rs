//! The training loop: AdamW over the LoRA parameters only, gradient accumulation, global-norm
//! clipping, linear warmup then cosine decay, loss masking (prompt tokens carry no loss), eval loss and
//! perplexity, and a stream of progress events.
//!
//! Same model, data, config and seed give the same adapter, bit for bit, on CPU.

use crate::model::CausalLm;
use crate::ops::masked_loss;
use candle_core::{backprop::GradStore, DType, Device, Result, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::time::Instant;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
	pub learning_rate: f64,
	pub warmup_steps: usize,
	/// Optimizer steps in total.
	pub steps: usize,
	pub weight_decay: f64,
	/// Sequences per micro-batch, and micro-batches per optimizer step.
	pub batch_size: usize,
	pub grad_accum: usize,
	/// Clip the global gradient norm to this (0 disables).
	pub max_grad_norm: f64,
	/// Evaluate every this many steps (0: only at the end).
	pub eval_every: usize,
	pub seed: u64,
}

impl Default for TrainConfig {
	fn default() -> Self {
		Self {
			learning_rate: 2e-4,
			warmup_steps: 10,
			steps: 100,
			weight_decay: 0.0,
			batch_size: 4,
			grad_accum: 1,
			max_grad_norm: 1.0,
			eval_every: 0,
			seed: 42,
		}
	}
}

/// One tokenized training sequence: `ids` and, per position, whether its *next-token prediction*
/// counts in the loss (false for prompt tokens and padding).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
	pub ids: Vec<u32>,
	pub train_on: Vec<bool>,
}

/// What the trainer reports after each optimizer step (and each evaluation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Event {
	Step { step: usize, loss: f64, lr: f64, grad_norm: f64, tokens_per_s: f64 },
	Eval { step: usize, loss: f64, perplexity: f64 },
}

/// Learning rate at optimizer step `step` (0-based): linear warmup, then cosine decay to zero.
pub fn lr_at(cfg: &TrainConfig, step: usize) -> f64 {
	if step < cfg.warmup_steps {
		return cfg.learning_rate * (step + 1) as f64 / cfg.warmup_steps as f64;
	}
	let decay = (cfg.steps - cfg.warmup_steps).max(1) as f64;
	let progress = ((step - cfg.warmup_steps) as f64 / decay).min(1.0);
	cfg.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}

/// Pads examples to the longest one and builds (ids, targets, mask) tensors; targets are ids shifted
/// left by one, and the mask is 1 where the prediction counts.
pub fn collate(batch: &[&Example], dev: &Device, dtype: DType) -> Result<(Tensor, Tensor, Tensor)> {
	let t = batch.iter().map(|e| e.ids.len().saturating_sub(1)).max().unwrap_or(0).max(1);
	let (mut ids, mut tgt, mut mask) = (vec![], vec![], vec![]);
	for e in batch {
		for i in 0..t {
			let have = i + 1 < e.ids.len();
			ids.push(if i < e.ids.len() { e.ids[i] } else { 0 });
			tgt.push(if have { e.ids[i + 1] } else { 0 });
			mask.push(if have && e.train_on[i] { 1f32 } else { 0f32 });
		}
	}
	let n = batch.len();
	Ok((
		Tensor::from_vec(ids, (n, t), dev)?,
		Tensor::from_vec(tgt, (n, t), dev)?,
		Tensor::from_vec(mask, (n, t), dev)?.to_dtype(dtype)?,
	))
}

/// Scales the gradients of `vars` in place so their global L2 norm is at most `max`; returns the
/// norm before clipping.
pub fn clip_grad_norm(grads: &mut GradStore, vars: &[Var], max: f64) -> Result<f64> {
	let mut sq = 0f64;
	for v in vars {
		if let Some(g) = grads.get(v.as_tensor()) {
			sq += g.to_dtype(DType::F64)?.sqr()?.sum_all()?.to_scalar::<f64>()?;
		}
	}
	let norm = sq.sqrt();
	if max > 0.0 && norm > max {
		let k = max / (norm + 1e-6);
		for v in vars {
			if let Some(g) = grads.remove(v.as_tensor()) {
				grads.insert(v.as_tensor(), (g * k)?);
			}
		}
	}
	Ok(norm)
}

/// Mean loss over `data` (in batches), without dropout or gradients.
pub fn evaluate(model: &dyn CausalLm, data: &[Example], batch_size: usize) -> Result<f64> {
	let dev = model.device();
	let (mut total, mut count) = (0f64, 0f64);
	for chunk in data.chunks(batch_size.max(1)) {
		let refs: Vec<&Example> = chunk.iter().collect();
		let (ids, tgt, mask) = collate(&refs, &dev, model.dtype())?;
		let n = mask.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
		let loss = masked_loss(&model.forward(&ids, false)?.detach(), &tgt, &mask)?;
		total += loss.to_dtype(DType::F64)?.to_scalar::<f64>()? * n;
		count += n;
	}
	Ok(if count > 0.0 { total / count } else { f64::NAN })
}

/// Trains the model's LoRA parameters on `train`, evaluating on `eval`; calls `on_event` after every
/// step and evaluation. Returns the events.
pub fn train(
	model: &mut dyn CausalLm,
	train: &[Example],
	eval: &[Example],
	cfg: &TrainConfig,
	mut on_event: impl FnMut(&Event),
) -> Result<Vec<Event>> {
	if train.is_empty() {
		candle_core::bail!("no training examples");
	}
	let dev = model.device();
	let vars: Vec<Var> = model.lora_vars().into_iter().map(|(_, v)| v).collect();
	if vars.is_empty() {
		candle_core::bail!("the model has no LoRA adapter to train: attach one first");
	}
	let params =
		ParamsAdamW { lr: lr_at(cfg, 0), weight_decay: cfg.weight_decay, ..Default::default() };
	let mut opt = AdamW::new(vars.clone(), params)?;
	let mut rng = crate::lora::rng(cfg.seed);
	let mut order: Vec<usize> = (0..train.len()).collect();
	let mut cursor = order.len();
	let mut events = Vec::new();
	let mut emit = |e: Event, events: &mut Vec<Event>| {
		on_event(&e);
		events.push(e);
	};
	for step in 0..cfg.steps {
		let started = Instant::now();
		let mut acc: Option<GradStore> = None;
		let (mut loss_sum, mut tokens) = (0f64, 0usize);
		for _ in 0..cfg.grad_accum.max(1) {
			let mut batch = Vec::with_capacity(cfg.batch_size);
			while batch.len() < cfg.batch_size.max(1) {
				if cursor == order.len() {
					order.shuffle(&mut rng);
					cursor = 0;
				}
				batch.push(&train[order[cursor]]);
				cursor += 1;
			}
			let (ids, tgt, mask) = collate(&batch, &dev, model.dtype())?;
			tokens += ids.elem_count();
			let loss = masked_loss(&model.forward(&ids, true)?, &tgt, &mask)?;
			loss_sum += loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
			let scaled = (loss / cfg.grad_accum.max(1) as f64)?;
			let grads = scaled.backward()?;
			acc = Some(match acc {
				None => grads,
				Some(mut a) => {
					for v in &vars {
						if let (Some(g), Some(prev)) =
							(grads.get(v.as_tensor()), a.remove(v.as_tensor()))
						{
							a.insert(v.as_tensor(), (prev + g)?);
						}
					}
					a
				}
			});
		}
		let mut grads = acc.expect("at least one micro-batch");
		let grad_norm = clip_grad_norm(&mut grads, &vars, cfg.max_grad_norm)?;
		let lr = lr_at(cfg, step);
		opt.set_learning_rate(lr);
		opt.step(&grads)?;
		let secs = started.elapsed().as_secs_f64().max(1e-9);
		let loss = loss_sum / cfg.grad_accum.max(1) as f64;
		emit(
			Event::Step { step, loss, lr, grad_norm, tokens_per_s: tokens as f64 / secs },
			&mut events,
		);
		let last = step + 1 == cfg.steps;
		if !eval.is_empty() && (last || (cfg.eval_every > 0 && (step + 1) % cfg.eval_every == 0)) {
			let loss = evaluate(model, eval, cfg.batch_size)?;
			emit(Event::Eval { step, loss, perplexity: loss.exp() }, &mut events);
		}
	}
	Ok(events)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::llama::{random_weights, Llama, LlamaConfig};
	use crate::lora::LoraConfig;

	fn model(seed: u64) -> Llama {
		model_q(seed, false)
	}

	/// The test model, with its block linears in NF4 when `nf4` (QLoRA).
	fn model_q(seed: u64, nf4: bool) -> Llama {
		let cfg: LlamaConfig = serde_json::from_value(serde_json::json!({
			"vocab_size": 16, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
			"num_attention_heads": 4, "num_key_value_heads": 2,
		}))
		.unwrap();
		let mut m = Llama::from_tensors(
			cfg.clone(),
			random_weights(&cfg, seed, DType::F32).unwrap(),
			DType::F32,
		)
		.unwrap();
		let lora = LoraConfig {
			r: 4,
			lora_alpha: 8.0,
			lora_dropout: 0.0,
			use_rslora: false,
			target_modules: ["q_proj", "v_proj", "o_proj", "up_proj", "down_proj"]
				.map(String::from)
				.to_vec(),
		};
		if nf4 {
			m.quantize_nf4().unwrap();
		}
		m.attach_lora(&lora, seed).unwrap();
		m
	}

	/// Counting sequences mod 16: a pattern a small adapter can learn. The first two tokens are a
	/// "prompt" and carry no loss.
	fn data(n: usize, offset: u32) -> Vec<Example> {
		(0..n as u32)
			.map(|s| {
				let ids: Vec<u32> = (0..12).map(|i| (s * 3 + offset + i) % 16).collect();
				let train_on = (0..12).map(|i| i >= 2).collect();
				Example { ids, train_on }
			})
			.collect()
	}

	#[test]
	fn the_schedule_warms_up_then_decays_to_zero() {
		let cfg =
			TrainConfig { learning_rate: 1.0, warmup_steps: 4, steps: 14, ..Default::default() };
		assert_eq!(lr_at(&cfg, 0), 0.25);
		assert_eq!(lr_at(&cfg, 3), 1.0);
		assert_eq!(lr_at(&cfg, 4), 1.0);
		assert!((lr_at(&cfg, 9) - 0.5).abs() < 1e-12);
		assert!(lr_at(&cfg, 13) < 0.03);
	}

	#[test]
	fn prompt_tokens_and_padding_carry_no_loss() {
		let a = Example { ids: vec![1, 2, 3, 4], train_on: vec![false, true, true, true] };
		let b = Example { ids: vec![5, 6], train_on: vec![true, true] };
		let (ids, tgt, mask) = collate(&[&a, &b], &Device::Cpu, DType::F32).unwrap();
		assert_eq!(ids.to_vec2::<u32>().unwrap(), vec![vec![1, 2, 3], vec![5, 6, 0]]);
		assert_eq!(tgt.to_vec2::<u32>().unwrap(), vec![vec![2, 3, 4], vec![6, 0, 0]]);
		assert_eq!(mask.to_vec2::<f32>().unwrap(), vec![vec![0., 1., 1.], vec![1., 0., 0.]]);
	}

	#[test]
	fn clipping_bounds_the_global_norm() {
		let mut m = model(1);
		let vars: Vec<Var> = m.lora_vars().into_iter().map(|(_, v)| v).collect();
		let ex = data(2, 0);
		let (ids, tgt, mask) = collate(&[&ex[0], &ex[1]], &Device::Cpu, DType::F32).unwrap();
		let mut grads =
			masked_loss(&m.forward(&ids, false).unwrap(), &tgt, &mask).unwrap().backward().unwrap();
		let before = clip_grad_norm(&mut grads, &vars, 1e-3).unwrap();
		assert!(before > 1e-3);
		let after = clip_grad_norm(&mut grads, &vars, 0.0).unwrap();
		assert!((after - 1e-3).abs() < 1e-5, "{after}");
	}

	#[test]
	fn training_lowers_eval_loss_and_is_deterministic() {
		let cfg = TrainConfig {
			learning_rate: 1e-2,
			warmup_steps: 3,
			steps: 25,
			batch_size: 4,
			grad_accum: 2,
			eval_every: 25,
			..Default::default()
		};
		let (tr, ev) = (data(24, 0), data(6, 100));
		let mut m = model(3);
		let before = evaluate(&m, &ev, 4).unwrap();
		let mut seen = 0;
		let events = train(&mut m, &tr, &ev, &cfg, |_| seen += 1).unwrap();
		assert_eq!(seen, events.len());
		let Some(Event::Eval { loss: after, perplexity, .. }) = events.last().cloned() else {
			panic!()
		};
		assert!(after < before * 0.7, "eval loss {before} -> {after}");
		assert!((perplexity - after.exp()).abs() < 1e-9);
		assert!(events.iter().all(|e| !matches!(e, Event::Step { loss, .. } if !loss.is_finite())));
		// Same seed, same adapter, bit for bit.
		let mut again = model(3);
		train(&mut again, &tr, &ev, &cfg, |_| {}).unwrap();
		for ((n, a), (_, b)) in m.lora_vars().iter().zip(again.lora_vars().iter()) {
			let a: Vec<f32> = a.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
			let b: Vec<f32> = b.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
			assert_eq!(a, b, "{n}");
		}
		// The base weights are frozen: with the trained B zeroed, the model is the untrained one.
		for (n, v) in m.lora_vars() {
			if n.ends_with("lora_B.weight") {
				v.set(&v.as_tensor().zeros_like().unwrap()).unwrap();
			}
		}
		let ids = Tensor::new(&[[1u32, 2, 3, 4]], &Device::Cpu).unwrap();
		let (x, y) = (m.forward(&ids, false).unwrap(), model(3).forward(&ids, false).unwrap());
		let d = (x - y).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
		assert_eq!(d, 0.0);
	}

	/// QLoRA learns like LoRA: on the same data and seed, with the base in NF4, the eval loss falls as
	/// far (within a margin for the quantized base).
	#[test]
	fn qlora_training_lowers_the_loss_like_lora() {
		let cfg = TrainConfig {
			learning_rate: 1e-2,
			warmup_steps: 3,
			steps: 25,
			batch_size: 4,
			..Default::default()
		};
		let (tr, ev) = (data(24, 0), data(6, 100));
		let mut results = vec![];
		for nf4 in [false, true] {
			let mut m = model_q(3, nf4);
			let before = evaluate(&m, &ev, 4).unwrap();
			let events = train(&mut m, &tr, &ev, &cfg, |_| {}).unwrap();
			let Some(Event::Eval { loss: after, .. }) = events.last().cloned() else { panic!() };
			results.push((before, after));
		}
		let ((lb, la), (qb, qa)) = (results[0], results[1]);
		assert!(la < lb * 0.7 && qa < qb * 0.7, "LoRA {lb} -> {la}, QLoRA {qb} -> {qa}");
		assert!((qa - la).abs() < 0.05 * lb, "LoRA ends at {la}, QLoRA at {qa}");
	}
}
