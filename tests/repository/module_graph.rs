//! The crate's top-level modules depend on each other one way only (issue 11): no module
//! reaches, through `crate::` paths in its code (doc comments and tests aside), a module
//! that reaches back. A new cycle fails here with the path that closes it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Items re-exported at the crate root, by the module that defines them.
const ROOT_ITEMS: &[(&str, &str)] = &[
    ("Charon", "charon"),
    ("CharonBuilder", "charon"),
    ("CreateSession", "charon"),
    ("RefreshSession", "charon"),
    ("RefreshAuth", "charon"),
    ("IssuedTokens", "charon"),
    ("LoggedOut", "charon"),
    ("Verifier", "verifier"),
    ("TrustedIssuer", "verifier"),
    ("Authenticated", "verifier"),
    ("AccessLayer", "layer"),
    ("RefreshLayer", "layer"),
    ("AuthError", "error"),
    ("AuthErrorKind", "error"),
    ("ConfigError", "error"),
    ("SessionError", "error"),
    ("StoreError", "error"),
    ("Transport", "transport"),
    ("Claims", "token"),
    ("TokenType", "token"),
    ("Key", "token"),
    ("Keyset", "token"),
    ("JwtCodec", "token"),
    ("Session", "session"),
    ("SessionType", "session"),
    ("SessionTtl", "config"),
    ("ReuseDetection", "config"),
    ("UnixTime", "clock"),
    ("Clock", "clock"),
];

fn rust_files(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_owned());
    }
}

/// The code of a file: without its `#[cfg(test)]` tail and comment lines.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn identifiers_after<'a>(code: &'a str, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    code.match_indices(prefix).map(move |(i, _)| {
        let rest = &code[i + prefix.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        &rest[..end]
    })
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeMap::new();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name != "lib" {
            modules.insert(name, path);
        }
    }
    let root_items: BTreeMap<&str, &str> = ROOT_ITEMS.iter().copied().collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, path) in &modules {
        let mut files = Vec::new();
        rust_files(path, &mut files);
        let deps = graph.entry(name.clone()).or_default();
        for file in files {
            let code = code_of(&fs::read_to_string(&file).unwrap());
            for ident in identifiers_after(&code, "crate::") {
                let target = if modules.contains_key(ident) {
                    Some(ident)
                } else {
                    root_items.get(ident).copied()
                };
                if let Some(target) = target
                    && target != name
                {
                    deps.insert(target.to_owned());
                }
            }
        }
    }
    graph
}

fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = path.iter().position(|p| p == next).unwrap();
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, graph, state, path) {
                        return Some(c);
                    }
                }
            }
        }
        path.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node.as_str())
            && let Some(c) = visit(node, graph, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[test]
fn top_level_modules_form_no_cycle() {
    let graph = graph();
    if let Some(cycle) = cycle(&graph) {
        panic!(
            "module cycle: {}\nfull graph: {graph:#?}",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn the_layers_sit_on_top_and_the_model_at_the_bottom() {
    let graph = graph();
    let reaches = |from: &str, to: &str| graph.get(from).is_some_and(|d| d.contains(to));
    // The session model knows nothing of tokens, stores, the authority or the layers.
    for upper in ["token", "store", "charon", "verifier", "layer", "telemetry"] {
        assert!(!reaches("session", upper), "session depends on {upper}");
    }
    // Verification stands alone: no session authority, no store, no layer.
    for upper in ["charon", "store", "layer", "extract"] {
        assert!(!reaches("verifier", upper), "verifier depends on {upper}");
        assert!(!reaches("token", upper), "token depends on {upper}");
    }
    // Only the layers and extractors know the layers.
    for lower in [
        "charon",
        "verifier",
        "store",
        "token",
        "session",
        "telemetry",
        "transport",
    ] {
        assert!(!reaches(lower, "layer"), "{lower} depends on layer");
    }
    // The check itself sees dependencies (it would pass vacuously otherwise).
    assert!(reaches("layer", "verifier") && reaches("charon", "store"));
}
