//! The session check of the access layer ([`Revocation`]): after the access token verifies,
//! load its session from the store, so that the access tokens of a logged-out or revoked
//! session stop at once instead of living until they expire (Charon's
//! `TokenPlugs.load_session` on an access pipeline).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::{AuthError, AuthErrorKind, ConfigError, ConfigErrorKind, StoreError};
use crate::session::{Session, SessionKey, SessionType};
use crate::store::SessionStore;
use crate::verifier::Authenticated;

/// Whether the [`AccessLayer`](super::AccessLayer) checks that an access token's session
/// still exists. Set with [`AccessLayer::revocation`](super::AccessLayer::revocation).
///
/// | mode | cost per request | a logout (delete, delete all, reuse revocation, expiry) stops the session's access tokens |
/// |---|---|---|
/// | `Off` | nothing | when they expire (the access TTL, 15 min by default) |
/// | `Strict` | one store round trip | at once: the next request is refused |
/// | `Cached` | nothing on a cache hit (Redis with a [session cache](crate::store::redis::RedisStoreBuilder::session_cache)), else one round trip | this instance: at once; another instance: once Redis's invalidation message arrives (measured on loopback: see SECURITY.md); while the invalidation channel is down or lagging, as `Strict` |
///
/// With a check, a request is let through only when the session its token names
/// (`sub`, `sid`, `styp`) is live in the store: the handler then reads it from
/// [`Authenticated::session`], and the token event says `session_loaded=true`. A missing
/// session answers 401 `session not found`; a token naming no session (a token of a
/// trusted issuer whose profile has no `sid`/`styp`) 401 `bearer token claim sid not
/// found`; a store failure 503 — never a pass-through, and in
/// [optional](super::AccessLayer::optional) mode the outcome is the 503 error, so that an
/// outage never reads as "anonymous".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Revocation {
    /// No session check (the default): the layer verifies the token only, with no store
    /// round trip.
    #[default]
    Off,
    /// Load the session from the store on every request.
    Strict,
    /// Load the session through the store's coherent local cache
    /// ([`SessionStore::get_cached`]); a store without one answers as in `Strict`.
    ///
    /// - Redis with [`RedisStoreBuilder::session_cache`]: a cached session answers with
    ///   no round trip. A logout, logout everywhere, reuse revocation, eviction or refresh
    ///   written by this instance is seen by its next request; one written by another
    ///   instance once Redis's pub/sub invalidation message arrives here (a delay, not a
    ///   window without bound: while the channel is down, lagging or reconnecting the
    ///   cache is emptied and every request is a round trip). A key removed behind the
    ///   store's back (`redis-cli DEL`, `maxmemory` eviction) is seen within the cache's
    ///   [maximum age](crate::store::redis::SessionCache::max_age). Expiry is checked on
    ///   every request against the request's time.
    /// - Redis without a session cache: as `Strict`.
    /// - The memory store: as `Strict` (its reads are local already).
    ///
    /// [`RedisStoreBuilder::session_cache`]: crate::store::redis::RedisStoreBuilder::session_cache
    Cached,
}

impl Revocation {
    /// A stable name: `off`, `strict` or `cached` (what [`FromStr`] reads).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Strict => "strict",
            Self::Cached => "cached",
        }
    }
}

impl fmt::Display for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Revocation {
    type Err = ConfigError;

    /// `off`, `strict` or `cached` (ASCII case-insensitive, surrounding blanks ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        [Self::Off, Self::Strict, Self::Cached]
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                ConfigError::new(
                    ConfigErrorKind::Invalid,
                    "revocation mode must be one of off, strict, cached",
                )
            })
    }
}

/// A pending session load (owned: it outlives the request's borrow of the layer).
pub(crate) type SessionLoad =
    Pin<Box<dyn Future<Output = Result<Option<Arc<Session>>, StoreError>> + Send>>;

/// The store side of the check: the mode (never `Off` here) and the store.
#[derive(Clone)]
pub(crate) struct SessionCheck {
    pub(crate) mode: Revocation,
    pub(crate) store: Option<Arc<dyn SessionStore>>,
    /// The default session type, lent to a check of a token of that type (most tokens)
    /// instead of a new one made per request.
    default_type: Arc<SessionType>,
}

impl SessionCheck {
    pub(crate) fn new(mode: Revocation, store: Option<Arc<dyn SessionStore>>) -> Self {
        Self {
            mode,
            store,
            default_type: Arc::new(SessionType::default()),
        }
    }

    /// In `Cached` mode, the session `auth`'s token names if the store's local cache
    /// serves it now ([`SessionStore::peek_cached`]); `None` means [`load`](Self::load) it.
    pub(crate) fn peek(&self, auth: &Authenticated) -> Option<Arc<Session>> {
        if self.mode != Revocation::Cached {
            return None;
        }
        let store = self.store.as_deref()?;
        let (Some(sid), Some(styp)) = (auth.session_id(), auth.session_type()) else {
            return None;
        };
        let made;
        let session_type = if styp == self.default_type.as_str() {
            &self.default_type
        } else {
            made = SessionType::new(styp).ok()?;
            &made
        };
        let key = SessionKey::new(sid, auth.user_id(), session_type);
        store.peek_cached(key, auth.now(), auth.claims.session_memo())
    }

    /// Start loading the session `auth`'s token names, or refuse a token that names none.
    pub(crate) fn load(&self, auth: &Authenticated) -> Result<SessionLoad, AuthError> {
        let (Some(_), Some(styp)) = (auth.session_id(), auth.session_type()) else {
            return Err(AuthError::claim_not_found("sid"));
        };
        let session_type = if styp == self.default_type.as_str() {
            Arc::clone(&self.default_type)
        } else {
            Arc::new(SessionType::new(styp).map_err(|_| AuthError::claim_invalid("styp"))?)
        };
        let Some(store) = self.store.clone() else {
            // A check was asked for without a store to ask: fail closed (503), never open.
            return Err(AuthError::new(AuthErrorKind::StoreUnavailable).with_source(
                ConfigError::new(
                    ConfigErrorKind::Missing,
                    "the access layer's session check has no store: build the layer from a \
                     Charon or give one with AccessLayer::session_store",
                ),
            ));
        };
        // The claims are shared: the future borrows the session id and user from them,
        // with nothing copied.
        let claims = Arc::clone(&auth.claims);
        let now = auth.now();
        let cached = self.mode == Revocation::Cached;
        Ok(Box::pin(async move {
            // Checked above; were it gone, no session would be found (closed, not open).
            let Some(sid) = claims.session_id() else {
                return Ok(None);
            };
            let key = SessionKey::new(sid, claims.sub.as_str(), &session_type);
            if cached {
                store.get_cached(key, now).await
            } else {
                store.get_shared(key, now).await
            }
        }))
    }
}

/// Finish the check: the session put on `auth`, or why the request is refused.
pub(crate) fn finish(
    mut auth: Authenticated,
    loaded: Result<Option<Arc<Session>>, StoreError>,
) -> Result<Authenticated, AuthError> {
    match loaded {
        // Stores key by the user id's text; `sub` must also have its type (42 is not "42"),
        // as Charon's stores match it.
        Ok(Some(session)) if session.user_id == auth.claims.sub => {
            auth.session = Some(session);
            Ok(auth)
        }
        Ok(_) => Err(AuthError::new(AuthErrorKind::SessionNotFound)),
        Err(e) => Err(AuthError::new(AuthErrorKind::StoreUnavailable).with_source(e)),
    }
}

impl fmt::Debug for SessionCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCheck")
            .field("mode", &self.mode)
            .field("store", &self.store.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        for mode in [Revocation::Off, Revocation::Strict, Revocation::Cached] {
            assert_eq!(mode.as_str().parse::<Revocation>().ok(), Some(mode));
            assert_eq!(mode.to_string(), mode.as_str());
        }
        assert_eq!(
            " Strict ".parse::<Revocation>().ok(),
            Some(Revocation::Strict)
        );
        let err = "yes".parse::<Revocation>().err();
        assert_eq!(err.map(|e| e.kind()), Some(ConfigErrorKind::Invalid));
        assert_eq!(Revocation::default(), Revocation::Off);
    }
}
