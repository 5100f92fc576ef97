//! The callers' flows. Each caller owns one connection and one random stream and runs one flow
//! after another (see `pacer` for when); each flow is a few requests, measured and classified
//! by [`Caller::request`].
//!
//! - `voice`: availability -> first-available hold -> think -> confirm, cancel or walk away;
//!   with `--via retell`, the same through Retell's route (`retell`);
//! - `contention`, atomic: the first-available hold of a round's few slots;
//! - `contention`, two-step: availability of the round, then a hold of the slot it offered;
//! - `throughput`: a single hold of a random 30-minute slot (the `bench/holds.lua`
//!   workload).
//!
//! Contention and voice move through "rounds" (days, for voice): a window with a few free
//! slots that the callers fill. The caller who finds a round full moves everyone to the next
//! one (compare-and-swap on a shared counter), so the callers keep fighting over a fresh,
//! small set of slots for the whole run.
//!
//! One file per noun: `caller` (a caller and how its answers count), `schedule` (instants, slots
//! and rounds), `wire` (the paths and bodies the flows send and the answers they read), then one
//! file per scenario: `voice`, `contention`, `throughput`. [`Flow`], here, runs any of them.

mod caller;
mod contention;
mod retell;
mod schedule;
mod throughput;
mod voice;
mod wire;

pub use caller::{classify, Caller};
pub use contention::Contention;
pub use retell::{transcript, RetellVoice};
pub use schedule::{rfc3339, schedule_base_ms, Rounds, SLOT_MS};
pub use throughput::{Throughput, THROUGHPUT_RESOURCES};
pub use voice::{Mix, Voice, VOICE_RESOURCES};

use contention::{atomic_attempt, two_step_attempt};
use retell::retell_call;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use throughput::plain_hold;
use voice::voice_call;

/// A flow, as the callers run it.
#[derive(Clone)]
pub enum Flow {
    Voice(Arc<Voice>),
    /// The voice scenario through Retell's route (`--via retell`).
    Retell(Arc<RetellVoice>),
    Atomic(Arc<Contention>),
    TwoStep(Arc<Contention>),
    Throughput(Arc<Throughput>),
}

impl Flow {
    /// Runs one flow that was due at `scheduled`.
    pub async fn run(&self, caller: &mut Caller, scheduled: Instant) {
        caller.flows += 1;
        caller
            .recorder
            .flows
            .started
            .fetch_add(1, Ordering::Relaxed);
        match self {
            Flow::Voice(voice) => voice_call(voice, caller, scheduled).await,
            Flow::Retell(voice) => retell_call(voice, caller, scheduled).await,
            Flow::Atomic(contention) => atomic_attempt(contention, caller, scheduled).await,
            Flow::TwoStep(contention) => two_step_attempt(contention, caller, scheduled).await,
            Flow::Throughput(throughput) => plain_hold(throughput, caller, scheduled).await,
        }
    }
}
