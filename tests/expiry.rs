//! Expiry by the timer-wheel actor, end to end through the `Engine`: real company
//! actors, the real `ExpiryWheel`, and a `ManualClock` moved in steps. The wheel does not tick by
//! itself here: each test sends `Tick` (via `Engine::expiry_tick`), which answers once every
//! batch it sent is done, so nothing sleeps and nothing races.
//!
//! Observations go through `metrics` and `Counts`, which never touch a hold: a `get` past
//! `expires_at` would expire the hold lazily and hide what the wheel did.

use actix::Actor;
use holdfast::actors::company::{CompanyActor, Hold, ReadMetrics};
use holdfast::actors::engine::{Engine, EngineConfig};
use holdfast::actors::expiry::ExpireBatch;
use holdfast::actors::expiry::{ExpiryConfig, TickReport};
use holdfast::clock::{Clock, ManualClock, SharedClock};
use holdfast::core::book::{Book, Settings};
use holdfast::core::command::{HoldOptions, HoldRequest, HoldTarget};
use holdfast::core::reservation::Status;
use holdfast::limits;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// An instant that is not a multiple of the 10 ms tick, so that tick alignment cannot hide an
/// off-by-one (2026-11-14T22:13:20.003Z).
const START_MS: i64 = 1_763_158_400_003;
/// Appointments start a day later, far from any expiry.
const DAY_MS: i64 = 24 * 3_600 * 1_000;

/// An engine on `clock` whose wheel ticks only when told to.
fn engine(clock: &Arc<ManualClock>) -> Engine {
    let clock: SharedClock = clock.clone();
    Engine::start(
        EngineConfig {
            clock,
            arbiters: 2,
            expiry: ExpiryConfig {
                resolution: Duration::from_millis(limits::EXPIRY_RESOLUTION_MS_DEFAULT),
                ticks_itself: false,
            },
            ..EngineConfig::default()
        },
        None,
    )
}

/// A single hold of `resource`, 30 minutes in slot `slot`, living `ttl_seconds`.
fn hold(resource: &str, slot: i64, ttl_seconds: i64) -> HoldRequest {
    let start_ms = START_MS + DAY_MS + slot * 30 * 60 * 1_000;
    let target = HoldTarget::single(resource, start_ms, start_ms + 30 * 60 * 1_000).unwrap();
    let options = HoldOptions::default()
        .with_ttl_seconds(ttl_seconds)
        .unwrap();
    HoldRequest::with_options(target, options)
}

/// Creates a hold through the engine and answers its token.
async fn create(engine: &Engine, company: &str, request: HoldRequest) -> Uuid {
    let outcome = engine.hold(company, request).await.expect("hold");
    outcome.reservation.token
}

/// Ticks and returns the report.
async fn tick(engine: &Engine) -> TickReport {
    engine.expiry_tick().await.expect("tick")
}

/// `(expired, active)` counters of `company`.
async fn expired_and_active(engine: &Engine, company: &str) -> (u64, u64) {
    let metrics = engine.metrics(company).await.expect("metrics");
    (metrics.expired, metrics.active)
}

/// Goal: a hold expires at the first tick at or after its `expires_at`, not at a tick one
/// millisecond before, whatever the alignment of ticks; expiry frees the slot and records the
/// hold's own `expires_at` as `expired_at`.
#[actix_rt::test]
async fn expires_exactly_at_the_first_tick_at_or_after_expires_at() {
    // (milliseconds before expires_at of the last tick that must not expire it,
    //  milliseconds after expires_at of the tick that must)
    let cases = [(1, 0), (3, 0), (1, 7), (10, 1), (9, 13)];
    for (index, (before_ms, after_ms)) in cases.into_iter().enumerate() {
        let clock = ManualClock::new(START_MS + index as i64);
        let engine = engine(&clock);
        let token = create(&engine, "acme", hold("chair", 0, 1)).await;
        let expires_at_ms = clock.now_ms() + 1_000;
        assert_eq!(tick(&engine).await.fired, 0);

        clock.set_ms(expires_at_ms - before_ms);
        let report = tick(&engine).await;
        assert_eq!(
            report.expired, 0,
            "case {index}: expired {before_ms} ms early"
        );
        assert_eq!(expired_and_active(&engine, "acme").await, (0, 1));

        clock.set_ms(expires_at_ms + after_ms);
        let report = tick(&engine).await;
        assert_eq!(
            report,
            TickReport {
                fired: 1,
                batches: 1,
                expired: 1
            },
            "case {index}"
        );
        assert_eq!(expired_and_active(&engine, "acme").await, (1, 0));
        let counts = engine.companies().await.expect("counts");
        assert_eq!((counts[0].counts.active, counts[0].counts.live), (0, 0));
        let view = engine.get("acme", token).await.expect("get");
        assert_eq!(view.status, Status::Expired);
        assert_eq!(view.expired_at_ms, Some(expires_at_ms));
        let stats = engine.expiry_stats().await.expect("stats");
        assert_eq!(stats.lateness_ms_max, after_ms as u64, "case {index}");
        engine.check_invariants().await.expect("invariants");
    }
}

/// Goal: an extend moves the expiry: the entry scheduled for the old `expires_at` fires and is
/// ignored, the hold expires at the first tick at or after the new one.
#[actix_rt::test]
async fn extend_moves_the_expiry() {
    let clock = ManualClock::new(START_MS);
    let engine = engine(&clock);
    let token = create(&engine, "acme", hold("chair", 0, 10)).await;
    clock.advance_ms(5_000);
    let view = engine.extend("acme", token, 10).await.expect("extend");
    assert_eq!(view.expires_at_ms, START_MS + 15_000);

    clock.set_ms(START_MS + 10_000);
    let report = tick(&engine).await;
    assert_eq!((report.fired, report.expired), (1, 0), "old entry ignored");
    clock.set_ms(START_MS + 14_999);
    assert_eq!(tick(&engine).await.expired, 0);
    assert_eq!(expired_and_active(&engine, "acme").await, (0, 1));

    clock.set_ms(START_MS + 15_000);
    let report = tick(&engine).await;
    assert_eq!((report.fired, report.expired), (1, 1));
    assert_eq!(expired_and_active(&engine, "acme").await, (1, 0));
}

/// Goal: a hold extended to a shorter TTL expires at the new, earlier time.
#[actix_rt::test]
async fn extend_to_a_shorter_ttl_expires_earlier() {
    let clock = ManualClock::new(START_MS);
    let engine = engine(&clock);
    let token = create(&engine, "acme", hold("chair", 0, 600)).await;
    engine.extend("acme", token, 2).await.expect("extend");
    clock.advance_ms(2_000);
    let report = tick(&engine).await;
    assert_eq!((report.fired, report.expired), (1, 1));
    assert_eq!(expired_and_active(&engine, "acme").await, (1, 0));
}

/// Goal: confirmed and cancelled holds never expire: their entries fire and are ignored, and
/// the booking keeps its slot.
#[actix_rt::test]
async fn confirm_and_cancel_prevent_expiry() {
    let clock = ManualClock::new(START_MS);
    let engine = engine(&clock);
    let confirmed = create(&engine, "acme", hold("chair", 0, 60)).await;
    let cancelled = create(&engine, "acme", hold("chair", 1, 60)).await;
    engine
        .confirm("acme", confirmed, Some("A-1".into()))
        .await
        .expect("confirm");
    engine
        .cancel("acme", cancelled, Some("customer_hung_up".into()))
        .await
        .expect("cancel");

    clock.advance_ms(60_000);
    let report = tick(&engine).await;
    assert_eq!((report.fired, report.batches, report.expired), (2, 1, 0));
    let metrics = engine.metrics("acme").await.expect("metrics");
    assert_eq!(
        (metrics.expired, metrics.converted, metrics.cancelled),
        (0, 1, 1)
    );
    let view = engine.get("acme", confirmed).await.expect("get");
    assert_eq!(view.status, Status::Converted);
    let clash = engine.hold("acme", hold("chair", 0, 60)).await;
    assert!(clash.is_err(), "the booking still holds its slot");
}

/// Goal: lazy expiry and the wheel never count one hold twice: holds expired lazily by a read
/// before the tick are ignored by the batch, and `expired` equals the holds that expired.
#[actix_rt::test]
async fn lazy_expiry_and_the_wheel_never_double_count() {
    let clock = ManualClock::new(START_MS);
    let engine = engine(&clock);
    let mut tokens = Vec::new();
    for slot in 0..100 {
        tokens.push(create(&engine, "acme", hold("chair", slot, 30)).await);
    }
    clock.advance_ms(30_000);
    for token in tokens.iter().step_by(2) {
        let view = engine.get("acme", *token).await.expect("get");
        assert_eq!(view.status, Status::Expired);
    }
    assert_eq!(expired_and_active(&engine, "acme").await, (50, 50));

    let report = tick(&engine).await;
    assert_eq!((report.fired, report.batches, report.expired), (100, 1, 50));
    assert_eq!(expired_and_active(&engine, "acme").await, (100, 0));
    for token in &tokens {
        engine.get("acme", *token).await.expect("get");
    }
    assert_eq!(expired_and_active(&engine, "acme").await, (100, 0));
    assert_eq!(tick(&engine).await, TickReport::default());
}

/// Companies and holds per company of the mass test: one million holds in all.
const MASS_COMPANIES: usize = 100;
const MASS_HOLDS_PER_COMPANY: usize = 10_000;

/// A book of `holds` active holds, all created at `START_MS` with a 60 s TTL (the state a
/// snapshot restore hands to a company actor).
fn book_with_holds(company: &str, holds: usize) -> Book {
    let mut book = Book::new(company, Settings::default());
    for slot in 0..holds {
        book.hold(
            hold("chair", slot as i64, 60),
            None,
            Uuid::new_v4(),
            START_MS,
        )
        .expect("setup hold");
    }
    book
}

/// Goal: a million holds expiring in one tick all expire, each company gets exactly one batch,
/// and the books handed to the actors already full (as a restore does) are scheduled by the
/// actors themselves when they start.
#[actix_rt::test]
async fn a_million_holds_expire_in_one_tick_with_one_batch_per_company() {
    let clock = ManualClock::new(START_MS);
    let engine = engine(&clock);
    let names: Vec<String> = (0..MASS_COMPANIES).map(|i| format!("co-{i}")).collect();
    // Setup through the core directly, on every core: the actors are not what is tested here.
    let books: Vec<Book> = std::thread::scope(|scope| {
        let workers: Vec<_> = names
            .chunks(MASS_COMPANIES / 4)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|name| book_with_holds(name, MASS_HOLDS_PER_COMPANY))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("setup thread"))
            .collect()
    });
    for book in books {
        let name = book.company().to_string();
        engine
            .registry()
            .get_or_start_with(&name, move || book)
            .expect("start");
    }
    // Every actor has run `started()` (and scheduled its holds) once it answers.
    let companies = engine.companies().await.expect("counts");
    assert_eq!(companies.len(), MASS_COMPANIES);
    let total = MASS_COMPANIES * MASS_HOLDS_PER_COMPANY;

    assert_eq!(tick(&engine).await.fired, 0);
    assert_eq!(engine.expiry_stats().await.expect("stats").entries, total);
    clock.set_ms(START_MS + 59_999);
    assert_eq!(tick(&engine).await, TickReport::default());

    clock.set_ms(START_MS + 60_000);
    let report = tick(&engine).await;
    assert_eq!(
        report,
        TickReport {
            fired: total,
            batches: MASS_COMPANIES,
            expired: total
        }
    );
    let mut expired = 0;
    for name in &names {
        let (company_expired, active) = expired_and_active(&engine, name).await;
        assert_eq!(
            (company_expired, active),
            (MASS_HOLDS_PER_COMPANY as u64, 0),
            "{name}"
        );
        expired += company_expired;
    }
    assert_eq!(expired, total as u64);
    assert_eq!(tick(&engine).await, TickReport::default());
    let stats = engine.expiry_stats().await.expect("stats");
    assert_eq!(
        (stats.entries, stats.expired_total, stats.batches_total),
        (0, total as u64, MASS_COMPANIES as u64)
    );
    assert_eq!(stats.lateness_ms_max, 0, "the manual clock did not move");
}

/// Goal: a big batch is expired in chunks of `limits::EXPIRY_CHUNK_TOKENS`, and messages that
/// arrive meanwhile (a concurrent hold) are answered after the first chunk, not after the whole
/// batch. The actor runs on this test's thread and every message is queued before it first
/// runs, so the order is fixed: batch (first chunk), hold, metrics, then the other chunks.
#[actix_rt::test]
async fn a_hold_is_answered_between_chunks_of_a_mass_expiry() {
    let holds = 3 * limits::EXPIRY_CHUNK_TOKENS + 17;
    let book = book_with_holds("acme", holds);
    let tokens: Vec<Uuid> = book.reservations().map(|r| r.token).collect();
    let clock = ManualClock::new(START_MS + 60_000);
    let shared: SharedClock = clock.clone();
    let actor = CompanyActor::new(book, shared).start();

    let batch = actor.send(ExpireBatch { tokens });
    let concurrent = actor.send(Hold {
        request: hold("sofa", 0, 60),
    });
    let during = actor.send(ReadMetrics);
    let outcome = concurrent.await.expect("mailbox").expect("hold");
    assert_eq!(outcome.reservation.status, Status::Active);
    let during = during.await.expect("mailbox");
    assert_eq!(during.expired, limits::EXPIRY_CHUNK_TOKENS as u64);
    assert_eq!(batch.await.expect("mailbox"), holds);
    let after = actor.send(ReadMetrics).await.expect("mailbox");
    assert_eq!((after.expired, after.active), (holds as u64, 1));
}
