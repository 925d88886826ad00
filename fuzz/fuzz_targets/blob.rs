//! Fuzz target `blob`; the harness lives in `fuzz/harness.rs`, shared with
//! `tests/repository/fuzz_corpus.rs`, which replays `fuzz/corpus/blob/` under `cargo test`.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::blob(data));
