//! The shapes of the wire: raw request bodies and query strings close to what callers send, the
//! validated core commands they become, and the response bodies.
//!
//! Parsing is in two stages (ripgrep's habit). Stage one is serde (bodies, with
//! `deny_unknown_fields` and strict [`Instant`](crate::http::time::Instant)s) or [`QueryPairs`]
//! (query strings, strict percent-decoding into UTF-8): it fails on anything that is not the
//! right shape, naming the field. Stage two builds the core command (`HoldRequest`, `ListFilter`,
//! `AvailabilityRequest`, `SettingsPatch`, `ResourceConfig`) from the raw form through the core's checking constructors, so a
//! request that breaks a limit is refused here with the core's own words, before it costs the
//! company's actor a message. A command cannot be built invalid, so the `Book` takes it as it is.
//!
//! Response types borrow nothing and copy little: they take the view's shared strings and write
//! instants straight into the output.
//!
//! One file per noun, all re-exported here so `crate::http::dto::X` is the one path to each:
//! - `requests`: the request bodies and the hold body's raw -> command stage;
//! - `queries`: the query-string splitter and the query parameters of each operation;
//! - `answers`: the response bodies;
//! - `config`: a company's settings and resources, their bodies and answers;
//! - `events`: an event, a page of them, and the query that asks for them;
//! - `webhooks`: a webhook endpoint's body, its checked form, and the answers;
//! - `schemas`: the OpenAPI schemas of the wire's kinds of value, built from `limits.rs`.

mod answers;
mod config;
mod events;
mod queries;
mod requests;
pub mod schemas;
mod webhooks;

pub(crate) use answers::shared;
pub use answers::{
    AvailabilityDto, CompaniesDto, CompanyCountsDto, CriterionDto, DurationSummaryDto, HealthDto,
    HoldListDto, LatencyMicrosDto, MetricsDto, ReservationDto, ResourceSlotsDto, SegmentDto,
    SnapshotDto, StatusDto, VoiceCallsDto,
};
pub use config::{
    ClosureBody, ClosureDto, HoursBody, HoursDto, ResourceBody, ResourceDto, ResourcesDto,
    SettingsBody, SettingsDto,
};
pub use events::{EventDto, EventsDto, EventsQuery};
pub use queries::{no_query, AvailabilityQuery, CancelQuery, ListQuery, QueryPairs};
pub use requests::{ConfirmBody, ExtendBody, FindBody, HoldBody, ObjectOnly, SegmentBody};
pub use webhooks::{WebhookBody, WebhookChange, WebhookDto, WebhooksDto};

/// The field an invalid-request error names (the tests of every stage check it).
#[cfg(test)]
fn field_of(error: crate::core::error::BookError) -> String {
    match error {
        crate::core::error::BookError::InvalidRequest { field, .. } => field,
        other => panic!("not an invalid request: {other:?}"),
    }
}
