//! The snapshotter: takes snapshots while the engine runs, and starts a durable engine from its
//! data directory.
//!
//! A snapshot never stops the engine: each company's actor is asked for its own state
//! ([`ExportSnapshot`]) and copies it as it was at that message a chunk at a time, answering
//! its mailbox between chunks (copy on write by slot, see `core::store`), so no company pauses
//! for more than one chunk whatever its size (each reservation is encoded as it is copied);
//! the records' bytes are assembled on blocking threads while the actors go on. They are then
//! framed, checksummed and written off the actors' threads (a blocking task): temporary file,
//! sync, rename, sync the directory. Only then are old snapshots pruned and the log segments they
//! cover removed.
//!
//! [`Snapshots`] is the shared handle (interval ticks, `POST /v1/admin/snapshot`, graceful
//! shutdown all call [`Snapshots::take`]); an async mutex makes snapshots one at a time.
//! [`Snapshotter`] is the actor that ticks every `--snapshot-interval` and takes one when
//! something changed. Starting them (after restore) is the server's job (`crate::server`).

use crate::actors::company::ExportSnapshot;
use crate::actors::registry::{CompanyAddress, Registry};
use crate::clock::SharedClock;
use crate::durability::disk::Disk;
use crate::durability::log::{DurabilityMode, LogWriter};
use crate::durability::snapshot::{self, EncodedCompany, SnapshotInfo};
use crate::durability::{DirectoryLock, DurabilityConfig, RestoredSnapshot};
use crate::limits;
use actix::prelude::*;
use futures::StreamExt;
use std::collections::VecDeque;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a snapshot was not written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("snapshot failed: {0}")]
pub struct SnapshotFailed(pub String);

/// What the snapshot writer remembers between snapshots.
struct WriterState {
    next_sequence: u64,
    /// The log's change count when the last snapshot started: something changed when it
    /// moved.
    last_started_changes: u64,
    /// The covered LSN of each snapshot kept, newest first. Log segments are removed only up to
    /// the oldest kept one's, so a fallback to it still finds its log.
    kept_covered_lsns: VecDeque<u64>,
}

struct SnapshotsInner {
    registry: Arc<Registry>,
    log_writer: LogWriter,
    clock: SharedClock,
    dir: PathBuf,
    keep: usize,
    state: tokio::sync::Mutex<WriterState>,
    disk: Disk,
    /// Snapshots that failed since the server started.
    failures: AtomicU64,
    /// Held for the life of the writer: no second server on this directory.
    _lock: DirectoryLock,
}

/// The shared snapshot writer of one data directory. Cheap to clone.
#[derive(Clone)]
pub struct Snapshots {
    inner: Arc<SnapshotsInner>,
}

impl std::fmt::Debug for Snapshots {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Snapshots")
            .field("dir", &self.inner.dir)
            .finish()
    }
}

impl Snapshots {
    /// A writer for the data directory of `config`, asking the companies of `registry`.
    /// `restored` is the snapshot restored at start-up; `lock` is the directory's.
    pub fn new(
        registry: Arc<Registry>,
        clock: SharedClock,
        log_writer: LogWriter,
        config: &DurabilityConfig,
        restored: Option<&RestoredSnapshot>,
        lock: DirectoryLock,
    ) -> std::io::Result<Snapshots> {
        let highest = snapshot::highest_sequence(&config.data_dir)?;
        let state = WriterState {
            next_sequence: highest + 1,
            last_started_changes: 0,
            kept_covered_lsns: restored.map(|r| r.covered_lsn).into_iter().collect(),
        };
        Ok(Snapshots {
            inner: Arc::new(SnapshotsInner {
                registry,
                log_writer,
                clock,
                dir: config.data_dir.clone(),
                keep: config.keep_snapshots.max(1),
                state: tokio::sync::Mutex::new(state),
                disk: config.disk.clone(),
                failures: AtomicU64::new(0),
                _lock: lock,
            }),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.inner.dir
    }

    /// The log the engine appends to.
    pub fn log_writer(&self) -> &LogWriter {
        &self.inner.log_writer
    }

    /// Whether anything changed since the last snapshot started (false while one is running).
    pub fn changed(&self) -> bool {
        match self.inner.state.try_lock() {
            Ok(state) => self.inner.log_writer.change_count() != state.last_started_changes,
            Err(_) => false,
        }
    }

    /// Takes a snapshot now: every company exports its own state, then the file is written,
    /// synced and renamed into place; old snapshots are pruned and covered log segments removed.
    pub async fn take(&self) -> Result<SnapshotInfo, SnapshotFailed> {
        let mut state = self.inner.state.lock().await;
        let result = self.write_snapshot(&mut state).await;
        let log_writer = &self.inner.log_writer;
        match &result {
            Ok(_) if log_writer.mode() == DurabilityMode::Snapshot => log_writer.take_changes(),
            Ok(_) => {}
            Err(error) => {
                self.inner.failures.fetch_add(1, Ordering::Relaxed);
                // In snapshot mode the snapshot is the only promise the server keeps: while it
                // cannot be written, changes are refused, as the log's failure refuses them.
                if log_writer.mode() == DurabilityMode::Snapshot {
                    log_writer.refuse_changes(&format!(
                        "the snapshot cannot be written ({}); changes are refused until it can",
                        error.0
                    ));
                }
            }
        }
        result
    }

    /// How many snapshots failed since the server started.
    pub fn failure_count(&self) -> u64 {
        self.inner.failures.load(Ordering::Relaxed)
    }

    /// Holds the snapshot writer's lock while `work` runs: no snapshot is written meanwhile (the
    /// recovery rebuilds the books from the directory under it).
    pub async fn exclusive<T>(&self, work: impl Future<Output = T>) -> T {
        let _state = self.inner.state.lock().await;
        work.await
    }

    /// The snapshot itself, under the writer's lock.
    async fn write_snapshot(
        &self,
        state: &mut WriterState,
    ) -> Result<SnapshotInfo, SnapshotFailed> {
        let started = Instant::now();
        let log_writer = &self.inner.log_writer;
        let wal = log_writer.mode() == DurabilityMode::Wal;
        if wal {
            // While the log is failed the books may hold changes that were refused: they are
            // rebuilt from the disk before any snapshot may copy them.
            if let Some(reason) = log_writer.refusal() {
                return Err(SnapshotFailed(reason));
            }
        }
        let started_changes = log_writer.change_count();
        let started_lsn = log_writer.appended_lsn();
        // New changes go to a new segment, so the ones up to here can go once this is durable.
        log_writer.rotate();
        let companies = self.export_all().await?;
        // Every record up to `started_lsn` was applied before its company exported.
        let covered_lsn = started_lsn;
        // Every change the export holds was numbered before this ticket: the snapshot goes into
        // place only once the log holds all of them, so it never keeps a change that was refused.
        let exported_ticket = log_writer.last_ticket();
        if wal && log_writer.wait_durable(exported_ticket).await.is_err() {
            return Err(SnapshotFailed(
                "the write-ahead log failed before the changes the snapshot holds were durable"
                    .into(),
            ));
        }
        let sequence = state.next_sequence;
        let created_at_ms = self.inner.clock.now_ms();
        let reservations = companies.iter().map(|c| c.reservations).sum();
        let company_count = companies.len();
        let dir = self.inner.dir.clone();
        let disk = self.inner.disk.clone();
        let rename_log = log_writer.clone();
        let (file, bytes) = tokio::task::spawn_blocking(move || {
            let bytes = snapshot::encode_file(covered_lsn, &companies, created_at_ms, sequence);
            drop(companies);
            let may_rename = || match rename_log.refusal() {
                Some(reason) if wal => Err(std::io::Error::other(reason)),
                _ => Ok(()),
            };
            let path = snapshot::write_file(&disk, &dir, sequence, &bytes, may_rename)?;
            Ok::<_, std::io::Error>((path, bytes.len() as u64))
        })
        .await
        .map_err(|e| SnapshotFailed(format!("the writing task failed: {e}")))?
        .map_err(|e| SnapshotFailed(format!("writing the file failed: {e}")))?;
        state.next_sequence = sequence + 1;
        state.last_started_changes = started_changes;
        state.kept_covered_lsns.push_front(covered_lsn);
        state.kept_covered_lsns.truncate(self.inner.keep);
        let oldest_covered = state.kept_covered_lsns.iter().min().copied().unwrap_or(0);
        self.prune(started_lsn, oldest_covered).await;
        let info = SnapshotInfo {
            file,
            bytes,
            sequence,
            companies: company_count,
            reservations,
            covered_lsn,
            created_at_ms,
            took: started.elapsed(),
        };
        tracing::info!(
            file = %info.file.display(),
            bytes = info.bytes,
            companies = info.companies,
            reservations = info.reservations,
            covered_lsn = info.covered_lsn,
            took_ms = info.took.as_millis() as u64,
            "snapshot written"
        );
        Ok(info)
    }

    /// Asks every company for its state, a bounded number at a time, sorted by company.
    async fn export_all(&self) -> Result<Vec<EncodedCompany>, SnapshotFailed> {
        let companies = self.inner.registry.companies();
        let answers: Vec<_> = futures::stream::iter(companies)
            .map(|CompanyAddress { company, address }| async move {
                (company, address.send(ExportSnapshot).await)
            })
            .buffer_unordered(limits::SNAPSHOT_EXPORTS_IN_FLIGHT_MAX)
            .collect()
            .await;
        let mut exported = Vec::with_capacity(answers.len());
        for (company, answer) in answers {
            let encoded = answer
                .map_err(|e| SnapshotFailed(format!("company {company} did not answer: {e}")))?
                .map_err(|e| SnapshotFailed(format!("company {company}: {e}")))?;
            exported.push(encoded);
        }
        exported.sort_unstable_by(|a, b| a.company.cmp(&b.company));
        Ok(exported)
    }

    /// Deletes snapshots beyond the newest `keep` and log segments the oldest kept one covers.
    /// A failure here loses nothing (the new snapshot is durable), so it is logged, not returned.
    /// `started_lsn` is where this snapshot asked the log to start a new segment: the removal
    /// waits for that segment, so the records this snapshot covers are in closed segments.
    async fn prune(&self, started_lsn: u64, oldest_covered: u64) {
        let dir = self.inner.dir.clone();
        let keep = self.inner.keep;
        let log_writer = self.inner.log_writer.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            snapshot::prune(&dir, keep)?;
            log_writer.wait_for_segment_after(started_lsn);
            log_writer.remove_segments_through(oldest_covered)
        })
        .await;
        match outcome {
            Ok(Ok(removed)) => {
                for path in removed {
                    tracing::debug!(file = %path.display(), "removed a log segment a snapshot covers");
                }
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "pruning old snapshots or log segments failed")
            }
            Err(error) => tracing::warn!(%error, "the pruning task failed"),
        }
    }

    /// The graceful end: a final snapshot, then the log writes what is queued and stops.
    pub async fn shutdown(&self) -> Result<SnapshotInfo, SnapshotFailed> {
        let result = self.take().await;
        self.inner.log_writer.close();
        result
    }
}

/// The actor that takes a snapshot every interval when something changed.
pub struct Snapshotter {
    snapshots: Snapshots,
    interval: Duration,
}

impl Snapshotter {
    /// A snapshotter ticking every `interval`.
    pub fn new(snapshots: Snapshots, interval: Duration) -> Snapshotter {
        Snapshotter {
            snapshots,
            interval,
        }
    }
}

impl Actor for Snapshotter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.interval, |actor, ctx| {
            // While the log refuses changes the books may hold refused ones: no snapshot until
            // the recovery rebuilt them (in snapshot mode the retry below takes over).
            if !actor.snapshots.changed() || actor.snapshots.log_writer().is_refusing() {
                return;
            }
            let snapshots = actor.snapshots.clone();
            ctx.spawn(
                async move {
                    if let Err(error) = snapshots.take().await {
                        tracing::error!(%error, "periodic snapshot failed");
                    }
                }
                .into_actor(actor),
            );
        });
        // In snapshot mode a failed snapshot refuses changes until one is written: try again
        // soon, so that the server returns to service shortly after the disk does.
        let retry = Duration::from_millis(limits::DURABILITY_RETRY_INTERVAL_MS);
        ctx.run_interval(retry, |actor, ctx| {
            let log_writer = actor.snapshots.log_writer();
            if log_writer.mode() != DurabilityMode::Snapshot || !log_writer.is_refusing() {
                return;
            }
            let snapshots = actor.snapshots.clone();
            ctx.spawn(
                async move {
                    if snapshots.take().await.is_ok() {
                        tracing::info!("a snapshot was written again: changes are taken again");
                    }
                }
                .into_actor(actor),
            );
        });
    }
}

/// Take a snapshot now, answering what was written.
#[derive(Message)]
#[rtype(result = "Result<SnapshotInfo, SnapshotFailed>")]
pub struct TakeSnapshot;

impl Handler<TakeSnapshot> for Snapshotter {
    type Result = ResponseFuture<Result<SnapshotInfo, SnapshotFailed>>;

    fn handle(&mut self, _: TakeSnapshot, _: &mut Context<Self>) -> Self::Result {
        let snapshots = self.snapshots.clone();
        Box::pin(async move { snapshots.take().await })
    }
}
