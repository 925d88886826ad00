//! Revoking and listing every session of a user across session types
//! ([`Charon::revoke_all_sessions_of_user`], [`Charon::list_all_sessions_of_user`]) on the
//! memory store and, with the `redis` feature, Redis standalone and Cluster (real servers
//! started by the harness): what is deleted, what is left, the telemetry, and that the
//! revoked sessions' access tokens stop at once on a strict access layer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::StatusCode;
use charon_auth::layer::{AccessLayer, Revocation};
use charon_auth::session::random_id;
use charon_auth::store::{MemoryStore, SessionStore, StoreFuture};
use charon_auth::telemetry::EventKind;
use charon_auth::test_util::{RecordingHandler, TestSession};
use charon_auth::{Charon, CreateSession, SessionErrorKind, SessionType, Transport};
use support::session_check::{call, me_app};

fn charon(store: Arc<dyn SessionStore>, events: &RecordingHandler) -> Charon {
    Charon::builder()
        .issuer("admin-revocation")
        .base_secret("admin revocation tests secret, 32+ bytes")
        .store_arc(store)
        .on_event(events.clone())
        .build()
        .unwrap()
}

fn stype(name: &str) -> SessionType {
    SessionType::new(name).unwrap()
}

async fn login(charon: &Charon, user: &str, ty: &SessionType, device: &str) -> TestSession {
    TestSession::create_with(
        charon,
        CreateSession::new(user, Transport::Bearer)
            .session_type(ty.clone())
            .metadata("device", device),
    )
    .await
    .unwrap()
}

fn names(types: &[SessionType]) -> Vec<&str> {
    types.iter().map(SessionType::as_str).collect()
}

/// Every session of the user, of every type, goes (and each type's `delete_all` event is
/// emitted once); another user's sessions, also of those types, stay; the revoked access
/// tokens answer 401 at once on a strict access layer.
async fn revokes_every_type_of_one_user(store: Arc<dyn SessionStore>) {
    let events = RecordingHandler::all();
    let charon = charon(store, &events);
    let app = me_app(AccessLayer::new(&charon).revocation(Revocation::Strict));
    let user = random_id();
    let other = format!("{user}-other");
    let types = [SessionType::default(), stype("oauth2"), stype("a.b")];
    let mut mine = Vec::new();
    for (i, ty) in types.iter().enumerate() {
        mine.push(login(&charon, &user, ty, &format!("device-{i}")).await);
    }
    mine.push(login(&charon, &user, &types[0], "second-full").await);
    let theirs = [
        login(&charon, &other, &types[0], "theirs").await,
        login(&charon, &other, &types[1], "theirs").await,
    ];

    // The list across types, with the metadata given at login.
    let listed = charon.list_all_sessions_of_user(&user).await.unwrap();
    assert_eq!(listed.len(), 4, "{listed:?}");
    let devices: BTreeSet<&str> = listed
        .iter()
        .map(|s| s.metadata.get("device").map(String::as_str).unwrap())
        .collect();
    assert_eq!(
        devices,
        BTreeSet::from(["device-0", "device-1", "device-2", "second-full"])
    );
    for session in mine.iter().chain(&theirs) {
        assert_eq!(call(&app, session).await.0, StatusCode::OK);
    }

    events.clear();
    let revoked = charon.revoke_all_sessions_of_user(&user).await.unwrap();
    assert_eq!(names(&revoked), ["a.b", "full", "oauth2"]);
    let delete_alls: Vec<_> = events
        .events()
        .into_iter()
        .filter(|e| e.kind == EventKind::SessionDeleteAll)
        .collect();
    assert_eq!(delete_alls.len(), 3, "{delete_alls:?}");
    let event_types: BTreeSet<String> = delete_alls
        .iter()
        .map(|e| {
            assert_eq!(e.user_id.as_deref(), Some(user.as_str()));
            assert_eq!(e.session_id, None);
            e.session_type.clone().unwrap()
        })
        .collect();
    assert_eq!(
        event_types,
        BTreeSet::from(["a.b".to_owned(), "full".to_owned(), "oauth2".to_owned()])
    );

    for session in &mine {
        let (status, text) = call(&app, session).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
        assert!(text.contains("session_not_found"), "{text}");
    }
    for session in &theirs {
        assert_eq!(call(&app, session).await.0, StatusCode::OK);
    }
    assert!(
        charon
            .list_all_sessions_of_user(&user)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        charon
            .list_all_sessions_of_user(&other)
            .await
            .unwrap()
            .len(),
        2
    );

    // Idempotent: again, nothing left to delete, no error; the user can log in again.
    charon.revoke_all_sessions_of_user(&user).await.unwrap();
    let again = login(&charon, &user, &types[2], "back").await;
    assert_eq!(call(&app, &again).await.0, StatusCode::OK);
    assert_eq!(
        charon.list_all_sessions_of_user(&user).await.unwrap().len(),
        1
    );
}

/// A user with no sessions at all: the default type is still tried (it covers sessions
/// written before a store kept its type index), nothing fails.
async fn a_user_without_sessions(store: Arc<dyn SessionStore>) {
    let events = RecordingHandler::all();
    let charon = charon(store, &events);
    let user = random_id();
    assert!(
        charon
            .list_all_sessions_of_user(&user)
            .await
            .unwrap()
            .is_empty()
    );
    let revoked = charon.revoke_all_sessions_of_user(&user).await.unwrap();
    assert_eq!(names(&revoked), ["full"]);
}

macro_rules! admin_tests {
    ($store:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn revokes_every_type_of_one_user() {
            crate::revokes_every_type_of_one_user($store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_user_without_sessions() {
            crate::a_user_without_sessions($store).await;
        }
    };
}

mod memory {
    admin_tests!(std::sync::Arc::new(charon_auth::store::MemoryStore::new()));
}

#[cfg(feature = "redis")]
mod redis_standalone {
    async fn store() -> std::sync::Arc<dyn charon_auth::store::SessionStore> {
        let store = charon_auth::store::redis::RedisStore::builder_with_key(
            charon_auth::store::redis::SigningKey::from_bytes([5; 32]),
        )
        .connect(&crate::support::redis::standalone_url())
        .await
        .unwrap();
        std::sync::Arc::new(store)
    }
    admin_tests!(store().await);
}

#[cfg(feature = "redis")]
mod redis_cluster {
    async fn store() -> std::sync::Arc<dyn charon_auth::store::SessionStore> {
        let store = charon_auth::store::redis::RedisStore::builder_with_key(
            charon_auth::store::redis::SigningKey::from_bytes([5; 32]),
        )
        .connect_cluster(crate::support::redis::cluster().urls())
        .await
        .unwrap();
        std::sync::Arc::new(store)
    }
    admin_tests!(store().await);
}

/// Sessions of a non-default type written by a Redis store version without the type
/// index (simulated: the index and horizon keys removed) are not found by the all-types
/// call until their next refresh; those of the default type are. This pins the documented
/// upgrade behaviour.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_from_before_the_index_redis() {
    use charon_auth::store::redis::{RedisStore, SigningKey};
    let url = support::redis::standalone_url();
    let store = RedisStore::builder_with_key(SigningKey::from_bytes([5; 32]))
        .connect(&url)
        .await
        .unwrap();
    let events = RecordingHandler::all();
    let charon = charon(Arc::new(store.clone()), &events);
    let app = me_app(AccessLayer::new(&charon).revocation(Revocation::Strict));
    let user = random_id();
    let old_full = login(&charon, &user, &SessionType::default(), "old-full").await;
    let old_other = login(&charon, &user, &stype("oauth2"), "old-oauth2").await;
    let mut raw = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut del = redis::cmd("DEL");
    del.arg(store.type_index_key(&user));
    for ty in [SessionType::default(), stype("oauth2")] {
        del.arg(store.keys(&user, &ty).index_horizon());
    }
    let removed: i64 = del.query_async(&mut raw).await.unwrap();
    assert_eq!(removed, 3);

    charon.revoke_all_sessions_of_user(&user).await.unwrap();
    assert_eq!(
        call(&app, &old_full).await.0,
        StatusCode::UNAUTHORIZED,
        "the default type is always covered"
    );
    assert_eq!(
        call(&app, &old_other).await.0,
        StatusCode::OK,
        "an old session of another type is not indexed yet"
    );
    // Its next refresh indexes it; from then on the all-types call covers it.
    let refreshed = old_other.refresh(&charon).await.unwrap();
    assert_eq!(call(&app, &refreshed).await.0, StatusCode::OK);
    charon.revoke_all_sessions_of_user(&user).await.unwrap();
    assert_eq!(call(&app, &refreshed).await.0, StatusCode::UNAUTHORIZED);
}

/// A custom store that does not implement `session_types`: the all-types calls fail with
/// a store error and delete nothing, rather than silently miss a type.
#[tokio::test]
async fn a_store_without_session_types_fails_loudly() {
    let inner = MemoryStore::new();
    let events = RecordingHandler::all();
    let charon = charon(Arc::new(NoTypes(inner.clone())), &events);
    let user = random_id();
    login(&charon, &user, &stype("oauth2"), "kept").await;
    let err = charon.revoke_all_sessions_of_user(&user).await.unwrap_err();
    assert_eq!(err.kind(), SessionErrorKind::Store, "{err}");
    let err = charon.list_all_sessions_of_user(&user).await.unwrap_err();
    assert_eq!(err.kind(), SessionErrorKind::Store, "{err}");
    assert_eq!(inner.len(), 1);
    assert_eq!(events.count(EventKind::SessionDeleteAll), 0);
}

/// Every required method, none of the optional ones.
#[derive(Debug)]
struct NoTypes(MemoryStore);

impl SessionStore for NoTypes {
    fn get<'a>(
        &'a self,
        key: charon_auth::session::SessionKey<'a>,
        now: i64,
    ) -> StoreFuture<'a, Option<charon_auth::Session>> {
        self.0.get(key, now)
    }
    fn create<'a>(
        &'a self,
        session: &'a charon_auth::Session,
        max: Option<std::num::NonZeroU32>,
        now: i64,
    ) -> StoreFuture<'a, charon_auth::store::Created> {
        self.0.create(session, max, now)
    }
    fn update<'a>(&'a self, session: &'a charon_auth::Session, now: i64) -> StoreFuture<'a, u64> {
        self.0.update(session, now)
    }
    fn delete<'a>(
        &'a self,
        key: charon_auth::session::SessionKey<'a>,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        self.0.delete(key, now)
    }
    fn get_all<'a>(
        &'a self,
        user: &'a str,
        ty: &'a SessionType,
        now: i64,
    ) -> StoreFuture<'a, Vec<charon_auth::Session>> {
        self.0.get_all(user, ty, now)
    }
    fn delete_all<'a>(&'a self, user: &'a str, ty: &'a SessionType) -> StoreFuture<'a, ()> {
        self.0.delete_all(user, ty)
    }
}
