//! The rules a command's parts must keep, one function per kind of value, each naming the field
//! at fault in its `InvalidRequest`. The commands' constructors are built from them, and so are
//! the edge's own checks (company ids, cancel reasons) and the `Book`'s checks of the values it
//! takes bare (an extension's ttl, an appointment id, a cancel reason), so that every layer
//! refuses a value with the same words.

use crate::core::error::BookError;
use crate::limits;

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

/// Checks a resource's capacity: 1 to `RESOURCE_CAPACITY_MAX` live reservations at once.
pub fn validate_capacity(field: &str, capacity: u32) -> Result<(), BookError> {
    if !(1..=limits::RESOURCE_CAPACITY_MAX).contains(&capacity) {
        return Err(BookError::invalid(
            field,
            format!("must be 1 to {}", limits::RESOURCE_CAPACITY_MAX),
        ));
    }
    Ok(())
}

/// Checks a list of resources of a query: 1 to `QUERY_RESOURCES_MAX` ids.
pub(super) fn validate_resources(field: &str, resources: &[String]) -> Result<(), BookError> {
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

/// Checks an idempotency key: 1 to `IDEMPOTENCY_KEY_BYTES_MAX` bytes (the header's visible ASCII
/// is the HTTP edge's rule; the core bounds what it remembers).
pub fn validate_idempotency_key(field: &str, key: &str) -> Result<(), BookError> {
    if key.is_empty() || key.len() > limits::IDEMPOTENCY_KEY_BYTES_MAX {
        return Err(BookError::invalid(
            field,
            format!("must be 1 to {} bytes", limits::IDEMPOTENCY_KEY_BYTES_MAX),
        ));
    }
    Ok(())
}
