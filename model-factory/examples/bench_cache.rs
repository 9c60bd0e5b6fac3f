//! The key/value cache (issue 19's engine): decode throughput of one sequence on
//! SmolLM2-135M-Instruct (`TRIBUTARY_SMOLLM2`) after a prompt of `CONTEXT` tokens, with the cache's
//! buffers written in place (`Growth::Preallocated`) against the same cache grown by
//! concatenation at every step (`Growth::Concatenated`, a full copy of every layer's keys and
//! values per token), in the same run; the greedy tokens of both must agree.
//!
//!   bench_cache [CONTEXT (default 1024)] [STEPS (default 64)]
//!
//! Prints one JSON line.

use candle_core::{DType, Device, Tensor};
use model_factory::model::{Cache, CausalLm, Growth};
use std::time::Instant;

/// Decodes `steps` greedy tokens after `cache`'s prompt; returns them and tokens per second.
fn decode(
	m: &dyn CausalLm,
	mut cache: Cache,
	first: u32,
	steps: usize,
) -> anyhow::Result<(Vec<u32>, f64)> {
	let mut next = first;
	let mut out = Vec::with_capacity(steps);
	let t = Instant::now();
	for _ in 0..steps {
		let ids = Tensor::new(&[next], &Device::Cpu)?.unsqueeze(0)?;
		let logits = m.forward_cached(&ids, &mut cache)?;
		next = logits.get(0)?.get(0)?.argmax(0)?.to_scalar::<u32>()?;
		out.push(next);
	}
	Ok((out, steps as f64 / t.elapsed().as_secs_f64()))
}

fn main() -> anyhow::Result<()> {
	model_factory::tune_process_for_training();
	let arg =
		|i: usize, d: usize| std::env::args().nth(i).and_then(|a| a.parse().ok()).unwrap_or(d);
	let (context, steps) = (arg(1, 1024), arg(2, 64));
	let path = std::env::var("TRIBUTARY_SMOLLM2").expect("TRIBUTARY_SMOLLM2");
	let p = model_factory::pretrained::open(path.as_ref(), DType::F32, &Device::Cpu)?;
	let m = p.model.as_ref();
	let prompt: Vec<u32> = (0..context).map(|j| (100 + 11 * j) as u32 % 40000).collect();
	let ids = Tensor::new(prompt.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
	let mut figures = Vec::new();
	let mut answers = Vec::new();
	for growth in [Growth::Concatenated, Growth::Preallocated] {
		let mut cache = Cache::with_growth(m.num_layers(), growth);
		let logits = m.forward_cached(&ids, &mut cache)?;
		let first = logits.get(0)?.get(context - 1)?.argmax(0)?.to_scalar::<u32>()?;
		// Best of two runs, each from a copy of the prompted cache.
		let (a, r1) = decode(m, cache.clone(), first, steps)?;
		let (_, r2) = decode(m, cache, first, steps)?;
		figures.push(r1.max(r2));
		answers.push(a);
	}
	assert_eq!(answers[0], answers[1], "both caches decode the same tokens");
	println!(
		"{}",
		serde_json::json!({
			"bench": "kv-cache",
			"model": "SmolLM2-135M-Instruct f32",
			"context": context,
			"steps": steps,
			"concatenated_tok_s": (figures[0] * 10.0).round() / 10.0,
			"preallocated_tok_s": (figures[1] * 10.0).round() / 10.0,
			"ratio": (figures[1] / figures[0] * 100.0).round() / 100.0,
		})
	);
	Ok(())
}
