//! The validated commands the `Book` accepts, and the rules that validate them.
//!
//! The HTTP layer parses raw requests into these types; the `Book` checks them again with
//! [`HoldRequest::validate`] and friends before touching any state, so a command that breaks a
//! rule or a limit is refused with an `InvalidRequest` naming the field and changes nothing,
//! whoever built it. Times are milliseconds since the Unix epoch.

use crate::core::error::BookError;
use crate::core::reservation::Status;
use crate::limits;

/// One requested interval on one resource, by the resource's name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SegmentRequest {
    pub resource: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A first-available search: the earliest start `t` (stepping from `earliest_ms`) at which one of
/// `resources` is free for `duration_ms`, with `t + duration_ms <= latest_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FindRequest {
    pub resources: Vec<String>,
    pub earliest_ms: i64,
    pub latest_ms: i64,
    pub duration_ms: i64,
    pub step_ms: i64,
}

/// What a hold asks for: given segments (single or compound), or a search.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HoldTarget {
    Segments(Vec<SegmentRequest>),
    Find(FindRequest),
}

/// A request to create a hold.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HoldRequest {
    pub target: HoldTarget,
    pub ttl_seconds: i64,
    pub call_id: Option<String>,
    pub customer_phone: Option<String>,
    pub service_id: Option<String>,
    pub replace_call_holds: bool,
    /// Not part of the fingerprint: the key names the request, it is not its content.
    pub idempotency_key: Option<String>,
}

/// Filters of a list; they combine with AND.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListFilter {
    pub call_id: Option<String>,
    pub status: Option<Status>,
    /// With `from_ms`/`to_ms`: a segment on this resource overlapping the window.
    pub resource: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: usize,
}

/// An availability query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailabilityRequest {
    pub resources: Vec<String>,
    pub from_ms: i64,
    pub to_ms: i64,
    pub duration_ms: i64,
    pub step_ms: i64,
    /// That call's own active holds count as free.
    pub call_id: Option<String>,
}

/// Checks an id (company, resource): `[A-Za-z0-9_-]{1,64}`.
pub fn validate_id(field: &str, value: &str) -> Result<(), BookError> {
    if value.is_empty() || value.len() > limits::ID_BYTES_MAX {
        return Err(BookError::invalid(
            field,
            format!("must be 1 to {} characters", limits::ID_BYTES_MAX),
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(BookError::invalid(
            field,
            "may contain only A-Z, a-z, 0-9, '_' and '-'",
        ));
    }
    Ok(())
}

/// Checks an optional free text (call id, service id, appointment id): 1 to 128 bytes, no
/// control characters.
pub fn validate_text(field: &str, value: Option<&str>) -> Result<(), BookError> {
    let Some(value) = value else { return Ok(()) };
    if value.is_empty() || value.len() > limits::TEXT_BYTES_MAX {
        return Err(BookError::invalid(
            field,
            format!("must be 1 to {} bytes", limits::TEXT_BYTES_MAX),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(BookError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Checks a phone number: `+` and 6 to 15 digits.
pub fn validate_phone(field: &str, value: Option<&str>) -> Result<(), BookError> {
    let Some(value) = value else { return Ok(()) };
    let digits = value.strip_prefix('+').unwrap_or("");
    let count_ok = (limits::PHONE_DIGITS_MIN..=limits::PHONE_DIGITS_MAX).contains(&digits.len());
    if !count_ok || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BookError::invalid(
            field,
            format!(
                "must be '+' followed by {} to {} digits",
                limits::PHONE_DIGITS_MIN,
                limits::PHONE_DIGITS_MAX
            ),
        ));
    }
    Ok(())
}

/// Checks a cancel reason: the id alphabet, 1 to 64 bytes.
pub fn validate_reason(field: &str, value: &str) -> Result<(), BookError> {
    validate_id(field, value)
}

/// Checks an instant is inside the range RFC 3339 can write.
pub fn validate_time(field: &str, value_ms: i64) -> Result<(), BookError> {
    if !(limits::TIME_MILLIS_MIN..=limits::TIME_MILLIS_MAX).contains(&value_ms) {
        return Err(BookError::invalid(
            field,
            "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z",
        ));
    }
    Ok(())
}

/// Checks `[start_ms, end_ms)` is a valid, non-empty interval no longer than the span limit.
pub fn validate_interval(
    start_field: &str,
    end_field: &str,
    start_ms: i64,
    end_ms: i64,
) -> Result<(), BookError> {
    validate_time(start_field, start_ms)?;
    validate_time(end_field, end_ms)?;
    if end_ms <= start_ms {
        return Err(BookError::invalid(end_field, "must be after start"));
    }
    if end_ms - start_ms > limits::SPAN_SECONDS_MAX * 1_000 {
        return Err(BookError::invalid(
            end_field,
            format!(
                "must be at most {} seconds after start",
                limits::SPAN_SECONDS_MAX
            ),
        ));
    }
    Ok(())
}

/// Checks a positive length of time in milliseconds, at most the span limit.
pub fn validate_length(field: &str, value_ms: i64) -> Result<(), BookError> {
    if !(1_000..=limits::SPAN_SECONDS_MAX * 1_000).contains(&value_ms) {
        return Err(BookError::invalid(
            field,
            format!("must be 1 to {} seconds", limits::SPAN_SECONDS_MAX),
        ));
    }
    Ok(())
}

/// Checks a hold's time to live in seconds.
pub fn validate_ttl(field: &str, ttl_seconds: i64) -> Result<(), BookError> {
    if !(limits::TTL_SECONDS_MIN..=limits::TTL_SECONDS_MAX).contains(&ttl_seconds) {
        return Err(BookError::invalid(
            field,
            format!(
                "must be {} to {} seconds",
                limits::TTL_SECONDS_MIN,
                limits::TTL_SECONDS_MAX
            ),
        ));
    }
    Ok(())
}

fn validate_resources(field: &str, resources: &[String]) -> Result<(), BookError> {
    if resources.is_empty() || resources.len() > limits::QUERY_RESOURCES_MAX {
        return Err(BookError::invalid(
            field,
            format!("must list 1 to {} resources", limits::QUERY_RESOURCES_MAX),
        ));
    }
    for (index, resource) in resources.iter().enumerate() {
        validate_id(&format!("{field}[{index}]"), resource)?;
    }
    Ok(())
}

impl HoldRequest {
    /// A request for `target` with the API's defaults for the rest: a hold of
    /// [`limits::TTL_SECONDS_DEFAULT`], no call id, phone or service, no replacing, no
    /// idempotency key (benches and tools that only need a slot taken).
    pub fn new(target: HoldTarget) -> HoldRequest {
        HoldRequest {
            target,
            ttl_seconds: limits::TTL_SECONDS_DEFAULT,
            call_id: None,
            customer_phone: None,
            service_id: None,
            replace_call_holds: false,
            idempotency_key: None,
        }
    }

    /// Checks every rule and limit of a hold request.
    pub fn validate(&self) -> Result<(), BookError> {
        validate_ttl("ttl_seconds", self.ttl_seconds)?;
        validate_text("call_id", self.call_id.as_deref())?;
        validate_phone("customer_phone", self.customer_phone.as_deref())?;
        validate_text("service_id", self.service_id.as_deref())?;
        if let Some(key) = &self.idempotency_key {
            if key.is_empty() || key.len() > limits::IDEMPOTENCY_KEY_BYTES_MAX {
                return Err(BookError::invalid(
                    "Idempotency-Key",
                    format!("must be 1 to {} bytes", limits::IDEMPOTENCY_KEY_BYTES_MAX),
                ));
            }
        }
        match &self.target {
            HoldTarget::Segments(segments) => validate_segments(segments),
            HoldTarget::Find(find) => find.validate(),
        }
    }

    /// A stable fingerprint of the request's content (everything but the idempotency key), to
    /// tell a retry from a different request under the same key. CRC-32C twice with two seeds:
    /// stable across builds, unlike `std`'s hasher, so it survives a restart into a new binary.
    pub fn fingerprint(&self) -> u64 {
        let text = format!(
            "{:?}|{}|{:?}|{:?}|{:?}|{}",
            self.target,
            self.ttl_seconds,
            self.call_id,
            self.customer_phone,
            self.service_id,
            self.replace_call_holds
        );
        let low = crc32c::crc32c(text.as_bytes()) as u64;
        let high = crc32c::crc32c_append(0x9e37_79b9, text.as_bytes()) as u64;
        (high << 32) | low
    }
}

/// Checks the segments of a single or compound hold: 1 to 16, each valid, and no two on the same
/// resource overlapping each other.
pub fn validate_segments(segments: &[SegmentRequest]) -> Result<(), BookError> {
    if segments.is_empty() || segments.len() > limits::SEGMENTS_MAX {
        return Err(BookError::invalid(
            "segments",
            format!("must have 1 to {} segments", limits::SEGMENTS_MAX),
        ));
    }
    for (index, segment) in segments.iter().enumerate() {
        validate_id(&format!("segments[{index}].resource"), &segment.resource)?;
        validate_interval(
            &format!("segments[{index}].start"),
            &format!("segments[{index}].end"),
            segment.start_ms,
            segment.end_ms,
        )?;
    }
    for (i, a) in segments.iter().enumerate() {
        for (j, b) in segments.iter().enumerate().skip(i + 1) {
            if a.resource == b.resource && a.start_ms < b.end_ms && b.start_ms < a.end_ms {
                return Err(BookError::invalid(
                    format!("segments[{j}]"),
                    format!("overlaps segments[{i}] on the same resource"),
                ));
            }
        }
    }
    Ok(())
}

impl FindRequest {
    /// Checks a first-available search.
    pub fn validate(&self) -> Result<(), BookError> {
        validate_resources("find.resources", &self.resources)?;
        validate_interval(
            "find.earliest",
            "find.latest",
            self.earliest_ms,
            self.latest_ms,
        )?;
        validate_length("find.duration_seconds", self.duration_ms)?;
        validate_length("find.step_seconds", self.step_ms)?;
        if self.duration_ms > self.latest_ms - self.earliest_ms {
            return Err(BookError::invalid(
                "find.duration_seconds",
                "is longer than the window from earliest to latest",
            ));
        }
        Ok(())
    }
}

impl AvailabilityRequest {
    /// Checks an availability query.
    pub fn validate(&self) -> Result<(), BookError> {
        validate_resources("resource", &self.resources)?;
        validate_interval("from", "to", self.from_ms, self.to_ms)?;
        validate_length("duration_seconds", self.duration_ms)?;
        validate_length("step_seconds", self.step_ms)?;
        validate_text("call_id", self.call_id.as_deref())
    }
}

impl ListFilter {
    /// Checks a list's filters.
    pub fn validate(&self) -> Result<(), BookError> {
        validate_text("call_id", self.call_id.as_deref())?;
        if let Some(resource) = &self.resource {
            validate_id("resource", resource)?;
        }
        if let Some(from_ms) = self.from_ms {
            validate_time("from", from_ms)?;
        }
        if let Some(to_ms) = self.to_ms {
            validate_time("to", to_ms)?;
        }
        if let (Some(from_ms), Some(to_ms)) = (self.from_ms, self.to_ms) {
            if to_ms <= from_ms {
                return Err(BookError::invalid("to", "must be after from"));
            }
        }
        if self.limit == 0 || self.limit > limits::LIST_LIMIT_MAX {
            return Err(BookError::invalid(
                "limit",
                format!("must be 1 to {}", limits::LIST_LIMIT_MAX),
            ));
        }
        Ok(())
    }
}
