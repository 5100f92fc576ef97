//! `holdfast metrics`: the operator's view of a running server's company metrics, from a
//! terminal. It is a client of the HTTP API like any other (`GET
//! /v1/companies/{company}/metrics`, and `GET /v1/admin/companies` to list companies), so it
//! shows exactly what the API answers and needs no access to the data directory.
//!
//! - `--company C`: a table of C's counts, rates, durations and latency, then the seed system's
//!   criteria, each marked `met` or `NOT MET`;
//! - without `--company`: one line per company (the admin key is needed when keys are set);
//! - `--json`: the API's JSON as received, one document per line;
//! - `--watch`: refreshes every `--interval` until Ctrl-C, in place on a terminal (the screen is
//!   cleared between frames); piped, frames follow each other, so the output stays a log.
//!
//! A server that cannot be reached is a one-line error and exit code 2 (scripts can tell "down"
//! from "refused": any other failure, such as a 401 or a malformed answer, exits 1). Once a watch
//! has shown a frame, an unreachable server is shown in place of the next frame and the watch
//! goes on: a restart of the server should not end the operator's watch.

use crate::core::command::validate_id;
use crate::limits;
use clap::Args;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::time::Duration;

/// `holdfast metrics ...`.
#[derive(Clone, Debug, Args)]
pub struct MetricsArgs {
    /// The company to show; without it, one line per company.
    #[arg(long, env = "HOLDFAST_COMPANY")]
    pub company: Option<String>,

    /// Refresh every `--interval` until Ctrl-C.
    #[arg(long, env = "HOLDFAST_WATCH")]
    pub watch: bool,

    /// Time between refreshes with `--watch` (`500ms`, `5s`, `2m`; a bare number is seconds).
    #[arg(long, env = "HOLDFAST_INTERVAL", default_value = "5s", value_parser = parse_interval)]
    pub interval: Duration,

    /// Print the API's JSON instead of a table.
    #[arg(long, env = "HOLDFAST_JSON")]
    pub json: bool,

    /// The server's base URL.
    #[arg(long, env = "HOLDFAST_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,

    /// Bearer key: the company's key, or the admin key (needed without `--company`).
    #[arg(long, env = "HOLDFAST_KEY", hide_env_values = true)]
    pub key: Option<String>,
}

/// Parses `--interval`: a humantime duration, or a bare number of seconds (`--interval 5`),
/// within `limits::CLI_WATCH_INTERVAL_MS_MIN..=CLI_WATCH_INTERVAL_MS_MAX`.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = match text.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => crate::config::parse_duration(text)?,
    };
    let millis = interval.as_millis();
    let range = limits::CLI_WATCH_INTERVAL_MS_MIN..=limits::CLI_WATCH_INTERVAL_MS_MAX;
    if !range.contains(&(millis.min(u128::from(u64::MAX)) as u64)) {
        return Err(format!(
            "must be between {} ms and {} ms",
            range.start(),
            range.end()
        ));
    }
    Ok(interval)
}

/// Why `holdfast metrics` failed; [`CliError::exit_code`] is what the process exits with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// No connection, or no answer in time.
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server answered with an error (a problem+json body's `detail`, when it has one).
    #[error("{url} answered {status}: {detail}")]
    Refused {
        url: String,
        status: u16,
        detail: String,
    },
    /// The server answered 200 with something that is not the expected JSON.
    #[error("{url} answered something unexpected: {detail}")]
    BadAnswer { url: String, detail: String },
    /// The command line names something the API would refuse.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// 2 for an unreachable server, 1 for every other failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Unreachable { .. } => 2,
            _ => 1,
        }
    }
}

/// The fields of the company metrics object the table shows (the API's names).
#[derive(Clone, Debug, Deserialize)]
pub struct CompanyMetrics {
    pub company: String,
    pub created: u64,
    #[serde(default)]
    pub created_single: u64,
    #[serde(default)]
    pub created_compound: u64,
    pub converted: u64,
    pub expired: u64,
    pub cancelled: u64,
    pub errors: u64,
    pub active: u64,
    #[serde(default)]
    pub live: u64,
    #[serde(default)]
    pub requests: u64,
    #[serde(default)]
    pub confirm_attempts: u64,
    #[serde(default)]
    pub confirm_successes: u64,
    pub conversion_rate: f64,
    pub completion_rate: f64,
    pub active_rate: f64,
    pub error_rate: f64,
    pub booking_success_rate: f64,
    pub time_to_conversion_seconds: Summary,
    pub expired_lifetime_seconds: Summary,
    pub cancelled_by_reason: BTreeMap<String, u64>,
    pub errors_by_type: BTreeMap<String, u64>,
    pub hold_latency_micros: Latency,
    pub criteria: Vec<Criterion>,
}

/// `{avg, p50, p95, p99}` in seconds.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Summary {
    pub avg: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

/// `{p50, p99, p999}` in microseconds.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Latency {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
}

/// One of the seed system's targets.
#[derive(Clone, Debug, Deserialize)]
pub struct Criterion {
    pub name: String,
    pub value: f64,
    pub target: f64,
    pub comparison: String,
    pub met: bool,
}

/// One company's answer: the JSON as received (for `--json`) and its parsed form.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub raw: Value,
    pub metrics: CompanyMetrics,
}

/// One frame: one company, or every company (and how many more the listing held).
#[derive(Clone, Debug)]
pub enum Frame {
    Company(Box<Fetched>),
    Companies {
        companies: Vec<Fetched>,
        not_shown: usize,
    },
}

/// Runs the command to its end: one frame, or frames until Ctrl-C with `--watch`.
pub fn run(args: &MetricsArgs) -> Result<(), CliError> {
    if let Some(company) = &args.company {
        validate_id("company", company)
            .map_err(|error| CliError::Usage(format!("--company: {error}")))?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::Usage(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: &MetricsArgs) -> Result<(), CliError> {
    let client = Client::new(args)?;
    let frame = client.frame(args.company.as_deref()).await?;
    let terminal = std::io::stdout().is_terminal();
    show(&frame_text(&frame, args, terminal));
    if !args.watch {
        return Ok(());
    }
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            () = tokio::time::sleep(args.interval) => {}
        }
        let text = match client.frame(args.company.as_deref()).await {
            Ok(frame) => frame_text(&frame, args, terminal),
            Err(error) => watch_error_text(&error, args, terminal),
        };
        show(&text);
    }
}

/// Writes a frame and flushes (a frame on a terminal does not end with a newline).
fn show(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (the reader went away) is not worth a panic; the next frame fails the same.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Clears the screen and homes the cursor: a watch on a terminal redraws in place.
const CLEAR_SCREEN: &str = "\x1b[H\x1b[2J";

fn frame_text(frame: &Frame, args: &MetricsArgs, terminal: bool) -> String {
    let body = if args.json {
        json_text(frame)
    } else {
        let mut text = heading(args);
        text.push_str(&match frame {
            Frame::Company(fetched) => company_table(&fetched.metrics),
            Frame::Companies {
                companies,
                not_shown,
            } => companies_table(companies, *not_shown),
        });
        text
    };
    frame_wrap(body, args, terminal)
}

fn watch_error_text(error: &CliError, args: &MetricsArgs, terminal: bool) -> String {
    let interval = humantime::format_duration(args.interval);
    let line = format!("{error} (trying again every {interval}; Ctrl-C ends)\n");
    let body = if args.json {
        line
    } else {
        format!("{}{line}", heading(args))
    };
    frame_wrap(body, args, terminal)
}

/// On a terminal a watch redraws in place; anywhere else frames follow each other, separated by
/// a blank line (tables) or one per line (JSON).
fn frame_wrap(body: String, args: &MetricsArgs, terminal: bool) -> String {
    match (args.watch && terminal, args.json) {
        (true, _) => format!("{CLEAR_SCREEN}{body}"),
        (false, true) => body,
        (false, false) if args.watch => format!("{body}\n"),
        (false, false) => body,
    }
}

/// The first line of every table frame: what is shown, from where, and when.
pub fn heading(args: &MetricsArgs) -> String {
    let what = args
        .company
        .as_ref()
        .map_or_else(|| "every company".to_string(), |c| format!("company {c}"));
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC");
    format!("holdfast metrics: {what} at {} ({now})\n\n", args.url)
}

fn json_text(frame: &Frame) -> String {
    let value = match frame {
        Frame::Company(fetched) => fetched.raw.clone(),
        Frame::Companies { companies, .. } => serde_json::json!({
            "companies": companies.iter().map(|f| f.raw.clone()).collect::<Vec<_>>()
        }),
    };
    format!("{value}\n")
}

fn percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

fn seconds(value: f64) -> String {
    format!("{value:.1} s")
}

/// A criterion's value and target in its own unit: rates as percentages, times in seconds.
fn criterion_value(name: &str, value: f64) -> String {
    if name.ends_with("_seconds") {
        seconds(value)
    } else {
        percent(value)
    }
}

/// A criterion's name as the table shows it: `conversion_rate` -> `conversion rate`,
/// `avg_time_to_conversion_seconds` -> `avg time to conversion` (the value column says `s`).
pub fn criterion_words(name: &str) -> String {
    name.trim_end_matches("_seconds").replace('_', " ")
}

/// `conflict 2, not_found 1`: the non-zero entries of a count map, or `-`.
fn nonzero(counts: &BTreeMap<String, u64>) -> String {
    let listed: Vec<String> = counts
        .iter()
        .filter(|(_, count)| **count > 0)
        .map(|(name, count)| format!("{name} {count}"))
        .collect();
    if listed.is_empty() {
        "-".to_string()
    } else {
        listed.join(", ")
    }
}

/// The table of one company.
pub fn company_table(m: &CompanyMetrics) -> String {
    let mut out = String::new();
    let rows: [(&str, String, String); 9] = [
        (
            "created",
            m.created.to_string(),
            format!(
                "single {}, compound {}",
                m.created_single, m.created_compound
            ),
        ),
        (
            "converted",
            m.converted.to_string(),
            format!("conversion {}", percent(m.conversion_rate)),
        ),
        (
            "expired",
            m.expired.to_string(),
            format!("completion {}", percent(m.completion_rate)),
        ),
        (
            "cancelled",
            m.cancelled.to_string(),
            nonzero(&m.cancelled_by_reason),
        ),
        (
            "active",
            m.active.to_string(),
            format!("live {}, active rate {}", m.live, percent(m.active_rate)),
        ),
        (
            "requests",
            m.requests.to_string(),
            format!("error rate {}", percent(m.error_rate)),
        ),
        ("errors", m.errors.to_string(), nonzero(&m.errors_by_type)),
        (
            "confirms",
            m.confirm_attempts.to_string(),
            format!(
                "successes {}, booking success {}",
                m.confirm_successes,
                percent(m.booking_success_rate)
            ),
        ),
        (
            "hold latency",
            format!("{} us", m.hold_latency_micros.p50),
            format!(
                "p50; p99 {} us, p999 {} us (inside the engine)",
                m.hold_latency_micros.p99, m.hold_latency_micros.p999
            ),
        ),
    ];
    for (name, value, detail) in rows {
        let _ = writeln!(out, "  {name:<22} {value:>10}   {detail}");
    }
    for (name, summary) in [
        ("time to conversion", m.time_to_conversion_seconds),
        ("expired lifetime", m.expired_lifetime_seconds),
    ] {
        let _ = writeln!(
            out,
            "  {name:<22} {:>10}   avg; p50 {}, p95 {}, p99 {}",
            seconds(summary.avg),
            seconds(summary.p50),
            seconds(summary.p95),
            seconds(summary.p99)
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {:<32} {:>10}   {:<10}  met",
        "criterion", "value", "target"
    );
    for criterion in &m.criteria {
        let target = format!(
            "{} {}",
            criterion.comparison,
            criterion_value(&criterion.name, criterion.target)
        );
        let _ = writeln!(
            out,
            "  {:<32} {:>10}   {:<10}  {}",
            criterion_words(&criterion.name),
            criterion_value(&criterion.name, criterion.value),
            target,
            if criterion.met { "met" } else { "NOT MET" }
        );
    }
    out
}

/// One line per company.
pub fn companies_table(companies: &[Fetched], not_shown: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10}  criteria met",
        "company",
        "created",
        "converted",
        "expired",
        "cancelled",
        "active",
        "errors",
        "conversion",
        "error rate"
    );
    for fetched in companies {
        let m = &fetched.metrics;
        let met = m.criteria.iter().filter(|c| c.met).count();
        let _ = writeln!(
            out,
            "{:<24} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10}  {met}/{}",
            m.company,
            m.created,
            m.converted,
            m.expired,
            m.cancelled,
            m.active,
            m.errors,
            percent(m.conversion_rate),
            percent(m.error_rate),
            m.criteria.len()
        );
    }
    if companies.is_empty() {
        let _ = writeln!(out, "(no company has been started)");
    }
    if not_shown > 0 {
        let _ = writeln!(
            out,
            "({not_shown} more companies not shown: use --company C, or --json)"
        );
    }
    out
}

// ----- the HTTP client --------------------------------------------------------------------------

/// The server's base URL, the key, and a client with a timeout.
struct Client {
    base: String,
    key: Option<String>,
    http: reqwest::Client,
}

impl Client {
    fn new(args: &MetricsArgs) -> Result<Client, CliError> {
        let base = args.url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::Usage(format!(
                "--url {base}: must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(limits::CLI_REQUEST_TIMEOUT_SECONDS))
            .build()
            .map_err(|error| CliError::Usage(format!("cannot build the HTTP client: {error}")))?;
        Ok(Client {
            base,
            key: args.key.clone(),
            http,
        })
    }

    async fn frame(&self, company: Option<&str>) -> Result<Frame, CliError> {
        match company {
            Some(company) => Ok(Frame::Company(Box::new(self.company(company).await?))),
            None => self.every_company().await,
        }
    }

    async fn company(&self, company: &str) -> Result<Fetched, CliError> {
        let url = format!("{}/v1/companies/{company}/metrics", self.base);
        let raw = self.get(&url).await?;
        let metrics = serde_json::from_value(raw.clone()).map_err(|error| CliError::BadAnswer {
            url: url.clone(),
            detail: error.to_string(),
        })?;
        Ok(Fetched { raw, metrics })
    }

    async fn every_company(&self) -> Result<Frame, CliError> {
        let url = format!("{}/v1/admin/companies", self.base);
        let listing = self.get(&url).await?;
        let names: Vec<String> = listing["companies"]
            .as_array()
            .ok_or_else(|| CliError::BadAnswer {
                url: url.clone(),
                detail: "no `companies` array".into(),
            })?
            .iter()
            .filter_map(|entry| entry["company"].as_str().map(str::to_owned))
            .collect();
        let not_shown = names.len().saturating_sub(limits::CLI_COMPANIES_LISTED_MAX);
        let mut companies = Vec::new();
        for name in names.iter().take(limits::CLI_COMPANIES_LISTED_MAX) {
            companies.push(self.company(name).await?);
        }
        Ok(Frame::Companies {
            companies,
            not_shown,
        })
    }

    async fn get(&self, url: &str) -> Result<Value, CliError> {
        let mut request = self.http.get(url);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|error| CliError::Unreachable {
                url: self.base.clone(),
                reason: innermost(&error),
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|error| CliError::Unreachable {
                url: self.base.clone(),
                reason: innermost(&error),
            })?;
        if !status.is_success() {
            let detail = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|problem| problem["detail"].as_str().map(str::to_owned))
                .unwrap_or_else(|| text.chars().take(200).collect());
            return Err(CliError::Refused {
                url: url.to_string(),
                status: status.as_u16(),
                detail,
            });
        }
        serde_json::from_str(&text).map_err(|error| CliError::BadAnswer {
            url: url.to_string(),
            detail: error.to_string(),
        })
    }
}

/// The most specific message of an error chain ("Connection refused (os error 111)"), on one
/// line: reqwest's own message only says that sending failed.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string().replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: `--interval` takes humantime and bare seconds, within its bounds.
    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_interval("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_interval("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_interval("10ms").is_err());
        assert!(parse_interval("0").is_err());
        assert!(parse_interval("2days").is_err());
        assert!(parse_interval("soon").is_err());
    }

    fn sample(met: [bool; 4]) -> CompanyMetrics {
        let names = [
            "conversion_rate",
            "error_rate",
            "avg_time_to_conversion_seconds",
            "booking_success_rate",
        ];
        let value = serde_json::json!({
            "company": "acme", "created": 10, "created_single": 9, "created_compound": 1,
            "converted": 8, "expired": 1, "cancelled": 1, "errors": 2, "active": 0, "live": 8,
            "requests": 40, "confirm_attempts": 9, "confirm_successes": 8,
            "conversion_rate": 0.8, "completion_rate": 1.0, "active_rate": 0.0,
            "error_rate": 0.05, "booking_success_rate": 0.8888,
            "time_to_conversion_seconds": {"avg": 30.0, "p50": 29.0, "p95": 40.0, "p99": 41.0},
            "expired_lifetime_seconds": {"avg": 300.0, "p50": 300.0, "p95": 300.0, "p99": 300.0},
            "cancelled_by_reason": {"customer_hung_up": 1},
            "errors_by_type": {"conflict": 2, "not_found": 0},
            "hold_latency_micros": {"p50": 3, "p99": 12, "p999": 40},
            "criteria": names.iter().zip(met).map(|(name, met)| serde_json::json!({
                "name": name, "value": 0.5, "target": 0.9, "comparison": ">", "met": met
            })).collect::<Vec<_>>()
        });
        serde_json::from_value(value).unwrap()
    }

    /// Goal: the company table shows each count and marks each criterion met or not.
    #[test]
    fn company_table_marks_criteria() {
        let table = company_table(&sample([true, false, true, false]));
        assert!(table.contains("single 9, compound 1"), "{table}");
        assert!(table.contains("customer_hung_up 1"), "{table}");
        assert!(table.contains("conflict 2"), "{table}");
        assert!(
            !table.contains("not_found"),
            "zero counts are left out: {table}"
        );
        let marks: Vec<&str> = table
            .lines()
            .filter(|line| line.contains("rate") || line.contains("avg time to conversion"))
            .filter_map(|line| line.rsplit("  ").next())
            .filter(|mark| *mark == "met" || *mark == "NOT MET")
            .collect();
        assert_eq!(marks, ["met", "NOT MET", "met", "NOT MET"], "{table}");
    }

    /// Goal: the per-company line counts the criteria met.
    #[test]
    fn companies_table_counts_criteria() {
        let fetched = Fetched {
            raw: Value::Null,
            metrics: sample([true, true, false, true]),
        };
        let table = companies_table(&[fetched], 3);
        let line = table.lines().nth(1).unwrap();
        assert!(line.starts_with("acme"), "{table}");
        assert!(line.ends_with("3/4"), "{table}");
        assert!(table.contains("3 more companies"), "{table}");
    }
}
