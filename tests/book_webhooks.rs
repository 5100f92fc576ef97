//! Scenario tests of the core `Book`'s webhook endpoints: a new endpoint starts after the last
//! event made; acknowledgements move forward only; the events an endpoint has not acknowledged
//! outlive the streams' retention until the webhooks' own bound, past which the endpoint learns
//! where what it lost ends; the endpoints per company are bounded.

mod book_support;

use book_support::{request, segment, Harness};
use holdfast::core::error::ErrorType;
use holdfast::core::events::EventKind;
use holdfast::core::webhooks::{EventFilter, WebhookConfig};
use holdfast::limits;

fn config(kinds: Option<Vec<EventKind>>) -> WebhookConfig {
    let url = url::Url::parse("https://app.example/hooks").unwrap();
    let filter = kinds.map_or_else(EventFilter::all, EventFilter::of);
    WebhookConfig::new(url, filter, vec![7; 32]).unwrap()
}

/// Goal: a new endpoint is owed only what comes after it; `pending` counts the events of its
/// types not acknowledged; an acknowledgement never moves back nor past the last event; a
/// re-`PUT` keeps the progress and (asked to) the key; removal forgets it.
#[test]
fn endpoints_start_now_and_move_forward_only() {
    let mut h = Harness::new();
    let first = h.hold(request(vec![segment("a", 0, 30)])).unwrap();
    let now = h.now_ms;
    let (created, _) = h.book.put_webhook("app", config(None), false, now).unwrap();
    assert!(created);
    let expiries = config(Some(vec![EventKind::Expired]));
    h.book
        .put_webhook("expiries", expiries, false, now)
        .unwrap();
    assert_eq!(h.book.webhook("app").unwrap().acknowledged_seq, 1);
    h.book.confirm(first, None, now).unwrap();
    h.hold(request(vec![segment("b", 0, 30)])).unwrap();
    assert_eq!(h.book.webhook_pending("app"), 2);
    assert_eq!(h.book.webhook_pending("expiries"), 0, "no expiry yet");
    assert!(h.book.acknowledge_webhook("app", 2, now));
    assert!(h.book.acknowledge_webhook("app", 1, now), "a late report");
    assert_eq!(
        h.book.webhook("app").unwrap().acknowledged_seq,
        2,
        "never back"
    );
    h.book.acknowledge_webhook("app", 99, now);
    assert_eq!(
        h.book.webhook("app").unwrap().acknowledged_seq,
        3,
        "never past the last"
    );
    let other_key = WebhookConfig::new(
        url::Url::parse("https://app.example/other").unwrap(),
        EventFilter::all(),
        vec![8; 24],
    )
    .unwrap();
    let (created, kept) = h.book.put_webhook("app", other_key, true, now).unwrap();
    assert!(!created);
    assert_eq!(&**kept.secret(), [7u8; 32], "the endpoint's key is kept");
    assert_eq!(kept.url().as_str(), "https://app.example/other");
    assert_eq!(
        h.book.webhook("app").unwrap().acknowledged_seq,
        3,
        "progress kept"
    );
    assert!(h.book.delete_webhook("expiries", now));
    assert!(!h.book.delete_webhook("expiries", now));
    assert!(!h.book.acknowledge_webhook("expiries", 3, now), "gone");
}

/// Goal: events an endpoint has not acknowledged are kept past the streams' retention (the
/// newest 10,000 and a day), until they are older than the webhooks' 7 days; the endpoint that
/// then acknowledges past them records `lost_before_seq` at the first event still kept.
#[test]
fn owed_events_outlive_retention_until_their_bound() {
    let mut h = Harness::new();
    let now = h.now_ms;
    h.book.put_webhook("app", config(None), false, now).unwrap();
    let count = limits::EVENTS_KEPT_MIN + 10;
    // One hold extended again and again: an event each, cheaply.
    let token = h.hold(request(vec![segment("a", 0, 30)])).unwrap();
    for _ in 1..count {
        h.book.extend(token, 60, now).unwrap();
    }
    let events = count as u64;
    h.advance_minutes(2 * 24 * 60);
    h.hold(request(vec![segment("late", 0, 30)])).unwrap();
    assert_eq!(
        h.book.event_log().first_kept_seq(),
        1,
        "two days on, every owed event is kept"
    );
    assert_eq!(h.book.webhook_pending("app"), events + 1);
    h.advance_minutes(6 * 24 * 60);
    h.hold(request(vec![segment("later", 0, 30)])).unwrap();
    let first_kept = h.book.event_log().first_kept_seq();
    assert_eq!(
        h.book.event_log().kept().count(),
        limits::EVENTS_KEPT_MIN,
        "past 7 days, only the streams' floor is kept"
    );
    let now = h.now_ms;
    h.book.acknowledge_webhook("app", first_kept, now);
    let app = h.book.webhook("app").unwrap();
    assert_eq!(app.lost_before_seq, Some(first_kept));
    assert_eq!(app.acknowledged_seq, first_kept);
}

/// Goal: a company has at most `WEBHOOKS_PER_COMPANY_MAX` endpoints; one more is
/// `limit_reached`, and replacing one that exists is still allowed.
#[test]
fn endpoints_per_company_are_bounded() {
    let mut h = Harness::new();
    let now = h.now_ms;
    for index in 0..limits::WEBHOOKS_PER_COMPANY_MAX {
        let id = format!("e{index}");
        h.book.put_webhook(&id, config(None), false, now).unwrap();
    }
    let refused = h.book.put_webhook("one-more", config(None), false, now);
    assert_eq!(refused.unwrap_err().error_type(), ErrorType::LimitReached);
    assert!(h.book.put_webhook("e0", config(None), false, now).is_ok());
    let bad = h
        .book
        .put_webhook("a.b", config(None), false, now)
        .unwrap_err();
    assert_eq!(bad.field(), Some("id"));
}
