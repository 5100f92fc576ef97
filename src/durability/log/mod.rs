//! The write-ahead log: every change to a company's book, appended as a checksummed record before
//! its answer is sent, and synced to disk in groups. Only changes that succeeded are logged: a
//! refused request changes nothing that matters (at most it expires holds that were already past
//! their expiry, which every later read and check treats the same way, expired or not).
//!
//! One file per noun:
//! - [`record`]: the records ([`LogRecordV3`]; version 2's [`LogRecordV2`] and version 1's
//!   [`LogRecordV1`] read into it), and their replay on a book;
//! - [`frame`]: one record on disk, its length, checksum and LSN;
//! - [`segment`]: segment files, their names and headers;
//! - [`reader`]: reading every segment back at start-up, cutting a torn tail;
//! - [`writer`]: appending, and the group commit (one writer thread, sync threads).
//!
//! Log sequence numbers (LSNs) are global and consecutive, so a gap is found on reading.

pub mod frame;
pub mod reader;
pub mod record;
pub mod segment;
pub mod writer;

#[cfg(test)]
mod tests;

pub use frame::{encode_frame, FRAME_HEADER_BYTES};
pub use reader::{read_log, LogError, LogRead, TornTail};
pub use record::{
    HoldRequestV1, HoldTargetV1, LogRecordV1, LogRecordV2, LogRecordV3, SegmentRequestV1,
};
pub use segment::{
    first_lsn_of, list_segments, segment_name, LOG_FORMAT_VERSION, LOG_FORMAT_VERSION_OLDEST,
    LOG_HEADER_BYTES, LOG_MAGIC, LOG_PREFIX, LOG_SUFFIX,
};
pub use writer::{DurabilityMode, LogFailed, LogWriter, Ticket};
