//! Voice agents through the real server: Retell custom functions and call webhooks (signed with
//! the company's Retell API key, checked here by an HMAC computed independently) and Vapi server
//! messages (bearer key), in the exact shapes the platforms send, full call objects with long
//! transcripts included. Whole calls (check, pick an alternative, book), two calls racing for one
//! slot, a hold running out mid-call, hang-up and transfer, answers in German and English on the
//! company's wall clock, and every malformed input answered as the contract says with nothing
//! changed.

mod http_support;

use hmac::{Hmac, Mac};
use holdfast::clock::Clock;
use holdfast::core::book::Settings;
use holdfast::http::auth::Keys;
use http_support::{check, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

const RETELL_KEY: &str = "key_acme-retell-0123456789";
const ADMIN: &str = "admin-key-0123456789";
const ACME: &str = "acme-key-0123456789";
const RETELL: &str = "/v1/voice/retell/acme";
const VAPI: &str = "/v1/voice/vapi/acme";

fn keys() -> Keys {
    Keys::from_toml(&format!(
        "admin = \"{ADMIN}\"\n[companies]\nacme = \"{ACME}\"\n[retell]\nacme = \"{RETELL_KEY}\"\n"
    ))
    .unwrap()
}

/// A server with keys, acme in Berlin speaking `locale`, two chairs open 09:00 to 17:00 on
/// weekdays, 30-minute appointments.
async fn salon(locale: &str) -> TestServer {
    let server = TestServer::start_with(Settings::default(), keys());
    let settings = json!({"time_zone": "Europe/Berlin", "locale": locale,
        "default_duration_minutes": 30, "default_ttl_seconds": 300});
    admin(
        &server,
        Method::PUT,
        "/v1/companies/acme/settings",
        Some(settings),
        200,
    )
    .await;
    let weekday = json!([["09:00", "17:00"]]);
    let hours =
        json!({"mon": weekday, "tue": weekday, "wed": weekday, "thu": weekday, "fri": weekday});
    for chair in ["chair-1", "chair-2"] {
        let path = format!("/v1/companies/acme/resources/{chair}");
        admin(
            &server,
            Method::PUT,
            &path,
            Some(json!({"hours": hours})),
            201,
        )
        .await;
    }
    server
}

async fn admin(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let body = body.map(|b| b.to_string());
    let response = server
        .send(method, path, Some(ADMIN), body.as_deref())
        .await;
    check(response, status, None).await
}

/// Retell's call object as it arrives mid-call: every field, and a transcript of about
/// `transcript_bytes` with word timings.
fn retell_call(call_id: &str, transcript_bytes: usize) -> Value {
    let words: Vec<Value> = (0..transcript_bytes / 40)
        .map(|i| json!({"word": "termin", "start": i as f64 * 0.3, "end": i as f64 * 0.3 + 0.2}))
        .collect();
    json!({
        "call_type": "phone_call", "call_id": call_id, "agent_id": "agent_1a2b3c",
        "call_status": "ongoing", "from_number": "+4915112345678", "to_number": "+493012345678",
        "direction": "inbound", "metadata": {}, "retell_llm_dynamic_variables": {"salon": "acme"},
        "start_timestamp": 1_796_029_000_000i64,
        "transcript": "Agent: Hallo!\nUser: Ich hätte gern einen Termin.\n",
        "transcript_object": [{"role": "user", "content": "Ich hätte gern einen Termin.", "words": words}],
        "transcript_with_tool_calls": [],
    })
}

/// Sends a signed Retell request; answers the status and body.
async fn retell(
    server: &TestServer,
    path: &str,
    body: &Value,
    signature: Signature,
) -> (u16, Value) {
    let bytes = body.to_string();
    let mut request = server
        .client
        .post(server.url(path))
        .header("content-type", "application/json")
        .body(bytes.clone());
    let now_ms = server.clock.now_ms();
    let header = match signature {
        Signature::Good => Some(sign(RETELL_KEY, bytes.as_bytes(), now_ms)),
        Signature::Stale => Some(sign(RETELL_KEY, bytes.as_bytes(), now_ms - 5 * 60_000 - 1)),
        Signature::WrongKey => Some(sign("key_another-one-0123456789", bytes.as_bytes(), now_ms)),
        Signature::Missing => None,
    };
    if let Some(header) = header {
        request = request.header("x-retell-signature", header);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[derive(Clone, Copy)]
enum Signature {
    Good,
    Stale,
    WrongKey,
    Missing,
}

/// Retell's signature, computed here: `v=<ms>,d=<hex HMAC-SHA256 over body then ms>`.
fn sign(key: &str, body: &[u8], at_ms: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body);
    mac.update(at_ms.to_string().as_bytes());
    format!("v={at_ms},d={}", hex::encode(mac.finalize().into_bytes()))
}

async fn function(server: &TestServer, call: &Value, name: &str, args: Value) -> Value {
    let body = json!({"name": name, "args": args, "call": call});
    let (status, answer) = retell(server, RETELL, &body, Signature::Good).await;
    assert_eq!(status, 200, "{answer}");
    let size = answer.to_string().len();
    assert!(size <= 1_000, "an answer of {size} bytes: {answer}");
    let text = answer.to_string();
    let token = (0..text.len().saturating_sub(35))
        .filter_map(|at| text.get(at..at + 36))
        .find(|window| uuid::Uuid::try_parse(window).is_ok());
    assert_eq!(token, None, "the model never sees a token: {answer}");
    answer
}

/// The call's reservations, newest first, as (status, resource, start, cancel reason).
async fn reservations_of(
    server: &TestServer,
    call_id: &str,
) -> Vec<(String, String, String, Value)> {
    let list = admin(
        server,
        Method::GET,
        &format!("/v1/companies/acme/holds?call_id={call_id}"),
        None,
        200,
    )
    .await;
    list["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["status"].as_str().unwrap().to_string(),
                h["segments"][0]["resource"].as_str().unwrap().to_string(),
                h["segments"][0]["start"].as_str().unwrap().to_string(),
                h["cancel_reason"].clone(),
            )
        })
        .collect()
}

/// Goal: a whole Retell call, signed, with a 200 KB call object each time: asking for Tuesday
/// 10:30 holds it (German, Berlin time, with its offset) and offers more; picking an
/// alternative holds that one instead (the first is cancelled as `replaced`); booking confirms
/// it, and a platform's retry answers the same booking; the call's end leaves the booking.
#[tokio::test]
async fn a_whole_retell_call_books_in_german() {
    let server = salon("de").await;
    let call = retell_call("call_7f3a", 200_000);
    assert!(call.to_string().len() > 200_000);
    let asked = json!({"date": "2026-12-01", "time": "10:30"});
    let held = function(&server, &call, "check_availability", asked.clone()).await;
    println!("check_availability -> {held}");
    assert_eq!(held["result"], "held");
    assert_eq!(held["slot"]["start"], "2026-12-01T10:30:00+01:00");
    assert_eq!(held["slot"]["spoken"], "Dienstag, 1. Dezember, 10:30 Uhr");
    assert_eq!(held["expires_in_seconds"], 300);
    let alternatives = held["alternatives"].as_array().unwrap();
    assert_eq!(alternatives.len(), 3);
    assert!(
        held["message"].as_str().unwrap().contains("reserviert"),
        "{held}"
    );
    // Retell retries the same function: the call keeps one hold, of the same time.
    let retried = function(&server, &call, "check_availability", asked).await;
    assert_eq!(retried["slot"], held["slot"], "a retry holds the same time");
    let pick = json!({"start": "2026-12-01T11:00", "resource": "chair-2"});
    let picked = function(&server, &call, "hold_slot", pick).await;
    println!("hold_slot -> {picked}");
    assert_eq!(picked["result"], "held");
    assert_eq!(picked["slot"]["spoken"], "Dienstag, 1. Dezember, 11:00 Uhr");
    assert_eq!(picked["slot"]["resource"], "chair-2");
    let booked = function(
        &server,
        &call,
        "book_appointment",
        json!({"customer_name": "Anna Weber"}),
    )
    .await;
    println!("book_appointment -> {booked}");
    assert_eq!(booked["result"], "booked");
    let again = function(
        &server,
        &call,
        "book_appointment",
        json!({"customer_name": "Anna Weber"}),
    )
    .await;
    assert_eq!(again, booked, "a retry answers the same booking");
    let ended = json!({"event": "call_ended", "call": {"call_id": "call_7f3a", "disconnection_reason": "user_hangup"}});
    let (status, _) = retell(
        &server,
        &format!("{RETELL}/events"),
        &ended,
        Signature::Good,
    )
    .await;
    assert_eq!(status, 204);
    let kept = reservations_of(&server, "call_7f3a").await;
    assert_eq!(
        kept.len(),
        3,
        "the booking and two holds it replaced: {kept:?}"
    );
    assert_eq!(kept[0].0, "converted", "the booking stays: {kept:?}");
    assert_eq!(kept[0].2, "2026-12-01T10:00:00Z");
    for replaced in &kept[1..] {
        assert_eq!(
            (replaced.0.as_str(), &replaced.3),
            ("cancelled", &json!("replaced"))
        );
    }
    let hold = admin(
        &server,
        Method::GET,
        "/v1/companies/acme/holds?call_id=call_7f3a&status=converted",
        None,
        200,
    )
    .await;
    assert_eq!(hold["holds"][0]["customer_phone"], "+4915112345678");
    // One call, three holds, booked once (the retry is not a second booking), nothing released.
    let metrics = admin(
        &server,
        Method::GET,
        "/v1/companies/acme/metrics",
        None,
        200,
    )
    .await;
    assert_eq!(
        metrics["voice"],
        json!({"calls": 1, "holds": 3, "holds_per_call": 3.0, "calls_booked": 1,
            "calls_released": 0, "conversion_per_call": 1.0})
    );
}

/// Goal: a Retell request whose signature is stale, made with another key, or missing is 401
/// and changes nothing; so is one for a company with no Retell key.
#[tokio::test]
async fn bad_retell_signatures_are_refused() {
    let server = salon("en").await;
    let body = json!({"name": "check_availability", "args": {"date": "2026-12-01"},
        "call": retell_call("call_bad", 1_000)});
    for signature in [Signature::Stale, Signature::WrongKey, Signature::Missing] {
        let (status, problem) = retell(&server, RETELL, &body, signature).await;
        assert_eq!(status, 401, "{problem}");
    }
    let (status, _) = retell(&server, "/v1/voice/retell/beta", &body, Signature::Good).await;
    assert_eq!(status, 401, "beta has no Retell key");
    assert!(reservations_of(&server, "call_bad").await.is_empty());
}

/// Goal: two calls asking for the same time at once: exactly one holds it, the other is held
/// the next free start; with one chair, they never share it.
#[tokio::test]
async fn two_calls_race_for_one_slot() {
    let server = salon("en").await;
    admin(
        &server,
        Method::DELETE,
        "/v1/companies/acme/resources/chair-2",
        None,
        204,
    )
    .await;
    let asked = json!({"date": "2026-12-01", "time": "10:30"});
    let (a, b) = (retell_call("call_a", 10_000), retell_call("call_b", 10_000));
    let (first, second) = tokio::join!(
        function(&server, &a, "check_availability", asked.clone()),
        function(&server, &b, "check_availability", asked.clone()),
    );
    let mut starts = vec![
        first["slot"]["start"].as_str().unwrap().to_string(),
        second["slot"]["start"].as_str().unwrap().to_string(),
    ];
    starts.sort();
    assert_eq!(
        starts,
        ["2026-12-01T10:30:00+01:00", "2026-12-01T11:00:00+01:00"]
    );
    assert_eq!(
        first["slot"]["spoken"]
            .as_str()
            .map(|s| s.contains("December 1")),
        Some(true)
    );
}

/// Goal: the hold runs out mid-call; `book_appointment` then answers `expired` and holds the
/// first free start from that time again, which the next `book_appointment` books.
#[tokio::test]
async fn a_hold_running_out_mid_call_is_offered_again() {
    let server = salon("en").await;
    let call = retell_call("call_slow", 1_000);
    let held = function(
        &server,
        &call,
        "check_availability",
        json!({"date": "2026-12-01", "time": "14:00"}),
    )
    .await;
    assert_eq!(held["slot"]["spoken"], "Tuesday, December 1 at 2:00 PM");
    server.clock.advance_ms(301_000);
    let lapsed = function(&server, &call, "book_appointment", json!({})).await;
    assert_eq!(lapsed["result"], "expired", "{lapsed}");
    assert_eq!(
        lapsed["slot"]["spoken"], "Tuesday, December 1 at 2:00 PM",
        "the same time, held again"
    );
    assert_eq!(lapsed["expires_in_seconds"], 300);
    let booked = function(&server, &call, "book_appointment", json!({})).await;
    assert_eq!(booked["result"], "booked");
    let statuses: Vec<String> = reservations_of(&server, "call_slow")
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(statuses, ["converted", "expired"]);
}

/// Goal: a caller hanging up releases the call's hold (reason `call_ended`), once however often
/// the webhook comes; a transferred call's hold stays to run out on its own.
#[tokio::test]
async fn hang_up_releases_and_transfer_keeps() {
    let server = salon("en").await;
    for (call_id, reason) in [
        ("call_gone", "user_hangup"),
        ("call_moved", "call_transfer"),
    ] {
        let call = retell_call(call_id, 1_000);
        function(
            &server,
            &call,
            "check_availability",
            json!({"date": "2026-12-02"}),
        )
        .await;
        let ended = json!({"event": "call_ended", "call": {"call_id": call_id, "disconnection_reason": reason}});
        for _ in 0..2 {
            let (status, _) = retell(
                &server,
                &format!("{RETELL}/events"),
                &ended,
                Signature::Good,
            )
            .await;
            assert_eq!(status, 204);
        }
    }
    let gone = reservations_of(&server, "call_gone").await;
    assert_eq!(
        (gone[0].0.as_str(), &gone[0].3),
        ("cancelled", &json!("call_ended"))
    );
    assert_eq!(gone.len(), 1);
    assert_eq!(reservations_of(&server, "call_moved").await[0].0, "active");
    // Prometheus: two calls, two holds, one released (the duplicate webhook counts nothing).
    let response = server
        .send(Method::GET, "/metrics", Some(ADMIN), None)
        .await;
    let scrape = http_support::check_prometheus(response).await;
    let value = |name: &str| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name && s.labels.get("company") == Some("acme"))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) => v,
                _ => f64::NAN,
            })
            .sum()
    };
    assert_eq!(value("holdfast_voice_calls_total"), 2.0);
    assert_eq!(value("holdfast_voice_holds_total"), 2.0);
    assert_eq!(value("holdfast_voice_calls_booked_total"), 0.0);
    assert_eq!(value("holdfast_voice_calls_released_total"), 1.0);
}

/// Goal: a whole Vapi call: `tool-calls` in each of Vapi's shapes (arguments as a JSON string
/// and as an object, the function nested or at the top level) answered as `results` with
/// single-line `result` strings; a bad tool call is an `error`; the call's end releases.
#[tokio::test]
async fn a_whole_vapi_call() {
    let server = salon("en").await;
    let message = |kind: &str, extra: Value| {
        let mut message = json!({"type": kind, "call": {"id": "vapi_9c1"},
            "customer": {"number": "+14155550123"}});
        message
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"message": message})
    };
    let tools = message(
        "tool-calls",
        json!({"toolCallList": [
            {"id": "t1", "type": "function", "function": {"name": "check_availability",
                "arguments": "{\"date\":\"2026-12-01\",\"time\":\"09:00\"}"}},
            {"id": "t2", "name": "hold_slot", "parameters": {"start": "2026-12-01T25:00"}},
        ]}),
    );
    let response = server
        .send(Method::POST, VAPI, Some(ACME), Some(&tools.to_string()))
        .await;
    let answer = check(response, 200, None).await;
    println!("tool-calls -> {answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results[0]["toolCallId"], "t1");
    let first: Value = serde_json::from_str(results[0]["result"].as_str().unwrap()).unwrap();
    assert_eq!(first["result"], "held");
    assert_eq!(first["slot"]["spoken"], "Tuesday, December 1 at 9:00 AM");
    assert!(!results[0]["result"].as_str().unwrap().contains('\n'));
    assert_eq!(results[1]["toolCallId"], "t2");
    assert!(
        results[1]["error"].as_str().unwrap().contains("start"),
        "{answer}"
    );
    let book = message(
        "tool-calls",
        json!({"toolCallList": [
        {"id": "t3", "type": "function", "function": {"name": "book_appointment", "arguments": {}}}]}),
    );
    let response = server
        .send(Method::POST, VAPI, Some(ACME), Some(&book.to_string()))
        .await;
    let booked = check(response, 200, None).await;
    let booked: Value =
        serde_json::from_str(booked["results"][0]["result"].as_str().unwrap()).unwrap();
    assert_eq!(booked["result"], "booked");
    // A second call holds, then ends: released.
    let other = json!({"message": {"type": "tool-calls", "call": {"id": "vapi_2"},
        "toolCallList": [{"id": "t4", "name": "check_availability", "arguments": {"date": "2026-12-03"}}]}});
    check(
        server
            .send(Method::POST, VAPI, Some(ACME), Some(&other.to_string()))
            .await,
        200,
        None,
    )
    .await;
    let ended =
        json!({"message": {"type": "status-update", "status": "ended", "call": {"id": "vapi_2"}}});
    check(
        server
            .send(Method::POST, VAPI, Some(ACME), Some(&ended.to_string()))
            .await,
        200,
        None,
    )
    .await;
    assert_eq!(
        reservations_of(&server, "vapi_2").await[0].3,
        json!("call_ended")
    );
    let other_types = json!({"message": {"type": "speech-update", "status": "started"}});
    let answer = check(
        server
            .send(
                Method::POST,
                VAPI,
                Some(ACME),
                Some(&other_types.to_string()),
            )
            .await,
        200,
        None,
    )
    .await;
    assert_eq!(answer, json!({}));
    let unauthorized = server
        .send(Method::POST, VAPI, None, Some(&book.to_string()))
        .await;
    check(unauthorized, 401, None).await;
    let statuses: Vec<String> = reservations_of(&server, "vapi_9c1")
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(statuses, ["converted"]);
}

/// Goal: malformed input: a body without a call id is 400 naming it; an unknown function, a bad
/// date, `25:00`, arguments of the wrong type and a company without resources are each an
/// `error` result saying what is wrong (200, as the platforms need); none holds anything. A day
/// with nothing free answers `none` and names the next day that has a free start.
#[tokio::test]
async fn malformed_calls_change_nothing() {
    let server = salon("en").await;
    let no_call_id = json!({"name": "check_availability", "args": {}, "call": {"agent_id": "a"}});
    let (status, problem) = retell(&server, RETELL, &no_call_id, Signature::Good).await;
    assert_eq!(
        (status, problem["field"].clone()),
        (400, json!("call.call_id")),
        "{problem}"
    );
    let call = retell_call("call_typos", 1_000);
    for (name, args, word) in [
        ("transfer_call", json!({}), "unknown function"),
        ("check_availability", json!({"date": "2026-02-30"}), "date"),
        (
            "check_availability",
            json!({"date": "2026-12-01", "time": "25:00"}),
            "time",
        ),
        (
            "check_availability",
            json!({"date": "2026-12-01", "resources": "chair-1"}),
            "resources",
        ),
        ("hold_slot", json!({"start": 1_700_000_000}), "start"),
    ] {
        let answer = function(&server, &call, name, args.clone()).await;
        assert_eq!(answer["result"], "error", "{name} {args}");
        assert!(
            answer["message"].as_str().unwrap().contains(word),
            "{answer}"
        );
    }
    assert!(reservations_of(&server, "call_typos").await.is_empty());
    // Saturday: the chairs are closed; Monday is the next day with a free time.
    let none = function(
        &server,
        &call,
        "check_availability",
        json!({"date": "2026-12-05"}),
    )
    .await;
    assert_eq!(none["result"], "none", "{none}");
    assert!(
        none["message"]
            .as_str()
            .unwrap()
            .contains("Monday, December 7"),
        "{none}"
    );
    let bare = TestServer::start_with(Settings::default(), keys());
    let answer = function(
        &bare,
        &call,
        "check_availability",
        json!({"date": "2026-12-01"}),
    )
    .await;
    assert_eq!(answer["result"], "error");
    assert!(
        answer["message"].as_str().unwrap().contains("configure"),
        "{answer}"
    );
}
