//! Per-company counters and latency histograms, kept inside the company's `Book`. The company
//! actor is their only writer, so they need no lock and no atomics. Histograms are allocated on
//! first use: a company that never converts pays nothing for a conversion histogram.

use crate::core::error::ErrorType;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

pub use crate::limits::{
    HISTOGRAM_SIGNIFICANT_DIGITS, LATENCY_MICROS_HISTOGRAM_MAX, LIFETIME_MILLIS_HISTOGRAM_MAX,
};

/// A histogram allocated on first record, with values clamped to its range.
#[derive(Clone, Debug)]
pub struct LazyHistogram {
    highest: u64,
    inner: Option<Box<Histogram<u32>>>,
}

impl LazyHistogram {
    /// An empty histogram for values in `1..=highest`.
    pub fn new(highest: u64) -> LazyHistogram {
        LazyHistogram {
            highest,
            inner: None,
        }
    }

    /// Records one value, clamped to the histogram's range.
    pub fn record(&mut self, value: u64) {
        let highest = self.highest;
        let histogram = self.inner.get_or_insert_with(|| {
            Box::new(
                Histogram::new_with_bounds(1, highest, HISTOGRAM_SIGNIFICANT_DIGITS)
                    .expect("static histogram bounds are valid"),
            )
        });
        histogram.saturating_record(value.clamp(1, highest));
    }

    /// Number of values recorded.
    pub fn len(&self) -> u64 {
        self.inner.as_ref().map_or(0, |h| h.len())
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Mean of the values, 0 when empty.
    pub fn mean(&self) -> f64 {
        self.inner.as_ref().map_or(0.0, |h| h.mean())
    }

    /// The value at `quantile` (0..=1), 0 when empty.
    pub fn quantile(&self, quantile: f64) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |h| h.value_at_quantile(quantile))
    }

    /// The underlying histogram, if anything was recorded.
    pub fn histogram(&self) -> Option<&Histogram<u32>> {
        self.inner.as_deref()
    }

    /// Replaces the contents (restore from a snapshot).
    pub fn set_histogram(&mut self, histogram: Option<Histogram<u32>>) {
        self.inner = histogram.map(Box::new);
    }
}

/// The counters of one company since its data directory began.
#[derive(Clone, Debug)]
pub struct Metrics {
    pub created_single: u64,
    pub created_compound: u64,
    pub converted: u64,
    pub expired: u64,
    pub cancelled: u64,
    /// Bounded by `limits::CANCEL_REASONS_DISTINCT_MAX`; later reasons count as `other`.
    pub cancelled_by_reason: BTreeMap<Box<str>, u64>,
    /// Indexed by `ErrorType::index`.
    pub errors_by_type: [u64; ErrorType::ALL.len()],
    pub confirm_attempts: u64,
    pub confirm_successes: u64,
    pub requests: u64,
    pub time_to_conversion_ms: LazyHistogram,
    pub expired_lifetime_ms: LazyHistogram,
    pub hold_latency_micros: LazyHistogram,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            created_single: 0,
            created_compound: 0,
            converted: 0,
            expired: 0,
            cancelled: 0,
            cancelled_by_reason: BTreeMap::new(),
            errors_by_type: [0; ErrorType::ALL.len()],
            confirm_attempts: 0,
            confirm_successes: 0,
            requests: 0,
            time_to_conversion_ms: LazyHistogram::new(LIFETIME_MILLIS_HISTOGRAM_MAX),
            expired_lifetime_ms: LazyHistogram::new(LIFETIME_MILLIS_HISTOGRAM_MAX),
            hold_latency_micros: LazyHistogram::new(LATENCY_MICROS_HISTOGRAM_MAX),
        }
    }
}

impl Metrics {
    /// Reservations created, single and compound.
    pub fn created(&self) -> u64 {
        self.created_single + self.created_compound
    }

    /// Errors of every type.
    pub fn errors(&self) -> u64 {
        self.errors_by_type.iter().sum()
    }

    /// Counts one error of `error_type`.
    pub fn record_error(&mut self, error_type: ErrorType) {
        self.errors_by_type[error_type.index()] += 1;
    }

    /// Counts one cancellation for `reason`, folding reasons past the distinct bound into `other`.
    pub fn record_cancel(&mut self, reason: &str) {
        self.cancelled += 1;
        if let Some(count) = self.cancelled_by_reason.get_mut(reason) {
            *count += 1;
            return;
        }
        let key: Box<str> =
            if self.cancelled_by_reason.len() < crate::limits::CANCEL_REASONS_DISTINCT_MAX {
                reason.into()
            } else {
                "other".into()
            };
        *self.cancelled_by_reason.entry(key).or_insert(0) += 1;
    }
}

/// `{avg, p50, p95, p99}` of a duration, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DurationSummary {
    pub avg: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

impl DurationSummary {
    fn from_millis(histogram: &LazyHistogram) -> DurationSummary {
        DurationSummary {
            avg: histogram.mean() / 1_000.0,
            p50: histogram.quantile(0.50) as f64 / 1_000.0,
            p95: histogram.quantile(0.95) as f64 / 1_000.0,
            p99: histogram.quantile(0.99) as f64 / 1_000.0,
        }
    }
}

/// One of the seed system's success criteria, with this company's value.
#[derive(Clone, Debug, PartialEq)]
pub struct Criterion {
    pub name: &'static str,
    pub value: f64,
    pub target: f64,
    /// `>` or `<`: how `value` must compare with `target`.
    pub comparison: &'static str,
    pub met: bool,
}

/// The seed system's targets (API.md).
pub const CRITERION_CONVERSION_RATE_MIN: f64 = 0.90;
/// See [`CRITERION_CONVERSION_RATE_MIN`].
pub const CRITERION_ERROR_RATE_MAX: f64 = 0.05;
/// See [`CRITERION_CONVERSION_RATE_MIN`].
pub const CRITERION_TIME_TO_CONVERSION_SECONDS_MAX: f64 = 60.0;
/// See [`CRITERION_CONVERSION_RATE_MIN`].
pub const CRITERION_BOOKING_SUCCESS_RATE_MIN: f64 = 0.95;

/// The company metrics object of the API, computed from the counters.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsReport {
    pub created: u64,
    pub created_single: u64,
    pub created_compound: u64,
    pub converted: u64,
    pub expired: u64,
    pub cancelled: u64,
    pub errors: u64,
    pub active: u64,
    pub live: u64,
    pub requests: u64,
    pub confirm_attempts: u64,
    pub confirm_successes: u64,
    pub conversion_rate: f64,
    pub completion_rate: f64,
    pub active_rate: f64,
    pub error_rate: f64,
    pub booking_success_rate: f64,
    pub time_to_conversion_seconds: DurationSummary,
    pub expired_lifetime_seconds: DurationSummary,
    pub cancelled_by_reason: BTreeMap<String, u64>,
    pub errors_by_type: BTreeMap<String, u64>,
    pub hold_latency_micros_p50: u64,
    pub hold_latency_micros_p99: u64,
    pub hold_latency_micros_p999: u64,
    pub criteria: Vec<Criterion>,
}

/// `numerator / denominator`, 0 (not NaN) when the denominator is 0.
pub fn rate(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

impl Metrics {
    /// The API's metrics object, given the company's current active and live counts.
    pub fn report(&self, active: u64, live: u64) -> MetricsReport {
        let created = self.created();
        let errors = self.errors();
        let conversion_rate = rate(self.converted, created);
        let error_rate = rate(errors, self.requests);
        let booking_success_rate = rate(self.confirm_successes, self.confirm_attempts);
        let time_to_conversion_seconds = DurationSummary::from_millis(&self.time_to_conversion_ms);
        let criteria = vec![
            Criterion {
                name: "conversion_rate",
                value: conversion_rate,
                target: CRITERION_CONVERSION_RATE_MIN,
                comparison: ">",
                met: conversion_rate > CRITERION_CONVERSION_RATE_MIN,
            },
            Criterion {
                name: "error_rate",
                value: error_rate,
                target: CRITERION_ERROR_RATE_MAX,
                comparison: "<",
                met: error_rate < CRITERION_ERROR_RATE_MAX,
            },
            Criterion {
                name: "avg_time_to_conversion_seconds",
                value: time_to_conversion_seconds.avg,
                target: CRITERION_TIME_TO_CONVERSION_SECONDS_MAX,
                comparison: "<",
                met: time_to_conversion_seconds.avg < CRITERION_TIME_TO_CONVERSION_SECONDS_MAX,
            },
            Criterion {
                name: "booking_success_rate",
                value: booking_success_rate,
                target: CRITERION_BOOKING_SUCCESS_RATE_MIN,
                comparison: ">",
                met: booking_success_rate > CRITERION_BOOKING_SUCCESS_RATE_MIN,
            },
        ];
        MetricsReport {
            created,
            created_single: self.created_single,
            created_compound: self.created_compound,
            converted: self.converted,
            expired: self.expired,
            cancelled: self.cancelled,
            errors,
            active,
            live,
            requests: self.requests,
            confirm_attempts: self.confirm_attempts,
            confirm_successes: self.confirm_successes,
            conversion_rate,
            completion_rate: rate(self.converted + self.expired + self.cancelled, created),
            active_rate: rate(active, created),
            error_rate,
            booking_success_rate,
            time_to_conversion_seconds,
            expired_lifetime_seconds: DurationSummary::from_millis(&self.expired_lifetime_ms),
            cancelled_by_reason: self
                .cancelled_by_reason
                .iter()
                .map(|(reason, count)| (reason.to_string(), *count))
                .collect(),
            errors_by_type: ErrorType::ALL
                .iter()
                .map(|t| (t.as_str().to_string(), self.errors_by_type[t.index()]))
                .collect(),
            hold_latency_micros_p50: self.hold_latency_micros.quantile(0.50),
            hold_latency_micros_p99: self.hold_latency_micros.quantile(0.99),
            hold_latency_micros_p999: self.hold_latency_micros.quantile(0.999),
            criteria,
        }
    }
}
