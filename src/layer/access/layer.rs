//! [`AccessLayer`]: the Tower layer for routes that take an access token.

use std::fmt;
use std::sync::Arc;

use http::Extensions;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_layer::Layer;

use super::Access;
use super::revocation::{Revocation, SessionCheck};
use crate::Charon;
use crate::error::AuthError;
use crate::layer::{ClaimChecks, JsonRejection};
use crate::store::SessionStore;
use crate::token::Claims;
use crate::verifier::{ClaimCheck, Verifier, deserialize_claims};

/// Puts the layer's typed claims in the request (see [`AccessLayer::typed_claims`]).
pub(crate) type ClaimsExtractor =
    dyn Fn(&Arc<Claims>, &mut Extensions) -> Result<(), AuthError> + Send + Sync;

/// Verifies the access token of every request before it reaches the inner service.
///
/// Built from a [`Verifier`] (a resource service holding public keys only) or from the
/// session authority ([`AccessLayer::new(&charon)`](crate::Charon)). By default no store
/// round trip: the token alone decides, so a logged-out session's access tokens work until
/// they expire. With a [session check](Self::revocation) the layer also loads the token's
/// session (from the Charon's store, or the one [given](Self::session_store)) and refuses
/// tokens of sessions that ended. On success the request carries an [`Authenticated`](crate::Authenticated) extension;
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
///
/// Logged-out sessions' access tokens refused at once (one store round trip per request):
///
/// ```
/// use charon_auth::layer::{AccessLayer, Revocation};
/// # fn demo(charon: &charon_auth::Charon) {
/// let revocable = AccessLayer::new(charon).revocation(Revocation::Strict);
/// # let _ = revocable;
/// # }
/// ```
#[must_use]
pub struct AccessLayer<R = JsonRejection> {
    pub(crate) verifier: Verifier,
    pub(crate) checks: ClaimChecks,
    pub(crate) optional: bool,
    pub(crate) typed: Option<Arc<ClaimsExtractor>>,
    pub(crate) rejection: Arc<R>,
    /// The store a session check asks (the Charon's, or one given).
    pub(crate) store: Option<Arc<dyn SessionStore>>,
    /// `Some` when a session check is on.
    pub(crate) session_check: Option<SessionCheck>,
}

/// What an [`AccessLayer`] is built from: a [`Verifier`] (no store), or a [`Charon`] (its
/// verifier, and its store for a [session check](AccessLayer::revocation)). Made by the
/// `From` impls; `AccessLayer::new` takes anything that converts.
#[derive(Debug, Clone)]
pub struct AccessSource {
    verifier: Verifier,
    store: Option<Arc<dyn SessionStore>>,
}

impl From<Verifier> for AccessSource {
    fn from(verifier: Verifier) -> Self {
        Self {
            verifier,
            store: None,
        }
    }
}

impl From<&Verifier> for AccessSource {
    fn from(verifier: &Verifier) -> Self {
        Self::from(verifier.clone())
    }
}

impl From<&Charon> for AccessSource {
    fn from(charon: &Charon) -> Self {
        Self {
            verifier: charon.verifier().clone(),
            store: Some(Arc::clone(charon.store().inner())),
        }
    }
}

impl From<Charon> for AccessSource {
    fn from(charon: Charon) -> Self {
        Self::from(&charon)
    }
}

impl AccessLayer {
    /// An access layer verifying with `source`: a [`Verifier`], or `&Charon` (whose store
    /// a [session check](Self::revocation) then asks).
    pub fn new(source: impl Into<AccessSource>) -> Self {
        let AccessSource { verifier, store } = source.into();
        Self {
            verifier,
            checks: ClaimChecks::default(),
            optional: false,
            typed: None,
            rejection: Arc::new(JsonRejection),
            store,
            session_check: None,
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

    /// Check, after the token verified, that its session still exists (see
    /// [`Revocation`] for each mode's cost and guarantee). Defaults to
    /// [`Revocation::Off`]: no store round trip, a logged-out session's access tokens work
    /// until they expire.
    ///
    /// The store asked is the Charon's when the layer was built from one, or the one given
    /// with [`session_store`](Self::session_store). A check with neither fails closed:
    /// every request answers 503 `store_unavailable`.
    pub fn revocation(mut self, mode: Revocation) -> Self {
        self.session_check = match mode {
            Revocation::Off => None,
            mode => Some(SessionCheck::new(mode, self.store.clone())),
        };
        self
    }

    /// The store a [session check](Self::revocation) asks, for a service that verifies
    /// tokens with a [`Verifier`] and reads the session authority's store (the same Redis,
    /// built with the authority's signing key). Replaces the Charon's store for a layer
    /// built from one. Defaults to the Charon's store, or none.
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        if let Some(check) = &mut self.session_check {
            check.store = Some(Arc::clone(&store));
        }
        self.store = Some(store);
        self
    }

    /// The session check's mode ([`Revocation::Off`] when there is none).
    pub fn revocation_mode(&self) -> Revocation {
        self.session_check
            .as_ref()
            .map_or(Revocation::Off, |check| check.mode)
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
            store: self.store,
            session_check: self.session_check,
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
            store: self.store.clone(),
            session_check: self.session_check.clone(),
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
            .field("revocation", &self.revocation_mode())
            .finish_non_exhaustive()
    }
}

impl<S, R> Layer<S> for AccessLayer<R> {
    type Service = Access<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Access {
            inner,
            layer: Arc::new(self.clone()),
        }
    }
}
