//! Restore at start-up: the newest snapshot that verifies, then the log records it does not
//! hold, then expiry of the holds whose time ran out while the server was down. It reads the
//! data directory and rebuilds books; it starts nothing (the caller opens the log and starts
//! the engine with what this returns).

use crate::core::book::{Book, Settings};
use crate::core::reservation::Status;
use crate::durability::log::{self, LogError, LogRecordV1, LogRecordV3, TornTail};
use crate::durability::snapshot::{self, SnapshotError};
use crate::durability::StartupError;
use crate::limits;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// A snapshot that was skipped because it did not verify.
#[derive(Clone, Debug)]
pub struct Quarantined {
    pub file: PathBuf,
    pub renamed_to: PathBuf,
    pub reason: String,
}

/// What restore found and did, for the log and for tests.
#[derive(Clone, Debug, Default)]
pub struct RestoreReport {
    /// The snapshot restored, if any.
    pub snapshot: Option<RestoredSnapshot>,
    pub quarantined: Vec<Quarantined>,
    pub companies: usize,
    pub reservations: usize,
    /// Log records applied after the snapshot.
    pub replayed: usize,
    /// Log records the book refused on replay (0 unless something is wrong; each is logged).
    pub replay_refused: usize,
    /// A torn tail cut off the log.
    pub torn_tail: Option<TornTail>,
    /// Holds that expired while the server was down, expired during restore.
    pub expired_on_restore: usize,
    /// Temporary files of an interrupted snapshot write, removed.
    pub removed_temporaries: Vec<String>,
}

/// The snapshot a restore started from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoredSnapshot {
    pub file: PathBuf,
    pub sequence: u64,
    /// The last log position the snapshot holds.
    pub covered_lsn: u64,
}

/// The holds of one company that expired while the server was down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiredOnRestore {
    pub company: String,
    pub tokens: Vec<Uuid>,
}

/// The state rebuilt from a data directory.
#[derive(Debug)]
pub struct Restored {
    pub books: Vec<Book>,
    /// The LSN to number the next change with.
    pub next_lsn: u64,
    /// Holds expired during restore, per company: they are logged once the log is open so
    /// that a second crash replays the same state.
    pub expired: Vec<ExpiredOnRestore>,
    pub report: RestoreReport,
}

/// Rebuilds every company from `dir` at `now_ms`: the newest snapshot that verifies, then the
/// log after it, then expiry of holds that ran out meanwhile. Damaged snapshots are renamed
/// `*.corrupt` (logged with the reason); a torn log tail is cut off.
pub fn restore(dir: &Path, settings: &Settings, now_ms: i64) -> Result<Restored, StartupError> {
    let io_error = |source| StartupError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(io_error)?;
    let mut report = RestoreReport {
        removed_temporaries: snapshot::remove_temporaries(dir).map_err(io_error)?,
        ..RestoreReport::default()
    };
    for name in &report.removed_temporaries {
        tracing::warn!(file = %name, "removed the temporary file of an interrupted snapshot");
    }
    let (mut books, covered_lsn) = match newest_valid_snapshot(dir, settings, &mut report)? {
        Some((books, covered_lsn)) => (books, covered_lsn),
        None => (BTreeMap::new(), 0),
    };
    let log_read = log::read_log(dir, true)?;
    if let Some(torn) = &log_read.torn {
        tracing::warn!(file = %torn.file.display(), offset = torn.offset_bytes, bytes = torn.cut_bytes, "cut a torn record off the end of the write-ahead log");
    }
    report.torn_tail = log_read.torn.clone();
    if let Some(first_lsn) = log_read.first_lsn {
        if first_lsn > covered_lsn + 1 {
            return Err(LogError::Gap {
                from: covered_lsn + 1,
                to: first_lsn - 1,
            }
            .into());
        }
    }
    replay(&mut books, log_read.records, settings, &mut report);
    let next_lsn = books
        .values()
        .map(Book::log_position)
        .fold(covered_lsn.max(log_read.last_lsn), u64::max);
    let expired = expire_due(&mut books, now_ms, &mut report);
    report.companies = books.len();
    report.reservations = books.values().map(Book::len).sum();
    Ok(Restored {
        books: books.into_values().collect(),
        next_lsn: next_lsn + 1,
        expired,
        report,
    })
}

/// Rebuilds every company as the disk holds it up to `durable_lsn`, without changing the
/// directory: the newest snapshot that verifies and covers no more than `durable_lsn`, then the
/// log records after it up to `durable_lsn`, then expiry (in memory) of what ran out by `now_ms`.
/// The recovery after a log failure replaces the books with this, so that changes which were
/// applied but never became durable (their callers were refused) do not stay. A snapshot that
/// does not verify is skipped here and quarantined by the next start-up.
pub fn rebuild_durable(
    dir: &Path,
    settings: &Settings,
    now_ms: i64,
    durable_lsn: u64,
) -> Result<Vec<Book>, StartupError> {
    let candidates = snapshot::list(dir).map_err(|source| StartupError::Io {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut start = None;
    for (_, path) in candidates {
        match load_snapshot(&path, settings) {
            Ok((covered_lsn, books)) if covered_lsn <= durable_lsn => {
                start = Some((books, covered_lsn));
                break;
            }
            Ok((covered_lsn, _)) => {
                tracing::error!(file = %path.display(), covered_lsn, durable_lsn, "a snapshot covers more than the log holds: skipped");
            }
            Err(error) => {
                tracing::error!(file = %path.display(), %error, "a snapshot does not load: skipped");
            }
        }
    }
    let (mut books, covered_lsn) = start.unwrap_or_default();
    let log_read = log::read_log(dir, false)?;
    let records: Vec<_> = log_read
        .records
        .into_iter()
        .filter(|(lsn, _)| *lsn <= durable_lsn)
        .collect();
    if let Some((first_lsn, _)) = records.first() {
        if *first_lsn > covered_lsn + 1 {
            return Err(LogError::Gap {
                from: covered_lsn + 1,
                to: first_lsn - 1,
            }
            .into());
        }
    }
    let mut report = RestoreReport::default();
    replay(&mut books, records, settings, &mut report);
    expire_due(&mut books, now_ms, &mut report);
    Ok(books.into_values().collect())
}

/// Expires every active hold whose time ran out by `now_ms`, counting them; answers them per
/// company, for the log.
fn expire_due(
    books: &mut BTreeMap<String, Book>,
    now_ms: i64,
    report: &mut RestoreReport,
) -> Vec<ExpiredOnRestore> {
    let mut expired = Vec::new();
    for book in books.values_mut() {
        let due: Vec<Uuid> = book
            .reservations()
            .filter(|r| r.status == Status::Active && now_ms >= r.expires_at_ms)
            .map(|r| r.token)
            .collect();
        if !due.is_empty() {
            report.expired_on_restore += book.expire_due(&due, now_ms);
            expired.push(ExpiredOnRestore {
                company: book.company().to_string(),
                tokens: due,
            });
        }
    }
    expired
}

/// Books by company, as restored from one snapshot, and the snapshot's covered LSN.
type SnapshotBooks = (BTreeMap<String, Book>, u64);

/// The books of the newest snapshot that verifies, and its covered LSN.
fn newest_valid_snapshot(
    dir: &Path,
    settings: &Settings,
    report: &mut RestoreReport,
) -> Result<Option<SnapshotBooks>, StartupError> {
    let candidates = snapshot::list(dir).map_err(|source| StartupError::Io {
        dir: dir.to_path_buf(),
        source,
    })?;
    for (sequence, path) in candidates {
        match load_snapshot(&path, settings) {
            Ok((covered_lsn, books)) => {
                report.snapshot = Some(RestoredSnapshot {
                    file: path,
                    sequence,
                    covered_lsn,
                });
                return Ok(Some((books, covered_lsn)));
            }
            Err(error) if error.is_corruption() => {
                let renamed_to =
                    snapshot::quarantine(&path).map_err(|source| StartupError::Io {
                        dir: dir.to_path_buf(),
                        source,
                    })?;
                tracing::error!(file = %path.display(), renamed_to = %renamed_to.display(), reason = %error, "snapshot does not verify: renamed and skipped");
                report.quarantined.push(Quarantined {
                    file: path,
                    renamed_to,
                    reason: error.to_string(),
                });
            }
            Err(source) => return Err(StartupError::Snapshot { file: path, source }),
        }
    }
    Ok(None)
}

/// Reads, verifies and rebuilds one snapshot file: its covered LSN and the books.
pub fn load_snapshot(
    path: &Path,
    settings: &Settings,
) -> Result<(u64, BTreeMap<String, Book>), SnapshotError> {
    let bytes = fs::read(path)?;
    let (_, body) = snapshot::verify(&bytes)?;
    let books = restore_companies(&body.companies, body.format_version, settings)?;
    Ok((body.covered_lsn, books))
}

/// Decodes and rebuilds companies on every core: companies share nothing, so they restore in
/// parallel, and each record is decoded right before its rebuild, so that the decoded form of
/// the whole snapshot is never in memory at once.
pub fn restore_companies(
    frames: &[&[u8]],
    format_version: u32,
    settings: &Settings,
) -> Result<BTreeMap<String, Book>, SnapshotError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, limits::RESTORE_THREADS_MAX);
    let results: Vec<Result<Vec<Book>, SnapshotError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                scope.spawn(move || {
                    // Dealt out in turn, so each thread gets a similar share of big and small.
                    frames
                        .iter()
                        .skip(thread)
                        .step_by(threads)
                        .map(|frame| {
                            let record = snapshot::decode_company(frame, format_version)?;
                            let company = record.base.company.clone();
                            snapshot::restore_company(record, settings)
                                .map_err(|detail| SnapshotError::Invalid { company, detail })
                        })
                        .collect::<Result<Vec<Book>, SnapshotError>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle.join().unwrap_or_else(|_| {
                    Err(SnapshotError::Decode("a restore thread panicked".into()))
                })
            })
            .collect()
    });
    let mut books = BTreeMap::new();
    for result in results {
        for book in result? {
            let company = book.company().to_string();
            if books.insert(company.clone(), book).is_some() {
                return Err(SnapshotError::Invalid {
                    company,
                    detail: "appears twice".into(),
                });
            }
        }
    }
    Ok(books)
}

/// Applies log records to the books, skipping what each company's snapshot already holds.
fn replay(
    books: &mut BTreeMap<String, Book>,
    records: Vec<(u64, LogRecordV3)>,
    settings: &Settings,
    report: &mut RestoreReport,
) {
    for (lsn, record) in records {
        let company = record.company();
        if crate::core::command::validate_id("company", company).is_err() {
            report.replay_refused += 1;
            tracing::error!(lsn, company, "log record names an invalid company: skipped");
            continue;
        }
        let book = books
            .entry(company.to_string())
            .or_insert_with(|| Book::new(company, settings.clone()));
        if lsn <= book.log_position() {
            continue;
        }
        if let Err(error) = record.apply(book) {
            // A logged change succeeded when it ran; refusing it now means the state before it
            // differs from the state it ran on. Logged loudly, never silently.
            report.replay_refused += 1;
            tracing::error!(lsn, company, %error, "log record refused on replay");
        }
        book.set_log_position(lsn);
        report.replayed += 1;
    }
}

/// The expiry records that log the holds expired during restore, split so that no record
/// outgrows [`limits::LOG_EXPIRE_TOKENS_PER_RECORD_MAX`].
pub fn expiry_records(company: &str, tokens: &[Uuid], now_ms: i64) -> Vec<LogRecordV1> {
    tokens
        .chunks(limits::LOG_EXPIRE_TOKENS_PER_RECORD_MAX)
        .map(|part| LogRecordV1::Expire {
            company: company.to_string(),
            now_ms,
            tokens: part.iter().map(|t| *t.as_bytes()).collect(),
        })
        .collect()
}
