//! Attribution quality and cost, on data made by code with a seed (see scripts/bench-attribution).
//!
//! A tiny llama with random weights learns, through LoRA, a rule: a prompt of four tokens, then an
//! arrow, then each token mapped by a fixed permutation. Contributions hold four such examples.
//! - Planted facts: ten contributions also carry one fact each (two key tokens -> two value tokens
//!   that appear nowhere else). A query asks for the fact with another opening token; its planting
//!   contribution must rank in the top 10 (recall@10, goal >= 0.95).
//! - Noisy data: 10% of contributions have their responses shuffled between examples; ranked by
//!   self-influence, the top 10% must hold at least 90% of them.
//! - Linear datamodeling score: the model is retrained on random halves of the contributions; the
//!   Spearman correlation between the attribution's prediction (the sum of the half's scores
//!   against the held-out split) and the measured held-out loss (negated); goal >= 0.45.
//! - Cost: the training time attribution adds, as a fraction of the same training without it.
//!
//!   bench_attribution [subsets for LDS (default 32)]
//!
//! Each subset's held-out loss is averaged over `BENCH_SEEDS` training seeds (default 3).
//!
//! Prints one JSON line per configuration.

use candle_core::DType;
use model_factory::attribution::{AttributionConfig, Target};
use model_factory::llama::{random_weights, Llama, LlamaConfig};
use model_factory::lora::LoraConfig;
use model_factory::train::{evaluate, Example, TrainConfig, Trainer};
use model_factory::CausalLm;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::time::Instant;

#[path = "shared/smollm2_shape.rs"]
mod smollm2_shape;

const ARROW: u32 = 1;
const END: u32 = 2;
const FACT: u32 = 3;
const QUERY: u32 = 4;
/// Rule tokens 8..56, fact keys 56..76, fact values 76..96.
const RULE: (u32, u32) = (8, 48);
const VOCAB: usize = 96;
const CONTRIBUTIONS: usize = 100;
const PER_CONTRIBUTION: usize = 4;
const FACTS: usize = 10;
const NOISY: usize = 10;
/// Settings that can be tried from the environment (`BENCH_EPOCHS`, `BENCH_LR`, `BENCH_HIDDEN`).
fn setting(name: &str, default: f64) -> f64 {
	std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn map(x: u32) -> u32 {
	RULE.0 + ((x - RULE.0) * 7 + 3) % RULE.1
}

/// `[prompt.., ARROW, response.., END]`, loss on the response and END.
fn example(prompt: &[u32], response: &[u32]) -> Example {
	let mut ids = prompt.to_vec();
	ids.push(ARROW);
	ids.extend(response);
	ids.push(END);
	// train_on[i]: whether predicting ids[i + 1] counts.
	let train_on = (0..ids.len()).map(|i| i >= prompt.len() && i + 1 < ids.len()).collect();
	Example { ids, train_on }
}

struct Data {
	train: Vec<Example>,
	/// Contribution of each training example.
	source: Vec<usize>,
	eval: Vec<Example>,
	/// (planting contribution, query)
	facts: Vec<(usize, Example)>,
	noisy: Vec<usize>,
}

fn data(seed: u64) -> Data {
	let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
	let prompt = |rng: &mut rand::rngs::StdRng| -> Vec<u32> {
		(0..4).map(|_| RULE.0 + rng.gen_range(0..RULE.1)).collect()
	};
	let mut order: Vec<usize> = (0..CONTRIBUTIONS).collect();
	order.shuffle(&mut rng);
	let noisy: Vec<usize> = order[..NOISY].to_vec();
	let planted: Vec<usize> = order[NOISY..NOISY + FACTS].to_vec();
	let (mut train, mut source) = (vec![], vec![]);
	for c in 0..CONTRIBUTIONS {
		let prompts: Vec<Vec<u32>> = (0..PER_CONTRIBUTION).map(|_| prompt(&mut rng)).collect();
		let mut responses: Vec<Vec<u32>> =
			prompts.iter().map(|p| p.iter().map(|&x| map(x)).collect()).collect();
		if noisy.contains(&c) {
			// Responses that belong to other prompts.
			responses = (0..PER_CONTRIBUTION)
				.map(|_| prompt(&mut rng).iter().map(|&x| map(x)).collect())
				.collect();
		}
		for (p, r) in prompts.iter().zip(&responses) {
			train.push(example(p, r));
			source.push(c);
		}
	}
	let mut facts = vec![];
	for (i, &c) in planted.iter().enumerate() {
		let (k, v) = (56 + 2 * i as u32, 76 + 2 * i as u32);
		let mut taught = example(&[k, k + 1], &[v, v + 1]);
		taught.ids.insert(0, FACT);
		taught.train_on.insert(0, false);
		train.push(taught);
		source.push(c);
		let mut query = example(&[k, k + 1], &[v, v + 1]);
		query.ids.insert(0, QUERY);
		query.train_on.insert(0, false);
		facts.push((c, query));
	}
	let eval = (0..64)
		.map(|_| {
			let p = prompt(&mut rng);
			let r: Vec<u32> = p.iter().map(|&x| map(x)).collect();
			example(&p, &r)
		})
		.collect();
	Data { train, source, eval, facts, noisy }
}

fn model() -> anyhow::Result<Llama> {
	let hidden = setting("BENCH_HIDDEN", 64.0) as usize;
	let cfg: LlamaConfig = serde_json::from_value(serde_json::json!({
		"vocab_size": VOCAB, "hidden_size": hidden, "intermediate_size": 2 * hidden, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "tie_word_embeddings": false,
	}))?;
	// Matrices rescaled from random_weights' N(0, 0.3) to N(0, 1/sqrt(hidden)).
	let w = random_weights(&cfg, 11, DType::F32)?
		.into_iter()
		.map(|(k, t)| {
			let std = 1.0 / (hidden as f64).sqrt();
			let t = if t.rank() == 2 && !k.contains("embed") { (t * (std / 0.3))? } else { t };
			Ok((k, t))
		})
		.collect::<candle_core::Result<_>>()?;
	let mut m = Llama::from_tensors(cfg, w, DType::F32)?;
	let lora = LoraConfig {
		r: 8,
		lora_alpha: 16.0,
		lora_dropout: 0.0,
		use_rslora: false,
		target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"]
			.map(String::from)
			.to_vec(),
	};
	m.attach_lora(&lora, 7)?;
	Ok(m)
}

fn train_cfg(n: usize, seed: u64) -> TrainConfig {
	let batch_size = 8;
	TrainConfig {
		learning_rate: setting("BENCH_LR", 1e-2),
		warmup_steps: 5,
		steps: (setting("BENCH_EPOCHS", 6.0) as usize * n).div_ceil(batch_size),
		batch_size,
		grad_accum: 1,
		max_grad_norm: 1.0,
		seed,
		..Default::default()
	}
}

/// Trains on `train`; with `attribution`, returns the table too. Also the seconds taken.
fn run(
	train: &[Example],
	targets: Vec<Target>,
	attribution: Option<AttributionConfig>,
	eval: &[Example],
	seed: u64,
) -> anyhow::Result<(f64, Option<model_factory::attribution::Table>, f64)> {
	let mut m = model()?;
	let started = Instant::now();
	let cfg = train_cfg(train.len(), seed);
	let mut t = Trainer::new(&mut m, &cfg)?;
	if let Some(a) = attribution {
		t.attribute(a, targets, train.len())?;
	}
	while !t.finished() {
		t.step(train)?;
	}
	let table = t.finish_attribution()?;
	let secs = started.elapsed().as_secs_f64();
	drop(t);
	Ok((evaluate(&m, eval, 32)?, table, secs))
}

fn ranks(v: &[f64]) -> Vec<f64> {
	let mut idx: Vec<usize> = (0..v.len()).collect();
	idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
	let mut r = vec![0.0; v.len()];
	let mut i = 0;
	while i < idx.len() {
		let mut j = i;
		while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
			j += 1;
		}
		for k in i..=j {
			r[idx[k]] = (i + j) as f64 / 2.0;
		}
		i = j + 1;
	}
	r
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
	let (ra, rb) = (ranks(a), ranks(b));
	let n = a.len() as f64;
	let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
	let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
	let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
	let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
	cov / (va * vb).sqrt()
}

/// Attribution's cost where training's own compute dominates, as in real jobs: a model of
/// SmolLM2-135M's shape (random weights), LoRA r=16 on q, k, v, o, batches of two 256-token
/// sequences, `steps` steps with and without attribution (the default configuration with one
/// checkpoint, a held-out target of one sequence). Returns (seconds without, seconds with).
fn cost_at_scale(steps: usize) -> anyhow::Result<(f64, f64)> {
	let (cfg, w) = smollm2_shape::smollm2_shape()?;
	let lora = LoraConfig {
		r: 16,
		lora_alpha: 32.0,
		lora_dropout: 0.0,
		use_rslora: false,
		target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"].map(String::from).to_vec(),
	};
	let mut rng = rand::rngs::StdRng::seed_from_u64(5);
	let mut seqs = |n: usize| -> Vec<Example> {
		(0..n)
			.map(|_| {
				let ids: Vec<u32> = (0..257).map(|_| rng.gen_range(0..49152)).collect();
				Example { train_on: vec![true; ids.len()], ids }
			})
			.collect()
	};
	let (data, target) = (seqs(2 * steps), seqs(1));
	let tc = TrainConfig { steps, batch_size: 2, warmup_steps: 1, ..Default::default() };
	// Alternated twice, the faster of each kept: the first run also pays for warming up.
	let mut secs = [f64::INFINITY; 2];
	for attribute in [false, true, false, true] {
		let mut m = Llama::from_tensors(cfg.clone(), w.clone(), DType::F32)?;
		m.attach_lora(&lora, 1)?;
		let started = Instant::now();
		let mut t = Trainer::new(&mut m, &tc)?;
		if attribute {
			let a = AttributionConfig { seed: 1, checkpoints: 1, ..Default::default() };
			t.attribute(
				a,
				vec![Target { name: "eval".into(), examples: target.clone() }],
				data.len(),
			)?;
		}
		while !t.finished() {
			t.step(&data)?;
		}
		t.finish_attribution()?;
		let i = usize::from(attribute);
		secs[i] = secs[i].min(started.elapsed().as_secs_f64());
	}
	Ok((secs[0], secs[1]))
}

fn main() -> anyhow::Result<()> {
	model_factory::tune_process_for_training();
	model_factory::on_compute_pool(bench)
}

fn bench() -> anyhow::Result<()> {
	let subsets: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(32);
	let seeds = setting("BENCH_SEEDS", 3.0) as u64;
	let checkpoints = setting("BENCH_CHECKPOINTS", 3.0) as usize;
	let damping = setting("BENCH_DAMPING", 0.1);
	let d = data(2026);
	let mut targets = vec![Target { name: "eval".into(), examples: d.eval.clone() }];
	for (i, (_, q)) in d.facts.iter().enumerate() {
		targets.push(Target { name: format!("fact{i}"), examples: vec![q.clone()] });
	}

	// Retrain on random halves of the contributions, once, for every configuration's LDS.
	let mut rng = rand::rngs::StdRng::seed_from_u64(99);
	let mut halves = vec![];
	for _ in 0..subsets {
		let mut ids: Vec<usize> = (0..CONTRIBUTIONS).collect();
		ids.shuffle(&mut rng);
		let half: Vec<usize> = ids[..CONTRIBUTIONS / 2].to_vec();
		let train: Vec<Example> = d
			.train
			.iter()
			.zip(&d.source)
			.filter(|(_, s)| half.contains(s))
			.map(|(e, _)| e.clone())
			.collect();
		// The held-out loss averaged over training seeds (batch orders): one run's loss is mostly
		// the noise of its order.
		let losses = (0..seeds)
			.map(|seed| Ok(run(&train, vec![], None, &d.eval, 3 + seed)?.0))
			.collect::<anyhow::Result<Vec<f64>>>()?;
		halves.push((half, losses.iter().sum::<f64>() / seeds as f64, losses));
	}
	if seeds >= 2 {
		// How reproducible the measurement is: the Spearman correlation between the mean losses of
		// the even and the odd seeds bounds what any prediction can reach.
		let half_mean = |parity: usize| -> Vec<f64> {
			halves
				.iter()
				.map(|(_, _, l)| {
					let v: Vec<f64> = l.iter().skip(parity).step_by(2).copied().collect();
					v.iter().sum::<f64>() / v.len() as f64
				})
				.collect()
		};
		println!(
			"{}",
			serde_json::json!({ "lds_measurement_split_half": spearman(&half_mean(0), &half_mean(1)) })
		);
	}
	let (plain_loss, _, plain_secs) = run(&d.train, vec![], None, &d.eval, 3)?;
	if std::env::var_os("BENCH_ONLY_TRAIN").is_some() {
		println!(
			"eval loss {plain_loss:.4} in {plain_secs:.2}s (uniform: {:.4})",
			(RULE.1 as f64).ln()
		);
		return Ok(());
	}

	for (name, cfg) in [
		(
			"tracin",
			AttributionConfig {
				projection: 16,
				seed: 1,
				checkpoints,
				damping: None,
				optimizer_aware: false,
			},
		),
		(
			"preconditioned",
			AttributionConfig {
				projection: 16,
				seed: 1,
				checkpoints,
				damping: Some(damping),
				optimizer_aware: false,
			},
		),
		(
			"optimizer-aware",
			AttributionConfig {
				projection: 16,
				seed: 1,
				checkpoints,
				damping: Some(damping),
				optimizer_aware: true,
			},
		),
	] {
		let (loss, table, secs) = run(&d.train, targets.clone(), Some(cfg), &d.eval, 3)?;
		let table = table.expect("attribution recorded");
		let per_source = |z: usize| -> Vec<f64> {
			let mut s = vec![0.0; CONTRIBUTIONS];
			for (e, &c) in d.source.iter().enumerate() {
				s[c] += table.scores[e][z];
			}
			s
		};
		// Planted facts: the planting contribution in the top 10 for its query.
		let mut found = 0;
		for (i, (planter, _)) in d.facts.iter().enumerate() {
			let s = per_source(1 + i);
			let above = s.iter().filter(|&&x| x > s[*planter]).count();
			found += usize::from(above < 10);
		}
		// Noisy data: mean self-influence per contribution, the top 10% inspected.
		let mut selfs = vec![(0.0, 0usize); CONTRIBUTIONS];
		for (e, &c) in d.source.iter().enumerate() {
			selfs[c].0 += table.self_influence[e];
			selfs[c].1 += 1;
		}
		let mut by_self: Vec<usize> = (0..CONTRIBUTIONS).collect();
		by_self.sort_by(|&a, &b| {
			(selfs[b].0 / selfs[b].1 as f64).total_cmp(&(selfs[a].0 / selfs[a].1 as f64))
		});
		let caught = by_self[..CONTRIBUTIONS / 10].iter().filter(|c| d.noisy.contains(c)).count();
		// LDS against the held-out loss.
		let eval_scores = per_source(0);
		let predicted: Vec<f64> =
			halves.iter().map(|(h, _, _)| h.iter().map(|&c| eval_scores[c]).sum()).collect();
		let measured: Vec<f64> = halves.iter().map(|(_, l, _)| -l).collect();
		let lds = spearman(&predicted, &measured);
		if std::env::var_os("BENCH_VERBOSE").is_some() {
			let noisy_in: Vec<f64> = halves
				.iter()
				.map(|(h, _, _)| -(h.iter().filter(|c| d.noisy.contains(c)).count() as f64))
				.collect();
			let mean = |f: &dyn Fn(usize) -> bool| {
				let v: Vec<f64> =
					(0..CONTRIBUTIONS).filter(|&c| f(c)).map(|c| eval_scores[c]).collect();
				v.iter().sum::<f64>() / v.len() as f64
			};
			eprintln!(
				"{name}: spearman(-noisy count, -loss) {:.3}; mean eval score noisy {:.3e} clean {:.3e}",
				spearman(&noisy_in, &measured),
				mean(&|c| d.noisy.contains(&c)),
				mean(&|c| !d.noisy.contains(&c)),
			);
		}
		println!(
			"{}",
			serde_json::json!({
				"method": name,
				"planted_recall_at_10": found as f64 / FACTS as f64,
				"noisy_caught_in_top_10pct": caught as f64 / NOISY as f64,
				"lds": lds,
				"lds_subsets": subsets,
				"lds_seeds_per_subset": seeds,
				"attribution_cost_vs_training": (secs - plain_secs) / plain_secs,
				"eval_loss": loss,
				"eval_loss_without_attribution": plain_loss,
			})
		);
	}
	let steps = setting("BENCH_COST_STEPS", 4.0) as usize;
	let (plain, attributed) = cost_at_scale(steps)?;
	println!(
		"{}",
		serde_json::json!({
			"cost_at_scale": "SmolLM2-135M shape, LoRA r16 q,k,v,o, 2 x 256 tokens per step",
			"steps": steps,
			"seconds_without": plain,
			"seconds_with": attributed,
			"attribution_cost_vs_training": (attributed - plain) / plain,
		})
	);
	Ok(())
}
