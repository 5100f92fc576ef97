//! Webhooks through the real server and a real receiver in the test process: events arrive in
//! `seq` order with Standard Webhooks headers whose signatures an independent HMAC accepts; an
//! endpoint's filter; a receiver that is down, then up, gets everything in order (retries timed
//! by the manual clock); the endpoint's state says what happened; bad endpoints are refused
//! naming the field and change nothing.

mod http_support;
mod webhook_support;

use holdfast::clock::Clock;
use http_support::{check, slot, token_of, TestServer, HOLDS};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use webhook_support::{assert_in_order_from, Receiver};

const WEBHOOKS: &str = "/v1/companies/acme/webhooks";

/// Longest real wait for deliveries a test expects.
const WAIT: Duration = Duration::from_secs(20);

async fn put(server: &TestServer, id: &str, body: Value, status: u16) -> Value {
    let path = format!("{WEBHOOKS}/{id}");
    let response = server
        .send(Method::PUT, &path, None, Some(&body.to_string()))
        .await;
    check(response, status, None).await
}

/// A hold of room-1 at `minutes` past the first slot, for an hour of the manual clock (tests
/// move it to time retries, and no hold may expire meanwhile).
async fn hold(server: &TestServer, minutes: i64) -> String {
    let body = json!({ "resource": "room-1", "start": slot(minutes), "end": slot(minutes + 30),
        "ttl_seconds": 3_600 });
    token_of(&server.post(HOLDS, &body.to_string(), 201).await)
}

/// Goal: every event after the endpoint's creation arrives once, in `seq` order, as the event
/// JSON the events page answers, with `webhook-id` `<company>.<seq>`, the manual clock's
/// `webhook-timestamp` and a `webhook-signature` that an independent HMAC with the secret the
/// `PUT` answered accepts; an endpoint filtering on conversions gets only those; the endpoint
/// reads back `ok`, with its progress and without its secret.
#[tokio::test]
async fn signed_events_arrive_in_order() {
    let server = TestServer::start_with_private_webhooks();
    let receiver = Receiver::start();
    // An event from before the endpoint exists is not delivered to it.
    hold(&server, 0).await;
    let created = put(&server, "app", json!({ "url": receiver.url() }), 201).await;
    let secret = created["secret"]
        .as_str()
        .expect("a drawn secret")
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(created["state"], "ok");
    assert_eq!(created["last_acknowledged_seq"], 1);
    assert_eq!(created["events"].as_array().unwrap().len(), 5);
    let converted_only = json!({ "url": receiver.url(), "events": ["reservation.converted"],
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" });
    put(&server, "conversions", converted_only, 201).await;

    let a = hold(&server, 30).await;
    let b = hold(&server, 60).await;
    server
        .post(
            &format!("{HOLDS}/{a}/confirm"),
            r#"{"appointment_id":"A-1"}"#,
            200,
        )
        .await;
    let cancelled = server
        .send(Method::DELETE, &format!("{HOLDS}/{b}"), None, None)
        .await;
    check(cancelled, 200, None).await;

    // Events 2 to 5 to "app", and the conversion (event 4) to "conversions" too.
    let all = receiver.wait_until(WAIT, || {}, |d| d.len() >= 5).await;
    let app: Vec<_> = all
        .iter()
        .filter(|d| d.signed_with(&secret))
        .cloned()
        .collect();
    assert_in_order_from(&app, 2);
    assert_eq!(app.len(), 4);
    let page = server.get("/v1/companies/acme/events?after=1", 200).await;
    for (delivery, event) in app.iter().zip(page["events"].as_array().unwrap()) {
        assert_eq!(&delivery.json(), event, "the body is the event");
        assert_eq!(delivery.webhook_id, format!("acme.{}", delivery.seq()));
        assert_eq!(
            delivery.timestamp,
            (server.clock.now_ms() / 1_000).to_string()
        );
        assert_eq!(delivery.content_type, "application/json");
    }
    let kinds: Vec<Value> = app.iter().map(|d| d.json()["type"].clone()).collect();
    assert_eq!(
        kinds,
        [
            "reservation.created",
            "reservation.created",
            "reservation.converted",
            "reservation.cancelled"
        ]
    );
    let conversions: Vec<_> = all
        .iter()
        .filter(|d| d.signed_with("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        .collect();
    assert_eq!(conversions.len(), 1);
    assert_eq!(conversions[0].json()["type"], "reservation.converted");
    assert!(
        !conversions[0].signed_with(&secret),
        "each endpoint signs with its own secret"
    );

    // Progress is reported within a moment of the last acknowledgement.
    let app = wait_for_progress(&server, "app", 5).await;
    assert_eq!(app["state"], "ok");
    assert_eq!(app["pending"], 0);
    assert_eq!(app["last_error"], Value::Null);
    assert!(app.get("secret").is_none(), "a GET never shows the secret");
    let list = server.get(WEBHOOKS, 200).await;
    let ids: Vec<&str> = list["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["app", "conversions"]);
}

/// Reads endpoint `id` until it reports every event up to `seq` acknowledged.
async fn wait_for_progress(server: &TestServer, id: &str, seq: u64) -> Value {
    let started = std::time::Instant::now();
    loop {
        let endpoint = server.get(&format!("{WEBHOOKS}/{id}"), 200).await;
        if endpoint["last_acknowledged_seq"] == seq {
            return endpoint;
        }
        assert!(started.elapsed() < WAIT, "no progress to {seq}: {endpoint}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Goal: while the receiver is down (connections refused) and then failing (503), the endpoint
/// is `retrying` with the reason, nothing is skipped, and once the receiver is up again every
/// event arrives, in order. Retries are due by the manual clock, which the test moves.
#[tokio::test]
async fn a_receiver_down_then_up_gets_everything_in_order() {
    let server = TestServer::start_with_private_webhooks();
    let mut receiver = Receiver::start();
    put(&server, "app", json!({ "url": receiver.url() }), 201).await;
    receiver.stop();
    for minutes in [0, 30, 60] {
        hold(&server, minutes).await;
    }
    let endpoint = wait_for_state(&server, "retrying").await;
    let error = endpoint["last_error"].as_str().unwrap().to_owned();
    assert_eq!(endpoint["last_acknowledged_seq"], 0);
    assert_eq!(endpoint["pending"], 3);

    receiver.restart();
    receiver.answer(503);
    let clock = server.clock.clone();
    receiver
        .wait_until(
            WAIT,
            || clock.advance_ms(1_000),
            |_| false_until_some(&receiver),
        )
        .await;
    let endpoint = wait_for_state(&server, "retrying").await;
    assert!(
        endpoint["last_error"].as_str().unwrap().contains("503"),
        "{endpoint} (before: {error})"
    );
    hold(&server, 90).await;

    receiver.answer(200);
    let acknowledged = receiver
        .wait_until(WAIT, || clock.advance_ms(2_000), |d| d.len() >= 4)
        .await;
    assert_in_order_from(&acknowledged, 1);
    assert_eq!(acknowledged.len(), 4);
    let refused: Vec<u64> = receiver
        .deliveries()
        .iter()
        .filter(|d| d.answered == 503)
        .map(|d| d.seq())
        .collect();
    assert!(
        refused.iter().all(|seq| *seq == 1),
        "only the first event waits: {refused:?}"
    );
    let endpoint = wait_for_progress(&server, "app", 4).await;
    assert_eq!(endpoint["state"], "ok");
    assert_eq!(endpoint["pending"], 0);

    // `GET /metrics` counted every attempt by its outcome, and the lag of each acknowledged one.
    let scrape =
        http_support::check_prometheus(server.send(Method::GET, "/metrics", None, None).await)
            .await;
    let value = |name: &str, outcome: Option<&str>| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| outcome.is_none_or(|o| s.labels.get("outcome") == Some(o)))
            .map(|s| match &s.value {
                prometheus_parse::Value::Counter(v) => *v,
                prometheus_parse::Value::Histogram(buckets) => {
                    buckets.iter().map(|b| b.count).fold(0.0, f64::max)
                }
                _ => 0.0,
            })
            .sum()
    };
    let attempts = "holdfast_webhook_deliveries_total";
    assert_eq!(value(attempts, Some("acknowledged")), 4.0);
    assert!(
        value(attempts, Some("unreachable")) >= 1.0,
        "refused connections"
    );
    assert_eq!(
        value(attempts, Some("rejected")),
        refused.len() as f64,
        "the 503s"
    );
    assert_eq!(value("holdfast_webhook_delivery_lag_seconds", None), 4.0);
}

/// Some delivery reached the (503-answering) receiver: the endpoint retried.
fn false_until_some(receiver: &Receiver) -> bool {
    !receiver.deliveries().is_empty()
}

async fn wait_for_state(server: &TestServer, state: &str) -> Value {
    let started = std::time::Instant::now();
    loop {
        let endpoint = server.get(&format!("{WEBHOOKS}/app"), 200).await;
        if endpoint["state"] == state {
            return endpoint;
        }
        assert!(started.elapsed() < WAIT, "never {state}: {endpoint}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Goal: a URL that is not http(s), a loopback or private destination (the server runs
/// without `--webhook-allow-private`), a bad secret, an unknown event type, an unknown field and
/// a bad id are each 400 naming the field, and none leaves an endpoint; a re-`PUT` without a
/// secret keeps the endpoint's and does not answer it; `DELETE` removes it (then 404).
#[tokio::test]
async fn bad_endpoints_are_refused_naming_the_field() {
    let server = TestServer::start();
    let refusals = [
        (json!({ "url": "ftp://app.example/hooks" }), "url"),
        (json!({ "url": "http://127.0.0.1:9/hooks" }), "url"),
        (json!({ "url": "http://localhost:9/hooks" }), "url"),
        (json!({ "url": "http://10.1.2.3/hooks" }), "url"),
        (json!({ "url": "http://[::1]/hooks" }), "url"),
        (
            json!({ "url": "https://93.184.216.34/h", "secret": "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }),
            "secret",
        ),
        (
            json!({ "url": "https://93.184.216.34/h", "secret": "whsec_c2hvcnQ=" }),
            "secret",
        ),
        (
            json!({ "url": "https://93.184.216.34/h", "events": ["reservation.moved"] }),
            "events",
        ),
        (
            json!({ "url": "https://93.184.216.34/h", "events": [] }),
            "events",
        ),
        (
            json!({ "url": "https://93.184.216.34/h", "retries": 3 }),
            "retries",
        ),
    ];
    for (body, field) in refusals {
        let response = server
            .send(
                Method::PUT,
                &format!("{WEBHOOKS}/app"),
                None,
                Some(&body.to_string()),
            )
            .await;
        let problem = check(response, 400, Some("invalid_request")).await;
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }
    let bad_id = server
        .send(
            Method::PUT,
            &format!("{WEBHOOKS}/a.b"),
            None,
            Some(r#"{"url":"https://93.184.216.34/"}"#),
        )
        .await;
    assert_eq!(check(bad_id, 400, None).await["field"], "id");
    assert_eq!(server.get(WEBHOOKS, 200).await, json!({ "webhooks": [] }));
    server.get(&format!("{WEBHOOKS}/app"), 404).await;

    // A public literal address needs no resolver: accepted.
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let body = json!({ "url": "https://93.184.216.34/h", "secret": secret });
    let created = put(&server, "app", body, 201).await;
    assert_eq!(created["secret"], secret, "the PUT that set it answers it");
    let again = json!({ "url": "https://93.184.216.34/other", "events": ["reservation.expired"] });
    let replaced = put(&server, "app", again, 200).await;
    assert!(
        replaced.get("secret").is_none(),
        "kept, so not answered: {replaced}"
    );
    assert_eq!(replaced["url"], "https://93.184.216.34/other");
    assert_eq!(replaced["events"], json!(["reservation.expired"]));
    let deleted = server
        .send(Method::DELETE, &format!("{WEBHOOKS}/app"), None, None)
        .await;
    check(deleted, 204, None).await;
    let again = server
        .send(Method::DELETE, &format!("{WEBHOOKS}/app"), None, None)
        .await;
    check(again, 404, None).await;
}
