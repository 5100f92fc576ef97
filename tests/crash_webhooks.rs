//! The crash test of webhook delivery: the real `holdfast` binary as a child process delivering
//! every event of a company to a receiver in the test process while several clients drive it,
//! killed with SIGKILL mid-delivery, restarted on the same data directory, round after round.
//! At the end every event of every acknowledged change has been delivered at least once, in
//! order (a delivery never skips ahead of what came before it), with `seq`s from 1 without a
//! gap, and an event delivered twice is the same event both times.
//!
//! The seed is printed; `HOLDFAST_CRASH_SEED=<n>` replays one.

mod crash_support;
mod webhook_support;

use crash_support::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use webhook_support::Receiver;

/// Goal: across SIGKILLs during delivery under load, every event of every acknowledged change
/// reaches the receiver at least once, in order, `seq`s without a gap, repeats identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_survive_sigkills_in_order_without_gaps() {
    const ROUNDS: usize = 6;
    let mut rng = StdRng::seed_from_u64(seed());
    let dir = tempfile::tempdir().unwrap();
    let client = http_client();
    let receiver = Receiver::start();
    let ledger: Ledger = Arc::default();
    // Every acknowledged state of every reservation, over all rounds (the ledger is settled
    // to what came back after each restart).
    let mut acknowledged: HashMap<String, Vec<Value>> = HashMap::new();
    let more = ["--webhook-allow-private"];
    for round in 0..=ROUNDS {
        let server = Server::start_with(dir.path(), "wal", "300ms", &more, &client).await;
        if round == 0 {
            let body = json!({ "url": receiver.url() });
            let put = client
                .put(format!("{}/v1/companies/acme/webhooks/app", server.base))
                .json(&body)
                .send()
                .await
                .expect("the server answers");
            assert_eq!(put.status(), 201);
        }
        let state = server_state(&client, &server.base).await;
        settle(&ledger, &state);
        if round == ROUNDS {
            let last_seq = last_seq(&client, &server.base).await;
            receiver
                .wait_until(
                    Duration::from_secs(60),
                    || {},
                    |d| d.iter().any(|d| d.seq() == last_seq),
                )
                .await;
            server.kill();
            check_deliveries(&receiver, last_seq, &acknowledged);
            break;
        }
        let run_for = Duration::from_millis(rng.gen_range(200..600));
        drive_and_kill(server, &ledger, &mut rng, run_for, None).await;
        for (token, known) in ledger.lock().unwrap().iter() {
            let states = acknowledged.entry(token.clone()).or_default();
            for state in &known.acked {
                if !states.contains(state) {
                    states.push(state.clone());
                }
            }
        }
    }
}

/// The `seq` of acme's newest event.
async fn last_seq(client: &reqwest::Client, base: &str) -> u64 {
    let mut after = 0;
    loop {
        let url = format!("{base}/v1/companies/acme/events?after={after}&limit=1000");
        let page: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        let next = page["next_after"].as_u64().unwrap();
        if next == after {
            return after;
        }
        after = next;
    }
}

fn check_deliveries(
    receiver: &Receiver,
    last_seq: u64,
    acknowledged: &HashMap<String, Vec<Value>>,
) {
    let deliveries = receiver.deliveries();
    let started = Instant::now();
    // In order: each delivery is at most one past the highest before it (a restart goes back
    // to the first unacknowledged event and comes forward again).
    let mut highest = 0;
    let mut by_seq: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut repeats = 0;
    for delivery in &deliveries {
        let seq = delivery.seq();
        assert!(
            seq <= highest + 1,
            "event {seq} delivered after only {highest}"
        );
        highest = highest.max(seq);
        match by_seq.get(&seq) {
            Some(first) => {
                assert_eq!(
                    first, &delivery.body,
                    "event {seq} delivered twice, differently"
                );
                repeats += 1;
            }
            None => {
                by_seq.insert(seq, delivery.body.clone());
            }
        }
    }
    let seqs: Vec<u64> = by_seq.keys().copied().collect();
    assert_eq!(
        seqs,
        (1..=last_seq).collect::<Vec<_>>(),
        "every seq, no gap"
    );
    // Every acknowledged change's event is among them.
    let mut kinds_of: HashMap<String, Vec<String>> = HashMap::new();
    for body in by_seq.values() {
        let event: Value = serde_json::from_slice(body).unwrap();
        let token = event["reservation"]["token"].as_str().unwrap().to_string();
        kinds_of
            .entry(token)
            .or_default()
            .push(event["type"].as_str().unwrap().to_string());
    }
    let mut changes = 0;
    for (token, states) in acknowledged {
        let kinds = kinds_of.get(token).cloned().unwrap_or_default();
        for (index, state) in states.iter().enumerate() {
            let kind = match (state["status"].as_str().unwrap(), index) {
                ("active", 0) => "reservation.created",
                ("active", _) => "reservation.extended",
                ("converted", _) => "reservation.converted",
                ("cancelled", _) => "reservation.cancelled",
                (other, _) => panic!("acknowledged as {other}"),
            };
            assert!(
                kinds.iter().any(|k| k == kind),
                "{token}: no {kind} in {kinds:?}"
            );
            changes += 1;
        }
    }
    assert!(changes > 50, "the rounds did too little: {changes} changes");
    println!(
        "{} deliveries of {last_seq} events ({repeats} repeated after a kill) cover {changes} \
         acknowledged changes; checked in {:?}",
        deliveries.len(),
        started.elapsed()
    );
}
