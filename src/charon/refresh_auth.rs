//! [`RefreshAuth`]: a refresh request that passed the refresh checks, and those checks:
//! verify the refresh token → load its session → freshness (reuse revokes the session).

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, Method};

use crate::Charon;
use crate::clock::UnixTime;
use crate::config::{ReuseDetection, secs};
use crate::error::{AuthError, AuthErrorKind, StoreError};
use crate::session::{Session, SessionKey, SessionType, freshness};
use crate::token::TokenType;
use crate::verifier::{Attempt, Authenticated, ClaimCheck};

use super::SessionRead;

/// A request whose refresh token verified, whose session was loaded and is fresh: put in
/// the request by the [`RefreshLayer`](crate::layer::RefreshLayer), and the only thing
/// [`Charon::refresh_session`] accepts, so a refresh route without the refresh layer does
/// not compile.
///
/// Cheap to clone. Its [`Authenticated`] (with the session) is in the request too.
#[derive(Clone)]
pub struct RefreshAuth {
    auth: Authenticated,
    session: Arc<Session>,
    new_cycle: bool,
    /// Whether the session came from the store's cache ([`SessionRead::Cached`]): a
    /// rotation whose lock check fails then reads it again before giving up.
    from_cache: bool,
}

impl RefreshAuth {
    /// The verified identity (its [`session`](Authenticated::session) is the loaded one).
    pub fn authenticated(&self) -> &Authenticated {
        &self.auth
    }

    /// The session the refresh token belongs to, as loaded from the store.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The user id.
    pub fn user_id(&self) -> &str {
        self.session.user_id.as_str()
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        &self.session.id
    }

    /// The session type.
    pub fn session_type(&self) -> &SessionType {
        &self.session.session_type
    }

    /// The request time every check used; the refresh reuses it.
    pub fn now(&self) -> UnixTime {
        self.auth.now()
    }

    /// Whether a refresh from this request starts a new token generation.
    pub fn starts_new_generation(&self) -> bool {
        self.new_cycle
    }

    /// Whether the session was read through the store's coherent cache
    /// ([`SessionRead::Cached`]): it may be a cached copy, as old as the invalidation
    /// delay. `false` when it was read from the store for this request (the default
    /// `SessionRead::Store`, or a token the cache found stale, read again).
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }
}

impl fmt::Debug for RefreshAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshAuth")
            .field("auth", &self.auth)
            .field("new_cycle", &self.new_cycle)
            .field("from_cache", &self.from_cache)
            .finish()
    }
}

impl Charon {
    /// Run the refresh route's checks on a request, as the
    /// [`RefreshLayer`](crate::layer::RefreshLayer) does (without claim checks): the refresh
    /// token from the `Authorization` header and the refresh cookie, CSRF for the
    /// cookie-only transport, the token verified as a refresh token of this handle's own
    /// issuer, its session loaded from the store, and freshness; a stale (replayed) token
    /// revokes the session by default. Emits exactly one token event. For code outside
    /// Tower.
    ///
    /// # Errors
    ///
    /// The [`AuthError`] of the first failed step (`session not found`, `token stale`, 503
    /// when the store fails, …).
    pub async fn authenticate_refresh(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<RefreshAuth, AuthError> {
        self.authenticate_refresh_with(method, headers, &[], SessionRead::Store, self.now())
            .await
    }

    /// [`authenticate_refresh`](Self::authenticate_refresh) with the layer's claim checks
    /// and time.
    pub(crate) async fn authenticate_refresh_with(
        &self,
        method: &Method,
        headers: &HeaderMap,
        checks: &[ClaimCheck],
        read: SessionRead,
        now: UnixTime,
    ) -> Result<RefreshAuth, AuthError> {
        let verifier = self.verifier();
        let mut attempt = Attempt::default();
        let result = match verifier.check_request(
            method,
            headers,
            TokenType::Refresh,
            checks,
            now,
            &mut attempt,
        ) {
            Ok(auth) => self.load_fresh_session(auth, read, &mut attempt).await,
            Err(error) => Err(error),
        };
        verifier.emit(&attempt, result.as_ref().err());
        result
    }

    async fn load_fresh_session(
        &self,
        mut auth: Authenticated,
        read: SessionRead,
        attempt: &mut Attempt,
    ) -> Result<RefreshAuth, AuthError> {
        // Only refresh tokens of this handle's own issuer name one of its sessions.
        if auth.issuer() != self.issuer() {
            return Err(AuthError::claim_invalid("iss"));
        }
        let (Some(sid), Some(styp), Some(iat)) =
            (auth.session_id(), auth.session_type(), auth.claims().iat)
        else {
            return Err(AuthError::claim_not_found("sid"));
        };
        let session_type = SessionType::new(styp).map_err(|_| AuthError::claim_invalid("styp"))?;
        let key = SessionKey::new(sid, auth.user_id(), &session_type);
        let now = auth.now();
        let mut from_cache = read == SessionRead::Cached;
        let mut loaded = if from_cache {
            self.store().get_cached(key, now).await
        } else {
            self.read_from_store(key, now).await
        };
        if from_cache && matches!(loaded, Ok(None)) {
            // Nor refuse a missing session on the cache's word: a store's cache may keep an
            // absence until another instance's create reaches it. (The Redis cache never
            // keeps one: there this re-reads only sessions that are gone.)
            from_cache = false;
            loaded = self.read_from_store(key, now).await;
        }
        let mut session = own_session(loaded, &auth)?;
        attempt.session_loaded = true;
        let mut fresh = self.freshness_of(&session, iat, now);
        if !fresh.fresh && from_cache {
            // Never refuse (or revoke) on the cache's word: it may lag a write elsewhere.
            from_cache = false;
            session = own_session(self.read_from_store(key, now).await, &auth)?;
            fresh = self.freshness_of(&session, iat, now);
        }
        if !fresh.fresh {
            self.revoke_replayed(key, now).await;
            return Err(AuthError::new(AuthErrorKind::TokenStale));
        }
        auth.session = Some(Arc::clone(&session));
        Ok(RefreshAuth {
            auth,
            session,
            new_cycle: fresh.new_cycle,
            from_cache,
        })
    }

    /// The session of `key` read from the store itself (traced), shared.
    async fn read_from_store(
        &self,
        key: SessionKey<'_>,
        now: UnixTime,
    ) -> Result<Option<Arc<Session>>, StoreError> {
        self.store().get_shared(key, now).await
    }

    /// Whether a refresh token issued at `iat` is fresh for `session` (Charon's token
    /// generations, with this handle's times).
    pub(crate) fn freshness_of(
        &self,
        session: &Session,
        iat: UnixTime,
        now: UnixTime,
    ) -> freshness::Freshness {
        let times = self.times();
        freshness::check(
            session,
            iat,
            now,
            secs(times.new_cycle_after),
            secs(times.leeway),
        )
    }

    /// A stale refresh token was replayed: most likely stolen. By default end the session so
    /// neither the thief nor the victim can refresh it any more (RFC 9700 4.14.2). A store
    /// failure here still leaves the request refused.
    pub(crate) async fn revoke_replayed(&self, key: SessionKey<'_>, now: UnixTime) {
        if self.reuse_detection() != ReuseDetection::RevokeSession {
            return;
        }
        if let Err(_error) = self.store().delete(key, now).await {
            #[cfg(feature = "tracing")]
            tracing::warn!(
                target: "charon::token",
                error = %_error,
                "could not revoke the session of a replayed refresh token"
            );
        }
    }
}

/// The session a store read found for `auth`'s token, or why there is none. Stores key by
/// the user id's text; `sub` must also have its type (42 is not "42"), as Charon's stores
/// match it.
fn own_session(
    loaded: Result<Option<Arc<Session>>, StoreError>,
    auth: &Authenticated,
) -> Result<Arc<Session>, AuthError> {
    match loaded {
        Ok(Some(session)) if session.user_id == *auth.user_id_value() => Ok(session),
        Ok(_) => Err(AuthError::new(AuthErrorKind::SessionNotFound)),
        Err(e) => Err(AuthError::new(AuthErrorKind::StoreUnavailable).with_source(e)),
    }
}
