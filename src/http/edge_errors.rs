//! The counting of the requests this layer refuses on its own. A request refused by the HTTP
//! layer itself (a malformed body, an unknown field, a token that is not a UUID) never reaches the book that counts requests. [`count_edge_errors`]
//! wraps the company routes, notices such an answer (an API error of a type the metrics count,
//! from a request that never reached the engine), and counts it before the answer leaves, so the
//! caller reading its metrics next sees it counted: if the company's actor runs, by awaiting one
//! `RecordRejected` message to it; otherwise in the engine's edge counters
//! (`holdfast_edge_rejected_total`), because a refused request must not start a company (a
//! caller sending malformed bodies for invented companies would start actors for nothing). The
//! company id is validated first: an invalid id (400 on the `company` field) is not counted
//! anywhere and starts no actor. Answers about keys (401, 403), sizes and media types
//! (413, 415) and methods (405) are not counted: they are not among the API's `errors_by_type`,
//! and 401s come from callers who are not the company's.

use crate::actors::engine::track_book_reached;
use crate::core::command::validate_id;
use crate::http::error::ApiError;
use crate::http::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use uuid::Uuid;

/// Middleware on the company routes (see the module doc): counts an API error the edge answered
/// without reaching the engine, into the company's metrics if it runs, else engine-wide.
pub async fn count_edge_errors(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let (response, reached) = track_book_reached(next.call(request)).await;
    let response = response?;
    if reached || !response.status().is_client_error() {
        return Ok(response);
    }
    let error_type = response
        .response()
        .error()
        .and_then(|error| error.as_error::<ApiError>())
        .and_then(|error| match error {
            ApiError::Book(book) => Some(book.error_type()),
            _ => None,
        });
    let Some(error_type) = error_type else {
        return Ok(response);
    };
    let http_request = response.request();
    let company = http_request.match_info().get("company").unwrap_or_default();
    if validate_id("company", company).is_err() {
        return Ok(response);
    }
    let token = http_request
        .match_info()
        .get("token")
        .and_then(|text| Uuid::try_parse(text).ok());
    let Some(state) = http_request.app_data::<web::Data<AppState>>() else {
        return Ok(response);
    };
    if let Err(error) = state
        .engine
        .record_rejected(company, error_type, token)
        .await
    {
        // Only during shutdown (the actor is gone); the caller's answer stands regardless.
        tracing::debug!(%error, company, "an edge refusal was not counted");
    }
    Ok(response)
}
