//! Fixtures that must decode forever: a version 2 snapshot and version 2 log segments that
//! holdfast itself wrote (`tests/fixtures/v2/`; its README tells the scenario and the commit that
//! made them), read by today's code and checked against literal values: the configuration
//! records field by field, the reservation changes by kind, token and time, and the restore of
//! the whole data directory (settings, resources, a capacity lowered below what it holds, hours
//! and closures in force again).
//!
//! The files and the values below are never changed to fit new code: a new format version adds
//! a folder and tests beside these.

mod fixtures_support;

use holdfast::core::book::{Book, Settings};
use holdfast::core::command::{HoldOptions, HoldRequest, HoldTarget};
use holdfast::core::error::BookError;
use holdfast::core::reservation::Status;
use holdfast::durability::config::{ResourceConfigV2, SettingsV2};
use holdfast::durability::log::{read_log, LogRecordV1, LogRecordV3};
use holdfast::durability::restore;
use holdfast::durability::snapshot::{self, CapacityV2, SnapshotHeader};
use uuid::Uuid;

/// `T`, when the fixtures' manual clock started: 2027-01-01T00:00:00Z, a Friday.
const BASE_MS: i64 = 1_798_761_600_000;
const HOUR_MS: i64 = 3_600_000;
/// Monday 2027-01-04 00:00 UTC (01:00 in Berlin, UTC+1 in winter).
const MONDAY_MS: i64 = BASE_MS + 3 * 24 * HOUR_MS;
/// The restore runs at `T+100 s`, before the first hold (ttl 120 s) runs out.
const RESTORE_AT_MS: i64 = BASE_MS + 100_000;
const SNAPSHOT_NAME: &str = "snapshot-00000000000000000001.bin";

const H1: &str = "0cd13fe7-60ba-4de6-84dc-f22c7ae252bd";
const H2: &str = "1e3ae067-3c75-47b9-910a-47763f348751";
const H3: &str = "ceb39401-3b58-4f24-a458-06e00ee64489";
const H4: &str = "f5731701-eb69-4ce8-a7b7-822472c9e490";
const H5: &str = "6d22363a-6d17-4e33-85f4-4b62a2afa396";
const B1: &str = "7f2a3776-0745-4fea-84a3-b4108a8c6a17";
const B2: &str = "247b345f-0257-4ad9-9e2a-0a75b26060de";

fn uuid(text: &str) -> Uuid {
    Uuid::parse_str(text).expect("a literal token")
}

/// `T` plus `seconds`.
fn at(seconds: i64) -> i64 {
    BASE_MS + seconds * 1_000
}

fn fixtures() -> tempfile::TempDir {
    fixtures_support::copy_of("v2")
}

fn weekdays_8_to_18() -> Option<Vec<Vec<(u16, u16)>>> {
    let day = vec![(8 * 60, 18 * 60)];
    Some(vec![
        day.clone(),
        day.clone(),
        day.clone(),
        day.clone(),
        day,
        vec![],
        vec![],
    ])
}

fn room_1(capacity: u32) -> ResourceConfigV2 {
    ResourceConfigV2 {
        label: Some("Room 1".into()),
        capacity,
        hours: weekdays_8_to_18(),
        // Tuesday 2027-01-05, the whole day in Berlin.
        closed: vec![(MONDAY_MS + 23 * HOUR_MS, MONDAY_MS + 47 * HOUR_MS)],
    }
}

fn staff_7() -> ResourceConfigV2 {
    ResourceConfigV2 {
        label: Some("Dr. Meier".into()),
        capacity: 1,
        hours: Some(vec![
            vec![(9 * 60, 12 * 60), (13 * 60, 17 * 60)],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
        ]),
        closed: vec![],
    }
}

fn berlin(default_ttl_seconds: i64) -> SettingsV2 {
    SettingsV2 {
        time_zone: "Europe/Berlin".into(),
        locale: "de".into(),
        default_duration_minutes: 45,
        default_ttl_seconds,
    }
}

/// What a logged reservation change must be: its kind, token and time.
fn change(record: &LogRecordV3) -> (&'static str, Uuid, i64) {
    let LogRecordV3::Change(change) = record else {
        panic!("a reservation change, found {record:?}")
    };
    match change {
        LogRecordV1::Hold { token, now_ms, .. } => ("hold", Uuid::from_bytes(*token), *now_ms),
        LogRecordV1::Confirm { token, now_ms, .. } => {
            ("confirm", Uuid::from_bytes(*token), *now_ms)
        }
        other => panic!("a hold or a confirm, found {other:?}"),
    }
}

/// A logged hold's time to live (the company's default when its caller named none).
fn ttl_of(record: &LogRecordV3) -> i64 {
    match record {
        LogRecordV3::Change(LogRecordV1::Hold { request, .. }) => request.ttl_seconds,
        other => panic!("a hold, found {other:?}"),
    }
}

/// Goal: both version 2 log segments read back record by record: every configuration record
/// as logged, every reservation change with its token, time and time to live, LSNs 1 to 18.
#[test]
fn the_v2_log_reads_back_record_by_record() {
    let dir = fixtures();
    let log = read_log(dir.path(), false).expect("the v2 log reads");
    assert_eq!((log.first_lsn, log.last_lsn), (Some(1), 18));
    assert!(log.torn.is_none());
    let records: Vec<&LogRecordV3> = log.records.iter().map(|(_, r)| r).collect();
    let lsns: Vec<u64> = log.records.iter().map(|(lsn, _)| *lsn).collect();
    assert_eq!(lsns, (1..=18).collect::<Vec<u64>>());
    let acme = || "acme".to_string();
    let beta = || "beta".to_string();
    let put = |company: String, now_ms, resource: &str, config| LogRecordV3::PutResource {
        company,
        now_ms,
        resource: resource.into(),
        config,
    };
    let delete = |company: String, now_ms, resource: &str| LogRecordV3::DeleteResource {
        company,
        now_ms,
        resource: resource.into(),
    };
    let settings = |now_ms, ttl| LogRecordV3::Settings {
        company: acme(),
        now_ms,
        settings: berlin(ttl),
    };
    assert_eq!(records[0], &settings(at(0), 120));
    assert_eq!(records[1], &put(acme(), at(0), "room-1", room_1(3)));
    assert_eq!(records[2], &put(acme(), at(0), "staff-7", staff_7()));
    assert_eq!(change(records[3]), ("hold", uuid(H1), at(0)));
    assert_eq!(ttl_of(records[3]), 120, "the company's default at the time");
    assert_eq!(change(records[4]), ("hold", uuid(H2), at(0)));
    assert_eq!(change(records[5]), ("hold", uuid(H3), at(0)));
    assert_eq!(ttl_of(records[5]), 600);
    assert_eq!(records[6], &put(acme(), at(10), "room-1", room_1(1)));
    assert_eq!(change(records[7]), ("hold", uuid(H4), at(10)));
    let desk = |label: Option<&str>| ResourceConfigV2 {
        label: label.map(String::from),
        capacity: 2,
        hours: None,
        closed: vec![],
    };
    assert_eq!(records[8], &put(beta(), at(10), "desk", desk(None)));
    assert_eq!(records[9], &delete(beta(), at(10), "desk"));
    assert_eq!(records[10], &settings(at(60), 300));
    let staff_8 = ResourceConfigV2 {
        label: Some("Dr. Roth".into()),
        capacity: 1,
        hours: None,
        closed: vec![(MONDAY_MS + 11 * HOUR_MS, MONDAY_MS + 12 * HOUR_MS)],
    };
    assert_eq!(records[11], &put(acme(), at(60), "staff-8", staff_8));
    assert_eq!(change(records[12]), ("hold", uuid(H5), at(60)));
    assert_eq!(ttl_of(records[12]), 300, "the changed default");
    assert_eq!(records[13], &delete(acme(), at(60), "staff-7"));
    assert_eq!(
        records[14],
        &put(beta(), at(60), "desk", desk(Some("Hot desk")))
    );
    assert_eq!(change(records[15]), ("hold", uuid(B1), at(60)));
    assert_eq!(change(records[16]), ("hold", uuid(B2), at(60)));
    assert_eq!(change(records[17]), ("confirm", uuid(H2), at(60)));
}

/// Goal: the version 2 snapshot decodes into exactly what was stored: its header, each
/// company's settings, configured resources and capacity states (room-1 lowered to 1 under a
/// ceiling of 3 while it holds three overlapping holds; beta's desk configured and removed,
/// which leaves nothing), and the reservations it covered.
#[test]
fn the_v2_snapshot_decodes_with_its_configuration() {
    let dir = fixtures();
    let bytes = std::fs::read(dir.path().join(SNAPSHOT_NAME)).unwrap();
    let (header, body) = snapshot::decode(&bytes).expect("the v2 snapshot decodes");
    assert_eq!(
        header,
        SnapshotHeader {
            format_version: 2,
            created_at_ms: at(30),
            sequence: 1,
            body_bytes: 733,
            body_crc32c: 894_490_117,
        }
    );
    assert_eq!(body.covered_lsn, 10);
    let [acme, beta] = &body.companies[..] else {
        panic!("two companies, found {}", body.companies.len());
    };
    assert_eq!(acme.base.company, "acme");
    assert_eq!(acme.config.settings, berlin(120));
    let names = &acme.base.resources;
    let configured: Vec<(&str, &ResourceConfigV2)> = acme
        .config
        .resources
        .iter()
        .map(|(index, config)| (names[*index as usize].as_str(), config))
        .collect();
    assert_eq!(
        configured,
        [("room-1", &room_1(1)), ("staff-7", &staff_7())]
    );
    let room_index = names.iter().position(|n| n == "room-1").unwrap() as u32;
    assert_eq!(
        acme.config.capacities,
        [CapacityV2 {
            resource: room_index,
            capacity: 1,
            ceiling: 3,
            set_at_seq: 3,
        }]
    );
    let mut tokens: Vec<Uuid> = acme
        .base
        .reservations
        .iter()
        .map(|r| Uuid::from_bytes(r.token))
        .collect();
    tokens.sort();
    let mut expected = vec![uuid(H1), uuid(H2), uuid(H3), uuid(H4)];
    expected.sort();
    assert_eq!(tokens, expected);
    assert_eq!(beta.base.company, "beta");
    assert!(beta.config.resources.is_empty());
    assert!(beta.config.capacities.is_empty());
    assert_eq!(beta.config.settings.time_zone, "UTC");
}

/// A single hold of `[start_ms, end_ms)` on `resource`, with the API's defaults.
fn try_hold(book: &mut Book, resource: &str, start_ms: i64, end_ms: i64) -> Result<(), BookError> {
    let target = HoldTarget::single(resource, start_ms, end_ms).unwrap();
    let request = HoldRequest::with_options(target, HoldOptions::default());
    book.hold(request, None, Uuid::new_v4(), RESTORE_AT_MS)
        .map(drop)
}

/// Goal: the data directory (snapshot, then the log after it) restores into books that keep
/// every rule the scenario set: the changed settings, resources configured and removed, the
/// three holds kept over a capacity lowered to 1 (and no fourth), hours and closures in the
/// company's time zone, a capacity of 2 on beta's desk, and the default time to live.
#[test]
fn the_v2_data_directory_restores_with_its_rules() {
    let dir = fixtures();
    let restored = restore(dir.path(), &Settings::default(), RESTORE_AT_MS).expect("restores");
    assert_eq!(restored.report.replayed, 8);
    assert_eq!(restored.report.replay_refused, 0);
    assert_eq!(restored.report.expired_on_restore, 0);
    let mut books = restored.books;
    books.sort_by(|a, b| a.company().cmp(b.company()));
    let [acme, beta] = &mut books[..] else {
        panic!("two companies");
    };
    acme.check_invariants(RESTORE_AT_MS).unwrap();
    beta.check_invariants(RESTORE_AT_MS).unwrap();

    let settings = acme.company_settings();
    assert_eq!(settings.time_zone().name(), "Europe/Berlin");
    assert_eq!(settings.locale().as_str(), "de");
    assert_eq!(settings.default_duration_minutes(), 45);
    assert_eq!(settings.default_ttl_seconds(), 300);
    let configured: Vec<&str> = acme
        .configured_resources()
        .iter()
        .map(|(name, _)| &***name)
        .collect();
    assert_eq!(configured, ["room-1", "staff-8"]);
    assert!(acme.resource_config("staff-7").is_none(), "removed");
    assert_eq!(acme.resource_capacity("room-1"), 1);
    assert_eq!(acme.live_count(), 5);
    let h2 = acme.get(uuid(H2), RESTORE_AT_MS).unwrap();
    assert_eq!(h2.status, Status::Converted);
    let h5 = acme.get(uuid(H5), RESTORE_AT_MS).unwrap();
    assert_eq!(h5.expires_at_ms - h5.reserved_at_ms, 300_000);

    let monday = |hour: i64| MONDAY_MS + hour * HOUR_MS;
    // Room 1, Monday 09:00 Berlin: held three times over a capacity of 1 now.
    assert!(matches!(
        try_hold(acme, "room-1", monday(8), monday(9)),
        Err(BookError::Conflict { .. })
    ));
    // 07:00 Berlin is before the room opens; Tuesday is closed all day.
    let outside = |result| matches!(result, Err(BookError::OutsideHours { resource }) if resource == "room-1");
    assert!(outside(try_hold(acme, "room-1", monday(6), monday(7))));
    assert!(outside(try_hold(acme, "room-1", monday(32), monday(33))));
    // Staff 8 is closed over Monday lunch (12:00-13:00 Berlin), open before it.
    assert!(matches!(
        try_hold(acme, "staff-8", monday(11), monday(12)),
        Err(BookError::OutsideHours { .. })
    ));
    try_hold(acme, "staff-8", monday(10), monday(11)).expect("open before lunch");
    // Staff 7 lost its hours: open around the clock, its hold kept.
    try_hold(acme, "staff-7", monday(2), monday(3)).expect("open around the clock");
    assert_eq!(
        acme.get(uuid(H4), RESTORE_AT_MS).unwrap().status,
        Status::Active
    );
    // Room 1, Monday 11:00 Berlin: open and free.
    try_hold(acme, "room-1", monday(10), monday(11)).expect("free inside the hours");

    // Beta's desk seats two: both holds are kept, a third overlapping one is refused.
    assert_eq!(beta.resource_capacity("desk"), 2);
    assert_eq!(beta.live_count(), 2);
    assert!(matches!(
        try_hold(beta, "desk", monday(9), monday(10)),
        Err(BookError::Conflict { .. })
    ));
    try_hold(beta, "desk", monday(12), monday(13)).expect("one seat free");
}
