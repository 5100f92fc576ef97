//! The write-ahead log's unit tests: the golden bytes of fixed records, the writer's group commit
//! and close, and reading back torn, damaged and newer segments.

use crate::core::book::Book;
use crate::core::error::BookError;
use crate::durability::config::{ResourceConfigV2, SettingsV2, WebhookConfigV3};
use crate::durability::disk::Disk;
use crate::durability::log::frame::{encode_frame, FRAME_HEADER_BYTES};
use crate::durability::log::reader::{read_log, LogError};
use crate::durability::log::record::{
    HoldRequestV1, HoldTargetV1, LogRecordV1, LogRecordV3, SegmentRequestV1,
};
use crate::durability::log::segment::{
    segment_header, segment_name, LOG_FORMAT_VERSION, LOG_HEADER_BYTES,
};
use crate::durability::log::writer::{DurabilityMode, LogFailed, LogWriter};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

const BASE_MS: i64 = 1_798_761_600_000;

fn hold_record(n: u8) -> LogRecordV1 {
    LogRecordV1::Hold {
        company: "acme".into(),
        token: [n; 16],
        now_ms: BASE_MS + i64::from(n),
        request: HoldRequestV1 {
            target: HoldTargetV1::Segments(vec![SegmentRequestV1 {
                resource: "chair-1".into(),
                start_ms: BASE_MS + 3_600_000,
                end_ms: BASE_MS + 5_400_000,
            }]),
            ttl_seconds: 300,
            call_id: Some("call-1".into()),
            customer_phone: None,
            service_id: None,
            replace_call_holds: true,
            idempotency_key: None,
        },
    }
}

/// One record of every kind: each reservation change (version 1's, wrapped), each change of
/// configuration and each of a webhook endpoint.
fn fixed_records() -> Vec<LogRecordV3> {
    let changes = vec![
        hold_record(1),
        LogRecordV1::Hold {
            company: "acme".into(),
            token: [2; 16],
            now_ms: BASE_MS,
            request: HoldRequestV1 {
                target: HoldTargetV1::Find {
                    resources: vec!["a".into(), "b".into()],
                    earliest_ms: BASE_MS,
                    latest_ms: BASE_MS + 86_400_000,
                    duration_ms: 1_800_000,
                    step_ms: 900_000,
                },
                ttl_seconds: 60,
                call_id: None,
                customer_phone: Some("+4915112345678".into()),
                service_id: Some("svc".into()),
                replace_call_holds: false,
                idempotency_key: Some("key".into()),
            },
        },
        LogRecordV1::Confirm {
            company: "acme".into(),
            token: [1; 16],
            now_ms: BASE_MS + 5,
            appointment_id: Some("A-17".into()),
        },
        LogRecordV1::Extend {
            company: "acme".into(),
            token: [2; 16],
            now_ms: BASE_MS + 6,
            ttl_seconds: 600,
        },
        LogRecordV1::Cancel {
            company: "acme".into(),
            token: [2; 16],
            now_ms: BASE_MS + 7,
            reason: None,
        },
        LogRecordV1::Expire {
            company: "beta".into(),
            now_ms: BASE_MS + 8,
            tokens: vec![[3; 16], [4; 16]],
        },
        LogRecordV1::Housekeeping {
            company: "beta".into(),
            now_ms: BASE_MS + 9,
        },
    ];
    let mut records: Vec<LogRecordV3> = changes.into_iter().map(LogRecordV3::from).collect();
    records.extend([
        LogRecordV3::Settings {
            company: "acme".into(),
            now_ms: BASE_MS + 10,
            settings: SettingsV2 {
                time_zone: "Europe/Berlin".into(),
                locale: "de".into(),
                default_duration_minutes: 45,
                default_ttl_seconds: 120,
            },
        },
        LogRecordV3::PutResource {
            company: "acme".into(),
            now_ms: BASE_MS + 11,
            resource: "room-1".into(),
            config: ResourceConfigV2 {
                label: Some("Room".into()),
                capacity: 3,
                hours: Some(vec![
                    vec![(540, 720), (780, 1_020)],
                    vec![],
                    vec![],
                    vec![],
                    vec![(0, 1_440)],
                    vec![],
                    vec![],
                ]),
                closed: vec![(BASE_MS, BASE_MS + 86_400_000)],
            },
        },
        LogRecordV3::DeleteResource {
            company: "acme".into(),
            now_ms: BASE_MS + 12,
            resource: "room-1".into(),
        },
        LogRecordV3::PutWebhook {
            company: "acme".into(),
            now_ms: BASE_MS + 13,
            id: "app".into(),
            config: WebhookConfigV3 {
                url: "https://app.example/hooks/holdfast".into(),
                events: vec![2, 4],
                secret: vec![7; 32],
            },
        },
        LogRecordV3::AcknowledgeWebhook {
            company: "acme".into(),
            now_ms: BASE_MS + 14,
            id: "app".into(),
            seq: 41,
        },
        LogRecordV3::DeleteWebhook {
            company: "acme".into(),
            now_ms: BASE_MS + 15,
            id: "app".into(),
        },
    ]);
    records
}

/// Goal: the bytes of fixed log records never change without a log version bump (same rule
/// as the snapshot's golden test: add `LogRecordV4` and keep reading versions 1 to 3).
#[test]
fn golden_bytes_of_fixed_records_are_pinned() {
    let mut bytes = segment_header().to_vec();
    for (index, record) in fixed_records().iter().enumerate() {
        bytes.extend_from_slice(&encode_frame(index as u64 + 1, record));
    }
    assert_eq!(LOG_FORMAT_VERSION, 3);
    assert_eq!(
        (bytes.len(), crc32c::crc32c(&bytes)),
        (GOLDEN_LEN, GOLDEN_CRC32C),
        "log bytes changed without a format version bump"
    );
}

const GOLDEN_LEN: usize = 823;
const GOLDEN_CRC32C: u32 = 3_998_705_740;

fn write_log(dir: &Path, records: &[LogRecordV3]) -> PathBuf {
    let path = dir.join(segment_name(1));
    let mut bytes = segment_header().to_vec();
    for (index, record) in records.iter().enumerate() {
        bytes.extend_from_slice(&encode_frame(index as u64 + 1, record));
    }
    fs::write(&path, bytes).unwrap();
    path
}

/// Goal: what the log acknowledges is read back in order, with consecutive LSNs, from
/// many appenders at once, across a rotation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appended_records_are_durable_and_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let log_writer = LogWriter::open(dir.path(), DurabilityMode::Wal, 1, Disk::real()).unwrap();
    let threads: Vec<_> = (0..4u8)
        .map(|thread| {
            let log_writer = log_writer.clone();
            std::thread::spawn(move || {
                (0..250u8)
                    .map(|i| log_writer.append(|| hold_record(thread.wrapping_mul(7) ^ i)))
                    .collect::<Option<Vec<u64>>>()
                    .expect("the log is open")
            })
        })
        .collect();
    let mut lsns: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    log_writer.rotate();
    let last = log_writer.append(|| hold_record(9)).unwrap();
    log_writer
        .wait_durable(log_writer.ticket(last))
        .await
        .unwrap();
    assert!(log_writer.durable_lsn() >= last);
    lsns.push(last);
    lsns.sort_unstable();
    assert_eq!(lsns, (1..=1_001).collect::<Vec<u64>>());
    log_writer.close();
    let read = read_log(dir.path(), false).unwrap();
    let read_lsns: Vec<u64> = read.records.iter().map(|(lsn, _)| *lsn).collect();
    assert_eq!(read_lsns, (1..=1_001).collect::<Vec<u64>>());
    assert!(
        read.segments.len() >= 2,
        "the rotation started a new segment"
    );
    assert!(read.torn.is_none());
}

/// Goal: after the log is closed, what was written stays durable and a change appended
/// afterwards is refused at once (no LSN handed out) instead of waiting forever.
#[tokio::test]
async fn after_close_waiters_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let log_writer = LogWriter::open(dir.path(), DurabilityMode::Wal, 1, Disk::real()).unwrap();
    let written = log_writer.append(|| hold_record(1)).unwrap();
    let ticket = log_writer.ticket(written);
    log_writer.close();
    assert_eq!(log_writer.wait_durable(ticket).await, Ok(()));
    assert_eq!(log_writer.append(|| hold_record(2)), None);
    let late = log_writer.ticket(written + 1);
    assert_eq!(log_writer.wait_durable(late).await, Err(LogFailed));
    assert_eq!(read_log(dir.path(), false).unwrap().last_lsn, written);
}

/// Goal: a record cut short by a crash mid-write is cut off, and what precedes it is kept.
#[test]
fn a_torn_last_record_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), &fixed_records());
    let whole = fs::metadata(&path).unwrap().len();
    let frame = encode_frame(14, &hold_record(8).into());
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(&frame[..frame.len() / 2]).unwrap();
    drop(file);
    let read = read_log(dir.path(), true).unwrap();
    assert_eq!(read.records.len(), 13);
    assert_eq!(read.last_lsn, 13);
    assert_eq!(read.torn.as_ref().map(|t| t.offset_bytes), Some(whole));
    assert_eq!(fs::metadata(&path).unwrap().len(), whole, "truncated");
    // Zeros where a batch was never written (file extended, data lost) are a torn tail too.
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(&[0u8; 100]).unwrap();
    drop(file);
    let read = read_log(dir.path(), true).unwrap();
    assert_eq!(read.records.len(), 13);
    assert_eq!(fs::metadata(&path).unwrap().len(), whole);
}

/// Goal: a damaged record with good records after it stops start-up, naming file and
/// offset, instead of silently dropping the records after it.
#[test]
fn corruption_before_the_tail_names_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), &fixed_records());
    let mut bytes = fs::read(&path).unwrap();
    let second_frame = LOG_HEADER_BYTES + encode_frame(1, &fixed_records()[0]).len();
    bytes[second_frame + FRAME_HEADER_BYTES + 3] ^= 0x10;
    fs::write(&path, &bytes).unwrap();
    match read_log(dir.path(), true) {
        Err(LogError::Corrupt { file, offset, .. }) => {
            assert_eq!(file, path);
            assert_eq!(offset, second_frame as u64);
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    assert_eq!(fs::read(&path).unwrap(), bytes, "nothing was cut");
}

/// Goal: a segment from a newer log format is refused, not misread.
#[test]
fn a_newer_log_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), &fixed_records());
    let mut bytes = fs::read(&path).unwrap();
    bytes[8..12].copy_from_slice(&4u32.to_le_bytes());
    let crc = crc32c::crc32c(&bytes[..12]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
    fs::write(&path, &bytes).unwrap();
    let error = read_log(dir.path(), true).unwrap_err();
    assert!(matches!(error, LogError::NewerVersion { found: 4, .. }));
    assert!(error.to_string().contains("newer holdfast"), "{error}");
}

/// Goal: a logged hold replayed onto a book that already holds its token (a damaged log)
/// is refused, not a panic at start-up; the first replay of it succeeds.
#[test]
fn replaying_a_hold_twice_is_refused_not_a_panic() {
    let mut book = Book::new("acme", crate::core::book::Settings::default());
    let record = hold_record(1);
    assert_eq!(record.apply(&mut book), Ok(()));
    assert!(matches!(
        record.apply(&mut book),
        Err(BookError::InvalidRequest { .. })
    ));
    assert_eq!(book.len(), 1);
}

/// Goal: a record converts to the core command and back unchanged.
#[test]
fn hold_requests_convert_both_ways() {
    for record in fixed_records() {
        if let LogRecordV3::Change(LogRecordV1::Hold { request, .. }) = record {
            assert_eq!(
                HoldRequestV1::from_core(&request.to_core().unwrap()),
                request
            );
        }
    }
}
