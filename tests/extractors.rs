//! axum extractors and the layer's optional mode.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::routing::{delete, get, post};
use charon_auth::extract::{CurrentSession, CurrentSessionType, SessionId, TokenTransport, UserId};
use charon_auth::layer::AuthOutcome;
use charon_auth::test_util::TestSession;
use charon_auth::{
    AccessLayer, Authenticated, Charon, CreateSession, IssuedTokens, RefreshAuth, RefreshLayer,
    RequestContext, SessionError, Transport,
};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn charon() -> Charon {
    Charon::builder()
        .issuer("extractors")
        .base_secret("extractor tests secret, thirty-two bytes+")
        .build()
        .unwrap()
}

async fn body(app: Router, req: Request<Body>) -> (StatusCode, String) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn identity_extractors_read_the_verified_token() {
    let charon = charon();
    let session = TestSession::create(&charon, "ann", Transport::Cookie)
        .await
        .unwrap();
    let app = Router::new()
        .route(
            "/",
            get(
                |UserId(u): UserId,
                 SessionId(s): SessionId,
                 CurrentSessionType(t): CurrentSessionType,
                 TokenTransport(tr): TokenTransport,
                 auth: Authenticated| async move {
                    assert_eq!(auth.claims().sub.as_str(), u);
                    assert!(auth.session().is_none(), "access layer loads no session");
                    format!("{u} {} {t} {tr}", s.len())
                },
            ),
        )
        .route_layer(AccessLayer::new(&charon));
    let req = session
        .access_request(Request::get("/"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        body(app, req).await,
        (StatusCode::OK, "ann 22 full cookie".into())
    );
}

#[tokio::test]
async fn refresh_auth_and_its_session_behind_the_refresh_layer() {
    let charon = charon();
    let session = TestSession::create(&charon, "ann", Transport::Bearer)
        .await
        .unwrap();
    let app = Router::new()
        .route(
            "/",
            get(|refresh: RefreshAuth, auth: Authenticated| async move {
                // The refresh layer's identity carries the session it loaded.
                assert_eq!(
                    auth.session().map(|s| s.id.as_str()),
                    Some(refresh.session_id())
                );
                refresh.session().user_id.to_string()
            }),
        )
        .route_layer(RefreshLayer::new(&charon));
    let req = session
        .refresh_request(Request::get("/"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(body(app, req).await, (StatusCode::OK, "ann".into()));
    // Behind the access layer there is no RefreshAuth: a wiring mistake, answered 500.
    let app = Router::new()
        .route("/", get(|_: RefreshAuth| async { "unreachable" }))
        .route_layer(AccessLayer::new(&charon));
    let req = session
        .access_request(Request::get("/"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(body(app, req).await.0, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn optional_mode_lets_anonymous_requests_through() {
    let charon = charon();
    let session = TestSession::create(&charon, "ann", Transport::Bearer)
        .await
        .unwrap();
    let app = Router::new()
        .route(
            "/",
            get(
                |auth: Option<Authenticated>, UserIdOpt(u): UserIdOpt| async move {
                    assert_eq!(auth.as_ref().map(|a| a.user_id().to_owned()), u);
                    auth.map_or("anonymous".to_owned(), |a| a.user_id().to_owned())
                },
            ),
        )
        .route(
            "/outcome",
            get(
                |axum::Extension(outcome): axum::Extension<AuthOutcome>| async move {
                    match outcome {
                        Ok(a) => a.user_id().to_owned(),
                        Err(e) => e.kind().as_str().to_owned(),
                    }
                },
            ),
        )
        .route_layer(AccessLayer::new(&charon).optional());
    let anon = Request::get("/").body(Body::empty()).unwrap();
    assert_eq!(
        body(app.clone(), anon).await,
        (StatusCode::OK, "anonymous".into())
    );
    let signed = session
        .access_request(Request::get("/"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        body(app.clone(), signed).await,
        (StatusCode::OK, "ann".into())
    );
    let bad = Request::get("/outcome")
        .header("authorization", "Bearer not.a.token")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        body(app, bad).await,
        (StatusCode::OK, "token_malformed".into())
    );
}

/// `Option<UserId>` through a tiny wrapper, so the closure above can take it by pattern.
struct UserIdOpt(Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for UserIdOpt {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let user = <Option<UserId> as axum::extract::FromRequestParts<S>>::from_request_parts(
            parts, state,
        )
        .await
        .ok()
        .flatten();
        Ok(Self(user.map(|UserId(u)| u)))
    }
}

#[tokio::test]
async fn without_a_layer_extractors_answer_500() {
    let app = Router::new().route("/", get(|_: Authenticated| async { "unreachable" }));
    let (status, text) = body(app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    // The crate's one error shape: {"error", "kind"}, as AuthError and SessionError answer.
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "error": "authentication layer missing for this route",
            "kind": "missing_layer",
        })
    );
}

/// The extractors' rejection is an error type like the crate's others: `Display`, `Error`
/// (an `AuthError` as itself, transparent), `status()`.
#[test]
fn the_rejection_is_an_error_with_a_status() {
    use charon_auth::extract::AuthRejection;
    use charon_auth::{AuthError, AuthErrorKind};

    let missing = AuthRejection::MissingLayer;
    assert_eq!(missing.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let as_error: &dyn std::error::Error = &missing;
    assert_eq!(
        as_error.to_string(),
        "authentication layer missing for this route"
    );
    let expired = AuthError::new(AuthErrorKind::Expired);
    let unauthenticated = AuthRejection::Unauthenticated(expired.clone());
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unauthenticated.to_string(), expired.to_string());
    assert_eq!(unauthenticated.kind_str(), expired.kind().as_str());
}

#[tokio::test]
async fn claim_checks_reject_with_charons_message() {
    let charon = charon();
    let session = TestSession::create_with(
        &charon,
        charon_auth::CreateSession::new("ann", Transport::Bearer)
            .access_claim("scope", "read write")
            .unwrap()
            .access_claim("role", "user")
            .unwrap(),
    )
    .await
    .unwrap();
    let ok = AccessLayer::new(&charon)
        .claim_contains_all("scope", ["read", "write"])
        .claim_one_of("role", ["user", "admin"]);
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .route_layer(ok);
    let req = session
        .access_request(Request::get("/"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(body(app, req).await.0, StatusCode::OK);

    // A valid token failing the route's claim or scope check is forbidden (403
    // insufficient_scope, RFC 6750 3.1), with Charon's message; a custom check answers with
    // the error it returns.
    for (layer, status, message) in [
        (
            AccessLayer::new(&charon).claim_equals("role", "admin"),
            StatusCode::FORBIDDEN,
            "bearer token claim role invalid",
        ),
        (
            AccessLayer::new(&charon).claim_contains_any("scope", ["delete"]),
            StatusCode::FORBIDDEN,
            "bearer token claim scope invalid",
        ),
        (
            AccessLayer::new(&charon).check(|c| {
                if c.sub.as_str() == "root" {
                    Ok(())
                } else {
                    Err(charon_auth::AuthError::custom("only root"))
                }
            }),
            StatusCode::UNAUTHORIZED,
            "only root",
        ),
    ] {
        let app = Router::new()
            .route("/", get(|| async { "no" }))
            .route_layer(layer);
        let req = session
            .access_request(Request::get("/"))
            .body(Body::empty())
            .unwrap();
        let (got, text) = body(app, req).await;
        assert_eq!(got, status, "{text}");
        assert!(text.contains(message), "{text}");
    }
    let missing = AccessLayer::new(&charon).claim_equals("tenant", "x");
    let app = Router::new()
        .route("/", get(|| async { "no" }))
        .route_layer(missing);
    let req = session
        .access_request(Request::get("/"))
        .body(Body::empty())
        .unwrap();
    assert!(
        body(app, req)
            .await
            .1
            .contains("bearer token claim tenant not found")
    );
}

/// A store whose backend is always down.
#[derive(Debug)]
struct DownStore;

impl charon_auth::store::SessionStore for DownStore {
    fn get<'a>(
        &'a self,
        _: charon_auth::session::SessionKey<'a>,
        _: i64,
    ) -> charon_auth::store::StoreFuture<'a, Option<charon_auth::Session>> {
        Box::pin(async {
            Err(charon_auth::StoreError::new(
                charon_auth::StoreErrorKind::Backend,
            ))
        })
    }
    fn create<'a>(
        &'a self,
        _: &'a charon_auth::Session,
        _: Option<std::num::NonZeroU32>,
        _: i64,
    ) -> charon_auth::store::StoreFuture<'a, charon_auth::store::Created> {
        Box::pin(async { Ok(charon_auth::store::Created::new(1, Vec::new())) })
    }
    fn update<'a>(
        &'a self,
        _: &'a charon_auth::Session,
        _: i64,
    ) -> charon_auth::store::StoreFuture<'a, u64> {
        Box::pin(async { Ok(1) })
    }
    fn delete<'a>(
        &'a self,
        _: charon_auth::session::SessionKey<'a>,
        _: i64,
    ) -> charon_auth::store::StoreFuture<'a, bool> {
        Box::pin(async { Ok(true) })
    }
    fn get_all<'a>(
        &'a self,
        _: &'a str,
        _: &'a charon_auth::SessionType,
        _: i64,
    ) -> charon_auth::store::StoreFuture<'a, Vec<charon_auth::Session>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn delete_all<'a>(
        &'a self,
        _: &'a str,
        _: &'a charon_auth::SessionType,
    ) -> charon_auth::store::StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn optional_extractors_do_not_turn_a_store_outage_into_anonymous() {
    let charon = Charon::builder()
        .issuer("extractors")
        .base_secret("extractor tests secret, thirty-two bytes+")
        .store(DownStore)
        .build()
        .unwrap();
    // Writes "succeed" in this store, so a session (and its refresh token) can be issued.
    let session = TestSession::create(&charon, "ann", Transport::Bearer)
        .await
        .unwrap();
    let app = Router::new()
        .route(
            "/",
            get(|auth: Option<Authenticated>| async move { format!("{}", auth.is_some()) }),
        )
        .route_layer(RefreshLayer::new(&charon).optional());
    let req = session
        .refresh_request(Request::get("/"))
        .body(Body::empty())
        .unwrap();
    let (status, text) = body(app.clone(), req).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    // No token at all is a plain 401: anonymous.
    let (status, text) = body(app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "false"));
}

/// A login handler written the way the docs show, with the `RequestContext` extractor:
/// browser enforcement sees the request (an empty `HeaderMap` in its place let a browser
/// get Bearer tokens).
#[tokio::test]
async fn a_login_through_the_request_context_extractor_refuses_bearer_for_browsers() {
    async fn login(
        State(charon): State<Charon>,
        ctx: RequestContext,
    ) -> Result<IssuedTokens, SessionError> {
        charon
            .create_session(CreateSession::new("ann", Transport::Bearer), ctx)
            .await
    }
    let app = Router::new()
        .route("/login", post(login))
        .with_state(charon());
    let browser = Request::post("/login")
        .header("sec-fetch-mode", "cors")
        .body(Body::empty())
        .unwrap();
    let (status, text) = body(app.clone(), browser).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let error: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error["kind"], "insecure_transport", "{text}");

    let cli = Request::post("/login").body(Body::empty()).unwrap();
    let (status, text) = body(app, cli).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let tokens: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(tokens["access_token"].is_string(), "{text}");
}

/// The session API through the `CurrentSession` extractor: list (marking this session),
/// revoke one of the user's own sessions (never another user's), log out everywhere; and
/// `Option<CurrentSession>` for an anonymous request.
#[tokio::test]
async fn current_session_extractor_scopes_the_session_api_to_the_request() {
    let charon = charon();
    let app = Router::new()
        .route(
            "/sessions",
            get(|current: CurrentSession| async move {
                let list = current.list().await?;
                let rows: Vec<String> = list
                    .iter()
                    .map(|s| format!("{} {}", s.session_id, s.is_current(current.auth())))
                    .collect();
                Ok::<_, SessionError>(rows.join(","))
            }),
        )
        .route(
            "/sessions/{id}",
            delete(
                |current: CurrentSession, Path(id): Path<String>| async move {
                    current.revoke(&id).await.map(|gone| gone.to_string())
                },
            ),
        )
        .route(
            "/logout-all",
            post(|current: CurrentSession| async move { current.logout_everywhere().await }),
        )
        .route(
            "/maybe",
            get(|current: Option<CurrentSession>| async move {
                current.map_or("anonymous".to_owned(), |c| c.auth().user_id().to_owned())
            }),
        )
        .route_layer(AccessLayer::new(&charon).optional())
        .with_state(charon.clone());
    let laptop = TestSession::create(&charon, "ann", Transport::Bearer)
        .await
        .unwrap();
    let phone = TestSession::create(&charon, "ann", Transport::Bearer)
        .await
        .unwrap();
    let bob = TestSession::create(&charon, "bob", Transport::Bearer)
        .await
        .unwrap();
    let laptop_sid = laptop.tokens().session().id.clone();
    let phone_sid = phone.tokens().session().id.clone();
    let bob_sid = bob.tokens().session().id.clone();
    let as_laptop = |method: &str, uri: &str| {
        laptop
            .access_request(Request::builder().method(method).uri(uri))
            .body(Body::empty())
            .unwrap()
    };

    let (status, text) = body(app.clone(), as_laptop("GET", "/sessions")).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let mut rows: Vec<&str> = text.split(',').collect();
    rows.sort_unstable();
    let mut expected = [format!("{laptop_sid} true"), format!("{phone_sid} false")];
    expected.sort_unstable();
    assert_eq!(rows, expected);

    let bob_uri = format!("/sessions/{bob_sid}");
    let (status, text) = body(app.clone(), as_laptop("DELETE", &bob_uri)).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "false"));
    let phone_uri = format!("/sessions/{phone_sid}");
    let (status, text) = body(app.clone(), as_laptop("DELETE", &phone_uri)).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "true"));
    let (_, text) = body(app.clone(), as_laptop("GET", "/sessions")).await;
    assert_eq!(text, format!("{laptop_sid} true"));

    let (status, _) = body(app.clone(), as_laptop("POST", "/logout-all")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let left = charon.list_sessions("ann", &Default::default()).await;
    assert!(left.unwrap().is_empty());
    assert_eq!(
        charon
            .list_sessions("bob", &Default::default())
            .await
            .unwrap()
            .len(),
        1,
        "bob's session is untouched"
    );

    let (_, text) = body(app.clone(), as_laptop("GET", "/maybe")).await;
    assert_eq!(text, "ann");
    let anonymous = Request::get("/maybe").body(Body::empty()).unwrap();
    assert_eq!(body(app, anonymous).await.1, "anonymous");
}
