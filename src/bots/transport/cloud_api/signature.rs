//! Meta's two proofs that a webhook call is ours: the `X-Hub-Signature-256` header on every POST
//! (HMAC-SHA256 of the raw body under the app secret) and the `hub.mode=subscribe` handshake on
//! the GET Meta sends when the webhook URL is registered.
//!
//! Both compare in constant time so a forger learns nothing from how long a refusal takes.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header's value starts with this, then 64 hex digits.
const PREFIX: &str = "sha256=";
/// A SHA-256 digest is 32 bytes, so 64 hex digits.
const DIGEST_HEX_LEN: usize = 64;
/// Meta's challenge is a short number; anything longer or stranger is not echoed, so the
/// endpoint can never be made to reflect arbitrary text.
const MAX_CHALLENGE_LEN: usize = 256;

/// Why a delivery's signature was refused. `label` names the case for a log field or metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header at all.
    #[error("the X-Hub-Signature-256 header is missing")]
    Missing,
    /// A header that is not `sha256=` followed by 64 hex digits.
    #[error("the X-Hub-Signature-256 header is malformed: {0}")]
    Malformed(Malformed),
    /// A well-formed signature that does not match the body under our app secret.
    #[error("the X-Hub-Signature-256 signature does not match the body")]
    Mismatch,
}

/// What exactly is wrong with a malformed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// The value does not start with `sha256=`.
    #[error("no sha256= prefix")]
    NoPrefix,
    /// The digest is not 64 characters long.
    #[error("the digest is not 64 hex digits long")]
    WrongLength,
    /// The digest has a character that is not a hex digit.
    #[error("the digest is not hex")]
    BadHex,
}

impl SignatureError {
    /// A short, stable name for the case: `missing`, `malformed` or `mismatch`.
    pub fn label(&self) -> &'static str {
        match self {
            SignatureError::Missing => "missing",
            SignatureError::Malformed(_) => "malformed",
            SignatureError::Mismatch => "mismatch",
        }
    }
}

/// Checks `X-Hub-Signature-256: sha256=<hex>` against the HMAC-SHA256 of `raw_body` under
/// `app_secret`. The body must be the bytes exactly as received: a body parsed and serialised
/// again differs in bytes and is refused, even when it holds the same JSON.
///
/// An empty app secret verifies nothing (a forger could sign with an empty key too).
pub fn verify(
    app_secret: &[u8],
    raw_body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let digest_hex = header
        .trim()
        .strip_prefix(PREFIX)
        .ok_or(SignatureError::Malformed(Malformed::NoPrefix))?;
    if digest_hex.len() != DIGEST_HEX_LEN {
        return Err(SignatureError::Malformed(Malformed::WrongLength));
    }
    let mut digest = [0u8; DIGEST_HEX_LEN / 2];
    hex::decode_to_slice(digest_hex, &mut digest)
        .map_err(|_| SignatureError::Malformed(Malformed::BadHex))?;
    if app_secret.is_empty() {
        return Err(SignatureError::Mismatch);
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret).map_err(|_| SignatureError::Mismatch)?;
    mac.update(raw_body);
    mac.verify_slice(&digest)
        .map_err(|_| SignatureError::Mismatch)
}

/// Answers Meta's subscribe handshake (`GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`):
/// the challenge to echo back when the mode is `subscribe` and the token is ours, `None` (answer
/// 403) otherwise. An empty expected token never matches, so an unset token refuses everyone.
pub fn handshake(
    mode: Option<&str>,
    verify_token_sent: Option<&str>,
    challenge: Option<&str>,
    expected_token: &str,
) -> Option<String> {
    if mode != Some("subscribe") || expected_token.is_empty() {
        return None;
    }
    let sent = verify_token_sent?;
    if !bool::from(sent.as_bytes().ct_eq(expected_token.as_bytes())) {
        return None;
    }
    let challenge = challenge?;
    let echoable = !challenge.is_empty()
        && challenge.len() <= MAX_CHALLENGE_LEN
        && challenge
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'));
    echoable.then(|| challenge.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"app-secret-for-tests";
    const BODY: &[u8] =
        br#"{"object": "whatsapp_business_account",  "entry": [{"id": "1", "changes": []}]}"#;

    /// Signs as Meta does: `sha256=` and the lowercase hex HMAC-SHA256 of the raw bytes.
    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length is accepted");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_body_signed_with_the_app_secret_is_accepted() {
        let header = sign(SECRET, BODY);
        assert_eq!(verify(SECRET, BODY, Some(&header)), Ok(()));
    }

    #[test]
    fn an_uppercase_digest_is_accepted() {
        let header = sign(SECRET, BODY);
        let upper = format!("sha256={}", header[PREFIX.len()..].to_ascii_uppercase());
        assert_eq!(verify(SECRET, BODY, Some(&upper)), Ok(()));
    }

    #[test]
    fn a_body_with_one_byte_changed_is_refused() {
        let header = sign(SECRET, BODY);
        let mut forged = BODY.to_vec();
        let last_digit = forged
            .iter()
            .position(|byte| *byte == b'1')
            .expect("the body has a 1");
        forged[last_digit] = b'2';
        assert_eq!(
            verify(SECRET, &forged, Some(&header)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_body_signed_with_another_secret_is_refused() {
        let header = sign(b"someone-elses-secret", BODY);
        assert_eq!(
            verify(SECRET, BODY, Some(&header)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_reserialised_body_is_refused_though_its_json_is_the_same() {
        let header = sign(SECRET, BODY);
        let value: serde_json::Value = serde_json::from_slice(BODY).expect("the body is JSON");
        let reserialised = serde_json::to_vec(&value).expect("a value serialises");
        assert_ne!(reserialised, BODY, "the test needs different bytes");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&reserialised).expect("still JSON"),
            value
        );
        assert_eq!(
            verify(SECRET, &reserialised, Some(&header)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_missing_header_is_refused_as_missing() {
        let refused = verify(SECRET, BODY, None);
        assert_eq!(refused, Err(SignatureError::Missing));
        assert_eq!(refused.unwrap_err().label(), "missing");
    }

    #[test]
    fn malformed_headers_are_refused_with_their_reason() {
        let good = sign(SECRET, BODY);
        let digest = &good[PREFIX.len()..];
        let cases = [
            (digest.to_owned(), Malformed::NoPrefix),
            (format!("sha1={digest}"), Malformed::NoPrefix),
            (String::new(), Malformed::NoPrefix),
            ("sha256=".to_owned(), Malformed::WrongLength),
            (format!("sha256={}", &digest[..62]), Malformed::WrongLength),
            (format!("sha256={digest}00"), Malformed::WrongLength),
            (format!("sha256=zz{}", &digest[2..]), Malformed::BadHex),
        ];
        for (header, reason) in cases {
            let refused = verify(SECRET, BODY, Some(&header));
            assert_eq!(
                refused,
                Err(SignatureError::Malformed(reason)),
                "{header:?}"
            );
            assert_eq!(refused.unwrap_err().label(), "malformed");
        }
    }

    #[test]
    fn an_empty_app_secret_verifies_nothing() {
        let header = sign(b"", BODY);
        assert_eq!(
            verify(b"", BODY, Some(&header)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_handshake_echoes_the_challenge_for_the_right_token() {
        let answer = handshake(
            Some("subscribe"),
            Some("our-token"),
            Some("1158201444"),
            "our-token",
        );
        assert_eq!(answer.as_deref(), Some("1158201444"));
    }

    #[test]
    fn the_handshake_refuses_a_wrong_or_missing_token() {
        for sent in [Some("their-token"), Some("our-toke"), Some(""), None] {
            assert_eq!(
                handshake(Some("subscribe"), sent, Some("1158201444"), "our-token"),
                None,
                "{sent:?}"
            );
        }
    }

    #[test]
    fn the_handshake_refuses_another_mode_or_an_unset_token() {
        assert_eq!(
            handshake(Some("unsubscribe"), Some("t"), Some("42"), "t"),
            None
        );
        assert_eq!(handshake(None, Some("t"), Some("42"), "t"), None);
        assert_eq!(handshake(Some("subscribe"), Some(""), Some("42"), ""), None);
    }

    #[test]
    fn the_handshake_never_echoes_markup_or_an_empty_challenge() {
        for challenge in [Some("<script>"), Some(""), None] {
            assert_eq!(
                handshake(Some("subscribe"), Some("t"), challenge, "t"),
                None,
                "{challenge:?}"
            );
        }
    }
}
