//! Snapshot files: one file holds every company's state at one moment.
//!
//! On disk a snapshot is a fixed 48-byte header followed by a bincode 2 body:
//!
//! | bytes | field | why |
//! |---|---|---|
//! | 0..8 | magic `HOLDSNAP` | tells a snapshot from any other file |
//! | 8..12 | format version, u32 LE | a newer file is refused, never misread |
//! | 12..16 | reserved, zero | room for flags without a version bump of the header |
//! | 16..24 | created at, i64 LE, ms since the epoch | for operators and `snapshot inspect` |
//! | 24..32 | sequence number, u64 LE | orders snapshots; newest first on restore |
//! | 32..40 | body length, u64 LE | a truncated file is found before decoding |
//! | 40..44 | CRC-32C of the body, u32 LE | a flipped bit is found before decoding |
//! | 44..48 | CRC-32C of bytes 0..44, u32 LE | a damaged header is told from a damaged body |
//!
//! The body is [`SnapshotV1`]: the covered log position (u64 LE), the number of companies (u32
//! LE), then each company as its length (u32 LE) and its bincode 2 [`CompanySnapshotV1`], so that
//! companies encode and decode on every core at once. The types of this module are the on-disk
//! format, versioned and converted by hand from the core's types, never derived on them, because
//! a derive on a live type changes the file format silently the day someone adds a field
//! (rust-analyzer's rule). A test pins the bytes of a fixed state: changing them needs a new
//! `SnapshotV2` and a version bump.
//!
//! Every check happens after reading and before anything is trusted: header checksum, length,
//! body checksum, decode, then the core's own restore checks (no overlap, no token twice).

use crate::core::book::{Book, ExportHead, IdempotencyRecord, Settings};
use crate::core::error::ErrorType;
use crate::core::metrics::{
    LazyHistogram, Metrics, HISTOGRAM_SIGNIFICANT_DIGITS, LATENCY_MICROS_HISTOGRAM_MAX,
    LIFETIME_MILLIS_HISTOGRAM_MAX,
};
use crate::core::reservation::{Outcome, Reservation, Segment, Status};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// First bytes of every snapshot file.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"HOLDSNAP";
/// The format this build writes, and the newest it reads.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;
/// Size of the fixed header, in bytes.
pub const SNAPSHOT_HEADER_BYTES: usize = 48;
/// Name of a snapshot file: `snapshot-<sequence, 20 digits>.bin`, so names sort by sequence.
pub const SNAPSHOT_PREFIX: &str = "snapshot-";
/// See [`SNAPSHOT_PREFIX`].
pub const SNAPSHOT_SUFFIX: &str = ".bin";
/// Suffix of a snapshot being written; renamed into place once synced.
pub const TEMPORARY_SUFFIX: &str = ".tmp";
/// Suffix given to a snapshot that did not verify; such files are kept for a human, never deleted.
pub const CORRUPT_SUFFIX: &str = ".corrupt";

/// The fixed header, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub format_version: u32,
    pub created_at_ms: i64,
    pub sequence: u64,
    pub body_bytes: u64,
    pub body_crc32c: u32,
}

/// Why a snapshot file was refused.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {0} bytes, shorter than the {SNAPSHOT_HEADER_BYTES}-byte header")]
    ShortHeader(usize),
    #[error("wrong magic: not a holdfast snapshot")]
    WrongMagic,
    #[error("the header's checksum does not match: the header is damaged")]
    HeaderChecksum,
    #[error(
        "written by snapshot format version {found}; this holdfast reads versions up to \
         {supported}: run a newer holdfast, or move the file out of the data directory"
    )]
    NewerVersion { found: u32, supported: u32 },
    #[error("unknown snapshot format version {0}")]
    UnknownVersion(u32),
    #[error("the body should be {expected} bytes but the file holds {actual}: truncated")]
    Truncated { expected: u64, actual: u64 },
    #[error("the body should be {expected} bytes but the file holds {actual}: trailing bytes")]
    TrailingBytes { expected: u64, actual: u64 },
    #[error("the body's checksum does not match: the body is damaged")]
    BodyChecksum,
    #[error("the body does not decode: {0}")]
    Decode(String),
    #[error("company {company}: {detail}")]
    Invalid { company: String, detail: String },
    #[error("reading the file failed: {0}")]
    Io(#[from] io::Error),
}

impl SnapshotError {
    /// Whether the file is damaged (and may be renamed `*.corrupt` and skipped), as opposed to
    /// written by a newer holdfast (which must stop start-up) or unreadable for now (I/O).
    pub fn is_corruption(&self) -> bool {
        !matches!(
            self,
            SnapshotError::NewerVersion { .. } | SnapshotError::Io(_)
        )
    }
}

// ----- the on-disk types, version 1 -------------------------------------------------------------

/// The body of a version 1 snapshot, decoded (on disk each company is framed on its own: see
/// [`encode_file`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotV1 {
    /// Every log record with a sequence number at or below this one is in the snapshot: log
    /// segments entirely at or below it may be removed once the snapshot is durable.
    pub covered_lsn: u64,
    /// Every company, sorted by id.
    pub companies: Vec<CompanySnapshotV1>,
}

/// One company's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanySnapshotV1 {
    pub company: String,
    /// The last log record this company applied; replay skips this company's records up to it.
    pub last_lsn: u64,
    /// Resource names, indexed by [`SegmentV1::resource`]: every name the company's book has
    /// interned, in the order it did (so an index is the book's own resource id).
    pub resources: Vec<String>,
    /// Every reservation, in no particular order (restore does not depend on it; the company's
    /// export writes them in the order it copies them).
    pub reservations: Vec<ReservationV1>,
    /// Remembered idempotency keys, oldest first.
    pub idempotency: Vec<IdempotencyV1>,
    pub metrics: MetricsV1,
}

/// A reservation. Times that are mostly close to another time are stored as differences, which
/// bincode's variable-length integers write in a few bytes instead of nine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationV1 {
    pub token: [u8; 16],
    pub seq: u64,
    /// 0 active, 1 converted, 2 expired, 3 cancelled.
    pub status: u8,
    pub segments: Vec<SegmentV1>,
    pub call_id: Option<String>,
    pub customer_phone: Option<String>,
    pub service_id: Option<String>,
    pub appointment_id: Option<String>,
    pub cancel_reason: Option<String>,
    pub reserved_at_ms: i64,
    /// `expires_at - reserved_at`.
    pub ttl_ms: i64,
    pub converted_at_ms: Option<i64>,
    pub cancelled_at_ms: Option<i64>,
    pub expired_at_ms: Option<i64>,
}

/// One segment: `[start_ms, start_ms + length_ms)` on `resources[resource]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentV1 {
    pub resource: u32,
    pub start_ms: i64,
    pub length_ms: i64,
}

/// One remembered idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyV1 {
    pub key: String,
    pub fingerprint: u64,
    pub token: [u8; 16],
    pub created_at_ms: i64,
}

/// The counters. Maps are lists of `(name, count)` by the API's names, so that a reordered enum
/// does not reorder the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsV1 {
    pub created_single: u64,
    pub created_compound: u64,
    pub converted: u64,
    pub expired: u64,
    pub cancelled: u64,
    pub cancelled_by_reason: Vec<(String, u64)>,
    pub errors_by_type: Vec<(String, u64)>,
    pub confirm_attempts: u64,
    pub confirm_successes: u64,
    pub requests: u64,
    pub time_to_conversion_ms: HistogramV1,
    pub expired_lifetime_ms: HistogramV1,
    pub hold_latency_micros: HistogramV1,
}

/// A histogram as its non-empty buckets: `(highest value of the bucket, count)`. Recording each
/// value back lands it in the same bucket, so quantiles survive exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramV1 {
    pub buckets: Vec<(u64, u64)>,
}

// ----- core -> on-disk --------------------------------------------------------------------------

fn status_code(status: Status) -> u8 {
    match status {
        Status::Active => 0,
        Status::Converted => 1,
        Status::Expired => 2,
        Status::Cancelled => 3,
    }
}

fn status_from_code(code: u8) -> Option<Status> {
    match code {
        0 => Some(Status::Active),
        1 => Some(Status::Converted),
        2 => Some(Status::Expired),
        3 => Some(Status::Cancelled),
        _ => None,
    }
}

/// One company's record under construction: the head (everything but the reservations) copied
/// when the export began, then the reservations a chunk at a time, each encoded straight into
/// its on-disk bytes as it is copied (no owned copy of its strings is made). The company actor
/// drives it ([`CompanyExport::begin`], [`CompanyExport::copy_chunk`] between its messages);
/// [`CompanyExport::encode`] assembles the record's bytes off the actor. The bytes are exactly
/// those of the [`CompanySnapshotV1`] holding the same reservations in the same order (a test
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
    /// bytes, idempotency keys, counters, as bincode encodes a [`CompanySnapshotV1`]. Runs off
    /// the actor.
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
pub fn export_company(book: &Book, last_lsn: u64) -> CompanySnapshotV1 {
    let head = book.export_head();
    CompanySnapshotV1 {
        company: head.company.to_string(),
        last_lsn,
        resources: head.resource_names.iter().map(|n| n.to_string()).collect(),
        reservations: book.reservations().map(reservation_to_v1).collect(),
        idempotency: idempotency_to_v1(&head),
        metrics: metrics_to_v1(&head.metrics),
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

// ----- on-disk -> core --------------------------------------------------------------------------

/// Rebuilds a company's book from its record, with today's settings. Every reservation goes
/// through the core's restore checks, so a record that would overlap or reuse a token is refused.
/// The record is consumed: its decoded strings become the book's, without a copy.
pub fn restore_company(record: CompanySnapshotV1, settings: &Settings) -> Result<Book, String> {
    crate::core::command::validate_id("company", &record.company).map_err(|e| e.to_string())?;
    let mut book = Book::new(record.company.as_str(), settings.clone());
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
    Ok(book)
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

// ----- bytes ------------------------------------------------------------------------------------

/// The bincode configuration of every body: little-endian, variable-length integers.
fn bincode_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// One company's record, encoded. A company actor copies its book a chunk at a time
/// ([`CompanyExport`]) and the copy is encoded off the actor, many companies at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedCompany {
    pub company: String,
    pub reservations: usize,
    pub bytes: Vec<u8>,
}

/// Encodes one company's record.
pub fn encode_company(record: &CompanySnapshotV1) -> EncodedCompany {
    let bytes = bincode::serde::encode_to_vec(record, bincode_config())
        .expect("encoding a snapshot record into memory cannot fail");
    EncodedCompany {
        company: record.company.clone(),
        reservations: record.reservations.len(),
        bytes,
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

/// Size of the body's fixed start: covered LSN (u64) and company count (u32).
const BODY_PREFIX_BYTES: usize = 12;
/// Size of the length in front of each company's record (u32).
const FRAME_LENGTH_BYTES: usize = 4;

/// The whole file: header, then the body `[covered LSN u64][company count u32]` and each
/// company as `[length u32][bincode CompanySnapshotV1]`. Companies are framed one by one so
/// that restore decodes them on every core at once, each next to its rebuild.
pub fn encode_file(
    covered_lsn: u64,
    companies: &[EncodedCompany],
    created_at_ms: i64,
    sequence: u64,
) -> Vec<u8> {
    let body_len: usize = BODY_PREFIX_BYTES
        + companies
            .iter()
            .map(|c| FRAME_LENGTH_BYTES + c.bytes.len())
            .sum::<usize>();
    let mut bytes = Vec::with_capacity(SNAPSHOT_HEADER_BYTES + body_len);
    bytes.resize(SNAPSHOT_HEADER_BYTES, 0);
    bytes.extend_from_slice(&covered_lsn.to_le_bytes());
    bytes.extend_from_slice(&(companies.len() as u32).to_le_bytes());
    for company in companies {
        bytes.extend_from_slice(&(company.bytes.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&company.bytes);
    }
    let header = SnapshotHeader {
        format_version: SNAPSHOT_FORMAT_VERSION,
        created_at_ms,
        sequence,
        body_bytes: body_len as u64,
        body_crc32c: crc32c::crc32c(&bytes[SNAPSHOT_HEADER_BYTES..]),
    };
    bytes[..SNAPSHOT_HEADER_BYTES].copy_from_slice(&encode_header(&header));
    bytes
}

/// The whole file for `body` (tests, benches and tools; the server encodes per company).
pub fn encode(body: &SnapshotV1, created_at_ms: i64, sequence: u64) -> Vec<u8> {
    let companies: Vec<EncodedCompany> = body.companies.iter().map(encode_company).collect();
    encode_file(body.covered_lsn, &companies, created_at_ms, sequence)
}

fn encode_header(header: &SnapshotHeader) -> [u8; SNAPSHOT_HEADER_BYTES] {
    let mut bytes = [0u8; SNAPSHOT_HEADER_BYTES];
    bytes[0..8].copy_from_slice(&SNAPSHOT_MAGIC);
    bytes[8..12].copy_from_slice(&header.format_version.to_le_bytes());
    bytes[16..24].copy_from_slice(&header.created_at_ms.to_le_bytes());
    bytes[24..32].copy_from_slice(&header.sequence.to_le_bytes());
    bytes[32..40].copy_from_slice(&header.body_bytes.to_le_bytes());
    bytes[40..44].copy_from_slice(&header.body_crc32c.to_le_bytes());
    let header_crc32c = crc32c::crc32c(&bytes[..44]);
    bytes[44..48].copy_from_slice(&header_crc32c.to_le_bytes());
    bytes
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Reads and checks the header: magic, header checksum, version, and that the file holds exactly
/// the body the header announces. Does not look at the body's bytes.
pub fn decode_header(bytes: &[u8]) -> Result<SnapshotHeader, SnapshotError> {
    if bytes.is_empty() {
        return Err(SnapshotError::Empty);
    }
    if bytes.len() < SNAPSHOT_MAGIC.len() || bytes[..SNAPSHOT_MAGIC.len()] != SNAPSHOT_MAGIC {
        return Err(SnapshotError::WrongMagic);
    }
    if bytes.len() < SNAPSHOT_HEADER_BYTES {
        return Err(SnapshotError::ShortHeader(bytes.len()));
    }
    if crc32c::crc32c(&bytes[..44]) != le_u32(bytes, 44) {
        return Err(SnapshotError::HeaderChecksum);
    }
    let header = SnapshotHeader {
        format_version: le_u32(bytes, 8),
        created_at_ms: le_u64(bytes, 16) as i64,
        sequence: le_u64(bytes, 24),
        body_bytes: le_u64(bytes, 32),
        body_crc32c: le_u32(bytes, 40),
    };
    if header.format_version > SNAPSHOT_FORMAT_VERSION {
        return Err(SnapshotError::NewerVersion {
            found: header.format_version,
            supported: SNAPSHOT_FORMAT_VERSION,
        });
    }
    if header.format_version != SNAPSHOT_FORMAT_VERSION {
        return Err(SnapshotError::UnknownVersion(header.format_version));
    }
    let actual = (bytes.len() - SNAPSHOT_HEADER_BYTES) as u64;
    if actual < header.body_bytes {
        return Err(SnapshotError::Truncated {
            expected: header.body_bytes,
            actual,
        });
    }
    if actual > header.body_bytes {
        return Err(SnapshotError::TrailingBytes {
            expected: header.body_bytes,
            actual,
        });
    }
    Ok(header)
}

/// A body whose checksum verified, split into its companies' records (not yet decoded).
#[derive(Debug)]
pub struct VerifiedBody<'a> {
    pub covered_lsn: u64,
    pub companies: Vec<&'a [u8]>,
}

/// Checks the header and the body's checksum, and splits the body into company records.
pub fn verify(bytes: &[u8]) -> Result<(SnapshotHeader, VerifiedBody<'_>), SnapshotError> {
    let header = decode_header(bytes)?;
    let body = &bytes[SNAPSHOT_HEADER_BYTES..];
    if crc32c::crc32c(body) != header.body_crc32c {
        return Err(SnapshotError::BodyChecksum);
    }
    if body.len() < BODY_PREFIX_BYTES {
        return Err(SnapshotError::Decode("body shorter than its prefix".into()));
    }
    let covered_lsn = le_u64(body, 0);
    let count = le_u32(body, 8) as usize;
    if count > crate::limits::COMPANIES_MAX {
        return Err(SnapshotError::Decode(format!("{count} companies")));
    }
    let mut companies = Vec::with_capacity(count);
    let mut at = BODY_PREFIX_BYTES;
    for index in 0..count {
        let frame_len = body
            .get(at..at + FRAME_LENGTH_BYTES)
            .map(|_| le_u32(body, at) as usize)
            .ok_or_else(|| SnapshotError::Decode(format!("company #{index}: no length")))?;
        at += FRAME_LENGTH_BYTES;
        let frame = body
            .get(at..at + frame_len)
            .ok_or_else(|| SnapshotError::Decode(format!("company #{index}: past the end")))?;
        companies.push(frame);
        at += frame_len;
    }
    if at != body.len() {
        return Err(SnapshotError::Decode(format!(
            "{} bytes after the last company",
            body.len() - at
        )));
    }
    Ok((
        header,
        VerifiedBody {
            covered_lsn,
            companies,
        },
    ))
}

/// Decodes one company's record from its frame.
pub fn decode_company(frame: &[u8]) -> Result<CompanySnapshotV1, SnapshotError> {
    let (record, read): (CompanySnapshotV1, usize) =
        bincode::serde::decode_from_slice(frame, bincode_config())
            .map_err(|e| SnapshotError::Decode(e.to_string()))?;
    if read != frame.len() {
        return Err(SnapshotError::Decode(format!(
            "company {}: {} bytes left after its record",
            record.company,
            frame.len() - read
        )));
    }
    Ok(record)
}

/// Checks and decodes a whole file. Does not run the core's restore checks (see
/// [`restore_company`]).
pub fn decode(bytes: &[u8]) -> Result<(SnapshotHeader, SnapshotV1), SnapshotError> {
    let (header, body) = verify(bytes)?;
    let companies = body
        .companies
        .iter()
        .map(|frame| decode_company(frame))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        header,
        SnapshotV1 {
            covered_lsn: body.covered_lsn,
            companies,
        },
    ))
}

// ----- files ------------------------------------------------------------------------------------

/// The file name of snapshot `sequence`.
pub fn file_name(sequence: u64) -> String {
    format!("{SNAPSHOT_PREFIX}{sequence:020}{SNAPSHOT_SUFFIX}")
}

/// The sequence number in a snapshot's file name (`None` for any other file).
pub fn sequence_of(name: &str) -> Option<u64> {
    name.strip_prefix(SNAPSHOT_PREFIX)?
        .strip_suffix(SNAPSHOT_SUFFIX)?
        .parse()
        .ok()
}

/// Snapshot files in `dir`, newest (highest sequence) first.
pub fn list(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if let Some(sequence) = name.to_str().and_then(sequence_of) {
            found.push((sequence, entry.path()));
        }
    }
    found.sort_unstable_by_key(|(sequence, _)| std::cmp::Reverse(*sequence));
    Ok(found)
}

/// The highest sequence number used by any file in `dir`, corrupt ones included, so that a new
/// snapshot never takes the name of an old one.
pub fn highest_sequence(dir: &Path) -> io::Result<u64> {
    let mut highest = 0;
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        let base = name
            .strip_suffix(CORRUPT_SUFFIX)
            .or_else(|| name.strip_suffix(TEMPORARY_SUFFIX))
            .unwrap_or(name);
        if let Some(sequence) = sequence_of(base) {
            highest = highest.max(sequence);
        }
    }
    Ok(highest)
}

/// Syncs a directory, so that a rename or a new file in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` as snapshot `sequence` in `dir`: temporary file, sync, rename, sync the
/// directory. Returns the final path. A crash at any point leaves either no new snapshot or a
/// complete one.
pub fn write_file(dir: &Path, sequence: u64, bytes: &[u8]) -> io::Result<PathBuf> {
    let path = dir.join(file_name(sequence));
    let temporary = dir.join(format!("{}{TEMPORARY_SUFFIX}", file_name(sequence)));
    {
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&temporary, &path)?;
    sync_dir(dir)?;
    Ok(path)
}

/// Renames a snapshot that did not verify to `<name>.corrupt`, keeping it for a human.
pub fn quarantine(path: &Path) -> io::Result<PathBuf> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(CORRUPT_SUFFIX);
    let target = path.with_file_name(name);
    fs::rename(path, &target)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(target)
}

/// Deletes all but the newest `keep` verified snapshot files (never `*.corrupt` ones). Returns
/// the sequence number of the oldest snapshot kept, if any.
pub fn prune(dir: &Path, keep: usize) -> io::Result<Option<u64>> {
    let snapshots = list(dir)?;
    let keep = keep.max(1);
    for (_, path) in snapshots.iter().skip(keep) {
        fs::remove_file(path)?;
    }
    Ok(snapshots.iter().take(keep).next_back().map(|(seq, _)| *seq))
}

/// Deletes temporary files left by a crash during a snapshot write: they were never renamed into
/// place, so they never were snapshots. Returns their names for the log.
pub fn remove_temporaries(dir: &Path) -> io::Result<Vec<String>> {
    let mut removed = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with(SNAPSHOT_PREFIX) && name.ends_with(TEMPORARY_SUFFIX) {
            fs::remove_file(entry.path())?;
            removed.push(name);
        }
    }
    Ok(removed)
}

/// Counts of one company's reservations by stored status, for `snapshot inspect`.
pub fn status_counts(company: &CompanySnapshotV1) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for status in [
        Status::Active,
        Status::Converted,
        Status::Expired,
        Status::Cancelled,
    ] {
        counts.insert(status.as_str(), 0);
    }
    for reservation in &company.reservations {
        let name = status_from_code(reservation.status).map_or("unknown", Status::as_str);
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::command::{HoldOptions, HoldRequest, HoldTarget, SegmentRequest, Segments};

    const BASE_MS: i64 = 1_798_761_600_000;

    /// A fixed snapshot body written out by hand, so that the pinned bytes depend on the format
    /// alone (not on how the core fingerprints requests or orders its maps).
    fn fixed_body() -> SnapshotV1 {
        SnapshotV1 {
            covered_lsn: 42,
            companies: vec![CompanySnapshotV1 {
                company: "acme".into(),
                last_lsn: 41,
                resources: vec!["chair-1".into(), "room-2".into()],
                reservations: vec![
                    ReservationV1 {
                        token: [1; 16],
                        seq: 0,
                        status: 1,
                        segments: vec![SegmentV1 {
                            resource: 0,
                            start_ms: BASE_MS,
                            length_ms: 1_800_000,
                        }],
                        call_id: Some("call-1".into()),
                        customer_phone: Some("+4915112345678".into()),
                        service_id: None,
                        appointment_id: Some("A-17".into()),
                        cancel_reason: None,
                        reserved_at_ms: BASE_MS - 60_000,
                        ttl_ms: 300_000,
                        converted_at_ms: Some(BASE_MS - 30_000),
                        cancelled_at_ms: None,
                        expired_at_ms: None,
                    },
                    ReservationV1 {
                        token: [2; 16],
                        seq: 1,
                        status: 3,
                        segments: vec![
                            SegmentV1 {
                                resource: 0,
                                start_ms: BASE_MS + 3_600_000,
                                length_ms: 900_000,
                            },
                            SegmentV1 {
                                resource: 1,
                                start_ms: BASE_MS + 4_500_000,
                                length_ms: 900_000,
                            },
                        ],
                        call_id: None,
                        customer_phone: None,
                        service_id: Some("svc-1".into()),
                        appointment_id: None,
                        cancel_reason: Some("customer_hung_up".into()),
                        reserved_at_ms: BASE_MS,
                        ttl_ms: 120_000,
                        converted_at_ms: None,
                        cancelled_at_ms: Some(BASE_MS + 10_000),
                        expired_at_ms: None,
                    },
                ],
                idempotency: vec![IdempotencyV1 {
                    key: "key-1".into(),
                    fingerprint: 0x0123_4567_89ab_cdef,
                    token: [1; 16],
                    created_at_ms: BASE_MS - 60_000,
                }],
                metrics: MetricsV1 {
                    created_single: 1,
                    created_compound: 1,
                    converted: 1,
                    expired: 0,
                    cancelled: 1,
                    cancelled_by_reason: vec![("customer_hung_up".into(), 1)],
                    errors_by_type: vec![("conflict".into(), 3)],
                    confirm_attempts: 1,
                    confirm_successes: 1,
                    requests: 9,
                    time_to_conversion_ms: HistogramV1 {
                        buckets: vec![(30_015, 1)],
                    },
                    expired_lifetime_ms: HistogramV1::default(),
                    hold_latency_micros: HistogramV1 {
                        buckets: vec![(12, 1), (40, 1)],
                    },
                },
            }],
        }
    }

    /// Goal: the bytes of a fixed state never change without a version bump. If this fails
    /// because the on-disk types changed, add `SnapshotV2`, bump `SNAPSHOT_FORMAT_VERSION`, keep
    /// reading version 1, and pin the new bytes in a new test: old files must stay readable.
    #[test]
    fn golden_bytes_of_a_fixed_snapshot_are_pinned() {
        let bytes = encode(&fixed_body(), BASE_MS, 7);
        assert_eq!(SNAPSHOT_FORMAT_VERSION, 1);
        assert_eq!(
            (bytes.len(), crc32c::crc32c(&bytes)),
            (GOLDEN_LEN, GOLDEN_CRC32C),
            "snapshot bytes changed without a format version bump"
        );
        let (header, body) = decode(&bytes).expect("the golden file decodes");
        assert_eq!(header.sequence, 7);
        assert_eq!(header.created_at_ms, BASE_MS);
        assert_eq!(body, fixed_body());
    }

    const GOLDEN_LEN: usize = 372;
    const GOLDEN_CRC32C: u32 = 1_906_317_224;

    fn hold(book: &mut Book, n: u128, segments: &[(&str, i64, i64)], now_ms: i64) -> Uuid {
        let token = Uuid::from_u128(n);
        let segments = segments
            .iter()
            .map(|(resource, start, end)| SegmentRequest::new(*resource, *start, *end).unwrap())
            .collect();
        let options = HoldOptions::default()
            .with_call_id(format!("call-{n}"))
            .and_then(|o| o.with_customer_phone("+4915112345678"))
            .and_then(|o| o.with_idempotency_key(format!("key-{n}")))
            .unwrap();
        let target = HoldTarget::Segments(Segments::new(segments).unwrap());
        let request = HoldRequest::with_options(target, options);
        let idempotency = crate::durability::fingerprint::idempotency_of(&request);
        book.hold(request, idempotency, token, now_ms)
            .expect("hold succeeds");
        token
    }

    /// A book with a booking, a cancelled compound hold, an expired hold and an active one, each
    /// made with an idempotency key; answers it with the four tokens.
    fn rich_book(settings: &Settings) -> (Book, [Uuid; 4]) {
        let mut book = Book::new("acme", settings.clone());
        let now = BASE_MS;
        let a = hold(
            &mut book,
            1,
            &[("r1", now + 3_600_000, now + 5_400_000)],
            now,
        );
        let b = hold(
            &mut book,
            2,
            &[
                ("r1", now + 7_200_000, now + 8_100_000),
                ("r2", now + 8_100_000, now + 9_000_000),
            ],
            now + 1_000,
        );
        let c = hold(&mut book, 3, &[("r3", now, now + 900_000)], now + 2_000);
        let d = hold(&mut book, 4, &[("r4", now, now + 900_000)], now + 3_000);
        book.confirm(a, Some("A-17".into()), now + 20_000).unwrap();
        book.cancel(b, Some("customer_hung_up".into()), now + 21_000)
            .unwrap();
        book.expire_due(&[c], now + 400_000);
        (book, [a, b, c, d])
    }

    /// Goal: the company actor's export, encoded a reservation at a time and assembled by hand,
    /// is byte for byte bincode's encoding of the same record as a value, so one decoder reads
    /// both; here for a rich book, one with a resource no reservation uses any more, and an
    /// empty one.
    #[test]
    fn an_assembled_export_is_bincodes_bytes_of_the_record() {
        let settings = Settings {
            retention_seconds: 1,
            ..Settings::default()
        };
        let (mut book, _) = rich_book(&settings);
        let check = |book: &Book| {
            let assembled = export_encoded(book, 42);
            let record = export_company(book, 42);
            assert_eq!(assembled, encode_company(&record));
            assert_eq!(decode_company(&assembled.bytes).unwrap(), record);
        };
        check(&book);
        // The cancelled hold was the last on "r2": dropping it leaves the name unused.
        book.housekeeping(BASE_MS + 3_600_000);
        assert!(book.len() < 4);
        check(&book);
        check(&Book::new("empty", settings));
    }

    /// Goal: a book exported and restored answers every read exactly as before: statuses,
    /// times, strings, idempotency keys, metrics (histograms included) and conflicts.
    #[test]
    fn export_then_restore_keeps_every_field() {
        let settings = Settings::default();
        let (mut book, [a, b, c, d]) = rich_book(&settings);
        let now = BASE_MS;
        let exported = export_company(&book, 99);
        let restored = restore_company(exported.clone(), &settings).expect("restores");
        assert_eq!(export_company(&restored, 99), exported);
        assert_eq!(restored.log_position(), 99);
        let mut restored = restored;
        let later = now + 400_000;
        for token in [a, b, c, d] {
            assert_eq!(book.get(token, later), restored.get(token, later));
        }
        assert_eq!(
            book.metrics_report().time_to_conversion_seconds,
            restored.metrics_report().time_to_conversion_seconds
        );
        assert_eq!(
            book.metrics_report().cancelled_by_reason,
            restored.metrics_report().cancelled_by_reason
        );
        // The booking still blocks its slot; the idempotency key still replays.
        let again = hold(
            &mut restored,
            1,
            &[("r1", now + 3_600_000, now + 5_400_000)],
            later,
        );
        assert_eq!(again, a, "the idempotency key answers the first token");
        restored.check_invariants(later).unwrap();
    }

    /// Goal: a restore refuses a record whose live reservations overlap, instead of serving a
    /// double booking.
    #[test]
    fn restore_refuses_overlapping_live_reservations() {
        let mut body = fixed_body();
        let company = &mut body.companies[0];
        company.reservations[1].status = 1;
        company.reservations[1].segments[0].start_ms = BASE_MS + 60_000;
        let error = restore_company(company.clone(), &Settings::default()).unwrap_err();
        assert!(error.contains("overlaps"), "{error}");
    }

    /// Goal: a body whose checksum matches but whose framing is wrong (a company count or a
    /// length that runs past the end) is refused, not read out of bounds.
    #[test]
    fn bad_framing_behind_a_good_checksum_is_refused() {
        let good = encode(&fixed_body(), BASE_MS, 7);
        let reframe = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut bytes = good.clone();
            edit(&mut bytes);
            let body_crc = crc32c::crc32c(&bytes[SNAPSHOT_HEADER_BYTES..]);
            let header = SnapshotHeader {
                format_version: SNAPSHOT_FORMAT_VERSION,
                created_at_ms: BASE_MS,
                sequence: 7,
                body_bytes: (bytes.len() - SNAPSHOT_HEADER_BYTES) as u64,
                body_crc32c: body_crc,
            };
            bytes[..SNAPSHOT_HEADER_BYTES].copy_from_slice(&encode_header(&header));
            decode(&bytes)
        };
        let count_at = SNAPSHOT_HEADER_BYTES + 8;
        let too_many = reframe(&|b| b[count_at..count_at + 4].copy_from_slice(&2u32.to_le_bytes()));
        assert!(
            matches!(too_many, Err(SnapshotError::Decode(_))),
            "{too_many:?}"
        );
        let length_at = SNAPSHOT_HEADER_BYTES + BODY_PREFIX_BYTES;
        let too_long =
            reframe(&|b| b[length_at..length_at + 4].copy_from_slice(&u32::MAX.to_le_bytes()));
        assert!(
            matches!(too_long, Err(SnapshotError::Decode(_))),
            "{too_long:?}"
        );
        let extra = reframe(&|b| b.push(0));
        assert!(matches!(extra, Err(SnapshotError::Decode(_))), "{extra:?}");
    }

    /// Goal: each kind of damage is told apart before anything is decoded.
    #[test]
    fn damaged_files_are_refused_with_their_reason() {
        let good = encode(&fixed_body(), BASE_MS, 7);
        assert!(matches!(decode(&[]), Err(SnapshotError::Empty)));
        let mut wrong_magic = good.clone();
        wrong_magic[0] = b'X';
        assert!(matches!(
            decode(&wrong_magic),
            Err(SnapshotError::WrongMagic)
        ));
        assert!(matches!(
            decode(&good[..good.len() - 1]),
            Err(SnapshotError::Truncated { .. })
        ));
        assert!(matches!(
            decode(&good[..20]),
            Err(SnapshotError::ShortHeader(20))
        ));
        let mut flipped = good.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 0x40;
        assert!(matches!(decode(&flipped), Err(SnapshotError::BodyChecksum)));
        let mut header_flip = good.clone();
        header_flip[30] ^= 1;
        assert!(matches!(
            decode(&header_flip),
            Err(SnapshotError::HeaderChecksum)
        ));
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(
            decode(&trailing),
            Err(SnapshotError::TrailingBytes { .. })
        ));
        let mut newer = good.clone();
        newer[8..12].copy_from_slice(&2u32.to_le_bytes());
        let crc = crc32c::crc32c(&newer[..44]);
        newer[44..48].copy_from_slice(&crc.to_le_bytes());
        let error = decode(&newer).unwrap_err();
        assert!(matches!(
            error,
            SnapshotError::NewerVersion { found: 2, .. }
        ));
        assert!(!error.is_corruption(), "a newer file is not corrupt");
    }
}
