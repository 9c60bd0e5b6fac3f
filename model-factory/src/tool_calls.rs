//! Tool calls in a model's answer: the formats chat templates teach models to call tools in, read
//! back into names and JSON arguments.
//!
//! - Hermes (Qwen2.5, Qwen3, Hermes, many fine-tunes): `<tool_call>{"name": .., "arguments":
//!   {..}}</tool_call>`, one block per call, after any text.
//! - Mistral: `[TOOL_CALLS]` then a JSON list of `{"name", "arguments"}` (v3 tokenizers), or
//!   `[TOOL_CALLS]name[ARGS]{..}` per call (v11 and later).
//! - JSON (Llama 3.1 and later): the whole answer is one `{"name": .., "parameters": {..}}` object
//!   (after `<|python_tag|>` when the template uses it).
//!
//! Which one a model uses is read from its template ([`ToolFormat::of_template`]). A call is taken
//! only when its name is one of the tools the request gave and its arguments are a JSON object;
//! otherwise the answer stays text.

use serde_json::Value;

/// How a model writes tool calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolFormat {
	Hermes,
	Mistral,
	Json,
}

/// One call: the tool's name and its arguments (a JSON object).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
	pub name: String,
	pub arguments: Value,
}

/// An answer read for tool calls: the text before them (trimmed; may be empty) and the calls.
#[derive(Debug, Clone, PartialEq)]
pub struct Calls {
	pub content: String,
	pub calls: Vec<ToolCall>,
}

impl ToolFormat {
	/// The format a chat template teaches, or `None` when it takes no tools (it never reads
	/// `tools`): a request with tools is then refused rather than answered without them.
	pub fn of_template(source: &str) -> Option<Self> {
		if !source.contains("tools") {
			return None;
		}
		Some(if source.contains("<tool_call>") {
			ToolFormat::Hermes
		} else if source.contains("[TOOL_CALLS]") {
			ToolFormat::Mistral
		} else {
			ToolFormat::Json
		})
	}

	/// The calls in `answer` to tools named in `names`, or `None` when it makes none.
	pub fn parse(self, answer: &str, names: &[&str]) -> Option<Calls> {
		let (content, calls) = match self {
			ToolFormat::Hermes => hermes(answer)?,
			ToolFormat::Mistral => mistral(answer)?,
			ToolFormat::Json => {
				let body = answer.trim().trim_start_matches("<|python_tag|>").trim();
				(String::new(), vec![call(&serde_json::from_str(body).ok()?)?])
			}
		};
		if calls.is_empty() || calls.iter().any(|c| !names.contains(&c.name.as_str())) {
			return None;
		}
		Some(Calls { content: content.trim().to_string(), calls })
	}
}

/// `{"name": .., "arguments" | "parameters": {..}}`.
fn call(v: &Value) -> Option<ToolCall> {
	let name = v.get("name")?.as_str()?.to_string();
	let arguments = v.get("arguments").or_else(|| v.get("parameters"))?.clone();
	// Some models write the arguments as a JSON string, as OpenAI's API carries them.
	let arguments = match arguments {
		Value::String(s) => serde_json::from_str(&s).ok()?,
		a => a,
	};
	arguments.is_object().then_some(ToolCall { name, arguments })
}

fn hermes(answer: &str) -> Option<(String, Vec<ToolCall>)> {
	let first = answer.find("<tool_call>")?;
	let mut calls = Vec::new();
	let mut rest = &answer[first..];
	while let Some(start) = rest.find("<tool_call>") {
		let body = &rest[start + "<tool_call>".len()..];
		// A call cut off by the token limit has no closing tag: it is not a call.
		let end = body.find("</tool_call>")?;
		calls.push(call(&serde_json::from_str(body[..end].trim()).ok()?)?);
		rest = &body[end + "</tool_call>".len()..];
	}
	rest.trim().is_empty().then(|| (answer[..first].to_string(), calls))
}

fn mistral(answer: &str) -> Option<(String, Vec<ToolCall>)> {
	let first = answer.find("[TOOL_CALLS]")?;
	let content = answer[..first].to_string();
	let body = answer[first + "[TOOL_CALLS]".len()..].trim();
	if body.starts_with('[') {
		let list: Vec<Value> = serde_json::from_str(body).ok()?;
		return Some((content, list.iter().map(call).collect::<Option<_>>()?));
	}
	let mut calls = Vec::new();
	for part in body.split("[TOOL_CALLS]") {
		let (name, args) = part.split_once("[ARGS]")?;
		let arguments: Value = serde_json::from_str(args.trim()).ok()?;
		if !arguments.is_object() {
			return None;
		}
		calls.push(ToolCall { name: name.trim().to_string(), arguments });
	}
	Some((content, calls))
}

#[cfg(test)]
mod tests {
	use super::*;
	use serde_json::json;

	const NAMES: &[&str] = &["get_weather", "search"];

	#[test]
	fn the_format_is_read_from_the_template() {
		assert_eq!(ToolFormat::of_template("{{ messages }}"), None, "no tools: refused");
		let qwen = "{% if tools %}<tools>{{ tools | tojson }}</tools> <tool_call>{% endif %}";
		assert_eq!(ToolFormat::of_template(qwen), Some(ToolFormat::Hermes));
		let mistral = "{% if tools %}[AVAILABLE_TOOLS]{{ tools }}{% endif %}[TOOL_CALLS]";
		assert_eq!(ToolFormat::of_template(mistral), Some(ToolFormat::Mistral));
		let llama =
			"{% if tools %}Respond with {\"name\": function name, \"parameters\": ..}{% endif %}";
		assert_eq!(ToolFormat::of_template(llama), Some(ToolFormat::Json));
	}

	#[test]
	fn hermes_calls_after_text_are_read_in_order() {
		let a = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>{\"name\": \"search\", \"arguments\": \"{\\\"q\\\": 1}\"}</tool_call>";
		let c = ToolFormat::Hermes.parse(a, NAMES).unwrap();
		assert_eq!(c.content, "Let me check.");
		assert_eq!(
			c.calls,
			vec![
				ToolCall { name: "get_weather".into(), arguments: json!({"city": "Paris"}) },
				ToolCall { name: "search".into(), arguments: json!({"q": 1}) },
			]
		);
	}

	#[test]
	fn what_is_not_a_whole_call_to_a_given_tool_stays_text() {
		let h = ToolFormat::Hermes;
		assert_eq!(h.parse("Paris is sunny.", NAMES), None);
		// Cut off by the token limit.
		assert_eq!(h.parse("<tool_call>{\"name\": \"search\", \"argum", NAMES), None);
		// A tool the request did not give.
		let other = "<tool_call>{\"name\": \"rm\", \"arguments\": {}}</tool_call>";
		assert_eq!(h.parse(other, NAMES), None);
		// Arguments that are not an object.
		let list = "<tool_call>{\"name\": \"search\", \"arguments\": [1]}</tool_call>";
		assert_eq!(h.parse(list, NAMES), None);
		// Text after the calls: the model went on talking, not calling.
		let after = "<tool_call>{\"name\": \"search\", \"arguments\": {}}</tool_call> and more";
		assert_eq!(h.parse(after, NAMES), None);
		assert_eq!(ToolFormat::Json.parse("{\"name\": \"search\"}", NAMES), None);
	}

	#[test]
	fn mistral_calls_in_both_layouts() {
		let v3 = "[TOOL_CALLS] [{\"name\": \"search\", \"arguments\": {\"q\": \"rivers\"}}]";
		let c = ToolFormat::Mistral.parse(v3, NAMES).unwrap();
		assert_eq!(
			c.calls,
			vec![ToolCall { name: "search".into(), arguments: json!({"q": "rivers"}) }]
		);
		let v11 = "[TOOL_CALLS]search[ARGS]{\"q\": \"a\"}[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Oslo\"}";
		let c = ToolFormat::Mistral.parse(v11, NAMES).unwrap();
		assert_eq!(c.calls.len(), 2);
		assert_eq!(c.calls[1].arguments, json!({"city": "Oslo"}));
	}

	#[test]
	fn llama_json_calls_with_or_without_the_python_tag() {
		for a in [
			"{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Rome\"}}",
			"<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Rome\"}}",
		] {
			let c = ToolFormat::Json.parse(a, NAMES).unwrap();
			assert_eq!(c.content, "");
			assert_eq!(c.calls[0].arguments, json!({"city": "Rome"}));
		}
	}
}
