//! `Book`: everything one company holds. Its calendars (one per resource), its reservations by
//! token, the call-id index, idempotency keys and metrics, and every operation of the API as a
//! method that takes `now_ms`.
//!
//! Invariants (checked by [`Book::check_invariants`] in tests and simulations):
//! - every calendar's entries are pairwise disjoint, so no two live reservations overlap;
//! - a reservation is in the calendars exactly while its stored status is `Active` or
//!   `Converted` (an `Active` one may be lazily expired: it is in the calendar but blocks
//!   nothing, and is expired on the spot before anything is inserted over it);
//! - `active`/`live` count the stored `Active` / `Active`+`Converted` reservations;
//! - the call index, the creation order and the retention queues name exactly the reservations
//!   the `Book` holds.
//!
//! The `Book` is synchronous and deterministic: no clock, no randomness (tokens come in as
//! arguments), no I/O beyond `tracing` events.

use crate::core::calendar::{Calendar, CalendarEntry, BOOKED};
use crate::core::command::{
    validate_reason, validate_text, validate_ttl, AvailabilityRequest, FindRequest, HoldRequest,
    HoldTarget, ListFilter, SegmentRequest,
};
use crate::core::error::{BookError, ErrorType};
use crate::core::metrics::{mask_phone, Metrics, MetricsReport};
use crate::core::queue::BlockQueue;
use crate::core::reservation::{
    ConflictKind, ConflictView, Reservation, ReservationView, ResourceId, Segment, SegmentView,
    Status,
};
use crate::core::store::{Slot, Store};
use crate::limits;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use uuid::Uuid;

/// The settings of a company's book that an operator may change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Live reservations (active holds and bookings) the company may have at once.
    pub live_reservations_max: usize,
    /// How far past `reserved_at` an extension may push `expires_at`, in seconds.
    pub extend_cap_seconds: i64,
    /// How long finished reservations and past bookings are kept, in seconds.
    pub retention_seconds: i64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            live_reservations_max: limits::LIVE_RESERVATIONS_MAX_DEFAULT,
            extend_cap_seconds: limits::EXTEND_CAP_SECONDS_DEFAULT,
            retention_seconds: limits::RETENTION_SECONDS_DEFAULT,
        }
    }
}

/// The answer to a create: the reservation, and whether it is the remembered answer to an
/// earlier request with the same idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldOutcome {
    pub reservation: ReservationView,
    pub replayed: bool,
}

/// What an idempotency key remembers: the request's fingerprint and the token it created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: u64,
    pub token: Uuid,
    pub created_at_ms: i64,
}

/// What a snapshot copies of a book at the moment its export begins, all at once: everything but
/// the reservations, which follow a chunk at a time ([`Book::export_chunk`]).
#[derive(Clone, Debug)]
pub struct ExportHead {
    pub company: Arc<str>,
    /// The log position of the last change the exported state holds.
    pub log_position: u64,
    /// Every interned resource name; a `ResourceId` indexes it.
    pub resource_names: Vec<Arc<str>>,
    /// The remembered idempotency keys, oldest first.
    pub idempotency: Vec<(Box<str>, IdempotencyRecord)>,
    pub metrics: Metrics,
}

/// Free start times of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceSlots {
    pub resource: Arc<str>,
    pub slots_ms: Vec<i64>,
}

/// One company's calendars and reservations.
#[derive(Debug)]
pub struct Book {
    company: Arc<str>,
    settings: Settings,
    /// Interned resource names; a `ResourceId` indexes this and `calendars`.
    resource_names: Vec<Arc<str>>,
    resource_ids: HashMap<Arc<str>, ResourceId>,
    calendars: Vec<Calendar>,
    /// Reservations by token, densely stored, with the call-id index (see `store`).
    reservations: Store,
    /// Creation order (seq -> slot in the store), for newest-first lists. Slots, not tokens:
    /// 12 bytes an entry instead of 24, which a million live holds notice.
    order: BTreeMap<u64, Slot>,
    next_seq: u64,
    idempotency: HashMap<Box<str>, IdempotencyRecord>,
    /// Keys in the order they were remembered, to forget them after 24 hours or past the bound.
    idempotency_order: BlockQueue<(i64, Box<str>)>,
    /// Expired and cancelled reservations with the time they may be dropped, oldest first.
    finished: BlockQueue<(i64, Uuid)>,
    /// Bookings by the time they may be dropped (end of their last segment plus retention).
    bookings_by_drop: BTreeSet<(i64, Uuid)>,
    active: usize,
    live: usize,
    /// Position in the durability log of the last change applied to this book (0: none). The
    /// book does not interpret it; the durability layer stores it with snapshots so that replay
    /// skips what a snapshot already holds.
    log_position: u64,
    /// Earliest time the next full sweep at the live limit may run.
    next_limit_sweep_ms: i64,
    metrics: Metrics,
}

impl Book {
    /// An empty book for `company`.
    pub fn new(company: impl Into<Arc<str>>, settings: Settings) -> Book {
        Book {
            company: company.into(),
            settings,
            resource_names: Vec::new(),
            resource_ids: HashMap::new(),
            calendars: Vec::new(),
            reservations: Store::default(),
            order: BTreeMap::new(),
            next_seq: 0,
            idempotency: HashMap::new(),
            idempotency_order: BlockQueue::default(),
            finished: BlockQueue::default(),
            bookings_by_drop: BTreeSet::new(),
            active: 0,
            live: 0,
            log_position: 0,
            next_limit_sweep_ms: i64::MIN,
            metrics: Metrics::default(),
        }
    }

    /// The company this book belongs to.
    pub fn company(&self) -> &Arc<str> {
        &self.company
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Stored active holds (including lazily expired ones not yet swept).
    pub fn active_count(&self) -> usize {
        self.active
    }

    /// Stored live reservations: active holds and bookings.
    pub fn live_count(&self) -> usize {
        self.live
    }

    /// Every reservation held, whatever its status.
    pub fn len(&self) -> usize {
        self.reservations.len()
    }

    /// Whether the book holds no reservation.
    pub fn is_empty(&self) -> bool {
        self.reservations.is_empty()
    }

    /// Whether a reservation with this token is held (any status). Replay checks it before
    /// re-running a logged hold, whose token must be new.
    pub fn contains(&self, token: Uuid) -> bool {
        self.reservations.contains_key(&token)
    }

    /// Position in the durability log of the last change applied (see the field's doc).
    pub fn log_position(&self) -> u64 {
        self.log_position
    }

    /// Records the durability log position of the change just applied (or restored).
    pub fn set_log_position(&mut self, position: u64) {
        self.log_position = position;
    }

    /// The counters (read-only).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The counters, for the actor to record what only it can measure (latency).
    pub fn metrics_mut(&mut self) -> &mut Metrics {
        &mut self.metrics
    }

    /// The stored reservations (for snapshots and audits), in no particular order.
    pub fn reservations(&self) -> impl Iterator<Item = &Reservation> {
        self.reservations.values()
    }

    /// Everything but the reservations, as it is now (see [`ExportHead`]).
    pub fn export_head(&self) -> ExportHead {
        ExportHead {
            company: self.company.clone(),
            log_position: self.log_position,
            resource_names: self.resource_names.clone(),
            idempotency: self
                .idempotency_records()
                .map(|(key, record)| (Box::from(key), *record))
                .collect(),
            metrics: self.metrics.clone(),
        }
    }

    /// Begins a point-in-time copy of the book for a snapshot: answers the head now, and the
    /// reservations as they are now follow through [`Book::export_chunk`], while the book goes on
    /// changing between chunks (the store saves a reservation before its first change). An
    /// export already under way is abandoned.
    pub fn begin_export(&mut self) -> ExportHead {
        self.reservations.begin_export();
        self.export_head()
    }

    /// Hands `visit` the next chunk of the export under way (at most `slots_max` slots of the
    /// store, plus the reservations saved before a change since the last chunk); answers whether
    /// the export is complete. See [`Store::export_chunk`].
    pub fn export_chunk(&mut self, slots_max: usize, visit: impl FnMut(&Reservation)) -> bool {
        self.reservations.export_chunk(slots_max, visit)
    }

    /// The name of a resource id.
    pub fn resource_name(&self, resource: ResourceId) -> &Arc<str> {
        &self.resource_names[resource as usize]
    }

    /// The remembered idempotency keys, oldest first.
    pub fn idempotency_records(&self) -> impl Iterator<Item = (&str, &IdempotencyRecord)> {
        self.idempotency_order.iter().filter_map(|(_, key)| {
            self.idempotency
                .get(key)
                .map(|record| (key.as_ref(), record))
        })
    }

    // ----- operations -------------------------------------------------------------------------

    /// Creates a hold (single, compound or first available), atomically: everything it needs is
    /// checked before anything changes. `token` is the new reservation's id, made by the caller.
    pub fn hold(
        &mut self,
        request: HoldRequest,
        token: Uuid,
        now_ms: i64,
    ) -> Result<HoldOutcome, BookError> {
        let result = self.hold_inner(request, token, now_ms);
        self.count(result)
    }

    /// Converts an active hold into a booking. Idempotent for the same appointment id (or none).
    pub fn confirm(
        &mut self,
        token: Uuid,
        appointment_id: Option<String>,
        now_ms: i64,
    ) -> Result<ReservationView, BookError> {
        self.metrics.confirm_attempts += 1;
        let result = self.confirm_inner(token, appointment_id, now_ms);
        if result.is_ok() {
            self.metrics.confirm_successes += 1;
        }
        self.count_for(Some(token), result)
    }

    /// Moves an active hold's expiry to `now + ttl_seconds`, within the extension cap.
    pub fn extend(
        &mut self,
        token: Uuid,
        ttl_seconds: i64,
        now_ms: i64,
    ) -> Result<ReservationView, BookError> {
        let result = self.extend_inner(token, ttl_seconds, now_ms);
        self.count_for(Some(token), result)
    }

    /// Cancels an active hold or a booking, freeing its slots. Idempotent.
    pub fn cancel(
        &mut self,
        token: Uuid,
        reason: Option<String>,
        now_ms: i64,
    ) -> Result<ReservationView, BookError> {
        let result = self.cancel_inner(token, reason, now_ms);
        self.count_for(Some(token), result)
    }

    /// Reads one reservation.
    pub fn get(&mut self, token: Uuid, now_ms: i64) -> Result<ReservationView, BookError> {
        let result = self.touch(token, now_ms).map(|()| self.view(token, now_ms));
        self.count_for(Some(token), result)
    }

    /// Lists reservations matching every filter, newest first.
    pub fn list(
        &mut self,
        filter: &ListFilter,
        now_ms: i64,
    ) -> Result<Vec<ReservationView>, BookError> {
        let result = filter.validate().map(|()| self.list_inner(filter, now_ms));
        self.count(result)
    }

    /// Free start times per resource.
    pub fn availability(
        &mut self,
        request: &AvailabilityRequest,
        now_ms: i64,
    ) -> Result<Vec<ResourceSlots>, BookError> {
        let result = request
            .validate()
            .map(|()| self.availability_inner(request, now_ms));
        self.count(result)
    }

    /// The API's metrics object.
    pub fn metrics_report(&self) -> MetricsReport {
        self.metrics.report(self.active as u64, self.live as u64)
    }

    /// Expires the named holds if they are due at `now_ms` (the expiry wheel's batch). Tokens
    /// that were extended, confirmed, cancelled or already expired are ignored. Returns how many
    /// this call expired.
    pub fn expire_due(&mut self, tokens: &[Uuid], now_ms: i64) -> usize {
        let mut expired = 0;
        for token in tokens {
            let due = self
                .reservations
                .get(token)
                .is_some_and(|r| r.status == Status::Active && now_ms >= r.expires_at_ms);
            if due {
                self.expire(*token, now_ms);
                expired += 1;
            }
        }
        expired
    }

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

    // ----- hold -------------------------------------------------------------------------------

    fn hold_inner(
        &mut self,
        request: HoldRequest,
        token: Uuid,
        now_ms: i64,
    ) -> Result<HoldOutcome, BookError> {
        request.validate()?;
        // Only a keyed request needs its fingerprint (it costs a formatted copy of the request).
        let fingerprint = request
            .idempotency_key
            .as_ref()
            .map_or(0, |_| request.fingerprint());
        if let Some(outcome) = self.replay(&request, fingerprint, now_ms)? {
            return Ok(outcome);
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
        let ignore_call = if request.replace_call_holds {
            request.call_id.as_deref()
        } else {
            None
        };
        let segments = match &request.target {
            HoldTarget::Segments(segments) => segments.clone(),
            HoldTarget::Find(find) => vec![self.find_first(find, now_ms, ignore_call)?],
        };
        let new_resources = segments
            .iter()
            .filter(|s| !self.resource_ids.contains_key(s.resource.as_str()))
            .map(|s| s.resource.as_str())
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
        let mut stale = Vec::new();
        let mut conflicts = Vec::new();
        for segment in &segments {
            if let Some(&resource) = self.resource_ids.get(segment.resource.as_str()) {
                self.scan(
                    resource,
                    segment.start_ms,
                    segment.end_ms,
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
        if let (true, Some(call_id)) = (request.replace_call_holds, request.call_id.as_deref()) {
            self.replace_call_holds(call_id, now_ms);
        }
        self.insert(&request, &segments, token, now_ms);
        if let Some(key) = &request.idempotency_key {
            self.remember(key, fingerprint, token, now_ms);
        }
        tracing::info!(
            event = "created",
            company = %self.company,
            token = %token,
            compound = segments.len() > 1,
            call_id = request.call_id.as_deref(),
            phone = request.customer_phone.as_deref().map(mask_phone),
            "reservation created"
        );
        Ok(HoldOutcome {
            reservation: self.view(token, now_ms),
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

    /// The remembered answer for this request's idempotency key, if any.
    fn replay(
        &mut self,
        request: &HoldRequest,
        fingerprint: u64,
        now_ms: i64,
    ) -> Result<Option<HoldOutcome>, BookError> {
        let Some(key) = &request.idempotency_key else {
            return Ok(None);
        };
        let Some(record) = self.idempotency.get(key.as_str()).copied() else {
            return Ok(None);
        };
        if now_ms >= record.created_at_ms + limits::IDEMPOTENCY_SECONDS * 1_000 {
            return Ok(None);
        }
        if record.fingerprint != fingerprint {
            return Err(BookError::IdempotencyMismatch);
        }
        if self.touch(record.token, now_ms).is_err() {
            // Dropped by retention (only when retention is shorter than a day): answer afresh.
            return Ok(None);
        }
        Ok(Some(HoldOutcome {
            reservation: self.view(record.token, now_ms),
            replayed: true,
        }))
    }

    /// Walks the entries overlapping `[start_ms, end_ms)` on `resource`: live ones (other than
    /// `ignore_call`'s active holds) are conflicts, lazily expired holds are collected in `stale`.
    #[allow(clippy::too_many_arguments)]
    fn scan(
        &self,
        resource: ResourceId,
        start_ms: i64,
        end_ms: i64,
        now_ms: i64,
        ignore_call: Option<&str>,
        conflicts: &mut Vec<ConflictView>,
        stale: &mut Vec<Uuid>,
    ) {
        for (entry_start_ms, entry) in
            self.calendars[resource as usize].overlapping(start_ms, end_ms)
        {
            match self.blocking(&entry, now_ms, ignore_call) {
                Blocking::Stale => stale.push(entry.token),
                Blocking::Free => {}
                Blocking::By(kind) => {
                    if conflicts.len() < limits::CONFLICTS_REPORTED_MAX {
                        conflicts.push(ConflictView {
                            resource: self.resource_names[resource as usize].clone(),
                            start_ms: entry_start_ms,
                            end_ms: entry.end_ms,
                            kind,
                        });
                    }
                }
            }
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

    /// The conflict check on its own: whether `[start_ms, end_ms)` on `resource` is free of live
    /// reservations at `now_ms`. Read-only (lazily expired holds count as free but stay stored).
    pub fn is_free(&self, resource: &str, start_ms: i64, end_ms: i64, now_ms: i64) -> bool {
        match self.resource_ids.get(resource) {
            Some(&id) => self
                .last_blocking_end(id, start_ms, end_ms, now_ms, None)
                .is_none(),
            None => true,
        }
    }

    /// The end of the latest blocking entry overlapping `[start_ms, end_ms)`, if any. Entries
    /// are walked latest first and their ends are ordered, so the first blocking one has the
    /// greatest end.
    fn last_blocking_end(
        &self,
        resource: ResourceId,
        start_ms: i64,
        end_ms: i64,
        now_ms: i64,
        ignore_call: Option<&str>,
    ) -> Option<i64> {
        self.calendars[resource as usize]
            .overlapping(start_ms, end_ms)
            .find(|(_, entry)| matches!(self.blocking(entry, now_ms, ignore_call), Blocking::By(_)))
            .map(|(_, entry)| entry.end_ms)
    }

    /// The earliest free start on one resource, stepping from `earliest_ms` by `step_ms`, with
    /// `t + duration_ms <= latest_ms`. Each miss jumps past the blocking entry, so the loop runs
    /// at most once per entry in the window.
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
        let mut start_ms = earliest_ms;
        while start_ms + duration_ms <= latest_ms {
            let Some(resource) = resource else {
                return Some(start_ms);
            };
            match self.last_blocking_end(
                resource,
                start_ms,
                start_ms + duration_ms,
                now_ms,
                ignore_call,
            ) {
                None => return Some(start_ms),
                Some(blocked_until_ms) => {
                    start_ms = next_step(earliest_ms, step_ms, blocked_until_ms);
                }
            }
        }
        None
    }

    fn find_first(
        &self,
        find: &FindRequest,
        now_ms: i64,
        ignore_call: Option<&str>,
    ) -> Result<SegmentRequest, BookError> {
        let mut best: Option<(i64, &String)> = None;
        for name in &find.resources {
            // Nothing can start earlier than the best so far except a strictly earlier step.
            let latest_ms = match best {
                Some((best_ms, _)) => (best_ms - 1 + find.duration_ms).min(find.latest_ms),
                None => find.latest_ms,
            };
            let resource = self.resource_ids.get(name.as_str()).copied();
            if let Some(start_ms) = self.earliest_free(
                resource,
                find.earliest_ms,
                latest_ms,
                find.duration_ms,
                find.step_ms,
                now_ms,
                ignore_call,
            ) {
                if best.is_none_or(|(best_ms, _)| start_ms < best_ms) {
                    best = Some((start_ms, name));
                }
            }
        }
        let (start_ms, name) = best.ok_or(BookError::NoSlot)?;
        Ok(SegmentRequest {
            resource: name.clone(),
            start_ms,
            end_ms: start_ms + find.duration_ms,
        })
    }

    fn resource_id_or_create(&mut self, name: &str) -> ResourceId {
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
                resource: self.resource_id_or_create(&s.resource),
                start_ms: s.start_ms,
                end_ms: s.end_ms,
            })
            .collect();
        let call_id = request.call_id.as_deref().map(Arc::from);
        let reservation = Reservation {
            token,
            seq: self.next_seq,
            status: Status::Active,
            segments: stored,
            call_id,
            customer_phone: request.customer_phone.as_deref().map(Box::from),
            service_id: request.service_id.as_deref().map(Box::from),
            reserved_at_ms: now_ms,
            expires_at_ms: now_ms + request.ttl_seconds * 1_000,
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
    fn link(&mut self, reservation: Reservation) {
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
        match reservation.status {
            Status::Active => self.active += 1,
            Status::Converted => {
                self.bookings_by_drop
                    .insert((self.booking_drop_at(&reservation), token));
            }
            Status::Expired | Status::Cancelled => {
                let finished_at_ms = reservation
                    .outcome()
                    .cancelled_at_ms
                    .or(reservation.outcome().expired_at_ms)
                    .unwrap_or(reservation.reserved_at_ms);
                self.finished.push_back((
                    finished_at_ms + self.settings.retention_seconds * 1_000,
                    token,
                ));
            }
        }
        self.next_seq = self.next_seq.max(reservation.seq + 1);
        let seq = reservation.seq;
        let slot = self.reservations.insert(reservation);
        self.order.insert(seq, slot);
    }

    fn booking_drop_at(&self, reservation: &Reservation) -> i64 {
        let last_end_ms = reservation
            .segments
            .iter()
            .map(|s| s.end_ms)
            .max()
            .unwrap_or(reservation.reserved_at_ms);
        last_end_ms + self.settings.retention_seconds * 1_000
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

    fn remember(&mut self, key: &str, fingerprint: u64, token: Uuid, now_ms: i64) {
        while self.idempotency.len() >= limits::IDEMPOTENCY_KEYS_MAX {
            let Some((_, oldest)) = self.idempotency_order.pop_front() else {
                break;
            };
            self.idempotency.remove(&oldest);
        }
        let key: Box<str> = key.into();
        let record = IdempotencyRecord {
            fingerprint,
            token,
            created_at_ms: now_ms,
        };
        if self.idempotency.insert(key.clone(), record).is_none() {
            self.idempotency_order.push_back((now_ms, key));
        }
    }

    fn forget_idempotency_keys(&mut self, now_ms: i64) {
        while let Some((created_at_ms, _)) = self.idempotency_order.front() {
            if now_ms < created_at_ms + limits::IDEMPOTENCY_SECONDS * 1_000 {
                break;
            }
            if let Some((_, key)) = self.idempotency_order.pop_front() {
                // A key re-remembered after expiry has a newer record: keep that one.
                let expired = self.idempotency.get(&key).is_some_and(|r| {
                    now_ms >= r.created_at_ms + limits::IDEMPOTENCY_SECONDS * 1_000
                });
                if expired {
                    self.idempotency.remove(&key);
                }
            }
        }
    }

    // ----- confirm, extend, cancel ------------------------------------------------------------

    fn confirm_inner(
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
        let retention_ms = self.settings.retention_seconds * 1_000;
        let reservation = self
            .reservations
            .get_mut(&token)
            .expect("touched just above");
        reservation.status = Status::Converted;
        let outcome = reservation.outcome_mut();
        outcome.converted_at_ms = Some(now_ms);
        outcome.appointment_id = Some(appointment_id);
        let lifetime_ms = now_ms - reservation.reserved_at_ms;
        let last_end_ms = reservation.segments.iter().map(|s| s.end_ms).max();
        let drop_at_ms = last_end_ms.unwrap_or(now_ms) + retention_ms;
        self.bookings_by_drop.insert((drop_at_ms, token));
        self.set_calendar_expiry(token, BOOKED);
        self.active -= 1;
        self.metrics.converted += 1;
        self.metrics
            .time_to_conversion_ms
            .record(lifetime_ms.max(0) as u64);
        tracing::info!(event = "converted", company = %self.company, token = %token, "reservation converted");
        Ok(self.view(token, now_ms))
    }

    fn extend_inner(
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
        Ok(self.view(token, now_ms))
    }

    fn cancel_inner(
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
    fn cancel_unchecked(&mut self, token: Uuid, reason: &str, now_ms: i64) {
        self.unlink_calendars(token);
        let retention_ms = self.settings.retention_seconds * 1_000;
        let reservation = self.reservations.get_mut(&token).expect("caller checked");
        let was = reservation.status;
        reservation.status = Status::Cancelled;
        let outcome = reservation.outcome_mut();
        outcome.cancelled_at_ms = Some(now_ms);
        outcome.cancel_reason = Some(reason.into());
        let booking_drop = (was == Status::Converted).then(|| {
            let last_end_ms = reservation.segments.iter().map(|s| s.end_ms).max();
            last_end_ms.unwrap_or(now_ms) + retention_ms
        });
        match booking_drop {
            Some(drop_at_ms) => {
                self.bookings_by_drop.remove(&(drop_at_ms, token));
            }
            None => self.active -= 1,
        }
        self.live -= 1;
        self.finished.push_back((now_ms + retention_ms, token));
        self.metrics.record_cancel(reason);
        tracing::info!(event = "cancelled", company = %self.company, token = %token, reason, "reservation cancelled");
    }

    /// Expires a stored-active hold that is due (the caller checked).
    fn expire(&mut self, token: Uuid, now_ms: i64) {
        self.unlink_calendars(token);
        let retention_ms = self.settings.retention_seconds * 1_000;
        let reservation = self.reservations.get_mut(&token).expect("caller checked");
        debug_assert_eq!(reservation.status, Status::Active);
        reservation.status = Status::Expired;
        let expired_at_ms = reservation.expires_at_ms;
        reservation.outcome_mut().expired_at_ms = Some(expired_at_ms);
        let lifetime_ms = reservation.expires_at_ms - reservation.reserved_at_ms;
        self.active -= 1;
        self.live -= 1;
        self.finished.push_back((now_ms + retention_ms, token));
        self.metrics.expired += 1;
        self.metrics
            .expired_lifetime_ms
            .record(lifetime_ms.max(0) as u64);
        tracing::info!(event = "expired", company = %self.company, token = %token, lifetime_ms, "reservation expired");
    }

    fn expire_all(&mut self, tokens: &[Uuid], now_ms: i64) {
        for token in tokens {
            // A compound hold may appear once per segment: expire it once.
            if self.reservations[token].status == Status::Active {
                self.expire(*token, now_ms);
            }
        }
    }

    /// Makes sure `token` exists and applies lazy expiry to it.
    fn touch(&mut self, token: Uuid, now_ms: i64) -> Result<(), BookError> {
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
                token,
                expires_at_ms,
            );
            debug_assert!(set, "live reservation {token} missing from its calendar");
        }
    }

    fn unlink_calendars(&mut self, token: Uuid) {
        let reservation = &self.reservations[&token];
        for segment in reservation.segments.iter() {
            let removed = self.calendars[segment.resource as usize].remove(segment.start_ms, token);
            debug_assert!(
                removed,
                "live reservation {token} missing from its calendar"
            );
        }
    }

    fn drop_reservation(&mut self, token: Uuid) {
        let Some(reservation) = self.reservations.remove(&token) else {
            return;
        };
        self.order.remove(&reservation.seq);
    }

    // ----- reads ------------------------------------------------------------------------------

    fn list_inner(&self, filter: &ListFilter, now_ms: i64) -> Vec<ReservationView> {
        let resource = match &filter.resource {
            Some(name) => match self.resource_ids.get(name.as_str()) {
                Some(&id) => Some(id),
                None => return Vec::new(),
            },
            None => None,
        };
        let from_ms = filter.from_ms.unwrap_or(i64::MIN);
        let to_ms = filter.to_ms.unwrap_or(i64::MAX);
        let matches = |r: &Reservation| {
            filter.status.is_none_or(|s| r.status_at(now_ms) == s)
                && r.segments.iter().any(|s| {
                    resource.is_none_or(|id| s.resource == id)
                        && s.start_ms < to_ms
                        && from_ms < s.end_ms
                })
        };
        let mut found: Vec<&Reservation> = match &filter.call_id {
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
                .take(filter.limit)
                .collect(),
        };
        found.truncate(filter.limit);
        found.into_iter().map(|r| self.view_of(r, now_ms)).collect()
    }

    fn availability_inner(&self, request: &AvailabilityRequest, now_ms: i64) -> Vec<ResourceSlots> {
        let ignore_call = request.call_id.as_deref();
        request
            .resources
            .iter()
            .map(|name| {
                let resource = self.resource_ids.get(name.as_str()).copied();
                let mut slots_ms = Vec::new();
                let mut start_ms = request.from_ms;
                while start_ms + request.duration_ms <= request.to_ms
                    && slots_ms.len() < limits::AVAILABILITY_SLOTS_MAX
                {
                    let blocked = resource.and_then(|id| {
                        self.last_blocking_end(
                            id,
                            start_ms,
                            start_ms + request.duration_ms,
                            now_ms,
                            ignore_call,
                        )
                    });
                    match blocked {
                        None => {
                            slots_ms.push(start_ms);
                            start_ms += request.step_ms;
                        }
                        Some(until_ms) => {
                            start_ms = next_step(request.from_ms, request.step_ms, until_ms)
                        }
                    }
                }
                ResourceSlots {
                    resource: self
                        .resource_ids
                        .get_key_value(name.as_str())
                        .map_or_else(|| name.as_str().into(), |(k, _)| k.clone()),
                    slots_ms,
                }
            })
            .collect()
    }

    fn view(&self, token: Uuid, now_ms: i64) -> ReservationView {
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

    /// Counts the request, and the error if it failed.
    fn count<T>(&mut self, result: Result<T, BookError>) -> Result<T, BookError> {
        self.count_for(None, result)
    }

    /// Counts the request about `token`, and the error if it failed, with one log event per
    /// error (at `info`, like the reservation events: callers' errors are expected answers, not
    /// faults of the server).
    fn count_for<T>(
        &mut self,
        token: Option<Uuid>,
        result: Result<T, BookError>,
    ) -> Result<T, BookError> {
        self.metrics.requests += 1;
        if let Err(error) = &result {
            let error_type = error.error_type();
            self.metrics.record_error(error_type);
            self.log_error(error_type, token);
        }
        result
    }

    /// Counts a request that the HTTP edge refused before it reached this book (a malformed
    /// body, a token that is not a UUID), so that the company's `requests` and `errors_by_type`
    /// cover everything it was asked; logged like the book's own errors.
    pub fn record_rejected(&mut self, error_type: ErrorType, token: Option<Uuid>) {
        self.metrics.record_rejected(error_type);
        self.log_error(error_type, token);
    }

    fn log_error(&self, error_type: ErrorType, token: Option<Uuid>) {
        tracing::info!(
            event = "error",
            company = %self.company,
            token = token.map(tracing::field::display),
            error_type = error_type.as_str(),
            "request refused"
        );
    }

    // ----- restore and audit ------------------------------------------------------------------

    /// Adds a reservation read back from a snapshot or log, by resource names. Refuses one that
    /// would overlap a live reservation, reuse a token, or name an invalid resource.
    pub fn restore_reservation<S: AsRef<str>>(
        &mut self,
        mut reservation: Reservation,
        segment_resources: &[S],
    ) -> Result<(), BookError> {
        if self.reservations.contains_key(&reservation.token) {
            return Err(BookError::invalid("token", "appears twice"));
        }
        if segment_resources.len() != reservation.segments.len() || reservation.segments.is_empty()
        {
            return Err(BookError::invalid(
                "segments",
                "resource names do not match segments",
            ));
        }
        for (index, name) in segment_resources.iter().enumerate() {
            let name = name.as_ref();
            crate::core::command::validate_id("resource", name)?;
            let resource = self.resource_id_or_create(name);
            reservation.segments[index].resource = resource;
            let segment = reservation.segments[index];
            if segment.end_ms <= segment.start_ms {
                return Err(BookError::invalid("segments", "empty interval"));
            }
            if reservation.status.is_live()
                && self.calendars[resource as usize].has_overlap(segment.start_ms, segment.end_ms)
            {
                return Err(BookError::invalid(
                    "segments",
                    "overlaps another live reservation",
                ));
            }
        }
        self.link(reservation);
        Ok(())
    }

    /// Replaces the counters (restore).
    pub fn restore_metrics(&mut self, metrics: Metrics) {
        self.metrics = metrics;
    }

    /// Re-remembers an idempotency key (restore).
    pub fn restore_idempotency(&mut self, key: &str, record: IdempotencyRecord) {
        self.remember(key, record.fingerprint, record.token, record.created_at_ms);
    }

    /// Checks every invariant of the module doc; `Err` names the first one broken.
    pub fn check_invariants(&self, now_ms: i64) -> Result<(), String> {
        let mut in_calendars = 0usize;
        for (index, calendar) in self.calendars.iter().enumerate() {
            calendar
                .check_no_overlap()
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
        if self.order.len() != self.reservations.len() {
            return Err("creation order and reservations differ in size".into());
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
        // No two reservations live at `now_ms` overlap on one resource (follows from the above,
        // checked directly as the property the product promises).
        let mut by_resource: HashMap<ResourceId, Vec<(i64, i64)>> = HashMap::new();
        for r in self.reservations.values().filter(|r| r.is_live_at(now_ms)) {
            for s in r.segments.iter() {
                by_resource
                    .entry(s.resource)
                    .or_default()
                    .push((s.start_ms, s.end_ms));
            }
        }
        for (resource, mut intervals) in by_resource {
            intervals.sort_unstable();
            for pair in intervals.windows(2) {
                if pair[1].0 < pair[0].1 {
                    return Err(format!(
                        "live overlap on {}: {:?} and {:?}",
                        self.resource_names[resource as usize], pair[0], pair[1]
                    ));
                }
            }
        }
        Ok(())
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

/// The first start on the grid `origin_ms + k * step_ms` (k >= 0) at or after `at_least_ms`.
fn next_step(origin_ms: i64, step_ms: i64, at_least_ms: i64) -> i64 {
    if at_least_ms <= origin_ms {
        return origin_ms;
    }
    let steps = (at_least_ms - origin_ms + step_ms - 1) / step_ms;
    origin_ms + steps * step_ms
}
