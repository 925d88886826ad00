//! Session store throughput: `get`, `create`, `refresh` (an optimistic-locking update) and
//! `delete`, with 1 and with 64 concurrent tasks sharing one store, for the memory store and
//! for a `redis-server` spawned by the bench (loopback TCP, no persistence). Afterwards it
//! counts the Redis round trips of each operation with `MONITOR` and prints them.
//!
//! Then the coherent session cache's hit (`session_cache/peek_hit/<n>_sessions`: what a
//! `Revocation::Cached` check costs when the session is cached) over 2 000 and 20 000
//! distinct cached sessions of distinct users, visited in a shuffled order, as many users'
//! requests visit them.
//!
//! Run: `cargo bench --bench store -- --warm-up-time 1 --measurement-time 3`
//! (criterion reports elements/s = operations/s).
//!
//! Each task works on its own sessions. `create` writes fresh sessions and removes them
//! again outside the timed part; `delete` creates its victims outside the timed part.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use charon_auth::clock::{Clock as _, SystemClock, UnixTime};
use charon_auth::session::{Session, SessionKey, SessionMemo, SessionType, random_id};
use charon_auth::store::redis::{RedisStore, SessionCache, SigningKey};
use charon_auth::store::{MemoryStore, SessionStore};
use criterion::{Criterion, Throughput};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use tokio::runtime::Runtime;

/// A `redis-server` child, killed on drop.
struct Server {
    port: u16,
    child: Child,
}

impl Server {
    fn spawn() -> Self {
        for _ in 0..20 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("redis-server not found ({e}): apt-get install -y redis-server")
                });
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Self { port, child };
                }
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("could not start redis-server");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn session(user: &str, now: UnixTime) -> Session {
    Session::new(
        random_id(),
        user.into(),
        SessionType::default(),
        now,
        Some(now + 86_400),
        now + 3_600,
        random_id(),
    )
}

/// `count` new sessions for each of `tasks` tasks, each of its own user (a store keeps the
/// sessions of one user together, and most users have one or a few).
fn fresh(tasks: usize, count: u64, now: UnixTime) -> Vec<Vec<Session>> {
    (0..tasks)
        .map(|t| {
            (0..count)
                .map(|i| session(&format!("bench-user-{t}-{i}"), now))
                .collect()
        })
        .collect()
}

type Store = Arc<dyn SessionStore>;

/// Run `op` over every session of every task, one tokio task per list; the time it took.
async fn run<F, Fut>(store: &Store, work: Vec<Vec<Session>>, op: F) -> (Duration, Vec<Vec<Session>>)
where
    F: Fn(Store, Session) -> Fut + Send + Sync + Copy + 'static,
    Fut: Future<Output = Session> + Send,
{
    let start = Instant::now();
    let handles: Vec<_> = work
        .into_iter()
        .map(|list| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                let mut out = Vec::with_capacity(list.len());
                for s in list {
                    out.push(op(Arc::clone(&store), s).await);
                }
                out
            })
        })
        .collect();
    let mut done = Vec::with_capacity(handles.len());
    for h in handles {
        done.push(h.await.unwrap());
    }
    (start.elapsed(), done)
}

async fn create(store: Store, mut s: Session) -> Session {
    s.lock_version = store
        .create(&s, None, s.refreshed_at)
        .await
        .unwrap()
        .lock_version;
    s
}

async fn delete(store: Store, s: Session) -> Session {
    assert!(store.delete(s.key(), s.refreshed_at).await.unwrap());
    s
}

async fn get(store: Store, s: Session) -> Session {
    assert!(store.get(s.key(), s.refreshed_at).await.unwrap().is_some());
    s
}

async fn refresh(store: Store, mut s: Session) -> Session {
    s.lock_version = store.update(&s, s.refreshed_at).await.unwrap();
    s
}

/// Benchmark the four operations on `store` with `tasks` concurrent tasks.
fn bench_store(c: &mut Criterion, rt: &Runtime, name: &str, store: &Store, tasks: usize) {
    let now = SystemClock.now();
    let mut group = c.benchmark_group(format!("store/{name}/{tasks}_tasks"));
    group.throughput(Throughput::Elements(1));
    let per_task = |iters: u64| iters.div_ceil(tasks as u64);

    // One live session per task, read or updated over and over.
    let live: Vec<Vec<Session>> =
        rt.block_on(async { run(store, fresh(tasks, 1, now), create).await.1 });
    let live = Arc::new(Mutex::new(live));

    group.bench_function("get", |b| {
        b.to_async(rt).iter_custom(|iters| {
            let store = Arc::clone(store);
            let live = Arc::clone(&live);
            async move {
                let one = live.lock().unwrap().clone();
                let work = one
                    .into_iter()
                    .map(|l| {
                        let s = l.into_iter().next().unwrap();
                        vec![s; usize::try_from(per_task(iters)).unwrap()]
                    })
                    .collect();
                run(&store, work, get).await.0
            }
        });
    });

    group.bench_function("refresh", |b| {
        b.to_async(rt).iter_custom(|iters| {
            let store = Arc::clone(store);
            let live = Arc::clone(&live);
            async move {
                let current = live.lock().unwrap().clone();
                let n = per_task(iters);
                let start = Instant::now();
                let handles: Vec<_> = current
                    .into_iter()
                    .map(|l| {
                        let store = Arc::clone(&store);
                        let s = l.into_iter().next().unwrap();
                        tokio::spawn(async move {
                            let mut s = s;
                            for _ in 0..n {
                                s = refresh(Arc::clone(&store), s).await;
                            }
                            vec![s]
                        })
                    })
                    .collect();
                let mut updated = Vec::new();
                for h in handles {
                    updated.push(h.await.unwrap());
                }
                let elapsed = start.elapsed();
                *live.lock().unwrap() = updated;
                elapsed
            }
        });
    });

    group.bench_function("create", |b| {
        b.to_async(rt).iter_custom(|iters| {
            let store = Arc::clone(store);
            async move {
                let work = fresh(tasks, per_task(iters), now);
                let (elapsed, created) = run(&store, work, create).await;
                run(&store, created, delete).await;
                elapsed
            }
        });
    });

    group.bench_function("delete", |b| {
        b.to_async(rt).iter_custom(|iters| {
            let store = Arc::clone(store);
            async move {
                let work = fresh(tasks, per_task(iters), now);
                let (_, created) = run(&store, work, create).await;
                run(&store, created, delete).await.0
            }
        });
    });
    group.finish();
}

/// The session cache's hit over `n` cached sessions, each of its own user, visited in a
/// shuffled order (a fixed seed).
fn bench_session_cache(c: &mut Criterion, rt: &Runtime, url: &str) {
    let store = rt.block_on(async {
        let store = RedisStore::builder_with_key(SigningKey::from_bytes([7; 32]))
            // Long enough for every entry to stay servable through both sizes' runs (the
            // first entries of 20 000 are read well before their last sample).
            .session_cache(SessionCache::default().max_age(Duration::from_secs(600)))
            .connect(url)
            .await
            .unwrap();
        let start = Instant::now();
        while !store.session_cache_stats().is_some_and(|s| s.active) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "cache never in use"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        store
    });
    let mut group = c.benchmark_group("session_cache/peek_hit");
    group.throughput(Throughput::Elements(1));
    let session_type = SessionType::default();
    for n in [2_000, 20_000] {
        let now = SystemClock.now();
        let mut sessions: Vec<Session> = (0..n)
            .map(|i| session(&format!("cache-user-{n}-{i}"), now))
            .collect();
        rt.block_on(async {
            for s in &sessions {
                store.create(s, None, now).await.unwrap();
                let key = SessionKey::new(&s.id, &s.user_id, &session_type);
                assert!(store.get_cached(key, now).await.unwrap().is_some());
            }
        });
        sessions.shuffle(&mut StdRng::seed_from_u64(7));
        // Each session's token memo, as the verified-token cache keeps it with the claims:
        // `lookup` gives every peek a new (empty) memo, `remembered` keeps one per session.
        let memos: Vec<SessionMemo> = sessions.iter().map(|_| SessionMemo::default()).collect();
        for remembered in [false, true] {
            let name = if remembered { "remembered" } else { "lookup" };
            group.bench_function(format!("{n}_sessions_{name}"), |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for (s, memo) in sessions
                        .iter()
                        .zip(&memos)
                        .cycle()
                        .take(usize::try_from(iters).unwrap())
                    {
                        let key = SessionKey::new(&s.id, &s.user_id, &session_type);
                        let fresh = SessionMemo::default();
                        let memo = if remembered { memo } else { &fresh };
                        let hit = store.peek_cached(key, now, memo);
                        assert!(hit.is_some(), "a cached session was not served");
                        std::hint::black_box(hit);
                    }
                    start.elapsed()
                });
            });
        }
    }
    group.finish();
}

/// Counts the commands clients send to Redis (not those a Lua script runs) with `MONITOR`.
struct Monitor {
    port: u16,
}

impl Monitor {
    /// The client commands `op` sends, by command name.
    fn count(&self, rt: &Runtime, op: impl AsyncFnOnce()) -> BTreeMap<String, u64> {
        const MARK: &str = "charon-bench-monitor-mark";
        let mut monitor = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        monitor.write_all(b"MONITOR\r\n").unwrap();
        let mut reader = BufReader::new(monitor.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line.trim_end(), "+OK");
        let counter = std::thread::spawn(move || {
            let mut counts = BTreeMap::<String, u64>::new();
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap() == 0 {
                    break;
                }
                if line.contains(MARK) {
                    break;
                }
                // `+<time> [<db> <client>] "<command>" ...`; script calls show `[0 lua]`.
                let Some((client, rest)) = line.split_once("] ") else {
                    continue;
                };
                if client.ends_with(" lua") {
                    continue;
                }
                let name = rest.split('"').nth(1).unwrap_or("?").to_ascii_uppercase();
                *counts.entry(name).or_default() += 1;
            }
            counts
        });
        rt.block_on(op());
        let mut mark = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        mark.write_all(format!("ECHO {MARK}\r\n").as_bytes())
            .unwrap();
        let mut reply = String::new();
        BufReader::new(mark).read_line(&mut reply).unwrap();
        let counts = counter.join().unwrap();
        drop(monitor);
        counts
    }
}

/// Print the client commands (= round trips) per operation of the Redis store.
fn round_trips(rt: &Runtime, store: &Store, port: u16) {
    const N: u64 = 200;
    let now = SystemClock.now();
    let monitor = Monitor { port };
    let sessions = fresh(1, N, now);
    // Warm up: the scripts get loaded on first use.
    rt.block_on(async {
        let (_, warm) = run(store, fresh(1, 1, now), create).await;
        let (_, warm) = run(store, warm, refresh).await;
        let (_, warm) = run(store, warm, get).await;
        run(store, warm, delete).await;
    });
    let created = Arc::new(Mutex::new(Vec::new()));
    let report = |op: &str, counts: BTreeMap<String, u64>| {
        let total: u64 = counts.values().sum();
        let detail: Vec<String> = counts.iter().map(|(k, v)| format!("{k} x{v}")).collect();
        println!(
            "redis round trips per {op}: {:.2} ({} over {N} ops)",
            total as f64 / N as f64,
            detail.join(", ")
        );
    };
    println!();
    let counts = monitor.count(rt, async || {
        let (_, done) = run(store, sessions, create).await;
        *created.lock().unwrap() = done;
    });
    report("create", counts);
    let counts = monitor.count(rt, async || {
        let work = created.lock().unwrap().clone();
        run(store, work, get).await;
    });
    report("get", counts);
    let counts = monitor.count(rt, async || {
        let work = created.lock().unwrap().clone();
        let (_, done) = run(store, work, refresh).await;
        *created.lock().unwrap() = done;
    });
    report("refresh", counts);
    let counts = monitor.count(rt, async || {
        let work = created.lock().unwrap().clone();
        run(store, work, delete).await;
    });
    report("delete", counts);
}

fn main() {
    let server = Server::spawn();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = format!("redis://127.0.0.1:{}", server.port);
    let redis: Store = Arc::new(
        rt.block_on(RedisStore::builder_with_key(SigningKey::from_bytes([7; 32])).connect(&url))
            .unwrap(),
    );
    let memory: Store = Arc::new(MemoryStore::new());

    let mut c = Criterion::default().sample_size(10).configure_from_args();
    for tasks in [1, 64] {
        bench_store(&mut c, &rt, "memory", &memory, tasks);
        bench_store(&mut c, &rt, "redis", &redis, tasks);
    }
    bench_session_cache(&mut c, &rt, &url);
    round_trips(&rt, &redis, server.port);
    c.final_summary();
    drop(rt);
    drop(server);
}
