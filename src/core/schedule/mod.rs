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

use crate::core::error::BookError;
use crate::limits;
use chrono::{DateTime, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

const MINUTE_MS: i64 = 60_000;
const DAY_MINUTES: u16 = 24 * 60;
const DAY_MS: i64 = DAY_MINUTES as i64 * MINUTE_MS;
/// The longest day on a wall clock (a day with a fall-back change): no reservation longer than
/// this can lie in one day's opening interval.
const LONGEST_DAY_MS: i64 = 25 * 60 * MINUTE_MS;

/// The weekdays as the API names them, Monday first (chrono's `num_days_from_monday` order).
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn invalid(field: impl Into<String>, detail: impl Into<String>) -> BookError {
    BookError::InvalidRequest {
        field: field.into(),
        detail: detail.into(),
    }
}

/// The language of spoken answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Locale {
    #[default]
    En,
    De,
}

impl Locale {
    /// Parses the API's name (`en`, `de`).
    pub fn parse(name: &str) -> Result<Locale, BookError> {
        match name {
            "en" => Ok(Locale::En),
            "de" => Ok(Locale::De),
            _ => Err(invalid("locale", "must be \"en\" or \"de\"")),
        }
    }

    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
        }
    }
}

/// A company's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompanySettings {
    time_zone: Tz,
    locale: Locale,
    default_duration_minutes: u32,
    default_ttl_seconds: i64,
}

impl Default for CompanySettings {
    fn default() -> CompanySettings {
        CompanySettings {
            time_zone: Tz::UTC,
            locale: Locale::En,
            default_duration_minutes: limits::DEFAULT_DURATION_MINUTES,
            default_ttl_seconds: limits::TTL_SECONDS_DEFAULT,
        }
    }
}

impl CompanySettings {
    /// Settings from their parts, each checked (the error names the field).
    pub fn new(
        time_zone: &str,
        locale: &str,
        default_duration_minutes: i64,
        default_ttl_seconds: i64,
    ) -> Result<CompanySettings, BookError> {
        let time_zone = parse_time_zone(time_zone)?;
        let locale = Locale::parse(locale)?;
        if !(1..=i64::from(limits::DEFAULT_DURATION_MINUTES_MAX))
            .contains(&default_duration_minutes)
        {
            return Err(invalid(
                "default_duration_minutes",
                format!("must be 1 to {}", limits::DEFAULT_DURATION_MINUTES_MAX),
            ));
        }
        if !(limits::TTL_SECONDS_MIN..=limits::TTL_SECONDS_MAX).contains(&default_ttl_seconds) {
            return Err(invalid(
                "default_ttl_seconds",
                format!(
                    "must be {} to {}",
                    limits::TTL_SECONDS_MIN,
                    limits::TTL_SECONDS_MAX
                ),
            ));
        }
        Ok(CompanySettings {
            time_zone,
            locale,
            default_duration_minutes: default_duration_minutes as u32,
            default_ttl_seconds,
        })
    }

    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    pub fn locale(&self) -> Locale {
        self.locale
    }

    pub fn default_duration_minutes(&self) -> u32 {
        self.default_duration_minutes
    }

    pub fn default_ttl_seconds(&self) -> i64 {
        self.default_ttl_seconds
    }
}

/// A change of some of a company's settings, each given part checked (the error names the
/// field); a part left out keeps its value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SettingsPatch {
    time_zone: Option<Tz>,
    locale: Option<Locale>,
    default_duration_minutes: Option<u32>,
    default_ttl_seconds: Option<i64>,
}

impl SettingsPatch {
    /// A patch from the parts a caller gave.
    pub fn new(
        time_zone: Option<&str>,
        locale: Option<&str>,
        default_duration_minutes: Option<i64>,
        default_ttl_seconds: Option<i64>,
    ) -> Result<SettingsPatch, BookError> {
        // Each given part is checked by the same rule as a whole value, against the defaults.
        let defaults = CompanySettings::default();
        let checked = CompanySettings::new(
            time_zone.unwrap_or("UTC"),
            locale.unwrap_or(defaults.locale.as_str()),
            default_duration_minutes.unwrap_or(i64::from(defaults.default_duration_minutes)),
            default_ttl_seconds.unwrap_or(defaults.default_ttl_seconds),
        )?;
        Ok(SettingsPatch {
            time_zone: time_zone.map(|_| checked.time_zone),
            locale: locale.map(|_| checked.locale),
            default_duration_minutes: default_duration_minutes
                .map(|_| checked.default_duration_minutes),
            default_ttl_seconds: default_ttl_seconds.map(|_| checked.default_ttl_seconds),
        })
    }
}

impl CompanySettings {
    /// These settings with `patch`'s given parts in place of theirs.
    pub fn patched(self, patch: SettingsPatch) -> CompanySettings {
        CompanySettings {
            time_zone: patch.time_zone.unwrap_or(self.time_zone),
            locale: patch.locale.unwrap_or(self.locale),
            default_duration_minutes: patch
                .default_duration_minutes
                .unwrap_or(self.default_duration_minutes),
            default_ttl_seconds: patch
                .default_ttl_seconds
                .unwrap_or(self.default_ttl_seconds),
        }
    }
}

/// Parses an IANA time zone name (`Europe/Berlin`, `UTC`).
pub fn parse_time_zone(name: &str) -> Result<Tz, BookError> {
    name.parse::<Tz>().map_err(|_| {
        invalid(
            "time_zone",
            format!("{name:?} is not an IANA time zone name"),
        )
    })
}

/// One opening interval of a day, in minutes after local midnight: `[open, close)`, `close` at
/// most 24:00.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpeningInterval {
    open_minute: u16,
    close_minute: u16,
}

impl OpeningInterval {
    /// Parses `["HH:MM", "HH:MM"]`; `field` names it in an error.
    pub fn parse(open: &str, close: &str, field: &str) -> Result<OpeningInterval, BookError> {
        let open_minute = parse_clock(open, false).ok_or_else(|| {
            invalid(
                field,
                format!("{open:?} is not a time HH:MM from 00:00 to 23:59"),
            )
        })?;
        let close_minute = parse_clock(close, true).ok_or_else(|| {
            invalid(
                field,
                format!("{close:?} is not a time HH:MM from 00:00 to 24:00"),
            )
        })?;
        if close_minute <= open_minute {
            return Err(invalid(
                field,
                format!("closes ({close}) before it opens ({open})"),
            ));
        }
        Ok(OpeningInterval {
            open_minute,
            close_minute,
        })
    }

    /// The interval as the API writes it.
    pub fn to_strings(self) -> (String, String) {
        (
            format_clock(self.open_minute),
            format_clock(self.close_minute),
        )
    }

    /// Minutes after local midnight it opens and closes at.
    pub fn minutes(self) -> (u16, u16) {
        (self.open_minute, self.close_minute)
    }
}

/// `HH:MM` as minutes after midnight; `24:00` only where `allow_end_of_day`.
fn parse_clock(text: &str, allow_end_of_day: bool) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    // Digits only: `str::parse` would also take a sign (`+9:00`).
    let digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(hours) || !digits(minutes) {
        return None;
    }
    let hours: u16 = hours.parse().ok()?;
    let minutes: u16 = minutes.parse().ok()?;
    let total = hours.checked_mul(60)?.checked_add(minutes)?;
    let valid = (hours < 24 && minutes < 60) || (allow_end_of_day && total == DAY_MINUTES);
    valid.then_some(total)
}

fn format_clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Opening intervals per weekday, Monday first; a weekday without intervals is closed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    days: [Vec<OpeningInterval>; 7],
}

impl WeeklyHours {
    /// Builds the week from `(weekday, intervals)` pairs; each day's intervals must be sorted and
    /// must not overlap (touching is allowed), and no weekday may come twice.
    pub fn new(
        days: impl IntoIterator<Item = (String, Vec<(String, String)>)>,
    ) -> Result<WeeklyHours, BookError> {
        let mut week = WeeklyHours::default();
        let mut seen = [false; 7];
        for (name, intervals) in days {
            let Some(index) = WEEKDAYS.iter().position(|d| *d == name) else {
                return Err(invalid(
                    format!("hours.{name}"),
                    "is not a weekday (mon, tue, wed, thu, fri, sat, sun)",
                ));
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(invalid(format!("hours.{name}"), "is given twice"));
            }
            if intervals.len() > limits::OPENING_INTERVALS_PER_DAY_MAX {
                return Err(invalid(
                    format!("hours.{name}"),
                    format!(
                        "has more than {} intervals",
                        limits::OPENING_INTERVALS_PER_DAY_MAX
                    ),
                ));
            }
            let mut day = Vec::with_capacity(intervals.len());
            for (position, (open, close)) in intervals.iter().enumerate() {
                let field = format!("hours.{name}[{position}]");
                let interval = OpeningInterval::parse(open, close, &field)?;
                if let Some(previous) = day.last() {
                    let previous: &OpeningInterval = previous;
                    if interval.open_minute < previous.close_minute {
                        return Err(invalid(
                            field,
                            "overlaps or comes before the interval before it (intervals are sorted and do not overlap)",
                        ));
                    }
                }
                day.push(interval);
            }
            week.days[index] = day;
        }
        Ok(week)
    }

    /// Builds the week from minutes after local midnight, Monday first (the on-disk form), with
    /// the same checks as [`WeeklyHours::new`]: a stored week is read as if it were typed in.
    pub fn from_minutes(days: &[Vec<(u16, u16)>]) -> Result<WeeklyHours, BookError> {
        if days.len() != WEEKDAYS.len() {
            return Err(invalid("hours", "does not have seven weekdays"));
        }
        let named = WEEKDAYS.iter().zip(days).map(|(name, intervals)| {
            let intervals = intervals
                .iter()
                .map(|&(open, close)| (format_clock(open), format_clock(close)))
                .collect();
            (name.to_string(), intervals)
        });
        WeeklyHours::new(named)
    }

    /// Every weekday's intervals in minutes after local midnight, Monday first (the on-disk
    /// form, read back by [`WeeklyHours::from_minutes`]).
    pub fn minutes_by_day(&self) -> Vec<Vec<(u16, u16)>> {
        self.days
            .iter()
            .map(|day| day.iter().map(|interval| interval.minutes()).collect())
            .collect()
    }

    /// The intervals of a weekday (0 is Monday).
    pub fn day(&self, weekday: usize) -> &[OpeningInterval] {
        &self.days[weekday]
    }

    /// Every weekday with its intervals, Monday first, closed days left out.
    pub fn open_days(&self) -> impl Iterator<Item = (&'static str, &[OpeningInterval])> {
        WEEKDAYS
            .iter()
            .zip(self.days.iter())
            .filter(|(_, intervals)| !intervals.is_empty())
            .map(|(name, intervals)| (*name, intervals.as_slice()))
    }
}

/// An absolute range when a resource is closed: `[start_ms, end_ms)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Closure {
    start_ms: i64,
    end_ms: i64,
}

impl Closure {
    /// A closure; `field` names it in an error.
    pub fn new(start_ms: i64, end_ms: i64, field: &str) -> Result<Closure, BookError> {
        if end_ms <= start_ms {
            return Err(invalid(format!("{field}.end"), "is not after its start"));
        }
        Ok(Closure { start_ms, end_ms })
    }

    pub fn start_ms(self) -> i64 {
        self.start_ms
    }

    pub fn end_ms(self) -> i64 {
        self.end_ms
    }
}

/// How one resource is configured. A resource never configured is open around the clock with
/// capacity 1 (`ResourceConfig::default()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceConfig {
    label: Option<String>,
    capacity: u32,
    /// `None`: open around the clock.
    hours: Option<WeeklyHours>,
    /// Sorted by start.
    closed: Vec<Closure>,
}

impl Default for ResourceConfig {
    fn default() -> ResourceConfig {
        ResourceConfig {
            label: None,
            capacity: 1,
            hours: None,
            closed: Vec::new(),
        }
    }
}

impl ResourceConfig {
    /// A configuration from its parts, each checked (the error names the field).
    pub fn new(
        label: Option<String>,
        capacity: i64,
        hours: Option<WeeklyHours>,
        closed: Vec<Closure>,
    ) -> Result<ResourceConfig, BookError> {
        if let Some(label) = &label {
            if label.chars().count() > limits::RESOURCE_LABEL_CHARS_MAX
                || label.chars().any(char::is_control)
            {
                return Err(invalid(
                    "label",
                    format!(
                        "must be at most {} characters, without control characters",
                        limits::RESOURCE_LABEL_CHARS_MAX
                    ),
                ));
            }
        }
        if !(1..=i64::from(limits::RESOURCE_CAPACITY_MAX)).contains(&capacity) {
            return Err(invalid(
                "capacity",
                format!("must be 1 to {}", limits::RESOURCE_CAPACITY_MAX),
            ));
        }
        if closed.len() > limits::CLOSURES_PER_RESOURCE_MAX {
            return Err(invalid(
                "closed",
                format!("has more than {} ranges", limits::CLOSURES_PER_RESOURCE_MAX),
            ));
        }
        let mut closed = closed;
        closed.sort_by_key(|c| (c.start_ms, c.end_ms));
        Ok(ResourceConfig {
            label,
            capacity: capacity as u32,
            hours,
            closed,
        })
    }

    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Replaces the capacity (the book's own, already checked, kept in step with its calendar).
    pub(crate) fn set_capacity(&mut self, capacity: u32) {
        self.capacity = capacity;
    }

    pub fn hours(&self) -> Option<&WeeklyHours> {
        self.hours.as_ref()
    }

    pub fn closed(&self) -> &[Closure] {
        &self.closed
    }

    /// Whether `[start_ms, end_ms)` may be held: inside one opening interval on the wall clock
    /// of `zone` (when hours are set) and outside every closure.
    pub fn admits(&self, zone: Tz, start_ms: i64, end_ms: i64) -> bool {
        if self
            .closed
            .iter()
            .take_while(|c| c.start_ms < end_ms)
            .any(|c| start_ms < c.end_ms)
        {
            return false;
        }
        match &self.hours {
            None => true,
            Some(hours) => within_hours(hours, zone, start_ms, end_ms),
        }
    }
}

impl ResourceConfig {
    /// For a search that found a start at `start_ms` refused: a start before the returned
    /// instant (always after `start_ms`) cannot be admitted either, so the search may jump
    /// there instead of trying every step of a closure or a closed night. A lower bound, never
    /// past the first start that may be admitted: inside a closure, its end; before an opening
    /// interval, its opening on the wall clock; inside one, the next step (a later start in the
    /// same interval fits no better, but a closure or a clock change may be why this one did
    /// not).
    pub fn closed_until(&self, zone: Tz, start_ms: i64) -> i64 {
        let mut bound = start_ms + 1;
        for closure in self.closed.iter().take_while(|c| c.start_ms <= start_ms) {
            if start_ms < closure.end_ms {
                bound = bound.max(closure.end_ms);
            }
        }
        if let Some(hours) = &self.hours {
            bound = bound.max(next_opening(hours, zone, start_ms));
        }
        bound
    }
}

/// A lower bound on the next instant after `start_ms` at which an opening interval of `hours`
/// begins on the wall clock of `zone` (`start_ms + 1` when `start_ms` lies in one already).
fn next_opening(hours: &WeeklyHours, zone: Tz, start_ms: i64) -> i64 {
    let Some(offset) = offset_ms(zone, start_ms) else {
        return start_ms + 1;
    };
    let wall = start_ms + offset;
    let day = wall.div_euclid(DAY_MS);
    let minute = (wall - day * DAY_MS) / MINUTE_MS;
    // Today from the current minute, then the next seven days: a week without an opening
    // interval gives a bound a week ahead, and the search goes on from there.
    for days_ahead in 0..=7i64 {
        let weekday = (day + days_ahead + 3).rem_euclid(7) as usize;
        for interval in hours.day(weekday) {
            let (open, close) = (
                i64::from(interval.open_minute),
                i64::from(interval.close_minute),
            );
            if days_ahead == 0 && open <= minute && minute < close {
                return start_ms + 1;
            }
            if days_ahead > 0 || open > minute {
                let opening_wall = (day + days_ahead) * DAY_MS + open * MINUTE_MS;
                // The wall clock reads the opening at `opening_wall - offset` if the offset
                // holds until then; if it changed, at `opening_wall - new offset`, which the
                // smaller of the two never passes.
                let at_offset_now = opening_wall - offset;
                let at_offset_then = offset_ms(zone, at_offset_now)
                    .map_or(at_offset_now, |then| opening_wall - then);
                return at_offset_now.min(at_offset_then).max(start_ms + 1);
            }
        }
    }
    start_ms + 8 * DAY_MS
}

/// The zone's offset from UTC at instant `ms`, in milliseconds (one search of the zone's
/// transitions).
fn offset_ms(zone: Tz, ms: i64) -> Option<i64> {
    let utc = DateTime::from_timestamp_millis(ms)?;
    let offset = zone.offset_from_utc_datetime(&utc.naive_utc());
    Some(i64::from(offset.fix().local_minus_utc()) * 1_000)
}

/// The wall-clock time of `ms` in `zone` (tests read it back as a date and time).
#[cfg(test)]
fn wall(zone: Tz, ms: i64) -> Option<NaiveDateTime> {
    let utc = DateTime::from_timestamp_millis(ms)?;
    Some(zone.from_utc_datetime(&utc.naive_utc()).naive_local())
}

/// Whether every wall-clock time `[start_ms, end_ms)` covers lies in one opening interval of the
/// weekday it starts on. The interval is cut where the zone's offset changes (at most once: a
/// reservation that fits one day is shorter than the time between two changes), and the wall
/// times of both pieces must fit. Wall times are plain milliseconds (instant + offset), so a day
/// and its weekday are integer divisions: the hold path pays two offset lookups and arithmetic.
fn within_hours(hours: &WeeklyHours, zone: Tz, start_ms: i64, end_ms: i64) -> bool {
    if end_ms <= start_ms || end_ms - start_ms > LONGEST_DAY_MS {
        return false;
    }
    let (Some(start_offset), Some(end_offset)) =
        (offset_ms(zone, start_ms), offset_ms(zone, end_ms - 1))
    else {
        return false;
    };
    let start_wall = start_ms + start_offset;
    let day = start_wall.div_euclid(DAY_MS);
    let midnight = day * DAY_MS;
    let (low, high) = if start_offset == end_offset {
        (start_wall - midnight, end_ms + start_offset - midnight)
    } else {
        // Find the first instant at the new offset: a binary search over milliseconds.
        let (mut before, mut after) = (start_ms, end_ms - 1);
        while after - before > 1 {
            let middle = before + (after - before) / 2;
            if offset_ms(zone, middle) == Some(start_offset) {
                before = middle;
            } else {
                after = middle;
            }
        }
        let first_end = after + start_offset - midnight;
        let second_start = after + end_offset - midnight;
        let second_end = end_ms + end_offset - midnight;
        (
            (start_wall - midnight).min(second_start),
            first_end.max(second_end),
        )
    };
    if low < 0 || high > DAY_MS {
        return false;
    }
    // 1970-01-01, day 0, was a Thursday: index 3 counted from Monday.
    let weekday = (day + 3).rem_euclid(7) as usize;
    hours.day(weekday).iter().any(|interval| {
        i64::from(interval.open_minute) * MINUTE_MS <= low
            && high <= i64::from(interval.close_minute) * MINUTE_MS
    })
}

/// A local date and time in `zone` as an instant: `None` when a daylight-saving change skips it;
/// the earlier instance when one repeats it.
pub fn local_to_utc_ms(zone: Tz, local: NaiveDateTime) -> Option<i64> {
    zone.from_local_datetime(&local)
        .earliest()
        .map(|time| time.timestamp_millis())
}

#[cfg(test)]
mod tests;
