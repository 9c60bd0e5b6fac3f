//! One call that fine-tunes an adapter end to end: attach LoRA (after NF4 quantization for QLoRA),
//! tokenize and split the records, train with checkpoints (resumable), evaluate before and after,
//! and write the adapter in PEFT's layout. The CLI's `train` and the worker's job runner both use it;
//! they see the run through [`Update`]s and get a [`Summary`].
//!
//! With the same model, records, [`Finetune`] and thread count, a run on the CPU writes the same
//! adapter bytes, resumed or not.

use crate::attribution::{parts_per_million, AttributionConfig, SourceScore, Target};
use crate::data::{self, DataError, Record, Tokenize};
use crate::lora::LoraConfig;
use crate::pretrained::Pretrained;
use crate::train::{evaluate, Event, Example, TrainConfig, Trainer};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// How long to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Length {
	Steps(usize),
	/// Passes over the training split (rounded up to whole optimizer steps).
	Epochs(usize),
}

/// Everything about a run besides the model and the data.
#[derive(Debug, Clone, PartialEq)]
pub struct Finetune {
	/// Empty `target_modules` means the family's PEFT default.
	pub lora: LoraConfig,
	/// Hold the base in NF4 while training (QLoRA).
	pub qlora: bool,
	pub length: Length,
	/// `steps` is set from `length`; `warmup_steps` is capped at the steps.
	pub train: TrainConfig,
	/// Longest sequence in tokens.
	pub seq_len: usize,
	pub eval_fraction: f64,
	/// Save a resumable checkpoint every this many steps (0: only at the end).
	pub checkpoint_every: usize,
	/// Record which records shaped the adapter, against the held-out split (see
	/// [`crate::attribution`]); needs an eval split, and a run that is not resumed midway.
	pub attribution: Option<AttributionConfig>,
}

/// What a run reports as it goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Update {
	/// Training starts (or resumes) at `first_step` of `total_steps`.
	Started {
		total_steps: usize,
		first_step: usize,
		train_examples: usize,
		eval_examples: usize,
		trained_tokens: usize,
		/// Adapted modules.
		modules: usize,
		/// Linear layers held in NF4 (QLoRA), else 0.
		nf4_layers: usize,
	},
	/// A step or an evaluation.
	Event(Event),
	/// A checkpoint was saved after `step` steps.
	Checkpoint { step: usize },
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
	pub total_steps: usize,
	/// Steps run by this call (fewer than `total_steps` when resumed).
	pub steps_run: usize,
	pub first_loss: Option<f64>,
	pub last_loss: f64,
	pub eval_loss_before: Option<f64>,
	pub eval_loss_after: Option<f64>,
	pub eval_perplexity_after: Option<f64>,
	pub train_examples: usize,
	pub eval_examples: usize,
	/// Tokens that carry loss in one pass over the training split.
	pub trained_tokens: usize,
	pub mean_tokens_per_s: f64,
	pub seconds: f64,
	/// With [`Finetune::attribution`]: a row per record that gave training examples, `source`
	/// being the record's index in the input, sorted by it. Also written to `attribution.json`
	/// beside the adapter.
	pub attribution: Option<Vec<SourceScore>>,
	/// What the attribution was measured against: `eval` (the held-out split) or `train` (the
	/// training split, when nothing is held out).
	pub attribution_target: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FinetuneError {
	#[error(transparent)]
	Data(#[from] DataError),
	#[error(transparent)]
	Tensor(#[from] candle_core::Error),
	#[error("the loss became {loss} at step {step}: lower the learning rate")]
	Diverged { step: usize, loss: f64 },
	#[error("cannot resume from {dir}: {reason}")]
	Resume { dir: String, reason: String },
	#[error("writing the adapter: {0}")]
	Adapter(#[from] crate::adapter::AdapterError),
	#[error("stopped after step {step} (checkpoint saved; resume to continue)")]
	Stopped { step: usize },
	#[error("attribution: {0}")]
	Attribution(String),
}

/// Optimizer steps for `epochs` passes over `n` examples.
pub fn steps_for_epochs(epochs: usize, n: usize, batch_size: usize, grad_accum: usize) -> usize {
	let per_step = (batch_size * grad_accum.max(1)).max(1);
	(epochs * n).div_ceil(per_step).max(1)
}

/// Examples, each with the index of the record it came from.
pub type NumberedExamples = Vec<(usize, Example)>;

/// `records` as a run of `spec` tokenizes and splits them: the training and the held-out
/// examples, each with the index of its record. Anyone re-deriving what a run trained on (the
/// influence of a served model's training text) gets exactly the run's examples.
pub fn split_examples(
	p: &Pretrained,
	records: &[Record],
	seq_len: usize,
	eval_fraction: f64,
	seed: u64,
) -> Result<(NumberedExamples, NumberedExamples), FinetuneError> {
	let tok = Tokenize {
		tokenizer: &p.tokenizer,
		template: &p.template,
		bos_token_id: p.bos_token_id,
		seq_len,
	};
	let examples = tok.examples_of(records)?;
	Ok(data::split(examples, eval_fraction, seed))
}

/// Fine-tunes `p` on `records`: checkpoints go to `out/checkpoint`, the finished adapter to `out`
/// (PEFT layout, naming `base_name` as its base). With `resume`, continues the checkpoint there.
/// `on` sees every update and returns whether to go on: `false` saves a checkpoint and ends the run
/// with [`FinetuneError::Stopped`].
pub fn finetune(
	p: &mut Pretrained,
	records: &[Record],
	spec: &Finetune,
	out: &Path,
	base_name: &str,
	resume: bool,
	mut on: impl FnMut(&Update) -> bool,
) -> Result<Summary, FinetuneError> {
	let started = Instant::now();
	let mut lora = spec.lora.clone();
	if lora.target_modules.is_empty() {
		lora.target_modules = p.model.family().default_targets();
	}
	let nf4_layers = if spec.qlora { p.model.quantize_nf4()? } else { 0 };
	let modules = p.model.attach_lora(&lora, spec.train.seed)?.len();
	let (train_set, eval_set) =
		split_examples(p, records, spec.seq_len, spec.eval_fraction, spec.train.seed)?;
	let sources: Vec<u64> = train_set.iter().map(|(i, _)| *i as u64).collect();
	let train_set: Vec<Example> = train_set.into_iter().map(|(_, e)| e).collect();
	let eval_set: Vec<Example> = eval_set.into_iter().map(|(_, e)| e).collect();
	let trained_tokens: usize =
		train_set.iter().map(|e| e.train_on.iter().filter(|x| **x).count()).sum();
	let steps = match spec.length {
		Length::Steps(s) => s.max(1),
		Length::Epochs(e) => {
			steps_for_epochs(e, train_set.len(), spec.train.batch_size, spec.train.grad_accum)
		}
	};
	let cfg = TrainConfig {
		steps,
		warmup_steps: spec.train.warmup_steps.min(steps),
		..spec.train.clone()
	};
	let eval_loss_before = if eval_set.is_empty() {
		None
	} else {
		Some(evaluate(p.model.as_ref(), &eval_set, cfg.batch_size)?)
	};
	let ck = out.join("checkpoint");
	let mut trainer = if resume {
		Trainer::resume(p.model.as_mut(), &cfg, &ck).map_err(|e| FinetuneError::Resume {
			dir: ck.display().to_string(),
			reason: e.to_string(),
		})?
	} else {
		Trainer::new(p.model.as_mut(), &cfg)?
	};
	let first_step = trainer.position().step;
	let mut target_name = None;
	if let Some(a) = &spec.attribution {
		let target = attribution_target(&train_set, &eval_set);
		target_name = Some(target.name.clone());
		trainer
			.resume_attribution(a.clone(), vec![target], train_set.len(), &ck)
			.map_err(|e| FinetuneError::Attribution(e.to_string()))?;
	}
	let mut go_on = on(&Update::Started {
		total_steps: steps,
		first_step,
		train_examples: train_set.len(),
		eval_examples: eval_set.len(),
		trained_tokens,
		modules,
		nf4_layers,
	});
	let (mut first_loss, mut last_loss, mut tps_sum, mut n) = (None, f64::NAN, 0.0, 0);
	let mut last_eval = None;
	while !trainer.finished() {
		if !go_on {
			trainer.save(&ck, &lora, base_name)?;
			return Err(FinetuneError::Stopped { step: trainer.position().step });
		}
		let e = trainer.step(&train_set)?;
		if let Event::Step { step, loss, tokens_per_s, .. } = e {
			if !loss.is_finite() {
				return Err(FinetuneError::Diverged { step, loss });
			}
			first_loss.get_or_insert(loss);
			last_loss = loss;
			tps_sum += tokens_per_s;
			n += 1;
		}
		go_on = on(&Update::Event(e));
		if !eval_set.is_empty() && trainer.eval_due() {
			let e = trainer.evaluate(&eval_set)?;
			if let Event::Eval { loss, perplexity, .. } = e {
				last_eval = Some((loss, perplexity));
			}
			go_on &= on(&Update::Event(e));
		}
		let s = trainer.position().step;
		if spec.checkpoint_every > 0 && s % spec.checkpoint_every == 0 && !trainer.finished() {
			trainer.save(&ck, &lora, base_name)?;
			go_on &= on(&Update::Checkpoint { step: s });
		}
	}
	trainer.save(&ck, &lora, base_name)?;
	let attribution = trainer.finish_attribution()?.map(|t| t.by_source(&sources));
	if let Some(rows) = &attribution {
		write_attribution(out, rows, target_name.as_deref().unwrap_or("eval"))?;
	}
	// A resumed run that had already finished evaluates here, so the summary always has the loss.
	if last_eval.is_none() && !eval_set.is_empty() {
		let loss = evaluate(p.model.as_ref(), &eval_set, cfg.batch_size)?;
		last_eval = Some((loss, loss.exp()));
	}
	crate::adapter::save(out, &lora, base_name, p.model.family(), &p.model.lora_vars())?;
	Ok(Summary {
		total_steps: steps,
		steps_run: steps - first_step,
		first_loss,
		last_loss,
		eval_loss_before,
		eval_loss_after: last_eval.map(|e| e.0),
		eval_perplexity_after: last_eval.map(|e| e.1),
		train_examples: train_set.len(),
		eval_examples: eval_set.len(),
		trained_tokens,
		mean_tokens_per_s: if n > 0 { tps_sum / n as f64 } else { 0.0 },
		seconds: started.elapsed().as_secs_f64(),
		attribution,
		attribution_target: target_name,
	})
}

/// What attribution measures against: the held-out split (`eval`), or, when nothing is held out,
/// the training split itself (`train`: which examples the fit of the whole set owes most to).
pub fn attribution_target(train_set: &[Example], eval_set: &[Example]) -> Target {
	if eval_set.is_empty() {
		Target { name: "train".into(), examples: train_set.to_vec() }
	} else {
		Target { name: "eval".into(), examples: eval_set.to_vec() }
	}
}

/// `attribution.json` beside the adapter: per record, its score, self-influence, examples and
/// parts per million of the positive scores.
fn write_attribution(out: &Path, rows: &[SourceScore], target: &str) -> Result<(), FinetuneError> {
	let scores: Vec<(u64, f64)> = rows.iter().map(|r| (r.source, r.score)).collect();
	let ppm = parts_per_million(&scores);
	let records: Vec<serde_json::Value> = rows
		.iter()
		.zip(ppm)
		.map(|(r, (_, ppm))| {
			serde_json::json!({
				"record": r.source, "score": r.score, "ppm": ppm,
				"self_influence": r.self_influence, "examples": r.examples,
			})
		})
		.collect();
	let doc = serde_json::json!({ "target": target, "records": records });
	std::fs::create_dir_all(out)
		.and_then(|_| {
			std::fs::write(
				out.join("attribution.json"),
				serde_json::to_vec_pretty(&doc).expect("json"),
			)
		})
		.map_err(|e| FinetuneError::Attribution(format!("writing {}: {e}", out.display())))
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::data::Record;
	use candle_core::{DType, Device};
	use tokenizers::models::wordlevel::WordLevel;
	use tokenizers::pre_tokenizers::whitespace::Whitespace;
	use tokenizers::Tokenizer;

	/// The committed tiny llama (vocab 64) with a word-level tokenizer made here.
	fn tiny(dir: &Path) -> Pretrained {
		let src = crate::testutil::testdata().join("reference/llama");
		for f in ["config.json", "model.safetensors"] {
			std::fs::copy(src.join(f), dir.join(f)).unwrap();
		}
		let mut words: Vec<String> = ["<unk>", "<s>", "</s>"].map(String::from).to_vec();
		words.extend((words.len()..64).map(|i| format!("w{i}")));
		let vocab = words.iter().enumerate().map(|(i, w)| (w.clone(), i as u32)).collect();
		let mut tok = Tokenizer::new(
			WordLevel::builder().vocab(vocab).unk_token("<unk>".into()).build().unwrap(),
		);
		tok.with_pre_tokenizer(Some(Whitespace {}));
		tok.save(dir.join("tokenizer.json"), false).unwrap();
		crate::pretrained::open(dir, DType::F32, &Device::Cpu).unwrap()
	}

	fn records() -> Vec<Record> {
		(0..12)
			.map(|i| {
				let words: Vec<String> =
					(0..10).map(|j| format!("w{}", 3 + (i * 5 + j) % 60)).collect();
				Record::Text(words.join(" "))
			})
			.collect()
	}

	fn spec() -> Finetune {
		Finetune {
			lora: LoraConfig {
				r: 4,
				lora_alpha: 8.0,
				lora_dropout: 0.1,
				use_rslora: false,
				target_modules: vec![],
			},
			qlora: false,
			length: Length::Steps(8),
			train: TrainConfig {
				learning_rate: 1e-2,
				warmup_steps: 2,
				batch_size: 2,
				seed: 5,
				..Default::default()
			},
			seq_len: 16,
			eval_fraction: 0.25,
			checkpoint_every: 0,
			attribution: None,
		}
	}

	fn adapter(dir: &Path) -> Vec<u8> {
		std::fs::read(dir.join("adapter_model.safetensors")).unwrap()
	}

	#[test]
	fn a_stopped_run_resumes_to_the_adapter_an_uninterrupted_run_writes() {
		let (m1, m2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
		let (o1, o2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
		let whole =
			finetune(&mut tiny(m1.path()), &records(), &spec(), o1.path(), "tiny", false, |_| true)
				.unwrap();
		assert_eq!((whole.total_steps, whole.steps_run), (8, 8));
		assert!(whole.eval_loss_after.is_some());

		// Asked to stop after step 3: a checkpoint is saved and the run ends with `Stopped`.
		let mut steps = 0;
		let e =
			finetune(&mut tiny(m2.path()), &records(), &spec(), o2.path(), "tiny", false, |u| {
				if matches!(u, Update::Event(Event::Step { .. })) {
					steps += 1;
				}
				steps < 3
			})
			.unwrap_err();
		assert!(matches!(e, FinetuneError::Stopped { step: 3 }), "{e}");
		assert!(o2.path().join("checkpoint/trainer_state.json").exists());
		assert!(!o2.path().join("adapter_model.safetensors").exists());

		// Resumed in a fresh process state: steps 3..8 run, and the adapter is bit for bit the same.
		let rest =
			finetune(&mut tiny(m2.path()), &records(), &spec(), o2.path(), "tiny", true, |_| true)
				.unwrap();
		assert_eq!(rest.steps_run, 5);
		assert_eq!(adapter(o1.path()), adapter(o2.path()));
		assert_eq!(
			std::fs::read(o1.path().join("adapter_config.json")).unwrap(),
			std::fs::read(o2.path().join("adapter_config.json")).unwrap()
		);
	}

	#[test]
	fn attribution_rows_name_the_records_that_trained_and_split_a_million() {
		let (m, o) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
		let mut spec = spec();
		spec.lora.lora_dropout = 0.0;
		spec.attribution = Some(AttributionConfig { projection: 4, ..Default::default() });
		let s = finetune(&mut tiny(m.path()), &records(), &spec, o.path(), "tiny", false, |_| true)
			.unwrap();
		let rows = s.attribution.expect("recorded");
		// 12 records, a quarter held out: the other 9 trained, one row each, by record index.
		assert_eq!(rows.len(), s.train_examples);
		assert!(rows.windows(2).all(|w| w[0].source < w[1].source));
		assert!(rows.iter().all(|r| (r.source as usize) < 12 && r.examples == 1));
		assert!(rows.iter().any(|r| r.score > 0.0), "{rows:?}");
		let doc: serde_json::Value =
			serde_json::from_slice(&std::fs::read(o.path().join("attribution.json")).unwrap())
				.unwrap();
		let ppm: u64 =
			doc["records"].as_array().unwrap().iter().map(|r| r["ppm"].as_u64().unwrap()).sum();
		assert_eq!(ppm, 1_000_000);
		assert_eq!(
			(s.attribution_target.as_deref(), doc["target"].as_str()),
			(Some("eval"), Some("eval"))
		);

		// Without a held-out split, the training split is the target: every record has a row.
		let o2 = tempfile::tempdir().unwrap();
		let mut no_eval = spec.clone();
		no_eval.eval_fraction = 0.0;
		let s =
			finetune(&mut tiny(m.path()), &records(), &no_eval, o2.path(), "tiny", false, |_| true)
				.unwrap();
		assert_eq!(s.attribution_target.as_deref(), Some("train"));
		let all = s.attribution.unwrap();
		assert_eq!(all.len(), 12);
		// Fitting the set it is measured on, the examples help it overall.
		assert!(all.iter().map(|r| r.score).sum::<f64>() > 0.0, "{all:?}");

		// Resumed midway from a run saved without attribution, there is nothing sound to record.
		let o2 = tempfile::tempdir().unwrap();
		let stop_after_3 = |spec: &Finetune, out: &Path| {
			let mut steps = 0;
			finetune(&mut tiny(m.path()), &records(), spec, out, "tiny", false, |u| {
				steps += usize::from(matches!(u, Update::Event(Event::Step { .. })));
				steps < 3
			})
			.unwrap_err();
		};
		let plain = Finetune { attribution: None, ..spec.clone() };
		stop_after_3(&plain, o2.path());
		let e = finetune(&mut tiny(m.path()), &records(), &spec, o2.path(), "tiny", true, |_| true)
			.unwrap_err();
		assert!(e.to_string().contains("saved without attribution"), "{e}");

		// Stopped with attribution on and resumed: the same rows, to the last bit, as the run
		// that was never interrupted.
		let o3 = tempfile::tempdir().unwrap();
		stop_after_3(&spec, o3.path());
		assert!(o3.path().join("checkpoint/attribution_state.safetensors").exists());
		let resumed =
			finetune(&mut tiny(m.path()), &records(), &spec, o3.path(), "tiny", true, |_| true)
				.unwrap();
		assert_eq!(resumed.attribution.unwrap(), rows);
		let mut other = spec.clone();
		other.attribution = Some(AttributionConfig { projection: 5, ..Default::default() });
		let o4 = tempfile::tempdir().unwrap();
		stop_after_3(&spec, o4.path());
		let e =
			finetune(&mut tiny(m.path()), &records(), &other, o4.path(), "tiny", true, |_| true)
				.unwrap_err();
		assert!(e.to_string().contains("another configuration"), "{e}");
	}

	#[test]
	fn epochs_round_up_to_whole_steps() {
		assert_eq!(steps_for_epochs(1, 10, 4, 1), 3);
		assert_eq!(steps_for_epochs(2, 10, 4, 1), 5);
		assert_eq!(steps_for_epochs(1, 8, 4, 2), 1);
		assert_eq!(steps_for_epochs(3, 0, 4, 1), 1);
	}
}
