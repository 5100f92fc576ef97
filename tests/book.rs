//! Scenario tests of the core `Book`: compound holds, first-available search, the status machine,
//! lazy expiry, replacement, idempotency, limits and retention. Each test states its goal; the
//! model-based property test (`tests/model.rs`) covers random mixes of the same operations.

use holdfast::core::book::{Book, Settings};
use holdfast::core::command::{
    AvailabilityRequest, FindRequest, HoldRequest, HoldTarget, ListFilter, SegmentRequest,
};
use holdfast::core::error::{BookError, ErrorType};
use holdfast::core::reservation::{ConflictKind, Status};
use uuid::Uuid;

const BASE_MS: i64 = 1_798_761_600_000;
const MINUTE_MS: i64 = 60_000;

fn at(minutes: i64) -> i64 {
    BASE_MS + minutes * MINUTE_MS
}

fn segment(resource: &str, from_minute: i64, to_minute: i64) -> SegmentRequest {
    SegmentRequest {
        resource: resource.into(),
        start_ms: at(from_minute),
        end_ms: at(to_minute),
    }
}

fn request(segments: Vec<SegmentRequest>) -> HoldRequest {
    HoldRequest {
        target: HoldTarget::Segments(segments),
        ttl_seconds: 300,
        call_id: None,
        customer_phone: None,
        service_id: None,
        replace_call_holds: false,
        idempotency_key: None,
    }
}

fn find(resources: &[&str], earliest: i64, latest: i64, duration: i64, step: i64) -> HoldRequest {
    request(Vec::new()).with_target(HoldTarget::Find(FindRequest {
        resources: resources.iter().map(|r| r.to_string()).collect(),
        earliest_ms: at(earliest),
        latest_ms: at(latest),
        duration_ms: duration * MINUTE_MS,
        step_ms: step * MINUTE_MS,
    }))
}

trait WithTarget {
    fn with_target(self, target: HoldTarget) -> Self;
}

impl WithTarget for HoldRequest {
    fn with_target(mut self, target: HoldTarget) -> HoldRequest {
        self.target = target;
        self
    }
}

/// A book, a clock and a token counter: the `check` helper of this layer.
struct Harness {
    book: Book,
    now_ms: i64,
    next_token: u128,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_settings(Settings::default())
    }

    fn with_settings(settings: Settings) -> Harness {
        Harness {
            book: Book::new("acme", settings),
            now_ms: at(-600),
            next_token: 1,
        }
    }

    fn hold(&mut self, request: HoldRequest) -> Result<Uuid, BookError> {
        let token = Uuid::from_u128(self.next_token);
        self.next_token += 1;
        let outcome = self.book.hold(request, token, self.now_ms)?;
        self.check();
        Ok(outcome.reservation.token)
    }

    fn status(&mut self, token: Uuid) -> Status {
        self.book.get(token, self.now_ms).expect("exists").status
    }

    fn free_slots(&mut self, resource: &str, from: i64, to: i64, duration: i64) -> Vec<i64> {
        let request = AvailabilityRequest {
            resources: vec![resource.into()],
            from_ms: at(from),
            to_ms: at(to),
            duration_ms: duration * MINUTE_MS,
            step_ms: duration * MINUTE_MS,
            call_id: None,
        };
        let answer = self
            .book
            .availability(&request, self.now_ms)
            .expect("valid");
        answer[0]
            .slots_ms
            .iter()
            .map(|ms| (ms - BASE_MS) / MINUTE_MS)
            .collect()
    }

    fn advance_minutes(&mut self, minutes: i64) {
        self.now_ms += minutes * MINUTE_MS;
    }

    fn check(&self) {
        self.book.check_invariants(self.now_ms).expect("invariants");
    }
}

fn error_type<T: std::fmt::Debug>(result: Result<T, BookError>) -> ErrorType {
    result.expect_err("expected an error").error_type()
}

/// Goal: a compound hold with one conflicting segment holds nothing, not even its free segments.
#[test]
fn compound_hold_with_one_conflict_holds_nothing() {
    let mut h = Harness::new();
    h.hold(request(vec![segment("b", 30, 60)]))
        .expect("first hold");
    let compound = request(vec![
        segment("a", 0, 30),
        segment("b", 45, 75),
        segment("c", 0, 30),
    ]);
    match h.hold(compound) {
        Err(BookError::Conflict { conflicts }) => {
            assert_eq!(conflicts.len(), 1);
            assert_eq!(&*conflicts[0].resource, "b");
            assert_eq!(conflicts[0].kind, ConflictKind::Hold);
            assert_eq!(
                (conflicts[0].start_ms, conflicts[0].end_ms),
                (at(30), at(60))
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(h.free_slots("a", 0, 60, 30), vec![0, 30]);
    assert_eq!(h.free_slots("c", 0, 60, 30), vec![0, 30]);
    assert_eq!(h.book.len(), 1);
}

/// Goal: a compound hold takes all of its segments at once, back-to-back segments are fine.
#[test]
fn compound_hold_takes_every_segment() {
    let mut h = Harness::new();
    let token = h
        .hold(request(vec![
            segment("a", 0, 30),
            segment("a", 30, 60),
            segment("b", 30, 60),
        ]))
        .expect("compound hold");
    let view = h.book.get(token, h.now_ms).expect("exists");
    assert!(view.compound);
    assert_eq!(view.segments.len(), 3);
    assert!(h.free_slots("a", 0, 60, 30).is_empty());
    assert_eq!(h.free_slots("b", 0, 60, 30), vec![0]);
}

/// Goal: overlapping segments of one request on one resource are rejected as invalid, naming
/// the segment; the same times on different resources are fine.
#[test]
fn overlapping_segments_of_one_request_are_rejected() {
    let mut h = Harness::new();
    match h.hold(request(vec![segment("a", 0, 30), segment("a", 15, 45)])) {
        Err(BookError::InvalidRequest { field, .. }) => assert_eq!(field, "segments[1]"),
        other => panic!("expected invalid_request, got {other:?}"),
    }
    assert!(h.book.is_empty());
    h.hold(request(vec![segment("a", 0, 30), segment("b", 0, 30)]))
        .expect("same times on two resources");
}

/// Goal: back-to-back holds do not conflict; one minute of overlap does.
#[test]
fn half_open_intervals_touch_without_conflict() {
    let mut h = Harness::new();
    h.hold(request(vec![segment("a", 30, 60)])).expect("hold");
    h.hold(request(vec![segment("a", 0, 30)]))
        .expect("ends where the other starts");
    h.hold(request(vec![segment("a", 60, 90)]))
        .expect("starts where the other ends");
    assert_eq!(
        error_type(h.hold(request(vec![segment("a", 89, 120)]))),
        ErrorType::Conflict
    );
}

/// Goal: first-available takes the earliest start on the grid from `earliest`.
#[test]
fn first_available_takes_the_earliest_slot() {
    let mut h = Harness::new();
    h.hold(request(vec![segment("a", 0, 40)])).expect("blocker");
    let token = h.hold(find(&["a"], 0, 240, 30, 15)).expect("found");
    let view = h.book.get(token, h.now_ms).expect("exists");
    // Blocked until minute 40: the next grid point is 45.
    assert_eq!(view.segments[0].start_ms, at(45));
    assert_eq!(view.segments[0].end_ms, at(75));
}

/// Goal: at an equal start, the resource listed first wins; an earlier start on a later
/// resource beats a later start on an earlier one.
#[test]
fn first_available_prefers_resource_order_at_equal_start() {
    let mut h = Harness::new();
    let token = h.hold(find(&["b", "a"], 0, 240, 30, 30)).expect("found");
    let view = h.book.get(token, h.now_ms).expect("exists");
    assert_eq!(
        (&*view.segments[0].resource, view.segments[0].start_ms),
        ("b", at(0))
    );

    h.hold(request(vec![segment("c", 0, 60)]))
        .expect("c busy first hour");
    let token = h.hold(find(&["c", "d"], 0, 240, 30, 30)).expect("found");
    let view = h.book.get(token, h.now_ms).expect("exists");
    assert_eq!(
        (&*view.segments[0].resource, view.segments[0].start_ms),
        ("d", at(0))
    );
}

/// Goal: no free slot inside the window is `no_slot`, and the book is unchanged; a slot that
/// would end past `latest` does not count.
#[test]
fn first_available_with_nothing_free_is_no_slot() {
    let mut h = Harness::new();
    h.hold(request(vec![segment("a", 0, 100)]))
        .expect("blocker");
    assert_eq!(
        error_type(h.hold(find(&["a"], 0, 120, 30, 10))),
        ErrorType::NoSlot
    );
    assert_eq!(h.book.len(), 1);
    let token = h.hold(find(&["a"], 0, 130, 30, 10)).expect("exactly fits");
    let view = h.book.get(token, h.now_ms).expect("exists");
    assert_eq!(view.segments[0].start_ms, at(100));
}

/// Goal: a hold past its expiry reads as expired at once and blocks nothing, before any sweep.
#[test]
fn lazy_expiry_frees_the_slot_at_expires_at() {
    let mut h = Harness::new();
    let token = h.hold(request(vec![segment("a", 0, 30)])).expect("hold");
    h.now_ms += 299_999;
    assert_eq!(h.status(token), Status::Active);
    assert_eq!(
        error_type(h.hold(request(vec![segment("a", 0, 30)]))),
        ErrorType::Conflict
    );
    h.now_ms += 1;
    assert_eq!(h.status(token), Status::Expired);
    h.hold(request(vec![segment("a", 0, 30)]))
        .expect("free again");
    assert_eq!(h.book.metrics().expired, 1);
}

/// Goal: confirm converts, repeats with the same (or no) appointment id answer the same object,
/// another appointment id is `invalid_state`, and the slot stays taken as a booking.
#[test]
fn confirm_is_idempotent_for_the_same_appointment() {
    let mut h = Harness::new();
    let token = h.hold(request(vec![segment("a", 0, 30)])).expect("hold");
    let first = h
        .book
        .confirm(token, Some("A-17".into()), h.now_ms)
        .expect("confirm");
    assert_eq!(first.status, Status::Converted);
    assert_eq!(first.appointment_id.as_deref(), Some("A-17"));
    h.advance_minutes(10);
    let again = h
        .book
        .confirm(token, Some("A-17".into()), h.now_ms)
        .expect("repeat");
    assert_eq!(again, first);
    assert_eq!(
        h.book
            .confirm(token, None, h.now_ms)
            .expect("repeat without id"),
        first
    );
    match h.book.confirm(token, Some("A-18".into()), h.now_ms) {
        Err(BookError::InvalidState { current_status, .. }) => {
            assert_eq!(current_status, Status::Converted)
        }
        other => panic!("expected invalid_state, got {other:?}"),
    }
    match h.hold(request(vec![segment("a", 0, 30)])) {
        Err(BookError::Conflict { conflicts }) => {
            assert_eq!(conflicts[0].kind, ConflictKind::Booking)
        }
        other => panic!("expected a conflict with the booking, got {other:?}"),
    }
    // A booking never expires: long after the hold's TTL it is still converted.
    h.advance_minutes(600);
    assert_eq!(h.status(token), Status::Converted);
    let metrics = h.book.metrics();
    assert_eq!(
        (
            metrics.converted,
            metrics.confirm_attempts,
            metrics.confirm_successes
        ),
        (1, 4, 3)
    );
}

/// Goal: confirm without an appointment id uses the token; confirm of an expired hold is
/// `expired`; of a cancelled one `invalid_state`; of an unknown token `not_found`.
#[test]
fn confirm_errors_follow_the_status() {
    let mut h = Harness::new();
    let token = h.hold(request(vec![segment("a", 0, 30)])).expect("hold");
    let view = h.book.confirm(token, None, h.now_ms).expect("confirm");
    assert_eq!(
        view.appointment_id.as_deref(),
        Some(token.to_string().as_str())
    );

    let expiring = h.hold(request(vec![segment("b", 0, 30)])).expect("hold");
    h.advance_minutes(5);
    assert_eq!(
        error_type(h.book.confirm(expiring, None, h.now_ms)),
        ErrorType::Expired
    );

    let cancelled = h.hold(request(vec![segment("c", 0, 30)])).expect("hold");
    h.book.cancel(cancelled, None, h.now_ms).expect("cancel");
    assert_eq!(
        error_type(h.book.confirm(cancelled, None, h.now_ms)),
        ErrorType::InvalidState
    );
    assert_eq!(
        error_type(h.book.confirm(Uuid::from_u128(999), None, h.now_ms)),
        ErrorType::NotFound
    );
}

/// Goal: extend moves the expiry to now + ttl, never past reserved_at + cap (then the hold keeps
/// its old expiry); extending an expired hold is `expired`, a booking `invalid_state`.
#[test]
fn extend_respects_the_cap() {
    let mut h = Harness::new();
    let token = h.hold(request(vec![segment("a", 0, 30)])).expect("hold");
    let reserved_at_ms = h.now_ms;
    h.advance_minutes(4);
    let view = h.book.extend(token, 600, h.now_ms).expect("extend");
    assert_eq!(view.expires_at_ms, h.now_ms + 600_000);
    h.advance_minutes(9);
    let kept = view.expires_at_ms;
    assert_eq!(
        error_type(h.book.extend(token, 3_600, h.now_ms)),
        ErrorType::InvalidState
    );
    assert_eq!(
        h.book.get(token, h.now_ms).expect("exists").expires_at_ms,
        kept
    );
    let capped = h
        .book
        .extend(token, 47 * 60, h.now_ms)
        .expect("exactly at the cap");
    assert_eq!(capped.expires_at_ms, reserved_at_ms + 3_600_000);
    assert_eq!(
        error_type(h.book.extend(token, 0, h.now_ms)),
        ErrorType::InvalidRequest
    );
    h.advance_minutes(48);
    assert_eq!(
        error_type(h.book.extend(token, 60, h.now_ms)),
        ErrorType::Expired
    );

    let booked = h.hold(request(vec![segment("b", 0, 30)])).expect("hold");
    h.book.confirm(booked, None, h.now_ms).expect("confirm");
    assert_eq!(
        error_type(h.book.extend(booked, 60, h.now_ms)),
        ErrorType::InvalidState
    );
}

/// Goal: cancel frees the slot of a hold or a booking, is idempotent, counts its reason, and
/// refuses an expired hold with `invalid_state`.
#[test]
fn cancel_frees_the_slot_and_is_idempotent() {
    let mut h = Harness::new();
    let hold = h.hold(request(vec![segment("a", 0, 30)])).expect("hold");
    let first = h
        .book
        .cancel(hold, Some("customer_hung_up".into()), h.now_ms)
        .expect("cancel");
    assert_eq!(first.status, Status::Cancelled);
    assert_eq!(first.cancel_reason.as_deref(), Some("customer_hung_up"));
    h.advance_minutes(1);
    assert_eq!(h.book.cancel(hold, None, h.now_ms).expect("again"), first);

    let booking = h
        .hold(request(vec![segment("a", 0, 30)]))
        .expect("slot free again");
    h.book.confirm(booking, None, h.now_ms).expect("confirm");
    h.book
        .cancel(booking, None, h.now_ms)
        .expect("cancel booking");
    h.hold(request(vec![segment("a", 0, 30)]))
        .expect("booking's slot free again");

    let expiring = h.hold(request(vec![segment("b", 0, 30)])).expect("hold");
    h.advance_minutes(6);
    assert_eq!(
        error_type(h.book.cancel(expiring, None, h.now_ms)),
        ErrorType::InvalidState
    );
    assert_eq!(
        error_type(h.book.cancel(hold, Some("bad reason!".into()), h.now_ms)),
        ErrorType::InvalidRequest
    );
    let reasons = &h.book.metrics().cancelled_by_reason;
    assert_eq!(reasons.get("customer_hung_up"), Some(&1));
    assert_eq!(reasons.get("unspecified"), Some(&1));
}

/// Goal: with `replace_call_holds`, a call's new hold may overlap its own active hold, and the
/// call's other active holds are cancelled as `replaced`, only when the new hold succeeds.
#[test]
fn replace_call_holds_swaps_the_calls_hold() {
    let mut h = Harness::new();
    let with_call = |segments, replace| HoldRequest {
        call_id: Some("call-1".into()),
        replace_call_holds: replace,
        ..request(segments)
    };
    let first = h
        .hold(with_call(vec![segment("a", 0, 30)], false))
        .expect("hold");
    let other = h
        .hold(with_call(vec![segment("b", 0, 30)], false))
        .expect("hold");
    assert_eq!(
        error_type(h.hold(with_call(vec![segment("a", 15, 45)], false))),
        ErrorType::Conflict,
        "without replace, a call conflicts with itself"
    );
    h.hold(request(vec![segment("c", 0, 30)]))
        .expect("someone else's hold");
    assert_eq!(
        error_type(h.hold(with_call(vec![segment("c", 0, 30)], true))),
        ErrorType::Conflict
    );
    assert_eq!(
        h.status(first),
        Status::Active,
        "a failed replace cancels nothing"
    );
    let newer = h
        .hold(with_call(vec![segment("a", 15, 45)], true))
        .expect("replace");
    assert_eq!(h.status(first), Status::Cancelled);
    assert_eq!(h.status(other), Status::Cancelled);
    assert_eq!(h.status(newer), Status::Active);
    let view = h.book.get(first, h.now_ms).expect("exists");
    assert_eq!(view.cancel_reason.as_deref(), Some("replaced"));
}

/// Goal: availability with `call_id` treats that call's own active holds as free.
#[test]
fn availability_ignores_the_callers_own_holds() {
    let mut h = Harness::new();
    h.hold(HoldRequest {
        call_id: Some("me".into()),
        ..request(vec![segment("a", 0, 30)])
    })
    .expect("hold");
    let query = |call: Option<&str>| AvailabilityRequest {
        resources: vec!["a".into()],
        from_ms: at(0),
        to_ms: at(60),
        duration_ms: 30 * MINUTE_MS,
        step_ms: 30 * MINUTE_MS,
        call_id: call.map(str::to_string),
    };
    let others = h
        .book
        .availability(&query(Some("you")), h.now_ms)
        .expect("valid");
    assert_eq!(others[0].slots_ms, vec![at(30)]);
    let mine = h
        .book
        .availability(&query(Some("me")), h.now_ms)
        .expect("valid");
    assert_eq!(mine[0].slots_ms, vec![at(0), at(30)]);
}

/// Goal: a retried create with the same Idempotency-Key answers the first reservation; the same
/// key with another body is `idempotency_mismatch`; after 24 hours the key is forgotten.
#[test]
fn idempotency_key_replays_the_first_answer() {
    let mut h = Harness::new();
    let keyed = |segments| HoldRequest {
        idempotency_key: Some("k-1".into()),
        ..request(segments)
    };
    let first = h.hold(keyed(vec![segment("a", 0, 30)])).expect("hold");
    let outcome = h
        .book
        .hold(
            keyed(vec![segment("a", 0, 30)]),
            Uuid::from_u128(500),
            h.now_ms,
        )
        .expect("replay");
    assert!(outcome.replayed);
    assert_eq!(outcome.reservation.token, first);
    assert_eq!(
        error_type(h.hold(keyed(vec![segment("a", 30, 60)]))),
        ErrorType::IdempotencyMismatch
    );
    assert_eq!(h.book.len(), 1);
    h.advance_minutes(24 * 60);
    h.book.housekeeping(h.now_ms);
    let fresh = h
        .hold(keyed(vec![segment("a", 30, 60)]))
        .expect("a forgotten key is new");
    assert_ne!(fresh, first);
}

/// Goal: the live limit refuses a new hold with `limit_reached`, and lazily expired holds do not
/// count against it.
#[test]
fn live_limit_counts_only_live_reservations() {
    let mut h = Harness::with_settings(Settings {
        live_reservations_max: 2,
        ..Settings::default()
    });
    h.hold(request(vec![segment("a", 0, 30)])).expect("first");
    h.hold(request(vec![segment("a", 30, 60)])).expect("second");
    assert_eq!(
        error_type(h.hold(request(vec![segment("a", 60, 90)]))),
        ErrorType::LimitReached
    );
    h.advance_minutes(5);
    h.hold(request(vec![segment("a", 60, 90)]))
        .expect("both expired: room again");
}

/// Goal: finished reservations are dropped after the retention period, past bookings after
/// their end plus retention; until then they stay readable.
#[test]
fn retention_drops_finished_reservations_and_past_bookings() {
    let mut h = Harness::with_settings(Settings {
        retention_seconds: 3_600,
        ..Settings::default()
    });
    let cancelled = h.hold(request(vec![segment("a", 0, 30)])).expect("hold");
    h.book.cancel(cancelled, None, h.now_ms).expect("cancel");
    let booked = h.hold(request(vec![segment("b", 600, 630)])).expect("hold");
    h.book.confirm(booked, None, h.now_ms).expect("confirm");
    h.advance_minutes(59);
    h.book.housekeeping(h.now_ms);
    assert_eq!(h.status(cancelled), Status::Cancelled);
    h.advance_minutes(1);
    h.book.housekeeping(h.now_ms);
    assert_eq!(
        error_type(h.book.get(cancelled, h.now_ms)),
        ErrorType::NotFound
    );
    assert_eq!(
        h.status(booked),
        Status::Converted,
        "the booking is still ahead"
    );
    // Now is grid minute -540; the booking ends at grid minute 630 and may be dropped an hour
    // later, at 690: 1,230 minutes from now.
    h.advance_minutes(1_229);
    h.book.housekeeping(h.now_ms);
    assert_eq!(h.status(booked), Status::Converted);
    h.advance_minutes(1);
    h.book.housekeeping(h.now_ms);
    assert_eq!(
        error_type(h.book.get(booked, h.now_ms)),
        ErrorType::NotFound
    );
    assert!(h.book.is_empty());
    h.check();
}

/// Goal: lists filter by call, status, resource and window, newest first, up to the limit.
#[test]
fn list_filters_combine_and_answer_newest_first() {
    let mut h = Harness::new();
    let with_call = |call: &str, segments| HoldRequest {
        call_id: Some(call.into()),
        ..request(segments)
    };
    let a1 = h
        .hold(with_call("x", vec![segment("a", 0, 30)]))
        .expect("hold");
    let a2 = h
        .hold(with_call("x", vec![segment("a", 30, 60)]))
        .expect("hold");
    let b1 = h
        .hold(with_call("y", vec![segment("b", 0, 30)]))
        .expect("hold");
    h.book.confirm(a2, None, h.now_ms).expect("confirm");
    let list = |h: &mut Harness, filter: ListFilter| -> Vec<Uuid> {
        h.book
            .list(
                &ListFilter {
                    limit: filter.limit.max(1),
                    ..filter
                },
                h.now_ms,
            )
            .expect("valid")
            .iter()
            .map(|r| r.token)
            .collect()
    };
    assert_eq!(
        list(
            &mut h,
            ListFilter {
                limit: 10,
                ..Default::default()
            }
        ),
        vec![b1, a2, a1]
    );
    let by_call = ListFilter {
        call_id: Some("x".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(list(&mut h, by_call), vec![a2, a1]);
    let converted = ListFilter {
        status: Some(Status::Converted),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(list(&mut h, converted), vec![a2]);
    let window = ListFilter {
        resource: Some("a".into()),
        from_ms: Some(at(10)),
        to_ms: Some(at(20)),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(list(&mut h, window), vec![a1]);
    assert_eq!(
        list(
            &mut h,
            ListFilter {
                limit: 2,
                ..Default::default()
            }
        ),
        vec![b1, a2]
    );
    let too_many = ListFilter {
        limit: 1_001,
        ..Default::default()
    };
    assert_eq!(
        error_type(h.book.list(&too_many, h.now_ms)),
        ErrorType::InvalidRequest
    );
}

/// Goal: metrics rates are 0, not NaN, when nothing happened, and add up after a sequence.
#[test]
fn metrics_rates_are_zero_without_traffic_and_count_after_it() {
    let mut h = Harness::new();
    let empty = h.book.metrics_report();
    assert_eq!(empty.conversion_rate, 0.0);
    assert_eq!(empty.error_rate, 0.0);
    assert_eq!(empty.booking_success_rate, 0.0);
    let t1 = h.hold(request(vec![segment("a", 0, 30)])).expect("hold");
    let t2 = h.hold(request(vec![segment("a", 30, 60)])).expect("hold");
    h.hold(request(vec![segment("a", 0, 30)]))
        .expect_err("conflict");
    h.advance_minutes(1);
    h.book.confirm(t1, None, h.now_ms).expect("confirm");
    h.book.cancel(t2, None, h.now_ms).expect("cancel");
    let report = h.book.metrics_report();
    assert_eq!(
        (
            report.created,
            report.converted,
            report.cancelled,
            report.errors
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(report.conversion_rate, 0.5);
    assert_eq!(report.completion_rate, 1.0);
    assert_eq!(report.error_rate, 1.0 / 5.0);
    assert_eq!(report.booking_success_rate, 1.0);
    assert_eq!(report.errors_by_type.get("conflict"), Some(&1));
    assert!((report.time_to_conversion_seconds.avg - 60.0).abs() < 1.0);
}
