//! Fault injection at every point where the log and the snapshot writer touch the disk.
//!
//! A scripted workload (holds, confirms, extends, cancels over two companies, with snapshots in
//! between) runs once with a plan that only counts the disk's writes, syncs and renames. Then it
//! runs again for every point N, with the N-th call failing (and every later one, as a full disk
//! keeps failing until space is freed), in each of the ways a disk fails. Each run checks that
//! what the server holds equals exactly what was acknowledged:
//!
//! - while the disk fails (after the recovery rebuilt the books from the disk),
//! - after the disk heals and the server takes changes again by itself,
//! - after a crash at that moment (a restart on a copy of the data directory as it is),
//! - after a graceful stop and a restart.
//!
//! Time is the manual clock; nothing here sleeps for time to pass, only polls for the
//! recovery task to finish.

use holdfast::actors::engine::{EngineConfig, EngineError};
use holdfast::actors::expiry::ExpiryConfig;
use holdfast::clock::{ManualClock, SharedClock};
use holdfast::core::command::{HoldOptions, HoldRequest, HoldTarget, ListFilter};
use holdfast::core::reservation::Status;
use holdfast::durability::disk::{Disk, Fault, FaultPlan, IoPoint};
use holdfast::durability::log::DurabilityMode;
use holdfast::durability::DurabilityConfig;
use holdfast::http::HttpOptions;
use holdfast::server::{Server, ServerConfig};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// 2027-01-01T00:00:00Z.
const BASE_MS: i64 = 1_798_761_600_000;
const HOUR_MS: i64 = 3_600_000;
const COMPANIES: [&str; 2] = ["acme", "bolt"];
/// Longest wait for the recovery task (it needs milliseconds; the margin is for a loaded CI).
const RECOVERY_WAIT: Duration = Duration::from_secs(20);

/// One step of the workload. Slots are hours on resource `r1`.
#[derive(Clone, Copy, Debug)]
enum Step {
    Hold(usize, i64),
    Confirm(usize, i64),
    Extend(usize, i64),
    Cancel(usize, i64),
    Snapshot,
}

const SCRIPT: &[Step] = &[
    Step::Hold(0, 0),
    Step::Hold(0, 1),
    Step::Hold(1, 0),
    Step::Confirm(0, 0),
    Step::Snapshot,
    Step::Hold(0, 2),
    Step::Cancel(0, 1),
    Step::Extend(1, 0),
    Step::Hold(1, 1),
    Step::Confirm(1, 1),
    Step::Snapshot,
    Step::Hold(0, 3),
    Step::Cancel(0, 0),
    Step::Hold(1, 2),
];

/// What a company's slot holds: status and expiry.
type State = BTreeMap<(usize, i64), (Status, i64)>;

fn hold_request(slot: i64) -> HoldRequest {
    let start_ms = BASE_MS + 24 * HOUR_MS + slot * HOUR_MS;
    let target = HoldTarget::single("r1", start_ms, start_ms + HOUR_MS / 2).unwrap();
    let options = HoldOptions::default()
        .with_ttl_seconds(300)
        .and_then(|o| o.with_call_id("call-1"))
        .unwrap();
    HoldRequest::with_options(target, options)
}

fn slot_of(start_ms: i64) -> i64 {
    (start_ms - BASE_MS - 24 * HOUR_MS) / HOUR_MS
}

fn config(dir: &Path, clock: &Arc<ManualClock>, disk: Disk) -> ServerConfig {
    let shared: SharedClock = clock.clone();
    ServerConfig {
        engine: EngineConfig {
            clock: shared,
            arbiters: 2,
            expiry: ExpiryConfig {
                ticks_itself: false,
                ..ExpiryConfig::default()
            },
            ..EngineConfig::default()
        },
        durability: DurabilityConfig {
            data_dir: dir.to_path_buf(),
            mode: DurabilityMode::Wal,
            // Long: the script takes its snapshots itself, so every run passes the same points.
            snapshot_interval: Duration::from_secs(3_600),
            keep_snapshots: 2,
            disk,
        },
        http: HttpOptions::default(),
    }
}

/// What the engine holds now, every company.
async fn state_of(server: &Server) -> State {
    let mut state = State::new();
    for (company_index, company) in COMPANIES.iter().enumerate() {
        let views = server
            .engine()
            .list(company, ListFilter::default())
            .await
            .expect("reads work while changes are refused");
        for view in views.reservations {
            let slot = slot_of(view.segments[0].start_ms);
            state.insert((company_index, slot), (view.status, view.expires_at_ms));
        }
    }
    state
}

/// Polls until the engine holds `expected` (the recovery runs on its own task), or fails with
/// the difference.
async fn wait_for_state(server: &Server, expected: &State, when: &str) {
    let started = Instant::now();
    loop {
        let actual = state_of(server).await;
        if &actual == expected {
            return;
        }
        assert!(
            started.elapsed() < RECOVERY_WAIT,
            "{when}: the server holds {actual:?}, but exactly {expected:?} was acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// What one run of the script acknowledged and refused.
#[derive(Default)]
struct Outcome {
    expected: State,
    acknowledged: usize,
    refused: usize,
    /// Disk calls counted when the script ended (before the recovery, the check and the stop).
    script_points: u64,
}

/// Runs the script, keeping in `outcome` exactly what was acknowledged.
async fn run_script(server: &Server, outcome: &mut Outcome) {
    let engine = server.engine();
    let mut tokens: HashMap<(usize, i64), Uuid> = HashMap::new();
    for step in SCRIPT {
        let (company_index, slot) = match *step {
            Step::Hold(c, s) | Step::Confirm(c, s) | Step::Extend(c, s) | Step::Cancel(c, s) => {
                (c, s)
            }
            Step::Snapshot => {
                // A snapshot that fails is no change: nothing to check but that it says so.
                let _ = server.snapshots().take().await;
                continue;
            }
        };
        let company = COMPANIES[company_index];
        let key = (company_index, slot);
        let answer = match *step {
            Step::Hold(..) => engine
                .hold(company, hold_request(slot))
                .await
                .map(|outcome| outcome.reservation),
            Step::Snapshot => unreachable!(),
            _ => {
                // A step on a hold that was refused has nothing to act on.
                let Some(&token) = tokens.get(&key) else {
                    continue;
                };
                match *step {
                    Step::Confirm(..) => engine.confirm(company, token, Some("A-1".into())).await,
                    Step::Extend(..) => engine.extend(company, token, 600).await,
                    _ => engine.cancel(company, token, None).await,
                }
            }
        };
        match answer {
            Ok(view) => {
                tokens.insert(key, view.token);
                outcome
                    .expected
                    .insert(key, (view.status, view.expires_at_ms));
                outcome.acknowledged += 1;
            }
            Err(EngineError::Durability(_)) => outcome.refused += 1,
            Err(error) => panic!("{step:?}: an answer other than success or a refusal: {error}"),
        }
    }
}

/// Starts a server on `dir` with the real disk and checks it holds exactly `expected`.
fn restart_and_check(dir: &Path, clock: &Arc<ManualClock>, expected: &State, when: &str) {
    let config = config(dir, clock, Disk::real());
    let expected = expected.clone();
    let when = when.to_string();
    actix_rt::System::new().block_on(async move {
        let server = Server::start(config).unwrap_or_else(|e| panic!("{when}: restart: {e}"));
        let actual = state_of(&server).await;
        assert_eq!(actual, expected, "{when}: after the restart");
        server.shut_down().await.expect("the final snapshot");
    });
}

/// One run with the `point`-th disk call failing with `fault` (0: nothing fails). Returns the
/// plan (for the dry run's count) and what was acknowledged and refused.
fn run_with_fault(point: u64, fault: Fault) -> (Arc<FaultPlan>, Outcome) {
    let dir = tempfile::tempdir().unwrap();
    let crash_copy = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(BASE_MS);
    let plan = if point == 0 {
        FaultPlan::count_only()
    } else {
        FaultPlan::fail_at(point, fault)
    };
    let when = format!("{fault:?} at point {point}");
    let server_config = config(dir.path(), &clock, Disk::with_faults(plan.clone()));
    let (run_plan, mut outcome, check_when) = (plan.clone(), Outcome::default(), when.clone());
    let copy_to = crash_copy.path().to_path_buf();
    let started = actix_rt::System::new().block_on(async move {
        let server = match Server::start(server_config) {
            Ok(server) => server,
            // The disk failed while the log opened: the server does not start, and holds
            // nothing anyone was told.
            Err(_) => return (false, outcome),
        };
        run_script(&server, &mut outcome).await;
        outcome.script_points = run_plan.points_seen();
        if run_plan.is_failing() {
            wait_for_state(
                &server,
                &outcome.expected,
                &format!("{check_when}, disk failing"),
            )
            .await;
            // Still refusing, and saying so.
            let log_writer = server.snapshots().log_writer();
            let refused = server.engine().hold("acme", hold_request(100)).await;
            if log_writer.is_refusing() {
                assert!(
                    matches!(refused, Err(EngineError::Durability(_))),
                    "{check_when}: a change while the disk fails is refused: {refused:?}"
                );
                outcome.refused += 1;
            } else if let Ok(outcome_) = refused {
                // The failed call was one the log needs no more (a pruning): it goes on.
                let view = outcome_.reservation;
                outcome
                    .expected
                    .insert((0, 100), (view.status, view.expires_at_ms));
            }
        }
        run_plan.heal();
        let log_writer = server.snapshots().log_writer().clone();
        let started = Instant::now();
        while log_writer.is_refusing() {
            assert!(
                started.elapsed() < RECOVERY_WAIT,
                "{check_when}: the server did not take changes again after the disk healed"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        wait_for_state(&server, &outcome.expected, &format!("{check_when}, healed")).await;
        // Back in service: a change is acknowledged again.
        let view = server
            .engine()
            .hold("bolt", hold_request(200))
            .await
            .unwrap_or_else(|e| panic!("{check_when}: a hold after the recovery: {e}"))
            .reservation;
        outcome
            .expected
            .insert((1, 200), (view.status, view.expires_at_ms));
        // A crash now: the directory as it is, copied while the server runs.
        copy_dir(server.snapshots().dir(), &copy_to);
        server
            .shut_down()
            .await
            .unwrap_or_else(|e| panic!("{check_when}: the final snapshot: {e}"));
        (true, outcome)
    });
    let (served, outcome) = started;
    if served {
        restart_and_check(
            crash_copy.path(),
            &clock,
            &outcome.expected,
            &format!("{when}, crash"),
        );
    } else {
        assert!(outcome.expected.is_empty());
    }
    restart_and_check(
        dir.path(),
        &clock,
        &outcome.expected,
        &format!("{when}, stop"),
    );
    (plan, outcome)
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Goal: whichever disk call fails, and however it fails, every acknowledged change is kept and
/// no refused one is: while the disk fails, after it heals, after a crash and after a restart;
/// and the server takes changes again by itself once the disk does.
#[test]
fn every_disk_failure_keeps_exactly_what_was_acknowledged() {
    let (dry_run, clean) = run_with_fault(0, Fault::NoSpace);
    assert_eq!(clean.refused, 0, "nothing fails without a fault");
    let points = clean.script_points;
    let trace = &dry_run.trace()[..points as usize];
    assert!(
        points > 30,
        "the script passes every kind of point: {trace:?}"
    );
    for kind in [IoPoint::Write, IoPoint::Sync, IoPoint::Rename] {
        assert!(trace.contains(&kind), "the script passes a {kind:?}");
    }
    let mut refused_runs = 0;
    for point in 1..=points {
        // Every point fails with "no space"; writes are also cut short, syncs also fail as a
        // failing device does.
        let mut faults = vec![Fault::NoSpace];
        match trace[point as usize - 1] {
            IoPoint::Write => faults.push(Fault::ShortWrite),
            IoPoint::Sync => faults.push(Fault::Io),
            IoPoint::Rename => {}
        }
        for fault in faults {
            let (_, outcome) = run_with_fault(point, fault);
            if outcome.refused > 0 {
                refused_runs += 1;
            }
        }
    }
    assert!(
        refused_runs as u64 >= points / 2,
        "most failures refuse changes ({refused_runs} of {points} points did)"
    );
}
