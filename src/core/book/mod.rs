//! `Book`: everything one company holds. Its calendars (one per resource), its reservations by
//! token, the call-id index, idempotency keys and metrics, and every operation of the API as a
//! method that takes `now_ms`.
//!
//! Invariants (checked by [`Book::check_invariants`] in tests and simulations):
//! - on every resource, at no instant do more live reservations overlap than its capacity; after
//!   the capacity was lowered, reservations admitted before keep their places, so the bound is
//!   the capacity where a reservation admitted since the change is among them, and otherwise
//!   the largest capacity they were admitted under (the calendar's ceiling);
//! - a reservation is in the calendars exactly while its stored status is `Active` or
//!   `Converted` (an `Active` one may be lazily expired: it is in the calendar but blocks
//!   nothing, and is expired on the spot before anything is inserted over it);
//! - `active`/`live` count the stored `Active` / `Active`+`Converted` reservations;
//! - the call index, the creation order and the retention queues name exactly the reservations
//!   the `Book` holds;
//! - creation positions (`seq`) are unique and below the next one, which is at least the number
//!   of reservations ever created, so a list's cursor never meets a position twice.
//!
//! The `Book` is synchronous and deterministic: no clock, no randomness (tokens come in as
//! arguments), no I/O beyond `tracing` events.
//!
//! This file holds the book's state and its public face; each part of the work lives in a file
//! of its own:
//! - `config`: the company's settings and its resources' configuration;
//! - `hold`: creating a hold, all or nothing, and filing a reservation in every index;
//! - `change`: confirm, extend, cancel and expiry, the status machine's moves;
//! - `search`: the conflict scan, first available and availability;
//! - `read`: lists, a page at a time, and the views callers are answered with;
//! - `idempotency`: remembered keys, replays and their forgetting;
//! - `retention`: when a finished reservation or a past booking may go, and housekeeping;
//! - `restore`: a snapshot's export and the checks on what a snapshot brings back;
//! - `invariants`: the audit of everything above.

mod change;
mod config;
mod hold;
mod idempotency;
mod invariants;
mod read;
mod restore;
mod retention;
mod search;
mod webhooks;

pub use idempotency::IdempotencyRecord;
pub use read::ListPage;
pub use restore::{CapacityState, ExportHead};
pub use search::ResourceSlots;

use crate::core::calendar::Calendar;
use crate::core::command::{
    validate_capacity, validate_id, AvailabilityRequest, HoldRequest, Idempotency, ListFilter,
};
use crate::core::error::{BookError, ErrorType};
use crate::core::events::{Event, EventLog, EventPage};
use crate::core::metrics::{Metrics, MetricsReport};
use crate::core::queue::BlockQueue;
use crate::core::reservation::{Reservation, ReservationView, ResourceId, Status};
use crate::core::schedule::{CompanySettings, ResourceConfig};
use crate::core::store::{Slot, Store};
use crate::core::webhooks::WebhookEndpoint;
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

/// How many reservations a company holds, by kind (the admin listing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompanyCounts {
    /// Stored active holds, lazily expired ones the sweep has not reached yet included.
    pub active: usize,
    /// Stored active holds and bookings.
    pub live: usize,
    /// Every reservation kept, whatever its status.
    pub total: usize,
}

/// A company's counts under its id (the admin listing of every company).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompanyCountsOf {
    pub company: Arc<str>,
    pub counts: CompanyCounts,
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
    /// The company's time zone and defaults.
    company_settings: CompanySettings,
    /// Configured resources (label, capacity, hours, closures); a resource not here is open
    /// around the clock with capacity 1.
    configs: HashMap<ResourceId, ResourceConfig>,
    /// Reservations by token, densely stored, with the call-id index (see `store`).
    reservations: Store,
    /// Creation order (seq -> slot in the store), for newest-first lists and their cursors.
    /// Slots, not tokens: 12 bytes an entry instead of 24, which a million live holds notice.
    order: BTreeMap<u64, Slot>,
    /// The `seq` of the next reservation created. It grows by one per reservation created and
    /// never goes back, also across a restore (see `restore_metrics`), so a list's cursor keeps
    /// its place and replay gives every reservation the `seq` it had.
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
    /// One event per change, numbered per company; the newest kept for readers that resume.
    events: EventLog,
    /// Holds this book expired, with the time, since the owner last took them: the owner logs
    /// them, so that replay expires each at the same place (a read or a refused request expires
    /// what it finds past its time, and its own record, if any, would not say so).
    expired_untaken: Vec<(Uuid, i64)>,
    /// Webhook endpoints by id: their configuration and how far each got. The events after the
    /// lowest acknowledged `seq` are pinned in `events` for them.
    webhooks: BTreeMap<Arc<str>, WebhookEndpoint>,
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
            company_settings: CompanySettings::default(),
            configs: HashMap::new(),
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
            events: EventLog::default(),
            expired_untaken: Vec::new(),
            webhooks: BTreeMap::new(),
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

    /// The counts of the admin listing, as they are now.
    pub fn counts(&self) -> CompanyCounts {
        CompanyCounts {
            active: self.active,
            live: self.live,
            total: self.reservations.len(),
        }
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

    /// The name of a resource id.
    pub fn resource_name(&self, resource: ResourceId) -> &Arc<str> {
        &self.resource_names[resource as usize]
    }

    // ----- operations -------------------------------------------------------------------------

    /// Creates a hold (single, compound or first available), atomically: everything it needs is
    /// checked before anything changes. `idempotency` is the request's key with its fingerprint
    /// when it has a key (`None` otherwise), computed by the caller from the request's on-disk
    /// form, which the core does not know. `token` is the new reservation's id, made by the
    /// caller. A request that names no time to live gets the company's default.
    pub fn hold(
        &mut self,
        request: HoldRequest,
        idempotency: Option<Idempotency>,
        token: Uuid,
        now_ms: i64,
    ) -> Result<HoldOutcome, BookError> {
        let request = request.with_default_ttl(self.company_settings.default_ttl_seconds());
        let result = self.hold_inner(request, idempotency, token, now_ms);
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

    /// One page of the reservations matching every filter, newest first, from where the
    /// filter's cursor says.
    pub fn list(&mut self, filter: &ListFilter, now_ms: i64) -> Result<ListPage, BookError> {
        let found = self.list_inner(filter, now_ms);
        self.count(Ok(found))
    }

    /// Free start times per resource.
    pub fn availability(
        &mut self,
        request: &AvailabilityRequest,
        now_ms: i64,
    ) -> Result<Vec<ResourceSlots>, BookError> {
        let slots = self.availability_inner(request, now_ms);
        self.count(Ok(slots))
    }

    /// Sets how many live reservations may overlap at any instant on `resource` (1 to
    /// [`limits::RESOURCE_CAPACITY_MAX`]; a resource never configured has 1). It affects new
    /// holds only and never cancels anything: after a lowering, reservations already held keep
    /// their places even where they overlap more than the new capacity, and new holds are
    /// refused wherever the count is at or above it. The engine changes a capacity only through
    /// [`Book::put_resource`], whose change is logged; this is the core's own knob (tests,
    /// benches), kept in step with a configured resource's configuration.
    pub fn set_resource_capacity(
        &mut self,
        resource: &str,
        capacity: u32,
    ) -> Result<(), BookError> {
        validate_capacity("capacity", capacity)?;
        validate_id("resource", resource)?;
        let id = match self.resource_ids.get(resource) {
            Some(&id) => id,
            // A resource the book does not know has the default already: nothing to store.
            None if capacity == limits::RESOURCE_CAPACITY_DEFAULT => return Ok(()),
            None if self.resource_names.len() >= limits::RESOURCES_PER_COMPANY_MAX => {
                return Err(BookError::LimitReached {
                    detail: format!(
                        "the company uses its maximum of {} resources",
                        limits::RESOURCES_PER_COMPANY_MAX
                    ),
                })
            }
            None => self.resource_id_or_create(resource),
        };
        self.calendars[id as usize].set_capacity(capacity, self.next_seq);
        // A configured resource's configuration states its capacity: both stay one value, which
        // a snapshot's restore checks.
        if let Some(config) = self.configs.get_mut(&id) {
            config.set_capacity(capacity);
        }
        Ok(())
    }

    /// How many live reservations may overlap at any instant on `resource`.
    pub fn resource_capacity(&self, resource: &str) -> u32 {
        self.resource_ids
            .get(resource)
            .map_or(limits::RESOURCE_CAPACITY_DEFAULT, |&id| {
                self.calendars[id as usize].capacity()
            })
    }

    /// At most `limit` kept events after `after`, oldest first, with whether some after it are
    /// no longer kept.
    pub fn events_after(&self, after: u64, limit: usize) -> EventPage {
        self.events.after(after, limit)
    }

    /// The events appended since the last call, oldest first (the actor hands them to the
    /// subscribers once per message).
    pub fn take_new_events(&mut self) -> Vec<Arc<Event>> {
        self.events.take_new()
    }

    /// The holds expired since the last call, with the time each was expired at, in order.
    pub fn take_expired(&mut self) -> Vec<(Uuid, i64)> {
        std::mem::take(&mut self.expired_untaken)
    }

    /// The company's events: the `seq` the next one gets and the kept ones (snapshots).
    pub fn event_log(&self) -> &EventLog {
        &self.events
    }

    /// Replaces the event log (restore, before any replay).
    pub fn restore_event_log(&mut self, events: EventLog) {
        self.events = events;
        // The endpoints' claim on the events outlives the swap.
        let lowest = self.webhooks.values().map(|e| e.acknowledged_seq).min();
        self.events.pin(lowest);
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

    // ----- counting ---------------------------------------------------------------------------

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
}
