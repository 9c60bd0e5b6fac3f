//! Content checks for contributions, one per modality, with typed reasons.
//!
//! [`check`] takes a contribution's bytes and what the chain says about them (hash, size, format, the
//! datanet's modality and allowed formats) and either returns what it found ([`Checked`]) or the
//! [`Reason`] it must be refused for. Every reason maps to one of the chain's rejection codes through
//! [`Reason::code`]; a format this crate cannot inspect gives [`Reason::Unsupported`], which has no code:
//! a curator agent abstains rather than rejecting what it cannot judge.
//!
//! Decoders run under explicit limits ([`Limits`]) checked before any large allocation (declared image
//! dimensions, archive entry sizes, audio stream parameters), so hostile files are refused cheaply.
//! Near duplicates of text are found with MinHash ([`dedupe::NearDupIndex`]).

pub mod audio;
pub mod dedupe;
pub mod image;
pub mod text;

use serde::{Deserialize, Serialize};

/// The three modalities a datanet can have (mirrors the chain's `Modality`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Modality {
	Text,
	Image,
	Audio,
}

impl Modality {
	/// The modality a chain client names (`text`, `image`, `audio`: `DatanetView::modality`).
	pub fn from_name(name: &str) -> Option<Self> {
		Some(match name {
			"text" => Modality::Text,
			"image" => Modality::Image,
			"audio" => Modality::Audio,
			_ => return None,
		})
	}
}

/// The chain's rejection codes (mirrors `pallet_datanets::RejectReason` without `Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Code {
	Malformed,
	HashMismatch,
	OffTopic,
	Duplicate,
	LowQuality,
}

/// What the chain records about a contribution, against which its bytes are checked.
#[derive(Debug, Clone)]
pub struct Declared<'a> {
	pub hash: [u8; 32],
	pub size: u64,
	/// Lower-case format name as recorded on chain (`txt`, `jsonl`, `png`, `jpeg`, `wav`, ...).
	pub format: &'a str,
	pub modality: Modality,
	/// The formats the datanet allows.
	pub allowed: &'a [String],
}

/// Bounds the checks enforce. The defaults suit a general-purpose datanet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Limits {
	pub text_min_chars: usize,
	pub text_max_chars: usize,
	/// Largest uncompressed part read from a docx archive, and the whole archive's uncompressed total.
	pub docx_max_part_bytes: u64,
	pub docx_max_entries: usize,
	pub image_min_side: u32,
	pub image_max_side: u32,
	pub image_max_pixels: u64,
	pub audio_min_secs: f64,
	pub audio_max_secs: f64,
	pub audio_min_rate: u32,
	pub audio_max_rate: u32,
	pub audio_max_channels: usize,
}

impl Default for Limits {
	fn default() -> Self {
		Self {
			text_min_chars: 16,
			text_max_chars: 16 << 20,
			docx_max_part_bytes: 16 << 20,
			docx_max_entries: 1000,
			image_min_side: 8,
			image_max_side: 16384,
			image_max_pixels: 64_000_000,
			audio_min_secs: 0.1,
			audio_max_secs: 3600.0,
			audio_min_rate: 8000,
			audio_max_rate: 192_000,
			audio_max_channels: 8,
		}
	}
}

/// Why a contribution is refused. `Display` gives a sentence for logs and CLIs.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum Reason {
	#[error("the bytes hash to {actual}, not to the declared {declared}")]
	HashMismatch { declared: String, actual: String },
	#[error("the bytes are {actual} long, not the declared {declared}")]
	SizeMismatch { declared: u64, actual: u64 },
	#[error("format {format:?} is not allowed in this datanet (allowed: {allowed})")]
	FormatNotAllowed { format: String, allowed: String },
	#[error("format {format:?} is not a {modality:?} format")]
	WrongModality { format: String, modality: Modality },
	#[error("declared as {declared} but the bytes are {detected}")]
	FormatMismatch { declared: String, detected: String },
	#[error("not valid UTF-8 (first bad byte at offset {offset})")]
	InvalidUtf8 { offset: usize },
	#[error("the text holds binary data ({control} control characters)")]
	BinaryText { control: usize },
	#[error("{chars} characters is shorter than the minimum of {min}")]
	TooShort { chars: usize, min: usize },
	#[error("{chars} characters is longer than the maximum of {max}")]
	TooLong { chars: usize, max: usize },
	#[error("line {line} is not valid JSON: {message}")]
	BadJson { line: usize, message: String },
	#[error("line {line} does not follow the instruction schema: {message}")]
	Schema { line: usize, message: String },
	#[error("the archive is not a valid docx: {message}")]
	BadArchive { message: String },
	#[error("decompression bomb: {what} would expand to {size} bytes (limit {limit})")]
	Bomb { what: String, size: u64, limit: u64 },
	#[error("cannot be decoded: {message}")]
	Undecodable { message: String },
	#[error(
		"{width}x{height} exceeds the image limits ({max_side} per side, {max_pixels} pixels)"
	)]
	ImageTooLarge { width: u32, height: u32, max_side: u32, max_pixels: u64 },
	#[error("{width}x{height} is smaller than the minimum of {min_side} per side")]
	ImageTooSmall { width: u32, height: u32, min_side: u32 },
	#[error("audio stream parameters out of bounds: {message}")]
	AudioParams { message: String },
	#[error("{secs:.2} s of audio is outside {min}..{max} s")]
	AudioDuration { secs: f64, min: f64, max: f64 },
	#[error("the same text is already contribution {of}")]
	Duplicate { of: u64 },
	#[error("nearly the same text ({similarity:.2} similar) is already contribution {of}")]
	NearDuplicate { of: u64, similarity: f64 },
	#[error("format {format:?} cannot be checked automatically: {why}")]
	Unsupported { format: String, why: String },
}

impl Reason {
	/// The chain's rejection code, or `None` where the content could not be judged (abstain).
	pub fn code(&self) -> Option<Code> {
		use Reason::*;
		Some(match self {
			HashMismatch { .. } | SizeMismatch { .. } => Code::HashMismatch,
			FormatNotAllowed { .. } | WrongModality { .. } => Code::OffTopic,
			FormatMismatch { .. }
			| InvalidUtf8 { .. }
			| BinaryText { .. }
			| BadJson { .. }
			| Schema { .. }
			| BadArchive { .. }
			| Bomb { .. }
			| Undecodable { .. }
			| ImageTooLarge { .. }
			| AudioParams { .. } => Code::Malformed,
			TooShort { .. } | TooLong { .. } | ImageTooSmall { .. } | AudioDuration { .. } => {
				Code::LowQuality
			}
			Duplicate { .. } | NearDuplicate { .. } => Code::Duplicate,
			Unsupported { .. } => return None,
		})
	}
}

/// What a successful check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Checked {
	/// Text, with the extracted text (for duplicate detection) and its size.
	Text {
		text: String,
		chars: usize,
		records: Option<usize>,
	},
	Image {
		width: u32,
		height: u32,
	},
	Audio {
		secs: f64,
		rate: u32,
		channels: usize,
	},
}

/// Checks `bytes` against their declaration and the datanet's rules.
pub fn check(bytes: &[u8], d: &Declared, limits: &Limits) -> Result<Checked, Reason> {
	if bytes.len() as u64 != d.size {
		return Err(Reason::SizeMismatch { declared: d.size, actual: bytes.len() as u64 });
	}
	let actual = blake3::hash(bytes);
	if actual.as_bytes() != &d.hash {
		return Err(Reason::HashMismatch {
			declared: hex(&d.hash),
			actual: actual.to_hex().to_string(),
		});
	}
	if !d.allowed.iter().any(|a| a == d.format) {
		return Err(Reason::FormatNotAllowed {
			format: d.format.into(),
			allowed: d.allowed.join(", "),
		});
	}
	// A decoder bug must not take down the worker: a panic is reported as an undecodable file.
	let run = || match d.modality {
		Modality::Text => text::check(bytes, d.format, limits),
		Modality::Image => image::check(bytes, d.format, limits),
		Modality::Audio => audio::check(bytes, d.format, limits),
	};
	std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|_| {
		Err(Reason::Undecodable { message: "the decoder failed on these bytes".into() })
	})
}

fn hex(b: &[u8]) -> String {
	b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests;
