//! Snapshot files: one file holds every company's state at one moment.
//!
//! On disk a snapshot is a fixed 48-byte header followed by a bincode 2 body:
//!
//! | bytes | field | why |
//! |---|---|---|
//! | 0..8 | magic `HOLDSNAP` | tells a snapshot from any other file |
//! | 8..12 | format version, u32 LE | a newer file is refused, never misread |
//! | 12..16 | reserved, zero | room for flags without a version bump of the header |
//! | 16..24 | created at, i64 LE, ms since the epoch | for operators and `snapshot inspect` |
//! | 24..32 | sequence number, u64 LE | orders snapshots; newest first on restore |
//! | 32..40 | body length, u64 LE | a truncated file is found before decoding |
//! | 40..44 | CRC-32C of the body, u32 LE | a flipped bit is found before decoding |
//! | 44..48 | CRC-32C of bytes 0..44, u32 LE | a damaged header is told from a damaged body |
//!
//! The body is [`SnapshotV4`]: the covered log position (u64 LE), the number of companies (u32
//! LE), then each company as its length (u32 LE) and its bincode 2 [`CompanySnapshotV4`] (older
//! files hold [`CompanySnapshotV1`]s, [`CompanySnapshotV2`]s or [`CompanySnapshotV3`]s, read as
//! version 4 records of companies with what they could have then: no configuration, no events,
//! no webhook endpoints), so that companies encode and decode on every core at once. The types of
//! [`v1`] and [`v2`] are the on-disk format, versioned and converted by hand from the core's
//! types, never derived on them, because a derive on a live type changes the file format
//! silently the day someone adds a field (rust-analyzer's rule). A test pins the bytes of a fixed
//! state, and files written by earlier builds (`tests/fixtures/`) must keep restoring: changing
//! the bytes needs a new version and a version bump, and older versions stay readable.
//!
//! Every check happens after reading and before anything is trusted: header checksum, length,
//! body checksum, decode, then the core's own restore checks (no overlap, no token twice).
//!
//! One file per noun: [`header`] (the fixed header), [`body`] (the framed companies), [`v1`],
//! [`v2`], [`v3`] and [`v4`] (the on-disk types), [`export`] (book -> record, a chunk at a time), [`restore`] (record ->
//! book), [`file`] (names, atomic write, listing, pruning, quarantine) and [`reference`] (the
//! value encoder only tests and tools use).

pub mod body;
pub mod export;
pub mod file;
pub mod header;
pub mod reference;
pub mod restore;
pub mod v1;
pub mod v2;
pub mod v3;
pub mod v4;

#[cfg(test)]
mod tests;

pub use body::{decode, decode_company, encode_file, verify, EncodedCompany, VerifiedBody};
pub use export::{export_company, export_encoded, CompanyExport};
pub use file::{
    file_name, highest_sequence, list, prune, quarantine, remove_temporaries, sequence_of,
    write_file, SnapshotInfo, CORRUPT_SUFFIX, SNAPSHOT_PREFIX, SNAPSHOT_SUFFIX, TEMPORARY_SUFFIX,
};
pub use header::{
    decode_header, SnapshotHeader, SNAPSHOT_FORMAT_VERSION, SNAPSHOT_FORMAT_VERSION_OLDEST,
    SNAPSHOT_HEADER_BYTES, SNAPSHOT_MAGIC,
};
pub use reference::{reference_encode_company, reference_encode_file};
pub use restore::restore_company;
pub use v1::{
    status_counts, CompanySnapshotV1, HistogramV1, IdempotencyV1, MetricsV1, ReservationV1,
    SegmentV1, SnapshotV1,
};
pub use v2::{CapacityV2, CompanyConfigV2, CompanySnapshotV2, SnapshotV2};
pub use v3::{CompanySnapshotV3, EventReservationV3, EventV3, EventsV3, SnapshotV3};
pub use v4::{CompanySnapshotV4, SnapshotV4, WebhookV4};

use std::io;

/// Why a snapshot file was refused.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {0} bytes, shorter than the {SNAPSHOT_HEADER_BYTES}-byte header")]
    ShortHeader(usize),
    #[error("wrong magic: not a holdfast snapshot")]
    WrongMagic,
    #[error("the header's checksum does not match: the header is damaged")]
    HeaderChecksum,
    #[error(
        "written by snapshot format version {found}; this holdfast reads versions up to \
         {supported}: run a newer holdfast, or move the file out of the data directory"
    )]
    NewerVersion { found: u32, supported: u32 },
    #[error("unknown snapshot format version {0}")]
    UnknownVersion(u32),
    #[error("the body should be {expected} bytes but the file holds {actual}: truncated")]
    Truncated { expected: u64, actual: u64 },
    #[error("the body should be {expected} bytes but the file holds {actual}: trailing bytes")]
    TrailingBytes { expected: u64, actual: u64 },
    #[error("the body's checksum does not match: the body is damaged")]
    BodyChecksum,
    #[error("the body does not decode: {0}")]
    Decode(String),
    #[error("company {company}: {detail}")]
    Invalid { company: String, detail: String },
    #[error("reading the file failed: {0}")]
    Io(#[from] io::Error),
}

impl SnapshotError {
    /// Whether the file is damaged (and may be renamed `*.corrupt` and skipped), as opposed to
    /// written by a newer holdfast (which must stop start-up) or unreadable for now (I/O).
    pub fn is_corruption(&self) -> bool {
        !matches!(
            self,
            SnapshotError::NewerVersion { .. } | SnapshotError::Io(_)
        )
    }
}
