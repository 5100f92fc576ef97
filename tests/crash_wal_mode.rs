//! Crash tests: the real `holdfast` binary as a child process, driven over HTTP by several
//! clients at once, killed with SIGKILL at a random moment, restarted on the same data
//! directory. Each round verifies the previous one, so state must survive crash after crash, and
//! no two live reservations may overlap on a resource after any restart.
//!
//! This file: `--durability wal`. Every change that was acknowledged (a 2xx answer reached the
//! client: holds, single and compound, confirms, extends, cancels) is there after the restart,
//! exactly: token, status, segments, expiry time, appointment id, cancel reason. A change that
//! was in flight at the kill may or may not be there: either is right. `crash_snapshot_mode.rs`:
//! `--durability snapshot` and the graceful shutdown.
//!
//! The seed of each test is printed; `HOLDFAST_CRASH_SEED=<n>` replays one.

mod crash_support;

use crash_support::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Goal: in wal mode, across at least 20 SIGKILLs at random moments under concurrent load,
/// every acknowledged hold, confirm and cancel survives exactly, and no live reservations
/// overlap after any restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_mode_keeps_every_acknowledged_change_across_sigkills() {
    const ROUNDS: usize = 22;
    let mut rng = StdRng::seed_from_u64(seed());
    let dir = tempfile::tempdir().unwrap();
    let client = http_client();
    let ledger: Ledger = Arc::default();
    let mut total_checked = 0;
    for round in 0..=ROUNDS {
        let server = Server::start(dir.path(), "wal", "300ms", &client).await;
        let state = server_state(&client, &server.base).await;
        assert_no_live_overlap(&state);
        total_checked += verify(&ledger, &state, |_, known| {
            (!known.acked.is_empty()).then(|| known.acked.len() - 1)
        });
        settle(&ledger, &state);
        if round == ROUNDS {
            server.kill();
            break;
        }
        let run_for = Duration::from_millis(rng.gen_range(60..400));
        drive_and_kill(server, &ledger, &mut rng, run_for, None).await;
    }
    assert!(
        total_checked > 100,
        "the rounds did too little: {total_checked}"
    );
    assert_segments_bounded(&dir.path().join("data"));
    println!("checked {total_checked} reservation states over {ROUNDS} crashes");
}

/// The log does not grow without end: snapshots remove what they cover.
fn assert_segments_bounded(data: &PathBuf) {
    let segments = std::fs::read_dir(data)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("wal-")
        })
        .count();
    // One per run at most is left behind by a crash before its first snapshot; snapshots
    // remove the rest.
    assert!(segments < 20, "{segments} log segments left");
}
