//! The `tracing` bridge (feature `tracing`): one `tracing` event per telemetry event.

use tracing::Level;
use tracing::metadata::Kind;

use super::{Event, EventKind, SessionMeta, TelemetryHandler, TokenMeta};
use crate::transport::Transport;

/// A [`TelemetryHandler`] that emits every telemetry event as one `tracing` event.
///
/// | event | target | level | message |
/// |---|---|---|---|
/// | `charon.session.create` | `charon::session` | DEBUG | `session created` |
/// | `charon.session.refresh` | `charon::session` | DEBUG | `session refreshed` |
/// | `charon.session.delete` | `charon::session` | DEBUG | `session deleted` |
/// | `charon.session.delete_all` | `charon::session` | DEBUG | `all sessions deleted` |
/// | `charon.session.lock_conflict` | `charon::session` | DEBUG | `session lock conflict` |
/// | `charon.token.valid` | `charon::token` | TRACE | `token valid` |
/// | `charon.token.invalid` | `charon::token` | DEBUG | `token invalid` |
///
/// The tracing event's `name` is the stable event name (`charon.token.valid`, …), so a
/// layer can match on [`Metadata::name`](tracing::Metadata::name). Fields are the event's
/// metadata: `session_id`, `user_id`, `session_type` for session events (no `session_id`
/// for `delete_all`); `session_loaded`, `token_transport` (`bearer`, `cookie`,
/// `cookie_only`), and when the claims were decoded `token_type`, `user_id`, `session_id`,
/// `session_type` for token events; `charon.token.invalid` adds `error` (the `Display` of
/// the [`AuthError`](crate::AuthError), Charon's message) and `error_kind` (the `Debug` of
/// its [`AuthErrorKind`](crate::AuthErrorKind), e.g. `Expired`). Absent values are not
/// recorded. Tokens, keys and secrets are never part of an event.
///
/// Levels are low on purpose: a library reports what it did, the application decides what
/// is worth keeping. Everything is at DEBUG except `charon.token.valid`, which fires on
/// every authenticated request and sits at TRACE. A lock conflict is DEBUG, not WARN: two
/// tabs refreshing at once produce one in normal operation, and the loser is answered
/// with a 409 the client retries; count them with the `metrics` feature and alert on the
/// rate instead.
///
/// [`enabled`](TelemetryHandler::enabled) asks the current subscriber with
/// [`tracing::enabled!`] for the event's target and level, so with these levels filtered
/// out (e.g. `RUST_LOG=info`) no event is built for this handler.
///
/// ```
/// use std::sync::Arc;
/// use charon_auth::telemetry::{Telemetry, TracingHandler};
/// let telemetry = Telemetry::new(vec![Arc::new(TracingHandler::new())]);
/// # let _ = telemetry;
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct TracingHandler;

/// One `tracing` event for a session event; `name`, target and level must be constants.
macro_rules! session_event {
    ($name:literal, $level:expr, $meta:expr, $message:literal) => {{
        let meta: &SessionMeta<'_> = $meta;
        tracing::event!(
            name: $name,
            target: "charon::session",
            $level,
            session_id = meta.session_id,
            user_id = meta.user_id,
            session_type = meta.session_type,
            $message
        )
    }};
}

impl TracingHandler {
    /// The target of the `charon.session.*` events.
    pub const SESSION_TARGET: &'static str = "charon::session";
    /// The target of the `charon.token.*` events.
    pub const TOKEN_TARGET: &'static str = "charon::token";

    /// A tracing handler.
    pub const fn new() -> Self {
        TracingHandler
    }

    /// The target events of `kind` are emitted under.
    pub const fn target(kind: EventKind) -> &'static str {
        if kind.is_token() {
            Self::TOKEN_TARGET
        } else {
            Self::SESSION_TARGET
        }
    }

    /// The level events of `kind` are emitted at.
    pub const fn level(kind: EventKind) -> Level {
        match kind {
            EventKind::TokenValid => Level::TRACE,
            EventKind::SessionCreate
            | EventKind::SessionRefresh
            | EventKind::SessionDelete
            | EventKind::SessionDeleteAll
            | EventKind::SessionLockConflict
            | EventKind::TokenInvalid => Level::DEBUG,
        }
    }
}

impl TelemetryHandler for TracingHandler {
    fn enabled(&self, kind: EventKind) -> bool {
        // One callsite per (target, level) pair, constants as `tracing` requires; must
        // agree with `TracingHandler::level` and `target` (checked by the tests).
        match kind {
            EventKind::TokenValid => {
                tracing::enabled!(kind: Kind::EVENT, target: "charon::token", Level::TRACE)
            }
            EventKind::TokenInvalid => {
                tracing::enabled!(kind: Kind::EVENT, target: "charon::token", Level::DEBUG)
            }
            EventKind::SessionCreate
            | EventKind::SessionRefresh
            | EventKind::SessionDelete
            | EventKind::SessionDeleteAll
            | EventKind::SessionLockConflict => {
                tracing::enabled!(kind: Kind::EVENT, target: "charon::session", Level::DEBUG)
            }
        }
    }

    fn handle(&self, event: &Event<'_>) {
        match event {
            Event::SessionCreate(m) => {
                session_event!("charon.session.create", Level::DEBUG, m, "session created");
            }
            Event::SessionRefresh(m) => {
                session_event!(
                    "charon.session.refresh",
                    Level::DEBUG,
                    m,
                    "session refreshed"
                );
            }
            Event::SessionDelete(m) => {
                session_event!("charon.session.delete", Level::DEBUG, m, "session deleted");
            }
            Event::SessionDeleteAll(m) => {
                session_event!(
                    "charon.session.delete_all",
                    Level::DEBUG,
                    m,
                    "all sessions deleted"
                );
            }
            Event::SessionLockConflict(m) => {
                session_event!(
                    "charon.session.lock_conflict",
                    Level::DEBUG,
                    m,
                    "session lock conflict"
                );
            }
            Event::TokenValid(m) => token_valid(m),
            Event::TokenInvalid(m) => token_invalid(m),
        }
    }
}

fn token_valid(meta: &TokenMeta<'_>) {
    let claims = meta.claims.as_ref();
    tracing::event!(
        name: "charon.token.valid",
        target: "charon::token",
        Level::TRACE,
        session_loaded = meta.session_loaded,
        token_transport = meta.token_transport.map(Transport::as_str),
        token_type = claims.map(|c| c.token_type),
        user_id = claims.map(|c| c.user_id),
        session_id = claims.map(|c| c.session_id),
        session_type = claims.map(|c| c.session_type),
        "token valid"
    );
}

fn token_invalid(meta: &TokenMeta<'_>) {
    let claims = meta.claims.as_ref();
    tracing::event!(
        name: "charon.token.invalid",
        target: "charon::token",
        Level::DEBUG,
        session_loaded = meta.session_loaded,
        token_transport = meta.token_transport.map(Transport::as_str),
        token_type = claims.map(|c| c.token_type),
        user_id = claims.map(|c| c.user_id),
        session_id = claims.map(|c| c.session_id),
        session_type = claims.map(|c| c.session_type),
        error = meta.error.map(tracing::field::display),
        error_kind = meta.error.map(|e| tracing::field::debug(e.kind())),
        "token invalid"
    );
}
