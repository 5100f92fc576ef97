//! The book's side of a snapshot: the export (a point-in-time copy, taken a chunk at a time
//! while the book goes on changing) and the restore (reservations, keys and counters read back,
//! each reservation checked so that what a damaged or foreign file brings cannot break an
//! invariant: no overlap beyond a resource's capacity, no reused token, no invalid resource
//! name).

use super::{Book, IdempotencyRecord};
use crate::core::command::validate_id;
use crate::core::error::BookError;
use crate::core::events::Event;
use crate::core::metrics::Metrics;
use crate::core::reservation::{Reservation, ResourceId};
use crate::core::schedule::{CompanySettings, ResourceConfig};
use crate::core::webhooks::WebhookEndpoint;
use crate::limits;
use std::sync::Arc;

/// What a snapshot copies of a book at the moment its export begins, all at once: everything but
/// the reservations, which follow a chunk at a time ([`Book::export_chunk`]).
#[derive(Clone, Debug)]
pub struct ExportHead {
    pub company: Arc<str>,
    /// The log position of the last change the exported state holds.
    pub log_position: u64,
    /// Every interned resource name; a `ResourceId` indexes it.
    pub resource_names: Vec<Arc<str>>,
    /// The remembered idempotency keys, oldest first.
    pub idempotency: Vec<(Box<str>, IdempotencyRecord)>,
    pub metrics: Metrics,
    pub settings: CompanySettings,
    /// Every configured resource, by id.
    pub configs: Vec<(ResourceId, ResourceConfig)>,
    /// Every calendar not in the state of a resource never configured, by id.
    pub capacities: Vec<CapacityState>,
    /// The `seq` the next event gets.
    pub next_event_seq: u64,
    /// The kept events, oldest first.
    pub events: Vec<Arc<Event>>,
    /// Every webhook endpoint, sorted by id.
    pub webhooks: Vec<(Arc<str>, WebhookEndpoint)>,
}

/// What a resource's calendar admits (see [`crate::core::calendar::Calendar`]): its capacity for
/// new holds, the most entries that may overlap at one instant, and the creation sequence
/// number from which every reservation was admitted under the capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityState {
    pub resource: ResourceId,
    pub capacity: u32,
    pub ceiling: u32,
    pub set_at_seq: u64,
}

impl Book {
    /// Everything but the reservations, as it is now (see [`ExportHead`]).
    pub fn export_head(&self) -> ExportHead {
        ExportHead {
            company: self.company.clone(),
            log_position: self.log_position,
            resource_names: self.resource_names.clone(),
            idempotency: self
                .idempotency_records()
                .map(|(key, record)| (Box::from(key), *record))
                .collect(),
            metrics: self.metrics.clone(),
            settings: self.company_settings,
            configs: self.configs_by_id(),
            capacities: self.capacity_states(),
            next_event_seq: self.events.next_seq(),
            events: self.events.kept().cloned().collect(),
            webhooks: self
                .webhooks()
                .map(|(id, endpoint)| (id.clone(), endpoint.clone()))
                .collect(),
        }
    }

    fn configs_by_id(&self) -> Vec<(ResourceId, ResourceConfig)> {
        let mut configs: Vec<_> = self
            .configs
            .iter()
            .map(|(id, config)| (*id, config.clone()))
            .collect();
        configs.sort_by_key(|(id, _)| *id);
        configs
    }

    fn capacity_states(&self) -> Vec<CapacityState> {
        self.calendars
            .iter()
            .enumerate()
            .filter(|(_, c)| c.capacity() != 1 || c.capacity_ceiling() != 1)
            .map(|(id, c)| CapacityState {
                resource: id as ResourceId,
                capacity: c.capacity(),
                ceiling: c.capacity_ceiling(),
                set_at_seq: c.capacity_set_at_seq(),
            })
            .collect()
    }

    /// Puts `resource`'s calendar back in the capacity state a snapshot recorded (restore, after
    /// the configuration and before any reservation). Refuses a state out of range, one that
    /// disagrees with the resource's configured capacity, or one for a calendar already holding
    /// entries.
    pub fn restore_capacity_state(
        &mut self,
        resource: &str,
        capacity: u32,
        ceiling: u32,
        set_at_seq: u64,
    ) -> Result<(), BookError> {
        validate_id("resource", resource)?;
        let max = limits::RESOURCE_CAPACITY_MAX;
        if !(1..=max).contains(&capacity) || !(capacity..=max).contains(&ceiling) {
            return Err(BookError::invalid(
                "capacity",
                format!("state {capacity} under ceiling {ceiling} is out of range"),
            ));
        }
        if self
            .resource_config(resource)
            .is_some_and(|c| c.capacity() != capacity)
        {
            return Err(BookError::invalid(
                "capacity",
                "differs from the resource's configured capacity",
            ));
        }
        let id = self.resource_id_or_create(resource);
        let calendar = &mut self.calendars[id as usize];
        if !calendar.is_empty() {
            return Err(BookError::invalid(
                "capacity",
                "restored after reservations",
            ));
        }
        calendar.restore_capacity(capacity, ceiling, set_at_seq);
        Ok(())
    }

    /// Begins a point-in-time copy of the book for a snapshot: answers the head now, and the
    /// reservations as they are now follow through [`Book::export_chunk`], while the book goes on
    /// changing between chunks (the store saves a reservation before its first change). An
    /// export already under way is abandoned.
    pub fn begin_export(&mut self) -> ExportHead {
        self.reservations.begin_export();
        self.export_head()
    }

    /// Hands `visit` the next chunk of the export under way (at most `slots_max` slots of the
    /// store, plus the reservations saved before a change since the last chunk); answers whether
    /// the export is complete. See [`crate::core::store::Store::export_chunk`].
    pub fn export_chunk(&mut self, slots_max: usize, visit: impl FnMut(&Reservation)) -> bool {
        self.reservations.export_chunk(slots_max, visit)
    }

    /// Adds a reservation read back from a snapshot or log, by resource names. Refuses one that
    /// would overlap more live reservations than the resource's capacity ceiling allows (any
    /// live one, for a resource never configured), reuse a token or a creation position (`seq`:
    /// lists and their cursors walk the creation order, which must name each reservation once),
    /// or name an invalid resource.
    pub fn restore_reservation<S: AsRef<str>>(
        &mut self,
        mut reservation: Reservation,
        segment_resources: &[S],
    ) -> Result<(), BookError> {
        if self.reservations.contains_key(&reservation.token) {
            return Err(BookError::invalid("token", "appears twice"));
        }
        if self.order.contains_key(&reservation.seq) || reservation.seq == u64::MAX {
            return Err(BookError::invalid(
                "seq",
                "appears twice or is out of range",
            ));
        }
        if segment_resources.len() != reservation.segments.len() || reservation.segments.is_empty()
        {
            return Err(BookError::invalid(
                "segments",
                "resource names do not match segments",
            ));
        }
        for (index, name) in segment_resources.iter().enumerate() {
            let name = name.as_ref();
            validate_id("resource", name)?;
            let resource = self.resource_id_or_create(name);
            reservation.segments[index].resource = resource;
            let segment = reservation.segments[index];
            if segment.end_ms <= segment.start_ms {
                return Err(BookError::invalid("segments", "empty interval"));
            }
            if reservation.status.is_live()
                && !self.calendars[resource as usize].has_room(segment.start_ms, segment.end_ms)
            {
                return Err(BookError::invalid(
                    "segments",
                    "overlaps more live reservations than the resource's capacity allows",
                ));
            }
        }
        self.link(reservation);
        Ok(())
    }

    /// Replaces the counters (restore). The next creation position becomes at least the
    /// number of reservations ever created: the snapshot does not store it, and the newest
    /// reservations may have been dropped by retention before it was taken, so the stored ones
    /// alone would hand a dropped reservation's position out again, and replay would give the
    /// holds after the snapshot other positions than they had, moving them under the cursors
    /// of lists walked across a restart. Every reservation created took exactly one position,
    /// counting from 0, so the count is the next one.
    pub fn restore_metrics(&mut self, metrics: Metrics) {
        self.next_seq = self.next_seq.max(metrics.created());
        self.metrics = metrics;
    }
}
