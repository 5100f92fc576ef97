//! `holdfast-bench` against real servers: each scenario runs for a second or two, and the test
//! checks that the double-booking audit passed and that the counts add up: every request got
//! an answer, every hold attempt is a success or a lost race, and the audit reads back exactly
//! the reservations the callers were told they got. Also: the binary prints one JSON object and
//! exits 0, and the audit pages by cursor through a list endpoint that answers at most 1,000 at
//! a time and finds a planted double booking; against a server that double-books, the binary prints the
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

/// Goal: with `--webhook` every event of the run reaches the tool's receiver (one per hold made:
/// throughput only creates) and its lag is measured; `--subscribers` streams are handed every
/// event and `--stalled-subscribers` streams change nothing the callers see.
#[test]
fn webhook_and_streams_beside_the_load() {
    let report = run(&args(&[
        "throughput",
        "--callers",
        "8",
        "--duration",
        "1s",
        "--rate",
        "300",
        "--seed",
        "5",
        "--webhook",
        "--subscribers",
        "2",
        "--stalled-subscribers",
        "2",
    ]))
    .expect("the bench runs");
    check_counts_add_up(&report);
    let holds = operation(&report, "hold");
    let webhook = report.webhook.as_ref().expect("a webhook report");
    assert_eq!(webhook.deliveries, holds.ok, "one delivery per event");
    assert_eq!(webhook.lag_micros.count, holds.ok, "one lag per delivery");
    assert!(webhook.lag_micros.p50 > 0);
    assert_eq!(
        report.events_received,
        2 * holds.ok,
        "each stream got every event"
    );
    assert_eq!(report.stalled_subscribers, 2);
}

/// Goal: `voice --via retell` plays each call through Retell's route (check, then book, cancel
/// or walk away) with a padded call object; the audit reads back exactly the bookings made, and
/// each check is one first-available hold.
#[test]
fn voice_via_retell_in_process() {
    let report = run(&args(&[
        "voice",
        "--via",
        "retell",
        "--call-bytes",
        "20000",
        "--callers",
        "8",
        "--duration",
        "1s",
        "--rate",
        "100",
        "--think",
        "10ms",
        "--seed",
        "9",
    ]))
    .expect("the bench runs");
    check_counts_add_up(&report);
    let checks = operation(&report, "hold_first_available");
    assert_eq!(report.flows.started, 100);
    assert_eq!(checks.ok, 100, "every call held a time: {checks:?}");
    let confirms = operation(&report, "confirm");
    assert_eq!(confirms.ok, report.flows.chose_confirm);
    assert_eq!(
        report.audit.converted, confirms.ok,
        "the bookings read back"
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

/// One reservation of the fake list endpoint: its JSON, and its status (which the endpoint may
/// change while the audit reads).
struct Fake {
    json: Value,
    status: String,
}

fn fake(json: Value) -> Fake {
    Fake {
        status: json["status"].as_str().unwrap().to_owned(),
        json,
    }
}

/// The fake list endpoint's data: reservations newest first, and the token of one active hold
/// that is confirmed as soon as the first page of active holds has been answered.
struct FakeList {
    reservations: std::sync::Mutex<Vec<Fake>>,
    confirmed_after_first_active_page: Option<String>,
}

/// A fake list endpoint: answers `GET /v1/companies/{c}/holds?status=&limit=&cursor=` from a
/// set of reservations, with the real status filter, the real cap of 1,000 a page and a cursor
/// that, like the real one, is a position in the creation order (here an index into the data,
/// newest first), so the pages stay put when a status changes. Refuses any other filter: the
/// audit reads whole companies.
async fn fake_list(
    query: web::Query<HashMap<String, String>>,
    data: web::Data<FakeList>,
) -> HttpResponse {
    let mut names: Vec<&str> = query.keys().map(String::as_str).collect();
    names.sort();
    assert!(
        names == ["limit", "status"] || names == ["cursor", "limit", "status"],
        "{names:?}"
    );
    let limit: usize = query["limit"].parse().unwrap();
    assert_eq!(limit, 1_000, "the audit asks for full pages");
    let start: usize = query.get("cursor").map_or(0, |c| c.parse().unwrap());
    let mut reservations = data.reservations.lock().unwrap();
    let mut holds = Vec::new();
    let mut next_cursor = None;
    for (index, reservation) in reservations.iter().enumerate().skip(start) {
        if reservation.status != query["status"] {
            continue;
        }
        if holds.len() == limit {
            next_cursor = Some(index.to_string());
            break;
        }
        holds.push(reservation.json.clone());
    }
    let answer = json!({ "holds": holds, "next_cursor": next_cursor });
    if query["status"] == "active" && start == 0 {
        if let Some(token) = &data.confirmed_after_first_active_page {
            let hold = reservations
                .iter_mut()
                .find(|r| r.json["token"] == *token)
                .unwrap();
            hold.status = "converted".into();
            hold.json["status"] = "converted".into();
        }
    }
    HttpResponse::Ok().json(answer)
}

/// Goal: the audit reads back all of 2,351 reservations through a list that answers at most
/// 1,000 a page, by cursor (deduplicating a reservation read by both walks), also one whose
/// hold is confirmed while the audit reads; and reports the one planted double booking, with
/// both tokens; the same data without the planted one passes.
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
    // 1,300 holds one after another on one resource, one of them a compound that also takes
    // a slot on another resource.
    for index in (1..=1_300).rev() {
        let mut segments = vec![slot(5_000, index)];
        if index == 700 {
            segments.push(slot(5_001, index));
        }
        clean.push(reservation(format!("row-{index}"), "active", segments));
    }
    // 1,050 bookings at the same instant on 1,050 resources, older than every hold above.
    for resource in 0..1_050 {
        clean.push(reservation(
            format!("same-{resource}"),
            "converted",
            vec![slot(resource, 0)],
        ));
    }
    let mut planted = clean.clone();
    planted.insert(
        0,
        reservation("intruder".into(), "converted", vec![slot(5_001, 700)]),
    );
    for (data, expected_overlaps) in [(clean, 0), (planted, 1)] {
        let count = data.len() as u64;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let data = web::Data::new(FakeList {
            reservations: std::sync::Mutex::new(data.into_iter().map(fake).collect()),
            // The oldest hold, on the second page of active holds: read only by the walk of
            // the bookings, which comes second.
            confirmed_after_first_active_page: Some("row-1".into()),
        });
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
        assert_eq!(report.converted, count - 1_299, "row-1 read as a booking");
        assert_eq!(report.overlaps.len(), expected_overlaps);
        assert_eq!(report.passed, expected_overlaps == 0);
        if let Some(overlap) = report.overlaps.first() {
            assert_eq!(overlap.resource, "r5001");
            let mut tokens = [overlap.first.token.as_str(), overlap.second.token.as_str()];
            tokens.sort();
            assert_eq!(tokens, ["intruder", "row-700"]);
        }
        assert_eq!(report.list_requests, 4, "two pages of each status");
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
        return HttpResponse::Ok().json(json!({ "holds": holds, "next_cursor": null }));
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
