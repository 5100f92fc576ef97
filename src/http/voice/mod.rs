//! The voice routes: a phone agent's function calls land on holdfast itself. Retell's custom
//! functions and call webhooks (`POST /v1/voice/retell/{company}`, `.../events`) and Vapi's
//! server messages (`POST /v1/voice/vapi/{company}`) are translated here into the four functions
//! of [`functions`] and the release at a call's end; the answers speak the company's language and
//! local time ([`speech`]). A thin translation at the edge: no reservation logic of its own, and
//! no state (the call id on each reservation ties a call's holds together).
//!
//! A well-formed, authenticated request is answered 200 whatever the booking's outcome (the
//! platforms retry or drop anything else; the outcome is in the body). A body that is not the
//! platform's shape (no call id) is 400 naming the field; a bad signature or key is 401.

pub mod args;
pub mod functions;
pub mod retell;
pub mod speech;
pub mod vapi;

use crate::core::command::{validate_id, validate_text};
use crate::core::error::BookError;
use crate::http::dto::no_query;
use crate::http::error::ApiError;
use crate::http::extract::{parse_json, read_body_up_to};
use crate::http::responses::{VoiceProblems, VoiceRetellProblems};
use crate::http::AppState;
use crate::limits;
use actix_web::web::BytesMut;
use actix_web::{web, HttpRequest, HttpResponse};
use functions::{VoiceAnswer, VoiceCall, VoiceFunction};
use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType};
use utoipa::ToSchema;

/// The `{company}` of a voice route, checked (the platforms' routes carry no bearer key for
/// Retell, so `CompanyAccess` is not the extractor here).
fn company_of(request: &HttpRequest) -> Result<String, ApiError> {
    let company = request.match_info().get("company").unwrap_or_default();
    validate_id("company", company)?;
    Ok(company.to_string())
}

/// Reads a voice route's body: JSON, up to [`limits::VOICE_BODY_BYTES_MAX`].
async fn body_of(request: &HttpRequest, payload: web::Payload) -> Result<BytesMut, ApiError> {
    let mut payload = payload.into_inner();
    let body = read_body_up_to(request, &mut payload, limits::VOICE_BODY_BYTES_MAX).await?;
    if body.is_empty() {
        return Err(ApiError::invalid("body", "a JSON object is required"));
    }
    Ok(body)
}

/// Checks a Retell request's signature with the company's Retell API key (nothing on an open
/// server).
fn check_retell(
    state: &AppState,
    request: &HttpRequest,
    company: &str,
    body: &[u8],
) -> Result<(), ApiError> {
    if state.keys.is_open() {
        return Ok(());
    }
    let key = state
        .keys
        .retell_key(company)
        .ok_or(ApiError::Unauthorized)?;
    let header = request
        .headers()
        .get("x-retell-signature")
        .and_then(|value| value.to_str().ok());
    retell::verify(header, body, key, state.engine.clock().now_ms())
}

/// A Retell request's company and body, checked in order: the path, no query, the body's size
/// and type, its signature over the raw bytes, then its shape.
async fn retell_request<T: serde::de::DeserializeOwned>(
    state: &AppState,
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<(String, T), ApiError> {
    let company = company_of(request)?;
    no_query(request.query_string())?;
    let body = body_of(request, payload).await?;
    check_retell(state, request, &company, &body)?;
    Ok((company, parse_json(&body)?))
}

/// A platform's call id, checked as every call id is.
fn call_id(field: &str, id: &str) -> Result<String, ApiError> {
    validate_text(field, Some(id))?;
    Ok(id.to_string())
}

/// The answer's JSON for the model, one line, within [`limits::VOICE_ANSWER_BYTES_MAX`].
fn answer_text(answer: &VoiceAnswer) -> String {
    let text = answer.to_json();
    if text.len() <= limits::VOICE_ANSWER_BYTES_MAX {
        return text;
    }
    // Alternatives go first, then the slot's spoken form stays: never past the bound.
    let mut smaller = answer.clone();
    smaller.alternatives.clear();
    smaller.to_json()
}

/// A Retell custom function: `check_availability`, `hold_slot`, `book_appointment` or
/// `cancel_hold`, for the call in `call`. Answered 200 with the outcome.
#[utoipa::path(
    post,
    path = "/v1/voice/retell/{company}",
    tag = "voice",
    params(("company" = String, Path, description = "The company")),
    request_body(content = RetellFunctionSchema, description = "Retell's custom function call: the function's `name` and `args`, and the whole `call` object (only `call_id` and `from_number` are used)"),
    responses((status = 200, description = "The function's outcome, for the model", body = VoiceAnswerSchema), VoiceRetellProblems),
)]
pub async fn retell_function(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (company, parsed): (String, retell::FunctionBody) =
        retell_request(&state, &request, payload).await?;
    let call = VoiceCall {
        company,
        call_id: call_id("call.call_id", &parsed.call.call_id)?,
        from_number: parsed.call.from_number,
    };
    let answer = match VoiceFunction::parse(&parsed.name, &parsed.args) {
        Ok(function) => functions::run(&state.engine, &call, function).await?,
        Err(fault) => VoiceAnswer::error(fault),
    };
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(answer_text(&answer)))
}

/// A Retell call webhook: `call_ended` releases the call's active holds (reason `call_ended`)
/// unless the call was transferred; other events change nothing. Duplicates change nothing.
#[utoipa::path(
    post,
    path = "/v1/voice/retell/{company}/events",
    tag = "voice",
    params(("company" = String, Path, description = "The company")),
    request_body(content = RetellEventSchema, description = "Retell's call webhook: `event` and the whole `call` object"),
    responses((status = 204, description = "Taken"), VoiceRetellProblems),
)]
pub async fn retell_event(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (company, parsed): (String, retell::EventBody) =
        retell_request(&state, &request, payload).await?;
    let call = VoiceCall {
        company,
        call_id: call_id("call.call_id", &parsed.call.call_id)?,
        from_number: None,
    };
    if parsed.event == "call_ended" && !retell::transferred(&parsed.call) {
        functions::release(&state.engine, &call).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// A Vapi server message: `tool-calls` runs each function and answers its result; the end of a
/// call (`status-update` with `status: "ended"`, `end-of-call-report`) releases the call's
/// active holds unless it was forwarded; other types are acknowledged and change nothing.
#[utoipa::path(
    post,
    path = "/v1/voice/vapi/{company}",
    tag = "voice",
    params(("company" = String, Path, description = "The company")),
    request_body(content = VapiMessageSchema, description = "Vapi's server message"),
    responses((status = 200, description = "For `tool-calls`, each tool call's result; else an empty object", body = VapiResultsSchema), VoiceProblems),
    security(("bearer" = []), ())
)]
pub async fn vapi_message(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let company = company_of(&request)?;
    let authorization = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION);
    state.keys.authorize_company(authorization, &company)?;
    no_query(request.query_string())?;
    let body = body_of(&request, payload).await?;
    let envelope: vapi::Envelope = parse_json(&body)?;
    let message = envelope.message;
    let handled = message.kind == "tool-calls" || message.ends_call();
    if !handled {
        return Ok(HttpResponse::Ok().json(serde_json::json!({})));
    }
    let id = message
        .call
        .as_ref()
        .map(|call| call.id.as_str())
        .ok_or_else(|| BookError::invalid("message.call.id", "is required"))?;
    let call = VoiceCall {
        company,
        call_id: call_id("message.call.id", id)?,
        from_number: message.customer_number(),
    };
    if message.ends_call() {
        if !message.transferred() {
            functions::release(&state.engine, &call).await?;
        }
        return Ok(HttpResponse::Ok().json(serde_json::json!({})));
    }
    let mut results = Vec::with_capacity(message.tool_call_list.len());
    for tool_call in message
        .tool_call_list
        .iter()
        .take(limits::VOICE_TOOL_CALLS_MAX)
    {
        let (name, arguments) = tool_call.name_and_arguments();
        let name = name.unwrap_or_default();
        let answer = match VoiceFunction::parse(name, &arguments) {
            Ok(function) => functions::run(&state.engine, &call, function).await?,
            Err(fault) => VoiceAnswer::error(fault),
        };
        let text = answer_text(&answer);
        let (result, error) = if answer.result == "error" {
            (None, Some(answer.message.replace(['\n', '\r'], " ")))
        } else {
            (Some(text), None)
        };
        results.push(vapi::ToolResult {
            tool_call_id: tool_call.id.clone(),
            name: name.chars().take(limits::ID_BYTES_MAX).collect(),
            result,
            error,
        });
    }
    Ok(HttpResponse::Ok().json(vapi::Results { results }))
}

// ----- OpenAPI: the platforms' shapes, as far as holdfast reads them ---------------------------

/// Any JSON value: the platforms' free-form parts (a function's arguments, which Vapi may send
/// as a JSON string).
fn any_value() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::AnyValue)
            .build(),
    )
}

fn call_id_schema() -> Schema {
    Schema::Object(crate::http::dto::schemas::text())
}

/// Retell's function call.
#[derive(Serialize, ToSchema)]
#[schema(as = RetellFunction)]
pub struct RetellFunctionSchema {
    /// `check_availability`, `hold_slot`, `book_appointment` or `cancel_hold` (another name is
    /// answered 200 with an `error` result).
    name: String,
    /// The function's arguments (see docs/voice.md).
    #[schema(schema_with = any_value)]
    args: Option<serde_json::Value>,
    call: RetellCallSchema,
}

/// Retell's call webhook.
#[derive(Serialize, ToSchema)]
#[schema(as = RetellEvent)]
pub struct RetellEventSchema {
    /// `call_started`, `call_ended` or `call_analyzed`.
    event: String,
    call: RetellCallSchema,
}

/// The fields of Retell's call object holdfast reads; every other field is allowed.
#[derive(Serialize, ToSchema)]
#[schema(as = RetellCall)]
pub struct RetellCallSchema {
    #[schema(schema_with = call_id_schema)]
    call_id: String,
    from_number: Option<String>,
    disconnection_reason: Option<String>,
}

/// Vapi's server message envelope.
#[derive(Serialize, ToSchema)]
#[schema(as = VapiMessage)]
pub struct VapiMessageSchema {
    message: VapiInnerSchema,
}

/// The fields of a Vapi message holdfast reads; every other field is allowed.
#[derive(Serialize, ToSchema)]
#[schema(as = VapiInner)]
pub struct VapiInnerSchema {
    /// `tool-calls`, `status-update`, `end-of-call-report`; other types are acknowledged.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    kind: String,
    /// Required for `tool-calls` and a call's end (`call.id`).
    #[schema(schema_with = any_value)]
    call: Option<serde_json::Value>,
    #[schema(schema_with = any_value)]
    customer: Option<serde_json::Value>,
    #[serde(rename = "toolCallList")]
    #[schema(schema_with = any_value)]
    tool_call_list: Option<serde_json::Value>,
    status: Option<String>,
    #[serde(rename = "endedReason")]
    ended_reason: Option<String>,
}

/// A voice answer.
#[derive(Serialize, ToSchema)]
#[schema(as = VoiceAnswer)]
pub struct VoiceAnswerSchema {
    /// `held`, `taken`, `none`, `booked`, `expired`, `cancelled` or `error`.
    result: String,
    slot: Option<SpokenSlotSchema>,
    alternatives: Option<Vec<SpokenSlotSchema>>,
    expires_in_seconds: Option<i64>,
    /// One sentence the agent can say.
    message: String,
}

/// A slot as an agent reads it.
#[derive(Serialize, ToSchema)]
#[schema(as = SpokenSlot)]
pub struct SpokenSlotSchema {
    resource: String,
    /// RFC 3339 with the company's offset.
    start: String,
    spoken: String,
}

/// Vapi's answer: each tool call's result (the answer's JSON as one line) or error; an empty
/// object for other messages.
#[derive(Serialize, ToSchema)]
#[schema(as = VapiResults)]
pub struct VapiResultsSchema {
    results: Option<Vec<VapiResultSchema>>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = VapiResult)]
pub struct VapiResultSchema {
    #[serde(rename = "toolCallId")]
    tool_call_id: String,
    name: String,
    result: Option<String>,
    error: Option<String>,
}
