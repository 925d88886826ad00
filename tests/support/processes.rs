//! The demo binaries (`examples/axum_server.rs`, `examples/resource_server.rs`) as real child
//! processes on free loopback ports, and a small HTTP client to talk to them.
//!
//! The example binaries are built once per test binary with `cargo build --example …`
//! (the `CARGO` that runs the tests, the same features and profile as the test binary, so
//! after `cargo test --all-features`, which builds every example, it has nothing to do),
//! and located from cargo's JSON messages rather than guessed under `target/`.
//! Test binaries include it with `#[path = "support/processes.rs"] mod processes;`.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::{BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// How long a process may take to start answering (a cold, loaded machine).
const START_DEADLINE: Duration = Duration::from_secs(60);

/// The crate features the test binary was built with, for the nested `cargo build`.
fn features() -> Vec<&'static str> {
    let mut list = Vec::new();
    macro_rules! feature {
        ($($name:literal),*) => {$(
            if cfg!(feature = $name) {
                list.push($name);
            }
        )*};
    }
    feature!(
        "redis",
        "axum",
        "tracing",
        "metrics",
        "test-util",
        "aws_lc_rs",
        "rust_crypto",
        "jwks"
    );
    list
}

/// The example binaries, built on first use.
pub struct Binaries {
    pub auth: PathBuf,
    pub resource: PathBuf,
}

pub fn binaries() -> &'static Binaries {
    static BINARIES: OnceLock<Binaries> = OnceLock::new();
    BINARIES.get_or_init(build_examples)
}

fn build_examples() -> Binaries {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    // Cargo sets this package's CARGO_PKG_*, CARGO_MANIFEST_DIR, … for the test run; build
    // scripts (ring's, cc's) rerun when those change, so the nested build would rebuild
    // them (and then the next `cargo test` again). Give it the caller's environment back.
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let cargo_config = ["CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_INCREMENTAL"].contains(&key)
            || [
                "CARGO_BUILD_",
                "CARGO_PROFILE_",
                "CARGO_REGISTRIES_",
                "CARGO_NET_",
                "CARGO_TERM_",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix));
        if (key.starts_with("CARGO_") && !cargo_config) || key == "OUT_DIR" {
            command.env_remove(key);
        }
    }
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--message-format=json-render-diagnostics"])
        .args(["--example", "axum_server", "--example", "resource_server"])
        .arg("--no-default-features")
        .arg(format!("--features={}", features().join(",")))
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped());
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command
        .output()
        .expect("cargo build --example could not run");
    assert!(
        output.status.success(),
        "cargo build --example axum_server --example resource_server failed"
    );
    let mut auth = None;
    let mut resource = None;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(executable) = message["executable"].as_str() else {
            continue;
        };
        match message["target"]["name"].as_str() {
            Some("axum_server") => auth = Some(PathBuf::from(executable)),
            Some("resource_server") => resource = Some(PathBuf::from(executable)),
            _ => {}
        }
    }
    Binaries {
        auth: auth.expect("cargo reported no axum_server executable"),
        resource: resource.expect("cargo reported no resource_server executable"),
    }
}

/// A free loopback port (bound, then released for the child to take).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A child process with its output collected (stdout and stderr, interleaved by line).
pub struct Process {
    pub name: &'static str,
    pub port: u16,
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Process {
    /// Start `binary` with `env` (and none of the caller's `CHARON_*`/`REDIS_*` variables),
    /// listening on `port` through `CHARON_DEMO_ADDR`. Does not wait for it.
    pub fn spawn(name: &'static str, binary: &Path, port: u16, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary);
        for (key, _) in std::env::vars() {
            if key.starts_with("CHARON_") || key.starts_with("REDIS_") || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        command
            .env("CHARON_DEMO_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn,charon=info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        collect(child.stdout.take().unwrap(), &output);
        collect(child.stderr.take().unwrap(), &output);
        Self {
            name,
            port,
            child,
            output,
        }
    }

    /// What the process printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Wait until `GET /healthz` answers 200; panics with the process output if it exits or
    /// does not answer in time.
    pub async fn ready(mut self) -> Self {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child_status() {
                panic!(
                    "{} exited ({status}) before serving:\n{}",
                    self.name,
                    self.output()
                );
            }
            if let Ok((200, _)) = get(&self.url("/healthz"), None).await {
                return self;
            }
            assert!(
                started.elapsed() < START_DEADLINE,
                "{} did not answer /healthz:\n{}",
                self.name,
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn child_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Wait for the process to exit by itself (a refused configuration); its status and output.
    pub fn exit(mut self) -> (std::process::ExitStatus, String) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.output());
            }
            assert!(
                started.elapsed() < START_DEADLINE,
                "{} kept running:\n{}",
                self.name,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kill the process and wait for it to be gone (its port is free again).
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

fn collect(pipe: impl Read + Send + 'static, into: &Arc<Mutex<String>>) {
    let into = Arc::clone(into);
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let mut text = into.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
}

// ------------------------------------------------------------------------------------------
// HTTP
// ------------------------------------------------------------------------------------------

/// `GET url` with an optional bearer token: the status and the body as JSON (`Null` when it
/// is not JSON).
pub async fn get(url: &str, bearer: Option<&str>) -> Result<(u16, Value), String> {
    request("GET", url, bearer, None).await
}

/// `POST url` with a JSON body.
pub async fn post_json(url: &str, body: &Value) -> Result<(u16, Value), String> {
    request("POST", url, None, Some(body)).await
}

pub async fn request(
    method: &str,
    url: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let (status, bytes) = request_raw(method, url, bearer, body).await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

pub async fn request_raw(
    method: &str,
    url: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Result<(u16, Bytes), String> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut builder = http::Request::builder().method(method).uri(url);
    if let Some(token) = bearer {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let payload = match body {
        Some(json) => {
            builder = builder.header("content-type", "application/json");
            Bytes::from(json.to_string())
        }
        None => Bytes::new(),
    };
    let request = builder.body(Full::new(payload)).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(20), client.request(request))
        .await
        .map_err(|_| format!("{method} {url}: no answer in 20 s"))?
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?
        .to_bytes();
    Ok((status, bytes))
}

/// Log in on the auth demo as `user` with bearer tokens; the access token and the
/// session id the demo's own `/me` reports.
pub async fn login(auth: &Process, user: &str) -> (String, String) {
    let (status, tokens) = post_json(
        &auth.url("/login"),
        &serde_json::json!({ "user_id": user, "transport": "bearer" }),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "login: {tokens}\n{}", auth.output());
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let (status, me) = get(&auth.url("/me"), Some(&access)).await.unwrap();
    assert_eq!(status, 200, "auth /me: {me}");
    assert_eq!(me["user_id"], user);
    (access, me["session_id"].as_str().unwrap().to_owned())
}

/// The `kid` in a JWT's header.
pub fn kid_of(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: Value = serde_json::from_slice(&json).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// The `alg` in a JWT's header.
pub fn alg_of(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: Value = serde_json::from_slice(&json).unwrap();
    header["alg"].as_str().unwrap().to_owned()
}

/// A private key PEM written to a fresh file in the target directory's tmp folder.
pub fn key_file(name: &str, pem: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("services-keys");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.pem", charon_auth::session::random_id()));
    std::fs::write(&path, pem).unwrap();
    path
}
