//! The checked commands the `Book` accepts, and the rules that check them. Times are
//! milliseconds since the Unix epoch.
//!
//! A command is checked once, when it is built: every command type has private fields and
//! constructors (or builders) that return `InvalidRequest` naming the field at fault, so a value
//! of it is always valid and the `Book` takes it as it is. The HTTP layer builds commands from
//! its raw forms, log replay from its records, tests and benches directly; all meet the same
//! rules. What the `Book` takes bare (an extension's ttl, an appointment id, a cancel reason) it
//! still checks itself with the same rules.
//!
//! - [`rules`]: one function per kind of value (ids, free texts, phones, instants, intervals);
//! - [`hold`]: the hold command, its targets and options, and idempotency keys;
//! - [`query`]: a list's filters and an availability query;
//! - [`cursor`]: where a list's next page begins, and which list it belongs to.

pub mod cursor;
pub mod hold;
pub mod query;
pub mod rules;

pub use cursor::ListCursor;
pub use hold::{
    FindRequest, HoldOptions, HoldRequest, HoldTarget, Idempotency, IdempotencyKey, SegmentRequest,
    Segments,
};
pub use query::{AvailabilityRequest, ListFilter};
pub use rules::{
    validate_capacity, validate_id, validate_idempotency_key, validate_interval, validate_length,
    validate_phone, validate_reason, validate_text, validate_time, validate_ttl,
};
