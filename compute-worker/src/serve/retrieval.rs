//! Retrieval for chat over a datanet: BM25 over the records of a dataset version, each record a
//! passage that names its contribution.
//!
//! Terms are lower-cased runs of letters and digits. A passage's score for a query is
//! `Σ_t idf(t) · f(t) (k1 + 1) / (f(t) + k1 (1 − b + b |p| / avg|p|))` over the query's distinct
//! terms, with `idf(t) = ln(1 + (N − n(t) + 0.5) / (n(t) + 0.5))` (the non-negative form Lucene
//! uses), k1 = 1.2, b = 0.75.

use std::collections::HashMap;

const K1: f64 = 1.2;
const B: f64 = 0.75;

/// A passage to search: its text and the contribution it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
	pub contribution: u64,
	pub text: String,
}

/// A passage found for a query.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
	/// Position in the index (stable for one version).
	pub passage: usize,
	pub contribution: u64,
	pub score: f64,
	pub text: String,
}

/// An inverted index of a version's passages.
pub struct Bm25 {
	passages: Vec<Passage>,
	lengths: Vec<u32>,
	avg_len: f64,
	/// Term -> (passage, count), by passage.
	postings: HashMap<String, Vec<(u32, u32)>>,
}

fn terms(text: &str) -> impl Iterator<Item = String> + '_ {
	text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

impl Bm25 {
	pub fn build(passages: Vec<Passage>) -> Self {
		let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
		let mut lengths = Vec::with_capacity(passages.len());
		for (i, p) in passages.iter().enumerate() {
			let mut counts: HashMap<String, u32> = HashMap::new();
			let mut n = 0u32;
			for t in terms(&p.text) {
				*counts.entry(t).or_default() += 1;
				n += 1;
			}
			lengths.push(n);
			for (t, c) in counts {
				postings.entry(t).or_default().push((i as u32, c));
			}
		}
		let total: u64 = lengths.iter().map(|&l| l as u64).sum();
		let avg_len =
			if lengths.is_empty() { 1.0 } else { (total as f64 / lengths.len() as f64).max(1.0) };
		Self { passages, lengths, avg_len, postings }
	}

	pub fn len(&self) -> usize {
		self.passages.len()
	}

	pub fn is_empty(&self) -> bool {
		self.passages.is_empty()
	}

	/// The `k` best passages for `query` with a positive score, best first (ties: earlier first).
	pub fn search(&self, query: &str, k: usize) -> Vec<Hit> {
		let n = self.passages.len() as f64;
		let mut query_terms: Vec<String> = terms(query).collect();
		query_terms.sort();
		query_terms.dedup();
		let mut scores: HashMap<u32, f64> = HashMap::new();
		for t in &query_terms {
			let Some(list) = self.postings.get(t) else { continue };
			let df = list.len() as f64;
			let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
			for &(p, f) in list {
				let f = f as f64;
				let norm = 1.0 - B + B * self.lengths[p as usize] as f64 / self.avg_len;
				*scores.entry(p).or_default() += idf * f * (K1 + 1.0) / (f + K1 * norm);
			}
		}
		let mut ranked: Vec<(u32, f64)> = scores.into_iter().filter(|(_, s)| *s > 0.0).collect();
		ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
		ranked
			.into_iter()
			.take(k)
			.map(|(p, score)| {
				let passage = &self.passages[p as usize];
				Hit {
					passage: p as usize,
					contribution: passage.contribution,
					score,
					text: passage.text.clone(),
				}
			})
			.collect()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn index() -> Bm25 {
		let p = |c: u64, t: &str| Passage { contribution: c, text: t.into() };
		Bm25::build(vec![
			p(1, "Rivers carry water and data downstream to the sea."),
			p(2, "A datanet is a curated collection of contributions of one modality."),
			p(3, "Curators vote on contributions; a quorum of approvals accepts one."),
			p(4, "The the the the the the the the data data"),
		])
	}

	#[test]
	fn the_passage_that_answers_ranks_first() {
		let idx = index();
		let hits = idx.search("What is a datanet?", 3);
		assert_eq!(hits[0].contribution, 2, "{hits:?}");
		let hits = idx.search("how do curators accept contributions", 2);
		assert_eq!(hits.iter().map(|h| h.contribution).collect::<Vec<_>>(), vec![3, 2]);
		// Repetition counts (saturating, k1): twice "data" beats once; a rare term ("downstream",
		// one passage) outweighs a common one.
		assert_eq!(idx.search("data", 1)[0].contribution, 4);
		assert_eq!(idx.search("downstream data", 1)[0].contribution, 1);
		// Case and punctuation do not matter; nothing matching is nothing.
		assert_eq!(idx.search("DATANET!!!", 1)[0].contribution, 2);
		assert!(idx.search("zebra", 3).is_empty());
		assert!(Bm25::build(vec![]).search("anything", 3).is_empty());
	}

	#[test]
	fn scores_follow_the_formula() {
		let idx = index();
		let hit = &idx.search("sea", 1)[0];
		// "sea": in 1 passage of 4; passage 1 has 9 terms; lengths 9, 11, 10, 10 (avg 10).
		let idf = (1.0f64 + (4.0 - 1.0 + 0.5) / 1.5).ln();
		let norm = 1.0 - B + B * 9.0 / 10.0;
		let want = idf * (K1 + 1.0) / (1.0 + K1 * norm);
		assert!((hit.score - want).abs() < 1e-12, "{} vs {want}", hit.score);
	}
}
