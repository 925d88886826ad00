//! [`Refresh`]: the Tower service that verifies each request's refresh token and loads its
//! session.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::{RefreshLayer, ResponseFuture};
use crate::layer::{Rejection, Verdict, reject};

/// The service made by [`RefreshLayer`]. See there.
pub struct Refresh<S, R> {
    pub(crate) inner: S,
    /// Shared by the service's clones (a router clones the service for every request).
    pub(crate) layer: Arc<RefreshLayer<R>>,
}

impl<S, R> Refresh<S, R> {
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

impl<S: Clone, R> Clone for Refresh<S, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: Arc::clone(&self.layer),
        }
    }
}

impl<S: fmt::Debug, R> fmt::Debug for Refresh<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refresh")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for Refresh<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Rejection<ResBody>,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // The session load is asynchronous. Take the service that was driven to readiness
        // and leave a clone in its place (the usual Tower pattern).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = Arc::clone(&self.layer);
        ResponseFuture::new(async move {
            let now = layer.charon.now();
            let outcome = layer
                .charon
                .authenticate_refresh_with(
                    req.method(),
                    req.headers(),
                    layer.checks.as_slice(),
                    layer.read,
                    now,
                )
                .await;
            match Verdict::refresh(outcome).record(&mut req, layer.optional) {
                Ok(()) => inner.call(req).await,
                Err(error) => Ok(reject(&*layer.rejection, error)),
            }
        })
    }
}
