//! The errors of the core, one variant per error type of the API (`docs/API.md`), so that the
//! HTTP layer maps them one to one in a single place. Expected failures are values, never panics.

use crate::core::reservation::{ConflictView, Status};

/// Why a request to a company's `Book` failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    /// The request breaks a rule or a limit; `field` names the part of the request at fault.
    #[error("invalid {field}: {detail}")]
    InvalidRequest { field: String, detail: String },
    /// No reservation with this token in this company.
    #[error("no such reservation")]
    NotFound,
    /// The hold overlaps live reservations; at most `limits::CONFLICTS_REPORTED_MAX` are listed.
    #[error("the requested time overlaps {} live reservation(s)", conflicts.len())]
    Conflict { conflicts: Vec<ConflictView> },
    /// A first-available search found no free start time.
    #[error("no listed resource is free for the duration anywhere in the window")]
    NoSlot,
    /// The operation does not apply to a reservation in `current_status`.
    #[error("{detail}")]
    InvalidState {
        current_status: Status,
        detail: String,
    },
    /// Confirm or extend of a hold whose time to live has run out.
    #[error("the hold has expired")]
    Expired,
    /// The company holds its maximum of live reservations (or resources), or the server its
    /// maximum of live reservations over every company, or of companies.
    #[error("{detail}")]
    LimitReached { detail: String },
    /// The `Idempotency-Key` was used before with a different request.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    /// The requested time is outside the resource's opening hours, or in one of its closures,
    /// on the company's wall clock.
    #[error("the requested time on {resource} is outside its opening hours or in a closure")]
    OutsideHours { resource: String },
}

/// The error types counted in the metrics, in the API's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorType {
    InvalidRequest,
    NotFound,
    Conflict,
    NoSlot,
    InvalidState,
    Expired,
    LimitReached,
    IdempotencyMismatch,
    OutsideHours,
}

impl ErrorType {
    /// Every error type, in the order metrics list them.
    pub const ALL: [ErrorType; 9] = [
        ErrorType::Conflict,
        ErrorType::NoSlot,
        ErrorType::Expired,
        ErrorType::InvalidState,
        ErrorType::InvalidRequest,
        ErrorType::NotFound,
        ErrorType::LimitReached,
        ErrorType::IdempotencyMismatch,
        ErrorType::OutsideHours,
    ];

    /// The API's `type` string for this error.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "invalid_request",
            ErrorType::NotFound => "not_found",
            ErrorType::Conflict => "conflict",
            ErrorType::NoSlot => "no_slot",
            ErrorType::InvalidState => "invalid_state",
            ErrorType::Expired => "expired",
            ErrorType::LimitReached => "limit_reached",
            ErrorType::IdempotencyMismatch => "idempotency_mismatch",
            ErrorType::OutsideHours => "outside_hours",
        }
    }

    /// Position in [`ErrorType::ALL`], used to index counter arrays.
    pub fn index(self) -> usize {
        ErrorType::ALL
            .iter()
            .position(|candidate| *candidate == self)
            .unwrap_or(0)
    }
}

impl BookError {
    /// The metrics type of this error.
    pub fn error_type(&self) -> ErrorType {
        match self {
            BookError::InvalidRequest { .. } => ErrorType::InvalidRequest,
            BookError::NotFound => ErrorType::NotFound,
            BookError::Conflict { .. } => ErrorType::Conflict,
            BookError::NoSlot => ErrorType::NoSlot,
            BookError::InvalidState { .. } => ErrorType::InvalidState,
            BookError::Expired => ErrorType::Expired,
            BookError::LimitReached { .. } => ErrorType::LimitReached,
            BookError::IdempotencyMismatch => ErrorType::IdempotencyMismatch,
            BookError::OutsideHours { .. } => ErrorType::OutsideHours,
        }
    }

    /// The same error with an `InvalidRequest`'s field named as a part of `outer` (`resource`
    /// inside `segments[1]` is `segments[1].resource`); any other error unchanged.
    pub fn within(self, outer: &str) -> BookError {
        match self {
            BookError::InvalidRequest { field, detail } => BookError::InvalidRequest {
                field: format!("{outer}.{field}"),
                detail,
            },
            other => other,
        }
    }

    /// Shorthand for an `InvalidRequest` naming `field`.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> BookError {
        BookError::InvalidRequest {
            field: field.into(),
            detail: detail.into(),
        }
    }

    /// The field an invalid request names.
    pub fn field(&self) -> Option<&str> {
        match self {
            BookError::InvalidRequest { field, .. } => Some(field),
            _ => None,
        }
    }
}
