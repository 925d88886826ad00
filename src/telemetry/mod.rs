//! Telemetry: typed events delivered to handlers, `tracing` and `metrics`.
//!
//! Charon reports what it does with seven events whose names and metadata match Elixir
//! Charon's `:telemetry` events (`[:charon, :session, :create]` is `charon.session.create`
//! here), plus one of this crate's own, `charon.jwks.refresh`, for the key sets a
//! verifier fetches from a JWKS endpoint (feature `jwks`). Every event is delivered three
//! ways, each optional:
//!
//! - as a typed [`Event`] to the [`TelemetryHandler`]s you register (closures work), after
//!   an [`enabled`](TelemetryHandler::enabled) pre-check: an event nobody wants is never
//!   built, and with no handler at all emitting costs a length check;
//! - as one `tracing` event, by [`TracingHandler`] (feature `tracing`, on by default);
//! - as one counter increment, by [`MetricsHandler`] (feature `metrics`).
//!
//! Tests of your own application can record events with `RecordingHandler` (feature
//! `test-util`).
//!
//! No event ever carries a token, a key or a secret: only ids, types and outcomes.
//!
//! # The events
//!
//! Session events are emitted once, above every store, by the session store wrapper (so a
//! custom store gets them too); create and refresh are told apart by the operation, never
//! guessed from timestamps. Their metadata is [`SessionMeta`]. Token events are emitted by
//! the verification layers, once per request; their metadata is [`TokenMeta`], with
//! [`ClaimMeta`] when the token's claims were decoded. The key-set event is emitted by
//! the remote JWKS handle (`jwks::RemoteJwks`, feature `jwks`) once per refresh attempt and
//! when its keys expire; its metadata is [`JwksMeta`].
//!
//! | event | metadata | `tracing` target, level | `metrics` counter |
//! |---|---|---|---|
//! | `charon.session.create` | session_id, user_id, session_type | `charon::session`, DEBUG | `charon_session_create_total` |
//! | `charon.session.refresh` | session_id, user_id, session_type | `charon::session`, DEBUG | `charon_session_refresh_total` |
//! | `charon.session.delete` | session_id, user_id, session_type | `charon::session`, DEBUG | `charon_session_delete_total` |
//! | `charon.session.delete_all` | user_id, session_type | `charon::session`, DEBUG | `charon_session_delete_all_total` |
//! | `charon.session.lock_conflict` | session_id, user_id, session_type | `charon::session`, DEBUG | `charon_session_lock_conflict_total` |
//! | `charon.token.valid` | session_loaded, token_transport, and when decoded: token_type, user_id, session_id, session_type | `charon::token`, TRACE | `charon_token_valid_total` |
//! | `charon.token.invalid` | as `valid`, plus error | `charon::token`, DEBUG | `charon_token_invalid_total` |
//! | `charon.jwks.refresh` | source, trigger, outcome, key_count, and when failed: error_kind, error | `charon::jwks`, DEBUG (WARN when failed or expired) | `charon_jwks_refresh_total` |
//!
//! Besides the events, the verified-token cache counts its lookups itself (feature
//! `metrics`, no labels; the same numbers as
//! [`VerifiedTokenCache::stats`](crate::token::VerifiedTokenCache::stats)):
//!
//! | counter | counts |
//! |---|---|
//! | `charon_token_cache_hits_total` | tokens whose claims came from the cache (no signature check) |
//! | `charon_token_cache_misses_total` | tokens verified (not cached, expired in the cache, or the cache is off), valid or not |
//!
//! Their hit ratio, `rate(charon_token_cache_hits_total[5m]) / (rate(charon_token_cache_hits_total[5m]) + rate(charon_token_cache_misses_total[5m]))`,
//! says whether the cache holds the working set
//! ([`CharonBuilder::verified_token_cache`](crate::CharonBuilder::verified_token_cache)).
//!
//! Each event in detail follows. In the `tracing` lines, fields that are absent (`None`)
//! are not recorded; in the `metrics` lines, a label whose value is unknown is `none`.
//!
//! **Metric labels are bounded.** No label carries an id, and none can take more values
//! than a fixed set, whatever requests and tokens say: `token_transport`, `token_type` and
//! `error_kind` come from closed enumerations; `session_type` keeps its name only for the
//! session types in the allowlist given at build time
//! ([`CharonBuilder::metrics_session_types`](crate::CharonBuilder::metrics_session_types),
//! [`MetricsHandler::with_session_types`]), every other type is counted as `other`; and
//! whatever the configuration, one [`MetricsHandler`] reports at most
//! [32](MetricsHandler::MAX_SESSION_TYPE_LABELS) distinct session types (without an
//! allowlist, the first 32 seen), so `session_type` has at most 35 values with `other`,
//! `invalid` and `none`. See [`MetricsHandler`'s bounded labels](MetricsHandler#bounded-labels).
//!
//! ## `charon.session.create`
//!
//! A session was created (login): the store accepted a create-if-absent write.
//!
//! - Metadata: `session_id`, `user_id`, `session_type`.
//! - `tracing`: target `charon::session`, level DEBUG, message `session created`, fields
//!   `session_id`, `user_id`, `session_type`.
//! - `metrics`: counter `charon_session_create_total`, label `session_type`.
//!
//! ## `charon.session.refresh`
//!
//! A session was refreshed (tokens rotated): the store accepted an update at the version
//! that was read.
//!
//! - Metadata: `session_id`, `user_id`, `session_type`.
//! - `tracing`: target `charon::session`, level DEBUG, message `session refreshed`, fields
//!   as for create.
//! - `metrics`: counter `charon_session_refresh_total`, label `session_type`.
//!
//! ## `charon.session.delete`
//!
//! One session was deleted (logout, refresh-token reuse revocation, or evicted by a login
//! beyond the session cap, `CharonBuilder::max_sessions_per_user`: one event per evicted
//! session, before that login's `charon.session.create`). Emitted when the delete
//! succeeded, also when the session was already gone.
//!
//! - Metadata: `session_id`, `user_id`, `session_type`.
//! - `tracing`: target `charon::session`, level DEBUG, message `session deleted`, fields
//!   as for create.
//! - `metrics`: counter `charon_session_delete_total`, label `session_type`.
//!
//! ## `charon.session.delete_all`
//!
//! Every session of one user and session type was deleted ("log out everywhere").
//!
//! - Metadata: `user_id`, `session_type`; no `session_id` (`SessionMeta::session_id` is
//!   `None`).
//! - `tracing`: target `charon::session`, level DEBUG, message `all sessions deleted`,
//!   fields `user_id`, `session_type`.
//! - `metrics`: counter `charon_session_delete_all_total`, label `session_type`.
//!
//! ## `charon.session.lock_conflict`
//!
//! A session write lost the optimistic-lock race: a create found the session already
//! there, or an update found a newer version than the one it read (typically two tabs
//! refreshing at once). Other store failures (not found, timeouts, backend errors) emit no
//! event.
//!
//! - Metadata: `session_id`, `user_id`, `session_type` of the session that was written.
//! - `tracing`: target `charon::session`, level DEBUG, message `session lock conflict`,
//!   fields as for create. DEBUG, not WARN: conflicts happen in normal operation and the
//!   client retries; watch their rate with the counter instead.
//! - `metrics`: counter `charon_session_lock_conflict_total`, label `session_type`.
//!
//! ## `charon.token.valid`
//!
//! A request's token verified.
//!
//! - Metadata: `session_loaded` (whether the session was loaded from the store, as the
//!   refresh layer does), `token_transport` (`bearer`, `cookie`, `cookie_only`), and from
//!   the claims: `token_type` (claim `type`: `access` or `refresh`), `user_id` (`sub`),
//!   `session_id` (`sid`), `session_type` (`styp`).
//! - `tracing`: target `charon::token`, level TRACE (it fires on every authenticated
//!   request), message `token valid`, fields `session_loaded`, `token_transport`,
//!   `token_type`, `user_id`, `session_id`, `session_type`.
//! - `metrics`: counter `charon_token_valid_total`, labels `token_transport`,
//!   `token_type`, `session_type`.
//!
//! ## `charon.token.invalid`
//!
//! A request's token was rejected, or no token was found where one was required.
//!
//! - Metadata: as `charon.token.valid`, where the claim fields are present only when the
//!   claims were decoded and `token_transport` only when a token was found, plus `error`:
//!   the [`AuthError`](crate::AuthError).
//! - `tracing`: target `charon::token`, level DEBUG, message `token invalid`, fields as for
//!   valid plus `error` (the error's `Display`, Charon's message such as
//!   `bearer token expired`) and `error_kind` (the `Debug` of its
//!   [`AuthErrorKind`](crate::AuthErrorKind), e.g. `Expired`).
//! - `metrics`: counter `charon_token_invalid_total`, labels `token_transport`,
//!   `token_type`, `session_type`, `error_kind` (the kind's
//!   [`as_str`](crate::AuthErrorKind::as_str), e.g. `expired`).
//!
//! ## `charon.jwks.refresh`
//!
//! A remote key set (JWKS) was refreshed, failed to refresh, or was dropped. One event per
//! fetch attempt, whatever started it, and one when the keys outlive their maximum
//! staleness; a suppressed (rate-limited) unknown-`kid` refresh emits nothing.
//!
//! - Metadata: `source` (the JWKS URL, or the discovery URL while `jwks_uri` is not known
//!   yet), `trigger` ([`JwksTrigger`]: `initial`, `interval`, `retry`, `unknown_kid`,
//!   `manual`, `expiry`), `outcome` ([`JwksOutcome`]: `updated` (new keys in use),
//!   `unchanged`, `failed` (the keys in use, if any, are kept), `expired` (the keys were
//!   dropped: verification has no keys and answers 503 until a fetch succeeds)),
//!   `key_count` (keys in use afterwards), and for `failed` `error_kind` (the error kind's
//!   stable name, e.g. `timeout`, `http_status`, `invalid_document`) and `error` (its
//!   `Display`).
//! - `tracing`: target `charon::jwks`, message `key set updated` or `key set unchanged` at
//!   DEBUG, `key set refresh failed` or `key set expired` at WARN (rare, and what an
//!   operator must see: a service about to lose, or without, its keys), fields `source`,
//!   `trigger`, `outcome`, `key_count`, `error_kind`, `error`.
//! - `metrics`: counter `charon_jwks_refresh_total`, labels `trigger`, `outcome`,
//!   `error_kind` (`none` unless failed). Alert on
//!   `rate(charon_jwks_refresh_total{outcome=~"failed|expired"}[15m])`.
//!
//! # Your own handler
//!
//! Any `Fn(&Event<'_>)` closure is a handler. Implement [`TelemetryHandler`] yourself to
//! say which kinds you want: the others are then never built for you.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use charon_auth::telemetry::{Event, EventKind, SessionMeta, Telemetry, TelemetryHandler};
//!
//! /// Counts lock conflicts, ignores everything else.
//! #[derive(Default)]
//! struct Conflicts(AtomicU64);
//!
//! impl TelemetryHandler for Conflicts {
//!     fn enabled(&self, kind: EventKind) -> bool {
//!         kind == EventKind::SessionLockConflict
//!     }
//!     fn handle(&self, _event: &Event<'_>) {
//!         self.0.fetch_add(1, Ordering::Relaxed);
//!     }
//! }
//!
//! let conflicts = Arc::new(Conflicts::default());
//! let telemetry = Telemetry::new(vec![
//!     conflicts.clone(),
//!     Arc::new(|event: &Event<'_>| {
//!         if let Event::SessionCreate(meta) = event {
//!             eprintln!("login of {}", meta.user_id);
//!         }
//!     }),
//! ]);
//!
//! // What the session store does after a lost race:
//! let meta = SessionMeta::new(Some("sid"), "user-1", "full");
//! telemetry.emit(EventKind::SessionLockConflict, || {
//!     Event::session(EventKind::SessionLockConflict, meta)
//! });
//! assert_eq!(conflicts.0.load(Ordering::Relaxed), 1);
//! ```
//!
//! Handlers run on the request path: keep them quick and never block.
//!
//! # Recipe: Prometheus
//!
//! Enable the `metrics` feature, install a recorder from
//! [`metrics-exporter-prometheus`](https://docs.rs/metrics-exporter-prometheus), and
//! register [`MetricsHandler`]:
//!
//! ```ignore
//! use std::sync::Arc;
//! use charon_auth::session::SessionType;
//! use charon_auth::telemetry::{MetricsHandler, Telemetry};
//! use metrics_exporter_prometheus::PrometheusBuilder;
//!
//! let prometheus = PrometheusBuilder::new().install_recorder()?;
//! MetricsHandler::describe(); // optional `# HELP` lines
//! let types = [SessionType::new("full")?, SessionType::new("oauth2")?];
//! let telemetry = Telemetry::new(vec![Arc::new(MetricsHandler::new().with_session_types(types))]);
//! // Serve `prometheus.render()` at `/metrics`.
//! ```
//!
//! [`CharonBuilder`](crate::CharonBuilder) installs a `MetricsHandler` itself when the
//! feature is on (turn it off with `metrics_counters(false)`); give it the allowlist with
//! `Charon::builder().metrics_session_types(types)`.
//!
//! The counters render as they are named, e.g.
//!
//! ```text
//! # TYPE charon_token_invalid_total counter
//! charon_token_invalid_total{token_transport="bearer",token_type="access",session_type="full",error_kind="expired"} 3
//! ```
//!
//! and can be queried like `sum by (error_kind) (rate(charon_token_invalid_total[5m]))`
//! or `rate(charon_session_lock_conflict_total[5m])`.
//!
//! # Recipe: OpenTelemetry
//!
//! The `tracing` events reach OpenTelemetry through
//! [`tracing-opentelemetry`](https://docs.rs/tracing-opentelemetry): with its layer
//! installed, each event becomes a span event named `charon.token.invalid` (and so on) on
//! the current span, typically the request span of `tower_http::trace::TraceLayer`, with
//! the fields above as attributes. Let the Charon targets through your filter:
//!
//! ```ignore
//! use tracing_subscriber::{filter::Targets, layer::SubscriberExt as _, util::SubscriberInitExt as _};
//!
//! let filter = Targets::new()
//!     .with_default(tracing::Level::INFO)
//!     .with_target("charon::session", tracing::Level::DEBUG)
//!     .with_target("charon::token", tracing::Level::DEBUG); // TRACE adds token.valid
//! tracing_subscriber::registry()
//!     .with(tracing_opentelemetry::layer().with_tracer(tracer))
//!     .with(filter)
//!     .init();
//! ```
//!
//! For OpenTelemetry metrics, either bridge the `metrics` crate to OpenTelemetry, or
//! register a closure handler that increments your own OpenTelemetry counters with the
//! same low-cardinality attributes [`MetricsHandler`] uses.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod builder;
mod event;
mod filter;
mod handler;
#[cfg(feature = "metrics")]
mod metrics_bridge;
#[cfg(any(test, feature = "test-util"))]
mod recording;
mod runtime;
#[cfg(feature = "tracing")]
pub(crate) mod spans;
mod stream;
#[cfg(test)]
mod tests;
#[cfg(feature = "tracing")]
mod tracing_bridge;

pub use builder::{MAX_METRICS_SESSION_TYPES, TelemetryBuilder};
pub use event::{
    ClaimMeta, Event, EventKind, JwksMeta, JwksOutcome, JwksSpanMeta, JwksTrigger, Measurements,
    SessionMeta, StoreMeta, StoreOperation, StoreOutcome, TokenMeta,
};
pub use filter::{FieldPolicy, Filtered, IdHashKey, MetadataFilter};
pub use handler::{NoopHandler, TelemetryHandler};
#[cfg(feature = "metrics")]
pub use metrics_bridge::MetricsHandler;
#[cfg(any(test, feature = "test-util"))]
pub use recording::{RecordedEvent, RecordingHandler};
pub use runtime::{TelemetryError, TelemetryErrorKind};
pub use stream::{EventSender, EventStream, OwnedEvent, event_channel};
#[cfg(feature = "tracing")]
pub use tracing_bridge::TracingHandler;

/// Where events go: the handlers given at build time, in order, then those attached at run
/// time ([`attach_many`](Self::attach_many)), in the order attached. Cheap to clone; clones
/// share the run-time handlers, so a handler attached through
/// [`Charon::telemetry`](crate::Charon::telemetry) also gets the events of its verifier and
/// store.
#[derive(Clone, Default)]
pub struct Telemetry {
    handlers: Arc<[Arc<dyn TelemetryHandler>]>,
    runtime: Arc<runtime::Runtime>,
    tracing_spans: bool,
}

impl Telemetry {
    /// Telemetry delivering to these handlers, in order; no `tracing` spans (see
    /// [`with_tracing_spans`](Self::with_tracing_spans)).
    pub fn new(handlers: Vec<Arc<dyn TelemetryHandler>>) -> Self {
        Self {
            handlers: handlers.into(),
            runtime: Arc::default(),
            tracing_spans: false,
        }
    }

    /// Telemetry with no handler: every emit is a no-op until a handler is attached.
    pub fn none() -> Self {
        Self::default()
    }

    /// Open `tracing` spans around verification and store operations (feature `tracing`;
    /// see [Spans](self#spans)). Off for [`new`](Self::new); the handle builders turn it on
    /// with their `tracing_events` setting.
    #[must_use]
    pub fn with_tracing_spans(mut self, on: bool) -> Self {
        self.tracing_spans = on;
        self
    }

    /// Whether this telemetry opens `tracing` spans.
    pub fn tracing_spans(&self) -> bool {
        self.tracing_spans
    }

    /// Whether any handler wants events of `kind`.
    pub fn enabled(&self, kind: EventKind) -> bool {
        self.handlers.iter().any(|h| h.enabled(kind))
            || (self.runtime.listens(kind.bit())
                && self
                    .runtime
                    .load()
                    .entries
                    .iter()
                    .any(|e| e.kinds & kind.bit() != 0 && e.handler.enabled(kind)))
    }

    /// Build the event with `make` only if some handler wants `kind`, then deliver it to
    /// each handler that does: the build-time handlers, then the attached ones.
    pub fn emit<'a>(&self, kind: EventKind, make: impl FnOnce() -> Event<'a>) {
        let mut make = Some(make);
        let mut event: Option<Event<'a>> = None;
        let mut deliver = |handler: &dyn TelemetryHandler| {
            if !handler.enabled(kind) {
                return;
            }
            if let Some(make) = make.take() {
                event = Some(make());
            }
            if let Some(event) = &event {
                handler.handle(event);
            }
        };
        for handler in self.handlers.iter() {
            deliver(&**handler);
        }
        if self.runtime.listens(kind.bit()) {
            for entry in self.runtime.load().entries.iter() {
                if entry.kinds & kind.bit() != 0 {
                    deliver(&*entry.handler);
                }
            }
        }
    }

    /// Attach `handler` under `id` for the events of `kinds`, at run time, beside the
    /// build-time handlers (`:telemetry.attach_many`). It receives the events of work that
    /// starts after this call. Emitting stays lock-free: attaching publishes a new list of
    /// handlers.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use charon_auth::telemetry::{Event, EventKind, SessionMeta, Telemetry};
    ///
    /// let telemetry = Telemetry::none();
    /// let logins = Arc::new(AtomicU64::new(0));
    /// let counter = Arc::clone(&logins);
    /// telemetry.attach_many("logins", [EventKind::SessionCreate], move |_: &Event<'_>| {
    ///     counter.fetch_add(1, Ordering::Relaxed);
    /// })?;
    /// telemetry.emit(EventKind::SessionCreate, || {
    ///     Event::session(EventKind::SessionCreate, SessionMeta::new(Some("s"), "u", "full"))
    /// });
    /// telemetry.detach("logins")?;
    /// assert_eq!(logins.load(Ordering::Relaxed), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TelemetryErrorKind::AlreadyAttached`] when a handler with this id is attached;
    /// [`TelemetryErrorKind::NoEventKinds`] for an empty list of kinds.
    pub fn attach_many(
        &self,
        id: impl Into<String>,
        kinds: impl IntoIterator<Item = EventKind>,
        handler: impl TelemetryHandler,
    ) -> Result<(), TelemetryError> {
        self.attach_arc(id, kinds, Arc::new(handler))
    }

    /// [`attach_many`](Self::attach_many) with one kind (`:telemetry.attach`).
    ///
    /// # Errors
    ///
    /// As [`attach_many`](Self::attach_many).
    pub fn attach(
        &self,
        id: impl Into<String>,
        kind: EventKind,
        handler: impl TelemetryHandler,
    ) -> Result<(), TelemetryError> {
        self.attach_many(id, [kind], handler)
    }

    /// [`attach_many`](Self::attach_many) with a shared handler.
    ///
    /// # Errors
    ///
    /// As [`attach_many`](Self::attach_many).
    pub fn attach_arc(
        &self,
        id: impl Into<String>,
        kinds: impl IntoIterator<Item = EventKind>,
        handler: Arc<dyn TelemetryHandler>,
    ) -> Result<(), TelemetryError> {
        let id: Arc<str> = Arc::from(id.into());
        self.runtime.attach(id, runtime::mask(kinds), handler)
    }

    /// Detach the handler attached under `id` (`:telemetry.detach`). Build-time handlers
    /// cannot be detached.
    ///
    /// # Errors
    ///
    /// [`TelemetryErrorKind::NotAttached`] when no handler has this id.
    pub fn detach(&self, id: &str) -> Result<(), TelemetryError> {
        self.runtime.detach(id)
    }

    /// The ids of the handlers attached at run time, in the order attached.
    pub fn attached(&self) -> Vec<String> {
        self.runtime.ids()
    }

    /// Attach a bounded [`EventStream`] of owned events under `id` for `kinds`: an async
    /// consumer (an audit log, a message queue) that never slows requests. When the stream
    /// holds `capacity` events, further events are dropped and counted
    /// ([`EventStream::dropped`]). Drop the stream and [`detach`](Self::detach) its id when
    /// done. For a [metadata filter](MetadataFilter) on the stream, attach
    /// `filter.wrap(sender)` of an [`event_channel`] yourself.
    ///
    /// # Errors
    ///
    /// As [`attach_many`](Self::attach_many); [`TelemetryErrorKind::ZeroCapacity`] for a
    /// capacity of 0.
    pub fn subscribe(
        &self,
        id: impl Into<String>,
        kinds: impl IntoIterator<Item = EventKind>,
        capacity: usize,
    ) -> Result<EventStream, TelemetryError> {
        let (sender, stream) = event_channel(capacity)?;
        self.attach_many(id, kinds, sender)?;
        Ok(stream)
    }

    /// Number of handlers: build-time and attached.
    pub fn len(&self) -> usize {
        self.handlers.len() + self.runtime.len()
    }

    /// Whether there is no handler at all.
    pub fn is_empty(&self) -> bool {
        self.handlers.is_empty() && !self.runtime.listens(u32::MAX)
    }

    /// A stopwatch for work whose events this telemetry may emit: it reads the clock only
    /// when some handler exists.
    pub(crate) fn stopwatch(&self) -> Stopwatch {
        Stopwatch(if self.is_empty() {
            None
        } else {
            Some(Instant::now())
        })
    }
}

impl Telemetry {
    /// Time one token verification and open its `tracing` span (`charon.verify`).
    pub(crate) fn verification_timer(&self, token_type: &'static str) -> VerificationTimer {
        #[cfg(not(feature = "tracing"))]
        let _ = token_type;
        VerificationTimer {
            stopwatch: self.stopwatch(),
            #[cfg(feature = "tracing")]
            span: spans::verification(self, token_type),
        }
    }
}

/// One verification under way: its stopwatch and its `tracing` span.
#[derive(Debug)]
pub(crate) struct VerificationTimer {
    stopwatch: Stopwatch,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl VerificationTimer {
    /// Run the verification steps inside the span.
    pub(crate) fn in_scope<T>(&self, steps: impl FnOnce() -> T) -> T {
        #[cfg(feature = "tracing")]
        let _entered = self.span.enter();
        steps()
    }

    /// Close the span with the outcome; the verification's duration (`None` when it began
    /// without any handler).
    pub(crate) fn finish(
        &self,
        transport: Option<crate::transport::Transport>,
        error: Option<&crate::AuthError>,
    ) -> Option<Duration> {
        #[cfg(feature = "tracing")]
        spans::verified(&self.span, transport, error);
        #[cfg(not(feature = "tracing"))]
        let _ = (transport, error);
        self.stopwatch.elapsed()
    }
}

/// The start of some work, when a handler existed as it began.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Stopwatch(Option<Instant>);

impl Stopwatch {
    /// The time since the start; `None` when the work began without any handler (its
    /// events are then not emitted, even to a handler attached meanwhile).
    pub(crate) fn elapsed(&self) -> Option<Duration> {
        self.0.map(|started| started.elapsed())
    }
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("handlers", &self.handlers.len())
            .field("attached", &self.runtime.ids())
            .field("tracing_spans", &self.tracing_spans)
            .finish()
    }
}
