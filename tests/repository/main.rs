//! Checks of the repository's own files: the Grafana dashboard against the documented
//! metrics (`grafana_dashboard`), the committed fuzz corpora replayed (`fuzz_corpus`), and
//! the one-way module graph (`module_graph`). One test binary for the three, to link once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../../fuzz/harness.rs"]
mod harness;

mod fuzz_corpus;
mod grafana_dashboard;
mod module_graph;
