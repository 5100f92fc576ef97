//! The callers' flows. Each caller owns one connection and one random stream and runs one flow
//! after another (see `pacer` for when); each flow is a few requests, measured and classified
//! by [`Caller::request`].
//!
//! - `voice`: availability -> first-available hold -> think -> confirm, cancel or walk away;
//! - `contention`, atomic: the first-available hold of a round's few slots;
//! - `contention`, two-step: availability of the round, then a hold of the slot it offered;
//! - `throughput`: a single hold of a random 30-minute slot (the `bench/holds.lua`
//!   workload).
//!
//! Contention and voice move through "rounds" (days, for voice): a window with a few free
//! slots that the callers fill. The caller who finds a round full moves everyone to the next
//! one (compare-and-swap on a shared counter), so the callers keep fighting over a fresh,
//! small set of slots for the whole run.

use crate::client::{Answer, Connection};
use crate::stats::{Operation, Outcome, Recorder};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use hyper::Method;
use rand::rngs::StdRng;
use rand::Rng;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
/// Every slot of every scenario is 30 minutes long (a typical appointment).
pub const SLOT_MS: i64 = 30 * MINUTE_MS;
/// Hold TTL of contention and throughput holds, in seconds: the API's default, longer than any
/// short run, so that every hold won is still live when the audit reads it back.
const HOLD_TTL_SECONDS: i64 = holdfast::limits::TTL_SECONDS_DEFAULT;
/// Voice: the working day in which calls look for a slot, from 09:00 for 8 hours.
const VOICE_DAY_OPENS_MS: i64 = 9 * 60 * MINUTE_MS;
const VOICE_DAY_LENGTH_MS: i64 = 8 * 60 * MINUTE_MS;
/// Voice: the staff a call may be booked with (48 slots a day between them).
pub const VOICE_RESOURCES: [&str; 3] = ["staff-1", "staff-2", "staff-3"];
/// Throughput: 100 resources, starts on a 15-minute grid over 30 days, as in `holds.lua`.
pub const THROUGHPUT_RESOURCES: usize = 100;
const THROUGHPUT_GRID_MS: i64 = 15 * MINUTE_MS;
const THROUGHPUT_STARTS: i64 = 2_880;
/// Voice: how many full days one call looks past before it gives up.
const VOICE_DAYS_TRIED_MAX: usize = 3;

/// An instant in the form the API reads (whole seconds here).
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The first slot of every scenario: midnight UTC two days after `now_ms`, so that slots are in
/// the future and never dropped as past bookings during a run.
pub fn schedule_base_ms(now_ms: i64) -> i64 {
    (now_ms / DAY_MS + 2) * DAY_MS
}

/// A sequence of equal windows from a base: rounds of contention, days of voice. Wraps round
/// numbers before the last instant the API accepts (a run long and fast enough to get there
/// finds the first rounds still taken, and moves on).
pub struct Rounds {
    base_ms: i64,
    length_ms: i64,
    current: AtomicU64,
    count: u64,
}

impl Rounds {
    /// Rounds of `length_ms` from `base_ms`.
    pub fn new(base_ms: i64, length_ms: i64) -> Rounds {
        let room_ms = holdfast::limits::TIME_MILLIS_MAX
            - holdfast::limits::SPAN_SECONDS_MAX * 1_000
            - base_ms;
        Rounds {
            base_ms,
            length_ms,
            current: AtomicU64::new(0),
            count: (room_ms / length_ms).max(1) as u64,
        }
    }

    /// The current round: its number and the start of its window.
    pub fn current(&self) -> (u64, i64) {
        let round = self.current.load(Ordering::Acquire);
        (round, self.start_ms(round))
    }

    fn start_ms(&self, round: u64) -> i64 {
        self.base_ms + (round % self.count) as i64 * self.length_ms
    }

    /// Moves everyone past `round`, unless another caller already did.
    pub fn advance_past(&self, round: u64) {
        let _ =
            self.current
                .compare_exchange(round, round + 1, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The highest round reached so far.
    pub fn reached(&self) -> u64 {
        self.current.load(Ordering::Acquire)
    }
}

/// One simulated caller: its connection, random stream, and the run's recorder.
pub struct Caller {
    pub index: usize,
    pub connection: Connection,
    pub rng: StdRng,
    pub recorder: Arc<Recorder>,
    /// Flows this caller has run (names its calls and appointments).
    pub flows: u64,
}

#[derive(Deserialize)]
struct ProblemType<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
}

/// How an answer counts: 2xx ok; 409 `conflict` or `no_slot` is a lost race; the rest errors.
pub fn classify(answer: &Answer) -> Outcome {
    match answer.status {
        200..=299 => Outcome::Ok,
        409 => match serde_json::from_slice::<ProblemType>(&answer.body) {
            Ok(problem) if matches!(problem.kind.as_ref(), "conflict" | "no_slot") => {
                Outcome::Conflict
            }
            _ => Outcome::Refused,
        },
        500..=599 => Outcome::ServerError,
        _ => Outcome::Refused,
    }
}

impl Caller {
    /// Sends one request, records it, and answers it with its outcome and arrival time;
    /// `None` when no answer came. `since` is when the request was due (its scheduled time in
    /// an open loop), from which its latency counts.
    pub async fn request(
        &mut self,
        operation: Operation,
        method: Method,
        path: &str,
        body: Option<String>,
        since: Instant,
    ) -> Option<(Answer, Outcome, Instant)> {
        self.recorder.sent(operation);
        let result = self
            .connection
            .send(method, path, body.map(Bytes::from))
            .await;
        let arrived = Instant::now();
        match result {
            Ok(answer) => {
                let outcome = classify(&answer);
                self.recorder
                    .answered(operation, outcome, arrived.duration_since(since));
                Some((answer, outcome, arrived))
            }
            Err(_) => {
                self.recorder.transport_error(operation);
                None
            }
        }
    }
}

#[derive(Deserialize)]
struct AvailabilityAnswer {
    resources: Vec<ResourceSlots>,
}

#[derive(Deserialize)]
struct ResourceSlots {
    resource: String,
    slots: Vec<String>,
}

#[derive(Deserialize)]
struct Created {
    token: String,
}

/// The earliest slot offered, taking resources in the order asked at equal times (what the
/// first-available hold would take): `(resource, start_ms)`.
fn earliest_offered(body: &[u8]) -> Option<(String, i64)> {
    let answer: AvailabilityAnswer = serde_json::from_slice(body).ok()?;
    let mut best: Option<(String, i64)> = None;
    for resource in answer.resources {
        let first = resource
            .slots
            .first()
            .and_then(|slot| DateTime::parse_from_rfc3339(slot).ok())
            .map(|slot| slot.timestamp_millis());
        if let Some(start_ms) = first {
            if best.as_ref().is_none_or(|(_, best_ms)| start_ms < *best_ms) {
                best = Some((resource.resource, start_ms));
            }
        }
    }
    best
}

fn availability_path(company: &str, resources: &[String], from_ms: i64, to_ms: i64) -> String {
    let mut path = format!(
        "/v1/companies/{company}/availability?from={}&to={}&duration_seconds={}",
        rfc3339(from_ms),
        rfc3339(to_ms),
        SLOT_MS / 1_000
    );
    for resource in resources {
        path.push_str("&resource=");
        path.push_str(resource);
    }
    path
}

fn find_body(
    resources: &[String],
    from_ms: i64,
    to_ms: i64,
    ttl_seconds: i64,
    call: &str,
) -> String {
    let names: Vec<String> = resources.iter().map(|r| format!("\"{r}\"")).collect();
    format!(
        r#"{{"find":{{"resources":[{}],"earliest":"{}","latest":"{}","duration_seconds":{}}},"ttl_seconds":{ttl_seconds},"call_id":"{call}","customer_phone":"+4915112345678","service_id":"svc-1"}}"#,
        names.join(","),
        rfc3339(from_ms),
        rfc3339(to_ms),
        SLOT_MS / 1_000
    )
}

fn single_body(resource: &str, start: &str, end: &str, call: &str) -> String {
    format!(
        r#"{{"resource":"{resource}","start":"{start}","end":"{end}","ttl_seconds":{HOLD_TTL_SECONDS},"call_id":"{call}","customer_phone":"+4915112345678"}}"#
    )
}

/// What callers do with a hold they got (voice), in percent; the rest walk away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Mix {
    pub confirm_percent: u32,
    pub cancel_percent: u32,
    pub walk_away_percent: u32,
}

impl std::str::FromStr for Mix {
    type Err = String;

    /// `CONFIRM,CANCEL,WALK_AWAY` in percent, adding up to 100 (`95,3,2`).
    fn from_str(text: &str) -> Result<Mix, String> {
        let parts: Vec<u32> = text
            .split(',')
            .map(|part| part.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                format!("{text:?}: give three whole percentages, CONFIRM,CANCEL,WALK_AWAY")
            })?;
        match parts[..] {
            [confirm, cancel, walk_away] if confirm + cancel + walk_away == 100 => Ok(Mix {
                confirm_percent: confirm,
                cancel_percent: cancel,
                walk_away_percent: walk_away,
            }),
            _ => Err(format!(
                "{text:?}: give three percentages, CONFIRM,CANCEL,WALK_AWAY, adding up to 100"
            )),
        }
    }
}

/// The voice-agent scenario.
pub struct Voice {
    pub company: String,
    pub resources: Vec<String>,
    pub days: Rounds,
    /// Mean think time between the hold and the caller's decision; each call draws uniformly
    /// from half to one and a half times this.
    pub think: Duration,
    pub ttl_seconds: i64,
    pub mix: Mix,
}

/// The contention scenario (one of its two flows).
pub struct Contention {
    pub company: String,
    pub resources: Vec<String>,
    pub rounds: Rounds,
    /// Slots per resource in a round.
    pub slots: i64,
}

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

/// A flow, as the callers run it.
#[derive(Clone)]
pub enum Flow {
    Voice(Arc<Voice>),
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
            Flow::Atomic(contention) => atomic_attempt(contention, caller, scheduled).await,
            Flow::TwoStep(contention) => two_step_attempt(contention, caller, scheduled).await,
            Flow::Throughput(throughput) => plain_hold(throughput, caller, scheduled).await,
        }
    }
}

/// Voice: what is free today -> hold the first available -> think -> decide.
async fn voice_call(voice: &Voice, caller: &mut Caller, scheduled: Instant) {
    let call = format!("call-{}-{}", caller.index, caller.flows);
    let mut since = scheduled;
    for _ in 0..VOICE_DAYS_TRIED_MAX {
        let (day, day_ms) = voice.days.current();
        let (from_ms, to_ms) = (
            day_ms + VOICE_DAY_OPENS_MS,
            day_ms + VOICE_DAY_OPENS_MS + VOICE_DAY_LENGTH_MS,
        );
        let path = availability_path(&voice.company, &voice.resources, from_ms, to_ms);
        let Some((answer, Outcome::Ok, _)) = caller
            .request(Operation::Availability, Method::GET, &path, None, since)
            .await
        else {
            return;
        };
        if earliest_offered(&answer.body).is_none() {
            caller
                .recorder
                .flows
                .nothing_free
                .fetch_add(1, Ordering::Relaxed);
            voice.days.advance_past(day);
            since = Instant::now();
            continue;
        }
        let body = find_body(&voice.resources, from_ms, to_ms, voice.ttl_seconds, &call);
        let path = format!("/v1/companies/{}/holds", voice.company);
        let held = caller
            .request(
                Operation::HoldFirstAvailable,
                Method::POST,
                &path,
                Some(body),
                Instant::now(),
            )
            .await;
        match held {
            Some((answer, Outcome::Ok, held_at)) => {
                let Ok(created) = serde_json::from_slice::<Created>(&answer.body) else {
                    return;
                };
                caller.recorder.flows.held.fetch_add(1, Ordering::Relaxed);
                decide(voice, caller, &created.token, held_at).await;
                return;
            }
            Some((_, Outcome::Conflict, _)) => {
                // The day filled up between the two requests: try the next one.
                caller
                    .recorder
                    .flows
                    .nothing_free
                    .fetch_add(1, Ordering::Relaxed);
                voice.days.advance_past(day);
                since = Instant::now();
            }
            _ => return,
        }
    }
}

/// Voice: think, then confirm, cancel or walk away, in the configured proportions.
async fn decide(voice: &Voice, caller: &mut Caller, token: &str, held_at: Instant) {
    let think = voice.think.mul_f64(caller.rng.gen_range(0.5..1.5));
    tokio::time::sleep(think).await;
    let draw = caller.rng.gen_range(0..100u32);
    let flows = &caller.recorder.flows;
    let hold_path = format!("/v1/companies/{}/holds/{token}", voice.company);
    if draw < voice.mix.confirm_percent {
        flows.chose_confirm.fetch_add(1, Ordering::Relaxed);
        let body = format!(
            r#"{{"appointment_id":"A-{}-{}"}}"#,
            caller.index, caller.flows
        );
        let path = format!("{hold_path}/confirm");
        let confirmed = caller
            .request(
                Operation::Confirm,
                Method::POST,
                &path,
                Some(body),
                Instant::now(),
            )
            .await;
        if let Some((_, Outcome::Ok, at)) = confirmed {
            caller.recorder.conversion(at.duration_since(held_at));
        }
    } else if draw < voice.mix.confirm_percent + voice.mix.cancel_percent {
        flows.chose_cancel.fetch_add(1, Ordering::Relaxed);
        let path = format!("{hold_path}?reason=customer_hung_up");
        caller
            .request(
                Operation::Cancel,
                Method::DELETE,
                &path,
                None,
                Instant::now(),
            )
            .await;
    } else {
        flows.walked_away.fetch_add(1, Ordering::Relaxed);
    }
}

/// Contention, atomic: hold the first free slot of the round in one request.
async fn atomic_attempt(contention: &Contention, caller: &mut Caller, scheduled: Instant) {
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
async fn two_step_attempt(contention: &Contention, caller: &mut Caller, scheduled: Instant) {
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

/// Throughput: one hold of a random 30-minute slot of a random resource.
async fn plain_hold(throughput: &Throughput, caller: &mut Caller, scheduled: Instant) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: only a 409 whose type says the slot was taken counts as a lost race; other 409s,
    /// 4xx and 5xx are errors, whatever their bodies.
    #[test]
    fn answers_classified() {
        let answer = |status: u16, body: &str| Answer {
            status,
            body: Bytes::from(body.to_owned()),
        };
        let table = [
            (201, "{}", Outcome::Ok),
            (200, "", Outcome::Ok),
            (
                409,
                r#"{"type":"conflict","status":409}"#,
                Outcome::Conflict,
            ),
            (409, r#"{"type":"no_slot"}"#, Outcome::Conflict),
            (409, r#"{"type":"invalid_state"}"#, Outcome::Refused),
            (409, "not json", Outcome::Refused),
            (410, r#"{"type":"expired"}"#, Outcome::Refused),
            (429, r#"{"type":"limit_reached"}"#, Outcome::Refused),
            (503, "", Outcome::ServerError),
        ];
        for (status, body, expected) in table {
            assert_eq!(classify(&answer(status, body)), expected, "{status} {body}");
        }
    }

    /// Goal: the two-step flow takes the earliest slot offered, the first resource asked at
    /// equal times, and nothing when nothing is offered.
    #[test]
    fn earliest_offered_slot() {
        let body = br#"{"resources":[
            {"resource":"a","slots":["2027-01-01T11:00:00Z","2027-01-01T12:00:00Z"]},
            {"resource":"b","slots":["2027-01-01T10:30:00Z"]},
            {"resource":"c","slots":["2027-01-01T10:30:00Z"]}]}"#;
        let (resource, start_ms) = earliest_offered(body).unwrap();
        assert_eq!(resource, "b");
        assert_eq!(rfc3339(start_ms), "2027-01-01T10:30:00Z");
        let none = br#"{"resources":[{"resource":"a","slots":[]}]}"#;
        assert_eq!(earliest_offered(none), None);
        assert_eq!(earliest_offered(b"garbage"), None);
    }

    /// Goal: the mix flag takes three percentages adding up to 100, and nothing else.
    #[test]
    fn mix_parsed() {
        let mix: Mix = "80,15,5".parse().unwrap();
        assert_eq!(
            (
                mix.confirm_percent,
                mix.cancel_percent,
                mix.walk_away_percent
            ),
            (80, 15, 5)
        );
        for bad in ["80,15", "80,15,6", "a,b,c", "", "100,0,0,0"] {
            assert!(bad.parse::<Mix>().is_err(), "{bad}");
        }
    }

    /// Goal: rounds move on once per full round however many callers see it full, and their
    /// windows follow each other without a gap or an overlap.
    #[test]
    fn rounds_advance_once() {
        let rounds = Rounds::new(schedule_base_ms(0), 4 * SLOT_MS);
        let (round, start_ms) = rounds.current();
        rounds.advance_past(round);
        rounds.advance_past(round);
        let (next, next_ms) = rounds.current();
        assert_eq!(next, round + 1);
        assert_eq!(next_ms - start_ms, 4 * SLOT_MS);
        assert_eq!(rounds.reached(), 1);
        assert_eq!(schedule_base_ms(DAY_MS + 5), 3 * DAY_MS);
    }
}
