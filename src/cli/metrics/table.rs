//! The text of `holdfast metrics` tables: the heading of every frame, the table of one company
//! (counts, rates, durations, latency, then each criterion marked `met` or `NOT MET`) and the
//! one-line-per-company listing.

use super::fetch::{CompanyMetrics, Fetched};
use super::MetricsArgs;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The first line of every table frame: what is shown, from where, and when.
pub fn heading(args: &MetricsArgs) -> String {
    let what = args
        .company
        .as_ref()
        .map_or_else(|| "every company".to_string(), |c| format!("company {c}"));
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC");
    format!("holdfast metrics: {what} at {} ({now})\n\n", args.url)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

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
