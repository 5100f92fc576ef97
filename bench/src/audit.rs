//! The double-booking audit that ends every run: read back, through the list endpoint, every
//! converted and live (active) reservation of the companies the run used, and check that no
//! two of them overlap on a resource while both were live.
//!
//! The list answers at most [`holdfast::limits::LIST_LIMIT_MAX`] reservations a page; the audit
//! walks every page by its `next_cursor` until the last (`null`), once for the active holds and
//! once for the bookings. A walk answers each reservation at most once and every one that
//! matched all along exactly once, however the company changes meanwhile. Active holds are read
//! first: a reservation becomes a booking only from an active hold, so one that is live
//! throughout the audit is active when the first walk passes it or a booking by then, and is a
//! booking still when the second walk passes it; read the other way round, a hold confirmed
//! between the walks would be missed by both. A reservation read by both walks is counted once
//! (by token), as the later read says. The number of list requests is bounded by
//! [`limits::AUDIT_LIST_REQUESTS_MAX`]; an audit that cannot finish within it fails.
//!
//! "While both were live": an active hold is live from `reserved_at` to `expires_at`, a booking
//! from `reserved_at` on. Against a server that others write to during the audit, a hold read as
//! active that expires before the next list request may see its slot taken by a newer hold;
//! that is not a double booking, and the live intervals tell the two apart.

use crate::client::Connection;
use crate::limits;
use chrono::DateTime;
use hyper::Method;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The statuses the audit reads, what occupies a slot, in the order read (see the module doc).
const STATUSES_READ: [&str; 2] = ["active", "converted"];

/// A company the run used. The run's companies are its own, so reading all of each reads back
/// everything the run could have touched.
#[derive(Clone, Debug, Serialize)]
pub struct AuditScope {
    pub company: String,
}

/// One segment of a reservation read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SegmentRead {
    pub resource: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A reservation read back, reduced to what the check needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReservationRead {
    pub token: String,
    pub status: String,
    pub segments: Vec<SegmentRead>,
    /// From when it occupied its slots, in milliseconds since the epoch.
    pub live_from_ms: i64,
    /// Until when (exclusive): `expires_at` for a hold, `i64::MAX` for a booking.
    pub live_until_ms: i64,
}

/// Two reservations on one resource at once: a double booking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Overlap {
    pub company: String,
    pub resource: String,
    pub first: ReservationRead,
    pub second: ReservationRead,
}

/// What the audit found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AuditReport {
    pub companies: Vec<String>,
    pub list_requests: u64,
    /// Distinct reservations read back, by status.
    pub active: u64,
    pub converted: u64,
    pub overlaps: Vec<Overlap>,
    /// Why the audit could not read everything (an error answer, the request bound).
    pub problems: Vec<String>,
    /// No overlap and nothing left unread.
    pub passed: bool,
    /// How long the audit took (after the load), in seconds.
    pub elapsed_seconds: f64,
}

#[derive(Deserialize)]
struct ListAnswer {
    holds: Vec<WireReservation>,
    /// Required, though it may be `null`: a server that leaves it out does not page, and
    /// taking its first page for the whole list would pass an audit that read part of it.
    /// (serde takes a missing `Option` as `None` unless the field has a `deserialize_with`.)
    #[serde(deserialize_with = "Option::deserialize")]
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct WireReservation {
    token: String,
    status: String,
    segments: Vec<WireSegment>,
    reserved_at: String,
    expires_at: String,
}

#[derive(Deserialize)]
struct WireSegment {
    resource: String,
    start: String,
    end: String,
}

fn millis_of(text: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp_millis())
        .map_err(|e| format!("time {text:?}: {e}"))
}

impl WireReservation {
    fn read(self) -> Result<ReservationRead, String> {
        let segments = self
            .segments
            .into_iter()
            .map(|s| {
                Ok(SegmentRead {
                    resource: s.resource,
                    start_ms: millis_of(&s.start)?,
                    end_ms: millis_of(&s.end)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let live_until_ms = match self.status.as_str() {
            "converted" => i64::MAX,
            _ => millis_of(&self.expires_at)?,
        };
        Ok(ReservationRead {
            token: self.token,
            status: self.status,
            segments,
            live_from_ms: millis_of(&self.reserved_at)?,
            live_until_ms,
        })
    }
}

/// Reads back every active and converted reservation of each scope's company and checks them.
pub async fn audit(connection: &mut Connection, scopes: &[AuditScope]) -> AuditReport {
    let started = std::time::Instant::now();
    let mut report = AuditReport {
        companies: scopes.iter().map(|s| s.company.clone()).collect(),
        ..AuditReport::default()
    };
    for scope in scopes {
        let found = read_company(connection, scope, &mut report).await;
        for reservation in found.values() {
            match reservation.status.as_str() {
                "converted" => report.converted += 1,
                _ => report.active += 1,
            }
        }
        report
            .overlaps
            .extend(find_overlaps(&scope.company, found.values()));
    }
    report.passed = report.overlaps.is_empty() && report.problems.is_empty();
    report.elapsed_seconds = started.elapsed().as_secs_f64();
    report
}

/// Every active and converted reservation of one company, by token: one walk of the list by
/// cursor per status.
async fn read_company(
    connection: &mut Connection,
    scope: &AuditScope,
    report: &mut AuditReport,
) -> HashMap<String, ReservationRead> {
    let mut found = HashMap::new();
    for status in STATUSES_READ {
        let mut cursor: Option<String> = None;
        loop {
            if report.list_requests >= limits::AUDIT_LIST_REQUESTS_MAX {
                report.problems.push(format!(
                    "{}: stopped after {} list requests; the audit is incomplete",
                    scope.company, report.list_requests
                ));
                return found;
            }
            report.list_requests += 1;
            let page = match list(connection, &scope.company, status, cursor.as_deref()).await {
                Ok(page) => page,
                Err(problem) => {
                    // Without the page there is no cursor to go on from: the walk ends here.
                    report
                        .problems
                        .push(format!("{}: {problem}", scope.company));
                    break;
                }
            };
            for reservation in page.reservations {
                found.insert(reservation.token.clone(), reservation);
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    found
}

/// One page of a list, read.
struct Page {
    reservations: Vec<ReservationRead>,
    next_cursor: Option<String>,
}

/// The page of `company`'s reservations in `status` that `cursor` names (the first without).
async fn list(
    connection: &mut Connection,
    company: &str,
    status: &str,
    cursor: Option<&str>,
) -> Result<Page, String> {
    let mut path = format!(
        "/v1/companies/{company}/holds?status={status}&limit={}",
        holdfast::limits::LIST_LIMIT_MAX
    );
    if let Some(cursor) = cursor {
        // A cursor is URL-safe as answered: letters and digits.
        path.push_str("&cursor=");
        path.push_str(cursor);
    }
    let answer = connection
        .send(Method::GET, &path, None)
        .await
        .map_err(|e| format!("list {path}: no answer: {e}"))?;
    if answer.status != 200 {
        return Err(format!(
            "list {path}: status {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        ));
    }
    let parsed: ListAnswer = serde_json::from_slice(&answer.body)
        .map_err(|e| format!("list {path}: unreadable answer: {e}"))?;
    let reservations = parsed
        .holds
        .into_iter()
        .map(WireReservation::read)
        .collect::<Result<Vec<_>, String>>()
        .map_err(|e| format!("list {path}: {e}"))?;
    Ok(Page {
        reservations,
        next_cursor: parsed.next_cursor,
    })
}

/// Every pair of distinct reservations that share a resource over an overlapping time while
/// both were live. Segments are swept per resource in start order, each compared with the
/// earlier ones that have not ended yet (with no double booking, at most one per resource).
pub fn find_overlaps<'a>(
    company: &str,
    reservations: impl IntoIterator<Item = &'a ReservationRead>,
) -> Vec<Overlap> {
    let mut by_resource: BTreeMap<&str, Vec<(&SegmentRead, &ReservationRead)>> = BTreeMap::new();
    for reservation in reservations {
        for segment in &reservation.segments {
            by_resource
                .entry(segment.resource.as_str())
                .or_default()
                .push((segment, reservation));
        }
    }
    let mut overlaps = Vec::new();
    for (resource, mut segments) in by_resource {
        segments.sort_by_key(|(segment, _)| (segment.start_ms, segment.end_ms));
        let mut open: Vec<(&SegmentRead, &ReservationRead)> = Vec::new();
        for (segment, reservation) in segments {
            open.retain(|(earlier, _)| earlier.end_ms > segment.start_ms);
            for (_, earlier) in &open {
                let both_live = earlier.live_from_ms < reservation.live_until_ms
                    && reservation.live_from_ms < earlier.live_until_ms;
                if earlier.token != reservation.token && both_live {
                    overlaps.push(Overlap {
                        company: company.to_owned(),
                        resource: resource.to_owned(),
                        first: (*earlier).clone(),
                        second: reservation.clone(),
                    });
                }
            }
            open.push((segment, reservation));
        }
    }
    overlaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reservation(
        token: &str,
        status: &str,
        segments: &[(&str, i64, i64)],
        live: (i64, i64),
    ) -> ReservationRead {
        ReservationRead {
            token: token.into(),
            status: status.into(),
            segments: segments
                .iter()
                .map(|&(resource, start_ms, end_ms)| SegmentRead {
                    resource: resource.into(),
                    start_ms,
                    end_ms,
                })
                .collect(),
            live_from_ms: live.0,
            live_until_ms: live.1,
        }
    }

    /// Goal: the check finds an overlap wherever one is, on any resource of a compound
    /// reservation, and nowhere else: back-to-back slots, other resources, a reservation's own
    /// segments and holds that were never live at the same time are not overlaps.
    #[test]
    fn overlaps_found_and_only_overlaps() {
        let forever = (0, i64::MAX);
        let table = [
            (
                "back to back",
                vec![
                    reservation("a", "converted", &[("r1", 0, 10)], forever),
                    reservation("b", "active", &[("r1", 10, 20)], forever),
                ],
                0,
            ),
            (
                "same time, other resources",
                vec![
                    reservation("a", "converted", &[("r1", 0, 10)], forever),
                    reservation("b", "converted", &[("r2", 0, 10)], forever),
                ],
                0,
            ),
            (
                "one slot booked twice",
                vec![
                    reservation("a", "converted", &[("r1", 0, 10)], forever),
                    reservation("b", "converted", &[("r1", 0, 10)], forever),
                ],
                1,
            ),
            (
                "partial overlap behind a long booking",
                vec![
                    reservation("a", "converted", &[("r1", 0, 100)], forever),
                    reservation("b", "active", &[("r1", 10, 20)], forever),
                    reservation("c", "active", &[("r1", 30, 40)], forever),
                ],
                2,
            ),
            (
                "compound reservation: its second segment collides",
                vec![
                    reservation("a", "active", &[("r1", 0, 10), ("r2", 10, 20)], forever),
                    reservation("b", "active", &[("r2", 15, 25)], forever),
                ],
                1,
            ),
            (
                "a reservation's own segments on two resources",
                vec![reservation(
                    "a",
                    "active",
                    &[("r1", 0, 10), ("r2", 0, 10)],
                    forever,
                )],
                0,
            ),
            (
                "a hold that expired before the other was made",
                vec![
                    reservation("a", "active", &[("r1", 0, 10)], (1_000, 2_000)),
                    reservation("b", "active", &[("r1", 0, 10)], (2_000, 3_000)),
                ],
                0,
            ),
            (
                "a booking made while a hold still lived",
                vec![
                    reservation("a", "active", &[("r1", 0, 10)], (1_000, 2_000)),
                    reservation("b", "converted", &[("r1", 5, 15)], (1_999, i64::MAX)),
                ],
                1,
            ),
        ];
        for (name, reservations, expected) in table {
            let overlaps = find_overlaps("acme", &reservations);
            assert_eq!(overlaps.len(), expected, "{name}: {overlaps:?}");
            for overlap in overlaps {
                assert_ne!(overlap.first.token, overlap.second.token, "{name}");
                assert_eq!(overlap.company, "acme");
            }
        }
    }

    /// Goal: a list answer without `next_cursor` does not read: taken as the last page, it
    /// would pass an audit that read only the first.
    #[test]
    fn list_answers_name_their_next_cursor() {
        let last: ListAnswer =
            serde_json::from_str(r#"{"holds": [], "next_cursor": null}"#).unwrap();
        assert_eq!(last.next_cursor, None);
        let more: ListAnswer =
            serde_json::from_str(r#"{"holds": [], "next_cursor": "c1"}"#).unwrap();
        assert_eq!(more.next_cursor.as_deref(), Some("c1"));
        assert!(serde_json::from_str::<ListAnswer>(r#"{"holds": []}"#).is_err());
    }

    /// Goal: list answers are read into live intervals: a booking lives on, a hold until its
    /// expiry; a malformed time is an error, not a silent zero.
    #[test]
    fn wire_reservations_read() {
        let wire = |status: &str, start: &str| WireReservation {
            token: "t".into(),
            status: status.into(),
            segments: vec![WireSegment {
                resource: "r1".into(),
                start: start.into(),
                end: "2027-01-01T10:30:00Z".into(),
            }],
            reserved_at: "2026-12-01T09:00:00.250Z".into(),
            expires_at: "2026-12-01T09:05:00.250Z".into(),
        };
        let hold = wire("active", "2027-01-01T10:00:00Z").read().unwrap();
        assert_eq!(hold.live_until_ms - hold.live_from_ms, 300_000);
        assert_eq!(
            hold.segments[0].end_ms - hold.segments[0].start_ms,
            1_800_000
        );
        let booking = wire("converted", "2027-01-01T10:00:00Z").read().unwrap();
        assert_eq!(booking.live_until_ms, i64::MAX);
        assert!(wire("active", "tomorrow").read().is_err());
    }
}
