//! Checks the Prometheus text of `GET /metrics`, read with a Prometheus parser: it carries, for
//! every company, the same numbers as the company's JSON, histograms whose `+Inf` bucket is
//! their count, engine-wide gauges that add up the companies, and, with a data directory, the
//! durability gauges.

mod http_support;
mod metrics_support;

use holdfast::clock::ManualClock;
use holdfast::core::book::Settings;
use holdfast::http::HttpOptions;
use holdfast::server::{Server, ServerConfig};
use http_support::{check, check_prometheus, company_json, single, TestServer};
use metrics_support::{durability, engine_config, single_hold, token, START_MS};
use prometheus_parse::{Scrape, Value as PromValue};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;

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
        // One event per change, every one still kept here.
        let events = server
            .get(&format!("/v1/companies/{company}/events?limit=1000"), 200)
            .await;
        let emitted = events["events"].as_array().unwrap().len() as f64;
        assert!(emitted > 0.0, "{company} changed something");
        assert_eq!(
            parsed.get("holdfast_events_total", &[c]),
            emitted,
            "{company}"
        );
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
    let limit = holdfast::actors::budget::total_live_limit_default() as f64;
    assert_eq!(parsed.get("holdfast_live_reservations_limit", &[]), limit);
    for error_type in holdfast::core::error::ErrorType::ALL {
        let labels = [("type", error_type.as_str())];
        let value = parsed.get("holdfast_edge_rejected_total", &labels);
        assert_eq!(value, 0.0, "every refusal was of a started company");
    }
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
