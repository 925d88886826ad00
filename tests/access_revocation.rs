//! The access layer's session check ([`Revocation`]): the contract suite of
//! `tests/support/session_check.rs` against the memory store and, with the `redis`
//! feature, Redis standalone and Cluster (real servers started by the harness), plus the
//! store-outage answers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use charon_auth::error::AuthErrorKind;
use charon_auth::layer::{AccessLayer, AuthOutcome, Revocation};
use charon_auth::store::{MemoryStore, SessionStore};
use charon_auth::test_util::TestSession;
use charon_auth::{Authenticated, Transport};
use support::session_check::{call, fixture, me_app, one_event};
use tower::ServiceExt;

mod memory {
    crate::support::session_check::session_check_tests!(async {
        std::sync::Arc::new(charon_auth::store::MemoryStore::new())
            as std::sync::Arc<dyn charon_auth::store::SessionStore>
    });
}

#[cfg(feature = "redis")]
mod redis_standalone {
    crate::support::session_check::session_check_tests!(async {
        let store = charon_auth::store::redis::RedisStore::builder_with_key(
            charon_auth::store::redis::SigningKey::from_bytes([9; 32]),
        )
        .connect(&crate::support::redis::standalone_url())
        .await
        .unwrap();
        std::sync::Arc::new(store) as std::sync::Arc<dyn charon_auth::store::SessionStore>
    });
}

#[cfg(feature = "redis")]
mod redis_cluster {
    crate::support::session_check::session_check_tests!(async {
        let store = charon_auth::store::redis::RedisStore::builder_with_key(
            charon_auth::store::redis::SigningKey::from_bytes([9; 32]),
        )
        .connect_cluster(crate::support::redis::cluster().urls())
        .await
        .unwrap();
        std::sync::Arc::new(store) as std::sync::Arc<dyn charon_auth::store::SessionStore>
    });
}

/// The Redis stores again, with a session cache: `Cached` then reads through it (and
/// `Strict` still does a round trip per request).
#[cfg(feature = "redis")]
mod redis_standalone_with_cache {
    crate::support::session_check::session_check_tests!(async {
        let store = charon_auth::store::redis::RedisStore::builder_with_key(
            charon_auth::store::redis::SigningKey::from_bytes([9; 32]),
        )
        .session_cache(charon_auth::store::redis::SessionCache::default())
        .connect(&crate::support::redis::standalone_url())
        .await
        .unwrap();
        std::sync::Arc::new(store) as std::sync::Arc<dyn charon_auth::store::SessionStore>
    });
}

#[cfg(feature = "redis")]
mod redis_cluster_with_cache {
    crate::support::session_check::session_check_tests!(async {
        let store = charon_auth::store::redis::RedisStore::builder_with_key(
            charon_auth::store::redis::SigningKey::from_bytes([9; 32]),
        )
        .session_cache(charon_auth::store::redis::SessionCache::default())
        .connect_cluster(crate::support::redis::cluster().urls())
        .await
        .unwrap();
        std::sync::Arc::new(store) as std::sync::Arc<dyn charon_auth::store::SessionStore>
    });
}

/// A store whose writes succeed and whose reads fail, as a backend going down between a
/// login and the next request would.
#[derive(Debug)]
struct ReadsFail(MemoryStore);

impl SessionStore for ReadsFail {
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
        session: &'a charon_auth::Session,
        max: Option<std::num::NonZeroU32>,
        now: i64,
    ) -> charon_auth::store::StoreFuture<'a, charon_auth::store::Created> {
        self.0.create(session, max, now)
    }
    fn update<'a>(
        &'a self,
        session: &'a charon_auth::Session,
        now: i64,
    ) -> charon_auth::store::StoreFuture<'a, u64> {
        self.0.update(session, now)
    }
    fn delete<'a>(
        &'a self,
        key: charon_auth::session::SessionKey<'a>,
        now: i64,
    ) -> charon_auth::store::StoreFuture<'a, bool> {
        self.0.delete(key, now)
    }
    fn get_all<'a>(
        &'a self,
        user: &'a str,
        ty: &'a charon_auth::SessionType,
        now: i64,
    ) -> charon_auth::store::StoreFuture<'a, Vec<charon_auth::Session>> {
        self.0.get_all(user, ty, now)
    }
    fn delete_all<'a>(
        &'a self,
        user: &'a str,
        ty: &'a charon_auth::SessionType,
    ) -> charon_auth::store::StoreFuture<'a, ()> {
        self.0.delete_all(user, ty)
    }
}

#[tokio::test]
async fn a_store_failure_answers_503_never_a_pass_through() {
    for mode in [Revocation::Strict, Revocation::Cached] {
        let f = fixture(Arc::new(ReadsFail(MemoryStore::new())));
        let app = me_app(AccessLayer::new(&f.charon).revocation(mode));
        let session = TestSession::create(&f.charon, "ann", Transport::Bearer)
            .await
            .unwrap();
        f.events.clear();
        let (status, text) = call(&app, &session).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{mode}: {text}");
        assert!(text.contains("store_unavailable"), "{text}");
        one_event(&f.events, Some(AuthErrorKind::StoreUnavailable), false);
    }
}

#[tokio::test]
async fn optional_mode_does_not_turn_a_store_outage_into_anonymous() {
    let f = fixture(Arc::new(ReadsFail(MemoryStore::new())));
    let app = Router::new()
        .route(
            "/",
            get(|auth: Option<Authenticated>| async move { format!("{}", auth.is_some()) }),
        )
        .route(
            "/outcome",
            get(|outcome: axum::Extension<AuthOutcome>| async move {
                outcome.0.err().map(|e| e.kind().as_str()).unwrap_or("ok")
            }),
        )
        .route_layer(
            AccessLayer::new(&f.charon)
                .revocation(Revocation::Strict)
                .optional(),
        );
    let session = TestSession::create(&f.charon, "ann", Transport::Bearer)
        .await
        .unwrap();
    let req = session
        .access_request(Request::get("/"))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let req = session
        .access_request(Request::get("/outcome"))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&body[..], b"store_unavailable");
    // No token at all is plain anonymous, with no store call.
    let res = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn session_metadata_is_bounded_kept_across_refreshes_and_listed() {
    use charon_auth::{CreateSession, RefreshSession, SessionErrorKind};
    let f = fixture(Arc::new(MemoryStore::new()));
    let mut too_many = CreateSession::new("ann", Transport::Bearer);
    for i in 0..=charon_auth::session::MAX_METADATA_ENTRIES {
        too_many = too_many.metadata(format!("k{i}"), "v");
    }
    let err = f
        .charon
        .create_session(too_many, &http::HeaderMap::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SessionErrorKind::InvalidInput);
    let bad_key = CreateSession::new("ann", Transport::Bearer).metadata("no spaces", "v");
    let err = f
        .charon
        .create_session(bad_key, &http::HeaderMap::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SessionErrorKind::InvalidInput);
    assert!(
        f.charon
            .list_sessions("ann", &Default::default())
            .await
            .unwrap()
            .is_empty(),
        "a refused login stores nothing"
    );

    let login = CreateSession::new("ann", Transport::Bearer).metadata("device", "phone");
    let session = TestSession::create_with(&f.charon, login).await.unwrap();
    let req = session
        .refresh_request(Request::post("/refresh"))
        .body(())
        .unwrap();
    let auth = f
        .charon
        .authenticate_refresh(req.method(), req.headers())
        .await
        .unwrap();
    f.charon
        .refresh_session(&auth, RefreshSession::new())
        .await
        .unwrap();
    let listed = f
        .charon
        .list_sessions("ann", &Default::default())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].metadata.get("device").map(String::as_str),
        Some("phone")
    );
    assert!(listed[0].lock_version >= 2, "the refresh was written");
}

#[tokio::test]
async fn revoke_session_ends_only_the_callers_own_session() {
    let f = fixture(Arc::new(MemoryStore::new()));
    let app = me_app(AccessLayer::new(&f.charon).revocation(Revocation::Strict));
    let ann = TestSession::create(&f.charon, "ann", Transport::Bearer)
        .await
        .unwrap();
    let bob = TestSession::create(&f.charon, "bob", Transport::Bearer)
        .await
        .unwrap();
    let full = charon_auth::SessionType::default();
    let bob_sid = bob.tokens().session().id.clone();
    // Ann naming Bob's session id under her own user id ends nothing.
    assert!(
        !f.charon
            .revoke_session("ann", &full, &bob_sid)
            .await
            .unwrap()
    );
    assert_eq!(call(&app, &bob).await.0, StatusCode::OK);
    assert!(
        f.charon
            .revoke_session("bob", &full, &bob_sid)
            .await
            .unwrap()
    );
    assert_eq!(call(&app, &bob).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&app, &ann).await.0, StatusCode::OK);
}
