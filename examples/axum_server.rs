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
//! - the session store, in-memory unless one of these three is set (only one):
//!   - `REDIS_URL`: one server, `redis://host:port` or, over TLS, `rediss://host:port`
//!     (credentials in the URL: `redis://user:password@host:port`; never printed);
//!   - `CHARON_REDIS_SENTINELS`: comma-separated sentinel addresses `host:port` (or
//!     `rediss://host:port` for TLS), with `CHARON_REDIS_SENTINEL_MASTER`, the master name
//!     (required with it, refused without it);
//!   - `CHARON_REDIS_CLUSTER`: comma-separated Cluster seed URLs
//!     (`redis://host:port,redis://host:port,…`, or all `rediss://`);
//!
//!   and for any of them:
//!   - `CHARON_REDIS_CA_FILE`: a PEM file of the CA to trust instead of the system's roots
//!     (a private CA); needs `rediss://` addresses;
//!   - `CHARON_REDIS_DURABLE_DELETES`: logouts succeed only once durable
//!     (`DurableDeletes`): `off` or `0` (default), `N` to wait for N replicas (`WAIT`),
//!     `fsync` for the primary's AOF fsync (`WAITAOF`, Redis >= 7.2), `N+fsync` for both.
//!
//!   A combination that cannot work (two store modes, sentinels without a master name, a CA
//!   file or durable deletes without Redis, a CA file with `redis://` addresses) stops the
//!   server with a message naming the variables. Quiet the Redis client's own reconnect
//!   warnings with `RUST_LOG=warn,redis=error` (the store logs one `charon::store` warning
//!   per outage and one per recovery).
//! - `CHARON_ACCESS_REVOCATION`: `off` (access tokens live until they expire), `strict`
//!   (default: the access routes load the session on every request, so a logged-out
//!   session's access token answers 401 at once) or `cached` (with Redis, a coherent local
//!   cache of sessions, `SessionCache`, kept by Redis pub/sub: no round trip while a
//!   session is cached; the in-memory store needs none)
//! - `CHARON_SECRET` (a loud warning when the demo default is used while it matters: for
//!   HS256 tokens, or for the Redis store's blob signatures)
//! - `CHARON_SIGNING_ALG`: `HS256` (default: the key is derived from `CHARON_SECRET`, as
//!   Charon does), `EdDSA` (Ed25519) or `ES256` (ECDSA P-256). With an asymmetric algorithm:
//!   - `CHARON_SIGNING_KEY_FILE`: PEM files of PKCS#8 private keys of that algorithm
//!     (`openssl genpkey -algorithm ed25519 -out key.pem`; for ES256 `openssl genpkey
//!     -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem`), comma-separated:
//!     `current.pem,previous.pem`. The first signs new tokens; every one is published, so
//!     tokens signed with a previous key keep verifying on the resource services while they
//!     live (key rotation). Unset: one key is generated at start (its kid is printed, never
//!     the key), and tokens stop verifying when the server restarts.
//!   - each key's kid is its RFC 7638 thumbprint, the same on every start;
//!   - `GET /.well-known/jwks.json` serves the public keys. With HS256 it answers 404: a
//!     shared secret is never published.
//!
//!   A `CHARON_SIGNING_KEY_FILE` with HS256, an unreadable file, or a key that is not a
//!   private key of `CHARON_SIGNING_ALG` stops the server with a message naming the variable.
//! - `CHARON_AUDIENCE` (optional): comma-separated audiences written in the `aud` claim of
//!   every issued token (one audience: a string; several: an array), and required in the
//!   tokens this server verifies. Resource services name themselves with theirs
//!   (`examples/resource_server.rs`).
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
#[path = "demo/start.rs"]
mod start;
use start::{StartError, chain, env_value};

use std::sync::Arc;
use std::time::Duration;

use charon_auth::layer::Revocation;
use charon_auth::store::redis::{DurableDeletes, RedisStore, SessionCache};
use charon_auth::token::{Algorithm, JwksDocument, Key, Keyset};
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

    // Charon's duration histograms with their buckets (microsecond verification,
    // sub-millisecond Redis); without buckets the exporter would render summaries.
    let mut prometheus = metrics_exporter_prometheus::PrometheusBuilder::new();
    for (name, buckets) in charon_auth::telemetry::MetricsHandler::HISTOGRAMS {
        let matcher = metrics_exporter_prometheus::Matcher::Full(name.to_owned());
        prometheus = prometheus.set_buckets_for_metric(matcher, buckets)?;
    }
    let recorder = prometheus.install_recorder()?;
    charon_auth::telemetry::MetricsHandler::describe();
    let render: app::MetricsRender = Arc::new(move || recorder.render());

    let signing = signing_from_env().map_err(StartError)?;
    let audiences = match env_value("CHARON_AUDIENCE") {
        Some(list) => env_list("CHARON_AUDIENCE", &list).map_err(StartError)?,
        None => Vec::new(),
    };
    let uses_redis = redis_target_from_env().map_err(StartError)?.is_some();
    let secret = std::env::var("CHARON_SECRET").unwrap_or_else(|_| {
        if signing.is_none() {
            eprintln!("\n  WARNING: CHARON_SECRET is not set; using the PUBLIC demo secret.");
            eprintln!("  Anyone can forge tokens for this server. Never do this in production.\n");
        } else if uses_redis {
            eprintln!("\n  WARNING: CHARON_SECRET is not set; the PUBLIC demo secret signs the");
            eprintln!("  session blobs in Redis. Never do this in production.\n");
        }
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
    let jwks = match signing {
        Some(Signing { keyset, jwks }) => {
            builder = builder.keyset(keyset);
            Some(jwks)
        }
        None => {
            println!("signing: HS256, key derived from CHARON_SECRET (no JWKS published)");
            None
        }
    };
    for audience in audiences {
        println!("audience: {audience:?} (in the aud of every token)");
        builder = builder.audience(audience);
    }
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
    let revocation: Revocation = match std::env::var("CHARON_ACCESS_REVOCATION") {
        Err(_) => Revocation::Strict,
        Ok(value) => value
            .parse()
            .map_err(|e| format!("CHARON_ACCESS_REVOCATION={value:?}: {e}"))?,
    };
    if let Some(store) = redis_store_from_env(&secret, revocation).await? {
        builder = builder.store(store);
    } else {
        println!("session store: in-memory (set REDIS_URL to use Redis)");
    }
    let charon = builder.build()?;
    println!("access routes: session check {revocation}");

    let addr = std::env::var("CHARON_DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "charon-auth demo listening on http://{}",
        listener.local_addr()?
    );
    let router = app::router(&charon, render, revocation).merge(app::jwks_route(jwks));
    axum::serve(listener, router).await?;
    Ok(())
}

// -------------------------------------------------------------------------------------------
// The signing keys from the environment (see the module docs).
// -------------------------------------------------------------------------------------------

/// Asymmetric signing keys: the keyset (the first key signs) and its published JWKS.
struct Signing {
    keyset: Keyset,
    jwks: JwksDocument,
}

/// `CHARON_SIGNING_ALG` and `CHARON_SIGNING_KEY_FILE`; `None` for HS256 (the key derived
/// from `CHARON_SECRET`).
fn signing_from_env() -> Result<Option<Signing>, String> {
    let files = env_value("CHARON_SIGNING_KEY_FILE");
    let alg = match env_value("CHARON_SIGNING_ALG").as_deref().map(str::trim) {
        None => None,
        Some(a) if a.eq_ignore_ascii_case("HS256") => None,
        Some(a) if a.eq_ignore_ascii_case("EdDSA") => Some(Algorithm::EdDSA),
        Some(a) if a.eq_ignore_ascii_case("ES256") => Some(Algorithm::ES256),
        Some(other) => {
            return Err(format!(
                "CHARON_SIGNING_ALG={other:?}: use HS256 (the default), EdDSA or ES256"
            ));
        }
    };
    let Some(alg) = alg else {
        if files.is_some() {
            return Err("CHARON_SIGNING_KEY_FILE is set but CHARON_SIGNING_ALG is HS256, whose key is derived from CHARON_SECRET: set CHARON_SIGNING_ALG=EdDSA or ES256 for a key file".into());
        }
        return Ok(None);
    };
    let name = if alg == Algorithm::EdDSA {
        "EdDSA"
    } else {
        "ES256"
    };
    let keyset = match files {
        Some(list) => {
            let mut keyset: Option<Keyset> = None;
            for path in env_list("CHARON_SIGNING_KEY_FILE", &list)? {
                let (kid, key) = key_from_file(alg, &path)?;
                let role = if keyset.is_none() {
                    "signs new tokens"
                } else {
                    "published, verify-only"
                };
                let duplicate = |_| format!("CHARON_SIGNING_KEY_FILE lists the key {kid} twice");
                keyset = Some(match keyset {
                    None => Keyset::new(kid.clone(), key).map_err(duplicate)?,
                    Some(keys) => keys.with_key(kid.clone(), key).map_err(duplicate)?,
                });
                println!("signing: {name} key {path}, kid {kid} ({role})");
            }
            keyset.ok_or("CHARON_SIGNING_KEY_FILE names no file")?
        }
        None => {
            let generated = match alg {
                Algorithm::EdDSA => Key::generate_ed25519(),
                _ => Key::generate_es256(),
            }
            .map_err(|e| format!("CHARON_SIGNING_ALG={name}: key generation failed: {e}"))?;
            println!(
                "signing: {name} key generated at start, kid {} (tokens stop verifying when \
                 the server restarts; set CHARON_SIGNING_KEY_FILE to keep a key)",
                generated.kid()
            );
            generated
                .keyset()
                .map_err(|e| format!("CHARON_SIGNING_ALG={name}: {}", chain(&e)))?
        }
    };
    let jwks = JwksDocument::from_keyset(&keyset)
        .map_err(|e| format!("CHARON_SIGNING_KEY_FILE: the public keys: {}", chain(&e)))?;
    println!(
        "publishing {} public key(s) at /.well-known/jwks.json",
        keyset.len()
    );
    Ok(Some(Signing { keyset, jwks }))
}

/// One private key of `alg` from a PEM file, with its kid (the RFC 7638 thumbprint).
fn key_from_file(alg: Algorithm, path: &str) -> Result<(String, Key), String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("CHARON_SIGNING_KEY_FILE: cannot read {path:?}: {e}"))?;
    let parsed = match alg {
        Algorithm::EdDSA => Key::ed25519_from_pem(&pem),
        _ => Key::ec_from_pem(alg, &pem),
    };
    let not_a_key = || {
        format!(
            "CHARON_SIGNING_KEY_FILE: {path:?} is not a PKCS#8 PEM private key for \
             CHARON_SIGNING_ALG={} (-----BEGIN PRIVATE KEY-----)",
            if alg == Algorithm::EdDSA {
                "EdDSA (Ed25519)"
            } else {
                "ES256 (P-256)"
            }
        )
    };
    let key = parsed.map_err(|e| format!("{}: {}", not_a_key(), chain(&e)))?;
    if !key.can_sign() {
        return Err(not_a_key());
    }
    let kid = key
        .thumbprint()
        .map_err(|e| format!("{}: {e}", not_a_key()))?;
    Ok((kid, key))
}

// -------------------------------------------------------------------------------------------
// The Redis store from the environment (see the module docs).
// -------------------------------------------------------------------------------------------

/// How the demo reaches Redis, from `REDIS_URL`, `CHARON_REDIS_SENTINELS` (+
/// `CHARON_REDIS_SENTINEL_MASTER`) or `CHARON_REDIS_CLUSTER`.
#[derive(Debug, PartialEq)]
enum RedisTarget {
    Standalone(String),
    Sentinel {
        sentinels: Vec<String>,
        master: String,
    },
    Cluster(Vec<String>),
}

/// A comma-separated list; an empty item is an error.
fn env_list(name: &str, value: &str) -> Result<Vec<String>, String> {
    value
        .split(',')
        .map(|item| {
            let item = item.trim();
            if item.is_empty() {
                Err(format!("{name} has an empty entry: {value:?}"))
            } else {
                Ok(item.to_owned())
            }
        })
        .collect()
}

fn check_scheme(name: &str, url: &str) -> Result<(), String> {
    if ["redis://", "rediss://", "unix://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
    {
        Ok(())
    } else {
        Err(format!(
            "{name}: {:?} is not a redis://, rediss:// or unix:// URL",
            redact(url)
        ))
    }
}

/// `CHARON_REDIS_DURABLE_DELETES`: `off`/`0`, `N`, `fsync` or `N+fsync`.
fn parse_durable(value: &str) -> Result<DurableDeletes, String> {
    let bad = || {
        format!(
            "CHARON_REDIS_DURABLE_DELETES={value:?}: use off, a replica count N, fsync or N+fsync"
        )
    };
    let value = value.trim();
    if value.eq_ignore_ascii_case("off") {
        return Ok(DurableDeletes::off());
    }
    let (replicas, fsync) = match value.split_once('+') {
        Some((n, "fsync")) => (n, true),
        Some(_) => return Err(bad()),
        None if value == "fsync" => ("0", true),
        None => (value, false),
    };
    let replicas: u32 = replicas.parse().map_err(|_| bad())?;
    let durable = DurableDeletes::replicas(replicas);
    Ok(if fsync {
        durable.local_fsync()
    } else {
        durable
    })
}

/// The target named by the environment, validated; `None` when no Redis variable is set.
fn redis_target_from_env() -> Result<Option<RedisTarget>, String> {
    let url = env_value("REDIS_URL");
    let sentinels = env_value("CHARON_REDIS_SENTINELS");
    let master = env_value("CHARON_REDIS_SENTINEL_MASTER");
    let cluster = env_value("CHARON_REDIS_CLUSTER");
    let modes = [url.is_some(), sentinels.is_some(), cluster.is_some()];
    if modes.iter().filter(|set| **set).count() > 1 {
        return Err(
            "set only one of REDIS_URL, CHARON_REDIS_SENTINELS and CHARON_REDIS_CLUSTER".into(),
        );
    }
    let target = match (url, sentinels, master, cluster) {
        (_, Some(_), None, _) => {
            return Err("CHARON_REDIS_SENTINELS needs CHARON_REDIS_SENTINEL_MASTER, the master name the sentinels monitor".into());
        }
        (_, None, Some(_), _) => {
            return Err("CHARON_REDIS_SENTINEL_MASTER is set without CHARON_REDIS_SENTINELS (the sentinel addresses)".into());
        }
        (Some(url), None, None, None) => {
            check_scheme("REDIS_URL", &url)?;
            Some(RedisTarget::Standalone(url))
        }
        (None, Some(list), Some(master), None) => Some(RedisTarget::Sentinel {
            sentinels: env_list("CHARON_REDIS_SENTINELS", &list)?,
            master,
        }),
        (None, None, None, Some(list)) => {
            let urls = env_list("CHARON_REDIS_CLUSTER", &list)?;
            for u in &urls {
                check_scheme("CHARON_REDIS_CLUSTER", u)?;
            }
            Some(RedisTarget::Cluster(urls))
        }
        _ => None,
    };
    let tls = match &target {
        None => false,
        Some(RedisTarget::Standalone(url)) => url.starts_with("rediss://"),
        Some(RedisTarget::Sentinel { sentinels, .. }) => {
            sentinels.iter().all(|s| s.starts_with("rediss://"))
        }
        Some(RedisTarget::Cluster(urls)) => urls.iter().all(|u| u.starts_with("rediss://")),
    };
    for name in ["CHARON_REDIS_CA_FILE", "CHARON_REDIS_DURABLE_DELETES"] {
        if target.is_none() && env_value(name).is_some() {
            return Err(format!(
                "{name} is set but no Redis is: set REDIS_URL, CHARON_REDIS_SENTINELS or CHARON_REDIS_CLUSTER"
            ));
        }
    }
    if env_value("CHARON_REDIS_CA_FILE").is_some() && !tls {
        return Err("CHARON_REDIS_CA_FILE needs TLS: use rediss:// addresses (for sentinels: rediss://host:port)".into());
    }
    Ok(target)
}

/// `url` without its credentials.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(_)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://***@{host}")
        }
        _ => url.to_owned(),
    }
}

/// The Redis store the environment asks for, connected (with a session cache when the
/// access routes' session check is `cached`); `None` for the in-memory store.
async fn redis_store_from_env(
    secret: &str,
    revocation: Revocation,
) -> Result<Option<RedisStore>, StartError> {
    let Some(target) = redis_target_from_env().map_err(StartError)? else {
        return Ok(None);
    };
    let mut builder = RedisStore::builder(secret.as_bytes());
    // `cached`: the access routes' session check reads the store's coherent cache.
    if revocation == Revocation::Cached {
        builder = builder.session_cache(SessionCache::default());
    }
    if let Some(ca) = env_value("CHARON_REDIS_CA_FILE") {
        builder = builder.tls_ca_file(ca);
    }
    let durable = match env_value("CHARON_REDIS_DURABLE_DELETES") {
        Some(value) => parse_durable(&value).map_err(StartError)?,
        None => DurableDeletes::off(),
    };
    builder = builder.durable_deletes(durable);
    let failed = |what: &str, e: charon_auth::ConfigError| {
        StartError(format!("session store ({what}): {}", chain(&e)))
    };
    let (store, description) = match target {
        RedisTarget::Standalone(url) => {
            let description = format!("Redis at {}", redact(&url));
            let store = builder
                .connect(&url)
                .await
                .map_err(|e| failed(&description, e))?;
            (store, description)
        }
        RedisTarget::Sentinel { sentinels, master } => {
            let store = builder
                .connect_sentinel(&sentinels, &master)
                .await
                .map_err(|e| failed("Sentinel", e))?;
            let at = store.sentinel_master().unwrap_or_default();
            let list: Vec<String> = sentinels.iter().map(|s| redact(s)).collect();
            (
                store,
                format!(
                    "Redis via Sentinel {} (master {master:?} at {at})",
                    list.join(",")
                ),
            )
        }
        RedisTarget::Cluster(urls) => {
            let store = builder
                .connect_cluster(&urls)
                .await
                .map_err(|e| failed("Cluster", e))?;
            let list: Vec<String> = urls.iter().map(|u| redact(u)).collect();
            (store, format!("Redis Cluster {}", list.join(",")))
        }
    };
    println!(
        "session store: {description}; durable deletes: {}",
        describe_durable(durable)
    );
    Ok(Some(store))
}

fn describe_durable(durable: DurableDeletes) -> String {
    match (durable.replica_count(), durable.waits_for_local_fsync()) {
        (0, false) => "off".to_owned(),
        (n, false) => format!("{n} replica(s)"),
        (0, true) => "local fsync".to_owned(),
        (n, true) => format!("{n} replica(s) and local fsync"),
    }
}
