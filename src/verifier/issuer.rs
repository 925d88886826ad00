//! [`TrustedIssuer`]: one issuer a [`Verifier`](super::Verifier) accepts tokens from, with its
//! keys and the rules its tokens follow.

use std::fmt;
use std::time::Duration;

use crate::config::{DEFAULT_ACCESS_TTL, DEFAULT_REFRESH_TTL};
use crate::token::{ClaimsProfile, Keyset, TokenType};

/// An issuer whose tokens a [`Verifier`](super::Verifier) accepts: its `iss`, the keys its
/// tokens are signed with, which claims they carry, and how long they may live.
///
/// ```
/// use std::time::Duration;
/// use charon_auth::token::{Key, Keyset, TokenType};
/// use charon_auth::verifier::TrustedIssuer;
///
/// // Tokens of our own auth service, whose access tokens live 30 minutes.
/// let keys = Keyset::new("k1", Key::hs256(&[7; 32])?)?;
/// let ours = TrustedIssuer::charon("https://auth.example", keys)
///     .max_token_lifetime(TokenType::Access, Duration::from_secs(30 * 60));
/// assert_eq!(ours.iss(), "https://auth.example");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct TrustedIssuer {
    pub(crate) iss: String,
    pub(crate) keys: IssuerKeys,
    pub(crate) profile: ClaimsProfile,
    pub(crate) max_access_lifetime: Option<Duration>,
    pub(crate) max_refresh_lifetime: Option<Duration>,
}

impl TrustedIssuer {
    /// Tokens minted by charon-auth or Elixir Charon under `iss`, signed with `keys`: all
    /// nine Charon claims required ([`ClaimsProfile::Charon`]). Their lifetime (`exp - iat`)
    /// may not exceed Charon's default TTLs (15 minutes for access tokens, 60 days for
    /// refresh tokens) plus the leeway; raise it with
    /// [`max_token_lifetime`](Self::max_token_lifetime) when the issuer is configured with
    /// longer ones.
    pub fn charon(iss: impl Into<String>, keys: impl Into<IssuerKeys>) -> Self {
        Self {
            iss: iss.into(),
            keys: keys.into(),
            profile: ClaimsProfile::Charon,
            max_access_lifetime: Some(DEFAULT_ACCESS_TTL),
            max_refresh_lifetime: Some(DEFAULT_REFRESH_TTL),
        }
    }

    /// Tokens of another issuer (an outside identity provider): `iss`, `sub` and `exp`
    /// required, `nbf`/`iat`/`jti` checked when present, no session claims
    /// ([`ClaimsProfile::External`]). They are accepted as access tokens only. No maximum
    /// lifetime unless set.
    pub fn external(iss: impl Into<String>, keys: impl Into<IssuerKeys>) -> Self {
        Self {
            iss: iss.into(),
            keys: keys.into(),
            profile: ClaimsProfile::External,
            max_access_lifetime: None,
            max_refresh_lifetime: None,
        }
    }

    /// Refuse tokens of `token_type` from this issuer that claim to live longer than `max`
    /// (`exp - iat`, plus the leeway). See [`charon`](Self::charon) and
    /// [`external`](Self::external) for the defaults.
    pub fn max_token_lifetime(mut self, token_type: TokenType, max: Duration) -> Self {
        match token_type {
            TokenType::Access => self.max_access_lifetime = Some(max),
            TokenType::Refresh => self.max_refresh_lifetime = Some(max),
        }
        self
    }

    /// The issuer (`iss`).
    pub fn iss(&self) -> &str {
        &self.iss
    }

    /// The claims profile of its tokens.
    pub fn profile(&self) -> ClaimsProfile {
        self.profile
    }

    /// Where its keys come from.
    pub fn keys(&self) -> &IssuerKeys {
        &self.keys
    }
}

/// Where a trusted issuer's verification keys come from: a [`Keyset`] given at start-up, or
/// (feature `jwks`) a [`RemoteJwks`](crate::jwks::RemoteJwks) kept fresh in the background.
///
/// With remote keys a token naming an unknown `kid` makes the verifier ask the endpoint
/// again (rate-limited by the `RemoteJwks`) before it answers; while the issuer has no keys
/// at all (its endpoint down since start-up, or its keys dropped after their maximum
/// staleness), its tokens are answered 503 ([`KeysUnavailable`](crate::AuthErrorKind::KeysUnavailable)),
/// never 401.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum IssuerKeys {
    /// Keys given at start-up.
    Static(Keyset),
    /// Keys fetched from a JWKS endpoint.
    #[cfg(feature = "jwks")]
    Remote(crate::jwks::RemoteJwks),
}

impl From<Keyset> for IssuerKeys {
    fn from(keys: Keyset) -> Self {
        Self::Static(keys)
    }
}

#[cfg(feature = "jwks")]
impl From<crate::jwks::RemoteJwks> for IssuerKeys {
    fn from(jwks: crate::jwks::RemoteJwks) -> Self {
        Self::Remote(jwks)
    }
}

impl fmt::Debug for TrustedIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedIssuer")
            .field("iss", &self.iss)
            .field("keys", &self.keys)
            .field("profile", &self.profile)
            .field("max_access_lifetime", &self.max_access_lifetime)
            .field("max_refresh_lifetime", &self.max_refresh_lifetime)
            .finish()
    }
}
