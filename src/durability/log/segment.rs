//! The write-ahead log's segment files: their names (`wal-<first LSN, 20 digits>.log`), their
//! 16-byte header (magic `HOLDWAL\0`, format version, CRC-32C of those 12 bytes), listing them
//! and creating a new one. A segment is created with its header synced before any record goes
//! in, so a crash at creation leaves at worst an empty segment.

use crate::durability::disk::Disk;
use crate::durability::files;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// First bytes of every log segment.
pub const LOG_MAGIC: [u8; 8] = *b"HOLDWAL\0";
/// The log format this build writes, and the newest it reads: version 3 records
/// ([`super::LogRecordV3`]); version 1 and 2 segments ([`super::LogRecordV1`],
/// [`super::LogRecordV2`]) still read.
pub const LOG_FORMAT_VERSION: u32 = 3;
/// The oldest log format this build reads.
pub const LOG_FORMAT_VERSION_OLDEST: u32 = 1;
/// Size of a segment's header, in bytes.
pub const LOG_HEADER_BYTES: usize = 16;
/// Segment file names: `wal-<first LSN, 20 digits>.log`.
pub const LOG_PREFIX: &str = "wal-";
/// See [`LOG_PREFIX`].
pub const LOG_SUFFIX: &str = ".log";

/// The file name of the segment whose first record is `first_lsn`.
pub fn segment_name(first_lsn: u64) -> String {
    files::numbered_name(LOG_PREFIX, first_lsn, LOG_SUFFIX)
}

/// The first LSN in a segment's file name (`None` for any other file).
pub fn first_lsn_of(name: &str) -> Option<u64> {
    files::number_in_name(name, LOG_PREFIX, LOG_SUFFIX)
}

/// Log segments in `dir`, oldest first, as `(first LSN, path)`.
pub fn list_segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    files::list_numbered(dir, LOG_PREFIX, LOG_SUFFIX)
}

/// The header every segment starts with.
pub(crate) fn segment_header() -> [u8; LOG_HEADER_BYTES] {
    let mut header = [0u8; LOG_HEADER_BYTES];
    header[0..8].copy_from_slice(&LOG_MAGIC);
    header[8..12].copy_from_slice(&LOG_FORMAT_VERSION.to_le_bytes());
    let crc = crc32c::crc32c(&header[..12]);
    header[12..16].copy_from_slice(&crc.to_le_bytes());
    header
}

/// The format version a segment's header names (this build's for a segment too short to have
/// one: it holds no record either way). The header's checks are the reader's.
pub(crate) fn segment_version(bytes: &[u8]) -> u32 {
    match bytes.get(8..12) {
        Some(word) => u32::from_le_bytes([word[0], word[1], word[2], word[3]]),
        None => LOG_FORMAT_VERSION,
    }
}

/// Creates the segment whose first record will be `first_lsn`, its header synced and the
/// directory synced, ready for appending.
pub(crate) fn create_segment(disk: &Disk, dir: &Path, first_lsn: u64) -> io::Result<File> {
    let path = dir.join(segment_name(first_lsn));
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)?;
    disk.write_all(&file, &segment_header())?;
    disk.sync_all(&file)?;
    disk.sync_dir(dir)?;
    Ok(file)
}
