//! Keys: JWKs and JWK Sets (`jwk`), remote JWKS documents over real HTTP(S) (`jwks_remote`)
//! and a verifier fed by one behind the access layer (`verifier_jwks`). One test binary
//! for the three, to link once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../support/jwks_server.rs"]
mod jwks_server;

mod jwk;
mod jwks_remote;
mod verifier_jwks;
