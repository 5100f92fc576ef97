//! Fixtures that must decode forever: a version 4 snapshot (with each company's webhook
//! endpoints) and the version 3 log segments around it, written by holdfast itself
//! (`tests/fixtures/v4/`; its README tells the scenario), read by today's code and checked
//! against literal values: the endpoints the snapshot keeps, the log's webhook records, and the
//! endpoints a restore of the whole data directory holds, their configuration and progress.
//!
//! The files and the values below are never changed to fit new code: a new format version adds
//! a folder and tests beside these.

mod fixtures_support;

use holdfast::core::book::Settings;
use holdfast::core::events::EventKind;
use holdfast::durability::config::WebhookConfigV3;
use holdfast::durability::log::{read_log, LogRecordV3};
use holdfast::durability::restore;
use holdfast::durability::snapshot::{self, SnapshotHeader, WebhookV4};

/// `T`, when the fixtures' manual clock started: 2027-01-01T00:00:00Z.
const BASE_MS: i64 = 1_798_761_600_000;
const SNAPSHOT_NAME: &str = "snapshot-00000000000000000001.bin";
/// The restore runs at `T+60 s`, where the scenario ended.
const RESTORE_AT_MS: i64 = BASE_MS + 60_000;

fn at(seconds: i64) -> i64 {
    BASE_MS + seconds * 1_000
}

fn app_config() -> WebhookConfigV3 {
    WebhookConfigV3 {
        url: "https://app.example/hooks/holdfast".into(),
        events: vec![0, 1, 2, 3, 4],
        secret: (1..=32).collect(),
    }
}

fn expiries_config() -> WebhookConfigV3 {
    WebhookConfigV3 {
        url: "http://10.0.0.5:8080/h".into(),
        events: vec![4],
        secret: vec![9; 24],
    }
}

/// Goal: the version 4 snapshot decodes with its header and acme's two endpoints, their
/// configuration and progress as stored.
#[test]
fn the_v4_snapshot_decodes_with_its_webhooks() {
    let dir = fixtures_support::copy_of("v4");
    let bytes = std::fs::read(dir.path().join(SNAPSHOT_NAME)).unwrap();
    let (header, body) = snapshot::decode(&bytes).expect("the v4 snapshot decodes");
    assert_eq!(
        header,
        SnapshotHeader {
            format_version: 4,
            created_at_ms: at(30),
            sequence: 1,
            body_bytes: 574,
            body_crc32c: 1_716_911_320,
        }
    );
    assert_eq!(body.covered_lsn, 5);
    let [acme] = &body.companies[..] else {
        panic!("one company before the snapshot");
    };
    assert_eq!(acme.base.company, "acme");
    assert_eq!(acme.events.next_seq, 3);
    assert_eq!(
        acme.webhooks,
        [
            WebhookV4 {
                id: "app".into(),
                config: app_config(),
                acknowledged_seq: 2,
                lost_before_seq: None,
            },
            WebhookV4 {
                id: "expiries".into(),
                config: expiries_config(),
                acknowledged_seq: 1,
                lost_before_seq: None,
            },
        ]
    );
}

/// Goal: the version 3 log's webhook records read back field by field, among the reservation
/// changes, in LSN order.
#[test]
fn the_v3_log_holds_the_webhook_records() {
    let dir = fixtures_support::copy_of("v4");
    let log = read_log(dir.path(), false).expect("the log reads");
    assert_eq!(log.last_lsn, 10);
    let webhook_records: Vec<(u64, LogRecordV3)> = log
        .records
        .into_iter()
        .filter(|(_, record)| !matches!(record, LogRecordV3::Change(_)))
        .collect();
    assert_eq!(
        webhook_records,
        [
            (
                2,
                LogRecordV3::PutWebhook {
                    company: "acme".into(),
                    now_ms: at(0),
                    id: "app".into(),
                    config: app_config(),
                }
            ),
            (
                3,
                LogRecordV3::PutWebhook {
                    company: "acme".into(),
                    now_ms: at(0),
                    id: "expiries".into(),
                    config: expiries_config(),
                }
            ),
            (
                5,
                LogRecordV3::AcknowledgeWebhook {
                    company: "acme".into(),
                    now_ms: at(10),
                    id: "app".into(),
                    seq: 2,
                }
            ),
            (
                7,
                LogRecordV3::DeleteWebhook {
                    company: "acme".into(),
                    now_ms: at(60),
                    id: "expiries".into(),
                }
            ),
            (
                8,
                LogRecordV3::AcknowledgeWebhook {
                    company: "acme".into(),
                    now_ms: at(60),
                    id: "app".into(),
                    seq: 3,
                }
            ),
            (
                9,
                LogRecordV3::PutWebhook {
                    company: "beta".into(),
                    now_ms: at(60),
                    id: "b".into(),
                    config: WebhookConfigV3 {
                        url: "https://beta.example/h".into(),
                        events: vec![0, 3],
                        secret: vec![7; 64],
                    },
                }
            ),
        ]
    );
}

/// Goal: restoring the whole directory (snapshot, then the log after it) gives each company the
/// endpoints the scenario left: acme's `app` at event 3 with its key and every type, `expiries`
/// gone; beta's `b` taking creations and cancellations, owed beta's one event.
#[test]
fn the_v4_directory_restores_its_webhooks() {
    let dir = fixtures_support::copy_of("v4");
    let restored = restore(dir.path(), &Settings::default(), RESTORE_AT_MS).expect("restores");
    let book = |company: &str| {
        restored
            .books
            .iter()
            .find(|b| &**b.company() == company)
            .expect("the company is restored")
    };
    let acme = book("acme");
    let ids: Vec<&str> = acme.webhooks().map(|(id, _)| &**id).collect();
    assert_eq!(ids, ["app"]);
    let app = acme.webhook("app").unwrap();
    assert_eq!(app.acknowledged_seq, 3);
    assert_eq!(app.lost_before_seq, None);
    assert_eq!(
        app.config.url().as_str(),
        "https://app.example/hooks/holdfast"
    );
    assert_eq!(app.config.events().kinds(), EventKind::ALL.to_vec());
    assert_eq!(&**app.config.secret(), (1..=32).collect::<Vec<u8>>());
    assert_eq!(acme.event_log().next_seq(), 4);
    assert_eq!(acme.webhook_pending("app"), 0);
    let beta = book("beta");
    let b = beta.webhook("b").unwrap();
    assert_eq!(b.acknowledged_seq, 0);
    assert_eq!(
        b.config.events().kinds(),
        [EventKind::Created, EventKind::Cancelled]
    );
    assert_eq!(&**b.config.secret(), [7u8; 64]);
    assert_eq!(beta.webhook_pending("b"), 1, "beta's hold is owed to it");
}
