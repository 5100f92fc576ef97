//! Checks what becomes of a hold after it is made, over HTTP against a real server: extend moves
//! its expiry within the cap, a lapsed hold is expired at once and refuses confirm and extend,
//! cancel frees its slot, and a company at its live limit is refused until a reservation frees
//! up. Time moves by the manual clock, never by sleeping.

mod http_support;

use holdfast::core::book::Settings;
use holdfast::http::auth::Keys;
use http_support::{check, single, slot, token_of, TestServer, HOLDS};
use reqwest::Method;
use serde_json::json;

/// Goal: extend moves the expiry within the cap (and keeps the old expiry beyond it); a lapsed
/// hold reads as expired at once and refuses confirm and extend with 410.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extend_and_expiry() {
    let server = TestServer::start();
    let body = json!({"resource": "r1", "start": slot(0), "end": slot(30), "ttl_seconds": 60});
    let token = token_of(&server.post(HOLDS, &body.to_string(), 201).await);
    let extend = format!("{HOLDS}/{token}/extend");
    let extended = server.post(&extend, r#"{"ttl_seconds":300}"#, 200).await;
    assert_eq!(extended["expires_at"], "2026-11-30T09:05:00Z");

    server.clock.advance_ms(4 * 60_000);
    let beyond = check(
        server
            .send(Method::POST, &extend, None, Some(r#"{"ttl_seconds":3600}"#))
            .await,
        409,
        Some("invalid_state"),
    )
    .await;
    assert_eq!(beyond["current_status"], "active");
    let kept = server.get(&format!("{HOLDS}/{token}"), 200).await;
    assert_eq!(
        kept["expires_at"], "2026-11-30T09:05:00Z",
        "a refused extension changes nothing"
    );
    assert_eq!(kept["time_remaining_seconds"], 60);
    let defaulted = server.post(&extend, "", 200).await;
    assert_eq!(
        defaulted["expires_at"], "2026-11-30T09:09:00Z",
        "no body: the default ttl"
    );

    server.clock.advance_ms(5 * 60_000);
    let lapsed = server.get(&format!("{HOLDS}/{token}"), 200).await;
    assert_eq!(lapsed["status"], "expired");
    assert_eq!(lapsed["expired_at"], "2026-11-30T09:09:00Z");
    assert_eq!(lapsed["time_remaining_seconds"], 0);
    for path in [format!("{HOLDS}/{token}/confirm"), extend.clone()] {
        check(
            server.send(Method::POST, &path, None, None).await,
            410,
            Some("expired"),
        )
        .await;
    }
    let cancel = check(
        server
            .send(Method::DELETE, &format!("{HOLDS}/{token}"), None, None)
            .await,
        409,
        Some("invalid_state"),
    )
    .await;
    assert_eq!(cancel["current_status"], "expired");
    server.post(HOLDS, &single("r1", 0), 201).await;
}

/// Goal: cancel frees the slot, repeats answer the same object, a cancelled hold cannot be
/// confirmed, and the reasons are counted in the metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_frees_the_slot() {
    let server = TestServer::start();
    let token = token_of(&server.post(HOLDS, &single("r1", 0), 201).await);
    let path = format!("{HOLDS}/{token}?reason=customer_hung_up");
    let cancelled = check(
        server.send(Method::DELETE, &path, None, None).await,
        200,
        None,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancel_reason"], "customer_hung_up");
    assert_eq!(cancelled["cancelled_at"], "2026-11-30T09:00:00Z");
    let again = check(
        server.send(Method::DELETE, &path, None, None).await,
        200,
        None,
    )
    .await;
    assert_eq!(again, cancelled);
    let confirm = check(
        server
            .send(
                Method::POST,
                &format!("{HOLDS}/{token}/confirm"),
                None,
                None,
            )
            .await,
        409,
        Some("invalid_state"),
    )
    .await;
    assert_eq!(confirm["current_status"], "cancelled");

    let booked = token_of(&server.post(HOLDS, &single("r1", 0), 201).await);
    server
        .post(&format!("{HOLDS}/{booked}/confirm"), "{}", 200)
        .await;
    let freed = check(
        server
            .send(Method::DELETE, &format!("{HOLDS}/{booked}"), None, None)
            .await,
        200,
        None,
    )
    .await;
    assert_eq!(freed["cancel_reason"], "unspecified");
    server.post(HOLDS, &single("r1", 0), 201).await;

    let metrics = server.get("/v1/companies/acme/metrics", 200).await;
    assert_eq!(
        metrics["cancelled_by_reason"],
        json!({"customer_hung_up": 1, "unspecified": 1})
    );
    assert_eq!(metrics["cancelled"], 2);
    assert_eq!(metrics["created"], 3);
}

/// Goal: a company at its live limit answers 429 until a reservation frees up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_limit_answers_429() {
    let settings = Settings {
        live_reservations_max: 2,
        ..Settings::default()
    };
    let server = TestServer::start_with(settings, Keys::open());
    let first = token_of(&server.post(HOLDS, &single("r1", 0), 201).await);
    server.post(HOLDS, &single("r1", 60), 201).await;
    check(
        server
            .send(Method::POST, HOLDS, None, Some(&single("r1", 120)))
            .await,
        429,
        Some("limit_reached"),
    )
    .await;
    check(
        server
            .send(Method::DELETE, &format!("{HOLDS}/{first}"), None, None)
            .await,
        200,
        None,
    )
    .await;
    server.post(HOLDS, &single("r1", 120), 201).await;
}
