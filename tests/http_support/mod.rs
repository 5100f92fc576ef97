//! What the HTTP tests share: a real server on `127.0.0.1:0` in its own actix system (with a
//! manual clock, so expiry is tested by moving time, not by sleeping), a real HTTP client, and
//! `check`, the one assertion every answer goes through.

#![allow(dead_code)] // each test binary uses its own part of this module

use holdfast::actors::engine::{Engine, EngineConfig};
use holdfast::clock::ManualClock;
use holdfast::core::book::Settings;
use holdfast::http::auth::Keys;
use holdfast::http::{run, HttpOptions};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The server's "now" at start: 2026-11-30T09:00:00Z, the day before the slots the tests hold.
pub const NOW_MS: i64 = 1_796_029_200_000;

/// A running server; dropped, it shuts down through the same path as SIGTERM and is joined.
pub struct TestServer {
    pub address: SocketAddr,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// An open server with the default settings.
    pub fn start() -> TestServer {
        TestServer::start_with(Settings::default(), Keys::open())
    }

    /// A server with these settings and keys.
    pub fn start_with(settings: Settings, keys: Keys) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let address = listener.local_addr().expect("bound address");
        let clock = ManualClock::new(NOW_MS);
        let server_clock = clock.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let engine = Engine::start(EngineConfig {
                    settings,
                    clock: server_clock,
                    arbiters: 2,
                    ..EngineConfig::default()
                });
                let options = HttpOptions {
                    keys,
                    workers: 2,
                    ..HttpOptions::default()
                };
                run(listener, engine, options, async {
                    let _ = stopped.await;
                })
                .await
            })
        });
        TestServer {
            address,
            clock,
            client: reqwest::Client::new(),
            stop: Some(stop),
            thread: Some(thread),
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

    /// Stops the server (the shutdown future resolves) and waits for `run` to return.
    pub fn stop(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().expect("the server thread does not panic"),
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.stop();
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
