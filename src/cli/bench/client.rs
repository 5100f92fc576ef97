//! One simulated caller's HTTP connection: keep-alive HTTP/1.1, one request at a time, as a
//! phone line or a booking page talks to holdfast. Two drivers, chosen by `--client`: hyper's
//! connection API directly (the default: one TCP connection per caller, no pool, no lock), and
//! reqwest (a shared pool), kept so that the cost of the client itself can be measured (see
//! README "Performance").
//!
//! A broken connection is dropped and the next request opens a new one; the failed request is
//! reported as a transport error, never retried, so that no answer is counted twice.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;

/// Which HTTP client drives the callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// hyper's HTTP/1.1 connection API: one connection per caller.
    Hyper,
    /// reqwest with its connection pool.
    Reqwest,
}

/// Where the callers send their requests.
#[derive(Clone, Debug)]
pub struct Target {
    /// The socket address the host name resolved to (once, before the run).
    pub address: SocketAddr,
    /// `host:port` as given, for the `Host` header.
    pub authority: String,
    /// `http://host:port`, for reqwest.
    pub base: String,
    /// `Bearer KEY` when the server wants a key.
    pub authorization: Option<HeaderValue>,
}

/// Why a `--url` or `--key` is refused.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("--url {url}: {reason}")]
    Url { url: String, reason: String },
    #[error("--key is not a valid header value")]
    Key,
}

impl Target {
    /// Parses `http://host:port` (no path, no TLS: holdfast serves plain HTTP behind a proxy)
    /// and resolves the host once.
    pub async fn resolve(url: &str, key: Option<&str>) -> Result<Target, TargetError> {
        let refuse = |reason: &str| TargetError::Url {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| refuse(&e.to_string()))?;
        if parsed.scheme() != "http" {
            return Err(refuse("only http:// is supported"));
        }
        if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() {
            return Err(refuse("give the server's root, without a path or query"));
        }
        let host = parsed.host_str().ok_or_else(|| refuse("no host"))?;
        let port = parsed.port_or_known_default().unwrap_or(80);
        let address = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| refuse(&e.to_string()))?
            .next()
            .ok_or_else(|| refuse("the host name resolves to no address"))?;
        let authority = match parsed.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let authorization = key
            .map(|key| HeaderValue::from_str(&format!("Bearer {key}")))
            .transpose()
            .map_err(|_| TargetError::Key)?;
        Ok(Target {
            address,
            base: format!("http://{authority}"),
            authority,
            authorization,
        })
    }

    /// A target at a local socket address (the in-process server).
    pub fn local(address: SocketAddr) -> Target {
        Target {
            address,
            authority: address.to_string(),
            base: format!("http://{address}"),
            authorization: None,
        }
    }
}

/// An answer: its status and its body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

/// No answer: the connection failed before a whole answer arrived.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

/// One caller's connection.
pub enum Connection {
    Hyper {
        target: Arc<Target>,
        /// `None` until the first request, and after a failure (the next request reconnects).
        sender: Option<SendRequest<Full<Bytes>>>,
    },
    Reqwest {
        target: Arc<Target>,
        client: reqwest::Client,
    },
}

impl Connection {
    /// A connection of `kind` to `target`; hyper connects lazily, reqwest shares `pool`.
    pub fn new(kind: ClientKind, target: Arc<Target>, pool: &reqwest::Client) -> Connection {
        match kind {
            ClientKind::Hyper => Connection::Hyper {
                target,
                sender: None,
            },
            ClientKind::Reqwest => Connection::Reqwest {
                target,
                client: pool.clone(),
            },
        }
    }

    /// Sends one request and reads the whole answer. `body`, when given, is JSON.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Answer, TransportError> {
        match self {
            Connection::Hyper { target, sender } => {
                let result = send_hyper(target, sender, method, path, body).await;
                if result.is_err() {
                    // The connection's state is unknown after a failure: start afresh.
                    *sender = None;
                }
                result
            }
            Connection::Reqwest { target, client } => {
                send_reqwest(target, client, method, path, body).await
            }
        }
    }
}

/// The reqwest pool the callers share (reqwest driver only): as many idle connections as
/// callers, no proxy, Nagle off as in the hyper driver.
pub fn reqwest_pool(callers: usize) -> Result<reqwest::Client, TransportError> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(callers)
        .tcp_nodelay(true)
        .no_proxy()
        .build()
        .map_err(|e| TransportError(e.to_string()))
}

async fn connect(target: &Target) -> Result<SendRequest<Full<Bytes>>, TransportError> {
    let stream = tokio::net::TcpStream::connect(target.address)
        .await
        .map_err(|e| TransportError(format!("connect {}: {e}", target.address)))?;
    // Small requests, one at a time: waiting to fill a segment would only add latency.
    stream
        .set_nodelay(true)
        .map_err(|e| TransportError(e.to_string()))?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| TransportError(e.to_string()))?;
    // The connection task ends when the sender is dropped or the server closes.
    tokio::spawn(connection);
    Ok(sender)
}

async fn send_hyper(
    target: &Target,
    sender: &mut Option<SendRequest<Full<Bytes>>>,
    method: Method,
    path: &str,
    body: Option<Bytes>,
) -> Result<Answer, TransportError> {
    let open = match sender.take() {
        Some(open) if !open.is_closed() => open,
        _ => connect(target).await?,
    };
    let connection = sender.insert(open);
    connection
        .ready()
        .await
        .map_err(|e| TransportError(e.to_string()))?;
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, target.authority.as_str());
    if let Some(authorization) = &target.authorization {
        request = request.header(AUTHORIZATION, authorization.clone());
    }
    if body.is_some() {
        request = request.header(CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(Full::new(body.unwrap_or_default()))
        .map_err(|e| TransportError(e.to_string()))?;
    let response = connection
        .send_request(request)
        .await
        .map_err(|e| TransportError(e.to_string()))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| TransportError(e.to_string()))?
        .to_bytes();
    Ok(Answer { status, body })
}

async fn send_reqwest(
    target: &Target,
    client: &reqwest::Client,
    method: Method,
    path: &str,
    body: Option<Bytes>,
) -> Result<Answer, TransportError> {
    let mut request = client.request(method, format!("{}{path}", target.base));
    if let Some(authorization) = &target.authorization {
        request = request.header(AUTHORIZATION, authorization.clone());
    }
    if let Some(body) = body {
        request = request.header(CONTENT_TYPE, "application/json").body(body);
    }
    let response = request
        .send()
        .await
        .map_err(|e| TransportError(e.to_string()))?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| TransportError(e.to_string()))?;
    Ok(Answer { status, body })
}
