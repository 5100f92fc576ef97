//! Snapshot files and the log on disk: what restore does with damaged files, what
//! `holdfast snapshot inspect` answers for them, and restore through the real engine with a
//! manual clock (log replay, expiry of holds that ran out while the server was down).
//!
//! Each damaged-file case writes a good older snapshot and a damaged newer one: restore must
//! take the older one, rename the damaged one `*.corrupt` with its reason, and never delete it.
//! A file from a newer format must stop start-up instead, untouched.

use holdfast::actors::engine::{EngineConfig, EngineError};
use holdfast::actors::expiry::ExpiryConfig;
use holdfast::clock::{ManualClock, SharedClock};
use holdfast::core::book::{Book, Settings};
use holdfast::core::command::{HoldOptions, HoldRequest, HoldTarget};
use holdfast::core::reservation::Status;
use holdfast::durability::disk::Disk;
use holdfast::durability::log::DurabilityMode;
use holdfast::durability::snapshot::{self, export_company, SnapshotV4};
use holdfast::durability::{restore, DurabilityConfig, StartupError};
use holdfast::http::HttpOptions;
use holdfast::server::{Server, ServerConfig};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// 2027-01-01T00:00:00Z.
const BASE_MS: i64 = 1_798_761_600_000;
const HOUR_MS: i64 = 3_600_000;

fn hold_request(resource: &str, start_ms: i64, ttl_seconds: i64) -> HoldRequest {
    let target = HoldTarget::single(resource, start_ms, start_ms + HOUR_MS / 2).unwrap();
    let options = HoldOptions::default()
        .with_ttl_seconds(ttl_seconds)
        .and_then(|o| o.with_call_id("call-1"))
        .and_then(|o| o.with_customer_phone("+4915112345678"))
        .unwrap();
    HoldRequest::with_options(target, options)
}

/// A book with `holds` active holds, as the body of a snapshot.
fn body_with(holds: u128) -> SnapshotV4 {
    let mut book = Book::new("acme", Settings::default());
    for n in 0..holds {
        let start_ms = BASE_MS + HOUR_MS + n as i64 * HOUR_MS;
        book.hold(
            hold_request("r1", start_ms, 300),
            None,
            Uuid::from_u128(n + 1),
            BASE_MS,
        )
        .expect("hold");
    }
    SnapshotV4 {
        covered_lsn: 0,
        companies: vec![export_company(&book, 0)],
    }
}

/// Writes snapshot 1 (one hold, good) and snapshot 2 (two holds), then damages snapshot 2 with
/// `damage`. Returns the path of snapshot 2.
fn two_snapshots(dir: &Path, damage: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    snapshot::write_file(
        &Disk::real(),
        dir,
        1,
        &snapshot::reference_encode_file(&body_with(1), BASE_MS, 1),
        || Ok(()),
    )
    .unwrap();
    let mut newer = snapshot::reference_encode_file(&body_with(2), BASE_MS + 1_000, 2);
    damage(&mut newer);
    snapshot::write_file(&Disk::real(), dir, 2, &newer, || Ok(())).unwrap()
}

fn inspect(path: &Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["snapshot", "inspect"])
        .arg(path)
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The damage cases: name, damage, a word the reason must contain.
type Damage = fn(&mut Vec<u8>);
const DAMAGES: [(&str, Damage, &str); 4] = [
    ("truncated", |b| b.truncate(b.len() - 10), "truncated"),
    (
        "flipped byte in the body",
        |b| {
            let middle = snapshot::SNAPSHOT_HEADER_BYTES + (b.len() - 48) / 2;
            b[middle] ^= 0x01;
        },
        "checksum",
    ),
    (
        "wrong magic",
        |b| b[..8].copy_from_slice(b"NOTSNAPS"),
        "magic",
    ),
    ("empty file", |b| b.clear(), "empty"),
];

/// Goal: each damaged newest snapshot is renamed `*.corrupt` (not deleted) with its reason,
/// and restore falls back to the older good one, with its one hold intact.
#[test]
fn damaged_newest_snapshot_is_quarantined_and_the_older_one_restored() {
    for (name, damage, reason_word) in DAMAGES {
        let dir = tempfile::tempdir().unwrap();
        let damaged = two_snapshots(dir.path(), damage);
        let damaged_bytes = std::fs::read(&damaged).unwrap();
        let restored = restore(dir.path(), &Settings::default(), BASE_MS).expect(name);
        let report = &restored.report;
        assert_eq!(report.quarantined.len(), 1, "{name}");
        let quarantined = &report.quarantined[0];
        assert!(
            quarantined.reason.to_lowercase().contains(reason_word),
            "{name}: reason {:?}",
            quarantined.reason
        );
        assert!(!damaged.exists(), "{name}: the damaged file is renamed");
        assert_eq!(
            std::fs::read(&quarantined.renamed_to).unwrap(),
            damaged_bytes,
            "{name}: kept byte for byte"
        );
        assert!(quarantined
            .renamed_to
            .to_string_lossy()
            .ends_with(".bin.corrupt"));
        assert_eq!(
            report.snapshot.as_ref().map(|s| s.sequence),
            Some(1),
            "{name}"
        );
        assert_eq!(restored.books.len(), 1);
        assert_eq!(
            restored.books[0].len(),
            1,
            "{name}: the older snapshot's hold"
        );
    }
}

/// Goal: `holdfast snapshot inspect` fails (non-zero exit, with the reason) on every damaged
/// file, and describes a good one: header, company, counts by status.
#[test]
fn inspect_fails_on_damaged_files_and_describes_good_ones() {
    for (name, damage, reason_word) in DAMAGES {
        let dir = tempfile::tempdir().unwrap();
        let damaged = two_snapshots(dir.path(), damage);
        let (ok, text) = inspect(&damaged);
        assert!(!ok, "{name}: inspect must fail");
        assert!(text.to_lowercase().contains(reason_word), "{name}: {text}");
        let (ok, text) = inspect(&dir.path().join(snapshot::file_name(1)));
        assert!(ok, "{name}: the good file inspects: {text}");
        let version_line = format!("format version: {}", snapshot::SNAPSHOT_FORMAT_VERSION);
        assert!(text.contains(&version_line), "{text}");
        assert!(text.contains("sequence: 1"), "{text}");
        let row = text
            .lines()
            .find(|line| line.starts_with("acme"))
            .expect("a row for the company");
        let numbers: Vec<&str> = row.split_whitespace().collect();
        // company, reservations, active, converted, expired, cancelled, keys, log position
        assert_eq!(&numbers[1..6], ["1", "1", "0", "0", "0"], "{row}");
    }
    let (ok, text) = inspect(Path::new("/nonexistent/snapshot.bin"));
    assert!(!ok, "{text}");
}

/// Writes a snapshot from a newer format version (valid header checksum).
fn newer_version(bytes: &mut [u8]) {
    bytes[8..12].copy_from_slice(&(snapshot::SNAPSHOT_FORMAT_VERSION + 1).to_le_bytes());
    let crc = crc32c::crc32c(&bytes[..44]);
    bytes[44..48].copy_from_slice(&crc.to_le_bytes());
}

/// Goal: a snapshot from a newer format version stops start-up with a clear message and is
/// left exactly where it is: an older holdfast must not misread it, nor fall back to an older
/// snapshot and lose what the newer one holds.
#[test]
fn a_newer_format_version_stops_start_up_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let newer = two_snapshots(dir.path(), |bytes| newer_version(bytes));
    let before = std::fs::read(&newer).unwrap();
    let error = restore(dir.path(), &Settings::default(), BASE_MS).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StartupError::Snapshot { .. }), "{message}");
    let newer_words = format!("format version {}", snapshot::SNAPSHOT_FORMAT_VERSION + 1);
    assert!(message.contains(&newer_words), "{message}");
    assert!(message.contains("newer holdfast"), "{message}");
    assert_eq!(std::fs::read(&newer).unwrap(), before);
    let (ok, text) = inspect(&newer);
    assert!(!ok && text.contains("newer holdfast"), "{text}");
}

/// Goal: a temporary file left by a crash in the middle of a snapshot write is not taken for a
/// snapshot; the last renamed snapshot is restored.
#[test]
fn an_interrupted_snapshot_write_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    snapshot::write_file(
        &Disk::real(),
        dir.path(),
        1,
        &snapshot::reference_encode_file(&body_with(3), BASE_MS, 1),
        || Ok(()),
    )
    .unwrap();
    let partial = snapshot::reference_encode_file(&body_with(5), BASE_MS, 2);
    let temporary = dir.path().join(format!("{}.tmp", snapshot::file_name(2)));
    std::fs::write(&temporary, &partial[..partial.len() / 2]).unwrap();
    let restored = restore(dir.path(), &Settings::default(), BASE_MS).unwrap();
    assert_eq!(restored.books[0].len(), 3);
    assert!(restored.report.quarantined.is_empty());
    assert_eq!(restored.report.removed_temporaries.len(), 1);
}

// ----- through the real engine, with a manual clock ------------------------------------------

fn config(clock: &Arc<ManualClock>) -> EngineConfig {
    let clock: SharedClock = clock.clone();
    EngineConfig {
        clock,
        arbiters: 2,
        expiry: ExpiryConfig {
            ticks_itself: false,
            ..ExpiryConfig::default()
        },
        ..EngineConfig::default()
    }
}

fn durability(dir: &Path, mode: DurabilityMode) -> DurabilityConfig {
    DurabilityConfig {
        data_dir: dir.to_path_buf(),
        mode,
        // Long: these tests take snapshots themselves, when they choose.
        snapshot_interval: Duration::from_secs(3_600),
        keep_snapshots: 2,
        disk: Disk::real(),
    }
}

/// What one run of the engine left: tokens by what was done to them.
struct FirstRun {
    confirmed: Uuid,
    cancelled: Uuid,
    short_hold: Uuid,
    long_hold: Uuid,
}

/// Runs an engine on `dir`: four holds, a confirm, a cancel, optionally a snapshot in the
/// middle; then stops the system without a final snapshot (as a crash would).
fn first_run(dir: &Path, clock: &Arc<ManualClock>, snapshot_midway: bool) -> FirstRun {
    let clock = clock.clone();
    let dir = dir.to_path_buf();
    actix_rt::System::new().block_on(async move {
        let durable = Server::start(ServerConfig {
            engine: config(&clock),
            durability: durability(&dir, DurabilityMode::Wal),
            http: HttpOptions::default(),
        })
        .expect("starts");
        let engine = durable.engine().clone();
        let hold = |resource: &'static str, ttl: i64| {
            let engine = engine.clone();
            async move {
                engine
                    .hold("acme", hold_request(resource, BASE_MS + 24 * HOUR_MS, ttl))
                    .await
                    .expect("hold")
                    .reservation
                    .token
            }
        };
        let confirmed = hold("r1", 300).await;
        let cancelled = hold("r2", 300).await;
        if snapshot_midway {
            let info = durable.snapshots().take().await.expect("snapshot");
            assert_eq!(info.reservations, 2);
        }
        let short_hold = hold("r3", 60).await;
        let long_hold = hold("r4", 3_600).await;
        clock.advance_ms(10_000);
        engine
            .confirm("acme", confirmed, Some("A-1".into()))
            .await
            .unwrap();
        engine
            .cancel("acme", cancelled, Some("customer_hung_up".into()))
            .await
            .unwrap();
        FirstRun {
            confirmed,
            cancelled,
            short_hold,
            long_hold,
        }
    })
}

/// Goal: after a stop without a final snapshot, every acknowledged change comes back from the
/// log (with and without a snapshot in between), with its exact times; the hold whose time ran
/// out while the server was down comes back expired, counted as expired, and its slot is free.
#[test]
fn restart_replays_the_log_and_expires_what_ran_out_while_down() {
    for snapshot_midway in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(BASE_MS);
        let first = first_run(dir.path(), &clock, snapshot_midway);
        // Down for two minutes: the 60 s hold ran out, the one-hour hold did not.
        clock.advance_ms(120_000);
        let clock2 = clock.clone();
        let dir2 = dir.path().to_path_buf();
        actix_rt::System::new().block_on(async move {
            let durable = Server::start(ServerConfig {
                engine: config(&clock2),
                durability: durability(&dir2, DurabilityMode::Wal),
                http: HttpOptions::default(),
            })
            .expect("restarts");
            assert_eq!(durable.restore_report().expired_on_restore, 1);
            assert_eq!(
                durable.restore_report().snapshot.is_some(),
                snapshot_midway,
                "{:?}",
                durable.restore_report()
            );
            let engine = durable.engine().clone();
            let get = |token| {
                let engine = engine.clone();
                async move { engine.get("acme", token).await.expect("restored") }
            };
            let confirmed = get(first.confirmed).await;
            assert_eq!(confirmed.status, Status::Converted);
            assert_eq!(confirmed.appointment_id.as_deref(), Some("A-1"));
            assert_eq!(confirmed.converted_at_ms, Some(BASE_MS + 10_000));
            let cancelled = get(first.cancelled).await;
            assert_eq!(cancelled.status, Status::Cancelled);
            assert_eq!(cancelled.cancel_reason.as_deref(), Some("customer_hung_up"));
            let short = get(first.short_hold).await;
            assert_eq!(short.status, Status::Expired);
            assert_eq!(short.expired_at_ms, Some(BASE_MS + 60_000));
            let long = get(first.long_hold).await;
            assert_eq!(long.status, Status::Active);
            assert_eq!(long.expires_at_ms, BASE_MS + 3_600_000);
            let metrics = engine.metrics("acme").await.unwrap();
            assert_eq!(
                (
                    metrics.created,
                    metrics.converted,
                    metrics.cancelled,
                    metrics.expired
                ),
                (4, 1, 1, 1)
            );
            // The expired hold's slot is free again; the booking's is not.
            engine
                .hold("acme", hold_request("r3", BASE_MS + 24 * HOUR_MS, 300))
                .await
                .expect("the expired slot is free");
            let taken = engine
                .hold("acme", hold_request("r1", BASE_MS + 24 * HOUR_MS, 300))
                .await;
            assert!(matches!(taken, Err(EngineError::Book(_))), "{taken:?}");
            engine.check_invariants().await.unwrap();
        });
    }
}

/// Goal: a snapshot removes the log segments it covers once it is durable, and a restart from
/// that snapshot alone (no log left before it) restores everything.
#[test]
fn a_durable_snapshot_removes_the_log_it_covers() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(BASE_MS);
    let path = dir.path().to_path_buf();
    let clock1 = clock.clone();
    let tokens = actix_rt::System::new().block_on(async move {
        let durable = Server::start(ServerConfig {
            engine: config(&clock1),
            durability: durability(&path, DurabilityMode::Wal),
            http: HttpOptions::default(),
        })
        .expect("starts");
        let mut tokens = Vec::new();
        for n in 0..20 {
            let request = hold_request("r1", BASE_MS + (n + 1) * HOUR_MS, 3_600);
            let outcome = durable.engine().hold("acme", request).await.unwrap();
            tokens.push(outcome.reservation.token);
        }
        let segments_before = list_log_segments(&path);
        let info = durable
            .snapshots()
            .shutdown()
            .await
            .expect("final snapshot");
        assert_eq!(info.reservations, 20);
        let segments_after = list_log_segments(&path);
        assert!(!segments_before.is_empty());
        assert!(
            segments_after.iter().all(|s| !segments_before.contains(s)),
            "covered segments removed: before {segments_before:?}, after {segments_after:?}"
        );
        tokens
    });
    let path = dir.path().to_path_buf();
    actix_rt::System::new().block_on(async move {
        let durable = Server::start(ServerConfig {
            engine: config(&clock),
            durability: durability(&path, DurabilityMode::Wal),
            http: HttpOptions::default(),
        })
        .expect("restarts");
        assert_eq!(durable.restore_report().replayed, 0);
        for token in tokens {
            let view = durable.engine().get("acme", token).await.unwrap();
            assert_eq!(view.status, Status::Active);
        }
    });
}

fn list_log_segments(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("wal-"))
        .collect();
    names.sort();
    names
}

/// Goal: a log damaged before its tail stops start-up, in the library and in the binary, with
/// a message naming the segment file and the offset of the bad record; nothing is cut.
#[test]
fn a_damaged_log_before_its_tail_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(BASE_MS);
    first_run(dir.path(), &clock, false);
    let segment = dir.path().join(&list_log_segments(dir.path())[0]);
    let mut bytes = std::fs::read(&segment).unwrap();
    // Inside the payload of the first record (segment header 16 bytes, frame header 16 bytes):
    // the records after it are intact, so this is not a torn tail.
    let offset = 16;
    bytes[offset + 16 + 5] ^= 0x20;
    std::fs::write(&segment, &bytes).unwrap();
    let error = restore(dir.path(), &Settings::default(), BASE_MS).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&segment.display().to_string()),
        "{message}"
    );
    assert!(message.contains(&format!("offset {offset}")), "{message}");
    assert_eq!(std::fs::read(&segment).unwrap(), bytes, "nothing was cut");
    let output = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "must not start: {text}");
    assert!(text.contains(&format!("offset {offset}")), "{text}");
}

/// Goal: a second server on a data directory in use refuses to start, instead of interleaving
/// its files with the first one's.
#[test]
fn a_data_directory_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(BASE_MS);
    let path = dir.path().to_path_buf();
    actix_rt::System::new().block_on(async move {
        let first = Server::start(ServerConfig {
            engine: config(&clock),
            durability: durability(&path, DurabilityMode::Wal),
            http: HttpOptions::default(),
        })
        .expect("the first server starts");
        let second = Server::start(ServerConfig {
            engine: config(&clock),
            durability: durability(&path, DurabilityMode::Wal),
            http: HttpOptions::default(),
        });
        match second {
            Err(StartupError::Locked(locked)) => assert_eq!(locked, path),
            Err(other) => panic!("expected the lock to refuse, got {other}"),
            Ok(_) => panic!("two servers on one data directory"),
        }
        drop(first);
    });
}

/// Holds `count` one-hour slots on `resource` through a durable engine on `dir`, then stops:
/// with a final snapshot when `graceful`, else as a crash would (nothing more is written).
/// Returns the tokens, and checks that `expected` tokens from earlier runs are all there.
fn run_in_mode(
    dir: &Path,
    mode: DurabilityMode,
    resource: &'static str,
    expected: Vec<Uuid>,
    graceful: bool,
) -> Vec<Uuid> {
    let clock = ManualClock::new(BASE_MS);
    let dir = dir.to_path_buf();
    actix_rt::System::new().block_on(async move {
        let durable = Server::start(ServerConfig {
            engine: config(&clock),
            durability: durability(&dir, mode),
            http: HttpOptions::default(),
        })
        .expect("starts");
        for token in &expected {
            let view = durable.engine().get("acme", *token).await;
            assert!(
                view.is_ok(),
                "{mode:?}: {token} from an earlier run is missing"
            );
        }
        let mut tokens = expected;
        for n in 0..5 {
            let request = hold_request(resource, BASE_MS + (n + 1) * HOUR_MS, 3_600);
            let outcome = durable.engine().hold("acme", request).await.unwrap();
            tokens.push(outcome.reservation.token);
        }
        if graceful {
            durable
                .snapshots()
                .shutdown()
                .await
                .expect("final snapshot");
        }
        tokens
    })
}

/// Goal: switching `--durability` between runs loses nothing: snapshot mode continues the log
/// numbering, so a later log has no hole; a log left by wal mode is replayed by a snapshot-mode
/// run and removed by its next snapshot.
#[test]
fn switching_durability_modes_between_runs_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let tokens = run_in_mode(path, DurabilityMode::Snapshot, "r1", Vec::new(), true);
    // A crash in wal mode: only the log has these.
    let tokens = run_in_mode(path, DurabilityMode::Wal, "r2", tokens, false);
    assert!(!list_log_segments(path).is_empty());
    let wal_mode_log = list_log_segments(path);
    let tokens = run_in_mode(path, DurabilityMode::Snapshot, "r3", tokens, true);
    // Still needed: the oldest kept snapshot (the first run's) does not cover it.
    assert_eq!(list_log_segments(path), wal_mode_log);
    let tokens = run_in_mode(path, DurabilityMode::Wal, "r4", tokens, false);
    let tokens = run_in_mode(path, DurabilityMode::Wal, "r5", tokens, false);
    assert_eq!(tokens.len(), 25);
    let tokens = run_in_mode(path, DurabilityMode::Snapshot, "r6", tokens, true);
    // Both kept snapshots now cover the second run's log: it is gone.
    let left = list_log_segments(path);
    assert!(
        wal_mode_log.iter().all(|segment| !left.contains(segment)),
        "{wal_mode_log:?} still in {left:?}"
    );
    run_in_mode(path, DurabilityMode::Wal, "r7", tokens, false);
}
