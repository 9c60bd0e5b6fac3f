//! Training data from a datanet's text contributions: plain text (packed into fixed-length windows,
//! every token trained) and instruction data as JSON lines (rendered with the model's chat template;
//! only the assistant's tokens carry loss).
//!
//! The JSON-lines schema is the one the curators check (docs/data-plane.md): each line is
//! `{"prompt": .., "response": ..}` (with an optional `"system"` prompt),
//! `{"messages": [{"role": .., "content": ..}, ..]}` or
//! `{"text": ..}`.

use crate::chat::{ChatTemplate, Message};
use crate::train::Example;
use rand::seq::SliceRandom;
use std::path::Path;
use tokenizers::Tokenizer;

#[derive(Debug, Clone, PartialEq)]
pub enum Record {
	Text(String),
	Chat(Vec<Message>),
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
	#[error("cannot read {path}: {reason}")]
	Io { path: String, reason: String },
	#[error("{path} line {line}: {reason}")]
	Line { path: String, line: usize, reason: String },
	#[error("tokenizer: {0}")]
	Tokenizer(String),
	#[error("chat template: {0}")]
	Template(String),
	#[error("no training examples in the data")]
	Empty,
}

/// Parses one JSON line of the instruction schema.
pub fn parse_line(line: &str) -> Result<Record, String> {
	let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
	let text = |k: &str| v.get(k).and_then(|x| x.as_str());
	if let (Some(p), Some(r)) = (text("prompt"), text("response")) {
		let system = text("system").filter(|s| !s.trim().is_empty());
		let mut msgs: Vec<Message> =
			system.map(|s| Message::new("system", s)).into_iter().collect();
		msgs.extend([Message::new("user", p), Message::new("assistant", r)]);
		return Ok(Record::Chat(msgs));
	}
	if let Some(m) = v.get("messages") {
		let msgs: Vec<Message> =
			serde_json::from_value(m.clone()).map_err(|e| format!("messages: {e}"))?;
		if !msgs.iter().any(|m| m.role == "assistant") {
			return Err("messages has no assistant turn to learn from".into());
		}
		return Ok(Record::Chat(msgs));
	}
	if let Some(t) = text("text") {
		return Ok(Record::Text(t.to_string()));
	}
	Err("expected prompt/response, messages or text".into())
}

/// Reads a dataset file: `.jsonl` by the schema above, anything else as one plain text.
pub fn read(path: &Path) -> Result<Vec<Record>, DataError> {
	let raw = std::fs::read_to_string(path)
		.map_err(|e| DataError::Io { path: path.display().to_string(), reason: e.to_string() })?;
	if path.extension().is_some_and(|e| e == "jsonl") {
		raw.lines()
			.enumerate()
			.filter(|(_, l)| !l.trim().is_empty())
			.map(|(i, l)| {
				parse_line(l).map_err(|reason| DataError::Line {
					path: path.display().to_string(),
					line: i + 1,
					reason,
				})
			})
			.collect()
	} else {
		Ok(vec![Record::Text(raw)])
	}
}

/// How records become token sequences.
pub struct Tokenize<'a> {
	pub tokenizer: &'a Tokenizer,
	pub template: &'a ChatTemplate,
	pub bos_token_id: Option<u32>,
	/// Longest sequence; plain text is cut into windows of this length, chats are truncated.
	pub seq_len: usize,
}

impl Tokenize<'_> {
	fn encode(&self, text: &str) -> Result<Vec<u32>, DataError> {
		Ok(self
			.tokenizer
			.encode(text, false)
			.map_err(|e| DataError::Tokenizer(e.to_string()))?
			.get_ids()
			.to_vec())
	}

	/// A conversation as (text, trained) pieces: everything up to each assistant reply (including
	/// the template's generation prompt) is context; the reply and its end-of-turn marker are trained.
	pub fn chat_pieces(&self, msgs: &[Message]) -> Result<Vec<(String, bool)>, DataError> {
		let render =
			|m: &[Message], gen: bool| self.template.render(m, gen).map_err(DataError::Template);
		let mut pieces = Vec::new();
		let mut done = String::new();
		for (i, m) in msgs.iter().enumerate() {
			if m.role != "assistant" {
				continue;
			}
			let prefix = render(&msgs[..i], true)?;
			let full = render(&msgs[..=i], false)?;
			let (Some(context), Some(reply)) =
				(prefix.strip_prefix(done.as_str()), full.strip_prefix(prefix.as_str()))
			else {
				return Err(DataError::Template(
					"the template does not render a conversation as a prefix of its continuation"
						.into(),
				));
			};
			pieces.push((context.to_string(), false));
			pieces.push((reply.to_string(), true));
			done = full;
		}
		Ok(pieces)
	}

	/// Turns records into examples.
	pub fn examples(&self, records: &[Record]) -> Result<Vec<Example>, DataError> {
		Ok(self.examples_of(records)?.into_iter().map(|(_, e)| e).collect())
	}

	/// [`Self::examples`], each with the index of the record it came from (a long text gives
	/// several examples; a record may give none).
	pub fn examples_of(&self, records: &[Record]) -> Result<Vec<(usize, Example)>, DataError> {
		let n = self.seq_len.max(2);
		let mut out = Vec::new();
		for (index, r) in records.iter().enumerate() {
			match r {
				Record::Text(t) => {
					let mut ids: Vec<u32> = self.bos_token_id.into_iter().collect();
					ids.extend(self.encode(t)?);
					for w in ids.chunks(n).filter(|w| w.len() >= 2) {
						out.push((
							index,
							Example { ids: w.to_vec(), train_on: vec![true; w.len()] },
						));
					}
				}
				Record::Chat(msgs) => {
					let (mut ids, mut train_on) = (Vec::new(), Vec::new());
					for (text, trained) in self.chat_pieces(msgs)? {
						let t = self.encode(&text)?;
						train_on.extend(std::iter::repeat_n(trained, t.len()));
						ids.extend(t);
					}
					// train_on[i] says whether predicting token i+1 counts: shift the mask left.
					let mut predicts: Vec<bool> = train_on.iter().skip(1).copied().collect();
					predicts.push(false);
					ids.truncate(n);
					predicts.truncate(n);
					if ids.len() >= 2 && predicts.iter().any(|x| *x) {
						out.push((index, Example { ids, train_on: predicts }));
					}
				}
			}
		}
		if out.is_empty() {
			return Err(DataError::Empty);
		}
		Ok(out)
	}
}

/// Splits off a seeded `eval_fraction` (at least one example when there are two or more). The
/// order depends only on the count and the seed, whatever the items are.
pub fn split<T>(mut examples: Vec<T>, eval_fraction: f64, seed: u64) -> (Vec<T>, Vec<T>) {
	examples.shuffle(&mut crate::lora::rng(seed));
	let n = examples.len();
	let k = if eval_fraction <= 0.0 || n < 2 {
		0
	} else {
		((n as f64 * eval_fraction).round() as usize).clamp(1, n - 1)
	};
	let eval = examples.split_off(n - k);
	(examples, eval)
}

#[cfg(test)]
mod tests {
	use super::*;
	use tokenizers::models::wordlevel::WordLevel;
	use tokenizers::pre_tokenizers::whitespace::Whitespace;

	/// A word-level tokenizer over a small vocabulary (ChatML markers included as words).
	fn tokenizer() -> Tokenizer {
		let words = [
			"[UNK]",
			"<|im_start|>",
			"<|im_end|>",
			"user",
			"assistant",
			"hi",
			"hello",
			"the",
			"river",
			"flows",
			"|",
			"<",
			">",
			"im_start",
			"im_end",
		];
		let vocab = words.iter().enumerate().map(|(i, w)| (w.to_string(), i as u32)).collect();
		let model = WordLevel::builder().vocab(vocab).unk_token("[UNK]".into()).build().unwrap();
		let mut t = Tokenizer::new(model);
		t.with_pre_tokenizer(Some(Whitespace {}));
		t
	}

	#[test]
	fn the_schema_is_parsed_and_violations_are_located() {
		assert_eq!(
			parse_line(r#"{"prompt": "hi", "response": "hello"}"#).unwrap(),
			Record::Chat(vec![Message::new("user", "hi"), Message::new("assistant", "hello")])
		);
		assert_eq!(
			parse_line(r#"{"text": "the river"}"#).unwrap(),
			Record::Text("the river".into())
		);
		assert!(parse_line(r#"{"messages": [{"role": "user", "content": "hi"}]}"#)
			.unwrap_err()
			.contains("no assistant"));
		let dir = tempfile::tempdir().unwrap();
		let p = dir.path().join("d.jsonl");
		std::fs::write(&p, "{\"text\": \"a\"}\n\n{\"oops\": 1}\n").unwrap();
		let e = read(&p).unwrap_err().to_string();
		assert!(e.ends_with("d.jsonl line 3: expected prompt/response, messages or text"), "{e}");
	}

	#[test]
	fn only_assistant_tokens_carry_loss_and_text_is_packed() {
		let tok = tokenizer();
		let tpl = ChatTemplate::for_family(crate::model::Family::Qwen2);
		let t = Tokenize { tokenizer: &tok, template: &tpl, bos_token_id: None, seq_len: 64 };
		let ex =
			t.examples(&[parse_line(r#"{"prompt": "hi", "response": "hello"}"#).unwrap()]).unwrap();
		let e = &ex[0];
		let words: Vec<String> = e.ids.iter().map(|i| tok.id_to_token(*i).unwrap()).collect();
		// Pre-tokenized on punctuation: "<|im_start|>" is several word tokens here; what matters is
		// which predictions count: exactly those of "hello" and the end-of-turn marker that follows.
		let counted: Vec<&str> =
			(0..e.ids.len()).filter(|&i| e.train_on[i]).map(|i| words[i + 1].as_str()).collect();
		assert_eq!(counted.first(), Some(&"hello"), "{words:?} {:?}", e.train_on);
		assert!(!counted.contains(&"hi") && !counted.contains(&"user"));
		assert_eq!(e.train_on.len(), e.ids.len());

		let t4 = Tokenize { seq_len: 4, ..t };
		let ex =
			t4.examples(&[Record::Text("the river flows the river flows the".into())]).unwrap();
		assert_eq!(ex.iter().map(|e| e.ids.len()).collect::<Vec<_>>(), vec![4, 3]);
		assert!(ex.iter().all(|e| e.train_on.iter().all(|x| *x)));
		assert!(matches!(t4.examples(&[Record::Text("".into())]), Err(DataError::Empty)));
		let (tr, ev) = split(ex.clone(), 0.5, 1);
		assert_eq!((tr.len(), ev.len()), (1, 1));
	}
}
