//! The data directory's file mechanics that snapshots and the write-ahead log share: the lock
//! that keeps a second server off the directory, names that carry a number (a snapshot's
//! sequence, a segment's first LSN), listing files by such names, syncing the directory, and the
//! atomic write (temporary file, sync, rename, sync the directory).
//!
//! They live here, below both users, so that neither imports the other's helpers: what a
//! snapshot or a segment holds is their own business; how a file reaches the disk is this one's.

use crate::durability::disk::Disk;
use crate::durability::StartupError;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// Name of the lock file that keeps two servers off one data directory.
pub const LOCK_FILE_NAME: &str = "LOCK";

/// Holds the data directory's lock for as long as it lives.
#[derive(Debug)]
pub struct DirectoryLock {
    _file: File,
}

/// Creates the data directory if needed and locks it, so that a second server on the same
/// directory refuses to start instead of interleaving files. The lock dies with the process,
/// even a killed one.
pub fn lock_directory(dir: &Path) -> Result<DirectoryLock, StartupError> {
    let io_error = |source| StartupError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(io_error)?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE_NAME))
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => Ok(DirectoryLock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(StartupError::Locked(dir.to_path_buf())),
        Err(fs::TryLockError::Error(source)) => Err(io_error(source)),
    }
}

/// `<prefix><number, 20 digits><suffix>`: zero-padded, so that names sort as their numbers do.
pub fn numbered_name(prefix: &str, number: u64, suffix: &str) -> String {
    format!("{prefix}{number:020}{suffix}")
}

/// The number in a name made by [`numbered_name`] (`None` for any other name).
pub fn number_in_name(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    name.strip_prefix(prefix)?
        .strip_suffix(suffix)?
        .parse()
        .ok()
}

/// The files of `dir` named `<prefix><number><suffix>`, as `(number, path)`, lowest number first.
pub fn list_numbered(dir: &Path, prefix: &str, suffix: &str) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if let Some(number) = name
            .to_str()
            .and_then(|name| number_in_name(name, prefix, suffix))
        {
            found.push((number, entry.path()));
        }
    }
    found.sort_unstable_by_key(|(number, _)| *number);
    Ok(found)
}

/// Syncs a directory, so that a rename or a new file in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` as `dir/name`: first as `name` + `temporary_suffix`, synced, then, if
/// `may_rename` agrees, renamed into place and the directory synced. A crash at any point leaves
/// either no file named `name` or a complete one; a refusal of `may_rename` (or a failure) removes
/// the temporary file. Returns the final path.
pub fn write_atomically(
    disk: &Disk,
    dir: &Path,
    name: &str,
    temporary_suffix: &str,
    bytes: &[u8],
    may_rename: impl FnOnce() -> io::Result<()>,
) -> io::Result<PathBuf> {
    let path = dir.join(name);
    let temporary = dir.join(format!("{name}{temporary_suffix}"));
    let written = (|| {
        let file = File::create(&temporary)?;
        disk.write_all(&file, bytes)?;
        disk.sync_all(&file)?;
        may_rename()?;
        disk.rename(&temporary, &path)
    })();
    if let Err(error) = written {
        // Best effort: a temporary file left behind is removed at the next start-up anyway.
        let _ = fs::remove_file(&temporary);
        return Err(error);
    }
    disk.sync_dir(dir)?;
    Ok(path)
}
