//! The contract of the access layer's session check ([`Revocation`]) over a real store:
//! every check is a plain `async fn` taking an `Arc<dyn SessionStore>` and the mode under
//! test, and [`session_check_tests!`] turns each into a `#[tokio::test]` per mode.
//!
//! The same suite runs against the memory store and Redis (standalone and Cluster), in
//! `Strict` and `Cached` mode: whatever the store, a session that ended (logout, logout
//! everywhere, reuse revocation, expiry) stops its access tokens on the next request.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    unreachable_pub,
    dead_code
)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use charon_auth::clock::ManualClock;
use charon_auth::error::AuthErrorKind;
use charon_auth::layer::{AccessLayer, AuthOutcome, Revocation};
use charon_auth::session::random_id;
use charon_auth::store::SessionStore;
use charon_auth::telemetry::{EventKind, RecordingHandler};
use charon_auth::test_util::TestSession;
use charon_auth::verifier::{TrustedIssuer, Verifier};
use charon_auth::{Authenticated, Charon, RefreshSession, Transport};
use http_body_util::BodyExt;
use tower::ServiceExt;

macro_rules! session_check_tests {
    ($make:expr $(,)?) => {
        $crate::support::session_check::session_check_tests!(@mode strict Strict [$make]);
        $crate::support::session_check::session_check_tests!(@mode cached Cached [$make]);
    };
    (@mode $module:ident $mode:ident [$make:expr]) => {
        mod $module {
            $crate::support::session_check::session_check_tests!(@tests $mode [$make]
                a_live_session_passes_and_reaches_the_handler,
                logout_stops_the_sessions_access_tokens,
                logout_everywhere_stops_every_session_of_the_user,
                reuse_revocation_stops_the_sessions_access_tokens,
                an_expired_session_stops_its_access_tokens,
                optional_mode_reads_an_ended_session_as_anonymous,
                a_verify_only_service_checks_with_the_store_it_is_given,
                off_mode_lets_an_ended_sessions_token_through,
                an_integer_user_id_keeps_its_type_and_a_retyped_sub_is_refused,
                a_session_of_another_type_is_checked_under_its_own_type,
            );
        }
    };
    (@tests $mode:ident [$make:expr] $($name:ident,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store: std::sync::Arc<dyn charon_auth::store::SessionStore> = $make.await;
                $crate::support::session_check::$name(
                    store,
                    charon_auth::layer::Revocation::$mode,
                )
                .await;
            }
        )*
    };
}
pub(crate) use session_check_tests;

/// A Charon on `store` with a manual clock and a recorder of token events.
pub struct Fixture {
    pub charon: Charon,
    pub clock: ManualClock,
    pub events: RecordingHandler,
}

pub fn fixture(store: Arc<dyn SessionStore>) -> Fixture {
    fixture_with(store, |builder| builder)
}

/// [`fixture`] with more settings.
pub fn fixture_with(
    store: Arc<dyn SessionStore>,
    more: impl FnOnce(charon_auth::CharonBuilder) -> charon_auth::CharonBuilder,
) -> Fixture {
    let clock = ManualClock::at_system_time();
    let events = RecordingHandler::only([EventKind::TokenValid, EventKind::TokenInvalid]);
    let charon = more(
        Charon::builder()
            .issuer("session-check")
            .base_secret("session check tests secret, 32+ bytes")
            .store_arc(store)
            .clock(clock.clone())
            .on_event(events.clone()),
    )
    .build()
    .unwrap();
    Fixture {
        charon,
        clock,
        events,
    }
}

/// `/me` answers `user sid` from the session the layer loaded (`-` when none was).
pub fn me_app(layer: AccessLayer) -> Router {
    Router::new()
        .route(
            "/me",
            get(|auth: Authenticated| async move {
                let sid = auth.session().map_or("-", |s| s.id.as_str()).to_owned();
                format!("{} {sid}", auth.user_id())
            }),
        )
        .route_layer(layer)
}

/// `GET /me` with `session`'s access token: the status and the body.
pub async fn call(app: &Router, session: &TestSession) -> (StatusCode, String) {
    let req = session
        .access_request(Request::get("/me"))
        .body(Body::empty())
        .unwrap();
    send(app, req).await
}

/// Send `req` through `app`: the status and the body (UTF-8).
pub async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// Exactly one token event was emitted since the last call, with this outcome.
pub fn one_event(events: &RecordingHandler, error: Option<AuthErrorKind>, loaded: bool) {
    let recorded = events.take();
    assert_eq!(
        recorded.len(),
        1,
        "one token event per request: {recorded:?}"
    );
    let event = &recorded[0];
    let kind = if error.is_some() {
        EventKind::TokenInvalid
    } else {
        EventKind::TokenValid
    };
    assert_eq!(event.kind, kind, "{event:?}");
    assert_eq!(event.error_kind, error, "{event:?}");
    assert_eq!(event.session_loaded, Some(loaded), "{event:?}");
}

fn user() -> String {
    format!("user-{}", random_id())
}

async fn login(charon: &Charon, user: &str) -> TestSession {
    TestSession::create(charon, user, Transport::Bearer)
        .await
        .unwrap()
}

fn session_id(session: &TestSession) -> String {
    session.tokens().session().id.clone()
}

pub async fn a_live_session_passes_and_reaches_the_handler(
    store: Arc<dyn SessionStore>,
    mode: Revocation,
) {
    let f = fixture(store);
    let app = me_app(AccessLayer::new(&f.charon).revocation(mode));
    let user = user();
    let session = login(&f.charon, &user).await;
    f.events.clear();
    for _ in 0..2 {
        let (status, text) = call(&app, &session).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert_eq!(text, format!("{user} {}", session_id(&session)));
        one_event(&f.events, None, true);
    }
}

pub async fn logout_stops_the_sessions_access_tokens(
    store: Arc<dyn SessionStore>,
    mode: Revocation,
) {
    let f = fixture(store);
    let app = me_app(AccessLayer::new(&f.charon).revocation(mode));
    let user = user();
    let session = login(&f.charon, &user).await;
    let other = login(&f.charon, &user).await;
    assert_eq!(call(&app, &session).await.0, StatusCode::OK);
    assert_eq!(call(&app, &other).await.0, StatusCode::OK);
    let auth = f
        .charon
        .verifier()
        .authenticate(
            &http::Method::GET,
            session
                .access_request(Request::get("/"))
                .body(())
                .unwrap()
                .headers(),
        )
        .unwrap();
    assert!(f.charon.delete_session(&auth).await.unwrap().deleted());
    f.events.clear();
    let (status, text) = call(&app, &session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    assert!(text.contains("session_not_found"), "{text}");
    one_event(&f.events, Some(AuthErrorKind::SessionNotFound), false);
    // The user's other session is untouched.
    assert_eq!(call(&app, &other).await.0, StatusCode::OK);
}

pub async fn logout_everywhere_stops_every_session_of_the_user(
    store: Arc<dyn SessionStore>,
    mode: Revocation,
) {
    let f = fixture(store);
    let app = me_app(AccessLayer::new(&f.charon).revocation(mode));
    let user = user();
    let sessions = [login(&f.charon, &user).await, login(&f.charon, &user).await];
    let bystander = login(&f.charon, &format!("{user}-other")).await;
    for session in &sessions {
        assert_eq!(call(&app, session).await.0, StatusCode::OK);
    }
    f.charon
        .delete_all_sessions(&user, &charon_auth::SessionType::default())
        .await
        .unwrap();
    for session in &sessions {
        let (status, text) = call(&app, session).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
        assert!(text.contains("session_not_found"), "{text}");
    }
    assert_eq!(call(&app, &bystander).await.0, StatusCode::OK);
}

pub async fn a_session_of_another_type_is_checked_under_its_own_type(
    store: Arc<dyn SessionStore>,
    mode: Revocation,
) {
    let f = fixture(store);
    let app = me_app(AccessLayer::new(&f.charon).revocation(mode));
    let user = user();
    let api = charon_auth::SessionType::new("api").unwrap();
    let session = TestSession::create_with(
        &f.charon,
        charon_auth::CreateSession::new(&user, Transport::Bearer).session_type(api.clone()),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        let (status, text) = call(&app, &session).await;
        assert_eq!(status, StatusCode::OK, "{text}");
    }
    // Ending the user's sessions of the default type leaves it; ending its own type stops it.
    f.charon
        .delete_all_sessions(&user, &charon_auth::SessionType::default())
        .await
        .unwrap();
    assert_eq!(call(&app, &session).await.0, StatusCode::OK);
    f.charon.delete_all_sessions(&user, &api).await.unwrap();
    let (status, text) = call(&app, &session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    assert!(text.contains("session_not_found"), "{text}");
}

pub async fn reuse_revocation_stops_the_sessions_access_tokens(
    store: Arc<dyn SessionStore>,
    mode: Revocation,
) {
    let f = fixture(store);
    let app = me_app(AccessLayer::new(&f.charon).revocation(mode));
    let original = login(&f.charon, &user()).await;
    let refresh = |session: TestSession| {
        let charon = f.charon.clone();
        async move {
            let req = session
                .refresh_request(Request::post("/refresh"))
                .body(())
                .unwrap();
            let auth = charon
                .authenticate_refresh(req.method(), req.headers())
                .await?;
            let tokens = charon
                .refresh_session(&auth, RefreshSession::new())
                .await
                .unwrap();
            Ok::<_, charon_auth::AuthError>(TestSession::from_tokens(&charon, tokens))
        }
    };
    // Two generations later, the original refresh token is stale.
    let new_cycle = f.charon.times().new_cycle_after.as_secs() as i64 + 1;
    f.clock.advance(new_cycle);
    let second = refresh(original.clone()).await.unwrap();
    f.clock.advance(new_cycle);
    let third = refresh(second).await.unwrap();
    assert_eq!(call(&app, &third).await.0, StatusCode::OK);
    // Replaying it revokes the session: the newest access token stops too.
    let replay = refresh(original).await.unwrap_err();
    assert_eq!(replay.kind(), AuthErrorKind::TokenStale);
    let (status, text) = call(&app, &third).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    assert!(text.contains("session_not_found"), "{text}");
}

pub async fn an_expired_session_stops_its_access_tokens(
    store: Arc<dyn SessionStore>,
    mode: Revocation,
) {
    // Access and refresh tokens of one lifetime, so that the session ends with them.
    let ttl = std::time::Duration::from_secs(60);
    let f = fixture_with(store, |b| b.access_ttl(ttl).refresh_ttl(ttl));
    let app = me_app(AccessLayer::new(&f.charon).revocation(mode));
    let session = login(&f.charon, &user()).await;
    assert_eq!(call(&app, &session).await.0, StatusCode::OK);
    // Past the session's end but within the clock leeway of its access token's expiry: the
    // token alone would still pass, the session does not.
    let refresh_end = session.tokens().session().refresh_expires_at;
    let access_end = session.tokens().access_token_exp();
    assert!(access_end <= refresh_end);
    f.clock.set(refresh_end + 1);
    let off = me_app(AccessLayer::new(&f.charon));
    assert_eq!(
        call(&off, &session).await.0,
        StatusCode::OK,
        "within leeway"
    );
    f.events.clear();
    let (status, text) = call(&app, &session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    one_event(&f.events, Some(AuthErrorKind::SessionNotFound), false);
}

pub async fn optional_mode_reads_an_ended_session_as_anonymous(
    store: Arc<dyn SessionStore>,
    mode: Revocation,
) {
    let f = fixture(store);
    let app = Router::new()
        .route(
            "/me",
            get(|outcome: axum::Extension<AuthOutcome>| async move {
                match &outcome.0 {
                    Ok(auth) => format!("in {}", auth.session().is_some()),
                    Err(e) => format!("out {}", e.kind().as_str()),
                }
            }),
        )
        .route_layer(AccessLayer::new(&f.charon).revocation(mode).optional());
    let session = login(&f.charon, &user()).await;
    assert_eq!(call(&app, &session).await.1, "in true");
    f.charon
        .delete_all_sessions(
            session.tokens().session().user_id.as_str(),
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        call(&app, &session).await,
        (StatusCode::OK, "out session_not_found".into())
    );
}

pub async fn a_verify_only_service_checks_with_the_store_it_is_given(
    store: Arc<dyn SessionStore>,
    mode: Revocation,
) {
    let f = fixture(Arc::clone(&store));
    let verifier = Verifier::builder()
        .trust(TrustedIssuer::charon(
            f.charon.issuer(),
            f.charon.codec().keyset().clone(),
        ))
        .build()
        .unwrap();
    let app = me_app(
        AccessLayer::new(&verifier)
            .revocation(mode)
            .session_store(store),
    );
    let session = login(&f.charon, &user()).await;
    let (status, text) = call(&app, &session).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.ends_with(&session_id(&session)), "{text}");
    f.charon
        .delete_all_sessions(
            session.tokens().session().user_id.as_str(),
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(call(&app, &session).await.0, StatusCode::UNAUTHORIZED);
    // Without a store to ask, the check fails closed.
    let storeless = me_app(AccessLayer::new(&verifier).revocation(mode));
    let fresh = login(&f.charon, &user()).await;
    let (status, text) = call(&storeless, &fresh).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
}

pub async fn off_mode_lets_an_ended_sessions_token_through(
    store: Arc<dyn SessionStore>,
    _mode: Revocation,
) {
    // The library default is today's behaviour: no store round trip, so a logged-out
    // session's access token works until it expires (the contrast the modes above make).
    let f = fixture(store);
    let app = me_app(AccessLayer::new(&f.charon).revocation(Revocation::Off));
    let session = login(&f.charon, &user()).await;
    f.charon
        .delete_all_sessions(
            session.tokens().session().user_id.as_str(),
            &Default::default(),
        )
        .await
        .unwrap();
    f.events.clear();
    let (status, text) = call(&app, &session).await;
    assert_eq!(
        (status, text.ends_with(" -")),
        (StatusCode::OK, true),
        "{text}"
    );
    one_event(&f.events, None, false);
}

/// The payload of a JWS, as JSON.
pub fn payload_of(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// `token` signed again by `charon` with its `sub` replaced by `sub`.
fn resigned_with_sub(charon: &Charon, token: &str, sub: charon_auth::session::UserId) -> String {
    let payload = serde_json::to_vec(&payload_of(token)).unwrap();
    let mut claims = charon_auth::Claims::from_payload(&payload).unwrap();
    claims.sub = sub;
    charon.codec().sign(&claims).unwrap()
}

/// Charon's integer user ids: a session created for `42` is signed `"sub": 42`, passes the
/// session check, and a refresh signs `"sub": 42` again. A token of ours whose `sub` names
/// the same user with another JSON type (`"42"`) is refused at the session check and at
/// refresh, as Charon's stores match the user id type-strictly.
pub async fn an_integer_user_id_keeps_its_type_and_a_retyped_sub_is_refused(
    store: Arc<dyn SessionStore>,
    mode: Revocation,
) {
    let f = fixture(store);
    let app = me_app(AccessLayer::new(&f.charon).revocation(mode));
    let n = crate::support::contract::random_integer_user();
    let session = TestSession::create(&f.charon, n, Transport::Bearer)
        .await
        .unwrap();
    let access = session.tokens().access_token().unwrap().to_owned();
    let refresh = session.tokens().refresh_token().unwrap().to_owned();
    assert_eq!(payload_of(&access)["sub"], serde_json::json!(n));
    assert_eq!(payload_of(&refresh)["sub"], serde_json::json!(n));
    assert_eq!(session.tokens().session().user_id.as_u64(), Some(n));
    f.events.clear();
    let (status, text) = call(&app, &session).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(text, format!("{n} {}", session_id(&session)));
    one_event(&f.events, None, true);

    let bearer = |token: &str| {
        Request::get("/me")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let retyped = resigned_with_sub(&f.charon, &access, n.to_string().into());
    let res = app.clone().oneshot(bearer(&retyped)).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    one_event(&f.events, Some(AuthErrorKind::SessionNotFound), false);
    let retyped = resigned_with_sub(&f.charon, &refresh, n.to_string().into());
    let refused = f
        .charon
        .authenticate_refresh(&http::Method::POST, bearer(&retyped).headers())
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), AuthErrorKind::SessionNotFound);

    // The genuine refresh token: the new tokens keep the number.
    let req = session
        .refresh_request(Request::post("/refresh"))
        .body(())
        .unwrap();
    let auth = f
        .charon
        .authenticate_refresh(req.method(), req.headers())
        .await
        .unwrap();
    assert_eq!(auth.authenticated().user_id_value().as_u64(), Some(n));
    let tokens = f
        .charon
        .refresh_session(&auth, RefreshSession::new())
        .await
        .unwrap();
    for token in [tokens.access_token(), tokens.refresh_token()] {
        assert_eq!(payload_of(token.unwrap())["sub"], serde_json::json!(n));
    }
    assert_eq!(tokens.session().user_id.as_u64(), Some(n));
    let fresh = TestSession::from_tokens(&f.charon, tokens);
    assert_eq!(call(&app, &fresh).await.0, StatusCode::OK);
}
