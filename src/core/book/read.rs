//! Reads: lists (by call, status, resource and window, newest first) and the views every answer
//! is made of. A view is read at one instant: an active hold past its expiry reads as expired
//! whether or not anything has expired it yet.

use super::Book;
use crate::core::command::ListFilter;
use crate::core::reservation::{Reservation, ReservationView, SegmentView, Status};
use uuid::Uuid;

impl Book {
    pub(super) fn list_inner(&self, filter: &ListFilter, now_ms: i64) -> Vec<ReservationView> {
        let resource = match filter.resource() {
            Some(name) => match self.resource_ids.get(name) {
                Some(&id) => Some(id),
                None => return Vec::new(),
            },
            None => None,
        };
        let from_ms = filter.from_ms().unwrap_or(i64::MIN);
        let to_ms = filter.to_ms().unwrap_or(i64::MAX);
        let matches = |r: &Reservation| {
            filter.status().is_none_or(|s| r.status_at(now_ms) == s)
                && r.segments.iter().any(|s| {
                    resource.is_none_or(|id| s.resource == id)
                        && s.start_ms < to_ms
                        && from_ms < s.end_ms
                })
        };
        let mut found: Vec<&Reservation> = match filter.call_id() {
            Some(call_id) => {
                let tokens = self.reservations.call_tokens(call_id);
                let mut found: Vec<&Reservation> = tokens
                    .iter()
                    .map(|t| &self.reservations[t])
                    .filter(|r| matches(r))
                    .collect();
                found.sort_by_key(|r| std::cmp::Reverse(r.seq));
                found
            }
            None => self
                .order
                .values()
                .rev()
                .map(|slot| self.reservations.by_slot(*slot))
                .filter(|r| matches(r))
                .take(filter.limit())
                .collect(),
        };
        found.truncate(filter.limit());
        found.into_iter().map(|r| self.view_of(r, now_ms)).collect()
    }

    pub(super) fn view(&self, token: Uuid, now_ms: i64) -> ReservationView {
        self.view_of(&self.reservations[&token], now_ms)
    }

    fn view_of(&self, r: &Reservation, now_ms: i64) -> ReservationView {
        let status = r.status_at(now_ms);
        ReservationView {
            token: r.token,
            company: self.company.clone(),
            status,
            compound: r.segments.len() > 1,
            segments: r
                .segments
                .iter()
                .map(|s| SegmentView {
                    resource: self.resource_names[s.resource as usize].clone(),
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                })
                .collect(),
            call_id: r.call_id.clone(),
            customer_phone: r.customer_phone.clone(),
            service_id: r.service_id.clone(),
            reserved_at_ms: r.reserved_at_ms,
            expires_at_ms: r.expires_at_ms,
            time_remaining_seconds: r.time_remaining_seconds(now_ms),
            appointment_id: r.outcome().appointment_id.clone(),
            converted_at_ms: r.outcome().converted_at_ms,
            cancelled_at_ms: r.outcome().cancelled_at_ms,
            cancel_reason: r.outcome().cancel_reason.clone(),
            expired_at_ms: if status == Status::Expired {
                Some(r.outcome().expired_at_ms.unwrap_or(r.expires_at_ms))
            } else {
                None
            },
        }
    }
}
