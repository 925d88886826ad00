//! The smallest useful axum app: login, a protected route, refresh, logout.
//!
//! ```text
//! cargo run --example axum_minimal --features axum
//! ```
#![allow(clippy::print_stdout)]

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use charon_auth::transport::CookieConfig;
use charon_auth::{
    AccessLayer, Authenticated, Charon, CreateSession, RefreshAuth, RefreshLayer, RefreshSession,
    RequestContext, SessionError, Transport,
};

async fn login(
    axum::extract::State(charon): axum::extract::State<Charon>,
    // What the login needs to know about its request (is it a browser?).
    ctx: RequestContext,
) -> Result<impl IntoResponse, SessionError> {
    // Check the user's credentials here; this sketch signs in "alice".
    charon
        .create_session(CreateSession::new("alice", Transport::Cookie), ctx)
        .await
}

async fn me(auth: Authenticated) -> String {
    format!("hello {}", auth.user_id())
}

async fn refresh(
    axum::extract::State(charon): axum::extract::State<Charon>,
    auth: RefreshAuth,
) -> Result<impl IntoResponse, SessionError> {
    charon.refresh_session(&auth, RefreshSession::new()).await
}

async fn logout(
    axum::extract::State(charon): axum::extract::State<Charon>,
    auth: Authenticated,
) -> Result<impl IntoResponse, SessionError> {
    charon.delete_session(&auth).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let charon = Charon::builder()
        .issuer("my-app")
        .base_secret(
            std::env::var("CHARON_SECRET")
                .unwrap_or_else(|_| "dev only: set CHARON_SECRET to 32+ random bytes".into()),
        )
        // `__Host-` cookie names: no sibling subdomain can plant a cookie of the same name.
        .cookies(CookieConfig::host_prefixed())
        .build()?;

    let app = Router::new()
        .route("/me", get(me))
        .route("/logout", post(logout))
        .route_layer(AccessLayer::new(&charon))
        .merge(
            Router::new()
                .route("/refresh", post(refresh))
                .route_layer(RefreshLayer::new(&charon)),
        )
        .route("/login", post(login))
        .with_state(charon);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
