//! How long a logout on one instance takes to reach another instance's session cache.
//!
//! Two Charon instances (A and B) share one Redis, each with its own `RedisStore` and
//! session cache (`RedisStoreBuilder::session_cache`); B's access layer checks sessions in
//! `Revocation::Cached` mode. Each trial logs in on A, makes B cache the session (two
//! requests on B, the second a cache hit), revokes the session on A, and from the moment
//! A's revocation returns polls B with the old access token (about every 70 us) until B
//! answers 401. It
//! reports the delay (A's revocation answered → B's first 401) over all trials: p50, p99,
//! max. Each poll of B is a cache hit until the invalidation arrives; the last one is a
//! round trip to Redis that finds the session gone, so the delay includes one `HGET`.
//!
//! Both instances run in this one process (one tokio runtime, two worker threads), each
//! with its own connections, as two processes on one host would; Redis is wherever the
//! URL points (loopback for the numbers in SECURITY.md).
//!
//! ```text
//! redis-server --port 6390 --save '' --appendonly no &
//! cargo run --release --example session_cache_delay -- redis://127.0.0.1:6390
//! # a Cluster: several seed URLs
//! cargo run --release --example session_cache_delay -- --trials 2000 redis://127.0.0.1:7000 redis://127.0.0.1:7001
//! ```
#![allow(
    clippy::print_stdout,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use charon_auth::layer::{AccessLayer, Revocation};
use charon_auth::store::redis::{RedisStore, SessionCache, SigningKey};
use charon_auth::{Charon, CreateSession, RequestContext, SessionType, Transport};
use tower::ServiceExt;

async fn store(urls: &[String]) -> RedisStore {
    let builder = RedisStore::builder_with_key(SigningKey::from_bytes([3; 32]))
        .prefix("delay:")
        .session_cache(SessionCache::default());
    if urls.len() == 1 {
        builder.connect(&urls[0]).await.expect("connect")
    } else {
        builder.connect_cluster(urls).await.expect("connect")
    }
}

fn charon(store: RedisStore) -> Charon {
    Charon::builder()
        .issuer("delay")
        .base_secret("session cache delay example secret!!")
        .store(store)
        .build()
        .expect("charon")
}

async fn status(app: &Router, token: &str) -> StatusCode {
    let req = Request::get("/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(req).await.unwrap().status()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut trials = 1000usize;
    if let Some(i) = args.iter().position(|a| a == "--trials") {
        trials = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .expect("--trials N");
        args.drain(i..=i + 1);
    }
    if args.is_empty() {
        args.push("redis://127.0.0.1:6379".to_owned());
    }
    let store_a = store(&args).await;
    let store_b = store(&args).await;
    let a = charon(store_a);
    let b = charon(store_b.clone());
    let app_b = Router::new()
        .route("/me", get(|| async { "ok" }))
        .route_layer(AccessLayer::new(&b).revocation(Revocation::Cached));
    let full = SessionType::default();

    let mut delays = Vec::with_capacity(trials);
    let mut polls_total = 0u64;
    let mut first_poll = 0usize;
    for trial in 0..trials {
        let user = format!("user-{}", trial % 500);
        let issued = a
            .create_session(
                CreateSession::new(&user, Transport::Bearer),
                RequestContext::no_request(),
            )
            .await
            .expect("login");
        let token = issued.access_token().expect("bearer token").to_owned();
        let sid = issued.session().id.clone();
        assert_eq!(status(&app_b, &token).await, StatusCode::OK);
        let hits = store_b.session_cache_stats().unwrap().hits;
        assert_eq!(status(&app_b, &token).await, StatusCode::OK);
        assert_eq!(
            store_b.session_cache_stats().unwrap().hits,
            hits + 1,
            "B serves the session from its cache before the logout"
        );

        assert!(a.revoke_session(&user, &full, &sid).await.expect("revoke"));
        let answered = Instant::now();
        let mut polls = 0u64;
        loop {
            polls += 1;
            if status(&app_b, &token).await == StatusCode::UNAUTHORIZED {
                break;
            }
            // A hit completes without yielding: sleep between polls (20 us asked, about
            // 70 us with the kernel's timer slack), as a client would, rather than spin.
            // On 2 cores a spinning poller delays the very message it waits for: with
            // `yield_now` here, the faster the hit path, the longer and the less stable the
            // tail (p99 0.8-1.6 ms in three runs before the synchronous hit, 1.4-8.0 ms in
            // seven after).
            std::thread::sleep(Duration::from_micros(20));
        }
        delays.push(answered.elapsed());
        polls_total += polls;
        if polls == 1 {
            first_poll += 1;
        }
    }
    let stats = store_b.session_cache_stats().unwrap();
    delays.sort();
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "session cache delay, logout answered on A -> first 401 on B ({} trials, redis {}):",
        trials,
        if args.len() == 1 {
            "standalone"
        } else {
            "cluster"
        }
    );
    println!(
        "  p50 {:.0} us   p99 {:.0} us   max {:.0} us   (min {:.0} us)",
        micros(percentile(&delays, 50.0)),
        micros(percentile(&delays, 99.0)),
        micros(delays[delays.len() - 1]),
        micros(delays[0]),
    );
    println!(
        "  polls of B per trial: {:.1} on average; {} of {} trials rejected on the first poll",
        polls_total as f64 / trials as f64,
        first_poll,
        trials
    );
    println!(
        "  B's cache: {} hits, {} misses, {} invalidations, {} resets",
        stats.hits, stats.misses, stats.invalidations, stats.resets
    );
}
