//! The canonical adapter blob: one file holding a PEFT adapter folder, so an adapter has one BLAKE3
//! hash the chain can record and anyone can check.
//!
//! It is a POSIX ustar archive (`tar xf` opens it) with exactly two members, in this order:
//! `adapter_config.json` then `adapter_model.safetensors`, each with mode 0644, uid/gid 0, empty
//! owner names and mtime 0, followed by the two zero blocks that end an archive. Nothing else varies,
//! so the same folder always packs to the same bytes, and [`unpack`] refuses anything that is not
//! exactly this shape (other members, paths, links, bad checksums, trailing data).

use std::path::Path;

/// The members, in order.
pub const MEMBERS: [&str; 2] = ["adapter_config.json", "adapter_model.safetensors"];
const BLOCK: usize = 512;
/// Largest adapter_config.json accepted when unpacking.
const MAX_CONFIG: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
	#[error("cannot read {path}: {reason}")]
	Read { path: String, reason: String },
	#[error("cannot write {path}: {reason}")]
	Write { path: String, reason: String },
	#[error("not a canonical adapter blob: {0}")]
	Malformed(String),
}

fn octal(field: &mut [u8], value: u64) {
	// Digits fill all but the last byte, which is NUL.
	let digits = field.len() - 1;
	let text = format!("{value:0digits$o}");
	field[..digits].copy_from_slice(text.as_bytes());
	field[digits] = 0;
}

fn header(name: &str, size: u64) -> [u8; BLOCK] {
	let mut h = [0u8; BLOCK];
	h[..name.len()].copy_from_slice(name.as_bytes());
	octal(&mut h[100..108], 0o644);
	octal(&mut h[108..116], 0);
	octal(&mut h[116..124], 0);
	octal(&mut h[124..136], size);
	octal(&mut h[136..148], 0);
	h[156] = b'0';
	h[257..263].copy_from_slice(b"ustar\0");
	h[263..265].copy_from_slice(b"00");
	// The checksum is summed with its own field as spaces.
	h[148..156].copy_from_slice(b"        ");
	let sum: u32 = h.iter().map(|b| *b as u32).sum();
	let text = format!("{sum:06o}\0 ");
	h[148..156].copy_from_slice(text.as_bytes());
	h
}

/// Packs the PEFT folder `dir` into the canonical blob.
pub fn pack(dir: &Path) -> Result<Vec<u8>, BlobError> {
	let mut out = Vec::new();
	for name in MEMBERS {
		let path = dir.join(name);
		let bytes = std::fs::read(&path).map_err(|e| BlobError::Read {
			path: path.display().to_string(),
			reason: e.to_string(),
		})?;
		out.extend_from_slice(&header(name, bytes.len() as u64));
		out.extend_from_slice(&bytes);
		out.resize(out.len().next_multiple_of(BLOCK), 0);
	}
	out.resize(out.len() + 2 * BLOCK, 0);
	Ok(out)
}

fn bad(msg: impl Into<String>) -> BlobError {
	BlobError::Malformed(msg.into())
}

/// Checks `blob` is canonical and returns its two members' bytes, in [`MEMBERS`] order.
pub fn members(blob: &[u8]) -> Result<[&[u8]; 2], BlobError> {
	let mut at = 0usize;
	let mut found: Vec<&[u8]> = Vec::with_capacity(2);
	for name in MEMBERS {
		let h = blob.get(at..at + BLOCK).ok_or_else(|| bad("truncated before a member header"))?;
		let size_field = std::str::from_utf8(&h[124..135]).map_err(|_| bad("size field"))?;
		let size = u64::from_str_radix(size_field, 8).map_err(|_| bad("size field"))?;
		if name == MEMBERS[0] && size > MAX_CONFIG {
			return Err(bad("adapter_config.json is larger than 1 MiB"));
		}
		// The whole header must be exactly what pack writes for this member and size.
		if h != header(name, size) {
			return Err(bad(format!("member header for {name} is not canonical")));
		}
		at += BLOCK;
		let end = at.checked_add(size as usize).ok_or_else(|| bad("size overflows"))?;
		let body = blob.get(at..end).ok_or_else(|| bad(format!("{name} is truncated")))?;
		found.push(body);
		let padded = end.next_multiple_of(BLOCK);
		let pad = blob.get(end..padded).ok_or_else(|| bad("truncated padding"))?;
		if pad.iter().any(|b| *b != 0) {
			return Err(bad("non-zero padding"));
		}
		at = padded;
	}
	if blob.len() != at + 2 * BLOCK || blob[at..].iter().any(|b| *b != 0) {
		return Err(bad("the archive must end with exactly two zero blocks after the two members"));
	}
	Ok([found[0], found[1]])
}

/// Checks `blob` and writes its two members into `dir` (created if needed).
pub fn unpack(blob: &[u8], dir: &Path) -> Result<(), BlobError> {
	let parts = members(blob)?;
	std::fs::create_dir_all(dir)
		.map_err(|e| BlobError::Write { path: dir.display().to_string(), reason: e.to_string() })?;
	for (name, bytes) in MEMBERS.iter().zip(parts) {
		let path = dir.join(name);
		std::fs::write(&path, bytes).map_err(|e| BlobError::Write {
			path: path.display().to_string(),
			reason: e.to_string(),
		})?;
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	fn folder(config: &[u8], weights: &[u8]) -> tempfile::TempDir {
		let d = tempfile::tempdir().unwrap();
		std::fs::write(d.path().join(MEMBERS[0]), config).unwrap();
		std::fs::write(d.path().join(MEMBERS[1]), weights).unwrap();
		d
	}

	#[test]
	fn packing_is_canonical_and_round_trips() {
		let a = folder(b"{\"r\": 8}", &[7u8; 1000]);
		let blob = pack(a.path()).unwrap();
		assert_eq!(blob.len(), 512 + 512 + 512 + 1024 + 1024);
		// Same contents elsewhere (other paths, other times): same bytes.
		std::thread::sleep(std::time::Duration::from_millis(1100));
		let b = folder(b"{\"r\": 8}", &[7u8; 1000]);
		assert_eq!(pack(b.path()).unwrap(), blob);
		let out = tempfile::tempdir().unwrap();
		unpack(&blob, out.path()).unwrap();
		assert_eq!(std::fs::read(out.path().join(MEMBERS[1])).unwrap(), vec![7u8; 1000]);
		assert_eq!(std::fs::read(out.path().join(MEMBERS[0])).unwrap(), b"{\"r\": 8}");
	}

	#[test]
	fn the_system_tar_reads_it() {
		let a = folder(b"{}", b"weights");
		let blob = pack(a.path()).unwrap();
		let dir = tempfile::tempdir().unwrap();
		let file = dir.path().join("adapter.tar");
		std::fs::write(&file, &blob).unwrap();
		let Ok(list) = std::process::Command::new("tar").arg("tf").arg(&file).output() else {
			return; // no tar on this machine
		};
		assert_eq!(
			String::from_utf8_lossy(&list.stdout),
			"adapter_config.json\nadapter_model.safetensors\n"
		);
	}

	#[test]
	fn anything_but_the_canonical_shape_is_refused() {
		let a = folder(b"{}", &[1u8; 600]);
		let blob = pack(a.path()).unwrap();
		let refuse = |b: &[u8], why: &str| {
			let e = members(b).expect_err(why).to_string();
			assert!(e.contains("not a canonical adapter blob"), "{why}: {e}");
		};
		refuse(&blob[..blob.len() - 1], "short end");
		refuse(&[blob.clone(), vec![0u8; 512]].concat(), "extra block");
		let mut b = blob.clone();
		b[0] = b'x'; // renamed member
		refuse(&b, "renamed");
		let mut b = blob.clone();
		b[136] = b'1'; // mtime
		refuse(&b, "mtime");
		let mut b = blob.clone();
		b[156] = b'2'; // a symlink
		refuse(&b, "link");
		let mut b = blob.clone();
		b[512 + 2] = 1; // padding after the config
		refuse(&b, "padding");
		let mut b = blob.clone();
		let n = b.len();
		b[n - 3] = 1;
		refuse(&b, "trailer");
		// A path in place of the name.
		let mut h = header("../adapter_config.json", 2);
		h[148] = b'0';
		refuse(&[&h[..], &blob[512..]].concat(), "path");
	}
}
