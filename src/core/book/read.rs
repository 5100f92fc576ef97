//! Reads: lists (by call, status, resource and window, newest first, a page at a time) and the
//! views every answer is made of. A view is read at one instant: an active hold past its expiry
//! reads as expired whether or not anything has expired it yet.
//!
//! A page walks the creation order down from where its cursor says (see
//! [`crate::core::command::cursor`]): `O(log n)` to find the start, then one step per
//! reservation examined, at most [`limits::LIST_SCAN_MAX`] of them, so a page costs
//! `O(log n + limit)` when most reservations match and never more than the bound when few do.
//! A list by call walks that call's chain instead (`O(k)` for a call with `k` reservations,
//! whatever the page), as every operation on a call does.

use super::Book;
use crate::core::command::{ListCursor, ListFilter};
use crate::core::reservation::{Reservation, ReservationView, SegmentView, Status};
use crate::limits;
use std::cmp::Reverse;
use uuid::Uuid;

/// One page of a list: reservations newest first, and where the next page begins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListPage {
    pub reservations: Vec<ReservationView>,
    /// `None` on the last page. A page may be shorter than its limit, even empty, and still
    /// have a next one, when it stopped at [`limits::LIST_SCAN_MAX`] reservations examined.
    pub next_cursor: Option<ListCursor>,
}

/// A page as found: the reservations, and the creation position the next page begins at.
type Found<'a> = (Vec<&'a Reservation>, Option<u64>);

impl Book {
    pub(super) fn list_inner(&self, filter: &ListFilter, now_ms: i64) -> ListPage {
        let resource = match filter.resource() {
            Some(name) => match self.resource_ids.get(name) {
                Some(&id) => Some(id),
                None => {
                    return ListPage {
                        reservations: Vec::new(),
                        next_cursor: None,
                    }
                }
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
        let (found, next_seq) = match filter.call_id() {
            Some(call_id) => self.call_page(call_id, filter, matches),
            None => self.order_page(filter, matches),
        };
        let scope = filter.scope(&self.company);
        ListPage {
            reservations: found.into_iter().map(|r| self.view_of(r, now_ms)).collect(),
            next_cursor: next_seq.map(|seq| ListCursor::new(seq, scope)),
        }
    }

    /// A page of the creation order, newest first, from the filter's start. It ends at the
    /// first match past a full page (the next page begins there, so the last page is known to
    /// be the last), or at the scan bound (the next page begins at the first reservation not
    /// examined).
    fn order_page(&self, filter: &ListFilter, matches: impl Fn(&Reservation) -> bool) -> Found<'_> {
        let positions = match filter.start_seq() {
            Some(start_seq) => self.order.range(..=start_seq),
            None => self.order.range(..),
        };
        let mut found = Vec::new();
        for (examined, (&seq, &slot)) in positions.rev().enumerate() {
            if examined == limits::LIST_SCAN_MAX {
                return (found, Some(seq));
            }
            let reservation = self.reservations.by_slot(slot);
            if !matches(reservation) {
                continue;
            }
            if found.len() == filter.limit() {
                return (found, Some(seq));
            }
            found.push(reservation);
        }
        (found, None)
    }

    /// A page of a call's reservations, newest first, from the filter's start. The call's chain
    /// is in no order, so all of it is read; only the page and the first match after it are
    /// sorted.
    fn call_page(
        &self,
        call_id: &str,
        filter: &ListFilter,
        matches: impl Fn(&Reservation) -> bool,
    ) -> Found<'_> {
        let start_seq = filter.start_seq().unwrap_or(u64::MAX);
        let mut found: Vec<&Reservation> = self
            .reservations
            .call_tokens(call_id)
            .iter()
            .map(|token| &self.reservations[token])
            .filter(|r| r.seq <= start_seq && matches(r))
            .collect();
        let limit = filter.limit();
        if found.len() > limit + 1 {
            found.select_nth_unstable_by_key(limit, |r| Reverse(r.seq));
            found.truncate(limit + 1);
        }
        found.sort_unstable_by_key(|r| Reverse(r.seq));
        let next_seq = found.get(limit).map(|r| r.seq);
        found.truncate(limit);
        (found, next_seq)
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
