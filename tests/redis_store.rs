//! Redis-specific behaviour of `RedisStore`, on a standalone server and on a 3-master
//! Cluster (both real `redis-server` processes, see `tests/support/redis.rs`). The shared
//! store contract is tested elsewhere; this file checks the layout, the round trips, TTLs,
//! tampering, scripts and races.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    missing_docs
)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use charon_auth::clock::{Clock as _, SystemClock};
use charon_auth::error::StoreErrorKind;
use charon_auth::internals::redis_blob::encode_blob;
use charon_auth::session::{Session, SessionKey, SessionType, random_id};
use charon_auth::store::SessionStore;
use charon_auth::store::redis::{RedisStore, SigningKey};
use futures_util::StreamExt as _;
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use support::redis as harness;

const KEY_BYTES: [u8; 32] = [42; 32];

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(KEY_BYTES)
}

fn now() -> i64 {
    SystemClock.now()
}

/// A raw connection to inspect or tamper with what the store wrote.
#[derive(Clone)]
enum Raw {
    Standalone(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Raw {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Standalone(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }
    fn req_packed_commands<'a>(
        &'a mut self,
        p: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Standalone(c) => c.req_packed_commands(p, offset, count),
            Self::Cluster(c) => c.req_packed_commands(p, offset, count),
        }
    }
    fn get_db(&self) -> i64 {
        0
    }
}

/// One backend under test.
struct Backend {
    name: &'static str,
    store: RedisStore,
    raw: Raw,
    /// Standalone URL(s) of every node (for per-node commands: MONITOR, SCRIPT FLUSH).
    node_urls: Vec<String>,
}

async fn standalone() -> Backend {
    standalone_at(harness::standalone_url()).await
}

async fn standalone_at(url: String) -> Backend {
    let store = RedisStore::builder_with_key(signing_key())
        .connect(&url)
        .await
        .unwrap();
    let raw = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    Backend {
        name: "standalone",
        store,
        raw: Raw::Standalone(raw),
        node_urls: vec![url],
    }
}

async fn cluster() -> Backend {
    cluster_at(harness::cluster().urls()).await
}

async fn cluster_at(urls: Vec<String>) -> Backend {
    let store = RedisStore::builder_with_key(signing_key())
        .connect_cluster(&urls)
        .await
        .unwrap();
    let raw = redis::cluster::ClusterClient::new(urls.clone())
        .unwrap()
        .get_async_connection()
        .await
        .unwrap();
    Backend {
        name: "cluster",
        store,
        raw: Raw::Cluster(raw),
        node_urls: urls,
    }
}

async fn backends() -> Vec<Backend> {
    vec![standalone().await, cluster().await]
}

fn session(user: &str, ty: &SessionType, now: i64, refresh_ttl: i64) -> Session {
    Session::new(
        random_id(),
        user.into(),
        ty.clone(),
        now,
        Some(now + 3600),
        now + refresh_ttl,
        random_id(),
    )
}

fn unique_user(tag: &str) -> String {
    format!("{tag}-{}", random_id())
}

async fn query<T: redis::FromRedisValue>(raw: &Raw, cmd: &Cmd) -> T {
    let mut c = raw.clone();
    cmd.query_async(&mut c).await.unwrap()
}

/// `(TTL, EXPIRETIME)` of a key.
async fn ttl(raw: &Raw, key: &str) -> (i64, i64) {
    let t: i64 = query(raw, redis::cmd("TTL").arg(key)).await;
    let e: i64 = query(raw, redis::cmd("EXPIRETIME").arg(key)).await;
    (t, e)
}

/// Both keys of (user, type) exist with the TTL the last write set: `newest - app_now + 1`
/// seconds (`newest`: the latest `refresh_expires_at` left, `app_now`: the `now` that write
/// passed), counted by Redis from the write, which happened at real time `written_from` or
/// later. So the absolute expiry lies between `written_from` and now (real), plus that TTL
/// (and one second for `EXPIRETIME` rounding milliseconds to the nearest second).
async fn assert_key_expiry(
    b: &Backend,
    user: &str,
    ty: &SessionType,
    newest: i64,
    app_now: i64,
    written_from: i64,
) {
    let keys = b.store.keys(user, ty);
    let lifetime = newest - app_now + 1;
    for key in [keys.sessions(), keys.expiries()] {
        let (t, e) = ttl(&b.raw, key).await;
        let written_by = now();
        assert!(t > 0, "[{}] {key} has TTL {t}", b.name);
        assert!(
            (written_from + lifetime..=written_by + lifetime + 1).contains(&e),
            "[{}] {key} expires at {e}, expected {lifetime} s after a write in \
             {written_from}..={written_by}",
            b.name
        );
    }
}

async fn assert_keys_gone(b: &Backend, user: &str, ty: &SessionType) {
    let keys = b.store.keys(user, ty);
    for key in [keys.sessions(), keys.expiries()] {
        let exists: i64 = query(&b.raw, redis::cmd("EXISTS").arg(key)).await;
        assert_eq!(exists, 0, "[{}] {key} still exists", b.name);
    }
}

#[tokio::test]
async fn round_trip_and_locking() {
    let ty = SessionType::default();
    for b in backends().await {
        let now = now();
        let user = unique_user("basic");
        let mut s = session(&user, &ty, now, 600);
        assert_eq!(b.store.create(&s, None, now).await.unwrap().lock_version, 1);
        let err = b.store.create(&s, None, now).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Conflict, "[{}]", b.name);

        let got = b.store.get(s.key(), now).await.unwrap().unwrap();
        assert_eq!(got.lock_version, 1);
        s.lock_version = 1;
        assert_eq!(got, s);

        // Stale version.
        let mut stale = s.clone();
        stale.lock_version = 0;
        let err = b.store.update(&stale, now).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Conflict);
        assert_eq!(b.store.update(&s, now).await.unwrap(), 2);

        let all = b.store.get_all(&user, &ty, now).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].lock_version, 2);

        // Other type under the same user is isolated.
        let other_ty = SessionType::new("oauth2").unwrap();
        assert!(
            b.store
                .get(SessionKey::new(&s.id, &user, &other_ty), now)
                .await
                .unwrap()
                .is_none()
        );

        assert!(b.store.delete(s.key(), now).await.unwrap());
        assert!(!b.store.delete(s.key(), now).await.unwrap());
        assert!(b.store.get(s.key(), now).await.unwrap().is_none());
        s.lock_version = 2;
        let err = b.store.update(&s, now).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::NotFound, "[{}]", b.name);
        assert_keys_gone(&b, &user, &ty).await;
    }
}

#[tokio::test]
async fn already_expired_session_is_not_written() {
    let ty = SessionType::default();
    for b in backends().await {
        let now = now();
        let user = unique_user("expired");
        let s = session(&user, &ty, now - 100, -10);
        assert_eq!(b.store.create(&s, None, now).await.unwrap().lock_version, 1);
        assert_keys_gone(&b, &user, &ty).await;
        let err = b.store.update(&s, now).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::NotFound);
        assert_keys_gone(&b, &user, &ty).await;
    }
}

/// Every key written has a TTL, equal to the latest session expiry, after each write and
/// delete; the keys disappear with the last session.
#[tokio::test]
async fn key_ttl_tracks_latest_session_expiry() {
    let ty = SessionType::default();
    for b in backends().await {
        let now = now();
        let user = unique_user("ttl");
        let s1 = session(&user, &ty, now, 300);
        let s2 = session(&user, &ty, now, 900);
        let mut s3 = session(&user, &ty, now, 600);

        b.store.create(&s1, None, now).await.unwrap();
        assert_key_expiry(&b, &user, &ty, now + 300, now, now).await;
        b.store.create(&s2, None, now).await.unwrap();
        assert_key_expiry(&b, &user, &ty, now + 900, now, now).await;
        b.store.create(&s3, None, now).await.unwrap();
        assert_key_expiry(&b, &user, &ty, now + 900, now, now).await;

        // Deleting the latest lowers the TTL to the next one.
        assert!(b.store.delete(s2.key(), now).await.unwrap());
        assert_key_expiry(&b, &user, &ty, now + 600, now, now).await;

        // A refresh extending s3 raises it again.
        s3.lock_version = 1;
        s3.refresh_expires_at = now + 1200;
        b.store.update(&s3, now).await.unwrap();
        assert_key_expiry(&b, &user, &ty, now + 1200, now, now).await;

        assert!(b.store.delete(s3.key(), now).await.unwrap());
        assert_key_expiry(&b, &user, &ty, now + 300, now, now).await;
        assert!(b.store.delete(s1.key(), now).await.unwrap());
        assert_keys_gone(&b, &user, &ty).await;

        b.store.create(&s1, None, now).await.unwrap();
        b.store.delete_all(&user, &ty).await.unwrap();
        assert_keys_gone(&b, &user, &ty).await;
    }
}

#[tokio::test]
async fn expired_members_are_pruned_on_write() {
    let ty = SessionType::default();
    for b in backends().await {
        let now = now();
        let user = unique_user("prune");
        let old = session(&user, &ty, now, 5);
        b.store.create(&old, None, now).await.unwrap();
        // Twenty seconds later (by the caller's clock) another login prunes the old one.
        let later = now + 20;
        let new = session(&user, &ty, later, 600);
        b.store.create(&new, None, later).await.unwrap();

        let keys = b.store.keys(&user, &ty);
        let fields: Vec<String> = query(&b.raw, redis::cmd("HKEYS").arg(keys.sessions())).await;
        let mut expected = vec![new.id.clone(), format!("l.{}", new.id)];
        expected.sort();
        let mut fields_sorted = fields.clone();
        fields_sorted.sort();
        assert_eq!(fields_sorted, expected, "[{}]", b.name);
        let members: Vec<String> = query(
            &b.raw,
            redis::cmd("ZRANGE").arg(keys.expiries()).arg(0).arg(-1),
        )
        .await;
        assert_eq!(members, vec![new.id.clone()]);
        // The write passed `later` (20 s ahead of the real clock): the key lives 601 s from the
        // write in real time, not until `later + 600` on the real clock.
        assert_key_expiry(&b, &user, &ty, later + 600, later, now).await;

        // An expired but unpruned session is never returned, and can be re-created.
        assert!(b.store.get(new.key(), later + 601).await.unwrap().is_none());
        assert!(
            b.store
                .get_all(&user, &ty, later + 601)
                .await
                .unwrap()
                .is_empty()
        );
        let mut upd = new.clone();
        upd.lock_version = 1;
        let err = b.store.update(&upd, later + 601).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::NotFound);
        b.store.delete_all(&user, &ty).await.unwrap();
    }
}

/// Key expiry is relative to the application's `now` (`EXPIRE`, never an `EXPIREAT` from
/// the application's clock), so Redis's own clock does not matter. A handle whose clock is
/// two hours behind the real (Redis's) time, with a one-hour refresh TTL, keeps its
/// sessions through login, refresh and logout, and their keys live about an hour; one whose
/// clock is two hours ahead does not leave keys for three hours. (With `EXPIREAT now +
/// ttl`, the first one's keys were already in Redis's past and vanished on every write.)
#[tokio::test]
async fn key_expiry_ignores_redis_clock_skew() {
    const HOUR: i64 = 3600;
    let ty = SessionType::default();
    for b in backends().await {
        for skew in [-2 * HOUR, 2 * HOUR] {
            let real_start = now();
            let clock = charon_auth::ManualClock::new(real_start + skew);
            let charon = charon_auth::Charon::builder()
                .issuer("skew")
                .keyset(
                    charon_auth::Keyset::new("k", charon_auth::Key::hs256(&[3; 32]).unwrap())
                        .unwrap(),
                )
                .access_ttl(Duration::from_secs(60))
                .refresh_ttl(Duration::from_secs(HOUR as u64))
                .store(b.store.clone())
                .clock(clock.clone())
                .build()
                .unwrap();
            let user = unique_user("skew");
            let login = async || {
                charon
                    .create_session(
                        charon_auth::CreateSession::new(&user, charon_auth::Transport::Bearer),
                        charon_auth::RequestContext::no_request(),
                    )
                    .await
                    .unwrap()
                    .session()
                    .clone()
            };
            let keys = b.store.keys(&user, &ty);
            // Every key has a TTL of `expected` seconds, give or take the real time this
            // test has taken (and TTL's rounding of milliseconds).
            let assert_ttl = async |expected: i64, what: &str| {
                for key in [keys.sessions(), keys.expiries()] {
                    let t: i64 = query(&b.raw, redis::cmd("TTL").arg(key)).await;
                    let slack = now() - real_start + 1;
                    assert!(
                        (expected - slack..=expected).contains(&t),
                        "[{}] skew {skew}: after {what}, {key} has TTL {t}, expected {expected}",
                        b.name
                    );
                }
            };

            let first = login().await;
            let found = charon.store().get(first.key(), charon.now()).await.unwrap();
            assert_eq!(found.as_ref(), Some(&first), "[{}] skew {skew}", b.name);
            assert_ttl(HOUR + 1, "login").await;

            // A minute later: a second login, then a refresh of the first.
            clock.advance(60);
            let second = login().await;
            let mut refreshed = first.clone();
            refreshed.refresh_expires_at = charon.now() + HOUR + 30;
            charon
                .store()
                .update(&refreshed, charon.now())
                .await
                .unwrap();
            assert_ttl(HOUR + 31, "refresh").await;
            // Logging out the newest leaves the second's end as the newest.
            assert!(
                charon
                    .store()
                    .delete(refreshed.key(), charon.now())
                    .await
                    .unwrap()
            );
            assert_ttl(HOUR + 1, "logout").await;
            let listed = charon
                .store()
                .get_all(&user, &ty, charon.now())
                .await
                .unwrap();
            assert_eq!(listed, vec![second], "[{}] skew {skew}", b.name);
            b.store.delete_all(&user, &ty).await.unwrap();
        }
    }
}

/// A capped create evicts inside its one script: the evicted sessions' fields and zset
/// members are gone, and the key TTL follows the newest session left.
#[tokio::test]
async fn capped_create_evicts_inside_the_script() {
    let ty = SessionType::default();
    let cap = std::num::NonZeroU32::new(2);
    for b in backends().await {
        let now = now();
        let user = unique_user("cap");
        let oldest = session(&user, &ty, now, 300);
        let newest = session(&user, &ty, now, 900);
        let middle = session(&user, &ty, now, 600);
        for s in [&oldest, &newest, &middle] {
            b.store.create(s, None, now).await.unwrap();
        }
        let fourth = session(&user, &ty, now, 500);
        let created = b.store.create(&fourth, cap, now).await.unwrap();
        // Room for one other: the two that end first go, although the new session (500 s)
        // ends before one of them (600 s): the new one is never evicted.
        assert_eq!(
            created.evicted,
            vec![oldest.id.clone(), middle.id.clone()],
            "[{}]",
            b.name
        );
        let keys = b.store.keys(&user, &ty);
        let mut fields: Vec<String> = query(&b.raw, redis::cmd("HKEYS").arg(keys.sessions())).await;
        fields.sort();
        let mut expected = vec![
            newest.id.clone(),
            format!("l.{}", newest.id),
            fourth.id.clone(),
            format!("l.{}", fourth.id),
        ];
        expected.sort();
        assert_eq!(fields, expected, "[{}]", b.name);
        let members: Vec<String> = query(
            &b.raw,
            redis::cmd("ZRANGE").arg(keys.expiries()).arg(0).arg(-1),
        )
        .await;
        assert_eq!(members, vec![fourth.id.clone(), newest.id.clone()]);
        assert_key_expiry(&b, &user, &ty, now + 900, now, now).await;
        b.store.delete_all(&user, &ty).await.unwrap();
    }
}

/// Forged values written with raw HSET read as not found, never as someone's session.
#[tokio::test]
async fn tampered_blobs_read_as_not_found() {
    let ty = SessionType::default();
    for b in backends().await {
        let now = now();
        let victim = unique_user("victim");
        let attacker = unique_user("attacker");
        let keys = b.store.keys(&victim, &ty);

        let forge = |value: Vec<u8>, sid: &str| {
            let mut cmd = redis::cmd("HSET");
            cmd.arg(keys.sessions())
                .arg(sid)
                .arg(value)
                .arg(format!("l.{sid}"))
                .arg(1);
            cmd
        };

        // 1. Garbage.
        let sid = random_id();
        let _: i64 = query(&b.raw, &forge(b"garbage".to_vec(), &sid)).await;
        // 2. A well-formed session signed with another key.
        let sid2 = random_id();
        let mut s = session(&victim, &ty, now, 600);
        s.id = sid2.clone();
        let forged = encode_blob(&SigningKey::from_bytes([1; 32]), &s);
        let _: i64 = query(&b.raw, &forge(forged, &sid2)).await;
        // 3. A validly signed session of another user, copied under the victim's key.
        let sid3 = random_id();
        let mut theirs = session(&attacker, &ty, now, 600);
        theirs.id = sid3.clone();
        let copied = encode_blob(&signing_key(), &theirs);
        let _: i64 = query(&b.raw, &forge(copied, &sid3)).await;
        // 4. A validly signed victim session stored under another sid.
        let sid4 = random_id();
        let mut moved = session(&victim, &ty, now, 600);
        moved.id = random_id();
        let blob = encode_blob(&signing_key(), &moved);
        let _: i64 = query(&b.raw, &forge(blob, &sid4)).await;
        // 5. A validly signed session of another type.
        let sid5 = random_id();
        let mut typed = session(&victim, &SessionType::new("oauth2").unwrap(), now, 600);
        typed.id = sid5.clone();
        let blob = encode_blob(&signing_key(), &typed);
        let _: i64 = query(&b.raw, &forge(blob, &sid5)).await;
        // 6. Truncated and bit-flipped genuine blobs.
        let sid6 = random_id();
        let mut genuine = session(&victim, &ty, now, 600);
        genuine.id = sid6.clone();
        let mut flipped = encode_blob(&signing_key(), &genuine);
        let last = flipped.len() - 1;
        flipped[last] ^= 0x01;
        let _: i64 = query(&b.raw, &forge(flipped, &sid6)).await;

        for sid in [&sid, &sid2, &sid3, &sid4, &sid5, &sid6] {
            let got = b
                .store
                .get(SessionKey::new(sid, &victim, &ty), now)
                .await
                .unwrap();
            assert!(got.is_none(), "[{}] forged {sid} was accepted", b.name);
        }
        assert!(
            b.store.get_all(&victim, &ty, now).await.unwrap().is_empty(),
            "[{}]",
            b.name
        );
        let _: i64 = query(&b.raw, redis::cmd("DEL").arg(keys.sessions())).await;
    }
}

/// The memo of verified blobs serves a session only while Redis answers the very bytes it
/// was decoded from: a blob tampered with after a read is refused, a deleted one is not
/// found, and the genuine bytes written back are what Redis holds again.
#[tokio::test]
async fn a_verified_blob_is_remembered_only_for_the_bytes_redis_answers() {
    let ty = SessionType::default();
    for b in backends().await {
        let now = now();
        let user = unique_user("memo");
        let keys = b.store.keys(&user, &ty);
        let stored = session(&user, &ty, now, 600);
        let created = b.store.create(&stored, None, now).await.unwrap();
        let key = stored.key();
        let first = b.store.get_shared(key, now).await.unwrap().unwrap();
        let again = b.store.get_shared(key, now).await.unwrap().unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "[{}] not from the memo",
            b.name
        );
        assert_eq!(first.lock_version, created.lock_version);

        let hset = |value: &[u8]| {
            let mut cmd = redis::cmd("HSET");
            cmd.arg(keys.sessions()).arg(&stored.id).arg(value);
            cmd
        };
        let genuine: Vec<u8> = query(
            &b.raw,
            redis::cmd("HGET").arg(keys.sessions()).arg(&stored.id),
        )
        .await;
        for at in [0, 3, 20, genuine.len() - 1] {
            let mut tampered = genuine.clone();
            tampered[at] ^= 0x01;
            let _: i64 = query(&b.raw, &hset(&tampered)).await;
            assert!(
                b.store.get_shared(key, now).await.unwrap().is_none(),
                "[{}] byte {at} flipped after a read was accepted",
                b.name
            );
            assert!(b.store.get(key, now).await.unwrap().is_none());
        }
        let _: i64 = query(&b.raw, &hset(&genuine[..genuine.len() - 1])).await;
        assert!(b.store.get_shared(key, now).await.unwrap().is_none());

        let _: i64 = query(&b.raw, &hset(&genuine)).await;
        let back = b.store.get_shared(key, now).await.unwrap().unwrap();
        assert_eq!(*back, *first, "[{}]", b.name);

        assert!(b.store.delete(key, now).await.unwrap());
        assert!(b.store.get_shared(key, now).await.unwrap().is_none());
        assert!(b.store.get(key, now).await.unwrap().is_none());
        b.store.delete_all(&user, &ty).await.unwrap();
    }
}

/// With the memo off (`verified_blobs(0)`) every read decodes its own session, and answers
/// the same.
#[tokio::test]
async fn without_the_memo_every_read_decodes() {
    let ty = SessionType::default();
    let store = RedisStore::builder_with_key(signing_key())
        .verified_blobs(0)
        .connect(&harness::standalone_url())
        .await
        .unwrap();
    let now = now();
    let user = unique_user("no-memo");
    let s = session(&user, &ty, now, 600);
    store.create(&s, None, now).await.unwrap();
    let first = store.get_shared(s.key(), now).await.unwrap().unwrap();
    let again = store.get_shared(s.key(), now).await.unwrap().unwrap();
    assert!(!Arc::ptr_eq(&first, &again));
    assert_eq!(first, again);
    assert_eq!(first.id, s.id);
    store.delete_all(&user, &ty).await.unwrap();
}

/// User ids with braces, colons, percent signs, control and non-ASCII bytes, empty and huge
/// ones: each gets its own keys, inside one hash tag, and sees only its own sessions.
#[tokio::test]
async fn hostile_user_ids_are_isolated() {
    let ty = SessionType::default();
    let run = random_id();
    let raw_ids = [
        "", "{", "}", "{}", "}{", ":", "%", "%7B", "%25", "a:b", "a", "b:c", "é", "%C3%A9", "\n",
        " ", "l.x",
    ];
    for b in backends().await {
        let now = now();
        let mut ids: Vec<String> = raw_ids.iter().map(|i| format!("{i}{run}")).collect();
        // Prefix variants too, so `{`, `}` and `:` lead the id.
        ids.extend(raw_ids.iter().map(|i| format!("{run}{i}")));
        ids.push(format!("{}{run}", "x".repeat(10 * 1024)));
        ids.push(format!("{}{run}", "{".repeat(10 * 1024)));
        ids.sort();
        ids.dedup();
        let mut sessions = Vec::new();
        for id in &ids {
            let s = session(id, &ty, now, 600);
            b.store.create(&s, None, now).await.unwrap();
            sessions.push(s);
        }
        let mut seen_keys = std::collections::HashSet::new();
        for s in &sessions {
            let all = b.store.get_all(s.user_id.as_str(), &ty, now).await.unwrap();
            assert_eq!(all.len(), 1, "[{}] user {:?}", b.name, s.user_id);
            assert_eq!(all[0].id, s.id);
            assert!(b.store.get(s.key(), now).await.unwrap().is_some());
            let keys = b.store.keys(s.user_id.as_str(), &ty);
            assert!(seen_keys.insert(keys.sessions().to_owned()));
            assert_key_expiry(&b, s.user_id.as_str(), &ty, now + 600, now, now).await;
        }
        for s in &sessions {
            b.store.delete_all(s.user_id.as_str(), &ty).await.unwrap();
            assert_keys_gone(&b, s.user_id.as_str(), &ty).await;
        }
    }
}

async fn flush_scripts(b: &Backend) {
    for url in &b.node_urls {
        let mut c = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let _: () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut c)
            .await
            .unwrap();
    }
}

/// After SCRIPT FLUSH (as after a restart or failover), writes reload their script. On
/// servers of its own: a flush on the shared ones could land between another test's
/// script load and its retry, which no client can tell from a real failure.
#[tokio::test]
async fn script_flush_is_transparent() {
    let server = harness::RedisServer::spawn();
    let cluster = harness::RedisCluster::spawn();
    let ty = SessionType::default();
    for b in [
        standalone_at(server.url()).await,
        cluster_at(cluster.urls()).await,
    ] {
        let now = now();
        let user = unique_user("flush");
        let mut s = session(&user, &ty, now, 600);
        flush_scripts(&b).await;
        b.store.create(&s, None, now).await.unwrap();
        flush_scripts(&b).await;
        s.lock_version = 1;
        b.store.update(&s, now).await.unwrap();
        flush_scripts(&b).await;
        assert!(b.store.delete(s.key(), now).await.unwrap(), "[{}]", b.name);
    }
}

/// Many tasks update the same version of one session: exactly one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_conflict_race_has_one_winner() {
    let ty = SessionType::default();
    for b in backends().await {
        let now = now();
        let user = unique_user("race");
        let mut s = session(&user, &ty, now, 600);
        b.store.create(&s, None, now).await.unwrap();
        s.lock_version = 1;
        for round in 0..5 {
            let store = Arc::new(b.store.clone());
            let tasks: Vec<_> = (0..32)
                .map(|i| {
                    let store = Arc::clone(&store);
                    let mut mine = s.clone();
                    mine.refresh_token_id = format!("task-{i}");
                    tokio::spawn(async move { store.update(&mine, now).await.map(|v| (v, i)) })
                })
                .collect();
            let mut winners = Vec::new();
            for t in tasks {
                match t.await.unwrap() {
                    Ok(w) => winners.push(w),
                    Err(e) => assert_eq!(e.kind(), StoreErrorKind::Conflict),
                }
            }
            assert_eq!(winners.len(), 1, "[{}] round {round}", b.name);
            let (version, winner) = winners[0];
            let stored = b.store.get(s.key(), now).await.unwrap().unwrap();
            assert_eq!(stored.lock_version, version);
            assert_eq!(stored.refresh_token_id, format!("task-{winner}"));
            s = stored;
        }
        b.store.delete_all(&user, &ty).await.unwrap();
    }
}

/// A logout racing a refresh never brings the session back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_racing_update_never_resurrects() {
    let ty = SessionType::default();
    for b in backends().await {
        let now = now();
        let user = unique_user("resurrect");
        for _ in 0..50 {
            let s = session(&user, &ty, now, 600);
            b.store.create(&s, None, now).await.unwrap();
            let mut upd = s.clone();
            upd.lock_version = 1;
            let (s1, s2) = (b.store.clone(), b.store.clone());
            let key_s = s.clone();
            let del = tokio::spawn(async move { s1.delete(key_s.key(), now).await });
            let up = tokio::spawn(async move { s2.update(&upd, now).await });
            assert!(del.await.unwrap().unwrap());
            match up.await.unwrap() {
                Ok(v) => assert_eq!(v, 2),
                Err(e) => assert_eq!(e.kind(), StoreErrorKind::NotFound, "[{}]", b.name),
            }
            assert!(b.store.get(s.key(), now).await.unwrap().is_none());
        }
        assert_keys_gone(&b, &user, &ty).await;
    }
}

/// Counts the commands each operation sends, with MONITOR on every node: exactly one
/// command naming the user's keys per operation (script-internal commands are tagged `lua`
/// and excluded), but for the first write of a (user, type), which raises the user's type
/// index first: refused upsert, index script, upsert. A NOSCRIPT retry would show up as a
/// second EVALSHA.
#[tokio::test]
async fn each_operation_is_one_command() {
    let ty = SessionType::default();
    for b in backends().await {
        let mut monitors = Vec::new();
        let mut markers = Vec::new();
        for url in &b.node_urls {
            let client = redis::Client::open(url.as_str()).unwrap();
            let m = client.get_async_monitor().await.unwrap();
            monitors.push(Box::pin(m.into_on_message::<String>()));
            markers.push(client.get_multiplexed_async_connection().await.unwrap());
        }
        let now = now();
        let user = unique_user("monitor");
        let tag = b.store.keys(&user, &ty).sessions().to_owned();
        let tag = tag[tag.find('{').unwrap()..=tag.find('}').unwrap()].to_owned();
        let index = b.store.type_index_key(&user);
        let index_tag = index[index.find('{').unwrap()..=index.find('}').unwrap()].to_owned();
        assert_ne!(tag, index_tag);
        let mut s = session(&user, &ty, now, 600);

        let mut count = async |label: &str| -> Vec<String> {
            let marker = format!("marker-{}", random_id());
            for c in &mut markers {
                let _: String = redis::cmd("ECHO")
                    .arg(&marker)
                    .query_async(c)
                    .await
                    .unwrap();
            }
            let mut lines = Vec::new();
            for m in &mut monitors {
                loop {
                    let line = tokio::time::timeout(Duration::from_secs(5), m.next())
                        .await
                        .unwrap_or_else(|_| panic!("monitor timed out at {label}"))
                        .unwrap();
                    if line.contains(&marker) {
                        break;
                    }
                    if (line.contains(&tag) || line.contains(&index_tag)) && !line.contains("lua]")
                    {
                        lines.push(line);
                    }
                }
            }
            lines
        };

        let _ = count("warm-up").await;
        // The first write of the (user, type): the upsert refuses, the index is raised on
        // the user's own slot, the upsert runs again.
        let first = session(&user, &ty, now, 600);
        b.store.create(&first, None, now).await.unwrap();
        let mut l = count("first create").await;
        // In the order the nodes ran them (MONITOR lines open with the server's time; the
        // Cluster nodes share this machine's clock).
        let at = |line: &String| line.split(' ').next().unwrap().parse::<f64>().unwrap();
        l.sort_by(|a, b| at(a).total_cmp(&at(b)));
        assert_eq!(l.len(), 3, "[{}] first create: {l:?}", b.name);
        assert!(l.iter().all(|line| line.contains("EVALSHA")), "{l:?}");
        assert!(l[0].contains(&tag) && l[2].contains(&tag), "{l:?}");
        assert!(l[1].contains(&index) && !l[1].contains(&tag), "{l:?}");
        // The horizon outlives the last session: the next login is one command again.
        b.store.delete(first.key(), now).await.unwrap();
        let _ = count("delete of the first").await;

        b.store.create(&s, None, now).await.unwrap();
        let l = count("create").await;
        assert_eq!(l.len(), 1, "[{}] create: {l:?}", b.name);
        assert!(l[0].contains("EVALSHA"), "{l:?}");

        let types = b.store.session_types(&user, now).await.unwrap();
        assert_eq!(types, vec![ty.clone()], "[{}]", b.name);
        let l = count("session_types").await;
        assert_eq!(l.len(), 1, "[{}] session_types: {l:?}", b.name);
        assert!(
            l[0].contains("\"ZRANGEBYSCORE\"") && l[0].contains(&index),
            "{l:?}"
        );

        s.lock_version = 1;
        b.store.update(&s, now).await.unwrap();
        let l = count("update").await;
        assert_eq!(l.len(), 1, "[{}] update: {l:?}", b.name);

        b.store.get(s.key(), now).await.unwrap().unwrap();
        let l = count("get").await;
        assert_eq!(l.len(), 1, "[{}] get: {l:?}", b.name);
        assert!(l[0].contains("\"HGET\""));

        b.store.get_all(&user, &ty, now).await.unwrap();
        let l = count("get_all").await;
        assert_eq!(l.len(), 1, "[{}] get_all: {l:?}", b.name);

        b.store.delete(s.key(), now).await.unwrap();
        let l = count("delete").await;
        assert_eq!(l.len(), 1, "[{}] delete: {l:?}", b.name);

        // A create that evicts is still one command.
        let t = session(&user, &ty, now, 600);
        b.store.create(&t, None, now).await.unwrap();
        let _ = count("create before the capped one").await;
        let u = session(&user, &ty, now, 700);
        let created = b
            .store
            .create(&u, std::num::NonZeroU32::new(1), now)
            .await
            .unwrap();
        assert_eq!(created.evicted, vec![t.id.clone()], "[{}]", b.name);
        let l = count("capped create").await;
        assert_eq!(l.len(), 1, "[{}] capped create: {l:?}", b.name);
        assert!(l[0].contains("EVALSHA"), "{l:?}");

        b.store.delete_all(&user, &ty).await.unwrap();
        let l = count("delete_all").await;
        assert_eq!(l.len(), 1, "[{}] delete_all: {l:?}", b.name);
        assert!(l[0].contains("EVALSHA"), "{l:?}");
    }
}

/// An `OOM` reply is `OutOfMemory`, with the Redis error as source.
#[tokio::test]
async fn out_of_memory_is_reported_as_such() {
    let server = harness::RedisServer::spawn();
    let store = RedisStore::builder_with_key(signing_key())
        .connect(&server.url())
        .await
        .unwrap();
    server
        .command(&["CONFIG", "SET", "maxmemory", "1"])
        .unwrap();
    let now = now();
    let s = session("oom", &SessionType::default(), now, 600);
    let err = store.create(&s, None, now).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::OutOfMemory, "{err:?}");
    let source = std::error::Error::source(&err).unwrap();
    assert!(source.is::<redis::RedisError>(), "{source:?}");
}

/// A server that stops answering gives `Timeout` (503 upstream), with a source.
#[tokio::test]
async fn unresponsive_server_times_out() {
    let server = harness::RedisServer::spawn();
    let store = RedisStore::builder_with_key(signing_key())
        .connect_timeout(Duration::from_millis(200))
        .response_timeout(Duration::from_millis(200))
        .connect(&server.url())
        .await
        .unwrap();
    server.command(&["CLIENT", "PAUSE", "1500", "ALL"]).unwrap();
    let ty = SessionType::default();
    let err = store
        .get(SessionKey::new("sid", "u", &ty), now())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Timeout, "{err:?}");
    assert!(std::error::Error::source(&err).is_some());
    // Recovers once the server answers again.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let mut ok = false;
    for _ in 0..20 {
        if store
            .get(SessionKey::new("sid", "u", &ty), now())
            .await
            .is_ok()
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "store did not recover");
}

/// A store built from the base secret derives Charon's key: it reads what a store built
/// from the explicitly derived key wrote. Debug output never shows the key.
#[tokio::test]
async fn base_secret_derivation_and_redacted_debug() {
    let secret = b"0123456789abcdef0123456789abcdef-test";
    let url = harness::standalone_url();
    let a = RedisStore::builder(secret).connect(&url).await.unwrap();
    let b = RedisStore::builder_with_key(SigningKey::derive(secret))
        .prefix("charon:")
        .connect(&url)
        .await
        .unwrap();
    let debug = format!("{a:?}");
    assert!(debug.contains("REDACTED"));
    assert!(!debug.contains("0123456789"));
    let now = now();
    let ty = SessionType::default();
    let s = session(&unique_user("derive"), &ty, now, 600);
    a.create(&s, None, now).await.unwrap();
    assert!(b.get(s.key(), now).await.unwrap().is_some());
    // A store with another secret sees nothing.
    let c = RedisStore::builder_with_key(signing_key())
        .connect(&url)
        .await
        .unwrap();
    assert!(c.get(s.key(), now).await.unwrap().is_none());
    a.delete_all(s.user_id.as_str(), &ty).await.unwrap();
}

/// Reports (asserts nothing about) the memory used per user with 1 and 100 sessions.
#[tokio::test]
async fn report_memory_usage() {
    let b = standalone().await;
    let ty = SessionType::default();
    let now = now();
    let user = unique_user("memory");
    let keys = b.store.keys(&user, &ty);
    let mut report = Vec::new();
    for n in 1..=100 {
        let s = session(&user, &ty, now, 600 + n);
        b.store.create(&s, None, now).await.unwrap();
        if n == 1 || n == 100 {
            let h: i64 = query(
                &b.raw,
                redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(keys.sessions())
                    .arg("SAMPLES")
                    .arg(0),
            )
            .await;
            let z: i64 = query(
                &b.raw,
                redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(keys.expiries())
                    .arg("SAMPLES")
                    .arg(0),
            )
            .await;
            let blob_len: i64 = query(
                &b.raw,
                redis::cmd("HSTRLEN").arg(keys.sessions()).arg(&s.id),
            )
            .await;
            report.push(format!(
                "{n} session(s): hash {h} B, zset {z} B, total {} B ({} B/session), blob {blob_len} B",
                h + z,
                (h + z) / i64::from(u8::try_from(n).unwrap()),
            ));
        }
    }
    for line in report {
        eprintln!("MEMORY USAGE {line}");
    }
    b.store.delete_all(&user, &ty).await.unwrap();
}

/// The type index and the index horizon as the first write leaves them: the user's index
/// lists the type at `2 · refresh_expires_at − now` and expires then (relative to the
/// write), the (user, type)'s horizon records the same time, and the index sits in a slot
/// of its own. A refresh within the horizon leaves both alone; one past it raises both.
#[tokio::test]
async fn type_index_and_horizon_after_writes() {
    let ty = SessionType::new("idx").unwrap();
    for b in backends().await {
        let start = now();
        let user = unique_user("index");
        let mut s = session(&user, &ty, start, 600);
        b.store.create(&s, None, start).await.unwrap();
        let index = b.store.type_index_key(&user);
        let horizon_key = b.store.keys(&user, &ty).index_horizon().to_owned();
        let expected = 2 * s.refresh_expires_at - start;
        let score: Option<f64> = query(&b.raw, redis::cmd("ZSCORE").arg(&index).arg("idx")).await;
        assert_eq!(score, Some(expected as f64), "[{}]", b.name);
        let horizon: Option<i64> =
            query(&b.raw, redis::cmd("HGET").arg(&horizon_key).arg("until")).await;
        assert_eq!(horizon, Some(expected), "[{}]", b.name);
        for key in [&index, &horizon_key] {
            let (t, e) = ttl(&b.raw, key).await;
            let lifetime = expected - start + 1;
            assert!(t > 0, "[{}] {key} has TTL {t}", b.name);
            assert!(
                (start + lifetime..=now() + lifetime + 1).contains(&e),
                "[{}] {key} expires at {e}, expected about {}",
                b.name,
                start + lifetime
            );
        }
        let slot = |key: &str| redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).to_owned();
        if b.name == "cluster" {
            let a: i64 = query(&b.raw, &slot(&index)).await;
            let c: i64 = query(&b.raw, &slot(&horizon_key)).await;
            let d: i64 = query(&b.raw, &slot(b.store.keys(&user, &ty).sessions())).await;
            assert_eq!(c, d, "the horizon shares the (user, type) slot");
            assert_ne!(
                a, d,
                "the index has the user's slot, not the (user, type)'s"
            );
        }

        // Within the horizon: nothing moves.
        s.lock_version = 1;
        s.refresh_expires_at = start + 900;
        s.lock_version = b.store.update(&s, start + 300).await.unwrap();
        let score: Option<f64> = query(&b.raw, redis::cmd("ZSCORE").arg(&index).arg("idx")).await;
        assert_eq!(score, Some(expected as f64), "[{}]", b.name);

        // Past it: both move to 2 · r − now of that write.
        let at = start + 500;
        s.refresh_expires_at = expected + 100;
        b.store.update(&s, at).await.unwrap();
        let raised = 2 * s.refresh_expires_at - at;
        let score: Option<f64> = query(&b.raw, redis::cmd("ZSCORE").arg(&index).arg("idx")).await;
        assert_eq!(score, Some(raised as f64), "[{}]", b.name);
        let horizon: Option<i64> =
            query(&b.raw, redis::cmd("HGET").arg(&horizon_key).arg("until")).await;
        assert_eq!(horizon, Some(raised), "[{}]", b.name);
        b.store.delete_all(&user, &ty).await.unwrap();
    }
}

/// Sessions written before the type index existed (no index entry, no horizon) are not
/// listed until their next write, which indexes them: the lazy backfill the store docs
/// describe. `revoke_all_sessions_of_user` covers such sessions of the default type anyway
/// (tests/admin_revocation.rs).
#[tokio::test]
async fn sessions_written_before_the_index_are_indexed_by_their_next_refresh() {
    let ty = SessionType::new("legacy").unwrap();
    for b in backends().await {
        let now = now();
        let user = unique_user("legacy");
        let mut s = session(&user, &ty, now, 600);
        b.store.create(&s, None, now).await.unwrap();
        // What an older version left: the session keys only.
        let horizon_key = b.store.keys(&user, &ty).index_horizon().to_owned();
        let _: i64 = query(&b.raw, redis::cmd("DEL").arg(b.store.type_index_key(&user))).await;
        let _: i64 = query(&b.raw, redis::cmd("DEL").arg(&horizon_key)).await;
        assert!(b.store.session_types(&user, now).await.unwrap().is_empty());
        assert!(b.store.get(s.key(), now).await.unwrap().is_some());

        s.lock_version = 1;
        b.store.update(&s, now).await.unwrap();
        assert_eq!(
            b.store.session_types(&user, now).await.unwrap(),
            vec![ty.clone()],
            "[{}]",
            b.name
        );
        b.store.delete_all(&user, &ty).await.unwrap();
    }
}

/// A member of the index that is no valid type name (not written by the store) is skipped,
/// not an error, and never a session type.
#[tokio::test]
async fn a_tampered_index_member_is_skipped() {
    for b in backends().await {
        let now = now();
        let user = unique_user("tampered");
        let ty = SessionType::default();
        b.store
            .create(&session(&user, &ty, now, 600), None, now)
            .await
            .unwrap();
        let index = b.store.type_index_key(&user);
        let _: i64 = query(
            &b.raw,
            redis::cmd("ZADD")
                .arg(&index)
                .arg(now + 600)
                .arg("not a {type}"),
        )
        .await;
        assert_eq!(
            b.store.session_types(&user, now).await.unwrap(),
            vec![ty.clone()],
            "[{}]",
            b.name
        );
        b.store.delete_all(&user, &ty).await.unwrap();
    }
}
