//! The shared [`SessionStore`] contract suite: every store must pass it.
//!
//! Each check is a plain `async fn` taking an `Arc<dyn SessionStore>`; the
//! [`store_contract_tests!`] macro turns every one of them into a `#[tokio::test]`.
//!
//! # Running it against a store
//!
//! In `tests/store_contract_<name>.rs`:
//!
//! ```ignore
//! mod support;
//!
//! use std::sync::Arc;
//! use charon_auth::store::{Created, SessionStore};
//!
//! support::contract::store_contract_tests!(async {
//!     Arc::new(MyStore::connect().await) as Arc<dyn SessionStore>
//! });
//! ```
//!
//! - The argument is an expression evaluating to a future of `Arc<dyn SessionStore>`. It is
//!   pasted into every test and awaited there, so each test gets its own store (or its
//!   own handle to a shared backend). Put `#[ignore]`-style attributes in front of the
//!   expression (`store_contract_tests!(#[ignore = "needs X"] async { .. })`) to apply them
//!   to every generated test.
//! - The file must declare `mod support;` at its root (the macro calls
//!   `$crate::support::contract::*`). Invoke the macro inside a `mod` to run the suite
//!   against several stores from one file.
//! - Tests are independent of each other's data: every test uses fresh random user ids
//!   ([`random_id`]), so many tests (and repeated runs) may share one backend (one Redis
//!   server). The few fixed hostile user ids (`""`, `"{"`, …) are only used by
//!   [`hostile_user_ids_are_isolated`], which tolerates leftovers from earlier runs.
//! - `now` is the real system time ([`SystemClock`]) and live sessions expire
//!   [`TTL`] seconds from it, so a backend with real key expiry agrees with the `now`
//!   passed in. Expiry is checked by passing a later `now`, never by sleeping; the checks
//!   hold whether or not the store also drops expired data on its own.
//!
//! Nothing here is specific to one backend.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    unreachable_pub,
    dead_code
)]

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use charon_auth::clock::{Clock, SystemClock, UnixTime};
use charon_auth::error::{StoreError, StoreErrorKind};
use charon_auth::session::{Session, SessionKey, SessionType, random_id};
use charon_auth::store::{Created, SessionStore};
use serde_json::json;
use tokio::sync::Barrier;

/// Lifetime of a live test session from `now`, in seconds. Small, so leftovers in a shared
/// backend with real expiry go away soon.
pub const TTL: i64 = 120;

/// Later than every test session's `refresh_expires_at`: the `now` at which they are expired.
pub const LATER: i64 = TTL + 1;

/// Concurrent writers in the race tests.
pub const RACERS: usize = 32;

/// Rounds of the delete-versus-update race.
pub const RACE_ROUNDS: usize = 50;

/// Generate one `#[tokio::test]` per contract check for the store built by `$make`
/// (an expression evaluating to a future of `Arc<dyn SessionStore>`). See the module docs.
macro_rules! store_contract_tests {
    ($(#[$meta:meta])* $make:expr $(,)?) => {
        $crate::support::contract::store_contract_tests!(@tests [$(#[$meta])*] [$make]
            create_then_get_returns_an_exact_copy,
            get_of_a_missing_session_is_none,
            get_shared_answers_as_get_through_every_write,
            create_over_a_live_session_conflicts,
            updates_increase_the_lock_version_by_one,
            update_at_a_stale_version_conflicts,
            update_of_a_missing_session_is_not_found,
            delete_returns_whether_a_session_was_there,
            delete_then_update_is_not_found,
            get_all_returns_the_live_sessions_of_one_user_and_type,
            delete_all_removes_only_that_user_and_type,
            expired_sessions_are_never_returned,
            create_over_an_expired_session_succeeds,
            update_of_an_expired_session_is_not_found,
            concurrent_updates_of_one_version_have_exactly_one_winner,
            concurrent_creates_have_exactly_one_winner,
            concurrent_updates_of_different_sessions_all_win,
            delete_racing_update_never_resurrects,
            users_are_isolated,
            session_types_are_separated,
            user_and_type_splits_do_not_collide,
            hostile_user_ids_are_isolated,
            extra_payload_round_trips_exactly,
            integer_user_ids_keep_their_type,
            infinite_sessions_round_trip,
            capped_creates_within_the_cap_evict_nothing,
            a_create_over_the_cap_evicts_the_session_that_ends_first,
            cap_one_keeps_only_the_new_session,
            eviction_ties_break_by_session_id,
            a_lower_cap_evicts_down_to_it_in_one_create,
            expired_sessions_neither_count_nor_get_evicted,
            the_cap_counts_one_user_and_type,
            a_conflicting_create_evicts_nothing,
            an_already_expired_create_evicts_nothing,
            concurrent_capped_creates_never_exceed_the_cap,
            session_types_lists_every_type_of_a_user,
            session_types_follow_refreshes_past_the_first_expiry,
            session_types_of_hostile_user_ids_stay_apart,
        );
    };
    // One test at a time: the attributes repeat once per test.
    (@tests $attrs:tt $make:tt) => {};
    (@tests $attrs:tt $make:tt $name:ident, $($rest:ident,)*) => {
        $crate::support::contract::store_contract_tests!(@test $attrs $make $name);
        $crate::support::contract::store_contract_tests!(@tests $attrs $make $($rest,)*);
    };
    (@test [$($meta:tt)*] [$make:expr] $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $($meta)*
        async fn $name() {
            let store: ::std::sync::Arc<dyn ::charon_auth::store::SessionStore> = $make.await;
            $crate::support::contract::$name(store).await;
        }
    };
}
pub(crate) use store_contract_tests;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The real current time: what a backend with real expiry agrees with.
pub fn now() -> UnixTime {
    SystemClock.now()
}

/// A session type from a valid literal.
pub fn stype(s: &str) -> SessionType {
    SessionType::new(s).expect("valid session type")
}

/// A fresh session (random id, lock version 0) of `user` and `ty`, live for [`TTL`].
pub fn new_session(user: &str, ty: &SessionType, now: UnixTime) -> Session {
    Session::new(
        random_id(),
        user.into(),
        ty.clone(),
        now,
        Some(now + 10 * TTL),
        now + TTL,
        random_id(),
    )
}

/// The error kind of a result, `None` when it is `Ok`.
pub fn kind<T>(result: &Result<T, StoreError>) -> Option<StoreErrorKind> {
    result.as_ref().err().map(StoreError::kind)
}

/// `session` as the store must hold it after a write that returned `version`.
pub fn at_version(session: &Session, version: u64) -> Session {
    let mut s = session.clone();
    s.lock_version = version;
    s
}

/// Create `session`, assert it got `lock_version + 1`, and return the stored copy.
pub async fn create(store: &dyn SessionStore, session: &Session, now: UnixTime) -> Session {
    let created = store
        .create(session, None, now)
        .await
        .expect("create succeeds");
    assert!(created.evicted.is_empty(), "an uncapped create evicted");
    let version = created.lock_version;
    assert_eq!(
        version,
        session.lock_version + 1,
        "create returns lock_version + 1"
    );
    at_version(session, version)
}

/// Read a session that must exist.
pub async fn get_some(store: &dyn SessionStore, key: SessionKey<'_>, now: UnixTime) -> Session {
    store
        .get(key, now)
        .await
        .expect("get succeeds")
        .unwrap_or_else(|| panic!("session {key:?} missing"))
}

/// Session ids of `get_all`, sorted.
pub async fn ids_of_all(
    store: &dyn SessionStore,
    user: &str,
    ty: &SessionType,
    now: UnixTime,
) -> BTreeSet<String> {
    let all = store
        .get_all(user, ty, now)
        .await
        .expect("get_all succeeds");
    for s in &all {
        assert_eq!(
            s.user_id.as_str(),
            user,
            "get_all returned another user's session"
        );
        assert_eq!(
            &s.session_type, ty,
            "get_all returned another type's session"
        );
        assert!(!s.is_expired(now), "get_all returned an expired session");
    }
    let ids: BTreeSet<String> = all.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids.len(), all.len(), "get_all returned a session twice");
    ids
}

/// A session cap of `n` (at least 1).
pub fn cap(n: u32) -> Option<NonZeroU32> {
    Some(NonZeroU32::new(n).expect("a cap is at least 1"))
}

/// Create `session` under `max_sessions`; assert it got `lock_version + 1` and evicted
/// exactly `evicted` (in that order); return the stored copy.
pub async fn create_capped(
    store: &dyn SessionStore,
    session: &Session,
    max_sessions: Option<NonZeroU32>,
    now: UnixTime,
    evicted: &[&str],
) -> Session {
    let created = store
        .create(session, max_sessions, now)
        .await
        .expect("create succeeds");
    let expected = Created::new(
        session.lock_version + 1,
        evicted.iter().map(|&id| id.to_owned()).collect(),
    );
    assert_eq!(created, expected, "create of {}", session.id);
    at_version(session, created.lock_version)
}

/// A fresh session of `user` and `ty` whose `refresh_expires_at` is `expires`.
pub fn session_ending(user: &str, ty: &SessionType, now: UnixTime, expires: UnixTime) -> Session {
    let mut s = new_session(user, ty, now);
    s.refresh_expires_at = expires;
    s
}

/// An evicted session is gone for good: not read, not listed, not updated back, not
/// deleted again.
pub async fn assert_evicted(store: &dyn SessionStore, session: &Session, now: UnixTime) {
    assert_eq!(
        store.get(session.key(), now).await.unwrap(),
        None,
        "evicted session {} still read",
        session.id
    );
    let all = store
        .get_all(session.user_id.as_str(), &session.session_type, now)
        .await
        .unwrap();
    assert!(
        all.iter().all(|s| s.id != session.id),
        "evicted session listed"
    );
    let result = store.update(session, now).await;
    assert_eq!(
        kind(&result),
        Some(StoreErrorKind::NotFound),
        "update of an evicted session"
    );
    assert!(!store.delete(session.key(), now).await.unwrap());
}

fn set<const N: usize>(ids: [&str; N]) -> BTreeSet<String> {
    ids.into_iter().map(str::to_owned).collect()
}

// ---------------------------------------------------------------------------------------------
// Basic operations and locking
// ---------------------------------------------------------------------------------------------

/// A created session reads back exactly as written, with lock version 1.
pub async fn create_then_get_returns_an_exact_copy(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let session = new_session(&user, &SessionType::default(), now);
    let stored = create(&*store, &session, now).await;
    assert_eq!(stored.lock_version, 1);
    assert_eq!(get_some(&*store, session.key(), now).await, stored);
}

/// Unknown ids, users and types read as `None`.
pub async fn get_of_a_missing_session_is_none(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    assert_eq!(
        store
            .get(SessionKey::new(&random_id(), &user, &full), now)
            .await
            .unwrap(),
        None
    );
    let session = create(&*store, &new_session(&user, &full, now), now).await;
    let missing_sid = random_id();
    let other_user = random_id();
    let other_type = stype("other");
    for key in [
        SessionKey::new(&missing_sid, &user, &full),
        SessionKey::new(&session.id, &other_user, &full),
        SessionKey::new(&session.id, &user, &other_type),
    ] {
        assert_eq!(store.get(key, now).await.unwrap(), None, "{key:?}");
    }
    assert!(
        ids_of_all(&*store, &other_user, &full, now)
            .await
            .is_empty()
    );
}

/// `get_shared` (the strict session check's read) answers what `get` answers, read after
/// read and after every write: an update's new content, nothing once deleted, nothing once
/// expired, another user's or type's key never.
pub async fn get_shared_answers_as_get_through_every_write(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    let shared = async |key: SessionKey<'_>, at: UnixTime| {
        let shared = store.get_shared(key, at).await.unwrap();
        let owned = store.get(key, at).await.unwrap();
        assert_eq!(shared.as_deref(), owned.as_ref(), "{key:?} at {at}");
        shared.map(Arc::unwrap_or_clone)
    };
    assert_eq!(
        shared(SessionKey::new(&random_id(), &user, &full), now).await,
        None
    );
    let mut current = create(&*store, &new_session(&user, &full, now), now).await;
    for _ in 0..3 {
        assert_eq!(shared(current.key(), now).await.as_ref(), Some(&current));
    }
    for n in 0..3 {
        let mut next = current.clone();
        next.refresh_token_id = random_id();
        next.extra_payload.insert("n".into(), json!(n));
        let version = store.update(&next, now).await.unwrap();
        assert_eq!(
            shared(next.key(), now).await,
            Some(at_version(&next, version))
        );
        current = at_version(&next, version);
    }
    let other_user = random_id();
    let other_type = stype("other");
    for key in [
        SessionKey::new(&current.id, &other_user, &full),
        SessionKey::new(&current.id, &user, &other_type),
    ] {
        assert_eq!(shared(key, now).await, None);
    }
    assert_eq!(
        shared(current.key(), current.refresh_expires_at + 1).await,
        None
    );
    assert_eq!(shared(current.key(), now).await.as_ref(), Some(&current));
    assert!(store.delete(current.key(), now).await.unwrap());
    assert_eq!(shared(current.key(), now).await, None);
}

/// Create of a session that exists is a `Conflict` and changes nothing.
pub async fn create_over_a_live_session_conflicts(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let session = new_session(&user, &SessionType::default(), now);
    let stored = create(&*store, &session, now).await;

    let mut again = session.clone();
    again.refresh_token_id = random_id();
    let result = store.create(&again, None, now).await;
    assert_eq!(kind(&result), Some(StoreErrorKind::Conflict));
    // Also with the version that was read.
    let mut read = stored.clone();
    read.refresh_token_id = random_id();
    let result = store.create(&read, None, now).await;
    assert_eq!(kind(&result), Some(StoreErrorKind::Conflict));

    assert_eq!(get_some(&*store, session.key(), now).await, stored);
}

/// Every successful write stores and returns `lock_version + 1`, with the new content.
pub async fn updates_increase_the_lock_version_by_one(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let mut current = create(
        &*store,
        &new_session(&user, &SessionType::default(), now),
        now,
    )
    .await;
    for expected in 2..=6u64 {
        let mut next = current.clone();
        next.refresh_token_id = random_id();
        next.refreshed_at = now + 1;
        next.refresh_expires_at = now + TTL + 1;
        next.extra_payload.insert("n".into(), json!(expected));
        let version = store
            .update(&next, now)
            .await
            .expect("update at the read version succeeds");
        assert_eq!(version, expected);
        current = get_some(&*store, next.key(), now).await;
        assert_eq!(current, at_version(&next, expected));
    }
}

/// Update at any version but the stored one is a `Conflict` and changes nothing.
pub async fn update_at_a_stale_version_conflicts(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let original = new_session(&user, &SessionType::default(), now);
    let v1 = create(&*store, &original, now).await;

    // The version before the create (0) is stale.
    let result = store.update(&original, now).await;
    assert_eq!(kind(&result), Some(StoreErrorKind::Conflict));

    // Two writers read v1; the first wins, the second is stale.
    let mut first = v1.clone();
    first.refresh_token_id = random_id();
    let mut second = v1.clone();
    second.refresh_token_id = random_id();
    assert_eq!(store.update(&first, now).await.unwrap(), 2);
    let result = store.update(&second, now).await;
    assert_eq!(kind(&result), Some(StoreErrorKind::Conflict));

    // A version from the future conflicts too.
    let mut future = v1.clone();
    future.lock_version = 7;
    let result = store.update(&future, now).await;
    assert_eq!(kind(&result), Some(StoreErrorKind::Conflict));

    assert_eq!(
        get_some(&*store, v1.key(), now).await,
        at_version(&first, 2)
    );
}

/// Update never creates: a session that was never written is `NotFound`.
pub async fn update_of_a_missing_session_is_not_found(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    for lock_version in [0, 1, 5] {
        let mut session = new_session(&user, &full, now);
        session.lock_version = lock_version;
        let result = store.update(&session, now).await;
        assert_eq!(kind(&result), Some(StoreErrorKind::NotFound));
        assert_eq!(store.get(session.key(), now).await.unwrap(), None);
    }
    assert!(ids_of_all(&*store, &user, &full, now).await.is_empty());
}

/// `delete` reports whether a session was there, and only deletes that one.
pub async fn delete_returns_whether_a_session_was_there(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    let a = create(&*store, &new_session(&user, &full, now), now).await;
    let b = create(&*store, &new_session(&user, &full, now), now).await;

    assert!(
        !store
            .delete(SessionKey::new(&random_id(), &user, &full), now)
            .await
            .unwrap()
    );
    assert!(store.delete(a.key(), now).await.unwrap());
    assert!(!store.delete(a.key(), now).await.unwrap());
    assert_eq!(store.get(a.key(), now).await.unwrap(), None);
    assert_eq!(get_some(&*store, b.key(), now).await, b);
    assert_eq!(
        ids_of_all(&*store, &user, &full, now).await,
        set([b.id.as_str()])
    );
}

/// A deleted session is never brought back by an update (logout racing a refresh).
pub async fn delete_then_update_is_not_found(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let read = create(
        &*store,
        &new_session(&user, &SessionType::default(), now),
        now,
    )
    .await;
    assert!(store.delete(read.key(), now).await.unwrap());

    let mut refreshed = read.clone();
    refreshed.refresh_token_id = random_id();
    let result = store.update(&refreshed, now).await;
    assert_eq!(kind(&result), Some(StoreErrorKind::NotFound));
    assert_eq!(store.get(read.key(), now).await.unwrap(), None);
    assert!(!store.delete(read.key(), now).await.unwrap());

    // Logging in again with a new session works.
    create(
        &*store,
        &new_session(&user, &SessionType::default(), now),
        now,
    )
    .await;
}

/// `get_all` returns every live session of one user and type, each at its stored version.
pub async fn get_all_returns_the_live_sessions_of_one_user_and_type(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    assert!(ids_of_all(&*store, &user, &full, now).await.is_empty());

    let mut expected = BTreeMap::new();
    for _ in 0..5 {
        let s = create(&*store, &new_session(&user, &full, now), now).await;
        expected.insert(s.id.clone(), s);
    }
    // Update one of them: get_all shows the new version.
    let first = expected.values().next().cloned().unwrap();
    let mut updated = first.clone();
    updated.refresh_token_id = random_id();
    let v = store.update(&updated, now).await.unwrap();
    expected.insert(updated.id.clone(), at_version(&updated, v));
    // Sessions of another type and another user stay out.
    create(&*store, &new_session(&user, &stype("oauth2"), now), now).await;
    create(&*store, &new_session(&random_id(), &full, now), now).await;

    let all: BTreeMap<String, Session> = store
        .get_all(&user, &full, now)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    assert_eq!(all, expected);
}

/// `delete_all` removes every session of one user and type, and nothing else.
pub async fn delete_all_removes_only_that_user_and_type(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let other_user = random_id();
    let full = SessionType::default();
    let oauth = stype("oauth2");
    let mut doomed = Vec::new();
    for _ in 0..3 {
        doomed.push(create(&*store, &new_session(&user, &full, now), now).await);
    }
    let other_type = create(&*store, &new_session(&user, &oauth, now), now).await;
    let other = create(&*store, &new_session(&other_user, &full, now), now).await;

    store.delete_all(&user, &full).await.unwrap();
    assert!(ids_of_all(&*store, &user, &full, now).await.is_empty());
    for s in &doomed {
        assert_eq!(store.get(s.key(), now).await.unwrap(), None);
        let result = store.update(s, now).await;
        assert_eq!(kind(&result), Some(StoreErrorKind::NotFound));
        assert!(!store.delete(s.key(), now).await.unwrap());
    }
    assert_eq!(get_some(&*store, other_type.key(), now).await, other_type);
    assert_eq!(get_some(&*store, other.key(), now).await, other);

    // Deleting nothing is fine, and the user can log in again.
    store.delete_all(&user, &full).await.unwrap();
    store.delete_all(&random_id(), &full).await.unwrap();
    create(&*store, &new_session(&user, &full, now), now).await;
}

// ---------------------------------------------------------------------------------------------
// Expiry
// ---------------------------------------------------------------------------------------------

/// A session is live up to and including `refresh_expires_at`, and never returned after.
pub async fn expired_sessions_are_never_returned(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    let short = create(&*store, &new_session(&user, &full, now), now).await;
    let mut long = new_session(&user, &full, now);
    long.refresh_expires_at = now + 2 * TTL;
    let long = create(&*store, &long, now).await;

    let expiry = short.refresh_expires_at;
    assert_eq!(get_some(&*store, short.key(), expiry).await, short);
    assert_eq!(
        ids_of_all(&*store, &user, &full, expiry).await,
        set([short.id.as_str(), long.id.as_str()])
    );

    let later = expiry + 1;
    assert_eq!(store.get(short.key(), later).await.unwrap(), None);
    assert_eq!(
        ids_of_all(&*store, &user, &full, later).await,
        set([long.id.as_str()])
    );
    assert_eq!(get_some(&*store, long.key(), later).await, long);

    let much_later = now + 100 * TTL;
    assert_eq!(store.get(long.key(), much_later).await.unwrap(), None);
    assert!(
        ids_of_all(&*store, &user, &full, much_later)
            .await
            .is_empty()
    );
}

/// An expired session counts as absent: creating over it succeeds.
pub async fn create_over_an_expired_session_succeeds(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let old = create(
        &*store,
        &new_session(&user, &SessionType::default(), now),
        now,
    )
    .await;

    let later = now + LATER;
    let mut fresh = Session::new(
        old.id.clone(),
        user.as_str().into(),
        SessionType::default(),
        later,
        None,
        later + TTL,
        random_id(),
    );
    fresh.extra_payload.insert("fresh".into(), json!(true));
    let created = store.create(&fresh, None, later).await.unwrap();
    assert_eq!(created.lock_version, 1);
    assert!(created.evicted.is_empty());
    assert_eq!(
        get_some(&*store, fresh.key(), later).await,
        at_version(&fresh, 1)
    );
}

/// An expired session is never refreshed back to life: update is `NotFound`.
pub async fn update_of_an_expired_session_is_not_found(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let read = create(
        &*store,
        &new_session(&user, &SessionType::default(), now),
        now,
    )
    .await;

    let later = now + LATER;
    let mut refreshed = read.clone();
    refreshed.refreshed_at = later;
    refreshed.refresh_expires_at = later + TTL;
    let result = store.update(&refreshed, later).await;
    assert_eq!(kind(&result), Some(StoreErrorKind::NotFound));
    assert_eq!(store.get(read.key(), later).await.unwrap(), None);
    assert!(
        ids_of_all(&*store, &user, &SessionType::default(), later)
            .await
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

/// [`RACERS`] tasks update the same read version at once: exactly one wins, the rest get
/// `Conflict`, and the stored session is the winner's.
pub async fn concurrent_updates_of_one_version_have_exactly_one_winner(
    store: Arc<dyn SessionStore>,
) {
    let now = now();
    let user = random_id();
    let read = create(
        &*store,
        &new_session(&user, &SessionType::default(), now),
        now,
    )
    .await;
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            let mut mine = read.clone();
            mine.refresh_token_id = format!("racer-{i}");
            tokio::spawn(async move {
                barrier.wait().await;
                let result = store.update(&mine, now).await;
                (mine, result)
            })
        })
        .collect();

    let mut winners = Vec::new();
    for task in tasks {
        let (mine, result) = task.await.expect("task ran");
        match result {
            Ok(version) => {
                assert_eq!(version, 2);
                winners.push(mine);
            }
            Err(e) => assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins");
    assert_eq!(
        get_some(&*store, read.key(), now).await,
        at_version(&winners[0], 2)
    );
}

/// [`RACERS`] tasks create the same key at once: exactly one wins.
pub async fn concurrent_creates_have_exactly_one_winner(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let template = new_session(&user, &SessionType::default(), now);
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            let mut mine = template.clone();
            mine.refresh_token_id = format!("racer-{i}");
            tokio::spawn(async move {
                barrier.wait().await;
                let result = store.create(&mine, None, now).await;
                (mine, result)
            })
        })
        .collect();

    let mut winners = Vec::new();
    for task in tasks {
        let (mine, result) = task.await.expect("task ran");
        match result {
            Ok(created) => {
                assert_eq!(created.lock_version, 1);
                winners.push(mine);
            }
            Err(e) => assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one creator wins");
    assert_eq!(
        get_some(&*store, template.key(), now).await,
        at_version(&winners[0], 1)
    );
}

/// Concurrent updates of different sessions of one user never conflict with each other.
pub async fn concurrent_updates_of_different_sessions_all_win(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    let mut sessions = Vec::new();
    for _ in 0..RACERS {
        sessions.push(create(&*store, &new_session(&user, &full, now), now).await);
    }
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = sessions
        .iter()
        .map(|read| {
            let (store, barrier) = (store.clone(), barrier.clone());
            let mut mine = read.clone();
            mine.refresh_token_id = random_id();
            tokio::spawn(async move {
                barrier.wait().await;
                let result = store.update(&mine, now).await;
                (mine, result)
            })
        })
        .collect();
    let mut expected = BTreeMap::new();
    for task in tasks {
        let (mine, result) = task.await.expect("task ran");
        assert_eq!(result.expect("no false conflicts"), 2);
        expected.insert(mine.id.clone(), at_version(&mine, 2));
    }
    let all: BTreeMap<String, Session> = store
        .get_all(&user, &full, now)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    assert_eq!(all, expected);
}

/// A delete racing an update never leaves the session behind.
///
/// Update never creates, so whichever runs first, the session is gone once both finished:
/// update first, then delete removes the updated session; delete first, then the update is
/// `NotFound`. The delete always finds the session (nothing else removes it).
pub async fn delete_racing_update_never_resurrects(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    let (mut updated_first, mut deleted_first) = (0, 0);
    for _ in 0..RACE_ROUNDS {
        let read = create(&*store, &new_session(&user, &full, now), now).await;
        let barrier = Arc::new(Barrier::new(2));
        let deleter = {
            let (store, barrier, read) = (store.clone(), barrier.clone(), read.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.delete(read.key(), now).await
            })
        };
        let updater = {
            let (store, barrier) = (store.clone(), barrier.clone());
            let mut mine = read.clone();
            mine.refresh_token_id = random_id();
            tokio::spawn(async move {
                barrier.wait().await;
                store.update(&mine, now).await
            })
        };
        let deleted = deleter.await.expect("task ran");
        let updated = updater.await.expect("task ran");

        assert!(
            deleted.expect("delete succeeds"),
            "delete found the session"
        );
        match updated {
            Ok(version) => {
                assert_eq!(version, 2);
                updated_first += 1;
            }
            Err(e) => {
                assert_eq!(e.kind(), StoreErrorKind::NotFound, "{e}");
                deleted_first += 1;
            }
        }
        assert_eq!(
            store.get(read.key(), now).await.unwrap(),
            None,
            "resurrected"
        );
        assert!(!store.delete(read.key(), now).await.unwrap());
    }
    assert_eq!(updated_first + deleted_first, RACE_ROUNDS);
    assert!(ids_of_all(&*store, &user, &full, now).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Isolation
// ---------------------------------------------------------------------------------------------

/// One user's sessions are invisible to every other user, even with the same session id.
pub async fn users_are_isolated(store: Arc<dyn SessionStore>) {
    let now = now();
    let full = SessionType::default();
    let (alice, bob) = (random_id(), random_id());
    let a = create(&*store, &new_session(&alice, &full, now), now).await;
    let b = create(&*store, &new_session(&bob, &full, now), now).await;

    assert_eq!(
        ids_of_all(&*store, &alice, &full, now).await,
        set([a.id.as_str()])
    );
    assert_eq!(
        ids_of_all(&*store, &bob, &full, now).await,
        set([b.id.as_str()])
    );
    assert_eq!(
        store
            .get(SessionKey::new(&a.id, &bob, &full), now)
            .await
            .unwrap(),
        None
    );
    // Bob cannot update or delete Alice's session through his own key.
    let mut forged = a.clone();
    forged.user_id = bob.as_str().into();
    let result = store.update(&forged, now).await;
    assert_eq!(kind(&result), Some(StoreErrorKind::NotFound));
    assert!(
        !store
            .delete(SessionKey::new(&a.id, &bob, &full), now)
            .await
            .unwrap()
    );

    // The same session id under Bob is a separate session with its own lock version.
    let bob_same_id = create(&*store, &forged, now).await;
    assert_eq!(bob_same_id.lock_version, 2);
    assert_eq!(get_some(&*store, a.key(), now).await, a);
    assert_eq!(get_some(&*store, bob_same_id.key(), now).await, bob_same_id);
    store.delete_all(&bob, &full).await.unwrap();
    assert_eq!(get_some(&*store, a.key(), now).await, a);
}

/// Session types partition a user's sessions; type names are case-sensitive.
pub async fn session_types_are_separated(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let types = [stype("full"), stype("Full"), stype("oauth2"), stype("a.b")];
    let sid = random_id();
    let mut stored = Vec::new();
    for (i, ty) in types.iter().enumerate() {
        let mut s = new_session(&user, ty, now);
        s.id.clone_from(&sid);
        s.extra_payload.insert("i".into(), json!(i));
        stored.push(create(&*store, &s, now).await);
    }
    for (ty, s) in types.iter().zip(&stored) {
        assert_eq!(
            get_some(&*store, SessionKey::new(&sid, &user, ty), now).await,
            *s
        );
        assert_eq!(
            ids_of_all(&*store, &user, ty, now).await,
            set([sid.as_str()])
        );
    }
    // Updating and deleting one type leaves the others alone.
    let v = store.update(&stored[0], now).await.unwrap();
    assert_eq!(v, 2);
    assert_eq!(
        get_some(&*store, stored[1].key(), now).await.lock_version,
        1
    );
    assert!(store.delete(stored[0].key(), now).await.unwrap());
    store.delete_all(&user, &types[1]).await.unwrap();
    assert_eq!(store.get(stored[0].key(), now).await.unwrap(), None);
    assert_eq!(store.get(stored[1].key(), now).await.unwrap(), None);
    assert_eq!(get_some(&*store, stored[2].key(), now).await, stored[2]);
    assert_eq!(get_some(&*store, stored[3].key(), now).await, stored[3]);
}

/// (user, type) pairs that concatenate to the same text stay apart: `r.a` + `b` vs
/// `r` + `a.b`, for every separator a type may contain. (Types cannot contain `:`, `{`,
/// `}` or `%`; those are covered by [`hostile_user_ids_are_isolated`].)
pub async fn user_and_type_splits_do_not_collide(store: Arc<dyn SessionStore>) {
    let now = now();
    let r = random_id();
    let mut pairs = Vec::new();
    for sep in [".", "-", "_"] {
        pairs.push((format!("{r}{sep}a"), stype("b")));
        pairs.push((r.clone(), stype(&format!("a{sep}b"))));
        pairs.push((format!("{r}{sep}a{sep}b"), stype("full")));
        pairs.push((format!("{r}{sep}"), stype(&format!("a{sep}b"))));
    }
    pairs.push((format!("{r}a"), stype("b")));
    pairs.push((r.clone(), stype("ab")));
    pairs.push((format!("{r}:a"), stype("b")));
    pairs.push((format!("{r}:"), stype("ab")));
    pairs.push((format!("{r}:a:b"), stype("full")));
    check_isolated(&*store, &pairs, now).await;
    for (user, ty) in &pairs {
        store.delete_all(user, ty).await.unwrap();
    }
}

/// User ids full of key syntax, encodings, prefixes of each other, empty, huge or
/// non-ASCII never see each other's sessions.
pub async fn hostile_user_ids_are_isolated(store: Arc<dyn SessionStore>) {
    let now = now();
    let r = random_id();
    let mut users: Vec<String> = [
        "", "{", "}", ":", "%", "{}", "}{", "%25", "%7B", "%3A", "ü", "\u{0}",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for suffix in [
        "", "{", "}", "{}", "}{", ":", "::", ":full", "%", "%%", "%25", "%7B", "%7D", "%3A", "%3a",
        ".", ".full", "a", "a:", ":a", "ü", "😀", "\u{0}", "\n", " ", "\\", "\"", "*", "?", "[a]",
    ] {
        users.push(format!("{r}{suffix}"));
        users.push(format!("{{{r}}}{suffix}"));
        users.push(format!("{suffix}{r}"));
    }
    users.push(format!("{r}{}", "x".repeat(10 * 1024)));
    users.push(format!("{r}{}", "{".repeat(10 * 1024)));
    users.push(format!("{r}{}", "é".repeat(5 * 1024)));
    users.sort();
    users.dedup();

    let types = [SessionType::default(), stype("a.b")];
    let pairs: Vec<(String, SessionType)> = users
        .iter()
        .flat_map(|u| types.iter().map(move |t| (u.clone(), t.clone())))
        .collect();
    check_isolated(&*store, &pairs, now).await;

    // Clean up one (user, type) after the other; the rest stay untouched each time.
    let shared: Vec<(String, SessionType)> = pairs
        .iter()
        .filter(|(u, _)| !u.contains(&r))
        .cloned()
        .collect();
    for (user, ty) in &pairs {
        store.delete_all(user, ty).await.unwrap();
        assert!(store.get_all(user, ty, now).await.unwrap().is_empty());
    }
    // Fixed ids are shared across runs: leave nothing behind.
    for (user, ty) in &shared {
        assert!(ids_of_all(&*store, user, ty, now).await.is_empty());
    }
}

/// Create one session with a unique id and one with a shared id for every (user, type),
/// then check each sees exactly its own. Extra sessions from earlier runs are tolerated
/// (fixed hostile ids may have leftovers) but must belong to that (user, type).
async fn check_isolated(store: &dyn SessionStore, pairs: &[(String, SessionType)], now: UnixTime) {
    let shared_sid = random_id();
    let mut mine: Vec<(Session, Session)> = Vec::new();
    for (user, ty) in pairs {
        let unique = create(store, &new_session(user, ty, now), now).await;
        let mut shared = new_session(user, ty, now);
        shared.id.clone_from(&shared_sid);
        shared.extra_payload.insert("user".into(), json!(user));
        let shared = create(store, &shared, now).await;
        mine.push((unique, shared));
    }
    let all_unique: BTreeSet<String> = mine.iter().map(|(u, _)| u.id.clone()).collect();
    for ((user, ty), (unique, shared)) in pairs.iter().zip(&mine) {
        assert_eq!(get_some(store, unique.key(), now).await, *unique);
        assert_eq!(get_some(store, shared.key(), now).await, *shared);
        let ids = ids_of_all(store, user, ty, now).await;
        let ours: BTreeSet<String> = ids
            .iter()
            .filter(|id| all_unique.contains(*id) || **id == shared_sid)
            .cloned()
            .collect();
        assert_eq!(
            ours,
            set([unique.id.as_str(), shared_sid.as_str()]),
            "user {user:?} type {ty}"
        );
    }
    // A key mixing one pair's session id with another pair's user never matches.
    for (i, (unique, _)) in mine.iter().enumerate() {
        let (other_user, other_ty) = &pairs[(i + 1) % pairs.len()];
        let key = SessionKey::new(&unique.id, other_user, other_ty);
        assert_eq!(store.get(key, now).await.unwrap(), None, "{key:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

/// The application payload comes back exactly, through create, update and `get_all`.
pub async fn extra_payload_round_trips_exactly(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    let mut session = new_session(&user, &full, now);
    let payload = json!({
        "string": "text with \"quotes\", \\ and \u{0} and ünïcödé 😀",
        "empty": "",
        "int": -42,
        "big": u64::MAX,
        "small": i64::MIN,
        "float": 1.5,
        "tiny": 0.000_976_562_5,
        "bool": true,
        "null": null,
        "array": [1, "two", [3], {"four": 4}, []],
        "object": {"nested": {"deeper": {"k": "v"}}, "": "empty key"},
        "{}:%.": "key syntax in a key",
    });
    let serde_json::Value::Object(map) = payload else {
        unreachable!()
    };
    session.extra_payload = map;
    let stored = create(&*store, &session, now).await;
    assert_eq!(get_some(&*store, session.key(), now).await, stored);

    let mut updated = stored.clone();
    updated
        .extra_payload
        .insert("added".into(), json!({"at": now}));
    updated.extra_payload.remove("null");
    let v = store.update(&updated, now).await.unwrap();
    let expected = at_version(&updated, v);
    assert_eq!(get_some(&*store, session.key(), now).await, expected);
    assert_eq!(
        store.get_all(&user, &full, now).await.unwrap(),
        vec![expected]
    );

    // An empty payload stays empty.
    let mut empty = new_session(&user, &full, now);
    empty.extra_payload.clear();
    let stored = create(&*store, &empty, now).await;
    assert_eq!(get_some(&*store, empty.key(), now).await, stored);
}

/// A fresh integer user id, unused by other tests: from a random id, never 0.
pub fn random_integer_user() -> u64 {
    random_id().bytes().fold(0_u64, |acc, b| {
        acc.wrapping_mul(131).wrapping_add(u64::from(b))
    }) | 1
}

/// Integer user ids (Charon's `"sub": 42`) keep their JSON type through every operation,
/// with the extra claims a session keeps. Stores key user ids by their text, as Charon's
/// Redis store keys them by `to_string(user_id)`: the integer `n` and the string `"n"`
/// share a key, and each session comes back with its own type.
pub async fn integer_user_ids_keep_their_type(store: Arc<dyn SessionStore>) {
    let now = now();
    let n = random_integer_user();
    let text = n.to_string();
    let full = SessionType::default();
    let mut int = new_session(&text, &full, now);
    int.user_id = n.into();
    int.access_claims = json!({"scope": "read admin", "tenant": 7})
        .as_object()
        .cloned()
        .unwrap();
    int.refresh_claims = json!({"device": "phone"}).as_object().cloned().unwrap();
    let stored = create(&*store, &int, now).await;
    let got = get_some(&*store, int.key(), now).await;
    assert_eq!(
        got, stored,
        "an exact copy, user id type and claims included"
    );
    assert_eq!(got.user_id.as_u64(), Some(n));
    assert_eq!(
        serde_json::to_value(&got.user_id).unwrap(),
        json!(n),
        "still a number"
    );

    let string = new_session(&text, &full, now);
    assert!(!string.user_id.is_integer());
    let stored_string = create(&*store, &string, now).await;
    let mut all = store.get_all(&text, &full, now).await.unwrap();
    all.sort_by_key(|s| s.user_id.is_integer());
    assert_eq!(all, vec![stored_string.clone(), stored.clone()]);

    let mut updated = stored.clone();
    updated.refreshed_at = now + 1;
    let v = store.update(&updated, now).await.unwrap();
    let got = get_some(&*store, int.key(), now).await;
    assert_eq!(got, at_version(&updated, v));
    assert!(got.user_id.is_integer(), "an update keeps the type");

    assert!(store.delete(int.key(), now).await.unwrap());
    assert_eq!(store.get(int.key(), now).await.unwrap(), None);
    assert_eq!(
        get_some(&*store, string.key(), now).await,
        stored_string,
        "the string id's session stays"
    );
    store.delete_all(&text, &full).await.unwrap();
    assert!(store.get_all(&text, &full, now).await.unwrap().is_empty());
}

/// Sessions without an absolute end (`expires_at: None`) round-trip, and still expire at
/// `refresh_expires_at`.
pub async fn infinite_sessions_round_trip(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let mut session = new_session(&user, &SessionType::default(), now);
    session.expires_at = None;
    let stored = create(&*store, &session, now).await;
    let read = get_some(&*store, session.key(), now).await;
    assert_eq!(read.expires_at, None);
    assert_eq!(read, stored);

    let v = store.update(&read, now).await.unwrap();
    assert_eq!(
        get_some(&*store, session.key(), now).await,
        at_version(&read, v)
    );
    assert_eq!(store.get(session.key(), now + LATER).await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------------
// Session cap
// ---------------------------------------------------------------------------------------------

/// Up to the cap, capped creates evict nothing and every session stays.
pub async fn capped_creates_within_the_cap_evict_nothing(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    let mut stored = Vec::new();
    for i in 0..3 {
        let s = session_ending(&user, &full, now, now + TTL - i);
        stored.push(create_capped(&*store, &s, cap(3), now, &[]).await);
    }
    for s in &stored {
        assert_eq!(get_some(&*store, s.key(), now).await, *s);
    }
    assert_eq!(ids_of_all(&*store, &user, &full, now).await.len(), 3);
}

/// Over the cap, a create evicts the session with the lowest `refresh_expires_at`
/// (whatever the order of creation), reports it, and leaves the others untouched.
pub async fn a_create_over_the_cap_evicts_the_session_that_ends_first(
    store: Arc<dyn SessionStore>,
) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    let mid = create_capped(
        &*store,
        &session_ending(&user, &full, now, now + TTL - 20),
        cap(3),
        now,
        &[],
    )
    .await;
    let first = create_capped(
        &*store,
        &session_ending(&user, &full, now, now + TTL - 30),
        cap(3),
        now,
        &[],
    )
    .await;
    let last = create_capped(
        &*store,
        &session_ending(&user, &full, now, now + TTL - 10),
        cap(3),
        now,
        &[],
    )
    .await;

    let fourth = session_ending(&user, &full, now, now + TTL);
    let fourth = create_capped(&*store, &fourth, cap(3), now, &[first.id.as_str()]).await;
    assert_evicted(&*store, &first, now).await;
    for s in [&mid, &last, &fourth] {
        assert_eq!(get_some(&*store, s.key(), now).await, *s);
    }
    assert_eq!(
        ids_of_all(&*store, &user, &full, now).await,
        set([mid.id.as_str(), last.id.as_str(), fourth.id.as_str()])
    );

    // The next one evicts the next to end.
    let fifth = session_ending(&user, &full, now, now + TTL + 1);
    let fifth = create_capped(&*store, &fifth, cap(3), now, &[mid.id.as_str()]).await;
    assert_evicted(&*store, &mid, now).await;
    assert_eq!(
        ids_of_all(&*store, &user, &full, now).await,
        set([last.id.as_str(), fourth.id.as_str(), fifth.id.as_str()])
    );
    // A refresh moves a session to the back of the line.
    let mut refreshed = last.clone();
    refreshed.refresh_expires_at = now + 2 * TTL;
    let v = store.update(&refreshed, now).await.unwrap();
    let refreshed = at_version(&refreshed, v);
    let sixth = session_ending(&user, &full, now, now + TTL);
    create_capped(&*store, &sixth, cap(3), now, &[fourth.id.as_str()]).await;
    assert_eq!(get_some(&*store, refreshed.key(), now).await, refreshed);
}

/// With a cap of 1 every create replaces the previous session, even when the new one
/// ends sooner: the new session is never the one evicted.
pub async fn cap_one_keeps_only_the_new_session(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    let a = create_capped(&*store, &new_session(&user, &full, now), cap(1), now, &[]).await;
    let b = session_ending(&user, &full, now, now + TTL - 50);
    let b = create_capped(&*store, &b, cap(1), now, &[a.id.as_str()]).await;
    assert_evicted(&*store, &a, now).await;
    assert_eq!(
        ids_of_all(&*store, &user, &full, now).await,
        set([b.id.as_str()])
    );
    let c = create_capped(
        &*store,
        &new_session(&user, &full, now),
        cap(1),
        now,
        &[b.id.as_str()],
    )
    .await;
    assert_eq!(get_some(&*store, c.key(), now).await, c);
    assert_eq!(
        ids_of_all(&*store, &user, &full, now).await,
        set([c.id.as_str()])
    );
}

/// Sessions ending at the same second are evicted lowest session id first.
pub async fn eviction_ties_break_by_session_id(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    let r = random_id();
    for suffix in ["b", "a", "c"] {
        let mut s = new_session(&user, &full, now);
        s.id = format!("{r}-{suffix}");
        create_capped(&*store, &s, None, now, &[]).await;
    }
    let (a, b, c) = (format!("{r}-a"), format!("{r}-b"), format!("{r}-c"));
    let new = new_session(&user, &full, now);
    create_capped(&*store, &new, cap(2), now, &[a.as_str(), b.as_str()]).await;
    assert_eq!(
        ids_of_all(&*store, &user, &full, now).await,
        set([c.as_str(), new.id.as_str()])
    );
}

/// Sessions beyond a cap (created uncapped, or under a higher cap) all go with the next
/// capped create, soonest to end first, in that one call.
pub async fn a_lower_cap_evicts_down_to_it_in_one_create(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    let mut old = Vec::new();
    for i in 0..6 {
        // Created newest-ending first, so creation order and eviction order differ.
        let s = session_ending(&user, &full, now, now + TTL - i);
        old.push(create_capped(&*store, &s, None, now, &[]).await);
    }
    // Ending soonest first: old[5], old[4], …, old[0].
    let expected: Vec<&str> = old[1..].iter().rev().map(|s| s.id.as_str()).collect();
    let new = new_session(&user, &full, now);
    let new = create_capped(&*store, &new, cap(2), now, &expected).await;
    for s in &old[1..] {
        assert_evicted(&*store, s, now).await;
    }
    assert_eq!(
        ids_of_all(&*store, &user, &full, now).await,
        set([old[0].id.as_str(), new.id.as_str()])
    );
}

/// Expired sessions do not count toward the cap, and are never reported as evicted.
pub async fn expired_sessions_neither_count_nor_get_evicted(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    // Two sessions that end soon, two that live on.
    for _ in 0..2 {
        create(&*store, &session_ending(&user, &full, now, now + 10), now).await;
    }
    let long_a = create(&*store, &session_ending(&user, &full, now, now + TTL), now).await;
    let long_b = create(
        &*store,
        &session_ending(&user, &full, now, now + TTL + 1),
        now,
    )
    .await;

    let later = now + 11;
    // Two live others under a cap of 3: room for one more without evicting.
    let third = session_ending(&user, &full, later, later + TTL);
    create_capped(&*store, &third, cap(3), later, &[]).await;
    // Now three: the live one ending first goes, never an expired one.
    let fourth = session_ending(&user, &full, later, later + TTL);
    create_capped(&*store, &fourth, cap(3), later, &[long_a.id.as_str()]).await;
    assert_eq!(
        ids_of_all(&*store, &user, &full, later).await,
        set([long_b.id.as_str(), third.id.as_str(), fourth.id.as_str()])
    );
}

/// The cap is per (user, type): other users' and other types' sessions neither count nor
/// get evicted.
pub async fn the_cap_counts_one_user_and_type(store: Arc<dyn SessionStore>) {
    let now = now();
    let (user, other_user) = (random_id(), random_id());
    let (full, oauth) = (SessionType::default(), stype("oauth2"));
    let mut bystanders = Vec::new();
    for (u, ty) in [(&user, &oauth), (&other_user, &full)] {
        for _ in 0..2 {
            bystanders.push(create(&*store, &new_session(u, ty, now), now).await);
        }
    }
    let a = create(
        &*store,
        &session_ending(&user, &full, now, now + TTL - 1),
        now,
    )
    .await;
    let b = create(&*store, &new_session(&user, &full, now), now).await;

    let c = create_capped(
        &*store,
        &new_session(&user, &full, now),
        cap(2),
        now,
        &[a.id.as_str()],
    )
    .await;
    assert_eq!(
        ids_of_all(&*store, &user, &full, now).await,
        set([b.id.as_str(), c.id.as_str()])
    );
    for s in &bystanders {
        assert_eq!(get_some(&*store, s.key(), now).await, *s);
    }
    // The same id under another user is another session: a cap of 1 there leaves ours.
    let mut twin = c.clone();
    twin.user_id = other_user.as_str().into();
    twin.lock_version = 0;
    // Both end at the same second: lowest id first.
    let mut other_ids: Vec<&str> = bystanders[2..].iter().map(|s| s.id.as_str()).collect();
    other_ids.sort_unstable();
    create_capped(&*store, &twin, cap(1), now, &other_ids).await;
    assert_eq!(get_some(&*store, c.key(), now).await, c);
}

/// A create that conflicts evicts nothing, however full the bucket.
pub async fn a_conflicting_create_evicts_nothing(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    let a = create(
        &*store,
        &session_ending(&user, &full, now, now + TTL - 1),
        now,
    )
    .await;
    let b = create(&*store, &new_session(&user, &full, now), now).await;
    let mut again = b.clone();
    again.lock_version = 0;
    again.refresh_token_id = random_id();
    let result = store.create(&again, cap(1), now).await;
    assert_eq!(kind(&result), Some(StoreErrorKind::Conflict));
    assert_eq!(get_some(&*store, a.key(), now).await, a);
    assert_eq!(get_some(&*store, b.key(), now).await, b);
}

/// A create of a session already past its end makes no room: it is not live.
pub async fn an_already_expired_create_evicts_nothing(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    let live = create(&*store, &new_session(&user, &full, now), now).await;
    let dead = session_ending(&user, &full, now - 100, now - 1);
    let created = store.create(&dead, cap(1), now).await.unwrap();
    assert_eq!(created, Created::new(1, Vec::new()));
    assert_eq!(store.get(dead.key(), now).await.unwrap(), None);
    assert_eq!(get_some(&*store, live.key(), now).await, live);
    assert_eq!(
        ids_of_all(&*store, &user, &full, now).await,
        set([live.id.as_str()])
    );
}

/// [`RACERS`] tasks create sessions of one user at once under a cap of 4, while readers
/// list them: no listing ever shows more than 4, every create succeeds, every session is
/// either evicted exactly once (reported by exactly one create) or left, and 4 are left.
pub async fn concurrent_capped_creates_never_exceed_the_cap(store: Arc<dyn SessionStore>) {
    const CAP: u32 = 4;
    let now = now();
    let user = random_id();
    let full = SessionType::default();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (store, done, user, full) =
                (store.clone(), done.clone(), user.clone(), full.clone());
            tokio::spawn(async move {
                let mut reads = 0_usize;
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let all = store.get_all(&user, &full, now).await.unwrap();
                    assert!(
                        all.len() <= CAP as usize,
                        "a listing showed {} sessions under a cap of {CAP}",
                        all.len()
                    );
                    reads += 1;
                    if finished {
                        return reads;
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();

    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            // Distinct ends, unrelated to the order the tasks happen to run in.
            let offset = i64::try_from((i * 7) % RACERS).unwrap();
            let mine = session_ending(&user, &full, now, now + TTL - offset);
            tokio::spawn(async move {
                barrier.wait().await;
                let result = store.create(&mine, cap(CAP), now).await;
                (mine.id, result)
            })
        })
        .collect();
    let mut created = BTreeSet::new();
    let mut evicted = BTreeSet::new();
    for task in tasks {
        let (id, result) = task.await.expect("task ran");
        let result = result.expect("every capped create succeeds");
        assert_eq!(result.lock_version, 1);
        assert!(created.insert(id));
        for e in result.evicted {
            assert!(evicted.insert(e.clone()), "{e} reported evicted twice");
        }
    }
    done.store(true, Ordering::SeqCst);
    for reader in readers {
        assert!(reader.await.expect("reader ran") > 0);
    }

    let left = ids_of_all(&*store, &user, &full, now).await;
    assert_eq!(left.len(), CAP as usize);
    assert!(
        left.is_disjoint(&evicted),
        "a session reported evicted is still there"
    );
    assert!(
        evicted.is_subset(&created),
        "an unknown id was reported evicted"
    );
    let everything: BTreeSet<String> = left.union(&evicted).cloned().collect();
    assert_eq!(
        everything, created,
        "a session vanished without being reported"
    );
}

// ---------------------------------------------------------------------------------------------
// Every type of a user (`session_types`)
// ---------------------------------------------------------------------------------------------

/// The types `session_types` lists, as a sorted set of names; asserts no duplicates.
pub async fn type_names(store: &dyn SessionStore, user: &str, now: UnixTime) -> BTreeSet<String> {
    let types = store
        .session_types(user, now)
        .await
        .expect("session_types succeeds");
    let names: BTreeSet<String> = types.iter().map(|t| t.as_str().to_owned()).collect();
    assert_eq!(
        names.len(),
        types.len(),
        "session_types listed a type twice"
    );
    names
}

/// `session_types` lists exactly the types a user wrote sessions of (never another user's,
/// never one the user never had), through creates and updates; after the sessions of a
/// type are deleted it may still list that type, but no other.
pub async fn session_types_lists_every_type_of_a_user(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let other = random_id();
    assert!(type_names(&*store, &user, now).await.is_empty());

    let types = [SessionType::default(), stype("oauth2"), stype("a.b")];
    let mut sessions = Vec::new();
    for ty in &types {
        sessions.push(create(&*store, &new_session(&user, ty, now), now).await);
    }
    create(&*store, &new_session(&other, &stype("x"), now), now).await;
    let mine = set(["full", "oauth2", "a.b"]);
    assert_eq!(type_names(&*store, &user, now).await, mine);
    assert_eq!(type_names(&*store, &other, now).await, set(["x"]));

    // A refresh keeps the type listed.
    let v = store.update(&sessions[1], now).await.unwrap();
    assert_eq!(v, 2);
    assert_eq!(type_names(&*store, &user, now).await, mine);

    // After a delete_all, the deleted type may stay listed; the others must.
    store.delete_all(&user, &types[1]).await.unwrap();
    let listed = type_names(&*store, &user, now).await;
    assert!(listed.is_subset(&mine), "{listed:?}");
    assert!(
        listed.contains("full") && listed.contains("a.b"),
        "{listed:?}"
    );
    // A new login of the deleted type is listed again.
    create(&*store, &new_session(&user, &types[1], now), now).await;
    assert_eq!(type_names(&*store, &user, now).await, mine);
}

/// A session refreshed past its first `refresh_expires_at` (and far past it) is still
/// listed at a `now` long after the original expiry: the listing follows refreshes, not
/// only logins.
pub async fn session_types_follow_refreshes_past_the_first_expiry(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let ty = stype("long.lived");
    let mut s = create(&*store, &new_session(&user, &ty, now), now).await;
    // Refresh just before the end, for three times the TTL more; twice.
    let mut at = now;
    for _ in 0..2 {
        at = s.refresh_expires_at - 1;
        s.refresh_expires_at = at + 3 * TTL;
        s.expires_at = Some(at + 10 * TTL);
        s.lock_version = store.update(&s, at).await.unwrap();
    }
    let late = at + 3 * TTL - 1;
    assert_eq!(get_some(&*store, s.key(), late).await, s);
    assert_eq!(type_names(&*store, &user, late).await, set(["long.lived"]));
}

/// Users whose ids look alike, or would escape a key's hash tag, each get their own list.
pub async fn session_types_of_hostile_user_ids_stay_apart(store: Arc<dyn SessionStore>) {
    let now = now();
    let r = random_id();
    let users = [
        r.clone(),
        format!("{r}:full"),
        format!("{r}:"),
        format!("{{{r}}}"),
        format!("{r}}}"),
        format!("{r}%3A"),
        format!("{r}%"),
        format!("{r}\u{0}"),
    ];
    for (i, user) in users.iter().enumerate() {
        create(
            &*store,
            &new_session(user, &stype(&format!("t{i}")), now),
            now,
        )
        .await;
    }
    for (i, user) in users.iter().enumerate() {
        assert_eq!(
            type_names(&*store, user, now).await,
            set([format!("t{i}").as_str()]),
            "user {user:?}"
        );
    }
}
