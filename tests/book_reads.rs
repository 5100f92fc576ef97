//! Scenario tests of the core `Book`'s reads: availability (a call's own holds count as free,
//! an answer cut at its cap says so), lists (filters combined, newest first, up to the limit,
//! a page at a time by cursor, also across changes and a restore) and the metrics' counts and
//! rates. Each test states its goal.

mod book_support;

use book_support::{at, error_type, options, request, request_with, segment, Harness, MINUTE_MS};
use holdfast::core::book::{Book, ListPage, Settings};
use holdfast::core::command::{AvailabilityRequest, ListFilter};
use holdfast::core::error::{BookError, ErrorType};
use holdfast::core::reservation::Status;
use holdfast::durability::snapshot::{export_company, restore_company};
use holdfast::limits;
use std::collections::HashSet;
use uuid::Uuid;

/// Goal: availability with `call_id` treats that call's own active holds as free.
#[test]
fn availability_ignores_the_callers_own_holds() {
    let mut h = Harness::new();
    let mine = options().with_call_id("me").expect("a valid call id");
    h.hold(request_with(vec![segment("a", 0, 30)], mine))
        .expect("hold");
    let query = |call: Option<&str>| {
        let query = AvailabilityRequest::new(
            vec!["a".into()],
            at(0),
            at(60),
            30 * MINUTE_MS,
            30 * MINUTE_MS,
        );
        match call {
            Some(call) => query.and_then(|q| q.with_call_id(call)),
            None => query,
        }
        .expect("a valid query")
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

/// Goal: lists filter by call, status, resource and window, newest first, up to the limit.
#[test]
fn list_filters_combine_and_answer_newest_first() {
    let mut h = Harness::new();
    let with_call = |call: &str, segments| {
        request_with(
            segments,
            options().with_call_id(call).expect("a valid call id"),
        )
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
    let list = |h: &mut Harness, filter: Result<ListFilter, BookError>| -> Vec<Uuid> {
        h.book
            .list(&filter.expect("a valid filter"), h.now_ms)
            .expect("valid")
            .reservations
            .iter()
            .map(|r| r.token)
            .collect()
    };
    let everything = ListFilter::default().with_limit(10);
    assert_eq!(list(&mut h, everything), vec![b1, a2, a1]);
    let by_call = ListFilter::default()
        .with_call_id("x")
        .and_then(|f| f.with_limit(10));
    assert_eq!(list(&mut h, by_call), vec![a2, a1]);
    let converted = ListFilter::default()
        .with_status(Status::Converted)
        .with_limit(10);
    assert_eq!(list(&mut h, converted), vec![a2]);
    let window = ListFilter::default()
        .with_resource("a")
        .and_then(|f| f.with_from_ms(at(10)))
        .and_then(|f| f.with_to_ms(at(20)))
        .and_then(|f| f.with_limit(10));
    assert_eq!(list(&mut h, window), vec![a1]);
    assert_eq!(
        list(&mut h, ListFilter::default().with_limit(2)),
        vec![b1, a2]
    );
    let too_many = ListFilter::default().with_limit(1_001);
    assert_eq!(error_type(too_many), ErrorType::InvalidRequest);
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

/// The tokens of a page.
fn tokens(page: &ListPage) -> Vec<Uuid> {
    page.reservations.iter().map(|r| r.token).collect()
}

/// Walks `filter`'s list in `book` page by page, each page by the cursor of the one before,
/// calling `between` after every page but the last; answers the pages' tokens.
fn walk(
    book: &mut Book,
    filter: &ListFilter,
    now_ms: i64,
    mut between: impl FnMut(&mut Book),
) -> Vec<Vec<Uuid>> {
    let mut pages = Vec::new();
    let mut page = book.list(filter, now_ms).expect("a valid filter");
    loop {
        pages.push(tokens(&page));
        assert!(pages.len() <= 100_000, "the walk does not end");
        let Some(cursor) = page.next_cursor else {
            return pages;
        };
        between(book);
        let next = filter
            .clone()
            .with_cursor(book.company(), &cursor.to_string())
            .expect("the book's own cursor");
        page = book.list(&next, now_ms).expect("a valid filter");
    }
}

/// A hold straight into the book, without the harness's invariant check after it (which reads
/// the whole book: tests that make thousands of holds check once at the end).
fn quick_hold(h: &mut Harness, resource: &str, from_minute: i64, to_minute: i64) -> Uuid {
    let token = h.token();
    let request = request(vec![segment(resource, from_minute, to_minute)]);
    h.book
        .hold(request, None, token, h.now_ms)
        .expect("a free slot")
        .reservation
        .token
}

/// Goal: walking a list page by page answers exactly the list in one answer: every matching
/// reservation once, newest first, under every filter and page size; every page but the last
/// is full and has a cursor, the last has none (also when nothing matches at all).
#[test]
fn list_pages_walk_every_match_once_newest_first() {
    let mut h = Harness::new();
    let calls = ["x", "y", "z"];
    let mut created = Vec::new();
    for index in 0..30 {
        let resource = if index % 2 == 0 { "a" } else { "b" };
        let with_call = options().with_call_id(calls[index % 3]).expect("a call");
        let start = 30 * index as i64;
        let token = h
            .hold(request_with(
                vec![segment(resource, start, start + 30)],
                with_call,
            ))
            .expect("hold");
        if index % 4 == 0 {
            h.book.confirm(token, None, h.now_ms).expect("confirm");
        }
        created.push(token);
    }
    let newest_first: Vec<Uuid> = created.iter().rev().copied().collect();
    let filters = [
        ("everything", Ok(ListFilter::default())),
        (
            "converted",
            Ok(ListFilter::default().with_status(Status::Converted)),
        ),
        ("on a", ListFilter::default().with_resource("a")),
        ("call x", ListFilter::default().with_call_id("x")),
        (
            "call y on b",
            ListFilter::default()
                .with_call_id("y")
                .and_then(|f| f.with_resource("b")),
        ),
        (
            "window",
            ListFilter::default()
                .with_from_ms(at(95))
                .and_then(|f| f.with_to_ms(at(400))),
        ),
        (
            "nothing",
            Ok(ListFilter::default().with_status(Status::Expired)),
        ),
        ("unknown resource", ListFilter::default().with_resource("c")),
    ];
    for (name, filter) in filters {
        let filter = filter.expect("a valid filter");
        let whole = filter.clone().with_limit(1_000).expect("a valid limit");
        let whole = tokens(&h.book.list(&whole, h.now_ms).expect("valid"));
        let order: Vec<usize> = whole
            .iter()
            .map(|t| newest_first.iter().position(|n| n == t).expect("created"))
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "{name}: newest first"
        );
        if name == "everything" {
            assert_eq!(whole, newest_first);
        }
        for limit in [1, 4, 7, 30, 100] {
            let filter = filter.clone().with_limit(limit).expect("a valid limit");
            let pages = walk(&mut h.book, &filter, h.now_ms, |_| {});
            let (last, full) = pages.split_last().expect("a first page");
            assert!(
                full.iter().all(|page| page.len() == limit),
                "{name}/{limit}"
            );
            assert!(last.len() <= limit && (pages.len() == 1 || !last.is_empty()));
            assert_eq!(pages.concat(), whole, "{name}, pages of {limit}");
        }
    }
    let exactly_full = ListFilter::default().with_limit(30).expect("a valid limit");
    let page = h.book.list(&exactly_full, h.now_ms).expect("valid");
    assert_eq!(page.reservations.len(), 30);
    assert_eq!(
        page.next_cursor, None,
        "an exactly full last page has no cursor"
    );
    h.check();
}

/// Goal: while others create, confirm and cancel between the pages, a walk answers no
/// reservation twice and every reservation that existed before it began and matched all along
/// exactly once; reservations created during the walk lie above its cursors and do not appear.
#[test]
fn list_walk_survives_changes_between_pages() {
    for status in [None, Some(Status::Active)] {
        let mut h = Harness::new();
        let before: Vec<Uuid> = (0..40)
            .map(|index| h.hold(request(vec![segment("a", 30 * index, 30 * index + 30)])))
            .collect::<Result<_, _>>()
            .expect("holds");
        let mut filter = ListFilter::default();
        if let Some(status) = status {
            filter = filter.with_status(status);
        }
        let filter = filter.with_limit(5).expect("a valid limit");
        let mut changed = HashSet::new();
        let mut made = Vec::new();
        let mut turn = 0;
        let now_ms = h.now_ms;
        let mut next_token = 1_000u128;
        let pages = walk(&mut h.book, &filter, now_ms, |book| {
            turn += 1;
            // Confirm one old hold, cancel another, from both ends of the order.
            let confirm = before[(turn * 7) % before.len()];
            let cancel = before[before.len() - 1 - (turn * 3) % before.len()];
            if book.confirm(confirm, None, now_ms).is_ok() {
                changed.insert(confirm);
            }
            if book.cancel(cancel, None, now_ms).is_ok() {
                changed.insert(cancel);
            }
            for _ in 0..2 {
                next_token += 1;
                let start = 2_000 + 30 * next_token as i64;
                let hold = request(vec![segment("a", start, start + 30)]);
                let token = Uuid::from_u128(next_token);
                book.hold(hold, None, token, now_ms).expect("a free slot");
                made.push(token);
            }
        });
        let seen: Vec<Uuid> = pages.concat();
        let distinct: HashSet<Uuid> = seen.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            seen.len(),
            "{status:?}: a reservation twice"
        );
        assert!(turn >= 5, "{status:?}: the walk had {turn} turns");
        for token in &before {
            let matched_all_along = status.is_none() || !changed.contains(token);
            if matched_all_along {
                assert!(distinct.contains(token), "{status:?}: {token} missed");
            }
        }
        assert!(made.iter().all(|t| !distinct.contains(t)), "{status:?}");
        h.check();
    }
}

/// Goal: a cursor is refused (an invalid `cursor`, before the book sees it) when it is not one,
/// or belongs to another company or to other filters; the same list with another limit takes
/// it.
#[test]
fn list_cursor_of_another_list_is_refused() {
    let mut h = Harness::new();
    for index in 0..5 {
        h.hold(request(vec![segment("a", 30 * index, 30 * index + 30)]))
            .expect("hold");
    }
    let filter = ListFilter::default()
        .with_resource("a")
        .and_then(|f| f.with_limit(2))
        .expect("a valid filter");
    let cursor = h
        .book
        .list(&filter, h.now_ms)
        .expect("valid")
        .next_cursor
        .expect("more than one page")
        .to_string();
    let field = |result: Result<ListFilter, BookError>| match result {
        Err(BookError::InvalidRequest { field, .. }) => field,
        other => panic!("not refused: {other:?}"),
    };
    for malformed in [
        "",
        "abc",
        &cursor[..cursor.len() - 1],
        &cursor.to_uppercase(),
    ] {
        assert_eq!(
            field(filter.clone().with_cursor("acme", malformed)),
            "cursor"
        );
    }
    assert_eq!(field(filter.clone().with_cursor("beta", &cursor)), "cursor");
    let others = [
        ListFilter::default().with_limit(2),
        ListFilter::default().with_resource("b"),
        ListFilter::default()
            .with_resource("a")
            .map(|f| f.with_status(Status::Active)),
        ListFilter::default()
            .with_call_id("x")
            .and_then(|f| f.with_resource("a")),
        ListFilter::default()
            .with_resource("a")
            .and_then(|f| f.with_from_ms(at(0))),
        ListFilter::default()
            .with_resource("a")
            .and_then(|f| f.with_to_ms(at(600))),
    ];
    for other in others {
        let other = other.expect("a valid filter");
        assert_eq!(field(other.with_cursor("acme", &cursor)), "cursor");
    }
    let wider = ListFilter::default()
        .with_resource("a")
        .and_then(|f| f.with_limit(10))
        .and_then(|f| f.with_cursor("acme", &cursor))
        .expect("the same list with another limit");
    let rest = h.book.list(&wider, h.now_ms).expect("valid");
    assert_eq!(rest.reservations.len(), 3);
    assert_eq!(rest.next_cursor, None);
}

/// Goal: a filter that matches little stops each page at `LIST_SCAN_MAX` reservations
/// examined, with a cursor where it stopped (a page shorter than its limit, even empty, that
/// is not the last), and the walk still answers every match once; a list whose every
/// reservation matches fills every page.
#[test]
fn list_pages_stop_at_the_scan_bound() {
    let mut h = Harness::new();
    let bulk = 2 * limits::LIST_SCAN_MAX as i64 + 500;
    let mut rare = Vec::new();
    for index in 0..bulk {
        if index % limits::LIST_SCAN_MAX as i64 == 17 {
            rare.push(quick_hold(&mut h, "b", index, index + 1));
        }
        quick_hold(&mut h, "a", index, index + 1);
    }
    rare.reverse();
    let filter = ListFilter::default()
        .with_resource("b")
        .and_then(|f| f.with_limit(10))
        .expect("a valid filter");
    let now_ms = h.now_ms;
    let pages = walk(&mut h.book, &filter, now_ms, |_| {});
    assert_eq!(pages.concat(), rare);
    assert!(pages.len() >= 3, "{} pages", pages.len());
    assert!(pages[..pages.len() - 1].iter().any(|page| page.len() < 10));
    let everything = ListFilter::default()
        .with_limit(limits::LIST_LIMIT_MAX)
        .expect("a valid limit");
    let pages = walk(&mut h.book, &everything, now_ms, |_| {});
    let total = bulk as usize + rare.len();
    assert_eq!(pages.len(), total.div_ceil(limits::LIST_LIMIT_MAX));
    assert_eq!(pages.concat().len(), total);
    h.check();
}

/// Goal: creation positions survive a snapshot and restore even when retention dropped the
/// newest reservation before the snapshot: a hold made after the restore takes the position it
/// took in the book that was not restarted (as log replay re-runs it), and a cursor answered
/// before the restart continues the same walk after it.
#[test]
fn creation_positions_survive_a_restore_that_lost_the_newest() {
    let mut h = Harness::new();
    let made: Vec<Uuid> = (0..4)
        .map(|index| h.hold(request(vec![segment("a", 30 * index, 30 * index + 30)])))
        .collect::<Result<_, _>>()
        .expect("holds");
    for token in &made[..3] {
        h.book.confirm(*token, None, h.now_ms).expect("confirm");
    }
    h.book.cancel(made[3], None, h.now_ms).expect("cancel");
    h.advance_minutes(24 * 60 + 1);
    assert_eq!(
        h.book.housekeeping(h.now_ms),
        1,
        "the cancelled newest is dropped"
    );
    let mut restored =
        restore_company(export_company(&h.book, 0), &Settings::default()).expect("restores");
    restored.check_invariants(h.now_ms).expect("invariants");
    let after = Uuid::from_u128(99);
    for book in [&mut h.book, &mut restored] {
        let hold = request(vec![segment("a", 600, 630)]);
        book.hold(hold, None, after, h.now_ms).expect("a free slot");
    }
    let positions = |book: &Book| {
        let mut positions: Vec<(u64, [u8; 16])> = export_company(book, 0)
            .base
            .reservations
            .iter()
            .map(|r| (r.seq, r.token))
            .collect();
        positions.sort();
        positions
    };
    assert_eq!(positions(&restored), positions(&h.book));
    assert_eq!(positions(&restored).last().map(|p| p.0), Some(4));
    let first = ListFilter::default().with_limit(2).expect("a valid limit");
    let cursor = h.book.list(&first, h.now_ms).expect("valid").next_cursor;
    let next = first
        .with_cursor("acme", &cursor.expect("a next page").to_string())
        .expect("the book's own cursor");
    let rest = tokens(&restored.list(&next, h.now_ms).expect("valid"));
    assert_eq!(rest, vec![made[1], made[0]]);
}

/// Goal: availability says when its cap of 1,000 starts cut the answer: more free starts than
/// the cap is `truncated`; exactly the cap, or the cap with only taken starts after it, is not.
#[test]
fn availability_says_when_the_cap_cut_it() {
    let mut h = Harness::new();
    let cap = limits::AVAILABILITY_SLOTS_MAX as i64;
    // The 1,001st start of a one-minute grid is taken on "busy".
    h.hold(request(vec![segment("busy", cap, cap + 1)]))
        .expect("hold");
    let answer = |h: &mut Harness, resource: &str, minutes: i64| {
        let query = AvailabilityRequest::new(
            vec![resource.into()],
            at(0),
            at(minutes),
            MINUTE_MS,
            MINUTE_MS,
        )
        .expect("a valid query");
        let mut answer = h.book.availability(&query, h.now_ms).expect("valid");
        let slots = answer.remove(0);
        (slots.slots_ms.len() as i64, slots.truncated)
    };
    assert_eq!(answer(&mut h, "free", cap + 1), (cap, true));
    assert_eq!(answer(&mut h, "free", cap), (cap, false));
    assert_eq!(answer(&mut h, "free", 10), (10, false));
    assert_eq!(answer(&mut h, "busy", cap + 1), (cap, false));
    assert_eq!(answer(&mut h, "busy", cap + 2), (cap, true));
}
