//! Keys, claims, JWT signing and verification.
//!
//! - [`Key`]: key material bound to one algorithm (HMAC, Ed25519, ECDSA, RSA);
//! - [`Keyset`]: keys by kid, one of them for signing; rotation; Charon's
//!   `kid_not_set.<ALG>` fallback for tokens without `kid`;
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
mod json;
mod key;
mod keyset;
mod provider;
mod sign_error;
mod verified;

pub use cache::{DEFAULT_TOKEN_CACHE_CAPACITY, VerifiedTokenCache};
pub use claims::{
    Claims, MAX_JTI_LEN, MAX_NUMERIC_DATE, RESERVED_CLAIMS, ReservedClaimError, TokenType,
};
pub use codec::{DEFAULT_LEEWAY, JwtCodec, MAX_LEEWAY};
pub use derive::{
    DERIVED_KEY_LEN, JWT_DEFAULT_SALT, MIN_BASE_SECRET_LEN, PBKDF2_ITERATIONS, derive_key,
};
pub use gate::MAX_TOKEN_LEN;
pub use header::{ALLOWED_HEADER_PARAMS, FORBIDDEN_HEADER_PARAMS};
pub use jsonwebtoken::Algorithm;
pub use key::{Key, MIN_RSA_BITS};
pub use keyset::{DEFAULT_KID, KID_NOT_SET_PREFIX, Keyset, MAX_KID_LEN};
pub use sign_error::SignError;
pub use verified::VerifiedJws;
