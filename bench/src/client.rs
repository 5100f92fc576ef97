//! One simulated caller's HTTP connection: keep-alive HTTP/1.1, one request at a time, as a
//! phone line or a booking page talks to holdfast. hyper's connection API directly: one TCP
//! connection per caller, no pool and no lock, so that the client costs as little as it can.
//!
//! A broken connection is dropped and the next request opens a new one; the failed request is
//! reported as a transport error, never retried, so that no answer is counted twice.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::http::uri::InvalidUri;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;

/// Where the callers send their requests.
#[derive(Clone, Debug)]
pub struct Target {
    /// The socket address the host name resolved to (once, before the run).
    pub address: SocketAddr,
    /// `host:port` as given, for the `Host` header.
    pub authority: String,
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
        let parsed: hyper::Uri = url
            .parse()
            .map_err(|e: InvalidUri| refuse(&e.to_string()))?;
        if parsed.scheme_str() != Some("http") {
            return Err(refuse("only http:// is supported"));
        }
        if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() {
            return Err(refuse("give the server's root, without a path or query"));
        }
        let host = parsed.host().ok_or_else(|| refuse("no host"))?;
        let port = parsed.port_u16().unwrap_or(80);
        let address = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| refuse(&e.to_string()))?
            .next()
            .ok_or_else(|| refuse("the host name resolves to no address"))?;
        let authority = match parsed.port_u16() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let authorization = key
            .map(|key| HeaderValue::from_str(&format!("Bearer {key}")))
            .transpose()
            .map_err(|_| TargetError::Key)?;
        Ok(Target {
            address,
            authority,
            authorization,
        })
    }

    /// A target at a local socket address (the in-process server).
    pub fn local(address: SocketAddr) -> Target {
        Target {
            address,
            authority: address.to_string(),
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
pub struct Connection {
    target: Arc<Target>,
    /// `None` until the first request, and after a failure (the next request reconnects).
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    /// A connection to `target`; it connects at its first request.
    pub fn new(target: Arc<Target>) -> Connection {
        Connection {
            target,
            sender: None,
        }
    }

    /// Sends one request and reads the whole answer. `body`, when given, is JSON.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Answer, TransportError> {
        self.send_with(method, path, body, None).await
    }

    /// [`Connection::send`] with one more header (`name`, `value`).
    pub async fn send_with(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        header: Option<(&'static str, String)>,
    ) -> Result<Answer, TransportError> {
        let result = send_hyper(&self.target, &mut self.sender, method, path, body, header).await;
        if result.is_err() {
            // The connection's state is unknown after a failure: start afresh.
            self.sender = None;
        }
        result
    }
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
    header: Option<(&'static str, String)>,
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
    if let Some((name, value)) = header {
        request = request.header(name, value);
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
