//! Expiry benches. Criterion, short settings:
//! - `schedule`: the cost of scheduling one hold's expiry, both the company actor's push into the
//!   wheel's intake and the wheel's own insert (target: median under 100 ns);
//! - `tick`: one tick that expires 100,000 holds spread over 1,000 companies, measured from the
//!   tick until every company has answered its batch.
//!
//! Then two measurements printed as tables (criterion's mean over many iterations would hide
//! exactly the tail that matters):
//! - hold round-trip latency through the actor, idle vs while a mass expiry of 1,000,000 holds
//!   runs in the same company and on the same thread (target: never held up by more than 5 ms);
//! - expiry lateness (batch answered minus `expires_at`, an upper bound per hold) on the real
//!   clock with the wheel ticking by itself every 10 ms, while callers keep creating holds
//!   (target: p99 under 50 ms).
//!
//! Without `--bench` (as `cargo test --benches` runs it) every size is cut down so the run is a
//! quick smoke test.

use actix::AsyncContext;
use criterion::{BenchmarkId, Criterion};
use hdrhistogram::Histogram;
use holdfast::actors::company::CompanyActor;
use holdfast::actors::engine::{Engine, EngineConfig};
use holdfast::actors::expiry::{ExpiryConfig, ExpiryHandle};
use holdfast::clock::{Clock, ManualClock, SharedClock, SystemClock};
use holdfast::core::book::{Book, Settings};
use holdfast::core::command::{HoldOptions, HoldRequest, HoldTarget};
use holdfast::core::wheel::TimingWheel;
use holdfast::limits;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A fixed start instant for manual clocks.
const START_MS: i64 = 1_763_158_400_000;
/// Length of every held slot.
const SLOT_MS: i64 = 30 * 60 * 1_000;

/// Sizes of one run: full under `cargo bench`, small under `cargo test --benches`.
struct Sizes {
    tick_companies: usize,
    tick_holds_per_company: usize,
    mass_holds: usize,
    latency_samples: usize,
    lateness_callers: usize,
    lateness_load: Duration,
}

impl Sizes {
    fn new() -> Sizes {
        if std::env::args().any(|arg| arg == "--bench") {
            Sizes {
                tick_companies: 1_000,
                tick_holds_per_company: 100,
                mass_holds: 1_000_000,
                latency_samples: 5_000,
                lateness_callers: 16,
                lateness_load: Duration::from_secs(4),
            }
        } else {
            Sizes {
                tick_companies: 10,
                tick_holds_per_company: 10,
                mass_holds: 3 * limits::EXPIRY_CHUNK_TOKENS,
                latency_samples: 50,
                lateness_callers: 2,
                lateness_load: Duration::from_millis(1_500),
            }
        }
    }
}

/// A single 30-minute hold of `resource` in slot `slot`, a day after `now_ms`.
fn hold(resource: &str, slot: i64, now_ms: i64, ttl_seconds: i64) -> HoldRequest {
    let start_ms = now_ms + 24 * 3_600 * 1_000 + slot * SLOT_MS;
    let target = HoldTarget::single(resource, start_ms, start_ms + SLOT_MS).expect("valid");
    let options = HoldOptions::default()
        .with_ttl_seconds(ttl_seconds)
        .expect("a valid ttl");
    HoldRequest::with_options(target, options)
}

/// A book with `holds` active holds made at `START_MS`, living 60 s, and room for more.
fn book_with_holds(company: &str, holds: usize) -> Book {
    // Room for the concurrent holds measured next to a mass expiry of a million.
    let settings = Settings {
        live_reservations_max: holds + 1_000_000,
        ..Settings::default()
    };
    let mut book = Book::new(company, settings);
    for slot in 0..holds {
        book.hold(
            hold("chair", slot as i64, START_MS, 60),
            None,
            Uuid::new_v4(),
            START_MS,
        )
        .expect("setup hold");
    }
    book
}

/// An engine on a manual clock whose wheel ticks only when told to.
fn manual_engine(
    system: &actix::SystemRunner,
    clock: &Arc<ManualClock>,
    arbiters: usize,
) -> Engine {
    let clock: SharedClock = clock.clone();
    system.block_on(async move {
        Engine::start(
            EngineConfig {
                clock,
                arbiters,
                expiry: ExpiryConfig {
                    resolution: Duration::from_millis(limits::EXPIRY_RESOLUTION_MS_DEFAULT),
                    ticks_itself: false,
                },
                ..EngineConfig::default()
            },
            None,
        )
    })
}

/// Schedule cost per hold: the company actor's push into the intake, and the wheel's insert.
fn bench_schedule(criterion: &mut Criterion) {
    // Registration needs an address; the actor behind it never has to run here.
    let unstarted: actix::Context<CompanyActor> = actix::Context::new();
    let address = unstarted.address();
    let mut group = criterion.benchmark_group("schedule");
    group.bench_function("intake_push_per_hold", |bencher| {
        bencher.iter_custom(|iterations| {
            // A fresh intake per sample, so the bound is never reached and memory stays flat.
            let handle = ExpiryHandle::new();
            let expiry = handle.register(address.clone().recipient());
            let token = Uuid::new_v4();
            let started = Instant::now();
            for index in 0..iterations {
                expiry.schedule(token, START_MS + (index % 3_600_000) as i64);
            }
            started.elapsed()
        })
    });
    group.bench_function("wheel_insert_per_hold", |bencher| {
        bencher.iter_custom(|iterations| {
            let mut wheel = TimingWheel::new(START_MS, 10);
            let token = Uuid::new_v4();
            let started = Instant::now();
            for index in 0..iterations {
                // TTLs from 1 s to one hour: every level the wheel uses in practice.
                let ttl_ms = 1_000 + (index.wrapping_mul(7_919) % 3_599_000) as i64;
                wheel.schedule(START_MS + ttl_ms, (index as u32, token));
            }
            started.elapsed()
        })
    });
    group.finish();
}

/// One tick expiring `companies * holds_per_company` holds, one batch per company.
fn bench_tick(criterion: &mut Criterion, system: &actix::SystemRunner, sizes: &Sizes) {
    let total = sizes.tick_companies * sizes.tick_holds_per_company;
    let mut group = criterion.benchmark_group("tick");
    group.sample_size(10);
    group.bench_function(
        BenchmarkId::new(
            "expire_holds_across_companies",
            format!("{total}_holds_{}_companies", sizes.tick_companies),
        ),
        |bencher| {
            bencher.iter_custom(|iterations| {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    spent += one_mass_tick(system, sizes);
                }
                spent
            })
        },
    );
    group.finish();
}

/// Sets up a fresh engine with due holds (not timed), then times one tick.
fn one_mass_tick(system: &actix::SystemRunner, sizes: &Sizes) -> Duration {
    let clock = ManualClock::new(START_MS);
    let engine = manual_engine(system, &clock, 2);
    for company in 0..sizes.tick_companies {
        let name = format!("co-{company}");
        let book = book_with_holds(&name, sizes.tick_holds_per_company);
        engine
            .registry()
            .get_or_start_with(&name, move || book)
            .expect("start");
    }
    futures::executor::block_on(async {
        engine.companies().await.expect("started");
        engine.expiry_tick().await.expect("intake");
    });
    clock.set_ms(START_MS + 60_000);
    let started = Instant::now();
    let report = futures::executor::block_on(engine.expiry_tick()).expect("tick");
    let spent = started.elapsed();
    let total = sizes.tick_companies * sizes.tick_holds_per_company;
    assert_eq!(
        (report.expired, report.batches),
        (total, sizes.tick_companies)
    );
    spent
}

/// Latency percentiles of one series, in microseconds.
fn summary(histogram: &Histogram<u64>) -> String {
    let over_5_ms = histogram
        .iter_recorded()
        .filter(|value| value.value_iterated_to() > 5_000)
        .map(|value| value.count_at_value())
        .sum::<u64>();
    format!(
        "n={:>6}  p50={:>6} us  p99={:>6} us  p999={:>6} us  max={:>6} us  over 5 ms: {}",
        histogram.len(),
        histogram.value_at_quantile(0.5),
        histogram.value_at_quantile(0.99),
        histogram.value_at_quantile(0.999),
        histogram.max(),
        over_5_ms
    )
}

fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_max(60_000_000, 3).expect("histogram bounds")
}

/// Hold round trips idle, then while a mass expiry runs in the same company (same actor) and in
/// another company on the same thread (one arbiter).
fn hold_latency_during_mass_expiry(system: &actix::SystemRunner, sizes: &Sizes) {
    let clock = ManualClock::new(START_MS);
    let engine = manual_engine(system, &clock, 1);
    let book = book_with_holds("mass", sizes.mass_holds);
    engine
        .registry()
        .get_or_start_with("mass", move || book)
        .expect("start");
    let mut idle = latency_histogram();
    let mut slot = 0;
    futures::executor::block_on(async {
        engine.companies().await.expect("started");
        engine.expiry_tick().await.expect("intake");
        // Start the other company now, so that its start-up is not measured below.
        engine
            .hold("other", hold("idle", 0, START_MS, 600))
            .await
            .expect("start other");
        for _ in 0..sizes.latency_samples {
            slot += 1;
            let started = Instant::now();
            engine
                .hold("mass", hold("idle", slot, START_MS, 600))
                .await
                .expect("idle hold");
            idle.saturating_record(started.elapsed().as_micros() as u64);
        }
    });

    clock.set_ms(START_MS + 60_000);
    let ticking = engine.clone();
    let tick_started = Instant::now();
    let tick = std::thread::spawn(move || {
        let report = futures::executor::block_on(ticking.expiry_tick()).expect("tick");
        (report, tick_started.elapsed())
    });
    let mut same_actor = latency_histogram();
    let mut same_thread = latency_histogram();
    futures::executor::block_on(async {
        while !tick.is_finished() {
            slot += 1;
            for (company, histogram) in [("mass", &mut same_actor), ("other", &mut same_thread)] {
                let started = Instant::now();
                engine
                    .hold(company, hold("busy", slot, START_MS + 60_000, 600))
                    .await
                    .expect("hold during expiry");
                histogram.saturating_record(started.elapsed().as_micros() as u64);
            }
        }
    });
    let (report, tick_time) = tick.join().expect("tick thread");
    assert_eq!(report.expired, sizes.mass_holds);
    println!(
        "hold round trip, idle                                  : {}",
        summary(&idle)
    );
    println!(
        "hold round trip, same actor during mass expiry         : {}",
        summary(&same_actor)
    );
    println!(
        "hold round trip, other company same thread during it   : {}",
        summary(&same_thread)
    );
    println!(
        "mass expiry of {} holds: one tick, answered in {:.1} ms",
        sizes.mass_holds,
        tick_time.as_secs_f64() * 1e3
    );
}

/// The time one chunk of `limits::EXPIRY_CHUNK_TOKENS` expiries takes in the `Book` itself, over
/// a mass expiry: the longest a hold can wait behind the expiry in its own actor, without the
/// actor, the wheel or the scheduler in the way.
fn chunk_time_in_the_book(sizes: &Sizes) {
    let mut book = book_with_holds("mass", sizes.mass_holds);
    let tokens: Vec<Uuid> = book.reservations().map(|r| r.token).collect();
    let mut chunk_micros = latency_histogram();
    let started = Instant::now();
    for chunk in tokens.chunks(limits::EXPIRY_CHUNK_TOKENS) {
        let chunk_started = Instant::now();
        book.expire_due(chunk, START_MS + 60_000);
        chunk_micros.saturating_record(chunk_started.elapsed().as_micros() as u64);
    }
    println!(
        "one chunk of {} expiries in the book (of {} in {:.1} ms)  : {}",
        limits::EXPIRY_CHUNK_TOKENS,
        tokens.len(),
        started.elapsed().as_secs_f64() * 1e3,
        summary(&chunk_micros)
    );
}

/// Expiry lateness on the real clock: callers create 1-second holds as fast as they can for a
/// while; the wheel ticks by itself; then wait until every hold has been expired by the wheel.
fn lateness_under_load(system: &actix::SystemRunner, sizes: &Sizes) {
    let engine = system.block_on(async {
        Engine::start(
            EngineConfig {
                clock: Arc::new(SystemClock),
                arbiters: 2,
                expiry: ExpiryConfig::default(),
                ..EngineConfig::default()
            },
            None,
        )
    });
    let clock = SystemClock;
    let load_until = Instant::now() + sizes.lateness_load;
    let callers = (0..sizes.lateness_callers).map(|caller| {
        let engine = engine.clone();
        async move {
            let company = format!("lat-{caller}");
            let mut created = 0usize;
            let mut slot = 0;
            while Instant::now() < load_until {
                slot += 1;
                let request = hold("chair", slot, clock.now_ms(), limits::TTL_SECONDS_MIN);
                engine
                    .hold(&company, request)
                    .await
                    .expect("hold under load");
                created += 1;
            }
            created
        }
    });
    let created: usize = futures::executor::block_on(futures::future::join_all(callers))
        .into_iter()
        .sum();
    let deadline = Instant::now() + Duration::from_secs(30);
    let stats = loop {
        let stats = futures::executor::block_on(engine.expiry_stats()).expect("stats");
        if stats.expired_total as usize >= created || Instant::now() > deadline {
            break stats;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    println!(
        "expiry lateness on the real clock, {} callers, {created} holds of 1 s over {:.1} s: \
         expired by the wheel {}, p50={} ms p99={} ms max={} ms",
        sizes.lateness_callers,
        sizes.lateness_load.as_secs_f64(),
        stats.expired_total,
        stats.lateness_ms_p50,
        stats.lateness_ms_p99,
        stats.lateness_ms_max
    );
}

fn main() {
    let sizes = Sizes::new();
    let system = actix::System::new();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    bench_schedule(&mut criterion);
    bench_tick(&mut criterion, &system, &sizes);
    criterion.final_summary();
    chunk_time_in_the_book(&sizes);
    hold_latency_during_mass_expiry(&system, &sizes);
    lateness_under_load(&system, &sizes);
}
