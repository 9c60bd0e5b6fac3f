//! Audio contributions: wav, flac and mp3, decoded with symphonia.
//!
//! The container's magic number must match the declared format. Stream parameters (sample rate,
//! channels, declared length) are checked before decoding; then every packet is decoded, counting
//! frames, and decoding stops as soon as the duration limit is passed.

use crate::{Checked, Limits, Modality, Reason};
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::errors::Error;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

pub const FORMATS: &[&str] = &["wav", "flac", "mp3"];

/// The container by magic number.
fn detect(b: &[u8]) -> &'static str {
	if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WAVE" {
		"wav"
	} else if b.starts_with(b"fLaC") {
		"flac"
	} else if b.starts_with(b"ID3") || (b.len() >= 2 && b[0] == 0xff && b[1] & 0xe0 == 0xe0) {
		"mp3"
	} else {
		"unknown"
	}
}

pub fn check(bytes: &[u8], format: &str, limits: &Limits) -> Result<Checked, Reason> {
	if !FORMATS.contains(&format) {
		return Err(match format {
			"ogg" | "opus" | "m4a" => Reason::Unsupported {
				format: format.into(),
				why: "this worker decodes wav, flac and mp3 only".into(),
			},
			_ => Reason::WrongModality { format: format.into(), modality: Modality::Audio },
		});
	}
	let detected = detect(bytes);
	if detected != format {
		return Err(Reason::FormatMismatch { declared: format.into(), detected: detected.into() });
	}
	let undecodable = |e: Error| Reason::Undecodable { message: e.to_string() };
	let mss =
		MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes.to_vec())), Default::default());
	let mut hint = Hint::new();
	hint.with_extension(format);
	let probed = symphonia::default::get_probe()
		.format(&hint, mss, &FormatOptions::default(), &MetadataOptions::default())
		.map_err(undecodable)?;
	let mut reader = probed.format;
	let track = reader
		.default_track()
		.ok_or_else(|| Reason::Undecodable { message: "no audio track".into() })?;
	let (id, params) = (track.id, track.codec_params.clone());
	let rate = params.sample_rate.unwrap_or(0);
	let channels = params.channels.map(|c| c.count()).unwrap_or(0);
	if rate < limits.audio_min_rate || rate > limits.audio_max_rate {
		return Err(Reason::AudioParams {
			message: format!(
				"sample rate {rate} Hz is outside {}..{} Hz",
				limits.audio_min_rate, limits.audio_max_rate
			),
		});
	}
	if channels == 0 || channels > limits.audio_max_channels {
		return Err(Reason::AudioParams {
			message: format!("{channels} channels (1..{} allowed)", limits.audio_max_channels),
		});
	}
	let max_frames = (limits.audio_max_secs * rate as f64) as u64;
	let too_long = |frames: u64| Reason::AudioDuration {
		secs: frames as f64 / rate as f64,
		min: limits.audio_min_secs,
		max: limits.audio_max_secs,
	};
	if let Some(n) = params.n_frames {
		if n > max_frames {
			return Err(too_long(n));
		}
	}
	let mut decoder = symphonia::default::get_codecs()
		.make(&params, &DecoderOptions::default())
		.map_err(undecodable)?;
	let mut frames = 0u64;
	loop {
		let packet = match reader.next_packet() {
			Ok(p) => p,
			Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
			Err(e) => return Err(undecodable(e)),
		};
		if packet.track_id() != id {
			continue;
		}
		let buf = decoder.decode(&packet).map_err(undecodable)?;
		frames += buf.frames() as u64;
		if frames > max_frames {
			return Err(too_long(frames));
		}
	}
	if let Some(n) = params.n_frames {
		// A stream that ends well before its declared length is truncated. mp3 encoders pad a little,
		// so allow a few frames of slack.
		if frames + rate as u64 / 10 < n {
			return Err(Reason::Undecodable {
				message: format!("truncated: {frames} of {n} declared frames"),
			});
		}
	}
	let secs = frames as f64 / rate as f64;
	if secs < limits.audio_min_secs {
		return Err(Reason::AudioDuration {
			secs,
			min: limits.audio_min_secs,
			max: limits.audio_max_secs,
		});
	}
	Ok(Checked::Audio { secs, rate, channels })
}
