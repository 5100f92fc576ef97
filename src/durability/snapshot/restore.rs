//! Restore: a company's on-disk record back into a book. The configuration comes first (settings,
//! resources, capacity states), read through the same checks a caller's input goes through; then
//! every reservation goes through the core's own restore checks (no overlap beyond the capacity
//! ceiling, no token twice, valid names), so a record that would serve a double booking is
//! refused rather than trusted.

use crate::core::book::{Book, IdempotencyRecord, Settings};
use crate::core::error::ErrorType;
use crate::core::events::{Event, EventKind, EventLog};
use crate::core::metrics::{
    Metrics, HISTOGRAM_SIGNIFICANT_DIGITS, LATENCY_MICROS_HISTOGRAM_MAX,
    LIFETIME_MILLIS_HISTOGRAM_MAX,
};
use crate::core::reservation::{Outcome, Reservation, Segment};
use crate::core::reservation::{ReservationView, SegmentView, Status};
use crate::core::webhooks::WebhookEndpoint;
use crate::durability::snapshot::v1::{status_from_code, HistogramV1, MetricsV1, ReservationV1};
use crate::durability::snapshot::v2::CompanyConfigV2;
use crate::durability::snapshot::v3::{EventV3, EventsV3};
use crate::durability::snapshot::v4::{CompanySnapshotV4, WebhookV4};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// Rebuilds a company's book from its record, with today's settings. Every reservation goes
/// through the core's restore checks, so a record that would overlap or reuse a token is refused.
/// The record is consumed: its decoded strings become the book's, without a copy.
pub fn restore_company(record: CompanySnapshotV4, settings: &Settings) -> Result<Book, String> {
    let CompanySnapshotV4 {
        base: record,
        config,
        events,
        webhooks,
    } = record;
    crate::core::command::validate_id("company", &record.company).map_err(|e| e.to_string())?;
    let mut book = Book::new(record.company.as_str(), settings.clone());
    restore_config(&mut book, &config, &record.resources)?;
    let mut names: Vec<&str> = Vec::with_capacity(crate::limits::SEGMENTS_MAX);
    for (index, stored) in record.reservations.into_iter().enumerate() {
        names.clear();
        let reservation = reservation_from_v1(stored, &record.resources, &mut names)
            .map_err(|detail| format!("reservation #{index}: {detail}"))?;
        book.restore_reservation(reservation, &names)
            .map_err(|e| format!("reservation #{index}: {e}"))?;
    }
    for stored in &record.idempotency {
        let record = IdempotencyRecord {
            fingerprint: stored.fingerprint,
            token: Uuid::from_bytes(stored.token),
            created_at_ms: stored.created_at_ms,
        };
        book.restore_idempotency(&stored.key, record);
    }
    book.restore_metrics(metrics_from_v1(&record.metrics)?);
    book.set_log_position(record.last_lsn);
    let events = events_from_v3(events, &record.company, &record.resources)
        .map_err(|detail| format!("events: {detail}"))?;
    book.restore_event_log(events);
    let webhooks = webhooks
        .into_iter()
        .map(webhook_from_v4)
        .collect::<Result<Vec<_>, _>>()?;
    book.restore_webhooks(webhooks)
        .map_err(|e| format!("webhooks: {e}"))?;
    Ok(book)
}

/// One webhook endpoint, its configuration checked as a caller's is.
fn webhook_from_v4(stored: WebhookV4) -> Result<(String, WebhookEndpoint), String> {
    let config = stored
        .config
        .to_core()
        .map_err(|e| format!("webhook {}: {e}", stored.id))?;
    let endpoint = WebhookEndpoint {
        config,
        acknowledged_seq: stored.acknowledged_seq,
        lost_before_seq: stored.lost_before_seq,
    };
    Ok((stored.id, endpoint))
}

/// The event log a record stores, checked: consecutive `seq`s ending right before `next_seq`,
/// known kinds and statuses, segments naming known resources.
fn events_from_v3(
    stored: EventsV3,
    company: &str,
    resources: &[String],
) -> Result<EventLog, String> {
    let kept_max = crate::limits::EVENTS_KEPT_MAX.max(crate::limits::WEBHOOK_EVENTS_KEPT_MAX);
    if stored.kept.len() > kept_max {
        return Err(format!("{} events kept", stored.kept.len()));
    }
    let first = stored.next_seq.checked_sub(stored.kept.len() as u64);
    if stored.next_seq == 0 || first.is_none_or(|first| first == 0) {
        return Err(format!(
            "{} events kept before event {}",
            stored.kept.len(),
            stored.next_seq
        ));
    }
    let company: Arc<str> = company.into();
    let names: Vec<Arc<str>> = resources.iter().map(|n| Arc::from(n.as_str())).collect();
    let mut kept = Vec::with_capacity(stored.kept.len());
    for (expected_seq, event) in (first.unwrap_or(1)..).zip(stored.kept) {
        if event.seq != expected_seq {
            return Err(format!("event {} where {expected_seq} belongs", event.seq));
        }
        kept.push(event_from_v3(event, &company, &names)?);
    }
    Ok(EventLog::restored(stored.next_seq, kept))
}

fn event_from_v3(event: EventV3, company: &Arc<str>, names: &[Arc<str>]) -> Result<Event, String> {
    let seq = event.seq;
    let kind = EventKind::from_code(event.kind)
        .ok_or_else(|| format!("event {seq}: unknown kind {}", event.kind))?;
    let r = event.reservation;
    let status = status_from_code(r.status)
        .ok_or_else(|| format!("event {seq}: unknown status {}", r.status))?;
    let mut segments = Vec::with_capacity(r.segments.len());
    for segment in &r.segments {
        let resource = names.get(segment.resource as usize).ok_or_else(|| {
            format!(
                "event {seq}: resource index {} out of range",
                segment.resource
            )
        })?;
        let end_ms = segment
            .start_ms
            .checked_add(segment.length_ms)
            .ok_or_else(|| format!("event {seq}: segment end overflows"))?;
        segments.push(SegmentView {
            resource: resource.clone(),
            start_ms: segment.start_ms,
            end_ms,
        });
    }
    // As the view was read at the change: an active hold's time left then.
    let time_remaining_seconds = match status {
        Status::Active if event.occurred_at_ms < r.expires_at_ms => {
            (r.expires_at_ms - event.occurred_at_ms + 999) / 1_000
        }
        _ => 0,
    };
    let reservation = ReservationView {
        token: Uuid::from_bytes(r.token),
        company: company.clone(),
        status,
        compound: segments.len() > 1,
        segments,
        call_id: r.call_id.map(Arc::from),
        customer_phone: r.customer_phone.map(Box::from),
        service_id: r.service_id.map(Box::from),
        reserved_at_ms: r.reserved_at_ms,
        expires_at_ms: r.expires_at_ms,
        time_remaining_seconds,
        appointment_id: r.appointment_id.map(Box::from),
        converted_at_ms: r.converted_at_ms,
        cancelled_at_ms: r.cancelled_at_ms,
        cancel_reason: r.cancel_reason.map(Box::from),
        expired_at_ms: r.expired_at_ms,
    };
    Ok(Event {
        seq,
        kind,
        occurred_at_ms: event.occurred_at_ms,
        reservation,
    })
}

/// Settings, then each configured resource, then each calendar's capacity state (which may lie
/// above the configured capacity after a lowering), all before any reservation comes back.
fn restore_config(
    book: &mut Book,
    config: &CompanyConfigV2,
    resources: &[String],
) -> Result<(), String> {
    let settings = config
        .settings
        .to_core()
        .map_err(|e| format!("settings: {e}"))?;
    book.set_company_settings(settings);
    let name_of = |index: u32| {
        resources
            .get(index as usize)
            .map(String::as_str)
            .ok_or_else(|| format!("resource index {index} out of range"))
    };
    for (index, stored) in &config.resources {
        let name = name_of(*index)?;
        let resource = stored
            .to_core()
            .map_err(|e| format!("resource {name}: {e}"))?;
        book.put_resource(name, resource)
            .map_err(|e| format!("resource {name}: {e}"))?;
    }
    for state in &config.capacities {
        let name = name_of(state.resource)?;
        book.restore_capacity_state(name, state.capacity, state.ceiling, state.set_at_seq)
            .map_err(|e| format!("resource {name}: {e}"))?;
    }
    Ok(())
}

/// The core reservation of a stored one; `names` receives each segment's resource name.
fn reservation_from_v1<'a>(
    stored: ReservationV1,
    resources: &'a [String],
    names: &mut Vec<&'a str>,
) -> Result<Reservation, String> {
    let status = status_from_code(stored.status)
        .ok_or_else(|| format!("unknown status code {}", stored.status))?;
    let mut segments = Vec::with_capacity(stored.segments.len());
    for segment in &stored.segments {
        let name = resources
            .get(segment.resource as usize)
            .ok_or_else(|| format!("resource index {} out of range", segment.resource))?;
        let end_ms = segment
            .start_ms
            .checked_add(segment.length_ms)
            .ok_or("segment end overflows")?;
        names.push(name.as_str());
        segments.push(Segment {
            resource: 0,
            start_ms: segment.start_ms,
            end_ms,
        });
    }
    if segments.len() > crate::limits::SEGMENTS_MAX {
        return Err(format!("{} segments", segments.len()));
    }
    let expires_at_ms = stored
        .reserved_at_ms
        .checked_add(stored.ttl_ms)
        .ok_or("expiry overflows")?;
    let reservation = Reservation {
        token: Uuid::from_bytes(stored.token),
        seq: stored.seq,
        status,
        segments: segments.into_boxed_slice(),
        call_id: stored.call_id.map(Into::into),
        customer_phone: stored.customer_phone.map(String::into_boxed_str),
        service_id: stored.service_id.map(String::into_boxed_str),
        reserved_at_ms: stored.reserved_at_ms,
        expires_at_ms,
        outcome: Outcome {
            appointment_id: stored.appointment_id.map(String::into_boxed_str),
            cancel_reason: stored.cancel_reason.map(String::into_boxed_str),
            converted_at_ms: stored.converted_at_ms,
            cancelled_at_ms: stored.cancelled_at_ms,
            expired_at_ms: stored.expired_at_ms,
        }
        .boxed(),
    };
    Ok(reservation)
}

fn histogram_from_v1(stored: &HistogramV1, highest: u64) -> Result<Option<Histogram<u32>>, String> {
    if stored.buckets.is_empty() {
        return Ok(None);
    }
    let mut histogram = Histogram::new_with_bounds(1, highest, HISTOGRAM_SIGNIFICANT_DIGITS)
        .map_err(|e| format!("histogram bounds: {e}"))?;
    for &(value, count) in &stored.buckets {
        let count = u32::try_from(count).map_err(|_| format!("bucket count {count} too large"))?;
        histogram
            .record_n(value.clamp(1, highest), count)
            .map_err(|e| format!("histogram value {value}: {e}"))?;
    }
    Ok(Some(histogram))
}

fn metrics_from_v1(stored: &MetricsV1) -> Result<Metrics, String> {
    let mut metrics = Metrics {
        created_single: stored.created_single,
        created_compound: stored.created_compound,
        converted: stored.converted,
        expired: stored.expired,
        cancelled: stored.cancelled,
        cancelled_by_reason: BTreeMap::new(),
        confirm_attempts: stored.confirm_attempts,
        confirm_successes: stored.confirm_successes,
        requests: stored.requests,
        ..Metrics::default()
    };
    for (reason, count) in stored
        .cancelled_by_reason
        .iter()
        .take(crate::limits::CANCEL_REASONS_DISTINCT_MAX)
    {
        metrics
            .cancelled_by_reason
            .insert(reason.as_str().into(), *count);
    }
    for (name, count) in &stored.errors_by_type {
        // An error type this build does not know is dropped: it cannot be shown anyway.
        if let Some(error_type) = ErrorType::ALL.iter().find(|t| t.as_str() == name) {
            metrics.errors_by_type[error_type.index()] = *count;
        }
    }
    metrics
        .time_to_conversion_ms
        .set_histogram(histogram_from_v1(
            &stored.time_to_conversion_ms,
            LIFETIME_MILLIS_HISTOGRAM_MAX,
        )?);
    metrics.expired_lifetime_ms.set_histogram(histogram_from_v1(
        &stored.expired_lifetime_ms,
        LIFETIME_MILLIS_HISTOGRAM_MAX,
    )?);
    metrics.hold_latency_micros.set_histogram(histogram_from_v1(
        &stored.hold_latency_micros,
        LATENCY_MICROS_HISTOGRAM_MAX,
    )?);
    Ok(metrics)
}
