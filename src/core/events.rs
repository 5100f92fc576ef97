//! A company's events: one per change of a reservation (created, extended, converted, cancelled,
//! expired), numbered by the company's `seq` from 1 with no gap, each carrying the reservation as
//! it was right after the change. The book appends them as it changes (so replaying the log's
//! changes appends the same events with the same numbers) and keeps the newest of them for
//! readers that resume: at least the newest [`limits::EVENTS_KEPT_MIN`] and every event of the
//! last [`limits::EVENTS_KEPT_SECONDS`], never more than [`limits::EVENTS_KEPT_MAX`]. Events a
//! webhook endpoint has not acknowledged (after the book's pin) are kept longer for it, up to
//! [`limits::WEBHOOK_EVENTS_KEPT_MAX`] and [`limits::WEBHOOK_EVENTS_KEPT_SECONDS`].

use crate::core::reservation::ReservationView;
use crate::limits;
use std::collections::VecDeque;
use std::sync::Arc;

/// What changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Created,
    Extended,
    Converted,
    Cancelled,
    Expired,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::Created,
        EventKind::Extended,
        EventKind::Converted,
        EventKind::Cancelled,
        EventKind::Expired,
    ];

    /// The API's name of the event type.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "reservation.created",
            EventKind::Extended => "reservation.extended",
            EventKind::Converted => "reservation.converted",
            EventKind::Cancelled => "reservation.cancelled",
            EventKind::Expired => "reservation.expired",
        }
    }

    /// The kind of an API name.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// The stored code of the kind (its place in [`EventKind::ALL`]).
    pub fn code(self) -> u8 {
        EventKind::ALL
            .iter()
            .position(|kind| *kind == self)
            .expect("every kind is listed") as u8
    }

    /// The kind of a stored code.
    pub fn from_code(code: u8) -> Option<EventKind> {
        EventKind::ALL.get(code as usize).copied()
    }
}

/// One event. Shared (`Arc`) between the book's history and every reader it is handed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub seq: u64,
    pub kind: EventKind,
    pub occurred_at_ms: i64,
    /// The reservation right after the change.
    pub reservation: ReservationView,
}

/// Events kept for readers, and the number the next one gets.
#[derive(Clone, Debug)]
pub struct EventLog {
    /// Oldest first; their `seq`s are consecutive.
    kept: VecDeque<Arc<Event>>,
    next_seq: u64,
    /// How many events were appended since [`EventLog::take_new`] last ran.
    unpublished: usize,
    /// Events after this `seq` are still owed to a webhook endpoint (the lowest acknowledged
    /// `seq` of the company's endpoints): kept past the streams' retention.
    pinned_after: Option<u64>,
}

impl Default for EventLog {
    fn default() -> EventLog {
        EventLog {
            kept: VecDeque::new(),
            next_seq: 1,
            unpublished: 0,
            pinned_after: None,
        }
    }
}

/// A page of kept events after a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventPage {
    pub events: Vec<Arc<Event>>,
    /// Set when events after the position asked for are no longer kept: the first `seq` that is
    /// (the reader missed those before it).
    pub gap_before: Option<u64>,
    /// The `seq` the next event will get.
    pub next_seq: u64,
}

impl EventLog {
    /// An event log that numbers its next event `next_seq` and keeps `kept` (restore: oldest
    /// first, consecutive, ending right before `next_seq`; checked by the caller).
    pub fn restored(next_seq: u64, kept: Vec<Event>) -> EventLog {
        EventLog {
            kept: kept.into_iter().map(Arc::new).collect(),
            next_seq: next_seq.max(1),
            unpublished: 0,
            pinned_after: None,
        }
    }

    /// The `seq` the next event gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The kept events, oldest first.
    pub fn kept(&self) -> impl DoubleEndedIterator<Item = &Arc<Event>> + ExactSizeIterator {
        self.kept.iter()
    }

    /// Appends the event of a change at `now_ms`, then drops what retention no longer keeps.
    pub fn push(&mut self, kind: EventKind, now_ms: i64, reservation: ReservationView) {
        let event = Event {
            seq: self.next_seq,
            kind,
            occurred_at_ms: now_ms,
            reservation,
        };
        self.next_seq += 1;
        self.kept.push_back(Arc::new(event));
        self.unpublished += 1;
        self.drop_old(now_ms);
    }

    /// Drops the oldest events beyond the newest [`limits::EVENTS_KEPT_MIN`] that are older
    /// than [`limits::EVENTS_KEPT_SECONDS`], and any beyond [`limits::EVENTS_KEPT_MAX`]; an
    /// event still owed to a webhook endpoint (after the pin) goes only past the webhooks' own
    /// bounds.
    pub fn drop_old(&mut self, now_ms: i64) {
        let horizon_ms = now_ms - limits::EVENTS_KEPT_SECONDS * 1_000;
        let owed_horizon_ms = now_ms - limits::WEBHOOK_EVENTS_KEPT_SECONDS * 1_000;
        while let Some(oldest) = self.kept.front() {
            let over_max = self.kept.len() > limits::EVENTS_KEPT_MAX;
            let old =
                self.kept.len() > limits::EVENTS_KEPT_MIN && oldest.occurred_at_ms < horizon_ms;
            if !(over_max || old) {
                break;
            }
            let owed = self.pinned_after.is_some_and(|pin| oldest.seq > pin);
            let past_owed_bounds = self.kept.len() > limits::WEBHOOK_EVENTS_KEPT_MAX
                || oldest.occurred_at_ms < owed_horizon_ms;
            if owed && !past_owed_bounds {
                break;
            }
            self.kept.pop_front();
        }
        self.unpublished = self.unpublished.min(self.kept.len());
    }

    /// Keeps the events after `pinned_after` for webhook endpoints (`None`: none is owed) from
    /// the next [`EventLog::drop_old`] on.
    pub fn pin(&mut self, pinned_after: Option<u64>) {
        self.pinned_after = pinned_after;
    }

    /// How many kept events occurred at or after `since_ms` (newest first, so it costs the
    /// events counted).
    pub fn count_since(&self, since_ms: i64) -> u64 {
        self.kept
            .iter()
            .rev()
            .take_while(|event| event.occurred_at_ms >= since_ms)
            .count() as u64
    }

    /// The `seq` of the oldest kept event (the next one's when none is kept).
    pub fn first_kept_seq(&self) -> u64 {
        self.kept.front().map_or(self.next_seq, |e| e.seq)
    }

    /// The events appended since the last call, oldest first, for the subscribers.
    pub fn take_new(&mut self) -> Vec<Arc<Event>> {
        let new = self.unpublished;
        self.unpublished = 0;
        self.kept
            .iter()
            .skip(self.kept.len() - new)
            .cloned()
            .collect()
    }

    /// At most `limit` kept events with a `seq` above `after`, oldest first.
    pub fn after(&self, after: u64, limit: usize) -> EventPage {
        let first_kept = self.first_kept_seq();
        let gap_before = (after + 1 < first_kept).then_some(first_kept);
        let skip = (after + 1).saturating_sub(first_kept) as usize;
        EventPage {
            events: self.kept.iter().skip(skip).take(limit).cloned().collect(),
            gap_before,
            next_seq: self.next_seq,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reservation::Status;
    use uuid::Uuid;

    const HOUR_MS: i64 = 3_600_000;

    fn view() -> ReservationView {
        ReservationView {
            token: Uuid::from_u128(1),
            company: "acme".into(),
            status: Status::Active,
            compound: false,
            segments: Vec::new(),
            call_id: None,
            customer_phone: None,
            service_id: None,
            reserved_at_ms: 0,
            expires_at_ms: 0,
            time_remaining_seconds: 0,
            appointment_id: None,
            converted_at_ms: None,
            cancelled_at_ms: None,
            cancel_reason: None,
            expired_at_ms: None,
        }
    }

    fn seqs(page: &EventPage) -> Vec<u64> {
        page.events.iter().map(|e| e.seq).collect()
    }

    /// Goal: events are numbered from 1 without a gap, read back after any position in pages,
    /// and handed to the subscribers once each.
    #[test]
    fn events_are_numbered_and_read_after_a_position() {
        let mut log = EventLog::default();
        for kind in EventKind::ALL {
            log.push(kind, 0, view());
        }
        assert_eq!(log.next_seq(), 6);
        assert_eq!(seqs(&log.after(0, 100)), [1, 2, 3, 4, 5]);
        assert_eq!(seqs(&log.after(2, 2)), [3, 4]);
        assert_eq!(seqs(&log.after(5, 10)), Vec::<u64>::new());
        assert_eq!(seqs(&log.after(9, 10)), Vec::<u64>::new());
        assert_eq!(log.after(0, 1).gap_before, None);
        let new: Vec<u64> = log.take_new().iter().map(|e| e.seq).collect();
        assert_eq!(new, [1, 2, 3, 4, 5]);
        assert!(log.take_new().is_empty(), "each event is handed over once");
        log.push(EventKind::Expired, 0, view());
        assert_eq!(log.take_new().len(), 1);
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(EventKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(EventKind::parse("reservation.moved"), None);
    }

    /// Goal: retention keeps the newest `EVENTS_KEPT_MIN` whatever their age and every event of
    /// the last day, at most `EVENTS_KEPT_MAX`; a reader asking for what is gone learns the
    /// first kept `seq`.
    #[test]
    fn retention_keeps_the_newest_and_the_last_day() {
        let mut log = EventLog::default();
        let old_count = limits::EVENTS_KEPT_MIN + 5;
        for _ in 0..old_count {
            log.push(EventKind::Created, 0, view());
        }
        assert_eq!(log.kept().count(), old_count, "all younger than a day");
        // A day later the five oldest are beyond the newest 10,000 and old: they go.
        let day_later_ms = limits::EVENTS_KEPT_SECONDS * 1_000 + HOUR_MS;
        log.drop_old(day_later_ms);
        assert_eq!(log.kept().count(), limits::EVENTS_KEPT_MIN);
        let page = log.after(0, 3);
        assert_eq!(page.gap_before, Some(6));
        assert_eq!(seqs(&page), [6, 7, 8]);
        assert_eq!(
            log.after(5, 1).gap_before,
            None,
            "nothing after 5 is missing"
        );
        // Young events are kept past the floor, up to the bound.
        let mut log = EventLog::default();
        for _ in 0..limits::EVENTS_KEPT_MAX + 3 {
            log.push(EventKind::Created, 0, view());
        }
        assert_eq!(log.kept().count(), limits::EVENTS_KEPT_MAX);
        assert_eq!(log.after(0, 1).gap_before, Some(4));
        assert_eq!(log.take_new().len(), limits::EVENTS_KEPT_MAX);
    }

    /// Goal: events owed to a webhook endpoint (after the pin) outlive the streams' retention
    /// until the webhooks' own bounds; acknowledging (moving the pin) lets them go.
    #[test]
    fn owed_events_are_kept_until_acknowledged_or_past_their_bound() {
        let mut log = EventLog::default();
        log.pin(Some(0));
        let count = limits::EVENTS_KEPT_MIN + 5;
        for _ in 0..count {
            log.push(EventKind::Created, 0, view());
        }
        let two_days_ms = 2 * limits::EVENTS_KEPT_SECONDS * 1_000;
        log.drop_old(two_days_ms);
        assert_eq!(log.kept().count(), count, "every event is still owed");
        log.pin(Some(3));
        log.drop_old(two_days_ms);
        assert_eq!(log.first_kept_seq(), 4, "acknowledged ones go");
        let week_later_ms = limits::WEBHOOK_EVENTS_KEPT_SECONDS * 1_000 + HOUR_MS;
        log.drop_old(week_later_ms);
        assert_eq!(
            log.kept().count(),
            limits::EVENTS_KEPT_MIN,
            "past the webhooks' bound"
        );
        assert_eq!(log.first_kept_seq(), 6);
    }
}
