//! Checks that the HTTP edge's own refusals count once in the company's metrics, that a refusal
//! for a company not started starts no actor and is counted engine-wide instead, that an invalid
//! company id counts nowhere and starts no actor, and that a refused key is not the company's
//! error.

mod http_support;

use holdfast::core::book::Settings;
use holdfast::http::auth::Keys;
use http_support::{check, check_prometheus, company_json, single, TestServer};
use reqwest::Method;
use serde_json::Value;

/// `holdfast_edge_rejected_total` of `error_type` in a scrape of `GET /metrics` with `key`.
async fn edge_rejected(server: &TestServer, key: Option<&str>, error_type: &str) -> f64 {
    let scrape = check_prometheus(server.send(Method::GET, "/metrics", key, None).await).await;
    let sample = scrape
        .samples
        .iter()
        .find(|sample| {
            sample.metric == "holdfast_edge_rejected_total"
                && sample.labels.get("type") == Some(error_type)
        })
        .unwrap_or_else(|| panic!("no holdfast_edge_rejected_total of {error_type}"));
    match sample.value {
        prometheus_parse::Value::Counter(value) => value,
        ref other => panic!("not a counter: {other:?}"),
    }
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
/// count once too (not twice); a refusal for a company not started starts no actor and counts
/// once engine-wide; an invalid company id counts nowhere and starts no actor; 401s are not the
/// company's errors.
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

    // A valid company whose first request is malformed is not started by it: the refusal is
    // counted engine-wide. Once the company runs, its own book counts the next one.
    let fresh = "/v1/companies/fresh/holds";
    assert_eq!(edge_rejected(&server, None, "invalid_request").await, 0.0);
    check(
        server.send(Method::POST, fresh, None, Some("[]")).await,
        400,
        Some("invalid_request"),
    )
    .await;
    assert_eq!(admin_companies(&server).await, ["acme"]);
    assert_eq!(edge_rejected(&server, None, "invalid_request").await, 1.0);
    let fresh_metrics = company_json(&server, "fresh").await;
    assert_eq!(
        (&fresh_metrics["requests"], &fresh_metrics["errors"]),
        (&Value::from(0), &Value::from(0))
    );
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
    assert_eq!(edge_rejected(&server, None, "invalid_request").await, 1.0);

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
    assert_eq!(edge_rejected(&server, None, "invalid_request").await, 1.0);
}

/// Goal: with keys, a refused key is not the company's error (and starts no actor), while a
/// malformed request with the company's own key is: engine-wide while the company is not
/// started (it starts no actor either), in the company's metrics once it is.
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
    assert_eq!(edge_rejected(&server, admin, "invalid_request").await, 1.0);
    let listing = check(
        server
            .send(Method::GET, "/v1/admin/companies", admin, None)
            .await,
        200,
        None,
    )
    .await;
    assert_eq!(listing["companies"], serde_json::json!([]));
    let started = check(
        server
            .send(Method::GET, "/v1/companies/acme/metrics", acme, None)
            .await,
        200,
        None,
    )
    .await;
    assert_eq!(started["requests"], 0);
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

/// Goal: requests for a company never seen that the edge refuses (a malformed body, an unknown
/// field, a token that is not a UUID) start no company: the admin listing stays empty, and each
/// refusal is counted once engine-wide by its type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_refusals_for_a_new_company_start_no_company() {
    let server = TestServer::start();
    let holds = "/v1/companies/never-seen/holds";
    let cases: [(Method, &str, Option<&str>, u16, &str); 3] = [
        (
            Method::POST,
            holds,
            Some("{not json"),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            holds,
            Some(r#"{"resourse":"r1"}"#),
            400,
            "invalid_request",
        ),
        (
            Method::GET,
            "/v1/companies/never-seen/holds/not-a-uuid",
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
    assert!(admin_companies(&server).await.is_empty());
    assert_eq!(edge_rejected(&server, None, "invalid_request").await, 2.0);
    assert_eq!(edge_rejected(&server, None, "not_found").await, 1.0);
    assert_eq!(edge_rejected(&server, None, "conflict").await, 0.0);
}
