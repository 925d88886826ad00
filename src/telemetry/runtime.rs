//! Handlers attached and detached at run time, by id (`:telemetry.attach_many`/`detach`).
//!
//! Readers (every emit) never lock: one relaxed load of the set of kinds anybody listens to,
//! and, only when the event's kind is in it, one [`ArcSwap`] load of the attached handlers.
//! Writers (attach, detach: rare) take a mutex among themselves and publish a new list.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use super::{EventKind, TelemetryHandler};

/// Why a handler could not be attached or detached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TelemetryErrorKind {
    /// A handler with this id is attached already (detach it first).
    AlreadyAttached,
    /// No handler with this id is attached.
    NotAttached,
    /// The list of event kinds was empty.
    NoEventKinds,
    /// An event stream was asked for with a capacity of zero.
    ZeroCapacity,
}

impl TelemetryErrorKind {
    /// A stable snake_case name: `already_attached`, `not_attached`, `no_event_kinds`,
    /// `zero_capacity`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TelemetryErrorKind::AlreadyAttached => "already_attached",
            TelemetryErrorKind::NotAttached => "not_attached",
            TelemetryErrorKind::NoEventKinds => "no_event_kinds",
            TelemetryErrorKind::ZeroCapacity => "zero_capacity",
        }
    }
}

/// A handler could not be attached or detached; [`kind`](Self::kind) says why.
///
/// ```
/// use charon_auth::telemetry::{Event, EventKind, Telemetry, TelemetryErrorKind};
///
/// let telemetry = Telemetry::none();
/// telemetry.attach("audit", EventKind::SessionCreate, |_: &Event<'_>| {})?;
/// let twice = telemetry.attach("audit", EventKind::SessionCreate, |_: &Event<'_>| {});
/// assert_eq!(twice.map_err(|e| e.kind()), Err(TelemetryErrorKind::AlreadyAttached));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryError {
    kind: TelemetryErrorKind,
    id: Option<Arc<str>>,
}

impl TelemetryError {
    pub(crate) fn new(kind: TelemetryErrorKind, id: Option<Arc<str>>) -> Self {
        Self { kind, id }
    }

    /// Why.
    pub fn kind(&self) -> TelemetryErrorKind {
        self.kind
    }

    /// The handler id concerned, if any.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

impl fmt::Display for TelemetryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.id.as_deref().unwrap_or("");
        match self.kind {
            TelemetryErrorKind::AlreadyAttached => {
                write!(f, "a telemetry handler with id `{id}` is attached already")
            }
            TelemetryErrorKind::NotAttached => {
                write!(f, "no telemetry handler with id `{id}` is attached")
            }
            TelemetryErrorKind::NoEventKinds => {
                write!(f, "telemetry handler `{id}` was attached to no event kind")
            }
            TelemetryErrorKind::ZeroCapacity => f.write_str("an event stream needs a capacity"),
        }
    }
}

impl std::error::Error for TelemetryError {}

/// One attached handler.
pub(super) struct Entry {
    pub(super) id: Arc<str>,
    pub(super) kinds: u32,
    pub(super) handler: Arc<dyn TelemetryHandler>,
}

/// The attached handlers, published as one immutable list.
#[derive(Default)]
pub(super) struct Attached {
    pub(super) entries: Box<[Entry]>,
}

/// The run-time handlers of one [`Telemetry`](super::Telemetry) and its clones.
pub(super) struct Runtime {
    /// Union of the kinds of every attached handler: the hot-path pre-check.
    kinds: AtomicU32,
    current: ArcSwap<Attached>,
    writer: Mutex<()>,
}

impl Default for Runtime {
    fn default() -> Self {
        Self {
            kinds: AtomicU32::new(0),
            current: ArcSwap::from_pointee(Attached::default()),
            writer: Mutex::new(()),
        }
    }
}

pub(super) fn mask(kinds: impl IntoIterator<Item = EventKind>) -> u32 {
    kinds.into_iter().fold(0, |mask, kind| mask | kind.bit())
}

impl Runtime {
    /// Whether some attached handler listens to a kind in `mask` (it may still say no in
    /// its own `enabled`).
    pub(super) fn listens(&self, mask: u32) -> bool {
        self.kinds.load(Ordering::Relaxed) & mask != 0
    }

    /// The attached handlers (lock-free).
    pub(super) fn load(&self) -> arc_swap::Guard<Arc<Attached>> {
        self.current.load()
    }

    pub(super) fn attach(
        &self,
        id: Arc<str>,
        kinds: u32,
        handler: Arc<dyn TelemetryHandler>,
    ) -> Result<(), TelemetryError> {
        if kinds == 0 {
            return Err(TelemetryError::new(
                TelemetryErrorKind::NoEventKinds,
                Some(id),
            ));
        }
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.current.load_full();
        if current.entries.iter().any(|e| e.id == id) {
            return Err(TelemetryError::new(
                TelemetryErrorKind::AlreadyAttached,
                Some(id),
            ));
        }
        let mut entries: Vec<Entry> = current
            .entries
            .iter()
            .map(|e| Entry {
                id: Arc::clone(&e.id),
                kinds: e.kinds,
                handler: Arc::clone(&e.handler),
            })
            .collect();
        entries.push(Entry { id, kinds, handler });
        self.publish(entries);
        Ok(())
    }

    pub(super) fn detach(&self, id: &str) -> Result<(), TelemetryError> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.current.load_full();
        if !current.entries.iter().any(|e| &*e.id == id) {
            return Err(TelemetryError::new(
                TelemetryErrorKind::NotAttached,
                Some(Arc::from(id)),
            ));
        }
        let entries: Vec<Entry> = current
            .entries
            .iter()
            .filter(|e| &*e.id != id)
            .map(|e| Entry {
                id: Arc::clone(&e.id),
                kinds: e.kinds,
                handler: Arc::clone(&e.handler),
            })
            .collect();
        self.publish(entries);
        Ok(())
    }

    /// Publish `entries` (the writer lock held). The kinds are widened before the list is
    /// stored and narrowed after, so a reader never misses a handler that is attached.
    fn publish(&self, entries: Vec<Entry>) {
        let kinds = entries.iter().fold(0, |mask, e| mask | e.kinds);
        self.kinds.fetch_or(kinds, Ordering::Release);
        self.current.store(Arc::new(Attached {
            entries: entries.into(),
        }));
        self.kinds.store(kinds, Ordering::Release);
    }

    pub(super) fn ids(&self) -> Vec<String> {
        self.current
            .load()
            .entries
            .iter()
            .map(|e| e.id.to_string())
            .collect()
    }

    pub(super) fn len(&self) -> usize {
        self.current.load().entries.len()
    }
}
