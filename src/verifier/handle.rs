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

pub(super) struct Inner {
    /// The codec of the first trusted issuer.
    pub(super) primary: JwtCodec,
    /// The codecs of the other trusted issuers, in the order given.
    pub(super) others: Vec<JwtCodec>,
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
    /// the whole check of one token, without reading a request or emitting an event.
    ///
    /// The issuer is found from the token (with one trusted issuer, it is that one; with
    /// several, the one its `iss` names, and then only that issuer's keys can verify it).
    /// See [`JwtCodec::verify`] for the checks and their order; a token of another profile
    /// than its issuer's, or naming another issuer than the one whose key signed it, is
    /// refused.
    ///
    /// # Errors
    ///
    /// The [`AuthError`] of the first failed check.
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

    /// The signature check and claims parsing of [`verify`](Self::verify): from the cache,
    /// or done now (and cached when they succeed).
    pub(crate) fn decode(&self, token: &str, now: UnixTime) -> Result<Arc<Claims>, AuthError> {
        self.inner
            .cache
            .get_or_verify_at(token, now, || self.verify_uncached(token))
    }

    /// The per-request checks of [`verify`](Self::verify) on decoded claims: time, issuer,
    /// audience, type, lifetime.
    pub(crate) fn validate(
        &self,
        claims: &Claims,
        now: UnixTime,
        kind: TokenType,
    ) -> Result<(), AuthError> {
        // The codec that verified the signature is the one that checks the claims: the only
        // one, or the one the token's `iss` chose (so a token signed by one trusted issuer
        // while naming another is refused: its `iss` picked the other's keys).
        let codec = if self.inner.others.is_empty() {
            &self.inner.primary
        } else {
            self.issuer_codec(&claims.iss)
                .ok_or_else(|| AuthError::claim_invalid("iss"))?
        };
        codec.validate(claims, now, kind)
    }

    /// Signature and claims parsing of a token not in the cache.
    fn verify_uncached(&self, token: &str) -> Result<Claims, AuthError> {
        self.route(token)?.verify_claims(token)
    }

    /// The codec that must verify `token`: the only issuer, or the one its (unverified)
    /// `iss` names.
    fn route(&self, token: &str) -> Result<&JwtCodec, AuthError> {
        if self.inner.others.is_empty() {
            return Ok(&self.inner.primary);
        }
        let iss = unverified_issuer(token)?;
        self.issuer_codec(&iss)
            .ok_or_else(|| AuthError::claim_invalid("iss"))
    }

    fn codecs(&self) -> impl Iterator<Item = &JwtCodec> {
        std::iter::once(&self.inner.primary).chain(&self.inner.others)
    }

    fn issuer_codec(&self, iss: &str) -> Option<&JwtCodec> {
        self.codecs().find(|c| c.issuer() == iss)
    }

    /// The codec of the primary (first) trusted issuer.
    pub(crate) fn primary(&self) -> &JwtCodec {
        &self.inner.primary
    }

    /// The trusted issuers' `iss` values, the primary one first.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.codecs().map(JwtCodec::issuer)
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
            .field("issuers", &self.codecs().collect::<Vec<_>>())
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
