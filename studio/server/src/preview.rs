//! `GET /content/{hash}?size=N&format=F`: a contribution's bytes fetched from the data peers for
//! a curator's preview, verified against the BLAKE3 hash as they arrive (the hash and size come
//! from the chain record the page read). Only the formats datanets take are served, each with a
//! fixed, inert content type (text as `text/plain`, never HTML), under a sandboxing
//! Content-Security-Policy, so a contribution cannot run script in the Studio's origin.

use crate::{
	data_peers::{busy, DataPeers},
	upload::refuse,
};
use axum::{
	extract::{Path, State},
	http::{header, HeaderValue, StatusCode, Uri},
	response::{IntoResponse, Response},
	routing::get,
	Router,
};
use std::sync::Arc;

pub fn routes(peers: Arc<DataPeers>) -> Router {
	Router::new().route("/content/:hash", get(preview)).with_state(peers)
}

/// `size` and `format` from the query string (`?size=N&format=F`).
pub(crate) fn wanted(uri: &Uri) -> Option<(u64, String)> {
	let (mut size, mut format) = (None, None);
	for pair in uri.query()?.split('&') {
		match pair.split_once('=')? {
			("size", v) => size = v.parse().ok(),
			("format", v) if v.bytes().all(|b| b.is_ascii_alphanumeric()) => {
				format = Some(v.to_string())
			}
			_ => {}
		}
	}
	Some((size?, format?))
}

/// The content type a preview of `format` is served with; `None`: not previewed.
pub(crate) fn content_type(format: &str) -> Option<&'static str> {
	Some(match format {
		"txt" | "md" | "jsonl" | "json" | "csv" => "text/plain; charset=utf-8",
		"png" => "image/png",
		"jpeg" => "image/jpeg",
		"webp" => "image/webp",
		"gif" => "image/gif",
		"bmp" => "image/bmp",
		"wav" => "audio/wav",
		"flac" => "audio/flac",
		"mp3" => "audio/mpeg",
		"ogg" | "opus" => "audio/ogg",
		"m4a" => "audio/mp4",
		_ => return None,
	})
}

async fn preview(State(dp): State<Arc<DataPeers>>, Path(hash): Path<String>, uri: Uri) -> Response {
	let Some((size, format)) = wanted(&uri) else {
		return refuse(StatusCode::BAD_REQUEST, "give ?size=<bytes>&format=<extension>".into());
	};
	let Some(kind) = content_type(&format) else {
		return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("no preview of .{format}"));
	};
	let hex = hash.strip_prefix("0x").unwrap_or(&hash);
	let Some(hash) = hex::decode(hex).ok().and_then(|b| <[u8; 32]>::try_from(b).ok()) else {
		return refuse(StatusCode::BAD_REQUEST, "the hash is 32 bytes of hex".into());
	};
	if size == 0 || size > dp.max_bytes as u64 {
		return refuse(
			StatusCode::PAYLOAD_TOO_LARGE,
			format!("previews are at most {} bytes", dp.max_bytes),
		);
	}
	let Ok(_permit) = dp.gate.try_acquire() else { return busy() };
	let bytes = dp.fetch_bytes(hash, size).await;
	match bytes {
		Ok(bytes) => {
			let mut res = bytes.into_response();
			let h = res.headers_mut();
			h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
			h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
			h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
			h.insert(
				header::CONTENT_SECURITY_POLICY,
				HeaderValue::from_static(
					"sandbox; default-src 'none'; img-src 'self'; media-src 'self'",
				),
			);
			res
		}
		Err(e) => refuse(StatusCode::BAD_GATEWAY, format!("the bytes could not be fetched: {e}")),
	}
}
