//! The attribution table: per training example, per contribution, and in parts per million.

use serde::{Deserialize, Serialize};

/// Scores of one run: per training example (in the order of the training split), against each
/// target; and each example's self-influence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
	pub targets: Vec<String>,
	/// `scores[e][z]`: how much training on example e lowered target z's loss, to first order.
	pub scores: Vec<Vec<f64>>,
	/// `Σ_t w_t ⟨φ_t(e), F⁻¹ φ_t(e)⟩`: large for examples the model found hard to fit (noisy,
	/// mislabeled, unusual).
	pub self_influence: Vec<f64>,
}

/// One contribution's row: its examples' scores summed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceScore {
	pub source: u64,
	/// Summed over its examples and over every target.
	pub score: f64,
	pub self_influence: f64,
	pub examples: usize,
}

impl Table {
	/// Rows per source (contribution id), sorted by id; `sources[e]` is example e's source.
	pub fn by_source(&self, sources: &[u64]) -> Vec<SourceScore> {
		assert_eq!(sources.len(), self.scores.len(), "one source per training example");
		let mut rows = std::collections::BTreeMap::<u64, SourceScore>::new();
		for (e, &source) in sources.iter().enumerate() {
			let r = rows.entry(source).or_insert(SourceScore {
				source,
				score: 0.0,
				self_influence: 0.0,
				examples: 0,
			});
			r.score += self.scores[e].iter().sum::<f64>();
			r.self_influence += self.self_influence[e];
			r.examples += 1;
		}
		rows.into_values().collect()
	}

	/// Example e's score summed over the targets.
	pub fn score(&self, e: usize) -> f64 {
		self.scores[e].iter().sum()
	}
}

/// Parts per million of the non-negative scores: `p_c = max(0, s_c)`, each source gets
/// `⌊10⁶ p_c / Σp⌋`, and the units left over go one each to the largest remainders (ties: the
/// smaller id). The parts sum to exactly 10⁶ unless no score is positive (then all are 0).
pub fn parts_per_million(scores: &[(u64, f64)]) -> Vec<(u64, u32)> {
	const WHOLE: u64 = 1_000_000;
	let total: f64 = scores.iter().map(|(_, s)| s.max(0.0)).filter(|s| s.is_finite()).sum();
	if total <= 0.0 || !total.is_finite() {
		return scores.iter().map(|(id, _)| (*id, 0)).collect();
	}
	let mut parts: Vec<(u64, u64, f64)> = scores
		.iter()
		.map(|&(id, s)| {
			let share = if s.is_finite() { s.max(0.0) / total * WHOLE as f64 } else { 0.0 };
			let whole = share.floor().min(WHOLE as f64) as u64;
			(id, whole, share - whole as f64)
		})
		.collect();
	let given: u64 = parts.iter().map(|p| p.1).sum();
	let mut order: Vec<usize> = (0..parts.len()).filter(|&i| parts[i].2 > 0.0).collect();
	order.sort_by(|&a, &b| parts[b].2.total_cmp(&parts[a].2).then(parts[a].0.cmp(&parts[b].0)));
	for &i in order.iter().take(WHOLE.saturating_sub(given) as usize) {
		parts[i].1 += 1;
	}
	parts.into_iter().map(|(id, p, _)| (id, p as u32)).collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn parts_sum_to_a_million_and_ignore_negative_scores() {
		let scores = [(7, 1.0), (3, 1.0), (9, 1.0), (4, -5.0), (5, 0.0)];
		let ppm = parts_per_million(&scores);
		assert_eq!(ppm.iter().map(|p| p.1 as u64).sum::<u64>(), 1_000_000);
		// 333,333 each plus one unit left: the tie goes to the smallest id.
		assert_eq!(ppm, vec![(7, 333_333), (3, 333_334), (9, 333_333), (4, 0), (5, 0)]);
		assert_eq!(parts_per_million(&[(1, -1.0), (2, 0.0)]), vec![(1, 0), (2, 0)]);
		assert_eq!(parts_per_million(&[(1, f64::NAN), (2, 2.0)]), vec![(1, 0), (2, 1_000_000)]);
	}

	#[test]
	fn rows_per_source_sum_their_examples() {
		let t = Table {
			targets: vec!["eval".into(), "q".into()],
			scores: vec![vec![1.0, 0.5], vec![-2.0, 0.0], vec![0.25, 0.25]],
			self_influence: vec![1.0, 2.0, 3.0],
		};
		let rows = t.by_source(&[10, 4, 10]);
		assert_eq!(rows.len(), 2);
		assert_eq!((rows[0].source, rows[0].score, rows[0].examples), (4, -2.0, 1));
		assert_eq!((rows[1].source, rows[1].score, rows[1].self_influence), (10, 2.0, 4.0));
	}
}
