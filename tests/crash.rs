//! Crash tests (issue 5): the real `holdfast` binary as a child process, driven over HTTP by
//! several clients at once, killed with SIGKILL at a random moment, restarted on the same data
//! directory. Each round verifies the previous one, so state must survive crash after crash.
//!
//! - WAL mode: every change that was acknowledged (a 2xx answer reached the client: holds, single
//!   and compound, confirms, extends, cancels) is there after the restart, exactly: token,
//!   status, segments, expiry time, appointment id, cancel reason. A change that was in flight
//!   at the kill may or may not be there: either is right.
//! - Snapshot mode: everything acknowledged before a snapshot that was answered is there (at
//!   that state or a later acknowledged one), and snapshots keep being taken on the interval.
//! - Both: no two live reservations overlap on a resource after the restart.
//!
//! The seed of each test is printed; `HOLDFAST_CRASH_SEED=<n>` replays one.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Resources the clients book; with [`SLOTS`] half-hour slots each, conflicts are frequent.
const RESOURCES: usize = 8;
/// Half-hour slots per resource (one day).
const SLOTS: i64 = 48;
/// Concurrent clients per round.
const CLIENTS: usize = 4;
/// 2027-01-01T00:00:00Z, in seconds: the day the slots are on.
const DAY_START_SECONDS: i64 = 1_798_761_600;
/// Longest wait for a restarted server to answer `/healthz` (restore included).
const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// What a client knows about one of its reservations.
#[derive(Clone, Debug, Default)]
struct Known {
    /// Every acknowledged state, oldest first.
    acked: Vec<Value>,
    /// The status the change in flight would give (no answer came back).
    pending: Option<&'static str>,
}

type Ledger = Arc<Mutex<HashMap<String, Known>>>;

/// A running server process.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts the binary on port 0 and waits until `/healthz` answers 200 (that is, restored).
    async fn start(dir: &Path, mode: &str, interval: &str, client: &reqwest::Client) -> Server {
        let log_path = dir.join(format!("server-{}.log", rand::random::<u32>()));
        let log = std::fs::File::create(&log_path).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_holdfast"))
            .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "json"])
            .args(["--durability", mode, "--snapshot-interval", interval])
            .arg("--data-dir")
            .arg(dir.join("data"))
            .env_remove("HOLDFAST_BIND")
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("the binary starts");
        let mut server = Server {
            child,
            base: String::new(),
        };
        let started = Instant::now();
        loop {
            assert!(
                started.elapsed() < STARTUP_WAIT,
                "server did not start: {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
            if let Some(status) = server.child.try_wait().expect("child status") {
                panic!(
                    "server exited with {status}: {}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            if server.base.is_empty() {
                let text = std::fs::read_to_string(&log_path).unwrap_or_default();
                if let Some(address) = bound_address(&text) {
                    server.base = format!("http://{address}");
                }
            }
            if !server.base.is_empty() {
                let health = client.get(format!("{}/healthz", server.base)).send().await;
                if health.is_ok_and(|r| r.status() == StatusCode::OK) {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no shutdown path runs, no final snapshot, nothing flushed.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Server {
    /// A failing test must not leave its server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in the "holdfast starting" log line (`"bind":"127.0.0.1:port"`).
fn bound_address(log: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains("holdfast starting"))?;
    let value: Value = serde_json::from_str(line).ok()?;
    value["fields"]["bind"].as_str().map(str::to_string)
}

fn slot_times(slot: i64) -> (String, String) {
    let start = DAY_START_SECONDS + slot * 1_800;
    let format = |seconds: i64| {
        chrono::DateTime::from_timestamp(seconds, 0)
            .expect("in range")
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    (format(start), format(start + 1_800))
}

/// The fields that must survive, as one comparable value.
fn essence(reservation: &Value) -> Value {
    json!({
        "token": reservation["token"],
        "status": reservation["status"],
        "segments": reservation["segments"],
        "reserved_at": reservation["reserved_at"],
        "expires_at": reservation["expires_at"],
        "appointment_id": reservation["appointment_id"],
        "converted_at": reservation["converted_at"],
        "cancel_reason": reservation["cancel_reason"],
        "cancelled_at": reservation["cancelled_at"],
    })
}

/// One client: random holds, confirms and cancels until `deadline` or the server dies.
async fn drive(
    client: reqwest::Client,
    base: String,
    ledger: Ledger,
    seed: u64,
    deadline: Instant,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut mine: Vec<String> = Vec::new();
    let holds = format!("{base}/v1/companies/acme/holds");
    while Instant::now() < deadline {
        let choice = rng.gen_range(0..10);
        let result = if choice < 6 || mine.is_empty() {
            let (start, end) = slot_times(rng.gen_range(0..SLOTS));
            let first = rng.gen_range(0..RESOURCES);
            let call_id = format!("call-{}", rng.gen_range(0..1_000_000));
            // One hold in four is compound: the same slot on two resources, all or nothing.
            let body = if rng.gen_range(0..4) == 0 {
                let second = (first + 1 + rng.gen_range(0..RESOURCES - 1)) % RESOURCES;
                json!({
                    "segments": [
                        {"resource": format!("r{first}"), "start": start, "end": end},
                        {"resource": format!("r{second}"), "start": start, "end": end},
                    ],
                    "ttl_seconds": 3_600,
                    "call_id": call_id,
                })
            } else {
                json!({
                    "resource": format!("r{first}"),
                    "start": start, "end": end,
                    "ttl_seconds": 3_600,
                    "call_id": call_id,
                })
            };
            match client.post(&holds).json(&body).send().await {
                Ok(response) if response.status() == StatusCode::CREATED => {
                    let reservation: Value = response.json().await.unwrap_or(Value::Null);
                    let token = reservation["token"].as_str().unwrap_or("").to_string();
                    ledger
                        .lock()
                        .unwrap()
                        .entry(token.clone())
                        .or_default()
                        .acked
                        .push(essence(&reservation));
                    mine.push(token);
                    Ok(())
                }
                Ok(response) => {
                    assert_eq!(
                        response.status(),
                        StatusCode::CONFLICT,
                        "hold refused oddly"
                    );
                    Ok(())
                }
                Err(error) => Err(error),
            }
        } else {
            let index = rng.gen_range(0..mine.len());
            let token = mine[index].clone();
            let confirm = choice < 7;
            let extend = choice == 7;
            let (request, pending) = if confirm {
                let body = json!({"appointment_id": format!("A-{}", rng.gen_range(0..1_000))});
                (
                    client.post(format!("{holds}/{token}/confirm")).json(&body),
                    "converted",
                )
            } else if extend {
                // A new expiry time: it must come back exactly.
                let body = json!({"ttl_seconds": rng.gen_range(600..1_800)});
                (
                    client.post(format!("{holds}/{token}/extend")).json(&body),
                    "active",
                )
            } else {
                (
                    client.delete(format!("{holds}/{token}?reason=crash_test")),
                    "cancelled",
                )
            };
            ledger
                .lock()
                .unwrap()
                .get_mut(&token)
                .expect("mine")
                .pending = Some(pending);
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    let reservation: Value = response.json().await.unwrap_or(Value::Null);
                    let mut ledger = ledger.lock().unwrap();
                    let known = ledger.get_mut(&token).expect("mine");
                    known.acked.push(essence(&reservation));
                    known.pending = None;
                    // A cancelled reservation is done with; a booking may still be cancelled.
                    if !confirm && !extend {
                        mine.swap_remove(index);
                    }
                    Ok(())
                }
                Ok(response) => {
                    // Confirm of a cancelled one, say: refused, nothing changed.
                    ledger
                        .lock()
                        .unwrap()
                        .get_mut(&token)
                        .expect("mine")
                        .pending = None;
                    assert!(response.status().is_client_error(), "{}", response.status());
                    mine.swap_remove(index);
                    Ok(())
                }
                Err(error) => Err(error),
            }
        };
        if result.is_err() {
            // The server is gone (killed): what was in flight stays pending.
            return;
        }
    }
}

/// Every reservation the server holds for `acme`, by token (one list per resource and status
/// keeps each list under the API's 1,000 limit).
async fn server_state(client: &reqwest::Client, base: &str) -> HashMap<String, Value> {
    let mut all = HashMap::new();
    for resource in 0..RESOURCES {
        for status in ["active", "converted", "expired", "cancelled"] {
            let url = format!(
                "{base}/v1/companies/acme/holds?resource=r{resource}&status={status}&limit=1000"
            );
            let response = client.get(url).send().await.expect("list");
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = response.json().await.expect("json");
            let holds = body["holds"].as_array().expect("holds").clone();
            assert!(holds.len() < 1_000, "the test outgrew one list");
            for hold in holds {
                all.insert(hold["token"].as_str().unwrap().to_string(), hold);
            }
        }
    }
    all
}

/// No two live reservations overlap on a resource.
fn assert_no_live_overlap(state: &HashMap<String, Value>) {
    let mut by_resource: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    for reservation in state.values() {
        let status = reservation["status"].as_str().unwrap();
        if status != "active" && status != "converted" {
            continue;
        }
        for segment in reservation["segments"].as_array().unwrap() {
            by_resource
                .entry(segment["resource"].as_str().unwrap().to_string())
                .or_default()
                .push((
                    segment["start"].as_str().unwrap().to_string(),
                    segment["end"].as_str().unwrap().to_string(),
                    reservation["token"].as_str().unwrap().to_string(),
                ));
        }
    }
    for (resource, mut intervals) in by_resource {
        // Same format and zone everywhere, so the strings order as the instants do.
        intervals.sort();
        for pair in intervals.windows(2) {
            assert!(
                pair[1].0 >= pair[0].1,
                "live overlap on {resource}: {:?} and {:?}",
                pair[0],
                pair[1]
            );
        }
    }
}

/// Checks every token the clients heard of against the restarted server. `from_index(token)`
/// is the first acknowledged state that must have survived (`None`: the token may be missing).
fn verify(
    ledger: &Ledger,
    state: &HashMap<String, Value>,
    from_index: impl Fn(&str, &Known) -> Option<usize>,
) -> usize {
    let ledger = ledger.lock().unwrap();
    let mut checked = 0;
    for (token, known) in ledger.iter() {
        let Some(first) = from_index(token, known) else {
            continue;
        };
        let found = state
            .get(token)
            .unwrap_or_else(|| panic!("acknowledged reservation {token} is missing"));
        let found_essence = essence(found);
        let acceptable_acked = known.acked[first..].contains(&found_essence);
        let acceptable_pending = known
            .pending
            .is_some_and(|status| found["status"] == status);
        assert!(
            acceptable_acked || acceptable_pending,
            "reservation {token} came back as {found_essence}\nacknowledged: {:?}\npending: {:?}",
            &known.acked[first..],
            known.pending
        );
        // What came back is now what the next round must keep.
        checked += 1;
    }
    checked
}

/// After a verify, the server's state is the new truth for each token (a pending change that
/// did land is now durable; one that did not is gone for good).
fn settle(ledger: &Ledger, state: &HashMap<String, Value>) {
    let mut ledger = ledger.lock().unwrap();
    for (token, known) in ledger.iter_mut() {
        if let Some(found) = state.get(token) {
            known.acked = vec![essence(found)];
        } else {
            known.acked.clear();
        }
        known.pending = None;
    }
    ledger.retain(|_, known| !known.acked.is_empty());
}

fn seed() -> u64 {
    let seed = std::env::var("HOLDFAST_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("HOLDFAST_CRASH_SEED={seed}");
    seed
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Runs the clients against `server` for `run_for`, killing the server at the end.
/// Starts `CLIENTS` callers, each with its own client and seed, driving `base` until `deadline`.
fn spawn_clients(
    base: &str,
    ledger: &Ledger,
    rng: &mut StdRng,
    deadline: Instant,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..CLIENTS)
        .map(|_| {
            tokio::spawn(drive(
                http_client(),
                base.to_string(),
                ledger.clone(),
                rng.gen(),
                deadline,
            ))
        })
        .collect()
}

async fn drive_and_kill(
    server: Server,
    ledger: &Ledger,
    rng: &mut StdRng,
    run_for: Duration,
    mid_run: Option<&(dyn Fn() -> futures::future::BoxFuture<'static, ()> + Sync)>,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let clients = spawn_clients(&server.base, ledger, rng, deadline);
    tokio::time::sleep(run_for / 2).await;
    if let Some(mid_run) = mid_run {
        mid_run().await;
    }
    tokio::time::sleep(run_for / 2).await;
    server.kill();
    for client in clients {
        client.await.expect("client task");
    }
}

/// Goal: in WAL mode, across at least 20 SIGKILLs at random moments under concurrent load,
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
    assert!(
        (1..=3).contains(&snapshots),
        "{snapshots} snapshots kept (default keep is 3)"
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
        .flat_map(|company| company.reservations.iter())
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
