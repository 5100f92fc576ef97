//! `holdfast snapshot inspect FILE`: what a snapshot file holds, for an operator deciding which
//! file to restore or why one was renamed `*.corrupt`. It runs every check a restore runs
//! (header, length, checksums, decode, and rebuilding each company with the core's overlap and
//! token checks), prints the header, each company and its counts by status, and fails (non-zero
//! exit in the binary) on a file that would not restore.

use crate::core::book::Settings;
use crate::durability::snapshot::{self, SnapshotError};
use std::fmt::Write as _;
use std::path::Path;

/// Reads, verifies and describes the snapshot at `path`. `Err` tells why the file would not
/// restore.
pub fn inspect(path: &Path) -> Result<String, SnapshotError> {
    let bytes = std::fs::read(path)?;
    let (header, body) = snapshot::decode(&bytes)?;
    for company in &body.companies {
        snapshot::restore_company(company.clone(), &Settings::default()).map_err(|detail| {
            SnapshotError::Invalid {
                company: company.base.company.clone(),
                detail,
            }
        })?;
    }
    let created_at = crate::http::time::Instant(header.created_at_ms);
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "file: {}", path.display());
    let _ = writeln!(out, "format version: {}", header.format_version);
    let _ = writeln!(out, "sequence: {}", header.sequence);
    let _ = writeln!(out, "created at: {created_at}");
    let _ = writeln!(
        out,
        "body: {} bytes, crc32c {:#010x}, verified",
        header.body_bytes, header.body_crc32c
    );
    let _ = writeln!(out, "covered log position: {}", body.covered_lsn);
    let _ = writeln!(out, "companies: {}", body.companies.len());
    let _ = writeln!(
        out,
        "{:<24} {:>12} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "company",
        "reservations",
        "active",
        "converted",
        "expired",
        "cancelled",
        "idem. keys",
        "log position"
    );
    let mut totals = [0usize; 6];
    for company in body.companies.iter().map(|c| &c.base) {
        let counts = snapshot::status_counts(company);
        let row = [
            company.reservations.len(),
            counts["active"],
            counts["converted"],
            counts["expired"],
            counts["cancelled"],
            company.idempotency.len(),
        ];
        for (total, value) in totals.iter_mut().zip(row) {
            *total += value;
        }
        let _ = writeln!(
            out,
            "{:<24} {:>12} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12}",
            company.company, row[0], row[1], row[2], row[3], row[4], row[5], company.last_lsn
        );
    }
    let _ = writeln!(
        out,
        "{:<24} {:>12} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "total", totals[0], totals[1], totals[2], totals[3], totals[4], totals[5]
    );
    if !bytes.is_empty() && totals[0] > 0 {
        let _ = writeln!(
            out,
            "bytes per reservation: {:.1}",
            bytes.len() as f64 / totals[0] as f64
        );
    }
    Ok(out)
}
