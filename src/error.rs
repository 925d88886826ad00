//! Error types.
//!
//! Every error is an opaque struct with a `kind()` returning a `#[non_exhaustive]` enum,
//! a `Display` that never contains secrets, and its cause kept as `source()`.
//!
//! | type | raised by | HTTP meaning |
//! |---|---|---|
//! | [`ConfigError`] | [`CharonBuilder::build`](crate::CharonBuilder::build), key and store constructors | none: fix the configuration |
//! | [`AuthError`] | request verification (transport gate, token, session checks) | 400 / 401 / 403 / 503, see [`AuthError::status`] |
//! | [`StoreError`] | [`SessionStore`](crate::store::SessionStore) backends | conflict 409, not found 401, backend 503 |
//! | [`SessionError`] | the session API (create, refresh, delete, …) | see [`SessionError::status`] |

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

// ---------------------------------------------------------------------------------------------
// ConfigError
// ---------------------------------------------------------------------------------------------

/// What is wrong with a configuration value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// A required setting was not given (issuer, keys or base secret).
    Missing,
    /// An HMAC secret or base secret is shorter than required.
    KeyTooShort,
    /// Key material could not be parsed, or does not fit the requested algorithm.
    InvalidKey,
    /// The signing kid is not in the keyset.
    UnknownSigningKid,
    /// A kid is empty, too long, or appears twice.
    InvalidKid,
    /// A time-to-live is zero, negative or inconsistent with another one.
    InvalidTtl,
    /// The clock leeway is larger than the allowed maximum (60 s).
    LeewayTooLarge,
    /// A cookie name or attribute is invalid (bad characters, `__Host-` rules, …).
    InvalidCookie,
    /// A session type is empty, too long or has characters outside `[A-Za-z0-9_.-]`.
    InvalidSessionType,
    /// A Redis key prefix is invalid.
    InvalidKeyPrefix,
    /// A Redis URL could not be parsed or the initial connection failed.
    InvalidRedis,
    /// Any other invalid value.
    Invalid,
}

/// A configuration value is invalid. Raised at build time, never at request time.
#[derive(Debug, thiserror::Error)]
#[error("invalid charon configuration: {message}")]
pub struct ConfigError {
    kind: ConfigErrorKind,
    message: Cow<'static, str>,
    #[source]
    source: Option<BoxError>,
}

impl ConfigError {
    /// Create a configuration error.
    pub fn new(kind: ConfigErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attach the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What kind of configuration problem this is.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }
}

// ---------------------------------------------------------------------------------------------
// AuthError
// ---------------------------------------------------------------------------------------------

/// Why a request was not authenticated.
///
/// The `Display` of [`AuthError`] keeps Charon's message text; the kind is finer grained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// The request itself is malformed: two `Authorization` headers, a header that is not
    /// visible ASCII, an oversized header, duplicate auth cookies. Answered with 400.
    MalformedRequest,
    /// No token in the `Authorization` header nor in the cookie. 401.
    TokenNotFound,
    /// The token is not a well-formed compact JWS (size, charset, segments, base64, JSON). 401.
    TokenMalformed,
    /// The token header names a key id that the keyset does not hold. 401.
    KeyNotFound,
    /// The token header `alg` differs from the algorithm of the key its `kid` selects. 401.
    AlgorithmMismatch,
    /// The token header carries a parameter this crate refuses (`crit`, `zip`, `jku`, …). 401.
    HeaderForbidden,
    /// The signature does not verify. 401.
    SignatureInvalid,
    /// The token expired (`exp`, with leeway). 401.
    Expired,
    /// The token is not valid yet (`nbf` or `iat` in the future, with leeway). 401.
    NotYetValid,
    /// A claim has a wrong value or type. 401.
    ClaimInvalid,
    /// A required claim is missing. 401.
    ClaimNotFound,
    /// The session of a refresh token does not exist (deleted, expired, never existed). 401.
    SessionNotFound,
    /// The refresh token is older than the previous token generation. 401.
    TokenStale,
    /// A cookie-only request with an unsafe method lacks a same-origin signal. 403.
    CsrfFailed,
    /// The session store could not be reached. 503, never 401 and never pass-through.
    StoreUnavailable,
    /// No verification keys are available for the token's issuer: its remote key set was
    /// never fetched (the endpoint is down since start-up) or was dropped after its maximum
    /// staleness (503; the request may succeed later).
    KeysUnavailable,
    /// The token is valid but a claim or scope check of the route failed: the caller is
    /// authenticated and not allowed (authorization, not authentication). 403 with
    /// `WWW-Authenticate: Bearer error="insufficient_scope"` (RFC 6750 section 3.1), naming
    /// the required scope when the check was on `scope`. The message keeps Charon's text
    /// (`bearer token claim <c> invalid` / `not found`).
    InsufficientScope,
    /// A custom check rejected the request. 401.
    Custom,
}

impl AuthErrorKind {
    /// A stable snake_case name for this kind, the variant name in snake case:
    /// `malformed_request`, `token_not_found`, `expired`, `token_stale`, …
    ///
    /// Used as the `error_kind` label of the `charon_token_invalid_total` counter; stable
    /// across releases, so dashboards and alerts can rely on it.
    ///
    /// ```
    /// use charon_auth::AuthErrorKind;
    /// assert_eq!(AuthErrorKind::Expired.as_str(), "expired");
    /// assert_eq!(AuthErrorKind::SignatureInvalid.as_str(), "signature_invalid");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthErrorKind::MalformedRequest => "malformed_request",
            AuthErrorKind::TokenNotFound => "token_not_found",
            AuthErrorKind::TokenMalformed => "token_malformed",
            AuthErrorKind::KeyNotFound => "key_not_found",
            AuthErrorKind::AlgorithmMismatch => "algorithm_mismatch",
            AuthErrorKind::HeaderForbidden => "header_forbidden",
            AuthErrorKind::SignatureInvalid => "signature_invalid",
            AuthErrorKind::Expired => "expired",
            AuthErrorKind::NotYetValid => "not_yet_valid",
            AuthErrorKind::ClaimInvalid => "claim_invalid",
            AuthErrorKind::ClaimNotFound => "claim_not_found",
            AuthErrorKind::SessionNotFound => "session_not_found",
            AuthErrorKind::TokenStale => "token_stale",
            AuthErrorKind::CsrfFailed => "csrf_failed",
            AuthErrorKind::StoreUnavailable => "store_unavailable",
            AuthErrorKind::KeysUnavailable => "keys_unavailable",
            AuthErrorKind::InsufficientScope => "insufficient_scope",
            AuthErrorKind::Custom => "custom",
        }
    }
}

/// A request could not be authenticated.
///
/// `Display` gives Charon's message (`"bearer token expired"`, `"token stale"`, …); use
/// [`kind`](Self::kind) to branch and [`status`](Self::status) for the HTTP status.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", Message(self))]
pub struct AuthError {
    kind: AuthErrorKind,
    detail: Option<Cow<'static, str>>,
    /// For [`AuthErrorKind::InsufficientScope`]: the claim was absent (not just wrong).
    claim_absent: bool,
    /// For [`AuthErrorKind::InsufficientScope`]: the scope the route requires.
    required_scope: Option<Cow<'static, str>>,
    #[source]
    // `Arc<BoxError>`, not `Arc<dyn Error>`: `Arc<dyn Error>` is itself an `Error`, so it
    // would be the `source()` and hide the cause from `downcast_ref`; `Box<dyn Error>` is
    // not, so the source is the cause itself.
    source: Option<std::sync::Arc<BoxError>>,
}

/// Charon's message for an [`AuthError`].
struct Message<'a>(&'a AuthError);

impl AuthError {
    /// An error of this kind with no detail.
    pub fn new(kind: AuthErrorKind) -> Self {
        Self {
            kind,
            detail: None,
            claim_absent: false,
            required_scope: None,
            source: None,
        }
    }

    /// An error of this kind with a detail: the claim name for the claim kinds, the reason
    /// for [`AuthErrorKind::MalformedRequest`] and [`AuthErrorKind::Custom`].
    pub fn with_detail(kind: AuthErrorKind, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            detail: Some(detail.into()),
            claim_absent: false,
            required_scope: None,
            source: None,
        }
    }

    /// `"bearer token claim <claim> invalid"`.
    pub fn claim_invalid(claim: impl Into<Cow<'static, str>>) -> Self {
        Self::with_detail(AuthErrorKind::ClaimInvalid, claim)
    }

    /// `"bearer token claim <claim> not found"`.
    pub fn claim_not_found(claim: impl Into<Cow<'static, str>>) -> Self {
        Self::with_detail(AuthErrorKind::ClaimNotFound, claim)
    }

    /// 403 `insufficient_scope`: the route's check of `claim` failed on a valid token
    /// (`"bearer token claim <claim> invalid"`). For custom checks that decide
    /// authorization.
    pub fn insufficient_scope(claim: impl Into<Cow<'static, str>>) -> Self {
        Self::with_detail(AuthErrorKind::InsufficientScope, claim)
    }

    /// 403 `insufficient_scope` for a route check whose `claim` the token lacks
    /// (`"bearer token claim <claim> not found"`).
    pub(crate) fn insufficient_scope_absent(claim: impl Into<Cow<'static, str>>) -> Self {
        let mut error = Self::insufficient_scope(claim);
        error.claim_absent = true;
        error
    }

    /// Name the scope the route requires (space-separated scope tokens), for the `scope`
    /// attribute of the `insufficient_scope` challenge.
    #[must_use]
    pub fn with_required_scope(mut self, scope: impl Into<Cow<'static, str>>) -> Self {
        self.required_scope = Some(scope.into());
        self
    }

    /// The scope a failed [`InsufficientScope`](AuthErrorKind::InsufficientScope) check
    /// required, when it named one.
    pub fn required_scope(&self) -> Option<&str> {
        self.required_scope.as_deref()
    }

    /// A custom rejection whose `Display` is `message`.
    pub fn custom(message: impl Into<Cow<'static, str>>) -> Self {
        Self::with_detail(AuthErrorKind::Custom, message)
    }

    /// Attach the underlying cause (a store error, for instance).
    #[must_use]
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(std::sync::Arc::new(Box::new(source)));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// The detail: claim name, malformed-request reason or custom message.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self.kind {
            AuthErrorKind::MalformedRequest => S::BAD_REQUEST,
            AuthErrorKind::CsrfFailed | AuthErrorKind::InsufficientScope => S::FORBIDDEN,
            AuthErrorKind::StoreUnavailable | AuthErrorKind::KeysUnavailable => {
                S::SERVICE_UNAVAILABLE
            }
            _ => S::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 error code for the `WWW-Authenticate` header, if any.
    pub fn rfc6750_code(&self) -> Option<&'static str> {
        match self.kind {
            AuthErrorKind::MalformedRequest => Some("invalid_request"),
            AuthErrorKind::InsufficientScope => Some("insufficient_scope"),
            AuthErrorKind::TokenNotFound
            | AuthErrorKind::CsrfFailed
            | AuthErrorKind::StoreUnavailable
            | AuthErrorKind::KeysUnavailable => None,
            _ => Some("invalid_token"),
        }
    }
}

impl PartialEq for AuthError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.detail == other.detail
    }
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let error = self.0;
        let detail = error.detail.as_deref().unwrap_or("");
        match error.kind {
            AuthErrorKind::MalformedRequest => write!(f, "malformed request: {detail}"),
            AuthErrorKind::TokenNotFound => f.write_str("bearer token not found"),
            AuthErrorKind::TokenMalformed
            | AuthErrorKind::KeyNotFound
            | AuthErrorKind::AlgorithmMismatch
            | AuthErrorKind::HeaderForbidden
            | AuthErrorKind::SignatureInvalid => f.write_str("bearer token signature invalid"),
            AuthErrorKind::Expired => f.write_str("bearer token expired"),
            AuthErrorKind::NotYetValid => f.write_str("bearer token not yet valid"),
            AuthErrorKind::ClaimInvalid => write!(f, "bearer token claim {detail} invalid"),
            AuthErrorKind::ClaimNotFound => write!(f, "bearer token claim {detail} not found"),
            AuthErrorKind::InsufficientScope if error.claim_absent => {
                write!(f, "bearer token claim {detail} not found")
            }
            AuthErrorKind::InsufficientScope => write!(f, "bearer token claim {detail} invalid"),
            AuthErrorKind::SessionNotFound => f.write_str("session not found"),
            AuthErrorKind::TokenStale => f.write_str("token stale"),
            AuthErrorKind::CsrfFailed => f.write_str("csrf check failed"),
            AuthErrorKind::StoreUnavailable => f.write_str("session store unavailable"),
            AuthErrorKind::KeysUnavailable => f.write_str("verification keys unavailable"),
            AuthErrorKind::Custom => f.write_str(detail),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// StoreError
// ---------------------------------------------------------------------------------------------

/// What went wrong in a session store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// Optimistic lock failed: the session exists already (create) or another writer stored
    /// a newer version since it was read (update).
    Conflict,
    /// An update targeted a session that does not exist (deleted or expired). Nothing was
    /// written: a deleted session is never brought back.
    NotFound,
    /// The backend did not answer within the configured timeout.
    Timeout,
    /// The backend could not be reached or answered with an error.
    Backend,
    /// The backend refused the write for lack of memory (Redis `OOM`).
    OutOfMemory,
    /// A value could not be encoded.
    Encoding,
    /// The backend is known to be down (its connection was lost, or several calls in a row
    /// failed): the call failed at once, without waiting for a timeout, and will until a
    /// background probe reaches the backend again. Carries a
    /// [`retry_after`](StoreError::retry_after) hint.
    Unavailable,
    /// A delete was applied on the primary but could not be confirmed durable (replicated
    /// to the requested replicas, or fsynced) within the durability timeout. The caller must
    /// treat the delete as **not done** (a logout answers 503 and the client retries; a
    /// delete is idempotent). Carries a [`retry_after`](StoreError::retry_after) hint.
    NotDurable,
}

impl StoreErrorKind {
    /// A stable snake_case name for this kind, the variant name in snake case:
    /// `conflict`, `not_found`, `timeout`, `backend`, `out_of_memory`, `encoding`,
    /// `unavailable`, `not_durable`.
    ///
    /// The `kind` label of the `charon_store_errors_total` counter (feature `metrics`);
    /// stable across releases.
    ///
    /// ```
    /// use charon_auth::error::StoreErrorKind;
    /// assert_eq!(StoreErrorKind::NotDurable.as_str(), "not_durable");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            StoreErrorKind::Conflict => "conflict",
            StoreErrorKind::NotFound => "not_found",
            StoreErrorKind::Timeout => "timeout",
            StoreErrorKind::Backend => "backend",
            StoreErrorKind::OutOfMemory => "out_of_memory",
            StoreErrorKind::Encoding => "encoding",
            StoreErrorKind::Unavailable => "unavailable",
            StoreErrorKind::NotDurable => "not_durable",
        }
    }
}

/// A session store operation failed. Backend errors keep the driver error as `source()`.
///
/// Its `Display` says what the store saw, in words of its own (`store: timed out`), so a
/// [`SessionError`] wrapping it never prints the same text twice in a source chain.
#[derive(Debug, thiserror::Error)]
#[error("{}", store_message(*.kind))]
pub struct StoreError {
    kind: StoreErrorKind,
    #[source]
    source: Option<BoxError>,
    retry_after: Option<std::time::Duration>,
}

impl StoreError {
    /// An error of this kind with no cause.
    pub fn new(kind: StoreErrorKind) -> Self {
        Self {
            kind,
            source: None,
            retry_after: None,
        }
    }

    /// An error of this kind caused by `source`.
    pub fn with_source(kind: StoreErrorKind, source: impl Into<BoxError>) -> Self {
        Self {
            kind,
            source: Some(source.into()),
            retry_after: None,
        }
    }

    /// Attach a hint of when the operation is worth retrying.
    #[must_use]
    pub fn with_retry_after(mut self, after: std::time::Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// When the operation is worth retrying, if the store knows: set on
    /// [`Unavailable`](StoreErrorKind::Unavailable) (the probe interval of the Redis store)
    /// and [`NotDurable`](StoreErrorKind::NotDurable). An HTTP layer answers it as a
    /// `Retry-After` header (whole seconds, rounded up).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after
    }

    /// `Conflict`.
    pub fn conflict() -> Self {
        Self::new(StoreErrorKind::Conflict)
    }

    /// `NotFound`.
    pub fn not_found() -> Self {
        Self::new(StoreErrorKind::NotFound)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// Whether the backend itself failed (as opposed to a lock outcome).
    pub fn is_backend(&self) -> bool {
        matches!(
            self.kind,
            StoreErrorKind::Timeout
                | StoreErrorKind::Backend
                | StoreErrorKind::OutOfMemory
                | StoreErrorKind::Encoding
                | StoreErrorKind::Unavailable
                | StoreErrorKind::NotDurable
        )
    }
}

fn store_message(kind: StoreErrorKind) -> &'static str {
    match kind {
        StoreErrorKind::Conflict => "store: lock version conflict",
        StoreErrorKind::NotFound => "store: no such session",
        StoreErrorKind::Timeout => "store: timed out",
        StoreErrorKind::Backend => "store: backend error",
        StoreErrorKind::OutOfMemory => "store: out of memory",
        StoreErrorKind::Encoding => "store: could not encode the session",
        StoreErrorKind::Unavailable => "store: known to be down, failing fast",
        StoreErrorKind::NotDurable => "store: write not confirmed durable",
    }
}

// ---------------------------------------------------------------------------------------------
// SessionError
// ---------------------------------------------------------------------------------------------

/// What went wrong in a session API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionErrorKind {
    /// A concurrent writer won (409).
    Conflict,
    /// The session does not exist any more (401).
    NotFound,
    /// Bearer transport requested by a browser while browser enforcement is on (400).
    InsecureTransport,
    /// An argument is invalid: user id, session type, reserved claim override (400).
    InvalidInput,
    /// The store failed (503).
    Store,
    /// A token could not be signed (500).
    Signing,
}

impl SessionErrorKind {
    /// A stable snake_case name for this kind, the variant name in snake case:
    /// `conflict`, `not_found`, `insecure_transport`, `invalid_input`, `store`, `signing`.
    ///
    /// The `kind` field of the JSON body a [`SessionError`] is answered with (feature
    /// `axum`); stable across releases.
    ///
    /// ```
    /// use charon_auth::SessionErrorKind;
    /// assert_eq!(SessionErrorKind::Store.as_str(), "store");
    /// assert_eq!(SessionErrorKind::InvalidInput.as_str(), "invalid_input");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            SessionErrorKind::Conflict => "conflict",
            SessionErrorKind::NotFound => "not_found",
            SessionErrorKind::InsecureTransport => "insecure_transport",
            SessionErrorKind::InvalidInput => "invalid_input",
            SessionErrorKind::Store => "store",
            SessionErrorKind::Signing => "signing",
        }
    }
}

/// A session API call failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SessionError {
    kind: SessionErrorKind,
    message: Cow<'static, str>,
    #[source]
    source: Option<BoxError>,
}

impl SessionError {
    /// An error of this kind with a message.
    pub fn new(kind: SessionErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attach the cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> SessionErrorKind {
        self.kind
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self.kind {
            SessionErrorKind::Conflict => S::CONFLICT,
            SessionErrorKind::NotFound => S::UNAUTHORIZED,
            SessionErrorKind::InsecureTransport | SessionErrorKind::InvalidInput => S::BAD_REQUEST,
            SessionErrorKind::Store => S::SERVICE_UNAVAILABLE,
            SessionErrorKind::Signing => S::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The `Retry-After` of a 503 caused by `error`, in whole seconds: the
/// [`retry_after`](StoreError::retry_after) hint of the first [`StoreError`] in its source
/// chain (the error itself included) rounded up, at least 1; 1 when no error in the chain
/// carries a hint.
pub(crate) fn retry_after_secs(error: &(dyn StdError + 'static)) -> u64 {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(store) = e.downcast_ref::<StoreError>() {
            return store.retry_after().map_or(1, |d| {
                let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
                secs.max(1)
            });
        }
        current = e.source();
    }
    1
}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        let (kind, message) = match e.kind() {
            StoreErrorKind::Conflict => (SessionErrorKind::Conflict, "session update conflict"),
            StoreErrorKind::NotFound => (SessionErrorKind::NotFound, "session not found"),
            _ => (SessionErrorKind::Store, "session store unavailable"),
        };
        Self::new(kind, message).with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message of `error`'s source chain, outermost first.
    fn chain(error: &(dyn StdError + 'static)) -> Vec<String> {
        let mut out = Vec::new();
        let mut current = Some(error);
        while let Some(e) = current {
            out.push(e.to_string());
            current = e.source();
        }
        out
    }

    #[test]
    fn a_printed_source_chain_never_repeats_a_message() {
        let kinds = [
            StoreErrorKind::Conflict,
            StoreErrorKind::NotFound,
            StoreErrorKind::Timeout,
            StoreErrorKind::Backend,
            StoreErrorKind::OutOfMemory,
            StoreErrorKind::Encoding,
            StoreErrorKind::Unavailable,
            StoreErrorKind::NotDurable,
        ];
        for kind in kinds {
            let session = SessionError::from(StoreError::new(kind));
            let auth =
                AuthError::new(AuthErrorKind::StoreUnavailable).with_source(StoreError::new(kind));
            for messages in [chain(&session), chain(&auth)] {
                assert!(messages.len() >= 2, "{messages:?}");
                for pair in messages.windows(2) {
                    assert_ne!(pair.first(), pair.get(1), "{kind:?}: {messages:?}");
                }
            }
        }
        let config = ConfigError::new(ConfigErrorKind::InvalidKey, "bad key")
            .with_source(StoreError::new(StoreErrorKind::Backend));
        assert_eq!(
            chain(&config),
            [
                "invalid charon configuration: bad key",
                "store: backend error"
            ]
        );
    }

    #[test]
    fn auth_error_display_keeps_charon_text() {
        let cases = [
            (
                AuthError::new(AuthErrorKind::TokenNotFound),
                "bearer token not found",
            ),
            (
                AuthError::new(AuthErrorKind::SignatureInvalid),
                "bearer token signature invalid",
            ),
            (
                AuthError::new(AuthErrorKind::KeyNotFound),
                "bearer token signature invalid",
            ),
            (
                AuthError::new(AuthErrorKind::Expired),
                "bearer token expired",
            ),
            (
                AuthError::new(AuthErrorKind::NotYetValid),
                "bearer token not yet valid",
            ),
            (
                AuthError::claim_invalid("iss"),
                "bearer token claim iss invalid",
            ),
            (
                AuthError::claim_not_found("sid"),
                "bearer token claim sid not found",
            ),
            (
                AuthError::new(AuthErrorKind::SessionNotFound),
                "session not found",
            ),
            (AuthError::new(AuthErrorKind::TokenStale), "token stale"),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), text);
        }
    }

    #[test]
    fn auth_error_kind_names_are_snake_case_of_variant() {
        let kinds = [
            (AuthErrorKind::MalformedRequest, "MalformedRequest"),
            (AuthErrorKind::TokenNotFound, "TokenNotFound"),
            (AuthErrorKind::TokenMalformed, "TokenMalformed"),
            (AuthErrorKind::KeyNotFound, "KeyNotFound"),
            (AuthErrorKind::AlgorithmMismatch, "AlgorithmMismatch"),
            (AuthErrorKind::HeaderForbidden, "HeaderForbidden"),
            (AuthErrorKind::SignatureInvalid, "SignatureInvalid"),
            (AuthErrorKind::Expired, "Expired"),
            (AuthErrorKind::NotYetValid, "NotYetValid"),
            (AuthErrorKind::ClaimInvalid, "ClaimInvalid"),
            (AuthErrorKind::ClaimNotFound, "ClaimNotFound"),
            (AuthErrorKind::SessionNotFound, "SessionNotFound"),
            (AuthErrorKind::TokenStale, "TokenStale"),
            (AuthErrorKind::CsrfFailed, "CsrfFailed"),
            (AuthErrorKind::StoreUnavailable, "StoreUnavailable"),
            (AuthErrorKind::KeysUnavailable, "KeysUnavailable"),
            (AuthErrorKind::Custom, "Custom"),
        ];
        for (kind, variant) in kinds {
            assert_eq!(format!("{kind:?}"), variant);
            let mut snake = String::new();
            for c in variant.chars() {
                if c.is_ascii_uppercase() && !snake.is_empty() {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            assert_eq!(kind.as_str(), snake);
        }
    }

    #[test]
    fn auth_error_statuses() {
        assert_eq!(
            AuthError::new(AuthErrorKind::MalformedRequest).status(),
            400
        );
        assert_eq!(AuthError::new(AuthErrorKind::Expired).status(), 401);
        assert_eq!(AuthError::new(AuthErrorKind::CsrfFailed).status(), 403);
        assert_eq!(
            AuthError::new(AuthErrorKind::StoreUnavailable).status(),
            503
        );
    }

    #[test]
    fn store_error_kind_names_are_snake_case_of_variant() {
        let kinds = [
            (StoreErrorKind::Conflict, "Conflict"),
            (StoreErrorKind::NotFound, "NotFound"),
            (StoreErrorKind::Timeout, "Timeout"),
            (StoreErrorKind::Backend, "Backend"),
            (StoreErrorKind::OutOfMemory, "OutOfMemory"),
            (StoreErrorKind::Encoding, "Encoding"),
            (StoreErrorKind::Unavailable, "Unavailable"),
            (StoreErrorKind::NotDurable, "NotDurable"),
        ];
        for (kind, variant) in kinds {
            assert_eq!(format!("{kind:?}"), variant);
            let mut snake = String::new();
            for c in variant.chars() {
                if c.is_ascii_uppercase() && !snake.is_empty() {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            assert_eq!(kind.as_str(), snake);
        }
    }

    #[test]
    fn store_error_retry_after_and_session_mapping() {
        let e = StoreError::new(StoreErrorKind::Unavailable)
            .with_retry_after(std::time::Duration::from_millis(500));
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_millis(500)));
        assert!(e.is_backend());
        assert_eq!(StoreError::conflict().retry_after(), None);
        for kind in [StoreErrorKind::Unavailable, StoreErrorKind::NotDurable] {
            let e: SessionError = StoreError::new(kind).into();
            assert_eq!(e.kind(), SessionErrorKind::Store);
            assert_eq!(e.status(), 503);
        }
    }

    #[test]
    fn session_error_kind_names_are_snake_case_of_variant() {
        let kinds = [
            (SessionErrorKind::Conflict, "Conflict"),
            (SessionErrorKind::NotFound, "NotFound"),
            (SessionErrorKind::InsecureTransport, "InsecureTransport"),
            (SessionErrorKind::InvalidInput, "InvalidInput"),
            (SessionErrorKind::Store, "Store"),
            (SessionErrorKind::Signing, "Signing"),
        ];
        for (kind, variant) in kinds {
            assert_eq!(format!("{kind:?}"), variant);
            let mut snake = String::new();
            for c in variant.chars() {
                if c.is_ascii_uppercase() && !snake.is_empty() {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            assert_eq!(kind.as_str(), snake);
        }
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_from_the_store_hint() {
        use std::time::Duration;
        let hinted = |d: Duration| StoreError::new(StoreErrorKind::Unavailable).with_retry_after(d);
        let cases = [
            (Duration::from_millis(500), 1),
            (Duration::from_secs(1), 1),
            (Duration::from_millis(1001), 2),
            (Duration::from_millis(2500), 3),
            (Duration::ZERO, 1),
        ];
        for (hint, secs) in cases {
            assert_eq!(retry_after_secs(&hinted(hint)), secs, "{hint:?}");
            // Found through a SessionError's and an AuthError's source.
            let session: SessionError = hinted(hint).into();
            assert_eq!(retry_after_secs(&session), secs, "{hint:?}");
            let auth = AuthError::new(AuthErrorKind::StoreUnavailable).with_source(hinted(hint));
            assert_eq!(retry_after_secs(&auth), secs, "{hint:?}");
        }
        // No hint, or no store error at all: 1 s.
        let timeout: SessionError = StoreError::new(StoreErrorKind::Timeout).into();
        assert_eq!(retry_after_secs(&timeout), 1);
        assert_eq!(
            retry_after_secs(&AuthError::new(AuthErrorKind::StoreUnavailable)),
            1
        );
    }

    #[test]
    fn store_error_maps_to_session_error() {
        let e: SessionError = StoreError::conflict().into();
        assert_eq!(e.kind(), SessionErrorKind::Conflict);
        assert_eq!(e.status(), 409);
        let e: SessionError = StoreError::new(StoreErrorKind::Timeout).into();
        assert_eq!(e.status(), 503);
        assert!(e.source().is_some());
    }
}
