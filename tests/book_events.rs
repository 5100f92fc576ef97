//! Scenario tests of the core `Book`'s events: every change of a reservation yields exactly one
//! event, numbered by the company's `seq` from 1, carrying the reservation as it was right after
//! the change; a request that changes nothing yields none; the holds a request expires on its
//! own (lazily) yield theirs, and the book notes them for its owner to log.

mod book_support;

use book_support::{options, request, request_with, segment, Harness};
use holdfast::core::events::EventKind;
use holdfast::core::reservation::Status;

/// The kinds, seqs and reservation statuses of every kept event.
fn events(h: &Harness) -> Vec<(u64, EventKind, Status)> {
    h.book
        .events_after(0, 1_000)
        .events
        .iter()
        .map(|e| (e.seq, e.kind, e.reservation.status))
        .collect()
}

/// Goal: create, extend, convert and cancel each yield one event, in order, numbered 1 to 4,
/// each carrying the reservation after its change; repeats that change nothing (a second
/// confirm, a second cancel) and refusals yield none.
#[test]
fn every_change_yields_one_event() {
    let mut h = Harness::new();
    let token = h.hold(request(vec![segment("a", 0, 30)])).expect("hold");
    h.book.extend(token, 600, h.now_ms).expect("extend");
    h.book.confirm(token, None, h.now_ms).expect("confirm");
    h.book.confirm(token, None, h.now_ms).expect("a repeat");
    // A refused hold of the booked slot changes nothing.
    assert!(h.hold(request(vec![segment("a", 0, 30)])).is_err());
    h.book
        .cancel(token, Some("customer_hung_up".into()), h.now_ms)
        .expect("cancel");
    h.book.cancel(token, None, h.now_ms).expect("a repeat");
    assert_eq!(
        events(&h),
        [
            (1, EventKind::Created, Status::Active),
            (2, EventKind::Extended, Status::Active),
            (3, EventKind::Converted, Status::Converted),
            (4, EventKind::Cancelled, Status::Cancelled),
        ]
    );
    let page = h.book.events_after(0, 10);
    let extended = &page.events[1].reservation;
    assert_eq!(extended.expires_at_ms, h.now_ms + 600_000);
    assert_eq!(
        page.events[3].reservation.cancel_reason.as_deref(),
        Some("customer_hung_up")
    );
    assert_eq!(page.next_seq, 5);
    assert_eq!(h.book.take_new_events().len(), 4, "handed over once");
    assert!(h.book.take_new_events().is_empty());
}

/// Goal: a call's newer hold that replaces its older ones yields the cancels first, then its
/// own create; expiry by the wheel yields `expired` once, and a repeat of it nothing.
#[test]
fn replacing_and_expiring_yield_their_events() {
    let mut h = Harness::new();
    let call = options().with_call_id("call-1").unwrap();
    let first = h
        .hold(request_with(vec![segment("a", 0, 30)], call.clone()))
        .expect("hold");
    let second = h
        .hold(request_with(
            vec![segment("b", 0, 30)],
            call.replacing_call_holds(true),
        ))
        .expect("replacing hold");
    h.advance_minutes(6);
    let now_ms = h.now_ms;
    assert_eq!(h.book.expire_due(&[second, first], now_ms), 1);
    assert_eq!(h.book.expire_due(&[second], now_ms), 0);
    assert_eq!(
        events(&h),
        [
            (1, EventKind::Created, Status::Active),
            (2, EventKind::Cancelled, Status::Cancelled),
            (3, EventKind::Created, Status::Active),
            (4, EventKind::Expired, Status::Expired),
        ]
    );
    assert_eq!(h.book.take_expired(), [(second, now_ms)]);
}

/// Goal: a refused hold that finds an expired hold in its way expires it on the spot: the
/// `expired` event is yielded and the book notes the expiry for its owner to log, though the
/// refusal itself yields nothing.
#[test]
fn a_refused_request_yields_the_expiries_it_made() {
    let mut h = Harness::new();
    let stale = h.hold(request(vec![segment("a", 0, 30)])).expect("hold");
    let booked = h.hold(request(vec![segment("a", 30, 60)])).expect("hold");
    h.book.confirm(booked, None, h.now_ms).expect("confirm");
    h.advance_minutes(6);
    h.book.take_expired();
    // Overlaps the stale hold (now past its expiry) and the booking: refused.
    assert!(h.hold(request(vec![segment("a", 20, 40)])).is_err());
    assert_eq!(
        events(&h),
        [
            (1, EventKind::Created, Status::Active),
            (2, EventKind::Created, Status::Active),
            (3, EventKind::Converted, Status::Converted),
            (4, EventKind::Expired, Status::Expired),
        ]
    );
    assert_eq!(h.book.take_expired(), [(stale, h.now_ms)]);
    assert_eq!(
        h.book.events_after(3, 10).events[0].occurred_at_ms,
        h.now_ms
    );
}
