//! The write-ahead log's writer: appends records and makes them durable in groups.
//!
//! [`LogWriter::append`] assigns the next LSN and copies the frame into a shared buffer under a
//! mutex (microseconds; the company actor never touches the disk). One writer thread takes the
//! whole buffer and writes it; [`limits::LOG_SYNC_THREADS`] sync threads call `fdatasync`, each
//! covering every byte written before it started, so one sync covers every record that arrived
//! meanwhile and a record waits for the next sync to start, not for the previous one to end. The
//! actor answers each change with its LSN (the ticket); the `Engine` awaits
//! [`LogWriter::wait_durable`] for it before it answers, so an acknowledged change is on disk. The
//! buffer is bounded ([`limits::LOG_QUEUE_BYTES_MAX`]): when the disk falls behind, appends wait,
//! which is the back-pressure that a slow disk must cause.

use crate::durability::disk::Disk;
use crate::durability::log::frame::{encode_frame, read_frame, stamp_lsn};
use crate::durability::log::record::LogRecordV3;
use crate::durability::log::segment::{
    create_segment, list_segments, segment_version, LOG_HEADER_BYTES,
};
use crate::limits;
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// How much the log keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurabilityMode {
    /// Every change is logged and synced before its answer. Named after its value on the
    /// command line, `--durability wal`, which is part of the public contract.
    Wal,
    /// Only snapshots: changes since the last snapshot are lost in a crash. The log still
    /// counts changes, so the snapshotter knows whether anything changed; it does not number
    /// them (no LSN is used without a record, so a later log continues without a hole).
    Snapshot,
}

/// What the writer has made durable, published to waiters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Durable {
    lsn: u64,
    failed: bool,
    /// Set once a failed log's writer has stopped and tried to cut the records after `lsn` off
    /// the disk: only then are the waiters of those records answered, so that a change answered
    /// with an error is, as far as the disk allows, already gone from it.
    settled: bool,
    /// Counts the times the log was reopened after a failure. LSNs after the last durable one
    /// of a failed epoch are handed out again in the next, so a ticket names its epoch.
    epoch: u64,
}

/// A change's place in the log: wait for it with [`LogWriter::wait_durable`] before answering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub epoch: u64,
    pub lsn: u64,
}

/// The buffer the company actors append to and the writer drains.
struct Queue {
    buffer: Vec<u8>,
    next_lsn: u64,
    closed: bool,
    rotate: bool,
}

/// What every handle and the writer thread share.
struct Shared {
    mode: DurabilityMode,
    dir: PathBuf,
    queue: Mutex<Queue>,
    /// Signalled when the buffer gets bytes, a rotation or the close.
    has_work: Condvar,
    /// Signalled when the writer has taken the buffer, so waiting appenders may go on.
    has_room: Condvar,
    /// Signalled (under `queue`) when the writer has started a new segment, or stopped.
    segment_started: Condvar,
    /// The last LSN handed out (moves only in wal mode).
    appended: AtomicU64,
    /// Changes counted since the log opened, in either mode: the snapshotter compares it.
    changes: AtomicU64,
    durable: tokio::sync::watch::Sender<Durable>,
    /// The last durable LSN of each ended epoch, newest last (at most
    /// [`limits::LOG_EPOCHS_REMEMBERED_MAX`]): a waiter whose epoch ended is durable only up to it.
    ended_epochs: Mutex<VecDeque<(u64, u64)>>,
    /// The first LSN of the segment being written (snapshot mode: none, `u64::MAX`).
    active_first_lsn: AtomicU64,
    writer: Mutex<Option<JoinHandle<()>>>,
    disk: Disk,
    /// Set while changes cannot be made durable: company actors refuse every change before
    /// applying it. Read on every change, so an atomic beside the reason's watch.
    refusing: AtomicBool,
    /// Why changes are refused (`None` while they are taken), for `/healthz` and the recovery.
    refusal: tokio::sync::watch::Sender<Option<String>>,
    /// Set by [`LogWriter::close`]: a log closed at shutdown is never reopened.
    shut_down: AtomicBool,
    /// Times the log (or in snapshot mode, the snapshot writer) failed and changes were refused.
    failures: AtomicU64,
}

/// Why a change could not be made durable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the write-ahead log failed to write or sync: the change was not kept, and changes are refused until the disk accepts writes again")]
pub struct LogFailed;

/// The handle every company actor and the engine share. Cheap to clone.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LogWriter")
            .field("mode", &self.shared.mode)
            .field("appended_lsn", &self.appended_lsn())
            .finish()
    }
}

impl LogWriter {
    /// Opens the log in `dir`, numbering from `next_lsn`. In wal mode a new segment is
    /// created (earlier ones are only read at start-up, never appended to) and the writer thread
    /// starts.
    pub fn open(
        dir: &Path,
        mode: DurabilityMode,
        next_lsn: u64,
        disk: Disk,
    ) -> io::Result<LogWriter> {
        let next_lsn = next_lsn.max(1);
        let (durable, _) = tokio::sync::watch::channel(Durable {
            lsn: next_lsn - 1,
            failed: false,
            settled: false,
            epoch: 0,
        });
        let (refusal, _) = tokio::sync::watch::channel(None);
        let shared = Arc::new(Shared {
            mode,
            dir: dir.to_path_buf(),
            queue: Mutex::new(Queue {
                buffer: Vec::new(),
                next_lsn,
                closed: false,
                rotate: false,
            }),
            has_work: Condvar::new(),
            has_room: Condvar::new(),
            segment_started: Condvar::new(),
            appended: AtomicU64::new(next_lsn - 1),
            changes: AtomicU64::new(0),
            durable,
            ended_epochs: Mutex::new(VecDeque::new()),
            active_first_lsn: AtomicU64::new(u64::MAX),
            writer: Mutex::new(None),
            disk,
            refusing: AtomicBool::new(false),
            refusal,
            failures: AtomicU64::new(0),
            shut_down: AtomicBool::new(false),
        });
        if mode == DurabilityMode::Wal {
            let file = create_segment(&shared.disk, dir, next_lsn)?;
            shared.active_first_lsn.store(next_lsn, Ordering::SeqCst);
            spawn_writer(&shared, file, next_lsn)?;
        }
        Ok(LogWriter { shared })
    }

    /// The mode the log runs in.
    pub fn mode(&self) -> DurabilityMode {
        self.shared.mode
    }

    /// Whether records are written (wal mode): callers skip building records otherwise.
    pub fn logs_records(&self) -> bool {
        self.shared.mode == DurabilityMode::Wal
    }

    /// The last LSN handed out: every change numbered up to it has been applied to its book.
    pub fn appended_lsn(&self) -> u64 {
        self.shared.appended.load(Ordering::SeqCst)
    }

    /// How many changes were counted since the log opened (both modes).
    pub fn change_count(&self) -> u64 {
        self.shared.changes.load(Ordering::SeqCst)
    }

    /// Counts a change made before the log could see it (log records replayed at
    /// start-up), so that the next interval takes a snapshot of it.
    pub fn mark_changed(&self) {
        self.shared.changes.fetch_add(1, Ordering::SeqCst);
    }

    /// The last LSN known to be on disk (snapshot mode: the last handed out).
    pub fn durable_lsn(&self) -> u64 {
        match self.shared.mode {
            DurabilityMode::Wal => self.shared.durable.borrow().lsn,
            DurabilityMode::Snapshot => self.appended_lsn(),
        }
    }

    /// Counts one change and, in wal mode, numbers it and queues its record (built only then).
    /// Returns the change's LSN (snapshot mode: the last LSN, unchanged), or `None` when the log
    /// is closed (failed, or shut down): then the record is not numbered and never written, and
    /// the change must not be acknowledged. Called by a company actor right after the change was
    /// applied to its book, so that LSN order is each company's order of changes. Waits only
    /// when the queue is full.
    pub fn append<R: Into<LogRecordV3>>(&self, make_record: impl FnOnce() -> R) -> Option<u64> {
        self.shared.changes.fetch_add(1, Ordering::SeqCst);
        if self.shared.mode == DurabilityMode::Snapshot {
            return Some(self.appended_lsn());
        }
        let record = make_record().into();
        // Encoded outside the lock; the LSN is patched in once assigned.
        let mut frame = encode_frame(0, &record);
        let mut queue = self.shared.queue.lock();
        while queue.buffer.len() >= limits::LOG_QUEUE_BYTES_MAX && !queue.closed {
            self.shared.has_room.wait(&mut queue);
        }
        // Once closed (shutdown, or the disk failed) nothing is written any more. No number is
        // handed out either: after a failure the numbers after the last durable record are
        // used again, and a book must never claim a position the log does not hold.
        if queue.closed {
            return None;
        }
        let lsn = queue.next_lsn;
        queue.next_lsn += 1;
        stamp_lsn(&mut frame, lsn);
        queue.buffer.extend_from_slice(&frame);
        self.shared.appended.store(lsn, Ordering::SeqCst);
        drop(queue);
        self.shared.has_work.notify_one();
        Some(lsn)
    }

    /// Counts a change that has no record: only in snapshot mode, where it answers the last
    /// LSN, unchanged (`None` in wal mode, where every change must come with its record).
    pub fn number_change(&self) -> Option<u64> {
        match self.shared.mode {
            DurabilityMode::Snapshot => {
                self.shared.changes.fetch_add(1, Ordering::SeqCst);
                Some(self.appended_lsn())
            }
            DurabilityMode::Wal => {
                tracing::error!("a change without a log record in WAL mode: not logged");
                None
            }
        }
    }

    /// The ticket of a change whose book is at log position `lsn` now: the current epoch's.
    pub fn ticket(&self, lsn: u64) -> Ticket {
        Ticket {
            epoch: self.shared.durable.borrow().epoch,
            lsn,
        }
    }

    /// The ticket of the last change numbered so far: once it is durable, every change applied to
    /// any book before this call is.
    pub fn last_ticket(&self) -> Ticket {
        // Under the queue's lock: a reopen changes the epoch and the numbering together.
        let queue = self.shared.queue.lock();
        let ticket = self.ticket(queue.next_lsn - 1);
        drop(queue);
        ticket
    }

    /// Waits until the change of `ticket` is on disk; an error when the log failed first (the
    /// change is then not kept). Immediate in snapshot mode.
    pub async fn wait_durable(&self, ticket: Ticket) -> Result<(), LogFailed> {
        if self.shared.mode == DurabilityMode::Snapshot {
            return Ok(());
        }
        let mut receiver = self.shared.durable.subscribe();
        let reached = *receiver
            .wait_for(|durable| {
                durable.epoch != ticket.epoch
                    || durable.lsn >= ticket.lsn
                    || (durable.failed && durable.settled)
            })
            .await
            .map_err(|_| LogFailed)?;
        let durable_lsn = if reached.epoch == ticket.epoch {
            reached.lsn
        } else {
            // The ticket's epoch ended in a failure: only what was durable then is kept.
            let ended = self.shared.ended_epochs.lock();
            let last = ended.iter().find(|(epoch, _)| *epoch == ticket.epoch);
            last.map_or(0, |(_, lsn)| *lsn)
        };
        if durable_lsn >= ticket.lsn {
            Ok(())
        } else {
            Err(LogFailed)
        }
    }

    /// Why changes are refused now, or `None` while they are taken.
    pub fn refusal(&self) -> Option<String> {
        if !self.shared.refusing.load(Ordering::SeqCst) {
            return None;
        }
        self.shared.refusal.borrow().clone()
    }

    /// Whether changes are refused now (one atomic load: the company actors ask on every change).
    pub fn is_refusing(&self) -> bool {
        self.shared.refusing.load(Ordering::SeqCst)
    }

    /// Refuses every change from now on, for `reason`, until [`LogWriter::take_changes`] (the
    /// snapshot writer's failure in snapshot mode; the log's own failure calls it in wal mode).
    pub fn refuse_changes(&self, reason: &str) {
        refuse(&self.shared, reason);
    }

    /// Takes changes again (the snapshot writer wrote a snapshot again, in snapshot mode).
    pub fn take_changes(&self) {
        self.shared.refusing.store(false, Ordering::SeqCst);
        self.shared.refusal.send_replace(None);
    }

    /// Waits until changes are refused.
    pub async fn refusing(&self) {
        let mut receiver = self.shared.refusal.subscribe();
        let _ = receiver.wait_for(Option::is_some).await;
    }

    /// How many times changes started being refused since the log opened.
    pub fn failure_count(&self) -> u64 {
        self.shared.failures.load(Ordering::SeqCst)
    }

    /// How many times the log was brought back after a failure since it opened.
    pub fn recovery_count(&self) -> u64 {
        self.shared.durable.borrow().epoch
    }

    /// Whether the log was closed at shutdown.
    pub fn is_shut_down(&self) -> bool {
        self.shared.shut_down.load(Ordering::SeqCst)
    }

    /// The last LSN that reached the disk in this epoch (frozen once the log failed).
    pub fn last_durable_lsn(&self) -> u64 {
        self.shared.durable.borrow().lsn
    }

    /// Waits for the writer thread to end (it ends when the log failed or closed). Blocking.
    pub fn join_writer(&self) {
        let handle = self.shared.writer.lock().take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    /// Brings a failed log back: removes every record after the last durable one from the disk
    /// (they were refused), starts a new segment after it, and takes changes again in a new
    /// epoch. Call it once the writer thread has ended ([`LogWriter::join_writer`]) and the books
    /// hold exactly the durable state; an error (the disk still refuses) changes nothing, and
    /// the call can be repeated.
    pub fn reopen(&self) -> io::Result<()> {
        let durable = *self.shared.durable.borrow();
        if self.shared.mode == DurabilityMode::Snapshot || !durable.failed || self.is_shut_down() {
            return Ok(());
        }
        cut_after(&self.shared.disk, &self.shared.dir, durable.lsn)?;
        let next_lsn = durable.lsn + 1;
        // The new segment exists before anything is numbered in the new epoch, so that no LSN
        // is ever handed out that a file cannot take.
        let file = create_segment(&self.shared.disk, &self.shared.dir, next_lsn)?;
        {
            let mut ended = self.shared.ended_epochs.lock();
            ended.push_back((durable.epoch, durable.lsn));
            while ended.len() > limits::LOG_EPOCHS_REMEMBERED_MAX {
                ended.pop_front();
            }
        }
        {
            let mut queue = self.shared.queue.lock();
            queue.buffer.clear();
            queue.next_lsn = next_lsn;
            queue.closed = false;
            queue.rotate = false;
            self.shared.appended.store(durable.lsn, Ordering::SeqCst);
            self.shared
                .active_first_lsn
                .store(next_lsn, Ordering::SeqCst);
            self.shared.durable.send_replace(Durable {
                lsn: durable.lsn,
                failed: false,
                settled: false,
                epoch: durable.epoch + 1,
            });
        }
        if let Err(error) = spawn_writer(&self.shared, file, next_lsn) {
            fail(
                &self.shared,
                &format!("the writer thread did not start: {error}"),
            );
            settle(&self.shared);
            return Err(error);
        }
        // The state the books now hold is what a snapshot should keep next.
        self.mark_changed();
        self.take_changes();
        Ok(())
    }

    /// Asks the writer to start a new segment, so that the records up to now can be removed
    /// once a snapshot covers them.
    pub fn rotate(&self) {
        if self.shared.mode == DurabilityMode::Wal {
            self.shared.queue.lock().rotate = true;
            self.shared.has_work.notify_one();
        }
    }

    /// Waits until the segment being written starts after `lsn` (the rotation asked for once
    /// `lsn` was appended has happened), or the log stopped. Blocking: call it off the
    /// actors' threads. Immediate in snapshot mode.
    pub fn wait_for_segment_after(&self, lsn: u64) {
        if self.shared.mode == DurabilityMode::Snapshot {
            return;
        }
        let mut queue = self.shared.queue.lock();
        while self.shared.active_first_lsn.load(Ordering::SeqCst) <= lsn && !queue.closed {
            self.shared.segment_started.wait(&mut queue);
        }
    }

    /// Removes log segments whose every record is at or below `covered_lsn` (a durable snapshot
    /// holds them). The segment being written is never removed. Returns the removed paths.
    pub fn remove_segments_through(&self, covered_lsn: u64) -> io::Result<Vec<PathBuf>> {
        let segments = list_segments(&self.shared.dir)?;
        let active = self.shared.active_first_lsn.load(Ordering::SeqCst);
        let mut removed = Vec::new();
        for (index, (first_lsn, path)) in segments.iter().enumerate() {
            if *first_lsn >= active {
                break;
            }
            // The last LSN of a segment is one before the next segment's first; the newest old
            // segment of an earlier run ends before the active one, or (snapshot mode) at most
            // at the last LSN ever handed out.
            let next_first = segments
                .get(index + 1)
                .map(|(next, _)| *next)
                .unwrap_or_else(|| active.min(self.appended_lsn() + 1));
            if next_first.saturating_sub(1) <= covered_lsn {
                fs::remove_file(path)?;
                removed.push(path.clone());
            } else {
                break;
            }
        }
        if !removed.is_empty() {
            self.shared.disk.sync_dir(&self.shared.dir)?;
        }
        Ok(removed)
    }

    /// Writes and syncs what is queued, stops the writer and waits for it. Records appended
    /// after this are numbered but not written, so call it only once nothing changes any more
    /// (after the final snapshot at shutdown).
    pub fn close(&self) {
        self.shared.shut_down.store(true, Ordering::SeqCst);
        {
            let mut queue = self.shared.queue.lock();
            queue.closed = true;
        }
        self.shared.has_work.notify_all();
        self.shared.has_room.notify_all();
        self.shared.segment_started.notify_all();
        self.join_writer();
        // Whatever is appended from now on is never written: a waiter for it must not wait
        // forever. Everything written so far stays durable (`wait_durable` checks that first).
        self.shared.durable.send_modify(|durable| {
            durable.failed = true;
            durable.settled = true;
        });
    }
}

/// What the writer and the sync threads share: the file being written, how far it is written,
/// how far a sync has been started.
struct SyncState {
    file: Arc<File>,
    /// The last LSN whose bytes are written to `file` (not yet necessarily on disk).
    written_lsn: u64,
    /// The highest LSN a sync has been started for: a sync covers every byte written before it
    /// starts, so a new sync is worth starting only when `written_lsn` moved past this.
    started_lsn: u64,
    /// Syncs running now.
    in_flight: usize,
    closed: bool,
}

struct Syncing {
    state: Mutex<SyncState>,
    /// Signalled when more is written (sync threads wait) and when a sync ends (the writer
    /// waits before it switches files).
    changed: Condvar,
}

/// The writer thread: take the whole buffer, write it, and let a sync thread make it durable.
/// Syncing is done by [`limits::LOG_SYNC_THREADS`] threads at once: a sync covers every byte
/// written before it starts, and while one sync waits on the disk the next batch is written
/// and another sync starts. On this kind of disk concurrent syncs complete several times more
/// often than one after another, and every waiting change rides on the first sync that starts
/// after it was written: the group commit, without a queue of syncs.
fn write_loop(shared: Arc<Shared>, file: File, first_lsn: u64) {
    let syncing = Arc::new(Syncing {
        state: Mutex::new(SyncState {
            file: Arc::new(file),
            written_lsn: first_lsn - 1,
            started_lsn: first_lsn - 1,
            in_flight: 0,
            closed: false,
        }),
        changed: Condvar::new(),
    });
    let syncers: Vec<JoinHandle<()>> = (0..limits::LOG_SYNC_THREADS)
        .filter_map(|index| {
            let shared = shared.clone();
            let syncing = syncing.clone();
            std::thread::Builder::new()
                .name(format!("holdfast-wal-sync-{index}"))
                .spawn(move || sync_loop(&shared, &syncing))
                .ok()
        })
        .collect();
    let outcome = if syncers.is_empty() {
        Err("no sync thread could be started".to_string())
    } else {
        write_batches(&shared, &syncing)
    };
    {
        let mut state = syncing.state.lock();
        state.closed = true;
    }
    syncing.changed.notify_all();
    for syncer in syncers {
        let _ = syncer.join();
    }
    if let Err(error) = outcome {
        fail(&shared, &error);
    }
    settle(&shared);
}

/// After the writer and its sync threads stopped: if the log failed, cuts the records after the
/// last durable one off the disk (a record whose write or sync failed may still be in the file,
/// and its caller is about to be refused), then lets the waiters have their answer. A cut the
/// disk refuses is tried again by the recovery before the log reopens.
fn settle(shared: &Shared) {
    let durable = *shared.durable.borrow();
    if !durable.failed || durable.settled {
        return;
    }
    if let Err(error) = cut_after(&shared.disk, &shared.dir, durable.lsn) {
        tracing::error!(%error, durable_lsn = durable.lsn, "cannot cut the refused records off the log yet: a crash before the disk takes the cut can bring them back");
    }
    shared.durable.send_modify(|durable| durable.settled = true);
}

/// Starts the writer thread on `file`, the segment starting at `first_lsn`.
fn spawn_writer(shared: &Arc<Shared>, file: File, first_lsn: u64) -> io::Result<()> {
    let writer_shared = shared.clone();
    let handle = std::thread::Builder::new()
        .name("holdfast-wal".into())
        .spawn(move || write_loop(writer_shared, file, first_lsn))?;
    *shared.writer.lock() = Some(handle);
    Ok(())
}

/// Refuses changes for `reason`, counting the failure once per outage.
fn refuse(shared: &Shared, reason: &str) {
    if !shared.refusing.swap(true, Ordering::SeqCst) {
        shared.failures.fetch_add(1, Ordering::SeqCst);
    }
    shared.refusal.send_replace(Some(reason.to_string()));
}

/// The disk failed: refuse changes before anything else (so no actor applies one more), then
/// publish the failure and stop queueing, so appenders never wait on a full buffer that nobody
/// drains. Nothing written after the last durable LSN is acknowledged, or kept: the recovery
/// cuts it off the disk and rebuilds the books from what is durable.
fn fail(shared: &Shared, error: &str) {
    tracing::error!(%error, "write-ahead log failed: changes are refused until the disk accepts writes again");
    refuse(
        shared,
        &format!("the write-ahead log cannot write to the disk ({error}); changes are refused until it can"),
    );
    shared.queue.lock().closed = true;
    shared.durable.send_modify(|durable| durable.failed = true);
    // The writer may wait for work: it must wake to stop, and settle the failure.
    shared.has_work.notify_all();
    shared.has_room.notify_all();
    shared.segment_started.notify_all();
}

/// Removes from the disk every record after `durable_lsn`: segments that start after it are
/// deleted, and the segment holding it is cut right after it (a record that reached the file but
/// not a completed sync was refused to its caller, so it must not come back on a restart).
pub(crate) fn cut_after(disk: &Disk, dir: &Path, durable_lsn: u64) -> io::Result<()> {
    let mut segments = list_segments(dir)?;
    let mut removed_any = false;
    while let Some((first_lsn, path)) = segments.last() {
        if *first_lsn <= durable_lsn {
            break;
        }
        fs::remove_file(path)?;
        removed_any = true;
        segments.pop();
    }
    if let Some((first_lsn, path)) = segments.last() {
        let bytes = fs::read(path)?;
        let mut offset = LOG_HEADER_BYTES.min(bytes.len());
        let mut expected_lsn = *first_lsn;
        // The segment may predate this build's format: its frames read as its header says.
        let version = segment_version(&bytes);
        while expected_lsn <= durable_lsn {
            match read_frame(&bytes[offset..], version) {
                Ok(frame) if frame.lsn == expected_lsn => {
                    offset += frame.bytes;
                    expected_lsn += 1;
                }
                _ => break,
            }
        }
        if offset < bytes.len() {
            let file = OpenOptions::new().write(true).open(path)?;
            disk.set_len(&file, offset as u64)?;
            disk.sync_all(&file)?;
        }
    }
    if removed_any {
        disk.sync_dir(dir)?;
    }
    Ok(())
}

/// The writer's loop: write each batch, then tell the sync threads how far the file is written.
fn write_batches(shared: &Shared, syncing: &Syncing) -> Result<(), String> {
    let mut spare = Vec::new();
    let mut segment_bytes = LOG_HEADER_BYTES;
    let mut file = syncing.state.lock().file.clone();
    loop {
        let (batch_last_lsn, rotate, closed) = {
            let mut queue = shared.queue.lock();
            while queue.buffer.is_empty() && !queue.closed && !queue.rotate {
                shared.has_work.wait(&mut queue);
            }
            std::mem::swap(&mut queue.buffer, &mut spare);
            let rotate = std::mem::take(&mut queue.rotate);
            (queue.next_lsn - 1, rotate, queue.closed)
        };
        shared.has_room.notify_all();
        if !spare.is_empty() {
            shared
                .disk
                .write_all(&file, &spare)
                .map_err(|e| format!("write: {e}"))?;
            segment_bytes += spare.len();
            spare.clear();
            syncing.state.lock().written_lsn = batch_last_lsn;
            syncing.changed.notify_one();
        }
        if closed {
            return sync_everything(shared, syncing, &file);
        }
        if rotate || segment_bytes >= limits::LOG_SEGMENT_BYTES_MAX {
            // Everything in the old file is made durable before anything goes into the new
            // one, so a sync of the new file never publishes an LSN the old file still owes.
            sync_everything(shared, syncing, &file)?;
            let next_lsn = syncing.state.lock().written_lsn + 1;
            let new_file = Arc::new(
                create_segment(&shared.disk, &shared.dir, next_lsn)
                    .map_err(|e| format!("new segment: {e}"))?,
            );
            syncing.state.lock().file = new_file.clone();
            file = new_file;
            segment_bytes = LOG_HEADER_BYTES;
            shared.active_first_lsn.store(next_lsn, Ordering::SeqCst);
            // Taking the lock orders the store before any waiter's next check.
            drop(shared.queue.lock());
            shared.segment_started.notify_all();
        }
    }
}

/// Waits for the syncs in flight, syncs `file` once more, and publishes everything written.
fn sync_everything(shared: &Shared, syncing: &Syncing, file: &File) -> Result<(), String> {
    let written_lsn = {
        let mut state = syncing.state.lock();
        while state.in_flight > 0 {
            syncing.changed.wait(&mut state);
        }
        state.started_lsn = state.written_lsn;
        state.written_lsn
    };
    shared
        .disk
        .sync_data(file)
        .map_err(|e| format!("sync: {e}"))?;
    publish(shared, written_lsn);
    Ok(())
}

/// Publishes `lsn` as durable (durable LSNs only grow: a later sync covers an earlier one).
fn publish(shared: &Shared, lsn: u64) {
    shared.durable.send_if_modified(|durable| {
        if lsn > durable.lsn && !durable.failed {
            durable.lsn = lsn;
            true
        } else {
            false
        }
    });
}

/// A sync thread: whenever more is written than any sync has covered, sync and publish.
fn sync_loop(shared: &Shared, syncing: &Syncing) {
    loop {
        let (file, target_lsn) = {
            let mut state = syncing.state.lock();
            while state.written_lsn <= state.started_lsn && !state.closed {
                syncing.changed.wait(&mut state);
            }
            if state.written_lsn <= state.started_lsn {
                return;
            }
            state.started_lsn = state.written_lsn;
            state.in_flight += 1;
            (state.file.clone(), state.written_lsn)
        };
        let result = shared.disk.sync_data(&file);
        {
            let mut state = syncing.state.lock();
            state.in_flight -= 1;
        }
        syncing.changed.notify_all();
        match result {
            Ok(()) => publish(shared, target_lsn),
            Err(error) => {
                fail(shared, &format!("sync: {error}"));
                return;
            }
        }
    }
}
