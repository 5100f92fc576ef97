//! The contention scenario: the callers fight over a round's few slots, either with one
//! first-available hold (atomic) or by reading availability and then holding the slot it offered
//! (two-step).

use super::caller::Caller;
use super::schedule::{rfc3339, Rounds, SLOT_MS};
use super::wire::{availability_path, earliest_offered, find_body, single_body, HOLD_TTL_SECONDS};
use crate::stats::{Operation, Outcome};
use hyper::Method;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The contention scenario (one of its two flows).
pub struct Contention {
    pub company: String,
    pub resources: Vec<String>,
    pub rounds: Rounds,
    /// Slots per resource in a round.
    pub slots: i64,
}

/// Contention, atomic: hold the first free slot of the round in one request.
pub(super) async fn atomic_attempt(
    contention: &Contention,
    caller: &mut Caller,
    scheduled: Instant,
) {
    let (round, start_ms) = contention.rounds.current();
    let end_ms = start_ms + contention.slots * SLOT_MS;
    let call = format!("call-{}-{}", caller.index, caller.flows);
    let body = find_body(
        &contention.resources,
        start_ms,
        end_ms,
        HOLD_TTL_SECONDS,
        &call,
    );
    let path = format!("/v1/companies/{}/holds", contention.company);
    let held = caller
        .request(
            Operation::HoldFirstAvailable,
            Method::POST,
            &path,
            Some(body),
            scheduled,
        )
        .await;
    match held {
        Some((_, Outcome::Ok, _)) => {
            caller.recorder.flows.held.fetch_add(1, Ordering::Relaxed);
        }
        Some((_, Outcome::Conflict, _)) => {
            caller
                .recorder
                .flows
                .nothing_free
                .fetch_add(1, Ordering::Relaxed);
            contention.rounds.advance_past(round);
        }
        _ => {}
    }
}

/// Contention, two-step: read the round's availability, then hold the slot it offered. The
/// race window is the time from the availability answer to the hold's answer.
pub(super) async fn two_step_attempt(
    contention: &Contention,
    caller: &mut Caller,
    scheduled: Instant,
) {
    let (round, start_ms) = contention.rounds.current();
    let end_ms = start_ms + contention.slots * SLOT_MS;
    let path = availability_path(&contention.company, &contention.resources, start_ms, end_ms);
    let Some((answer, Outcome::Ok, offered_at)) = caller
        .request(Operation::Availability, Method::GET, &path, None, scheduled)
        .await
    else {
        return;
    };
    let Some((resource, slot_ms)) = earliest_offered(&answer.body) else {
        caller
            .recorder
            .flows
            .nothing_free
            .fetch_add(1, Ordering::Relaxed);
        contention.rounds.advance_past(round);
        return;
    };
    caller
        .recorder
        .flows
        .offered
        .fetch_add(1, Ordering::Relaxed);
    let call = format!("call-{}-{}", caller.index, caller.flows);
    let body = single_body(
        &resource,
        &rfc3339(slot_ms),
        &rfc3339(slot_ms + SLOT_MS),
        &call,
    );
    let path = format!("/v1/companies/{}/holds", contention.company);
    let held = caller
        .request(
            Operation::Hold,
            Method::POST,
            &path,
            Some(body),
            Instant::now(),
        )
        .await;
    let Some((_, outcome, held_at)) = held else {
        return;
    };
    caller
        .recorder
        .two_step_window(held_at.duration_since(offered_at));
    match outcome {
        Outcome::Ok => caller.recorder.flows.held.fetch_add(1, Ordering::Relaxed),
        Outcome::Conflict => caller
            .recorder
            .flows
            .offered_lost
            .fetch_add(1, Ordering::Relaxed),
        _ => 0,
    };
}
