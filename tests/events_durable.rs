//! Events are as durable as their changes: a real server (its company actors, its write-ahead
//! log, a snapshot midway) makes changes of every kind, among them a refused hold that expires
//! a hold past its time on its own; the data directory, restored as a restart would, holds the
//! same events with the same `seq`s, times and reservations, without a gap or a duplicate.

use holdfast::actors::engine::EngineConfig;
use holdfast::actors::expiry::ExpiryConfig;
use holdfast::clock::ManualClock;
use holdfast::core::book::Settings;
use holdfast::core::command::{HoldOptions, HoldRequest, HoldTarget};
use holdfast::core::events::Event;
use holdfast::durability::disk::Disk;
use holdfast::durability::log::DurabilityMode;
use holdfast::durability::{restore, DurabilityConfig};
use holdfast::http::HttpOptions;
use holdfast::server::{Server, ServerConfig};
use std::sync::Arc;
use std::time::Duration;

/// 2027-01-01T00:00:00Z.
const BASE_MS: i64 = 1_798_761_600_000;
const MINUTE_MS: i64 = 60_000;
/// Slots are the next day.
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

fn hold(resource: &str, from_minute: i64, to_minute: i64, ttl: i64, call: &str) -> HoldRequest {
    let start = BASE_MS + DAY_MS + from_minute * MINUTE_MS;
    let end = BASE_MS + DAY_MS + to_minute * MINUTE_MS;
    let options = HoldOptions::default()
        .with_ttl_seconds(ttl)
        .and_then(|o| o.with_call_id(call))
        .expect("valid options");
    HoldRequest::with_options(HoldTarget::single(resource, start, end).unwrap(), options)
}

/// Copies every file of `from` into a new temporary directory (a restart reads the files as
/// the crash left them; the running server keeps its own).
fn copy_of(from: &std::path::Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "LOCK" {
            std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
        }
    }
    copy
}

/// Goal: after changes of every kind (create, extend, convert, cancel, a call's holds
/// replaced, expiry by the wheel and by a refused hold) around a snapshot, the restored company
/// holds exactly the events the live one handed out, numbered 1 to n.
#[test]
fn restored_events_are_the_events_handed_out() {
    let data = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(BASE_MS);
    let config = ServerConfig {
        engine: EngineConfig {
            settings: Settings::default(),
            clock: clock.clone(),
            arbiters: 1,
            expiry: ExpiryConfig {
                ticks_itself: false,
                ..ExpiryConfig::default()
            },
            total_live_limit: 1_000_000,
        },
        durability: DurabilityConfig {
            data_dir: data.path().to_path_buf(),
            mode: DurabilityMode::Wal,
            snapshot_interval: Duration::from_secs(3_600),
            keep_snapshots: 3,
            disk: Disk::real(),
        },
        http: HttpOptions::default(),
    };
    let data_dir = data.path().to_path_buf();
    let (live, copy) = actix::System::new().block_on(async move {
        let server = Server::start(config).unwrap();
        let engine = server.engine().clone();
        let e = &engine;
        let stale = e.hold("acme", hold("r1", 0, 30, 60, "c1")).await.unwrap();
        let booked = e.hold("acme", hold("r1", 30, 60, 900, "c2")).await.unwrap();
        let booked = booked.reservation.token;
        e.extend("acme", booked, 1_200).await.unwrap();
        e.confirm("acme", booked, Some("A-1".into())).await.unwrap();
        e.hold("acme", hold("r2", 0, 30, 900, "c3")).await.unwrap();
        let mut replacing = hold("r3", 0, 30, 900, "c3");
        replacing = HoldRequest::with_options(
            replacing.target().clone(),
            HoldOptions::default()
                .with_ttl_seconds(900)
                .and_then(|o| o.with_call_id("c3"))
                .unwrap()
                .replacing_call_holds(true),
        );
        let replacing = e.hold("acme", replacing).await.unwrap();
        e.cancel("acme", replacing.reservation.token, None)
            .await
            .unwrap();
        e.hold("beta", hold("r1", 0, 30, 60, "b1")).await.unwrap();
        server.snapshots().take().await.unwrap();
        clock.advance_ms(2 * MINUTE_MS);
        // Refused (the booking is in the way), after expiring the stale hold on its own.
        assert!(e.hold("acme", hold("r1", 20, 40, 900, "c4")).await.is_err());
        // beta's hold expires by the wheel.
        e.expiry_tick().await.unwrap();
        let live = e.events("acme", 0, 1_000).await.unwrap().events;
        let beta = e.events("beta", 0, 1_000).await.unwrap().events;
        assert_eq!(beta.len(), 2, "beta: created, expired");
        assert_eq!(
            stale.reservation.status,
            holdfast::core::reservation::Status::Active
        );
        (live, copy_of(&data_dir))
    });
    let kinds: Vec<&str> = live.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "reservation.created",
            "reservation.created",
            "reservation.extended",
            "reservation.converted",
            "reservation.created",
            "reservation.cancelled",
            "reservation.created",
            "reservation.cancelled",
            "reservation.expired",
        ]
    );
    // A minute later than the live run: an expiry the log did not hold would be made again
    // at restore, at another time, and differ.
    let restored = restore(copy.path(), &Settings::default(), BASE_MS + 3 * MINUTE_MS).unwrap();
    let acme = restored
        .books
        .iter()
        .find(|b| &**b.company() == "acme")
        .expect("acme restored");
    let again: Vec<Arc<Event>> = acme.events_after(0, 1_000).events;
    assert_eq!(again, live, "the same events, seq for seq");
    assert_eq!(acme.event_log().next_seq(), live.len() as u64 + 1);
    let beta = restored
        .books
        .iter()
        .find(|b| &**b.company() == "beta")
        .expect("beta restored");
    let beta_kinds: Vec<&str> = beta
        .events_after(0, 10)
        .events
        .iter()
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(beta_kinds, ["reservation.created", "reservation.expired"]);
}
