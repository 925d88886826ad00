//! Login: [`CreateSession`] and [`Charon::create_session`].

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::issue::{invalid, to_claims};
use super::{Charon, IssuedTokens, RequestContext};
use crate::error::{SessionError, SessionErrorKind};
use crate::session::{Lifetimes, PayloadError, Session, SessionType, UserId, random_id};
use crate::token::{ReservedClaimError, collect_extra};
use crate::transport::Transport;

/// What to create on login: `charon.create_session(CreateSession::new(user, transport), &parts)`.
#[derive(Debug, Clone)]
#[must_use]
pub struct CreateSession {
    user_id: UserId,
    transport: Transport,
    session_type: SessionType,
    access_claims: Map<String, Value>,
    refresh_claims: Map<String, Value>,
    extra_payload: Map<String, Value>,
    metadata: BTreeMap<String, String>,
}

impl CreateSession {
    /// A session for `user_id` whose tokens travel by `transport`.
    ///
    /// The user id is a string (`"alice"`, `String`) or a positive integer (`42_u64`, a
    /// `u32`): an integer id is signed as a JSON number (`"sub": 42`), as Charon does, and
    /// keeps its type across refreshes ([`UserId`]). An `i64` primary key converts with
    /// `u64::try_from(id)`.
    pub fn new(user_id: impl Into<UserId>, transport: Transport) -> Self {
        Self {
            user_id: user_id.into(),
            transport,
            session_type: SessionType::default(),
            access_claims: Map::new(),
            refresh_claims: Map::new(),
            extra_payload: Map::new(),
            metadata: BTreeMap::new(),
        }
    }

    /// The session type. Defaults to `full`.
    pub fn session_type(mut self, session_type: SessionType) -> Self {
        self.session_type = session_type;
        self
    }

    /// An extra claim in the access token (a second call with the same name replaces the
    /// value), signed again on every refresh unless the refresh replaces it
    /// ([`RefreshSession`](crate::RefreshSession)). Defaults to none.
    ///
    /// ```
    /// use charon_auth::{CreateSession, Transport};
    ///
    /// let login = CreateSession::new("user-42", Transport::Bearer)
    ///     .access_claim("scope", "read write")?
    ///     .access_claim("tenant", "acme")?;
    /// // A reserved claim is refused here, where the program sees it, not at login time.
    /// let refused = CreateSession::new("user-42", Transport::Bearer).access_claim("sub", "root");
    /// assert_eq!(refused.unwrap_err().name(), "sub");
    /// # let _ = login;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ReservedClaimError`] for a reserved name
    /// ([`RESERVED_CLAIMS`](crate::token::RESERVED_CLAIMS): `iss`, `sub`, `sid`, `styp`,
    /// `type`, `jti`, `iat`, `nbf`, `exp`, `aud`), which the session API sets itself.
    pub fn access_claim(
        mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<Self, ReservedClaimError> {
        collect_extra(&mut self.access_claims, name, value)?;
        Ok(self)
    }

    /// An extra claim in the refresh token, as [`access_claim`](Self::access_claim).
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

    /// Server-side payload stored with the session (never in a token). Empty by default.
    pub fn extra_payload(mut self, payload: Map<String, Value>) -> Self {
        self.extra_payload = payload;
        self
    }

    /// Server-side payload as the application's own type: any `Serialize` value that is a
    /// JSON object (a struct, a map), read back with
    /// [`Session::extra_payload_as`]. Replaces what [`extra_payload`](Self::extra_payload)
    /// set. Empty by default.
    ///
    /// ```
    /// # use charon_auth::{CreateSession, Transport};
    /// #[derive(serde::Serialize)]
    /// struct Cart { items: Vec<String> }
    /// let request = CreateSession::new(42_u64, Transport::Cookie)
    ///     .extra_payload_typed(&Cart { items: vec!["tea".into()] })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`PayloadError`] when `payload` does not serialize, or not to an object.
    pub fn extra_payload_typed<T: Serialize + ?Sized>(
        mut self,
        payload: &T,
    ) -> Result<Self, PayloadError> {
        self.extra_payload = crate::session::to_object(payload)?;
        Ok(self)
    }

    /// Extra claims of the access token from the application's own type: each field of
    /// `claims` (a struct or a map, serialized to a JSON object) becomes a claim, added to
    /// those of [`access_claim`](Self::access_claim) (a field replaces a claim of the same
    /// name). Kept across refreshes as `access_claim`'s are.
    ///
    /// ```
    /// # use charon_auth::{CreateSession, Transport};
    /// #[derive(serde::Serialize)]
    /// struct Grants { scope: String, tenant: u32 }
    /// let request = CreateSession::new("alice", Transport::Bearer)
    ///     .access_claims(&Grants { scope: "read admin".into(), tenant: 7 })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`PayloadError`] when `claims` does not serialize to an object, or names a reserved
    /// claim ([`PayloadErrorKind::ReservedClaim`](crate::session::PayloadErrorKind::ReservedClaim)):
    /// refused here, where the program sees it, not at login.
    pub fn access_claims<T: Serialize + ?Sized>(
        mut self,
        claims: &T,
    ) -> Result<Self, PayloadError> {
        self.access_claims.extend(to_claims(claims)?);
        Ok(self)
    }

    /// Extra claims of the refresh token from the application's own type, as
    /// [`access_claims`](Self::access_claims).
    ///
    /// # Errors
    ///
    /// As [`access_claims`](Self::access_claims).
    pub fn refresh_claims<T: Serialize + ?Sized>(
        mut self,
        claims: &T,
    ) -> Result<Self, PayloadError> {
        self.refresh_claims.extend(to_claims(claims)?);
        Ok(self)
    }
}

impl CreateSession {
    /// Attach application metadata to the session (a device name, a user agent, an IP
    /// label…), returned by [`Charon::list_sessions`] and kept across refreshes. **Not for
    /// secrets** (the user sees it; see [`Session::metadata`]). At most
    /// [`MAX_METADATA_ENTRIES`](crate::session::MAX_METADATA_ENTRIES) entries, keys of
    /// `[A-Za-z0-9_.-]`; a login over the limits fails with `InvalidInput` (400) and
    /// stores nothing. A second call with the same key replaces the value. Defaults to
    /// none.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

impl Charon {
    /// Log in: create a session for a user and issue its tokens.
    ///
    /// The user keeps at most [`max_sessions_per_user`](crate::CharonBuilder::max_sessions_per_user)
    /// live sessions of this type: a login beyond it evicts the ones that would end first,
    /// in the same store call.
    ///
    /// `context` is what the login request tells: pass the request's `&Parts` (or, with
    /// the `axum` feature, the [`RequestContext`] extractor; see [`RequestContext`] for the
    /// other sources). With browser enforcement on (the default), a Bearer session
    /// requested by a browser (`Sec-Fetch-Mode` present) is refused with
    /// [`SessionErrorKind::InsecureTransport`] (400).
    ///
    /// ```
    /// use charon_auth::{Charon, CreateSession, Transport};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let charon = Charon::builder()
    ///     .issuer("my-app")
    ///     .base_secret("at least 32 bytes of secret entropy!!")
    ///     .build()?;
    /// // The login request, after the user's credentials were checked.
    /// let (parts, _body) = http::Request::post("/login").body(())?.into_parts();
    /// let login = CreateSession::new("user-42", Transport::Bearer).metadata("device", "cli");
    /// let tokens = charon.create_session(login, &parts).await?;
    /// assert!(tokens.access_token().is_some());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an invalid user id (`0`, an empty, oversized or control-character
    /// string) or metadata over the limits,
    /// `InsecureTransport`, `Store` when the store fails, `Signing` when signing fails.
    pub async fn create_session(
        &self,
        request: CreateSession,
        context: impl Into<RequestContext>,
    ) -> Result<IssuedTokens, SessionError> {
        if request.transport == Transport::Bearer
            && self.enforces_browser_cookies()
            && context.into().is_browser()
        {
            return Err(SessionError::new(
                SessionErrorKind::InsecureTransport,
                "bearer token transport refused for a browser request; use a cookie transport",
            ));
        }
        if !request.user_id.is_valid() {
            return Err(invalid(
                "user id must be a positive integer or 1 to 1024 bytes without control \
                 characters",
            ));
        }
        crate::session::check_metadata(&request.metadata).map_err(invalid)?;
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
        session.metadata = request.metadata;
        session.access_claims = request.access_claims;
        session.refresh_claims = request.refresh_claims;
        // Build (and check) the claims before writing, so a bad override stores nothing.
        let claims = self.claims_for(&session, &lifetimes, now)?;
        // The cap is kept inside the store's create (one atomic step); the store reports
        // what it evicted and the observed store emits a delete event for each.
        session.lock_version = self
            .store()
            .create(&session, Some(self.max_sessions_per_user()), now)
            .await?
            .lock_version;
        self.issue(session, request.transport, &lifetimes, claims)
    }
}
