//! What the crash tests share: the real `holdfast` binary as a child process on port 0, clients
//! that drive it over HTTP at random and keep a ledger of every acknowledged state, and the
//! checks run after each restart (every acknowledged state is there, no two live reservations
//! overlap). `crash_wal_mode.rs` and `crash_snapshot_mode.rs` use it, one per `--durability`.

#![allow(dead_code)] // each test binary uses its own part of this module

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Resources the clients book; with [`SLOTS`] half-hour slots each, conflicts are frequent.
pub const RESOURCES: usize = 8;
/// Half-hour slots per resource (one day).
pub const SLOTS: i64 = 48;
/// Concurrent clients per round.
pub const CLIENTS: usize = 4;
/// 2027-01-01T00:00:00Z, in seconds: the day the slots are on.
pub const DAY_START_SECONDS: i64 = 1_798_761_600;
/// Longest wait for a restarted server to answer `/healthz` (restore included).
pub const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// What a client knows about one of its reservations.
#[derive(Clone, Debug, Default)]
pub struct Known {
    /// Every acknowledged state, oldest first.
    pub acked: Vec<Value>,
    /// The status the change in flight would give (no answer came back).
    pub pending: Option<&'static str>,
}

pub type Ledger = Arc<Mutex<HashMap<String, Known>>>;

/// A running server process.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Starts the binary on port 0 and waits until `/healthz` answers 200 (that is, restored).
    pub async fn start(dir: &Path, mode: &str, interval: &str, client: &reqwest::Client) -> Server {
        Server::start_with(dir, mode, interval, &[], client).await
    }

    /// [`Server::start`] with more arguments for `serve`.
    pub async fn start_with(
        dir: &Path,
        mode: &str,
        interval: &str,
        more: &[&str],
        client: &reqwest::Client,
    ) -> Server {
        let log_path = dir.join(format!("server-{}.log", rand::random::<u32>()));
        let log = std::fs::File::create(&log_path).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_holdfast"))
            .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "json"])
            .args(["--durability", mode, "--snapshot-interval", interval])
            .args(more)
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
    pub fn kill(mut self) {
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
pub fn bound_address(log: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains("holdfast starting"))?;
    let value: Value = serde_json::from_str(line).ok()?;
    value["fields"]["bind"].as_str().map(str::to_string)
}

pub fn slot_times(slot: i64) -> (String, String) {
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
pub fn essence(reservation: &Value) -> Value {
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
pub async fn drive(
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
pub async fn server_state(client: &reqwest::Client, base: &str) -> HashMap<String, Value> {
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
pub fn assert_no_live_overlap(state: &HashMap<String, Value>) {
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
pub fn verify(
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
pub fn settle(ledger: &Ledger, state: &HashMap<String, Value>) {
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

pub fn seed() -> u64 {
    let seed = std::env::var("HOLDFAST_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("HOLDFAST_CRASH_SEED={seed}");
    seed
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Starts `CLIENTS` callers, each with its own client and seed, driving `base` until `deadline`.
pub fn spawn_clients(
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

/// Runs the clients against `server` for `run_for`, killing the server at the end; `mid_run`, if
/// any, runs halfway through.
pub async fn drive_and_kill(
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
