//! Checks `/openapi.json` against a real server: it documents exactly the operations the server
//! installs, every error as `application/problem+json`, and every answer the tests provoke
//! (each status an operation gives, from a bad path segment to a full server) is listed for its
//! operation with the content type it came in, its body fitting the documented problem schema.

mod http_support;

use holdfast::core::book::Settings;
use holdfast::http::auth::Keys;
use holdfast::http::routes;
use http_support::{single, slot, token_of, TestServer, HOLDS};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const PROBLEM_JSON: &str = "application/problem+json";

/// The operations the document names, as (method, path pattern).
fn documented(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            operations.insert((method.to_uppercase(), path.clone()));
        }
    }
    operations
}

/// A component schema by its `$ref`.
fn resolve<'d>(document: &'d Value, schema: &'d Value) -> &'d Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            &document["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// Checks that a problem body fits one of `schema`'s alternatives exactly: its `type`, `title`
/// and `status` are the ones the alternative fixes, every required member is there, and no
/// member is one the alternative does not name.
fn check_problem_fits(document: &Value, schema: &Value, body: &Value) {
    let schema = resolve(document, schema);
    let alternatives: Vec<&Value> = match schema["oneOf"].as_array() {
        Some(items) => items.iter().map(|item| resolve(document, item)).collect(),
        None => vec![schema],
    };
    let fitting = alternatives
        .iter()
        .find(|alternative| alternative["properties"]["type"]["enum"][0] == body["type"])
        .unwrap_or_else(|| panic!("no documented problem schema has the type of {body}"));
    for member in ["title", "status"] {
        assert_eq!(
            fitting["properties"][member]["enum"][0], body[member],
            "{member} of {body}"
        );
    }
    let members = body.as_object().expect("a problem object");
    for required in fitting["required"].as_array().expect("required members") {
        let required = required.as_str().unwrap();
        assert!(members.contains_key(required), "{required} missing: {body}");
    }
    for member in members.keys() {
        assert!(
            fitting["properties"][member].is_object(),
            "{member} is not documented for {}: {body}",
            body["type"]
        );
    }
}

/// Checks an answer against the document: `expected` is its status; the status is listed for
/// `method pattern`, with the answer's content type; an error body fits its problem schema and
/// has `kind` as its type. Returns the JSON body (`null` when there is none).
async fn check_documented(
    document: &Value,
    method: &str,
    pattern: &str,
    response: reqwest::Response,
    expected: u16,
    kind: Option<&str>,
) -> Value {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let has_www_authenticate = response.headers().contains_key("www-authenticate");
    let text = response.text().await.expect("a readable body");
    assert_eq!(status, expected, "{method} {pattern}: {text}");
    let listed =
        &document["paths"][pattern][method.to_lowercase()]["responses"][status.to_string()];
    assert!(
        listed.is_object(),
        "{status} is not documented for {method} {pattern}: {text}"
    );
    if listed.get("content").is_none() {
        assert!(
            text.is_empty(),
            "{status} of {pattern} is documented without a body: {text}"
        );
        return Value::Null;
    }
    let essence = content_type.split(';').next().unwrap().trim();
    let media = listed["content"]
        .as_object()
        .expect("documented content")
        .iter()
        .find(|(documented, _)| documented.split(';').next().unwrap().trim() == essence)
        .unwrap_or_else(|| panic!("{content_type} is not documented for {status} of {pattern}"));
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status >= 400 {
        assert_eq!(essence, PROBLEM_JSON);
        check_problem_fits(document, &media.1["schema"], &body);
        if let Some(kind) = kind {
            assert_eq!(body["type"], kind, "{text}");
        }
    }
    if status == 401 {
        assert!(has_www_authenticate);
        assert!(listed["headers"]["WWW-Authenticate"].is_object());
    }
    body
}

/// A request with an optional body sent as-is under `content_type`.
async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, String)>,
) -> reqwest::Response {
    let mut request = server.client.request(method, server.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some((content_type, body)) = body {
        request = request.header("content-type", content_type).body(body);
    }
    request.send().await.expect("the server answers")
}

fn json_body(body: impl ToString) -> Option<(&'static str, String)> {
    Some(("application/json", body.to_string()))
}

/// A request a test sends to provoke an answer, and the answer it expects.
struct Provocation<'a> {
    method: Method,
    /// The documented path pattern the request is for.
    pattern: &'a str,
    path: String,
    headers: &'a [(&'a str, &'a str)],
    body: Option<(&'a str, String)>,
    status: u16,
    kind: Option<&'a str>,
}

impl<'a> Provocation<'a> {
    fn new(method: Method, pattern: &'a str, path: impl Into<String>, status: u16) -> Self {
        Provocation {
            method,
            pattern,
            path: path.into(),
            headers: &[],
            body: None,
            status,
            kind: None,
        }
    }

    fn body(mut self, content_type: &'a str, body: impl ToString) -> Self {
        self.body = Some((content_type, body.to_string()));
        self
    }

    fn headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Self {
        self.headers = headers;
        self
    }

    fn kind(mut self, kind: &'a str) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Sends the request and checks the answer against the document.
    async fn check(self, server: &TestServer, document: &Value) -> Value {
        let method = self.method.as_str().to_owned();
        let response = send(server, self.method, &self.path, self.headers, self.body).await;
        check_documented(
            document,
            &method,
            self.pattern,
            response,
            self.status,
            self.kind,
        )
        .await
    }
}

const HOLD: &str = "/v1/companies/{company}/holds";
const TOKEN: &str = "/v1/companies/{company}/holds/{token}";
const CONFIRM: &str = "/v1/companies/{company}/holds/{token}/confirm";
const EXTEND: &str = "/v1/companies/{company}/holds/{token}/extend";
const AVAILABILITY: &str = "/v1/companies/{company}/availability";
const COMPANY_METRICS: &str = "/v1/companies/{company}/metrics";
const SETTINGS: &str = "/v1/companies/{company}/settings";
const RESOURCES: &str = "/v1/companies/{company}/resources";
const RESOURCE: &str = "/v1/companies/{company}/resources/{resource}";

/// Goal: the document names exactly the operations the server installs, each of them is
/// answered by its own handler (not the unknown-path 404 or another method's 405), and every
/// error response of every operation is `application/problem+json` and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_every_route_and_every_error_as_problem_json() {
    let server = TestServer::start();
    let document = server.get("/openapi.json", 200).await;
    let registered: BTreeSet<(String, String)> = routes::registered()
        .into_iter()
        .map(|(method, path)| (method.as_str().to_owned(), path))
        .collect();
    assert_eq!(documented(&document), registered);

    let token = token_of(&server.post(HOLDS, &single("r1", 0), 201).await);
    for (method, pattern) in &registered {
        let path = pattern
            .replace("{company}", "acme")
            .replace("{token}", &token)
            .replace("{resource}", "r1");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = send(&server, method.clone(), &path, &[], None).await;
        let status = response.status().as_u16();
        // A stream of events never ends: its status and headers are the answer.
        let streaming = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let body: Value = match streaming {
            true => Value::Null,
            false => serde_json::from_str(&response.text().await.unwrap()).unwrap_or_default(),
        };
        // A handler's own 404 (a resource without configuration) names no path; the unknown
        // path's 404 does.
        let unknown_path = status == 404
            && body["detail"]
                .as_str()
                .is_some_and(|detail| detail.starts_with("no such path"));
        assert!(
            !unknown_path && status != 405,
            "{method} {path} is not served: {status} {body}"
        );
    }

    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let types: Vec<&String> = response["content"]
                    .as_object()
                    .map(|content| content.keys().collect())
                    .unwrap_or_default();
                let error = status.parse::<u16>().unwrap() >= 400;
                if error {
                    assert_eq!(types, [PROBLEM_JSON], "{status} of {method} {path}");
                    let schema = &response["content"][PROBLEM_JSON]["schema"];
                    let alternatives = match schema["oneOf"].as_array() {
                        Some(items) => items.iter().collect(),
                        None => vec![schema],
                    };
                    for alternative in alternatives {
                        let problem = resolve(&document, alternative);
                        assert_eq!(
                            problem["properties"]["status"]["enum"][0].to_string(),
                            *status,
                            "{method} {path}"
                        );
                    }
                } else {
                    assert!(
                        !types.iter().any(|t| t.as_str() == PROBLEM_JSON),
                        "{status} of {method} {path}"
                    );
                }
            }
        }
    }
}

/// Goal: the refusals of a request's parts are documented for their operations: a company
/// segment that is not an id is 400, a token segment that is not a UUID is 404, a query where
/// none is taken is 400 (the company metrics and reads of one hold among them), a malformed body
/// is 400, a body of another type 415, one too large 413.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_of_request_parts_are_documented() {
    let server = TestServer::start();
    let document = server.get("/openapi.json", 200).await;
    let token = token_of(&server.post(HOLDS, &single("r1", 0), 201).await);
    let hold = format!("{HOLDS}/{token}");
    let json = "application/json";
    let cases = [
        Provocation::new(
            Method::GET,
            TOKEN,
            format!("/v1/companies/bad%20id/holds/{token}"),
            400,
        ),
        Provocation::new(Method::GET, TOKEN, format!("{HOLDS}/not-a-uuid"), 404),
        Provocation::new(Method::GET, TOKEN, format!("{hold}?x=1"), 400),
        Provocation::new(Method::DELETE, TOKEN, format!("{hold}?reason=a%20b"), 400),
        Provocation::new(
            Method::GET,
            COMPANY_METRICS,
            "/v1/companies/acme/metrics?x=1",
            400,
        ),
        Provocation::new(Method::GET, HOLD, format!("{HOLDS}?limit=0"), 400),
        Provocation::new(
            Method::GET,
            AVAILABILITY,
            "/v1/companies/acme/availability?resource=r1",
            400,
        ),
        Provocation::new(
            Method::GET,
            "/v1/admin/companies",
            "/v1/admin/companies?x=1",
            400,
        ),
        Provocation::new(Method::POST, HOLD, HOLDS, 400).body(json, "{}"),
        Provocation::new(Method::POST, HOLD, HOLDS, 415).body("text/plain", single("r1", 60)),
        Provocation::new(Method::POST, HOLD, HOLDS, 413)
            .body(json, json!({ "call_id": "x".repeat(70_000) })),
        Provocation::new(Method::POST, CONFIRM, format!("{hold}/confirm"), 400)
            .body(json, r#"{"appointment_id": 5}"#),
        Provocation::new(Method::POST, CONFIRM, format!("{hold}/confirm"), 415)
            .body("text/plain", ""),
        Provocation::new(Method::POST, EXTEND, format!("{hold}/extend"), 400).body(json, "[300]"),
        Provocation::new(Method::POST, EXTEND, format!("{hold}/extend"), 400)
            .body(json, r#"{"ttl_seconds": 300.0}"#),
        Provocation::new(
            Method::POST,
            EXTEND,
            format!("{HOLDS}/00000000-0000-4000-8000-000000000000/extend"),
            404,
        ),
    ];
    for case in cases {
        let kind = case.kind.unwrap_or(match case.status {
            400 => "invalid_request",
            404 => "not_found",
            413 => "payload_too_large",
            _ => "unsupported_media_type",
        });
        case.kind(kind).check(&server, &document).await;
    }
}

/// Goal: each 409 type an operation answers, and 410, are documented for that operation, with
/// the member their type adds (`conflicts`, `current_status`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_and_expiry_are_documented() {
    let server = TestServer::start();
    let document = server.get("/openapi.json", 200).await;
    let post = |body: String, headers: &'static [(&'static str, &'static str)]| {
        send(&server, Method::POST, HOLDS, headers, json_body(body))
    };
    post(single("r1", 0), &[("idempotency-key", "k-1")]).await;
    let conflict = check_documented(
        &document,
        "POST",
        HOLD,
        post(single("r1", 15), &[]).await,
        409,
        Some("conflict"),
    )
    .await;
    assert_eq!(conflict["conflicts"][0]["kind"], "hold");
    let find = json!({"find": {"resources": ["r1"], "earliest": slot(0), "latest": slot(30),
        "duration_seconds": 1800}});
    check_documented(
        &document,
        "POST",
        HOLD,
        post(find.to_string(), &[]).await,
        409,
        Some("no_slot"),
    )
    .await;
    check_documented(
        &document,
        "POST",
        HOLD,
        post(single("r2", 0), &[("idempotency-key", "k-1")]).await,
        409,
        Some("idempotency_mismatch"),
    )
    .await;

    let cancelled = token_of(&server.post(HOLDS, &single("r3", 0), 201).await);
    let cancelled = format!("{HOLDS}/{cancelled}");
    let cancel = send(&server, Method::DELETE, &cancelled, &[], None).await;
    check_documented(&document, "DELETE", TOKEN, cancel, 200, None).await;
    let state = check_documented(
        &document,
        "POST",
        CONFIRM,
        send(
            &server,
            Method::POST,
            &format!("{cancelled}/confirm"),
            &[],
            None,
        )
        .await,
        409,
        Some("invalid_state"),
    )
    .await;
    assert_eq!(state["current_status"], "cancelled");

    let held = format!(
        "{HOLDS}/{}",
        token_of(&server.post(HOLDS, &single("r4", 0), 201).await)
    );
    server.clock.advance_ms(10_000);
    check_documented(
        &document,
        "POST",
        EXTEND,
        send(
            &server,
            Method::POST,
            &format!("{held}/extend"),
            &[],
            json_body(r#"{"ttl_seconds": 3600}"#),
        )
        .await,
        409,
        Some("invalid_state"),
    )
    .await;
    server.clock.advance_ms(3_600_000);
    for pattern in [CONFIRM, EXTEND] {
        let path = pattern
            .replace("/v1/companies/{company}/holds/{token}", &held)
            .to_string();
        check_documented(
            &document,
            "POST",
            pattern,
            send(&server, Method::POST, &path, &[], None).await,
            410,
            Some("expired"),
        )
        .await;
    }
    check_documented(
        &document,
        "DELETE",
        TOKEN,
        send(&server, Method::DELETE, &held, &[], None).await,
        409,
        Some("invalid_state"),
    )
    .await;
}

/// Goal: every answer of the settings and resource routes is documented for its route: their
/// successes (200, 201, 204), a bad resource segment (400), a resource without configuration
/// (404), bodies refused (400, 413, 415); and a hold outside a resource's hours is a documented
/// 409 `outside_hours` with its `resource`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_answers_are_documented() {
    let server = TestServer::start();
    let document = server.get("/openapi.json", 200).await;
    let json = "application/json";
    let settings = "/v1/companies/acme/settings";
    let resources = "/v1/companies/acme/resources";
    let staff = "/v1/companies/acme/resources/staff-7";
    let big = json!({ "label": "x".repeat(70_000) });
    let hours = json!({"label": "Dr. Meier", "hours": {"tue": [["09:00", "17:00"]]},
        "closed": [{"start": "2026-12-24T00:00:00+01:00", "end": "2026-12-27T00:00:00+01:00"}]});
    let cases = [
        Provocation::new(Method::GET, SETTINGS, settings, 200),
        Provocation::new(Method::PUT, SETTINGS, settings, 200)
            .body(json, json!({"time_zone": "Europe/Berlin"})),
        Provocation::new(Method::PUT, SETTINGS, settings, 400).body(json, r#"{"locale": "fr"}"#),
        Provocation::new(Method::PUT, SETTINGS, settings, 415).body("text/plain", "{}"),
        Provocation::new(Method::PUT, SETTINGS, settings, 413).body(json, &big),
        Provocation::new(Method::GET, RESOURCE, staff, 404).kind("not_found"),
        Provocation::new(Method::DELETE, RESOURCE, staff, 404).kind("not_found"),
        Provocation::new(Method::PUT, RESOURCE, staff, 201).body(json, &hours),
        Provocation::new(Method::PUT, RESOURCE, staff, 200).body(json, &hours),
        Provocation::new(Method::GET, RESOURCE, staff, 200),
        Provocation::new(Method::GET, RESOURCES, resources, 200),
        Provocation::new(Method::PUT, RESOURCE, staff, 400).body(json, r#"{"capacity": 0}"#),
        Provocation::new(Method::PUT, RESOURCE, staff, 413).body(json, &big),
        Provocation::new(Method::PUT, RESOURCE, staff, 415).body("text/plain", "{}"),
        Provocation::new(Method::GET, RESOURCE, format!("{resources}/bad.id"), 400),
        Provocation::new(Method::PUT, RESOURCE, format!("{resources}/bad.id"), 400)
            .body(json, "{}"),
        Provocation::new(Method::DELETE, RESOURCE, format!("{resources}/bad.id"), 400),
        Provocation::new(Method::GET, RESOURCES, format!("{resources}?x=1"), 400),
    ];
    for case in cases {
        case.check(&server, &document).await;
    }
    let outside = json!({"resource": "staff-7", "start": "2026-12-01T18:00:00Z",
        "end": "2026-12-01T18:30:00Z"});
    let refused = Provocation::new(Method::POST, HOLD, HOLDS, 409)
        .body(json, outside)
        .kind("outside_hours")
        .check(&server, &document)
        .await;
    assert_eq!(refused["resource"], "staff-7");
    let answer = Provocation::new(Method::DELETE, RESOURCE, staff, 204)
        .check(&server, &document)
        .await;
    assert_eq!(answer, Value::Null);
}

const KEYS: &str = r#"
admin = "admin-key-0123456789"
[companies]
acme = "acme-key-0123456789"
beta = "beta-key-0123456789"
"#;

/// Goal: with keys, 401 (with `WWW-Authenticate`) and 403 are documented where they are
/// answered: company routes, the admin routes and Prometheus `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_refusals_are_documented() {
    let server = TestServer::start_with(Settings::default(), Keys::from_toml(KEYS).unwrap());
    let document = server.get("/openapi.json", 200).await;
    let beta = [("authorization", "Bearer beta-key-0123456789")];
    let admin = "/v1/admin/companies";
    let snapshot = "/v1/admin/snapshot";
    let cases = [
        Provocation::new(Method::POST, HOLD, HOLDS, 401),
        Provocation::new(Method::GET, HOLD, HOLDS, 403).headers(&beta),
        Provocation::new(Method::POST, snapshot, snapshot, 403).headers(&beta),
        Provocation::new(Method::GET, "/metrics", "/metrics", 401),
        Provocation::new(Method::GET, admin, admin, 403).headers(&beta),
    ];
    for case in cases {
        case.check(&server, &document).await;
    }
}

/// Goal: a hold past the server's limit of live reservations is a documented 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_limit_is_documented() {
    let server = TestServer::start_with_total_live_limit(1);
    let document = server.get("/openapi.json", 200).await;
    server.post(HOLDS, &single("r1", 0), 201).await;
    let response = send(
        &server,
        Method::POST,
        HOLDS,
        &[],
        json_body(single("r1", 60)),
    )
    .await;
    check_documented(
        &document,
        "POST",
        HOLD,
        response,
        429,
        Some("limit_reached"),
    )
    .await;
}

/// Goal: a time with a space between date and time is refused (400 naming the field), as the
/// document's `date-time` says; chrono's RFC 3339 parser took it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_space_between_date_and_time_is_refused() {
    let server = TestServer::start();
    let body = json!({"resource": "r1", "start": "2026-12-01 10:00:00Z",
        "end": "2026-12-01T10:30:00Z"});
    let refused = server.post(HOLDS, &body.to_string(), 400).await;
    assert_eq!(refused["field"], "start");
    let query = format!("{HOLDS}?from=2026-12-01%2010:00:00Z");
    assert_eq!(server.get(&query, 400).await["field"], "from");
}
