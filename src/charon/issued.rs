//! What the session API hands back: tokens for the body, cookies for the headers.

use std::fmt;

use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue, PRAGMA, SET_COOKIE};
use http::{HeaderMap, Response, StatusCode};

use crate::clock::UnixTime;
use crate::session::Session;
use crate::transport::Transport;

/// Tokens issued by a login or refresh, shaped for their transport.
///
/// - Bearer: both whole tokens in the body, no cookies.
/// - Cookie: the body holds `header.payload`, the cookies `.signature`.
/// - CookieOnly: no token in the body, whole tokens in the cookies.
///
/// [`body`](Self::body) is the JSON body of Charon's contract; [`set_cookies`](Self::set_cookies)
/// the `Set-Cookie` header values (marked sensitive). [`to_response`](Self::to_response)
/// builds the whole answer for any framework (with `Cache-Control: no-store`, RFC 6749
/// section 5.1, so no cache keeps the tokens); with the `axum` feature this is also an
/// `IntoResponse`. `Debug` never prints tokens.
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

    /// The complete answer to a login or refresh, for any body type built from a `String`
    /// (axum's `Body`, `http_body_util::Full<Bytes>`, `String`): 200, the JSON
    /// [`body`](Self::body), `Content-Type: application/json`, `Cache-Control: no-store` and
    /// `Pragma: no-cache` (RFC 6749 section 5.1: no cache may keep the tokens), and the
    /// `Set-Cookie` headers.
    pub fn to_response<B: From<String>>(&self) -> Response<B> {
        let mut response = Response::new(B::from(self.body().to_string()));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        self.apply_cookies(headers);
        response
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

/// The result of a logout: the `Set-Cookie` values that clear both token cookies, and
/// whether the answer carries `Clear-Site-Data: "cookies"` (cookie transports, unless
/// turned off with [`CookieConfig::with_clear_site_data`](crate::transport::CookieConfig::with_clear_site_data)).
#[derive(Debug, Clone)]
pub struct LoggedOut {
    pub(crate) set_cookies: Vec<HeaderValue>,
    pub(crate) deleted: bool,
    pub(crate) clear_site_data: bool,
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

    /// Whether the answer carries `Clear-Site-Data: "cookies"`.
    pub fn clears_site_cookies(&self) -> bool {
        self.clear_site_data
    }

    /// Append the `Set-Cookie` headers (and `Clear-Site-Data` when set) to `headers`.
    pub fn apply_cookies(&self, headers: &mut HeaderMap) {
        for value in &self.set_cookies {
            headers.append(SET_COOKIE, value.clone());
        }
        if self.clear_site_data {
            headers.insert(
                HeaderName::from_static("clear-site-data"),
                HeaderValue::from_static("\"cookies\""),
            );
        }
    }

    /// The complete answer to a logout, for any body type: 204, the cookie-clearing
    /// `Set-Cookie` headers and, when set, `Clear-Site-Data: "cookies"`.
    pub fn to_response<B: Default>(&self) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = StatusCode::NO_CONTENT;
        self.apply_cookies(response.headers_mut());
        response
    }
}

#[cfg(feature = "axum")]
mod axum_impls {
    use axum_core::body::Body;
    use axum_core::response::{IntoResponse, Response};

    use super::{IssuedTokens, LoggedOut};

    impl IntoResponse for IssuedTokens {
        /// [`IssuedTokens::to_response`].
        fn into_response(self) -> Response {
            self.to_response::<Body>()
        }
    }

    impl IntoResponse for LoggedOut {
        /// [`LoggedOut::to_response`].
        fn into_response(self) -> Response {
            self.to_response::<Body>()
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn logout_response_clears_site_cookies_only_when_asked() {
        let cookie = HeaderValue::from_static("a=; Max-Age=0");
        let mut out = LoggedOut {
            set_cookies: vec![cookie],
            deleted: true,
            clear_site_data: true,
        };
        let response: Response<()> = out.to_response();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(response.headers()["clear-site-data"], "\"cookies\"");
        assert_eq!(response.headers().get_all(SET_COOKIE).iter().count(), 1);
        out.clear_site_data = false;
        let response: Response<()> = out.to_response();
        assert!(response.headers().get("clear-site-data").is_none());
    }
}
