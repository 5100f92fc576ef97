//! Reading the write-ahead log back at start-up: every segment in order, every frame checked,
//! LSNs consecutive. A frame that does not verify in the last segment, with no valid frame after
//! it, is a torn write from a crash and is cut off; any other bad frame is corruption and stops
//! start-up with the file and offset, because silently dropping the records after it would lose
//! acknowledged changes.

use crate::durability::log::frame::{read_frame, valid_frame_follows, FrameProblem};
use crate::durability::log::record::LogRecordV3;
use crate::durability::log::segment::{
    list_segments, LOG_FORMAT_VERSION, LOG_FORMAT_VERSION_OLDEST, LOG_HEADER_BYTES, LOG_MAGIC,
};
use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Why the log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("write-ahead log {file}, offset {offset}: {detail}; the log is damaged before its end, so holdfast will not start (restore the file from a backup, or move it away to accept the loss)")]
    Corrupt {
        file: PathBuf,
        offset: u64,
        detail: String,
    },
    #[error("write-ahead log {file} was written by log format version {found}; this holdfast reads versions up to {supported}: run a newer holdfast")]
    NewerVersion {
        file: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("write-ahead log: records {from} to {to} are missing (the log starts after the snapshot it follows ends); holdfast will not start with a hole in its history")]
    Gap { from: u64, to: u64 },
    #[error("write-ahead log {file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// What reading the log found.
#[derive(Debug, Default)]
pub struct LogRead {
    /// Every record, in LSN order (a version 1 segment's records as [`LogRecordV3::Change`]).
    pub records: Vec<(u64, LogRecordV3)>,
    /// The LSN of the last record (0 when the log is empty).
    pub last_lsn: u64,
    /// The first LSN of the oldest segment, if any segment holds a record.
    pub first_lsn: Option<u64>,
    /// A torn tail that was cut off.
    pub torn: Option<TornTail>,
    /// The segments read, oldest first, with the LSN of their last record.
    pub segments: Vec<(u64, PathBuf, u64)>,
}

/// A torn record cut off the end of the log: the write a crash interrupted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    pub file: PathBuf,
    /// Where the cut was made: the file's new length.
    pub offset_bytes: u64,
    /// How many bytes were removed.
    pub cut_bytes: u64,
}

/// Reads every segment of `dir` in order, checking each frame and the LSN sequence. A torn tail
/// of the last segment is cut off (the file is truncated and synced) when `repair` is set;
/// anything else that does not verify is an error naming file and offset.
pub fn read_log(dir: &Path, repair: bool) -> Result<LogRead, LogError> {
    let segments = list_segments(dir).map_err(|source| LogError::Io {
        file: dir.to_path_buf(),
        source,
    })?;
    let mut read = LogRead::default();
    let count = segments.len();
    for (index, (first_lsn, path)) in segments.into_iter().enumerate() {
        let last_segment = index + 1 == count;
        read_segment(&path, first_lsn, last_segment, repair, &mut read)?;
    }
    Ok(read)
}

fn read_segment(
    path: &Path,
    first_lsn: u64,
    last_segment: bool,
    repair: bool,
    read: &mut LogRead,
) -> Result<(), LogError> {
    let io_error = |source| LogError::Io {
        file: path.to_path_buf(),
        source,
    };
    let bytes = fs::read(path).map_err(io_error)?;
    let corrupt = |offset: usize, detail: String| LogError::Corrupt {
        file: path.to_path_buf(),
        offset: offset as u64,
        detail,
    };
    if bytes.len() < LOG_HEADER_BYTES {
        // A segment is created and its header synced before any record goes in: only a crash
        // right at creation leaves it short, and then it holds nothing.
        if last_segment {
            return cut(path, 0, bytes.len(), repair, read).map_err(io_error);
        }
        return Err(corrupt(0, "segment shorter than its header".into()));
    }
    if bytes[..8] != LOG_MAGIC {
        return Err(corrupt(0, "wrong magic: not a holdfast log segment".into()));
    }
    let header_crc = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    if crc32c::crc32c(&bytes[..12]) != header_crc {
        return Err(corrupt(0, "segment header checksum does not match".into()));
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version < LOG_FORMAT_VERSION_OLDEST {
        return Err(corrupt(8, format!("unknown log format version {version}")));
    }
    if version > LOG_FORMAT_VERSION {
        return Err(LogError::NewerVersion {
            file: path.to_path_buf(),
            found: version,
            supported: LOG_FORMAT_VERSION,
        });
    }
    let mut offset = LOG_HEADER_BYTES;
    let mut expected_lsn = first_lsn;
    if let Some(previous_last) = read.segments.last().map(|s| s.2) {
        if previous_last != 0 && first_lsn != previous_last + 1 {
            return Err(corrupt(
                0,
                format!("segment starts at record {first_lsn}, after record {previous_last}"),
            ));
        }
    }
    let mut segment_last = 0;
    while offset < bytes.len() {
        match read_frame(&bytes[offset..], version) {
            Ok(frame) if frame.lsn == expected_lsn => {
                read.first_lsn.get_or_insert(frame.lsn);
                read.last_lsn = frame.lsn;
                segment_last = frame.lsn;
                read.records.push((frame.lsn, frame.record));
                expected_lsn += 1;
                offset += frame.bytes;
            }
            Ok(frame) => {
                return Err(corrupt(
                    offset,
                    format!("record {} where record {expected_lsn} belongs", frame.lsn),
                ))
            }
            Err(problem) => {
                let detail = match problem {
                    FrameProblem::PastEnd => "record runs past the end of the file".to_string(),
                    FrameProblem::Bad(detail) => detail,
                };
                let torn = last_segment
                    && !valid_frame_follows(
                        &bytes[offset..],
                        expected_lsn.saturating_sub(1),
                        version,
                    );
                if !torn {
                    return Err(corrupt(offset, detail));
                }
                cut(path, offset, bytes.len(), repair, read).map_err(io_error)?;
                break;
            }
        }
    }
    read.segments
        .push((first_lsn, path.to_path_buf(), segment_last));
    Ok(())
}

/// Cuts a torn tail off the last segment: truncate at `offset`, sync.
fn cut(path: &Path, offset: usize, len: usize, repair: bool, read: &mut LogRead) -> io::Result<()> {
    read.torn = Some(TornTail {
        file: path.to_path_buf(),
        offset_bytes: offset as u64,
        cut_bytes: (len - offset) as u64,
    });
    if repair {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(offset as u64)?;
        file.sync_all()?;
    }
    Ok(())
}
