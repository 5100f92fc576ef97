//! The search: whether an interval has room, which entries block it, the first start with room
//! of a first-available hold and the starts with room of an availability query. All of it reads
//! the calendars alone: an entry carries its hold's expiry, so a check decides without a lookup
//! of the reservation, except when a call's own holds are to be ignored.
//!
//! The capacity rule: a resource of capacity `k` has room for `[start, end)` when at every
//! instant of it fewer than `k` live reservations overlap. A calendar in the disjoint form
//! (capacity 1) decides it from its walk alone: the first live entry met blocks.
//! A calendar in the shared form hands over its overlapping entries and the sweep
//! ([`full_until`]) counts them per instant.
//!
//! Every walk jumps past what blocks to the next start on the step grid instead of trying each
//! step (past the blocking entry in the disjoint form, past the end of the last full stretch in
//! the shared form, which is the end of an entry), so a search costs one query per entry in its
//! window, not per step.

use super::Book;
use crate::core::calendar::{full_until, CalendarEntry, Intervals, BOOKED, SWEEP_INLINE};
use crate::core::command::{AvailabilityRequest, FindRequest, SegmentRequest};
use crate::core::error::BookError;
use crate::core::reservation::{ConflictKind, ConflictView, ResourceId};
use crate::limits;
use smallvec::SmallVec;
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
    /// Walks the entries overlapping `[start_ms, end_ms)` on `resource`: when the live ones (other
    /// than `ignore_call`'s active holds) leave no room, they are the conflicts; lazily expired
    /// holds are collected in `stale` either way.
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
        let calendar = &self.calendars[resource as usize];
        if let Some(walk) = calendar.latest_first(start_ms, end_ms) {
            // Capacity 1: every live entry in the way is a conflict.
            for (entry_start_ms, entry) in walk {
                match self.blocking(&entry, now_ms, ignore_call) {
                    Blocking::Stale => stale.push(entry.token),
                    Blocking::Free => {}
                    Blocking::By(kind) => {
                        self.report(conflicts, resource, entry_start_ms, entry.end_ms, kind)
                    }
                }
            }
            return;
        }
        self.scan_shared(
            resource,
            start_ms,
            end_ms,
            now_ms,
            ignore_call,
            conflicts,
            stale,
        );
    }

    /// [`Book::scan`] in the shared form: the live entries in the way are conflicts only when
    /// they fill some instant of the interval. A function of its own so that the disjoint walk
    /// above, the path of every capacity-1 resource, keeps a small frame without this one's
    /// scratch space.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn scan_shared(
        &self,
        resource: ResourceId,
        start_ms: i64,
        end_ms: i64,
        now_ms: i64,
        ignore_call: Option<&str>,
        conflicts: &mut Vec<ConflictView>,
        stale: &mut Vec<Uuid>,
    ) {
        let calendar = &self.calendars[resource as usize];
        let mut blocking: SmallVec<[(i64, i64, ConflictKind); SWEEP_INLINE]> = SmallVec::new();
        calendar.for_each_overlapping(start_ms, end_ms, |entry_start_ms, entry| {
            match self.blocking(entry, now_ms, ignore_call) {
                Blocking::Stale => stale.push(entry.token),
                Blocking::Free => {}
                Blocking::By(kind) => blocking.push((entry_start_ms, entry.end_ms, kind)),
            }
        });
        if blocking.len() < calendar.capacity() as usize {
            // Fewer live entries in the way than the capacity cannot fill any instant.
            return;
        }
        let mut intervals: Intervals = blocking.iter().map(|&(s, e, _)| (s, e)).collect();
        if full_until(&mut intervals, start_ms, calendar.capacity()).is_none() {
            return;
        }
        // Full: the answer lists every live reservation in the way, latest first, as the
        // disjoint walk does.
        blocking.sort_unstable_by_key(|&(s, e, _)| std::cmp::Reverse((s, e)));
        for (entry_start_ms, entry_end_ms, kind) in blocking {
            self.report(conflicts, resource, entry_start_ms, entry_end_ms, kind);
        }
    }

    /// Adds one conflict to the answer, up to [`limits::CONFLICTS_REPORTED_MAX`].
    fn report(
        &self,
        conflicts: &mut Vec<ConflictView>,
        resource: ResourceId,
        start_ms: i64,
        end_ms: i64,
        kind: ConflictKind,
    ) {
        if conflicts.len() < limits::CONFLICTS_REPORTED_MAX {
            conflicts.push(ConflictView {
                resource: self.resource_names[resource as usize].clone(),
                start_ms,
                end_ms,
                kind,
            });
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

    /// The conflict check on its own: whether `[start_ms, end_ms)` on `resource` has room for one
    /// more reservation at `now_ms`. Read-only (lazily expired holds count as free but stay
    /// stored).
    pub fn is_free(&self, resource: &str, start_ms: i64, end_ms: i64, now_ms: i64) -> bool {
        match self.resource_ids.get(resource) {
            Some(&id) => self
                .blocked_until(id, start_ms, end_ms, now_ms, None)
                .is_none(),
            None => true,
        }
    }

    /// `None` when `[start_ms, end_ms)` on `resource` has room; otherwise the instant before
    /// which no start of the same length has room (the end of what blocks it), for a search to
    /// jump to.
    fn blocked_until(
        &self,
        resource: ResourceId,
        start_ms: i64,
        end_ms: i64,
        now_ms: i64,
        ignore_call: Option<&str>,
    ) -> Option<i64> {
        let calendar = &self.calendars[resource as usize];
        if let Some(mut walk) = calendar.latest_first(start_ms, end_ms) {
            // Entries are walked latest first and their ends are ordered, so the first blocking
            // one has the greatest end.
            return walk
                .find(|(_, entry)| {
                    matches!(self.blocking(entry, now_ms, ignore_call), Blocking::By(_))
                })
                .map(|(_, entry)| entry.end_ms);
        }
        self.blocked_until_shared(resource, start_ms, end_ms, now_ms, ignore_call)
    }

    /// [`Book::blocked_until`] in the shared form: the sweep over the live entries in the way.
    /// A function of its own for the same reason as [`Book::scan_shared`].
    #[inline(never)]
    fn blocked_until_shared(
        &self,
        resource: ResourceId,
        start_ms: i64,
        end_ms: i64,
        now_ms: i64,
        ignore_call: Option<&str>,
    ) -> Option<i64> {
        let calendar = &self.calendars[resource as usize];
        let mut intervals = Intervals::new();
        calendar.for_each_overlapping(start_ms, end_ms, |entry_start_ms, entry| {
            if matches!(self.blocking(entry, now_ms, ignore_call), Blocking::By(_)) {
                intervals.push((entry_start_ms, entry.end_ms));
            }
        });
        full_until(&mut intervals, start_ms, calendar.capacity())
    }

    /// The earliest start with room on one resource, stepping from `earliest_ms` by `step_ms`,
    /// with `t + duration_ms <= latest_ms`. Each miss jumps past what blocks it, which is the end
    /// of an entry, so the loop runs at most once per entry in the window.
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
            // Outside opening hours or in a closure: the first start on the grid that may be
            // open again, past a closure or a closed night in one jump.
            if !self.admits(resource, start_ms, start_ms + duration_ms) {
                let open_from_ms = self.closed_until(resource, start_ms);
                start_ms = next_step(earliest_ms, step_ms, open_from_ms);
                continue;
            }
            match self.blocked_until(
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

    /// The segment a first-available hold takes: the earliest start with room over every listed
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
                        if !self.admits(id, start_ms, start_ms + duration_ms) {
                            // Not open then: blocked until it may be open again.
                            return Some(self.closed_until(id, start_ms));
                        }
                        self.blocked_until(
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
