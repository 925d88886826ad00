//! Building `Set-Cookie` values for issued tokens, and the cookies that clear them.

use std::borrow::Cow;
use std::fmt::Write as _;

use http::HeaderValue;

use super::Transport;
use super::cookie_config::{CookieConfig, SameSite, is_domain_byte, is_path_byte, is_tchar};
use super::extract::is_cookie_octet;

/// Split an issued token into what goes in the response body and what goes in the cookie.
///
/// Returns `(body, cookie_value)`:
///
/// | transport | body | cookie |
/// |---|---|---|
/// | [`Transport::Bearer`] | the whole token | none |
/// | [`Transport::Cookie`] | `header.payload` | `.signature` (from the last `.`, dot included) |
/// | [`Transport::CookieOnly`] | none | the whole token |
///
/// The leading dot of the cookie half is Charon's 4.0 split: the request gate recognises a
/// signature cookie by it and stitches it to the `Authorization` header. A token without
/// any `.` (never a compact JWS) has no signature to split off; with
/// [`Transport::Cookie`] it then goes whole into the cookie so that scripts never see it.
///
/// ```
/// use charon_auth::Transport;
/// use charon_auth::transport::split_for_transport;
///
/// let (body, cookie) = split_for_transport("h.p.s", Transport::Cookie);
/// assert_eq!(body.as_deref(), Some("h.p"));
/// assert_eq!(cookie.as_deref(), Some(".s"));
/// ```
pub fn split_for_transport(token: &str, transport: Transport) -> (Option<String>, Option<String>) {
    match transport {
        Transport::Bearer => (Some(token.to_owned()), None),
        Transport::CookieOnly => (None, Some(token.to_owned())),
        Transport::Cookie => match token.rfind('.') {
            Some(dot) => {
                let (body, signature) = token.split_at(dot);
                (Some(body.to_owned()), Some(signature.to_owned()))
            }
            None => (None, Some(token.to_owned())),
        },
    }
}

/// The Expires date of clearing cookies: the Unix epoch, in the past for every client.
const EPOCH: time::OffsetDateTime = time::OffsetDateTime::UNIX_EPOCH;

impl CookieConfig {
    /// The `Set-Cookie` value of the access token cookie holding `value` (the cookie half
    /// from [`split_for_transport`]), with `Max-Age` set to `ttl_secs` (the access token's
    /// TTL; negative values count as 0).
    ///
    /// Attributes come from this configuration: `HttpOnly`, `SameSite`, `Secure`, `Path`,
    /// `Domain`. Bytes outside the RFC 6265 character sets (never present in tokens or in
    /// a [validated](Self::validate) configuration) are percent-encoded, so a value can
    /// never inject attributes.
    ///
    /// ```
    /// use charon_auth::transport::CookieConfig;
    ///
    /// let v = CookieConfig::default().access_cookie(".sig", 900);
    /// assert_eq!(
    ///     v,
    ///     "_access_token_signature=.sig; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=900"
    /// );
    /// ```
    pub fn access_cookie(&self, value: &str, ttl_secs: i64) -> HeaderValue {
        self.build(
            self.access_name(),
            self.access_path(),
            value,
            Expiry::MaxAge(ttl_secs),
        )
    }

    /// The `Set-Cookie` value of the refresh token cookie holding `value`, with `Max-Age`
    /// set to `ttl_secs` (the refresh token's TTL). See [`access_cookie`](Self::access_cookie).
    pub fn refresh_cookie(&self, value: &str, ttl_secs: i64) -> HeaderValue {
        self.build(
            self.refresh_name(),
            self.refresh_path(),
            value,
            Expiry::MaxAge(ttl_secs),
        )
    }

    /// The `Set-Cookie` value that removes the access token cookie: same name, `Path`,
    /// `Domain`, `SameSite`, `Secure` and `HttpOnly` as when it was set, an empty value,
    /// `Max-Age=0` and an `Expires` at the Unix epoch.
    pub fn clear_access_cookie(&self) -> HeaderValue {
        self.build(self.access_name(), self.access_path(), "", Expiry::Clear)
    }

    /// The `Set-Cookie` value that removes the refresh token cookie. See
    /// [`clear_access_cookie`](Self::clear_access_cookie).
    pub fn clear_refresh_cookie(&self) -> HeaderValue {
        self.build(self.refresh_name(), self.refresh_path(), "", Expiry::Clear)
    }

    fn build(&self, name: &str, path: &str, value: &str, expiry: Expiry) -> HeaderValue {
        let mut builder =
            cookie::Cookie::build((sanitize(name, is_tchar), sanitize(value, is_cookie_octet)))
                .path(sanitize(path, is_path_byte))
                .secure(self.secure())
                .http_only(self.http_only())
                .same_site(match self.same_site() {
                    SameSite::Strict => cookie::SameSite::Strict,
                    SameSite::Lax => cookie::SameSite::Lax,
                    SameSite::None => cookie::SameSite::None,
                });
        if let Some(domain) = self.domain() {
            builder = builder.domain(sanitize(domain, is_domain_byte));
        }
        builder = match expiry {
            Expiry::MaxAge(secs) => builder.max_age(time::Duration::seconds(secs.max(0))),
            Expiry::Clear => builder.max_age(time::Duration::ZERO).expires(EPOCH),
        };
        let text = builder.build().to_string();
        // Every part is sanitized to visible ASCII and the cookie crate adds only visible
        // ASCII and spaces, so this conversion cannot fail.
        let mut value =
            HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""));
        // Carries (part of) a token: keep it out of header logs and HPACK tables.
        value.set_sensitive(true);
        value
    }
}

#[derive(Clone, Copy)]
enum Expiry {
    MaxAge(i64),
    Clear,
}

/// `s` with every byte that fails `allowed` percent-encoded.
fn sanitize(s: &str, allowed: fn(u8) -> bool) -> Cow<'_, str> {
    if s.bytes().all(allowed) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if allowed(b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &HeaderValue) -> &str {
        v.to_str().unwrap_or("<not visible ASCII>")
    }

    #[test]
    fn split_per_transport() {
        let token = "hdr.pay.sig";
        assert_eq!(
            split_for_transport(token, Transport::Bearer),
            (Some(token.to_owned()), None)
        );
        assert_eq!(
            split_for_transport(token, Transport::Cookie),
            (Some("hdr.pay".to_owned()), Some(".sig".to_owned()))
        );
        assert_eq!(
            split_for_transport(token, Transport::CookieOnly),
            (None, Some(token.to_owned()))
        );
        assert_eq!(
            split_for_transport("nodots", Transport::Cookie),
            (None, Some("nodots".to_owned()))
        );
    }

    #[test]
    fn split_then_stitch_round_trips() {
        use crate::transport::{GateLimits, extract_token};
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        let config = CookieConfig::default();
        for transport in [Transport::Bearer, Transport::Cookie, Transport::CookieOnly] {
            let (body, cookie) = split_for_transport(token, transport);
            let mut headers = http::HeaderMap::new();
            if let Some(body) = body {
                let v = HeaderValue::from_str(&format!("Bearer {body}"));
                headers.insert(
                    http::header::AUTHORIZATION,
                    v.unwrap_or(HeaderValue::from_static("")),
                );
            }
            if let Some(cookie) = cookie {
                let set = config.access_cookie(&cookie, 60);
                // What a browser sends back: the name=value pair of Set-Cookie.
                let pair = text(&set).split(';').next().unwrap_or("").to_owned();
                let v = HeaderValue::from_str(&pair).unwrap_or(HeaderValue::from_static(""));
                headers.insert(http::header::COOKIE, v);
            }
            let got = extract_token(&headers, config.access_name(), &GateLimits::default());
            let got = got.map(|t| (t.token.into_owned(), t.transport)).ok();
            assert_eq!(got, Some((token.to_owned(), transport)), "{transport}");
        }
    }

    #[test]
    fn set_cookie_strings() {
        let c = CookieConfig::default();
        assert_eq!(
            text(&c.access_cookie(".sig", 900)),
            "_access_token_signature=.sig; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=900"
        );
        assert_eq!(
            text(&c.refresh_cookie("h.p.s", 5_184_000)),
            "_refresh_token_signature=h.p.s; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=5184000"
        );
        assert_eq!(
            text(&c.access_cookie(".sig", -5)),
            "_access_token_signature=.sig; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=0"
        );
        let c = CookieConfig::default()
            .with_access_name("__Secure-a")
            .with_refresh_name("__Secure-r")
            .with_refresh_path("/api/refresh")
            .with_domain("example.com")
            .same_site_lax();
        assert_eq!(
            text(&c.access_cookie(".sig", 60)),
            "__Secure-a=.sig; HttpOnly; SameSite=Lax; Secure; Path=/; Domain=example.com; Max-Age=60"
        );
        assert_eq!(
            text(&c.refresh_cookie(".sig", 60)),
            "__Secure-r=.sig; HttpOnly; SameSite=Lax; Secure; Path=/api/refresh; Domain=example.com; Max-Age=60"
        );
        let c = CookieConfig::default()
            .insecure_allow_http()
            .insecure_disable_http_only();
        assert_eq!(
            text(&c.access_cookie("t", 1)),
            "_access_token_signature=t; SameSite=Strict; Path=/; Max-Age=1"
        );
        let c = CookieConfig::default().insecure_same_site_none();
        assert_eq!(
            text(&c.access_cookie("t", 1)),
            "_access_token_signature=t; HttpOnly; SameSite=None; Secure; Path=/; Max-Age=1"
        );
    }

    #[test]
    fn issued_cookies_per_transport() {
        let c = CookieConfig::default().with_refresh_path("/refresh");
        let token = "h.p.s";
        let cookies = |transport| {
            let (_, access) = split_for_transport(token, transport);
            let (_, refresh) = split_for_transport(token, transport);
            let mut out = Vec::new();
            if let Some(v) = access {
                out.push(text(&c.access_cookie(&v, 900)).to_owned());
            }
            if let Some(v) = refresh {
                out.push(text(&c.refresh_cookie(&v, 3600)).to_owned());
            }
            out
        };
        assert!(cookies(Transport::Bearer).is_empty());
        assert_eq!(
            cookies(Transport::Cookie),
            [
                "_access_token_signature=.s; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=900",
                "_refresh_token_signature=.s; HttpOnly; SameSite=Strict; Secure; Path=/refresh; Max-Age=3600",
            ]
        );
        assert_eq!(
            cookies(Transport::CookieOnly),
            [
                "_access_token_signature=h.p.s; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=900",
                "_refresh_token_signature=h.p.s; HttpOnly; SameSite=Strict; Secure; Path=/refresh; Max-Age=3600",
            ]
        );
    }

    #[test]
    fn clearing_cookies() {
        let c = CookieConfig::default();
        assert_eq!(
            text(&c.clear_access_cookie()),
            "_access_token_signature=; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=0; \
             Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
        let c = CookieConfig::default()
            .with_refresh_path("/api/refresh")
            .with_domain("example.com")
            .same_site_lax();
        assert_eq!(
            text(&c.clear_refresh_cookie()),
            "_refresh_token_signature=; HttpOnly; SameSite=Lax; Secure; Path=/api/refresh; \
             Domain=example.com; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    #[test]
    fn nothing_can_be_injected() {
        // Unvalidated configuration and a hostile value: encoded, never new attributes.
        let c = CookieConfig::default()
            .with_access_name("a;b")
            .with_access_path("/x;Domain=evil\r\n")
            .with_domain("evil.com; Secure");
        let v = c.access_cookie("v; Domain=evil.com", 1);
        assert_eq!(
            text(&v),
            "a%3Bb=v%3B%20Domain=evil.com; HttpOnly; SameSite=Strict; Secure; \
             Path=/x%3BDomain=evil%0D%0A; Domain=evil.com%3B%20Secure; Max-Age=1"
        );
    }
}
