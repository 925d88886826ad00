//! Telemetry: typed events delivered to handlers, `tracing` and `metrics`.
//!
//! Charon reports what it does with seven events whose names and metadata match Elixir
//! Charon's `:telemetry` events (`[:charon, :session, :create]` is `charon.session.create`
//! here), plus one of this crate's own, `charon.jwks.refresh`, for the key sets a
//! verifier fetches from a JWKS endpoint (feature `jwks`). Each carries
//! [`Measurements`] beside its metadata: the `system_time` and the `duration` of the work
//! that produced it (the verification, the store round trip, the fetch). Six span-style
//! events, in the manner of `:telemetry.span`, wrap store operations and key-set fetches:
//! `charon.store.operation.{start,stop,exception}` and
//! `charon.jwks.refresh.{start,stop,exception}`. Every event is delivered these ways, each
//! optional:
//!
//! - as a typed [`Event`] to the [`TelemetryHandler`]s you register at build time
//!   (closures work), after an [`enabled`](TelemetryHandler::enabled) pre-check: an event
//!   nobody wants is never built, and with no handler at all emitting costs a length check
//!   and one atomic load, and the clock is not read;
//! - to handlers [attached at run time](#run-time-handlers) by id
//!   ([`Telemetry::attach_many`], [`Telemetry::detach`]), lock-free on the hot path;
//! - as owned events on a bounded, lossy [event stream](#the-event-stream)
//!   ([`Telemetry::subscribe`]) for async consumers such as audit logs;
//! - as one `tracing` event, by [`TracingHandler`] (feature `tracing`, on by default), and
//!   as `tracing` [spans](#spans) around verification, store operations and fetches;
//! - as counters and duration [histograms](#histograms), by [`MetricsHandler`] (feature
//!   `metrics`).
//!
//! Any handler can be put behind a [privacy filter](#privacy-filter) that drops or
//! keyed-hashes `user_id` and `session_id`. Tests of your own application can record
//! events with `RecordingHandler` (feature `test-util`).
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
//! | `charon.store.operation.start` | operation, session_type | span `charon.store.operation` | none |
//! | `charon.store.operation.stop` | operation, session_type, outcome | span `charon.store.operation` | `charon_store_operation_duration_seconds` |
//! | `charon.store.operation.exception` | operation, session_type, error | span `charon.store.operation` | `charon_store_operation_duration_seconds` |
//! | `charon.jwks.refresh.start` | source, trigger | span `charon.jwks.refresh` | none |
//! | `charon.jwks.refresh.stop` | source, trigger, outcome, key_count | span `charon.jwks.refresh` | `charon_jwks_refresh_duration_seconds` |
//! | `charon.jwks.refresh.exception` | source, trigger, outcome, key_count, error_kind, error | span `charon.jwks.refresh` | `charon_jwks_refresh_duration_seconds` |
//!
//! Token events also feed `charon_token_verification_duration_seconds`.
//!
//! # Measurements
//!
//! Every event carries [`Measurements`] ([`Event::measurements`], and the `measurements`
//! field of each metadata struct), Elixir's measurements map:
//!
//! - `system_time` ([`SystemTime`](std::time::SystemTime)): the wall-clock time of the
//!   event, when it was emitted; for a `*.start` event, when the work began.
//! - `duration` ([`Duration`]): how long the work that produced the event took, on the
//!   monotonic clock:
//!   - `charon.token.valid`, `charon.token.invalid`: the verification of the request's
//!     token: transport gate, CSRF check, signature (or the verified-token cache), claims
//!     and the route's claim checks. On the refresh route the session load that follows is
//!     not included: it is a store operation with its own span.
//!   - `charon.session.create`, `refresh`, `delete`, `delete_all`, `lock_conflict`: the
//!     store round trip of the write that produced it, the same value as the `duration` of
//!     that operation's `charon.store.operation.stop`; the `delete` events of sessions
//!     evicted by a login carry that login's create.
//!   - `charon.jwks.refresh`: the fetch (discovery when needed, the JWKS, parsing); zero
//!     for `expired`, where nothing was fetched.
//!   - `*.start`: zero. `*.stop`, `*.exception`: the work, from start to end.
//!
//! Timing costs two clock reads per operation, and only when the telemetry has a handler:
//! with none, nothing is timed. A handler attached at run time receives the events of work
//! that began after it was attached; work that began while the telemetry had no handler
//! at all emits nothing, even to a handler attached meanwhile.
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
//! - Measurements: `duration` of the store's create.
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
//! - Measurements: `duration` of the store's update.
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
//! - Measurements: `duration` of the store's delete (of the evicting create).
//!
//! ## `charon.session.delete_all`
//!
//! Every session of one user and session type was deleted ("log out everywhere"). Revoking
//! every session of a user across types
//! ([`Charon::revoke_all_sessions_of_user`](crate::Charon::revoke_all_sessions_of_user))
//! emits one per type it deleted.
//!
//! - Metadata: `user_id`, `session_type`; no `session_id` (`SessionMeta::session_id` is
//!   `None`).
//! - `tracing`: target `charon::session`, level DEBUG, message `all sessions deleted`,
//!   fields `user_id`, `session_type`.
//! - `metrics`: counter `charon_session_delete_all_total`, label `session_type`.
//! - Measurements: `duration` of the store's delete-all.
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
//! - Measurements: `duration` of the write that lost.
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
//! - Measurements: `duration` of the verification.
//! - `metrics`: also histogram `charon_token_verification_duration_seconds`, labels
//!   `outcome` (`valid`), `token_type`.
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
//! - Measurements: `duration` of the verification, up to the failed step.
//! - `metrics`: also histogram `charon_token_verification_duration_seconds`, labels
//!   `outcome` (`invalid`), `token_type` (`none` when the claims were not decoded).
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
//! - Measurements: `duration` of the fetch (zero for `expired`).
//!
//! ## `charon.store.operation.start`
//!
//! A session store operation began. Emitted by the store wrapper above every store (a
//! custom store gets it too) for each call: `get` (the refresh route's session load),
//! `create`, `update`, `delete`, `get_all` (listing sessions), `delete_all`,
//! `session_types` (the first step of revoking or listing every session of a user, across
//! types; its `session_type` is `*`).
//!
//! - Metadata ([`StoreMeta`]): `operation` ([`StoreOperation`]), `session_type`. No ids.
//! - Measurements: `system_time` when it began; `duration` zero.
//! - `tracing`: not an event; the operation runs inside the span `charon.store.operation`
//!   (see [Spans](#spans)).
//! - `metrics`: nothing.
//!
//! ## `charon.store.operation.stop`
//!
//! The store answered: the operation succeeded, or it got one of the store contract's
//! answers, a lock conflict (also reported as `charon.session.lock_conflict`) or a missing
//! session on update.
//!
//! - Metadata: `operation`, `session_type`, `outcome` ([`StoreOutcome`]: `ok`,
//!   `conflict`, `not_found`).
//! - Measurements: `duration` of the round trip.
//! - `metrics`: histogram `charon_store_operation_duration_seconds`, labels `operation`,
//!   `outcome`.
//!
//! ## `charon.store.operation.exception`
//!
//! The store failed: timeout, backend error, out of memory, known to be down
//! (`unavailable`), delete not durable, … The request is answered with 503.
//!
//! - Metadata: `operation`, `session_type`, `error` (the [`StoreError`](crate::StoreError);
//!   its [`kind`](crate::StoreError::kind)'s [`as_str`](crate::StoreErrorKind::as_str) is
//!   the `outcome` label and the `error_kind` span field).
//! - Measurements: `duration` until the failure (a timeout's is about the configured
//!   timeout; a fail-fast `unavailable` is near zero).
//! - `metrics`: histogram `charon_store_operation_duration_seconds`, labels `operation`,
//!   `outcome` (the error kind: `timeout`, `backend`, `unavailable`, …).
//!
//! ## `charon.jwks.refresh.start`
//!
//! A key-set fetch began (feature `jwks`): every attempt, whatever its trigger.
//!
//! - Metadata ([`JwksSpanMeta`]): `source`, `trigger`.
//! - Measurements: `system_time` when it began; `duration` zero.
//! - `tracing`: not an event; the fetch runs inside the span `charon.jwks.refresh`.
//! - `metrics`: nothing.
//!
//! ## `charon.jwks.refresh.stop`
//!
//! A fetch brought a valid key set (in use afterwards). Followed by `charon.jwks.refresh`.
//!
//! - Metadata: `source`, `trigger`, `outcome` (`updated` or `unchanged`), `key_count`.
//! - Measurements: `duration` of the fetch.
//! - `metrics`: histogram `charon_jwks_refresh_duration_seconds`, label `outcome`.
//!
//! ## `charon.jwks.refresh.exception`
//!
//! A fetch failed (the keys in use, if any, are kept). Followed by `charon.jwks.refresh`
//! with outcome `failed`.
//!
//! - Metadata: `source`, `trigger`, `outcome` (`failed`), `key_count` (keys still in use),
//!   `error_kind` (e.g. `timeout`, `http_status`, `invalid_document`), `error`.
//! - Measurements: `duration` until the failure.
//! - `metrics`: histogram `charon_jwks_refresh_duration_seconds`, label `outcome`
//!   (`failed`).
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
//! # Run-time handlers
//!
//! Beside the handlers given at build time, handlers can be attached and detached while
//! the service runs, by id and for a list of kinds, as with `:telemetry.attach_many` and
//! `:telemetry.detach`: [`Telemetry::attach_many`], [`Telemetry::attach`],
//! [`Telemetry::detach`], [`Telemetry::attached`]. Attaching an id that is attached
//! already is an error ([`TelemetryErrorKind::AlreadyAttached`]), so is detaching one that
//! is not ([`TelemetryErrorKind::NotAttached`]). Build-time handlers stay and cannot be
//! detached. The [`Telemetry`] of a [`Charon`](crate::Charon)
//! ([`Charon::telemetry`](crate::Charon::telemetry)) is shared by its verifier and its
//! store, so one attach there sees every event; a standalone
//! [`Verifier`](crate::Verifier) has its own ([`Verifier::telemetry`](crate::Verifier::telemetry)).
//!
//! Emitting takes no lock: a relaxed atomic load of the kinds anybody listens to, and only
//! when the event's kind is among them one `arc-swap` load of the attached list. Attaching
//! and detaching publish a new list (they serialise among themselves).
//!
//! # The event stream
//!
//! [`Telemetry::subscribe`] attaches a bounded channel and returns its [`EventStream`] of
//! [`OwnedEvent`]s (every metadata field flattened and owned, with the measurements). It
//! implements [`futures_core::Stream`] and has `recv().await`. Requests never wait for it:
//! when the stream holds its capacity, further events are dropped and counted
//! ([`EventStream::dropped`]). For a filter on the stream, or to register it at build
//! time, make the pair with [`event_channel`] and wrap the [`EventSender`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use charon_auth::telemetry::{Event, EventKind, SessionMeta, Telemetry};
//!
//! let telemetry = Telemetry::none();
//! let mut audit = telemetry.subscribe(
//!     "audit",
//!     [EventKind::SessionCreate, EventKind::SessionDelete, EventKind::SessionDeleteAll],
//!     1024,
//! )?;
//! telemetry.emit(EventKind::SessionCreate, || {
//!     Event::session(EventKind::SessionCreate, SessionMeta::new(Some("sid"), "u1", "full"))
//! });
//! let event = audit.recv().await;
//! assert_eq!(event.and_then(|e| e.user_id).as_deref(), Some("u1"));
//! assert_eq!(audit.dropped(), 0);
//! # Ok(()) }
//! ```
//!
//! # Privacy filter
//!
//! A [`MetadataFilter`] in front of one handler drops or keyed-hashes `user_id` and
//! `session_id` (of session events and of token claims) before that handler sees them
//! ([`FieldPolicy::Drop`], [`FieldPolicy::Hash`]); other handlers still see the ids. The
//! hash is HMAC-SHA256 under an [`IdHashKey`] you keep secret, truncated to 128 bits (32
//! hex digits): stable, so events of one user still correlate, and not reversible by
//! guessing ids without the key. A dropped `user_id` reads as the empty string, a dropped
//! `session_id` as `None`.
//!
//! ```
//! use charon_auth::telemetry::{event_channel, EventKind, FieldPolicy, IdHashKey, MetadataFilter, Telemetry};
//!
//! let key = IdHashKey::new(b"32 bytes or more of secret key!!")?;
//! let filter = MetadataFilter::new()
//!     .user_id(FieldPolicy::Hash(key))
//!     .session_id(FieldPolicy::Drop);
//! let (sender, stream) = event_channel(1024)?;
//! Telemetry::none().attach_many("analytics", EventKind::CHARON, filter.wrap(sender))?;
//! # drop(stream);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Histograms
//!
//! With the `metrics` feature, [`MetricsHandler`] records the durations beside the
//! counters, in seconds, with bounded labels and no ids:
//!
//! | histogram | labels | buckets |
//! |---|---|---|
//! | `charon_token_verification_duration_seconds` | `outcome` (`valid`, `invalid`), `token_type` (`access`, `refresh`, `other`, `none`) | [`VERIFICATION_BUCKETS`](MetricsHandler::VERIFICATION_BUCKETS): 1, 2, 5, 10, 20, 50, 100, 250, 500 µs, 1, 2.5, 10 ms |
//! | `charon_store_operation_duration_seconds` | `operation`, `outcome` (`ok`, `conflict`, `not_found`, or the error kind) | [`STORE_BUCKETS`](MetricsHandler::STORE_BUCKETS): 25, 50, 100, 200, 500 µs, 1, 2, 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5 s |
//! | `charon_jwks_refresh_duration_seconds` | `outcome` (`updated`, `unchanged`, `failed`) | [`JWKS_REFRESH_BUCKETS`](MetricsHandler::JWKS_REFRESH_BUCKETS): 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5, 10, 30 s |
//!
//! A verification costs a few microseconds (HS256; more for asymmetric keys), a cache hit
//! well under one: the verification buckets start at 1 µs. A Redis round trip is ≈ 0.1 ms
//! on loopback and a few ms across a network, and a timeout is hundreds of ms: the store
//! buckets span 25 µs to 2.5 s. The exporter owns the buckets; configure them with
//! [`MetricsHandler::HISTOGRAMS`] (see [the recipe](#recipe-prometheus)).
//!
//! # Spans
//!
//! With the `tracing` feature (and `tracing_events` on, the default), the work itself runs
//! in `tracing` spans, so that a tracing backend (OpenTelemetry through
//! `tracing-opentelemetry`) shows verification and store latency inside each request's
//! trace:
//!
//! | span | target, level | fields |
//! |---|---|---|
//! | `charon.verify` | `charon::token`, TRACE | `token_type` (expected: `access`, `refresh`), `token_transport` (when a token was found), `outcome` (`valid`, `invalid`), `error_kind` (when invalid, [`AuthErrorKind::as_str`](crate::AuthErrorKind::as_str)) |
//! | `charon.store.operation` | `charon::store`, TRACE | `operation`, `session_type`, `outcome` (`ok`, `conflict`, `not_found`, or the error kind), `error_kind` (on failure) |
//! | `charon.jwks.refresh` | `charon::jwks`, DEBUG | `source`, `trigger`, `outcome` (`updated`, `unchanged`, `failed`), `key_count`, `error_kind` (on failure) |
//!
//! No span field carries an id. The spans are children of the current span (typically the
//! request span of `tower_http::trace::TraceLayer`); with their levels filtered out they
//! cost a level check, and a span that no subscriber wants is not built at all (nor
//! forwarded to a `log` logger by `tracing`'s `log` feature). The span-style *events* are
//! not also emitted as `tracing` events.
//!
//! # Recipe: Prometheus
//!
//! Enable the `metrics` feature and install a recorder from
//! [`metrics-exporter-prometheus`](https://docs.rs/metrics-exporter-prometheus).
//! [`CharonBuilder`](crate::CharonBuilder) installs a [`MetricsHandler`] itself when the
//! feature is on: do not register another one (with
//! [`on_event`](crate::CharonBuilder::on_event) or [`Telemetry::attach`]), or every event
//! is counted twice. Give the bridge its session type allowlist on the builder, and turn
//! it off with `metrics_counters(false)` only to install a handler of your own instead.
//!
//! ```
//! # #[cfg(feature = "metrics")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let secret = "at least 32 bytes of secret entropy!!";
//! use charon_auth::session::SessionType;
//! use charon_auth::telemetry::MetricsHandler;
//! use charon_auth::Charon;
//! use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
//!
//! let mut builder = PrometheusBuilder::new();
//! // The histograms' buckets (without them the exporter renders summaries).
//! for (name, buckets) in MetricsHandler::HISTOGRAMS {
//!     builder = builder.set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)?;
//! }
//! let prometheus = builder.install_recorder()?;
//! MetricsHandler::describe(); // optional `# HELP` lines
//! let charon = Charon::builder()
//!     .issuer("my-app")
//!     .base_secret(secret)
//!     // The built-in bridge counts every event once; this bounds its `session_type` label.
//!     .metrics_session_types([SessionType::new("full")?, SessionType::new("oauth2")?])
//!     .build()?;
//! // Serve `prometheus.render()` at `/metrics`.
//! # let _ = (charon, prometheus);
//! # Ok(()) }
//! # #[cfg(not(feature = "metrics"))]
//! # fn main() {}
//! ```
//!
//! The counters render as they are named, e.g.
//!
//! ```text
//! # TYPE charon_token_invalid_total counter
//! charon_token_invalid_total{token_transport="bearer",token_type="access",session_type="full",error_kind="expired"} 3
//! ```
//!
//! and can be queried like `sum by (error_kind) (rate(charon_token_invalid_total[5m]))`
//! or `rate(charon_session_lock_conflict_total[5m])`; the histograms like
//! `histogram_quantile(0.99, sum by (le) (rate(charon_token_verification_duration_seconds_bucket[5m])))`
//! (p99 verification time) or
//! `histogram_quantile(0.5, sum by (le, operation) (rate(charon_store_operation_duration_seconds_bucket[5m])))`
//! (median Redis round trip by operation).
//!
//! # Recipe: OpenTelemetry
//!
//! The `tracing` spans and events reach OpenTelemetry through
//! [`tracing-opentelemetry`](https://docs.rs/tracing-opentelemetry): with its layer
//! installed, `charon.verify`, `charon.store.operation` and `charon.jwks.refresh` become
//! OpenTelemetry spans with the [fields above](#spans) as attributes, children of the
//! current span (typically the request span of `tower_http::trace::TraceLayer`); and each
//! event becomes a span event on the current span, named by its message (`session
//! created`, `token invalid`, …: `tracing-opentelemetry` names span events after the
//! message), with the event's fields as attributes plus `level` and `target`
//! (`tests/opentelemetry.rs` checks exactly this with the SDK's in-memory exporter). Let
//! the Charon targets through your filter:
//!
//! ```ignore
//! use tracing_subscriber::{filter::Targets, layer::SubscriberExt as _, util::SubscriberInitExt as _};
//!
//! let filter = Targets::new()
//!     .with_default(tracing::Level::INFO)
//!     .with_target("charon::session", tracing::Level::DEBUG)
//!     .with_target("charon::token", tracing::Level::DEBUG) // TRACE adds token.valid and the verify spans
//!     .with_target("charon::store", tracing::Level::TRACE) // store spans
//!     .with_target("charon::jwks", tracing::Level::DEBUG);
//! tracing_subscriber::registry()
//!     .with(tracing_opentelemetry::layer().with_tracer(tracer))
//!     .with(filter)
//!     .init();
//! ```
//!
//! For OpenTelemetry metrics, bridge the `metrics` crate to OpenTelemetry (e.g.
//! `metrics-exporter-opentelemetry`, which `tests/opentelemetry.rs` uses: the counters and
//! histograms arrive under the names and attributes above), or register a handler that
//! records your own OpenTelemetry instruments with the same low-cardinality attributes
//! [`MetricsHandler`] uses.

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
        Stopwatch((!self.is_empty()).then(Instant::now))
    }

    /// A stopwatch for work that ends with one of `kinds`' events: it reads the clock only
    /// when some handler wants one of them as the work begins (with the default `tracing`
    /// handler and no subscriber listening, none does).
    pub(crate) fn stopwatch_for(&self, kinds: &[EventKind]) -> Stopwatch {
        Stopwatch(
            kinds
                .iter()
                .any(|&kind| self.enabled(kind))
                .then(Instant::now),
        )
    }
}

impl Telemetry {
    /// Time one token verification and open its `tracing` span (`charon.verify`).
    pub(crate) fn verification_timer(&self, token_type: &'static str) -> VerificationTimer {
        #[cfg(not(feature = "tracing"))]
        let _ = token_type;
        VerificationTimer {
            stopwatch: self.stopwatch_for(&[EventKind::TokenValid, EventKind::TokenInvalid]),
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
    /// without a handler wanting token events).
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

/// The start of some work, when a handler (that wanted its events) existed as it began.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Stopwatch(Option<Instant>);

impl Stopwatch {
    /// The time since the start; `None` when the work began without a handler (for
    /// [`stopwatch_for`](Telemetry::stopwatch_for): wanting its events); they are then not
    /// emitted, even to a handler attached meanwhile.
    pub(crate) fn elapsed(&self) -> Option<Duration> {
        self.0.map(|started| started.elapsed())
    }

    /// Whether the work's events will be emitted (without reading the clock).
    pub(crate) fn is_running(&self) -> bool {
        self.0.is_some()
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
