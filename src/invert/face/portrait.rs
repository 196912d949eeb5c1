//! Reading a portrait: any PNG or JPEG, turned upright by its EXIF orientation, greyscale
//! made RGB, and scaled down when it is larger than detection and fitting need.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

/// Longest side kept; larger portraits are scaled down (faces fill plenty of pixels there).
pub const MAX_SIDE: u32 = 2048;
/// Shortest side accepted.
pub const MIN_SIDE: u32 = 64;
/// Decoding stops beyond this many pixels per side or bytes of memory.
const DECODE_SIDE_LIMIT: u32 = 30_000;
const DECODE_BYTES_LIMIT: u64 = 1 << 30;

#[derive(Debug, thiserror::Error)]
pub enum PortraitError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not an image this program reads (PNG or JPEG): {reason}")]
    NotAnImage { path: String, reason: String },
    #[error(
        "{path} is {width}×{height} pixels; a portrait needs at least {MIN_SIDE} on each side, and its long side at most {} times its short side",
        MAX_SIDE / MIN_SIDE
    )]
    TooSmall {
        path: String,
        width: u32,
        height: u32,
    },
}

/// The portrait upright as RGB, at most `MAX_SIDE` on its long side, and whether it was
/// scaled down (the caller says so).
pub fn load(path: &Path) -> Result<(image::RgbImage, Option<(u32, u32)>), PortraitError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| PortraitError::Io {
        path: shown.clone(),
        source,
    })?;
    decode(&bytes, &shown)
}

pub fn decode(
    bytes: &[u8],
    shown: &str,
) -> Result<(image::RgbImage, Option<(u32, u32)>), PortraitError> {
    let not_image = |reason: String| PortraitError::NotAnImage {
        path: shown.to_string(),
        reason,
    };
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| not_image(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(DECODE_SIDE_LIMIT);
    limits.max_image_height = Some(DECODE_SIDE_LIMIT);
    limits.max_alloc = Some(DECODE_BYTES_LIMIT);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| not_image(e.to_string()))?;
    let orientation = decoder
        .orientation()
        .map_err(|e| not_image(e.to_string()))?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| not_image(e.to_string()))?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    if width.min(height) < MIN_SIDE {
        return Err(PortraitError::TooSmall {
            path: shown.to_string(),
            width,
            height,
        });
    }
    if width.max(height) > MAX_SIDE {
        let scaled = image.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::Triangle);
        // A strip too narrow to hold a face once the long side fits.
        if scaled.width().min(scaled.height()) < MIN_SIDE {
            return Err(PortraitError::TooSmall {
                path: shown.to_string(),
                width,
                height,
            });
        }
        return Ok((scaled.to_rgb8(), Some((width, height))));
    }
    Ok((image.to_rgb8(), None))
}
