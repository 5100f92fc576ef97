//! One resource's configuration: label, capacity, opening hours and closures, and whether an
//! interval may be held.

use super::hours::WeeklyHours;
use super::invalid;
use super::wall_clock::{next_opening, within_hours};
use crate::core::error::BookError;
use crate::limits;
use chrono_tz::Tz;

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
