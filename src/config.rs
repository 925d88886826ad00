//! Plain configuration values and their validation.
//!
//! These are what [`CharonBuilder`](crate::CharonBuilder) fills in; the defaults are
//! Charon's.

use std::time::Duration;

use crate::error::{ConfigError, ConfigErrorKind};

/// Default access token TTL: 15 minutes.
pub const DEFAULT_ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
/// Default refresh token TTL: 60 days.
pub const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(60 * 24 * 60 * 60);
/// Default session TTL: 365 days.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// Default clock leeway for `exp`, `nbf`, `iat` and freshness: 5 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(5);
/// Largest accepted clock leeway: 60 seconds.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);
/// Default age after which a new token generation starts: 10 seconds.
pub const DEFAULT_NEW_CYCLE_AFTER: Duration = Duration::from_secs(10);
/// Longest accepted TTL: 100 years (keeps timestamps far from overflow).
pub const MAX_TTL: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
/// Default cap on the live sessions of one user and session type: 10. See
/// [`CharonBuilder::max_sessions_per_user`](crate::CharonBuilder::max_sessions_per_user).
pub const DEFAULT_MAX_SESSIONS_PER_USER: u32 = 10;
/// Largest accepted cap on the live sessions of one user and session type: 10 000, so a
/// user's session list always stays small enough to list and to evict from in one step.
pub const MAX_SESSIONS_PER_USER_LIMIT: u32 = 10_000;

/// How long a session lives at most, from its creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionTtl {
    /// The session ends this long after creation, however often it is refreshed.
    Finite(Duration),
    /// The session lives as long as it keeps being refreshed within the refresh TTL.
    Infinite,
}

impl SessionTtl {
    /// The TTL in seconds, or `None` when infinite.
    pub fn as_secs(self) -> Option<i64> {
        match self {
            SessionTtl::Finite(d) => Some(secs(d)),
            SessionTtl::Infinite => None,
        }
    }
}

impl Default for SessionTtl {
    fn default() -> Self {
        SessionTtl::Finite(DEFAULT_SESSION_TTL)
    }
}

/// What the refresh layer does when a stale refresh token (older than the previous token
/// generation) is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ReuseDetection {
    /// Reject the request and delete the session: the token was most likely stolen and
    /// replayed (RFC 9700 refresh token rotation). The default.
    #[default]
    RevokeSession,
    /// Reject the request only, as Charon does.
    RejectOnly,
}

/// Token lifetimes and freshness rules, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTimes {
    /// Access token TTL. Defaults to 15 minutes.
    pub access_ttl: Duration,
    /// Refresh token TTL. Defaults to 60 days.
    pub refresh_ttl: Duration,
    /// Session TTL. Defaults to 365 days.
    pub session_ttl: SessionTtl,
    /// Clock leeway. Defaults to 5 seconds, at most 60.
    pub leeway: Duration,
    /// Age of the current token generation after which a refresh starts a new one.
    /// Defaults to 10 seconds.
    pub new_cycle_after: Duration,
}

impl Default for TokenTimes {
    fn default() -> Self {
        Self {
            access_ttl: DEFAULT_ACCESS_TTL,
            refresh_ttl: DEFAULT_REFRESH_TTL,
            session_ttl: SessionTtl::default(),
            leeway: DEFAULT_LEEWAY,
            new_cycle_after: DEFAULT_NEW_CYCLE_AFTER,
        }
    }
}

impl TokenTimes {
    /// Check every value and combination.
    ///
    /// TTLs must be whole seconds, at least 1 s and at most 100 years; the access TTL may
    /// not exceed the refresh TTL, nor the refresh TTL a finite session TTL; the leeway is
    /// at most 60 s and smaller than the access TTL; the generation cycle is at least 1 s.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let ttl = |name: &str, d: Duration| -> Result<(), ConfigError> {
            if d.as_secs() == 0 || d.subsec_nanos() != 0 || d > MAX_TTL {
                return Err(ConfigError::new(
                    ConfigErrorKind::InvalidTtl,
                    format!("{name} must be a whole number of seconds between 1 s and 100 years"),
                ));
            }
            Ok(())
        };
        ttl("access_ttl", self.access_ttl)?;
        ttl("refresh_ttl", self.refresh_ttl)?;
        if let SessionTtl::Finite(d) = self.session_ttl {
            ttl("session_ttl", d)?;
            if self.refresh_ttl > d {
                return Err(ConfigError::new(
                    ConfigErrorKind::InvalidTtl,
                    "refresh_ttl may not exceed session_ttl",
                ));
            }
        }
        if self.access_ttl > self.refresh_ttl {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidTtl,
                "access_ttl may not exceed refresh_ttl",
            ));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::new(
                ConfigErrorKind::LeewayTooLarge,
                "leeway may be at most 60 seconds",
            ));
        }
        if self.leeway.subsec_nanos() != 0 || self.leeway >= self.access_ttl {
            return Err(ConfigError::new(
                ConfigErrorKind::Invalid,
                "leeway must be whole seconds and shorter than access_ttl",
            ));
        }
        ttl("new_cycle_after", self.new_cycle_after)?;
        Ok(())
    }
}

/// Whole seconds of a duration as `i64` (saturating).
pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::needless_pass_by_value)]
    fn kind(t: TokenTimes) -> ConfigErrorKind {
        t.validate()
            .err()
            .map(|e| e.kind())
            .unwrap_or(ConfigErrorKind::Missing)
    }

    #[test]
    fn defaults_are_charons_and_valid() {
        let t = TokenTimes::default();
        assert_eq!(t.access_ttl.as_secs(), 900);
        assert_eq!(t.refresh_ttl.as_secs(), 5_184_000);
        assert_eq!(
            t.session_ttl,
            SessionTtl::Finite(Duration::from_secs(31_536_000))
        );
        assert_eq!(t.leeway.as_secs(), 5);
        assert_eq!(t.new_cycle_after.as_secs(), 10);
        t.validate().unwrap();
    }

    #[test]
    fn every_invalid_combination_is_rejected() {
        let d = TokenTimes::default;
        let s = Duration::from_secs;
        assert_eq!(
            kind(TokenTimes {
                access_ttl: s(0),
                ..d()
            }),
            ConfigErrorKind::InvalidTtl
        );
        assert_eq!(
            kind(TokenTimes {
                access_ttl: Duration::from_millis(1500),
                ..d()
            }),
            ConfigErrorKind::InvalidTtl
        );
        assert_eq!(
            kind(TokenTimes {
                refresh_ttl: s(0),
                ..d()
            }),
            ConfigErrorKind::InvalidTtl
        );
        assert_eq!(
            kind(TokenTimes {
                session_ttl: SessionTtl::Finite(s(0)),
                ..d()
            }),
            ConfigErrorKind::InvalidTtl
        );
        assert_eq!(
            kind(TokenTimes {
                access_ttl: s(100),
                refresh_ttl: s(50),
                ..d()
            }),
            ConfigErrorKind::InvalidTtl
        );
        assert_eq!(
            kind(TokenTimes {
                refresh_ttl: s(100),
                session_ttl: SessionTtl::Finite(s(50)),
                ..d()
            }),
            ConfigErrorKind::InvalidTtl
        );
        assert_eq!(
            kind(TokenTimes {
                access_ttl: MAX_TTL + s(1),
                ..d()
            }),
            ConfigErrorKind::InvalidTtl
        );
        assert_eq!(
            kind(TokenTimes {
                leeway: s(61),
                ..d()
            }),
            ConfigErrorKind::LeewayTooLarge
        );
        assert_eq!(
            kind(TokenTimes {
                access_ttl: s(5),
                refresh_ttl: s(5),
                ..d()
            }),
            ConfigErrorKind::Invalid
        );
        assert_eq!(
            kind(TokenTimes {
                new_cycle_after: s(0),
                ..d()
            }),
            ConfigErrorKind::InvalidTtl
        );
    }

    #[test]
    fn infinite_session_allows_any_refresh_ttl() {
        let t = TokenTimes {
            session_ttl: SessionTtl::Infinite,
            refresh_ttl: MAX_TTL,
            ..TokenTimes::default()
        };
        t.validate().unwrap();
        assert_eq!(SessionTtl::Infinite.as_secs(), None);
    }
}
