//! The Redis store's coherent session cache (`RedisStoreBuilder::session_cache`), on real
//! `redis-server` processes: two instances on one Redis (standalone and Cluster), where a
//! logout, logout everywhere, revocation or refresh on instance A reaches instance B's
//! cache through the write scripts' invalidation messages; the fail-safe under a killed
//! subscriber connection; and the maximum age that bounds writes the scripts never see.
//!
//! No timing is asserted: waits are bounded polls (hang guards), and each "B rejects"
//! check also asserts that B's cache was serving before and did not reset, so that the
//! rejection came from the invalidation message, not from a fallback or an entry's age.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use charon_auth::clock::{Clock, ManualClock};
use charon_auth::layer::{AccessLayer, RefreshLayer, Revocation, SessionRead};
use charon_auth::session::{Session, SessionKey, SessionType, random_id};
use charon_auth::store::redis::{RedisStore, SessionCache, SessionCacheStats, SigningKey};
use charon_auth::store::{Created, SessionStore, StoreFuture};
use charon_auth::test_util::TestSession;
use charon_auth::{Authenticated, Charon, IssuedTokens, RefreshAuth, RefreshSession, Transport};
use support::redis::{RedisCluster, RedisServer, cluster, standalone_url};
use support::session_check::{call, send};

/// Long enough that no entry ages out during a test: a rejection must come from a message.
const NO_AGE_LIMIT: Duration = Duration::from_secs(3600);

/// The hang guard of every poll.
const LIMIT: Duration = Duration::from_secs(10);

fn key() -> SigningKey {
    SigningKey::from_bytes([7; 32])
}

/// A cache whose entries never age out during a test, with a lenient heartbeat (a loaded
/// test machine must not reset it: "no reset" is what shows the messages did the work).
fn cached() -> SessionCache {
    SessionCache::new(10_000)
        .max_age(NO_AGE_LIMIT)
        .heartbeat(Duration::from_millis(250), Duration::from_secs(5))
}

async fn standalone(cache: Option<SessionCache>) -> RedisStore {
    let builder = RedisStore::builder_with_key(key());
    let builder = match cache {
        Some(c) => builder.session_cache(c),
        None => builder,
    };
    builder.connect(&standalone_url()).await.unwrap()
}

async fn clustered(cache: Option<SessionCache>) -> RedisStore {
    let builder = RedisStore::builder_with_key(key());
    let builder = match cache {
        Some(c) => builder.session_cache(c),
        None => builder,
    };
    builder.connect_cluster(cluster().urls()).await.unwrap()
}

fn charon(store: RedisStore) -> Charon {
    Charon::builder()
        .issuer("session-cache")
        .base_secret("session cache tests secret, 32+ bytes")
        .store(store)
        .build()
        .unwrap()
}

/// `/me` answers `sid lock_version` from the session the layer loaded.
fn app(charon: &Charon) -> Router {
    Router::new()
        .route(
            "/me",
            get(|auth: Authenticated| async move {
                let s = auth.session().expect("the layer loads the session");
                format!("{} {}", s.id, s.lock_version)
            }),
        )
        .route_layer(AccessLayer::new(charon).revocation(Revocation::Cached))
}

fn stats(store: &RedisStore) -> SessionCacheStats {
    store.session_cache_stats().expect("a store with a cache")
}

/// Call B until `done` holds for its answer (a bounded poll, not a timing assertion).
async fn poll_until(app: &Router, session: &TestSession, done: impl Fn(StatusCode, &str) -> bool) {
    let start = Instant::now();
    loop {
        let (status, body) = call(app, session).await;
        if done(status, &body) {
            return;
        }
        assert!(start.elapsed() < LIMIT, "B still answers {status} {body}");
        tokio::task::yield_now().await;
    }
}

/// B serves `session` from its cache: a call, then one that is a hit. (A miss in between
/// is an invalidation of the user's sessions still arriving, e.g. from an earlier write
/// on another Cluster node: try again, boundedly.)
async fn cached_on_b(app_b: &Router, store_b: &RedisStore, session: &TestSession) -> String {
    let start = Instant::now();
    loop {
        let (status, body) = call(app_b, session).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let hits = stats(store_b).hits;
        let (status, again) = call(app_b, session).await;
        assert_eq!((status, &again), (StatusCode::OK, &body));
        if stats(store_b).hits == hits + 1 {
            return body;
        }
        assert!(
            start.elapsed() < LIMIT,
            "B never served the session from its cache"
        );
    }
}

/// Everything a logout, revocation or refresh on A does reaches B's cache.
async fn a_write_on_a_reaches_b(store_a: RedisStore, store_b: RedisStore) {
    let a = charon(store_a);
    let b = charon(store_b.clone());
    let app_b = app(&b);
    let user = format!("user-{}", random_id());
    let full = SessionType::default();
    let resets = stats(&store_b).resets;

    // Revoke one session ("sign out that device", the logout's delete).
    let one = TestSession::create(&a, &user, Transport::Bearer)
        .await
        .unwrap();
    let other = TestSession::create(&a, &user, Transport::Bearer)
        .await
        .unwrap();
    cached_on_b(&app_b, &store_b, &one).await;
    cached_on_b(&app_b, &store_b, &other).await;
    let sid = one.tokens().session().id.clone();
    assert!(a.revoke_session(&user, &full, &sid).await.unwrap());
    poll_until(&app_b, &one, |s, _| s == StatusCode::UNAUTHORIZED).await;
    // The other session of the user is still live (read again after the invalidation).
    assert_eq!(call(&app_b, &other).await.0, StatusCode::OK);

    // Logout through the request's own token.
    let req = other
        .access_request(Request::get("/logout"))
        .body(())
        .unwrap();
    let auth = a
        .verifier()
        .authenticate(req.method(), req.headers())
        .unwrap();
    cached_on_b(&app_b, &store_b, &other).await;
    assert!(a.delete_session(&auth).await.unwrap().deleted());
    poll_until(&app_b, &other, |s, _| s == StatusCode::UNAUTHORIZED).await;

    // Log out everywhere.
    let sessions = [
        TestSession::create(&a, &user, Transport::Bearer)
            .await
            .unwrap(),
        TestSession::create(&a, &user, Transport::Bearer)
            .await
            .unwrap(),
    ];
    for s in &sessions {
        cached_on_b(&app_b, &store_b, s).await;
    }
    a.delete_all_sessions(&user, &full).await.unwrap();
    for s in &sessions {
        poll_until(&app_b, s, |s, _| s == StatusCode::UNAUTHORIZED).await;
    }

    // A refresh on A: B serves the refreshed session, not the one it had cached.
    let session = TestSession::create(&a, &user, Transport::Bearer)
        .await
        .unwrap();
    let before = cached_on_b(&app_b, &store_b, &session).await;
    let refreshed = session.refresh(&a).await.unwrap();
    let refreshed = refreshed.tokens().session();
    let lock = refreshed.lock_version;
    assert_ne!(before, format!("{} {lock}", refreshed.id));
    let expected = format!("{} {lock}", refreshed.id);
    poll_until(&app_b, &session, |s, body| {
        s == StatusCode::OK && body == expected
    })
    .await;

    let after = stats(&store_b);
    assert_eq!(after.resets, resets, "no reset: the messages did it");
    assert!(after.active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_a_write_on_one_instance_reaches_the_others_cache() {
    // A with a cache of its own, as a fleet of identical instances would run.
    a_write_on_a_reaches_b(
        standalone(Some(cached())).await,
        standalone(Some(cached())).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_a_write_on_one_instance_reaches_the_others_cache() {
    // A without a cache: every store publishes its writes' invalidations all the same.
    a_write_on_a_reaches_b(clustered(None).await, clustered(Some(cached())).await).await;
}

fn new_session(user: &str, now: i64) -> Session {
    Session::new(
        random_id(),
        user.into(),
        SessionType::default(),
        now,
        None,
        now + 3600,
        random_id(),
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn get_b(store: &RedisStore, s: &Session) -> Option<Session> {
    let key = SessionKey::new(&s.id, &s.user_id, &s.session_type);
    store
        .get_cached(key, now())
        .await
        .unwrap()
        .map(|s| (*s).clone())
}

async fn delete(store: &RedisStore, s: &Session) {
    let key = SessionKey::new(&s.id, &s.user_id, &s.session_type);
    store.delete(key, now()).await.unwrap();
}

/// `CLIENT KILL TYPE pubsub` in a loop while A and B delete and B's readers check: no read
/// on B that began after B's own delete returned ever sees the session, and once the
/// killing stops and B has caught up, no session deleted on A (during an outage of the
/// channel or not) is served by B's cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_subscriber_never_lets_a_deleted_session_be_served() {
    // An owned server: the kills must not reach the other tests' subscribers.
    let server = RedisServer::spawn();
    let connect = || async {
        RedisStore::builder_with_key(key())
            .session_cache(cached())
            .connect(&server.url())
            .await
            .unwrap()
    };
    let a = connect().await;
    let b = connect().await;
    const N: usize = 400;
    let t = now();
    let sessions: Arc<Vec<Session>> = Arc::new(
        (0..N)
            .map(|i| new_session(&format!("user-{i}-{}", random_id()), t))
            .collect(),
    );
    for s in sessions.iter() {
        a.create(s, None, t).await.unwrap();
        assert!(get_b(&b, s).await.is_some());
    }
    // Half the sessions are deleted on B (the `deleted_on_b` flag is set once the delete
    // has returned), half on A.
    let deleted_on_b: Arc<Vec<AtomicBool>> =
        Arc::new((0..N).map(|_| AtomicBool::new(false)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let violations = Arc::new(AtomicUsize::new(0));
    let reads = Arc::new(AtomicUsize::new(0));

    let port = server.port();
    let killer = {
        let stop = Arc::clone(&stop);
        tokio::task::spawn_blocking(move || {
            let mut kills = 0;
            while !stop.load(Ordering::SeqCst) {
                RedisServer::command_on(port, &["CLIENT", "KILL", "TYPE", "pubsub"]).unwrap();
                kills += 1;
                std::thread::sleep(Duration::from_millis(15));
            }
            kills
        })
    };
    let mut readers = Vec::new();
    for r in 0..2 {
        let (b, sessions, deleted_on_b, stop, violations, reads) = (
            b.clone(),
            Arc::clone(&sessions),
            Arc::clone(&deleted_on_b),
            Arc::clone(&stop),
            Arc::clone(&violations),
            Arc::clone(&reads),
        );
        readers.push(tokio::spawn(async move {
            let mut i = r;
            while !stop.load(Ordering::SeqCst) {
                i = (i * 7 + 13) % N;
                let was_deleted = deleted_on_b[i].load(Ordering::SeqCst);
                let found = get_b(&b, &sessions[i]).await;
                reads.fetch_add(1, Ordering::Relaxed);
                if was_deleted && found.is_some() {
                    violations.fetch_add(1, Ordering::SeqCst);
                }
                // A hit never waits: let the connections' tasks run on the 2 workers.
                tokio::task::yield_now().await;
            }
        }));
    }
    for (i, s) in sessions.iter().enumerate() {
        if i % 2 == 0 {
            delete(&b, s).await;
            deleted_on_b[i].store(true, Ordering::SeqCst);
        } else {
            delete(&a, s).await;
        }
        // Let the readers and the kills interleave with the deletes.
        if i % 8 == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        r.await.unwrap();
    }
    let kills = killer.await.unwrap();
    assert_eq!(
        violations.load(Ordering::SeqCst),
        0,
        "a read on B after B's own delete returned saw the session"
    );

    // Caught up: B subscribed again, and a last invalidation published after every delete
    // has arrived with no reset in between (messages from one server arrive in order).
    let barrier = new_session("barrier", t);
    loop {
        let start = Instant::now();
        while !stats(&b).active {
            assert!(start.elapsed() < LIMIT, "B never subscribed again");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let resets = stats(&b).resets;
        a.create(&barrier, None, t).await.unwrap();
        assert!(get_b(&b, &barrier).await.is_some());
        let hits = stats(&b).hits;
        assert!(get_b(&b, &barrier).await.is_some());
        let cached = stats(&b).hits == hits + 1;
        delete(&a, &barrier).await;
        let start = Instant::now();
        while get_b(&b, &barrier).await.is_some() {
            assert!(start.elapsed() < LIMIT, "the barrier never reached B");
            tokio::task::yield_now().await;
        }
        if cached && stats(&b).resets == resets {
            break;
        }
    }
    for (i, s) in sessions.iter().enumerate() {
        assert!(
            get_b(&b, s).await.is_none(),
            "session {i} (deleted on {}) still served by B",
            if i % 2 == 0 { "B" } else { "A" }
        );
    }
    let end = stats(&b);
    assert!(kills > 0 && end.resets > 0, "the kills reached B: {end:?}");
    assert!(end.hits > 0, "B's cache served reads: {end:?}");
    assert!(reads.load(Ordering::Relaxed) > 0);
}

/// A key removed behind the scripts' back publishes nothing; the entry's maximum age
/// bounds how long B serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_deleted_by_hand_is_read_again_after_the_maximum_age() {
    let max_age = Duration::from_millis(200);
    // The spawned server (not `CHARON_TEST_REDIS_URL`): the test deletes a key on it.
    let server = support::redis::shared_standalone();
    let b = RedisStore::builder_with_key(key())
        .session_cache(SessionCache::new(100).max_age(max_age))
        .connect(&server.url())
        .await
        .unwrap();
    let t = now();
    let s = new_session(&format!("user-{}", random_id()), t);
    b.create(&s, None, t).await.unwrap();
    assert!(get_b(&b, &s).await.is_some());
    let keys = b.keys(s.user_id.as_str(), &s.session_type);
    server
        .command(&["DEL", keys.sessions(), keys.expiries()])
        .unwrap();
    tokio::time::sleep(max_age + Duration::from_millis(50)).await;
    assert!(
        get_b(&b, &s).await.is_none(),
        "older than max_age: read again"
    );
}

#[tokio::test]
async fn invalid_settings_are_refused_when_connecting() {
    for bad in [
        SessionCache::new(0),
        SessionCache::new(10).max_age(Duration::ZERO),
        SessionCache::new(10).heartbeat(Duration::ZERO, Duration::from_secs(1)),
    ] {
        let err = RedisStore::builder_with_key(key())
            .session_cache(bad)
            .connect("redis://127.0.0.1:1")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), charon_auth::error::ConfigErrorKind::Invalid);
    }
    // A store without a cache has no statistics.
    assert!(standalone(None).await.session_cache_stats().is_none());
}

/// A store that cannot subscribe (an ACL user without `+subscribe`) is refused when it
/// connects with a cache, instead of silently doing a round trip per read; the same user
/// connects without one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_that_cannot_subscribe_is_a_configuration_error() {
    let server = RedisServer::spawn();
    server
        .command(&[
            "ACL",
            "SETUSER",
            "writer",
            "on",
            ">writer-password",
            "~*",
            "&*",
            "+@all",
            "-subscribe",
        ])
        .unwrap();
    let url = format!("redis://writer:writer-password@127.0.0.1:{}", server.port());
    let err = RedisStore::builder_with_key(key())
        .session_cache(cached())
        .connect(&url)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        charon_auth::error::ConfigErrorKind::InvalidRedis
    );
    let store = RedisStore::builder_with_key(key())
        .connect(&url)
        .await
        .unwrap();
    let t = now();
    let s = new_session("writer", t);
    store.create(&s, None, t).await.unwrap();
}

/// Over TLS with a private CA and a client certificate (mutual TLS), on a Cluster: the
/// subscriber connects with the store's TLS settings, and a delete on A reaches B's cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscriber_follows_the_stores_tls_settings_on_a_cluster() {
    let pki = support::redis::pki();
    let connect = || async {
        RedisStore::builder_with_key(key())
            .tls_ca_pem(pki.ca_pem.clone())
            .tls_client_cert_pem(pki.client_cert_pem.clone(), pki.client_key_pem.clone())
            .session_cache(cached())
            .connect_cluster(support::redis::tls_cluster().tls_urls())
            .await
            .unwrap()
    };
    let (a, b) = (connect().await, connect().await);
    let t = now();
    let s = new_session(&format!("user-{}", random_id()), t);
    a.create(&s, None, t).await.unwrap();
    let start = Instant::now();
    loop {
        assert!(get_b(&b, &s).await.is_some());
        let hits = stats(&b).hits;
        assert!(get_b(&b, &s).await.is_some());
        if stats(&b).hits == hits + 1 {
            break;
        }
        assert!(start.elapsed() < LIMIT, "B never cached the session");
    }
    let resets = stats(&b).resets;
    delete(&a, &s).await;
    let start = Instant::now();
    while get_b(&b, &s).await.is_some() {
        assert!(start.elapsed() < LIMIT, "the delete never reached B");
        tokio::task::yield_now().await;
    }
    assert_eq!(stats(&b).resets, resets, "no reset: the message did it");
}

// --- The refresh layer reading through the cache (`SessionRead::Cached`) ---------------

/// A refresh-layer app: `GET /session` only reads the session (a session-cookie route),
/// answering `sid lock_version from_cache`; `POST /refresh` rotates it.
fn refresh_app(charon: &Charon) -> Router {
    Router::new()
        .route(
            "/session",
            get(|auth: RefreshAuth| async move {
                let s = auth.session();
                format!("{} {} {}", s.id, s.lock_version, auth.from_cache())
            }),
        )
        .route(
            "/refresh",
            post(
                |State(charon): State<Charon>, auth: RefreshAuth| async move {
                    match charon.refresh_session(&auth, RefreshSession::new()).await {
                        Ok(tokens) => Ok(serde_json::to_string(&tokens_json(&tokens)).unwrap()),
                        Err(e) => Err((e.status(), e.to_string())),
                    }
                },
            ),
        )
        .route_layer(RefreshLayer::new(charon).session_read(SessionRead::Cached))
        .with_state(charon.clone())
}

fn tokens_json(tokens: &IssuedTokens) -> serde_json::Value {
    serde_json::json!({
        "refresh_token": tokens.refresh_token(),
        "lock_version": tokens.session().lock_version,
    })
}

async fn read_session(app: &Router, session: &TestSession) -> (StatusCode, String) {
    let req = session.refresh_request(Request::get("/session"));
    send(app, req.body(Body::empty()).unwrap()).await
}

async fn rotate(app: &Router, session: &TestSession) -> (StatusCode, String) {
    let req = session.refresh_request(Request::post("/refresh"));
    send(app, req.body(Body::empty()).unwrap()).await
}

/// Read on B until it answers `done` (a bounded poll).
async fn poll_read(app: &Router, session: &TestSession, done: impl Fn(StatusCode, &str) -> bool) {
    let start = Instant::now();
    loop {
        let (status, body) = read_session(app, session).await;
        if done(status, &body) {
            return;
        }
        assert!(start.elapsed() < LIMIT, "B still answers {status} {body}");
        tokio::task::yield_now().await;
    }
}

/// On B, the refresh layer serves a read-only route from the cache, sees A's refresh and
/// A's logout through the invalidation messages, and rotates through the lock-checked
/// write.
async fn the_refresh_layer_reads_through_the_cache(store_a: RedisStore, store_b: RedisStore) {
    let a = charon(store_a);
    let b = charon(store_b.clone());
    let app_b = refresh_app(&b);
    let user = format!("user-{}", random_id());
    let resets = stats(&store_b).resets;
    let session = TestSession::create(&a, &user, Transport::Bearer)
        .await
        .unwrap();
    let sid = session.tokens().session().id.clone();

    // The first read fills B's cache; a later one is a hit (an invalidation of an
    // earlier write of A may still arrive on a Cluster: bounded retries).
    let start = Instant::now();
    loop {
        let (status, body) = read_session(&app_b, &session).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body.ends_with("true") {
            assert_eq!(body, format!("{sid} 1 true"));
            break;
        }
        assert!(
            start.elapsed() < LIMIT,
            "B never read the session from its cache"
        );
    }

    // A refresh on A: B's read-only route sees the new lock version.
    let next = session.refresh(&a).await.unwrap();
    assert_eq!(next.tokens().session().lock_version, 2);
    poll_read(&app_b, &next, |s, body| {
        s == StatusCode::OK && body.starts_with(&format!("{sid} 2 "))
    })
    .await;

    // B rotates: the write is lock-checked and B's own write invalidates its cache.
    let (status, body) = rotate(&app_b, &next).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tokens: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(tokens["lock_version"], 3);
    let (status, body) = read_session(&app_b, &next).await;
    assert_eq!(
        (status, body.split(' ').nth(1)),
        (StatusCode::OK, Some("3")),
        "{body}"
    );

    // A logout on A: B's read-only route refuses the session's refresh tokens.
    let full = SessionType::default();
    let key = SessionKey::new(&sid, &user, &full);
    assert!(a.store().delete(key, now()).await.unwrap());
    poll_read(&app_b, &next, |s, _| s == StatusCode::UNAUTHORIZED).await;
    let (status, body) = rotate(&app_b, &next).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let after = stats(&store_b);
    assert_eq!(after.resets, resets, "no reset: the messages did it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_the_refresh_layer_reads_through_the_cache() {
    the_refresh_layer_reads_through_the_cache(
        standalone(Some(cached())).await,
        standalone(Some(cached())).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_the_refresh_layer_reads_through_the_cache() {
    the_refresh_layer_reads_through_the_cache(
        clustered(None).await,
        clustered(Some(cached())).await,
    )
    .await;
}

/// A store whose cache lags on purpose: `get_cached` answers the copy of a session taken
/// by [`Lagging::hold`] (or a doctored one) until released, however the session changed in
/// Redis since. Everything else is the real Redis store. It stands for the moments before
/// another instance's invalidation arrives, which real timing cannot hold open in a test.
#[derive(Debug, Clone)]
struct Lagging {
    redis: RedisStore,
    held: Arc<std::sync::Mutex<Option<Arc<Session>>>>,
    /// Answer "no such session" from the cache (one that cached an absence and has not
    /// heard of a create elsewhere yet), whatever Redis holds.
    absent: Arc<std::sync::atomic::AtomicBool>,
}

impl Lagging {
    fn new(redis: RedisStore) -> Self {
        Self {
            redis,
            held: Arc::default(),
            absent: Arc::default(),
        }
    }

    fn hold_absence(&self) {
        self.absent.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn hold(&self, session: Session) {
        *self.held.lock().unwrap() = Some(Arc::new(session));
    }

    fn held_for(&self, key: &SessionKey<'_>) -> Option<Arc<Session>> {
        self.held
            .lock()
            .unwrap()
            .clone()
            .filter(|s| s.id == key.session_id && s.user_id.as_str() == key.user_id)
    }
}

impl SessionStore for Lagging {
    fn get<'a>(&'a self, key: SessionKey<'a>, now: i64) -> StoreFuture<'a, Option<Session>> {
        self.redis.get(key, now)
    }
    fn get_cached<'a>(
        &'a self,
        key: SessionKey<'a>,
        now: i64,
    ) -> StoreFuture<'a, Option<Arc<Session>>> {
        if self.absent.load(std::sync::atomic::Ordering::SeqCst) {
            return Box::pin(std::future::ready(Ok(None)));
        }
        match self.held_for(&key) {
            Some(held) => Box::pin(std::future::ready(Ok(Some(held)))),
            None => self.redis.get_cached(key, now),
        }
    }
    fn create<'a>(
        &'a self,
        session: &'a Session,
        max_sessions: Option<std::num::NonZeroU32>,
        now: i64,
    ) -> StoreFuture<'a, Created> {
        self.redis.create(session, max_sessions, now)
    }
    fn update<'a>(&'a self, session: &'a Session, now: i64) -> StoreFuture<'a, u64> {
        self.redis.update(session, now)
    }
    fn delete<'a>(&'a self, key: SessionKey<'a>, now: i64) -> StoreFuture<'a, bool> {
        self.redis.delete(key, now)
    }
    fn get_all<'a>(
        &'a self,
        user_id: &'a str,
        session_type: &'a SessionType,
        now: i64,
    ) -> StoreFuture<'a, Vec<Session>> {
        self.redis.get_all(user_id, session_type, now)
    }
    fn delete_all<'a>(
        &'a self,
        user_id: &'a str,
        session_type: &'a SessionType,
    ) -> StoreFuture<'a, ()> {
        self.redis.delete_all(user_id, session_type)
    }
}

/// A (behind a shared manual clock) and B, whose cache lags (`Lagging`), on one Redis;
/// tokens are a new generation after 10 s.
fn lagging_pair(redis: RedisStore, clock: &ManualClock) -> (Charon, Charon, Lagging) {
    let lagging = Lagging::new(redis.clone());
    let build = |store: Arc<dyn SessionStore>| {
        Charon::builder()
            .issuer("session-cache")
            .base_secret("session cache tests secret, 32+ bytes")
            .clock(clock.clone())
            .new_cycle_after(Duration::from_secs(10))
            .store_arc(store)
            .build()
            .unwrap()
    };
    let a = build(Arc::new(redis));
    let b = build(Arc::new(lagging.clone()));
    (a, b, lagging)
}

async fn stored(charon: &Charon, session: &TestSession, clock: &ManualClock) -> Option<Session> {
    let s = session.tokens().session();
    charon.store().get(s.key(), clock.now()).await.unwrap()
}

/// A lagging pair on the shared standalone Redis, B's refresh app, and a session created
/// on A whose first state B's cache holds.
struct LaggingCase {
    clock: ManualClock,
    a: Charon,
    app_b: Router,
    lagging: Lagging,
    first: TestSession,
}

async fn lagging_case() -> LaggingCase {
    let clock = ManualClock::at_system_time();
    let (a, b, lagging) = lagging_pair(standalone(None).await, &clock);
    let app_b = refresh_app(&b);
    let user = format!("user-{}", random_id());
    let first = TestSession::create(&a, &user, Transport::Bearer)
        .await
        .unwrap();
    lagging.hold(first.tokens().session().clone());
    LaggingCase {
        clock,
        a,
        app_b,
        lagging,
        first,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_based_on_a_lagging_cache_reads_again_and_succeeds() {
    let LaggingCase {
        clock,
        a,
        app_b,
        first,
        ..
    } = lagging_case().await;
    clock.advance(1);
    // A rotates; B's cache still holds lock version 1.
    let second = first.refresh(&a).await.unwrap();
    assert_eq!(second.tokens().session().lock_version, 2);
    let (status, body) = read_session(&app_b, &second).await;
    assert_eq!(
        (status, body.split(' ').nth(1)),
        (StatusCode::OK, Some("1")),
        "B lags: {body}"
    );

    // B rotates with A's new token: the write based on version 1 fails its lock, B reads
    // version 2 again, the token is fresh for it, and the retried write wins.
    let (status, body) = rotate(&app_b, &second).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tokens: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(tokens["lock_version"], 3);
    let now = stored(&a, &second, &clock)
        .await
        .expect("the session lives");
    assert_eq!(now.lock_version, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_that_a_lagging_cache_lets_through_is_caught_by_the_write() {
    let LaggingCase {
        clock,
        a,
        app_b,
        first,
        ..
    } = lagging_case().await;
    // Two new generations on A: the first token is stale now (Charon keeps the current
    // and the previous generation).
    clock.advance(11);
    let second = first.refresh(&a).await.unwrap();
    clock.advance(11);
    let _third = second.refresh(&a).await.unwrap();

    // B's lagging cache still finds the first token fresh: a read-only route lets it
    // through (the documented window of `SessionRead::Cached`).
    let (status, body) = read_session(&app_b, &first).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A rotation with it fails its lock; read again, the token is stale: reuse. Refused,
    // and the session revoked (the default `ReuseDetection::RevokeSession`).
    let (status, body) = rotate(&app_b, &first).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("stale"), "{body}");
    assert!(
        stored(&a, &first, &clock).await.is_none(),
        "the session was revoked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_never_decided_by_the_cache() {
    let LaggingCase {
        clock,
        a,
        app_b,
        lagging,
        first: session,
    } = lagging_case().await;
    // Instead of the held first state: a cached copy that says the token is stale (its generations start in the future),
    // while Redis holds the real session, for which the token is fresh.
    let mut doctored = session.tokens().session().clone();
    doctored.tokens_fresh_from = clock.now() + 1_000;
    doctored.prev_tokens_fresh_from = clock.now() + 1_000;
    lagging.hold(doctored);
    // B reads the session again before refusing: the token is fresh, nothing is revoked,
    // and this request's session came from the store, not the cache.
    let (status, body) = read_session(&app_b, &session).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.ends_with("false"), "read again from the store: {body}");
    assert!(stored(&a, &session, &clock).await.is_some(), "not revoked");

    // A token stale for the real session too is refused, and the session revoked.
    let stale = session.clone();
    clock.advance(11);
    let next = session.refresh(&a).await.unwrap();
    clock.advance(11);
    let _ = next.refresh(&a).await.unwrap();
    let (status, body) = read_session(&app_b, &stale).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        stored(&a, &stale, &clock).await.is_none(),
        "revoked as reuse"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_the_cache_says_is_absent_is_read_from_the_store() {
    let LaggingCase {
        app_b,
        lagging,
        first: session,
        ..
    } = lagging_case().await;
    // B's cache answers "no such session" (a custom store's cache may keep an absence
    // until another instance's create reaches it): B asks the store before refusing.
    lagging.hold_absence();
    let (status, body) = read_session(&app_b, &session).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.ends_with("false"), "read again from the store: {body}");
}

/// How many pub/sub connections a node serves.
fn pubsub_clients(node: &RedisServer) -> usize {
    node.command(&["CLIENT", "LIST", "TYPE", "pubsub"])
        .unwrap()
        .lines()
        .filter(|l| l.contains("sub=1"))
        .count()
}

/// On a Cluster the cache subscribes to every seed node (a write's message comes straight
/// from the node that ran it); the loss of any one subscription empties and stops the
/// cache until all are subscribed again, and invalidations keep arriving afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_cache_subscribes_to_every_seed_and_resets_when_one_drops() {
    // An owned Cluster: the kills must not reach the other tests' subscribers.
    let cluster = RedisCluster::spawn();
    let a = RedisStore::builder_with_key(key())
        .connect_cluster(cluster.urls())
        .await
        .unwrap();
    let b = RedisStore::builder_with_key(key())
        .session_cache(cached())
        .connect_cluster(cluster.urls())
        .await
        .unwrap();
    let start = Instant::now();
    while !(stats(&b).active && cluster.nodes().iter().all(|n| pubsub_clients(n) == 1)) {
        assert!(start.elapsed() < LIMIT, "B never subscribed to every node");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = stats(&b);

    // Kill the subscription on one node only.
    let killed = cluster.nodes()[1]
        .command(&["CLIENT", "KILL", "TYPE", "pubsub"])
        .unwrap();
    assert_eq!(killed.trim(), "1", "one subscriber killed");
    let start = Instant::now();
    while !(stats(&b).resets > before.resets
        && stats(&b).active
        && cluster.nodes().iter().all(|n| pubsub_clients(n) == 1))
    {
        assert!(
            start.elapsed() < LIMIT,
            "B never reset and subscribed again"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // In use again: a session is served from the cache, and A's delete reaches B.
    let session = new_session(&format!("user-{}", random_id()), now());
    a.create(&session, None, now()).await.unwrap();
    let start = Instant::now();
    loop {
        assert!(get_b(&b, &session).await.is_some());
        let hits = stats(&b).hits;
        assert!(get_b(&b, &session).await.is_some());
        if stats(&b).hits > hits {
            break;
        }
        assert!(start.elapsed() < LIMIT, "B never cached the session again");
    }
    delete(&a, &session).await;
    let start = Instant::now();
    while get_b(&b, &session).await.is_some() {
        assert!(start.elapsed() < LIMIT, "A's delete never reached B");
        tokio::task::yield_now().await;
    }
}
