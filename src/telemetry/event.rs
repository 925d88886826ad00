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
}

impl EventKind {
    /// Every kind, in a fixed order.
    pub const ALL: [EventKind; 7] = [
        EventKind::SessionCreate,
        EventKind::SessionRefresh,
        EventKind::SessionDelete,
        EventKind::SessionDeleteAll,
        EventKind::SessionLockConflict,
        EventKind::TokenValid,
        EventKind::TokenInvalid,
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
        }
    }

    /// Whether this is a `charon.session.*` event.
    pub const fn is_session(self) -> bool {
        !self.is_token()
    }

    /// Whether this is a `charon.token.*` event.
    pub const fn is_token(self) -> bool {
        matches!(self, EventKind::TokenValid | EventKind::TokenInvalid)
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
///
/// Fill it only from claims whose signature verified: before that they are attacker
/// input. (`MetricsHandler` bounds the label values it derives from them regardless.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimMeta<'a> {
    /// Claim `type`: `access` or `refresh`.
    pub token_type: &'a str,
    /// Claim `sub`.
    pub user_id: &'a str,
    /// Claim `sid`.
    pub session_id: &'a str,
    /// Claim `styp`.
    pub session_type: &'a str,
}

impl<'a> ClaimMeta<'a> {
    /// Claim metadata from its parts.
    pub fn new(
        token_type: &'a str,
        user_id: &'a str,
        session_id: &'a str,
        session_type: &'a str,
    ) -> Self {
        Self {
            token_type,
            user_id,
            session_id,
            session_type,
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
}

impl<'a> Event<'a> {
    /// A session event of `kind`. A token kind yields a `TokenInvalid` without metadata
    /// claims; callers pass session kinds.
    pub fn session(kind: EventKind, meta: SessionMeta<'a>) -> Self {
        match kind {
            EventKind::SessionCreate => Event::SessionCreate(meta),
            EventKind::SessionRefresh => Event::SessionRefresh(meta),
            EventKind::SessionDelete => Event::SessionDelete(meta),
            EventKind::SessionDeleteAll => Event::SessionDeleteAll(meta),
            EventKind::SessionLockConflict => Event::SessionLockConflict(meta),
            EventKind::TokenValid | EventKind::TokenInvalid => {
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
            Event::TokenValid(_) | Event::TokenInvalid(_) => None,
        }
    }

    /// The token metadata, for `charon.token.*` events.
    pub fn token_meta(&self) -> Option<&TokenMeta<'a>> {
        match self {
            Event::TokenValid(m) | Event::TokenInvalid(m) => Some(m),
            _ => None,
        }
    }
}
