//! What the HTTP tests share: a real server on `127.0.0.1:0`, started through
//! `holdfast::server` like the binary's (its own actix system, a temporary data directory, the
//! write-ahead log synced before every answer, the snapshotter), with a manual clock so that
//! expiry is tested by moving time, not by sleeping; a real HTTP client; and `check`, the one
//! assertion every answer goes through.

#![allow(dead_code)] // each test binary uses its own part of this module

use holdfast::actors::engine::EngineConfig;
use holdfast::clock::ManualClock;
use holdfast::core::book::Settings;
use holdfast::durability::log::DurabilityMode;
use holdfast::durability::DurabilityConfig;
use holdfast::http::auth::Keys;
use holdfast::http::HttpOptions;
use holdfast::server::{RunError, ServerConfig, ServerThread};
use prometheus_parse::Scrape;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

/// The server's "now" at start: 2026-11-30T09:00:00Z, the day before the slots the tests hold.
pub const NOW_MS: i64 = 1_796_029_200_000;

/// How long the test client keeps an idle connection: under the server's keep-alive.
const CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// A running server; dropped, it shuts down through the same path as SIGTERM and is joined,
/// then its data directory is removed.
pub struct TestServer {
    pub address: SocketAddr,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    server: ServerThread,
    /// Removed after the server has stopped.
    _data_dir: tempfile::TempDir,
}

impl TestServer {
    /// An open server with the default settings.
    pub fn start() -> TestServer {
        TestServer::start_with(Settings::default(), Keys::open())
    }

    /// A server with these settings and keys.
    pub fn start_with(settings: Settings, keys: Keys) -> TestServer {
        TestServer::start_configured(settings, keys, |_| {})
    }

    /// An open server with the default settings and at most `total_live_limit` live
    /// reservations over every company.
    pub fn start_with_total_live_limit(total_live_limit: u64) -> TestServer {
        TestServer::start_configured(Settings::default(), Keys::open(), |engine| {
            engine.total_live_limit = total_live_limit
        })
    }

    /// A server with these settings and keys, its engine's configuration then changed by
    /// `configure`.
    pub fn start_configured(
        settings: Settings,
        keys: Keys,
        configure: impl FnOnce(&mut EngineConfig),
    ) -> TestServer {
        TestServer::start_serving(settings, keys, configure, HttpOptions::default())
    }

    /// An open server with the default settings whose webhooks may go to loopback (a receiver
    /// in the test process).
    pub fn start_with_private_webhooks() -> TestServer {
        let http = HttpOptions {
            webhooks: holdfast::webhooks::DeliveryOptions {
                allow_private: true,
            },
            ..HttpOptions::default()
        };
        TestServer::start_serving(Settings::default(), Keys::open(), |_| {}, http)
    }

    /// A server with these settings, keys and HTTP options (its keys set here),
    /// its engine's configuration changed by `configure`.
    pub fn start_serving(
        settings: Settings,
        keys: Keys,
        configure: impl FnOnce(&mut EngineConfig),
        http: HttpOptions,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let data_dir = tempfile::tempdir().expect("a temporary data directory");
        let clock = ManualClock::new(NOW_MS);
        let mut engine = EngineConfig {
            settings,
            clock: clock.clone(),
            arbiters: 2,
            ..EngineConfig::default()
        };
        configure(&mut engine);
        let config = ServerConfig {
            engine,
            durability: DurabilityConfig {
                data_dir: data_dir.path().to_path_buf(),
                mode: DurabilityMode::Wal,
                // Long enough that no periodic snapshot runs inside a test.
                snapshot_interval: Duration::from_secs(3_600),
                keep_snapshots: 2,
                disk: holdfast::durability::disk::Disk::real(),
            },
            http: HttpOptions { keys, ..http },
        };
        let server = ServerThread::spawn(config, listener).expect("the server starts");
        TestServer {
            address: server.address(),
            clock,
            // Idle connections are dropped by the client well before the server's 5 s
            // keep-alive closes them, so that no request is sent on a connection the server
            // is closing at that moment (a race a slow, loaded machine hits).
            client: reqwest::Client::builder()
                .pool_idle_timeout(CLIENT_IDLE_TIMEOUT)
                .build()
                .expect("an HTTP client"),
            server,
            _data_dir: data_dir,
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Sends a request; `body` is sent as-is with `Content-Type: application/json` when given.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        request.send().await.expect("the server answers")
    }

    /// GET, checked for `status`.
    pub async fn get(&self, path: &str, status: u16) -> Value {
        check(self.send(Method::GET, path, None, None).await, status, None).await
    }

    /// POST a JSON body, checked for `status`.
    pub async fn post(&self, path: &str, body: &str, status: u16) -> Value {
        check(
            self.send(Method::POST, path, None, Some(body)).await,
            status,
            None,
        )
        .await
    }

    /// Stops the server (drain, final snapshot, log closed) and waits for it.
    pub fn stop(&mut self) -> Result<(), RunError> {
        self.server.stop()
    }
}

/// Checks an answer's status and, for errors, that it is problem+json with the `type` given
/// (or the one the status implies). Returns the JSON body (`null` when there is none).
pub async fn check(response: reqwest::Response, status: u16, kind: Option<&str>) -> Value {
    let got = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_owned())
        .unwrap_or_default();
    let text = response.text().await.expect("a readable body");
    assert_eq!(got, StatusCode::from_u16(status).unwrap(), "body: {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status >= 400 {
        assert_eq!(content_type, "application/problem+json", "body: {text}");
        assert_eq!(body["status"], status, "body: {text}");
        assert!(
            body["title"].is_string() && body["detail"].is_string(),
            "body: {text}"
        );
        if let Some(kind) = kind {
            assert_eq!(body["type"], kind, "body: {text}");
        }
    } else if !text.is_empty() {
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
    }
    body
}

/// The hold body of a single 30-minute slot on `resource`, starting `minutes` after
/// 2026-12-01T10:00:00Z.
pub fn single(resource: &str, minutes: i64) -> String {
    let start = slot(minutes);
    let end = slot(minutes + 30);
    format!(r#"{{"resource":"{resource}","start":"{start}","end":"{end}"}}"#)
}

/// 2026-12-01T10:00:00Z plus `minutes`, as the server writes it.
pub fn slot(minutes: i64) -> String {
    let base = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").unwrap();
    (base + chrono::Duration::minutes(minutes))
        .to_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The holds of company `acme`, where most HTTP tests work.
pub const HOLDS: &str = "/v1/companies/acme/holds";

/// The token of a hold answered as JSON.
pub fn token_of(hold: &Value) -> String {
    hold["token"].as_str().expect("a token").to_owned()
}

/// The path of acme's availability with this query.
pub fn availability(query: &str) -> String {
    format!("/v1/companies/acme/availability?{query}")
}

/// What the company holds, read through the API: every reservation, the availability of the
/// resources used, and the admin counts.
pub async fn state(server: &TestServer) -> Value {
    let holds = server.get(&format!("{HOLDS}?limit=1000"), 200).await;
    let free = server
        .get(
            &availability(&format!(
                "resource=r1&resource=r2&resource=r9&from={}&to={}&duration_seconds=1800&step_seconds=900",
                slot(0),
                slot(600)
            )),
            200,
        )
        .await;
    let companies = server.get("/v1/admin/companies", 200).await;
    json!({"holds": holds, "free": free, "companies": companies})
}

/// A company's metrics as JSON (`GET /v1/companies/{company}/metrics`), checked for 200.
pub async fn company_json(server: &TestServer, company: &str) -> Value {
    server
        .get(&format!("/v1/companies/{company}/metrics"), 200)
        .await
}

/// Checks a `GET /metrics` answer (200, `text/plain`) and parses it as Prometheus text.
pub async fn check_prometheus(response: reqwest::Response) -> Scrape {
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("the text parses")
}
