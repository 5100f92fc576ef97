//! The read commands: a list's filters and page ([`ListFilter`]) and an availability query
//! ([`AvailabilityRequest`]). Like the hold command, each is checked by its constructor and
//! builders and has private fields, so the `Book` answers any value of them without checking it
//! again. The builders are meant to be called in the order the API has always checked the
//! parts, which is the order their docs list.

use super::cursor::{Fingerprint, ListCursor};
use super::rules::{
    validate_id, validate_interval, validate_length, validate_resources, validate_text,
    validate_time,
};
use crate::core::error::BookError;
use crate::core::reservation::Status;
use crate::limits;

/// Filters of a list, and which page of it; the filters combine with AND. The default lists
/// everything, newest first, from the newest, up to [`limits::LIST_LIMIT_DEFAULT`]. Set the
/// parts in this order: call id, status, resource, from, to, limit, cursor (last, because a
/// cursor is checked against the filters set before it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListFilter {
    call_id: Option<String>,
    status: Option<Status>,
    /// With `from_ms`/`to_ms`: a segment on this resource overlapping the window.
    resource: Option<String>,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    limit: usize,
    /// The page begins at this creation position (a cursor's) and goes on to older ones;
    /// `None`: at the newest.
    start_seq: Option<u64>,
}

impl Default for ListFilter {
    fn default() -> ListFilter {
        ListFilter {
            call_id: None,
            status: None,
            resource: None,
            from_ms: None,
            to_ms: None,
            limit: limits::LIST_LIMIT_DEFAULT,
            start_seq: None,
        }
    }
}

impl ListFilter {
    /// Only reservations of this call.
    pub fn with_call_id(mut self, call_id: impl Into<String>) -> Result<ListFilter, BookError> {
        self.assert_no_cursor_yet();
        let call_id = call_id.into();
        validate_text("call_id", Some(call_id.as_str()))?;
        self.call_id = Some(call_id);
        Ok(self)
    }

    /// Only reservations in this status (as read at the list's instant).
    pub fn with_status(mut self, status: Status) -> ListFilter {
        self.assert_no_cursor_yet();
        self.status = Some(status);
        self
    }

    /// Only reservations with a segment on this resource (inside the window, when one is set).
    pub fn with_resource(mut self, resource: impl Into<String>) -> Result<ListFilter, BookError> {
        self.assert_no_cursor_yet();
        let resource = resource.into();
        validate_id("resource", &resource)?;
        self.resource = Some(resource);
        Ok(self)
    }

    /// Only reservations with a segment ending after `from_ms`.
    pub fn with_from_ms(mut self, from_ms: i64) -> Result<ListFilter, BookError> {
        self.assert_no_cursor_yet();
        validate_time("from", from_ms)?;
        check_window(Some(from_ms), self.to_ms)?;
        self.from_ms = Some(from_ms);
        Ok(self)
    }

    /// Only reservations with a segment starting before `to_ms`, which must be after `from_ms`.
    pub fn with_to_ms(mut self, to_ms: i64) -> Result<ListFilter, BookError> {
        self.assert_no_cursor_yet();
        validate_time("to", to_ms)?;
        check_window(self.from_ms, Some(to_ms))?;
        self.to_ms = Some(to_ms);
        Ok(self)
    }

    /// At most this many reservations: 1 to [`limits::LIST_LIMIT_MAX`].
    pub fn with_limit(mut self, limit: usize) -> Result<ListFilter, BookError> {
        if limit == 0 || limit > limits::LIST_LIMIT_MAX {
            return Err(BookError::invalid(
                "limit",
                format!("must be 1 to {}", limits::LIST_LIMIT_MAX),
            ));
        }
        self.limit = limit;
        Ok(self)
    }

    /// The page after the one that answered `cursor`, in `company`'s list with these filters.
    /// A cursor that does not read, or was answered for another company or other filters, is
    /// an invalid `cursor`. The limit may differ from page to page: it is not a filter.
    pub fn with_cursor(mut self, company: &str, cursor: &str) -> Result<ListFilter, BookError> {
        let cursor = ListCursor::parse(cursor)?;
        if cursor.scope() != self.scope(company) {
            return Err(BookError::invalid(
                "cursor",
                "belongs to another company or to other filters",
            ));
        }
        self.start_seq = Some(cursor.start_seq());
        Ok(self)
    }

    /// A cursor is checked against the filters set before it, so a filter set after it would
    /// make a list the cursor was not checked for: a programmer's error.
    fn assert_no_cursor_yet(&self) {
        debug_assert!(
            self.start_seq.is_none(),
            "a list filter set after the cursor"
        );
    }

    /// The fingerprint of `company` and these filters (not the limit, not the page) that ties
    /// a cursor to its list (see [`ListCursor`]).
    pub fn scope(&self, company: &str) -> u64 {
        Fingerprint::new()
            .text(company)
            .optional_text(self.call_id.as_deref())
            .optional_text(self.status.map(Status::as_str))
            .optional_text(self.resource.as_deref())
            .optional_number(self.from_ms)
            .optional_number(self.to_ms)
            .finish()
    }

    /// The call filtered on.
    pub fn call_id(&self) -> Option<&str> {
        self.call_id.as_deref()
    }

    /// The status filtered on.
    pub fn status(&self) -> Option<Status> {
        self.status
    }

    /// The resource filtered on.
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The window's start.
    pub fn from_ms(&self) -> Option<i64> {
        self.from_ms
    }

    /// The window's end.
    pub fn to_ms(&self) -> Option<i64> {
        self.to_ms
    }

    /// The most reservations answered.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The page begins at this creation position and goes on to older ones (`None`: at the
    /// newest).
    pub fn start_seq(&self) -> Option<u64> {
        self.start_seq
    }
}

/// A window given by both ends must not be empty; the fault is named `to`, whichever end came
/// last.
fn check_window(from_ms: Option<i64>, to_ms: Option<i64>) -> Result<(), BookError> {
    if let (Some(from_ms), Some(to_ms)) = (from_ms, to_ms) {
        if to_ms <= from_ms {
            return Err(BookError::invalid("to", "must be after from"));
        }
    }
    Ok(())
}

/// An availability query: the free starts of each resource, stepping from `from_ms` by
/// `step_ms`, for a stay of `duration_ms` ending by `to_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailabilityRequest {
    resources: Vec<String>,
    from_ms: i64,
    to_ms: i64,
    duration_ms: i64,
    step_ms: i64,
    /// That call's own active holds count as free.
    call_id: Option<String>,
}

impl AvailabilityRequest {
    /// A checked query: 1 to [`limits::QUERY_RESOURCES_MAX`] resources (faults named
    /// `resource[i]`, the repeated query parameter), a valid window, a duration and a step of
    /// 1 second to the span limit.
    pub fn new(
        resources: Vec<String>,
        from_ms: i64,
        to_ms: i64,
        duration_ms: i64,
        step_ms: i64,
    ) -> Result<AvailabilityRequest, BookError> {
        validate_resources("resource", &resources)?;
        validate_interval("from", "to", from_ms, to_ms)?;
        validate_length("duration_seconds", duration_ms)?;
        validate_length("step_seconds", step_ms)?;
        Ok(AvailabilityRequest {
            resources,
            from_ms,
            to_ms,
            duration_ms,
            step_ms,
            call_id: None,
        })
    }

    /// Counts that call's own active holds as free.
    pub fn with_call_id(
        mut self,
        call_id: impl Into<String>,
    ) -> Result<AvailabilityRequest, BookError> {
        let call_id = call_id.into();
        validate_text("call_id", Some(call_id.as_str()))?;
        self.call_id = Some(call_id);
        Ok(self)
    }

    /// The resources asked about, in the order answered.
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// The first start.
    pub fn from_ms(&self) -> i64 {
        self.from_ms
    }

    /// The latest end.
    pub fn to_ms(&self) -> i64 {
        self.to_ms
    }

    /// How long a free stay must be.
    pub fn duration_ms(&self) -> i64 {
        self.duration_ms
    }

    /// The grid of starts: `from_ms + k * step_ms`.
    pub fn step_ms(&self) -> i64 {
        self.step_ms
    }

    /// The call whose own holds count as free.
    pub fn call_id(&self) -> Option<&str> {
        self.call_id.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE_MS: i64 = 1_798_761_600_000;

    /// Goal: a list's window is refused when empty, the fault named `to` whichever end was set
    /// last, and a limit outside 1 to `LIST_LIMIT_MAX` is refused.
    #[test]
    fn list_windows_and_limits_are_checked() {
        let to_first = ListFilter::default().with_to_ms(BASE_MS).unwrap();
        let error = to_first.with_from_ms(BASE_MS).unwrap_err();
        assert!(matches!(error, BookError::InvalidRequest { field, .. } if field == "to"));
        let from_first = ListFilter::default().with_from_ms(BASE_MS).unwrap();
        let error = from_first.with_to_ms(BASE_MS - 1).unwrap_err();
        assert!(matches!(error, BookError::InvalidRequest { field, .. } if field == "to"));
        assert!(ListFilter::default().with_limit(0).is_err());
        assert!(ListFilter::default()
            .with_limit(limits::LIST_LIMIT_MAX + 1)
            .is_err());
        assert_eq!(ListFilter::default().limit(), limits::LIST_LIMIT_DEFAULT);
    }
}
