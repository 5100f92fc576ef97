//! `Calendar`: the intervals of one resource, ordered by start.
//!
//! Invariant: the entries of a calendar never overlap one another (half-open intervals, so
//! back-to-back entries are fine). Because they do not overlap and are ordered by start, their
//! ends are ordered too, so the entries that overlap a query `[start, end)` are one contiguous run
//! ending at the last entry that starts before `end`: a conflict check is one `O(log n)` descent
//! plus a walk back over exactly the overlapping entries.
//!
//! The calendar does not know whether an entry is a live hold, a stale (lazily expired) hold or a
//! booking; the `Book` decides that from the reservation the entry points to. A stale hold stays
//! in its calendar until the `Book` expires it, which it always does before inserting anything
//! that overlaps it, so the invariant holds for every entry, stale or not.

use std::collections::BTreeMap;
use uuid::Uuid;

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

/// The non-overlapping intervals of one resource.
#[derive(Clone, Debug, Default)]
pub struct Calendar {
    /// start -> entry. A `BTreeMap` because the conflict check needs "the last entry starting
    /// before `end`" in `O(log n)`, and availability walks entries in time order.
    entries: BTreeMap<i64, CalendarEntry>,
}

impl Calendar {
    /// An empty calendar.
    pub fn new() -> Calendar {
        Calendar::default()
    }

    /// Number of entries (live, stale or booked).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the calendar has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries overlapping `[start_ms, end_ms)`, latest first, as `(start_ms, entry)`.
    pub fn overlapping(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> impl Iterator<Item = (i64, CalendarEntry)> + '_ {
        self.entries
            .range(..end_ms)
            .rev()
            .take_while(move |(_, entry)| entry.end_ms > start_ms)
            .map(|(start, entry)| (*start, *entry))
    }

    /// Whether any entry overlaps `[start_ms, end_ms)`, whatever its state.
    pub fn has_overlap(&self, start_ms: i64, end_ms: i64) -> bool {
        self.overlapping(start_ms, end_ms).next().is_some()
    }

    /// Adds an entry. The caller has made room: an overlap is a programmer error, asserted in
    /// debug builds and tests.
    pub fn insert(&mut self, start_ms: i64, end_ms: i64, expires_at_ms: i64, token: Uuid) {
        debug_assert!(start_ms < end_ms, "empty interval inserted");
        debug_assert!(
            !self.has_overlap(start_ms, end_ms),
            "calendar overlap: [{start_ms}, {end_ms}) for {token}"
        );
        let entry = CalendarEntry {
            end_ms,
            expires_at_ms,
            token,
        };
        self.entries.insert(start_ms, entry);
    }

    /// Removes the entry starting at `start_ms` if it belongs to `token`; returns whether it did.
    pub fn remove(&mut self, start_ms: i64, token: Uuid) -> bool {
        match self.entries.get(&start_ms) {
            Some(entry) if entry.token == token => {
                self.entries.remove(&start_ms);
                true
            }
            _ => false,
        }
    }

    /// Sets the expiry of the entry starting at `start_ms` if it belongs to `token` (extend,
    /// confirm); returns whether it did.
    pub fn set_expiry(&mut self, start_ms: i64, token: Uuid, expires_at_ms: i64) -> bool {
        match self.entries.get_mut(&start_ms) {
            Some(entry) if entry.token == token => {
                entry.expires_at_ms = expires_at_ms;
                true
            }
            _ => false,
        }
    }

    /// All entries in time order, as `(start_ms, entry)`.
    pub fn iter(&self) -> impl Iterator<Item = (i64, CalendarEntry)> + '_ {
        self.entries.iter().map(|(start, entry)| (*start, *entry))
    }

    /// Checks the invariant over the whole calendar (tests and simulations).
    pub fn check_no_overlap(&self) -> Result<(), String> {
        let mut previous_end = i64::MIN;
        for (start, entry) in self.iter() {
            if start < previous_end {
                return Err(format!(
                    "entry at {start} starts before previous end {previous_end}"
                ));
            }
            if entry.end_ms <= start {
                return Err(format!("entry at {start} is empty or inverted"));
            }
            previous_end = entry.end_ms;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// Goal: back-to-back intervals do not overlap, and the walk finds exactly the overlapping run.
    #[test]
    fn overlapping_finds_exactly_the_overlapping_run() {
        let mut calendar = Calendar::new();
        for i in 0..10 {
            calendar.insert(i * 10, i * 10 + 10, BOOKED, token(i as u128));
        }
        assert!(!calendar.has_overlap(100, 110));
        assert!(!calendar.has_overlap(-10, 0));
        let hits: Vec<i64> = calendar.overlapping(15, 35).map(|(s, _)| s).collect();
        assert_eq!(hits, vec![30, 20, 10]);
        let hits: Vec<i64> = calendar.overlapping(20, 30).map(|(s, _)| s).collect();
        assert_eq!(hits, vec![20]);
        assert!(calendar.check_no_overlap().is_ok());
    }

    /// Goal: remove only removes the entry of the named token.
    #[test]
    fn remove_checks_the_token() {
        let mut calendar = Calendar::new();
        calendar.insert(0, 10, BOOKED, token(1));
        assert!(!calendar.remove(0, token(2)));
        assert!(calendar.remove(0, token(1)));
        assert!(calendar.is_empty());
    }
}
