//! [`Access`]: the Tower service that verifies each request's access token.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::admission::Admission;
use super::{AccessLayer, ResponseFuture};
use crate::layer::Rejection;

/// The service made by [`AccessLayer`]. See there.
pub struct Access<S, R> {
    pub(crate) inner: S,
    /// Shared by the service's clones: a router clones the service for every request, and
    /// one reference count is cheaper than one for each of the layer's parts.
    pub(crate) layer: Arc<AccessLayer<R>>,
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
            layer: Arc::clone(&self.layer),
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

/// `S: Clone` so that a request waiting for a key fetch or its session load takes the service that was polled
/// ready with it (the usual Tower pattern); axum, hyper and tonic services are `Clone`.
impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for Access<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    R: Rejection<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        match self.layer.admit(&mut req, true) {
            Admission::Pass => ResponseFuture::inner(self.inner.call(req)),
            Admission::Reject(response) => ResponseFuture::rejected(response),
            Admission::FetchKeys(fetch) => {
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::fetching_keys(fetch, req, ready, Arc::clone(&self.layer))
            }
            Admission::LoadSession(pending) => {
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::loading_session(pending, req, ready, Arc::clone(&self.layer))
            }
        }
    }
}
