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

use std::convert::Infallible;

use bytes::Bytes;
use charon_auth::{AuthLayer, Authenticated, Charon, CreateSession, RefreshSession, Transport};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tower::{Layer, Service, ServiceExt, service_fn};

type Body = Full<Bytes>;

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut r = Response::new(Body::from(value.to_string()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r
}

async fn route(charon: Charon, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    let req = req.map(|_| ());
    let me = service_fn(|req: Request<()>| async move {
        let auth = req.extensions().get::<Authenticated>().unwrap();
        Ok::<_, Infallible>(json(
            StatusCode::OK,
            &serde_json::json!({ "user_id": auth.user_id(), "session_id": auth.session_id() }),
        ))
    });
    let c = charon.clone();
    let refresh = service_fn(move |req: Request<()>| {
        let c = c.clone();
        async move {
            let auth = req.extensions().get::<Authenticated>().unwrap().clone();
            Ok::<_, Infallible>(
                match c.refresh_session(&auth, RefreshSession::new()).await {
                    Ok(t) => json(StatusCode::OK, &t.body()),
                    Err(e) => json(e.status(), &serde_json::json!({ "error": e.to_string() })),
                },
            )
        }
    });
    match (req.method().clone(), path.as_str()) {
        (Method::POST, "/login") => {
            let user = req
                .uri()
                .query()
                .and_then(|q| q.strip_prefix("user="))
                .unwrap_or("demo")
                .to_owned();
            let created = charon
                .create_session(CreateSession::new(user, Transport::Bearer), req.headers())
                .await;
            Ok(match created {
                Ok(t) => json(StatusCode::OK, &t.body()),
                Err(e) => json(e.status(), &serde_json::json!({ "error": e.to_string() })),
            })
        }
        (Method::GET, "/me") => AuthLayer::access(&charon).layer(me).oneshot(req).await,
        (Method::POST, "/refresh") => {
            AuthLayer::refresh(&charon)
                .layer(refresh)
                .ready()
                .await?
                .call(req)
                .await
        }
        _ => Ok(json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "error": "not found" }),
        )),
    }
}

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
        let service = service_fn(move |req| route(charon.clone(), req));
        tokio::spawn(async move {
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .await;
        });
    }
}
