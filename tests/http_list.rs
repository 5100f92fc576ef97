//! Checks the paged list and the truncated availability over HTTP, against a real server on a
//! loopback port: walking `GET /holds` by `next_cursor` while other callers create, confirm and
//! cancel answers no reservation twice and every one that was there all along exactly once,
//! newest first; a cursor that is malformed or belongs to another list is 400 naming `cursor`
//! and changes nothing; availability says when its cap of 1,000 starts cut the answer; and
//! `/openapi.json` describes the new parameter and fields.

mod http_support;

use http_support::{availability, check, single, slot, state, token_of, TestServer, HOLDS};
use reqwest::Method;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Reservations made before a walk begins.
const BEFORE_WALK: usize = 240;
/// The walk's page size: small, so that the walk takes many pages.
const PAGE_LIMIT: usize = 7;
/// The longest a walk waits for the other callers to change something between two pages.
const CHANGE_WAIT: Duration = Duration::from_secs(10);

/// What the other callers did while a walk went on.
#[derive(Default)]
struct Changes {
    /// Changes answered so far (creates, confirms, cancels).
    count: AtomicU64,
    /// Reservations made before the walk that a confirm or cancel was sent for.
    touched: Mutex<HashSet<String>>,
    stop: AtomicBool,
}

/// Walks `GET /holds?{query}` page by page, each page by the cursor of the one before, and
/// waits after every page until another caller has changed something, so that every page is
/// read from a book that changed since the one before. Answers every reservation answered, in
/// order.
async fn walk(server: &TestServer, query: &str, changes: &Changes) -> Vec<Value> {
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("{HOLDS}?{query}&limit={PAGE_LIMIT}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = server.get(&path, 200).await;
        let holds = page["holds"].as_array().expect("holds").clone();
        assert!(holds.len() <= PAGE_LIMIT, "{page}");
        walked.extend(holds);
        match page["next_cursor"].as_str() {
            None => {
                assert_eq!(page["next_cursor"], Value::Null, "{page}");
                return walked;
            }
            Some(next) => cursor = Some(next.to_owned()),
        }
        let seen = changes.count.load(Ordering::SeqCst);
        let waited = tokio::time::Instant::now();
        while changes.count.load(Ordering::SeqCst) == seen {
            assert!(waited.elapsed() < CHANGE_WAIT, "no change between pages");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// The other callers: one creates holds on fresh slots, one confirms and one cancels
/// reservations made before the walk (a different one each time), until told to stop.
fn start_changing(
    server: &Arc<TestServer>,
    before: &[String],
    changes: &Arc<Changes>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let creating = {
        let (server, changes) = (server.clone(), changes.clone());
        tokio::spawn(async move {
            let mut index = 0;
            while !changes.stop.load(Ordering::SeqCst) {
                let resource = ["r1", "r2"][index % 2];
                let body = single(resource, 30 * (10_000 + index as i64));
                server.post(HOLDS, &body, 201).await;
                changes.count.fetch_add(1, Ordering::SeqCst);
                index += 1;
            }
        })
    };
    let confirm_or_cancel = |offset: usize, confirm: bool| {
        let (server, changes) = (server.clone(), changes.clone());
        let before = before.to_vec();
        tokio::spawn(async move {
            // Every fifth reservation from `offset`: the two callers never meet.
            for token in before.iter().skip(offset).step_by(5) {
                if changes.stop.load(Ordering::SeqCst) {
                    return;
                }
                changes.touched.lock().unwrap().insert(token.clone());
                let response = if confirm {
                    let path = format!("{HOLDS}/{token}/confirm");
                    server.send(Method::POST, &path, None, None).await
                } else {
                    let path = format!("{HOLDS}/{token}?reason=changed_mind");
                    server.send(Method::DELETE, &path, None, None).await
                };
                check(response, 200, None).await;
                changes.count.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    vec![
        creating,
        confirm_or_cancel(1, true),
        confirm_or_cancel(3, false),
    ]
}

/// Goal: walks of `GET /holds` by cursor (the whole list, one resource, the active holds),
/// each while other callers create, confirm and cancel between every two pages, answer no
/// reservation twice, and every reservation made before the walk that matched all along
/// exactly once, newest first; the last page's `next_cursor` is `null`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_walk_under_concurrent_changes_answers_each_once() {
    for (query, stays_matching) in [
        ("status=active", false),
        ("resource=r1", true),
        ("call_id=walker", true),
    ] {
        let server = Arc::new(TestServer::start());
        // Made before the walk, oldest first, each on a slot of its own; `r1` every third.
        let mut before = Vec::new();
        for index in 0..BEFORE_WALK {
            let resource = ["r1", "r2", "r3"][index % 3];
            let minutes = 30 * index as i64;
            let body = serde_json::json!({"resource": resource, "start": slot(minutes),
                "end": slot(minutes + 30), "call_id": "walker"});
            let hold = server.post(HOLDS, &body.to_string(), 201).await;
            before.push((token_of(&hold), resource));
        }
        let tokens: Vec<String> = before.iter().map(|(t, _)| t.clone()).collect();
        let changes = Arc::new(Changes::default());
        let changers = start_changing(&server, &tokens, &changes);
        let walked = walk(&server, query, &changes).await;
        changes.stop.store(true, Ordering::SeqCst);
        for changer in changers {
            changer.await.expect("a changer finishes");
        }

        let touched = changes.touched.lock().unwrap().clone();
        let mut times_seen: HashMap<&str, usize> = HashMap::new();
        for hold in &walked {
            *times_seen
                .entry(hold["token"].as_str().unwrap())
                .or_default() += 1;
        }
        let twice: Vec<_> = times_seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "{query}: answered twice: {twice:?}");
        let expected: Vec<&str> = before
            .iter()
            .filter(|(token, resource)| {
                let matches = query != "resource=r1" || *resource == "r1";
                matches && (stays_matching || !touched.contains(token))
            })
            .map(|(token, _)| token.as_str())
            .collect();
        let missed: Vec<_> = expected
            .iter()
            .filter(|t| !times_seen.contains_key(*t))
            .collect();
        assert!(missed.is_empty(), "{query}: missed {missed:?}");
        // Newest first: the walk meets the reservations made before it in reverse order.
        let order: Vec<usize> = walked
            .iter()
            .filter_map(|hold| tokens.iter().position(|t| hold["token"] == **t))
            .collect();
        assert!(order.windows(2).all(|w| w[0] > w[1]), "{query}: order");
        assert!(
            expected.len() > BEFORE_WALK / 4,
            "{query}: the walk checks little"
        );
    }
}

/// Goal: a cursor that is malformed, given twice, used with other filters, or answered for
/// another company is 400 `invalid_request` naming `cursor`, and the company's state is exactly
/// what it was; the same cursor with its own filters and another limit is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cursors_are_refused_and_change_nothing() {
    let server = TestServer::start();
    for minutes in [0, 60, 120] {
        server.post(HOLDS, &single("r1", minutes), 201).await;
    }
    server
        .post("/v1/companies/beta/holds", &single("r1", 0), 201)
        .await;
    let cursor_of = |page: Value| page["next_cursor"].as_str().expect("a cursor").to_owned();
    let acme = cursor_of(server.get(&format!("{HOLDS}?limit=1"), 200).await);
    let acme_r1 = cursor_of(
        server
            .get(&format!("{HOLDS}?resource=r1&limit=1"), 200)
            .await,
    );
    let beta = server.get("/v1/companies/beta/holds?limit=1", 200).await;
    assert_eq!(
        beta["next_cursor"],
        Value::Null,
        "beta's only page is its last"
    );
    let before = state(&server).await;

    let refused = [
        "cursor=not-a-cursor".to_owned(),
        "cursor=".to_owned(),
        format!("cursor={}", acme.to_uppercase()),
        format!("cursor={acme}&cursor={acme}"),
        format!("status=active&cursor={acme}"),
        format!("cursor={acme_r1}"),
        format!("resource=r2&cursor={acme_r1}"),
    ];
    for query in &refused {
        let response = server
            .send(Method::GET, &format!("{HOLDS}?{query}"), None, None)
            .await;
        let problem = check(response, 400, Some("invalid_request")).await;
        assert_eq!(problem["field"], "cursor", "{query}: {problem}");
        assert!(problem["detail"].as_str().unwrap().starts_with("cursor"));
    }
    let foreign = server
        .send(
            Method::GET,
            &format!("/v1/companies/beta/holds?cursor={acme}"),
            None,
            None,
        )
        .await;
    let problem = check(foreign, 400, Some("invalid_request")).await;
    assert_eq!(problem["field"], "cursor", "{problem}");
    assert_eq!(
        state(&server).await,
        before,
        "a refused cursor changed the state"
    );

    let rest = server
        .get(&format!("{HOLDS}?limit=10&cursor={acme}"), 200)
        .await;
    assert_eq!(rest["holds"].as_array().unwrap().len(), 2);
    assert_eq!(rest["next_cursor"], Value::Null);
}

/// Goal: every resource object of availability says whether the cap of 1,000 starts cut it:
/// `true` when more free starts follow the last one answered, `false` when the answer is whole
/// (also when it holds exactly 1,000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn availability_says_when_the_cap_cut_it() {
    let server = TestServer::start();
    // Takes the 1,001st start of a one-minute grid on `busy`.
    let taken = serde_json::json!({"resource": "busy", "start": slot(1_000),
        "end": slot(1_001)});
    server.post(HOLDS, &taken.to_string(), 201).await;
    let ask = |minutes: i64| {
        availability(&format!(
            "resource=free&resource=busy&from={}&to={}&duration_seconds=60",
            slot(0),
            slot(minutes)
        ))
    };
    let summary = |answer: &Value| -> Vec<(usize, bool)> {
        answer["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let slots = r["slots"].as_array().unwrap().len();
                (slots, r["truncated"].as_bool().expect("truncated"))
            })
            .collect()
    };
    assert_eq!(
        summary(&server.get(&ask(1_001), 200).await),
        [(1_000, true), (1_000, false)]
    );
    assert_eq!(
        summary(&server.get(&ask(1_002), 200).await),
        [(1_000, true), (1_000, true)]
    );
    assert_eq!(
        summary(&server.get(&ask(1_000), 200).await),
        [(1_000, false), (1_000, false)]
    );
    assert_eq!(
        summary(&server.get(&ask(30), 200).await),
        [(30, false), (30, false)]
    );
}

/// Goal: `/openapi.json` documents the list's `cursor` parameter, its answer's `next_cursor`
/// (always written, `null` on the last page) and availability's `truncated`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_the_cursor_and_truncated() {
    let server = TestServer::start();
    let document = server.get("/openapi.json", 200).await;
    let parameters = document["paths"]["/v1/companies/{company}/holds"]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    assert!(parameters
        .iter()
        .any(|p| p["name"] == "cursor" && p["in"] == "query"));
    let schemas = &document["components"]["schemas"];
    let list = &schemas["HoldListDto"];
    assert!(list["properties"]["next_cursor"].is_object(), "{list}");
    let required = list["required"].as_array().expect("required");
    assert!(required.iter().any(|name| name == "next_cursor"), "{list}");
    let slots = &schemas["ResourceSlotsDto"];
    assert_eq!(
        slots["properties"]["truncated"]["type"], "boolean",
        "{slots}"
    );
}
