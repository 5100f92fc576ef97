//! Checks a catalogue of malformed requests against a real server: each gets its status and
//! problem type (and, for invalid requests, the field at fault), no worker or actor panics, and
//! the company's state is exactly what it was before (same list, same availability, same admin
//! counts), read at the same manual-clock instant.

mod http_support;

use http_support::{availability, check, single, slot, state, TestServer, HOLDS};
use reqwest::Method;

/// One malformed request and the answer it must get.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    status: u16,
    kind: &'static str,
    /// For `invalid_request`: the field `field` must name (and `detail` must start with).
    field: Option<&'static str>,
}

fn case(name: &'static str, method: Method, path: impl Into<String>) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        headers: Vec::new(),
        body: None,
        status: 400,
        kind: "invalid_request",
        field: None,
    }
}

impl Case {
    fn body(mut self, body: impl Into<Vec<u8>>) -> Case {
        self.body = Some(body.into());
        self
    }
    fn header(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.headers.push((name, value.into()));
        self
    }
    fn field(mut self, field: &'static str) -> Case {
        self.field = Some(field);
        self
    }
    fn answer(mut self, status: u16, kind: &'static str) -> Case {
        self.status = status;
        self.kind = kind;
        self
    }
}

/// A hold body with `extra` JSON members added to a valid single hold on `r9`.
fn hold_with(extra: &str) -> String {
    format!(
        r#"{{"resource":"r9","start":"{}","end":"{}",{extra}}}"#,
        slot(0),
        slot(30)
    )
}

/// A hold body on `r9` with this start and end text.
fn hold_at(start: &str, end: &str) -> String {
    format!(r#"{{"resource":"r9","start":"{start}","end":"{end}"}}"#)
}

/// A valid hold body whose `call_id` holds the byte 0xFF, which is not UTF-8.
fn invalid_utf8_body() -> Vec<u8> {
    hold_with(r#""call_id":"c#""#)
        .into_bytes()
        .into_iter()
        .map(|byte| if byte == b'#' { 0xFF } else { byte })
        .collect()
}

fn find_with(members: &str) -> String {
    format!(r#"{{"find":{{"resources":["r9"],{members}}}}}"#)
}

fn segment(resource: &str, minutes: i64) -> String {
    format!(
        r#"{{"resource":"{resource}","start":"{}","end":"{}"}}"#,
        slot(minutes),
        slot(minutes + 30)
    )
}

fn catalogue(active: &str) -> Vec<Case> {
    let day = format!("from={}&to={}", slot(0), slot(600));
    let hold_path = format!("{HOLDS}/{active}");
    let ten_thousand_segments = format!(
        r#"{{"segments":[{}]}}"#,
        vec![segment("r9", 0); 10_000].join(",")
    );
    let seventeen_segments = format!(
        r#"{{"segments":[{}]}}"#,
        (0..17)
            .map(|i| segment("r9", i * 30))
            .collect::<Vec<_>>()
            .join(",")
    );
    let ten_thousand_resources = find_with(&format!(
        r#""resources":[{}],"earliest":"{}","latest":"{}","duration_seconds":1800"#,
        vec![r#""a""#; 10_000].join(","),
        slot(0),
        slot(60)
    ))
    .replacen(r#""resources":["r9"],"#, "", 1);
    let sixty_five_resources = (0..65)
        .map(|i| format!("resource=r{i}"))
        .collect::<Vec<_>>()
        .join("&");
    let window = format!(r#""earliest":"{}","latest":"{}""#, slot(0), slot(60));
    vec![
        // ----- bodies that are not JSON, or not the right JSON -----
        case("truncated JSON", Method::POST, HOLDS)
            .body(r#"{"resource":"r9","start":"2026-"#)
            .field("body"),
        case("empty body", Method::POST, HOLDS)
            .body("")
            .field("body"),
        case("array instead of object", Method::POST, HOLDS)
            .body("[]")
            .field("body"),
        case("null body", Method::POST, HOLDS)
            .body("null")
            .field("body"),
        case("string body", Method::POST, HOLDS)
            .body(r#""hold""#)
            .field("body"),
        case("trailing data", Method::POST, HOLDS)
            .body(format!("{} xyz", single("r9", 0)))
            .field("body"),
        case("invalid UTF-8 in a string", Method::POST, HOLDS)
            .body(invalid_utf8_body())
            .field("body"),
        case("unknown field", Method::POST, HOLDS)
            .body(hold_with(r#""resourse":"r1""#))
            .field("resourse"),
        case("unknown field in a segment", Method::POST, HOLDS)
            .body(format!(
                r#"{{"segments":[{{"resource":"r9","start":"{}","end":"{}","room":1}}]}}"#,
                slot(0),
                slot(30)
            ))
            .field("segments[0].room"),
        case("unknown field in find", Method::POST, HOLDS)
            .body(find_with(&format!(
                r#"{window},"duration_seconds":1800,"staff":1"#
            )))
            .field("find.staff"),
        case("duplicate field", Method::POST, HOLDS)
            .body(format!(
                r#"{{"resource":"r9","resource":"r8","start":"{}","end":"{}"}}"#,
                slot(0),
                slot(30)
            ))
            .field("body"),
        case("deeply nested value", Method::POST, HOLDS)
            .body(format!(r#"{{"call_id":{}}}"#, "[".repeat(10_000)))
            .field("call_id"),
        // ----- wrong types and huge numbers -----
        case("ttl as string", Method::POST, HOLDS)
            .body(hold_with(r#""ttl_seconds":"300""#))
            .field("ttl_seconds"),
        case("ttl as float", Method::POST, HOLDS)
            .body(hold_with(r#""ttl_seconds":300.5"#))
            .field("ttl_seconds"),
        case("ttl beyond u64", Method::POST, HOLDS)
            .body(hold_with(r#""ttl_seconds":99999999999999999999"#))
            .field("ttl_seconds"),
        case("ttl beyond f64", Method::POST, HOLDS)
            .body(hold_with(r#""ttl_seconds":1e400"#))
            .field("body"),
        case("ttl zero", Method::POST, HOLDS)
            .body(hold_with(r#""ttl_seconds":0"#))
            .field("ttl_seconds"),
        case("ttl above an hour", Method::POST, HOLDS)
            .body(hold_with(r#""ttl_seconds":3601"#))
            .field("ttl_seconds"),
        case("negative ttl", Method::POST, HOLDS)
            .body(hold_with(r#""ttl_seconds":-5"#))
            .field("ttl_seconds"),
        case("replace flag as string", Method::POST, HOLDS)
            .body(hold_with(r#""replace_call_holds":"yes""#))
            .field("replace_call_holds"),
        case("resource as number", Method::POST, HOLDS)
            .body(format!(
                r#"{{"resource":7,"start":"{}","end":"{}"}}"#,
                slot(0),
                slot(30)
            ))
            .field("resource"),
        // ----- times -----
        case("end before start", Method::POST, HOLDS)
            .body(hold_at(&slot(30), &slot(0)))
            .field("end"),
        case("end equal to start", Method::POST, HOLDS)
            .body(hold_at(&slot(0), &slot(0)))
            .field("end"),
        case("time in words", Method::POST, HOLDS)
            .body(hold_at("tomorrow", &slot(30)))
            .field("start"),
        case("time without offset", Method::POST, HOLDS)
            .body(hold_at("2026-12-01T10:00:00", &slot(30)))
            .field("start"),
        case("time below a millisecond", Method::POST, HOLDS)
            .body(hold_at("2026-12-01T10:00:00.0005Z", &slot(30)))
            .field("start"),
        case("leap second", Method::POST, HOLDS)
            .body(hold_at("2026-12-31T23:59:60Z", "2027-01-01T00:30:00Z"))
            .field("start"),
        case("before 1970", Method::POST, HOLDS)
            .body(hold_at("1969-12-31T23:00:00Z", "1969-12-31T23:30:00Z"))
            .field("start"),
        case("segment longer than a year", Method::POST, HOLDS)
            .body(hold_at(&slot(0), "2028-12-01T10:00:00Z"))
            .field("end"),
        // ----- forms and counts -----
        case("two forms at once", Method::POST, HOLDS)
            .body(hold_with(&format!(r#""segments":[{}]"#, segment("r8", 0))))
            .field("body"),
        case("no form at all", Method::POST, HOLDS)
            .body(r#"{"ttl_seconds":60}"#)
            .field("body"),
        case("single without end", Method::POST, HOLDS)
            .body(format!(r#"{{"resource":"r9","start":"{}"}}"#, slot(0)))
            .field("end"),
        case("no segments", Method::POST, HOLDS)
            .body(r#"{"segments":[]}"#)
            .field("segments"),
        case("seventeen segments", Method::POST, HOLDS)
            .body(seventeen_segments)
            .field("segments"),
        case("overlapping segments on one resource", Method::POST, HOLDS)
            .body(format!(
                r#"{{"segments":[{},{}]}}"#,
                segment("r9", 0),
                segment("r9", 15)
            ))
            .field("segments[1]"),
        case("10,000 segments", Method::POST, HOLDS)
            .body(ten_thousand_segments)
            .answer(413, "payload_too_large"),
        case("10,000 resources in find", Method::POST, HOLDS)
            .body(ten_thousand_resources)
            .field("find.resources"),
        case("find duration zero", Method::POST, HOLDS)
            .body(find_with(&format!(r#"{window},"duration_seconds":0"#)))
            .field("find.duration_seconds"),
        case("find duration beyond i64 milliseconds", Method::POST, HOLDS)
            .body(find_with(&format!(
                r#"{window},"duration_seconds":9223372036854775807"#
            )))
            .field("find.duration_seconds"),
        case("find duration longer than its window", Method::POST, HOLDS)
            .body(find_with(&format!(r#"{window},"duration_seconds":7200"#)))
            .field("find.duration_seconds"),
        case("find latest before earliest", Method::POST, HOLDS)
            .body(find_with(&format!(
                r#""earliest":"{}","latest":"{}","duration_seconds":1800"#,
                slot(60),
                slot(0)
            )))
            .field("find.latest"),
        // ----- strings and their limits -----
        case("overlong resource id", Method::POST, HOLDS)
            .body(single(&"r".repeat(65), 0))
            .field("resource"),
        case("resource id with a space", Method::POST, HOLDS)
            .body(single("r 9", 0))
            .field("resource"),
        case("overlong call id", Method::POST, HOLDS)
            .body(hold_with(&format!(r#""call_id":"{}""#, "c".repeat(129))))
            .field("call_id"),
        case("control character in call id", Method::POST, HOLDS)
            .body(hold_with(r#""call_id":"ab\u0007""#))
            .field("call_id"),
        case("phone without plus", Method::POST, HOLDS)
            .body(hold_with(r#""customer_phone":"4915112345678""#))
            .field("customer_phone"),
        case("phone too short", Method::POST, HOLDS)
            .body(hold_with(r#""customer_phone":"+123""#))
            .field("customer_phone"),
        case("overlong Idempotency-Key", Method::POST, HOLDS)
            .body(single("r9", 0))
            .header("idempotency-key", "k".repeat(129))
            .field("Idempotency-Key"),
        case("body over 64 KiB", Method::POST, HOLDS)
            .body(hold_with(&format!(
                r#""service_id":"{}""#,
                "s".repeat(70_000)
            )))
            .answer(413, "payload_too_large"),
        case("body declared as text", Method::POST, HOLDS)
            .body(single("r9", 0))
            .header("content-type", "text/plain")
            .answer(415, "unsupported_media_type"),
        case(
            "query on create",
            Method::POST,
            format!("{HOLDS}?dry_run=1"),
        )
        .body(single("r9", 0))
        .field("dry_run"),
        // ----- paths -----
        case(
            "token not a UUID",
            Method::GET,
            format!("{HOLDS}/not-a-token"),
        )
        .answer(404, "not_found"),
        case(
            "token in braces",
            Method::GET,
            format!("{HOLDS}/{{{active}}}"),
        )
        .answer(404, "not_found"),
        case(
            "token without hyphens",
            Method::GET,
            format!("{HOLDS}/{}", active.replace('-', "")),
        )
        .answer(404, "not_found"),
        case(
            "token of 10,000 characters",
            Method::GET,
            format!("{HOLDS}/{}", "a".repeat(10_000)),
        )
        .answer(404, "not_found"),
        case(
            "confirm a malformed token",
            Method::POST,
            format!("{HOLDS}/zzz/confirm"),
        )
        .answer(404, "not_found"),
        case(
            "overlong company id",
            Method::GET,
            format!("/v1/companies/{}/holds", "c".repeat(65)),
        )
        .field("company"),
        case(
            "company id with invalid UTF-8",
            Method::GET,
            "/v1/companies/ac%FFme/holds",
        )
        .field("company"),
        // ----- query strings -----
        case("limit zero", Method::GET, format!("{HOLDS}?limit=0")).field("limit"),
        case(
            "limit above 1000",
            Method::GET,
            format!("{HOLDS}?limit=1001"),
        )
        .field("limit"),
        case("limit in words", Method::GET, format!("{HOLDS}?limit=ten")).field("limit"),
        case(
            "limit beyond u64",
            Method::GET,
            format!("{HOLDS}?limit=99999999999999999999999"),
        )
        .field("limit"),
        case(
            "unknown status",
            Method::GET,
            format!("{HOLDS}?status=gone"),
        )
        .field("status"),
        case(
            "list window backwards",
            Method::GET,
            format!("{HOLDS}?from={}&to={}", slot(60), slot(0)),
        )
        .field("to"),
        case(
            "unknown list parameter",
            Method::GET,
            format!("{HOLDS}?colour=red"),
        )
        .field("colour"),
        case(
            "repeated limit",
            Method::GET,
            format!("{HOLDS}?limit=1&limit=2"),
        )
        .field("limit"),
        case(
            "list cursor that is not one",
            Method::GET,
            format!("{HOLDS}?cursor=page-2"),
        )
        .field("cursor"),
        case(
            "call id with invalid UTF-8",
            Method::GET,
            format!("{HOLDS}?call_id=%FF%FE"),
        )
        .field("call_id"),
        case(
            "call id with a malformed escape",
            Method::GET,
            format!("{HOLDS}?call_id=ab%zz"),
        )
        .field("call_id"),
        case(
            "availability without duration",
            Method::GET,
            availability(&format!("resource=r1&{day}")),
        )
        .field("duration_seconds"),
        case(
            "availability over 64 resources",
            Method::GET,
            availability(&format!(
                "{sixty_five_resources}&{day}&duration_seconds=1800"
            )),
        )
        .field("resource"),
        case(
            "availability without resource",
            Method::GET,
            availability(&format!("{day}&duration_seconds=1800")),
        )
        .field("resource"),
        case(
            "availability backwards",
            Method::GET,
            availability(&format!(
                "resource=r1&from={}&to={}&duration_seconds=1800",
                slot(60),
                slot(0)
            )),
        )
        .field("to"),
        case(
            "availability float duration",
            Method::GET,
            availability(&format!("resource=r1&{day}&duration_seconds=1e3")),
        )
        .field("duration_seconds"),
        case(
            "availability step zero",
            Method::GET,
            availability(&format!(
                "resource=r1&{day}&duration_seconds=1800&step_seconds=0"
            )),
        )
        .field("step_seconds"),
        // ----- operations on a real active hold, with bad input: the hold must not change -----
        case(
            "cancel reason with a space",
            Method::DELETE,
            format!("{hold_path}?reason=hung%20up"),
        )
        .field("reason"),
        case(
            "cancel reason too long",
            Method::DELETE,
            format!("{hold_path}?reason={}", "r".repeat(65)),
        )
        .field("reason"),
        case(
            "confirm with overlong appointment id",
            Method::POST,
            format!("{hold_path}/confirm"),
        )
        .body(format!(r#"{{"appointment_id":"{}"}}"#, "a".repeat(129)))
        .field("appointment_id"),
        case(
            "confirm with unknown field",
            Method::POST,
            format!("{hold_path}/confirm"),
        )
        .body(r#"{"appointment":"A-1"}"#)
        .field("appointment"),
        case(
            "extend by zero",
            Method::POST,
            format!("{hold_path}/extend"),
        )
        .body(r#"{"ttl_seconds":0}"#)
        .field("ttl_seconds"),
        case(
            "extend by text",
            Method::POST,
            format!("{hold_path}/extend"),
        )
        .body(r#"{"ttl_seconds":"long"}"#)
        .field("ttl_seconds"),
        case(
            "extend with a JSON array",
            Method::POST,
            format!("{hold_path}/extend"),
        )
        .body("[300]")
        .field("body"),
    ]
}

/// Goal: every malformed request of the catalogue gets its status, problem type and field, and
/// the state afterwards is exactly the state before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_change_nothing() {
    let server = TestServer::start();
    let active = server.post(HOLDS, &single("r1", 0), 201).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let booked = server.post(HOLDS, &single("r2", 60), 201).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .post(&format!("{HOLDS}/{booked}/confirm"), "", 200)
        .await;
    let cancelled = server.post(HOLDS, &single("r1", 120), 201).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    check(
        server
            .send(Method::DELETE, &format!("{HOLDS}/{cancelled}"), None, None)
            .await,
        200,
        None,
    )
    .await;
    let before = state(&server).await;

    let cases = catalogue(&active);
    assert!(cases.len() >= 40, "the catalogue has {} cases", cases.len());
    for case in cases {
        let mut request = server
            .client
            .request(case.method.clone(), server.url(&case.path));
        let declares_type = case.headers.iter().any(|(name, _)| *name == "content-type");
        if let Some(body) = &case.body {
            if !declares_type {
                request = request.header("content-type", "application/json");
            }
            request = request.body(body.clone());
        }
        for (name, value) in &case.headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        assert_eq!(status, case.status, "case '{}'", case.name);
        let problem = check(response, case.status, Some(case.kind)).await;
        if let Some(field) = case.field {
            assert_eq!(problem["field"], field, "case '{}': {problem}", case.name);
            let detail = problem["detail"].as_str().unwrap();
            assert!(detail.starts_with(field), "case '{}': {detail}", case.name);
        }
        assert!(
            problem.to_string().len() < 2_048,
            "case '{}' answers a long error: {problem}",
            case.name
        );
    }

    assert_eq!(
        state(&server).await,
        before,
        "a malformed request changed the state"
    );
}
