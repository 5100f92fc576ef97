//! Weekly opening hours: intervals of a day in minutes after local midnight, per weekday, read
//! from `HH:MM` text and written back to it.

use super::{invalid, DAY_MINUTES, WEEKDAYS};
use crate::core::error::BookError;
use crate::limits;

/// One opening interval of a day, in minutes after local midnight: `[open, close)`, `close` at
/// most 24:00.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpeningInterval {
    pub(super) open_minute: u16,
    pub(super) close_minute: u16,
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
