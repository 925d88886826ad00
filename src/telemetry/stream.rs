//! The async subscription: a bounded stream of owned events, lossy under pressure.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::sync::mpsc;

use super::{
    Event, EventKind, JwksTrigger, Measurements, StoreOperation, TelemetryError,
    TelemetryErrorKind, TelemetryHandler,
};
use crate::transport::Transport;

/// An owned copy of one [`Event`], flattened: every metadata field of every event, `None`
/// where the event does not carry it. What an [`EventStream`] yields.
///
/// - Session events: `session_id` (not for `delete_all`), `user_id`, `session_type`.
/// - Token events: `session_loaded`, `token_transport` (when a token was found), and when
///   the claims were decoded `token_type`, `user_id`, `session_id`, `session_type`;
///   `charon.token.invalid` adds `error_kind` ([`AuthErrorKind::as_str`](crate::AuthErrorKind::as_str))
///   and `error`.
/// - `charon.jwks.refresh` and its span events: `source`, `trigger`, `outcome`
///   ([`JwksOutcome::as_str`](super::JwksOutcome::as_str)), `key_count`, and when failed
///   `error_kind` and `error`.
/// - Store span events: `operation`, `session_type`, `outcome` for `stop`
///   ([`StoreOutcome::as_str`](super::StoreOutcome::as_str)), `error_kind`
///   ([`StoreErrorKind::as_str`](crate::StoreErrorKind::as_str)) and `error` for
///   `exception`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OwnedEvent {
    /// Which event.
    pub kind: EventKind,
    /// Its measurements.
    pub measurements: Measurements,
    /// Session id (session events; claim `sid` of token events).
    pub session_id: Option<String>,
    /// User id (session events; claim `sub` of token events).
    pub user_id: Option<String>,
    /// Session type (session and store events; claim `styp` of token events).
    pub session_type: Option<String>,
    /// Whether the session was loaded (token events).
    pub session_loaded: Option<bool>,
    /// How the token arrived (token events, when a token was found).
    pub token_transport: Option<Transport>,
    /// Claim `type` (token events, when the claims were decoded).
    pub token_type: Option<String>,
    /// The store operation (store events).
    pub operation: Option<StoreOperation>,
    /// Where the keys come from (key-set events).
    pub source: Option<String>,
    /// What started the refresh (key-set events).
    pub trigger: Option<JwksTrigger>,
    /// How it ended (store `stop`; key-set events but `start`).
    pub outcome: Option<&'static str>,
    /// Keys in use afterwards (key-set events but `start`).
    pub key_count: Option<usize>,
    /// The error kind's stable name (`charon.token.invalid`, store `exception`, failed
    /// key-set refreshes).
    pub error_kind: Option<&'static str>,
    /// The error's `Display` (where `error_kind` is set).
    pub error: Option<String>,
}

impl OwnedEvent {
    /// The stable event name, e.g. `charon.session.create`.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }
}

impl From<&Event<'_>> for OwnedEvent {
    fn from(event: &Event<'_>) -> Self {
        let mut owned = OwnedEvent {
            kind: event.kind(),
            measurements: event.measurements(),
            session_id: None,
            user_id: None,
            session_type: None,
            session_loaded: None,
            token_transport: None,
            token_type: None,
            operation: None,
            source: None,
            trigger: None,
            outcome: None,
            key_count: None,
            error_kind: None,
            error: None,
        };
        if let Some(meta) = event.session_meta() {
            owned.session_id = meta.session_id.map(str::to_owned);
            owned.user_id = Some(meta.user_id.to_owned());
            owned.session_type = Some(meta.session_type.to_owned());
        }
        if let Some(meta) = event.token_meta() {
            owned.session_loaded = Some(meta.session_loaded);
            owned.token_transport = meta.token_transport;
            if let Some(claims) = &meta.claims {
                owned.token_type = claims.token_type.map(str::to_owned);
                owned.user_id = Some(claims.user_id.to_owned());
                owned.session_id = claims.session_id.map(str::to_owned);
                owned.session_type = claims.session_type.map(str::to_owned);
            }
            if let Some(error) = meta.error {
                owned.error_kind = Some(error.kind().as_str());
                owned.error = Some(error.to_string());
            }
        }
        if let Some(meta) = event.jwks_meta() {
            owned.source = Some(meta.source.to_owned());
            owned.trigger = Some(meta.trigger);
            owned.outcome = Some(meta.outcome.as_str());
            owned.key_count = Some(meta.key_count);
            owned.error_kind = meta.error_kind;
            owned.error = meta.error.map(str::to_owned);
        }
        if let Some(meta) = event.jwks_span_meta() {
            owned.source = Some(meta.source.to_owned());
            owned.trigger = Some(meta.trigger);
            owned.outcome = meta.outcome.map(|o| o.as_str());
            owned.key_count = meta.key_count;
            owned.error_kind = meta.error_kind;
            owned.error = meta.error.map(str::to_owned);
        }
        if let Some(meta) = event.store_meta() {
            owned.operation = Some(meta.operation);
            owned.session_type = Some(meta.session_type.to_owned());
            owned.outcome = meta.outcome.map(|o| o.as_str());
            if let Some(error) = meta.error {
                owned.error_kind = Some(error.kind().as_str());
                owned.error = Some(error.to_string());
            }
        }
        owned
    }
}

/// A bounded channel of owned events: the [`EventSender`] is a handler (attach it, possibly
/// behind a [`MetadataFilter`](super::MetadataFilter)), the [`EventStream`] its consumer.
/// [`Telemetry::subscribe`](super::Telemetry::subscribe) does both in one call.
///
/// ```
/// use charon_auth::telemetry::{event_channel, EventKind, FieldPolicy, MetadataFilter, Telemetry};
///
/// let telemetry = Telemetry::none();
/// let (sender, mut stream) = event_channel(1024)?;
/// let private = MetadataFilter::new().user_id(FieldPolicy::Drop).session_id(FieldPolicy::Drop);
/// telemetry.attach_many("audit", EventKind::CHARON, private.wrap(sender))?;
/// // In a task: `while let Some(event) = stream.recv().await { … }`
/// assert_eq!(stream.dropped(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`TelemetryErrorKind::ZeroCapacity`] for a capacity of 0.
pub fn event_channel(capacity: usize) -> Result<(EventSender, EventStream), TelemetryError> {
    if capacity == 0 {
        return Err(TelemetryError::new(TelemetryErrorKind::ZeroCapacity, None));
    }
    let (tx, rx) = mpsc::channel(capacity);
    let dropped = Arc::new(AtomicU64::new(0));
    Ok((
        EventSender {
            tx,
            dropped: Arc::clone(&dropped),
        },
        EventStream { rx, dropped },
    ))
}

/// The handler side of an [`event_channel`]: copies each event it is given into the
/// channel without ever waiting (`try_send`); when the channel is full the event is
/// dropped and counted. Once the stream is dropped it wants no event.
#[derive(Debug, Clone)]
pub struct EventSender {
    tx: mpsc::Sender<OwnedEvent>,
    dropped: Arc<AtomicU64>,
}

impl TelemetryHandler for EventSender {
    fn enabled(&self, _kind: EventKind) -> bool {
        !self.tx.is_closed()
    }

    fn handle(&self, event: &Event<'_>) {
        // Reserve first: a full channel costs no copy of the event.
        match self.tx.try_reserve() {
            Ok(permit) => permit.send(OwnedEvent::from(event)),
            Err(mpsc::error::TrySendError::Full(())) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Closed(())) => {}
        }
    }
}

/// A bounded stream of owned events ([`Telemetry::subscribe`](super::Telemetry::subscribe),
/// [`event_channel`]). Implements [`futures_core::Stream`]; ends once its sender is gone
/// (detached and dropped).
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::Receiver<OwnedEvent>,
    dropped: Arc<AtomicU64>,
}

impl EventStream {
    /// The next event; `None` once the sender is gone and the stream is drained.
    pub async fn recv(&mut self) -> Option<OwnedEvent> {
        self.rx.recv().await
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<OwnedEvent> {
        self.rx.try_recv().ok()
    }

    /// How many events were dropped because the stream was full, since it was made.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events waiting in the stream.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }
}

impl futures_core::Stream for EventStream {
    type Item = OwnedEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<OwnedEvent>> {
        self.rx.poll_recv(cx)
    }
}
