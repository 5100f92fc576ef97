//! The reservation: its status machine, its segments, and the read-only view the engine answers
//! with. Times are milliseconds since the Unix epoch (`_ms`), the unit the core computes in; the
//! edges convert to and from RFC 3339.

use std::sync::Arc;
use uuid::Uuid;

/// Index of a resource inside one company's `Book` (its calendar's position). Resource names are
/// interned once per company so that segments and calendars carry four bytes, not a string.
pub type ResourceId = u32;

/// What a reservation is now. `Active` holds whose `expires_at_ms` has passed read as `Expired`
/// everywhere (lazy expiry), before any sweep has run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Held, `expires_at_ms` in the future; blocks its slots.
    Active,
    /// Turned into a booked appointment; keeps its slots until cancelled.
    Converted,
    /// Its time to live ran out before it was confirmed or cancelled; slots are free.
    Expired,
    /// Cancelled by a caller (or replaced by the same call's newer hold); slots are free.
    Cancelled,
}

impl Status {
    /// The API's word for this status.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Converted => "converted",
            Status::Expired => "expired",
            Status::Cancelled => "cancelled",
        }
    }

    /// Parses the API's word for a status.
    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "active" => Some(Status::Active),
            "converted" => Some(Status::Converted),
            "expired" => Some(Status::Expired),
            "cancelled" => Some(Status::Cancelled),
            _ => None,
        }
    }

    /// Whether a reservation in this status occupies its slots (given it is not lazily expired).
    pub fn is_live(self) -> bool {
        matches!(self, Status::Active | Status::Converted)
    }
}

/// One half-open interval `[start_ms, end_ms)` on one resource of the company.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub resource: ResourceId,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A reservation as the `Book` stores it. Strings are boxed (no spare capacity) because a
/// million of these live in memory at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    pub token: Uuid,
    /// Creation order inside the company; lists answer newest first by it.
    pub seq: u64,
    /// Stored status. `Active` may already be past `expires_at_ms`: see [`Reservation::status_at`].
    pub status: Status,
    pub segments: Box<[Segment]>,
    pub call_id: Option<Arc<str>>,
    pub customer_phone: Option<Box<str>>,
    pub service_id: Option<Box<str>>,
    pub reserved_at_ms: i64,
    pub expires_at_ms: i64,
    /// What happened after the hold; `None` while it is a plain hold, which most of the live
    /// reservations are, so they do not pay 80 bytes for fields they do not use.
    pub outcome: Option<Box<Outcome>>,
}

/// What happened to a reservation after it was held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub appointment_id: Option<Box<str>>,
    pub cancel_reason: Option<Box<str>>,
    pub converted_at_ms: Option<i64>,
    pub cancelled_at_ms: Option<i64>,
    pub expired_at_ms: Option<i64>,
}

/// The outcome of a reservation to which nothing has happened yet.
static NO_OUTCOME: Outcome = Outcome {
    appointment_id: None,
    cancel_reason: None,
    converted_at_ms: None,
    cancelled_at_ms: None,
    expired_at_ms: None,
};

impl Outcome {
    /// Boxed, or `None` when nothing happened (how a `Reservation` stores it).
    pub fn boxed(self) -> Option<Box<Outcome>> {
        (self != NO_OUTCOME).then(|| Box::new(self))
    }
}

impl Reservation {
    /// What happened after the hold (all `None` for a plain hold).
    pub fn outcome(&self) -> &Outcome {
        self.outcome.as_deref().unwrap_or(&NO_OUTCOME)
    }

    /// The outcome, to record what just happened.
    pub fn outcome_mut(&mut self) -> &mut Outcome {
        self.outcome.get_or_insert_with(Box::default)
    }

    /// The status as every reader must see it at `now_ms`: an active hold at or past its expiry
    /// is expired.
    pub fn status_at(&self, now_ms: i64) -> Status {
        if self.status == Status::Active && now_ms >= self.expires_at_ms {
            Status::Expired
        } else {
            self.status
        }
    }

    /// Whether this reservation blocks its slots at `now_ms`.
    pub fn is_live_at(&self, now_ms: i64) -> bool {
        self.status_at(now_ms).is_live()
    }

    /// Whole seconds left before expiry, rounded up; 0 unless active.
    pub fn time_remaining_seconds(&self, now_ms: i64) -> i64 {
        if self.status_at(now_ms) != Status::Active {
            return 0;
        }
        (self.expires_at_ms - now_ms + 999) / 1_000
    }
}

/// One segment as callers see it, with the resource's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentView {
    pub resource: Arc<str>,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A reservation as answered to callers, read at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReservationView {
    pub token: Uuid,
    pub company: Arc<str>,
    pub status: Status,
    pub compound: bool,
    pub segments: Vec<SegmentView>,
    pub call_id: Option<Arc<str>>,
    pub customer_phone: Option<Box<str>>,
    pub service_id: Option<Box<str>>,
    pub reserved_at_ms: i64,
    pub expires_at_ms: i64,
    pub time_remaining_seconds: i64,
    pub appointment_id: Option<Box<str>>,
    pub converted_at_ms: Option<i64>,
    pub cancelled_at_ms: Option<i64>,
    pub cancel_reason: Option<Box<str>>,
    pub expired_at_ms: Option<i64>,
}

/// What a conflicting reservation was, as far as a stranger may know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConflictKind {
    Hold,
    Booking,
}

impl ConflictKind {
    /// The API's word for this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::Hold => "hold",
            ConflictKind::Booking => "booking",
        }
    }
}

/// One interval that blocked a hold: never the other caller's token or personal data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictView {
    pub resource: Arc<str>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub kind: ConflictKind,
}
