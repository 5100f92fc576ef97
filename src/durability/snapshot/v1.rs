//! The snapshot's on-disk types, version 1: what one company's state is in a file. They are the
//! format, converted by hand from the core's types ([`super::export`], [`super::restore`]) and
//! never derived on them, because a derive on a live type changes the file silently the day
//! someone adds a field. Changing their bytes needs a `SnapshotV2` and a version bump; files in
//! `tests/fixtures/v1/` must always decode into these.

use crate::core::reservation::Status;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The body of a version 1 snapshot, decoded (on disk each company is framed on its own: see
/// [`super::encode_file`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotV1 {
    /// Every log record with a sequence number at or below this one is in the snapshot: log
    /// segments entirely at or below it may be removed once the snapshot is durable.
    pub covered_lsn: u64,
    /// Every company, sorted by id.
    pub companies: Vec<CompanySnapshotV1>,
}

/// One company's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanySnapshotV1 {
    pub company: String,
    /// The last log record this company applied; replay skips this company's records up to it.
    pub last_lsn: u64,
    /// Resource names, indexed by [`SegmentV1::resource`]: every name the company's book has
    /// interned, in the order it did (so an index is the book's own resource id).
    pub resources: Vec<String>,
    /// Every reservation, in no particular order (restore does not depend on it; the company's
    /// export writes them in the order it copies them).
    pub reservations: Vec<ReservationV1>,
    /// Remembered idempotency keys, oldest first.
    pub idempotency: Vec<IdempotencyV1>,
    pub metrics: MetricsV1,
}

/// A reservation. Times that are mostly close to another time are stored as differences, which
/// bincode's variable-length integers write in a few bytes instead of nine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationV1 {
    pub token: [u8; 16],
    pub seq: u64,
    /// 0 active, 1 converted, 2 expired, 3 cancelled.
    pub status: u8,
    pub segments: Vec<SegmentV1>,
    pub call_id: Option<String>,
    pub customer_phone: Option<String>,
    pub service_id: Option<String>,
    pub appointment_id: Option<String>,
    pub cancel_reason: Option<String>,
    pub reserved_at_ms: i64,
    /// `expires_at - reserved_at`.
    pub ttl_ms: i64,
    pub converted_at_ms: Option<i64>,
    pub cancelled_at_ms: Option<i64>,
    pub expired_at_ms: Option<i64>,
}

/// One segment: `[start_ms, start_ms + length_ms)` on `resources[resource]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentV1 {
    pub resource: u32,
    pub start_ms: i64,
    pub length_ms: i64,
}

/// One remembered idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyV1 {
    pub key: String,
    pub fingerprint: u64,
    pub token: [u8; 16],
    pub created_at_ms: i64,
}

/// The counters. Maps are lists of `(name, count)` by the API's names, so that a reordered enum
/// does not reorder the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsV1 {
    pub created_single: u64,
    pub created_compound: u64,
    pub converted: u64,
    pub expired: u64,
    pub cancelled: u64,
    pub cancelled_by_reason: Vec<(String, u64)>,
    pub errors_by_type: Vec<(String, u64)>,
    pub confirm_attempts: u64,
    pub confirm_successes: u64,
    pub requests: u64,
    pub time_to_conversion_ms: HistogramV1,
    pub expired_lifetime_ms: HistogramV1,
    pub hold_latency_micros: HistogramV1,
}

/// A histogram as its non-empty buckets: `(highest value of the bucket, count)`. Recording each
/// value back lands it in the same bucket, so quantiles survive exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramV1 {
    pub buckets: Vec<(u64, u64)>,
}

/// The stored code of a status.
pub(crate) fn status_code(status: Status) -> u8 {
    match status {
        Status::Active => 0,
        Status::Converted => 1,
        Status::Expired => 2,
        Status::Cancelled => 3,
    }
}

/// The status of a stored code (`None` for a code this build does not know).
pub(crate) fn status_from_code(code: u8) -> Option<Status> {
    match code {
        0 => Some(Status::Active),
        1 => Some(Status::Converted),
        2 => Some(Status::Expired),
        3 => Some(Status::Cancelled),
        _ => None,
    }
}

/// Counts of one company's reservations by stored status, for `snapshot inspect`.
pub fn status_counts(company: &CompanySnapshotV1) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for status in [
        Status::Active,
        Status::Converted,
        Status::Expired,
        Status::Cancelled,
    ] {
        counts.insert(status.as_str(), 0);
    }
    for reservation in &company.reservations {
        let name = status_from_code(reservation.status).map_or("unknown", Status::as_str);
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}
