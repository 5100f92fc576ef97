//! Fixtures that must decode forever: a version 1 snapshot and version 1 log segments that
//! holdfast itself wrote (`tests/fixtures/v1/`; its README tells the scenario and the commit
//! that made them), read by today's code and checked field by field against literal values.
//!
//! A golden checksum of today's encoder proves only that the encoder did not change; these files
//! prove that what earlier builds left on disk still loads, with every reservation, idempotency
//! key and counter as it was. The files and the values below are never changed to fit new code:
//! a new format version adds a folder and tests beside these.
//!
//! This file: the snapshot, decoded as stored and restored alone. `fixtures_v1_log.rs`: the log,
//! and the restore of the whole data directory.

mod fixtures_support;
mod fixtures_v1_support;

use fixtures_v1_support::*;
use holdfast::core::book::Book;
use holdfast::durability::load_snapshot;
use holdfast::durability::snapshot::{
    self, CompanySnapshotV1, HistogramV1, MetricsV1, ReservationV1, SegmentV1, SnapshotHeader,
};

/// A snapshot record's counters as stored: `[created_single, created_compound, converted,
/// expired, cancelled, confirm_attempts, confirm_successes, requests]`, the cancel reasons, and
/// the count of every error type (zeros included) in the order the file lists them.
fn stored_metrics(counts: [u64; 8], reasons: &[(&str, u64)], errors: [u64; 8]) -> MetricsV1 {
    let [single, compound, converted, expired, cancelled, attempts, successes, requests] = counts;
    let names = [
        "conflict",
        "no_slot",
        "expired",
        "invalid_state",
        "invalid_request",
        "not_found",
        "limit_reached",
        "idempotency_mismatch",
    ];
    MetricsV1 {
        created_single: single,
        created_compound: compound,
        converted,
        expired,
        cancelled,
        cancelled_by_reason: reasons.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
        errors_by_type: names
            .iter()
            .zip(errors)
            .map(|(e, n)| (e.to_string(), n))
            .collect(),
        confirm_attempts: attempts,
        confirm_successes: successes,
        requests,
        time_to_conversion_ms: HistogramV1::default(),
        expired_lifetime_ms: HistogramV1::default(),
        hold_latency_micros: HistogramV1::default(),
    }
}

/// A reservation as stored: its `seq`, its status code (0 active, 1 converted, 2 expired,
/// 3 cancelled), its segments as `(resource index, start, length)`, the rest from `expected`.
fn stored_reservation(
    seq: u64,
    status: u8,
    expected: &Expected,
    segments: &[(u32, i64, i64)],
) -> ReservationV1 {
    ReservationV1 {
        token: token(expected.token),
        seq,
        status,
        segments: segments
            .iter()
            .map(|&(resource, start_ms, length_ms)| SegmentV1 {
                resource,
                start_ms,
                length_ms,
            })
            .collect(),
        call_id: expected.call_id.map(Into::into),
        customer_phone: expected.customer_phone.map(Into::into),
        service_id: expected.service_id.map(Into::into),
        appointment_id: expected.appointment_id.map(Into::into),
        cancel_reason: expected.cancel_reason.map(Into::into),
        reserved_at_ms: at(expected.reserved_at_s),
        ttl_ms: (expected.expires_at_s - expected.reserved_at_s) * 1_000,
        converted_at_ms: expected.converted_at_s.map(at),
        cancelled_at_ms: expected.cancelled_at_s.map(at),
        expired_at_ms: expected.expired_at_s.map(at),
    }
}

/// Goal: the version 1 snapshot decodes with the version 1 decoder into exactly what was
/// stored: header, covered LSN, and each company's record field by field.
#[test]
fn the_v1_snapshot_decodes_field_by_field() {
    let dir = fixtures();
    let bytes = std::fs::read(dir.path().join(SNAPSHOT_NAME)).unwrap();
    let (header, body) = snapshot::decode(&bytes).expect("the v1 snapshot decodes");
    let expected_header = SnapshotHeader {
        format_version: 1,
        created_at_ms: at(130),
        sequence: 1,
        body_bytes: 865,
        body_crc32c: 3_054_165_228,
    };
    assert_eq!(header, expected_header);
    assert_eq!(body.covered_lsn, 9);
    let mut acme_metrics = stored_metrics(
        [3, 1, 1, 1, 1, 1, 1, 9],
        &[("customer_hung_up", 1)],
        [1, 0, 0, 1, 0, 0, 0, 0],
    );
    acme_metrics.time_to_conversion_ms = histogram(&[(10_047, 1)]);
    acme_metrics.expired_lifetime_ms = histogram(&[(120_319, 1)]);
    acme_metrics.hold_latency_micros =
        histogram(&[(34, 1), (125, 1), (283, 1), (363, 1), (381, 1)]);
    let acme = CompanySnapshotV1 {
        company: "acme".into(),
        last_lsn: 9,
        resources: vec![
            "chair-1".into(),
            "basin-1".into(),
            "chair-3".into(),
            "chair-2".into(),
        ],
        reservations: vec![
            stored_reservation(0, 1, &A1_BOOKED, &[(0, slot(9, 0), 1_800_000)]),
            stored_reservation(
                1,
                0,
                &A2_HELD,
                &[(0, slot(10, 0), 1_800_000), (1, slot(10, 30), 900_000)],
            ),
            stored_reservation(2, 3, &A4_CANCELLED, &[(2, slot(11, 0), 1_800_000)]),
            stored_reservation(3, 2, &A3_EXPIRED, &[(3, slot(9, 0), 3_600_000)]),
        ],
        idempotency: vec![key("idem-a1", 18_030_357_308_796_110_859, A1, 0)],
        metrics: acme_metrics,
    };
    let mut beta_metrics = stored_metrics([1, 0, 0, 0, 0, 0, 0, 1], &[], [0; 8]);
    beta_metrics.hold_latency_micros = histogram(&[(223, 1)]);
    let beta = CompanySnapshotV1 {
        company: "beta".into(),
        last_lsn: 5,
        resources: vec!["room-1".into()],
        reservations: vec![stored_reservation(
            0,
            0,
            &B1_HELD,
            &[(0, slot(14, 0), 3_600_000)],
        )],
        idempotency: vec![key("idem-b1", 7_261_173_900_370_783_297, B1, 0)],
        metrics: beta_metrics,
    };
    // A version 1 record reads back as a company that configured nothing.
    assert_eq!(body.companies, vec![acme.into(), beta.into()]);
}

/// Goal: the snapshot alone restores into books that answer every read as the server did when
/// the snapshot was taken.
#[test]
fn the_v1_snapshot_alone_restores_as_it_was() {
    let dir = fixtures();
    let (covered_lsn, books) = load_snapshot(&dir.path().join(SNAPSHOT_NAME), &settings())
        .expect("the v1 snapshot restores");
    assert_eq!(covered_lsn, 9);
    let mut books: Vec<Book> = books.into_values().collect();
    let [acme, beta] = &mut books[..] else {
        panic!("two companies");
    };
    assert_eq!((acme.log_position(), beta.log_position()), (9, 5));
    check_metrics(
        acme,
        [4, 3, 1, 1, 1, 1, 2, 1, 2, 9, 1, 1],
        &[("customer_hung_up", 1)],
        &[("conflict", 1), ("invalid_state", 1)],
    );
    check_metrics(beta, [1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0], &[], &[]);
    check_all(
        acme,
        at(130),
        &[A1_BOOKED, A2_HELD, A3_EXPIRED, A4_CANCELLED],
    );
    check_all(beta, at(130), &[B1_HELD]);
}
