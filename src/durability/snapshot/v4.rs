//! The snapshot's on-disk types, version 4: a company's version 3 record followed by its webhook
//! endpoints (configuration and progress). As with versions 2 and 3, bincode writes a struct's
//! fields one after the other, so a version 4 record is the version 3 record's bytes with the
//! endpoints' bytes after them, and an older record converts into this type with no endpoints.
//! Files in `tests/fixtures/v4/` must always decode into these.

use crate::durability::config::WebhookConfigV3;
use crate::durability::snapshot::v1::CompanySnapshotV1;
use crate::durability::snapshot::v2::{CompanyConfigV2, CompanySnapshotV2};
use crate::durability::snapshot::v3::{CompanySnapshotV3, EventsV3};
use serde::{Deserialize, Serialize};

/// The body of a version 4 snapshot, decoded (on disk each company is framed on its own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotV4 {
    /// See [`super::SnapshotV1::covered_lsn`].
    pub covered_lsn: u64,
    /// Every company, sorted by id.
    pub companies: Vec<CompanySnapshotV4>,
}

/// One company's state: version 3's three fields (so version 3's bytes), then its webhook
/// endpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanySnapshotV4 {
    pub base: CompanySnapshotV1,
    pub config: CompanyConfigV2,
    pub events: EventsV3,
    /// Sorted by id.
    pub webhooks: Vec<WebhookV4>,
}

impl From<CompanySnapshotV3> for CompanySnapshotV4 {
    /// An older record: a company without webhook endpoints (older versions had none).
    fn from(older: CompanySnapshotV3) -> CompanySnapshotV4 {
        CompanySnapshotV4 {
            base: older.base,
            config: older.config,
            events: older.events,
            webhooks: Vec::new(),
        }
    }
}

impl From<CompanySnapshotV2> for CompanySnapshotV4 {
    fn from(older: CompanySnapshotV2) -> CompanySnapshotV4 {
        CompanySnapshotV3::from(older).into()
    }
}

impl From<CompanySnapshotV1> for CompanySnapshotV4 {
    fn from(base: CompanySnapshotV1) -> CompanySnapshotV4 {
        CompanySnapshotV3::from(base).into()
    }
}

/// One webhook endpoint: its configuration and how far it got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookV4 {
    pub id: String,
    pub config: WebhookConfigV3,
    /// Every event up to this `seq` is acknowledged.
    pub acknowledged_seq: u64,
    /// Events before this `seq` that the endpoint had not received were dropped unsent.
    pub lost_before_seq: Option<u64>,
}
