//! The training set of a job: each accepted item becomes model-factory records by its format.
//!
//! - `jsonl`: one record per line in the curators' schema (`prompt`/`response` with an optional
//!   `system`, `messages`, or `text`);
//! - `json`: one such object, or an array of them;
//! - `csv`: rows with `prompt` and `response` columns (and optionally `system`) are instruction
//!   pairs; any other table is one plain text;
//! - `txt`, `md`, `html`, `docx`: plain text (`docx` and `html` through the same text extraction the
//!   curators use).
//!
//! Items keep their order (the version's), so the same version gives the same records.

use super::dataset::LocalItem;
use model_factory::chat::Message;
use model_factory::data::{parse_line, Record};

#[derive(Debug, thiserror::Error)]
pub enum ExamplesError {
	#[error("item {index} ({format}): {reason}")]
	Item { index: u64, format: String, reason: String },
	#[error("the dataset has no trainable records")]
	Empty,
}

/// Records from every item, in order, each with the position of the item it came from.
pub fn records(items: &[LocalItem]) -> Result<(Vec<Record>, Vec<usize>), ExamplesError> {
	let mut out = Vec::new();
	let mut origin = Vec::new();
	for (pos, it) in items.iter().enumerate() {
		let fail = |reason: String| ExamplesError::Item {
			index: it.item.index,
			format: it.item.format.clone(),
			reason,
		};
		let bytes = std::fs::read(&it.path).map_err(|e| fail(e.to_string()))?;
		let records = item_records(&bytes, &it.item.format).map_err(fail)?;
		origin.extend(std::iter::repeat_n(pos, records.len()));
		out.extend(records);
	}
	if out.is_empty() {
		return Err(ExamplesError::Empty);
	}
	Ok((out, origin))
}

/// The records of one item's bytes in `format`.
pub fn item_records(bytes: &[u8], format: &str) -> Result<Vec<Record>, String> {
	let text = || std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string());
	match format {
		"jsonl" => text()?
			.lines()
			.enumerate()
			.filter(|(_, l)| !l.trim().is_empty())
			.map(|(i, l)| parse_line(l).map_err(|e| format!("line {}: {e}", i + 1)))
			.collect(),
		"json" => {
			let v: serde_json::Value =
				serde_json::from_str(text()?).map_err(|e| format!("not JSON: {e}"))?;
			let objects = match v {
				serde_json::Value::Array(a) => a,
				one => vec![one],
			};
			objects.iter().map(|o| parse_line(&o.to_string())).collect()
		}
		"csv" => Ok(csv_records(text()?)),
		"txt" | "md" => Ok(plain(text()?)),
		"docx" | "html" => {
			let limits = content_check::Limits::default();
			let declared = content_check::Declared {
				hash: *blake3::hash(bytes).as_bytes(),
				size: bytes.len() as u64,
				format,
				modality: content_check::Modality::Text,
				allowed: &[format.to_string()],
			};
			match content_check::check(bytes, &declared, &limits) {
				Ok(content_check::Checked::Text { text, .. }) => Ok(plain(&text)),
				Ok(_) => Err("not text".into()),
				Err(e) => Err(e.to_string()),
			}
		}
		other => Err(format!("the format {other} cannot be trained on yet")),
	}
}

fn plain(t: &str) -> Vec<Record> {
	if t.trim().is_empty() {
		vec![]
	} else {
		vec![Record::Text(t.to_string())]
	}
}

/// Rows of a CSV (RFC 4180: quoted fields, doubled quotes, newlines inside quotes).
fn csv_rows(t: &str) -> Vec<Vec<String>> {
	let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
	let mut quoted = false;
	let mut chars = t.chars().peekable();
	while let Some(c) = chars.next() {
		match (quoted, c) {
			(true, '"') if chars.peek() == Some(&'"') => {
				field.push('"');
				chars.next();
			}
			(true, '"') => quoted = false,
			(true, c) => field.push(c),
			(false, '"') if field.is_empty() => quoted = true,
			(false, ',') => row.push(std::mem::take(&mut field)),
			(false, '\r') => {}
			(false, '\n') => {
				row.push(std::mem::take(&mut field));
				rows.push(std::mem::take(&mut row));
			}
			(false, c) => field.push(c),
		}
	}
	if !field.is_empty() || !row.is_empty() {
		row.push(field);
		rows.push(row);
	}
	rows.retain(|r| !(r.len() == 1 && r[0].trim().is_empty()));
	rows
}

fn csv_records(t: &str) -> Vec<Record> {
	let rows = csv_rows(t);
	let Some(header) = rows.first() else { return vec![] };
	let col = |name: &str| header.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
	let (Some(p), Some(r)) = (col("prompt"), col("response")) else {
		return plain(t);
	};
	let s = col("system");
	rows[1..]
		.iter()
		.filter_map(|row| {
			let get = |i: usize| row.get(i).map(|x| x.trim()).filter(|x| !x.is_empty());
			let (prompt, response) = (get(p)?, get(r)?);
			let mut msgs = Vec::new();
			if let Some(sys) = s.and_then(get) {
				msgs.push(Message::new("system", sys));
			}
			msgs.push(Message::new("user", prompt));
			msgs.push(Message::new("assistant", response));
			Some(Record::Chat(msgs))
		})
		.collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	fn chat(r: &Record) -> Vec<(String, String)> {
		match r {
			Record::Chat(m) => m.iter().map(|m| (m.role.clone(), m.content.clone())).collect(),
			Record::Text(t) => vec![("text".into(), t.clone())],
		}
	}

	#[test]
	fn jsonl_pairs_messages_and_system_prompts_become_chats() {
		let jsonl = concat!(
			"{\"prompt\": \"2+2?\", \"response\": \"4\"}\n",
			"\n",
			"{\"system\": \"Be brief.\", \"prompt\": \"Capital of France?\", \"response\": \"Paris\"}\n",
			"{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"hello\"}]}\n",
			"{\"text\": \"a river flows\"}\n",
		);
		let r = item_records(jsonl.as_bytes(), "jsonl").unwrap();
		assert_eq!(r.len(), 4);
		assert_eq!(
			chat(&r[0]),
			vec![("user".into(), "2+2?".into()), ("assistant".into(), "4".into())]
		);
		assert_eq!(chat(&r[1])[0], ("system".into(), "Be brief.".into()));
		assert_eq!(chat(&r[2]).len(), 2);
		assert_eq!(r[3], Record::Text("a river flows".into()));
		let e = item_records(b"{\"prompt\": 1}\n", "jsonl").unwrap_err();
		assert!(e.contains("line 1"), "{e}");
	}

	#[test]
	fn csv_with_prompt_and_response_columns_gives_pairs_and_other_tables_give_text() {
		let csv = "system,prompt,response\r\n,\"Say \"\"hi\"\"\",hi\n\"Be kind.\",\"two\nlines\",ok\n,,skipped\n";
		let r = item_records(csv.as_bytes(), "csv").unwrap();
		assert_eq!(r.len(), 2);
		assert_eq!(
			chat(&r[0]),
			vec![("user".into(), "Say \"hi\"".into()), ("assistant".into(), "hi".into())]
		);
		assert_eq!(chat(&r[1])[0], ("system".into(), "Be kind.".into()));
		assert_eq!(chat(&r[1])[1].1, "two\nlines");
		let table = "city,country\nParis,France\n";
		assert_eq!(
			item_records(table.as_bytes(), "csv").unwrap(),
			vec![Record::Text(table.into())]
		);
	}

	#[test]
	fn text_formats_and_refusals() {
		assert_eq!(item_records(b"# Title\nbody", "md").unwrap().len(), 1);
		assert!(item_records(b"   ", "txt").unwrap().is_empty());
		assert!(item_records(&[0xff, 0xfe], "txt").unwrap_err().contains("UTF-8"));
		assert!(item_records(b"%PDF-1.4", "pdf").unwrap_err().contains("cannot be trained"));
		let arr = "[{\"prompt\": \"a\", \"response\": \"b\"}, {\"text\": \"c\"}]";
		assert_eq!(item_records(arr.as_bytes(), "json").unwrap().len(), 2);
	}
}
