//! Durability: what survives a restart. Two mechanisms, both in the data directory:
//!
//! - [`snapshot`]: every company's state in one checksummed, versioned file, written atomically
//!   (temporary file, sync, rename, sync the directory); the newest few are kept.
//! - [`log`]: the write-ahead log of every change since, synced in groups before the change is
//!   answered (`--durability wal`, the default). With `--durability snapshot` only snapshots are
//!   kept and a crash loses what changed since the last one.
//!
//! Beside them, [`files`] holds the file mechanics both share (the directory's lock, numbered
//! names, atomic writes, directory syncs).
//!
//! Start-up ([`restore()`]) takes the newest snapshot that verifies (a damaged one is renamed
//! `*.corrupt`, logged with its reason and never deleted; one from a newer format stops start-up),
//! replays the log records it does not hold, and expires holds whose time ran out while the server
//! was down, counting them as expired. Nothing here knows about actors or HTTP: the snapshotter
//! actor and the engine call in.
//!
//! Invariants:
//! - a change's log record is appended by its company's actor right after the change, so LSN
//!   order is each company's order of changes; a company's snapshot records the last LSN it
//!   applied, and replay skips that company's records up to it;
//! - a log segment is removed only when every kept snapshot covers every record in it, so that
//!   falling back to the oldest kept snapshot still finds the log after it;
//! - a file that does not verify is never deleted, and never silently half-read.

pub mod config;
pub mod disk;
pub mod files;
pub mod fingerprint;
pub mod log;
mod restore;
pub mod snapshot;

pub use files::{lock_directory, DirectoryLock, LOCK_FILE_NAME};
pub use restore::{
    expiry_records, load_snapshot, rebuild_durable, restore, restore_companies, ExpiredOnRestore,
    Quarantined, RestoreReport, Restored, RestoredSnapshot,
};

use crate::durability::log::{DurabilityMode, LogError};
use crate::durability::snapshot::SnapshotError;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Where and how the server keeps its state.
#[derive(Clone, Debug)]
pub struct DurabilityConfig {
    pub data_dir: PathBuf,
    pub mode: DurabilityMode,
    /// A snapshot is taken this often, when something changed.
    pub snapshot_interval: Duration,
    /// How many verified snapshots to keep (at least 1).
    pub keep_snapshots: usize,
    /// How the log and the snapshot writer reach the disk (the real one; tests inject faults).
    pub disk: disk::Disk,
}

/// Why the server must not start on this data directory.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("snapshot {file}: {source}")]
    Snapshot {
        file: PathBuf,
        #[source]
        source: SnapshotError,
    },
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("data directory {dir}: {source}")]
    Io {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("data directory {0} is in use by another holdfast (its LOCK file is locked)")]
    Locked(PathBuf),
}
