//! [`SessionRead`]: how the refresh checks read a refresh token's session — from the store
//! every time, or through the store's coherent local cache.

use std::fmt;
use std::str::FromStr;

use crate::error::{ConfigError, ConfigErrorKind};

/// How the [`RefreshLayer`](crate::layer::RefreshLayer) reads the session of a refresh
/// token. Set with [`RefreshLayer::session_read`](crate::layer::RefreshLayer::session_read).
///
/// | mode | cost per request | a token made stale elsewhere (a refresh or logout on another instance) |
/// |---|---|---|
/// | `Store` | one store round trip | refused at once (and, when stale, the session revoked) |
/// | `Cached` | nothing on a cache hit, else one round trip | may be let through for the invalidation delay (milliseconds on loopback: see SECURITY.md), on this instance only |
///
/// `Cached` never decides a refusal from the cache: a session the cache says the token is
/// stale for, or that the cache says is not there, is read again from the store before the
/// request is refused (so a cache that lags never revokes a session by reuse detection,
/// nor refuses one created elsewhere), and a rotation
/// ([`Charon::refresh_session`](crate::Charon::refresh_session)) stays one lock-checked
/// write: if it was based on a cached session that lagged, the write fails its lock, the
/// session is read again, the token's freshness checked against it, and the write retried
/// once (a token that the fresh read shows stale is reuse: refused, and the session revoked
/// as the [`ReuseDetection`](crate::ReuseDetection) setting says). What `Cached` gives up
/// is only this: a request with a refresh token that another instance made stale, or whose
/// session another instance ended, in the moments before that instance's invalidation
/// arrives, is let through to a handler that only reads the session.
///
/// For routes that authenticate with the refresh token (a session cookie) and mostly read;
/// on the rotating `/refresh` route the write costs a round trip anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SessionRead {
    /// Read the session from the store on every request (the default).
    #[default]
    Store,
    /// Read through the store's coherent local cache
    /// ([`SessionStore::get_cached`](crate::store::SessionStore::get_cached)): the Redis
    /// store with a [session cache](crate::store::redis::RedisStoreBuilder::session_cache);
    /// any other store answers as `Store`.
    Cached,
}

impl SessionRead {
    /// A stable name: `store` or `cached` (what [`FromStr`] reads).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Store => "store",
            Self::Cached => "cached",
        }
    }
}

impl fmt::Display for SessionRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionRead {
    type Err = ConfigError;

    /// `store` or `cached` (ASCII case-insensitive, surrounding blanks ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        [Self::Store, Self::Cached]
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                ConfigError::new(
                    ConfigErrorKind::Invalid,
                    "session read mode must be one of store, cached",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        for mode in [SessionRead::Store, SessionRead::Cached] {
            assert_eq!(mode.as_str().parse::<SessionRead>().ok(), Some(mode));
            assert_eq!(mode.to_string(), mode.as_str());
        }
        assert_eq!(
            " Cached ".parse::<SessionRead>().ok(),
            Some(SessionRead::Cached)
        );
        let err = "strict".parse::<SessionRead>().err();
        assert_eq!(err.map(|e| e.kind()), Some(ConfigErrorKind::Invalid));
        assert_eq!(SessionRead::default(), SessionRead::Store);
    }
}
