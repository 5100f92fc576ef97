//! Checks that the booking race window is closed over HTTP: 200 callers sending the same slot at
//! once to a real server get exactly one hold and 199 conflicts, round after round.

mod http_support;

use http_support::{slot, TestServer, HOLDS};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;

/// Goal: 200 callers racing for one slot get exactly one 201 and 199 `conflict`s, every time
/// (50 rounds), and exactly one hold is stored for the slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_callers_race_for_one_slot() {
    const CALLERS: usize = 200;
    const ROUNDS: usize = 50;
    let server = Arc::new(TestServer::start());
    for round in 0..ROUNDS {
        let resource = format!("race-{round}");
        let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
        let tasks: Vec<_> = (0..CALLERS)
            .map(|caller| {
                let server = server.clone();
                let barrier = barrier.clone();
                let body = json!({"resource": resource, "start": slot(0), "end": slot(30),
                    "call_id": format!("call-{caller}")})
                .to_string();
                tokio::spawn(async move {
                    barrier.wait().await;
                    let response = server.send(Method::POST, HOLDS, None, Some(&body)).await;
                    let status = response.status().as_u16();
                    let body: Value = response.json().await.expect("a JSON answer");
                    (status, body)
                })
            })
            .collect();
        let mut created = 0;
        let mut conflicts = 0;
        for task in tasks {
            let (status, body) = task.await.expect("the caller task finishes");
            match status {
                201 => created += 1,
                409 if body["type"] == "conflict" => conflicts += 1,
                other => panic!("round {round}: unexpected {other}: {body}"),
            }
        }
        assert_eq!((created, conflicts), (1, CALLERS - 1), "round {round}");
        let stored = server
            .get(&format!("{HOLDS}?resource={resource}"), 200)
            .await;
        assert_eq!(
            stored["holds"].as_array().unwrap().len(),
            1,
            "round {round}"
        );
    }
}
