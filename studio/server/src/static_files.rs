//! The built app's files. Only plain files under the web folder are served: a path with `..`, a
//! backslash, a NUL or a hidden component is refused, and symbolic links are not followed out of
//! the folder. Any other path without an extension gets `index.html` (the app routes in the browser).

use axum::{
	http::{header, StatusCode},
	response::{IntoResponse, Response},
};
use std::path::{Path, PathBuf};

/// Answers a GET for `path` from the web folder `root`.
pub async fn serve(root: &Path, path: &str) -> Response {
	let Some(rel) = safe_relative(path) else {
		return (StatusCode::BAD_REQUEST, "bad path\n").into_response();
	};
	let wanted = if rel.as_os_str().is_empty() { PathBuf::from("index.html") } else { rel };
	let file = match resolve(root, &wanted) {
		Some(f) => f,
		// An app route (`/datanets/3`): the app's page. A missing asset: 404.
		None if wanted.extension().is_none() || wanted == Path::new("index.html") => {
			match resolve(root, Path::new("index.html")) {
				Some(f) => f,
				None => return not_built(root),
			}
		}
		None => return (StatusCode::NOT_FOUND, "not found\n").into_response(),
	};
	match tokio::fs::read(&file).await {
		Ok(bytes) => {
			let cache = if file.starts_with(root.join("assets")) {
				// Vite names assets by content hash: they never change under one name.
				"public, max-age=31536000, immutable"
			} else {
				"no-cache"
			};
			([(header::CONTENT_TYPE, content_type(&file)), (header::CACHE_CONTROL, cache)], bytes)
				.into_response()
		}
		Err(_) => (StatusCode::NOT_FOUND, "not found\n").into_response(),
	}
}

/// The request path as a relative path of normal components, or `None` if it could leave the root.
pub(crate) fn safe_relative(path: &str) -> Option<PathBuf> {
	let mut out = PathBuf::new();
	for part in path.split('/') {
		if part.is_empty() || part == "." {
			continue;
		}
		if part == ".."
			|| part.starts_with('.')
			|| part.contains('\\')
			|| part.contains('\0')
			|| part.contains('%')
		{
			return None;
		}
		out.push(part);
	}
	Some(out)
}

/// `root/rel` if it is a plain file whose real path stays inside the real root.
fn resolve(root: &Path, rel: &Path) -> Option<PathBuf> {
	let real_root = root.canonicalize().ok()?;
	let real = root.join(rel).canonicalize().ok()?;
	(real.starts_with(&real_root) && real.is_file()).then_some(real)
}

fn not_built(root: &Path) -> Response {
	(
		StatusCode::SERVICE_UNAVAILABLE,
		format!(
			"the Studio is not built: no index.html in {} (run `npm ci && npm run build` in studio/web, \
			 or scripts/up.sh)\n",
			root.display()
		),
	)
		.into_response()
}

fn content_type(path: &Path) -> &'static str {
	match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
		"html" => "text/html; charset=utf-8",
		"js" | "mjs" => "text/javascript; charset=utf-8",
		"css" => "text/css; charset=utf-8",
		"json" | "map" => "application/json",
		"wasm" => "application/wasm",
		"svg" => "image/svg+xml",
		"png" => "image/png",
		"ico" => "image/x-icon",
		"txt" => "text/plain; charset=utf-8",
		"woff2" => "font/woff2",
		_ => "application/octet-stream",
	}
}
