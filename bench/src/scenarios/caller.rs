//! A simulated caller: its connection, random stream and recorder, and [`Caller::request`],
//! which sends one request, measures it and classifies its answer (see [`classify`]).

use crate::client::{Answer, Connection};
use crate::stats::{Operation, Outcome, Recorder};
use bytes::Bytes;
use hyper::Method;
use rand::rngs::StdRng;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Instant;

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
        self.request_with(operation, method, path, body, since, None, classify)
            .await
    }

    /// [`Caller::request`] with one more header and another way to classify the answer (a
    /// voice platform's route answers 200 whatever the outcome; the body tells it).
    #[allow(clippy::too_many_arguments)]
    pub async fn request_with(
        &mut self,
        operation: Operation,
        method: Method,
        path: &str,
        body: Option<String>,
        since: Instant,
        header: Option<(&'static str, String)>,
        classify: fn(&Answer) -> Outcome,
    ) -> Option<(Answer, Outcome, Instant)> {
        self.recorder.sent(operation);
        let result = self
            .connection
            .send_with(method, path, body.map(Bytes::from), header)
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
}
