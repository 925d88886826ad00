//! TTL rules: how long the session, the refresh token and the access token live.
//!
//! refresh TTL = min(configured refresh TTL, time left in the session);
//! access TTL = min(configured access TTL, refresh TTL). So no token outlives its session,
//! and no access token outlives its refresh token.

use crate::clock::UnixTime;
use crate::config::{TokenTimes, secs};

/// The expiries of one issuance (login or refresh).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Absolute session end; `None` when infinite.
    pub session_expires_at: Option<UnixTime>,
    /// Refresh token TTL in seconds (also its cookie's Max-Age).
    pub refresh_ttl: i64,
    /// Access token TTL in seconds (also its cookie's Max-Age).
    pub access_ttl: i64,
    /// `now + refresh_ttl`.
    pub refresh_expires_at: UnixTime,
    /// `now + access_ttl`.
    pub access_expires_at: UnixTime,
}

impl Lifetimes {
    /// Lifetimes for a new session created at `now`.
    pub fn for_new_session(times: &TokenTimes, now: UnixTime) -> Self {
        let session_expires_at = times
            .session_ttl
            .as_secs()
            .map(|ttl| now.saturating_add(ttl));
        Self::compute(times, now, session_expires_at).unwrap_or(Self {
            session_expires_at,
            refresh_ttl: 0,
            access_ttl: 0,
            refresh_expires_at: now,
            access_expires_at: now,
        })
    }

    /// Lifetimes for refreshing a session that ends at `session_expires_at`; `None` when
    /// the session has no time left.
    pub fn for_refresh(
        times: &TokenTimes,
        now: UnixTime,
        session_expires_at: Option<UnixTime>,
    ) -> Option<Self> {
        Self::compute(times, now, session_expires_at)
    }

    fn compute(
        times: &TokenTimes,
        now: UnixTime,
        session_expires_at: Option<UnixTime>,
    ) -> Option<Self> {
        let mut refresh_ttl = secs(times.refresh_ttl);
        if let Some(exp) = session_expires_at {
            let left = exp.saturating_sub(now);
            if left <= 0 {
                return None;
            }
            refresh_ttl = refresh_ttl.min(left);
        }
        let access_ttl = secs(times.access_ttl).min(refresh_ttl);
        Some(Self {
            session_expires_at,
            refresh_ttl,
            access_ttl,
            refresh_expires_at: now.saturating_add(refresh_ttl),
            access_expires_at: now.saturating_add(access_ttl),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SessionTtl;
    use std::time::Duration;

    fn times(access: u64, refresh: u64, session: Option<u64>) -> TokenTimes {
        TokenTimes {
            access_ttl: Duration::from_secs(access),
            refresh_ttl: Duration::from_secs(refresh),
            session_ttl: session.map_or(SessionTtl::Infinite, |s| {
                SessionTtl::Finite(Duration::from_secs(s))
            }),
            ..TokenTimes::default()
        }
    }

    #[test]
    fn new_session_uses_configured_ttls() {
        let l = Lifetimes::for_new_session(&times(900, 3600, Some(86_400)), 1000);
        assert_eq!(l.session_expires_at, Some(87_400));
        assert_eq!((l.access_ttl, l.refresh_ttl), (900, 3600));
        assert_eq!((l.access_expires_at, l.refresh_expires_at), (1900, 4600));
    }

    #[test]
    fn infinite_session() {
        let l = Lifetimes::for_new_session(&times(900, 3600, None), 1000);
        assert_eq!(l.session_expires_at, None);
        assert_eq!(l.refresh_expires_at, 4600);
    }

    #[test]
    fn tokens_never_outlive_the_session() {
        // 10 s left in the session: both tokens capped at 10 s (Charon's test).
        let l = Lifetimes::for_refresh(&times(900, 3600, Some(86_400)), 1000, Some(1010)).unwrap();
        assert_eq!((l.access_ttl, l.refresh_ttl), (10, 10));
        assert_eq!((l.access_expires_at, l.refresh_expires_at), (1010, 1010));
        // 100 s left: refresh capped, access keeps its shorter TTL.
        let l = Lifetimes::for_refresh(&times(60, 3600, Some(86_400)), 1000, Some(1100)).unwrap();
        assert_eq!((l.access_ttl, l.refresh_ttl), (60, 100));
    }

    #[test]
    fn ended_session_cannot_be_refreshed() {
        let t = times(900, 3600, Some(86_400));
        assert_eq!(Lifetimes::for_refresh(&t, 1000, Some(1000)), None);
        assert_eq!(Lifetimes::for_refresh(&t, 1000, Some(999)), None);
    }
}
