//! The [`Charon`] handle and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock, UnixTime};
use crate::config::{ReuseDetection, SessionTtl, TokenTimes};
use crate::error::{ConfigError, ConfigErrorKind};
use crate::store::{MemoryStore, ObservedStore, SessionStore};
use crate::telemetry::{Telemetry, TelemetryHandler};
use crate::token::{
    DEFAULT_TOKEN_CACHE_CAPACITY, JwtCodec, Keyset, MIN_BASE_SECRET_LEN, VerifiedTokenCache,
};
use crate::transport::{CookieConfig, CsrfConfig, GateLimits};

/// The configured library: keys, TTLs, cookies, store and telemetry.
///
/// Build one at start-up with [`Charon::builder`]; it is cheap to clone (an `Arc` inside)
/// and is what the verification layers and the session API run on.
#[derive(Clone)]
pub struct Charon {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    times: TokenTimes,
    codec: JwtCodec,
    token_cache: VerifiedTokenCache,
    cookies: CookieConfig,
    csrf: CsrfConfig,
    gate_limits: GateLimits,
    enforce_browser_cookies: bool,
    reuse_detection: ReuseDetection,
    store: ObservedStore,
    telemetry: Telemetry,
    clock: Arc<dyn Clock>,
}

impl Charon {
    /// Start configuring. `issuer` and either [`base_secret`](CharonBuilder::base_secret)
    /// or [`keyset`](CharonBuilder::keyset) are required.
    pub fn builder() -> CharonBuilder {
        CharonBuilder::default()
    }

    /// The token issuer (`iss`).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Token lifetimes and freshness settings.
    pub fn times(&self) -> &TokenTimes {
        &self.inner.times
    }

    /// The JWT signer and verifier.
    pub fn codec(&self) -> &JwtCodec {
        &self.inner.codec
    }

    /// The cache of verified tokens.
    pub fn token_cache(&self) -> &VerifiedTokenCache {
        &self.inner.token_cache
    }

    /// Cookie names and attributes.
    pub fn cookies(&self) -> &CookieConfig {
        &self.inner.cookies
    }

    /// CSRF settings for the cookie-only transport.
    pub fn csrf(&self) -> &CsrfConfig {
        &self.inner.csrf
    }

    /// Size limits of the request gate.
    pub fn gate_limits(&self) -> &GateLimits {
        &self.inner.gate_limits
    }

    /// Whether creating a bearer-transport session from a browser is refused.
    pub fn enforces_browser_cookies(&self) -> bool {
        self.inner.enforce_browser_cookies
    }

    /// What a stale refresh token does to its session.
    pub fn reuse_detection(&self) -> ReuseDetection {
        self.inner.reuse_detection
    }

    /// The session store, with session telemetry.
    pub fn store(&self) -> &ObservedStore {
        &self.inner.store
    }

    /// The telemetry handlers.
    pub fn telemetry(&self) -> &Telemetry {
        &self.inner.telemetry
    }

    /// The current time from the configured clock.
    pub fn now(&self) -> UnixTime {
        self.inner.clock.now()
    }
}

impl fmt::Debug for Charon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Charon")
            .field("issuer", &self.inner.issuer)
            .field("times", &self.inner.times)
            .field("codec", &self.inner.codec)
            .field("cookies", &self.inner.cookies)
            .field(
                "enforce_browser_cookies",
                &self.inner.enforce_browser_cookies,
            )
            .field("reuse_detection", &self.inner.reuse_detection)
            .field("store", &self.inner.store)
            .field("telemetry", &self.inner.telemetry)
            .finish_non_exhaustive()
    }
}

/// Builder for [`Charon`]. Every setter documents its default; [`build`](Self::build)
/// checks everything and returns a [`ConfigError`] for any invalid value or combination.
#[must_use]
pub struct CharonBuilder {
    issuer: Option<String>,
    base_secret: Option<Vec<u8>>,
    keyset: Option<Keyset>,
    token_cache_capacity: usize,
    times: TokenTimes,
    cookies: CookieConfig,
    csrf: CsrfConfig,
    gate_limits: GateLimits,
    enforce_browser_cookies: bool,
    reuse_detection: ReuseDetection,
    store: Option<Arc<dyn SessionStore>>,
    handlers: Vec<Arc<dyn TelemetryHandler>>,
    tracing_events: bool,
    metrics_counters: bool,
    clock: Arc<dyn Clock>,
}

impl Default for CharonBuilder {
    fn default() -> Self {
        Self {
            issuer: None,
            base_secret: None,
            keyset: None,
            token_cache_capacity: DEFAULT_TOKEN_CACHE_CAPACITY,
            times: TokenTimes::default(),
            cookies: CookieConfig::default(),
            csrf: CsrfConfig::default(),
            gate_limits: GateLimits::default(),
            enforce_browser_cookies: true,
            reuse_detection: ReuseDetection::default(),
            store: None,
            handlers: Vec::new(),
            tracing_events: true,
            metrics_counters: true,
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for CharonBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CharonBuilder")
            .field("issuer", &self.issuer)
            .field(
                "base_secret",
                &self.base_secret.as_ref().map(|_| "REDACTED"),
            )
            .field("keyset", &self.keyset)
            .field("times", &self.times)
            .field("store", &self.store)
            .field("handlers", &self.handlers.len())
            .finish_non_exhaustive()
    }
}

impl CharonBuilder {
    /// The token issuer, claim `iss`. Required; checked on every token.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The base secret (at least 32 bytes of high entropy). Without an explicit
    /// [`keyset`](Self::keyset), the signing key is derived from it exactly as Charon does
    /// (PBKDF2-HMAC-SHA256, 250 000 iterations, salt `charon_jwt_default`, kid `default`),
    /// so a Charon service with the same secret accepts the same tokens.
    pub fn base_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.base_secret = Some(secret.as_ref().to_vec());
        self
    }

    /// The JWT keys. Takes precedence over the key derived from the base secret.
    pub fn keyset(mut self, keyset: Keyset) -> Self {
        self.keyset = Some(keyset);
        self
    }

    /// How many verified tokens to remember, so a token seen again skips its signature
    /// check and claims parsing (time, issuer, type and claim checks still run on every
    /// request; see [`VerifiedTokenCache`]). Defaults to 4096; 0 turns the cache off.
    pub fn verified_token_cache(mut self, capacity: usize) -> Self {
        self.token_cache_capacity = capacity;
        self
    }

    /// Access token TTL. Defaults to 15 minutes.
    pub fn access_ttl(mut self, ttl: Duration) -> Self {
        self.times.access_ttl = ttl;
        self
    }

    /// Refresh token TTL. Defaults to 60 days.
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.times.refresh_ttl = ttl;
        self
    }

    /// Session TTL, possibly [`SessionTtl::Infinite`]. Defaults to 365 days.
    pub fn session_ttl(mut self, ttl: SessionTtl) -> Self {
        self.times.session_ttl = ttl;
        self
    }

    /// Clock leeway for `exp`, `nbf`, `iat` and freshness. Defaults to 5 s; at most 60 s.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.times.leeway = leeway;
        self
    }

    /// Age of the current token generation after which a refresh starts a new one.
    /// Defaults to 10 s.
    pub fn new_cycle_after(mut self, after: Duration) -> Self {
        self.times.new_cycle_after = after;
        self
    }

    /// Cookie names and attributes. Defaults to [`CookieConfig::default`]: Charon's names,
    /// HttpOnly, Secure, SameSite=Strict, Path=/.
    pub fn cookies(mut self, cookies: CookieConfig) -> Self {
        self.cookies = cookies;
        self
    }

    /// CSRF protection of the cookie-only transport. Defaults to [`CsrfConfig::default`]
    /// (on).
    pub fn csrf(mut self, csrf: CsrfConfig) -> Self {
        self.csrf = csrf;
        self
    }

    /// Size limits of the request gate (token length). Defaults to [`GateLimits::new`]:
    /// 8 KiB tokens.
    pub fn gate_limits(mut self, limits: GateLimits) -> Self {
        self.gate_limits = limits;
        self
    }

    /// Allow creating bearer-transport sessions from browsers (requests carrying
    /// `Sec-Fetch-Mode`). By default they are refused with 400, because a bearer token in
    /// JavaScript can be stolen by XSS. Only for APIs whose browser clients need it.
    pub fn insecure_allow_bearer_for_browsers(mut self) -> Self {
        self.enforce_browser_cookies = false;
        self
    }

    /// What a stale refresh token does. Defaults to [`ReuseDetection::RevokeSession`].
    pub fn reuse_detection(mut self, mode: ReuseDetection) -> Self {
        self.reuse_detection = mode;
        self
    }

    /// The session store. Defaults to a fresh in-process [`MemoryStore`]: fine for tests
    /// and demos, but it forgets everything on restart and is not shared between
    /// instances; use the Redis store in production.
    pub fn store(mut self, store: impl SessionStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The session store, already shared.
    pub fn store_arc(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Add a telemetry handler (a closure `Fn(&Event<'_>)` works). Handlers run in the
    /// order added. None by default.
    pub fn on_event(mut self, handler: impl TelemetryHandler) -> Self {
        self.handlers.push(Arc::new(handler));
        self
    }

    /// Emit every event as a `tracing` event (feature `tracing`). Defaults to on.
    pub fn tracing_events(mut self, on: bool) -> Self {
        self.tracing_events = on;
        self
    }

    /// Count every event with the `metrics` crate (feature `metrics`). Defaults to on.
    pub fn metrics_counters(mut self, on: bool) -> Self {
        self.metrics_counters = on;
        self
    }

    /// Where "now" comes from. Defaults to the system clock.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Check everything and build the handle.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a missing issuer or keys, a short base secret, invalid TTLs or
    /// leeway, invalid cookie or CSRF settings.
    pub fn build(self) -> Result<Charon, ConfigError> {
        let issuer = self
            .issuer
            .filter(|i| !i.is_empty())
            .ok_or_else(|| ConfigError::new(ConfigErrorKind::Missing, "issuer is required"))?;
        if let Some(secret) = &self.base_secret
            && secret.len() < MIN_BASE_SECRET_LEN
        {
            return Err(ConfigError::new(
                ConfigErrorKind::KeyTooShort,
                "base secret must be at least 32 bytes",
            ));
        }
        let keyset = match (self.keyset, &self.base_secret) {
            (Some(keyset), _) => keyset,
            (None, Some(secret)) => Keyset::from_base_secret(secret)?,
            (None, None) => {
                return Err(ConfigError::new(
                    ConfigErrorKind::Missing,
                    "a base secret or a keyset is required",
                ));
            }
        };
        if !keyset.can_sign() {
            return Err(ConfigError::new(
                ConfigErrorKind::Missing,
                "the keyset is verify-only: Charon signs tokens and needs a signing key",
            ));
        }
        self.times.validate()?;
        self.cookies.validate()?;
        self.csrf.validate()?;
        self.gate_limits.validate()?;
        let codec = JwtCodec::new(keyset, issuer.clone())?.with_leeway(self.times.leeway)?;

        let telemetry = Telemetry::new(built_in_handlers(
            self.handlers,
            self.tracing_events,
            self.metrics_counters,
        ));
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::default()));

        Ok(Charon {
            inner: Arc::new(Inner {
                issuer,
                times: self.times,
                codec,
                token_cache: VerifiedTokenCache::new(self.token_cache_capacity),
                cookies: self.cookies,
                csrf: self.csrf,
                gate_limits: self.gate_limits,
                enforce_browser_cookies: self.enforce_browser_cookies,
                reuse_detection: self.reuse_detection,
                store: ObservedStore::new(store, telemetry.clone()),
                telemetry,
                clock: self.clock,
            }),
        })
    }
}

/// The application's handlers, then the `tracing` and `metrics` bridges when their
/// features are on and they were not turned off.
#[allow(unused_mut, unused_variables)]
fn built_in_handlers(
    mut handlers: Vec<Arc<dyn TelemetryHandler>>,
    tracing_events: bool,
    metrics_counters: bool,
) -> Vec<Arc<dyn TelemetryHandler>> {
    #[cfg(feature = "tracing")]
    if tracing_events {
        handlers.push(Arc::new(crate::telemetry::TracingHandler::default()));
    }
    #[cfg(feature = "metrics")]
    if metrics_counters {
        handlers.push(Arc::new(crate::telemetry::MetricsHandler::default()));
    }
    handlers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::Key;
    use crate::transport::GateLimits;

    const SECRET: &str = "a base secret of at least thirty-two bytes";

    fn base() -> CharonBuilder {
        Charon::builder().issuer("app").base_secret(SECRET)
    }

    fn kind(builder: CharonBuilder) -> ConfigErrorKind {
        match builder.build() {
            Ok(_) => panic!("expected a ConfigError"),
            Err(e) => e.kind(),
        }
    }

    #[test]
    fn defaults_build_and_are_secure() {
        let charon = base().build().unwrap();
        assert_eq!(charon.issuer(), "app");
        assert_eq!(charon.times(), &TokenTimes::default());
        assert!(charon.enforces_browser_cookies());
        assert_eq!(charon.reuse_detection(), ReuseDetection::RevokeSession);
        assert!(charon.cookies().secure() && charon.cookies().http_only());
        assert!(charon.csrf().is_enabled());
        assert_eq!(charon.codec().keyset().signing_kid(), Some("default"));
    }

    #[test]
    fn issuer_is_required_and_not_empty() {
        assert_eq!(
            kind(Charon::builder().base_secret(SECRET)),
            ConfigErrorKind::Missing
        );
        assert_eq!(kind(base().issuer("")), ConfigErrorKind::Missing);
    }

    #[test]
    fn keys_are_required() {
        assert_eq!(
            kind(Charon::builder().issuer("app")),
            ConfigErrorKind::Missing
        );
    }

    #[test]
    fn short_base_secret_is_refused() {
        assert_eq!(
            kind(base().base_secret("short")),
            ConfigErrorKind::KeyTooShort
        );
        // Even when a keyset is given: the secret may feed other keys (Redis HMAC).
        let keyset = Keyset::new("k1", Key::hs256(&[7; 32]).unwrap()).unwrap();
        assert_eq!(
            kind(base().keyset(keyset).base_secret("short")),
            ConfigErrorKind::KeyTooShort
        );
    }

    #[test]
    fn an_explicit_keyset_wins_over_the_derived_key() {
        let keyset = Keyset::new("k1", Key::hs256(&[7; 32]).unwrap()).unwrap();
        let charon = base().keyset(keyset).build().unwrap();
        assert_eq!(charon.codec().keyset().signing_kid(), Some("k1"));
        let charon = Charon::builder()
            .issuer("app")
            .keyset(Keyset::new("k2", Key::hs256(&[8; 32]).unwrap()).unwrap())
            .build()
            .unwrap();
        assert_eq!(charon.codec().keyset().signing_kid(), Some("k2"));
    }

    #[test]
    fn a_verify_only_keyset_is_refused() {
        let keyset = Keyset::verify_only([("k1", Key::hs256(&[7; 32]).unwrap())]).unwrap();
        assert_eq!(kind(base().keyset(keyset)), ConfigErrorKind::Missing);
    }

    #[test]
    fn invalid_times_are_refused() {
        let s = Duration::from_secs;
        assert_eq!(kind(base().access_ttl(s(0))), ConfigErrorKind::InvalidTtl);
        assert_eq!(kind(base().refresh_ttl(s(0))), ConfigErrorKind::InvalidTtl);
        assert_eq!(
            kind(base().session_ttl(SessionTtl::Finite(s(0)))),
            ConfigErrorKind::InvalidTtl
        );
        assert_eq!(
            kind(base().access_ttl(s(600)).refresh_ttl(s(60))),
            ConfigErrorKind::InvalidTtl
        );
        assert_eq!(
            kind(
                base()
                    .refresh_ttl(s(600))
                    .session_ttl(SessionTtl::Finite(s(60)))
            ),
            ConfigErrorKind::InvalidTtl
        );
        assert_eq!(kind(base().leeway(s(61))), ConfigErrorKind::LeewayTooLarge);
        assert_eq!(
            kind(base().new_cycle_after(s(0))),
            ConfigErrorKind::InvalidTtl
        );
        base()
            .session_ttl(SessionTtl::Infinite)
            .refresh_ttl(s(10 * 365 * 24 * 3600))
            .build()
            .unwrap();
    }

    #[test]
    fn invalid_cookie_csrf_and_gate_settings_are_refused() {
        let host_cookie_with_path = CookieConfig::default()
            .with_access_name("__Host-access")
            .with_access_path("/api");
        assert_eq!(
            kind(base().cookies(host_cookie_with_path)),
            ConfigErrorKind::InvalidCookie
        );
        let same_names = CookieConfig::default()
            .with_access_name("t")
            .with_refresh_name("t");
        assert_eq!(
            kind(base().cookies(same_names)),
            ConfigErrorKind::InvalidCookie
        );
        let simple_header = CsrfConfig::default().with_header(http::header::CONTENT_TYPE);
        assert!(base().csrf(simple_header).build().is_err());
        let tiny_gate = GateLimits::new().with_max_token_len(1);
        assert!(base().gate_limits(tiny_gate).build().is_err());
    }

    #[test]
    fn opt_outs_are_explicit() {
        let charon = base()
            .insecure_allow_bearer_for_browsers()
            .reuse_detection(ReuseDetection::RejectOnly)
            .build()
            .unwrap();
        assert!(!charon.enforces_browser_cookies());
        assert_eq!(charon.reuse_detection(), ReuseDetection::RejectOnly);
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let builder = base();
        assert!(!format!("{builder:?}").contains("thirty-two"));
        let charon = builder.build().unwrap();
        let text = format!("{charon:?}");
        assert!(!text.contains("thirty-two"));
        assert!(text.contains("app"));
    }
}
