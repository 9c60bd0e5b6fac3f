//! Text generation with the key/value cache: greedy, or temperature with nucleus (top-p) sampling,
//! stopping at a stop token or a length limit, handing each token to a callback as it is produced.

use crate::model::CausalLm;
use candle_core::{DType, Result, Tensor};
use rand::Rng;

#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
	/// 0 means greedy (argmax).
	pub temperature: f64,
	/// Keep the smallest set of tokens whose probability reaches this (1.0 keeps all).
	pub top_p: f64,
	pub max_new_tokens: usize,
	/// Generation ends after any of these (it is included in the output).
	pub stop_tokens: Vec<u32>,
	pub seed: u64,
	/// Added to the logits of these tokens before sampling (OpenAI's `logit_bias`).
	pub logit_bias: Vec<(u32, f32)>,
}

impl Default for Sampling {
	fn default() -> Self {
		Self {
			temperature: 0.0,
			top_p: 1.0,
			max_new_tokens: 64,
			stop_tokens: vec![],
			seed: 0,
			logit_bias: vec![],
		}
	}
}

/// Picks the next token from one row of logits.
pub fn pick(logits: &[f32], s: &Sampling, rng: &mut impl Rng) -> u32 {
	let biased;
	let logits = if s.logit_bias.is_empty() {
		logits
	} else {
		let mut l = logits.to_vec();
		for &(t, b) in &s.logit_bias {
			if let Some(x) = l.get_mut(t as usize) {
				*x += b;
			}
		}
		biased = l;
		&biased
	};
	let argmax = || {
		logits
			.iter()
			.enumerate()
			.fold((0, f32::NEG_INFINITY), |b, (i, &x)| if x > b.1 { (i, x) } else { b })
			.0 as u32
	};
	if s.temperature <= 0.0 {
		return argmax();
	}
	let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
	let mut p: Vec<(usize, f64)> = logits
		.iter()
		.enumerate()
		.map(|(i, &x)| (i, ((x as f64 - max) / s.temperature).exp()))
		.collect();
	let z: f64 = p.iter().map(|x| x.1).sum();
	p.iter_mut().for_each(|x| x.1 /= z);
	p.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
	let mut keep = 0;
	let mut mass = 0.0;
	for (_, q) in &p {
		keep += 1;
		mass += q;
		if mass >= s.top_p {
			break;
		}
	}
	let p = &p[..keep];
	let mut r = rng.gen::<f64>() * mass;
	for (i, q) in p {
		if r < *q {
			return *i as u32;
		}
		r -= q;
	}
	p[p.len() - 1].0 as u32
}

/// Continues `prompt`; `on_token` sees each new token and may return false to stop early. Models with
/// a bounded context (GPT-2) stop when it is full; a prompt longer than the context is an error.
pub fn generate(
	model: &dyn CausalLm,
	prompt: &[u32],
	s: &Sampling,
	mut on_token: impl FnMut(u32) -> bool,
) -> Result<Vec<u32>> {
	if prompt.is_empty() {
		candle_core::bail!("the prompt is empty");
	}
	let dev = model.device();
	let mut rng = crate::lora::rng(s.seed);
	let mut cache = model.cache();
	let mut input = Tensor::new(prompt, &dev)?.unsqueeze(0)?;
	let mut out = Vec::new();
	while out.len() < s.max_new_tokens {
		let logits = model.forward_cached(&input, &mut cache)?;
		let last = logits.narrow(1, logits.dim(1)? - 1, 1)?.flatten_all()?.to_dtype(DType::F32)?;
		let next = pick(&last.to_vec1()?, s, &mut rng);
		out.push(next);
		if !on_token(next) || s.stop_tokens.contains(&next) {
			break;
		}
		if model.max_positions().is_some_and(|n| cache.len >= n) {
			break; // the context is full: what was generated so far is the answer
		}
		input = Tensor::new(&[next], &dev)?.unsqueeze(0)?;
	}
	Ok(out)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::llama::{random_weights, Llama, LlamaConfig};
	use crate::testutil::greedy_uncached;

	fn model(kind: &str) -> Llama {
		let cfg: LlamaConfig = serde_json::from_value(serde_json::json!({
			"model_type": kind, "vocab_size": 32, "hidden_size": 16, "intermediate_size": 24,
			"num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "sliding_window": 4,
		}))
		.unwrap();
		Llama::from_tensors(cfg.clone(), random_weights(&cfg, 11, DType::F32).unwrap(), DType::F32)
			.unwrap()
	}

	#[test]
	fn cached_greedy_generation_matches_full_recomputation() {
		// Mistral's sliding window (4) is shorter than the sequence, so the cached mask is exercised.
		for kind in ["llama", "mistral"] {
			let m = model(kind);
			let prompt = [3u32, 17, 5, 9, 1];
			let s = Sampling { max_new_tokens: 8, ..Default::default() };
			let mut streamed = vec![];
			let got = generate(&m, &prompt, &s, |t| {
				streamed.push(t);
				true
			})
			.unwrap();
			assert_eq!(got, greedy_uncached(&m, &prompt, 8), "{kind}");
			assert_eq!(streamed, got);
		}
	}

	#[test]
	fn sampling_is_seeded_top_p_restricts_and_stop_tokens_end() {
		let logits = [2.0f32, 1.0, 0.5, -1.0, -3.0];
		let s = Sampling { temperature: 1.0, top_p: 0.6, ..Default::default() };
		let mut rng = crate::lora::rng(1);
		// With top_p 0.6 only the best token (p = 0.61) makes the cut; with 0.8, the best two (0.83).
		for _ in 0..200 {
			assert_eq!(pick(&logits, &s, &mut rng), 0);
		}
		let s8 = Sampling { top_p: 0.8, ..s.clone() };
		let draws: Vec<u32> = (0..200).map(|_| pick(&logits, &s8, &mut rng)).collect();
		assert!(draws.iter().all(|t| *t <= 1) && draws.contains(&1), "{draws:?}");
		let s = Sampling { temperature: 1.0, top_p: 1.0, ..Default::default() };
		let draws: Vec<u32> = (0..300).map(|_| pick(&logits, &s, &mut rng)).collect();
		assert!(draws.contains(&3), "low-probability tokens appear without top-p");
		let m = model("llama");
		let s = Sampling {
			temperature: 0.8,
			top_p: 0.9,
			max_new_tokens: 12,
			seed: 4,
			..Default::default()
		};
		let a = generate(&m, &[1, 2], &s, |_| true).unwrap();
		assert_eq!(a, generate(&m, &[1, 2], &s, |_| true).unwrap(), "same seed, same text");
		let stop = a[2];
		let s2 = Sampling { stop_tokens: vec![stop], ..s.clone() };
		let b = generate(&m, &[1, 2], &s2, |_| true).unwrap();
		assert_eq!(b.last(), Some(&stop));
		assert!(b.len() <= 3);
		let c = generate(&m, &[1, 2], &s, |_| false).unwrap();
		assert_eq!(c.len(), 1, "the callback can stop generation");
	}
}
