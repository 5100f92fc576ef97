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

    /// Counts a request refused before the company's `Book` saw it (the HTTP edge's own checks:
    /// a malformed body, a token that is not a UUID), so that `error_rate = errors / requests`
    /// holds over everything the company was asked.
    pub fn record_rejected(&mut self, error_type: ErrorType) {
        self.requests += 1;
        self.record_error(error_type);
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

// ----- export: histograms as buckets, phones as logs may show them ------------------------------

/// Upper bounds of the exported buckets of time to conversion and of expired lifetime, in
/// milliseconds: from a second to the longest hold (an hour), dense around the seed system's
/// 60-second target so that a Prometheus quantile near it is meaningful.
pub const LIFETIME_BUCKETS_MS: [u64; 12] = [
    1_000, 5_000, 10_000, 20_000, 30_000, 45_000, 60_000, 90_000, 120_000, 300_000, 900_000,
    3_600_000,
];

/// Upper bounds of the exported buckets of in-engine hold latency, in microseconds: a hold takes
/// a few microseconds inside its actor, so the buckets are dense there and end at 100 ms, where
/// anything is a stall.
pub const LATENCY_BUCKETS_MICROS: [u64; 12] = [
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 10_000, 25_000, 100_000,
];

/// A histogram as Prometheus wants it: how many values, their sum, and how many are at most each
/// bound, in the unit the histogram records.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistogramSample {
    pub count: u64,
    /// The mean times the count: hdrhistogram keeps no exact sum, so this is as exact as its
    /// buckets (`limits::HISTOGRAM_SIGNIFICANT_DIGITS`), and `sum / count` is the reported `avg`.
    pub sum: f64,
    /// `cumulative[i]`: values at most `bounds[i]`, non-decreasing.
    pub cumulative: Vec<u64>,
}

impl LazyHistogram {
    /// The histogram against `bounds` (ascending). A value is counted under the first bound at
    /// or above the lowest value of its hdrhistogram bucket, so a value recorded exactly on a
    /// bound lands under it; values within one bucket's resolution of a bound may land under it.
    pub fn sample(&self, bounds: &[u64]) -> HistogramSample {
        let mut per_bound = vec![0u64; bounds.len()];
        if let Some(histogram) = self.histogram() {
            for value in histogram.iter_recorded() {
                let lowest = histogram.lowest_equivalent(value.value_iterated_to());
                let index = bounds.partition_point(|bound| *bound < lowest);
                if let Some(slot) = per_bound.get_mut(index) {
                    *slot += u64::from(value.count_at_value());
                }
            }
        }
        let mut running = 0;
        let cumulative = per_bound
            .into_iter()
            .map(|count| {
                running += count;
                running
            })
            .collect();
        HistogramSample {
            count: self.len(),
            sum: self.mean() * self.len() as f64,
            cumulative,
        }
    }
}

/// A company's metrics for the engine-wide export: the report, and each histogram as buckets.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsSample {
    pub report: MetricsReport,
    /// Bounds: [`LIFETIME_BUCKETS_MS`].
    pub time_to_conversion_ms: HistogramSample,
    /// Bounds: [`LIFETIME_BUCKETS_MS`].
    pub expired_lifetime_ms: HistogramSample,
    /// Bounds: [`LATENCY_BUCKETS_MICROS`].
    pub hold_latency_micros: HistogramSample,
    /// Events the company emitted, across restarts (its last event's `seq`); the book fills it.
    pub events: u64,
    /// Events of the last minute (the admin page's rate); the actor fills it.
    pub events_last_minute: u64,
}

impl Metrics {
    /// The report and the histograms as buckets, given the company's active and live counts.
    pub fn sample(&self, active: u64, live: u64) -> MetricsSample {
        MetricsSample {
            report: self.report(active, live),
            time_to_conversion_ms: self.time_to_conversion_ms.sample(&LIFETIME_BUCKETS_MS),
            expired_lifetime_ms: self.expired_lifetime_ms.sample(&LIFETIME_BUCKETS_MS),
            hold_latency_micros: self.hold_latency_micros.sample(&LATENCY_BUCKETS_MICROS),
            events: 0,
            events_last_minute: 0,
        }
    }
}

/// A phone number as logs may show it: the country and network prefix and the last digits, the
/// rest masked (`+4915112345678` -> `+49151*****678`). At least
/// [`limits::PHONE_DIGITS_MASKED_MIN`](crate::limits::PHONE_DIGITS_MASKED_MIN) digits are masked
/// however short the number, so a short number is never shown whole; what is kept is enough to
/// tell two callers apart in a log, not to call them.
pub fn mask_phone(phone: &str) -> String {
    use crate::limits::{
        PHONE_DIGITS_MASKED_MIN, PHONE_DIGITS_SHOWN_LEADING_MAX, PHONE_DIGITS_SHOWN_TRAILING_MAX,
    };
    let (plus, digits) = match phone.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", phone),
    };
    let total = digits.chars().count();
    let shown_max = PHONE_DIGITS_SHOWN_LEADING_MAX + PHONE_DIGITS_SHOWN_TRAILING_MAX;
    let masked = total
        .saturating_sub(shown_max)
        .max(PHONE_DIGITS_MASKED_MIN)
        .min(total);
    let shown = total - masked;
    let trailing = PHONE_DIGITS_SHOWN_TRAILING_MAX.min(shown / 2);
    let leading = shown - trailing;
    let mut out = String::with_capacity(phone.len());
    out.push_str(plus);
    for (index, character) in digits.chars().enumerate() {
        if index < leading || index >= total - trailing {
            out.push(character);
        } else {
            out.push('*');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: phones are masked as the contract shows, and short ones are never shown whole.
    #[test]
    fn phones_are_masked() {
        assert_eq!(mask_phone("+4915112345678"), "+49151*****678");
        assert_eq!(mask_phone("+491511234567890"), "+49151*******890");
        assert_eq!(mask_phone("+1234567890"), "+123*****90");
        assert_eq!(mask_phone("+123456"), "+1*****");
        assert_eq!(mask_phone("12345"), "*****");
        assert_eq!(mask_phone(""), "");
    }

    /// Goal: buckets are cumulative, a value on a bound counts under it, and sum/count is the
    /// reported average.
    #[test]
    fn histogram_samples_are_cumulative() {
        let mut histogram = LazyHistogram::new(LIFETIME_MILLIS_HISTOGRAM_MAX);
        assert_eq!(
            histogram.sample(&LIFETIME_BUCKETS_MS).cumulative,
            vec![0; LIFETIME_BUCKETS_MS.len()]
        );
        for value in [1_000, 30_000, 60_000, 61_000, 7_000_000] {
            histogram.record(value);
        }
        let sample = histogram.sample(&LIFETIME_BUCKETS_MS);
        assert_eq!(sample.count, 5);
        assert_eq!(sample.cumulative[0], 1, "1 s lands under the 1 s bound");
        assert_eq!(sample.cumulative[4], 2, "30 s lands under the 30 s bound");
        assert_eq!(sample.cumulative[6], 3, "60 s lands under the 60 s bound");
        assert_eq!(sample.cumulative[7], 4, "61 s lands under 90 s");
        // 7,000 s is clamped to the histogram's top (2 h), above the last bound: only +Inf.
        assert_eq!(*sample.cumulative.last().unwrap(), 4);
        assert!((sample.sum / sample.count as f64 - histogram.mean()).abs() < 1e-9);
    }
}
