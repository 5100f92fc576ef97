//! The wall clock of a zone: instants as local milliseconds, whether an interval lies in one
//! opening interval across a daylight-saving change, and where the next opening begins.

use super::hours::WeeklyHours;
use super::{DAY_MS, LONGEST_DAY_MS, MINUTE_MS};
use chrono::{DateTime, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// A lower bound on the next instant after `start_ms` at which an opening interval of `hours`
/// begins on the wall clock of `zone` (`start_ms + 1` when `start_ms` lies in one already).
pub(super) fn next_opening(hours: &WeeklyHours, zone: Tz, start_ms: i64) -> i64 {
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
pub(super) fn wall(zone: Tz, ms: i64) -> Option<NaiveDateTime> {
    let utc = DateTime::from_timestamp_millis(ms)?;
    Some(zone.from_utc_datetime(&utc.naive_utc()).naive_local())
}

/// Whether every wall-clock time `[start_ms, end_ms)` covers lies in one opening interval of the
/// weekday it starts on. The interval is cut where the zone's offset changes (at most once: a
/// reservation that fits one day is shorter than the time between two changes), and the wall
/// times of both pieces must fit. Wall times are plain milliseconds (instant + offset), so a day
/// and its weekday are integer divisions: the hold path pays two offset lookups and arithmetic.
pub(super) fn within_hours(hours: &WeeklyHours, zone: Tz, start_ms: i64, end_ms: i64) -> bool {
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
