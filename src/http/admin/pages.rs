//! The admin page's HTML, rendered on the server with maud: the layout, the sign-in form, the
//! companies table and a company's day (one lane per resource, drawn in SVG so that the
//! Content-Security-Policy needs no inline style). Live parts are fragments that htmx fetches
//! again every second or two; the countdowns run in `admin.js`.

use crate::core::metrics::MetricsReport;
use crate::core::reservation::{ReservationView, Status};
use crate::core::schedule::ResourceConfig;
use crate::http::voice::speech;
use chrono::Datelike;
use chrono_tz::Tz;
use maud::{html, Markup, DOCTYPE};

/// The page around every view.
pub fn layout(title: &str, signed_in: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // htmx would otherwise add an inline style, which the policy refuses.
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false}"#;
                title { (title) " · holdfast" }
                link rel="stylesheet" href="/admin/assets/admin.css";
                script src="/admin/assets/htmx.min.js" {}
                script src="/admin/assets/htmx-ext-sse.js" {}
                script src="/admin/assets/admin.js" {}
            }
            body {
                header {
                    strong { "holdfast" }
                    a href="/admin/companies" { "Companies" }
                    @if signed_in {
                        form method="post" action="/admin/logout" {
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The sign-in form, with an error when a key was refused.
pub fn login(error: Option<&str>) -> Markup {
    layout(
        "Sign in",
        false,
        html! {
            form.login method="post" action="/admin/login" {
                h1 { "Sign in" }
                @if let Some(error) = error {
                    p.error { (error) }
                }
                label for="key" { "Key (the admin key, or a company's key)" }
                input #key type="password" name="key" autocomplete="off" required;
                button #sign-in type="submit" { "Sign in" }
            }
        },
    )
}

/// One company's row.
pub struct CompanyRow {
    pub company: String,
    pub report: MetricsReport,
    pub events_last_minute: u64,
}

/// The companies page: the table, fetched again every 2 seconds.
pub fn companies(table: Markup) -> Markup {
    layout(
        "Companies",
        true,
        html! {
            h1 { "Companies" }
            div #companies hx-get="/admin/companies/table" hx-trigger="every 2s" hx-swap="innerHTML" {
                (table)
            }
        },
    )
}

/// The companies table.
pub fn companies_table(rows: &[CompanyRow]) -> Markup {
    html! {
        table {
            thead {
                tr {
                    th { "company" } th { "live" } th { "created" } th { "converted" }
                    th { "expired" } th { "cancelled" } th { "criteria" } th { "events/min" }
                }
            }
            tbody {
                @for row in rows {
                    tr data-company=(row.company) {
                        td { a href={ "/admin/companies/" (row.company) } { (row.company) } }
                        td.live { (row.report.live) }
                        td.created { (row.report.created) }
                        td { (row.report.converted) }
                        td { (row.report.expired) }
                        td { (row.report.cancelled) }
                        td {
                            @for criterion in &row.report.criteria {
                                span class=(if criterion.met { "met" } else { "unmet" })
                                    title={ (criterion.name) " " (criterion.comparison) " " (criterion.target) ": " (format!("{:.3}", criterion.value)) } {
                                    (if criterion.met { "✓" } else { "✗" })
                                }
                                " "
                            }
                        }
                        td { (row.events_last_minute) }
                    }
                }
            }
        }
    }
}

/// What a day view draws.
pub struct Day {
    pub company: String,
    pub zone: Tz,
    pub date: chrono::NaiveDate,
    pub day_start_ms: i64,
    pub day_end_ms: i64,
    pub now_ms: i64,
    /// Every resource drawn, with its configuration when it has one.
    pub resources: Vec<(String, Option<ResourceConfig>)>,
    /// The live reservations of the day.
    pub reservations: Vec<ReservationView>,
    /// The viewer may cancel and extend.
    pub may_act: bool,
}

/// A company's day page: the date picker, the day (fetched again every second) and the live
/// events (pushed as they happen; pausable).
pub fn day_page(day: &Day, fragment: Markup, events: Markup) -> Markup {
    let date = day.date.format("%Y-%m-%d").to_string();
    layout(
        &day.company,
        true,
        html! {
            h1 { (day.company) " · " (speech::spoken_day(crate::core::schedule::Locale::En, day.zone, day.day_start_ms)) " (" (day.zone.name()) ")" }
            form method="get" action={ "/admin/companies/" (day.company) } {
                input type="date" name="date" value=(date);
                button type="submit" { "Show" }
            }
            div #day hx-get={ "/admin/companies/" (day.company) "/day?date=" (date) } hx-trigger="every 1s" hx-swap="innerHTML" {
                (fragment)
            }
            section.activity hx-get={ "/admin/companies/" (day.company) "/activity" } hx-trigger="load, every 10s" hx-swap="innerHTML" {}
            section.events {
                h2 { "Live events " label { input #pause-events type="checkbox"; " pause" } }
                ul #events hx-ext="sse" sse-connect={ "/admin/companies/" (day.company) "/events" } sse-swap="change" hx-swap="afterbegin" {
                    (events)
                }
            }
        },
    )
}

/// Minutes from the day's start to `ms`, within the drawn day.
fn minute_of(day: &Day, ms: i64) -> i64 {
    ((ms.clamp(day.day_start_ms, day.day_end_ms) - day.day_start_ms) / 60_000).min(1_440)
}

/// The day: one lane per resource, then the reservations with their actions.
pub fn day_fragment(day: &Day) -> Markup {
    let weekday = day.date.weekday().num_days_from_monday() as usize;
    let date = day.date.format("%Y-%m-%d").to_string();
    html! {
        span hidden data-server-now-ms=(day.now_ms) {}
        @for (resource, config) in &day.resources {
            div.lane data-resource=(resource) {
                h2 {
                    (resource)
                    @if let Some(config) = config {
                        @if let Some(label) = config.label() { " · " (label) }
                        @if config.capacity() > 1 { " · capacity " (config.capacity()) }
                    }
                }
                svg viewBox="0 0 1440 46" preserveAspectRatio="none" {
                    (lane_background(day, config.as_ref(), weekday))
                    @let (blocks, rows) = blocks_of(day, resource);
                    @for block in blocks {
                        @let height = 28 / rows;
                        rect class=(block.class) data-token=(block.token) x=(block.x) y=(4 + block.row * height) width=(block.width) height=(height) {
                            title { (block.class) " " (speech::offset_time(day.zone, block.start_ms)) }
                        }
                    }
                    @for hour in (0..24).step_by(2) {
                        text.hour x=(hour * 60 + 2) y="44" { (format!("{hour:02}")) }
                    }
                }
            }
        }
        @if day.reservations.is_empty() {
            p { "Nothing held or booked this day." }
        } @else {
            table #reservations {
                thead { tr { th { "resource" } th { "start" } th { "end" } th { "status" } th { "expires in" } th { "call" } th {} } }
                tbody {
                    @for reservation in &day.reservations {
                        @let first = &reservation.segments[0];
                        tr data-token=(reservation.token) data-status=(reservation.status.as_str()) {
                            td { (first.resource) }
                            td { (local_clock(day.zone, first.start_ms)) }
                            td { (local_clock(day.zone, first.end_ms)) }
                            td { (reservation.status.as_str()) }
                            td {
                                @if reservation.status == Status::Active {
                                    span.countdown data-expires-at-ms=(reservation.expires_at_ms) { "…" }
                                }
                            }
                            td { (reservation.call_id.as_deref().unwrap_or("")) }
                            td {
                                @if day.may_act {
                                    (actions(day, reservation, &date))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A reservation's segment as a lane draws it.
struct Block {
    class: &'static str,
    token: uuid::Uuid,
    start_ms: i64,
    x: i64,
    width: i64,
    /// Overlapping reservations (capacity above 1) go side by side in rows.
    row: i64,
}

/// The blocks of `resource`'s lane, each in the first row free at its start, and the number of
/// rows.
fn blocks_of(day: &Day, resource: &str) -> (Vec<Block>, i64) {
    let mut blocks: Vec<Block> = day
        .reservations
        .iter()
        .flat_map(|reservation| {
            reservation
                .segments
                .iter()
                .filter(|s| &*s.resource == resource)
                .map(move |segment| {
                    let x = minute_of(day, segment.start_ms);
                    Block {
                        class: if reservation.status == Status::Converted {
                            "booking"
                        } else {
                            "hold"
                        },
                        token: reservation.token,
                        start_ms: segment.start_ms,
                        x,
                        width: (minute_of(day, segment.end_ms) - x).max(1),
                        row: 0,
                    }
                })
        })
        .collect();
    blocks.sort_by_key(|b| b.x);
    let mut row_ends: Vec<i64> = Vec::new();
    for block in &mut blocks {
        let row = match row_ends.iter().position(|end| *end <= block.x) {
            Some(row) => row,
            None => {
                row_ends.push(0);
                row_ends.len() - 1
            }
        };
        row_ends[row] = block.x + block.width;
        block.row = row as i64;
    }
    (blocks, (row_ends.len() as i64).max(1))
}

fn actions(day: &Day, reservation: &ReservationView, date: &str) -> Markup {
    let base = format!(
        "/admin/companies/{}/holds/{}",
        day.company, reservation.token
    );
    html! {
        form.inline method="post" action={ (base) "/cancel" } {
            input type="hidden" name="date" value=(date);
            select name="reason" {
                option value="admin_cancelled" { "admin cancelled" }
                option value="customer_request" { "customer request" }
                option value="no_show" { "no show" }
            }
            button.cancel type="submit" { "Cancel" }
        }
        @if reservation.status == Status::Active {
            " "
            form.inline method="post" action={ (base) "/extend" } {
                input type="hidden" name="date" value=(date);
                input type="hidden" name="ttl_seconds" value="300";
                button.extend type="submit" { "+5 min" }
            }
        }
    }
}

/// Shading for the lane: closed all day, open in the weekday's hours (all day without hours),
/// closed again over closures.
fn lane_background(day: &Day, config: Option<&ResourceConfig>, weekday: usize) -> Markup {
    let open: Vec<(i64, i64)> = match config.and_then(ResourceConfig::hours) {
        Some(hours) => hours
            .day(weekday)
            .iter()
            .map(|interval| {
                let (open, close) = interval.minutes();
                (i64::from(open), i64::from(close))
            })
            .collect(),
        None => vec![(0, 1_440)],
    };
    let closures: Vec<(i64, i64)> = config
        .map(|c| {
            c.closed()
                .iter()
                .filter(|c| c.end_ms() > day.day_start_ms && c.start_ms() < day.day_end_ms)
                .map(|c| (minute_of(day, c.start_ms()), minute_of(day, c.end_ms())))
                .collect()
        })
        .unwrap_or_default();
    html! {
        rect.closed x="0" y="0" width="1440" height="36" {}
        @for (from, to) in open {
            rect.open x=(from) y="0" width=(to - from) height="36" {}
        }
        @for (from, to) in closures {
            rect.closed x=(from) y="0" width=((to - from).max(1)) height="36" {}
        }
    }
}

fn local_clock(zone: Tz, ms: i64) -> String {
    speech::local(zone, ms).format("%H:%M").to_string()
}

/// A page that says what is wrong, in the layout.
pub fn message(title: &str, text: &str) -> Markup {
    layout(title, true, html! { h1 { (title) } p { (text) } })
}

/// The last hour's charts: holds created and converted, expiries, hold latency, a bar a minute.
pub fn activity(minutes: &[crate::actors::company::MinuteActivity]) -> Markup {
    let created: u64 = minutes.iter().map(|m| u64::from(m.created)).sum();
    let converted: u64 = minutes.iter().map(|m| u64::from(m.converted)).sum();
    let expired: u64 = minutes.iter().map(|m| u64::from(m.expired)).sum();
    let latency_max = minutes
        .iter()
        .map(|m| m.latency_max_micros)
        .max()
        .unwrap_or(0);
    let conversion = if created > 0 {
        format!("{:.0} %", converted as f64 * 100.0 / created as f64)
    } else {
        "n/a".into()
    };
    html! {
        div.chart {
            h3 { "Holds and bookings, last hour: " (created) " created, " (converted) " converted (" (conversion) ")" }
            (bars(minutes.iter().map(|m| u64::from(m.created)).collect(), minutes.iter().map(|m| u64::from(m.converted)).collect(), "created", "converted"))
        }
        div.chart {
            h3 { "Expired, last hour: " (expired) }
            (bars(minutes.iter().map(|m| u64::from(m.expired)).collect(), Vec::new(), "expired", ""))
        }
        div.chart {
            h3 { "Hold latency, last hour: largest " (format!("{:.2}", latency_max as f64 / 1_000.0)) " ms" }
            (bars(minutes.iter().map(|m| m.latency_max_micros).collect(), minutes.iter().map(|m| m.latency_avg_micros).collect(), "latency-max", "latency-avg"))
        }
    }
}

/// A bar per value, scaled to the largest; `inner` (when given) drawn over `outer`.
fn bars(outer: Vec<u64>, inner: Vec<u64>, outer_class: &str, inner_class: &str) -> Markup {
    let largest = outer
        .iter()
        .chain(&inner)
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let height = |value: u64| (value * 50).div_ceil(largest);
    html! {
        svg viewBox="0 0 300 52" preserveAspectRatio="none" {
            rect.chart-base x="0" y="51" width="300" height="1" {}
            @for (index, value) in outer.iter().enumerate() {
                @let h = height(*value);
                rect class=(outer_class) x=(index * 5) y=(51 - h) width="4" height=(h) {}
            }
            @for (index, value) in inner.iter().enumerate() {
                @let h = height(*value);
                rect class=(inner_class) x=(index * 5) y=(51 - h) width="4" height=(h) {}
            }
        }
    }
}
