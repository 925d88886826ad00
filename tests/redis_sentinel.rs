//! Sentinel on real processes (`tests/support/redis.rs`, `SentinelSet`): a master, a
//! replica and three sentinels with short failure detection. Under a bounded concurrent
//! load of store operations the master is killed; a sentinel promotes the replica and the
//! same store follows it without a restart. Operations fail with a store error during the
//! window (never a panic) and succeed afterwards; no acknowledged durable delete is lost.
//! Also: the store contract through Sentinel.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use charon_auth::error::{ConfigErrorKind, StoreErrorKind};
use charon_auth::session::{Session, SessionKey, random_id};
use charon_auth::store::SessionStore;
use charon_auth::store::redis::{
    DurableDeletes, FailFast, RedisStore, RedisStoreBuilder, SigningKey,
};
use support::contract::{new_session, now, stype};
use support::redis::{SENTINEL_MASTER, SentinelSet, wait_for};

/// Load tasks.
const TASKS: usize = 8;
/// Not a timing assertion: a phase not reached within this long is a hang.
const GUARD: Duration = Duration::from_secs(60);

fn builder() -> RedisStoreBuilder {
    RedisStore::builder_with_key(SigningKey::from_bytes([7; 32]))
        .connect_timeout(Duration::from_millis(200))
        .response_timeout(Duration::from_millis(300))
}

fn shared_set() -> &'static SentinelSet {
    static SET: OnceLock<SentinelSet> = OnceLock::new();
    SET.get_or_init(SentinelSet::spawn)
}

async fn sentinel_store() -> Arc<dyn SessionStore> {
    let store = builder()
        .durable_deletes(DurableDeletes::replicas(1).timeout(Duration::from_millis(500)))
        .connect_sentinel(shared_set().sentinel_addrs(), SENTINEL_MASTER)
        .await
        .unwrap_or_else(|e| panic!("connect through sentinel: {e}"));
    Arc::new(store)
}

mod redis_sentinel_contract {
    crate::support::contract::store_contract_tests!(crate::sentinel_store());
}

#[derive(Default)]
struct Tally {
    /// Sessions whose delete was acknowledged.
    deleted: Mutex<Vec<Session>>,
    /// Failed operations by error kind.
    errors: Mutex<BTreeMap<&'static str, usize>>,
    /// Successful operations.
    ok: AtomicUsize,
}

impl Tally {
    fn error(&self, kind: StoreErrorKind) {
        *self
            .errors
            .lock()
            .unwrap()
            .entry(kind.as_str())
            .or_default() += 1;
    }
}

/// create → get → delete, with fresh sessions, until `stop`.
async fn load(store: RedisStore, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let ty = stype("full");
    while !stop.load(Ordering::Relaxed) {
        let t = now();
        let session = new_session(&random_id(), &ty, t);
        let key = SessionKey::new(&session.id, &session.user_id, &ty);
        match store.create(&session, None, t).await {
            Ok(_) => {
                tally.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tally.error(e.kind());
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        }
        match store.get(key, t).await {
            Ok(_) => {
                tally.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => tally.error(e.kind()),
        }
        match store.delete(key, t).await {
            Ok(_) => {
                tally.ok.fetch_add(1, Ordering::Relaxed);
                tally.deleted.lock().unwrap().push(session);
            }
            Err(e) => tally.error(e.kind()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_killed_under_load_the_store_follows_the_promoted_replica() {
    let mut set = SentinelSet::spawn();
    let old_port = set.master_port().unwrap();
    let store = builder()
        .durable_deletes(DurableDeletes::replicas(1).timeout(Duration::from_millis(500)))
        .fail_fast(FailFast::new().probe_interval(Duration::from_millis(100)))
        .connect_sentinel(set.sentinel_addrs(), SENTINEL_MASTER)
        .await
        .unwrap();
    assert_eq!(
        store.sentinel_master(),
        Some(format!("127.0.0.1:{old_port}"))
    );

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| tokio::spawn(load(store.clone(), tally.clone(), stop.clone())))
        .collect();
    let deleted_len = |t: &Tally| t.deleted.lock().unwrap().len();
    let until = |what: &'static str, ok: Box<dyn Fn() -> bool + Send>| async move {
        tokio::task::spawn_blocking(move || wait_for(GUARD, what, ok))
            .await
            .unwrap();
    };

    // Healthy load first.
    {
        let tally = tally.clone();
        until(
            "deletes before the kill",
            Box::new(move || deleted_len(&tally) >= 100),
        )
        .await;
    }
    let before_kill = deleted_len(&tally);
    set.servers[0].stop();

    // A sentinel promotes the replica.
    let new_port = set.servers[1].port();
    {
        let addrs: Vec<_> = set.sentinels.iter().map(|s| s.port()).collect();
        until(
            "sentinel promotes the replica",
            Box::new(move || {
                addrs.iter().any(|p| {
                    support::redis::RedisServer::command_on(*p, &["INFO", "sentinel"])
                        .is_ok_and(|i| i.contains(&format!("address=127.0.0.1:{new_port}")))
                })
            }),
        )
        .await;
    }
    // The old master comes back empty; the sentinels turn it into a replica of the new
    // master, so durable deletes (WAIT 1) can succeed again.
    set.servers[0].restart();
    {
        let store = store.clone();
        until(
            "the store follows the new master",
            Box::new(move || store.sentinel_master() == Some(format!("127.0.0.1:{new_port}"))),
        )
        .await;
    }
    let at_switch = deleted_len(&tally);
    {
        let tally = tally.clone();
        until(
            "durable deletes succeed on the new master",
            Box::new(move || deleted_len(&tally) >= at_switch + 100),
        )
        .await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("a load task panicked");
    }

    let errors = tally.errors.lock().unwrap().clone();
    eprintln!(
        "sentinel failover: {} operations ok, failed by kind {errors:?}; {before_kill} durable \
         deletes before the kill, {} in all",
        tally.ok.load(Ordering::Relaxed),
        deleted_len(&tally)
    );
    assert!(
        !errors.is_empty(),
        "no operation failed during the failover"
    );
    for kind in errors.keys() {
        assert!(
            ["backend", "timeout", "unavailable", "not_durable"].contains(kind),
            "unexpected error kind {kind}: {errors:?}"
        );
    }
    assert!(before_kill >= 100);
    // No acknowledged (durable) delete is lost: every deleted session is absent from the
    // new master.
    let deleted = tally.deleted.lock().unwrap().clone();
    let check = builder().connect(&set.servers[1].url()).await.unwrap();
    let t = now();
    for s in &deleted {
        let key = SessionKey::new(&s.id, &s.user_id, &s.session_type);
        assert!(
            check.get(key, t).await.unwrap().is_none(),
            "acknowledged delete of {} lost in the failover",
            s.id
        );
    }
}

#[tokio::test]
async fn bad_sentinel_settings_are_config_errors() {
    for (sentinels, master) in [
        (vec![], SENTINEL_MASTER),
        (vec!["127.0.0.1".to_owned()], SENTINEL_MASTER),
        (vec!["127.0.0.1:notaport".to_owned()], SENTINEL_MASTER),
        (shared_set().sentinel_addrs(), ""),
        (shared_set().sentinel_addrs(), "no-such-master"),
    ] {
        let err = builder()
            .connect_sentinel(sentinels.clone(), master)
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ConfigErrorKind::InvalidRedis,
            "{sentinels:?} {master}"
        );
    }
}
