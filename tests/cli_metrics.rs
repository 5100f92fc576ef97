//! Issue 6, `holdfast metrics`: the built binary against a real server on `127.0.0.1:0` (in this
//! process, on a manual clock): the company table with each criterion marked as the JSON says,
//! `--json` as received, one line per company, `--watch` for two refreshes ended by Ctrl-C
//! (SIGINT), and the exit codes: 2 for a server that cannot be reached, 1 for a refused key.

mod http_support;

use holdfast::cli::metrics::criterion_words;
use holdfast::core::book::Settings;
use holdfast::http::auth::Keys;
use http_support::{check, single, TestServer};
use reqwest::Method;
use serde_json::Value;
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Longest wait for one line from a watching child. A guard against a hung test, not a timing
/// assertion: a refresh every 200 ms arrives far sooner.
const LINE_WAIT: Duration = Duration::from_secs(60);

fn holdfast() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_holdfast"));
    command.arg("metrics").kill_on_drop(true);
    // The environment must not choose for the test (every flag reads HOLDFAST_*).
    for variable in ["COMPANY", "WATCH", "INTERVAL", "JSON", "URL", "KEY"] {
        command.env_remove(format!("HOLDFAST_{variable}"));
    }
    command
}

async fn run(args: &[&str]) -> Output {
    holdfast()
        .args(args)
        .output()
        .await
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

/// acme: three holds, one confirmed after 30 s, one cancelled, one conflict and one malformed
/// body; beta: one hold.
async fn traffic(server: &TestServer) {
    let holds = "/v1/companies/acme/holds";
    let mut tokens = Vec::new();
    for minutes in [0, 30, 60] {
        let hold = server.post(holds, &single("r1", minutes), 201).await;
        tokens.push(hold["token"].as_str().unwrap().to_owned());
    }
    server.clock.advance_ms(30_000);
    server
        .post(&format!("{holds}/{}/confirm", tokens[0]), "", 200)
        .await;
    let cancel = format!("{holds}/{}?reason=customer_hung_up", tokens[1]);
    check(
        server.send(Method::DELETE, &cancel, None, None).await,
        200,
        None,
    )
    .await;
    let conflict = server
        .send(Method::POST, holds, None, Some(&single("r1", 0)))
        .await;
    check(conflict, 409, Some("conflict")).await;
    let malformed = server.send(Method::POST, holds, None, Some("{")).await;
    check(malformed, 400, Some("invalid_request")).await;
    server
        .post("/v1/companies/beta/holds", &single("r1", 0), 201)
        .await;
}

fn url(server: &TestServer) -> String {
    format!("http://{}", server.address)
}

/// The row of the company table named `name`: its value column.
fn row_value(table: &str, name: &str) -> String {
    let line = table
        .lines()
        .find(|line| line.trim_start().starts_with(name))
        .unwrap_or_else(|| panic!("no {name} row in\n{table}"));
    line.trim_start()[name.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// Goal: the company table shows the counts of the JSON and marks each criterion met or
/// NOT MET exactly as the JSON's `met` says (here some are met and some are not).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_company_table_marks_each_criterion() {
    let server = TestServer::start();
    traffic(&server).await;
    let json = server.get("/v1/companies/acme/metrics", 200).await;
    let output = run(&["--company", "acme", "--url", &url(&server)]).await;
    assert!(output.status.success(), "{output:?}");
    let table = stdout(&output);
    assert!(
        table.starts_with(&format!(
            "holdfast metrics: company acme at {}",
            url(&server)
        )),
        "{table}"
    );
    for field in [
        "created",
        "converted",
        "expired",
        "cancelled",
        "errors",
        "requests",
    ] {
        assert_eq!(
            row_value(&table, field),
            json[field].to_string(),
            "{field}\n{table}"
        );
    }
    assert!(table.contains("customer_hung_up 1"), "{table}");
    assert!(table.contains("conflict 1, invalid_request 1"), "{table}");
    let criteria = json["criteria"].as_array().unwrap();
    assert_eq!(criteria.len(), 4);
    let mut marks = Vec::new();
    for criterion in criteria {
        let words = criterion_words(criterion["name"].as_str().unwrap());
        let line = table
            .lines()
            .find(|line| line.trim_start().starts_with(&words))
            .unwrap_or_else(|| panic!("no line for {words}\n{table}"));
        let met = criterion["met"].as_bool().unwrap();
        let mark = if met { "  met" } else { "  NOT MET" };
        assert!(line.ends_with(mark), "{line:?} should end with {mark:?}");
        marks.push(met);
    }
    assert!(marks.contains(&true) && marks.contains(&false), "{marks:?}");
}

/// Goal: `--json` prints the API's object as received, one line, equal to `GET .../metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_prints_the_raw_object() {
    let server = TestServer::start();
    traffic(&server).await;
    let output = run(&["--company", "acme", "--json", "--url", &url(&server)]).await;
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    let printed: Value = serde_json::from_str(&text).unwrap();
    let json = server.get("/v1/companies/acme/metrics", 200).await;
    assert_eq!(printed, json);
}

/// Goal: without `--company`, one line per company with its counts and criteria met; with
/// `--json`, every company's object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_line_per_company() {
    let server = TestServer::start();
    traffic(&server).await;
    let output = run(&["--url", &url(&server)]).await;
    assert!(output.status.success(), "{output:?}");
    let table = stdout(&output);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip_while(|line| !line.starts_with("company"))
        .skip(1)
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{table}");
    for (row, company) in rows.iter().zip(["acme", "beta"]) {
        let json = server
            .get(&format!("/v1/companies/{company}/metrics"), 200)
            .await;
        assert_eq!(row[0], company);
        assert_eq!(row[1], json["created"].to_string(), "{table}");
        assert_eq!(row[2], json["converted"].to_string(), "{table}");
        assert_eq!(row[6], json["errors"].to_string(), "{table}");
        let met = json["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["met"] == true)
            .count();
        assert_eq!(*row.last().unwrap(), format!("{met}/4"), "{table}");
    }
    let output = run(&["--json", "--url", &url(&server)]).await;
    let printed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let names: Vec<&str> = printed["companies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["company"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme", "beta"]);
}

/// Reads lines from a watching child until one satisfies `is_frame`, and answers it.
async fn next_frame(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    is_frame: impl Fn(&str) -> bool,
) -> String {
    loop {
        let line = tokio::time::timeout(LINE_WAIT, lines.next_line())
            .await
            .expect("the watch prints its next frame")
            .expect("stdout reads")
            .expect("the watch is still running");
        if is_frame(&line) {
            return line;
        }
    }
}

fn is_created_row(line: &str) -> bool {
    line.trim_start().starts_with("created")
}

/// Sends SIGINT (what Ctrl-C sends) and answers the exit status.
async fn ctrl_c(child: &mut tokio::process::Child) -> std::process::ExitStatus {
    let pid = child.id().expect("still running").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    tokio::time::timeout(LINE_WAIT, child.wait())
        .await
        .expect("the watch ends on Ctrl-C")
        .expect("wait")
}

/// Goal: `--watch` prints a frame, then refreshes every interval (the second frame shows a hold
/// made after the first), and Ctrl-C ends it with exit code 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_refreshes_until_ctrl_c() {
    let server = TestServer::start();
    traffic(&server).await;
    let mut child = holdfast()
        .args([
            "--company",
            "acme",
            "--watch",
            "--interval",
            "200ms",
            "--url",
            &url(&server),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let heading = next_frame(&mut lines, |line| line.starts_with("holdfast metrics:")).await;
    assert!(heading.contains("company acme"), "{heading}");
    let first = next_frame(&mut lines, is_created_row).await;
    assert_eq!(row_value(&first, "created"), "3");
    server
        .post("/v1/companies/acme/holds", &single("r2", 0), 201)
        .await;
    // A refresh already under way may still show 3; a later one must show 4, and nothing else.
    let mut refreshes = 0;
    let latest = loop {
        let _ = next_frame(&mut lines, |line| line.starts_with("holdfast metrics:")).await;
        let created = row_value(&next_frame(&mut lines, is_created_row).await, "created");
        refreshes += 1;
        if created != "3" {
            break created;
        }
    };
    assert_eq!(latest, "4", "after {refreshes} refreshes");
    let status = ctrl_c(&mut child).await;
    assert!(status.success(), "{status:?}");
}

/// Goal: `--watch --json` prints one JSON object per refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_json_prints_one_object_per_refresh() {
    let server = TestServer::start();
    traffic(&server).await;
    let mut child = holdfast()
        .args([
            "--company",
            "acme",
            "--watch",
            "--json",
            "--interval",
            "200ms",
        ])
        .args(["--url", &url(&server)])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..2 {
        let object = next_frame(&mut lines, |_| true).await;
        let value: Value = serde_json::from_str(&object).expect("each line is one object");
        assert_eq!(value["company"], "acme");
        assert_eq!(value["created"], 3);
    }
    let status = ctrl_c(&mut child).await;
    assert!(status.success(), "{status:?}");
}

/// Goal: a server that cannot be reached is one line on stderr and exit code 2, with and without
/// `--company`, watching or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_exits_2() {
    // A port that was just free: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    for args in [
        vec!["--company", "acme", "--url", &url],
        vec!["--url", &url],
        vec![
            "--company",
            "acme",
            "--watch",
            "--interval",
            "200ms",
            "--url",
            &url,
        ],
    ] {
        let output = run(&args).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let error = String::from_utf8(output.stderr).unwrap();
        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(
            error.starts_with(&format!("holdfast metrics: cannot reach {url}")),
            "{error}"
        );
        assert!(output.stdout.is_empty());
    }
}

/// Goal: a refused key is a one-line error and exit code 1 (reachable, but refused), and the
/// right key shows the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_key_exits_1() {
    const KEYS: &str =
        "admin = \"admin-key-0123456789\"\n[companies]\nacme = \"acme-key-0123456789\"\n";
    let server = TestServer::start_with(Settings::default(), Keys::from_toml(KEYS).unwrap());
    let url = url(&server);
    let output = run(&["--company", "acme", "--url", &url]).await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let error = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.contains("answered 401"), "{error}");
    let company_key = ["--key", "acme-key-0123456789"];
    let listing = run(&[&["--url", &url][..], &company_key[..]].concat()).await;
    assert_eq!(
        listing.status.code(),
        Some(1),
        "a company key cannot list companies"
    );
    let table = run(&[&["--company", "acme", "--url", &url][..], &company_key[..]].concat()).await;
    assert!(table.status.success(), "{table:?}");
    assert!(stdout(&table).contains("criterion"));
}
