//! The desktop app's voice-note reader (`src-tauri/src/voice/`): the Ogg/Opus file reader and the
//! small format module it depends on, compiled here from their source files without the app
//! (Tauri, audio devices). libopus is the system's, through the same `opus` crate.

/// `src-tauri/src/voice/format.rs`: sample rate, frame size, errors.
#[path = "../../src-tauri/src/voice/format.rs"]
pub mod format;

/// `src-tauri/src/voice/ogg_opus.rs`: the Ogg Opus writer and reader.
#[path = "../../src-tauri/src/voice/ogg_opus.rs"]
pub mod ogg_opus;
