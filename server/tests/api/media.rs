//! Media: resumable uploads with a size limit, type detection from the bytes, deduplication,
//! attachments on messages, access control on downloads (token and signed URLs), ranges, caching
//! headers, thumbnails with EXIF orientation, avatars, expiry and deletion — and the S3 backend
//! against a real S3-compatible server (moto) when one can be started.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    }));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A JPEG whose pixels are `w`×`h` with an EXIF orientation tag of 6 ("rotate 90° clockwise"), so
/// it is meant to be seen as `h`×`w`.
fn jpeg_rotated(w: u32, h: u32) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        w,
        h,
        image::Rgb([200, 10, 10]),
    ));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    let jpeg = out.into_inner();
    let mut tiff = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&[0, 1]); // one IFD entry
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]); // Orientation = 6
    tiff.extend_from_slice(&[0, 0, 0, 0]); // no next IFD
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((tiff.len() + 2) as u16).to_be_bytes());
    app1.extend_from_slice(&tiff);
    let mut with_exif = jpeg[..2].to_vec();
    with_exif.extend_from_slice(&app1);
    with_exif.extend_from_slice(&jpeg[2..]);
    with_exif
}

/// A real decompression bomb: a valid PNG of `w`×`h` 16-bit RGBA, all transparent black, whose
/// zlib stream is written by hand as one fixed-Huffman block of 258-byte back-references (13 bits
/// each), so 12000×12000 (1.15 GB of pixels) is about 7 MB and takes no time to make.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        n: u32,
    }
    impl Bits {
        /// `n` bits of `v`, least significant first (deflate's order for everything but codes).
        fn put(&mut self, v: u64, n: u32) {
            self.acc |= v << self.n;
            self.n += n;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u64, n: u32) {
            let reversed = (0..n).fold(0, |r, i| r | ((code >> i) & 1) << (n - 1 - i));
            self.put(reversed, n);
        }
    }
    let raw: u64 = u64::from(h) * (1 + u64::from(w) * 8); // each row: filter byte + pixels
    let mut bits = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // the final block
    bits.put(1, 2); // fixed Huffman codes
    bits.code(0x30, 8); // literal 0
    let mut left = raw - 1;
    while left >= 258 {
        bits.code(0xC5, 8); // length 258 (code 285)
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0x30, 8);
    }
    bits.code(0, 7); // end of block
    bits.put(0, 7); // pad to a byte
    let mut zlib = bits.out;
    let adler = ((raw % 65521) << 16) | 1; // Adler-32 of zeros: a = 1, b = length
    zlib.extend_from_slice(&(adler as u32).to_be_bytes());

    let chunk = |out: &mut Vec<u8>, ty: &[u8; 4], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(ty);
        out.extend_from_slice(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(ty);
        crc.update(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    };
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[16, 6, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// The start of an ELF executable, padded.
fn elf() -> Vec<u8> {
    let mut b = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
    b.resize(4096, 0x90);
    b
}

async fn create_upload(s: &TestServer, token: &str, body: Value) -> reqwest::Response {
    s.call(Method::POST, "/api/v1/uploads", Some(body), token)
        .await
}

async fn patch(
    s: &TestServer,
    token: &str,
    id: &str,
    offset: u64,
    bytes: Vec<u8>,
) -> reqwest::Response {
    s.http()
        .patch(s.url(&format!("/api/v1/uploads/{id}")))
        .bearer_auth(token)
        .header("upload-offset", offset.to_string())
        .header("content-type", "application/offset+octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap()
}

/// Uploads `bytes` in one chunk; returns the attachment.
pub(crate) async fn upload(
    s: &TestServer,
    token: &str,
    name: &str,
    kind: &str,
    bytes: &[u8],
) -> Value {
    let u = create_upload(
        s,
        token,
        json!({"name": name, "size": bytes.len(), "kind": kind}),
    )
    .await;
    assert_eq!(u.status(), 201);
    let u: Value = u.json().await.unwrap();
    let r = patch(s, token, u["id"].as_str().unwrap(), 0, bytes.to_vec()).await;
    assert_eq!(r.status(), 200);
    let done: Value = r.json().await.unwrap();
    assert_eq!(done["offset"], bytes.len());
    done["attachment"].clone()
}

async fn send_with(
    s: &TestServer,
    token: &str,
    conversation: i64,
    client_id: &str,
    ids: &[&Value],
) -> reqwest::Response {
    let ids: Vec<&Value> = ids.iter().map(|a| &a["id"]).collect();
    s.call(
        Method::POST,
        &format!("/api/v1/conversations/{conversation}/messages"),
        Some(json!({"client_id": client_id, "text": "", "attachment_ids": ids})),
        token,
    )
    .await
}

fn content_path(a: &Value) -> String {
    format!("/api/v1/attachments/{}/content", a["id"])
}

/// Every file below `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn blob_files(s: &TestServer) -> Vec<PathBuf> {
    files_under(&s.data_dir().join("media").join("blobs"))
}

/// Runs one media sweep round in the server and waits for it: what the background sweeper does
/// on its interval, at a moment the test knows.
async fn sweep(s: &TestServer) -> jeco_server::services::media::sweep::Swept {
    s.running()
        .expect("an in-process server")
        .sweep_media()
        .await
        .expect("a sweep round")
}

/// Waits until `check` holds (polling), or fails with `what`.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// alice and bob in a group; carol outside.
async fn trio(s: &TestServer) -> (String, String, String, i64, i64) {
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let g = s.group(&alice.access_token, "G", &[bob.user.id.0]).await;
    (
        alice.access_token,
        bob.access_token,
        carol.access_token,
        g,
        bob.user.id.0,
    )
}

#[tokio::test]
async fn images_are_uploaded_in_chunks_attached_and_served_to_members_only() {
    let s = TestServer::start().await;
    let (a, b, c, g, _) = trio(&s).await;
    let bytes = png(640, 480);
    let created = create_upload(
        &s,
        &a,
        json!({"name": "cat.png", "size": bytes.len(), "kind": "image", "sha256": sha256_hex(&bytes)}),
    )
    .await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["upload-offset"], "0");
    let up: Value = created.json().await.unwrap();
    let id = up["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 22);
    let half = bytes.len() / 2;
    let r = patch(&s, &a, &id, 0, bytes[..half].to_vec()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["upload-offset"], half.to_string().as_str());
    let partial: Value = r.json().await.unwrap();
    assert!(partial["attachment"].is_null());
    // Only the uploader sees an upload in progress.
    expect_error(
        s.call(Method::GET, &format!("/api/v1/uploads/{id}"), None, &b)
            .await,
        404,
        "not_found",
    )
    .await;
    let done: Value = patch(&s, &a, &id, half as u64, bytes[half..].to_vec())
        .await
        .json()
        .await
        .unwrap();
    let att = done["attachment"].clone();
    assert_eq!(att["kind"], "image");
    assert_eq!(att["content_type"], "image/png");
    assert_eq!(att["size"], bytes.len());
    assert_eq!(att["sha256"], sha256_hex(&bytes));
    assert_eq!(
        (att["width"].as_u64(), att["height"].as_u64()),
        (Some(640), Some(480))
    );
    // The finished upload is gone; the attachment is the uploader's until it is sent.
    expect_error(
        s.call(Method::GET, &format!("/api/v1/uploads/{id}"), None, &a)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(s.get(&content_path(&att), Some(&a)).await.status(), 200);
    expect_error(s.get(&content_path(&att), Some(&b)).await, 404, "not_found").await;

    let sent = send_with(&s, &a, g, "m1", &[&att]).await;
    assert_eq!(sent.status(), 201);
    let message: Value = sent.json().await.unwrap();
    assert_eq!(message["text"], "");
    assert_eq!(message["attachments"][0]["id"], att["id"]);
    assert_eq!(message["attachments"][0]["width"], 640);
    let history = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{g}/messages"),
            None,
            &b,
            200,
        )
        .await;
    assert_eq!(
        history["items"][0]["attachments"][0]["sha256"],
        att["sha256"]
    );

    // A member downloads it with the detected type and safe headers.
    let r = s.get(&content_path(&att), Some(&b)).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline; filename=\"cat.png\"")
    );
    let etag = format!("\"{}\"", sha256_hex(&bytes));
    assert_eq!(h["etag"], etag.as_str());
    assert!(h["cache-control"].to_str().unwrap().contains("private"));
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let again = s
        .http()
        .get(s.url(&content_path(&att)))
        .bearer_auth(&b)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // Non-members learn nothing: not the bytes, not the metadata, not a signed URL.
    for path in [
        content_path(&att),
        format!("/api/v1/attachments/{}", att["id"]),
        format!("/api/v1/attachments/{}/thumbnail", att["id"]),
    ] {
        expect_error(s.get(&path, Some(&c)).await, 404, "not_found").await;
    }
    expect_error(
        s.call(
            Method::POST,
            &format!("/api/v1/attachments/{}/url", att["id"]),
            None,
            &c,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    expect_error(s.get(&content_path(&att), None).await, 401, "unauthorized").await;
    expect_error(
        s.get("/api/v1/attachments/999999/content", Some(&b)).await,
        404,
        "not_found",
    )
    .await;

    // The thumbnail is made in the background.
    let meta_path = format!("/api/v1/attachments/{}", att["id"]);
    eventually("a thumbnail", || async {
        s.ok(Method::GET, &meta_path, None, &b, 200).await["has_thumbnail"] == true
    })
    .await;
    let t = s
        .get(
            &format!("/api/v1/attachments/{}/thumbnail", att["id"]),
            Some(&b),
        )
        .await;
    assert_eq!(t.status(), 200);
    assert_eq!(t.headers()["content-type"], "image/jpeg");
    let thumb = image::load_from_memory(&t.bytes().await.unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (480, 360));
}

#[tokio::test]
async fn the_size_limit_is_enforced_and_leaves_nothing_behind() {
    let s = TestServer::start_with(|c| c.media_max_upload_bytes = 1000).await;
    let alice = s.register("alice").await;
    let a = alice.access_token.as_str();
    expect_error(
        create_upload(&s, a, json!({"name": "big.bin", "size": 1001})).await,
        413,
        "payload_too_large",
    )
    .await;

    // More bytes than declared, announced by Content-Length: refused, and the bytes already
    // received are discarded with the upload.
    let u: Value = create_upload(&s, a, json!({"name": "x.bin", "size": 100}))
        .await
        .json()
        .await
        .unwrap();
    let id = u["id"].as_str().unwrap().to_owned();
    assert_eq!(patch(&s, a, &id, 0, vec![7; 50]).await.status(), 200);
    assert_eq!(files_under(&s.data_dir().join("uploads")).len(), 1);
    expect_error(
        patch(&s, a, &id, 50, vec![7; 51]).await,
        413,
        "payload_too_large",
    )
    .await;
    expect_error(
        s.call(Method::GET, &format!("/api/v1/uploads/{id}"), None, a)
            .await,
        404,
        "not_found",
    )
    .await;
    assert!(files_under(&s.data_dir().join("uploads")).is_empty());

    // The same without a Content-Length (a chunked stream): caught while streaming.
    let u: Value = create_upload(&s, a, json!({"name": "y.bin", "size": 100}))
        .await
        .json()
        .await
        .unwrap();
    let id = u["id"].as_str().unwrap().to_owned();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..10).map(|_| Ok(vec![1u8; 64])).collect();
    let r = s
        .http()
        .patch(s.url(&format!("/api/v1/uploads/{id}")))
        .bearer_auth(a)
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    // The server answers 413 as soon as it sees too much; the client may notice only a reset.
    if let Ok(r) = r {
        assert_eq!(r.status(), 413);
    }
    expect_error(
        s.call(Method::GET, &format!("/api/v1/uploads/{id}"), None, a)
            .await,
        404,
        "not_found",
    )
    .await;
    assert!(files_under(&s.data_dir().join("uploads")).is_empty());
    assert!(blob_files(&s).is_empty());

    // Exactly the limit is fine.
    let ok = upload(&s, a, "fits.bin", "file", &[3u8; 1000]).await;
    assert_eq!(ok["size"], 1000);
}

#[tokio::test]
async fn a_spoofed_type_is_stored_and_served_as_what_it_really_is() {
    let s = TestServer::start().await;
    let (a, b, _, g, _) = trio(&s).await;
    let exe = elf();
    let att = upload(&s, &a, "cute-cat.png", "image", &exe).await;
    assert_eq!(att["kind"], "file", "{att}");
    assert_eq!(att["content_type"], "application/x-executable");
    assert!(att["width"].is_null());
    let html = b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec();
    let page = upload(&s, &a, "photo.jpg", "image", &html).await;
    assert_eq!(page["kind"], "file");
    assert_eq!(page["content_type"], "text/html");
    assert_eq!(
        send_with(&s, &a, g, "m", &[&att, &page]).await.status(),
        201
    );
    // Served as what they are, but only ever as downloads, never rendered or sniffed.
    for (att, ty) in [(&att, "application/x-executable"), (&page, "text/html")] {
        let r = s.get(&content_path(att), Some(&b)).await;
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["content-type"], ty);
        assert!(
            h["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment;"),
            "{h:?}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("sandbox")
        );
    }
    // No thumbnail is attempted for what is not an image.
    expect_error(
        s.get(
            &format!("/api/v1/attachments/{}/thumbnail", att["id"]),
            Some(&b),
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn path_traversal_in_file_names_and_upload_ids_goes_nowhere() {
    let s = TestServer::start().await;
    let (a, b, _, g, _) = trio(&s).await;
    let cases = [
        ("../../../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\boot.ini", "boot.ini"),
        ("/tmp/../../x.txt", "x.txt"),
        ("..", "file"),
        (".ssh", "ssh"),
    ];
    let mut atts = Vec::new();
    for (i, (name, stored)) in cases.iter().enumerate() {
        let att = upload(&s, &a, name, "file", format!("secret {i}").as_bytes()).await;
        assert_eq!(att["name"], *stored, "{name}");
        atts.push(att);
    }
    let refs: Vec<&Value> = atts.iter().collect();
    assert_eq!(send_with(&s, &a, g, "m", &refs).await.status(), 201);
    let r = s.get(&content_path(&atts[0]), Some(&b)).await;
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"
    );
    // Nothing was written outside the media and uploads folders, and no file is named after the
    // uploads: storage paths are content hashes.
    for f in files_under(s.data_dir()) {
        let rel = f
            .strip_prefix(s.data_dir())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            rel.starts_with("media/blobs/") || rel.starts_with("jeco.db") || rel == "secret.key",
            "unexpected file {rel}"
        );
        assert!(
            !rel.contains("passwd") && !rel.contains("boot.ini"),
            "{rel}"
        );
    }
    // Upload ids are checked before they become file names. (`%2E%2E` is resolved as `..` by the
    // client already and meets no route.)
    for id in ["..%2F..%2Fsecret.key", "..%2F..%2Fjeco.db", "%2E%2E"] {
        assert_eq!(
            s.call(Method::GET, &format!("/api/v1/uploads/{id}"), None, &a)
                .await
                .status(),
            404,
            "{id}"
        );
        assert_eq!(
            patch(&s, &a, id, 0, b"x".to_vec()).await.status(),
            404,
            "{id}"
        );
    }
    assert!(s.data_dir().join("secret.key").exists());
}

#[tokio::test]
async fn signed_urls_work_without_a_token_for_members_only_and_expire() {
    let (s, clock) = TestServer::start_with_clock(|c| c.media_signed_url_ttl_secs = 60).await;
    let (a, b, c, g, bob_id) = trio(&s).await;
    let att = upload(&s, &a, "notes.txt", "file", b"meeting notes").await;
    assert_eq!(send_with(&s, &a, g, "m", &[&att]).await.status(), 201);
    let url_of = |token: &str| {
        let path = format!("/api/v1/attachments/{}/url", att["id"]);
        let token = token.to_owned();
        let s = &s;
        async move { s.ok(Method::POST, &path, None, &token, 200).await }
    };
    let signed = url_of(&b).await;
    let url = signed["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&content_path(&att)), "{url}");
    // Works with no Authorization header at all.
    let r = s.http().get(s.url(&url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "meeting notes");

    // A guessed or tampered URL is refused: another user, another attachment, another expiry,
    // no signature, a signature from nowhere.
    let other = upload(&s, &a, "private.txt", "file", b"alice only").await;
    let forged = [
        url.replace(&format!("user={bob_id}"), "user=3"),
        url.replace(
            &format!("/attachments/{}/", att["id"]),
            &format!("/attachments/{}/", other["id"]),
        ),
        url.replace("expires=", "expires=9"),
        url.split("&sig=").next().unwrap().to_owned(),
        format!("{}&sig=AAAA", url.split("&sig=").next().unwrap()),
    ];
    for f in &forged {
        let r = s.http().get(s.url(f)).send().await.unwrap();
        assert!(
            matches!(r.status().as_u16(), 400 | 403),
            "{f}: {}",
            r.status()
        );
    }
    // Carol (not a member) can get none.
    expect_error(
        s.call(
            Method::POST,
            &format!("/api/v1/attachments/{}/url", att["id"]),
            None,
            &c,
        )
        .await,
        404,
        "not_found",
    )
    .await;

    // Removed from the conversation: the link stops working at once.
    let alice_url = url_of(&a).await["url"].as_str().unwrap().to_owned();
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{g}/members/{bob_id}"),
        None,
        &a,
        204,
    )
    .await;
    let r = s.http().get(s.url(&url)).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // And every link expires.
    clock.advance(Duration::from_secs(61));
    expect_error(
        s.http().get(s.url(&alice_url)).send().await.unwrap(),
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn an_interrupted_upload_resumes_where_the_server_is() {
    let s = TestServer::start().await;
    let (a, b, _, g, _) = trio(&s).await;
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let u: Value = create_upload(
        &s,
        &a,
        json!({"name": "data.bin", "size": bytes.len(), "sha256": sha256_hex(&bytes)}),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = u["id"].as_str().unwrap().to_owned();
    assert_eq!(
        patch(&s, &a, &id, 0, bytes[..100_000].to_vec())
            .await
            .status(),
        200
    );

    // A chunk that dies half-way: the client sends 50 000 bytes, then its connection breaks.
    let sent = bytes[100_000..150_000].to_vec();
    let broken = futures_util::stream::iter(vec![
        Ok(sent),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "network down",
        )),
    ]);
    let r = s
        .http()
        .patch(s.url(&format!("/api/v1/uploads/{id}")))
        .bearer_auth(&a)
        .header("upload-offset", "100000")
        .header("content-type", "application/offset+octet-stream")
        .body(reqwest::Body::wrap_stream(broken))
        .send()
        .await;
    assert!(r.is_err() || !r.unwrap().status().is_success());

    // The client asks where the server is (HEAD or GET) and continues from there; while the
    // server is still finishing the dead request, it answers 409 and the client asks again.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut checked_wrong_offset = false;
    let done: Value = loop {
        assert!(tokio::time::Instant::now() < deadline, "could not resume");
        let head = s
            .http()
            .head(s.url(&format!("/api/v1/uploads/{id}")))
            .bearer_auth(&a)
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200);
        let offset: u64 = head.headers()["upload-offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((100_000..=150_000).contains(&offset), "{offset}");
        if !checked_wrong_offset && offset > 100_000 {
            // A chunk at the wrong offset is refused with the right one.
            let wrong = patch(&s, &a, &id, 10, bytes[10..20].to_vec()).await;
            assert_eq!(
                wrong.headers()["upload-offset"],
                offset.to_string().as_str()
            );
            expect_error(wrong, 409, "upload_offset_mismatch").await;
            checked_wrong_offset = true;
        }
        let r = patch(&s, &a, &id, offset, bytes[offset as usize..].to_vec()).await;
        if r.status() == 200 {
            break r.json().await.unwrap();
        }
        assert_eq!(r.status(), 409, "{:?}", r.text().await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let att = done["attachment"].clone();
    assert_eq!(att["sha256"], sha256_hex(&bytes), "{done}");
    assert_eq!(send_with(&s, &a, g, "m", &[&att]).await.status(), 201);
    let got = s
        .get(&content_path(&att), Some(&b))
        .await
        .bytes()
        .await
        .unwrap();
    assert!(got.as_ref() == bytes.as_slice());

    // A declared checksum that the bytes do not match fails the upload and discards it.
    let u: Value = create_upload(
        &s,
        &a,
        json!({"name": "x", "size": 3, "sha256": sha256_hex(b"abc")}),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = u["id"].as_str().unwrap();
    expect_error(
        patch(&s, &a, id, 0, b"abd".to_vec()).await,
        400,
        "validation_failed",
    )
    .await;
    expect_error(
        s.call(Method::GET, &format!("/api/v1/uploads/{id}"), None, &a)
            .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn identical_files_are_stored_once_and_deleted_with_their_last_message() {
    let s = TestServer::start().await;
    let (a, b, c, g, _) = trio(&s).await;
    let bytes = b"the same bytes, twice".to_vec();
    let first = upload(&s, &a, "one.txt", "file", &bytes).await;
    let second = upload(&s, &b, "two.txt", "file", &bytes).await;
    assert_ne!(first["id"], second["id"]);
    assert_eq!(first["sha256"], second["sha256"]);
    assert_eq!(blob_files(&s).len(), 1);
    let m1: Value = send_with(&s, &a, g, "m1", &[&first])
        .await
        .json()
        .await
        .unwrap();
    let m2: Value = send_with(&s, &b, g, "m2", &[&second])
        .await
        .json()
        .await
        .unwrap();

    // Deleting one message removes its attachment, not the content the other still uses.
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{g}/messages/{}", m1["id"]),
        None,
        &a,
        204,
    )
    .await;
    expect_error(
        s.get(&content_path(&first), Some(&b)).await,
        404,
        "not_found",
    )
    .await;
    let deleted = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{g}/messages/{}", m1["id"]),
            None,
            &b,
            200,
        )
        .await;
    assert_eq!(deleted["attachments"], json!([]));
    // A sweep round after the delete leaves the content the other message still uses.
    sweep(&s).await;
    assert_eq!(blob_files(&s).len(), 1);
    assert_eq!(s.get(&content_path(&second), Some(&a)).await.status(), 200);

    // Deleting the last one removes the file.
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{g}/messages/{}", m2["id"]),
        None,
        &b,
        204,
    )
    .await;
    eventually("the unreferenced file to be deleted", || async {
        blob_files(&s).is_empty()
    })
    .await;
    expect_error(
        s.get(&content_path(&second), Some(&b)).await,
        404,
        "not_found",
    )
    .await;

    // The same content uploaded again afterwards is stored again, whole.
    let third = upload(&s, &c, "three.txt", "file", &bytes).await;
    assert_eq!(
        s.get(&content_path(&third), Some(&c))
            .await
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        bytes.as_slice()
    );
}

#[tokio::test]
async fn uploads_not_attached_in_time_are_cleaned_up() {
    // A minute to attach (shorter than the access token's life, which the clock also moves) and
    // the default sweep interval: the clock is moved past the first and one sweep round is run,
    // so nothing here waits for either.
    let (s, clock) = TestServer::start_with_clock(|c| c.media_unattached_ttl_secs = 60).await;
    let (a, _, _, g, _) = trio(&s).await;
    // A file left by a crash between deleting an upload's row and its file.
    std::fs::write(
        s.data_dir()
            .join("uploads")
            .join("AAAAAAAAAAAAAAAAAAAAAA.part"),
        b"x",
    )
    .unwrap();
    let kept = upload(&s, &a, "kept.txt", "file", b"sent in time").await;
    assert_eq!(send_with(&s, &a, g, "m1", &[&kept]).await.status(), 201);
    let lost = upload(&s, &a, "lost.txt", "file", b"never sent").await;
    let unfinished: Value = create_upload(&s, &a, json!({"name": "half", "size": 10}))
        .await
        .json()
        .await
        .unwrap();
    let uid = unfinished["id"].as_str().unwrap().to_owned();
    assert_eq!(patch(&s, &a, &uid, 0, vec![1; 5]).await.status(), 200);
    // Not yet: a round now removes nothing of this.
    let early = sweep(&s).await;
    assert_eq!(early.unattached, 0, "{early:?}");
    assert_eq!(s.get(&content_path(&lost), Some(&a)).await.status(), 200);

    clock.advance(Duration::from_secs(61));
    let swept = sweep(&s).await;
    assert_eq!(swept.unattached, 1, "{swept:?}");
    assert_eq!(s.get(&content_path(&lost), Some(&a)).await.status(), 404);
    assert_eq!(
        s.call(Method::GET, &format!("/api/v1/uploads/{uid}"), None, &a)
            .await
            .status(),
        404
    );
    assert_eq!(blob_files(&s).len(), 1);
    assert!(files_under(&s.data_dir().join("uploads")).is_empty());
    expect_error(
        send_with(&s, &a, g, "m2", &[&lost]).await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(s.get(&content_path(&kept), Some(&a)).await.status(), 200);
}

#[tokio::test]
async fn sends_check_their_attachments_and_work_over_the_gateway() {
    let s = TestServer::start().await;
    let (a, b, _, g, _) = trio(&s).await;
    let mine = upload(&s, &a, "a.txt", "file", b"alice's").await;
    let theirs = upload(&s, &b, "b.txt", "file", b"bob's").await;
    // Someone else's upload, an unknown id, a repeat, too many, and empty text without any.
    expect_error(
        send_with(&s, &a, g, "x1", &[&theirs]).await,
        400,
        "validation_failed",
    )
    .await;
    expect_error(
        send_with(&s, &a, g, "x2", &[&json!({"id": 424242})]).await,
        400,
        "validation_failed",
    )
    .await;
    expect_error(
        send_with(&s, &a, g, "x3", &[&mine, &mine]).await,
        400,
        "validation_failed",
    )
    .await;
    let eleven: Vec<Value> = (0..11).map(|i| json!({"id": 1000 + i})).collect();
    let refs: Vec<&Value> = eleven.iter().collect();
    expect_error(
        send_with(&s, &a, g, "x4", &refs).await,
        400,
        "validation_failed",
    )
    .await;
    expect_error(
        send_with(&s, &a, g, "x5", &[]).await,
        400,
        "validation_failed",
    )
    .await;
    // A failed send attached nothing: the upload can still be sent; a retry returns the original
    // message; attaching it to a second message fails.
    let first = send_with(&s, &a, g, "ok", &[&mine]).await;
    assert_eq!(first.status(), 201);
    let retry = send_with(&s, &a, g, "ok", &[&mine]).await;
    assert_eq!(retry.status(), 200);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["attachments"][0]["id"], mine["id"]);
    expect_error(
        send_with(&s, &a, g, "again", &[&mine]).await,
        400,
        "validation_failed",
    )
    .await;

    // Over the WebSocket: the ack and the event carry the attachments.
    let mut bob_ws = ws_caught_up(&s, &b).await;
    let mut ws = s.ws_live(&a).await;
    let voice = upload(
        &s,
        &a,
        "v.ogg",
        "voice",
        b"OggS\0\x02\0\0\0\0\0\0\0\0 opus data",
    )
    .await;
    send_json(
        &mut ws,
        json!({"type": "send", "conversation_id": g, "client_id": "ws1", "text": "listen",
               "attachment_ids": [voice["id"]]}),
    )
    .await;
    let ack = next_where(&mut ws, |f| {
        matches!(f, jeco_shared::ws::ServerFrame::Ack { .. })
    })
    .await;
    let jeco_shared::ws::ServerFrame::Ack { message, .. } = ack else {
        unreachable!()
    };
    assert_eq!(message.attachments.len(), 1);
    assert_eq!(
        message.attachments[0].kind,
        jeco_shared::media::AttachmentKind::Voice
    );
    let event = next_event(&mut bob_ws).await;
    let jeco_shared::events::EventBody::MessageCreated { message } = event.body else {
        panic!("{event:?}")
    };
    assert_eq!(message.attachments[0].content_type, "audio/ogg");
}

#[tokio::test]
async fn voice_notes_keep_their_metadata_and_seek_with_ranges() {
    let s = TestServer::start().await;
    let (a, b, _, g, _) = trio(&s).await;
    let mut ogg = b"OggS\0\x02\0\0\0\0\0\0\0\0".to_vec();
    ogg.extend((0..986u32).map(|i| (i % 200) as u8));
    let peaks: Vec<u8> = (0..64).map(|i| (i * 4) as u8).collect();
    let u: Value = create_upload(
        &s,
        &a,
        json!({"name": "voice.ogg", "size": ogg.len(), "kind": "voice",
               "duration_ms": 4200, "waveform": peaks}),
    )
    .await
    .json()
    .await
    .unwrap();
    let done: Value = patch(&s, &a, u["id"].as_str().unwrap(), 0, ogg.clone())
        .await
        .json()
        .await
        .unwrap();
    let voice = done["attachment"].clone();
    assert_eq!(voice["kind"], "voice");
    assert_eq!(voice["content_type"], "audio/ogg");
    assert_eq!(voice["duration_ms"], 4200);
    assert_eq!(voice["waveform"], json!(peaks));
    assert_eq!(send_with(&s, &a, g, "v", &[&voice]).await.status(), 201);

    let ranged = |range: &'static str| {
        let url = s.url(&content_path(&voice));
        let b = b.clone();
        let http = s.http().clone();
        async move {
            http.get(url)
                .bearer_auth(b)
                .header("range", range)
                .send()
                .await
                .unwrap()
        }
    };
    let r = ranged("bytes=0-9").await;
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 0-9/1000");
    assert_eq!(r.headers()["content-length"], "10");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), &ogg[..10]);
    let r = ranged("bytes=-5").await;
    assert_eq!(r.headers()["content-range"], "bytes 995-999/1000");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &ogg[995..]);
    let r = ranged("bytes=990-").await;
    assert_eq!(r.bytes().await.unwrap().len(), 10);
    let r = ranged("bytes=5000-").await;
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["content-range"], "bytes */1000");
    expect_error(r, 416, "range_not_satisfiable").await;

    // Bounded metadata, and only for voice notes; a "voice note" that is no audio is a file.
    let bad = [
        json!({"name": "v", "size": 1, "kind": "voice", "waveform": vec![1; 257]}),
        json!({"name": "v", "size": 1, "kind": "voice", "duration_ms": 0}),
        json!({"name": "v", "size": 1, "kind": "voice", "duration_ms": 3_600_001}),
        json!({"name": "v", "size": 1, "kind": "file", "duration_ms": 10}),
        json!({"name": "v", "size": 1, "sha256": "xyz"}),
    ];
    for body in bad {
        expect_error(
            create_upload(&s, &a, body.clone()).await,
            400,
            "validation_failed",
        )
        .await;
    }
    let fake = upload(&s, &a, "v.ogg", "voice", &png(4, 4)).await;
    assert_eq!(fake["kind"], "file");
    assert!(fake["duration_ms"].is_null());
}

#[tokio::test]
async fn exif_orientation_is_applied_to_dimensions_and_thumbnails() {
    let s = TestServer::start().await;
    let (a, _, _, _, _) = trio(&s).await;
    let att = upload(&s, &a, "phone.jpg", "image", &jpeg_rotated(40, 20)).await;
    assert_eq!(att["content_type"], "image/jpeg");
    assert_eq!(
        (att["width"].as_u64(), att["height"].as_u64()),
        (Some(20), Some(40))
    );
    let meta = format!("/api/v1/attachments/{}", att["id"]);
    eventually("a thumbnail", || async {
        s.ok(Method::GET, &meta, None, &a, 200).await["has_thumbnail"] == true
    })
    .await;
    let t = s
        .get(
            &format!("/api/v1/attachments/{}/thumbnail", att["id"]),
            Some(&a),
        )
        .await
        .bytes()
        .await
        .unwrap();
    let thumb = image::load_from_memory(&t).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (20, 40));
}

#[tokio::test]
async fn avatars_are_resized_cached_and_access_controlled() {
    let s = TestServer::start_with(|c| c.media_avatar_max_bytes = 200_000).await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let (a, b, c) = (&alice.access_token, &bob.access_token, &carol.access_token);
    let put = |path: &'static str, token: &str, body: Vec<u8>| {
        let req = s.http().put(s.url(path)).bearer_auth(token).body(body);
        async move { req.send().await.unwrap() }
    };
    let r = put("/api/v1/users/me/avatar", a, jpeg_rotated(300, 200)).await;
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    let version = me["avatar"].as_str().unwrap().to_owned();
    let other: Value = s
        .ok(
            Method::GET,
            &format!("/api/v1/users/{}", alice.user.id),
            None,
            b,
            200,
        )
        .await;
    assert_eq!(other["avatar"], version.as_str());
    let path = format!("/api/v1/users/{}/avatar", alice.user.id);
    let r = s.get(&path, Some(b)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["cache-control"], "private, no-cache");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (256, 256));
    let again = s
        .http()
        .get(s.url(&path))
        .bearer_auth(b)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    expect_error(s.get(&path, None).await, 401, "unauthorized").await;

    expect_error(
        put("/api/v1/users/me/avatar", a, elf()).await,
        415,
        "unsupported_media_type",
    )
    .await;
    expect_error(
        put("/api/v1/users/me/avatar", a, vec![0; 200_001]).await,
        413,
        "payload_too_large",
    )
    .await;
    expect_error(
        put(
            "/api/v1/users/me/avatar",
            a,
            b"\x89PNG\r\n\x1a\n broken".to_vec(),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;

    // Replacing the picture deletes the old file.
    put("/api/v1/users/me/avatar", a, png(64, 64)).await;
    eventually("the old avatar's file to go", || async {
        blob_files(&s).len() == 1
    })
    .await;
    s.ok(Method::DELETE, "/api/v1/users/me/avatar", None, a, 204)
        .await;
    expect_error(s.get(&path, Some(b)).await, 404, "not_found").await;
    eventually("the avatar's file to go", || async {
        blob_files(&s).is_empty()
    })
    .await;

    // Team pictures: admins set them, members see them, others learn nothing.
    let (team, _) = team(&s, a, "Rocket").await;
    add_to_team(&s, a, team, bob.user.id.0, "member").await;
    let team_path = format!("/api/v1/teams/{team}/avatar");
    let r = s
        .http()
        .put(s.url(&team_path))
        .bearer_auth(a)
        .body(png(100, 50))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let t = s
        .ok(Method::GET, &format!("/api/v1/teams/{team}"), None, b, 200)
        .await;
    assert!(t["avatar"].is_string());
    assert_eq!(s.get(&team_path, Some(b)).await.status(), 200);
    expect_error(s.get(&team_path, Some(c)).await, 404, "not_found").await;
    let r = s
        .http()
        .put(s.url(&team_path))
        .bearer_auth(b)
        .body(png(10, 10))
        .send()
        .await
        .unwrap();
    expect_error(r, 403, "forbidden").await;
}

/// A moto S3 server on a free port, stopped when dropped.
struct Moto {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `./dev setup` installs moto: a virtualenv in the target directory. Else one on PATH.
fn moto_command() -> Option<Vec<String>> {
    if let Ok(cmd) = std::env::var("JECO_TEST_MOTO_SERVER") {
        return Some(vec![cmd]);
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()?
        .to_path_buf();
    let venv = target.join("moto-venv").join("bin").join("moto_server");
    if venv.exists() {
        return Some(vec![venv.to_string_lossy().into_owned()]);
    }
    let on_path = std::process::Command::new("moto_server")
        .arg("--help")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    on_path.then(|| vec!["moto_server".to_owned()])
}

async fn start_moto() -> Result<Moto, String> {
    let cmd = moto_command().ok_or(
        "no S3-compatible test server: moto is not installed (`./dev setup` installs it into \
         target/moto-venv with pip install 'moto[server]')",
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = std::process::Command::new(&cmd[0])
        .args(&cmd[1..])
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", cmd[0]))?;
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if http.get(&moto.endpoint).send().await.is_ok() {
            return Ok(moto);
        }
        if tokio::time::Instant::now() > deadline {
            return Err("moto did not start within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Object keys in a bucket (S3 ListObjectsV2).
async fn bucket_keys(endpoint: &str, bucket: &str) -> Vec<String> {
    let xml = reqwest::get(format!("{endpoint}/{bucket}?list-type=2"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    xml.split("<Key>")
        .skip(1)
        .filter_map(|p| p.split("</Key>").next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_s3_backend_stores_serves_and_deletes_in_a_real_bucket() {
    let moto = match start_moto().await {
        Ok(m) => m,
        Err(reason) if std::env::var_os("CI").is_none() => {
            eprintln!(
                "SKIPPED the_s3_backend_stores_serves_and_deletes_in_a_real_bucket: {reason}"
            );
            return;
        }
        Err(reason) => panic!("CI must run the S3 test: {reason}"),
    };
    let bucket = "jeco-media-test";
    let created = reqwest::Client::new()
        .put(format!("{}/{bucket}", moto.endpoint))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{created:?}");
    let endpoint = moto.endpoint.clone();
    let s = TestServer::start_with(move |c| {
        c.media_backend = jeco_server::config::MediaBackend::S3;
        c.s3_endpoint = Some(endpoint);
        c.s3_bucket = Some(bucket.into());
        c.s3_allow_http = true;
        c.s3_credentials = Some(jeco_server::config::S3Credentials {
            access_key_id: "testing".into(),
            secret_access_key: jeco_server::Secret::new("testing"),
        });
    })
    .await;
    let (a, b, c, g, _) = trio(&s).await;
    // Larger than one PUT: stored as a multipart upload.
    let big: Vec<u8> = (0..9 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let u: Value = create_upload(&s, &a, json!({"name": "big.bin", "size": big.len()}))
        .await
        .json()
        .await
        .unwrap();
    let id = u["id"].as_str().unwrap().to_owned();
    let mut offset = 0;
    let mut last = Value::Null;
    for chunk in big.chunks(4 * 1024 * 1024) {
        let r = patch(&s, &a, &id, offset, chunk.to_vec()).await;
        assert_eq!(r.status(), 200);
        last = r.json().await.unwrap();
        offset += chunk.len() as u64;
    }
    let big_att = last["attachment"].clone();
    assert_eq!(big_att["sha256"], sha256_hex(&big));
    let got = s
        .get(&content_path(&big_att), Some(&a))
        .await
        .bytes()
        .await
        .unwrap();
    assert!(
        got.as_ref() == big.as_slice(),
        "the multipart object reads back whole"
    );
    let image = upload(&s, &a, "pic.png", "image", &png(800, 600)).await;
    let twin = upload(&s, &b, "pic-again.png", "image", &png(800, 600)).await;
    assert_eq!(image["sha256"], twin["sha256"]);
    let keys = bucket_keys(&moto.endpoint, bucket).await;
    assert_eq!(
        keys.iter().filter(|k| k.starts_with("blobs/")).count(),
        2,
        "{keys:?}"
    );
    assert!(
        files_under(&s.data_dir().join("media")).is_empty(),
        "nothing on the local disk"
    );

    let m: Value = send_with(&s, &a, g, "m", &[&image])
        .await
        .json()
        .await
        .unwrap();
    let r = s.get(&content_path(&image), Some(&b)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), png(800, 600).as_slice());
    let r = s
        .http()
        .get(s.url(&content_path(&image)))
        .bearer_auth(&b)
        .header("range", "bytes=1-4")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"PNG\r");
    expect_error(
        s.get(&content_path(&image), Some(&c)).await,
        404,
        "not_found",
    )
    .await;
    let meta = format!("/api/v1/attachments/{}", image["id"]);
    eventually("a thumbnail in the bucket", || async {
        s.ok(Method::GET, &meta, None, &a, 200).await["has_thumbnail"] == true
    })
    .await;
    assert!(
        bucket_keys(&moto.endpoint, bucket)
            .await
            .iter()
            .any(|k| k.starts_with("thumbs/"))
    );

    // Deleting the message leaves the content to the twin; deleting the twin's message too
    // removes the object and its thumbnail from the bucket.
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{g}/messages/{}", m["id"]),
        None,
        &a,
        204,
    )
    .await;
    assert_eq!(s.get(&content_path(&twin), Some(&b)).await.status(), 200);
    let m2: Value = send_with(&s, &b, g, "m2", &[&twin])
        .await
        .json()
        .await
        .unwrap();
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{g}/messages/{}", m2["id"]),
        None,
        &b,
        204,
    )
    .await;
    let sha = image["sha256"].as_str().unwrap().to_owned();
    eventually("the object and thumbnail to leave the bucket", || async {
        !bucket_keys(&moto.endpoint, bucket)
            .await
            .iter()
            .any(|k| k.ends_with(&sha))
    })
    .await;
}

#[tokio::test]
async fn every_odd_range_form_answers_206_or_416_never_500() {
    let s = TestServer::start().await;
    let (a, b, _, g, _) = trio(&s).await;
    let bytes: Vec<u8> = b"0123456789".to_vec();
    let att = upload(&s, &a, "digits.txt", "file", &bytes).await;
    assert_eq!(send_with(&s, &a, g, "d", &[&att]).await.status(), 201);
    let path = format!("/api/v1/attachments/{}/url", att["id"]);
    let signed: Value = s.ok(Method::POST, &path, None, &b, 200).await;
    let signed_url = s.url(signed["url"].as_str().unwrap());
    let max = u64::MAX;
    // (Range, status, Content-Range, body)
    let cases: Vec<(String, u16, &str, &[u8])> = vec![
        (format!("bytes=0-{max}"), 206, "bytes 0-9/10", b"0123456789"),
        (
            "bytes=0-99999999999999999999999".into(),
            206,
            "bytes 0-9/10",
            b"0123456789",
        ),
        (format!("bytes={max}-{max}"), 416, "bytes */10", b""),
        (format!("bytes={max}-"), 416, "bytes */10", b""),
        (format!("bytes=-{max}"), 206, "bytes 0-9/10", b"0123456789"),
        ("bytes=-3".into(), 206, "bytes 7-9/10", b"789"),
        ("bytes=7-".into(), 206, "bytes 7-9/10", b"789"),
        ("bytes=10-".into(), 416, "bytes */10", b""),
        ("bytes=-0".into(), 416, "bytes */10", b""),
        ("bytes=5-2".into(), 416, "bytes */10", b""),
        ("bytes=0-1,4-5".into(), 206, "bytes 0-5/10", b"012345"),
        (
            "bytes=8-9, 2-3, 50-60".into(),
            206,
            "bytes 2-9/10",
            b"23456789",
        ),
        ("bytes=20-30,40-".into(), 416, "bytes */10", b""),
    ];
    for (range, status, content_range, body) in cases {
        for via_signed_url in [false, true] {
            let request = if via_signed_url {
                s.http().get(&signed_url)
            } else {
                s.http().get(s.url(&content_path(&att))).bearer_auth(&b)
            };
            let r = request.header("range", &range).send().await.unwrap();
            let what = format!("{range} (signed URL: {via_signed_url})");
            assert_eq!(r.status(), status, "{what}");
            assert_eq!(r.headers()["content-range"], content_range, "{what}");
            if status == 206 {
                assert_eq!(r.bytes().await.unwrap().as_ref(), body, "{what}");
            } else {
                expect_error(r, 416, "range_not_satisfiable").await;
            }
        }
    }
}

#[test]
fn the_bomb_is_a_valid_png() {
    // Small enough to decode here: proves the hand-made stream is what the big one claims to be.
    let img = image::load_from_memory(&png_bomb(300, 200)).unwrap();
    assert_eq!((img.width(), img.height()), (300, 200));
    assert_eq!(img.color(), image::ColorType::Rgba16);
    assert!(img.to_rgba16().pixels().all(|p| p.0 == [0; 4]));
}

/// Thumbnail state of a blob, read from the server's database (SQLite or PostgreSQL).
async fn thumbnail_state(s: &TestServer, sha256: &str) -> String {
    const QUERY: &str = "SELECT thumbnail_state FROM media_blobs WHERE sha256 = $1";
    match &s.config().database_url {
        Some(url) => {
            let (client, connection) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client.query_one(QUERY, &[&sha256]).await.unwrap().get(0)
        }
        None => {
            let db = rusqlite::Connection::open(s.data_dir().join("jeco.db")).unwrap();
            db.query_row(QUERY, [sha256], |r| r.get(0)).unwrap()
        }
    }
}

#[tokio::test]
async fn an_image_bomb_is_refused_as_an_avatar_and_stored_without_a_thumbnail() {
    let s = TestServer::start().await;
    let (a, b, _, g, _) = trio(&s).await;
    let bomb = png_bomb(12_000, 12_000);
    assert!(bomb.len() < 8 * 1024 * 1024, "{} bytes", bomb.len());

    let r = s
        .http()
        .put(s.url("/api/v1/users/me/avatar"))
        .bearer_auth(&a)
        .body(bomb.clone())
        .send()
        .await
        .unwrap();
    let err = expect_error(r, 413, "image_too_large").await;
    assert!(
        err.error.message.contains("12000×12000"),
        "{}",
        err.error.message
    );
    let me = s.ok(Method::GET, "/api/v1/users/me", None, &a, 200).await;
    assert!(me["avatar"].is_null());

    // As an attachment it is kept (with its real dimensions) and simply gets no thumbnail.
    let att = upload(&s, &a, "bomb.png", "image", &bomb).await;
    assert_eq!(att["kind"], "image");
    assert_eq!(
        (att["width"].as_u64(), att["height"].as_u64()),
        (Some(12_000), Some(12_000))
    );
    let sha = att["sha256"].as_str().unwrap().to_owned();
    eventually("the thumbnail to be given up", || async {
        thumbnail_state(&s, &sha).await == "failed"
    })
    .await;
    let r = send_with(&s, &a, g, "bomb", &[&att]).await;
    assert_eq!(r.status(), 201);
    let meta = s
        .ok(
            Method::GET,
            &format!("/api/v1/attachments/{}", att["id"]),
            None,
            &b,
            200,
        )
        .await;
    assert_eq!(meta["has_thumbnail"], false);
    let content = s.get(&content_path(&att), Some(&b)).await;
    assert_eq!(content.status(), 200);
    assert_eq!(content.bytes().await.unwrap().len(), bomb.len());

    // And the server is still serving.
    let ok = upload(&s, &a, "fine.png", "image", &png(64, 64)).await;
    let meta = format!("/api/v1/attachments/{}", ok["id"]);
    eventually("a thumbnail for a normal image", || async {
        s.ok(Method::GET, &meta, None, &a, 200).await["has_thumbnail"] == true
    })
    .await;
}

async fn usage_of(s: &TestServer, admin: &str, username: &str) -> Option<Value> {
    let report = s
        .ok(Method::GET, "/api/v1/admin/media-usage", None, admin, 200)
        .await;
    report["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .cloned()
}

#[tokio::test]
async fn the_storage_quota_counts_each_users_files_and_says_what_is_left() {
    let s = TestServer::start_with(|c| {
        c.media_quota_bytes = 10_000;
        c.admin_username = Some("root".into());
        c.admin_password = Some(jeco_server::Secret::new("bootstrap password"));
    })
    .await;
    let root: jeco_shared::auth::TokenResponse = s
        .login("root", "bootstrap password")
        .await
        .json()
        .await
        .unwrap();
    let root = root.access_token;
    let (a, b, _, g, _) = trio(&s).await;
    let six = vec![7u8; 6_000];
    let first = upload(&s, &a, "six.bin", "file", &six).await;

    // 6,000 of 10,000 used: another 6,000 does not fit, and the answer says what is left.
    let r = create_upload(&s, &a, json!({"name": "more.bin", "size": 6_000})).await;
    let err = expect_error(r, 413, "quota_exceeded").await;
    let fields = err.error.fields.unwrap();
    assert_eq!(fields["remaining_bytes"], "4000");
    assert_eq!(fields["quota_bytes"], "10000");
    assert_eq!(fields["used_bytes"], "6000");

    // An unfinished upload reserves its declared size; cancelling it gives the room back.
    let open = create_upload(&s, &a, json!({"name": "four.bin", "size": 4_000})).await;
    assert_eq!(open.status(), 201);
    let open: Value = open.json().await.unwrap();
    let r = create_upload(&s, &a, json!({"name": "one.bin", "size": 1})).await;
    let err = expect_error(r, 413, "quota_exceeded").await;
    assert_eq!(err.error.fields.unwrap()["remaining_bytes"], "0");
    let u = usage_of(&s, &root, "alice").await.unwrap();
    assert_eq!(
        (
            u["used_bytes"].as_u64(),
            u["attachments"].as_u64(),
            u["uploads_in_progress"].as_u64()
        ),
        (Some(10_000), Some(1), Some(1))
    );
    s.ok(
        Method::DELETE,
        &format!("/api/v1/uploads/{}", open["id"].as_str().unwrap()),
        None,
        &a,
        204,
    )
    .await;

    // The same content uploaded by bob is stored once, but counts in full for bob too (and
    // changes nothing for alice).
    upload(&s, &b, "same.bin", "file", &six).await;
    assert_eq!(
        usage_of(&s, &root, "bob").await.unwrap()["used_bytes"],
        6_000
    );
    assert_eq!(
        usage_of(&s, &root, "alice").await.unwrap()["used_bytes"],
        6_000
    );

    // Sent files count; deleting the message frees the space.
    let m = send_with(&s, &a, g, "q1", &[&first]).await;
    assert_eq!(m.status(), 201);
    let m: Value = m.json().await.unwrap();
    let r = create_upload(&s, &a, json!({"name": "more.bin", "size": 6_000})).await;
    expect_error(r, 413, "quota_exceeded").await;
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{g}/messages/{}", m["id"]),
        None,
        &a,
        204,
    )
    .await;
    let r = create_upload(&s, &a, json!({"name": "more.bin", "size": 6_000})).await;
    assert_eq!(r.status(), 201);

    // The usage report is for server admins only.
    expect_error(
        s.get("/api/v1/admin/media-usage", Some(&a)).await,
        403,
        "forbidden",
    )
    .await;
    let report = s
        .ok(Method::GET, "/api/v1/admin/media-usage", None, &root, 200)
        .await;
    assert_eq!(report["quota_bytes"], 10_000);
    assert_eq!(report["users"][0]["username"], "alice");
}

#[tokio::test]
async fn one_user_cannot_open_uploads_faster_than_the_rate() {
    let s = TestServer::start_with(|c| {
        c.media_upload_rate_per_minute = 1;
        c.media_upload_rate_burst = 3;
    })
    .await;
    let (a, b, _, _, _) = trio(&s).await;
    for i in 0..3 {
        let r = create_upload(&s, &a, json!({"name": format!("{i}.bin"), "size": 10})).await;
        assert_eq!(r.status(), 201);
    }
    let r = create_upload(&s, &a, json!({"name": "3.bin", "size": 10})).await;
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    expect_error(r, 429, "rate_limited").await;
    // Another user has their own budget.
    let r = create_upload(&s, &b, json!({"name": "b.bin", "size": 10})).await;
    assert_eq!(r.status(), 201);
}
