//! # Choosing a transport
//!
//! A [`Transport`](crate::Transport) is chosen at login and kept by every refresh.
//!
//! | | [`Bearer`](crate::Transport::Bearer) | [`Cookie`](crate::Transport::Cookie) (split token) | [`CookieOnly`](crate::Transport::CookieOnly) |
//! |---|---|---|---|
//! | body | both whole tokens | `header.payload` of both | no tokens (expiries only) |
//! | cookies | none | `.signature` of each, HttpOnly | whole tokens, HttpOnly |
//! | client sends | `Authorization: Bearer <token>` | `Authorization: Bearer <header.payload>` + cookie | cookie only |
//! | XSS can steal a usable token | yes | no: JavaScript never holds a signature | no |
//! | CSRF exposure | none | none: the header is needed | yes: unsafe methods need a same-origin signal |
//! | for | mobile apps, services, CLIs | single-page apps | server-rendered pages, simple fetch clients |
//!
//! **Browsers get cookies.** With browser enforcement on (the default), creating a Bearer
//! session from a request carrying `Sec-Fetch-Mode` (sent by every current browser) fails
//! with [`SessionErrorKind::InsecureTransport`](crate::SessionErrorKind::InsecureTransport)
//! (400). Turn it off only with
//! [`insecure_allow_bearer_for_browsers`](crate::CharonBuilder::insecure_allow_bearer_for_browsers).
//!
//! **The split token** (from Peter Locke's design, as in Charon 4): the page keeps
//! `header.payload` in memory (never `localStorage`) and reads claims such as `exp` from
//! it; the browser adds the `.signature` cookie; the layer stitches them. A stolen
//! `header.payload` is useless without the cookie, and the cookie is useless without the
//! header, which a cross-site form cannot set.
//!
//! **Cookie-only** is the simplest client, but a cross-site form can make the browser send
//! the cookie. SameSite=Strict stops that in current browsers; as defence in depth the
//! layers also require, on every method but GET, HEAD, OPTIONS and TRACE, either the
//! configured header (default `x-csrf-protect`, which a cross-site page cannot send
//! without a CORS preflight) or `Sec-Fetch-Site: same-origin`. Failing that: 403.
//! [`CsrfConfig`](crate::transport::CsrfConfig) names the header;
//! `insecure_disable` turns the check off.
//!
//! **Cookie attributes** default to HttpOnly, Secure, SameSite=Strict, Path=/ and
//! `Max-Age` = the token's TTL. Restrict the refresh cookie to the refresh route with
//! [`CookieConfig::with_refresh_path`](crate::transport::CookieConfig::with_refresh_path).
//! `__Host-` names are supported (and validated: Secure, Path=/, no Domain). Names are
//! compared byte for byte, so `__Host%2D…` or `__HOST-…` cannot stand in for them.
