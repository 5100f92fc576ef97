//! The throughput scenario: a single hold of a random 30-minute slot of a random resource (the
//! `bench/holds.lua` workload).

use super::caller::Caller;
use super::schedule::{rfc3339, MINUTE_MS};
use super::wire::single_body;
use crate::stats::{Operation, Outcome};
use hyper::Method;
use rand::Rng;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Throughput: 100 resources, starts on a 15-minute grid over 30 days, as in `holds.lua`.
pub const THROUGHPUT_RESOURCES: usize = 100;
const THROUGHPUT_GRID_MS: i64 = 15 * MINUTE_MS;
const THROUGHPUT_STARTS: i64 = 2_880;

/// The throughput scenario.
pub struct Throughput {
    pub company: String,
    pub resources: Vec<String>,
    /// Every start of the grid, formatted once (the end of start `i` is start `i + 2`).
    pub times: Vec<String>,
}

impl Throughput {
    /// The `holds.lua` workload from `base_ms`, for `company`.
    pub fn new(company: String, base_ms: i64) -> Throughput {
        Throughput {
            company,
            resources: (1..=THROUGHPUT_RESOURCES)
                .map(|r| format!("r{r}"))
                .collect(),
            times: (0..=THROUGHPUT_STARTS + 2)
                .map(|i| rfc3339(base_ms + i * THROUGHPUT_GRID_MS))
                .collect(),
        }
    }
}

/// Throughput: one hold of a random 30-minute slot of a random resource.
pub(super) async fn plain_hold(throughput: &Throughput, caller: &mut Caller, scheduled: Instant) {
    let resource = caller.rng.gen_range(0..throughput.resources.len());
    let start = caller.rng.gen_range(0..=THROUGHPUT_STARTS as usize);
    let call = format!("call-{}-{}", caller.index, caller.flows);
    let body = single_body(
        &throughput.resources[resource],
        &throughput.times[start],
        &throughput.times[start + 2],
        &call,
    );
    let path = format!("/v1/companies/{}/holds", throughput.company);
    if let Some((_, Outcome::Ok, _)) = caller
        .request(Operation::Hold, Method::POST, &path, Some(body), scheduled)
        .await
    {
        caller.recorder.flows.held.fetch_add(1, Ordering::Relaxed);
    }
}
