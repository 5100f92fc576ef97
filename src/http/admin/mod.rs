//! The admin page, `GET /admin`: a live view for operators, served by the binary with every
//! asset inside it. Companies at a glance (the seed's criteria, events per minute) and a
//! company's day (a lane per resource with its opening hours, holds with their countdown,
//! bookings), with cancel and extend. Server-rendered HTML ([`pages`], maud); live parts are
//! fragments htmx fetches again (every second for the day, every two for the table).
//!
//! Security: signing in with a key opens a session ([`session`]); the admin key sees every
//! company, a company key its own only (any other answers 404, as a company that does not
//! exist would). Every state-changing request is refused when it comes from another site
//! (`Sec-Fetch-Site`, `Origin`). Every answer carries `Content-Security-Policy: default-src
//! 'self'`. With no keys file the page is open, like the API, and the server binds loopback only.
//!
//! The page is no part of the JSON API: its routes are installed beside the API's and are not
//! in `/openapi.json`.

pub mod events;
pub mod pages;
pub mod session;

use crate::core::command::{validate_id, ListFilter};
use crate::core::reservation::Status;
use crate::http::auth::Role;
use crate::http::time;
use crate::http::AppState;
use crate::limits;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::Markup;
use pages::{CompanyRow, Day};
use serde::Deserialize;
use uuid::Uuid;

/// The assets compiled into the binary: name, content type, bytes.
const ASSETS: [(&str, &str, &[u8]); 4] = [
    (
        "admin.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/admin.js"),
    ),
    (
        "admin.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/admin.css"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/vendor/htmx.min.js"),
    ),
    (
        "htmx-ext-sse.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/vendor/htmx-ext-sse.js"),
    ),
];

/// What every admin answer says about where its parts may come from.
pub(crate) const POLICY: &str = "default-src 'self'; frame-ancestors 'none'; form-action 'self'";

/// Installs the admin page's routes.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/admin", web::get().to(home))
        .route("/admin/login", web::get().to(login_form))
        .route("/admin/login", web::post().to(login))
        .route("/admin/logout", web::post().to(logout))
        .route("/admin/companies", web::get().to(companies))
        .route("/admin/companies/table", web::get().to(companies_table))
        .route("/admin/companies/{company}", web::get().to(day_page))
        .route(
            "/admin/companies/{company}/day",
            web::get().to(day_fragment),
        )
        .route(
            "/admin/companies/{company}/events",
            web::get().to(live_events),
        )
        .route(
            "/admin/companies/{company}/activity",
            web::get().to(activity),
        )
        .route(
            "/admin/companies/{company}/holds/{token}/cancel",
            web::post().to(cancel),
        )
        .route(
            "/admin/companies/{company}/holds/{token}/extend",
            web::post().to(extend),
        )
        .route("/admin/assets/{name}", web::get().to(asset));
}

fn html(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .finish()
}

fn not_found() -> HttpResponse {
    html(
        StatusCode::NOT_FOUND,
        pages::message("Not found", "There is no such page here."),
    )
}

/// Who is looking, and whether they may act: the admin on an open server, else the session's.
fn viewer_acting(state: &AppState, request: &HttpRequest) -> Option<(Role, bool)> {
    if state.keys.is_open() {
        return Some((Role::Admin, true));
    }
    let token = request.cookie(session::COOKIE)?;
    state
        .admin_sessions
        .role(token.value(), state.engine.clock().now_ms())
}

/// Who is looking.
fn viewer(state: &AppState, request: &HttpRequest) -> Option<Role> {
    viewer_acting(state, request).map(|(role, _)| role)
}

/// Whether `role` sees `company`.
fn sees(role: &Role, company: &str) -> bool {
    match role {
        Role::Admin => true,
        Role::Company(own) => &**own == company,
    }
}

/// Whether a state-changing request comes from this site: a browser says where a request
/// comes from (`Sec-Fetch-Site`, `Origin`); one from elsewhere is a forged form.
fn same_site(request: &HttpRequest) -> bool {
    let headers = request.headers();
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|site| site != "same-origin" && site != "none") {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let info = request.connection_info();
    let host = info.host();
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

fn forbidden_cross_site() -> HttpResponse {
    html(
        StatusCode::FORBIDDEN,
        pages::message(
            "Refused",
            "A change must come from this page, not another site.",
        ),
    )
}

/// The company in the path, when it is an id the viewer sees.
fn company_in(request: &HttpRequest, role: &Role) -> Option<String> {
    let company = request.match_info().get("company")?;
    (validate_id("company", company).is_ok() && sees(role, company)).then(|| company.to_string())
}

async fn home(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    match viewer(&state, &request) {
        Some(_) => redirect("/admin/companies"),
        None => redirect("/admin/login"),
    }
}

async fn login_form() -> HttpResponse {
    html(StatusCode::OK, pages::login(None))
}

#[derive(Deserialize)]
struct LoginForm {
    key: String,
}

async fn login(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    if !same_site(&request) {
        return forbidden_cross_site();
    }
    let Some((role, may_act)) = state.keys.viewer_of(&form.key) else {
        return html(
            StatusCode::UNAUTHORIZED,
            pages::login(Some("That key is not known.")),
        );
    };
    let token = state
        .admin_sessions
        .open(role, may_act, state.engine.clock().now_ms());
    let cookie = Cookie::build(session::COOKIE, token)
        .path("/admin")
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::seconds(
            limits::ADMIN_SESSION_SECONDS,
        ))
        .finish();
    let mut answer = redirect("/admin/companies");
    let _ = answer.add_cookie(&cookie);
    answer
}

async fn logout(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    if !same_site(&request) {
        return forbidden_cross_site();
    }
    if let Some(token) = request.cookie(session::COOKIE) {
        state.admin_sessions.close(token.value());
    }
    let mut answer = redirect("/admin/login");
    let mut gone = Cookie::new(session::COOKIE, "");
    gone.set_path("/admin");
    gone.make_removal();
    let _ = answer.add_cookie(&gone);
    answer
}

/// The rows the viewer sees, sorted by company.
async fn rows(state: &AppState, role: &Role) -> Vec<CompanyRow> {
    let samples = state.engine.metrics_samples().await.unwrap_or_default();
    let mut rows: Vec<CompanyRow> = samples
        .into_iter()
        .filter(|s| sees(role, &s.company))
        .map(|s| CompanyRow {
            company: s.company.to_string(),
            report: s.sample.report,
            events_last_minute: s.sample.events_last_minute,
        })
        .collect();
    if let (Role::Company(own), true) = (role, rows.is_empty()) {
        // A company not started yet still has its row.
        if let Ok(report) = state.engine.metrics(own).await {
            rows.push(CompanyRow {
                company: own.to_string(),
                report,
                events_last_minute: 0,
            });
        }
    }
    rows
}

async fn companies(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let Some(role) = viewer(&state, &request) else {
        return redirect("/admin/login");
    };
    let rows = rows(&state, &role).await;
    html(
        StatusCode::OK,
        pages::companies(pages::companies_table(&rows)),
    )
}

async fn companies_table(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let Some(role) = viewer(&state, &request) else {
        return redirect("/admin/login");
    };
    let rows = rows(&state, &role).await;
    html(StatusCode::OK, pages::companies_table(&rows))
}

#[derive(Deserialize)]
struct DayQuery {
    date: Option<String>,
}

/// Everything a day view draws, or the answer to give instead.
async fn day(
    state: &AppState,
    request: &HttpRequest,
    query: &DayQuery,
) -> Result<Day, HttpResponse> {
    let (role, may_act) = viewer_acting(state, request).ok_or_else(|| redirect("/admin/login"))?;
    let company = company_in(request, &role).ok_or_else(not_found)?;
    let engine = &state.engine;
    let now_ms = engine.clock().now_ms();
    let unavailable = |_| {
        html(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::message("Unavailable", "The server cannot answer now; try again."),
        )
    };
    let (settings, configured) = engine.resources(&company).await.map_err(unavailable)?;
    let zone = settings.time_zone();
    let date = match query.date.as_deref() {
        Some(text) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            html(
                StatusCode::BAD_REQUEST,
                pages::message("Not a date", "The date must be written YYYY-MM-DD."),
            )
        })?,
        None => crate::http::voice::speech::local(zone, now_ms).date_naive(),
    };
    let (day_start_ms, day_end_ms) = time::local_day(zone, date);
    let filter = ListFilter::default()
        .with_from_ms(day_start_ms)
        .and_then(|f| f.with_to_ms(day_end_ms))
        .and_then(|f| f.with_limit(limits::ADMIN_DAY_RESERVATIONS_MAX))
        .map_err(|_| not_found())?;
    let page = engine.list(&company, filter).await.map_err(unavailable)?;
    let mut reservations: Vec<_> = page
        .reservations
        .into_iter()
        .filter(|r| matches!(r.status, Status::Active | Status::Converted))
        .collect();
    reservations.sort_by_key(|r| r.segments.first().map(|s| s.start_ms));
    let mut resources: Vec<(String, Option<_>)> = configured
        .into_iter()
        .map(|entry| (entry.resource, Some(entry.config)))
        .collect();
    for reservation in &reservations {
        for segment in &reservation.segments {
            if !resources
                .iter()
                .any(|(name, _)| **name == *segment.resource)
            {
                resources.push((segment.resource.to_string(), None));
            }
        }
    }
    resources.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Day {
        company,
        zone,
        date,
        day_start_ms,
        day_end_ms,
        now_ms,
        resources,
        reservations,
        may_act,
    })
}

async fn day_page(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<DayQuery>,
) -> HttpResponse {
    let day = match day(&state, &request, &query).await {
        Ok(day) => day,
        Err(answer) => return answer,
    };
    let recent = recent_events(&state, &day.company).await;
    let events = events::lines(day.zone, &recent);
    html(
        StatusCode::OK,
        pages::day_page(&day, pages::day_fragment(&day), events),
    )
}

/// The company's newest events, oldest first.
async fn recent_events(
    state: &AppState,
    company: &str,
) -> Vec<std::sync::Arc<crate::core::events::Event>> {
    let engine = &state.engine;
    // A position past every event answers only where the next one will be.
    let Ok(end) = engine.events(company, i64::MAX as u64, 1).await else {
        return Vec::new();
    };
    let count = limits::ADMIN_EVENTS_SHOWN as u64;
    let after = end.next_seq.saturating_sub(count + 1);
    engine
        .events(company, after, limits::ADMIN_EVENTS_SHOWN)
        .await
        .map(|page| page.events)
        .unwrap_or_default()
}

/// The company's last hour as small charts.
async fn activity(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let Some(role) = viewer(&state, &request) else {
        return redirect("/admin/login");
    };
    let Some(company) = company_in(&request, &role) else {
        return not_found();
    };
    match state.engine.activity(&company).await {
        Ok(minutes) => html(StatusCode::OK, pages::activity(&minutes)),
        Err(_) => html(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::message("Unavailable", "The server cannot answer now; try again."),
        ),
    }
}

/// The company's events as they happen, as Server-Sent Events of HTML lines.
async fn live_events(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let Some(role) = viewer(&state, &request) else {
        return redirect("/admin/login");
    };
    let Some(company) = company_in(&request, &role) else {
        return not_found();
    };
    let engine = &state.engine;
    let (settings, subscription) = match tokio::try_join!(
        engine.settings(&company),
        engine.subscribe_events(&company, 0, 0)
    ) {
        Ok(both) => both,
        Err(_) => {
            return html(
                StatusCode::SERVICE_UNAVAILABLE,
                pages::message("Unavailable", "The server cannot answer now; try again."),
            )
        }
    };
    events::stream(
        engine.clone(),
        state.ready.clone(),
        settings.time_zone(),
        subscription.receiver,
    )
}

async fn day_fragment(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<DayQuery>,
) -> HttpResponse {
    match day(&state, &request, &query).await {
        Ok(day) => html(StatusCode::OK, pages::day_fragment(&day)),
        Err(answer) => answer,
    }
}

#[derive(Deserialize)]
struct CancelForm {
    reason: String,
    date: Option<String>,
}

#[derive(Deserialize)]
struct ExtendForm {
    ttl_seconds: i64,
    date: Option<String>,
}

/// Why a change is not made.
enum Refusal {
    CrossSite,
    SignIn,
    NotFound,
    ReadOnly,
}

impl Refusal {
    fn answer(self) -> HttpResponse {
        match self {
            Refusal::CrossSite => forbidden_cross_site(),
            Refusal::SignIn => redirect("/admin/login"),
            Refusal::NotFound => not_found(),
            Refusal::ReadOnly => html(
                StatusCode::FORBIDDEN,
                pages::message("Read only", "This key may look, not change anything."),
            ),
        }
    }
}

/// The viewer's company and the token of a change's path.
fn change_target(state: &AppState, request: &HttpRequest) -> Result<(String, Uuid), Refusal> {
    if !same_site(request) {
        return Err(Refusal::CrossSite);
    }
    let (role, may_act) = viewer_acting(state, request).ok_or(Refusal::SignIn)?;
    let company = company_in(request, &role).ok_or(Refusal::NotFound)?;
    if !may_act {
        return Err(Refusal::ReadOnly);
    }
    let token = request
        .match_info()
        .get("token")
        .and_then(|t| Uuid::try_parse(t).ok())
        .ok_or(Refusal::NotFound)?;
    Ok((company, token))
}

fn back_to(company: &str, date: Option<&str>) -> HttpResponse {
    let date = date
        .filter(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
        .map(|d| format!("?date={d}"))
        .unwrap_or_default();
    redirect(&format!("/admin/companies/{company}{date}"))
}

fn refused(error: crate::actors::engine::EngineError) -> HttpResponse {
    html(
        StatusCode::CONFLICT,
        pages::message("Not changed", &error.to_string()),
    )
}

async fn cancel(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<CancelForm>,
) -> HttpResponse {
    let (company, token) = match change_target(&state, &request) {
        Ok(target) => target,
        Err(refusal) => return refusal.answer(),
    };
    let reason = Some(form.reason.clone());
    match state.engine.cancel(&company, token, reason).await {
        Ok(_) => back_to(&company, form.date.as_deref()),
        Err(error) => refused(error),
    }
}

async fn extend(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<ExtendForm>,
) -> HttpResponse {
    let (company, token) = match change_target(&state, &request) {
        Ok(target) => target,
        Err(refusal) => return refusal.answer(),
    };
    match state.engine.extend(&company, token, form.ttl_seconds).await {
        Ok(_) => back_to(&company, form.date.as_deref()),
        Err(error) => refused(error),
    }
}

async fn asset(request: HttpRequest) -> HttpResponse {
    let name = request.match_info().get("name").unwrap_or_default();
    match ASSETS.iter().find(|(asset, _, _)| *asset == name) {
        Some((_, content_type, bytes)) => HttpResponse::Ok()
            .content_type(*content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
            .body(*bytes),
        None => not_found(),
    }
}
