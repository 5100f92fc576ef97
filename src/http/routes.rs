//! The handlers: one per operation of `docs/API.md`, each a few lines that take checked parts
//! (see `extract`), build a core command (see `dto`), await the `Engine` and answer. They hold no
//! reservation state and choose no status code for an error: `error::ApiError` does. The
//! handlers of a company's configuration live in `configuration`; the endpoint table here lists
//! every route, theirs too.
//!
//! The `#[utoipa::path]` attributes on the handlers are what `/openapi.json` is generated from.

use crate::actors::engine::EngineError;
use crate::http::dto::{
    no_query, AvailabilityDto, AvailabilityQuery, CancelQuery, CompaniesDto, ConfirmBody,
    ExtendBody, HealthDto, HoldBody, HoldListDto, ListQuery, MetricsDto, ReservationDto,
    SnapshotDto,
};
use crate::http::edge_errors::count_edge_errors;
use crate::http::error::ApiError;
use crate::http::extract::{
    AdminAccess, CompanyAccess, IdempotencyKey, OptionalJson, StrictJson, TokenPath,
};
use crate::http::responses::{
    AdminProblems, CancelHoldProblems, ChangeHoldProblems, CompanyReadProblems, CreateHoldProblems,
    GetHoldProblems, HealthProblems, PrometheusProblems,
};
use crate::http::AppState;
use crate::http::{configuration, events, openapi, voice, webhooks};
use crate::limits;
use actix_web::http::{header, Method};
use actix_web::middleware::from_fn;
use actix_web::{
    web, FromRequest, Handler, HttpRequest, HttpResponse, Responder, ResponseError, Route,
};

/// The header that marks a create answered from an earlier request with the same
/// `Idempotency-Key` (the status is 201 either way, so a retrying caller needs no special case).
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// One path of the API and its methods. [`configure`] installs exactly these and
/// [`registered`] lists them, so the test of `/openapi.json` holds the document to what is
/// served.
struct Endpoint {
    path: String,
    /// Under `/v1/companies/{company}`: the requests the edge refuses on its own are counted in
    /// the company's metrics (see `edge_errors`).
    company: bool,
    routes: Vec<(Method, Route)>,
}

fn endpoints() -> Vec<Endpoint> {
    vec![
        company(
            "/holds",
            vec![on(Method::POST, create_hold), on(Method::GET, list_holds)],
        ),
        company(
            "/holds/{token}",
            vec![on(Method::GET, get_hold), on(Method::DELETE, cancel_hold)],
        ),
        company(
            "/holds/{token}/confirm",
            vec![on(Method::POST, confirm_hold)],
        ),
        company("/holds/{token}/extend", vec![on(Method::POST, extend_hold)]),
        company("/availability", vec![on(Method::GET, availability)]),
        company("/metrics", vec![on(Method::GET, company_metrics)]),
        company(
            "/settings",
            vec![
                on(Method::GET, configuration::get_settings),
                on(Method::PUT, configuration::put_settings),
            ],
        ),
        company(
            "/resources",
            vec![on(Method::GET, configuration::list_resources)],
        ),
        company(
            "/resources/{resource}",
            vec![
                on(Method::GET, configuration::get_resource),
                on(Method::PUT, configuration::put_resource),
                on(Method::DELETE, configuration::delete_resource),
            ],
        ),
        company("/events", vec![on(Method::GET, events::company_events)]),
        company("/webhooks", vec![on(Method::GET, webhooks::list_webhooks)]),
        company(
            "/webhooks/{id}",
            vec![
                on(Method::GET, webhooks::get_webhook),
                on(Method::PUT, webhooks::put_webhook),
                on(Method::DELETE, webhooks::delete_webhook),
            ],
        ),
        service("/v1/events", vec![on(Method::GET, events::all_events)]),
        service(
            "/v1/voice/retell/{company}",
            vec![on(Method::POST, voice::retell_function)],
        ),
        service(
            "/v1/voice/retell/{company}/events",
            vec![on(Method::POST, voice::retell_event)],
        ),
        service(
            "/v1/voice/vapi/{company}",
            vec![on(Method::POST, voice::vapi_message)],
        ),
        service("/v1/admin/companies", vec![on(Method::GET, companies)]),
        service("/v1/admin/snapshot", vec![on(Method::POST, admin_snapshot)]),
        service("/metrics", vec![on(Method::GET, prometheus_metrics)]),
        service("/healthz", vec![on(Method::GET, healthz)]),
        service("/openapi.json", vec![on(Method::GET, openapi_json)]),
    ]
}

fn company(path: &str, routes: Vec<(Method, Route)>) -> Endpoint {
    Endpoint {
        path: format!("/v1/companies/{{company}}{path}"),
        company: true,
        routes,
    }
}

fn service(path: &str, routes: Vec<(Method, Route)>) -> Endpoint {
    Endpoint {
        path: path.into(),
        company: false,
        routes,
    }
}

/// `handler` on `method`. The method is kept beside the route because a `Route` does not tell
/// which method it guards, and `registered` needs it.
fn on<F, Args>(method: Method, handler: F) -> (Method, Route)
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    (method.clone(), web::method(method).to(handler))
}

/// Installs every route, and the problem+json answers for unknown paths and methods.
pub fn configure(config: &mut web::ServiceConfig) {
    for endpoint in endpoints() {
        let routes = endpoint.routes.into_iter().map(|(_, route)| route);
        if endpoint.company {
            config.service(resource(&endpoint.path, routes).wrap(from_fn(count_edge_errors)));
        } else {
            config.service(resource(&endpoint.path, routes));
        }
    }
    crate::http::admin::configure(config);
    config.default_service(web::to(no_route));
}

/// Every method and path pattern the server answers (`/v1/companies/{company}/holds`).
pub fn registered() -> Vec<(Method, String)> {
    endpoints()
        .into_iter()
        .flat_map(|endpoint| {
            let path = endpoint.path;
            endpoint
                .routes
                .into_iter()
                .map(move |(method, _)| (method, path.clone()))
        })
        .collect()
}

/// A path's methods; any other method is a problem+json 405.
fn resource(path: &str, routes: impl IntoIterator<Item = Route>) -> actix_web::Resource {
    routes
        .into_iter()
        .fold(web::resource(path), |resource, route| resource.route(route))
        .default_service(web::to(method_not_allowed))
}

fn location(company: &str, reservation: &ReservationDto) -> String {
    format!("/v1/companies/{company}/holds/{}", reservation.token)
}

/// Create a hold: single, compound, or first available.
#[utoipa::path(
    post,
    path = "/v1/companies/{company}/holds",
    tag = "holds",
    params(CompanyAccess, IdempotencyKey),
    request_body = HoldBody,
    responses(
        (status = 201, description = "Held (or, under the same `Idempotency-Key` and body, \
            the first answer's reservation as it is now)", body = ReservationDto,
            headers(
                ("Location" = String, description = "The reservation's path"),
                ("Idempotent-Replayed" = String,
                    description = "`true` when answered from an earlier request with the same key"),
            )),
        CreateHoldProblems,
    ),
    security(("bearer" = []), ())
)]
pub async fn create_hold(
    company: CompanyAccess,
    state: web::Data<AppState>,
    request: HttpRequest,
    idempotency_key: IdempotencyKey,
    body: StrictJson<HoldBody>,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let command = body.0.into_request(idempotency_key.0)?;
    let outcome = state.engine.hold(&company.0, command).await?;
    let reservation = ReservationDto::from(outcome.reservation);
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, location(&company.0, &reservation)));
    if outcome.replayed {
        response.insert_header((IDEMPOTENT_REPLAYED, "true"));
    }
    Ok(response.json(reservation))
}

/// Read one reservation.
#[utoipa::path(
    get,
    path = "/v1/companies/{company}/holds/{token}",
    tag = "holds",
    params(CompanyAccess, TokenPath),
    responses((status = 200, description = "The reservation", body = ReservationDto), GetHoldProblems),
    security(("bearer" = []), ())
)]
pub async fn get_hold(
    company: CompanyAccess,
    token: TokenPath,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let view = state.engine.get(&company.0, token.0).await?;
    Ok(HttpResponse::Ok().json(ReservationDto::from(view)))
}

/// List reservations, newest first, a page at a time; filters combine with AND.
#[utoipa::path(
    get,
    path = "/v1/companies/{company}/holds",
    tag = "holds",
    params(CompanyAccess, ListQuery),
    responses((status = 200, description = "The matching reservations", body = HoldListDto), CompanyReadProblems),
    security(("bearer" = []), ())
)]
pub async fn list_holds(
    company: CompanyAccess,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let filter = ListQuery::filter(&company.0, request.query_string())?;
    let page = state.engine.list(&company.0, filter).await?;
    Ok(HttpResponse::Ok().json(HoldListDto::from(page)))
}

/// Convert a hold into a booking; repeating with the same `appointment_id` answers the same.
#[utoipa::path(
    post,
    path = "/v1/companies/{company}/holds/{token}/confirm",
    tag = "holds",
    params(CompanyAccess, TokenPath),
    request_body(content = Option<ConfirmBody>, description = "Optional: an empty body is `{}`"),
    responses((status = 200, description = "The booking", body = ReservationDto), ChangeHoldProblems),
    security(("bearer" = []), ())
)]
pub async fn confirm_hold(
    company: CompanyAccess,
    token: TokenPath,
    state: web::Data<AppState>,
    request: HttpRequest,
    body: OptionalJson<ConfirmBody>,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let view = state
        .engine
        .confirm(&company.0, token.0, body.0.appointment_id)
        .await?;
    Ok(HttpResponse::Ok().json(ReservationDto::from(view)))
}

/// Move an active hold's expiry to now + `ttl_seconds`, within the extension cap.
#[utoipa::path(
    post,
    path = "/v1/companies/{company}/holds/{token}/extend",
    tag = "holds",
    params(CompanyAccess, TokenPath),
    request_body(content = Option<ExtendBody>, description = "Optional: an empty body is `{}`"),
    responses((status = 200, description = "The hold, with its new expiry", body = ReservationDto), ChangeHoldProblems),
    security(("bearer" = []), ())
)]
pub async fn extend_hold(
    company: CompanyAccess,
    token: TokenPath,
    state: web::Data<AppState>,
    request: HttpRequest,
    body: OptionalJson<ExtendBody>,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let ttl_seconds = body.0.ttl_seconds.unwrap_or(limits::TTL_SECONDS_DEFAULT);
    let view = state
        .engine
        .extend(&company.0, token.0, ttl_seconds)
        .await?;
    Ok(HttpResponse::Ok().json(ReservationDto::from(view)))
}

/// Cancel an active hold or a booking, freeing its slot; repeating answers the same.
#[utoipa::path(
    delete,
    path = "/v1/companies/{company}/holds/{token}",
    tag = "holds",
    params(CompanyAccess, TokenPath, CancelQuery),
    responses((status = 200, description = "The cancelled reservation", body = ReservationDto), CancelHoldProblems),
    security(("bearer" = []), ())
)]
pub async fn cancel_hold(
    company: CompanyAccess,
    token: TokenPath,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let reason = CancelQuery::reason(request.query_string())?;
    let view = state.engine.cancel(&company.0, token.0, reason).await?;
    Ok(HttpResponse::Ok().json(ReservationDto::from(view)))
}

/// Free start times per resource, stepping from `from`.
#[utoipa::path(
    get,
    path = "/v1/companies/{company}/availability",
    tag = "availability",
    params(CompanyAccess, AvailabilityQuery),
    responses((status = 200, description = "Free starts per resource", body = AvailabilityDto), CompanyReadProblems),
    security(("bearer" = []), ())
)]
pub async fn availability(
    company: CompanyAccess,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = AvailabilityQuery::request(request.query_string())?;
    let slots = state.engine.availability(&company.0, query).await?;
    Ok(HttpResponse::Ok().json(AvailabilityDto::from(slots)))
}

/// The company's counters, rates and the seed system's criteria.
#[utoipa::path(
    get,
    path = "/v1/companies/{company}/metrics",
    tag = "metrics",
    params(CompanyAccess),
    responses((status = 200, description = "The company's metrics", body = MetricsDto), CompanyReadProblems),
    security(("bearer" = []), ())
)]
pub async fn company_metrics(
    company: CompanyAccess,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let report = state.engine.metrics(&company.0).await?;
    let calls = state.engine.call_metrics().of(&company.0);
    Ok(HttpResponse::Ok().json(MetricsDto::new(company.0, report, calls)))
}

/// Every started company with its counts (admin key).
#[utoipa::path(
    get,
    path = "/v1/admin/companies",
    tag = "admin",
    responses((status = 200, description = "Every started company", body = CompaniesDto), AdminProblems),
    security(("bearer" = []), ())
)]
pub async fn companies(
    _admin: AdminAccess,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let companies = state.engine.companies().await?;
    Ok(HttpResponse::Ok().json(CompaniesDto::from(companies)))
}

/// Writes a snapshot now (admin key); answers its file, size, reservation count and time.
#[utoipa::path(
    post,
    path = "/v1/admin/snapshot",
    tag = "admin",
    responses((status = 200, description = "The snapshot written", body = SnapshotDto), AdminProblems),
    security(("bearer" = []), ())
)]
pub async fn admin_snapshot(
    _admin: AdminAccess,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    no_query(request.query_string())?;
    let info = state
        .snapshots
        .take()
        .await
        .map_err(|error| EngineError::Durability(error.to_string()))?;
    Ok(HttpResponse::Ok().json(SnapshotDto::from(info)))
}

/// Every company's counters and histograms and the engine's gauges, in the Prometheus text
/// format. Needs the admin key when keys are configured: it names every company and its
/// volumes. A query string is ignored (scrapers may be set up to send one).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", body = String,
            content_type = crate::metrics::CONTENT_TYPE),
        PrometheusProblems,
    ),
    security(("bearer" = []), ())
)]
pub async fn prometheus_metrics(
    _admin: AdminAccess,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let text = crate::metrics::render_engine(&state.engine, Some(state.snapshots.dir())).await?;
    Ok(HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(text))
}

/// 200 once restored and serving; 503 before, while draining at shutdown, and while changes
/// are refused because they cannot be made durable (the detail says why). Needs no key.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    responses(
        (status = 200, description = "Restored and serving", body = HealthDto),
        HealthProblems,
    )
)]
pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if !state.ready.is_ready() {
        return Err(ApiError::NotReady);
    }
    if let Some(reason) = state.snapshots.log_writer().refusal() {
        return Err(ApiError::Unavailable(reason));
    }
    Ok(HttpResponse::Ok().json(HealthDto { status: "ok" }))
}

/// This API as OpenAPI 3, generated from the handlers and types. Needs no key.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json"))
)]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi::json())
}

async fn method_not_allowed(request: HttpRequest) -> HttpResponse {
    let method = request.method().to_string();
    ApiError::MethodNotAllowed { method }.error_response()
}

async fn no_route(request: HttpRequest) -> HttpResponse {
    // Echo a bounded prefix only: the path is the caller's and may be long.
    let path = request.path().chars().take(limits::ID_BYTES_MAX).collect();
    ApiError::NoRoute { path }.error_response()
}
