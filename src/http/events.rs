//! The event routes: `GET /v1/companies/{company}/events` as a page of JSON or, asked with
//! `Accept: text/event-stream`, as Server-Sent Events that resume after `Last-Event-ID` (or
//! `?after=`), and `GET /v1/events` (admin) for every company's events from now on.
//!
//! A stream hands on an event only once its change is durable (it waits for the event's log
//! position), so a reader never sees a change that a failed disk took back; such an event is
//! skipped, and the `seq` it had comes again with the change that takes its place. Events are
//! handed on in `seq` order without duplicates: the stream remembers the last `seq` it sent.
//! A stream that falls behind its channel (a slow or stalled reader) resumes from the events
//! the company keeps, after a `gap` event when some are gone; the company's actor never waits
//! for it. A comment line every [`limits::EVENT_STREAM_KEEPALIVE_SECONDS`] keeps a quiet stream
//! open through proxies.

use crate::actors::company::Published;
use crate::actors::engine::Engine;
use crate::core::error::BookError;
use crate::core::events::{Event, EventPage};
use crate::http::dto::{EventDto, EventsDto, EventsQuery};
use crate::http::error::ApiError;
use crate::http::extract::{AdminAccess, CompanyAccess};
use crate::http::responses::{AdminProblems, CompanyReadProblems};
use crate::http::{AppState, Readiness};
use crate::limits;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The company's events after a position: a page of JSON, or with `Accept: text/event-stream`
/// a stream of Server-Sent Events.
#[utoipa::path(
    get,
    path = "/v1/companies/{company}/events",
    tag = "events",
    params(CompanyAccess, EventsQuery),
    responses(
        (status = 200, description = "Events after `after`, oldest first (JSON); or, asked with `Accept: text/event-stream`, every event after `Last-Event-ID` or `after` as it happens", body = EventsDto, content_type = "application/json"),
        CompanyReadProblems
    ),
    security(("bearer" = []), ())
)]
pub async fn company_events(
    company: CompanyAccess,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = EventsQuery::parse(request.query_string())?;
    if !wants_stream(&request) {
        let page = state
            .engine
            .events(&company.0, query.after(), query.limit())
            .await?;
        return Ok(HttpResponse::Ok().json(EventsDto::new(&page, query.after())));
    }
    let after = match last_event_id(&request)? {
        Some(seq) => seq,
        None => query.after(),
    };
    let subscription = state
        .engine
        .subscribe_events(&company.0, after, limits::EVENTS_PAGE_MAX)
        .await?;
    let mut stream = EventStream::new(&state, Some(company.0), after, subscription.receiver);
    stream.take_page(subscription.page, subscription.ticket);
    Ok(stream_response(stream))
}

/// Every company's events from now on, as Server-Sent Events (admin key; `Accept:
/// text/event-stream`, else 400 naming `Accept`).
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    responses(
        (status = 200, description = "Every company's events as they happen (`text/event-stream`)", content_type = "text/event-stream"),
        AdminProblems
    ),
    security(("bearer" = []), ())
)]
pub async fn all_events(
    _admin: AdminAccess,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    crate::http::dto::no_query(request.query_string())?;
    if !wants_stream(&request) {
        // Every company's events exist only as they happen: there is no page to answer.
        let detail = "must ask for text/event-stream (every company's events are a stream only)";
        return Err(BookError::invalid("Accept", detail).into());
    }
    let receiver = state.engine.subscribe_all_events();
    let stream = EventStream::new(&state, None, 0, receiver);
    Ok(stream_response(stream))
}

/// Whether the caller asked for Server-Sent Events.
fn wants_stream(request: &HttpRequest) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("text/event-stream"))
}

/// The `Last-Event-ID` header as a `seq` (400 naming it when it is not one).
fn last_event_id(request: &HttpRequest) -> Result<Option<u64>, ApiError> {
    let Some(value) = request.headers().get("last-event-id") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    // The same bound as `after`: the wire's integers are signed 64-bit.
    let seq = text
        .parse::<u64>()
        .ok()
        .filter(|n| text.bytes().all(|b| b.is_ascii_digit()) && *n <= i64::MAX as u64);
    match seq {
        Some(seq) => Ok(Some(seq)),
        None => Err(BookError::invalid("Last-Event-ID", "must be an event's seq").into()),
    }
}

fn stream_response(stream: EventStream) -> HttpResponse {
    let body = futures::stream::unfold(stream, |mut stream| async move {
        let chunk = stream.next_chunk().await?;
        Some((Ok::<Bytes, actix_web::Error>(chunk), stream))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // A stream is never compressed: a compressor buffers what it has not yet compressed.
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body)
}

/// One reader's stream: events to hand on, in `seq` order, each once it is durable.
struct EventStream {
    engine: Engine,
    /// Cleared when the server drains: a stream ends then, so that shutdown does not wait for
    /// readers that never leave.
    ready: Readiness,
    /// The company read (`None`: every company, live only).
    company: Option<String>,
    /// The last `seq` handed on (a company's stream).
    last_sent: u64,
    /// Events read from the kept ones, to hand on before the channel's.
    backlog: VecDeque<Published>,
    receiver: broadcast::Receiver<Published>,
    /// A `gap` to tell before anything else.
    gap: Option<u64>,
    /// The newest ticket known durable (events after it in the same epoch may still wait).
    durable: Option<crate::durability::log::Ticket>,
    /// The channel told of dropped events while a batch was gathered: resume before reading on.
    lagged: bool,
    /// How long nothing was sent (a keep-alive comment is due at
    /// [`limits::EVENT_STREAM_KEEPALIVE_SECONDS`]).
    quiet: Duration,
}

/// How often a quiet stream looks whether the server drains.
const STREAM_POLL: Duration = Duration::from_millis(limits::EVENT_STREAM_POLL_MILLIS);

impl EventStream {
    fn new(
        state: &AppState,
        company: Option<String>,
        after: u64,
        receiver: broadcast::Receiver<Published>,
    ) -> EventStream {
        EventStream {
            engine: state.engine.clone(),
            ready: state.ready.clone(),
            company,
            last_sent: after,
            backlog: VecDeque::new(),
            receiver,
            gap: None,
            durable: None,
            lagged: false,
            quiet: Duration::ZERO,
        }
    }

    /// Queues a page of kept events (all waiting for `ticket`), and its gap.
    fn take_page(&mut self, page: EventPage, ticket: crate::durability::log::Ticket) {
        if let Some(first) = page.gap_before {
            if first > self.last_sent + 1 {
                self.gap = Some(first);
                self.last_sent = first - 1;
            }
        }
        self.backlog.extend(
            page.events
                .into_iter()
                .map(|event| Published::new(event, ticket)),
        );
    }

    /// Re-reads the kept events after the last one handed on (the channel fell behind, or an
    /// event came out of order).
    async fn catch_up(&mut self) -> Option<()> {
        let company = self.company.clone()?;
        let subscription = self
            .engine
            .subscribe_events(&company, self.last_sent, limits::EVENTS_PAGE_MAX)
            .await
            .ok()?;
        self.receiver = subscription.receiver;
        self.backlog.clear();
        self.take_page(subscription.page, subscription.ticket);
        Some(())
    }

    /// The next bytes to send: the gap, an event, or a keep-alive comment; `None` ends the
    /// stream (the company's actor is gone, or the server shuts down).
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if let Some(first) = self.gap.take() {
                let data = serde_json::json!({ "first_available_seq": first });
                return Some(Bytes::from(format!("event: gap\ndata: {data}\n\n")));
            }
            if std::mem::take(&mut self.lagged) {
                self.fell_behind().await?;
                continue;
            }
            if let Some(published) = self.backlog.pop_front() {
                if let Some(first) = self.hand_on(published).await {
                    return Some(self.with_ready(first));
                }
                continue;
            }
            if !self.ready.is_ready() {
                return None;
            }
            match tokio::time::timeout(STREAM_POLL, self.receiver.recv()).await {
                Err(_) => {
                    self.quiet += STREAM_POLL;
                    if self.quiet >= Duration::from_secs(limits::EVENT_STREAM_KEEPALIVE_SECONDS) {
                        self.quiet = Duration::ZERO;
                        return Some(Bytes::from_static(b": keep-alive\n\n"));
                    }
                }
                Ok(Ok(published)) => {
                    self.quiet = Duration::ZERO;
                    let seq = published.event.seq;
                    let in_order = self.company.is_none() || seq <= self.last_sent + 1;
                    if in_order {
                        self.backlog.push_back(published);
                    } else {
                        // Something between was skipped (not durable, or not yet read): the
                        // kept events tell what.
                        self.catch_up().await?;
                    }
                }
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => self.fell_behind().await?,
                Ok(Err(broadcast::error::RecvError::Closed)) => return None,
            }
        }
    }

    /// The channel dropped events this stream had not read: resume from the kept ones.
    async fn fell_behind(&mut self) -> Option<()> {
        if self.company.is_some() {
            self.catch_up().await
        } else {
            // The stream of every company has no history to resume from.
            self.gap = Some(0);
            self.receiver = self.receiver.resubscribe();
            Some(())
        }
    }

    /// `first` and, after it, every event already waiting that can go now (in order, known
    /// durable), up to [`limits::EVENT_STREAM_BATCH_BYTES`]: under load a reader gets one write for many
    /// events instead of one each.
    fn with_ready(&mut self, first: Arc<str>) -> Bytes {
        let mut batch: Option<Vec<u8>> = None;
        loop {
            let size = batch.as_ref().map_or(first.len(), Vec::len);
            if size >= limits::EVENT_STREAM_BATCH_BYTES {
                break;
            }
            let next = match self.backlog.pop_front() {
                Some(next) => next,
                None => match self.receiver.try_recv() {
                    Ok(next) => next,
                    Err(broadcast::error::TryRecvError::Lagged(_)) => {
                        self.lagged = true;
                        break;
                    }
                    Err(_) => break,
                },
            };
            let in_order = self.company.is_none() || next.event.seq <= self.last_sent + 1;
            if !in_order || !self.known_durable(next.ticket) {
                // It waits, or tells of a skip: the next call handles it.
                self.backlog.push_front(next);
                break;
            }
            if let Some(encoded) = self.emit(&next) {
                batch
                    .get_or_insert_with(|| first.as_bytes().to_vec())
                    .extend_from_slice(encoded.as_bytes());
            }
        }
        match batch {
            Some(batch) => Bytes::from(batch),
            None => Bytes::from_owner(Encoded(first)),
        }
    }

    /// Whether `ticket` is known durable: tickets come in order, so one known durable covers
    /// every earlier one of its epoch.
    fn known_durable(&self, ticket: crate::durability::log::Ticket) -> bool {
        self.durable
            .is_some_and(|d| d.epoch == ticket.epoch && d.lsn >= ticket.lsn)
    }

    /// The text of `published` once its change is durable; `None` when it is a repeat or its
    /// change was not kept.
    async fn hand_on(&mut self, published: Published) -> Option<Arc<str>> {
        if self.company.is_some() && published.event.seq <= self.last_sent {
            return None;
        }
        if !self.known_durable(published.ticket) {
            self.engine.wait_durable(published.ticket).await.ok()?;
            self.durable = Some(published.ticket);
        }
        self.emit(&published)
    }

    /// Marks `published` sent and answers its text (`None` for a repeat). Its change is known
    /// durable.
    fn emit(&mut self, published: &Published) -> Option<Arc<str>> {
        let event: &Arc<Event> = &published.event;
        if self.company.is_some() {
            if event.seq <= self.last_sent {
                return None;
            }
            self.last_sent = event.seq;
        }
        Some(published.encoded.get_or_init(|| encode(event)).clone())
    }
}

/// An event as a stream sends it: `id:`, `event:` and `data:` lines.
fn encode(event: &Event) -> Arc<str> {
    // Serializing a DTO of strings and numbers into memory cannot fail.
    let data = serde_json::to_string(&EventDto::from(event)).unwrap_or_default();
    format!(
        "id: {}\nevent: {}\ndata: {data}\n\n",
        event.seq,
        event.kind.as_str()
    )
    .into()
}

/// Shared encoded text as the body's bytes, without a copy per reader.
struct Encoded(Arc<str>);

impl AsRef<[u8]> for Encoded {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}
