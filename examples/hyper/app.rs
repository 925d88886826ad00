//! The routes of `examples/hyper_server.rs`, shared with its test (`tests/stacks/hyper_example.rs`
//! includes this file), so the test checks exactly what the example serves.
//!
//! `POST /login?user=alice` issues bearer tokens; `GET /me` needs the access token;
//! `POST /refresh` needs the refresh token.

use std::convert::Infallible;

use bytes::Bytes;
use charon_auth::{
    AccessLayer, Authenticated, Charon, CreateSession, RefreshAuth, RefreshLayer, RefreshSession,
    RequestContext, Transport,
};
use http::header::HeaderValue;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Layer, Service, ServiceExt, service_fn};

/// The response body type.
pub(crate) type Body = Full<Bytes>;

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut r = Response::new(Body::from(value.to_string()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// Answer one request.
pub(crate) async fn route<B>(
    charon: Charon,
    req: Request<B>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    let req = req.map(|_| ());
    let me = service_fn(|req: Request<()>| async move {
        // The layer put it there: it never calls the handler without it.
        let Some(auth) = req.extensions().get::<Authenticated>() else {
            return Ok(json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &serde_json::json!({}),
            ));
        };
        Ok::<_, Infallible>(json(
            StatusCode::OK,
            &serde_json::json!({ "user_id": auth.user_id(), "session_id": auth.session_id() }),
        ))
    });
    let c = charon.clone();
    let refresh = service_fn(move |req: Request<()>| {
        let c = c.clone();
        async move {
            let Some(auth) = req.extensions().get::<RefreshAuth>().cloned() else {
                return Ok(json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &serde_json::json!({}),
                ));
            };
            Ok::<_, Infallible>(
                match c.refresh_session(&auth, RefreshSession::new()).await {
                    Ok(t) => t.to_response(),
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
                .create_session(
                    CreateSession::new(user, Transport::Bearer),
                    RequestContext::from_request(&req),
                )
                .await;
            Ok(match created {
                // `to_response`: the body plus `Cache-Control: no-store` and any cookies.
                Ok(t) => t.to_response(),
                Err(e) => json(e.status(), &serde_json::json!({ "error": e.to_string() })),
            })
        }
        (Method::GET, "/me") => AccessLayer::new(&charon).layer(me).oneshot(req).await,
        (Method::POST, "/refresh") => {
            RefreshLayer::new(&charon)
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
