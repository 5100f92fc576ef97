//! The day view's live events: the company's events as they happen, each rendered as one line
//! of HTML and sent as a Server-Sent Event (`event: change`), which htmx's SSE extension puts at
//! the top of the list. An event goes out once its change is durable, like every reader's. A
//! reader that falls behind its channel skips what it missed (the page is a glance, not a
//! ledger; the API's stream resumes exactly). The stream is not compressed: a compressor would
//! hold events back.

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
    /// The next event's bytes, or a keep-alive comment; `None` ends the stream.
    async fn next(&mut self) -> Option<Bytes> {
        let poll = Duration::from_millis(limits::EVENT_STREAM_POLL_MILLIS);
        loop {
            if !self.ready.is_ready() {
                return None;
            }
            match tokio::time::timeout(poll, self.receiver.recv()).await {
                Err(_) => {
                    self.quiet += poll;
                    if self.quiet >= Duration::from_secs(limits::EVENT_STREAM_KEEPALIVE_SECONDS) {
                        self.quiet = Duration::ZERO;
                        return Some(Bytes::from_static(b": keep-alive\n\n"));
                    }
                }
                Ok(Ok(published)) => {
                    self.quiet = Duration::ZERO;
                    // A change the disk did not keep is not shown.
                    if self.engine.wait_durable(published.ticket).await.is_err() {
                        continue;
                    }
                    let html = line(self.zone, &published.event).into_string();
                    return Some(Bytes::from(format!("event: change\ndata: {html}\n\n")));
                }
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                Ok(Err(broadcast::error::RecvError::Closed)) => return None,
            }
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
