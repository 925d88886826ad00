//! `examples/hyper_server.rs` (its routes, `examples/hyper/app.rs`): tokens are answered with
//! `Cache-Control: no-store`, and the layers work on plain hyper types.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use crate::hyper_app as app;

use charon_auth::Charon;
use http::{Request, StatusCode};
use http_body_util::BodyExt;

fn charon() -> Charon {
    Charon::builder()
        .issuer("hyper-example")
        .base_secret("the hyper example test secret, 32 bytes+")
        .build()
        .unwrap()
}

async fn json(response: http::Response<app::Body>) -> serde_json::Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn token_answers_are_never_cached_and_the_layers_gate_me() {
    let charon = charon();
    let login = Request::post("/login?user=alice").body(()).unwrap();
    let response = app::route(charon.clone(), login).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let tokens = json(response).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let me = Request::get("/me")
        .header("authorization", format!("Bearer {access}"))
        .body(())
        .unwrap();
    let response = app::route(charon.clone(), me).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["user_id"], "alice");

    let anonymous = Request::get("/me").body(()).unwrap();
    let response = app::route(charon.clone(), anonymous).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let rotate = Request::post("/refresh")
        .header("authorization", format!("Bearer {refresh}"))
        .body(())
        .unwrap();
    let response = app::route(charon, rotate).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
}
