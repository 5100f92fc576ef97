//! Retention: finished reservations (expired, cancelled) and past bookings stay readable for
//! [`Settings::retention_seconds`](super::Settings) and are then dropped, so that memory
//! follows live work, not history. [`drop_at_ms`] is the one place that says when a reservation
//! may go; every path that files a reservation for dropping (confirm, cancel, expiry, and
//! restore's `link`) asks it, and so does cancel when it takes a booking out of its queue again.
//! Housekeeping drops what is due, a bounded number per call.

use super::Book;
use crate::core::reservation::{Reservation, Status};
use crate::limits;
use uuid::Uuid;

/// When `reservation` may be dropped, given its stored status, or `None` while it is an active
/// hold (which is kept as long as it lives).
///
/// - A booking is kept until `retention` after the end of its last segment: it is history only
///   once it is past. A booking always has a segment (commands and restore refuse none); should
///   it have none, its stored `reserved_at_ms` stands in, not the time of the call: cancel must
///   find the entry that confirm or restore filed, so a booking gives the same moment whenever
///   it is asked.
/// - A cancelled or expired reservation is kept until `retention` after `changed_at_ms`, the
///   moment the change that finished it ran (cancel, or expiry by the wheel or a read, which may
///   be later than `expires_at`). The finished queue drops from its front only, so stamps in the
///   order of the changes keep it in time order. Restore has no such moment at hand (`None`) and
///   takes what the reservation stores: `cancelled_at`, else `expired_at`, else `reserved_at`
///   (reached only by a record that stores neither).
pub(super) fn drop_at_ms(
    reservation: &Reservation,
    changed_at_ms: Option<i64>,
    retention_seconds: i64,
) -> Option<i64> {
    let kept_from_ms = match reservation.status {
        Status::Active => return None,
        Status::Converted => reservation
            .segments
            .iter()
            .map(|s| s.end_ms)
            .max()
            .unwrap_or(reservation.reserved_at_ms),
        Status::Cancelled | Status::Expired => changed_at_ms
            .or(reservation.outcome().cancelled_at_ms)
            .or(reservation.outcome().expired_at_ms)
            .unwrap_or(reservation.reserved_at_ms),
    };
    Some(kept_from_ms + retention_seconds * 1_000)
}

impl Book {
    /// Files the stored reservation `token`, no longer an active hold, in the queue that will
    /// drop it: bookings by their drop time, finished reservations in the order they finished.
    /// `changed_at_ms` is the moment of the change that finished it (see [`drop_at_ms`]).
    pub(super) fn retain(&mut self, token: Uuid, changed_at_ms: Option<i64>) {
        let reservation = &self.reservations[&token];
        let Some(drop_at_ms) =
            drop_at_ms(reservation, changed_at_ms, self.settings.retention_seconds)
        else {
            return;
        };
        if reservation.status == Status::Converted {
            self.bookings_by_drop.insert((drop_at_ms, token));
        } else {
            self.finished.push_back((drop_at_ms, token));
        }
    }

    /// Takes the stored booking `token` out of the bookings' queue (it is being cancelled, and
    /// goes to the finished queue instead). Called while it is still converted, so
    /// [`drop_at_ms`] gives the moment it was filed under.
    pub(super) fn release_booking(&mut self, token: Uuid) {
        let reservation = &self.reservations[&token];
        debug_assert_eq!(reservation.status, Status::Converted);
        if let Some(drop_at_ms) = drop_at_ms(reservation, None, self.settings.retention_seconds) {
            self.bookings_by_drop.remove(&(drop_at_ms, token));
        }
    }

    /// Drops finished reservations, past bookings and idempotency keys whose retention has run
    /// out, at most [`limits::HOUSEKEEPING_DROPS_PER_CALL`] reservations per call. Returns how many
    /// reservations it dropped.
    pub fn housekeeping(&mut self, now_ms: i64) -> usize {
        // Events age out on a quiet company too, not only when the next one is appended.
        self.events.drop_old(now_ms);
        let mut dropped = 0;
        while dropped < limits::HOUSEKEEPING_DROPS_PER_CALL {
            match self.finished.front() {
                Some(&(drop_at_ms, token)) if drop_at_ms <= now_ms => {
                    self.finished.pop_front();
                    // A reservation appears once here: it finishes once.
                    self.drop_reservation(token);
                    dropped += 1;
                }
                _ => break,
            }
        }
        while dropped < limits::HOUSEKEEPING_DROPS_PER_CALL {
            match self.bookings_by_drop.first() {
                Some(&(drop_at_ms, token)) if drop_at_ms <= now_ms => {
                    self.bookings_by_drop.pop_first();
                    let still_booked = self
                        .reservations
                        .get(&token)
                        .is_some_and(|r| r.status == Status::Converted);
                    if !still_booked {
                        continue;
                    }
                    self.unlink_calendars(token);
                    self.live -= 1;
                    self.drop_reservation(token);
                    dropped += 1;
                }
                _ => break,
            }
        }
        self.forget_idempotency_keys(now_ms);
        dropped
    }

    fn drop_reservation(&mut self, token: Uuid) {
        let Some(reservation) = self.reservations.remove(&token) else {
            return;
        };
        self.order.remove(&reservation.seq);
    }
}
