//! Text contributions: `txt`, `md`, `csv`, `html` (UTF-8 text), `json`, `jsonl` (instruction data) and
//! `docx` (text extracted from `word/document.xml` under archive limits).
//!
//! The `jsonl` schema: one JSON object per non-empty line, each one of
//! - `{"prompt": string, "response": string}` (optional `"system": string`): an instruction pair;
//! - `{"messages": [{"role": "system"|"user"|"assistant", "content": string}, ...]}`: a conversation
//!   with at least one user and one assistant turn;
//! - `{"text": string}`: plain text.
//!
//! Other fields are allowed and ignored. Every string named above must be non-empty.

use crate::{Checked, Limits, Modality, Reason};
use serde_json::Value;
use std::io::Read;

pub const FORMATS: &[&str] = &["txt", "md", "csv", "html", "json", "jsonl", "docx"];

pub fn check(bytes: &[u8], format: &str, limits: &Limits) -> Result<Checked, Reason> {
	let text = match format {
		"txt" | "md" | "csv" | "html" | "json" | "jsonl" => utf8(bytes)?.to_owned(),
		"docx" => docx_text(bytes, limits)?,
		"pdf" => {
			return Err(Reason::Unsupported {
				format: format.into(),
				why: "no PDF text extraction here; a curator must review it".into(),
			})
		}
		other => {
			return Err(Reason::WrongModality { format: other.into(), modality: Modality::Text })
		}
	};
	let control =
		text.chars().filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')).count();
	if control > 0 && control * 100 >= text.len().max(1) {
		return Err(Reason::BinaryText { control });
	}
	let chars = text.chars().filter(|c| !c.is_whitespace()).count();
	if chars < limits.text_min_chars {
		return Err(Reason::TooShort { chars, min: limits.text_min_chars });
	}
	if chars > limits.text_max_chars {
		return Err(Reason::TooLong { chars, max: limits.text_max_chars });
	}
	let records = match format {
		"jsonl" => Some(jsonl(&text)?),
		"json" => {
			serde_json::from_str::<Value>(&text)
				.map_err(|e| Reason::BadJson { line: e.line(), message: e.to_string() })?;
			None
		}
		_ => None,
	};
	Ok(Checked::Text { text, chars, records })
}

fn utf8(bytes: &[u8]) -> Result<&str, Reason> {
	std::str::from_utf8(bytes).map_err(|e| Reason::InvalidUtf8 { offset: e.valid_up_to() })
}

/// Validates instruction data; returns the number of records.
fn jsonl(text: &str) -> Result<usize, Reason> {
	let mut n = 0;
	for (i, line) in text.lines().enumerate() {
		let line_no = i + 1;
		if line.trim().is_empty() {
			continue;
		}
		let v: Value = serde_json::from_str(line)
			.map_err(|e| Reason::BadJson { line: line_no, message: e.to_string() })?;
		record(&v).map_err(|message| Reason::Schema { line: line_no, message })?;
		n += 1;
	}
	if n == 0 {
		return Err(Reason::Schema { line: 1, message: "no records".into() });
	}
	Ok(n)
}

fn record(v: &Value) -> Result<(), String> {
	let obj = v.as_object().ok_or("a record must be a JSON object")?;
	let nonempty = |k: &str| -> Result<(), String> {
		match obj.get(k) {
			Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
			Some(Value::String(_)) => Err(format!("\"{k}\" is empty")),
			Some(_) => Err(format!("\"{k}\" must be a string")),
			None => Err(format!("\"{k}\" is missing")),
		}
	};
	if obj.contains_key("messages") {
		let msgs = obj["messages"].as_array().ok_or("\"messages\" must be an array")?;
		let (mut user, mut assistant) = (false, false);
		for m in msgs {
			let role =
				m.get("role").and_then(Value::as_str).ok_or("each message needs a \"role\"")?;
			match m.get("content").and_then(Value::as_str) {
				Some(c) if !c.trim().is_empty() => {}
				_ => return Err("each message needs a non-empty \"content\"".into()),
			}
			match role {
				"user" => user = true,
				"assistant" => assistant = true,
				"system" => {}
				r => return Err(format!("unknown role {r:?}")),
			}
		}
		if !(user && assistant) {
			return Err("a conversation needs a user and an assistant turn".into());
		}
		Ok(())
	} else if obj.contains_key("prompt") || obj.contains_key("response") {
		nonempty("prompt")?;
		nonempty("response")?;
		if obj.contains_key("system") {
			nonempty("system")?;
		}
		Ok(())
	} else if obj.contains_key("text") {
		nonempty("text")
	} else {
		Err("expected \"prompt\"/\"response\", \"messages\" or \"text\"".into())
	}
}

/// Extracts the text of a docx, refusing archives whose entries (as declared, and as actually
/// inflated) exceed the limits.
fn docx_text(bytes: &[u8], limits: &Limits) -> Result<String, Reason> {
	let bad = |e: zip::result::ZipError| Reason::BadArchive { message: e.to_string() };
	let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(bad)?;
	if zip.len() > limits.docx_max_entries {
		return Err(Reason::BadArchive {
			message: format!("{} entries (limit {})", zip.len(), limits.docx_max_entries),
		});
	}
	let mut total = 0u64;
	for i in 0..zip.len() {
		let f = zip.by_index_raw(i).map_err(bad)?;
		total = total.saturating_add(f.size());
		if f.size() > limits.docx_max_part_bytes || total > limits.docx_max_part_bytes * 4 {
			return Err(Reason::Bomb {
				what: f.name().to_string(),
				size: f.size().max(total),
				limit: limits.docx_max_part_bytes,
			});
		}
	}
	let part = zip
		.by_name("word/document.xml")
		.map_err(|_| Reason::BadArchive { message: "no word/document.xml".into() })?;
	// The declared size may lie: read at most one byte past the limit.
	let mut xml = Vec::new();
	part.take(limits.docx_max_part_bytes + 1)
		.read_to_end(&mut xml)
		.map_err(|e| Reason::BadArchive { message: e.to_string() })?;
	if xml.len() as u64 > limits.docx_max_part_bytes {
		return Err(Reason::Bomb {
			what: "word/document.xml".into(),
			size: xml.len() as u64,
			limit: limits.docx_max_part_bytes,
		});
	}
	document_text(&xml)
}

/// The text runs (`w:t`) of a WordprocessingML document, one line per paragraph (`w:p`).
fn document_text(xml: &[u8]) -> Result<String, Reason> {
	use quick_xml::events::Event;
	let mut r = quick_xml::Reader::from_reader(xml);
	let mut buf = Vec::new();
	let mut out = String::new();
	let mut in_t = false;
	loop {
		let ev = r
			.read_event_into(&mut buf)
			.map_err(|e| Reason::BadArchive { message: format!("word/document.xml: {e}") })?;
		match ev {
			Event::Start(e) if e.local_name().as_ref() == b"t" => in_t = true,
			Event::End(e) if e.local_name().as_ref() == b"t" => in_t = false,
			Event::End(e) if e.local_name().as_ref() == b"p" => out.push('\n'),
			Event::Text(t) if in_t => {
				out.push_str(&t.unescape().map_err(|e| Reason::BadArchive {
					message: format!("word/document.xml: {e}"),
				})?)
			}
			Event::Eof => break,
			_ => {}
		}
		buf.clear();
	}
	Ok(out)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn run(bytes: &[u8], format: &str) -> Result<Checked, Reason> {
		check(bytes, format, &Limits::default())
	}

	#[test]
	fn plain_text_passes_and_each_text_reason_is_named() {
		let ok = run(b"A river is a natural stream of water.", "txt").unwrap();
		assert!(matches!(ok, Checked::Text { chars: 30, records: None, .. }), "{ok:?}");
		assert_eq!(run(b"ok \xff\xfe then", "txt"), Err(Reason::InvalidUtf8 { offset: 3 }));
		assert_eq!(run(b"tiny", "md"), Err(Reason::TooShort { chars: 4, min: 16 }));
		let long = "x".repeat(40);
		let limits = Limits { text_max_chars: 30, ..Default::default() };
		assert_eq!(
			check(long.as_bytes(), "txt", &limits),
			Err(Reason::TooLong { chars: 40, max: 30 })
		);
		let binary = [b"looks like text ".as_slice(), &[0u8, 1, 2, 3, 4, 5, 6, 7]].concat();
		assert!(matches!(run(&binary, "txt"), Err(Reason::BinaryText { control: 8 })));
		assert!(matches!(
			run(b"{\"a\": [1, 2,, 3]} and more", "json"),
			Err(Reason::BadJson { .. })
		));
		assert!(matches!(run(b"whatever it is in here", "png"), Err(Reason::WrongModality { .. })));
		assert!(matches!(run(b"%PDF-1.7 something", "pdf"), Err(Reason::Unsupported { .. })));
		assert_eq!(run(b"%PDF-1.7 something", "pdf").unwrap_err().code(), None);
	}

	#[test]
	fn the_instruction_schema_is_enforced_line_by_line() {
		let good = concat!(
			"{\"prompt\": \"What is a delta?\", \"response\": \"A landform at a river mouth.\"}\n",
			"\n",
			"{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"hello\"}]}\n",
			"{\"text\": \"plain text record\", \"source\": \"extra fields are fine\"}\n",
		);
		assert!(matches!(
			run(good.as_bytes(), "jsonl"),
			Ok(Checked::Text { records: Some(3), .. })
		));
		let cases: &[(&str, usize, &str)] = &[
			("{\"prompt\": \"only a prompt here\"}", 1, "\"response\" is missing"),
			("{\"prompt\": \"p\", \"response\": \"   \"}\n", 1, "\"response\" is empty"),
			("{\"prompt\": 5, \"response\": \"a response\"}", 1, "must be a string"),
			("{\"text\": \"fine line of text\"}\n[1, 2, 3, 4, 5, 6, 7, 8]", 2, "JSON object"),
			(
				"{\"messages\": [{\"role\": \"user\", \"content\": \"only the user speaks\"}]}",
				1,
				"assistant",
			),
			(
				"{\"messages\": [{\"role\": \"robot\", \"content\": \"beep beep beep\"}]}",
				1,
				"unknown role",
			),
			("{\"title\": \"no known fields at all\"}", 1, "expected"),
		];
		for (src, line, msg) in cases {
			match run(src.as_bytes(), "jsonl") {
				Err(Reason::Schema { line: l, message }) => {
					assert_eq!(l, *line, "{src}");
					assert!(message.contains(msg), "{src}: {message}");
				}
				other => panic!("{src}: {other:?}"),
			}
		}
		let r = run(b"{\"text\": \"first line is fine\"}\n{not json}\n", "jsonl");
		assert!(matches!(r, Err(Reason::BadJson { line: 2, .. })), "{r:?}");
	}

	#[test]
	fn docx_text_is_extracted_and_entities_unescaped() {
		let xml = br#"<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>Rivers &amp; deltas</w:t></w:r><w:r><w:t xml:space="preserve"> move sediment.</w:t></w:r></w:p><w:p><w:r><w:t>Second paragraph.</w:t></w:r></w:p></w:body></w:document>"#;
		assert_eq!(
			document_text(xml).unwrap(),
			"Rivers & deltas move sediment.\nSecond paragraph.\n"
		);
		assert!(matches!(document_text(b"<w:t>&bogus;</w:t>"), Err(Reason::BadArchive { .. })));
	}
}
