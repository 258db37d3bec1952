//! Opus in Ogg (RFC 7845), written and read with libopus (the `opus` crate) and the `ogg` crate.
//!
//! What makes other players accept the files: an `OpusHead` page first (version 1, one channel,
//! the encoder's real look-ahead as pre-skip, 48 kHz), then an `OpusTags` page, then audio pages
//! whose granule positions count 48 kHz samples *including* the pre-skip; the last page's granule
//! is cut back to the real end (end trimming), so the decoded length is exactly what was
//! recorded. Pages are closed about once a second so a reader can seek.

use super::format::{FRAME_SAMPLES, SAMPLE_RATE, VoiceError};
use ogg::{PacketReader, PacketWriteEndInfo, PacketWriter};
use std::io::Cursor;

/// Speech at 24 kbit/s: clear voice, about 180 KB a minute.
const BITRATE: i32 = 24_000;
/// Largest Opus packet we ask libopus for (RFC 6716 §3.4: at most 1275 bytes per frame).
const MAX_PACKET: usize = 1500;
/// Packets per Ogg page: 50 × 20 ms = one second.
const PACKETS_PER_PAGE: usize = 50;
/// Most samples a packet can decode to (120 ms at 48 kHz), per channel.
const MAX_FRAME_DECODED: usize = 5760;
/// The stream's serial number (one logical stream per file; any value is valid).
const SERIAL: u32 = 0x4a45_434f; // "JECO"

fn encode_err(e: impl std::fmt::Display) -> VoiceError {
    VoiceError::Encode(e.to_string())
}
fn decode_err(e: impl std::fmt::Display) -> VoiceError {
    VoiceError::Decode(e.to_string())
}

/// Encodes mono 48 kHz samples as they come into an in-memory Ogg Opus file.
pub struct OggOpusEncoder {
    encoder: opus::Encoder,
    writer: PacketWriter<'static, Vec<u8>>,
    pre_skip: u16,
    /// Samples waiting for a full 20 ms frame.
    pending: Vec<f32>,
    /// Real samples pushed so far.
    samples_in: u64,
    /// Decoder output so far: 960 per packet.
    granule: u64,
    /// The newest packet is held back so the last one can end the stream with the trimmed granule.
    held: Option<(Vec<u8>, u64)>,
    packets_in_page: usize,
}

impl OggOpusEncoder {
    pub fn new() -> Result<Self, VoiceError> {
        let mut encoder =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
                .map_err(encode_err)?;
        encoder
            .set_bitrate(opus::Bitrate::Bits(BITRATE))
            .map_err(encode_err)?;
        let lookahead = encoder.get_lookahead().map_err(encode_err)?;
        let pre_skip = u16::try_from(lookahead).map_err(encode_err)?;
        let mut writer = PacketWriter::new(Vec::new());
        writer
            .write_packet(opus_head(pre_skip), SERIAL, PacketWriteEndInfo::EndPage, 0)
            .map_err(encode_err)?;
        writer
            .write_packet(opus_tags(), SERIAL, PacketWriteEndInfo::EndPage, 0)
            .map_err(encode_err)?;
        Ok(Self {
            encoder,
            writer,
            pre_skip,
            pending: Vec::with_capacity(FRAME_SAMPLES),
            samples_in: 0,
            granule: 0,
            held: None,
            packets_in_page: 0,
        })
    }

    /// Real samples taken so far.
    pub fn samples(&self) -> u64 {
        self.samples_in
    }

    /// Adds samples (mono, 48 kHz, −1…1); every full 20 ms frame is encoded at once.
    pub fn push(&mut self, samples: &[f32]) -> Result<(), VoiceError> {
        self.samples_in += samples.len() as u64;
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (FRAME_SAMPLES - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == FRAME_SAMPLES {
                self.encode_pending()?;
            }
        }
        Ok(())
    }

    fn encode_pending(&mut self) -> Result<(), VoiceError> {
        let packet = self
            .encoder
            .encode_vec_float(&self.pending, MAX_PACKET)
            .map_err(encode_err)?;
        self.pending.clear();
        self.granule += FRAME_SAMPLES as u64;
        if let Some((previous, granule)) = self.held.take() {
            self.packets_in_page += 1;
            let end = if self.packets_in_page >= PACKETS_PER_PAGE {
                self.packets_in_page = 0;
                PacketWriteEndInfo::EndPage
            } else {
                PacketWriteEndInfo::NormalPacket
            };
            self.writer
                .write_packet(previous, SERIAL, end, granule)
                .map_err(encode_err)?;
        }
        self.held = Some((packet, self.granule));
        Ok(())
    }

    /// Ends the stream: pads the last frame and the encoder's look-ahead with silence, and trims
    /// the end back to what was recorded. Returns the file and its length in samples.
    pub fn finish(mut self) -> Result<(Vec<u8>, u64), VoiceError> {
        if self.samples_in == 0 {
            return Err(VoiceError::Empty);
        }
        // Everything pushed must come out of the decoder, which lags by the pre-skip.
        let needed = self.samples_in + u64::from(self.pre_skip);
        while self.granule < needed || !self.pending.is_empty() {
            let fill = FRAME_SAMPLES - self.pending.len();
            self.pending.extend(std::iter::repeat_n(0.0, fill));
            self.encode_pending()?;
        }
        let (last, _) = self.held.take().expect("at least one packet was encoded");
        self.writer
            .write_packet(last, SERIAL, PacketWriteEndInfo::EndStream, needed)
            .map_err(encode_err)?;
        Ok((self.writer.into_inner(), self.samples_in))
    }
}

/// `OpusHead` (RFC 7845 §5.1): version 1, mono, pre-skip, 48 kHz input, no gain, family 0.
fn opus_head(pre_skip: u16) -> Vec<u8> {
    let mut head = Vec::with_capacity(19);
    head.extend_from_slice(b"OpusHead");
    head.push(1);
    head.push(1);
    head.extend_from_slice(&pre_skip.to_le_bytes());
    head.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes());
    head.push(0);
    head
}

/// `OpusTags` (RFC 7845 §5.2): the vendor string and one comment naming the app.
fn opus_tags() -> Vec<u8> {
    let vendor = opus::version().as_bytes();
    let comment = b"ENCODER=Jeco Chat";
    let mut tags = Vec::with_capacity(8 + 4 + vendor.len() + 4 + 4 + comment.len());
    tags.extend_from_slice(b"OpusTags");
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&1u32.to_le_bytes());
    tags.extend_from_slice(&(comment.len() as u32).to_le_bytes());
    tags.extend_from_slice(comment);
    tags
}

/// What the headers of an Ogg Opus file say, and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusInfo {
    pub channels: u8,
    pub pre_skip: u16,
    /// Playable samples at 48 kHz (the last granule minus the pre-skip).
    pub samples: u64,
}

impl OpusInfo {
    pub fn duration_ms(&self) -> u32 {
        // A file's granule can say anything (up to 2^64 − 1): no overflow, the longest is u32::MAX.
        u32::try_from(u128::from(self.samples) * 1000 / u128::from(SAMPLE_RATE)).unwrap_or(u32::MAX)
    }
}

fn parse_head(packet: &[u8]) -> Result<(u8, u16), VoiceError> {
    if packet.len() < 19 || &packet[..8] != b"OpusHead" {
        return Err(decode_err("not an Ogg Opus stream (no OpusHead)"));
    }
    if packet[8] & 0xf0 != 0 {
        return Err(decode_err(format!(
            "unsupported Opus version {}",
            packet[8]
        )));
    }
    let channels = packet[9];
    if packet[18] != 0 || !(1..=2).contains(&channels) {
        return Err(decode_err("only mono and stereo Opus are supported"));
    }
    Ok((channels, u16::from_le_bytes([packet[10], packet[11]])))
}

/// Reads the headers and the last granule position without decoding anything.
pub fn probe(bytes: &[u8]) -> Result<OpusInfo, VoiceError> {
    let mut reader = PacketReader::new(Cursor::new(bytes));
    let head = reader
        .read_packet()
        .map_err(decode_err)?
        .ok_or_else(|| decode_err("empty file"))?;
    let (channels, pre_skip) = parse_head(&head.data)?;
    let mut last_granule = 0u64;
    while let Some(packet) = reader.read_packet().map_err(decode_err)? {
        // A granule of −1 (all ones) means "no packet ends on this page" (RFC 3533), not a length.
        if packet.stream_serial() == head.stream_serial()
            && packet.last_in_page()
            && packet.absgp_page() != u64::MAX
        {
            last_granule = packet.absgp_page();
        }
    }
    Ok(OpusInfo {
        channels,
        pre_skip,
        samples: last_granule.saturating_sub(u64::from(pre_skip)),
    })
}

/// Decodes an Ogg Opus file packet by packet into mono 48 kHz samples, with the pre-skip and
/// the end trimming applied. Memory stays at one packet's worth, whatever the file's length.
pub struct OggOpusDecoder<B: AsRef<[u8]>> {
    reader: PacketReader<Cursor<B>>,
    decoder: opus::Decoder,
    info: OpusInfo,
    serial: u32,
    skip: usize,
    produced: u64,
    buf: Vec<f32>,
}

impl<B: AsRef<[u8]>> OggOpusDecoder<B> {
    pub fn new(bytes: B) -> Result<Self, VoiceError> {
        let info = probe(bytes.as_ref())?;
        let mut reader = PacketReader::new(Cursor::new(bytes));
        let head = reader
            .read_packet()
            .map_err(decode_err)?
            .ok_or_else(|| decode_err("empty file"))?;
        let tags = reader
            .read_packet()
            .map_err(decode_err)?
            .ok_or_else(|| decode_err("no OpusTags"))?;
        if !tags.data.starts_with(b"OpusTags") {
            return Err(decode_err("no OpusTags"));
        }
        let channels = if info.channels == 2 {
            opus::Channels::Stereo
        } else {
            opus::Channels::Mono
        };
        Ok(Self {
            reader,
            decoder: opus::Decoder::new(SAMPLE_RATE, channels).map_err(decode_err)?,
            info,
            serial: head.stream_serial(),
            skip: usize::from(info.pre_skip),
            produced: 0,
            buf: vec![0.0; MAX_FRAME_DECODED * usize::from(info.channels)],
        })
    }

    pub fn info(&self) -> OpusInfo {
        self.info
    }

    /// The next decoded samples (mono), or `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, VoiceError> {
        loop {
            if self.produced >= self.info.samples {
                return Ok(None);
            }
            let Some(packet) = self.reader.read_packet().map_err(decode_err)? else {
                return Ok(None);
            };
            if packet.stream_serial() != self.serial {
                continue;
            }
            let frames = self
                .decoder
                .decode_float(&packet.data, &mut self.buf, false)
                .map_err(decode_err)?;
            let channels = usize::from(self.info.channels);
            let mut mono: Vec<f32> = self.buf[..frames * channels]
                .chunks_exact(channels)
                .map(|frame| frame.iter().sum::<f32>() / channels as f32)
                .collect();
            let skip = self.skip.min(mono.len());
            self.skip -= skip;
            mono.drain(..skip);
            let left = self.info.samples - self.produced;
            mono.truncate(usize::try_from(left).unwrap_or(usize::MAX));
            self.produced += mono.len() as u64;
            if !mono.is_empty() {
                return Ok(Some(mono));
            }
        }
    }
}

/// The `ogg_opus` fuzz target (`fuzz/`): reading a voice note someone sent never panics, and
/// decoding produces no more samples than its headers announce, in chunks no larger than a packet.
#[cfg(any(test, fuzzing))]
pub fn fuzz_ogg_opus(data: &[u8]) {
    let Ok(info) = probe(data) else {
        return;
    };
    let _ = info.duration_ms();
    let Ok(mut decoder) = OggOpusDecoder::new(data) else {
        return;
    };
    let mut produced = 0u64;
    while let Ok(Some(chunk)) = decoder.next_chunk() {
        assert!(chunk.len() <= MAX_FRAME_DECODED, "{} samples", chunk.len());
        produced += chunk.len() as u64;
    }
    assert!(produced <= info.samples, "{produced} > {}", info.samples);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_corpus_and_regressions_replay() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let mut cases = 0;
        for dir in ["corpus/ogg_opus", "regressions/ogg_opus"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for e in entries.flatten() {
                let data = std::fs::read(e.path()).unwrap();
                let caught = std::panic::catch_unwind(|| fuzz_ogg_opus(&data));
                assert!(caught.is_ok(), "{} fails", e.path().display());
                cases += 1;
            }
        }
        assert!(cases > 0, "no seed corpus in fuzz/corpus/ogg_opus");
    }

    fn tone(samples: usize) -> Vec<f32> {
        (0..samples)
            .map(|i| {
                let t = i as f32 / SAMPLE_RATE as f32;
                0.5 * (t * 440.0 * std::f32::consts::TAU).sin()
            })
            .collect()
    }

    #[test]
    fn round_trip_keeps_the_exact_length_and_the_signal() {
        // 1.234 s: not a whole number of frames, so padding and end trimming both matter.
        let input = tone(59_232);
        let mut encoder = OggOpusEncoder::new().unwrap();
        for chunk in input.chunks(1000) {
            encoder.push(chunk).unwrap();
        }
        let (ogg, samples) = encoder.finish().unwrap();
        assert_eq!(samples, 59_232);
        assert!(ogg.starts_with(b"OggS"));
        assert_eq!(&ogg[28..36], b"OpusHead", "OpusHead opens the first page");
        // 24 kbit/s: ~3.7 KB for 1.2 s (plus headers), far below the 237 KB of raw 16-bit PCM.
        assert!(ogg.len() < 8_000, "{} bytes", ogg.len());

        let info = probe(&ogg).unwrap();
        assert_eq!(info.samples, 59_232);
        assert_eq!(info.channels, 1);
        assert!(info.pre_skip > 0);
        assert_eq!(info.duration_ms(), 1234);

        let mut decoder = OggOpusDecoder::new(&ogg[..]).unwrap();
        let mut out = Vec::new();
        while let Some(chunk) = decoder.next_chunk().unwrap() {
            out.extend(chunk);
        }
        assert_eq!(out.len(), input.len());
        let rms = |s: &[f32]| (s.iter().map(|x| x * x).sum::<f32>() / s.len() as f32).sqrt();
        let (a, b) = (rms(&input[4800..54_000]), rms(&out[4800..54_000]));
        assert!((a - b).abs() < 0.1 * a, "loudness kept: {a} vs {b}");
    }

    #[test]
    fn rejects_what_is_not_ogg_opus() {
        assert!(probe(b"not audio at all").is_err());
        assert!(matches!(
            OggOpusEncoder::new().unwrap().finish(),
            Err(VoiceError::Empty)
        ));
    }
}
