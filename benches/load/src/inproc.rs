//! `charon-load inproc <n> <rounds>`: the access layer's own cost per request, measured
//! in-process (no sockets, no wrk), next to the same router served bare.
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
//! The rows alternate within each round in a rotated order. Prints each run's nanoseconds
//! per request, then each row's median over the rounds after the first (the warm-up) and
//! its difference to `bare`'s: the layer's own work and the cold reads of many distinct
//! tokens and sessions, without the kernel's and the client's share that the wrk rows of
//! `scripts/load.sh` include.

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
pub(crate) async fn run(n: usize, rounds: usize) -> Result<(), Error> {
    if n == 0 || rounds < 2 {
        return Err("inproc needs at least one session and two rounds".into());
    }
    let (_store, charon) = redis_charon(true).await?;
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
    // The `metrics` row: the same layer with the metrics bridge into a real Prometheus
    // recorder (installed globally; the other rows have no metrics handler).
    install_prometheus()?;
    let metered = charon_builder(Alg::Hs256)?.metrics_counters(true).build()?;
    let route = || Router::new().route("/", get(hello));
    let layer = |mode| AccessLayer::new(&charon).revocation(mode);
    let rows: [(&str, Router); 5] = [
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
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
    for round in 0..rounds {
        for i in 0..rows.len() {
            let row = (i + round) % rows.len();
            let (name, router) = &rows[row];
            let ns = per_request(router, &credentials).await?;
            println!("round {} {name}: {ns:.0} ns/request", round + 1);
            if round > 0 {
                times[row].push(ns);
            }
        }
    }
    let bare = median(&mut times[0]);
    println!();
    println!("| row | ns/request (median of rounds 2–{rounds}) | minus bare |");
    println!("|---|---:|---:|");
    for (row, (name, _)) in rows.iter().enumerate() {
        let ns = median(&mut times[row]);
        println!("| {name} | {ns:.0} | {:+.0} |", ns - bare);
    }
    Ok(())
}

/// Mean nanoseconds per request of one pass of every credential through `router`.
async fn per_request(router: &Router, credentials: &[HeaderValue]) -> Result<f64, Error> {
    let start = Instant::now();
    for credential in credentials {
        let request = Request::get("/")
            .header("authorization", credential.clone())
            .body(Body::empty())?;
        let response = router.clone().oneshot(request).await?;
        if response.status() != StatusCode::OK {
            return Err(format!("answered {}", response.status()).into());
        }
    }
    Ok(start.elapsed().as_secs_f64() * 1e9 / credentials.len() as f64)
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
