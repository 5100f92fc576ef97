//! Concurrency through the actors: many tasks on several threads call the `Engine` at once, and
//! the company actor's one-message-at-a-time rule must give exactly one winner per slot (exactly
//! `k` on a resource of capacity `k`) and never an overlap. Also: one actor per company however
//! many first requests race to start it.
//!
//! The engine runs in its own actix `System` thread (as in the server); the callers run on a
//! separate multi-threaded tokio runtime, so requests really arrive from several threads.

use holdfast::actors::engine::{Engine, EngineConfig, EngineError};
use holdfast::clock::ManualClock;
use holdfast::core::command::{
    HoldOptions, HoldRequest, HoldTarget, ListFilter, SegmentRequest, Segments,
};
use holdfast::core::error::BookError;
use holdfast::core::reservation::Status;
use holdfast::core::schedule::ResourceConfig;
use std::sync::Arc;

const BASE_MS: i64 = 1_798_761_600_000;
const SLOT_MS: i64 = 15 * 60 * 1_000;

/// Starts an engine in an actix System on its own thread; returns it with the system to stop.
fn start_engine(arbiters: usize) -> (Engine, actix_rt::System) {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let system = actix_rt::System::new();
        system.block_on(async {
            let config = EngineConfig {
                clock: ManualClock::new(BASE_MS - 86_400_000),
                arbiters,
                ..EngineConfig::default()
            };
            let engine = Engine::start(config, None);
            sender
                .send((engine, actix_rt::System::current()))
                .expect("test thread waits");
        });
        system.run().expect("system runs");
    });
    receiver.recv().expect("engine started")
}

fn callers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The options of every hold here: the API's defaults, under the call `call`.
fn options(call: &str) -> HoldOptions {
    HoldOptions::default()
        .with_call_id(call)
        .expect("a valid call id")
}

fn single(resource: &str, start_ms: i64, end_ms: i64, call: &str) -> HoldRequest {
    let target = HoldTarget::single(resource, start_ms, end_ms).expect("a valid segment");
    HoldRequest::with_options(target, options(call))
}

/// Goal: 64 tasks on several threads race for one slot; exactly one wins and 63 get `conflict`,
/// in each of 500 rounds (each round a fresh slot, so every round is a real race).
#[test]
fn sixty_four_callers_race_for_one_slot_and_exactly_one_wins() {
    let (engine, system) = start_engine(2);
    let runtime = callers();
    runtime.block_on(async {
        for round in 0..500i64 {
            let start_ms = BASE_MS + round * SLOT_MS;
            let mut tasks = Vec::new();
            for caller in 0..64 {
                let engine = engine.clone();
                tasks.push(tokio::spawn(async move {
                    let request = single(
                        "chair-1",
                        start_ms,
                        start_ms + SLOT_MS,
                        &format!("call-{caller}"),
                    );
                    engine.hold("race", request).await
                }));
            }
            let mut wins = 0;
            let mut conflicts = 0;
            for task in tasks {
                match task.await.expect("task ran") {
                    Ok(_) => wins += 1,
                    Err(EngineError::Book(BookError::Conflict { conflicts: c })) => {
                        assert_eq!(c.len(), 1, "round {round}: one interval in the way");
                        conflicts += 1;
                    }
                    Err(other) => panic!("round {round}: unexpected error {other}"),
                }
            }
            assert_eq!((wins, conflicts), (1, 63), "round {round}");
        }
        engine.check_invariants().await.expect("invariants hold");
    });
    system.stop();
}

/// Goal: on a resource of capacity k, for every k from 1 to 8, 64 tasks on several threads race
/// for one slot; exactly k win and the other 64 - k get `conflict` listing the k winners, in each
/// of 200 rounds (each round a fresh slot, so every round is a real race). A capacity outside 1
/// to 1,000 is refused when the configuration is built.
#[test]
fn sixty_four_callers_race_for_one_slot_of_capacity_k_and_exactly_k_win() {
    const CALLERS: usize = 64;
    let (engine, system) = start_engine(2);
    let runtime = callers();
    runtime.block_on(async {
        match ResourceConfig::new(None, 0, None, Vec::new()) {
            Err(BookError::InvalidRequest { field, .. }) => assert_eq!(field, "capacity"),
            other => panic!("expected invalid_request, got {other:?}"),
        }
        for capacity in 1..=8usize {
            let resource = format!("chairs-{capacity}");
            let config = ResourceConfig::new(None, capacity as i64, None, Vec::new()).unwrap();
            let created = engine
                .put_resource("race-k", &resource, config)
                .await
                .expect("a valid capacity");
            assert!(created, "configured for the first time");
            for round in 0..200i64 {
                let start_ms = BASE_MS + round * SLOT_MS;
                let mut tasks = Vec::new();
                for caller in 0..CALLERS {
                    let engine = engine.clone();
                    let resource = resource.clone();
                    tasks.push(tokio::spawn(async move {
                        let request = single(
                            &resource,
                            start_ms,
                            start_ms + SLOT_MS,
                            &format!("call-{caller}"),
                        );
                        engine.hold("race-k", request).await
                    }));
                }
                let mut wins = 0;
                let mut conflicts = 0;
                for task in tasks {
                    match task.await.expect("task ran") {
                        Ok(_) => wins += 1,
                        Err(EngineError::Book(BookError::Conflict { conflicts: c })) => {
                            assert_eq!(
                                c.len(),
                                capacity,
                                "capacity {capacity}, round {round}: the winners in the way"
                            );
                            conflicts += 1;
                        }
                        Err(other) => {
                            panic!("capacity {capacity}, round {round}: unexpected error {other}")
                        }
                    }
                }
                assert_eq!(
                    (wins, conflicts),
                    (capacity, CALLERS - capacity),
                    "capacity {capacity}, round {round}"
                );
            }
        }
        engine.check_invariants().await.expect("invariants hold");
    });
    system.stop();
}

/// Goal: 10,000 random holds (single and compound) from 8 tasks on several threads leave no two
/// live reservations overlapping on a resource, checked by a full scan of what the engine lists.
#[test]
fn ten_thousand_random_holds_from_eight_tasks_leave_no_overlap() {
    let (engine, system) = start_engine(2);
    let runtime = callers();
    let accepted = runtime.block_on(async {
        let mut tasks = Vec::new();
        for task in 0..8u64 {
            let engine = engine.clone();
            tasks.push(tokio::spawn(async move {
                let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ (task + 1);
                let mut next = move || {
                    // xorshift64*: deterministic per task, no shared state between tasks.
                    seed ^= seed >> 12;
                    seed ^= seed << 25;
                    seed ^= seed >> 27;
                    seed.wrapping_mul(0x2545_f491_4f6c_dd1d)
                };
                let mut accepted = 0;
                for i in 0..1_250 {
                    let segments = (0..(next() % 3 + 1))
                        .map(|_| {
                            let start = (next() % 200) as i64;
                            SegmentRequest::new(
                                format!("r{}", next() % 10),
                                BASE_MS + start * SLOT_MS,
                                BASE_MS + (start + 1 + (next() % 4) as i64) * SLOT_MS,
                            )
                            .expect("a valid segment")
                        })
                        .collect();
                    // Overlapping segments of one request are refused as they are built, like
                    // the engine's `invalid_request` below: nothing to send.
                    let Ok(segments) = Segments::new(segments) else {
                        continue;
                    };
                    let request = HoldRequest::with_options(
                        HoldTarget::Segments(segments),
                        options(&format!("call-{task}-{i}")),
                    );
                    match engine.hold("busy", request).await {
                        Ok(_) => accepted += 1,
                        Err(EngineError::Book(
                            BookError::Conflict { .. } | BookError::InvalidRequest { .. },
                        )) => {}
                        Err(other) => panic!("unexpected error {other}"),
                    }
                }
                accepted
            }));
        }
        let mut accepted = 0;
        for task in tasks {
            accepted += task.await.expect("task ran");
        }
        accepted
    });
    let live = runtime.block_on(async {
        let mut live = Vec::new();
        for status in [Status::Active, Status::Converted] {
            // List in pages of the maximum by resource to read everything back.
            for resource in 0..10 {
                let filter = ListFilter::default()
                    .with_status(status)
                    .with_resource(format!("r{resource}"))
                    .and_then(|f| f.with_limit(1_000))
                    .expect("a valid filter");
                let page = engine.list("busy", filter).await.expect("list");
                assert!(
                    page.next_cursor.is_none(),
                    "one page holds a resource's all"
                );
                live.extend(page.reservations);
            }
        }
        engine.check_invariants().await.expect("invariants hold");
        live
    });
    let mut tokens: Vec<_> = live.iter().map(|r| r.token).collect();
    tokens.sort();
    tokens.dedup();
    assert_eq!(
        tokens.len(),
        accepted,
        "every accepted hold is live and listed"
    );
    let mut intervals: Vec<(Arc<str>, i64, i64)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for reservation in &live {
        if seen.insert(reservation.token) {
            for segment in &reservation.segments {
                intervals.push((segment.resource.clone(), segment.start_ms, segment.end_ms));
            }
        }
    }
    intervals.sort();
    for pair in intervals.windows(2) {
        if pair[0].0 == pair[1].0 {
            assert!(
                pair[0].2 <= pair[1].1,
                "overlap: {:?} and {:?}",
                pair[0],
                pair[1]
            );
        }
    }
    assert!(
        accepted > 100,
        "the workload accepted {accepted} holds: too few to mean much"
    );
    system.stop();
}

/// Goal: however many first requests for a new company arrive at once, from several threads,
/// one actor is started for it: all of them see one book (one hold wins, the rest conflict,
/// and the registry lists the company once).
#[test]
fn first_requests_racing_start_one_actor_per_company() {
    let (engine, system) = start_engine(2);
    let runtime = callers();
    runtime.block_on(async {
        for company in 0..50 {
            let name = format!("new-{company}");
            let mut tasks = Vec::new();
            for caller in 0..16 {
                let engine = engine.clone();
                let name = name.clone();
                tasks.push(tokio::spawn(async move {
                    let request =
                        single("chair", BASE_MS, BASE_MS + SLOT_MS, &format!("c{caller}"));
                    engine.hold(&name, request).await.is_ok()
                }));
            }
            let mut wins = 0;
            for task in tasks {
                wins += task.await.expect("task ran") as usize;
            }
            assert_eq!(wins, 1, "company {name}: one book, one winner");
        }
        let companies = engine.companies().await.expect("companies");
        assert_eq!(companies.len(), 50);
        assert!(companies.iter().all(|c| c.counts.live == 1));
    });
    system.stop();
}

/// Goal: a snapshot export is the company as it was when the export was asked for, although
/// the actor keeps answering between its chunks. 10,000 holds (ten chunks), then the export
/// and 1,000 cancels of the newest holds queued right behind it (the walk reaches their slots
/// last, after the cancels ran): the export holds every hold still active (none of the
/// cancels), a second export after them holds the 1,000 cancelled ones, and a hold made after
/// the first export is not in it.
#[test]
fn a_snapshot_export_is_the_company_when_asked_while_changes_run_between_its_chunks() {
    use holdfast::actors::company::{Cancel, ExportSnapshot, Hold};
    use holdfast::durability::snapshot::{decode_company, SNAPSHOT_FORMAT_VERSION};
    const HOLDS: usize = 10_000;
    const CANCELS: usize = 1_000;
    let (engine, system) = start_engine(1);
    let runtime = callers();
    runtime.block_on(async {
        let mut tokens = Vec::with_capacity(HOLDS);
        for n in 0..HOLDS as i64 {
            let start_ms = BASE_MS + n * SLOT_MS;
            let request = single("chair", start_ms, start_ms + SLOT_MS, "call");
            tokens.push(
                engine
                    .hold("snap", request)
                    .await
                    .expect("free")
                    .reservation
                    .token,
            );
        }
        let address = engine.registry().get("snap").expect("the company runs");
        // Queued in this order before any is handled: `send` enqueues at once while the mailbox
        // has room (capacity 1,024).
        let export = address.send(ExportSnapshot);
        // The newest holds: the store's last slots, which the export's walk reaches last.
        let cancels: Vec<_> = tokens[HOLDS - CANCELS..]
            .iter()
            .map(|&token| {
                address.send(Cancel {
                    token,
                    reason: None,
                })
            })
            .collect();
        let later_start_ms = BASE_MS + HOLDS as i64 * SLOT_MS;
        let later = address.send(Hold {
            request: single("chair", later_start_ms, later_start_ms + SLOT_MS, "late"),
        });
        for cancel in futures::future::join_all(cancels).await {
            cancel.expect("delivered").expect("cancelled");
        }
        later.await.expect("delivered").expect("free");
        let first = export.await.expect("delivered").expect("exported");
        let first = decode_company(&first.bytes, SNAPSHOT_FORMAT_VERSION)
            .expect("decodes")
            .base;
        assert_eq!(
            first.reservations.len(),
            HOLDS,
            "the later hold is not in it"
        );
        assert!(
            first.reservations.iter().all(|r| r.status == 0),
            "every hold active, as when the export was asked for"
        );
        let second = address.send(ExportSnapshot).await.expect("delivered");
        let second = decode_company(&second.expect("exported").bytes, SNAPSHOT_FORMAT_VERSION)
            .expect("decodes")
            .base;
        assert_eq!(second.reservations.len(), HOLDS + 1);
        let cancelled = second.reservations.iter().filter(|r| r.status == 3).count();
        assert_eq!(cancelled, CANCELS);
    });
    system.stop();
}
