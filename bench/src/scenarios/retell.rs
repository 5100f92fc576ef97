//! The voice scenario through Retell's route (`--via retell`): each call is what a Retell agent
//! sends, `check_availability` (the atomic check-and-take, with the whole call object, padded to
//! `--call-bytes` with a transcript as Retell's grows), then after the think time
//! `book_appointment`, `cancel_hold`, or nothing (the caller walks away and the hold runs out).
//! With `--retell-key`, every request is signed as Retell signs it.
//!
//! The route answers 200 whatever the outcome; the answer's `result` tells it: `held` and
//! `booked` and `cancelled` count as ok, `none` (nothing free that day) as a lost race, anything
//! else as refused.

use super::caller::Caller;
use super::schedule::Rounds;
use super::voice::{think_and_choose, Choice, Mix};
use crate::client::Answer;
use crate::stats::{Operation, Outcome};
use hmac::{Hmac, Mac};
use hyper::Method;
use serde::Deserialize;
use sha2::Sha256;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The Retell flavour of the voice scenario.
pub struct RetellVoice {
    pub company: String,
    pub resources: Vec<String>,
    pub days: Rounds,
    pub think: Duration,
    pub mix: Mix,
    /// Transcript text to pad each call object with (empty: a bare call object).
    pub transcript: Arc<str>,
    /// The company's Retell API key, to sign with (none: the server checks nothing).
    pub key: Option<String>,
}

#[derive(Deserialize)]
struct RetellAnswer<'a> {
    #[serde(borrow)]
    result: std::borrow::Cow<'a, str>,
}

/// How a voice answer counts.
fn classify(answer: &Answer) -> Outcome {
    if answer.status != 200 {
        return super::caller::classify(answer);
    }
    match serde_json::from_slice::<RetellAnswer>(&answer.body) {
        Ok(parsed) => match parsed.result.as_ref() {
            "held" | "booked" | "cancelled" => Outcome::Ok,
            "none" | "taken" => Outcome::Conflict,
            _ => Outcome::Refused,
        },
        Err(_) => Outcome::Refused,
    }
}

impl RetellVoice {
    /// One function call's body: `{"name", "args", "call"}`.
    fn body(&self, call_id: &str, name: &str, args: serde_json::Value) -> String {
        let call = serde_json::json!({
            "call_type": "phone_call", "call_id": call_id, "agent_id": "bench-agent",
            "call_status": "ongoing", "from_number": "+4915112345678",
            "to_number": "+493012345678", "direction": "inbound",
            "transcript": &*self.transcript,
        });
        serde_json::json!({"name": name, "args": args, "call": call}).to_string()
    }

    /// The `X-Retell-Signature` of `body` now, when a key is given.
    fn signature(&self, body: &str) -> Option<(&'static str, String)> {
        let key = self.key.as_ref()?;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).ok()?;
        mac.update(body.as_bytes());
        mac.update(now_ms.to_string().as_bytes());
        let digest = hex::encode(mac.finalize().into_bytes());
        Some(("x-retell-signature", format!("v={now_ms},d={digest}")))
    }

    async fn call(
        &self,
        caller: &mut Caller,
        operation: Operation,
        body: String,
        since: Instant,
    ) -> Option<(Answer, Outcome, Instant)> {
        let path = format!("/v1/voice/retell/{}", self.company);
        let header = self.signature(&body);
        caller
            .request_with(
                operation,
                Method::POST,
                &path,
                Some(body),
                since,
                header,
                classify,
            )
            .await
    }
}

/// One Retell call: check (holds the first free time of the day), think, then book, cancel or
/// walk away; a full day moves every caller to the next.
pub(super) async fn retell_call(voice: &RetellVoice, caller: &mut Caller, scheduled: Instant) {
    let call_id = format!("call-{}-{}", caller.index, caller.flows);
    let mut since = scheduled;
    for _ in 0..super::voice::VOICE_DAYS_TRIED_MAX {
        let (day, day_ms) = voice.days.current();
        let date = chrono::DateTime::from_timestamp_millis(day_ms)
            .unwrap_or_default()
            .format("%Y-%m-%d")
            .to_string();
        let args = serde_json::json!({"date": date, "time": "09:00", "resources": voice.resources});
        let body = voice.body(&call_id, "check_availability", args);
        match voice
            .call(caller, Operation::HoldFirstAvailable, body, since)
            .await
        {
            Some((_, Outcome::Ok, held_at)) => {
                caller.recorder.flows.held.fetch_add(1, Ordering::Relaxed);
                decide(voice, caller, &call_id, held_at).await;
                return;
            }
            Some((_, Outcome::Conflict, _)) => {
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

async fn decide(voice: &RetellVoice, caller: &mut Caller, call_id: &str, held_at: Instant) {
    match think_and_choose(voice.think, voice.mix, caller).await {
        Choice::Confirm => {
            let args = serde_json::json!({
                "appointment_id": format!("A-{}-{}", caller.index, caller.flows)
            });
            let body = voice.body(call_id, "book_appointment", args);
            let booked = voice
                .call(caller, Operation::Confirm, body, Instant::now())
                .await;
            if let Some((_, Outcome::Ok, at)) = booked {
                caller.recorder.conversion(at.duration_since(held_at));
            }
        }
        Choice::Cancel => {
            let body = voice.body(call_id, "cancel_hold", serde_json::json!({}));
            voice
                .call(caller, Operation::Cancel, body, Instant::now())
                .await;
        }
        Choice::WalkAway => {}
    }
}

/// A transcript of about `bytes`, as a long call's grows.
pub fn transcript(bytes: usize) -> Arc<str> {
    const LINE: &str = "User: I would like an appointment on Tuesday morning, please.\n";
    LINE.repeat(bytes.div_ceil(LINE.len()).max(usize::from(bytes > 0)))
        .chars()
        .take(bytes)
        .collect::<String>()
        .into()
}
