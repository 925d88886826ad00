//! # charon-auth
//!
//! Session and token authentication for axum, hyper and any Tower stack: short-lived access
//! JWTs, rotating refresh JWTs backed by server-side sessions in Redis (standalone or
//! Cluster) with optimistic locking, three token transports (bearer, split-token cookie,
//! cookie-only), refresh-token reuse detection, and telemetry events you subscribe to. It
//! is a port of the Elixir library Charon that keeps its wire format: given the same base
//! secret, a Charon service and a charon-auth service accept each other's tokens.
//!
//! ```
//! use charon_auth::{
//!     AccessLayer, Authenticated, Charon, CreateSession, RefreshAuth, RefreshLayer, RefreshSession,
//!     Transport,
//! };
//! use http::{Request, Response};
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // 1. One handle at start-up. Sessions live in memory here; use
//! //    `store::redis::RedisStore` in production.
//! let charon = Charon::builder()
//!     .issuer("my-app")
//!     .base_secret("at least 32 bytes of secret entropy!!")
//!     .build()?;
//!
//! // 2. Log a user in (after checking their password): a session and two tokens.
//! let tokens = charon
//!     .create_session(CreateSession::new("user-42", Transport::Bearer), &http::HeaderMap::new())
//!     .await?;
//!
//! // 3. Protect a service with the access layer.
//! let me = AccessLayer::new(&charon).layer(service_fn(|req: Request<String>| async move {
//!     let auth = req.extensions().get::<Authenticated>().expect("set by the layer");
//!     Ok::<_, std::convert::Infallible>(Response::new(format!("hello {}", auth.user_id())))
//! }));
//! let request = Request::get("/me")
//!     .header("authorization", format!("Bearer {}", tokens.access_token().unwrap()))
//!     .body(String::new())?;
//! let response = me.clone().oneshot(request).await?;
//! assert_eq!(response.body(), "hello user-42");
//!
//! // Without a token: 401 with an RFC 6750 challenge, and the handler never runs.
//! let response = me.oneshot(Request::get("/me").body(String::new())?).await?;
//! assert_eq!(response.status(), 401);
//!
//! // 4. The refresh route: the refresh layer loads the session; rotate the tokens.
//! let refresh = RefreshLayer::new(&charon).layer(service_fn({
//!     let charon = charon.clone();
//!     move |req: Request<String>| {
//!         let charon = charon.clone();
//!         async move {
//!             let auth = req.extensions().get::<RefreshAuth>().expect("set by the layer").clone();
//!             let fresh = charon.refresh_session(&auth, RefreshSession::new()).await.expect("refreshed");
//!             Ok::<_, std::convert::Infallible>(Response::new(fresh.body().to_string()))
//!         }
//!     }
//! }));
//! let request = Request::post("/refresh")
//!     .header("authorization", format!("Bearer {}", tokens.refresh_token().unwrap()))
//!     .body(String::new())?;
//! assert_eq!(refresh.oneshot(request).await?.status(), 200);
//! # Ok(()) }
//! ```
//!
//! With the `axum` feature, handlers take [`Authenticated`] (or `Option<Authenticated>`,
//! [`extract::UserId`], …) as extractors, and [`IssuedTokens`] / [`LoggedOut`] are
//! responses. `examples/axum_server.rs` is a complete server; `cargo run --example
//! quickstart` is an in-process tour.
//!
//! # How it fits together
//!
//! - [`verifier`]: [`Verifier`], token verification standing alone (trusted issuers and
//!   their keys — public keys suffice —, audiences, leeway, a cache of verified tokens):
//!   all a resource service needs.
//! - [`charon`]: [`Charon`], the session authority (signing keys, TTLs, cookies, the store)
//!   built once with [`CharonBuilder`] (every misconfiguration is a [`ConfigError`] at
//!   build time), its session API (create, refresh, delete, delete all, list) and the
//!   refresh route's checks ([`RefreshAuth`]). It holds a [`Verifier`] for its own tokens.
//! - [`layer`]: [`AccessLayer`] (from a `Verifier` or a `Charon`) and [`RefreshLayer`]
//!   (from a `Charon`), distinct Tower layers that gate each request ([`transport`] reads
//!   the token, the verifier checks it, the refresh layer loads the [`Session`] from the
//!   [`store`] and checks freshness).
//! - [`session`]: the session model: the record, its type and ids, TTL and generation
//!   rules.
//! - [`token`]: keys, key sets, JWK/JWKS, claims, JWT signing and verification.
//! - [`store`]: the [`SessionStore`](store::SessionStore) contract, the in-memory store and
//!   the Redis store.
//! - [`telemetry`]: the seven Charon events and the key-set refresh event, to closures,
//!   `tracing` and `metrics`.
//! - `jwks` (feature `jwks`): verification keys fetched from a remote JWKS endpoint and
//!   kept fresh.
//!
//! # Crate features
//!
//! `redis` (default) adds the Redis store, standalone and Cluster. `tracing` (default)
//! emits every telemetry event as a `tracing` event. `aws_lc_rs` (default) selects
//! jsonwebtoken's aws-lc-rs crypto backend; `rust_crypto` selects the pure-Rust one instead
//! (its `rsa` dependency carries an open RustSec advisory). `axum` adds extractors and
//! `IntoResponse` impls. `metrics` counts every event with the `metrics` crate.
//! `test-util` adds [`test_util`] for your own tests. `jwks` adds `jwks::RemoteJwks`, keys
//! fetched from a JWKS endpoint over HTTPS (hyper and rustls, no OpenSSL) and refreshed on
//! tokio.
//!
//! # Security notes
//!
//! Defaults are the secure choice, and every weaker setting is an explicit opt-in named
//! `insecure_*`: cookies are HttpOnly, Secure and SameSite=Strict; browsers cannot get
//! bearer tokens; cookie-only requests need a same-origin signal on unsafe methods; a
//! replayed stale refresh token revokes its session; a deleted session is never brought
//! back by a racing refresh; the store is fail-closed (503). The key chosen by `kid` fixes
//! the algorithm, so `alg` confusion and `none` are impossible. Access tokens cannot be
//! revoked before they expire: keep their TTL short (default 15 minutes). See
//! `SECURITY.md` for the threat model.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod charon;
pub mod clock;
pub mod config;
pub mod error;
#[cfg(feature = "axum")]
pub mod extract;
pub mod guide;
pub mod health;
#[cfg(feature = "jwks")]
pub mod jwks;
pub mod layer;
pub mod session;
pub mod store;
pub mod telemetry;
#[cfg(feature = "test-util")]
pub mod test_util;
pub mod token;
pub mod transport;
pub mod verifier;

/// Internals that the fuzz targets, benches and integration tests reach into: not part of
/// the API, no stability promise, hidden from the docs (as rustls does).
#[doc(hidden)]
pub mod internals {
    /// The signed session blob of the Redis store (`store/redis/codec.rs`).
    #[cfg(feature = "redis")]
    pub mod redis_blob {
        pub use crate::store::redis::codec::{BLOB_TAG, decode_blob, encode_blob};
    }
}

pub use charon::{
    Charon, CharonBuilder, CreateSession, IssuedTokens, LoggedOut, RefreshAuth, RefreshSession,
};
pub use clock::{Clock, ManualClock, SystemClock, UnixTime};
pub use config::{ReuseDetection, SessionTtl};
pub use error::{
    AuthError, AuthErrorKind, ConfigError, ConfigErrorKind, SessionError, SessionErrorKind,
    StoreError, StoreErrorKind,
};
pub use layer::{AccessLayer, RefreshLayer};
pub use session::{Session, SessionType};
pub use token::{Claims, JwtCodec, Key, Keyset, TokenType};
pub use transport::Transport;
pub use verifier::{Authenticated, TrustedIssuer, Verifier};
