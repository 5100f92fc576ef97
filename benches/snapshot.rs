//! Snapshot write and restore of 1,000,000 reservations over 1,000 companies (issue 5 targets:
//! each under 1 s, under 150 bytes per reservation on disk).
//!
//! - `snapshot_write_1m`: the real path, `Snapshots::take` on a running engine: every company
//!   actor exports its book, the body is encoded, checksummed, written to a temporary file,
//!   synced, renamed and the directory synced.
//! - `export_pause_one_company_100k`: the pause of one company with 100,000 reservations while
//!   its actor copies its book for a snapshot; `encode_one_company_100k`: encoding that copy,
//!   off the actor.
//! - `restore_1m`: `durability::restore` on that data directory: read, verify both checksums,
//!   decode, rebuild every company's book (in parallel) with the core's overlap checks.
//!
//! The file's bytes per reservation are printed once. Holds carry what the wrk workload sends
//! (a call id and a phone number); one in four is confirmed with an appointment id.
//! Short settings for a shared machine: `cargo bench --bench snapshot -- --sample-size 10`.

use criterion::{criterion_group, criterion_main, Criterion};
use holdfast::actors::engine::EngineConfig;
use holdfast::actors::snapshotter::start_durable;
use holdfast::core::book::{Book, Settings};
use holdfast::core::command::{HoldRequest, HoldTarget, SegmentRequest};
use holdfast::durability::snapshot::{self, encode_company, export_company, export_encoded};
use holdfast::durability::wal::DurabilityMode;
use holdfast::durability::{restore, DurabilityConfig};
use std::path::Path;
use std::time::Duration;
use uuid::Uuid;

const COMPANIES: usize = 1_000;
const RESERVATIONS_PER_COMPANY: usize = 1_000;
/// 2027-01-01T00:00:00Z.
const BASE_MS: i64 = 1_798_761_600_000;

/// One company's book: 1,000 holds on 100 resources, 30-minute slots, a quarter confirmed.
fn book(company: usize, now_ms: i64) -> Book {
    let mut book = Book::new(format!("company-{company}"), Settings::default());
    for n in 0..RESERVATIONS_PER_COMPANY {
        let start_ms = BASE_MS + (n / 100) as i64 * 1_800_000;
        let request = HoldRequest {
            target: HoldTarget::Segments(vec![SegmentRequest {
                resource: format!("r{}", n % 100),
                start_ms,
                end_ms: start_ms + 1_800_000,
            }]),
            ttl_seconds: 3_600,
            call_id: Some(format!("call-{}", company * RESERVATIONS_PER_COMPANY + n)),
            customer_phone: Some("+4915112345678".into()),
            service_id: None,
            replace_call_holds: false,
            idempotency_key: None,
        };
        let token = Uuid::new_v4();
        book.hold(request, token, now_ms).expect("free slot");
        if n % 4 == 0 {
            book.confirm(token, Some(format!("A-{n}")), now_ms + 1_000)
                .expect("confirm");
        }
    }
    book
}

/// One company with 100,000 holds (100 resources, 1,000 half-hour slots each).
fn big_book(now_ms: i64) -> Book {
    let mut book = Book::new("big", Settings::default());
    for n in 0..100_000usize {
        let start_ms = BASE_MS + (n / 100) as i64 * 1_800_000;
        let request = HoldRequest {
            target: HoldTarget::Segments(vec![SegmentRequest {
                resource: format!("r{}", n % 100),
                start_ms,
                end_ms: start_ms + 1_800_000,
            }]),
            ttl_seconds: 3_600,
            call_id: Some(format!("call-{n}")),
            customer_phone: Some("+4915112345678".into()),
            service_id: None,
            replace_call_holds: false,
            idempotency_key: None,
        };
        book.hold(request, Uuid::new_v4(), now_ms)
            .expect("free slot");
    }
    book
}

/// Writes the 1M-reservation snapshot into `dir` (as snapshot 1) and returns its size.
fn write_fixture(dir: &Path, now_ms: i64) -> u64 {
    let companies: Vec<_> = (0..COMPANIES)
        .map(|company| export_encoded(&book(company, now_ms), 0))
        .collect();
    let bytes = snapshot::encode_file(0, &companies, now_ms, 1);
    snapshot::write_file(dir, 1, &bytes).expect("write");
    bytes.len() as u64
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let now_ms = chrono::Utc::now().timestamp_millis();
    let bytes = write_fixture(dir.path(), now_ms);
    let reservations = (COMPANIES * RESERVATIONS_PER_COMPANY) as f64;
    println!(
        "snapshot of {reservations} reservations: {bytes} bytes, {:.1} bytes per reservation",
        bytes as f64 / reservations
    );

    let mut group = c.benchmark_group("snapshot");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));

    // Freeing a million reservations afterwards is not part of restoring them.
    group.bench_function("restore_1m", |b| {
        b.iter_with_large_drop(|| {
            let restored = restore(dir.path(), &Settings::default(), now_ms).expect("restores");
            assert_eq!(restored.report.reservations, reservations as usize);
            restored
        })
    });

    let system = actix_rt::System::new();
    let durable = system.block_on(async {
        start_durable(
            EngineConfig::default(),
            DurabilityConfig {
                data_dir: dir.path().to_path_buf(),
                mode: DurabilityMode::Snapshot,
                snapshot_interval: Duration::from_secs(3_600),
                keep_snapshots: 2,
            },
        )
        .expect("engine starts from the fixture")
    });
    // The pause of one company while its actor copies its book for a snapshot, and the
    // encoding of that copy, which runs on a blocking thread while the actor goes on.
    let big = big_book(now_ms);
    group.bench_function("export_pause_one_company_100k", |b| {
        b.iter(|| export_company(&big, 0))
    });
    let copy = export_company(&big, 0);
    group.bench_function("encode_one_company_100k", |b| {
        b.iter(|| encode_company(&copy))
    });

    group.bench_function("snapshot_write_1m", |b| {
        b.iter(|| {
            let info = system
                .block_on(durable.snapshots.take())
                .expect("snapshot written");
            assert_eq!(info.reservations, reservations as usize);
            info
        })
    });
    group.finish();
    // Dropping a `SystemRunner` whose actors are alive makes actix poll them once more after
    // the timer is gone, which panics; the bench process ends here anyway.
    std::mem::forget(durable);
    std::mem::forget(system);
}

criterion_group!(snapshot_benches, benches);
criterion_main!(snapshot_benches);
