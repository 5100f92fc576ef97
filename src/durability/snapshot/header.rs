//! A snapshot file's fixed 48-byte header (the table in the module's documentation): encoding
//! it, and reading it back with every check that can be made before the body is looked at
//! (magic, header checksum, version, exact length), so that a damaged or newer file is told
//! apart from a good one cheaply.

use crate::durability::snapshot::SnapshotError;

/// First bytes of every snapshot file.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"HOLDSNAP";
/// The format this build writes, and the newest it reads: version 3 ([`super::v3`]); files of
/// versions 1 and 2 ([`super::v1`], [`super::v2`]) still read.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 4;
/// The oldest format this build reads.
pub const SNAPSHOT_FORMAT_VERSION_OLDEST: u32 = 1;
/// Size of the fixed header, in bytes.
pub const SNAPSHOT_HEADER_BYTES: usize = 48;

/// The fixed header, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub format_version: u32,
    pub created_at_ms: i64,
    pub sequence: u64,
    pub body_bytes: u64,
    pub body_crc32c: u32,
}

/// The header's bytes.
pub(crate) fn encode_header(header: &SnapshotHeader) -> [u8; SNAPSHOT_HEADER_BYTES] {
    let mut bytes = [0u8; SNAPSHOT_HEADER_BYTES];
    bytes[0..8].copy_from_slice(&SNAPSHOT_MAGIC);
    bytes[8..12].copy_from_slice(&header.format_version.to_le_bytes());
    bytes[16..24].copy_from_slice(&header.created_at_ms.to_le_bytes());
    bytes[24..32].copy_from_slice(&header.sequence.to_le_bytes());
    bytes[32..40].copy_from_slice(&header.body_bytes.to_le_bytes());
    bytes[40..44].copy_from_slice(&header.body_crc32c.to_le_bytes());
    let header_crc32c = crc32c::crc32c(&bytes[..44]);
    bytes[44..48].copy_from_slice(&header_crc32c.to_le_bytes());
    bytes
}

/// The little-endian `u32` at `at`.
pub(crate) fn le_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// The little-endian `u64` at `at`.
pub(crate) fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Reads and checks the header: magic, header checksum, version, and that the file holds exactly
/// the body the header announces. Does not look at the body's bytes.
pub fn decode_header(bytes: &[u8]) -> Result<SnapshotHeader, SnapshotError> {
    if bytes.is_empty() {
        return Err(SnapshotError::Empty);
    }
    if bytes.len() < SNAPSHOT_MAGIC.len() || bytes[..SNAPSHOT_MAGIC.len()] != SNAPSHOT_MAGIC {
        return Err(SnapshotError::WrongMagic);
    }
    if bytes.len() < SNAPSHOT_HEADER_BYTES {
        return Err(SnapshotError::ShortHeader(bytes.len()));
    }
    if crc32c::crc32c(&bytes[..44]) != le_u32(bytes, 44) {
        return Err(SnapshotError::HeaderChecksum);
    }
    let header = SnapshotHeader {
        format_version: le_u32(bytes, 8),
        created_at_ms: le_u64(bytes, 16) as i64,
        sequence: le_u64(bytes, 24),
        body_bytes: le_u64(bytes, 32),
        body_crc32c: le_u32(bytes, 40),
    };
    if header.format_version > SNAPSHOT_FORMAT_VERSION {
        return Err(SnapshotError::NewerVersion {
            found: header.format_version,
            supported: SNAPSHOT_FORMAT_VERSION,
        });
    }
    if header.format_version < SNAPSHOT_FORMAT_VERSION_OLDEST {
        return Err(SnapshotError::UnknownVersion(header.format_version));
    }
    let actual = (bytes.len() - SNAPSHOT_HEADER_BYTES) as u64;
    if actual < header.body_bytes {
        return Err(SnapshotError::Truncated {
            expected: header.body_bytes,
            actual,
        });
    }
    if actual > header.body_bytes {
        return Err(SnapshotError::TrailingBytes {
            expected: header.body_bytes,
            actual,
        });
    }
    Ok(header)
}
