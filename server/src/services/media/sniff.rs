//! What a file really is, decided from its bytes — never from its name or the uploader's claim —
//! and how it may be served.
//!
//! An executable named `cat.png` is detected as an executable, stored as
//! `application/x-executable`, filed as a plain `file` attachment and served with
//! `Content-Disposition: attachment`, so no browser renders or runs it.

use jeco_shared::media::{AttachmentKind, FILE_NAME_MAX};

/// Bytes read from the start of a file to detect its type.
pub const SNIFF_BYTES: usize = 8192;

const OCTET_STREAM: &str = "application/octet-stream";

/// Image formats the server decodes (dimensions, thumbnails, avatars).
pub fn is_decodable_image(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/jpeg" | "image/png" | "image/gif" | "image/webp"
    )
}

/// The content type of a file from its first bytes.
pub fn content_type(head: &[u8]) -> String {
    if let Some(kind) = infer::get(head) {
        let mime = kind.mime_type();
        // infer names WebM `video/webm` even when it holds only audio; a voice note is decided by
        // the uploader's kind below, the type stays what the container is. Likewise Ogg Opus
        // (infer: `audio/opus`, the RTP payload type of RFC 7587) is an Ogg file: `audio/ogg`
        // (RFC 7845 §9), which is what browsers and players expect when it is served.
        if mime == "audio/opus" {
            return "audio/ogg".to_owned();
        }
        return mime.to_owned();
    }
    if head.is_empty() {
        return "application/x-empty".to_owned();
    }
    if looks_like_text(head) {
        return "text/plain; charset=utf-8".to_owned();
    }
    OCTET_STREAM.to_owned()
}

/// UTF-8 without NUL or other control characters besides whitespace (a cut multi-byte sequence at
/// the very end of the sample is fine).
fn looks_like_text(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => {
            // Valid up to an incomplete character cut off by the sample's end.
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => return false,
    };
    !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
}

/// Audio containers a voice note may be in.
fn is_audio_container(content_type: &str) -> bool {
    content_type.starts_with("audio/") || content_type == "video/webm"
}

/// The kind an upload gets: what the uploader asked for when the bytes agree, else `file`.
/// A decodable image uploaded as a plain file stays a file (the uploader wants a download).
pub fn kind_for(requested: AttachmentKind, content_type: &str) -> AttachmentKind {
    match requested {
        AttachmentKind::Image if is_decodable_image(content_type) => AttachmentKind::Image,
        AttachmentKind::Voice if is_audio_container(content_type) => AttachmentKind::Voice,
        _ => AttachmentKind::File,
    }
}

/// Whether a browser may show the content inline. Only passive formats it renders without
/// running anything: raster images, audio and video. Everything else — HTML, SVG, PDF, text
/// (which an old browser could sniff as HTML), scripts, executables — is a download.
pub fn inline_safe(content_type: &str) -> bool {
    is_decodable_image(content_type)
        || content_type.starts_with("audio/")
        || matches!(content_type, "video/mp4" | "video/webm" | "video/ogg")
}

/// A file name safe to store and to show: the last path component (so `../../etc/passwd`
/// becomes `passwd` and `C:\\x\\a.txt` becomes `a.txt`), without control characters, without
/// leading dots (no hidden files), at most [`FILE_NAME_MAX`] characters keeping the extension;
/// `file` when nothing is left. The name is only metadata — storage paths never contain it.
pub fn clean_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    if cleaned.is_empty() {
        return "file".to_owned();
    }
    if cleaned.chars().count() <= FILE_NAME_MAX {
        return cleaned;
    }
    let (stem, ext) = match cleaned.rfind('.') {
        Some(i) if cleaned.len() - i <= 16 => (&cleaned[..i], &cleaned[i..]),
        _ => (cleaned.as_str(), ""),
    };
    let keep = FILE_NAME_MAX - ext.chars().count();
    format!("{}{ext}", stem.chars().take(keep).collect::<String>())
}

/// `Content-Disposition` with the name as a quoted ASCII fallback and RFC 5987 UTF-8.
pub fn content_disposition(inline: bool, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let disposition = if inline { "inline" } else { "attachment" };
    format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_bytes() {
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
        elf.resize(64, 0);
        assert_eq!(content_type(&elf), "application/x-executable");
        assert_eq!(
            content_type(b"MZ\x90\0\x03\0\0\0"),
            "application/vnd.microsoft.portable-executable"
        );
        assert_eq!(content_type(b"hello\nworld"), "text/plain; charset=utf-8");
        assert_eq!(content_type(b"\0\x01\x02garbage"), OCTET_STREAM);
        assert_eq!(content_type(b"OggS\0\x02\0\0\0\0\0\0\0\0"), "audio/ogg");
    }

    /// The first page of an Ogg Opus voice note (as the desktop app records them): a voice
    /// note, typed `audio/ogg`, and shown inline.
    #[test]
    fn ogg_opus_voice_notes_are_audio() {
        let mut page = b"OggS\0\x02".to_vec();
        page.extend_from_slice(&[0; 8]); // granule position
        page.extend_from_slice(b"OCEJ"); // serial
        page.extend_from_slice(&[0; 4]); // sequence
        page.extend_from_slice(&[0; 4]); // checksum
        page.extend_from_slice(&[1, 19]); // one segment of 19 bytes
        page.extend_from_slice(b"OpusHead\x01\x01\x38\x01\x80\xbb\0\0\0\0\0");
        assert_eq!(&page[28..36], b"OpusHead");
        let detected = content_type(&page);
        assert_eq!(detected, "audio/ogg");
        assert_eq!(
            kind_for(AttachmentKind::Voice, &detected),
            AttachmentKind::Voice
        );
        assert!(inline_safe(&detected));
    }

    #[test]
    fn kinds_follow_the_bytes() {
        assert_eq!(
            kind_for(AttachmentKind::Image, "image/png"),
            AttachmentKind::Image
        );
        assert_eq!(
            kind_for(AttachmentKind::Image, "application/x-executable"),
            AttachmentKind::File
        );
        assert_eq!(
            kind_for(AttachmentKind::Voice, "audio/ogg"),
            AttachmentKind::Voice
        );
        assert_eq!(
            kind_for(AttachmentKind::Voice, "video/webm"),
            AttachmentKind::Voice
        );
        assert_eq!(
            kind_for(AttachmentKind::Voice, "image/png"),
            AttachmentKind::File
        );
        assert_eq!(
            kind_for(AttachmentKind::File, "image/png"),
            AttachmentKind::File
        );
    }

    #[test]
    fn only_passive_types_are_inline() {
        assert!(inline_safe("image/png"));
        assert!(inline_safe("audio/ogg"));
        assert!(!inline_safe("text/html"));
        assert!(!inline_safe("image/svg+xml"));
        assert!(!inline_safe("application/pdf"));
        assert!(!inline_safe("text/plain; charset=utf-8"));
        assert!(!inline_safe("application/x-executable"));
    }

    #[test]
    fn file_names_lose_their_paths() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("..\\..\\windows\\win.ini"), "win.ini");
        assert_eq!(clean_file_name("/abs/path/a.txt"), "a.txt");
        assert_eq!(clean_file_name(".."), "file");
        assert_eq!(clean_file_name(".bashrc"), "bashrc");
        assert_eq!(clean_file_name("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(clean_file_name("evil\u{202e}gnp.exe"), "evilgnp.exe");
        assert_eq!(clean_file_name(""), "file");
        let long = format!("{}.jpeg", "x".repeat(500));
        let cut = clean_file_name(&long);
        assert_eq!(cut.chars().count(), FILE_NAME_MAX);
        assert!(cut.ends_with(".jpeg"));
    }

    #[test]
    fn dispositions_quote_safely() {
        assert_eq!(
            content_disposition(false, "a \"b\".txt"),
            "attachment; filename=\"a _b_.txt\"; filename*=UTF-8''a%20%22b%22.txt"
        );
        assert_eq!(
            content_disposition(true, "café.png"),
            "inline; filename=\"caf_.png\"; filename*=UTF-8''caf%C3%A9.png"
        );
    }
}
