//! Publishing a JWK Set at `/.well-known/jwks.json`.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use http::{Response, StatusCode};

use crate::token::jwk::{JwkError, JwkSet};
use crate::token::keyset::Keyset;

/// How long clients may cache a published JWK Set unless configured otherwise: 300 s.
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(300);

/// A JWK Set serialised once, ready to be served at `/.well-known/jwks.json`.
///
/// Cheap to clone (the JSON sits in a [`Bytes`]), so a handler can hold one and answer
/// every request without serialising anything. Responses carry:
///
/// - `Content-Type: application/json`. RFC 7517 §8.5 registers
///   `application/jwk-set+json`, but OpenID Connect providers serve `application/json`
///   and some clients only accept that; any JSON client reads it.
/// - `Cache-Control: public, max-age=300` by default ([`with_max_age`](Self::with_max_age)):
///   verifiers may keep the keys that long. Publish a new key at least that long before
///   signing with it.
/// - `X-Content-Type-Options: nosniff`.
///
/// With axum (feature `axum`), the document is a response and [`handler`](Self::handler)
/// gives a handler; with hyper, answer with [`response`](Self::response).
///
/// ```
/// use charon_auth::token::{JwksDocument, Key};
/// let signing = Key::generate_ed25519()?;
/// let jwks = JwksDocument::from_keyset(&signing.keyset()?)?;
/// let response = jwks.response::<Vec<u8>>();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["cache-control"], "public, max-age=300");
/// assert!(String::from_utf8_lossy(response.body()).contains(signing.kid()));
/// // axum: Router::new().route("/.well-known/jwks.json", get(jwks.handler()))
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct JwksDocument {
    body: Bytes,
    cache_control: HeaderValue,
}

impl JwksDocument {
    /// The document of `jwks`, with the default `max-age` ([`DEFAULT_JWKS_MAX_AGE`]).
    pub fn new(jwks: &JwkSet) -> Self {
        Self {
            body: Bytes::from(jwks.to_json()),
            cache_control: cache_control(DEFAULT_JWKS_MAX_AGE),
        }
    }

    /// The document of a keyset's public keys ([`Keyset::to_jwks`]: symmetric keys are
    /// left out).
    pub fn from_keyset(keyset: &Keyset) -> Result<Self, JwkError> {
        Ok(Self::new(&keyset.to_jwks()?))
    }

    /// Set how long clients may cache the keys, in whole seconds: `Cache-Control: public,
    /// max-age=<secs>`. Defaults to [`DEFAULT_JWKS_MAX_AGE`] (300 s).
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.cache_control = cache_control(max_age);
        self
    }

    /// The JSON bytes served.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The response for a `GET`: 200, the JSON body and the headers above. Works with any
    /// body type built from [`Bytes`] (`http_body_util::Full<Bytes>`, axum's `Body`,
    /// `Bytes`, `Vec<u8>`).
    pub fn response<B: From<Bytes>>(&self) -> Response<B> {
        let mut response = Response::new(B::from(self.body.clone()));
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, self.cache_control.clone());
        headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        response
    }

    /// An axum handler answering with this document:
    /// `Router::new().route("/.well-known/jwks.json", get(jwks.handler()))`.
    #[cfg(feature = "axum")]
    pub fn handler(
        &self,
    ) -> impl Fn() -> std::future::Ready<JwksDocument> + Clone + Send + Sync + 'static {
        let document = self.clone();
        move || std::future::ready(document.clone())
    }
}

fn cache_control(max_age: Duration) -> HeaderValue {
    let value = format!("public, max-age={}", max_age.as_secs());
    // Digits and ASCII letters only: always a valid header value.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("no-cache"))
}

impl fmt::Debug for JwksDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksDocument")
            .field("len", &self.body.len())
            .field("cache_control", &self.cache_control)
            .finish()
    }
}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for JwksDocument {
    fn into_response(self) -> axum_core::response::Response {
        self.response()
    }
}
