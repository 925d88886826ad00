//! charon-auth in a tonic gRPC server: the access layer in front of a service, answering
//! rejections as gRPC statuses with [`GrpcRejection`](charon_auth::layer::GrpcRejection).
//!
//! ```text
//! cargo run --example grpc_server
//! ```
//!
//! It verifies the tokens of the axum demo (`examples/axum_server.rs`, issuer
//! `charon-auth-demo`, HS256 keys derived from the same base secret) with a standalone
//! `Verifier`: no store, no session API. The service, `charon.demo.Identity` (its `.proto`
//! is at the top of `examples/grpc/app.rs`), has two unary methods:
//!
//! - `WhoAmI`: any valid access token; answers `{user_id, session_id}` from the token.
//! - `Admin`: the same, for access tokens whose `scope` claim holds `admin`.
//!
//! A call without a valid token ends with `UNAUTHENTICATED` (16) and Charon's message
//! (`bearer token not found`, `bearer token expired`, …) in `grpc-message`; a malformed
//! request (two `authorization` entries) with `INVALID_ARGUMENT` (3). The token goes in the
//! `authorization` metadata as `Bearer <token>`.
//!
//! Environment:
//! - `CHARON_DEMO_ADDR` (default `127.0.0.1:50051`)
//! - `CHARON_SECRET`: the axum demo's base secret (a loud warning when the public demo
//!   default is used, as there)
//! - `CHARON_AUDIENCE` (optional): accept only tokens whose `aud` names it
//!
//! The axum demo's access tokens must live at most 15 minutes (its default
//! `CHARON_ACCESS_TTL`): a verifier refuses Charon tokens that claim to live longer than
//! its issuer allows (`TrustedIssuer::max_token_lifetime`).
//!
//! Try it with the axum demo and [grpcurl](https://github.com/fullstorydev/grpcurl), the
//! `.proto` saved as `identity.proto`:
//!
//! ```text
//! cargo run --example axum_server --features axum,metrics &
//! cargo run --example grpc_server &
//! ACCESS=$(curl -s -X POST localhost:3000/login -H 'content-type: application/json' \
//!   -d '{"user_id":"alice","transport":"bearer"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
//! grpcurl -plaintext -proto identity.proto -H "authorization: Bearer $ACCESS" \
//!   127.0.0.1:50051 charon.demo.Identity/WhoAmI        # {"userId": "alice", "sessionId": …}
//! grpcurl -plaintext -proto identity.proto 127.0.0.1:50051 charon.demo.Identity/WhoAmI
//!   # Code: Unauthenticated, Message: bearer token not found
//! grpcurl -plaintext -proto identity.proto -H "authorization: Bearer $ACCESS" \
//!   127.0.0.1:50051 charon.demo.Identity/Admin         # no admin scope: refused
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "grpc/app.rs"]
mod app;

use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

/// The axum demo's public default secret: tokens it signs verify here.
const DEMO_SECRET: &str = "charon-auth demo secret: NEVER use this in production";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,charon=debug".into()),
        )
        .init();

    let secret = std::env::var("CHARON_SECRET").unwrap_or_else(|_| {
        eprintln!("\n  WARNING: CHARON_SECRET is not set; using the PUBLIC demo secret.");
        eprintln!("  Anyone can forge tokens for this server. Never do this in production.\n");
        DEMO_SECRET.to_owned()
    });
    let audience = std::env::var("CHARON_AUDIENCE").ok();
    let verifier = app::verifier(secret.as_bytes(), audience.as_deref())?;

    let addr = std::env::var("CHARON_DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:50051".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "charon-auth gRPC demo listening on http://{} (service {})",
        listener.local_addr()?,
        app::SERVICE
    );
    Server::builder()
        .add_routes(app::routes(&verifier))
        .serve_with_incoming(TcpIncoming::from(listener))
        .await?;
    Ok(())
}
