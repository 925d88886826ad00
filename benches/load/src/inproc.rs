//! `charon-load inproc <n> <rounds> [tasks]`: the access layer's own cost per request,
//! measured in-process (no sockets, no wrk), next to the same router served bare.
//!
//! Logs in `n` sessions (each its own user) on the Redis store at `REDIS_URL` with the
//! default session cache, then sends every access token once per row and round through
//! five routers, each called with `oneshot` as `axum::serve` calls its router:
//! - `bare`: the hello-world route alone (the token is ignored);
//! - `access`: behind `AccessLayer` (the verified-token cache warm after round 1);
//! - `strict`: with `Revocation::Strict`: one Redis round trip a request, awaited one
//!   at a time, so its row is the round trip's latency, not a throughput;
//! - `cached`: with `Revocation::Cached` (the session cache warm after round 1);
//! - `metrics`: `access` with the metrics bridge recording into a Prometheus recorder
//!   (as the `access-metrics` mode of the load server; rendered every 5 s).
//!
//! With `tasks` > 1 (default 1) every pass is split among that many tasks on the
//! multi-threaded runtime (one worker per core), each sending an interleaved share of the
//! tokens, as a server's workers take connections: what one core writes and the other
//! reads next (reference counts, lock words, shared counters) then costs what it costs in
//! a server, which one task never shows. A row's time is then the pass's wall time times
//! `tasks`, per request.
//!
//! `INPROC_ROWS=access,cached` (for example) runs only those rows and `bare`: a profile
//! or a `valgrind --tool=callgrind` count (instructions and simulated cache misses, the
//! same on every run of the same binary) then covers one row.
//!
//! The rows alternate within each round in a rotated order. Prints each run's nanoseconds
//! per request, then each row's median over the rounds after the first (the warm-up) and
//! its difference to `bare`'s: the layer's own work and the cold reads of many distinct
//! tokens and sessions, without the kernel's and the client's share that the wrk rows of
//! `scripts/load.sh` include.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::routing::get;
use charon_auth::layer::Revocation;
use charon_auth::{AccessLayer, CreateSession, IssuedTokens, RequestContext, Transport};
use tower::ServiceExt as _;

use super::{Alg, Error, charon_builder, hello, install_prometheus, redis_charon};

/// Run the measurement and print its table.
pub(crate) async fn run(n: usize, rounds: usize, tasks: usize) -> Result<(), Error> {
    if n == 0 || rounds < 2 || tasks == 0 {
        return Err("inproc needs at least one session, two rounds and one task".into());
    }
    let (store, charon) = redis_charon(true).await?;
    let mut credentials = Vec::with_capacity(n);
    for i in 0..n {
        let issued = charon
            .create_session(
                CreateSession::new(format!("inproc-user-{i}"), Transport::Bearer),
                RequestContext::no_request(),
            )
            .await?;
        let token = IssuedTokens::access_token(&issued).ok_or("no access token")?;
        credentials.push(HeaderValue::from_str(&format!("Bearer {token}"))?);
    }
    let credentials: Arc<[HeaderValue]> = credentials.into();
    // The `metrics` row: the same layer with the metrics bridge into a real Prometheus
    // recorder (installed globally; the other rows have no metrics handler).
    install_prometheus()?;
    let metered = charon_builder(Alg::Hs256)?.metrics_counters(true).build()?;
    let route = || Router::new().route("/", get(hello));
    let layer = |mode| AccessLayer::new(&charon).revocation(mode);
    let all: [(&str, Router); 5] = [
        ("bare", route().with_state(())),
        (
            "access",
            route().route_layer(layer(Revocation::Off)).with_state(()),
        ),
        (
            "strict",
            route()
                .route_layer(layer(Revocation::Strict))
                .with_state(()),
        ),
        (
            "cached",
            route()
                .route_layer(layer(Revocation::Cached))
                .with_state(()),
        ),
        (
            "metrics",
            route()
                .route_layer(AccessLayer::new(&metered))
                .with_state(()),
        ),
    ];
    // INPROC_ROWS (comma-separated names) keeps only those rows, `bare` always first.
    let only = std::env::var("INPROC_ROWS").ok();
    let rows: Vec<(&str, Router)> = all
        .into_iter()
        .filter(|(name, _)| {
            *name == "bare"
                || only
                    .as_deref()
                    .is_none_or(|o| o.split(',').any(|r| r == *name))
        })
        .collect();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
    for round in 0..rounds {
        for i in 0..rows.len() {
            let row = (i + round) % rows.len();
            let (name, router) = &rows[row];
            let ns = per_request(router, &credentials, tasks).await?;
            println!("round {} {name}: {ns:.0} ns/request", round + 1);
            if round > 0 {
                times[row].push(ns);
            }
        }
    }
    let bare = median(&mut times[0]);
    // Only the `cached` row reads the session cache: one miss per session (round 1) and no
    // reset, or its rows measured round trips.
    if let Some(stats) = store.session_cache_stats() {
        println!(
            "session cache: {} hits, {} misses, {} resets",
            stats.hits, stats.misses, stats.resets
        );
    }
    println!();
    println!("| row | ns/request (median of rounds 2–{rounds}) | minus bare |");
    println!("|---|---:|---:|");
    for (row, (name, _)) in rows.iter().enumerate() {
        let ns = median(&mut times[row]);
        println!("| {name} | {ns:.0} | {:+.0} |", ns - bare);
    }
    Ok(())
}

/// Mean nanoseconds per request of one pass of every credential through `router`, split
/// among `tasks` tasks (each taking every `tasks`-th credential): wall time times `tasks`.
async fn per_request(
    router: &Router,
    credentials: &Arc<[HeaderValue]>,
    tasks: usize,
) -> Result<f64, Error> {
    let start = Instant::now();
    if tasks == 1 {
        send(router, credentials, 0, 1).await?;
    } else {
        let handles: Vec<_> = (0..tasks)
            .map(|task| {
                let router = router.clone();
                let credentials = Arc::clone(credentials);
                tokio::spawn(async move { send(&router, &credentials, task, tasks).await })
            })
            .collect();
        for handle in handles {
            handle.await??;
        }
    }
    Ok(start.elapsed().as_secs_f64() * 1e9 * tasks as f64 / credentials.len() as f64)
}

/// Send every `step`-th credential from `first` through `router`, one at a time.
async fn send(
    router: &Router,
    credentials: &[HeaderValue],
    first: usize,
    step: usize,
) -> Result<(), Error> {
    for (i, credential) in credentials.iter().skip(first).step_by(step).enumerate() {
        // Let the session cache's heartbeat task run now and then, as a server's workers
        // do between connections' reads.
        if i % 256 == 255 {
            tokio::task::yield_now().await;
        }
        let request = Request::get("/")
            .header("authorization", credential.clone())
            .body(Body::empty())?;
        let response = router.clone().oneshot(request).await?;
        if response.status() != StatusCode::OK {
            return Err(format!("answered {}", response.status()).into());
        }
    }
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}
