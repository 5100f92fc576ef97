//! The admin page in a real headless Chromium against a real server: signing in, a hold made
//! over the API appearing in the day view within 2 seconds without a reload, its countdown
//! running, its event pushed to the live list (which stays still while paused), cancelling
//! from the page (checked over the API), a company key that never sees
//! another company, and the companies table updating by itself. Each test saves a screenshot
//! under `target/browser/`.
//!
//! Chromium is Debian's (`/usr/bin/chromium`, or `HOLDFAST_CHROMIUM`); `.ci/run` installs it. A
//! missing browser fails these tests: they never skip.

mod http_support;

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use holdfast::core::book::Settings;
use holdfast::http::auth::Keys;
use http_support::{slot, TestServer, HOLDS};
use reqwest::Method;
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ADMIN: &str = "admin-key-0123456789";
const ACME: &str = "acme-key-0123456789";
const BETA: &str = "beta-key-0123456789";

fn keys() -> Keys {
    Keys::from_toml(&format!(
        "admin = \"{ADMIN}\"\n[companies]\nacme = \"{ACME}\"\nbeta = \"{BETA}\"\n"
    ))
    .unwrap()
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("HOLDFAST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "Chromium is needed at {} (apt-get install chromium, or set HOLDFAST_CHROMIUM)",
        path.display()
    );
    path
}

fn browser() -> Browser {
    let args: Vec<&OsStr> = [
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-quic",
        "--disable-dev-shm-usage",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    let options = LaunchOptions::default_builder()
        .path(Some(chromium()))
        .headless(true)
        // As root, Chromium runs only without its sandbox.
        .sandbox(false)
        .window_size(Some((1280, 900)))
        .args(args)
        .idle_browser_timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    Browser::new(options).expect("Chromium starts")
}

/// A runtime for the test's own API calls beside the browser.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn api(server: &TestServer, method: Method, path: &str, key: &str, body: Option<Value>) -> Value {
    runtime().block_on(async {
        let body = body.map(|b| b.to_string());
        let response = server.send(method, path, Some(key), body.as_deref()).await;
        let status = response.status();
        assert!(status.is_success(), "{path}: {status}");
        response.json().await.unwrap_or(Value::Null)
    })
}

fn hold(server: &TestServer, company: &str, resource: &str, minutes: i64) -> String {
    let body = json!({"resource": resource, "start": slot(minutes), "end": slot(minutes + 60),
        "ttl_seconds": 600, "call_id": format!("call-{resource}-{minutes}")});
    let path = format!("/v1/companies/{company}/holds");
    let hold = api(server, Method::POST, &path, ADMIN, Some(body));
    hold["token"].as_str().unwrap().to_string()
}

fn sign_in(tab: &Arc<Tab>, server: &TestServer, key: &str) {
    tab.navigate_to(&server.url("/admin")).unwrap();
    tab.wait_until_navigated().unwrap();
    tab.wait_for_element("#key").unwrap().click().unwrap();
    tab.type_str(key).unwrap();
    tab.wait_for_element("#sign-in").unwrap().click().unwrap();
    tab.wait_for_element("#companies")
        .expect("signed in: the companies page");
}

/// Clicks `selector`. The day refreshes every second, so the element found may be replaced
/// before the click lands: then it is found again, as a person would aim again.
fn click(tab: &Arc<Tab>, selector: &str) {
    let started = Instant::now();
    loop {
        let clicked = tab
            .wait_for_element(selector)
            .and_then(|e| e.click().map(drop));
        match clicked {
            Ok(()) => return,
            Err(error) => assert!(
                started.elapsed() < Duration::from_secs(5),
                "{selector}: {error}"
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn screenshot(tab: &Arc<Tab>, name: &str) {
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

/// Reads the text of `selector` until `done` holds or `limit` passes.
fn wait_text(
    tab: &Arc<Tab>,
    selector: &str,
    limit: Duration,
    done: impl Fn(&str) -> bool,
) -> String {
    let started = Instant::now();
    loop {
        let text = tab
            .find_element(selector)
            .and_then(|e| e.get_inner_text())
            .unwrap_or_default();
        if done(&text) {
            return text;
        }
        assert!(
            started.elapsed() < limit,
            "{selector}: {text:?} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn seconds_left(countdown: &str) -> i64 {
    let (minutes, seconds) = countdown.trim().split_once(':').expect("m:ss");
    minutes.parse::<i64>().unwrap() * 60 + seconds.parse::<i64>().unwrap()
}

/// Goal: the admin signs in; a hold made over the API shows in the open day view within 2 s
/// without a reload, its countdown running down; cancelling it on the page frees the slot (the
/// API reads it cancelled) and it leaves the view.
#[test]
fn the_day_view_is_live_and_cancels() {
    let server = TestServer::start_with(Settings::default(), keys());
    let hours = json!({"hours": {"mon": [["08:00", "18:00"]], "tue": [["08:00", "18:00"]]}});
    api(
        &server,
        Method::PUT,
        "/v1/companies/acme/resources/chair-1",
        ADMIN,
        Some(hours.clone()),
    );
    api(
        &server,
        Method::PUT,
        "/v1/companies/acme/resources/chair-2",
        ADMIN,
        Some(json!({"capacity": 2})),
    );
    let booked = hold(&server, "acme", "chair-2", 120);
    api(
        &server,
        Method::POST,
        &format!("{HOLDS}/{booked}/confirm"),
        ADMIN,
        Some(json!({})),
    );
    hold(&server, "acme", "chair-2", 150);
    let browser = browser();
    let tab = browser.new_tab().unwrap();
    sign_in(&tab, &server, ADMIN);
    tab.navigate_to(&server.url("/admin/companies/acme?date=2026-12-01"))
        .unwrap();
    tab.wait_for_element("#day").unwrap();

    let made = Instant::now();
    let token = hold(&server, "acme", "chair-1", 0);
    let row = format!("tr[data-token=\"{token}\"]");
    tab.wait_for_element_with_custom_timeout(&row, Duration::from_secs(2))
        .expect("the new hold shows within 2 s");
    println!("the hold showed after {:?}", made.elapsed());
    tab.wait_for_element(&format!("rect.hold[data-token=\"{token}\"]"))
        .expect("drawn in its lane");
    let countdown = format!("{row} .countdown");
    let first = wait_text(&tab, &countdown, Duration::from_secs(3), |t| {
        t.contains(':')
    });
    std::thread::sleep(Duration::from_millis(2_100));
    let later = wait_text(&tab, &countdown, Duration::from_secs(3), |t| {
        t.contains(':')
    });
    assert!(
        seconds_left(&later) < seconds_left(&first),
        "{first} then {later}"
    );
    // The charts of the last hour are drawn.
    wait_text(&tab, ".activity", Duration::from_secs(3), |t| {
        t.contains("converted")
    });
    // The live events list got the hold's event, pushed over the stream.
    wait_text(&tab, "#events", Duration::from_secs(3), |t| {
        t.contains("created chair-1")
    });
    screenshot(&tab, "admin-day.png");
    // Paused, the list takes nothing new.
    let lines = |tab: &Arc<Tab>| tab.find_elements("#events li").map_or(0, |l| l.len());
    tab.wait_for_element("#pause-events")
        .unwrap()
        .click()
        .unwrap();
    let before = lines(&tab);
    hold(&server, "acme", "chair-1", 300);
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(lines(&tab), before, "a paused list stays as it is");

    click(&tab, &format!("{row} button.cancel"));
    // The API reads it cancelled, then the page no longer shows it (twice in a row: a look
    // during a refresh may miss a row that is there).
    let started = Instant::now();
    loop {
        let read = api(
            &server,
            Method::GET,
            &format!("{HOLDS}/{token}"),
            ADMIN,
            None,
        );
        if read["status"] == "cancelled" {
            assert_eq!(read["cancel_reason"], "admin_cancelled");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not cancelled: {read}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut absent = 0;
    while absent < 2 {
        absent = if tab.find_element(&row).is_ok() {
            0
        } else {
            absent + 1
        };
        assert!(started.elapsed() < Duration::from_secs(8), "the row stays");
        std::thread::sleep(Duration::from_millis(200));
    }
    screenshot(&tab, "admin-day-after-cancel.png");
}

/// Goal: a company key sees its own company only: the table lists it alone, and another
/// company's day answers "not found".
#[test]
fn a_company_key_sees_its_own_company_only() {
    let server = TestServer::start_with(Settings::default(), keys());
    hold(&server, "acme", "chair-1", 0);
    hold(&server, "beta", "desk", 0);
    let browser = browser();
    let tab = browser.new_tab().unwrap();
    sign_in(&tab, &server, ACME);
    let rows = wait_text(&tab, "#companies tbody", Duration::from_secs(3), |t| {
        t.contains("acme")
    });
    assert!(!rows.contains("beta"), "{rows}");
    tab.navigate_to(&server.url("/admin/companies/beta"))
        .unwrap();
    tab.wait_until_navigated().unwrap();
    let heading = wait_text(&tab, "h1", Duration::from_secs(3), |t| !t.is_empty());
    assert_eq!(heading, "Not found");
    screenshot(&tab, "admin-company-key.png");
}

/// Goal: the companies table updates by itself: a hold made over the API raises the live
/// count in the open page.
#[test]
fn the_companies_table_updates_live() {
    let server = TestServer::start_with(Settings::default(), keys());
    hold(&server, "acme", "chair-1", 0);
    let browser = browser();
    let tab = browser.new_tab().unwrap();
    sign_in(&tab, &server, ADMIN);
    let live = "tr[data-company=\"acme\"] td.live";
    wait_text(&tab, live, Duration::from_secs(3), |t| t == "1");
    hold(&server, "acme", "chair-1", 60);
    hold(&server, "acme", "chair-1", 120);
    wait_text(&tab, live, Duration::from_secs(5), |t| t == "3");
    screenshot(&tab, "admin-companies.png");
}
