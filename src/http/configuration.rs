//! The handlers of a company's configuration: its settings (`/settings`) and its resources'
//! opening hours, closures and capacity (`/resources`, `/resources/{resource}`). Like the
//! handlers in `routes`, each takes checked parts, builds the core's value through `dto`, awaits
//! the `Engine` and answers; `routes` lists them in its endpoint table beside the others.
//!
//! A body or path segment that is refused is refused here, before the company's actor hears of
//! it. A change is answered once it is durable (the engine's change path), with the whole value
//! it left, so a caller never needs a second read.

use crate::actors::company::ResourceEntry;
use crate::core::error::BookError;
use crate::http::dto::{
    no_query, ResourceBody, ResourceDto, ResourcesDto, SettingsBody, SettingsDto,
};
use crate::http::error::ApiError;
use crate::http::extract::{CompanyAccess, ResourcePath, StrictJson};
use crate::http::responses::{CompanyReadProblems, ConfigChangeProblems, ResourceProblems};
use crate::http::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

/// The company's settings: time zone, locale, and the defaults of holds.
#[utoipa::path(
    get,
    path = "/v1/companies/{company}/settings",
    tag = "configuration",
    params(CompanyAccess),
    responses((status = 200, description = "The company's settings", body = SettingsDto), CompanyReadProblems),
    security(("bearer" = []), ())
)]
pub async fn get_settings(
    company: CompanyAccess,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let settings = state.engine.settings(&company.0).await?;
    Ok(HttpResponse::Ok().json(SettingsDto::from(settings)))
}

/// Changes some of the company's settings (a field left out keeps its value); answers them all.
/// New holds follow them; nothing held changes.
#[utoipa::path(
    put,
    path = "/v1/companies/{company}/settings",
    tag = "configuration",
    params(CompanyAccess),
    request_body = SettingsBody,
    responses((status = 200, description = "The settings after the change", body = SettingsDto), ConfigChangeProblems),
    security(("bearer" = []), ())
)]
pub async fn put_settings(
    company: CompanyAccess,
    state: web::Data<AppState>,
    request: HttpRequest,
    body: StrictJson<SettingsBody>,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let patch = body.0.into_patch()?;
    let settings = state.engine.update_settings(&company.0, patch).await?;
    Ok(HttpResponse::Ok().json(SettingsDto::from(settings)))
}

/// Every configured resource, sorted by name.
#[utoipa::path(
    get,
    path = "/v1/companies/{company}/resources",
    tag = "configuration",
    params(CompanyAccess),
    responses((status = 200, description = "Every configured resource", body = ResourcesDto), CompanyReadProblems),
    security(("bearer" = []), ())
)]
pub async fn list_resources(
    company: CompanyAccess,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let (settings, entries) = state.engine.resources(&company.0).await?;
    Ok(HttpResponse::Ok().json(ResourcesDto::new(&settings, &entries)))
}

/// One resource's configuration; 404 when it has none (it is then open around the clock, of
/// capacity 1).
#[utoipa::path(
    get,
    path = "/v1/companies/{company}/resources/{resource}",
    tag = "configuration",
    params(CompanyAccess, ResourcePath),
    responses((status = 200, description = "The resource's configuration", body = ResourceDto), ResourceProblems),
    security(("bearer" = []), ())
)]
pub async fn get_resource(
    company: CompanyAccess,
    resource: ResourcePath,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let (settings, entry) = state.engine.resource(&company.0, &resource.0).await?;
    Ok(HttpResponse::Ok().json(ResourceDto::new(&settings, &entry)))
}

/// Configures a resource (label, capacity, opening hours, closures), replacing what it had.
/// New holds follow it; nothing held changes.
#[utoipa::path(
    put,
    path = "/v1/companies/{company}/resources/{resource}",
    tag = "configuration",
    params(CompanyAccess, ResourcePath),
    request_body = ResourceBody,
    responses(
        (status = 200, description = "Replaced: the resource as configured now", body = ResourceDto),
        (status = 201, description = "Configured for the first time", body = ResourceDto),
        ConfigChangeProblems,
    ),
    security(("bearer" = []), ())
)]
pub async fn put_resource(
    company: CompanyAccess,
    resource: ResourcePath,
    state: web::Data<AppState>,
    request: HttpRequest,
    body: StrictJson<ResourceBody>,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let config = body.0.into_config()?;
    let created = state
        .engine
        .put_resource(&company.0, &resource.0, config.clone())
        .await?;
    // The answer's closures are written in the zone the company has now; the change itself
    // does not depend on it.
    let settings = state.engine.settings(&company.0).await?;
    let entry = ResourceEntry {
        resource: resource.0,
        config,
    };
    let answer = ResourceDto::new(&settings, &entry);
    Ok(put_answer(created, answer))
}

/// The answer of a `PUT` that configures something: 201 when it was not configured before,
/// else 200, with what it is now.
pub fn put_answer(created: bool, answer: impl serde::Serialize) -> HttpResponse {
    if created {
        HttpResponse::Created().json(answer)
    } else {
        HttpResponse::Ok().json(answer)
    }
}

/// Removes a resource's configuration: it is open around the clock and of capacity 1 again.
/// Reservations are never touched.
#[utoipa::path(
    delete,
    path = "/v1/companies/{company}/resources/{resource}",
    tag = "configuration",
    params(CompanyAccess, ResourcePath),
    responses((status = 204, description = "Removed"), ResourceProblems),
    security(("bearer" = []), ())
)]
pub async fn delete_resource(
    company: CompanyAccess,
    resource: ResourcePath,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let existed = state
        .engine
        .delete_resource(&company.0, &resource.0)
        .await?;
    if !existed {
        return Err(ApiError::Book(BookError::NotFound));
    }
    Ok(HttpResponse::NoContent().finish())
}
