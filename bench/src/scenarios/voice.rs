//! The voice-agent scenario: availability -> first-available hold -> think -> confirm, cancel or
//! walk away, in the proportions of a [`Mix`], moving day by day as days fill up.

use super::caller::Caller;
use super::schedule::{Rounds, MINUTE_MS};
use super::wire::{availability_path, earliest_offered, find_body, Created};
use crate::stats::{Operation, Outcome};
use hyper::Method;
use rand::Rng;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Voice: the working day in which calls look for a slot, from 09:00 for 8 hours.
const VOICE_DAY_OPENS_MS: i64 = 9 * 60 * MINUTE_MS;
const VOICE_DAY_LENGTH_MS: i64 = 8 * 60 * MINUTE_MS;
/// Voice: the staff a call may be booked with (48 slots a day between them).
pub const VOICE_RESOURCES: [&str; 3] = ["staff-1", "staff-2", "staff-3"];
/// Voice: how many full days one call looks past before it gives up.
pub(super) const VOICE_DAYS_TRIED_MAX: usize = 3;

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

/// Voice: what is free today -> hold the first available -> think -> decide.
pub(super) async fn voice_call(voice: &Voice, caller: &mut Caller, scheduled: Instant) {
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

/// What a caller does with its hold.
pub(super) enum Choice {
    Confirm,
    Cancel,
    WalkAway,
}

/// Thinks (half to one and a half times `think`), then chooses by `mix` and counts the choice.
pub(super) async fn think_and_choose(think: Duration, mix: Mix, caller: &mut Caller) -> Choice {
    let think = think.mul_f64(caller.rng.gen_range(0.5..1.5));
    tokio::time::sleep(think).await;
    let draw = caller.rng.gen_range(0..100u32);
    let flows = &caller.recorder.flows;
    if draw < mix.confirm_percent {
        flows.chose_confirm.fetch_add(1, Ordering::Relaxed);
        Choice::Confirm
    } else if draw < mix.confirm_percent + mix.cancel_percent {
        flows.chose_cancel.fetch_add(1, Ordering::Relaxed);
        Choice::Cancel
    } else {
        flows.walked_away.fetch_add(1, Ordering::Relaxed);
        Choice::WalkAway
    }
}

/// Voice: think, then confirm, cancel or walk away, in the configured proportions.
async fn decide(voice: &Voice, caller: &mut Caller, token: &str, held_at: Instant) {
    let hold_path = format!("/v1/companies/{}/holds/{token}", voice.company);
    match think_and_choose(voice.think, voice.mix, caller).await {
        Choice::Confirm => {
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
        }
        Choice::Cancel => {
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
        }
        Choice::WalkAway => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
