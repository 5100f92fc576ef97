//! The day view's live events: the company's events as they happen, rendered as lines of HTML
//! and sent as Server-Sent Events (`event: change`), which htmx's SSE extension puts at the top
//! of the list. An event goes out once its change is durable, like every reader's. Under load a
//! page gets the newest few lines a few times a second, and a reader that falls behind skips
//! what it missed (the page is a glance, not a ledger; the API's stream resumes exactly). The
//! stream is not compressed: a compressor would hold events back.

use crate::actors::company::Published;
use crate::actors::engine::Engine;
use crate::core::events::Event;
use crate::http::Readiness;
use crate::limits;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use chrono_tz::Tz;
use std::time::Duration;
use tokio::sync::broadcast;

/// One event as the page lists it.
pub fn line(zone: Tz, event: &Event) -> maud::Markup {
    let reservation = &event.reservation;
    let first = reservation.segments.first();
    maud::html! {
        li data-seq=(event.seq) {
            time { (crate::http::voice::speech::local(zone, event.occurred_at_ms).format("%H:%M:%S")) }
            " " b { (event.kind.as_str().trim_start_matches("reservation.")) }
            @if let Some(segment) = first {
                " " (segment.resource) " " (crate::http::voice::speech::local(zone, segment.start_ms).format("%d %b %H:%M"))
            }
            @if let Some(call) = &reservation.call_id { " · " (call) }
        }
    }
}

struct Stream {
    engine: Engine,
    ready: Readiness,
    zone: Tz,
    receiver: broadcast::Receiver<Published>,
    quiet: Duration,
}

/// The stream of `receiver`'s events, rendered for the page.
pub fn stream(
    engine: Engine,
    ready: Readiness,
    zone: Tz,
    receiver: broadcast::Receiver<Published>,
) -> HttpResponse {
    let state = Stream {
        engine,
        ready,
        zone,
        receiver,
        quiet: Duration::ZERO,
    };
    let body = futures::stream::unfold(state, |mut state| async move {
        let chunk = state.next().await?;
        Some((Ok::<Bytes, actix_web::Error>(chunk), state))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .insert_header((header::CONTENT_SECURITY_POLICY, super::POLICY))
        .streaming(body)
}

impl Stream {
    /// The next message (the newest events since the last, as lines) or a keep-alive comment;
    /// `None` ends the stream. Messages go at most every
    /// [`limits::ADMIN_EVENTS_MESSAGE_MILLIS`] with at most [`limits::ADMIN_EVENTS_PER_MESSAGE`]
    /// lines: a page watching a busy company costs the server a few renders a second, not one
    /// per event (what it skips, a person could not read anyway).
    async fn next(&mut self) -> Option<Bytes> {
        let poll = Duration::from_millis(limits::EVENT_STREAM_POLL_MILLIS);
        loop {
            if !self.ready.is_ready() {
                return None;
            }
            let first = match tokio::time::timeout(poll, self.receiver.recv()).await {
                Err(_) => {
                    self.quiet += poll;
                    if self.quiet >= Duration::from_secs(limits::EVENT_STREAM_KEEPALIVE_SECONDS) {
                        self.quiet = Duration::ZERO;
                        return Some(Bytes::from_static(b": keep-alive\n\n"));
                    }
                    continue;
                }
                Ok(Ok(published)) => published,
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                Ok(Err(broadcast::error::RecvError::Closed)) => return None,
            };
            self.quiet = Duration::ZERO;
            // Let a burst gather, then take what came: the newest lines only.
            tokio::time::sleep(Duration::from_millis(limits::ADMIN_EVENTS_MESSAGE_MILLIS)).await;
            let mut batch = vec![first];
            loop {
                match self.receiver.try_recv() {
                    Ok(published) => batch.push(published),
                    Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                    Err(_) => break,
                }
            }
            let newest =
                batch.split_off(batch.len().saturating_sub(limits::ADMIN_EVENTS_PER_MESSAGE));
            let Some(last) = newest.last() else {
                continue;
            };
            // Tickets come in order: the last one durable, every earlier one is too. A change
            // the disk did not keep is not shown.
            if self.engine.wait_durable(last.ticket).await.is_err() {
                continue;
            }
            let mut html = String::new();
            for published in newest.iter().rev() {
                html.push_str(&line(self.zone, &published.event).into_string());
            }
            return Some(Bytes::from(format!("event: change\ndata: {html}\n\n")));
        }
    }
}

/// The newest events of a company as the page first lists them, newest first.
pub fn lines(zone: Tz, events: &[std::sync::Arc<Event>]) -> maud::Markup {
    maud::html! {
        @for event in events.iter().rev() {
            (line(zone, event))
        }
    }
}
