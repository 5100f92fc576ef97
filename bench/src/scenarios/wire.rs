//! What the flows send and read: the availability path, the hold bodies (first-available and
//! single), and the answers they parse (a hold's token, the earliest slot offered).

use super::schedule::{rfc3339, SLOT_MS};
use chrono::DateTime;
use serde::Deserialize;

/// Hold TTL of contention and throughput holds, in seconds: the API's default, longer than any
/// short run, so that every hold won is still live when the audit reads it back.
pub(super) const HOLD_TTL_SECONDS: i64 = holdfast::limits::TTL_SECONDS_DEFAULT;

#[derive(Deserialize)]
struct AvailabilityAnswer {
    resources: Vec<ResourceSlots>,
}

#[derive(Deserialize)]
struct ResourceSlots {
    resource: String,
    slots: Vec<String>,
}

#[derive(Deserialize)]
pub(super) struct Created {
    pub(super) token: String,
}

/// The earliest slot offered, taking resources in the order asked at equal times (what the
/// first-available hold would take): `(resource, start_ms)`.
pub(super) fn earliest_offered(body: &[u8]) -> Option<(String, i64)> {
    let answer: AvailabilityAnswer = serde_json::from_slice(body).ok()?;
    let mut best: Option<(String, i64)> = None;
    for resource in answer.resources {
        let first = resource
            .slots
            .first()
            .and_then(|slot| DateTime::parse_from_rfc3339(slot).ok())
            .map(|slot| slot.timestamp_millis());
        if let Some(start_ms) = first {
            if best.as_ref().is_none_or(|(_, best_ms)| start_ms < *best_ms) {
                best = Some((resource.resource, start_ms));
            }
        }
    }
    best
}

pub(super) fn availability_path(
    company: &str,
    resources: &[String],
    from_ms: i64,
    to_ms: i64,
) -> String {
    let mut path = format!(
        "/v1/companies/{company}/availability?from={}&to={}&duration_seconds={}",
        rfc3339(from_ms),
        rfc3339(to_ms),
        SLOT_MS / 1_000
    );
    for resource in resources {
        path.push_str("&resource=");
        path.push_str(resource);
    }
    path
}

pub(super) fn find_body(
    resources: &[String],
    from_ms: i64,
    to_ms: i64,
    ttl_seconds: i64,
    call: &str,
) -> String {
    let names: Vec<String> = resources.iter().map(|r| format!("\"{r}\"")).collect();
    format!(
        r#"{{"find":{{"resources":[{}],"earliest":"{}","latest":"{}","duration_seconds":{}}},"ttl_seconds":{ttl_seconds},"call_id":"{call}","customer_phone":"+4915112345678","service_id":"svc-1"}}"#,
        names.join(","),
        rfc3339(from_ms),
        rfc3339(to_ms),
        SLOT_MS / 1_000
    )
}

pub(super) fn single_body(resource: &str, start: &str, end: &str, call: &str) -> String {
    format!(
        r#"{{"resource":"{resource}","start":"{start}","end":"{end}","ttl_seconds":{HOLD_TTL_SECONDS},"call_id":"{call}","customer_phone":"+4915112345678"}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: the two-step flow takes the earliest slot offered, the first resource asked at
    /// equal times, and nothing when nothing is offered.
    #[test]
    fn earliest_offered_slot() {
        let body = br#"{"resources":[
            {"resource":"a","slots":["2027-01-01T11:00:00Z","2027-01-01T12:00:00Z"]},
            {"resource":"b","slots":["2027-01-01T10:30:00Z"]},
            {"resource":"c","slots":["2027-01-01T10:30:00Z"]}]}"#;
        let (resource, start_ms) = earliest_offered(body).unwrap();
        assert_eq!(resource, "b");
        assert_eq!(rfc3339(start_ms), "2027-01-01T10:30:00Z");
        let none = br#"{"resources":[{"resource":"a","slots":[]}]}"#;
        assert_eq!(earliest_offered(none), None);
        assert_eq!(earliest_offered(b"garbage"), None);
    }
}
