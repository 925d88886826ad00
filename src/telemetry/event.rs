//! The telemetry events, their stable names and metadata.

use std::fmt;

use crate::error::AuthError;
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
}

impl EventKind {
    /// Every kind, in a fixed order.
    pub const ALL: [EventKind; 8] = [
        EventKind::SessionCreate,
        EventKind::SessionRefresh,
        EventKind::SessionDelete,
        EventKind::SessionDeleteAll,
        EventKind::SessionLockConflict,
        EventKind::TokenValid,
        EventKind::TokenInvalid,
        EventKind::JwksRefresh,
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

    /// Whether this is a `charon.jwks.*` event.
    pub const fn is_jwks(self) -> bool {
        matches!(self, EventKind::JwksRefresh)
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
}

impl<'a> SessionMeta<'a> {
    /// The metadata of one session.
    pub fn of(session: &'a crate::session::Session) -> Self {
        Self {
            session_id: Some(&session.id),
            user_id: &session.user_id,
            session_type: session.session_type.as_str(),
        }
    }

    /// Metadata from its parts (for tests and custom stores).
    pub fn new(session_id: Option<&'a str>, user_id: &'a str, session_type: &'a str) -> Self {
        Self {
            session_id,
            user_id,
            session_type,
        }
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
            user_id: &claims.sub,
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
}

impl<'a> TokenMeta<'a> {
    /// Token metadata from its parts.
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
        }
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
}

impl<'a> JwksMeta<'a> {
    /// JWKS metadata from its parts; no error.
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
        }
    }

    /// The same metadata with the error of a failed refresh.
    #[must_use]
    pub fn with_error(mut self, error_kind: &'static str, error: &'a str) -> Self {
        self.error_kind = Some(error_kind);
        self.error = Some(error);
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
}

impl<'a> Event<'a> {
    /// A session event of `kind`. A token or JWKS kind yields a `TokenInvalid` without
    /// metadata claims; callers pass session kinds.
    pub fn session(kind: EventKind, meta: SessionMeta<'a>) -> Self {
        match kind {
            EventKind::SessionCreate => Event::SessionCreate(meta),
            EventKind::SessionRefresh => Event::SessionRefresh(meta),
            EventKind::SessionDelete => Event::SessionDelete(meta),
            EventKind::SessionDeleteAll => Event::SessionDeleteAll(meta),
            EventKind::SessionLockConflict => Event::SessionLockConflict(meta),
            EventKind::TokenValid | EventKind::TokenInvalid | EventKind::JwksRefresh => {
                Event::TokenInvalid(TokenMeta::new(false, None, None, None))
            }
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
            Event::TokenValid(_) | Event::TokenInvalid(_) | Event::JwksRefresh(_) => None,
        }
    }

    /// The token metadata, for `charon.token.*` events.
    pub fn token_meta(&self) -> Option<&TokenMeta<'a>> {
        match self {
            Event::TokenValid(m) | Event::TokenInvalid(m) => Some(m),
            _ => None,
        }
    }

    /// The key-set metadata, for `charon.jwks.*` events.
    pub fn jwks_meta(&self) -> Option<&JwksMeta<'a>> {
        match self {
            Event::JwksRefresh(m) => Some(m),
            _ => None,
        }
    }
}
