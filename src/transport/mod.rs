//! Token transports: how a token travels between client and server.
//!
//! See [`Transport`] for the three modes.

mod cookie_config;
mod extract;
mod set_cookie;

pub use cookie_config::{
    CookieConfig, DEFAULT_ACCESS_COOKIE_NAME, DEFAULT_REFRESH_COOKIE_NAME, SameSite,
};
pub use extract::{ExtractedToken, GateLimits, extract_token};
pub use set_cookie::split_for_transport;

use std::fmt;

/// How tokens are carried between client and server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// Both tokens in the response body; the client sends `Authorization: Bearer <token>`.
    /// For non-browser clients.
    Bearer,
    /// Split token: the body carries `header.payload`, an HttpOnly cookie carries
    /// `.signature`; the server stitches them together. JavaScript never holds a whole token.
    Cookie,
    /// Whole tokens in HttpOnly cookies only; the body carries no token. Needs CSRF
    /// protection, which the verification layer enforces by default.
    CookieOnly,
}

impl Transport {
    /// The stable name used on the wire and in telemetry: `bearer`, `cookie`, `cookie_only`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Bearer => "bearer",
            Transport::Cookie => "cookie",
            Transport::CookieOnly => "cookie_only",
        }
    }

    /// Parse the stable name (`bearer`, `cookie`, `cookie_only`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "bearer" => Some(Transport::Bearer),
            "cookie" => Some(Transport::Cookie),
            "cookie_only" => Some(Transport::CookieOnly),
            _ => None,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in [Transport::Bearer, Transport::Cookie, Transport::CookieOnly] {
            assert_eq!(Transport::parse(t.as_str()), Some(t));
        }
        assert_eq!(Transport::parse("Bearer"), None);
    }
}
