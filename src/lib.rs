//! holdfast: an in-memory, actor-based reservation engine. A caller holds a slot for a few
//! minutes, then confirms, cancels or lets it expire; checking and taking a slot is one step
//! inside one company's actor, so two live reservations never overlap on a resource.
//!
//! The module map (arrows point down only; `core` imports nothing above it):
//! - [`limits`]: every bound, its unit and its reason;
//! - [`clock`]: time, injected (system and manual clocks);
//! - [`core`]: plain Rust: calendars, the per-company `Book`, commands, errors, metrics, the
//!   timing wheel;
//! - [`actors`]: actix shells: the company actor, the registry, the expiry wheel, the `Engine`
//!   facade;
//! - [`http`]: the actix-web shim: routes, wire types, errors as problem+json, keys;
//! - [`config`]: the settings of `holdfast serve` (flags and `HOLDFAST_*` variables);
//! - [`durability`]: snapshot files and the write-ahead log, and restore at start-up;
//! - [`metrics`]: every company's counters and the engine's gauges for Prometheus
//!   (`GET /metrics`), and the counting of requests the HTTP edge refuses by itself;
//! - [`cli`]: the operator's subcommands (`holdfast snapshot inspect`, `holdfast metrics`,
//!   `holdfast bench`).

pub mod actors;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod durability;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod server;
