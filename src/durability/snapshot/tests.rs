//! The snapshot's unit tests: the golden bytes of a fixed file, the hand-assembled export
//! against the reference encoder, export and restore of every field, and damaged files.

use crate::core::book::{Book, Settings};
use crate::core::command::{HoldOptions, HoldRequest, HoldTarget, SegmentRequest, Segments};
use crate::core::error::BookError;
use crate::core::schedule::{CompanySettings, ResourceConfig};
use crate::durability::config::{ResourceConfigV2, SettingsV2, WebhookConfigV3};
use crate::durability::snapshot::body::BODY_PREFIX_BYTES;
use crate::durability::snapshot::header::encode_header;
use crate::durability::snapshot::{
    decode, decode_company, export_company, export_encoded, reference_encode_company,
    reference_encode_file, restore_company, CapacityV2, CompanyConfigV2, CompanySnapshotV1,
    CompanySnapshotV4, EventReservationV3, EventV3, EventsV3, HistogramV1, IdempotencyV1,
    MetricsV1, ReservationV1, SegmentV1, SnapshotError, SnapshotHeader, SnapshotV4, WebhookV4,
    SNAPSHOT_FORMAT_VERSION, SNAPSHOT_HEADER_BYTES,
};
use uuid::Uuid;

const BASE_MS: i64 = 1_798_761_600_000;

/// A fixed snapshot body written out by hand, so that the pinned bytes depend on the format
/// alone (not on how the core fingerprints requests or orders its maps).
fn fixed_body() -> SnapshotV4 {
    SnapshotV4 {
        covered_lsn: 42,
        companies: vec![CompanySnapshotV4 {
            base: fixed_company(),
            config: fixed_config(),
            events: fixed_events(),
            webhooks: fixed_webhooks(),
        }],
    }
}

/// One endpoint taking conversions and expiries, acknowledged up to event 6, that lost events
/// before 5.
fn fixed_webhooks() -> Vec<WebhookV4> {
    vec![WebhookV4 {
        id: "app".into(),
        config: WebhookConfigV3 {
            url: "https://app.example/hooks/holdfast".into(),
            events: vec![2, 4],
            secret: vec![7; 32],
        },
        acknowledged_seq: 6,
        lost_before_seq: Some(5),
    }]
}

/// Two kept events (the created and the cancelled of the compound hold), numbered up to 8.
fn fixed_events() -> EventsV3 {
    let reservation = |status: u8, cancelled_at_ms: Option<i64>| EventReservationV3 {
        token: [2; 16],
        status,
        segments: vec![
            SegmentV1 {
                resource: 0,
                start_ms: BASE_MS + 3_600_000,
                length_ms: 900_000,
            },
            SegmentV1 {
                resource: 1,
                start_ms: BASE_MS + 4_500_000,
                length_ms: 900_000,
            },
        ],
        call_id: None,
        customer_phone: None,
        service_id: Some("svc-1".into()),
        appointment_id: None,
        cancel_reason: cancelled_at_ms.map(|_| "customer_hung_up".into()),
        reserved_at_ms: BASE_MS,
        expires_at_ms: BASE_MS + 120_000,
        converted_at_ms: None,
        cancelled_at_ms,
        expired_at_ms: None,
    };
    EventsV3 {
        next_seq: 8,
        kept: vec![
            EventV3 {
                seq: 6,
                kind: 0,
                occurred_at_ms: BASE_MS,
                reservation: reservation(0, None),
            },
            EventV3 {
                seq: 7,
                kind: 3,
                occurred_at_ms: BASE_MS + 10_000,
                reservation: reservation(3, Some(BASE_MS + 10_000)),
            },
        ],
    }
}

/// A configuration of every kind: settings, a resource with hours and a closure whose capacity
/// was raised to 3 and lowered to 2 (so its ceiling is above its capacity).
fn fixed_config() -> CompanyConfigV2 {
    CompanyConfigV2 {
        settings: SettingsV2 {
            time_zone: "Europe/Berlin".into(),
            locale: "de".into(),
            default_duration_minutes: 45,
            default_ttl_seconds: 120,
        },
        resources: vec![(
            1,
            ResourceConfigV2 {
                label: Some("Room 2".into()),
                capacity: 2,
                hours: Some(vec![
                    vec![(480, 1_080)],
                    vec![(480, 720), (780, 1_080)],
                    vec![],
                    vec![],
                    vec![],
                    vec![],
                    vec![(0, 1_440)],
                ]),
                closed: vec![(BASE_MS + 86_400_000, BASE_MS + 2 * 86_400_000)],
            },
        )],
        capacities: vec![CapacityV2 {
            resource: 1,
            capacity: 2,
            ceiling: 3,
            set_at_seq: 1,
        }],
    }
}

fn fixed_company() -> CompanySnapshotV1 {
    {
        CompanySnapshotV1 {
            company: "acme".into(),
            last_lsn: 41,
            resources: vec!["chair-1".into(), "room-2".into()],
            reservations: vec![
                ReservationV1 {
                    token: [1; 16],
                    seq: 0,
                    status: 1,
                    segments: vec![SegmentV1 {
                        resource: 0,
                        start_ms: BASE_MS,
                        length_ms: 1_800_000,
                    }],
                    call_id: Some("call-1".into()),
                    customer_phone: Some("+4915112345678".into()),
                    service_id: None,
                    appointment_id: Some("A-17".into()),
                    cancel_reason: None,
                    reserved_at_ms: BASE_MS - 60_000,
                    ttl_ms: 300_000,
                    converted_at_ms: Some(BASE_MS - 30_000),
                    cancelled_at_ms: None,
                    expired_at_ms: None,
                },
                ReservationV1 {
                    token: [2; 16],
                    seq: 1,
                    status: 3,
                    segments: vec![
                        SegmentV1 {
                            resource: 0,
                            start_ms: BASE_MS + 3_600_000,
                            length_ms: 900_000,
                        },
                        SegmentV1 {
                            resource: 1,
                            start_ms: BASE_MS + 4_500_000,
                            length_ms: 900_000,
                        },
                    ],
                    call_id: None,
                    customer_phone: None,
                    service_id: Some("svc-1".into()),
                    appointment_id: None,
                    cancel_reason: Some("customer_hung_up".into()),
                    reserved_at_ms: BASE_MS,
                    ttl_ms: 120_000,
                    converted_at_ms: None,
                    cancelled_at_ms: Some(BASE_MS + 10_000),
                    expired_at_ms: None,
                },
            ],
            idempotency: vec![IdempotencyV1 {
                key: "key-1".into(),
                fingerprint: 0x0123_4567_89ab_cdef,
                token: [1; 16],
                created_at_ms: BASE_MS - 60_000,
            }],
            metrics: MetricsV1 {
                created_single: 1,
                created_compound: 1,
                converted: 1,
                expired: 0,
                cancelled: 1,
                cancelled_by_reason: vec![("customer_hung_up".into(), 1)],
                errors_by_type: vec![("conflict".into(), 3)],
                confirm_attempts: 1,
                confirm_successes: 1,
                requests: 9,
                time_to_conversion_ms: HistogramV1 {
                    buckets: vec![(30_015, 1)],
                },
                expired_lifetime_ms: HistogramV1::default(),
                hold_latency_micros: HistogramV1 {
                    buckets: vec![(12, 1), (40, 1)],
                },
            },
        }
    }
}

/// Goal: the bytes of a fixed state never change without a version bump. If this fails
/// because the on-disk types changed, add `SnapshotV5`, bump `SNAPSHOT_FORMAT_VERSION`, keep
/// reading versions 1 to 4, and pin the new bytes: old files must stay readable.
#[test]
fn golden_bytes_of_a_fixed_snapshot_are_pinned() {
    let bytes = reference_encode_file(&fixed_body(), BASE_MS, 7);
    assert_eq!(SNAPSHOT_FORMAT_VERSION, 4);
    assert_eq!(
        (bytes.len(), crc32c::crc32c(&bytes)),
        (GOLDEN_LEN, GOLDEN_CRC32C),
        "snapshot bytes changed without a format version bump"
    );
    let (header, body) = decode(&bytes).expect("the golden file decodes");
    assert_eq!(header.sequence, 7);
    assert_eq!(header.created_at_ms, BASE_MS);
    assert_eq!(body, fixed_body());
}

const GOLDEN_LEN: usize = 746;
const GOLDEN_CRC32C: u32 = 2_252_454_561;

fn hold(book: &mut Book, n: u128, segments: &[(&str, i64, i64)], now_ms: i64) -> Uuid {
    let token = Uuid::from_u128(n);
    let segments = segments
        .iter()
        .map(|(resource, start, end)| SegmentRequest::new(*resource, *start, *end).unwrap())
        .collect();
    let options = HoldOptions::default()
        .with_call_id(format!("call-{n}"))
        .and_then(|o| o.with_customer_phone("+4915112345678"))
        .and_then(|o| o.with_idempotency_key(format!("key-{n}")))
        .unwrap();
    let target = HoldTarget::Segments(Segments::new(segments).unwrap());
    let request = HoldRequest::with_options(target, options);
    let idempotency = crate::durability::fingerprint::idempotency_of(&request);
    book.hold(request, idempotency, token, now_ms)
        .expect("hold succeeds");
    token
}

/// A book with a booking, a cancelled compound hold, an expired hold and an active one, each
/// made with an idempotency key; answers it with the four tokens.
fn rich_book(settings: &Settings) -> (Book, [Uuid; 4]) {
    let mut book = Book::new("acme", settings.clone());
    let now = BASE_MS;
    let a = hold(
        &mut book,
        1,
        &[("r1", now + 3_600_000, now + 5_400_000)],
        now,
    );
    let b = hold(
        &mut book,
        2,
        &[
            ("r1", now + 7_200_000, now + 8_100_000),
            ("r2", now + 8_100_000, now + 9_000_000),
        ],
        now + 1_000,
    );
    let c = hold(&mut book, 3, &[("r3", now, now + 900_000)], now + 2_000);
    let d = hold(&mut book, 4, &[("r4", now, now + 900_000)], now + 3_000);
    book.confirm(a, Some("A-17".into()), now + 20_000).unwrap();
    book.cancel(b, Some("customer_hung_up".into()), now + 21_000)
        .unwrap();
    book.expire_due(&[c], now + 400_000);
    (book, [a, b, c, d])
}

/// Goal: the company actor's export, encoded a reservation at a time and assembled by hand,
/// is byte for byte bincode's encoding of the same record as a value, so one decoder reads
/// both; here for a rich book, one with a resource no reservation uses any more, and an
/// empty one.
#[test]
fn an_assembled_export_is_bincodes_bytes_of_the_record() {
    let settings = Settings {
        retention_seconds: 1,
        ..Settings::default()
    };
    let (mut book, _) = rich_book(&settings);
    let check = |book: &Book| {
        let assembled = export_encoded(book, 42);
        let record = export_company(book, 42);
        assert_eq!(assembled, reference_encode_company(&record));
        assert_eq!(
            decode_company(&assembled.bytes, SNAPSHOT_FORMAT_VERSION).unwrap(),
            record
        );
    };
    check(&book);
    // The cancelled hold was the last on "r2": dropping it leaves the name unused.
    book.housekeeping(BASE_MS + 3_600_000);
    assert!(book.len() < 4);
    check(&book);
    check(&Book::new("empty", settings));
}

/// Goal: a book exported and restored answers every read exactly as before: statuses,
/// times, strings, idempotency keys, metrics (histograms included) and conflicts.
#[test]
fn export_then_restore_keeps_every_field() {
    let settings = Settings::default();
    let (mut book, [a, b, c, d]) = rich_book(&settings);
    let now = BASE_MS;
    let exported = export_company(&book, 99);
    let restored = restore_company(exported.clone(), &settings).expect("restores");
    assert_eq!(export_company(&restored, 99), exported);
    assert_eq!(restored.log_position(), 99);
    let mut restored = restored;
    let later = now + 400_000;
    for token in [a, b, c, d] {
        assert_eq!(book.get(token, later), restored.get(token, later));
    }
    assert_eq!(
        book.metrics_report().time_to_conversion_seconds,
        restored.metrics_report().time_to_conversion_seconds
    );
    assert_eq!(
        book.metrics_report().cancelled_by_reason,
        restored.metrics_report().cancelled_by_reason
    );
    // The booking still blocks its slot; the idempotency key still replays.
    let again = hold(
        &mut restored,
        1,
        &[("r1", now + 3_600_000, now + 5_400_000)],
        later,
    );
    assert_eq!(again, a, "the idempotency key answers the first token");
    restored.check_invariants(later).unwrap();
}

/// Goal: a restore refuses a record whose live reservations overlap, instead of serving a
/// double booking.
#[test]
fn restore_refuses_overlapping_live_reservations() {
    let mut body = fixed_body();
    let company = &mut body.companies[0];
    company.base.reservations[1].status = 1;
    company.base.reservations[1].segments[0].start_ms = BASE_MS + 60_000;
    let error = restore_company(company.clone(), &Settings::default()).unwrap_err();
    assert!(error.contains("overlaps"), "{error}");
}

/// Goal: a body whose checksum matches but whose framing is wrong (a company count or a
/// length that runs past the end) is refused, not read out of bounds.
#[test]
fn bad_framing_behind_a_good_checksum_is_refused() {
    let good = reference_encode_file(&fixed_body(), BASE_MS, 7);
    let reframe = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = good.clone();
        edit(&mut bytes);
        let body_crc = crc32c::crc32c(&bytes[SNAPSHOT_HEADER_BYTES..]);
        let header = SnapshotHeader {
            format_version: SNAPSHOT_FORMAT_VERSION,
            created_at_ms: BASE_MS,
            sequence: 7,
            body_bytes: (bytes.len() - SNAPSHOT_HEADER_BYTES) as u64,
            body_crc32c: body_crc,
        };
        bytes[..SNAPSHOT_HEADER_BYTES].copy_from_slice(&encode_header(&header));
        decode(&bytes)
    };
    let count_at = SNAPSHOT_HEADER_BYTES + 8;
    let too_many = reframe(&|b| b[count_at..count_at + 4].copy_from_slice(&2u32.to_le_bytes()));
    assert!(
        matches!(too_many, Err(SnapshotError::Decode(_))),
        "{too_many:?}"
    );
    let length_at = SNAPSHOT_HEADER_BYTES + BODY_PREFIX_BYTES;
    let too_long =
        reframe(&|b| b[length_at..length_at + 4].copy_from_slice(&u32::MAX.to_le_bytes()));
    assert!(
        matches!(too_long, Err(SnapshotError::Decode(_))),
        "{too_long:?}"
    );
    let extra = reframe(&|b| b.push(0));
    assert!(matches!(extra, Err(SnapshotError::Decode(_))), "{extra:?}");
}

/// Goal: each kind of damage is told apart before anything is decoded.
#[test]
fn damaged_files_are_refused_with_their_reason() {
    let good = reference_encode_file(&fixed_body(), BASE_MS, 7);
    assert!(matches!(decode(&[]), Err(SnapshotError::Empty)));
    let mut wrong_magic = good.clone();
    wrong_magic[0] = b'X';
    assert!(matches!(
        decode(&wrong_magic),
        Err(SnapshotError::WrongMagic)
    ));
    assert!(matches!(
        decode(&good[..good.len() - 1]),
        Err(SnapshotError::Truncated { .. })
    ));
    assert!(matches!(
        decode(&good[..20]),
        Err(SnapshotError::ShortHeader(20))
    ));
    let mut flipped = good.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x40;
    assert!(matches!(decode(&flipped), Err(SnapshotError::BodyChecksum)));
    let mut header_flip = good.clone();
    header_flip[30] ^= 1;
    assert!(matches!(
        decode(&header_flip),
        Err(SnapshotError::HeaderChecksum)
    ));
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(
        decode(&trailing),
        Err(SnapshotError::TrailingBytes { .. })
    ));
    let mut newer = good.clone();
    newer[8..12].copy_from_slice(&5u32.to_le_bytes());
    let crc = crc32c::crc32c(&newer[..44]);
    newer[44..48].copy_from_slice(&crc.to_le_bytes());
    let error = decode(&newer).unwrap_err();
    assert!(matches!(
        error,
        SnapshotError::NewerVersion { found: 5, .. }
    ));
    assert!(!error.is_corruption(), "a newer file is not corrupt");
}

/// Goal: a resource whose capacity was lowered below what it holds (3 overlapping holds, then
/// capacity 1) restores with all three, still refuses a fourth, and comes back with its
/// settings and configuration; the export of the restored book equals the first.
#[test]
fn a_lowered_capacity_restores_what_it_admitted() {
    let settings = Settings::default();
    let mut book = Book::new("acme", settings.clone());
    book.set_company_settings(CompanySettings::new("Europe/Berlin", "de", 20, 90).unwrap());
    let room = |capacity| ResourceConfig::new(Some("Room".into()), capacity, None, vec![]);
    book.put_resource("room", room(3).unwrap()).unwrap();
    for n in 1..=3 {
        hold(
            &mut book,
            n,
            &[("room", BASE_MS, BASE_MS + 3_600_000)],
            BASE_MS,
        );
    }
    book.put_resource("room", room(1).unwrap()).unwrap();
    let exported = export_company(&book, 7);
    let mut restored = restore_company(exported.clone(), &settings).expect("restores");
    assert_eq!(export_company(&restored, 7), exported);
    assert_eq!(restored.live_count(), 3);
    assert_eq!(restored.resource_capacity("room"), 1);
    assert_eq!(restored.company_settings().default_ttl_seconds(), 90);
    assert_eq!(
        restored.resource_config("room").unwrap().label(),
        Some("Room")
    );
    restored.check_invariants(BASE_MS).unwrap();
    let target = HoldTarget::single("room", BASE_MS, BASE_MS + 60_000).unwrap();
    let fourth = restored.hold(HoldRequest::new(target), None, Uuid::from_u128(9), BASE_MS);
    assert!(
        matches!(fourth, Err(BookError::Conflict { .. })),
        "{fourth:?}"
    );

    // A capacity state that disagrees with the configured capacity is refused.
    let mut damaged = exported;
    damaged.config.capacities[0].capacity = 2;
    let error = restore_company(damaged, &settings).unwrap_err();
    assert!(error.contains("configured capacity"), "{error}");
}
