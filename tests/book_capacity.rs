//! Scenario tests of the core `Book` with resources of capacity above 1: the rule is per instant
//! (back-to-back reservations under a long hold count once), a lowered capacity keeps what is held
//! and refuses new holds where the count reaches it, a compound hold over a full and a free
//! resource takes nothing, and first-available and availability offer only starts with room.
//! The model-based property test (`tests/model.rs`) covers random mixes of the same.

mod book_support;

use book_support::{at, find, options, request, request_with, segment, Harness};
use holdfast::core::error::BookError;
use holdfast::core::reservation::{ConflictKind, Status};
use uuid::Uuid;

/// A harness whose resources have the given capacities.
fn harness(capacities: &[(&str, u32)]) -> Harness {
    let mut h = Harness::new();
    for (resource, capacity) in capacities {
        h.book
            .set_resource_capacity(resource, *capacity)
            .expect("a valid capacity");
    }
    h.check();
    h
}

/// The conflicts of a refused hold as `(resource, from minute, to minute, kind)`, or a panic.
fn conflicts(result: Result<Uuid, BookError>) -> Vec<(String, i64, i64, ConflictKind)> {
    match result {
        Err(BookError::Conflict { conflicts }) => conflicts
            .iter()
            .map(|c| {
                (
                    c.resource.to_string(),
                    (c.start_ms - at(0)) / 60_000,
                    (c.end_ms - at(0)) / 60_000,
                    c.kind,
                )
            })
            .collect(),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn cancel(h: &mut Harness, token: Uuid) {
    h.book.cancel(token, None, h.now_ms).expect("cancelled");
    h.check();
}

/// Goal: two back-to-back reservations both overlap a long interval but never each other, so on
/// a resource of capacity 2 the long hold fits beside them; a hold over an instant where two
/// already overlap does not, and its conflict lists every live reservation in its way.
#[test]
fn back_to_back_reservations_count_once_at_each_instant() {
    let mut h = harness(&[("room", 2)]);
    h.hold(request(vec![segment("room", 0, 30)])).expect("free");
    h.hold(request(vec![segment("room", 30, 60)]))
        .expect("free");
    h.hold(request(vec![segment("room", 0, 60)]))
        .expect("at most one other reservation at any instant");
    let refused = h.hold(request(vec![segment("room", 15, 45)]));
    assert_eq!(
        conflicts(refused),
        vec![
            ("room".to_string(), 30, 60, ConflictKind::Hold),
            ("room".to_string(), 0, 60, ConflictKind::Hold),
            ("room".to_string(), 0, 30, ConflictKind::Hold),
        ]
    );
    // The same three on a resource of capacity 1: the long hold is refused.
    let mut one = Harness::new();
    one.hold(request(vec![segment("room", 0, 30)]))
        .expect("free");
    one.hold(request(vec![segment("room", 30, 60)]))
        .expect("free");
    let refused = one.hold(request(vec![segment("room", 0, 60)]));
    assert_eq!(conflicts(refused).len(), 2);
}

/// Goal: overlapping reservations fill a resource exactly where they overlap: on capacity 2,
/// `[0, 30)` and `[15, 45)` leave no room in `[15, 30)`, and room on either side of it.
#[test]
fn overlapping_reservations_fill_the_capacity_only_where_they_overlap() {
    let mut h = harness(&[("room", 2)]);
    h.hold(request(vec![segment("room", 0, 30)])).expect("free");
    h.hold(request(vec![segment("room", 15, 45)]))
        .expect("room");
    assert_eq!(
        conflicts(h.hold(request(vec![segment("room", 20, 25)]))).len(),
        2
    );
    h.hold(request(vec![segment("room", 0, 15)]))
        .expect("one other at each instant");
    h.hold(request(vec![segment("room", 30, 40)]))
        .expect("one other at each instant");
    assert_eq!(
        conflicts(h.hold(request(vec![segment("room", 35, 36)]))).len(),
        2
    );
    h.hold(request(vec![segment("room", 40, 50)]))
        .expect("touches the full stretch without entering it");
}

/// Goal: lowering the capacity below what a resource holds keeps every reservation where it is
/// (holds and bookings alike, the invariants still hold) and refuses new holds wherever the count
/// is at or above the new capacity, until enough of them end; elsewhere holds go on.
#[test]
fn lowering_capacity_below_the_overlap_keeps_everything_and_refuses_new_holds() {
    let mut h = harness(&[("room", 3)]);
    let held: Vec<Uuid> = (0..3)
        .map(|_| h.hold(request(vec![segment("room", 0, 30)])).expect("room"))
        .collect();
    h.book.confirm(held[0], None, h.now_ms).expect("confirmed");
    h.book.set_resource_capacity("room", 1).expect("valid");
    h.check();
    assert_eq!(h.book.resource_capacity("room"), 1);
    assert_eq!(h.status(held[0]), Status::Converted);
    assert_eq!(h.status(held[1]), Status::Active);
    assert_eq!(h.status(held[2]), Status::Active);
    assert_eq!(h.book.live_count(), 3);
    let listed = conflicts(h.hold(request(vec![segment("room", 10, 20)])));
    assert_eq!(listed.len(), 3);
    assert_eq!(
        listed
            .iter()
            .filter(|c| c.3 == ConflictKind::Booking)
            .count(),
        1
    );
    h.hold(request(vec![segment("room", 30, 60)]))
        .expect("room where nothing overlaps");
    cancel(&mut h, held[1]);
    cancel(&mut h, held[2]);
    assert_eq!(
        conflicts(h.hold(request(vec![segment("room", 10, 20)]))).len(),
        1,
        "one booking left, at the new capacity of 1"
    );
    h.book.set_resource_capacity("room", 2).expect("valid");
    h.hold(request(vec![segment("room", 10, 20)]))
        .expect("raised again: room for one more");
    assert_eq!(h.book.live_count(), 3);
}

/// Goal: a compound hold with one segment on a full resource and one on a free resource takes
/// neither (all or nothing), lists only the full resource's reservations, and takes both once
/// the full resource has room.
#[test]
fn compound_hold_across_a_full_and_a_free_resource_is_all_or_nothing() {
    let mut h = harness(&[("a", 2), ("b", 2)]);
    let first = h.hold(request(vec![segment("a", 0, 30)])).expect("room");
    h.hold(request(vec![segment("a", 0, 30)])).expect("room");
    let compound = || request(vec![segment("a", 0, 30), segment("b", 0, 30)]);
    let listed = conflicts(h.hold(compound()));
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|c| c.0 == "a"));
    assert_eq!(h.book.len(), 2, "nothing of the compound hold is kept");
    assert_eq!(h.free_slots("b", 0, 60, 30), vec![0, 30]);
    cancel(&mut h, first);
    let token = h.hold(compound()).expect("room on both");
    assert_eq!(h.book.get(token, h.now_ms).expect("held").segments.len(), 2);
    assert!(h.free_slots("a", 0, 30, 30).is_empty());
    assert_eq!(h.free_slots("b", 0, 30, 30), vec![0], "one of two taken");
}

/// Goal: first-available skips starts whose interval is full at some instant and takes the
/// first with room; availability offers exactly the starts with room. A long reservation under
/// back-to-back short ones fills every instant it shares with them, and the search jumps past
/// it to the first start with room.
#[test]
fn first_available_and_availability_skip_full_starts() {
    let mut h = harness(&[("a", 2)]);
    h.hold(request(vec![segment("a", 0, 30)])).expect("room");
    h.hold(request(vec![segment("a", 0, 30)])).expect("room");
    h.hold(request(vec![segment("a", 30, 60)])).expect("room");
    assert_eq!(h.free_slots("a", 0, 120, 30), vec![30, 60, 90]);
    let token = h.hold(find(&["a"], 0, 120, 30, 30)).expect("a start");
    let taken = &h.book.get(token, h.now_ms).expect("held").segments[0];
    assert_eq!(taken.start_ms, at(30));
    let token = h.hold(find(&["a"], 0, 120, 30, 30)).expect("a start");
    let taken = &h.book.get(token, h.now_ms).expect("held").segments[0];
    assert_eq!(taken.start_ms, at(60), "30 is full now");

    let mut h = harness(&[("b", 2)]);
    h.hold(request(vec![segment("b", 0, 240)])).expect("room");
    for start in [0, 30, 60] {
        h.hold(request(vec![segment("b", start, start + 30)]))
            .expect("room");
    }
    assert_eq!(h.free_slots("b", 0, 240, 30), vec![90, 120, 150, 180, 210]);
    let token = h.hold(find(&["b"], 0, 240, 30, 15)).expect("a start");
    let taken = &h.book.get(token, h.now_ms).expect("held").segments[0];
    assert_eq!(taken.start_ms, at(90));
    assert!(matches!(
        h.hold(find(&["b"], 0, 90, 30, 15)),
        Err(BookError::NoSlot)
    ));
}

/// Goal: holds that ran out leave room at once (lazy expiry), and a call replacing its own holds
/// does not count them against the capacity.
#[test]
fn expired_and_replaced_holds_do_not_count() {
    let mut h = harness(&[("room", 2)]);
    let expiring = || {
        request_with(
            vec![segment("room", 0, 30)],
            options().with_ttl_seconds(60).expect("valid"),
        )
    };
    let first = h.hold(expiring()).expect("room");
    h.hold(expiring()).expect("room");
    h.advance_minutes(2);
    h.hold(request(vec![segment("room", 0, 30)]))
        .expect("both ran out");
    assert_eq!(h.status(first), Status::Expired);

    let mut h = harness(&[("room", 2)]);
    let mine = |replace: bool| {
        let options = options()
            .with_call_id("call-x")
            .expect("valid")
            .replacing_call_holds(replace);
        request_with(vec![segment("room", 0, 30)], options)
    };
    let own = h.hold(mine(false)).expect("room");
    h.hold(request(vec![segment("room", 0, 30)])).expect("room");
    assert_eq!(conflicts(h.hold(mine(false))).len(), 2);
    h.hold(mine(true))
        .expect("its own hold is replaced, not counted");
    assert_eq!(h.status(own), Status::Cancelled);
}

/// Goal: a capacity outside 1 to 1,000 is refused naming `capacity`, an invalid resource naming
/// `resource`; a resource never configured answers 1, and 1,000 is accepted.
#[test]
fn capacity_outside_its_bounds_is_refused_naming_the_field() {
    let mut h = Harness::new();
    for capacity in [0, 1_001, u32::MAX] {
        match h.book.set_resource_capacity("room", capacity) {
            Err(BookError::InvalidRequest { field, .. }) => assert_eq!(field, "capacity"),
            other => panic!("capacity {capacity}: expected invalid_request, got {other:?}"),
        }
    }
    match h.book.set_resource_capacity("no room", 2) {
        Err(BookError::InvalidRequest { field, .. }) => assert_eq!(field, "resource"),
        other => panic!("expected invalid_request, got {other:?}"),
    }
    assert_eq!(h.book.resource_capacity("room"), 1);
    h.book.set_resource_capacity("room", 1_000).expect("valid");
    assert_eq!(h.book.resource_capacity("room"), 1_000);
    h.book.set_resource_capacity("other", 1).expect("valid");
    assert_eq!(h.book.resource_capacity("other"), 1);
    h.check();
}
