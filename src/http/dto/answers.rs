//! Response bodies: a reservation, the hold list, availability, a company's metrics, the admin
//! company listing, a written snapshot and health. They borrow nothing and copy little: they
//! take the view's shared strings and write instants straight into the output.

use crate::call_metrics::CallCounts;
use crate::core::book::{CompanyCountsOf, ListPage, ResourceSlots};
use crate::core::metrics::{Criterion, DurationSummary, MetricsReport};
use crate::core::reservation::{ReservationView, SegmentView, Status};
use crate::http::dto::schemas;
use crate::http::time::Instant;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

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
    #[schema(value_type = Option<String>, required = true)]
    pub call_id: Option<Arc<str>>,
    #[schema(value_type = Option<String>, required = true)]
    pub customer_phone: Option<Box<str>>,
    #[schema(value_type = Option<String>, required = true)]
    pub service_id: Option<Box<str>>,
    #[schema(value_type = String, format = DateTime)]
    pub reserved_at: Instant,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Instant,
    /// 0 unless `active`.
    #[schema(minimum = 0)]
    pub time_remaining_seconds: i64,
    /// Set once converted.
    #[schema(value_type = Option<String>, required = true)]
    pub appointment_id: Option<Box<str>>,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub converted_at: Option<Instant>,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub cancelled_at: Option<Instant>,
    #[schema(value_type = Option<String>, required = true)]
    pub cancel_reason: Option<Box<str>>,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
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

/// `GET /holds`: one page, newest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HoldListDto {
    pub holds: Vec<ReservationDto>,
    /// Pass as `cursor` (with the same filters) for the next page; `null` on the last page. A
    /// page may hold fewer than `limit` reservations, even none, and still have a next one.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

impl From<ListPage> for HoldListDto {
    fn from(page: ListPage) -> HoldListDto {
        HoldListDto {
            holds: page
                .reservations
                .into_iter()
                .map(ReservationDto::from)
                .collect(),
            next_cursor: page.next_cursor.map(|cursor| cursor.to_string()),
        }
    }
}

/// Free start times of one resource.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ResourceSlotsDto {
    #[serde(serialize_with = "shared")]
    #[schema(value_type = String)]
    pub resource: Arc<str>,
    #[schema(schema_with = schemas::instants)]
    pub slots: Vec<Instant>,
    /// Whether the cap of 1,000 starts per resource cut the answer (more free starts follow
    /// the last one listed).
    pub truncated: bool,
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
                    truncated: r.truncated,
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
    #[schema(schema_with = schemas::criterion_name, example = "conversion_rate")]
    pub name: &'static str,
    pub value: f64,
    pub target: f64,
    /// `>` or `<`: how `value` must compare with `target`.
    #[schema(schema_with = schemas::comparison)]
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
    /// The voice routes' calls, counted since the server started.
    pub voice: VoiceCallsDto,
}

/// A company's voice calls since the server started.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VoiceCallsDto {
    /// Calls seen (distinct platform call ids).
    pub calls: u64,
    /// Holds the calls made.
    pub holds: u64,
    /// holds / calls (null before the first call).
    #[schema(required = true)]
    pub holds_per_call: Option<f64>,
    /// Calls that booked.
    pub calls_booked: u64,
    /// Calls whose end released a hold.
    pub calls_released: u64,
    /// The seed's conversion criterion per call: calls that booked / calls (null before the
    /// first call).
    #[schema(required = true)]
    pub conversion_per_call: Option<f64>,
}

impl From<CallCounts> for VoiceCallsDto {
    fn from(counts: CallCounts) -> VoiceCallsDto {
        VoiceCallsDto {
            calls: counts.calls,
            holds: counts.holds,
            holds_per_call: counts.holds_per_call(),
            calls_booked: counts.booked,
            calls_released: counts.released,
            conversion_per_call: counts.conversion_per_call(),
        }
    }
}

impl MetricsDto {
    /// The metrics body of `company` from its report.
    pub fn new(company: String, report: MetricsReport, calls: CallCounts) -> MetricsDto {
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
            voice: calls.into(),
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

impl From<Vec<CompanyCountsOf>> for CompaniesDto {
    fn from(companies: Vec<CompanyCountsOf>) -> CompaniesDto {
        CompaniesDto {
            companies: companies
                .into_iter()
                .map(|CompanyCountsOf { company, counts }| CompanyCountsDto {
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
    #[schema(value_type = String, format = DateTime, example = "2026-12-01T10:00:00.250Z")]
    pub created_at: Instant,
    /// From the first company asked for its state to the directory synced, in milliseconds.
    pub took_ms: f64,
}

impl From<crate::durability::snapshot::SnapshotInfo> for SnapshotDto {
    fn from(info: crate::durability::snapshot::SnapshotInfo) -> SnapshotDto {
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
    #[schema(schema_with = schemas::health_status, example = "ok")]
    pub status: &'static str,
}
