//! The access layer in a real tonic server, called by a real tonic client over loopback TCP:
//! `examples/grpc_server.rs` (its service and routes, `examples/grpc/app.rs`) with
//! [`GrpcRejection`], and the layer around a whole server (`Server::builder().layer(..)`).
//!
//! Every rejection is checked by its code *and* its message: a tonic client maps a plain
//! HTTP 401/403/503 to the same codes, but with a message of its own, so only
//! `GrpcRejection`'s trailers-only answer carries Charon's message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::grpc_app as app;

use std::net::SocketAddr;

use app::{ADMIN, IdentityServer, WHO_AM_I, WhoAmIReply, WhoAmIRequest};
use charon_auth::layer::GrpcRejection;
use charon_auth::{
    AccessLayer, AuthError, AuthErrorKind, Charon, CreateSession, ManualClock, Transport,
};
use http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic::{Code, Status};
use tonic_prost::ProstCodec;

const SECRET: &str = "the grpc example test secret, 32 bytes and more";

/// The auth service: issues the tokens the gRPC server verifies with a `Verifier` of its own.
fn auth_service(secret: &str, clock: ManualClock) -> Charon {
    Charon::builder()
        .issuer(app::ISSUER)
        .base_secret(secret)
        .clock(clock)
        .build()
        .unwrap()
}

/// An access token for `user` from an auth service with `secret` whose clock is `clock`,
/// carrying `scope` when given; with its session id.
async fn token_from(
    secret: &str,
    clock: ManualClock,
    user: &str,
    scope: Option<&str>,
) -> (String, String) {
    let mut request = CreateSession::new(user, Transport::Bearer);
    if let Some(scope) = scope {
        request = request.access_claim("scope", scope).unwrap();
    }
    let issued = auth_service(secret, clock)
        .create_session(request, charon_auth::RequestContext::no_request())
        .await
        .unwrap();
    (
        issued.access_token().unwrap().to_owned(),
        issued.session().id.clone(),
    )
}

async fn token(user: &str, scope: Option<&str>) -> (String, String) {
    token_from(SECRET, ManualClock::at_system_time(), user, scope).await
}

/// A loopback listener for a server task.
async fn listener() -> (TcpIncoming, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (TcpIncoming::from(listener), addr)
}

/// The example's server, on a loopback port.
async fn example_server() -> SocketAddr {
    let verifier = app::verifier(SECRET.as_bytes(), None).unwrap();
    let (incoming, addr) = listener().await;
    let server = Server::builder()
        .add_routes(app::routes(&verifier))
        .serve_with_incoming(incoming);
    tokio::spawn(server);
    addr
}

async fn connect(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Call `method` with a tonic client, each of `tokens` as an `authorization: Bearer …`
/// metadata entry.
async fn call(
    channel: &Channel,
    method: &'static str,
    tokens: &[&str],
) -> Result<WhoAmIReply, Status> {
    let mut client = tonic::client::Grpc::new(channel.clone());
    client.ready().await.unwrap();
    let mut request = tonic::Request::new(WhoAmIRequest {});
    for token in tokens {
        let value = MetadataValue::try_from(format!("Bearer {token}")).unwrap();
        request.metadata_mut().append("authorization", value);
    }
    let codec = ProstCodec::<WhoAmIRequest, WhoAmIReply>::default();
    client
        .unary(request, PathAndQuery::from_static(method), codec)
        .await
        .map(tonic::Response::into_inner)
}

fn code_and_message(result: Result<WhoAmIReply, Status>) -> (Code, String) {
    let status = result.expect_err("the call must be refused");
    (status.code(), status.message().to_owned())
}

#[tokio::test]
async fn a_call_without_a_token_is_unauthenticated_with_charons_message() {
    let channel = connect(example_server().await).await;
    for method in [WHO_AM_I, ADMIN] {
        assert_eq!(
            code_and_message(call(&channel, method, &[]).await),
            (Code::Unauthenticated, "bearer token not found".to_owned()),
            "{method}"
        );
    }
}

#[tokio::test]
async fn expired_and_forged_tokens_are_unauthenticated() {
    let channel = connect(example_server().await).await;
    // Issued an hour ago: its 15 minutes are over.
    let past = ManualClock::at_system_time();
    past.advance(-3600);
    let (expired, _) = token_from(SECRET, past, "alice", None).await;
    assert_eq!(
        code_and_message(call(&channel, WHO_AM_I, &[&expired]).await),
        (Code::Unauthenticated, "bearer token expired".to_owned())
    );
    // Same issuer, another secret: the signature does not verify.
    let other = "another secret than the server's, 32 bytes and more";
    let (forged, _) = token_from(other, ManualClock::at_system_time(), "alice", None).await;
    assert_eq!(
        code_and_message(call(&channel, WHO_AM_I, &[&forged]).await),
        (
            Code::Unauthenticated,
            "bearer token signature invalid".to_owned()
        )
    );
    assert_eq!(
        code_and_message(call(&channel, WHO_AM_I, &["not.a.jwt"]).await),
        (
            Code::Unauthenticated,
            "bearer token signature invalid".to_owned()
        )
    );
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler_with_its_identity() {
    let channel = connect(example_server().await).await;
    let (access, session_id) = token("alice", None).await;
    let reply = call(&channel, WHO_AM_I, &[&access]).await.unwrap();
    assert_eq!(
        reply,
        WhoAmIReply {
            user_id: "alice".to_owned(),
            session_id: Some(session_id),
        }
    );
}

#[tokio::test]
async fn the_admin_method_requires_the_admin_scope() {
    let channel = connect(example_server().await).await;
    let (reader, _) = token("bob", Some("read")).await;
    // The layer in front of WhoAmI has no claim check.
    assert_eq!(
        call(&channel, WHO_AM_I, &[&reader]).await.unwrap().user_id,
        "bob"
    );
    // A failed claim check is a 403 (AuthErrorKind::InsufficientScope): PERMISSION_DENIED.
    assert_eq!(
        code_and_message(call(&channel, ADMIN, &[&reader]).await),
        (
            Code::PermissionDenied,
            "bearer token claim scope invalid".to_owned()
        )
    );
    let (unscoped, _) = token("bob", None).await;
    assert_eq!(
        code_and_message(call(&channel, ADMIN, &[&unscoped]).await),
        (
            Code::PermissionDenied,
            "bearer token claim scope not found".to_owned()
        )
    );
    let (admin, session_id) = token("carol", Some("read admin")).await;
    assert_eq!(
        call(&channel, ADMIN, &[&admin]).await.unwrap(),
        WhoAmIReply {
            user_id: "carol".to_owned(),
            session_id: Some(session_id),
        }
    );
}

#[tokio::test]
async fn two_authorization_entries_are_invalid_argument() {
    let channel = connect(example_server().await).await;
    let (access, _) = token("alice", None).await;
    let (code, message) = code_and_message(call(&channel, WHO_AM_I, &[&access, &access]).await);
    assert_eq!(code, Code::InvalidArgument, "{message}");
    assert!(message.starts_with("malformed request: "), "{message}");
}

#[tokio::test]
async fn methods_the_service_lacks_are_unimplemented() {
    let channel = connect(example_server().await).await;
    let status = call(&channel, "/charon.demo.Identity/Nope", &[])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
}

/// The layer around a whole server (`Server::builder().layer(..)`), every service behind it.
async fn layered_server(layer: AccessLayer<GrpcRejection>) -> SocketAddr {
    let (incoming, addr) = listener().await;
    let server = Server::builder()
        .layer(layer)
        .add_service(IdentityServer)
        .serve_with_incoming(incoming);
    tokio::spawn(server);
    addr
}

#[tokio::test]
async fn the_layer_around_a_whole_server_gates_every_call() {
    let verifier = app::verifier(SECRET.as_bytes(), None).unwrap();
    let layer = AccessLayer::new(&verifier).rejection(GrpcRejection);
    let channel = connect(layered_server(layer).await).await;
    let (access, session_id) = token("dave", None).await;
    assert_eq!(
        call(&channel, ADMIN, &[&access]).await.unwrap(),
        WhoAmIReply {
            user_id: "dave".to_owned(),
            session_id: Some(session_id),
        }
    );
    assert_eq!(
        code_and_message(call(&channel, WHO_AM_I, &[]).await),
        (Code::Unauthenticated, "bearer token not found".to_owned())
    );
}

#[tokio::test]
async fn a_503_verdict_is_unavailable() {
    // A check that reports the session store down, as a session check on access routes
    // does when Redis is unreachable: the layer answers 503, the client sees UNAVAILABLE.
    let verifier = app::verifier(SECRET.as_bytes(), None).unwrap();
    let layer = AccessLayer::new(&verifier)
        .rejection(GrpcRejection)
        .check(|_| Err(AuthError::new(AuthErrorKind::StoreUnavailable)));
    let channel = connect(layered_server(layer).await).await;
    let (access, _) = token("erin", None).await;
    assert_eq!(
        code_and_message(call(&channel, WHO_AM_I, &[&access]).await),
        (Code::Unavailable, "session store unavailable".to_owned())
    );
}
