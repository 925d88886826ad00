//! Fail fast on a real `redis-server`: once the store has noticed the server is gone,
//! calls fail at once with `Unavailable` (and a retry-after hint) instead of waiting for
//! their timeouts; a background `PING` closes the breaker after a restart, with no new
//! store. One `charon::store` warning when it goes down, one when it recovers; failures
//! counted in `charon_store_errors_total{kind}` (feature `metrics`).
//!
//! No timing is asserted: the breaker's state and the error kinds are.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use charon_auth::error::StoreErrorKind;
use charon_auth::session::{SessionKey, random_id};
use charon_auth::store::SessionStore;
use charon_auth::store::redis::{FailFast, RedisStore, RedisStoreBuilder, SigningKey};
use support::contract::{new_session, now, stype};
use support::redis::RedisServer;

const PROBE: Duration = Duration::from_millis(100);
/// Not a timing assertion: how many calls a test makes before giving up on a state.
const ATTEMPTS: usize = 400;

fn builder() -> RedisStoreBuilder {
    RedisStore::builder_with_key(SigningKey::from_bytes([7; 32]))
        .connect_timeout(Duration::from_millis(200))
        .response_timeout(Duration::from_millis(200))
}

/// Captured `tracing` output (the fmt layer writing into a buffer).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Wait (by polling the store's own state, at most `ATTEMPTS` polls) until `ok`.
async fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..ATTEMPTS {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what}: not reached");
}

#[tokio::test]
async fn known_down_store_fails_fast_and_recovers_without_a_new_store() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_env_filter("warn")
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).unwrap();

    let mut server = RedisServer::spawn();
    let store = builder()
        .fail_fast(FailFast::new().probe_interval(PROBE))
        .connect(&server.url())
        .await
        .unwrap();
    let clone = store.clone();
    let t = now();
    let session = new_session(&random_id(), &stype("full"), t);
    store.create(&session, None, t).await.unwrap();
    let key = SessionKey::new(&session.id, &session.user_id, &session.session_type);
    assert!(store.is_available());

    server.stop();
    // The first calls find the connection gone (a backend error or a timeout); from then on
    // every call fails at once with Unavailable.
    let mut first_kinds = Vec::new();
    let mut unavailable = None;
    for _ in 0..ATTEMPTS {
        match store.get(key, t).await {
            Err(e) if e.kind() == StoreErrorKind::Unavailable => {
                unavailable = Some(e);
                break;
            }
            Err(e) => first_kinds.push(e.kind()),
            Ok(_) => panic!("read served by a killed server"),
        }
    }
    let e = unavailable.expect("the store never noticed the server is down");
    assert!(!first_kinds.is_empty());
    assert!(
        first_kinds
            .iter()
            .all(|k| matches!(k, StoreErrorKind::Backend | StoreErrorKind::Timeout)),
        "{first_kinds:?}"
    );
    assert_eq!(e.retry_after(), Some(PROBE));
    assert!(std::error::Error::source(&e).is_some());
    assert!(!store.is_available());
    // Clones share the breaker; every operation fails fast while it is open.
    assert!(!clone.is_available());
    let err = clone.ping().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unavailable);
    let err = clone.update(&session, t).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unavailable);
    let err = clone.delete(key, t).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unavailable);
    assert!(err.is_backend());

    server.restart();
    eventually("the probe closes the breaker", || store.is_available()).await;
    // The same store works again (the session is gone: the server had no persistence).
    assert!(store.get(key, t).await.unwrap().is_none());
    store.create(&session, None, t).await.unwrap();
    assert!(clone.get(key, t).await.unwrap().is_some());

    // One warning down, one up, under the fixed target.
    let logs = captured.text();
    let down = logs.matches("session store unavailable").count();
    let up = logs.matches("session store recovered").count();
    assert_eq!((down, up), (1, 1), "{logs}");
    assert!(logs.contains("charon::store"), "{logs}");

    // Failures counted by kind.
    let counted = |kind: &str| -> u64 {
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(key, ..)| {
                key.key().name() == "charon_store_errors_total"
                    && key
                        .key()
                        .labels()
                        .any(|l| l.key() == "kind" && l.value() == kind)
            })
            .map(|(.., value)| match value {
                metrics_util::debugging::DebugValue::Counter(n) => n,
                _ => 0,
            })
            .sum()
    };
    assert!(counted("unavailable") >= 4);
    let _ = std::io::stdout().flush();
}

#[tokio::test]
async fn fail_fast_off_waits_for_redis_every_time_and_still_warns_once_each_way() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_env_filter("warn")
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut server = RedisServer::spawn();
    let store = builder()
        .fail_fast(FailFast::off())
        .connect(&server.url())
        .await
        .unwrap();
    server.stop();
    let t = now();
    let session = new_session(&random_id(), &stype("full"), t);
    let key = SessionKey::new(&session.id, &session.user_id, &session.session_type);
    for _ in 0..5 {
        let e = store.get(key, t).await.unwrap_err();
        assert_ne!(e.kind(), StoreErrorKind::Unavailable);
    }
    assert!(store.is_available());
    assert!(!store.fail_fast().is_enabled());
    assert_eq!(
        captured.text().matches("session store unavailable").count(),
        1,
        "{}",
        captured.text()
    );

    // Back up: the first success logs the recovery (the client reconnects on its own).
    server.restart();
    let mut recovered = false;
    for _ in 0..ATTEMPTS {
        if store.get(key, t).await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(recovered, "the store never reached the restarted server");
    let logs = captured.text();
    let down = logs.matches("session store unavailable").count();
    let up = logs.matches("session store recovered").count();
    assert_eq!((down, up), (1, 1), "{logs}");
    assert!(logs.contains("fail fast off"), "{logs}");
}

#[tokio::test]
async fn replies_from_a_live_server_never_open_the_breaker() {
    let server =
        RedisServer::spawn_with_args(&["--maxmemory", "1", "--maxmemory-policy", "noeviction"]);
    let store = builder()
        .fail_fast(FailFast::new().after_failures(1).probe_interval(PROBE))
        .connect(&server.url())
        .await
        .unwrap();
    let t = now();
    for _ in 0..5 {
        let session = new_session(&random_id(), &stype("full"), t);
        let e = store.create(&session, None, t).await.unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::OutOfMemory);
    }
    assert!(store.is_available());
}

#[tokio::test]
async fn invalid_fail_fast_settings_are_refused() {
    for ff in [
        FailFast::new().after_failures(0),
        FailFast::new().probe_interval(Duration::ZERO),
    ] {
        let err = builder()
            .fail_fast(ff)
            .connect("redis://127.0.0.1:1")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), charon_auth::error::ConfigErrorKind::Invalid);
    }
}
