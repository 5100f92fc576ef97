//! Checks the server's own endpoints and life over HTTP, against a real server: health, the
//! OpenAPI document, problem+json for unknown paths and methods, snapshots on demand, the
//! company metrics in JSON, and a stop that drains and then accepts nothing more.

mod http_support;

use http_support::{check, single, token_of, TestServer, HOLDS};
use reqwest::Method;
use serde_json::json;

/// Goal: the service endpoints answer, unknown paths and methods are problem+json, and a
/// snapshot asked for is written into the server's data directory and described. (The Prometheus
/// `/metrics` endpoint is tested with the metrics work.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_endpoints() {
    let server = TestServer::start();
    assert_eq!(server.get("/healthz", 200).await, json!({"status": "ok"}));
    let openapi = server.get("/openapi.json", 200).await;
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3."));
    assert!(openapi["paths"]["/v1/companies/{company}/holds"]["post"].is_object());
    for path in ["/nothing", "/v1/metrics", "/v1/companies/acme/holds/"] {
        check(
            server.send(Method::GET, path, None, None).await,
            404,
            Some("not_found"),
        )
        .await;
    }
    server.post(HOLDS, &single("snapshot-r", 0), 201).await;
    let snapshot = check(
        server
            .send(Method::POST, "/v1/admin/snapshot", None, None)
            .await,
        200,
        None,
    )
    .await;
    assert_eq!(snapshot["reservations"], 1, "{snapshot}");
    assert_eq!(snapshot["companies"], 1, "{snapshot}");
    let file = snapshot["file"].as_str().expect("the file's path");
    assert!(std::path::Path::new(file).is_file(), "{snapshot}");
    check(
        server.send(Method::PUT, HOLDS, None, Some("{}")).await,
        405,
        Some("method_not_allowed"),
    )
    .await;
    check(
        server.send(Method::POST, "/healthz", None, None).await,
        405,
        Some("method_not_allowed"),
    )
    .await;
    server.post(HOLDS, &single("r1", 0), 201).await;
    let companies = server.get("/v1/admin/companies", 200).await;
    assert_eq!(companies["companies"][0]["company"], "acme");
}

/// Goal: the company metrics name every field of the API, with consistent values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn company_metrics_name_every_field() {
    let server = TestServer::start();
    let token = token_of(&server.post(HOLDS, &single("r1", 0), 201).await);
    server.clock.advance_ms(30_000);
    server
        .post(&format!("{HOLDS}/{token}/confirm"), "", 200)
        .await;
    server.post(HOLDS, &single("r1", 60), 201).await;
    check(
        server
            .send(Method::POST, HOLDS, None, Some(&single("r1", 0)))
            .await,
        409,
        Some("conflict"),
    )
    .await;
    let metrics = server.get("/v1/companies/acme/metrics", 200).await;
    for field in [
        "created",
        "converted",
        "expired",
        "cancelled",
        "errors",
        "active",
        "conversion_rate",
        "completion_rate",
        "active_rate",
        "error_rate",
        "booking_success_rate",
        "time_to_conversion_seconds",
        "expired_lifetime_seconds",
        "cancelled_by_reason",
        "errors_by_type",
        "hold_latency_micros",
        "criteria",
    ] {
        assert!(
            metrics.get(field).is_some(),
            "metrics lack {field}: {metrics}"
        );
    }
    assert_eq!(metrics["created"], 2);
    assert_eq!(metrics["converted"], 1);
    assert_eq!(metrics["active"], 1);
    assert_eq!(metrics["conversion_rate"], 0.5);
    assert_eq!(metrics["active_rate"], 0.5);
    assert_eq!(metrics["booking_success_rate"], 1.0);
    assert_eq!(metrics["errors_by_type"]["conflict"], 1);
    let seconds = metrics["time_to_conversion_seconds"]["avg"]
        .as_f64()
        .unwrap();
    assert!((29.0..=31.0).contains(&seconds), "{seconds}");
    for quantile in ["p50", "p99", "p999"] {
        assert!(metrics["hold_latency_micros"][quantile].is_u64());
    }
    let criteria = metrics["criteria"].as_array().unwrap();
    assert_eq!(criteria.len(), 4);
    assert!(criteria
        .iter()
        .all(|c| c["met"].is_boolean() && c["value"].is_number()));
}

/// Goal: stopping the server returns `Ok` from `run` after the drain, and it accepts no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_drains_and_returns_ok() {
    let mut server = TestServer::start();
    server.post(HOLDS, &single("r1", 0), 201).await;
    let address = server.address;
    let stopped = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(stopped.is_ok(), "{stopped:?}");
    assert!(
        std::net::TcpStream::connect(address).is_err(),
        "still accepting after stop"
    );
}
