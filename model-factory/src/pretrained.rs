//! A base model with everything needed to talk to it: weights, tokenizer, chat template and stop
//! tokens, opened from a Hugging Face folder or a GGUF file.

use crate::chat::ChatTemplate;
use crate::model::{CausalLm, OpenError};
use candle_core::{DType, Device};
use std::path::Path;
pub use tokenizers::Tokenizer;

pub struct Pretrained {
	pub model: Box<dyn CausalLm>,
	pub tokenizer: Tokenizer,
	pub template: ChatTemplate,
	/// Generation ends at any of these.
	pub stop_tokens: Vec<u32>,
	/// Prepended to plain-text training sequences when the model expects it.
	pub bos_token_id: Option<u32>,
	/// Where it came from (a folder or a .gguf file).
	pub source: String,
	pub is_gguf: bool,
	/// Parameters in the file, when known without reading the weights twice (GGUF).
	pub parameters: Option<usize>,
}

fn io(p: &Path, e: impl std::fmt::Display) -> OpenError {
	OpenError::Io { path: p.display().to_string(), reason: e.to_string() }
}

/// A special token as `tokenizer_config.json` writes it: a string or `{"content": ...}`.
fn token_text(v: &serde_json::Value) -> Option<String> {
	v.as_str()
		.map(str::to_string)
		.or_else(|| v.get("content").and_then(|c| c.as_str()).map(str::to_string))
}

/// Token ids as configs write them: one id or a list.
fn ids(v: &serde_json::Value) -> Vec<u32> {
	match v {
		serde_json::Value::Number(n) => n.as_u64().map(|x| vec![x as u32]).unwrap_or_default(),
		serde_json::Value::Array(a) => {
			a.iter().filter_map(|x| x.as_u64()).map(|x| x as u32).collect()
		}
		_ => vec![],
	}
}

fn read_json(p: &Path) -> Result<Option<serde_json::Value>, OpenError> {
	match std::fs::read(p) {
		Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| OpenError::Config {
			path: p.display().to_string(),
			reason: e.to_string(),
		}),
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
		Err(e) => Err(io(p, e)),
	}
}

/// Opens `path`: a `.gguf` file, or a folder with `config.json`, safetensors and `tokenizer.json`.
pub fn open(path: &Path, dtype: DType, dev: &Device) -> Result<Pretrained, OpenError> {
	if path.extension().is_some_and(|e| e == "gguf") {
		let g = crate::gguf::load(path, dtype, dev).map_err(|e| io(path, e))?;
		let template = match g.chat_template {
			Some(t) => {
				let text = |id: Option<u32>| {
					id.and_then(|i| g.tokenizer.id_to_token(i)).unwrap_or_default()
				};
				ChatTemplate::new(t, &text(g.bos_token_id), &text(g.eos_token_id))
			}
			None => ChatTemplate::for_family(crate::model::Family::Llama),
		};
		return Ok(Pretrained {
			model: Box::new(g.model),
			tokenizer: g.tokenizer,
			template,
			stop_tokens: g.eos_token_id.into_iter().collect(),
			bos_token_id: None,
			source: path.display().to_string(),
			is_gguf: true,
			parameters: Some(g.parameters),
		});
	}
	let model = crate::model::load(path, dtype, dev)?;
	let tpath = path.join("tokenizer.json");
	if !tpath.exists() {
		return Err(io(&tpath, "missing: a model folder needs its tokenizer.json"));
	}
	let tokenizer = Tokenizer::from_file(&tpath).map_err(|e| io(&tpath, e))?;
	let tcfg = read_json(&path.join("tokenizer_config.json"))?.unwrap_or_default();
	let special = |k: &str| tcfg.get(k).and_then(token_text).unwrap_or_default();
	let (bos, eos) = (special("bos_token"), special("eos_token"));
	// The template: tokenizer_config.json (a string, or named variants), or chat_template.jinja.
	let source = match tcfg.get("chat_template") {
		Some(serde_json::Value::String(s)) => Some(s.clone()),
		Some(serde_json::Value::Array(a)) => a
			.iter()
			.find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
			.or(a.first())
			.and_then(|t| t.get("template").and_then(|s| s.as_str()).map(str::to_string)),
		_ => std::fs::read_to_string(path.join("chat_template.jinja")).ok(),
	};
	let template = match source {
		Some(s) => ChatTemplate::new(s, &bos, &eos),
		None => ChatTemplate::for_family(model.family()),
	};
	let mut stop_tokens = Vec::new();
	for f in ["generation_config.json", "config.json"] {
		if let Some(j) = read_json(&path.join(f))? {
			stop_tokens.extend(j.get("eos_token_id").map(ids).unwrap_or_default());
		}
	}
	if let Some(id) = tokenizer.token_to_id(&eos) {
		stop_tokens.push(id);
	}
	stop_tokens.sort_unstable();
	stop_tokens.dedup();
	let add_bos = tcfg.get("add_bos_token").and_then(|v| v.as_bool()).unwrap_or(false);
	let bos_token_id = if add_bos { tokenizer.token_to_id(&bos) } else { None };
	Ok(Pretrained {
		model,
		tokenizer,
		template,
		stop_tokens,
		bos_token_id,
		source: path.display().to_string(),
		is_gguf: false,
		parameters: None,
	})
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::chat::Message;
	use tokenizers::models::wordlevel::WordLevel;
	use tokenizers::pre_tokenizers::whitespace::Whitespace;

	/// A Hugging Face folder: the committed Qwen3 fixture plus a tokenizer, its config (template as
	/// named variants, special tokens as objects) and a generation config with a list of eos ids.
	#[test]
	fn a_folder_opens_with_its_tokenizer_template_and_stop_tokens() {
		let dir = tempfile::tempdir().unwrap();
		let src = crate::testutil::testdata().join("reference/qwen3");
		for f in ["config.json", "model.safetensors"] {
			std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
		}
		let mut words: Vec<String> = ["<s>", "</s>", "<unk>", "hi"].map(String::from).to_vec();
		words.extend((words.len()..64).map(|i| format!("w{i}")));
		let vocab = words.iter().enumerate().map(|(i, w)| (w.clone(), i as u32)).collect();
		let mut tok = Tokenizer::new(
			WordLevel::builder().vocab(vocab).unk_token("<unk>".into()).build().unwrap(),
		);
		tok.with_pre_tokenizer(Some(Whitespace {}));
		tok.save(dir.path().join("tokenizer.json"), false).unwrap();
		let tcfg = serde_json::json!({
			"bos_token": {"content": "<s>"}, "eos_token": "</s>", "add_bos_token": true,
			"chat_template": [
				{"name": "tool_use", "template": "unused"},
				{"name": "default", "template": "{{ bos_token }}{% for m in messages %}{{ m.content }} {% endfor %}{{ eos_token }}"}
			],
		});
		std::fs::write(dir.path().join("tokenizer_config.json"), tcfg.to_string()).unwrap();
		std::fs::write(dir.path().join("generation_config.json"), r#"{"eos_token_id": [1, 7]}"#)
			.unwrap();

		let p = open(dir.path(), DType::F32, &Device::Cpu).unwrap();
		assert_eq!(p.model.family(), crate::model::Family::Qwen3);
		assert_eq!(p.stop_tokens, vec![1, 7]);
		assert_eq!(p.bos_token_id, Some(0));
		let text = p.template.render(&[Message::new("user", "hi")], true).unwrap();
		assert_eq!(text, "<s>hi </s>");
		assert_eq!(p.tokenizer.encode("hi w9", false).unwrap().get_ids(), &[3, 9]);

		// Without a tokenizer the folder is refused by name.
		std::fs::remove_file(dir.path().join("tokenizer.json")).unwrap();
		let e = open(dir.path(), DType::F32, &Device::Cpu).err().unwrap().to_string();
		assert!(e.contains("tokenizer.json") && e.contains("missing"), "{e}");
	}
}
