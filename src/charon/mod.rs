//! The session authority: the [`Charon`] handle (keys that sign, TTLs, cookies, the store,
//! telemetry) and its session API — create (login), refresh, delete (logout), delete all
//! (log out everywhere), list — plus the refresh route's checks ([`RefreshAuth`]).
//!
//! Each write goes to the store in one atomic call before any token is signed, so a token
//! never names a session that was not stored.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use crate::clock::UnixTime;
use crate::config::{ReuseDetection, TokenTimes};
use crate::store::ObservedStore;
use crate::telemetry::Telemetry;
use crate::token::{JwtCodec, VerifiedTokenCache};
use crate::transport::{CookieConfig, CsrfConfig, GateLimits};
use crate::verifier::Verifier;

mod builder;
mod create;
mod health;
mod issue;
mod issued;
mod list;
mod logout;
mod refresh;
mod refresh_auth;
mod request_context;
mod session_read;

pub use builder::CharonBuilder;
pub use create::CreateSession;
pub use issued::{IssuedTokens, LoggedOut};
pub use list::SessionInfo;
pub use refresh::RefreshSession;
pub use refresh_auth::RefreshAuth;
pub use request_context::RequestContext;
pub use session_read::SessionRead;

/// The session authority: signs tokens, keeps sessions, and verifies its own tokens.
///
/// Build one at start-up with [`Charon::builder`]; it is cheap to clone (an `Arc` inside).
/// It holds a [`Verifier`] for its tokens ([`verifier`](Self::verifier)): the access layer
/// can be built from either (`AccessLayer::new(&charon)`), the refresh layer only from a
/// `Charon`. A resource service that only verifies tokens builds a [`Verifier`] instead and
/// needs neither the signing key nor the store.
#[derive(Clone)]
pub struct Charon {
    inner: Arc<Inner>,
}

struct Inner {
    verifier: Verifier,
    /// The codec of this handle's own issuer (the verifier's primary one), which signs.
    codec: JwtCodec,
    times: TokenTimes,
    audiences: Vec<String>,
    enforce_browser_cookies: bool,
    reuse_detection: ReuseDetection,
    max_sessions_per_user: NonZeroU32,
    store: ObservedStore,
    health_deadline: std::time::Duration,
}

impl Charon {
    /// Start configuring. `issuer` and either [`base_secret`](CharonBuilder::base_secret)
    /// or [`keyset`](CharonBuilder::keyset) are required.
    ///
    /// ```
    /// use std::time::Duration;
    /// use charon_auth::transport::CookieConfig;
    /// use charon_auth::{Charon, ConfigErrorKind};
    ///
    /// let charon = Charon::builder()
    ///     .issuer("my-app")
    ///     .base_secret("at least 32 bytes of secret entropy!!")
    ///     .access_ttl(Duration::from_secs(10 * 60))
    ///     .cookies(CookieConfig::host_prefixed())
    ///     .build()?;
    /// assert_eq!(charon.issuer(), "my-app");
    ///
    /// // A misconfiguration is a typed error at start-up, never a failure at request time.
    /// let short = Charon::builder().issuer("my-app").base_secret("too short").build();
    /// assert_eq!(short.unwrap_err().kind(), ConfigErrorKind::KeyTooShort);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder() -> CharonBuilder {
        CharonBuilder::default()
    }

    /// The verifier of this handle's tokens (and of any other issuer it
    /// [trusts](CharonBuilder::trust)).
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// The token issuer (`iss`).
    pub fn issuer(&self) -> &str {
        self.codec().issuer()
    }

    /// The audiences written in issued tokens (`aud`); empty: none.
    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }

    /// Token lifetimes and freshness settings.
    pub fn times(&self) -> &TokenTimes {
        &self.inner.times
    }

    /// The JWT signer and verifier of this handle's own tokens.
    pub fn codec(&self) -> &JwtCodec {
        &self.inner.codec
    }

    /// The cache of verified tokens.
    pub fn token_cache(&self) -> &VerifiedTokenCache {
        self.inner.verifier.token_cache()
    }

    /// Cookie names and attributes.
    pub fn cookies(&self) -> &CookieConfig {
        self.inner.verifier.cookies()
    }

    /// CSRF settings for the cookie-only transport.
    pub fn csrf(&self) -> &CsrfConfig {
        self.inner.verifier.csrf()
    }

    /// Size limits of the request gate.
    pub fn gate_limits(&self) -> &GateLimits {
        self.inner.verifier.gate_limits()
    }

    /// Whether creating a bearer-transport session from a browser is refused.
    pub fn enforces_browser_cookies(&self) -> bool {
        self.inner.enforce_browser_cookies
    }

    /// What a stale refresh token does to its session.
    pub fn reuse_detection(&self) -> ReuseDetection {
        self.inner.reuse_detection
    }

    /// The most live sessions one user may hold per session type; a login beyond it
    /// evicts the ones that would end first.
    pub fn max_sessions_per_user(&self) -> NonZeroU32 {
        self.inner.max_sessions_per_user
    }

    /// The session store, with session telemetry.
    pub fn store(&self) -> &ObservedStore {
        &self.inner.store
    }

    /// The telemetry handlers.
    pub fn telemetry(&self) -> &Telemetry {
        self.inner.verifier.telemetry()
    }

    /// The current time from the configured clock.
    pub fn now(&self) -> UnixTime {
        self.inner.verifier.now()
    }
}

impl From<&Charon> for Verifier {
    /// The handle's verifier (a cheap clone).
    fn from(charon: &Charon) -> Self {
        charon.verifier().clone()
    }
}

impl From<&Verifier> for Verifier {
    fn from(verifier: &Verifier) -> Self {
        verifier.clone()
    }
}

impl fmt::Debug for Charon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Charon")
            .field("verifier", &self.inner.verifier)
            .field("times", &self.inner.times)
            .field("audiences", &self.inner.audiences)
            .field(
                "enforce_browser_cookies",
                &self.inner.enforce_browser_cookies,
            )
            .field("reuse_detection", &self.inner.reuse_detection)
            .field("max_sessions_per_user", &self.inner.max_sessions_per_user)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}
