//! What `holdfast-bench` prints: one object (`--json`) or the same as tables. Every number has
//! its unit in its name; the race window and the seed system's criteria carry their definitions,
//! so that a report read alone says what it measured.

use crate::audit::AuditReport;
use crate::stats::{Latency, Operation, OperationTotals, Recorder};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

/// What the race window is, printed with every report.
pub const RACE_WINDOW_DEFINITION: &str = "the time in which a caller may believe a slot is \
    its own while another caller can still take it. Atomic flow (one hold request that checks \
    and takes the slot inside the company's actor): the hold's latency, from the moment it was \
    due to its answer. Two-step flow (read availability, then hold the slot it offered): from \
    the availability answer to the hold's answer; `lost_share` is the share of offered slots \
    that another caller took in that time.";

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub scenario: String,
    /// The server measured: a URL, or `in-process`.
    pub target: String,
    /// The in-process server's durability mode (`null` against `--url`).
    pub durability: Option<String>,
    pub callers: usize,
    pub client_threads: usize,
    /// `closed` (as fast as answers come) or `open` (at `rate_per_second`).
    pub load_loop: String,
    pub rate_per_second: Option<u64>,
    pub duration_seconds: f64,
    /// Time the load ran, all phases together (the audit excluded).
    pub elapsed_seconds: f64,
    pub seed: u64,
    /// `/proc/loadavg` (1, 5, 15 minutes) before and after the run: the machine is shared.
    pub load_average_before: Option<[f64; 3]>,
    pub load_average_after: Option<[f64; 3]>,
    /// Event streams open on each company during the load (`--subscribers`).
    pub subscribers: usize,
    /// Events those streams were handed in all.
    pub events_received: u64,
    /// Event streams open on each company that never read (`--stalled-subscribers`).
    pub stalled_subscribers: usize,
    /// What the webhook receiver saw (`--webhook`).
    pub webhook: Option<crate::webhook::WebhookReport>,
    /// Admin pages open during the load (`--admin-pages`), and the fetches they made.
    pub admin_pages: usize,
    pub admin_page_requests: u64,
    pub operations: BTreeMap<String, OperationReport>,
    /// Every request sent, all operations together, and how many got an answer.
    pub requests: u64,
    pub answered: u64,
    pub requests_per_second: f64,
    pub flows: FlowReport,
    /// Open loop only: how late flows started after their scheduled time, because every caller
    /// was still busy or the tool itself was not given a core. Part of the first request's
    /// latency (which counts from the scheduled time); large values mean the load, not the
    /// server alone, set the latency.
    pub start_lateness_micros: Option<Latency>,
    pub race_window: RaceWindowReport,
    pub criteria: Criteria,
    pub audit: AuditReport,
}

/// One operation.
#[derive(Clone, Debug, Serialize)]
pub struct OperationReport {
    #[serde(flatten)]
    pub totals: OperationTotals,
    pub answered: u64,
    pub errors: u64,
    /// Answers per second of load time.
    pub requests_per_second: f64,
}

/// What the flows did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FlowReport {
    pub started: u64,
    pub held: u64,
    pub offered: u64,
    pub offered_lost: u64,
    pub nothing_free: u64,
    pub chose_confirm: u64,
    pub chose_cancel: u64,
    pub walked_away: u64,
}

/// The race window of the run's flows.
#[derive(Clone, Debug, Serialize)]
pub struct RaceWindowReport {
    pub definition: &'static str,
    /// The atomic flow's window (the hold's latency), when the run had one.
    pub atomic: Option<AtomicWindow>,
    pub two_step: Option<TwoStepWindow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AtomicWindow {
    /// The operation whose latency this is.
    pub operation: &'static str,
    pub window_micros: Latency,
}

#[derive(Clone, Debug, Serialize)]
pub struct TwoStepWindow {
    pub window_micros: Latency,
    pub offered: u64,
    pub lost: u64,
    pub lost_share: f64,
}

/// One of the seed system's success criteria, measured over the run.
#[derive(Clone, Debug, Serialize)]
pub struct Criterion {
    /// `null` when the run had nothing to measure it on (no confirm in the scenario).
    pub value: Option<f64>,
    pub target: &'static str,
    pub met: Option<bool>,
    pub definition: &'static str,
}

/// The seed system's criteria (conversion > 90 %, error rate < 5 %, average time to conversion
/// < 60 s, booking success > 95 %), as measured by the callers over the run.
#[derive(Clone, Debug, Serialize)]
pub struct Criteria {
    pub conversion_rate: Criterion,
    pub error_rate: Criterion,
    pub time_to_conversion_seconds_avg: Criterion,
    pub booking_success_rate: Criterion,
}

/// The run's settings, for the report's head.
pub struct RunFacts {
    pub scenario: String,
    pub target: String,
    pub durability: Option<String>,
    pub callers: usize,
    pub client_threads: usize,
    pub rate_per_second: Option<u64>,
    pub duration_seconds: f64,
    pub elapsed_seconds: f64,
    pub seed: u64,
    pub load_average_before: Option<[f64; 3]>,
    pub load_average_after: Option<[f64; 3]>,
    pub subscribers: usize,
    pub stalled_subscribers: usize,
    pub events_received: u64,
    pub webhook: Option<crate::webhook::WebhookReport>,
    pub admin_pages: usize,
    pub admin_page_requests: u64,
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn criterion(
    value: Option<f64>,
    target: &'static str,
    met: impl Fn(f64) -> bool,
    definition: &'static str,
) -> Criterion {
    Criterion {
        value,
        target,
        met: value.map(met),
        definition,
    }
}

impl BenchReport {
    /// Assembles the report from what the run recorded.
    pub fn new(facts: RunFacts, recorder: &Recorder, audit: AuditReport) -> BenchReport {
        let elapsed = facts.elapsed_seconds.max(f64::MIN_POSITIVE);
        let mut operations = BTreeMap::new();
        let (mut requests, mut answered, mut errors) = (0, 0, 0);
        for operation in Operation::ALL {
            let totals = recorder.totals(operation);
            if totals.requests == 0 {
                continue;
            }
            requests += totals.requests;
            answered += totals.answered();
            errors += totals.errors();
            operations.insert(
                operation.name().to_owned(),
                OperationReport {
                    totals,
                    answered: totals.answered(),
                    errors: totals.errors(),
                    requests_per_second: totals.answered() as f64 / elapsed,
                },
            );
        }
        let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        let counters = &recorder.flows;
        let flows = FlowReport {
            started: load(&counters.started),
            held: load(&counters.held),
            offered: load(&counters.offered),
            offered_lost: load(&counters.offered_lost),
            nothing_free: load(&counters.nothing_free),
            chose_confirm: load(&counters.chose_confirm),
            chose_cancel: load(&counters.chose_cancel),
            walked_away: load(&counters.walked_away),
        };
        let race_window = race_window(&operations, recorder, &flows);
        let confirms = recorder.totals(Operation::Confirm);
        let conversion = Latency::of(&recorder.conversion_millis.lock());
        let criteria = Criteria {
            conversion_rate: criterion(
                (confirms.requests > 0).then(|| share(confirms.ok, flows.held).unwrap_or(0.0)),
                "> 0.90",
                |v| v > 0.90,
                "holds confirmed / holds created (n/a: the scenario confirms nothing)",
            ),
            error_rate: criterion(
                share(errors, requests),
                "< 0.05",
                |v| v < 0.05,
                "requests refused (4xx other than a lost race), failed (5xx) or unanswered / \
                 requests; a 409 conflict or no_slot is the expected end of a lost race, not \
                 an error",
            ),
            time_to_conversion_seconds_avg: criterion(
                (conversion.count > 0).then(|| conversion.mean / 1_000.0),
                "< 60",
                |v| v < 60.0,
                "mean time from the hold's answer to the confirm's answer (think time included)",
            ),
            booking_success_rate: criterion(
                share(confirms.ok, confirms.requests),
                "> 0.95",
                |v| v > 0.95,
                "confirms answered 200 / confirms sent",
            ),
        };
        BenchReport {
            scenario: facts.scenario,
            target: facts.target,
            durability: facts.durability,
            callers: facts.callers,
            client_threads: facts.client_threads,
            load_loop: if facts.rate_per_second.is_some() {
                "open"
            } else {
                "closed"
            }
            .to_owned(),
            rate_per_second: facts.rate_per_second,
            duration_seconds: facts.duration_seconds,
            elapsed_seconds: facts.elapsed_seconds,
            seed: facts.seed,
            load_average_before: facts.load_average_before,
            load_average_after: facts.load_average_after,
            subscribers: facts.subscribers,
            events_received: facts.events_received,
            stalled_subscribers: facts.stalled_subscribers,
            webhook: facts.webhook,
            admin_pages: facts.admin_pages,
            admin_page_requests: facts.admin_page_requests,
            operations,
            requests,
            answered,
            requests_per_second: answered as f64 / elapsed,
            flows,
            start_lateness_micros: facts
                .rate_per_second
                .map(|_| Latency::of(&recorder.start_lateness_micros.lock())),
            race_window,
            criteria,
            audit,
        }
    }

    /// The exit status the run deserves: the audit passed (no double booking, nothing unread).
    pub fn passed(&self) -> bool {
        self.audit.passed
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The report as tables.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        self.write_head(&mut out);
        self.write_operations(&mut out);
        self.write_race_window(&mut out);
        self.write_criteria(&mut out);
        self.write_audit(&mut out);
        out
    }

    fn write_head(&self, out: &mut String) {
        let load = |load: Option<[f64; 3]>| {
            load.map_or("n/a".to_owned(), |[a, b, c]| {
                format!("{a:.2} {b:.2} {c:.2}")
            })
        };
        let rate = match self.rate_per_second {
            Some(rate) => format!("open loop at {rate} flows/s"),
            None => "closed loop".to_owned(),
        };
        let _ = writeln!(
            out,
            "holdfast-bench {}: {} callers ({} threads), {rate}, {:.1} s of load \
             (asked {:.1} s), seed {}",
            self.scenario,
            self.callers,
            self.client_threads,
            self.elapsed_seconds,
            self.duration_seconds,
            self.seed
        );
        let durability = self
            .durability
            .as_deref()
            .map_or(String::new(), |d| format!(" (durability {d})"));
        let _ = writeln!(
            out,
            "server: {}{durability}; load average before {}, after {}",
            self.target,
            load(self.load_average_before),
            load(self.load_average_after)
        );
        if self.subscribers > 0 {
            let _ = writeln!(
                out,
                "event streams: {} per company, {} events handed to them",
                self.subscribers, self.events_received
            );
        }
        if self.stalled_subscribers > 0 {
            let _ = writeln!(
                out,
                "stalled event streams: {} per company, never read",
                self.stalled_subscribers
            );
        }
        if self.admin_pages > 0 {
            let _ = writeln!(
                out,
                "admin pages: {} open on the day view, {} fetches made",
                self.admin_pages, self.admin_page_requests
            );
        }
        if let Some(webhook) = &self.webhook {
            let lag = &webhook.lag_micros;
            let _ = writeln!(
                out,
                "webhook: {} deliveries ({:.0}/s); lag from change to delivery p50 {:.1} ms, \
                 p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms",
                webhook.deliveries,
                webhook.deliveries_per_second,
                lag.p50 as f64 / 1e3,
                lag.p99 as f64 / 1e3,
                lag.p999 as f64 / 1e3,
                lag.max as f64 / 1e3
            );
        }
        let f = &self.flows;
        let _ = writeln!(
            out,
            "flows: {} started, {} holds, {} offered ({} lost), {} found nothing free, \
             {} confirm / {} cancel / {} walk away",
            f.started,
            f.held,
            f.offered,
            f.offered_lost,
            f.nothing_free,
            f.chose_confirm,
            f.chose_cancel,
            f.walked_away
        );
        if let Some(late) = &self.start_lateness_micros {
            let _ = writeln!(
                out,
                "open loop: flows started late by p50 {} ms, p99 {} ms, p99.9 {} ms, max {} ms \
                 after their scheduled time (in the latencies below)",
                millis(late.p50),
                millis(late.p99),
                millis(late.p999),
                millis(late.max)
            );
        }
        out.push('\n');
    }

    fn write_operations(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "{:<21} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8}",
            "operation",
            "requests",
            "answered",
            "ok",
            "conflict",
            "errors",
            "req/s",
            "p50 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms"
        );
        for operation in Operation::ALL {
            let Some(report) = self.operations.get(operation.name()) else {
                continue;
            };
            let t = &report.totals;
            let _ = writeln!(
                out,
                "{:<21} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9.0} {:>8} {:>8} {:>8} {:>8}",
                operation.name(),
                t.requests,
                report.answered,
                t.ok,
                t.conflicts,
                report.errors,
                report.requests_per_second,
                millis(t.latency_micros.p50),
                millis(t.latency_micros.p99),
                millis(t.latency_micros.p999),
                millis(t.latency_micros.max)
            );
        }
        let _ = writeln!(
            out,
            "{:<21} {:>9} {:>9} {:>47.0}\n",
            "all", self.requests, self.answered, self.requests_per_second
        );
    }

    fn write_race_window(&self, out: &mut String) {
        let heading = format!("race window: {}", self.race_window.definition);
        let _ = writeln!(out, "{}", wrap(&heading, "  "));
        if let Some(atomic) = &self.race_window.atomic {
            let w = &atomic.window_micros;
            let _ = writeln!(
                out,
                "  atomic ({}):  p50 {} ms, p99 {} ms, p99.9 {} ms, max {} ms",
                atomic.operation,
                millis(w.p50),
                millis(w.p99),
                millis(w.p999),
                millis(w.max)
            );
        }
        if let Some(two_step) = &self.race_window.two_step {
            let w = &two_step.window_micros;
            let _ = writeln!(
                out,
                "  two-step (availability, then hold): p50 {} ms, p99 {} ms, p99.9 {} ms, max \
                 {} ms; offered slots lost to another caller: {} of {} ({:.1} %)",
                millis(w.p50),
                millis(w.p99),
                millis(w.p999),
                millis(w.max),
                two_step.lost,
                two_step.offered,
                two_step.lost_share * 100.0
            );
        }
        out.push('\n');
    }

    fn write_criteria(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "seed system criteria, measured by the callers over the run:"
        );
        let c = &self.criteria;
        for (name, criterion, percent) in [
            ("conversion rate", &c.conversion_rate, true),
            ("error rate", &c.error_rate, true),
            (
                "avg time to conversion (s)",
                &c.time_to_conversion_seconds_avg,
                false,
            ),
            ("booking success", &c.booking_success_rate, true),
        ] {
            let value = match criterion.value {
                Some(v) if percent => format!("{:.2} %", v * 100.0),
                Some(v) => format!("{v:.3}"),
                None => "n/a".to_owned(),
            };
            let met = match criterion.met {
                Some(true) => "met",
                Some(false) => "NOT met",
                None => "n/a",
            };
            let _ = writeln!(
                out,
                "  {name:<27} {value:>10}  target {:<7} {met}",
                criterion.target
            );
        }
        out.push('\n');
    }

    fn write_audit(&self, out: &mut String) {
        let a = &self.audit;
        let _ = writeln!(
            out,
            "double-booking audit: {} companies, {} active and {} converted reservations read \
             back in {} list requests ({:.2} s): {}",
            a.companies.len(),
            a.active,
            a.converted,
            a.list_requests,
            a.elapsed_seconds,
            if a.passed { "no overlap" } else { "FAILED" }
        );
        for overlap in &a.overlaps {
            let _ = writeln!(
                out,
                "  OVERLAP in {} on {}: {} ({}) and {} ({})",
                overlap.company,
                overlap.resource,
                overlap.first.token,
                overlap.first.status,
                overlap.second.token,
                overlap.second.status
            );
        }
        for problem in &a.problems {
            let _ = writeln!(out, "  incomplete: {problem}");
        }
    }
}

/// `text` folded into lines of at most [`TABLE_WIDTH_CHARS`], continued after `indent`.
fn wrap(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line_chars = 0;
    for word in text.split_whitespace() {
        if line_chars > 0 && line_chars + 1 + word.len() > TABLE_WIDTH_CHARS {
            out.push('\n');
            out.push_str(indent);
            line_chars = indent.len();
        } else if line_chars > 0 {
            out.push(' ');
            line_chars += 1;
        }
        out.push_str(word);
        line_chars += word.len();
    }
    out
}

/// Width the tables' prose is folded to, in characters (the operations table's width).
const TABLE_WIDTH_CHARS: usize = 100;

/// Microseconds as milliseconds with three decimals.
fn millis(micros: u64) -> String {
    format!("{:.3}", micros as f64 / 1_000.0)
}

fn race_window(
    operations: &BTreeMap<String, OperationReport>,
    recorder: &Recorder,
    flows: &FlowReport,
) -> RaceWindowReport {
    // The atomic flow is the first-available hold where the run used it, else the plain hold
    // of the throughput scenario (which also checks and takes in one step).
    let atomic = [Operation::HoldFirstAvailable, Operation::Hold]
        .into_iter()
        .filter(|op| *op == Operation::HoldFirstAvailable || flows.offered == 0)
        .find_map(|op| {
            operations.get(op.name()).map(|report| AtomicWindow {
                operation: op.name(),
                window_micros: report.totals.latency_micros,
            })
        });
    let two_step = (flows.offered > 0).then(|| TwoStepWindow {
        window_micros: Latency::of(&recorder.two_step_window_micros.lock()),
        offered: flows.offered,
        lost: flows.offered_lost,
        lost_share: share(flows.offered_lost, flows.offered).unwrap_or(0.0),
    });
    RaceWindowReport {
        definition: RACE_WINDOW_DEFINITION,
        atomic,
        two_step,
    }
}
