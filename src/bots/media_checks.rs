//! What media we keep and send: Meta's size limits by kind, the types Meta supports (an
//! allow-list; a document may be any of them), a look at the first bytes for the types that
//! have a signature, and the SHA-256 Meta announced.

use base64::Engine;
use sha2::{Digest, Sha256};

/// The kind of a media message (`messages.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Audio,
    Video,
    Document,
    Sticker,
}

impl Kind {
    /// The kind named `name` (`image`, `audio`, `video`, `document`, `sticker`).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "image" => Self::Image,
            "audio" => Self::Audio,
            "video" => Self::Video,
            "document" => Self::Document,
            "sticker" => Self::Sticker,
            _ => return None,
        })
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Document => "document",
            Self::Sticker => "sticker",
        }
    }

    /// Meta's size limit for this kind, in bytes.
    pub fn max_bytes(self) -> u64 {
        const MB: u64 = 1024 * 1024;
        match self {
            Self::Image => 5 * MB,
            Self::Audio | Self::Video => 16 * MB,
            Self::Document => 100 * MB,
            Self::Sticker => 500 * 1024,
        }
    }

    /// The kind a file of `mime_type` is sent as when nobody says (a document for anything
    /// that is not an image, audio or video Meta plays).
    pub fn for_type(mime_type: &str) -> Self {
        let essence = essence(mime_type);
        [Self::Image, Self::Audio, Self::Video]
            .into_iter()
            .find(|k| types_of(*k).contains(&essence.as_str()))
            .unwrap_or(Self::Document)
    }
}

const IMAGES: &[&str] = &["image/jpeg", "image/png"];
const AUDIO: &[&str] = &[
    "audio/aac",
    "audio/amr",
    "audio/mpeg",
    "audio/mp4",
    "audio/ogg",
];
const VIDEO: &[&str] = &["video/3gpp", "video/mp4"];
const STICKERS: &[&str] = &["image/webp"];
const DOCUMENTS: &[&str] = &[
    "text/plain",
    "application/pdf",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];

fn types_of(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Image => IMAGES,
        Kind::Audio => AUDIO,
        Kind::Video => VIDEO,
        Kind::Sticker => STICKERS,
        Kind::Document => DOCUMENTS,
    }
}

/// `audio/ogg; codecs=opus` → `audio/ogg`, lower case.
fn essence(mime_type: &str) -> String {
    mime_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The allowed type `mime_type` amounts to for a `kind` message (one of our own constants, so
/// it is safe as a `Content-Type`), or why not.
pub fn allowed_type(kind: Kind, mime_type: &str) -> Result<&'static str, String> {
    let essence = essence(mime_type);
    let allowed: Vec<&'static str> = match kind {
        // People send photos, recordings and videos as documents too.
        Kind::Document => [DOCUMENTS, IMAGES, AUDIO, VIDEO].concat(),
        other => types_of(other).to_vec(),
    };
    allowed
        .into_iter()
        .find(|t| *t == essence)
        .ok_or_else(|| format!("{essence} is not a type we keep for {}", kind.as_str()))
}

/// Whether `bytes` look like `mime_type` (an allowed essence) where the type has a signature
/// that is cheap to check; types without one (plain text, AAC, MP3 without a tag) pass.
pub fn looks_like(mime_type: &str, bytes: &[u8]) -> bool {
    let starts = |sig: &[u8]| bytes.starts_with(sig);
    match mime_type {
        "image/jpeg" => starts(&[0xFF, 0xD8, 0xFF]),
        "image/png" => starts(b"\x89PNG\r\n\x1a\n"),
        "image/webp" => starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"),
        "application/pdf" => starts(b"%PDF-"),
        "audio/ogg" => starts(b"OggS"),
        "audio/amr" => starts(b"#!AMR"),
        "audio/mp4" | "video/mp4" | "video/3gpp" => bytes.get(4..8) == Some(b"ftyp"),
        // Office Open XML files are zip archives; the older ones are OLE compound files.
        t if t.starts_with("application/vnd.openxmlformats") => starts(b"PK\x03\x04"),
        "application/msword" | "application/vnd.ms-excel" | "application/vnd.ms-powerpoint" => {
            starts(&[0xD0, 0xCF, 0x11, 0xE0])
        }
        _ => true,
    }
}

/// Whether `bytes` have the SHA-256 `expected`, which Meta writes in hex or in base64.
pub fn sha256_matches(expected: &str, bytes: &[u8]) -> bool {
    let digest = Sha256::digest(bytes);
    let expected = expected.trim();
    expected.eq_ignore_ascii_case(&hex::encode(digest))
        || expected == base64::engine::general_purpose::STANDARD.encode(digest)
        || expected == base64::engine::general_purpose::URL_SAFE.encode(digest)
}

/// The size, type and signature checks for a file about to be sent as `kind`; the answer is
/// the type to send, or what to tell the person.
pub fn check_outgoing(kind: Kind, mime_type: &str, bytes: &[u8]) -> Result<&'static str, String> {
    let mime = allowed_type(kind, mime_type)?;
    if bytes.is_empty() {
        return Err("The file is empty.".into());
    }
    if bytes.len() as u64 > kind.max_bytes() {
        return Err(format!(
            "The file is larger than WhatsApp allows for {} ({} KB).",
            kind.as_str(),
            kind.max_bytes() / 1024
        ));
    }
    if !looks_like(mime, bytes) {
        return Err(format!("The file's content is not {mime}."));
    }
    Ok(mime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_allowed_by_kind_and_parameters_do_not_matter() {
        assert_eq!(
            allowed_type(Kind::Audio, "audio/ogg; codecs=opus"),
            Ok("audio/ogg")
        );
        assert_eq!(allowed_type(Kind::Image, "IMAGE/PNG"), Ok("image/png"));
        assert!(allowed_type(Kind::Image, "image/webp").is_err());
        assert!(allowed_type(Kind::Image, "text/html").is_err());
        assert!(allowed_type(Kind::Document, "application/x-msdownload").is_err());
        assert_eq!(allowed_type(Kind::Document, "image/jpeg"), Ok("image/jpeg"));
        assert_eq!(allowed_type(Kind::Sticker, "image/webp"), Ok("image/webp"));
    }

    #[test]
    fn signatures_are_checked_where_they_exist() {
        assert!(looks_like("image/png", b"\x89PNG\r\n\x1a\n...."));
        assert!(!looks_like("image/png", b"<html>"));
        assert!(looks_like("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(!looks_like("image/jpeg", b"\x89PNG\r\n\x1a\n"));
        assert!(looks_like("image/webp", b"RIFF\0\0\0\0WEBPVP8 "));
        assert!(looks_like("video/mp4", b"\0\0\0\x18ftypmp42"));
        assert!(!looks_like("application/pdf", b"MZ\x90\0"));
        assert!(looks_like("text/plain", b"hello"));
    }

    #[test]
    fn sha256_is_read_in_hex_or_base64() {
        let hex = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        assert!(sha256_matches(hex, b"hello"));
        assert!(sha256_matches(&hex.to_uppercase(), b"hello"));
        assert!(sha256_matches(
            "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
            b"hello"
        ));
        assert!(!sha256_matches(hex, b"hello!"));
    }

    #[test]
    fn limits_follow_meta() {
        assert_eq!(Kind::Image.max_bytes(), 5 * 1024 * 1024);
        assert_eq!(Kind::Sticker.max_bytes(), 500 * 1024);
        assert_eq!(Kind::for_type("video/mp4"), Kind::Video);
        assert_eq!(Kind::for_type("application/pdf"), Kind::Document);
        let big = vec![0xFFu8; 5 * 1024 * 1024 + 1];
        assert!(check_outgoing(Kind::Image, "image/jpeg", &big).is_err());
        assert!(check_outgoing(Kind::Image, "image/jpeg", &[0xFF, 0xD8, 0xFF, 1]).is_ok());
        assert!(check_outgoing(Kind::Image, "image/gif", b"GIF89a").is_err());
    }
}
