//! Scenario tests of the core `Book`, creating holds: compound holds (all or nothing), the
//! checks of a request's segments, half-open intervals, first-available search, lazy expiry, the
//! live limit and idempotency keys. Each test states its goal; the status machine is in
//! `tests/book_lifecycle.rs`, reads in `tests/book_reads.rs`, and the model-based property test
//! (`tests/model.rs`) covers random mixes of the same operations.

mod book_support;

use book_support::{at, error_type, find, options, request, request_with, segment, Harness};
use holdfast::core::book::Settings;
use holdfast::core::command::Segments;
use holdfast::core::error::{BookError, ErrorType};
use holdfast::core::reservation::{ConflictKind, Status};
use holdfast::durability::fingerprint::idempotency_of;
use uuid::Uuid;

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

/// Goal: overlapping segments of one request on one resource are rejected as invalid when the
/// request is built, naming the segment; the same times on different resources are fine.
#[test]
fn overlapping_segments_of_one_request_are_rejected() {
    let mut h = Harness::new();
    match Segments::new(vec![segment("a", 0, 30), segment("a", 15, 45)]) {
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

/// Goal: a retried create with the same Idempotency-Key answers the first reservation; the same
/// key with another body is `idempotency_mismatch`; after 24 hours the key is forgotten.
#[test]
fn idempotency_key_replays_the_first_answer() {
    let mut h = Harness::new();
    let keyed = |segments| {
        let options = options().with_idempotency_key("k-1").expect("a valid key");
        request_with(segments, options)
    };
    let first = h.hold(keyed(vec![segment("a", 0, 30)])).expect("hold");
    let retry = keyed(vec![segment("a", 0, 30)]);
    let idempotency = idempotency_of(&retry);
    let outcome = h
        .book
        .hold(retry, idempotency, Uuid::from_u128(500), h.now_ms)
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
