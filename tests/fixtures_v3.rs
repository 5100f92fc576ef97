//! Fixtures that must decode forever: a version 3 snapshot (with each company's events) and the
//! log segments around it, written by holdfast itself (`tests/fixtures/v3/`; its README tells
//! the scenario and the commit that made them), read by today's code and checked against
//! literal values: the events the snapshot keeps, and the events a restore of the whole data
//! directory holds, every `seq`, kind, time and token.
//!
//! The files and the values below are never changed to fit new code: a new format version adds
//! a folder and tests beside these.

mod fixtures_support;

use holdfast::core::book::{Book, Settings};
use holdfast::core::reservation::Status;
use holdfast::durability::log::{read_log, LogRecordV1, LogRecordV3};
use holdfast::durability::restore;
use holdfast::durability::snapshot::{self, SnapshotHeader};
use uuid::Uuid;

/// `T`, when the fixtures' manual clock started: 2027-01-01T00:00:00Z.
const BASE_MS: i64 = 1_798_761_600_000;
const SNAPSHOT_NAME: &str = "snapshot-00000000000000000001.bin";
/// The restore runs at `T+130 s`, where the scenario ended.
const RESTORE_AT_MS: i64 = BASE_MS + 130_000;

const A1: &str = "61ab9373-8f09-4346-b31d-3fd5c98e4106";
const A2: &str = "1908dc15-df7d-4f4b-b9ac-fd3abf1a9abb";
const A3: &str = "b2ea8ada-2071-4a34-a468-54833221b4a5";
const A4: &str = "c9a39abc-3911-4eb8-b9c0-45e36b227915";
const B1: &str = "456c4616-b4da-4a1c-98c9-fee6100a82df";

fn uuid(text: &str) -> Uuid {
    Uuid::parse_str(text).expect("a literal token")
}

fn at(seconds: i64) -> i64 {
    BASE_MS + seconds * 1_000
}

fn fixtures() -> tempfile::TempDir {
    fixtures_support::copy_of("v3")
}

/// `(seq, kind, occurred at, token, status)` of every event a book keeps.
fn events_of(book: &Book) -> Vec<(u64, &'static str, i64, Uuid, Status)> {
    book.events_after(0, 1_000)
        .events
        .iter()
        .map(|e| {
            (
                e.seq,
                e.kind.as_str(),
                e.occurred_at_ms,
                e.reservation.token,
                e.reservation.status,
            )
        })
        .collect()
}

/// Goal: the version 3 snapshot decodes with its header, and each company's kept events and
/// next `seq` as stored.
#[test]
fn the_v3_snapshot_decodes_with_its_events() {
    let dir = fixtures();
    let bytes = std::fs::read(dir.path().join(SNAPSHOT_NAME)).unwrap();
    let (header, body) = snapshot::decode(&bytes).expect("the v3 snapshot decodes");
    assert_eq!(
        header,
        SnapshotHeader {
            format_version: 3,
            created_at_ms: at(30),
            sequence: 1,
            body_bytes: 984,
            body_crc32c: 1_967_041_167,
        }
    );
    assert_eq!(body.covered_lsn, 7);
    let [acme, beta] = &body.companies[..] else {
        panic!("two companies");
    };
    assert_eq!(acme.events.next_seq, 5);
    let kept: Vec<(u64, u8, i64, [u8; 16])> = acme
        .events
        .kept
        .iter()
        .map(|e| (e.seq, e.kind, e.occurred_at_ms, e.reservation.token))
        .collect();
    assert_eq!(
        kept,
        [
            (1, 0, at(0), uuid(A1).into_bytes()),
            (2, 0, at(0), uuid(A2).into_bytes()),
            (3, 1, at(10), uuid(A2).into_bytes()),
            (4, 2, at(10), uuid(A2).into_bytes()),
        ]
    );
    let converted = &acme.events.kept[3].reservation;
    assert_eq!(converted.status, 1);
    assert_eq!(converted.appointment_id.as_deref(), Some("A-2"));
    assert_eq!(converted.expires_at_ms, at(10) + 1_200_000);
    assert_eq!(acme.config.settings.default_ttl_seconds, 120);
    assert_eq!(beta.events.next_seq, 2);
    assert_eq!(beta.events.kept[0].reservation.token, uuid(B1).into_bytes());
}

/// Goal: both log segments read back: 12 records, the last five (after the snapshot) two holds,
/// a cancel, and the two expiries (a read's and the wheel's) as records of their own.
#[test]
fn the_v3_log_reads_back() {
    let dir = fixtures();
    let log = read_log(dir.path(), false).expect("the v3 log reads");
    assert_eq!((log.first_lsn, log.last_lsn), (Some(1), 12));
    let expired: Vec<(String, i64, Vec<[u8; 16]>)> = log
        .records
        .iter()
        .filter_map(|(_, record)| match record {
            LogRecordV3::Change(LogRecordV1::Expire {
                company,
                now_ms,
                tokens,
            }) => Some((company.clone(), *now_ms, tokens.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        expired,
        [
            ("acme".to_owned(), at(130), vec![uuid(A1).into_bytes()]),
            ("beta".to_owned(), at(130), vec![uuid(B1).into_bytes()]),
        ]
    );
}

/// Goal: the data directory restores with every event a live server handed out, numbered
/// without a gap across the snapshot: those it kept, then those replay makes again.
#[test]
fn the_v3_data_directory_restores_every_event() {
    let dir = fixtures();
    let restored = restore(dir.path(), &Settings::default(), RESTORE_AT_MS).expect("restores");
    assert_eq!(restored.report.replayed, 5);
    let mut books = restored.books;
    books.sort_by(|a, b| a.company().cmp(b.company()));
    let [acme, beta] = &books[..] else {
        panic!("two companies");
    };
    let (a1, a2, a3, a4) = (uuid(A1), uuid(A2), uuid(A3), uuid(A4));
    assert_eq!(
        events_of(acme),
        [
            (1, "reservation.created", at(0), a1, Status::Active),
            (2, "reservation.created", at(0), a2, Status::Active),
            (3, "reservation.extended", at(10), a2, Status::Active),
            (4, "reservation.converted", at(10), a2, Status::Converted),
            (5, "reservation.created", at(130), a3, Status::Active),
            (6, "reservation.cancelled", at(130), a3, Status::Cancelled),
            (7, "reservation.created", at(130), a4, Status::Active),
            (8, "reservation.cancelled", at(130), a4, Status::Cancelled),
            (9, "reservation.expired", at(130), a1, Status::Expired),
        ]
    );
    assert_eq!(acme.event_log().next_seq(), 10);
    let replaced = &acme.events_after(5, 1).events[0].reservation;
    assert_eq!(replaced.cancel_reason.as_deref(), Some("replaced"));
    assert_eq!(
        events_of(beta),
        [
            (1, "reservation.created", at(10), uuid(B1), Status::Active),
            (2, "reservation.expired", at(130), uuid(B1), Status::Expired),
        ]
    );
}
