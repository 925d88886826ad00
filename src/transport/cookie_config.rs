//! Names and attributes of the access and refresh token cookies.

use crate::error::{ConfigError, ConfigErrorKind};

/// Charon's default name of the access token cookie.
pub const DEFAULT_ACCESS_COOKIE_NAME: &str = "_access_token_signature";
/// Charon's default name of the refresh token cookie.
pub const DEFAULT_REFRESH_COOKIE_NAME: &str = "_refresh_token_signature";
/// The access token cookie's name in [`CookieConfig::host_prefixed`]: Charon's name behind
/// the `__Host-` prefix.
pub const HOST_ACCESS_COOKIE_NAME: &str = "__Host-access_token_signature";
/// The refresh token cookie's name in [`CookieConfig::host_prefixed`]: Charon's name behind
/// the `__Host-` prefix.
pub const HOST_REFRESH_COOKIE_NAME: &str = "__Host-refresh_token_signature";

/// Longest accepted cookie name, in bytes.
const MAX_NAME_LEN: usize = 128;
/// Longest accepted `Path` or `Domain`, in bytes.
const MAX_ATTR_LEN: usize = 1024;

/// The `SameSite` attribute of the token cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SameSite {
    /// `SameSite=Strict`: the browser never sends the cookie on cross-site requests. The default.
    Strict,
    /// `SameSite=Lax`: also sent on top-level cross-site navigations with safe methods.
    Lax,
    /// `SameSite=None`: sent on every cross-site request; requires `Secure`.
    None,
}

impl SameSite {
    /// The attribute value: `Strict`, `Lax` or `None`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// Names and attributes of the access and refresh token cookies.
///
/// The defaults are the secure attributes, `HttpOnly`, `Secure`, `SameSite=Strict`,
/// `Path=/`, no `Domain` (a host-only cookie), with Charon's names
/// (`_access_token_signature`, `_refresh_token_signature`) so that a Charon service and
/// its clients keep working. Anything weaker is an explicit opt-in through a setter named
/// for it ([`same_site_lax`](Self::same_site_lax)) or prefixed `insecure_`.
///
/// **New deployments should use [`host_prefixed`](Self::host_prefixed)**: the same
/// attributes with `__Host-` names, which a browser accepts only from the host itself,
/// with `Secure`, `Path=/` and no `Domain`. A sibling subdomain (or anything that can set
/// cookies for a parent domain) then cannot plant a second cookie of the same name, which
/// would make every request, logout included, fail with 400 (cookie tossing; see
/// [Choosing a transport](crate::guide::transports#cookie-tossing)).
///
/// ```
/// use charon_auth::transport::CookieConfig;
///
/// let cookies = CookieConfig::host_prefixed();
/// assert_eq!(cookies.access_name(), "__Host-access_token_signature");
/// assert_eq!(cookies.refresh_name(), "__Host-refresh_token_signature");
/// cookies.validate()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`validate`](Self::validate) checks the configuration; the handle's builder calls it,
/// so an invalid configuration is a [`ConfigError`] at start-up, never a broken cookie at
/// request time.
///
/// ```
/// use charon_auth::transport::CookieConfig;
///
/// let cookies = CookieConfig::default()
///     .with_access_name("__Host-access")
///     .with_refresh_name("__Secure-refresh")
///     .with_refresh_path("/api/refresh");
/// cookies.validate()?;
/// assert_eq!(cookies.refresh_path(), "/api/refresh");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieConfig {
    access_name: String,
    refresh_name: String,
    access_path: String,
    refresh_path: String,
    domain: Option<String>,
    same_site: SameSite,
    secure: bool,
    http_only: bool,
    clear_site_data: bool,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self {
            access_name: DEFAULT_ACCESS_COOKIE_NAME.to_owned(),
            refresh_name: DEFAULT_REFRESH_COOKIE_NAME.to_owned(),
            access_path: "/".to_owned(),
            refresh_path: "/".to_owned(),
            domain: None,
            same_site: SameSite::Strict,
            secure: true,
            http_only: true,
            clear_site_data: true,
        }
    }
}

impl CookieConfig {
    /// The secure defaults with Charon's cookie names; same as [`Default::default`]. Prefer
    /// [`host_prefixed`](Self::host_prefixed) unless clients of a Charon deployment need
    /// the old names.
    pub fn new() -> Self {
        Self::default()
    }

    /// The recommended configuration: the secure defaults with `__Host-` names,
    /// [`HOST_ACCESS_COOKIE_NAME`] (`__Host-access_token_signature`) and
    /// [`HOST_REFRESH_COOKIE_NAME`] (`__Host-refresh_token_signature`).
    ///
    /// Browsers refuse a `__Host-` cookie that is set without `Secure`, with a `Domain`, or
    /// with a `Path` other than `/`, which means a cookie set by a sibling subdomain or for
    /// a parent domain can never carry these names: cookie tossing cannot lock a user out.
    /// [`validate`](Self::validate) enforces the same rules on this configuration, so
    /// [`with_domain`](Self::with_domain), a refresh path other than `/` and
    /// [`insecure_allow_http`](Self::insecure_allow_http) are refused at build time with it.
    /// Browsers keep `Secure` cookies on `http://localhost` (a secure context) and
    /// everywhere else need HTTPS, which production needs anyway.
    ///
    /// Switching an existing deployment to it signs browsers out once (their cookies have
    /// the old names).
    pub fn host_prefixed() -> Self {
        Self {
            access_name: HOST_ACCESS_COOKIE_NAME.to_owned(),
            refresh_name: HOST_REFRESH_COOKIE_NAME.to_owned(),
            ..Self::default()
        }
    }

    /// Name of the access token cookie. Must be an RFC 6265 token; the `__Host-` and
    /// `__Secure-` prefixes are honoured and checked. Names are compared byte-exact when
    /// reading requests. Defaults to `_access_token_signature`.
    #[must_use]
    pub fn with_access_name(mut self, name: impl Into<String>) -> Self {
        self.access_name = name.into();
        self
    }

    /// Name of the refresh token cookie. Same rules as
    /// [`with_access_name`](Self::with_access_name). Defaults to `_refresh_token_signature`.
    #[must_use]
    pub fn with_refresh_name(mut self, name: impl Into<String>) -> Self {
        self.refresh_name = name.into();
        self
    }

    /// `Path` of the access token cookie. Defaults to `/`.
    #[must_use]
    pub fn with_access_path(mut self, path: impl Into<String>) -> Self {
        self.access_path = path.into();
        self
    }

    /// `Path` of the refresh token cookie. Restricting it to the refresh route (for example
    /// `/api/refresh`) keeps the refresh token off every other request, as Charon's README
    /// recommends. Defaults to `/`.
    #[must_use]
    pub fn with_refresh_path(mut self, path: impl Into<String>) -> Self {
        self.refresh_path = path.into();
        self
    }

    /// `Domain` of both cookies. Setting it shares the cookies with every subdomain, which
    /// widens who can read and overwrite them; not allowed with a `__Host-` name. Defaults to
    /// no `Domain` (a host-only cookie).
    #[must_use]
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Use `SameSite=Lax` instead of `Strict`: the cookies then also travel on top-level
    /// cross-site navigations with safe methods. Defaults to `SameSite=Strict`.
    #[must_use]
    pub fn same_site_lax(mut self) -> Self {
        self.same_site = SameSite::Lax;
        self
    }

    /// **Insecure**: use `SameSite=None`, so the cookies travel on every cross-site request.
    /// Only for front-ends served from another site; requires `Secure`, and the cookie-only
    /// transport then relies entirely on the CSRF check. Defaults to `SameSite=Strict`.
    #[must_use]
    pub fn insecure_same_site_none(mut self) -> Self {
        self.same_site = SameSite::None;
        self
    }

    /// **Insecure**: drop the `Secure` attribute so the cookies also travel over plain HTTP.
    /// For local development on `http://localhost` only; not allowed with `__Host-` or
    /// `__Secure-` names or with `SameSite=None`. Defaults to `Secure`.
    #[must_use]
    pub fn insecure_allow_http(mut self) -> Self {
        self.secure = false;
        self
    }

    /// **Insecure**: drop the `HttpOnly` attribute so scripts can read the cookies. This
    /// defeats the purpose of the cookie transports (an XSS could steal tokens); only for
    /// debugging. Defaults to `HttpOnly`.
    #[must_use]
    pub fn insecure_disable_http_only(mut self) -> Self {
        self.http_only = false;
        self
    }

    /// Whether a logout of a cookie-transport client answers with `Clear-Site-Data:
    /// "cookies"` besides the cookie-clearing `Set-Cookie` headers. The browser then also
    /// drops cookies this server could not name (for example a same-name cookie another
    /// subdomain planted with its own `Domain` or `Path`). Note that browsers clear the
    /// cookies of the whole registrable domain (e.g. every `*.example.com` app); turn it off
    /// if other applications share that domain. Defaults to on.
    #[must_use]
    pub fn with_clear_site_data(mut self, on: bool) -> Self {
        self.clear_site_data = on;
        self
    }

    /// Whether cookie-transport logouts answer with `Clear-Site-Data: "cookies"`.
    pub fn clear_site_data(&self) -> bool {
        self.clear_site_data
    }

    /// Name of the access token cookie.
    pub fn access_name(&self) -> &str {
        &self.access_name
    }

    /// Name of the refresh token cookie.
    pub fn refresh_name(&self) -> &str {
        &self.refresh_name
    }

    /// `Path` of the access token cookie.
    pub fn access_path(&self) -> &str {
        &self.access_path
    }

    /// `Path` of the refresh token cookie.
    pub fn refresh_path(&self) -> &str {
        &self.refresh_path
    }

    /// `Domain` of both cookies, if any.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// `SameSite` of both cookies.
    pub fn same_site(&self) -> SameSite {
        self.same_site
    }

    /// Whether both cookies carry `Secure`.
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Whether both cookies carry `HttpOnly`.
    pub fn http_only(&self) -> bool {
        self.http_only
    }

    /// Check the configuration.
    ///
    /// # Errors
    ///
    /// [`ConfigErrorKind::InvalidCookie`] when a name is not an RFC 6265 token (or longer
    /// than 128 bytes), both names are equal, a path does not start with `/` or holds
    /// characters outside visible ASCII or `;`, the domain is not a host name, a `__Host-`
    /// name is used without `Secure`, with a `Path` other than `/` or with a `Domain`, a
    /// `__Secure-` name is used without `Secure`, or `SameSite=None` is used without
    /// `Secure`. Prefixes are matched case-insensitively, as browsers do.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(domain) = &self.domain
            && !is_valid_domain(domain)
        {
            return Err(invalid("cookie domain is not a valid host name"));
        }
        self.validate_one(&self.access_name, &self.access_path)?;
        self.validate_one(&self.refresh_name, &self.refresh_path)?;
        if self.access_name == self.refresh_name {
            return Err(invalid(
                "the access and refresh cookies must have different names",
            ));
        }
        if self.same_site == SameSite::None && !self.secure {
            return Err(invalid("SameSite=None requires the Secure attribute"));
        }
        Ok(())
    }

    fn validate_one(&self, name: &str, path: &str) -> Result<(), ConfigError> {
        if !is_token(name) || name.len() > MAX_NAME_LEN {
            return Err(invalid(
                "cookie name must be a non-empty RFC 6265 token of at most 128 bytes",
            ));
        }
        if !is_valid_path(path) {
            return Err(invalid(
                "cookie path must start with '/' and hold only visible ASCII other than ';'",
            ));
        }
        if has_prefix_ci(name, "__Host-") {
            if !self.secure {
                return Err(invalid("a __Host- cookie requires the Secure attribute"));
            }
            if path != "/" {
                return Err(invalid("a __Host- cookie requires Path=/"));
            }
            if self.domain.is_some() {
                return Err(invalid("a __Host- cookie must not have a Domain"));
            }
        }
        if has_prefix_ci(name, "__Secure-") && !self.secure {
            return Err(invalid("a __Secure- cookie requires the Secure attribute"));
        }
        Ok(())
    }
}

fn invalid(message: &'static str) -> ConfigError {
    ConfigError::new(ConfigErrorKind::InvalidCookie, message)
}

/// Whether `name` starts with `prefix`, ignoring ASCII case (browsers apply the cookie
/// prefix rules case-insensitively).
fn has_prefix_ci(name: &str, prefix: &str) -> bool {
    name.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// RFC 7230 `tchar`, which RFC 6265 uses for cookie names.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A non-empty RFC 7230 token.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// RFC 6265 `path-value` restricted to visible ASCII, starting with `/`.
pub(crate) fn is_path_byte(b: u8) -> bool {
    b.is_ascii_graphic() && b != b';'
}

fn is_valid_path(path: &str) -> bool {
    path.starts_with('/') && path.len() <= MAX_ATTR_LEN && path.bytes().all(is_path_byte)
}

/// Letters, digits, `-` and `.`.
pub(crate) fn is_domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.'
}

/// A host name: labels of letters, digits and `-`, not starting or ending with `-`,
/// separated by single dots; one leading dot is tolerated (browsers ignore it).
fn is_valid_domain(domain: &str) -> bool {
    let host = domain.strip_prefix('.').unwrap_or(domain);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(is_domain_byte)
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_secure_and_charon_compatible() {
        let c = CookieConfig::default();
        assert_eq!(c.access_name(), "_access_token_signature");
        assert_eq!(c.refresh_name(), "_refresh_token_signature");
        assert_eq!(c.access_path(), "/");
        assert_eq!(c.refresh_path(), "/");
        assert_eq!(c.domain(), None);
        assert_eq!(c.same_site(), SameSite::Strict);
        assert!(c.secure());
        assert!(c.http_only());
        assert!(c.validate().is_ok());
        assert_eq!(CookieConfig::new(), c);
    }

    #[test]
    fn host_prefixed_is_the_default_with_host_names_and_keeps_their_rules() {
        let c = CookieConfig::host_prefixed();
        assert_eq!(c.access_name(), "__Host-access_token_signature");
        assert_eq!(c.refresh_name(), "__Host-refresh_token_signature");
        assert_eq!(
            c.clone()
                .with_access_name(DEFAULT_ACCESS_COOKIE_NAME)
                .with_refresh_name(DEFAULT_REFRESH_COOKIE_NAME),
            CookieConfig::default(),
            "only the names differ from the default"
        );
        assert!(c.validate().is_ok());
        // What browsers require of a __Host- cookie is refused at build time.
        for (what, bad) in [
            ("domain", c.clone().with_domain("example.com")),
            ("refresh path", c.clone().with_refresh_path("/refresh")),
            ("access path", c.clone().with_access_path("/api")),
            ("no Secure", c.insecure_allow_http()),
        ] {
            assert_eq!(
                bad.validate().err().as_ref().map(ConfigError::kind),
                Some(ConfigErrorKind::InvalidCookie),
                "{what}"
            );
        }
    }

    #[test]
    fn setters() {
        let c = CookieConfig::default()
            .with_access_name("a")
            .with_refresh_name("r")
            .with_access_path("/api")
            .with_refresh_path("/api/refresh")
            .with_domain("example.com")
            .same_site_lax()
            .insecure_allow_http()
            .insecure_disable_http_only();
        assert_eq!((c.access_name(), c.refresh_name()), ("a", "r"));
        assert_eq!(
            (c.access_path(), c.refresh_path()),
            ("/api", "/api/refresh")
        );
        assert_eq!(c.domain(), Some("example.com"));
        assert_eq!(c.same_site(), SameSite::Lax);
        assert!(!c.secure());
        assert!(!c.http_only());
        assert!(c.validate().is_ok());
        assert_eq!(
            CookieConfig::default()
                .insecure_same_site_none()
                .same_site(),
            SameSite::None
        );
        assert_eq!(SameSite::None.as_str(), "None");
    }

    #[test]
    fn valid_configurations() {
        let ok = [
            CookieConfig::default()
                .with_access_name("__Host-access")
                .with_refresh_name("__Host-refresh"),
            CookieConfig::default()
                .with_access_name("__Secure-a")
                .with_refresh_name("__Secure-r")
                .with_refresh_path("/auth/refresh")
                .with_domain(".example.com"),
            CookieConfig::default().insecure_same_site_none(),
            CookieConfig::default()
                .insecure_allow_http()
                .same_site_lax(),
            CookieConfig::default().with_access_name("a!#$&'*+-.^_`|~9"),
        ];
        for c in ok {
            assert!(c.validate().is_ok(), "{c:?}");
        }
    }

    #[test]
    fn invalid_configurations() {
        let long = "a".repeat(129);
        let bad = [
            ("empty name", CookieConfig::default().with_access_name("")),
            (
                "space in name",
                CookieConfig::default().with_access_name("a b"),
            ),
            (
                "= in name",
                CookieConfig::default().with_refresh_name("a=b"),
            ),
            (
                "; in name",
                CookieConfig::default().with_refresh_name("a;b"),
            ),
            (
                "non-ASCII name",
                CookieConfig::default().with_access_name("jéton"),
            ),
            (
                "control in name",
                CookieConfig::default().with_access_name("a\u{1}"),
            ),
            ("long name", CookieConfig::default().with_access_name(long)),
            (
                "same names",
                CookieConfig::default()
                    .with_access_name("t")
                    .with_refresh_name("t"),
            ),
            (
                "relative path",
                CookieConfig::default().with_refresh_path("api"),
            ),
            ("empty path", CookieConfig::default().with_access_path("")),
            (
                "; in path",
                CookieConfig::default().with_refresh_path("/a;b"),
            ),
            (
                "space in path",
                CookieConfig::default().with_refresh_path("/a b"),
            ),
            (
                "CR in path",
                CookieConfig::default().with_refresh_path("/a\r\n"),
            ),
            ("empty domain", CookieConfig::default().with_domain("")),
            ("dot domain", CookieConfig::default().with_domain(".")),
            (
                "; in domain",
                CookieConfig::default().with_domain("a.com;x"),
            ),
            ("empty label", CookieConfig::default().with_domain("a..com")),
            ("dash label", CookieConfig::default().with_domain("-a.com")),
            (
                "__Host- without Secure",
                CookieConfig::default()
                    .with_access_name("__Host-a")
                    .insecure_allow_http(),
            ),
            (
                "__Host- with path",
                CookieConfig::default()
                    .with_refresh_name("__Host-r")
                    .with_refresh_path("/refresh"),
            ),
            (
                "__Host- with domain",
                CookieConfig::default()
                    .with_access_name("__Host-a")
                    .with_domain("example.com"),
            ),
            (
                "__HOST- (any case) without Secure",
                CookieConfig::default()
                    .with_access_name("__HOST-a")
                    .insecure_allow_http(),
            ),
            (
                "__Secure- without Secure",
                CookieConfig::default()
                    .with_refresh_name("__Secure-r")
                    .insecure_allow_http(),
            ),
            (
                "__secure- (any case) without Secure",
                CookieConfig::default()
                    .with_refresh_name("__secure-r")
                    .insecure_allow_http(),
            ),
            (
                "SameSite=None without Secure",
                CookieConfig::default()
                    .insecure_same_site_none()
                    .insecure_allow_http(),
            ),
        ];
        for (what, c) in bad {
            let err = c.validate().err();
            assert_eq!(
                err.as_ref().map(ConfigError::kind),
                Some(ConfigErrorKind::InvalidCookie),
                "{what}"
            );
        }
    }
}
