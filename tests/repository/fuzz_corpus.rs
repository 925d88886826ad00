//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) and the hand-written seeds
//! (`fuzz/seeds/<target>/`) through the same harnesses as the cargo-fuzz targets, so CI
//! covers every input the fuzzer kept without running a fuzzer. See `fuzz/README.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::harness;

use std::path::Path;

/// Feed every file of `fuzz/corpus/<target>/` and `fuzz/seeds/<target>/` to `run`; returns
/// how many corpus files there were.
fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut corpus = 0;
    for dir in ["corpus", "seeds"] {
        let dir = root.join(dir).join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        for path in &files {
            let data = std::fs::read(path).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {} failed", path.display());
        }
        if dir.ends_with(Path::new("corpus").join(target)) {
            corpus = files.len();
        }
    }
    corpus
}

#[test]
fn gate_corpus() {
    assert_ne!(replay("gate", harness::gate), 0, "empty gate corpus");
}

#[test]
fn verify_corpus() {
    assert_ne!(replay("verify", harness::verify), 0, "empty verify corpus");
}

#[test]
fn blob_corpus() {
    assert_ne!(replay("blob", harness::blob), 0, "empty blob corpus");
}
