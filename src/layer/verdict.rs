//! What a layer leaves in the request: its verdict, replacing any outer layer's.

use http::Request;

use crate::charon::RefreshAuth;
use crate::error::AuthError;
use crate::verifier::Authenticated;

/// The outcome placed in the extensions by a layer in optional mode (`.optional()`): the
/// identity, or why there is none.
pub type AuthOutcome = Result<Authenticated, AuthError>;

/// One layer's verdict on a request.
pub(crate) enum Verdict {
    Access(Result<Authenticated, AuthError>),
    Refresh(Result<RefreshAuth, AuthError>),
}

impl Verdict {
    pub(crate) fn access(outcome: Result<Authenticated, AuthError>) -> Self {
        Self::Access(outcome)
    }

    pub(crate) fn refresh(outcome: Result<RefreshAuth, AuthError>) -> Self {
        Self::Refresh(outcome)
    }

    /// Put the verdict in the request, replacing whatever an outer layer left there, so the
    /// inner service sees the verdict of the innermost layer only: on success the identity
    /// (the refresh layer's also as [`RefreshAuth`]) and, in optional mode, `Ok` as the
    /// outcome (in required mode no outcome); on a failure in optional mode no identity and
    /// the `Err` outcome. A failure in required mode is returned, for the rejection.
    pub(crate) fn record<B>(self, req: &mut Request<B>, optional: bool) -> Result<(), AuthError> {
        let extensions = req.extensions_mut();
        let (auth, refresh) = match self {
            Self::Access(Ok(auth)) => (auth, None),
            Self::Refresh(Ok(refresh)) => (refresh.authenticated().clone(), Some(refresh)),
            Self::Access(Err(error)) | Self::Refresh(Err(error)) => {
                if !optional {
                    return Err(error);
                }
                extensions.remove::<Authenticated>();
                extensions.remove::<RefreshAuth>();
                extensions.insert::<AuthOutcome>(Err(error));
                return Ok(());
            }
        };
        if optional {
            extensions.insert::<AuthOutcome>(Ok(auth.clone()));
        } else {
            extensions.remove::<AuthOutcome>();
        }
        extensions.insert(auth);
        match refresh {
            Some(refresh) => extensions.insert(refresh),
            None => extensions.remove::<RefreshAuth>(),
        };
        Ok(())
    }
}
