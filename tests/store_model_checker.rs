//! Tests of the model checker itself (`support::model`): hand-built histories it must
//! accept or reject, and deliberately broken stores the randomized run must catch.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use charon_auth::clock::UnixTime;
use charon_auth::error::{StoreError, StoreErrorKind};
use charon_auth::session::{Session, SessionKey, SessionType};
use charon_auth::store::{Created, MemoryStore, SessionStore, StoreFuture};
use support::model::{History, ModelConfig, Op, OpKind, check_history, run_workload};

const NOW: UnixTime = 1_700_000_000;
const BUDGET: usize = 100_000;

// ---------------------------------------------------------------------------------------------
// Hand-built histories: one user, one type, one session id "s0".
// ---------------------------------------------------------------------------------------------

fn history(ops: Vec<Op>) -> History {
    History {
        buckets: vec![("u".into(), SessionType::default())],
        sids: vec!["s0".into()],
        ops,
        real_start: 0,
        real_end: 0,
    }
}

/// The session a write passes: written by `tag`, read at `version`, expiring at `exp`.
fn session(tag: &str, version: u64, exp: UnixTime) -> Session {
    let mut s = Session::new(
        "s0".into(),
        "u".into(),
        SessionType::default(),
        NOW,
        None,
        exp,
        tag.into(),
    );
    s.lock_version = version;
    s
}

/// What the store holds after the write `tag` from `version` succeeded.
fn stored(tag: &str, version: u64, exp: UnixTime) -> Session {
    session(tag, version + 1, exp)
}

fn op(task: usize, inv: u64, comp: u64, now: UnixTime, kind: OpKind) -> Op {
    let sid = match kind {
        OpKind::GetAll { .. } | OpKind::DeleteAll { .. } => None,
        _ => Some(0),
    };
    Op {
        task,
        inv,
        comp,
        bucket: 0,
        sid,
        now,
        kind,
    }
}

fn create(tag: &str, exp: UnixTime, result: Result<u64, StoreErrorKind>) -> OpKind {
    OpKind::Create {
        session: session(tag, 0, exp),
        result,
    }
}

fn update(tag: &str, from: u64, exp: UnixTime, result: Result<u64, StoreErrorKind>) -> OpKind {
    OpKind::Update {
        session: session(tag, from, exp),
        result,
    }
}

fn get(result: Option<Session>) -> OpKind {
    OpKind::Get { result: Ok(result) }
}

fn delete(found: bool) -> OpKind {
    OpKind::Delete { result: Ok(found) }
}

const EXP: UnixTime = NOW + 100;

#[track_caller]
fn rejected_with(ops: Vec<Op>, needle: &str) {
    match check_history(&history(ops), BUDGET) {
        Ok(()) => panic!("the checker accepted a bad history (expected {needle:?})"),
        Err(e) => assert!(e.contains(needle), "expected {needle:?} in:\n{e}"),
    }
}

#[track_caller]
fn accepted(ops: Vec<Op>) {
    if let Err(e) = check_history(&history(ops), BUDGET) {
        panic!("the checker rejected a good history:\n{e}");
    }
}

#[test]
fn accepts_a_good_concurrent_history() {
    accepted(vec![
        op(0, 0, 1, NOW, create("a", EXP, Ok(1))),
        op(1, 2, 3, NOW, get(Some(stored("a", 0, EXP)))),
        // Two concurrent updates from version 1: b wins, c conflicts.
        op(1, 4, 7, NOW, update("b", 1, EXP, Ok(2))),
        op(
            0,
            5,
            6,
            NOW,
            update("c", 1, EXP, Err(StoreErrorKind::Conflict)),
        ),
        // A read overlapping the winning update may see either version.
        op(2, 3, 8, NOW, get(Some(stored("a", 0, EXP)))),
        op(0, 9, 10, NOW, get(Some(stored("b", 1, EXP)))),
        op(0, 11, 14, NOW, delete(true)),
        // An update racing the delete may win (before it) ...
        op(1, 12, 13, NOW, update("d", 2, EXP, Ok(3))),
        // ... and everything after the delete sees nothing.
        op(1, 15, 16, NOW, get(None)),
        op(
            2,
            17,
            18,
            NOW,
            update("e", 3, EXP, Err(StoreErrorKind::NotFound)),
        ),
        op(2, 19, 20, NOW, delete(false)),
        // Re-create the deleted id.
        op(0, 21, 22, NOW, create("f", EXP, Ok(1))),
        op(
            1,
            23,
            24,
            NOW,
            OpKind::GetAll {
                result: Ok(vec![stored("f", 0, EXP)]),
            },
        ),
        op(1, 25, 26, NOW, OpKind::DeleteAll { result: Ok(()) }),
        op(0, 27, 28, NOW, get(None)),
    ]);
}

#[test]
fn rejects_a_lost_update() {
    rejected_with(
        vec![
            op(0, 0, 1, NOW, create("a", EXP, Ok(1))),
            op(0, 2, 3, NOW, update("b", 1, EXP, Ok(2))),
            op(1, 4, 5, NOW, update("c", 1, EXP, Ok(2))),
        ],
        "lost update",
    );
    // Both concurrent, both won from the same version.
    rejected_with(
        vec![
            op(0, 0, 1, NOW, create("a", EXP, Ok(1))),
            op(0, 2, 5, NOW, update("b", 1, EXP, Ok(2))),
            op(1, 3, 4, NOW, update("c", 1, EXP, Ok(2))),
        ],
        "not linearizable",
    );
}

#[test]
fn rejects_an_update_resurrecting_a_deleted_session() {
    rejected_with(
        vec![
            op(0, 0, 1, NOW, create("a", EXP, Ok(1))),
            op(1, 2, 3, NOW, delete(true)),
            op(0, 4, 5, NOW, update("b", 1, EXP, Ok(2))),
        ],
        "resurrection",
    );
}

#[test]
fn rejects_a_read_after_delete_all() {
    rejected_with(
        vec![
            op(0, 0, 1, NOW, create("a", EXP, Ok(1))),
            op(1, 2, 3, NOW, OpKind::DeleteAll { result: Ok(()) }),
            op(0, 4, 5, NOW, get(Some(stored("a", 0, EXP)))),
        ],
        "resurrection",
    );
}

#[test]
fn rejects_a_spurious_conflict() {
    rejected_with(
        vec![
            op(0, 0, 1, NOW, create("a", EXP, Ok(1))),
            op(
                1,
                2,
                3,
                NOW,
                update("b", 1, EXP, Err(StoreErrorKind::Conflict)),
            ),
        ],
        "spurious conflict",
    );
    // A conflict on a deleted session must be NotFound.
    rejected_with(
        vec![
            op(0, 0, 1, NOW, create("a", EXP, Ok(1))),
            op(0, 2, 3, NOW, delete(true)),
            op(
                1,
                4,
                5,
                NOW,
                update("b", 1, EXP, Err(StoreErrorKind::Conflict)),
            ),
        ],
        "spurious conflict",
    );
}

#[test]
fn rejects_a_spurious_not_found_and_a_lost_session() {
    rejected_with(
        vec![
            op(0, 0, 1, NOW, create("a", EXP, Ok(1))),
            op(
                1,
                2,
                3,
                NOW,
                update("b", 1, EXP, Err(StoreErrorKind::NotFound)),
            ),
        ],
        "spurious not-found",
    );
    rejected_with(
        vec![
            op(0, 0, 1, NOW, create("a", EXP, Ok(1))),
            op(1, 2, 3, NOW, get(None)),
        ],
        "lost session",
    );
}

#[test]
fn rejects_an_expired_read_and_an_update_of_an_expired_session() {
    rejected_with(
        vec![
            op(0, 0, 1, NOW, create("a", NOW + 10, Ok(1))),
            op(1, 2, 3, NOW + 11, get(Some(stored("a", 0, NOW + 10)))),
        ],
        "expired read",
    );
    rejected_with(
        vec![
            op(0, 0, 1, NOW, create("a", NOW + 10, Ok(1))),
            op(1, 2, 3, NOW + 11, update("b", 1, EXP, Ok(2))),
        ],
        "resurrection",
    );
}

#[test]
fn rejects_data_nobody_wrote() {
    rejected_with(
        vec![
            op(0, 0, 1, NOW, create("a", EXP, Ok(1))),
            // Right writer, wrong version.
            op(1, 2, 3, NOW, get(Some(stored("a", 1, EXP)))),
        ],
        "no successful write stored",
    );
    rejected_with(
        vec![op(1, 0, 1, NOW, get(Some(stored("ghost", 0, EXP))))],
        "no successful write stored",
    );
}

#[test]
fn expired_sessions_may_vanish_once_a_later_now_was_seen() {
    // A lagging reader (older now) may miss a session pruned by a call with a later now.
    accepted(vec![
        op(0, 0, 1, NOW, create("a", NOW + 10, Ok(1))),
        op(1, 2, 3, NOW + 20, get(None)),
        op(2, 4, 5, NOW, get(None)),
        op(
            2,
            6,
            7,
            NOW,
            update("b", 1, EXP, Err(StoreErrorKind::NotFound)),
        ),
    ]);
    // Not before such a call was even invoked.
    rejected_with(
        vec![
            op(0, 0, 1, NOW, create("a", NOW + 10, Ok(1))),
            op(2, 2, 3, NOW, get(None)),
            op(1, 4, 5, NOW + 20, get(None)),
        ],
        "lost session",
    );
    // Creating over an expired session succeeds; creating over a live one conflicts.
    accepted(vec![
        op(0, 0, 1, NOW, create("a", NOW + 10, Ok(1))),
        op(1, 2, 3, NOW + 20, create("b", NOW + 100, Ok(1))),
        op(
            0,
            4,
            5,
            NOW + 20,
            create("c", NOW + 100, Err(StoreErrorKind::Conflict)),
        ),
    ]);
}

// ---------------------------------------------------------------------------------------------
// Broken stores the randomized run must catch.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// A correct store (the control).
    None,
    /// Updates ignore the lock version (last writer wins).
    IgnoreVersion,
    /// An update of a missing session creates it.
    ResurrectOnUpdate,
    /// Reads ignore expiry.
    ReturnExpired,
    /// Delete of one session reports it but keeps it.
    DeleteKeeps,
}

type Key = (String, String, SessionType);

#[derive(Debug)]
struct FaultyStore {
    fault: Fault,
    sessions: Mutex<HashMap<Key, Session>>,
}

impl FaultyStore {
    fn new(fault: Fault) -> Self {
        Self {
            fault,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn key(k: SessionKey<'_>) -> Key {
        (
            k.session_id.to_owned(),
            k.user_id.to_owned(),
            k.session_type.clone(),
        )
    }

    fn live(&self, s: &Session, now: UnixTime) -> bool {
        self.fault == Fault::ReturnExpired || !s.is_expired(now)
    }

    /// `create` is `true`: create, else update.
    fn upsert_sync(
        &self,
        session: &Session,
        create: bool,
        now: UnixTime,
    ) -> Result<u64, StoreError> {
        let mut map = self.sessions.lock().unwrap();
        let key = Self::key(session.key());
        let stored = map.get(&key).filter(|s| !s.is_expired(now));
        let ok = match (create, stored) {
            (true, None) => true,
            (true, Some(_)) => return Err(StoreError::conflict()),
            (false, None) if self.fault == Fault::ResurrectOnUpdate => true,
            (false, None) => return Err(StoreError::not_found()),
            (false, Some(_)) if self.fault == Fault::IgnoreVersion => true,
            (false, Some(s)) => s.lock_version == session.lock_version,
        };
        if !ok {
            return Err(StoreError::conflict());
        }
        let mut s = session.clone();
        s.lock_version += 1;
        map.insert(key, s);
        Ok(session.lock_version + 1)
    }
}

impl SessionStore for FaultyStore {
    fn get<'a>(&'a self, key: SessionKey<'a>, now: UnixTime) -> StoreFuture<'a, Option<Session>> {
        let map = self.sessions.lock().unwrap();
        let found = map
            .get(&Self::key(key))
            .filter(|s| self.live(s, now))
            .cloned();
        Box::pin(async move { Ok(found) })
    }

    fn create<'a>(
        &'a self,
        session: &'a Session,
        _max_sessions: Option<std::num::NonZeroU32>,
        now: UnixTime,
    ) -> StoreFuture<'a, Created> {
        let result = self
            .upsert_sync(session, true, now)
            .map(|v| Created::new(v, Vec::new()));
        Box::pin(async move { result })
    }

    fn update<'a>(&'a self, session: &'a Session, now: UnixTime) -> StoreFuture<'a, u64> {
        let result = self.upsert_sync(session, false, now);
        Box::pin(async move { result })
    }

    fn delete<'a>(&'a self, key: SessionKey<'a>, _now: UnixTime) -> StoreFuture<'a, bool> {
        let mut map = self.sessions.lock().unwrap();
        let key = Self::key(key);
        let found = if self.fault == Fault::DeleteKeeps {
            map.contains_key(&key)
        } else {
            map.remove(&key).is_some()
        };
        Box::pin(async move { Ok(found) })
    }

    fn get_all<'a>(
        &'a self,
        user_id: &'a str,
        session_type: &'a SessionType,
        now: UnixTime,
    ) -> StoreFuture<'a, Vec<Session>> {
        let map = self.sessions.lock().unwrap();
        let all = map
            .values()
            .filter(|s| {
                s.user_id.as_str() == user_id
                    && &s.session_type == session_type
                    && self.live(s, now)
            })
            .cloned()
            .collect();
        Box::pin(async move { Ok(all) })
    }

    fn delete_all<'a>(
        &'a self,
        user_id: &'a str,
        session_type: &'a SessionType,
    ) -> StoreFuture<'a, ()> {
        self.sessions
            .lock()
            .unwrap()
            .retain(|_, s| !(s.user_id.as_str() == user_id && &s.session_type == session_type));
        Box::pin(async move { Ok(()) })
    }
}

/// Run seeds until one catches the fault; the verdicts of every seed tried.
async fn verdicts(store: impl Fn() -> Arc<dyn SessionStore>) -> Vec<Result<(), String>> {
    let mut out = Vec::new();
    for seed in 1..=30 {
        let history = run_workload(store(), seed, &ModelConfig::default()).await;
        let verdict = check_history(&history, ModelConfig::default().search_budget);
        let caught = verdict.is_err();
        out.push(verdict);
        if caught {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_stores_pass() {
    for verdict in verdicts(|| Arc::new(FaultyStore::new(Fault::None))).await {
        assert_eq!(verdict, Ok(()));
    }
    for verdict in verdicts(|| Arc::new(MemoryStore::with_shards(1))).await {
        assert_eq!(verdict, Ok(()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_stores_are_caught() {
    for fault in [
        Fault::IgnoreVersion,
        Fault::ResurrectOnUpdate,
        Fault::ReturnExpired,
        Fault::DeleteKeeps,
    ] {
        let verdicts = verdicts(|| Arc::new(FaultyStore::new(fault))).await;
        assert!(
            verdicts.iter().any(Result::is_err),
            "{fault:?} went unnoticed by {} seeds",
            verdicts.len()
        );
    }
}
