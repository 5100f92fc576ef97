//! Creating a hold: the book's one atomic step. The request arrives checked (a command cannot be
//! built invalid); everything else a hold needs (its key's replay, the live limit, its search,
//! the resource bound, the conflict scan) is checked here before anything changes, so a refused hold leaves the book as it was, except for lazily
//! expired holds it found in its way, which every later check treats alike. Also where a
//! reservation is filed in every index (`link`), for a create and for a restore alike.

use super::{Book, HoldOutcome};
use crate::core::calendar::{Calendar, BOOKED};
use crate::core::command::{HoldRequest, HoldTarget, Idempotency, SegmentRequest};
use crate::core::error::BookError;
use crate::core::events::EventKind;
use crate::core::metrics::mask_phone;
use crate::core::reservation::{Reservation, ResourceId, Segment, Status};
use crate::limits;
use std::collections::BTreeSet;
use std::sync::Arc;
use uuid::Uuid;

impl Book {
    pub(super) fn hold_inner(
        &mut self,
        request: HoldRequest,
        idempotency: Option<Idempotency>,
        token: Uuid,
        now_ms: i64,
    ) -> Result<HoldOutcome, BookError> {
        debug_assert_eq!(
            request.idempotency_key(),
            idempotency.as_ref().map(Idempotency::key),
            "the idempotency handed in is the request's own"
        );
        if let Some(idempotency) = &idempotency {
            if let Some(outcome) = self.replay(idempotency, now_ms)? {
                return Ok(outcome);
            }
        }
        if self.live >= self.settings.live_reservations_max {
            self.sweep_expired_at_limit(now_ms);
        }
        if self.live >= self.settings.live_reservations_max {
            return Err(BookError::LimitReached {
                detail: format!(
                    "the company holds its maximum of {} live reservations",
                    self.settings.live_reservations_max
                ),
            });
        }
        let ignore_call = if request.replace_call_holds() {
            request.call_id()
        } else {
            None
        };
        let found: [SegmentRequest; 1];
        let segments: &[SegmentRequest] = match request.target() {
            HoldTarget::Segments(segments) => segments,
            HoldTarget::Find(find) => {
                found = [self.find_first(find, now_ms, ignore_call)?];
                &found
            }
        };
        let new_resources = segments
            .iter()
            .filter(|s| !self.resource_ids.contains_key(s.resource()))
            .map(|s| s.resource())
            .collect::<BTreeSet<_>>()
            .len();
        if self.resource_names.len() + new_resources > limits::RESOURCES_PER_COMPANY_MAX {
            return Err(BookError::LimitReached {
                detail: format!(
                    "the company uses its maximum of {} resources",
                    limits::RESOURCES_PER_COMPANY_MAX
                ),
            });
        }
        // Opening hours and closures, on the company's wall clock, before any conflict: a
        // time the resource is not open is refused whatever else holds it. A company that
        // configures nothing pays one length test, not a lookup per segment.
        if !self.configs.is_empty() {
            for segment in segments {
                if let Some(&resource) = self.resource_ids.get(segment.resource()) {
                    if !self.admits(resource, segment.start_ms(), segment.end_ms()) {
                        return Err(BookError::OutsideHours {
                            resource: segment.resource().to_string(),
                        });
                    }
                }
            }
        }
        let mut stale = Vec::new();
        let mut conflicts = Vec::new();
        for segment in segments {
            if let Some(&resource) = self.resource_ids.get(segment.resource()) {
                self.scan(
                    resource,
                    segment.start_ms(),
                    segment.end_ms(),
                    now_ms,
                    ignore_call,
                    &mut conflicts,
                    &mut stale,
                );
            }
        }
        self.expire_all(&stale, now_ms);
        if !conflicts.is_empty() {
            conflicts.truncate(limits::CONFLICTS_REPORTED_MAX);
            return Err(BookError::Conflict { conflicts });
        }
        // Success is certain from here on: nothing below can fail.
        if let (true, Some(call_id)) = (request.replace_call_holds(), request.call_id()) {
            self.replace_call_holds(call_id, now_ms);
        }
        self.insert(&request, segments, token, now_ms);
        if let Some(idempotency) = &idempotency {
            self.remember(
                idempotency.key().as_str(),
                idempotency.fingerprint(),
                token,
                now_ms,
            );
        }
        tracing::info!(
            event = "created",
            company = %self.company,
            token = %token,
            compound = segments.len() > 1,
            call_id = request.call_id(),
            phone = request.customer_phone().map(mask_phone),
            "reservation created"
        );
        Ok(HoldOutcome {
            reservation: self.record_event(EventKind::Created, token, now_ms),
            replayed: false,
        })
    }

    /// At the live limit, lazily expired holds still count as live until touched. Expires them
    /// all with one scan so the limit counts only what really blocks; at most once per
    /// [`limits::LIMIT_SWEEP_INTERVAL_MS`], because a company that is truly full would otherwise pay a
    /// full scan on every refused request. (The expiry wheel keeps stale holds rare anyway.)
    fn sweep_expired_at_limit(&mut self, now_ms: i64) {
        if now_ms < self.next_limit_sweep_ms {
            return;
        }
        self.next_limit_sweep_ms = now_ms + limits::LIMIT_SWEEP_INTERVAL_MS;
        let due: Vec<Uuid> = self
            .reservations
            .values()
            .filter(|r| r.status == Status::Active && now_ms >= r.expires_at_ms)
            .map(|r| r.token)
            .collect();
        self.expire_all(&due, now_ms);
    }

    pub(super) fn resource_id_or_create(&mut self, name: &str) -> ResourceId {
        if let Some(&id) = self.resource_ids.get(name) {
            return id;
        }
        let id = self.resource_names.len() as ResourceId;
        let name: Arc<str> = name.into();
        self.resource_names.push(name.clone());
        self.resource_ids.insert(name, id);
        self.calendars.push(Calendar::new());
        id
    }

    fn insert(
        &mut self,
        request: &HoldRequest,
        segments: &[SegmentRequest],
        token: Uuid,
        now_ms: i64,
    ) {
        let stored: Box<[Segment]> = segments
            .iter()
            .map(|s| Segment {
                resource: self.resource_id_or_create(s.resource()),
                start_ms: s.start_ms(),
                end_ms: s.end_ms(),
            })
            .collect();
        let call_id = request.call_id().map(Arc::from);
        let reservation = Reservation {
            token,
            seq: self.next_seq,
            status: Status::Active,
            segments: stored,
            call_id,
            customer_phone: request.customer_phone().map(Box::from),
            service_id: request.service_id().map(Box::from),
            reserved_at_ms: now_ms,
            expires_at_ms: now_ms + request.ttl_seconds() * 1_000,
            outcome: None,
        };
        if reservation.segments.len() > 1 {
            self.metrics.created_compound += 1;
        } else {
            self.metrics.created_single += 1;
        }
        self.link(reservation);
    }

    /// Adds a stored reservation to every index (its calendars only if live). Used by create and
    /// by restore.
    pub(super) fn link(&mut self, reservation: Reservation) {
        let token = reservation.token;
        assert!(
            !self.reservations.contains_key(&token),
            "token {token} reused"
        );
        if reservation.status.is_live() {
            let expires_at_ms = match reservation.status {
                Status::Active => reservation.expires_at_ms,
                _ => BOOKED,
            };
            for segment in reservation.segments.iter() {
                self.calendars[segment.resource as usize].insert(
                    segment.start_ms,
                    segment.end_ms,
                    expires_at_ms,
                    token,
                );
            }
            self.live += 1;
        }
        if reservation.status == Status::Active {
            self.active += 1;
        }
        self.next_seq = self.next_seq.max(reservation.seq + 1);
        let seq = reservation.seq;
        let slot = self.reservations.insert(reservation);
        self.order.insert(seq, slot);
        // A restored booking or finished reservation: no change is at hand, its stored times
        // say when it may go.
        self.retain(token, None);
    }

    fn replace_call_holds(&mut self, call_id: &str, now_ms: i64) {
        let tokens = self.reservations.call_tokens(call_id);
        for token in tokens {
            match self.reservations[&token].status_at(now_ms) {
                Status::Active => self.cancel_unchecked(token, "replaced", now_ms),
                Status::Expired if self.reservations[&token].status == Status::Active => {
                    self.expire(token, now_ms)
                }
                _ => {}
            }
        }
    }
}
