//! Image work with the `image` crate: upright dimensions (EXIF orientation applied), thumbnails
//! and square avatars. Decoding runs with limits, so a small file that claims enormous dimensions
//! (a decompression bomb) fails instead of exhausting memory. These functions are CPU-bound and
//! synchronous: callers run them on blocking threads.

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, imageops::FilterType};
use std::io::{BufRead, Cursor, Seek};

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_MAX: u32 = 480;
/// Side of a (square) avatar, in pixels.
pub const AVATAR_SIDE: u32 = 256;
/// Largest image decoded, per side.
const MAX_SIDE: u32 = 12_000;
/// Largest allocation while decoding.
const MAX_ALLOC: u64 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot read the image: {0}")]
    Decode(#[from] image::ImageError),
    #[error("cannot read the image: {0}")]
    Io(#[from] std::io::Error),
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

fn decoder<'a, R: BufRead + Seek + 'a>(reader: R) -> Result<impl ImageDecoder + 'a, ImageError> {
    let mut reader = ImageReader::new(reader).with_guessed_format()?;
    reader.limits(limits());
    Ok(reader.into_decoder()?)
}

/// Whether an orientation turns the image by a quarter (so width and height swap).
fn quarter_turn(o: image::metadata::Orientation) -> bool {
    use image::metadata::Orientation::*;
    matches!(o, Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH)
}

/// Width and height as the image is meant to be seen, reading only the headers.
pub fn upright_dimensions<'a, R: BufRead + Seek + 'a>(reader: R) -> Result<(u32, u32), ImageError> {
    let mut decoder = decoder(reader)?;
    let (w, h) = decoder.dimensions();
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    Ok(if quarter_turn(orientation) {
        (h, w)
    } else {
        (w, h)
    })
}

/// Decodes fully and turns the pixels upright.
fn decode_upright(bytes: &[u8]) -> Result<DynamicImage, ImageError> {
    let mut decoder = decoder(Cursor::new(bytes))?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder)?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// Encodes as JPEG, or PNG when the image has transparency. Returns bytes and content type.
fn encode(img: &DynamicImage) -> Result<(Vec<u8>, &'static str), ImageError> {
    let mut out = Cursor::new(Vec::new());
    if img.color().has_alpha() {
        img.write_to(&mut out, image::ImageFormat::Png)?;
        Ok((out.into_inner(), "image/png"))
    } else {
        let rgb = DynamicImage::ImageRgb8(img.to_rgb8());
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82);
        rgb.write_with_encoder(encoder)?;
        Ok((out.into_inner(), "image/jpeg"))
    }
}

/// A thumbnail that fits in [`THUMBNAIL_MAX`]², upright (the first frame of an animation).
pub fn thumbnail(bytes: &[u8]) -> Result<(Vec<u8>, &'static str), ImageError> {
    let img = decode_upright(bytes)?;
    let thumb = if img.width() > THUMBNAIL_MAX || img.height() > THUMBNAIL_MAX {
        img.thumbnail(THUMBNAIL_MAX, THUMBNAIL_MAX)
    } else {
        img
    };
    encode(&thumb)
}

/// A square avatar: upright, centre-cropped, [`AVATAR_SIDE`] pixels (smaller images are scaled up
/// so every avatar has one size).
pub fn avatar(bytes: &[u8]) -> Result<(Vec<u8>, &'static str), ImageError> {
    let img = decode_upright(bytes)?;
    let side = img.width().min(img.height());
    let x = (img.width() - side) / 2;
    let y = (img.height() - side) / 2;
    let square = img.crop_imm(x, y, side, side);
    let resized = square.resize_exact(AVATAR_SIDE, AVATAR_SIDE, FilterType::Lanczos3);
    encode(&resized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, _| {
            image::Rgb([(x % 256) as u8, 0, 0])
        }));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn dimensions_thumbnails_and_avatars() {
        let bytes = png(1000, 500);
        assert_eq!(
            upright_dimensions(Cursor::new(&bytes)).unwrap(),
            (1000, 500)
        );
        let (thumb, ty) = thumbnail(&bytes).unwrap();
        assert_eq!(ty, "image/jpeg");
        assert_eq!(upright_dimensions(Cursor::new(&thumb)).unwrap(), (480, 240));
        let (avatar, _) = avatar(&bytes).unwrap();
        assert_eq!(
            upright_dimensions(Cursor::new(&avatar)).unwrap(),
            (AVATAR_SIDE, AVATAR_SIDE)
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(upright_dimensions(Cursor::new(b"\x89PNG\r\n\x1a\nnope")).is_err());
        assert!(thumbnail(b"not an image").is_err());
    }
}
