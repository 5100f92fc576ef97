//! Property tests of the core `Book` against a deliberately naive model: a `Vec` of reservations
//! scanned linearly for every question. Random sequences of every operation, with random clock
//! advances, must get the same answers from both, and the book's invariants (no two live
//! intervals overlapping on one resource among them) must hold after every step. Snapshot
//! exports begin and advance a chunk at a time between the operations: each must come out as
//! the book was when it began.

use holdfast::core::book::{Book, Settings};
use holdfast::core::command::{
    AvailabilityRequest, FindRequest, HoldRequest, HoldTarget, ListFilter, SegmentRequest,
};
use holdfast::core::error::{BookError, ErrorType};
use holdfast::core::reservation::{ReservationView, Status};
use holdfast::durability::snapshot::{
    decode_company, export_company, CompanyExport, CompanySnapshotV1,
};
use proptest::prelude::*;
use uuid::Uuid;

/// One slot of the test grid: 15 minutes.
const SLOT_MS: i64 = 15 * 60 * 1_000;
/// The grid starts here (2027-01-01T00:00:00Z).
const BASE_MS: i64 = 1_798_761_600_000;
const RESOURCES: [&str; 3] = ["r0", "r1", "r2"];
const CALLS: [&str; 3] = ["call-a", "call-b", "call-c"];

// ----- the naive model ----------------------------------------------------------------------

#[derive(Clone, Debug)]
struct ModelReservation {
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
struct Answer {
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

fn answer_of_view(view: &ReservationView) -> Answer {
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

#[derive(Default)]
struct Model {
    reservations: Vec<ModelReservation>,
    live_max: usize,
    /// key -> (fingerprint, token, created_at_ms)
    idempotency: Vec<(String, u64, Uuid, i64)>,
}

type ModelResult<T> = Result<T, ErrorType>;

impl Model {
    fn answer(&self, r: &ModelReservation, now_ms: i64) -> Answer {
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

    fn find(&mut self, token: Uuid) -> ModelResult<&mut ModelReservation> {
        self.reservations
            .iter_mut()
            .find(|r| r.token == token)
            .ok_or(ErrorType::NotFound)
    }

    /// Whether `[start, end)` on `resource` is free at `now_ms`, with `ignore_call`'s active holds
    /// counting as free.
    fn free(
        &self,
        resource: &str,
        start_ms: i64,
        end_ms: i64,
        now_ms: i64,
        ignore_call: Option<&str>,
    ) -> bool {
        self.reservations.iter().all(|r| {
            let status = r.status_at(now_ms);
            let blocks = match status {
                Status::Converted => true,
                Status::Active => ignore_call.is_none() || r.call_id.as_deref() != ignore_call,
                _ => false,
            };
            !blocks
                || r.segments
                    .iter()
                    .all(|(res, s, e)| res != resource || *e <= start_ms || end_ms <= *s)
        })
    }

    fn hold(
        &mut self,
        request: &HoldRequest,
        token: Uuid,
        now_ms: i64,
    ) -> ModelResult<(Answer, bool)> {
        request.validate().map_err(|e| e.error_type())?;
        if let Some(key) = &request.idempotency_key {
            let found = self.idempotency.iter().find(|(k, ..)| k == key).cloned();
            if let Some((_, fingerprint, earlier, created_ms)) = found {
                if now_ms < created_ms + 24 * 3_600 * 1_000 {
                    if fingerprint != request.fingerprint() {
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
        let ignore_call = if request.replace_call_holds {
            request.call_id.as_deref()
        } else {
            None
        };
        let segments: Vec<(String, i64, i64)> = match &request.target {
            HoldTarget::Segments(segments) => segments
                .iter()
                .map(|s| (s.resource.clone(), s.start_ms, s.end_ms))
                .collect(),
            HoldTarget::Find(find) => {
                let mut found = None;
                let mut t = find.earliest_ms;
                'search: while t + find.duration_ms <= find.latest_ms {
                    for resource in &find.resources {
                        if self.free(resource, t, t + find.duration_ms, now_ms, ignore_call) {
                            found = Some((resource.clone(), t, t + find.duration_ms));
                            break 'search;
                        }
                    }
                    t += find.step_ms;
                }
                vec![found.ok_or(ErrorType::NoSlot)?]
            }
        };
        for (resource, start, end) in &segments {
            if !self.free(resource, *start, *end, now_ms, ignore_call) {
                return Err(ErrorType::Conflict);
            }
        }
        if let (true, Some(call)) = (request.replace_call_holds, &request.call_id) {
            for r in &mut self.reservations {
                if r.call_id.as_ref() == Some(call) && r.status_at(now_ms) == Status::Active {
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
            call_id: request.call_id.clone(),
            reserved_at_ms: now_ms,
            expires_at_ms: now_ms + request.ttl_seconds * 1_000,
            appointment_id: None,
            cancel_reason: None,
            converted_at_ms: None,
            cancelled_at_ms: None,
        };
        let answer = self.answer(&reservation, now_ms);
        self.reservations.push(reservation);
        if let Some(key) = &request.idempotency_key {
            self.idempotency.retain(|(k, ..)| k != key);
            self.idempotency
                .push((key.clone(), request.fingerprint(), token, now_ms));
        }
        Ok((answer, false))
    }

    fn confirm(
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

    fn extend(&mut self, token: Uuid, ttl_seconds: i64, now_ms: i64) -> ModelResult<Answer> {
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

    fn cancel(&mut self, token: Uuid, reason: Option<String>, now_ms: i64) -> ModelResult<Answer> {
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

    fn list(&self, filter: &ListFilter, now_ms: i64) -> Vec<Answer> {
        let mut found: Vec<Answer> = self
            .reservations
            .iter()
            .rev()
            .filter(|r| filter.call_id.is_none() || r.call_id == filter.call_id)
            .filter(|r| filter.status.is_none_or(|s| r.status_at(now_ms) == s))
            .filter(|r| {
                r.segments.iter().any(|(res, s, e)| {
                    filter.resource.as_ref().is_none_or(|f| f == res)
                        && *s < filter.to_ms.unwrap_or(i64::MAX)
                        && filter.from_ms.unwrap_or(i64::MIN) < *e
                })
            })
            .map(|r| self.answer(r, now_ms))
            .collect();
        found.truncate(filter.limit);
        found
    }

    fn availability(&self, request: &AvailabilityRequest, now_ms: i64) -> Vec<(String, Vec<i64>)> {
        request
            .resources
            .iter()
            .map(|resource| {
                let mut slots = Vec::new();
                let mut t = request.from_ms;
                while t + request.duration_ms <= request.to_ms && slots.len() < 1_000 {
                    let free = self.free(
                        resource,
                        t,
                        t + request.duration_ms,
                        now_ms,
                        request.call_id.as_deref(),
                    );
                    if free {
                        slots.push(t);
                    }
                    t += request.step_ms;
                }
                (resource.clone(), slots)
            })
            .collect()
    }
}

// ----- the operations -----------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Advance(i64),
    Hold {
        segments: Vec<(usize, i64, i64)>,
        ttl_seconds: i64,
        call: Option<usize>,
        replace: bool,
        key: Option<usize>,
    },
    Find {
        resources: Vec<usize>,
        earliest: i64,
        window: i64,
        duration: i64,
        step: i64,
        call: Option<usize>,
        replace: bool,
    },
    Confirm(usize, Option<usize>),
    Extend(usize, i64),
    Cancel(usize, Option<usize>),
    Get(usize),
    List {
        call: Option<usize>,
        status: Option<usize>,
        resource: Option<usize>,
        window: Option<(i64, i64)>,
        limit: usize,
    },
    Availability {
        resources: Vec<usize>,
        from: i64,
        window: i64,
        duration: i64,
        step: i64,
        call: Option<usize>,
    },
    Housekeeping,
    /// Begin a snapshot export (abandoning one under way).
    ExportBegin,
    /// Copy the next chunk of the export under way, this many store slots.
    ExportChunk(usize),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let segment = (0..3usize, 0..24i64, 1..4i64);
    prop_oneof![
        3 => (0..400_000i64).prop_map(Op::Advance),
        6 => (
            prop::collection::vec(segment, 1..4),
            1..600i64,
            prop::option::of(0..3usize),
            any::<bool>(),
            prop::option::of(0..3usize),
        )
            .prop_map(|(segments, ttl_seconds, call, replace, key)| Op::Hold {
                segments,
                ttl_seconds,
                call,
                replace,
                key
            }),
        3 => (
            prop::collection::vec(0..3usize, 1..4),
            0..20i64,
            1..10i64,
            1..4i64,
            1..3i64,
            prop::option::of(0..3usize),
            any::<bool>(),
        )
            .prop_map(|(resources, earliest, window, duration, step, call, replace)| Op::Find {
                resources,
                earliest,
                window,
                duration,
                step,
                call,
                replace
            }),
        3 => (0..40usize, prop::option::of(0..2usize)).prop_map(|(t, a)| Op::Confirm(t, a)),
        2 => (0..40usize, 0..4_000i64).prop_map(|(t, ttl)| Op::Extend(t, ttl)),
        2 => (0..40usize, prop::option::of(0..2usize)).prop_map(|(t, r)| Op::Cancel(t, r)),
        1 => (0..40usize).prop_map(Op::Get),
        1 => (
            prop::option::of(0..3usize),
            prop::option::of(0..4usize),
            prop::option::of(0..3usize),
            prop::option::of((0..24i64, 1..8i64)),
            1..6usize,
        )
            .prop_map(|(call, status, resource, window, limit)| Op::List {
                call,
                status,
                resource,
                window,
                limit
            }),
        1 => (
            prop::collection::vec(0..3usize, 1..3),
            0..20i64,
            1..12i64,
            1..4i64,
            1..3i64,
            prop::option::of(0..3usize),
        )
            .prop_map(|(resources, from, window, duration, step, call)| Op::Availability {
                resources,
                from,
                window,
                duration,
                step,
                call
            }),
        1 => Just(Op::Housekeeping),
        1 => Just(Op::ExportBegin),
        3 => (1..4usize).prop_map(Op::ExportChunk),
    ]
}

fn slot(n: i64) -> i64 {
    BASE_MS + n * SLOT_MS
}

fn error_type<T>(result: Result<T, BookError>) -> Result<T, ErrorType> {
    result.map_err(|e| e.error_type())
}

/// A record with its reservations in creation order: an export writes them in the order it
/// copied them, which changes between chunks make differ from the store's order.
fn by_seq(mut record: CompanySnapshotV1) -> CompanySnapshotV1 {
    record.reservations.sort_unstable_by_key(|r| r.seq);
    record
}

/// The record a finished chunked export encoded, decoded again.
fn exported(export: CompanyExport) -> CompanySnapshotV1 {
    by_seq(decode_company(&export.encode().bytes).expect("an export decodes"))
}

/// Runs `ops` against both sides, asserting equal answers and invariants after every step.
fn run(ops: Vec<Op>, live_max: usize) -> Result<(), TestCaseError> {
    let settings = Settings {
        live_reservations_max: live_max,
        // Long retention: the model keeps everything, so the book must too.
        retention_seconds: 365 * 24 * 3_600,
        ..Settings::default()
    };
    let mut book = Book::new("c", settings);
    let mut model = Model {
        live_max,
        ..Model::default()
    };
    let mut now_ms = BASE_MS - 3_600 * 1_000;
    let mut tokens: Vec<Uuid> = Vec::new();
    let mut next_token = 1u128;
    // The export under way, and the record the book gave in one step when it began.
    let mut export: Option<(CompanyExport, CompanySnapshotV1)> = None;
    let pick = |tokens: &Vec<Uuid>, index: usize| -> Uuid {
        if tokens.is_empty() || index >= tokens.len() + 2 {
            Uuid::from_u128(u128::MAX - index as u128)
        } else {
            tokens[index % tokens.len()]
        }
    };
    for op in ops {
        match op {
            Op::Advance(delta_ms) => now_ms += delta_ms,
            Op::Hold {
                segments,
                ttl_seconds,
                call,
                replace,
                key,
            } => {
                let request = HoldRequest {
                    target: HoldTarget::Segments(
                        segments
                            .iter()
                            .map(|(r, s, len)| SegmentRequest {
                                resource: RESOURCES[*r].into(),
                                start_ms: slot(*s),
                                end_ms: slot(s + len),
                            })
                            .collect(),
                    ),
                    ttl_seconds,
                    call_id: call.map(|c| CALLS[c].to_string()),
                    customer_phone: None,
                    service_id: None,
                    replace_call_holds: replace,
                    idempotency_key: key.map(|k| format!("key-{k}")),
                };
                let token = Uuid::from_u128(next_token);
                next_token += 1;
                let expected = model.hold(&request, token, now_ms);
                let actual = error_type(book.hold(request, token, now_ms))
                    .map(|o| (answer_of_view(&o.reservation), o.replayed));
                prop_assert_eq!(&actual, &expected);
                if matches!(actual, Ok((_, false))) {
                    tokens.push(token);
                }
            }
            Op::Find {
                resources,
                earliest,
                window,
                duration,
                step,
                call,
                replace,
            } => {
                let request = HoldRequest {
                    target: HoldTarget::Find(FindRequest {
                        resources: resources
                            .iter()
                            .map(|r| RESOURCES[*r].to_string())
                            .collect(),
                        earliest_ms: slot(earliest),
                        latest_ms: slot(earliest + window.max(duration)),
                        duration_ms: duration * SLOT_MS,
                        step_ms: step * SLOT_MS,
                    }),
                    ttl_seconds: 300,
                    call_id: call.map(|c| CALLS[c].to_string()),
                    customer_phone: None,
                    service_id: None,
                    replace_call_holds: replace,
                    idempotency_key: None,
                };
                let token = Uuid::from_u128(next_token);
                next_token += 1;
                let expected = model.hold(&request, token, now_ms);
                let actual = error_type(book.hold(request, token, now_ms))
                    .map(|o| (answer_of_view(&o.reservation), o.replayed));
                prop_assert_eq!(&actual, &expected);
                if actual.is_ok() {
                    tokens.push(token);
                }
            }
            Op::Confirm(index, appointment) => {
                let token = pick(&tokens, index);
                let appointment = appointment.map(|a| format!("A-{a}"));
                let expected = model.confirm(token, appointment.clone(), now_ms);
                let actual = error_type(book.confirm(token, appointment, now_ms));
                prop_assert_eq!(actual.map(|v| answer_of_view(&v)), expected);
            }
            Op::Extend(index, ttl_seconds) => {
                let token = pick(&tokens, index);
                let expected = model.extend(token, ttl_seconds, now_ms);
                let actual = error_type(book.extend(token, ttl_seconds, now_ms));
                prop_assert_eq!(actual.map(|v| answer_of_view(&v)), expected);
            }
            Op::Cancel(index, reason) => {
                let token = pick(&tokens, index);
                let reason = reason.map(|r| format!("reason_{r}"));
                let expected = model.cancel(token, reason.clone(), now_ms);
                let actual = error_type(book.cancel(token, reason, now_ms));
                prop_assert_eq!(actual.map(|v| answer_of_view(&v)), expected);
            }
            Op::Get(index) => {
                let token = pick(&tokens, index);
                let expected = model
                    .find(token)
                    .map(|r| r.clone())
                    .map(|r| model.answer(&r, now_ms));
                let actual = error_type(book.get(token, now_ms));
                prop_assert_eq!(actual.map(|v| answer_of_view(&v)), expected);
            }
            Op::List {
                call,
                status,
                resource,
                window,
                limit,
            } => {
                let filter = ListFilter {
                    call_id: call.map(|c| CALLS[c].to_string()),
                    status: status.map(|s| {
                        [
                            Status::Active,
                            Status::Converted,
                            Status::Expired,
                            Status::Cancelled,
                        ][s]
                    }),
                    resource: resource.map(|r| RESOURCES[r].to_string()),
                    from_ms: window.map(|(from, _)| slot(from)),
                    to_ms: window.map(|(from, len)| slot(from + len)),
                    limit,
                };
                let expected = model.list(&filter, now_ms);
                let actual = book.list(&filter, now_ms).expect("valid filter");
                let actual: Vec<Answer> = actual.iter().map(answer_of_view).collect();
                prop_assert_eq!(actual, expected);
            }
            Op::Availability {
                resources,
                from,
                window,
                duration,
                step,
                call,
            } => {
                let request = AvailabilityRequest {
                    resources: resources
                        .iter()
                        .map(|r| RESOURCES[*r].to_string())
                        .collect(),
                    from_ms: slot(from),
                    to_ms: slot(from + window),
                    duration_ms: duration * SLOT_MS,
                    step_ms: step * SLOT_MS,
                    call_id: call.map(|c| CALLS[c].to_string()),
                };
                let expected = model.availability(&request, now_ms);
                let actual: Vec<(String, Vec<i64>)> = book
                    .availability(&request, now_ms)
                    .expect("valid request")
                    .into_iter()
                    .map(|r| (r.resource.to_string(), r.slots_ms))
                    .collect();
                prop_assert_eq!(actual, expected);
            }
            Op::Housekeeping => {
                book.housekeeping(now_ms);
            }
            Op::ExportBegin => {
                let expected = by_seq(export_company(&book, book.log_position()));
                export = Some((CompanyExport::begin(&mut book), expected));
            }
            Op::ExportChunk(slots) => {
                if let Some((mut under_way, expected)) = export.take() {
                    if under_way.copy_chunk(&mut book, slots) {
                        prop_assert_eq!(exported(under_way), expected);
                    } else {
                        export = Some((under_way, expected));
                    }
                }
            }
        }
        if let Err(broken) = book.check_invariants(now_ms) {
            return Err(TestCaseError::fail(broken));
        }
    }
    if let Some((mut under_way, expected)) = export {
        while !under_way.copy_chunk(&mut book, 1) {}
        prop_assert_eq!(exported(under_way), expected);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Goal: the book answers every operation exactly as the naive model does, and never holds two
    /// overlapping live intervals on one resource.
    #[test]
    fn book_matches_naive_model(ops in prop::collection::vec(op_strategy(), 1..80)) {
        run(ops, usize::MAX)?;
    }

    /// Goal: the same with a tiny live limit, so `limit_reached` and the sweep at the limit are
    /// exercised (one sweep per second of clock time: advances are mostly longer than that).
    #[test]
    fn book_matches_naive_model_at_the_live_limit(ops in prop::collection::vec(op_strategy(), 1..60)) {
        run(ops, 3)?;
    }
}
