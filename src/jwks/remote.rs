//! The remote key set handle, its builder and its background refresh.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwapOption;
use http::Uri;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::error::{ConfigError, ConfigErrorKind};
use crate::jwks::error::{JwksError, JwksErrorKind};
use crate::jwks::http::{ClientConfig, HttpClient, check_url};
use crate::telemetry::{
    Event, EventKind, JwksMeta, JwksOutcome, JwksSpanMeta, JwksTrigger, Telemetry,
};
use crate::token::json::strict_object;
use crate::token::jwk::import_jwks;
use crate::token::{JwkSet, Keyset, MAX_KID_LEN};

/// Refresh interval unless configured otherwise: 300 s.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Delay before retrying a failed fetch unless configured otherwise: 10 s.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(10);
/// Minimum time between two fetches for unknown kids unless configured otherwise: 10 s.
pub const DEFAULT_UNKNOWN_KID_COOLDOWN: Duration = Duration::from_secs(10);
/// How long keys are used without a successful refresh unless configured otherwise: 12 h.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(12 * 3600);
/// Timeout of one request (connect, TLS, headers, body) unless configured otherwise: 10 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest accepted response body unless configured otherwise: 256 KiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Where the keys are fetched from.
#[derive(Clone)]
enum Source {
    /// A JWKS URL.
    Jwks(String),
    /// An issuer whose discovery document names the JWKS URL.
    Discovery { issuer: String },
}

/// Builds a [`RemoteJwks`]; see [`RemoteJwks::builder`] and [`RemoteJwks::discover`].
#[must_use]
pub struct RemoteJwksBuilder {
    source: Source,
    refresh_interval: Duration,
    retry_interval: Duration,
    unknown_kid_cooldown: Duration,
    max_staleness: Duration,
    timeout: Duration,
    max_response_bytes: usize,
    telemetry: Telemetry,
    root_certificates: Vec<Vec<u8>>,
    built_in_roots: bool,
    insecure_http: bool,
}

impl RemoteJwksBuilder {
    fn new(source: Source) -> Self {
        Self {
            source,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            retry_interval: DEFAULT_RETRY_INTERVAL,
            unknown_kid_cooldown: DEFAULT_UNKNOWN_KID_COOLDOWN,
            max_staleness: DEFAULT_MAX_STALENESS,
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            telemetry: Telemetry::none(),
            root_certificates: Vec::new(),
            built_in_roots: true,
            insecure_http: false,
        }
    }

    /// How often the keys are fetched while all goes well. Defaults to
    /// [`DEFAULT_REFRESH_INTERVAL`] (300 s); must be shorter than the maximum staleness.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// How soon a failed fetch is retried (also before the first success). Defaults to
    /// [`DEFAULT_RETRY_INTERVAL`] (10 s); capped at the refresh interval.
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    /// The least time between two fetches that
    /// [`refresh_for_unknown_kid`](RemoteJwks::refresh_for_unknown_kid) starts: tokens
    /// with made-up kids cannot make the service hammer the key endpoint. Defaults to
    /// [`DEFAULT_UNKNOWN_KID_COOLDOWN`] (10 s).
    pub fn unknown_kid_cooldown(mut self, cooldown: Duration) -> Self {
        self.unknown_kid_cooldown = cooldown;
        self
    }

    /// How long the last good keys stay in use while refreshes fail. After that they are
    /// dropped, [`current`](RemoteJwks::current) is `None` and verification answers 503
    /// until a fetch succeeds: a service cut off from its key endpoint does not trust old
    /// keys forever (a key withdrawn after a compromise is gone within this time). Defaults
    /// to [`DEFAULT_MAX_STALENESS`] (12 h); must be longer than the refresh interval.
    pub fn max_staleness(mut self, max_staleness: Duration) -> Self {
        self.max_staleness = max_staleness;
        self
    }

    /// Timeout of one request: connect, TLS handshake, headers and body. Defaults to
    /// [`DEFAULT_TIMEOUT`] (10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest accepted response body, in bytes; a larger one is refused unread past the
    /// limit. Defaults to [`DEFAULT_MAX_RESPONSE_BYTES`] (256 KiB).
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// Where `charon.jwks.refresh` events go. Defaults to no handler.
    pub fn telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// Also trust the CA certificates in this PEM (one or more `BEGIN CERTIFICATE`
    /// blocks), e.g. a private CA of an internal identity provider. Checked by
    /// [`start`](Self::start). Defaults to none.
    pub fn add_root_certificate_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.root_certificates.push(pem.as_ref().to_vec());
        self
    }

    /// Whether to trust the built-in Mozilla root certificates (`webpki-roots`). Turn them
    /// off to trust only the certificates given to
    /// [`add_root_certificate_pem`](Self::add_root_certificate_pem). Defaults to `true`.
    pub fn built_in_roots(mut self, enabled: bool) -> Self {
        self.built_in_roots = enabled;
        self
    }

    /// Allow plain `http://` URLs to hosts other than loopback (`localhost`, `127.0.0.0/8`,
    /// `::1`, which are always allowed), for the JWKS URL, the issuer and a discovered
    /// `jwks_uri`. Insecure: anyone on the network path can replace the keys and forge
    /// tokens. Only for a network you trust end to end (a service mesh with mTLS).
    /// Defaults to `false`.
    pub fn insecure_http(mut self, allowed: bool) -> Self {
        self.insecure_http = allowed;
        self
    }

    /// Check the configuration and start the handle: the background refresh is spawned on
    /// the current tokio runtime and the first fetch begins at once.
    ///
    /// Does not wait for keys: a service whose key endpoint is down starts anyway, with no
    /// keys ([`current`](RemoteJwks::current) is `None`, verification answers 503) until a
    /// fetch succeeds; use [`wait_ready`](RemoteJwks::wait_ready) to wait a bounded time.
    ///
    /// [`ConfigError`]: [`ConfigErrorKind::Invalid`] for a URL that is not absolute, not
    /// `https` (plain `http` is allowed to loopback hosts, elsewhere only with
    /// [`insecure_http`](Self::insecure_http)) or carries credentials, for an unreadable
    /// root certificate, and when called outside a tokio runtime;
    /// [`ConfigErrorKind::InvalidTtl`] for a zero duration or a maximum staleness not
    /// longer than the refresh interval; [`ConfigErrorKind::Missing`] for `https` without
    /// any trusted root.
    pub fn start(self) -> Result<RemoteJwks, ConfigError> {
        let durations = [
            ("refresh interval", self.refresh_interval),
            ("retry interval", self.retry_interval),
            ("unknown-kid cooldown", self.unknown_kid_cooldown),
            ("maximum staleness", self.max_staleness),
            ("timeout", self.timeout),
        ];
        if let Some((name, _)) = durations.iter().find(|(_, d)| d.is_zero()) {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidTtl,
                format!("the JWKS {name} must not be zero"),
            ));
        }
        if self.max_staleness <= self.refresh_interval {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidTtl,
                "the JWKS maximum staleness must be longer than the refresh interval",
            ));
        }
        if self.max_response_bytes == 0 {
            return Err(ConfigError::new(
                ConfigErrorKind::Invalid,
                "the JWKS response size limit must not be zero",
            ));
        }
        let (first_url, jwks_uri) = match &self.source {
            Source::Jwks(url) => {
                let uri = parse_url(url, self.insecure_http)?;
                (url.clone(), Some(uri))
            }
            Source::Discovery { issuer } => {
                let url = discovery_url(issuer);
                parse_url(&url, self.insecure_http)?;
                (url, None)
            }
        };
        if first_url.starts_with("https:")
            && !self.built_in_roots
            && self.root_certificates.is_empty()
        {
            return Err(ConfigError::new(
                ConfigErrorKind::Missing,
                "no trusted root certificate for an https JWKS URL",
            ));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| {
            ConfigError::new(
                ConfigErrorKind::Invalid,
                "RemoteJwks::start must be called inside a tokio runtime",
            )
            .with_source(e)
        })?;
        let client = HttpClient::new(&ClientConfig {
            timeout: self.timeout,
            max_response_bytes: self.max_response_bytes,
            built_in_roots: self.built_in_roots,
            root_certificates: &self.root_certificates,
            insecure_http: self.insecure_http,
        })?;
        let (generation, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            source: self.source,
            refresh_interval: self.refresh_interval,
            retry_interval: self.retry_interval.min(self.refresh_interval),
            unknown_kid_cooldown: self.unknown_kid_cooldown,
            max_staleness: self.max_staleness,
            client,
            telemetry: self.telemetry,
            keys: ArcSwapOption::empty(),
            status: Mutex::new(StatusInner {
                state: JwksState::Starting,
                source: first_url,
                key_count: 0,
                skipped_keys: 0,
                last_success: None,
                last_attempt: None,
                last_error: None,
            }),
            fetch: tokio::sync::Mutex::new(FetchState {
                jwks_uri,
                last_unknown_kid_fetch: None,
                last_ok: false,
            }),
            generation,
            task: Mutex::new(None),
        });
        let task = runtime.spawn(run(Arc::downgrade(&shared)));
        *lock(&shared.task) = Some(task.abort_handle());
        Ok(RemoteJwks { shared })
    }
}

impl fmt::Debug for RemoteJwksBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, url) = match &self.source {
            Source::Jwks(url) => ("jwks", url),
            Source::Discovery { issuer } => ("issuer", issuer),
        };
        f.debug_struct("RemoteJwksBuilder")
            .field(kind, url)
            .field("refresh_interval", &self.refresh_interval)
            .field("max_staleness", &self.max_staleness)
            .finish_non_exhaustive()
    }
}

fn parse_url(url: &str, insecure_http: bool) -> Result<Uri, ConfigError> {
    let uri: Uri = url.parse().map_err(|e| {
        ConfigError::new(ConfigErrorKind::Invalid, "the JWKS URL could not be parsed")
            .with_source(e)
    })?;
    check_url(&uri, insecure_http).map_err(|message| {
        ConfigError::new(
            ConfigErrorKind::Invalid,
            format!("JWKS URL refused: {message}"),
        )
    })?;
    Ok(uri)
}

/// `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).
fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Verification keys fetched from a JWKS endpoint and kept fresh in the background.
///
/// Cheap to clone (one `Arc`); every clone shares the same keys and refresh task, which
/// stops when the last clone is dropped. Reading the keys ([`current`](Self::current)) is
/// one atomic load, never a lock or a request.
///
/// - The keys are fetched at [`start`](RemoteJwksBuilder::start), then every refresh
///   interval; a failed fetch is retried every retry interval.
/// - A token whose `kid` is unknown can ask for an early fetch with
///   [`refresh_for_unknown_kid`](Self::refresh_for_unknown_kid), at most once per cooldown:
///   a newly published key is picked up on first sight.
/// - A failed fetch or a refused document (hostile or unusable keys, see
///   [`Keyset::from_jwks`]) never replaces the keys in use; they are kept for at most the
///   maximum staleness after the last success, then dropped.
/// - With no keys (before the first success, or after the maximum staleness),
///   [`current`](Self::current) is `None`: verification answers 503, not 401, and
///   [`status`](Self::status) says [`JwksState::Unavailable`] or
///   [`JwksState::Starting`].
///
/// ```no_run
/// use std::time::Duration;
/// use charon_auth::jwks::RemoteJwks;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let jwks = RemoteJwks::discover("https://accounts.example.com")
///     .refresh_interval(Duration::from_secs(600))
///     .start()?;
/// if !jwks.wait_ready(Duration::from_secs(5)).await {
///     eprintln!("no keys yet: answering 503 until they arrive");
/// }
/// if let Some(keys) = jwks.current() {
///     println!("{} keys", keys.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteJwks {
    shared: Arc<Shared>,
}

impl RemoteJwks {
    /// A builder for the keys at this JWKS URL, e.g.
    /// `https://auth.example.com/.well-known/jwks.json`.
    pub fn builder(jwks_url: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder::new(Source::Jwks(jwks_url.into()))
    }

    /// A builder for the keys of an OpenID Connect issuer: the JWKS URL is the `jwks_uri`
    /// of `<issuer>/.well-known/openid-configuration`, whose `issuer` must equal this one
    /// (a trailing `/` aside). Discovery is repeated until it succeeds once, then the
    /// `jwks_uri` is kept.
    pub fn discover(issuer: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder::new(Source::Discovery {
            issuer: issuer.into(),
        })
    }

    /// The keys in use, or `None` when there are none (not fetched yet, or dropped after
    /// the maximum staleness). Lock-free.
    pub fn current(&self) -> Option<Arc<Keyset>> {
        self.shared.keys.load_full()
    }

    /// Fetch now because a token names `kid` and the keys in use do not hold it.
    ///
    /// - `kid` already in the keys in use (another request fetched it): those keys;
    /// - a fetch already running: waits for it and returns its keys if it succeeded;
    /// - otherwise, at most one fetch per unknown-kid cooldown: the new keys if the fetch
    ///   succeeded, `None` if it failed or was not allowed yet (rate limit), or if `kid`
    ///   cannot be a kid at all (empty or longer than [`MAX_KID_LEN`]).
    ///
    /// The returned keys may still not hold `kid` (then the token is signed with an
    /// unknown key). Never returns keys older than the ones in use.
    pub async fn refresh_for_unknown_kid(&self, kid: &str) -> Option<Arc<Keyset>> {
        if kid.is_empty() || kid.len() > MAX_KID_LEN {
            return None;
        }
        if let Some(keys) = self.current().filter(|k| k.get(kid).is_some()) {
            return Some(keys);
        }
        let shared = &*self.shared;
        let seen = *shared.generation.borrow();
        let mut fetch = shared.fetch.lock().await;
        if let Some(keys) = self.current().filter(|k| k.get(kid).is_some()) {
            return Some(keys);
        }
        if *shared.generation.borrow() != seen {
            // A fetch finished while this call waited: its outcome is the answer.
            return if fetch.last_ok { self.current() } else { None };
        }
        if fetch
            .last_unknown_kid_fetch
            .is_some_and(|at| at.elapsed() < shared.unknown_kid_cooldown)
        {
            return None;
        }
        fetch.last_unknown_kid_fetch = Some(Instant::now());
        shared
            .refresh_locked(&mut fetch, JwksTrigger::UnknownKid)
            .await
            .ok()
    }

    /// Fetch now, whatever the schedule and the cooldown; the new keys, or why the fetch
    /// failed (the keys in use are kept).
    pub async fn refresh(&self) -> Result<Arc<Keyset>, Arc<JwksError>> {
        let mut fetch = self.shared.fetch.lock().await;
        self.shared
            .refresh_locked(&mut fetch, JwksTrigger::Manual)
            .await
    }

    /// Wait until there are keys, at most `timeout`; whether there are.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut changes = self.shared.generation.subscribe();
        let ready = async {
            while self.current().is_none() {
                if changes.changed().await.is_err() {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(timeout, ready).await;
        self.current().is_some()
    }

    /// Where the keys stand: state, key count, last success, last error.
    pub fn status(&self) -> JwksStatus {
        let status = lock(&self.shared.status);
        JwksStatus {
            state: status.state,
            source: status.source.clone(),
            key_count: status.key_count,
            skipped_keys: status.skipped_keys,
            last_success: status.last_success.map(|(_, at)| at),
            last_attempt: status.last_attempt,
            last_error: status.last_error.clone(),
            expires_at: status
                .last_success
                .filter(|_| status.key_count > 0)
                .map(|(_, at)| at + self.shared.max_staleness),
        }
    }
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = lock(&self.shared.status);
        f.debug_struct("RemoteJwks")
            .field("source", &status.source)
            .field("state", &status.state)
            .field("key_count", &status.key_count)
            .finish()
    }
}

/// Whether the keys can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwksState {
    /// No fetch has finished yet: no keys.
    Starting,
    /// The last fetch succeeded: keys in use.
    Fresh,
    /// The last fetch failed: the last good keys are still in use (until the maximum
    /// staleness).
    Stale,
    /// No keys: every fetch so far failed, or the keys outlived the maximum staleness.
    /// Verification answers 503.
    Unavailable,
}

impl JwksState {
    /// A stable snake_case name: `starting`, `fresh`, `stale`, `unavailable`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JwksState::Starting => "starting",
            JwksState::Fresh => "fresh",
            JwksState::Stale => "stale",
            JwksState::Unavailable => "unavailable",
        }
    }

    /// Whether there are keys to verify with (`Fresh` or `Stale`).
    pub const fn has_keys(self) -> bool {
        matches!(self, JwksState::Fresh | JwksState::Stale)
    }
}

/// A snapshot of a [`RemoteJwks`], for health checks and dashboards.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwksStatus {
    /// Whether the keys can be used.
    pub state: JwksState,
    /// The URL the keys come from (the discovery URL until `jwks_uri` is known).
    pub source: String,
    /// Keys in use (0 when there are none).
    pub key_count: usize,
    /// Keys of the last good document that were skipped (encryption or unsupported keys).
    pub skipped_keys: usize,
    /// When a fetch last succeeded.
    pub last_success: Option<SystemTime>,
    /// When a fetch last finished, successful or not.
    pub last_attempt: Option<SystemTime>,
    /// Why the last fetch failed, if it did.
    pub last_error: Option<Arc<JwksError>>,
    /// When the keys in use will be dropped unless a fetch succeeds before.
    pub expires_at: Option<SystemTime>,
}

struct Shared {
    source: Source,
    refresh_interval: Duration,
    retry_interval: Duration,
    unknown_kid_cooldown: Duration,
    max_staleness: Duration,
    client: HttpClient,
    telemetry: Telemetry,
    keys: ArcSwapOption<Keyset>,
    status: Mutex<StatusInner>,
    /// Held for the whole of a fetch: one fetch at a time.
    fetch: tokio::sync::Mutex<FetchState>,
    /// Counts finished fetches; `wait_ready` and concurrent unknown-kid calls watch it.
    generation: watch::Sender<u64>,
    task: Mutex<Option<AbortHandle>>,
}

struct FetchState {
    /// The JWKS URL: configured, or discovered once.
    jwks_uri: Option<Uri>,
    last_unknown_kid_fetch: Option<Instant>,
    /// Whether the last finished fetch succeeded.
    last_ok: bool,
}

struct StatusInner {
    state: JwksState,
    source: String,
    key_count: usize,
    skipped_keys: usize,
    last_success: Option<(Instant, SystemTime)>,
    last_attempt: Option<SystemTime>,
    last_error: Option<Arc<JwksError>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }
}

impl Shared {
    /// One fetch (discovery first if needed), with the fetch lock held; updates the keys,
    /// the status, the generation and emits the event.
    async fn refresh_locked(
        &self,
        fetch: &mut FetchState,
        trigger: JwksTrigger,
    ) -> Result<Arc<Keyset>, Arc<JwksError>> {
        let started = Instant::now();
        let before = fetch
            .jwks_uri
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| lock(&self.status).source.clone());
        self.telemetry.emit(EventKind::JwksRefreshStart, || {
            Event::JwksRefreshStart(JwksSpanMeta::start(&before, trigger))
        });
        #[cfg(feature = "tracing")]
        let span =
            crate::telemetry::spans::jwks_refresh(&self.telemetry, &before, trigger.as_str());
        #[cfg(feature = "tracing")]
        let result = tracing::Instrument::instrument(self.fetch_keys(fetch), span.clone()).await;
        #[cfg(not(feature = "tracing"))]
        let result = self.fetch_keys(fetch).await;
        let duration = started.elapsed();
        let source = fetch
            .jwks_uri
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| lock(&self.status).source.clone());
        let (outcome, count, result) = match result {
            Ok((keyset, skipped)) => {
                let previous = self.keys.load_full();
                let unchanged = previous
                    .as_ref()
                    .is_some_and(|old| old.to_jwks().ok() == keyset.to_jwks().ok());
                let keys = match previous {
                    // Same keys: keep the same `Arc`, so callers caching per key set keep
                    // their cache.
                    Some(old) if unchanged => old,
                    _ => {
                        let new = Arc::new(keyset);
                        self.keys.store(Some(Arc::clone(&new)));
                        new
                    }
                };
                let mut status = lock(&self.status);
                let now = SystemTime::now();
                status.state = JwksState::Fresh;
                status.source.clone_from(&source);
                status.key_count = keys.len();
                status.skipped_keys = skipped;
                status.last_success = Some((Instant::now(), now));
                status.last_attempt = Some(now);
                status.last_error = None;
                let outcome = if unchanged {
                    JwksOutcome::Unchanged
                } else {
                    JwksOutcome::Updated
                };
                (outcome, keys.len(), Ok(keys))
            }
            Err(error) => {
                let error = Arc::new(error);
                let mut status = lock(&self.status);
                status.source.clone_from(&source);
                status.state = if self.keys.load().is_some() {
                    JwksState::Stale
                } else {
                    JwksState::Unavailable
                };
                status.last_attempt = Some(SystemTime::now());
                status.last_error = Some(Arc::clone(&error));
                (JwksOutcome::Failed, status.key_count, Err(error))
            }
        };
        fetch.last_ok = result.is_ok();
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
        #[cfg(feature = "tracing")]
        if !span.is_none() {
            span.record("outcome", outcome.as_str());
            span.record("key_count", count);
            if let Err(error) = &result {
                span.record("error_kind", error.kind().as_str());
            }
        }
        self.emit_span(
            &source,
            trigger,
            outcome,
            count,
            result.as_ref().err(),
            duration,
        );
        self.emit(
            &source,
            trigger,
            outcome,
            count,
            result.as_ref().err(),
            duration,
        );
        result
    }

    /// `charon.jwks.refresh.stop` or `.exception` for one fetch.
    fn emit_span(
        &self,
        source: &str,
        trigger: JwksTrigger,
        outcome: JwksOutcome,
        key_count: usize,
        error: Option<&Arc<JwksError>>,
        duration: Duration,
    ) {
        let kind = match error {
            None => EventKind::JwksRefreshStop,
            Some(_) => EventKind::JwksRefreshException,
        };
        if !self.telemetry.enabled(kind) {
            return;
        }
        let message = error.map(ToString::to_string);
        self.telemetry.emit(kind, || {
            let mut meta = JwksSpanMeta::start(source, trigger).with_outcome(outcome, key_count);
            meta.measurements.duration = duration;
            match (error, &message) {
                (Some(error), Some(message)) => {
                    Event::JwksRefreshException(meta.with_error(error.kind().as_str(), message))
                }
                _ => Event::JwksRefreshStop(meta),
            }
        });
    }

    fn emit(
        &self,
        source: &str,
        trigger: JwksTrigger,
        outcome: JwksOutcome,
        key_count: usize,
        error: Option<&Arc<JwksError>>,
        duration: Duration,
    ) {
        if !self.telemetry.enabled(EventKind::JwksRefresh) {
            return;
        }
        // The event's one line of text: the error and the refused JWK, if that was why.
        let message = error.map(|e| match e.jwk_error() {
            Some(jwk) => format!("{e}: {jwk}"),
            None => e.to_string(),
        });
        self.telemetry.emit(EventKind::JwksRefresh, || {
            let mut meta = JwksMeta::new(source, trigger, outcome, key_count);
            meta.measurements.duration = duration;
            Event::JwksRefresh(match (error, &message) {
                (Some(error), Some(message)) => meta.with_error(error.kind().as_str(), message),
                _ => meta,
            })
        });
    }

    /// Discovery (until it has succeeded once), then the JWKS.
    async fn fetch_keys(&self, fetch: &mut FetchState) -> Result<(Keyset, usize), JwksError> {
        let jwks_uri = match (&fetch.jwks_uri, &self.source) {
            (Some(uri), _) => uri.clone(),
            (None, Source::Discovery { issuer }) => {
                let uri = self.discover(issuer).await?;
                fetch.jwks_uri = Some(uri.clone());
                uri
            }
            (None, Source::Jwks(_)) => {
                // Unreachable: a JWKS source has its URI from the start.
                return Err(JwksError::new(
                    JwksErrorKind::Discovery,
                    "no JWKS URL is known",
                ));
            }
        };
        let body = self.client.get(&jwks_uri, "JWKS").await?;
        let invalid = |e| {
            JwksError::new(
                JwksErrorKind::InvalidDocument,
                "the JWKS document was refused",
            )
            .with_source(e)
        };
        let jwks = JwkSet::from_json(&body).map_err(invalid)?;
        import_jwks(&jwks).map_err(invalid)
    }

    async fn discover(&self, issuer: &str) -> Result<Uri, JwksError> {
        let url = discovery_url(issuer);
        let discovery_uri: Uri = url.parse().map_err(|e| {
            JwksError::new(JwksErrorKind::Discovery, "the discovery URL is invalid").with_source(e)
        })?;
        let body = self.client.get(&discovery_uri, "discovery").await?;
        let bad = |message: &'static str| JwksError::new(JwksErrorKind::Discovery, message);
        let document = strict_object(&body)
            .ok_or_else(|| bad("the discovery document is not one JSON object"))?;
        match document.get("issuer") {
            Some(Value::String(found))
                if found.trim_end_matches('/') == issuer.trim_end_matches('/') => {}
            _ => return Err(bad("the discovery document names another issuer")),
        }
        let Some(Value::String(jwks_uri)) = document.get("jwks_uri") else {
            return Err(bad("the discovery document has no jwks_uri"));
        };
        let uri: Uri = jwks_uri
            .parse()
            .map_err(|e| bad("the discovered jwks_uri is not a URL").with_source(e))?;
        self.client.check(&uri).map_err(|message| {
            JwksError::new(
                JwksErrorKind::Discovery,
                format!("the discovered jwks_uri is refused: {message}"),
            )
        })?;
        Ok(uri)
    }

    /// When the keys in use must be dropped, if there are any.
    fn expiry_deadline(&self) -> Option<Instant> {
        let status = lock(&self.status);
        if status.key_count == 0 || self.keys.load().is_none() {
            return None;
        }
        status.last_success.map(|(at, _)| at + self.max_staleness)
    }

    /// Drop the keys if they outlived the maximum staleness.
    fn expire_if_due(&self) {
        let Some(deadline) = self.expiry_deadline() else {
            return;
        };
        if Instant::now() < deadline {
            return;
        }
        self.keys.store(None);
        let source = {
            let mut status = lock(&self.status);
            status.state = JwksState::Unavailable;
            status.key_count = 0;
            status.source.clone()
        };
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
        self.emit(
            &source,
            JwksTrigger::Expiry,
            JwksOutcome::Expired,
            0,
            None,
            Duration::ZERO,
        );
    }
}

/// The background refresh: fetch, sleep (waking to drop stale keys), repeat. Holds only a
/// weak reference while sleeping, and is aborted when the last handle is dropped.
async fn run(shared: Weak<Shared>) {
    let mut trigger = JwksTrigger::Initial;
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let ok = {
            let mut fetch = strong.fetch.lock().await;
            strong.refresh_locked(&mut fetch, trigger).await.is_ok()
        };
        strong.expire_if_due();
        let (delay, next) = if ok {
            (strong.refresh_interval, JwksTrigger::Interval)
        } else {
            (strong.retry_interval, JwksTrigger::Retry)
        };
        trigger = next;
        drop(strong);
        let next_fetch = tokio::time::Instant::now() + delay;
        loop {
            let deadline = match shared.upgrade() {
                Some(strong) => strong.expiry_deadline(),
                None => return,
            };
            match deadline.map(tokio::time::Instant::from_std) {
                Some(deadline) if deadline < next_fetch => {
                    tokio::time::sleep_until(deadline).await;
                    match shared.upgrade() {
                        Some(strong) => strong.expire_if_due(),
                        None => return,
                    }
                }
                _ => {
                    tokio::time::sleep_until(next_fetch).await;
                    break;
                }
            }
        }
    }
}
