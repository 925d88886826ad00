//! [`RefreshLayer`]: the Tower layer for the refresh route.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use tower_layer::Layer;

use super::Refresh;
use crate::Charon;
use crate::charon::SessionRead;
use crate::error::AuthError;
use crate::layer::{ClaimChecks, JsonRejection};
use crate::token::Claims;
use crate::verifier::ClaimCheck;

/// Verifies the refresh token of every request, loads its session and checks freshness
/// before the request reaches the inner service; by default a stale (replayed) refresh
/// token also revokes its session.
///
/// On success the request carries a [`RefreshAuth`](crate::RefreshAuth) (what
/// [`Charon::refresh_session`] takes) and its [`Authenticated`](crate::Authenticated);
/// otherwise the [`Rejection`](crate::layer::Rejection) answers (401, 400, 403 or 503, never a
/// pass-through when the store is down). Every request emits `charon.token.valid` or
/// `charon.token.invalid` with `session_loaded`.
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::Router;
/// use axum::extract::State;
/// use axum::routing::post;
/// use charon_auth::{Charon, IssuedTokens, RefreshAuth, RefreshLayer, RefreshSession, SessionError};
///
/// // Only this layer provides `RefreshAuth` (on a route without it the extractor answers 500).
/// async fn refresh(
///     State(charon): State<Charon>,
///     auth: RefreshAuth,
/// ) -> Result<IssuedTokens, SessionError> {
///     charon.refresh_session(&auth, RefreshSession::new()).await
/// }
///
/// # fn app(charon: Charon) -> Router {
/// Router::new()
///     .route("/refresh", post(refresh))
///     .route_layer(RefreshLayer::new(&charon))
///     .with_state(charon)
/// # }
/// # }
/// ```
#[must_use]
pub struct RefreshLayer<R = JsonRejection> {
    pub(crate) charon: Charon,
    pub(crate) checks: ClaimChecks,
    pub(crate) optional: bool,
    pub(crate) read: SessionRead,
    pub(crate) rejection: Arc<R>,
}

impl RefreshLayer {
    /// A refresh layer for the session authority `charon`.
    pub fn new(charon: &Charon) -> Self {
        Self {
            charon: charon.clone(),
            checks: ClaimChecks::default(),
            optional: false,
            read: SessionRead::Store,
            rejection: Arc::new(JsonRejection),
        }
    }
}

impl<R> RefreshLayer<R> {
    /// Require `claim == value` of the refresh token.
    pub fn claim_equals(mut self, claim: impl Into<String>, value: impl Into<Value>) -> Self {
        self.checks = self.checks.equals(claim, value);
        self
    }

    /// Require a custom check over the refresh token's verified claims.
    pub fn check(
        mut self,
        check: impl Fn(&Claims) -> Result<(), AuthError> + Send + Sync + 'static,
    ) -> Self {
        self.checks = self.checks.custom(check);
        self
    }

    /// Never reject: put an [`AuthOutcome`](crate::layer::AuthOutcome) in the extensions and let
    /// the inner service decide. Off by default.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// How the session is read: [`SessionRead::Store`] (the default, a round trip per
    /// request) or [`SessionRead::Cached`] (through the store's coherent local cache; see
    /// [`SessionRead`] for what that gives up: a token made stale on another instance may
    /// pass for the invalidation delay, on a route that only reads the session).
    ///
    /// ```
    /// use charon_auth::layer::{RefreshLayer, SessionRead};
    /// # fn demo(charon: &charon_auth::Charon) {
    /// let layer = RefreshLayer::new(charon).session_read(SessionRead::Cached);
    /// assert_eq!(layer.get_session_read(), SessionRead::Cached);
    /// # }
    /// ```
    pub fn session_read(mut self, read: SessionRead) -> Self {
        self.read = read;
        self
    }

    /// How the session is read (see [`session_read`](Self::session_read)).
    pub fn get_session_read(&self) -> SessionRead {
        self.read
    }

    /// Answer rejections with `rejection` instead of [`JsonRejection`].
    pub fn rejection<R2>(self, rejection: R2) -> RefreshLayer<R2> {
        RefreshLayer {
            charon: self.charon,
            checks: self.checks,
            optional: self.optional,
            read: self.read,
            rejection: Arc::new(rejection),
        }
    }

    /// The claim checks, in order.
    pub fn checks(&self) -> &[ClaimCheck] {
        self.checks.as_slice()
    }
}

impl<R> Clone for RefreshLayer<R> {
    fn clone(&self) -> Self {
        Self {
            charon: self.charon.clone(),
            checks: self.checks.clone(),
            optional: self.optional,
            read: self.read,
            rejection: Arc::clone(&self.rejection),
        }
    }
}

impl<R> fmt::Debug for RefreshLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshLayer")
            .field("checks", &self.checks)
            .field("optional", &self.optional)
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

impl<S, R> Layer<S> for RefreshLayer<R> {
    type Service = Refresh<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Refresh {
            inner,
            layer: Arc::new(self.clone()),
        }
    }
}
