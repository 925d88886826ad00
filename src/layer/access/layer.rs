//! [`AccessLayer`]: the Tower layer for routes that take an access token.

use std::fmt;
use std::sync::Arc;

use http::Extensions;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_layer::Layer;

use super::Access;
use crate::error::AuthError;
use crate::layer::{ClaimChecks, JsonRejection};
use crate::token::Claims;
use crate::verifier::{ClaimCheck, Verifier, deserialize_claims};

/// Puts the layer's typed claims in the request (see [`AccessLayer::typed_claims`]).
pub(crate) type ClaimsExtractor =
    dyn Fn(&Arc<Claims>, &mut Extensions) -> Result<(), AuthError> + Send + Sync;

/// Verifies the access token of every request before it reaches the inner service.
///
/// Built from a [`Verifier`] (a resource service holding public keys only) or from the
/// session authority ([`AccessLayer::new(&charon)`](crate::Charon)); no store round trip.
/// On success the request carries an [`Authenticated`](crate::Authenticated) extension;
/// otherwise the [`Rejection`](crate::layer::Rejection) answers (401, 400, 403 or 503). Every request
/// emits `charon.token.valid` or `charon.token.invalid`.
///
/// ```
/// use charon_auth::layer::AccessLayer;
/// # fn demo(charon: &charon_auth::Charon) {
/// let admin_only = AccessLayer::new(charon).claim_contains_all("scope", ["admin"]);
/// # let _ = admin_only;
/// # }
/// ```
#[must_use]
pub struct AccessLayer<R = JsonRejection> {
    pub(crate) verifier: Verifier,
    pub(crate) checks: ClaimChecks,
    pub(crate) optional: bool,
    pub(crate) typed: Option<Arc<ClaimsExtractor>>,
    pub(crate) rejection: Arc<R>,
}

impl AccessLayer {
    /// An access layer verifying with `verifier` (a [`Verifier`], or `&Charon`).
    pub fn new(verifier: impl Into<Verifier>) -> Self {
        Self {
            verifier: verifier.into(),
            checks: ClaimChecks::default(),
            optional: false,
            typed: None,
            rejection: Arc::new(JsonRejection),
        }
    }
}

impl<R> AccessLayer<R> {
    /// Require `claim == value` (403 otherwise).
    pub fn claim_equals(mut self, claim: impl Into<String>, value: impl Into<Value>) -> Self {
        self.checks = self.checks.equals(claim, value);
        self
    }

    /// Require the claim to equal one of `values`.
    pub fn claim_one_of<V: Into<Value>>(
        mut self,
        claim: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.checks = self.checks.one_of(claim, values);
        self
    }

    /// Require the claim (an array, or a space-separated string such as `scope`) to
    /// contain all of `values`.
    pub fn claim_contains_all<V: Into<Value>>(
        mut self,
        claim: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.checks = self.checks.contains_all(claim, values);
        self
    }

    /// Require the claim (an array, or a space-separated string) to contain at least one
    /// of `values`.
    pub fn claim_contains_any<V: Into<Value>>(
        mut self,
        claim: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.checks = self.checks.contains_any(claim, values);
        self
    }

    /// Require a custom check over the verified claims.
    pub fn check(
        mut self,
        check: impl Fn(&Claims) -> Result<(), AuthError> + Send + Sync + 'static,
    ) -> Self {
        self.checks = self.checks.custom(check);
        self
    }

    /// Require the claims to fit the application's type `T` (every claim, reserved and
    /// extra, deserialized into it) and put it in the request as
    /// [`TypedClaims<T>`](crate::extract::TypedClaims): a token whose claims do not fit is
    /// refused as `bearer token claim claims invalid` (401) before the handler runs.
    pub fn typed_claims<T>(mut self) -> Self
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        self.typed = Some(Arc::new(
            |claims: &Arc<Claims>, extensions: &mut Extensions| {
                let typed: T = deserialize_claims(claims)?;
                extensions.insert(TypedClaimsExt {
                    value: Arc::new(typed),
                    source: Arc::clone(claims),
                });
                Ok(())
            },
        ));
        self
    }

    /// Never reject: put an [`AuthOutcome`](crate::layer::AuthOutcome) in the extensions and let
    /// the inner service decide. Off by default.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Answer rejections with `rejection` instead of [`JsonRejection`] (for instance
    /// [`GrpcRejection`](crate::layer::GrpcRejection), or a closure).
    pub fn rejection<R2>(self, rejection: R2) -> AccessLayer<R2> {
        AccessLayer {
            verifier: self.verifier,
            checks: self.checks,
            optional: self.optional,
            typed: self.typed,
            rejection: Arc::new(rejection),
        }
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The claim checks, in order.
    pub fn checks(&self) -> &[ClaimCheck] {
        self.checks.as_slice()
    }
}

/// The typed claims a layer put in the request, and the claims they were read from (an
/// outer layer's typed claims are ignored when an inner layer's verdict is another token's).
#[derive(Debug)]
pub(crate) struct TypedClaimsExt<T> {
    pub(crate) value: Arc<T>,
    pub(crate) source: Arc<Claims>,
}

impl<T> Clone for TypedClaimsExt<T> {
    fn clone(&self) -> Self {
        Self {
            value: Arc::clone(&self.value),
            source: Arc::clone(&self.source),
        }
    }
}

impl<R> Clone for AccessLayer<R> {
    fn clone(&self) -> Self {
        Self {
            verifier: self.verifier.clone(),
            checks: self.checks.clone(),
            optional: self.optional,
            typed: self.typed.clone(),
            rejection: Arc::clone(&self.rejection),
        }
    }
}

impl<R> fmt::Debug for AccessLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessLayer")
            .field("verifier", &self.verifier)
            .field("checks", &self.checks)
            .field("optional", &self.optional)
            .field("typed_claims", &self.typed.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, R> Layer<S> for AccessLayer<R> {
    type Service = Access<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Access {
            inner,
            layer: self.clone(),
        }
    }
}
