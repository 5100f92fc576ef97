//! The write-ahead log's frames: one record on disk, as
//! `[payload length u32 LE][CRC-32C of LSN and payload u32 LE][LSN u64 LE][bincode payload]`.
//! Encoding, stamping the LSN once the writer assigns it, and reading one frame back with its
//! checks (length bound, checksum, exact decode), so that nothing else knows the byte layout.

use crate::durability::log::record::{LogRecordV1, LogRecordV2, LogRecordV3};
use crate::limits;

/// Size of a frame's header (length, checksum, LSN), in bytes.
pub const FRAME_HEADER_BYTES: usize = 16;

/// The bincode configuration of every payload: little-endian, variable-length integers.
fn bincode_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// The bytes of one frame holding `record` at `lsn` (the current format, version 3).
pub fn encode_frame(lsn: u64, record: &LogRecordV3) -> Vec<u8> {
    let mut frame = vec![0u8; FRAME_HEADER_BYTES];
    bincode::serde::encode_into_std_write(record, &mut frame, bincode_config())
        .expect("encoding a record into memory cannot fail");
    let payload_bytes = (frame.len() - FRAME_HEADER_BYTES) as u32;
    frame[0..4].copy_from_slice(&payload_bytes.to_le_bytes());
    stamp_lsn(&mut frame, lsn);
    frame
}

/// Writes `lsn` into an encoded frame, and the checksum that covers it: a record is encoded
/// before the writer numbers it, outside the writer's lock.
pub(crate) fn stamp_lsn(frame: &mut [u8], lsn: u64) {
    frame[8..16].copy_from_slice(&lsn.to_le_bytes());
    let crc = crc32c::crc32c(&frame[8..]);
    frame[4..8].copy_from_slice(&crc.to_le_bytes());
}

/// One frame read back: its LSN, record, and total size in bytes.
pub(crate) struct Frame {
    pub lsn: u64,
    pub record: LogRecordV3,
    pub bytes: usize,
}

/// Why a frame did not read.
pub(crate) enum FrameProblem {
    /// The frame runs past the end of the file.
    PastEnd,
    /// The frame is complete but does not verify or decode.
    Bad(String),
}

/// Reads the frame at the start of `bytes`, its payload decoded as the record type of the
/// segment's `format_version` (1 to 3: the reader refuses any other before it reads a frame).
pub(crate) fn read_frame(bytes: &[u8], format_version: u32) -> Result<Frame, FrameProblem> {
    if bytes.len() < FRAME_HEADER_BYTES {
        return Err(FrameProblem::PastEnd);
    }
    let payload_bytes = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    if payload_bytes == 0 || payload_bytes > limits::LOG_RECORD_BYTES_MAX {
        return Err(FrameProblem::Bad(format!(
            "record length {payload_bytes} is outside 1..={}",
            limits::LOG_RECORD_BYTES_MAX
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
    let payload = &bytes[FRAME_HEADER_BYTES..total];
    let decoded = match format_version {
        1 => bincode::serde::decode_from_slice::<LogRecordV1, _>(payload, bincode_config())
            .map(|(record, read)| (LogRecordV3::from(record), read)),
        2 => bincode::serde::decode_from_slice::<LogRecordV2, _>(payload, bincode_config())
            .map(|(record, read)| (LogRecordV3::from(record), read)),
        _ => bincode::serde::decode_from_slice::<LogRecordV3, _>(payload, bincode_config()),
    };
    let (record, read) =
        decoded.map_err(|e| FrameProblem::Bad(format!("record does not decode: {e}")))?;
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
pub(crate) fn valid_frame_follows(bytes: &[u8], last_lsn: u64, format_version: u32) -> bool {
    let lsn_most = last_lsn + 1 + (bytes.len() / FRAME_HEADER_BYTES) as u64;
    (1..bytes.len().saturating_sub(FRAME_HEADER_BYTES - 1)).any(|at| {
        let rest = &bytes[at..];
        let mut lsn = [0u8; 8];
        lsn.copy_from_slice(&rest[8..16]);
        let lsn = u64::from_le_bytes(lsn);
        // Cheap tests first: a plausible LSN, then the checksum.
        lsn > last_lsn && lsn <= lsn_most && read_frame(rest, format_version).is_ok()
    })
}
