//! Real `redis-server` processes for tests: a standalone server and a 3-master Cluster.
//!
//! - Servers listen on free loopback ports (found by binding `127.0.0.1:0`, dropping the
//!   listener and retrying with another port if redis fails to bind), with
//!   `--save "" --appendonly no` and their own temp dir.
//! - **Cleanup.** Each server runs under a tiny `sh` watchdog that polls every 0.5 s whether
//!   the test process (`$PPID`) is still alive, and kills redis and removes the temp dir once
//!   it is gone. Shared servers live in statics (never dropped), so this is what reaps them
//!   when the test binary exits, even on a panic or a kill. Owned servers are also stopped in
//!   `Drop` (redis killed, watchdog reaped, dir removed).
//! - **Faults.** An owned server can be [`stop`](RedisServer::stop)ped (SIGKILL, a crash) and
//!   [`restart`](RedisServer::restart)ed on the same port with the same arguments and data
//!   dir, so a server spawned with persistence (e.g. `--appendonly yes --appendfsync always`
//!   through [`RedisServer::spawn_with_args`]) comes back with its data. While it is stopped
//!   the dir is kept (a `keep` marker tells the watchdog not to remove it); `Drop` removes it.
//! - `CHARON_TEST_REDIS_URL` replaces the shared standalone server with an existing one.
//! - A missing `redis-server` is a panic with instructions, never a silent skip.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::panic,
    clippy::expect_used,
    clippy::unwrap_used
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Environment variable naming an existing standalone server to use instead of spawning one.
pub const URL_ENV: &str = "CHARON_TEST_REDIS_URL";

const WATCHDOG: &str = r#"
dir="$1"; shift
redis-server "$@" &
pid=$!
echo "$pid" > "$dir/redis.pid"
while kill -0 "$PPID" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if ! kill -0 "$PPID" 2>/dev/null || [ ! -e "$dir/keep" ]; then rm -rf "$dir"; fi
"#;

fn require_redis_server() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let ok = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            panic!(
                "redis-server not found: these tests need a real Redis. Install it with \
                 `apt-get install -y redis-server redis-tools` (or run scripts/test.sh), or set \
                 {URL_ENV} to an existing standalone server for the standalone tests."
            );
        }
    });
}

fn free_port(cluster: bool) -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind 127.0.0.1:0")
            .local_addr()
            .expect("local addr")
            .port();
        // Cluster nodes also need the bus port (port + 10000).
        if !cluster || (port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok()) {
            return port;
        }
    }
}

/// What kind of `redis-server` process to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Standalone,
    Cluster,
    /// `redis-server <dir>/sentinel.conf --sentinel`.
    Sentinel,
}

/// One `redis-server` process.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    /// The TLS port, for a server started with [`RedisServer::spawn_tls`].
    tls_port: Option<u16>,
    dir: PathBuf,
    /// Every `redis-server` argument, to restart it identically.
    args: Vec<String>,
    watchdog: Child,
}

/// TLS settings of a server started by the harness.
#[derive(Debug, Clone, Copy)]
pub struct TlsOptions<'a> {
    /// CA and server certificate.
    pub pki: &'a TestPki,
    /// `--tls-auth-clients yes`: clients must present a certificate of the CA (mutual TLS).
    pub auth_clients: bool,
}

impl RedisServer {
    /// A standalone server.
    pub fn spawn() -> Self {
        Self::spawn_full(Mode::Standalone, None, &[], None)
    }

    /// A standalone server with extra `redis-server` arguments (appended, so they override
    /// the defaults: e.g. `["--appendonly", "yes", "--appendfsync", "always"]`).
    pub fn spawn_with_args(extra: &[&str]) -> Self {
        Self::spawn_full(Mode::Standalone, None, extra, None)
    }

    /// A standalone server with a TLS port (certificate of `tls.pki`) beside its plaintext
    /// port. The plaintext port is the harness's control channel ([`command`](Self::command),
    /// readiness); stores under test connect to [`tls_url`](Self::tls_url).
    pub fn spawn_tls(tls: TlsOptions<'_>, extra: &[&str]) -> Self {
        Self::spawn_full(Mode::Standalone, Some(tls), extra, None)
    }

    /// A sentinel (`redis-server sentinel.conf --sentinel`) whose config file holds `conf`
    /// (`sentinel monitor …` lines). Sentinel rewrites the file as it learns the topology.
    pub fn spawn_sentinel(conf: &str) -> Self {
        Self::spawn_full(Mode::Sentinel, None, &[], Some(conf))
    }

    fn spawn_with(cluster: bool, extra: &[&str]) -> Self {
        let mode = if cluster {
            Mode::Cluster
        } else {
            Mode::Standalone
        };
        Self::spawn_full(mode, None, extra, None)
    }

    fn spawn_full(
        mode: Mode,
        tls: Option<TlsOptions<'_>>,
        extra: &[&str],
        sentinel_conf: Option<&str>,
    ) -> Self {
        require_redis_server();
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        for _attempt in 0..20 {
            let port = free_port(mode == Mode::Cluster);
            let tls_port = tls.map(|_| free_port(false)).filter(|p| *p != port);
            if tls.is_some() && tls_port.is_none() {
                continue;
            }
            let dir = std::env::temp_dir().join(format!(
                "charon-redis-{}-{}-{port}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).expect("create redis temp dir");
            let dir_str = dir.to_str().expect("utf-8 temp dir").to_owned();
            let mut args: Vec<String> = Vec::new();
            if mode == Mode::Sentinel {
                let conf = dir.join("sentinel.conf");
                std::fs::write(&conf, sentinel_conf.unwrap_or_default()).expect("sentinel.conf");
                args.push(conf.to_str().expect("utf-8 path").to_owned());
                args.push("--sentinel".to_owned());
            }
            args.extend(
                [
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--daemonize",
                    "no",
                    "--dir",
                    &dir_str,
                    "--logfile",
                    "redis.log",
                ]
                .map(str::to_owned),
            );
            if mode != Mode::Sentinel {
                args.extend(["--save", "", "--appendonly", "no"].map(str::to_owned));
            }
            if mode == Mode::Cluster {
                args.extend(
                    [
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "5000",
                    ]
                    .map(str::to_owned),
                );
            }
            if let (Some(tls), Some(tls_port)) = (tls, tls_port) {
                // The server's own copies: a restart finds them, the watchdog removes them.
                let pki = tls.pki;
                std::fs::write(dir.join("ca.crt"), &pki.ca_pem).expect("write ca.crt");
                std::fs::write(dir.join("server.crt"), &pki.server_cert_pem).expect("server.crt");
                std::fs::write(dir.join("server.key"), &pki.server_key_pem).expect("server.key");
                args.extend(
                    [
                        "--tls-port",
                        &tls_port.to_string(),
                        "--tls-cert-file",
                        "server.crt",
                        "--tls-key-file",
                        "server.key",
                        "--tls-ca-cert-file",
                        "ca.crt",
                        "--tls-auth-clients",
                        if tls.auth_clients { "yes" } else { "no" },
                    ]
                    .map(str::to_owned),
                );
                if mode == Mode::Cluster {
                    // The bus port would otherwise follow the TLS port; pin it to the one
                    // `free_port` checked and `redis-cli --cluster create` expects.
                    args.extend(
                        [
                            "--tls-cluster",
                            "yes",
                            "--tls-replication",
                            "yes",
                            "--cluster-port",
                            &(port + 10_000).to_string(),
                        ]
                        .map(str::to_owned),
                    );
                }
            }
            args.extend(extra.iter().map(|s| (*s).to_owned()));
            let watchdog = spawn_watchdog(&dir, &args);
            let mut server = Self {
                port,
                tls_port,
                dir,
                args,
                watchdog,
            };
            if server.wait_ready() {
                return server;
            }
            // Port taken between our probe and redis' bind, most likely: try another one.
            drop(server);
        }
        panic!("could not start redis-server after 20 attempts");
    }

    /// `rediss://127.0.0.1:<tls port>` of a server started with TLS.
    pub fn tls_url(&self) -> String {
        format!(
            "rediss://127.0.0.1:{}",
            self.tls_port.expect("server started without TLS")
        )
    }

    /// The TLS port of a server started with TLS.
    pub fn tls_port(&self) -> u16 {
        self.tls_port.expect("server started without TLS")
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    /// Kill the server with SIGKILL (as a crash would) and wait until it is gone. The port
    /// and data dir are kept for [`restart`](Self::restart). Stopping a stopped server does
    /// nothing.
    pub fn stop(&mut self) {
        std::fs::write(self.dir.join("keep"), b"").expect("write keep marker");
        if let Some(pid) = self.redis_pid() {
            let _ = Command::new("kill")
                .arg("-9")
                .arg(&pid)
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.watchdog.wait();
        let _ = std::fs::remove_file(self.dir.join("redis.pid"));
    }

    /// Start the server again on the same port, with the same arguments and data dir, and
    /// wait until it answers `PING` (after loading its data). Stops it first if needed.
    pub fn restart(&mut self) {
        if self.redis_pid().is_some() {
            self.stop();
        }
        let _ = std::fs::remove_file(self.dir.join("keep"));
        self.watchdog = spawn_watchdog(&self.dir, &self.args);
        assert!(
            self.wait_ready(),
            "redis-server did not restart on port {}",
            self.port
        );
    }

    /// Whether the server answers `PING` within `timeout` (false while it is stopped,
    /// paused or busy, e.g. in `DEBUG SLEEP`).
    pub fn responds_within(&self, timeout: Duration) -> bool {
        raw_command_with_timeout(self.port, &["PING"], timeout).is_ok_and(|r| r == "PONG")
    }

    fn wait_ready(&mut self) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if matches!(self.watchdog.try_wait(), Ok(Some(_))) {
                return false;
            }
            if raw_command(self.port, &["PING"]).is_ok_and(|reply| reply == "PONG") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Send one command over a fresh connection and return the reply as text (errors are
    /// returned as `Err` with the error line).
    pub fn command(&self, args: &[&str]) -> Result<String, String> {
        raw_command(self.port, args)
    }

    /// [`command`](Self::command) waiting up to `timeout` for the reply (a command that
    /// `CLIENT PAUSE ALL` holds back until the pause ends, `CLIENT UNPAUSE` included).
    pub fn command_with_timeout(&self, args: &[&str], timeout: Duration) -> Result<String, String> {
        raw_command_with_timeout(self.port, args, timeout)
    }

    /// [`command`](Self::command) on any loopback port (usable from a thread that holds
    /// no `RedisServer`).
    pub fn command_on(port: u16, args: &[&str]) -> Result<String, String> {
        raw_command(port, args)
    }

    fn redis_pid(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("redis.pid"))
            .ok()
            .map(|s| s.trim().to_owned())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(pid) = self.redis_pid() {
            let _ = Command::new("kill")
                .arg("-9")
                .arg(&pid)
                .stderr(Stdio::null())
                .status();
        } else {
            let _ = self.watchdog.kill();
        }
        let _ = self.watchdog.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A 3-master Redis Cluster (no replicas).
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Start three cluster-enabled servers, create the cluster and wait for
    /// `cluster_state:ok` on every node.
    pub fn spawn() -> Self {
        Self::spawn_inner(None)
    }

    /// A 3-master cluster whose nodes also listen with TLS, talk to each other over TLS
    /// (`tls-cluster yes`, `tls-replication yes`) and announce their TLS ports to TLS
    /// clients. The harness creates it through the plaintext ports.
    pub fn spawn_tls(tls: TlsOptions<'_>) -> Self {
        Self::spawn_inner(Some(tls))
    }

    fn spawn_inner(tls: Option<TlsOptions<'_>>) -> Self {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| RedisServer::spawn_full(Mode::Cluster, tls, &[], None))
            .collect();
        let mut cmd = Command::new("redis-cli");
        cmd.arg("--cluster").arg("create");
        for n in &nodes {
            cmd.arg(n.addr());
        }
        let out = cmd
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("redis-cli not found ({e}): apt-get install -y redis-tools")
            });
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let start = Instant::now();
        loop {
            let ok = nodes.iter().all(|n| {
                n.command(&["CLUSTER", "INFO"])
                    .is_ok_and(|info| info.contains("cluster_state:ok"))
            });
            if ok {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "cluster did not reach cluster_state:ok"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { nodes }
    }

    /// The nodes.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// Seed URLs of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// `rediss://` seed URLs of every node (cluster started with TLS).
    pub fn tls_urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::tls_url).collect()
    }
}

/// The shared standalone server of this test binary: `CHARON_TEST_REDIS_URL` if set,
/// otherwise one spawned on first use.
pub fn standalone_url() -> String {
    if let Ok(url) = std::env::var(URL_ENV)
        && !url.is_empty()
    {
        return url;
    }
    shared_standalone().url()
}

/// The spawned shared standalone server (ignores `CHARON_TEST_REDIS_URL`).
pub fn shared_standalone() -> &'static RedisServer {
    static SERVER: OnceLock<RedisServer> = OnceLock::new();
    SERVER.get_or_init(RedisServer::spawn)
}

/// The shared 3-master cluster of this test binary, started on first use.
pub fn cluster() -> &'static RedisCluster {
    static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
    CLUSTER.get_or_init(RedisCluster::spawn)
}

fn spawn_watchdog(dir: &std::path::Path, args: &[String]) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("charon-redis-watchdog")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sh")
}

fn raw_command(port: u16, args: &[&str]) -> Result<String, String> {
    raw_command_with_timeout(port, args, Duration::from_secs(5))
}

fn raw_command_with_timeout(port: u16, args: &[&str], timeout: Duration) -> Result<String, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut req = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        req.extend_from_slice(a.as_bytes());
        req.extend_from_slice(b"\r\n");
    }
    stream.write_all(&req).map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    let line = line.trim_end().to_owned();
    match line.split_at_checked(1) {
        Some(("+" | ":", rest)) => Ok(rest.to_owned()),
        Some(("-", rest)) => Err(rest.to_owned()),
        Some(("$", len)) => {
            let len: i64 = len.parse().map_err(|_| line.clone())?;
            if len < 0 {
                return Ok(String::new());
            }
            let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0) + 2];
            reader.read_exact(&mut buf).map_err(|e| e.to_string())?;
            buf.truncate(buf.len() - 2);
            Ok(String::from_utf8_lossy(&buf).into_owned())
        }
        _ => Err(format!("unsupported reply: {line}")),
    }
}

/// A CA and the certificates the TLS tests use, generated with `rcgen` (ECDSA P-256): a
/// server certificate for `127.0.0.1` and `localhost`, and a client certificate. Only PEM
/// text: servers get their own copies in their dirs.
#[derive(Debug)]
pub struct TestPki {
    /// The CA certificate.
    pub ca_pem: String,
    /// The server certificate (signed by the CA).
    pub server_cert_pem: String,
    /// The server's private key (PKCS#8).
    pub server_key_pem: String,
    /// A client certificate (signed by the CA), for mutual TLS.
    pub client_cert_pem: String,
    /// The client's private key (PKCS#8).
    pub client_key_pem: String,
}

impl TestPki {
    /// A fresh CA named `name` with a server and a client certificate.
    pub fn generate(name: &str) -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().expect("ca key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign ca");
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf = |sans: Vec<String>, cn: &str| {
            let mut params = CertificateParams::new(sans).expect("leaf params");
            params.distinguished_name.push(DnType::CommonName, cn);
            let key = KeyPair::generate().expect("leaf key");
            let cert = params.signed_by(&key, &issuer).expect("sign leaf");
            (cert.pem(), key.serialize_pem())
        };
        let (server_cert_pem, server_key_pem) = leaf(
            vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
            "redis test server",
        );
        let (client_cert_pem, client_key_pem) =
            leaf(vec!["charon-test-client".to_owned()], "charon test client");
        Self {
            ca_pem: ca_cert.pem(),
            server_cert_pem,
            server_key_pem,
            client_cert_pem,
            client_key_pem,
        }
    }
}

/// The PKI shared by the TLS tests of one test binary.
pub fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| TestPki::generate("charon"))
}

/// The shared TLS cluster (mutual TLS required) of this test binary, started on first use.
pub fn tls_cluster() -> &'static RedisCluster {
    static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        RedisCluster::spawn_tls(TlsOptions {
            pki: pki(),
            auth_clients: true,
        })
    })
}

/// Master name monitored by [`SentinelSet`].
pub const SENTINEL_MASTER: &str = "charon-master";

/// A master, one replica and three sentinels (quorum 2) with short failure detection
/// (`down-after-milliseconds 500`, `failover-timeout 3000`).
#[derive(Debug)]
pub struct SentinelSet {
    /// The servers: `[0]` starts as master, `[1]` as its replica.
    pub servers: Vec<RedisServer>,
    /// The three sentinels.
    pub sentinels: Vec<RedisServer>,
}

impl SentinelSet {
    /// Start the set and wait until the replica is in sync and every sentinel knows the
    /// replica and the two other sentinels.
    pub fn spawn() -> Self {
        let master = RedisServer::spawn();
        let replica =
            RedisServer::spawn_with_args(&["--replicaof", "127.0.0.1", &master.port().to_string()]);
        wait_for(Duration::from_secs(20), "replica in sync", || {
            replica
                .command(&["INFO", "replication"])
                .is_ok_and(|i| i.contains("master_link_status:up"))
        });
        let conf = format!(
            "sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {} 2\n\
             sentinel down-after-milliseconds {SENTINEL_MASTER} 500\n\
             sentinel failover-timeout {SENTINEL_MASTER} 3000\n\
             sentinel parallel-syncs {SENTINEL_MASTER} 1\n",
            master.port()
        );
        let sentinels: Vec<RedisServer> =
            (0..3).map(|_| RedisServer::spawn_sentinel(&conf)).collect();
        let set = Self {
            servers: vec![master, replica],
            sentinels,
        };
        wait_for(
            Duration::from_secs(30),
            "sentinels see each other and the replica",
            || {
                set.sentinels.iter().all(|s| {
                    s.command(&["INFO", "sentinel"]).is_ok_and(|i| {
                        i.contains("status=ok")
                            && i.contains("slaves=1")
                            && i.contains("sentinels=3")
                    })
                })
            },
        );
        set
    }

    /// `host:port` of every sentinel.
    pub fn sentinel_addrs(&self) -> Vec<String> {
        self.sentinels.iter().map(RedisServer::addr).collect()
    }

    /// The port of the master as the first sentinel that answers names it.
    pub fn master_port(&self) -> Option<u16> {
        self.sentinels.iter().find_map(|s| {
            let info = s.command(&["INFO", "sentinel"]).ok()?;
            let addr = info.split("address=").nth(1)?.split(',').next()?;
            addr.rsplit(':').next()?.parse().ok()
        })
    }
}

/// Poll `ok` every 50 ms until it holds; panic naming `what` after `limit` (a hang guard,
/// not a timing assertion).
pub fn wait_for(limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < limit,
            "{what}: not reached within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
