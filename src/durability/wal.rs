//! The write-ahead log: every change to a company's book, appended as a checksummed record before
//! its answer is sent, and synced to disk in groups.
//!
//! **Records.** The core is deterministic given a command, the token it was given and the `now_ms`
//! it ran at, so a record is exactly that ([`WalRecordV1`]), and replay re-runs it through the
//! same `Book` method. Only changes that succeeded are logged: a refused request changes nothing
//! that matters (at most it expires holds that were already past their expiry, which every later
//! read and check treats the same way, expired or not). Records are their own versioned types,
//! converted by hand from the core's commands, like the snapshot's.
//!
//! **Frames.** A segment file `wal-<first LSN, 20 digits>.log` starts with a 16-byte header (magic
//! `HOLDWAL\0`, format version, CRC-32C of those 12 bytes) and holds frames:
//! `[payload length u32 LE][CRC-32C of LSN and payload u32 LE][LSN u64 LE][bincode payload]`.
//! Log sequence numbers (LSNs) are global and consecutive, so a gap is found on reading.
//!
//! **Group commit.** [`Journal::append`] assigns the next LSN and copies the frame into a shared
//! buffer under a mutex (microseconds; the company actor never touches the disk). One writer
//! thread takes the whole buffer and writes it; [`limits::WAL_SYNC_THREADS`] sync threads call
//! `fdatasync`, each covering every byte written before it started, so one sync covers every
//! record that arrived meanwhile and a record waits for the next sync to start, not for the
//! previous one to end. The actor answers each change with its LSN (the ticket); the `Engine`
//! awaits [`Journal::wait_durable`] for it before it answers, so an acknowledged change is on
//! disk. The buffer is bounded ([`limits::WAL_QUEUE_BYTES_MAX`]): when the disk falls behind,
//! appends wait, which is the back-pressure that a slow disk must cause.
//!
//! **Reading.** A frame that does not verify in the last segment, with no valid frame after it, is
//! a torn write from a crash and is cut off; any other bad frame is corruption and stops start-up
//! with the file and offset.

use crate::core::book::Book;
use crate::core::command::{
    FindRequest, HoldOptions, HoldRequest, HoldTarget, SegmentRequest, Segments,
};
use crate::core::error::BookError;
use crate::durability::fingerprint::idempotency_of;
use crate::durability::snapshot::sync_dir;
use crate::limits;
use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use uuid::Uuid;

/// First bytes of every log segment.
pub const WAL_MAGIC: [u8; 8] = *b"HOLDWAL\0";
/// The log format this build writes, and the newest it reads.
pub const WAL_FORMAT_VERSION: u32 = 1;
/// Size of a segment's header, in bytes.
pub const WAL_HEADER_BYTES: usize = 16;
/// Size of a frame's header (length, checksum, LSN), in bytes.
pub const FRAME_HEADER_BYTES: usize = 16;
/// Segment file names: `wal-<first LSN, 20 digits>.log`.
pub const WAL_PREFIX: &str = "wal-";
/// See [`WAL_PREFIX`].
pub const WAL_SUFFIX: &str = ".log";

// ----- the on-disk records, version 1 -----------------------------------------------------------

/// One logged change: the command, the token it used and the time it ran at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WalRecordV1 {
    Hold {
        company: String,
        token: [u8; 16],
        now_ms: i64,
        request: HoldRequestV1,
    },
    Confirm {
        company: String,
        token: [u8; 16],
        now_ms: i64,
        appointment_id: Option<String>,
    },
    Extend {
        company: String,
        token: [u8; 16],
        now_ms: i64,
        ttl_seconds: i64,
    },
    Cancel {
        company: String,
        token: [u8; 16],
        now_ms: i64,
        reason: Option<String>,
    },
    /// Holds expired by the expiry wheel or by a read's lazy expiry.
    Expire {
        company: String,
        now_ms: i64,
        tokens: Vec<[u8; 16]>,
    },
    /// A housekeeping pass that dropped reservations past their retention.
    Housekeeping { company: String, now_ms: i64 },
}

/// A hold request as logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldRequestV1 {
    pub target: HoldTargetV1,
    pub ttl_seconds: i64,
    pub call_id: Option<String>,
    pub customer_phone: Option<String>,
    pub service_id: Option<String>,
    pub replace_call_holds: bool,
    pub idempotency_key: Option<String>,
}

/// What a logged hold asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HoldTargetV1 {
    Segments(Vec<SegmentRequestV1>),
    Find {
        resources: Vec<String>,
        earliest_ms: i64,
        latest_ms: i64,
        duration_ms: i64,
        step_ms: i64,
    },
}

/// One requested segment as logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRequestV1 {
    pub resource: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl HoldRequestV1 {
    /// The logged form of a core hold request.
    pub fn from_core(request: &HoldRequest) -> HoldRequestV1 {
        let target = match request.target() {
            HoldTarget::Segments(segments) => HoldTargetV1::Segments(
                segments
                    .iter()
                    .map(|s| SegmentRequestV1 {
                        resource: s.resource().to_owned(),
                        start_ms: s.start_ms(),
                        end_ms: s.end_ms(),
                    })
                    .collect(),
            ),
            HoldTarget::Find(find) => HoldTargetV1::Find {
                resources: find.resources().to_vec(),
                earliest_ms: find.earliest_ms(),
                latest_ms: find.latest_ms(),
                duration_ms: find.duration_ms(),
                step_ms: find.step_ms(),
            },
        };
        HoldRequestV1 {
            target,
            ttl_seconds: request.ttl_seconds(),
            call_id: request.call_id().map(str::to_owned),
            customer_phone: request.customer_phone().map(str::to_owned),
            service_id: request.service_id().map(str::to_owned),
            replace_call_holds: request.replace_call_holds(),
            idempotency_key: request.idempotency_key().map(|k| k.as_str().to_owned()),
        }
    }

    /// The core hold request this record logged, checked as any command is: a record that
    /// breaks a rule (damaged, or from a build with other limits) is refused, naming the field,
    /// in the order the API checks a hold (its options, then its target).
    pub fn to_core(&self) -> Result<HoldRequest, BookError> {
        let mut options = HoldOptions::default().with_ttl_seconds(self.ttl_seconds)?;
        if let Some(call_id) = &self.call_id {
            options = options.with_call_id(call_id.as_str())?;
        }
        if let Some(customer_phone) = &self.customer_phone {
            options = options.with_customer_phone(customer_phone.as_str())?;
        }
        if let Some(service_id) = &self.service_id {
            options = options.with_service_id(service_id.as_str())?;
        }
        options = options.replacing_call_holds(self.replace_call_holds);
        if let Some(key) = &self.idempotency_key {
            options = options.with_idempotency_key(key.as_str())?;
        }
        let target = match &self.target {
            HoldTargetV1::Segments(segments) => HoldTarget::Segments(Segments::collect(
                segments
                    .iter()
                    .map(|s| SegmentRequest::new(s.resource.as_str(), s.start_ms, s.end_ms)),
            )?),
            HoldTargetV1::Find {
                resources,
                earliest_ms,
                latest_ms,
                duration_ms,
                step_ms,
            } => HoldTarget::Find(FindRequest::new(
                resources.clone(),
                *earliest_ms,
                *latest_ms,
                *duration_ms,
                *step_ms,
            )?),
        };
        Ok(HoldRequest::with_options(target, options))
    }
}

impl WalRecordV1 {
    /// The company the record belongs to.
    pub fn company(&self) -> &str {
        match self {
            WalRecordV1::Hold { company, .. }
            | WalRecordV1::Confirm { company, .. }
            | WalRecordV1::Extend { company, .. }
            | WalRecordV1::Cancel { company, .. }
            | WalRecordV1::Expire { company, .. }
            | WalRecordV1::Housekeeping { company, .. } => company,
        }
    }

    /// Re-runs the logged change on `book`, exactly as it first ran. A hold whose token the
    /// book already holds is refused (the core asserts that tokens are new): it can only come
    /// from a damaged log, and a damaged log must not crash start-up.
    pub fn apply(&self, book: &mut Book) -> Result<(), BookError> {
        match self {
            WalRecordV1::Hold { token, .. } if book.contains(Uuid::from_bytes(*token)) => Err(
                BookError::invalid("token", "the logged hold's token is already held"),
            ),
            WalRecordV1::Hold {
                token,
                now_ms,
                request,
                ..
            } => {
                // Refused before the book sees it, so counted here, as the book counts a refusal.
                let request = request
                    .to_core()
                    .inspect_err(|error| book.record_rejected(error.error_type(), None))?;
                let idempotency = idempotency_of(&request);
                book.hold(request, idempotency, Uuid::from_bytes(*token), *now_ms)
                    .map(drop)
            }
            WalRecordV1::Confirm {
                token,
                now_ms,
                appointment_id,
                ..
            } => book
                .confirm(Uuid::from_bytes(*token), appointment_id.clone(), *now_ms)
                .map(drop),
            WalRecordV1::Extend {
                token,
                now_ms,
                ttl_seconds,
                ..
            } => book
                .extend(Uuid::from_bytes(*token), *ttl_seconds, *now_ms)
                .map(drop),
            WalRecordV1::Cancel {
                token,
                now_ms,
                reason,
                ..
            } => book
                .cancel(Uuid::from_bytes(*token), reason.clone(), *now_ms)
                .map(drop),
            WalRecordV1::Expire { tokens, now_ms, .. } => {
                let tokens: Vec<Uuid> = tokens.iter().map(|t| Uuid::from_bytes(*t)).collect();
                book.expire_due(&tokens, *now_ms);
                Ok(())
            }
            WalRecordV1::Housekeeping { now_ms, .. } => {
                book.housekeeping(*now_ms);
                Ok(())
            }
        }
    }
}

// ----- frames -----------------------------------------------------------------------------------

fn bincode_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// The bytes of one frame holding `record` at `lsn`.
pub fn encode_frame(lsn: u64, record: &WalRecordV1) -> Vec<u8> {
    let mut frame = vec![0u8; FRAME_HEADER_BYTES];
    bincode::serde::encode_into_std_write(record, &mut frame, bincode_config())
        .expect("encoding a record into memory cannot fail");
    let payload_bytes = (frame.len() - FRAME_HEADER_BYTES) as u32;
    frame[8..16].copy_from_slice(&lsn.to_le_bytes());
    let crc = crc32c::crc32c(&frame[8..]);
    frame[0..4].copy_from_slice(&payload_bytes.to_le_bytes());
    frame[4..8].copy_from_slice(&crc.to_le_bytes());
    frame
}

/// One frame read back: its LSN, record, and total size in bytes.
struct Frame {
    lsn: u64,
    record: WalRecordV1,
    bytes: usize,
}

/// Why a frame did not read.
enum FrameProblem {
    /// The frame runs past the end of the file.
    PastEnd,
    /// The frame is complete but does not verify or decode.
    Bad(String),
}

fn read_frame(bytes: &[u8]) -> Result<Frame, FrameProblem> {
    if bytes.len() < FRAME_HEADER_BYTES {
        return Err(FrameProblem::PastEnd);
    }
    let payload_bytes = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    if payload_bytes == 0 || payload_bytes > limits::WAL_RECORD_BYTES_MAX {
        return Err(FrameProblem::Bad(format!(
            "record length {payload_bytes} is outside 1..={}",
            limits::WAL_RECORD_BYTES_MAX
        )));
    }
    let total = FRAME_HEADER_BYTES + payload_bytes;
    if bytes.len() < total {
        return Err(FrameProblem::PastEnd);
    }
    let crc = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if crc32c::crc32c(&bytes[8..total]) != crc {
        return Err(FrameProblem::Bad("record checksum does not match".into()));
    }
    let mut lsn = [0u8; 8];
    lsn.copy_from_slice(&bytes[8..16]);
    let (record, read): (WalRecordV1, usize) =
        bincode::serde::decode_from_slice(&bytes[FRAME_HEADER_BYTES..total], bincode_config())
            .map_err(|e| FrameProblem::Bad(format!("record does not decode: {e}")))?;
    if read != payload_bytes {
        return Err(FrameProblem::Bad("record has trailing bytes".into()));
    }
    Ok(Frame {
        lsn: u64::from_le_bytes(lsn),
        record,
        bytes: total,
    })
}

/// Whether any frame that verifies and continues the log after `last_lsn` starts anywhere in
/// `bytes`. Decides whether a bad frame is a torn tail (nothing valid after it) or corruption.
fn valid_frame_follows(bytes: &[u8], last_lsn: u64) -> bool {
    let lsn_most = last_lsn + 1 + (bytes.len() / FRAME_HEADER_BYTES) as u64;
    (1..bytes.len().saturating_sub(FRAME_HEADER_BYTES - 1)).any(|at| {
        let rest = &bytes[at..];
        let mut lsn = [0u8; 8];
        lsn.copy_from_slice(&rest[8..16]);
        let lsn = u64::from_le_bytes(lsn);
        // Cheap tests first: a plausible LSN, then the checksum.
        lsn > last_lsn && lsn <= lsn_most && read_frame(rest).is_ok()
    })
}

// ----- segments ---------------------------------------------------------------------------------

/// Why the log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
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

/// The file name of the segment whose first record is `first_lsn`.
pub fn segment_name(first_lsn: u64) -> String {
    format!("{WAL_PREFIX}{first_lsn:020}{WAL_SUFFIX}")
}

/// The first LSN in a segment's file name (`None` for any other file).
pub fn first_lsn_of(name: &str) -> Option<u64> {
    name.strip_prefix(WAL_PREFIX)?
        .strip_suffix(WAL_SUFFIX)?
        .parse()
        .ok()
}

/// Log segments in `dir`, oldest first, as `(first LSN, path)`.
pub fn list_segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(first) = entry.file_name().to_str().and_then(first_lsn_of) {
            found.push((first, entry.path()));
        }
    }
    found.sort_unstable_by_key(|(first, _)| *first);
    Ok(found)
}

fn segment_header() -> [u8; WAL_HEADER_BYTES] {
    let mut header = [0u8; WAL_HEADER_BYTES];
    header[0..8].copy_from_slice(&WAL_MAGIC);
    header[8..12].copy_from_slice(&WAL_FORMAT_VERSION.to_le_bytes());
    let crc = crc32c::crc32c(&header[..12]);
    header[12..16].copy_from_slice(&crc.to_le_bytes());
    header
}

/// What reading the log found.
#[derive(Debug, Default)]
pub struct LogRead {
    /// Every record, in LSN order.
    pub records: Vec<(u64, WalRecordV1)>,
    /// The LSN of the last record (0 when the log is empty).
    pub last_lsn: u64,
    /// The first LSN of the oldest segment, if any segment holds a record.
    pub first_lsn: Option<u64>,
    /// A torn tail that was cut off: file, offset, bytes removed.
    pub torn: Option<(PathBuf, u64, u64)>,
    /// The segments read, oldest first, with the LSN of their last record.
    pub segments: Vec<(u64, PathBuf, u64)>,
}

/// Reads every segment of `dir` in order, checking each frame and the LSN sequence. A torn tail
/// of the last segment is cut off (the file is truncated and synced) when `repair` is set;
/// anything else that does not verify is an error naming file and offset.
pub fn read_log(dir: &Path, repair: bool) -> Result<LogRead, WalError> {
    let segments = list_segments(dir).map_err(|source| WalError::Io {
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
) -> Result<(), WalError> {
    let io_error = |source| WalError::Io {
        file: path.to_path_buf(),
        source,
    };
    let bytes = fs::read(path).map_err(io_error)?;
    let corrupt = |offset: usize, detail: String| WalError::Corrupt {
        file: path.to_path_buf(),
        offset: offset as u64,
        detail,
    };
    if bytes.len() < WAL_HEADER_BYTES {
        // A segment is created and its header synced before any record goes in: only a crash
        // right at creation leaves it short, and then it holds nothing.
        if last_segment {
            return cut(path, 0, bytes.len(), repair, read).map_err(io_error);
        }
        return Err(corrupt(0, "segment shorter than its header".into()));
    }
    if bytes[..8] != WAL_MAGIC {
        return Err(corrupt(0, "wrong magic: not a holdfast log segment".into()));
    }
    let header_crc = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    if crc32c::crc32c(&bytes[..12]) != header_crc {
        return Err(corrupt(0, "segment header checksum does not match".into()));
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version != WAL_FORMAT_VERSION {
        return Err(WalError::NewerVersion {
            file: path.to_path_buf(),
            found: version,
            supported: WAL_FORMAT_VERSION,
        });
    }
    let mut offset = WAL_HEADER_BYTES;
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
        match read_frame(&bytes[offset..]) {
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
                    && !valid_frame_follows(&bytes[offset..], expected_lsn.saturating_sub(1));
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
    read.torn = Some((path.to_path_buf(), offset as u64, (len - offset) as u64));
    if repair {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(offset as u64)?;
        file.sync_all()?;
    }
    Ok(())
}

// ----- the journal ------------------------------------------------------------------------------

/// How much the journal keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurabilityMode {
    /// Every change is logged and synced before its answer.
    Wal,
    /// Only snapshots: changes since the last snapshot are lost in a crash. The journal still
    /// counts changes, so the snapshotter knows whether anything changed; it does not number
    /// them (no LSN is used without a record, so a later log continues without a hole).
    Snapshot,
}

/// What the writer has made durable, published to waiters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Durable {
    lsn: u64,
    failed: bool,
}

/// The buffer the company actors append to and the writer drains.
struct Queue {
    buffer: Vec<u8>,
    next_lsn: u64,
    closed: bool,
    rotate: bool,
}

struct Shared {
    mode: DurabilityMode,
    dir: PathBuf,
    queue: Mutex<Queue>,
    /// Signalled when the buffer gets bytes, a rotation or the close.
    has_work: Condvar,
    /// Signalled when the writer has taken the buffer, so waiting appenders may go on.
    has_room: Condvar,
    /// Signalled (under `queue`) when the writer has started a new segment, or stopped.
    segment_started: Condvar,
    /// The last LSN handed out (moves only in WAL mode).
    appended: AtomicU64,
    /// Changes counted since the journal opened, in either mode: the snapshotter compares it.
    changes: AtomicU64,
    durable: tokio::sync::watch::Sender<Durable>,
    /// The first LSN of the segment being written (snapshot mode: none, `u64::MAX`).
    active_first_lsn: AtomicU64,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// Why a change could not be made durable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the write-ahead log failed to write or sync; changes are no longer durable")]
pub struct JournalFailed;

/// The handle every company actor and the engine share. Cheap to clone.
#[derive(Clone)]
pub struct Journal {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Journal")
            .field("mode", &self.shared.mode)
            .field("appended_lsn", &self.appended_lsn())
            .finish()
    }
}

impl Journal {
    /// Opens the journal in `dir`, numbering from `next_lsn`. In WAL mode a new segment is
    /// created (earlier ones are only read at start-up, never appended to) and the writer thread
    /// starts.
    pub fn open(dir: &Path, mode: DurabilityMode, next_lsn: u64) -> io::Result<Journal> {
        let next_lsn = next_lsn.max(1);
        let (durable, _) = tokio::sync::watch::channel(Durable {
            lsn: next_lsn - 1,
            failed: false,
        });
        let shared = Arc::new(Shared {
            mode,
            dir: dir.to_path_buf(),
            queue: Mutex::new(Queue {
                buffer: Vec::new(),
                next_lsn,
                closed: false,
                rotate: false,
            }),
            has_work: Condvar::new(),
            has_room: Condvar::new(),
            segment_started: Condvar::new(),
            appended: AtomicU64::new(next_lsn - 1),
            changes: AtomicU64::new(0),
            durable,
            active_first_lsn: AtomicU64::new(u64::MAX),
            writer: Mutex::new(None),
        });
        if mode == DurabilityMode::Wal {
            let file = create_segment(dir, next_lsn)?;
            shared.active_first_lsn.store(next_lsn, Ordering::SeqCst);
            let writer_shared = shared.clone();
            let handle = std::thread::Builder::new()
                .name("holdfast-wal".into())
                .spawn(move || write_loop(writer_shared, file, next_lsn))?;
            *shared.writer.lock() = Some(handle);
        }
        Ok(Journal { shared })
    }

    /// The mode the journal runs in.
    pub fn mode(&self) -> DurabilityMode {
        self.shared.mode
    }

    /// Whether records are written (WAL mode): callers skip building records otherwise.
    pub fn logs_records(&self) -> bool {
        self.shared.mode == DurabilityMode::Wal
    }

    /// The last LSN handed out: every change numbered up to it has been applied to its book.
    pub fn appended_lsn(&self) -> u64 {
        self.shared.appended.load(Ordering::SeqCst)
    }

    /// How many changes were counted since the journal opened (both modes).
    pub fn change_count(&self) -> u64 {
        self.shared.changes.load(Ordering::SeqCst)
    }

    /// Counts a change made before the journal could see it (log records replayed at
    /// start-up), so that the next interval takes a snapshot of it.
    pub fn mark_changed(&self) {
        self.shared.changes.fetch_add(1, Ordering::SeqCst);
    }

    /// The last LSN known to be on disk (snapshot mode: the last handed out).
    pub fn durable_lsn(&self) -> u64 {
        match self.shared.mode {
            DurabilityMode::Wal => self.shared.durable.borrow().lsn,
            DurabilityMode::Snapshot => self.appended_lsn(),
        }
    }

    /// Counts one change and, in WAL mode, numbers it and queues its record (built only then).
    /// Returns the change's LSN (snapshot mode: the last LSN, unchanged). Called by a company
    /// actor right after the change was applied to its book, so that LSN order is each
    /// company's order of changes. Waits only when the queue is full.
    pub fn append(&self, make_record: impl FnOnce() -> WalRecordV1) -> u64 {
        self.shared.changes.fetch_add(1, Ordering::SeqCst);
        if self.shared.mode == DurabilityMode::Snapshot {
            return self.appended_lsn();
        }
        let record = make_record();
        // Encoded outside the lock; the LSN is patched in once assigned.
        let mut frame = encode_frame(0, &record);
        let mut queue = self.shared.queue.lock();
        while queue.buffer.len() >= limits::WAL_QUEUE_BYTES_MAX && !queue.closed {
            self.shared.has_room.wait(&mut queue);
        }
        let lsn = queue.next_lsn;
        queue.next_lsn += 1;
        frame[8..16].copy_from_slice(&lsn.to_le_bytes());
        let crc = crc32c::crc32c(&frame[8..]);
        frame[4..8].copy_from_slice(&crc.to_le_bytes());
        // Once closed (shutdown, or the disk failed) nothing is written any more; waiters learn
        // of a failure from `wait_durable`.
        if !queue.closed {
            queue.buffer.extend_from_slice(&frame);
        }
        self.shared.appended.store(lsn, Ordering::SeqCst);
        drop(queue);
        self.shared.has_work.notify_one();
        lsn
    }

    /// Counts a change that has no record: only in snapshot mode, where it answers the last
    /// LSN, unchanged (`None` in WAL mode, where every change must come with its record).
    pub fn number_change(&self) -> Option<u64> {
        match self.shared.mode {
            DurabilityMode::Snapshot => {
                self.shared.changes.fetch_add(1, Ordering::SeqCst);
                Some(self.appended_lsn())
            }
            DurabilityMode::Wal => {
                tracing::error!("a change without a log record in WAL mode: not logged");
                None
            }
        }
    }

    /// Waits until every change numbered up to `lsn` is on disk. Immediate in snapshot mode.
    pub async fn wait_durable(&self, lsn: u64) -> Result<(), JournalFailed> {
        if self.shared.mode == DurabilityMode::Snapshot {
            return Ok(());
        }
        let mut receiver = self.shared.durable.subscribe();
        let reached = receiver
            .wait_for(|durable| durable.lsn >= lsn || durable.failed)
            .await
            .map_err(|_| JournalFailed)?;
        if reached.lsn >= lsn {
            Ok(())
        } else {
            Err(JournalFailed)
        }
    }

    /// Asks the writer to start a new segment, so that the records up to now can be removed
    /// once a snapshot covers them.
    pub fn rotate(&self) {
        if self.shared.mode == DurabilityMode::Wal {
            self.shared.queue.lock().rotate = true;
            self.shared.has_work.notify_one();
        }
    }

    /// Waits until the segment being written starts after `lsn` (the rotation asked for once
    /// `lsn` was appended has happened), or the journal stopped. Blocking: call it off the
    /// actors' threads. Immediate in snapshot mode.
    pub fn wait_for_segment_after(&self, lsn: u64) {
        if self.shared.mode == DurabilityMode::Snapshot {
            return;
        }
        let mut queue = self.shared.queue.lock();
        while self.shared.active_first_lsn.load(Ordering::SeqCst) <= lsn && !queue.closed {
            self.shared.segment_started.wait(&mut queue);
        }
    }

    /// Removes log segments whose every record is at or below `covered_lsn` (a durable snapshot
    /// holds them). The segment being written is never removed. Returns the removed paths.
    pub fn remove_segments_through(&self, covered_lsn: u64) -> io::Result<Vec<PathBuf>> {
        let segments = list_segments(&self.shared.dir)?;
        let active = self.shared.active_first_lsn.load(Ordering::SeqCst);
        let mut removed = Vec::new();
        for (index, (first_lsn, path)) in segments.iter().enumerate() {
            if *first_lsn >= active {
                break;
            }
            // The last LSN of a segment is one before the next segment's first; the newest old
            // segment of an earlier run ends before the active one, or (snapshot mode) at most
            // at the last LSN ever handed out.
            let next_first = segments
                .get(index + 1)
                .map(|(next, _)| *next)
                .unwrap_or_else(|| active.min(self.appended_lsn() + 1));
            if next_first.saturating_sub(1) <= covered_lsn {
                fs::remove_file(path)?;
                removed.push(path.clone());
            } else {
                break;
            }
        }
        if !removed.is_empty() {
            sync_dir(&self.shared.dir)?;
        }
        Ok(removed)
    }

    /// Writes and syncs what is queued, stops the writer and waits for it. Records appended
    /// after this are numbered but not written, so call it only once nothing changes any more
    /// (after the final snapshot at shutdown).
    pub fn close(&self) {
        {
            let mut queue = self.shared.queue.lock();
            queue.closed = true;
        }
        self.shared.has_work.notify_all();
        self.shared.has_room.notify_all();
        self.shared.segment_started.notify_all();
        if let Some(handle) = self.shared.writer.lock().take() {
            let _ = handle.join();
        }
        // Whatever is appended from now on is never written: a waiter for it must not wait
        // forever. Everything written so far stays durable (`wait_durable` checks that first).
        self.shared
            .durable
            .send_modify(|durable| durable.failed = true);
    }
}

fn create_segment(dir: &Path, first_lsn: u64) -> io::Result<File> {
    let path = dir.join(segment_name(first_lsn));
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)?;
    file.write_all(&segment_header())?;
    file.sync_all()?;
    sync_dir(dir)?;
    Ok(file)
}

/// What the writer and the sync threads share: the file being written, how far it is written,
/// how far a sync has been started.
struct SyncState {
    file: Arc<File>,
    /// The last LSN whose bytes are written to `file` (not yet necessarily on disk).
    written_lsn: u64,
    /// The highest LSN a sync has been started for: a sync covers every byte written before it
    /// starts, so a new sync is worth starting only when `written_lsn` moved past this.
    started_lsn: u64,
    /// Syncs running now.
    in_flight: usize,
    closed: bool,
}

struct Syncing {
    state: Mutex<SyncState>,
    /// Signalled when more is written (sync threads wait) and when a sync ends (the writer
    /// waits before it switches files).
    changed: Condvar,
}

/// The writer thread: take the whole buffer, write it, and let a sync thread make it durable.
/// Syncing is done by [`limits::WAL_SYNC_THREADS`] threads at once: a sync covers every byte
/// written before it starts, and while one sync waits on the disk the next batch is written
/// and another sync starts. On this kind of disk concurrent syncs complete several times more
/// often than one after another, and every waiting change rides on the first sync that starts
/// after it was written: the group commit, without a queue of syncs.
fn write_loop(shared: Arc<Shared>, file: File, first_lsn: u64) {
    let syncing = Arc::new(Syncing {
        state: Mutex::new(SyncState {
            file: Arc::new(file),
            written_lsn: first_lsn - 1,
            started_lsn: first_lsn - 1,
            in_flight: 0,
            closed: false,
        }),
        changed: Condvar::new(),
    });
    let syncers: Vec<JoinHandle<()>> = (0..limits::WAL_SYNC_THREADS)
        .filter_map(|index| {
            let shared = shared.clone();
            let syncing = syncing.clone();
            std::thread::Builder::new()
                .name(format!("holdfast-wal-sync-{index}"))
                .spawn(move || sync_loop(&shared, &syncing))
                .ok()
        })
        .collect();
    let outcome = if syncers.is_empty() {
        Err("no sync thread could be started".to_string())
    } else {
        write_batches(&shared, &syncing)
    };
    {
        let mut state = syncing.state.lock();
        state.closed = true;
    }
    syncing.changed.notify_all();
    for syncer in syncers {
        let _ = syncer.join();
    }
    if let Err(error) = outcome {
        fail(&shared, &error);
    }
}

/// The disk failed: publish it, and stop queueing so appenders never wait on a full buffer
/// that nobody drains. Nothing written after this is acknowledged.
fn fail(shared: &Shared, error: &str) {
    tracing::error!(%error, "write-ahead log failed: changes are refused from now on");
    shared.durable.send_modify(|durable| durable.failed = true);
    shared.queue.lock().closed = true;
    shared.has_room.notify_all();
    shared.segment_started.notify_all();
}

/// The writer's loop: write each batch, then tell the sync threads how far the file is written.
fn write_batches(shared: &Shared, syncing: &Syncing) -> Result<(), String> {
    let mut spare = Vec::new();
    let mut segment_bytes = WAL_HEADER_BYTES;
    let mut file = syncing.state.lock().file.clone();
    loop {
        let (batch_last_lsn, rotate, closed) = {
            let mut queue = shared.queue.lock();
            while queue.buffer.is_empty() && !queue.closed && !queue.rotate {
                shared.has_work.wait(&mut queue);
            }
            std::mem::swap(&mut queue.buffer, &mut spare);
            let rotate = std::mem::take(&mut queue.rotate);
            (queue.next_lsn - 1, rotate, queue.closed)
        };
        shared.has_room.notify_all();
        if !spare.is_empty() {
            (&*file)
                .write_all(&spare)
                .map_err(|e| format!("write: {e}"))?;
            segment_bytes += spare.len();
            spare.clear();
            syncing.state.lock().written_lsn = batch_last_lsn;
            syncing.changed.notify_one();
        }
        if closed {
            return sync_everything(shared, syncing, &file);
        }
        if rotate || segment_bytes >= limits::WAL_SEGMENT_BYTES_MAX {
            // Everything in the old file is made durable before anything goes into the new
            // one, so a sync of the new file never publishes an LSN the old file still owes.
            sync_everything(shared, syncing, &file)?;
            let next_lsn = syncing.state.lock().written_lsn + 1;
            let new_file = Arc::new(
                create_segment(&shared.dir, next_lsn).map_err(|e| format!("new segment: {e}"))?,
            );
            syncing.state.lock().file = new_file.clone();
            file = new_file;
            segment_bytes = WAL_HEADER_BYTES;
            shared.active_first_lsn.store(next_lsn, Ordering::SeqCst);
            // Taking the lock orders the store before any waiter's next check.
            drop(shared.queue.lock());
            shared.segment_started.notify_all();
        }
    }
}

/// Waits for the syncs in flight, syncs `file` once more, and publishes everything written.
fn sync_everything(shared: &Shared, syncing: &Syncing, file: &File) -> Result<(), String> {
    let written_lsn = {
        let mut state = syncing.state.lock();
        while state.in_flight > 0 {
            syncing.changed.wait(&mut state);
        }
        state.started_lsn = state.written_lsn;
        state.written_lsn
    };
    file.sync_data().map_err(|e| format!("sync: {e}"))?;
    publish(shared, written_lsn);
    Ok(())
}

/// Publishes `lsn` as durable (durable LSNs only grow: a later sync covers an earlier one).
fn publish(shared: &Shared, lsn: u64) {
    shared.durable.send_if_modified(|durable| {
        if lsn > durable.lsn && !durable.failed {
            durable.lsn = lsn;
            true
        } else {
            false
        }
    });
}

/// A sync thread: whenever more is written than any sync has covered, sync and publish.
fn sync_loop(shared: &Shared, syncing: &Syncing) {
    loop {
        let (file, target_lsn) = {
            let mut state = syncing.state.lock();
            while state.written_lsn <= state.started_lsn && !state.closed {
                syncing.changed.wait(&mut state);
            }
            if state.written_lsn <= state.started_lsn {
                return;
            }
            state.started_lsn = state.written_lsn;
            state.in_flight += 1;
            (state.file.clone(), state.written_lsn)
        };
        let result = file.sync_data();
        {
            let mut state = syncing.state.lock();
            state.in_flight -= 1;
        }
        syncing.changed.notify_all();
        match result {
            Ok(()) => publish(shared, target_lsn),
            Err(error) => {
                fail(shared, &format!("sync: {error}"));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE_MS: i64 = 1_798_761_600_000;

    fn hold_record(n: u8) -> WalRecordV1 {
        WalRecordV1::Hold {
            company: "acme".into(),
            token: [n; 16],
            now_ms: BASE_MS + i64::from(n),
            request: HoldRequestV1 {
                target: HoldTargetV1::Segments(vec![SegmentRequestV1 {
                    resource: "chair-1".into(),
                    start_ms: BASE_MS + 3_600_000,
                    end_ms: BASE_MS + 5_400_000,
                }]),
                ttl_seconds: 300,
                call_id: Some("call-1".into()),
                customer_phone: None,
                service_id: None,
                replace_call_holds: true,
                idempotency_key: None,
            },
        }
    }

    fn fixed_records() -> Vec<WalRecordV1> {
        vec![
            hold_record(1),
            WalRecordV1::Hold {
                company: "acme".into(),
                token: [2; 16],
                now_ms: BASE_MS,
                request: HoldRequestV1 {
                    target: HoldTargetV1::Find {
                        resources: vec!["a".into(), "b".into()],
                        earliest_ms: BASE_MS,
                        latest_ms: BASE_MS + 86_400_000,
                        duration_ms: 1_800_000,
                        step_ms: 900_000,
                    },
                    ttl_seconds: 60,
                    call_id: None,
                    customer_phone: Some("+4915112345678".into()),
                    service_id: Some("svc".into()),
                    replace_call_holds: false,
                    idempotency_key: Some("key".into()),
                },
            },
            WalRecordV1::Confirm {
                company: "acme".into(),
                token: [1; 16],
                now_ms: BASE_MS + 5,
                appointment_id: Some("A-17".into()),
            },
            WalRecordV1::Extend {
                company: "acme".into(),
                token: [2; 16],
                now_ms: BASE_MS + 6,
                ttl_seconds: 600,
            },
            WalRecordV1::Cancel {
                company: "acme".into(),
                token: [2; 16],
                now_ms: BASE_MS + 7,
                reason: None,
            },
            WalRecordV1::Expire {
                company: "beta".into(),
                now_ms: BASE_MS + 8,
                tokens: vec![[3; 16], [4; 16]],
            },
            WalRecordV1::Housekeeping {
                company: "beta".into(),
                now_ms: BASE_MS + 9,
            },
        ]
    }

    /// Goal: the bytes of fixed log records never change without a log version bump (same rule
    /// as the snapshot's golden test: add `WalRecordV2` and keep reading version 1).
    #[test]
    fn golden_bytes_of_fixed_records_are_pinned() {
        let mut bytes = segment_header().to_vec();
        for (index, record) in fixed_records().iter().enumerate() {
            bytes.extend_from_slice(&encode_frame(index as u64 + 1, record));
        }
        assert_eq!(WAL_FORMAT_VERSION, 1);
        assert_eq!(
            (bytes.len(), crc32c::crc32c(&bytes)),
            (GOLDEN_LEN, GOLDEN_CRC32C),
            "log bytes changed without a format version bump"
        );
    }

    const GOLDEN_LEN: usize = 462;
    const GOLDEN_CRC32C: u32 = 4_162_448_460;

    fn write_log(dir: &Path, records: &[WalRecordV1]) -> PathBuf {
        let path = dir.join(segment_name(1));
        let mut bytes = segment_header().to_vec();
        for (index, record) in records.iter().enumerate() {
            bytes.extend_from_slice(&encode_frame(index as u64 + 1, record));
        }
        fs::write(&path, bytes).unwrap();
        path
    }

    /// Goal: what the journal acknowledges is read back in order, with consecutive LSNs, from
    /// many appenders at once, across a rotation.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn appended_records_are_durable_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), DurabilityMode::Wal, 1).unwrap();
        let threads: Vec<_> = (0..4u8)
            .map(|thread| {
                let journal = journal.clone();
                std::thread::spawn(move || {
                    (0..250u8)
                        .map(|i| journal.append(|| hold_record(thread.wrapping_mul(7) ^ i)))
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut lsns: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        journal.rotate();
        let last = journal.append(|| hold_record(9));
        journal.wait_durable(last).await.unwrap();
        assert!(journal.durable_lsn() >= last);
        lsns.push(last);
        lsns.sort_unstable();
        assert_eq!(lsns, (1..=1_001).collect::<Vec<u64>>());
        journal.close();
        let read = read_log(dir.path(), false).unwrap();
        let read_lsns: Vec<u64> = read.records.iter().map(|(lsn, _)| *lsn).collect();
        assert_eq!(read_lsns, (1..=1_001).collect::<Vec<u64>>());
        assert!(
            read.segments.len() >= 2,
            "the rotation started a new segment"
        );
        assert!(read.torn.is_none());
    }

    /// Goal: after the journal is closed, what was written stays durable and a change appended
    /// afterwards is refused at once instead of waiting forever.
    #[tokio::test]
    async fn after_close_waiters_are_answered() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), DurabilityMode::Wal, 1).unwrap();
        let written = journal.append(|| hold_record(1));
        journal.close();
        assert_eq!(journal.wait_durable(written).await, Ok(()));
        let late = journal.append(|| hold_record(2));
        assert_eq!(journal.wait_durable(late).await, Err(JournalFailed));
        assert_eq!(read_log(dir.path(), false).unwrap().last_lsn, written);
    }

    /// Goal: a record cut short by a crash mid-write is cut off, and what precedes it is kept.
    #[test]
    fn a_torn_last_record_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path(), &fixed_records());
        let whole = fs::metadata(&path).unwrap().len();
        let frame = encode_frame(8, &hold_record(8));
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&frame[..frame.len() / 2]).unwrap();
        drop(file);
        let read = read_log(dir.path(), true).unwrap();
        assert_eq!(read.records.len(), 7);
        assert_eq!(read.last_lsn, 7);
        assert_eq!(read.torn.as_ref().map(|t| t.1), Some(whole));
        assert_eq!(fs::metadata(&path).unwrap().len(), whole, "truncated");
        // Zeros where a batch was never written (file extended, data lost) are a torn tail too.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[0u8; 100]).unwrap();
        drop(file);
        let read = read_log(dir.path(), true).unwrap();
        assert_eq!(read.records.len(), 7);
        assert_eq!(fs::metadata(&path).unwrap().len(), whole);
    }

    /// Goal: a damaged record with good records after it stops start-up, naming file and
    /// offset, instead of silently dropping the records after it.
    #[test]
    fn corruption_before_the_tail_names_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path(), &fixed_records());
        let mut bytes = fs::read(&path).unwrap();
        let second_frame = WAL_HEADER_BYTES + encode_frame(1, &fixed_records()[0]).len();
        bytes[second_frame + FRAME_HEADER_BYTES + 3] ^= 0x10;
        fs::write(&path, &bytes).unwrap();
        match read_log(dir.path(), true) {
            Err(WalError::Corrupt { file, offset, .. }) => {
                assert_eq!(file, path);
                assert_eq!(offset, second_frame as u64);
            }
            other => panic!("expected corruption, got {other:?}"),
        }
        assert_eq!(fs::read(&path).unwrap(), bytes, "nothing was cut");
    }

    /// Goal: a segment from a newer log format is refused, not misread.
    #[test]
    fn a_newer_log_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path(), &fixed_records());
        let mut bytes = fs::read(&path).unwrap();
        bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
        let crc = crc32c::crc32c(&bytes[..12]);
        bytes[12..16].copy_from_slice(&crc.to_le_bytes());
        fs::write(&path, &bytes).unwrap();
        let error = read_log(dir.path(), true).unwrap_err();
        assert!(matches!(error, WalError::NewerVersion { found: 2, .. }));
        assert!(error.to_string().contains("newer holdfast"), "{error}");
    }

    /// Goal: a logged hold replayed onto a book that already holds its token (a damaged log)
    /// is refused, not a panic at start-up; the first replay of it succeeds.
    #[test]
    fn replaying_a_hold_twice_is_refused_not_a_panic() {
        let mut book = Book::new("acme", crate::core::book::Settings::default());
        let record = hold_record(1);
        assert_eq!(record.apply(&mut book), Ok(()));
        assert!(matches!(
            record.apply(&mut book),
            Err(BookError::InvalidRequest { .. })
        ));
        assert_eq!(book.len(), 1);
    }

    /// Goal: a record converts to the core command and back unchanged.
    #[test]
    fn hold_requests_convert_both_ways() {
        for record in fixed_records() {
            if let WalRecordV1::Hold { request, .. } = record {
                assert_eq!(
                    HoldRequestV1::from_core(&request.to_core().unwrap()),
                    request
                );
            }
        }
    }
}
