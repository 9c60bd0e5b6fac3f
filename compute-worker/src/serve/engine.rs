//! The serving engine: one base model in memory, many requests decoded together, each with the
//! adapter trained on the base that it asked for (or none).
//!
//! Requests queue (bounded) to one generation thread that owns the model. It runs continuous
//! batching: between two decoding steps it takes in waiting requests (up to `max_batch` running),
//! runs each one's prompt (in chunks, below), and from then on decodes every running sequence in
//! one batched forward pass where each row carries its own adapter, cache and position
//! ([`model_factory::multi_lora`]); a sequence leaves the batch when it ends, and its place is
//! taken at the next step. Adapters are read from their folder once, checked against the base and
//! kept in a bounded least-recently-used cache. Text streams out as it is decoded; stop strings
//! end generation, and text that may still turn into a stop string is held back until it cannot.
//!
//! Prompts run in chunks of at most `prefill_chunk` tokens, one chunk between two decoding steps:
//! a long prompt delays the running sequences' next token by one chunk's compute, not by its whole
//! prefill. A sequence joins the batch once its whole prompt has run.

use super::text::{Detokenizer, TextStream};
use candle_core::Tensor;
use model_factory::chat::{Extras, Message};
use model_factory::generate::{pick, Sampling};
use model_factory::model::{Cache, CausalLm};
use model_factory::multi_lora::{BatchAdapter, RowAdapters};
use model_factory::pretrained::Pretrained;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

/// What a request asks the model to continue.
#[derive(Debug, Clone)]
pub enum Prompt {
	/// A conversation, rendered with the model's chat template, with the tools (JSON schemas) it
	/// may call.
	Chat { messages: Vec<Message>, tools: Option<Vec<serde_json::Value>> },
	/// Plain text, continued as is.
	Text(String),
}

/// An adapter to put on the base: its id (the cache's key; an id always names the same
/// adapter) and its PEFT folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Adapter {
	pub id: String,
	pub dir: PathBuf,
}

/// One generation request.
#[derive(Debug, Clone)]
pub struct Request {
	/// The model id the request named.
	pub model: String,
	/// Its adapter (`None`: the bare base), resolved by [`super::models::Models`].
	pub adapter: Option<Adapter>,
	pub prompt: Prompt,
	pub max_tokens: usize,
	/// 0: greedy.
	pub temperature: f64,
	pub top_p: f64,
	pub seed: u64,
	/// Generation ends before any of these; they are not part of the answer.
	pub stop: Vec<String>,
	/// Added to these tokens' logits before sampling.
	pub logit_bias: Vec<(u32, f32)>,
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
	/// The model's end token or a stop string.
	Stop,
	/// `max_tokens`, or the model's context is full.
	Length,
}

impl Finish {
	pub fn as_str(self) -> &'static str {
		match self {
			Finish::Stop => "stop",
			Finish::Length => "length",
		}
	}
}

/// What the engine sends back for a request, in order: `Started`, any number of `Text`, then
/// `Done`; or a single `Failed` before anything else.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
	Started { prompt_tokens: usize },
	Text(String),
	Done { finish: Finish, completion_tokens: usize },
	Failed(String),
}

/// Limits of one engine.
#[derive(Debug, Clone, Copy)]
pub struct EngineLimits {
	/// Requests waiting for the generation thread; more are refused (the server is busy).
	pub queue: usize,
	/// Adapters kept in memory.
	pub cached_adapters: usize,
	/// Sequences decoded together in one batch.
	pub max_batch: usize,
	/// Keep adapters in bf16 rather than the model's precision: half the memory and half the bytes
	/// read per row; answers differ from the full-precision adapter's by bf16's rounding.
	pub bf16_adapters: bool,
	/// Prompt tokens run between two decoding steps at most.
	pub prefill_chunk: usize,
}

/// The handle requests are submitted through.
#[derive(Clone)]
pub struct Engine {
	tx: SyncSender<(Request, Reply)>,
	queue: usize,
	peak: Arc<AtomicUsize>,
}

/// Why a request was not queued.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SubmitError {
	#[error("the server is busy: {0} requests are waiting; try again shortly")]
	Busy(usize),
	#[error("the engine has stopped")]
	Stopped,
}

impl Engine {
	/// Starts the generation thread around `model`.
	pub fn start(model: Pretrained, limits: EngineLimits) -> Self {
		let (tx, rx) = sync_channel(limits.queue.max(1));
		let worker = Worker {
			model,
			cache: AdapterCache::new(limits.cached_adapters.max(1), limits.bf16_adapters),
			max_batch: limits.max_batch.max(1),
			prefill_chunk: limits.prefill_chunk.max(1),
			prefilling: VecDeque::new(),
			running: Vec::new(),
			caches: Vec::new(),
			peak: Arc::new(AtomicUsize::new(0)),
		};
		let peak = worker.peak.clone();
		std::thread::Builder::new()
			.name("serve-engine".into())
			.spawn(move || worker.run(rx))
			.expect("spawn the engine thread");
		Self { tx, queue: limits.queue.max(1), peak }
	}

	/// The most sequences one decoding step has run together so far.
	pub fn peak_batch(&self) -> usize {
		self.peak.load(Ordering::Relaxed)
	}

	/// Queues `req`; its pieces arrive on the returned receiver.
	pub fn submit(
		&self,
		req: Request,
	) -> Result<tokio::sync::mpsc::UnboundedReceiver<Piece>, SubmitError> {
		let (out, rx) = tokio::sync::mpsc::unbounded_channel();
		match self.tx.try_send((req, out)) {
			Ok(()) => Ok(rx),
			Err(TrySendError::Full(_)) => Err(SubmitError::Busy(self.queue)),
			Err(TrySendError::Disconnected(_)) => Err(SubmitError::Stopped),
		}
	}
}

/// Adapters made ready for batching on the engine's model, least recently used out first.
struct AdapterCache {
	cap: usize,
	bf16: bool,
	/// Most recently used last.
	order: VecDeque<String>,
	loaded: HashMap<String, Arc<BatchAdapter>>,
}

impl AdapterCache {
	fn new(cap: usize, bf16: bool) -> Self {
		Self { cap, bf16, order: VecDeque::new(), loaded: HashMap::new() }
	}

	/// The adapter `id`, read from `dir` and checked against `model` unless it is in memory.
	fn get(
		&mut self,
		model: &mut dyn CausalLm,
		id: &str,
		dir: &std::path::Path,
	) -> Result<Arc<BatchAdapter>, String> {
		if let Some(a) = self.loaded.get(id).cloned() {
			self.order.retain(|x| x != id);
			self.order.push_back(id.to_string());
			return Ok(a);
		}
		let cfg = model_factory::adapter::load_config(dir).map_err(|e| e.to_string())?;
		let file = dir.join("adapter_model.safetensors");
		let tensors = candle_core::safetensors::load(&file, &candle_core::Device::Cpu)
			.map_err(|e| format!("{}: {e}", file.display()))?;
		let dtype = if self.bf16 { candle_core::DType::BF16 } else { model.dtype() };
		let a = BatchAdapter::stored_as(model, &cfg, &tensors, dtype)
			.map_err(|e| format!("the adapter {id} does not fit the base: {e}"))?;
		let a = Arc::new(a);
		while self.order.len() >= self.cap {
			if let Some(old) = self.order.pop_front() {
				self.loaded.remove(&old);
			}
		}
		self.order.push_back(id.to_string());
		self.loaded.insert(id.to_string(), a.clone());
		Ok(a)
	}
}

type Reply = tokio::sync::mpsc::UnboundedSender<Piece>;

/// A request being generated: its own cache position, adapter, sampler and text so far.
struct Sequence {
	out: Reply,
	adapter: Option<Arc<BatchAdapter>>,
	sampling: Sampling,
	rng: rand::rngs::StdRng,
	detok: Detokenizer,
	text: TextStream,
	/// Tokens sampled (the end token included), and those that are text.
	sampled: usize,
	generated: Vec<u32>,
	/// The token the next step feeds.
	last: u32,
}

/// A request whose prompt is running, chunk by chunk.
struct Prefill {
	seq: Sequence,
	ids: Vec<u32>,
	/// Prompt tokens already in `cache`.
	done: usize,
	cache: Cache,
}

struct Worker {
	model: Pretrained,
	cache: AdapterCache,
	max_batch: usize,
	prefill_chunk: usize,
	/// Admitted requests whose prompts are running, oldest first (one chunk per step).
	prefilling: VecDeque<Prefill>,
	/// Sequences being decoded, and their key/value caches (same order).
	running: Vec<Sequence>,
	caches: Vec<Cache>,
	peak: Arc<AtomicUsize>,
}

impl Worker {
	fn run(mut self, rx: Receiver<(Request, Reply)>) {
		loop {
			// Wait when idle; otherwise take in whatever arrived, up to the batch size.
			if self.running.is_empty() && self.prefilling.is_empty() {
				match rx.recv() {
					Ok((req, out)) => self.admit(req, out),
					Err(_) => return,
				}
			}
			while self.running.len() + self.prefilling.len() < self.max_batch {
				match rx.try_recv() {
					Ok((req, out)) => self.admit(req, out),
					Err(_) => break,
				}
			}
			self.prefill_chunk();
			if !self.running.is_empty() {
				self.step();
			}
		}
	}

	/// Reads the request's adapter and prompt; its prompt then runs chunk by chunk
	/// ([`Worker::prefill_chunk`]).
	fn admit(&mut self, req: Request, out: Reply) {
		if out.is_closed() {
			return; // the client left while it waited
		}
		let adapter = match &req.adapter {
			Some(a) => match self.cache.get(self.model.model.as_mut(), &a.id, &a.dir) {
				Ok(a) => Some(a),
				Err(e) => {
					let _ = out.send(Piece::Failed(e));
					return;
				}
			},
			None => None,
		};
		let ids = match self.tokens(&req.prompt) {
			Ok(ids) => ids,
			Err(e) => {
				let _ = out.send(Piece::Failed(e));
				return;
			}
		};
		let vocab = self.model.tokenizer.get_vocab_size(true);
		if let Some((t, _)) = req.logit_bias.iter().find(|(t, _)| *t as usize >= vocab) {
			let _ = out.send(Piece::Failed(format!(
				"`logit_bias` names token {t}; this model's vocabulary has {vocab} tokens"
			)));
			return;
		}
		let sampling = Sampling {
			temperature: req.temperature,
			top_p: req.top_p,
			max_new_tokens: req.max_tokens,
			stop_tokens: self.model.stop_tokens.clone(),
			seed: req.seed,
			logit_bias: req.logit_bias.clone(),
		};
		let seq = Sequence {
			out,
			adapter,
			rng: model_factory::lora::rng(sampling.seed),
			sampling,
			detok: Detokenizer::default(),
			text: TextStream::new(req.stop),
			sampled: 0,
			generated: Vec::new(),
			last: 0,
		};
		let cache = self.model.model.cache();
		self.prefilling.push_back(Prefill { seq, ids, done: 0, cache });
	}

	/// Runs the next chunk of the oldest running prompt (one row, its adapter); when the prompt
	/// is done, the sequence samples its first token and joins the batch unless that ended it.
	fn prefill_chunk(&mut self) {
		let Some(mut p) = self.prefilling.pop_front() else { return };
		if p.seq.out.is_closed() {
			return; // the client left
		}
		let end = (p.done + self.prefill_chunk).min(p.ids.len());
		let rows = RowAdapters::new(vec![p.seq.adapter.clone()]);
		let m = self.model.model.as_ref();
		let logits = Tensor::new(&p.ids[p.done..end], &m.device())
			.and_then(|t| t.unsqueeze(0))
			.and_then(|t| m.forward_rows_last(&t, std::slice::from_mut(&mut p.cache), Some(&rows)));
		let logits = match logits {
			Ok(l) => l,
			Err(e) => {
				let _ = p.seq.out.send(Piece::Failed(e.to_string()));
				return;
			}
		};
		p.done = end;
		if p.done < p.ids.len() {
			self.prefilling.push_front(p);
			return;
		}
		let logits = match last_rows(&logits) {
			Ok(mut l) => l.remove(0),
			Err(e) => {
				let _ = p.seq.out.send(Piece::Failed(e.to_string()));
				return;
			}
		};
		let _ = p.seq.out.send(Piece::Started { prompt_tokens: p.ids.len() });
		let Prefill { mut seq, cache, .. } = p;
		if self.accept(&mut seq, &logits, cache.len) {
			self.running.push(seq);
			self.caches.push(cache);
		}
	}

	/// One decoding step for every running sequence, as one batch whose rows carry their own
	/// adapters and positions.
	fn step(&mut self) {
		// Clients that left stop their generation.
		let mut i = 0;
		while i < self.running.len() {
			if self.running[i].out.is_closed() {
				self.running.swap_remove(i);
				self.caches.swap_remove(i);
			} else {
				i += 1;
			}
		}
		if self.running.is_empty() {
			return;
		}
		self.peak.fetch_max(self.running.len(), Ordering::Relaxed);
		let last: Vec<u32> = self.running.iter().map(|s| s.last).collect();
		let rows = RowAdapters::new(self.running.iter().map(|s| s.adapter.clone()).collect());
		let m = self.model.model.as_ref();
		let logits = Tensor::new(last.as_slice(), &m.device())
			.and_then(|t| t.unsqueeze(1))
			.and_then(|t| m.forward_rows(&t, &mut self.caches, Some(&rows)))
			.and_then(|l| last_rows(&l));
		let logits = match logits {
			Ok(l) => l,
			Err(e) => {
				for s in self.running.drain(..) {
					let _ = s.out.send(Piece::Failed(format!("generation failed: {e}")));
				}
				self.caches.clear();
				return;
			}
		};
		let running = std::mem::take(&mut self.running);
		let caches = std::mem::take(&mut self.caches);
		for ((mut seq, cache), l) in running.into_iter().zip(caches).zip(logits) {
			if self.accept(&mut seq, &l, cache.len) {
				self.running.push(seq);
				self.caches.push(cache);
			}
		}
	}

	/// Samples the sequence's next token from `logits` and streams what it makes final; false when
	/// the sequence has ended (its end was sent) or its client left. `held`: positions in its cache.
	fn accept(&self, seq: &mut Sequence, logits: &[f32], held: usize) -> bool {
		let t = pick(logits, &seq.sampling, &mut seq.rng);
		seq.sampled += 1;
		seq.last = t;
		let tokenizer = &self.model.tokenizer;
		let finish = if seq.sampling.stop_tokens.contains(&t) {
			Some(Finish::Stop)
		} else {
			seq.generated.push(t);
			let (piece, stopped) = match seq.detok.push(tokenizer, &seq.generated) {
				Ok(()) => seq.text.advance(&seq.detok.text),
				Err(_) => (String::new(), false),
			};
			if !piece.is_empty() && seq.out.send(Piece::Text(piece)).is_err() {
				return false; // the client left
			}
			if stopped {
				Some(Finish::Stop)
			} else if seq.sampled >= seq.sampling.max_new_tokens
				|| self.model.model.max_positions().is_some_and(|n| held >= n)
			{
				Some(Finish::Length)
			} else {
				None
			}
		};
		let Some(finish) = finish else { return true };
		if finish == Finish::Length {
			if let Ok(decoded) = seq.detok.finish(tokenizer, &seq.generated) {
				let rest = seq.text.flush(decoded);
				if !rest.is_empty() {
					let _ = seq.out.send(Piece::Text(rest));
				}
			}
		}
		let _ = seq.out.send(Piece::Done { finish, completion_tokens: seq.sampled });
		false
	}

	fn tokens(&self, prompt: &Prompt) -> Result<Vec<u32>, String> {
		prompt_tokens(&self.model, prompt)
	}
}

/// Each row's logits at its last position, as f32: (rows, t, vocab) -> rows of vocab.
fn last_rows(logits: &Tensor) -> candle_core::Result<Vec<Vec<f32>>> {
	let t = logits.dim(1)?;
	logits.narrow(1, t - 1, 1)?.squeeze(1)?.to_dtype(candle_core::DType::F32)?.to_vec2()
}

/// The tokens `prompt` runs as on `p` (a conversation rendered with its chat template; plain text
/// after the BOS token when the model has one), or why it cannot run.
pub fn prompt_tokens(p: &Pretrained, prompt: &Prompt) -> Result<Vec<u32>, String> {
	let (text, special) = match prompt {
		Prompt::Chat { messages, tools } => {
			let extras = Extras { tools: tools.clone(), variables: vec![] };
			(p.template.render_with(messages, true, &extras)?, false)
		}
		Prompt::Text(t) => (t.clone(), true),
	};
	let mut ids =
		p.tokenizer.encode(text.as_str(), false).map_err(|e| e.to_string())?.get_ids().to_vec();
	if special {
		if let Some(bos) = p.bos_token_id {
			ids.insert(0, bos);
		}
	}
	if ids.is_empty() {
		return Err("the prompt is empty".into());
	}
	if let Some(n) = p.model.max_positions() {
		if ids.len() >= n {
			return Err(format!(
				"the prompt is {} tokens; this model's context holds {n}",
				ids.len()
			));
		}
	}
	Ok(ids)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn text(prompt: &str, max_tokens: usize) -> Request {
		Request {
			model: "tiny".into(),
			adapter: None,
			prompt: Prompt::Text(prompt.into()),
			max_tokens,
			temperature: 0.0,
			top_p: 1.0,
			seed: 0,
			stop: vec![],
			logit_bias: vec![],
		}
	}

	/// While a 30-word prompt runs, `chunk` tokens at a time: its length in tokens, the decoding
	/// steps the running sequence makes, and the tokens it has sampled by the prompt's end.
	fn during_a_long_prompt(chunk: usize) -> (usize, usize, usize) {
		let dir = tempfile::tempdir().unwrap();
		let base = dir.path().join("base");
		super::super::tests::tiny_base(&base);
		let mut w = Worker {
			model: super::super::tests::load(&base),
			cache: AdapterCache::new(1, false),
			max_batch: 4,
			prefill_chunk: chunk,
			prefilling: VecDeque::new(),
			running: Vec::new(),
			caches: Vec::new(),
			peak: Arc::new(AtomicUsize::new(0)),
		};
		// A sequence running, as the engine's loop leaves it: prompt done, first token sampled.
		let (a, _ra) = tokio::sync::mpsc::unbounded_channel();
		w.admit(text("what is a river ?", 100), a);
		for _ in 0..100 {
			if !w.running.is_empty() {
				break;
			}
			w.prefill_chunk();
		}
		assert_eq!(w.running.len(), 1);
		// A long prompt arrives: the loop runs a chunk of it, then a step of the batch.
		let (b, mut rb) = tokio::sync::mpsc::unbounded_channel();
		w.admit(text(&"river ".repeat(30), 4), b);
		for steps in 0..100 {
			w.prefill_chunk();
			if let Ok(Piece::Started { prompt_tokens }) = rb.try_recv() {
				return (prompt_tokens, steps, w.running[0].sampled);
			}
			w.step();
		}
		panic!("the long prompt never started");
	}

	#[test]
	fn a_long_prompt_runs_a_chunk_between_decoding_steps_not_all_at_once() {
		// In chunks of 3: a decoding step after each chunk but the last.
		let (n, steps, sampled) = during_a_long_prompt(3);
		assert!(n >= 30);
		assert_eq!((steps, sampled), (n.div_ceil(3) - 1, n.div_ceil(3)));
		// Whole: the running sequence waits for all of it.
		assert_eq!(during_a_long_prompt(256), (n, 0, 1));
	}
}
