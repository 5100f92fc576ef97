//! The one door through which the write-ahead log and the snapshot writer reach the disk: every
//! write, sync and rename they make goes through [`Disk`], so that tests can make any one of them
//! fail the way a real disk does (no space, an I/O error, a write cut short) and check what the
//! server keeps and what it refuses.
//!
//! In production a `Disk` is a plain pass-through: one `Option` test per call. Reading is not
//! routed through here: a failed read is not a change the server could half-make.

use parking_lot::Mutex;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Linux's `ENOSPC`: what a full filesystem answers to a write.
const ERRNO_NO_SPACE: i32 = 28;
/// Linux's `EIO`: what a failing device answers.
const ERRNO_IO: i32 = 5;

/// A kind of call that changes the disk, counted by a [`FaultPlan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoPoint {
    /// Bytes written to a file (including the cut of a log's tail).
    Write,
    /// A file's or a directory's data made durable.
    Sync,
    /// A file renamed into place.
    Rename,
}

/// How an injected failure fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `ENOSPC`, nothing done.
    NoSpace,
    /// `EIO`, nothing done.
    Io,
    /// A write that puts the first half of its bytes on disk, then fails with `ENOSPC`, as a
    /// filesystem that fills up mid-write does (other calls fail with `ENOSPC`).
    ShortWrite,
}

impl Fault {
    fn error(self, point: IoPoint, number: u64) -> io::Error {
        let errno = match self {
            Fault::Io => ERRNO_IO,
            Fault::NoSpace | Fault::ShortWrite => ERRNO_NO_SPACE,
        };
        let os = io::Error::from_raw_os_error(errno);
        io::Error::new(os.kind(), format!("{os} (injected at {point:?} #{number})"))
    }
}

/// Which calls fail: the `fail_at`-th call counted (from 1; 0 never), and, once one failed,
/// every later one until [`FaultPlan::heal`], as a full disk keeps refusing until space is freed.
#[derive(Debug)]
pub struct FaultPlan {
    seen: AtomicU64,
    fail_at: AtomicU64,
    fault: Fault,
    failing: AtomicBool,
    /// Every point seen, in order (for a test that walks them).
    trace: Mutex<Vec<IoPoint>>,
}

impl FaultPlan {
    /// A plan that fails nothing and only counts (a dry run that tells a test how many points a
    /// workload passes).
    pub fn count_only() -> Arc<FaultPlan> {
        FaultPlan::fail_at(0, Fault::NoSpace)
    }

    /// A plan whose `point_number`-th call fails with `fault`, and every call after it until healed.
    pub fn fail_at(point_number: u64, fault: Fault) -> Arc<FaultPlan> {
        Arc::new(FaultPlan {
            seen: AtomicU64::new(0),
            fail_at: AtomicU64::new(point_number),
            fault,
            failing: AtomicBool::new(false),
            trace: Mutex::new(Vec::new()),
        })
    }

    /// Makes every call succeed again (space was freed), and fails nothing more.
    pub fn heal(&self) {
        self.fail_at.store(0, Ordering::SeqCst);
        self.failing.store(false, Ordering::SeqCst);
    }

    /// Whether calls fail now.
    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::SeqCst)
    }

    /// How many calls were counted so far.
    pub fn points_seen(&self) -> u64 {
        self.seen.load(Ordering::SeqCst)
    }

    /// The kinds of the calls counted so far, in order.
    pub fn trace(&self) -> Vec<IoPoint> {
        self.trace.lock().clone()
    }

    /// Counts one call; answers the fault it must suffer, if any.
    fn check(&self, point: IoPoint) -> Option<(Fault, u64)> {
        let number = {
            let mut trace = self.trace.lock();
            trace.push(point);
            self.seen.fetch_add(1, Ordering::SeqCst) + 1
        };
        let fail_at = self.fail_at.load(Ordering::SeqCst);
        if fail_at != 0 && number >= fail_at {
            self.failing.store(true, Ordering::SeqCst);
        }
        self.is_failing().then_some((self.fault, number))
    }
}

/// The disk as the log and the snapshot writer see it. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    faults: Option<Arc<FaultPlan>>,
}

impl Disk {
    /// The real disk, nothing injected.
    pub fn real() -> Disk {
        Disk::default()
    }

    /// The real disk, with the failures of `plan` injected.
    pub fn with_faults(plan: Arc<FaultPlan>) -> Disk {
        Disk { faults: Some(plan) }
    }

    fn fault(&self, point: IoPoint) -> Option<(Fault, u64)> {
        self.faults.as_ref().and_then(|plan| plan.check(point))
    }

    /// Writes all of `bytes` at the file's position.
    pub fn write_all(&self, mut file: &File, bytes: &[u8]) -> io::Result<()> {
        if let Some((fault, number)) = self.fault(IoPoint::Write) {
            if fault == Fault::ShortWrite {
                file.write_all(&bytes[..bytes.len() / 2])?;
            }
            return Err(fault.error(IoPoint::Write, number));
        }
        file.write_all(bytes)
    }

    /// Makes a file's data durable (`fdatasync`).
    pub fn sync_data(&self, file: &File) -> io::Result<()> {
        if let Some((fault, number)) = self.fault(IoPoint::Sync) {
            return Err(fault.error(IoPoint::Sync, number));
        }
        file.sync_data()
    }

    /// Makes a file's data and metadata durable (`fsync`).
    pub fn sync_all(&self, file: &File) -> io::Result<()> {
        if let Some((fault, number)) = self.fault(IoPoint::Sync) {
            return Err(fault.error(IoPoint::Sync, number));
        }
        file.sync_all()
    }

    /// Syncs a directory, so that a new, renamed or removed name in it survives a crash.
    pub fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if let Some((fault, number)) = self.fault(IoPoint::Sync) {
            return Err(fault.error(IoPoint::Sync, number));
        }
        File::open(dir)?.sync_all()
    }

    /// Renames `from` to `to`.
    pub fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        if let Some((fault, number)) = self.fault(IoPoint::Rename) {
            return Err(fault.error(IoPoint::Rename, number));
        }
        fs::rename(from, to)
    }

    /// Cuts a file to `length` bytes (counted as a write: it changes the file).
    pub fn set_len(&self, file: &File, length: u64) -> io::Result<()> {
        if let Some((fault, number)) = self.fault(IoPoint::Write) {
            return Err(fault.error(IoPoint::Write, number));
        }
        file.set_len(length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: the plan fails exactly the numbered call and every later one until healed, and a
    /// short write leaves half its bytes behind.
    #[test]
    fn fails_from_the_numbered_call_until_healed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::create(&path).unwrap();
        let plan = FaultPlan::fail_at(2, Fault::ShortWrite);
        let disk = Disk::with_faults(plan.clone());
        disk.write_all(&file, b"abcd").unwrap();
        let error = disk.write_all(&file, b"efgh").unwrap_err();
        assert_eq!(
            error.raw_os_error(),
            None,
            "wrapped, with the point in its text"
        );
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);
        assert_eq!(fs::read(&path).unwrap(), b"abcdef");
        assert!(disk.sync_data(&file).is_err(), "still failing");
        plan.heal();
        disk.sync_data(&file).unwrap();
        assert_eq!(plan.points_seen(), 4);
        assert_eq!(
            plan.trace(),
            [IoPoint::Write, IoPoint::Write, IoPoint::Sync, IoPoint::Sync]
        );
    }
}
