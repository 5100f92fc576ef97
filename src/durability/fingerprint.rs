//! The fingerprint of a hold request: what an idempotency key remembers of the request it named,
//! to tell a retry (the same request again) from a different request under the same key.
//!
//! It hashes the request's versioned on-disk form, the bincode bytes of [`HoldRequestV1`] (the
//! log record of a hold), with the idempotency key left out: the key names the request, it is
//! not its content. Those bytes change only with a new format version, never because a live type
//! was renamed or reordered, so a fingerprint remembered by one build (in a snapshot or in the
//! log) still matches the retry that the next build sees after an upgrade. A fingerprint of the
//! live types' `Debug` text would change with any renamed field, and every legitimate retry
//! after such an upgrade would be refused as `idempotency_mismatch`. The golden test below fails
//! when the bytes (or the hash) change; a change to them is a change of the on-disk format.
//!
//! The hash is CRC-32C twice, with two seeds, as 64 bits: stable across builds and platforms,
//! unlike `std`'s hasher (randomly keyed, and free to change between releases). It is not a
//! defence against forged collisions, and needs none: a key is its caller's own, so a collision
//! can only replay that caller's own earlier answer to it.
//!
//! The core takes the fingerprint as an input ([`Idempotency`]), because it cannot see this
//! module (arrows point down); the company actor and log replay compute it, only for a request
//! that has a key.

use crate::core::command::{HoldRequest, Idempotency};
use crate::durability::log::HoldRequestV1;

/// The seed of the fingerprint's high 32 bits (the low 32 bits are the plain CRC-32C).
const HIGH_SEED: u32 = 0x9e37_79b9;

/// The fingerprint of `request`'s content: everything but its idempotency key.
pub fn request_fingerprint(request: &HoldRequest) -> u64 {
    let mut content = HoldRequestV1::from_core(request);
    content.idempotency_key = None;
    let bytes = bincode::serde::encode_to_vec(&content, bincode::config::standard())
        .expect("encoding a request into memory cannot fail");
    let low = u64::from(crc32c::crc32c(&bytes));
    let high = u64::from(crc32c::crc32c_append(HIGH_SEED, &bytes));
    (high << 32) | low
}

/// What the `Book` needs of a keyed request to remember it or recognise its retry: its key with
/// its fingerprint. `None` for a request without a key, whose fingerprint is not computed (it
/// costs an encoding of the request).
pub fn idempotency_of(request: &HoldRequest) -> Option<Idempotency> {
    let key = request.idempotency_key()?;
    Some(Idempotency::new(key.clone(), request_fingerprint(request)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::command::{FindRequest, HoldOptions, HoldTarget, SegmentRequest, Segments};

    const BASE_MS: i64 = 1_798_761_600_000;
    const MINUTE_MS: i64 = 60_000;

    fn segments() -> HoldTarget {
        HoldTarget::Segments(
            Segments::new(vec![
                SegmentRequest::new("chair-1", BASE_MS, BASE_MS + 30 * MINUTE_MS).unwrap(),
                SegmentRequest::new("room-2", BASE_MS + 30 * MINUTE_MS, BASE_MS + 60 * MINUTE_MS)
                    .unwrap(),
            ])
            .unwrap(),
        )
    }

    fn find() -> HoldTarget {
        HoldTarget::Find(
            FindRequest::new(
                vec!["a".into(), "b".into()],
                BASE_MS,
                BASE_MS + 24 * 60 * MINUTE_MS,
                30 * MINUTE_MS,
                15 * MINUTE_MS,
            )
            .unwrap(),
        )
    }

    /// Every option set but the key.
    fn options_without_key() -> HoldOptions {
        HoldOptions::default()
            .with_ttl_seconds(120)
            .unwrap()
            .with_call_id("call-1")
            .unwrap()
            .with_customer_phone("+4915112345678")
            .unwrap()
            .with_service_id("haircut")
            .unwrap()
            .replacing_call_holds(true)
    }

    /// Every option set, under `key`.
    fn options(key: &str) -> HoldOptions {
        options_without_key().with_idempotency_key(key).unwrap()
    }

    /// Goal: the fingerprint of fixed requests, every field set, is pinned. If this fails, the
    /// on-disk bytes of a hold request (or the hash) changed, and every key remembered by an
    /// older build would refuse its own retries: bump the log format instead.
    #[test]
    fn golden_fingerprints() {
        let compound = HoldRequest::with_options(segments(), options("key-1"));
        let search = HoldRequest::with_options(find(), options("key-1"));
        assert_eq!(request_fingerprint(&compound), 0x7a37_55ad_401c_35d9);
        assert_eq!(request_fingerprint(&search), 0x87cd_13d0_39ce_bad3);
    }

    /// Goal: the key is not content (two requests differing only in key fingerprint alike), and
    /// every other field is (changing any one changes the fingerprint).
    #[test]
    fn every_field_but_the_key_counts() {
        let base = HoldRequest::with_options(segments(), options("key-1"));
        let other_key = HoldRequest::with_options(segments(), options("key-2"));
        let no_key = HoldRequest::with_options(segments(), HoldOptions::default())
            .target()
            .clone();
        assert_eq!(request_fingerprint(&base), request_fingerprint(&other_key));
        let without_key = HoldRequest::with_options(no_key, options_without_key());
        assert_eq!(
            request_fingerprint(&base),
            request_fingerprint(&without_key)
        );

        let one_segment = HoldTarget::Segments(
            Segments::new(vec![SegmentRequest::new(
                "chair-1",
                BASE_MS,
                BASE_MS + 30 * MINUTE_MS,
            )
            .unwrap()])
            .unwrap(),
        );
        let moved = HoldTarget::Segments(
            Segments::new(vec![
                SegmentRequest::new("chair-1", BASE_MS, BASE_MS + 31 * MINUTE_MS).unwrap(),
                SegmentRequest::new("room-2", BASE_MS + 31 * MINUTE_MS, BASE_MS + 60 * MINUTE_MS)
                    .unwrap(),
            ])
            .unwrap(),
        );
        let key = "key-1";
        let changed = [
            HoldRequest::with_options(find(), options(key)),
            HoldRequest::with_options(one_segment, options(key)),
            HoldRequest::with_options(moved, options(key)),
            HoldRequest::with_options(segments(), options(key).with_ttl_seconds(121).unwrap()),
            HoldRequest::with_options(segments(), options(key).with_call_id("call-2").unwrap()),
            HoldRequest::with_options(
                segments(),
                options(key).with_customer_phone("+4915112345679").unwrap(),
            ),
            HoldRequest::with_options(segments(), options(key).with_service_id("shave").unwrap()),
            HoldRequest::with_options(segments(), options(key).replacing_call_holds(false)),
        ];
        let mut seen = vec![request_fingerprint(&base)];
        for request in &changed {
            let fingerprint = request_fingerprint(request);
            assert!(
                !seen.contains(&fingerprint),
                "{request:?} fingerprints like another request"
            );
            seen.push(fingerprint);
        }
    }

    /// Goal: a request without a key costs no fingerprint and gets no idempotency; a keyed one
    /// gets its key with its fingerprint.
    #[test]
    fn idempotency_only_for_a_keyed_request() {
        assert_eq!(idempotency_of(&HoldRequest::new(segments())), None);
        let keyed = HoldRequest::with_options(segments(), options("key-1"));
        let idempotency = idempotency_of(&keyed).expect("keyed");
        assert_eq!(idempotency.key().as_str(), "key-1");
        assert_eq!(idempotency.fingerprint(), request_fingerprint(&keyed));
    }
}
