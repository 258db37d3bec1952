//! What every part of voice notes agrees on, with no device, Tauri or UI in it: the format
//! (48 kHz mono, 20 ms frames) and the errors. Kept apart so that the Ogg/Opus reader, which reads
//! files other people sent, can be compiled into the fuzz targets (`fuzz/src/voice.rs`) alone.

/// Every voice note is 48 kHz mono: Opus's native rate, so nothing is resampled twice.
pub const SAMPLE_RATE: u32 = 48_000;
/// Opus frames of 20 ms (the codec's sweet spot for speech).
pub const FRAME_SAMPLES: usize = (SAMPLE_RATE as usize) / 50;

/// A voice failure, each with the code the UI switches on.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error("No microphone was found.")]
    NoInputDevice,
    #[error("The microphone cannot be opened: {0}")]
    InputUnavailable(String),
    #[error("No speaker or headphones can be opened: {0}")]
    OutputUnavailable(String),
    #[error("A recording is already running.")]
    AlreadyRecording,
    #[error("Nothing is being recorded.")]
    NotRecording,
    #[error("Nothing was recorded.")]
    Empty,
    #[error("Cannot encode the voice note: {0}")]
    Encode(String),
    #[error("This voice note cannot be read: {0}")]
    Decode(String),
}

impl VoiceError {
    /// The `code` of the `{code, message}` the UI receives.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoInputDevice => "no_microphone",
            Self::InputUnavailable(_) => "microphone_unavailable",
            Self::OutputUnavailable(_) => "audio_output_unavailable",
            Self::AlreadyRecording => "already_recording",
            Self::NotRecording => "not_recording",
            Self::Empty => "recording_empty",
            Self::Encode(_) => "voice_encode_failed",
            Self::Decode(_) => "voice_decode_failed",
        }
    }
}
