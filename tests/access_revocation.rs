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

use std::sync::{Arc, Mutex};

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
/// login and the next request would; its local cache answers what `peeked` holds.
#[derive(Debug, Default)]
struct ReadsFail(MemoryStore, Mutex<Option<Arc<charon_auth::Session>>>);

impl SessionStore for ReadsFail {
    fn peek_cached(
        &self,
        _: charon_auth::session::SessionKey<'_>,
        _: i64,
        _: &charon_auth::session::SessionMemo,
    ) -> Option<Arc<charon_auth::Session>> {
        self.1.lock().unwrap().clone()
    }
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
        let f = fixture(Arc::new(ReadsFail::default()));
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
async fn a_cached_check_decides_a_hit_of_the_stores_cache_without_a_read() {
    let store = Arc::new(ReadsFail::default());
    let f = fixture(store.clone());
    let cached = me_app(AccessLayer::new(&f.charon).revocation(Revocation::Cached));
    let strict = me_app(AccessLayer::new(&f.charon).revocation(Revocation::Strict));
    let session = TestSession::create(&f.charon, "ann", Transport::Bearer)
        .await
        .unwrap();
    let own = session.tokens().session().clone();
    *store.1.lock().unwrap() = Some(Arc::new(own.clone()));
    f.events.clear();
    // The hit answers (the store's reads would fail), with the session for the handler.
    let (status, text) = call(&cached, &session).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(text, format!("ann {}", own.id));
    one_event(&f.events, None, true);
    // Strict never takes the cache's word.
    let (status, _) = call(&strict, &session).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    one_event(&f.events, Some(AuthErrorKind::StoreUnavailable), false);
    // A cached session is checked as a loaded one: another user's is not this token's.
    let mut other = own;
    other.user_id = "bob".into();
    *store.1.lock().unwrap() = Some(Arc::new(other));
    let (status, text) = call(&cached, &session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    one_event(&f.events, Some(AuthErrorKind::SessionNotFound), false);
}

#[tokio::test]
async fn optional_mode_does_not_turn_a_store_outage_into_anonymous() {
    let f = fixture(Arc::new(ReadsFail::default()));
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
    use charon_auth::{CreateSession, SessionErrorKind};
    let f = fixture(Arc::new(MemoryStore::new()));
    let mut too_many = CreateSession::new("ann", Transport::Bearer);
    for i in 0..=charon_auth::session::MAX_METADATA_ENTRIES {
        too_many = too_many.metadata(format!("k{i}"), "v");
    }
    let err = f
        .charon
        .create_session(too_many, charon_auth::RequestContext::no_request())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SessionErrorKind::InvalidInput);
    let bad_key = CreateSession::new("ann", Transport::Bearer).metadata("no spaces", "v");
    let err = f
        .charon
        .create_session(bad_key, charon_auth::RequestContext::no_request())
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
    session.refresh(&f.charon).await.unwrap();
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
    let stored = f
        .charon
        .store()
        .get_all("ann", &Default::default(), f.charon.now())
        .await
        .unwrap();
    assert!(stored[0].lock_version >= 2, "the refresh was written");
}

/// The list calls answer the safe view: what a user may see of their sessions, never the
/// refresh token id or the extra payload (which the stored record serializes).
#[tokio::test]
async fn session_lists_serialize_no_refresh_token_id_and_no_payload() {
    use charon_auth::CreateSession;
    let f = fixture(Arc::new(MemoryStore::new()));
    let mut payload = serde_json::Map::new();
    payload.insert("secret".into(), "server-side only".into());
    let login = CreateSession::new("ann", Transport::Bearer)
        .metadata("device", "phone")
        .extra_payload(payload);
    let session = TestSession::create_with(&f.charon, login).await.unwrap();
    let stored = session.tokens().session();
    let refresh_jti = stored.refresh_token_id.clone();
    assert!(
        serde_json::to_string(stored)
            .unwrap()
            .contains(&refresh_jti)
    );

    let listed = f
        .charon
        .list_sessions("ann", &Default::default())
        .await
        .unwrap();
    let json = serde_json::to_value(&listed).unwrap();
    let text = json.to_string();
    assert!(!text.contains(&refresh_jti), "{text}");
    assert!(!text.contains("server-side only"), "{text}");
    let keys: Vec<&str> = json[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "created_at",
            "expires_at",
            "metadata",
            "refresh_expires_at",
            "refreshed_at",
            "session_id",
            "session_type"
        ]
    );
    assert_eq!(json[0]["session_id"], stored.id.as_str());
    assert_eq!(json[0]["metadata"]["device"], "phone");
}

/// Extra claim names are checked where they are given: a reserved one is a typed error at
/// the call, before any login (it used to surface at `create_session` as a 400).
#[tokio::test]
async fn reserved_claim_names_are_refused_where_they_are_given() {
    use charon_auth::token::RESERVED_CLAIMS;
    use charon_auth::{CreateSession, RefreshSession};
    for name in RESERVED_CLAIMS {
        let login = || CreateSession::new("ann", Transport::Bearer);
        assert_eq!(login().access_claim(name, 1).unwrap_err().name(), name);
        assert_eq!(login().refresh_claim(name, 1).unwrap_err().name(), name);
        let refresh = RefreshSession::new;
        assert_eq!(refresh().access_claim(name, 1).unwrap_err().name(), name);
        assert_eq!(refresh().refresh_claim(name, 1).unwrap_err().name(), name);
    }
    // Any other name goes into the token.
    let f = fixture(Arc::new(MemoryStore::new()));
    let login = CreateSession::new("ann", Transport::Bearer)
        .access_claim("tenant", "acme")
        .unwrap()
        .refresh_claim("device_class", "phone")
        .unwrap();
    let session = TestSession::create_with(&f.charon, login).await.unwrap();
    let access = f
        .charon
        .verifier()
        .verify(
            session.tokens().access_token().unwrap(),
            f.charon.now(),
            charon_auth::TokenType::Access,
        )
        .unwrap();
    assert_eq!(access.extra("tenant"), Some(&serde_json::json!("acme")));
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

/// `revoke_session_of` ends a session of the request's own user and type, and nobody
/// else's.
#[tokio::test]
async fn revoke_session_of_ends_only_the_callers_own_sessions() {
    let f = fixture(Arc::new(MemoryStore::new()));
    let app = me_app(AccessLayer::new(&f.charon).revocation(Revocation::Strict));
    let laptop = TestSession::create(&f.charon, "ann", Transport::Bearer)
        .await
        .unwrap();
    let phone = TestSession::create(&f.charon, "ann", Transport::Bearer)
        .await
        .unwrap();
    let bob = TestSession::create(&f.charon, "bob", Transport::Bearer)
        .await
        .unwrap();
    let req = laptop.access_request(Request::get("/")).body(()).unwrap();
    let auth = f
        .charon
        .verifier()
        .authenticate(req.method(), req.headers())
        .unwrap();
    let bob_sid = bob.tokens().session().id.clone();
    assert!(!f.charon.revoke_session_of(&auth, &bob_sid).await.unwrap());
    assert_eq!(call(&app, &bob).await.0, StatusCode::OK);
    let phone_sid = phone.tokens().session().id.clone();
    assert!(f.charon.revoke_session_of(&auth, &phone_sid).await.unwrap());
    assert_eq!(call(&app, &phone).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&app, &laptop).await.0, StatusCode::OK);
}

/// Refresh `session` with `options`; the new tokens and session.
async fn refreshed(
    charon: &charon_auth::Charon,
    session: &TestSession,
    options: charon_auth::RefreshSession,
) -> Result<charon_auth::IssuedTokens, charon_auth::test_util::TestRefreshError> {
    let next = session.refresh_with(charon, options).await?;
    Ok(next.tokens().clone())
}

#[tokio::test]
async fn typed_payload_and_typed_claims_are_kept_across_refreshes_unless_replaced() {
    use charon_auth::session::PayloadErrorKind;
    use charon_auth::{CreateSession, RefreshSession};
    use support::session_check::payload_of;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Cart {
        items: Vec<String>,
        total_cents: u64,
    }
    #[derive(serde::Serialize)]
    struct Grants<'a> {
        scope: &'a str,
        tenant: u32,
    }

    let f = fixture(Arc::new(MemoryStore::new()));
    let cart = Cart {
        items: vec!["tea".into()],
        total_cents: 350,
    };
    let login = CreateSession::new(7_u64, Transport::Bearer)
        .extra_payload_typed(&cart)
        .unwrap()
        .access_claims(&Grants {
            scope: "read admin",
            tenant: 3,
        })
        .unwrap()
        .access_claim("plan", "pro")
        .unwrap()
        .refresh_claims(&serde_json::json!({"device": "phone"}))
        .unwrap();
    let session = TestSession::create_with(&f.charon, login).await.unwrap();
    let tokens = session.tokens();
    assert_eq!(tokens.session().extra_payload_as::<Cart>().unwrap(), cart);
    let access = payload_of(tokens.access_token().unwrap());
    assert_eq!(
        (&access["scope"], &access["tenant"], &access["plan"]),
        (&"read admin".into(), &3.into(), &"pro".into())
    );
    assert_eq!(
        payload_of(tokens.refresh_token().unwrap())["device"],
        "phone"
    );

    // A refresh with no options keeps the payload and every extra claim.
    let new_cycle = f.charon.times().new_cycle_after.as_secs() as i64 + 1;
    f.clock.advance(new_cycle);
    let kept = refreshed(&f.charon, &session, RefreshSession::new())
        .await
        .unwrap();
    let access = payload_of(kept.access_token().unwrap());
    assert_eq!(access["scope"], "read admin");
    assert_eq!(access["tenant"], 3);
    assert_eq!(access["plan"], "pro");
    assert_eq!(payload_of(kept.refresh_token().unwrap())["device"], "phone");
    assert_eq!(kept.session().extra_payload_as::<Cart>().unwrap(), cart);
    let stored = f
        .charon
        .store()
        .get_all("7", &Default::default(), f.charon.now())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].access_claims.len(), 3, "kept in the store too");

    // One claim changed, the others kept; then every access claim replaced; the payload
    // replaced by a typed one.
    let session = TestSession::from_tokens(&f.charon, kept);
    f.clock.advance(new_cycle);
    let changed = refreshed(
        &f.charon,
        &session,
        RefreshSession::new().access_claim("plan", "free").unwrap(),
    )
    .await
    .unwrap();
    let access = payload_of(changed.access_token().unwrap());
    assert_eq!(
        (&access["plan"], &access["scope"]),
        (&"free".into(), &"read admin".into())
    );
    let session = TestSession::from_tokens(&f.charon, changed);
    f.clock.advance(new_cycle);
    let smaller = Cart {
        items: Vec::new(),
        total_cents: 0,
    };
    let replaced = refreshed(
        &f.charon,
        &session,
        RefreshSession::new()
            .replace_access_claims(&serde_json::json!({"scope": "read"}))
            .unwrap()
            .replace_extra_payload_typed(&smaller)
            .unwrap(),
    )
    .await
    .unwrap();
    let access = payload_of(replaced.access_token().unwrap());
    assert_eq!(access["scope"], "read");
    assert!(
        access.get("plan").is_none() && access.get("tenant").is_none(),
        "{access}"
    );
    assert_eq!(
        payload_of(replaced.refresh_token().unwrap())["device"],
        "phone",
        "the refresh claims were not replaced"
    );
    assert_eq!(
        replaced.session().extra_payload_as::<Cart>().unwrap(),
        smaller
    );
    assert_eq!(payload_of(replaced.access_token().unwrap())["sub"], 7);

    // Typed errors, never panics: a payload of the wrong type, values that are no JSON
    // object, reserved claim names.
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Profile {
        display_name: String,
    }
    let err = replaced
        .session()
        .extra_payload_as::<Profile>()
        .unwrap_err();
    assert_eq!(err.kind(), PayloadErrorKind::Deserialize);
    assert!(std::error::Error::source(&err).is_some());
    let err = CreateSession::new("u", Transport::Bearer)
        .extra_payload_typed(&[1, 2])
        .unwrap_err();
    assert_eq!(err.kind(), PayloadErrorKind::NotAnObject);
    let err = CreateSession::new("u", Transport::Bearer)
        .access_claims(&serde_json::json!({"role": "x", "exp": 1}))
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.claim()),
        (PayloadErrorKind::ReservedClaim, Some("exp"))
    );
    let err = RefreshSession::new()
        .replace_refresh_claims(&serde_json::json!({"sub": 1}))
        .unwrap_err();
    assert_eq!(err.kind(), PayloadErrorKind::ReservedClaim);
    let err = RefreshSession::new()
        .replace_access_claims(&"scope")
        .unwrap_err();
    assert_eq!(err.kind(), PayloadErrorKind::NotAnObject);
}
