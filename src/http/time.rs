//! Instants at the HTTP edge: strict RFC 3339 in, UTC out.
//!
//! The core computes in milliseconds since the Unix epoch; callers write RFC 3339. [`Instant`]
//! is the one type that crosses: it deserializes strictly (any offset accepted, at most
//! millisecond precision, no leap second) so that a bad time fails inside serde and the error
//! names its field, and it serializes as UTC with the fraction written only when it is not zero
//! (`2026-12-01T10:00:00Z`, `2026-12-01T10:00:00.250Z`): millisecond precision at most, the same
//! rule for every time the API answers. The range check (1970 to 9999) stays in the core's
//! `validate_time`, so both the edge and the `Book` refuse the same instants.
//!
//! One kind of answer is written on a company's wall clock instead: a resource's closures,
//! which an operator types in local dates ([`format_in_zone`]).

use chrono::{DateTime, Datelike, Offset, Timelike};
use chrono_tz::Tz;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// An instant, in milliseconds since the Unix epoch, written as RFC 3339 in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(pub i64);

/// Why a text is not an instant the API accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeParseError(pub &'static str);

impl fmt::Display for TimeParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Where the date ends and the time begins in an RFC 3339 date-time (`2026-12-01T`).
const DATE_TIME_SEPARATOR_AT: usize = 10;

/// Parses an RFC 3339 date-time with any offset into milliseconds since the Unix epoch.
pub fn parse_rfc3339_millis(text: &str) -> Result<i64, TimeParseError> {
    let not_rfc3339 =
        || TimeParseError("must be an RFC 3339 date-time such as 2026-12-01T10:00:00Z");
    // chrono also takes a space between date and time (RFC 3339 only mentions it in a note);
    // the grammar, and JSON Schema's `date-time` that `/openapi.json` states, take `T` or `t`.
    if !matches!(
        text.as_bytes().get(DATE_TIME_SEPARATOR_AT),
        Some(b'T' | b't')
    ) {
        return Err(not_rfc3339());
    }
    let parsed = DateTime::parse_from_rfc3339(text).map_err(|_| not_rfc3339())?;
    let nanos = parsed.timestamp_subsec_nanos();
    if nanos >= 1_000_000_000 {
        // chrono carries a leap second as an extra second of nanos; the core has no place for it.
        return Err(TimeParseError("must not be a leap second"));
    }
    if nanos % 1_000_000 != 0 {
        return Err(TimeParseError("must have at most millisecond precision"));
    }
    Ok(parsed.timestamp_millis())
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(time) = DateTime::from_timestamp_millis(self.0) else {
            return write!(f, "{}ms", self.0);
        };
        let year = time.year();
        if !(0..=9_999).contains(&year) {
            // Outside what the core accepts; written by chrono rather than the fast path below.
            return f.write_str(&time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        // Written digit by digit: this runs several times per answer on the hot path, and
        // `write!` with width specifiers costs several times more.
        let millis = self.0.rem_euclid(1_000) as u32;
        let mut text = [0u8; 24];
        put_digits(&mut text[0..4], year as u32);
        text[4] = b'-';
        put_digits(&mut text[5..7], time.month());
        text[7] = b'-';
        put_digits(&mut text[8..10], time.day());
        text[10] = b'T';
        put_digits(&mut text[11..13], time.hour());
        text[13] = b':';
        put_digits(&mut text[14..16], time.minute());
        text[16] = b':';
        put_digits(&mut text[17..19], time.second());
        let length = if millis == 0 {
            text[19] = b'Z';
            20
        } else {
            text[19] = b'.';
            put_digits(&mut text[20..23], millis);
            text[23] = b'Z';
            24
        };
        f.write_str(std::str::from_utf8(&text[..length]).map_err(|_| fmt::Error)?)
    }
}

/// Writes `ms` as RFC 3339 with the offset `zone` has at that instant
/// (`2026-12-24T00:00:00+01:00`), the fraction only when it is not zero. Where the offset is zero
/// it is the UTC form (`Z`). Where RFC 3339 cannot say the local time exactly it is the UTC form
/// too: an offset of seconds (some zones before 1972), which the format's `+HH:MM` would round
/// to another instant, and a local year past 9999.
pub fn format_in_zone(ms: i64, zone: Tz) -> String {
    let Some(utc) = DateTime::from_timestamp_millis(ms) else {
        return Instant(ms).to_string();
    };
    let local = utc.with_timezone(&zone);
    let offset_seconds = local.offset().fix().local_minus_utc();
    if offset_seconds == 0 || offset_seconds % 60 != 0 || !(0..=9_999).contains(&local.year()) {
        return Instant(ms).to_string();
    }
    let mut text = local.naive_local().format("%Y-%m-%dT%H:%M:%S").to_string();
    let millis = ms.rem_euclid(1_000);
    if millis != 0 {
        text.push_str(&format!(".{millis:03}"));
    }
    let sign = if offset_seconds < 0 { '-' } else { '+' };
    let offset_minutes = offset_seconds.unsigned_abs() / 60;
    text.push_str(&format!(
        "{sign}{:02}:{:02}",
        offset_minutes / 60,
        offset_minutes % 60
    ));
    text
}

/// Writes `value` as exactly `out.len()` decimal digits, zero-padded.
fn put_digits(out: &mut [u8], mut value: u32) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

impl Serialize for Instant {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Instant, D::Error> {
        struct InstantVisitor;

        impl Visitor<'_> for InstantVisitor {
            type Value = Instant;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 date-time string")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Instant, E> {
                parse_rfc3339_millis(text)
                    .map(Instant)
                    .map_err(|error| E::custom(error.0))
            }
        }

        deserializer.deserialize_str(InstantVisitor)
    }
}

/// The instant a local date and time of `zone` names: the earlier one when a clock change
/// repeats it, the first valid quarter hour after it when the change skips it.
pub fn local_instant(zone: Tz, local: chrono::NaiveDateTime) -> i64 {
    use chrono::TimeZone;
    let mut probe = local;
    for _ in 0..crate::limits::VOICE_LOCAL_TIME_PROBES_MAX {
        if let Some(at) = zone.from_local_datetime(&probe).earliest() {
            return at.timestamp_millis();
        }
        probe += chrono::Duration::minutes(15);
    }
    local.and_utc().timestamp_millis()
}

/// The local midnight that starts `date` in `zone`, and the next one, as instants.
pub fn local_day(zone: Tz, date: chrono::NaiveDate) -> (i64, i64) {
    let start = local_instant(zone, date.and_time(chrono::NaiveTime::MIN));
    let next = date.checked_add_days(chrono::Days::new(1)).unwrap_or(date);
    (
        start,
        local_instant(zone, next.and_time(chrono::NaiveTime::MIN)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: every offset lands on the same UTC instant, and output is `Z` with the fraction
    /// only when it is not zero.
    #[test]
    fn offsets_in_utc_out() {
        let utc = parse_rfc3339_millis("2026-12-01T10:00:00Z").unwrap();
        let berlin = parse_rfc3339_millis("2026-12-01T11:00:00+01:00").unwrap();
        let lower = parse_rfc3339_millis("2026-12-01t10:00:00z").unwrap();
        assert_eq!(utc, berlin);
        assert_eq!(utc, lower);
        assert_eq!(Instant(utc).to_string(), "2026-12-01T10:00:00Z");
        let fraction = parse_rfc3339_millis("2026-12-01T10:00:00.25-00:30").unwrap();
        assert_eq!(Instant(fraction).to_string(), "2026-12-01T10:30:00.250Z");
        assert_eq!(Instant(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Instant(crate::limits::TIME_MILLIS_MAX).to_string(),
            "9999-12-31T23:59:59.999Z"
        );
    }

    /// Goal: the strict parser refuses what a lenient one would guess at.
    #[test]
    fn refuses_sloppy_times() {
        for text in [
            "2026-12-01",
            "2026-12-01T10:00:00",
            "2026-12-01T10:00Z",
            "2026-13-01T10:00:00Z",
            "2026-02-30T10:00:00Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T10:00:00.0001Z",
            "2026-12-31T23:59:60Z",
            "1764583200",
            "",
            "2026-12-01T10:00:00+24:00",
            "2026-12-01 10:00:00Z",
        ] {
            assert!(parse_rfc3339_millis(text).is_err(), "accepted {text:?}");
        }
    }

    /// Goal: a time written on a zone's wall clock carries that instant's offset, reads back
    /// as the same instant, and falls back to UTC where the offset is zero or not whole minutes.
    #[test]
    fn written_on_a_wall_clock() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let winter = parse_rfc3339_millis("2026-12-23T23:00:00Z").unwrap();
        assert_eq!(format_in_zone(winter, berlin), "2026-12-24T00:00:00+01:00");
        let summer = parse_rfc3339_millis("2026-07-01T10:00:00.5Z").unwrap();
        assert_eq!(
            format_in_zone(summer, berlin),
            "2026-07-01T12:00:00.500+02:00"
        );
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        let negative: Tz = "America/St_Johns".parse().unwrap();
        for (ms, zone) in [(winter, kolkata), (summer, negative), (0, negative)] {
            let text = format_in_zone(ms, zone);
            assert_eq!(parse_rfc3339_millis(&text), Ok(ms), "{text}");
        }
        assert_eq!(format_in_zone(winter, Tz::UTC), "2026-12-23T23:00:00Z");
        // Monrovia ran 44 minutes 30 seconds behind UTC until 1972.
        let monrovia: Tz = "Africa/Monrovia".parse().unwrap();
        assert_eq!(format_in_zone(0, monrovia), "1970-01-01T00:00:00Z");
        let kiritimati: Tz = "Pacific/Kiritimati".parse().unwrap();
        assert_eq!(
            format_in_zone(crate::limits::TIME_MILLIS_MAX, kiritimati),
            "9999-12-31T23:59:59.999Z"
        );
    }

    /// Goal: the fast writer and chrono agree on every millisecond pattern tried.
    #[test]
    fn fast_writer_matches_chrono() {
        let mut ms = 0_i64;
        while ms < crate::limits::TIME_MILLIS_MAX {
            let chrono_text = DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let ours = Instant(ms).to_string();
            assert_eq!(ours.trim_end_matches('Z'), {
                let t = chrono_text.trim_end_matches('Z');
                t.strip_suffix(".000").unwrap_or(t)
            });
            ms = ms * 3 + 7_919;
        }
    }
}
