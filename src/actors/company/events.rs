//! The company actor's events: after every message it logs the expiries the book made on its own
//! (a read or a refused request that found holds past their time), so that replay makes every
//! event again at the same place with the same `seq`, then hands the message's new events to the
//! subscribers, each with the log position it waits for: an event reaches a reader only once its
//! change is durable. Readers resume from the book's kept events.
//!
//! The hand-over never waits: it goes into bounded broadcast channels, one per company and one
//! for every company, and a subscriber that falls too far behind is told so by its channel
//! (`Lagged`) and resumes from what the book keeps.

use super::CompanyActor;
use crate::core::events::{Event, EventPage};
use crate::durability::log::{LogRecordV1, Ticket};
use crate::limits;
use actix::prelude::*;
use std::sync::{Arc, OnceLock};
use tokio::sync::broadcast;

/// An event handed to subscribers, with the log position its change waits for.
#[derive(Clone, Debug)]
pub struct Published {
    pub event: Arc<Event>,
    pub ticket: Ticket,
    /// The event as readers receive it, written by the first reader that needs it and shared
    /// by every other: a hundred readers encode an event once, not a hundred times.
    pub encoded: Arc<OnceLock<Arc<str>>>,
}

impl Published {
    /// An event read back from the kept ones (nothing encoded yet).
    pub fn new(event: Arc<Event>, ticket: Ticket) -> Published {
        Published {
            event,
            ticket,
            encoded: Arc::default(),
        }
    }
}

/// Where a company's events go: its own channel, and the one every company shares.
#[derive(Clone, Debug)]
pub struct EventChannels {
    pub company: broadcast::Sender<Published>,
    pub all: Option<broadcast::Sender<Published>>,
}

impl EventChannels {
    /// A company's channel, and the shared one when there is one.
    pub fn new(all: Option<broadcast::Sender<Published>>) -> EventChannels {
        let (company, _) = broadcast::channel(limits::EVENT_CHANNEL_CAPACITY);
        EventChannels { company, all }
    }
}

impl CompanyActor {
    /// Logs the expiries the book made since the last call, at the time each was made, grouped
    /// into records. Runs before any other record of a message is appended, and after every
    /// message, so the log holds every change in the order it was made.
    pub(super) fn log_own_expiries(&mut self) {
        let expired = self.book.take_expired();
        let mut at = 0;
        while at < expired.len() {
            let now_ms = expired[at].1;
            let same_time = expired[at..]
                .iter()
                .take(limits::LOG_EXPIRE_TOKENS_PER_RECORD_MAX)
                .take_while(|(_, t)| *t == now_ms)
                .count();
            let tokens: Vec<[u8; 16]> = expired[at..at + same_time]
                .iter()
                .map(|(token, _)| *token.as_bytes())
                .collect();
            self.append_record(|company| LogRecordV1::Expire {
                company,
                now_ms,
                tokens,
            });
            at += same_time;
        }
    }

    /// Ends a message: logs the book's own expiries, then hands its new events to the
    /// subscribers with the position of the last change logged.
    pub(super) fn settle(&mut self) {
        self.log_own_expiries();
        let new = self.book.take_new_events();
        if new.is_empty() {
            return;
        }
        let ticket = self.ticket();
        for event in new {
            let published = Published::new(event, ticket);
            // Nobody listening is no error: the book keeps the event for later readers.
            if let Some(all) = &self.events.all {
                let _ = all.send(published.clone());
            }
            let _ = self.events.company.send(published);
        }
    }
}

/// Read kept events after a position.
#[derive(Message)]
#[rtype(result = "(EventPage, Ticket)")]
pub struct ReadEvents {
    pub after: u64,
    pub limit: usize,
}

impl Handler<ReadEvents> for CompanyActor {
    type Result = MessageResult<ReadEvents>;

    fn handle(&mut self, message: ReadEvents, _: &mut Context<Self>) -> Self::Result {
        let page = self.book.events_after(message.after, message.limit);
        MessageResult((page, self.ticket()))
    }
}

/// Subscribe to the company's events after a position: the kept ones after it now, and a
/// receiver of every later one, both taken in one turn so that nothing falls between them.
#[derive(Message)]
#[rtype(result = "EventSubscription")]
pub struct SubscribeEvents {
    pub after: u64,
    pub limit: usize,
}

/// What [`SubscribeEvents`] answers.
#[derive(Debug)]
pub struct EventSubscription {
    pub page: EventPage,
    /// The log position the page's events wait for.
    pub ticket: Ticket,
    pub receiver: broadcast::Receiver<Published>,
}

impl Handler<SubscribeEvents> for CompanyActor {
    type Result = MessageResult<SubscribeEvents>;

    fn handle(&mut self, message: SubscribeEvents, _: &mut Context<Self>) -> Self::Result {
        let receiver = self.events.company.subscribe();
        let page = self.book.events_after(message.after, message.limit);
        MessageResult(EventSubscription {
            page,
            ticket: self.ticket(),
            receiver,
        })
    }
}
