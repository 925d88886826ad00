//! The demo server: charon-auth on axum, serving the contract in the README.
//!
//! ```text
//! cargo run --example axum_server --features axum,metrics
//! ```
//!
//! Then open <http://127.0.0.1:3000/>: a small page that signs in with the cookie
//! transports (see `docs/demo.md`).
//!
//! Environment:
//! - `CHARON_DEMO_ADDR` (default `127.0.0.1:3000`)
//! - `REDIS_URL` (in-memory store when unset)
//! - `CHARON_SECRET` (a loud warning when the demo default is used)
//! - `CHARON_ACCESS_TTL`, `CHARON_REFRESH_TTL`, `CHARON_SESSION_TTL`, `CHARON_FRESH_CYCLE`
//!   (seconds)
//! - `CHARON_MAX_SESSIONS` (default 10): the most live sessions per user and session type;
//!   a login beyond it ends the user's session that would expire first
//! - `CHARON_COOKIE_NAMES`: `host` (default) for the `__Host-` names of
//!   `CookieConfig::host_prefixed`, `charon` for Charon's compatible default names
//!   (`_access_token_signature`, …), which a sibling subdomain can plant; the browser test
//!   uses it to show that cookie tossing locks users out
//!
//! `/login` accepts the session types the demo declares (`full`, `oauth2`), which are also
//! the metrics allowlist.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::expect_used)]

#[path = "demo/app.rs"]
mod app;

use std::sync::Arc;
use std::time::Duration;

use charon_auth::transport::CookieConfig;
use charon_auth::{Charon, SessionTtl};

/// Default of `CHARON_MAX_SESSIONS`: the most live sessions per user and session type.
const DEMO_MAX_SESSIONS: u32 = 10;

const DEMO_SECRET: &str = "charon-auth demo secret: NEVER use this in production";

fn secs(name: &str) -> Option<Duration> {
    let value = std::env::var(name).ok()?;
    match value.parse::<u64>() {
        Ok(s) => Some(Duration::from_secs(s)),
        Err(_) => {
            eprintln!("{name}={value:?} is not a number of seconds; ignoring it");
            None
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,charon=debug".into()),
        )
        .init();

    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    let render: app::MetricsRender = Arc::new(move || recorder.render());

    let secret = std::env::var("CHARON_SECRET").unwrap_or_else(|_| {
        eprintln!("\n  WARNING: CHARON_SECRET is not set; using the PUBLIC demo secret.");
        eprintln!("  Anyone can forge tokens for this server. Never do this in production.\n");
        DEMO_SECRET.to_owned()
    });

    let cookies = match std::env::var("CHARON_COOKIE_NAMES").as_deref() {
        Ok("charon") => CookieConfig::default(),
        Ok("host") | Err(_) => CookieConfig::host_prefixed(),
        Ok(other) => {
            return Err(format!("CHARON_COOKIE_NAMES={other:?}: use host or charon").into());
        }
    };
    let mut builder = Charon::builder()
        .issuer("charon-auth-demo")
        .base_secret(&secret)
        .cookies(cookies)
        .metrics_session_types(app::session_types());
    if let Some(d) = secs("CHARON_ACCESS_TTL") {
        builder = builder.access_ttl(d);
    }
    if let Some(d) = secs("CHARON_REFRESH_TTL") {
        builder = builder.refresh_ttl(d);
    }
    if let Some(d) = secs("CHARON_SESSION_TTL") {
        builder = builder.session_ttl(SessionTtl::Finite(d));
    }
    if let Some(d) = secs("CHARON_FRESH_CYCLE") {
        builder = builder.new_cycle_after(d);
    }
    let max_sessions = match std::env::var("CHARON_MAX_SESSIONS") {
        Err(_) => DEMO_MAX_SESSIONS,
        Ok(value) => value.parse::<u32>().unwrap_or_else(|_| {
            eprintln!("CHARON_MAX_SESSIONS={value:?} is not a number; using {DEMO_MAX_SESSIONS}");
            DEMO_MAX_SESSIONS
        }),
    };
    // Out of range (0 or above 10 000): `build()` below refuses it with a ConfigError.
    builder = builder.max_sessions_per_user(max_sessions);
    if let Ok(url) = std::env::var("REDIS_URL") {
        let store = charon_auth::store::redis::RedisStore::builder(secret.as_bytes())
            .connect(&url)
            .await?;
        println!("session store: Redis at {url}");
        builder = builder.store(store);
    } else {
        println!("session store: in-memory (set REDIS_URL to use Redis)");
    }
    let charon = builder.build()?;

    let addr = std::env::var("CHARON_DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "charon-auth demo listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app::router(&charon, render)).await?;
    Ok(())
}
