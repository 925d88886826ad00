//! A verify-only resource service: it checks the access tokens of the auth demo
//! (`examples/axum_server.rs`) with the public keys the demo publishes, and holds no secret,
//! no signing key and no session store.
//!
//! ```text
//! # the auth service, signing with an Ed25519 key generated at start
//! CHARON_SIGNING_ALG=EdDSA cargo run --example axum_server --features axum,metrics
//! # this service, on another port
//! CHARON_DEMO_ADDR=127.0.0.1:3001 \
//! CHARON_JWKS_URL=http://127.0.0.1:3000/.well-known/jwks.json \
//! CHARON_ISSUER=charon-auth-demo \
//!   cargo run --example resource_server --features axum,jwks
//! ```
//!
//! Routes:
//!
//! | route | answer |
//! |---|---|
//! | `GET /me` | 200 `{"user_id", "session_id", "issuer"}` for a valid access token (`Authorization: Bearer …` or the demo's cookies); 401 without one or for a bad one; 503 `keys_unavailable` while no keys could be fetched yet |
//! | `GET /healthz` | 200 (the process is up; it says nothing about the keys) |
//!
//! Environment:
//! - `CHARON_DEMO_ADDR` (default `127.0.0.1:3001`)
//! - `CHARON_JWKS_URL` (default `http://127.0.0.1:3000/.well-known/jwks.json`, the auth
//!   demo's): where the public keys come from. `https://` anywhere; plain `http://` only
//!   to loopback hosts.
//! - `CHARON_ISSUER` (default `charon-auth-demo`, the auth demo's `iss`): the issuer whose
//!   Charon tokens (with session claims) are accepted.
//! - `CHARON_AUDIENCE` (optional, comma-separated): this service's names. When set, a token
//!   must carry one of them in `aud` (RFC 7519 §4.1.3); start the auth demo with the same
//!   `CHARON_AUDIENCE`.
//! - `CHARON_ACCESS_TTL` (seconds, default 900): the longest access token lifetime
//!   accepted from `CHARON_ISSUER`; match the auth demo's `CHARON_ACCESS_TTL`.
//! - `CHARON_EXTERNAL_ISSUER` and `CHARON_EXTERNAL_JWKS_URL` (optional, both or neither): also
//!   accept the tokens of an outside identity provider under the external profile
//!   (`iss`, `sub`, `exp` required; no session claims), with its keys from that JWKS.
//!
//! A bad value stops the service with a message naming the variable. The service starts
//! even when its JWKS endpoint is down: it answers 503 (not 401) until it has keys, keeps
//! the keys it has when the endpoint fails later, and fetches again when a token names a
//! kid it does not know (a new signing key of the auth service).
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "demo/start.rs"]
mod start;
use start::{StartError, chain, env_value};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::routing::get;
use charon_auth::jwks::RemoteJwks;
use charon_auth::{AccessLayer, Authenticated, TokenType, TrustedIssuer, Verifier};

/// How long start-up waits for the first key fetch before serving anyway.
const FIRST_FETCH_WAIT: Duration = Duration::from_secs(3);

/// A `RemoteJwks` for the URL in `variable`, started.
fn remote_jwks(variable: &str, url: &str) -> Result<RemoteJwks, StartError> {
    RemoteJwks::builder(url)
        .start()
        .map_err(|e| StartError(format!("{variable}={url:?}: {}", chain(&e))))
}

/// Wait a moment for the first keys, and say what came of it.
async fn report_keys(variable: &str, url: &str, jwks: &RemoteJwks) {
    if jwks.wait_ready(FIRST_FETCH_WAIT).await {
        let count = jwks.current().map_or(0, |keys| keys.len());
        println!("keys: {count} from {url} ({variable})");
    } else {
        let status = jwks.status();
        let why = status
            .last_error
            .map_or_else(|| "no answer yet".to_owned(), |e| chain(&*e));
        eprintln!("keys: none yet from {url} ({variable}: {why}); answering 503 until it is up");
    }
}

async fn me(auth: Authenticated) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "user_id": auth.user_id(),
        "session_id": auth.session_id(),
        "issuer": auth.issuer(),
    }))
}

#[tokio::main]
async fn main() -> Result<(), StartError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,charon=debug".into()),
        )
        .init();

    let jwks_url = env_value("CHARON_JWKS_URL")
        .unwrap_or_else(|| "http://127.0.0.1:3000/.well-known/jwks.json".to_owned());
    let issuer = env_value("CHARON_ISSUER").unwrap_or_else(|| "charon-auth-demo".to_owned());
    let access_ttl = match env_value("CHARON_ACCESS_TTL") {
        None => Duration::from_secs(900),
        Some(value) => match value.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Duration::from_secs(secs),
            _ => {
                return Err(StartError(format!(
                    "CHARON_ACCESS_TTL={value:?} is not a positive number of seconds"
                )));
            }
        },
    };
    let external = match (
        env_value("CHARON_EXTERNAL_ISSUER"),
        env_value("CHARON_EXTERNAL_JWKS_URL"),
    ) {
        (None, None) => None,
        (Some(iss), Some(url)) => Some((iss, url)),
        (Some(_), None) => {
            return Err(StartError(
                "CHARON_EXTERNAL_ISSUER is set without CHARON_EXTERNAL_JWKS_URL (where its keys are)".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(StartError(
                "CHARON_EXTERNAL_JWKS_URL is set without CHARON_EXTERNAL_ISSUER (the iss its tokens carry)".into(),
            ));
        }
    };

    let jwks = remote_jwks("CHARON_JWKS_URL", &jwks_url)?;
    let mut builder = Verifier::builder().trust(
        TrustedIssuer::charon(issuer.clone(), jwks.clone())
            .max_token_lifetime(TokenType::Access, access_ttl),
    );
    println!("issuer: {issuer:?} (Charon tokens, keys from {jwks_url})");
    let mut external_jwks = None;
    if let Some((iss, url)) = &external {
        let keys = remote_jwks("CHARON_EXTERNAL_JWKS_URL", url)?;
        builder = builder.trust(TrustedIssuer::external(iss.clone(), keys.clone()));
        println!("issuer: {iss:?} (external tokens, keys from {url})");
        external_jwks = Some(keys);
    }
    if let Some(list) = env_value("CHARON_AUDIENCE") {
        for audience in list.split(',').map(str::trim) {
            if audience.is_empty() {
                return Err(StartError(format!(
                    "CHARON_AUDIENCE has an empty entry: {list:?}"
                )));
            }
            println!("audience: {audience:?} (required in every token's aud)");
            builder = builder.audience(audience);
        }
    }
    let verifier = builder
        .build()
        .map_err(|e| StartError(format!("the verifier: {}", chain(&e))))?;

    let addr = env_value("CHARON_DEMO_ADDR").unwrap_or_else(|| "127.0.0.1:3001".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| StartError(format!("CHARON_DEMO_ADDR={addr:?}: {e}")))?;
    report_keys("CHARON_JWKS_URL", &jwks_url, &jwks).await;
    if let (Some((_, url)), Some(keys)) = (&external, &external_jwks) {
        report_keys("CHARON_EXTERNAL_JWKS_URL", url, keys).await;
    }

    let app = Router::new()
        .route("/me", get(me).route_layer(AccessLayer::new(&verifier)))
        .route("/healthz", get(|| async { "ok" }));
    let local = listener
        .local_addr()
        .map_err(|e| StartError(format!("CHARON_DEMO_ADDR={addr:?}: {e}")))?;
    println!("charon-auth resource server listening on http://{local}");
    axum::serve(listener, app)
        .await
        .map_err(|e| StartError(format!("serving: {e}")))
}
