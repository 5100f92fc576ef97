//! The snapshot's on-disk types, version 3: a company's version 2 record followed by its events
//! (the `seq` the next one gets, and the kept ones with the reservation each carries). As with
//! version 2, bincode writes a struct's fields one after the other, so a version 3 record is the
//! version 2 record's bytes with the events' bytes after them (its fields are version 2's, then
//! `events`), and an older record converts into this type with no events
//! ([`EventsV3::default`]: the next event is 1). Files in `tests/fixtures/v3/` must always
//! decode into these.

use crate::durability::snapshot::v1::{CompanySnapshotV1, SegmentV1};
use crate::durability::snapshot::v2::{CompanyConfigV2, CompanySnapshotV2};
use serde::{Deserialize, Serialize};

/// The body of a version 3 snapshot, decoded (on disk each company is framed on its own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotV3 {
    /// See [`super::SnapshotV1::covered_lsn`].
    pub covered_lsn: u64,
    /// Every company, sorted by id.
    pub companies: Vec<CompanySnapshotV3>,
}

/// One company's state: reservations, keys, counters and configuration as version 2 stores them
/// (the same two fields, so the same bytes), then its events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanySnapshotV3 {
    pub base: CompanySnapshotV1,
    pub config: CompanyConfigV2,
    pub events: EventsV3,
}

impl From<CompanySnapshotV2> for CompanySnapshotV3 {
    /// An older record: a company whose events start now (older versions had none).
    fn from(older: CompanySnapshotV2) -> CompanySnapshotV3 {
        CompanySnapshotV3 {
            base: older.base,
            config: older.config,
            events: EventsV3::default(),
        }
    }
}

impl From<CompanySnapshotV1> for CompanySnapshotV3 {
    /// A version 1 record: no configuration, no events.
    fn from(base: CompanySnapshotV1) -> CompanySnapshotV3 {
        CompanySnapshotV2::from(base).into()
    }
}

/// A company's events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsV3 {
    /// The `seq` the next event gets: numbering goes on across a restart.
    pub next_seq: u64,
    /// The kept events, oldest first, their `seq`s consecutive and ending at `next_seq - 1`.
    pub kept: Vec<EventV3>,
}

impl Default for EventsV3 {
    fn default() -> EventsV3 {
        EventsV3 {
            next_seq: 1,
            kept: Vec::new(),
        }
    }
}

/// One event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventV3 {
    pub seq: u64,
    /// 0 created, 1 extended, 2 converted, 3 cancelled, 4 expired.
    pub kind: u8,
    pub occurred_at_ms: i64,
    pub reservation: EventReservationV3,
}

/// The reservation as an event carries it: as it was right after the change. Segments name
/// resources by their index in the record's resource names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventReservationV3 {
    pub token: [u8; 16],
    /// 0 active, 1 converted, 2 expired, 3 cancelled.
    pub status: u8,
    pub segments: Vec<SegmentV1>,
    pub call_id: Option<String>,
    pub customer_phone: Option<String>,
    pub service_id: Option<String>,
    pub appointment_id: Option<String>,
    pub cancel_reason: Option<String>,
    pub reserved_at_ms: i64,
    pub expires_at_ms: i64,
    pub converted_at_ms: Option<i64>,
    pub cancelled_at_ms: Option<i64>,
    pub expired_at_ms: Option<i64>,
}
