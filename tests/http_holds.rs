//! Checks that holds are created, found and listed over HTTP as the API says, against a real
//! server on a loopback port with a real client: the voice agent's flow from availability to
//! booking, compound and first-available holds, list filters, idempotent retries, a call
//! replacing its own holds, and conflicts that name no stranger. Time moves by the manual clock,
//! never by sleeping.

mod http_support;

use http_support::{check, single, slot, token_of, TestServer, HOLDS};
use reqwest::Method;
use serde_json::{json, Value};

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
