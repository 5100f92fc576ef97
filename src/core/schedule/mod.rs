//! A company's settings and its resources' configuration: the time zone its wall clock runs on,
//! its defaults, and per resource a label, a capacity, weekly opening hours on that wall clock
//! and closures. Plain data with its rules: every value is validated once, where it is built,
//! with an error naming the field; the book then asks [`ResourceConfig::admits`] whether an
//! interval may be held.
//!
//! Opening hours are judged on the wall clock of the company's zone, across daylight-saving
//! changes: the instants of a reservation are turned into local times, and every local time it
//! covers must lie in one opening interval of the weekday it starts on. A local time skipped by a
//! change (02:30 in Berlin on 2026-03-29) is never covered; one repeated by a change (02:30 on
//! 2026-10-25) is open when either instance is, because both read 02:30 on the wall.
//!
//! One file per noun: `settings` (the company's settings and a change of them), `hours` (weekly
//! opening intervals), `resource` (a resource's configuration, and whether an interval may be
//! held), `wall_clock` (instants on a zone's wall clock, across its changes).

use crate::core::error::BookError;

mod hours;
mod resource;
mod settings;
mod wall_clock;

#[cfg(test)]
use chrono_tz::Tz;
pub use hours::{OpeningInterval, WeeklyHours};
pub use resource::{Closure, ResourceConfig};
pub use settings::{parse_time_zone, CompanySettings, Locale, SettingsPatch};
pub use wall_clock::local_to_utc_ms;
#[cfg(test)]
use wall_clock::wall;

pub(super) const MINUTE_MS: i64 = 60_000;
pub(super) const DAY_MINUTES: u16 = 24 * 60;
pub(super) const DAY_MS: i64 = DAY_MINUTES as i64 * MINUTE_MS;
/// The longest day on a wall clock (a day with a fall-back change): no reservation longer than
/// this can lie in one day's opening interval.
pub(super) const LONGEST_DAY_MS: i64 = 25 * 60 * MINUTE_MS;

/// The weekdays as the API names them, Monday first (chrono's `num_days_from_monday` order).
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn invalid(field: impl Into<String>, detail: impl Into<String>) -> BookError {
    BookError::InvalidRequest {
        field: field.into(),
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests;
