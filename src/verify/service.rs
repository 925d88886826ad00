//! [`Auth`]: the Tower service that verifies each request.

use std::fmt;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use super::{AuthLayer, AuthOutcome, Authenticated, Rejection, flow};
use crate::token::TokenType;

/// The service made by [`AuthLayer`]. See there.
pub struct Auth<S, R> {
    pub(crate) inner: S,
    pub(crate) layer: AuthLayer<R>,
}

impl<S: Clone, R> Clone for Auth<S, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, R> fmt::Debug for Auth<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for Auth<S, R>
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
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let layer = &self.layer;
        let now = layer.charon.now();
        if layer.kind == TokenType::Access {
            let outcome = flow::verify_access_sync(
                &layer.charon,
                req.method(),
                req.headers(),
                &layer.checks,
                now,
            );
            return match record_verdict(&mut req, outcome, layer.optional) {
                Ok(()) => ResponseFuture::inner(self.inner.call(req)),
                Err(error) => ResponseFuture::rejected(reject(&*layer.rejection, error)),
            };
        }

        // Refresh: the session load is asynchronous. Take the service that was driven to
        // readiness and leave a clone in its place (the usual Tower pattern).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        ResponseFuture::boxed(async move {
            let outcome = flow::verify_request(
                &layer.charon,
                req.method(),
                req.headers(),
                layer.kind,
                &layer.checks,
                now,
            )
            .await;
            match record_verdict(&mut req, outcome, layer.optional) {
                Ok(()) => inner.call(req).await,
                Err(error) => Ok(reject(&*layer.rejection, error)),
            }
        })
    }
}

/// Put this layer's verdict in the request, replacing whatever an outer layer left there,
/// so the inner service sees the verdict of the innermost layer only: on success the
/// identity (and, in optional mode, `Ok` as the outcome; in required mode no outcome); on a
/// failure in optional mode no identity and the `Err` outcome. A failure in required mode
/// is returned for the rejection.
fn record_verdict<B>(
    req: &mut Request<B>,
    outcome: AuthOutcome,
    optional: bool,
) -> Result<(), crate::AuthError> {
    let extensions = req.extensions_mut();
    match outcome {
        Ok(auth) => {
            if optional {
                extensions.insert::<AuthOutcome>(Ok(auth.clone()));
            } else {
                extensions.remove::<AuthOutcome>();
            }
            extensions.insert(auth);
            Ok(())
        }
        Err(error) if optional => {
            extensions.remove::<Authenticated>();
            extensions.insert::<AuthOutcome>(Err(error));
            Ok(())
        }
        Err(error) => Err(error),
    }
}

fn reject<B, R: Rejection<B>>(rejection: &R, error: crate::AuthError) -> Response<B> {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "charon::rejection",
        status = error.status().as_u16(),
        kind = ?error.kind(),
        "rejecting request: {error}"
    );
    let mut response = rejection.reject(&error);
    response.extensions_mut().insert(error);
    response
}
