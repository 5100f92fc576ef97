//! The engine under contention (criterion): many tasks on a multi-threaded tokio runtime race
//! through the `Engine` for one slot (a single hold each), or for a few slots with the atomic
//! first-available hold, and exactly the right number win. This is the race `holdfast bench
//! contention` plays over HTTP, without HTTP: what one company's actor costs when every caller
//! wants the same thing at once.
//!
//! One iteration is one round: N tasks start together on a fresh slot and all are answered.
//! Criterion reports the time per round and, with `Throughput::Elements(N)`, holds answered per
//! second. Run: `cargo bench --bench contention` (short settings: `-- --warm-up-time 1
//! --measurement-time 3`).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use holdfast::actors::engine::{Engine, EngineConfig, EngineError};
use holdfast::clock::ManualClock;
use holdfast::core::book::Settings;
use holdfast::core::command::{FindRequest, HoldOptions, HoldRequest, HoldTarget};
use holdfast::core::error::BookError;
use std::time::{Duration, Instant};

/// 2027-01-01T00:00:00Z: every round's slots are after the clock's "now".
const BASE_MS: i64 = 1_798_761_600_000;
const SLOT_MS: i64 = 30 * 60 * 1_000;
/// First-available rounds: 2 resources x 4 slots.
const ROUND_RESOURCES: [&str; 2] = ["room-1", "room-2"];
const ROUND_SLOTS: i64 = 4;

/// Starts an engine in an actix System on its own thread (as the server runs it), with a
/// manual clock so that no hold expires during the bench.
fn start_engine() -> (Engine, actix_rt::System) {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let system = actix_rt::System::new();
        system.block_on(async {
            let engine = Engine::start(
                EngineConfig {
                    clock: ManualClock::new(BASE_MS - 86_400_000),
                    settings: Settings {
                        live_reservations_max: 50_000_000,
                        ..Settings::default()
                    },
                    ..EngineConfig::default()
                },
                None,
            );
            sender
                .send((engine, actix_rt::System::current()))
                .expect("the bench waits");
        });
        system.run().expect("the system runs");
    });
    receiver.recv().expect("the engine started")
}

fn request(target: HoldTarget, caller: usize) -> HoldRequest {
    let options = HoldOptions::default()
        .with_ttl_seconds(300)
        .and_then(|o| o.with_call_id(format!("call-{caller}")))
        .and_then(|o| o.with_customer_phone("+4915112345678"))
        .expect("valid options");
    HoldRequest::with_options(target, options)
}

/// One round: `tasks` callers at once, each built by `target(round)`; answers the winners.
async fn round(
    engine: &Engine,
    company: &'static str,
    tasks: usize,
    target: impl Fn() -> HoldTarget,
) -> usize {
    let handles: Vec<_> = (0..tasks)
        .map(|caller| {
            let engine = engine.clone();
            let request = request(target(), caller);
            tokio::spawn(async move { engine.hold(company, request).await })
        })
        .collect();
    let mut winners = 0;
    for handle in handles {
        match handle.await.expect("the task ran") {
            Ok(_) => winners += 1,
            Err(EngineError::Book(BookError::Conflict { .. } | BookError::NoSlot)) => {}
            Err(other) => panic!("unexpected answer under contention: {other}"),
        }
    }
    winners
}

fn contention(c: &mut Criterion) {
    let (engine, system) = start_engine();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("contention");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(20);
    let mut next_round: i64 = 0;
    for tasks in [16usize, 64, 256] {
        group.throughput(Throughput::Elements(tasks as u64));
        group.bench_with_input(BenchmarkId::new("one_slot", tasks), &tasks, |b, &tasks| {
            b.iter_custom(|rounds| {
                let started = Instant::now();
                runtime.block_on(async {
                    for _ in 0..rounds {
                        let start_ms = BASE_MS + next_round * SLOT_MS;
                        next_round += 1;
                        let target = || {
                            HoldTarget::single("chair-1", start_ms, start_ms + SLOT_MS)
                                .expect("a valid segment")
                        };
                        let winners = round(&engine, "one-slot", tasks, target).await;
                        assert_eq!(winners, 1, "exactly one caller wins the slot");
                    }
                });
                started.elapsed()
            })
        });
        group.bench_with_input(
            BenchmarkId::new("first_available_8_slots", tasks),
            &tasks,
            |b, &tasks| {
                b.iter_custom(|rounds| {
                    let started = Instant::now();
                    runtime.block_on(async {
                        for _ in 0..rounds {
                            let earliest_ms = BASE_MS + next_round * ROUND_SLOTS * SLOT_MS;
                            next_round += 1;
                            let target = || {
                                let find = FindRequest::new(
                                    ROUND_RESOURCES.map(String::from).to_vec(),
                                    earliest_ms,
                                    earliest_ms + ROUND_SLOTS * SLOT_MS,
                                    SLOT_MS,
                                    SLOT_MS,
                                );
                                HoldTarget::Find(find.expect("a valid search"))
                            };
                            let winners = round(&engine, "first-available", tasks, target).await;
                            let slots = ROUND_RESOURCES.len() * ROUND_SLOTS as usize;
                            assert_eq!(winners, tasks.min(slots), "one winner per slot");
                        }
                    });
                    started.elapsed()
                })
            },
        );
    }
    group.finish();
    runtime.block_on(async {
        engine
            .check_invariants()
            .await
            .expect("no overlap after the bench")
    });
    system.stop();
}

criterion_group!(benches, contention);
criterion_main!(benches);
