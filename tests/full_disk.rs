//! The real binary on a real full filesystem: a 3 MiB tmpfs as its data directory, filled by
//! holds from one client (`--durability wal`, a snapshot every second), until the disk refuses
//! the log. Then:
//!
//! - every change is answered 503, `/healthz` answers 503 with the reason, the gauge says so,
//!   and reads keep working;
//! - what was refused is not in memory (the active count is exactly the acknowledged holds);
//! - once the filesystem is grown, the server takes changes again by itself;
//! - after a SIGKILL and a restart, exactly the acknowledged holds are live, and a slot whose
//!   hold was refused is free.
//!
//! The test mounts the tmpfs itself, in a private mount namespace (as root, as CI runs, or as
//! the root of a new user namespace otherwise), by running itself again under `unshare`.
//! `HOLDFAST_FULL_DISK_HOLDS=40000` sends that many holds instead of stopping shortly after the
//! first refusal (the run the operations notes quote).

mod crash_support;

use crash_support::Server;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Set in the environment of the run inside the namespace.
const INSIDE: &str = "HOLDFAST_FULL_DISK_INSIDE";
const TEST_NAME: &str = "a_full_filesystem_refuses_changes_and_the_server_comes_back_by_itself";
/// 2027-01-01T00:00:00Z, in seconds.
const DAY_START_SECONDS: i64 = 1_798_761_600;
const RESOURCES: usize = 100;
/// Holds sent after the first refusal, when no count is given.
const HOLDS_AFTER_REFUSAL: usize = 200;
/// Longest wait for the server to rebuild, or to come back.
const WAIT: Duration = Duration::from_secs(60);

/// Goal: on a filesystem that fills up, refused holds are not kept (in memory, in snapshots,
/// after a restart), the server says it refuses, and returns to service by itself once there
/// is space again.
#[test]
fn a_full_filesystem_refuses_changes_and_the_server_comes_back_by_itself() {
    if std::env::var_os(INSIDE).is_none() {
        run_in_private_mount_namespace();
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(fill_refuse_and_recover());
}

/// Runs this test again under `unshare`, where mounting a tmpfs touches nothing outside.
fn run_in_private_mount_namespace() {
    let exe = std::env::current_exe().unwrap();
    let id = Command::new("id").arg("-u").output().expect("id runs");
    let root = String::from_utf8_lossy(&id.stdout).trim() == "0";
    let namespaces: &[&str] = if root {
        &["--mount"]
    } else {
        &["--user", "--map-root-user", "--mount"]
    };
    let status = Command::new("unshare")
        .args(namespaces)
        .arg(&exe)
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .status()
        .expect("unshare (util-linux) runs");
    assert!(
        status.success(),
        "the test inside the namespace failed: {status}"
    );
}

fn mount_tmpfs(at: &Path, size: &str, remount: bool) {
    let options = if remount {
        format!("remount,size={size}")
    } else {
        format!("size={size}")
    };
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &options, "tmpfs"])
        .arg(at)
        .status()
        .expect("mount runs");
    assert!(status.success(), "mount -o {options} {}", at.display());
}

async fn health(client: &reqwest::Client, base: &str) -> (StatusCode, Value) {
    match client.get(format!("{base}/healthz")).send().await {
        Ok(response) => {
            let status = response.status();
            (status, response.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (StatusCode::BAD_GATEWAY, Value::Null),
    }
}

fn hold_body(index: usize) -> Value {
    let start = DAY_START_SECONDS + (index / RESOURCES) as i64 * 1_800;
    let format = |seconds: i64| {
        chrono::DateTime::from_timestamp(seconds, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    json!({
        "resource": format!("r{}", index % RESOURCES),
        "start": format(start),
        "end": format(start + 1_800),
        "ttl_seconds": 3_600,
        "call_id": format!("call-{index}"),
    })
}

/// Active holds of every company, as `GET /v1/admin/companies` counts them.
async fn active(client: &reqwest::Client, base: &str) -> u64 {
    let body: Value = client
        .get(format!("{base}/v1/admin/companies"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["companies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["active"].as_u64().unwrap())
        .sum()
}

async fn gauge(client: &reqwest::Client, base: &str, name: &str) -> f64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .unwrap_or_else(|| panic!("{name} in /metrics"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

async fn fill_refuse_and_recover() {
    // The server's logs go to `dir`, its data directory is `dir/data`: the tmpfs.
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("data");
    std::fs::create_dir(&mount).unwrap();
    mount_tmpfs(&mount, "3m", false);
    let client = reqwest::Client::new();
    let server = Server::start(dir.path(), "wal", "1s", &client).await;
    let holds_url = format!("{}/v1/companies/acme/holds", server.base);
    let wanted: Option<usize> = std::env::var("HOLDFAST_FULL_DISK_HOLDS")
        .ok()
        .map(|n| n.parse().expect("HOLDFAST_FULL_DISK_HOLDS is a count"));
    let mut acknowledged: Vec<String> = Vec::new();
    let mut refused: Vec<usize> = Vec::new();
    let mut index = 0;
    loop {
        let done = match wanted {
            Some(count) => index >= count,
            None => refused.len() >= HOLDS_AFTER_REFUSAL,
        };
        // A 3 MiB disk holds a few thousand holds; this bound only stops a broken run.
        if done || index >= 200_000 {
            break;
        }
        let response = client
            .post(&holds_url)
            .json(&hold_body(index))
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::CREATED => {
                let body: Value = response.json().await.unwrap();
                acknowledged.push(body["token"].as_str().unwrap().to_string());
            }
            StatusCode::SERVICE_UNAVAILABLE => refused.push(index),
            other => panic!("hold {index}: {other}: {}", response.text().await.unwrap()),
        }
        index += 1;
    }
    assert!(
        !refused.is_empty(),
        "the disk filled up after {index} holds"
    );
    assert!(!acknowledged.is_empty(), "holds were taken before it did");
    let (status, problem) = health(&client, &server.base).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(problem["type"], "unavailable");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("write-ahead log"), "the reason: {detail}");
    assert_eq!(
        gauge(&client, &server.base, "holdfast_durability_refusing").await,
        1.0
    );
    // Reads work: an acknowledged hold is there.
    let first = client
        .get(format!(
            "{}/v1/companies/acme/holds/{}",
            server.base, acknowledged[0]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    // What was refused is not in memory: the rebuild leaves exactly the acknowledged holds.
    let started = Instant::now();
    loop {
        let count = active(&client, &server.base).await;
        if count == acknowledged.len() as u64 {
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "{count} active while only {} holds were acknowledged",
            acknowledged.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Space again: the server comes back by itself.
    mount_tmpfs(&mount, "64m", true);
    let freed = Instant::now();
    while health(&client, &server.base).await.0 != StatusCode::OK {
        assert!(freed.elapsed() < WAIT, "the server did not come back");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let back_after = freed.elapsed();
    assert_eq!(
        gauge(&client, &server.base, "holdfast_durability_refusing").await,
        0.0
    );
    // A slot whose hold was refused is free: its hold is taken now.
    let retried = client
        .post(&holds_url)
        .json(&hold_body(refused[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), StatusCode::CREATED);
    let retried: Value = retried.json().await.unwrap();
    acknowledged.push(retried["token"].as_str().unwrap().to_string());
    // A crash, and a restart on the same directory.
    server.kill();
    let server = Server::start(dir.path(), "wal", "1s", &client).await;
    let live = active(&client, &server.base).await;
    assert_eq!(live, acknowledged.len() as u64, "live after the restart");
    for token in &acknowledged {
        let response = client
            .get(format!("{}/v1/companies/acme/holds/{token}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "acknowledged {token}");
    }
    let last_refused = *refused.last().unwrap();
    let free = client
        .post(format!("{}/v1/companies/acme/holds", server.base))
        .json(&hold_body(last_refused))
        .send()
        .await
        .unwrap();
    assert_eq!(free.status(), StatusCode::CREATED, "a refused slot is free");
    println!(
        "full disk: {} holds sent, {} answered 201, {} answered 503, {live} live after the restart, back {} ms after space was freed",
        index,
        acknowledged.len() - 1,
        refused.len(),
        back_after.as_millis()
    );
    server.kill();
    let _ = Command::new("umount").arg(&mount).status();
}
