//! What the session API hands back: tokens for the body, cookies for the headers.

use std::fmt;

use http::HeaderMap;
use http::header::{HeaderValue, SET_COOKIE};

use super::Session;
use crate::clock::UnixTime;
use crate::transport::Transport;

/// Tokens issued by a login or refresh, shaped for their transport.
///
/// - Bearer: both whole tokens in the body, no cookies.
/// - Cookie: the body holds `header.payload`, the cookies `.signature`.
/// - CookieOnly: no token in the body, whole tokens in the cookies.
///
/// [`body`](Self::body) is the JSON body of Charon's contract; [`set_cookies`](Self::set_cookies)
/// the `Set-Cookie` header values (marked sensitive). With the `axum` feature this is an
/// `IntoResponse`; without it, send the body with `Cache-Control: no-store` (RFC 6749
/// section 5.1) so no cache keeps the tokens. `Debug` never prints tokens.
#[derive(Clone)]
pub struct IssuedTokens {
    pub(crate) transport: Transport,
    pub(crate) access_token: Option<String>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) access_token_exp: UnixTime,
    pub(crate) refresh_token_exp: UnixTime,
    pub(crate) set_cookies: Vec<HeaderValue>,
    pub(crate) session: Session,
}

impl IssuedTokens {
    /// The transport the tokens were shaped for.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The access token as the body carries it (whole for Bearer, `header.payload` for
    /// Cookie, `None` for CookieOnly).
    pub fn access_token(&self) -> Option<&str> {
        self.access_token.as_deref()
    }

    /// The refresh token as the body carries it.
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }

    /// Access token expiry (Unix seconds).
    pub fn access_token_exp(&self) -> UnixTime {
        self.access_token_exp
    }

    /// Refresh token expiry (Unix seconds).
    pub fn refresh_token_exp(&self) -> UnixTime {
        self.refresh_token_exp
    }

    /// `Set-Cookie` values to send (empty for Bearer).
    pub fn set_cookies(&self) -> &[HeaderValue] {
        &self.set_cookies
    }

    /// The session as stored (with its new lock version).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The JSON body: `{access_token, refresh_token, access_token_exp, refresh_token_exp}`
    /// (tokens `null` for cookie-only).
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "access_token_exp": self.access_token_exp,
            "refresh_token_exp": self.refresh_token_exp,
        })
    }

    /// Append the `Set-Cookie` headers to `headers`.
    pub fn apply_cookies(&self, headers: &mut HeaderMap) {
        for value in &self.set_cookies {
            headers.append(SET_COOKIE, value.clone());
        }
    }
}

impl fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedTokens")
            .field("transport", &self.transport)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "REDACTED"),
            )
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "REDACTED"),
            )
            .field("access_token_exp", &self.access_token_exp)
            .field("refresh_token_exp", &self.refresh_token_exp)
            .field("set_cookies", &self.set_cookies.len())
            .field("session_id", &self.session.id)
            .finish()
    }
}

/// The result of a logout: the `Set-Cookie` values that clear both token cookies.
#[derive(Debug, Clone)]
pub struct LoggedOut {
    pub(crate) set_cookies: Vec<HeaderValue>,
    pub(crate) deleted: bool,
}

impl LoggedOut {
    /// `Set-Cookie` values clearing the token cookies (same Path, Domain and SameSite as
    /// when set, `Max-Age=0`).
    pub fn set_cookies(&self) -> &[HeaderValue] {
        &self.set_cookies
    }

    /// Whether a session was actually deleted (false if it was already gone).
    pub fn deleted(&self) -> bool {
        self.deleted
    }

    /// Append the `Set-Cookie` headers to `headers`.
    pub fn apply_cookies(&self, headers: &mut HeaderMap) {
        for value in &self.set_cookies {
            headers.append(SET_COOKIE, value.clone());
        }
    }
}

#[cfg(feature = "axum")]
mod axum_impls {
    use axum_core::body::Body;
    use axum_core::response::{IntoResponse, Response};
    use http::StatusCode;
    use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};

    use super::{IssuedTokens, LoggedOut};

    impl IntoResponse for IssuedTokens {
        /// 200 with the JSON body, `Cache-Control: no-store` (RFC 6749 section 5.1) and the
        /// `Set-Cookie` headers.
        fn into_response(self) -> Response {
            let mut response = Response::new(Body::from(self.body().to_string()));
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            self.apply_cookies(response.headers_mut());
            response
        }
    }

    impl IntoResponse for LoggedOut {
        /// 204 with the cookie-clearing `Set-Cookie` headers.
        fn into_response(self) -> Response {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NO_CONTENT;
            self.apply_cookies(response.headers_mut());
            response
        }
    }
}
