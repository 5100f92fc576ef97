//! Crash tests: the real `holdfast` binary as a child process, driven over HTTP by several
//! clients at once, killed with SIGKILL at a random moment, restarted on the same data
//! directory. Each round verifies the previous one, so state must survive crash after crash, and
//! no two live reservations may overlap on a resource after any restart.
//!
//! This file: `--durability snapshot`. Everything acknowledged before a snapshot that was
//! answered is there (at that state or a later acknowledged one), snapshots keep being taken on
//! the interval, and SIGTERM ends with a final snapshot. `crash_wal_mode.rs`:
//! `--durability wal`.
//!
//! The seed of each test is printed; `HOLDFAST_CRASH_SEED=<n>` replays one.

mod crash_support;

use crash_support::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Goal: in snapshot mode, across SIGKILLs, everything acknowledged before an answered
/// snapshot survives (at that state or a later one), no live reservations overlap, and the
/// interval keeps taking snapshots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_mode_keeps_everything_up_to_the_last_snapshot() {
    const ROUNDS: usize = 8;
    let mut rng = StdRng::seed_from_u64(seed());
    let dir = tempfile::tempdir().unwrap();
    let client = http_client();
    let ledger: Ledger = Arc::default();
    // For each token: how many acknowledged states it had when the last snapshot was asked for.
    let at_snapshot: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let mut total_checked = 0;
    for round in 0..=ROUNDS {
        let server = Server::start(dir.path(), "snapshot", "100ms", &client).await;
        let state = server_state(&client, &server.base).await;
        assert_no_live_overlap(&state);
        {
            let at_snapshot = at_snapshot.lock().unwrap();
            total_checked += verify(&ledger, &state, |token, _| {
                at_snapshot
                    .get(token)
                    .filter(|count| **count > 0)
                    .map(|count| count - 1)
            });
        }
        settle(&ledger, &state);
        at_snapshot.lock().unwrap().clear();
        if round == ROUNDS {
            server.kill();
            break;
        }
        let base = server.base.clone();
        let snapshot_ledger = ledger.clone();
        let snapshot_marks = at_snapshot.clone();
        let snapshot_client = client.clone();
        let take_snapshot = move || -> futures::future::BoxFuture<'static, ()> {
            let base = base.clone();
            let ledger = snapshot_ledger.clone();
            let marks = snapshot_marks.clone();
            let client = snapshot_client.clone();
            Box::pin(async move {
                // Everything acknowledged before the request is applied before the export.
                let counts: HashMap<String, usize> = ledger
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|(token, known)| (token.clone(), known.acked.len()))
                    .collect();
                let response = client
                    .post(format!("{base}/v1/admin/snapshot"))
                    .send()
                    .await
                    .expect("snapshot request");
                assert_eq!(response.status(), StatusCode::OK);
                let body: Value = response.json().await.expect("json");
                assert!(body["bytes"].as_u64().unwrap() > 48, "{body}");
                *marks.lock().unwrap() = counts;
            })
        };
        let run_for = Duration::from_millis(rng.gen_range(200..600));
        drive_and_kill(server, &ledger, &mut rng, run_for, Some(&take_snapshot)).await;
    }
    assert!(
        total_checked > 20,
        "the rounds did too little: {total_checked}"
    );
    let snapshots = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .filter(|e| {
            let name = e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .to_string();
            name.starts_with("snapshot-") && name.ends_with(".bin")
        })
        .count();
    // The default keeps 3; a kill between a new snapshot's rename and the pruning after it
    // leaves one more, which the next snapshot prunes.
    assert!(
        (1..=4).contains(&snapshots),
        "{snapshots} snapshots kept (default keep is 3, plus one a kill may leave)"
    );
    println!("checked {total_checked} reservation states over {ROUNDS} crashes");
}

/// Goal: SIGTERM drains, takes a final snapshot and exits 0; in snapshot mode with an interval
/// far longer than the test, that final snapshot alone brings back every acknowledged change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_takes_a_final_snapshot_and_exits_zero() {
    let mut rng = StdRng::seed_from_u64(seed());
    let dir = tempfile::tempdir().unwrap();
    let client = http_client();
    let ledger: Ledger = Arc::default();
    let mut server = Server::start(dir.path(), "snapshot", "1h", &client).await;
    let deadline = Instant::now() + Duration::from_millis(300);
    let clients = spawn_clients(&server.base, &ledger, &mut rng, deadline);
    for client in clients {
        client.await.expect("client task");
    }
    let pid = server.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = server.child.wait().expect("exits");
    assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
    let server = Server::start(dir.path(), "snapshot", "1h", &client).await;
    let state = server_state(&client, &server.base).await;
    assert_no_live_overlap(&state);
    let checked = verify(&ledger, &state, |_, known| {
        (!known.acked.is_empty()).then(|| known.acked.len() - 1)
    });
    assert!(checked > 10, "too little was done: {checked}");
    server.kill();
}

/// Whether the newest snapshot file in `data` holds every acknowledged reservation at its last
/// acknowledged status. A file being pruned while read counts as "not yet".
fn newest_snapshot_covers(data: &Path, ledger: &Ledger) -> bool {
    const STATUSES: [&str; 4] = ["active", "converted", "expired", "cancelled"];
    let Ok(files) = holdfast::durability::snapshot::list(data) else {
        return false;
    };
    let Some((_, newest)) = files.first() else {
        return false;
    };
    let Ok(bytes) = std::fs::read(newest) else {
        return false;
    };
    let (_, body) =
        holdfast::durability::snapshot::decode(&bytes).expect("a renamed snapshot verifies");
    let stored: HashMap<String, &str> = body
        .companies
        .iter()
        .flat_map(|company| company.base.reservations.iter())
        .map(|r| {
            (
                uuid::Uuid::from_bytes(r.token).to_string(),
                STATUSES[usize::from(r.status)],
            )
        })
        .collect();
    ledger.lock().unwrap().iter().all(|(token, known)| {
        let last = known.acked.last().expect("acknowledged");
        stored
            .get(token)
            .is_some_and(|status| last["status"] == *status)
    })
}

/// Goal: in snapshot mode the interval alone takes acknowledged changes to disk: once the
/// clients stop, a periodic snapshot (no explicit request) comes to hold every one of them, and
/// a SIGKILL after it loses none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_mode_interval_snapshots_cover_what_was_acknowledged() {
    /// Liveness bound, not a speed assertion: the interval is 100 ms.
    const COVERED_WITHIN: Duration = Duration::from_secs(20);
    let mut rng = StdRng::seed_from_u64(seed());
    let dir = tempfile::tempdir().unwrap();
    let client = http_client();
    let ledger: Ledger = Arc::default();
    let server = Server::start(dir.path(), "snapshot", "100ms", &client).await;
    let deadline = Instant::now() + Duration::from_millis(300);
    let clients = spawn_clients(&server.base, &ledger, &mut rng, deadline);
    for client in clients {
        client.await.expect("client task");
    }
    let data = dir.path().join("data");
    let waiting = Instant::now();
    while !newest_snapshot_covers(&data, &ledger) {
        assert!(
            waiting.elapsed() < COVERED_WITHIN,
            "no interval snapshot covered the acknowledged changes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    let server = Server::start(dir.path(), "snapshot", "100ms", &client).await;
    let state = server_state(&client, &server.base).await;
    assert_no_live_overlap(&state);
    let checked = verify(&ledger, &state, |_, known| {
        (!known.acked.is_empty()).then(|| known.acked.len() - 1)
    });
    assert!(checked > 10, "too little was done: {checked}");
}
