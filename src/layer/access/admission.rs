//! What the access layer decides for one request: let it through, reject it, or first
//! fetch the key its token names (a remote JWKS that has not seen a new `kid` yet), or
//! first load its session (a [session check](super::Revocation)).

use std::sync::Arc;

use http::{Request, Response};

use super::AccessLayer;
use super::revocation::{self, SessionLoad};
use crate::error::{AuthError, StoreError};
use crate::layer::{Rejection, Verdict, reject};
use crate::session::Session;
use crate::token::TokenType;
use crate::verifier::{Attempt, Authenticated, KeyFetch};

/// The layer's decision for one request.
pub(crate) enum Admission<B> {
    /// Verified (or optional): the verdict is in the request; call the inner service.
    Pass,
    /// Refused: answer with this response.
    Reject(Response<B>),
    /// The token names a key its issuer's remote JWKS may have by now: fetch it, then
    /// decide again (without a second fetch). Nothing was emitted yet.
    FetchKeys(KeyFetch),
    /// The token verified and the layer checks its session: load it, then
    /// [`conclude`](AccessLayer::conclude_session). Nothing was emitted yet.
    LoadSession(PendingSession),
}

/// A verified request waiting for its session.
pub(crate) struct PendingSession {
    pub(crate) load: SessionLoad,
    auth: Authenticated,
    attempt: Attempt,
}

impl<R> AccessLayer<R> {
    /// Verify `req`'s access token, run the claim checks and put the verdict in the
    /// request; emits exactly one token event unless it asks to fetch keys first (only
    /// when `may_fetch`).
    pub(crate) fn admit<ReqBody, ResBody>(
        &self,
        req: &mut Request<ReqBody>,
        may_fetch: bool,
    ) -> Admission<ResBody>
    where
        R: Rejection<ResBody>,
    {
        let verifier = &self.verifier;
        let now = verifier.now();
        let mut attempt = Attempt::default();
        let mut outcome = verifier.check_request(
            req.method(),
            req.headers(),
            TokenType::Access,
            self.checks.as_slice(),
            now,
            &mut attempt,
        );
        if may_fetch
            && let Err(error) = &outcome
            && verifier.may_fetch_keys(error)
            && let Some(fetch) = verifier
                .access_token(req.headers())
                .and_then(|token| verifier.key_fetch(&token))
        {
            return Admission::FetchKeys(fetch);
        }
        if let Some(check) = &self.session_check
            && let Ok(auth) = outcome
        {
            outcome = if let Some(session) = check.peek(&auth) {
                // A hit of the store's local cache: decided here, nothing to wait for.
                loaded(&mut attempt, auth, Ok(Some(session)))
            } else {
                match check.load(&auth) {
                    Ok(load) => {
                        return Admission::LoadSession(PendingSession {
                            load,
                            auth,
                            attempt,
                        });
                    }
                    Err(error) => Err(error),
                }
            };
        }
        self.conclude(req, &attempt, outcome)
    }

    /// The session load of `pending` finished with `loaded`: emit the one token event and
    /// put the verdict in `req`.
    pub(crate) fn conclude_session<ReqBody, ResBody>(
        &self,
        req: &mut Request<ReqBody>,
        pending: PendingSession,
        loaded: Result<Option<Arc<Session>>, StoreError>,
    ) -> Admission<ResBody>
    where
        R: Rejection<ResBody>,
    {
        let PendingSession {
            auth, mut attempt, ..
        } = pending;
        let outcome = self::loaded(&mut attempt, auth, loaded);
        self.conclude(req, &attempt, outcome)
    }

    /// Emit the token event for `outcome`, run the typed-claims check and record the verdict.
    fn conclude<ReqBody, ResBody>(
        &self,
        req: &mut Request<ReqBody>,
        attempt: &Attempt,
        mut outcome: Result<Authenticated, AuthError>,
    ) -> Admission<ResBody>
    where
        R: Rejection<ResBody>,
    {
        self.verifier.emit(attempt, outcome.as_ref().err());
        if let (Ok(auth), Some(typed)) = (&outcome, &self.typed)
            && let Err(error) = typed(&auth.claims, req.extensions_mut())
        {
            outcome = Err(error);
        }
        match Verdict::access(outcome).record(req, self.optional) {
            Ok(()) => Admission::Pass,
            Err(error) => Admission::Reject(reject(&*self.rejection, error)),
        }
    }
}

/// The check's verdict on `auth` once its session is `loaded` (from the cache or the
/// store), noted in `attempt` for the token event (`session_loaded`).
fn loaded(
    attempt: &mut Attempt,
    auth: Authenticated,
    loaded: Result<Option<Arc<Session>>, StoreError>,
) -> Result<Authenticated, AuthError> {
    let outcome = revocation::finish(auth, loaded);
    attempt.session_loaded = outcome.is_ok();
    outcome
}
