//! What a contribution declares about a file: its BLAKE3 hash, size and format.

use std::{fs::File, io::Read, path::Path};

/// The declaration of one file, as `submit_contribution` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDeclaration {
	pub hash: [u8; 32],
	pub bytes: u64,
	pub format: String,
}

/// Canonical format name for a file extension: lower case, with common aliases folded
/// (`jpg` is `jpeg`, `markdown` is `md`, `htm` is `html`, `tif` is `tiff`).
pub fn canonical_format(ext: &str) -> String {
	let ext = ext.to_ascii_lowercase();
	match ext.as_str() {
		"jpg" => "jpeg".into(),
		"markdown" => "md".into(),
		"htm" => "html".into(),
		"tif" => "tiff".into(),
		_ => ext,
	}
}

/// Hashes `path` (streaming, any size) and takes its format from the extension, or from
/// `format_override` when given.
pub fn declare(path: &Path, format_override: Option<&str>) -> anyhow::Result<FileDeclaration> {
	let format = match format_override {
		Some(f) => canonical_format(f),
		None => {
			path.extension().and_then(|e| e.to_str()).map(canonical_format).ok_or_else(|| {
				anyhow::anyhow!(
					"{} has no extension to take its format from: pass --format",
					path.display()
				)
			})?
		}
	};
	let mut file =
		File::open(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
	let mut hasher = blake3::Hasher::new();
	let mut buf = vec![0u8; 1 << 16];
	let mut bytes = 0u64;
	loop {
		let n = file.read(&mut buf)?;
		if n == 0 {
			break;
		}
		hasher.update(&buf[..n]);
		bytes += n as u64;
	}
	if bytes == 0 {
		anyhow::bail!("{} is empty: there is nothing to contribute", path.display());
	}
	Ok(FileDeclaration { hash: *hasher.finalize().as_bytes(), bytes, format })
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn declares_hash_size_and_format() {
		let dir = tempfile::tempdir().unwrap();
		let p = dir.path().join("Photo.JPG");
		std::fs::write(&p, b"not really a jpeg").unwrap();
		let d = declare(&p, None).unwrap();
		assert_eq!(d.bytes, 17);
		assert_eq!(d.format, "jpeg");
		assert_eq!(d.hash, *blake3::hash(b"not really a jpeg").as_bytes());
		assert_eq!(declare(&p, Some("PNG")).unwrap().format, "png");
	}

	#[test]
	fn hashes_large_files_in_chunks() {
		let dir = tempfile::tempdir().unwrap();
		let p = dir.path().join("big.txt");
		let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
		std::fs::write(&p, &data).unwrap();
		assert_eq!(declare(&p, None).unwrap().hash, *blake3::hash(&data).as_bytes());
	}

	#[test]
	fn refuses_empty_and_extensionless_files() {
		let dir = tempfile::tempdir().unwrap();
		let empty = dir.path().join("e.txt");
		std::fs::write(&empty, b"").unwrap();
		assert!(declare(&empty, None).unwrap_err().to_string().contains("empty"));
		let bare = dir.path().join("README");
		std::fs::write(&bare, b"x").unwrap();
		assert!(declare(&bare, None).unwrap_err().to_string().contains("--format"));
		let missing = dir.path().join("nope.txt");
		assert!(declare(&missing, None).unwrap_err().to_string().contains("cannot read"));
	}
}
