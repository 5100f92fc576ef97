//! The status machine's moves after a hold: confirm (active -> converted), extend (an active
//! hold's expiry), cancel (active or converted -> cancelled) and expiry (active -> expired, by
//! the wheel or lazily). Each keeps the calendars, the counters and the retention queues in step
//! with the stored status, which is what the book's invariants ask.

use super::Book;
use crate::core::calendar::BOOKED;
use crate::core::command::{validate_reason, validate_text, validate_ttl};
use crate::core::error::BookError;
use crate::core::events::EventKind;
use crate::core::reservation::{ReservationView, Status};
use uuid::Uuid;

impl Book {
    pub(super) fn confirm_inner(
        &mut self,
        token: Uuid,
        appointment_id: Option<String>,
        now_ms: i64,
    ) -> Result<ReservationView, BookError> {
        validate_text("appointment_id", appointment_id.as_deref())?;
        self.touch(token, now_ms)?;
        let reservation = &self.reservations[&token];
        match reservation.status {
            Status::Active => {}
            Status::Expired => return Err(BookError::Expired),
            Status::Converted => {
                let same = appointment_id
                    .as_deref()
                    .is_none_or(|id| reservation.outcome().appointment_id.as_deref() == Some(id));
                if same {
                    return Ok(self.view(token, now_ms));
                }
                return Err(BookError::InvalidState {
                    current_status: Status::Converted,
                    detail: "the hold is already confirmed with another appointment_id".into(),
                });
            }
            Status::Cancelled => {
                return Err(BookError::InvalidState {
                    current_status: Status::Cancelled,
                    detail: "a cancelled reservation cannot be confirmed".into(),
                })
            }
        }
        let appointment_id: Box<str> = appointment_id
            .map(String::into_boxed_str)
            .unwrap_or_else(|| token.to_string().into_boxed_str());
        let reservation = self
            .reservations
            .get_mut(&token)
            .expect("touched just above");
        reservation.status = Status::Converted;
        let outcome = reservation.outcome_mut();
        outcome.converted_at_ms = Some(now_ms);
        outcome.appointment_id = Some(appointment_id);
        let lifetime_ms = now_ms - reservation.reserved_at_ms;
        self.retain(token, Some(now_ms));
        self.set_calendar_expiry(token, BOOKED);
        self.active -= 1;
        self.metrics.converted += 1;
        self.metrics
            .time_to_conversion_ms
            .record(lifetime_ms.max(0) as u64);
        tracing::info!(event = "converted", company = %self.company, token = %token, "reservation converted");
        Ok(self.record_event(EventKind::Converted, token, now_ms))
    }

    pub(super) fn extend_inner(
        &mut self,
        token: Uuid,
        ttl_seconds: i64,
        now_ms: i64,
    ) -> Result<ReservationView, BookError> {
        validate_ttl("ttl_seconds", ttl_seconds)?;
        self.touch(token, now_ms)?;
        let cap_ms = self.settings.extend_cap_seconds * 1_000;
        let reservation = self.reservations.get_mut(&token).expect("touched");
        match reservation.status {
            Status::Active => {}
            Status::Expired => return Err(BookError::Expired),
            other => {
                return Err(BookError::InvalidState {
                    current_status: other,
                    detail: format!(
                        "only an active hold can be extended, this one is {}",
                        other.as_str()
                    ),
                })
            }
        }
        let expires_at_ms = now_ms + ttl_seconds * 1_000;
        if expires_at_ms > reservation.reserved_at_ms + cap_ms {
            return Err(BookError::InvalidState {
                current_status: Status::Active,
                detail: format!(
                    "a hold cannot be extended past {} seconds after it was reserved",
                    cap_ms / 1_000
                ),
            });
        }
        reservation.expires_at_ms = expires_at_ms;
        self.set_calendar_expiry(token, expires_at_ms);
        Ok(self.record_event(EventKind::Extended, token, now_ms))
    }

    pub(super) fn cancel_inner(
        &mut self,
        token: Uuid,
        reason: Option<String>,
        now_ms: i64,
    ) -> Result<ReservationView, BookError> {
        let reason = reason.unwrap_or_else(|| "unspecified".to_string());
        validate_reason("reason", &reason)?;
        self.touch(token, now_ms)?;
        match self.reservations[&token].status {
            Status::Active | Status::Converted => self.cancel_unchecked(token, &reason, now_ms),
            Status::Cancelled => {}
            Status::Expired => {
                return Err(BookError::InvalidState {
                    current_status: Status::Expired,
                    detail: "the hold has expired; its slot is already free".into(),
                })
            }
        }
        Ok(self.view(token, now_ms))
    }

    /// Cancels a live reservation (the caller checked it is live).
    pub(super) fn cancel_unchecked(&mut self, token: Uuid, reason: &str, now_ms: i64) {
        self.unlink_calendars(token);
        if self.reservations[&token].status == Status::Converted {
            self.release_booking(token);
        } else {
            self.active -= 1;
        }
        let reservation = self.reservations.get_mut(&token).expect("caller checked");
        reservation.status = Status::Cancelled;
        let outcome = reservation.outcome_mut();
        outcome.cancelled_at_ms = Some(now_ms);
        outcome.cancel_reason = Some(reason.into());
        self.live -= 1;
        self.retain(token, Some(now_ms));
        self.metrics.record_cancel(reason);
        tracing::info!(event = "cancelled", company = %self.company, token = %token, reason, "reservation cancelled");
        self.record_event(EventKind::Cancelled, token, now_ms);
    }

    /// Expires a stored-active hold that is due (the caller checked).
    pub(super) fn expire(&mut self, token: Uuid, now_ms: i64) {
        self.unlink_calendars(token);
        let reservation = self.reservations.get_mut(&token).expect("caller checked");
        debug_assert_eq!(reservation.status, Status::Active);
        reservation.status = Status::Expired;
        let expired_at_ms = reservation.expires_at_ms;
        reservation.outcome_mut().expired_at_ms = Some(expired_at_ms);
        let lifetime_ms = reservation.expires_at_ms - reservation.reserved_at_ms;
        self.active -= 1;
        self.live -= 1;
        self.retain(token, Some(now_ms));
        self.metrics.expired += 1;
        self.metrics
            .expired_lifetime_ms
            .record(lifetime_ms.max(0) as u64);
        tracing::info!(event = "expired", company = %self.company, token = %token, lifetime_ms, "reservation expired");
        self.record_event(EventKind::Expired, token, now_ms);
        self.expired_untaken.push((token, now_ms));
    }

    /// Appends the event of the change just made to `token` and answers the reservation as the
    /// event carries it.
    pub(super) fn record_event(
        &mut self,
        kind: EventKind,
        token: Uuid,
        now_ms: i64,
    ) -> ReservationView {
        let view = self.view(token, now_ms);
        self.events.push(kind, now_ms, view.clone());
        view
    }

    pub(super) fn expire_all(&mut self, tokens: &[Uuid], now_ms: i64) {
        for token in tokens {
            // A compound hold may appear once per segment: expire it once.
            if self.reservations[token].status == Status::Active {
                self.expire(*token, now_ms);
            }
        }
    }

    /// Makes sure `token` exists and applies lazy expiry to it.
    pub(super) fn touch(&mut self, token: Uuid, now_ms: i64) -> Result<(), BookError> {
        let reservation = self.reservations.get(&token).ok_or(BookError::NotFound)?;
        if reservation.status == Status::Active && now_ms >= reservation.expires_at_ms {
            self.expire(token, now_ms);
        }
        Ok(())
    }

    /// Copies a live reservation's new expiry (or [`BOOKED`]) into its calendar entries.
    fn set_calendar_expiry(&mut self, token: Uuid, expires_at_ms: i64) {
        let reservation = &self.reservations[&token];
        for segment in reservation.segments.iter() {
            let set = self.calendars[segment.resource as usize].set_expiry(
                segment.start_ms,
                segment.end_ms,
                token,
                expires_at_ms,
            );
            debug_assert!(set, "live reservation {token} missing from its calendar");
        }
    }

    /// Takes a live reservation out of its calendars (cancel, expiry, dropping a past booking).
    pub(super) fn unlink_calendars(&mut self, token: Uuid) {
        let reservation = &self.reservations[&token];
        for segment in reservation.segments.iter() {
            let removed = self.calendars[segment.resource as usize].remove(
                segment.start_ms,
                segment.end_ms,
                token,
            );
            debug_assert!(
                removed,
                "live reservation {token} missing from its calendar"
            );
        }
    }
}
