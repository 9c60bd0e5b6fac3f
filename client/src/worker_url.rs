//! Worker HTTP endpoints as the CLI reaches them.

use anyhow::{bail, Context, Result};

/// `http://host[:port][/prefix]` as (`host:port`, `/prefix` without a trailing slash).
pub fn split_http_url(url: &str) -> Result<(String, String)> {
	if url.starts_with("https://") {
		bail!("{url}: this CLI reads worker streams over plain http only (no TLS yet)");
	}
	let rest = url.strip_prefix("http://").context("a worker URL starts with http://")?;
	let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
	if host.is_empty() {
		bail!("{url}: no host");
	}
	let host = if host.contains(':') { host.to_string() } else { format!("{host}:80") };
	let path = path.trim_end_matches('/');
	Ok((host, if path.is_empty() { String::new() } else { format!("/{path}") }))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn worker_urls_split_into_host_and_path_prefix() {
		let ok = |u: &str| split_http_url(u).unwrap();
		assert_eq!(ok("http://127.0.0.1:30480"), ("127.0.0.1:30480".into(), "".into()));
		assert_eq!(ok("http://127.0.0.1:30480/"), ("127.0.0.1:30480".into(), "".into()));
		assert_eq!(ok("http://w.example/api/"), ("w.example:80".into(), "/api".into()));
		assert_eq!(ok("http://[::1]:9/x/y"), ("[::1]:9".into(), "/x/y".into()));
		for bad in ["https://w.example", "w.example:80", "http:///jobs", "ftp://x"] {
			assert!(split_http_url(bad).is_err(), "{bad}");
		}
	}
}
