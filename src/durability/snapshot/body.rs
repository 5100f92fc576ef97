//! A snapshot file's body: the covered log position, the number of companies, then each
//! company's record framed by its length, so that restore decodes companies on every core at
//! once, each next to its rebuild. Assembling the file from encoded records, checking the body's
//! checksum and framing, and decoding a record.

use crate::durability::snapshot::header::{
    decode_header, encode_header, le_u32, le_u64, SnapshotHeader, SNAPSHOT_FORMAT_VERSION,
    SNAPSHOT_HEADER_BYTES,
};
use crate::durability::snapshot::v1::CompanySnapshotV1;
use crate::durability::snapshot::v2::CompanySnapshotV2;
use crate::durability::snapshot::v3::CompanySnapshotV3;
use crate::durability::snapshot::v4::{CompanySnapshotV4, SnapshotV4};
use crate::durability::snapshot::SnapshotError;

/// The bincode configuration of every body: little-endian, variable-length integers.
pub(crate) fn bincode_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// One company's record, encoded. A company actor copies its book a chunk at a time
/// ([`super::CompanyExport`]) and the copy is encoded off the actor, many companies at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedCompany {
    pub company: String,
    pub reservations: usize,
    pub bytes: Vec<u8>,
}

/// Size of the body's fixed start: covered LSN (u64) and company count (u32).
pub(crate) const BODY_PREFIX_BYTES: usize = 12;
/// Size of the length in front of each company's record (u32).
const FRAME_LENGTH_BYTES: usize = 4;

/// The whole file: header, then the body `[covered LSN u64][company count u32]` and each
/// company as `[length u32][bincode CompanySnapshotV4]`. Companies are framed one by one so
/// that restore decodes them on every core at once, each next to its rebuild.
pub fn encode_file(
    covered_lsn: u64,
    companies: &[EncodedCompany],
    created_at_ms: i64,
    sequence: u64,
) -> Vec<u8> {
    let body_len: usize = BODY_PREFIX_BYTES
        + companies
            .iter()
            .map(|c| FRAME_LENGTH_BYTES + c.bytes.len())
            .sum::<usize>();
    let mut bytes = Vec::with_capacity(SNAPSHOT_HEADER_BYTES + body_len);
    bytes.resize(SNAPSHOT_HEADER_BYTES, 0);
    bytes.extend_from_slice(&covered_lsn.to_le_bytes());
    bytes.extend_from_slice(&(companies.len() as u32).to_le_bytes());
    for company in companies {
        bytes.extend_from_slice(&(company.bytes.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&company.bytes);
    }
    let header = SnapshotHeader {
        format_version: SNAPSHOT_FORMAT_VERSION,
        created_at_ms,
        sequence,
        body_bytes: body_len as u64,
        body_crc32c: crc32c::crc32c(&bytes[SNAPSHOT_HEADER_BYTES..]),
    };
    bytes[..SNAPSHOT_HEADER_BYTES].copy_from_slice(&encode_header(&header));
    bytes
}

/// A body whose checksum verified, split into its companies' records (not yet decoded).
#[derive(Debug)]
pub struct VerifiedBody<'a> {
    /// The file's format version: how its records decode ([`decode_company`]).
    pub format_version: u32,
    pub covered_lsn: u64,
    pub companies: Vec<&'a [u8]>,
}

/// Checks the header and the body's checksum, and splits the body into company records.
pub fn verify(bytes: &[u8]) -> Result<(SnapshotHeader, VerifiedBody<'_>), SnapshotError> {
    let header = decode_header(bytes)?;
    let body = &bytes[SNAPSHOT_HEADER_BYTES..];
    if crc32c::crc32c(body) != header.body_crc32c {
        return Err(SnapshotError::BodyChecksum);
    }
    if body.len() < BODY_PREFIX_BYTES {
        return Err(SnapshotError::Decode("body shorter than its prefix".into()));
    }
    let covered_lsn = le_u64(body, 0);
    let count = le_u32(body, 8) as usize;
    if count > crate::limits::COMPANIES_MAX {
        return Err(SnapshotError::Decode(format!("{count} companies")));
    }
    let mut companies = Vec::with_capacity(count);
    let mut at = BODY_PREFIX_BYTES;
    for index in 0..count {
        let frame_len = body
            .get(at..at + FRAME_LENGTH_BYTES)
            .map(|_| le_u32(body, at) as usize)
            .ok_or_else(|| SnapshotError::Decode(format!("company #{index}: no length")))?;
        at += FRAME_LENGTH_BYTES;
        let frame = body
            .get(at..at + frame_len)
            .ok_or_else(|| SnapshotError::Decode(format!("company #{index}: past the end")))?;
        companies.push(frame);
        at += frame_len;
    }
    if at != body.len() {
        return Err(SnapshotError::Decode(format!(
            "{} bytes after the last company",
            body.len() - at
        )));
    }
    Ok((
        header,
        VerifiedBody {
            format_version: header.format_version,
            covered_lsn,
            companies,
        },
    ))
}

/// Decodes one company's record from its frame, as the file's `format_version` stores it (an
/// older record comes with what a company had before later versions: no configuration, no
/// events, no webhook endpoints).
pub fn decode_company(
    frame: &[u8],
    format_version: u32,
) -> Result<CompanySnapshotV4, SnapshotError> {
    let config = bincode_config();
    let decoded = match format_version {
        1 => bincode::serde::decode_from_slice::<CompanySnapshotV1, _>(frame, config)
            .map(|(record, read)| (CompanySnapshotV4::from(record), read)),
        2 => bincode::serde::decode_from_slice::<CompanySnapshotV2, _>(frame, config)
            .map(|(record, read)| (CompanySnapshotV4::from(record), read)),
        3 => bincode::serde::decode_from_slice::<CompanySnapshotV3, _>(frame, config)
            .map(|(record, read)| (CompanySnapshotV4::from(record), read)),
        _ => bincode::serde::decode_from_slice::<CompanySnapshotV4, _>(frame, config),
    };
    let (record, read) = decoded.map_err(|e| SnapshotError::Decode(e.to_string()))?;
    if read != frame.len() {
        return Err(SnapshotError::Decode(format!(
            "company {}: {} bytes left after its record",
            record.base.company,
            frame.len() - read
        )));
    }
    Ok(record)
}

/// Checks and decodes a whole file. Does not run the core's restore checks (see
/// [`super::restore_company`]).
pub fn decode(bytes: &[u8]) -> Result<(SnapshotHeader, SnapshotV4), SnapshotError> {
    let (header, body) = verify(bytes)?;
    let companies = body
        .companies
        .iter()
        .map(|frame| decode_company(frame, body.format_version))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        header,
        SnapshotV4 {
            covered_lsn: body.covered_lsn,
            companies,
        },
    ))
}
