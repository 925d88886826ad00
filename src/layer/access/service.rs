//! [`Access`]: the Tower service that verifies each request's access token.

use std::fmt;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::{AccessLayer, ResponseFuture};
use crate::layer::{Rejection, Verdict, reject};

/// The service made by [`AccessLayer`]. See there.
pub struct Access<S, R> {
    pub(crate) inner: S,
    pub(crate) layer: AccessLayer<R>,
}

impl<S, R> Access<S, R> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwrap the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, R> Clone for Access<S, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, R> fmt::Debug for Access<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Access")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for Access<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: Rejection<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let layer = &self.layer;
        let verifier = &layer.verifier;
        let now = verifier.now();
        let mut outcome =
            verifier.authenticate_with(req.method(), req.headers(), layer.checks.as_slice(), now);
        if let (Ok(auth), Some(typed)) = (&outcome, &layer.typed)
            && let Err(error) = typed(&auth.claims, req.extensions_mut())
        {
            outcome = Err(error);
        }
        match Verdict::access(outcome).record(&mut req, layer.optional) {
            Ok(()) => ResponseFuture::inner(self.inner.call(req)),
            Err(error) => ResponseFuture::rejected(reject(&*layer.rejection, error)),
        }
    }
}
