//! Checks who reaches what over HTTP, against a real server: a token is found only under its own
//! company, and with keys a company key reaches only its company, unknown keys are refused, and
//! the admin key reaches all.

mod http_support;

use holdfast::core::book::Settings;
use holdfast::http::auth::Keys;
use http_support::{check, single, token_of, TestServer, HOLDS};
use reqwest::Method;
use serde_json::json;

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
