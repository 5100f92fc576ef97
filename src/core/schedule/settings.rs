//! A company's settings: the time zone its wall clock runs on, the language of spoken answers,
//! and the defaults of holds; and a change of some of them.

use super::invalid;
use crate::core::error::BookError;
use crate::limits;
use chrono_tz::Tz;

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
