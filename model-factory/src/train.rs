//! The training loop: AdamW over the LoRA parameters only, gradient accumulation, global-norm
//! clipping, linear warmup then cosine decay, loss masking (prompt tokens carry no loss), eval loss and
//! perplexity, and a stream of progress events.
//!
//! Same model, data, config and seed give the same adapter, bit for bit, on CPU.

use crate::attribution::{AttributionConfig, Recorder, Table, Target};
use crate::lora::LoraConfig;
use crate::model::CausalLm;
use crate::optim::{AdamW, AdamWParams};
use candle_core::{backprop::GradStore, DType, Device, Result, Tensor, Var};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::path::Path;
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

/// The factor [`clip_grad_norm`] scales gradients of norm `norm` by.
fn clip_factor(norm: f64, max: f64) -> f64 {
	if max > 0.0 && norm > max {
		max / (norm + 1e-6)
	} else {
		1.0
	}
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
		let k = clip_factor(norm, max);
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
		let loss = model.eval_loss(&ids, &tgt, &mask)?;
		total += loss.to_dtype(DType::F64)?.to_scalar::<f64>()? * n;
		count += n;
	}
	Ok(if count > 0.0 { total / count } else { f64::NAN })
}

/// Where a run stands: optimizer steps done, and the position in the shuffled data.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Position {
	pub step: usize,
	pub epoch: usize,
	pub cursor: usize,
}

/// The order examples are visited in during `epoch`: a shuffle seeded by the run's seed and the
/// epoch, so a resumed run sees the same batches as an uninterrupted one.
fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
	let mut order: Vec<usize> = (0..n).collect();
	let mut rng = crate::lora::rng(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
	order.shuffle(&mut rng);
	order
}

/// A training run over the model's LoRA parameters, one optimizer step at a time, that can be saved
/// and resumed exactly.
pub struct Trainer<'m> {
	model: &'m mut dyn CausalLm,
	cfg: TrainConfig,
	vars: Vec<Var>,
	opt: AdamW,
	pos: Position,
	attribution: Option<Recorder>,
}

const STATE: &str = "trainer_state.json";
const OPTIMIZER: &str = "optimizer.safetensors";

impl<'m> Trainer<'m> {
	pub fn new(model: &'m mut dyn CausalLm, cfg: &TrainConfig) -> Result<Self> {
		let named = model.lora_vars();
		if named.is_empty() {
			candle_core::bail!("the model has no LoRA adapter to train: attach one first");
		}
		let vars = named.iter().map(|(_, v)| v.clone()).collect();
		let params =
			AdamWParams { lr: lr_at(cfg, 0), weight_decay: cfg.weight_decay, ..Default::default() };
		let opt = AdamW::new(named, params)?;
		let mut me = Self {
			model,
			cfg: cfg.clone(),
			vars,
			opt,
			pos: Position::default(),
			attribution: None,
		};
		me.seed_dropout(0);
		Ok(me)
	}

	/// Gives every adapter its dropout stream from the run's seed, `passes` forward passes in.
	fn seed_dropout(&mut self, passes: u64) {
		for (i, (_, l)) in self.model.linears_mut().into_iter().enumerate() {
			l.set_dropout_stream(
				self.cfg.seed ^ (i as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03),
				passes,
			);
		}
	}

	pub fn position(&self) -> Position {
		self.pos
	}

	pub fn finished(&self) -> bool {
		self.pos.step >= self.cfg.steps
	}

	pub fn model(&self) -> &dyn CausalLm {
		&*self.model
	}

	/// Records attribution from here on (see [`crate::attribution::recorder`]): `n_train` is the
	/// size of the training split the steps take from. Only from the first step: a run resumed
	/// midway has lost the steps before.
	pub fn attribute(
		&mut self,
		cfg: AttributionConfig,
		targets: Vec<Target>,
		n_train: usize,
	) -> Result<()> {
		if self.pos.step > 0 {
			candle_core::bail!("attribution must record a run from its first step");
		}
		let batch = self.cfg.batch_size;
		let r = Recorder::new(&mut *self.model, cfg, targets, n_train, self.cfg.steps, batch)?;
		self.attribution = Some(r);
		Ok(())
	}

	/// [`Self::attribute`] for a run resumed from the checkpoint in `dir`: from the first step a
	/// fresh recording, later the recording the checkpoint saved (an error if it has none).
	pub fn resume_attribution(
		&mut self,
		cfg: AttributionConfig,
		targets: Vec<Target>,
		n_train: usize,
		dir: &Path,
	) -> Result<()> {
		if self.pos.step == 0 {
			return self.attribute(cfg, targets, n_train);
		}
		let (steps, batch) = (self.cfg.steps, self.cfg.batch_size);
		let r = Recorder::resume(&mut *self.model, cfg, targets, n_train, steps, batch, dir)?;
		self.attribution = Some(r);
		Ok(())
	}

	/// The attribution table of the run so far (taps come off; recording stops); `None` when
	/// the run records none.
	pub fn finish_attribution(&mut self) -> Result<Option<Table>> {
		let Some(r) = self.attribution.take() else { return Ok(None) };
		r.finish(&mut *self.model, &self.opt).map(Some)
	}

	/// One optimizer step (`grad_accum` micro-batches of `batch_size` examples). The step's loss
	/// is the mean over every token that carries loss in all its micro-batches (each micro-batch's
	/// mean is weighted by its share of the tokens, not averaged with the others).
	pub fn step(&mut self, data: &[Example]) -> Result<Event> {
		if data.is_empty() {
			candle_core::bail!("no training examples");
		}
		let cfg = self.cfg.clone();
		let dev = self.model.device();
		let started = Instant::now();
		if let Some(r) = self.attribution.as_mut() {
			r.before_step(&mut *self.model, self.pos.step, &self.opt)?;
		}
		let mut order = epoch_order(data.len(), cfg.seed, self.pos.epoch);
		let mut micro = Vec::with_capacity(cfg.grad_accum.max(1));
		let mut tokens = 0usize;
		for _ in 0..cfg.grad_accum.max(1) {
			let mut picked = Vec::with_capacity(cfg.batch_size);
			while picked.len() < cfg.batch_size.max(1) {
				if self.pos.cursor >= data.len() {
					self.pos.epoch += 1;
					self.pos.cursor = 0;
					order = epoch_order(data.len(), cfg.seed, self.pos.epoch);
				}
				picked.push(order[self.pos.cursor]);
				self.pos.cursor += 1;
			}
			let batch: Vec<&Example> = picked.iter().map(|&i| &data[i]).collect();
			tokens += batch.iter().map(|e| e.ids.len()).sum::<usize>();
			let (ids, tgt, mask) = collate(&batch, &dev, self.model.dtype())?;
			let n = mask.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
			micro.push((picked, ids, tgt, mask, n));
		}
		let all: f64 = micro.iter().map(|m| m.4).sum();
		let mut acc: Option<GradStore> = None;
		let mut loss_sum = 0f64;
		let mut features = Vec::new();
		for (picked, ids, tgt, mask, n) in micro {
			let share = if all > 0.0 { n / all } else { 0.0 };
			let loss = (self.model.loss(&ids, &tgt, &mask, true)? * share)?;
			loss_sum += loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
			let grads = loss.backward()?;
			if self.attribution.is_some() {
				features.push((
					picked,
					crate::attribution::tap::collect(&mut *self.model, &grads, 1.0)?,
				));
			}
			acc = Some(match acc {
				None => grads,
				Some(mut a) => {
					for v in &self.vars {
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
		let grad_norm = clip_grad_norm(&mut grads, &self.vars, cfg.max_grad_norm)?;
		let step = self.pos.step;
		let lr = lr_at(&cfg, step);
		if let Some(r) = self.attribution.as_mut() {
			let clip = clip_factor(grad_norm, cfg.max_grad_norm);
			for (picked, f) in &features {
				r.add_step(picked, f, lr * clip)?;
			}
		}
		self.opt.set_lr(lr);
		self.opt.step(&grads)?;
		self.pos.step += 1;
		let secs = started.elapsed().as_secs_f64().max(1e-9);
		Ok(Event::Step { step, loss: loss_sum, lr, grad_norm, tokens_per_s: tokens as f64 / secs })
	}

	/// Whether the step just taken is one to evaluate after.
	pub fn eval_due(&self) -> bool {
		let s = self.pos.step;
		s == self.cfg.steps || (self.cfg.eval_every > 0 && s.is_multiple_of(self.cfg.eval_every))
	}

	/// Eval loss and perplexity on `data` now.
	pub fn evaluate(&mut self, data: &[Example]) -> Result<Event> {
		let loss = evaluate(&*self.model, data, self.cfg.batch_size)?;
		if self.attribution.is_some() {
			// The armed taps recorded these forward passes; they have no backward.
			crate::attribution::tap::clear(&mut *self.model);
		}
		Ok(Event::Eval { step: self.pos.step.saturating_sub(1), loss, perplexity: loss.exp() })
	}

	/// Writes a checkpoint into `dir`: the adapter in PEFT's layout (usable as is), the optimizer's
	/// moments and the run's position. Files are written under temporary names and renamed, so an
	/// interrupted save leaves the previous checkpoint intact.
	pub fn save(&mut self, dir: &Path, lora: &LoraConfig, base_model: &str) -> Result<()> {
		let err = |e: &dyn std::fmt::Display| {
			candle_core::Error::Msg(format!("checkpoint {}: {e}", dir.display()))
		};
		let tmp = dir.with_extension("partial");
		let _ = std::fs::remove_dir_all(&tmp);
		std::fs::create_dir_all(&tmp).map_err(|e| err(&e))?;
		let family = self.model.family();
		crate::adapter::save(&tmp, lora, base_model, family, &self.model.lora_vars())
			.map_err(|e| err(&e))?;
		candle_core::safetensors::save(&self.opt.state_tensors(), tmp.join(OPTIMIZER))?;
		if let Some(r) = &self.attribution {
			r.save(&tmp)?;
		}
		let state = serde_json::json!({ "position": self.pos, "optimizer_steps": self.opt.t, "config": self.cfg });
		std::fs::write(tmp.join(STATE), serde_json::to_vec_pretty(&state).expect("json"))
			.map_err(|e| err(&e))?;
		let _ = std::fs::remove_dir_all(dir);
		std::fs::rename(&tmp, dir).map_err(|e| err(&e))
	}

	/// Continues the run saved in `dir`. The model must carry an adapter of the saved configuration
	/// (see [`crate::adapter::load_config`]); its values, the optimizer's moments and the position
	/// are restored. `cfg` may differ from the saved one only in `steps` and `eval_every` (to extend
	/// a run); anything else would change the run and is refused.
	pub fn resume(model: &'m mut dyn CausalLm, cfg: &TrainConfig, dir: &Path) -> Result<Self> {
		let err = |e: &dyn std::fmt::Display| {
			candle_core::Error::Msg(format!("checkpoint {}: {e}", dir.display()))
		};
		let raw = std::fs::read(dir.join(STATE)).map_err(|e| err(&e))?;
		let state: serde_json::Value = serde_json::from_slice(&raw).map_err(|e| err(&e))?;
		let saved: TrainConfig =
			serde_json::from_value(state["config"].clone()).map_err(|e| err(&e))?;
		let comparable = |c: &TrainConfig| TrainConfig { steps: 0, eval_every: 0, ..c.clone() };
		if comparable(&saved) != comparable(cfg) {
			return Err(err(&format!(
				"was trained with {saved:?}; only steps and eval_every may change on resume"
			)));
		}
		let pos: Position =
			serde_json::from_value(state["position"].clone()).map_err(|e| err(&e))?;
		let t = state["optimizer_steps"].as_u64().ok_or_else(|| err(&"optimizer_steps missing"))?
			as usize;
		let lora = crate::adapter::load_config(dir).map_err(|e| err(&e))?;
		crate::adapter::load_into(dir, &lora, &model.lora_vars()).map_err(|e| err(&e))?;
		let dev = model.device();
		let mut me = Self::new(model, cfg)?;
		let moments = candle_core::safetensors::load(dir.join(OPTIMIZER), &dev)?;
		me.opt.load_state(t, &moments, &dev)?;
		me.pos = pos;
		me.seed_dropout((pos.step * cfg.grad_accum.max(1)) as u64);
		Ok(me)
	}
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
	let mut t = Trainer::new(model, cfg)?;
	let mut events = Vec::new();
	while !t.finished() {
		let e = t.step(train)?;
		on_event(&e);
		events.push(e);
		if !eval.is_empty() && t.eval_due() {
			let e = t.evaluate(eval)?;
			on_event(&e);
			events.push(e);
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
		model_with(seed, seed, nf4)
	}

	/// Base weights from `seed`, adapter initialised from `adapter_seed`.
	fn model_with(seed: u64, adapter_seed: u64, nf4: bool) -> Llama {
		model_dropout(seed, adapter_seed, nf4, 0.0)
	}

	fn model_dropout(seed: u64, adapter_seed: u64, nf4: bool, dropout: f64) -> Llama {
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
			lora_dropout: dropout,
			use_rslora: false,
			target_modules: ["q_proj", "v_proj", "o_proj", "up_proj", "down_proj"]
				.map(String::from)
				.to_vec(),
		};
		if nf4 {
			m.quantize_nf4().unwrap();
		}
		m.attach_lora(&lora, adapter_seed).unwrap();
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
	fn accumulated_micro_batches_weigh_every_token_alike() {
		// Short and long examples: two micro-batches of two give the same loss and gradient as
		// one batch of four (a mean of the micro-batches' means would weigh a short example's
		// tokens more).
		let data: Vec<Example> = (0..4u32)
			.map(|s| {
				let len = if s % 2 == 0 { 3 } else { 12 };
				let ids: Vec<u32> = (0..len).map(|i| (s * 5 + i) % 16).collect();
				Example { train_on: vec![true; ids.len()], ids }
			})
			.collect();
		let run = |batch_size, grad_accum| {
			let cfg = TrainConfig { steps: 1, batch_size, grad_accum, ..Default::default() };
			let mut m = model(7);
			crate::testutil::randomize_lora_b(&m.lora_vars());
			let mut t = Trainer::new(&mut m, &cfg).unwrap();
			match t.step(&data).unwrap() {
				Event::Step { loss, grad_norm, .. } => (loss, grad_norm),
				e => panic!("{e:?}"),
			}
		};
		let (whole, split) = (run(4, 1), run(2, 2));
		assert!((whole.0 - split.0).abs() < 1e-6 * whole.0, "{whole:?} vs {split:?}");
		assert!((whole.1 - split.1).abs() < 1e-5 * whole.1, "{whole:?} vs {split:?}");
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
		let mut grads = crate::ops::masked_loss(&m.forward(&ids, false).unwrap(), &tgt, &mask)
			.unwrap()
			.backward()
			.unwrap();
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

	/// Stopping after 4 of 9 steps, saving, and resuming in a fresh model gives the same adapter, bit
	/// for bit, as running all 9 (LoRA dropout on, so its masks must line up too); a resume with a
	/// different learning rate is refused.
	#[test]
	fn a_resumed_run_equals_an_uninterrupted_one() {
		let cfg = TrainConfig {
			learning_rate: 1e-2,
			warmup_steps: 2,
			steps: 9,
			batch_size: 5, // 24 examples: epochs end mid-batch
			grad_accum: 2,
			weight_decay: 0.01,
			..Default::default()
		};
		let tr = data(24, 0);
		let lora = LoraConfig {
			r: 4,
			lora_alpha: 8.0,
			lora_dropout: 0.2,
			use_rslora: false,
			target_modules: ["q_proj", "v_proj", "o_proj", "up_proj", "down_proj"]
				.map(String::from)
				.to_vec(),
		};
		let mut whole = model_dropout(5, 5, false, 0.2);
		train(&mut whole, &tr, &[], &cfg, |_| {}).unwrap();

		let dir = tempfile::tempdir().unwrap();
		let ck = dir.path().join("checkpoint");
		let mut first = model_dropout(5, 5, false, 0.2);
		let mut t = Trainer::new(&mut first, &cfg).unwrap();
		for _ in 0..4 {
			t.step(&tr).unwrap();
		}
		t.save(&ck, &lora, "tiny").unwrap();
		assert!(
			ck.join("adapter_model.safetensors").exists()
				&& !dir.path().join("checkpoint.partial").exists()
		);
		let mut second = model_dropout(5, 99, false, 0.2); // another init: the checkpoint must restore it
		let mut t = Trainer::resume(&mut second, &cfg, &ck).unwrap();
		assert_eq!(t.position().step, 4);
		while !t.finished() {
			t.step(&tr).unwrap();
		}
		for ((n, a), (_, b)) in whole.lora_vars().iter().zip(second.lora_vars().iter()) {
			let a: Vec<f32> = a.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
			let b: Vec<f32> = b.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
			assert_eq!(a, b, "{n}");
		}
		// Dropout is on and seeded: the same run twice is the same adapter; and it differs from the
		// run without dropout.
		let mut again = model_dropout(5, 5, false, 0.2);
		train(&mut again, &tr, &[], &cfg, |_| {}).unwrap();
		let mut plain = model(5);
		train(&mut plain, &tr, &[], &cfg, |_| {}).unwrap();
		let first_b = |m: &mut Llama| -> Vec<f32> {
			m.lora_vars()[1].1.as_tensor().flatten_all().unwrap().to_vec1().unwrap()
		};
		assert_eq!(first_b(&mut again), first_b(&mut whole));
		assert_ne!(first_b(&mut plain), first_b(&mut whole));
		let mut third = model(5);
		let other = TrainConfig { learning_rate: 1e-3, ..cfg.clone() };
		let e = Trainer::resume(&mut third, &other, &ck).err().unwrap().to_string();
		assert!(e.contains("only steps and eval_every may change"), "{e}");
		let longer = TrainConfig { steps: 12, ..cfg };
		assert!(Trainer::resume(&mut third, &longer, &ck).is_ok());
	}
}
