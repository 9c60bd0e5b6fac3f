//! Image contributions: png, jpeg and webp, decoded with the `image` crate.
//!
//! The declared dimensions are read from the header first and checked against the limits before any
//! pixel buffer exists; decoding then runs with an allocation cap as a second guard (decompression
//! bombs). The bytes' real format (by magic number) must be the declared one.

use crate::{Checked, Limits, Modality, Reason};
use image::{ImageError, ImageFormat, ImageReader};
use std::io::Cursor;

pub const FORMATS: &[&str] = &["png", "jpeg", "webp"];

fn declared_format(format: &str) -> Option<ImageFormat> {
	Some(match format {
		"png" => ImageFormat::Png,
		"jpeg" => ImageFormat::Jpeg,
		"webp" => ImageFormat::WebP,
		_ => return None,
	})
}

fn name(f: ImageFormat) -> String {
	f.extensions_str().first().copied().unwrap_or("unknown").replace("jpg", "jpeg")
}

pub fn check(bytes: &[u8], format: &str, limits: &Limits) -> Result<Checked, Reason> {
	let Some(want) = declared_format(format) else {
		return Err(match format {
			"gif" | "bmp" | "tiff" => Reason::Unsupported {
				format: format.into(),
				why: "this worker decodes png, jpeg and webp only".into(),
			},
			_ => Reason::WrongModality { format: format.into(), modality: Modality::Image },
		});
	};
	let got = image::guess_format(bytes).map_err(|_| Reason::FormatMismatch {
		declared: format.into(),
		detected: "not an image format this worker recognises".into(),
	})?;
	if got != want {
		return Err(Reason::FormatMismatch { declared: format.into(), detected: name(got) });
	}
	// Reading the header allocates no pixels; only the decode below needs the caps.
	let mut il = image::Limits::default();
	il.max_image_width = None;
	il.max_image_height = None;
	let reader = |il: &image::Limits| {
		let mut r = ImageReader::with_format(Cursor::new(bytes), want);
		r.limits(il.clone());
		r
	};
	let (width, height) = reader(&il).into_dimensions().map_err(|e| map_err(e, limits))?;
	il.max_image_width = Some(limits.image_max_side);
	il.max_image_height = Some(limits.image_max_side);
	// RGBA8 of the largest allowed image, plus decoder scratch.
	il.max_alloc = Some(limits.image_max_pixels.saturating_mul(4).saturating_add(64 << 20));
	let too_large = Reason::ImageTooLarge {
		width,
		height,
		max_side: limits.image_max_side,
		max_pixels: limits.image_max_pixels,
	};
	if width > limits.image_max_side
		|| height > limits.image_max_side
		|| width as u64 * height as u64 > limits.image_max_pixels
	{
		return Err(too_large);
	}
	if width < limits.image_min_side || height < limits.image_min_side {
		return Err(Reason::ImageTooSmall { width, height, min_side: limits.image_min_side });
	}
	reader(&il).decode().map_err(|e| match e {
		ImageError::Limits(_) => too_large,
		e => map_err(e, limits),
	})?;
	Ok(Checked::Image { width, height })
}

fn map_err(e: ImageError, limits: &Limits) -> Reason {
	match e {
		ImageError::Limits(l) => Reason::Bomb {
			what: format!("the image ({l})"),
			size: limits.image_max_pixels.saturating_add(1),
			limit: limits.image_max_pixels,
		},
		e => Reason::Undecodable { message: e.to_string() },
	}
}
