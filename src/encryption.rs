//! The key that encrypts secrets at rest, and its embedded-mode file.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Length of a nonce in a sealed value.
const NONCE_LEN: usize = 12;

/// A sealed value did not decrypt: wrong key, wrong context or damaged bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("sealed value does not decrypt with this key")]
pub struct OpenError;

/// Length of the key in bytes (256 bits).
pub const KEY_LEN: usize = 32;

/// A 256-bit key. Its bytes never appear in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey([u8; KEY_LEN]);

impl EncryptionKey {
    /// Parse 32 bytes written as base64 (standard or URL-safe, padded or not) or 64 hex digits.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let bytes = if raw.len() == 2 * KEY_LEN && raw.chars().all(|c| c.is_ascii_hexdigit()) {
            hex::decode(raw).map_err(|e| e.to_string())?
        } else {
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(raw).ok())
                .ok_or("must be base64 or 64 hex digits")?
        };
        let key: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("must be {KEY_LEN} bytes, got {}", b.len()))?;
        Ok(Self(key))
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = [0u8; KEY_LEN];
        rand::fill(&mut key);
        Self(key)
    }

    /// The raw key bytes, for the cipher.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Encrypt `plaintext` with AES-256-GCM under a fresh random nonce. `context` is bound to
    /// the ciphertext (associated data) so a sealed value cannot be moved to another row.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let nonce = Nonce::generate();
        let payload = Payload {
            msg: plaintext,
            aad: context,
        };
        let mut sealed = nonce.to_vec();
        // Encryption with a valid key and nonce only fails for inputs beyond 64 GiB.
        sealed.extend(self.cipher().encrypt(&nonce, payload).unwrap_or_default());
        sealed
    }

    /// Decrypt what [`seal`](Self::seal) produced with the same `context`.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, OpenError> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN).ok_or(OpenError)?;
        let nonce = Nonce::try_from(nonce).map_err(|_| OpenError)?;
        let payload = Payload {
            msg: ciphertext,
            aad: context,
        };
        self.cipher()
            .decrypt(&nonce, payload)
            .map_err(|_| OpenError)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }

    fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

/// Whether `load_or_generate` found a key or made one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    Loaded,
    Generated,
}

/// Read the key kept in `path`, or generate one and keep it there, readable by the owner only.
pub fn load_or_generate(path: &Path) -> io::Result<(EncryptionKey, KeyOrigin)> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let key = EncryptionKey::parse(&text).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is not a valid key: {e}", path.display()),
                )
            })?;
            let mode = fs::metadata(path)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(file = %path.display(), mode = format!("{mode:o}"), "encryption key file is readable by others; chmod 600 it");
            }
            Ok((key, KeyOrigin::Loaded))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)?;
            }
            let key = EncryptionKey::generate();
            // create_new: two processes starting at once must not overwrite each other's key.
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)?;
            writeln!(file, "{}", key.to_base64())?;
            file.sync_all()?;
            Ok((key, KeyOrigin::Generated))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base64_and_hex() {
        let bytes: Vec<u8> = (0u8..32).collect();
        let from_b64 = EncryptionKey::parse(&STANDARD.encode(&bytes)).unwrap();
        let from_url = EncryptionKey::parse(&URL_SAFE_NO_PAD.encode(&bytes)).unwrap();
        let from_hex = EncryptionKey::parse(&hex::encode(&bytes)).unwrap();
        assert_eq!(from_b64.as_bytes().as_slice(), bytes.as_slice());
        assert_eq!(from_b64, from_url);
        assert_eq!(from_b64, from_hex);
    }

    #[test]
    fn refuses_wrong_length() {
        let err = EncryptionKey::parse(&STANDARD.encode([7u8; 16])).unwrap_err();
        assert!(err.contains("32 bytes"), "{err}");
        assert!(EncryptionKey::parse("not base64 at all!").is_err());
    }

    #[test]
    fn generated_key_is_kept_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("encryption.key");
        let (first, origin) = load_or_generate(&path).unwrap();
        assert_eq!(origin, KeyOrigin::Generated);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (second, origin) = load_or_generate(&path).unwrap();
        assert_eq!(origin, KeyOrigin::Loaded);
        assert_eq!(first, second);
    }

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let key = EncryptionKey::generate();
        let sealed = key.seal(b"identity key", b"bot-1/identity");
        assert_ne!(&sealed[NONCE_LEN..], b"identity key".as_slice());
        assert_eq!(
            key.open(&sealed, b"bot-1/identity").unwrap(),
            b"identity key"
        );
        assert_eq!(key.open(&sealed, b"bot-2/identity"), Err(OpenError));
        assert_eq!(
            EncryptionKey::generate().open(&sealed, b"bot-1/identity"),
            Err(OpenError)
        );
        assert_eq!(key.open(&sealed[..5], b"bot-1/identity"), Err(OpenError));
        // A fresh nonce each time: sealing twice never gives the same bytes.
        assert_ne!(sealed, key.seal(b"identity key", b"bot-1/identity"));
    }

    #[test]
    fn debug_hides_the_key() {
        let key = EncryptionKey::generate();
        assert_eq!(format!("{key:?}"), "EncryptionKey([redacted])");
    }
}
