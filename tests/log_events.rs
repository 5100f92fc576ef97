//! Issue 6, structured logs from the core: one event per created, converted, cancelled and
//! expired reservation and per error, each with the company and the token, phones masked.
//!
//! This test has a test binary of its own on purpose. It installs a thread-scoped tracing
//! subscriber, and tracing caches each callsite's interest process-wide: when another test on
//! another thread reaches a callsite first (with no subscriber of its own), that thread can store
//! "never" for the callsite while this test's subscriber is being registered, and the event is
//! then lost here. That happened in CI once (the two `error` events went missing); alone in its
//! process, no other thread reaches the callsites.

use holdfast::core::book::{Book, Settings};
use holdfast::core::command::{HoldOptions, HoldRequest, HoldTarget, SegmentRequest, Segments};
use holdfast::core::error::{BookError, ErrorType};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// 2027-01-01T00:00:00Z: the book's clock.
const START_MS: i64 = 1_798_761_600_000;
const MINUTE_MS: i64 = 60_000;

/// A 30-minute hold on `resource` a day after the clock's start, slot `slot` of that day, with a
/// call id and a phone (the phone must appear masked in the log).
fn single_hold(resource: &str, slot: i64, ttl_seconds: i64) -> HoldRequest {
    let start_ms = START_MS + 24 * 60 * MINUTE_MS + slot * 30 * MINUTE_MS;
    let segment = SegmentRequest::new(resource, start_ms, start_ms + 30 * MINUTE_MS).unwrap();
    let target = HoldTarget::Segments(Segments::new(vec![segment]).unwrap());
    let options = HoldOptions::default()
        .with_ttl_seconds(ttl_seconds)
        .and_then(|o| o.with_call_id("call-1"))
        .and_then(|o| o.with_customer_phone("+4915112345678"))
        .unwrap();
    HoldRequest::with_options(target, options)
}

/// A log sink the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Goal: the core logs one structured event per created, converted, cancelled and expired
/// reservation and per error (edge refusals included), each with the company and the token, and
/// shows a phone only masked.
#[test]
fn one_structured_event_per_change_and_per_error() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || sink.clone())
        .finish();
    let tokens: Vec<Uuid> = (1..=4).map(Uuid::from_u128).collect();
    tracing::subscriber::with_default(subscriber, || {
        let mut book = Book::new("acme", Settings::default());
        let now = START_MS;
        for (index, token) in tokens.iter().enumerate() {
            book.hold(single_hold("r1", index as i64, 60), None, *token, now)
                .unwrap();
        }
        book.confirm(tokens[0], None, now).unwrap();
        book.cancel(tokens[1], Some("customer_hung_up".into()), now)
            .unwrap();
        book.expire_due(&[tokens[2]], now + 60_000);
        let conflict = book.hold(single_hold("r1", 0, 60), None, Uuid::from_u128(9), now);
        assert!(matches!(conflict, Err(BookError::Conflict { .. })));
        book.record_rejected(ErrorType::InvalidRequest, Some(tokens[3]));
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains("+4915112345678"), "a phone in clear: {text}");
    let events: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["fields"]["event"].as_str().unwrap(),
                e["fields"]["token"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    let t = |n: usize| tokens[n].to_string();
    let expected: Vec<(String, String)> = vec![
        ("created".into(), t(0)),
        ("created".into(), t(1)),
        ("created".into(), t(2)),
        ("created".into(), t(3)),
        ("converted".into(), t(0)),
        ("cancelled".into(), t(1)),
        ("expired".into(), t(2)),
        ("error".into(), "-".into()),
        ("error".into(), t(3)),
    ];
    let expected: Vec<(&str, &str)> = expected
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(kinds, expected);
    for event in &events {
        assert_eq!(event["fields"]["company"], "acme", "{event}");
        assert_eq!(event["level"], "INFO", "{event}");
    }
    assert_eq!(events[0]["fields"]["phone"], "+49151*****678");
    assert_eq!(events[0]["fields"]["call_id"], "call-1");
    assert_eq!(events[5]["fields"]["reason"], "customer_hung_up");
    assert_eq!(events[7]["fields"]["error_type"], "conflict");
    assert_eq!(events[8]["fields"]["error_type"], "invalid_request");
}
