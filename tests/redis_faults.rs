//! Redis faults at the HTTP level, through the demo router (`examples/demo/app.rs`) on a
//! `RedisStore` with short timeouts (connect 200 ms, response 300 ms).
//!
//! Every test spawns its own `redis-server` (see `tests/support/redis.rs`), so killing,
//! pausing or filling it disturbs no other test. What is checked:
//!
//! - killed: requests that need the store answer 503 (login and logout with the session
//!   API's `Store` error, refresh with the layer's `store_unavailable` and its
//!   `charon.token.invalid` event); access-token routes keep answering 200;
//! - restarted on the same port: the same `Charon` (never rebuilt) logs in and refreshes again;
//! - crash with `appendfsync always`: every create and refresh Redis acknowledged is there
//!   after the restart, at the acknowledged lock version;
//! - `SCRIPT FLUSH`: the next writes succeed, nothing visible to the client;
//! - `CLIENT PAUSE` and `DEBUG SLEEP` past the response timeout: 503, then recovery;
//! - `maxmemory` with `noeviction`: login fails with `Store` (source `OutOfMemory`), reads
//!   and logout still work;
//! - a least-privilege ACL user (the one `SECURITY.md` documents) runs every operation.
//!
//! No timings are asserted: every request runs under a generous 10 s guard whose only job is
//! to turn a hang into a failure.
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

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use charon_auth::error::{SessionErrorKind, StoreErrorKind};
use charon_auth::layer::Revocation;
use charon_auth::session::{SessionKey, random_id};
use charon_auth::store::redis::{RedisStore, SigningKey};
use charon_auth::telemetry::{EventKind, RecordedEvent, RecordingHandler};
use charon_auth::{AuthErrorKind, Charon, CreateSession, ManualClock, SessionType, Transport};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use support::redis::RedisServer;
use tower::ServiceExt as _;

/// Connect timeout of the store under test.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);
/// Response timeout of the store under test.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(300);
/// Not a timing assertion: a request still running after this long is a hang.
const HANG_GUARD: Duration = Duration::from_secs(10);

/// The `redis-server` arguments of a server whose acknowledged writes survive SIGKILL.
const DURABLE: [&str; 4] = ["--appendonly", "yes", "--appendfsync", "always"];

/// The least-privilege user documented in `SECURITY.md` (standalone; Cluster adds
/// `+cluster|slots`), for the default prefix `charon:`.
const ACL_SETUSER: [&str; 26] = [
    "ACL",
    "SETUSER",
    "charon",
    "on",
    ">charon-test-password",
    "resetkeys",
    "~charon:*",
    "resetchannels",
    "&charon:invalidations",
    "-@all",
    "+evalsha",
    "+script|load",
    "+hget",
    "+hgetall",
    "+del",
    "+hset",
    "+hdel",
    "+zadd",
    "+zrem",
    "+zscore",
    "+zrange",
    "+zrangebyscore",
    "+zcount",
    "+expire",
    "+ping",
    "+publish",
];

/// Run `fut` under [`HANG_GUARD`]; firing fails the test.
async fn no_hang<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {HANG_GUARD:?} (hang)"))
}

/// One app on its own Redis.
struct Harness {
    app: Router,
    charon: Charon,
    clock: ManualClock,
    events: RecordingHandler,
}

async fn connect(url: &str) -> RedisStore {
    RedisStore::builder_with_key(SigningKey::from_bytes([7; 32]))
        .connect_timeout(CONNECT_TIMEOUT)
        .response_timeout(RESPONSE_TIMEOUT)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

async fn harness(url: &str) -> Harness {
    let clock = ManualClock::at_system_time();
    let events = RecordingHandler::default();
    let charon = Charon::builder()
        .issuer("fault-tests")
        .base_secret("fault tests secret, at least thirty-two bytes")
        .access_ttl(Duration::from_secs(60))
        .refresh_ttl(Duration::from_secs(3600))
        .store(connect(url).await)
        .clock(clock.clone())
        .on_event(events.clone())
        .build()
        .unwrap();
    Harness {
        // The token-only access path (the session check has its own tests).
        app: app::router(&charon, Arc::new(String::new), Revocation::Off),
        charon,
        clock,
        events,
    }
}

/// What a client keeps: body tokens and cookies.
#[derive(Clone, Debug, Default)]
struct Client {
    access: Option<String>,
    refresh: Option<String>,
    cookies: BTreeMap<String, String>,
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Harness {
    async fn send(&self, what: &str, req: Request<Body>) -> (Answer, Vec<String>) {
        let res = no_hang(what, self.app.clone().oneshot(req)).await.unwrap();
        let status = res.status();
        let set_cookies = res
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let bytes = no_hang(what, res.into_body().collect())
            .await
            .unwrap()
            .to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (Answer { status, body }, set_cookies)
    }

    /// `POST /login` for `user`; on 200 the returned client holds the tokens.
    async fn login(&self, user: &str, transport: Transport) -> (Answer, Client) {
        let req = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/json")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(
                json!({"user_id": user, "transport": transport.as_str()}).to_string(),
            ))
            .unwrap();
        let mut client = Client::default();
        let (answer, cookies) = self.send("POST /login", req).await;
        client.absorb(&answer, &cookies);
        (answer, client)
    }

    /// A login that must succeed.
    async fn logged_in(&self, user: &str, transport: Transport) -> Client {
        let (answer, client) = self.login(user, transport).await;
        assert_eq!(answer.status, StatusCode::OK, "login: {:?}", answer.body);
        client
    }

    /// `method path` with the client's access token (its refresh token for `/refresh`).
    async fn call(&self, client: &mut Client, method: &str, path: &str) -> Answer {
        let token = if path == "/refresh" {
            client.refresh.as_ref()
        } else {
            client.access.as_ref()
        };
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("sec-fetch-site", "same-origin");
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(cookies) = support::cookie_jar::cookie_header(&client.cookies) {
            b = b.header(header::COOKIE, cookies);
        }
        let what = format!("{method} {path}");
        let (answer, cookies) = self.send(&what, b.body(Body::empty()).unwrap()).await;
        client.absorb(&answer, &cookies);
        answer
    }

    /// Retry `path` until it answers 200, requiring 503 for every failed attempt (a store
    /// still coming back is "unavailable", never "unauthorized"). Panics after 100 tries.
    async fn until_ok(&self, client: &mut Client, method: &str, path: &str) -> Answer {
        for _ in 0..100 {
            let answer = self.call(client, method, path).await;
            if answer.status == StatusCode::OK || answer.status == StatusCode::NO_CONTENT {
                return answer;
            }
            assert_eq!(
                answer.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{method} {path} while the store recovers: {:?}",
                answer.body
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{method} {path}: the store did not recover");
    }

    /// A login retried until the store answers (503 meanwhile, nothing else).
    async fn login_until_ok(&self, user: &str) -> Client {
        for _ in 0..100 {
            let (answer, client) = self.login(user, Transport::Bearer).await;
            if answer.status == StatusCode::OK {
                return client;
            }
            assert_eq!(
                answer.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "login while the store recovers: {:?}",
                answer.body
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("login: the store did not recover");
    }

    fn take_events(&self) -> Vec<RecordedEvent> {
        self.events.take()
    }

    /// Asserts the store-down answers of every route. `client` is refreshed (and must keep
    /// its tokens); `victim` is logged out. A 503 does not say the write was not applied:
    /// a paused server runs the queued logout once it resumes, hence a separate session.
    async fn assert_store_down(&self, user: &str, client: &Client, victim: &Client) {
        self.take_events();
        // Login needs the store: the session API's Store error, 503.
        let (answer, _) = self.login(user, Transport::Bearer).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
        assert_eq!(answer.body["error"], "session store unavailable");
        assert!(
            self.take_events()
                .iter()
                .all(|e| e.kind != EventKind::SessionCreate),
            "no session.create for a failed login"
        );

        // Refresh needs the store in its layer: 503 with kind store_unavailable, and a
        // token.invalid event with that kind (never 401, never pass-through).
        let mut c = client.clone();
        let answer = self.call(&mut c, "POST", "/refresh").await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
        assert_eq!(answer.body["kind"], "store_unavailable");
        assert_eq!(answer.body["error"], "session store unavailable");
        let ev = self.take_events();
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0].kind, EventKind::TokenInvalid);
        assert_eq!(ev[0].error_kind, Some(AuthErrorKind::StoreUnavailable));
        assert_eq!(ev[0].session_loaded, Some(false));
        assert_eq!(ev[0].token_type.as_deref(), Some("refresh"));
        assert_eq!(c.refresh, client.refresh, "no new tokens on 503");

        // The access path never touches the store: 200.
        let answer = self.call(&mut c, "GET", "/me").await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        assert_eq!(answer.body["user_id"], user);
        let ev = self.take_events();
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0].kind, EventKind::TokenValid);

        // Access routes whose handler needs the store: the session API's 503.
        let mut v = victim.clone();
        for (method, path) in [("GET", "/sessions"), ("POST", "/logout")] {
            let answer = self.call(&mut v, method, path).await;
            assert_eq!(
                answer.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{method} {path}: {answer:?}"
            );
            assert_eq!(answer.body["error"], "session store unavailable");
        }
        self.take_events();
    }
}

impl Client {
    fn absorb(&mut self, answer: &Answer, set_cookies: &[String]) {
        support::cookie_jar::absorb_set_cookies(&mut self.cookies, set_cookies);
        if answer.status == StatusCode::OK
            && let Some((access, refresh)) = support::cookie_jar::body_tokens(&answer.body)
        {
            self.access = access;
            self.refresh = refresh;
        }
    }

    /// The `sid` claim of the refresh token.
    fn session_id(&self) -> String {
        use base64::Engine as _;
        let token = self.refresh.as_deref().unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        claims["sid"].as_str().unwrap().to_owned()
    }
}

/// Killed mid-run: 503 for what needs the store, 200 on the access path; restarted on the
/// same port: the same app (same `Charon`, same `RedisStore`) works again, and the
/// sessions written before the crash (AOF, fsync always) are still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_answers_503_and_the_app_recovers_after_restart() {
    let mut server = RedisServer::spawn_with_args(&DURABLE);
    let h = harness(&server.url()).await;
    let user = random_id();
    let bearer = h.logged_in(&user, Transport::Bearer).await;
    let mut cookie = h.logged_in(&user, Transport::Cookie).await;
    let victim = h.logged_in(&user, Transport::Bearer).await;

    server.stop();
    h.assert_store_down(&user, &bearer, &victim).await;
    // Cookie transport: same answers.
    let answer = h.call(&mut cookie, "POST", "/refresh").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.body["kind"], "store_unavailable");
    assert_eq!(
        h.call(&mut cookie, "GET", "/me").await.status,
        StatusCode::OK
    );
    // Still down on a second round (the reconnect loop does not turn into a hang).
    h.assert_store_down(&user, &bearer, &victim).await;

    server.restart();
    // No rebuild: the same router and Charon. The first requests may still see the
    // reconnect in progress (503), never anything else.
    let mut fresh = h.login_until_ok(&user).await;
    let mut bearer = bearer;
    h.clock.advance(30);
    h.until_ok(&mut bearer, "POST", "/refresh").await;
    assert_eq!(
        h.call(&mut bearer, "GET", "/me").await.status,
        StatusCode::OK
    );
    let answer = h.call(&mut cookie, "POST", "/refresh").await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    // Every session written before the crash is back (the logout attempted while the
    // server was dead never reached it).
    let list = h.call(&mut fresh, "GET", "/sessions").await;
    assert_eq!(list.status, StatusCode::OK);
    let ids: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap())
        .collect();
    for c in [&bearer, &cookie, &victim, &fresh] {
        assert!(ids.contains(&c.session_id().as_str()), "{ids:?}");
    }
    assert_eq!(
        h.call(&mut bearer, "POST", "/logout").await.status,
        StatusCode::NO_CONTENT
    );
}

/// What one writer saw: its session and how many writes Redis acknowledged. `Debug`
/// shows the session id, never the tokens.
struct Written {
    client: Client,
    user: String,
    /// Lock version after the last acknowledged write (create = 1, +1 per refresh).
    acked_version: u64,
    /// Whether a write was in flight when the server died (its outcome is unknown: it may
    /// have been applied and fsynced without the reply reaching us).
    in_doubt: bool,
}

impl std::fmt::Debug for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Written")
            .field("session_id", &self.client.session_id())
            .field("user", &self.user)
            .field("acked_version", &self.acked_version)
            .field("in_doubt", &self.in_doubt)
            .finish()
    }
}

/// SIGKILL while writers create and refresh sessions, with `appendfsync always`: after the
/// restart every acknowledged create and refresh is there, at the acknowledged lock
/// version (or one more, only for a write whose reply was lost in the crash).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_crash() {
    const WRITERS: usize = 4;
    const ACKS_BEFORE_KILL: usize = 60;
    let mut server = RedisServer::spawn_with_args(&DURABLE);
    let h = Arc::new(harness(&server.url()).await);
    let acks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let h = Arc::clone(&h);
        let acks = Arc::clone(&acks);
        tasks.push(tokio::spawn(async move {
            let mut written: Vec<Written> = Vec::new();
            // Each writer: log in, refresh a few times, log in again... until a write fails.
            loop {
                let user = random_id();
                let (answer, mut client) = h.login(&user, Transport::Bearer).await;
                if answer.status != StatusCode::OK {
                    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
                    return written;
                }
                acks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut w = Written {
                    client: client.clone(),
                    user,
                    acked_version: 1,
                    in_doubt: false,
                };
                for _ in 0..5 {
                    let answer = h.call(&mut client, "POST", "/refresh").await;
                    if answer.status != StatusCode::OK {
                        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
                        // The layer's read failed (nothing written) or the write's reply was
                        // lost: in doubt either way.
                        w.in_doubt = true;
                        written.push(w);
                        return written;
                    }
                    acks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    w.acked_version += 1;
                    w.client = client.clone();
                }
                written.push(w);
            }
        }));
    }
    while acks.load(std::sync::atomic::Ordering::Relaxed) < ACKS_BEFORE_KILL {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::task::block_in_place(|| server.stop());
    let mut all = Vec::new();
    for t in tasks {
        all.extend(no_hang("writer", t).await.unwrap());
    }
    assert!(all.len() >= WRITERS, "{all:?}");

    tokio::task::block_in_place(|| server.restart());
    let ty = SessionType::default();
    let store = h.charon.store();
    for w in &all {
        let sid = w.client.session_id();
        let key = SessionKey::new(&sid, &w.user, &ty);
        let mut stored = None;
        for _ in 0..100 {
            match no_hang("get", store.get(key, h.charon.now())).await {
                Ok(s) => {
                    stored = Some(s);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let stored = stored
            .expect("store did not recover")
            .unwrap_or_else(|| panic!("acknowledged session lost: {w:?}"));
        if w.in_doubt {
            assert!(
                stored.lock_version == w.acked_version
                    || stored.lock_version == w.acked_version + 1,
                "lock version {} after acknowledged {}: {w:?}",
                stored.lock_version,
                w.acked_version
            );
        } else {
            assert_eq!(stored.lock_version, w.acked_version, "{w:?}");
            // The last acknowledged refresh token is the session's current one.
            let mut c = w.client.clone();
            let answer = h.call(&mut c, "POST", "/refresh").await;
            assert_eq!(answer.status, StatusCode::OK, "{w:?}: {answer:?}");
        }
    }
}

/// After `SCRIPT FLUSH` (as after a failover to a replica that never saw the scripts), the
/// next writes reload their script: login, refresh and logout all succeed at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_flush_is_transparent_over_http() {
    let server = RedisServer::spawn();
    let h = harness(&server.url()).await;
    let user = random_id();
    let mut c = h.logged_in(&user, Transport::Bearer).await;
    server.command(&["SCRIPT", "FLUSH"]).unwrap();
    h.logged_in(&user, Transport::Bearer).await;
    server.command(&["SCRIPT", "FLUSH"]).unwrap();
    h.clock.advance(30);
    let answer = h.call(&mut c, "POST", "/refresh").await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    server.command(&["SCRIPT", "FLUSH"]).unwrap();
    assert_eq!(
        h.call(&mut c, "POST", "/logout").await.status,
        StatusCode::NO_CONTENT
    );
    let list = h.call(&mut c, "GET", "/sessions").await;
    assert_eq!(list.body.as_array().unwrap().len(), 1, "{:?}", list.body);
}

/// `CLIENT PAUSE` past the response timeout: 503 (no hang), the access path answers, and
/// the app recovers once the pause ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_pause_past_the_timeout_answers_503_then_recovers() {
    let server = RedisServer::spawn();
    let h = harness(&server.url()).await;
    let user = random_id();
    let mut c = h.logged_in(&user, Transport::Bearer).await;
    let victim = h.logged_in(&user, Transport::Bearer).await;
    // Long enough for every request below to run into it (each ends after at most
    // connect + response timeout); the pause is in force once the reply arrives.
    server.command(&["CLIENT", "PAUSE", "6000", "ALL"]).unwrap();
    h.assert_store_down(&user, &c, &victim).await;
    // `PAUSE ALL` holds back `UNPAUSE` too (on Redis 7.0): with the store failing fast the
    // requests above may end well before the pause does, so wait for the reply.
    server
        .command_with_timeout(&["CLIENT", "UNPAUSE"], Duration::from_secs(15))
        .unwrap();
    h.clock.advance(30);
    h.until_ok(&mut c, "POST", "/refresh").await;
    h.login_until_ok(&user).await;
}

/// `DEBUG SLEEP` (the whole server busy) past the response timeout: 503, no hang, and
/// recovery once it wakes up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_sleep_past_the_timeout_answers_503_then_recovers() {
    let server = Arc::new(RedisServer::spawn_with_args(&[
        "--enable-debug-command",
        "local",
    ]));
    let h = harness(&server.url()).await;
    let user = random_id();
    let mut c = h.logged_in(&user, Transport::Bearer).await;
    let sleeper = {
        let server = Arc::clone(&server);
        std::thread::spawn(move || server.command(&["DEBUG", "SLEEP", "4"]))
    };
    // Wait until the server is asleep (not a timing assertion: just ordering).
    let mut asleep = false;
    for _ in 0..200 {
        if !server.responds_within(Duration::from_millis(100)) {
            asleep = true;
            break;
        }
    }
    assert!(asleep, "DEBUG SLEEP did not start");
    let (answer, _) = h.login(&user, Transport::Bearer).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    h.take_events();
    let mut probe = c.clone();
    let answer = h.call(&mut probe, "POST", "/refresh").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert_eq!(answer.body["kind"], "store_unavailable");
    let ev = h.take_events();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].error_kind, Some(AuthErrorKind::StoreUnavailable));
    assert_eq!(
        h.call(&mut probe, "GET", "/me").await.status,
        StatusCode::OK
    );

    tokio::task::block_in_place(|| sleeper.join().unwrap()).unwrap();
    h.clock.advance(30);
    h.until_ok(&mut c, "POST", "/refresh").await;
    h.login_until_ok(&user).await;
}

/// `maxmemory` reached with `noeviction`: creating a session fails with a `Store` error
/// whose source says out of memory (503 over HTTP); reads (access path, session list,
/// the refresh layer's load) still work, and so does logout, which only frees memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_memory_refuses_writes_and_keeps_reads() {
    let server = RedisServer::spawn_with_args(&["--maxmemory-policy", "noeviction"]);
    let h = harness(&server.url()).await;
    let user = random_id();
    let mut c = h.logged_in(&user, Transport::Bearer).await;
    let mut other = h.logged_in(&user, Transport::Bearer).await;
    server
        .command(&["CONFIG", "SET", "maxmemory", "1"])
        .unwrap();

    // Create: a clear error for the application, 503 for the client.
    let err = no_hang(
        "create_session",
        h.charon.create_session(
            CreateSession::new(&user, Transport::Bearer),
            charon_auth::RequestContext::no_request(),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), SessionErrorKind::Store, "{err:?}");
    let store_err = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<charon_auth::error::StoreError>())
        .unwrap_or_else(|| panic!("source is the StoreError: {err:?}"));
    assert_eq!(store_err.kind(), StoreErrorKind::OutOfMemory);
    let (answer, _) = h.login(&user, Transport::Bearer).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");

    // Reads work.
    assert_eq!(h.call(&mut c, "GET", "/me").await.status, StatusCode::OK);
    let list = h.call(&mut c, "GET", "/sessions").await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(list.body.as_array().unwrap().len(), 2);
    // Refresh: the layer loads the session (a read, token.valid), the write is refused.
    h.take_events();
    h.clock.advance(30);
    let before = c.refresh.clone();
    let answer = h.call(&mut c, "POST", "/refresh").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert_eq!(answer.body["error"], "session store unavailable");
    let kinds: Vec<_> = h.take_events().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::TokenValid]);
    assert_eq!(c.refresh, before);
    // Logout frees memory: allowed under noeviction.
    let answer = h.call(&mut other, "POST", "/logout").await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{answer:?}");

    // Memory back: the refused refresh can be retried with the same token.
    server
        .command(&["CONFIG", "SET", "maxmemory", "0"])
        .unwrap();
    let answer = h.call(&mut c, "POST", "/refresh").await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    h.logged_in(&user, Transport::Bearer).await;
}

/// The least-privilege ACL user of `SECURITY.md` (only the commands the store sends, only
/// keys under `charon:`) runs every operation, including the script reload after
/// `SCRIPT FLUSH`; it can touch nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_privilege_acl_user_runs_every_operation() {
    let server = RedisServer::spawn();
    server.command(&ACL_SETUSER).unwrap();
    let url = format!(
        "redis://charon:charon-test-password@127.0.0.1:{}",
        server.port()
    );
    let h = harness(&url).await;
    let user = random_id();
    let mut c = h.logged_in(&user, Transport::Bearer).await;
    let mut second = h.logged_in(&user, Transport::Cookie).await;
    server.command(&["SCRIPT", "FLUSH"]).unwrap();
    h.clock.advance(30);
    let answer = h.call(&mut c, "POST", "/refresh").await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let list = h.call(&mut c, "GET", "/sessions").await;
    assert_eq!(list.body.as_array().unwrap().len(), 2, "{list:?}");
    assert_eq!(
        h.call(&mut second, "POST", "/logout").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.call(&mut c, "POST", "/logout-all").await.status,
        StatusCode::NO_CONTENT
    );
    let list = h.call(&mut c, "GET", "/sessions").await;
    assert_eq!(list.body, json!([]));
    // Every type of a user: the type index read, and a delete_all per type.
    h.logged_in(&user, Transport::Bearer).await;
    assert_eq!(
        h.charon
            .list_all_sessions_of_user(&user)
            .await
            .unwrap()
            .len(),
        1
    );
    h.charon.revoke_all_sessions_of_user(&user).await.unwrap();
    assert!(
        h.charon
            .list_all_sessions_of_user(&user)
            .await
            .unwrap()
            .is_empty()
    );

    // Nothing outside the prefix, no other command.
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let denied: redis::RedisResult<Option<String>> = redis::cmd("HGET")
        .arg("other:key")
        .arg("f")
        .query_async(&mut conn)
        .await;
    assert!(denied.is_err(), "key outside the prefix: {denied:?}");
    let denied: redis::RedisResult<String> = redis::cmd("FLUSHALL").query_async(&mut conn).await;
    assert!(denied.is_err(), "FLUSHALL: {denied:?}");
    let denied: redis::RedisResult<redis::Value> = redis::cmd("EVAL")
        .arg("return 1")
        .arg(0)
        .query_async(&mut conn)
        .await;
    assert!(denied.is_err(), "EVAL: {denied:?}");
}
