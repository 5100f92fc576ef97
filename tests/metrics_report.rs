//! Checks the company metrics against a scripted sequence through the engine on the manual
//! clock: every counter, rate and duration of the report is exactly what the sequence implies,
//! the histograms behind `GET /metrics` count what the report counts, and all of it survives a
//! graceful restart.

mod metrics_support;

use holdfast::actors::engine::{Engine, EngineError};
use holdfast::clock::ManualClock;
use holdfast::core::book::Settings;
use holdfast::core::command::{
    AvailabilityRequest, FindRequest, HoldOptions, HoldTarget, ListFilter, Segments,
};
use holdfast::core::error::ErrorType;
use holdfast::core::metrics::{MetricsReport, MetricsSample, LIFETIME_BUCKETS_MS};
use holdfast::http::HttpOptions;
use holdfast::limits;
use holdfast::server::{Server, ServerConfig};
use metrics_support::{
    durability, engine_config, request, segment, single_hold, token, MINUTE_MS, START_MS,
};
use std::collections::BTreeMap;
use uuid::Uuid;

fn book_error(result: Result<impl std::fmt::Debug, EngineError>) -> ErrorType {
    match result {
        Err(EngineError::Book(error)) => error.error_type(),
        other => panic!("expected a book error, got {other:?}"),
    }
}

/// The scripted sequence: every counter of the contract moves at least once, through the engine and
/// its real actors. Returns the tokens it used, for later checks.
async fn scripted_sequence(engine: &Engine, clock: &ManualClock) {
    let c = "acme";
    let converted = token(engine, c, single_hold("r1", 0, 300)).await;
    let compound = request(
        HoldTarget::Segments(Segments::new(vec![segment("r2", 0), segment("r3", 0)]).unwrap()),
        300,
    );
    let compound = token(engine, c, compound).await;
    let taken = engine.hold(c, single_hold("r1", 0, 300)).await;
    assert_eq!(book_error(taken), ErrorType::Conflict);
    let window = segment("r1", 0);
    let find = FindRequest::new(
        vec!["r1".into()],
        window.start_ms(),
        window.end_ms(),
        30 * MINUTE_MS,
        15 * MINUTE_MS,
    )
    .expect("a valid search");
    let nothing_free = engine.hold(c, request(HoldTarget::Find(find), 300)).await;
    assert_eq!(book_error(nothing_free), ErrorType::NoSlot);

    clock.advance_ms(20_000);
    engine
        .confirm(c, converted, Some("A-1".into()))
        .await
        .unwrap();
    let again = engine.confirm(c, converted, Some("A-2".into())).await;
    assert_eq!(book_error(again), ErrorType::InvalidState);
    engine.cancel(c, compound, None).await.unwrap();
    let short = token(engine, c, single_hold("r4", 0, 60)).await;
    let hung_up = token(engine, c, single_hold("r5", 0, 300)).await;
    engine
        .cancel(c, hung_up, Some("customer_hung_up".into()))
        .await
        .unwrap();

    // The short hold runs out: the wheel expires it after exactly 60 s of life.
    clock.advance_ms(60_000);
    let tick = engine.expiry_tick().await.unwrap();
    assert_eq!(tick.expired, 1, "{tick:?}");
    let late = engine.confirm(c, short, None).await;
    assert_eq!(book_error(late), ErrorType::Expired);
    let unknown = engine.get(c, Uuid::from_u128(7)).await;
    assert_eq!(book_error(unknown), ErrorType::NotFound);
    let booking = engine.extend(c, converted, 300).await;
    assert_eq!(book_error(booking), ErrorType::InvalidState);
    // A hold with no time to live cannot be built: the edge refuses it before any book sees it
    // and counts it for the company, which is what the counts below expect.
    let no_ttl = HoldOptions::default().with_ttl_seconds(0);
    assert_eq!(
        no_ttl.expect_err("ttl 0").error_type(),
        ErrorType::InvalidRequest
    );
    engine
        .record_rejected(c, ErrorType::InvalidRequest, None)
        .await
        .unwrap();

    // The live limit is 3: the booking and two holds fill it.
    token(engine, c, single_hold("r6", 0, 300)).await;
    token(engine, c, single_hold("r7", 0, 300)).await;
    let full = engine.hold(c, single_hold("r8", 0, 300)).await;
    assert_eq!(book_error(full), ErrorType::LimitReached);

    // What the HTTP edge refuses by itself (a malformed body; a token that is not a UUID).
    engine
        .record_rejected(c, ErrorType::InvalidRequest, None)
        .await
        .unwrap();
    engine
        .record_rejected(c, ErrorType::NotFound, Some(converted))
        .await
        .unwrap();
    let everything = ListFilter::default()
        .with_limit(limits::LIST_LIMIT_DEFAULT)
        .expect("a valid limit");
    engine.list(c, everything).await.unwrap();
    let free = AvailabilityRequest::new(
        vec!["r9".into()],
        window.start_ms(),
        window.end_ms(),
        30 * MINUTE_MS,
        30 * MINUTE_MS,
    )
    .expect("a valid query");
    engine.availability(c, free).await.unwrap();
}

fn settings_with_live_limit(live_reservations_max: usize) -> Settings {
    Settings {
        live_reservations_max,
        ..Settings::default()
    }
}

fn assert_close(value: f64, expected: f64, what: &str) {
    // The histograms keep 2 significant digits: 1 % is their resolution.
    assert!(
        (value - expected).abs() <= expected.abs() * 0.01,
        "{what}: {value}, expected {expected}"
    );
}

/// The counts the scripted sequence must leave, checked one by one.
fn assert_scripted_counts(report: &MetricsReport) {
    let counts = [
        ("created", report.created, 6),
        ("created_single", report.created_single, 5),
        ("created_compound", report.created_compound, 1),
        ("converted", report.converted, 1),
        ("expired", report.expired, 1),
        ("cancelled", report.cancelled, 2),
        ("active", report.active, 2),
        ("live", report.live, 3),
        ("requests", report.requests, 21),
        ("errors", report.errors, 10),
        ("confirm_attempts", report.confirm_attempts, 3),
        ("confirm_successes", report.confirm_successes, 1),
    ];
    for (name, value, expected) in counts {
        assert_eq!(value, expected, "{name}");
    }
    let errors: BTreeMap<&str, u64> = report
        .errors_by_type
        .iter()
        .map(|(kind, count)| (kind.as_str(), *count))
        .collect();
    let expected_errors = BTreeMap::from([
        ("conflict", 1),
        ("no_slot", 1),
        ("expired", 1),
        ("invalid_state", 2),
        ("invalid_request", 2),
        ("not_found", 2),
        ("limit_reached", 1),
        ("idempotency_mismatch", 0),
        ("outside_hours", 0),
    ]);
    assert_eq!(errors, expected_errors);
    let reasons: Vec<(&str, u64)> = report
        .cancelled_by_reason
        .iter()
        .map(|(reason, count)| (reason.as_str(), *count))
        .collect();
    assert_eq!(reasons, [("customer_hung_up", 1), ("unspecified", 1)]);
}

/// Goal: after a scripted sequence through the engine on the manual clock, every counter, map,
/// rate, duration and criterion of the company metrics is exactly what the sequence implies, and
/// a company without traffic answers rates of 0, never NaN.
#[actix_rt::test]
async fn every_counter_and_rate_after_a_scripted_sequence() {
    let clock = ManualClock::new(START_MS);
    let engine = Engine::start(engine_config(&clock, settings_with_live_limit(3)), None);
    scripted_sequence(&engine, &clock).await;
    let report = engine.metrics("acme").await.unwrap();
    assert_scripted_counts(&report);

    assert_eq!(report.conversion_rate, 1.0 / 6.0);
    assert_eq!(report.completion_rate, 4.0 / 6.0);
    assert_eq!(report.active_rate, 2.0 / 6.0);
    assert_eq!(report.error_rate, 10.0 / 21.0);
    assert_eq!(report.booking_success_rate, 1.0 / 3.0);
    let to_conversion = report.time_to_conversion_seconds;
    for (name, value) in [
        ("avg", to_conversion.avg),
        ("p50", to_conversion.p50),
        ("p99", to_conversion.p99),
    ] {
        assert_close(value, 20.0, &format!("time to conversion {name}"));
    }
    assert_close(
        report.expired_lifetime_seconds.avg,
        60.0,
        "expired lifetime",
    );
    assert_close(
        report.expired_lifetime_seconds.p95,
        60.0,
        "expired lifetime p95",
    );
    assert!(report.hold_latency_micros_p50 <= report.hold_latency_micros_p99);
    assert!(report.hold_latency_micros_p99 <= report.hold_latency_micros_p999);

    let met: Vec<(&str, bool)> = report.criteria.iter().map(|c| (c.name, c.met)).collect();
    assert_eq!(
        met,
        [
            ("conversion_rate", false),
            ("error_rate", false),
            ("avg_time_to_conversion_seconds", true),
            ("booking_success_rate", false),
        ]
    );
    assert_eq!(report.criteria[1].value, report.error_rate);

    let quiet = engine.metrics("quiet").await.unwrap();
    let rates = [
        quiet.conversion_rate,
        quiet.completion_rate,
        quiet.active_rate,
        quiet.error_rate,
        quiet.booking_success_rate,
        quiet.time_to_conversion_seconds.avg,
        quiet.expired_lifetime_seconds.avg,
    ];
    assert!(rates.iter().all(|rate| *rate == 0.0), "{rates:?}");
}

/// Goal: the sample behind `GET /metrics` counts the same histograms as the report: one latency
/// value per create request (refused ones included), one conversion, one expiry.
#[actix_rt::test]
async fn histogram_samples_count_what_the_report_counts() {
    let clock = ManualClock::new(START_MS);
    let engine = Engine::start(engine_config(&clock, settings_with_live_limit(3)), None);
    scripted_sequence(&engine, &clock).await;
    let samples = engine.metrics_samples().await.unwrap();
    let (company, sample) = (&samples[0].company, &samples[0].sample);
    assert_eq!(company.as_ref(), "acme");
    assert_eq!(sample.report, engine.metrics("acme").await.unwrap());
    // Nine creates reach the company's actor; the script's tenth (no time to live) cannot be
    // built, so it is refused and counted before any actor sees it, and has no latency.
    assert_eq!(sample.hold_latency_micros.count, 9);
    assert_eq!(sample.time_to_conversion_ms.count, 1);
    assert_eq!(sample.expired_lifetime_ms.count, 1);
    let under = |bound_ms: u64| {
        let index = LIFETIME_BUCKETS_MS
            .iter()
            .position(|b| *b == bound_ms)
            .unwrap();
        sample.time_to_conversion_ms.cumulative[index]
    };
    assert_eq!(
        (under(10_000), under(20_000)),
        (0, 1),
        "20 s lands in the 20 s bucket"
    );
    let lifetimes = &sample.expired_lifetime_ms.cumulative;
    let at_60s = LIFETIME_BUCKETS_MS
        .iter()
        .position(|b| *b == 60_000)
        .unwrap();
    assert_eq!(
        (lifetimes[at_60s - 1], lifetimes[at_60s]),
        (0, 1),
        "60 s lands under 60 s"
    );
}

/// Goal: every counter and histogram the metrics report (the edge's refusals and the hold
/// latency included) survives a graceful restart through the final snapshot, exactly.
#[test]
fn counters_and_histograms_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START_MS);
    let before: MetricsSample = {
        let clock = clock.clone();
        let dir = dir.path().to_path_buf();
        actix_rt::System::new().block_on(async move {
            let config = engine_config(&clock, settings_with_live_limit(3));
            let durable = Server::start(ServerConfig {
                engine: config,
                durability: durability(&dir),
                http: HttpOptions::default(),
            })
            .expect("starts");
            scripted_sequence(durable.engine(), &clock).await;
            let samples = durable.engine().metrics_samples().await.unwrap();
            durable
                .snapshots()
                .shutdown()
                .await
                .expect("final snapshot");
            samples.into_iter().next().unwrap().sample
        })
    };
    let after: MetricsSample = {
        let clock = clock.clone();
        let dir = dir.path().to_path_buf();
        actix_rt::System::new().block_on(async move {
            let config = engine_config(&clock, settings_with_live_limit(3));
            let durable = Server::start(ServerConfig {
                engine: config,
                durability: durability(&dir),
                http: HttpOptions::default(),
            })
            .expect("restarts");
            let samples = durable.engine().metrics_samples().await.unwrap();
            samples.into_iter().next().unwrap().sample
        })
    };
    assert_scripted_counts(&after.report);
    assert_eq!(after, before);
}
