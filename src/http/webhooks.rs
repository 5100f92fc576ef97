//! The handlers of a company's webhook endpoints: `GET .../webhooks`, and `PUT`, `GET`, `DELETE`
//! of `.../webhooks/{id}`. Like the other handlers, each takes checked parts, builds the core's
//! value through `dto`, awaits the `Engine` and answers; `routes` lists them in its endpoint
//! table.
//!
//! A `PUT` is checked in full before the company's actor hears of it: the body's form, then where
//! the URL's host resolves to (a loopback or private address is 400 unless the server runs with
//! `--webhook-allow-private`). Once the change is durable, the endpoint's delivery task is
//! started (or told to re-read its configuration and try again at once), and the answer carries
//! the secret when this `PUT` set it. A `GET` never shows the secret.

use crate::actors::company::WebhookEntry;
use crate::core::error::BookError;
use crate::http::configuration::put_answer;
use crate::http::dto::{no_query, WebhookBody, WebhookDto, WebhooksDto};
use crate::http::error::ApiError;
use crate::http::extract::{CompanyAccess, StrictJson, WebhookPath};
use crate::http::responses::{CompanyReadProblems, ConfigChangeProblems, ResourceProblems};
use crate::http::AppState;
use crate::webhooks::destination;
use actix_web::{web, HttpRequest, HttpResponse};

/// Every webhook endpoint of the company, sorted by id, with how its deliveries stand.
#[utoipa::path(
    get,
    path = "/v1/companies/{company}/webhooks",
    tag = "webhooks",
    params(CompanyAccess),
    responses((status = 200, description = "Every webhook endpoint", body = WebhooksDto), CompanyReadProblems),
    security(("bearer" = []), ())
)]
pub async fn list_webhooks(
    company: CompanyAccess,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let entries = state.engine.webhooks(&company.0, None).await?;
    let webhooks = entries
        .iter()
        .map(|entry| dto_of(&state, &company.0, entry))
        .collect();
    Ok(HttpResponse::Ok().json(WebhooksDto { webhooks }))
}

/// One webhook endpoint with how its deliveries stand (never its secret); 404 when there is
/// none.
#[utoipa::path(
    get,
    path = "/v1/companies/{company}/webhooks/{id}",
    tag = "webhooks",
    params(CompanyAccess, WebhookPath),
    responses((status = 200, description = "The endpoint", body = WebhookDto), ResourceProblems),
    security(("bearer" = []), ())
)]
pub async fn get_webhook(
    company: CompanyAccess,
    id: WebhookPath,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let entries = state.engine.webhooks(&company.0, Some(&id.0)).await?;
    let entry = entries.first().ok_or(ApiError::Book(BookError::NotFound))?;
    Ok(HttpResponse::Ok().json(dto_of(&state, &company.0, entry)))
}

/// Configures a webhook endpoint, replacing what it had (its progress is kept, and deliveries
/// resume at once). Events after the first `PUT` are delivered to it, in `seq` order, at least
/// once.
#[utoipa::path(
    put,
    path = "/v1/companies/{company}/webhooks/{id}",
    tag = "webhooks",
    params(CompanyAccess, WebhookPath),
    request_body = WebhookBody,
    responses(
        (status = 200, description = "Replaced: the endpoint as configured now (with `secret` when this PUT gave one)", body = WebhookDto),
        (status = 201, description = "Configured for the first time, with its `secret`", body = WebhookDto),
        ConfigChangeProblems,
    ),
    security(("bearer" = []), ())
)]
pub async fn put_webhook(
    company: CompanyAccess,
    id: WebhookPath,
    state: web::Data<AppState>,
    request: HttpRequest,
    body: StrictJson<WebhookBody>,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let change = body.0.into_change()?;
    let allow_private = state.deliveries.allow_private();
    destination::resolve_public(change.config.url(), allow_private)
        .await
        .map_err(|e| BookError::invalid("url", e.to_string()))?;
    let (created, _) = state
        .engine
        .put_webhook(&company.0, &id.0, change.config, change.secret_drawn)
        .await?;
    state.deliveries.watch(&company.0, &id.0);
    let entries = state.engine.webhooks(&company.0, Some(&id.0)).await?;
    // Deleted between the change and this read by another caller: the change stands.
    let entry = entries.first().ok_or(ApiError::Book(BookError::NotFound))?;
    let mut answer = dto_of(&state, &company.0, entry);
    if created || !change.secret_drawn {
        answer.secret = Some(change.secret_text);
    }
    Ok(put_answer(created, answer))
}

/// Removes a webhook endpoint: nothing more is delivered to it.
#[utoipa::path(
    delete,
    path = "/v1/companies/{company}/webhooks/{id}",
    tag = "webhooks",
    params(CompanyAccess, WebhookPath),
    responses((status = 204, description = "Removed"), ResourceProblems),
    security(("bearer" = []), ())
)]
pub async fn delete_webhook(
    company: CompanyAccess,
    id: WebhookPath,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let existed = state.engine.delete_webhook(&company.0, &id.0).await?;
    state.deliveries.forget(&company.0, &id.0);
    if !existed {
        return Err(ApiError::Book(BookError::NotFound));
    }
    Ok(HttpResponse::NoContent().finish())
}

fn dto_of(state: &AppState, company: &str, entry: &WebhookEntry) -> WebhookDto {
    WebhookDto::new(entry, &state.deliveries.status(company, &entry.id))
}
