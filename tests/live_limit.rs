//! Checks the engine-wide live limit (`--total-live-limit`): a flood of holds spread over many
//! companies meets 429 `limit_reached` at exactly the limit, and the shared count of live
//! reservations stays equal to the sum of every company's live count through every kind of
//! change (holds, confirms, cancels, extends, replaced call holds, expiry by the wheel and by a
//! read, a book replaced after a disk failure, books restored at start-up). Time moves on a
//! manual clock and the wheel ticks when told to: nothing sleeps.

mod http_support;
mod metrics_support;

use holdfast::actors::company::ReplaceBook;
use holdfast::actors::engine::{Engine, EngineConfig, EngineError};
use holdfast::clock::{Clock, ManualClock};
use holdfast::core::book::{Book, Settings};
use holdfast::core::command::{HoldOptions, HoldRequest, HoldTarget, Segments};
use holdfast::core::error::BookError;
use holdfast::core::reservation::Status;
use holdfast::http::HttpOptions;
use holdfast::server::{Server, ServerConfig};
use http_support::{check, single, TestServer};
use metrics_support::{durability, engine_config, segment, single_hold, token, START_MS};
use reqwest::Method;
use std::sync::Arc;
use uuid::Uuid;

/// An engine on `clock` with at most `total_live_limit` live reservations over every company.
fn engine(clock: &Arc<ManualClock>, settings: Settings, total_live_limit: u64) -> Engine {
    let config = EngineConfig {
        total_live_limit,
        ..engine_config(clock, settings)
    };
    Engine::start(config, None)
}

/// Asserts that a hold in `company` is refused for the engine-wide limit of `limit`.
async fn assert_refused_for_total(engine: &Engine, company: &str, limit: u64) {
    match engine.hold(company, single_hold("r9", 40, 300)).await {
        Err(EngineError::Book(BookError::LimitReached { detail })) => {
            let expected = format!(
                "the server holds its maximum of {limit} live reservations across all companies"
            );
            assert_eq!(detail, expected);
        }
        other => panic!("{company}: expected limit_reached, got {other:?}"),
    }
}

/// Asserts that the engine-wide count equals the sum of every company's live count, and that
/// every company's actor agrees with its book (`check_invariants` compares them).
async fn assert_in_step(engine: &Engine, step: &str) -> u64 {
    let companies = engine.companies().await.expect("counts");
    let live: usize = companies.iter().map(|c| c.counts.live).sum();
    assert_eq!(engine.live_budget().live(), live as u64, "after {step}");
    engine.check_invariants().await.expect("invariants");
    live as u64
}

/// A hold of `resource` at `slot` under the idempotency key `key`.
fn keyed_hold(resource: &str, slot: i64, key: &str) -> HoldRequest {
    let options = HoldOptions::default()
        .with_idempotency_key(key)
        .expect("a valid key");
    let segments = Segments::new(vec![segment(resource, slot)]).expect("a segment");
    HoldRequest::with_options(HoldTarget::Segments(segments), options)
}

/// Goal: holds spread over many companies are taken up to exactly the engine-wide limit, then
/// refused with `limit_reached` naming the server-wide limit, in a company with holds and in one
/// never seen alike, and counted as the company's error; a confirm frees nothing (a booking is
/// live), a cancel frees exactly one place.
#[actix_rt::test]
async fn holds_across_companies_stop_at_exactly_the_total_limit() {
    let clock = ManualClock::new(START_MS);
    let engine = engine(&clock, Settings::default(), 10);
    let companies = ["a", "b", "c", "d"];
    let mut held = Vec::new();
    for slot in 0..10 {
        let company = companies[slot % companies.len()];
        let token = token(&engine, company, single_hold("r1", slot as i64, 300)).await;
        held.push((company, token));
    }
    assert_eq!(engine.live_budget().live(), 10);
    for company in ["a", "never-seen"] {
        assert_refused_for_total(&engine, company, 10).await;
    }
    assert_eq!(engine.live_budget().live(), 10, "a refusal takes no place");
    let metrics = engine.metrics("a").await.expect("metrics");
    assert_eq!(metrics.errors_by_type["limit_reached"], 1);
    assert_eq!(metrics.created, 3, "the refused hold created nothing");

    let (company, booked) = held[1];
    engine
        .confirm(company, booked, None)
        .await
        .expect("confirm");
    assert_refused_for_total(&engine, "c", 10).await;

    let (company, cancelled) = held[0];
    engine
        .cancel(company, cancelled, None)
        .await
        .expect("cancel");
    token(&engine, "c", single_hold("r9", 0, 300)).await;
    assert_refused_for_total(&engine, "d", 10).await;
    assert_eq!(assert_in_step(&engine, "the flood").await, 10);
}

/// Goal: the company's own live limit still applies under a larger engine-wide one, with its own
/// message.
#[actix_rt::test]
async fn the_company_limit_still_applies_under_the_total() {
    let clock = ManualClock::new(START_MS);
    let settings = Settings {
        live_reservations_max: 2,
        ..Settings::default()
    };
    let engine = engine(&clock, settings, 10);
    token(&engine, "a", single_hold("r1", 0, 300)).await;
    token(&engine, "a", single_hold("r1", 1, 300)).await;
    match engine.hold("a", single_hold("r1", 2, 300)).await {
        Err(EngineError::Book(BookError::LimitReached { detail })) => {
            assert_eq!(
                detail,
                "the company holds its maximum of 2 live reservations"
            );
        }
        other => panic!("expected limit_reached, got {other:?}"),
    }
    token(&engine, "b", single_hold("r1", 2, 300)).await;
    assert_eq!(assert_in_step(&engine, "the company limit").await, 3);
}

/// Goal: at the engine-wide limit a keyed retry of a hold that was made is still answered with
/// its first answer (it adds nothing), while a new key is refused.
#[actix_rt::test]
async fn a_keyed_retry_is_answered_at_the_total_limit() {
    let clock = ManualClock::new(START_MS);
    let engine = engine(&clock, Settings::default(), 1);
    let first = engine
        .hold("a", keyed_hold("r1", 0, "call-1-try"))
        .await
        .expect("hold");
    assert_refused_for_total(&engine, "b", 1).await;
    let retry = engine
        .hold("a", keyed_hold("r1", 0, "call-1-try"))
        .await
        .expect("the retry is answered");
    assert!(retry.replayed);
    assert_eq!(retry.reservation.token, first.reservation.token);
    let other_key = engine.hold("a", keyed_hold("r1", 5, "call-2-try")).await;
    assert!(
        matches!(
            other_key,
            Err(EngineError::Book(BookError::LimitReached { .. }))
        ),
        "{other_key:?}"
    );
    assert_eq!(assert_in_step(&engine, "the retry").await, 1);
}

/// Goal: after every kind of change (holds, a refused hold, confirms, a cancelled hold and a
/// cancelled booking, an extend, a hold replacing its call's holds, a lazy expiry by a read, the
/// wheel's expiry) the engine-wide count equals the sum of every company's live count.
#[actix_rt::test]
async fn the_count_follows_every_change() {
    let clock = ManualClock::new(START_MS);
    let engine = engine(&clock, Settings::default(), 1_000);
    let mut tokens = std::collections::BTreeMap::new();
    for company in ["a", "b", "c"] {
        for slot in 0..6 {
            let token = token(&engine, company, single_hold("r1", slot, 60)).await;
            tokens.insert((company, slot), token);
        }
    }
    assert_eq!(assert_in_step(&engine, "holds").await, 18);
    let conflict = engine.hold("c", single_hold("r1", 0, 60)).await;
    assert!(matches!(
        conflict,
        Err(EngineError::Book(BookError::Conflict { .. }))
    ));
    assert_eq!(assert_in_step(&engine, "a refused hold").await, 18);

    for slot in [0, 1] {
        engine
            .confirm("a", tokens[&("a", slot)], None)
            .await
            .unwrap();
    }
    assert_eq!(assert_in_step(&engine, "confirms").await, 18);
    engine.cancel("a", tokens[&("a", 0)], None).await.unwrap();
    engine.cancel("b", tokens[&("b", 0)], None).await.unwrap();
    assert_eq!(assert_in_step(&engine, "cancels").await, 16);
    engine.extend("c", tokens[&("c", 0)], 600).await.unwrap();
    assert_eq!(assert_in_step(&engine, "an extend").await, 16);

    // Every hold is made for `call-1`: b's five holds left are cancelled for the new one.
    let replacing = HoldRequest::with_options(
        HoldTarget::Segments(Segments::new(vec![segment("r2", 0)]).unwrap()),
        HoldOptions::default()
            .with_ttl_seconds(600)
            .and_then(|o| o.with_call_id("call-1"))
            .unwrap()
            .replacing_call_holds(true),
    );
    token(&engine, "b", replacing).await;
    assert_eq!(assert_in_step(&engine, "replaced call holds").await, 12);

    clock.advance_ms(61_000);
    let lazily = engine.get("a", tokens[&("a", 2)]).await.unwrap();
    assert_eq!(lazily.status, Status::Expired);
    assert_eq!(assert_in_step(&engine, "a lazy expiry").await, 11);
    let report = engine.expiry_tick().await.expect("tick");
    assert_eq!(report.expired, 8, "a's 3 and c's 5 holds left");
    // What is left: a's booking, b's replacing hold, c's extended hold.
    assert_eq!(assert_in_step(&engine, "the wheel's expiry").await, 3);
}

/// Goal: a book replaced wholesale (the recovery after a disk failure) changes the count by the
/// new book's live count less the old one's.
#[actix_rt::test]
async fn a_replaced_book_moves_the_count_by_its_difference() {
    let clock = ManualClock::new(START_MS);
    let engine = engine(&clock, Settings::default(), 100);
    for slot in 0..3 {
        token(&engine, "a", single_hold("r1", slot, 300)).await;
    }
    token(&engine, "b", single_hold("r1", 0, 300)).await;
    assert_eq!(engine.live_budget().live(), 4);

    let mut book = Book::new("a", Settings::default());
    book.hold(
        single_hold("r5", 0, 300),
        None,
        Uuid::new_v4(),
        clock.now_ms(),
    )
    .expect("hold in the new book");
    let address = engine.registry().get("a").expect("a runs");
    address.send(ReplaceBook { book }).await.expect("replaced");
    assert_eq!(assert_in_step(&engine, "the replaced book").await, 2);
}

/// Goal: books restored at start-up count from the moment their actors run, so a server
/// restarted with a lower limit refuses holds until enough are gone.
#[test]
fn restored_books_count_when_their_actors_start() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START_MS);
    let start = |total_live_limit: u64| {
        Server::start(ServerConfig {
            engine: EngineConfig {
                total_live_limit,
                ..engine_config(&clock, Settings::default())
            },
            durability: durability(dir.path()),
            http: HttpOptions::default(),
        })
        .expect("starts")
    };
    // Each server in an actix system of its own, so that the first one's actors (and its lock
    // on the data directory) are gone when the second starts.
    let tokens = actix_rt::System::new().block_on(async {
        let first = start(100);
        let engine = first.engine().clone();
        let mut tokens = Vec::new();
        for (company, slot) in [("a", 0), ("a", 1), ("b", 0), ("c", 0)] {
            tokens.push(token(&engine, company, single_hold("r1", slot, 600)).await);
        }
        engine.confirm("a", tokens[0], None).await.expect("confirm");
        first.shut_down().await.expect("final snapshot");
        tokens
    });
    actix_rt::System::new().block_on(async {
        let second = start(4);
        let engine = second.engine().clone();
        assert_eq!(assert_in_step(&engine, "the restore").await, 4);
        assert_refused_for_total(&engine, "d", 4).await;
        engine.cancel("b", tokens[2], None).await.expect("cancel");
        token(&engine, "d", single_hold("r1", 0, 600)).await;
        assert_eq!(assert_in_step(&engine, "after the restore").await, 4);
        second.shut_down().await.expect("final snapshot");
    });
}

/// Goal: over HTTP, a flood over many companies meets 429 `limit_reached` at the engine-wide
/// limit, with a detail naming it, and a cancel makes room for exactly one more hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_holds_past_the_total_limit_answer_429() {
    let server = TestServer::start_with_total_live_limit(4);
    let mut locations = Vec::new();
    for index in 0..4 {
        let path = format!("/v1/companies/c{index}/holds");
        let hold = server.post(&path, &single("r1", 0), 201).await;
        locations.push(format!("{path}/{}", hold["token"].as_str().unwrap()));
    }
    let refused = check(
        server
            .send(
                Method::POST,
                "/v1/companies/c9/holds",
                None,
                Some(&single("r1", 0)),
            )
            .await,
        429,
        Some("limit_reached"),
    )
    .await;
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains("maximum of 4 live reservations across all companies"));
    check(
        server.send(Method::DELETE, &locations[0], None, None).await,
        200,
        None,
    )
    .await;
    server
        .post("/v1/companies/c9/holds", &single("r1", 0), 201)
        .await;
    check(
        server
            .send(
                Method::POST,
                "/v1/companies/c0/holds",
                None,
                Some(&single("r1", 60)),
            )
            .await,
        429,
        Some("limit_reached"),
    )
    .await;
}
