//! Per-scenario figures from the request records, and the tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::load::{Checked, Outcome, Rec, Route, UserResult};
use crate::scenario::Faulted;

#[derive(Debug, Default)]
pub struct Row {
    pub name: String,
    pub durable: String,
    /// Why the scenario did not run.
    pub skipped: Option<String>,
    pub requests: usize,
    pub by_status: BTreeMap<u16, usize>,
    pub dropped: usize,
    pub access_only_failures: usize,
    pub resurrections: u64,
    pub lost_acked: u64,
    /// Anything unexpected, for the notes column.
    pub oddities: Vec<String>,
    pub rps_before: f64,
    /// First and last 503 (when answered), seconds after the fault's start.
    pub window: Option<(f64, f64)>,
    /// When store-backed successes were back at half their pre-fault rate (after the last
    /// 503), seconds after the fault's start; `None`: not within the run.
    pub recovery: Option<f64>,
    pub lat_before: Option<(f64, f64)>,
    pub lat_during: Option<(f64, f64)>,
    pub warnings: (usize, usize),
    pub notes: Vec<String>,
    /// `charon_store_errors_total` by `kind`, from the demo's `/metrics`.
    pub store_errors: Vec<(String, u64)>,
}

/// The `charon_store_errors_total{kind="…"}` series of a Prometheus text, largest first.
pub fn store_errors(text: &str) -> Vec<(String, u64)> {
    let mut found: Vec<(String, u64)> = text
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("charon_store_errors_total{")?;
            let kind = rest.split("kind=\"").nth(1)?.split('"').next()?.to_owned();
            let value = line.rsplit(' ').next()?.parse::<f64>().ok()?;
            Some((kind, value as u64))
        })
        .collect();
    found.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    found
}

fn percentiles(mut v: Vec<u64>) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let at = |q: f64| {
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v[i.min(v.len() - 1)] as f64 / 1000.0
    };
    Some((at(0.5), at(0.99)))
}

pub fn row(
    name: &str,
    durable: &str,
    users: &[UserResult],
    checked: &Checked,
    fault: &Faulted,
    warnings: (usize, usize),
) -> Row {
    let recs: Vec<Rec> = users.iter().flat_map(|u| u.recs.iter().copied()).collect();
    let mut r = Row {
        name: name.to_owned(),
        durable: durable.to_owned(),
        requests: recs.len(),
        warnings,
        notes: fault.notes.clone(),
        ..Row::default()
    };
    for rec in &recs {
        match rec.outcome {
            Outcome::Status(s) => *r.by_status.entry(s).or_default() += 1,
            Outcome::Dropped => r.dropped += 1,
        }
        if rec.route == Route::AccessOnly && rec.outcome != Outcome::Status(200) {
            r.access_only_failures += 1;
        }
    }
    r.resurrections = checked.resurrections;
    r.lost_acked = users.iter().map(|u| u.lost_us.len() as u64).sum::<u64>() + checked.lost_live;
    let stale: u64 = users.iter().map(|u| u.stale).sum();
    let odd401: u64 = users.iter().map(|u| u.unexpected_401).sum();
    let mut odd_kinds: Vec<&str> = users
        .iter()
        .flat_map(|u| u.unexpected_kinds.iter().map(String::as_str))
        .collect();
    odd_kinds.sort_unstable();
    odd_kinds.dedup();
    let odd_what = format!("other unexpected 401s ({})", odd_kinds.join(", "));
    let unconfirmed: u64 = users.iter().map(|u| u.unconfirmed_logouts).sum();
    for (n, what) in [
        (stale, "refreshes refused as token_stale"),
        (odd401, odd_what.as_str()),
        (unconfirmed, "logouts unacknowledged at the end"),
        (checked.unverified, "sessions left unchecked (store down)"),
    ] {
        if n > 0 {
            r.oddities.push(format!("{n} {what}"));
        }
    }

    let start = fault.start_us;
    let before: Vec<&Rec> = recs
        .iter()
        .filter(|rec| rec.start_us >= 1_000_000 && rec.end_us() < start)
        .collect();
    let span = start.saturating_sub(1_000_000) as f64 / 1e6;
    if span > 0.0 {
        r.rps_before = before.len() as f64 / span;
    }
    r.lat_before = percentiles(
        before
            .iter()
            .filter(|rec| rec.route.uses_store())
            .map(|rec| rec.lat_us)
            .collect(),
    );

    let unavailable: Vec<&Rec> = recs
        .iter()
        .filter(|rec| rec.outcome == Outcome::Status(503))
        .collect();
    let first = unavailable.iter().map(|rec| rec.end_us()).min();
    let last_end = unavailable.iter().map(|rec| rec.end_us()).max();
    let rel = |t: u64| (t as f64 - start as f64) / 1e6;
    if let (Some(first), Some(last_end)) = (first, last_end) {
        r.window = Some((rel(first), rel(last_end)));
    }
    // Recovered: from the end of the last 503 (or from the fault), the first 250 ms step
    // from which store-backed successes over the next second reach half their pre-fault
    // rate.
    let ok_store: Vec<u64> = recs
        .iter()
        .filter(|rec| rec.route.uses_store() && matches!(rec.outcome, Outcome::Status(200 | 204)))
        .map(Rec::end_us)
        .collect();
    let before_ok = ok_store
        .iter()
        .filter(|t| **t >= 1_000_000 && **t < start)
        .count() as f64;
    let run_end = recs.iter().map(Rec::end_us).max().unwrap_or(0);
    if span > 0.0 && before_ok > 0.0 {
        let per_second = before_ok / span;
        let mut t = last_end.unwrap_or(start).max(start);
        while t + 1_000_000 <= run_end {
            let n = ok_store
                .iter()
                .filter(|e| **e >= t && **e < t + 1_000_000)
                .count() as f64;
            if n >= per_second / 2.0 {
                r.recovery = Some(rel(t));
                break;
            }
            t += 250_000;
        }
    }
    let during_end = last_end.unwrap_or(0).max(start + 1_000_000);
    r.lat_during = percentiles(
        recs.iter()
            .filter(|rec| {
                rec.route.uses_store() && rec.start_us >= start && rec.start_us <= during_end
            })
            .map(|rec| rec.lat_us)
            .collect(),
    );
    r
}

fn count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

fn ms(p: Option<(f64, f64)>) -> String {
    match p {
        Some((p50, p99)) => format!("{} / {} ms", short(p50), short(p99)),
        None => "–".into(),
    }
}

fn short(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}

fn seconds(v: f64) -> String {
    format!("{v:+.2} s")
}

pub fn tables(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| scenario | durable deletes | requests | 200 | 204 | 401 | 409 | 503 | other 5xx | dropped | access-only not 200 | lost acked writes | resurrections |"
    );
    let _ = writeln!(
        out,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
        if let Some(why) = &r.skipped {
            let _ = writeln!(
                out,
                "| {} | {} | not run: {why} |||||||||||",
                r.name, r.durable
            );
            continue;
        }
        let s = |code: u16| count(r.by_status.get(&code).copied().unwrap_or(0));
        let other_5xx: usize = r
            .by_status
            .iter()
            .filter(|(code, _)| **code >= 500 && **code != 503)
            .map(|(_, n)| n)
            .sum();
        let other: usize = r
            .by_status
            .iter()
            .filter(|(code, _)| ![200, 204, 401, 409].contains(*code) && **code < 500)
            .map(|(_, n)| n)
            .sum();
        let mut codes_401 = s(401);
        if other > 0 {
            codes_401.push_str(&format!(" (+{other} other 4xx)"));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.durable,
            count(r.requests),
            s(200),
            s(204),
            codes_401,
            s(409),
            s(503),
            other_5xx,
            r.dropped,
            r.access_only_failures,
            r.lost_acked,
            r.resurrections,
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| scenario | req/s before | first → last 503 | recovered | store latency before (p50 / p99) | during the fault | store errors (metrics) | warnings: store (Redis client) | what happened |"
    );
    let _ = writeln!(out, "|---|---:|---|---:|---:|---:|---|---:|---|");
    for r in rows.iter().filter(|r| r.skipped.is_none()) {
        let window = match r.window {
            Some((a, b)) => format!("{} → {}", seconds(a), seconds(b)),
            None => "none".into(),
        };
        let recovered = r.recovery.map_or("not in the run".into(), seconds);
        let mut notes = r.notes.join("; ");
        if !r.oddities.is_empty() {
            notes.push_str("; ");
            notes.push_str(&r.oddities.join("; "));
        }
        let errors = if r.store_errors.is_empty() {
            "none".to_owned()
        } else {
            r.store_errors
                .iter()
                .map(|(kind, n)| format!("{kind} {}", count(*n as usize)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} |",
            r.name,
            count(r.rps_before.round() as usize),
            window,
            recovered,
            ms(r.lat_before),
            ms(r.lat_during),
            errors,
            r.warnings.0,
            r.warnings.1,
            notes,
        );
    }
    out
}
