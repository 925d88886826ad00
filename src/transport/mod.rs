//! Token transports: how a token travels between client and server.
//!
//! # The three transports
//!
//! | [`Transport`] | response body | cookie | request |
//! |---|---|---|---|
//! | [`Bearer`](Transport::Bearer) | whole token | none | `Authorization: Bearer <token>` |
//! | [`Cookie`](Transport::Cookie) | `header.payload` | `.signature` | `Authorization: Bearer header.payload` + the cookie |
//! | [`CookieOnly`](Transport::CookieOnly) | none | whole token | the cookie (+ a CSRF signal on unsafe methods) |
//!
//! Bearer is for non-browser clients. The split-token Cookie transport keeps a whole token
//! out of JavaScript's reach (an XSS can steal only the unsigned half) while the
//! `Authorization` header keeps cross-site requests out. CookieOnly keeps tokens out of
//! JavaScript entirely, at the price of a CSRF check ([`CsrfConfig`]).
//!
//! # The request gate
//!
//! [`extract_token`] reads the token of a request: one `Authorization` header at most,
//! scheme `Bearer` in any case followed by exactly one space, visible ASCII only, a size
//! cap ([`GateLimits`]); cookies parsed without percent-decoding and matched byte-exact by
//! name, duplicates refused; the signature cookie stitched to the header per Charon. What is
//! ambiguous is a 400 ([`AuthErrorKind::MalformedRequest`](crate::AuthErrorKind::MalformedRequest)),
//! what is absent a 401 ([`AuthErrorKind::TokenNotFound`](crate::AuthErrorKind::TokenNotFound)).
//!
//! # Issuing
//!
//! [`split_for_transport`] splits an issued token into its body and cookie parts, and
//! [`CookieConfig`] (names and attributes, secure by default) builds the `Set-Cookie` values
//! that carry and clear the cookies.

mod cookie_config;
mod csrf;
mod extract;
mod set_cookie;

pub use cookie_config::{
    CookieConfig, DEFAULT_ACCESS_COOKIE_NAME, DEFAULT_REFRESH_COOKIE_NAME, HOST_ACCESS_COOKIE_NAME,
    HOST_REFRESH_COOKIE_NAME, SameSite,
};
pub use csrf::{CsrfConfig, DEFAULT_CSRF_HEADER};
pub use extract::{ExtractedToken, GateLimits, extract_token};
pub use set_cookie::split_for_transport;

use std::fmt;

/// How tokens are carried between client and server.
///
/// Serialized (serde) and parsed ([`FromStr`](std::str::FromStr)) by its stable name:
///
/// ```
/// use charon_auth::Transport;
/// let t: Transport = "cookie_only".parse().unwrap();
/// assert_eq!(t, Transport::CookieOnly);
/// assert_eq!(serde_json::to_string(&t).unwrap(), r#""cookie_only""#);
/// let back: Transport = serde_json::from_str(r#""bearer""#).unwrap();
/// assert_eq!(back, Transport::Bearer);
/// assert!("Bearer".parse::<Transport>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// A string that is not a [`Transport`] name (`bearer`, `cookie`, `cookie_only`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("transport must be bearer, cookie or cookie_only")]
#[non_exhaustive]
pub struct ParseTransportError;

impl std::str::FromStr for Transport {
    type Err = ParseTransportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or(ParseTransportError)
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
        for t in [Transport::Bearer, Transport::Cookie, Transport::CookieOnly] {
            assert_eq!(t.as_str().parse::<Transport>(), Ok(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<Transport>(&json).unwrap(), t);
        }
        assert_eq!("cookie-only".parse::<Transport>(), Err(ParseTransportError));
        assert!(serde_json::from_str::<Transport>("\"CookieOnly\"").is_err());
    }
}
