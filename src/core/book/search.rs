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
//!
//! First available in the disjoint form does better: the calendar's free-gap index answers the
//! first start clear of every entry in `O(log n)`, and that start is the answer unless an entry
//! before it is free to this search (a lazily expired hold, or one of the caller's own holds
//! being replaced); only then does the search walk, and only over the starts whose hold meets
//! such an entry. The walk stays as the shared form's search (decided: a gap in the shared form
//! is where fewer than `k` entries overlap, which the index does not summarise) and as the
//! answer the indexed search is tested against. Availability walks in both forms: it answers
//! every free start of its window, so it visits the window's gaps anyway.

use super::Book;
use crate::core::calendar::{
    full_until, next_step, CalendarEntry, Intervals, BOOKED, SWEEP_INLINE,
};
use crate::core::command::{AvailabilityRequest, FindRequest, SegmentRequest};
use crate::core::error::BookError;
use crate::core::reservation::{ConflictKind, ConflictView, ResourceId, Status};
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

/// One first-available search on one resource: the grid of starts `origin_ms + k * step_ms`,
/// the latest end, the hold's length, and whose holds count as free.
struct Search<'a> {
    resource: ResourceId,
    origin_ms: i64,
    latest_ms: i64,
    duration_ms: i64,
    step_ms: i64,
    now_ms: i64,
    ignore_call: Option<&'a str>,
}

impl Search<'_> {
    /// The first start on the search's grid at or after `at_least_ms`.
    fn next_step(&self, at_least_ms: i64) -> i64 {
        next_step(self.origin_ms, self.step_ms, at_least_ms)
    }
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

    /// The first-available search on its own: the segment a hold with this search would take at
    /// `now_ms`, or `None` when none fits. Read-only, as [`Book::is_free`] is for the conflict
    /// check (lazily expired holds count as free but stay stored).
    pub fn first_available(&self, find: &FindRequest, now_ms: i64) -> Option<SegmentRequest> {
        self.find_first(find, now_ms, None).ok()
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

    /// The earliest start with room on one resource: the first `t` on the grid
    /// `earliest_ms + k * step_ms` with `t + duration_ms <= latest_ms` that the resource's hours
    /// admit and that no live reservation (other than `ignore_call`'s holds) overlaps. A
    /// calendar in the disjoint form answers through its free-gap index
    /// ([`Book::earliest_free_disjoint`]); the shared form walks ([`Book::earliest_free_walk`]).
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
        let Some(resource) = resource else {
            return (earliest_ms + duration_ms <= latest_ms).then_some(earliest_ms);
        };
        let search = Search {
            resource,
            origin_ms: earliest_ms,
            latest_ms,
            duration_ms,
            step_ms,
            now_ms,
            ignore_call,
        };
        if self.calendars[resource as usize].is_disjoint() {
            return self.earliest_free_disjoint(&search);
        }
        self.earliest_free_walk(&search, earliest_ms)
    }

    /// [`Book::earliest_free`] by walking from `from_ms` (on the grid): each miss jumps past
    /// what blocks it, which is the end of an entry, so the loop runs at most once per entry in
    /// the window. The shared form's search, and the disjoint form's answer in its tests.
    fn earliest_free_walk(&self, search: &Search<'_>, from_ms: i64) -> Option<i64> {
        let (resource, duration_ms) = (search.resource, search.duration_ms);
        let mut start_ms = from_ms;
        while start_ms + duration_ms <= search.latest_ms {
            // Outside opening hours or in a closure: the first start on the grid that may be
            // open again, past a closure or a closed night in one jump.
            if !self.admits(resource, start_ms, start_ms + duration_ms) {
                start_ms = search.next_step(self.closed_until(resource, start_ms));
                continue;
            }
            match self.blocked_until(
                resource,
                start_ms,
                start_ms + duration_ms,
                search.now_ms,
                search.ignore_call,
            ) {
                None => return Some(start_ms),
                Some(blocked_until_ms) => start_ms = search.next_step(blocked_until_ms),
            }
        }
        None
    }

    /// [`Book::earliest_free`] in the disjoint form, in `O(log n)` per jump. The free-gap index
    /// answers the first start clear of every entry; the starts before it each overlap an
    /// entry, and are all blocked unless one of the entries in the way is free to this caller
    /// (a lazily expired hold, or one of `ignore_call`'s). Then the starts that end before the
    /// first such entry are still blocked and are skipped, and a start whose hold overlaps it
    /// takes one step of the walk, which decides that start exactly. The expiry wheel removes
    /// expired holds promptly and a call has few holds, so such steps are rare.
    fn earliest_free_disjoint(&self, search: &Search<'_>) -> Option<i64> {
        let (resource, duration_ms) = (search.resource, search.duration_ms);
        let calendar = &self.calendars[resource as usize];
        let own_holds = self.own_holds(resource, search.ignore_call);
        let mut start_ms = search.origin_ms;
        while start_ms + duration_ms <= search.latest_ms {
            if !self.admits(resource, start_ms, start_ms + duration_ms) {
                start_ms = search.next_step(self.closed_until(resource, start_ms));
                continue;
            }
            let clear_ms = calendar
                .first_clear(start_ms, duration_ms, search.origin_ms, search.step_ms)
                .expect("a disjoint calendar answers");
            if clear_ms == start_ms {
                return Some(start_ms);
            }
            let lapsed_ms = calendar.first_lapsed(start_ms, clear_ms, search.now_ms);
            let own_ms = own_holds
                .iter()
                .filter(|&&(own_start_ms, own_end_ms)| {
                    own_start_ms < clear_ms && own_end_ms > start_ms
                })
                .map(|&(own_start_ms, _)| own_start_ms)
                .min();
            // The first entry in the way that is free to this search, if any.
            let free_entry_ms = lapsed_ms.into_iter().chain(own_ms).min();
            let Some(free_entry_ms) = free_entry_ms else {
                // Every entry in the way blocks: the clear start is the first that may have room.
                start_ms = clear_ms;
                continue;
            };
            // A hold ending at or before the free entry meets only entries that block.
            let past_blocked_ms = search.next_step(free_entry_ms - duration_ms + 1);
            if past_blocked_ms > start_ms {
                start_ms = past_blocked_ms;
                continue;
            }
            match self.blocked_until(
                resource,
                start_ms,
                start_ms + duration_ms,
                search.now_ms,
                search.ignore_call,
            ) {
                None => return Some(start_ms),
                Some(blocked_until_ms) => start_ms = search.next_step(blocked_until_ms),
            }
        }
        None
    }

    /// The intervals on `resource` of `call_id`'s active holds, which a search for that call
    /// counts as free. Read from the call index: a call has few holds.
    fn own_holds(
        &self,
        resource: ResourceId,
        call_id: Option<&str>,
    ) -> SmallVec<[(i64, i64); SWEEP_INLINE]> {
        let Some(call_id) = call_id else {
            return SmallVec::new();
        };
        self.reservations
            .call_tokens(call_id)
            .iter()
            .map(|token| &self.reservations[token])
            .filter(|reservation| reservation.status == Status::Active)
            .flat_map(|reservation| reservation.segments.iter())
            .filter(|segment| segment.resource == resource)
            .map(|segment| (segment.start_ms, segment.end_ms))
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::book::Settings;
    use crate::core::command::{HoldOptions, HoldRequest, HoldTarget};
    use crate::core::schedule::{Closure, ResourceConfig, WeeklyHours, WEEKDAYS};
    use proptest::prelude::*;

    /// 2026-12-01T00:00:00Z, a Tuesday.
    const BASE_MS: i64 = 1_796_083_200_000;
    const MINUTE_MS: i64 = 60_000;
    /// When the random calendars' holds are taken: the searches run up to 12 seconds later, so
    /// holds of a time to live under that are lazily expired by then.
    const HELD_AT_MS: i64 = BASE_MS - 24 * 60 * MINUTE_MS;

    /// One reservation of a random calendar: its start and length in minutes, its time to live
    /// in seconds, whether it belongs to the searching call, and whether it goes again (a
    /// cancel) or becomes a booking.
    #[derive(Clone, Debug)]
    struct Placed {
        start_minutes: i64,
        length_minutes: i64,
        ttl_seconds: i64,
        own: bool,
        fate: u8,
    }

    fn placed() -> impl Strategy<Value = Placed> {
        (
            0..240i64,
            1..8i64,
            prop_oneof![1..12i64, Just(3_600)],
            any::<bool>(),
            0..6u8,
        )
            .prop_map(
                |(start_minutes, length_minutes, ttl_seconds, own, fate)| Placed {
                    start_minutes,
                    length_minutes,
                    ttl_seconds,
                    own,
                    fate,
                },
            )
    }

    /// One search: where it starts (after the base), its length and step, all in milliseconds
    /// so that the grid meets the entries' edges and misses them by one; how far its latest end
    /// lies past its first possible end (in minutes), how long after the holds it runs (in
    /// seconds), and whether it is the searching call's.
    #[derive(Clone, Debug)]
    struct Query {
        earliest_ms: i64,
        duration_ms: i64,
        step_ms: i64,
        slack_minutes: i64,
        later_seconds: i64,
        own: bool,
    }

    /// Whole minutes below `minutes`, or one millisecond either side of one.
    fn minutes_off_by_one(minutes: i64) -> impl Strategy<Value = i64> {
        (0..minutes, -1..=1i64).prop_map(|(m, off)| m * MINUTE_MS + off)
    }

    fn query() -> impl Strategy<Value = Query> {
        (
            prop_oneof![minutes_off_by_one(250), 0..15_000_000i64],
            prop_oneof![
                minutes_off_by_one(10).prop_filter("not empty", |&d| d > 0),
                1..600_000i64
            ],
            prop_oneof![Just(1i64), Just(1_000), Just(MINUTE_MS), 1..900_000i64],
            0..300i64,
            0..13i64,
            any::<bool>(),
        )
            .prop_map(
                |(earliest_ms, duration_ms, step_ms, slack_minutes, later_seconds, own)| Query {
                    earliest_ms,
                    duration_ms,
                    step_ms,
                    slack_minutes,
                    later_seconds,
                    own,
                },
            )
    }

    /// Opening hours on every weekday (UTC, the default zone) cut at the given minutes after
    /// midnight, open between the first and second cut, the third and fourth, ...; and closures
    /// as `(start, length)` in minutes after the base.
    fn configure(book: &mut Book, mut cuts: Vec<i64>, closures: Vec<(i64, i64)>) {
        cuts.sort_unstable();
        cuts.dedup();
        let clock = |minutes: i64| format!("{:02}:{:02}", minutes / 60, minutes % 60);
        let intervals: Vec<(String, String)> = cuts
            .chunks_exact(2)
            .map(|pair| (clock(pair[0]), clock(pair[1])))
            .collect();
        let hours = (!intervals.is_empty()).then(|| {
            WeeklyHours::new(
                WEEKDAYS
                    .iter()
                    .map(|day| (day.to_string(), intervals.clone())),
            )
            .expect("valid hours")
        });
        let mut closed: Vec<Closure> = closures
            .into_iter()
            .map(|(start, length)| {
                let start_ms = BASE_MS + start * MINUTE_MS;
                Closure::new(start_ms, start_ms + length * MINUTE_MS, "closed").expect("valid")
            })
            .collect();
        closed.sort_by_key(|c| c.start_ms());
        let config = ResourceConfig::new(None, 1, hours, closed).expect("valid config");
        book.put_resource("staff-1", config).expect("configured");
    }

    /// A book whose resource `staff-1` holds `placed` (those that fit), some cancelled again and
    /// some confirmed; the searching call is `own`.
    fn book_of(placed: &[Placed]) -> Book {
        let mut book = Book::new("acme", Settings::default());
        for (n, p) in placed.iter().enumerate() {
            let start_ms = BASE_MS + p.start_minutes * MINUTE_MS;
            let target =
                HoldTarget::single("staff-1", start_ms, start_ms + p.length_minutes * MINUTE_MS)
                    .expect("valid");
            let call = if p.own {
                "own".to_string()
            } else {
                format!("other-{n}")
            };
            let options = HoldOptions::default()
                .with_ttl_seconds(p.ttl_seconds)
                .and_then(|o| o.with_call_id(call))
                .expect("valid options");
            let token = Uuid::from_u128(n as u128 + 1);
            let request = HoldRequest::with_options(target, options);
            if book.hold(request, None, token, HELD_AT_MS).is_err() {
                continue;
            }
            match p.fate {
                0 => drop(book.cancel(token, None, HELD_AT_MS).expect("held")),
                1 => drop(book.confirm(token, None, HELD_AT_MS).expect("held")),
                _ => {}
            }
        }
        book
    }

    /// The search through the free-gap index and the walk, side by side.
    fn both(book: &Book, q: &Query) -> (Option<i64>, Option<i64>) {
        let resource = book.resource_ids.get("staff-1").copied();
        let earliest_ms = BASE_MS + q.earliest_ms;
        let duration_ms = q.duration_ms;
        let latest_ms = earliest_ms + duration_ms + q.slack_minutes * MINUTE_MS;
        let now_ms = HELD_AT_MS + q.later_seconds * 1_000;
        let ignore_call = q.own.then_some("own");
        let step_ms = q.step_ms;
        let indexed = book.earliest_free(
            resource,
            earliest_ms,
            latest_ms,
            duration_ms,
            step_ms,
            now_ms,
            ignore_call,
        );
        let walked = resource.and_then(|resource| {
            let search = Search {
                resource,
                origin_ms: earliest_ms,
                latest_ms,
                duration_ms,
                step_ms,
                now_ms,
                ignore_call,
            };
            book.earliest_free_walk(&search, earliest_ms)
        });
        (indexed, walked)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// Goal: first available through the free-gap index answers exactly what the walk
        /// answers, over random calendars of holds, bookings, cancelled holds, lazily expired
        /// holds and the searching call's own holds, with and without opening hours and
        /// closures, for random grids, lengths and windows.
        #[test]
        fn earliest_free_matches_the_walk(
            placed in prop::collection::vec(placed(), 0..120),
            cuts in prop::collection::vec(0..1_440i64, 0..6),
            closures in prop::collection::vec((0..300i64, 1..60i64), 0..3),
            queries in prop::collection::vec(query(), 1..12),
        ) {
            let mut book = book_of(&placed);
            if !cuts.is_empty() || !closures.is_empty() {
                configure(&mut book, cuts, closures);
            }
            prop_assert!(book.check_invariants(HELD_AT_MS).is_ok());
            for q in &queries {
                let (indexed, walked) = both(&book, q);
                prop_assert_eq!(indexed, walked, "query {:?}", q);
            }
        }
    }

    /// Goal: behind a long run of back-to-back holds, one lazily expired hold and one of the
    /// searching call's own holds are each found as free, exactly where the walk finds them,
    /// and the first gap after the run is found when neither counts.
    #[test]
    fn free_entries_inside_a_booked_run_are_found() {
        let placed: Vec<Placed> = (0..200)
            .map(|i| Placed {
                start_minutes: i,
                length_minutes: 1,
                ttl_seconds: match i {
                    50 => 5,
                    _ => 3_600,
                },
                own: i == 120,
                fate: 2,
            })
            .collect();
        let book = book_of(&placed);
        let query = |later_seconds, own| Query {
            earliest_ms: 0,
            duration_ms: MINUTE_MS,
            step_ms: MINUTE_MS,
            slack_minutes: 300,
            later_seconds,
            own,
        };
        let minute = |m: i64| Some(BASE_MS + m * MINUTE_MS);
        assert_eq!(both(&book, &query(0, false)), (minute(200), minute(200)));
        assert_eq!(both(&book, &query(6, false)), (minute(50), minute(50)));
        assert_eq!(both(&book, &query(0, true)), (minute(120), minute(120)));
    }
}
