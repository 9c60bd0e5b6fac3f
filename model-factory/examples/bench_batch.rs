//! Batched decoding with many adapters (issue 19's benchmark (a)), on SmolLM2-135M-Instruct
//! (`TRIBUTARY_SMOLLM2`, scripts/fetch-smollm2.sh), all in one run: decode throughput of a batch of
//! `ROWS` sequences where every row has its own adapter (LoRA r 8 on q, k, v, o, random weights),
//! against the same batch with every row on one adapter, the bare base batched, and the rows
//! decoded one at a time (no batching); adapters kept in f32 and in bf16. Goal: distinct adapters
//! at least 0.9x of one adapter.
//!
//!   bench_batch [ROWS (default 100)] [STEPS (default 8)]
//!
//! Prints one JSON line.

use candle_core::{DType, Device, Tensor};
use model_factory::lora::LoraConfig;
use model_factory::model::Cache;
use model_factory::multi_lora::{BatchAdapter, RowAdapters};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
	model_factory::tune_process_for_training();
	let arg =
		|i: usize, d: usize| std::env::args().nth(i).and_then(|a| a.parse().ok()).unwrap_or(d);
	let (rows, steps) = (arg(1, 100), arg(2, 8));
	let path = std::env::var("TRIBUTARY_SMOLLM2").expect("TRIBUTARY_SMOLLM2");
	let mut p = model_factory::pretrained::open(path.as_ref(), DType::F32, &Device::Cpu)?;
	let cfg = LoraConfig {
		r: 8,
		lora_alpha: 16.0,
		lora_dropout: 0.0,
		use_rslora: false,
		target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"].map(String::from).to_vec(),
	};
	let m = p.model.as_mut();
	let (mut adapters, mut halves) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
	for i in 0..rows {
		m.attach_lora(&cfg, i as u64)?;
		let mut rng = model_factory::lora::rng(i as u64);
		let mut tensors = HashMap::new();
		for (name, v) in m.lora_vars() {
			let t = if name.ends_with("lora_B.weight") {
				model_factory::lora::randn(v.dims(), 0.01, &mut rng, v.dtype())?
			} else {
				v.as_tensor().copy()?
			};
			tensors.insert(name, t);
		}
		for (_, l) in m.linears_mut() {
			l.lora = None;
		}
		adapters.push(Arc::new(BatchAdapter::new(m, &cfg, &tensors)?));
		halves.push(Arc::new(BatchAdapter::stored_as(m, &cfg, &tensors, DType::BF16)?));
	}
	let m = p.model.as_ref();
	// Each row's own prompt (16 tokens), prefilled once on the bare base; every variant decodes
	// from copies of these caches.
	let mut prompted = Vec::with_capacity(rows);
	for r in 0..rows {
		let ids: Vec<u32> = (0..16).map(|j| (100 + 37 * r + 11 * j) as u32 % 40000).collect();
		let mut c = vec![m.cache()];
		m.forward_rows(&Tensor::new(ids.as_slice(), &Device::Cpu)?.unsqueeze(0)?, &mut c, None)?;
		prompted.push(c.pop().expect("one"));
	}
	let argmax = |l: &Tensor| -> anyhow::Result<Vec<u32>> {
		Ok(l.squeeze(1)?.argmax(candle_core::D::Minus1)?.to_vec1::<u32>()?)
	};
	// Tokens per second decoding `steps` tokens for the first `n` rows, in batches of `batch` rows.
	let decode = |which: &dyn Fn(usize) -> Option<Arc<BatchAdapter>>,
	              n: usize,
	              batch: usize|
	 -> anyhow::Result<f64> {
		let mut caches: Vec<Cache> = prompted[..n].to_vec();
		let mut next: Vec<u32> = (0..n as u32).collect();
		let start = Instant::now();
		for _ in 0..steps {
			for lo in (0..n).step_by(batch) {
				let hi = (lo + batch).min(n);
				let ad = RowAdapters::new((lo..hi).map(which).collect());
				let ids = Tensor::new(&next[lo..hi], &Device::Cpu)?.unsqueeze(1)?;
				let l = m.forward_rows(&ids, &mut caches[lo..hi], Some(&ad))?;
				next[lo..hi].copy_from_slice(&argmax(&l)?);
			}
		}
		Ok((n * steps) as f64 / start.elapsed().as_secs_f64())
	};
	decode(&|_| None, rows, rows)?; // warm-up
	let (mut distinct, mut one, mut base, mut distinct_bf16, mut one_bf16) =
		(0f64, 0f64, 0f64, 0f64, 0f64);
	// Interleaved rounds, the best of each kept, so drift in the machine's speed hits all alike.
	for _ in 0..3 {
		distinct = distinct.max(decode(&|r| Some(adapters[r].clone()), rows, rows)?);
		one = one.max(decode(&|_| Some(adapters[0].clone()), rows, rows)?);
		base = base.max(decode(&|_| None, rows, rows)?);
		distinct_bf16 = distinct_bf16.max(decode(&|r| Some(halves[r].clone()), rows, rows)?);
		one_bf16 = one_bf16.max(decode(&|_| Some(halves[0].clone()), rows, rows)?);
	}
	// Without batching (a tenth of the rows, one at a time; the rate does not depend on how many).
	let unbatched = decode(&|r| Some(adapters[r].clone()), (rows / 10).max(1), 1)?;
	println!(
		"{}",
		serde_json::json!({
			"model": "SmolLM2-135M-Instruct (computed in f32)",
			"rows": rows,
			"steps": steps,
			"adapter": "LoRA r 8 on q, k, v, o",
			"tokens_per_s_distinct_adapters": distinct,
			"tokens_per_s_one_adapter": one,
			"tokens_per_s_bare_base": base,
			"tokens_per_s_one_row_at_a_time_distinct": unbatched,
			"tokens_per_s_distinct_adapters_bf16": distinct_bf16,
			"tokens_per_s_one_adapter_bf16": one_bf16,
			"adapter_bytes_f32": adapters[0].bytes(),
			"adapter_bytes_bf16": halves[0].bytes(),
			"distinct_over_one_adapter": distinct / one,
			"distinct_over_one_adapter_bf16": distinct_bf16 / one_bf16,
			"distinct_over_bare_base": distinct / base,
			"batched_over_one_row_at_a_time": distinct / unbatched,
			"goal_distinct_over_one_adapter": 0.9,
		})
	);
	Ok(())
}
