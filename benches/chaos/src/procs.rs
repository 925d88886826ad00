//! Processes the run starts: `redis-server` (standalone, Cluster node, sentinel) and the
//! demo server. Every pid goes to `<work>/pids` as it is spawned, so `scripts/chaos.sh` can
//! end exactly these processes if the driver itself dies; `Drop` kills them otherwise.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the run keeps its files, and the pid list.
#[derive(Debug, Clone)]
pub struct Work {
    pub dir: PathBuf,
}

impl Work {
    pub fn record_pid(&self, pid: u32) {
        if let Ok(mut f) = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("pids"))
        {
            let _ = writeln!(f, "{pid}");
        }
    }

    /// A fresh directory under the work dir.
    pub fn subdir(&self, name: &str) -> io::Result<PathBuf> {
        let dir = self.dir.join(name);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        Ok(dir)
    }
}

/// A free loopback port (for a Cluster node, its bus port `port + 10000` too).
pub fn free_port(cluster: bool) -> u16 {
    loop {
        let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = listener.local_addr() else {
            continue;
        };
        let port = addr.port();
        drop(listener);
        if !cluster || (port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok()) {
            return port;
        }
    }
}

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The reply as text (simple, bulk or integer).
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Simple(s) => Some(s.clone()),
            Reply::Int(i) => Some(i.to_string()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

fn read_reply(r: &mut impl io::BufRead) -> io::Result<Reply> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    let line = line.trim_end_matches(['\r', '\n']);
    let bad = || io::Error::new(io::ErrorKind::InvalidData, format!("bad reply: {line:?}"));
    let (tag, rest) = line.split_at_checked(1).ok_or_else(bad)?;
    Ok(match tag {
        "+" => Reply::Simple(rest.to_owned()),
        "-" => Reply::Error(rest.to_owned()),
        ":" => Reply::Int(rest.parse().map_err(|_| bad())?),
        "$" => {
            let len: i64 = rest.parse().map_err(|_| bad())?;
            if len < 0 {
                Reply::Bulk(None)
            } else {
                let len = usize::try_from(len).map_err(|_| bad())?;
                let mut buf = vec![0u8; len + 2];
                r.read_exact(&mut buf)?;
                buf.truncate(len);
                Reply::Bulk(Some(buf))
            }
        }
        "*" => {
            let n: i64 = rest.parse().map_err(|_| bad())?;
            if n < 0 {
                Reply::Array(None)
            } else {
                let mut items = Vec::new();
                for _ in 0..n {
                    items.push(read_reply(r)?);
                }
                Reply::Array(Some(items))
            }
        }
        _ => return Err(bad()),
    })
}

/// One command over a fresh connection to `127.0.0.1:port`.
pub fn command(port: u16, args: &[&str], timeout: Duration) -> io::Result<Reply> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut req = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        req.extend_from_slice(a.as_bytes());
        req.extend_from_slice(b"\r\n");
    }
    stream.write_all(&req)?;
    read_reply(&mut BufReader::new(stream))
}

/// A short-timeout command; errors as `Err(text)`.
pub fn cmd(port: u16, args: &[&str]) -> Result<Reply, String> {
    match command(port, args, Duration::from_secs(3)) {
        Ok(Reply::Error(e)) => Err(e),
        Ok(reply) => Ok(reply),
        Err(e) => Err(e.to_string()),
    }
}

/// `INFO <section>` as text.
pub fn info(port: u16, section: &str) -> Option<String> {
    cmd(port, &["INFO", section]).ok()?.text()
}

/// Poll `ok` every 50 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// One `redis-server` process (a server or a sentinel) in its own directory.
#[derive(Debug)]
pub struct Redis {
    pub port: u16,
    pub dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    work: Work,
}

impl Redis {
    /// Start `redis-server` on `port` in `dir` with `extra` arguments after the defaults
    /// (loopback, no persistence unless `extra` asks for it), and wait for `PING`.
    pub fn start(work: &Work, dir: &Path, port: u16, extra: &[String]) -> io::Result<Self> {
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "no",
            "--dir",
            dir.to_str().unwrap_or("."),
            "--logfile",
            "redis.log",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(extra.iter().cloned());
        Self::spawn(work, dir, port, args)
    }

    /// Start a sentinel whose config file holds `conf`.
    pub fn start_sentinel(work: &Work, dir: &Path, port: u16, conf: &str) -> io::Result<Self> {
        let path = dir.join("sentinel.conf");
        fs::write(&path, conf)?;
        let args: Vec<String> = [
            path.to_str().unwrap_or("sentinel.conf"),
            "--sentinel",
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "no",
            "--dir",
            dir.to_str().unwrap_or("."),
            "--logfile",
            "redis.log",
        ]
        .map(str::to_owned)
        .to_vec();
        Self::spawn(work, dir, port, args)
    }

    fn spawn(work: &Work, dir: &Path, port: u16, args: Vec<String>) -> io::Result<Self> {
        let mut redis = Self {
            port,
            dir: dir.to_owned(),
            args,
            child: None,
            work: work.clone(),
        };
        redis.launch()?;
        Ok(redis)
    }

    fn launch(&mut self) -> io::Result<()> {
        let child = Command::new("redis-server")
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.work.record_pid(child.id());
        self.child = Some(child);
        let port = self.port;
        let up = wait_until(
            Duration::from_secs(15),
            || matches!(cmd(port, &["PING"]), Ok(Reply::Simple(s)) if s == "PONG"),
        );
        if up {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "redis-server on port {port} did not answer PING; its log:\n{}",
                self.log_tail()
            )))
        }
    }

    /// SIGKILL (a crash) and wait until the process is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start it again with the same arguments (and data dir).
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        self.launch()
    }

    /// Start it again with `extra` arguments appended (e.g. `--replicaof`).
    pub fn restart_with(&mut self, extra: &[String]) -> io::Result<()> {
        self.kill();
        self.args.extend(extra.iter().cloned());
        self.launch()
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn cmd(&self, args: &[&str]) -> Result<Reply, String> {
        cmd(self.port, args)
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The demo server (`examples/axum_server.rs`, release build).
#[derive(Debug)]
pub struct Demo {
    pub port: u16,
    pub log: PathBuf,
    child: Option<Child>,
}

impl Demo {
    /// Start the demo with `env` and wait until `/healthz` answers.
    pub fn start(
        work: &Work,
        bin: &Path,
        env: &[(String, String)],
        log: &Path,
    ) -> io::Result<Self> {
        let port = free_port(false);
        let out = File::create(log)?;
        let err = out.try_clone()?;
        let mut command = Command::new(bin);
        command
            .env("CHARON_DEMO_ADDR", format!("127.0.0.1:{port}"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn()?;
        work.record_pid(child.id());
        let mut demo = Self {
            port,
            log: log.to_owned(),
            child: Some(child),
        };
        let ok = wait_until(Duration::from_secs(30), || {
            if let Some(child) = demo.child.as_mut()
                && matches!(child.try_wait(), Ok(Some(_)))
            {
                return true;
            }
            healthz(port)
        });
        let exited = demo
            .child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
        if !ok || exited {
            let text = fs::read_to_string(log).unwrap_or_default();
            demo.stop();
            return Err(io::Error::other(format!(
                "the demo server did not start:\n{text}"
            )));
        }
        Ok(demo)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Warnings in the server's log: (`charon::store` target, every other target).
    pub fn warnings(&self) -> (usize, usize) {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let mut store = 0;
        let mut other = 0;
        for line in text.lines().filter(|l| l.contains(" WARN ")) {
            if line.contains("charon::store") {
                store += 1;
            } else {
                other += 1;
            }
        }
        (store, other)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.stop();
    }
}

fn healthz(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).is_ok() && line.contains(" 200 ")
}

/// Copy a directory tree (the AOF directory, for the "lose the last second" crash).
pub fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
