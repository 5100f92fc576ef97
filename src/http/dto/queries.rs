//! Query strings: [`QueryPairs`], the strict splitter and decoder, and the query parameters of
//! `GET /holds`, `GET /availability` and `DELETE /holds/{token}`, each taken through both stages
//! to what the core checks; [`no_query`] refuses a query string where an operation takes none.

use super::answers::StatusDto;
use super::requests::{millis_of, required};
use super::schemas;
use crate::core::command::{AvailabilityRequest, ListFilter};
use crate::core::error::BookError;
use crate::core::reservation::Status;
use crate::http::time::parse_rfc3339_millis;
use crate::limits;
use std::borrow::Cow;
use utoipa::IntoParams;

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
pub(super) fn once<'v>(
    slot: &mut Option<&'v str>,
    field: &str,
    value: &'v str,
) -> Result<(), BookError> {
    if slot.replace(value).is_some() {
        return Err(BookError::invalid(field, "must appear at most once"));
    }
    Ok(())
}

pub(super) fn unknown_parameter(name: &str) -> BookError {
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
    #[param(value_type = Option<schemas::Text>, inline)]
    pub call_id: Option<String>,
    /// `active`, `converted`, `expired` or `cancelled`.
    #[param(inline)]
    pub status: Option<StatusDto>,
    /// Reservations with a segment on this resource (inside `from`/`to` when given).
    #[param(value_type = Option<schemas::Id>, inline)]
    pub resource: Option<String>,
    /// Reservations with a segment ending after this instant.
    #[param(value_type = Option<schemas::Time>, inline)]
    pub from: Option<String>,
    /// Reservations with a segment starting before this instant (after `from`).
    #[param(value_type = Option<schemas::Time>, inline)]
    pub to: Option<String>,
    /// Default 100, at most 1000; newest first.
    #[param(value_type = Option<schemas::ListLimit>, inline)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page, with the same filters; absent for the first
    /// page. A cursor that is malformed, or was answered for another company or other filters,
    /// is 400 naming `cursor`.
    pub cursor: Option<String>,
}

impl ListQuery {
    /// Both stages: the query string to a validated filter for `company`'s list (a cursor
    /// belongs to one company).
    pub fn filter(company: &str, raw: &str) -> Result<ListFilter, BookError> {
        let pairs = QueryPairs::parse(raw)?;
        let (mut call_id, mut status, mut resource) = (None, None, None);
        let (mut from, mut to, mut limit) = (None, None, None);
        let mut cursor = None;
        for (name, value) in pairs.iter() {
            match name {
                "call_id" => once(&mut call_id, name, value)?,
                "status" => once(&mut status, name, value)?,
                "resource" => once(&mut resource, name, value)?,
                "from" => once(&mut from, name, value)?,
                "to" => once(&mut to, name, value)?,
                "limit" => once(&mut limit, name, value)?,
                "cursor" => once(&mut cursor, name, value)?,
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
        filter = filter.with_limit(limit)?;
        match cursor {
            Some(cursor) => filter.with_cursor(company, cursor),
            None => Ok(filter),
        }
    }
}

/// `GET /availability` query parameters.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    /// Repeat for several resources (`resource=a&resource=b`), 1 to 64.
    #[param(value_type = schemas::Resources, inline)]
    pub resource: Vec<String>,
    #[param(value_type = schemas::Time, inline)]
    pub from: String,
    /// After `from`, at most 366 days later.
    #[param(value_type = schemas::Time, inline)]
    pub to: String,
    #[param(value_type = schemas::Seconds, inline)]
    pub duration_seconds: i64,
    /// Default: `duration_seconds`.
    #[param(value_type = Option<schemas::Seconds>, inline)]
    pub step_seconds: Option<i64>,
    /// That call's own active holds count as free.
    #[param(value_type = Option<schemas::Text>, inline)]
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
    #[param(value_type = Option<schemas::Id>, inline)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::dto::field_of;

    /// Goal: query strings decode strictly and refuse duplicates and unknown names; a list's
    /// cursor is taken only for the company and filters it was answered for.
    #[test]
    fn strict_queries() {
        let filter = ListQuery::filter("acme", "call_id=call+1%21&status=active&limit=5").unwrap();
        assert_eq!(filter.call_id(), Some("call 1!"));
        assert_eq!(filter.status(), Some(Status::Active));
        assert_eq!(filter.limit(), 5);
        assert_eq!(
            ListQuery::filter("acme", "").unwrap().limit(),
            limits::LIST_LIMIT_DEFAULT
        );
        assert_eq!(
            field_of(ListQuery::filter("acme", "limit=1&limit=2").unwrap_err()),
            "limit"
        );
        assert_eq!(
            field_of(ListQuery::filter("acme", "limt=1").unwrap_err()),
            "limt"
        );
        assert_eq!(
            field_of(ListQuery::filter("acme", "call_id=%FF").unwrap_err()),
            "call_id"
        );
        for malformed in ["call_id=%zz", "call_id=ab%", "call_id=%4"] {
            assert_eq!(
                field_of(ListQuery::filter("acme", malformed).unwrap_err()),
                "call_id"
            );
        }
        assert_eq!(
            field_of(ListQuery::filter("acme", "status=gone").unwrap_err()),
            "status"
        );
        assert_eq!(
            field_of(ListQuery::filter("acme", "limit=99999999999999999999999").unwrap_err()),
            "limit"
        );
        let scope = ListFilter::default()
            .with_call_id("c")
            .unwrap()
            .scope("acme");
        let cursor = crate::core::command::ListCursor::new(7, scope).to_string();
        let paged = ListQuery::filter("acme", &format!("call_id=c&cursor={cursor}")).unwrap();
        assert_eq!(paged.start_seq(), Some(7));
        for refused in [
            format!("call_id=c&cursor={cursor}&cursor={cursor}"),
            format!("call_id=d&cursor={cursor}"),
            "call_id=c&cursor=c1zz".to_owned(),
        ] {
            let error = ListQuery::filter("acme", &refused).unwrap_err();
            assert_eq!(field_of(error), "cursor", "{refused}");
        }
        let foreign = ListQuery::filter("beta", &format!("call_id=c&cursor={cursor}"));
        assert_eq!(field_of(foreign.unwrap_err()), "cursor");
        let many = "limit=1&".repeat(limits::QUERY_PAIRS_MAX + 1);
        assert_eq!(
            field_of(ListQuery::filter("acme", &many).unwrap_err()),
            "query"
        );

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
