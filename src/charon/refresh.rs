//! Token rotation: [`RefreshSession`] and [`Charon::refresh_session`].

use serde_json::{Map, Value};

use super::{Charon, IssuedTokens, RefreshAuth};
use crate::error::{SessionError, SessionErrorKind};
use crate::session::{Lifetimes, freshness, random_id};
use crate::token::{ReservedClaimError, check_extra_name};

/// Options of a refresh. Extra claims must be given again on every refresh (they live in
/// tokens, not in the session); the extra payload is kept unless replaced.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RefreshSession {
    access_claims: Map<String, Value>,
    refresh_claims: Map<String, Value>,
    extra_payload: Option<Map<String, Value>>,
}

impl RefreshSession {
    /// No extra claims, payload kept.
    pub fn new() -> Self {
        Self::default()
    }

    /// An extra claim in the new access token, as
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
        let name = name.into();
        check_extra_name(&name)?;
        self.access_claims.insert(name, value.into());
        Ok(self)
    }

    /// An extra claim in the new refresh token, as
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
        let name = name.into();
        check_extra_name(&name)?;
        self.refresh_claims.insert(name, value.into());
        Ok(self)
    }

    /// Replace the session's extra payload.
    pub fn replace_extra_payload(mut self, payload: Map<String, Value>) -> Self {
        self.extra_payload = Some(payload);
        self
    }
}

impl Charon {
    /// Refresh: rotate the tokens of the session the refresh layer loaded (`auth` is what it
    /// put in the request: a refresh route without the refresh layer does not compile).
    ///
    /// Keeps the transport of the incoming token, rotates the refresh token id, starts a
    /// new token generation when due, keeps the extra payload unless replaced, and writes
    /// under the optimistic lock: a concurrent refresh of the same session fails with
    /// [`SessionErrorKind::Conflict`] (409), and a session deleted meanwhile with
    /// `NotFound`: it is never brought back.
    ///
    /// # Errors
    ///
    /// `Conflict`, `NotFound`, `Store`, `Signing`.
    pub async fn refresh_session(
        &self,
        auth: &RefreshAuth,
        options: RefreshSession,
    ) -> Result<IssuedTokens, SessionError> {
        let current = auth.session();
        let now = auth.now();
        let lifetimes = Lifetimes::for_refresh(self.times(), now, current.expires_at)
            .ok_or_else(|| SessionError::new(SessionErrorKind::NotFound, "session not found"))?;
        let mut session = current.clone();
        session.refresh_expires_at = lifetimes.refresh_expires_at;
        session.refreshed_at = now;
        session.refresh_token_id = random_id();
        if auth.starts_new_generation() {
            freshness::cycle(&mut session, now);
        }
        if let Some(payload) = options.extra_payload {
            session.extra_payload = payload;
        }
        let claims = self.claims_for(
            &session,
            &lifetimes,
            now,
            options.access_claims,
            options.refresh_claims,
        )?;
        session.lock_version = self.store().update(&session, now).await?;
        self.issue(
            session,
            auth.authenticated().transport(),
            &lifetimes,
            claims,
        )
    }
}
