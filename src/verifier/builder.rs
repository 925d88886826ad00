//! [`VerifierBuilder`]: configures a [`Verifier`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::config::{DEFAULT_LEEWAY, MAX_LEEWAY};
use crate::error::{ConfigError, ConfigErrorKind};
use crate::session::SessionType;
use crate::telemetry::{Telemetry, TelemetryBuilder, TelemetryHandler};
use crate::token::{DEFAULT_TOKEN_CACHE_CAPACITY, VerifiedTokenCache};
use crate::transport::{CookieConfig, CsrfConfig, GateLimits};

use super::handle::Inner;
use super::slot::IssuerSlot;
use super::{TrustedIssuer, Verifier};

/// Builder for [`Verifier`]. Every setter documents its default; [`build`](Self::build)
/// checks everything and returns a [`ConfigError`] for any invalid value or combination.
#[must_use]
pub struct VerifierBuilder {
    issuers: Vec<TrustedIssuer>,
    audiences: Vec<String>,
    leeway: Duration,
    cache_capacity: usize,
    cookies: CookieConfig,
    csrf: CsrfConfig,
    gate_limits: GateLimits,
    telemetry: TelemetryBuilder,
    shared_telemetry: Option<Telemetry>,
    clock: Arc<dyn Clock>,
}

impl Default for VerifierBuilder {
    fn default() -> Self {
        Self {
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            cache_capacity: DEFAULT_TOKEN_CACHE_CAPACITY,
            cookies: CookieConfig::default(),
            csrf: CsrfConfig::default(),
            gate_limits: GateLimits::default(),
            telemetry: TelemetryBuilder::default(),
            shared_telemetry: None,
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("leeway", &self.leeway)
            .field("telemetry", &self.telemetry)
            .finish_non_exhaustive()
    }
}

impl VerifierBuilder {
    /// Accept tokens from `issuer`. At least one is required; with several, a token's `iss`
    /// decides whose keys verify it, and the first one is the primary issuer. No default.
    pub fn trust(mut self, issuer: TrustedIssuer) -> Self {
        self.issuers.push(issuer);
        self
    }

    /// Answer to `audience`: tokens must carry an `aud` naming one of the audiences given
    /// (RFC 7519 section 4.1.3). Call it once per accepted audience. Defaults to none, and
    /// then a token carrying any `aud` is refused.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Clock leeway for `exp`, `nbf` and `iat`, whole seconds. Defaults to 5 s; at most 60 s.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// How many verified tokens to remember, so a token seen again skips its signature
    /// check and claims parsing (time, issuer, audience, type and the layers' claim checks
    /// still run on every request; see [`VerifiedTokenCache`]). Defaults to 4096; 0 turns
    /// the cache off.
    pub fn verified_token_cache(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// The names token cookies are read by (and, for [`Charon`](crate::Charon), their
    /// attributes). Defaults to [`CookieConfig::default`] (Charon's names).
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

    /// Size limits of the request gate. Defaults to [`GateLimits::new`] (8 KiB tokens).
    pub fn gate_limits(mut self, limits: GateLimits) -> Self {
        self.gate_limits = limits;
        self
    }

    /// Add a telemetry handler (a closure `Fn(&Event<'_>)` works). Handlers run in the
    /// order added. None by default.
    pub fn on_event(mut self, handler: impl TelemetryHandler) -> Self {
        self.telemetry = self.telemetry.on_event(handler);
        self
    }

    /// Emit every event as a `tracing` event (feature `tracing`). Defaults to on.
    pub fn tracing_events(mut self, on: bool) -> Self {
        self.telemetry = self.telemetry.tracing_events(on);
        self
    }

    /// Count every event with the `metrics` crate (feature `metrics`). Defaults to on.
    pub fn metrics_counters(mut self, on: bool) -> Self {
        self.telemetry = self.telemetry.metrics_counters(on);
        self
    }

    /// The session types the built-in `metrics` bridge labels by name; see
    /// [`TelemetryBuilder::metrics_session_types`]. Defaults to no allowlist.
    pub fn metrics_session_types(mut self, types: impl IntoIterator<Item = SessionType>) -> Self {
        self.telemetry = self.telemetry.metrics_session_types(types);
        self
    }

    /// Deliver events to this already built telemetry (for instance the one a
    /// [`RemoteJwks`](crate::jwks::RemoteJwks) reports to) instead of the handlers and
    /// bridges configured here. Defaults to telemetry built from those settings.
    pub fn telemetry(mut self, telemetry: Telemetry) -> Self {
        self.shared_telemetry = Some(telemetry);
        self
    }

    /// Where "now" comes from. Defaults to the system clock.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub(crate) fn clock_arc(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Check everything and build the verifier.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`]: no trusted issuer ([`ConfigErrorKind::Missing`]), an empty or
    /// repeated issuer, an empty audience, a leeway over 60 s, a maximum token lifetime of
    /// zero or over 100 years, invalid cookie, CSRF or gate settings, more than 32 metrics
    /// session types.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::new(
                ConfigErrorKind::LeewayTooLarge,
                "the clock leeway must be at most 60 s",
            ));
        }
        if self.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::new(
                ConfigErrorKind::Invalid,
                "an audience must not be empty",
            ));
        }
        self.cookies.validate()?;
        self.csrf.validate()?;
        self.gate_limits.validate()?;
        let mut slots: Vec<IssuerSlot> = Vec::with_capacity(self.issuers.len());
        for issuer in self.issuers {
            if slots.iter().any(|s| s.iss() == issuer.iss) {
                return Err(ConfigError::new(
                    ConfigErrorKind::Invalid,
                    "an issuer is trusted twice",
                ));
            }
            slots.push(IssuerSlot::new(issuer, self.leeway, &self.audiences)?);
        }
        let mut codecs = slots.into_iter();
        let primary = codecs.next().ok_or_else(|| {
            ConfigError::new(
                ConfigErrorKind::Missing,
                "a verifier needs at least one trusted issuer",
            )
        })?;
        let telemetry = match self.shared_telemetry {
            Some(telemetry) => telemetry,
            None => self.telemetry.build()?,
        };
        Ok(Verifier {
            inner: Arc::new(Inner {
                primary,
                others: codecs.collect(),
                audiences: self.audiences,
                cache: VerifiedTokenCache::new(self.cache_capacity),
                cookies: self.cookies,
                csrf: self.csrf,
                gate_limits: self.gate_limits,
                telemetry,
                clock: self.clock,
            }),
        })
    }
}
