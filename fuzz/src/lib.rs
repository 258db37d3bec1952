//! The code under fuzzing. Protocol types come from `jeco-shared` (its `fuzz` module, compiled
//! with `--cfg fuzzing`); the server's pure parsing modules are compiled in here from their source
//! files, so the fuzz build does not pull in the whole server (HTTP, SQLite, object stores).
//! Each module holds its own target body (`fuzz_*`, `#[cfg(any(test, fuzzing))]`), which its
//! unit tests also run over `corpus/` and `regressions/`.

#![allow(dead_code)]

/// `server/src/gateway/frames.rs`: the gateway's frame decoder.
#[path = "../../server/src/gateway/frames.rs"]
pub mod frames;

/// `server/src/services/media/images.rs`: the bounded image decoder.
#[path = "../../server/src/services/media/images.rs"]
pub mod images;

/// `server/src/names.rs`: name cleaning, look-alike keys, the emoji check.
#[path = "../../server/src/names.rs"]
pub mod names;

/// `server/src/search_query.rs`: the search query language and its FTS5 rendering.
#[path = "../../server/src/search_query.rs"]
pub mod search_query;

/// The desktop app's Ogg/Opus voice-note reader (see `voice.rs`).
pub mod voice;
