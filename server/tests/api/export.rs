//! "Export my data" (`GET /api/v1/users/me/export`): the zip holds exactly the caller's own
//! messages (in a channel, a direct conversation and a thread), their files byte for byte and
//! their profile — nobody else's — the export is limited to one at a time and a few an hour, and
//! the log says nothing of what it held.

use crate::support::*;
use jeco_shared::export::{ExportProfile, ExportedMessage};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::io::Read;

const EXPORT: &str = "/api/v1/users/me/export";

/// Deterministic bytes that do not compress.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Uploads `bytes` as a file in one chunk; returns the attachment.
async fn upload(s: &TestServer, token: &str, name: &str, bytes: &[u8]) -> Value {
    let u = s
        .ok(
            Method::POST,
            "/api/v1/uploads",
            Some(json!({"name": name, "size": bytes.len(), "kind": "file"})),
            token,
            201,
        )
        .await;
    let r = s
        .http()
        .patch(s.url(&format!("/api/v1/uploads/{}", u["id"].as_str().unwrap())))
        .bearer_auth(token)
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let done: Value = r.json().await.unwrap();
    done["attachment"].clone()
}

async fn export(s: &TestServer, token: &str) -> zip::ZipArchive<std::io::Cursor<Vec<u8>>> {
    let r = s.get(EXPORT, Some(token)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let bytes = r.bytes().await.unwrap().to_vec();
    zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip")
}

fn entry(zip: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    zip.by_name(name)
        .unwrap_or_else(|_| panic!("{name} is in the zip"))
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn the_zip_holds_exactly_my_messages_files_and_profile() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    let (team, general) = team(&s, a, "Acme").await;
    add_to_team(&s, a, team, bob.user.id.0, "member").await;
    let msgs = |c: i64| format!("/api/v1/conversations/{c}/messages");

    // In the channel: alice's own message (edited, with her reaction), bob's message, and
    // alice's thread-only reply to bob's.
    let mine = s.say(a, general, "a1", "hello channel").await;
    let mine_id = mine["id"].as_i64().unwrap();
    s.ok(
        Method::PATCH,
        &format!("{}/{mine_id}", msgs(general)),
        Some(json!({"text": "hello channel, edited"})),
        a,
        200,
    )
    .await;
    s.ok(
        Method::POST,
        &format!("{}/{mine_id}/reactions", msgs(general)),
        Some(json!({"emoji": "👍"})),
        a,
        200,
    )
    .await;
    let bobs = s.say(b, general, "b1", "bob's own words").await;
    let bobs_id = bobs["id"].as_i64().unwrap();
    let reply = s
        .ok(
            Method::POST,
            &msgs(general),
            Some(json!({"client_id": "a2", "text": "a thread reply", "reply_to": bobs_id, "thread_only": true})),
            a,
            201,
        )
        .await;
    // A message alice deleted is not hers to export any more.
    let gone = s.say(a, general, "a3", "deleted words").await;
    s.ok(
        Method::DELETE,
        &format!("{}/{}", msgs(general), gone["id"]),
        None,
        a,
        204,
    )
    .await;

    // A direct conversation, with a file.
    let dm = s
        .ok(
            Method::POST,
            "/api/v1/conversations/direct",
            Some(json!({"user_id": bob.user.id.0})),
            a,
            201,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let file_bytes = noise(50_000, 7);
    let file = upload(&s, a, "../report?.pdf", &file_bytes).await;
    let with_file = s
        .ok(
            Method::POST,
            &msgs(dm),
            Some(
                json!({"client_id": "a4", "text": "see attached", "attachment_ids": [file["id"]]}),
            ),
            a,
            201,
        )
        .await;
    s.say(b, dm, "b2", "bob replies directly").await;
    // Bob's file is not alice's.
    let bob_file = upload(&s, b, "bob.bin", &noise(1000, 9)).await;
    s.ok(
        Method::POST,
        &msgs(dm),
        Some(json!({"client_id": "b3", "text": "", "attachment_ids": [bob_file["id"]]})),
        b,
        201,
    )
    .await;

    let mut zip = export(&s, a).await;
    let names: BTreeSet<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    // The server keeps the last part of the name; the zip makes it safe for a path.
    assert_eq!(file["name"], "report?.pdf");
    let file_entry = format!("files/{}-report_.pdf", file["id"]);
    assert_eq!(
        names,
        BTreeSet::from([
            "profile.json".to_owned(),
            "messages.json".to_owned(),
            file_entry.clone()
        ])
    );

    let profile: ExportProfile = serde_json::from_slice(&entry(&mut zip, "profile.json")).unwrap();
    assert_eq!(profile.user.id, alice.user.id);
    assert_eq!(profile.user.username, "alice");
    assert_eq!(profile.email, None);

    let messages: Vec<ExportedMessage> =
        serde_json::from_slice(&entry(&mut zip, "messages.json")).unwrap();
    let bodies: Vec<&str> = messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(
        bodies,
        ["hello channel, edited", "a thread reply", "see attached"],
        "alice's live messages, oldest first, and nobody else's"
    );
    let (channel_msg, thread_msg, dm_msg) = (&messages[0], &messages[1], &messages[2]);
    assert_eq!(channel_msg.id.0, mine_id);
    assert_eq!(channel_msg.conversation_id.0, general);
    assert_eq!(
        serde_json::to_value(channel_msg.conversation_kind).unwrap(),
        "channel"
    );
    assert_eq!(channel_msg.conversation_name.as_deref(), Some("general"));
    assert!(channel_msg.edited_at.is_some());
    assert_eq!(channel_msg.my_reactions, ["👍"]);
    assert_eq!(thread_msg.id.0, reply["id"].as_i64().unwrap());
    assert_eq!(thread_msg.thread_parent.map(|p| p.0), Some(bobs_id));
    assert_eq!(dm_msg.id.0, with_file["id"].as_i64().unwrap());
    assert_eq!(
        serde_json::to_value(dm_msg.conversation_kind).unwrap(),
        "direct"
    );
    assert_eq!(dm_msg.conversation_name, None);
    assert_eq!(dm_msg.attachments.len(), 1);
    assert_eq!(dm_msg.attachments[0].name, "report?.pdf");
    assert_eq!(dm_msg.attachments[0].size, file_bytes.len() as u64);
    assert_eq!(dm_msg.attachments[0].path, file_entry);
    assert_eq!(entry(&mut zip, &file_entry), file_bytes, "the file's bytes");

    // Bob's export has his messages, his file and his picture, none of alice's.
    let picture = {
        let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            32,
            32,
            image::Rgb([10, 120, 200]),
        ));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    let r = s
        .http()
        .put(s.url("/api/v1/users/me/avatar"))
        .bearer_auth(b)
        .body(picture)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let served = s
        .get(&format!("/api/v1/users/{}/avatar", bob.user.id.0), Some(b))
        .await
        .bytes()
        .await
        .unwrap();
    let mut zip = export(&s, b).await;
    assert_eq!(
        entry(&mut zip, "avatar"),
        served.to_vec(),
        "the stored picture"
    );
    let messages: Vec<ExportedMessage> =
        serde_json::from_slice(&entry(&mut zip, "messages.json")).unwrap();
    let bodies: Vec<&str> = messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["bob's own words", "bob replies directly", ""]);
    assert_eq!(
        entry(&mut zip, &format!("files/{}-bob.bin", bob_file["id"])),
        noise(1000, 9)
    );
    assert_eq!(zip.len(), 4);
}

#[tokio::test]
async fn export_needs_a_token() {
    let s = TestServer::start().await;
    expect_error(s.get(EXPORT, None).await, 401, "unauthorized").await;
    expect_error(
        s.get(EXPORT, Some("not-a-token")).await,
        401,
        "token_invalid",
    )
    .await;
}

#[tokio::test]
async fn one_export_at_a_time_and_three_an_hour() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let a = alice.access_token.as_str();
    let g = s.group(a, "G", &[]).await;
    // Big enough that the download cannot sit whole in socket buffers: the first export is
    // still being downloaded while the second is asked for.
    let big = noise(24 * 1024 * 1024, 3);
    let file = upload(&s, a, "big.bin", &big).await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{g}/messages"),
        Some(json!({"client_id": "c1", "text": "big", "attachment_ids": [file["id"]]})),
        a,
        201,
    )
    .await;

    let first = s.get(EXPORT, Some(a)).await;
    assert_eq!(first.status(), 200);
    let length: u64 = first.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(length > big.len() as u64);
    let body = expect_error(s.get(EXPORT, Some(a)).await, 409, "conflict").await;
    assert!(body.error.message.contains("already"), "{body:?}");
    // Someone else's export is not held up.
    let bob = s.register("bob").await;
    assert_eq!(s.get(EXPORT, Some(&bob.access_token)).await.status(), 200);

    // Once the first download ends, the next export may start.
    let bytes = first.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, length);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(
        entry(&mut zip, &format!("files/{}-big.bin", file["id"])),
        big
    );
    let mut second = None;
    for _ in 0..50 {
        let r = s.get(EXPORT, Some(a)).await;
        if r.status() != 409 {
            second = Some(r);
            break;
        }
        // The server drops the finished download's stream a moment after the last byte.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let second = second.expect("the export is no longer running");
    assert_eq!(second.status(), 200);
    second.bytes().await.unwrap();
    let mut third = None;
    for _ in 0..50 {
        let r = s.get(EXPORT, Some(a)).await;
        if r.status() != 409 {
            third = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let third = third.expect("the export is no longer running");
    assert_eq!(third.status(), 200);
    third.bytes().await.unwrap();

    // The fourth within the hour is refused, with when to come back.
    let mut fourth = s.get(EXPORT, Some(a)).await;
    for _ in 0..50 {
        if fourth.status() != 409 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        fourth = s.get(EXPORT, Some(a)).await;
    }
    let retry_after: u64 = fourth.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0);
    expect_error(fourth, 429, "rate_limited").await;
}

/// The real binary's log at `debug` while an export is made and downloaded: the request is there,
/// nothing of what the zip holds is (the message, the file's name and bytes, the email address).
#[tokio::test]
async fn the_log_says_nothing_of_what_was_exported() {
    let tmp = tempfile::tempdir().unwrap();
    let log_path = tmp.path().join("stderr.log");
    let mut cmd = server_binary();
    cmd.env("RUST_LOG", "debug");
    let (child, s) = spawn_binary(cmd, &[], &tmp.path().join("data"), &log_path).await;

    let alice = s.register("alice").await;
    let a = alice.access_token.as_str();
    let g = s.group(a, "G", &[]).await;
    let private_words = "quinceharmonica private words";
    let file_name = "zeppelinmarzipan.txt";
    let file_bytes = b"tangerinecathedral file bytes";
    let file = upload(&s, a, file_name, file_bytes).await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{g}/messages"),
        Some(json!({"client_id": "c1", "text": private_words, "attachment_ids": [file["id"]]})),
        a,
        201,
    )
    .await;
    let mut zip = export(&s, a).await;
    let messages: Vec<ExportedMessage> =
        serde_json::from_slice(&entry(&mut zip, "messages.json")).unwrap();
    assert_eq!(messages[0].body, private_words);

    stop_binary(child).await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("/api/v1/users/me/export"), "{log}");
    for private in ["quinceharmonica", "zeppelinmarzipan", "tangerinecathedral"] {
        assert!(!log.contains(private), "the log holds {private:?}:\n{log}");
    }
}
