//! Webhook delivery: one task per endpoint, on an arbiter of their own, sends the company's
//! events to the endpoint's URL in `seq` order, each signed per Standard Webhooks, and retries a
//! failed one (1 s, doubling, at most an hour apart; `failing` after 24 hours in a row, still
//! tried hourly) until the receiver answers 2xx. Nothing is skipped: an event is acknowledged
//! only by its receiver, and only an acknowledged one lets the next go.
//!
//! Progress is the book's: a task reads the events after the endpoint's acknowledged `seq` from
//! the company actor (only once their changes are durable, as every reader does) and reports what
//! its receiver acknowledged at most every [`limits::WEBHOOK_REPORT_INTERVAL_MILLIS`] and
//! whenever it runs out of events. The report is logged, so a restart resumes from the first
//! event not reported; an event delivered but not yet reported goes again (at least once).
//!
//! The hold path never waits on a webhook: the company actor only hands events to a bounded
//! broadcast channel that rings the task's doorbell, and the task reads the events by message.
//! The task's state (`ok`, `retrying`, `failing`, the last error) is kept here, in memory: it
//! describes this run's attempts, and a restart begins with a fresh attempt.

use crate::actors::engine::Engine;
use crate::core::events::Event;
use crate::core::webhooks::WebhookConfig;
use crate::http::dto::EventDto;
use crate::limits;
use crate::webhooks::destination::{self, DestinationError};
use crate::webhooks::metrics::{DeliveryMetrics, DeliveryOutcome};
use crate::webhooks::signature;
use actix_rt::{Arbiter, ArbiterHandle};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, Notify, Semaphore};

/// How deliveries run.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeliveryOptions {
    /// Deliver to loopback and private addresses too (`--webhook-allow-private`).
    pub allow_private: bool,
}

/// Where an endpoint's deliveries stand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeliveryState {
    /// The last attempt was acknowledged (or none failed yet).
    #[default]
    Ok,
    /// Attempts fail; retried with growing pauses.
    Retrying,
    /// Attempts have failed for [`limits::WEBHOOK_RETRYING_SECONDS_MAX`] in a row; still tried
    /// hourly, nothing skipped.
    Failing,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Ok => "ok",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Failing => "failing",
        }
    }
}

/// An endpoint's delivery state in this run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryStatus {
    pub state: DeliveryState,
    /// Why the last failed attempt failed (kept after a success, for the operator).
    pub last_error: Option<String>,
    /// Failed attempts in a row.
    pub failures: u32,
    /// When the first of those failed.
    pub failing_since_ms: Option<i64>,
}

impl DeliveryStatus {
    /// Records a failed attempt at `now_ms`; answers when the next is due.
    fn failed(&mut self, now_ms: i64, error: String) -> i64 {
        self.failures = self.failures.saturating_add(1);
        let since = *self.failing_since_ms.get_or_insert(now_ms);
        self.state = if now_ms - since >= limits::WEBHOOK_RETRYING_SECONDS_MAX * 1_000 {
            DeliveryState::Failing
        } else {
            DeliveryState::Retrying
        };
        self.last_error = Some(bounded(error));
        now_ms + retry_pause_ms(self.failures)
    }

    fn acknowledged(&mut self) {
        self.state = DeliveryState::Ok;
        self.failures = 0;
        self.failing_since_ms = None;
    }
}

/// The pause after the `failures`-th failure in a row: 1 s doubling, at most an hour.
pub fn retry_pause_ms(failures: u32) -> i64 {
    let doublings = failures.saturating_sub(1).min(31);
    let pause = limits::WEBHOOK_RETRY_PAUSE_MILLIS_FIRST.saturating_mul(1 << doublings);
    pause.min(limits::WEBHOOK_RETRY_PAUSE_SECONDS_MAX * 1_000)
}

fn bounded(mut text: String) -> String {
    if text.len() > limits::WEBHOOK_ERROR_BYTES_MAX {
        let mut end = limits::WEBHOOK_ERROR_BYTES_MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Every endpoint's delivery task (cheap to clone).
#[derive(Clone)]
pub struct Deliveries {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    client: reqwest::Client,
    allow_private: bool,
    metrics: Arc<DeliveryMetrics>,
    /// Bounds the attempts in flight over every endpoint.
    in_flight: Semaphore,
    /// The running tasks, by (company, endpoint id).
    endpoints: Mutex<HashMap<(String, String), Arc<Endpoint>>>,
    /// The tasks' thread: deliveries never share a thread with the companies and their HTTP.
    arbiter: ArbiterHandle,
    /// Kept so the thread lives as long as the deliveries.
    _thread: Arc<Mutex<Option<Arbiter>>>,
}

/// One endpoint's task handle.
#[derive(Default)]
struct Endpoint {
    /// Rings when the task should look again at once (reconfigured, or stopped).
    wake: Notify,
    stopped: AtomicBool,
    /// Set by a re-`PUT`: the task re-reads the configuration and tries again now.
    reconfigured: AtomicBool,
    status: Mutex<DeliveryStatus>,
}

impl Endpoint {
    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }
}

/// Why the delivery client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("the webhook HTTP client could not be built: {0}")]
pub struct ClientError(String);

impl Deliveries {
    /// Deliveries for `engine`'s companies, none running yet (see [`Deliveries::resume_all`]).
    /// Must run inside an actix `System`.
    pub fn new(engine: Engine, options: DeliveryOptions) -> Result<Deliveries, ClientError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(limits::WEBHOOK_TIMEOUT_SECONDS))
            // A redirect could lead anywhere, also into the private network: a 3xx is a failure.
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(CheckedResolver {
                allow_private: options.allow_private,
            }))
            .user_agent(concat!("holdfast/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError(e.to_string()))?;
        let thread = Arbiter::new();
        let arbiter = thread.handle();
        Ok(Deliveries {
            inner: Arc::new(Inner {
                metrics: engine.webhook_metrics().clone(),
                engine,
                client,
                allow_private: options.allow_private,
                in_flight: Semaphore::new(limits::WEBHOOK_DELIVERIES_IN_FLIGHT_MAX),
                endpoints: Mutex::new(HashMap::new()),
                arbiter,
                _thread: Arc::new(Mutex::new(Some(thread))),
            }),
        })
    }

    /// Whether deliveries may go to loopback and private addresses.
    pub fn allow_private(&self) -> bool {
        self.inner.allow_private
    }

    /// Starts a task for every endpoint of every started company (after a restore).
    pub async fn resume_all(&self) {
        for company in self.inner.engine.company_ids() {
            let Ok(entries) = self.inner.engine.webhooks(&company, None).await else {
                continue;
            };
            for entry in entries {
                self.watch(&company, &entry.id);
            }
        }
    }

    /// Starts delivering to endpoint `id` of `company`, or, when its task runs, has it re-read
    /// the configuration and try again now (a re-`PUT`).
    pub fn watch(&self, company: &str, id: &str) {
        let key = (company.to_string(), id.to_string());
        let mut endpoints = self.inner.endpoints.lock();
        if let Some(endpoint) = endpoints.get(&key) {
            endpoint.reconfigured.store(true, Ordering::Release);
            endpoint.wake.notify_one();
            return;
        }
        let endpoint = Arc::new(Endpoint::default());
        endpoints.insert(key, endpoint.clone());
        drop(endpoints);
        let inner = self.inner.clone();
        let (company, id) = (company.to_string(), id.to_string());
        self.inner.arbiter.spawn_fn(move || {
            actix_rt::spawn(async move {
                let task = Task::new(inner.clone(), company.clone(), id.clone(), endpoint.clone());
                task.run().await;
                let mut endpoints = inner.endpoints.lock();
                let key = (company, id);
                if endpoints
                    .get(&key)
                    .is_some_and(|e| Arc::ptr_eq(e, &endpoint))
                {
                    endpoints.remove(&key);
                }
            });
        });
    }

    /// Stops delivering to endpoint `id` of `company` (deleted).
    pub fn forget(&self, company: &str, id: &str) {
        let key = (company.to_string(), id.to_string());
        if let Some(endpoint) = self.inner.endpoints.lock().remove(&key) {
            endpoint.stopped.store(true, Ordering::Release);
            endpoint.wake.notify_one();
        }
    }

    /// Endpoint `id` of `company`'s delivery state in this run.
    pub fn status(&self, company: &str, id: &str) -> DeliveryStatus {
        let key = (company.to_string(), id.to_string());
        self.inner
            .endpoints
            .lock()
            .get(&key)
            .map(|endpoint| endpoint.status.lock().clone())
            .unwrap_or_default()
    }

    /// Stops every task (shutdown): an attempt in flight is dropped, and its event goes again
    /// after the restart.
    pub fn shutdown(&self) {
        for (_, endpoint) in self.inner.endpoints.lock().drain() {
            endpoint.stopped.store(true, Ordering::Release);
            endpoint.wake.notify_one();
        }
        if let Some(thread) = self.inner._thread.lock().take() {
            thread.stop();
        }
    }
}

/// How one event's delivery ended.
enum Delivered {
    /// The receiver acknowledged it.
    Acknowledged,
    /// The endpoint was stopped or reconfigured before that: read it again.
    Interrupted,
}

/// One endpoint's task.
struct Task {
    inner: Arc<Inner>,
    company: String,
    id: String,
    endpoint: Arc<Endpoint>,
    /// The last `seq` this task is done with (acknowledged, or not taken by the endpoint).
    done: u64,
    /// The last `seq` reported to the book, and when.
    reported: u64,
    reported_at: Instant,
}

impl Task {
    fn new(inner: Arc<Inner>, company: String, id: String, endpoint: Arc<Endpoint>) -> Task {
        Task {
            inner,
            company,
            id,
            endpoint,
            done: 0,
            reported: 0,
            reported_at: Instant::now(),
        }
    }

    async fn run(mut self) {
        let poll = Duration::from_millis(limits::WEBHOOK_POLL_MILLIS);
        let mut doorbell: Option<broadcast::Receiver<_>> = None;
        while !self.endpoint.stopped() {
            if doorbell.is_none() {
                // Subscribed before the first read, so no event falls between read and wait.
                let subscription = self.inner.engine.subscribe_events(&self.company, 0, 0);
                doorbell = subscription.await.ok().map(|s| s.receiver);
            }
            self.endpoint.reconfigured.store(false, Ordering::Release);
            let work = self
                .inner
                .engine
                .webhook_work(
                    &self.company,
                    &self.id,
                    self.done,
                    limits::WEBHOOK_EVENTS_PER_ROUND,
                )
                .await;
            let work = match work {
                Ok(Some(work)) => work,
                // The endpoint is gone.
                Ok(None) => return,
                Err(_) => {
                    tokio::time::sleep(poll).await;
                    continue;
                }
            };
            self.done = self.done.max(work.endpoint.acknowledged_seq);
            self.reported = self.reported.max(work.endpoint.acknowledged_seq);
            if work.page.events.is_empty() {
                if self.done > self.reported && !self.report().await {
                    return;
                }
                self.wait(doorbell.as_mut(), poll).await;
                continue;
            }
            if self.inner.engine.wait_durable(work.ticket).await.is_err() {
                // The disk failed: what it did not keep is taken back; read again later.
                tokio::time::sleep(poll).await;
                continue;
            }
            let config = work.endpoint.config;
            for event in &work.page.events {
                if config.events().takes(event.kind) {
                    match self.deliver(&config, event).await {
                        Delivered::Acknowledged => {}
                        Delivered::Interrupted => break,
                    }
                }
                self.done = event.seq;
                let interval = Duration::from_millis(limits::WEBHOOK_REPORT_INTERVAL_MILLIS);
                if self.reported_at.elapsed() >= interval && !self.report().await {
                    return;
                }
            }
        }
    }

    /// Waits for new events, a wake-up or the poll interval.
    async fn wait(
        &self,
        doorbell: Option<&mut broadcast::Receiver<crate::actors::company::Published>>,
        poll: Duration,
    ) {
        match doorbell {
            Some(doorbell) => {
                tokio::select! {
                    _ = doorbell.recv() => {}
                    _ = self.endpoint.wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
                // Whatever else rang meanwhile is read with the next round.
                while doorbell.try_recv().is_ok() {}
            }
            None => {
                tokio::select! {
                    _ = self.endpoint.wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
        }
    }

    /// Reports what is done to the book (logged); `false` when the endpoint is gone.
    async fn report(&mut self) -> bool {
        let seq = self.done;
        match self
            .inner
            .engine
            .acknowledge_webhook(&self.company, &self.id, seq)
            .await
        {
            Ok(exists) => {
                self.reported = seq;
                self.reported_at = Instant::now();
                exists
            }
            // Not kept now (the disk fails): reported again with the next one.
            Err(_) => true,
        }
    }

    /// Sends `event` until its receiver acknowledges it, or the endpoint is stopped or
    /// reconfigured.
    async fn deliver(&mut self, config: &WebhookConfig, event: &Event) -> Delivered {
        // Serializing a DTO of strings and numbers into memory cannot fail.
        let body = serde_json::to_vec(&EventDto::from(event)).unwrap_or_default();
        let webhook_id = format!("{}.{}", self.company, event.seq);
        let clock = self.inner.engine.clock().clone();
        loop {
            if self.endpoint.stopped() || self.endpoint.reconfigured.load(Ordering::Acquire) {
                return Delivered::Interrupted;
            }
            let attempt = {
                // The semaphore is never closed.
                let _permit = self.inner.in_flight.acquire().await;
                let timestamp_seconds = clock.now_ms().div_euclid(1_000);
                let signature =
                    signature::sign(config.secret(), &webhook_id, timestamp_seconds, &body);
                self.attempt(config, &webhook_id, timestamp_seconds, &signature, &body)
                    .await
            };
            let now_ms = clock.now_ms();
            match attempt {
                Ok(()) => {
                    self.inner.metrics.attempt(DeliveryOutcome::Acknowledged);
                    let lag_ms = (now_ms - event.occurred_at_ms).max(0) as u64;
                    self.inner.metrics.lag(lag_ms.saturating_mul(1_000));
                    self.endpoint.status.lock().acknowledged();
                    return Delivered::Acknowledged;
                }
                Err((outcome, error)) => {
                    self.inner.metrics.attempt(outcome);
                    let due_ms = self.endpoint.status.lock().failed(now_ms, error);
                    if !self.pause_until(due_ms).await {
                        return Delivered::Interrupted;
                    }
                }
            }
        }
    }

    /// Waits until `due_ms` on the engine's clock; `false` when stopped or reconfigured first
    /// (a re-`PUT` starts the retries over).
    async fn pause_until(&self, due_ms: i64) -> bool {
        let clock = self.inner.engine.clock().clone();
        let poll = Duration::from_millis(limits::WEBHOOK_POLL_MILLIS);
        while clock.now_ms() < due_ms {
            if self.endpoint.stopped() {
                return false;
            }
            if self.endpoint.reconfigured.load(Ordering::Acquire) {
                let mut status = self.endpoint.status.lock();
                status.failures = 0;
                status.failing_since_ms = None;
                return false;
            }
            tokio::select! {
                _ = self.endpoint.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
        true
    }

    /// One POST of the event; `Err` says how it failed and why.
    async fn attempt(
        &self,
        config: &WebhookConfig,
        webhook_id: &str,
        timestamp_seconds: i64,
        signature: &str,
        body: &[u8],
    ) -> Result<(), (DeliveryOutcome, String)> {
        let url = config.url();
        if let Err(refused) = destination::check_literal(url, self.inner.allow_private) {
            return Err((DeliveryOutcome::Forbidden, refused.to_string()));
        }
        let sent = self
            .inner
            .client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp_seconds.to_string())
            .header("webhook-signature", signature)
            .body(body.to_vec())
            .send()
            .await;
        let mut answer = match sent {
            Ok(answer) => answer,
            Err(error) => return Err(classify(&error)),
        };
        let status = answer.status();
        // Read a little of the answer so the connection can serve the next delivery.
        let mut read = 0;
        while read < limits::WEBHOOK_ANSWER_BYTES_READ_MAX {
            match answer.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                _ => break,
            }
        }
        if status.is_success() {
            Ok(())
        } else {
            Err((
                DeliveryOutcome::Rejected,
                format!("the receiver answered {status}"),
            ))
        }
    }
}

/// How a request that got no answer failed.
fn classify(error: &reqwest::Error) -> (DeliveryOutcome, String) {
    if error.is_timeout() {
        let text = format!("no answer within {} s", limits::WEBHOOK_TIMEOUT_SECONDS);
        return (DeliveryOutcome::Timeout, text);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut text = String::new();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<DestinationError>() {
            return (DeliveryOutcome::Forbidden, refused.to_string());
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    (DeliveryOutcome::Unreachable, text)
}

/// Resolves a destination's host and refuses it when an address is not public (unless private
/// destinations are allowed), so that the connection goes to an address that was checked: a
/// name cannot pass the check and then resolve elsewhere for the connection.
struct CheckedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            destination::check_addresses(addresses.iter().map(SocketAddr::ip), allow_private)?;
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: the retry pauses follow the contract: 1 s doubling, at most an hour.
    #[test]
    fn pauses_double_up_to_an_hour() {
        let pauses: Vec<i64> = (1..=4).map(retry_pause_ms).collect();
        assert_eq!(pauses, [1_000, 2_000, 4_000, 8_000]);
        assert_eq!(retry_pause_ms(13), 3_600_000);
        assert_eq!(retry_pause_ms(u32::MAX), 3_600_000);
    }

    /// Goal: an endpoint is `retrying` while it fails, `failing` after 24 hours of failures in
    /// a row, and `ok` again at the first acknowledgement.
    #[test]
    fn states_follow_the_failures() {
        let mut status = DeliveryStatus::default();
        assert_eq!(status.failed(0, "refused".into()), 1_000);
        assert_eq!(status.state, DeliveryState::Retrying);
        let day_ms = limits::WEBHOOK_RETRYING_SECONDS_MAX * 1_000;
        status.failed(day_ms, "refused".into());
        assert_eq!(status.state, DeliveryState::Failing);
        status.acknowledged();
        assert_eq!(status.state, DeliveryState::Ok);
        assert_eq!(status.last_error.as_deref(), Some("refused"));
        assert_eq!(
            bounded("é".repeat(400)).len(),
            limits::WEBHOOK_ERROR_BYTES_MAX
        );
    }
}
