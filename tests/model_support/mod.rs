//! The naive model the property tests of the core `Book` (`tests/model.rs`) hold it to: a `Vec`
//! of reservations scanned linearly for every question, written for obviousness, not speed.
//! What it answers is what the book must answer. The seeded simulation (`tests/simulation.rs`)
//! asks it only the wall-clock rule of opening hours.

#![allow(dead_code)] // each test binary uses its own part of this module

use chrono::{Datelike, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Tz;
use holdfast::core::command::{AvailabilityRequest, HoldRequest, HoldTarget, ListFilter};
use holdfast::core::error::ErrorType;
use holdfast::core::reservation::{ReservationView, Status};
use holdfast::durability::fingerprint::request_fingerprint;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct ModelReservation {
    token: Uuid,
    status: Status,
    segments: Vec<(String, i64, i64)>,
    call_id: Option<String>,
    reserved_at_ms: i64,
    expires_at_ms: i64,
    appointment_id: Option<String>,
    cancel_reason: Option<String>,
    converted_at_ms: Option<i64>,
    cancelled_at_ms: Option<i64>,
}

impl ModelReservation {
    fn status_at(&self, now_ms: i64) -> Status {
        if self.status == Status::Active && now_ms >= self.expires_at_ms {
            Status::Expired
        } else {
            self.status
        }
    }
}

/// What both sides answer, reduced to what must be equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    token: Uuid,
    status: Status,
    segments: Vec<(String, i64, i64)>,
    call_id: Option<String>,
    expires_at_ms: i64,
    appointment_id: Option<String>,
    cancel_reason: Option<String>,
    converted_at_ms: Option<i64>,
    cancelled_at_ms: Option<i64>,
    expired_at_ms: Option<i64>,
}

pub fn answer_of_view(view: &ReservationView) -> Answer {
    Answer {
        token: view.token,
        status: view.status,
        segments: view
            .segments
            .iter()
            .map(|s| (s.resource.to_string(), s.start_ms, s.end_ms))
            .collect(),
        call_id: view.call_id.as_deref().map(str::to_string),
        expires_at_ms: view.expires_at_ms,
        appointment_id: view.appointment_id.as_deref().map(str::to_string),
        cancel_reason: view.cancel_reason.as_deref().map(str::to_string),
        converted_at_ms: view.converted_at_ms,
        cancelled_at_ms: view.cancelled_at_ms,
        expired_at_ms: view.expired_at_ms,
    }
}

/// When a configured resource is open: per weekday (Monday first) its opening intervals in
/// minutes after local midnight (`None`: around the clock), and its closures.
#[derive(Clone, Debug)]
pub struct ModelHours {
    pub days: Option<[Vec<(u16, u16)>; 7]>,
    pub closed: Vec<(i64, i64)>,
}

/// Every instant the tests use is a multiple of 15 minutes, every zone they use is a whole
/// number of quarter hours off UTC, and every opening time is a multiple of 15 minutes: walking
/// an interval in 15-minute steps visits every local time at which the answer can change.
const WALK_STEP_MS: i64 = 15 * 60 * 1_000;

pub struct Model {
    pub reservations: Vec<ModelReservation>,
    pub live_max: usize,
    /// key -> (fingerprint, token, created_at_ms)
    idempotency: Vec<(String, u64, Uuid, i64)>,
    /// resource -> capacity, for the resources configured (every other one has 1).
    capacities: Vec<(String, u32)>,
    /// resource -> hours, for the resources configured.
    hours: Vec<(String, ModelHours)>,
    pub zone: Tz,
    pub default_ttl_seconds: i64,
}

impl Default for Model {
    fn default() -> Model {
        Model {
            reservations: Vec::new(),
            live_max: usize::MAX,
            idempotency: Vec::new(),
            capacities: Vec::new(),
            hours: Vec::new(),
            zone: Tz::UTC,
            default_ttl_seconds: 300,
        }
    }
}

/// A conflict as both sides report it: resource, start, end, and whether it is a booking.
pub type ModelConflict = (String, i64, i64, bool);

pub type ModelResult<T> = Result<T, ErrorType>;

impl Model {
    /// An empty model of a book that holds at most `live_max` live reservations.
    pub fn new(live_max: usize) -> Model {
        Model {
            live_max,
            ..Model::default()
        }
    }

    pub fn answer(&self, r: &ModelReservation, now_ms: i64) -> Answer {
        let status = r.status_at(now_ms);
        Answer {
            token: r.token,
            status,
            segments: r.segments.clone(),
            call_id: r.call_id.clone(),
            expires_at_ms: r.expires_at_ms,
            appointment_id: r.appointment_id.clone(),
            cancel_reason: r.cancel_reason.clone(),
            converted_at_ms: r.converted_at_ms,
            cancelled_at_ms: r.cancelled_at_ms,
            expired_at_ms: (status == Status::Expired).then_some(r.expires_at_ms),
        }
    }

    pub fn find(&mut self, token: Uuid) -> ModelResult<&mut ModelReservation> {
        self.reservations
            .iter_mut()
            .find(|r| r.token == token)
            .ok_or(ErrorType::NotFound)
    }

    /// Sets a resource's capacity: 1 to 1,000, else `invalid_request`.
    pub fn set_capacity(&mut self, resource: &str, capacity: u32) -> ModelResult<()> {
        if !(1..=1_000).contains(&capacity) {
            return Err(ErrorType::InvalidRequest);
        }
        self.capacities.retain(|(r, _)| r != resource);
        self.capacities.push((resource.to_string(), capacity));
        Ok(())
    }

    /// Configures `resource`'s hours (its capacity stays); `None` removes its configuration,
    /// which brings a configured resource back to capacity 1.
    pub fn configure(&mut self, resource: &str, hours: Option<ModelHours>) {
        let was_configured = self.hours.iter().any(|(r, _)| r == resource);
        self.hours.retain(|(r, _)| r != resource);
        match hours {
            Some(hours) => self.hours.push((resource.to_string(), hours)),
            None if was_configured => self.capacities.retain(|(r, _)| r != resource),
            None => {}
        }
    }

    /// Whether `[start_ms, end_ms)` on `resource` may be held, by the rule written out: outside
    /// every closure, and every local time it covers inside one opening interval of the
    /// weekday its first instant falls on, on the wall clock of the zone.
    pub fn admits(&self, resource: &str, start_ms: i64, end_ms: i64) -> bool {
        let Some((_, hours)) = self.hours.iter().find(|(r, _)| r == resource) else {
            return true;
        };
        if hours
            .closed
            .iter()
            .any(|(s, e)| *s < end_ms && start_ms < *e)
        {
            return false;
        }
        let Some(days) = &hours.days else {
            return true;
        };
        let local = |ms: i64| -> NaiveDateTime {
            self.zone
                .timestamp_millis_opt(ms)
                .single()
                .expect("an instant has one local time")
                .naive_local()
        };
        let first = local(start_ms);
        let minute = |t: NaiveDateTime| (t.hour() * 60 + t.minute()) as u16;
        let weekday = first.date().weekday().num_days_from_monday() as usize;
        let Some(&(open, close)) = days[weekday]
            .iter()
            .find(|(o, c)| *o <= minute(first) && minute(first) < *c)
        else {
            return false;
        };
        let mut t = start_ms;
        while t < end_ms {
            let at = local(t);
            if at.date() != first.date() || minute(at) < open || minute(at) >= close {
                return false;
            }
            t += WALK_STEP_MS;
        }
        true
    }

    /// A resource's capacity (1 unless configured).
    pub fn capacity(&self, resource: &str) -> u32 {
        self.capacities
            .iter()
            .find(|(r, _)| r == resource)
            .map_or(1, |(_, capacity)| *capacity)
    }

    /// The segments on `resource` of every reservation that blocks at `now_ms` (bookings, and
    /// active holds other than `ignore_call`'s), with whether each is a booking.
    fn blocking_segments(
        &self,
        resource: &str,
        now_ms: i64,
        ignore_call: Option<&str>,
    ) -> Vec<(i64, i64, bool)> {
        let mut found = Vec::new();
        for r in &self.reservations {
            let blocks = match r.status_at(now_ms) {
                Status::Converted => true,
                Status::Active => ignore_call.is_none() || r.call_id.as_deref() != ignore_call,
                _ => false,
            };
            if blocks {
                for (res, s, e) in &r.segments {
                    if res == resource {
                        found.push((*s, *e, r.status == Status::Converted));
                    }
                }
            }
        }
        found
    }

    /// Whether `[start, end)` on `resource` has room for one more reservation at `now_ms`: at
    /// every instant of it, fewer than the capacity of the blocking reservations overlap. The
    /// count only rises where a segment starts, so checking `start` and every segment start
    /// inside the interval checks every instant.
    fn room(
        &self,
        resource: &str,
        start_ms: i64,
        end_ms: i64,
        now_ms: i64,
        ignore_call: Option<&str>,
    ) -> bool {
        let blocking = self.blocking_segments(resource, now_ms, ignore_call);
        let capacity = self.capacity(resource) as usize;
        let instants = std::iter::once(start_ms).chain(
            blocking
                .iter()
                .map(|(s, _, _)| *s)
                .filter(|s| start_ms < *s && *s < end_ms),
        );
        for instant in instants {
            let covering = blocking
                .iter()
                .filter(|(s, e, _)| *s <= instant && instant < *e)
                .count();
            if covering >= capacity {
                return false;
            }
        }
        true
    }

    /// The conflicts a refused hold of `segments` lists, sorted: on every segment without room,
    /// every blocking reservation's segment overlapping it.
    pub fn conflicts(
        &self,
        segments: &[(String, i64, i64)],
        now_ms: i64,
        ignore_call: Option<&str>,
    ) -> Vec<ModelConflict> {
        let mut conflicts = Vec::new();
        for (resource, start_ms, end_ms) in segments {
            if self.room(resource, *start_ms, *end_ms, now_ms, ignore_call) {
                continue;
            }
            for (s, e, booked) in self.blocking_segments(resource, now_ms, ignore_call) {
                if s < *end_ms && *start_ms < e {
                    conflicts.push((resource.clone(), s, e, booked));
                }
            }
        }
        conflicts.sort();
        conflicts
    }

    /// Whether two segments of one request overlap on one resource: such a request is invalid
    /// (it cannot even be built).
    pub fn overlaps_itself(segments: &[(String, i64, i64)]) -> bool {
        segments.iter().enumerate().any(|(i, (ra, sa, ea))| {
            segments[i + 1..]
                .iter()
                .any(|(rb, sb, eb)| ra == rb && sa < eb && sb < ea)
        })
    }

    /// A valid hold request, answered as the book must.
    pub fn hold(
        &mut self,
        request: &HoldRequest,
        token: Uuid,
        now_ms: i64,
    ) -> ModelResult<(Answer, bool)> {
        if let Some(key) = request.idempotency_key().map(|k| k.as_str()) {
            let found = self.idempotency.iter().find(|(k, ..)| k == key).cloned();
            if let Some((_, fingerprint, earlier, created_ms)) = found {
                if now_ms < created_ms + 24 * 3_600 * 1_000 {
                    if fingerprint != request_fingerprint(request) {
                        return Err(ErrorType::IdempotencyMismatch);
                    }
                    let r = self.find(earlier)?.clone();
                    return Ok((self.answer(&r, now_ms), true));
                }
            }
        }
        let live = self
            .reservations
            .iter()
            .filter(|r| r.status_at(now_ms).is_live())
            .count();
        if live >= self.live_max {
            return Err(ErrorType::LimitReached);
        }
        let ignore_call = if request.replace_call_holds() {
            request.call_id()
        } else {
            None
        };
        let segments: Vec<(String, i64, i64)> = match request.target() {
            HoldTarget::Segments(segments) => segments
                .iter()
                .map(|s| (s.resource().to_string(), s.start_ms(), s.end_ms()))
                .collect(),
            HoldTarget::Find(find) => {
                let mut found = None;
                let mut t = find.earliest_ms();
                let duration_ms = find.duration_ms();
                'search: while t + duration_ms <= find.latest_ms() {
                    for resource in find.resources() {
                        if self.admits(resource, t, t + duration_ms)
                            && self.room(resource, t, t + duration_ms, now_ms, ignore_call)
                        {
                            found = Some((resource.clone(), t, t + duration_ms));
                            break 'search;
                        }
                    }
                    t += find.step_ms();
                }
                vec![found.ok_or(ErrorType::NoSlot)?]
            }
        };
        for (resource, start, end) in &segments {
            if !self.admits(resource, *start, *end) {
                return Err(ErrorType::OutsideHours);
            }
        }
        for (resource, start, end) in &segments {
            if !self.room(resource, *start, *end, now_ms, ignore_call) {
                return Err(ErrorType::Conflict);
            }
        }
        if let (true, Some(call)) = (request.replace_call_holds(), request.call_id()) {
            for r in &mut self.reservations {
                if r.call_id.as_deref() == Some(call) && r.status_at(now_ms) == Status::Active {
                    r.status = Status::Cancelled;
                    r.cancelled_at_ms = Some(now_ms);
                    r.cancel_reason = Some("replaced".into());
                }
            }
        }
        let reservation = ModelReservation {
            token,
            status: Status::Active,
            segments,
            call_id: request.call_id().map(str::to_string),
            reserved_at_ms: now_ms,
            expires_at_ms: now_ms + request.ttl_seconds() * 1_000,
            appointment_id: None,
            cancel_reason: None,
            converted_at_ms: None,
            cancelled_at_ms: None,
        };
        let answer = self.answer(&reservation, now_ms);
        self.reservations.push(reservation);
        if let Some(key) = request.idempotency_key().map(|k| k.as_str()) {
            self.idempotency.retain(|(k, ..)| k != key);
            self.idempotency
                .push((key.to_string(), request_fingerprint(request), token, now_ms));
        }
        Ok((answer, false))
    }

    pub fn confirm(
        &mut self,
        token: Uuid,
        appointment: Option<String>,
        now_ms: i64,
    ) -> ModelResult<Answer> {
        let r = self.find(token)?;
        match r.status_at(now_ms) {
            Status::Active => {
                r.status = Status::Converted;
                r.converted_at_ms = Some(now_ms);
                r.appointment_id = Some(appointment.unwrap_or_else(|| token.to_string()));
            }
            Status::Converted => {
                if appointment.is_some() && appointment != r.appointment_id {
                    return Err(ErrorType::InvalidState);
                }
            }
            Status::Expired => return Err(ErrorType::Expired),
            Status::Cancelled => return Err(ErrorType::InvalidState),
        }
        let r = r.clone();
        Ok(self.answer(&r, now_ms))
    }

    pub fn extend(&mut self, token: Uuid, ttl_seconds: i64, now_ms: i64) -> ModelResult<Answer> {
        if !(1..=3_600).contains(&ttl_seconds) {
            return Err(ErrorType::InvalidRequest);
        }
        let r = self.find(token)?;
        match r.status_at(now_ms) {
            Status::Active => {}
            Status::Expired => return Err(ErrorType::Expired),
            _ => return Err(ErrorType::InvalidState),
        }
        let expires_at_ms = now_ms + ttl_seconds * 1_000;
        if expires_at_ms > r.reserved_at_ms + 3_600 * 1_000 {
            return Err(ErrorType::InvalidState);
        }
        r.expires_at_ms = expires_at_ms;
        let r = r.clone();
        Ok(self.answer(&r, now_ms))
    }

    pub fn cancel(
        &mut self,
        token: Uuid,
        reason: Option<String>,
        now_ms: i64,
    ) -> ModelResult<Answer> {
        let r = self.find(token)?;
        match r.status_at(now_ms) {
            Status::Active | Status::Converted => {
                r.status = Status::Cancelled;
                r.cancelled_at_ms = Some(now_ms);
                r.cancel_reason = Some(reason.unwrap_or_else(|| "unspecified".into()));
            }
            Status::Cancelled => {}
            Status::Expired => return Err(ErrorType::InvalidState),
        }
        let r = r.clone();
        Ok(self.answer(&r, now_ms))
    }

    pub fn list(&self, filter: &ListFilter, now_ms: i64) -> Vec<Answer> {
        let mut found: Vec<Answer> = self
            .reservations
            .iter()
            .rev()
            .filter(|r| filter.call_id().is_none() || r.call_id.as_deref() == filter.call_id())
            .filter(|r| filter.status().is_none_or(|s| r.status_at(now_ms) == s))
            .filter(|r| {
                r.segments.iter().any(|(res, s, e)| {
                    filter.resource().is_none_or(|f| f == res.as_str())
                        && *s < filter.to_ms().unwrap_or(i64::MAX)
                        && filter.from_ms().unwrap_or(i64::MIN) < *e
                })
            })
            .map(|r| self.answer(r, now_ms))
            .collect();
        found.truncate(filter.limit());
        found
    }

    pub fn availability(
        &self,
        request: &AvailabilityRequest,
        now_ms: i64,
    ) -> Vec<(String, Vec<i64>)> {
        let duration_ms = request.duration_ms();
        request
            .resources()
            .iter()
            .map(|resource| {
                let mut slots = Vec::new();
                let mut t = request.from_ms();
                while t + duration_ms <= request.to_ms() && slots.len() < 1_000 {
                    let room = self.admits(resource, t, t + duration_ms)
                        && self.room(resource, t, t + duration_ms, now_ms, request.call_id());
                    if room {
                        slots.push(t);
                    }
                    t += request.step_ms();
                }
                (resource.clone(), slots)
            })
            .collect()
    }
}
