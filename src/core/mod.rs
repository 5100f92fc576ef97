//! The plain-Rust core: deterministic, synchronous, no actix, no serde, no clock. Every function
//! that needs the time takes `now_ms`; every token is made by the caller.
//!
//! - [`calendar`]: the non-overlapping intervals of one resource;
//! - [`gaps`]: a disjoint calendar's free-gap index, for first-available searches;
//! - [`book`]: one company, every operation of the API;
//! - [`command`]: validated commands and their rules;
//! - [`reservation`]: the reservation, its status and its views;
//! - [`schedule`]: company settings (time zone, defaults) and resource configuration (capacity,
//!   opening hours on the company's wall clock, closures);
//! - [`error`]: typed errors, one per API error type;
//! - [`events`]: one event per change of a reservation, numbered per company, the newest kept;
//! - [`metrics`]: per-company counters and histograms;
//! - [`queue`]: the retention queues' block queue, whose pushes never move entries;
//! - [`store`]: reservations in a dense slab, and a snapshot's chunked copy of them;
//! - [`webhooks`]: a company's webhook endpoints (where, which types, the key, how far each got);
//! - [`wheel`]: the hashed timing wheel behind the expiry actor.

pub mod book;
pub mod calendar;
pub mod command;
pub mod error;
pub mod events;
pub mod gaps;
pub mod metrics;
pub mod queue;
pub mod reservation;
pub mod schedule;
pub mod store;
pub mod webhooks;
pub mod wheel;
