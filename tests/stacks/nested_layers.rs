//! Nested verification layers: the handler sees the verdict of the innermost layer it sits
//! behind. After a failing layer (optional mode) no extractor yields an identity, whatever
//! an outer layer found (issue 10 item 1).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::Router;
use axum::body::Body;
use axum::extract::Request as AxumRequest;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use charon_auth::extract::{CurrentSessionType, SessionId, UserId};
use charon_auth::layer::AuthOutcome;
use charon_auth::test_util::TestSession;
use charon_auth::{AccessLayer, Authenticated, Charon, CreateSession, RefreshLayer, Transport};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn charon(issuer: &str, secret: &str) -> Charon {
    Charon::builder()
        .issuer(issuer)
        .base_secret(secret)
        .build()
        .unwrap()
}

fn shop() -> Charon {
    charon("shop", "the shop's secret, at least thirty-two bytes")
}

fn admin_console() -> Charon {
    charon(
        "admin-console",
        "another secret for the admin console app!!",
    )
}

/// What every extractor and the raw extensions say, as one line.
async fn report(request: AxumRequest) -> String {
    let (mut parts, _) = request.into_parts();
    let raw = parts
        .extensions
        .get::<Authenticated>()
        .map(|a| a.user_id().to_owned());
    let outcome = match parts.extensions.get::<AuthOutcome>() {
        None => "none".to_owned(),
        Some(Ok(a)) => format!("ok:{}", a.user_id()),
        Some(Err(e)) => format!("err:{}", e.kind().as_str()),
    };
    use axum::extract::{FromRequestParts, OptionalFromRequestParts};
    let auth = <Authenticated as FromRequestParts<()>>::from_request_parts(&mut parts, &())
        .await
        .ok()
        .map(|a| a.user_id().to_owned());
    let maybe =
        <Authenticated as OptionalFromRequestParts<()>>::from_request_parts(&mut parts, &())
            .await
            .ok()
            .flatten()
            .map(|a| a.user_id().to_owned());
    let user = <UserId as FromRequestParts<()>>::from_request_parts(&mut parts, &())
        .await
        .ok()
        .map(|UserId(u)| u);
    let maybe_user = <UserId as OptionalFromRequestParts<()>>::from_request_parts(&mut parts, &())
        .await
        .ok()
        .flatten()
        .map(|UserId(u)| u);
    let sid = <SessionId as FromRequestParts<()>>::from_request_parts(&mut parts, &())
        .await
        .is_ok();
    let styp = <CurrentSessionType as FromRequestParts<()>>::from_request_parts(&mut parts, &())
        .await
        .is_ok();
    format!(
        "raw={raw:?} outcome={outcome} auth={auth:?} opt={maybe:?} user={user:?} opt_user={maybe_user:?} sid={sid} styp={styp}"
    )
}

const NO_IDENTITY_PREFIX: &str = "raw=None outcome=err:";
const NO_IDENTITY_SUFFIX: &str = "auth=None opt=None user=None opt_user=None sid=false styp=false";

fn assert_no_identity(text: &str, kind: &str) {
    assert!(
        text.starts_with(&format!("{NO_IDENTITY_PREFIX}{kind} ")),
        "expected no identity after a failing layer ({kind}), got: {text}"
    );
    assert!(text.ends_with(NO_IDENTITY_SUFFIX), "{text}");
}

fn assert_identity(text: &str, user: &str) {
    let u = format!("Some(\"{user}\")");
    assert!(
        text.starts_with(&format!("raw={u} ")),
        "expected identity {user}, got: {text}"
    );
    for part in [
        format!("auth={u}"),
        format!("opt={u}"),
        format!("user={u}"),
        format!("opt_user={u}"),
        "sid=true".to_owned(),
        "styp=true".to_owned(),
    ] {
        assert!(text.contains(&part), "{part} missing in {text}");
    }
}

async fn call(app: Router, req: Request<Body>) -> (StatusCode, String) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// A route behind `inner`, the whole router behind `outer` (outer runs first).
fn nested<L1, L2>(outer: L1, inner: L2) -> Router
where
    L1: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
    L1::Service: tower::Service<
            AxumRequest,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    <L1::Service as tower::Service<AxumRequest>>::Future: Send + 'static,
    L2: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
    L2::Service: tower::Service<
            AxumRequest,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    <L2::Service as tower::Service<AxumRequest>>::Future: Send + 'static,
{
    Router::new()
        .route("/", get(report))
        .route_layer(inner)
        .layer(outer)
}

async fn customer(charon: &Charon, transport: Transport) -> TestSession {
    TestSession::create(charon, "customer", transport)
        .await
        .unwrap()
}

async fn admin(charon: &Charon) -> TestSession {
    TestSession::create_with(
        charon,
        CreateSession::new("root", Transport::Bearer)
            .access_claim("role", "admin")
            .unwrap(),
    )
    .await
    .unwrap()
}

fn get_with(session: &TestSession, refresh: bool) -> Request<Body> {
    let builder = Request::get("/");
    let builder = if refresh {
        session.refresh_request(builder)
    } else {
        session.access_request(builder)
    };
    builder.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn optional_claim_check_inside_optional_layer_leaves_no_identity() {
    let c = shop();
    let app = nested(
        AccessLayer::new(&c).optional(),
        AccessLayer::new(&c)
            .claim_equals("role", "admin")
            .optional(),
    );
    let (status, text) = call(
        app.clone(),
        get_with(&customer(&c, Transport::Bearer).await, false),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_no_identity(&text, "insufficient_scope");
    // Also with the cookie transport.
    let (_, text) = call(
        app.clone(),
        get_with(&customer(&c, Transport::Cookie).await, false),
    )
    .await;
    assert_no_identity(&text, "insufficient_scope");
    // The admin passes both.
    let (_, text) = call(app, get_with(&admin(&c).await, false)).await;
    assert_identity(&text, "root");
}

#[tokio::test]
async fn token_of_another_charon_inside_optional_layer_leaves_no_identity() {
    let (a, b) = (shop(), admin_console());
    let app = nested(
        AccessLayer::new(&a).optional(),
        AccessLayer::new(&b).optional(),
    );
    let (_, text) = call(
        app.clone(),
        get_with(&customer(&a, Transport::Bearer).await, false),
    )
    .await;
    assert_no_identity(&text, "signature_invalid");
    // A token of the inner handle passes the inner layer: its verdict wins over the outer
    // layer's failure.
    let (_, text) = call(app, get_with(&customer(&b, Transport::Bearer).await, false)).await;
    assert_identity(&text, "customer");
}

#[tokio::test]
async fn optional_layer_inside_required_layer() {
    let (a, b) = (shop(), admin_console());
    let app = nested(AccessLayer::new(&a), AccessLayer::new(&b).optional());
    let (status, text) = call(
        app.clone(),
        get_with(&customer(&a, Transport::Bearer).await, false),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_no_identity(&text, "signature_invalid");
    let app = nested(
        AccessLayer::new(&a),
        AccessLayer::new(&a)
            .claim_equals("role", "admin")
            .optional(),
    );
    let (_, text) = call(
        app.clone(),
        get_with(&customer(&a, Transport::Cookie).await, false),
    )
    .await;
    assert_no_identity(&text, "insufficient_scope");
    let (_, text) = call(app, get_with(&admin(&a).await, false)).await;
    assert_identity(&text, "root");
}

#[tokio::test]
async fn required_layer_inside_optional_layer() {
    let c = shop();
    let app = nested(
        AccessLayer::new(&c)
            .claim_equals("role", "admin")
            .optional(),
        AccessLayer::new(&c),
    );
    // The outer check fails (optional), the inner required layer passes: identity present,
    // and no stale failure left behind for the extractors.
    let (status, text) = call(
        app.clone(),
        get_with(&customer(&c, Transport::Bearer).await, false),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_identity(&text, "customer");
    assert!(text.contains("outcome=none"), "{text}");
    // The inner required layer rejects a token of another handle, whatever the outer found.
    let other = admin_console();
    let app = nested(AccessLayer::new(&c).optional(), AccessLayer::new(&other));
    let (status, _) = call(app, get_with(&customer(&c, Transport::Bearer).await, false)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_layers_nest_the_same_way() {
    let (a, b) = (shop(), admin_console());
    let app = nested(
        RefreshLayer::new(&a).optional(),
        RefreshLayer::new(&b).optional(),
    );
    let (_, text) = call(
        app.clone(),
        get_with(&customer(&a, Transport::Bearer).await, true),
    )
    .await;
    assert_no_identity(&text, "signature_invalid");
    let (_, text) = call(app, get_with(&customer(&b, Transport::Cookie).await, true)).await;
    assert_identity(&text, "customer");
    // A refresh claim check inside an optional refresh layer.
    let app = nested(
        RefreshLayer::new(&a).optional(),
        RefreshLayer::new(&a)
            .claim_equals("role", "admin")
            .optional(),
    );
    let (_, text) = call(app, get_with(&customer(&a, Transport::Bearer).await, true)).await;
    assert_no_identity(&text, "insufficient_scope");
    // An optional refresh layer inside a required access layer (another handle's refresh
    // token fails the inner layer).
    let app = nested(AccessLayer::new(&a), RefreshLayer::new(&b).optional());
    let session = customer(&a, Transport::Bearer).await;
    let req = Request::get("/")
        .header(
            "authorization",
            format!("Bearer {}", session.tokens().access_token().unwrap()),
        )
        .body(Body::empty())
        .unwrap();
    let (_, text) = call(app, req).await;
    assert_no_identity(&text, "signature_invalid");
}
