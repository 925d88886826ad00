//! The session API on the [`Charon`] handle: create (login), refresh, delete (logout),
//! delete all (log out everywhere), list.
//!
//! Each write goes to the store in one atomic call before any token is signed, so a token
//! never names a session that was not stored.

use http::HeaderMap;
use serde_json::{Map, Value};

use super::{IssuedTokens, Lifetimes, LoggedOut, Session, SessionType, freshness, random_id};
use crate::Charon;
use crate::clock::UnixTime;
use crate::error::{SessionError, SessionErrorKind};
use crate::token::{Claims, TokenType};
use crate::transport::Transport;
use crate::verify::Authenticated;

/// What to create on login: `Charon::create_session(CreateSession::new(user, transport), &headers)`.
#[derive(Debug, Clone)]
#[must_use]
pub struct CreateSession {
    user_id: String,
    transport: Transport,
    session_type: SessionType,
    access_claims: Map<String, Value>,
    refresh_claims: Map<String, Value>,
    extra_payload: Map<String, Value>,
}

impl CreateSession {
    /// A session for `user_id` whose tokens travel by `transport`.
    pub fn new(user_id: impl Into<String>, transport: Transport) -> Self {
        Self {
            user_id: user_id.into(),
            transport,
            session_type: SessionType::default(),
            access_claims: Map::new(),
            refresh_claims: Map::new(),
            extra_payload: Map::new(),
        }
    }

    /// The session type. Defaults to `full`.
    pub fn session_type(mut self, session_type: SessionType) -> Self {
        self.session_type = session_type;
        self
    }

    /// An extra claim in the access token. Reserved claims (`iss`, `sub`, `sid`, `styp`,
    /// `type`, `jti`, `iat`, `nbf`, `exp`) cannot be replaced: the call fails.
    pub fn access_claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.access_claims.insert(name.into(), value.into());
        self
    }

    /// An extra claim in the refresh token (same rules as [`access_claim`](Self::access_claim)).
    pub fn refresh_claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.refresh_claims.insert(name.into(), value.into());
        self
    }

    /// Server-side payload stored with the session (never in a token). Empty by default.
    pub fn extra_payload(mut self, payload: Map<String, Value>) -> Self {
        self.extra_payload = payload;
        self
    }
}

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

fn invalid(message: &'static str) -> SessionError {
    SessionError::new(SessionErrorKind::InvalidInput, message)
}

impl Charon {
    /// Log in: create a session for a user and issue its tokens.
    ///
    /// The user keeps at most [`max_sessions_per_user`](crate::CharonBuilder::max_sessions_per_user)
    /// live sessions of this type: a login beyond it evicts the ones that would end first,
    /// in the same store call.
    ///
    /// `headers` are the login request's headers: with browser enforcement on (the
    /// default), a Bearer session requested by a browser (`Sec-Fetch-Mode` present) is
    /// refused with [`SessionErrorKind::InsecureTransport`] (400).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an empty or oversized user id or a reserved claim override,
    /// `InsecureTransport`, `Store` when the store fails, `Signing` when signing fails.
    pub async fn create_session(
        &self,
        request: CreateSession,
        headers: &HeaderMap,
    ) -> Result<IssuedTokens, SessionError> {
        if request.transport == Transport::Bearer
            && self.enforces_browser_cookies()
            && headers.contains_key("sec-fetch-mode")
        {
            return Err(SessionError::new(
                SessionErrorKind::InsecureTransport,
                "bearer token transport refused for a browser request; use a cookie transport",
            ));
        }
        if !super::is_valid_user_id(&request.user_id) {
            return Err(invalid(
                "user id must be 1 to 1024 bytes without control characters",
            ));
        }
        let now = self.now();
        let lifetimes = Lifetimes::for_new_session(self.times(), now);
        let mut session = Session::new(
            random_id(),
            request.user_id,
            request.session_type,
            now,
            lifetimes.session_expires_at,
            lifetimes.refresh_expires_at,
            random_id(),
        );
        session.extra_payload = request.extra_payload;
        // Build (and check) the claims before writing, so a bad override stores nothing.
        let claims = self.claims_for(
            &session,
            &lifetimes,
            now,
            request.access_claims,
            request.refresh_claims,
        )?;
        // The cap is kept inside the store's create (one atomic step); the store reports
        // what it evicted and the observed store emits a delete event for each.
        session.lock_version = self
            .store()
            .create(&session, Some(self.max_sessions_per_user()), now)
            .await?
            .lock_version;
        self.issue(session, request.transport, &lifetimes, claims)
    }

    /// Refresh: rotate the tokens of the session loaded by the refresh layer.
    ///
    /// Keeps the transport of the incoming token, rotates the refresh token id, starts a
    /// new token generation when due, keeps the extra payload unless replaced, and writes
    /// under the optimistic lock: a concurrent refresh of the same session fails with
    /// [`SessionErrorKind::Conflict`] (409), and a session deleted meanwhile with
    /// `NotFound`: it is never brought back.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `auth` does not come from the refresh layer, `Conflict`,
    /// `NotFound`, `Store`, `Signing`.
    pub async fn refresh_session(
        &self,
        auth: &Authenticated,
        options: RefreshSession,
    ) -> Result<IssuedTokens, SessionError> {
        let current = auth.session().ok_or_else(|| {
            invalid("refresh_session needs a request verified by the refresh layer")
        })?;
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
        self.issue(session, auth.transport(), &lifetimes, claims)
    }

    /// Log out: delete the session of a verified request and clear both token cookies.
    /// The access token stays valid until it expires (keep access TTLs short).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a token whose `styp` is not a valid session type, `Store` when
    /// the store fails.
    pub async fn delete_session(&self, auth: &Authenticated) -> Result<LoggedOut, SessionError> {
        let session_type =
            SessionType::new(auth.session_type()).map_err(|_| invalid("invalid session type"))?;
        let key = super::SessionKey::new(auth.session_id(), auth.user_id(), &session_type);
        let deleted = self.store().delete(key, auth.now()).await?;
        Ok(LoggedOut {
            set_cookies: self.clearing_cookies(),
            deleted,
            clear_site_data: auth.transport() != Transport::Bearer
                && self.cookies().clear_site_data(),
        })
    }

    /// Log out everywhere: delete every session of a user and type, and clear the cookies
    /// of the current client.
    ///
    /// # Errors
    ///
    /// `Store` when the store fails.
    pub async fn delete_all_sessions(
        &self,
        user_id: &str,
        session_type: &SessionType,
    ) -> Result<LoggedOut, SessionError> {
        self.store().delete_all(user_id, session_type).await?;
        Ok(LoggedOut {
            set_cookies: self.clearing_cookies(),
            deleted: true,
            // The caller's transport is not known here; browsers (cookie clients) act on
            // the header, other clients ignore it.
            clear_site_data: self.cookies().clear_site_data(),
        })
    }

    /// The active sessions of a user and type.
    ///
    /// # Errors
    ///
    /// `Store` when the store fails.
    pub async fn list_sessions(
        &self,
        user_id: &str,
        session_type: &SessionType,
    ) -> Result<Vec<Session>, SessionError> {
        Ok(self
            .store()
            .get_all(user_id, session_type, self.now())
            .await?)
    }

    fn clearing_cookies(&self) -> Vec<http::HeaderValue> {
        let cookies = self.cookies();
        vec![
            cookies.clear_access_cookie(),
            cookies.clear_refresh_cookie(),
        ]
    }

    /// The access and refresh claims of one issuance.
    fn claims_for(
        &self,
        session: &Session,
        lifetimes: &Lifetimes,
        now: UnixTime,
        access_extra: Map<String, Value>,
        refresh_extra: Map<String, Value>,
    ) -> Result<(Claims, Claims), SessionError> {
        let make = |token_type, jti: String, exp, extra: Map<String, Value>| {
            let mut claims = Claims::new(
                token_type,
                self.issuer(),
                session.user_id.as_str(),
                session.id.as_str(),
                session.session_type.as_str(),
                jti,
            )
            .with_validity(now, exp);
            for (name, value) in extra {
                claims
                    .insert_extra(name, value)
                    .map_err(|_| invalid("extra claims may not replace a reserved claim"))?;
            }
            Ok::<_, SessionError>(claims)
        };
        Ok((
            make(
                TokenType::Access,
                random_id(),
                lifetimes.access_expires_at,
                access_extra,
            )?,
            make(
                TokenType::Refresh,
                session.refresh_token_id.clone(),
                lifetimes.refresh_expires_at,
                refresh_extra,
            )?,
        ))
    }

    fn issue(
        &self,
        session: Session,
        transport: Transport,
        lifetimes: &Lifetimes,
        (access, refresh): (Claims, Claims),
    ) -> Result<IssuedTokens, SessionError> {
        let sign = |claims: &Claims| {
            self.codec().sign(claims).map_err(|e| {
                SessionError::new(SessionErrorKind::Signing, "token signing failed").with_source(e)
            })
        };
        let access_token = sign(&access)?;
        let refresh_token = sign(&refresh)?;
        let cookies = self.cookies();
        let mut set_cookies = Vec::new();
        let (access_body, access_cookie) =
            crate::transport::split_for_transport(&access_token, transport);
        let (refresh_body, refresh_cookie) =
            crate::transport::split_for_transport(&refresh_token, transport);
        if let Some(value) = access_cookie {
            set_cookies.push(cookies.access_cookie(&value, lifetimes.access_ttl));
        }
        if let Some(value) = refresh_cookie {
            set_cookies.push(cookies.refresh_cookie(&value, lifetimes.refresh_ttl));
        }
        Ok(IssuedTokens {
            transport,
            access_token: access_body,
            refresh_token: refresh_body,
            access_token_exp: lifetimes.access_expires_at,
            refresh_token_exp: lifetimes.refresh_expires_at,
            set_cookies,
            session,
        })
    }
}
