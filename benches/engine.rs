//! Benchmarks of the core engine (criterion): the conflict check and a hold at 1k, 100k and 1M
//! live reservations on one resource, and at 100k on a resource of capacity 8; a first-available
//! hold behind 100k reservations; a hold's round trip through the company actor; and 1M holds
//! spread over 1,000 resources, timed, with the bytes each reservation costs.
//!
//! Run: `cargo bench --bench engine`. Memory per reservation is printed as `bytes per
//! reservation` (heap bytes from a counting allocator, and resident-set growth).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use holdfast::actors::engine::{Engine, EngineConfig};
use holdfast::core::book::{Book, Settings};
use holdfast::core::command::{FindRequest, HoldOptions, HoldRequest, HoldTarget};
use holdfast::core::schedule::{CompanySettings, ResourceConfig, WeeklyHours, WEEKDAYS};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Counts heap bytes in use, so the memory bench reports what a reservation really costs.
struct CountingAllocator;

static HEAP_BYTES: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HEAP_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HEAP_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        HEAP_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const BASE_MS: i64 = 1_798_761_600_000;
/// Reservations are 30 minutes long, one every hour: a 30-minute gap after each.
const LENGTH_MS: i64 = 30 * 60 * 1_000;
const PERIOD_MS: i64 = 60 * 60 * 1_000;
/// Holds in the benches live long enough never to expire during a run.
const NOW_MS: i64 = BASE_MS - 1_000;

fn hold_request(resource: &str, start_ms: i64, call: u64) -> HoldRequest {
    let target = HoldTarget::single(resource, start_ms, start_ms + LENGTH_MS).expect("valid");
    let options = HoldOptions::default()
        .with_ttl_seconds(3_600)
        .and_then(|o| o.with_call_id(format!("call-{call:08}")))
        .and_then(|o| o.with_customer_phone("+4915112345678"))
        .and_then(|o| o.with_service_id("svc-1"))
        .expect("valid options");
    HoldRequest::with_options(target, options)
}

fn settings() -> Settings {
    Settings {
        live_reservations_max: 2_000_000,
        // Finished reservations go at the next housekeeping: benches reuse slots.
        retention_seconds: 0,
        ..Settings::default()
    }
}

/// A book with `count` live holds on one resource, one per hour.
fn full_book(count: usize) -> Book {
    let mut book = Book::new("bench", settings());
    for i in 0..count {
        let request = hold_request("staff-1", BASE_MS + i as i64 * PERIOD_MS, i as u64);
        book.hold(request, None, Uuid::from_u128(i as u128 + 1), NOW_MS)
            .expect("free slot");
    }
    book
}

/// Holds `iterations` requests made by `request_of(n)` for n = 0, 1, ... in batches of up to
/// 1,000 and answers the time they took; between batches (untimed) the holds are cancelled and
/// the finished reservations dropped, so the calendar stays at its size.
fn time_holds(
    book: &mut Book,
    iterations: u64,
    next_token: &mut u128,
    request_of: impl Fn(u64) -> HoldRequest,
) -> Duration {
    let mut elapsed = Duration::ZERO;
    let mut done = 0;
    while done < iterations {
        let batch = (iterations - done).min(1_000);
        let requests: Vec<(HoldRequest, Uuid)> = (0..batch)
            .map(|k| {
                *next_token += 1;
                (request_of(done + k), Uuid::from_u128(*next_token))
            })
            .collect();
        let mut tokens = Vec::with_capacity(batch as usize);
        let started = Instant::now();
        for (request, token) in requests {
            if let Ok(outcome) = book.hold(request, None, token, NOW_MS) {
                tokens.push(outcome.reservation.token);
            }
        }
        elapsed += started.elapsed();
        for token in tokens {
            book.cancel(token, None, NOW_MS).expect("held just now");
        }
        book.housekeeping(NOW_MS);
        done += batch;
    }
    elapsed
}

fn conflict_check_and_hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("one_resource");
    group.measurement_time(Duration::from_secs(4));
    for count in [1_000usize, 100_000, 1_000_000] {
        let mut book = full_book(count);
        let mut i = 0u64;
        group.bench_with_input(
            BenchmarkId::new("conflict_check", count),
            &count,
            |b, &count| {
                b.iter(|| {
                    // Alternate a taken slot and a free gap somewhere in the calendar.
                    i = i.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let slot = (i >> 33) as i64 % count as i64;
                    let offset = if i & 1 == 0 { 0 } else { LENGTH_MS };
                    let start_ms = BASE_MS + slot * PERIOD_MS + offset;
                    black_box(book.is_free("staff-1", start_ms, start_ms + LENGTH_MS, NOW_MS))
                })
            },
        );
        let mut next_token = count as u128 + 1;
        group.bench_with_input(BenchmarkId::new("hold", count), &count, |b, &count| {
            // Holds free gaps, so the calendar stays at `count` live entries.
            b.iter_custom(|iterations| {
                time_holds(&mut book, iterations, &mut next_token, |n| {
                    let slot = (n * 7_919) as i64 % count as i64;
                    let start_ms = BASE_MS + slot * PERIOD_MS + LENGTH_MS;
                    hold_request("staff-1", start_ms, n % 1_000)
                })
            })
        });
    }
    group.finish();
}

/// Reservations per hour on the resource of capacity 8: one short of full everywhere.
const STAGGERED_PER_PERIOD: usize = 8;
/// Time between the starts of one hour's reservations on the resource of capacity 8, in
/// milliseconds (one minute).
const STAGGER_MS: i64 = 60 * 1_000;

/// A book with `count` live holds on one resource of capacity 8: every hour, 8 holds of 30
/// minutes starting a minute apart, so the first 30 minutes hold 8 at once from minute 7 on
/// (full), and the next 30 minutes begin under the tails of 7 of them (room for one more).
fn full_book_of_capacity_8(count: usize) -> Book {
    let mut book = Book::new("bench", settings());
    book.set_resource_capacity("room-1", 8)
        .expect("a valid capacity");
    for i in 0..count {
        let period = (i / STAGGERED_PER_PERIOD) as i64;
        let offset = (i % STAGGERED_PER_PERIOD) as i64 * STAGGER_MS;
        let request = hold_request("room-1", BASE_MS + period * PERIOD_MS + offset, i as u64);
        book.hold(request, None, Uuid::from_u128(i as u128 + 1), NOW_MS)
            .expect("room");
    }
    book
}

/// The conflict check and a hold on a resource of capacity 8: the cost of counting overlap per
/// instant, beside the capacity-1 numbers of `one_resource`.
fn conflict_check_and_hold_at_capacity_8(c: &mut Criterion) {
    let mut group = c.benchmark_group("capacity_8");
    group.measurement_time(Duration::from_secs(4));
    let count = 100_000usize;
    let periods = (count / STAGGERED_PER_PERIOD) as i64;
    let mut book = full_book_of_capacity_8(count);
    let mut i = 0u64;
    group.bench_with_input(BenchmarkId::new("conflict_check", count), &count, |b, _| {
        b.iter(|| {
            // Alternate the full first half of an hour and the second half, which has room.
            i = i.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let period = (i >> 33) as i64 % periods;
            let offset = if i & 1 == 0 { 0 } else { LENGTH_MS };
            let start_ms = BASE_MS + period * PERIOD_MS + offset;
            black_box(book.is_free("room-1", start_ms, start_ms + LENGTH_MS, NOW_MS))
        })
    });
    let mut next_token = count as u128 + 1;
    group.bench_with_input(BenchmarkId::new("hold", count), &count, |b, _| {
        // Holds the second half of an hour: 7 reservations in the way, room for the eighth.
        b.iter_custom(|iterations| {
            time_holds(&mut book, iterations, &mut next_token, |n| {
                let period = (n * 7_919) as i64 % periods;
                let start_ms = BASE_MS + period * PERIOD_MS + LENGTH_MS;
                hold_request("room-1", start_ms, n % 1_000)
            })
        })
    });
    group.finish();
}

/// The same hold at 100,000 reservations on a resource without configuration and on one with
/// opening hours (one interval on every weekday, in Europe/Berlin): the cost of judging the
/// wall clock on every hold, side by side in one run.
fn hold_with_hours(c: &mut Criterion) {
    let mut group = c.benchmark_group("hours");
    group.measurement_time(Duration::from_secs(4));
    let count = 100_000usize;
    for with_hours in [false, true] {
        let mut book = Book::new("bench", settings());
        if with_hours {
            book.set_company_settings(
                CompanySettings::new("Europe/Berlin", "en", 30, 300).expect("valid settings"),
            );
            let week = WEEKDAYS.iter().map(|day| {
                (
                    day.to_string(),
                    vec![("00:00".to_string(), "24:00".to_string())],
                )
            });
            let hours = WeeklyHours::new(week).expect("valid hours");
            let config = ResourceConfig::new(None, 1, Some(hours), Vec::new()).expect("valid");
            book.put_resource("staff-1", config).expect("configured");
        }
        for i in 0..count {
            let request = hold_request("staff-1", BASE_MS + i as i64 * PERIOD_MS, i as u64);
            book.hold(request, None, Uuid::from_u128(i as u128 + 1), NOW_MS)
                .expect("free and open");
        }
        let name = if with_hours {
            "hold_with_hours"
        } else {
            "hold_without_hours"
        };
        let mut next_token = count as u128 + 1;
        group.bench_with_input(BenchmarkId::new(name, count), &count, |b, &count| {
            b.iter_custom(|iterations| {
                time_holds(&mut book, iterations, &mut next_token, |n| {
                    let slot = (n * 7_919) as i64 % count as i64;
                    let start_ms = BASE_MS + slot * PERIOD_MS + LENGTH_MS;
                    hold_request("staff-1", start_ms, n % 1_000)
                })
            })
        });
    }
    group.finish();
}

/// Length of a reservation in the first-available benches, in milliseconds (five minutes): 100k
/// of them back to back fill 347 days, inside the longest window a search may span.
const FIND_LENGTH_MS: i64 = 5 * 60 * 1_000;
/// The longest window a first-available search may span, in milliseconds (366 days).
const FIND_WINDOW_MS: i64 = 366 * 24 * 3_600 * 1_000;

/// A search for [`FIND_LENGTH_MS`] on `staff-1`, anywhere in the longest window from
/// [`BASE_MS`], on a one-minute grid.
fn find() -> FindRequest {
    FindRequest::new(
        vec!["staff-1".to_string()],
        BASE_MS,
        BASE_MS + FIND_WINDOW_MS,
        FIND_LENGTH_MS,
        60 * 1_000,
    )
    .expect("a valid search")
}

/// A first-available hold of [`find`].
fn find_request(call: u64) -> HoldRequest {
    let find = find();
    let options = HoldOptions::default()
        .with_ttl_seconds(3_600)
        .and_then(|o| o.with_call_id(format!("call-{call:08}")))
        .expect("valid options");
    HoldRequest::with_options(HoldTarget::Find(find), options)
}

/// First available behind `count` live reservations on one resource, every one of which is in
/// the search's way: back to back, and with gaps of a minute (shorter than the hold) between
/// reservations of four. The first fit lies after all of them, so a search that walks the
/// reservations in its window pays for every one; a search through the free-gap index does not.
/// Timed twice: the search on its own (`search/`), and whole first-available holds (`hold/`),
/// a batch of which fills the calendar after the reservations, one hold after the other.
fn first_available(c: &mut Criterion) {
    let mut group = c.benchmark_group("first_available");
    group.measurement_time(Duration::from_secs(4));
    let count = 100_000usize;
    for (name, length_ms) in [
        ("back_to_back", FIND_LENGTH_MS),
        ("gaps_shorter_than_duration", FIND_LENGTH_MS - 60 * 1_000),
    ] {
        let mut book = Book::new("bench", settings());
        for i in 0..count {
            let start_ms = BASE_MS + i as i64 * FIND_LENGTH_MS;
            let target =
                HoldTarget::single("staff-1", start_ms, start_ms + length_ms).expect("valid");
            let options = HoldOptions::default()
                .with_ttl_seconds(3_600)
                .expect("valid options");
            book.hold(
                HoldRequest::with_options(target, options),
                None,
                Uuid::from_u128(i as u128 + 1),
                NOW_MS,
            )
            .expect("free slot");
        }
        let search = find();
        let first_fit_ms = BASE_MS + (count as i64 - 1) * FIND_LENGTH_MS + length_ms;
        let found = book.first_available(&search, NOW_MS).expect("room after");
        assert_eq!(
            found.start_ms(),
            first_fit_ms,
            "the first fit is after all of them"
        );
        group.bench_with_input(
            BenchmarkId::new(format!("search/{name}"), count),
            &count,
            |b, _| b.iter(|| black_box(book.first_available(&search, NOW_MS))),
        );
        let mut next_token = count as u128 + 1;
        let id = BenchmarkId::new(format!("hold/{name}"), count);
        group.bench_with_input(id, &count, |b, _| {
            // Each hold takes the first fit, after the reservations and the batch's earlier holds.
            b.iter_custom(|iterations| {
                time_holds(&mut book, iterations, &mut next_token, |n| {
                    find_request(n % 1_000)
                })
            })
        });
    }
    group.finish();
}

fn hold_through_the_actor(c: &mut Criterion) {
    let system = actix_rt::System::new();
    let engine = system.block_on(async {
        Engine::start(
            EngineConfig {
                settings: settings(),
                ..EngineConfig::default()
            },
            None,
        )
    });
    let mut slot = 0i64;
    c.bench_function("actor/hold_round_trip", |b| {
        b.iter_custom(|iterations| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iterations {
                slot += 1;
                let request = hold_request("staff-1", BASE_MS + slot * PERIOD_MS, slot as u64);
                let started = Instant::now();
                let outcome = system
                    .block_on(engine.hold("bench", request))
                    .expect("free slot");
                elapsed += started.elapsed();
                let token = outcome.reservation.token;
                system
                    .block_on(engine.cancel("bench", token, None))
                    .expect("held just now");
            }
            elapsed
        })
    });
}

fn resident_bytes() -> i64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: i64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4_096
}

fn million_holds_over_a_thousand_resources(c: &mut Criterion) {
    const HOLDS: usize = 1_000_000;
    const RESOURCES: usize = 1_000;
    let build = || {
        let mut book = Book::new("bench", settings());
        for i in 0..HOLDS {
            let resource = format!("staff-{}", i % RESOURCES);
            let start_ms = BASE_MS + (i / RESOURCES) as i64 * PERIOD_MS;
            book.hold(
                hold_request(&resource, start_ms, i as u64),
                None,
                Uuid::from_u128(i as u128 + 1),
                NOW_MS,
            )
            .expect("free slot");
        }
        book
    };
    let heap_before = HEAP_BYTES.load(Ordering::Relaxed);
    let resident_before = resident_bytes();
    let book = build();
    let heap_per = (HEAP_BYTES.load(Ordering::Relaxed) - heap_before) as f64 / HOLDS as f64;
    let resident_per = (resident_bytes() - resident_before) as f64 / HOLDS as f64;
    println!(
        "bytes per reservation (1M live holds over 1,000 resources): heap {heap_per:.0}, resident {resident_per:.0}"
    );
    assert_eq!(book.live_count(), HOLDS);
    drop(book);
    let mut group = c.benchmark_group("million");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("hold_1M_over_1000_resources", |b| {
        b.iter(|| black_box(build()))
    });
    group.finish();
}

criterion_group!(
    benches,
    conflict_check_and_hold,
    conflict_check_and_hold_at_capacity_8,
    hold_with_hours,
    first_available,
    hold_through_the_actor,
    million_holds_over_a_thousand_resources
);
criterion_main!(benches);
