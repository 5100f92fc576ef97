//! The event routes through the real server: `GET .../events` as JSON pages, the same as
//! Server-Sent Events that resume after `Last-Event-ID`, `GET /v1/events` for every company, and
//! their refusals.

mod http_support;

use http_support::{check, single, token_of, TestServer, HOLDS};
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

const EVENTS: &str = "/v1/companies/acme/events";

/// One event read off a stream: its `id:` line, `event:` line and `data:` JSON.
#[derive(Debug)]
struct StreamEvent {
    id: u64,
    kind: String,
    data: Value,
}

/// An open event stream and what has been read of it but not yet parsed.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(server: &TestServer, path: &str, last_event_id: Option<u64>) -> Stream {
        // Every stream asks for gzip too: the server must not compress (and so hold back) it.
        let mut request = server
            .client
            .get(server.url(path))
            .header("accept", "text/event-stream")
            .header("accept-encoding", "gzip");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.expect("the server answers");
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (comments and gap notices are returned as events too, by kind).
    async fn next(&mut self) -> StreamEvent {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if block.starts_with(':') {
                    continue;
                }
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|line| line.strip_prefix(name))
                        .map(str::to_owned)
                };
                return StreamEvent {
                    id: field("id: ").map_or(0, |id| id.parse().unwrap()),
                    kind: field("event: ").expect("an event line"),
                    data: serde_json::from_str(&field("data: ").expect("a data line")).unwrap(),
                };
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an event within 10 s")
                .expect("the stream reads")
                .expect("the stream stays open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

/// Goal: every change of a reservation is an event in the JSON page, numbered from 1, each
/// with the reservation after the change; `after` and `limit` page through them.
#[tokio::test]
async fn a_page_lists_every_change_in_order() {
    let server = TestServer::start();
    let token = token_of(&server.post(HOLDS, &single("r1", 0), 201).await);
    server
        .post(
            &format!("{HOLDS}/{token}/extend"),
            r#"{"ttl_seconds":600}"#,
            200,
        )
        .await;
    server
        .post(&format!("{HOLDS}/{token}/confirm"), "{}", 200)
        .await;
    let other = token_of(&server.post(HOLDS, &single("r2", 0), 201).await);
    check(
        server
            .send(Method::DELETE, &format!("{HOLDS}/{other}"), None, None)
            .await,
        200,
        None,
    )
    .await;
    let page = server.get(EVENTS, 200).await;
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "reservation.created",
            "reservation.extended",
            "reservation.converted",
            "reservation.created",
            "reservation.cancelled",
        ]
    );
    let events = page["events"].as_array().unwrap();
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["seq"], index as u64 + 1);
        assert_eq!(event["id"], format!("acme.{}", index + 1));
        assert_eq!(event["company"], "acme");
    }
    assert_eq!(events[2]["reservation"]["status"], "converted");
    assert_eq!(events[4]["reservation"]["token"], other);
    assert_eq!(page["next_after"], 5);
    assert_eq!(page["first_available_seq"], Value::Null);
    let second = server.get(&format!("{EVENTS}?after=2&limit=2"), 200).await;
    let seqs: Vec<u64> = second["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [3, 4]);
    assert_eq!(second["next_after"], 4);
    let last = server.get(&format!("{EVENTS}?after=5"), 200).await;
    assert_eq!(last["events"].as_array().unwrap().len(), 0);
    assert_eq!(last["next_after"], 5);
}

/// Goal: a stream hands on the kept events after `after` and then every new one as it happens;
/// dropped and opened again with `Last-Event-ID`, it goes on right after that event, with no
/// repeat and no gap.
#[tokio::test]
async fn a_stream_resumes_after_the_last_event_id() {
    let server = TestServer::start();
    server.post(HOLDS, &single("r1", 0), 201).await;
    let mut stream = Stream::open(&server, EVENTS, None).await;
    let first = stream.next().await;
    assert_eq!((first.id, first.kind.as_str()), (1, "reservation.created"));
    assert_eq!(first.data["seq"], 1);
    server.post(HOLDS, &single("r2", 0), 201).await;
    server.post(HOLDS, &single("r3", 0), 201).await;
    assert_eq!(stream.next().await.id, 2);
    assert_eq!(stream.next().await.id, 3);
    drop(stream);
    server.post(HOLDS, &single("r4", 0), 201).await;
    server.post(HOLDS, &single("r5", 0), 201).await;
    let mut stream = Stream::open(&server, EVENTS, Some(3)).await;
    let resumed = stream.next().await;
    assert_eq!(resumed.id, 4);
    assert_eq!(resumed.data["reservation"]["segments"][0]["resource"], "r4");
    assert_eq!(stream.next().await.id, 5);
    server.post(HOLDS, &single("r6", 0), 201).await;
    assert_eq!(stream.next().await.id, 6);
    // `after` does the same as the header.
    let mut stream = Stream::open(&server, &format!("{EVENTS}?after=5"), None).await;
    assert_eq!(stream.next().await.id, 6);
}

/// Goal: the stream of every company hands on each company's events as they happen.
#[tokio::test]
async fn the_stream_of_every_company_carries_each_company() {
    let server = TestServer::start();
    let mut stream = Stream::open(&server, "/v1/events", None).await;
    server.post(HOLDS, &single("r1", 0), 201).await;
    server
        .post("/v1/companies/beta/holds", &single("r1", 0), 201)
        .await;
    let mut seen: Vec<(String, u64)> = Vec::new();
    for _ in 0..2 {
        let event = stream.next().await;
        seen.push((
            event.data["company"].as_str().unwrap().to_owned(),
            event.data["seq"].as_u64().unwrap(),
        ));
    }
    seen.sort();
    assert_eq!(seen, [("acme".to_owned(), 1), ("beta".to_owned(), 1)]);
}

/// Goal: a bad position, page size or `Last-Event-ID` is 400 naming it, and the stream of
/// every company is refused without `Accept: text/event-stream`.
#[tokio::test]
async fn bad_positions_are_refused_naming_them() {
    let server = TestServer::start();
    for (query, field) in [
        ("after=x", "after"),
        ("after=-1", "after"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("since=3", "since"),
    ] {
        let response = server
            .send(Method::GET, &format!("{EVENTS}?{query}"), None, None)
            .await;
        let body = check(response, 400, Some("invalid_request")).await;
        assert_eq!(body["field"], field, "{query}");
    }
    // Past the largest seq the wire's signed integers carry, as `after` refuses it too.
    for bad in ["seven", "9223372036854775808"] {
        let response = server
            .client
            .get(server.url(EVENTS))
            .header("accept", "text/event-stream")
            .header("last-event-id", bad)
            .send()
            .await
            .unwrap();
        let body = check(response, 400, Some("invalid_request")).await;
        assert_eq!(body["field"], "Last-Event-ID", "{bad}");
    }
    let response = server.send(Method::GET, "/v1/events", None, None).await;
    let body = check(response, 400, Some("invalid_request")).await;
    assert_eq!(body["field"], "Accept");
}

/// Goal: a page of events is compressed for a caller that accepts gzip (the compression
/// middleware is on), while the stream beside it is not (checked in every stream test).
#[tokio::test]
async fn pages_are_compressed_for_callers_that_accept_it() {
    let server = TestServer::start();
    for minutes in 0..20 {
        server.post(HOLDS, &single("r1", minutes * 30), 201).await;
    }
    let response = server
        .client
        .get(server.url(EVENTS))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let mut stream = Stream::open(&server, EVENTS, Some(19)).await;
    assert_eq!(stream.next().await.id, 20);
}
