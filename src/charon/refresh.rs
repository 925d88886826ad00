//! Token rotation: [`RefreshSession`] and [`Charon::refresh_session`].

use serde_json::{Map, Value};

use super::{Charon, IssuedTokens, RefreshAuth};
use crate::error::{SessionError, SessionErrorKind};
use crate::session::{Lifetimes, freshness, random_id};

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

    /// An extra claim in the new access token.
    pub fn access_claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.access_claims.insert(name.into(), value.into());
        self
    }

    /// An extra claim in the new refresh token.
    pub fn refresh_claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.refresh_claims.insert(name.into(), value.into());
        self
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
    /// `Conflict`, `NotFound`, `Store`, `Signing`; `InvalidInput` for a reserved claim
    /// override.
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
