//! The ModelFactory commands of `tributary-worker`: `train`, `chat`, `merge` and `inspect`.
//! CPU by default; every command takes a Hugging Face model folder or a GGUF file.

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device};
use model_factory::attribution::AttributionConfig;
use model_factory::chat::Message;
use model_factory::data::{self, Record};
use model_factory::finetune::{finetune, Finetune, Length, Update};
use model_factory::generate::{generate, Sampling};
use model_factory::lora::LoraConfig;
use model_factory::pretrained::{self, Pretrained};
use model_factory::train::{Event, TrainConfig};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
	/// Base model: a Hugging Face folder (config.json, *.safetensors, tokenizer.json) or a .gguf file.
	#[arg(long)]
	pub model: PathBuf,
	/// Training data (repeatable): .jsonl (prompt/response, messages or text per line) or plain text.
	#[arg(long, required = true)]
	pub data: Vec<PathBuf>,
	/// Output folder: the adapter in PEFT's layout; checkpoints go to <out>/checkpoint.
	#[arg(long)]
	pub out: PathBuf,
	/// LoRA rank.
	#[arg(long, default_value_t = 16)]
	pub r: usize,
	/// LoRA alpha (default: twice the rank).
	#[arg(long)]
	pub alpha: Option<f64>,
	#[arg(long, default_value_t = 0.05)]
	pub dropout: f64,
	/// Scale by alpha/sqrt(r) (rsLoRA) instead of alpha/r.
	#[arg(long)]
	pub rslora: bool,
	/// Modules to adapt, comma-separated PEFT names (e.g. q_proj,v_proj), or "all-linear".
	/// Default: the family's PEFT default.
	#[arg(long, value_delimiter = ',')]
	pub targets: Vec<String>,
	/// QLoRA: hold the base weights in NF4 (4-bit) while training.
	#[arg(long)]
	pub qlora: bool,
	#[arg(long, default_value_t = 100)]
	pub steps: usize,
	#[arg(long, default_value_t = 2e-4)]
	pub lr: f64,
	#[arg(long, default_value_t = 10)]
	pub warmup: usize,
	#[arg(long, default_value_t = 4)]
	pub batch_size: usize,
	#[arg(long, default_value_t = 1)]
	pub grad_accum: usize,
	#[arg(long, default_value_t = 1.0)]
	pub max_grad_norm: f64,
	#[arg(long, default_value_t = 0.0)]
	pub weight_decay: f64,
	/// Longest training sequence in tokens (plain text is packed into windows of this size).
	#[arg(long, default_value_t = 256)]
	pub seq_len: usize,
	/// Share of the examples held out for evaluation.
	#[arg(long, default_value_t = 0.1)]
	pub eval_fraction: f64,
	/// Evaluate every N steps (0: at the end only).
	#[arg(long, default_value_t = 0)]
	pub eval_every: usize,
	/// Save a resumable checkpoint every N steps (0: only at the end).
	#[arg(long, default_value_t = 0)]
	pub checkpoint_every: usize,
	/// Continue the run saved in <out>/checkpoint.
	#[arg(long)]
	pub resume: bool,
	/// Record which records shaped the adapter (against the held-out split) and write
	/// <out>/attribution.json; see docs/attribution.md.
	#[arg(long)]
	pub attribution: bool,
	#[arg(long, default_value_t = 42)]
	pub seed: u64,
	/// Print every event as a JSON line on stdout (for UIs), instead of the progress bar.
	#[arg(long)]
	pub json: bool,
	/// `cpu`, or `cuda` / `cuda:N` in a binary built with the `cuda` feature.
	#[arg(long, default_value = "cpu")]
	pub device: String,
}

#[derive(clap::Args, Debug)]
pub struct ChatArgs {
	/// Base model: a Hugging Face folder or a .gguf file.
	#[arg(long)]
	pub model: PathBuf,
	/// A LoRA adapter folder (PEFT layout) to apply.
	#[arg(long)]
	pub adapter: Option<PathBuf>,
	/// Ask this once and exit; without it, an interactive chat on stdin (/reset, /quit).
	#[arg(long)]
	pub prompt: Option<String>,
	/// A system message to start the conversation with.
	#[arg(long)]
	pub system: Option<String>,
	/// 0 for greedy decoding.
	#[arg(long, default_value_t = 0.7)]
	pub temperature: f64,
	#[arg(long, default_value_t = 0.9)]
	pub top_p: f64,
	#[arg(long, default_value_t = 256)]
	pub max_tokens: usize,
	#[arg(long, default_value_t = 0)]
	pub seed: u64,
	/// `cpu`, or `cuda` / `cuda:N` in a binary built with the `cuda` feature.
	#[arg(long, default_value = "cpu")]
	pub device: String,
}

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
	/// Base model folder (safetensors).
	#[arg(long)]
	pub model: PathBuf,
	/// Adapter folder (PEFT layout).
	#[arg(long)]
	pub adapter: PathBuf,
	/// Output folder: a plain model with the adapter folded in.
	#[arg(long)]
	pub out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct InspectArgs {
	/// A model folder, a .gguf file, or an adapter folder.
	pub path: PathBuf,
	/// Print the facts as JSON.
	#[arg(long)]
	pub json: bool,
}

fn open(model: &Path, device: &Device) -> Result<Pretrained> {
	pretrained::open(model, DType::F32, device)
		.with_context(|| format!("cannot open the model {}", model.display()))
}

/// The device named by `--device`.
pub fn device(spec: &str) -> Result<Device> {
	let ordinal = match spec {
		"cpu" => return Ok(Device::Cpu),
		"cuda" => 0,
		s => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
			Some(Ok(n)) => n,
			_ => bail!("unknown device {spec:?}: expected cpu, cuda or cuda:N"),
		},
	};
	if !cfg!(feature = "cuda") {
		bail!("this binary was built without CUDA; rebuild with `--features cuda` to use {spec}");
	}
	Device::new_cuda(ordinal).with_context(|| format!("cannot open CUDA device {ordinal}"))
}

fn lora_config(a: &TrainArgs, p: &Pretrained) -> LoraConfig {
	let family = p.model.family();
	let target_modules = match a.targets.as_slice() {
		[] => family.default_targets(),
		[one] if one == "all-linear" => family.all_linear(),
		t => t.to_vec(),
	};
	LoraConfig {
		r: a.r,
		lora_alpha: a.alpha.unwrap_or(2.0 * a.r as f64),
		lora_dropout: a.dropout,
		use_rslora: a.rslora,
		target_modules,
	}
}

/// A progress bar on a terminal, plain lines otherwise.
struct Progress {
	bar: Option<indicatif::ProgressBar>,
	total: usize,
}

impl Progress {
	fn new(total: usize, first: usize, tty: bool) -> Self {
		let bar = tty.then(|| {
			let b = indicatif::ProgressBar::new(total as u64);
			b.set_style(
				indicatif::ProgressStyle::with_template(
					"[{bar:24}] step {pos}/{len} {msg} eta {eta}",
				)
				.expect("template")
				.progress_chars("#>-"),
			);
			b.set_position(first as u64);
			b
		});
		Self { bar, total }
	}

	fn step(&self, step: usize, loss: f64, lr: f64, tps: f64) {
		let msg = format!("loss {loss:.4} lr {lr:.2e} {tps:.0} tok/s");
		match &self.bar {
			Some(b) => {
				b.set_message(msg);
				b.set_position(step as u64 + 1);
			}
			None => eprintln!("step {}/{} {msg}", step + 1, self.total),
		}
	}

	fn println(&self, line: String) {
		match &self.bar {
			Some(b) => b.println(line),
			None => eprintln!("{line}"),
		}
	}

	fn finish(&self) {
		if let Some(b) = &self.bar {
			b.finish();
		}
	}
}

pub fn train(a: &TrainArgs) -> Result<()> {
	model_factory::tune_process_for_training();
	let mut p = open(&a.model, &device(&a.device)?)?;
	let lora = lora_config(a, &p);
	let mut records: Vec<Record> = Vec::new();
	for f in &a.data {
		records.extend(data::read(f)?);
	}
	let spec = Finetune {
		lora: lora.clone(),
		qlora: a.qlora,
		length: Length::Steps(a.steps),
		train: TrainConfig {
			learning_rate: a.lr,
			warmup_steps: a.warmup,
			steps: a.steps,
			weight_decay: a.weight_decay,
			batch_size: a.batch_size,
			grad_accum: a.grad_accum,
			max_grad_norm: a.max_grad_norm,
			eval_every: a.eval_every,
			seed: a.seed,
		},
		seq_len: a.seq_len,
		eval_fraction: a.eval_fraction,
		checkpoint_every: a.checkpoint_every,
		attribution: a.attribution.then(AttributionConfig::default),
	};
	let family = p.model.family();
	let base_name = p.source.clone();
	let mut progress: Option<Progress> = None;
	let summary = finetune(&mut p, &records, &spec, &a.out, &base_name, a.resume, |u| {
		if a.json {
			if let Update::Event(e) = u {
				println!("{}", serde_json::to_string(e).expect("json"));
			}
			return true;
		}
		match u {
			Update::Started {
				total_steps,
				first_step,
				train_examples,
				eval_examples,
				trained_tokens,
				modules,
				nf4_layers,
			} => {
				if a.qlora {
					eprintln!("QLoRA: {nf4_layers} linear layers held in NF4");
				}
				eprintln!(
					"{family:?} model, LoRA r={} alpha={} on {modules} modules; {train_examples} training / {eval_examples} eval examples ({trained_tokens} trained tokens)",
					lora.r,
					lora.lora_alpha,
				);
				progress =
					Some(Progress::new(*total_steps, *first_step, std::io::stderr().is_terminal()));
			}
			Update::Event(Event::Step { step, loss, lr, tokens_per_s, .. }) => {
				if let Some(pr) = &progress {
					pr.step(*step, *loss, *lr, *tokens_per_s);
				}
			}
			Update::Event(Event::Eval { loss, perplexity, .. }) => {
				if let Some(pr) = &progress {
					pr.println(format!("eval loss {loss:.4} perplexity {perplexity:.2}"));
				}
			}
			Update::Checkpoint { .. } => {}
		}
		true
	});
	if let Some(pr) = &progress {
		pr.finish();
	}
	let summary = summary?;
	if a.json {
		let mut v = serde_json::to_value(&summary).expect("json");
		v["adapter"] = serde_json::json!(a.out.display().to_string());
		println!("{}", serde_json::json!({ "Summary": v }));
	} else {
		eprintln!(
			"done: train loss {} -> {:.4}; eval loss {} -> {}; adapter in {}",
			summary.first_loss.map_or("-".into(), |l| format!("{l:.4}")),
			summary.last_loss,
			summary.eval_loss_before.map_or("-".into(), |l| format!("{l:.4}")),
			summary
				.eval_loss_after
				.zip(summary.eval_perplexity_after)
				.map_or("-".into(), |(l, p)| format!("{l:.4} (perplexity {p:.2})")),
			a.out.display()
		);
		if let Some(rows) = &summary.attribution {
			let mut top: Vec<_> = rows.iter().collect();
			top.sort_by(|x, y| y.score.total_cmp(&x.score));
			eprintln!(
				"attribution (against the eval split) in {}:",
				a.out.join("attribution.json").display()
			);
			for r in top.iter().take(5) {
				eprintln!("  record {} ({} examples): score {:.3e}", r.source, r.examples, r.score);
			}
		}
	}
	Ok(())
}

fn load_adapter(p: &mut Pretrained, dir: &Path) -> Result<()> {
	let cfg = model_factory::adapter::load_config(dir)?;
	p.model.attach_lora(&cfg, 0)?;
	model_factory::adapter::load_into(dir, &cfg, &p.model.lora_vars())?;
	Ok(())
}

/// Generates a reply to the conversation, streaming it to stdout; returns the reply.
fn reply(p: &Pretrained, convo: &[Message], s: &Sampling) -> Result<String> {
	let prompt = p.template.render(convo, true).map_err(anyhow::Error::msg)?;
	let ids =
		p.tokenizer.encode(prompt.as_str(), false).map_err(anyhow::Error::msg)?.get_ids().to_vec();
	let mut out: Vec<u32> = Vec::new();
	let mut shown = 0;
	let mut stdout = std::io::stdout();
	generate(p.model.as_ref(), &ids, s, |t| {
		if !s.stop_tokens.contains(&t) {
			out.push(t);
			// Decode everything so far and print what is new (tokens may split characters).
			if let Ok(text) = p.tokenizer.decode(&out, true) {
				if text.len() > shown && text.is_char_boundary(shown) {
					let _ = write!(stdout, "{}", &text[shown..]);
					let _ = stdout.flush();
					shown = text.len();
				}
			}
		}
		true
	})?;
	println!();
	p.tokenizer.decode(&out, true).map_err(anyhow::Error::msg)
}

pub fn chat(a: &ChatArgs) -> Result<()> {
	model_factory::tune_process_for_training();
	let mut p = open(&a.model, &device(&a.device)?)?;
	if let Some(dir) = &a.adapter {
		load_adapter(&mut p, dir)
			.with_context(|| format!("cannot apply the adapter {}", dir.display()))?;
	}
	let s = Sampling {
		temperature: a.temperature,
		top_p: a.top_p,
		max_new_tokens: a.max_tokens,
		stop_tokens: p.stop_tokens.clone(),
		seed: a.seed,
		logit_bias: vec![],
	};
	let start: Vec<Message> = a.system.iter().map(|s| Message::new("system", s)).collect();
	let mut convo = start.clone();
	if let Some(q) = &a.prompt {
		convo.push(Message::new("user", q));
		reply(&p, &convo, &s)?;
		return Ok(());
	}
	eprintln!(
		"chatting with {} ({}); /reset clears the conversation, /quit ends",
		p.source,
		if a.adapter.is_some() { "with adapter" } else { "base" }
	);
	let stdin = std::io::stdin();
	loop {
		eprint!("> ");
		let mut line = String::new();
		if stdin.lock().read_line(&mut line)? == 0 {
			return Ok(());
		}
		match line.trim() {
			"" => continue,
			"/quit" => return Ok(()),
			"/reset" => {
				convo = start.clone();
				continue;
			}
			q => convo.push(Message::new("user", q)),
		}
		let r = reply(&p, &convo, &s)?;
		convo.push(Message::new("assistant", &r));
	}
}

pub fn merge(a: &MergeArgs) -> Result<()> {
	let n =
		model_factory::merge::merge(&a.model, &a.adapter, &a.out).map_err(anyhow::Error::msg)?;
	println!("merged {n} weights into {}", a.out.display());
	Ok(())
}

/// Tensor names and shapes from a safetensors header, without reading the data.
fn safetensors_shapes(path: &Path) -> Result<Vec<(String, Vec<usize>, String)>> {
	use std::io::Read;
	let mut f = std::fs::File::open(path)?;
	let mut len = [0u8; 8];
	f.read_exact(&mut len)?;
	let n = u64::from_le_bytes(len);
	if n > 100 << 20 {
		bail!("{}: implausible safetensors header ({n} bytes)", path.display());
	}
	let mut h = vec![0u8; n as usize];
	f.read_exact(&mut h)?;
	let h: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&h)?;
	Ok(h.into_iter()
		.filter(|(k, _)| k != "__metadata__")
		.map(|(k, v)| {
			let shape = v["shape"]
				.as_array()
				.map(|a| a.iter().filter_map(|x| x.as_u64()).map(|x| x as usize).collect())
				.unwrap_or_default();
			(k, shape, v["dtype"].as_str().unwrap_or("?").to_string())
		})
		.collect())
}

fn model_facts(
	m: &dyn model_factory::CausalLm,
	format: &str,
	params: Option<usize>,
	stop: Option<&[u32]>,
) -> serde_json::Value {
	serde_json::json!({
		"kind": "model",
		"format": format,
		"family": m.family().model_type(),
		"layers": m.num_layers(),
		"vocab_size": m.vocab_size(),
		"max_positions": m.max_positions(),
		"parameters": params,
		"adaptable_modules": m.family().all_linear(),
		"default_lora_targets": m.family().default_targets(),
		"stop_tokens": stop,
	})
}

pub fn inspect(a: &InspectArgs) -> Result<()> {
	let path = &a.path;
	let facts = if path.join("adapter_config.json").exists() {
		let cfg = model_factory::adapter::load_config(path)?;
		let raw: serde_json::Value =
			serde_json::from_slice(&std::fs::read(path.join("adapter_config.json"))?)?;
		let t = safetensors_shapes(&path.join("adapter_model.safetensors"))?;
		let params: usize = t.iter().map(|(_, s, _)| s.iter().product::<usize>()).sum();
		serde_json::json!({
			"kind": "LoRA adapter",
			"base_model": raw.get("base_model_name_or_path"),
			"r": cfg.r, "lora_alpha": cfg.lora_alpha, "scale": cfg.scale(), "use_rslora": cfg.use_rslora,
			"lora_dropout": cfg.lora_dropout, "target_modules": cfg.target_modules,
			"adapted_modules": t.len() / 2, "parameters": params,
		})
	} else if path.extension().is_some_and(|e| e == "gguf") {
		let p = open(path, &Device::Cpu)?;
		model_facts(p.model.as_ref(), "gguf", p.parameters, Some(&p.stop_tokens))
	} else if path.join("config.json").exists() {
		// The model alone: a folder without a tokenizer can still be inspected (and merged).
		let m = model_factory::model::load(path, DType::F32, &Device::Cpu)
			.with_context(|| format!("cannot open the model {}", path.display()))?;
		let mut n = 0;
		for e in std::fs::read_dir(path)? {
			let f = e?.path();
			if f.extension().is_some_and(|x| x == "safetensors") {
				n += safetensors_shapes(&f)?
					.iter()
					.map(|(_, s, _)| s.iter().product::<usize>())
					.sum::<usize>();
			}
		}
		let mut facts = model_facts(m.as_ref(), "safetensors", Some(n), None);
		facts["tokenizer"] = serde_json::json!(path.join("tokenizer.json").exists());
		facts
	} else {
		bail!(
			"{} is neither a model (config.json or .gguf) nor an adapter (adapter_config.json)",
			path.display()
		);
	};
	if a.json {
		println!("{}", serde_json::to_string_pretty(&facts)?);
	} else if let serde_json::Value::Object(m) = facts {
		for (k, v) in m {
			println!(
				"{k:>22}: {}",
				v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
			);
		}
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn devices_are_parsed_and_cuda_without_the_feature_is_a_clear_error() {
		assert!(device("cpu").unwrap().is_cpu());
		let err = device("gpu").unwrap_err().to_string();
		assert!(err.contains("expected cpu, cuda or cuda:N"), "{err}");
		assert!(device("cuda:x").is_err());
		if !cfg!(feature = "cuda") {
			for spec in ["cuda", "cuda:1"] {
				let err = device(spec).unwrap_err().to_string();
				assert!(err.contains("built without CUDA"), "{err}");
			}
		}
	}
}
