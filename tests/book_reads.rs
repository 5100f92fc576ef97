//! Scenario tests of the core `Book`'s reads: availability (a call's own holds count as free),
//! lists (filters combined, newest first, up to the limit) and the metrics' counts and rates.
//! Each test states its goal.

mod book_support;

use book_support::{at, error_type, options, request, request_with, segment, Harness, MINUTE_MS};
use holdfast::core::command::{AvailabilityRequest, ListFilter};
use holdfast::core::error::{BookError, ErrorType};
use holdfast::core::reservation::Status;
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
