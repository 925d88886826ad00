//! What a login needs to know about the request it answers: [`RequestContext`].

use http::request::{Parts, Request};
use http::{HeaderMap, HeaderName};

/// The header that tells a browser request apart: every current browser sends it on every
/// request, and a page's script cannot remove it.
const SEC_FETCH_MODE: HeaderName = HeaderName::from_static("sec-fetch-mode");

/// What [`Charon::create_session`](crate::Charon::create_session) needs to know about the
/// login request: whether a browser sent it, for browser enforcement (a Bearer session for
/// a browser is refused unless
/// [`insecure_allow_bearer_for_browsers`](crate::CharonBuilder::insecure_allow_bearer_for_browsers)).
///
/// Take it from the request you are answering:
/// - `&Parts` of the request: `charon.create_session(login, &parts)` (`&Parts` converts);
/// - with the `axum` feature, as an extractor: `async fn login(ctx: RequestContext, …)`;
/// - [`from_request`](Self::from_request) for a whole `http::Request`, or
///   [`from_headers`](Self::from_headers) for a framework that hands out only the headers
///   (a tonic request's metadata `into_headers()`);
/// - [`no_request`](Self::no_request) for a login that answers no client request at all (a
///   command-line tool, a job, a test).
///
/// ```
/// use charon_auth::{Charon, CreateSession, RequestContext, SessionErrorKind, Transport};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let charon = Charon::builder()
///     .issuer("my-app")
///     .base_secret("at least 32 bytes of secret entropy!!")
///     .build()?;
/// // A browser's login request: it carries `Sec-Fetch-Mode`.
/// let (parts, _body) = http::Request::post("/login")
///     .header("sec-fetch-mode", "cors")
///     .body(())?
///     .into_parts();
/// assert!(RequestContext::from(&parts).is_browser());
///
/// // Bearer tokens are for other clients: refused for a browser (400)…
/// let refused = charon
///     .create_session(CreateSession::new("user-1", Transport::Bearer), &parts)
///     .await
///     .unwrap_err();
/// assert_eq!(refused.kind(), SessionErrorKind::InsecureTransport);
/// // …which gets cookies instead.
/// charon
///     .create_session(CreateSession::new("user-1", Transport::Cookie), &parts)
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestContext {
    browser: bool,
}

impl RequestContext {
    /// The context of a request with these headers.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            browser: headers.contains_key(SEC_FETCH_MODE),
        }
    }

    /// The context of this request (only its headers are read).
    pub fn from_request<B>(request: &Request<B>) -> Self {
        Self::from_headers(request.headers())
    }

    /// A login that answers no client request: a command-line tool, a background job, a
    /// test. Browser enforcement has nothing to check, so it never refuses. Never use it
    /// inside a request handler: pass the request's parts (or the axum extractor) instead,
    /// or a browser could be handed Bearer tokens.
    pub const fn no_request() -> Self {
        Self { browser: false }
    }

    /// Whether a browser sent the request (it carries `Sec-Fetch-Mode`).
    pub const fn is_browser(&self) -> bool {
        self.browser
    }
}

impl From<&Parts> for RequestContext {
    fn from(parts: &Parts) -> Self {
        Self::from_headers(&parts.headers)
    }
}

impl From<&mut Parts> for RequestContext {
    fn from(parts: &mut Parts) -> Self {
        Self::from_headers(&parts.headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_is_recognised_from_every_source() {
        let browser = Request::get("/login")
            .header("Sec-Fetch-Mode", "navigate")
            .body(())
            .unwrap();
        let other = Request::get("/login").body(()).unwrap();
        assert!(RequestContext::from_request(&browser).is_browser());
        assert!(RequestContext::from_headers(browser.headers()).is_browser());
        assert!(!RequestContext::from_request(&other).is_browser());
        let (parts, ()) = browser.into_parts();
        assert!(RequestContext::from(&parts).is_browser());
        let (parts, ()) = other.into_parts();
        assert!(!RequestContext::from(&parts).is_browser());
        assert!(!RequestContext::no_request().is_browser());
    }
}
