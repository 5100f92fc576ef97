//! The binary's life cycle: `holdfast serve` starts on an ephemeral port, answers, and on
//! SIGTERM or Ctrl-C (SIGINT) drains and exits 0; without keys it refuses a non-loopback
//! address unless `--insecure-open`. A real child process, real signals.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// A running `holdfast serve` child with JSON logs.
struct Served {
    child: Child,
    logs: BufReader<ChildStdout>,
    address: String,
    _data_dir: tempfile::TempDir,
}

fn holdfast(args: &[&str], data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_holdfast"));
    command
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--log-format", "json", "--workers", "1"])
        .env_remove("HOLDFAST_KEYS")
        .env_remove("HOLDFAST_BIND")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Reads log lines until one whose message is `message`; returns it (panics at end of output).
fn wait_for(logs: &mut BufReader<ChildStdout>, message: &str) -> Value {
    let mut line = String::new();
    loop {
        line.clear();
        let read = logs.read_line(&mut line).expect("read the child's log");
        assert!(read > 0, "the server's log ended before '{message}'");
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if event["fields"]["message"] == message {
            return event;
        }
    }
}

impl Served {
    fn start(args: &[&str]) -> Served {
        let data_dir = tempfile::tempdir().expect("a temporary data directory");
        let mut child = holdfast(args, data_dir.path())
            .spawn()
            .expect("start holdfast");
        let mut logs = BufReader::new(child.stdout.take().expect("piped stdout"));
        let started = wait_for(&mut logs, "holdfast starting");
        let address = started["fields"]["bind"]
            .as_str()
            .expect("the bound address is logged")
            .to_owned();
        wait_for(&mut logs, "serving");
        Served {
            child,
            logs,
            address,
            _data_dir: data_dir,
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }
}

async fn hold_once(address: &str) {
    let response = reqwest::Client::new()
        .post(format!("http://{address}/v1/companies/acme/holds"))
        .header("content-type", "application/json")
        .body(r#"{"resource":"r1","start":"2030-01-01T10:00:00Z","end":"2030-01-01T10:30:00Z"}"#)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status().as_u16(), 201);
}

/// Goal: SIGTERM drains and exits 0, after the server logged that it stopped.
#[tokio::test]
async fn sigterm_drains_and_exits_zero() {
    let mut served = Served::start(&["serve", "--bind", "127.0.0.1:0"]);
    hold_once(&served.address).await;
    served.signal("TERM");
    wait_for(&mut served.logs, "SIGTERM received");
    wait_for(&mut served.logs, "stopped");
    let status = served.child.wait().expect("the server exits");
    assert_eq!(status.code(), Some(0));
}

/// Goal: Ctrl-C (SIGINT) takes the same path; `holdfast` with no subcommand serves too.
#[tokio::test]
async fn ctrl_c_drains_and_exits_zero() {
    let mut served = Served::start(&["--bind", "127.0.0.1:0"]);
    hold_once(&served.address).await;
    served.signal("INT");
    wait_for(&mut served.logs, "Ctrl-C received");
    wait_for(&mut served.logs, "stopped");
    let status = served.child.wait().expect("the server exits");
    assert_eq!(status.code(), Some(0));
}

/// Goal: without keys, a non-loopback address is refused (exit code not 0, the reason said),
/// and `--insecure-open` overrides it with a warning.
#[test]
fn open_server_refuses_a_public_address() {
    let data_dir = tempfile::tempdir().unwrap();
    let refused = holdfast(&["serve", "--bind", "0.0.0.0:0"], data_dir.path())
        .output()
        .expect("run holdfast");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("--insecure-open"), "{said}");

    let mut child = holdfast(
        &["serve", "--bind", "0.0.0.0:0", "--insecure-open"],
        data_dir.path(),
    )
    .spawn()
    .expect("start holdfast");
    let mut logs = BufReader::new(child.stdout.take().unwrap());
    let warning = wait_for(
        &mut logs,
        "no keys configured and --insecure-open given: anyone who can connect reaches every company",
    );
    assert_eq!(warning["level"], "WARN");
    wait_for(&mut logs, "serving");
    let served = Served {
        child,
        logs,
        address: String::new(),
        _data_dir: data_dir,
    };
    served.signal("TERM");
    let mut child = served.child;
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
