//! Export: a company's book into its on-disk record. The company actor copies its book a chunk
//! at a time ([`CompanyExport`]), each reservation encoded straight into its bytes as it is
//! copied, and the record is assembled off the actor; the bytes are exactly bincode's encoding of
//! the [`CompanySnapshotV4`] holding the same reservations (a test pins it against
//! [`super::reference`]), so one decoder reads both. [`export_company`] gives the same record as
//! a value, for tools and tests.

use crate::core::book::{Book, ExportHead};
use crate::core::error::ErrorType;
use crate::core::events::Event;
use crate::core::metrics::{LazyHistogram, Metrics};
use crate::core::reservation::Reservation;
use crate::durability::config::{ResourceConfigV2, SettingsV2, WebhookConfigV3};
use crate::durability::snapshot::body::{bincode_config, EncodedCompany};
use crate::durability::snapshot::v1::{
    status_code, CompanySnapshotV1, HistogramV1, IdempotencyV1, MetricsV1, ReservationV1, SegmentV1,
};
use crate::durability::snapshot::v2::{CapacityV2, CompanyConfigV2};
use crate::durability::snapshot::v3::{EventReservationV3, EventV3, EventsV3};
use crate::durability::snapshot::v4::{CompanySnapshotV4, WebhookV4};
use serde::Serialize;
use std::collections::HashMap;

/// One company's record under construction: the head (everything but the reservations) copied
/// when the export began, then the reservations a chunk at a time, each encoded straight into
/// its on-disk bytes as it is copied (no owned copy of its strings is made). The company actor
/// drives it ([`CompanyExport::begin`], [`CompanyExport::copy_chunk`] between its messages);
/// [`CompanyExport::encode`] assembles the record's bytes off the actor. The bytes are exactly
/// those of the [`CompanySnapshotV4`] holding the same reservations in the same order (a test
/// pins it), so one decoder reads both.
#[derive(Debug)]
pub struct CompanyExport {
    head: ExportHead,
    last_lsn: u64,
    /// Each chunk's reservations, encoded back to back, in the order copied. One buffer per
    /// chunk, so no buffer ever grows past a chunk's size while the actor waits on it.
    chunks: Vec<Vec<u8>>,
    reservations: usize,
}

impl CompanyExport {
    /// Begins a point-in-time export of `book` (see [`Book::begin_export`]); its `last_lsn` is the
    /// book's log position now.
    pub fn begin(book: &mut Book) -> CompanyExport {
        let head = book.begin_export();
        CompanyExport::new(head.log_position, head)
    }

    fn new(last_lsn: u64, head: ExportHead) -> CompanyExport {
        CompanyExport {
            head,
            last_lsn,
            chunks: Vec::new(),
            reservations: 0,
        }
    }

    /// Copies the next chunk (at most `slots_max` store slots, and whatever was saved before a
    /// change); answers whether the export is complete.
    pub fn copy_chunk(&mut self, book: &mut Book, slots_max: usize) -> bool {
        let mut bytes = Vec::with_capacity(slots_max * RESERVATION_BYTES_TYPICAL);
        let mut count = 0;
        let complete = book.export_chunk(slots_max, |r| {
            encode_reservation(r, &mut bytes);
            count += 1;
        });
        self.chunks.push(bytes);
        self.reservations += count;
        complete
    }

    /// The record's bytes: company, log position, resource names, the reservations' count and
    /// bytes, idempotency keys, counters (a [`CompanySnapshotV1`]), then the configuration and
    /// the events and the webhook endpoints, as bincode encodes a [`CompanySnapshotV4`]. Runs off the actor.
    pub fn encode(self) -> EncodedCompany {
        let reservation_bytes: usize = self.chunks.iter().map(Vec::len).sum();
        let mut bytes = Vec::with_capacity(reservation_bytes + HEAD_BYTES_TYPICAL);
        let names: Vec<&str> = self.head.resource_names.iter().map(|n| &**n).collect();
        let company: &str = &self.head.company;
        // A struct's fields are encoded one after the other, and a sequence as its length
        // (a `u64`, variable-length) followed by its elements.
        encode_into(&(company, self.last_lsn, names), &mut bytes);
        encode_into(&(self.reservations as u64), &mut bytes);
        for chunk in &self.chunks {
            bytes.extend_from_slice(chunk);
        }
        let idempotency = idempotency_to_v1(&self.head);
        encode_into(
            &(idempotency, metrics_to_v1(&self.head.metrics)),
            &mut bytes,
        );
        encode_into(&config_to_v2(&self.head), &mut bytes);
        encode_into(&events_to_v3(&self.head), &mut bytes);
        encode_into(&webhooks_to_v4(&self.head), &mut bytes);
        EncodedCompany {
            company: company.to_string(),
            reservations: self.reservations,
            bytes,
        }
    }
}

/// Bytes of a typical reservation on disk (88.6 measured), rounded up: a chunk's buffer is
/// sized for this many per slot.
const RESERVATION_BYTES_TYPICAL: usize = 96;

/// Bytes of a record's head (company, names, keys, counters) that an assembled record's buffer
/// is sized for beyond its reservations; a larger head only makes the buffer grow once.
const HEAD_BYTES_TYPICAL: usize = 4_096;

/// Appends `value`'s bincode bytes to `bytes`.
fn encode_into(value: &impl Serialize, bytes: &mut Vec<u8>) {
    bincode::serde::encode_into_std_write(value, bytes, bincode_config())
        .expect("encoding into memory cannot fail");
}

/// Appends the bytes of `r`'s [`ReservationV1`], read in place from the book.
fn encode_reservation(r: &Reservation, bytes: &mut Vec<u8>) {
    encode_into(&ReservationV1Ref(r), bytes);
}

/// A reservation of the book seen as its [`ReservationV1`]: serializes to the same bytes
/// without copying its strings.
struct ReservationV1Ref<'a>(&'a Reservation);

impl Serialize for ReservationV1Ref<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let r = self.0;
        let outcome = r.outcome();
        let segments = r.segments.iter().map(|s| SegmentV1 {
            resource: s.resource,
            start_ms: s.start_ms,
            length_ms: s.end_ms - s.start_ms,
        });
        let mut fields = serializer.serialize_struct("ReservationV1", 14)?;
        fields.serialize_field("token", r.token.as_bytes())?;
        fields.serialize_field("seq", &r.seq)?;
        fields.serialize_field("status", &status_code(r.status))?;
        fields.serialize_field("segments", &SegmentsV1Ref(segments))?;
        fields.serialize_field("call_id", &r.call_id.as_deref())?;
        fields.serialize_field("customer_phone", &r.customer_phone.as_deref())?;
        fields.serialize_field("service_id", &r.service_id.as_deref())?;
        fields.serialize_field("appointment_id", &outcome.appointment_id.as_deref())?;
        fields.serialize_field("cancel_reason", &outcome.cancel_reason.as_deref())?;
        fields.serialize_field("reserved_at_ms", &r.reserved_at_ms)?;
        fields.serialize_field("ttl_ms", &(r.expires_at_ms - r.reserved_at_ms))?;
        fields.serialize_field("converted_at_ms", &outcome.converted_at_ms)?;
        fields.serialize_field("cancelled_at_ms", &outcome.cancelled_at_ms)?;
        fields.serialize_field("expired_at_ms", &outcome.expired_at_ms)?;
        fields.end()
    }
}

/// A reservation's segments as the sequence of their [`SegmentV1`]s.
struct SegmentsV1Ref<I>(I);

impl<I: Iterator<Item = SegmentV1> + Clone> Serialize for SegmentsV1Ref<I> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.clone())
    }
}

fn idempotency_to_v1(head: &ExportHead) -> Vec<IdempotencyV1> {
    head.idempotency
        .iter()
        .map(|(key, record)| IdempotencyV1 {
            key: key.to_string(),
            fingerprint: record.fingerprint,
            token: *record.token.as_bytes(),
            created_at_ms: record.created_at_ms,
        })
        .collect()
}

/// The on-disk record of one company's book, as a value (tools and tests, on a book that is
/// not changing): reservations in the store's order, resources as the book numbers them.
/// `last_lsn` is the last log record the book applied. Its bincode bytes are those of
/// [`export_encoded`].
pub fn export_company(book: &Book, last_lsn: u64) -> CompanySnapshotV4 {
    let head = book.export_head();
    let base = CompanySnapshotV1 {
        company: head.company.to_string(),
        last_lsn,
        resources: head.resource_names.iter().map(|n| n.to_string()).collect(),
        reservations: book.reservations().map(reservation_to_v1).collect(),
        idempotency: idempotency_to_v1(&head),
        metrics: metrics_to_v1(&head.metrics),
    };
    CompanySnapshotV4 {
        base,
        config: config_to_v2(&head),
        events: events_to_v3(&head),
        webhooks: webhooks_to_v4(&head),
    }
}

/// The webhook endpoints part of the record, sorted by id.
fn webhooks_to_v4(head: &ExportHead) -> Vec<WebhookV4> {
    head.webhooks
        .iter()
        .map(|(id, endpoint)| WebhookV4 {
            id: id.to_string(),
            config: WebhookConfigV3::from_core(&endpoint.config),
            acknowledged_seq: endpoint.acknowledged_seq,
            lost_before_seq: endpoint.lost_before_seq,
        })
        .collect()
}

/// The events part of the record (segments by the book's resource ids, which index its names).
fn events_to_v3(head: &ExportHead) -> EventsV3 {
    let ids: HashMap<&str, u32> = head
        .resource_names
        .iter()
        .enumerate()
        .map(|(id, name)| (&**name, id as u32))
        .collect();
    EventsV3 {
        next_seq: head.next_event_seq,
        kept: head.events.iter().map(|e| event_to_v3(e, &ids)).collect(),
    }
}

fn event_to_v3(event: &Event, ids: &HashMap<&str, u32>) -> EventV3 {
    let r = &event.reservation;
    let text = |t: &Option<Box<str>>| t.as_deref().map(str::to_string);
    EventV3 {
        seq: event.seq,
        kind: event.kind.code(),
        occurred_at_ms: event.occurred_at_ms,
        reservation: EventReservationV3 {
            token: *r.token.as_bytes(),
            status: status_code(r.status),
            segments: r
                .segments
                .iter()
                .map(|s| SegmentV1 {
                    // Every name an event carries is one the book interned and never drops.
                    resource: ids.get(&*s.resource).copied().unwrap_or(u32::MAX),
                    start_ms: s.start_ms,
                    length_ms: s.end_ms - s.start_ms,
                })
                .collect(),
            call_id: r.call_id.as_deref().map(str::to_string),
            customer_phone: text(&r.customer_phone),
            service_id: text(&r.service_id),
            appointment_id: text(&r.appointment_id),
            cancel_reason: text(&r.cancel_reason),
            reserved_at_ms: r.reserved_at_ms,
            expires_at_ms: r.expires_at_ms,
            converted_at_ms: r.converted_at_ms,
            cancelled_at_ms: r.cancelled_at_ms,
            expired_at_ms: r.expired_at_ms,
        },
    }
}

/// The configuration part of the record (resources by the book's ids, which index its names).
fn config_to_v2(head: &ExportHead) -> CompanyConfigV2 {
    CompanyConfigV2 {
        settings: SettingsV2::from_core(&head.settings),
        resources: head
            .configs
            .iter()
            .map(|(id, config)| (*id, ResourceConfigV2::from_core(config)))
            .collect(),
        capacities: head
            .capacities
            .iter()
            .map(|state| CapacityV2 {
                resource: state.resource,
                capacity: state.capacity,
                ceiling: state.ceiling,
                set_at_seq: state.set_at_seq,
            })
            .collect(),
    }
}

/// A reservation in its on-disk form (its segments name the book's resource ids).
fn reservation_to_v1(r: &Reservation) -> ReservationV1 {
    ReservationV1 {
        token: *r.token.as_bytes(),
        seq: r.seq,
        status: status_code(r.status),
        segments: r
            .segments
            .iter()
            .map(|s| SegmentV1 {
                resource: s.resource,
                start_ms: s.start_ms,
                length_ms: s.end_ms - s.start_ms,
            })
            .collect(),
        call_id: r.call_id.as_deref().map(str::to_string),
        customer_phone: r.customer_phone.as_deref().map(str::to_string),
        service_id: r.service_id.as_deref().map(str::to_string),
        appointment_id: r.outcome().appointment_id.as_deref().map(str::to_string),
        cancel_reason: r.outcome().cancel_reason.as_deref().map(str::to_string),
        reserved_at_ms: r.reserved_at_ms,
        ttl_ms: r.expires_at_ms - r.reserved_at_ms,
        converted_at_ms: r.outcome().converted_at_ms,
        cancelled_at_ms: r.outcome().cancelled_at_ms,
        expired_at_ms: r.outcome().expired_at_ms,
    }
}

fn histogram_to_v1(histogram: &LazyHistogram) -> HistogramV1 {
    let buckets = histogram.histogram().map_or_else(Vec::new, |h| {
        h.iter_recorded()
            .map(|bucket| {
                (
                    bucket.value_iterated_to(),
                    u64::from(bucket.count_at_value()),
                )
            })
            .collect()
    });
    HistogramV1 { buckets }
}

fn metrics_to_v1(metrics: &Metrics) -> MetricsV1 {
    MetricsV1 {
        created_single: metrics.created_single,
        created_compound: metrics.created_compound,
        converted: metrics.converted,
        expired: metrics.expired,
        cancelled: metrics.cancelled,
        cancelled_by_reason: metrics
            .cancelled_by_reason
            .iter()
            .map(|(reason, count)| (reason.to_string(), *count))
            .collect(),
        errors_by_type: ErrorType::ALL
            .iter()
            .map(|t| (t.as_str().to_string(), metrics.errors_by_type[t.index()]))
            .collect(),
        confirm_attempts: metrics.confirm_attempts,
        confirm_successes: metrics.confirm_successes,
        requests: metrics.requests,
        time_to_conversion_ms: histogram_to_v1(&metrics.time_to_conversion_ms),
        expired_lifetime_ms: histogram_to_v1(&metrics.expired_lifetime_ms),
        hold_latency_micros: histogram_to_v1(&metrics.hold_latency_micros),
    }
}

/// Exports and encodes one company's book in one step (tools, tests and benches; the company
/// actor copies a chunk at a time, see `ExportSnapshot`).
pub fn export_encoded(book: &Book, last_lsn: u64) -> EncodedCompany {
    let mut export = CompanyExport::new(last_lsn, book.export_head());
    let mut bytes = Vec::new();
    for reservation in book.reservations() {
        encode_reservation(reservation, &mut bytes);
        export.reservations += 1;
    }
    export.chunks.push(bytes);
    export.encode()
}
