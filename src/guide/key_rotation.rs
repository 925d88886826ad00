//! # Key rotation
//!
//! A [`Keyset`](crate::Keyset) maps key ids (`kid`) to [`Key`](crate::Key)s and names one
//! signing kid. Every token carries the kid of the key that signed it, and the key decides
//! the algorithm: a token whose header `alg` differs from its key's algorithm is refused.
//!
//! ```
//! use charon_auth::{Key, Keyset};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let old = Key::hs256(&[1; 32])?;
//! let new = Key::hs256(&[2; 32])?;
//! // Step 1: add the new key, keep signing with the old one.
//! let step1 = Keyset::new("2026-01", old.clone())?.with_key("2026-06", new.clone())?;
//! // Step 2: once every instance runs step 1, sign with the new key.
//! let step2 = step1.with_signing_kid("2026-06")?;
//! assert_eq!(step2.signing_kid(), Some("2026-06"));
//! // Step 3: after the longest refresh TTL, drop the old key.
//! let step3 = Keyset::new("2026-06", new)?;
//! # let _ = step3; Ok(()) }
//! ```
//!
//! 1. **Add** the new key under a new kid on every instance, still signing with the old
//!    one. Instances that already know the new key accept tokens it signs.
//! 2. **Switch** the signing kid to the new key. Tokens signed by the old key keep
//!    verifying through their kid.
//! 3. **Retire** the old key after the longest refresh TTL (default 60 days): no live
//!    refresh token is signed by it any more. Refresh tokens are re-signed on every
//!    refresh, so active users move to the new key on their next refresh.
//!
//! For an emergency (a leaked key), skip the wait: remove the key at once. Every token it
//! signed fails with `bearer token signature invalid`, and users log in again.
//!
//! **Tokens without a kid** (from other issuers, or old Charon versions) verify only
//! through an explicit entry named `kid_not_set.<ALG>`, e.g. `kid_not_set.HS256`, as in
//! Charon.
//!
//! **The base secret.** Without an explicit keyset the signing key is derived from the base
//! secret with kid `default`. To rotate away from it, build a keyset that holds the derived
//! key under `default` (`Key::hs256(&token::derive_key(secret, token::JWT_DEFAULT_SALT))`)
//! plus the new key, and follow the steps above. The Redis store signs its blobs with a key
//! derived from the base secret too; changing the base secret logs every user out.
