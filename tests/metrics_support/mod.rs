//! What the metrics tests share: an engine on a manual clock whose expiry wheel ticks only when
//! told to, the hold requests they send it, and the data directory of a server started on it.

#![allow(dead_code)] // each test binary uses its own part of this module

use holdfast::actors::engine::{Engine, EngineConfig};
use holdfast::actors::expiry::ExpiryConfig;
use holdfast::clock::{ManualClock, SharedClock};
use holdfast::core::book::Settings;
use holdfast::core::command::{HoldOptions, HoldRequest, HoldTarget, SegmentRequest, Segments};
use holdfast::durability::log::DurabilityMode;
use holdfast::durability::DurabilityConfig;
use holdfast::limits;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// 2027-01-01T00:00:00Z: the clock's start.
pub const START_MS: i64 = 1_798_761_600_000;
pub const MINUTE_MS: i64 = 60_000;
/// Appointments are a day after the clock's start, far from any expiry.
pub const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// The 30-minute segment on `resource` that starts `slot` half hours into the appointment day.
pub fn segment(resource: &str, slot: i64) -> SegmentRequest {
    let start_ms = START_MS + DAY_MS + slot * 30 * MINUTE_MS;
    SegmentRequest::new(resource, start_ms, start_ms + 30 * MINUTE_MS).expect("a valid segment")
}

/// A hold on `target` for `ttl_seconds`, for the call `call-1` and a phone to mask.
pub fn request(target: HoldTarget, ttl_seconds: i64) -> HoldRequest {
    let options = HoldOptions::default()
        .with_ttl_seconds(ttl_seconds)
        .and_then(|o| o.with_call_id("call-1"))
        .and_then(|o| o.with_customer_phone("+4915112345678"))
        .expect("valid options");
    HoldRequest::with_options(target, options)
}

/// A hold of one 30-minute segment on `resource` at `slot`.
pub fn single_hold(resource: &str, slot: i64, ttl_seconds: i64) -> HoldRequest {
    request(
        HoldTarget::Segments(Segments::new(vec![segment(resource, slot)]).unwrap()),
        ttl_seconds,
    )
}

/// An engine on `clock` whose expiry wheel ticks only when told to.
pub fn engine_config(clock: &Arc<ManualClock>, settings: Settings) -> EngineConfig {
    let clock: SharedClock = clock.clone();
    EngineConfig {
        settings,
        clock,
        arbiters: 2,
        expiry: ExpiryConfig {
            resolution: Duration::from_millis(limits::EXPIRY_RESOLUTION_MS_DEFAULT),
            ticks_itself: false,
        },
        ..EngineConfig::default()
    }
}

/// Holds through the engine and returns the new reservation's token; a refusal panics.
pub async fn token(engine: &Engine, company: &str, hold: HoldRequest) -> Uuid {
    engine
        .hold(company, hold)
        .await
        .expect("hold")
        .reservation
        .token
}

/// The write-ahead log in `dir`, with no periodic snapshot inside a test.
pub fn durability(dir: &Path) -> DurabilityConfig {
    DurabilityConfig {
        data_dir: dir.to_path_buf(),
        mode: DurabilityMode::Wal,
        snapshot_interval: Duration::from_secs(3_600),
        keep_snapshots: 2,
        disk: holdfast::durability::disk::Disk::real(),
    }
}
