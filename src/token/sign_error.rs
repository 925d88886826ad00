//! Why a token could not be signed.

use std::error::Error as StdError;

/// Why a token could not be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignErrorKind {
    /// The keyset is verify-only: it has no signing key (see
    /// [`Keyset::verify_only`](crate::token::Keyset::verify_only)).
    NoSigningKey,
    /// The claims could not be encoded as JSON.
    Encoding,
    /// The crypto backend refused the key or failed to sign.
    Backend,
    /// The signed token would exceed [`MAX_TOKEN_LEN`](crate::token::MAX_TOKEN_LEN) (too
    /// many extra claims), so verification would refuse it.
    TooLong,
}

impl SignErrorKind {
    /// A stable snake_case name: `no_signing_key`, `encoding`, `backend`, `too_long`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SignErrorKind::NoSigningKey => "no_signing_key",
            SignErrorKind::Encoding => "encoding",
            SignErrorKind::Backend => "backend",
            SignErrorKind::TooLong => "too_long",
        }
    }
}

/// A token could not be signed: the keyset has no signing key, the crypto backend refused
/// the key, or the claims could not be encoded. `Display` starts with Charon's
/// `"could not create jwt"`; the cause, if any, is `source()`.
#[derive(Debug, thiserror::Error)]
#[error("{}", match .kind {
    SignErrorKind::NoSigningKey => "could not create jwt: the keyset is verify-only (no signing key)",
    _ => "could not create jwt",
})]
pub struct SignError {
    kind: SignErrorKind,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl SignError {
    pub(crate) fn new(kind: SignErrorKind, source: impl StdError + Send + Sync + 'static) -> Self {
        Self {
            kind,
            source: Some(Box::new(source)),
        }
    }

    pub(crate) fn no_signing_key() -> Self {
        Self {
            kind: SignErrorKind::NoSigningKey,
            source: None,
        }
    }

    /// Why the token could not be signed.
    pub fn kind(&self) -> SignErrorKind {
        self.kind
    }
}
