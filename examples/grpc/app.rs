//! The gRPC service of `examples/grpc_server.rs`, shared with its test (`tests/stacks/grpc.rs`
//! includes this file), so the test checks exactly what the example serves.
//!
//! `charon.demo.Identity`, written by hand in the shape `tonic-build` generates, so that
//! nothing runs `protoc` at build time. Its protobuf definition:
//!
//! ```proto
//! syntax = "proto3";
//! package charon.demo;
//!
//! service Identity {
//!   // Any valid access token.
//!   rpc WhoAmI (WhoAmIRequest) returns (WhoAmIReply);
//!   // An access token whose `scope` claim holds `admin`.
//!   rpc Admin (WhoAmIRequest) returns (WhoAmIReply);
//! }
//!
//! message WhoAmIRequest {}
//! message WhoAmIReply {
//!   string user_id = 1;
//!   optional string session_id = 2;
//! }
//! ```

use std::convert::Infallible;
use std::task::{Context, Poll};

use charon_auth::layer::GrpcRejection;
use charon_auth::{AccessLayer, Authenticated, Keyset, TrustedIssuer, Verifier};
use tonic::codegen::{Body, BoxFuture, Service, StdError};
use tonic::server::{NamedService, UnaryService};
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;
use tower::Layer;

/// The issuer of the axum demo's tokens (`examples/axum_server.rs`).
pub(crate) const ISSUER: &str = "charon-auth-demo";

/// The gRPC service name.
pub(crate) const SERVICE: &str = "charon.demo.Identity";
/// `WhoAmI`: any valid access token.
pub(crate) const WHO_AM_I: &str = "/charon.demo.Identity/WhoAmI";
/// `Admin`: an access token whose `scope` holds `admin`.
pub(crate) const ADMIN: &str = "/charon.demo.Identity/Admin";

/// The (empty) request of both methods.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub(crate) struct WhoAmIRequest {}

/// Who the verified token says the caller is.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct WhoAmIReply {
    /// The token's `sub`.
    #[prost(string, tag = "1")]
    pub(crate) user_id: String,
    /// The token's `sid`.
    #[prost(string, optional, tag = "2")]
    pub(crate) session_id: Option<String>,
}

/// A verifier for the axum demo's tokens: HS256 keys derived from its base secret
/// (`CHARON_SECRET`) exactly as `Charon::builder().base_secret(..)` derives them, issuer
/// [`ISSUER`], and the audience when one is given. No store, no session API.
pub(crate) fn verifier(
    secret: &[u8],
    audience: Option<&str>,
) -> Result<Verifier, charon_auth::ConfigError> {
    let keys = Keyset::from_base_secret(secret)?;
    let mut builder = Verifier::builder().trust(TrustedIssuer::charon(ISSUER, keys));
    if let Some(audience) = audience {
        builder = builder.audience(audience);
    }
    builder.build()
}

/// The server's routes: each method behind its own access layer, both answering
/// rejections as gRPC statuses (`UNAUTHENTICATED`, `PERMISSION_DENIED`, `UNAVAILABLE`, …);
/// any other method is `UNIMPLEMENTED`.
///
/// When every method needs the same check, `Server::builder().layer(layer)` with
/// `.add_service(IdentityServer)` does it in one place instead.
pub(crate) fn routes(verifier: &Verifier) -> Routes {
    let signed_in = AccessLayer::new(verifier).rejection(GrpcRejection);
    let admin = signed_in.clone().claim_contains_all("scope", ["admin"]);
    let router = Routes::default()
        .into_axum_router()
        .route_service(WHO_AM_I, signed_in.layer(IdentityServer))
        .route_service(ADMIN, admin.layer(IdentityServer));
    Routes::from(router)
}

/// The handler of both methods: the access layer put the verified identity in the
/// request's extensions (tonic carries `http::Request` extensions over).
fn who_am_i(request: &Request<WhoAmIRequest>) -> Result<Response<WhoAmIReply>, Status> {
    // The layer never calls the service without it: only a server wired without the
    // layer gets here.
    let Some(auth) = request.extensions().get::<Authenticated>() else {
        return Err(Status::internal("the access layer is missing"));
    };
    Ok(Response::new(WhoAmIReply {
        user_id: auth.user_id().to_owned(),
        session_id: auth.session_id().map(str::to_owned),
    }))
}

/// One unary method, as tonic's `UnaryService`.
struct WhoAmI;

impl UnaryService<WhoAmIRequest> for WhoAmI {
    type Response = WhoAmIReply;
    type Future = std::future::Ready<Result<Response<WhoAmIReply>, Status>>;

    fn call(&mut self, request: Request<WhoAmIRequest>) -> Self::Future {
        std::future::ready(who_am_i(&request))
    }
}

/// The `charon.demo.Identity` service (what `tonic-build` would call `IdentityServer`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IdentityServer;

impl NamedService for IdentityServer {
    const NAME: &'static str = SERVICE;
}

impl<B> Service<http::Request<B>> for IdentityServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        match req.uri().path() {
            WHO_AM_I | ADMIN => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.unary(WhoAmI, req).await)
            }),
            _ => Box::pin(async move { Ok(Status::unimplemented("").into_http()) }),
        }
    }
}
