//! Voice notes: recorded from the microphone, encoded as Opus in Ogg, played back inline.
//!
//! - [`capture`] opens the default input device with cpal and runs the recording on a thread of
//!   its own (never the UI thread): whatever the device gives — any sample format, rate or
//!   channel count — becomes mono 48 kHz, is measured for the level meter (`level` events, at most
//!   ~20 a second) and encoded as it arrives, so a long note never sits in memory as raw samples.
//!   It stops by itself at [`MAX_DURATION_MS`].
//! - [`ogg_opus`] writes and reads Ogg Opus (RFC 7845: `OpusHead`, `OpusTags`, granule positions
//!   in 48 kHz samples, pre-skip and end trimming) with libopus through the `opus` crate and the
//!   `ogg` crate's container, so any player accepts the files.
//! - [`format`] holds what the reader and the rest share and nothing that needs a device or
//!   Tauri (the sample rate, the frame size, the errors), so the fuzz build (`fuzz/`) compiles
//!   [`ogg_opus`] with it alone.
//! - [`waveform`] turns the recording's loudness into the ≤ 256 peaks the wire type carries.
//! - [`playback`] plays a note through rodio, decoding it with the same `opus` crate, and reports
//!   progress (`playback` events, ~10 a second).
//!
//! **Why playback runs in Rust, not in an `<audio>` element:** WebKitGTK plays media through
//! GStreamer, whose Ogg/Opus demuxer, decoder and audio sink are separate, optional distribution
//! packages (absent on minimal systems and in this project's headless test machines), and it
//! gives no control over which output device is used. Decoding with the libopus the app already
//! links and playing through rodio (the same ALSA/CoreAudio/WASAPI path as capture) works wherever
//! recording works, and the test suite drives it for real through ALSA's null device.

pub mod capture;
pub mod format;
pub mod ogg_opus;
pub mod playback;
pub mod waveform;

pub use format::{FRAME_SAMPLES, SAMPLE_RATE, VoiceError};

use jeco_shared::AttachmentId;
use serde::Serialize;
use std::sync::Arc;

/// Longest recording; capture stops by itself here.
pub const MAX_DURATION_MS: u32 = 5 * 60 * 1000;
/// The Tauri event name the UI listens to.
pub const VOICE_EVENT: &str = "voice-event";

/// What the voice module tells the UI as it happens.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VoiceEvent {
    /// The microphone's loudness since the last event (0–1), and how much is recorded.
    Level {
        peak: f32,
        rms: f32,
        elapsed_ms: u32,
    },
    /// The recording stopped by itself (maximum length, or the device failed); what was recorded
    /// up to then can still be sent.
    RecordingStopped {
        reason: StopReason,
        elapsed_ms: u32,
        #[ts(optional)]
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Playback of a voice note moved (or started, paused, ended).
    Playback {
        attachment_id: AttachmentId,
        position_ms: u32,
        duration_ms: u32,
        playing: bool,
    },
}

/// Why a recording stopped without being asked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    MaxLength,
    DeviceError,
}

/// Where the voice module sends its events (the Tauri app in production, a channel in tests).
pub type EventSink = Arc<dyn Fn(VoiceEvent) + Send + Sync>;

/// A finished recording: the Ogg Opus file's bytes and what the wire type carries with it.
#[derive(Debug, Clone)]
pub struct VoiceNote {
    pub ogg: Vec<u8>,
    pub duration_ms: u32,
    /// Loudness peaks 0–255, at most [`jeco_shared::media::WAVEFORM_PEAKS_MAX`].
    pub waveform: Vec<u8>,
}

impl From<VoiceError> for crate::error::CommandError {
    fn from(error: VoiceError) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

/// The app's voice state: at most one recording and one playback at a time.
#[derive(Default)]
pub struct VoiceState {
    pub recorder: std::sync::Mutex<Option<capture::Recording>>,
    pub player: playback::Player,
}
