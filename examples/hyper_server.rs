//! charon-auth on plain hyper, no axum: the access and refresh layers around
//! `tower::service_fn` handlers.
//!
//! ```text
//! cargo run --example hyper_server
//! ```
//!
//! `POST /login?user=alice` issues bearer tokens; `GET /me` needs the access token;
//! `POST /refresh` needs the refresh token. Listens on `CHARON_DEMO_ADDR`
//! (default 127.0.0.1:3001).
#![allow(clippy::print_stdout, clippy::expect_used, clippy::unwrap_used)]

#[path = "hyper/app.rs"]
mod app;

use charon_auth::Charon;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tower::service_fn;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let charon = Charon::builder()
        .issuer("charon-auth-hyper-demo")
        .base_secret(
            std::env::var("CHARON_SECRET")
                .unwrap_or_else(|_| "charon-auth demo secret: NEVER use this in production".into()),
        )
        .build()?;
    let addr = std::env::var("CHARON_DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("hyper demo listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let charon = charon.clone();
        let service = service_fn(move |req| app::route(charon.clone(), req));
        tokio::spawn(async move {
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .await;
        });
    }
}
