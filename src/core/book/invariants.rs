//! The audit of the book's invariants (listed in the module doc of [`super`]): run after every
//! step of the property tests and the simulation, and by the actors' `CheckInvariants` message.
//! It recomputes everything from the stored reservations and compares, so it is slow (linear in
//! the book) and never runs on a request path.

use super::retention::drop_at_ms as drop_at_ms_of;
use super::Book;
use crate::core::calendar::BOOKED;
use crate::core::reservation::{ResourceId, Status};
use std::collections::{HashMap, HashSet};

impl Book {
    /// Checks every invariant of the module doc; `Err` names the first one broken.
    pub fn check_invariants(&self, now_ms: i64) -> Result<(), String> {
        self.check_calendars()?;
        self.check_counters()?;
        self.check_indexes()?;
        self.check_retention_queues()?;
        self.check_configs()?;
        self.check_capacity(now_ms)
    }

    /// A configured resource's calendar runs at the capacity its configuration states (a
    /// snapshot stores both, and restore refuses them apart).
    fn check_configs(&self) -> Result<(), String> {
        for (id, config) in &self.configs {
            let calendar = self
                .calendars
                .get(*id as usize)
                .ok_or_else(|| format!("configuration of unknown resource id {id}"))?;
            if calendar.capacity() != config.capacity() {
                return Err(format!(
                    "resource {}: configured capacity {} but calendar capacity {}",
                    self.resource_names[*id as usize],
                    config.capacity(),
                    calendar.capacity()
                ));
            }
        }
        Ok(())
    }

    /// Calendars keep their own invariants (form, filing, no more overlap than their ceiling),
    /// and hold exactly the live segments, with their current expiry.
    fn check_calendars(&self) -> Result<(), String> {
        let mut in_calendars = 0usize;
        for (index, calendar) in self.calendars.iter().enumerate() {
            calendar
                .check()
                .map_err(|e| format!("resource {}: {e}", self.resource_names[index]))?;
            for (start_ms, entry) in calendar.iter() {
                let r = self
                    .reservations
                    .get(&entry.token)
                    .ok_or_else(|| format!("calendar names unknown token {}", entry.token))?;
                if !r.status.is_live() {
                    return Err(format!("{} is {:?} but in a calendar", r.token, r.status));
                }
                let expected_expiry = match r.status {
                    Status::Active => r.expires_at_ms,
                    _ => BOOKED,
                };
                if entry.expires_at_ms != expected_expiry {
                    return Err(format!("calendar expiry of {} is stale", r.token));
                }
                let matching = r.segments.iter().any(|s| {
                    s.resource as usize == index
                        && s.start_ms == start_ms
                        && s.end_ms == entry.end_ms
                });
                if !matching {
                    return Err(format!("calendar entry of {} matches no segment", r.token));
                }
                in_calendars += 1;
            }
        }
        let live_segments: usize = self
            .reservations
            .values()
            .filter(|r| r.status.is_live())
            .map(|r| r.segments.len())
            .sum();
        if live_segments != in_calendars {
            return Err(format!(
                "{live_segments} live segments but {in_calendars} calendar entries"
            ));
        }
        Ok(())
    }

    /// `active` and `live` count what is stored.
    fn check_counters(&self) -> Result<(), String> {
        let active = self
            .reservations
            .values()
            .filter(|r| r.status == Status::Active)
            .count();
        let live = self
            .reservations
            .values()
            .filter(|r| r.status.is_live())
            .count();
        if active != self.active || live != self.live {
            return Err(format!(
                "counted active {}/live {} but stored {active}/{live}",
                self.active, self.live
            ));
        }
        Ok(())
    }

    /// The creation order and the call index name exactly the stored reservations, and the
    /// next creation position is past every one used.
    fn check_indexes(&self) -> Result<(), String> {
        if self.order.len() != self.reservations.len() {
            return Err("creation order and reservations differ in size".into());
        }
        if self.next_seq < self.metrics.created() {
            return Err(format!(
                "next creation position {} is below the {} created",
                self.next_seq,
                self.metrics.created()
            ));
        }
        if self
            .order
            .keys()
            .next_back()
            .is_some_and(|seq| *seq >= self.next_seq)
        {
            return Err("a creation position is not below the next one".into());
        }
        for (seq, slot) in &self.order {
            if self.reservations.get_slot(*slot).map(|r| r.seq) != Some(*seq) {
                return Err(format!(
                    "creation order names slot {slot} for seq {seq} wrongly"
                ));
            }
        }
        let indexed = self.reservations.chained_count();
        let with_call = self
            .reservations
            .values()
            .filter(|r| r.call_id.is_some())
            .count();
        if indexed != with_call {
            return Err(format!(
                "call index has {indexed}, reservations {with_call}"
            ));
        }
        Ok(())
    }

    /// The retention queues name each stored booking (under the moment `retention::drop_at_ms`
    /// gives it,
    /// so that a cancel finds its entry) and each stored finished reservation, once.
    fn check_retention_queues(&self) -> Result<(), String> {
        let retention_seconds = self.settings.retention_seconds;
        for &(drop_at_ms, token) in &self.bookings_by_drop {
            let r = self
                .reservations
                .get(&token)
                .ok_or_else(|| format!("bookings' queue names unknown token {token}"))?;
            if r.status != Status::Converted {
                return Err(format!(
                    "{token} is {:?} but in the bookings' queue",
                    r.status
                ));
            }
            if Some(drop_at_ms) != drop_at_ms_of(r, None, retention_seconds) {
                return Err(format!("{token} is filed under the wrong drop time"));
            }
        }
        let mut finished = HashSet::new();
        for &(_, token) in self.finished.iter() {
            let r = self
                .reservations
                .get(&token)
                .ok_or_else(|| format!("finished queue names unknown token {token}"))?;
            if !matches!(r.status, Status::Expired | Status::Cancelled) {
                return Err(format!(
                    "{token} is {:?} but in the finished queue",
                    r.status
                ));
            }
            if !finished.insert(token) {
                return Err(format!("{token} is in the finished queue twice"));
            }
        }
        let (mut booked, mut ended) = (0, 0);
        for r in self.reservations.values() {
            match r.status {
                Status::Converted => booked += 1,
                Status::Expired | Status::Cancelled => ended += 1,
                Status::Active => {}
            }
        }
        if booked != self.bookings_by_drop.len() || ended != finished.len() {
            return Err(format!(
                "{booked} bookings and {ended} finished stored, but queued {} and {}",
                self.bookings_by_drop.len(),
                finished.len()
            ));
        }
        Ok(())
    }

    /// On every resource, at no instant do more reservations live at `now_ms` overlap than the
    /// capacity allows (follows from the above and the admission rule, checked directly as the
    /// property the product promises). A reservation is admitted only where fewer than the
    /// capacity then in force overlap it, and liveness only ends, so at any instant the latest
    /// admitted of those overlapping bounds them all: where one admitted since the capacity's
    /// last change is among them, at most the capacity overlap; elsewhere, at most the ceiling
    /// (the largest capacity in force while they were admitted).
    fn check_capacity(&self, now_ms: i64) -> Result<(), String> {
        // Per resource: (instant, +1 or -1, admitted since the capacity's last change).
        let mut events: HashMap<ResourceId, Vec<(i64, i32, bool)>> = HashMap::new();
        for r in self.reservations.values().filter(|r| r.is_live_at(now_ms)) {
            for s in r.segments.iter() {
                let calendar = &self.calendars[s.resource as usize];
                let recent = r.seq >= calendar.capacity_set_at_seq();
                let events = events.entry(s.resource).or_default();
                events.push((s.start_ms, 1, recent));
                events.push((s.end_ms, -1, recent));
            }
        }
        for (resource, mut events) in events {
            let calendar = &self.calendars[resource as usize];
            let (capacity, ceiling) = (calendar.capacity(), calendar.capacity_ceiling());
            // Ends before starts at one instant: half-open intervals that touch do not overlap.
            events.sort_unstable_by_key(|&(at_ms, delta, _)| (at_ms, delta));
            let (mut depth, mut recent_depth) = (0u32, 0u32);
            for (at_ms, delta, recent) in events {
                depth = depth.wrapping_add_signed(delta);
                if recent {
                    recent_depth = recent_depth.wrapping_add_signed(delta);
                }
                let bound = if recent_depth > 0 { capacity } else { ceiling };
                if delta > 0 && depth > bound {
                    return Err(format!(
                        "{depth} live reservations overlap on {} at {at_ms}, {} allows {bound}",
                        self.resource_names[resource as usize],
                        if recent_depth > 0 {
                            "its capacity"
                        } else {
                            "its ceiling"
                        },
                    ));
                }
            }
        }
        Ok(())
    }
}
