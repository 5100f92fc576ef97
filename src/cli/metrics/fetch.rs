//! What `holdfast metrics` fetches: the shapes of the API's metrics answers (only the fields the
//! tables show), one frame of them, and the HTTP client that gets them, turning each failure
//! into the [`CliError`] that decides the exit code.

use super::{CliError, MetricsArgs};
use crate::limits;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

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

/// The server's base URL, the key, and a client with a timeout.
pub(super) struct Client {
    base: String,
    key: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub(super) fn new(args: &MetricsArgs) -> Result<Client, CliError> {
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

    pub(super) async fn frame(&self, company: Option<&str>) -> Result<Frame, CliError> {
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
