//! Scenario tests of the core `Book`'s status machine after a hold: confirm (idempotent for
//! the same appointment), extend (within its cap), cancel (of a hold or a booking), a call's
//! holds replaced by its newer one, and retention dropping what finished. Each test states its
//! goal.

mod book_support;

use book_support::{error_type, options, request, request_with, segment, Harness};
use holdfast::core::book::Settings;
use holdfast::core::error::{BookError, ErrorType};
use holdfast::core::reservation::{ConflictKind, Status};
use uuid::Uuid;

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
    let with_call = |segments, replace| {
        let options = options().with_call_id("call-1").expect("a valid call id");
        request_with(segments, options.replacing_call_holds(replace))
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
