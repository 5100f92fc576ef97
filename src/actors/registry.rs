//! The registry: company id -> the address of its `CompanyActor`, started on first use.
//!
//! Companies are spread over one arbiter (thread with its own event loop) per core, chosen by a
//! hash of the company id, so a company always lives on the same thread and busy companies on
//! different threads run in parallel. The same threads accept and serve HTTP connections. `DashMap::entry` holds the shard's lock while the actor is
//! started, so however many first requests for a company arrive at once, exactly one actor is
//! started for it. Starting an actor only posts it to its arbiter: the lock is held for
//! microseconds.
//!
//! The registry also holds the engine-wide live budget (`budget`) and hands it to every actor it
//! starts, so that all companies together stay under `--total-live-limit`.

use crate::actors::budget::LiveBudget;
use crate::actors::company::{CompanyActor, EventChannels, Published};
use crate::actors::expiry::ExpiryHandle;
use crate::clock::SharedClock;
use crate::core::book::{Book, Settings};
use crate::core::error::BookError;
use crate::durability::log::LogWriter;
use crate::limits;
use actix::prelude::*;
use actix_rt::{Arbiter, ArbiterHandle};
use dashmap::DashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use tokio::sync::broadcast;

/// A started company and its actor's address.
#[derive(Clone)]
pub struct CompanyAddress {
    pub company: Arc<str>,
    pub address: Addr<CompanyActor>,
}

/// Company id -> actor address, and the arbiters they run on.
pub struct Registry {
    companies: DashMap<Arc<str>, Addr<CompanyActor>>,
    /// Kept so the threads live as long as the registry.
    arbiters: Vec<Arbiter>,
    handles: Vec<ArbiterHandle>,
    clock: SharedClock,
    settings: Settings,
    /// The expiry wheel's intake, handed to every company actor (none: lazy expiry only).
    expiry: Option<ExpiryHandle>,
    /// The durability log, handed to every company actor (none: nothing is logged).
    log_writer: Option<LogWriter>,
    /// The engine-wide live count and limit, shared by every company actor.
    live_budget: LiveBudget,
    /// Every company's events, for the admin's stream of all of them.
    all_events: broadcast::Sender<Published>,
}

impl Registry {
    /// Starts `arbiter_count` arbiters (at least one). Must run inside an actix `System`.
    pub fn new(arbiter_count: usize, clock: SharedClock, settings: Settings) -> Registry {
        let arbiters: Vec<Arbiter> = (0..arbiter_count.max(1)).map(|_| Arbiter::new()).collect();
        let handles = arbiters.iter().map(Arbiter::handle).collect();
        Registry {
            companies: DashMap::new(),
            arbiters,
            handles,
            clock,
            settings,
            expiry: None,
            log_writer: None,
            live_budget: LiveBudget::unbounded(),
            all_events: broadcast::channel(limits::EVENT_CHANNEL_ALL_CAPACITY).0,
        }
    }

    /// A receiver of every company's events from now on.
    pub fn subscribe_all_events(&self) -> broadcast::Receiver<Published> {
        self.all_events.subscribe()
    }

    /// The same registry, sharing `live_budget` with every company actor it starts.
    pub fn with_live_budget(mut self, live_budget: LiveBudget) -> Registry {
        self.live_budget = live_budget;
        self
    }

    /// The engine-wide live count and limit every company actor shares.
    pub fn live_budget(&self) -> &LiveBudget {
        &self.live_budget
    }

    /// The same registry, handing `log_writer` to every company actor it starts.
    pub fn with_log_writer(mut self, log_writer: Option<LogWriter>) -> Registry {
        self.log_writer = log_writer;
        self
    }

    /// The same registry, registering every company actor it starts with the expiry wheel.
    pub fn with_expiry(mut self, expiry: ExpiryHandle) -> Registry {
        self.expiry = Some(expiry);
        self
    }

    /// The address of `company`'s actor, if it has been started.
    pub fn get(&self, company: &str) -> Option<Addr<CompanyActor>> {
        self.companies
            .get(company)
            .map(|entry| entry.value().clone())
    }

    /// The address of `company`'s actor, starting it on first use (with an empty book).
    pub fn get_or_start(&self, company: &str) -> Result<Addr<CompanyActor>, BookError> {
        self.get_or_start_with(company, || Book::new(company, self.settings.clone()))
    }

    /// Like [`Registry::get_or_start`], with the book to start from (restore).
    pub fn get_or_start_with(
        &self,
        company: &str,
        make_book: impl FnOnce() -> Book,
    ) -> Result<Addr<CompanyActor>, BookError> {
        if let Some(address) = self.get(company) {
            return Ok(address);
        }
        if self.companies.len() >= limits::COMPANIES_MAX {
            return Err(BookError::LimitReached {
                detail: format!(
                    "the engine serves its maximum of {} companies",
                    limits::COMPANIES_MAX
                ),
            });
        }
        let arbiter = &self.handles[self.arbiter_index(company)];
        let clock = self.clock.clone();
        let expiry = self.expiry.clone();
        let log_writer = self.log_writer.clone();
        let live_budget = self.live_budget.clone();
        let events = EventChannels::new(Some(self.all_events.clone()));
        let entry = self.companies.entry(company.into()).or_insert_with(|| {
            let book = make_book();
            CompanyActor::start_in_arbiter(arbiter, move |ctx| {
                let actor = CompanyActor::new(book, clock)
                    .with_log_writer(log_writer)
                    .with_budget(live_budget)
                    .with_event_channels(events);
                match expiry {
                    Some(expiry) => actor.with_expiry(expiry.register(ctx.address().recipient())),
                    None => actor,
                }
            })
        });
        Ok(entry.value().clone())
    }

    /// Every company started so far, with its address, sorted by id.
    pub fn companies(&self) -> Vec<CompanyAddress> {
        let mut all: Vec<_> = self
            .companies
            .iter()
            .map(|entry| CompanyAddress {
                company: entry.key().clone(),
                address: entry.value().clone(),
            })
            .collect();
        all.sort_by(|a, b| a.company.cmp(&b.company));
        all
    }

    /// The settings every new company's book starts with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The arbiters' handles: the HTTP shim serves on the same threads (see `http::serve`), so
    /// that a request for a company on the thread that accepted it crosses no thread.
    pub fn threads(&self) -> Vec<ArbiterHandle> {
        self.handles.clone()
    }

    /// Number of arbiters.
    pub fn arbiter_count(&self) -> usize {
        self.arbiters.len()
    }

    fn arbiter_index(&self, company: &str) -> usize {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        company.hash(&mut hasher);
        (hasher.finish() % self.handles.len() as u64) as usize
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}
