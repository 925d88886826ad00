//! The request gate: reading a token from the `Authorization` header and the token cookie.

use std::borrow::Cow;
use std::fmt;

use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE};

use super::Transport;
use crate::error::{AuthError, AuthErrorKind, ConfigError, ConfigErrorKind};

/// Size limits of the request gate.
///
/// ```
/// use charon_auth::transport::GateLimits;
///
/// let limits = GateLimits::default().with_max_token_len(4096);
/// limits.validate()?;
/// assert_eq!(limits.max_token_len(), 4096);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateLimits {
    max_token_len: usize,
}

impl GateLimits {
    /// The default of [`max_token_len`](Self::max_token_len): 8 KiB.
    pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
    /// The smallest accepted [`max_token_len`](Self::max_token_len).
    pub const MIN_MAX_TOKEN_LEN: usize = 256;
    /// The largest accepted [`max_token_len`](Self::max_token_len): the token verifier's
    /// own cap, [`MAX_TOKEN_LEN`](crate::token::MAX_TOKEN_LEN) (8 KiB).
    pub const MAX_MAX_TOKEN_LEN: usize = crate::token::MAX_TOKEN_LEN;

    /// The default limits.
    pub const fn new() -> Self {
        Self {
            max_token_len: Self::DEFAULT_MAX_TOKEN_LEN,
        }
    }

    /// Longest token accepted, in bytes. It bounds the `Authorization` token, the cookie
    /// value and the token stitched from both; a longer one is a malformed request (400).
    /// Defaults to 8192 (8 KiB).
    #[must_use]
    pub const fn with_max_token_len(mut self, bytes: usize) -> Self {
        self.max_token_len = bytes;
        self
    }

    /// Longest token accepted, in bytes.
    pub const fn max_token_len(&self) -> usize {
        self.max_token_len
    }

    /// Check the limits.
    ///
    /// # Errors
    ///
    /// [`ConfigErrorKind::Invalid`] when [`max_token_len`](Self::max_token_len) lies outside
    /// [`MIN_MAX_TOKEN_LEN`](Self::MIN_MAX_TOKEN_LEN)..=[`MAX_MAX_TOKEN_LEN`](Self::MAX_MAX_TOKEN_LEN).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if (Self::MIN_MAX_TOKEN_LEN..=Self::MAX_MAX_TOKEN_LEN).contains(&self.max_token_len) {
            Ok(())
        } else {
            Err(ConfigError::new(
                ConfigErrorKind::Invalid,
                "max token length must lie between 256 bytes and 8 KiB",
            ))
        }
    }
}

impl Default for GateLimits {
    fn default() -> Self {
        Self::new()
    }
}

/// A token read from a request, and the transport it came by.
///
/// The token borrows from the request headers when it was taken whole from one header, and
/// is owned when it was stitched from the `Authorization` header and the cookie. `Debug`
/// never prints it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtractedToken<'a> {
    /// The compact token, not verified yet.
    pub token: Cow<'a, str>,
    /// How it travelled: [`Transport::Bearer`], [`Transport::Cookie`] (stitched) or
    /// [`Transport::CookieOnly`].
    pub transport: Transport,
}

impl ExtractedToken<'_> {
    /// Detach the token from the request headers.
    pub fn into_owned(self) -> ExtractedToken<'static> {
        ExtractedToken {
            token: Cow::Owned(self.token.into_owned()),
            transport: self.transport,
        }
    }
}

impl fmt::Debug for ExtractedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtractedToken")
            .field("token", &"REDACTED")
            .field("transport", &self.transport)
            .finish()
    }
}

/// Read the token of a request from its `Authorization` header and the cookie `cookie_name`.
///
/// The gate is strict: whatever is ambiguous or oversized is refused with
/// [`AuthErrorKind::MalformedRequest`] (400) rather than guessed at.
///
/// # `Authorization`
///
/// - At most one `Authorization` header; two or more are malformed.
/// - An absent or empty header carries no token.
/// - The whole value must be visible ASCII and spaces: non-UTF-8 bytes, tabs and other
///   control bytes are malformed, whatever the scheme.
/// - The scheme `Bearer` is matched case-insensitively (`bearer`, `BEARER`), followed by
///   exactly one space and a non-empty token of visible ASCII without whitespace, at most
///   [`GateLimits::max_token_len`] bytes. `Bearer` alone, two spaces, inner spaces or an
///   oversized token are malformed. Charon's non-standard `Bearer: <token>` form is
///   malformed too, with a detail that says so.
/// - Any other scheme (`Basic …`) is not ours: as RFC 6750 puts it, the request simply
///   lacks a bearer token, and the cookie alone decides.
///
/// # Cookie
///
/// Every `Cookie` header is split into `name=value` pairs by hand (RFC 6265 section 5.2,
/// not the `cookie` crate, whose parser trims Unicode whitespace), **without
/// percent-decoding**; only SP and HTAB around names and values are trimmed, and names
/// compare byte-exact: `__Host%2Dx`, `%5F_Host-x`, `\u{2000}__Host-x` or `__HOST-x` are
/// other cookies and never stand in for `__Host-x`. The value is kept raw (tokens are
/// base64url and dots, so nothing needs decoding). The cookie appearing twice, in one header or across several,
/// is malformed (cookie tossing leaves a duplicate). A non-empty value must be cookie
/// octets without quotes and at most [`GateLimits::max_token_len`] bytes; an empty value
/// counts as absent. Unrelated cookies are never judged, even if unparsable.
///
/// # Stitching (Charon's rules)
///
/// | `Authorization: Bearer` | cookie | result |
/// |---|---|---|
/// | `h.p` | `.s` | [`Transport::Cookie`], token `h.p.s` |
/// | anything but exactly two segments | `.s` | malformed |
/// | `t` | a whole token other than `t` (not starting with `.`, holding a `.`) | malformed: two credentials, possibly of two sessions |
/// | `t` | absent, `t` itself, or without any `.` | [`Transport::Bearer`], token `t` |
/// | absent | `t`, not starting with `.` | [`Transport::CookieOnly`], token `t` |
/// | absent | `.s` | [`AuthErrorKind::TokenNotFound`] (a lone signature is no token) |
/// | absent | absent | [`AuthErrorKind::TokenNotFound`] |
///
/// Charon also stitches a legacy `header.payload.` header with a `signature` cookie (the
/// pre-4.0 split). That is not supported: Charon drops it after 2026-11-18, no token this
/// crate issues has that shape, and it makes the header alone ambiguous.
///
/// # Errors
///
/// [`AuthErrorKind::MalformedRequest`] as above, [`AuthErrorKind::TokenNotFound`] when
/// there is no token.
pub fn extract_token<'a>(
    headers: &'a HeaderMap,
    cookie_name: &str,
    limits: &GateLimits,
) -> Result<ExtractedToken<'a>, AuthError> {
    let bearer = bearer_token(headers, limits)?;
    let cookie = cookie_value(headers, cookie_name, limits)?;
    match (bearer, cookie) {
        (Some(header), Some(cookie)) if cookie.starts_with('.') => {
            if header.bytes().filter(|&b| b == b'.').count() != 1 {
                return Err(malformed(
                    "a split token needs header.payload in the authorization header",
                ));
            }
            if header.len() + cookie.len() > limits.max_token_len {
                return Err(malformed("token too long"));
            }
            let mut token = String::with_capacity(header.len() + cookie.len());
            token.push_str(header);
            token.push_str(&cookie);
            Ok(ExtractedToken {
                token: Cow::Owned(token),
                transport: Transport::Cookie,
            })
        }
        // Two different whole tokens: the request names two credentials (possibly two
        // sessions or users). Refuse rather than silently pick one; the same token twice is
        // not ambiguous, and a dotless value (the pre-4.0 signature cookie) is no token.
        (Some(header), Some(cookie)) if cookie.contains('.') && cookie.as_ref() != header => Err(
            malformed("the authorization header and the token cookie carry different tokens"),
        ),
        (Some(header), _) => Ok(ExtractedToken {
            token: Cow::Borrowed(header),
            transport: Transport::Bearer,
        }),
        (None, Some(cookie)) if !cookie.starts_with('.') => Ok(ExtractedToken {
            token: cookie,
            transport: Transport::CookieOnly,
        }),
        (None, _) => Err(AuthError::new(AuthErrorKind::TokenNotFound)),
    }
}

fn malformed(detail: &'static str) -> AuthError {
    AuthError::with_detail(AuthErrorKind::MalformedRequest, detail)
}

/// The bearer token of the single `Authorization` header, if it has one.
fn bearer_token<'a>(
    headers: &'a HeaderMap,
    limits: &GateLimits,
) -> Result<Option<&'a str>, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(malformed("more than one authorization header"));
    }
    let bytes = value.as_bytes();
    // A fold, not `all`: no early exit, so the compiler checks many bytes at a time (every
    // request's header passes here whole).
    if !bytes
        .iter()
        .fold(true, |ok, &b| ok & (b == b' ' || b.is_ascii_graphic()))
    {
        return Err(malformed(
            "authorization header holds bytes other than visible ASCII and spaces",
        ));
    }
    // Only visible ASCII and spaces: valid UTF-8.
    let Ok(value) = std::str::from_utf8(bytes) else {
        return Err(malformed("authorization header is not UTF-8"));
    };
    if value.is_empty() {
        return Ok(None);
    }
    let (scheme, credentials) = match value.split_once(' ') {
        Some((scheme, rest)) => (scheme, Some(rest)),
        None => (value, None),
    };
    if scheme.eq_ignore_ascii_case("bearer:") {
        return Err(malformed(
            "use 'Bearer <token>' in the authorization header, not 'Bearer: <token>'",
        ));
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        // RFC 6750: a request with another scheme lacks a bearer token.
        return Ok(None);
    }
    let token = credentials.unwrap_or("");
    if token.is_empty() {
        return Err(malformed("empty bearer token"));
    }
    // A fold, as above, not `contains` (a byte-at-a-time search over the whole token).
    if token.bytes().fold(false, |space, b| space | (b == b' ')) {
        return Err(malformed("whitespace in bearer token"));
    }
    if token.len() > limits.max_token_len {
        return Err(malformed("token too long"));
    }
    Ok(Some(token))
}

/// The value of the cookie `name`, if the request carries it once with a non-empty value.
fn cookie_value<'a>(
    headers: &'a HeaderMap,
    name: &str,
    limits: &GateLimits,
) -> Result<Option<Cow<'a, str>>, AuthError> {
    let mut found: Option<Cow<'a, str>> = None;
    for header in headers.get_all(COOKIE) {
        let bytes = header.as_bytes();
        // Cheap pre-check: a header that does not mention the name cannot hold the cookie.
        if !contains(bytes, name.as_bytes()) {
            continue;
        }
        // Borrow when the header is UTF-8; copy when it needs lossy conversion.
        let values: Vec<Cow<'a, str>> = match std::str::from_utf8(bytes) {
            Ok(text) => named_values(text, name).map(Cow::Borrowed).collect(),
            Err(_) => {
                let text = String::from_utf8_lossy(bytes);
                named_values(&text, name)
                    .map(|v| Cow::Owned(v.to_owned()))
                    .collect()
            }
        };
        for value in values {
            if found.is_some() {
                return Err(malformed("duplicate token cookie"));
            }
            found = Some(value);
        }
    }
    let Some(value) = found else {
        return Ok(None);
    };
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > limits.max_token_len {
        return Err(malformed("token cookie too long"));
    }
    if !value.bytes().all(is_cookie_octet) || value.starts_with('"') {
        return Err(malformed("token cookie holds invalid characters"));
    }
    Ok(Some(value))
}

/// RFC 6265 `cookie-octet`: visible ASCII except `"`, `,`, `;` and `\`.
pub(crate) fn is_cookie_octet(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\')
}

/// Optional whitespace around cookie names and values (RFC 6265 section 5.2): SP and HTAB.
const OWS: [char; 2] = [' ', '\t'];

/// The values of every pair named exactly `name` in one `Cookie` header.
///
/// RFC 6265 section 5.2 by hand rather than `cookie::Cookie::split_parse`: that trims names
/// with `str::trim`, which also strips Unicode whitespace, so `"\u{2000}__Host-x"` would
/// match `"__Host-x"`. Here only SP and HTAB are trimmed and names compare byte for byte,
/// without percent-decoding.
fn named_values<'t, 'n>(
    text: &'t str,
    name: &'n str,
) -> impl Iterator<Item = &'t str> + use<'t, 'n> {
    text.split(';').filter_map(move |pair| {
        let (raw_name, raw_value) = pair.split_once('=')?;
        (raw_name.trim_matches(OWS) == name).then(|| raw_value.trim_matches(OWS))
    })
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const NAME: &str = "_access_token_signature";

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            let name = http::HeaderName::from_bytes(name.as_bytes()).expect("header name");
            map.append(name, HeaderValue::from_bytes(value).expect("header value"));
        }
        map
    }

    fn extract(pairs: &[(&str, &[u8])]) -> Result<(String, Transport), AuthError> {
        extract_with(pairs, &GateLimits::default())
    }

    fn extract_with(
        pairs: &[(&str, &[u8])],
        limits: &GateLimits,
    ) -> Result<(String, Transport), AuthError> {
        let map = headers(pairs);
        extract_token(&map, NAME, limits).map(|t| (t.token.into_owned(), t.transport))
    }

    fn kind(r: &Result<(String, Transport), AuthError>) -> Option<AuthErrorKind> {
        r.as_ref().err().map(AuthError::kind)
    }

    const MALFORMED: Option<AuthErrorKind> = Some(AuthErrorKind::MalformedRequest);
    const NOT_FOUND: Option<AuthErrorKind> = Some(AuthErrorKind::TokenNotFound);

    /// (label, headers, expected token or error kind)
    type Case<'a> = (
        &'a str,
        Vec<(&'a str, &'a [u8])>,
        Result<&'a str, AuthErrorKind>,
    );

    #[test]
    fn authorization_header_shapes() {
        let big = format!(
            "Bearer {}",
            "a".repeat(GateLimits::DEFAULT_MAX_TOKEN_LEN + 1)
        );
        let max = format!("Bearer {}", "a".repeat(GateLimits::DEFAULT_MAX_TOKEN_LEN));
        let cases: Vec<Case<'_>> = vec![
            ("missing", vec![], Err(AuthErrorKind::TokenNotFound)),
            (
                "empty",
                vec![("authorization", b"")],
                Err(AuthErrorKind::TokenNotFound),
            ),
            (
                "Bearer without token",
                vec![("authorization", b"Bearer")],
                Err(AuthErrorKind::MalformedRequest),
            ),
            (
                "Bearer and a space",
                vec![("authorization", b"Bearer ")],
                Err(AuthErrorKind::MalformedRequest),
            ),
            (
                "Bearer x",
                vec![("authorization", b"Bearer x.y.z")],
                Ok("x.y.z"),
            ),
            ("lowercase", vec![("authorization", b"bearer x")], Ok("x")),
            ("uppercase", vec![("authorization", b"BEARER x")], Ok("x")),
            ("mixed case", vec![("authorization", b"bEaReR x")], Ok("x")),
            (
                "two spaces",
                vec![("authorization", b"Bearer  x")],
                Err(AuthErrorKind::MalformedRequest),
            ),
            (
                "tab separator",
                vec![("authorization", b"Bearer\tx")],
                Err(AuthErrorKind::MalformedRequest),
            ),
            (
                "tab inside token",
                vec![("authorization", b"Bearer x\ty")],
                Err(AuthErrorKind::MalformedRequest),
            ),
            (
                "space inside token",
                vec![("authorization", b"Bearer x y")],
                Err(AuthErrorKind::MalformedRequest),
            ),
            (
                "space after token",
                vec![("authorization", b"Bearer x.y.z ")],
                Err(AuthErrorKind::MalformedRequest),
            ),
            (
                "another scheme with spaces",
                vec![("authorization", b"Digest a=1, b=2")],
                Err(AuthErrorKind::TokenNotFound),
            ),
            (
                "two authorization headers",
                vec![
                    ("authorization", b"Bearer x"),
                    ("authorization", b"Bearer x"),
                ],
                Err(AuthErrorKind::MalformedRequest),
            ),
            (
                "two headers, one not bearer",
                vec![
                    ("authorization", b"Basic Zm9v"),
                    ("authorization", b"Bearer x"),
                ],
                Err(AuthErrorKind::MalformedRequest),
            ),
            (
                "non-UTF-8",
                vec![("authorization", b"Bearer \xff\xfe")],
                Err(AuthErrorKind::MalformedRequest),
            ),
            (
                "UTF-8 but not ASCII",
                vec![("authorization", "Bearer jéton".as_bytes())],
                Err(AuthErrorKind::MalformedRequest),
            ),
            (
                "obs-text byte",
                vec![("authorization", b"Bearer x\x80y")],
                Err(AuthErrorKind::MalformedRequest),
            ),
            (
                "oversized",
                vec![("authorization", big.as_bytes())],
                Err(AuthErrorKind::MalformedRequest),
            ),
            (
                "Basic scheme",
                vec![("authorization", b"Basic dXNlcjpwYXNz")],
                Err(AuthErrorKind::TokenNotFound),
            ),
            (
                "Charon's Bearer: form",
                vec![("authorization", b"Bearer: x")],
                Err(AuthErrorKind::MalformedRequest),
            ),
            (
                "Bearerx (no space) is another scheme",
                vec![("authorization", b"Bearerx")],
                Err(AuthErrorKind::TokenNotFound),
            ),
        ];
        for (label, pairs, expected) in cases {
            let got = extract(&pairs);
            match expected {
                Ok(token) => assert_eq!(
                    got.as_ref().ok(),
                    Some(&(token.to_owned(), Transport::Bearer)),
                    "{label}"
                ),
                Err(k) => assert_eq!(kind(&got), Some(k), "{label}"),
            }
        }
        // Other control bytes never reach the gate: `http` refuses them in header values.
        assert!(HeaderValue::from_bytes(b"Bearer x\x1by").is_err());
        assert!(HeaderValue::from_bytes(b"Bearer x\x7fy").is_err());
        let got = extract(&[("authorization", max.as_bytes())]);
        assert_eq!(got.map(|(t, _)| t.len()).ok(), Some(8192));
    }

    #[test]
    fn errors_carry_a_detail_and_status() {
        let err = extract(&[("authorization", b"Bearer  x")]).err();
        assert_eq!(
            err.as_ref().map(AuthError::status),
            Some(http::StatusCode::BAD_REQUEST)
        );
        assert!(err.as_ref().and_then(AuthError::detail).is_some());
        let err = extract(&[]).err();
        assert_eq!(
            err.map(|e| e.status()),
            Some(http::StatusCode::UNAUTHORIZED)
        );
    }

    #[test]
    fn limit_is_configurable() {
        let limits = GateLimits::default().with_max_token_len(300);
        let ok = format!("Bearer {}", "a".repeat(300));
        let long = format!("Bearer {}", "a".repeat(301));
        assert!(extract_with(&[("authorization", ok.as_bytes())], &limits).is_ok());
        assert_eq!(
            kind(&extract_with(
                &[("authorization", long.as_bytes())],
                &limits
            )),
            MALFORMED
        );
        let cookie = format!("{NAME}={}", "a".repeat(301));
        assert_eq!(
            kind(&extract_with(&[("cookie", cookie.as_bytes())], &limits)),
            MALFORMED
        );
        // The stitched token is bounded too.
        let header = format!("Bearer {}.{}", "a".repeat(100), "b".repeat(100));
        let cookie = format!("{NAME}=.{}", "c".repeat(100));
        assert_eq!(
            kind(&extract_with(
                &[
                    ("authorization", header.as_bytes()),
                    ("cookie", cookie.as_bytes())
                ],
                &limits
            )),
            MALFORMED
        );
    }

    #[test]
    fn gate_limits_validation() {
        assert!(GateLimits::default().validate().is_ok());
        assert_eq!(GateLimits::new(), GateLimits::default());
        for bad in [0, 255, 8 * 1024 + 1, 64 * 1024] {
            let err = GateLimits::default()
                .with_max_token_len(bad)
                .validate()
                .err();
            assert_eq!(
                err.map(|e| e.kind()),
                Some(ConfigErrorKind::Invalid),
                "{bad}"
            );
        }
        for good in [256, 8 * 1024] {
            assert!(
                GateLimits::default()
                    .with_max_token_len(good)
                    .validate()
                    .is_ok()
            );
        }
    }

    #[test]
    fn cookie_only_whole_token() {
        let got = extract(&[("cookie", b"_access_token_signature=h.p.s")]);
        assert_eq!(got.ok(), Some(("h.p.s".to_owned(), Transport::CookieOnly)));
        // Among other cookies, with odd spacing, across several Cookie headers.
        let got = extract(&[
            ("cookie", b"a=1"),
            (
                "cookie",
                b"theme=dark;  _access_token_signature=h.p.s ; b=2",
            ),
        ]);
        assert_eq!(got.ok(), Some(("h.p.s".to_owned(), Transport::CookieOnly)));
    }

    #[test]
    fn cookie_only_borrows_from_the_headers() {
        let map = headers(&[("cookie", b"_access_token_signature=h.p.s")]);
        let got = extract_token(&map, NAME, &GateLimits::default());
        assert!(matches!(got.map(|t| t.token), Ok(Cow::Borrowed("h.p.s"))));
        let map = headers(&[("authorization", b"Bearer h.p.s")]);
        let got = extract_token(&map, NAME, &GateLimits::default());
        assert!(matches!(got.map(|t| t.token), Ok(Cow::Borrowed("h.p.s"))));
    }

    #[test]
    fn split_token_is_stitched() {
        let got = extract(&[
            ("authorization", b"Bearer h.p"),
            ("cookie", b"_access_token_signature=.s"),
        ]);
        assert_eq!(got.ok(), Some(("h.p.s".to_owned(), Transport::Cookie)));
        // Mismatched halves are stitched all the same; the signature check rejects them later.
        let got = extract(&[
            ("authorization", b"Bearer hA.pA"),
            ("cookie", b"_access_token_signature=.sB"),
        ]);
        assert_eq!(got.ok(), Some(("hA.pA.sB".to_owned(), Transport::Cookie)));
    }

    #[test]
    fn split_token_needs_two_segments_in_the_header() {
        for header in [
            &b"Bearer h.p.s"[..],
            b"Bearer hp",
            b"Bearer h.p.",
            b"Bearer a.b.c.d",
        ] {
            let got = extract(&[
                ("authorization", header),
                ("cookie", b"_access_token_signature=.s"),
            ]);
            assert_eq!(kind(&got), MALFORMED, "{}", String::from_utf8_lossy(header));
        }
    }

    #[test]
    fn legacy_split_is_not_stitched() {
        // Pre-4.0 Charon: "header.payload." + "signature". The header wins, unstitched.
        let got = extract(&[
            ("authorization", b"Bearer h.p."),
            ("cookie", b"_access_token_signature=s"),
        ]);
        assert_eq!(got.ok(), Some(("h.p.".to_owned(), Transport::Bearer)));
    }

    #[test]
    fn lone_signature_cookie_is_no_token() {
        let got = extract(&[("cookie", b"_access_token_signature=.s")]);
        assert_eq!(kind(&got), NOT_FOUND);
        // Another scheme does not change that.
        let got = extract(&[
            ("authorization", b"Basic Zm9v"),
            ("cookie", b"_access_token_signature=.s"),
        ]);
        assert_eq!(kind(&got), NOT_FOUND);
    }

    #[test]
    fn other_scheme_falls_back_to_the_cookie() {
        let got = extract(&[
            ("authorization", b"Basic Zm9v"),
            ("cookie", b"_access_token_signature=h.p.s"),
        ]);
        assert_eq!(got.ok(), Some(("h.p.s".to_owned(), Transport::CookieOnly)));
    }

    #[test]
    fn header_and_a_different_whole_token_cookie_are_malformed() {
        let got = extract(&[
            ("authorization", b"Bearer h.p.s"),
            ("cookie", b"_access_token_signature=H.P.S"),
        ]);
        assert_eq!(kind(&got), MALFORMED);
        // The same token both ways is not ambiguous.
        let got = extract(&[
            ("authorization", b"Bearer h.p.s"),
            ("cookie", b"_access_token_signature=h.p.s"),
        ]);
        assert_eq!(got.ok(), Some(("h.p.s".to_owned(), Transport::Bearer)));
    }

    #[test]
    fn header_wins_over_unrelated_cookie() {
        let got = extract(&[("authorization", b"Bearer h.p.s"), ("cookie", b"other=.x")]);
        assert_eq!(got.ok(), Some(("h.p.s".to_owned(), Transport::Bearer)));
    }

    #[test]
    fn duplicate_cookies_are_malformed() {
        let cases: [&[(&str, &[u8])]; 3] = [
            &[(
                "cookie",
                b"_access_token_signature=a.b.c; _access_token_signature=a.b.c",
            )],
            &[(
                "cookie",
                b"_access_token_signature=a.b.c; _access_token_signature=d.e.f",
            )],
            &[
                ("cookie", b"_access_token_signature=.s"),
                ("cookie", b"x=1; _access_token_signature=.t"),
            ],
        ];
        for pairs in cases {
            assert_eq!(kind(&extract(pairs)), MALFORMED);
        }
        // Even next to a bearer header.
        let got = extract(&[
            ("authorization", b"Bearer h.p"),
            (
                "cookie",
                b"_access_token_signature=.s; _access_token_signature=.s",
            ),
        ]);
        assert_eq!(kind(&got), MALFORMED);
    }

    #[test]
    fn unicode_whitespace_cannot_stand_in_for_a_cookie_name() {
        for header in [
            "\u{a0}__Host-access=evil",
            "\u{2000}__Host-access=evil; x=1",
            "__Host-access\u{3000}=evil",
            "x=1;\u{2028}__Host-access=evil",
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(COOKIE, HeaderValue::from_str(header).unwrap());
            let err = extract_token(&headers, "__Host-access", &GateLimits::new()).unwrap_err();
            assert_eq!(err.kind(), AuthErrorKind::TokenNotFound, "{header:?}");
        }
        // Tabs and spaces around the name are optional whitespace (RFC 6265 5.2).
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("x=1;\t __Host-access = a.b.c"),
        );
        let found = extract_token(&headers, "__Host-access", &GateLimits::new()).unwrap();
        assert_eq!(found.token, "a.b.c");
    }

    #[test]
    fn host_prefix_cannot_be_spoofed() {
        let limits = GateLimits::default();
        let name = "__Host-access";
        let spoofs: [&[u8]; 6] = [
            b"__Host%2Daccess=h.p.s",
            b"%5F_Host-access=h.p.s",
            b"%5F%5FHost-access=h.p.s",
            b"__HOST-access=h.p.s",
            b"__host-access=h.p.s",
            b"__Host-Access=h.p.s",
        ];
        for spoof in spoofs {
            let map = headers(&[("cookie", spoof)]);
            let got = extract_token(&map, name, &limits).err().map(|e| e.kind());
            assert_eq!(got, NOT_FOUND, "{}", String::from_utf8_lossy(spoof));
        }
        // A spoof next to the genuine cookie is not a duplicate; the genuine one is used.
        let map = headers(&[("cookie", b"__Host%2Daccess=evil; __Host-access=h.p.s")]);
        let got = extract_token(&map, name, &limits).map(|t| t.token.into_owned());
        assert_eq!(got.ok().as_deref(), Some("h.p.s"));
    }

    #[test]
    fn cookie_value_is_kept_raw() {
        // Not percent-decoded: "%2E" is not a leading dot and stays in the value.
        let got = extract(&[("cookie", b"_access_token_signature=%2Es")]);
        assert_eq!(got.ok(), Some(("%2Es".to_owned(), Transport::CookieOnly)));
    }

    #[test]
    fn bad_cookie_values() {
        let cases: [&[u8]; 4] = [
            b"_access_token_signature=\"h.p.s\"",
            b"_access_token_signature=h\\p",
            b"_access_token_signature=h,p",
            b"_access_token_signature=h p",
        ];
        for case in cases {
            assert_eq!(
                kind(&extract(&[("cookie", case)])),
                MALFORMED,
                "{}",
                String::from_utf8_lossy(case)
            );
        }
        // Non-UTF-8 in the token cookie is malformed; in another cookie it is ignored.
        assert_eq!(
            kind(&extract(&[("cookie", b"_access_token_signature=a\xffb")])),
            MALFORMED
        );
        let got = extract(&[("cookie", b"junk=\xff\xfe; _access_token_signature=h.p.s")]);
        assert_eq!(got.ok(), Some(("h.p.s".to_owned(), Transport::CookieOnly)));
        let oversized = format!(
            "{NAME}={}",
            "a".repeat(GateLimits::DEFAULT_MAX_TOKEN_LEN + 1)
        );
        assert_eq!(
            kind(&extract(&[("cookie", oversized.as_bytes())])),
            MALFORMED
        );
    }

    #[test]
    fn empty_or_unparsable_cookies_are_absent() {
        for case in [
            &b"_access_token_signature="[..],
            b"_access_token_signature",
            b"=x; ; ;",
            b"__access_token_signature=h.p.s",
            b"_access_token_signature_x=h.p.s",
        ] {
            assert_eq!(
                kind(&extract(&[("cookie", case)])),
                NOT_FOUND,
                "{}",
                String::from_utf8_lossy(case)
            );
        }
        // An empty cookie does not block the header.
        let got = extract(&[
            ("authorization", b"Bearer h.p.s"),
            ("cookie", b"_access_token_signature="),
        ]);
        assert_eq!(got.ok(), Some(("h.p.s".to_owned(), Transport::Bearer)));
    }

    #[test]
    fn debug_redacts_the_token() {
        let map = headers(&[("authorization", b"Bearer secret.token.value")]);
        let got = extract_token(&map, NAME, &GateLimits::default()).map(ExtractedToken::into_owned);
        let text = format!("{got:?}");
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("REDACTED"), "{text}");
    }
}
