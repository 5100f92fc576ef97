//! What the tests of the version 1 fixtures share (`tests/fixtures/v1/`, see its README): the
//! fixtures' tokens and times as literals, a fresh copy of the files for each test, and `check`,
//! the one comparison every restored reservation goes through.

#![allow(dead_code)] // each test binary uses its own part of this module

use holdfast::core::book::{Book, Settings};
use holdfast::core::reservation::Status;
use holdfast::durability::snapshot::{HistogramV1, IdempotencyV1};
use uuid::Uuid;

/// `T`, when the fixtures' manual clock started: 2027-01-01T00:00:00Z.
pub const BASE_MS: i64 = 1_798_761_600_000;
/// Every slot is on the next day, 2027-01-02.
pub const NEXT_DAY_MS: i64 = BASE_MS + 86_400_000;
/// The restore is run at `T+1,000 s`, after `a6` ran out and before `b4` does.
pub const RESTORE_AT_MS: i64 = BASE_MS + 1_000_000;
pub const SNAPSHOT_NAME: &str = "snapshot-00000000000000000001.bin";

pub const A1: &str = "26b875fc-f500-4104-bb54-b9af02a34e19";
pub const A2: &str = "620a484c-855d-4632-978d-d79f9c90aa03";
pub const A3: &str = "5524712d-e690-4468-9ccd-baece815127a";
pub const A4: &str = "794ed52b-4c7a-4569-87c2-493cc224e89b";
pub const A5: &str = "20e9f559-f25a-440c-8a94-479a841d6579";
pub const A6: &str = "ec4d22ef-aa18-48ab-b0be-7819f068fcab";
pub const B1: &str = "c1fd42a3-6911-4f47-acf2-e39f08a8b2f5";
pub const B2: &str = "257d9a12-bbc6-4bd9-8442-fff3976efda3";
pub const B3: &str = "d57afa2f-1379-4024-9336-704dca06e306";
pub const B4: &str = "a999b023-a44f-4f0d-bda0-6c1fd80b8d00";

/// `T` plus `seconds`.
pub fn at(seconds: i64) -> i64 {
    BASE_MS + seconds * 1_000
}

/// `hours:minutes` on the next day.
pub fn slot(hours: i64, minutes: i64) -> i64 {
    NEXT_DAY_MS + (hours * 60 + minutes) * 60_000
}

/// A token written as text.
pub fn uuid(text: &str) -> Uuid {
    Uuid::parse_str(text).expect("a literal token")
}

/// A token as the on-disk types store it.
pub fn token(text: &str) -> [u8; 16] {
    uuid(text).into_bytes()
}

/// The settings the fixtures were made with: housekeeping replays against the retention.
pub fn settings() -> Settings {
    Settings {
        retention_seconds: 600,
        ..Settings::default()
    }
}

/// A copy of the fixtures in a temporary directory: restore may repair files, and the committed
/// ones must never change.
pub fn fixtures() -> tempfile::TempDir {
    crate::fixtures_support::copy_of("v1")
}

/// A segment on the next day: resource, start `(hours, minutes)`, end `(hours, minutes)`.
pub type NextDaySegment = (&'static str, (i64, i64), (i64, i64));

/// One reservation as a caller must read it back.
pub struct Expected {
    pub token: &'static str,
    pub status: Status,
    pub segments: &'static [NextDaySegment],
    pub call_id: Option<&'static str>,
    pub customer_phone: Option<&'static str>,
    pub service_id: Option<&'static str>,
    pub reserved_at_s: i64,
    pub expires_at_s: i64,
    pub appointment_id: Option<&'static str>,
    pub converted_at_s: Option<i64>,
    pub cancelled_at_s: Option<i64>,
    pub cancel_reason: Option<&'static str>,
    pub expired_at_s: Option<i64>,
}

/// A reservation with nothing set, made at `T`: each expectation below names what differs.
pub const NOTHING: Expected = Expected {
    token: "",
    status: Status::Active,
    segments: &[],
    call_id: None,
    customer_phone: None,
    service_id: None,
    reserved_at_s: 0,
    expires_at_s: 0,
    appointment_id: None,
    converted_at_s: None,
    cancelled_at_s: None,
    cancel_reason: None,
    expired_at_s: None,
};

// The states the snapshot holds (the full restore changes `a2` and `b1` afterwards).

pub const A1_BOOKED: Expected = Expected {
    token: A1,
    status: Status::Converted,
    segments: &[("chair-1", (9, 0), (9, 30))],
    call_id: Some("call-1"),
    customer_phone: Some("+4915112345678"),
    service_id: Some("haircut"),
    expires_at_s: 300,
    appointment_id: Some("A-17"),
    converted_at_s: Some(10),
    ..NOTHING
};
pub const A2_HELD: Expected = Expected {
    token: A2,
    segments: &[
        ("chair-1", (10, 0), (10, 30)),
        ("basin-1", (10, 30), (10, 45)),
    ],
    call_id: Some("call-2"),
    service_id: Some("colour"),
    expires_at_s: 920,
    ..NOTHING
};
pub const A3_EXPIRED: Expected = Expected {
    token: A3,
    status: Status::Expired,
    segments: &[("chair-2", (9, 0), (10, 0))],
    expires_at_s: 120,
    expired_at_s: Some(120),
    ..NOTHING
};
pub const A4_CANCELLED: Expected = Expected {
    token: A4,
    status: Status::Cancelled,
    segments: &[("chair-3", (11, 0), (11, 30))],
    call_id: Some("call-4"),
    expires_at_s: 300,
    cancelled_at_s: Some(40),
    cancel_reason: Some("customer_hung_up"),
    ..NOTHING
};
pub const B1_HELD: Expected = Expected {
    token: B1,
    segments: &[("room-1", (14, 0), (15, 0))],
    call_id: Some("call-b1"),
    customer_phone: Some("+33612345678"),
    expires_at_s: 300,
    ..NOTHING
};

/// Checks the reservation `expected` describes as `book` answers it at `now_ms`.
pub fn check(book: &mut Book, now_ms: i64, expected: &Expected) {
    let token = uuid(expected.token);
    let view = book.get(token, now_ms).expect("the reservation is there");
    let context = format!("{} {token}", book.company());
    let segments: Vec<(String, i64, i64)> = view
        .segments
        .iter()
        .map(|s| (s.resource.to_string(), s.start_ms, s.end_ms))
        .collect();
    let expected_segments: Vec<(String, i64, i64)> = expected
        .segments
        .iter()
        .map(|(resource, (h1, m1), (h2, m2))| {
            (resource.to_string(), slot(*h1, *m1), slot(*h2, *m2))
        })
        .collect();
    assert_eq!(view.token, token, "{context}");
    assert_eq!(&*view.company, &**book.company(), "{context}");
    assert_eq!(view.status, expected.status, "{context}: status");
    assert_eq!(segments, expected_segments, "{context}: segments");
    assert_eq!(view.compound, expected.segments.len() > 1, "{context}");
    assert_eq!(view.call_id.as_deref(), expected.call_id, "{context}");
    assert_eq!(
        view.customer_phone.as_deref(),
        expected.customer_phone,
        "{context}"
    );
    assert_eq!(view.service_id.as_deref(), expected.service_id, "{context}");
    assert_eq!(view.reserved_at_ms, at(expected.reserved_at_s), "{context}");
    assert_eq!(view.expires_at_ms, at(expected.expires_at_s), "{context}");
    assert_eq!(
        view.appointment_id.as_deref(),
        expected.appointment_id,
        "{context}"
    );
    assert_eq!(
        view.converted_at_ms,
        expected.converted_at_s.map(at),
        "{context}"
    );
    assert_eq!(
        view.cancelled_at_ms,
        expected.cancelled_at_s.map(at),
        "{context}"
    );
    assert_eq!(
        view.cancel_reason.as_deref(),
        expected.cancel_reason,
        "{context}"
    );
    assert_eq!(
        view.expired_at_ms,
        expected.expired_at_s.map(at),
        "{context}"
    );
}

/// Checks that `book` holds exactly the reservations `expected` describes.
pub fn check_all(book: &mut Book, now_ms: i64, expected: &[Expected]) {
    assert_eq!(
        book.len(),
        expected.len(),
        "{}: reservations",
        book.company()
    );
    for reservation in expected {
        check(book, now_ms, reservation);
    }
}

/// The metrics object's counters: created, created_single, created_compound, converted, expired,
/// cancelled, errors, active, live, requests, confirm_attempts, confirm_successes.
pub type MetricsCounts = [u64; 12];

/// Checks the metrics object's counters, and its non-zero cancel reasons and error types. Runs
/// before any read, because a read counts as a request.
pub fn check_metrics(
    book: &Book,
    counts: MetricsCounts,
    reasons: &[(&str, u64)],
    errors: &[(&str, u64)],
) {
    let m = book.metrics_report();
    let actual = [
        m.created,
        m.created_single,
        m.created_compound,
        m.converted,
        m.expired,
        m.cancelled,
        m.errors,
        m.active,
        m.live,
        m.requests,
        m.confirm_attempts,
        m.confirm_successes,
    ];
    assert_eq!(actual, counts, "{}: counters", book.company());
    let reasons: Vec<(String, u64)> = reasons.iter().map(|(r, n)| (r.to_string(), *n)).collect();
    let actual_reasons: Vec<(String, u64)> = m.cancelled_by_reason.into_iter().collect();
    assert_eq!(actual_reasons, reasons, "{}", book.company());
    let errors: Vec<(String, u64)> = errors.iter().map(|(e, n)| (e.to_string(), *n)).collect();
    let actual_errors: Vec<(String, u64)> = m
        .errors_by_type
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(actual_errors, errors, "{}", book.company());
}

/// An idempotency key as stored: its request's fingerprint, its reservation, its creation.
pub fn key(key: &str, fingerprint: u64, owner: &str, created_at_s: i64) -> IdempotencyV1 {
    IdempotencyV1 {
        key: key.into(),
        fingerprint,
        token: token(owner),
        created_at_ms: at(created_at_s),
    }
}

/// A histogram as stored: `(highest value of a bucket, count)` for each non-empty bucket.
pub fn histogram(buckets: &[(u64, u64)]) -> HistogramV1 {
    HistogramV1 {
        buckets: buckets.to_vec(),
    }
}
