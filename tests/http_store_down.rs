//! The demo contract with the store down (issue 14): through the demo router
//! (`examples/demo/app.rs`) on a `RedisStore` whose `redis-server` is killed, every route
//! that needs the store answers 503 with a JSON `kind` and a `Retry-After` header — login,
//! refresh (the refresh layer's rejection), logout and `/sessions` — while `/me` (access
//! token only) keeps answering 200. Once the breaker has opened (`is_available()` false),
//! the 503s come from the fast path: their store error kind is `Unavailable` and
//! `Retry-After` is the probe interval rounded up. After a restart the same router logs in
//! again, with no new store.
//!
//! No timing is asserted: the breaker's state and the error kinds are.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../examples/demo/app.rs"]
#[allow(dead_code)]
mod app;
mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use charon_auth::error::{AuthError, SessionErrorKind, StoreError, StoreErrorKind};
use charon_auth::layer::Revocation;
use charon_auth::store::redis::{FailFast, RedisStore, SigningKey};
use charon_auth::{AuthErrorKind, Charon};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use support::redis::RedisServer;
use tower::ServiceExt as _;

/// The fail-fast probe interval: 1.5 s, so the `Retry-After` of a fast 503 (2, rounded up)
/// differs from the 1 s default of errors without a hint.
const PROBE: Duration = Duration::from_millis(1500);
/// Not a timing assertion: how many requests a test makes before giving up on a state.
const ATTEMPTS: usize = 400;

struct Answer {
    status: StatusCode,
    body: Value,
    retry_after: Option<String>,
    /// The store error kind behind the answer, from the response extensions: the session
    /// API's `StoreErrorKind`, or the source of the refresh layer's `AuthError`.
    store_kind: Option<StoreErrorKind>,
    session_kind: Option<SessionErrorKind>,
    auth_kind: Option<AuthErrorKind>,
}

async fn answer(res: Response<Body>) -> Answer {
    let status = res.status();
    let retry_after = res
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let auth = res.extensions().get::<AuthError>().cloned();
    let store_kind = res
        .extensions()
        .get::<StoreErrorKind>()
        .copied()
        .or_else(|| {
            auth.as_ref()
                .and_then(|e| std::error::Error::source(e))
                .and_then(|s| s.downcast_ref::<StoreError>())
                .map(StoreError::kind)
        });
    let session_kind = res.extensions().get::<SessionErrorKind>().copied();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    Answer {
        status,
        body,
        retry_after,
        store_kind,
        session_kind,
        auth_kind: auth.map(|e| e.kind()),
    }
}

struct Tokens {
    access: String,
    refresh: String,
}

async fn send(app: &Router, req: Request<Body>) -> Answer {
    answer(app.clone().oneshot(req).await.unwrap()).await
}

fn login_request(user: &str) -> Request<Body> {
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"user_id": user, "transport": "bearer"}).to_string(),
        ))
        .unwrap()
}

fn bearer(method: &str, path: &str, token: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

async fn login(app: &Router, user: &str) -> Tokens {
    let a = send(app, login_request(user)).await;
    assert_eq!(a.status, StatusCode::OK, "login: {:?}", a.body);
    Tokens {
        access: a.body["access_token"].as_str().unwrap().to_owned(),
        refresh: a.body["refresh_token"].as_str().unwrap().to_owned(),
    }
}

/// A store 503 of the demo contract: JSON `error` and `kind`, and `Retry-After` in whole
/// seconds, equal to `retry_after`.
fn assert_store_503(a: &Answer, what: &str, kind: &str, retry_after: &str) {
    assert_eq!(
        a.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {:?}",
        a.body
    );
    assert_eq!(a.body["kind"], kind, "{what}: {:?}", a.body);
    assert!(a.body["error"].is_string(), "{what}: {:?}", a.body);
    assert_eq!(
        a.retry_after.as_deref(),
        Some(retry_after),
        "{what}: Retry-After"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_down_answers_503_with_kind_and_retry_after_then_fails_fast() {
    // Persistent, so the sessions are still there after the restart.
    let mut server =
        RedisServer::spawn_with_args(&["--appendonly", "yes", "--appendfsync", "always"]);
    let store = RedisStore::builder_with_key(SigningKey::from_bytes([5; 32]))
        .connect_timeout(Duration::from_millis(200))
        .response_timeout(Duration::from_millis(200))
        .fail_fast(FailFast::new().probe_interval(PROBE))
        .connect(&server.url())
        .await
        .unwrap();
    let probe = store.clone();
    let charon = Charon::builder()
        .issuer("http-store-down")
        .base_secret("http store-down tests secret, at least 32 bytes")
        .store(store)
        .build()
        .unwrap();
    let app = app::router(&charon, Arc::new(String::new), Revocation::Off);

    let refresher = login(&app, "refresher").await;
    let leaver = login(&app, "leaver").await;
    assert!(probe.is_available());

    server.stop();

    // Until the store notices, logins wait for Redis and fail with Backend or Timeout (no
    // hint: Retry-After 1); then the breaker opens and they fail fast with Unavailable.
    let mut before_breaker = Vec::new();
    let mut opened = false;
    for i in 0..ATTEMPTS {
        let a = send(&app, login_request(&format!("newcomer-{i}"))).await;
        assert_eq!(
            a.session_kind,
            Some(SessionErrorKind::Store),
            "{:?}",
            a.body
        );
        match a.store_kind {
            Some(StoreErrorKind::Unavailable) => {
                assert_store_503(&a, "fast login", "store", "2");
                opened = true;
                break;
            }
            Some(kind @ (StoreErrorKind::Backend | StoreErrorKind::Timeout)) => {
                assert_store_503(&a, "login before the breaker", "store", "1");
                before_breaker.push(kind);
            }
            other => panic!("login with the server killed: {other:?} {:?}", a.body),
        }
    }
    assert!(opened, "the breaker never opened: {before_breaker:?}");
    assert!(
        !before_breaker.is_empty(),
        "the first failure waits for Redis"
    );
    assert!(!probe.is_available(), "the store knows it is down");

    // Known down: every store route answers at once, Unavailable, Retry-After = the probe
    // interval rounded up.
    let a = send(&app, login_request("late")).await;
    assert_store_503(&a, "login", "store", "2");
    assert_eq!(a.store_kind, Some(StoreErrorKind::Unavailable));

    let a = send(&app, bearer("POST", "/refresh", &refresher.refresh)).await;
    assert_store_503(&a, "refresh", "store_unavailable", "2");
    assert_eq!(a.auth_kind, Some(AuthErrorKind::StoreUnavailable));
    assert_eq!(a.store_kind, Some(StoreErrorKind::Unavailable));

    for (method, path) in [("GET", "/sessions"), ("POST", "/logout")] {
        let a = send(&app, bearer(method, path, &leaver.access)).await;
        assert_store_503(&a, path, "store", "2");
        assert_eq!(a.session_kind, Some(SessionErrorKind::Store));
        assert_eq!(a.store_kind, Some(StoreErrorKind::Unavailable), "{path}");
    }

    // The access path needs no store (mode off)…
    let a = send(&app, bearer("GET", "/me", &refresher.access)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(a.retry_after.is_none());
    // …unless it checks sessions (the demo's default, strict): then 503, never a pass.
    let strict = app::router(&charon, Arc::new(String::new), Revocation::Strict);
    let a = send(&strict, bearer("GET", "/me", &refresher.access)).await;
    assert_store_503(&a, "strict /me", "store_unavailable", "2");
    assert_eq!(a.auth_kind, Some(AuthErrorKind::StoreUnavailable));

    // Back: the probe closes the breaker; the same router serves again.
    server.restart();
    for _ in 0..ATTEMPTS {
        if probe.is_available() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(probe.is_available(), "the probe never closed the breaker");
    login(&app, "after").await;
    let a = send(&app, bearer("POST", "/refresh", &refresher.refresh)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = send(&app, bearer("POST", "/logout", &leaver.access)).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{:?}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_session_errors_carry_their_kind_and_no_retry_after() {
    let store = RedisStore::builder_with_key(SigningKey::from_bytes([5; 32]))
        .connect(&support::redis::standalone_url())
        .await
        .unwrap();
    let charon = Charon::builder()
        .issuer("http-store-down")
        .base_secret("http store-down tests secret, at least 32 bytes")
        .store(store)
        .build()
        .unwrap();
    let app = app::router(&charon, Arc::new(String::new), Revocation::Off);
    // An invalid user id: the session API's InvalidInput, 400.
    let a = send(&app, login_request("")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{:?}", a.body);
    assert_eq!(a.body["kind"], "invalid_input");
    assert_eq!(a.session_kind, Some(SessionErrorKind::InvalidInput));
    assert!(a.retry_after.is_none());
    assert!(a.store_kind.is_none());
}
