//! Retell: a custom function's `POST {"name", "args", "call"}` and the call webhooks'
//! `POST {"event", "call"}`, each signed with the company's Retell API key. The signature header
//! is `X-Retell-Signature: v=<unix ms>,d=<hex HMAC-SHA256 of the raw body followed by the
//! decimal ms>`; a request more than 5 minutes from the server's clock, malformed or wrong is
//! 401 and changes nothing. With no keys file (an open server on loopback) nothing is checked.
//!
//! The call object carries the whole call so far (transcripts with word timings), so the body
//! is read as raw bytes up to 1 MiB, checked, then parsed into the few fields used; the rest is
//! skipped by the parser, never kept.

use crate::http::error::ApiError;
use crate::limits;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

/// A custom function call.
#[derive(Debug, Deserialize)]
pub struct FunctionBody {
    pub name: String,
    #[serde(default)]
    pub args: Value,
    pub call: CallBody,
}

/// A call webhook.
#[derive(Debug, Deserialize)]
pub struct EventBody {
    pub event: String,
    pub call: CallBody,
}

/// The fields of Retell's call object that holdfast uses.
#[derive(Debug, Deserialize)]
pub struct CallBody {
    /// Empty when left out: refused then, naming `call.call_id`.
    #[serde(default)]
    pub call_id: String,
    #[serde(default)]
    pub from_number: Option<String>,
    /// `call_ended`'s reason (`user_hangup`, `call_transfer`, …).
    #[serde(default)]
    pub disconnection_reason: Option<String>,
}

/// Checks the `X-Retell-Signature` header of `body` against `key` at `now_ms`.
pub fn verify(header: Option<&str>, body: &[u8], key: &str, now_ms: i64) -> Result<(), ApiError> {
    let header = header.ok_or(ApiError::Unauthorized)?;
    let mut timestamp = None;
    let mut digest = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("v", value)) => timestamp = Some(value),
            Some(("d", value)) => digest = Some(value),
            _ => {}
        }
    }
    let (Some(timestamp), Some(digest)) = (timestamp, digest) else {
        return Err(ApiError::Unauthorized);
    };
    let at_ms: i64 = timestamp.parse().map_err(|_| ApiError::Unauthorized)?;
    if (now_ms - at_ms).abs() > limits::RETELL_SIGNATURE_AGE_MILLIS_MAX {
        return Err(ApiError::Unauthorized);
    }
    let digest = hex::decode(digest).map_err(|_| ApiError::Unauthorized)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac.update(timestamp.as_bytes());
    // Constant time: the comparison does not tell how much of a guess was right.
    mac.verify_slice(&digest)
        .map_err(|_| ApiError::Unauthorized)
}

/// Whether a call that ended was transferred (its holds then run out on their own).
pub fn transferred(call: &CallBody) -> bool {
    call.disconnection_reason.as_deref() == Some("call_transfer")
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_BODY: &[u8] = br#"{"event":"call_ended"}"#;
    const VECTOR_KEY: &str = "test-api-key";
    const VECTOR_MS: i64 = 1_700_000_000_000;
    const VECTOR_DIGEST: &str = "07024cabe7dd8f6d1c6e4a8324ca92c812e6ad4a7ee506c04f7e462e3321823e";

    /// Goal: the Retell SDKs' own test vector verifies; a changed body, key, digest or time, a
    /// stale or future time, and a malformed or missing header do not.
    #[test]
    fn the_sdk_test_vector() {
        let header = format!("v={VECTOR_MS},d={VECTOR_DIGEST}");
        assert!(verify(Some(&header), VECTOR_BODY, VECTOR_KEY, VECTOR_MS).is_ok());
        let in_window = VECTOR_MS + limits::RETELL_SIGNATURE_AGE_MILLIS_MAX;
        assert!(verify(Some(&header), VECTOR_BODY, VECTOR_KEY, in_window).is_ok());
        let refused = [
            (
                header.clone(),
                &br#"{"event":"call_started"}"#[..],
                VECTOR_KEY,
                VECTOR_MS,
            ),
            (header.clone(), VECTOR_BODY, "other-api-key", VECTOR_MS),
            (header.clone(), VECTOR_BODY, VECTOR_KEY, in_window + 1),
            (
                header.clone(),
                VECTOR_BODY,
                VECTOR_KEY,
                VECTOR_MS - in_window,
            ),
            (
                format!("v={},d={VECTOR_DIGEST}", VECTOR_MS + 1),
                VECTOR_BODY,
                VECTOR_KEY,
                VECTOR_MS,
            ),
            (
                format!("v={VECTOR_MS},d={}", &VECTOR_DIGEST[..62]),
                VECTOR_BODY,
                VECTOR_KEY,
                VECTOR_MS,
            ),
            (format!("v={VECTOR_MS}"), VECTOR_BODY, VECTOR_KEY, VECTOR_MS),
            ("d=00,v=x".to_string(), VECTOR_BODY, VECTOR_KEY, VECTOR_MS),
        ];
        for (header, body, key, now_ms) in refused {
            assert!(
                verify(Some(&header), body, key, now_ms).is_err(),
                "{header} {key} {now_ms}"
            );
        }
        assert!(verify(None, VECTOR_BODY, VECTOR_KEY, VECTOR_MS).is_err());
    }
}
