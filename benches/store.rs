//! Session store throughput: `get` and `upsert` ops/s with 64 concurrent tasks sharing one
//! store, against a `redis-server` spawned for the bench (loopback TCP, no persistence).
//!
//! Run: `cargo bench --bench store` (criterion reports elements/s = operations/s).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use charon_auth::clock::{Clock as _, SystemClock};
use charon_auth::session::{Session, SessionType, random_id};
use charon_auth::store::redis::{RedisStore, SigningKey};
use charon_auth::store::{SessionStore, WriteMode};
use criterion::{Criterion, Throughput};

const TASKS: u64 = 64;

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

fn sessions(now: i64) -> Vec<Session> {
    (0..TASKS)
        .map(|i| {
            Session::new(
                random_id(),
                format!("bench-user-{i}"),
                SessionType::default(),
                now,
                Some(now + 86_400),
                now + 3_600,
                random_id(),
            )
        })
        .collect()
}

fn main() {
    let server = Server::spawn();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = format!("redis://127.0.0.1:{}", server.port);
    let store: Arc<dyn SessionStore> = Arc::new(
        rt.block_on(RedisStore::builder_with_key(SigningKey::from_bytes([7; 32])).connect(&url))
            .unwrap(),
    );
    let now = SystemClock.now();
    let created = sessions(now);
    let stored: Vec<Session> = rt.block_on(async {
        let mut out = Vec::new();
        for s in &created {
            let v = store.upsert(s, WriteMode::Create, now).await.unwrap();
            let mut s = s.clone();
            s.lock_version = v;
            out.push(s);
        }
        out
    });

    let mut c = Criterion::default().sample_size(10).configure_from_args();
    let mut group = c.benchmark_group("redis_store_64_tasks");
    group.throughput(Throughput::Elements(1));

    group.bench_function("get", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let store = Arc::clone(&store);
            let sessions = stored.clone();
            async move {
                let per_task = iters.div_ceil(TASKS);
                let start = Instant::now();
                let handles: Vec<_> = sessions
                    .into_iter()
                    .map(|s| {
                        let store = Arc::clone(&store);
                        tokio::spawn(async move {
                            for _ in 0..per_task {
                                let got = store.get(s.key(), now).await.unwrap();
                                assert!(got.is_some());
                            }
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
                start.elapsed()
            }
        });
    });

    // Each task refreshes its own session: one optimistic-locking script per op.
    let current = Arc::new(std::sync::Mutex::new(stored));
    group.bench_function("upsert", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let store = Arc::clone(&store);
            let current = Arc::clone(&current);
            async move {
                let sessions = current.lock().unwrap().clone();
                let mut updated = Vec::new();
                let per_task = iters.div_ceil(TASKS);
                let start = Instant::now();
                let handles: Vec<_> = sessions
                    .into_iter()
                    .map(|mut s| {
                        let store = Arc::clone(&store);
                        tokio::spawn(async move {
                            for _ in 0..per_task {
                                s.lock_version =
                                    store.upsert(&s, WriteMode::Update, now).await.unwrap();
                            }
                            s
                        })
                    })
                    .collect();
                for h in handles {
                    updated.push(h.await.unwrap());
                }
                let elapsed = start.elapsed();
                *current.lock().unwrap() = updated;
                elapsed
            }
        });
    });
    group.finish();
    c.final_summary();
    drop(rt);
    drop(server);
}
