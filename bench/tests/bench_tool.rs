//! `holdfast-bench` against real servers: each scenario runs for a second or two, and the test
//! checks that the double-booking audit passed and that the counts add up: every request got
//! an answer, every hold attempt is a success or a lost race, and the audit reads back exactly
//! the reservations the callers were told they got. Also: the binary prints one JSON object and
//! exits 0, and the audit pages through a list endpoint that answers at most 1,000 at a time and
//! finds a planted double booking; against a server that double-books, the binary prints the
//! overlap and exits 1.

use actix_web::{web, App, HttpResponse, HttpServer};
use clap::Parser;
use holdfast::config::Durability;
use holdfast_bench::audit::{audit, AuditScope};
use holdfast_bench::client::{Connection, Target};
use holdfast_bench::report::BenchReport;
use holdfast_bench::server::LocalServer;
use holdfast_bench::{run, BenchArgs};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;

#[derive(Parser)]
struct Command {
    #[command(flatten)]
    bench: BenchArgs,
}

fn args(list: &[&str]) -> BenchArgs {
    let mut all = vec!["holdfast-bench"];
    all.extend_from_slice(list);
    Command::try_parse_from(all)
        .expect("valid bench flags")
        .bench
}

/// The checks every run must pass, whatever its scenario.
fn check_counts_add_up(report: &BenchReport) {
    assert!(report.audit.passed, "audit: {:?}", report.audit);
    assert!(report.audit.overlaps.is_empty() && report.audit.problems.is_empty());
    assert!(report.requests > 0, "the run sent requests");
    assert_eq!(report.answered, report.requests, "every request answered");
    for (name, operation) in &report.operations {
        let totals = &operation.totals;
        assert_eq!(
            totals.transport_errors, 0,
            "{name}: no request without an answer"
        );
        assert_eq!(
            operation.answered, totals.requests,
            "{name}: every request answered"
        );
        assert_eq!(
            totals.ok + totals.conflicts,
            totals.requests,
            "{name}: successes + conflicts = attempts ({totals:?})"
        );
        assert_eq!(
            totals.latency_micros.count, totals.requests,
            "{name}: one latency per answer"
        );
    }
    assert_eq!(report.criteria.error_rate.value, Some(0.0));
}

fn operation(report: &BenchReport, name: &str) -> holdfast_bench::stats::OperationTotals {
    report
        .operations
        .get(name)
        .unwrap_or_else(|| panic!("the run used {name}: {:?}", report.operations.keys()))
        .totals
}

/// Goal: the voice flow against a real server given by `--url`: every hold is confirmed,
/// cancelled or walked away from as the mix says, and the audit reads back exactly the bookings
/// confirmed and the holds walked away from (the TTL outlives the run), no more, no less.
#[test]
fn voice_against_a_server_by_url() {
    let server = LocalServer::start(Durability::Snapshot, std::time::Duration::from_secs(5))
        .expect("a real server");
    let url = format!("http://{}", server.address);
    let report = run(&args(&[
        "voice",
        "--url",
        &url,
        "--callers",
        "16",
        "--duration",
        "1500ms",
        "--think",
        "20ms",
        "--hold-ttl",
        "60s",
        "--mix",
        "70,15,15",
        "--seed",
        "7",
    ]))
    .expect("the bench runs");
    check_counts_add_up(&report);
    let flows = &report.flows;
    assert!(flows.held > 0, "{flows:?}");
    assert_eq!(
        flows.chose_confirm + flows.chose_cancel + flows.walked_away,
        flows.held,
        "every hold decided"
    );
    assert!(flows.chose_confirm > 0 && flows.chose_cancel > 0 && flows.walked_away > 0);
    let confirms = operation(&report, "confirm");
    let cancels = operation(&report, "cancel");
    let holds = operation(&report, "hold_first_available");
    assert_eq!(holds.ok, flows.held);
    assert_eq!(
        (confirms.requests, confirms.ok),
        (flows.chose_confirm, flows.chose_confirm)
    );
    assert_eq!(
        (cancels.requests, cancels.ok),
        (flows.chose_cancel, flows.chose_cancel)
    );
    assert_eq!(
        report.audit.converted, confirms.ok,
        "every booking read back"
    );
    assert_eq!(
        report.audit.active, flows.walked_away,
        "every live hold read back"
    );
    let criteria = &report.criteria;
    assert_eq!(criteria.booking_success_rate.value, Some(1.0));
    let conversion = criteria.conversion_rate.value.expect("confirms were made");
    assert_eq!(conversion, confirms.ok as f64 / flows.held as f64);
    assert_eq!(criteria.time_to_conversion_seconds_avg.met, Some(true));
    assert!(report.race_window.atomic.is_some() && report.race_window.two_step.is_none());
    assert!(
        report.start_lateness_micros.is_none(),
        "a closed loop is never late"
    );
    server.stop().expect("the server stops cleanly");
}

/// Goal: contention on the in-process server (no `--url`): both flows run, the atomic one never
/// loses an offered slot (it is never offered one), the two-step one loses some of the slots it
/// was offered, and every hold won is read back by the audit.
#[test]
fn contention_in_process_both_flows() {
    let report = run(&args(&[
        "contention",
        "--callers",
        "24",
        "--duration",
        "2s",
        "--resources",
        "2",
        "--slots",
        "3",
        "--seed",
        "11",
    ]))
    .expect("the bench runs");
    check_counts_add_up(&report);
    assert!(report.target.starts_with("in-process"));
    let atomic = operation(&report, "hold_first_available");
    let two_step = operation(&report, "hold");
    let availability = operation(&report, "availability");
    assert!(atomic.ok > 0 && two_step.ok > 0);
    assert!(atomic.conflicts > 0, "full rounds answer no_slot");
    let flows = &report.flows;
    assert_eq!(flows.held, atomic.ok + two_step.ok);
    assert_eq!(flows.offered, two_step.requests, "a hold for every offer");
    assert_eq!(flows.offered_lost, two_step.conflicts);
    assert_eq!(
        availability.requests,
        flows.offered + flows.nothing_free - atomic.conflicts,
        "every availability answer led to a hold or to the next round"
    );
    assert!(
        flows.offered_lost > 0,
        "24 callers on 6 slots: some offers are lost"
    );
    assert_eq!(
        report.audit.active, flows.held,
        "every hold won is live and read back"
    );
    assert_eq!(report.audit.converted, 0);
    assert_eq!(report.audit.companies.len(), 2);
    let window = report
        .race_window
        .two_step
        .as_ref()
        .expect("a two-step window");
    assert_eq!(window.window_micros.count, two_step.requests);
    assert_eq!(
        window.lost_share,
        flows.offered_lost as f64 / flows.offered as f64
    );
    let atomic_window = report
        .race_window
        .atomic
        .as_ref()
        .expect("an atomic window");
    assert_eq!(atomic_window.operation, "hold_first_available");
    assert_eq!(atomic_window.window_micros, atomic.latency_micros);
}

/// Goal: throughput in an open loop at a fixed rate starts (about) rate x duration flows, each
/// a single hold, and the audit reads back exactly the holds that succeeded.
#[test]
fn throughput_open_loop_in_process() {
    let report = run(&args(&[
        "throughput",
        "--callers",
        "8",
        "--duration",
        "1s",
        "--rate",
        "400",
        "--seed",
        "3",
        "--durability",
        "snapshot",
    ]))
    .expect("the bench runs");
    check_counts_add_up(&report);
    let holds = operation(&report, "hold");
    assert_eq!(holds.requests, 400, "one hold per scheduled flow");
    assert_eq!(report.flows.started, 400);
    assert_eq!(report.audit.active, holds.ok);
    assert_eq!(report.load_loop, "open");
    let lateness = report
        .start_lateness_micros
        .expect("an open loop measures its lateness");
    assert_eq!(lateness.count, 400, "one start per scheduled flow");
    assert_eq!(
        report.criteria.conversion_rate.met, None,
        "nothing to convert"
    );
}

/// Goal: the binary's `holdfast-bench ... --json` prints one JSON object with the numbers it
/// promises and exits 0 when the audit passes.
#[test]
fn binary_prints_one_json_object_and_exits_zero() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast-bench"))
        .args([
            "throughput",
            "--callers",
            "4",
            "--duration",
            "1s",
            "--json",
            "--durability",
            "snapshot",
        ])
        .env_remove("HOLDFAST_URL")
        .output()
        .expect("run holdfast-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(report["scenario"], "throughput");
    assert_eq!(report["audit"]["passed"], true);
    let hold = &report["operations"]["hold"];
    for field in ["p50", "p99", "p999", "max"] {
        assert!(
            hold["latency_micros"][field].as_u64().unwrap() > 0,
            "{field}"
        );
    }
    assert!(hold["requests_per_second"].as_f64().unwrap() > 0.0);
    assert_eq!(
        hold["ok"].as_u64().unwrap() + hold["conflicts"].as_u64().unwrap(),
        hold["requests"].as_u64().unwrap()
    );
    assert!(report["race_window"]["definition"].is_string());
    for criterion in [
        "conversion_rate",
        "error_rate",
        "time_to_conversion_seconds_avg",
        "booking_success_rate",
    ] {
        assert!(
            report["criteria"][criterion]["target"].is_string(),
            "{criterion}"
        );
    }
}

/// One reservation of the fake list endpoint: its JSON, and the fields its filters read.
struct Fake {
    json: Value,
    status: String,
    segments: Vec<(String, i64, i64)>,
}

fn fake(json: Value) -> Fake {
    let millis = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
            .unwrap()
            .timestamp_millis()
    };
    let segments = json["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let resource = s["resource"].as_str().unwrap().to_owned();
            (resource, millis(&s["start"]), millis(&s["end"]))
        })
        .collect();
    Fake {
        status: json["status"].as_str().unwrap().to_owned(),
        segments,
        json,
    }
}

/// A fake list endpoint: answers `GET /v1/companies/{c}/holds` from a fixed set of
/// reservations, with the real filters (status, a segment overlapping `from`/`to`, resource)
/// and the real cap of 1,000 per answer.
async fn fake_list(
    query: web::Query<HashMap<String, String>>,
    all: web::Data<Vec<Fake>>,
) -> HttpResponse {
    let millis = |key: &str| {
        chrono::DateTime::parse_from_rfc3339(&query[key])
            .unwrap()
            .timestamp_millis()
    };
    let (from_ms, to_ms) = (millis("from"), millis("to"));
    let limit: usize = query["limit"].parse().unwrap();
    assert_eq!(limit, 1_000, "the audit asks for full pages");
    let resource = query.get("resource");
    let holds: Vec<&Value> = all
        .iter()
        .filter(|r| r.status == query["status"])
        .filter(|r| {
            r.segments.iter().any(|(name, start, end)| {
                resource.is_none_or(|wanted| wanted == name) && *start < to_ms && from_ms < *end
            })
        })
        .take(limit)
        .map(|r| &r.json)
        .collect();
    HttpResponse::Ok().json(json!({ "holds": holds }))
}

/// Goal: the audit reads back all of 2,351 reservations through a list that answers at most
/// 1,000 (splitting windows, then resources, deduplicating), and reports the one planted
/// double booking, with both tokens; the same data without the planted one passes.
#[test]
fn audit_pages_through_the_list_and_finds_a_planted_double_booking() {
    let slot = |resource: usize, index: i64| {
        let start = 1_798_761_600_000 + index * 1_800_000;
        let time = |ms: i64| {
            chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        };
        json!({"resource": format!("r{resource}"), "start": time(start), "end": time(start + 1_800_000)})
    };
    let reservation = |token: String, status: &str, segments: Vec<Value>| {
        json!({"token": token, "status": status, "segments": segments,
               "reserved_at": "2026-11-24T08:00:00Z", "expires_at": "2026-11-24T09:00:00Z"})
    };
    let mut clean = Vec::new();
    // 1,050 bookings at the same instant on 1,050 resources: no window can split them, only
    // resources can.
    for resource in 0..1_050 {
        clean.push(reservation(
            format!("same-{resource}"),
            "converted",
            vec![slot(resource, 0)],
        ));
    }
    // 1,300 holds one after another on one resource, one of them a compound that also takes
    // a slot on another resource.
    for index in 1..=1_300 {
        let mut segments = vec![slot(5_000, index)];
        if index == 700 {
            segments.push(slot(5_001, index));
        }
        clean.push(reservation(format!("row-{index}"), "active", segments));
    }
    let mut planted = clean.clone();
    planted.push(reservation(
        "intruder".into(),
        "converted",
        vec![slot(5_001, 700)],
    ));
    let resources: Vec<String> = (0..1_050)
        .chain([5_000, 5_001])
        .map(|r| format!("r{r}"))
        .collect();
    for (data, expected_overlaps) in [(clean, 0), (planted, 1)] {
        let count = data.len() as u64;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let data = web::Data::new(data.into_iter().map(fake).collect::<Vec<_>>());
        let (stop_sender, stop_receiver) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .route("/v1/companies/{company}/holds", web::get().to(fake_list))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .unwrap()
                .run();
                stop_sender.send(server.handle()).unwrap();
                server.await
            })
        });
        let handle = stop_receiver.recv().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let report = runtime.block_on(async {
            let target = Arc::new(Target::local(address));
            let mut connection = Connection::new(target);
            let scope = AuditScope {
                company: "acme".into(),
                resources: resources.clone(),
            };
            audit(&mut connection, &[scope]).await
        });
        runtime.block_on(handle.stop(true));
        thread.join().unwrap().unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(
            report.active + report.converted,
            count,
            "every reservation read once"
        );
        assert_eq!(report.overlaps.len(), expected_overlaps);
        assert_eq!(report.passed, expected_overlaps == 0);
        if let Some(overlap) = report.overlaps.first() {
            assert_eq!(overlap.resource, "r5001");
            let mut tokens = [overlap.first.token.as_str(), overlap.second.token.as_str()];
            tokens.sort();
            assert_eq!(tokens, ["intruder", "row-700"]);
        }
        assert!(report.list_requests > 3, "the list was paged");
    }
}

/// A server that double-books: every hold succeeds, and the list answers two bookings of one
/// slot. Only the bench's requests are answered; it is not holdfast.
async fn double_booking_server(request: actix_web::HttpRequest) -> HttpResponse {
    let path = request.path();
    if path == "/healthz" {
        return HttpResponse::Ok().json(json!({"status": "ok"}));
    }
    if path.ends_with("/holds") && request.method() == actix_web::http::Method::GET {
        let booking = |token: &str| {
            json!({"token": token, "status": "converted",
                   "segments": [{"resource": "r1", "start": "2027-01-01T10:00:00Z",
                                 "end": "2027-01-01T10:30:00Z"}],
                   "reserved_at": "2026-11-24T08:00:00Z", "expires_at": "2026-11-24T08:05:00Z"})
        };
        let holds = match request.query_string().contains("status=converted") {
            true => vec![booking("first"), booking("second")],
            false => vec![],
        };
        return HttpResponse::Ok().json(json!({ "holds": holds }));
    }
    HttpResponse::Created().json(json!({"token": "t"}))
}

/// Goal: an overlap found by the audit is printed with both tokens and the binary exits 1.
#[test]
fn binary_exits_one_on_a_double_booking() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (handle_sender, handle_receiver) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let server =
                HttpServer::new(|| App::new().default_service(web::to(double_booking_server)))
                    .workers(1)
                    .disable_signals()
                    .listen(listener)
                    .unwrap()
                    .run();
            handle_sender.send(server.handle()).unwrap();
            server.await
        })
    });
    let handle = handle_receiver.recv().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast-bench"))
        .args([
            "throughput",
            "--callers",
            "2",
            "--duration",
            "200ms",
            "--url",
        ])
        .arg(format!("http://{address}"))
        .output()
        .expect("run holdfast-bench");
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(handle.stop(true));
    thread.join().unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAILED"), "{stdout}");
    assert!(
        stdout.contains("OVERLAP") && stdout.contains("first") && stdout.contains("second"),
        "{stdout}"
    );
}
