//! Issue 6, metrics and logs: every counter and rate after a scripted sequence on the manual
//! clock; the counters and histograms across a restart; the edge's own refusals counted once,
//! and never for an invalid company; `GET /metrics` parsed with a Prometheus parser and holding
//! the same numbers as each company's JSON; the real binary's JSON log lines with masked phones
//! (`--log-format json`; the core's own events are in tests/log_events.rs).

mod http_support;

use holdfast::actors::engine::{Engine, EngineConfig, EngineError};
use holdfast::actors::expiry::ExpiryConfig;
use holdfast::clock::{ManualClock, SharedClock};
use holdfast::core::book::Settings;
use holdfast::core::command::{
    AvailabilityRequest, FindRequest, HoldOptions, HoldRequest, HoldTarget, ListFilter,
    SegmentRequest, Segments,
};
use holdfast::core::error::ErrorType;
use holdfast::core::metrics::{MetricsReport, MetricsSample, LIFETIME_BUCKETS_MS};
use holdfast::durability::wal::DurabilityMode;
use holdfast::durability::DurabilityConfig;
use holdfast::http::auth::Keys;
use holdfast::http::HttpOptions;
use holdfast::limits;
use holdfast::server::{Server, ServerConfig};
use http_support::{check, single, TestServer};
use prometheus_parse::{Scrape, Value as PromValue};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// 2027-01-01T00:00:00Z: the clock's start.
const START_MS: i64 = 1_798_761_600_000;
const MINUTE_MS: i64 = 60_000;
/// Appointments are a day after the clock's start, far from any expiry.
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

fn segment(resource: &str, slot: i64) -> SegmentRequest {
    let start_ms = START_MS + DAY_MS + slot * 30 * MINUTE_MS;
    SegmentRequest::new(resource, start_ms, start_ms + 30 * MINUTE_MS).expect("a valid segment")
}

fn request(target: HoldTarget, ttl_seconds: i64) -> HoldRequest {
    let options = HoldOptions::default()
        .with_ttl_seconds(ttl_seconds)
        .and_then(|o| o.with_call_id("call-1"))
        .and_then(|o| o.with_customer_phone("+4915112345678"))
        .expect("valid options");
    HoldRequest::with_options(target, options)
}

fn single_hold(resource: &str, slot: i64, ttl_seconds: i64) -> HoldRequest {
    request(
        HoldTarget::Segments(Segments::new(vec![segment(resource, slot)]).unwrap()),
        ttl_seconds,
    )
}

/// An engine on `clock` whose expiry wheel ticks only when told to.
fn engine_config(clock: &Arc<ManualClock>, settings: Settings) -> EngineConfig {
    let clock: SharedClock = clock.clone();
    EngineConfig {
        settings,
        clock,
        arbiters: 2,
        expiry: ExpiryConfig {
            resolution: Duration::from_millis(limits::EXPIRY_RESOLUTION_MS_DEFAULT),
            ticks_itself: false,
        },
    }
}

fn book_error(result: Result<impl std::fmt::Debug, EngineError>) -> ErrorType {
    match result {
        Err(EngineError::Book(error)) => error.error_type(),
        other => panic!("expected a book error, got {other:?}"),
    }
}

async fn token(engine: &Engine, company: &str, hold: HoldRequest) -> Uuid {
    engine
        .hold(company, hold)
        .await
        .expect("hold")
        .reservation
        .token
}

/// The scripted sequence: every counter of the issue moves at least once, through the engine and
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
    let (company, sample) = &samples[0];
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

fn durability(dir: &Path) -> DurabilityConfig {
    DurabilityConfig {
        data_dir: dir.to_path_buf(),
        mode: DurabilityMode::Wal,
        snapshot_interval: Duration::from_secs(3_600),
        keep_snapshots: 2,
    }
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
            samples.into_iter().next().unwrap().1
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
            samples.into_iter().next().unwrap().1
        })
    };
    assert_scripted_counts(&after.report);
    assert_eq!(after, before);
}

// ----- HTTP: the edge's refusals, GET /metrics --------------------------------------------------

async fn company_json(server: &TestServer, company: &str) -> Value {
    server
        .get(&format!("/v1/companies/{company}/metrics"), 200)
        .await
}

async fn admin_companies(server: &TestServer) -> Vec<String> {
    let listing = server.get("/v1/admin/companies", 200).await;
    listing["companies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["company"].as_str().unwrap().to_owned())
        .collect()
}

/// Goal: requests refused by the HTTP edge (malformed body, unknown field, a token that is not a
/// UUID) count once into the company's `requests` and `errors_by_type`; errors the book answers
/// count once too (not twice); an invalid company id counts nowhere and starts no actor; 401s
/// are not the company's errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_refusals_count_once_and_invalid_companies_start_nothing() {
    let server = TestServer::start();
    const HOLDS: &str = "/v1/companies/acme/holds";
    server.post(HOLDS, &single("r1", 0), 201).await;
    let cases: [(Method, &str, Option<&str>, u16, &str); 6] = [
        (
            Method::POST,
            HOLDS,
            Some("{not json"),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            HOLDS,
            Some(r#"{"resourse":"r1"}"#),
            400,
            "invalid_request",
        ),
        (
            Method::GET,
            "/v1/companies/acme/holds/not-a-uuid",
            None,
            404,
            "not_found",
        ),
        (
            Method::POST,
            "/v1/companies/acme/holds/not-a-uuid/confirm",
            None,
            404,
            "not_found",
        ),
        (Method::POST, HOLDS, Some(&single("r1", 0)), 409, "conflict"),
        (
            Method::GET,
            "/v1/companies/acme/holds/00000000-0000-4000-8000-000000000000",
            None,
            404,
            "not_found",
        ),
    ];
    for (method, path, body, status, kind) in cases {
        check(
            server.send(method, path, None, body).await,
            status,
            Some(kind),
        )
        .await;
    }
    let metrics = company_json(&server, "acme").await;
    assert_eq!(metrics["requests"], 7, "{metrics}");
    assert_eq!(metrics["errors"], 6, "{metrics}");
    assert_eq!(metrics["errors_by_type"]["invalid_request"], 2);
    assert_eq!(metrics["errors_by_type"]["not_found"], 3);
    assert_eq!(metrics["errors_by_type"]["conflict"], 1);
    assert_eq!(metrics["error_rate"], 6.0 / 7.0);

    // A valid company whose first request is malformed is counted like any first request.
    let fresh = "/v1/companies/fresh/holds";
    check(
        server.send(Method::POST, fresh, None, Some("[]")).await,
        400,
        Some("invalid_request"),
    )
    .await;
    let fresh_metrics = company_json(&server, "fresh").await;
    assert_eq!(
        (&fresh_metrics["requests"], &fresh_metrics["errors"]),
        (&Value::from(1), &Value::from(1))
    );

    let invalid = "/v1/companies/bad.company/holds";
    check(
        server.send(Method::POST, invalid, None, Some("{}")).await,
        400,
        Some("invalid_request"),
    )
    .await;
    let long = format!("/v1/companies/{}/holds/not-a-uuid", "x".repeat(65));
    check(
        server.send(Method::GET, &long, None, None).await,
        400,
        Some("invalid_request"),
    )
    .await;
    assert_eq!(admin_companies(&server).await, ["acme", "fresh"]);
}

/// Goal: with keys, a refused key is not the company's error (and starts no actor), while a
/// malformed request with the company's own key is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_requests_are_not_counted() {
    const KEYS: &str =
        "admin = \"admin-key-0123456789\"\n[companies]\nacme = \"acme-key-0123456789\"\n";
    let server = TestServer::start_with(Settings::default(), Keys::from_toml(KEYS).unwrap());
    let acme = Some("acme-key-0123456789");
    let admin = Some("admin-key-0123456789");
    let holds = "/v1/companies/acme/holds";
    check(
        server.send(Method::POST, holds, None, Some("{x")).await,
        401,
        Some("unauthorized"),
    )
    .await;
    let other = "/v1/companies/other/holds";
    check(
        server.send(Method::POST, other, acme, Some("{x")).await,
        403,
        Some("forbidden"),
    )
    .await;
    let listing = check(
        server
            .send(Method::GET, "/v1/admin/companies", admin, None)
            .await,
        200,
        None,
    )
    .await;
    assert_eq!(
        listing["companies"],
        serde_json::json!([]),
        "no actor was started"
    );
    check(
        server.send(Method::POST, holds, acme, Some("{x")).await,
        400,
        Some("invalid_request"),
    )
    .await;
    let metrics = check(
        server
            .send(Method::GET, "/v1/companies/acme/metrics", acme, None)
            .await,
        200,
        None,
    )
    .await;
    assert_eq!(
        (&metrics["requests"], &metrics["errors"]),
        (&Value::from(1), &Value::from(1))
    );
    let scrape = server.send(Method::GET, "/metrics", acme, None).await;
    check(scrape, 403, Some("forbidden")).await;
    let scrape = server.send(Method::GET, "/metrics", admin, None).await;
    check_prometheus(scrape).await;
}

async fn check_prometheus(response: reqwest::Response) -> Scrape {
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("the text parses")
}

/// One scrape, indexed: `(metric, sorted labels) -> value`, histograms apart.
struct Parsed {
    values: BTreeMap<(String, Vec<(String, String)>), f64>,
    histograms: BTreeMap<(String, String), Vec<(f64, f64)>>,
}

impl Parsed {
    fn new(scrape: &Scrape) -> Parsed {
        let mut values = BTreeMap::new();
        let mut histograms = BTreeMap::new();
        for sample in &scrape.samples {
            let mut labels: Vec<(String, String)> = sample
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            labels.sort();
            let value = match &sample.value {
                PromValue::Counter(v) | PromValue::Gauge(v) | PromValue::Untyped(v) => *v,
                PromValue::Histogram(buckets) => {
                    let company = sample.labels.get("company").unwrap_or_default().to_owned();
                    let points = buckets.iter().map(|b| (b.less_than, b.count)).collect();
                    histograms.insert((sample.metric.clone(), company), points);
                    continue;
                }
                PromValue::Summary(_) => panic!("no summaries are exported"),
            };
            let previous = values.insert((sample.metric.clone(), labels), value);
            assert!(previous.is_none(), "{} appears twice", sample.metric);
        }
        Parsed { values, histograms }
    }

    fn get(&self, metric: &str, labels: &[(&str, &str)]) -> f64 {
        let mut key: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        key.sort();
        *self
            .values
            .get(&(metric.to_owned(), key))
            .unwrap_or_else(|| panic!("{metric} {labels:?} missing"))
    }
}

fn json_u64(value: &Value) -> f64 {
    value.as_u64().expect("a count") as f64
}

/// Goal: `GET /metrics` parses as Prometheus text and carries, for every company, the same
/// counters as its JSON; histograms have buckets, a `+Inf` bucket equal to their count, and a sum
/// whose average is the JSON's; the engine-wide gauges add up the companies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_text_parses_and_matches_the_json() {
    let server = TestServer::start();
    let mut acme_last = String::new();
    for (company, holds) in [("acme", 3), ("beta", 2)] {
        let path = format!("/v1/companies/{company}/holds");
        let mut tokens = Vec::new();
        for slot in 0..holds {
            let hold = server.post(&path, &single("r1", slot * 30), 201).await;
            tokens.push(hold["token"].as_str().unwrap().to_owned());
        }
        server.clock.advance_ms(30_000);
        server
            .post(&format!("{path}/{}/confirm", tokens[0]), "", 200)
            .await;
        let cancel = format!("{path}/{}?reason=customer_hung_up", tokens[1]);
        check(
            server.send(Method::DELETE, &cancel, None, None).await,
            200,
            None,
        )
        .await;
        check(
            server.send(Method::POST, &path, None, Some("{")).await,
            400,
            None,
        )
        .await;
        check(
            server
                .send(Method::POST, &path, None, Some(&single("r1", 0)))
                .await,
            409,
            None,
        )
        .await;
        if company == "acme" {
            acme_last = tokens[2].clone();
        }
    }
    // acme's last hold runs out; a read expires it on the spot (lazy expiry), so the wheel has
    // nothing left to change between the scrape and the JSON read below.
    server.clock.advance_ms(300_000);
    let last = server
        .get(&format!("/v1/companies/acme/holds/{}", acme_last), 200)
        .await;
    assert_eq!(last["status"], "expired");
    let scrape = check_prometheus(server.send(Method::GET, "/metrics", None, None).await).await;
    let parsed = Parsed::new(&scrape);

    let mut live_total = 0.0;
    for company in ["acme", "beta"] {
        let json = company_json(&server, company).await;
        let c = ("company", company);
        let single = parsed.get(
            "holdfast_reservations_created_total",
            &[c, ("kind", "single")],
        );
        let compound = parsed.get(
            "holdfast_reservations_created_total",
            &[c, ("kind", "compound")],
        );
        assert_eq!(single + compound, json_u64(&json["created"]), "{company}");
        for (metric, field) in [
            ("holdfast_reservations_converted_total", "converted"),
            ("holdfast_reservations_expired_total", "expired"),
            ("holdfast_requests_total", "requests"),
            ("holdfast_confirm_attempts_total", "confirm_attempts"),
            ("holdfast_confirm_successes_total", "confirm_successes"),
            ("holdfast_company_active_holds", "active"),
            ("holdfast_company_live_reservations", "live"),
        ] {
            assert_eq!(
                parsed.get(metric, &[c]),
                json_u64(&json[field]),
                "{company} {field}"
            );
        }
        for (kind, count) in json["errors_by_type"].as_object().unwrap() {
            let value = parsed.get("holdfast_errors_total", &[c, ("type", kind)]);
            assert_eq!(value, json_u64(count), "{company} {kind}");
        }
        for (reason, count) in json["cancelled_by_reason"].as_object().unwrap() {
            let value = parsed.get(
                "holdfast_reservations_cancelled_total",
                &[c, ("reason", reason)],
            );
            assert_eq!(value, json_u64(count), "{company} {reason}");
        }
        assert_eq!(
            json["errors_by_type"]["invalid_request"], 1,
            "the edge's refusal"
        );
        let conversions = &parsed.histograms[&(
            "holdfast_time_to_conversion_seconds".to_owned(),
            company.to_owned(),
        )];
        let infinite = conversions.last().unwrap();
        assert!(infinite.0.is_infinite());
        assert_eq!(infinite.1, json_u64(&json["converted"]));
        assert!(conversions
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        let under_30s = conversions
            .iter()
            .find(|(bound, _)| *bound == 30.0)
            .unwrap();
        assert_eq!(under_30s.1, 1.0, "30 s to conversion lands under 30 s");
        let count = parsed.get("holdfast_time_to_conversion_seconds_count", &[c]);
        let sum = parsed.get("holdfast_time_to_conversion_seconds_sum", &[c]);
        assert_eq!(count, json_u64(&json["converted"]));
        let average = json["time_to_conversion_seconds"]["avg"].as_f64().unwrap();
        assert!(
            (sum / count - average).abs() < 1e-9,
            "{sum}/{count} vs {average}"
        );
        let latency = &parsed.histograms[&(
            "holdfast_hold_latency_seconds".to_owned(),
            company.to_owned(),
        )];
        let holds_asked = parsed.get("holdfast_hold_latency_seconds_count", &[c]);
        assert_eq!(latency.last().unwrap().1, holds_asked);
        live_total += json_u64(&json["live"]);
    }
    assert_eq!(parsed.get("holdfast_companies", &[]), 2.0);
    assert_eq!(parsed.get("holdfast_live_reservations", &[]), live_total);
    assert!(parsed.get("holdfast_expiry_wheel_entries", &[]) >= 0.0);
    assert!(
        !parsed
            .values
            .keys()
            .any(|(metric, _)| metric.starts_with("holdfast_snapshot")),
        "a server without a data directory has no snapshot gauges"
    );
}

/// Goal: with a data directory, the scrape carries the durability gauges: the newest snapshot's
/// age and size, and the log's size, which grows with every logged change.
#[test]
fn durability_gauges_follow_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START_MS);
    let path = dir.path().to_path_buf();
    actix_rt::System::new().block_on(async move {
        let config = engine_config(&clock, Settings::default());
        let durable = Server::start(ServerConfig {
            engine: config,
            durability: durability(&path),
            http: HttpOptions::default(),
        })
        .expect("starts");
        let engine = durable.engine().clone();
        let before = Parsed::new(&scrape_of(&durable).await);
        assert!(!before
            .values
            .keys()
            .any(|(m, _)| m == "holdfast_snapshot_age_seconds"));
        let log_before = before.get("holdfast_log_bytes", &[]);
        token(&engine, "acme", single_hold("r1", 0, 300)).await;
        let after_hold = Parsed::new(&scrape_of(&durable).await);
        assert!(after_hold.get("holdfast_log_bytes", &[]) > log_before);
        let info = durable.snapshots().take().await.unwrap();
        let after_snapshot = Parsed::new(&scrape_of(&durable).await);
        assert_eq!(
            after_snapshot.get("holdfast_snapshot_bytes", &[]),
            info.bytes as f64
        );
        assert!(after_snapshot.get("holdfast_snapshot_age_seconds", &[]) >= 0.0);
        assert_eq!(after_snapshot.get("holdfast_active_holds", &[]), 1.0);
        assert_eq!(
            after_snapshot.get("holdfast_expiry_wheel_entries", &[]),
            1.0
        );
        durable.snapshots().shutdown().await.unwrap();
    });
}

async fn scrape_of(server: &Server) -> Scrape {
    let text = holdfast::metrics::render_engine(server.engine(), Some(server.snapshots().dir()))
        .await
        .unwrap();
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("the text parses")
}

// ----- logs (the core's own events are tested in tests/log_events.rs) ----------------------

/// Goal: the real binary with `--log-format json --log-filter info` writes the created event as
/// one JSON line with the company, the token and the masked phone, and never the phone itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_logs_json_with_masked_phones() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--log-filter",
            "info",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_event = |wanted: &dyn Fn(&Value) -> bool| -> Value {
        loop {
            let line = lines_rx
                .recv_timeout(Duration::from_secs(60))
                .expect("the server logs the line in time");
            let event: Value = serde_json::from_str(&line).expect("every log line is JSON");
            if wanted(&event) {
                return event;
            }
        }
    };
    let starting = next_event(&|e| e["fields"]["message"] == "holdfast starting");
    let bind = starting["fields"]["bind"].as_str().unwrap().to_owned();
    let body = r#"{"resource":"r1","start":"2030-01-01T10:00:00Z","end":"2030-01-01T10:30:00Z","customer_phone":"+4915112345678"}"#;
    let response = reqwest::Client::new()
        .post(format!("http://{bind}/v1/companies/acme/holds"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let created: Value = check(response, 201, None).await;
    let event = next_event(&|e| e["fields"]["event"] == "created");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(event["fields"]["company"], "acme");
    assert_eq!(event["fields"]["token"], created["token"]);
    assert_eq!(event["fields"]["phone"], "+49151*****678");
    assert!(!event.to_string().contains("+4915112345678"));
}
