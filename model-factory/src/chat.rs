//! Chat templates: conversations rendered to the exact text a model was tuned on.
//!
//! A model's own template (the Jinja `chat_template` of its `tokenizer_config.json`, or the GGUF
//! `tokenizer.chat_template`) is rendered with minijinja set up as transformers' `apply_chat_template`
//! sets up Jinja: blocks trimmed (`trim_blocks`, `lstrip_blocks`), Python-compatible string methods,
//! `raise_exception`, and `tojson` as Python's `json.dumps` writes (`", "` and `": "`, keys in their
//! given order, no HTML escaping), with `tools` and any other variables (`enable_thinking`) passed
//! through ([`Extras`]). Models that ship none get their family's format.

use crate::model::Family;
use minijinja::{Environment, ErrorKind};
use serde::{Deserialize, Serialize};

/// One turn. Besides its role and text, an assistant turn may carry the tool calls it made
/// (OpenAI's `tool_calls`, as given), and a `tool` turn the id of the call it answers and the
/// tool's name; templates see these keys only when they are set, as transformers passes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
	pub role: String,
	pub content: String,
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub tool_calls: Option<Vec<serde_json::Value>>,
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub tool_call_id: Option<String>,
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub name: Option<String>,
}

impl Message {
	pub fn new(role: &str, content: &str) -> Self {
		Self {
			role: role.into(),
			content: content.into(),
			tool_calls: None,
			tool_call_id: None,
			name: None,
		}
	}

	/// The turn as a template sees it: a map with the keys that are set.
	fn value(&self) -> minijinja::Value {
		let mut keys: Vec<(&str, minijinja::Value)> =
			vec![("role", self.role.as_str().into()), ("content", self.content.as_str().into())];
		if let Some(calls) = &self.tool_calls {
			keys.push(("tool_calls", minijinja::Value::from_iter(calls.iter().map(json_value))));
		}
		if let Some(id) = &self.tool_call_id {
			keys.push(("tool_call_id", id.as_str().into()));
		}
		if let Some(n) = &self.name {
			keys.push(("name", n.as_str().into()));
		}
		minijinja::Value::from_iter(keys)
	}
}

/// ChatML (Qwen2/2.5/3, SmolLM2).
const CHATML: &str =
	"{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}\
{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
/// Llama 3 headers.
const LLAMA3: &str = "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n\
{{ m.content | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";
/// Mistral instruct: a system message is prepended to the first user turn.
const MISTRAL: &str = "{{ bos_token }}{% set sys = namespace(text='') %}{% for m in messages %}\
{% if m.role == 'system' %}{% set sys.text = m.content + '\n\n' %}\
{% elif m.role == 'user' %}[INST] {{ sys.text }}{{ m.content }} [/INST]{% set sys.text = '' %}\
{% else %}{{ m.content }}{{ eos_token }}{% endif %}{% endfor %}";
/// GLM-4.
const GLM4: &str =
	"[gMASK]<sop>{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}{% endfor %}\
{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
/// DeepSeek-V2 chat: plain `User:` / `Assistant:` turns after the BOS.
const DEEPSEEK_V2: &str = "{{ bos_token }}{% for m in messages %}{% if m.role == 'system' %}{{ m.content }}\n\n\
{% elif m.role == 'user' %}User: {{ m.content }}\n\n{% else %}Assistant: {{ m.content }}{{ eos_token }}{% endif %}{% endfor %}\
{% if add_generation_prompt %}Assistant:{% endif %}";
/// DeepSeek-V3 and R1: the system text first, then `<｜User｜>` / `<｜Assistant｜>` turns.
const DEEPSEEK_V3: &str = "{{ bos_token }}{% for m in messages %}{% if m.role == 'system' %}{{ m.content }}\
{% elif m.role == 'user' %}<｜User｜>{{ m.content }}{% else %}<｜Assistant｜>{{ m.content }}{{ eos_token }}{% endif %}{% endfor %}\
{% if add_generation_prompt %}<｜Assistant｜>{% endif %}";
/// Base models with no chat tuning (GPT-2, BLOOM): plain labelled turns.
const PLAIN: &str =
	"{% for m in messages %}{{ m.role | capitalize }}: {{ m.content }}\n{% endfor %}\
{% if add_generation_prompt %}Assistant:{% endif %}";

/// A chat template with the special tokens it refers to.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
	pub source: String,
	pub bos_token: String,
	pub eos_token: String,
}

impl ChatTemplate {
	pub fn new(source: impl Into<String>, bos_token: &str, eos_token: &str) -> Self {
		Self { source: source.into(), bos_token: bos_token.into(), eos_token: eos_token.into() }
	}

	/// The family's usual format, for models that ship no template.
	pub fn for_family(f: Family) -> Self {
		let (src, bos, eos) = match f {
			Family::Qwen2 | Family::Qwen3 | Family::Qwen2Moe | Family::Qwen3Moe => {
				(CHATML, "", "<|im_end|>")
			}
			Family::Llama => (LLAMA3, "<|begin_of_text|>", "<|eot_id|>"),
			Family::Mistral => (MISTRAL, "<s>", "</s>"),
			Family::Glm | Family::Glm4 | Family::ChatGlm => (GLM4, "", "<|user|>"),
			Family::DeepseekV2 => (DEEPSEEK_V2, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
			Family::DeepseekV3 => (DEEPSEEK_V3, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
			Family::Gpt2 | Family::Bloom => (PLAIN, "", ""),
		};
		Self::new(src, bos, eos)
	}

	/// Renders `messages`; with `add_generation_prompt` the text ends where the assistant's reply
	/// starts.
	pub fn render(
		&self,
		messages: &[Message],
		add_generation_prompt: bool,
	) -> Result<String, String> {
		self.render_with(messages, add_generation_prompt, &Extras::default())
	}

	/// [`ChatTemplate::render`] with the template's other inputs: `tools` (JSON schemas, in the
	/// order and key order given) and variables such as `enable_thinking`.
	pub fn render_with(
		&self,
		messages: &[Message],
		add_generation_prompt: bool,
		extras: &Extras,
	) -> Result<String, String> {
		let mut env = Environment::new();
		env.set_trim_blocks(true);
		env.set_lstrip_blocks(true);
		env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
		env.add_function("raise_exception", |msg: String| -> Result<String, minijinja::Error> {
			Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
		});
		env.add_filter("tojson", tojson);
		env.add_template("chat", &self.source).map_err(|e| format!("chat template: {e}"))?;
		let mut ctx = std::collections::BTreeMap::new();
		for (k, v) in &extras.variables {
			ctx.insert(k.clone(), json_value(v));
		}
		ctx.insert(
			"messages".into(),
			minijinja::Value::from_iter(messages.iter().map(Message::value)),
		);
		ctx.insert("add_generation_prompt".into(), add_generation_prompt.into());
		ctx.insert("bos_token".into(), self.bos_token.clone().into());
		ctx.insert("eos_token".into(), self.eos_token.clone().into());
		ctx.insert(
			"tools".into(),
			match &extras.tools {
				Some(t) => minijinja::Value::from_iter(t.iter().map(json_value)),
				None => minijinja::Value::from(()),
			},
		);
		env.get_template("chat")
			.and_then(|t| t.render(ctx))
			.map_err(|e| format!("chat template: {e}"))
	}
}

/// What a template may read besides the messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extras {
	/// Tool (function) schemas, as OpenAI's `tools` gives them; `None` renders as Jinja's `none`.
	pub tools: Option<Vec<serde_json::Value>>,
	/// Other variables by name (`enable_thinking`, `reasoning_effort`, ...).
	pub variables: Vec<(String, serde_json::Value)>,
}

/// A JSON value as a template value, keys in their order. Built by hand rather than through
/// serde: with serde_json's `arbitrary_precision` (which another crate of a build may turn on)
/// numbers serialize as private maps.
fn json_value(v: &serde_json::Value) -> minijinja::Value {
	use serde_json::Value as J;
	match v {
		J::Null => minijinja::Value::from(()),
		J::Bool(b) => (*b).into(),
		J::Number(n) => match (n.as_i64(), n.as_u64()) {
			(Some(i), _) => i.into(),
			(None, Some(u)) => u.into(),
			_ => n.as_f64().unwrap_or(f64::NAN).into(),
		},
		J::String(s) => s.as_str().into(),
		J::Array(a) => minijinja::Value::from_iter(a.iter().map(json_value)),
		J::Object(o) => {
			minijinja::Value::from_iter(o.iter().map(|(k, v)| (k.as_str(), json_value(v))))
		}
	}
}

/// `tojson` as transformers defines it for chat templates: Python's `json.dumps(x,
/// ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)`.
fn tojson(
	value: minijinja::Value,
	kwargs: minijinja::value::Kwargs,
) -> Result<String, minijinja::Error> {
	let indent: Option<usize> = kwargs.get("indent")?;
	let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
	let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
	let separators: Option<Vec<String>> = kwargs.get("separators")?;
	kwargs.assert_all_used()?;
	let (item, key) = match &separators {
		Some(s) if s.len() == 2 => (s[0].clone(), s[1].clone()),
		Some(_) => {
			return Err(minijinja::Error::new(
				ErrorKind::InvalidOperation,
				"tojson: separators is a pair (item, key)",
			))
		}
		// Python's defaults: ", " without indent, "," with it (lines end the items).
		None => (if indent.is_some() { "," } else { ", " }.to_string(), ": ".to_string()),
	};
	let style = PyJson {
		indent,
		item,
		key,
		sort_keys: sort_keys.unwrap_or(false),
		ascii: ensure_ascii.unwrap_or(false),
	};
	let mut out = String::new();
	style.write(&value, 0, &mut out)?;
	Ok(out)
}

/// Python's `json.dumps` output format.
struct PyJson {
	indent: Option<usize>,
	item: String,
	key: String,
	sort_keys: bool,
	ascii: bool,
}

impl PyJson {
	fn write(
		&self,
		v: &minijinja::Value,
		depth: usize,
		out: &mut String,
	) -> Result<(), minijinja::Error> {
		use minijinja::value::ValueKind;
		match v.kind() {
			ValueKind::Undefined | ValueKind::None => out.push_str("null"),
			ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
			ValueKind::Number => {
				let s = v.to_string();
				// Python writes floats with a decimal point, integers without.
				match f64::try_from(v.clone()) {
					Ok(f) if v.as_i64().is_none() && f.is_finite() && f.fract() == 0.0 => {
						out.push_str(&format!("{f:.1}"))
					}
					_ => out.push_str(&s),
				}
			}
			ValueKind::String => self.string(v.as_str().unwrap_or_default(), out),
			ValueKind::Seq | ValueKind::Iterable => {
				let items: Vec<minijinja::Value> = v.try_iter()?.collect();
				self.container('[', ']', items.len(), depth, out, |i, d, o| {
					self.write(&items[i], d, o)
				})?;
			}
			ValueKind::Map => {
				let mut keys: Vec<minijinja::Value> = v.try_iter()?.collect();
				if self.sort_keys {
					keys.sort_by_key(|k| k.to_string());
				}
				self.container('{', '}', keys.len(), depth, out, |i, d, o| {
					let k = &keys[i];
					self.string(&k.to_string(), o);
					o.push_str(&self.key);
					self.write(&v.get_item(k)?, d, o)
				})?;
			}
			_ => self.string(&v.to_string(), out),
		}
		Ok(())
	}

	fn container(
		&self,
		open: char,
		close: char,
		n: usize,
		depth: usize,
		out: &mut String,
		mut each: impl FnMut(usize, usize, &mut String) -> Result<(), minijinja::Error>,
	) -> Result<(), minijinja::Error> {
		out.push(open);
		if n == 0 {
			out.push(close);
			return Ok(());
		}
		let newline = |d: usize, o: &mut String| {
			if let Some(w) = self.indent {
				o.push('\n');
				o.push_str(&" ".repeat(w * d));
			}
		};
		for i in 0..n {
			if i > 0 {
				out.push_str(&self.item);
			}
			newline(depth + 1, out);
			each(i, depth + 1, out)?;
		}
		newline(depth, out);
		out.push(close);
		Ok(())
	}

	fn string(&self, s: &str, out: &mut String) {
		out.push('"');
		for c in s.chars() {
			match c {
				'"' => out.push_str("\\\""),
				'\\' => out.push_str("\\\\"),
				'\n' => out.push_str("\\n"),
				'\r' => out.push_str("\\r"),
				'\t' => out.push_str("\\t"),
				'\u{8}' => out.push_str("\\b"),
				'\u{c}' => out.push_str("\\f"),
				c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
				c if self.ascii && !c.is_ascii() => {
					let mut buf = [0u16; 2];
					for unit in c.encode_utf16(&mut buf) {
						out.push_str(&format!("\\u{unit:04x}"));
					}
				}
				c => out.push(c),
			}
		}
		out.push('"');
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn family_templates_render_the_expected_text() {
		let msgs = [
			Message::new("system", "Be brief."),
			Message::new("user", "Hi"),
			Message::new("assistant", "Hello!"),
		];
		let chatml = ChatTemplate::for_family(Family::Qwen2).render(&msgs[1..2], true).unwrap();
		assert_eq!(chatml, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
		let m = ChatTemplate::for_family(Family::Mistral).render(&msgs, false).unwrap();
		assert_eq!(m, "<s>[INST] Be brief.\n\nHi [/INST]Hello!</s>");
		let l = ChatTemplate::for_family(Family::Llama).render(&msgs[1..2], true).unwrap();
		assert_eq!(
			l,
			"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
		);
		let g = ChatTemplate::for_family(Family::Glm4).render(&msgs[1..2], true).unwrap();
		assert_eq!(g, "[gMASK]<sop><|user|>\nHi<|assistant|>\n");
		let d = ChatTemplate::for_family(Family::DeepseekV3).render(&msgs, true).unwrap();
		assert_eq!(
			d,
			"<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi<｜Assistant｜>Hello!<｜end▁of▁sentence｜><｜Assistant｜>"
		);
		let d = ChatTemplate::for_family(Family::DeepseekV2).render(&msgs[1..2], true).unwrap();
		assert_eq!(d, "<｜begin▁of▁sentence｜>User: Hi\n\nAssistant:");
		let p = ChatTemplate::for_family(Family::Gpt2).render(&msgs[1..], true).unwrap();
		assert_eq!(p, "User: Hi\nAssistant: Hello!\nAssistant:");
	}

	/// Templates written to exercise what real ones rely on, rendered by transformers
	/// (testdata/make_chat_templates.py): block trimming with and without dashes, `tojson` on tool
	/// schemas (key order, Python's separators, indent, sort_keys, ensure_ascii), `tools`,
	/// `enable_thinking`, namespaces, string methods. The engine must give the same text.
	#[test]
	fn templates_render_as_transformers() {
		let path = crate::testutil::testdata().join("chat/templates.json");
		let cases: Vec<serde_json::Value> =
			serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
		assert_eq!(cases.len(), 12);
		for c in cases {
			let t = ChatTemplate::new(
				c["template"].as_str().unwrap(),
				c["bos_token"].as_str().unwrap(),
				c["eos_token"].as_str().unwrap(),
			);
			let msgs: Vec<Message> = serde_json::from_value(c["messages"].clone()).unwrap();
			let extras = Extras {
				tools: c["tools"].as_array().cloned(),
				variables: c["variables"]
					.as_object()
					.unwrap()
					.iter()
					.map(|(k, v)| (k.clone(), v.clone()))
					.collect(),
			};
			let gen = c["add_generation_prompt"].as_bool().unwrap();
			let got = t.render_with(&msgs, gen, &extras).unwrap();
			assert_eq!(
				got,
				c["expected"].as_str().unwrap(),
				"{} (generation prompt: {gen})",
				c["name"]
			);
		}
	}

	/// Hugging Face templates use Python string methods and `raise_exception`; both work, and a
	/// template error is reported, not panicked on.
	#[test]
	fn hugging_face_style_templates_render() {
		let src = "{% for m in messages %}{% if m.role not in ['user', 'assistant'] %}\
			{{ raise_exception('roles must be user or assistant') }}{% endif %}\
			{{ m.role.upper() }}: {{ m.content.strip() }}\n{% endfor %}";
		let t = ChatTemplate::new(src, "", "");
		assert_eq!(t.render(&[Message::new("user", "  hi  ")], false).unwrap(), "USER: hi\n");
		let e = t.render(&[Message::new("tool", "x")], false).unwrap_err();
		assert!(e.contains("roles must be user or assistant"), "{e}");
		assert!(ChatTemplate::new("{% for %}", "", "").render(&[], false).is_err());
	}
}
