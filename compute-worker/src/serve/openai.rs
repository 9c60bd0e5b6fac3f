//! The OpenAI API's request and response shapes, and their checks: what `/v1/chat/completions` and
//! `/v1/completions` accept (the fields this server honours; unknown fields are ignored, as OpenAI's
//! own clients send many) and the JSON they answer with.

use super::engine::{Finish, Prompt, Request};
use model_factory::chat::Message;
use serde::Deserialize;
use serde_json::{json, Value};

/// Limits a request is checked against.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
	/// `max_tokens` when the request names none.
	pub default_max_tokens: usize,
	/// The most `max_tokens` may be.
	pub max_tokens: usize,
}

/// A request the server refuses, with the parameter at fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
	pub message: String,
	pub param: Option<&'static str>,
}

fn invalid(param: &'static str, message: impl Into<String>) -> Invalid {
	Invalid { message: message.into(), param: Some(param) }
}

/// `content`: a string, or a list of parts of which only text parts are understood.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Content {
	Text(String),
	Parts(Vec<Part>),
}

#[derive(Debug, Deserialize)]
struct Part {
	#[serde(rename = "type")]
	kind: String,
	#[serde(default)]
	text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChatMessage {
	role: String,
	#[serde(default)]
	content: Option<Content>,
	/// An assistant turn's calls, passed to the template as given.
	#[serde(default)]
	tool_calls: Option<Vec<Value>>,
	/// A `tool` turn: the call it answers.
	#[serde(default)]
	tool_call_id: Option<String>,
	#[serde(default)]
	name: Option<String>,
}

/// `stop`: one string or a list of up to 4.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Stop {
	One(String),
	Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct StreamOptions {
	#[serde(default)]
	include_usage: bool,
}

/// The fields both endpoints share.
#[derive(Debug, Deserialize)]
struct Common {
	model: String,
	#[serde(default)]
	max_tokens: Option<i64>,
	/// The newer name of `max_tokens` in the chat API.
	#[serde(default)]
	max_completion_tokens: Option<i64>,
	#[serde(default)]
	temperature: Option<f64>,
	#[serde(default)]
	top_p: Option<f64>,
	#[serde(default)]
	seed: Option<i64>,
	#[serde(default)]
	stop: Option<Stop>,
	#[serde(default)]
	n: Option<i64>,
	#[serde(default)]
	stream: Option<bool>,
	#[serde(default)]
	stream_options: Option<StreamOptions>,
	/// Token id (as a string) to a bias from -100 to 100.
	#[serde(default)]
	logit_bias: Option<std::collections::BTreeMap<String, f64>>,
}

#[derive(Debug, Deserialize)]
struct ChatBody {
	#[serde(flatten)]
	common: Common,
	messages: Vec<ChatMessage>,
	#[serde(default)]
	tools: Option<Vec<Value>>,
	#[serde(default)]
	tool_choice: Option<Value>,
}

/// Most tools one request may give (OpenAI's limit).
const MAX_TOOLS: usize = 128;

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PromptField {
	One(String),
	Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct CompletionBody {
	#[serde(flatten)]
	common: Common,
	prompt: PromptField,
}

/// A checked request: what to generate, and how to answer.
#[derive(Debug, Clone)]
pub struct Parsed {
	pub request: Request,
	pub stream: bool,
	pub include_usage: bool,
	/// The names of the tools the model may call (none: it answers in text).
	pub tools: Vec<String>,
}

fn common(c: Common, prompt: Prompt, limits: RequestLimits) -> Result<Parsed, Invalid> {
	if c.model.is_empty() {
		return Err(invalid("model", "`model` is empty: name one of GET /v1/models"));
	}
	if c.n.is_some_and(|n| n != 1) {
		return Err(invalid("n", "only n = 1 is supported"));
	}
	let max_tokens = match c.max_completion_tokens.or(c.max_tokens) {
		None => limits.default_max_tokens,
		Some(m) if m < 1 => return Err(invalid("max_tokens", "`max_tokens` must be at least 1")),
		Some(m) if m as u64 > limits.max_tokens as u64 => {
			return Err(invalid(
				"max_tokens",
				format!("`max_tokens` is {m}; this server generates at most {}", limits.max_tokens),
			))
		}
		Some(m) => m as usize,
	};
	let temperature = c.temperature.unwrap_or(1.0);
	if !(0.0..=2.0).contains(&temperature) {
		return Err(invalid("temperature", "`temperature` must be between 0 and 2"));
	}
	let top_p = c.top_p.unwrap_or(1.0);
	if !(top_p > 0.0 && top_p <= 1.0) {
		return Err(invalid("top_p", "`top_p` must be above 0 and at most 1"));
	}
	let stop = match c.stop {
		None => vec![],
		Some(Stop::One(s)) => vec![s],
		Some(Stop::Many(v)) => v,
	};
	if stop.len() > 4 || stop.iter().any(|s| s.is_empty() || s.len() > 256) {
		return Err(invalid("stop", "`stop` takes up to 4 non-empty strings of up to 256 bytes"));
	}
	let mut logit_bias = Vec::new();
	for (t, b) in c.logit_bias.unwrap_or_default() {
		let Ok(token) = t.parse::<u32>() else {
			return Err(invalid(
				"logit_bias",
				format!("`logit_bias` keys are token ids, not `{t}`"),
			));
		};
		if !(-100.0..=100.0).contains(&b) {
			return Err(invalid("logit_bias", "`logit_bias` values are between -100 and 100"));
		}
		logit_bias.push((token, b as f32));
	}
	if logit_bias.len() > 300 {
		return Err(invalid("logit_bias", "`logit_bias` takes at most 300 tokens"));
	}
	// Without a seed, sampling draws one (as OpenAI's API does); with one, the answer repeats.
	let seed = match c.seed {
		Some(s) => s as u64,
		None => rand::random(),
	};
	Ok(Parsed {
		request: Request {
			model: c.model,
			adapter: None,
			prompt,
			max_tokens,
			temperature,
			top_p,
			seed,
			stop,
			logit_bias,
		},
		stream: c.stream.unwrap_or(false),
		include_usage: c.stream_options.is_some_and(|o| o.include_usage),
		tools: vec![],
	})
}

fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Invalid> {
	serde_json::from_slice(bytes).map_err(|e| Invalid {
		message: format!("the request body is not a valid request: {e}"),
		param: None,
	})
}

/// Checks a `/v1/chat/completions` body.
pub fn chat_request(bytes: &[u8], limits: RequestLimits) -> Result<Parsed, Invalid> {
	let b: ChatBody = body(bytes)?;
	if b.messages.is_empty() {
		return Err(invalid("messages", "`messages` is empty"));
	}
	let (tools, names) = tools(b.tools, b.tool_choice)?;
	let mut msgs = Vec::with_capacity(b.messages.len());
	for m in b.messages {
		if !matches!(m.role.as_str(), "system" | "developer" | "user" | "assistant" | "tool") {
			return Err(invalid("messages", format!("unsupported role `{}`", m.role)));
		}
		if m.role == "tool" && m.tool_call_id.as_deref().is_none_or(str::is_empty) {
			return Err(invalid(
				"messages",
				"a `tool` message needs the `tool_call_id` it answers",
			));
		}
		if m.tool_calls.is_some() && m.role != "assistant" {
			return Err(invalid("messages", "only assistant messages carry `tool_calls`"));
		}
		let text = match m.content {
			None => String::new(),
			Some(Content::Text(t)) => t,
			Some(Content::Parts(parts)) => {
				let mut t = String::new();
				for p in parts {
					match (p.kind.as_str(), p.text) {
						("text", Some(x)) => t += &x,
						(kind, _) => {
							return Err(invalid(
								"messages",
								format!(
									"content parts of type `{kind}` are not supported (text only)"
								),
							))
						}
					}
				}
				t
			}
		};
		let role = if m.role == "developer" { "system".to_string() } else { m.role };
		msgs.push(Message {
			role,
			content: text,
			tool_calls: m.tool_calls,
			tool_call_id: m.tool_call_id,
			name: m.name,
		});
	}
	let mut parsed = common(b.common, Prompt::Chat { messages: msgs, tools }, limits)?;
	parsed.tools = names;
	Ok(parsed)
}

/// `tools` and `tool_choice`: the schemas to render (none with `tool_choice: "none"`) and the
/// names the model may call. A call cannot be forced (`required`, or a named function): refused.
fn tools(
	given: Option<Vec<Value>>,
	choice: Option<Value>,
) -> Result<(Option<Vec<Value>>, Vec<String>), Invalid> {
	let Some(given) = given.filter(|t| !t.is_empty()) else { return Ok((None, vec![])) };
	if given.len() > MAX_TOOLS {
		return Err(invalid("tools", format!("at most {MAX_TOOLS} tools per request")));
	}
	let mut names = Vec::with_capacity(given.len());
	for t in &given {
		let name = (t.get("type").and_then(Value::as_str) == Some("function"))
			.then(|| t.get("function")?.get("name")?.as_str())
			.flatten()
			.filter(|n| !n.is_empty() && n.len() <= 64);
		let Some(name) = name else {
			return Err(invalid(
				"tools",
				"each tool is {\"type\": \"function\", \"function\": {\"name\": ..}} with a name of 1 to 64 characters",
			));
		};
		if names.iter().any(|n| n == name) {
			return Err(invalid("tools", format!("the tool `{name}` is given twice")));
		}
		names.push(name.to_string());
	}
	match choice.as_ref().map(|c| (c, c.as_str())) {
		None | Some((_, Some("auto"))) => Ok((Some(given), names)),
		Some((_, Some("none"))) => Ok((None, vec![])),
		Some(_) => Err(invalid(
			"tool_choice",
			"only `auto` and `none` are supported: this server cannot force a tool call",
		)),
	}
}

/// Checks a `/v1/completions` body.
pub fn completion_request(bytes: &[u8], limits: RequestLimits) -> Result<Parsed, Invalid> {
	let b: CompletionBody = body(bytes)?;
	let prompt = match b.prompt {
		PromptField::One(p) => p,
		PromptField::Many(mut v) if v.len() == 1 => v.remove(0),
		PromptField::Many(_) => {
			return Err(invalid("prompt", "one prompt per request is supported"));
		}
	};
	common(b.common, Prompt::Text(prompt), limits)
}

/// OpenAI's `tool_calls` for `calls`: each with a fresh id, its arguments as a JSON string.
pub fn tool_calls(calls: &[model_factory::tool_calls::ToolCall]) -> Value {
	Value::Array(
		calls
			.iter()
			.map(|c| {
				json!({
					"id": format!("call_{:024x}", rand::random::<u128>() >> 32),
					"type": "function",
					"function": { "name": c.name, "arguments": c.arguments.to_string() },
				})
			})
			.collect(),
	)
}

/// Which endpoint an answer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
	Chat,
	Completion,
}

/// What every answer to one request shares.
#[derive(Debug, Clone)]
pub struct Answer {
	pub kind: Kind,
	pub id: String,
	pub created: u64,
	pub model: String,
}

pub fn usage(prompt: usize, completion: usize) -> Value {
	json!({
		"prompt_tokens": prompt,
		"completion_tokens": completion,
		"total_tokens": prompt + completion,
	})
}

impl Answer {
	/// The whole answer, not streamed.
	pub fn complete(&self, text: &str, finish: Finish, prompt: usize, completion: usize) -> Value {
		let choice = match self.kind {
			Kind::Chat => json!({
				"index": 0,
				"message": { "role": "assistant", "content": text },
				"logprobs": null,
				"finish_reason": finish.as_str(),
			}),
			Kind::Completion => json!({
				"index": 0, "text": text, "logprobs": null, "finish_reason": finish.as_str(),
			}),
		};
		json!({
			"id": self.id,
			"object": self.object(false),
			"created": self.created,
			"model": self.model,
			"choices": [choice],
			"usage": usage(prompt, completion),
		})
	}

	/// One streamed chunk: the text so far's next piece (`first`: the chat role comes with it), or
	/// the end with its reason.
	pub fn chunk(&self, text: Option<&str>, first: bool, finish: Option<Finish>) -> Value {
		let choice = match self.kind {
			Kind::Chat => {
				let mut delta = json!({});
				if first {
					delta["role"] = json!("assistant");
				}
				if let Some(t) = text {
					delta["content"] = json!(t);
				}
				json!({
					"index": 0, "delta": delta, "logprobs": null,
					"finish_reason": finish.map(Finish::as_str),
				})
			}
			Kind::Completion => json!({
				"index": 0, "text": text.unwrap_or(""), "logprobs": null,
				"finish_reason": finish.map(Finish::as_str),
			}),
		};
		json!({
			"id": self.id, "object": self.object(true), "created": self.created,
			"model": self.model, "choices": [choice],
		})
	}

	/// The usage chunk streamed last when the request asked for it (no choices).
	pub fn usage_chunk(&self, prompt: usize, completion: usize) -> Value {
		json!({
			"id": self.id, "object": self.object(true), "created": self.created,
			"model": self.model, "choices": [], "usage": usage(prompt, completion),
		})
	}

	/// Makes the whole chat answer `body` one that calls tools: the message carries `calls`
	/// ([`tool_calls`]) and the text before them (`null` when none), and ends with `tool_calls`.
	pub fn call_tools(body: &mut Value, content: &str, calls: Value) {
		let content = if content.is_empty() { Value::Null } else { json!(content) };
		body["choices"][0]["message"] =
			json!({ "role": "assistant", "content": content, "tool_calls": calls });
		body["choices"][0]["finish_reason"] = json!("tool_calls");
	}

	/// The streamed chunk that carries the calls (each with its `index`) and the text before
	/// them; the last chunk then ends with `tool_calls` ([`Answer::call_tools`]'s streamed form).
	pub fn tool_calls_chunk(&self, content: &str, calls: &Value) -> Value {
		let list: Vec<Value> = calls
			.as_array()
			.map(|a| {
				a.iter()
					.enumerate()
					.map(|(i, c)| {
						let mut c = c.clone();
						c["index"] = json!(i);
						c
					})
					.collect()
			})
			.unwrap_or_default();
		let mut delta = json!({ "tool_calls": list });
		if !content.is_empty() {
			delta["content"] = json!(content);
		}
		json!({
			"id": self.id, "object": self.object(true), "created": self.created,
			"model": self.model,
			"choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": null }],
		})
	}

	fn object(&self, chunk: bool) -> &'static str {
		match (self.kind, chunk) {
			(Kind::Chat, false) => "chat.completion",
			(Kind::Chat, true) => "chat.completion.chunk",
			(Kind::Completion, _) => "text_completion",
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const LIMITS: RequestLimits = RequestLimits { default_max_tokens: 16, max_tokens: 64 };

	#[test]
	fn chat_requests_are_read_as_openai_clients_send_them() {
		let p = chat_request(
			br#"{"model":"m","messages":[{"role":"developer","content":"Be brief."},
			{"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]}],
			"max_completion_tokens":5,"temperature":0,"seed":7,"stop":"\n","stream":true,
			"stream_options":{"include_usage":true},"frequency_penalty":0}"#,
			LIMITS,
		)
		.unwrap();
		let Prompt::Chat { messages: m, .. } = &p.request.prompt else { panic!("a chat prompt") };
		assert_eq!(m[0], Message::new("system", "Be brief."));
		assert_eq!(m[1], Message::new("user", "Hi there"));
		assert_eq!((p.request.max_tokens, p.request.temperature, p.request.seed), (5, 0.0, 7));
		assert_eq!(p.request.stop, vec!["\n".to_string()]);
		assert!(p.stream && p.include_usage);
		let d =
			chat_request(br#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#, LIMITS)
				.unwrap();
		assert_eq!((d.request.max_tokens, d.request.temperature, d.stream), (16, 1.0, false));
	}

	#[test]
	fn bad_requests_name_what_is_wrong() {
		let bad = |b: &str| chat_request(b.as_bytes(), LIMITS).unwrap_err();
		let m = r#""messages":[{"role":"user","content":"x"}]"#;
		assert_eq!(
			bad(&format!(r#"{{"model":"m",{m},"max_tokens":65}}"#)).param,
			Some("max_tokens")
		);
		assert_eq!(
			bad(&format!(r#"{{"model":"m",{m},"max_tokens":0}}"#)).param,
			Some("max_tokens")
		);
		assert_eq!(bad(&format!(r#"{{"model":"m",{m},"n":2}}"#)).param, Some("n"));
		assert_eq!(
			bad(&format!(r#"{{"model":"m",{m},"temperature":3}}"#)).param,
			Some("temperature")
		);
		assert_eq!(bad(&format!(r#"{{"model":"m",{m},"top_p":0}}"#)).param, Some("top_p"));
		assert_eq!(
			bad(&format!(r#"{{"model":"m",{m},"stop":["a","b","c","d","e"]}}"#)).param,
			Some("stop")
		);
		assert_eq!(
			bad(r#"{"model":"","messages":[{"role":"user","content":"x"}]}"#).param,
			Some("model")
		);
		assert_eq!(bad(r#"{"model":"m","messages":[]}"#).param, Some("messages"));
		assert_eq!(
			bad(r#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#).param,
			Some("messages")
		);
		let img = r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}"#;
		assert!(bad(img).message.contains("image_url"));
		assert_eq!(bad("{not json").param, None);
		assert!(completion_request(br#"{"model":"m","prompt":["a","b"]}"#, LIMITS).is_err());
		assert!(completion_request(br#"{"model":"m","prompt":["a"]}"#, LIMITS).is_ok());
	}

	const TOOL: &str =
		r#"{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}"#;

	#[test]
	fn tools_and_tool_turns_reach_the_template_as_given() {
		let body = format!(
			r#"{{"model":"m","tools":[{TOOL}],"tool_choice":"auto","messages":[
			{{"role":"user","content":"Weather?"}},
			{{"role":"assistant","content":null,"tool_calls":[{{"id":"call_1","type":"function",
			  "function":{{"name":"get_weather","arguments":"{{\"city\":\"Lyon\"}}"}}}}]}},
			{{"role":"tool","tool_call_id":"call_1","name":"get_weather","content":"sunny"}}]}}"#
		);
		let p = chat_request(body.as_bytes(), LIMITS).unwrap();
		assert_eq!(p.tools, vec!["get_weather".to_string()]);
		let Prompt::Chat { messages: m, tools } = &p.request.prompt else { panic!("chat") };
		assert_eq!(tools.as_ref().unwrap()[0], serde_json::from_str::<Value>(TOOL).unwrap());
		assert_eq!(m[1].content, "");
		assert_eq!(m[1].tool_calls.as_ref().unwrap()[0]["function"]["name"], "get_weather");
		assert_eq!(
			(m[2].tool_call_id.as_deref(), m[2].name.as_deref()),
			(Some("call_1"), Some("get_weather"))
		);
		// `none`: the model answers in text and is not shown the tools.
		let none = format!(
			r#"{{"model":"m","tools":[{TOOL}],"tool_choice":"none","messages":[{{"role":"user","content":"x"}}]}}"#
		);
		let p = chat_request(none.as_bytes(), LIMITS).unwrap();
		assert!(p.tools.is_empty());
		assert!(matches!(&p.request.prompt, Prompt::Chat { tools: None, .. }));
	}

	#[test]
	fn tool_requests_that_cannot_be_honoured_are_refused() {
		let bad = |b: String| chat_request(b.as_bytes(), LIMITS).unwrap_err();
		let m = r#""messages":[{"role":"user","content":"x"}]"#;
		for choice in [r#""required""#, r#"{"type":"function","function":{"name":"get_weather"}}"#]
		{
			let e = bad(format!(r#"{{"model":"m",{m},"tools":[{TOOL}],"tool_choice":{choice}}}"#));
			assert_eq!(e.param, Some("tool_choice"), "{choice}");
		}
		for tools in [
			r#"[{"type":"function","function":{"parameters":{}}}]"#.to_string(),
			r#"[{"type":"retrieval"}]"#.to_string(),
			format!("[{TOOL},{TOOL}]"),
			format!("[{}]", vec![TOOL; 129].join(",")),
		] {
			assert_eq!(bad(format!(r#"{{"model":"m",{m},"tools":{tools}}}"#)).param, Some("tools"));
		}
		let calls_from_user =
			r#"{"model":"m","messages":[{"role":"user","content":"x","tool_calls":[]}]}"#;
		assert_eq!(bad(calls_from_user.into()).param, Some("messages"));
	}

	#[test]
	fn a_tool_call_answer_has_openais_shape() {
		let a = Answer { kind: Kind::Chat, id: "chatcmpl-1".into(), created: 0, model: "m".into() };
		let calls = tool_calls(&[model_factory::tool_calls::ToolCall {
			name: "get_weather".into(),
			arguments: serde_json::json!({"city": "Lyon"}),
		}]);
		let mut body = a.complete("<tool_call>..</tool_call>", Finish::Stop, 3, 4);
		Answer::call_tools(&mut body, "", calls.clone());
		let choice = &body["choices"][0];
		assert_eq!(choice["finish_reason"], "tool_calls");
		assert_eq!(choice["message"]["content"], Value::Null);
		let call = &choice["message"]["tool_calls"][0];
		assert!(call["id"].as_str().unwrap().starts_with("call_"));
		assert_eq!(call["type"], "function");
		assert_eq!(call["function"]["name"], "get_weather");
		// Arguments travel as a JSON string.
		assert_eq!(call["function"]["arguments"], r#"{"city":"Lyon"}"#);
		let chunk = a.tool_calls_chunk("Checking.", &calls);
		let delta = &chunk["choices"][0]["delta"];
		assert_eq!(
			(&delta["content"], &delta["tool_calls"][0]["index"]),
			(&json!("Checking."), &json!(0))
		);
	}
}
