//! The admin page's guards over plain HTTP (the browser tests drive the page itself): signing
//! in, the session cookie's flags, the Content-Security-Policy, refusing cross-site changes,
//! company keys kept to their company, an open server, and what a first load weighs.

mod http_support;

use holdfast::core::book::Settings;
use holdfast::http::auth::Keys;
use http_support::{slot, TestServer};
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::json;

const ADMIN: &str = "admin-key-0123456789";
const ACME: &str = "acme-key-0123456789";

fn keyed() -> TestServer {
    let keys = Keys::from_toml(&format!(
        "admin = \"{ADMIN}\"\n[companies]\nacme = \"{ACME}\"\n"
    ))
    .unwrap();
    TestServer::start_with(Settings::default(), keys)
}

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Signs in with `key`; answers the session cookie's `name=value`.
async fn sign_in(server: &TestServer, key: &str) -> String {
    let response = client()
        .post(server.url("/admin/login"))
        .form(&[("key", key)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    cookie.split(';').next().unwrap().to_string()
}

/// Goal: an unknown key is refused (401, the form again, no cookie); a known one gets a session
/// cookie that scripts cannot read, that no other site sends, scoped to the page and bounded in
/// time; every page says where its parts may come from; without a session the page sends the
/// browser to sign in.
#[tokio::test]
async fn signing_in_makes_a_guarded_session() {
    let server = keyed();
    let refused = client()
        .post(server.url("/admin/login"))
        .form(&[("key", "not-a-key-0123456789")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().get(SET_COOKIE).is_none());
    let response = client()
        .post(server.url("/admin/login"))
        .form(&[("key", ADMIN)])
        .send()
        .await
        .unwrap();
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/admin",
        "Max-Age=28800",
    ] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let anonymous = client()
        .get(server.url("/admin/companies"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()[LOCATION], "/admin/login");
    let session = cookie.split(';').next().unwrap();
    let page = client()
        .get(server.url("/admin/companies"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(policy.starts_with("default-src 'self'"), "{policy}");
}

/// Goal: a change that another site's page sends (by `Sec-Fetch-Site` or `Origin`) is refused
/// with 403 and changes nothing, even with the operator's cookie; from the page itself it runs.
#[tokio::test]
async fn cross_site_changes_are_refused() {
    let server = keyed();
    let session = sign_in(&server, ADMIN).await;
    let body = json!({"resource": "chair-1", "start": slot(0), "end": slot(30)}).to_string();
    let hold: serde_json::Value = server
        .send(
            reqwest::Method::POST,
            "/v1/companies/acme/holds",
            Some(ADMIN),
            Some(&body),
        )
        .await
        .json()
        .await
        .unwrap();
    let token = hold["token"].as_str().unwrap();
    let path = format!("/admin/companies/acme/holds/{token}/cancel");
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "http://evil.example"),
    ] {
        let response = client()
            .post(server.url(&path))
            .header("cookie", &session)
            .header(name, value)
            .form(&[("reason", "admin_cancelled")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{name}: {value}");
    }
    let read = read_hold(&server, token).await;
    assert_eq!(read["status"], "active", "nothing changed");
    let own_origin = format!("http://{}", server.address);
    let response = client()
        .post(server.url(&path))
        .header("cookie", &session)
        .header("origin", own_origin)
        .header("sec-fetch-site", "same-origin")
        .form(&[("reason", "admin_cancelled"), ("date", "2026-12-01")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let read = read_hold(&server, token).await;
    assert_eq!(read["status"], "cancelled");
}

async fn read_hold(server: &TestServer, token: &str) -> serde_json::Value {
    let path = format!("/v1/companies/acme/holds/{token}");
    let response = server
        .send(reqwest::Method::GET, &path, Some(ADMIN), None)
        .await;
    http_support::check(response, 200, None).await
}

/// Goal: a company key's session reaches its own company's day and nothing else: another
/// company's day, and changes there, answer 404 as a company that does not exist would.
#[tokio::test]
async fn a_company_session_stays_in_its_company() {
    let server = keyed();
    let session = sign_in(&server, ACME).await;
    let get = |path: &str| {
        client()
            .get(server.url(path))
            .header("cookie", &session)
            .send()
    };
    assert_eq!(get("/admin/companies/acme").await.unwrap().status(), 200);
    assert_eq!(get("/admin/companies/beta").await.unwrap().status(), 404);
    assert_eq!(
        get("/admin/companies/beta/day").await.unwrap().status(),
        404
    );
    let token = "00000000-0000-4000-8000-000000000000";
    let response = client()
        .post(server.url(&format!("/admin/companies/beta/holds/{token}/cancel")))
        .header("cookie", &session)
        .form(&[("reason", "admin_cancelled")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

/// Goal: with no keys file the page is open (the server binds loopback only), and a first load
/// of a day view (the page, its styles and scripts, gzip as a browser asks) stays under 300 KB.
#[tokio::test]
async fn an_open_server_opens_the_page_and_it_is_light() {
    let server = TestServer::start();
    // The client decodes no gzip (the feature is off): the bytes counted are those sent.
    let gzip = client();
    let mut total = 0;
    for path in [
        "/admin/companies/acme?date=2026-12-01",
        "/admin/assets/admin.css",
        "/admin/assets/admin.js",
        "/admin/assets/htmx.min.js",
    ] {
        let response = gzip
            .get(server.url(path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        total += response.bytes().await.unwrap().len();
    }
    assert!(total < 300 * 1_024, "a first load of {total} bytes");
    println!("a first load transfers {total} bytes");
    // The charts count the last hour's holds from the company's events.
    for minutes in [0, 60] {
        let body =
            json!({"resource": "chair-1", "start": slot(minutes), "end": slot(minutes + 30)});
        server
            .post("/v1/companies/acme/holds", &body.to_string(), 201)
            .await;
    }
    let hold = server
        .post(
            "/v1/companies/acme/holds",
            &json!({"resource": "chair-2", "start": slot(0), "end": slot(30)}).to_string(),
            201,
        )
        .await;
    let token = hold["token"].as_str().unwrap();
    server
        .post(
            &format!("/v1/companies/acme/holds/{token}/confirm"),
            "{}",
            200,
        )
        .await;
    let charts = client()
        .get(server.url("/admin/companies/acme/activity"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(charts.contains("3 created, 1 converted (33 %)"), "{charts}");
    assert_eq!(
        charts.matches("class=\"created\"").count(),
        60,
        "a bar a minute"
    );
}

/// Goal: a `[readonly]` key signs in to look at its company: the day shows no actions, a change
/// is refused (403) and changes nothing, and the key reaches no API.
#[tokio::test]
async fn a_readonly_key_looks_and_does_not_act() {
    let readonly = "acme-readonly-0123456789";
    let keys = Keys::from_toml(&format!(
        "admin = \"{ADMIN}\"\n[readonly]\nacme = \"{readonly}\"\n"
    ))
    .unwrap();
    let server = TestServer::start_with(Settings::default(), keys);
    let body = json!({"resource": "chair-1", "start": slot(0), "end": slot(30)}).to_string();
    let hold: serde_json::Value = server
        .send(
            reqwest::Method::POST,
            "/v1/companies/acme/holds",
            Some(ADMIN),
            Some(&body),
        )
        .await
        .json()
        .await
        .unwrap();
    let token = hold["token"].as_str().unwrap();
    let session = sign_in(&server, readonly).await;
    let page = client()
        .get(server.url("/admin/companies/acme?date=2026-12-01"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let text = page.text().await.unwrap();
    assert!(text.contains(token), "the hold is shown");
    assert!(
        !text.contains("class=\"cancel\""),
        "no actions for a read-only key"
    );
    let response = client()
        .post(server.url(&format!("/admin/companies/acme/holds/{token}/cancel")))
        .header("cookie", &session)
        .form(&[("reason", "admin_cancelled")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(read_hold(&server, token).await["status"], "active");
    let api = server
        .send(
            reqwest::Method::GET,
            "/v1/companies/acme/holds",
            Some(readonly),
            None,
        )
        .await;
    assert_eq!(api.status(), 401, "a read-only key is no API key");
}
