//! The Grafana dashboard (`docs/grafana/charon-auth.json`) queries only metrics the library
//! documents: every `charon_*` name in every panel's PromQL is documented in the crate's
//! doc comments (the telemetry module's tables, the store's error counter, the token
//! cache's counters), histograms through their `_bucket`/`_sum`/`_count` series; each
//! `histogram_quantile` reads a `_bucket` series aggregated `by (le…)`; and the panels the
//! operations guide explains are all there.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

const DASHBOARD: &str = "docs/grafana/charon-auth.json";

/// The duration histograms of issue 16, whose names are fixed. They are documented by the
/// telemetry work that adds them; until that is in this tree (no `_duration_seconds`
/// documented at all), they are taken as documented. Once any duration histogram is
/// documented, only the documentation counts, so a renamed histogram fails this test.
const FIXED_HISTOGRAMS: [&str; 3] = [
    "charon_token_verification_duration_seconds",
    "charon_store_operation_duration_seconds",
    "charon_jwks_refresh_duration_seconds",
];

/// The panels the operations guide explains, by title.
const PANELS: [&str; 8] = [
    "Request rate by outcome",
    "Invalid-token ratio by error kind",
    "Verification latency p50 / p99",
    "Redis latency p50 / p99",
    "Sessions created / refreshed / deleted",
    "Lock conflicts",
    "Verified-token cache hit ratio",
    "Store errors by kind",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `charon_…` words in `text` (metric names: lowercase, digits, underscores).
fn metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("charon_") {
        let start = i + at;
        let before = start.checked_sub(1).map(|b| bytes[b]);
        let mut end = start;
        while end < bytes.len()
            && (bytes[end].is_ascii_lowercase()
                || bytes[end].is_ascii_digit()
                || bytes[end] == b'_')
        {
            end += 1;
        }
        if !before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
            names.push(text[start..end].trim_end_matches('_').to_owned());
        }
        i = end.max(start + 1);
    }
    names
}

/// Metric names in the crate's doc comments (`//!`, `///`), the operations guide aside (it
/// explains the dashboard: counting it would make this test circular).
fn documented() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut names = BTreeSet::new();
    for file in files {
        if file.ends_with("src/guide/operations.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            let line = line.trim_start();
            if line.starts_with("//!") || line.starts_with("///") {
                names.extend(metric_names(line));
            }
        }
    }
    // Only metric names: counters and histograms, not crate or type names.
    names.retain(|n| n.ends_with("_total") || n.ends_with("_seconds"));
    if !names.iter().any(|n| n.ends_with("_duration_seconds")) {
        names.extend(FIXED_HISTOGRAMS.map(str::to_owned));
    }
    names
}

fn dashboard() -> Value {
    let text = std::fs::read_to_string(root().join(DASHBOARD)).unwrap();
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// Every `(panel title, expr)` of the dashboard, and the template variables' queries.
fn expressions(dash: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap().to_owned();
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {title:?} has no query");
        for target in targets {
            let expr = target["expr"].as_str().unwrap();
            assert!(!expr.trim().is_empty(), "panel {title:?}: empty query");
            out.push((title.clone(), expr.to_owned()));
        }
    }
    for var in dash["templating"]["list"].as_array().unwrap() {
        if let Some(query) = var["query"]["query"].as_str() {
            out.push((format!("variable {}", var["name"]), query.to_owned()));
        }
    }
    out
}

/// The documented metric a series of the query reads: itself, or the histogram whose
/// `_bucket`, `_sum` or `_count` it is.
fn base_metric<'a>(series: &'a str, documented: &BTreeSet<String>) -> Option<&'a str> {
    if documented.contains(series) {
        return Some(series);
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        series
            .strip_suffix(suffix)
            .filter(|base| base.ends_with("_seconds") && documented.contains(*base))
    })
}

#[test]
fn every_query_reads_only_documented_metrics() {
    let documented = documented();
    // The source of truth is not empty: the seven event counters at least.
    for counter in [
        "charon_token_valid_total",
        "charon_token_invalid_total",
        "charon_session_create_total",
        "charon_session_lock_conflict_total",
        "charon_store_errors_total",
        "charon_token_cache_hits_total",
    ] {
        assert!(documented.contains(counter), "{counter} is not documented");
    }
    let dash = dashboard();
    let mut used = BTreeSet::new();
    for (title, expr) in expressions(&dash) {
        let names = metric_names(&expr);
        assert!(!names.is_empty(), "{title}: {expr} reads no charon metric");
        for name in names {
            let base = base_metric(&name, &documented).unwrap_or_else(|| {
                panic!("{title}: `{name}` is not a documented metric (documented: {documented:?})")
            });
            used.insert(base.to_owned());
        }
    }
    // The latency panels read the fixed histograms.
    for histogram in &FIXED_HISTOGRAMS[..2] {
        assert!(used.contains(*histogram), "no panel reads {histogram}");
    }
}

#[test]
fn quantiles_read_buckets_by_le_and_parentheses_balance() {
    for (title, expr) in expressions(&dashboard()) {
        let mut depth = 0i32;
        for c in expr.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0, "{title}: unbalanced parentheses in {expr}");
        }
        assert_eq!(depth, 0, "{title}: unbalanced parentheses in {expr}");
        for (at, _) in expr.match_indices("histogram_quantile(") {
            let call = &expr[at..];
            assert!(
                call.contains("_bucket{") && call.contains("sum by (le"),
                "{title}: histogram_quantile must aggregate _bucket series by le: {expr}"
            );
        }
        if expr.contains("_bucket") {
            assert!(
                expr.contains("histogram_quantile("),
                "{title}: a _bucket series outside histogram_quantile: {expr}"
            );
        }
        // Counters are read as rates, never raw (they reset on restart).
        for name in metric_names(&expr) {
            if name.ends_with("_total") && !title.starts_with("variable") {
                assert!(
                    expr.contains(&format!("rate({name}")),
                    "{title}: {name} read without rate(): {expr}"
                );
            }
        }
    }
}

#[test]
fn the_dashboard_has_the_explained_panels_and_a_datasource_variable() {
    let dash = dashboard();
    assert_eq!(dash["uid"], "charon-auth");
    let titles: Vec<&str> = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, PANELS);
    let vars: Vec<&str> = dash["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(
        vars.contains(&"datasource") && vars.contains(&"job"),
        "{vars:?}"
    );
    for panel in dash["panels"].as_array().unwrap() {
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{}",
            panel["title"]
        );
        assert!(panel["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    // The guide explains each panel under its title.
    let guide = std::fs::read_to_string(root().join("src/guide/operations.rs")).unwrap();
    for title in PANELS {
        assert!(
            guide.contains(&format!("### {title}")),
            "the guide does not explain {title:?}"
        );
    }
}

#[test]
fn the_name_scanner_finds_names_and_skips_longer_words() {
    assert_eq!(
        metric_names("sum(rate(charon_token_valid_total{job=~\"x\"}[5m])) / xcharon_no"),
        ["charon_token_valid_total"]
    );
    assert_eq!(
        metric_names("`charon_store_errors_total{kind}`"),
        ["charon_store_errors_total"]
    );
}
