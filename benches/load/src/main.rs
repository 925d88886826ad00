//! The load comparison server: one hello-world route, served bare or behind an auth layer.
//!
//! ```text
//! charon-load serve <mode> <port>       # mode: bare | access | access-metrics |
//!                                       #       access-eddsa | access-strict | access-cached |
//!                                       #       refresh | refresh-cached | tower-sessions |
//!                                       #       jwt-authorizer |
//!                                       #       bare07
//! charon-load tokens <hs256|eddsa> <n>  # print n distinct access tokens, one request
//!                                       # header line each ("Authorization: Bearer …")
//! charon-load credentials <port> <n>    # GET /credential n times, print the answers
//! charon-load get <port> <path>         # print the body of a GET (e.g. /cache-stats)
//! charon-load inproc <n> <rounds> [t]   # the layer's cost per request in-process
//!                                       # (see inproc.rs; Redis at REDIS_URL)
//! charon-load free-port                 # print a free loopback port
//! ```
//!
//! Every mode answers `GET /` with `Hello, World!`:
//! - `bare`: axum 0.8, nothing else;
//! - `access`: behind `AccessLayer` (HS256 bearer access tokens), the metrics bridge off;
//! - `access-metrics`: the same with the metrics bridge on, recording into a real
//!   Prometheus recorder (the crate's histogram buckets) that is rendered every 5 s, as a
//!   scrape would;
//! - `access-eddsa`: the same with EdDSA (Ed25519) tokens;
//! - `access-strict`: `AccessLayer` with the session check (`Revocation::Strict`) against
//!   sessions in Redis: one `HGET` per request;
//! - `access-cached`: the same with `Revocation::Cached` and the Redis store's coherent
//!   session cache (`SessionCache`, the default capacity): the session check is local while
//!   the session is cached;
//! - `refresh`: behind `RefreshLayer` with the sessions in Redis (`REDIS_URL`): verify
//!   the refresh token, load its session, check freshness; nothing is rotated;
//! - `refresh-cached`: the same with `SessionRead::Cached` and the Redis store's coherent
//!   session cache (the default settings): the session load is local while cached;
//! - `tower-sessions`: tower-sessions 0.14 with tower-sessions-redis-store 0.16; the handler
//!   reads one value from the session, so every request loads it from Redis;
//! - `jwt-authorizer`: jwt-authorizer 0.15 verifying the same HS256 tokens as `access`
//!   (it is built on axum 0.7, so this mode serves with axum 0.7);
//! - `bare07`: axum 0.7, nothing else (the baseline of the `jwt-authorizer` stack).
//!
//! `CHARON_LOAD_TOKEN_CACHE=<n>` sets the verified-token cache's capacity (0 turns it off:
//! every request a miss, for profiling that path).
//!
//! Tokens are valid for six hours and accepted by every server started with the same
//! (fixed, benchmark-only) keys, so the script mints them once per run. `GET /credential`
//! answers the request header a client must send for a new session of a new user: in
//! `access-strict` and `access-cached` modes an access token, in the `refresh` modes a
//! refresh token, in `tower-sessions` mode a session cookie. The access
//! modes also answer `GET /cache-stats` (outside the layer): `len=… hits=… misses=…` of
//! the verified-token cache.

mod inproc;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use charon_auth::clock::{Clock as _, SystemClock};
use charon_auth::layer::{Revocation, SessionRead};
use charon_auth::store::redis::{RedisStore, SessionCache};
use charon_auth::token::{Claims, Key, Keyset, TokenType};
use charon_auth::{
    AccessLayer, Authenticated, Charon, CreateSession, IssuedTokens, RefreshLayer, Transport,
};
use serde::Deserialize;

const ISSUER: &str = "charon-load";
/// The shared HS256 secret (raw bytes, as jwt-authorizer takes it).
const SECRET: &str = "charon-load HS256 secret, 32+ bytes, benchmark only";
const HELLO: &str = "Hello, World!";

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The Ed25519 key's seed (benchmark only).
const ED25519_SEED: [u8; 32] = [7; 32];

#[derive(Clone, Copy)]
enum Alg {
    Hs256,
    EdDsa,
}

fn keyset(alg: Alg) -> Result<Keyset, Error> {
    let key = match alg {
        Alg::Hs256 => Key::hs256(SECRET.as_bytes())?,
        Alg::EdDsa => Key::ed25519_from_seed(&ED25519_SEED)?,
    };
    Ok(Keyset::new("k1", key)?)
}

fn charon_builder(alg: Alg) -> Result<charon_auth::CharonBuilder, Error> {
    let mut builder = Charon::builder()
        .issuer(ISSUER)
        .keyset(keyset(alg)?)
        .access_ttl(Duration::from_secs(6 * 3600));
    // CHARON_LOAD_TOKEN_CACHE: the verified-token cache's capacity (0: off), for profiling
    // the miss path; the crate's default otherwise.
    if let Ok(capacity) = std::env::var("CHARON_LOAD_TOKEN_CACHE") {
        builder = builder.verified_token_cache(capacity.parse()?);
    }
    Ok(builder)
}

/// `n` distinct access tokens (distinct user, session and token ids) valid for six hours,
/// each as the request header that carries it.
fn tokens(alg: Alg, n: usize) -> Result<Vec<String>, Error> {
    let charon = charon_builder(alg)?.build()?;
    let now = SystemClock.now();
    (0..n)
        .map(|i| {
            let claims = Claims::new(
                TokenType::Access,
                ISSUER,
                format!("load-user-{i}"),
                format!("load-session-{i}"),
                "full",
                format!("load-jti-{i}"),
            )
            .with_validity(now, now + 6 * 3600);
            Ok(format!(
                "Authorization: Bearer {}",
                charon.codec().sign(&claims)?
            ))
        })
        .collect()
}

async fn hello() -> &'static str {
    HELLO
}

async fn serve(router: Router, port: u16) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, router).await?;
    Ok(())
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn bare(port: u16) -> Result<(), Error> {
    serve(Router::new().route("/", get(hello)), port).await
}

/// `GET /cache-stats` (outside the layer): `len=… hits=… misses=…` of the verified-token
/// cache.
fn cache_stats(charon: Charon) -> Router {
    Router::new().route(
        "/cache-stats",
        get(move || async move {
            let cache = charon.token_cache();
            let stats = cache.stats();
            format!(
                "len={} hits={} misses={}",
                cache.len(),
                stats.hits,
                stats.misses
            )
        }),
    )
}

/// Whether an access-mode server counts and times its events into Prometheus.
#[derive(Clone, Copy, PartialEq)]
enum Metrics {
    Off,
    Prometheus,
}

/// Installs the Prometheus recorder with Charon's histogram buckets and renders it every
/// five seconds in the background (the work a scrape causes, and the exporter's upkeep).
fn install_prometheus() -> Result<(), Error> {
    let mut prometheus = metrics_exporter_prometheus::PrometheusBuilder::new();
    for (name, buckets) in charon_auth::telemetry::MetricsHandler::HISTOGRAMS {
        let matcher = metrics_exporter_prometheus::Matcher::Full(name.to_owned());
        prometheus = prometheus.set_buckets_for_metric(matcher, buckets)?;
    }
    let handle = prometheus.install_recorder()?;
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            handle.run_upkeep();
            std::hint::black_box(handle.render());
        }
    });
    Ok(())
}

async fn access(port: u16, alg: Alg, metrics: Metrics) -> Result<(), Error> {
    if metrics == Metrics::Prometheus {
        install_prometheus()?;
    }
    let charon = charon_builder(alg)?
        .metrics_counters(metrics == Metrics::Prometheus)
        .build()?;
    let protected = Router::new()
        .route("/", get(hello))
        .route_layer(AccessLayer::new(&charon));
    let router = Router::new().merge(cache_stats(charon)).merge(protected);
    serve(router, port).await
}

/// How an access-mode server with sessions checks them.
#[derive(Clone, Copy, PartialEq)]
enum SessionCheck {
    Strict,
    Cached,
}

/// The Redis store at `REDIS_URL` (with the default session cache when `cached`) and an
/// HS256 Charon on it, the metrics bridge off.
///
/// `LOAD_HEARTBEAT_TIMEOUT_MS` replaces the session cache's heartbeat timeout (1 s): for a
/// run under valgrind, which is slow enough for the default to give the cache up.
async fn redis_charon(cached: bool) -> Result<(RedisStore, Charon), Error> {
    let mut store = RedisStore::builder(SECRET.as_bytes());
    if cached {
        let mut cache = SessionCache::default();
        if let Ok(ms) = std::env::var("LOAD_HEARTBEAT_TIMEOUT_MS") {
            let (interval, _) = cache.get_heartbeat();
            cache = cache.heartbeat(interval, Duration::from_millis(ms.parse()?));
        }
        store = store.session_cache(cache);
    }
    let store = store.connect(&redis_url()).await?;
    let charon = charon_builder(Alg::Hs256)?
        .store(store.clone())
        .metrics_counters(false)
        .build()?;
    Ok((store, charon))
}

/// `GET /credential`: a new session of a new user (each session its own user, as in real
/// traffic), answered as the request header that carries the token `pick` chooses.
fn credential_route(charon: Charon, pick: fn(&IssuedTokens) -> Option<&str>) -> Router {
    let users = Arc::new(AtomicU64::new(0));
    Router::new().route(
        "/credential",
        get(move || async move {
            let user = format!("load-user-{}", users.fetch_add(1, Ordering::Relaxed));
            let issued = charon
                .create_session(
                    CreateSession::new(&user, Transport::Bearer),
                    charon_auth::RequestContext::no_request(),
                )
                .await
                .map_err(|e| e.to_string())?;
            let token = pick(&issued).ok_or("no such token")?;
            Ok::<_, String>(format!("Authorization: Bearer {token}"))
        }),
    )
}

async fn access_checked(port: u16, check: SessionCheck) -> Result<(), Error> {
    let (store, charon) = redis_charon(check == SessionCheck::Cached).await?;
    let revocation = match check {
        SessionCheck::Strict => Revocation::Strict,
        SessionCheck::Cached => Revocation::Cached,
    };
    let protected = Router::new()
        .route("/", get(hello))
        .route_layer(AccessLayer::new(&charon).revocation(revocation));
    let router = cache_stats(charon.clone())
        .merge(credential_route(charon, IssuedTokens::access_token))
        .merge(session_cache_stats(store))
        .merge(protected);
    serve(router, port).await
}

/// `GET /session-cache-stats` (outside the layers; the `*-cached` modes): `hits=… misses=…`
/// of the Redis store's session cache (`hits=0 misses=0` without one).
fn session_cache_stats(store: RedisStore) -> Router {
    Router::new().route(
        "/session-cache-stats",
        get(move || async move {
            let stats = store.session_cache_stats().unwrap_or_default();
            format!("hits={} misses={}", stats.hits, stats.misses)
        }),
    )
}

async fn refresh(port: u16, read: SessionRead) -> Result<(), Error> {
    let (store, charon) = redis_charon(read == SessionRead::Cached).await?;
    let protected = Router::new()
        .route(
            "/",
            get(|auth: Authenticated| async move {
                debug_assert!(auth.session().is_some());
                HELLO
            }),
        )
        .route_layer(RefreshLayer::new(&charon).session_read(read));
    let router = credential_route(charon, IssuedTokens::refresh_token)
        .merge(session_cache_stats(store))
        .merge(protected);
    serve(router, port).await
}

async fn tower_sessions(port: u16) -> Result<(), Error> {
    use tower_sessions::{Session, SessionManagerLayer};
    use tower_sessions_redis_store::RedisStore as TsRedisStore;
    use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};

    let pool = Pool::new(Config::from_url(&redis_url())?, None, None, None, 1)?;
    let _connection = pool.connect();
    pool.wait_for_connect().await?;
    let layer = SessionManagerLayer::new(TsRedisStore::new(pool)).with_secure(false);
    let ts_users = Arc::new(AtomicU64::new(0));
    let router = Router::new()
        .route(
            "/",
            get(|session: Session| async move {
                match session.get::<String>("user").await {
                    Ok(Some(_)) => Ok(HELLO),
                    _ => Err(axum::http::StatusCode::UNAUTHORIZED),
                }
            }),
        )
        .route(
            "/credential",
            get(move |session: Session| async move {
                let user = format!("load-user-{}", ts_users.fetch_add(1, Ordering::Relaxed));
                session
                    .insert("user", user)
                    .await
                    .map_err(|e| e.to_string())?;
                session.save().await.map_err(|e| e.to_string())?;
                let id = session.id().ok_or("no session id")?;
                Ok::<_, String>(format!("Cookie: id={id}"))
            }),
        )
        .layer(layer);
    serve(router, port).await
}

/// The claims jwt-authorizer deserializes (it needs a type; these are Charon's).
#[derive(Clone, Debug, Deserialize)]
#[allow(dead_code)]
struct PeerClaims {
    sub: String,
    sid: String,
    styp: String,
    #[serde(rename = "type")]
    typ: String,
}

async fn jwt_authorizer(port: u16) -> Result<(), Error> {
    use jwt_authorizer::{IntoLayer, JwtAuthorizer, Validation};

    let authorizer = JwtAuthorizer::<PeerClaims>::from_secret(SECRET)
        .validation(Validation::new().iss(&[ISSUER]).nbf(true).leeway(5))
        .build()
        .await?;
    let router = axum07::Router::new()
        .route("/", axum07::routing::get(hello))
        .layer(authorizer.into_layer());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum07::serve(listener, router).await?;
    Ok(())
}

async fn bare07(port: u16) -> Result<(), Error> {
    let router = axum07::Router::new().route("/", axum07::routing::get(hello));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum07::serve(listener, router).await?;
    Ok(())
}

/// A plain HTTP/1.1 GET on loopback; the body of a 200 answer.
fn http_get(port: u16, path: &str) -> Result<String, Error> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, body) = answer.split_once("\r\n\r\n").ok_or("no HTTP answer")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("GET {path}: {head}").into());
    }
    Ok(body.trim().to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    use std::io::Write as _;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = std::io::stdout().lock();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["tokens", alg, n] => {
            let alg = match alg {
                "hs256" => Alg::Hs256,
                "eddsa" => Alg::EdDsa,
                other => return Err(format!("unknown algorithm {other:?}").into()),
            };
            for line in tokens(alg, n.parse()?)? {
                writeln!(out, "{line}")?;
            }
            Ok(())
        }
        ["inproc", n, rounds] => inproc::run(n.parse()?, rounds.parse()?, 1).await,
        ["inproc", n, rounds, tasks] => {
            inproc::run(n.parse()?, rounds.parse()?, tasks.parse()?).await
        }
        ["free-port"] => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            writeln!(out, "{}", listener.local_addr()?.port())?;
            Ok(())
        }
        ["credentials", port, n] => {
            let port = port.parse()?;
            for _ in 0..n.parse::<usize>()? {
                writeln!(out, "{}", http_get(port, "/credential")?)?;
            }
            Ok(())
        }
        ["get", port, path] => {
            writeln!(out, "{}", http_get(port.parse()?, path)?)?;
            Ok(())
        }
        ["serve", mode, port] => {
            let port: u16 = port.parse()?;
            match mode {
                "bare" => bare(port).await,
                "access" => access(port, Alg::Hs256, Metrics::Off).await,
                "access-metrics" => access(port, Alg::Hs256, Metrics::Prometheus).await,
                "access-eddsa" => access(port, Alg::EdDsa, Metrics::Off).await,
                "access-strict" => access_checked(port, SessionCheck::Strict).await,
                "access-cached" => access_checked(port, SessionCheck::Cached).await,
                "refresh" => refresh(port, SessionRead::Store).await,
                "refresh-cached" => refresh(port, SessionRead::Cached).await,
                "tower-sessions" => tower_sessions(port).await,
                "jwt-authorizer" => jwt_authorizer(port).await,
                "bare07" => bare07(port).await,
                other => Err(format!("unknown mode {other:?}").into()),
            }
        }
        _ => Err("usage: see the top of benches/load/src/main.rs".into()),
    }
}
