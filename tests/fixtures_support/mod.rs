//! What the tests of every fixture folder share: a fresh copy of a folder of
//! `tests/fixtures/`, because restore may repair files and the committed ones must never change.

use std::path::Path;

/// A copy of `tests/fixtures/<folder>` in a temporary directory.
pub fn copy_of(folder: &str) -> tempfile::TempDir {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(folder);
    let dir = tempfile::tempdir().expect("a temporary directory");
    for entry in std::fs::read_dir(&source).expect("the fixtures folder") {
        let entry = entry.expect("a fixture");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copied");
    }
    dir
}
