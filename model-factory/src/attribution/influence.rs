//! Which training contributions a trained model's answer owes most to.
//!
//! At the model's final weights, each contribution c gets `Φ_c`: the projected gradient
//! features (the taps of [`super::tap`]) of its examples' summed token loss, one backward pass per
//! batch over the training examples, built once per model. An answer gets `ψ`: the features of
//! the gradient of its mean token loss (prompt tokens carry none). Its influence score is their
//! cosine
//!
//! ```text
//!     score(c, answer) = ⟨Φ_c, ψ⟩ / (‖Φ_c‖ ‖ψ‖)
//! ```
//!
//! whose sign is that of the first-order change of the answer's loss if the model took a gradient
//! step on c's examples: positive means training on c makes this answer more likely. The plain
//! inner product (TracIn at the last checkpoint) ranks by gradient size as much as by direction:
//! the contributions a model fits worst have the largest gradients and lean towards the top of
//! every answer; unit-normalising, as TrackStar does for retrieval-style queries, ranks by
//! direction alone and keeps scores in [-1, 1], comparable across answers. Unlike the jobs' tables it
//! needs no record of the training run, only the adapter and the training text, so any server can
//! compute it and anyone can check it.

use super::tap;
use crate::model::CausalLm;
use crate::train::{collate, Example};
use candle_core::{DType, Result};
use std::collections::BTreeMap;

/// Per contribution, its gradient features at one model's weights.
pub struct InfluenceIndex {
	/// Contribution ids, ascending; row i of `features` is contribution i's.
	contributions: Vec<u64>,
	/// (contributions, dim), row-major.
	features: Vec<f32>,
	/// Each row's Euclidean norm.
	norms: Vec<f64>,
	dim: usize,
	projection: usize,
	seed: u64,
}

/// One contribution's influence on an answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Influence {
	pub contribution: u64,
	pub score: f64,
}

impl InfluenceIndex {
	/// Features of every contribution of `examples` (each with its contribution id) at `model`'s
	/// weights: its adapter attached and not merged. Projection `k` per side (0: exact),
	/// seeded by `seed`; `batch` examples per backward pass. Leaves the model as it found it.
	pub fn build(
		model: &mut dyn CausalLm,
		examples: &[(u64, Example)],
		k: usize,
		seed: u64,
		batch: usize,
	) -> Result<Self> {
		let widths = tap::arm(model, k, seed)?;
		let built = Self::features_of(model, examples, widths.iter().sum(), batch.max(1));
		tap::disarm(model);
		let (contributions, features, dim) = built?;
		let norms = features
			.chunks(dim.max(1))
			.map(|row| row.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt())
			.collect();
		Ok(Self { contributions, features, norms, dim, projection: k, seed })
	}

	fn features_of(
		model: &mut dyn CausalLm,
		examples: &[(u64, Example)],
		dim: usize,
		batch: usize,
	) -> Result<(Vec<u64>, Vec<f32>, usize)> {
		let mut sums: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
		for chunk in examples.chunks(batch) {
			let refs: Vec<&Example> = chunk.iter().map(|(_, e)| e).collect();
			let (ids, tgt, mask) = collate(&refs, &model.device(), model.dtype())?;
			let n = mask.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
			if n == 0.0 {
				continue;
			}
			let grads = model.loss(&ids, &tgt, &mask, false)?.backward()?;
			// The loss is the batch's mean: times its token count, each row is the gradient of
			// that example's summed token loss.
			let rows: Vec<Vec<f32>> = tap::collect(model, &grads, n)?.to_vec2()?;
			for ((c, _), row) in chunk.iter().zip(rows) {
				let acc = sums.entry(*c).or_insert_with(|| vec![0.0; dim]);
				acc.iter_mut().zip(row).for_each(|(a, v)| *a += v as f64);
			}
		}
		let contributions: Vec<u64> = sums.keys().copied().collect();
		let features = sums.into_values().flatten().map(|v| v as f32).collect();
		Ok((contributions, features, dim))
	}

	/// The contributions indexed, ascending.
	pub fn contributions(&self) -> &[u64] {
		&self.contributions
	}

	/// Bytes the features take.
	pub fn bytes(&self) -> usize {
		self.features.len() * std::mem::size_of::<f32>()
	}

	/// Every contribution's influence on `answer` (its `train_on` marks the answer's tokens) at
	/// `model`'s weights, which must be those the index was built at: highest first (ties: the
	/// smaller id). Leaves the model as it found it.
	pub fn scores(&self, model: &mut dyn CausalLm, answer: &Example) -> Result<Vec<Influence>> {
		let widths = tap::arm(model, self.projection, self.seed)?;
		let psi = Self::answer_features(model, answer);
		tap::disarm(model);
		let psi = psi?;
		if psi.len() != self.dim || widths.iter().sum::<usize>() != self.dim {
			candle_core::bail!(
				"the model's adapter gives {} features; the index was built with {}",
				psi.len(),
				self.dim
			);
		}
		let psi_norm = psi.iter().map(|v| v * v).sum::<f64>().sqrt();
		let mut out: Vec<Influence> = self
			.contributions
			.iter()
			.zip(self.features.chunks(self.dim.max(1)))
			.zip(&self.norms)
			.map(|((&contribution, phi), norm)| {
				let dot: f64 = phi.iter().zip(&psi).map(|(a, b)| *a as f64 * b).sum();
				let den = norm * psi_norm;
				Influence { contribution, score: if den > 0.0 { dot / den } else { 0.0 } }
			})
			.collect();
		out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.contribution.cmp(&b.contribution)));
		Ok(out)
	}

	fn answer_features(model: &mut dyn CausalLm, answer: &Example) -> Result<Vec<f64>> {
		let (ids, tgt, mask) = collate(&[answer], &model.device(), model.dtype())?;
		if mask.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()? == 0.0 {
			candle_core::bail!("the answer has no token to score");
		}
		let grads = model.loss(&ids, &tgt, &mask, false)?.backward()?;
		tap::collect(model, &grads, 1.0)?.flatten_all()?.to_dtype(DType::F64)?.to_vec1()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::llama::{random_weights, Llama, LlamaConfig};
	use crate::testutil::{lora, randomize_lora_b};
	use crate::train::{TrainConfig, Trainer};
	use candle_core::{Device, Tensor};

	fn tiny(dtype: DType, seed: u64) -> Llama {
		let cfg: LlamaConfig = serde_json::from_value(serde_json::json!({
			"vocab_size": 24, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
			"num_attention_heads": 4, "num_key_value_heads": 2,
		}))
		.unwrap();
		let w = random_weights(&cfg, seed, dtype).unwrap();
		let mut m = Llama::from_tensors(cfg, w, dtype).unwrap();
		m.attach_lora(&lora(4, &["q_proj", "v_proj", "down_proj"]), seed).unwrap();
		m
	}

	fn text(ids: &[u32]) -> Example {
		Example { ids: ids.to_vec(), train_on: vec![true; ids.len()] }
	}

	/// The full LoRA gradient of `loss`, as [`tap::lora_gradient`] lays it out: per layer ∂B, ∂A.
	fn gradient(m: &mut Llama, loss: Tensor) -> Vec<f64> {
		let grads = loss.backward().unwrap();
		let params = tap::lora_params(m);
		tap::lora_gradient(&params, &grads).unwrap()
	}

	fn loss_of(m: &Llama, batch: &[&Example], summed: bool) -> Tensor {
		let (ids, tgt, mask) = collate(batch, &Device::Cpu, m.dtype()).unwrap();
		let n = mask.sum_all().unwrap().to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap();
		let mean = m.loss(&ids, &tgt, &mask, false).unwrap();
		if summed {
			(mean * n).unwrap()
		} else {
			mean
		}
	}

	#[test]
	fn exact_scores_are_cosines_of_each_contributions_gradient_with_the_answers() {
		let mut m = tiny(DType::F64, 1);
		randomize_lora_b(&m.lora_vars());
		// Contribution 9 has two examples (one batch splits them), 4 has one; the answer's first
		// two tokens are its prompt.
		let data = vec![
			(9, text(&[1, 4, 2, 9, 3, 6])),
			(4, text(&[7, 7, 0, 5])),
			(9, text(&[3, 8, 8, 1, 12])),
		];
		let index = InfluenceIndex::build(&mut m, &data, 0, 0, 2).unwrap();
		assert_eq!(index.contributions(), &[4, 9]);
		let answer =
			Example { ids: vec![5, 1, 4, 2, 9], train_on: vec![false, true, true, true, true] };
		let got = index.scores(&mut m, &answer).unwrap();

		let loss = loss_of(&m, &[&answer], false);
		let psi = gradient(&mut m, loss);
		let mut want = Vec::new();
		for c in [4u64, 9] {
			let mut phi = vec![0.0; psi.len()];
			for (_, e) in data.iter().filter(|(id, _)| *id == c) {
				let loss = loss_of(&m, &[e], true);
				let g = gradient(&mut m, loss);
				phi.iter_mut().zip(g).for_each(|(a, v)| *a += v);
			}
			let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
			let dot = phi.iter().zip(&psi).map(|(a, b)| a * b).sum::<f64>();
			want.push((c, dot / (norm(&phi) * norm(&psi))));
		}
		want.sort_by(|a, b| b.1.total_cmp(&a.1));
		assert_eq!(got.len(), 2);
		for (g, (c, s)) in got.iter().zip(&want) {
			assert_eq!(g.contribution, *c);
			// The index keeps its features in f32.
			assert!((g.score - s).abs() <= 1e-6 * s.abs().max(1e-3), "{g:?} vs {s}");
		}
		assert!(want.iter().all(|(_, s)| s.abs() > 1e-6), "scores are not trivially zero");
	}

	#[test]
	fn an_answer_repeating_a_planted_fact_ranks_its_contribution_first() {
		// Twenty contributions of patterned sequences, and contribution 2_000 plants a sequence
		// of tokens nothing else has. After training, an answer that repeats the fact after a
		// prompt owes most to 2_000.
		let pattern =
			|s: u32| -> Vec<u32> { (0..10).map(|i| (s * 3 + i * (1 + s % 4)) % 16).collect() };
		let fact = [16u32, 21, 18, 23, 17, 20, 22, 19];
		let mut data: Vec<(u64, Example)> =
			(0..20u32).map(|s| (1_000 + s as u64, text(&pattern(s)))).collect();
		data.push((2_000, text(&fact)));
		let mut m = tiny(DType::F32, 4);
		let cfg = TrainConfig {
			learning_rate: 3e-2,
			warmup_steps: 1,
			steps: 30,
			batch_size: 4,
			grad_accum: 1,
			max_grad_norm: 1.0,
			seed: 5,
			..Default::default()
		};
		let examples: Vec<Example> = data.iter().map(|(_, e)| e.clone()).collect();
		let mut t = Trainer::new(&mut m, &cfg).unwrap();
		while !t.finished() {
			t.step(&examples).unwrap();
		}
		drop(t);
		let index = InfluenceIndex::build(&mut m, &data, 8, 3, 4).unwrap();
		// The fact's first three tokens as the prompt, the rest as the answer (its loss then
		// comes from the fact, not from a jump into it).
		let answer = Example {
			ids: fact.to_vec(),
			train_on: (0..fact.len()).map(|i| i >= 2 && i + 1 < fact.len()).collect(),
		};
		let scores = index.scores(&mut m, &answer).unwrap();
		assert_eq!(scores[0].contribution, 2_000, "{scores:?}");
		assert!(scores[0].score > 0.0 && scores[0].score <= 1.0);
		// The index does not change the model: the answer's loss is the same before and after.
		let before = loss_of(&m, &[&answer], false).to_scalar::<f32>().unwrap();
		InfluenceIndex::build(&mut m, &data, 8, 3, 4).unwrap().scores(&mut m, &answer).unwrap();
		assert_eq!(loss_of(&m, &[&answer], false).to_scalar::<f32>().unwrap(), before);
	}

	#[test]
	fn an_index_refuses_a_model_adapted_otherwise_and_an_answer_without_tokens() {
		let mut m = tiny(DType::F32, 2);
		let data = vec![(1, text(&[1, 2, 3, 4]))];
		let index = InfluenceIndex::build(&mut m, &data, 4, 0, 1).unwrap();
		let answer = text(&[1, 2, 3]);
		assert!(index.scores(&mut m, &answer).is_ok());
		let empty = Example { ids: vec![1, 2, 3], train_on: vec![false; 3] };
		assert!(index.scores(&mut m, &empty).is_err(), "an answer with no scored token");
		let cfg: LlamaConfig = serde_json::from_value(serde_json::json!({
			"vocab_size": 24, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
			"num_attention_heads": 4, "num_key_value_heads": 2,
		}))
		.unwrap();
		let w = random_weights(&cfg, 2, DType::F32).unwrap();
		let mut other = Llama::from_tensors(cfg, w, DType::F32).unwrap();
		other.attach_lora(&lora(4, &["q_proj"]), 2).unwrap();
		let err = index.scores(&mut other, &answer).unwrap_err().to_string();
		assert!(err.contains("the index was built with"), "{err}");
	}
}
