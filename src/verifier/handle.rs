//! [`Verifier`]: checks tokens against the issuers it trusts.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clock::{Clock, UnixTime};
use crate::error::{AuthError, AuthErrorKind};
use crate::telemetry::Telemetry;
use crate::token::{Claims, JwtCodec, TokenType, VerifiedTokenCache};
use crate::transport::{CookieConfig, CsrfConfig, GateLimits};
use crate::verifier::slot::{Codec, IssuerSlot};

use super::VerifierBuilder;

/// Verifies tokens: the part of charon-auth a resource service needs, and all of it.
///
/// A `Verifier` holds the issuers it trusts (each with its keys — public keys suffice — its
/// claims profile and maximum token lifetimes), the audiences it answers to, the clock
/// leeway, a cache of verified tokens, how tokens are read from requests (cookie names,
/// CSRF, size limits) and telemetry. It holds no signing key, no base secret and no store:
/// a gateway, a resource service or a gRPC back end builds one on its own with
/// [`Verifier::builder`]. The session authority, [`Charon`](crate::Charon), holds one too
/// ([`Charon::verifier`](crate::Charon::verifier)).
///
/// Cheap to clone (an `Arc` inside). [`AccessLayer`](crate::layer::AccessLayer) is built
/// from it; non-Tower code calls [`authenticate`](Self::authenticate).
///
/// ```
/// use charon_auth::token::{Key, Keyset};
/// use charon_auth::verifier::{TrustedIssuer, Verifier};
///
/// let verifier = Verifier::builder()
///     .trust(TrustedIssuer::charon("https://auth.example", Keyset::new("k1", Key::hs256(&[7; 32])?)?))
///     .audience("orders-api")
///     .build()?;
/// assert_eq!(verifier.audiences(), ["orders-api"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    pub(super) inner: Arc<Inner>,
}

/// A pending fetch of remote keys (see [`Verifier::key_fetch`]).
pub(crate) type KeyFetch = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

pub(super) struct Inner {
    /// The first trusted issuer.
    pub(super) primary: IssuerSlot,
    /// The other trusted issuers, in the order given.
    pub(super) others: Vec<IssuerSlot>,
    pub(super) audiences: Vec<String>,
    pub(super) cache: VerifiedTokenCache,
    pub(super) cookies: CookieConfig,
    pub(super) csrf: CsrfConfig,
    pub(super) gate_limits: GateLimits,
    pub(super) telemetry: Telemetry,
    pub(super) clock: Arc<dyn Clock>,
}

impl Verifier {
    /// Start configuring a verifier. At least one [trusted issuer](VerifierBuilder::trust)
    /// is required.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    /// Verify a token's signature and claims for a route expecting `kind` at time `now`:
    /// the whole check of one token, without reading a request or emitting an event. With
    /// keys from a remote JWKS it does not fetch; [`verify_fetching`](Self::verify_fetching)
    /// does.
    ///
    /// The issuer is found from the token (with one trusted issuer, it is that one; with
    /// several, the one its `iss` names, and then only that issuer's keys can verify it).
    /// See [`JwtCodec::verify`] for the checks and their order.
    ///
    /// # Errors
    ///
    /// The [`AuthError`] of the first failed check; `KeysUnavailable` (503) when the
    /// issuer's remote keys are not there.
    pub fn verify(
        &self,
        token: &str,
        now: UnixTime,
        kind: TokenType,
    ) -> Result<Arc<Claims>, AuthError> {
        let claims = self.decode(token, now)?;
        self.validate(&claims, now, kind)?;
        Ok(claims)
    }

    /// [`verify`](Self::verify), and when the token names a key its issuer's remote JWKS
    /// does not hold (yet), ask the endpoint once more (rate-limited) and verify again.
    ///
    /// # Errors
    ///
    /// As [`verify`](Self::verify).
    pub async fn verify_fetching(
        &self,
        token: &str,
        now: UnixTime,
        kind: TokenType,
    ) -> Result<Arc<Claims>, AuthError> {
        match self.verify(token, now, kind) {
            Err(error) if self.may_fetch_keys(&error) => match self.key_fetch(token) {
                Some(fetch) => {
                    fetch.await;
                    self.verify(token, now, kind)
                }
                None => Err(error),
            },
            other => other,
        }
    }

    /// The signature check and claims parsing of [`verify`](Self::verify): from the cache,
    /// or done now (and cached when they succeed).
    pub(crate) fn decode(&self, token: &str, now: UnixTime) -> Result<Arc<Claims>, AuthError> {
        self.sync_remote_keys();
        self.inner
            .cache
            .get_or_verify_at(token, now, || self.verify_uncached(token))
    }

    /// Before the cache is read: rebuild the codec of any issuer whose remote key set
    /// changed, which empties the cache, so no token is served from the cache after the
    /// key that verified it stopped being published. Two atomic loads per remote issuer;
    /// nothing for static keys.
    fn sync_remote_keys(&self) {
        #[cfg(feature = "jwks")]
        for slot in self.slots().filter(|s| s.remote().is_some()) {
            // An issuer without keys fails later, in its own request, with KeysUnavailable.
            let _ = self.codec_of(slot);
        }
    }

    /// The per-request checks of [`verify`](Self::verify) on decoded claims: time, issuer,
    /// audience, type, lifetime.
    pub(crate) fn validate(
        &self,
        claims: &Claims,
        now: UnixTime,
        kind: TokenType,
    ) -> Result<(), AuthError> {
        // The issuer whose keys verified the signature is the one that checks the claims:
        // the only one, or the one the token's `iss` chose (so a token signed by one
        // trusted issuer while naming another is refused: its `iss` picked the other's
        // keys).
        let slot = if self.inner.others.is_empty() {
            &self.inner.primary
        } else {
            self.issuer_slot(&claims.iss)
                .ok_or_else(|| AuthError::claim_invalid("iss"))?
        };
        self.codec_of(slot)?.validate(claims, now, kind)
    }

    /// Signature and claims parsing of a token not in the cache.
    fn verify_uncached(&self, token: &str) -> Result<Claims, AuthError> {
        let slot = self.route(token)?;
        self.codec_of(slot)?.verify_claims(token)
    }

    /// The codec of `slot` now; a new remote key set empties the token cache, so tokens
    /// of keys no longer published stop verifying at once.
    fn codec_of<'a>(&'a self, slot: &'a IssuerSlot) -> Result<Codec<'a>, AuthError> {
        slot.codec(|| self.inner.cache.clear())
    }

    /// The issuer that must verify `token`: the only one, or the one its (unverified)
    /// `iss` names.
    fn route(&self, token: &str) -> Result<&IssuerSlot, AuthError> {
        if self.inner.others.is_empty() {
            return Ok(&self.inner.primary);
        }
        let iss = unverified_issuer(token)?;
        self.issuer_slot(&iss)
            .ok_or_else(|| AuthError::claim_invalid("iss"))
    }

    fn slots(&self) -> impl Iterator<Item = &IssuerSlot> {
        std::iter::once(&self.inner.primary).chain(&self.inner.others)
    }

    fn issuer_slot(&self, iss: &str) -> Option<&IssuerSlot> {
        self.slots().find(|s| s.iss() == iss)
    }

    /// Whether `error` may go away after fetching the issuers' remote keys: an unknown
    /// `kid` while some issuer's keys are remote.
    pub(crate) fn may_fetch_keys(&self, error: &AuthError) -> bool {
        #[cfg(feature = "jwks")]
        {
            error.kind() == AuthErrorKind::KeyNotFound && self.slots().any(|s| s.remote().is_some())
        }
        #[cfg(not(feature = "jwks"))]
        {
            let _ = error;
            false
        }
    }

    /// A fetch of the key `token` names from its issuer's remote JWKS (rate-limited by the
    /// JWKS): `None` when the issuer's keys are static or the token names no key. The
    /// future owns what it needs, so a layer can hold it while the request waits.
    pub(crate) fn key_fetch(&self, token: &str) -> Option<KeyFetch> {
        #[cfg(feature = "jwks")]
        {
            let slot = self.route(token).ok()?;
            let jwks = slot.remote()?.clone();
            let kid = unverified_kid(token)?;
            Some(Box::pin(async move {
                jwks.refresh_for_unknown_kid(&kid).await;
            }))
        }
        #[cfg(not(feature = "jwks"))]
        {
            let _ = token;
            None
        }
    }

    /// The codec of the primary (first) trusted issuer when its keys are static (a
    /// session authority signs with it).
    pub(crate) fn primary_static(&self) -> Option<&JwtCodec> {
        self.inner.primary.static_codec()
    }

    /// The trusted issuers' `iss` values, the primary one first.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.slots().map(IssuerSlot::iss)
    }

    /// The audiences this verifier answers to (tokens must name one; empty: tokens must
    /// carry no `aud`).
    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }

    /// The cache of verified tokens.
    pub fn token_cache(&self) -> &VerifiedTokenCache {
        &self.inner.cache
    }

    /// Cookie names (and attributes) the token cookies are read by.
    pub fn cookies(&self) -> &CookieConfig {
        &self.inner.cookies
    }

    /// CSRF settings of the cookie-only transport.
    pub fn csrf(&self) -> &CsrfConfig {
        &self.inner.csrf
    }

    /// Size limits of the request gate.
    pub fn gate_limits(&self) -> &GateLimits {
        &self.inner.gate_limits
    }

    /// The telemetry handlers token events go to.
    pub fn telemetry(&self) -> &Telemetry {
        &self.inner.telemetry
    }

    /// The current time from the configured clock.
    pub fn now(&self) -> UnixTime {
        self.inner.clock.now()
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.slots().collect::<Vec<_>>())
            .field("audiences", &self.inner.audiences)
            .field("token_cache", &self.inner.cache)
            .field("telemetry", &self.inner.telemetry)
            .finish_non_exhaustive()
    }
}

/// The `iss` of a token's payload, read without verifying anything: only to choose whose
/// keys must verify it. Duplicate keys and other tricks are refused later by the strict
/// parse, after the signature check with the chosen issuer's keys.
fn unverified_issuer(token: &str) -> Result<String, AuthError> {
    #[derive(serde::Deserialize)]
    struct Iss {
        iss: Option<serde_json::Value>,
    }
    let malformed = || AuthError::new(AuthErrorKind::TokenMalformed);
    let payload = token.split('.').nth(1).ok_or_else(malformed)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| malformed())?;
    match serde_json::from_slice::<Iss>(&bytes)
        .map_err(|_| malformed())?
        .iss
    {
        None => Err(AuthError::claim_not_found("iss")),
        Some(serde_json::Value::String(iss)) => Ok(iss),
        Some(_) => Err(AuthError::claim_invalid("iss")),
    }
}

/// The `kid` of a token's header, read without verifying anything: only to ask a remote
/// JWKS for it.
#[cfg(feature = "jwks")]
fn unverified_kid(token: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Kid {
        kid: Option<String>,
    }
    let header = token.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    serde_json::from_slice::<Kid>(&bytes).ok()?.kid
}
