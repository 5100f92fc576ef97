//! Checks that requests broken below HTTP's semantics, sent as raw bytes to a real server, are
//! refused with 400, that the connection closes, and that the company's state does not change.

mod http_support;

use http_support::{single, state, TestServer, HOLDS};
use serde_json::Value;
use std::io::{Read, Write};

/// Sends raw bytes on a fresh connection and returns the status line and the body.
fn raw_exchange(address: std::net::SocketAddr, request: &[u8]) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream.write_all(request).expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read to the end");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.lines().next().unwrap_or("").to_owned();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

/// Goal: requests broken below HTTP's semantics (bytes that are not a request line, a length
/// that is not a number, a chunked body cut short) are refused with 400 by the HTTP parser or
/// by us, the connection closes, and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_http_is_refused() {
    let server = TestServer::start();
    server.post(HOLDS, &single("r1", 0), 201).await;
    let before = state(&server).await;
    let address = server.address;
    let answers = tokio::task::spawn_blocking(move || {
        [
            &b"GET /v1/companies/ac\xffme/holds HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..],
            b"GET /v1/companies/acme/holds?call_id=\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"POST /v1/companies/acme/holds HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\nConnection: close\r\n\r\n{}",
            b"POST /v1/companies/acme/holds HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n{\"res\r\n0\r\n\r\n",
            b"NONSENSE\r\n\r\n",
        ]
        .iter()
        .map(|request| raw_exchange(address, request))
        .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (index, (status, body)) in answers.iter().enumerate() {
        assert!(
            status.starts_with("HTTP/1.1 400"),
            "request {index}: {status} {body}"
        );
    }
    let cut_short: Value = serde_json::from_str(&answers[3].1).expect("ours: problem+json");
    assert_eq!(cut_short["field"], "body");
    assert_eq!(state(&server).await, before);
}
