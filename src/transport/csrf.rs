//! CSRF protection of the cookie-only transport.

use http::header::HeaderName;
use http::{HeaderMap, Method};

use super::Transport;
use crate::error::{AuthError, AuthErrorKind, ConfigError, ConfigErrorKind};

/// The default same-origin signal header: `x-csrf-protect`, the name Charon's README
/// suggests for XHR clients.
pub const DEFAULT_CSRF_HEADER: &str = "x-csrf-protect";

/// CSRF protection of the [`Transport::CookieOnly`] transport.
///
/// A cookie-only request is authenticated by cookies alone, which the browser attaches to
/// cross-site requests as well (`SameSite=Strict` is defence in depth, not a guarantee:
/// same-site subdomains and older browsers). So an unsafe request (any method but `GET`,
/// `HEAD`, `OPTIONS` and `TRACE`) must show it comes from the application itself, by either
///
/// - carrying the configured custom header ([`DEFAULT_CSRF_HEADER`], any value): a
///   cross-origin page cannot add a non-safelisted header without a CORS preflight, which
///   your CORS policy refuses unless it allows that header with credentials; or
/// - `Sec-Fetch-Site: same-origin`, which browsers set and pages cannot forge (`same-site`
///   is not enough: a sibling subdomain is same-site).
///
/// Otherwise the request fails with [`AuthErrorKind::CsrfFailed`] (403). The
/// [`Transport::Bearer`] and [`Transport::Cookie`] transports need no check: their token (or
/// half of it) travels in the `Authorization` header, which cross-site pages cannot set.
///
/// Enabled by default; [`insecure_disable`](Self::insecure_disable) turns it off.
///
/// ```
/// use charon_auth::Transport;
/// use charon_auth::transport::CsrfConfig;
/// use http::{HeaderMap, HeaderValue, Method};
///
/// let csrf = CsrfConfig::default();
/// let mut headers = HeaderMap::new();
/// assert!(csrf.check(Transport::CookieOnly, &Method::POST, &headers).is_err());
/// headers.insert("x-csrf-protect", HeaderValue::from_static("1"));
/// assert!(csrf.check(Transport::CookieOnly, &Method::POST, &headers).is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfConfig {
    enabled: bool,
    header: HeaderName,
}

impl Default for CsrfConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            header: HeaderName::from_static(DEFAULT_CSRF_HEADER),
        }
    }
}

impl CsrfConfig {
    /// Enabled, with the default header; same as [`Default::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The custom header whose presence marks a same-origin request. It must be a header
    /// that browsers never add on their own and that is not CORS-safelisted; see
    /// [`validate`](Self::validate). Defaults to `x-csrf-protect`.
    #[must_use]
    pub fn with_header(mut self, header: HeaderName) -> Self {
        self.header = header;
        self
    }

    /// **Insecure**: turn the check off. Only for applications with their own CSRF defence
    /// (a synchronizer token, for instance); cookie-only requests are otherwise open to
    /// cross-site request forgery. Defaults to enabled.
    #[must_use]
    pub fn insecure_disable(mut self) -> Self {
        self.enabled = false;
        self
    }

    /// Whether the check runs.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The custom header name.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// Check the configuration.
    ///
    /// # Errors
    ///
    /// [`ConfigErrorKind::Invalid`] when the header is one a cross-site page can send
    /// without a preflight (the CORS-safelisted `accept`, `accept-language`,
    /// `content-language`, `content-type`, `range`) or one browsers set themselves
    /// (`cookie`, `origin`, `referer`, `host`, `user-agent`, `sec-*`, `proxy-*` and the other
    /// Fetch forbidden request headers), or `authorization`, which selects another transport.
    pub fn validate(&self) -> Result<(), ConfigError> {
        const REFUSED: &[&str] = &[
            // CORS-safelisted: a cross-site form or fetch sends them without preflight.
            "accept",
            "accept-language",
            "content-language",
            "content-type",
            "range",
            // Set by the browser itself (Fetch "forbidden request-header").
            "accept-charset",
            "accept-encoding",
            "access-control-request-headers",
            "access-control-request-method",
            "connection",
            "content-length",
            "cookie",
            "cookie2",
            "date",
            "dnt",
            "expect",
            "host",
            "keep-alive",
            "origin",
            "referer",
            "set-cookie",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "user-agent",
            "via",
            // Carries the bearer token.
            "authorization",
        ];
        let name = self.header.as_str();
        if REFUSED.contains(&name) || name.starts_with("sec-") || name.starts_with("proxy-") {
            return Err(ConfigError::new(
                ConfigErrorKind::Invalid,
                "the CSRF header must be a custom header that browsers neither add nor send \
                 cross-site without a preflight",
            ));
        }
        Ok(())
    }

    /// Check a request that came with `transport`.
    ///
    /// Passes for the [`Transport::Bearer`] and [`Transport::Cookie`] transports, for safe
    /// methods (`GET`, `HEAD`, `OPTIONS`, `TRACE`) and when the check is disabled;
    /// otherwise needs the custom header or `Sec-Fetch-Site: same-origin`.
    ///
    /// # Errors
    ///
    /// [`AuthErrorKind::CsrfFailed`] (403) when the request shows no same-origin signal.
    pub fn check(
        &self,
        transport: Transport,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<(), AuthError> {
        if !self.enabled || transport != Transport::CookieOnly || is_safe_method(method) {
            return Ok(());
        }
        if headers.contains_key(&self.header) || is_same_origin(headers) {
            return Ok(());
        }
        Err(AuthError::new(AuthErrorKind::CsrfFailed))
    }
}

/// RFC 9110 safe methods.
fn is_safe_method(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Exactly one `Sec-Fetch-Site` header, equal to `same-origin`.
fn is_same_origin(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all("sec-fetch-site").iter();
    matches!(
        (values.next(), values.next()),
        (Some(v), None) if v.as_bytes() == b"same-origin"
    )
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    fn passes(
        csrf: &CsrfConfig,
        transport: Transport,
        method: &Method,
        h: &[(&str, &str)],
    ) -> bool {
        let r = csrf.check(transport, method, &headers(h));
        if let Err(e) = &r {
            assert_eq!(e.kind(), AuthErrorKind::CsrfFailed);
            assert_eq!(e.status(), http::StatusCode::FORBIDDEN);
        }
        r.is_ok()
    }

    #[test]
    fn defaults() {
        let csrf = CsrfConfig::default();
        assert!(csrf.is_enabled());
        assert_eq!(csrf.header().as_str(), "x-csrf-protect");
        assert!(csrf.validate().is_ok());
        assert_eq!(CsrfConfig::new(), csrf);
    }

    #[test]
    fn cookie_only_unsafe_methods_need_a_signal() {
        let csrf = CsrfConfig::default();
        let cookie_only = Transport::CookieOnly;
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(!passes(&csrf, cookie_only, &method, &[]), "{method}");
            assert!(passes(
                &csrf,
                cookie_only,
                &method,
                &[("x-csrf-protect", "1")]
            ));
            assert!(passes(
                &csrf,
                cookie_only,
                &method,
                &[("X-CSRF-Protect", "")]
            ));
            assert!(passes(
                &csrf,
                cookie_only,
                &method,
                &[("sec-fetch-site", "same-origin")]
            ));
            for site in ["same-site", "cross-site", "none", "Same-Origin", ""] {
                assert!(
                    !passes(&csrf, cookie_only, &method, &[("sec-fetch-site", site)]),
                    "{site}"
                );
            }
            assert!(!passes(
                &csrf,
                cookie_only,
                &method,
                &[
                    ("sec-fetch-site", "same-origin"),
                    ("sec-fetch-site", "cross-site")
                ]
            ));
            assert!(!passes(&csrf, cookie_only, &method, &[("x-other", "1")]));
            assert!(!passes(
                &csrf,
                cookie_only,
                &method,
                &[
                    ("origin", "https://app.example"),
                    ("referer", "https://app.example/")
                ]
            ));
        }
        let custom = Method::from_bytes(b"PROPFIND").expect("method");
        assert!(!passes(&csrf, cookie_only, &custom, &[]));
    }

    #[test]
    fn safe_methods_pass() {
        let csrf = CsrfConfig::default();
        for method in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(
                passes(&csrf, Transport::CookieOnly, &method, &[]),
                "{method}"
            );
        }
    }

    #[test]
    fn other_transports_pass() {
        let csrf = CsrfConfig::default();
        for transport in [Transport::Bearer, Transport::Cookie] {
            assert!(passes(&csrf, transport, &Method::POST, &[]), "{transport}");
        }
    }

    #[test]
    fn custom_header_and_disabling() {
        let csrf = CsrfConfig::default().with_header(HeaderName::from_static("x-requested-with"));
        assert!(csrf.validate().is_ok());
        assert!(passes(
            &csrf,
            Transport::CookieOnly,
            &Method::POST,
            &[("x-requested-with", "XMLHttpRequest")]
        ));
        assert!(!passes(
            &csrf,
            Transport::CookieOnly,
            &Method::POST,
            &[("x-csrf-protect", "1")]
        ));
        let off = CsrfConfig::default().insecure_disable();
        assert!(!off.is_enabled());
        assert!(passes(&off, Transport::CookieOnly, &Method::POST, &[]));
    }

    #[test]
    fn refused_headers() {
        for name in [
            "content-type",
            "accept",
            "cookie",
            "origin",
            "referer",
            "sec-fetch-site",
            "sec-fetch-mode",
            "proxy-authorization",
            "authorization",
            "user-agent",
        ] {
            let csrf = CsrfConfig::default().with_header(HeaderName::from_static(name));
            let err = csrf.validate().err();
            assert_eq!(
                err.map(|e| e.kind()),
                Some(ConfigErrorKind::Invalid),
                "{name}"
            );
        }
    }
}
