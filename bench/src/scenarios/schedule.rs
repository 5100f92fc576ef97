//! The calendar of a run: the instants the API reads, the 30-minute slot, where the schedule
//! starts, and [`Rounds`], the shared sequence of windows the callers fill one after another.

use std::sync::atomic::{AtomicU64, Ordering};

pub(super) const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
/// Every slot of every scenario is 30 minutes long (a typical appointment).
pub const SLOT_MS: i64 = 30 * MINUTE_MS;

/// An instant in the form the API reads: the server's own writer.
pub fn rfc3339(ms: i64) -> String {
    holdfast::http::time::Instant(ms).to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

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
