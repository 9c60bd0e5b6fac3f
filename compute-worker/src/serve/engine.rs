//! The serving engine: one base model in memory, the adapters trained on it applied per request.
//!
//! Requests queue (bounded) to one generation thread that owns the model. Before a request runs,
//! the thread puts the request's adapter on the base (or takes every adapter off for the base
//! itself): adapters are read from their folder once and kept in a bounded least-recently-used
//! cache, so a switch is a copy of the adapter's tensors. Text streams out as it is decoded; stop
//! strings end generation, and text that may still turn into a stop string is held back until it
//! cannot.
//!
//! This engine runs one request at a time. Batching rows of different adapters in one forward pass
//! is the next step (issue 19).

use model_factory::chat::Message;
use model_factory::generate::{generate, Sampling};
use model_factory::lora::LoraConfig;
use model_factory::pretrained::Pretrained;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

/// What a request asks the model to continue.
#[derive(Debug, Clone)]
pub enum Prompt {
	/// A conversation, rendered with the model's chat template.
	Chat(Vec<Message>),
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
}

/// The handle requests are submitted through.
#[derive(Clone)]
pub struct Engine {
	tx: SyncSender<(Request, tokio::sync::mpsc::UnboundedSender<Piece>)>,
	queue: usize,
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
			cache: AdapterCache::new(limits.cached_adapters.max(1)),
			applied: None,
		};
		std::thread::Builder::new()
			.name("serve-engine".into())
			.spawn(move || worker.run(rx))
			.expect("spawn the engine thread");
		Self { tx, queue: limits.queue.max(1) }
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

/// An adapter read from its folder: its configuration and tensors by PEFT name.
struct LoadedAdapter {
	cfg: LoraConfig,
	tensors: HashMap<String, candle_core::Tensor>,
}

struct AdapterCache {
	cap: usize,
	/// Most recently used last.
	order: VecDeque<String>,
	loaded: HashMap<String, Arc<LoadedAdapter>>,
}

impl AdapterCache {
	fn new(cap: usize) -> Self {
		Self { cap, order: VecDeque::new(), loaded: HashMap::new() }
	}

	fn get(&mut self, id: &str, dir: &std::path::Path) -> Result<Arc<LoadedAdapter>, String> {
		if let Some(a) = self.loaded.get(id).cloned() {
			self.order.retain(|x| x != id);
			self.order.push_back(id.to_string());
			return Ok(a);
		}
		let cfg = model_factory::adapter::load_config(dir).map_err(|e| e.to_string())?;
		let file = dir.join("adapter_model.safetensors");
		let tensors = candle_core::safetensors::load(&file, &candle_core::Device::Cpu)
			.map_err(|e| format!("{}: {e}", file.display()))?;
		let a = Arc::new(LoadedAdapter { cfg, tensors });
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

struct Worker {
	model: Pretrained,
	cache: AdapterCache,
	/// The adapter on the base now (`None`: the bare base).
	applied: Option<String>,
}

impl Worker {
	fn run(mut self, rx: Receiver<(Request, tokio::sync::mpsc::UnboundedSender<Piece>)>) {
		while let Ok((req, out)) = rx.recv() {
			if out.is_closed() {
				continue; // the client left while it waited
			}
			if let Err(e) = self.serve(&req, &out) {
				let _ = out.send(Piece::Failed(e));
			}
		}
	}

	/// Takes every adapter off the base.
	fn detach_all(&mut self) {
		for (_, l) in self.model.model.linears_mut() {
			l.lora = None;
		}
		self.applied = None;
	}

	/// Puts `adapter` on the base (`None`: takes every adapter off).
	fn apply(&mut self, adapter: Option<&Adapter>) -> Result<(), String> {
		let wanted = adapter.map(|a| a.id.clone());
		if wanted == self.applied {
			return Ok(());
		}
		self.detach_all();
		let Some(adapter) = adapter else { return Ok(()) };
		let id = adapter.id.clone();
		let a = self.cache.get(&id, &adapter.dir)?;
		let fail =
			|e: &dyn std::fmt::Display| format!("the adapter {id} does not fit the base: {e}");
		self.model.model.attach_lora(&a.cfg, 0).map_err(|e| fail(&e))?;
		let vars = self.model.model.lora_vars();
		let set = || -> Result<(), String> {
			if vars.len() != a.tensors.len() {
				return Err(format!(
					"it has {} tensors, the base takes {} for its targets",
					a.tensors.len(),
					vars.len()
				));
			}
			model_factory::adapter::assign(&a.tensors, &vars).map_err(|e| e.to_string())
		};
		if let Err(e) = set() {
			// Never answer from a half-applied adapter.
			self.detach_all();
			return Err(fail(&e));
		}
		self.applied = Some(id);
		Ok(())
	}

	fn tokens(&self, prompt: &Prompt) -> Result<Vec<u32>, String> {
		let p = &self.model;
		let (text, special) = match prompt {
			Prompt::Chat(msgs) => {
				(p.template.render(msgs, true).map_err(|e| e.to_string())?, false)
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

	fn serve(
		&mut self,
		req: &Request,
		out: &tokio::sync::mpsc::UnboundedSender<Piece>,
	) -> Result<(), String> {
		self.apply(req.adapter.as_ref())?;
		let ids = self.tokens(&req.prompt)?;
		let _ = out.send(Piece::Started { prompt_tokens: ids.len() });
		let s = Sampling {
			temperature: req.temperature,
			top_p: req.top_p,
			max_new_tokens: req.max_tokens,
			stop_tokens: self.model.stop_tokens.clone(),
			seed: req.seed,
		};
		let mut text = TextStream::new(&req.stop);
		let mut generated: Vec<u32> = Vec::new();
		let mut finish = Finish::Length;
		let stop_tokens = s.stop_tokens.clone();
		let tokenizer = &self.model.tokenizer;
		let produced = generate(self.model.model.as_ref(), &ids, &s, |t| {
			if stop_tokens.contains(&t) {
				finish = Finish::Stop;
				return false;
			}
			generated.push(t);
			let Ok(decoded) = tokenizer.decode(&generated, true) else { return true };
			let (piece, stopped) = text.advance(&decoded);
			if !piece.is_empty() && out.send(Piece::Text(piece)).is_err() {
				return false; // the client left
			}
			if stopped {
				finish = Finish::Stop;
				return false;
			}
			true
		})
		.map_err(|e| e.to_string())?;
		if finish == Finish::Length {
			let decoded = tokenizer.decode(&generated, true).map_err(|e| e.to_string())?;
			let rest = text.flush(&decoded);
			if !rest.is_empty() {
				let _ = out.send(Piece::Text(rest));
			}
		}
		let _ = out.send(Piece::Done { finish, completion_tokens: produced.len() });
		Ok(())
	}
}

/// Turns the decoded text of the tokens so far into the pieces to send: only text that is final
/// (not the start of a stop string, not an unfinished character), and nothing from a stop string
/// on.
struct TextStream<'a> {
	stop: &'a [String],
	sent: usize,
}

impl<'a> TextStream<'a> {
	fn new(stop: &'a [String]) -> Self {
		Self { stop, sent: 0 }
	}

	/// The new final text of `decoded`, and whether a stop string was reached.
	fn advance(&mut self, decoded: &str) -> (String, bool) {
		if let Some(at) = self
			.stop
			.iter()
			.filter(|s| !s.is_empty())
			.filter_map(|s| decoded.find(s.as_str()))
			.min()
		{
			let piece = decoded.get(self.sent..at).unwrap_or_default().to_string();
			self.sent = at.max(self.sent);
			return (piece, true);
		}
		// A tokenizer shows an unfinished multi-byte character as U+FFFD: wait for the rest.
		let mut end = decoded.trim_end_matches('\u{FFFD}').len();
		// Hold back the longest tail that a stop string starts with.
		let held = self
			.stop
			.iter()
			.flat_map(|s| (1..s.len()).filter(|&n| s.is_char_boundary(n)).map(move |n| &s[..n]))
			.filter(|p| decoded[..end].ends_with(p))
			.map(str::len)
			.max()
			.unwrap_or(0);
		end -= held;
		if end <= self.sent || !decoded.is_char_boundary(end) {
			return (String::new(), false);
		}
		let piece = decoded[self.sent..end].to_string();
		self.sent = end;
		(piece, false)
	}

	/// Whatever is left at the end (no stop string came).
	fn flush(&mut self, decoded: &str) -> String {
		let piece = decoded.get(self.sent..).unwrap_or_default().to_string();
		self.sent = decoded.len();
		piece
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn run(stop: &[&str], steps: &[&str]) -> (String, bool) {
		let stop: Vec<String> = stop.iter().map(|s| s.to_string()).collect();
		let mut t = TextStream::new(&stop);
		let mut all = String::new();
		for s in steps {
			let (p, stopped) = t.advance(s);
			all += &p;
			if stopped {
				return (all, true);
			}
		}
		all += &t.flush(steps.last().unwrap());
		(all, false)
	}

	#[test]
	fn stop_strings_end_the_text_before_them_even_across_tokens() {
		assert_eq!(run(&["\n\n"], &["Hi", "Hi\n", "Hi\n\nthere"]), ("Hi".into(), true));
		assert_eq!(run(&["END"], &["a E", "a EN", "a ENX"]), ("a ENX".into(), false));
		assert_eq!(run(&[], &["a", "ab"]), ("ab".into(), false));
		assert_eq!(run(&["b"], &["ab"]), ("a".into(), true));
	}

	#[test]
	fn held_text_is_not_sent_until_it_cannot_start_a_stop_string() {
		let stop = vec!["END".to_string()];
		let mut t = TextStream::new(&stop);
		assert_eq!(t.advance("ok E"), ("ok ".into(), false));
		assert_eq!(t.advance("ok EN"), ("".into(), false));
		assert_eq!(t.advance("ok ENd"), ("ENd".into(), false));
		// An unfinished character (shown as U+FFFD) waits for its last byte.
		let mut t = TextStream::new(&[]);
		assert_eq!(t.advance("é\u{FFFD}"), ("é".into(), false));
		assert_eq!(t.advance("éü"), ("ü".into(), false));
	}
}
