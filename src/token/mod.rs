//! Keys, claims, JWT signing and verification.
//!
//! - [`Key`]: key material bound to one algorithm (HMAC, Ed25519, ECDSA, RSA); Ed25519 and
//!   ES256 key generation ([`Key::generate_ed25519`], [`GeneratedKey`]);
//! - [`Keyset`]: keys by kid, at most one of them for signing; verify-only keysets;
//!   rotation; Charon's `kid_not_set.<ALG>` fallback for tokens without `kid`;
//! - [`Jwk`] and [`JwkSet`]: public keys to and from JWK (RFC 7517, RFC 8037), strict
//!   import ([`jwk`] lists what is refused), RFC 7638 thumbprints as kids;
//!   [`JwksDocument`] serves a keyset's public keys at `/.well-known/jwks.json`;
//! - [`derive_key`]: Charon-compatible PBKDF2 key derivation from a base secret;
//! - [`Claims`] and [`TokenType`]: the nine reserved claims, strictly typed, plus extras;
//! - [`JwtCodec`]: signs claims and verifies tokens (gate, header, key, signature, claims).
//!
//! The crypto is jsonwebtoken's (`jsonwebtoken::crypto::{sign, verify}`); this module
//! adds the token format, the checks, and the key policy.

mod cache;
mod claims;
mod codec;
mod derive;
mod gate;
mod header;
pub(crate) mod json;
pub mod jwk;
mod jwks_document;
mod key;
mod keygen;
mod keyset;
mod provider;
mod sign_error;
mod verified;

pub use cache::{
    DEFAULT_TOKEN_CACHE_CAPACITY, TOKEN_WEIGHT_UNIT, TokenCacheStats, VerifiedTokenCache,
};
pub(crate) use claims::collect_extra;
pub use claims::{
    Claims, ClaimsProfile, MAX_AUDIENCES, MAX_JTI_LEN, MAX_NUMERIC_DATE, RESERVED_CLAIMS,
    ReservedClaimError, SessionClaims, TokenType,
};
pub use codec::{DEFAULT_LEEWAY, JwtCodec, MAX_LEEWAY};
pub use derive::{
    DERIVED_KEY_LEN, DERIVED_KEY_MEMO, JWT_DEFAULT_SALT, MIN_BASE_SECRET_LEN, PBKDF2_ITERATIONS,
    derive_key,
};
pub use gate::MAX_TOKEN_LEN;
pub use header::{ALLOWED_HEADER_PARAMS, FORBIDDEN_HEADER_PARAMS};
pub use jsonwebtoken::Algorithm;
pub use jwk::{Jwk, JwkError, JwkErrorKind, JwkSet, MAX_JWKS_KEYS};
pub use jwks_document::{DEFAULT_JWKS_MAX_AGE, JwksDocument};
pub use key::{Key, MIN_RSA_BITS};
pub use keygen::GeneratedKey;
pub use keyset::{DEFAULT_KID, KID_NOT_SET_PREFIX, Keyset, MAX_KID_LEN};
pub use sign_error::{SignError, SignErrorKind};
pub use verified::VerifiedJws;
