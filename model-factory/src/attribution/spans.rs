//! Exact-span attribution: which parts of an answer the training text holds word for word, and in
//! which contributions (infini-gram style, over a suffix array).
//!
//! The index joins the training text of a dataset version, one document per record (a text, or a
//! conversation's messages), with a separator byte that neither the text nor an answer can hold,
//! so no match crosses documents. A suffix array over the joined text (SA-IS, from the `suffix`
//! crate) is built once per version. For an answer, from its first character, the longest prefix
//! found in the text is searched by narrowing the array's interval one byte at a time; a match of
//! at least `min_bytes` is a span (and the search goes on after it), a shorter one moves the start
//! one character on. Each span comes with how often the text holds it and the first few distinct
//! contributions that do.

use suffix::SuffixTable;

/// Never in an indexed document nor in a searched answer (both are cleaned of it).
const SEPARATOR: char = '\u{0}';
/// Contributions named per span at most.
const NAMED: usize = 5;

/// A training text to index: its words and the contribution it came from.
pub struct Document<'a> {
	pub contribution: u64,
	/// Its parts (a text, or a conversation's messages), kept apart: no span crosses two.
	pub parts: Vec<&'a str>,
}

/// The suffix array of a version's training text.
pub struct SpanIndex {
	table: SuffixTable<'static, 'static>,
	/// Where each document starts in the joined text (ascending), and its contribution.
	starts: Vec<u32>,
	contributions: Vec<u64>,
}

/// A part of an answer found word for word in the training text.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Span {
	/// Character offsets in the answer, end excluded.
	pub start: usize,
	pub end: usize,
	pub text: String,
	/// How many times the training text holds it.
	pub occurrences: usize,
	/// The first few distinct contributions that hold it (by position in the text).
	pub contributions: Vec<u64>,
}

impl SpanIndex {
	/// Indexes `docs`. The joined text must stay under 4 GiB (the array holds u32 positions).
	pub fn build(docs: &[Document]) -> Result<Self, String> {
		let mut text = String::new();
		let (mut starts, mut contributions) = (Vec::new(), Vec::new());
		for d in docs {
			let at = u32::try_from(text.len()).map_err(|_| "the training text is over 4 GiB")?;
			starts.push(at);
			contributions.push(d.contribution);
			for p in &d.parts {
				text.extend(p.chars().filter(|&c| c != SEPARATOR));
				text.push(SEPARATOR);
			}
		}
		if u32::try_from(text.len()).is_err() {
			return Err("the training text is over 4 GiB".into());
		}
		Ok(Self { table: SuffixTable::new(text), starts, contributions })
	}

	/// Bytes indexed.
	pub fn len(&self) -> usize {
		self.table.text().len()
	}

	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}

	/// The spans of `answer` of at least `min_bytes` bytes, left to right, not overlapping.
	pub fn spans(&self, answer: &str, min_bytes: usize) -> Vec<Span> {
		let clean: String = answer.chars().filter(|&c| c != SEPARATOR).collect();
		let bytes = clean.as_bytes();
		// Character offset of each byte offset that starts a character (for the answer's offsets).
		let mut char_at = vec![0usize; bytes.len() + 1];
		let mut n = 0;
		for (i, slot) in char_at.iter_mut().enumerate() {
			*slot = n;
			if i < bytes.len() && clean.is_char_boundary(i + 1) {
				n += 1;
			}
		}
		char_at[bytes.len()] = clean.chars().count();
		let mut out = Vec::new();
		let mut i = 0;
		while i < bytes.len() {
			let (len, lo, hi) = self.longest(&bytes[i..]);
			// Whole characters only.
			let mut end = i + len;
			while !clean.is_char_boundary(end) {
				end -= 1;
			}
			if end - i >= min_bytes.max(1) {
				out.push(Span {
					start: char_at[i],
					end: char_at[end],
					text: clean[i..end].to_string(),
					occurrences: hi - lo,
					contributions: self.named(lo, hi),
				});
				i = end;
			} else {
				i += 1;
				while i < bytes.len() && !clean.is_char_boundary(i) {
					i += 1;
				}
			}
		}
		out
	}

	/// The longest prefix of `q` the text holds: its length and the array interval of its
	/// occurrences.
	fn longest(&self, q: &[u8]) -> (usize, usize, usize) {
		let sa = self.table.table();
		let text = self.table.text().as_bytes();
		let (mut lo, mut hi) = (0usize, sa.len());
		let byte = |s: u32, d: usize| text.get(s as usize + d).copied();
		for (d, &c) in q.iter().enumerate() {
			// Within [lo, hi) every suffix shares q[..d]; those with byte c at depth d form a
			// run (a suffix that ends there sorts first).
			let first = lo + sa[lo..hi].partition_point(|&s| byte(s, d) < Some(c));
			let last = first + sa[first..hi].partition_point(|&s| byte(s, d) == Some(c));
			if first == last {
				return (d, lo, hi);
			}
			(lo, hi) = (first, last);
		}
		(q.len(), lo, hi)
	}

	/// The first `NAMED` distinct contributions among the occurrences `sa[lo..hi]`.
	fn named(&self, lo: usize, hi: usize) -> Vec<u64> {
		let mut positions: Vec<u32> = self.table.table()[lo..hi].to_vec();
		positions.sort_unstable();
		let mut out: Vec<u64> = Vec::new();
		for p in positions {
			let doc = self.starts.partition_point(|&s| s <= p) - 1;
			let c = self.contributions[doc];
			if !out.contains(&c) {
				out.push(c);
				if out.len() == NAMED {
					break;
				}
			}
		}
		out
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn index() -> SpanIndex {
		SpanIndex::build(&[
			Document { contribution: 10, parts: vec!["The river carries data downstream."] },
			Document {
				contribution: 11,
				parts: vec!["What is a datanet?", "A curated collection of contributions."],
			},
			Document { contribution: 12, parts: vec!["Curators vote; the river carries data."] },
			Document { contribution: 13, parts: vec!["Zürich liegt am See."] },
		])
		.unwrap()
	}

	#[test]
	fn planted_spans_are_found_with_their_contributions() {
		let idx = index();
		let answer =
			"Well, a curated collection of contributions is what the river carries data to.";
		let spans = idx.spans(answer, 12);
		let texts: Vec<&str> = spans.iter().map(|s| s.text.as_str()).collect();
		// (The text has "A curated", capitalised, so the first span starts after "a".)
		assert_eq!(texts, vec![" curated collection of contributions", " the river carries data"]);
		assert_eq!((spans[0].occurrences, spans[0].contributions.clone()), (1, vec![11]));
		// "river carries data" is in 10 and 12, but " the river carries data" only in 12.
		assert_eq!((spans[1].occurrences, spans[1].contributions.clone()), (1, vec![12]));
		let chars: Vec<char> = answer.chars().collect();
		for s in &spans {
			assert_eq!(chars[s.start..s.end].iter().collect::<String>(), s.text);
		}
		// A span held by two contributions names both, in text order.
		let both = idx.spans("river carries data", 10);
		assert_eq!(both.len(), 1);
		assert_eq!((both[0].occurrences, both[0].contributions.clone()), (2, vec![10, 12]));
	}

	#[test]
	fn spans_never_cross_documents_or_parts_and_respect_characters() {
		let idx = index();
		// "datanet?" ends one part and "A curated" starts the next: no span joins them.
		let spans = idx.spans("What is a datanet?A curated collection", 5);
		assert_eq!(
			spans.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(),
			vec!["What is a datanet?", "A curated collection"]
		);
		// Multi-byte characters: offsets count characters, and a span never splits one.
		let s = idx.spans("In Zürich liegt", 6);
		assert_eq!(s[0].text, "Zürich liegt");
		assert_eq!((s[0].start, s[0].end), (3, 15));
		// The separator in an answer is ignored, not matched.
		assert!(idx.spans("\u{0}\u{0}\u{0}", 1).is_empty());
		assert!(idx.spans("nothing here matches at all", 8).is_empty());
	}
}
