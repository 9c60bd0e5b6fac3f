//! Corpus and fuzz tests across all validators.
//!
//! `testdata/good` holds one valid file per format and `testdata/hostile` files built to break decoders
//! (regenerate both with `testdata/make_corpus.py`). The fuzz test mutates every corpus file with a
//! seeded generator for a bounded number of rounds: whatever the bytes, a check must return (accept or
//! a reason) without panicking or allocating without bound.

use crate::*;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;

fn corpus(dir: &str) -> Vec<(String, Vec<u8>)> {
	// At run time: a binary built in another checkout sharing the target dir must not read its files.
	let root = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
	let d = PathBuf::from(root).join("testdata").join(dir);
	let mut v: Vec<_> = std::fs::read_dir(&d)
		.unwrap()
		.map(|e| e.unwrap().path())
		.map(|p| (p.file_name().unwrap().to_str().unwrap().to_string(), std::fs::read(&p).unwrap()))
		.collect();
	v.sort();
	v
}

fn modality(format: &str) -> Modality {
	if text::FORMATS.contains(&format) {
		Modality::Text
	} else if image::FORMATS.contains(&format) {
		Modality::Image
	} else {
		Modality::Audio
	}
}

fn ext(name: &str) -> &str {
	name.rsplit('.').next().unwrap()
}

/// Checks `bytes` as a contribution honestly declared with format `format`.
fn run(bytes: &[u8], format: &str) -> Result<Checked, Reason> {
	let allowed: Vec<String> = [text::FORMATS, image::FORMATS, audio::FORMATS]
		.concat()
		.iter()
		.map(|s| s.to_string())
		.collect();
	let d = Declared {
		hash: *blake3::hash(bytes).as_bytes(),
		size: bytes.len() as u64,
		format,
		modality: modality(format),
		allowed: &allowed,
	};
	check(bytes, &d, &Limits::default())
}

#[test]
fn every_good_file_passes() {
	let files = corpus("good");
	assert_eq!(files.len(), 10);
	for (name, bytes) in files {
		let r = run(&bytes, ext(&name));
		assert!(r.is_ok(), "{name}: {r:?}");
		match (ext(&name), r.unwrap()) {
			("png" | "jpeg" | "webp", Checked::Image { width, height }) => {
				assert_eq!((width, height), (64, 48), "{name}")
			}
			("wav" | "flac" | "mp3", Checked::Audio { secs, channels, .. }) => {
				assert!((0.45..0.65).contains(&secs), "{name}: {secs}");
				assert_eq!(channels, 1);
			}
			("jsonl", Checked::Text { records, .. }) => assert_eq!(records, Some(4)),
			("docx", Checked::Text { text, .. }) => {
				assert!(text.contains("two paragraphs"), "{text}")
			}
			(_, Checked::Text { .. }) => {}
			(_, other) => panic!("{name}: {other:?}"),
		}
	}
}

#[test]
fn every_hostile_file_is_refused_with_its_reason() {
	type Expect = fn(&Reason) -> bool;
	let expect: &[(&str, Expect)] = &[
		("absurd-header.wav", |r| {
			matches!(r, Reason::AudioParams { .. } | Reason::Undecodable { .. })
		}),
		("bomb.jpeg", |r| matches!(r, Reason::ImageTooLarge { width: 65500, height: 65500, .. })),
		("bomb.png", |r| matches!(r, Reason::ImageTooLarge { width: 16384, height: 16384, .. })),
		("invalid-utf8.txt", |r| matches!(r, Reason::InvalidUtf8 { offset: 18 })),
		("noise.mp3", |r| matches!(r, Reason::FormatMismatch { .. } | Reason::Undecodable { .. })),
		("not-a-zip.docx", |r| matches!(r, Reason::BadArchive { .. })),
		("not-json.jsonl", |r| matches!(r, Reason::BadJson { line: 2, .. })),
		(
			"png-named-jpeg.jpeg",
			|r| matches!(r, Reason::FormatMismatch { detected, .. } if detected == "png"),
		),
		("schema-violation.jsonl", |r| matches!(r, Reason::Schema { line: 1, .. })),
		("truncated.flac", |r| matches!(r, Reason::Undecodable { .. })),
		("truncated.jpeg", |r| matches!(r, Reason::Undecodable { .. })),
		("truncated.png", |r| matches!(r, Reason::Undecodable { .. })),
		("zip-bomb.docx", |r| matches!(r, Reason::Bomb { .. })),
	];
	let files = corpus("hostile");
	assert_eq!(files.len(), expect.len(), "every hostile file needs an expectation");
	for ((name, bytes), (want, ok)) in files.iter().zip(expect) {
		assert_eq!(name, want);
		let r = run(bytes, ext(name));
		match &r {
			Err(reason) => {
				assert!(ok(reason), "{name}: unexpected reason {reason:?}");
				assert!(reason.code().is_some(), "{name}: {reason} must be a rejection");
			}
			Ok(c) => panic!("{name} was accepted: {c:?}"),
		}
	}
}

#[test]
fn declarations_that_do_not_match_the_bytes_are_refused() {
	let bytes = b"An honest description of a river and its many tributaries.";
	let allowed = vec!["txt".to_string()];
	let good = Declared {
		hash: *blake3::hash(bytes).as_bytes(),
		size: bytes.len() as u64,
		format: "txt",
		modality: Modality::Text,
		allowed: &allowed,
	};
	let l = Limits::default();
	assert!(check(bytes, &good, &l).is_ok());
	let r = check(bytes, &Declared { size: 3, ..good.clone() }, &l).unwrap_err();
	assert_eq!(r.code(), Some(Code::HashMismatch));
	let r = check(bytes, &Declared { hash: [0; 32], ..good.clone() }, &l).unwrap_err();
	assert!(matches!(r, Reason::HashMismatch { .. }) && r.code() == Some(Code::HashMismatch));
	let r = check(bytes, &Declared { format: "md", ..good.clone() }, &l).unwrap_err();
	assert!(matches!(r, Reason::FormatNotAllowed { .. }) && r.code() == Some(Code::OffTopic));
	let r =
		check(bytes, &Declared { modality: Modality::Image, allowed: &["txt".into()], ..good }, &l)
			.unwrap_err();
	assert!(matches!(r, Reason::WrongModality { .. }), "{r:?}");
}

#[test]
fn limits_are_enforced_on_good_files() {
	let get = |n: &str| corpus("good").into_iter().find(|(name, _)| name == n).unwrap().1;
	let allowed: Vec<String> = vec!["png".into(), "wav".into()];
	let decl = |b: &[u8], format: &'static str, modality| Declared {
		hash: *blake3::hash(b).as_bytes(),
		size: b.len() as u64,
		format,
		modality,
		allowed: &allowed,
	};
	let png = get("gradient.png");
	let small = Limits { image_min_side: 50, ..Default::default() };
	let r = check(&png, &decl(&png, "png", Modality::Image), &small).unwrap_err();
	assert_eq!(r, Reason::ImageTooSmall { width: 64, height: 48, min_side: 50 });
	let few = Limits { image_max_pixels: 1000, ..Default::default() };
	let r = check(&png, &decl(&png, "png", Modality::Image), &few).unwrap_err();
	assert!(matches!(r, Reason::ImageTooLarge { .. }), "{r:?}");
	let wav = get("tone.wav");
	let short = Limits { audio_max_secs: 0.2, ..Default::default() };
	let r = check(&wav, &decl(&wav, "wav", Modality::Audio), &short).unwrap_err();
	assert!(matches!(r, Reason::AudioDuration { .. }) && r.code() == Some(Code::LowQuality));
	let long_only = Limits { audio_min_secs: 1.0, ..Default::default() };
	let r = check(&wav, &decl(&wav, "wav", Modality::Audio), &long_only).unwrap_err();
	assert!(matches!(r, Reason::AudioDuration { secs, .. } if secs < 1.0), "{r:?}");
	let hifi = Limits { audio_min_rate: 44_100, ..Default::default() };
	let r = check(&wav, &decl(&wav, "wav", Modality::Audio), &hifi).unwrap_err();
	assert!(matches!(r, Reason::AudioParams { .. }), "{r:?}");
}

/// Bounded fuzzing: seeded mutations of every corpus file, through the validator of its format.
#[test]
fn fuzz_every_validator_with_mutated_corpus_files() {
	let rounds: usize =
		std::env::var("TRIBUTARY_FUZZ_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2000);
	let mut rng = rand::rngs::StdRng::seed_from_u64(0x0072_6976_6572);
	let mut files = corpus("good");
	files.extend(corpus("hostile").into_iter().filter(|(_, b)| b.len() < 64 << 10));
	let (mut accepted, mut refused) = (0, 0);
	for (name, bytes) in &files {
		let format = ext(name);
		for _ in 0..rounds {
			let mut m = bytes.clone();
			match rng.gen_range(0..5) {
				0 => {
					for _ in 0..rng.gen_range(1..8) {
						let i = rng.gen_range(0..m.len());
						m[i] ^= 1 << rng.gen_range(0..8);
					}
				}
				1 => m.truncate(rng.gen_range(0..m.len())),
				2 => {
					let i = rng.gen_range(0..=m.len());
					let junk: Vec<u8> = (0..rng.gen_range(1..64)).map(|_| rng.gen()).collect();
					m.splice(i..i, junk);
				}
				3 => {
					// Overwrite a 4-byte field with an extreme value (sizes, dimensions, counts).
					if m.len() >= 4 {
						let i = rng.gen_range(0..m.len() - 3);
						let v: u32 = [0, 1, 0x7fff_ffff, 0xffff_ffff, 0xffff][rng.gen_range(0..5)];
						m[i..i + 4].copy_from_slice(&v.to_be_bytes());
					}
				}
				_ => {
					let (a, b) = (rng.gen_range(0..m.len()), rng.gen_range(0..m.len()));
					let (a, b) = (a.min(b), a.max(b));
					let dup = m[a..b].to_vec();
					m.splice(b..b, dup);
				}
			}
			match run(&m, format) {
				Ok(_) => accepted += 1,
				Err(r) => {
					assert!(
						!matches!(r, Reason::Undecodable { ref message } if message.contains("decoder failed")),
						"{name}: a decoder panicked on a mutation"
					);
					refused += 1;
				}
			}
		}
	}
	assert!(refused > accepted, "mutations should mostly be refused ({accepted} accepted)");
}
