//! Why a remote key set could not be fetched.

use std::borrow::Cow;
use std::error::Error as StdError;

use crate::token::JwkError;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why fetching a remote key set failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwksErrorKind {
    /// The connection failed: DNS, TCP, TLS (an untrusted certificate included).
    Connect,
    /// No complete answer within the timeout.
    Timeout,
    /// An HTTP status other than 200 (redirects are not followed).
    HttpStatus,
    /// The body is larger than the configured limit.
    TooLarge,
    /// The body is not a usable JWK Set: not JSON, hostile or unusable keys (the
    /// [`JwkError`] is the `source()`, see [`JwksError::jwk_error`]).
    InvalidDocument,
    /// The OpenID Connect discovery document is unusable: not JSON, no `jwks_uri`, an
    /// `issuer` that differs from the configured one, or a `jwks_uri` that is not allowed
    /// (plain HTTP to another host, credentials in the URL).
    Discovery,
}

impl JwksErrorKind {
    /// A stable snake_case name: `connect`, `timeout`, `http_status`, `too_large`,
    /// `invalid_document`, `discovery`. The `error_kind` of the `charon.jwks.refresh` event.
    pub const fn as_str(self) -> &'static str {
        match self {
            JwksErrorKind::Connect => "connect",
            JwksErrorKind::Timeout => "timeout",
            JwksErrorKind::HttpStatus => "http_status",
            JwksErrorKind::TooLarge => "too_large",
            JwksErrorKind::InvalidDocument => "invalid_document",
            JwksErrorKind::Discovery => "discovery",
        }
    }
}

/// A remote key set could not be fetched or was refused. The keys in use, if any, are
/// kept. `Display` names the problem; the cause (a hyper or rustls error, a [`JwkError`])
/// is `source()`.
///
/// `Display` is this error's own text only; the refused JWK (a [`JwkError`]) or the
/// transport failure follows in the source chain, never repeated.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct JwksError {
    kind: JwksErrorKind,
    message: Cow<'static, str>,
    status: Option<http::StatusCode>,
    #[source]
    source: Option<BoxError>,
}

impl JwksError {
    pub(crate) fn new(kind: JwksErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
            status: None,
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub(crate) fn http_status(status: http::StatusCode, what: &'static str) -> Self {
        let mut error = Self::new(
            JwksErrorKind::HttpStatus,
            format!("the {what} endpoint answered {status}"),
        );
        error.status = Some(status);
        error
    }

    /// What went wrong.
    pub fn kind(&self) -> JwksErrorKind {
        self.kind
    }

    /// The HTTP status, for [`JwksErrorKind::HttpStatus`].
    pub fn status(&self) -> Option<http::StatusCode> {
        self.status
    }

    /// Why the JWK Set was refused, for [`JwksErrorKind::InvalidDocument`].
    pub fn jwk_error(&self) -> Option<&JwkError> {
        self.source.as_deref().and_then(|e| e.downcast_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_snake_case_of_variant() {
        let kinds = [
            (JwksErrorKind::Connect, "Connect"),
            (JwksErrorKind::Timeout, "Timeout"),
            (JwksErrorKind::HttpStatus, "HttpStatus"),
            (JwksErrorKind::TooLarge, "TooLarge"),
            (JwksErrorKind::InvalidDocument, "InvalidDocument"),
            (JwksErrorKind::Discovery, "Discovery"),
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
}
