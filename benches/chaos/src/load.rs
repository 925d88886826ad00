//! The load: looping users (login → /me → refresh → /me → … → /sessions → logout) and
//! access-only users (/me with one access token), closed loop over keep-alive connections.
//! Every request is recorded (start, latency, route, answer); what each user believes about
//! its sessions (acknowledged logins and logouts) is kept for the checks after the run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, StatusCode, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A request that gets no answer within this is counted as dropped.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause before retrying a 503, a 409 or a dropped request. Short on purpose (clients do
/// not wait the `Retry-After`), so that the fault stays under load.
const RETRY_PAUSE: Duration = Duration::from_millis(25);
/// Refreshes per cycle of a looping user.
const REFRESHES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Login,
    Me,
    Refresh,
    Sessions,
    Logout,
    /// `/me` of an access-only user.
    AccessOnly,
}

impl Route {
    /// Whether the route needs the store.
    pub fn uses_store(self) -> bool {
        matches!(
            self,
            Route::Login | Route::Refresh | Route::Sessions | Route::Logout
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    /// The connection failed or closed without an answer, or no answer in time.
    Dropped,
}

#[derive(Debug, Clone, Copy)]
pub struct Rec {
    /// Start, in µs since the run's start.
    pub start_us: u64,
    pub lat_us: u64,
    pub route: Route,
    pub outcome: Outcome,
}

impl Rec {
    pub fn end_us(&self) -> u64 {
        self.start_us + self.lat_us
    }
}

/// What one user saw.
#[derive(Debug, Default)]
pub struct UserResult {
    pub recs: Vec<Rec>,
    /// Refresh tokens of sessions whose logout was acknowledged (204).
    pub logged_out: Vec<String>,
    /// The refresh token of the session live at the end, if any.
    pub live: Option<String>,
    /// Sessions whose login was acknowledged and that later answered `session_not_found`
    /// (never logged out): lost acknowledged writes. Their times (µs since start).
    pub lost_us: Vec<u64>,
    /// Refreshes refused as `token_stale` (a generation lost).
    pub stale: u64,
    /// Other 401s where 200 was expected, and their kinds.
    pub unexpected_401: u64,
    pub unexpected_kinds: Vec<String>,
    /// Logouts still unacknowledged when the run ended.
    pub unconfirmed_logouts: u64,
}

pub struct Tokens {
    access: String,
    refresh: String,
}

#[derive(Clone)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: Arc<str>,
    pub t0: Instant,
}

pub struct Answer {
    pub outcome: Outcome,
    pub body: Value,
}

impl Answer {
    fn status(&self) -> Option<u16> {
        match self.outcome {
            Outcome::Status(s) => Some(s),
            Outcome::Dropped => None,
        }
    }

    fn kind(&self) -> &str {
        self.body["kind"].as_str().unwrap_or("")
    }

    fn tokens(&self) -> Option<Tokens> {
        Some(Tokens {
            access: self.body["access_token"].as_str()?.to_owned(),
            refresh: self.body["refresh_token"].as_str()?.to_owned(),
        })
    }
}

impl Http {
    pub fn new(port: u16, t0: Instant) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Self {
            client,
            base: format!("http://127.0.0.1:{port}").into(),
            t0,
        }
    }

    pub fn now_us(&self) -> u64 {
        u64::try_from(self.t0.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// One request; `recs` gets its record when given.
    pub async fn call(
        &self,
        route: Route,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<String>,
        recs: Option<&mut Vec<Rec>>,
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let Ok(req) = req.body(Full::new(Bytes::from(body.unwrap_or_default()))) else {
            return Answer {
                outcome: Outcome::Dropped,
                body: Value::Null,
            };
        };
        let start_us = self.now_us();
        let started = Instant::now();
        let answer = tokio::time::timeout(CLIENT_TIMEOUT, async {
            let res = self.client.request(req).await.ok()?;
            let status = res.status();
            let bytes = res.into_body().collect().await.ok()?.to_bytes();
            Some((status, bytes))
        })
        .await
        .ok()
        .flatten();
        let lat_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let answer = match answer {
            None => Answer {
                outcome: Outcome::Dropped,
                body: Value::Null,
            },
            Some((status, bytes)) => Answer {
                outcome: Outcome::Status(status.as_u16()),
                body: if bytes.is_empty() || status == StatusCode::NO_CONTENT {
                    Value::Null
                } else {
                    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
                },
            },
        };
        if let Some(recs) = recs {
            recs.push(Rec {
                start_us,
                lat_us,
                route,
                outcome: answer.outcome,
            });
        }
        answer
    }
}

impl Http {
    /// `GET path` as text (for `/metrics`).
    pub async fn text(&self, path: &str) -> Option<String> {
        let req = Request::get(format!("{}{path}", self.base))
            .body(Full::new(Bytes::new()))
            .ok()?;
        let res = tokio::time::timeout(CLIENT_TIMEOUT, self.client.request(req))
            .await
            .ok()?
            .ok()?;
        let bytes = res.into_body().collect().await.ok()?.to_bytes();
        String::from_utf8(bytes.to_vec()).ok()
    }
}

/// Retry until the answer is not a 503, a 409 or a drop, or the run ends.
fn retryable(a: &Answer) -> bool {
    matches!(a.status(), None | Some(503) | Some(409))
}

pub struct User {
    pub http: Http,
    pub end: Instant,
    pub max_requests: usize,
    pub result: UserResult,
}

impl User {
    fn running(&self) -> bool {
        Instant::now() < self.end && self.result.recs.len() < self.max_requests
    }

    async fn call(
        &mut self,
        route: Route,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<String>,
    ) -> Answer {
        self.http
            .call(
                route,
                method,
                path,
                bearer,
                body,
                Some(&mut self.result.recs),
            )
            .await
    }

    async fn login(&mut self, user: &str, route: Route) -> Option<Tokens> {
        let body = serde_json::json!({"user_id": user, "transport": "bearer"}).to_string();
        while self.running() {
            let a = self
                .call(route, Method::POST, "/login", None, Some(body.clone()))
                .await;
            if a.status() == Some(200) {
                return a.tokens();
            }
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        None
    }

    /// A looping user: cycles until the run ends.
    pub async fn looping(mut self, id: usize) -> UserResult {
        let mut cycle = 0usize;
        'cycle: while self.running() {
            cycle += 1;
            let name = format!("chaos-{id}-{cycle}");
            let Some(mut tokens) = self.login(&name, Route::Login).await else {
                break;
            };
            for _ in 0..REFRESHES {
                self.call(Route::Me, Method::GET, "/me", Some(&tokens.access), None)
                    .await;
                loop {
                    if !self.running() {
                        self.result.live = Some(tokens.refresh);
                        break 'cycle;
                    }
                    let a = self
                        .call(
                            Route::Refresh,
                            Method::POST,
                            "/refresh",
                            Some(&tokens.refresh),
                            None,
                        )
                        .await;
                    match a.status() {
                        Some(200) => {
                            if let Some(t) = a.tokens() {
                                tokens = t;
                            }
                            break;
                        }
                        Some(401) => {
                            match a.kind() {
                                // The refresh layer's kind, or the session API's when
                                // the session went between the layer's read and the write.
                                "session_not_found" | "not_found" => {
                                    let now = self.http.now_us();
                                    self.result.lost_us.push(now);
                                }
                                "token_stale" => self.result.stale += 1,
                                other => {
                                    self.result.unexpected_401 += 1;
                                    if !self.result.unexpected_kinds.iter().any(|k| k == other) {
                                        self.result.unexpected_kinds.push(other.to_owned());
                                    }
                                }
                            }
                            continue 'cycle;
                        }
                        _ if retryable(&a) => tokio::time::sleep(RETRY_PAUSE).await,
                        _ => continue 'cycle,
                    }
                }
            }
            self.call(
                Route::Sessions,
                Method::GET,
                "/sessions",
                Some(&tokens.access),
                None,
            )
            .await;
            let mut attempted = false;
            loop {
                if !self.running() {
                    if attempted {
                        self.result.unconfirmed_logouts += 1;
                    } else {
                        self.result.live = Some(tokens.refresh);
                    }
                    break 'cycle;
                }
                attempted = true;
                let a = self
                    .call(
                        Route::Logout,
                        Method::POST,
                        "/logout",
                        Some(&tokens.access),
                        None,
                    )
                    .await;
                match a.status() {
                    Some(204) => {
                        self.result.logged_out.push(tokens.refresh);
                        break;
                    }
                    _ if retryable(&a) => tokio::time::sleep(RETRY_PAUSE).await,
                    _ => break,
                }
            }
        }
        self.result
    }

    /// An access-only user: one login, then `/me` until the run ends.
    pub async fn access_only(mut self, id: usize) -> UserResult {
        let name = format!("chaos-access-{id}");
        let Some(tokens) = self.login(&name, Route::AccessOnly).await else {
            return self.result;
        };
        while self.running() {
            self.call(
                Route::AccessOnly,
                Method::GET,
                "/me",
                Some(&tokens.access),
                None,
            )
            .await;
        }
        self.result
    }
}

/// What the checks after the run found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Logged-out sessions whose refresh token answered 200 again.
    pub resurrections: u64,
    /// Sessions live at the end that answered `session_not_found`.
    pub lost_live: u64,
    /// Tokens the checks could not get an answer for (store still down).
    pub unverified: u64,
}

/// Refresh every logged-out session's last refresh token (200 = resurrection) and every
/// live session's (`session_not_found` = lost), 16 at a time, retrying 503s a little;
/// whatever is left at `deadline` counts as unverified.
pub async fn check(
    http: &Http,
    logged_out: Vec<String>,
    live: Vec<String>,
    deadline: Instant,
) -> Checked {
    let jobs: Vec<(bool, String)> = logged_out
        .into_iter()
        .map(|t| (true, t))
        .chain(live.into_iter().map(|t| (false, t)))
        .collect();
    let jobs = Arc::new(std::sync::Mutex::new(jobs));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let http = http.clone();
        let jobs = jobs.clone();
        tasks.push(tokio::spawn(async move {
            let mut found = Checked::default();
            loop {
                let job = jobs.lock().ok().and_then(|mut j| j.pop());
                let Some((was_logged_out, token)) = job else {
                    break;
                };
                let mut answered = false;
                for _ in 0..40 {
                    if Instant::now() > deadline {
                        break;
                    }
                    let a = http
                        .call(
                            Route::Refresh,
                            Method::POST,
                            "/refresh",
                            Some(&token),
                            None,
                            None,
                        )
                        .await;
                    if retryable(&a) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    answered = true;
                    match (was_logged_out, a.status(), a.kind()) {
                        (true, Some(200), _) => found.resurrections += 1,
                        (false, Some(401), "session_not_found" | "not_found") => {
                            found.lost_live += 1;
                        }
                        _ => {}
                    }
                    break;
                }
                if !answered {
                    found.unverified += 1;
                }
            }
            found
        }));
    }
    let mut total = Checked::default();
    for t in tasks {
        if let Ok(found) = t.await {
            total.resurrections += found.resurrections;
            total.lost_live += found.lost_live;
            total.unverified += found.unverified;
        }
    }
    total
}
