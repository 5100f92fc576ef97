//! The snapshot's on-disk types, version 2: a company's version 1 record followed by its
//! configuration (settings, configured resources, capacity states). bincode encodes a struct as
//! its fields one after the other, so a version 2 record is exactly the bytes of the version 1
//! record with the configuration's bytes after them: the export appends them, and a version 1
//! file decodes into the same type with the configuration every company had before it existed
//! ([`CompanyConfigV2::default`]). Files in `tests/fixtures/v2/` must always decode into these.

use crate::durability::config::{ResourceConfigV2, SettingsV2};
use crate::durability::snapshot::v1::CompanySnapshotV1;
use crate::limits;
use serde::{Deserialize, Serialize};

/// The body of a version 2 snapshot, decoded (on disk each company is framed on its own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotV2 {
    /// See [`super::SnapshotV1::covered_lsn`].
    pub covered_lsn: u64,
    /// Every company, sorted by id.
    pub companies: Vec<CompanySnapshotV2>,
}

/// One company's state: its reservations, keys and counters as version 1 stores them, then its
/// configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanySnapshotV2 {
    pub base: CompanySnapshotV1,
    pub config: CompanyConfigV2,
}

impl From<CompanySnapshotV1> for CompanySnapshotV2 {
    /// A version 1 record: a company that configured nothing (version 1 could not).
    fn from(base: CompanySnapshotV1) -> CompanySnapshotV2 {
        CompanySnapshotV2 {
            base,
            config: CompanyConfigV2::default(),
        }
    }
}

/// A company's configuration. Resources are named by their index in the record's resource names
/// ([`CompanySnapshotV1::resources`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyConfigV2 {
    pub settings: SettingsV2,
    /// Every configured resource, by name index.
    pub resources: Vec<(u32, ResourceConfigV2)>,
    /// Every resource whose calendar is not in the state of a resource never configured
    /// (capacity 1, entries pairwise disjoint).
    pub capacities: Vec<CapacityV2>,
}

impl Default for CompanyConfigV2 {
    fn default() -> CompanyConfigV2 {
        CompanyConfigV2 {
            settings: SettingsV2 {
                time_zone: "UTC".into(),
                locale: "en".into(),
                default_duration_minutes: limits::DEFAULT_DURATION_MINUTES,
                default_ttl_seconds: limits::TTL_SECONDS_DEFAULT,
            },
            resources: Vec::new(),
            capacities: Vec::new(),
        }
    }
}

/// What a resource's calendar admits: its capacity for new holds, the most entries that may
/// overlap at one instant (above the capacity after a lowering, until the overlaps are gone),
/// and the creation sequence number from which every reservation was admitted under the
/// capacity. Stored because the configuration alone cannot tell the ceiling: reservations held
/// under a capacity since lowered must still restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityV2 {
    pub resource: u32,
    pub capacity: u32,
    pub ceiling: u32,
    pub set_at_seq: u64,
}
