//! [`AuthLayer`]: the Tower layer, configured from the [`Charon`] handle.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use tower_layer::Layer;

use super::{Auth, ClaimCheck, JsonRejection};
use crate::Charon;
use crate::error::AuthError;
use crate::token::{Claims, TokenType};

/// Verifies the token of every request before it reaches the inner service.
///
/// - [`AuthLayer::access`]: access tokens; no store round trip.
/// - [`AuthLayer::refresh`]: refresh tokens; also loads the session, checks freshness and,
///   by default, revokes the session when a stale token is replayed.
///
/// On success the request carries an [`Authenticated`](super::Authenticated) extension;
/// otherwise the [`Rejection`](super::Rejection) answers (401, 400, 403 or 503). Every request emits
/// `charon.token.valid` or `charon.token.invalid`.
///
/// `B` is the response body type of the wrapped service, used by the rejection; it is
/// inferred.
#[must_use]
pub struct AuthLayer<R = JsonRejection> {
    pub(crate) charon: Charon,
    pub(crate) kind: TokenType,
    pub(crate) checks: Arc<[ClaimCheck]>,
    pub(crate) optional: bool,
    pub(crate) rejection: Arc<R>,
}

impl AuthLayer {
    /// A layer verifying access tokens.
    pub fn access(charon: &Charon) -> Self {
        Self::new(charon, TokenType::Access)
    }

    /// A layer verifying refresh tokens and loading their sessions.
    pub fn refresh(charon: &Charon) -> Self {
        Self::new(charon, TokenType::Refresh)
    }

    fn new(charon: &Charon, kind: TokenType) -> Self {
        Self {
            charon: charon.clone(),
            kind,
            checks: Arc::from(Vec::new()),
            optional: false,
            rejection: Arc::new(JsonRejection),
        }
    }
}

impl<R> AuthLayer<R> {
    fn push(mut self, check: ClaimCheck) -> Self {
        let mut checks = self.checks.to_vec();
        checks.push(check);
        self.checks = checks.into();
        self
    }

    /// Require `claim == value`.
    pub fn claim_equals(self, claim: impl Into<String>, value: impl Into<Value>) -> Self {
        self.push(ClaimCheck::Equals(claim.into(), value.into()))
    }

    /// Require the claim to equal one of `values`.
    pub fn claim_one_of<V: Into<Value>>(
        self,
        claim: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let values = values.into_iter().map(Into::into).collect();
        self.push(ClaimCheck::OneOf(claim.into(), values))
    }

    /// Require the claim (an array, or a space-separated string such as `scope`) to
    /// contain all of `values`.
    pub fn claim_contains_all<V: Into<Value>>(
        self,
        claim: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let values = values.into_iter().map(Into::into).collect();
        self.push(ClaimCheck::ContainsAll(claim.into(), values))
    }

    /// Require the claim (an array, or a space-separated string) to contain at least one
    /// of `values`.
    pub fn claim_contains_any<V: Into<Value>>(
        self,
        claim: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let values = values.into_iter().map(Into::into).collect();
        self.push(ClaimCheck::ContainsAny(claim.into(), values))
    }

    /// Require a custom check over the verified claims.
    pub fn check(
        self,
        check: impl Fn(&Claims) -> Result<(), AuthError> + Send + Sync + 'static,
    ) -> Self {
        self.push(ClaimCheck::Custom(Arc::new(check)))
    }

    /// Never reject: put an [`AuthOutcome`](super::AuthOutcome) in the extensions and let
    /// the inner service decide. Off by default.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Answer rejections with `rejection` instead of [`JsonRejection`].
    pub fn rejection<R2>(self, rejection: R2) -> AuthLayer<R2> {
        AuthLayer {
            charon: self.charon,
            kind: self.kind,
            checks: self.checks,
            optional: self.optional,
            rejection: Arc::new(rejection),
        }
    }
}

impl<R> Clone for AuthLayer<R> {
    fn clone(&self) -> Self {
        Self {
            charon: self.charon.clone(),
            kind: self.kind,
            checks: Arc::clone(&self.checks),
            optional: self.optional,
            rejection: Arc::clone(&self.rejection),
        }
    }
}

impl<R> fmt::Debug for AuthLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("kind", &self.kind)
            .field("checks", &self.checks)
            .field("optional", &self.optional)
            .finish_non_exhaustive()
    }
}

impl<S, R> Layer<S> for AuthLayer<R> {
    type Service = Auth<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            layer: self.clone(),
        }
    }
}
