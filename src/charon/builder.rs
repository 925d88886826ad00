//! [`CharonBuilder`]: configures a [`Charon`].

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use super::{Charon, Inner};
use crate::clock::{Clock, SystemClock};
use crate::config::{
    DEFAULT_MAX_SESSIONS_PER_USER, MAX_SESSIONS_PER_USER_LIMIT, ReuseDetection, SessionTtl,
    TokenTimes,
};
use crate::error::{ConfigError, ConfigErrorKind};
use crate::health::DEFAULT_HEALTH_DEADLINE;
use crate::session::SessionType;
use crate::store::{MemoryStore, ObservedStore, SessionStore};
use crate::telemetry::{TelemetryBuilder, TelemetryHandler};
use crate::token::{DEFAULT_TOKEN_CACHE_CAPACITY, Keyset, MIN_BASE_SECRET_LEN, TokenType};
use crate::transport::{CookieConfig, CsrfConfig, GateLimits};
use crate::verifier::{TrustedIssuer, Verifier};

/// The longest [`CharonBuilder::health_deadline`].
const MAX_HEALTH_DEADLINE: Duration = Duration::from_secs(60);

/// Builder for [`Charon`]. Every setter documents its default; [`build`](Self::build)
/// checks everything and returns a [`ConfigError`] for any invalid value or combination.
#[must_use]
pub struct CharonBuilder {
    issuer: Option<String>,
    base_secret: Option<Vec<u8>>,
    keyset: Option<Keyset>,
    token_cache_capacity: usize,
    times: TokenTimes,
    max_access_lifetime: Option<Duration>,
    max_refresh_lifetime: Option<Duration>,
    cookies: CookieConfig,
    csrf: CsrfConfig,
    gate_limits: GateLimits,
    enforce_browser_cookies: bool,
    reuse_detection: ReuseDetection,
    max_sessions_per_user: u32,
    store: Option<Arc<dyn SessionStore>>,
    telemetry: TelemetryBuilder,
    audiences: Vec<String>,
    trusted: Vec<TrustedIssuer>,
    clock: Arc<dyn Clock>,
    health_deadline: Duration,
}

impl Default for CharonBuilder {
    fn default() -> Self {
        Self {
            issuer: None,
            base_secret: None,
            keyset: None,
            token_cache_capacity: DEFAULT_TOKEN_CACHE_CAPACITY,
            times: TokenTimes::default(),
            max_access_lifetime: None,
            max_refresh_lifetime: None,
            cookies: CookieConfig::default(),
            csrf: CsrfConfig::default(),
            gate_limits: GateLimits::default(),
            enforce_browser_cookies: true,
            reuse_detection: ReuseDetection::default(),
            max_sessions_per_user: DEFAULT_MAX_SESSIONS_PER_USER,
            store: None,
            telemetry: TelemetryBuilder::default(),
            audiences: Vec::new(),
            trusted: Vec::new(),
            clock: Arc::new(SystemClock),
            health_deadline: DEFAULT_HEALTH_DEADLINE,
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
            .field("telemetry", &self.telemetry)
            .field("audiences", &self.audiences)
            .field("trusted", &self.trusted)
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
    /// request; see [`VerifiedTokenCache`](crate::token::VerifiedTokenCache)). Defaults to
    /// [`DEFAULT_TOKEN_CACHE_CAPACITY`] (32 768); 0 turns the cache off.
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

    /// Longest accepted lifetime (`exp - iat`, plus the leeway) of an access token: a token
    /// of this issuer that claims to live longer (one minted for ten years, or issued a
    /// month ago with `exp` still ahead) is refused with `bearer token claim exp invalid`.
    /// Raise it when other services sharing this issuer and key mint longer-lived tokens,
    /// or while lowering the access TTL. Defaults to the access TTL; it may not be shorter.
    pub fn max_access_token_lifetime(mut self, max: Duration) -> Self {
        self.max_access_lifetime = Some(max);
        self
    }

    /// Longest accepted lifetime of a refresh token, as
    /// [`max_access_token_lifetime`](Self::max_access_token_lifetime). Defaults to the
    /// refresh TTL; it may not be shorter.
    pub fn max_refresh_token_lifetime(mut self, max: Duration) -> Self {
        self.max_refresh_lifetime = Some(max);
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
    /// HttpOnly, Secure, SameSite=Strict, Path=/. New deployments should pass
    /// [`CookieConfig::host_prefixed`] (`__Host-` names, which a sibling subdomain cannot
    /// plant; see [cookie tossing](crate::guide::transports#cookie-tossing)).
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

    /// The most live sessions one user may hold per session type, from 1 to 10 000 (checked
    /// by [`build`](Self::build), [`ConfigErrorKind::Invalid`] otherwise). Defaults to 10.
    ///
    /// A login that would exceed it evicts, in the same store round trip as the write, the
    /// user's sessions of that type with the lowest `refresh_expires_at` (the ones that
    /// would end first without a refresh: the least recently used), each with a
    /// `charon.session.delete` event; evicted sessions cannot be refreshed any more (their
    /// access tokens stay valid until they expire, as after a logout). The new session is
    /// never evicted. This bounds what one user can make the store hold, and what
    /// [`list_sessions`](Charon::list_sessions) returns, whatever the number of logins.
    ///
    /// Why 10: every device or browser a user signs in from holds one session, and because
    /// the least recently used goes first, a cap of 10 only signs out a client once ten
    /// others have been used more recently: enough for a chat or mail app used from a
    /// phone, a tablet, a desktop app and a few browsers, with room for the stale sessions
    /// of cleared cookies. A banking app wants fewer (2 to 5, or 1 for "one device at a
    /// time"); an app whose users run many clients at once (a fleet of kiosks under one
    /// account) raises it. There is no "unlimited": an unbounded list is what the cap
    /// prevents; raise it instead.
    pub fn max_sessions_per_user(mut self, max: u32) -> Self {
        self.max_sessions_per_user = max;
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
        self.telemetry = self.telemetry.on_event(handler);
        self
    }

    /// Emit every event as a `tracing` event, and open `tracing` spans around verification
    /// and store operations (feature `tracing`). Defaults to on.
    pub fn tracing_events(mut self, on: bool) -> Self {
        self.telemetry = self.telemetry.tracing_events(on);
        self
    }

    /// Count every event with the `metrics` crate (feature `metrics`). Defaults to on.
    pub fn metrics_counters(mut self, on: bool) -> Self {
        self.telemetry = self.telemetry.metrics_counters(on);
        self
    }

    /// The session types the built-in `metrics` handler (feature `metrics`) reports under
    /// their own name in its `session_type` label; every other session type is counted as
    /// `other` (see [`MetricsHandler`](crate::telemetry::MetricsHandler#bounded-labels)).
    /// At most 32 distinct types: [`build`](Self::build) refuses a longer list. Give it
    /// whenever session types can come from requests. Defaults to no allowlist: the first
    /// 32 session types seen keep their name, later ones are `other`.
    pub fn metrics_session_types(mut self, types: impl IntoIterator<Item = SessionType>) -> Self {
        self.telemetry = self.telemetry.metrics_session_types(types);
        self
    }

    /// Write `audience` in the `aud` of every issued token, and accept it in verified
    /// tokens (RFC 7519 section 4.1.3: a resource service names itself with
    /// [`VerifierBuilder::audience`](crate::verifier::VerifierBuilder::audience) and refuses
    /// tokens not meant for it). Call it once per audience. Defaults to none: tokens carry
    /// no `aud`.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Also accept access tokens of another issuer (an outside identity provider, another
    /// Charon) on this handle's access layers. Refresh tokens and the session API stay
    /// this handle's own. None by default.
    pub fn trust(mut self, issuer: TrustedIssuer) -> Self {
        self.trusted.push(issuer);
        self
    }

    /// How long [`Charon::health`] waits for the store's ping before reporting it failed
    /// ([`CheckErrorKind::DeadlineExceeded`](crate::health::CheckErrorKind::DeadlineExceeded),
    /// or the store's own timeout). Greater than zero, at most 60 s ([`build`](Self::build)
    /// refuses others with [`ConfigErrorKind::Invalid`]). Keep it below the probe timeout
    /// of your orchestrator (Kubernetes: `timeoutSeconds`, 1 s by default). Defaults to
    /// [`DEFAULT_HEALTH_DEADLINE`] (250 ms).
    pub fn health_deadline(mut self, deadline: Duration) -> Self {
        self.health_deadline = deadline;
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
    /// leeway, invalid cookie or CSRF settings, a session cap out of range, more than 32
    /// [`metrics_session_types`](Self::metrics_session_types), a health deadline out of
    /// range.
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
        let max_sessions_per_user = NonZeroU32::new(self.max_sessions_per_user)
            .filter(|max| max.get() <= MAX_SESSIONS_PER_USER_LIMIT)
            .ok_or_else(|| {
                ConfigError::new(
                    ConfigErrorKind::Invalid,
                    "max_sessions_per_user must be between 1 and 10000",
                )
            })?;
        let max_access = self.max_access_lifetime.unwrap_or(self.times.access_ttl);
        let max_refresh = self.max_refresh_lifetime.unwrap_or(self.times.refresh_ttl);
        if max_access < self.times.access_ttl
            || max_refresh < self.times.refresh_ttl
            || max_access > crate::config::MAX_TTL
            || max_refresh > crate::config::MAX_TTL
        {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidTtl,
                "a maximum token lifetime must lie between its TTL and 100 years",
            ));
        }
        if self.health_deadline.is_zero() || self.health_deadline > MAX_HEALTH_DEADLINE {
            return Err(ConfigError::new(
                ConfigErrorKind::Invalid,
                "health_deadline must be greater than zero and at most 60 s",
            ));
        }
        let telemetry = self.telemetry.build()?;
        let own = TrustedIssuer::charon(issuer, keyset)
            .max_token_lifetime(TokenType::Access, max_access)
            .max_token_lifetime(TokenType::Refresh, max_refresh);
        let mut verifier = Verifier::builder()
            .trust(own)
            .leeway(self.times.leeway)
            .verified_token_cache(self.token_cache_capacity)
            .cookies(self.cookies)
            .csrf(self.csrf)
            .gate_limits(self.gate_limits)
            .telemetry(telemetry.clone())
            .clock_arc(self.clock);
        for audience in &self.audiences {
            verifier = verifier.audience(audience.clone());
        }
        for trusted in self.trusted {
            verifier = verifier.trust(trusted);
        }
        let verifier = verifier.build()?;
        let codec = verifier.primary_static().cloned().ok_or_else(|| {
            ConfigError::new(
                ConfigErrorKind::Invalid,
                "the signing issuer needs static keys",
            )
        })?;
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::default()));

        Ok(Charon {
            inner: Arc::new(Inner {
                verifier,
                codec,
                times: self.times,
                audiences: self.audiences,
                enforce_browser_cookies: self.enforce_browser_cookies,
                reuse_detection: self.reuse_detection,
                max_sessions_per_user,
                store: ObservedStore::new(store, telemetry),
                health_deadline: self.health_deadline,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charon::Charon;
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
            kind(base().access_ttl(s(600)).max_access_token_lifetime(s(599))),
            ConfigErrorKind::InvalidTtl
        );
        assert_eq!(
            kind(base().max_refresh_token_lifetime(s(60))),
            ConfigErrorKind::InvalidTtl
        );
        let raised = base().max_access_token_lifetime(s(3600)).build().unwrap();
        assert_eq!(
            raised.codec().max_lifetime(TokenType::Access),
            Some(s(3600))
        );
        assert_eq!(
            base()
                .build()
                .unwrap()
                .codec()
                .max_lifetime(TokenType::Refresh),
            Some(crate::config::DEFAULT_REFRESH_TTL)
        );
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

    fn session_types(n: usize) -> Vec<SessionType> {
        (0..n)
            .map(|i| SessionType::new(format!("t{i}")).unwrap())
            .collect()
    }

    #[test]
    fn metrics_session_types_are_capped_at_32() {
        base()
            .metrics_session_types(session_types(32))
            .build()
            .unwrap();
        // Duplicates count once.
        let mut doubled = session_types(32);
        doubled.extend(session_types(32));
        base().metrics_session_types(doubled).build().unwrap();
        assert_eq!(
            kind(base().metrics_session_types(session_types(33))),
            ConfigErrorKind::Invalid
        );
    }

    #[cfg(feature = "metrics")]
    #[test]
    fn the_built_in_metrics_bridge_uses_the_allowlist() {
        use crate::telemetry::{Event, EventKind, SessionMeta};
        use metrics_util::debugging::DebuggingRecorder;

        let types = |charon: &Charon| {
            let recorder = DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            metrics::with_local_recorder(&recorder, || {
                for t in ["full", "oauth2", "mobile"] {
                    charon.telemetry().emit(EventKind::SessionCreate, || {
                        Event::session(
                            EventKind::SessionCreate,
                            SessionMeta::new(Some("s"), "u", t),
                        )
                    });
                }
            });
            let mut values: Vec<String> = snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .flat_map(|(key, ..)| {
                    key.key()
                        .labels()
                        .map(|l| l.value().to_owned())
                        .collect::<Vec<_>>()
                })
                .collect();
            values.sort();
            values
        };
        let allowlisted = base()
            .tracing_events(false)
            .metrics_session_types([SessionType::new("oauth2").unwrap()])
            .build()
            .unwrap();
        assert_eq!(types(&allowlisted), ["oauth2", "other"]);
        let open = base().tracing_events(false).build().unwrap();
        assert_eq!(types(&open), ["full", "mobile", "oauth2"]);
    }

    #[test]
    fn session_cap_defaults_to_ten_and_stays_in_range() {
        assert_eq!(base().build().unwrap().max_sessions_per_user().get(), 10);
        for max in [1, 3, MAX_SESSIONS_PER_USER_LIMIT] {
            let charon = base().max_sessions_per_user(max).build().unwrap();
            assert_eq!(charon.max_sessions_per_user().get(), max);
        }
        for max in [0, MAX_SESSIONS_PER_USER_LIMIT + 1, u32::MAX] {
            assert_eq!(
                kind(base().max_sessions_per_user(max)),
                ConfigErrorKind::Invalid
            );
        }
    }

    #[test]
    fn the_health_deadline_defaults_to_250_ms_and_stays_in_range() {
        assert_eq!(
            base().build().unwrap().health_deadline(),
            Duration::from_millis(250)
        );
        let set = base().health_deadline(Duration::from_secs(2)).build();
        assert_eq!(set.unwrap().health_deadline(), Duration::from_secs(2));
        for bad in [Duration::ZERO, Duration::from_secs(61)] {
            assert_eq!(kind(base().health_deadline(bad)), ConfigErrorKind::Invalid);
        }
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
