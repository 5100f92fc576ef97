//! `Calendar`: the intervals of one resource, and how many of them may overlap (its capacity).
//!
//! A resource of capacity `k` admits a new interval when, at every instant of it, fewer than `k`
//! live reservations overlap: the rule is per instant, so two back-to-back reservations under a
//! long request count once, not twice. The calendar keeps its entries in one of two forms:
//!
//! - **Disjoint** (capacity 1: every resource never configured): entries never overlap one
//!   another (half-open intervals, so back-to-back entries are fine). Because they do not
//!   overlap and are ordered by start, their ends are ordered too, so the entries that overlap a
//!   query `[start, end)` are one contiguous run ending at the last entry that starts before
//!   `end`: a conflict check is one `O(log n)` descent plus a walk back over exactly the
//!   overlapping entries, and the first live one decides. Beside the map, a free-gap index
//!   ([`GapIndex`]) holds the same entries with the gap before each and their expiries, so that
//!   the first start clear of every entry ([`Calendar::first_clear`]) and the first lapsed hold
//!   in a stretch ([`Calendar::first_lapsed`]) are each found in `O(log n)`, not by a walk over
//!   the entries in the way. Every change of the disjoint form goes through `DisjointEntries`,
//!   which changes both; the map stays the conflict check's structure because a B-tree descent
//!   costs fewer cache misses than a binary tree's.
//! - **Shared** (a resource raised above 1, until a lowering to 1 finds its entries disjoint
//!   again): entries may overlap, so a long entry can cover many short ones and ends are no
//!   longer ordered by start. Entries are kept in length classes (lengths in `[2^c, 2^(c+1))`
//!   milliseconds); within one class an entry overlapping `[start, end)` starts after
//!   `start - 2^(c+1)`, and the entries walked that do not overlap all cover the instant
//!   `start - 2^c`, so there are at most as many of them as entries may overlap at one instant.
//!   A query is one descent per class in use plus the overlapping entries; the `Book` then
//!   sweeps their start and end points (`full_until`, `O(m log m)` in the `m` overlapping
//!   entries) to find the most that overlap at one instant. It has no gap index: a gap there is
//!   where fewer than `k` entries overlap, which no summary of single entries gives, so first
//!   available walks it (a decision: a resource of capacity above 1 is rare and its searches
//!   jump past whole full stretches).
//!
//! The calendar does not know whether an entry is a live hold, a stale (lazily expired) hold or a
//! booking; the `Book` decides that from the entry's expiry and, for a call's own holds, the
//! reservation. A stale hold stays in its calendar until the `Book` expires it, which it always
//! does before inserting anything that overlaps it, so at no instant do more entries overlap,
//! stale or not, than the capacity ceiling (below) allows.

use crate::core::gaps::{gap_before_ms, GapIndex};
use crate::limits;
use smallvec::SmallVec;
use std::collections::BTreeMap;
use std::ops::Bound;
use uuid::Uuid;

/// Overlapping entries a capacity check keeps on the stack before it allocates: a check
/// usually sees a few reservations (at most the capacity at any one instant), and an
/// allocation costs as much as the sweep of a handful.
pub const SWEEP_INLINE: usize = 16;

/// Scratch space for the `[start, end)` pairs of a capacity check.
pub type Intervals = SmallVec<[(i64, i64); SWEEP_INLINE]>;

/// `expires_at_ms` of an entry that is a booking: it never expires.
pub const BOOKED: i64 = i64::MAX;

/// One occupied interval: where it ends, until when it blocks, and whose it is. The start is the
/// map key. The expiry is kept here (a copy of the reservation's) so that the conflict check
/// decides from the calendar alone, without a lookup of the reservation per entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CalendarEntry {
    pub end_ms: i64,
    /// The hold's `expires_at_ms`, or [`BOOKED`].
    pub expires_at_ms: i64,
    pub token: Uuid,
}

/// The intervals of one resource and its capacity.
#[derive(Clone, Debug)]
pub struct Calendar {
    /// Live reservations that may overlap at any instant, for new holds (1 to
    /// [`limits::RESOURCE_CAPACITY_MAX`]).
    capacity: u32,
    /// The most entries that may overlap at one instant: the largest capacity in force since the
    /// entries were last pairwise disjoint. It differs from `capacity` after a lowering, which
    /// leaves existing reservations where they are; restore and the audit judge by it.
    capacity_ceiling: u32,
    /// The book's creation sequence number when `capacity` was last changed: every reservation
    /// numbered from here on was admitted under `capacity` (the audit's stricter check).
    capacity_set_at_seq: u64,
    entries: Entries,
}

/// The walk of [`Calendar::latest_first`]: back from the query's end, until an entry ends at
/// or before its start. A struct of its own rather than a `take_while` so that the walk's state
/// is the range and one bound, as cheap to hand back as the range alone.
pub struct LatestFirst<'a> {
    walk: std::iter::Rev<std::collections::btree_map::Range<'a, i64, CalendarEntry>>,
    start_ms: i64,
}

impl Iterator for LatestFirst<'_> {
    type Item = (i64, CalendarEntry);

    fn next(&mut self) -> Option<(i64, CalendarEntry)> {
        let (start, entry) = self.walk.next()?;
        if entry.end_ms > self.start_ms {
            Some((*start, *entry))
        } else {
            // Every earlier entry ends earlier still: none overlaps. Later calls may walk on,
            // so callers stop at the first `None`, as `for` and `find` do.
            None
        }
    }
}

#[derive(Clone, Debug)]
enum Entries {
    /// Pairwise disjoint entries and their free-gap index.
    Disjoint(DisjointEntries),
    /// Entries that may overlap, by length class (see the module doc).
    Shared(SharedEntries),
}

/// The disjoint form: the entries by start, and the gaps between them.
#[derive(Clone, Debug, Default)]
struct DisjointEntries {
    /// start -> entry, pairwise disjoint. A `BTreeMap` because the conflict check needs "the last
    /// entry starting before `end`" in `O(log n)` with as few cache misses as a B-tree gives, and
    /// availability walks entries in time order.
    map: BTreeMap<i64, CalendarEntry>,
    /// The same entries' gaps and expiries, kept in step with `map` by every change below, so
    /// that a first-available search jumps over a booked stretch in `O(log n)`.
    gaps: GapIndex,
}

/// The shared form: length classes in increasing order, none empty.
#[derive(Clone, Debug, Default)]
struct SharedEntries {
    classes: Vec<LengthClass>,
    len: usize,
}

/// Entries whose length in milliseconds lies in `[2^log2, 2^(log2 + 1))`, by start; the token
/// completes the key because several entries may start at one instant.
#[derive(Clone, Debug)]
struct LengthClass {
    log2: u32,
    entries: BTreeMap<(i64, Uuid), CalendarEntry>,
}

impl Default for Calendar {
    fn default() -> Calendar {
        Calendar {
            capacity: limits::RESOURCE_CAPACITY_DEFAULT,
            capacity_ceiling: limits::RESOURCE_CAPACITY_DEFAULT,
            capacity_set_at_seq: 0,
            entries: Entries::Disjoint(DisjointEntries::default()),
        }
    }
}

impl Calendar {
    /// An empty calendar of capacity 1.
    pub fn new() -> Calendar {
        Calendar::default()
    }

    /// Number of entries (live, stale or booked).
    pub fn len(&self) -> usize {
        match &self.entries {
            Entries::Disjoint(disjoint) => disjoint.map.len(),
            Entries::Shared(shared) => shared.len,
        }
    }

    /// Whether the calendar has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live reservations that may overlap at any instant, for new holds.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// The most entries that may overlap at one instant (see the field's doc).
    pub fn capacity_ceiling(&self) -> u32 {
        self.capacity_ceiling
    }

    /// The book's creation sequence number when the capacity was last changed.
    pub fn capacity_set_at_seq(&self) -> u64 {
        self.capacity_set_at_seq
    }

    /// Sets the capacity for new holds; `at_seq` is the sequence number the book gives its next
    /// reservation. Nothing already in the calendar moves or goes. Raising a disjoint calendar
    /// above 1 rebuilds it in the shared form, and lowering a shared one to 1 rebuilds it in the
    /// disjoint form when its entries no longer overlap: each `O(n log n)` in the entries, once
    /// per change of capacity, which is an operator's action, not a request's.
    pub fn set_capacity(&mut self, capacity: u32, at_seq: u64) {
        assert!(
            (1..=limits::RESOURCE_CAPACITY_MAX).contains(&capacity),
            "capacity {capacity} reached the calendar unchecked"
        );
        if capacity == self.capacity {
            return;
        }
        match &mut self.entries {
            Entries::Disjoint(disjoint) if capacity > 1 => {
                let mut shared = SharedEntries::default();
                for (start_ms, entry) in std::mem::take(&mut disjoint.map) {
                    shared.insert(start_ms, entry);
                }
                self.entries = Entries::Shared(shared);
            }
            Entries::Shared(shared) if capacity == 1 => {
                if let Some(disjoint) = shared.to_disjoint() {
                    self.entries = Entries::Disjoint(DisjointEntries::from_sorted(disjoint));
                    // The entries are pairwise disjoint now: one at a time is all they hold.
                    self.capacity_ceiling = 1;
                }
            }
            _ => {}
        }
        self.capacity = capacity;
        self.capacity_ceiling = self.capacity_ceiling.max(capacity);
        self.capacity_set_at_seq = at_seq;
    }

    /// Puts an empty calendar in the capacity state a snapshot recorded (restore, before any
    /// entry comes back): `ceiling` bounds the entries restored, `capacity` the holds after.
    pub fn restore_capacity(&mut self, capacity: u32, ceiling: u32, set_at_seq: u64) {
        assert!(self.is_empty(), "a capacity state restored over entries");
        assert!(
            (1..=limits::RESOURCE_CAPACITY_MAX).contains(&capacity)
                && (capacity..=limits::RESOURCE_CAPACITY_MAX).contains(&ceiling),
            "capacity state {capacity}/{ceiling} reached the calendar unchecked"
        );
        self.entries = if ceiling > 1 {
            Entries::Shared(SharedEntries::default())
        } else {
            Entries::Disjoint(DisjointEntries::default())
        };
        self.capacity = capacity;
        self.capacity_ceiling = ceiling;
        self.capacity_set_at_seq = set_at_seq;
    }

    /// Whether the calendar is in the disjoint form (capacity 1, entries pairwise disjoint).
    pub fn is_disjoint(&self) -> bool {
        matches!(self.entries, Entries::Disjoint(_))
    }

    /// In the disjoint form, the entries overlapping `[start_ms, end_ms)`, latest first, as
    /// `(start_ms, entry)`: their ends decrease along the walk, so the first entry that blocks
    /// has the greatest end. `None` in the shared form, where no such order exists.
    pub fn latest_first(&self, start_ms: i64, end_ms: i64) -> Option<LatestFirst<'_>> {
        match &self.entries {
            Entries::Disjoint(disjoint) => Some(LatestFirst {
                walk: disjoint.map.range(..end_ms).rev(),
                start_ms,
            }),
            Entries::Shared(_) => None,
        }
    }

    /// In the disjoint form, the earliest start `t` on the grid `origin_ms + k * step_ms`, at or
    /// after `from_ms` (itself on the grid), such that `[t, t + duration_ms)` overlaps no entry,
    /// whatever its state: the end of the gap `from_ms` lies in if the hold fits there, else the
    /// start of the first later gap long enough that holds a start on the grid. `O(log n)` per
    /// gap tried; a gap is tried and passed over only when it is long enough for the hold but no
    /// start on the grid fits in it. `None` in the shared form.
    pub fn first_clear(
        &self,
        from_ms: i64,
        duration_ms: i64,
        origin_ms: i64,
        step_ms: i64,
    ) -> Option<i64> {
        let Entries::Disjoint(disjoint) = &self.entries else {
            return None;
        };
        let fits = |gap_from_ms: i64, gap_to_ms: Option<i64>| {
            let start_ms = next_step(origin_ms, step_ms, gap_from_ms);
            let fits = gap_to_ms.is_none_or(|to_ms| start_ms.saturating_add(duration_ms) <= to_ms);
            fits.then_some(start_ms)
        };
        // The gap `from_ms` lies in (or the entry it lies in, and the gap after it), cut at
        // `from_ms`; the gaps after it are whole.
        let covering_end_ms = disjoint
            .map
            .range(..=from_ms)
            .next_back()
            .map(|(_, entry)| entry.end_ms);
        let gap_from_ms = covering_end_ms.map_or(from_ms, |end_ms| end_ms.max(from_ms));
        let next = disjoint
            .map
            .range((Bound::Excluded(from_ms), Bound::Unbounded))
            .next();
        let Some((&next_start_ms, _)) = next else {
            return fits(gap_from_ms, None);
        };
        if let Some(start_ms) = fits(gap_from_ms, Some(next_start_ms)) {
            return Some(start_ms);
        }
        let mut after_ms = next_start_ms;
        loop {
            let Some((start_ms, gap_ms)) = disjoint.gaps.first_gap_after(after_ms, duration_ms)
            else {
                // No gap between entries is long enough: after the last one.
                let (_, last) = disjoint.map.last_key_value()?;
                return fits(last.end_ms, None);
            };
            if let Some(found_ms) = fits(start_ms - gap_ms, Some(start_ms)) {
                return Some(found_ms);
            }
            after_ms = start_ms;
        }
    }

    /// In the disjoint form, the start of the first entry overlapping `[from_ms, to_ms)` that is
    /// no longer live at `now_ms` (a hold whose expiry has passed: a booking never expires), in
    /// `O(log n)`. `None` when there is none, and in the shared form.
    pub fn first_lapsed(&self, from_ms: i64, to_ms: i64, now_ms: i64) -> Option<i64> {
        let Entries::Disjoint(disjoint) = &self.entries else {
            return None;
        };
        // The entry `from_ms` lies in overlaps too; the rest start at or after `from_ms`.
        let first_ms = match disjoint.map.range(..=from_ms).next_back() {
            Some((&start_ms, entry)) if entry.end_ms > from_ms => start_ms,
            _ => from_ms,
        };
        // `BOOKED` is the largest expiry there is: the bound keeps bookings out at any `now_ms`.
        let lapsed_at_ms = now_ms.min(BOOKED - 1);
        disjoint
            .gaps
            .first_expired_from(first_ms, lapsed_at_ms)
            .filter(|&start_ms| start_ms < to_ms)
    }

    /// Hands `visit` every entry overlapping `[start_ms, end_ms)`, as `(start_ms, entry)`, in no
    /// particular order.
    pub fn for_each_overlapping(
        &self,
        start_ms: i64,
        end_ms: i64,
        mut visit: impl FnMut(i64, &CalendarEntry),
    ) {
        match &self.entries {
            Entries::Disjoint(disjoint) => {
                let overlapping = disjoint
                    .map
                    .range(..end_ms)
                    .rev()
                    .take_while(|(_, entry)| entry.end_ms > start_ms);
                for (start, entry) in overlapping {
                    visit(*start, entry);
                }
            }
            Entries::Shared(shared) => {
                for class in &shared.classes {
                    for ((start, _), entry) in class.candidates(start_ms, end_ms) {
                        if entry.end_ms > start_ms {
                            visit(*start, entry);
                        }
                    }
                }
            }
        }
    }

    /// Whether one more entry fits over `[start_ms, end_ms)` under the capacity ceiling, counting
    /// every entry whatever its state (restore, and the assertion on every insert).
    pub fn has_room(&self, start_ms: i64, end_ms: i64) -> bool {
        let mut intervals = Intervals::new();
        self.for_each_overlapping(start_ms, end_ms, |start, entry| {
            intervals.push((start, entry.end_ms))
        });
        full_until(&mut intervals, start_ms, self.capacity_ceiling).is_none()
    }

    /// Adds an entry. The caller has made room: more overlap than the ceiling allows is a
    /// programmer error, asserted in debug builds and tests.
    pub fn insert(&mut self, start_ms: i64, end_ms: i64, expires_at_ms: i64, token: Uuid) {
        debug_assert!(start_ms < end_ms, "empty interval inserted");
        debug_assert!(
            self.has_room(start_ms, end_ms),
            "calendar over capacity: [{start_ms}, {end_ms}) for {token}"
        );
        let entry = CalendarEntry {
            end_ms,
            expires_at_ms,
            token,
        };
        match &mut self.entries {
            Entries::Disjoint(disjoint) => disjoint.insert(start_ms, entry),
            Entries::Shared(shared) => shared.insert(start_ms, entry),
        }
    }

    /// Removes the entry `[start_ms, end_ms)` if it belongs to `token`; returns whether it did.
    pub fn remove(&mut self, start_ms: i64, end_ms: i64, token: Uuid) -> bool {
        match &mut self.entries {
            Entries::Disjoint(disjoint) => match disjoint.map.get(&start_ms) {
                Some(entry) if entry.token == token => {
                    disjoint.remove(start_ms);
                    true
                }
                _ => false,
            },
            Entries::Shared(shared) => shared.remove(start_ms, end_ms, token),
        }
    }

    /// Sets the expiry of the entry `[start_ms, end_ms)` if it belongs to `token` (extend,
    /// confirm); returns whether it did.
    pub fn set_expiry(
        &mut self,
        start_ms: i64,
        end_ms: i64,
        token: Uuid,
        expires_at_ms: i64,
    ) -> bool {
        let entry = match &mut self.entries {
            Entries::Disjoint(disjoint) => {
                let Some(entry) = disjoint.map.get_mut(&start_ms) else {
                    return false;
                };
                if entry.token != token {
                    return false;
                }
                entry.expires_at_ms = expires_at_ms;
                let indexed = disjoint.gaps.set_expiry(start_ms, expires_at_ms);
                debug_assert!(indexed, "entry at {start_ms} missing from the gap index");
                return true;
            }
            Entries::Shared(shared) => shared.get_mut(start_ms, end_ms, token),
        };
        match entry {
            Some(entry) => {
                entry.expires_at_ms = expires_at_ms;
                true
            }
            None => false,
        }
    }

    /// All entries as `(start_ms, entry)`: in time order in the disjoint form, by length class
    /// and then time in the shared form.
    pub fn iter(&self) -> impl Iterator<Item = (i64, CalendarEntry)> + '_ {
        let (disjoint, shared) = match &self.entries {
            Entries::Disjoint(disjoint) => (Some(&disjoint.map), None),
            Entries::Shared(shared) => (None, Some(shared)),
        };
        let disjoint = disjoint
            .into_iter()
            .flat_map(|entries| entries.iter().map(|(start, entry)| (*start, *entry)));
        let shared = shared.into_iter().flat_map(|shared| {
            shared.classes.iter().flat_map(|class| {
                class
                    .entries
                    .iter()
                    .map(|((start, _), entry)| (*start, *entry))
            })
        });
        disjoint.chain(shared)
    }

    /// Checks the calendar's own invariants (tests and simulations): the form matches the
    /// capacity, every entry is non-empty and filed where a lookup finds it, and at no instant do
    /// more entries overlap than the ceiling allows.
    pub fn check(&self) -> Result<(), String> {
        if self.capacity_ceiling < self.capacity {
            return Err(format!(
                "ceiling {} below capacity {}",
                self.capacity_ceiling, self.capacity
            ));
        }
        let mut intervals = Vec::with_capacity(self.len());
        match &self.entries {
            Entries::Disjoint(disjoint) => {
                if self.capacity != 1 || self.capacity_ceiling != 1 {
                    return Err(format!(
                        "disjoint form with capacity {} and ceiling {}",
                        self.capacity, self.capacity_ceiling
                    ));
                }
                let mut previous_end = i64::MIN;
                for (&start, entry) in &disjoint.map {
                    if start < previous_end {
                        return Err(format!(
                            "entry at {start} starts before previous end {previous_end}"
                        ));
                    }
                    previous_end = entry.end_ms;
                }
                let entries = disjoint.map.iter();
                disjoint.gaps.check(
                    entries.map(|(&start, entry)| (start, entry.end_ms, entry.expires_at_ms)),
                )?;
            }
            Entries::Shared(shared) => shared.check()?,
        }
        for (start, entry) in self.iter() {
            if entry.end_ms <= start {
                return Err(format!("entry at {start} is empty or inverted"));
            }
            intervals.push((start, entry.end_ms));
        }
        let depth = max_depth(&mut intervals);
        if depth > self.capacity_ceiling as usize {
            return Err(format!(
                "{depth} entries overlap at one instant, ceiling {}",
                self.capacity_ceiling
            ));
        }
        Ok(())
    }
}

impl DisjointEntries {
    /// The disjoint form of entries already ordered by start and pairwise disjoint.
    fn from_sorted(entries: Vec<(i64, CalendarEntry)>) -> DisjointEntries {
        let mut disjoint = DisjointEntries::default();
        for (start_ms, entry) in entries {
            disjoint.insert(start_ms, entry);
        }
        disjoint
    }

    /// Files an entry in the map and the gap index; the entry after it now follows a shorter gap.
    fn insert(&mut self, start_ms: i64, entry: CalendarEntry) {
        let previous_end_ms = self
            .map
            .range(..start_ms)
            .next_back()
            .map(|(_, previous)| previous.end_ms);
        let next_start_ms = self
            .map
            .range((Bound::Excluded(start_ms), Bound::Unbounded))
            .next()
            .map(|(&next_start_ms, _)| next_start_ms);
        let replaced = self.map.insert(start_ms, entry);
        debug_assert!(replaced.is_none(), "two entries start at {start_ms}");
        self.gaps.insert(
            start_ms,
            gap_before_ms(start_ms, previous_end_ms),
            entry.expires_at_ms,
        );
        if let Some(next_start_ms) = next_start_ms {
            self.gaps
                .set_gap_before(next_start_ms, next_start_ms - entry.end_ms);
        }
    }

    /// Takes the entry starting at `start_ms` out of the map and the gap index; the entry after
    /// it now follows the wider gap from the entry before.
    fn remove(&mut self, start_ms: i64) {
        if self.map.remove(&start_ms).is_none() {
            return;
        }
        let indexed = self.gaps.remove(start_ms);
        debug_assert!(indexed, "entry at {start_ms} missing from the gap index");
        let next_start_ms = self.map.range(start_ms..).next().map(|(&next, _)| next);
        if let Some(next_start_ms) = next_start_ms {
            let previous_end_ms = self
                .map
                .range(..start_ms)
                .next_back()
                .map(|(_, previous)| previous.end_ms);
            self.gaps
                .set_gap_before(next_start_ms, gap_before_ms(next_start_ms, previous_end_ms));
        }
    }
}

impl SharedEntries {
    fn insert(&mut self, start_ms: i64, entry: CalendarEntry) {
        let log2 = length_class(start_ms, entry.end_ms);
        let index = match self.classes.binary_search_by_key(&log2, |c| c.log2) {
            Ok(index) => index,
            Err(index) => {
                let class = LengthClass {
                    log2,
                    entries: BTreeMap::new(),
                };
                self.classes.insert(index, class);
                index
            }
        };
        let replaced = self.classes[index]
            .entries
            .insert((start_ms, entry.token), entry);
        debug_assert!(replaced.is_none(), "entry of {} filed twice", entry.token);
        self.len += 1;
    }

    fn class_index(&self, start_ms: i64, end_ms: i64) -> Option<usize> {
        let log2 = length_class(start_ms, end_ms);
        self.classes.binary_search_by_key(&log2, |c| c.log2).ok()
    }

    fn remove(&mut self, start_ms: i64, end_ms: i64, token: Uuid) -> bool {
        let Some(index) = self.class_index(start_ms, end_ms) else {
            return false;
        };
        let class = &mut self.classes[index];
        let key = (start_ms, token);
        let removed = match class.entries.get(&key) {
            Some(entry) if entry.end_ms == end_ms => class.entries.remove(&key).is_some(),
            _ => false,
        };
        if removed {
            self.len -= 1;
            if class.entries.is_empty() {
                // Empty classes would cost every query a descent for nothing.
                self.classes.remove(index);
            }
        }
        removed
    }

    fn get_mut(&mut self, start_ms: i64, end_ms: i64, token: Uuid) -> Option<&mut CalendarEntry> {
        let index = self.class_index(start_ms, end_ms)?;
        self.classes[index]
            .entries
            .get_mut(&(start_ms, token))
            .filter(|entry| entry.end_ms == end_ms)
    }

    /// The same entries in the disjoint form, if they are pairwise disjoint.
    fn to_disjoint(&self) -> Option<Vec<(i64, CalendarEntry)>> {
        let mut all: Vec<(i64, CalendarEntry)> = self
            .classes
            .iter()
            .flat_map(|class| {
                class
                    .entries
                    .iter()
                    .map(|((start, _), entry)| (*start, *entry))
            })
            .collect();
        all.sort_unstable_by_key(|(start, _)| *start);
        let disjoint = all.windows(2).all(|pair| pair[0].1.end_ms <= pair[1].0);
        disjoint.then_some(all)
    }

    fn check(&self) -> Result<(), String> {
        let mut len = 0;
        let mut previous_log2 = None;
        for class in &self.classes {
            if previous_log2.is_some_and(|previous| previous >= class.log2) {
                return Err("length classes out of order".into());
            }
            previous_log2 = Some(class.log2);
            if class.entries.is_empty() {
                return Err(format!("length class {} is empty", class.log2));
            }
            for (&(start, token), entry) in &class.entries {
                if entry.token != token {
                    return Err(format!("entry of {} filed under {token}", entry.token));
                }
                if entry.end_ms > start && length_class(start, entry.end_ms) != class.log2 {
                    return Err(format!("entry of {token} in the wrong length class"));
                }
            }
            len += class.entries.len();
        }
        if len != self.len {
            return Err(format!("{len} entries counted as {}", self.len));
        }
        Ok(())
    }
}

impl LengthClass {
    /// The entries of this class that may overlap `[start_ms, end_ms)`, latest first: those
    /// starting before `end_ms` and after `start_ms - 2^(log2 + 1)` (a shorter length cannot
    /// reach `start_ms`). Walked back from `end_ms`, as the disjoint form walks: a one-sided
    /// range is one descent, where a two-sided one finds both of its edges.
    fn candidates(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> impl Iterator<Item = (&(i64, Uuid), &CalendarEntry)> + '_ {
        let reach = 1i128 << (self.log2 + 1);
        let first_ms = (start_ms as i128 - reach + 1).max(i64::MIN as i128) as i64;
        self.entries
            .range(..(end_ms, Uuid::nil()))
            .rev()
            .take_while(move |((entry_start_ms, _), _)| *entry_start_ms >= first_ms)
    }
}

/// The length class of `[start_ms, end_ms)`: the floor of the base-2 logarithm of its length.
fn length_class(start_ms: i64, end_ms: i64) -> u32 {
    let length = (end_ms as i128 - start_ms as i128).clamp(1, u64::MAX as i128) as u64;
    63 - length.leading_zeros()
}

/// The first start on the grid `origin_ms + k * step_ms` (k >= 0) at or after `at_least_ms`.
pub fn next_step(origin_ms: i64, step_ms: i64, at_least_ms: i64) -> i64 {
    if at_least_ms <= origin_ms {
        return origin_ms;
    }
    let steps = (at_least_ms - origin_ms + step_ms - 1) / step_ms;
    origin_ms + steps * step_ms
}

/// The sweep of the capacity rule. `intervals` are `[start, end)` pairs that each overlap the
/// query, which begins at `from_ms`; answers the end of the last stretch at or after `from_ms`
/// where `capacity` or more of them overlap at once, or `None` when no instant is that full.
///
/// A hold of the query fits when this is `None`. A search may move its next try to the answer:
/// a start before it would contain an instant of that stretch. Starts before `from_ms` are
/// clipped to it; ends are not, so the answer can lie past the query's end and a search jumps
/// past the entry that ends the stretch. `O(m log m)` in the `m` intervals; `intervals` is
/// reordered.
pub fn full_until(intervals: &mut [(i64, i64)], from_ms: i64, capacity: u32) -> Option<i64> {
    let capacity = capacity as usize;
    if intervals.len() < capacity {
        // Fewer overlapping entries than the capacity cannot fill any instant.
        return None;
    }
    let mut starts: SmallVec<[i64; SWEEP_INLINE]> =
        intervals.iter().map(|(s, _)| (*s).max(from_ms)).collect();
    starts.sort_unstable();
    intervals.sort_unstable_by_key(|(_, end)| *end);
    let (mut next_start, mut depth) = (0, 0usize);
    let mut full_until_ms = None;
    for &(_, end_ms) in intervals.iter() {
        // Starts at or before this end, in time order; an end at the same instant as a start
        // goes first (half-open intervals: back-to-back entries do not overlap).
        while next_start < starts.len() && starts[next_start] < end_ms {
            next_start += 1;
            depth += 1;
        }
        if depth >= capacity {
            full_until_ms = Some(end_ms);
        }
        depth -= 1;
    }
    full_until_ms
}

/// The most of `intervals` that overlap at one instant (the audit's count); reorders them.
pub fn max_depth(intervals: &mut [(i64, i64)]) -> usize {
    let mut ends: Vec<i64> = intervals.iter().map(|(_, end)| *end).collect();
    ends.sort_unstable();
    intervals.sort_unstable_by_key(|(start, _)| *start);
    let (mut next_end, mut depth, mut deepest) = (0, 0usize, 0usize);
    for &(start_ms, _) in intervals.iter() {
        while next_end < ends.len() && ends[next_end] <= start_ms {
            next_end += 1;
            depth -= 1;
        }
        depth += 1;
        deepest = deepest.max(depth);
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn starts_overlapping(calendar: &Calendar, start_ms: i64, end_ms: i64) -> Vec<i64> {
        let mut starts = Vec::new();
        calendar.for_each_overlapping(start_ms, end_ms, |start, _| starts.push(start));
        starts.sort_unstable();
        starts
    }

    /// Goal: back-to-back intervals do not overlap, and the walk finds exactly the overlapping run.
    #[test]
    fn overlapping_finds_exactly_the_overlapping_run() {
        let mut calendar = Calendar::new();
        for i in 0..10 {
            calendar.insert(i * 10, i * 10 + 10, BOOKED, token(i as u128));
        }
        assert!(calendar.has_room(100, 110));
        assert!(calendar.has_room(-10, 0));
        let hits: Vec<i64> = calendar
            .latest_first(15, 35)
            .expect("disjoint")
            .map(|(s, _)| s)
            .collect();
        assert_eq!(hits, vec![30, 20, 10]);
        assert_eq!(starts_overlapping(&calendar, 20, 30), vec![20]);
        assert!(calendar.check().is_ok());
    }

    /// Goal: remove only removes the entry of the named token.
    #[test]
    fn remove_checks_the_token() {
        let mut calendar = Calendar::new();
        calendar.insert(0, 10, BOOKED, token(1));
        assert!(!calendar.remove(0, 10, token(2)));
        assert!(calendar.remove(0, 10, token(1)));
        assert!(calendar.is_empty());
    }

    /// Goal: in the shared form a long entry is found under the short ones it covers, however many
    /// start between it and the query (the length classes, not the walk back, find it), and an
    /// entry that ends where the query starts is not found.
    #[test]
    fn shared_form_finds_a_long_entry_behind_many_short_ones() {
        let mut calendar = Calendar::new();
        calendar.set_capacity(2, 0);
        calendar.insert(0, 100_000, BOOKED, token(1));
        for i in 0..1_000 {
            calendar.insert(i * 100, i * 100 + 50, BOOKED, token(10 + i as u128));
        }
        calendar.insert(-50, 0, BOOKED, token(2));
        assert_eq!(starts_overlapping(&calendar, 99_960, 99_970), vec![0]);
        assert_eq!(
            starts_overlapping(&calendar, 99_940, 99_960),
            vec![0, 99_900]
        );
        assert_eq!(starts_overlapping(&calendar, 0, 10), vec![0, 0]);
        assert!(!calendar.has_room(99_940, 99_960));
        assert!(calendar.has_room(99_960, 99_970));
        assert!(calendar.check().is_ok());
        assert!(calendar.remove(0, 100_000, token(1)));
        assert_eq!(
            starts_overlapping(&calendar, 99_960, 99_970),
            Vec::<i64>::new()
        );
        assert_eq!(calendar.len(), 1_001);
    }

    /// Goal: entries starting at the same instant are kept apart (the token completes the key),
    /// and expiry and removal reach the one named.
    #[test]
    fn shared_form_keeps_entries_with_the_same_start() {
        let mut calendar = Calendar::new();
        calendar.set_capacity(3, 0);
        for n in 1..=3 {
            calendar.insert(0, 10, n as i64, token(n));
        }
        assert!(!calendar.has_room(5, 6));
        assert!(calendar.set_expiry(0, 10, token(2), BOOKED));
        assert!(!calendar.set_expiry(0, 11, token(2), BOOKED));
        let mut expiries: Vec<i64> = calendar.iter().map(|(_, e)| e.expires_at_ms).collect();
        expiries.sort_unstable();
        assert_eq!(expiries, vec![1, 3, BOOKED]);
        assert!(calendar.remove(0, 10, token(2)));
        assert!(!calendar.remove(0, 10, token(2)));
        assert!(calendar.has_room(5, 6));
        assert!(calendar.check().is_ok());
    }

    /// Goal: raising the capacity moves a disjoint calendar to the shared form; lowering it back
    /// to 1 returns to the disjoint form only once the entries no longer overlap, and until then
    /// the ceiling stays at the largest capacity they were admitted under.
    #[test]
    fn capacity_changes_move_between_the_forms() {
        let mut calendar = Calendar::new();
        calendar.insert(0, 10, BOOKED, token(1));
        calendar.set_capacity(2, 5);
        assert!(!calendar.is_disjoint());
        assert_eq!((calendar.capacity(), calendar.capacity_ceiling()), (2, 2));
        calendar.insert(5, 15, BOOKED, token(2));
        calendar.set_capacity(1, 7);
        assert!(!calendar.is_disjoint(), "two entries still overlap");
        assert_eq!((calendar.capacity(), calendar.capacity_ceiling()), (1, 2));
        assert_eq!(calendar.capacity_set_at_seq(), 7);
        assert!(calendar.check().is_ok());
        assert!(calendar.remove(5, 15, token(2)));
        calendar.set_capacity(3, 8);
        calendar.set_capacity(1, 9);
        assert!(calendar.is_disjoint(), "one entry left: disjoint again");
        assert_eq!(calendar.capacity_ceiling(), 1);
        assert!(calendar.check().is_ok());
    }

    /// Goal: the sweep counts overlap per instant: back-to-back intervals under a long query never
    /// overlap each other, so they fill capacity 2 nowhere; two that do overlap fill it exactly
    /// where they overlap, and the answer is the end of the last full stretch.
    #[test]
    fn full_until_counts_per_instant() {
        let mut back_to_back = [(0, 10), (10, 20), (20, 30)];
        assert_eq!(full_until(&mut back_to_back, 0, 2), None);
        assert_eq!(full_until(&mut back_to_back, 0, 1), Some(30));
        let mut overlapping = [(0, 10), (5, 15), (20, 30)];
        assert_eq!(full_until(&mut overlapping, 0, 2), Some(10));
        assert_eq!(full_until(&mut overlapping, 0, 3), None);
        let mut stacked = [(0, 100), (40, 50), (60, 70), (45, 65)];
        assert_eq!(full_until(&mut stacked, 0, 3), Some(65));
        // A start before the query is clipped; the end is kept, so a search jumps past it.
        let mut before = [(-50, 20), (0, 5)];
        assert_eq!(full_until(&mut before, 0, 2), Some(5));
        assert_eq!(max_depth(&mut [(0, 10), (10, 20), (5, 15), (5, 6)]), 3);
        assert_eq!(max_depth(&mut []), 0);
    }

    /// The earliest grid start at or after `from_ms` clear of every entry, found by trying each
    /// step: the answer `first_clear` must give.
    fn first_clear_by_steps(
        calendar: &Calendar,
        from_ms: i64,
        duration_ms: i64,
        step_ms: i64,
    ) -> i64 {
        let mut start_ms = from_ms;
        while !starts_overlapping(calendar, start_ms, start_ms + duration_ms).is_empty() {
            start_ms += step_ms;
        }
        start_ms
    }

    /// Goal: the gap index follows every insert and removal, the first entry's, the last
    /// entry's and one between included, and answers the first gap long enough from anywhere.
    #[test]
    fn gap_index_follows_inserts_and_removals() {
        let mut calendar = Calendar::new();
        // Entries [0, 10), [20, 30), [35, 40), [60, 70): gaps 10, 5, 20 between them.
        for (n, (start, end)) in [(20, 30), (0, 10), (60, 70), (35, 40)]
            .into_iter()
            .enumerate()
        {
            calendar.insert(start, end, BOOKED, token(n as u128));
            assert_eq!(calendar.check(), Ok(()));
        }
        assert_eq!(calendar.first_clear(0, 10, 0, 1), Some(10));
        assert_eq!(calendar.first_clear(0, 11, 0, 1), Some(40));
        assert_eq!(calendar.first_clear(25, 5, 25, 1), Some(30));
        assert_eq!(calendar.first_clear(25, 6, 25, 1), Some(40));
        assert_eq!(calendar.first_clear(0, 25, 0, 1), Some(70));
        assert_eq!(calendar.first_clear(-100, 50, -100, 1), Some(-100));
        assert_eq!(calendar.first_clear(-5, 10, -5, 7), Some(44));
        // The grid: from 1 by 7, the gap [40, 60) holds 43..=50 for a length of 10.
        assert_eq!(calendar.first_clear(1, 10, 1, 7), Some(43));
        assert_eq!(calendar.first_clear(1, 18, 1, 7), Some(71));
        // The first entry goes: the gap before [20, 30) is unbounded now.
        assert!(calendar.remove(0, 10, token(1)));
        assert_eq!(calendar.check(), Ok(()));
        assert_eq!(calendar.first_clear(-100, 100, -100, 1), Some(-100));
        // The last entry goes: after [35, 40) everything is free.
        assert!(calendar.remove(60, 70, token(2)));
        assert_eq!(calendar.check(), Ok(()));
        assert_eq!(calendar.first_clear(20, 21, 20, 1), Some(40));
        // The first entry goes again: nothing is before [35, 40) now.
        assert!(calendar.remove(20, 30, token(0)));
        assert_eq!(calendar.check(), Ok(()));
        assert_eq!(calendar.first_clear(0, 35, 0, 1), Some(0));
        assert!(calendar.remove(35, 40, token(3)));
        assert_eq!(calendar.check(), Ok(()));
        assert_eq!(calendar.first_clear(5, 1_000, 5, 1), Some(5));
    }

    /// Goal: a lapsed hold is found where it lies in a stretch, a booking or a live hold never,
    /// and the entry a stretch begins inside counts.
    #[test]
    fn first_lapsed_finds_the_first_expired_hold_in_a_stretch() {
        let mut calendar = Calendar::new();
        calendar.insert(0, 10, 100, token(1));
        calendar.insert(10, 20, BOOKED, token(2));
        calendar.insert(20, 30, 50, token(3));
        calendar.insert(30, 40, 200, token(4));
        assert_eq!(calendar.first_lapsed(5, 40, 50), Some(20));
        assert_eq!(calendar.first_lapsed(5, 40, 100), Some(0));
        assert_eq!(calendar.first_lapsed(10, 20, i64::MAX), None);
        assert_eq!(calendar.first_lapsed(21, 40, 49), None);
        assert_eq!(calendar.first_lapsed(31, 41, 200), Some(30));
        assert!(calendar.set_expiry(30, 40, token(4), BOOKED));
        assert_eq!(calendar.first_lapsed(31, 41, 200), None);
        assert_eq!(calendar.check(), Ok(()));
    }

    /// Goal: many entries (several chunks of the index's arena), removed in an order that moves
    /// nodes from the arena's end into every kind of hole, keep the index in step.
    #[test]
    fn gap_index_survives_many_chunks() {
        let mut calendar = Calendar::new();
        let count = 3 * limits::GAP_INDEX_CHUNK_NODES as i64 + 7;
        for i in 0..count {
            let start = (i * 7_919) % count * 10;
            calendar.insert(start, start + 5, i, token(start as u128));
        }
        assert_eq!(calendar.check(), Ok(()));
        for i in 0..count {
            let start = (i * 104_729) % count * 10;
            if start % 3 != 0 {
                assert!(calendar.remove(start, start + 5, token(start as u128)));
            }
        }
        assert_eq!(calendar.check(), Ok(()));
        assert_eq!(calendar.first_clear(0, 6, 0, 1), Some(5));
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(i64, i64, i64),
        Remove(usize),
        Expiry(usize, i64),
        Clear(i64, i64, i64),
        Lapsed(i64, i64, i64),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (0..400i64, 1..20i64, 0..10i64).prop_map(|(s, l, e)| Op::Insert(s, l, e)),
            2 => (0..64usize).prop_map(Op::Remove),
            1 => (0..64usize, 0..10i64).prop_map(|(i, e)| Op::Expiry(i, e)),
            2 => (-20..420i64, 1..40i64, 1..9i64).prop_map(|(f, d, s)| Op::Clear(f, d, s)),
            1 => (-20..420i64, 1..60i64, 0..10i64).prop_map(|(f, l, n)| Op::Lapsed(f, l, n)),
        ]
    }

    proptest::proptest! {
        /// Goal: under random inserts, removals and expiry changes, the gap index stays in step
        /// with the entries (the calendar's check) and its answers equal trying every step and
        /// looking at every entry.
        #[test]
        fn gap_index_matches_trying_every_step(ops in proptest::collection::vec(op(), 1..150)) {
            let mut calendar = Calendar::new();
            let mut held: Vec<(i64, i64, u128)> = Vec::new();
            let mut next = 0u128;
            for op in ops {
                match op {
                    Op::Insert(start, length, expiry) if calendar.has_room(start, start + length) => {
                        next += 1;
                        let expires_at_ms = if expiry == 0 { BOOKED } else { expiry };
                        calendar.insert(start, start + length, expires_at_ms, token(next));
                        held.push((start, start + length, next));
                    }
                    Op::Remove(i) if !held.is_empty() => {
                        let (start, end, n) = held.swap_remove(i % held.len());
                        proptest::prop_assert!(calendar.remove(start, end, token(n)));
                    }
                    Op::Expiry(i, expiry) if !held.is_empty() => {
                        let (start, end, n) = held[i % held.len()];
                        proptest::prop_assert!(calendar.set_expiry(start, end, token(n), expiry));
                    }
                    Op::Clear(from, duration, step) => {
                        proptest::prop_assert_eq!(
                            calendar.first_clear(from, duration, from, step),
                            Some(first_clear_by_steps(&calendar, from, duration, step))
                        );
                    }
                    Op::Lapsed(from, length, now) => {
                        let mut expected = None;
                        calendar.for_each_overlapping(from, from + length, |start, entry| {
                            if entry.expires_at_ms <= now {
                                expected = Some(expected.map_or(start, |e: i64| e.min(start)));
                            }
                        });
                        proptest::prop_assert_eq!(
                            calendar.first_lapsed(from, from + length, now),
                            expected
                        );
                    }
                    _ => {}
                }
                proptest::prop_assert_eq!(calendar.check(), Ok(()));
            }
        }
    }
}
