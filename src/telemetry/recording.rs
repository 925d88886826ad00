//! A handler that records every event, for tests (feature `test-util`).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::OwnedEvent;
use super::{Event, EventKind, Measurements, TelemetryHandler};
use crate::error::{AuthError, AuthErrorKind};
use crate::transport::Transport;

/// An owned copy of one [`Event`], flattened: every metadata field of every event, `None`
/// where the event does not carry it.
///
/// For session events `session_id` (except `delete_all`), `user_id` and `session_type` are
/// set. For token events `session_loaded` is always set, `token_transport` when a token was
/// found, `token_type`, `user_id`, `session_id` and `session_type` when the claims were
/// decoded, and `error` (the `Display` of the [`AuthError`](crate::AuthError)) with
/// `error_kind` for `charon.token.invalid`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedEvent {
    /// Which event.
    pub kind: EventKind,
    /// Session id (session events except `delete_all`; claim `sid` of token events).
    pub session_id: Option<String>,
    /// User id (session events; claim `sub` of token events).
    pub user_id: Option<String>,
    /// Session type (session events; claim `styp` of token events).
    pub session_type: Option<String>,
    /// Whether the session was loaded (token events).
    pub session_loaded: Option<bool>,
    /// How the token arrived (token events, when a token was found).
    pub token_transport: Option<Transport>,
    /// Claim `type` (token events, when the claims were decoded).
    pub token_type: Option<String>,
    /// The error's kind (`charon.token.invalid`).
    pub error_kind: Option<AuthErrorKind>,
    /// The error's `Display` (`charon.token.invalid`).
    pub error: Option<String>,
}

impl RecordedEvent {
    /// The stable event name, e.g. `charon.session.create`.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }
}

impl From<&Event<'_>> for RecordedEvent {
    fn from(event: &Event<'_>) -> Self {
        // The stream's owned copy, narrowed to what this record documents: the session and
        // token fields, and the error of `charon.token.invalid` as its kind.
        let owned = OwnedEvent::from(event);
        let token_error = event.token_meta().and_then(|meta| meta.error);
        RecordedEvent {
            kind: owned.kind,
            session_id: owned.session_id,
            user_id: owned.user_id,
            session_type: owned.session_type.filter(|_| event.store_meta().is_none()),
            session_loaded: owned.session_loaded,
            token_transport: owned.token_transport,
            token_type: owned.token_type,
            error_kind: token_error.map(AuthError::kind),
            error: token_error.map(ToString::to_string),
        }
    }
}

/// A [`TelemetryHandler`] that keeps an owned copy of every event it receives, with its
/// [`Measurements`], for assertions in tests. Clones share the same record.
///
/// [`new`](Self::new) records the eight [Charon events](EventKind::CHARON), not the
/// span-style events (every store operation has two); ask for those with
/// [`only`](Self::only) or [`all`](Self::all).
///
/// ```
/// use std::sync::Arc;
/// use charon_auth::telemetry::{Event, EventKind, RecordingHandler, SessionMeta, Telemetry};
///
/// let recorder = RecordingHandler::new();
/// let telemetry = Telemetry::new(vec![Arc::new(recorder.clone())]);
/// telemetry.emit(EventKind::SessionCreate, || {
///     Event::session(EventKind::SessionCreate, SessionMeta::new(Some("sid"), "u1", "full"))
/// });
/// assert_eq!(recorder.kinds(), [EventKind::SessionCreate]);
/// assert_eq!(recorder.last().and_then(|e| e.user_id).as_deref(), Some("u1"));
/// ```
#[derive(Debug, Clone)]
pub struct RecordingHandler {
    events: Arc<Mutex<Vec<(RecordedEvent, Measurements)>>>,
    only: Option<Arc<BTreeSet<EventKind>>>,
}

impl RecordingHandler {
    /// A recorder that wants the eight [Charon events](EventKind::CHARON): sessions,
    /// tokens and `charon.jwks.refresh`, not the span-style events.
    pub fn new() -> Self {
        Self::only(EventKind::CHARON)
    }

    /// A recorder that wants every kind of event, span-style events included.
    pub fn all() -> Self {
        Self {
            events: Arc::default(),
            only: None,
        }
    }

    /// A recorder that wants only these kinds: its [`enabled`](TelemetryHandler::enabled)
    /// answers `false` for the others, so they are never built for it.
    pub fn only(kinds: impl IntoIterator<Item = EventKind>) -> Self {
        Self {
            events: Arc::default(),
            only: Some(Arc::new(kinds.into_iter().collect())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(RecordedEvent, Measurements)>> {
        // A panic in another test thread must not hide what was recorded.
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of every event recorded so far, oldest first.
    pub fn events(&self) -> Vec<RecordedEvent> {
        self.lock().iter().map(|(e, _)| e.clone()).collect()
    }

    /// Every event recorded so far with its measurements, oldest first.
    pub fn measured(&self) -> Vec<(RecordedEvent, Measurements)> {
        self.lock().clone()
    }

    /// The kinds of the events recorded so far, oldest first.
    pub fn kinds(&self) -> Vec<EventKind> {
        self.lock().iter().map(|(e, _)| e.kind).collect()
    }

    /// Every event recorded so far, oldest first, leaving the record empty.
    pub fn take(&self) -> Vec<RecordedEvent> {
        std::mem::take(&mut *self.lock())
            .into_iter()
            .map(|(e, _)| e)
            .collect()
    }

    /// Forget every event recorded so far.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The most recent event, if any.
    pub fn last(&self) -> Option<RecordedEvent> {
        self.lock().last().map(|(e, _)| e.clone())
    }

    /// How many events of `kind` were recorded.
    pub fn count(&self, kind: EventKind) -> usize {
        self.lock().iter().filter(|(e, _)| e.kind == kind).count()
    }

    /// How many events were recorded.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no event was recorded.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

impl Default for RecordingHandler {
    /// As [`new`](Self::new): the eight Charon events.
    fn default() -> Self {
        Self::new()
    }
}

impl TelemetryHandler for RecordingHandler {
    fn enabled(&self, kind: EventKind) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(&kind))
    }

    fn handle(&self, event: &Event<'_>) {
        self.lock()
            .push((RecordedEvent::from(event), event.measurements()));
    }
}
