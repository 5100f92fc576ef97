//! Fixtures that must decode forever: a version 1 snapshot and version 1 log segments that
//! holdfast itself wrote (`tests/fixtures/v1/`; its README tells the scenario and the commit
//! that made them), read by today's code and checked field by field against literal values.
//!
//! A golden checksum of today's encoder proves only that the encoder did not change; these files
//! prove that what earlier builds left on disk still loads, with every reservation, idempotency
//! key and counter as it was. The files and the values below are never changed to fit new code:
//! a new format version adds a folder and tests beside these.
//!
//! This file: the log, read record by record, and the restore of the whole data directory
//! (snapshot, then the log after it, then expiry). `fixtures_v1_snapshot.rs`: the snapshot alone.

mod fixtures_support;
mod fixtures_v1_support;

use fixtures_v1_support::*;
use holdfast::core::reservation::Status;
use holdfast::durability::log::{
    read_log, HoldRequestV1, HoldTargetV1, LogRecordV1, LogRecordV3, SegmentRequestV1,
};
use holdfast::durability::snapshot::{export_company, HistogramV1};
use holdfast::durability::{restore, ExpiredOnRestore, RestoredSnapshot};
use std::path::PathBuf;

/// A logged hold; `texts` are its call id, customer phone, service id and idempotency key.
fn hold(
    company: &str,
    owner: &str,
    now_s: i64,
    target: HoldTargetV1,
    ttl_seconds: i64,
    texts: [Option<&str>; 4],
    replace_call_holds: bool,
) -> LogRecordV1 {
    let [call_id, customer_phone, service_id, idempotency_key] = texts.map(|t| t.map(String::from));
    LogRecordV1::Hold {
        company: company.into(),
        token: token(owner),
        now_ms: at(now_s),
        request: HoldRequestV1 {
            target,
            ttl_seconds,
            call_id,
            customer_phone,
            service_id,
            replace_call_holds,
            idempotency_key,
        },
    }
}

/// A logged hold's segments.
fn segments(list: &[NextDaySegment]) -> HoldTargetV1 {
    HoldTargetV1::Segments(
        list.iter()
            .map(|(resource, (h1, m1), (h2, m2))| SegmentRequestV1 {
                resource: resource.to_string(),
                start_ms: slot(*h1, *m1),
                end_ms: slot(*h2, *m2),
            })
            .collect(),
    )
}

/// Goal: both version 1 log segments read back record by record, every field as logged, with
/// consecutive LSNs and no torn tail.
#[test]
fn the_v1_log_reads_back_record_by_record() {
    let dir = fixtures();
    let log = read_log(dir.path(), false).expect("the v1 log reads");
    let confirm = |company: &str, owner, now_s, appointment_id: &str| LogRecordV1::Confirm {
        company: company.into(),
        token: token(owner),
        now_ms: at(now_s),
        appointment_id: Some(appointment_id.into()),
    };
    let extend = |company: &str, owner, now_s, ttl_seconds| LogRecordV1::Extend {
        company: company.into(),
        token: token(owner),
        now_ms: at(now_s),
        ttl_seconds,
    };
    let cancel = |company: &str, owner, now_s, reason: Option<&str>| LogRecordV1::Cancel {
        company: company.into(),
        token: token(owner),
        now_ms: at(now_s),
        reason: reason.map(Into::into),
    };
    let expire = |company: &str, now_s, owners: &[&str]| LogRecordV1::Expire {
        company: company.into(),
        now_ms: at(now_s),
        tokens: owners.iter().map(|t| token(t)).collect(),
    };
    let find = HoldTargetV1::Find {
        resources: vec!["room-1".into(), "room-2".into()],
        earliest_ms: slot(14, 0),
        latest_ms: slot(18, 0),
        duration_ms: 3_600_000,
        step_ms: 1_800_000,
    };
    let expected = vec![
        hold(
            "acme",
            A1,
            0,
            segments(&[("chair-1", (9, 0), (9, 30))]),
            300,
            [
                Some("call-1"),
                Some("+4915112345678"),
                Some("haircut"),
                Some("idem-a1"),
            ],
            false,
        ),
        hold(
            "acme",
            A2,
            0,
            segments(&[
                ("chair-1", (10, 0), (10, 30)),
                ("basin-1", (10, 30), (10, 45)),
            ]),
            600,
            [Some("call-2"), None, Some("colour"), None],
            false,
        ),
        hold(
            "acme",
            A4,
            0,
            segments(&[("chair-3", (11, 0), (11, 30))]),
            300,
            [Some("call-4"), None, None, None],
            false,
        ),
        hold(
            "acme",
            A3,
            0,
            segments(&[("chair-2", (9, 0), (10, 0))]),
            120,
            [None; 4],
            false,
        ),
        hold(
            "beta",
            B1,
            0,
            segments(&[("room-1", (14, 0), (15, 0))]),
            300,
            [Some("call-b1"), Some("+33612345678"), None, Some("idem-b1")],
            false,
        ),
        confirm("acme", A1, 10, "A-17"),
        extend("acme", A2, 20, 900),
        cancel("acme", A4, 40, Some("customer_hung_up")),
        expire("acme", 130, &[A3]),
        hold(
            "acme",
            A5,
            200,
            segments(&[("chair-2", (9, 0), (10, 0))]),
            300,
            [
                Some("call-5"),
                Some("+4915187654321"),
                Some("shave"),
                Some("idem-a5"),
            ],
            false,
        ),
        hold(
            "beta",
            B2,
            200,
            segments(&[("room-1", (16, 0), (17, 0)), ("room-2", (16, 0), (17, 0))]),
            600,
            [Some("call-b2"), None, None, None],
            false,
        ),
        hold(
            "beta",
            B3,
            200,
            find,
            60,
            [Some("call-b3"), None, Some("meeting"), Some("idem-b3")],
            false,
        ),
        confirm("acme", A2, 210, "A-18"),
        extend("acme", A5, 220, 600),
        cancel("beta", B2, 230, Some("caller_changed_mind")),
        cancel("beta", B1, 240, None),
        hold(
            "acme",
            A6,
            250,
            segments(&[("chair-4", (12, 0), (12, 30))]),
            300,
            [Some("call-5"), None, Some("shave"), None],
            true,
        ),
        expire("beta", 300, &[B3, B1]),
        hold(
            "beta",
            B4,
            600,
            segments(&[("room-3", (9, 0), (10, 0))]),
            900,
            [None; 4],
            false,
        ),
        LogRecordV1::Housekeeping {
            company: "acme".into(),
            now_ms: at(700),
        },
    ];
    let lsns: Vec<u64> = log.records.iter().map(|(lsn, _)| *lsn).collect();
    assert_eq!(lsns, (1..=20).collect::<Vec<u64>>());
    for ((lsn, record), expected) in log.records.iter().zip(&expected) {
        // A version 1 record reads back as the reservation change it always was.
        assert_eq!(
            record,
            &LogRecordV3::Change(expected.clone()),
            "record {lsn}"
        );
    }
    assert_eq!(log.records.len(), expected.len());
    assert_eq!((log.first_lsn, log.last_lsn), (Some(1), 20));
    let segments: Vec<(u64, PathBuf, u64)> = vec![
        (1, dir.path().join("wal-00000000000000000001.log"), 9),
        (10, dir.path().join("wal-00000000000000000010.log"), 20),
    ];
    assert_eq!(log.segments, segments);
    assert!(log.torn.is_none());
}

/// Goal: a restore of the whole data directory (the snapshot, then the log records it does not
/// hold, then expiry of what ran out while down) gives back every reservation, idempotency key
/// and counter exactly, and reports what it did.
#[test]
fn the_v1_fixtures_restore_every_reservation_key_and_counter() {
    let dir = fixtures();
    let restored = restore(dir.path(), &settings(), RESTORE_AT_MS).expect("the v1 files restore");
    let report = &restored.report;
    assert_eq!(
        report.snapshot,
        Some(RestoredSnapshot {
            file: dir.path().join(SNAPSHOT_NAME),
            sequence: 1,
            covered_lsn: 9,
        })
    );
    assert!(report.quarantined.is_empty() && report.removed_temporaries.is_empty());
    assert_eq!((report.companies, report.reservations), (2, 9));
    assert_eq!((report.replayed, report.replay_refused), (11, 0));
    assert_eq!(report.torn_tail, None);
    assert_eq!(report.expired_on_restore, 1);
    assert_eq!(restored.next_lsn, 21);
    assert_eq!(
        restored.expired,
        vec![ExpiredOnRestore {
            company: "acme".to_string(),
            tokens: vec![uuid(A6)],
        }]
    );
    let mut books = restored.books;
    let [acme, beta] = &mut books[..] else {
        panic!("two companies");
    };
    assert_eq!((acme.log_position(), beta.log_position()), (20, 19));
    let now = RESTORE_AT_MS;
    check_metrics(
        acme,
        [6, 5, 1, 2, 2, 2, 2, 0, 2, 13, 2, 2],
        &[("customer_hung_up", 1), ("replaced", 1)],
        &[("conflict", 1), ("invalid_state", 1)],
    );
    check_metrics(
        beta,
        [4, 3, 1, 0, 1, 2, 0, 1, 1, 6, 0, 0],
        &[("caller_changed_mind", 1), ("unspecified", 1)],
        &[],
    );
    // Keys and histograms as the book holds them, in their stored form. A key restored from the
    // snapshot keeps the fingerprint stored with it; a key whose hold is replayed from the log
    // gets the fingerprint of the logged request's bytes (`durability::fingerprint`), which
    // these values pin.
    let acme_record = export_company(acme, acme.log_position()).base;
    assert_eq!(
        acme_record.idempotency,
        vec![
            key("idem-a1", 18_030_357_308_796_110_859, A1, 0),
            key("idem-a5", 7_627_197_243_907_174_815, A5, 200),
        ]
    );
    assert_eq!(
        acme_record.metrics.time_to_conversion_ms,
        histogram(&[(10_047, 1), (210_943, 1)])
    );
    assert_eq!(
        acme_record.metrics.expired_lifetime_ms,
        histogram(&[(120_319, 1), (301_055, 1)])
    );
    assert_eq!(
        acme_record.metrics.hold_latency_micros,
        histogram(&[(34, 1), (125, 1), (283, 1), (363, 1), (381, 1)])
    );
    let beta_record = export_company(beta, beta.log_position()).base;
    assert_eq!(
        beta_record.idempotency,
        vec![
            key("idem-b1", 7_261_173_900_370_783_297, B1, 0),
            key("idem-b3", 12_480_376_896_973_170_780, B3, 200),
        ]
    );
    assert_eq!(
        beta_record.metrics.time_to_conversion_ms,
        HistogramV1::default()
    );
    assert_eq!(
        beta_record.metrics.expired_lifetime_ms,
        histogram(&[(60_159, 1)])
    );
    assert_eq!(
        beta_record.metrics.hold_latency_micros,
        histogram(&[(223, 1)])
    );
    check_all(
        acme,
        now,
        &[
            A1_BOOKED,
            Expected {
                status: Status::Converted,
                appointment_id: Some("A-18"),
                converted_at_s: Some(210),
                ..A2_HELD
            },
            A3_EXPIRED,
            Expected {
                token: A5,
                status: Status::Cancelled,
                segments: &[("chair-2", (9, 0), (10, 0))],
                call_id: Some("call-5"),
                customer_phone: Some("+4915187654321"),
                service_id: Some("shave"),
                reserved_at_s: 200,
                expires_at_s: 820,
                cancelled_at_s: Some(250),
                cancel_reason: Some("replaced"),
                ..NOTHING
            },
            Expected {
                token: A6,
                status: Status::Expired,
                segments: &[("chair-4", (12, 0), (12, 30))],
                call_id: Some("call-5"),
                service_id: Some("shave"),
                reserved_at_s: 250,
                expires_at_s: 550,
                expired_at_s: Some(550),
                ..NOTHING
            },
        ],
    );
    assert!(acme.get(uuid(A4), now).is_err(), "housekeeping dropped a4");
    check_all(
        beta,
        now,
        &[
            Expected {
                status: Status::Cancelled,
                cancelled_at_s: Some(240),
                cancel_reason: Some("unspecified"),
                ..B1_HELD
            },
            Expected {
                token: B2,
                status: Status::Cancelled,
                segments: &[("room-1", (16, 0), (17, 0)), ("room-2", (16, 0), (17, 0))],
                call_id: Some("call-b2"),
                reserved_at_s: 200,
                expires_at_s: 800,
                cancelled_at_s: Some(230),
                cancel_reason: Some("caller_changed_mind"),
                ..NOTHING
            },
            Expected {
                token: B3,
                status: Status::Expired,
                segments: &[("room-2", (14, 0), (15, 0))],
                call_id: Some("call-b3"),
                service_id: Some("meeting"),
                reserved_at_s: 200,
                expires_at_s: 260,
                expired_at_s: Some(260),
                ..NOTHING
            },
            Expected {
                token: B4,
                segments: &[("room-3", (9, 0), (10, 0))],
                reserved_at_s: 600,
                expires_at_s: 1_500,
                ..NOTHING
            },
        ],
    );
    assert_eq!(beta.get(uuid(B4), now).unwrap().time_remaining_seconds, 500);
    for book in [acme, beta] {
        book.check_invariants(now).unwrap();
    }
}
