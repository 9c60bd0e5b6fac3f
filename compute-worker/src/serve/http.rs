//! The HTTP side: OpenAI's routes over the engine.
//!
//! - `GET /v1/models`: the base and every adapter ([`super::models`]), each adapter with its
//!   `parent` (the base).
//! - `POST /v1/chat/completions`, `POST /v1/completions`: an answer as JSON, or with
//!   `"stream": true` as Server-Sent Events (`data: <chunk>` lines, then `data: [DONE]`).
//!
//! Answers of a model the chain records carry an `attribution` object (the last chunk, when
//! streamed): its dataset version, the exact spans of the answer found in that version's text,
//! and the contributions that most shaped the answer ([`super::influence`]).
//! Chat over a datanet (`datanet-<id>`) answers from retrieved passages of its latest version
//! and lists them in `citations`, each marked `cited` when the answer names its number.
//!
//! With a price (`--price`), answers of the chain's trained models are paid: each request carries
//! a `Tributary-Voucher` header ([`super::billing`]), checked before the adapter is fetched or
//! any compute is spent, and the answer carries a `billing` object (its cost, the total charged
//! on the voucher). `GET /v1/receipts/<period>` serves a settled period's receipts; `GET
//! /v1/billing` says the price, the account paid and the genesis hash vouchers are signed over,
//! and with `?payer=<ss58>&model=<id>` where that payer's tab stands for the model.
//!
//! Errors have OpenAI's shape (`{"error": {"message", "type", "param", "code"}}`): 400 for a bad
//! request, 402 for an answer that cannot be paid for, 404 for a model the server does not have
//! (never an answer from another model), 503 when the queue is full or a model's adapter cannot be
//! fetched now. Bodies are cut at 1 MiB.

use super::billing::{Billing, Hold};
use super::engine::{Adapter, Engine, Piece, Prompt};
use super::influence::{Ask, Influencer, Outcome};
use super::models::{Models, ResolveError, Resolved, Source};
use super::openai::{self, Answer, Invalid, Kind, Parsed, RequestLimits};
use super::retrieval::Hit;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use model_factory::chat::Message;
use model_factory::tool_calls::ToolFormat;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;

const MAX_BODY: usize = 1 << 20;

pub struct Server {
	pub engine: Engine,
	pub models: Models,
	/// Shortest exact span reported in an answer's attribution, in bytes.
	pub span_min_bytes: usize,
	pub limits: RequestLimits,
	/// Unix seconds the server started (the models' `created`).
	pub started: u64,
	/// Set when answers of chain models are paid for.
	pub billing: Option<Arc<Billing>>,
	/// Set when answers of chain models carry influence.
	pub influence: Option<Arc<Influencer>>,
	/// How the base's chat template has models call tools; `None`: it takes no tools.
	pub tool_format: Option<ToolFormat>,
}

pub fn router(server: Arc<Server>) -> Router {
	Router::new()
		.route("/v1/models", get(models))
		.route("/v1/chat/completions", post(chat))
		.route("/v1/completions", post(completions))
		.route("/v1/receipts/:period", get(receipts))
		.route("/v1/billing", get(billing))
		.layer(DefaultBodyLimit::max(MAX_BODY))
		.with_state(server)
}

fn error(
	status: StatusCode,
	kind: &str,
	message: &str,
	param: Option<&str>,
	code: &str,
) -> Response {
	let body =
		json!({ "error": { "message": message, "type": kind, "param": param, "code": code } });
	(status, Json(body)).into_response()
}

fn bad_request(e: Invalid) -> Response {
	error(StatusCode::BAD_REQUEST, "invalid_request_error", &e.message, e.param, "invalid_value")
}

async fn models(State(s): State<Arc<Server>>) -> Response {
	let listed = match s.models.list().await {
		Ok(l) => l,
		Err(e) => return unavailable(&e.to_string()),
	};
	let root = &s.models.base_id;
	let data: Vec<_> = listed
		.iter()
		.map(|m| {
			json!({
				"id": m.id, "object": "model", "created": s.started, "owned_by": "tributary",
				"parent": m.parent, "root": root,
			})
		})
		.collect();
	Json(json!({ "object": "list", "data": data })).into_response()
}

fn unavailable(message: &str) -> Response {
	error(StatusCode::SERVICE_UNAVAILABLE, "server_error", message, None, "unavailable")
}

async fn chat(State(s): State<Arc<Server>>, headers: HeaderMap, body: Bytes) -> Response {
	match openai::chat_request(&body, s.limits) {
		Ok(p) => answer(&s, p, Kind::Chat, &headers).await,
		Err(e) => bad_request(e),
	}
}

async fn completions(State(s): State<Arc<Server>>, headers: HeaderMap, body: Bytes) -> Response {
	match openai::completion_request(&body, s.limits) {
		Ok(p) => answer(&s, p, Kind::Completion, &headers).await,
		Err(e) => bad_request(e),
	}
}

/// What answers cost here, for a client to open a tab and sign vouchers before it asks: the
/// price per 1,000 tokens (plancks, "0": free) and the account paid, with the chain's genesis
/// hash that vouchers are signed over.
async fn billing(State(s): State<Arc<Server>>, RawQuery(query): RawQuery) -> Response {
	// `name=value` pairs; SS58 addresses and ids need no decoding.
	let q: std::collections::HashMap<&str, &str> =
		query.as_deref().unwrap_or("").split('&').filter_map(|p| p.split_once('=')).collect();
	let Some(b) = &s.billing else {
		return Json(json!({ "price_per_1k_tokens": "0" })).into_response();
	};
	let mut terms = json!({
		"price_per_1k_tokens": b.price.to_string(),
		"payee": b.payee(),
		"genesis": format!("0x{}", hex::encode(b.genesis())),
		"header": "Tributary-Voucher",
		"paid_models": "model-<id>",
	});
	// `?payer=<ss58>&model=<id or model-id>`: that payer's line, to sign the next voucher above.
	if let Some(payer) = q.get("payer").copied() {
		let bad = |m: String| {
			error(StatusCode::BAD_REQUEST, "invalid_request_error", &m, None, "invalid_value")
		};
		let Ok(payer) = payer.parse::<tributary_client::payout::AccountId32>() else {
			return bad(format!("`{payer}` is not an SS58 address"));
		};
		let model = q.get("model").map(|m| m.trim_start_matches("model-").parse::<u64>());
		let Some(Ok(model)) = model else {
			return bad("name the model: `model=<id>` (model-<id> in the API)".into());
		};
		if !b.line_reads.allow() {
			let mut r = error(
				StatusCode::TOO_MANY_REQUESTS,
				"rate_limit_error",
				"too many line lookups this second: ask again in a second",
				None,
				"rate_limited",
			);
			r.headers_mut().insert(axum::http::header::RETRY_AFTER, 1.into());
			return r;
		}
		match b.line(&payer, model).await {
			Ok(line) => terms["line"] = json!(line),
			Err(e) => return unavailable(&e),
		}
	}
	Json(terms).into_response()
}

async fn receipts(State(s): State<Arc<Server>>, Path(period): Path<u32>) -> Response {
	let file = match &s.billing {
		Some(b) => b.receipts_file(period).await,
		None => None,
	};
	match file {
		Some(file) => ([("content-type", "application/x-ndjson")], file).into_response(),
		None => error(
			StatusCode::NOT_FOUND,
			"invalid_request_error",
			&format!("no receipts of period {period} here"),
			None,
			"not_found",
		),
	}
}

/// The most tokens a request may use: its answer's limit, and at most a token per byte of its
/// prompt plus the chat template's own tokens (byte-level tokenizers never need more). Tool
/// schemas and calls count four times their compact JSON: templates may indent them.
fn most_tokens(p: &Parsed) -> usize {
	let json = |v: &serde_json::Value| 4 * v.to_string().len() + 64;
	let prompt = match &p.request.prompt {
		Prompt::Chat { messages, tools } => {
			let turns: usize = messages
				.iter()
				.map(|m| {
					let calls: usize = m.tool_calls.iter().flatten().map(json).sum();
					let id = m.tool_call_id.as_ref().map_or(0, |i| i.len() + 16);
					let name = m.name.as_ref().map_or(0, |n| n.len() + 16);
					m.content.len() + 16 + calls + id + name
				})
				.sum();
			turns + tools.iter().flatten().map(json).sum::<usize>()
		}
		Prompt::Text(t) => t.len(),
	};
	prompt + 256 + p.request.max_tokens
}

fn resolve_error(e: ResolveError) -> Response {
	match e {
		ResolveError::NotFound(e) => error(
			StatusCode::NOT_FOUND,
			"invalid_request_error",
			&e,
			Some("model"),
			"model_not_found",
		),
		ResolveError::Unavailable(e) => unavailable(&e),
	}
}

/// What the request's model needs to answer. On a paying server an answer of a chain model is
/// paid for first: between finding the model on chain (a model that is not there is a 404
/// whether or not the caller can pay) and fetching its adapter, the voucher is checked and the
/// request's most possible cost reserved.
async fn resolve_paid(
	s: &Server,
	p: &Parsed,
	headers: &HeaderMap,
) -> Result<(Option<Hold>, Resolved), Response> {
	let model = &p.request.model;
	let Some((billing, id)) = s.billing.as_ref().zip(super::models::chain_model_id(model)) else {
		return s.models.resolve(model).await.map(|r| (None, r)).map_err(resolve_error);
	};
	let found = s.models.chain_model(model).await.map_err(resolve_error)?;
	let header = headers.get(super::billing::HEADER).and_then(|v| v.to_str().ok());
	let hold = billing.authorize(header, id, most_tokens(p)).await.map_err(|e| {
		error(StatusCode::PAYMENT_REQUIRED, "invalid_request_error", &e.0, None, "payment_required")
	})?;
	let resolved = s.models.fetch_chain_model(found).await.map_err(resolve_error)?;
	Ok((Some(hold), resolved))
}

fn now() -> u64 {
	std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map(|d| d.as_secs())
		.unwrap_or(0)
}

async fn answer(s: &Server, mut p: Parsed, kind: Kind, headers: &HeaderMap) -> Response {
	// Tools a template never reads would be silently ignored: refused before anything is spent.
	let tools = match (p.tools.is_empty(), s.tool_format) {
		(true, _) => None,
		(false, Some(f)) => Some((f, std::mem::take(&mut p.tools))),
		(false, None) => {
			return bad_request(Invalid {
				message: format!(
					"{}'s chat template takes no tools: send the request without `tools`",
					s.models.base_id
				),
				param: Some("tools"),
			})
		}
	};
	let (hold, resolved) = match resolve_paid(s, &p, headers).await {
		Ok(r) => r,
		Err(refused) => return refused,
	};
	p.request.adapter = resolved.adapter;
	let (source, grounded) = (resolved.source, resolved.grounded);
	let mut citations = None;
	if grounded {
		let Prompt::Chat { messages: msgs, .. } = &mut p.request.prompt else {
			return bad_request(Invalid {
				message: "chat over a datanet takes chat requests (/v1/chat/completions)".into(),
				param: Some("model"),
			});
		};
		let Some(Source { datanet, version, text: Ok(text), .. }) = &source else {
			return unavailable("the datanet's passages are not available");
		};
		let question = msgs.iter().rev().find(|m| m.role == "user").map(|m| m.content.clone());
		let hits = text.passages.search(&question.unwrap_or_default(), PASSAGES);
		ground(msgs, &hits, *datanet, *version);
		citations = Some(hits);
	}
	let influence = match (&s.influence, &p.request.adapter, &source) {
		(Some(i), Some(adapter), Some(Source { split: Some(_), .. })) => {
			Some((i.clone(), adapter.clone(), p.request.prompt.clone()))
		}
		_ => None,
	};
	let provenance = Provenance { source, citations, min: s.span_min_bytes, influence };
	let prefix = if kind == Kind::Chat { "chatcmpl" } else { "cmpl" };
	let a = Answer {
		kind,
		id: format!("{prefix}-{:032x}", rand::random::<u128>()),
		created: now(),
		model: p.request.model.clone(),
	};
	let mut rx = match s.engine.submit(p.request) {
		Ok(rx) => rx,
		Err(e) => {
			return error(
				StatusCode::SERVICE_UNAVAILABLE,
				"server_error",
				&e.to_string(),
				None,
				"busy",
			)
		}
	};
	// The first piece says whether the request runs at all.
	let prompt_tokens = match rx.recv().await {
		Some(Piece::Started { prompt_tokens }) => prompt_tokens,
		Some(Piece::Failed(e)) => {
			return bad_request(Invalid { message: e, param: None });
		}
		_ => {
			return error(
				StatusCode::INTERNAL_SERVER_ERROR,
				"server_error",
				"the engine ended the request without an answer",
				None,
				"engine",
			)
		}
	};
	if !p.stream {
		let mut text = String::new();
		loop {
			match rx.recv().await {
				Some(Piece::Text(t)) => text += &t,
				Some(Piece::Done { finish, completion_tokens }) => {
					let mut body = a.complete(&text, finish, prompt_tokens, completion_tokens);
					if let Some(c) =
						tools.as_ref().and_then(|(f, names)| calls_in(*f, names, &text))
					{
						Answer::call_tools(&mut body, &c.content, openai::tool_calls(&c.calls));
					}
					provenance.annotate(&mut body, text).await;
					if let Some(h) = hold {
						h.charge_into(&mut body, prompt_tokens, completion_tokens);
					}
					return Json(body).into_response();
				}
				other => {
					let why = match other {
						Some(Piece::Failed(e)) => e,
						_ => "the engine stopped mid-answer".into(),
					};
					return error(
						StatusCode::INTERNAL_SERVER_ERROR,
						"server_error",
						&why,
						None,
						"engine",
					);
				}
			}
		}
	}
	let end = End { prompt_tokens, include_usage: p.include_usage, provenance, hold, tools };
	Sse::new(events(a, rx, end)).into_response()
}

/// Passages given to the model in chat over a datanet.
const PASSAGES: usize = 3;
/// Characters of one passage put in the prompt at most.
const PASSAGE_CHARS: usize = 1500;

/// Puts the retrieved passages, numbered, in front of the conversation as a system message (joined
/// to the conversation's own system message, if any: some templates take only one).
fn ground(msgs: &mut Vec<Message>, hits: &[Hit], datanet: u32, version: u32) {
	let mut text = if hits.is_empty() {
		format!(
			"No passage of datanet {datanet} (version {version}) matches the question: say that \
			 the datanet does not cover it."
		)
	} else {
		format!(
			"Answer from these passages of datanet {datanet} (version {version}). Cite the \
			 passages you use by their number in brackets, like [1]."
		)
	};
	for (i, h) in hits.iter().enumerate() {
		let passage: String = h.text.chars().take(PASSAGE_CHARS).collect();
		text += &format!("\n\n[{}] {passage}", i + 1);
	}
	match msgs.first_mut() {
		Some(m) if m.role == "system" => m.content = format!("{text}\n\n{}", m.content),
		_ => msgs.insert(0, Message::new("system", &text)),
	}
}

/// Where an answer came from, added to it once its text is complete.
struct Provenance {
	source: Option<Source>,
	citations: Option<Vec<Hit>>,
	min: usize,
	/// A trained model's answer: who scores it, the model's adapter and the prompt.
	influence: Option<(Arc<Influencer>, Adapter, Prompt)>,
}

impl Provenance {
	/// Adds `attribution` (the dataset version, the answer's exact spans in its text and, for a
	/// trained model, the contributions that most shaped the answer) and, for
	/// chat over a datanet, `citations` (the passages given, each `cited` when the answer names
	/// its number) to `body` (docs/serving.md).
	async fn annotate(self, body: &mut serde_json::Value, text: String) {
		if let Some(hits) = self.citations {
			let cited: Vec<_> = hits
				.into_iter()
				.enumerate()
				.map(|(i, h)| {
					let n = i + 1;
					json!({
						"n": n, "contribution": h.contribution, "score": h.score,
						"text": h.text, "cited": text.contains(&format!("[{n}]")),
					})
				})
				.collect();
			body["citations"] = json!(cited);
		}
		let Some(src) = self.source else { return };
		let dataset = json!({ "datanet": src.datanet, "version": src.version });
		body["attribution"] = match src.text {
			Ok(index) => {
				let min = self.min;
				let (idx, answer) = (index.clone(), text.clone());
				let spans = tokio::task::spawn_blocking(move || idx.spans.spans(&answer, min))
					.await
					.unwrap_or_default();
				let mut att = json!({ "dataset": dataset, "spans": spans });
				if let (Some((who, adapter, prompt)), Some(split)) = (self.influence, src.split) {
					let ask =
						Ask { adapter, text: index.training.clone(), split, prompt, answer: text };
					att["influence"] = influence_json(who.influence(ask).await);
				}
				att
			}
			Err(e) => json!({ "dataset": dataset, "error": e }),
		};
	}
}

/// An answer's `influence`: `ready` with the contributions that most shaped it (highest score
/// first), `indexing` while the model's index is built, or `unavailable` with why.
fn influence_json(o: Outcome) -> serde_json::Value {
	match o {
		Outcome::Scores(s) => {
			let list: Vec<_> = s
				.iter()
				.map(|i| json!({ "contribution": i.contribution, "score": i.score }))
				.collect();
			json!({ "status": "ready", "contributions": list })
		}
		Outcome::Indexing => json!({ "status": "indexing" }),
		Outcome::Failed(e) => json!({ "status": "unavailable", "error": e }),
	}
}

/// What a stream sends after the text.
struct End {
	prompt_tokens: usize,
	include_usage: bool,
	provenance: Provenance,
	/// The answer's reservation: charged at its end, released if the caller leaves first.
	hold: Option<Hold>,
	/// The tools the model may call: the text is then held and sent at the end, as text or as
	/// the calls it makes.
	tools: Option<(ToolFormat, Vec<String>)>,
}

/// The calls `text` makes to the tools named `names`, if it makes any.
fn calls_in(
	format: ToolFormat,
	names: &[String],
	text: &str,
) -> Option<model_factory::tool_calls::Calls> {
	let names: Vec<&str> = names.iter().map(String::as_str).collect();
	format.parse(text, &names)
}

/// The Server-Sent Events of a streamed answer: the chat role first (as OpenAI's stream has it),
/// a chunk per piece of text, the end with its reason, the usage if asked, then `[DONE]`. A task
/// turns the engine's pieces into events; when the client leaves, the stream is dropped, the task's
/// next send fails and it drops the engine's channel, which stops generation.
fn events(
	a: Answer,
	mut pieces: tokio::sync::mpsc::UnboundedReceiver<Piece>,
	end: End,
) -> impl futures::Stream<Item = Result<Event, Infallible>> {
	let (tx, rx) = tokio::sync::mpsc::channel::<Event>(64);
	tokio::spawn(async move {
		let data = |v: serde_json::Value| Event::default().data(v.to_string());
		if a.kind == Kind::Chat && tx.send(data(a.chunk(Some(""), true, None))).await.is_err() {
			return;
		}
		let mut first = a.kind == Kind::Completion;
		let mut text = String::new();
		let End { prompt_tokens, include_usage, provenance, mut hold, tools } = end;
		let mut provenance = Some(provenance);
		// Pieces sent so far: each is at least one generated token. A caller who leaves
		// mid-answer pays for the prompt and those (the engine stops when it is gone).
		let mut sent = 0usize;
		let leave = |hold: Option<Hold>, sent: usize| {
			if let Some(h) = hold {
				h.charge(&a.id, prompt_tokens, sent, None);
			}
		};
		while let Some(piece) = pieces.recv().await {
			let event = match piece {
				Piece::Text(t) => {
					text += &t;
					sent += 1;
					if tools.is_some() {
						// Held until the end; a caller who left stops the generation.
						if tx.is_closed() {
							leave(hold.take(), sent);
							return;
						}
						continue;
					}
					data(a.chunk(Some(&t), std::mem::take(&mut first), None))
				}
				Piece::Done { finish, completion_tokens } => {
					let calls = tools.as_ref().and_then(|(f, names)| calls_in(*f, names, &text));
					let held = match (&tools, &calls) {
						(None, _) => None,
						(Some(_), Some(c)) => {
							Some(a.tool_calls_chunk(&c.content, &openai::tool_calls(&c.calls)))
						}
						(Some(_), None) => Some(a.chunk(Some(&text), false, None)),
					};
					if let Some(chunk) = held {
						if tx.send(data(chunk)).await.is_err() {
							leave(hold.take(), sent);
							return;
						}
					}
					// Attribution and citations ride on the last chunk, once the whole text is
					// known.
					let mut last = a.chunk(None, false, Some(finish));
					if calls.is_some() {
						last["choices"][0]["finish_reason"] = json!("tool_calls");
					}
					if let Some(p) = provenance.take() {
						p.annotate(&mut last, std::mem::take(&mut text)).await;
					}
					if let Some(h) = hold.take() {
						h.charge_into(&mut last, prompt_tokens, completion_tokens);
					}
					if tx.send(data(last)).await.is_err() {
						return;
					}
					if include_usage
						&& tx
							.send(data(a.usage_chunk(prompt_tokens, completion_tokens)))
							.await
							.is_err()
					{
						return;
					}
					break;
				}
				Piece::Failed(e) => {
					let err = json!({ "error": {
						"message": e, "type": "server_error", "param": null, "code": "engine",
					}});
					let _ = tx.send(data(err)).await;
					break;
				}
				Piece::Started { .. } => continue,
			};
			if tx.send(event).await.is_err() {
				leave(hold.take(), sent);
				return;
			}
		}
		let _ = tx.send(Event::default().data("[DONE]")).await;
	});
	futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) })
}
