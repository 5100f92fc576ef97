//! `Engine`: the small async facade that the HTTP shim, the CLI and tests call. It validates the
//! company id, finds (or starts) the company's actor and awaits `send`, which respects the
//! bounded mailbox. It holds no reservation state of its own.

use crate::actors::company::{
    Availability, Cancel, CheckInvariants, CompanyCounts, Confirm, Counts, ExpireBatch, Extend,
    Get, Hold, List, Metrics,
};
use crate::actors::expiry::{ExpiryConfig, ExpiryService, ExpiryStats, Stats, Tick, TickReport};
use crate::actors::registry::Registry;
use crate::clock::{SharedClock, SystemClock};
use crate::core::book::{HoldOutcome, ResourceSlots, Settings};
use crate::core::command::{validate_id, AvailabilityRequest, HoldRequest, ListFilter};
use crate::core::error::BookError;
use crate::core::metrics::MetricsReport;
use crate::core::reservation::ReservationView;
use actix::prelude::*;
use std::sync::Arc;
use uuid::Uuid;

/// Why an engine call failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The company's book refused the request.
    #[error(transparent)]
    Book(#[from] BookError),
    /// The company's actor could not be reached (stopped during shutdown).
    #[error("the company's actor is not available: {0}")]
    Unavailable(#[from] MailboxError),
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
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            settings: Settings::default(),
            clock: Arc::new(SystemClock),
            arbiters: num_cpus::get(),
            expiry: ExpiryConfig::default(),
        }
    }
}

/// The engine: a registry of company actors and the clock they share. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    registry: Arc<Registry>,
    clock: SharedClock,
    expiry: ExpiryService,
}

impl Engine {
    /// Starts the engine's arbiters. Must run inside an actix `System`.
    pub fn start(config: EngineConfig) -> Engine {
        let expiry = ExpiryService::start(config.clock.clone(), config.expiry);
        let registry = Registry::new(config.arbiters, config.clock.clone(), config.settings)
            .with_expiry(expiry.handle().clone());
        Engine {
            registry: Arc::new(registry),
            clock: config.clock,
            expiry,
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

    /// The registry of company actors.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn company(
        &self,
        company: &str,
    ) -> Result<Addr<crate::actors::company::CompanyActor>, EngineError> {
        validate_id("company", company)?;
        Ok(self.registry.get_or_start(company)?)
    }

    /// Creates a hold.
    pub async fn hold(
        &self,
        company: &str,
        request: HoldRequest,
    ) -> Result<HoldOutcome, EngineError> {
        Ok(self.company(company)?.send(Hold { request }).await??)
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
        Ok(self.company(company)?.send(message).await??)
    }

    /// Extends a hold.
    pub async fn extend(
        &self,
        company: &str,
        token: Uuid,
        ttl_seconds: i64,
    ) -> Result<ReservationView, EngineError> {
        let message = Extend { token, ttl_seconds };
        Ok(self.company(company)?.send(message).await??)
    }

    /// Cancels a hold or a booking.
    pub async fn cancel(
        &self,
        company: &str,
        token: Uuid,
        reason: Option<String>,
    ) -> Result<ReservationView, EngineError> {
        let message = Cancel { token, reason };
        Ok(self.company(company)?.send(message).await??)
    }

    /// Reads one reservation.
    pub async fn get(&self, company: &str, token: Uuid) -> Result<ReservationView, EngineError> {
        Ok(self.company(company)?.send(Get { token }).await??)
    }

    /// Lists reservations.
    pub async fn list(
        &self,
        company: &str,
        filter: ListFilter,
    ) -> Result<Vec<ReservationView>, EngineError> {
        Ok(self.company(company)?.send(List { filter }).await??)
    }

    /// Free start times.
    pub async fn availability(
        &self,
        company: &str,
        request: AvailabilityRequest,
    ) -> Result<Vec<ResourceSlots>, EngineError> {
        Ok(self
            .company(company)?
            .send(Availability { request })
            .await??)
    }

    /// The company's metrics object.
    pub async fn metrics(&self, company: &str) -> Result<MetricsReport, EngineError> {
        Ok(self.company(company)?.send(Metrics).await?)
    }

    /// Expires these holds of `company` if they are due.
    pub async fn expire_batch(
        &self,
        company: &str,
        tokens: Vec<Uuid>,
    ) -> Result<usize, EngineError> {
        Ok(self.company(company)?.send(ExpireBatch { tokens }).await?)
    }

    /// Every started company with its counts, sorted by id.
    pub async fn companies(&self) -> Result<Vec<(Arc<str>, CompanyCounts)>, EngineError> {
        let mut answers = Vec::new();
        for (company, address) in self.registry.companies() {
            answers.push((company, address.send(Counts).await?));
        }
        Ok(answers)
    }

    /// Checks every started company's invariants (tests and simulations).
    pub async fn check_invariants(&self) -> Result<(), String> {
        for (company, address) in self.registry.companies() {
            address
                .send(CheckInvariants)
                .await
                .map_err(|e| format!("{company}: {e}"))?
                .map_err(|e| format!("{company}: {e}"))?;
        }
        Ok(())
    }
}
