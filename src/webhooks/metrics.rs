//! What webhook delivery counts for `GET /metrics`: every attempt by its outcome, and the delivery
//! lag of every acknowledged event (from the change that made it to its receiver's 2xx). The
//! deliverers write these from their tasks, so they are atomics, not a company's `Book`
//! counters; a scrape reads them as they are (a counter may run one attempt ahead of another).

use crate::core::metrics::HistogramSample;
use std::sync::atomic::{AtomicU64, Ordering};

/// How one delivery attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Acknowledged,
    /// The receiver answered something else.
    Rejected,
    /// No answer within the timeout.
    Timeout,
    /// No connection, or the exchange broke off.
    Unreachable,
    /// The destination resolved to an address deliveries may not go to.
    Forbidden,
}

impl DeliveryOutcome {
    pub const ALL: [DeliveryOutcome; 5] = [
        DeliveryOutcome::Acknowledged,
        DeliveryOutcome::Rejected,
        DeliveryOutcome::Timeout,
        DeliveryOutcome::Unreachable,
        DeliveryOutcome::Forbidden,
    ];

    /// The metric's label.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Acknowledged => "acknowledged",
            DeliveryOutcome::Rejected => "rejected",
            DeliveryOutcome::Timeout => "timeout",
            DeliveryOutcome::Unreachable => "unreachable",
            DeliveryOutcome::Forbidden => "forbidden",
        }
    }

    fn index(self) -> usize {
        DeliveryOutcome::ALL
            .iter()
            .position(|o| *o == self)
            .expect("every outcome is listed")
    }
}

/// Upper bounds of the delivery lag's buckets, in microseconds: from a receiver next door (a
/// millisecond) to one that was down for an hour.
pub const LAG_BUCKETS_MICROS: [u64; 14] = [
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    1_000_000,
    5_000_000,
    30_000_000,
    300_000_000,
    3_600_000_000,
    86_400_000_000,
];

/// Delivery counters, shared by every deliverer.
#[derive(Debug, Default)]
pub struct DeliveryMetrics {
    attempts: [AtomicU64; 5],
    /// Acknowledged events per lag bucket (the last one: above every bound).
    lag_buckets: [AtomicU64; LAG_BUCKETS_MICROS.len() + 1],
    lag_sum_micros: AtomicU64,
}

/// One reading of the delivery counters.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliverySample {
    /// Attempts by outcome, in [`DeliveryOutcome::ALL`] order.
    pub attempts: Vec<(DeliveryOutcome, u64)>,
    /// The lag of acknowledged events, against [`LAG_BUCKETS_MICROS`].
    pub lag: HistogramSample,
}

impl DeliveryMetrics {
    /// Counts one attempt.
    pub fn attempt(&self, outcome: DeliveryOutcome) {
        self.attempts[outcome.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Records the lag of an acknowledged event.
    pub fn lag(&self, lag_micros: u64) {
        let bucket = LAG_BUCKETS_MICROS
            .iter()
            .position(|bound| lag_micros <= *bound)
            .unwrap_or(LAG_BUCKETS_MICROS.len());
        self.lag_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.lag_sum_micros.fetch_add(lag_micros, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn sample(&self) -> DeliverySample {
        let attempts = DeliveryOutcome::ALL
            .iter()
            .map(|o| (*o, self.attempts[o.index()].load(Ordering::Relaxed)))
            .collect();
        let mut running = 0;
        let mut cumulative = Vec::with_capacity(LAG_BUCKETS_MICROS.len());
        for bucket in &self.lag_buckets[..LAG_BUCKETS_MICROS.len()] {
            running += bucket.load(Ordering::Relaxed);
            cumulative.push(running);
        }
        let count = running + self.lag_buckets[LAG_BUCKETS_MICROS.len()].load(Ordering::Relaxed);
        DeliverySample {
            attempts,
            lag: HistogramSample {
                count,
                sum: self.lag_sum_micros.load(Ordering::Relaxed) as f64,
                cumulative,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: attempts count by outcome and lags fall into cumulative buckets.
    #[test]
    fn attempts_and_lags_are_counted() {
        let metrics = DeliveryMetrics::default();
        metrics.attempt(DeliveryOutcome::Acknowledged);
        metrics.attempt(DeliveryOutcome::Timeout);
        metrics.attempt(DeliveryOutcome::Timeout);
        metrics.lag(800);
        metrics.lag(40_000);
        metrics.lag(u64::MAX / 2);
        let sample = metrics.sample();
        assert_eq!(sample.attempts[0], (DeliveryOutcome::Acknowledged, 1));
        assert_eq!(sample.attempts[2], (DeliveryOutcome::Timeout, 2));
        assert_eq!(sample.lag.count, 3);
        assert_eq!(sample.lag.cumulative[0], 1);
        assert_eq!(sample.lag.cumulative[5], 2, "40 ms is under 50 ms");
        assert_eq!(
            *sample.lag.cumulative.last().unwrap(),
            2,
            "one is above every bound"
        );
    }
}
