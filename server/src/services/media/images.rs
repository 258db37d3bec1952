//! Image work with the `image` crate: upright dimensions (EXIF orientation applied), thumbnails
//! and square avatars. These functions are CPU-bound and synchronous: callers run them on
//! blocking threads.
//!
//! # Bounded decoding
//!
//! A small file can claim enormous dimensions (a decompression bomb): a 1 MB PNG of
//! 12000×12000 16-bit RGBA decodes to 1.1 GB of pixels. The `image` crate's `Limits` do not
//! stop that — they bound the codec's own buffers, but the pixel buffer itself is allocated
//! from the header's dimensions without consulting `max_alloc`. So every decode here goes
//! through one door, [`open`], which reads only the header, estimates what decoding
//! will hold at its peak (width × height × bytes per pixel, ×3 for JPEG, whose progressive mode
//! keeps every DCT coefficient — 2 bytes per sample — beside the output) and refuses with
//! [`ImageError::TooLarge`] before a single pixel buffer exists when that exceeds
//! [`DECODE_BUDGET`].
//!
//! After decoding, the work is arranged so nothing else of the image's full size is allocated:
//! the picture is first shrunk (`thumbnail`, which writes only the small output), and only then
//! turned upright and cropped, because rotating or cropping copies the whole image. The peak is
//! therefore the estimate plus a few small images. (The JPEG codec in `image` 0.25 cannot
//! downscale while decoding, so a JPEG is decoded at full size; the budget accounts for it.)
//!
//! Callers decide what "too large" means for them: an avatar is refused with a typed error
//! (`image_too_large`), an attachment is stored anyway and simply gets no thumbnail.

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, imageops::FilterType};
use std::io::{BufRead, Cursor, Seek};

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_MAX: u32 = 480;
/// Side of a (square) avatar, in pixels.
pub const AVATAR_SIDE: u32 = 256;
/// Largest image decoded, per side.
const MAX_SIDE: u32 = 12_000;
/// Most memory one decode may hold at its peak, by the header's estimate (see the module doc):
/// about 33 megapixels of 8-bit RGBA PNG, or 29 megapixels of JPEG.
pub const DECODE_BUDGET: u64 = 256 * 1024 * 1024;
/// Largest allocation the codecs may make for their own buffers.
const MAX_ALLOC: u64 = DECODE_BUDGET;
/// Before cropping an avatar, the picture is shrunk so its short side is at most this (a few
/// times [`AVATAR_SIDE`], so the final Lanczos resize still has detail to work with).
const AVATAR_WORKING_SIDE: u32 = 4 * AVATAR_SIDE;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot read the image: {0}")]
    Decode(#[from] image::ImageError),
    #[error("cannot read the image: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the image is too large to process: {width}×{height} pixels would need {needed} bytes \
         (at most {budget})"
    )]
    TooLarge {
        width: u32,
        height: u32,
        needed: u64,
        budget: u64,
    },
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

/// Peak bytes a decode of this header would hold: the pixel buffer, and for JPEG the
/// coefficient buffers of a progressive image (counted always: the header does not say).
pub fn decode_cost(
    format: Option<ImageFormat>,
    width: u32,
    height: u32,
    bytes_per_pixel: u8,
) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    let output = pixels.saturating_mul(u64::from(bytes_per_pixel));
    match format {
        Some(ImageFormat::Jpeg) => output.saturating_mul(3),
        _ => output,
    }
}

/// A decoder whose header has been read and whose cost is within [`DECODE_BUDGET`].
struct Decoding<D> {
    decoder: D,
}

impl<D: ImageDecoder> Decoding<D> {
    fn check(decoder: D, format: Option<ImageFormat>, budget: u64) -> Result<Self, ImageError> {
        let (width, height) = decoder.dimensions();
        let needed = decode_cost(
            format,
            width,
            height,
            decoder.color_type().bytes_per_pixel(),
        );
        if needed > budget {
            return Err(ImageError::TooLarge {
                width,
                height,
                needed,
                budget,
            });
        }
        Ok(Self { decoder })
    }
}

/// Reads the header only and checks the budget: the one way into a pixel decode.
fn open<'a, R: BufRead + Seek + 'a>(
    reader: R,
    budget: u64,
) -> Result<Decoding<impl ImageDecoder + 'a>, ImageError> {
    let (decoder, format) = header(reader)?;
    Decoding::check(decoder, format, budget)
}

/// A decoder that has read the header (and nothing more), with its format.
fn header<'a, R: BufRead + Seek + 'a>(
    reader: R,
) -> Result<(impl ImageDecoder + 'a, Option<ImageFormat>), ImageError> {
    let mut reader = ImageReader::new(reader).with_guessed_format()?;
    let format = reader.format();
    reader.limits(limits());
    Ok((reader.into_decoder()?, format))
}

/// Whether an orientation turns the image by a quarter (so width and height swap).
fn quarter_turn(o: image::metadata::Orientation) -> bool {
    use image::metadata::Orientation::*;
    matches!(o, Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH)
}

/// Width and height as the image is meant to be seen, reading only the headers (no pixels are
/// decoded, so this needs no budget).
pub fn upright_dimensions<'a, R: BufRead + Seek + 'a>(reader: R) -> Result<(u32, u32), ImageError> {
    let (mut decoder, _) = header(reader)?;
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

/// Decodes within `budget`, shrinks to fit `max_w`×`max_h` (aspect kept; never enlarged), then
/// turns the (now small) pixels upright. `max_w`/`max_h` are in stored orientation.
fn decode_shrunk(
    bytes: &[u8],
    budget: u64,
    fit: impl FnOnce(u32, u32) -> (u32, u32),
) -> Result<DynamicImage, ImageError> {
    let Decoding { mut decoder } = open(Cursor::new(bytes), budget)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let img = DynamicImage::from_decoder(decoder)?;
    let (max_w, max_h) = fit(img.width(), img.height());
    let mut img = if img.width() > max_w || img.height() > max_h {
        // `thumbnail` writes only the small output; the full image is dropped right after.
        img.thumbnail(max_w, max_h)
    } else {
        img
    };
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
    let thumb = decode_shrunk(bytes, DECODE_BUDGET, |_, _| (THUMBNAIL_MAX, THUMBNAIL_MAX))?;
    encode(&thumb)
}

/// A square avatar: upright, centre-cropped, [`AVATAR_SIDE`] pixels (smaller images are scaled up
/// so every avatar has one size).
pub fn avatar(bytes: &[u8]) -> Result<(Vec<u8>, &'static str), ImageError> {
    // Shrink so the short side is at most AVATAR_WORKING_SIDE before cropping (a crop copies).
    let img = decode_shrunk(bytes, DECODE_BUDGET, |w, h| {
        let short = w.min(h).max(1);
        if short <= AVATAR_WORKING_SIDE {
            (w, h)
        } else {
            let scale = |side: u32| {
                (u64::from(side) * u64::from(AVATAR_WORKING_SIDE)).div_ceil(u64::from(short)) as u32
            };
            (scale(w), scale(h))
        }
    })?;
    let side = img.width().min(img.height());
    let x = (img.width() - side) / 2;
    let y = (img.height() - side) / 2;
    let square = img.crop_imm(x, y, side, side);
    let resized = square.resize_exact(AVATAR_SIDE, AVATAR_SIDE, FilterType::Lanczos3);
    encode(&resized)
}

/// The `image_header` fuzz target (`fuzz/`): whatever the bytes, reading the header and
/// making a thumbnail answer `Ok` or an error, never a panic, and never decode past the budget
/// (a small one here, so the fuzzer stays fast and a bomb that slipped through would show).
#[cfg(any(test, fuzzing))]
pub fn fuzz_decode(data: &[u8]) {
    const FUZZ_BUDGET: u64 = 4 * 1024 * 1024;
    let _ = upright_dimensions(Cursor::new(data));
    if let Ok(thumb) = decode_shrunk(data, FUZZ_BUDGET, |_, _| (64, 64)) {
        assert!(thumb.width() <= 64 && thumb.height() <= 64);
        let _ = encode(&thumb);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_corpus_and_regressions_replay() {
        crate::fuzz_cases::replay("image_header", fuzz_decode);
    }

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

    /// A PNG chunk: length, type, data, CRC.
    fn chunk(out: &mut Vec<u8>, ty: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(ty);
        out.extend_from_slice(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(ty);
        crc.update(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }

    /// A PNG header claiming `w`×`h` 16-bit RGBA whose pixel data is garbage: decoding it would
    /// fail, so only a check made *before* decoding can answer `TooLarge`.
    fn claimed_png(w: u32, h: u32) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[16, 6, 0, 0, 0]); // 16-bit, RGBA, deflate, no filter, no interlace
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", b"not deflate at all");
        chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn the_budget_is_checked_from_the_header_before_any_pixel_is_decoded() {
        let bomb = claimed_png(12_000, 12_000);
        for result in [thumbnail(&bomb), avatar(&bomb)] {
            match result {
                Err(ImageError::TooLarge {
                    width,
                    height,
                    needed,
                    budget,
                }) => {
                    assert_eq!((width, height), (12_000, 12_000));
                    assert_eq!(needed, 12_000 * 12_000 * 8);
                    assert_eq!(budget, DECODE_BUDGET);
                }
                other => panic!("expected TooLarge, got {other:?}"),
            }
        }
        // Its dimensions are still readable (from the header alone) for the attachment.
        assert_eq!(
            upright_dimensions(Cursor::new(&bomb)).unwrap(),
            (12_000, 12_000)
        );
        // Within the budget, the same broken data is a decode error: the check is the budget's.
        assert!(matches!(
            thumbnail(&claimed_png(100, 100)),
            Err(ImageError::Decode(_))
        ));
    }

    #[test]
    fn jpeg_costs_count_the_decoders_coefficients() {
        assert_eq!(decode_cost(Some(ImageFormat::Png), 100, 10, 3), 3_000);
        assert_eq!(decode_cost(Some(ImageFormat::Jpeg), 100, 10, 3), 9_000);
        assert_eq!(decode_cost(None, u32::MAX, u32::MAX, 16), u64::MAX);
    }

    #[test]
    fn large_avatars_are_shrunk_before_cropping_and_still_come_out_square() {
        let bytes = png(3000, 1200);
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
