//! `ExpiryWheel`: the actor that makes expiry prompt. It owns a [`TimingWheel`] of
//! `(company, token)` entries; on each tick it reads the clock, takes the new entries from its
//! intake, advances the wheel and sends each company with due tokens ONE [`ExpireBatch`].
//!
//! Correctness never waits for it: a hold past its `expires_at` is already treated as expired by
//! every read and conflict check (lazy expiry in the `Book`). The wheel only frees slots, counts
//! expiries and releases memory on time. So it may fire stale entries (a hold extended,
//! confirmed or cancelled since): the company actor checks each token against its own clock and
//! stored status and ignores what is not due, which is also why lazy expiry and the wheel never
//! count one hold twice.
//!
//! Scheduling must never block a company actor, nor become a storm of messages: company actors
//! push `(company, token, expires_at_ms)` into a shared intake ([`ExpiryHandle`], a mutexed
//! `Vec`, one push under an uncontended lock) that the wheel drains on each tick. The intake and
//! the wheel together hold at most `limits::EXPIRY_ENTRIES_MAX` entries.
//!
//! Back-pressure: at most one batch per company is in flight. While a company is still working
//! through its previous batch (in chunks, see `CompanyActor`), its newly due tokens wait here and
//! go in its next batch, so a slow company never gets a queue of batches.
//!
//! Time: production ticks on a real interval at the resolution; tests turn `ticks_itself` off,
//! move a `ManualClock` and send [`Tick`], whose answer arrives once every batch it sent is done.

use crate::clock::SharedClock;
use crate::core::wheel::TimingWheel;
use crate::limits;
use actix::prelude::*;
use actix_rt::Arbiter;
use futures::channel::oneshot;
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Expire these holds if they are due: the batch the wheel sends a company's actor. Answers
/// how many expired, once the whole batch is done. The wheel owns the message and reaches each
/// company through a `Recipient`, so it knows nothing of the company actor.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ExpireBatch {
    pub tokens: Vec<Uuid>,
}

/// How the wheel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiryConfig {
    /// Length of one tick.
    pub resolution: Duration,
    /// Tick on a real interval (production). Off, the wheel ticks only on [`Tick`] (tests).
    pub ticks_itself: bool,
}

impl Default for ExpiryConfig {
    fn default() -> ExpiryConfig {
        ExpiryConfig {
            resolution: Duration::from_millis(limits::EXPIRY_RESOLUTION_MS_DEFAULT),
            ticks_itself: true,
        }
    }
}

/// One schedule request waiting in the intake.
#[derive(Clone, Copy, Debug)]
struct Scheduled {
    expires_at_ms: i64,
    token: Uuid,
    company: u32,
}

/// What the intake's lock guards.
#[derive(Debug, Default)]
struct Pending {
    entries: Vec<Scheduled>,
    /// Entries inside the wheel as of its last tick: with `entries.len()`, what the bound counts.
    wheel_len: usize,
}

/// The state shared by the wheel and every company actor.
#[derive(Debug, Default)]
struct Intake {
    /// Why a mutex and not a channel: a push is a few nanoseconds under a lock that is almost
    /// never contended (one holder per arbiter thread), the wheel takes everything with one
    /// swap per tick, and the bound is checked exactly under the same lock.
    pending: Mutex<Pending>,
    /// Company index -> its actor, in registration order; the wheel copies new ones each tick.
    companies: Mutex<Vec<Recipient<ExpireBatch>>>,
    /// Schedules refused because the bound was reached.
    refused: AtomicU64,
}

/// The wheel's intake, shared by the registry (which registers each company actor) and the
/// wheel (which drains it). Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct ExpiryHandle {
    intake: Arc<Intake>,
}

impl ExpiryHandle {
    /// An empty intake.
    pub fn new() -> ExpiryHandle {
        ExpiryHandle::default()
    }

    /// Registers a company actor; the answer is what that actor schedules through.
    pub fn register(&self, address: Recipient<ExpireBatch>) -> CompanyExpiry {
        let mut companies = self.intake.companies.lock();
        // The registry bounds companies by `limits::COMPANIES_MAX`, far below `u32::MAX`.
        let company = companies.len() as u32;
        companies.push(address);
        CompanyExpiry {
            intake: self.intake.clone(),
            company,
        }
    }

    /// Schedules refused so far because `limits::EXPIRY_ENTRIES_MAX` was reached.
    pub fn refused(&self) -> u64 {
        self.intake.refused.load(Ordering::Relaxed)
    }

    /// Entries waiting in the intake and in the wheel (as of its last tick).
    pub fn entries(&self) -> usize {
        let pending = self.intake.pending.lock();
        pending.entries.len() + pending.wheel_len
    }
}

/// One company actor's way into the wheel.
#[derive(Clone, Debug)]
pub struct CompanyExpiry {
    intake: Arc<Intake>,
    company: u32,
}

impl CompanyExpiry {
    /// Asks the wheel to expire `token` at `expires_at_ms`. O(1), never blocks on the wheel.
    /// Answers false (and counts it) when the bound is reached: lazy expiry still covers the
    /// hold, it is only swept later.
    pub fn schedule(&self, token: Uuid, expires_at_ms: i64) -> bool {
        self.schedule_all(std::iter::once((token, expires_at_ms))) == 1
    }

    /// Schedules every `(token, expires_at_ms)` under one lock (a restored book's holds).
    /// Answers how many were accepted.
    pub fn schedule_all(&self, holds: impl IntoIterator<Item = (Uuid, i64)>) -> usize {
        let mut pending = self.intake.pending.lock();
        let mut accepted = 0;
        let mut refused = 0;
        for (token, expires_at_ms) in holds {
            if pending.entries.len() + pending.wheel_len >= limits::EXPIRY_ENTRIES_MAX {
                refused += 1;
                continue;
            }
            pending.entries.push(Scheduled {
                expires_at_ms,
                token,
                company: self.company,
            });
            accepted += 1;
        }
        drop(pending);
        if refused > 0 {
            self.intake.refused.fetch_add(refused, Ordering::Relaxed);
            tracing::warn!(
                event = "expiry_refused",
                refused,
                "expiry wheel full; holds left to lazy expiry"
            );
        }
        accepted
    }
}

/// What the wheel knows of one company.
struct CompanyState {
    address: Recipient<ExpireBatch>,
    /// Due tokens not sent yet, with their deadlines (for the lateness histogram).
    tokens: Vec<Uuid>,
    deadlines_ms: Vec<i64>,
    /// A batch was sent and has not been answered yet.
    in_flight: bool,
}

/// The actor: the wheel, the companies it serves, and its counters.
pub struct ExpiryWheel {
    clock: SharedClock,
    handle: ExpiryHandle,
    config: ExpiryConfig,
    wheel: TimingWheel<(u32, Uuid)>,
    companies: Vec<CompanyState>,
    /// Companies with due tokens not sent yet (each once).
    waiting: Vec<u32>,
    /// The intake's other buffer, swapped in on each tick so pushes rarely reallocate.
    spare: Vec<Scheduled>,
    fired_total: u64,
    batches_total: u64,
    expired_total: u64,
    /// Answer time of a batch minus each token's `expires_at`, in ms: an upper bound of each
    /// hold's lateness (a hold in an early chunk was expired before the batch was answered).
    lateness_ms: Histogram<u64>,
}

impl ExpiryWheel {
    /// A wheel starting at the clock's current time.
    pub fn new(clock: SharedClock, handle: ExpiryHandle, config: ExpiryConfig) -> ExpiryWheel {
        let resolution_ms = (config.resolution.as_millis() as i64).max(1);
        let origin_ms = clock.now_ms();
        ExpiryWheel {
            clock,
            handle,
            config,
            wheel: TimingWheel::new(origin_ms, resolution_ms),
            companies: Vec::new(),
            waiting: Vec::new(),
            spare: Vec::new(),
            fired_total: 0,
            batches_total: 0,
            expired_total: 0,
            lateness_ms: Histogram::new_with_max(limits::EXPIRY_LATENESS_MS_TRACKED_MAX, 2)
                .expect("a valid histogram bound"),
        }
    }

    /// One tick: intake into the wheel, due tokens out, one batch per ready company. Answers
    /// how many entries fired and one receiver per batch sent (its expired count).
    fn tick(&mut self, ctx: &mut Context<Self>) -> (usize, Vec<oneshot::Receiver<usize>>) {
        let now_ms = self.clock.now_ms();
        self.take_intake();
        self.learn_companies();
        let companies = &mut self.companies;
        let waiting = &mut self.waiting;
        let fired = self.wheel.advance(now_ms, |(company, token), deadline_ms| {
            let Some(state) = companies.get_mut(company as usize) else {
                debug_assert!(false, "company {company} scheduled before it registered");
                return;
            };
            if state.tokens.is_empty() {
                waiting.push(company);
            }
            state.tokens.push(token);
            state.deadlines_ms.push(deadline_ms);
        });
        self.fired_total += fired as u64;
        self.handle.intake.pending.lock().wheel_len = self.wheel.len();
        (fired, self.send_batches(ctx))
    }

    /// Moves the intake's entries into the wheel.
    fn take_intake(&mut self) {
        {
            let mut pending = self.handle.intake.pending.lock();
            std::mem::swap(&mut pending.entries, &mut self.spare);
            // Still counted against the bound while they move into the wheel.
            pending.wheel_len += self.spare.len();
        }
        for scheduled in self.spare.drain(..) {
            self.wheel.schedule(
                scheduled.expires_at_ms,
                (scheduled.company, scheduled.token),
            );
        }
        self.spare.shrink_to(limits::EXPIRY_INTAKE_CAPACITY_KEPT);
    }

    /// Copies the addresses of companies registered since the last tick. Runs after
    /// `take_intake`: a company registers before it schedules, so every entry's company is known.
    fn learn_companies(&mut self) {
        let registered = self.handle.intake.companies.lock();
        for address in &registered[self.companies.len()..] {
            self.companies.push(CompanyState {
                address: address.clone(),
                tokens: Vec::new(),
                deadlines_ms: Vec::new(),
                in_flight: false,
            });
        }
    }

    /// Sends one batch to each waiting company that has none in flight.
    fn send_batches(&mut self, ctx: &mut Context<Self>) -> Vec<oneshot::Receiver<usize>> {
        let mut receivers = Vec::new();
        let mut still_waiting = Vec::new();
        for company in std::mem::take(&mut self.waiting) {
            let state = &mut self.companies[company as usize];
            if state.in_flight {
                still_waiting.push(company);
                continue;
            }
            state.in_flight = true;
            let tokens = std::mem::take(&mut state.tokens);
            let deadlines_ms = std::mem::take(&mut state.deadlines_ms);
            let request = state.address.send(ExpireBatch { tokens });
            let (done, answer) = oneshot::channel();
            receivers.push(answer);
            self.batches_total += 1;
            ctx.spawn(request.into_actor(self).map(move |result, wheel, _| {
                let expired = wheel.finish_batch(company, &deadlines_ms, result);
                // The receiver is gone when nobody awaits this tick (interval ticks).
                let _ = done.send(expired);
            }));
        }
        self.waiting = still_waiting;
        receivers
    }

    /// Books a batch's answer: the company may get its next batch, lateness is recorded.
    fn finish_batch(
        &mut self,
        company: u32,
        deadlines_ms: &[i64],
        result: Result<usize, MailboxError>,
    ) -> usize {
        self.companies[company as usize].in_flight = false;
        let expired = match result {
            Ok(expired) => expired,
            Err(error) => {
                tracing::warn!(event = "expiry_batch_lost", company, %error, "company actor unreachable");
                0
            }
        };
        self.expired_total += expired as u64;
        let answered_ms = self.clock.now_ms();
        for deadline_ms in deadlines_ms {
            let lateness_ms = (answered_ms - deadline_ms).max(0) as u64;
            self.lateness_ms
                .saturating_record(lateness_ms.min(limits::EXPIRY_LATENESS_MS_TRACKED_MAX));
        }
        expired
    }
}

impl Actor for ExpiryWheel {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if self.config.ticks_itself {
            ctx.run_interval(self.config.resolution, |wheel, ctx| {
                // Nobody awaits an interval tick: its receivers are dropped.
                wheel.tick(ctx);
            });
        }
    }
}

/// Tick now (tests drive the wheel with a manual clock this way). Answered once every batch this
/// tick sent has been processed by its company.
#[derive(Message)]
#[rtype(result = "TickReport")]
pub struct Tick;

/// What one [`Tick`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Entries that came due (stale ones included: the companies sort them out).
    pub fired: usize,
    /// Batches sent: at most one per company.
    pub batches: usize,
    /// Holds the companies expired from those batches.
    pub expired: usize,
}

impl Handler<Tick> for ExpiryWheel {
    type Result = ResponseFuture<TickReport>;

    fn handle(&mut self, _: Tick, ctx: &mut Context<Self>) -> Self::Result {
        let (fired, receivers) = self.tick(ctx);
        let batches = receivers.len();
        Box::pin(async move {
            let answers = futures::future::join_all(receivers).await;
            let expired = answers.into_iter().map(|answer| answer.unwrap_or(0)).sum();
            TickReport {
                fired,
                batches,
                expired,
            }
        })
    }
}

/// The wheel's counters since it started.
#[derive(Message)]
#[rtype(result = "ExpiryStats")]
pub struct Stats;

/// Answer to [`Stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExpiryStats {
    /// Entries in the wheel and its intake now.
    pub entries: usize,
    /// Schedules refused because the wheel was full.
    pub refused: u64,
    pub fired_total: u64,
    pub batches_total: u64,
    /// Holds expired by the wheel's batches (lazy expiries are not counted here).
    pub expired_total: u64,
    /// Batch answer time minus `expires_at`, per token, in ms: p50, p99, max, and the count.
    pub lateness_ms_p50: u64,
    pub lateness_ms_p99: u64,
    pub lateness_ms_max: u64,
    pub lateness_samples: u64,
}

impl Handler<Stats> for ExpiryWheel {
    type Result = MessageResult<Stats>;

    fn handle(&mut self, _: Stats, _: &mut Context<Self>) -> Self::Result {
        let lateness = &self.lateness_ms;
        MessageResult(ExpiryStats {
            entries: self.handle.entries(),
            refused: self.handle.refused(),
            fired_total: self.fired_total,
            batches_total: self.batches_total,
            expired_total: self.expired_total,
            lateness_ms_p50: lateness.value_at_quantile(0.5),
            lateness_ms_p99: lateness.value_at_quantile(0.99),
            lateness_ms_max: lateness.max(),
            lateness_samples: lateness.len(),
        })
    }
}

/// Stops the wheel's thread when the last engine clone is dropped.
#[derive(Debug)]
struct WheelThread(Arbiter);

impl Drop for WheelThread {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// A running wheel: its address, its intake, its own thread (a mass tick never delays a
/// company actor's thread). Cheap to clone.
#[derive(Clone)]
pub struct ExpiryService {
    address: Addr<ExpiryWheel>,
    handle: ExpiryHandle,
    _thread: Arc<WheelThread>,
}

impl ExpiryService {
    /// Starts the wheel on a new arbiter. Must run inside an actix `System`.
    pub fn start(clock: SharedClock, config: ExpiryConfig) -> ExpiryService {
        let thread = Arbiter::new();
        let handle = ExpiryHandle::new();
        let wheel_handle = handle.clone();
        let address = ExpiryWheel::start_in_arbiter(&thread.handle(), move |_| {
            ExpiryWheel::new(clock, wheel_handle, config)
        });
        ExpiryService {
            address,
            handle,
            _thread: Arc::new(WheelThread(thread)),
        }
    }

    /// The wheel's address.
    pub fn address(&self) -> &Addr<ExpiryWheel> {
        &self.address
    }

    /// The intake, for the registry to register company actors.
    pub fn handle(&self) -> &ExpiryHandle {
        &self.handle
    }
}
