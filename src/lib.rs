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
//! // 2. Log a user in (after checking their password): a session and two tokens. The
//! //    login request's parts go along: a browser asking for Bearer tokens is refused.
//! let (login, _body) = Request::post("/login").body(String::new())?.into_parts();
//! let tokens = charon
//!     .create_session(CreateSession::new("user-42", Transport::Bearer), &login)
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
//! [`extract::UserId`], …) as extractors, the login route takes [`RequestContext`], the
//! session routes take [`extract::CurrentSession`] (list, log out, log out everywhere,
//! sign out one device, all for the request's own user and session type), and
//! [`IssuedTokens`] / [`LoggedOut`] / [`SessionError`] are responses.
//! `examples/axum_minimal.rs` is the smallest app, `examples/axum_server.rs` a complete
//! server; `cargo run --example quickstart` is an in-process tour.
//!
//! # Optional authentication
//!
//! A route that serves both signed-in and anonymous users sits behind
//! [`AccessLayer::optional`]: the layer never rejects, and leaves its verdict in the
//! request as a [`layer::AuthOutcome`] (`Result<Authenticated, AuthError>`). With the
//! `axum` feature, take `Option<Authenticated>` (or `Option<extract::UserId>`,
//! `Option<extract::CurrentSession>`, …): `None` when the request carries no valid token
//! (no token, expired, bad signature: what would have been a 401). What is not about the
//! token is still answered, never passed through as anonymous: the store down (503), a
//! failed CSRF check (403), a malformed request (400). Without axum, read
//! `req.extensions().get::<AuthOutcome>()`. A route without any layer answers 500 from
//! the extractors: a wiring mistake, not an anonymous user.
//!
//! ```
//! # #[cfg(feature = "axum")] {
//! use axum::Router;
//! use axum::routing::get;
//! use charon_auth::{AccessLayer, Authenticated, Charon};
//!
//! async fn home(auth: Option<Authenticated>) -> String {
//!     match auth {
//!         Some(auth) => format!("welcome back, {}", auth.user_id()),
//!         None => "welcome, stranger".to_owned(),
//!     }
//! }
//! # fn app(charon: &Charon) -> Router {
//! Router::new().route("/", get(home)).route_layer(AccessLayer::new(charon).optional())
//! # }
//! # }
//! ```
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
//!   [`store`] and checks freshness). Both can read sessions through the Redis store's
//!   coherent local cache ([`layer::Revocation::Cached`], [`layer::SessionRead::Cached`]).
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
//! the algorithm, so `alg` confusion and `none` are impossible. By default access tokens
//! live until they expire (keep their TTL short, default 15 minutes); with the access
//! layer's session check ([`layer::Revocation::Strict`]) a logged-out session's access
//! tokens are refused on the next request. See `SECURITY.md` for the threat model.
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
mod hit_counters;
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

/// The README's Rust examples, compiled by `cargo test --doc --all-features` so that they
/// cannot rot (its other blocks are shell and TOML, which rustdoc does not compile).
#[cfg(all(doctest, feature = "axum", feature = "redis"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

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
    RequestContext, SessionInfo,
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
