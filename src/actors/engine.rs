//! `Engine`: the small async facade that the HTTP shim, the CLI and tests call. It validates the
//! company id, finds (or starts) the company's actor and awaits `send`, which respects the
//! bounded mailbox. It holds no reservation state of its own: only the engine-wide live budget
//! the company actors share, and the count of edge refusals for companies not started.

use crate::actors::budget::{total_live_limit_default, LiveBudget};
use crate::actors::company::{
    AcknowledgeWebhook, DeleteWebhook, PutWebhook, ReadWebhookWork, ReadWebhooks, WebhookEntry,
    WebhookWork,
};
use crate::actors::company::{
    Cancel, CheckInvariants, CompanyActor, Confirm, CountReservations, DeleteResource,
    EventSubscription, Extend, FindAvailability, Hold, ListReservations, ListResources, Logged,
    LoggedAnswer, Published, PutResource, ReadEvents, ReadMetrics, ReadReservation, ReadResource,
    ReadSettings, RecordRejected, ResourceEntry, SampleMetrics, SubscribeEvents, UpdateSettings,
};
use crate::actors::company::{MinuteActivity, ReadActivity};
use crate::actors::expiry::{
    ExpireBatch, ExpiryConfig, ExpiryService, ExpiryStats, Stats, Tick, TickReport,
};
use crate::actors::registry::{CompanyAddress, Registry};
use crate::call_metrics::CallMetrics;
use crate::clock::{SharedClock, SystemClock};
use crate::core::book::{CompanyCountsOf, HoldOutcome, ListPage, ResourceSlots, Settings};
use crate::core::command::{validate_id, AvailabilityRequest, HoldRequest, ListFilter};
use crate::core::error::BookError;
use crate::core::error::ErrorType;
use crate::core::events::EventPage;
use crate::core::metrics::{MetricsReport, MetricsSample};
use crate::core::reservation::ReservationView;
use crate::core::schedule::{CompanySettings, ResourceConfig, SettingsPatch};
use crate::core::webhooks::WebhookConfig;
use crate::durability::log::{LogWriter, Ticket};
use crate::webhooks::metrics::DeliveryMetrics;
use actix::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use uuid::Uuid;

tokio::task_local! {
    /// Set when a call in [`track_book_reached`]'s scope reached the engine's company lookup:
    /// from there on the company's book counts the request itself (or no book exists to count
    /// it). The HTTP edge uses it to count, exactly once, the requests it refuses on its own.
    static BOOK_REACHED: std::cell::Cell<bool>;
}

/// Runs `future` and answers, with its output, whether it called an engine operation on a
/// company. A task-local rather than a return value because the calls happen deep inside
/// handlers that return only their answer; it costs one thread-local access per request.
pub async fn track_book_reached<F: std::future::Future>(future: F) -> (F::Output, bool) {
    BOOK_REACHED
        .scope(std::cell::Cell::new(false), async move {
            let output = future.await;
            let reached = BOOK_REACHED.with(std::cell::Cell::get);
            (output, reached)
        })
        .await
}

/// Why an engine call failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The company's book refused the request.
    #[error(transparent)]
    Book(#[from] BookError),
    /// The company's actor could not be reached (stopped during shutdown).
    #[error("the company's actor is not available: {0}")]
    Unavailable(#[from] MailboxError),
    /// The change was not kept: changes are refused while the disk does not take them (or the
    /// log failed before this one was durable), or a snapshot could not be written. The
    /// server cannot keep its promise and says so.
    #[error("durability: {0}")]
    Durability(String),
}

/// One company's metrics sample (`Engine::metrics_samples`).
#[derive(Clone, Debug, PartialEq)]
pub struct CompanySample {
    pub company: Arc<str>,
    pub sample: MetricsSample,
}

/// How to start an engine.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub settings: Settings,
    pub clock: SharedClock,
    /// Arbiters (threads) that company actors run on; one per core by default.
    pub arbiters: usize,
    /// The expiry wheel's tick (default 10 ms) and whether it ticks by itself (tests: no).
    pub expiry: ExpiryConfig,
    /// Live reservations over every company past which holds are refused; by default derived
    /// from the machine's memory (`budget::total_live_limit_default`).
    pub total_live_limit: u64,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            settings: Settings::default(),
            clock: Arc::new(SystemClock),
            arbiters: num_cpus::get(),
            expiry: ExpiryConfig::default(),
            total_live_limit: total_live_limit_default(),
        }
    }
}

/// Requests the HTTP edge refused for a company whose actor is not running, by error type.
/// Counting them in the company's book would start its actor, and a caller sending malformed
/// requests for invented companies would then start actors for nothing; these counters are
/// fixed in size whatever the callers send.
#[derive(Debug, Default)]
struct EdgeRejected {
    /// Indexed by `ErrorType::index`.
    by_type: [AtomicU64; ErrorType::ALL.len()],
}

/// The engine: a registry of company actors and the clock they share. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    registry: Arc<Registry>,
    clock: SharedClock,
    expiry: ExpiryService,
    /// Where changes are logged; a change is answered only once its record is durable (none:
    /// an engine without a data directory, in tests of the actors).
    log_writer: Option<LogWriter>,
    /// Edge refusals for companies not started (see [`Engine::record_rejected`]).
    edge_rejected: Arc<EdgeRejected>,
    /// Webhook delivery's counters: the deliverers write them, `GET /metrics` reads them.
    webhook_metrics: Arc<DeliveryMetrics>,
    /// The voice routes' counters of calls.
    call_metrics: Arc<CallMetrics>,
}

impl Engine {
    /// Starts the engine's arbiters, every company actor logging its changes to `log_writer`.
    /// Must run inside an actix `System`.
    pub fn start(config: EngineConfig, log_writer: Option<LogWriter>) -> Engine {
        let expiry = ExpiryService::start(config.clock.clone(), config.expiry);
        let registry = Registry::new(config.arbiters, config.clock.clone(), config.settings)
            .with_expiry(expiry.handle().clone())
            .with_log_writer(log_writer.clone())
            .with_live_budget(LiveBudget::new(config.total_live_limit));
        Engine {
            registry: Arc::new(registry),
            clock: config.clock,
            expiry,
            log_writer,
            edge_rejected: Arc::default(),
            webhook_metrics: Arc::default(),
            call_metrics: Arc::default(),
        }
    }

    /// The engine-wide live count and its limit.
    pub fn live_budget(&self) -> &LiveBudget {
        self.registry.live_budget()
    }

    /// The edge's refusals for companies that were not started when refused, by error type, in
    /// the order of `ErrorType::ALL`.
    pub fn edge_rejected(&self) -> Vec<(ErrorType, u64)> {
        ErrorType::ALL
            .iter()
            .map(|&error_type| {
                let count = &self.edge_rejected.by_type[error_type.index()];
                (error_type, count.load(Ordering::Relaxed))
            })
            .collect()
    }

    /// The write-ahead log every change is appended to, if the engine has one.
    pub fn log_writer(&self) -> Option<&LogWriter> {
        self.log_writer.as_ref()
    }

    /// A shared handle on the registry (the snapshotter asks every company through it).
    pub fn registry_handle(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Waits until the log is on disk up to `ticket`, what a company actor answered a change
    /// with (see [`Logged`]).
    async fn durable(&self, ticket: Ticket) -> Result<(), EngineError> {
        match &self.log_writer {
            Some(log_writer) => log_writer
                .wait_durable(ticket)
                .await
                .map_err(|e| EngineError::Durability(e.to_string())),
            None => Ok(()),
        }
    }

    /// The expiry wheel.
    pub fn expiry(&self) -> &ExpiryService {
        &self.expiry
    }

    /// Ticks the expiry wheel now and waits until every batch it sent is done (tests, with
    /// `ExpiryConfig::ticks_itself` off and a manual clock).
    pub async fn expiry_tick(&self) -> Result<TickReport, EngineError> {
        Ok(self.expiry.address().send(Tick).await?)
    }

    /// The expiry wheel's counters.
    pub async fn expiry_stats(&self) -> Result<ExpiryStats, EngineError> {
        Ok(self.expiry.address().send(Stats).await?)
    }

    /// The clock the engine reads.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The voice routes' counters of calls.
    pub fn call_metrics(&self) -> &Arc<CallMetrics> {
        &self.call_metrics
    }

    /// Webhook delivery's counters.
    pub fn webhook_metrics(&self) -> &Arc<DeliveryMetrics> {
        &self.webhook_metrics
    }

    /// The registry of company actors.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn company(&self, company: &str) -> Result<Addr<CompanyActor>, EngineError> {
        // Whatever the engine answers from here on, the book counted it (or no book exists).
        let _ = BOOK_REACHED.try_with(|reached| reached.set(true));
        validate_id("company", company)?;
        Ok(self.registry.get_or_start(company)?)
    }

    /// Sends a change to `company`'s actor, then waits until its log record is durable (the
    /// ticket the actor answered with) before answering: every change takes this path.
    async fn change<M, T>(&self, company: &str, message: M) -> Result<T, EngineError>
    where
        M: Send + 'static,
        T: Send + 'static,
        Logged<M>: Message<Result = LoggedAnswer<T>> + Send,
        CompanyActor: Handler<Logged<M>>,
    {
        match self.company(company)?.send(Logged(message)).await? {
            LoggedAnswer::Ran { answer, ticket } => {
                let answer = answer?;
                self.durable(ticket).await?;
                Ok(answer)
            }
            LoggedAnswer::Refused { reason } => Err(EngineError::Durability(reason)),
        }
    }

    /// Creates a hold.
    pub async fn hold(
        &self,
        company: &str,
        request: HoldRequest,
    ) -> Result<HoldOutcome, EngineError> {
        self.change(company, Hold { request }).await
    }

    /// Converts a hold into a booking.
    pub async fn confirm(
        &self,
        company: &str,
        token: Uuid,
        appointment_id: Option<String>,
    ) -> Result<ReservationView, EngineError> {
        let message = Confirm {
            token,
            appointment_id,
        };
        self.change(company, message).await
    }

    /// Extends a hold.
    pub async fn extend(
        &self,
        company: &str,
        token: Uuid,
        ttl_seconds: i64,
    ) -> Result<ReservationView, EngineError> {
        self.change(company, Extend { token, ttl_seconds }).await
    }

    /// Cancels a hold or a booking.
    pub async fn cancel(
        &self,
        company: &str,
        token: Uuid,
        reason: Option<String>,
    ) -> Result<ReservationView, EngineError> {
        self.change(company, Cancel { token, reason }).await
    }

    /// Reads one reservation.
    pub async fn get(&self, company: &str, token: Uuid) -> Result<ReservationView, EngineError> {
        Ok(self
            .company(company)?
            .send(ReadReservation { token })
            .await??)
    }

    /// Lists reservations, a page.
    pub async fn list(&self, company: &str, filter: ListFilter) -> Result<ListPage, EngineError> {
        Ok(self
            .company(company)?
            .send(ListReservations { filter })
            .await??)
    }

    /// Free start times.
    pub async fn availability(
        &self,
        company: &str,
        request: AvailabilityRequest,
    ) -> Result<Vec<ResourceSlots>, EngineError> {
        Ok(self
            .company(company)?
            .send(FindAvailability { request })
            .await??)
    }

    /// The company's settings.
    pub async fn settings(&self, company: &str) -> Result<CompanySettings, EngineError> {
        Ok(self.company(company)?.send(ReadSettings).await?)
    }

    /// Changes some of the company's settings; answers the settings it left. New holds follow
    /// them; nothing held changes.
    pub async fn update_settings(
        &self,
        company: &str,
        patch: SettingsPatch,
    ) -> Result<CompanySettings, EngineError> {
        self.change(company, UpdateSettings { patch }).await
    }

    /// One configured resource, with the company's settings (`NotFound` when it has none).
    pub async fn resource(
        &self,
        company: &str,
        resource: &str,
    ) -> Result<(CompanySettings, ResourceEntry), EngineError> {
        let message = ReadResource {
            resource: resource.to_string(),
        };
        Ok(self.company(company)?.send(message).await??)
    }

    /// Every configured resource of the company, sorted by name, with its settings.
    pub async fn resources(
        &self,
        company: &str,
    ) -> Result<(CompanySettings, Vec<ResourceEntry>), EngineError> {
        Ok(self.company(company)?.send(ListResources).await?)
    }

    /// Configures a resource of `company` (hours, closures, capacity), replacing what it had;
    /// answers whether it was not configured before. New holds follow it; nothing held changes.
    pub async fn put_resource(
        &self,
        company: &str,
        resource: &str,
        config: ResourceConfig,
    ) -> Result<bool, EngineError> {
        let message = PutResource {
            resource: resource.to_string(),
            config,
        };
        self.change(company, message).await
    }

    /// Removes a resource's configuration (open around the clock, capacity 1 again); answers
    /// whether it had one. Reservations are never touched.
    pub async fn delete_resource(
        &self,
        company: &str,
        resource: &str,
    ) -> Result<bool, EngineError> {
        let message = DeleteResource {
            resource: resource.to_string(),
        };
        self.change(company, message).await
    }

    /// At most `limit` kept events of `company` after `after`, answered once every one of them
    /// is durable (an event is as durable as its change).
    pub async fn events(
        &self,
        company: &str,
        after: u64,
        limit: usize,
    ) -> Result<EventPage, EngineError> {
        let message = ReadEvents { after, limit };
        let (page, ticket) = self.company(company)?.send(message).await?;
        self.durable(ticket).await?;
        Ok(page)
    }

    /// Subscribes to `company`'s events after `after`: the kept ones now (at most `limit`) and
    /// every later one. The caller waits for each event's ticket before handing it on.
    pub async fn subscribe_events(
        &self,
        company: &str,
        after: u64,
        limit: usize,
    ) -> Result<EventSubscription, EngineError> {
        let message = SubscribeEvents { after, limit };
        Ok(self.company(company)?.send(message).await?)
    }

    /// Configures webhook endpoint `id` of `company` (replacing its configuration, keeping its
    /// progress; with `keep_secret`, an endpoint that exists keeps its key); answers whether it
    /// is new and its configuration now. Delivery is the caller's to start
    /// (`crate::webhooks::Deliveries`).
    pub async fn put_webhook(
        &self,
        company: &str,
        id: &str,
        config: WebhookConfig,
        keep_secret: bool,
    ) -> Result<(bool, WebhookConfig), EngineError> {
        let message = PutWebhook {
            id: id.to_string(),
            config,
            keep_secret,
        };
        self.change(company, message).await
    }

    /// Removes webhook endpoint `id` of `company`; answers whether it existed.
    pub async fn delete_webhook(&self, company: &str, id: &str) -> Result<bool, EngineError> {
        let message = DeleteWebhook { id: id.to_string() };
        self.change(company, message).await
    }

    /// The webhook endpoints of `company` (`id`: only that one), sorted by id.
    pub async fn webhooks(
        &self,
        company: &str,
        id: Option<&str>,
    ) -> Result<Vec<WebhookEntry>, EngineError> {
        let message = ReadWebhooks {
            id: id.map(str::to_string),
        };
        Ok(self.company(company)?.send(message).await?)
    }

    /// What endpoint `id` of `company` is owed after `after` (`None`: the endpoint is gone).
    pub async fn webhook_work(
        &self,
        company: &str,
        id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Option<WebhookWork>, EngineError> {
        let message = ReadWebhookWork {
            id: id.to_string(),
            after,
            limit,
        };
        Ok(self.company(company)?.send(message).await?)
    }

    /// Records, durably, that endpoint `id` of `company` has every event up to `seq`; answers
    /// whether the endpoint exists.
    pub async fn acknowledge_webhook(
        &self,
        company: &str,
        id: &str,
        seq: u64,
    ) -> Result<bool, EngineError> {
        let message = AcknowledgeWebhook {
            id: id.to_string(),
            seq,
        };
        self.change(company, message).await
    }

    /// `company`'s last hour, minute by minute (the admin page's charts).
    pub async fn activity(&self, company: &str) -> Result<Vec<MinuteActivity>, EngineError> {
        Ok(self.company(company)?.send(ReadActivity).await?)
    }

    /// The companies started now (restored ones included).
    pub fn company_ids(&self) -> Vec<String> {
        self.registry
            .companies()
            .into_iter()
            .map(|c| c.company)
            .map(|company| company.to_string())
            .collect()
    }

    /// A receiver of every company's events from now on.
    pub fn subscribe_all_events(&self) -> tokio::sync::broadcast::Receiver<Published> {
        self.registry.subscribe_all_events()
    }

    /// Waits until the log is durable up to `ticket` (at once without a log).
    pub async fn wait_durable(&self, ticket: Ticket) -> Result<(), EngineError> {
        self.durable(ticket).await
    }

    /// The company's metrics object.
    pub async fn metrics(&self, company: &str) -> Result<MetricsReport, EngineError> {
        Ok(self.company(company)?.send(ReadMetrics).await?)
    }

    /// Expires these holds of `company` if they are due.
    pub async fn expire_batch(
        &self,
        company: &str,
        tokens: Vec<Uuid>,
    ) -> Result<usize, EngineError> {
        Ok(self.company(company)?.send(ExpireBatch { tokens }).await?)
    }

    /// Counts a request of `company` that the HTTP edge refused before it reached the engine.
    /// A refusal starts no actor: if the company's actor runs, its book counts the request (see
    /// `Book::record_rejected`); otherwise the engine-wide edge counter does
    /// ([`Engine::edge_rejected`]). An invalid company id is refused here and counted nowhere.
    pub async fn record_rejected(
        &self,
        company: &str,
        error_type: ErrorType,
        token: Option<Uuid>,
    ) -> Result<(), EngineError> {
        validate_id("company", company)?;
        match self.registry.get(company) {
            Some(address) => Ok(address.send(RecordRejected { error_type, token }).await?),
            None => {
                self.edge_rejected.by_type[error_type.index()].fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        }
    }

    /// Every started company's metrics with its histograms as buckets, sorted by id, asking at
    /// most `limits::METRICS_SAMPLES_IN_FLIGHT_MAX` companies at once.
    pub async fn metrics_samples(&self) -> Result<Vec<CompanySample>, EngineError> {
        use futures::StreamExt;
        let answers: Vec<_> = futures::stream::iter(self.registry.companies())
            .map(|CompanyAddress { company, address }| async move {
                (company, address.send(SampleMetrics).await)
            })
            .buffer_unordered(crate::limits::METRICS_SAMPLES_IN_FLIGHT_MAX)
            .collect()
            .await;
        let mut samples = Vec::with_capacity(answers.len());
        for (company, answer) in answers {
            samples.push(CompanySample {
                company,
                sample: answer?,
            });
        }
        samples.sort_unstable_by(|a, b| a.company.cmp(&b.company));
        Ok(samples)
    }

    /// Every started company with its counts, sorted by id.
    pub async fn companies(&self) -> Result<Vec<CompanyCountsOf>, EngineError> {
        let mut answers = Vec::new();
        for CompanyAddress { company, address } in self.registry.companies() {
            let counts = address.send(CountReservations).await?;
            answers.push(CompanyCountsOf { company, counts });
        }
        Ok(answers)
    }

    /// Checks every started company's invariants (tests and simulations).
    pub async fn check_invariants(&self) -> Result<(), String> {
        for CompanyAddress { company, address } in self.registry.companies() {
            address
                .send(CheckInvariants)
                .await
                .map_err(|e| format!("{company}: {e}"))?
                .map_err(|e| format!("{company}: {e}"))?;
        }
        Ok(())
    }
}
