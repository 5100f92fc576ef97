//! The recovery: brings a server whose write-ahead log failed back to service by itself.
//!
//! When the log cannot write or sync, it refuses every change from then on (the company actors
//! ask before they touch a book) and its writer thread ends. Some changes may have been applied
//! to their books meanwhile and answered with an error, because their records never became
//! durable. The recovery then, in order:
//!
//! 1. waits for the writer thread to end, so that the last durable LSN is final;
//! 2. under the snapshot writer's lock, rebuilds every company from the disk up to that LSN
//!    (the same snapshot and replay as start-up, read-only) and replaces every book with it, so
//!    that memory holds exactly what a restart would: nothing refused stays;
//! 3. tries every [`limits::DURABILITY_RETRY_INTERVAL_MS`] to reopen the log (cut off the records
//!    after the last durable one, start a new segment), which fails as long as the disk refuses
//!    writes, and takes changes again as soon as it succeeds.
//!
//! In snapshot mode there is no log to fail: the snapshotter refuses changes while a snapshot
//! cannot be written, and takes them again once one is (nothing was applied meanwhile).

use crate::actors::company::ReplaceBook;
use crate::actors::registry::Registry;
use crate::actors::snapshotter::Snapshots;
use crate::clock::SharedClock;
use crate::core::book::Book;
use crate::durability::{self, StartupError};
use crate::limits;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the recovery needs: the companies to rebuild, the clock to expire them at, and the
/// snapshot writer (its lock, its directory, its log).
pub struct Recovery {
    pub registry: Arc<Registry>,
    pub clock: SharedClock,
    pub snapshots: Snapshots,
}

impl Recovery {
    /// Runs forever on the current actix system: one recovery per failure of the log. Ends when
    /// the log is closed at shutdown.
    pub async fn run(self) {
        let log_writer = self.snapshots.log_writer().clone();
        if !log_writer.logs_records() {
            return;
        }
        loop {
            log_writer.refusing().await;
            if log_writer.is_shut_down() {
                return;
            }
            let started = Instant::now();
            let joined = log_writer.clone();
            if tokio::task::spawn_blocking(move || joined.join_writer())
                .await
                .is_err()
            {
                tracing::error!("waiting for the log's writer thread failed");
            }
            let retry = Duration::from_millis(limits::DURABILITY_RETRY_INTERVAL_MS);
            while let Err(error) = self.rebuild().await {
                tracing::error!(%error, "rebuilding the companies from the disk failed; trying again");
                tokio::time::sleep(retry).await;
            }
            loop {
                if log_writer.is_shut_down() {
                    return;
                }
                let reopened = log_writer.clone();
                match tokio::task::spawn_blocking(move || reopened.reopen()).await {
                    Ok(Ok(())) => break,
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "the disk still refuses the log");
                    }
                    Err(error) => tracing::error!(%error, "reopening the log failed"),
                }
                tokio::time::sleep(retry).await;
            }
            tracing::warn!(
                took_ms = started.elapsed().as_millis() as u64,
                durable_lsn = log_writer.last_durable_lsn(),
                "the write-ahead log writes again: changes are taken again"
            );
        }
    }

    /// Replaces every company's book with the one the disk holds up to the last durable LSN.
    async fn rebuild(&self) -> Result<(), StartupError> {
        let snapshots = self.snapshots.clone();
        let registry = self.registry.clone();
        let now_ms = self.clock.now_ms();
        self.snapshots
            .exclusive(async move {
                let durable_lsn = snapshots.log_writer().last_durable_lsn();
                let dir = snapshots.dir().to_path_buf();
                let settings = registry.settings().clone();
                let books = tokio::task::spawn_blocking(move || {
                    durability::rebuild_durable(&dir, &settings, now_ms, durable_lsn)
                })
                .await
                .map_err(|e| StartupError::Io {
                    dir: snapshots.dir().to_path_buf(),
                    source: std::io::Error::other(e.to_string()),
                })??;
                let mut books: BTreeMap<String, Book> = books
                    .into_iter()
                    .map(|book| (book.company().to_string(), book))
                    .collect();
                // Every company in memory gets its durable book; one the disk does not know had
                // nothing durable, so it starts empty.
                let mut replaced = Vec::new();
                for company in registry.companies() {
                    let book = books.remove(company.company.as_ref()).unwrap_or_else(|| {
                        Book::new(company.company.as_ref(), registry.settings().clone())
                    });
                    replaced.push(company.address.send(ReplaceBook { book }));
                }
                for result in futures::future::join_all(replaced).await {
                    if let Err(error) = result {
                        tracing::error!(%error, "a company did not take its rebuilt book");
                    }
                }
                // A company on disk but not in memory cannot happen (every restored company is
                // started), but if it does, it is started with its durable book.
                for (company, book) in books {
                    if let Err(error) = registry.get_or_start_with(&company, move || book) {
                        tracing::error!(%error, company, "a rebuilt company could not start");
                    }
                }
                tracing::info!(durable_lsn, "rebuilt every company from the disk");
                Ok(())
            })
            .await
    }
}
