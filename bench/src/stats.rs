//! What a run records: per operation, every request sent and how it was answered, with its
//! latency in an HDR histogram; the race window of the two-step flow; the time from a hold to
//! its booking; and the flows' own counters. Callers on several threads record into one
//! `Recorder`: each record is a counter increment or a short lock around one histogram insert,
//! never held across an `.await`.

use crate::limits;
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The API operations the scenarios use, in the order the report lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `GET /availability`.
    Availability,
    /// `POST /holds` with `find`: the atomic first-available hold.
    HoldFirstAvailable,
    /// `POST /holds` with one `resource`, `start`, `end`.
    Hold,
    /// `POST /holds/{token}/confirm`.
    Confirm,
    /// `DELETE /holds/{token}`.
    Cancel,
}

impl Operation {
    /// Every operation, in report order.
    pub const ALL: [Operation; 5] = [
        Operation::Availability,
        Operation::HoldFirstAvailable,
        Operation::Hold,
        Operation::Confirm,
        Operation::Cancel,
    ];

    /// The name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Availability => "availability",
            Operation::HoldFirstAvailable => "hold_first_available",
            Operation::Hold => "hold",
            Operation::Confirm => "confirm",
            Operation::Cancel => "cancel",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How one request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Ok,
    /// 409 `conflict` or `no_slot`: the slot was taken by another caller. The expected answer of
    /// a race, not an error.
    Conflict,
    /// Any other 4xx (an expired hold, a wrong state, a limit): an error of the run.
    Refused,
    /// 5xx: an error of the server.
    ServerError,
}

/// One operation's counters and latency.
struct OperationRecord {
    sent: AtomicU64,
    ok: AtomicU64,
    conflicts: AtomicU64,
    refused: AtomicU64,
    server_errors: AtomicU64,
    transport_errors: AtomicU64,
    /// Latency of every answered request, in microseconds.
    latency_micros: Mutex<Histogram<u64>>,
}

/// A histogram of microseconds (or milliseconds) from 1 to `limits::LATENCY_MICROS_MAX`.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(
        1,
        limits::LATENCY_MICROS_MAX,
        limits::HISTOGRAM_SIGNIFICANT_DIGITS,
    )
    .expect("static histogram bounds are valid")
}

fn micros(duration: Duration) -> u64 {
    let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
    micros.clamp(1, limits::LATENCY_MICROS_MAX)
}

impl OperationRecord {
    fn new() -> OperationRecord {
        OperationRecord {
            sent: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            server_errors: AtomicU64::new(0),
            transport_errors: AtomicU64::new(0),
            latency_micros: Mutex::new(new_histogram()),
        }
    }
}

/// The counters of the flows themselves (what callers did, beyond single requests).
#[derive(Debug, Default)]
pub struct FlowCounters {
    /// Flows started.
    pub started: AtomicU64,
    /// Two-step: availability offered a slot, and the caller tried to hold it.
    pub offered: AtomicU64,
    /// Two-step: the offered slot was taken by another caller before the hold arrived.
    pub offered_lost: AtomicU64,
    /// Availability offered nothing, or first-available found nothing: the round (or day)
    /// was full and the caller moved on to the next one.
    pub nothing_free: AtomicU64,
    /// Holds created.
    pub held: AtomicU64,
    /// Voice: holds the caller chose to confirm, cancel, or walk away from.
    pub chose_confirm: AtomicU64,
    pub chose_cancel: AtomicU64,
    pub walked_away: AtomicU64,
}

/// Everything a run records.
pub struct Recorder {
    operations: [OperationRecord; 5],
    /// Two-step race window: from the availability answer to the hold's answer, microseconds.
    pub two_step_window_micros: Mutex<Histogram<u64>>,
    /// From the hold's answer to the confirm's answer, in milliseconds (voice).
    pub conversion_millis: Mutex<Histogram<u64>>,
    /// Open loop: from a flow's scheduled time to the moment a caller started it, microseconds.
    pub start_lateness_micros: Mutex<Histogram<u64>>,
    pub flows: FlowCounters,
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder::new()
    }
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Recorder {
        Recorder {
            operations: Operation::ALL.map(|_| OperationRecord::new()),
            two_step_window_micros: Mutex::new(new_histogram()),
            conversion_millis: Mutex::new(new_histogram()),
            start_lateness_micros: Mutex::new(new_histogram()),
            flows: FlowCounters::default(),
        }
    }

    /// A request of `operation` is about to be sent.
    pub fn sent(&self, operation: Operation) {
        self.operations[operation.index()]
            .sent
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A request of `operation` was answered with `outcome` after `latency`.
    pub fn answered(&self, operation: Operation, outcome: Outcome, latency: Duration) {
        let record = &self.operations[operation.index()];
        let counter = match outcome {
            Outcome::Ok => &record.ok,
            Outcome::Conflict => &record.conflicts,
            Outcome::Refused => &record.refused,
            Outcome::ServerError => &record.server_errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        record
            .latency_micros
            .lock()
            .saturating_record(micros(latency));
    }

    /// A request of `operation` got no answer.
    pub fn transport_error(&self, operation: Operation) {
        self.operations[operation.index()]
            .transport_errors
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The two-step race window of one attempt.
    pub fn two_step_window(&self, window: Duration) {
        self.two_step_window_micros
            .lock()
            .saturating_record(micros(window));
    }

    /// How late one open-loop flow started after its scheduled time.
    pub fn start_lateness(&self, lateness: Duration) {
        self.start_lateness_micros
            .lock()
            .saturating_record(micros(lateness));
    }

    /// The time from one hold to its booking.
    pub fn conversion(&self, time_to_conversion: Duration) {
        let millis = u64::try_from(time_to_conversion.as_millis()).unwrap_or(u64::MAX);
        self.conversion_millis
            .lock()
            .saturating_record(millis.clamp(1, limits::LATENCY_MICROS_MAX));
    }

    /// The totals of `operation` so far.
    pub fn totals(&self, operation: Operation) -> OperationTotals {
        let record = &self.operations[operation.index()];
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        OperationTotals {
            requests: load(&record.sent),
            ok: load(&record.ok),
            conflicts: load(&record.conflicts),
            refused: load(&record.refused),
            server_errors: load(&record.server_errors),
            transport_errors: load(&record.transport_errors),
            latency_micros: Latency::of(&record.latency_micros.lock()),
        }
    }
}

/// Percentiles of a histogram, in its unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Latency {
    /// The percentiles of `histogram` (all zero when it is empty).
    pub fn of(histogram: &Histogram<u64>) -> Latency {
        if histogram.is_empty() {
            return Latency::default();
        }
        Latency {
            count: histogram.len(),
            p50: histogram.value_at_quantile(0.50),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            max: histogram.max(),
            mean: histogram.mean(),
        }
    }
}

/// One operation's totals at the end of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct OperationTotals {
    /// Requests sent.
    pub requests: u64,
    pub ok: u64,
    pub conflicts: u64,
    pub refused: u64,
    pub server_errors: u64,
    /// Requests that got no answer.
    pub transport_errors: u64,
    pub latency_micros: Latency,
}

impl OperationTotals {
    /// Requests that got an answer.
    pub fn answered(&self) -> u64 {
        self.ok + self.conflicts + self.refused + self.server_errors
    }

    /// Requests that failed: refused, server errors, and no answer (a conflict is not one).
    pub fn errors(&self) -> u64 {
        self.refused + self.server_errors + self.transport_errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: every answer lands in exactly one counter and the histogram; a transport error is
    /// a request without an answer.
    #[test]
    fn answers_and_failures_add_up() {
        let recorder = Recorder::new();
        for (outcome, millis) in [
            (Outcome::Ok, 1),
            (Outcome::Ok, 2),
            (Outcome::Conflict, 3),
            (Outcome::Refused, 4),
            (Outcome::ServerError, 100),
        ] {
            recorder.sent(Operation::Hold);
            recorder.answered(Operation::Hold, outcome, Duration::from_millis(millis));
        }
        recorder.sent(Operation::Hold);
        recorder.transport_error(Operation::Hold);
        let totals = recorder.totals(Operation::Hold);
        assert_eq!(totals.requests, 6);
        assert_eq!(totals.answered(), 5);
        assert_eq!((totals.ok, totals.conflicts), (2, 1));
        assert_eq!(totals.errors(), 3);
        assert_eq!(totals.latency_micros.count, 5);
        assert!(
            totals.latency_micros.max >= 99_900,
            "{:?}",
            totals.latency_micros
        );
        assert_eq!(
            recorder.totals(Operation::Confirm),
            OperationTotals::default()
        );
    }
}
