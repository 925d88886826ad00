//! axum extractors for the verified identity and the session API (feature `axum`).
//!
//! Behind an [`AccessLayer`](crate::layer::AccessLayer) (or a
//! [`RefreshLayer`](crate::layer::RefreshLayer)):
//!
//! ```
//! use axum::extract::State;
//! use charon_auth::extract::{CurrentSession, SessionId, UserId};
//! use charon_auth::{Authenticated, Charon, LoggedOut, RefreshAuth, RefreshSession, SessionError};
//!
//! async fn me(auth: Authenticated) -> String { auth.user_id().to_owned() }
//! // With `AccessLayer::new(&charon).optional()`: `None` for an anonymous request.
//! async fn maybe(auth: Option<Authenticated>) -> &'static str {
//!     if auth.is_some() { "signed in" } else { "anonymous" }
//! }
//! async fn whoami(UserId(user): UserId, SessionId(sid): SessionId) -> String { format!("{user} {sid}") }
//! // The session API for this request's session (the handle comes from the state).
//! async fn logout(current: CurrentSession) -> Result<LoggedOut, SessionError> { current.logout().await }
//! // Behind the refresh layer.
//! async fn rotate(State(charon): State<Charon>, auth: RefreshAuth) -> Result<charon_auth::IssuedTokens, SessionError> {
//!     charon.refresh_session(&auth, RefreshSession::new()).await
//! }
//! ```
//!
//! Every extractor reads the verdict of the innermost layer the route sits behind. Without
//! a layer in front they answer 500 (a wiring mistake, not a client error). Non-axum users
//! read `req.extensions().get::<Authenticated>()` (or `RefreshAuth`).
//!
//! The login route needs no layer: it takes [`RequestContext`] (what
//! [`Charon::create_session`](crate::Charon::create_session) needs to know about the
//! request, for browser enforcement) beside the state.

use axum_core::body::Body;
use axum_core::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::request::Parts;

use crate::charon::{Charon, LoggedOut, RefreshAuth, RequestContext, SessionInfo};
use crate::error::{AuthError, SessionError, SessionErrorKind, StoreError, retry_after_secs};
use crate::layer::access::TypedClaimsExt;
use crate::layer::{AuthOutcome, JsonRejection, Rejection};
use crate::verifier::Authenticated;

/// Rejection of the extractors: the request was not authenticated, or no layer ran.
///
/// Answered as every error of the crate is, with [`status`](Self::status) and a JSON body
/// `{"error": "<message>", "kind": "<kind>"}` (for `Unauthenticated`, exactly the
/// [`AuthError`]'s answer, with its `WWW-Authenticate` challenge).
///
/// ```
/// use charon_auth::extract::AuthRejection;
/// use http::StatusCode;
///
/// let missing = AuthRejection::MissingLayer;
/// assert_eq!(missing.status(), StatusCode::INTERNAL_SERVER_ERROR);
/// assert_eq!(missing.to_string(), "authentication layer missing for this route");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthRejection {
    /// The layer (in optional mode) recorded why authentication failed.
    #[error(transparent)]
    Unauthenticated(AuthError),
    /// No verification layer ran for this route, or not the one the extractor needs (a
    /// [`RefreshAuth`] behind the access layer, [`TypedClaims`] of a type the layer was not
    /// given): a programming error, 500.
    #[error("authentication layer missing for this route")]
    MissingLayer,
}

impl AuthRejection {
    /// The HTTP status of the answer: the [`AuthError`]'s for `Unauthenticated` (401, 403,
    /// 400 or 503), 500 for `MissingLayer`.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated(e) => e.status(),
            Self::MissingLayer => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `kind` of the JSON body: the [`AuthError`]'s kind, or `missing_layer`.
    pub fn kind_str(&self) -> &'static str {
        match self {
            Self::Unauthenticated(e) => e.kind().as_str(),
            Self::MissingLayer => "missing_layer",
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Unauthenticated(e) => e.into_response(),
            AuthRejection::MissingLayer => {
                let body = serde_json::json!({
                    "error": self.to_string(),
                    "kind": self.kind_str(),
                })
                .to_string();
                let mut r = Response::new(Body::from(body));
                *r.status_mut() = self.status();
                r.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                r
            }
        }
    }
}

impl IntoResponse for AuthError {
    /// The [`JsonRejection`] response for this error.
    fn into_response(self) -> Response {
        let mut response: Response = JsonRejection.reject(&self);
        response.extensions_mut().insert(self);
        response
    }
}

impl IntoResponse for SessionError {
    /// The error's status with a JSON body `{"error": "<message>", "kind": "<kind>"}`
    /// ([`SessionErrorKind::as_str`]).
    ///
    /// A store failure (503) also carries `Retry-After` in whole seconds: the
    /// [`StoreError`]'s [`retry_after`](StoreError::retry_after) hint rounded up, at least
    /// 1, and 1 when the store gave none. The response extensions hold the
    /// [`SessionErrorKind`] and, when a store error caused it, its
    /// [`StoreErrorKind`](crate::error::StoreErrorKind), for middleware and tests
    /// (`Unavailable`: the store failed fast, without waiting for Redis).
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.to_string(),
            "kind": self.kind().as_str(),
        })
        .to_string();
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if self.kind() == SessionErrorKind::Store {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs(&self)));
        }
        response.extensions_mut().insert(self.kind());
        let store_kind = std::error::Error::source(&self)
            .and_then(|e| e.downcast_ref::<StoreError>())
            .map(StoreError::kind);
        if let Some(kind) = store_kind {
            response.extensions_mut().insert(kind);
        }
        response
    }
}

/// The verdict of the innermost layer: its outcome when it ran in optional mode, else its
/// identity. Each layer replaces what an outer one left, so a failed inner layer never
/// leaves an outer layer's identity behind.
fn lookup(parts: &Parts) -> Result<Authenticated, AuthRejection> {
    match parts.extensions.get::<AuthOutcome>() {
        Some(Err(e)) => Err(AuthRejection::Unauthenticated(e.clone())),
        Some(Ok(auth)) => Ok(auth.clone()),
        None => parts
            .extensions
            .get::<Authenticated>()
            .cloned()
            .ok_or(AuthRejection::MissingLayer),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        lookup(parts)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Authenticated {
    type Rejection = AuthRejection;

    /// `None` when the (optional-mode) layer found no valid token (a 401 error). A failure
    /// that is not about the token (store down 503, CSRF 403, malformed request 400) is
    /// still answered, never passed through as anonymous; without a layer: 500.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        anonymous_if_unauthorized(lookup(parts))
    }
}

/// `Ok(None)` for a 401 (no or bad token); other failures stay errors.
fn anonymous_if_unauthorized(
    found: Result<Authenticated, AuthRejection>,
) -> Result<Option<Authenticated>, AuthRejection> {
    match found {
        Ok(auth) => Ok(Some(auth)),
        Err(AuthRejection::Unauthenticated(e)) if e.status() == StatusCode::UNAUTHORIZED => {
            Ok(None)
        }
        Err(other) => Err(other),
    }
}

macro_rules! newtype_extractor {
    ($(#[$doc:meta])* $name:ident, $ty:ty, |$auth:ident| $get:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name(pub $ty);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = AuthRejection;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
                let $auth = lookup(parts)?;
                Ok($name($get))
            }
        }

        impl<S: Send + Sync> OptionalFromRequestParts<S> for $name {
            type Rejection = AuthRejection;

            async fn from_request_parts(
                parts: &mut Parts,
                _: &S,
            ) -> Result<Option<Self>, Self::Rejection> {
                Ok(anonymous_if_unauthorized(lookup(parts))?.map(|$auth| $name($get)))
            }
        }
    };
}

newtype_extractor!(
    /// The verified user id (claim `sub`).
    UserId, String, |auth| auth.user_id().to_owned()
);
/// The verified session id (claim `sid`). Refuses (401, `bearer token claim sid not
/// found`) a token naming no session: one of another issuer.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionId(pub String);

/// The verified session type (claim `styp`). Refuses a token naming no session, as
/// [`SessionId`].
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentSessionType(pub String);

fn session_claim(
    auth: &Authenticated,
    name: &'static str,
    value: Option<&str>,
) -> Result<String, AuthRejection> {
    let _ = auth;
    value
        .map(str::to_owned)
        .ok_or_else(|| AuthRejection::Unauthenticated(AuthError::claim_not_found(name)))
}

impl<S: Send + Sync> FromRequestParts<S> for SessionId {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let auth = lookup(parts)?;
        session_claim(&auth, "sid", auth.session_id()).map(SessionId)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentSessionType {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let auth = lookup(parts)?;
        session_claim(&auth, "styp", auth.session_type()).map(CurrentSessionType)
    }
}

newtype_extractor!(
    /// How the token arrived.
    TokenTransport, crate::Transport, |auth| auth.transport()
);

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = std::convert::Infallible;

    /// What a login needs to know about its request, for
    /// [`Charon::create_session`](crate::Charon::create_session); never fails, and needs no
    /// layer.
    ///
    /// ```
    /// use axum::extract::State;
    /// use charon_auth::{Charon, CreateSession, IssuedTokens, RequestContext, SessionError, Transport};
    ///
    /// async fn login(
    ///     State(charon): State<Charon>,
    ///     ctx: RequestContext,
    /// ) -> Result<IssuedTokens, SessionError> {
    ///     // Check the user's credentials here.
    ///     charon.create_session(CreateSession::new("alice", Transport::Cookie), ctx).await
    /// }
    /// let app: axum::Router<Charon> = axum::Router::new().route("/login", axum::routing::post(login));
    /// ```
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestContext::from(&*parts))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RefreshAuth {
    type Rejection = AuthRejection;

    /// What the [`RefreshLayer`](crate::layer::RefreshLayer) put in the request: 500 on a
    /// route without it.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(Err(e)) = parts.extensions.get::<AuthOutcome>() {
            return Err(AuthRejection::Unauthenticated(e.clone()));
        }
        parts
            .extensions
            .get::<RefreshAuth>()
            .cloned()
            .ok_or(AuthRejection::MissingLayer)
    }
}

/// The claims as the application's own type `T`, checked by a layer configured with
/// [`AccessLayer::typed_claims::<T>()`](crate::layer::AccessLayer::typed_claims): a
/// token whose claims do not fit never reaches the handler. 500 on a route whose layer was
/// not given `T`.
#[derive(Debug)]
pub struct TypedClaims<T>(pub std::sync::Arc<T>);

impl<T> Clone for TypedClaims<T> {
    fn clone(&self) -> Self {
        Self(std::sync::Arc::clone(&self.0))
    }
}

impl<S: Send + Sync, T: Send + Sync + 'static> FromRequestParts<S> for TypedClaims<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Only the innermost layer's verdict counts: the typed claims must be of its token.
        let auth = lookup(parts)?;
        parts
            .extensions
            .get::<TypedClaimsExt<T>>()
            .filter(|typed| std::sync::Arc::ptr_eq(&typed.source, &auth.claims))
            .map(|typed| TypedClaims(std::sync::Arc::clone(&typed.value)))
            .ok_or(AuthRejection::MissingLayer)
    }
}

/// The session API for the current request's session: the verified identity and the
/// [`Charon`] handle from the router state, so that a handler calls the session-scoped
/// operations without `State<Charon>` and without rebuilding a session type from the
/// token.
///
/// Extracted behind an [`AccessLayer`](crate::layer::AccessLayer) (or a
/// [`RefreshLayer`](crate::layer::RefreshLayer)) from a state `S` the handle comes from
/// (`Charon: FromRef<S>`; a `Charon` state itself qualifies). Refuses what [`SessionId`]
/// refuses (a token naming no session: 401) and answers 500 without a layer;
/// `Option<CurrentSession>` is `None` for an anonymous request of an optional-mode layer.
///
/// ```
/// use axum::Router;
/// use axum::extract::Path;
/// use axum::routing::{delete, get, post};
/// use charon_auth::extract::CurrentSession;
/// use charon_auth::{AccessLayer, Charon, LoggedOut, SessionError, SessionInfo};
///
/// async fn sessions(current: CurrentSession) -> Result<axum::Json<Vec<SessionInfo>>, SessionError> {
///     Ok(axum::Json(current.list().await?))
/// }
/// async fn logout(current: CurrentSession) -> Result<LoggedOut, SessionError> {
///     current.logout().await
/// }
/// async fn logout_all(current: CurrentSession) -> Result<LoggedOut, SessionError> {
///     current.logout_everywhere().await
/// }
/// async fn sign_out_device(current: CurrentSession, Path(id): Path<String>) -> String {
///     match current.revoke(&id).await {
///         Ok(true) => "signed out".into(),
///         Ok(false) => "no such session".into(),
///         Err(e) => e.to_string(),
///     }
/// }
///
/// # fn app(charon: Charon) -> Router {
/// Router::new()
///     .route("/sessions", get(sessions))
///     .route("/sessions/{id}", delete(sign_out_device))
///     .route("/logout", post(logout))
///     .route("/logout-all", post(logout_all))
///     .route_layer(AccessLayer::new(&charon))
///     .with_state(charon)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CurrentSession {
    charon: Charon,
    auth: Authenticated,
}

impl CurrentSession {
    /// The verified identity of the request.
    pub fn auth(&self) -> &Authenticated {
        &self.auth
    }

    /// The session authority.
    pub fn charon(&self) -> &Charon {
        &self.charon
    }

    /// The user's active sessions of this session type
    /// ([`Charon::list_sessions_of`]); [`SessionInfo::is_current`] marks this one.
    ///
    /// # Errors
    ///
    /// `Store` when the store fails.
    pub async fn list(&self) -> Result<Vec<SessionInfo>, SessionError> {
        self.charon.list_sessions_of(&self.auth).await
    }

    /// Log out: delete this session and clear the token cookies
    /// ([`Charon::delete_session`]).
    ///
    /// # Errors
    ///
    /// `Store` when the store fails.
    pub async fn logout(&self) -> Result<LoggedOut, SessionError> {
        self.charon.delete_session(&self.auth).await
    }

    /// Log out everywhere: every session of this user and session type
    /// ([`Charon::delete_all_sessions_of`]).
    ///
    /// # Errors
    ///
    /// `Store` when the store fails.
    pub async fn logout_everywhere(&self) -> Result<LoggedOut, SessionError> {
        self.charon.delete_all_sessions_of(&self.auth).await
    }

    /// "Sign out that device": end the user's session `session_id` of this session type;
    /// `false` for an unknown id or someone else's session
    /// ([`Charon::revoke_session_of`]).
    ///
    /// # Errors
    ///
    /// `Store` when the store fails.
    pub async fn revoke(&self, session_id: &str) -> Result<bool, SessionError> {
        self.charon.revoke_session_of(&self.auth, session_id).await
    }
}

/// The request's identity, refused as [`SessionId`] and [`CurrentSessionType`] refuse
/// when it names no session.
fn session_identity(parts: &Parts) -> Result<Authenticated, AuthRejection> {
    let auth = lookup(parts)?;
    session_claim(&auth, "sid", auth.session_id())?;
    session_claim(&auth, "styp", auth.session_type())?;
    Ok(auth)
}

impl<S> FromRequestParts<S> for CurrentSession
where
    S: Send + Sync,
    Charon: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = session_identity(parts)?;
        Ok(Self {
            charon: Charon::from_ref(state),
            auth,
        })
    }
}

impl<S> OptionalFromRequestParts<S> for CurrentSession
where
    S: Send + Sync,
    Charon: FromRef<S>,
{
    type Rejection = AuthRejection;

    /// `None` for an anonymous request (an optional-mode layer found no valid token, or
    /// the token names no session); other failures are answered, as for
    /// `Option<Authenticated>`.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            anonymous_if_unauthorized(session_identity(parts))?.map(|auth| Self {
                charon: Charon::from_ref(state),
                auth,
            }),
        )
    }
}
