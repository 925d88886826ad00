//! Verification keys from a remote JWKS endpoint (feature `jwks`).
//!
//! A resource service that only verifies tokens holds no secret: it fetches the public
//! keys its auth service (or an outside identity provider) publishes at
//! `/.well-known/jwks.json`, and keeps them fresh. [`RemoteJwks`] is that handle:
//!
//! - **Fetching**: HTTPS through hyper's client and rustls (no OpenSSL), trusting the
//!   Mozilla roots of `webpki-roots` and any CA you add; plain HTTP only to loopback hosts
//!   unless you opt in with [`insecure_http`](RemoteJwksBuilder::insecure_http). Each
//!   request has a timeout and a response size limit; redirects are not followed.
//!   Optionally the JWKS URL comes from OpenID Connect discovery
//!   ([`RemoteJwks::discover`]).
//! - **Refreshing**: on an interval, on a failure after a shorter retry interval, and when a
//!   token names a `kid` the keys do not hold
//!   ([`refresh_for_unknown_kid`](RemoteJwks::refresh_for_unknown_kid), rate-limited).
//!   One fetch at a time; concurrent callers share its result.
//! - **Failing safely**: a failed fetch or a refused document (the strict rules of
//!   [`Keyset::from_jwks`](crate::token::Keyset::from_jwks): symmetric or private keys,
//!   `alg`/`kty`/`crv` mismatches, repeated kids, …) never replaces the keys in use. They are
//!   kept for at most the [maximum staleness](RemoteJwksBuilder::max_staleness) after the
//!   last success, then dropped: with no keys, verification answers 503 (not 401) until a
//!   fetch succeeds. A service started while its key endpoint is down starts all the same,
//!   without keys.
//! - **Telemetry**: every fetch attempt and every expiry is a `charon.jwks.refresh` event
//!   (see [`telemetry`](crate::telemetry)); [`RemoteJwks::status`] is a snapshot for health
//!   checks.
//!
//! Defaults: refresh every 300 s, retry after 10 s, at most one unknown-kid fetch per 10 s,
//! keys kept 12 h without a successful refresh, 10 s request timeout, 256 KiB responses.
//!
//! ```no_run
//! use std::time::Duration;
//! use charon_auth::jwks::{JwksState, RemoteJwks};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let jwks = RemoteJwks::builder("https://auth.example.com/.well-known/jwks.json").start()?;
//! jwks.wait_ready(Duration::from_secs(2)).await;
//!
//! // On each request: the keys, or 503 when there are none.
//! let kid = "2026-01";
//! let keys = match jwks.current() {
//!     Some(keys) if keys.get(kid).is_some() => Some(keys),
//!     // A kid we do not know: maybe a key published a moment ago.
//!     _ => jwks.refresh_for_unknown_kid(kid).await,
//! };
//! assert!(keys.is_some() || jwks.status().state != JwksState::Fresh);
//! # Ok(()) }
//! ```

mod error;
mod http;
mod remote;

pub use error::{JwksError, JwksErrorKind};
pub use remote::{
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_STALENESS, DEFAULT_REFRESH_INTERVAL,
    DEFAULT_RETRY_INTERVAL, DEFAULT_TIMEOUT, DEFAULT_UNKNOWN_KID_COOLDOWN, JwksState, JwksStatus,
    RemoteJwks, RemoteJwksBuilder,
};
