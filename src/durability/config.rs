//! The on-disk form of a company's configuration, version 2: its settings, each configured
//! resource, and each resource's capacity state (what the calendar admitted under). The log's
//! records ([`crate::durability::log::LogRecordV2`]) and the snapshot
//! ([`crate::durability::snapshot::CompanyConfigV2`]) share these types. Like every on-disk type
//! they are their own, converted by hand: a stored value is read back through the same
//! constructors that check what a caller types in, so a damaged file is refused naming the
//! field, never trusted. [`WebhookConfigV3`] (a webhook endpoint) came with log format 3.

use crate::core::error::BookError;
use crate::core::schedule::{Closure, CompanySettings, ResourceConfig, WeeklyHours};
use crate::core::webhooks::{EventFilter, WebhookConfig};
use serde::{Deserialize, Serialize};

/// A company's settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsV2 {
    /// An IANA name (`Europe/Berlin`): names outlive a build's zone database numbering.
    pub time_zone: String,
    /// `en` or `de`.
    pub locale: String,
    pub default_duration_minutes: u32,
    pub default_ttl_seconds: i64,
}

impl SettingsV2 {
    pub fn from_core(settings: &CompanySettings) -> SettingsV2 {
        SettingsV2 {
            time_zone: settings.time_zone().name().to_string(),
            locale: settings.locale().as_str().to_string(),
            default_duration_minutes: settings.default_duration_minutes(),
            default_ttl_seconds: settings.default_ttl_seconds(),
        }
    }

    pub fn to_core(&self) -> Result<CompanySettings, BookError> {
        CompanySettings::new(
            &self.time_zone,
            &self.locale,
            i64::from(self.default_duration_minutes),
            self.default_ttl_seconds,
        )
    }
}

/// One resource's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceConfigV2 {
    pub label: Option<String>,
    pub capacity: u32,
    /// Seven weekdays, Monday first, each its opening intervals in minutes after local midnight
    /// (`[open, close)`); `None` is open around the clock.
    pub hours: Option<Vec<Vec<(u16, u16)>>>,
    /// Closures as `[start_ms, end_ms)`, sorted.
    pub closed: Vec<(i64, i64)>,
}

impl ResourceConfigV2 {
    pub fn from_core(config: &ResourceConfig) -> ResourceConfigV2 {
        ResourceConfigV2 {
            label: config.label().map(str::to_string),
            capacity: config.capacity(),
            hours: config.hours().map(WeeklyHours::minutes_by_day),
            closed: config
                .closed()
                .iter()
                .map(|c| (c.start_ms(), c.end_ms()))
                .collect(),
        }
    }

    pub fn to_core(&self) -> Result<ResourceConfig, BookError> {
        let hours = self
            .hours
            .as_deref()
            .map(WeeklyHours::from_minutes)
            .transpose()?;
        let closed = self
            .closed
            .iter()
            .enumerate()
            .map(|(index, (start_ms, end_ms))| {
                Closure::new(*start_ms, *end_ms, &format!("closed[{index}]"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        ResourceConfig::new(self.label.clone(), i64::from(self.capacity), hours, closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: settings and a full resource configuration survive the trip to their on-disk form
    /// and back unchanged, and a damaged stored value is refused naming its field.
    #[test]
    fn configuration_round_trips_and_damage_is_refused() {
        let settings = CompanySettings::new("Europe/Berlin", "de", 45, 120).unwrap();
        assert_eq!(
            SettingsV2::from_core(&settings).to_core().unwrap(),
            settings
        );
        let hours = WeeklyHours::new([
            (
                "mon".to_string(),
                vec![
                    ("09:00".to_string(), "12:00".to_string()),
                    ("13:00".to_string(), "24:00".to_string()),
                ],
            ),
            ("sat".to_string(), vec![("00:00".into(), "10:30".into())]),
        ])
        .unwrap();
        let closure = Closure::new(1_000, 2_000, "closed[0]").unwrap();
        let config =
            ResourceConfig::new(Some("Dr. Meier".into()), 7, Some(hours), vec![closure]).unwrap();
        let stored = ResourceConfigV2::from_core(&config);
        assert_eq!(stored.to_core().unwrap(), config);

        let mut damaged = stored.clone();
        damaged.hours.as_mut().unwrap()[0][0] = (13 * 60, 12 * 60);
        assert!(matches!(
            damaged.to_core(),
            Err(BookError::InvalidRequest { field, .. }) if field == "hours.mon[0]"
        ));
        let mut damaged = stored;
        damaged.capacity = 0;
        assert!(matches!(
            damaged.to_core(),
            Err(BookError::InvalidRequest { field, .. }) if field == "capacity"
        ));
        let mut damaged = SettingsV2::from_core(&settings);
        damaged.time_zone = "Mars/Olympus".into();
        assert!(matches!(
            damaged.to_core(),
            Err(BookError::InvalidRequest { field, .. }) if field == "time_zone"
        ));
    }
}

/// A webhook endpoint's configuration, as log format 3 and snapshot format 4 store it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookConfigV3 {
    pub url: String,
    /// The event types taken, by [`crate::core::events::EventKind::code`] (0 created, 1
    /// extended, 2 converted, 3 cancelled, 4 expired).
    pub events: Vec<u8>,
    /// The signing key's bytes. The data directory holds it as the server needs it to sign
    /// after a restart; it is never answered by a `GET`.
    pub secret: Vec<u8>,
}

impl WebhookConfigV3 {
    pub fn from_core(config: &WebhookConfig) -> WebhookConfigV3 {
        WebhookConfigV3 {
            url: config.url().as_str().to_string(),
            events: config.events().codes(),
            secret: config.secret().to_vec(),
        }
    }

    /// The configuration, checked as a caller's is (the URL's text by the same parser).
    pub fn to_core(&self) -> Result<WebhookConfig, BookError> {
        let url = crate::webhooks::destination::parse_url(&self.url)
            .map_err(|e| BookError::invalid("url", e.to_string()))?;
        let events = EventFilter::from_codes(&self.events)
            .ok_or_else(|| BookError::invalid("events", "holds an unknown event type code"))?;
        WebhookConfig::new(url, events, self.secret.clone())
    }
}
