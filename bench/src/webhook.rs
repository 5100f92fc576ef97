//! A webhook receiver beside the load (`--webhook`): an HTTP server in the tool's process, on a
//! loopback port, that answers every delivery 204 at once and records its delivery lag (from
//! the event's `occurred_at`, set by the server when the change was made, to the moment the
//! delivery arrived; both clocks are this machine's). Before the load each company the scenario
//! uses gets one endpoint taking every event; after it, the tool waits until deliveries stop
//! coming, so that the lag of the last events is counted too.
//!
//! The server must accept a loopback destination: the in-process server does, and a server
//! given by `--url` must run with `--webhook-allow-private`.

use crate::client::Connection;
use crate::stats::Latency;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use serde::Serialize;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the receiver saw.
#[derive(Clone, Debug, Serialize)]
pub struct WebhookReport {
    /// Deliveries received (each answered 204).
    pub deliveries: u64,
    /// Deliveries per second over the load and the wait after it.
    pub deliveries_per_second: f64,
    /// From the change to the delivery's arrival.
    pub lag_micros: Latency,
}

struct Shared {
    deliveries: AtomicU64,
    lag_micros: Mutex<Histogram<u64>>,
    last_at: Mutex<Instant>,
}

/// The running receiver.
pub struct WebhookReceiver {
    pub address: SocketAddr,
    shared: Arc<Shared>,
    started: Instant,
    accept: JoinHandle<()>,
}

impl WebhookReceiver {
    /// Listens on a free loopback port.
    pub async fn start() -> std::io::Result<WebhookReceiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            deliveries: AtomicU64::new(0),
            // Three significant digits up to an hour: the lags of a receiver next door and of
            // one that was made to wait both fit.
            lag_micros: Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            ),
            last_at: Mutex::new(Instant::now()),
        });
        let accepting = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = accepting.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| receive(request, shared.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(WebhookReceiver {
            address,
            shared,
            started: Instant::now(),
            accept,
        })
    }

    /// Configures `company`'s endpoint `bench` to deliver every event here.
    pub async fn subscribe(&self, control: &mut Connection, company: &str) -> Result<(), String> {
        let body = serde_json::json!({ "url": format!("http://{}/hooks", self.address) });
        let path = format!("/v1/companies/{company}/webhooks/bench");
        let answer = control
            .send(
                hyper::Method::PUT,
                &path,
                Some(Bytes::from(body.to_string())),
            )
            .await
            .map_err(|e| e.to_string())?;
        match answer.status {
            200 | 201 => Ok(()),
            status => Err(format!(
                "PUT {path} answered {status}: {} (a server given by --url must run with \
                 --webhook-allow-private)",
                String::from_utf8_lossy(&answer.body)
            )),
        }
    }

    /// Waits until no delivery has come for `quiet` (at most `limit`), then stops and reports.
    pub async fn finish(self, quiet: Duration, limit: Duration) -> WebhookReport {
        let waited = Instant::now();
        while waited.elapsed() < limit && self.shared.last_at.lock().elapsed() < quiet {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.accept.abort();
        let deliveries = self.shared.deliveries.load(Ordering::SeqCst);
        let elapsed = self.started.elapsed().as_secs_f64();
        WebhookReport {
            deliveries,
            deliveries_per_second: deliveries as f64 / elapsed.max(f64::MIN_POSITIVE),
            lag_micros: Latency::of(&self.shared.lag_micros.lock()),
        }
    }
}

async fn receive(
    request: hyper::Request<hyper::body::Incoming>,
    shared: Arc<Shared>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let now_micros = chrono::Utc::now().timestamp_micros();
    let occurred_micros = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|event| {
            let text = event["occurred_at"].as_str()?.to_owned();
            chrono::DateTime::parse_from_rfc3339(&text).ok()
        })
        .map(|at| at.timestamp_micros());
    if let Some(occurred_micros) = occurred_micros {
        let lag = (now_micros - occurred_micros).max(1) as u64;
        let _ = shared.lag_micros.lock().record(lag.min(3_600_000_000));
    }
    shared.deliveries.fetch_add(1, Ordering::SeqCst);
    *shared.last_at.lock() = Instant::now();
    let mut answer = hyper::Response::new(Full::new(Bytes::new()));
    *answer.status_mut() = hyper::StatusCode::NO_CONTENT;
    Ok(answer)
}
