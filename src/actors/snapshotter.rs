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
//! something changed. [`start_durable`] restores, opens the journal, starts the engine with the
//! restored books and starts the snapshotter, all before the server answers `/healthz`.

use crate::actors::company::ExportSnapshot;
use crate::actors::engine::{Engine, EngineConfig};
use crate::actors::registry::Registry;
use crate::clock::SharedClock;
use crate::durability::snapshot::{self, EncodedCompany};
use crate::durability::wal::Journal;
use crate::durability::{self as durability, DirectoryLock, DurabilityConfig, RestoreReport};
use crate::limits;
use actix::prelude::*;
use futures::StreamExt;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one snapshot wrote (the answer of `POST /v1/admin/snapshot`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub file: PathBuf,
    pub bytes: u64,
    pub sequence: u64,
    pub companies: usize,
    pub reservations: usize,
    pub covered_lsn: u64,
    pub created_at_ms: i64,
    /// From the first export asked to the directory synced.
    pub took: Duration,
}

/// Why a snapshot was not written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("snapshot failed: {0}")]
pub struct SnapshotFailed(pub String);

/// What the snapshot writer remembers between snapshots.
struct WriterState {
    next_sequence: u64,
    /// The journal's change count when the last snapshot started: something changed when it
    /// moved.
    last_started_changes: u64,
    /// The snapshots kept, newest first: `(sequence, covered LSN)`. Log segments are removed only
    /// up to the oldest kept one's covered LSN, so a fallback to it still finds its log.
    kept: VecDeque<(u64, u64)>,
}

struct SnapshotsInner {
    registry: Arc<Registry>,
    journal: Journal,
    clock: SharedClock,
    dir: PathBuf,
    keep: usize,
    state: tokio::sync::Mutex<WriterState>,
    /// Held for the life of the engine: no second server on this directory.
    _lock: Option<DirectoryLock>,
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
    /// A writer for `dir`. `restored` is the snapshot restored at start-up, `(sequence, covered)`.
    fn new(
        engine: &Engine,
        journal: Journal,
        config: &DurabilityConfig,
        restored: Option<(u64, u64)>,
        lock: Option<DirectoryLock>,
    ) -> std::io::Result<Snapshots> {
        let highest = snapshot::highest_sequence(&config.data_dir)?;
        let state = WriterState {
            next_sequence: highest + 1,
            last_started_changes: 0,
            kept: restored.into_iter().collect(),
        };
        Ok(Snapshots {
            inner: Arc::new(SnapshotsInner {
                registry: engine.registry_handle(),
                journal,
                clock: engine.clock().clone(),
                dir: config.data_dir.clone(),
                keep: config.keep_snapshots.max(1),
                state: tokio::sync::Mutex::new(state),
                _lock: lock,
            }),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.inner.dir
    }

    /// The journal the engine appends to.
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// Whether anything changed since the last snapshot started (false while one is running).
    pub fn changed(&self) -> bool {
        match self.inner.state.try_lock() {
            Ok(state) => self.inner.journal.change_count() != state.last_started_changes,
            Err(_) => false,
        }
    }

    /// Takes a snapshot now: every company exports its own state, then the file is written,
    /// synced and renamed into place; old snapshots are pruned and covered log segments removed.
    pub async fn take(&self) -> Result<SnapshotInfo, SnapshotFailed> {
        let mut state = self.inner.state.lock().await;
        let started = Instant::now();
        let journal = &self.inner.journal;
        let started_changes = journal.change_count();
        let started_lsn = journal.appended_lsn();
        // New changes go to a new segment, so the ones up to here can go once this is durable.
        journal.rotate();
        let companies = self.export_all().await?;
        // Every record up to `started_lsn` was applied before its company exported.
        let covered_lsn = started_lsn;
        let sequence = state.next_sequence;
        let created_at_ms = self.inner.clock.now_ms();
        let reservations = companies.iter().map(|c| c.reservations).sum();
        let company_count = companies.len();
        let dir = self.inner.dir.clone();
        let (file, bytes) = tokio::task::spawn_blocking(move || {
            let bytes = snapshot::encode_file(covered_lsn, &companies, created_at_ms, sequence);
            drop(companies);
            let path = snapshot::write_file(&dir, sequence, &bytes)?;
            Ok::<_, std::io::Error>((path, bytes.len() as u64))
        })
        .await
        .map_err(|e| SnapshotFailed(format!("the writing task failed: {e}")))?
        .map_err(|e| SnapshotFailed(format!("writing the file failed: {e}")))?;
        state.next_sequence = sequence + 1;
        state.last_started_changes = started_changes;
        state.kept.push_front((sequence, covered_lsn));
        state.kept.truncate(self.inner.keep);
        let oldest_covered = state.kept.iter().map(|(_, c)| *c).min().unwrap_or(0);
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
            .map(|(company, address)| async move { (company, address.send(ExportSnapshot).await) })
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
        let journal = self.inner.journal.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            snapshot::prune(&dir, keep)?;
            journal.wait_for_segment_after(started_lsn);
            journal.remove_segments_through(oldest_covered)
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

    /// The graceful end: a final snapshot, then the journal writes what is queued and stops.
    pub async fn shutdown(&self) -> Result<SnapshotInfo, SnapshotFailed> {
        let result = self.take().await;
        self.inner.journal.close();
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
            if !actor.snapshots.changed() {
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

/// A running engine restored from its data directory, with its snapshot writer.
pub struct DurableEngine {
    pub engine: Engine,
    pub snapshots: Snapshots,
    pub snapshotter: Addr<Snapshotter>,
    pub report: RestoreReport,
}

/// Locks the data directory, restores every company (newest valid snapshot, then the log, then
/// expiry of what ran out while down), opens the journal and starts the engine with the restored
/// books and the snapshotter. Must run inside an actix `System`. Returns only once every company
/// is restored, so a server that serves after this call serves restored state.
pub fn start_durable(
    engine_config: EngineConfig,
    config: DurabilityConfig,
) -> Result<DurableEngine, durability::StartupError> {
    let io_error = |source| durability::StartupError::Io {
        dir: config.data_dir.clone(),
        source,
    };
    let lock = durability::lock_directory(&config.data_dir)?;
    let now_ms = engine_config.clock.now_ms();
    let restored = durability::restore(&config.data_dir, &engine_config.settings, now_ms)?;
    let journal =
        Journal::open(&config.data_dir, config.mode, restored.next_lsn).map_err(io_error)?;
    let mut books = restored.books;
    // Log the holds expired during restore, so that a second crash replays the same state.
    let expired: std::collections::HashMap<String, Vec<uuid::Uuid>> =
        restored.expired.into_iter().collect();
    for book in &mut books {
        let Some(tokens) = expired.get(book.company().as_ref()) else {
            continue;
        };
        for record in durability::expiry_records(book.company(), tokens, now_ms) {
            let lsn = journal.append(|| record);
            book.set_log_position(lsn);
        }
    }
    if restored.report.replayed > 0 {
        // Replayed records are in memory only until a snapshot holds them: take one soon.
        journal.mark_changed();
    }
    let engine = Engine::start_with_journal(engine_config, Some(journal.clone()));
    for book in books {
        let company = book.company().clone();
        engine
            .registry()
            .get_or_start_with(&company, move || book)
            .map_err(|e| io_error(std::io::Error::other(e.to_string())))?;
    }
    let report = restored.report;
    let restored_snapshot = report
        .snapshot
        .as_ref()
        .map(|(_, sequence, covered)| (*sequence, *covered));
    let snapshots = Snapshots::new(&engine, journal, &config, restored_snapshot, Some(lock))
        .map_err(io_error)?;
    engine.attach_snapshots(snapshots.clone());
    let snapshotter = Snapshotter::new(snapshots.clone(), config.snapshot_interval).start();
    tracing::info!(
        data_dir = %config.data_dir.display(),
        mode = ?config.mode,
        snapshot = ?report.snapshot.as_ref().map(|s| s.0.display().to_string()),
        companies = report.companies,
        reservations = report.reservations,
        replayed = report.replayed,
        replay_refused = report.replay_refused,
        expired_on_restore = report.expired_on_restore,
        quarantined = report.quarantined.len(),
        "restored from disk"
    );
    Ok(DurableEngine {
        engine,
        snapshots,
        snapshotter,
        report,
    })
}
