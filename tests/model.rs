//! Property tests of the core `Book` against a deliberately naive model: a `Vec` of reservations
//! scanned linearly for every question. Random sequences of every operation, with random clock
//! advances, must get the same answers from both, and the book's invariants (at no instant more
//! live intervals overlapping on one resource than its capacity allows, among them) must hold
//! after every step. Resources start with random capacities of 1 to 4, and capacity changes
//! (raising, lowering below what is held, invalid values) are among the operations; a refused
//! hold must list the same conflicts on both sides. Resources are configured with opening hours
//! and closures, and the company's time zone and default time to live change, on grids laid on
//! days with and without a daylight-saving change (Europe/Berlin on 2026-03-29 and 2026-10-25):
//! the model judges hours by walking each interval's local times, the book by its own
//! arithmetic. Snapshot exports begin and advance a chunk at a time between the operations:
//! each must come out as the book was when it began. The model itself is in
//! `tests/model_support/`.

mod model_support;

use holdfast::core::book::{Book, Settings};
use holdfast::core::command::{
    AvailabilityRequest, FindRequest, HoldOptions, HoldRequest, HoldTarget, ListFilter,
    SegmentRequest, Segments,
};
use holdfast::core::error::{BookError, ErrorType};
use holdfast::core::reservation::{ConflictKind, Status};
use holdfast::core::schedule::{Closure, CompanySettings, ResourceConfig, WeeklyHours};
use holdfast::durability::fingerprint::idempotency_of;
use holdfast::durability::snapshot::{
    decode_company, export_company, CompanyExport, CompanySnapshotV4, SNAPSHOT_FORMAT_VERSION,
};
use model_support::{answer_of_view, Answer, Model, ModelConflict, ModelHours};
use proptest::prelude::*;
use uuid::Uuid;

/// One slot of the test grid: 15 minutes.
const SLOT_MS: i64 = 15 * 60 * 1_000;
/// The days a grid starts on, at 00:00 UTC: 2027-01-01 (a Friday, no change), 2026-03-29 and
/// 2026-10-25 (Sundays; Berlin changes its clocks at 01:00 UTC, inside the grid).
const BASES_MS: [i64; 3] = [1_798_761_600_000, 1_774_742_400_000, 1_792_886_400_000];
const ZONES: [&str; 3] = ["UTC", "Europe/Berlin", "America/New_York"];
const DEFAULT_TTLS_SECONDS: [i64; 3] = [60, 300, 900];
const RESOURCES: [&str; 3] = ["r0", "r1", "r2"];
const CALLS: [&str; 3] = ["call-a", "call-b", "call-c"];

// ----- the operations -----------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Advance(i64),
    Hold {
        segments: Vec<(usize, i64, i64)>,
        /// `None`: the company's default.
        ttl_seconds: Option<i64>,
        call: Option<usize>,
        replace: bool,
        key: Option<usize>,
    },
    Find {
        resources: Vec<usize>,
        earliest: i64,
        window: i64,
        duration: i64,
        step: i64,
        call: Option<usize>,
        replace: bool,
    },
    Confirm(usize, Option<usize>),
    Extend(usize, i64),
    Cancel(usize, Option<usize>),
    Get(usize),
    List {
        call: Option<usize>,
        status: Option<usize>,
        resource: Option<usize>,
        window: Option<(i64, i64)>,
        limit: usize,
    },
    Availability {
        resources: Vec<usize>,
        from: i64,
        window: i64,
        duration: i64,
        step: i64,
        call: Option<usize>,
    },
    Housekeeping,
    /// Set a resource's capacity (sometimes outside 1 to 1,000, which both sides refuse).
    SetCapacity(usize, u32),
    /// Configure a resource's hours and closures with one of the presets (0 removes its
    /// configuration).
    Configure(usize, usize),
    /// Set the company's time zone and default time to live.
    SetSettings(usize, usize),
    /// Begin a snapshot export (abandoning one under way).
    ExportBegin,
    /// Copy the next chunk of the export under way, this many store slots.
    ExportChunk(usize),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let segment = (0..3usize, 0..24i64, 1..4i64);
    prop_oneof![
        3 => (0..400_000i64).prop_map(Op::Advance),
        6 => (
            prop::collection::vec(segment, 1..4),
            prop::option::weighted(0.8, 1..600i64),
            prop::option::of(0..3usize),
            any::<bool>(),
            prop::option::of(0..3usize),
        )
            .prop_map(|(segments, ttl_seconds, call, replace, key)| Op::Hold {
                segments,
                ttl_seconds,
                call,
                replace,
                key
            }),
        3 => (
            prop::collection::vec(0..3usize, 1..4),
            0..20i64,
            1..10i64,
            1..4i64,
            1..3i64,
            prop::option::of(0..3usize),
            any::<bool>(),
        )
            .prop_map(|(resources, earliest, window, duration, step, call, replace)| Op::Find {
                resources,
                earliest,
                window,
                duration,
                step,
                call,
                replace
            }),
        3 => (0..40usize, prop::option::of(0..2usize)).prop_map(|(t, a)| Op::Confirm(t, a)),
        2 => (0..40usize, 0..4_000i64).prop_map(|(t, ttl)| Op::Extend(t, ttl)),
        2 => (0..40usize, prop::option::of(0..2usize)).prop_map(|(t, r)| Op::Cancel(t, r)),
        1 => (0..40usize).prop_map(Op::Get),
        1 => (
            prop::option::of(0..3usize),
            prop::option::of(0..4usize),
            prop::option::of(0..3usize),
            prop::option::of((0..24i64, 1..8i64)),
            1..6usize,
        )
            .prop_map(|(call, status, resource, window, limit)| Op::List {
                call,
                status,
                resource,
                window,
                limit
            }),
        1 => (
            prop::collection::vec(0..3usize, 1..3),
            0..20i64,
            1..12i64,
            1..4i64,
            1..3i64,
            prop::option::of(0..3usize),
        )
            .prop_map(|(resources, from, window, duration, step, call)| Op::Availability {
                resources,
                from,
                window,
                duration,
                step,
                call
            }),
        1 => Just(Op::Housekeeping),
        2 => (0..3usize, capacity_strategy()).prop_map(|(r, c)| Op::SetCapacity(r, c)),
        2 => (0..3usize, 0..PRESETS).prop_map(|(r, p)| Op::Configure(r, p)),
        1 => (0..3usize, 0..3usize).prop_map(|(z, t)| Op::SetSettings(z, t)),
        1 => Just(Op::ExportBegin),
        3 => (1..4usize).prop_map(Op::ExportChunk),
    ]
}

/// Capacities 1 to 4, and now and then one the book must refuse.
fn capacity_strategy() -> impl Strategy<Value = u32> {
    prop_oneof![
        8 => 1..=4u32,
        1 => Just(0u32),
        1 => Just(1_001u32),
    ]
}

/// The conflicts of a refused hold, sorted, as the model lists them.
fn conflicts_of(error: &BookError) -> Vec<ModelConflict> {
    let BookError::Conflict { conflicts } = error else {
        return Vec::new();
    };
    let mut listed: Vec<ModelConflict> = conflicts
        .iter()
        .map(|c| {
            let booked = c.kind == ConflictKind::Booking;
            (c.resource.to_string(), c.start_ms, c.end_ms, booked)
        })
        .collect();
    listed.sort();
    listed
}

/// Opening intervals per weekday, Monday first, in minutes after local midnight.
type Week = [Vec<(u16, u16)>; 7];

/// How many hour presets `Op::Configure` picks from.
const PRESETS: usize = 6;

/// Preset `preset` of opening hours and closures, on the grid starting at `base_ms`, as the
/// model and the book each take it (`None`: remove the configuration).
fn preset(preset: usize, base_ms: i64) -> Option<(ModelHours, Option<WeeklyHours>, Vec<Closure>)> {
    let slot = |n: i64| base_ms + n * SLOT_MS;
    let every_day =
        |intervals: &[(u16, u16)]| -> Week { std::array::from_fn(|_| intervals.to_vec()) };
    let (days, closed): (Option<Week>, Vec<(i64, i64)>) = match preset {
        0 => return None,
        // Around the hour a change skips or repeats in Berlin, with a gap.
        1 => (Some(every_day(&[(60, 180), (210, 360)])), vec![]),
        // Touching intervals: nothing may cross 02:30.
        2 => (Some(every_day(&[(0, 150), (150, 1_440)])), vec![]),
        // Open around the clock but for two closures.
        3 => (None, vec![(slot(4), slot(6)), (slot(10), slot(11))]),
        // Closed until after the hour of Berlin's change, so that a search jumps across it.
        4 => (Some(every_day(&[(180, 300)])), vec![]),
        // Weekdays only, whole days, and a closure.
        _ => {
            let mut days = every_day(&[(0, 1_440)]);
            days[5].clear();
            days[6].clear();
            (Some(days), vec![(slot(8), slot(9))])
        }
    };
    let weekly = days
        .as_ref()
        .map(|days| WeeklyHours::from_minutes(days.as_slice()).expect("a valid preset"));
    let closures = closed
        .iter()
        .enumerate()
        .map(|(i, (s, e))| Closure::new(*s, *e, &format!("closed[{i}]")).unwrap())
        .collect();
    Some((ModelHours { days, closed }, weekly, closures))
}

fn error_type<T>(result: Result<T, BookError>) -> Result<T, ErrorType> {
    result.map_err(|e| e.error_type())
}

/// A record with its reservations in creation order: an export writes them in the order it
/// copied them, which changes between chunks make differ from the store's order.
fn by_seq(mut record: CompanySnapshotV4) -> CompanySnapshotV4 {
    record.base.reservations.sort_unstable_by_key(|r| r.seq);
    record
}

/// The record a finished chunked export encoded, decoded again.
fn exported(export: CompanyExport) -> CompanySnapshotV4 {
    let bytes = export.encode().bytes;
    by_seq(decode_company(&bytes, SNAPSHOT_FORMAT_VERSION).expect("an export decodes"))
}

/// Runs `ops` against both sides, on resources of the given starting `capacities` and the grid
/// starting on `BASES_MS[base]`, asserting equal answers and invariants after every step.
fn run(
    base: usize,
    capacities: [u32; 3],
    ops: Vec<Op>,
    live_max: usize,
) -> Result<(), TestCaseError> {
    let base_ms = BASES_MS[base];
    let slot = |n: i64| base_ms + n * SLOT_MS;
    let settings = Settings {
        live_reservations_max: live_max,
        // Long retention: the model keeps everything, so the book must too.
        retention_seconds: 365 * 24 * 3_600,
        ..Settings::default()
    };
    let mut book = Book::new("c", settings);
    let mut model = Model::new(live_max);
    for (resource, capacity) in RESOURCES.iter().zip(capacities) {
        book.set_resource_capacity(resource, capacity)
            .expect("a valid capacity");
        model.set_capacity(resource, capacity).expect("valid");
    }
    let mut now_ms = base_ms - 3_600 * 1_000;
    let mut tokens: Vec<Uuid> = Vec::new();
    let mut next_token = 1u128;
    // The export under way, and the record the book gave in one step when it began.
    let mut export: Option<(CompanyExport, CompanySnapshotV4)> = None;
    let pick = |tokens: &Vec<Uuid>, index: usize| -> Uuid {
        if tokens.is_empty() || index >= tokens.len() + 2 {
            Uuid::from_u128(u128::MAX - index as u128)
        } else {
            tokens[index % tokens.len()]
        }
    };
    for op in ops {
        match op {
            Op::Advance(delta_ms) => now_ms += delta_ms,
            Op::Hold {
                segments,
                ttl_seconds,
                call,
                replace,
                key,
            } => {
                let parts: Vec<(String, i64, i64)> = segments
                    .iter()
                    .map(|(r, s, len)| (RESOURCES[*r].to_string(), slot(*s), slot(s + len)))
                    .collect();
                let built = Segments::new(
                    parts
                        .iter()
                        .map(|(r, s, e)| SegmentRequest::new(r.as_str(), *s, *e).unwrap())
                        .collect(),
                );
                // Both sides agree on which requests cannot be built at all.
                prop_assert_eq!(
                    built.as_ref().err().map(BookError::error_type),
                    Model::overlaps_itself(&parts).then_some(ErrorType::InvalidRequest)
                );
                let token = Uuid::from_u128(next_token);
                next_token += 1;
                if let Ok(segments) = built {
                    let mut options = HoldOptions::default().replacing_call_holds(replace);
                    if let Some(ttl_seconds) = ttl_seconds {
                        options = options.with_ttl_seconds(ttl_seconds).unwrap();
                    }
                    if let Some(c) = call {
                        options = options.with_call_id(CALLS[c]).unwrap();
                    }
                    if let Some(k) = key {
                        options = options.with_idempotency_key(format!("key-{k}")).unwrap();
                    }
                    // Resolved as the company actor does, before the fingerprint: by the book's
                    // own setting, which must be the one the model was given.
                    let request =
                        HoldRequest::with_options(HoldTarget::Segments(segments), options)
                            .with_default_ttl(book.company_settings().default_ttl_seconds());
                    let ignore_call = request
                        .replace_call_holds()
                        .then(|| request.call_id())
                        .flatten();
                    let expected_conflicts = model.conflicts(&parts, now_ms, ignore_call);
                    let expected = model.hold(&request, token, now_ms);
                    let idempotency = idempotency_of(&request);
                    let answer = book.hold(request, idempotency, token, now_ms);
                    if let Err(error) = &answer {
                        if expected == Err(ErrorType::Conflict) {
                            // Both list every live reservation in the way, up to the bound.
                            let listed = conflicts_of(error);
                            if expected_conflicts.len() <= 32 {
                                prop_assert_eq!(&listed, &expected_conflicts);
                            } else {
                                prop_assert_eq!(listed.len(), 32);
                            }
                        }
                    }
                    let actual =
                        error_type(answer).map(|o| (answer_of_view(&o.reservation), o.replayed));
                    prop_assert_eq!(&actual, &expected);
                    if matches!(actual, Ok((_, false))) {
                        tokens.push(token);
                    }
                }
            }
            Op::Find {
                resources,
                earliest,
                window,
                duration,
                step,
                call,
                replace,
            } => {
                let find = FindRequest::new(
                    resources
                        .iter()
                        .map(|r| RESOURCES[*r].to_string())
                        .collect(),
                    slot(earliest),
                    slot(earliest + window.max(duration)),
                    duration * SLOT_MS,
                    step * SLOT_MS,
                )
                .expect("every search drawn is valid");
                let mut options = HoldOptions::default()
                    .with_ttl_seconds(300)
                    .unwrap()
                    .replacing_call_holds(replace);
                if let Some(c) = call {
                    options = options.with_call_id(CALLS[c]).unwrap();
                }
                let request = HoldRequest::with_options(HoldTarget::Find(find), options);
                let token = Uuid::from_u128(next_token);
                next_token += 1;
                let expected = model.hold(&request, token, now_ms);
                let actual = error_type(book.hold(request, None, token, now_ms))
                    .map(|o| (answer_of_view(&o.reservation), o.replayed));
                prop_assert_eq!(&actual, &expected);
                if actual.is_ok() {
                    tokens.push(token);
                }
            }
            Op::Confirm(index, appointment) => {
                let token = pick(&tokens, index);
                let appointment = appointment.map(|a| format!("A-{a}"));
                let expected = model.confirm(token, appointment.clone(), now_ms);
                let actual = error_type(book.confirm(token, appointment, now_ms));
                prop_assert_eq!(actual.map(|v| answer_of_view(&v)), expected);
            }
            Op::Extend(index, ttl_seconds) => {
                let token = pick(&tokens, index);
                let expected = model.extend(token, ttl_seconds, now_ms);
                let actual = error_type(book.extend(token, ttl_seconds, now_ms));
                prop_assert_eq!(actual.map(|v| answer_of_view(&v)), expected);
            }
            Op::Cancel(index, reason) => {
                let token = pick(&tokens, index);
                let reason = reason.map(|r| format!("reason_{r}"));
                let expected = model.cancel(token, reason.clone(), now_ms);
                let actual = error_type(book.cancel(token, reason, now_ms));
                prop_assert_eq!(actual.map(|v| answer_of_view(&v)), expected);
            }
            Op::Get(index) => {
                let token = pick(&tokens, index);
                let expected = model
                    .find(token)
                    .map(|r| r.clone())
                    .map(|r| model.answer(&r, now_ms));
                let actual = error_type(book.get(token, now_ms));
                prop_assert_eq!(actual.map(|v| answer_of_view(&v)), expected);
            }
            Op::List {
                call,
                status,
                resource,
                window,
                limit,
            } => {
                let mut filter = ListFilter::default();
                if let Some(c) = call {
                    filter = filter.with_call_id(CALLS[c]).unwrap();
                }
                if let Some(s) = status {
                    let statuses = [
                        Status::Active,
                        Status::Converted,
                        Status::Expired,
                        Status::Cancelled,
                    ];
                    filter = filter.with_status(statuses[s]);
                }
                if let Some(r) = resource {
                    filter = filter.with_resource(RESOURCES[r]).unwrap();
                }
                if let Some((from, len)) = window {
                    filter = filter
                        .with_from_ms(slot(from))
                        .and_then(|f| f.with_to_ms(slot(from + len)))
                        .unwrap();
                }
                let filter = filter
                    .with_limit(limit)
                    .expect("every filter drawn is valid");
                let expected = model.list(&filter, now_ms);
                let page = book.list(&filter, now_ms).expect("valid filter");
                let mut walked: Vec<Answer> =
                    page.reservations.iter().map(answer_of_view).collect();
                prop_assert_eq!(&walked, &expected);
                // The pages after it, each by the cursor of the one before, continue the same
                // list: together they are the model's whole list, each reservation once, and
                // only the last page has no cursor.
                let whole = filter.clone().with_limit(1_000).expect("a valid limit");
                let whole = model.list(&whole, now_ms);
                prop_assert_eq!(page.next_cursor.is_some(), whole.len() > limit);
                let mut cursor = page.next_cursor;
                while let Some(next) = cursor {
                    prop_assert!(walked.len() < whole.len(), "a page after the whole list");
                    let next = filter
                        .clone()
                        .with_cursor("c", &next.to_string())
                        .expect("the book's own cursor");
                    let page = book.list(&next, now_ms).expect("valid filter");
                    prop_assert!(!page.reservations.is_empty(), "an empty page in a model");
                    walked.extend(page.reservations.iter().map(answer_of_view));
                    cursor = page.next_cursor;
                }
                prop_assert_eq!(walked, whole);
            }
            Op::Availability {
                resources,
                from,
                window,
                duration,
                step,
                call,
            } => {
                let request = AvailabilityRequest::new(
                    resources
                        .iter()
                        .map(|r| RESOURCES[*r].to_string())
                        .collect(),
                    slot(from),
                    slot(from + window),
                    duration * SLOT_MS,
                    step * SLOT_MS,
                );
                let request = match call {
                    Some(c) => request.and_then(|q| q.with_call_id(CALLS[c])),
                    None => request,
                }
                .expect("every query drawn is valid");
                let expected = model.availability(&request, now_ms);
                let actual: Vec<(String, Vec<i64>)> = book
                    .availability(&request, now_ms)
                    .expect("valid request")
                    .into_iter()
                    .map(|r| (r.resource.to_string(), r.slots_ms))
                    .collect();
                prop_assert_eq!(actual, expected);
            }
            Op::Housekeeping => {
                book.housekeeping(now_ms);
            }
            Op::SetCapacity(resource, capacity) => {
                let resource = RESOURCES[resource];
                let expected = model.set_capacity(resource, capacity);
                let actual = error_type(book.set_resource_capacity(resource, capacity));
                prop_assert_eq!(actual, expected);
                prop_assert_eq!(book.resource_capacity(resource), model.capacity(resource));
            }
            Op::Configure(resource, chosen) => {
                let resource = RESOURCES[resource];
                match preset(chosen, base_ms) {
                    Some((model_hours, weekly, closures)) => {
                        let capacity = i64::from(book.resource_capacity(resource));
                        let config = ResourceConfig::new(None, capacity, weekly, closures)
                            .expect("a valid configuration");
                        book.put_resource(resource, config).expect("configured");
                        model.configure(resource, Some(model_hours));
                    }
                    None => {
                        book.delete_resource(resource);
                        model.configure(resource, None);
                    }
                }
                prop_assert_eq!(book.resource_capacity(resource), model.capacity(resource));
            }
            Op::SetSettings(zone, ttl) => {
                let settings =
                    CompanySettings::new(ZONES[zone], "en", 30, DEFAULT_TTLS_SECONDS[ttl])
                        .expect("valid settings");
                book.set_company_settings(settings);
                model.zone = ZONES[zone].parse().expect("a zone");
                model.default_ttl_seconds = DEFAULT_TTLS_SECONDS[ttl];
            }
            Op::ExportBegin => {
                let expected = by_seq(export_company(&book, book.log_position()));
                export = Some((CompanyExport::begin(&mut book), expected));
            }
            Op::ExportChunk(slots) => {
                if let Some((mut under_way, expected)) = export.take() {
                    if under_way.copy_chunk(&mut book, slots) {
                        prop_assert_eq!(exported(under_way), expected);
                    } else {
                        export = Some((under_way, expected));
                    }
                }
            }
        }
        if let Err(broken) = book.check_invariants(now_ms) {
            return Err(TestCaseError::fail(broken));
        }
    }
    if let Some((mut under_way, expected)) = export {
        while !under_way.copy_chunk(&mut book, 1) {}
        prop_assert_eq!(exported(under_way), expected);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Goal: the book answers every operation exactly as the naive model does, capacity,
    /// hours, closures and settings changes included, and never holds more overlapping live intervals at one instant on a resource
    /// than its capacity allows.
    #[test]
    fn book_matches_naive_model(
        base in 0..BASES_MS.len(),
        capacities in prop::array::uniform3(1..=4u32),
        ops in prop::collection::vec(op_strategy(), 1..80),
    ) {
        run(base, capacities, ops, usize::MAX)?;
    }

    /// Goal: the same with a tiny live limit, so `limit_reached` and the sweep at the limit are
    /// exercised (one sweep per second of clock time: advances are mostly longer than that).
    #[test]
    fn book_matches_naive_model_at_the_live_limit(
        base in 0..BASES_MS.len(),
        capacities in prop::array::uniform3(1..=4u32),
        ops in prop::collection::vec(op_strategy(), 1..60),
    ) {
        run(base, capacities, ops, 3)?;
    }
}
