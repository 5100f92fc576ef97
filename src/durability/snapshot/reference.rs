//! The reference encoder: bincode's own encoding of the on-disk types as values, which only
//! tests use. The server never writes a file this way (it assembles each company's record by
//! hand from a chunked export, see [`super::export`]); a test pins the assembled bytes to these,
//! and tests build files from literal [`SnapshotV4`] values with them.

use crate::durability::snapshot::body::{bincode_config, encode_file, EncodedCompany};
use crate::durability::snapshot::v4::{CompanySnapshotV4, SnapshotV4};

/// One company's record encoded by bincode as a value: the bytes the hand-assembled export
/// must equal.
pub fn reference_encode_company(record: &CompanySnapshotV4) -> EncodedCompany {
    let bytes = bincode::serde::encode_to_vec(record, bincode_config())
        .expect("encoding a snapshot record into memory cannot fail");
    EncodedCompany {
        company: record.base.company.clone(),
        reservations: record.base.reservations.len(),
        bytes,
    }
}

/// The whole file for `body`, each company encoded by [`reference_encode_company`] (the server
/// assembles its records from a chunked export instead).
pub fn reference_encode_file(body: &SnapshotV4, created_at_ms: i64, sequence: u64) -> Vec<u8> {
    let companies: Vec<EncodedCompany> = body
        .companies
        .iter()
        .map(reference_encode_company)
        .collect();
    encode_file(body.covered_lsn, &companies, created_at_ms, sequence)
}
