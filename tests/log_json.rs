//! Checks the real binary's JSON log lines (`--log-format json`): a created reservation is logged
//! as one JSON line with its company, its token and the masked phone, never the phone itself.
//! (The core's own events are tested in tests/log_events.rs.)

mod http_support;

use http_support::check;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::time::Duration;

/// Goal: the real binary with `--log-format json --log-filter info` writes the created event as
/// one JSON line with the company, the token and the masked phone, and never the phone itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_logs_json_with_masked_phones() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--log-filter",
            "info",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_event = |wanted: &dyn Fn(&Value) -> bool| -> Value {
        loop {
            let line = lines_rx
                .recv_timeout(Duration::from_secs(60))
                .expect("the server logs the line in time");
            let event: Value = serde_json::from_str(&line).expect("every log line is JSON");
            if wanted(&event) {
                return event;
            }
        }
    };
    let starting = next_event(&|e| e["fields"]["message"] == "holdfast starting");
    let bind = starting["fields"]["bind"].as_str().unwrap().to_owned();
    let body = r#"{"resource":"r1","start":"2030-01-01T10:00:00Z","end":"2030-01-01T10:30:00Z","customer_phone":"+4915112345678"}"#;
    let response = reqwest::Client::new()
        .post(format!("http://{bind}/v1/companies/acme/holds"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let created: Value = check(response, 201, None).await;
    let event = next_event(&|e| e["fields"]["event"] == "created");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(event["fields"]["company"], "acme");
    assert_eq!(event["fields"]["token"], created["token"]);
    assert_eq!(event["fields"]["phone"], "+49151*****678");
    assert!(!event.to_string().contains("+4915112345678"));
}
