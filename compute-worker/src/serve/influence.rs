//! Influence in a chain model's answers: which contributions of its training text most shaped
//! each answer ([`model_factory::attribution::influence`]: each contribution's gradient features
//! at the adapter's weights against the answer's).
//!
//! One thread owns a second copy of the base (loaded on the first request: servers whose answers
//! never need influence never pay for it) and attaches the asked model's adapter as trainable
//! LoRA, which the decoding engine's copy never carries. A model's index (one backward pass over
//! its training examples, re-derived from the chain's dataset version exactly as its job split
//! them) is built in the background on the model's first answer, which says `indexing`; answers
//! after it carry scores. Indexes are kept least-recently-used first out.

use super::engine::{prompt_tokens, Adapter, Prompt};
use model_factory::attribution::influence::{Influence, InfluenceIndex};
use model_factory::data::Record;
use model_factory::finetune::split_examples;
use model_factory::pretrained::Pretrained;
use model_factory::train::Example;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

/// A dataset version's records, each with its contribution.
pub struct TrainingText {
	pub records: Vec<Record>,
	pub contributions: Vec<u64>,
}

/// What a model's job tokenized and split its text with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
	pub seq_len: usize,
	pub eval_fraction: f64,
	pub seed: u64,
}

/// One answer to score.
pub struct Ask {
	pub adapter: Adapter,
	pub text: Arc<TrainingText>,
	pub split: Split,
	pub prompt: Prompt,
	pub answer: String,
}

/// What an answer's `influence` says.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
	/// The contributions with the highest scores, highest first.
	Scores(Vec<Influence>),
	/// The model's index is being built; later answers carry scores.
	Indexing,
	Failed(String),
}

/// Limits of the influence thread.
#[derive(Debug, Clone, Copy)]
pub struct InfluenceLimits {
	/// Projected dimensions per side of each adapted layer.
	pub projection: usize,
	/// Models whose index is kept.
	pub indexes: usize,
	/// Contributions listed per answer.
	pub top: usize,
	/// Requests waiting; beyond, answers say why they carry no scores.
	pub queue: usize,
	/// How long an answer waits for its model's index to be built before it says `indexing`.
	pub wait: std::time::Duration,
}

enum Work {
	Build { adapter: Adapter, text: Arc<TrainingText>, split: Split },
	Score { ask: Ask, reply: tokio::sync::oneshot::Sender<Outcome> },
}

#[derive(Default)]
struct Status {
	ready: HashSet<String>,
	building: HashSet<String>,
	/// Models whose index could not be built, since when and why (tried again after a minute).
	failed: HashMap<String, (std::time::Instant, String)>,
}

const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// The handle answers ask through.
pub struct Influencer {
	tx: SyncSender<Work>,
	status: Arc<Mutex<Status>>,
	wait: std::time::Duration,
}

impl Influencer {
	/// Starts the thread; the base at `path` is opened on the first request.
	pub fn start(path: PathBuf, device: candle_core::Device, limits: InfluenceLimits) -> Self {
		let (tx, rx) = sync_channel(limits.queue.max(1));
		let status = Arc::new(Mutex::new(Status::default()));
		let worker = Worker {
			path,
			device,
			limits,
			model: None,
			attached: None,
			indexes: VecDeque::new(),
			status: status.clone(),
		};
		std::thread::Builder::new()
			.name("influence".into())
			.spawn(move || worker.run(rx))
			.expect("spawn the influence thread");
		Self { tx, status, wait: limits.wait }
	}

	/// The influence of `ask.adapter`'s training contributions on its answer. A model without an
	/// index gets one built, waited for at most the limits' `wait`.
	pub async fn influence(&self, ask: Ask) -> Outcome {
		let id = ask.adapter.id.clone();
		let deadline = std::time::Instant::now() + self.wait;
		loop {
			{
				let mut st = self.status.lock().expect("influence status");
				if st.failed.get(&id).is_some_and(|(at, _)| at.elapsed() >= RETRY_AFTER) {
					st.failed.remove(&id);
				}
				if let Some((_, e)) = st.failed.get(&id) {
					return Outcome::Failed(e.clone());
				}
				if st.ready.contains(&id) {
					break;
				}
				if st.building.insert(id.clone()) {
					let build = Work::Build {
						adapter: ask.adapter.clone(),
						text: ask.text.clone(),
						split: ask.split,
					};
					if self.tx.try_send(build).is_err() {
						st.building.remove(&id);
						return Outcome::Failed("the influence queue is full".into());
					}
				}
			}
			if std::time::Instant::now() >= deadline {
				return Outcome::Indexing;
			}
			tokio::time::sleep(std::time::Duration::from_millis(50)).await;
		}
		let (reply, rx) = tokio::sync::oneshot::channel();
		if self.tx.try_send(Work::Score { ask, reply }).is_err() {
			return Outcome::Failed("the influence queue is full".into());
		}
		rx.await.unwrap_or_else(|_| Outcome::Failed("the influence thread stopped".into()))
	}
}

struct Worker {
	path: PathBuf,
	device: candle_core::Device,
	limits: InfluenceLimits,
	model: Option<Pretrained>,
	/// The adapter the model carries now.
	attached: Option<String>,
	/// Built indexes, most recently used last.
	indexes: VecDeque<(String, InfluenceIndex)>,
	status: Arc<Mutex<Status>>,
}

impl Worker {
	fn run(mut self, rx: Receiver<Work>) {
		while let Ok(work) = rx.recv() {
			match work {
				Work::Build { adapter, text, split } => {
					let id = adapter.id.clone();
					let built = self.index(&adapter, &text, split).map(|_| ());
					let mut st = self.status.lock().expect("influence status");
					st.building.remove(&id);
					match built {
						Ok(()) => {
							st.ready.insert(id);
						}
						Err(e) => {
							tracing::warn!(model = %id, error = %e, "no influence index");
							st.failed.insert(id, (std::time::Instant::now(), e));
						}
					}
				}
				Work::Score { ask, reply } => {
					let out = match self.score(&ask) {
						Ok(s) => Outcome::Scores(s),
						Err(e) => Outcome::Failed(e),
					};
					let _ = reply.send(out);
				}
			}
		}
	}

	fn score(&mut self, ask: &Ask) -> Result<Vec<Influence>, String> {
		let i = self.index(&ask.adapter, &ask.text, ask.split)?;
		let top = self.limits.top;
		let p = self.model.as_mut().expect("the index opened the model");
		let mut ids = prompt_tokens(p, &ask.prompt)?;
		let prompt_len = ids.len();
		ids.extend(
			p.tokenizer.encode(ask.answer.as_str(), false).map_err(|e| e.to_string())?.get_ids(),
		);
		// train_on[i]: whether predicting token i+1 counts; only the answer's tokens do.
		let train_on = (0..ids.len()).map(|i| i + 1 >= prompt_len && i + 1 < ids.len()).collect();
		let answer = Example { ids, train_on };
		let (_, index) = &self.indexes[i];
		let mut scores = index.scores(p.model.as_mut(), &answer).map_err(|e| e.to_string())?;
		scores.truncate(top);
		Ok(scores)
	}

	/// The position of `adapter`'s index in `indexes` (built from `text`, split as its job did,
	/// if need be), the adapter attached.
	fn index(&mut self, adapter: &Adapter, text: &TrainingText, s: Split) -> Result<usize, String> {
		let id = &adapter.id;
		self.attach(adapter)?;
		if let Some(i) = self.indexes.iter().position(|(k, _)| k == id) {
			let hit = self.indexes.remove(i).expect("position");
			self.indexes.push_back(hit);
			return Ok(self.indexes.len() - 1);
		}
		let p = self.model.as_mut().expect("attached");
		let (train, _) = split_examples(p, &text.records, s.seq_len, s.eval_fraction, s.seed)
			.map_err(|e| e.to_string())?;
		let examples: Vec<(u64, Example)> =
			train.into_iter().map(|(r, e)| (text.contributions[r], e)).collect();
		let started = std::time::Instant::now();
		let index =
			InfluenceIndex::build(p.model.as_mut(), &examples, self.limits.projection, 0, 8)
				.map_err(|e| e.to_string())?;
		tracing::info!(
			model = %id,
			examples = examples.len(),
			contributions = index.contributions().len(),
			bytes = index.bytes(),
			ms = started.elapsed().as_millis() as u64,
			"influence index built"
		);
		while self.indexes.len() >= self.limits.indexes.max(1) {
			if let Some((gone, _)) = self.indexes.pop_front() {
				self.status.lock().expect("influence status").ready.remove(&gone);
			}
		}
		self.indexes.push_back((id.clone(), index));
		Ok(self.indexes.len() - 1)
	}

	/// Opens the model if need be and puts `adapter` on it (its LoRA as trainable parameters).
	fn attach(&mut self, adapter: &Adapter) -> Result<(), String> {
		if self.model.is_none() {
			let p =
				model_factory::pretrained::open(&self.path, candle_core::DType::F32, &self.device)
					.map_err(|e| format!("the base for influence: {e}"))?;
			self.model = Some(p);
		}
		if self.attached.as_deref() == Some(adapter.id.as_str()) {
			return Ok(());
		}
		let p = self.model.as_mut().expect("opened");
		p.model.detach_lora();
		self.attached = None;
		let cfg = model_factory::adapter::load_config(&adapter.dir).map_err(|e| e.to_string())?;
		p.model.attach_lora(&cfg, 0).map_err(|e| e.to_string())?;
		let vars = p.model.lora_vars();
		if let Err(e) = model_factory::adapter::load_into(&adapter.dir, &cfg, &vars) {
			p.model.detach_lora();
			return Err(e.to_string());
		}
		self.attached = Some(adapter.id.clone());
		Ok(())
	}
}
