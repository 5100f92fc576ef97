//! Snapshot files in the data directory: their names (`snapshot-<sequence, 20 digits>.bin`),
//! listing them newest first, writing one atomically, renaming one that does not verify to
//! `*.corrupt` (kept for a human, never deleted), pruning old ones and removing the temporary
//! files of an interrupted write.

use crate::durability::disk::Disk;
use crate::durability::files;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Name of a snapshot file: `snapshot-<sequence, 20 digits>.bin`, so names sort by sequence.
pub const SNAPSHOT_PREFIX: &str = "snapshot-";
/// See [`SNAPSHOT_PREFIX`].
pub const SNAPSHOT_SUFFIX: &str = ".bin";
/// Suffix of a snapshot being written; renamed into place once synced.
pub const TEMPORARY_SUFFIX: &str = ".tmp";
/// Suffix given to a snapshot that did not verify; such files are kept for a human, never deleted.
pub const CORRUPT_SUFFIX: &str = ".corrupt";

/// The file name of snapshot `sequence`.
pub fn file_name(sequence: u64) -> String {
    files::numbered_name(SNAPSHOT_PREFIX, sequence, SNAPSHOT_SUFFIX)
}

/// The sequence number in a snapshot's file name (`None` for any other file).
pub fn sequence_of(name: &str) -> Option<u64> {
    files::number_in_name(name, SNAPSHOT_PREFIX, SNAPSHOT_SUFFIX)
}

/// Snapshot files in `dir`, newest (highest sequence) first.
pub fn list(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut found = files::list_numbered(dir, SNAPSHOT_PREFIX, SNAPSHOT_SUFFIX)?;
    found.reverse();
    Ok(found)
}

/// The highest sequence number used by any file in `dir`, corrupt ones included, so that a new
/// snapshot never takes the name of an old one.
pub fn highest_sequence(dir: &Path) -> io::Result<u64> {
    let mut highest = 0;
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        let base = name
            .strip_suffix(CORRUPT_SUFFIX)
            .or_else(|| name.strip_suffix(TEMPORARY_SUFFIX))
            .unwrap_or(name);
        if let Some(sequence) = sequence_of(base) {
            highest = highest.max(sequence);
        }
    }
    Ok(highest)
}

/// Writes `bytes` as snapshot `sequence` in `dir`: temporary file, sync, then, if `may_rename`
/// agrees, rename and sync the directory. Returns the final path. A crash at any point leaves
/// either no new snapshot or a complete one.
pub fn write_file(
    disk: &Disk,
    dir: &Path,
    sequence: u64,
    bytes: &[u8],
    may_rename: impl FnOnce() -> io::Result<()>,
) -> io::Result<PathBuf> {
    files::write_atomically(
        disk,
        dir,
        &file_name(sequence),
        TEMPORARY_SUFFIX,
        bytes,
        may_rename,
    )
}

/// Renames a snapshot that did not verify to `<name>.corrupt`, keeping it for a human.
pub fn quarantine(path: &Path) -> io::Result<PathBuf> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(CORRUPT_SUFFIX);
    let target = path.with_file_name(name);
    fs::rename(path, &target)?;
    if let Some(dir) = path.parent() {
        files::sync_dir(dir)?;
    }
    Ok(target)
}

/// Deletes all but the newest `keep` verified snapshot files (never `*.corrupt` ones). Returns
/// the sequence number of the oldest snapshot kept, if any.
pub fn prune(dir: &Path, keep: usize) -> io::Result<Option<u64>> {
    let snapshots = list(dir)?;
    let keep = keep.max(1);
    for (_, path) in snapshots.iter().skip(keep) {
        fs::remove_file(path)?;
    }
    Ok(snapshots.iter().take(keep).next_back().map(|(seq, _)| *seq))
}

/// Deletes temporary files left by a crash during a snapshot write: they were never renamed into
/// place, so they never were snapshots. Returns their names for the log.
pub fn remove_temporaries(dir: &Path) -> io::Result<Vec<String>> {
    let mut removed = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with(SNAPSHOT_PREFIX) && name.ends_with(TEMPORARY_SUFFIX) {
            fs::remove_file(entry.path())?;
            removed.push(name);
        }
    }
    Ok(removed)
}

/// What one snapshot wrote (the answer of `POST /v1/admin/snapshot`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub file: PathBuf,
    pub bytes: u64,
    pub sequence: u64,
    pub companies: usize,
    pub reservations: usize,
    pub covered_lsn: u64,
    pub created_at_ms: i64,
    /// From the first export asked to the directory synced.
    pub took: Duration,
}
