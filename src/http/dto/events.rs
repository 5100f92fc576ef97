//! The shapes of events on the wire: one event (the same JSON in a page and in a stream's
//! `data:` line), a page of them, and the query of `GET .../events`.

use super::answers::{shared, ReservationDto};
use super::queries::{once, unknown_parameter, QueryPairs};
use crate::core::error::BookError;
use crate::core::events::{Event, EventPage};
use crate::http::time::Instant;
use crate::limits;
use serde::Serialize;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// One change of a reservation.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EventDto {
    /// `<company>.<seq>`: unique over every company (a webhook's `webhook-id`).
    pub id: String,
    /// Per company, from 1, one more per event, across restarts.
    #[schema(minimum = 1)]
    pub seq: u64,
    /// `reservation.created`, `reservation.extended`, `reservation.converted`,
    /// `reservation.cancelled` or `reservation.expired`.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: &'static str,
    #[serde(serialize_with = "shared")]
    #[schema(value_type = String)]
    pub company: Arc<str>,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Instant,
    /// The reservation right after the change.
    pub reservation: ReservationDto,
}

impl From<&Event> for EventDto {
    fn from(event: &Event) -> EventDto {
        let company = event.reservation.company.clone();
        EventDto {
            id: format!("{company}.{}", event.seq),
            seq: event.seq,
            kind: event.kind.as_str(),
            company,
            occurred_at: Instant(event.occurred_at_ms),
            reservation: ReservationDto::from(event.reservation.clone()),
        }
    }
}

/// `GET .../events` as JSON: kept events after `after`, oldest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EventsDto {
    pub events: Vec<EventDto>,
    /// What to pass as `after` for the next page: the last event's `seq` (or `after` itself
    /// when none came).
    pub next_after: u64,
    /// Set when events after `after` are no longer kept: the first `seq` that is.
    #[schema(required = true)]
    pub first_available_seq: Option<u64>,
}

impl EventsDto {
    pub fn new(page: &EventPage, after: u64) -> EventsDto {
        let next_after = page.events.last().map_or(after, |e| e.seq);
        EventsDto {
            events: page.events.iter().map(|e| EventDto::from(&**e)).collect(),
            next_after: next_after.max(page.gap_before.map_or(0, |first| first - 1)),
            first_available_seq: page.gap_before,
        }
    }
}

/// `GET .../events` query parameters.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Events with a `seq` above this one (default 0: from the first kept). A stream takes
    /// `Last-Event-ID` before it.
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    pub after: Option<u64>,
    /// Default 100, at most 1,000 (a page of JSON).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

impl EventsQuery {
    /// The query string's `after` and `limit`, checked.
    pub fn parse(raw: &str) -> Result<EventsQuery, BookError> {
        let pairs = QueryPairs::parse(raw)?;
        let (mut after, mut limit) = (None, None);
        for (name, value) in pairs.iter() {
            match name {
                "after" => once(&mut after, name, value)?,
                "limit" => once(&mut limit, name, value)?,
                _ => return Err(unknown_parameter(name)),
            }
        }
        let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        let after = match after {
            None => None,
            Some(text) => text
                .parse::<u64>()
                .ok()
                // The wire's integers are signed 64-bit: no seq reaches past them.
                .filter(|n| digits(text) && *n <= i64::MAX as u64)
                .map(Some)
                .ok_or_else(|| BookError::invalid("after", "must be an event's seq (0 or more)"))?,
        };
        let limit = match limit {
            None => None,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| digits(text) && (1..=limits::EVENTS_PAGE_MAX).contains(n))
                .map(Some)
                .ok_or_else(|| {
                    BookError::invalid("limit", format!("must be 1 to {}", limits::EVENTS_PAGE_MAX))
                })?,
        };
        Ok(EventsQuery { after, limit })
    }

    /// The position asked for (0: from the first kept event).
    pub fn after(&self) -> u64 {
        self.after.unwrap_or(0)
    }

    /// The page size asked for.
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(limits::EVENTS_PAGE_DEFAULT)
    }
}
