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
//! use charon_auth::store::SessionStore;
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
use std::sync::Arc;

use charon_auth::clock::{Clock, SystemClock, UnixTime};
use charon_auth::error::{StoreError, StoreErrorKind};
use charon_auth::session::{Session, SessionKey, SessionType, random_id};
use charon_auth::store::{SessionStore, WriteMode};
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
            infinite_sessions_round_trip,
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
        user.to_owned(),
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
    let version = store
        .upsert(session, WriteMode::Create, now)
        .await
        .expect("create succeeds");
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
        assert_eq!(s.user_id, user, "get_all returned another user's session");
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

/// Create of a session that exists is a `Conflict` and changes nothing.
pub async fn create_over_a_live_session_conflicts(store: Arc<dyn SessionStore>) {
    let now = now();
    let user = random_id();
    let session = new_session(&user, &SessionType::default(), now);
    let stored = create(&*store, &session, now).await;

    let mut again = session.clone();
    again.refresh_token_id = random_id();
    let result = store.upsert(&again, WriteMode::Create, now).await;
    assert_eq!(kind(&result), Some(StoreErrorKind::Conflict));
    // Also with the version that was read.
    let mut read = stored.clone();
    read.refresh_token_id = random_id();
    let result = store.upsert(&read, WriteMode::Create, now).await;
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
            .upsert(&next, WriteMode::Update, now)
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
    let result = store.upsert(&original, WriteMode::Update, now).await;
    assert_eq!(kind(&result), Some(StoreErrorKind::Conflict));

    // Two writers read v1; the first wins, the second is stale.
    let mut first = v1.clone();
    first.refresh_token_id = random_id();
    let mut second = v1.clone();
    second.refresh_token_id = random_id();
    assert_eq!(
        store.upsert(&first, WriteMode::Update, now).await.unwrap(),
        2
    );
    let result = store.upsert(&second, WriteMode::Update, now).await;
    assert_eq!(kind(&result), Some(StoreErrorKind::Conflict));

    // A version from the future conflicts too.
    let mut future = v1.clone();
    future.lock_version = 7;
    let result = store.upsert(&future, WriteMode::Update, now).await;
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
        let result = store.upsert(&session, WriteMode::Update, now).await;
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
            .delete(SessionKey::new(&random_id(), &user, &full))
            .await
            .unwrap()
    );
    assert!(store.delete(a.key()).await.unwrap());
    assert!(!store.delete(a.key()).await.unwrap());
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
    assert!(store.delete(read.key()).await.unwrap());

    let mut refreshed = read.clone();
    refreshed.refresh_token_id = random_id();
    let result = store.upsert(&refreshed, WriteMode::Update, now).await;
    assert_eq!(kind(&result), Some(StoreErrorKind::NotFound));
    assert_eq!(store.get(read.key(), now).await.unwrap(), None);
    assert!(!store.delete(read.key()).await.unwrap());

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
    let v = store
        .upsert(&updated, WriteMode::Update, now)
        .await
        .unwrap();
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
        let result = store.upsert(s, WriteMode::Update, now).await;
        assert_eq!(kind(&result), Some(StoreErrorKind::NotFound));
        assert!(!store.delete(s.key()).await.unwrap());
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
        user.clone(),
        SessionType::default(),
        later,
        None,
        later + TTL,
        random_id(),
    );
    fresh.extra_payload.insert("fresh".into(), json!(true));
    let version = store
        .upsert(&fresh, WriteMode::Create, later)
        .await
        .unwrap();
    assert_eq!(version, 1);
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
    let result = store.upsert(&refreshed, WriteMode::Update, later).await;
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
                let result = store.upsert(&mine, WriteMode::Update, now).await;
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
                let result = store.upsert(&mine, WriteMode::Create, now).await;
                (mine, result)
            })
        })
        .collect();

    let mut winners = Vec::new();
    for task in tasks {
        let (mine, result) = task.await.expect("task ran");
        match result {
            Ok(version) => {
                assert_eq!(version, 1);
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
                let result = store.upsert(&mine, WriteMode::Update, now).await;
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
                store.delete(read.key()).await
            })
        };
        let updater = {
            let (store, barrier) = (store.clone(), barrier.clone());
            let mut mine = read.clone();
            mine.refresh_token_id = random_id();
            tokio::spawn(async move {
                barrier.wait().await;
                store.upsert(&mine, WriteMode::Update, now).await
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
        assert!(!store.delete(read.key()).await.unwrap());
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
    forged.user_id = bob.clone();
    let result = store.upsert(&forged, WriteMode::Update, now).await;
    assert_eq!(kind(&result), Some(StoreErrorKind::NotFound));
    assert!(
        !store
            .delete(SessionKey::new(&a.id, &bob, &full))
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
    let v = store
        .upsert(&stored[0], WriteMode::Update, now)
        .await
        .unwrap();
    assert_eq!(v, 2);
    assert_eq!(
        get_some(&*store, stored[1].key(), now).await.lock_version,
        1
    );
    assert!(store.delete(stored[0].key()).await.unwrap());
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
    let v = store
        .upsert(&updated, WriteMode::Update, now)
        .await
        .unwrap();
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

    let v = store.upsert(&read, WriteMode::Update, now).await.unwrap();
    assert_eq!(
        get_some(&*store, session.key(), now).await,
        at_version(&read, v)
    );
    assert_eq!(store.get(session.key(), now + LATER).await.unwrap(), None);
}
