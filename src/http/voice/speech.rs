//! What a voice agent says: an instant on the company's wall clock, in its language, written
//! the way a person says it (`Tuesday, December 1 at 10:30 AM`, `Dienstag, 1. Dezember, 10:30
//! Uhr`), and the same instant as RFC 3339 with the zone's offset. The sentences the agent can
//! read out, one per outcome, are here too, so every word of a voice answer has one place.
//! Weekday and month names come from chrono's locale tables.

use crate::core::schedule::Locale;
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

/// `at_ms` on the wall clock of `zone`.
pub fn local(zone: Tz, at_ms: i64) -> DateTime<Tz> {
    let utc = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap_or_default();
    zone.from_utc_datetime(&utc.naive_utc())
}

/// RFC 3339 with the zone's offset: `2026-12-01T10:30:00+01:00`.
pub fn offset_time(zone: Tz, at_ms: i64) -> String {
    local(zone, at_ms).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The instant as a person says it in `locale`.
pub fn spoken(locale: Locale, zone: Tz, at_ms: i64) -> String {
    let at = local(zone, at_ms);
    match locale {
        Locale::En => at
            .format_localized("%A, %B %-d at %-I:%M %p", chrono::Locale::en_US)
            .to_string(),
        Locale::De => at
            .format_localized("%A, %-d. %B, %H:%M Uhr", chrono::Locale::de_DE)
            .to_string(),
    }
}

/// The local date as a person says it (`Wednesday, December 2`, `Mittwoch, 2. Dezember`).
pub fn spoken_day(locale: Locale, zone: Tz, at_ms: i64) -> String {
    let at = local(zone, at_ms);
    match locale {
        Locale::En => at
            .format_localized("%A, %B %-d", chrono::Locale::en_US)
            .to_string(),
        Locale::De => at
            .format_localized("%A, %-d. %B", chrono::Locale::de_DE)
            .to_string(),
    }
}

/// One sentence for each outcome, in the company's language.
pub struct Sentences(pub Locale);

impl Sentences {
    pub fn held(&self, when: &str, minutes: i64) -> String {
        match self.0 {
            Locale::En => format!("{when} is free and reserved for you for {minutes} minutes."),
            Locale::De => format!("{when} ist frei und für {minutes} Minuten für Sie reserviert."),
        }
    }

    pub fn taken(&self) -> String {
        match self.0 {
            Locale::En => "That time is no longer free.".into(),
            Locale::De => "Dieser Termin ist nicht mehr frei.".into(),
        }
    }

    pub fn none(&self, day: &str, next_day: Option<&str>) -> String {
        match (self.0, next_day) {
            (Locale::En, Some(next)) => {
                format!("Nothing is free on {day}. The next day with a free time is {next}.")
            }
            (Locale::En, None) => format!("Nothing is free on {day} or in the two weeks after."),
            (Locale::De, Some(next)) => {
                format!("Am {day} ist nichts frei. Der nächste Tag mit freien Terminen ist {next}.")
            }
            (Locale::De, None) => {
                format!("Am {day} und in den zwei Wochen danach ist nichts frei.")
            }
        }
    }

    pub fn booked(&self, when: &str) -> String {
        match self.0 {
            Locale::En => format!("The appointment on {when} is booked."),
            Locale::De => format!("Der Termin am {when} ist gebucht."),
        }
    }

    pub fn expired(&self) -> String {
        match self.0 {
            Locale::En => "The reservation ran out before it was booked.".into(),
            Locale::De => "Die Reservierung ist abgelaufen, bevor sie gebucht wurde.".into(),
        }
    }

    pub fn cancelled(&self, count: usize) -> String {
        match (self.0, count) {
            (Locale::En, 0) => "There was no reservation to release.".into(),
            (Locale::En, _) => "The reservation is released.".into(),
            (Locale::De, 0) => "Es gab keine Reservierung freizugeben.".into(),
            (Locale::De, _) => "Die Reservierung ist freigegeben.".into(),
        }
    }

    pub fn nothing_held(&self) -> String {
        match self.0 {
            Locale::En => "There is no reservation to book yet: check a time first.".into(),
            Locale::De => {
                "Es gibt noch keine Reservierung zum Buchen: bitte zuerst einen Termin prüfen."
                    .into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-01T09:30:00Z: 10:30 in Berlin (winter, +01:00).
    const AT_MS: i64 = 1_796_117_400_000;

    /// Goal: the contract's two examples, word for word, and the offset form.
    #[test]
    fn the_contracts_examples() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            spoken(Locale::En, berlin, AT_MS),
            "Tuesday, December 1 at 10:30 AM"
        );
        assert_eq!(
            spoken(Locale::De, berlin, AT_MS),
            "Dienstag, 1. Dezember, 10:30 Uhr"
        );
        assert_eq!(offset_time(berlin, AT_MS), "2026-12-01T10:30:00+01:00");
        assert_eq!(offset_time(Tz::UTC, AT_MS), "2026-12-01T09:30:00+00:00");
        assert_eq!(
            spoken(Locale::En, Tz::UTC, AT_MS + 4 * 3_600_000),
            "Tuesday, December 1 at 1:30 PM"
        );
        assert_eq!(
            spoken_day(Locale::De, berlin, AT_MS),
            "Dienstag, 1. Dezember"
        );
    }
}
