//! Entry points of the coverage-guided fuzz targets in `fuzz/` (built with `--cfg fuzzing`), and a
//! test that replays their seed corpus and every crash they ever found, so a plain `cargo test`
//! keeps those cases fixed. See `fuzz/README.md`.
//!
//! The property is the protocol's: whatever bytes arrive, decoding answers `Ok` or `Err` and never
//! panics, and what decodes re-encodes to something that decodes to the same value (the wire
//! format loses nothing a client sent).

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

fn round_trip<T: DeserializeOwned + Serialize + PartialEq + Debug>(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let again = serde_json::to_vec(&value).expect("a decoded value encodes");
    let back: T = serde_json::from_slice(&again).expect("what we encode decodes");
    assert_eq!(back, value, "the round trip changed the value");
}

/// `fuzz/fuzz_targets/client_frame.rs`: a WebSocket frame from a client.
pub fn client_frame(data: &[u8]) {
    round_trip::<crate::ws::ClientFrame>(data);
}

/// `fuzz/fuzz_targets/request_bodies.rs`: every JSON request body of the REST API.
pub fn request_bodies(data: &[u8]) {
    use crate::{account::*, auth::*, contacts::*, conversations::*, media::*, messages::*};
    use crate::{notifications::*, teams::*, users::*};
    round_trip::<RegisterRequest>(data);
    round_trip::<LoginRequest>(data);
    round_trip::<RefreshRequest>(data);
    round_trip::<UpdateProfileRequest>(data);
    round_trip::<CreateGroupRequest>(data);
    round_trip::<AddMembersRequest>(data);
    round_trip::<OpenDirectRequest>(data);
    round_trip::<UpdateConversationRequest>(data);
    round_trip::<MarkReadRequest>(data);
    round_trip::<SendMessageRequest>(data);
    round_trip::<EditMessageRequest>(data);
    round_trip::<ReactionRequest>(data);
    round_trip::<TeamNameRequest>(data);
    round_trip::<CreateChannelRequest>(data);
    round_trip::<AddTeamMemberRequest>(data);
    round_trip::<UpdateTeamMemberRequest>(data);
    round_trip::<TransferOwnershipRequest>(data);
    round_trip::<CreateInviteRequest>(data);
    round_trip::<JoinInviteRequest>(data);
    round_trip::<SendContactRequest>(data);
    round_trip::<MuteRequest>(data);
    round_trip::<CreateUploadRequest>(data);
    round_trip::<SetEmailRequest>(data);
    round_trip::<VerifyEmailRequest>(data);
    round_trip::<ChangePasswordRequest>(data);
    round_trip::<PasswordResetRequest>(data);
    round_trip::<ConfirmPasswordResetRequest>(data);
}

/// Every file under `fuzz/corpus/<target>` and `fuzz/regressions/<target>`.
#[cfg(test)]
pub(crate) fn cases(target: &str) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            out.push((e.path(), std::fs::read(e.path()).unwrap()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_corpus_and_regressions_replay() {
        for (target, run) in [
            ("client_frame", client_frame as fn(&[u8])),
            ("request_bodies", request_bodies),
        ] {
            let cases = cases(target);
            assert!(!cases.is_empty(), "no seed corpus for {target}");
            for (path, data) in cases {
                let caught = std::panic::catch_unwind(|| run(&data));
                assert!(caught.is_ok(), "{target}: {} panics", path.display());
            }
        }
    }
}
