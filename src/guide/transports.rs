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
//! (400). The check reads the login request, so give `create_session` that request: its
//! `&Parts`, or the [`RequestContext`](crate::RequestContext) extractor with the `axum`
//! feature ([`RequestContext::no_request`](crate::RequestContext::no_request) is only for
//! logins that answer no client request: it never refuses). Turn the check off only with
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
//! `__Host-` names are supported (and validated: Secure, Path=/, no Domain), and
//! [`CookieConfig::host_prefixed`](crate::transport::CookieConfig::host_prefixed) is the
//! recommended configuration (below). Names are compared byte for byte, so `__Host%2D…`
//! or `__HOST-…` cannot stand in for them.
//!
//! ## Cookie tossing
//!
//! A browser sends every cookie whose Domain and Path match the request, and the `Cookie`
//! header carries only names and values, never the attributes. So a page on a sibling
//! subdomain (`evil.example.com` next to `app.example.com`: user content, a forgotten
//! marketing site, or a plain-HTTP subdomain whose answers a network attacker rewrites)
//! can set `_access_token_signature=x; Domain=example.com; Path=/`, and from then on
//! `app.example.com` receives two cookies of that name.
//!
//! Charon-auth refuses a request carrying two token cookies of one name (400,
//! [`MalformedRequest`](crate::AuthErrorKind::MalformedRequest)) on purpose: picking one
//! would let the attacker choose which, and the planted one may be a token of the
//! attacker's own session (the victim then acts as the attacker). The price, with names a
//! sibling can plant, is a lockout: every request of that browser answers 400, `/logout`
//! included (its layer refuses the request before the handler runs), and the server cannot
//! clear the planted cookie: its clearing `Set-Cookie` is host-only, while deleting a
//! cookie takes its exact Domain and Path, which the server never sees. The user stays
//! locked out until the planted cookie expires or they clear the site's cookies by hand.
//!
//! **`__Host-` names stop it.** A browser stores a cookie whose name starts with `__Host-`
//! only when it comes from a secure origin with `Secure`, `Path=/` and *no* `Domain`: a
//! host-only cookie of the exact host. No sibling subdomain or parent domain can set one
//! that the application's host receives, so the only `__Host-` cookies it sees are its own.
//! [`CookieConfig::host_prefixed`](crate::transport::CookieConfig::host_prefixed) gives
//! exactly that (`__Host-access_token_signature`, `__Host-refresh_token_signature`, with
//! the secure defaults), and the builder refuses any setting that would break the prefix's
//! rules (a Domain, a refresh Path other than `/`, `insecure_allow_http`):
//!
//! ```
//! use charon_auth::Charon;
//! use charon_auth::transport::CookieConfig;
//!
//! let charon = Charon::builder()
//!     .issuer("my-app")
//!     .base_secret("a base secret of at least thirty-two bytes")
//!     .cookies(CookieConfig::host_prefixed())
//!     .build()?;
//! assert_eq!(charon.cookies().access_name(), "__Host-access_token_signature");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `__Secure-` names are weaker: they only require `Secure`, so a sibling served over HTTPS
//! can still plant one with a Domain. Restricting the refresh cookie to its route
//! (`with_refresh_path`) is therefore incompatible with `__Host-` and trades tossing
//! resistance for keeping the refresh token off other requests; prefer `__Host-` names.
//! Browsers keep `Secure` cookies on `http://localhost` (a secure context), so local
//! development needs no HTTPS; elsewhere serve HTTPS, which cookies need anyway.
//!
//! **Why the default names stay Charon's** (`_access_token_signature`,
//! `_refresh_token_signature`): compatibility. A charon-auth service that takes over from,
//! or shares a domain with, a Charon service accepts its cookies, and changing the default
//! would sign every browser out on upgrade, silently. Keep them only for that; with them,
//! make sure no sibling subdomain serves content you do not control.
