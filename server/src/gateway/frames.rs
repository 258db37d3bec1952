//! Reading client frames and writing server frames.
//!
//! Parsing goes through `serde_json::Value` first so the three ways a frame can be wrong get three
//! answers: not JSON at all (`malformed_frame`), a `type` the server does not know (`unknown_frame`,
//! so newer clients can probe), or a known type with bad fields (`malformed_frame` naming the type).

use axum::extract::ws::Message;
use jeco_shared::ErrorCode;
use jeco_shared::ws::{ClientFrame, ServerFrame};

/// Every `type` of [`ClientFrame`]. A test checks it against the enum.
const KNOWN_TYPES: &[&str] = &[
    "hello",
    "ping",
    "send",
    "typing",
    "mark_read",
    "set_presence",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
    /// The frame's `type`, when it could be read.
    pub frame: Option<String>,
}

impl FrameError {
    pub fn to_frame(&self) -> ServerFrame {
        ServerFrame::Error {
            code: self.code,
            message: self.message.clone(),
            frame: self.frame.clone(),
            client_id: None,
        }
    }
}

pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
    // The heartbeat is most of what an idle connection sends: read it without serde.
    if let Some(nonce) = parse_ping(text) {
        return Ok(ClientFrame::Ping { nonce });
    }
    // Fast path for the frames that are fine: straight into the enum. Only a
    // refused frame takes the slower path through `Value`, which can name what is wrong with it.
    if let Ok(frame) = serde_json::from_str(text) {
        return Ok(frame);
    }
    let malformed = |frame: Option<String>, message: String| FrameError {
        code: ErrorCode::MalformedFrame,
        message,
        frame,
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| malformed(None, format!("not valid JSON: {e}")))?;
    let Some(ty) = value
        .get("type")
        .and_then(|t| t.as_str())
        .map(str::to_owned)
    else {
        return Err(malformed(
            None,
            "a frame is a JSON object with a string \"type\"".into(),
        ));
    };
    if !KNOWN_TYPES.contains(&ty.as_str()) {
        return Err(FrameError {
            code: ErrorCode::UnknownFrame,
            message: format!("unknown frame type {ty:?}"),
            frame: Some(ty),
        });
    }
    serde_json::from_value(value)
        .map_err(|e| malformed(Some(ty.clone()), format!("bad {ty} frame: {e}")))
}

/// The nonce of a heartbeat exactly as clients serialize it (`{"type":"ping","nonce":N}`, no
/// spaces), or `None` for anything else — which then takes the general path, so a ping written
/// differently still works.
fn parse_ping(text: &str) -> Option<u64> {
    let digits = text
        .strip_prefix(r#"{"type":"ping","nonce":"#)?
        .strip_suffix('}')?;
    // JSON numbers have no sign and no leading zeros; `u64::from_str` would accept `+1` and `01`.
    let plain = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 1 || !digits.starts_with('0'));
    if plain { digits.parse().ok() } else { None }
}

/// Encodes a server frame as a text message.
pub fn encode(frame: &ServerFrame) -> Message {
    Message::text(to_json(frame))
}

/// A server frame's JSON. Serializing our own types of strings and numbers cannot fail.
///
/// The buffer starts near the frame's usual size: from `serde_json::to_string`'s 128 bytes, a
/// message event or a send's ack (each carries the whole message, ~400–600 bytes) grew by
/// doubling, each step a copy, twice per message on the send path (visible in the `durable`
/// profile, BENCHMARKS.md).
pub fn to_json(frame: &ServerFrame) -> String {
    let capacity = match frame {
        ServerFrame::Event(_) | ServerFrame::Ack { .. } => 768,
        _ => 256,
    };
    let mut out = Vec::with_capacity(capacity);
    if serde_json::to_writer(&mut out, frame).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The `type` of a client frame, for error frames and logs.
pub fn frame_type(frame: &ClientFrame) -> &'static str {
    match frame {
        ClientFrame::Hello { .. } => "hello",
        ClientFrame::Ping { .. } => "ping",
        ClientFrame::Send { .. } => "send",
        ClientFrame::Typing { .. } => "typing",
        ClientFrame::MarkRead { .. } => "mark_read",
        ClientFrame::SetPresence { .. } => "set_presence",
    }
}

/// The `client_frame` fuzz target (`fuzz/`): any text is a frame or a typed error, never a
/// panic; the heartbeat fast path agrees with serde; an accepted frame survives a round trip.
#[cfg(any(test, fuzzing))]
pub fn fuzz_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(nonce) = parse_ping(text) {
        let serde: ClientFrame = serde_json::from_str(text).expect("a fast-path ping is JSON");
        assert_eq!(serde, ClientFrame::Ping { nonce });
    }
    if let Ok(frame) = parse(text) {
        let again = serde_json::to_string(&frame).expect("a frame encodes");
        assert_eq!(parse(&again), Ok(frame));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_corpus_and_regressions_replay() {
        crate::fuzz_cases::replay("client_frame", fuzz_parse);
    }

    #[test]
    fn known_types_match_the_protocol_enum() {
        let samples = [
            ClientFrame::Hello {
                protocol: "1.0".into(),
                token: None,
                client: None,
                resume: None,
            },
            ClientFrame::Ping { nonce: 1 },
            ClientFrame::Send {
                conversation_id: jeco_shared::ConversationId(1),
                client_id: "c".into(),
                text: "t".into(),
                reply_to: None,
                thread_only: false,
                attachment_ids: vec![],
            },
            ClientFrame::Typing {
                conversation_id: jeco_shared::ConversationId(1),
                active: true,
            },
            ClientFrame::MarkRead {
                conversation_id: jeco_shared::ConversationId(1),
                seq: 1,
            },
            ClientFrame::SetPresence {
                status: jeco_shared::events::PresenceStatus::Away,
            },
        ];
        assert_eq!(samples.len(), KNOWN_TYPES.len());
        for f in samples {
            let json = serde_json::to_string(&f).unwrap();
            assert!(KNOWN_TYPES.contains(&frame_type(&f)));
            assert_eq!(parse(&json).unwrap(), f);
        }
    }

    #[test]
    fn the_ping_fast_path_agrees_with_serde() {
        for text in [
            r#"{"type":"ping","nonce":0}"#,
            r#"{"type":"ping","nonce":7}"#,
            r#"{"type":"ping","nonce":18446744073709551615}"#,
            r#"{"type":"ping","nonce":18446744073709551616}"#,
            r#"{"type":"ping","nonce":01}"#,
            r#"{"type":"ping","nonce":+1}"#,
            r#"{"type":"ping","nonce":-1}"#,
            r#"{"type":"ping","nonce":}"#,
            r#"{"type":"ping","nonce":1.5}"#,
            r#"{"type":"ping","nonce":1e3}"#,
            r#"{"type":"ping","nonce":"1"}"#,
            r#"{"type":"ping", "nonce": 3}"#,
            r#"{"nonce":4,"type":"ping"}"#,
        ] {
            let serde: Result<ClientFrame, _> = serde_json::from_str(text);
            if let Some(nonce) = parse_ping(text) {
                assert_eq!(
                    serde.as_ref().ok(),
                    Some(&ClientFrame::Ping { nonce }),
                    "{text}"
                );
            }
            assert_eq!(parse(text).ok(), serde.ok(), "{text}");
        }
        assert_eq!(parse_ping(r#"{"type":"ping","nonce":42}"#), Some(42));
        // Serialized by the protocol crate exactly as the fast path expects.
        let ping = serde_json::to_string(&ClientFrame::Ping { nonce: 9 }).unwrap();
        assert_eq!(parse_ping(&ping), Some(9));
    }

    #[test]
    fn three_kinds_of_bad_frames() {
        let e = parse("{not json").unwrap_err();
        assert_eq!((e.code, e.frame), (ErrorCode::MalformedFrame, None));
        let e = parse(r#"{"nonce": 1}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::MalformedFrame);
        let e = parse(r#"{"type": "teleport"}"#).unwrap_err();
        assert_eq!(
            (e.code, e.frame.as_deref()),
            (ErrorCode::UnknownFrame, Some("teleport"))
        );
        let e = parse(r#"{"type": "ping", "nonce": "x"}"#).unwrap_err();
        assert_eq!(
            (e.code, e.frame.as_deref()),
            (ErrorCode::MalformedFrame, Some("ping"))
        );
    }
}
