//! The telemetry events, their stable names and metadata.

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use crate::error::{AuthError, StoreError};
use crate::transport::Transport;

/// Which event: one variant per stable event name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EventKind {
    /// `charon.session.create`: a session was created (login).
    SessionCreate,
    /// `charon.session.refresh`: a session was refreshed (tokens rotated).
    SessionRefresh,
    /// `charon.session.delete`: a session was deleted (logout, reuse revocation, eviction
    /// by the session cap).
    SessionDelete,
    /// `charon.session.delete_all`: every session of a user and type was deleted.
    SessionDeleteAll,
    /// `charon.session.lock_conflict`: a write lost the optimistic-lock race.
    SessionLockConflict,
    /// `charon.token.valid`: a request's token verified.
    TokenValid,
    /// `charon.token.invalid`: a request's token was rejected.
    TokenInvalid,
    /// `charon.jwks.refresh`: a remote key set (JWKS) was fetched, failed to refresh, or
    /// was dropped as too stale.
    JwksRefresh,
    /// `charon.store.operation.start`: a session store operation began.
    StoreStart,
    /// `charon.store.operation.stop`: a session store operation answered (also a lock
    /// conflict or a missing session: answers of the store's contract).
    StoreStop,
    /// `charon.store.operation.exception`: a session store operation failed (timeout,
    /// backend error, …).
    StoreException,
    /// `charon.jwks.refresh.start`: a key-set fetch began.
    JwksRefreshStart,
    /// `charon.jwks.refresh.stop`: a key-set fetch brought a valid key set.
    JwksRefreshStop,
    /// `charon.jwks.refresh.exception`: a key-set fetch failed.
    JwksRefreshException,
}

impl EventKind {
    /// Every kind, in a fixed order: [`CHARON`](Self::CHARON), then [`SPANS`](Self::SPANS).
    pub const ALL: [EventKind; 14] = [
        EventKind::SessionCreate,
        EventKind::SessionRefresh,
        EventKind::SessionDelete,
        EventKind::SessionDeleteAll,
        EventKind::SessionLockConflict,
        EventKind::TokenValid,
        EventKind::TokenInvalid,
        EventKind::JwksRefresh,
        EventKind::StoreStart,
        EventKind::StoreStop,
        EventKind::StoreException,
        EventKind::JwksRefreshStart,
        EventKind::JwksRefreshStop,
        EventKind::JwksRefreshException,
    ];

    /// The events that say what happened (Elixir Charon's seven and `charon.jwks.refresh`),
    /// each counted by the `metrics` bridge.
    pub const CHARON: [EventKind; 8] = [
        EventKind::SessionCreate,
        EventKind::SessionRefresh,
        EventKind::SessionDelete,
        EventKind::SessionDeleteAll,
        EventKind::SessionLockConflict,
        EventKind::TokenValid,
        EventKind::TokenInvalid,
        EventKind::JwksRefresh,
    ];

    /// The span-style events: start, stop and exception of store operations and of key-set
    /// fetches.
    pub const SPANS: [EventKind; 6] = [
        EventKind::StoreStart,
        EventKind::StoreStop,
        EventKind::StoreException,
        EventKind::JwksRefreshStart,
        EventKind::JwksRefreshStop,
        EventKind::JwksRefreshException,
    ];

    /// The stable event name, e.g. `charon.session.create`.
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::SessionCreate => "charon.session.create",
            EventKind::SessionRefresh => "charon.session.refresh",
            EventKind::SessionDelete => "charon.session.delete",
            EventKind::SessionDeleteAll => "charon.session.delete_all",
            EventKind::SessionLockConflict => "charon.session.lock_conflict",
            EventKind::TokenValid => "charon.token.valid",
            EventKind::TokenInvalid => "charon.token.invalid",
            EventKind::JwksRefresh => "charon.jwks.refresh",
            EventKind::StoreStart => "charon.store.operation.start",
            EventKind::StoreStop => "charon.store.operation.stop",
            EventKind::StoreException => "charon.store.operation.exception",
            EventKind::JwksRefreshStart => "charon.jwks.refresh.start",
            EventKind::JwksRefreshStop => "charon.jwks.refresh.stop",
            EventKind::JwksRefreshException => "charon.jwks.refresh.exception",
        }
    }

    /// Whether this is a `charon.session.*` event.
    pub const fn is_session(self) -> bool {
        matches!(
            self,
            EventKind::SessionCreate
                | EventKind::SessionRefresh
                | EventKind::SessionDelete
                | EventKind::SessionDeleteAll
                | EventKind::SessionLockConflict
        )
    }

    /// Whether this is a `charon.token.*` event.
    pub const fn is_token(self) -> bool {
        matches!(self, EventKind::TokenValid | EventKind::TokenInvalid)
    }

    /// Whether this is a `charon.jwks.*` event (`charon.jwks.refresh` and its span events).
    pub const fn is_jwks(self) -> bool {
        matches!(
            self,
            EventKind::JwksRefresh
                | EventKind::JwksRefreshStart
                | EventKind::JwksRefreshStop
                | EventKind::JwksRefreshException
        )
    }

    /// Whether this is a `charon.store.*` event.
    pub const fn is_store(self) -> bool {
        matches!(
            self,
            EventKind::StoreStart | EventKind::StoreStop | EventKind::StoreException
        )
    }

    /// Whether this is a span-style event (`*.start`, `*.stop`, `*.exception`).
    pub const fn is_span(self) -> bool {
        self.is_store()
            || matches!(
                self,
                EventKind::JwksRefreshStart
                    | EventKind::JwksRefreshStop
                    | EventKind::JwksRefreshException
            )
    }

    /// Whether this is a `*.start` event, whose duration is zero.
    pub const fn is_start(self) -> bool {
        matches!(self, EventKind::StoreStart | EventKind::JwksRefreshStart)
    }

    /// This kind's bit in a set of kinds.
    pub(crate) const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// What was measured for one event, beside its count (Elixir's `measurements` map).
///
/// | event | `system_time` | `duration` |
/// |---|---|---|
/// | `charon.token.*` | when the event was emitted | the token's verification: transport gate, CSRF, signature (or the verified-token cache), claims and the route's claim checks |
/// | `charon.session.*` | when the event was emitted | the store round trip of the write that produced it (for a `delete` of a session evicted by a login: that login's create) |
/// | `charon.jwks.refresh` | when the event was emitted | the fetch (discovery, JWKS, parse); zero for `expired`, where nothing was fetched |
/// | `*.start` | when the work began | zero |
/// | `*.stop`, `*.exception` | when the work ended | the work, start to end |
///
/// Durations come from the monotonic clock ([`Instant`]), `system_time` from the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Measurements {
    /// Wall-clock time of the event: when it was emitted, for a `*.start` event when the
    /// work began.
    pub system_time: SystemTime,
    /// How long the work that produced the event took (monotonic clock); zero for
    /// `*.start` events.
    pub duration: Duration,
}

impl Measurements {
    /// Measurements from their parts.
    pub const fn new(system_time: SystemTime, duration: Duration) -> Self {
        Self {
            system_time,
            duration,
        }
    }

    /// Now, with a zero duration (what `*.start` events carry).
    pub fn now() -> Self {
        Self::new(SystemTime::now(), Duration::ZERO)
    }

    /// Now, with the time elapsed since `started`.
    pub fn since(started: Instant) -> Self {
        Self::new(SystemTime::now(), started.elapsed())
    }

    /// The same measurements with this duration.
    #[must_use]
    pub const fn with_duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }
}

impl Default for Measurements {
    /// The Unix epoch and a zero duration.
    fn default() -> Self {
        Self::new(SystemTime::UNIX_EPOCH, Duration::ZERO)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Metadata of the `charon.session.*` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionMeta<'a> {
    /// The session id; `None` for `delete_all`.
    pub session_id: Option<&'a str>,
    /// The user id.
    pub user_id: &'a str,
    /// The session type.
    pub session_type: &'a str,
    /// The system time and the store round trip (see [`Measurements`]).
    pub measurements: Measurements,
}

impl<'a> SessionMeta<'a> {
    /// The metadata of one session, measured [now](Measurements::now).
    pub fn of(session: &'a crate::session::Session) -> Self {
        Self::new(
            Some(&session.id),
            session.user_id.as_str(),
            session.session_type.as_str(),
        )
    }

    /// Metadata from its parts (for tests and custom stores), measured
    /// [now](Measurements::now).
    pub fn new(session_id: Option<&'a str>, user_id: &'a str, session_type: &'a str) -> Self {
        Self {
            session_id,
            user_id,
            session_type,
            measurements: Measurements::now(),
        }
    }

    /// The same metadata with these measurements.
    #[must_use]
    pub fn with_measurements(mut self, measurements: Measurements) -> Self {
        self.measurements = measurements;
        self
    }
}

/// Claim-derived metadata of the token events, present when the token's claims were decoded.
/// `token_type`, `session_id` and `session_type` are `None` for a token naming no session
/// (one of another issuer, read with [`ClaimsProfile::External`](crate::token::ClaimsProfile::External)).
///
/// Fill it only from claims whose signature verified: before that they are attacker
/// input. (`MetricsHandler` bounds the label values it derives from them regardless.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimMeta<'a> {
    /// Claim `type`: `access` or `refresh`.
    pub token_type: Option<&'a str>,
    /// Claim `sub`.
    pub user_id: &'a str,
    /// Claim `sid`.
    pub session_id: Option<&'a str>,
    /// Claim `styp`.
    pub session_type: Option<&'a str>,
}

impl<'a> ClaimMeta<'a> {
    /// Claim metadata of a Charon token, from its parts.
    pub fn new(
        token_type: &'a str,
        user_id: &'a str,
        session_id: &'a str,
        session_type: &'a str,
    ) -> Self {
        Self {
            token_type: Some(token_type),
            user_id,
            session_id: Some(session_id),
            session_type: Some(session_type),
        }
    }

    /// Claim metadata of verified claims.
    pub fn of(claims: &'a crate::token::Claims) -> Self {
        Self {
            token_type: claims.token_type().map(crate::token::TokenType::as_str),
            user_id: claims.sub.as_str(),
            session_id: claims.session_id(),
            session_type: claims.session_type(),
        }
    }
}

/// Metadata of the `charon.token.*` events.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct TokenMeta<'a> {
    /// Whether the session was loaded from the store (refresh layer).
    pub session_loaded: bool,
    /// How the token arrived, if one was found.
    pub token_transport: Option<Transport>,
    /// Claim-derived fields, when the claims were decoded.
    pub claims: Option<ClaimMeta<'a>>,
    /// Why the token was rejected (`charon.token.invalid` only).
    pub error: Option<&'a AuthError>,
    /// The system time and the verification's duration (see [`Measurements`]).
    pub measurements: Measurements,
}

impl<'a> TokenMeta<'a> {
    /// Token metadata from its parts, measured [now](Measurements::now).
    pub fn new(
        session_loaded: bool,
        token_transport: Option<Transport>,
        claims: Option<ClaimMeta<'a>>,
        error: Option<&'a AuthError>,
    ) -> Self {
        Self {
            session_loaded,
            token_transport,
            claims,
            error,
            measurements: Measurements::now(),
        }
    }

    /// The same metadata with these measurements.
    #[must_use]
    pub fn with_measurements(mut self, measurements: Measurements) -> Self {
        self.measurements = measurements;
        self
    }
}

/// What started a key-set refresh (`charon.jwks.refresh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwksTrigger {
    /// The first fetch, when the remote key set starts.
    Initial,
    /// The periodic refresh.
    Interval,
    /// A retry after a failed fetch (sooner than the interval).
    Retry,
    /// A token named a `kid` the key set does not hold (rate-limited).
    UnknownKid,
    /// An explicit call by the application.
    Manual,
    /// No fetch: the keys outlived their maximum staleness and were dropped.
    Expiry,
}

impl JwksTrigger {
    /// A stable snake_case name: `initial`, `interval`, `retry`, `unknown_kid`, `manual`,
    /// `expiry`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JwksTrigger::Initial => "initial",
            JwksTrigger::Interval => "interval",
            JwksTrigger::Retry => "retry",
            JwksTrigger::UnknownKid => "unknown_kid",
            JwksTrigger::Manual => "manual",
            JwksTrigger::Expiry => "expiry",
        }
    }
}

/// How a key-set refresh ended (`charon.jwks.refresh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwksOutcome {
    /// A valid key set was fetched and differs from the one in use: it replaced it.
    Updated,
    /// A valid key set was fetched, identical to the one in use.
    Unchanged,
    /// The fetch failed or the document was refused; the keys in use (if any) are kept.
    Failed,
    /// The keys were older than the maximum staleness and were dropped: verification has
    /// no keys until a fetch succeeds.
    Expired,
}

impl JwksOutcome {
    /// A stable snake_case name: `updated`, `unchanged`, `failed`, `expired`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JwksOutcome::Updated => "updated",
            JwksOutcome::Unchanged => "unchanged",
            JwksOutcome::Failed => "failed",
            JwksOutcome::Expired => "expired",
        }
    }
}

/// Metadata of the `charon.jwks.refresh` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksMeta<'a> {
    /// Where the keys come from: the JWKS URL (or the discovery URL before `jwks_uri` is
    /// known).
    pub source: &'a str,
    /// What started the refresh.
    pub trigger: JwksTrigger,
    /// How it ended.
    pub outcome: JwksOutcome,
    /// Keys in use after the refresh (0 when there are none).
    pub key_count: usize,
    /// For `failed`: the error kind's stable name (e.g. `timeout`, `http_status`,
    /// `invalid_document`).
    pub error_kind: Option<&'static str>,
    /// For `failed`: the error's `Display`.
    pub error: Option<&'a str>,
    /// The system time and the fetch's duration (see [`Measurements`]).
    pub measurements: Measurements,
}

impl<'a> JwksMeta<'a> {
    /// JWKS metadata from its parts; no error; measured [now](Measurements::now).
    pub fn new(
        source: &'a str,
        trigger: JwksTrigger,
        outcome: JwksOutcome,
        key_count: usize,
    ) -> Self {
        Self {
            source,
            trigger,
            outcome,
            key_count,
            error_kind: None,
            error: None,
            measurements: Measurements::now(),
        }
    }

    /// The same metadata with these measurements.
    #[must_use]
    pub fn with_measurements(mut self, measurements: Measurements) -> Self {
        self.measurements = measurements;
        self
    }

    /// The same metadata with the error of a failed refresh.
    #[must_use]
    pub fn with_error(mut self, error_kind: &'static str, error: &'a str) -> Self {
        self.error_kind = Some(error_kind);
        self.error = Some(error);
        self
    }
}

/// A session store operation, as the store wrappers calls it (`charon.store.operation.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreOperation {
    /// Read one session.
    Get,
    /// Create a session (login), evicting beyond the session cap.
    Create,
    /// Update a session at the version read (refresh).
    Update,
    /// Delete one session.
    Delete,
    /// Read every session of a user and type.
    GetAll,
    /// Delete every session of a user and type.
    DeleteAll,
    /// List the session types a user may have live sessions of (session type `*`).
    SessionTypes,
}

impl StoreOperation {
    /// Every operation, in a fixed order.
    pub const ALL: [StoreOperation; 7] = [
        StoreOperation::Get,
        StoreOperation::Create,
        StoreOperation::Update,
        StoreOperation::Delete,
        StoreOperation::GetAll,
        StoreOperation::DeleteAll,
        StoreOperation::SessionTypes,
    ];

    /// A stable snake_case name: `get`, `create`, `update`, `delete`, `get_all`,
    /// `delete_all`, `session_types`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StoreOperation::Get => "get",
            StoreOperation::Create => "create",
            StoreOperation::Update => "update",
            StoreOperation::Delete => "delete",
            StoreOperation::GetAll => "get_all",
            StoreOperation::DeleteAll => "delete_all",
            StoreOperation::SessionTypes => "session_types",
        }
    }
}

/// How a store operation that answered ended (`charon.store.operation.stop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreOutcome {
    /// The operation succeeded (a read that found nothing too).
    Ok,
    /// A write lost the optimistic-lock race (`charon.session.lock_conflict`).
    Conflict,
    /// An update targeted a session that does not exist.
    NotFound,
}

impl StoreOutcome {
    /// A stable snake_case name: `ok`, `conflict`, `not_found`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StoreOutcome::Ok => "ok",
            StoreOutcome::Conflict => "conflict",
            StoreOutcome::NotFound => "not_found",
        }
    }
}

/// Metadata of the `charon.store.operation.*` events. No ids: only the operation, the
/// session type and how it ended. Equality compares errors by kind.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct StoreMeta<'a> {
    /// The operation.
    pub operation: StoreOperation,
    /// The session type operated on.
    pub session_type: &'a str,
    /// For `stop`: how it ended.
    pub outcome: Option<StoreOutcome>,
    /// For `exception`: the store's error (its [`kind`](StoreError::kind) says why).
    pub error: Option<&'a StoreError>,
    /// The system time and, for `stop` and `exception`, the round trip's duration.
    pub measurements: Measurements,
}

impl PartialEq for StoreMeta<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.operation == other.operation
            && self.session_type == other.session_type
            && self.outcome == other.outcome
            && self.error.map(StoreError::kind) == other.error.map(StoreError::kind)
            && self.measurements == other.measurements
    }
}

impl<'a> StoreMeta<'a> {
    /// Metadata of a `start` event, measured [now](Measurements::now).
    pub fn start(operation: StoreOperation, session_type: &'a str) -> Self {
        Self {
            operation,
            session_type,
            outcome: None,
            error: None,
            measurements: Measurements::now(),
        }
    }

    /// The same metadata with the outcome of a `stop` event.
    #[must_use]
    pub fn with_outcome(mut self, outcome: StoreOutcome) -> Self {
        self.outcome = Some(outcome);
        self
    }

    /// The same metadata with the error of an `exception` event.
    #[must_use]
    pub fn with_error(mut self, error: &'a StoreError) -> Self {
        self.error = Some(error);
        self
    }

    /// The same metadata with these measurements.
    #[must_use]
    pub fn with_measurements(mut self, measurements: Measurements) -> Self {
        self.measurements = measurements;
        self
    }

    /// The bounded outcome name the `metrics` bridge labels with: the outcome's
    /// [`as_str`](StoreOutcome::as_str) for `stop`, the error kind's
    /// [`as_str`](crate::StoreErrorKind::as_str) for `exception` (`timeout`, `backend`, …),
    /// `none` for `start`.
    pub fn outcome_name(&self) -> &'static str {
        match (self.outcome, self.error) {
            (Some(outcome), _) => outcome.as_str(),
            (None, Some(error)) => error.kind().as_str(),
            (None, None) => "none",
        }
    }
}

/// Metadata of the `charon.jwks.refresh.{start,stop,exception}` events: one fetch of a
/// remote key set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksSpanMeta<'a> {
    /// Where the keys come from: the JWKS URL (or the discovery URL before `jwks_uri` is
    /// known).
    pub source: &'a str,
    /// What started the fetch.
    pub trigger: JwksTrigger,
    /// For `stop`: `updated` or `unchanged`. For `exception`: `failed`.
    pub outcome: Option<JwksOutcome>,
    /// For `stop` and `exception`: keys in use afterwards.
    pub key_count: Option<usize>,
    /// For `exception`: the error kind's stable name (e.g. `timeout`, `http_status`).
    pub error_kind: Option<&'static str>,
    /// For `exception`: the error's `Display`.
    pub error: Option<&'a str>,
    /// The system time and, for `stop` and `exception`, the fetch's duration.
    pub measurements: Measurements,
}

impl<'a> JwksSpanMeta<'a> {
    /// Metadata of a `start` event, measured [now](Measurements::now).
    pub fn start(source: &'a str, trigger: JwksTrigger) -> Self {
        Self {
            source,
            trigger,
            outcome: None,
            key_count: None,
            error_kind: None,
            error: None,
            measurements: Measurements::now(),
        }
    }

    /// The same metadata with how the fetch ended and the keys in use afterwards.
    #[must_use]
    pub fn with_outcome(mut self, outcome: JwksOutcome, key_count: usize) -> Self {
        self.outcome = Some(outcome);
        self.key_count = Some(key_count);
        self
    }

    /// The same metadata with the error of a failed fetch.
    #[must_use]
    pub fn with_error(mut self, error_kind: &'static str, error: &'a str) -> Self {
        self.error_kind = Some(error_kind);
        self.error = Some(error);
        self
    }

    /// The same metadata with these measurements.
    #[must_use]
    pub fn with_measurements(mut self, measurements: Measurements) -> Self {
        self.measurements = measurements;
        self
    }
}

/// One telemetry event, with borrowed metadata. Never holds a token or key.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// `charon.session.create`
    SessionCreate(SessionMeta<'a>),
    /// `charon.session.refresh`
    SessionRefresh(SessionMeta<'a>),
    /// `charon.session.delete`
    SessionDelete(SessionMeta<'a>),
    /// `charon.session.delete_all` (no session id)
    SessionDeleteAll(SessionMeta<'a>),
    /// `charon.session.lock_conflict`
    SessionLockConflict(SessionMeta<'a>),
    /// `charon.token.valid`
    TokenValid(TokenMeta<'a>),
    /// `charon.token.invalid` (with `error`)
    TokenInvalid(TokenMeta<'a>),
    /// `charon.jwks.refresh`
    JwksRefresh(JwksMeta<'a>),
    /// `charon.store.operation.start`
    StoreStart(StoreMeta<'a>),
    /// `charon.store.operation.stop` (with `outcome`)
    StoreStop(StoreMeta<'a>),
    /// `charon.store.operation.exception` (with `error`)
    StoreException(StoreMeta<'a>),
    /// `charon.jwks.refresh.start`
    JwksRefreshStart(JwksSpanMeta<'a>),
    /// `charon.jwks.refresh.stop` (with `outcome`, `key_count`)
    JwksRefreshStop(JwksSpanMeta<'a>),
    /// `charon.jwks.refresh.exception` (with `error_kind`, `error`)
    JwksRefreshException(JwksSpanMeta<'a>),
}

impl<'a> Event<'a> {
    /// A session event of `kind`. Another kind yields a `TokenInvalid` without
    /// metadata claims; callers pass session kinds.
    pub fn session(kind: EventKind, meta: SessionMeta<'a>) -> Self {
        match kind {
            EventKind::SessionCreate => Event::SessionCreate(meta),
            EventKind::SessionRefresh => Event::SessionRefresh(meta),
            EventKind::SessionDelete => Event::SessionDelete(meta),
            EventKind::SessionDeleteAll => Event::SessionDeleteAll(meta),
            EventKind::SessionLockConflict => Event::SessionLockConflict(meta),
            _ => Event::TokenInvalid(TokenMeta::new(false, None, None, None)),
        }
    }

    /// A token event: `TokenInvalid` when `meta.error` is set, `TokenValid` otherwise.
    pub fn token(meta: TokenMeta<'a>) -> Self {
        if meta.error.is_some() {
            Event::TokenInvalid(meta)
        } else {
            Event::TokenValid(meta)
        }
    }

    /// This event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::SessionCreate(_) => EventKind::SessionCreate,
            Event::SessionRefresh(_) => EventKind::SessionRefresh,
            Event::SessionDelete(_) => EventKind::SessionDelete,
            Event::SessionDeleteAll(_) => EventKind::SessionDeleteAll,
            Event::SessionLockConflict(_) => EventKind::SessionLockConflict,
            Event::TokenValid(_) => EventKind::TokenValid,
            Event::TokenInvalid(_) => EventKind::TokenInvalid,
            Event::JwksRefresh(_) => EventKind::JwksRefresh,
            Event::StoreStart(_) => EventKind::StoreStart,
            Event::StoreStop(_) => EventKind::StoreStop,
            Event::StoreException(_) => EventKind::StoreException,
            Event::JwksRefreshStart(_) => EventKind::JwksRefreshStart,
            Event::JwksRefreshStop(_) => EventKind::JwksRefreshStop,
            Event::JwksRefreshException(_) => EventKind::JwksRefreshException,
        }
    }

    /// What was measured: the system time and the duration of the work (see
    /// [`Measurements`]).
    pub fn measurements(&self) -> Measurements {
        match self {
            Event::SessionCreate(m)
            | Event::SessionRefresh(m)
            | Event::SessionDelete(m)
            | Event::SessionDeleteAll(m)
            | Event::SessionLockConflict(m) => m.measurements,
            Event::TokenValid(m) | Event::TokenInvalid(m) => m.measurements,
            Event::JwksRefresh(m) => m.measurements,
            Event::StoreStart(m) | Event::StoreStop(m) | Event::StoreException(m) => m.measurements,
            Event::JwksRefreshStart(m)
            | Event::JwksRefreshStop(m)
            | Event::JwksRefreshException(m) => m.measurements,
        }
    }

    /// The stable name, e.g. `charon.token.valid`.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The session metadata, for `charon.session.*` events.
    pub fn session_meta(&self) -> Option<&SessionMeta<'a>> {
        match self {
            Event::SessionCreate(m)
            | Event::SessionRefresh(m)
            | Event::SessionDelete(m)
            | Event::SessionDeleteAll(m)
            | Event::SessionLockConflict(m) => Some(m),
            _ => None,
        }
    }

    /// The token metadata, for `charon.token.*` events.
    pub fn token_meta(&self) -> Option<&TokenMeta<'a>> {
        match self {
            Event::TokenValid(m) | Event::TokenInvalid(m) => Some(m),
            _ => None,
        }
    }

    /// The key-set metadata, for `charon.jwks.refresh`.
    pub fn jwks_meta(&self) -> Option<&JwksMeta<'a>> {
        match self {
            Event::JwksRefresh(m) => Some(m),
            _ => None,
        }
    }

    /// The store-operation metadata, for `charon.store.operation.*` events.
    pub fn store_meta(&self) -> Option<&StoreMeta<'a>> {
        match self {
            Event::StoreStart(m) | Event::StoreStop(m) | Event::StoreException(m) => Some(m),
            _ => None,
        }
    }

    /// The key-set fetch metadata, for `charon.jwks.refresh.{start,stop,exception}`.
    pub fn jwks_span_meta(&self) -> Option<&JwksSpanMeta<'a>> {
        match self {
            Event::JwksRefreshStart(m)
            | Event::JwksRefreshStop(m)
            | Event::JwksRefreshException(m) => Some(m),
            _ => None,
        }
    }
}
