//! Checks a company's settings and its resources' configuration over HTTP, against a real server
//! on a loopback port: the settings' round trip and partial change, the default time to live of
//! a hold that names none, a resource's life (created, replaced, read, listed, removed), opening
//! hours and closures on the company's wall clock, capacity, and every kind of bad input refused
//! with 400 naming its field while the state stays as it was.

mod http_support;

use http_support::{check, single, slot, token_of, TestServer, HOLDS};
use reqwest::Method;
use serde_json::{json, Value};

const SETTINGS: &str = "/v1/companies/acme/settings";
const RESOURCES: &str = "/v1/companies/acme/resources";

/// The path of acme's resource `name`.
fn resource(name: &str) -> String {
    format!("{RESOURCES}/{name}")
}

/// PUT a JSON body, checked for `status`.
async fn put(server: &TestServer, path: &str, body: &Value, status: u16) -> Value {
    let response = server
        .send(Method::PUT, path, None, Some(&body.to_string()))
        .await;
    check(response, status, None).await
}

/// DELETE, checked for `status`.
async fn delete(server: &TestServer, path: &str, status: u16) -> Value {
    check(
        server.send(Method::DELETE, path, None, None).await,
        status,
        None,
    )
    .await
}

/// A hold body on `resource` from `start` to `end`.
fn hold_body(resource: &str, start: &str, end: &str) -> String {
    json!({"resource": resource, "start": start, "end": end}).to_string()
}

/// Milliseconds since the epoch of an RFC 3339 text the server wrote.
fn millis(text: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text.as_str().expect("a time"))
        .expect("RFC 3339")
        .timestamp_millis()
}

/// Settings other than the defaults in every field.
fn berlin_settings() -> Value {
    json!({"time_zone": "Europe/Berlin", "locale": "de", "default_duration_minutes": 45,
        "default_ttl_seconds": 120})
}

/// A configuration with every part set.
fn full_resource() -> Value {
    json!({"label": "Dr. Meier", "capacity": 2,
        "hours": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "tue": [["09:00", "17:00"]]},
        "closed": [{"start": "2026-12-24T00:00:00+01:00", "end": "2026-12-27T00:00:00+01:00"}]})
}

/// Sets the settings to [`berlin_settings`], sends `body` as a settings change, and checks that
/// it is refused with 400 naming `field` and that the settings are still the ones before.
async fn check_settings_refused(body: Value, field: &str) {
    let server = TestServer::start();
    let before = put(&server, SETTINGS, &berlin_settings(), 200).await;
    let refused = put(&server, SETTINGS, &body, 400).await;
    assert_eq!(refused["type"], "invalid_request", "{refused}");
    assert_eq!(refused["field"], field, "{refused}");
    assert_eq!(server.get(SETTINGS, 200).await, before);
}

/// Configures `staff-7` with [`full_resource`], sends `body` for it and for the unconfigured
/// `staff-8`, and checks that both are refused with 400 naming `field` and that nothing changed:
/// `staff-7` reads as before and `staff-8` is still not configured.
async fn check_resource_refused(body: Value, field: &str) {
    let server = TestServer::start();
    put(&server, SETTINGS, &berlin_settings(), 200).await;
    let before = put(&server, &resource("staff-7"), &full_resource(), 201).await;
    for name in ["staff-7", "staff-8"] {
        let refused = put(&server, &resource(name), &body, 400).await;
        assert_eq!(refused["type"], "invalid_request", "{refused}");
        assert_eq!(refused["field"], field, "{refused}");
    }
    assert_eq!(server.get(&resource("staff-7"), 200).await, before);
    server.get(&resource("staff-8"), 404).await;
    assert_eq!(
        server.get(RESOURCES, 200).await,
        json!({"resources": [before]})
    );
}

/// Goal: a company's settings start at the defaults, a change of every field answers and reads
/// back the whole settings, and a change of one field keeps the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_round_trip_and_partial_change() {
    let server = TestServer::start();
    let defaults = json!({"time_zone": "UTC", "locale": "en", "default_duration_minutes": 30,
        "default_ttl_seconds": 300});
    assert_eq!(server.get(SETTINGS, 200).await, defaults);

    let changed = put(&server, SETTINGS, &berlin_settings(), 200).await;
    assert_eq!(changed, berlin_settings());
    assert_eq!(server.get(SETTINGS, 200).await, berlin_settings());

    let partial = put(&server, SETTINGS, &json!({"locale": "en"}), 200).await;
    let mut expected = berlin_settings();
    expected["locale"] = json!("en");
    assert_eq!(partial, expected);
    let nulls = json!({"time_zone": null, "default_ttl_seconds": null});
    assert_eq!(put(&server, SETTINGS, &nulls, 200).await, expected);
    assert_eq!(put(&server, SETTINGS, &json!({}), 200).await, expected);
    assert_eq!(server.get(SETTINGS, 200).await, expected);
}

/// Goal: a hold that names no `ttl_seconds` lives for the company's `default_ttl_seconds`, and
/// one that names it keeps its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_without_ttl_gets_the_company_default() {
    let server = TestServer::start();
    let first = server.post(HOLDS, &single("r1", 0), 201).await;
    assert_eq!(
        millis(&first["expires_at"]) - millis(&first["reserved_at"]),
        300_000
    );

    put(&server, SETTINGS, &json!({"default_ttl_seconds": 120}), 200).await;
    let defaulted = server.post(HOLDS, &single("r1", 60), 201).await;
    assert_eq!(
        millis(&defaulted["expires_at"]) - millis(&defaulted["reserved_at"]),
        120_000
    );
    let own = json!({"resource": "r1", "start": slot(120), "end": slot(150), "ttl_seconds": 60});
    let named = server.post(HOLDS, &own.to_string(), 201).await;
    assert_eq!(
        millis(&named["expires_at"]) - millis(&named["reserved_at"]),
        60_000
    );
}

/// Goal: a resource's life over HTTP: the first PUT answers 201 and a second 200, each with the
/// resource as GET reads it; the list is sorted by name; DELETE answers 204 with no body, then
/// 404, and GET of a resource without configuration is 404; removing a configuration leaves the
/// resource's reservations as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_is_created_replaced_listed_and_removed() {
    let server = TestServer::start();
    server.get(&resource("staff-9"), 404).await;
    assert_eq!(server.get(RESOURCES, 200).await, json!({"resources": []}));

    let created = put(&server, &resource("staff-9"), &full_resource(), 201).await;
    let mut expected = full_resource();
    expected["resource"] = json!("staff-9");
    expected["closed"] = json!([{"start": "2026-12-23T23:00:00Z", "end": "2026-12-26T23:00:00Z"}]);
    assert_eq!(created, expected, "read in the company's zone, UTC");
    assert_eq!(server.get(&resource("staff-9"), 200).await, created);

    let replacement = json!({"capacity": 3});
    let replaced = put(&server, &resource("staff-9"), &replacement, 200).await;
    let bare = json!({"resource": "staff-9", "label": null, "capacity": 3, "hours": null,
        "closed": []});
    assert_eq!(replaced, bare, "a PUT replaces the whole configuration");
    assert_eq!(server.get(&resource("staff-9"), 200).await, bare);

    put(&server, &resource("staff-10"), &json!({}), 201).await;
    put(
        &server,
        &resource("chair-1"),
        &json!({"label": "Chair"}),
        201,
    )
    .await;
    let listed = server.get(RESOURCES, 200).await;
    let names: Vec<&str> = listed["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resource"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["chair-1", "staff-10", "staff-9"]);
    assert_eq!(listed["resources"][2], bare);

    let held = server.post(HOLDS, &single("staff-9", 0), 201).await;
    let response = server
        .send(Method::DELETE, &resource("staff-9"), None, None)
        .await;
    assert_eq!(response.status(), 204);
    assert!(response.text().await.unwrap().is_empty());
    let gone = delete(&server, &resource("staff-9"), 404).await;
    assert_eq!(gone["type"], "not_found");
    server.get(&resource("staff-9"), 404).await;
    let hold = server
        .get(&format!("{HOLDS}/{}", token_of(&held)), 200)
        .await;
    assert_eq!(
        hold, held,
        "the configuration's removal touches no reservation"
    );
    assert_eq!(
        server.get(RESOURCES, 200).await["resources"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// Goal: a resource's closures are answered on the company's wall clock (the offset its zone
/// has then), whatever offset they were sent in; `label` and `hours` are `null` when not set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closures_are_answered_in_the_company_time_zone() {
    let server = TestServer::start();
    put(
        &server,
        SETTINGS,
        &json!({"time_zone": "Europe/Berlin"}),
        200,
    )
    .await;
    let body = json!({"closed": [
        {"start": "2026-12-23T23:00:00Z", "end": "2026-12-27T00:00:00+01:00"},
        {"start": "2026-07-01T10:00:00.250Z", "end": "2026-07-02T00:00:00+02:00"}]});
    let answer = put(&server, &resource("staff-7"), &body, 201).await;
    let berlin = json!({"resource": "staff-7", "label": null, "capacity": 1, "hours": null,
        "closed": [
            {"start": "2026-07-01T12:00:00.250+02:00", "end": "2026-07-02T00:00:00+02:00"},
            {"start": "2026-12-24T00:00:00+01:00", "end": "2026-12-27T00:00:00+01:00"}]});
    assert_eq!(answer, berlin, "sorted by start, on Berlin's wall clock");
    assert_eq!(server.get(&resource("staff-7"), 200).await, berlin);

    put(&server, SETTINGS, &json!({"time_zone": "UTC"}), 200).await;
    let utc = server.get(&resource("staff-7"), 200).await;
    assert_eq!(
        utc["closed"],
        json!([{"start": "2026-07-01T10:00:00.250Z", "end": "2026-07-01T22:00:00Z"},
            {"start": "2026-12-23T23:00:00Z", "end": "2026-12-26T23:00:00Z"}])
    );
}

/// Goal: a hold outside a resource's opening hours, or inside one of its closures, is 409
/// `outside_hours` naming the resource; inside the hours it is held; once the configuration is
/// removed the resource is open around the clock again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_outside_hours_is_refused_naming_the_resource() {
    let server = TestServer::start();
    let config = json!({"hours": {"tue": [["09:00", "17:00"]]},
        "closed": [{"start": slot(120), "end": slot(180)}]});
    put(&server, &resource("staff-7"), &config, 201).await;

    // 2026-12-01 is a Tuesday: 10:00Z is open, 17:00Z is past closing, 12:00Z is closed.
    server.post(HOLDS, &single("staff-7", 0), 201).await;
    for minutes in [420, 120, -120] {
        let refused = check(
            server
                .send(Method::POST, HOLDS, None, Some(&single("staff-7", minutes)))
                .await,
            409,
            Some("outside_hours"),
        )
        .await;
        assert_eq!(refused["resource"], "staff-7", "{refused}");
    }
    delete(&server, &resource("staff-7"), 204).await;
    server.post(HOLDS, &single("staff-7", 420), 201).await;
}

/// Goal: opening hours are read on the wall clock of the company's time zone: Tuesday 09:00 to
/// 17:00 in Berlin (UTC+1 in December) takes a hold at 08:00Z and refuses one at 07:00Z.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hours_follow_the_company_time_zone() {
    let server = TestServer::start();
    put(
        &server,
        SETTINGS,
        &json!({"time_zone": "Europe/Berlin"}),
        200,
    )
    .await;
    let config = json!({"hours": {"tue": [["09:00", "17:00"]]}});
    put(&server, &resource("staff-7"), &config, 201).await;

    let open = hold_body("staff-7", "2026-12-01T08:00:00Z", "2026-12-01T08:30:00Z");
    server.post(HOLDS, &open, 201).await;
    let early = hold_body("staff-7", "2026-12-01T07:00:00Z", "2026-12-01T07:30:00Z");
    let refused = check(
        server.send(Method::POST, HOLDS, None, Some(&early)).await,
        409,
        Some("outside_hours"),
    )
    .await;
    assert_eq!(refused["resource"], "staff-7");
    let late = hold_body("staff-7", "2026-12-01T15:30:00Z", "2026-12-01T16:00:00Z");
    server.post(HOLDS, &late, 201).await;
}

/// Goal: a resource of capacity 2 takes two overlapping holds and refuses a third with 409
/// `conflict`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_two_takes_two_overlapping_holds() {
    let server = TestServer::start();
    put(&server, &resource("room-1"), &json!({"capacity": 2}), 201).await;
    server.post(HOLDS, &single("room-1", 0), 201).await;
    server.post(HOLDS, &single("room-1", 15), 201).await;
    let refused = check(
        server
            .send(Method::POST, HOLDS, None, Some(&single("room-1", 10)))
            .await,
        409,
        Some("conflict"),
    )
    .await;
    assert!(!refused["conflicts"].as_array().unwrap().is_empty());
    server.post(HOLDS, &single("room-1", 30), 201).await;
}

/// Goal: a company or resource path segment that is not an id, and a body refused for a
/// company not started, are 400 naming the field and start no company.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_segments_and_bodies_start_no_company() {
    let server = TestServer::start();
    let long = "r".repeat(65);
    let cases = [
        (
            Method::GET,
            "/v1/companies/bad.id/settings".to_string(),
            None,
            "company",
        ),
        (
            Method::GET,
            "/v1/companies/bad.id/resources".to_string(),
            None,
            "company",
        ),
        (Method::GET, resource("bad.id"), None, "resource"),
        (Method::GET, resource(&long), None, "resource"),
        (Method::DELETE, resource("bad.id"), None, "resource"),
        (Method::PUT, resource("bad.id"), Some("{}"), "resource"),
        (
            Method::PUT,
            resource("r1"),
            Some(r#"{"capacity": 0}"#),
            "capacity",
        ),
        (
            Method::PUT,
            SETTINGS.to_string(),
            Some(r#"{"locale": "fr"}"#),
            "locale",
        ),
        (Method::PUT, SETTINGS.to_string(), Some(""), "body"),
    ];
    for (method, path, body, field) in cases {
        let response = server.send(method.clone(), &path, None, body).await;
        let refused = check(response, 400, Some("invalid_request")).await;
        assert_eq!(refused["field"], field, "{method} {path}: {refused}");
    }
    let companies = server.get("/v1/admin/companies", 200).await;
    assert_eq!(companies["companies"], json!([]));
}

/// Goal: bodies of the wrong shape are refused naming the field: an unknown field, a wrong
/// type, a number written as a fraction, a positional body, a query string.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_name_the_field() {
    let server = TestServer::start();
    let cases = [
        (SETTINGS.to_string(), r#"{"colour": "red"}"#, "colour"),
        (SETTINGS.to_string(), r#"{"time_zone": 5}"#, "time_zone"),
        (
            SETTINGS.to_string(),
            r#"{"default_ttl_seconds": 300.0}"#,
            "default_ttl_seconds",
        ),
        (SETTINGS.to_string(), r#"["UTC"]"#, "body"),
        (resource("r1"), r#"{"capacity": "2"}"#, "capacity"),
        (
            resource("r1"),
            r#"{"hours": {"mon": "09:00-17:00"}}"#,
            "hours.mon",
        ),
        (
            resource("r1"),
            r#"{"closed": {"start": "2026-12-24T00:00:00Z"}}"#,
            "closed",
        ),
        (
            resource("r1"),
            r#"{"closed": [{"start": "2026-12-24T00:00:00Z", "end": "2026-12-25T00:00:00Z", "why": "x"}]}"#,
            "closed[0].why",
        ),
        (format!("{}?x=1", resource("r1")), "{}", "x"),
    ];
    for (path, body, field) in cases {
        let response = server.send(Method::PUT, &path, None, Some(body)).await;
        let refused = check(response, 400, Some("invalid_request")).await;
        assert_eq!(refused["field"], field, "{path} {body}: {refused}");
    }
    server.get(&resource("r1"), 404).await;
}

/// Goal: an unknown time zone is refused naming `time_zone`; the settings stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_time_zone_is_refused() {
    check_settings_refused(json!({"time_zone": "Mars/Olympus_Mons"}), "time_zone").await;
}

/// Goal: a locale other than `en` and `de` is refused naming `locale`; the settings stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locale_fr_is_refused() {
    check_settings_refused(json!({"locale": "fr", "time_zone": "UTC"}), "locale").await;
}

/// Goal: a default time to live of 0 is refused naming `default_ttl_seconds`; the settings
/// stay, the other fields of the same body included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_ttl_zero_is_refused() {
    let body = json!({"default_ttl_seconds": 0, "locale": "en"});
    check_settings_refused(body, "default_ttl_seconds").await;
}

/// Goal: a default time to live over an hour is refused naming `default_ttl_seconds`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_ttl_3601_is_refused() {
    check_settings_refused(json!({"default_ttl_seconds": 3601}), "default_ttl_seconds").await;
}

/// Goal: a default duration outside 1 to 1,440 minutes is refused naming
/// `default_duration_minutes`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_duration_out_of_range_is_refused() {
    let body = json!({"default_duration_minutes": 1441});
    check_settings_refused(body, "default_duration_minutes").await;
}

/// Goal: a time of day past 24:00 is refused naming its interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hour_25_is_refused() {
    let body = json!({"hours": {"mon": [["09:00", "12:00"], ["13:00", "25:00"]]}});
    check_resource_refused(body, "hours.mon[1]").await;
}

/// Goal: overlapping intervals of one day are refused naming the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_intervals_are_refused() {
    let body = json!({"hours": {"mon": [["09:00", "12:00"]],
        "tue": [["09:00", "12:00"], ["11:30", "17:00"]]}});
    check_resource_refused(body, "hours.tue[1]").await;
}

/// Goal: an interval that closes before it opens is refused naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_before_open_is_refused() {
    check_resource_refused(
        json!({"hours": {"wed": [["17:00", "09:00"]]}}),
        "hours.wed[0]",
    )
    .await;
}

/// Goal: a weekday that does not exist is refused naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_weekday_is_refused() {
    let body = json!({"hours": {"mon": [["09:00", "12:00"]], "xyz": [["09:00", "12:00"]]}});
    check_resource_refused(body, "hours.xyz").await;
}

/// Goal: a capacity of 0 is refused naming `capacity`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_zero_is_refused() {
    check_resource_refused(json!({"capacity": 0}), "capacity").await;
}

/// Goal: a capacity over 1,000 is refused naming `capacity`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_1001_is_refused() {
    check_resource_refused(json!({"capacity": 1001, "label": "Big"}), "capacity").await;
}

/// Goal: a closure that ends before it starts is refused naming its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closure_ending_before_its_start_is_refused() {
    let body = json!({"closed": [
        {"start": "2026-12-24T00:00:00+01:00", "end": "2026-12-27T00:00:00+01:00"},
        {"start": "2026-12-31T00:00:00Z", "end": "2026-12-30T00:00:00Z"}]});
    check_resource_refused(body, "closed[1].end").await;
}

/// Goal: a closure time that is not RFC 3339 with an offset is refused naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparsable_closure_time_is_refused() {
    let body = json!({"closed": [{"start": "2026-12-24T00:00:00", "end": "2026-12-27T00:00:00Z"}]});
    check_resource_refused(body, "closed[0].start").await;
}

/// Goal: a label with a control character is refused naming `label`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_with_a_control_character_is_refused() {
    check_resource_refused(json!({"label": "Dr.\u{7}Meier"}), "label").await;
}
