//! Retention: finished reservations (expired, cancelled) and past bookings stay readable for
//! [`Settings::retention_seconds`](super::Settings) and are then dropped, so that memory
//! follows live work, not history. Housekeeping drops what is due, a bounded number per call.

use super::Book;
use crate::core::reservation::{Reservation, Status};
use crate::limits;
use uuid::Uuid;

impl Book {
    /// Drops finished reservations, past bookings and idempotency keys whose retention has run
    /// out, at most [`limits::HOUSEKEEPING_DROPS_PER_CALL`] reservations per call. Returns how many
    /// reservations it dropped.
    pub fn housekeeping(&mut self, now_ms: i64) -> usize {
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

    pub(super) fn booking_drop_at(&self, reservation: &Reservation) -> i64 {
        let last_end_ms = reservation
            .segments
            .iter()
            .map(|s| s.end_ms)
            .max()
            .unwrap_or(reservation.reserved_at_ms);
        last_end_ms + self.settings.retention_seconds * 1_000
    }

    fn drop_reservation(&mut self, token: Uuid) {
        let Some(reservation) = self.reservations.remove(&token) else {
            return;
        };
        self.order.remove(&reservation.seq);
    }
}
