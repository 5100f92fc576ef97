//! Every failure an HTTP caller can see, and the one place where each becomes a status code and
//! an `application/problem+json` body (RFC 9457, the error table of `docs/API.md`).
//!
//! Handlers return `Result<_, ApiError>`; `From` conversions bring engine and core errors in, so
//! no handler chooses a status code for an error by itself. `type` is the API's bare word
//! (`conflict`, `not_found`, ...), not a URI: the contract fixes it that way. Invalid requests
//! also carry `field`, the part of the request at fault, which `detail` names as well.

use crate::actors::engine::EngineError;
use crate::core::error::BookError;
use crate::core::reservation::ConflictView;
use crate::http::time::Instant;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Why a request failed, as the HTTP caller sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The company's book refused the request (or the edge refused it with the same rules).
    #[error(transparent)]
    Book(#[from] BookError),
    /// The company's actor could not be reached (the server is shutting down), or the change
    /// could not be made durable, or there is no data directory to snapshot into.
    #[error("not available right now: {0}")]
    Unavailable(String),
    /// Keys are configured and the request has none, or an unknown one.
    #[error("a valid 'Authorization: Bearer KEY' header is required")]
    Unauthorized,
    /// A valid key of another company.
    #[error("this key does not reach company '{company}'")]
    Forbidden { company: String },
    /// The body is over the route's bound (`limits::BODY_BYTES_MAX`, or
    /// `limits::VOICE_BODY_BYTES_MAX` on the voice routes).
    #[error("the body is over {bytes_max} bytes")]
    PayloadTooLarge { bytes_max: usize },
    /// The body is not declared as JSON.
    #[error("the body must be application/json, not {content_type}")]
    UnsupportedMediaType { content_type: String },
    /// No route has this path.
    #[error("no such path: {path}")]
    NoRoute { path: String },
    /// The path exists, the method does not.
    #[error("method {method} is not allowed here")]
    MethodNotAllowed { method: String },
    /// The server is up but not yet restored and serving.
    #[error("the server is starting: not yet restored and serving")]
    NotReady,
}

/// The problem types of the API (`docs/API.md`'s error table): each fixes the answer's status,
/// its `type` word and its title. `ApiError` maps every error to one, and `/openapi.json`
/// documents each operation's errors from the same list, so the document and the answers
/// cannot disagree on a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProblemType {
    InvalidRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    NoSlot,
    InvalidState,
    IdempotencyMismatch,
    OutsideHours,
    Expired,
    PayloadTooLarge,
    UnsupportedMediaType,
    LimitReached,
    Unavailable,
}

impl ProblemType {
    /// Every problem type, in the order of the API's error table.
    pub const ALL: [ProblemType; 15] = [
        ProblemType::InvalidRequest,
        ProblemType::Unauthorized,
        ProblemType::Forbidden,
        ProblemType::NotFound,
        ProblemType::MethodNotAllowed,
        ProblemType::Conflict,
        ProblemType::NoSlot,
        ProblemType::InvalidState,
        ProblemType::IdempotencyMismatch,
        ProblemType::OutsideHours,
        ProblemType::Expired,
        ProblemType::PayloadTooLarge,
        ProblemType::UnsupportedMediaType,
        ProblemType::LimitReached,
        ProblemType::Unavailable,
    ];

    /// The `type` word of the body.
    pub fn word(self) -> &'static str {
        match self {
            ProblemType::InvalidRequest => "invalid_request",
            ProblemType::Unauthorized => "unauthorized",
            ProblemType::Forbidden => "forbidden",
            ProblemType::NotFound => "not_found",
            ProblemType::MethodNotAllowed => "method_not_allowed",
            ProblemType::Conflict => "conflict",
            ProblemType::NoSlot => "no_slot",
            ProblemType::InvalidState => "invalid_state",
            ProblemType::IdempotencyMismatch => "idempotency_mismatch",
            ProblemType::OutsideHours => "outside_hours",
            ProblemType::Expired => "expired",
            ProblemType::PayloadTooLarge => "payload_too_large",
            ProblemType::UnsupportedMediaType => "unsupported_media_type",
            ProblemType::LimitReached => "limit_reached",
            ProblemType::Unavailable => "unavailable",
        }
    }

    /// The HTTP status of the answer.
    pub fn status(self) -> StatusCode {
        match self {
            ProblemType::InvalidRequest => StatusCode::BAD_REQUEST,
            ProblemType::Unauthorized => StatusCode::UNAUTHORIZED,
            ProblemType::Forbidden => StatusCode::FORBIDDEN,
            ProblemType::NotFound => StatusCode::NOT_FOUND,
            ProblemType::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemType::Conflict
            | ProblemType::NoSlot
            | ProblemType::InvalidState
            | ProblemType::IdempotencyMismatch
            | ProblemType::OutsideHours => StatusCode::CONFLICT,
            ProblemType::Expired => StatusCode::GONE,
            ProblemType::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemType::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemType::LimitReached => StatusCode::TOO_MANY_REQUESTS,
            ProblemType::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `title` of the body: the same for every answer of the type.
    pub fn title(self) -> &'static str {
        match self {
            ProblemType::InvalidRequest => "Invalid request",
            ProblemType::Unauthorized => "Unauthorized",
            ProblemType::Forbidden => "Forbidden",
            ProblemType::NotFound => "Not found",
            ProblemType::MethodNotAllowed => "Method not allowed",
            ProblemType::Conflict => "The time is taken",
            ProblemType::NoSlot => "No free slot",
            ProblemType::InvalidState => "Not allowed in this state",
            ProblemType::IdempotencyMismatch => "Idempotency key reused",
            ProblemType::OutsideHours => "Outside opening hours",
            ProblemType::Expired => "The hold has expired",
            ProblemType::PayloadTooLarge => "Payload too large",
            ProblemType::UnsupportedMediaType => "Unsupported media type",
            ProblemType::LimitReached => "Limit reached",
            ProblemType::Unavailable => "Unavailable",
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> ApiError {
        match error {
            EngineError::Book(book) => ApiError::Book(book),
            EngineError::Unavailable(mailbox) => ApiError::Unavailable(mailbox.to_string()),
            EngineError::Durability(detail) => ApiError::Unavailable(detail),
        }
    }
}

impl ApiError {
    /// Shorthand for an invalid request naming `field`.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> ApiError {
        ApiError::Book(BookError::invalid(field, detail))
    }

    /// The API's problem type of this error, which fixes its status, `type` word and title.
    pub fn problem_type(&self) -> ProblemType {
        match self {
            ApiError::Book(book) => match book {
                BookError::InvalidRequest { .. } => ProblemType::InvalidRequest,
                BookError::NotFound => ProblemType::NotFound,
                BookError::Conflict { .. } => ProblemType::Conflict,
                BookError::NoSlot => ProblemType::NoSlot,
                BookError::InvalidState { .. } => ProblemType::InvalidState,
                BookError::Expired => ProblemType::Expired,
                BookError::LimitReached { .. } => ProblemType::LimitReached,
                BookError::IdempotencyMismatch => ProblemType::IdempotencyMismatch,
                BookError::OutsideHours { .. } => ProblemType::OutsideHours,
            },
            ApiError::Unavailable(_) | ApiError::NotReady => ProblemType::Unavailable,
            ApiError::Unauthorized => ProblemType::Unauthorized,
            ApiError::Forbidden { .. } => ProblemType::Forbidden,
            ApiError::PayloadTooLarge { .. } => ProblemType::PayloadTooLarge,
            ApiError::UnsupportedMediaType { .. } => ProblemType::UnsupportedMediaType,
            ApiError::NoRoute { .. } => ProblemType::NotFound,
            ApiError::MethodNotAllowed { .. } => ProblemType::MethodNotAllowed,
        }
    }

    /// The API's `type` word.
    pub fn kind(&self) -> &'static str {
        self.problem_type().word()
    }

    /// The problem body of this error.
    pub fn problem(&self) -> Problem {
        let mut problem = Problem {
            kind: self.kind(),
            title: self.problem_type().title(),
            status: self.status_code().as_u16(),
            detail: self.to_string(),
            field: None,
            conflicts: None,
            current_status: None,
            resource: None,
        };
        match self {
            ApiError::Book(BookError::InvalidRequest { field, detail }) => {
                // `detail` names the field first, so a caller reading only `detail` finds it.
                problem.detail = format!("{field}: {detail}");
                problem.field = Some(field.clone());
            }
            ApiError::Book(BookError::Conflict { conflicts }) => {
                problem.conflicts = Some(conflicts.iter().map(ConflictDto::from).collect());
            }
            ApiError::Book(BookError::InvalidState { current_status, .. }) => {
                problem.current_status = Some(current_status.as_str());
            }
            ApiError::Book(BookError::OutsideHours { resource }) => {
                problem.resource = Some(resource.clone());
            }
            _ => {}
        }
        problem
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.problem_type().status()
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.problem();
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if matches!(self, ApiError::Unauthorized) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.body(body)
    }
}

/// An error body (RFC 9457), with the extra members the API names. Its OpenAPI schemas, one
/// per problem type, are built in `http::responses`.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    /// The API's error word ([`ProblemType::word`]).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// `invalid_request` only: the part of the request at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// `conflict` only: what is in the way (never another caller's token or personal data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<Vec<ConflictDto>>,
    /// `invalid_state` only: the reservation's status now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<&'static str>,
    /// `outside_hours` only: the resource that is not open then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// One interval that blocked a hold.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ConflictDto {
    #[serde(serialize_with = "crate::http::dto::shared")]
    #[schema(value_type = String)]
    pub resource: std::sync::Arc<str>,
    #[schema(schema_with = crate::http::dto::schemas::instant)]
    pub start: Instant,
    #[schema(schema_with = crate::http::dto::schemas::instant)]
    pub end: Instant,
    /// `hold` or `booking`.
    #[schema(schema_with = crate::http::dto::schemas::conflict_kind, example = "booking")]
    pub kind: &'static str,
}

impl From<&ConflictView> for ConflictDto {
    fn from(view: &ConflictView) -> ConflictDto {
        ConflictDto {
            resource: view.resource.clone(),
            start: Instant(view.start_ms),
            end: Instant(view.end_ms),
            kind: view.kind.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reservation::{ConflictKind, Status};
    use actix::MailboxError;

    fn body_of(error: &ApiError) -> serde_json::Value {
        serde_json::to_value(error.problem()).unwrap()
    }

    /// Goal: the status code and `type` of every error follow the API's table, one to one.
    #[test]
    fn table_of_the_api() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (
                ApiError::invalid("end", "must be after start"),
                400,
                "invalid_request",
            ),
            (ApiError::Unauthorized, 401, "unauthorized"),
            (
                ApiError::Forbidden {
                    company: "x".into(),
                },
                403,
                "forbidden",
            ),
            (BookError::NotFound.into(), 404, "not_found"),
            (ApiError::NoRoute { path: "/x".into() }, 404, "not_found"),
            (
                ApiError::MethodNotAllowed {
                    method: "PUT".into(),
                },
                405,
                "method_not_allowed",
            ),
            (
                BookError::Conflict { conflicts: vec![] }.into(),
                409,
                "conflict",
            ),
            (BookError::NoSlot.into(), 409, "no_slot"),
            (
                BookError::InvalidState {
                    current_status: Status::Cancelled,
                    detail: "d".into(),
                }
                .into(),
                409,
                "invalid_state",
            ),
            (
                BookError::IdempotencyMismatch.into(),
                409,
                "idempotency_mismatch",
            ),
            (BookError::Expired.into(), 410, "expired"),
            (
                ApiError::PayloadTooLarge { bytes_max: 65_536 },
                413,
                "payload_too_large",
            ),
            (
                ApiError::UnsupportedMediaType {
                    content_type: "text/plain".into(),
                },
                415,
                "unsupported_media_type",
            ),
            (
                BookError::LimitReached { detail: "d".into() }.into(),
                429,
                "limit_reached",
            ),
            (
                EngineError::Unavailable(MailboxError::Closed).into(),
                503,
                "unavailable",
            ),
            (ApiError::NotReady, 503, "unavailable"),
        ];
        for (error, status, kind) in cases {
            assert_eq!(error.status_code().as_u16(), status, "{error:?}");
            let body = body_of(&error);
            assert_eq!(body["type"], kind, "{error:?}");
            assert_eq!(body["status"], status, "{error:?}");
            assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
            let response = error.error_response();
            assert_eq!(
                response.headers().get(header::CONTENT_TYPE).unwrap(),
                PROBLEM_JSON
            );
        }
    }

    /// Goal: the extra members appear exactly with their error type.
    #[test]
    fn extra_members() {
        let invalid = body_of(&ApiError::invalid("segments[0].end", "must be after start"));
        assert_eq!(invalid["field"], "segments[0].end");
        assert!(invalid["detail"]
            .as_str()
            .unwrap()
            .starts_with("segments[0].end"));
        assert!(invalid.get("conflicts").is_none());

        let conflict = body_of(
            &BookError::Conflict {
                conflicts: vec![ConflictView {
                    resource: "r1".into(),
                    start_ms: 0,
                    end_ms: 1_800_000,
                    kind: ConflictKind::Booking,
                }],
            }
            .into(),
        );
        assert_eq!(
            conflict["conflicts"],
            serde_json::json!([{"resource": "r1", "start": "1970-01-01T00:00:00Z",
                "end": "1970-01-01T00:30:00Z", "kind": "booking"}])
        );
        let state = body_of(
            &BookError::InvalidState {
                current_status: Status::Converted,
                detail: "d".into(),
            }
            .into(),
        );
        assert_eq!(state["current_status"], "converted");
        assert!(state.get("field").is_none());
    }
}
