//! Token rotation: [`RefreshSession`] and [`Charon::refresh_session`].

use serde::Serialize;
use serde_json::{Map, Value};

use super::issue::to_claims;
use super::{Charon, IssuedTokens, RefreshAuth};
use crate::clock::UnixTime;
use crate::error::{SessionError, SessionErrorKind};
use crate::session::{Lifetimes, PayloadError, Session, freshness, random_id};
use crate::token::{ReservedClaimError, collect_extra};

/// Options of a refresh. What the session carries is kept unless replaced: its extra
/// payload and the extra claims of its tokens (given at login with
/// [`CreateSession::access_claim`](crate::CreateSession::access_claim) and kept in
/// [`Session::access_claims`](crate::Session::access_claims)), which the new tokens carry
/// again.
///
/// ```
/// # use charon_auth::RefreshSession;
/// // Keep everything:
/// let keep = RefreshSession::new();
/// // Change one claim, keep the others:
/// let upgraded = RefreshSession::new().access_claim("scope", "read write")?;
/// // Drop every extra claim of the access token:
/// let dropped = RefreshSession::new().replace_access_claims(&serde_json::Map::new())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RefreshSession {
    access_claims: Map<String, Value>,
    refresh_claims: Map<String, Value>,
    replace_access_claims: Option<Map<String, Value>>,
    replace_refresh_claims: Option<Map<String, Value>>,
    extra_payload: Option<Map<String, Value>>,
}

impl RefreshSession {
    /// Everything kept: the payload and the extra claims.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add or replace one extra claim of the new access token (and of the session's later
    /// ones), keeping the others; as
    /// [`CreateSession::access_claim`](crate::CreateSession::access_claim). Defaults to none.
    ///
    /// # Errors
    ///
    /// [`ReservedClaimError`] for a reserved name
    /// ([`RESERVED_CLAIMS`](crate::token::RESERVED_CLAIMS)).
    pub fn access_claim(
        mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<Self, ReservedClaimError> {
        collect_extra(&mut self.access_claims, name, value)?;
        Ok(self)
    }

    /// Add or replace one extra claim of the new refresh token, as
    /// [`access_claim`](Self::access_claim). Defaults to none.
    ///
    /// # Errors
    ///
    /// [`ReservedClaimError`] for a reserved name.
    pub fn refresh_claim(
        mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<Self, ReservedClaimError> {
        collect_extra(&mut self.refresh_claims, name, value)?;
        Ok(self)
    }

    /// Replace every extra claim of the access token with the fields of `claims` (the
    /// application's own type, or a JSON map; an empty one drops them all);
    /// [`access_claim`](Self::access_claim) adds to it.
    ///
    /// # Errors
    ///
    /// [`PayloadError`] when `claims` does not serialize to a JSON object or names a
    /// reserved claim.
    pub fn replace_access_claims<T: Serialize + ?Sized>(
        mut self,
        claims: &T,
    ) -> Result<Self, PayloadError> {
        self.replace_access_claims = Some(to_claims(claims)?);
        Ok(self)
    }

    /// Replace every extra claim of the refresh token, as
    /// [`replace_access_claims`](Self::replace_access_claims).
    ///
    /// # Errors
    ///
    /// As [`replace_access_claims`](Self::replace_access_claims).
    pub fn replace_refresh_claims<T: Serialize + ?Sized>(
        mut self,
        claims: &T,
    ) -> Result<Self, PayloadError> {
        self.replace_refresh_claims = Some(to_claims(claims)?);
        Ok(self)
    }

    /// Replace the session's extra payload.
    pub fn replace_extra_payload(mut self, payload: Map<String, Value>) -> Self {
        self.extra_payload = Some(payload);
        self
    }

    /// Replace the session's extra payload with the application's own type (a JSON
    /// object), read back with [`Session::extra_payload_as`](crate::Session::extra_payload_as).
    ///
    /// # Errors
    ///
    /// [`PayloadError`] when `payload` does not serialize, or not to an object.
    pub fn replace_extra_payload_typed<T: Serialize + ?Sized>(
        mut self,
        payload: &T,
    ) -> Result<Self, PayloadError> {
        self.extra_payload = Some(crate::session::to_object(payload)?);
        Ok(self)
    }
}

impl Charon {
    /// Refresh: rotate the tokens of the session the refresh layer loaded (`auth` is what it
    /// put in the request: a refresh route without the refresh layer does not compile).
    ///
    /// Keeps the transport of the incoming token, rotates the refresh token id, starts a
    /// new token generation when due, keeps the extra payload and the extra claims unless
    /// replaced ([`RefreshSession`]), keeps the user id with its JSON type, and writes
    /// under the optimistic lock: a concurrent refresh of the same session fails with
    /// [`SessionErrorKind::Conflict`] (409), and a session deleted meanwhile with
    /// `NotFound`: it is never brought back. When the layer took the session from the
    /// store's cache ([`SessionRead::Cached`](super::SessionRead::Cached)) and the lock
    /// check fails, the session is read from the store, the token's freshness checked
    /// against it (a stale token is reuse: refused with `Conflict`, the session revoked
    /// as [`ReuseDetection`](crate::ReuseDetection) says) and the write retried once.
    ///
    /// # Errors
    ///
    /// `Conflict`, `NotFound`, `Store`, `Signing`.
    pub async fn refresh_session(
        &self,
        auth: &RefreshAuth,
        options: RefreshSession,
    ) -> Result<IssuedTokens, SessionError> {
        let retry = auth.from_cache().then(|| options.clone());
        let first = self
            .rotate(auth, auth.session(), auth.starts_new_generation(), options)
            .await;
        match (first, retry) {
            (Err(e), Some(options)) if e.kind() == SessionErrorKind::Conflict => {
                self.rotate_after_cache_lag(auth, options).await
            }
            (result, _) => result,
        }
    }

    /// The lock check failed on a session the layer took from the store's cache
    /// ([`SessionRead::Cached`](super::SessionRead::Cached)): the cache may have lagged a
    /// write on another instance. Read the session from the store, check the token's
    /// freshness against it (stale: reuse, handled as the layer would) and rotate once
    /// more; a second conflict is a real concurrent refresh.
    async fn rotate_after_cache_lag(
        &self,
        auth: &RefreshAuth,
        options: RefreshSession,
    ) -> Result<IssuedTokens, SessionError> {
        let now = auth.now();
        let key = auth.session().key();
        let not_found = || SessionError::new(SessionErrorKind::NotFound, "session not found");
        let current = self
            .store()
            .get(key, now)
            .await?
            .filter(|s| s.user_id == *auth.authenticated().user_id_value())
            .ok_or_else(not_found)?;
        let iat = auth.authenticated().claims().iat.unwrap_or(UnixTime::MIN);
        let fresh = self.freshness_of(&current, iat, now);
        if !fresh.fresh {
            self.revoke_replayed(key, now).await;
            return Err(SessionError::new(
                SessionErrorKind::Conflict,
                "the session was refreshed elsewhere and this refresh token is stale",
            ));
        }
        self.rotate(auth, &current, fresh.new_cycle, options).await
    }

    /// Write the next state of `current` under its lock and issue its tokens.
    async fn rotate(
        &self,
        auth: &RefreshAuth,
        current: &Session,
        new_cycle: bool,
        options: RefreshSession,
    ) -> Result<IssuedTokens, SessionError> {
        let now = auth.now();
        let lifetimes = Lifetimes::for_refresh(self.times(), now, current.expires_at)
            .ok_or_else(|| SessionError::new(SessionErrorKind::NotFound, "session not found"))?;
        let mut session = current.clone();
        session.refresh_expires_at = lifetimes.refresh_expires_at;
        session.refreshed_at = now;
        session.refresh_token_id = random_id();
        if new_cycle {
            freshness::cycle(&mut session, now);
        }
        if let Some(payload) = options.extra_payload {
            session.extra_payload = payload;
        }
        if let Some(claims) = options.replace_access_claims {
            session.access_claims = claims;
        }
        session.access_claims.extend(options.access_claims);
        if let Some(claims) = options.replace_refresh_claims {
            session.refresh_claims = claims;
        }
        session.refresh_claims.extend(options.refresh_claims);
        let claims = self.claims_for(&session, &lifetimes, now)?;
        session.lock_version = self.store().update(&session, now).await?;
        self.issue(
            session,
            auth.authenticated().transport(),
            &lifetimes,
            claims,
        )
    }
}
