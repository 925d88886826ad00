//! The scenarios: a Redis topology each, the demo's environment for it, and the fault
//! injected `warmup` seconds into the run (some act one second before: the AOF copy of the
//! "lose the last second" crash, the replication stall of the Sentinel runs).

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::procs::{Redis, Reply, Work, copy_dir, free_port, info, wait_until};
use crate::proxy::LinkProxy;

pub const SENTINEL_MASTER: &str = "chaos-master";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SIGKILL, restart 2 s later on the same data (`appendfsync always`).
    RestartAlways,
    /// `appendfsync everysec`; an OS crash that loses the last second: the AOF directory
    /// as it was 1 s before the kill is put back before the restart.
    CrashEverysec,
    /// `CLIENT PAUSE 3000 ALL`.
    Pause,
    /// `FLUSHALL`.
    Flushall,
    /// 3 masters + 3 replicas; one master killed, its replica takes over.
    ClusterFailover,
    /// Master + replica + 3 sentinels; the replication link stalls 1 s before the master is
    /// killed; the sentinels promote the replica; the old master comes back as its replica.
    SentinelFailover,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub name: &'static str,
    pub kind: Kind,
    /// `CHARON_REDIS_DURABLE_DELETES`.
    pub durable: &'static str,
}

pub fn all() -> Vec<Plan> {
    let plan = |name, kind, durable| Plan {
        name,
        kind,
        durable,
    };
    vec![
        plan("restart-always", Kind::RestartAlways, "off"),
        plan("crash-everysec", Kind::CrashEverysec, "off"),
        plan("crash-everysec-fsync", Kind::CrashEverysec, "fsync"),
        plan("client-pause", Kind::Pause, "off"),
        plan("cluster-failover", Kind::ClusterFailover, "off"),
        plan("sentinel-failover", Kind::SentinelFailover, "off"),
        plan("sentinel-failover-durable", Kind::SentinelFailover, "1"),
        plan("flushall", Kind::Flushall, "off"),
    ]
}

/// The processes of one scenario.
pub struct Topology {
    pub env: Vec<(String, String)>,
    servers: Vec<Redis>,
    sentinels: Vec<Redis>,
    proxy: Option<LinkProxy>,
}

/// What the fault injection did, in µs since the run's start.
#[derive(Debug, Default)]
pub struct Faulted {
    /// The first disruptive action.
    pub start_us: u64,
    /// What happened when, for the report.
    pub notes: Vec<String>,
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// Whether this `redis-server` knows `WAITAOF` (Redis >= 7.2).
pub fn has_waitaof(work: &Work) -> Result<bool, String> {
    let dir = work.subdir("waitaof-probe").map_err(|e| e.to_string())?;
    let server = Redis::start(work, &dir, free_port(false), &[]).map_err(|e| e.to_string())?;
    let reply = server.cmd(&["COMMAND", "INFO", "WAITAOF"])?;
    Ok(
        matches!(reply, Reply::Array(Some(items)) if items.first().is_some_and(|i| !matches!(i, Reply::Array(None) | Reply::Bulk(None)))),
    )
}

/// `redis-server --version`, for the report.
pub fn redis_version() -> String {
    Command::new("redis-server")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| {
            v.split_whitespace()
                .find_map(|w| w.strip_prefix("v=").map(str::to_owned))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

impl Topology {
    pub fn start(plan: &Plan, work: &Work) -> Result<Self, String> {
        let dir = |name: &str| -> Result<PathBuf, String> {
            work.subdir(&format!("{}/{name}", plan.name))
                .map_err(|e| e.to_string())
        };
        let mut env = vec![(
            "CHARON_REDIS_DURABLE_DELETES".to_owned(),
            plan.durable.to_owned(),
        )];
        let standalone = |extra: &[&str]| -> Result<Redis, String> {
            Redis::start(work, &dir("redis")?, free_port(false), &strings(extra))
                .map_err(|e| e.to_string())
        };
        let topology = match plan.kind {
            Kind::RestartAlways => {
                let r = standalone(&["--appendonly", "yes", "--appendfsync", "always"])?;
                env.push(("REDIS_URL".into(), r.url()));
                Self::of(env, vec![r])
            }
            Kind::CrashEverysec => {
                let r = standalone(&[
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "everysec",
                    "--auto-aof-rewrite-percentage",
                    "0",
                ])?;
                env.push(("REDIS_URL".into(), r.url()));
                Self::of(env, vec![r])
            }
            Kind::Pause | Kind::Flushall => {
                let r = standalone(&[])?;
                env.push(("REDIS_URL".into(), r.url()));
                Self::of(env, vec![r])
            }
            Kind::ClusterFailover => {
                let mut nodes = Vec::new();
                for i in 0..6 {
                    nodes.push(
                        Redis::start(
                            work,
                            &dir(&format!("node{i}"))?,
                            free_port(true),
                            &strings(&[
                                "--cluster-enabled",
                                "yes",
                                "--cluster-config-file",
                                "nodes.conf",
                                "--cluster-node-timeout",
                                "2000",
                            ]),
                        )
                        .map_err(|e| e.to_string())?,
                    );
                }
                let out = Command::new("redis-cli")
                    .args(["--cluster", "create"])
                    .args(nodes.iter().map(Redis::addr))
                    .args(["--cluster-replicas", "1", "--cluster-yes"])
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| format!("redis-cli: {e}"))?;
                if !out.status.success() {
                    return Err(format!(
                        "redis-cli --cluster create failed: {}",
                        String::from_utf8_lossy(&out.stdout)
                    ));
                }
                let ready = wait_until(Duration::from_secs(60), || {
                    nodes.iter().all(|n| {
                        info(n.port, "replication").is_some_and(|i| {
                            i.contains("role:master") || i.contains("master_link_status:up")
                        }) && n
                            .cmd(&["CLUSTER", "INFO"])
                            .ok()
                            .and_then(|r| r.text())
                            .is_some_and(|i| i.contains("cluster_state:ok"))
                    })
                });
                if !ready {
                    return Err("the cluster did not become ready".into());
                }
                let urls: Vec<String> = nodes.iter().map(Redis::url).collect();
                env.push(("CHARON_REDIS_CLUSTER".into(), urls.join(",")));
                Self::of(env, nodes)
            }
            Kind::SentinelFailover => {
                let master = standalone(&[])?;
                let proxy = LinkProxy::spawn(master.port).map_err(|e| e.to_string())?;
                let replica = Redis::start(
                    work,
                    &dir("replica")?,
                    free_port(false),
                    &strings(&["--replicaof", "127.0.0.1", &proxy.port.to_string()]),
                )
                .map_err(|e| e.to_string())?;
                if !wait_until(Duration::from_secs(20), || {
                    info(replica.port, "replication")
                        .is_some_and(|i| i.contains("master_link_status:up"))
                }) {
                    return Err("the replica did not sync".into());
                }
                // A long failover-timeout: Sentinel would otherwise, after it, point the
                // replica at the master directly, around the proxy.
                let conf = format!(
                    "sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {} 2\n\
                     sentinel down-after-milliseconds {SENTINEL_MASTER} 1000\n\
                     sentinel failover-timeout {SENTINEL_MASTER} 60000\n\
                     sentinel parallel-syncs {SENTINEL_MASTER} 1\n",
                    master.port
                );
                let mut sentinels = Vec::new();
                for i in 0..3 {
                    sentinels.push(
                        Redis::start_sentinel(
                            work,
                            &dir(&format!("sentinel{i}"))?,
                            free_port(false),
                            &conf,
                        )
                        .map_err(|e| e.to_string())?,
                    );
                }
                let ready = wait_until(Duration::from_secs(40), || {
                    sentinels.iter().all(|s| {
                        info(s.port, "sentinel").is_some_and(|i| {
                            i.contains("status=ok")
                                && i.contains("slaves=1")
                                && i.contains("sentinels=3")
                        })
                    })
                });
                if !ready {
                    return Err("the sentinels did not see each other and the replica".into());
                }
                let addrs: Vec<String> = sentinels.iter().map(Redis::addr).collect();
                env.push(("CHARON_REDIS_SENTINELS".into(), addrs.join(",")));
                env.push((
                    "CHARON_REDIS_SENTINEL_MASTER".into(),
                    SENTINEL_MASTER.to_owned(),
                ));
                Self {
                    env,
                    servers: vec![master, replica],
                    sentinels,
                    proxy: Some(proxy),
                }
            }
        };
        Ok(topology)
    }

    fn of(env: Vec<(String, String)>, servers: Vec<Redis>) -> Self {
        Self {
            env,
            servers,
            sentinels: Vec::new(),
            proxy: None,
        }
    }

    /// Inject `plan`'s fault `warmup` after `t0`. Blocking.
    pub fn inject(
        &mut self,
        plan: &Plan,
        t0: Instant,
        warmup: Duration,
    ) -> Result<Faulted, String> {
        let us = || u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
        let at = |offset: Duration| {
            let when = t0 + offset;
            let now = Instant::now();
            if when > now {
                sleep(when - now);
            }
        };
        let secs = |from: u64| format!("+{:.1} s", (us().saturating_sub(from)) as f64 / 1e6);
        let one = Duration::from_secs(1);
        let mut f = Faulted::default();
        match plan.kind {
            Kind::RestartAlways => {
                at(warmup);
                f.start_us = us();
                self.servers[0].kill();
                f.notes.push("SIGKILL".into());
                at(warmup + 2 * one);
                self.servers[0].restart().map_err(|e| e.to_string())?;
                f.notes
                    .push(format!("restarted, serving at {}", secs(f.start_us)));
            }
            Kind::CrashEverysec => {
                let server = &mut self.servers[0];
                let aof = server.dir.join("appendonlydir");
                let copy = server.dir.join("aof-1s-before");
                at(warmup - one);
                copy_dir(&aof, &copy).map_err(|e| format!("copy the AOF: {e}"))?;
                at(warmup);
                f.start_us = us();
                server.kill();
                fs::remove_dir_all(&aof).map_err(|e| e.to_string())?;
                fs::rename(&copy, &aof).map_err(|e| e.to_string())?;
                f.notes.push("SIGKILL, AOF of 1 s before put back".into());
                at(warmup + one);
                server.restart().map_err(|e| e.to_string())?;
                f.notes
                    .push(format!("restarted, serving at {}", secs(f.start_us)));
            }
            Kind::Pause => {
                at(warmup);
                f.start_us = us();
                self.servers[0].cmd(&["CLIENT", "PAUSE", "3000", "ALL"])?;
                f.notes.push("paused 3 s".into());
            }
            Kind::Flushall => {
                at(warmup);
                f.start_us = us();
                self.servers[0].cmd(&["FLUSHALL"])?;
                f.notes.push("every key gone".into());
            }
            Kind::ClusterFailover => {
                // The first master and its replica, from CLUSTER NODES.
                let nodes = self.servers[0]
                    .cmd(&["CLUSTER", "NODES"])?
                    .text()
                    .unwrap_or_default();
                let victim = nodes
                    .lines()
                    .find(|l| l.contains("master") && !l.contains("fail"))
                    .ok_or("no master in CLUSTER NODES")?
                    .to_owned();
                let victim_id = victim.split(' ').next().unwrap_or_default().to_owned();
                let victim_port: u16 = victim
                    .split(' ')
                    .nth(1)
                    .and_then(|a| a.split('@').next())
                    .and_then(|a| a.rsplit(':').next())
                    .and_then(|p| p.parse().ok())
                    .ok_or("unparsable CLUSTER NODES")?;
                let replica_id = nodes
                    .lines()
                    .find(|l| l.split(' ').nth(3) == Some(victim_id.as_str()))
                    .and_then(|l| l.split(' ').next())
                    .ok_or("the killed master has no replica")?
                    .to_owned();
                let witness = self
                    .servers
                    .iter()
                    .map(|s| s.port)
                    .find(|p| *p != victim_port)
                    .ok_or("no other node")?;
                at(warmup);
                f.start_us = us();
                if let Some(v) = self.servers.iter_mut().find(|s| s.port == victim_port) {
                    v.kill();
                }
                f.notes.push("master SIGKILLed".into());
                let promoted = wait_until(Duration::from_secs(30), || {
                    crate::procs::cmd(witness, &["CLUSTER", "NODES"])
                        .ok()
                        .and_then(|r| r.text())
                        .is_some_and(|nodes| {
                            nodes.lines().any(|l| {
                                let mut cols = l.split(' ');
                                cols.next() == Some(replica_id.as_str())
                                    && cols.nth(1).is_some_and(|flags| flags.contains("master"))
                            })
                        })
                });
                f.notes.push(if promoted {
                    format!("replica master at {}", secs(f.start_us))
                } else {
                    "replica not promoted within 30 s".into()
                });
            }
            Kind::SentinelFailover => {
                let replica_port = self.servers[1].port;
                at(warmup - one);
                f.start_us = us();
                if let Some(p) = &self.proxy {
                    p.stall();
                }
                f.notes.push("replication stalled".into());
                at(warmup);
                self.servers[0].kill();
                f.notes
                    .push(format!("master SIGKILLed at {}", secs(f.start_us)));
                let sentinels: Vec<u16> = self.sentinels.iter().map(|s| s.port).collect();
                let promoted = wait_until(Duration::from_secs(30), || {
                    sentinels.iter().any(|s| {
                        matches!(
                            crate::procs::cmd(*s, &["SENTINEL", "get-master-addr-by-name", SENTINEL_MASTER]),
                            Ok(Reply::Array(Some(items)))
                                if items.get(1).and_then(Reply::text) == Some(replica_port.to_string())
                        )
                    })
                });
                if !promoted {
                    return Err("the sentinels did not promote the replica within 30 s".into());
                }
                f.notes
                    .push(format!("replica promoted at {}", secs(f.start_us)));
                // Back as a replica of the new master (as an orchestrator following
                // Sentinel restarts it; Sentinel itself would convert it some seconds later).
                let port = replica_port.to_string();
                self.servers[0]
                    .restart_with(&strings(&["--replicaof", "127.0.0.1", &port]))
                    .map_err(|e| e.to_string())?;
                let old = self.servers[0].port;
                let synced = wait_until(Duration::from_secs(20), || {
                    info(old, "replication").is_some_and(|i| i.contains("master_link_status:up"))
                });
                f.notes.push(if synced {
                    format!("old master back as replica at {}", secs(f.start_us))
                } else {
                    "old master not in sync within 20 s".into()
                });
            }
        }
        Ok(f)
    }
}
