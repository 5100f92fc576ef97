//! holdfast: an in-memory, actor-based reservation engine. A caller holds a slot for a few
//! minutes, then confirms, cancels or lets it expire; checking and taking a slot is one step
//! inside one company's actor, so two live reservations never overlap on a resource.
//!
//! The module map. Arrows point down only: `server` wires everything; `http` and `cli` use the
//! engine (`actors`); `actors` use `durability` and `core`; `durability` uses `core`; `core`
//! imports nothing above it.
//! - [`server`]: the whole life of a server: lock the data directory, restore, open the log,
//!   start the engine and the snapshotter, serve, drain, final snapshot, close the log;
//! - [`config`]: the settings of `holdfast serve` (flags and `HOLDFAST_*` variables);
//! - [`http`]: the actix-web shim: routes, wire types, errors as problem+json, keys, the
//!   counting of the requests it refuses on its own;
//! - [`cli`]: the operator's subcommands (`holdfast snapshot inspect`, `holdfast metrics`);
//! - [`metrics`]: every company's counters and the engine's gauges for Prometheus
//!   (`GET /metrics`);
//! - [`actors`]: actix shells: the company actor, the registry, the engine-wide live budget,
//!   the expiry wheel, the snapshotter, the `Engine` facade;
//! - [`durability`]: snapshot files and the write-ahead log (the log), their versioned on-disk
//!   types, restore at start-up, the request fingerprint of idempotency keys;
//! - [`core`]: plain Rust: calendars, the per-company `Book`, validated commands, errors,
//!   metrics, the timing wheel;
//! - [`webhooks`]: delivering events to a company's endpoints: Standard Webhooks secrets and
//!   signatures, which destinations a delivery may go to, one delivery task per endpoint, and
//!   their counters;
//! - [`call_metrics`]: the voice routes' counters of calls (seen, holds, booked, released);
//! - [`clock`]: time, injected (system and manual clocks);
//! - [`limits`]: every bound, its unit and its reason.
//!
//! The load tool is a crate of its own (`bench/`, `holdfast-bench`), a client of the HTTP API.

pub mod actors;
pub mod call_metrics;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod durability;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod server;
pub mod webhooks;
