//! The company's settings and its resources' configuration, as the book keeps them: set by an
//! operator, asked by every hold. A resource never configured is open around the clock with
//! capacity 1, exactly as before configuration existed.

use super::Book;
use crate::core::error::BookError;
use crate::core::reservation::ResourceId;
use crate::core::schedule::{CompanySettings, ResourceConfig};
use crate::limits;
use std::sync::Arc;

impl Book {
    /// The company's settings (time zone, locale, defaults).
    pub fn company_settings(&self) -> &CompanySettings {
        &self.company_settings
    }

    /// Replaces the company's settings. New holds follow them; nothing held changes.
    pub fn set_company_settings(&mut self, settings: CompanySettings) {
        self.company_settings = settings;
    }

    /// Configures `resource` (replacing its earlier configuration); answers whether it was not
    /// configured before. Changing hours, closures or capacity affects new holds only.
    pub fn put_resource(
        &mut self,
        resource: &str,
        config: ResourceConfig,
    ) -> Result<bool, BookError> {
        if !self.resource_ids.contains_key(resource)
            && self.resource_names.len() >= limits::RESOURCES_PER_COMPANY_MAX
        {
            return Err(BookError::LimitReached {
                detail: format!(
                    "the company uses its maximum of {} resources",
                    limits::RESOURCES_PER_COMPANY_MAX
                ),
            });
        }
        // Validates the name and the capacity before anything is kept.
        self.set_resource_capacity(resource, config.capacity())?;
        let id = self.resource_id_or_create(resource);
        Ok(self.configs.insert(id, config).is_none())
    }

    /// Removes the configuration of `resource` (it is open and of capacity 1 again); answers
    /// whether it had one. Reservations are never touched.
    pub fn delete_resource(&mut self, resource: &str) -> bool {
        let Some(id) = self.resource_ids.get(resource).copied() else {
            return false;
        };
        let existed = self.configs.remove(&id).is_some();
        if existed {
            // Back to one at a time for new holds; what is held stays.
            let reset = self.set_resource_capacity(resource, limits::RESOURCE_CAPACITY_DEFAULT);
            debug_assert!(reset.is_ok(), "a known resource takes the default capacity");
        }
        existed
    }

    /// For a search that found a start on `resource` refused by its hours or closures: the
    /// earliest instant a start may be admitted again (see [`ResourceConfig::closed_until`]).
    pub(super) fn closed_until(&self, resource: ResourceId, start_ms: i64) -> i64 {
        match self.configs.get(&resource) {
            Some(config) => config.closed_until(self.company_settings.time_zone(), start_ms),
            None => start_ms + 1,
        }
    }

    /// The configuration of `resource`, if it has one.
    pub fn resource_config(&self, resource: &str) -> Option<&ResourceConfig> {
        self.resource_ids
            .get(resource)
            .and_then(|id| self.configs.get(id))
    }

    /// Every configured resource with its configuration, sorted by name.
    pub fn configured_resources(&self) -> Vec<(&Arc<str>, &ResourceConfig)> {
        let mut all: Vec<_> = self
            .configs
            .iter()
            .map(|(id, config)| (&self.resource_names[*id as usize], config))
            .collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        all
    }

    /// Whether `[start_ms, end_ms)` on `resource` lies in its opening hours and outside its
    /// closures (always, for a resource without configuration).
    pub(super) fn admits(&self, resource: ResourceId, start_ms: i64, end_ms: i64) -> bool {
        // Most companies configure nothing: one length test, no hashing, on every search step.
        if self.configs.is_empty() {
            return true;
        }
        match self.configs.get(&resource) {
            Some(config) => config.admits(self.company_settings.time_zone(), start_ms, end_ms),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::book::Settings;
    use crate::core::command::{
        AvailabilityRequest, FindRequest, HoldOptions, HoldRequest, HoldTarget,
    };
    use crate::core::schedule::{Closure, WeeklyHours};
    use uuid::Uuid;

    /// 2026-12-01T00:00:00Z, a Tuesday.
    const TUESDAY_MS: i64 = 1_796_083_200_000;
    const HOUR_MS: i64 = 3_600_000;

    fn hold(book: &mut Book, resource: &str, start_ms: i64, end_ms: i64) -> Result<(), BookError> {
        let target = HoldTarget::single(resource, start_ms, end_ms).unwrap();
        let request = HoldRequest::with_options(target, HoldOptions::default());
        book.hold(request, None, Uuid::new_v4(), TUESDAY_MS - 24 * HOUR_MS)
            .map(|_| ())
    }

    fn berlin_book() -> Book {
        let mut book = Book::new("acme", Settings::default());
        book.set_company_settings(CompanySettings::new("Europe/Berlin", "de", 30, 300).unwrap());
        let hours = WeeklyHours::new([(
            "tue".to_string(),
            vec![("09:00".to_string(), "17:00".to_string())],
        )])
        .unwrap();
        // Closed on the Tuesday afternoon from 14:00 Berlin (13:00 UTC) to 15:00.
        let closure = Closure::new(
            TUESDAY_MS + 13 * HOUR_MS,
            TUESDAY_MS + 14 * HOUR_MS,
            "closed[0]",
        )
        .unwrap();
        let config = ResourceConfig::new(None, 1, Some(hours), vec![closure]).unwrap();
        assert!(book.put_resource("staff-7", config.clone()).unwrap());
        assert!(
            !book.put_resource("staff-7", config).unwrap(),
            "configured before"
        );
        book
    }

    /// Goal: a hold on a configured resource is refused with `outside_hours` naming it outside
    /// its hours (on the company's wall clock) and in its closures, and taken inside; a resource
    /// never configured is open around the clock; removing the configuration reopens it.
    #[test]
    fn holds_follow_hours_and_closures() {
        let mut book = berlin_book();
        // 08:00-08:30 UTC is 09:00-09:30 in Berlin: open.
        hold(
            &mut book,
            "staff-7",
            TUESDAY_MS + 8 * HOUR_MS,
            TUESDAY_MS + 8 * HOUR_MS + HOUR_MS / 2,
        )
        .unwrap();
        // 07:30 UTC is 08:30 in Berlin: closed.
        let early = hold(
            &mut book,
            "staff-7",
            TUESDAY_MS + 7 * HOUR_MS + HOUR_MS / 2,
            TUESDAY_MS + 8 * HOUR_MS,
        );
        assert_eq!(
            early,
            Err(BookError::OutsideHours {
                resource: "staff-7".into()
            })
        );
        // The closure.
        let closed = hold(
            &mut book,
            "staff-7",
            TUESDAY_MS + 13 * HOUR_MS,
            TUESDAY_MS + 13 * HOUR_MS + HOUR_MS / 2,
        );
        assert!(matches!(closed, Err(BookError::OutsideHours { .. })));
        // Another resource: open around the clock.
        hold(
            &mut book,
            "staff-8",
            TUESDAY_MS + 2 * HOUR_MS,
            TUESDAY_MS + 3 * HOUR_MS,
        )
        .unwrap();
        assert_eq!(book.live_count(), 2, "refused holds left nothing");
        assert!(book.delete_resource("staff-7"));
        assert!(!book.delete_resource("staff-7"));
        hold(
            &mut book,
            "staff-7",
            TUESDAY_MS + 7 * HOUR_MS,
            TUESDAY_MS + 7 * HOUR_MS + HOUR_MS / 2,
        )
        .unwrap();
        assert_eq!(book.company_settings().locale().as_str(), "de");
        assert!(book.configured_resources().is_empty());
    }

    /// Goal: first-available and availability offer only starts whose whole interval lies in
    /// the opening hours and outside the closures.
    #[test]
    fn searches_offer_only_open_starts() {
        let mut book = berlin_book();
        let now_ms = TUESDAY_MS - 24 * HOUR_MS;
        // From 06:00 UTC (07:00 Berlin), hourly, an hour long: the first open start is 09:00
        // Berlin (08:00 UTC); the last is 16:00 Berlin; 14:00 Berlin is closed.
        let request = AvailabilityRequest::new(
            vec!["staff-7".into()],
            TUESDAY_MS + 6 * HOUR_MS,
            TUESDAY_MS + 20 * HOUR_MS,
            HOUR_MS,
            HOUR_MS,
        )
        .unwrap();
        let slots = book.availability(&request, now_ms).unwrap();
        let hours: Vec<i64> = slots[0]
            .slots_ms
            .iter()
            .map(|ms| (ms - TUESDAY_MS) / HOUR_MS)
            .collect();
        assert_eq!(
            hours,
            [8, 9, 10, 11, 12, 14, 15],
            "09:00 to 16:00 Berlin, 14:00 closed"
        );
        let find = FindRequest::new(
            vec!["staff-7".into()],
            TUESDAY_MS + 6 * HOUR_MS,
            TUESDAY_MS + 20 * HOUR_MS,
            HOUR_MS,
            HOUR_MS / 2,
        )
        .unwrap();
        let request = HoldRequest::with_options(HoldTarget::Find(find), HoldOptions::default());
        let held = book.hold(request, None, Uuid::new_v4(), now_ms).unwrap();
        assert_eq!(
            held.reservation.segments[0].start_ms,
            TUESDAY_MS + 8 * HOUR_MS
        );
    }

    /// Goal: a configured capacity is the calendar's, and removing the configuration brings the
    /// resource back to one at a time.
    #[test]
    fn capacity_follows_the_configuration() {
        let mut book = Book::new("acme", Settings::default());
        let config = ResourceConfig::new(Some("Room".into()), 3, None, Vec::new()).unwrap();
        book.put_resource("room-1", config).unwrap();
        assert_eq!(book.resource_capacity("room-1"), 3);
        for _ in 0..3 {
            hold(&mut book, "room-1", TUESDAY_MS, TUESDAY_MS + HOUR_MS).unwrap();
        }
        assert!(matches!(
            hold(&mut book, "room-1", TUESDAY_MS, TUESDAY_MS + HOUR_MS),
            Err(BookError::Conflict { .. })
        ));
        assert!(book.delete_resource("room-1"));
        assert_eq!(book.resource_capacity("room-1"), 1);
        assert_eq!(
            book.live_count(),
            3,
            "removing the configuration cancels nothing"
        );
    }
}
