//! Exact and near-duplicate detection for text within a datanet.
//!
//! Text is normalised (lower case, words of letters and digits, everything else a separator). Two texts
//! are exact duplicates when their normalised forms are equal, so whitespace, case and punctuation
//! changes do not make new data. Near duplicates are found with MinHash over 3-word shingles (short enough that one edited word
//! in a paragraph still leaves it similar): 128
//! independent hash functions, and the fraction of equal minima estimates the Jaccard similarity of the
//! shingle sets (standard error ~0.04 at 128 functions). At or above [`NearDupIndex::threshold`] a text is
//! a near duplicate of the most similar earlier entry.
//!
//! The index is plain data (serde) so a worker can persist it; entries are keyed by contribution id.

use serde::{Deserialize, Serialize};

const PERMUTATIONS: usize = 128;
const SHINGLE: usize = 3;
/// 2^61 - 1, a Mersenne prime: the universal hash family works modulo it.
const P: u64 = (1 << 61) - 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
	id: u64,
	exact: [u8; 32],
	sig: Vec<u64>,
}

/// What the index keeps of one text: the hash of its normalised form and its MinHash signature.
/// Computed once per text; a worker can store it (serde) and add it to an index later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
	exact: [u8; 32],
	sig: Vec<u64>,
}

impl Fingerprint {
	pub fn of(text: &str) -> Self {
		let (exact, sig) = fingerprint(text);
		Self { exact, sig }
	}
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NearDupIndex {
	pub threshold: f64,
	entries: Vec<Entry>,
}

impl Default for NearDupIndex {
	fn default() -> Self {
		Self { threshold: 0.8, entries: vec![] }
	}
}

/// A finding against the index.
#[derive(Debug, Clone, PartialEq)]
pub enum Dup {
	Exact { of: u64 },
	Near { of: u64, similarity: f64 },
}

impl NearDupIndex {
	pub fn len(&self) -> usize {
		self.entries.len()
	}

	pub fn is_empty(&self) -> bool {
		self.entries.is_empty()
	}

	pub fn contains(&self, id: u64) -> bool {
		self.entries.iter().any(|e| e.id == id)
	}

	/// The earlier entry `text` duplicates, if any (an exact match wins over the most similar).
	pub fn find(&self, text: &str) -> Option<Dup> {
		self.find_fingerprint(&Fingerprint::of(text), None)
	}

	/// The entry `fp` duplicates, if any, other than entry `itself` (a text judged again is not a
	/// duplicate of itself).
	pub fn find_fingerprint(&self, fp: &Fingerprint, itself: Option<u64>) -> Option<Dup> {
		let others = self.entries.iter().filter(|e| Some(e.id) != itself);
		if let Some(e) = others.clone().find(|e| e.exact == fp.exact) {
			return Some(Dup::Exact { of: e.id });
		}
		others
			.map(|e| (e.id, similarity(&fp.sig, &e.sig)))
			.filter(|(_, s)| *s >= self.threshold)
			.max_by(|a, b| a.1.total_cmp(&b.1))
			.map(|(of, similarity)| Dup::Near { of, similarity })
	}

	/// Adds `text` as entry `id` (a no-op if the id is already present).
	pub fn insert(&mut self, id: u64, text: &str) {
		self.insert_fingerprint(id, Fingerprint::of(text));
	}

	/// Adds a text's fingerprint as entry `id` (a no-op if the id is already present).
	pub fn insert_fingerprint(&mut self, id: u64, fp: Fingerprint) {
		if self.contains(id) {
			return;
		}
		self.entries.push(Entry { id, exact: fp.exact, sig: fp.sig });
	}

	pub fn remove(&mut self, id: u64) {
		self.entries.retain(|e| e.id != id);
	}
}

impl Dup {
	pub fn reason(&self) -> crate::Reason {
		match *self {
			Dup::Exact { of } => crate::Reason::Duplicate { of },
			Dup::Near { of, similarity } => crate::Reason::NearDuplicate { of, similarity },
		}
	}
}

fn words(text: &str) -> Vec<String> {
	text.split(|c: char| !c.is_alphanumeric())
		.filter(|w| !w.is_empty())
		.map(|w| w.to_lowercase())
		.collect()
}

fn fingerprint(text: &str) -> ([u8; 32], Vec<u64>) {
	let w = words(text);
	let exact = *blake3::hash(w.join(" ").as_bytes()).as_bytes();
	let mut sig = vec![u64::MAX; PERMUTATIONS];
	let params = params();
	let mut add = |shingle: &[String]| {
		let h = blake3::hash(shingle.join(" ").as_bytes());
		let x = u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap()) % P;
		for (m, (a, b)) in sig.iter_mut().zip(params.iter()) {
			let v = ((*a as u128 * x as u128 + *b as u128) % P as u128) as u64;
			*m = (*m).min(v);
		}
	};
	if w.len() < SHINGLE {
		add(&w);
	} else {
		for s in w.windows(SHINGLE) {
			add(s);
		}
	}
	(exact, sig)
}

/// The (a, b) of each hash function `(a*x + b) mod P`, derived from a fixed key so every worker agrees.
fn params() -> &'static [(u64, u64)] {
	static PARAMS: std::sync::OnceLock<Vec<(u64, u64)>> = std::sync::OnceLock::new();
	PARAMS.get_or_init(|| {
		let mut out = vec![0u8; PERMUTATIONS * 16];
		blake3::Hasher::new_derive_key("tributary minhash v1").finalize_xof().fill(&mut out);
		out.chunks(16)
			.map(|c| {
				let a = u64::from_le_bytes(c[..8].try_into().unwrap()) % (P - 1) + 1;
				let b = u64::from_le_bytes(c[8..].try_into().unwrap()) % P;
				(a, b)
			})
			.collect()
	})
}

fn similarity(a: &[u64], b: &[u64]) -> f64 {
	a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

#[cfg(test)]
mod tests {
	use super::*;

	const BASE: &str =
		"The river carries sediment from the mountains down to the sea, where it settles \
		and builds a delta. Over thousands of years the delta grows, its channels shift, and new land \
		appears where there was open water before. Farmers settle on the fertile soil.";

	#[test]
	fn exact_and_near_duplicates_are_found_and_different_texts_are_not() {
		let mut idx = NearDupIndex::default();
		idx.insert(7, BASE);
		// Case, punctuation and whitespace changes: the same text.
		let recased = BASE.to_uppercase().replace(',', " ;").replace(". ", ".\n\n");
		assert_eq!(idx.find(&recased), Some(Dup::Exact { of: 7 }));
		// One word changed out of ~50: nearly the same.
		let edited = BASE.replace("Farmers", "Fishermen");
		match idx.find(&edited) {
			Some(Dup::Near { of: 7, similarity }) => assert!(similarity >= 0.8, "{similarity}"),
			other => panic!("{other:?}"),
		}
		// Unrelated text of the same length: not a duplicate.
		let other = "Mountain glaciers store fresh water as ice and release it slowly during the summer \
			months, feeding streams that join into rivers. When glaciers retreat, that summer supply shrinks \
			and communities downstream must adapt their farming and their cities.";
		assert_eq!(idx.find(other), None);
		// The second half of the base text alone shares about half its shingles: below the threshold.
		assert_eq!(idx.find(&BASE[BASE.len() / 2..]), None);
		idx.insert(8, other);
		assert_eq!(idx.find(other), Some(Dup::Exact { of: 8 }));
		// Round trip through serde keeps the index usable (workers persist it).
		let back: NearDupIndex =
			serde_json::from_str(&serde_json::to_string(&idx).unwrap()).unwrap();
		assert_eq!(back.find(&edited).map(|d| matches!(d, Dup::Near { of: 7, .. })), Some(true));
		idx.remove(7);
		assert_eq!(idx.find(&recased), None);
	}

	#[test]
	fn similarity_tracks_jaccard() {
		// Two texts sharing 50 of 150 distinct shingles (Jaccard 1/3): the estimate is close.
		let a: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
		let b: Vec<String> = (50..150).map(|i| format!("w{i}")).collect();
		let (_, sa) = fingerprint(&a.join(" "));
		let (_, sb) = fingerprint(&b.join(" "));
		// Shingles: 98 each, sharing 48: Jaccard 48/148 = 0.324.
		let s = similarity(&sa, &sb);
		assert!((s - 0.324).abs() < 0.12, "{s}");
	}
}
