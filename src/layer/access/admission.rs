//! What the access layer decides for one request: let it through, reject it, or first
//! fetch the key its token names (a remote JWKS that has not seen a new `kid` yet).

use http::{Request, Response};

use super::AccessLayer;
use crate::layer::{Rejection, Verdict, reject};
use crate::token::TokenType;
use crate::verifier::{Attempt, KeyFetch};

/// The layer's decision for one request.
pub(crate) enum Admission<B> {
    /// Verified (or optional): the verdict is in the request; call the inner service.
    Pass,
    /// Refused: answer with this response.
    Reject(Response<B>),
    /// The token names a key its issuer's remote JWKS may have by now: fetch it, then
    /// decide again (without a second fetch). Nothing was emitted yet.
    FetchKeys(KeyFetch),
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
        verifier.emit(&attempt, outcome.as_ref().err());
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
