//! Standard Webhooks signatures: an endpoint's secret (`whsec_` + base64 of 24 to 64 random
//! bytes), drawn when a caller gives none, and the signature of one delivery: `v1,` + base64 of
//! HMAC-SHA256 with the secret's bytes over `{webhook-id}.{webhook-timestamp}.{body}`, so any of
//! the specification's libraries verifies it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";
use crate::limits::{
    WEBHOOK_SECRET_BYTES_DRAWN as SECRET_BYTES_DRAWN, WEBHOOK_SECRET_BYTES_MAX as SECRET_BYTES_MAX,
    WEBHOOK_SECRET_BYTES_MIN as SECRET_BYTES_MIN,
};

/// Why a secret was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("must start with {SECRET_PREFIX}")]
    Prefix,
    #[error("must be base64 after {SECRET_PREFIX}")]
    Base64,
    #[error("must hold {SECRET_BYTES_MIN} to {SECRET_BYTES_MAX} bytes")]
    Length,
}

/// The key bytes of a secret written `whsec_<base64>`.
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, SecretError> {
    let encoded = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or(SecretError::Prefix)?;
    let key = STANDARD.decode(encoded).map_err(|_| SecretError::Base64)?;
    if !(SECRET_BYTES_MIN..=SECRET_BYTES_MAX).contains(&key.len()) {
        return Err(SecretError::Length);
    }
    Ok(key)
}

/// A new secret of [`SECRET_BYTES_DRAWN`] random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; SECRET_BYTES_DRAWN];
    rand::thread_rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The `webhook-signature` header of a delivery.
pub fn sign(key: &[u8], webhook_id: &str, timestamp_seconds: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: the signature is the Standard Webhooks specification's own test vector, so its
    /// libraries verify our deliveries.
    #[test]
    fn signature_matches_the_specification_vector() {
        let key = decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    /// Goal: drawn secrets are new each time and read back; a secret without the prefix, not
    /// base64, or of the wrong length is refused with its reason.
    #[test]
    fn secrets_are_drawn_and_checked() {
        let secret = new_secret();
        assert_eq!(decode_secret(&secret).unwrap().len(), SECRET_BYTES_DRAWN);
        assert_ne!(secret, new_secret());
        assert_eq!(decode_secret("MfKQ9r8G"), Err(SecretError::Prefix));
        assert_eq!(decode_secret("whsec_not base64!"), Err(SecretError::Base64));
        assert_eq!(decode_secret("whsec_c2hvcnQ="), Err(SecretError::Length));
        let long = format!("{SECRET_PREFIX}{}", STANDARD.encode([7u8; 65]));
        assert_eq!(decode_secret(&long), Err(SecretError::Length));
    }
}
