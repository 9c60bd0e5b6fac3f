//! Training throughput of this engine on the benchmark configuration (see scripts/bench-train):
//! a llama-architecture model of SmolLM2-135M's shape with random weights, LoRA r=16 (alpha 32) on
//! q, k, v, o, batches of `BENCH_BATCH` sequences of 256 tokens, AdamW. Prints one JSON line.
//!
//!   bench_train <timed steps> [warmup steps]
//!
//! BENCH_DEVICE=cuda (or cuda:N) trains on a GPU, in a binary built with `--features cuda`;
//! BENCH_QLORA=1 quantizes the base to NF4 first (QLoRA).

use candle_core::{DType, Device};
use model_factory::llama::Llama;
use model_factory::lora::LoraConfig;
use model_factory::train::{Event, Example, TrainConfig, Trainer};
use model_factory::CausalLm;
use std::time::Instant;

#[path = "shared/smollm2_shape.rs"]
mod smollm2_shape;

fn main() -> anyhow::Result<()> {
	model_factory::tune_process_for_training();
	model_factory::on_compute_pool(run)
}

fn run() -> anyhow::Result<()> {
	let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
	let steps = args.first().copied().unwrap_or(3);
	let warmup = args.get(1).copied().unwrap_or(1);
	let batch: usize = std::env::var("BENCH_BATCH").ok().and_then(|b| b.parse().ok()).unwrap_or(2);
	let seq = 256;
	let (cfg, w) = smollm2_shape::smollm2_shape()?;
	let device = match std::env::var("BENCH_DEVICE").as_deref() {
		Ok("cpu") | Err(_) => Device::Cpu,
		Ok(s) => {
			Device::new_cuda(s.strip_prefix("cuda:").and_then(|n| n.parse().ok()).unwrap_or(0))?
		}
	};
	let w = w
		.into_iter()
		.map(|(k, t)| Ok((k, t.to_device(&device)?)))
		.collect::<candle_core::Result<_>>()?;
	let mut model = Llama::from_tensors(cfg.clone(), w, DType::F32)?;
	let lora = LoraConfig {
		r: 16,
		lora_alpha: 32.0,
		lora_dropout: 0.0,
		use_rslora: false,
		target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"].map(String::from).to_vec(),
	};
	let qlora = std::env::var_os("BENCH_QLORA").is_some();
	if qlora {
		model.quantize_nf4()?;
	}
	model.attach_lora(&lora, 1)?;
	let mut rng = 12345u64;
	let data: Vec<Example> = (0..batch * (steps + warmup))
		.map(|_| {
			let ids = (0..seq + 1)
				.map(|_| {
					rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
					((rng >> 33) % 49152) as u32
				})
				.collect::<Vec<_>>();
			Example { train_on: vec![true; ids.len()], ids }
		})
		.collect();
	let tc = TrainConfig {
		steps: steps + warmup,
		batch_size: batch,
		warmup_steps: 1,
		..Default::default()
	};
	let mut t = Trainer::new(&mut model, &tc)?;
	for _ in 0..warmup {
		t.step(&data)?;
	}
	let started = Instant::now();
	let mut losses = vec![];
	for _ in 0..steps {
		if let Event::Step { loss, .. } = t.step(&data)? {
			losses.push(loss);
		}
	}
	device.synchronize()?;
	let secs = started.elapsed().as_secs_f64();
	let tokens = steps * batch * seq;
	println!(
		"{}",
		serde_json::json!({
			"engine": if qlora { "tributary (candle), QLoRA NF4" } else { "tributary (candle)" },
			"tokens_per_s": tokens as f64 / secs,
			"seconds_per_step": secs / steps as f64,
			"steps": steps, "batch": batch, "seq": seq, "loss": losses,
			"threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
			"device": format!("{:?}", device.location()),
			"blas": model_factory::blas::backend(),
		})
	);
	Ok(())
}
