//! # Splitting into services
//!
//! One service that signs in users and serves their data needs one [`Charon`]: the signing
//! key, the session store and the session API. When a second service must check the same
//! users' tokens, do not copy the secret and the store into it. Split the work:
//!
//! ```text
//! auth service      Charon: signing keys + store + session API
//!    │              signs EdDSA/ES256 tokens, publishes GET /.well-known/jwks.json
//!    ▼
//! resource service  Verifier only: public keys from that JWKS, issuer, audience
//!                   no secret, no store
//! ```
//!
//! The resource service can then verify every token on its own, in about the time a local
//! key takes: the keys are fetched once and kept fresh in the background.
//!
//! ## 1. Sign with an asymmetric key
//!
//! An HS256 key is a shared secret: every service that verifies with it could also forge
//! tokens. Give the auth service an Ed25519 (`EdDSA`) or P-256 (`ES256`) key instead; it
//! keeps the private key and publishes only the public one.
//!
//! ```
//! use charon_auth::Charon;
//! use charon_auth::token::{JwksDocument, Key};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Once: generate a key and store its PEM where only the auth service reads it.
//! let generated = Key::generate_ed25519()?;
//! let pem = generated.private_key_pem().to_owned();
//!
//! // At every start: load it. The kid is its RFC 7638 thumbprint, the same every time.
//! let key = Key::ed25519_from_pem(pem.as_bytes())?;
//! let keyset = charon_auth::Keyset::new(key.thumbprint()?, key)?;
//! let jwks = JwksDocument::from_keyset(&keyset)?;
//! let charon = Charon::builder()
//!     .issuer("https://auth.example")
//!     .keyset(keyset)
//!     .audience("orders") // every token says which service it is for
//!     .build()?;
//! // axum: .route("/.well-known/jwks.json", get(jwks.handler()))
//! assert!(!String::from_utf8_lossy(jwks.body()).contains("\"d\""));
//! # let _ = charon; Ok(()) }
//! ```
//!
//! [`JwksDocument`](crate::token::JwksDocument) answers with `Cache-Control: public,
//! max-age=300`. The store keeps its own blob key (the base secret given to
//! [`RedisStore::builder`](crate::store::redis::RedisStore::builder)); it never leaves the
//! auth service.
//!
//! ## 2. Verify with the published keys
//!
//! The resource service builds a [`Verifier`] whose keys come from a
//! `charon_auth::jwks::RemoteJwks` (feature `jwks`) and puts the same
//! [`AccessLayer`] in front of its routes. The [`Authenticated`] extractor works as before.
//!
//! ```no_run
//! # #[cfg(all(feature = "jwks", feature = "axum"))]
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! use charon_auth::jwks::RemoteJwks;
//! use charon_auth::{AccessLayer, Authenticated, TrustedIssuer, Verifier};
//!
//! let jwks = RemoteJwks::builder("https://auth.example/.well-known/jwks.json").start()?;
//! let verifier = Verifier::builder()
//!     .trust(TrustedIssuer::charon("https://auth.example", jwks))
//!     .audience("orders") // refuse tokens meant for another service
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/me", get(|auth: Authenticated| async move { auth.user_id().to_owned() }))
//!     .route_layer(AccessLayer::new(&verifier));
//! # let _ = app; Ok(()) }
//! ```
//!
//! What the resource service does on its own:
//!
//! - **New keys**: a token whose `kid` it does not know makes it fetch the JWKS again
//!   (rate-limited) before answering, so a new signing key works on first sight.
//! - **Endpoint down**: it keeps the keys it has (up to the maximum staleness, 12 h by
//!   default) and keeps verifying.
//! - **No keys yet** (it started while the auth service was down): it answers 503
//!   `keys_unavailable`, never 401, until a fetch succeeds; clients should retry, not sign
//!   the user out.
//! - **Plain HTTP** is allowed to loopback hosts only; anything else needs `https://` or an
//!   explicit `RemoteJwksBuilder::insecure_http`.
//!
//! What it does not do: sessions. A verify-only service accepts an access token until it
//! expires, even after the user logged out on the auth service; keep access tokens short
//! (the default is 15 minutes). The session API (login, refresh, logout) stays on the auth
//! service.
//!
//! ## 3. Rotate keys through the JWKS
//!
//! The auth service publishes every key it holds, the signing one and the previous ones:
//!
//! 1. Add the new key beside the old one, still signing with the old one, and wait at least
//!    the JWKS `max-age` (so caches have it). Or sign with it at once: verifiers fetch an
//!    unknown kid on first sight.
//! 2. Sign with the new key ([`Keyset::with_signing_kid`](crate::Keyset::with_signing_kid)),
//!    keep publishing the old one: tokens it signed keep verifying while they live.
//! 3. Drop the old key after the longest token lifetime.
//!
//! The [key rotation guide](super::key_rotation) has the details.
//!
//! ## 4. Tokens of an outside identity provider
//!
//! The same verifier can also accept tokens of another issuer (an OpenID Connect provider,
//! another team's auth service) under [`TrustedIssuer::external`]: `iss`, `sub` and `exp`
//! required, no session claims, `aud` checked against the verifier's audiences.
//! [`Authenticated::issuer`] tells them apart; `session_id()` is `None` for them.
//!
//! ```no_run
//! # #[cfg(feature = "jwks")]
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! # use charon_auth::jwks::RemoteJwks;
//! # use charon_auth::{TrustedIssuer, Verifier};
//! # let ours = RemoteJwks::builder("https://auth.example/.well-known/jwks.json").start()?;
//! let idp = RemoteJwks::discover("https://login.example").start()?; // OIDC discovery
//! let verifier = Verifier::builder()
//!     .trust(TrustedIssuer::charon("https://auth.example", ours))
//!     .trust(TrustedIssuer::external("https://login.example", idp))
//!     .audience("orders")
//!     .build()?;
//! # let _ = verifier; Ok(()) }
//! ```
//!
//! ## The two demos
//!
//! `examples/axum_server.rs` is the auth service and `examples/resource_server.rs` a
//! verify-only service; `tests/services.rs` runs them as real processes, and
//! `tests/pyjwt_interop.rs` checks both against PyJWT.
//!
//! ```text
//! # terminal 1: the auth service, Ed25519 key generated at start, tokens for "orders"
//! CHARON_SIGNING_ALG=EdDSA CHARON_AUDIENCE=orders \
//!   cargo run --example axum_server --features axum,metrics
//! # terminal 2: the resource service
//! CHARON_DEMO_ADDR=127.0.0.1:3001 CHARON_AUDIENCE=orders \
//! CHARON_JWKS_URL=http://127.0.0.1:3000/.well-known/jwks.json CHARON_ISSUER=charon-auth-demo \
//!   cargo run --example resource_server --features axum,jwks
//! # terminal 3
//! ACCESS=$(curl -s -X POST localhost:3000/login -H 'content-type: application/json' \
//!   -d '{"user_id":"alice","transport":"bearer"}' |
//!   python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
//! curl -s localhost:3001/me -H "authorization: Bearer $ACCESS"
//! # {"issuer":"charon-auth-demo","session_id":"…","user_id":"alice"}
//! ```
//!
//! To keep the key across restarts, write it once
//! (`openssl genpkey -algorithm ed25519 -out auth-key.pem`) and start the auth service with
//! `CHARON_SIGNING_KEY_FILE=auth-key.pem`. To rotate, start it with
//! `CHARON_SIGNING_KEY_FILE=new.pem,auth-key.pem`: the first file signs, all are published.
//!
//! [`Charon`]: crate::Charon
//! [`Verifier`]: crate::Verifier
//! [`AccessLayer`]: crate::AccessLayer
//! [`Authenticated`]: crate::Authenticated
//! [`Authenticated::issuer`]: crate::Authenticated::issuer
//! [`TrustedIssuer::external`]: crate::TrustedIssuer::external
