//! The search: whether an interval is free, which entries block it, the first free start of a
//! first-available hold and the free starts of an availability query. All of it reads the
//! calendars alone: an entry carries its hold's expiry, so a check decides without a lookup of
//! the reservation, except when a call's own holds are to be ignored.
//!
//! Every walk jumps past a blocking entry to the next start on the step grid instead of trying
//! each step, so a search costs one `O(log n)` descent per entry in its window, not per step.

use super::Book;
use crate::core::calendar::{CalendarEntry, BOOKED};
use crate::core::command::{AvailabilityRequest, FindRequest, SegmentRequest};
use crate::core::error::BookError;
use crate::core::reservation::{ConflictKind, ConflictView, ResourceId};
use crate::limits;
use std::sync::Arc;
use uuid::Uuid;

/// Free start times of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceSlots {
    pub resource: Arc<str>,
    pub slots_ms: Vec<i64>,
    /// More free starts lie past the last one answered, cut by
    /// [`limits::AVAILABILITY_SLOTS_MAX`].
    pub truncated: bool,
}

/// How a calendar entry relates to a new interval.
enum Blocking {
    /// A live reservation of someone else: the interval is taken.
    By(ConflictKind),
    /// The caller's own active hold, being replaced: it does not block.
    Free,
    /// A lazily expired hold: it does not block and is expired on the spot.
    Stale,
}

impl Book {
    /// Walks the entries overlapping `[start_ms, end_ms)` on `resource`: live ones (other than
    /// `ignore_call`'s active holds) are conflicts, lazily expired holds are collected in `stale`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn scan(
        &self,
        resource: ResourceId,
        start_ms: i64,
        end_ms: i64,
        now_ms: i64,
        ignore_call: Option<&str>,
        conflicts: &mut Vec<ConflictView>,
        stale: &mut Vec<Uuid>,
    ) {
        for (entry_start_ms, entry) in
            self.calendars[resource as usize].overlapping(start_ms, end_ms)
        {
            match self.blocking(&entry, now_ms, ignore_call) {
                Blocking::Stale => stale.push(entry.token),
                Blocking::Free => {}
                Blocking::By(kind) => {
                    if conflicts.len() < limits::CONFLICTS_REPORTED_MAX {
                        conflicts.push(ConflictView {
                            resource: self.resource_names[resource as usize].clone(),
                            start_ms: entry_start_ms,
                            end_ms: entry.end_ms,
                            kind,
                        });
                    }
                }
            }
        }
    }

    /// Whether a calendar entry blocks its interval at `now_ms`. Decided from the entry alone,
    /// except when the caller's own holds are to be ignored: then an active hold's call id is
    /// read from its reservation.
    fn blocking(&self, entry: &CalendarEntry, now_ms: i64, ignore_call: Option<&str>) -> Blocking {
        if entry.expires_at_ms == BOOKED {
            return Blocking::By(ConflictKind::Booking);
        }
        if now_ms >= entry.expires_at_ms {
            // A lazily expired hold: in the calendar, but no longer live.
            return Blocking::Stale;
        }
        let own = ignore_call.is_some()
            && self.reservations[&entry.token].call_id.as_deref() == ignore_call;
        if own {
            Blocking::Free
        } else {
            Blocking::By(ConflictKind::Hold)
        }
    }

    /// The conflict check on its own: whether `[start_ms, end_ms)` on `resource` is free of live
    /// reservations at `now_ms`. Read-only (lazily expired holds count as free but stay stored).
    pub fn is_free(&self, resource: &str, start_ms: i64, end_ms: i64, now_ms: i64) -> bool {
        match self.resource_ids.get(resource) {
            Some(&id) => self
                .last_blocking_end(id, start_ms, end_ms, now_ms, None)
                .is_none(),
            None => true,
        }
    }

    /// The end of the latest blocking entry overlapping `[start_ms, end_ms)`, if any. Entries
    /// are walked latest first and their ends are ordered, so the first blocking one has the
    /// greatest end.
    fn last_blocking_end(
        &self,
        resource: ResourceId,
        start_ms: i64,
        end_ms: i64,
        now_ms: i64,
        ignore_call: Option<&str>,
    ) -> Option<i64> {
        self.calendars[resource as usize]
            .overlapping(start_ms, end_ms)
            .find(|(_, entry)| matches!(self.blocking(entry, now_ms, ignore_call), Blocking::By(_)))
            .map(|(_, entry)| entry.end_ms)
    }

    /// The earliest free start on one resource, stepping from `earliest_ms` by `step_ms`, with
    /// `t + duration_ms <= latest_ms`. Each miss jumps past the blocking entry, so the loop runs
    /// at most once per entry in the window.
    #[allow(clippy::too_many_arguments)]
    fn earliest_free(
        &self,
        resource: Option<ResourceId>,
        earliest_ms: i64,
        latest_ms: i64,
        duration_ms: i64,
        step_ms: i64,
        now_ms: i64,
        ignore_call: Option<&str>,
    ) -> Option<i64> {
        let mut start_ms = earliest_ms;
        while start_ms + duration_ms <= latest_ms {
            let Some(resource) = resource else {
                return Some(start_ms);
            };
            match self.last_blocking_end(
                resource,
                start_ms,
                start_ms + duration_ms,
                now_ms,
                ignore_call,
            ) {
                None => return Some(start_ms),
                Some(blocked_until_ms) => {
                    start_ms = next_step(earliest_ms, step_ms, blocked_until_ms);
                }
            }
        }
        None
    }

    /// The segment a first-available hold takes: the earliest free start over every listed
    /// resource, ties to the resource listed first.
    pub(super) fn find_first(
        &self,
        find: &FindRequest,
        now_ms: i64,
        ignore_call: Option<&str>,
    ) -> Result<SegmentRequest, BookError> {
        let mut best: Option<(i64, &String)> = None;
        for name in find.resources() {
            // Nothing can start earlier than the best so far except a strictly earlier step.
            let latest_ms = match best {
                Some((best_ms, _)) => (best_ms - 1 + find.duration_ms()).min(find.latest_ms()),
                None => find.latest_ms(),
            };
            let resource = self.resource_ids.get(name.as_str()).copied();
            if let Some(start_ms) = self.earliest_free(
                resource,
                find.earliest_ms(),
                latest_ms,
                find.duration_ms(),
                find.step_ms(),
                now_ms,
                ignore_call,
            ) {
                if best.is_none_or(|(best_ms, _)| start_ms < best_ms) {
                    best = Some((start_ms, name));
                }
            }
        }
        let (start_ms, name) = best.ok_or(BookError::NoSlot)?;
        Ok(SegmentRequest::found(
            name,
            start_ms,
            start_ms + find.duration_ms(),
        ))
    }

    pub(super) fn availability_inner(
        &self,
        request: &AvailabilityRequest,
        now_ms: i64,
    ) -> Vec<ResourceSlots> {
        let ignore_call = request.call_id();
        let (from_ms, to_ms) = (request.from_ms(), request.to_ms());
        let (duration_ms, step_ms) = (request.duration_ms(), request.step_ms());
        request
            .resources()
            .iter()
            .map(|name| {
                let resource = self.resource_ids.get(name.as_str()).copied();
                let mut slots_ms = Vec::new();
                let mut truncated = false;
                let mut start_ms = from_ms;
                while start_ms + duration_ms <= to_ms {
                    let blocked = resource.and_then(|id| {
                        self.last_blocking_end(
                            id,
                            start_ms,
                            start_ms + duration_ms,
                            now_ms,
                            ignore_call,
                        )
                    });
                    match blocked {
                        // One free start past the bound: the answer is cut, not complete.
                        None if slots_ms.len() == limits::AVAILABILITY_SLOTS_MAX => {
                            truncated = true;
                            break;
                        }
                        None => {
                            slots_ms.push(start_ms);
                            start_ms += step_ms;
                        }
                        Some(until_ms) => start_ms = next_step(from_ms, step_ms, until_ms),
                    }
                }
                ResourceSlots {
                    resource: self
                        .resource_ids
                        .get_key_value(name.as_str())
                        .map_or_else(|| name.as_str().into(), |(k, _)| k.clone()),
                    slots_ms,
                    truncated,
                }
            })
            .collect()
    }
}

/// The first start on the grid `origin_ms + k * step_ms` (k >= 0) at or after `at_least_ms`.
fn next_step(origin_ms: i64, step_ms: i64, at_least_ms: i64) -> i64 {
    if at_least_ms <= origin_ms {
        return origin_ms;
    }
    let steps = (at_least_ms - origin_ms + step_ms - 1) / step_ms;
    origin_ms + steps * step_ms
}
