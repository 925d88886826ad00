//! A randomized concurrency test of the [`SessionStore`] contract, with a history checker.
//!
//! [`check_store_against_model`] runs many interleaved operations (create, update, get,
//! delete, get_all, delete_all) from concurrent tokio tasks against any store, records
//! every call with its invocation and completion order (one global counter ticked before
//! and after each call) and its result, then checks the history with [`check_history`]:
//!
//! 1. **Local checks**, one operation at a time: no store failure; a create returns
//!    `lock_version + 1` and never `NotFound`; an update that succeeds returns
//!    `lock_version + 1`; every session a get/get_all returns has the right key (session
//!    id, user, type), is not expired at that call's `now`, and equals field for field a
//!    session that a successful write invoked before the read completed stored, at the
//!    version that write returned (reads return only written data).
//! 2. **Linearizability** against a sequential model of the contract, per (user, type)
//!    bucket (single-key operations of a bucket and its get_all/delete_all; buckets are
//!    independent): some total order of the bucket's operations that respects real time
//!    (an operation that completed before another was invoked comes first) must explain
//!    every result. The model: create succeeds iff no live session holds the key (else
//!    `Conflict`); update succeeds iff a live session holds the key at exactly the version
//!    read (stored version differs: `Conflict`; absent, deleted or expired: `NotFound`);
//!    get/get_all return exactly the live sessions; delete returns whether a session was
//!    there; delete_all empties the bucket. This rules out lost updates (two winners from
//!    one version, or a win over a newer version), resurrection (an update or read of a
//!    session after its delete completed), spurious conflicts and spurious not-founds.
//!    The final reads after all tasks joined are part of the history, so the end state
//!    must agree with the last writes.
//!
//! # Time and expiry
//!
//! Time is logical: a shared `now` that starts at the system clock and that tasks move
//! forward now and then; every call gets the `now` its task read. Sessions live
//! [`ModelConfig::ttl`] seconds from their write, a range long enough that a backend with
//! real key expiry never expires them during a run, yet short compared to how far the
//! logical clock moves, so many expire logically. Expiry is only by `now`: there are no
//! real-time waits.
//!
//! An expired session is never returned and counts as absent to an operation whose `now`
//! is past it. Stores may remove expired sessions at any time after *some* call carrying
//! a later `now` was invoked (pruning on writes, shard-wide prunes): the model lets such a
//! session vanish for every later operation, even one whose own (older) `now` would still
//! see it live. If the run outlasts the shortest lifetime in real time, sessions whose
//! expiry the real clock reached may vanish at any time (real key expiry).
//!
//! Stores whose keys expire relative to the caller's `now` (Redis: `EXPIRE key
//! (refresh_expires_at − now + 1)`, also on delete) count that TTL in real seconds while the
//! logical clock runs faster: a delete whose `now` is `d` seconds before the expiry of the
//! newest session left makes its key go `d + 1` real seconds later. So a session may
//! vanish once a call whose `now` is within the run's real duration of its expiry was
//! invoked (with a zero duration, the rule above).
//!
//! # Reproducing a failure
//!
//! The panic message names the seed; rerun the test with `CHARON_MODEL_SEED=<seed>`. The
//! operation mix and the arguments are a function of the seed; the interleaving is the
//! scheduler's, so a rare race may need a few runs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    unreachable_pub,
    dead_code
)]

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use charon_auth::clock::{Clock, SystemClock, UnixTime};
use charon_auth::error::{StoreError, StoreErrorKind};
use charon_auth::session::{Session, SessionKey, SessionType, random_id};
use charon_auth::store::SessionStore;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// The shape of one run.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// Distinct user ids.
    pub users: usize,
    /// Distinct session types.
    pub types: usize,
    /// Session ids per (user, type): few, so that operations collide.
    pub sessions: usize,
    /// Concurrent tasks.
    pub tasks: usize,
    /// Operations per task.
    pub ops_per_task: usize,
    /// Lifetime of a written session from its write's `now`, in seconds.
    pub ttl: RangeInclusive<i64>,
    /// How far a task moves the logical clock when it does, in seconds.
    pub clock_step: RangeInclusive<i64>,
    /// Probability that a task moves the clock before an operation.
    pub clock_move_probability: f64,
    /// Give up the linearizability search of one bucket after this many states.
    pub search_budget: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            users: 2,
            types: 2,
            sessions: 4,
            tasks: 8,
            ops_per_task: 60,
            // At least 10 minutes: real key expiry never interferes with a run of seconds.
            ttl: 600..=1200,
            // About 0.08 * 480 ops * 60 s = 2300 s: most sessions expire at some point.
            clock_step: 1..=120,
            clock_move_probability: 0.08,
            search_budget: 2_000_000,
        }
    }
}

/// The result of a write (`Err` keeps only the error kind).
pub type WriteResult = Result<u64, StoreErrorKind>;

/// What an operation did and what it returned.
#[derive(Debug, Clone, PartialEq)]
pub enum OpKind {
    /// `create(session, None, now)`.
    Create {
        /// The session passed.
        session: Session,
        /// What the store returned.
        result: WriteResult,
    },
    /// `update(session, now)`; `session.lock_version` is the version read.
    Update {
        /// The session passed.
        session: Session,
        /// What the store returned.
        result: WriteResult,
    },
    /// `get(key, now)`.
    Get {
        /// What the store returned.
        result: Result<Option<Session>, StoreErrorKind>,
    },
    /// `delete(key, now)`.
    Delete {
        /// What the store returned.
        result: Result<bool, StoreErrorKind>,
    },
    /// `get_all(user, type, now)`.
    GetAll {
        /// What the store returned.
        result: Result<Vec<Session>, StoreErrorKind>,
    },
    /// `delete_all(user, type)`.
    DeleteAll {
        /// What the store returned.
        result: Result<(), StoreErrorKind>,
    },
}

/// One recorded call.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// The task that made the call (the final reads use task index `tasks`).
    pub task: usize,
    /// Global counter value taken just before the call.
    pub inv: u64,
    /// Global counter value taken just after the call returned.
    pub comp: u64,
    /// Index into [`History::buckets`].
    pub bucket: usize,
    /// Index into [`History::sids`]; `None` for get_all and delete_all.
    pub sid: Option<usize>,
    /// The task's logical time (passed to the store by every call but delete_all).
    pub now: UnixTime,
    /// The call and its result.
    pub kind: OpKind,
}

impl Op {
    /// Whether `now` was passed to the store.
    fn passes_now(&self) -> bool {
        !matches!(self.kind, OpKind::DeleteAll { .. })
    }
}

/// A recorded run.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The (user id, session type) buckets.
    pub buckets: Vec<(String, SessionType)>,
    /// Session ids (the same ids are used in every bucket).
    pub sids: Vec<String>,
    /// Every call, in any order.
    pub ops: Vec<Op>,
    /// The real time when the run started.
    pub real_start: UnixTime,
    /// The real time when the run ended: sessions expiring by then may have vanished.
    pub real_end: UnixTime,
}

impl History {
    /// Key of `sid` in `bucket`.
    pub fn key(&self, bucket: usize, sid: usize) -> SessionKey<'_> {
        let (user, ty) = &self.buckets[bucket];
        SessionKey::new(&self.sids[sid], user, ty)
    }
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

/// Run the randomized workload of `config` with `seed` against `store` and check the
/// history; panics with the seed and a description of the first violation.
///
/// Uses fresh random user ids, so runs may share one backend; deletes what it wrote.
pub async fn check_store_against_model(
    store: Arc<dyn SessionStore>,
    seed: u64,
    config: ModelConfig,
) {
    let history = run_workload(store, seed, &config).await;
    if let Err(violation) = check_history(&history, config.search_budget) {
        panic!(
            "session store model check failed for seed {seed} \
             (rerun with CHARON_MODEL_SEED={seed}):\n{violation}"
        );
    }
}

/// Run the workload and return its history (without checking it).
pub async fn run_workload(
    store: Arc<dyn SessionStore>,
    seed: u64,
    config: &ModelConfig,
) -> History {
    let run = random_id();
    let mut history = History {
        buckets: Vec::new(),
        sids: (0..config.sessions).map(|i| format!("s{i}")).collect(),
        ops: Vec::new(),
        real_start: SystemClock.now(),
        real_end: 0,
    };
    for u in 0..config.users {
        for t in 0..config.types {
            let ty = SessionType::new(format!("t{t}")).unwrap();
            history.buckets.push((format!("{run}-u{u}"), ty));
        }
    }
    let shared = Arc::new(Shared {
        store,
        counter: AtomicU64::new(0),
        clock: AtomicI64::new(SystemClock.now()),
        buckets: history.buckets.clone(),
        sids: history.sids.clone(),
        config: config.clone(),
    });

    let handles: Vec<_> = (0..config.tasks)
        .map(|task| {
            let shared = shared.clone();
            let task_seed = seed ^ (task as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            tokio::spawn(async move { shared.task(task, task_seed).await })
        })
        .collect();
    for handle in handles {
        history
            .ops
            .extend(handle.await.expect("model task panicked"));
    }

    // Final sequential reads: the end state must agree with the last writes.
    let final_task = config.tasks;
    let now = shared.clock.load(Ordering::SeqCst);
    for bucket in 0..history.buckets.len() {
        history.ops.push(
            shared
                .call(final_task, bucket, None, now, Call::GetAll)
                .await,
        );
        for sid in 0..history.sids.len() {
            history.ops.push(
                shared
                    .call(final_task, bucket, Some(sid), now, Call::Get)
                    .await,
            );
        }
    }
    history.real_end = SystemClock.now();

    // Clean up (not recorded).
    for (user, ty) in &history.buckets {
        shared.store.delete_all(user, ty).await.ok();
    }
    history
}

struct Shared {
    store: Arc<dyn SessionStore>,
    counter: AtomicU64,
    clock: AtomicI64,
    buckets: Vec<(String, SessionType)>,
    sids: Vec<String>,
    config: ModelConfig,
}

enum Call {
    Create(Session),
    Update(Session),
    Get,
    Delete,
    GetAll,
    DeleteAll,
}

fn kind_of<T>(result: Result<T, StoreError>) -> Result<T, StoreErrorKind> {
    result.map_err(|e| e.kind())
}

impl Shared {
    /// One task: `ops_per_task` random operations. Remembers the last copy it read or
    /// wrote of each key, and updates from that copy (which may be stale).
    async fn task(&self, task: usize, seed: u64) -> Vec<Op> {
        let config = &self.config;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut known: HashMap<(usize, usize), Session> = HashMap::new();
        let mut ops = Vec::with_capacity(config.ops_per_task);
        for n in 0..config.ops_per_task {
            if rng.random_bool(config.clock_move_probability) {
                self.clock.fetch_add(
                    rng.random_range(config.clock_step.clone()),
                    Ordering::SeqCst,
                );
            }
            let now = self.clock.load(Ordering::SeqCst);
            let bucket = rng.random_range(0..self.buckets.len());
            let sid = rng.random_range(0..self.sids.len());
            let (user, ty) = &self.buckets[bucket];
            let tag = format!("t{task}-o{n}");
            let refresh_expires_at = now + rng.random_range(config.ttl.clone());
            let mut choice = rng.random_range(0..100);
            if (20..50).contains(&choice)
                && !known.contains_key(&(bucket, sid))
                && rng.random_bool(0.7)
            {
                // Nothing read yet: read first (the next update will use it) rather than
                // update blindly.
                choice = 50;
            }
            let (sid, call) = match choice {
                0..20 => {
                    let mut s = Session::new(
                        self.sids[sid].clone(),
                        user.as_str().into(),
                        ty.clone(),
                        now,
                        Some(refresh_expires_at + 60),
                        refresh_expires_at,
                        tag.clone(),
                    );
                    s.extra_payload.insert("w".into(), json!(tag));
                    (Some(sid), Call::Create(s))
                }
                20..50 => {
                    let mut s = known.get(&(bucket, sid)).cloned().unwrap_or_else(|| {
                        // Never read: a blind update at a guessed version.
                        let mut s = Session::new(
                            self.sids[sid].clone(),
                            user.as_str().into(),
                            ty.clone(),
                            now,
                            None,
                            refresh_expires_at,
                            String::new(),
                        );
                        s.lock_version = rng.random_range(1..=3);
                        s
                    });
                    s.refresh_token_id = tag.clone();
                    s.refreshed_at = now;
                    s.refresh_expires_at = refresh_expires_at;
                    s.prev_tokens_fresh_from = s.tokens_fresh_from;
                    s.tokens_fresh_from = now;
                    s.extra_payload.insert("w".into(), json!(tag));
                    if rng.random_bool(0.3) {
                        s.extra_payload
                            .insert(format!("k{}", rng.random_range(0..3)), json!(n));
                    }
                    (Some(sid), Call::Update(s))
                }
                50..72 => (Some(sid), Call::Get),
                72..85 => (None, Call::GetAll),
                85..97 => (Some(sid), Call::Delete),
                _ => (None, Call::DeleteAll),
            };
            let op = self
                .call_with_yields(task, bucket, sid, now, call, &mut rng)
                .await;
            match &op.kind {
                OpKind::Create {
                    session,
                    result: Ok(v),
                }
                | OpKind::Update {
                    session,
                    result: Ok(v),
                } => {
                    let mut s = session.clone();
                    s.lock_version = *v;
                    known.insert((bucket, sid.unwrap_or_default()), s);
                }
                OpKind::Get {
                    result: Ok(Some(s)),
                } => {
                    known.insert((bucket, sid.unwrap_or_default()), s.clone());
                }
                OpKind::GetAll { result: Ok(all) } => {
                    for s in all {
                        if let Some(i) = self.sids.iter().position(|id| *id == s.id) {
                            known.insert((bucket, i), s.clone());
                        }
                    }
                }
                _ => {}
            }
            ops.push(op);
        }
        ops
    }

    /// [`Self::call`], yielding to the scheduler around it now and then, as network
    /// latency would, so that calls of different tasks overlap.
    async fn call_with_yields(
        &self,
        task: usize,
        bucket: usize,
        sid: Option<usize>,
        now: UnixTime,
        call: Call,
        rng: &mut StdRng,
    ) -> Op {
        if rng.random_bool(0.5) {
            tokio::task::yield_now().await;
        }
        let yield_inside = rng.random_bool(0.5);
        self.call_inner(task, bucket, sid, now, call, yield_inside)
            .await
    }

    async fn call(
        &self,
        task: usize,
        bucket: usize,
        sid: Option<usize>,
        now: UnixTime,
        call: Call,
    ) -> Op {
        self.call_inner(task, bucket, sid, now, call, false).await
    }

    async fn call_inner(
        &self,
        task: usize,
        bucket: usize,
        sid: Option<usize>,
        now: UnixTime,
        call: Call,
        yield_inside: bool,
    ) -> Op {
        let (user, ty) = &self.buckets[bucket];
        let key = SessionKey::new(sid.map_or("", |i| &self.sids[i]), user, ty);
        let store = &*self.store;
        let inv = self.counter.fetch_add(1, Ordering::SeqCst);
        if yield_inside {
            tokio::task::yield_now().await;
        }
        let kind = match call {
            Call::Create(session) => {
                let result = kind_of(store.create(&session, None, now).await).map(|c| {
                    assert!(c.evicted.is_empty(), "an uncapped create evicted {c:?}");
                    c.lock_version
                });
                OpKind::Create { session, result }
            }
            Call::Update(session) => {
                let result = kind_of(store.update(&session, now).await);
                OpKind::Update { session, result }
            }
            Call::Get => OpKind::Get {
                result: kind_of(store.get(key, now).await),
            },
            Call::Delete => OpKind::Delete {
                result: kind_of(store.delete(key, now).await),
            },
            Call::GetAll => OpKind::GetAll {
                result: kind_of(store.get_all(user, ty, now).await),
            },
            Call::DeleteAll => OpKind::DeleteAll {
                result: kind_of(store.delete_all(user, ty).await),
            },
        };
        if yield_inside {
            tokio::task::yield_now().await;
        }
        let comp = self.counter.fetch_add(1, Ordering::SeqCst);
        Op {
            task,
            inv,
            comp,
            bucket,
            sid,
            now,
            kind,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------------------------

/// Check a history against the contract (see the module docs). `Err` describes the first
/// violation found.
pub fn check_history(history: &History, search_budget: usize) -> Result<(), String> {
    let writes = WriteIndex::new(history);
    for (i, op) in history.ops.iter().enumerate() {
        check_local(history, &writes, i, op)
            .map_err(|e| format!("{e}\n  in: {}", describe(history, op)))?;
    }
    let enable = ExpiryEnable::new(history);
    for bucket in 0..history.buckets.len() {
        let ops: Vec<usize> = (0..history.ops.len())
            .filter(|&i| history.ops[i].bucket == bucket)
            .collect();
        Linearizer::new(history, &enable, &ops, search_budget)
            .run()
            .map_err(|e| {
                let (user, ty) = &history.buckets[bucket];
                format!("bucket (user {user:?}, type {ty}) is not linearizable: {e}")
            })?;
    }
    Ok(())
}

/// Successful writes, by the refresh token id they stored (unique per write).
struct WriteIndex {
    by_tag: HashMap<String, usize>,
}

impl WriteIndex {
    fn new(history: &History) -> Self {
        let mut by_tag = HashMap::new();
        for (i, op) in history.ops.iter().enumerate() {
            if let Some((session, _)) = successful_write(op) {
                by_tag.insert(session.refresh_token_id.clone(), i);
            }
        }
        Self { by_tag }
    }
}

/// The session passed to a successful write, and the version it returned.
fn successful_write(op: &Op) -> Option<(&Session, u64)> {
    match &op.kind {
        OpKind::Create {
            session,
            result: Ok(v),
        }
        | OpKind::Update {
            session,
            result: Ok(v),
        } => Some((session, *v)),
        _ => None,
    }
}

/// What the store holds after the successful write `op`.
fn stored_by(op: &Op) -> Session {
    let (session, version) = successful_write(op).expect("a successful write");
    let mut s = session.clone();
    s.lock_version = version;
    s
}

fn check_local(
    history: &History,
    writes: &WriteIndex,
    _index: usize,
    op: &Op,
) -> Result<(), String> {
    let (user, ty) = &history.buckets[op.bucket];
    let check_read = |s: &Session, sid: Option<usize>| -> Result<(), String> {
        if s.user_id.as_str() != user || &s.session_type != ty {
            return Err(format!(
                "isolation: read a session of user {:?} type {} in bucket of user {user:?} type {ty}",
                s.user_id, s.session_type
            ));
        }
        if let Some(sid) = sid
            && s.id != history.sids[sid]
        {
            return Err(format!(
                "get of {:?} returned session {:?}",
                history.sids[sid], s.id
            ));
        }
        if s.is_expired(op.now) {
            return Err(format!(
                "expired read: returned a session expiring at {} at now {}",
                s.refresh_expires_at, op.now
            ));
        }
        let Some(&w) = writes.by_tag.get(&s.refresh_token_id) else {
            return Err(format!(
                "read returned data no successful write stored (refresh token id {:?})",
                s.refresh_token_id
            ));
        };
        let write = &history.ops[w];
        if stored_by(write) != *s {
            return Err(format!(
                "read returned data no successful write stored: {s:?}\n  closest write: {}",
                describe(history, write)
            ));
        }
        if write.inv > op.comp {
            return Err(format!(
                "read returned data of a write invoked after the read completed: {}",
                describe(history, write)
            ));
        }
        Ok(())
    };
    match &op.kind {
        OpKind::Create { session, result } => match result {
            Ok(v) if *v != session.lock_version + 1 => Err(format!(
                "create returned version {v}, not lock_version + 1 = {}",
                session.lock_version + 1
            )),
            Ok(_) | Err(StoreErrorKind::Conflict) => Ok(()),
            Err(e) => Err(format!("create failed with {e:?}")),
        },
        OpKind::Update { session, result } => match result {
            Ok(v) if *v != session.lock_version + 1 => Err(format!(
                "update returned version {v}, not lock_version + 1 = {}",
                session.lock_version + 1
            )),
            Ok(_) | Err(StoreErrorKind::Conflict | StoreErrorKind::NotFound) => Ok(()),
            Err(e) => Err(format!("update failed with {e:?}")),
        },
        OpKind::Get { result } => match result {
            Ok(Some(s)) => check_read(s, op.sid),
            Ok(None) => Ok(()),
            Err(e) => Err(format!("get failed with {e:?}")),
        },
        OpKind::GetAll { result } => match result {
            Ok(all) => {
                let mut seen = HashSet::new();
                for s in all {
                    if !seen.insert(&s.id) {
                        return Err(format!("get_all returned session {:?} twice", s.id));
                    }
                    check_read(s, None)?;
                }
                Ok(())
            }
            Err(e) => Err(format!("get_all failed with {e:?}")),
        },
        OpKind::Delete { result } => result
            .map(|_| ())
            .map_err(|e| format!("delete failed with {e:?}")),
        OpKind::DeleteAll { result } => {
            (*result).map_err(|e| format!("delete_all failed with {e:?}"))
        }
    }
}

/// When an expired session may start to vanish: the earliest invocation of any call
/// carrying a `now` past its expiry (it may prune it), across the whole history.
struct ExpiryEnable {
    /// (now, inv) of calls passing `now`, sorted by `now`, with a suffix minimum of inv.
    by_now: Vec<(UnixTime, u64)>,
    real_end: UnixTime,
    /// The run's real duration in whole seconds: how far before its expiry (by a call's
    /// `now`) a relative key expiry may drop a session.
    lead: UnixTime,
}

impl ExpiryEnable {
    fn new(history: &History) -> Self {
        let mut by_now: Vec<(UnixTime, u64)> = history
            .ops
            .iter()
            .filter(|op| op.passes_now())
            .map(|op| (op.now, op.inv))
            .collect();
        by_now.sort_unstable();
        for i in (0..by_now.len().saturating_sub(1)).rev() {
            by_now[i].1 = by_now[i].1.min(by_now[i + 1].1);
        }
        Self {
            by_now,
            real_end: history.real_end,
            lead: history.real_end.saturating_sub(history.real_start).max(0),
        }
    }

    /// The counter value after which a session expiring at `expires_at` may be gone.
    fn enabled_after(&self, expires_at: UnixTime) -> u64 {
        // Real key expiry (second granularity, one second of slack).
        if expires_at <= self.real_end + 1 {
            return 0;
        }
        let first_later = self
            .by_now
            .partition_point(|&(now, _)| now <= expires_at - self.lead);
        self.by_now
            .get(first_later)
            .map_or(u64::MAX, |&(_, inv)| inv)
    }
}

/// The model state of one bucket: per session id, the write whose session is stored.
type State = Vec<Option<usize>>;

/// Wing & Gong style search for a linearization of one bucket's operations, with
/// memoization of (per-task progress, state).
struct Linearizer<'a> {
    history: &'a History,
    enable: &'a ExpiryEnable,
    /// Per task, its operations in this bucket in program order (op indices).
    tasks: Vec<Vec<usize>>,
    budget: usize,
}

struct Stuck {
    depth: usize,
    done: Vec<usize>,
    state: State,
    reasons: Vec<String>,
}

impl<'a> Linearizer<'a> {
    fn new(history: &'a History, enable: &'a ExpiryEnable, ops: &[usize], budget: usize) -> Self {
        let mut by_task: HashMap<usize, Vec<usize>> = HashMap::new();
        for &i in ops {
            by_task.entry(history.ops[i].task).or_default().push(i);
        }
        let mut tasks: Vec<Vec<usize>> = by_task.into_values().collect();
        for t in &mut tasks {
            t.sort_by_key(|&i| history.ops[i].inv);
        }
        tasks.sort_by_key(|t| history.ops[t[0]].inv);
        Self {
            history,
            enable,
            tasks,
            budget,
        }
    }

    fn run(&self) -> Result<(), String> {
        let total: usize = self.tasks.iter().map(Vec::len).sum();
        let start_progress = vec![0u16; self.tasks.len()];
        let start_state: State = vec![None; self.history.sids.len()];
        let mut seen: HashSet<(Vec<u16>, State)> = HashSet::new();
        let mut stack = vec![(start_progress, start_state)];
        let mut best: Option<Stuck> = None;
        while let Some((progress, state)) = stack.pop() {
            if !seen.insert((progress.clone(), state.clone())) {
                continue;
            }
            if seen.len() > self.budget {
                return Err(format!(
                    "search budget of {} states exhausted (inconclusive)",
                    self.budget
                ));
            }
            let depth: usize = progress.iter().map(|&p| usize::from(p)).sum();
            if depth == total {
                return Ok(());
            }
            let next = |t: usize| self.tasks[t].get(usize::from(progress[t])).copied();
            let min_pending_comp = (0..self.tasks.len())
                .filter_map(next)
                .map(|i| self.history.ops[i].comp)
                .min()
                .unwrap_or(u64::MAX);
            // The latest completion among linearized ops: removals of expired sessions
            // enabled before it may have happened already.
            let done_comp = (0..self.tasks.len())
                .filter_map(|t| {
                    usize::from(progress[t])
                        .checked_sub(1)
                        .map(|p| self.history.ops[self.tasks[t][p]].comp)
                })
                .max()
                .unwrap_or(0);
            let mut reasons = Vec::new();
            let mut children = Vec::new();
            for t in 0..self.tasks.len() {
                let Some(i) = next(t) else { continue };
                let op = &self.history.ops[i];
                if op.inv > min_pending_comp {
                    continue;
                }
                match self.apply(i, &state, done_comp.max(op.comp)) {
                    Ok(new_state) => {
                        let mut p = progress.clone();
                        p[t] += 1;
                        children.push((op.inv, p, new_state));
                    }
                    Err(reason) => {
                        reasons.push(format!("{}\n      => {reason}", describe(self.history, op)));
                    }
                }
            }
            if children.is_empty() && best.as_ref().is_none_or(|b| depth > b.depth) {
                best = Some(Stuck {
                    depth,
                    done: progress
                        .iter()
                        .enumerate()
                        .flat_map(|(t, &p)| self.tasks[t][..usize::from(p)].iter().copied())
                        .collect(),
                    state: state.clone(),
                    reasons,
                });
            }
            // Earliest invocation first (popped first).
            children.sort_by_key(|c| std::cmp::Reverse(c.0));
            stack.extend(children.into_iter().map(|(_, p, s)| (p, s)));
        }
        let stuck = best.expect("a failed search got stuck somewhere");
        Err(self.report(total, &stuck))
    }

    fn report(&self, total: usize, stuck: &Stuck) -> String {
        let h = self.history;
        let mut out = format!(
            "at best {} of {total} operations linearize; then no operation fits.\n",
            stuck.depth
        );
        out.push_str("  model state there:\n");
        for (sid, w) in stuck.state.iter().enumerate() {
            let _ = match w {
                Some(w) => writeln!(
                    out,
                    "    {}: version {} expiring at {} (written by {})",
                    h.sids[sid],
                    successful_write(&h.ops[*w]).map_or(0, |(_, v)| v),
                    stored_by(&h.ops[*w]).refresh_expires_at,
                    tag_of(&h.ops[*w])
                ),
                None => writeln!(out, "    {}: absent", h.sids[sid]),
            };
        }
        out.push_str("  candidates and why they do not fit:\n");
        for r in &stuck.reasons {
            let _ = writeln!(out, "    {r}");
        }
        let mut done = stuck.done.clone();
        done.sort_by_key(|&i| h.ops[i].inv);
        let _ = writeln!(out, "  last linearized operations (by invocation):");
        for &i in done.iter().rev().take(12).rev() {
            let _ = writeln!(out, "    {}", describe(h, &h.ops[i]));
        }
        out
    }

    /// Apply operation `i` to `state`; `horizon` is the latest completion so far
    /// (removals of expired sessions enabled before it are allowed).
    #[allow(clippy::needless_range_loop)] // `sid` indexes the state and the sids.
    fn apply(&self, i: usize, state: &State, horizon: u64) -> Result<State, String> {
        let h = self.history;
        let op = &h.ops[i];
        let mut next = state.clone();
        // The stored session of `sid`: (write index, stored session).
        let entry = |sid: usize| state[sid].map(|w| (w, stored_by(&h.ops[w])));
        let removable = |s: &Session| self.enable.enabled_after(s.refresh_expires_at) < horizon;
        match &op.kind {
            OpKind::Create { result, .. } => {
                let sid = op.sid.expect("create has a session id");
                let live = entry(sid).filter(|(_, s)| !s.is_expired(op.now));
                match (result, live) {
                    (Ok(_), None) => next[sid] = Some(i),
                    (Ok(_), Some((_, s))) if removable(&s) => next[sid] = Some(i),
                    (Ok(_), Some((_, s))) => {
                        return Err(format!(
                            "create succeeded over a live session (version {}, expiring at {})",
                            s.lock_version, s.refresh_expires_at
                        ));
                    }
                    (Err(_), Some(_)) => {}
                    (Err(_), None) => {
                        return Err("create conflicted but no live session holds the key".into());
                    }
                }
            }
            OpKind::Update { session, result } => {
                let sid = op.sid.expect("update has a session id");
                let read = session.lock_version;
                let live = entry(sid).filter(|(_, s)| !s.is_expired(op.now));
                match (result, live) {
                    (Ok(_), Some((_, s))) if s.lock_version == read => next[sid] = Some(i),
                    (Ok(_), Some((_, s))) => {
                        return Err(format!(
                            "lost update: update at version {read} succeeded but the stored \
                             version is {}",
                            s.lock_version
                        ));
                    }
                    (Ok(_), None) => {
                        return Err(
                            "resurrection: update succeeded but the session is deleted, \
                             expired or was never created"
                                .into(),
                        );
                    }
                    (Err(StoreErrorKind::Conflict), Some((_, s))) if s.lock_version != read => {}
                    (Err(StoreErrorKind::Conflict), Some(_)) => {
                        return Err(format!(
                            "spurious conflict: the stored version is the version read ({read})"
                        ));
                    }
                    (Err(StoreErrorKind::Conflict), None) => {
                        return Err(
                            "spurious conflict: no live session holds the key (expected NotFound)"
                                .into(),
                        );
                    }
                    (Err(_), None) => {}
                    (Err(_), Some((_, s))) if removable(&s) => next[sid] = None,
                    (Err(_), Some((_, s))) => {
                        return Err(format!(
                            "spurious not-found: a live session holds the key at version {}, \
                             expiring at {}",
                            s.lock_version, s.refresh_expires_at
                        ));
                    }
                }
            }
            OpKind::Get { result } => {
                let sid = op.sid.expect("get has a session id");
                let live = entry(sid).filter(|(_, s)| !s.is_expired(op.now));
                match (result, live) {
                    (Ok(Some(got)), Some((_, s))) if *got == s => {}
                    (Ok(Some(got)), Some((_, s))) => {
                        return Err(format!(
                            "get returned version {} (by {}) but the stored one is version {} \
                             (by {})",
                            got.lock_version,
                            got.refresh_token_id,
                            s.lock_version,
                            s.refresh_token_id
                        ));
                    }
                    (Ok(Some(got)), None) => {
                        return Err(format!(
                            "resurrection: get returned version {} (by {}) of a session that is \
                             deleted, expired or was never created",
                            got.lock_version, got.refresh_token_id
                        ));
                    }
                    (_, None) => {}
                    (_, Some((_, s))) if removable(&s) => next[sid] = None,
                    (_, Some((_, s))) => {
                        return Err(format!(
                            "lost session: get returned nothing but a live session holds the key \
                             at version {}, expiring at {}",
                            s.lock_version, s.refresh_expires_at
                        ));
                    }
                }
            }
            OpKind::Delete { result } => {
                let sid = op.sid.expect("delete has a session id");
                match (result, entry(sid)) {
                    (Ok(true), Some(_)) | (Ok(false), None) => next[sid] = None,
                    (Ok(false), Some((_, s))) if removable(&s) => next[sid] = None,
                    (Ok(false), Some((_, s))) => {
                        return Err(format!(
                            "delete found nothing but a session is stored at version {}, \
                             expiring at {}",
                            s.lock_version, s.refresh_expires_at
                        ));
                    }
                    (_, None) => return Err("delete found a session that is not stored".into()),
                    (Err(_), Some(_)) => return Err("delete failed".into()),
                }
            }
            OpKind::GetAll { result } => {
                let got = result.as_ref().map_err(|_| "get_all failed".to_owned())?;
                let mut remaining: Vec<&Session> = got.iter().collect();
                for sid in 0..h.sids.len() {
                    let position = remaining.iter().position(|s| s.id == h.sids[sid]);
                    let returned = position.map(|p| remaining.swap_remove(p));
                    match (returned, entry(sid)) {
                        (None, None) => {}
                        (None, Some((_, s))) if s.is_expired(op.now) || removable(&s) => {
                            if !s.is_expired(op.now) {
                                next[sid] = None;
                            }
                        }
                        (None, Some((_, s))) => {
                            return Err(format!(
                                "lost session: get_all misses {} stored at version {}, \
                                 expiring at {}",
                                h.sids[sid], s.lock_version, s.refresh_expires_at
                            ));
                        }
                        (Some(got), Some((_, s))) if *got == s && !s.is_expired(op.now) => {}
                        (Some(got), Some((_, s))) => {
                            return Err(format!(
                                "get_all returned {} at version {} (by {}) but the stored one is \
                                 version {} (by {}) expiring at {}",
                                h.sids[sid],
                                got.lock_version,
                                got.refresh_token_id,
                                s.lock_version,
                                s.refresh_token_id,
                                s.refresh_expires_at
                            ));
                        }
                        (Some(got), None) => {
                            return Err(format!(
                                "resurrection: get_all returned {} at version {} (by {}), which \
                                 is deleted, expired or was never created",
                                h.sids[sid], got.lock_version, got.refresh_token_id
                            ));
                        }
                    }
                }
                if let Some(extra) = remaining.first() {
                    return Err(format!("get_all returned unknown session {:?}", extra.id));
                }
            }
            OpKind::DeleteAll { .. } => next.iter_mut().for_each(|w| *w = None),
        }
        Ok(next)
    }
}

fn tag_of(op: &Op) -> String {
    match &op.kind {
        OpKind::Create { session, .. } | OpKind::Update { session, .. } => {
            session.refresh_token_id.clone()
        }
        _ => String::new(),
    }
}

fn summarize(s: &Session) -> String {
    format!(
        "{}@v{} by {} exp {}",
        s.id, s.lock_version, s.refresh_token_id, s.refresh_expires_at
    )
}

/// One line describing an operation.
pub fn describe(history: &History, op: &Op) -> String {
    let sid = op.sid.map_or("*", |i| history.sids[i].as_str());
    let what = match &op.kind {
        OpKind::Create { session, result } => format!(
            "create {sid} as {} exp {} -> {result:?}",
            session.refresh_token_id, session.refresh_expires_at
        ),
        OpKind::Update { session, result } => format!(
            "update {sid} at v{} as {} exp {} -> {result:?}",
            session.lock_version, session.refresh_token_id, session.refresh_expires_at
        ),
        OpKind::Get { result } => format!(
            "get {sid} -> {:?}",
            result.as_ref().map(|o| o.as_ref().map(summarize))
        ),
        OpKind::Delete { result } => format!("delete {sid} -> {result:?}"),
        OpKind::GetAll { result } => format!(
            "get_all -> {:?}",
            result
                .as_ref()
                .map(|all| all.iter().map(summarize).collect::<Vec<_>>())
        ),
        OpKind::DeleteAll { result } => format!("delete_all -> {result:?}"),
    };
    format!(
        "[task {} {}..{} now {} bucket {}] {what}",
        op.task, op.inv, op.comp, op.now, op.bucket
    )
}
