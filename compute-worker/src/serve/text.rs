//! From tokens to the text a client is sent: decoded incrementally, held back while it may still
//! be the start of a stop string or of an unfinished character.

use model_factory::pretrained::Tokenizer;

/// Decodes a growing list of tokens without decoding all of them again at every token: only the
/// tokens since the last emitted text, with one earlier token for context (a tokenizer may render a
/// token differently at the start of a text, such as without its leading space). Text is added only
/// when it ends on a whole character.
#[derive(Default)]
pub struct Detokenizer {
	/// Start of the context window, and the end of what `text` already holds.
	prefix: usize,
	read: usize,
	/// The text of the tokens so far.
	pub text: String,
}

impl Detokenizer {
	/// Extends `text` with what `ids[..]` (the previous ids plus new ones) adds.
	pub fn push(&mut self, tok: &Tokenizer, ids: &[u32]) -> Result<(), String> {
		let decode = |ids: &[u32]| tok.decode(ids, true).map_err(|e| e.to_string());
		let before = decode(&ids[self.prefix..self.read])?;
		let now = decode(&ids[self.prefix..])?;
		if now.len() > before.len() && !now.ends_with('\u{FFFD}') {
			match now.get(before.len()..) {
				Some(new) if now.starts_with(&before) => self.text.push_str(new),
				// The context decoded differently once followed: decode everything this once.
				_ => self.text = decode(ids)?,
			}
			self.prefix = self.read;
			self.read = ids.len();
		}
		Ok(())
	}

	/// The whole text at the end, unfinished characters included (as U+FFFD).
	pub fn finish(&mut self, tok: &Tokenizer, ids: &[u32]) -> Result<&str, String> {
		if self.read < ids.len() {
			self.text = tok.decode(ids, true).map_err(|e| e.to_string())?;
			self.read = ids.len();
		}
		Ok(&self.text)
	}
}

/// Turns the decoded text of the tokens so far into the pieces to send: only text that is final
/// (not the start of a stop string, not an unfinished character), and nothing from a stop string
/// on.
pub struct TextStream {
	stop: Vec<String>,
	sent: usize,
}

impl TextStream {
	pub fn new(stop: Vec<String>) -> Self {
		Self { stop, sent: 0 }
	}

	/// The new final text of `decoded`, and whether a stop string was reached.
	pub fn advance(&mut self, decoded: &str) -> (String, bool) {
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
	pub fn flush(&mut self, decoded: &str) -> String {
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
		let mut t = TextStream::new(stop);
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
		let mut t = TextStream::new(stop);
		assert_eq!(t.advance("ok E"), ("ok ".into(), false));
		assert_eq!(t.advance("ok EN"), ("".into(), false));
		assert_eq!(t.advance("ok ENd"), ("ENd".into(), false));
		// An unfinished character (shown as U+FFFD) waits for its last byte.
		let mut t = TextStream::new(vec![]);
		assert_eq!(t.advance("é\u{FFFD}"), ("é".into(), false));
		assert_eq!(t.advance("éü"), ("ü".into(), false));
	}

	/// A byte-level BPE with no merges: every byte its own token, so a character of several bytes
	/// spans several tokens (as in GPT-2's and SmolLM2's tokenizers).
	fn byte_level() -> Tokenizer {
		let mut bytes: Vec<u32> =
			(u32::from(b'!')..=u32::from(b'~')).chain(0xA1..=0xAC).chain(0xAE..=0xFF).collect();
		let mut chars = bytes.clone();
		for b in 0..256u32 {
			if !bytes.contains(&b) {
				bytes.push(b);
				chars.push(256 + chars.len() as u32 - 188);
			}
		}
		let vocab: serde_json::Map<String, serde_json::Value> = bytes
			.iter()
			.zip(&chars)
			.map(|(b, c)| (char::from_u32(*c).unwrap().to_string(), serde_json::json!(b)))
			.collect();
		let bl = serde_json::json!({"type": "ByteLevel", "add_prefix_space": false,
			"trim_offsets": true, "use_regex": true});
		let json = serde_json::json!({"version": "1.0", "truncation": null, "padding": null,
			"added_tokens": [], "normalizer": null, "pre_tokenizer": bl, "post_processor": null,
			"decoder": bl, "model": {"type": "BPE", "dropout": null, "unk_token": null,
			"continuing_subword_prefix": null, "end_of_word_suffix": null, "fuse_unk": false,
			"byte_fallback": false, "vocab": vocab, "merges": []}});
		json.to_string().parse().unwrap()
	}

	#[test]
	fn incremental_decoding_gives_the_full_decode_and_never_half_a_character() {
		let tok = byte_level();
		let full = "héllo, wörld: 日本語 ok 🙂!";
		let ids = tok.encode(full, false).unwrap().get_ids().to_vec();
		assert!(ids.len() > full.chars().count(), "characters span several tokens");
		let mut d = Detokenizer::default();
		let mut grew = 0;
		for n in 1..=ids.len() {
			let before = d.text.len();
			d.push(&tok, &ids[..n]).unwrap();
			assert!(!d.text.contains('\u{FFFD}'), "{:?}", d.text);
			assert!(full.starts_with(&d.text), "{:?}", d.text);
			grew += usize::from(d.text.len() > before);
		}
		assert_eq!(d.text, full);
		assert_eq!(grew, full.chars().count(), "text grows once per whole character");
		// Ending inside a character: the end shows it as the tokenizer does.
		let mut d = Detokenizer::default();
		let cut = &ids[..ids.len() - 2];
		for n in 1..=cut.len() {
			d.push(&tok, &cut[..n]).unwrap();
		}
		assert_eq!(d.finish(&tok, cut).unwrap(), tok.decode(cut, true).unwrap());
	}
}
