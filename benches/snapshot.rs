//! Snapshot write and restore of 1,000,000 reservations over 1,000 companies (targets:
//! each under 1 s, under 150 bytes per reservation on disk).
//!
//! - `snapshot_write_1m`: the real path, `Snapshots::take` on a running engine: every company
//!   actor exports its book, the body is encoded, checksummed, written to a temporary file,
//!   synced, renamed and the directory synced.
//! - `export_first_turn_one_company_100k`: the longest pause of one company with 100,000
//!   reservations while its actor exports its book for a snapshot: the first turn, which copies
//!   the head (names, keys, counters) and one chunk (`SNAPSHOT_EXPORT_CHUNK_SLOTS`); the actor
//!   answers its mailbox between turns. `export_all_turns_one_company_100k`: every turn of that
//!   export added up (the actor's whole share of the work). `encode_one_company_100k`:
//!   assembling and encoding the copy, off the actor.
//! - `restore_1m`: `durability::restore` on that data directory: read, verify both checksums,
//!   decode, rebuild every company's book (in parallel) with the core's overlap checks.
//!
//! Then a table (criterion's mean would hide the tail that matters): hold round trips through a
//! company's actor, idle, then while that company, holding 1,000,000 reservations, exports its
//! book for a snapshot, and in another company on the same actor thread meanwhile.
//!
//! The file's bytes per reservation are printed once. Holds carry what the wrk workload sends
//! (a call id and a phone number); one in four is confirmed with an appointment id.
//! Short settings for a shared machine: `cargo bench --bench snapshot -- --sample-size 10`.

use criterion::{criterion_group, criterion_main, Criterion};
use hdrhistogram::Histogram;
use holdfast::actors::company::ExportSnapshot;
use holdfast::actors::engine::{Engine, EngineConfig};
use holdfast::core::book::{Book, Settings};
use holdfast::core::command::{HoldOptions, HoldRequest, HoldTarget};
use holdfast::durability::disk::Disk;
use holdfast::durability::log::DurabilityMode;
use holdfast::durability::snapshot::{self, export_encoded, CompanyExport};
use holdfast::durability::{restore, DurabilityConfig};
use holdfast::http::HttpOptions;
use holdfast::limits::SNAPSHOT_EXPORT_CHUNK_SLOTS;
use holdfast::server::{Server, ServerConfig};
use std::path::Path;
use std::time::{Duration, Instant};
use uuid::Uuid;

const COMPANIES: usize = 1_000;
const RESERVATIONS_PER_COMPANY: usize = 1_000;
/// 2027-01-01T00:00:00Z.
const BASE_MS: i64 = 1_798_761_600_000;

/// Hold number `n` of a book: half an hour on resource `n % 100` from `start_ms`, for an hour,
/// under the call `call`.
fn hold_request(n: usize, start_ms: i64, call: usize) -> HoldRequest {
    let target = HoldTarget::single(format!("r{}", n % 100), start_ms, start_ms + 1_800_000)
        .expect("a valid segment");
    let options = HoldOptions::default()
        .with_ttl_seconds(3_600)
        .and_then(|o| o.with_call_id(format!("call-{call}")))
        .and_then(|o| o.with_customer_phone("+4915112345678"))
        .expect("valid options");
    HoldRequest::with_options(target, options)
}

/// One company's book: 1,000 holds on 100 resources, 30-minute slots, a quarter confirmed.
fn book(company: usize, now_ms: i64) -> Book {
    let mut book = Book::new(format!("company-{company}"), Settings::default());
    for n in 0..RESERVATIONS_PER_COMPANY {
        let start_ms = BASE_MS + (n / 100) as i64 * 1_800_000;
        let call = company * RESERVATIONS_PER_COMPANY + n;
        let request = hold_request(n, start_ms, call);
        let token = Uuid::new_v4();
        book.hold(request, None, token, now_ms).expect("free slot");
        if n % 4 == 0 {
            book.confirm(token, Some(format!("A-{n}")), now_ms + 1_000)
                .expect("confirm");
        }
    }
    book
}

/// One company with `holds` holds on 100 resources, half-hour slots, and room for more.
fn big_book(holds: usize, now_ms: i64) -> Book {
    let settings = Settings {
        live_reservations_max: holds + 1_000_000,
        ..Settings::default()
    };
    let mut book = Book::new("big", settings);
    for n in 0..holds {
        let start_ms = BASE_MS + (n / 100) as i64 * 1_800_000;
        let request = hold_request(n, start_ms, n);
        book.hold(request, None, Uuid::new_v4(), now_ms)
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
    snapshot::write_file(&Disk::real(), dir, 1, &bytes, || Ok(())).expect("write");
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
        Server::start(ServerConfig {
            engine: EngineConfig::default(),
            durability: DurabilityConfig {
                data_dir: dir.path().to_path_buf(),
                mode: DurabilityMode::Snapshot,
                snapshot_interval: Duration::from_secs(3_600),
                keep_snapshots: 2,
                disk: Disk::real(),
            },
            http: HttpOptions::default(),
        })
        .expect("engine starts from the fixture")
    });
    // One company's export as its actor runs it: the first turn (the longest pause), every turn
    // added up, and the assembling and encoding of the copy, which run on a blocking thread
    // while the actor goes on.
    let mut big = big_book(100_000, now_ms);
    group.bench_function("export_first_turn_one_company_100k", |b| {
        b.iter(|| {
            let mut export = CompanyExport::begin(&mut big);
            export.copy_chunk(&mut big, SNAPSHOT_EXPORT_CHUNK_SLOTS);
            export
        })
    });
    let export_all = |big: &mut Book| {
        let mut export = CompanyExport::begin(big);
        while !export.copy_chunk(big, SNAPSHOT_EXPORT_CHUNK_SLOTS) {}
        export
    };
    group.bench_function("export_all_turns_one_company_100k", |b| {
        b.iter(|| export_all(&mut big))
    });
    group.bench_function("encode_one_company_100k", |b| {
        b.iter_batched(
            || export_all(&mut big),
            |export| export.encode(),
            criterion::BatchSize::LargeInput,
        )
    });

    group.bench_function("snapshot_write_1m", |b| {
        b.iter(|| {
            let info = system
                .block_on(durable.snapshots().take())
                .expect("snapshot written");
            assert_eq!(info.reservations, reservations as usize);
            info
        })
    });
    group.finish();
    // Dropping a `SystemRunner` whose actors are alive makes actix poll them once more after
    // the timer is gone, which panics; the bench process ends here anyway.
    hold_latency_during_export(&system, 1_000_000, now_ms);
    std::mem::forget(durable);
    std::mem::forget(system);
}

/// Hold round trips through the engine, idle, then while a company of `reservations` exports
/// its book for a snapshot (same actor) and in another company on the same thread (one
/// arbiter), printed as percentiles.
fn hold_latency_during_export(system: &actix::SystemRunner, reservations: usize, now_ms: i64) {
    let engine = system.block_on(async {
        Engine::start(
            EngineConfig {
                arbiters: 1,
                ..EngineConfig::default()
            },
            None,
        )
    });
    let book = big_book(reservations, now_ms);
    engine
        .registry()
        .get_or_start_with("big", move || book)
        .expect("start");
    let probe = |slot: i64| {
        let start_ms = BASE_MS + slot * 1_800_000;
        let target = HoldTarget::single("probe", start_ms, start_ms + 1_800_000).expect("valid");
        HoldRequest::new(target)
    };
    let timed = |company: &str, slot: i64, histogram: &mut Histogram<u64>| {
        let started = Instant::now();
        futures::executor::block_on(engine.hold(company, probe(slot))).expect("free slot");
        histogram.saturating_record(started.elapsed().as_micros() as u64);
    };
    let new_histogram = || Histogram::<u64>::new_with_max(60_000_000, 3).expect("bounds");
    let (mut idle, mut same_actor, mut same_thread) =
        (new_histogram(), new_histogram(), new_histogram());
    timed("other", 0, &mut idle);
    idle.reset();
    let mut slot = 1;
    for _ in 0..2_000 {
        timed("big", slot, &mut idle);
        slot += 1;
    }
    let address = engine.registry().get("big").expect("running");
    let started = Instant::now();
    // Queued now, before any hold below: the export holds exactly what was made before.
    let request = address.send(ExportSnapshot);
    let export = std::thread::spawn(move || {
        let encoded = futures::executor::block_on(request)
            .expect("delivered")
            .expect("exported");
        (encoded.reservations, started.elapsed())
    });
    while !export.is_finished() {
        timed("big", slot, &mut same_actor);
        timed("other", slot, &mut same_thread);
        slot += 1;
    }
    let (exported, took) = export.join().expect("export thread");
    assert_eq!(exported, reservations + 2_000);
    let row = |what: &str, h: &Histogram<u64>| {
        println!(
            "hold round trip, {what:<44}: n={:>6}  p50={:>6} us  p99={:>6} us  max={:>6} us",
            h.len(),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.max()
        )
    };
    row("idle", &idle);
    row("same actor during its export", &same_actor);
    row("other company, same thread, during it", &same_thread);
    println!(
        "export of {exported} reservations, asked to encoded: {:.1} ms",
        took.as_secs_f64() * 1e3
    );
}

criterion_group!(snapshot_benches, benches);
criterion_main!(snapshot_benches);
