//! [`ResponseFuture`]: the future returned by the [`Access`](super::Access) service.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::AccessLayer;
use super::admission::{Admission, PendingSession};
use crate::error::{AuthError, AuthErrorKind};
use crate::layer::{Rejection, reject};
use crate::verifier::KeyFetch;

pin_project! {
    /// Response future of [`Access`](super::Access): the inner service's future, a ready
    /// rejection, (only when a token names a key its issuer's remote JWKS has not
    /// published yet) a key fetch followed by the verification again, or (with a
    /// [session check](super::Revocation)) the session load followed by the verdict. No
    /// allocation on the first two paths.
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
        LoadingSession {
            pending: Option<PendingSession>,
            waiting: Option<Waiting<S, ReqBody, R>>,
        },
    }
}

/// A request waiting for a key fetch, with the (ready) service that will take it.
struct Waiting<S, ReqBody, R> {
    req: Request<ReqBody>,
    service: S,
    layer: Arc<AccessLayer<R>>,
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
        layer: Arc<AccessLayer<R>>,
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

impl<S, ReqBody, R> ResponseFuture<S, ReqBody, R>
where
    S: Service<Request<ReqBody>>,
{
    /// Load the session of `pending`, then conclude and call `service` (polled ready).
    pub(crate) fn loading_session(
        pending: PendingSession,
        req: Request<ReqBody>,
        service: S,
        layer: Arc<AccessLayer<R>>,
    ) -> Self {
        Self {
            kind: Kind::LoadingSession {
                pending: Some(pending),
                waiting: Some(Waiting {
                    req,
                    service,
                    layer,
                }),
            },
        }
    }
}

/// The state after an admission: call the service, answer the rejection, or wait again.
fn next_kind<S, ReqBody, R, ResBody>(
    admission: Admission<ResBody>,
    waiting: Waiting<S, ReqBody, R>,
    after_fetch: bool,
) -> Kind<S, ReqBody, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: Rejection<ResBody>,
{
    let Waiting {
        req,
        mut service,
        layer,
    } = waiting;
    match admission {
        Admission::Pass => Kind::Inner {
            future: service.call(req),
        },
        Admission::Reject(response) => Kind::Rejected {
            response: Some(response),
        },
        Admission::LoadSession(pending) if after_fetch => Kind::LoadingSession {
            pending: Some(pending),
            waiting: Some(Waiting {
                req,
                service,
                layer,
            }),
        },
        // A fetch is never asked for after a fetch, nor a load after a load; refuse rather
        // than wait again.
        Admission::FetchKeys(_) => Kind::Rejected {
            response: Some(reject(
                &*layer.rejection,
                AuthError::new(AuthErrorKind::KeysUnavailable),
            )),
        },
        Admission::LoadSession(_) => Kind::Rejected {
            response: Some(reject(
                &*layer.rejection,
                AuthError::new(AuthErrorKind::StoreUnavailable),
            )),
        },
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
                    let Some(mut waiting) = waiting.take() else {
                        return Poll::Pending;
                    };
                    let admission = waiting.layer.admit(&mut waiting.req, false);
                    kind.set(next_kind(admission, waiting, true));
                }
                KindProj::LoadingSession { pending, waiting } => {
                    let Some(load) = pending.as_mut().map(|pending| &mut pending.load) else {
                        return Poll::Pending;
                    };
                    let loaded = ready!(load.as_mut().poll(cx));
                    let (Some(pending), Some(mut waiting)) = (pending.take(), waiting.take())
                    else {
                        return Poll::Pending;
                    };
                    let admission =
                        waiting
                            .layer
                            .conclude_session(&mut waiting.req, pending, loaded);
                    kind.set(next_kind(admission, waiting, false));
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
