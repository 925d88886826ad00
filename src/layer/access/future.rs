//! [`ResponseFuture`]: the future returned by the [`Access`](super::Access) service.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::AccessLayer;
use super::admission::Admission;
use crate::error::{AuthError, AuthErrorKind};
use crate::layer::{Rejection, reject};
use crate::verifier::KeyFetch;

pin_project! {
    /// Response future of [`Access`](super::Access): the inner service's future, a ready
    /// rejection, or (only when a token names a key its issuer's remote JWKS has not
    /// published yet) a key fetch followed by the verification again. No allocation on the
    /// first two paths.
    pub struct ResponseFuture<S, ReqBody, R>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        kind: Kind<S, ReqBody, R>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, ReqBody, R>
    where
        S: Service<Request<ReqBody>>,
    {
        Inner { #[pin] future: S::Future },
        Rejected { response: Option<S::Response> },
        FetchingKeys { fetch: KeyFetch, waiting: Option<Waiting<S, ReqBody, R>> },
    }
}

/// A request waiting for a key fetch, with the (ready) service that will take it.
struct Waiting<S, ReqBody, R> {
    req: Request<ReqBody>,
    service: S,
    layer: AccessLayer<R>,
}

impl<S, ReqBody, R> ResponseFuture<S, ReqBody, R>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn inner(future: S::Future) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn rejected(response: S::Response) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }

    /// Fetch keys, then admit `req` again and call `service` (which was polled ready).
    pub(crate) fn fetching_keys(
        fetch: KeyFetch,
        req: Request<ReqBody>,
        service: S,
        layer: AccessLayer<R>,
    ) -> Self {
        Self {
            kind: Kind::FetchingKeys {
                fetch,
                waiting: Some(Waiting {
                    req,
                    service,
                    layer,
                }),
            },
        }
    }
}

impl<S, ReqBody, R, ResBody> Future for ResponseFuture<S, ReqBody, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: Rejection<ResBody>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut kind = self.project().kind;
        loop {
            match kind.as_mut().project() {
                KindProj::Inner { future } => return future.poll(cx),
                KindProj::Rejected { response } => {
                    return match response.take() {
                        Some(response) => Poll::Ready(Ok(response)),
                        // Polled after completion: a contract violation by the caller. Stay
                        // pending rather than panic.
                        None => Poll::Pending,
                    };
                }
                KindProj::FetchingKeys { fetch, waiting } => {
                    ready!(fetch.as_mut().poll(cx));
                    let Some(Waiting {
                        mut req,
                        mut service,
                        layer,
                    }) = waiting.take()
                    else {
                        return Poll::Pending;
                    };
                    let next = match layer.admit(&mut req, false) {
                        Admission::Pass => Kind::Inner {
                            future: service.call(req),
                        },
                        Admission::Reject(response) => Kind::Rejected {
                            response: Some(response),
                        },
                        // Never asked for after a fetch; refuse rather than wait again.
                        Admission::FetchKeys(_) => Kind::Rejected {
                            response: Some(reject(
                                &*layer.rejection,
                                AuthError::new(AuthErrorKind::KeysUnavailable),
                            )),
                        },
                    };
                    kind.set(next);
                }
            }
        }
    }
}

impl<S, ReqBody, R> fmt::Debug for ResponseFuture<S, ReqBody, R>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
