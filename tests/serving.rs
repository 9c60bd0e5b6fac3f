//! `tributary-worker api` on real weights (SmolLM2-135M) with an adapter trained here, driven by
//! the official OpenAI Python client (PyPI `openai`, installed by scripts/fetch-openai-client.sh;
//! `TRIBUTARY_OPENAI_PYTHON` points at its python): models listed with their parent, chat and
//! completions answered as the CLI's own chat answers, streamed and not, usage counted, stop
//! strings honoured, and an unknown model refused, never answered by another.

use std::time::Duration;
use tributary_e2e::{worker_cli, worker_spawn};

/// Starts `tributary-worker` with `args` (ending in an `api` command binding port 0) and waits
/// for it to serve; returns it and its API's base URL.
pub(crate) fn start_api(args: &[&str]) -> (tributary_e2e::Proc, String) {
	let mut api = worker_spawn("api", args).unwrap();
	let line = api.wait_log("listening on http://", Duration::from_secs(120)).unwrap();
	let url = line.split("listening on ").nth(1).unwrap().trim().to_string();
	(api, url)
}

/// Serves the chain's base 0 and every model trained on it (fetched through the data peer
/// `peer`), charging 0.1 TRIB per 1,000 tokens for trained models' answers to Dave's account and
/// looking for a fee period to settle every second; its data in `dir`; `extra` after the rest.
pub(crate) fn start_paid_api(
	dir: &std::path::Path,
	peer: &str,
	node: &str,
	extra: &[&str],
) -> (tributary_e2e::Proc, String) {
	let args = [
		"--data-dir",
		dir.to_str().unwrap(),
		"--bootstrap",
		peer,
		"api",
		"--url",
		node,
		"--base",
		"0",
		"--bind",
		"127.0.0.1:0",
		"--price",
		"0.1",
		"--key",
		"//Dave",
		"--settle-check",
		"1",
	];
	start_api(&[&args[..], extra].concat())
}

/// Runs `script` with the official `openai` package (`args` after it) and parses the one JSON
/// object it prints; on failure, shows the server's log.
pub(crate) fn ask_openai(
	api: &tributary_e2e::Proc,
	script: &str,
	args: &[&str],
) -> serde_json::Value {
	let python = tributary_e2e::cached(
		"TRIBUTARY_OPENAI_PYTHON",
		"openai-venv/bin/python",
		"fetch-openai-client.sh",
	);
	let out = std::process::Command::new(python).arg("-c").arg(script).args(args).output().unwrap();
	let stdout = String::from_utf8_lossy(&out.stdout);
	assert!(
		out.status.success(),
		"{stdout}\n{}\nserver:\n{}",
		String::from_utf8_lossy(&out.stderr),
		api.tail(20)
	);
	serde_json::from_str(stdout.trim()).unwrap()
}

/// Asks the server at `base` through the `openai` package; prints one JSON object.
const CLIENT: &str = r#"
import json, sys, openai
base, prompt = sys.argv[1], sys.argv[2]
c = openai.OpenAI(base_url=base, api_key="unused")
out = {"models": [[m.id, getattr(m, "parent", None)] for m in c.models.list().data]}
msgs = [{"role": "user", "content": prompt}]
r = c.chat.completions.create(model="tuned", messages=msgs, temperature=0, max_tokens=12, seed=1)
out["chat"] = r.choices[0].message.content
out["finish"] = r.choices[0].finish_reason
out["usage"] = [r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens]
out["object"] = r.object
s = c.chat.completions.create(model="tuned", messages=msgs, temperature=0, max_tokens=12,
                              stream=True, stream_options={"include_usage": True})
pieces, usage, finish = [], None, None
for chunk in s:
    if chunk.usage:
        usage = [chunk.usage.prompt_tokens, chunk.usage.completion_tokens]
    for ch in chunk.choices:
        if ch.delta.content:
            pieces.append(ch.delta.content)
        finish = ch.finish_reason or finish
out["stream"] = pieces
out["stream_usage"] = usage
out["stream_finish"] = finish
stop = out["chat"].split()[1] if len(out["chat"].split()) > 1 else None
if stop:
    r = c.chat.completions.create(model="tuned", messages=msgs, temperature=0, max_tokens=12, stop=[stop])
    out["stopped"] = [stop, r.choices[0].message.content, r.choices[0].finish_reason]
r = c.completions.create(model="smollm2", prompt="The capital of France is", temperature=0, max_tokens=5)
out["completion"] = [r.choices[0].text, r.usage.completion_tokens, r.choices[0].finish_reason]
try:
    c.chat.completions.create(model="no-such-model", messages=msgs, max_tokens=4)
    out["unknown"] = "answered"
except openai.NotFoundError as e:
    out["unknown"] = [e.status_code, e.body.get("code") if isinstance(e.body, dict) else str(e.body)]
try:
    c.chat.completions.create(model="tuned", messages=msgs, max_tokens=100000)
    out["too_long"] = "answered"
except openai.BadRequestError as e:
    out["too_long"] = [e.status_code, e.body.get("param") if isinstance(e.body, dict) else str(e.body)]
try:
    c.chat.completions.create(model="tuned", messages=msgs, max_tokens=4, tools=[
        {"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}])
    out["tools"] = "answered"
except openai.BadRequestError as e:
    out["tools"] = [e.status_code, e.body.get("param"), e.body.get("message")]
print(json.dumps(out))
"#;

#[test]
fn an_openai_client_chats_with_a_trained_adapter_streamed_and_not() {
	let model = super::model_factory_cli::smollm2();
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().join("pairs.jsonl");
	std::fs::write(
		&data,
		[
			r#"{"prompt": "What is a datanet?", "response": "A curated collection of contributions."}"#,
			r#"{"prompt": "Who earns rewards?", "response": "Contributors whose data shaped the model."}"#,
		]
		.join("\n"),
	)
	.unwrap();
	let adapter = dir.path().join("adapter");
	let a = adapter.to_str().unwrap();
	let r = worker_cli(&[
		"train",
		"--model",
		&model,
		"--data",
		data.to_str().unwrap(),
		"--out",
		a,
		"--steps",
		"2",
		"--seq-len",
		"64",
		"--batch-size",
		"2",
		"--lr",
		"1e-3",
		"--warmup",
		"1",
		"--eval-fraction",
		"0",
		"--targets",
		"q_proj,v_proj",
		"--r",
		"4",
	])
	.unwrap();
	assert!(r.ok, "{}", r.stderr);

	let (server, base) = start_api(&[
		"api",
		"--model",
		&model,
		"--name",
		"smollm2",
		"--adapter",
		&format!("tuned={a}"),
		"--bind",
		"127.0.0.1:0",
	]);
	let prompt = "What is a datanet?";
	let v = ask_openai(&server, CLIENT, &[&base, prompt]);

	assert_eq!(v["models"], serde_json::json!([["smollm2", null], ["tuned", "smollm2"]]));
	// The API's greedy answer is the CLI's own chat answer with the same adapter.
	let cli = worker_cli(&[
		"chat",
		"--model",
		&model,
		"--adapter",
		a,
		"--prompt",
		prompt,
		"--temperature",
		"0",
		"--max-tokens",
		"12",
	])
	.unwrap();
	assert!(cli.ok, "{}", cli.stderr);
	let chat = v["chat"].as_str().unwrap();
	assert!(!chat.trim().is_empty(), "{v}");
	assert_eq!(chat.trim(), cli.stdout.trim(), "{v}");
	assert_eq!(v["object"], "chat.completion");
	let usage: Vec<u64> = serde_json::from_value(v["usage"].clone()).unwrap();
	assert!(usage[0] > 5 && usage[1] >= 1 && usage[1] <= 12 && usage[2] == usage[0] + usage[1]);
	assert_eq!(v["finish"], if usage[1] == 12 { "length" } else { "stop" });
	// Streamed: the same text, in more than one piece, with the same usage.
	let pieces: Vec<String> = serde_json::from_value(v["stream"].clone()).unwrap();
	assert!(pieces.len() > 1, "{v}");
	assert_eq!(pieces.concat(), chat);
	assert_eq!(v["stream_usage"], serde_json::json!([usage[0], usage[1]]));
	assert_eq!(v["stream_finish"], v["finish"]);
	// A stop string: the answer ends before its first occurrence.
	if let Some(s) = v["stopped"].as_array() {
		let (stop, text) = (s[0].as_str().unwrap(), s[1].as_str().unwrap());
		assert_eq!(text, &chat[..chat.find(stop).unwrap()], "{v}");
		assert_eq!(s[2], "stop");
	}
	// Plain completion on the base.
	let c = v["completion"].as_array().unwrap();
	assert!(!c[0].as_str().unwrap().is_empty() && c[1].as_u64().unwrap() >= 1, "{v}");
	assert_eq!(v["unknown"], serde_json::json!([404, "model_not_found"]));
	assert_eq!(v["too_long"], serde_json::json!([400, "max_tokens"]));
	// SmolLM2's template never reads `tools`: a request with tools is refused, not answered as if
	// the model had seen them.
	assert_eq!((&v["tools"][0], &v["tools"][1]), (&400.into(), &"tools".into()), "{v}");
	assert!(v["tools"][2].as_str().unwrap().contains("takes no tools"), "{v}");
}

/// The tool call a tiny model makes when `logit_bias` forces its one-token call: the whole call is
/// a single word of its vocabulary.
const CALL: &str =
	r#"<tool_call>{"name": "get_weather", "arguments": {"city": "lyon"}}</tool_call>"#;
/// The call's token id.
const CALL_ID: usize = 40;

/// A tiny llama folder (the committed reference fixture, vocab 64) with a word-level tokenizer
/// whose word `CALL_ID` is a whole tool call, and a Hermes-style template that lists the tools.
fn tool_calling_tiny(dir: &std::path::Path) {
	let mut words: Vec<String> =
		["[UNK]", "<s>", "</s>", "what", "is", "the", "weather", "?", "sunny"]
			.map(String::from)
			.to_vec();
	while words.len() < 64 {
		let w = if words.len() == CALL_ID { CALL.to_string() } else { format!("w{}", words.len()) };
		words.push(w);
	}
	super::jobs::tiny_folder(dir, &words);
	let template = "{%- if tools %}tools: {% for t in tools %}{{ t | tojson }} {% endfor %}\
		call them as <tool_call>{...}</tool_call>\n{%- endif %}\
		{%- for m in messages %}{{ m.role }}: {{ m.content }}\
		{%- if m.tool_calls is defined %}{% for c in m.tool_calls %} called {{ c.function.name }}{% endfor %}{% endif %}\
		{%- if m.tool_call_id is defined %} for {{ m.tool_call_id }}{% endif %}\n{%- endfor %}\
		{%- if add_generation_prompt %}assistant: {% endif %}";
	let config =
		serde_json::json!({ "chat_template": template, "bos_token": "<s>", "eos_token": "</s>" });
	std::fs::write(dir.join("tokenizer_config.json"), config.to_string()).unwrap();
}

const TOOLS_CLIENT: &str = r#"
import json, sys, openai
c = openai.OpenAI(base_url=sys.argv[1], api_key="unused")
bias = {sys.argv[2]: 100}
tools = [{"type": "function", "function": {"name": "get_weather", "description": "the weather",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
msgs = [{"role": "user", "content": "what is the weather ?"}]
r = c.chat.completions.create(model="tiny", messages=msgs, tools=tools, max_tokens=1,
                              temperature=0, logit_bias=bias)
m = r.choices[0].message
out = {"finish": r.choices[0].finish_reason, "content": m.content,
       "calls": [[t.id, t.type, t.function.name, json.loads(t.function.arguments)]
                 for t in (m.tool_calls or [])]}
# The conversation goes on with the tool's answer, as an agent sends it.
more = msgs + [m.model_dump(exclude_none=True),
               {"role": "tool", "tool_call_id": m.tool_calls[0].id, "content": "sunny"}]
r2 = c.chat.completions.create(model="tiny", messages=more, tools=tools, max_tokens=2, temperature=0)
out["prompt_tokens"] = [r.usage.prompt_tokens, r2.usage.prompt_tokens]
s = c.chat.completions.create(model="tiny", messages=msgs, tools=tools, max_tokens=1,
                              temperature=0, logit_bias=bias, stream=True)
deltas, finish = [], None
for ch in s:
    for choice in ch.choices:
        for t in choice.delta.tool_calls or []:
            deltas.append([t.index, t.function.name, json.loads(t.function.arguments)])
        finish = choice.finish_reason or finish
out["stream"] = [deltas, finish]
# Without tools the same word is text.
r = c.chat.completions.create(model="tiny", messages=msgs, max_tokens=1, temperature=0, logit_bias=bias)
out["no_tools"] = [r.choices[0].message.content, r.choices[0].finish_reason, r.choices[0].message.tool_calls]
r = c.chat.completions.create(model="tiny", messages=msgs, tools=tools, tool_choice="none",
                              max_tokens=1, temperature=0, logit_bias=bias)
out["choice_none"] = [r.choices[0].message.content, r.choices[0].finish_reason]
try:
    c.chat.completions.create(model="tiny", messages=msgs, max_tokens=1, logit_bias={"64": 5})
    out["bad_bias"] = "answered"
except openai.BadRequestError as e:
    out["bad_bias"] = [e.status_code, e.body.get("message")]
print(json.dumps(out))
"#;

#[test]
fn an_openai_client_gets_tool_calls_it_can_answer() {
	let dir = tempfile::tempdir().unwrap();
	let tiny = dir.path().join("tiny");
	tool_calling_tiny(&tiny);
	let (server, base) = start_api(&[
		"api",
		"--model",
		tiny.to_str().unwrap(),
		"--name",
		"tiny",
		"--bind",
		"127.0.0.1:0",
	]);
	let v = ask_openai(&server, TOOLS_CLIENT, &[&base, &CALL_ID.to_string()]);
	// The one-token answer is a call, read by the openai package as one: an id, the function's
	// name and its arguments as JSON; no text.
	assert_eq!(v["finish"], "tool_calls", "{v}");
	assert_eq!(v["content"], serde_json::Value::Null, "{v}");
	let call = &v["calls"][0];
	assert!(call[0].as_str().unwrap().starts_with("call_"), "{v}");
	assert_eq!((&call[1], &call[2]), (&"function".into(), &"get_weather".into()), "{v}");
	assert_eq!(call[3], serde_json::json!({"city": "lyon"}), "{v}");
	assert_eq!(v["calls"].as_array().unwrap().len(), 1);
	// The assistant's call and the tool's answer went back into the prompt.
	let tokens: Vec<u64> = serde_json::from_value(v["prompt_tokens"].clone()).unwrap();
	assert!(tokens[1] > tokens[0], "{v}");
	// Streamed: the call arrives as a delta with its index, and the answer ends with it.
	assert_eq!(
		v["stream"],
		serde_json::json!([[[0, "get_weather", {"city": "lyon"}]], "tool_calls"]),
		"{v}"
	);
	// Without tools (or with `tool_choice: none`) the same word is only text.
	assert_eq!(v["no_tools"], serde_json::json!([CALL, "length", null]), "{v}");
	assert_eq!(v["choice_none"], serde_json::json!([CALL, "length"]), "{v}");
	assert_eq!(v["bad_bias"][0], 400, "{v}");
	assert!(v["bad_bias"][1].as_str().unwrap().contains("vocabulary has 64"), "{v}");
}
