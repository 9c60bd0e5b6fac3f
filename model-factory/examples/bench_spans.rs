//! Exact-span attribution cost (issue 19's benchmark (d)): a training text of `MB` megabytes made
//! by code with a seed (documents of random words from a 5,000-word vocabulary), indexed once;
//! then answers of ~1,000 characters, each mixing two 60-to-120-byte passages copied from random
//! documents with random words, searched for spans of at least 24 bytes. Baseline in the same run:
//! finding the same answers' planted passages by scanning the whole text (`str::find`), what one
//! would do without an index. Goal: under 50 ms per answer on 100 MB.
//!
//!   bench_spans [MB (default 100)] [answers (default 100)]
//!
//! Prints one JSON line.

use model_factory::attribution::spans::{Document, SpanIndex};
use rand::{Rng, SeedableRng};
use std::time::Instant;

fn main() {
	let mb: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100);
	let answers: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(100);
	let mut rng = rand::rngs::StdRng::seed_from_u64(19);
	let vocab: Vec<String> = (0..5000)
		.map(|_| {
			let n = rng.gen_range(2..10);
			(0..n).map(|_| rng.gen_range(b'a'..=b'z') as char).collect()
		})
		.collect();
	let words = |rng: &mut rand::rngs::StdRng, bytes: usize| -> String {
		let mut s = String::new();
		while s.len() < bytes {
			if !s.is_empty() {
				s.push(' ');
			}
			s += &vocab[rng.gen_range(0..vocab.len())];
		}
		s
	};
	let started = Instant::now();
	let mut docs_text = Vec::new();
	let mut total = 0;
	while total < mb << 20 {
		let len = rng.gen_range(500..4000);
		let d = words(&mut rng, len);
		total += d.len() + 1;
		docs_text.push(d);
	}
	let made = started.elapsed().as_secs_f64();
	let docs: Vec<Document> = docs_text
		.iter()
		.enumerate()
		.map(|(i, t)| Document { contribution: i as u64, parts: vec![t.as_str()] })
		.collect();
	let started = Instant::now();
	let index = SpanIndex::build(&docs).expect("index");
	let build = started.elapsed().as_secs_f64();
	drop(docs);

	// Answers: random words around two copied passages (cut at word boundaries).
	let mut planted = Vec::new();
	let asks: Vec<String> = (0..answers)
		.map(|_| {
			let mut a = words(&mut rng, 300);
			for _ in 0..2 {
				let d = &docs_text[rng.gen_range(0..docs_text.len())];
				let len = rng.gen_range(60..120).min(d.len());
				let at = rng.gen_range(0..=d.len() - len);
				let piece = d[at..at + len].trim();
				planted.push(piece.to_string());
				a += " ";
				a += piece;
				a += " ";
				a += &words(&mut rng, 250);
			}
			a
		})
		.collect();
	let mut times = Vec::with_capacity(answers);
	let mut found = 0usize;
	for a in &asks {
		let t = Instant::now();
		let spans = index.spans(a, 24);
		times.push(t.elapsed().as_secs_f64());
		found += spans.len();
	}
	times.sort_by(f64::total_cmp);
	let mean = times.iter().sum::<f64>() / times.len() as f64;
	// Every planted passage must be found inside a reported span.
	let spans_text: Vec<String> =
		asks.iter().flat_map(|a| index.spans(a, 24)).map(|s| s.text).collect();
	let recovered =
		planted.iter().filter(|p| spans_text.iter().any(|s| s.contains(p.as_str()))).count();
	// Baseline: scan the whole text for each answer's planted passages (no index).
	let joined: String = docs_text.join("\n");
	let scan_n = planted.len().min(20);
	let t = Instant::now();
	let mut hits = 0;
	for p in &planted[..scan_n] {
		hits += usize::from(joined.contains(p.as_str()));
	}
	let scan_per_answer = t.elapsed().as_secs_f64() / scan_n as f64 * 2.0;
	println!(
		"{}",
		serde_json::json!({
			"corpus_mb": index.len() as f64 / (1 << 20) as f64,
			"documents": docs_text.len(),
			"made_s": made,
			"index_build_s": build,
			"answers": answers,
			"answer_chars": asks.iter().map(|a| a.len()).sum::<usize>() / answers,
			"per_answer_ms_mean": mean * 1e3,
			"per_answer_ms_p99": times[(times.len() * 99 / 100).min(times.len() - 1)] * 1e3,
			"goal_ms": 50.0,
			"spans_found": found,
			"planted_passages_recovered": format!("{recovered}/{}", planted.len()),
			"baseline_scan_ms_per_answer": scan_per_answer * 1e3,
			"baseline_scan_hits": format!("{hits}/{scan_n}"),
			"speedup_vs_scan": scan_per_answer / mean,
		})
	);
}
