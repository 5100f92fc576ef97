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
//!
//! One file per noun: this one holds the arguments, the errors and the run (its frames and the
//! watch loop); `fetch` holds the answers' shapes and the HTTP client that gets them; `table`
//! turns an answer into the text an operator reads.

mod fetch;
mod table;

pub use fetch::{CompanyMetrics, Criterion, Fetched, Frame, Latency, Summary};
pub use table::{companies_table, company_table, criterion_words, heading};

use crate::core::command::validate_id;
use crate::limits;
use clap::Args;
use fetch::Client;
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

fn json_text(frame: &Frame) -> String {
    let value = match frame {
        Frame::Company(fetched) => fetched.raw.clone(),
        Frame::Companies { companies, .. } => serde_json::json!({
            "companies": companies.iter().map(|f| f.raw.clone()).collect::<Vec<_>>()
        }),
    };
    format!("{value}\n")
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
}
