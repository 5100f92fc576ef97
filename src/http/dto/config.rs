//! A company's configuration on the wire: the bodies of `PUT /settings` and
//! `PUT /resources/{resource}`, their stage two into the core's checked `SettingsPatch` and
//! `ResourceConfig`, and the answers of the settings and resource routes.
//!
//! Stage one is as strict as every other body (`deny_unknown_fields`, objects only); `hours` is
//! read in the order given, so that a weekday given twice is refused rather than silently
//! replaced. Stage two leaves the rules to the core's constructors, which name the field at
//! fault (`hours.tue[1]`, `closed[0].end`, `capacity`); the edge adds only what the core cannot
//! see: that a time of day is written `HH:MM` in ASCII digits, and that a closure's instants lie
//! in the range every instant of the API does.
//!
//! A resource's closures are answered on the company's wall clock (`time::format_in_zone`), as
//! an operator wrote them; every other instant of the API stays in UTC.

use crate::actors::company::ResourceEntry;
use crate::core::command::validate_time;
use crate::core::error::BookError;
use crate::core::schedule::{
    Closure, CompanySettings, ResourceConfig, SettingsPatch, WeeklyHours, WEEKDAYS,
};
use crate::http::dto::{schemas, ObjectOnly};
use crate::http::time::{format_in_zone, Instant};
use crate::limits;
use chrono_tz::Tz;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use utoipa::ToSchema;

/// `PUT /settings`: the settings to change; a field left out (or `null`) keeps its value.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    #[schema(schema_with = schemas::time_zone_or_null, example = "Europe/Berlin")]
    pub time_zone: Option<String>,
    /// The language of spoken answers.
    #[schema(schema_with = schemas::locale_or_null, example = "de")]
    pub locale: Option<String>,
    /// The length of a voice agent's holds when it names none.
    #[schema(schema_with = schemas::duration_minutes_or_null, example = 30)]
    pub default_duration_minutes: Option<i64>,
    /// The time to live of every hold that names no `ttl_seconds`.
    #[schema(schema_with = schemas::ttl_seconds_or_null, example = 300)]
    pub default_ttl_seconds: Option<i64>,
}

impl SettingsBody {
    /// Stage two: the checked change (the error names the field).
    pub fn into_patch(self) -> Result<SettingsPatch, BookError> {
        SettingsPatch::new(
            self.time_zone.as_deref(),
            self.locale.as_deref(),
            self.default_duration_minutes,
            self.default_ttl_seconds,
        )
    }
}

/// A company's settings.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SettingsDto {
    #[schema(schema_with = schemas::time_zone, example = "Europe/Berlin")]
    pub time_zone: &'static str,
    /// The language of spoken answers.
    #[schema(schema_with = schemas::locale, example = "de")]
    pub locale: &'static str,
    /// The length of a voice agent's holds when it names none.
    #[schema(schema_with = schemas::duration_minutes, example = 30)]
    pub default_duration_minutes: u32,
    /// The time to live of every hold that names no `ttl_seconds`.
    #[schema(schema_with = schemas::ttl_seconds, example = 300)]
    pub default_ttl_seconds: i64,
}

impl From<CompanySettings> for SettingsDto {
    fn from(settings: CompanySettings) -> SettingsDto {
        SettingsDto {
            time_zone: settings.time_zone().name(),
            locale: settings.locale().as_str(),
            default_duration_minutes: settings.default_duration_minutes(),
            default_ttl_seconds: settings.default_ttl_seconds(),
        }
    }
}

/// One opening interval as sent: `["HH:MM", "HH:MM"]`.
type IntervalBody = (String, String);

/// Weekly hours as sent: each weekday with its intervals, in the order given.
#[derive(Clone, Debug, Default)]
pub struct HoursBody(pub Vec<(String, Vec<IntervalBody>)>);

impl<'de> Deserialize<'de> for HoursBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<HoursBody, D::Error> {
        struct InOrder;

        impl<'de> Visitor<'de> for InOrder {
            type Value = HoursBody;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of weekdays")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HoursBody, A::Error> {
                // Every entry is kept, a weekday given twice included: the core refuses it
                // naming the weekday (the body's size bounds how many there are).
                let mut days = Vec::new();
                while let Some(day) = map.next_key::<String>()? {
                    days.push((day, map.next_value::<Vec<IntervalBody>>()?));
                }
                Ok(HoursBody(days))
            }
        }

        deserializer.deserialize_map(InOrder)
    }
}

/// One closure as sent: `[start, end)`, any offset.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosureBody {
    #[schema(schema_with = schemas::instant, example = "2026-12-24T00:00:00+01:00")]
    pub start: Instant,
    /// After `start`.
    #[schema(schema_with = schemas::instant, example = "2026-12-27T00:00:00+01:00")]
    pub end: Instant,
}

fn closures_as_objects<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<ClosureBody>>, D::Error> {
    let closures = Option::<Vec<ObjectOnly<ClosureBody>>>::deserialize(deserializer)?;
    Ok(closures.map(|closures| closures.into_iter().map(|c| c.0).collect()))
}

/// `PUT /resources/{resource}`: the resource's whole configuration, replacing what it had.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceBody {
    /// A name a person reads. Default: none.
    #[schema(schema_with = schemas::label_or_null, example = "Dr. Meier")]
    pub label: Option<String>,
    /// How many live reservations may overlap at any instant. Default 1.
    #[schema(schema_with = schemas::capacity_or_null, example = 1)]
    pub capacity: Option<i64>,
    /// Default: open around the clock.
    #[schema(schema_with = schemas::hours_or_null)]
    pub hours: Option<HoursBody>,
    /// Absolute ranges when the resource is not open. Default: none.
    #[serde(default, deserialize_with = "closures_as_objects")]
    #[schema(schema_with = schemas::closures_or_null)]
    pub closed: Option<Vec<ClosureBody>>,
}

/// Whether `text` is written `HH:MM` in ASCII digits; the core checks the range (and reads
/// digits with `str::parse`, which would also take a sign).
fn is_clock_text(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 5
        && bytes[2] == b':'
        && [0, 1, 3, 4].iter().all(|&at| bytes[at].is_ascii_digit())
}

impl HoursBody {
    /// Stage two: the checked week.
    fn into_hours(self) -> Result<WeeklyHours, BookError> {
        for (day, intervals) in &self.0 {
            // An unknown weekday is the core's to name (`hours.xyz`), before its intervals.
            if !WEEKDAYS.contains(&day.as_str()) {
                break;
            }
            for (position, (open, close)) in intervals.iter().enumerate() {
                if !is_clock_text(open) || !is_clock_text(close) {
                    return Err(BookError::invalid(
                        format!("hours.{day}[{position}]"),
                        "must be two times HH:MM (24-hour, ASCII digits)",
                    ));
                }
            }
        }
        WeeklyHours::new(self.0)
    }
}

impl ResourceBody {
    /// Stage two: the checked configuration (the error names the field). The hours are checked
    /// first, then the closures in order, then the label, the capacity and the closures' count.
    pub fn into_config(self) -> Result<ResourceConfig, BookError> {
        let hours = self.hours.map(HoursBody::into_hours).transpose()?;
        let bodies = self.closed.unwrap_or_default();
        if bodies.len() > limits::CLOSURES_PER_RESOURCE_MAX {
            return Err(BookError::invalid(
                "closed",
                format!("has more than {} ranges", limits::CLOSURES_PER_RESOURCE_MAX),
            ));
        }
        let mut closed = Vec::with_capacity(bodies.len());
        for (position, body) in bodies.into_iter().enumerate() {
            let field = format!("closed[{position}]");
            validate_time(&format!("{field}.start"), body.start.0)?;
            validate_time(&format!("{field}.end"), body.end.0)?;
            closed.push(Closure::new(body.start.0, body.end.0, &field)?);
        }
        let capacity = self
            .capacity
            .unwrap_or(i64::from(limits::RESOURCE_CAPACITY_DEFAULT));
        ResourceConfig::new(self.label, capacity, hours, closed)
    }
}

/// Weekly hours as answered: the open weekdays, Monday first, each with its intervals.
#[derive(Clone, Debug)]
pub struct HoursDto(Vec<(&'static str, Vec<(String, String)>)>);

impl From<&WeeklyHours> for HoursDto {
    fn from(hours: &WeeklyHours) -> HoursDto {
        HoursDto(
            hours
                .open_days()
                .map(|(day, intervals)| {
                    let intervals = intervals.iter().map(|i| i.to_strings()).collect();
                    (day, intervals)
                })
                .collect(),
        )
    }
}

impl Serialize for HoursDto {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(day, intervals)| (day, intervals)))
    }
}

/// One closure as answered, on the company's wall clock.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ClosureDto {
    #[schema(schema_with = schemas::local_instant, example = "2026-12-24T00:00:00+01:00")]
    pub start: String,
    #[schema(schema_with = schemas::local_instant, example = "2026-12-27T00:00:00+01:00")]
    pub end: String,
}

/// A configured resource.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ResourceDto {
    #[schema(schema_with = schemas::id, example = "staff-7")]
    pub resource: String,
    /// `null` when it has none.
    #[schema(schema_with = schemas::label_or_null, required = true, example = "Dr. Meier")]
    pub label: Option<String>,
    #[schema(schema_with = schemas::capacity, example = 1)]
    pub capacity: u32,
    /// `null`: open around the clock.
    #[schema(schema_with = schemas::hours_or_null, required = true)]
    pub hours: Option<HoursDto>,
    /// Sorted by start.
    #[schema(schema_with = schemas::closures)]
    pub closed: Vec<ClosureDto>,
}

impl ResourceDto {
    /// The answer for `entry`, its closures on the wall clock of `settings`' time zone.
    pub fn new(settings: &CompanySettings, entry: &ResourceEntry) -> ResourceDto {
        let zone: Tz = settings.time_zone();
        let config = &entry.config;
        ResourceDto {
            resource: entry.resource.clone(),
            label: config.label().map(str::to_owned),
            capacity: config.capacity(),
            hours: config.hours().map(HoursDto::from),
            closed: config
                .closed()
                .iter()
                .map(|closure| ClosureDto {
                    start: format_in_zone(closure.start_ms(), zone),
                    end: format_in_zone(closure.end_ms(), zone),
                })
                .collect(),
        }
    }
}

/// `GET /resources`: every configured resource, sorted by name.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ResourcesDto {
    pub resources: Vec<ResourceDto>,
}

impl ResourcesDto {
    /// The answer for `entries`, each read on the wall clock of `settings`' time zone.
    pub fn new(settings: &CompanySettings, entries: &[ResourceEntry]) -> ResourcesDto {
        ResourcesDto {
            resources: entries
                .iter()
                .map(|entry| ResourceDto::new(settings, entry))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::dto::field_of;
    use crate::http::extract::parse_json;

    fn config(json: &str) -> Result<ResourceConfig, BookError> {
        let body: ResourceBody = parse_json(json.as_bytes()).map_err(|error| match error {
            crate::http::error::ApiError::Book(book) => book,
            other => panic!("not a book error: {other:?}"),
        })?;
        body.into_config()
    }

    /// Goal: an empty body is capacity 1, open around the clock, no closures; a full one keeps
    /// every part, and its answer writes the hours Monday first and closures on the wall clock.
    #[test]
    fn defaults_and_a_full_body() {
        let empty = config("{}").unwrap();
        assert_eq!(empty, ResourceConfig::default());
        let full = config(
            r#"{"label": "Dr. Meier", "capacity": 3,
                "hours": {"tue": [["09:00", "17:00"]], "mon": [["09:00", "12:00"], ["13:00", "24:00"]],
                          "sun": []},
                "closed": [{"start": "2026-12-24T00:00:00+01:00", "end": "2026-12-27T00:00:00+01:00"}]}"#,
        )
        .unwrap();
        let settings = CompanySettings::new("Europe/Berlin", "de", 30, 300).unwrap();
        let entry = ResourceEntry {
            resource: "staff-7".into(),
            config: full,
        };
        let answer = serde_json::to_value(ResourceDto::new(&settings, &entry)).unwrap();
        assert_eq!(
            answer,
            serde_json::json!({"resource": "staff-7", "label": "Dr. Meier", "capacity": 3,
                "hours": {"mon": [["09:00", "12:00"], ["13:00", "24:00"]], "tue": [["09:00", "17:00"]]},
                "closed": [{"start": "2026-12-24T00:00:00+01:00", "end": "2026-12-27T00:00:00+01:00"}]})
        );
        let text = serde_json::to_string(&ResourceDto::new(&settings, &entry)).unwrap();
        assert!(text.find("\"mon\"") < text.find("\"tue\""), "{text}");
    }

    /// Goal: every fault is refused naming its field, as the caller wrote it.
    #[test]
    fn faults_name_the_field() {
        let cases = [
            (r#"{"capacity": 0}"#, "capacity"),
            (r#"{"capacity": 1001}"#, "capacity"),
            (r#"{"capacity": 1.5}"#, "capacity"),
            (r#"{"label": "a\u0007b"}"#, "label"),
            (
                r#"{"hours": {"mon": [["25:00", "26:00"]]}}"#,
                "hours.mon[0]",
            ),
            (
                r#"{"hours": {"mon": [["+9:00", "10:00"]]}}"#,
                "hours.mon[0]",
            ),
            (
                r#"{"hours": {"mon": [["10:00", "09:00"]]}}"#,
                "hours.mon[0]",
            ),
            (
                r#"{"hours": {"tue": [["09:00", "12:00"], ["11:00", "13:00"]]}}"#,
                "hours.tue[1]",
            ),
            (r#"{"hours": {"xyz": [["+9:00", "10:00"]]}}"#, "hours.xyz"),
            (
                r#"{"hours": {"mon": [], "mon": [["09:00", "10:00"]]}}"#,
                "hours.mon",
            ),
            (r#"{"hours": {"mon": [["09:00"]]}}"#, "hours.mon[0]"),
            (r#"{"hours": {"mon": null}}"#, "hours.mon"),
            (r#"{"hours": []}"#, "hours"),
            (
                r#"{"closed": [{"start": "2026-12-27T00:00:00Z", "end": "2026-12-24T00:00:00Z"}]}"#,
                "closed[0].end",
            ),
            (
                r#"{"closed": [{"start": "Christmas", "end": "2026-12-24T00:00:00Z"}]}"#,
                "closed[0].start",
            ),
            (
                r#"{"closed": [{"start": "1969-12-31T00:00:00Z", "end": "2026-12-24T00:00:00Z"}]}"#,
                "closed[0].start",
            ),
            (r#"{"closed": [["2026-12-24T00:00:00Z"]]}"#, "closed[0]"),
            (r#"{"capacity": 2, "colour": "red"}"#, "colour"),
        ];
        for (json, field) in cases {
            let error = config(json).expect_err(json);
            assert_eq!(field_of(error), field, "{json}");
        }
    }

    /// Goal: a settings body changes only what it gives, and names the field at fault.
    #[test]
    fn settings_body() {
        let patch: SettingsBody = parse_json(br#"{"locale": "de", "time_zone": null}"#).unwrap();
        let patched = CompanySettings::default().patched(patch.into_patch().unwrap());
        assert_eq!(patched.locale().as_str(), "de");
        assert_eq!(patched.time_zone(), Tz::UTC);
        for (json, field) in [
            (r#"{"time_zone": "Mars/Olympus"}"#, "time_zone"),
            (r#"{"locale": "fr"}"#, "locale"),
            (r#"{"default_ttl_seconds": 0}"#, "default_ttl_seconds"),
            (
                r#"{"default_duration_minutes": 1441}"#,
                "default_duration_minutes",
            ),
        ] {
            let body: SettingsBody = parse_json(json.as_bytes()).unwrap();
            assert_eq!(field_of(body.into_patch().unwrap_err()), field, "{json}");
        }
    }
}
