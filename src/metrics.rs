//! Engine-wide metrics: every company's counters and histograms, and the engine's own gauges,
//! rendered in the Prometheus text format for `GET /metrics`.
//!
//! The counters themselves live in each company's `Book` (`core::metrics`), written only by the
//! company's actor, so nothing here is shared or locked: a scrape asks every company for a
//! [`MetricsSample`] (a bounded number at a time), reads the expiry wheel's size, the engine's
//! live limit and edge counters, and the data directory, and renders. Nothing is kept between scrapes, so there is no second copy of a
//! counter to drift from the JSON of `GET /v1/companies/{company}/metrics`: both are computed
//! from the same `Metrics` by the same actor.
//!
//! Units follow Prometheus: seconds for every duration (the JSON's `hold_latency_micros` is
//! `holdfast_hold_latency_seconds` here), `_total` for counters.
//!
//! The counting of requests the HTTP edge refuses by itself lives with the edge
//! (`http::edge_errors`): into the company's book when its actor runs, otherwise into the
//! engine's edge counters (a refusal starts no actor), rendered here as
//! `holdfast_edge_rejected_total`.

use crate::actors::engine::{CompanySample, Engine, EngineError};
use crate::call_metrics::CallCounts;
use crate::core::error::ErrorType;
use crate::core::metrics::{
    HistogramSample, MetricsSample, LATENCY_BUCKETS_MICROS, LIFETIME_BUCKETS_MS,
};
use crate::durability::{log, snapshot};
use crate::webhooks::metrics::{DeliverySample, LAG_BUCKETS_MICROS};
use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use prometheus::TextEncoder;
use std::path::Path;
use std::time::SystemTime;

/// The `Content-Type` of the rendered text (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// What the data directory holds, for the durability gauges.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DiskGauges {
    /// Seconds since the newest snapshot file was written (wall clock: file times are wall
    /// clock); `None` while the directory holds no snapshot.
    pub snapshot_age_seconds: Option<f64>,
    /// Size of the newest snapshot file, in bytes.
    pub snapshot_bytes: Option<u64>,
    /// Bytes in the write-ahead log's segments (0 with `--durability snapshot`).
    pub log_bytes: u64,
}

/// One scrape: every company's sample and the engine-wide gauges.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineMetrics {
    /// Sorted by company id.
    pub companies: Vec<CompanySample>,
    /// Entries in the expiry wheel and its intake.
    pub wheel_entries: usize,
    /// Schedules the wheel refused because it was full (lazy expiry covered those holds).
    pub wheel_refused: u64,
    /// The engine-wide live limit (`--total-live-limit`).
    pub live_reservations_limit: u64,
    /// Requests the edge refused for companies not started, by error type (every type).
    pub edge_rejected: Vec<(ErrorType, u64)>,
    /// `None` for an engine without a data directory (tests, benches).
    pub disk: Option<DiskGauges>,
    /// `None` for an engine without a log.
    pub durability: Option<DurabilityGauges>,
    /// Webhook delivery attempts by outcome, and the lag of acknowledged events.
    pub webhooks: DeliverySample,
    /// The voice routes' counters of calls, by company (sorted).
    pub calls: Vec<(std::sync::Arc<str>, CallCounts)>,
}

/// Whether the server keeps its promise now, and how often it could not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DurabilityGauges {
    /// Changes are refused now because they cannot be made durable.
    pub refusing: bool,
    /// Times changes started being refused since the server started.
    pub failures: u64,
    /// Times the log was brought back after a failure since the server started.
    pub recoveries: u64,
}

impl EngineMetrics {
    /// Live reservations (active holds and bookings) over every company.
    pub fn live_reservations(&self) -> u64 {
        self.companies.iter().map(|c| c.sample.report.live).sum()
    }

    /// Active holds over every company.
    pub fn active_holds(&self) -> u64 {
        self.companies.iter().map(|c| c.sample.report.active).sum()
    }
}

/// Asks every company for its sample and reads the engine's gauges and those of its data
/// directory, if it has one.
pub async fn gather(
    engine: &Engine,
    data_dir: Option<&Path>,
) -> Result<EngineMetrics, EngineError> {
    let companies = engine.metrics_samples().await?;
    let disk = data_dir.map(disk_gauges);
    Ok(EngineMetrics {
        companies,
        wheel_entries: engine.expiry().handle().entries(),
        wheel_refused: engine.expiry().handle().refused(),
        live_reservations_limit: engine.live_budget().limit(),
        edge_rejected: engine.edge_rejected(),
        disk,
        durability: engine.log_writer().map(|log_writer| DurabilityGauges {
            refusing: log_writer.is_refusing(),
            failures: log_writer.failure_count(),
            recoveries: log_writer.recovery_count(),
        }),
        webhooks: engine.webhook_metrics().sample(),
        calls: engine.call_metrics().sample(),
    })
}

/// [`gather`], then [`render`]: the body of `GET /metrics`.
pub async fn render_engine(
    engine: &Engine,
    data_dir: Option<&Path>,
) -> Result<String, EngineError> {
    Ok(render(&gather(engine, data_dir).await?))
}

/// The durability gauges of `dir`. A file that cannot be read is left out (and logged) rather
/// than failing the scrape: the gauges that remain are still worth having.
pub fn disk_gauges(dir: &Path) -> DiskGauges {
    let mut gauges = DiskGauges::default();
    match snapshot::list(dir) {
        Ok(snapshots) => {
            if let Some(metadata) = snapshots.first().and_then(|(_, path)| path.metadata().ok()) {
                gauges.snapshot_bytes = Some(metadata.len());
                gauges.snapshot_age_seconds = metadata.modified().ok().map(|written| {
                    SystemTime::now()
                        .duration_since(written)
                        .map_or(0.0, |age| age.as_secs_f64())
                });
            }
        }
        Err(error) => {
            tracing::warn!(%error, dir = %dir.display(), "cannot list snapshots for metrics")
        }
    }
    match log::list_segments(dir) {
        Ok(segments) => {
            gauges.log_bytes = segments
                .iter()
                .filter_map(|(_, path)| path.metadata().ok())
                .map(|metadata| metadata.len())
                .sum();
        }
        Err(error) => {
            tracing::warn!(%error, dir = %dir.display(), "cannot list log segments for metrics")
        }
    }
    gauges
}

// ----- rendering ---------------------------------------------------------------------------------

fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
    pairs
        .iter()
        .map(|(name, value)| {
            let mut pair = LabelPair::default();
            pair.set_name((*name).to_string());
            pair.set_value((*value).to_string());
            pair
        })
        .collect()
}

fn counter(pairs: &[(&str, &str)], value: u64) -> Metric {
    let mut metric = Metric::from_label(labels(pairs));
    let mut counter = Counter::default();
    counter.set_value(value as f64);
    metric.set_counter(counter);
    metric
}

fn gauge(pairs: &[(&str, &str)], value: f64) -> Metric {
    let mut metric = Metric::from_label(labels(pairs));
    let mut gauge = Gauge::default();
    gauge.set_value(value);
    metric.set_gauge(gauge);
    metric
}

/// A histogram metric from a sample recorded in units of which `units_per_second` make a second
/// (divided, not multiplied by the reciprocal, so that a bound of 30,000 ms is exactly `30`).
fn histogram(
    pairs: &[(&str, &str)],
    sample: &HistogramSample,
    bounds: &[u64],
    units_per_second: f64,
) -> Metric {
    let mut metric = Metric::from_label(labels(pairs));
    let mut histogram = Histogram::default();
    histogram.set_sample_count(sample.count);
    histogram.set_sample_sum(sample.sum / units_per_second);
    let buckets = bounds
        .iter()
        .zip(&sample.cumulative)
        .map(|(bound, cumulative)| {
            let mut bucket = Bucket::default();
            bucket.set_upper_bound(*bound as f64 / units_per_second);
            bucket.set_cumulative_count(*cumulative);
            bucket
        })
        .collect();
    histogram.set_bucket(buckets);
    metric.set_histogram(histogram);
    metric
}

fn family(name: &str, help: &str, kind: MetricType, metrics: Vec<Metric>) -> MetricFamily {
    let mut family = MetricFamily::default();
    family.set_name(name.to_string());
    family.set_help(help.to_string());
    family.set_field_type(kind);
    family.set_metric(metrics);
    family
}

/// A per-company family of the voice counters.
fn per_call_company(
    metrics: &EngineMetrics,
    name: &str,
    help: &str,
    value: fn(&CallCounts) -> u64,
) -> MetricFamily {
    let all = metrics
        .calls
        .iter()
        .map(|(company, counts)| counter(&[("company", company)], value(counts)))
        .collect();
    family(name, help, MetricType::COUNTER, all)
}

/// A per-company family: one metric per company (or several, from `each`).
fn per_company(
    metrics: &EngineMetrics,
    name: &str,
    help: &str,
    kind: MetricType,
    each: impl Fn(&str, &MetricsSample) -> Vec<Metric>,
) -> MetricFamily {
    let all = metrics
        .companies
        .iter()
        .flat_map(|c| each(&c.company, &c.sample))
        .collect();
    family(name, help, kind, all)
}

/// Every family of one scrape, in a fixed order.
pub fn families(metrics: &EngineMetrics) -> Vec<MetricFamily> {
    use MetricType::{COUNTER, GAUGE, HISTOGRAM};
    let simple = |name: &str, help: &str, kind: MetricType, value: fn(&MetricsSample) -> u64| {
        per_company(metrics, name, help, kind, |company, sample| {
            let value = value(sample);
            vec![match kind {
                GAUGE => gauge(&[("company", company)], value as f64),
                _ => counter(&[("company", company)], value),
            }]
        })
    };
    let ms = 1e3;
    let micros = 1e6;
    let mut all = vec![
        per_company(
            metrics,
            "holdfast_reservations_created_total",
            "Reservations created, by kind (single: one segment; compound: several).",
            COUNTER,
            |company, sample| {
                vec![
                    counter(
                        &[("company", company), ("kind", "single")],
                        sample.report.created_single,
                    ),
                    counter(
                        &[("company", company), ("kind", "compound")],
                        sample.report.created_compound,
                    ),
                ]
            },
        ),
        simple(
            "holdfast_reservations_converted_total",
            "Holds confirmed into bookings.",
            COUNTER,
            |sample| sample.report.converted,
        ),
        simple(
            "holdfast_reservations_expired_total",
            "Holds that ran out of time.",
            COUNTER,
            |sample| sample.report.expired,
        ),
        per_company(
            metrics,
            "holdfast_reservations_cancelled_total",
            "Holds and bookings cancelled, by reason.",
            COUNTER,
            |company, sample| {
                sample
                    .report
                    .cancelled_by_reason
                    .iter()
                    .map(|(reason, count)| {
                        counter(&[("company", company), ("reason", reason)], *count)
                    })
                    .collect()
            },
        ),
        per_company(
            metrics,
            "holdfast_errors_total",
            "Requests answered with an error, by the API's error type.",
            COUNTER,
            |company, sample| {
                sample
                    .report
                    .errors_by_type
                    .iter()
                    .map(|(kind, count)| counter(&[("company", company), ("type", kind)], *count))
                    .collect()
            },
        ),
        simple(
            "holdfast_requests_total",
            "Requests the company was asked (its book's answers and the edge's refusals).",
            COUNTER,
            |sample| sample.report.requests,
        ),
        simple(
            "holdfast_events_total",
            "Events the company emitted, one per change of a reservation, counted across restarts.",
            COUNTER,
            |sample| sample.events,
        ),
        simple(
            "holdfast_confirm_attempts_total",
            "Confirm requests.",
            COUNTER,
            |sample| sample.report.confirm_attempts,
        ),
        simple(
            "holdfast_confirm_successes_total",
            "Confirm requests answered 200.",
            COUNTER,
            |sample| sample.report.confirm_successes,
        ),
        simple(
            "holdfast_company_active_holds",
            "Active holds now.",
            GAUGE,
            |sample| sample.report.active,
        ),
        simple(
            "holdfast_company_live_reservations",
            "Active holds and bookings now.",
            GAUGE,
            |sample| sample.report.live,
        ),
        per_company(
            metrics,
            "holdfast_time_to_conversion_seconds",
            "Time from hold to confirm.",
            HISTOGRAM,
            |company, sample| {
                vec![histogram(
                    &[("company", company)],
                    &sample.time_to_conversion_ms,
                    &LIFETIME_BUCKETS_MS,
                    ms,
                )]
            },
        ),
        per_company(
            metrics,
            "holdfast_expired_lifetime_seconds",
            "Time from hold to expiry, of holds that expired.",
            HISTOGRAM,
            |company, sample| {
                vec![histogram(
                    &[("company", company)],
                    &sample.expired_lifetime_ms,
                    &LIFETIME_BUCKETS_MS,
                    ms,
                )]
            },
        ),
        per_company(
            metrics,
            "holdfast_hold_latency_seconds",
            "Time a create takes inside the company's actor (not the network or the log sync).",
            HISTOGRAM,
            |company, sample| {
                vec![histogram(
                    &[("company", company)],
                    &sample.hold_latency_micros,
                    &LATENCY_BUCKETS_MICROS,
                    micros,
                )]
            },
        ),
        family(
            "holdfast_companies",
            "Companies started (each has its actor).",
            GAUGE,
            vec![gauge(&[], metrics.companies.len() as f64)],
        ),
        family(
            "holdfast_live_reservations",
            "Active holds and bookings over every company.",
            GAUGE,
            vec![gauge(&[], metrics.live_reservations() as f64)],
        ),
        family(
            "holdfast_live_reservations_limit",
            "Active holds and bookings over every company past which holds are refused with 429 (--total-live-limit).",
            GAUGE,
            vec![gauge(&[], metrics.live_reservations_limit as f64)],
        ),
        family(
            "holdfast_edge_rejected_total",
            "Requests the HTTP edge refused for a company not started, by the API's error type (a refusal starts no company; a started company counts them in holdfast_errors_total).",
            COUNTER,
            metrics
                .edge_rejected
                .iter()
                .map(|(kind, count)| counter(&[("type", kind.as_str())], *count))
                .collect(),
        ),
        family(
            "holdfast_active_holds",
            "Active holds over every company.",
            GAUGE,
            vec![gauge(&[], metrics.active_holds() as f64)],
        ),
        family(
            "holdfast_expiry_wheel_entries",
            "Entries in the expiry wheel and its intake (one per scheduled hold or extension).",
            GAUGE,
            vec![gauge(&[], metrics.wheel_entries as f64)],
        ),
        family(
            "holdfast_expiry_refused_total",
            "Schedules the full expiry wheel refused (those holds expire lazily).",
            COUNTER,
            vec![counter(&[], metrics.wheel_refused)],
        ),
        per_call_company(
            metrics,
            "holdfast_voice_calls_total",
            "Voice calls seen (distinct platform call ids).",
            |c| c.calls,
        ),
        per_call_company(
            metrics,
            "holdfast_voice_holds_total",
            "Holds made by voice calls.",
            |c| c.holds,
        ),
        per_call_company(
            metrics,
            "holdfast_voice_calls_booked_total",
            "Voice calls that booked (the seed's conversion per call: this over calls seen).",
            |c| c.booked,
        ),
        per_call_company(
            metrics,
            "holdfast_voice_calls_released_total",
            "Voice calls whose end released a hold.",
            |c| c.released,
        ),
        family(
            "holdfast_webhook_deliveries_total",
            "Webhook delivery attempts, by outcome (acknowledged: a 2xx; rejected: another status; timeout; unreachable; forbidden: the destination resolved to a private address).",
            COUNTER,
            metrics
                .webhooks
                .attempts
                .iter()
                .map(|(outcome, count)| counter(&[("outcome", outcome.as_str())], *count))
                .collect(),
        ),
        family(
            "holdfast_webhook_delivery_lag_seconds",
            "Time from a change to its receiver's acknowledgement of its event, retries included.",
            HISTOGRAM,
            vec![histogram(&[], &metrics.webhooks.lag, &LAG_BUCKETS_MICROS, micros)],
        ),
    ];
    if let Some(durability) = &metrics.durability {
        all.push(family(
            "holdfast_durability_refusing",
            "1 while changes are refused because the disk does not take them (see /healthz), else 0.",
            GAUGE,
            vec![gauge(&[], if durability.refusing { 1.0 } else { 0.0 })],
        ));
        all.push(family(
            "holdfast_durability_failures_total",
            "Times the server started refusing changes because the log or the snapshot could not be written.",
            COUNTER,
            vec![counter(&[], durability.failures)],
        ));
        all.push(family(
            "holdfast_durability_recoveries_total",
            "Times the write-ahead log was brought back after a failure.",
            COUNTER,
            vec![counter(&[], durability.recoveries)],
        ));
    }
    if let Some(disk) = &metrics.disk {
        if let Some(age) = disk.snapshot_age_seconds {
            all.push(family(
                "holdfast_snapshot_age_seconds",
                "Seconds since the newest snapshot file was written.",
                GAUGE,
                vec![gauge(&[], age)],
            ));
        }
        if let Some(bytes) = disk.snapshot_bytes {
            all.push(family(
                "holdfast_snapshot_bytes",
                "Size of the newest snapshot file.",
                GAUGE,
                vec![gauge(&[], bytes as f64)],
            ));
        }
        all.push(family(
            "holdfast_log_bytes",
            "Bytes in the write-ahead log's segments (what a restart would replay at most).",
            GAUGE,
            vec![gauge(&[], disk.log_bytes as f64)],
        ));
    }
    all
}

/// The Prometheus text of one scrape. Families without a series (no company yet) are left out,
/// as the format requires.
pub fn render(metrics: &EngineMetrics) -> String {
    let families: Vec<MetricFamily> = families(metrics)
        .into_iter()
        .filter(|family| !family.get_metric().is_empty())
        .collect();
    let mut text = String::new();
    if let Err(error) = TextEncoder::new().encode_utf8(&families, &mut text) {
        // Unreachable with the checks above (the encoder refuses only empty families and names).
        tracing::error!(%error, "rendering metrics failed");
    }
    text
}
