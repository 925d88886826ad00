//! A bounded cache of verified tokens (as Envoy's `jwt_authn` keeps one).
//!
//! Verifying a token is a pure function of its bytes and the (immutable) keyset, so the
//! claims of a token that verified once can be reused: a hit skips the signature check and
//! the claims parsing. What depends on the request is NOT cached: `exp`/`nbf`/`iat`
//! against the request's `now`, `iss`, `type`, the layer's claim checks and the session
//! load all run on every request.
//!
//! The key is the whole token, compared for equality after a SipHash lookup with random
//! keys (std's `HashMap`), so only a byte-identical token hits. Only tokens that verified
//! are stored, so an attacker cannot fill the cache without valid tokens. The cache holds at
//! most `capacity` tokens and is emptied when full: bounded memory, no eviction bookkeeping
//! on the hot path.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use super::Claims;
use crate::error::AuthError;

/// Default number of cached tokens.
pub const DEFAULT_TOKEN_CACHE_CAPACITY: usize = 4096;

/// Verified tokens and their claims, bounded. Shared by clones of the handle.
pub struct VerifiedTokenCache {
    capacity: usize,
    map: RwLock<HashMap<Box<str>, Arc<Claims>>>,
}

impl VerifiedTokenCache {
    /// A cache of at most `capacity` tokens; 0 disables caching.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            map: RwLock::new(HashMap::new()),
        }
    }

    /// The claims of `token`: from the cache, or from `verify` (cached when it succeeds).
    ///
    /// # Errors
    ///
    /// Whatever `verify` returns; failures are never cached.
    pub fn get_or_verify(
        &self,
        token: &str,
        verify: impl FnOnce() -> Result<Claims, AuthError>,
    ) -> Result<Arc<Claims>, AuthError> {
        if self.capacity == 0 {
            return verify().map(Arc::new);
        }
        if let Some(claims) = self.map.read().ok().and_then(|m| m.get(token).cloned()) {
            return Ok(claims);
        }
        let claims = Arc::new(verify()?);
        if let Ok(mut map) = self.map.write() {
            if map.len() >= self.capacity {
                map.clear();
            }
            map.insert(token.into(), Arc::clone(&claims));
        }
        Ok(claims)
    }

    /// Number of cached tokens.
    pub fn len(&self) -> usize {
        self.map.read().map_or(0, |m| m.len())
    }

    /// Whether no token is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most tokens kept (0: disabled).
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl fmt::Debug for VerifiedTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the tokens themselves.
        f.debug_struct("VerifiedTokenCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::TokenType;
    use std::cell::Cell;

    fn claims(sub: &str) -> Claims {
        Claims::new(TokenType::Access, "iss", sub, "sid", "full", "jti").with_validity(1, 2)
    }

    #[test]
    fn hits_skip_verification_and_failures_are_not_cached() {
        let cache = VerifiedTokenCache::new(8);
        let calls = Cell::new(0);
        let verify = || {
            calls.set(calls.get() + 1);
            Ok(claims("u"))
        };
        assert_eq!(cache.get_or_verify("a.b.c", verify).unwrap().sub, "u");
        assert_eq!(cache.get_or_verify("a.b.c", verify).unwrap().sub, "u");
        assert_eq!(calls.get(), 1);
        // A different token (one byte changed) is verified on its own.
        let err = cache.get_or_verify("a.b.d", || {
            Err(AuthError::new(crate::AuthErrorKind::SignatureInvalid))
        });
        assert!(err.is_err());
        assert!(
            cache
                .get_or_verify("a.b.d", || Err(AuthError::new(
                    crate::AuthErrorKind::SignatureInvalid
                )))
                .is_err(),
            "failures are not cached"
        );
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn bounded_and_can_be_disabled() {
        let cache = VerifiedTokenCache::new(3);
        for i in 0..10 {
            cache
                .get_or_verify(&format!("t{i}"), || Ok(claims("u")))
                .unwrap();
            assert!(cache.len() <= 3);
        }
        let off = VerifiedTokenCache::new(0);
        off.get_or_verify("t", || Ok(claims("u"))).unwrap();
        assert!(off.is_empty());
        assert!(!format!("{cache:?}").contains("t1"));
    }
}
