//! The shapes of the wire: raw request bodies and query strings close to what callers send, the
//! validated core commands they become, and the response bodies.
//!
//! Parsing is in two stages (ripgrep's habit). Stage one is serde (bodies, with
//! `deny_unknown_fields` and strict [`Instant`]s) or [`QueryPairs`] (query strings, strict
//! percent-decoding into UTF-8): it fails on anything that is not the right shape, naming the
//! field. Stage two builds the core command (`HoldRequest`, `ListFilter`, `AvailabilityRequest`)
//! from the raw form through the core's checking constructors, so a request that breaks a limit
//! is refused here with the core's own words, before it costs the company's actor a message. A
//! command cannot be built invalid, so the `Book` takes it as it is.
//!
//! Response types borrow nothing and copy little: they take the view's shared strings and write
//! instants straight into the output.

use crate::core::book::{CompanyCounts, ResourceSlots};
use crate::core::command::{
    AvailabilityRequest, FindRequest, HoldOptions, HoldRequest, HoldTarget, ListFilter,
    SegmentRequest, Segments,
};
use crate::core::error::BookError;
use crate::core::metrics::{Criterion, DurationSummary, MetricsReport};
use crate::core::reservation::{ReservationView, SegmentView, Status};
use crate::http::time::{parse_rfc3339_millis, Instant};
use crate::limits;
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

// ----- request bodies -----------------------------------------------------------------------

/// A struct that must arrive as a JSON object. serde's derived structs also accept the
/// positional form (`[300]` for `{"ttl_seconds": 300}`), which is exactly the guessing a strict
/// API refuses; this wrapper asks the deserializer for a map only, then lets the derive (with
/// its `deny_unknown_fields`) read that map.
#[derive(Debug)]
pub struct ObjectOnly<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapOnly<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for MapOnly<T> {
            type Value = T;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(MapOnly(std::marker::PhantomData))
            .map(ObjectOnly)
    }
}

fn segments_as_objects<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<SegmentBody>>, D::Error> {
    let segments = Option::<Vec<ObjectOnly<SegmentBody>>>::deserialize(deserializer)?;
    Ok(segments.map(|segments| segments.into_iter().map(|s| s.0).collect()))
}

fn find_as_object<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<FindBody>, D::Error> {
    Ok(Option::<ObjectOnly<FindBody>>::deserialize(deserializer)?.map(|find| find.0))
}

/// One interval `[start, end)` on one resource.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentBody {
    #[schema(example = "staff-7")]
    pub resource: String,
    #[schema(value_type = String, format = DateTime, example = "2026-12-01T10:00:00Z")]
    pub start: Instant,
    #[schema(value_type = String, format = DateTime, example = "2026-12-01T10:30:00Z")]
    pub end: Instant,
}

/// A first-available search: the earliest start, stepping from `earliest`, at which one of
/// `resources` is free for `duration_seconds` (ties go to the resource listed first).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindBody {
    pub resources: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub earliest: Instant,
    #[schema(value_type = String, format = DateTime)]
    pub latest: Instant,
    #[schema(example = 1800)]
    pub duration_seconds: i64,
    /// Default: `duration_seconds`.
    #[schema(example = 900)]
    pub step_seconds: Option<i64>,
}

/// `POST /holds`: exactly one of `resource`+`start`+`end`, `segments`, or `find`, plus the
/// shared fields.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    pub resource: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub start: Option<Instant>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub end: Option<Instant>,
    /// 1 to 16 segments, no two overlapping on one resource; all are held or none.
    #[serde(default, deserialize_with = "segments_as_objects")]
    pub segments: Option<Vec<SegmentBody>>,
    #[serde(default, deserialize_with = "find_as_object")]
    pub find: Option<FindBody>,
    /// Default 300, 1 to 3600.
    pub ttl_seconds: Option<i64>,
    pub call_id: Option<String>,
    /// `+` and 6 to 15 digits.
    pub customer_phone: Option<String>,
    pub service_id: Option<String>,
    /// With `call_id`: cancel the call's other active holds (reason `replaced`) in the same
    /// step, only if this hold succeeds.
    pub replace_call_holds: Option<bool>,
}

/// `POST /holds/{token}/confirm` (the body is optional).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// Default: the token.
    #[schema(example = "A-17")]
    pub appointment_id: Option<String>,
}

/// `POST /holds/{token}/extend` (the body is optional).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    /// New `expires_at` = now + this; default 300, 1 to 3600.
    #[schema(example = 300)]
    pub ttl_seconds: Option<i64>,
}

/// Seconds to milliseconds; an overflow saturates, and the core's range check refuses it.
fn millis_of(seconds: i64) -> i64 {
    seconds.saturating_mul(1_000)
}

/// The target of a hold body, once its form is known.
enum TargetBody {
    Single(SegmentBody),
    Segments(Vec<SegmentBody>),
    Find(FindBody),
}

impl HoldBody {
    /// Stage two: the checked core command. The parts are checked in the order the API has
    /// always named the first fault in: the form, the single form's required fields, the
    /// options, then the target.
    pub fn into_request(self, idempotency_key: Option<String>) -> Result<HoldRequest, BookError> {
        let single = self.resource.is_some() || self.start.is_some() || self.end.is_some();
        let target = match (single, self.segments, self.find) {
            (true, None, None) => TargetBody::Single(SegmentBody {
                resource: self.resource.ok_or_else(|| required("resource"))?,
                start: self.start.ok_or_else(|| required("start"))?,
                end: self.end.ok_or_else(|| required("end"))?,
            }),
            (false, Some(segments), None) => TargetBody::Segments(segments),
            (false, None, Some(find)) => TargetBody::Find(find),
            _ => {
                return Err(BookError::invalid(
                    "body",
                    "must give exactly one of: resource with start and end, segments, find",
                ))
            }
        };
        let mut options = HoldOptions::default();
        if let Some(ttl_seconds) = self.ttl_seconds {
            options = options.with_ttl_seconds(ttl_seconds)?;
        }
        if let Some(call_id) = self.call_id {
            options = options.with_call_id(call_id)?;
        }
        if let Some(customer_phone) = self.customer_phone {
            options = options.with_customer_phone(customer_phone)?;
        }
        if let Some(service_id) = self.service_id {
            options = options.with_service_id(service_id)?;
        }
        options = options.replacing_call_holds(self.replace_call_holds.unwrap_or(false));
        if let Some(key) = idempotency_key {
            options = options.with_idempotency_key(key)?;
        }
        let segment = |s: SegmentBody| SegmentRequest::new(s.resource, s.start.0, s.end.0);
        let target = match target {
            // Faults named as the caller sent them: `start`, not `segments[0].start`.
            TargetBody::Single(s) => HoldTarget::single(s.resource, s.start.0, s.end.0)?,
            TargetBody::Segments(bodies) => {
                HoldTarget::Segments(Segments::collect(bodies.into_iter().map(segment))?)
            }
            TargetBody::Find(find) => HoldTarget::Find(FindRequest::new(
                find.resources,
                find.earliest.0,
                find.latest.0,
                millis_of(find.duration_seconds),
                millis_of(find.step_seconds.unwrap_or(find.duration_seconds)),
            )?),
        };
        Ok(HoldRequest::with_options(target, options))
    }
}

fn required(field: &str) -> BookError {
    BookError::invalid(field, "is required")
}

// ----- query strings ------------------------------------------------------------------------

/// A query string split into decoded `(name, value)` pairs, strictly: `+` is a space, `%XX` must
/// be valid and the result valid UTF-8 (a lossy decoder would turn bad bytes into U+FFFD and
/// carry on), at most `limits::QUERY_PAIRS_MAX` pairs.
#[derive(Debug, Default)]
pub struct QueryPairs<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

fn decode_component<'a>(field: &str, raw: &'a str) -> Result<Cow<'a, str>, BookError> {
    let bad = || BookError::invalid(field, "is not valid percent-encoded UTF-8");
    if !raw.contains(['%', '+']) {
        return Ok(Cow::Borrowed(raw));
    }
    // `percent_decode` would pass a malformed escape (`%zz`, a trailing `%`) through as-is, and
    // a free text such as `call_id` would then take it at face value: refuse it instead.
    let escapes_ok = raw.match_indices('%').all(|(at, _)| {
        raw.as_bytes()
            .get(at + 1..at + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !escapes_ok {
        return Err(bad());
    }
    let spaced = raw.replace('+', " ");
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    String::from_utf8(bytes).map(Cow::Owned).map_err(|_| bad())
}

/// A field name taken from a caller, shortened so an error cannot echo a huge query back.
fn echo(name: &str) -> String {
    name.chars().take(limits::ID_BYTES_MAX).collect()
}

impl<'a> QueryPairs<'a> {
    /// Splits and decodes `raw` (the part after `?`).
    pub fn parse(raw: &'a str) -> Result<QueryPairs<'a>, BookError> {
        let mut pairs = Vec::new();
        for piece in raw.split('&').filter(|piece| !piece.is_empty()) {
            if pairs.len() == limits::QUERY_PAIRS_MAX {
                return Err(BookError::invalid(
                    "query",
                    format!("must have at most {} parameters", limits::QUERY_PAIRS_MAX),
                ));
            }
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            let name = decode_component("query", name)?;
            let value = decode_component(&echo(&name), value)?;
            pairs.push((name, value));
        }
        Ok(QueryPairs { pairs })
    }

    /// Every pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }
}

/// Stores `value` for `field`, refusing a second occurrence (which one would win is a guess).
fn once<'v>(slot: &mut Option<&'v str>, field: &str, value: &'v str) -> Result<(), BookError> {
    if slot.replace(value).is_some() {
        return Err(BookError::invalid(field, "must appear at most once"));
    }
    Ok(())
}

fn unknown_parameter(name: &str) -> BookError {
    BookError::invalid(echo(name), "is not a parameter of this request")
}

fn parse_time(field: &str, value: &str) -> Result<i64, BookError> {
    parse_rfc3339_millis(value).map_err(|error| BookError::invalid(field, error.0))
}

fn parse_seconds(field: &str, value: &str) -> Result<i64, BookError> {
    value
        .parse::<i64>()
        .map(millis_of)
        .map_err(|_| BookError::invalid(field, "must be a whole number of seconds"))
}

/// `GET /holds` query parameters; they combine with AND.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub call_id: Option<String>,
    /// `active`, `converted`, `expired` or `cancelled`.
    #[param(inline)]
    pub status: Option<StatusDto>,
    /// Reservations with a segment on this resource (inside `from`/`to` when given).
    pub resource: Option<String>,
    /// Reservations with a segment ending after this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<String>,
    /// Reservations with a segment starting before this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<String>,
    /// Default 100, at most 1000; newest first.
    pub limit: Option<usize>,
}

impl ListQuery {
    /// Both stages: the query string to a validated filter.
    pub fn filter(raw: &str) -> Result<ListFilter, BookError> {
        let pairs = QueryPairs::parse(raw)?;
        let (mut call_id, mut status, mut resource) = (None, None, None);
        let (mut from, mut to, mut limit) = (None, None, None);
        for (name, value) in pairs.iter() {
            match name {
                "call_id" => once(&mut call_id, name, value)?,
                "status" => once(&mut status, name, value)?,
                "resource" => once(&mut resource, name, value)?,
                "from" => once(&mut from, name, value)?,
                "to" => once(&mut to, name, value)?,
                "limit" => once(&mut limit, name, value)?,
                _ => return Err(unknown_parameter(name)),
            }
        }
        let status = status
            .map(|text| {
                Status::parse(text).ok_or_else(|| {
                    BookError::invalid("status", "must be active, converted, expired or cancelled")
                })
            })
            .transpose()?;
        let from_ms = from.map(|v| parse_time("from", v)).transpose()?;
        let to_ms = to.map(|v| parse_time("to", v)).transpose()?;
        let limit = match limit {
            None => limits::LIST_LIMIT_DEFAULT,
            Some(text) => text.parse::<usize>().map_err(|_| {
                BookError::invalid("limit", format!("must be 1 to {}", limits::LIST_LIMIT_MAX))
            })?,
        };
        // Checked in the order the API has always named the first fault in.
        let mut filter = ListFilter::default();
        if let Some(call_id) = call_id {
            filter = filter.with_call_id(call_id)?;
        }
        if let Some(status) = status {
            filter = filter.with_status(status);
        }
        if let Some(resource) = resource {
            filter = filter.with_resource(resource)?;
        }
        if let Some(from_ms) = from_ms {
            filter = filter.with_from_ms(from_ms)?;
        }
        if let Some(to_ms) = to_ms {
            filter = filter.with_to_ms(to_ms)?;
        }
        filter.with_limit(limit)
    }
}

/// `GET /availability` query parameters.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    /// Repeat for several resources (`resource=a&resource=b`), 1 to 64.
    pub resource: Vec<String>,
    #[param(value_type = String, format = DateTime)]
    pub from: String,
    #[param(value_type = String, format = DateTime)]
    pub to: String,
    pub duration_seconds: i64,
    /// Default: `duration_seconds`.
    pub step_seconds: Option<i64>,
    /// That call's own active holds count as free.
    pub call_id: Option<String>,
}

impl AvailabilityQuery {
    /// Both stages: the query string to a validated request.
    pub fn request(raw: &str) -> Result<AvailabilityRequest, BookError> {
        let pairs = QueryPairs::parse(raw)?;
        let mut resources = Vec::new();
        let (mut from, mut to, mut duration) = (None, None, None);
        let (mut step, mut call_id) = (None, None);
        for (name, value) in pairs.iter() {
            match name {
                "resource" => resources.push(value.to_owned()),
                "from" => once(&mut from, name, value)?,
                "to" => once(&mut to, name, value)?,
                "duration_seconds" => once(&mut duration, name, value)?,
                "step_seconds" => once(&mut step, name, value)?,
                "call_id" => once(&mut call_id, name, value)?,
                _ => return Err(unknown_parameter(name)),
            }
        }
        let from = from.ok_or_else(|| required("from"))?;
        let to = to.ok_or_else(|| required("to"))?;
        let duration_ms = parse_seconds(
            "duration_seconds",
            duration.ok_or_else(|| required("duration_seconds"))?,
        )?;
        let from_ms = parse_time("from", from)?;
        let to_ms = parse_time("to", to)?;
        let step_ms = match step {
            Some(text) => parse_seconds("step_seconds", text)?,
            None => duration_ms,
        };
        let request = AvailabilityRequest::new(resources, from_ms, to_ms, duration_ms, step_ms)?;
        match call_id {
            Some(call_id) => request.with_call_id(call_id),
            None => Ok(request),
        }
    }
}

/// `DELETE /holds/{token}` query parameters.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CancelQuery {
    /// Why, in the id alphabet; default `unspecified`.
    pub reason: Option<String>,
}

impl CancelQuery {
    /// Both stages: the query string to the cancel reason (checked by the core).
    pub fn reason(raw: &str) -> Result<Option<String>, BookError> {
        let pairs = QueryPairs::parse(raw)?;
        let mut reason = None;
        for (name, value) in pairs.iter() {
            match name {
                "reason" => once(&mut reason, name, value)?,
                _ => return Err(unknown_parameter(name)),
            }
        }
        if let Some(reason) = reason {
            crate::core::command::validate_reason("reason", reason)?;
        }
        Ok(reason.map(str::to_owned))
    }
}

/// Refuses any query string (endpoints that take none), so a typo is not silently ignored.
pub fn no_query(raw: &str) -> Result<(), BookError> {
    match QueryPairs::parse(raw)?.iter().next() {
        Some((name, _)) => Err(unknown_parameter(name)),
        None => Ok(()),
    }
}

// ----- response bodies ----------------------------------------------------------------------

/// Writes a shared string (serde's `rc` feature is off: it would also allow `Arc` of any type).
pub(crate) fn shared<S: Serializer>(value: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value)
}

fn shared_option<S: Serializer>(
    value: &Option<Arc<str>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(text) => serializer.serialize_some(text.as_ref()),
        None => serializer.serialize_none(),
    }
}

/// A reservation's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusDto {
    Active,
    Converted,
    Expired,
    Cancelled,
}

impl From<Status> for StatusDto {
    fn from(status: Status) -> StatusDto {
        match status {
            Status::Active => StatusDto::Active,
            Status::Converted => StatusDto::Converted,
            Status::Expired => StatusDto::Expired,
            Status::Cancelled => StatusDto::Cancelled,
        }
    }
}

/// One segment of a reservation.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SegmentDto {
    #[serde(serialize_with = "shared")]
    #[schema(value_type = String, example = "staff-7")]
    pub resource: Arc<str>,
    #[schema(value_type = String, format = DateTime, example = "2026-12-01T10:00:00Z")]
    pub start: Instant,
    #[schema(value_type = String, format = DateTime, example = "2026-12-01T10:30:00Z")]
    pub end: Instant,
}

impl From<SegmentView> for SegmentDto {
    fn from(view: SegmentView) -> SegmentDto {
        SegmentDto {
            resource: view.resource,
            start: Instant(view.start_ms),
            end: Instant(view.end_ms),
        }
    }
}

/// A reservation, read at one instant.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReservationDto {
    pub token: Uuid,
    #[serde(serialize_with = "shared")]
    #[schema(value_type = String)]
    pub company: Arc<str>,
    pub status: StatusDto,
    /// More than one segment.
    pub compound: bool,
    pub segments: Vec<SegmentDto>,
    #[serde(serialize_with = "shared_option")]
    #[schema(value_type = Option<String>)]
    pub call_id: Option<Arc<str>>,
    #[schema(value_type = Option<String>)]
    pub customer_phone: Option<Box<str>>,
    #[schema(value_type = Option<String>)]
    pub service_id: Option<Box<str>>,
    #[schema(value_type = String, format = DateTime)]
    pub reserved_at: Instant,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Instant,
    /// 0 unless `active`.
    pub time_remaining_seconds: i64,
    #[schema(value_type = Option<String>)]
    pub appointment_id: Option<Box<str>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub converted_at: Option<Instant>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub cancelled_at: Option<Instant>,
    #[schema(value_type = Option<String>)]
    pub cancel_reason: Option<Box<str>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expired_at: Option<Instant>,
}

impl From<ReservationView> for ReservationDto {
    fn from(view: ReservationView) -> ReservationDto {
        ReservationDto {
            token: view.token,
            company: view.company,
            status: view.status.into(),
            compound: view.compound,
            segments: view.segments.into_iter().map(SegmentDto::from).collect(),
            call_id: view.call_id,
            customer_phone: view.customer_phone,
            service_id: view.service_id,
            reserved_at: Instant(view.reserved_at_ms),
            expires_at: Instant(view.expires_at_ms),
            time_remaining_seconds: view.time_remaining_seconds,
            appointment_id: view.appointment_id,
            converted_at: view.converted_at_ms.map(Instant),
            cancelled_at: view.cancelled_at_ms.map(Instant),
            cancel_reason: view.cancel_reason,
            expired_at: view.expired_at_ms.map(Instant),
        }
    }
}

/// `GET /holds`: newest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HoldListDto {
    pub holds: Vec<ReservationDto>,
}

/// Free start times of one resource.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ResourceSlotsDto {
    #[serde(serialize_with = "shared")]
    #[schema(value_type = String)]
    pub resource: Arc<str>,
    #[schema(value_type = Vec<String>)]
    pub slots: Vec<Instant>,
}

/// `GET /availability`: one entry per requested resource, in the order asked.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AvailabilityDto {
    pub resources: Vec<ResourceSlotsDto>,
}

impl From<Vec<ResourceSlots>> for AvailabilityDto {
    fn from(slots: Vec<ResourceSlots>) -> AvailabilityDto {
        AvailabilityDto {
            resources: slots
                .into_iter()
                .map(|r| ResourceSlotsDto {
                    resource: r.resource,
                    slots: r.slots_ms.into_iter().map(Instant).collect(),
                })
                .collect(),
        }
    }
}

/// `{avg, p50, p95, p99}` of a duration, in seconds.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct DurationSummaryDto {
    pub avg: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

impl From<DurationSummary> for DurationSummaryDto {
    fn from(summary: DurationSummary) -> DurationSummaryDto {
        DurationSummaryDto {
            avg: summary.avg,
            p50: summary.p50,
            p95: summary.p95,
            p99: summary.p99,
        }
    }
}

/// Hold latency measured inside the company actor, in microseconds.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct LatencyMicrosDto {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
}

/// One of the seed system's targets with this company's value.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CriterionDto {
    #[schema(example = "conversion_rate")]
    pub name: &'static str,
    pub value: f64,
    pub target: f64,
    /// `>` or `<`: how `value` must compare with `target`.
    pub comparison: &'static str,
    pub met: bool,
}

impl From<Criterion> for CriterionDto {
    fn from(criterion: Criterion) -> CriterionDto {
        CriterionDto {
            name: criterion.name,
            value: criterion.value,
            target: criterion.target,
            comparison: criterion.comparison,
            met: criterion.met,
        }
    }
}

/// `GET /v1/companies/{company}/metrics`: counts since the data directory began, and rates.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MetricsDto {
    pub company: String,
    pub created: u64,
    pub created_single: u64,
    pub created_compound: u64,
    pub converted: u64,
    pub expired: u64,
    pub cancelled: u64,
    pub errors: u64,
    /// Active holds now.
    pub active: u64,
    /// Active holds and bookings now.
    pub live: u64,
    /// Requests the company's book answered.
    pub requests: u64,
    pub confirm_attempts: u64,
    pub confirm_successes: u64,
    /// converted / created.
    pub conversion_rate: f64,
    /// (converted + expired + cancelled) / created.
    pub completion_rate: f64,
    /// active / created.
    pub active_rate: f64,
    /// errors / requests.
    pub error_rate: f64,
    /// successful confirms / confirm attempts.
    pub booking_success_rate: f64,
    pub time_to_conversion_seconds: DurationSummaryDto,
    pub expired_lifetime_seconds: DurationSummaryDto,
    pub cancelled_by_reason: BTreeMap<String, u64>,
    pub errors_by_type: BTreeMap<String, u64>,
    pub hold_latency_micros: LatencyMicrosDto,
    pub criteria: Vec<CriterionDto>,
}

impl MetricsDto {
    /// The metrics body of `company` from its report.
    pub fn new(company: String, report: MetricsReport) -> MetricsDto {
        MetricsDto {
            company,
            created: report.created,
            created_single: report.created_single,
            created_compound: report.created_compound,
            converted: report.converted,
            expired: report.expired,
            cancelled: report.cancelled,
            errors: report.errors,
            active: report.active,
            live: report.live,
            requests: report.requests,
            confirm_attempts: report.confirm_attempts,
            confirm_successes: report.confirm_successes,
            conversion_rate: report.conversion_rate,
            completion_rate: report.completion_rate,
            active_rate: report.active_rate,
            error_rate: report.error_rate,
            booking_success_rate: report.booking_success_rate,
            time_to_conversion_seconds: report.time_to_conversion_seconds.into(),
            expired_lifetime_seconds: report.expired_lifetime_seconds.into(),
            cancelled_by_reason: report.cancelled_by_reason,
            errors_by_type: report.errors_by_type,
            hold_latency_micros: LatencyMicrosDto {
                p50: report.hold_latency_micros_p50,
                p99: report.hold_latency_micros_p99,
                p999: report.hold_latency_micros_p999,
            },
            criteria: report
                .criteria
                .into_iter()
                .map(CriterionDto::from)
                .collect(),
        }
    }
}

/// One company in the admin listing.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CompanyCountsDto {
    #[serde(serialize_with = "shared")]
    #[schema(value_type = String)]
    pub company: Arc<str>,
    /// Active holds (including lapsed ones the sweep has not reached yet).
    pub active: usize,
    /// Active holds and bookings.
    pub live: usize,
    /// Every reservation still kept, whatever its status.
    pub total: usize,
}

/// `GET /v1/admin/companies`: every started company, sorted by id.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CompaniesDto {
    pub companies: Vec<CompanyCountsDto>,
}

impl From<Vec<(Arc<str>, CompanyCounts)>> for CompaniesDto {
    fn from(companies: Vec<(Arc<str>, CompanyCounts)>) -> CompaniesDto {
        CompaniesDto {
            companies: companies
                .into_iter()
                .map(|(company, counts)| CompanyCountsDto {
                    company,
                    active: counts.active,
                    live: counts.live,
                    total: counts.total,
                })
                .collect(),
        }
    }
}

/// `POST /v1/admin/snapshot`: the snapshot just written.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SnapshotDto {
    /// The snapshot file's path.
    pub file: String,
    /// Its size in bytes.
    pub bytes: u64,
    pub sequence: u64,
    pub companies: usize,
    pub reservations: usize,
    #[schema(value_type = String, example = "2026-12-01T10:00:00.000Z")]
    pub created_at: Instant,
    /// From the first company asked for its state to the directory synced, in milliseconds.
    pub took_ms: f64,
}

impl From<crate::actors::snapshotter::SnapshotInfo> for SnapshotDto {
    fn from(info: crate::actors::snapshotter::SnapshotInfo) -> SnapshotDto {
        SnapshotDto {
            file: info.file.display().to_string(),
            bytes: info.bytes,
            sequence: info.sequence,
            companies: info.companies,
            reservations: info.reservations,
            created_at: Instant(info.created_at_ms),
            took_ms: info.took.as_secs_f64() * 1_000.0,
        }
    }
}

/// `GET /healthz`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HealthDto {
    #[schema(example = "ok")]
    pub status: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(json: &str) -> Result<HoldRequest, BookError> {
        let body: HoldBody =
            serde_json::from_str(json).map_err(|e| BookError::invalid("serde", e.to_string()))?;
        body.into_request(None)
    }

    fn field_of(error: BookError) -> String {
        match error {
            BookError::InvalidRequest { field, .. } => field,
            other => panic!("not an invalid request: {other:?}"),
        }
    }

    /// Goal: each of the three forms becomes its target, with the defaults of the API.
    #[test]
    fn three_forms() {
        let single = hold(
            r#"{"resource":"r1","start":"2026-12-01T10:00:00Z","end":"2026-12-01T10:30:00+00:00"}"#,
        )
        .unwrap();
        assert_eq!(single.ttl_seconds(), limits::TTL_SECONDS_DEFAULT);
        assert!(!single.replace_call_holds());
        let HoldTarget::Segments(segments) = single.target() else {
            panic!("not segments")
        };
        assert_eq!(segments[0].end_ms() - segments[0].start_ms(), 1_800_000);

        let find = hold(
            r#"{"find":{"resources":["a","b"],"earliest":"2026-12-01T10:00:00Z",
                "latest":"2026-12-01T12:00:00Z","duration_seconds":1800}}"#,
        )
        .unwrap();
        let HoldTarget::Find(find) = find.target() else {
            panic!("not find")
        };
        assert_eq!(
            find.step_ms(),
            1_800_000,
            "the step defaults to the duration"
        );

        let compound = hold(
            r#"{"segments":[{"resource":"a","start":"2026-12-01T10:00:00Z","end":"2026-12-01T10:30:00Z"},
                {"resource":"b","start":"2026-12-01T10:30:00Z","end":"2026-12-01T11:00:00Z"}],
                "ttl_seconds":60,"call_id":"c","replace_call_holds":true}"#,
        )
        .unwrap();
        assert_eq!(compound.ttl_seconds(), 60);
        assert!(compound.replace_call_holds());
    }

    /// Goal: mixed, partial and empty forms are refused naming the field at fault.
    #[test]
    fn form_errors_name_the_field() {
        let mixed = hold(
            r#"{"resource":"r1","start":"2026-12-01T10:00:00Z","end":"2026-12-01T10:30:00Z",
                "segments":[]}"#,
        );
        assert_eq!(field_of(mixed.unwrap_err()), "body");
        assert_eq!(field_of(hold("{}").unwrap_err()), "body");
        let partial = hold(r#"{"resource":"r1","start":"2026-12-01T10:00:00Z"}"#);
        assert_eq!(field_of(partial.unwrap_err()), "end");
        let backwards = hold(
            r#"{"resource":"r1","start":"2026-12-01T10:30:00Z","end":"2026-12-01T10:00:00Z"}"#,
        );
        assert_eq!(
            field_of(backwards.unwrap_err()),
            "end",
            "named as the caller sent it"
        );
        let huge = hold(
            r#"{"find":{"resources":["a"],"earliest":"2026-12-01T10:00:00Z",
                "latest":"2026-12-01T12:00:00Z","duration_seconds":9223372036854775807}}"#,
        );
        assert_eq!(field_of(huge.unwrap_err()), "find.duration_seconds");
    }

    /// Goal: query strings decode strictly and refuse duplicates and unknown names.
    #[test]
    fn strict_queries() {
        let filter = ListQuery::filter("call_id=call+1%21&status=active&limit=5").unwrap();
        assert_eq!(filter.call_id(), Some("call 1!"));
        assert_eq!(filter.status(), Some(Status::Active));
        assert_eq!(filter.limit(), 5);
        assert_eq!(
            ListQuery::filter("").unwrap().limit(),
            limits::LIST_LIMIT_DEFAULT
        );
        assert_eq!(
            field_of(ListQuery::filter("limit=1&limit=2").unwrap_err()),
            "limit"
        );
        assert_eq!(field_of(ListQuery::filter("limt=1").unwrap_err()), "limt");
        assert_eq!(
            field_of(ListQuery::filter("call_id=%FF").unwrap_err()),
            "call_id"
        );
        for malformed in ["call_id=%zz", "call_id=ab%", "call_id=%4"] {
            assert_eq!(
                field_of(ListQuery::filter(malformed).unwrap_err()),
                "call_id"
            );
        }
        assert_eq!(
            field_of(ListQuery::filter("status=gone").unwrap_err()),
            "status"
        );
        assert_eq!(
            field_of(ListQuery::filter("limit=99999999999999999999999").unwrap_err()),
            "limit"
        );
        let many = "limit=1&".repeat(limits::QUERY_PAIRS_MAX + 1);
        assert_eq!(field_of(ListQuery::filter(&many).unwrap_err()), "query");

        let request = AvailabilityQuery::request(
            "resource=a&resource=b&from=2026-12-01T10:00:00Z&to=2026-12-01T12:00:00Z&duration_seconds=1800",
        )
        .unwrap();
        assert_eq!(request.resources(), ["a", "b"]);
        assert_eq!(request.step_ms(), 1_800_000);
        assert_eq!(
            field_of(AvailabilityQuery::request("resource=a&from=x&to=y").unwrap_err()),
            "duration_seconds"
        );
        assert_eq!(
            CancelQuery::reason("reason=customer_hung_up")
                .unwrap()
                .as_deref(),
            Some("customer_hung_up")
        );
        assert_eq!(
            field_of(CancelQuery::reason("reason=a%20b").unwrap_err()),
            "reason"
        );
        assert_eq!(field_of(no_query("x=1").unwrap_err()), "x");
    }
}
