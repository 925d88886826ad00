//! A small HTTP(S) server on loopback that serves JWKS documents and replies a test sets
//! per path, counts hits, and can go down (close every connection) like a crashed server.
//! Test binaries include it with `#[path = "support/jwks_server.rs"] mod jwks_server;`.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use charon_auth::token::GeneratedKey;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject as _;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

// ------------------------------------------------------------------------------------------
// A small JWKS server
// ------------------------------------------------------------------------------------------

#[derive(Clone)]
pub enum Reply {
    Json(String),
    Status(u16),
    Redirect(String),
    /// A body sent in chunks, without Content-Length.
    Chunked(Vec<u8>),
}

#[derive(Default)]
struct Routes {
    replies: HashMap<String, Reply>,
    hits: HashMap<String, usize>,
    /// Close every connection at once, as a crashed server would (the port stays taken,
    /// so no other test's server can take it over).
    down: bool,
}

type Shared = Arc<Mutex<Routes>>;

pub struct TestServer {
    pub addr: SocketAddr,
    scheme: &'static str,
    routes: Shared,
    task: JoinHandle<()>,
}

async fn handler(State(routes): State<Shared>, uri: http::Uri) -> Response {
    let reply = {
        let mut routes = routes.lock().unwrap();
        *routes.hits.entry(uri.path().to_owned()).or_default() += 1;
        routes.replies.get(uri.path()).cloned()
    };
    let builder = Response::builder().header("connection", "close");
    match reply {
        Some(Reply::Json(body)) => builder
            .header("content-type", "application/json")
            .body(Body::from(body)),
        Some(Reply::Status(code)) => builder.status(code).body(Body::empty()),
        Some(Reply::Redirect(to)) => builder
            .status(302)
            .header("location", to)
            .body(Body::empty()),
        Some(Reply::Chunked(bytes)) => {
            let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
                .chunks(512)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            builder.body(Body::from_stream(futures_util::stream::iter(chunks)))
        }
        None => builder.status(404).body(Body::empty()),
    }
    .unwrap()
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    pub async fn start_tls() -> Self {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");
        let certs: Vec<_> =
            rustls::pki_types::CertificateDer::pem_file_iter(format!("{dir}/server.pem"))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(format!("{dir}/server.key.pem"))
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        Self::start_with(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))).await
    }

    pub async fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes = Shared::default();
        let app = axum::Router::new()
            .fallback(handler)
            .with_state(Arc::clone(&routes));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let routes_for_accept = Arc::clone(&routes);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                if routes_for_accept.lock().unwrap().down {
                    drop(stream);
                    continue;
                }
                let service = TowerToHyperService::new(app.clone());
                let tls = tls.clone();
                tokio::spawn(async move {
                    let builder =
                        hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    match tls {
                        Some(tls) => {
                            // A client that refuses the certificate aborts the handshake.
                            if let Ok(stream) = tls.accept(stream).await {
                                let _ = builder
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            }
                        }
                        None => {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                });
            }
        });
        Self {
            addr,
            scheme,
            routes,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    pub fn set(&self, path: &str, reply: Reply) {
        self.routes
            .lock()
            .unwrap()
            .replies
            .insert(path.to_owned(), reply);
    }

    pub fn hits(&self, path: &str) -> usize {
        self.routes
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Close every new connection at once: the next fetch fails to connect.
    pub fn go_down(&self) {
        self.routes.lock().unwrap().down = true;
    }

    /// Serve again after [`go_down`](Self::go_down).
    pub fn come_back(&self) {
        self.routes.lock().unwrap().down = false;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Poll `condition` every 20 ms, at most 15 s; panics with `what` if it never holds.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..750 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never happened: {what}");
}

/// The JWKS of these keys (public halves only).
pub fn jwks_of(keys: &[&GeneratedKey]) -> Reply {
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| {
            serde_json::from_str(&k.key().to_jwk().unwrap().with_kid(k.kid()).to_json()).unwrap()
        })
        .collect();
    Reply::Json(json!({ "keys": keys }).to_string())
}
