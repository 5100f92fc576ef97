//! The HTTP API end to end: a real server on an ephemeral loopback port, a real HTTP client.
//! Every endpoint, every error type the API names, keys, the voice-agent flow, and 200 callers
//! racing for one slot. Time moves by the manual clock, never by sleeping.

mod http_support;

use holdfast::core::book::Settings;
use holdfast::http::auth::Keys;
use http_support::{check, single, slot, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;

const HOLDS: &str = "/v1/companies/acme/holds";

fn token_of(hold: &Value) -> String {
    hold["token"].as_str().expect("a token").to_owned()
}

/// Goal: the voice agent's flow works end to end: it asks what is free, holds one slot for the
/// call, and confirms it into a booking; the slot then shows as taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_agent_flow_availability_hold_confirm() {
    let server = TestServer::start();
    let availability = format!(
        "/v1/companies/acme/availability?resource=staff-7&resource=staff-8&from={}&to={}&duration_seconds=1800",
        slot(0),
        slot(120)
    );
    let free = server.get(&availability, 200).await;
    assert_eq!(free["resources"][0]["resource"], "staff-7");
    assert_eq!(
        free["resources"][0]["slots"],
        json!([slot(0), slot(30), slot(60), slot(90)])
    );
    assert_eq!(free["resources"][1]["resource"], "staff-8");

    let body = json!({"resource": "staff-7", "start": slot(0), "end": slot(30),
        "call_id": "call_abc", "customer_phone": "+4915112345678", "service_id": "svc-1"});
    let response = server
        .send(Method::POST, HOLDS, None, Some(&body.to_string()))
        .await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let hold = check(response, 201, None).await;
    let token = token_of(&hold);
    assert_eq!(location, format!("{HOLDS}/{token}"));
    assert_eq!(hold["status"], "active");
    assert_eq!(hold["company"], "acme");
    assert_eq!(hold["compound"], false);
    assert_eq!(
        hold["segments"],
        json!([{"resource": "staff-7", "start": slot(0), "end": slot(30)}])
    );
    assert_eq!(hold["reserved_at"], "2026-11-30T09:00:00Z");
    assert_eq!(hold["expires_at"], "2026-11-30T09:05:00Z");
    assert_eq!(hold["time_remaining_seconds"], 300);
    assert_eq!(hold["call_id"], "call_abc");
    assert_eq!(hold["customer_phone"], "+4915112345678");
    assert_eq!(hold["appointment_id"], Value::Null);

    let taken = server.get(&availability, 200).await;
    assert_eq!(
        taken["resources"][0]["slots"],
        json!([slot(30), slot(60), slot(90)])
    );
    let own = server
        .get(&format!("{availability}&call_id=call_abc"), 200)
        .await;
    assert_eq!(
        own["resources"][0]["slots"][0],
        slot(0),
        "a call is not blocked by itself"
    );

    server.clock.advance_ms(42_000);
    let confirm = format!("{HOLDS}/{token}/confirm");
    let booked = server
        .post(&confirm, r#"{"appointment_id":"A-17"}"#, 200)
        .await;
    assert_eq!(booked["status"], "converted");
    assert_eq!(booked["appointment_id"], "A-17");
    assert_eq!(booked["converted_at"], "2026-11-30T09:00:42Z");
    assert_eq!(booked["time_remaining_seconds"], 0);
    assert_eq!(
        server
            .post(&confirm, r#"{"appointment_id":"A-17"}"#, 200)
            .await,
        booked
    );
    let other = check(
        server
            .send(
                Method::POST,
                &confirm,
                None,
                Some(r#"{"appointment_id":"A-18"}"#),
            )
            .await,
        409,
        Some("invalid_state"),
    )
    .await;
    assert_eq!(other["current_status"], "converted");
    assert_eq!(server.get(&format!("{HOLDS}/{token}"), 200).await, booked);

    server.clock.advance_ms(3_600_000);
    let later = server.get(&availability, 200).await;
    assert_eq!(
        later["resources"][0]["slots"],
        json!([slot(30), slot(60), slot(90)]),
        "a booking keeps its slot"
    );
}

/// Goal: a compound hold is all or nothing, and first-available takes the earliest step, the
/// listed order breaking ties, or answers `no_slot`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compound_and_first_available_holds() {
    let server = TestServer::start();
    let compound = json!({"segments": [
        {"resource": "chair-1", "start": slot(0), "end": slot(30)},
        {"resource": "staff-1", "start": slot(30), "end": slot(60)}]});
    let hold = server.post(HOLDS, &compound.to_string(), 201).await;
    assert_eq!(hold["compound"], true);
    assert_eq!(hold["segments"].as_array().unwrap().len(), 2);

    let half_free = json!({"segments": [
        {"resource": "chair-2", "start": slot(0), "end": slot(30)},
        {"resource": "staff-1", "start": slot(45), "end": slot(75)}]});
    let refused = check(
        server
            .send(Method::POST, HOLDS, None, Some(&half_free.to_string()))
            .await,
        409,
        Some("conflict"),
    )
    .await;
    assert_eq!(
        refused["conflicts"],
        json!([{"resource": "staff-1", "start": slot(30), "end": slot(60), "kind": "hold"}])
    );
    let chair_2 = server.get(&format!("{HOLDS}?resource=chair-2"), 200).await;
    assert_eq!(
        chair_2["holds"],
        json!([]),
        "nothing of a refused compound hold is kept"
    );

    server.post(HOLDS, &single("a", 0), 201).await;
    let find = |earliest: i64| {
        json!({"find": {"resources": ["a", "b"], "earliest": slot(earliest), "latest": slot(120),
            "duration_seconds": 1800, "step_seconds": 900}})
        .to_string()
    };
    let first = server.post(HOLDS, &find(0), 201).await;
    assert_eq!(
        first["segments"][0],
        json!({"resource": "b", "start": slot(0), "end": slot(30)})
    );
    let second = server.post(HOLDS, &find(0), 201).await;
    assert_eq!(
        second["segments"][0],
        json!({"resource": "a", "start": slot(30), "end": slot(60)})
    );

    let narrow = json!({"find": {"resources": ["a"], "earliest": slot(0), "latest": slot(45),
        "duration_seconds": 1800}});
    check(
        server
            .send(Method::POST, HOLDS, None, Some(&narrow.to_string()))
            .await,
        409,
        Some("no_slot"),
    )
    .await;
}

/// Goal: list filters combine with AND, newest first, within `limit`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_combine() {
    let server = TestServer::start();
    let mut tokens = Vec::new();
    for (index, (resource, call)) in [("r1", "c1"), ("r2", "c1"), ("r1", "c2")]
        .iter()
        .enumerate()
    {
        let body = json!({"resource": resource, "start": slot(60 * index as i64),
            "end": slot(60 * index as i64 + 30), "call_id": call});
        tokens.push(token_of(&server.post(HOLDS, &body.to_string(), 201).await));
        server.clock.advance_ms(1);
    }
    server
        .post(&format!("{HOLDS}/{}/confirm", tokens[0]), "", 200)
        .await;
    let listed = |query: &str| {
        let path = format!("{HOLDS}?{query}");
        let server = &server;
        async move {
            server.get(&path, 200).await["holds"]
                .as_array()
                .unwrap()
                .iter()
                .map(token_of)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed("").await,
        vec![tokens[2].clone(), tokens[1].clone(), tokens[0].clone()]
    );
    assert_eq!(
        listed("call_id=c1").await,
        vec![tokens[1].clone(), tokens[0].clone()]
    );
    assert_eq!(listed("status=converted").await, vec![tokens[0].clone()]);
    assert_eq!(
        listed("status=active&resource=r1").await,
        vec![tokens[2].clone()]
    );
    let window = format!("from={}&to={}", slot(50), slot(100));
    assert_eq!(listed(&window).await, vec![tokens[1].clone()]);
    assert_eq!(listed("limit=1").await, vec![tokens[2].clone()]);
    assert_eq!(
        listed("call_id=c1&resource=r1").await,
        vec![tokens[0].clone()]
    );
}

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

/// Goal: a retried create with the same `Idempotency-Key` answers the first hold (201, marked
/// as a replay); the same key with another body is `idempotency_mismatch`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_replays() {
    let server = TestServer::start();
    let send = |key: &str, body: String| {
        server
            .client
            .post(server.url(HOLDS))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body)
            .send()
    };
    let first = send("retry-1", single("r1", 0)).await.unwrap();
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = check(first, 201, None).await;
    let replay = send("retry-1", single("r1", 0)).await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replay = check(replay, 201, None).await;
    assert_eq!(replay["token"], first["token"]);
    check(
        send("retry-1", single("r1", 60)).await.unwrap(),
        409,
        Some("idempotency_mismatch"),
    )
    .await;
    let long = "k".repeat(129);
    let refused = check(
        send(&long, single("r1", 60)).await.unwrap(),
        400,
        Some("invalid_request"),
    )
    .await;
    assert_eq!(refused["field"], "Idempotency-Key");
    let holds = server.get(&format!("{HOLDS}?resource=r1"), 200).await;
    assert_eq!(holds["holds"].as_array().unwrap().len(), 1);
}

/// Goal: `replace_call_holds` cancels the call's other holds (reason `replaced`) only when the
/// new hold succeeds, and a call never conflicts with its own hold then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_call_holds() {
    let server = TestServer::start();
    let body = |resource: &str, minutes: i64, replace: bool| {
        json!({"resource": resource, "start": slot(minutes), "end": slot(minutes + 30),
            "call_id": "c1", "replace_call_holds": replace})
        .to_string()
    };
    let first = token_of(&server.post(HOLDS, &body("r1", 0, false), 201).await);
    server.post(HOLDS, &single("r2", 0), 201).await;
    check(
        server
            .send(Method::POST, HOLDS, None, Some(&body("r2", 0, true)))
            .await,
        409,
        Some("conflict"),
    )
    .await;
    let kept = server.get(&format!("{HOLDS}/{first}"), 200).await;
    assert_eq!(
        kept["status"], "active",
        "a failed replacement cancels nothing"
    );
    let moved = server.post(HOLDS, &body("r1", 15, true), 201).await;
    assert_eq!(moved["status"], "active");
    let old = server.get(&format!("{HOLDS}/{first}"), 200).await;
    assert_eq!(old["status"], "cancelled");
    assert_eq!(old["cancel_reason"], "replaced");
}

/// Goal: a conflict shows what is in the way, and nothing of the other caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_answer_names_no_strangers() {
    let server = TestServer::start();
    let private = json!({"resource": "r1", "start": slot(0), "end": slot(30),
        "call_id": "secret-call", "customer_phone": "+4915199999999", "service_id": "svc-secret"});
    let token = token_of(&server.post(HOLDS, &private.to_string(), 201).await);
    let response = server
        .send(Method::POST, HOLDS, None, Some(&single("r1", 15)))
        .await;
    let text_free = check(response, 409, Some("conflict")).await;
    let text = text_free.to_string();
    for secret in [
        token.as_str(),
        "secret-call",
        "+4915199999999",
        "svc-secret",
    ] {
        assert!(
            !text.contains(secret),
            "the conflict leaks {secret}: {text}"
        );
    }
    assert_eq!(text_free["conflicts"][0]["kind"], "hold");
    server
        .post(&format!("{HOLDS}/{token}/confirm"), "", 200)
        .await;
    let booked = check(
        server
            .send(Method::POST, HOLDS, None, Some(&single("r1", 15)))
            .await,
        409,
        Some("conflict"),
    )
    .await;
    assert_eq!(booked["conflicts"][0]["kind"], "booking");
}

/// Goal: a token is found only under its own company; unknown and malformed tokens are 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_belong_to_their_company() {
    let server = TestServer::start();
    let token = token_of(&server.post(HOLDS, &single("r1", 0), 201).await);
    for path in [
        format!("/v1/companies/beta/holds/{token}"),
        format!("{HOLDS}/00000000-0000-4000-8000-000000000000"),
        format!("{HOLDS}/not-a-token"),
    ] {
        check(
            server.send(Method::GET, &path, None, None).await,
            404,
            Some("not_found"),
        )
        .await;
    }
    check(
        server
            .send(
                Method::POST,
                &format!("/v1/companies/beta/holds/{token}/confirm"),
                None,
                None,
            )
            .await,
        404,
        Some("not_found"),
    )
    .await;
    assert_eq!(
        server.get(&format!("{HOLDS}/{token}"), 200).await["status"],
        "active"
    );
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

const KEYS: &str = r#"
admin = "admin-key-0123456789"
[companies]
acme = "acme-key-0123456789"
beta = "beta-key-0123456789"
"#;
const ADMIN: Option<&str> = Some("admin-key-0123456789");
const ACME: Option<&str> = Some("acme-key-0123456789");
const BETA: Option<&str> = Some("beta-key-0123456789");

/// Goal: with keys, a company key reaches only its company (it cannot read, confirm, extend or
/// cancel another's token), unknown keys are 401, the admin key reaches all, `/healthz` is open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn company_keys_reach_only_their_company() {
    let server = TestServer::start_with(Settings::default(), Keys::from_toml(KEYS).unwrap());
    check(
        server.send(Method::GET, "/healthz", None, None).await,
        200,
        None,
    )
    .await;
    check(
        server.send(Method::GET, "/openapi.json", None, None).await,
        200,
        None,
    )
    .await;
    let beta_hold = check(
        server
            .send(
                Method::POST,
                "/v1/companies/beta/holds",
                BETA,
                Some(&single("r1", 0)),
            )
            .await,
        201,
        None,
    )
    .await;
    let beta_token = token_of(&beta_hold);
    let beta_path = format!("/v1/companies/beta/holds/{beta_token}");

    for (method, path, body) in [
        (Method::GET, beta_path.clone(), None),
        (Method::POST, format!("{beta_path}/confirm"), Some("{}")),
        (Method::POST, format!("{beta_path}/extend"), Some("{}")),
        (Method::DELETE, beta_path.clone(), None),
        (
            Method::POST,
            "/v1/companies/beta/holds".to_owned(),
            Some("{}"),
        ),
        (Method::GET, "/v1/companies/beta/metrics".to_owned(), None),
    ] {
        check(
            server.send(method, &path, ACME, body).await,
            403,
            Some("forbidden"),
        )
        .await;
    }
    let unchanged = check(
        server.send(Method::GET, &beta_path, BETA, None).await,
        200,
        None,
    )
    .await;
    assert_eq!(unchanged, beta_hold, "a forbidden call changes nothing");
    // Through its own company's path, acme's key finds no token of beta's: 404, not a leak.
    let own_path = format!("{HOLDS}/{beta_token}");
    for (method, path) in [
        (Method::GET, own_path.clone()),
        (Method::POST, format!("{own_path}/confirm")),
        (Method::DELETE, own_path.clone()),
    ] {
        check(
            server.send(method, &path, ACME, None).await,
            404,
            Some("not_found"),
        )
        .await;
    }

    let response = server.send(Method::GET, HOLDS, None, None).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    check(response, 401, Some("unauthorized")).await;
    for key in [Some("wrong-key-0123456789"), Some("")] {
        check(
            server.send(Method::GET, HOLDS, key, None).await,
            401,
            Some("unauthorized"),
        )
        .await;
    }
    // The key is checked before the body is parsed: no key, malformed body, still 401.
    check(
        server.send(Method::POST, HOLDS, None, Some("{oops")).await,
        401,
        Some("unauthorized"),
    )
    .await;

    check(
        server
            .send(Method::POST, HOLDS, ACME, Some(&single("r1", 0)))
            .await,
        201,
        None,
    )
    .await;
    check(
        server.send(Method::GET, &beta_path, ADMIN, None).await,
        200,
        None,
    )
    .await;
    check(
        server
            .send(Method::GET, "/v1/admin/companies", ACME, None)
            .await,
        403,
        Some("forbidden"),
    )
    .await;
    check(
        server
            .send(Method::GET, "/v1/admin/companies", None, None)
            .await,
        401,
        Some("unauthorized"),
    )
    .await;
    let companies = check(
        server
            .send(Method::GET, "/v1/admin/companies", ADMIN, None)
            .await,
        200,
        None,
    )
    .await;
    assert_eq!(
        companies,
        json!({"companies": [
            {"company": "acme", "active": 1, "live": 1, "total": 1},
            {"company": "beta", "active": 1, "live": 1, "total": 1}]})
    );
}

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

/// Goal: 200 callers racing for one slot get exactly one 201 and 199 `conflict`s, every time
/// (50 rounds), and exactly one hold is stored for the slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_callers_race_for_one_slot() {
    const CALLERS: usize = 200;
    const ROUNDS: usize = 50;
    let server = Arc::new(TestServer::start());
    for round in 0..ROUNDS {
        let resource = format!("race-{round}");
        let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
        let tasks: Vec<_> = (0..CALLERS)
            .map(|caller| {
                let server = server.clone();
                let barrier = barrier.clone();
                let body = json!({"resource": resource, "start": slot(0), "end": slot(30),
                    "call_id": format!("call-{caller}")})
                .to_string();
                tokio::spawn(async move {
                    barrier.wait().await;
                    let response = server.send(Method::POST, HOLDS, None, Some(&body)).await;
                    let status = response.status().as_u16();
                    let body: Value = response.json().await.expect("a JSON answer");
                    (status, body)
                })
            })
            .collect();
        let mut created = 0;
        let mut conflicts = 0;
        for task in tasks {
            let (status, body) = task.await.expect("the caller task finishes");
            match status {
                201 => created += 1,
                409 if body["type"] == "conflict" => conflicts += 1,
                other => panic!("round {round}: unexpected {other}: {body}"),
            }
        }
        assert_eq!((created, conflicts), (1, CALLERS - 1), "round {round}");
        let stored = server
            .get(&format!("{HOLDS}?resource={resource}"), 200)
            .await;
        assert_eq!(
            stored["holds"].as_array().unwrap().len(),
            1,
            "round {round}"
        );
    }
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
