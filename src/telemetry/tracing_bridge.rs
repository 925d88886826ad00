//! The `tracing` bridge (feature `tracing`): one `tracing` event per telemetry event.

use tracing::Level;
use tracing::metadata::Kind;

use super::{Event, EventKind, JwksMeta, JwksOutcome, SessionMeta, TelemetryHandler, TokenMeta};
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
/// | `charon.jwks.refresh` | `charon::jwks` | DEBUG; WARN when `failed` or `expired` | `key set updated`, `key set unchanged`, `key set refresh failed`, `key set expired` |
///
/// The span-style events (`charon.store.operation.*`, `charon.jwks.refresh.{start,stop,exception}`)
/// are not `tracing` events: `tracing` gets real spans for that work instead
/// (`charon.verify`, `charon.store.operation`, `charon.jwks.refresh`; see
/// [Spans](crate::telemetry#spans)), so this handler wants none of them.
///
/// The tracing event's `name` is the stable event name (`charon.token.valid`, …), so a
/// layer can match on [`Metadata::name`](tracing::Metadata::name). Fields are the event's
/// metadata: `session_id`, `user_id`, `session_type` for session events (no `session_id`
/// for `delete_all`); `session_loaded`, `token_transport` (`bearer`, `cookie`,
/// `cookie_only`), and when the claims were decoded `token_type`, `user_id`, `session_id`,
/// `session_type` for token events; `charon.token.invalid` adds `error` (the `Display` of
/// the [`AuthError`](crate::AuthError), Charon's message) and `error_kind` (the `Debug` of
/// its [`AuthErrorKind`](crate::AuthErrorKind), e.g. `Expired`); `charon.jwks.refresh` has
/// `source` (the URL), `trigger`, `outcome`, `key_count`, and when failed `error_kind` and
/// `error`. Absent values are not recorded. Tokens, keys and secrets are never part of an
/// event.
///
/// Levels are low on purpose: a library reports what it did, the application decides what
/// is worth keeping. Everything is at DEBUG except `charon.token.valid`, which fires on
/// every authenticated request and sits at TRACE, and a key-set refresh that failed or
/// left the service without keys, which is WARN: it is rare (one per refresh interval)
/// and verification answers 503 once the keys are gone. A lock conflict is DEBUG, not WARN: two
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
    /// The target of the `charon.jwks.*` events.
    pub const JWKS_TARGET: &'static str = "charon::jwks";
    /// The target of the store spans (`charon.store.operation`).
    pub const STORE_TARGET: &'static str = "charon::store";

    /// A tracing handler.
    pub const fn new() -> Self {
        TracingHandler
    }

    /// The target events of `kind` are emitted under.
    pub const fn target(kind: EventKind) -> &'static str {
        if kind.is_token() {
            Self::TOKEN_TARGET
        } else if kind.is_jwks() {
            Self::JWKS_TARGET
        } else if kind.is_store() {
            Self::STORE_TARGET
        } else {
            Self::SESSION_TARGET
        }
    }

    /// The level events of `kind` are emitted at; for `charon.jwks.refresh`, whose
    /// successful refreshes are DEBUG, the most severe one (WARN), which
    /// [`enabled`](TelemetryHandler::enabled) asks the subscriber about; for the
    /// span-style events, which this handler does not emit, the level of their spans
    /// (TRACE for the store, DEBUG for key-set fetches).
    pub const fn level(kind: EventKind) -> Level {
        match kind {
            EventKind::TokenValid
            | EventKind::StoreStart
            | EventKind::StoreStop
            | EventKind::StoreException => Level::TRACE,
            EventKind::JwksRefreshStart
            | EventKind::JwksRefreshStop
            | EventKind::JwksRefreshException => Level::DEBUG,
            EventKind::JwksRefresh => Level::WARN,
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
            // Successful refreshes are DEBUG; each callsite is filtered again by `tracing`.
            EventKind::JwksRefresh => {
                tracing::enabled!(kind: Kind::EVENT, target: "charon::jwks", Level::WARN)
            }
            EventKind::SessionCreate
            | EventKind::SessionRefresh
            | EventKind::SessionDelete
            | EventKind::SessionDeleteAll
            | EventKind::SessionLockConflict => {
                tracing::enabled!(kind: Kind::EVENT, target: "charon::session", Level::DEBUG)
            }
            // Spans, not events (see the type's docs).
            EventKind::StoreStart
            | EventKind::StoreStop
            | EventKind::StoreException
            | EventKind::JwksRefreshStart
            | EventKind::JwksRefreshStop
            | EventKind::JwksRefreshException => false,
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
            Event::JwksRefresh(m) => jwks_refresh(m),
            // Spans, not events (see the type's docs).
            _ => {}
        }
    }
}

/// One `tracing` event for a key-set refresh; the level and message must be constants.
macro_rules! jwks_event {
    ($level:expr, $meta:expr, $message:literal) => {{
        let meta: &JwksMeta<'_> = $meta;
        tracing::event!(
            name: "charon.jwks.refresh",
            target: "charon::jwks",
            $level,
            source = meta.source,
            trigger = meta.trigger.as_str(),
            outcome = meta.outcome.as_str(),
            key_count = meta.key_count,
            error_kind = meta.error_kind,
            error = meta.error,
            $message
        )
    }};
}

fn jwks_refresh(meta: &JwksMeta<'_>) {
    match meta.outcome {
        JwksOutcome::Updated => jwks_event!(Level::DEBUG, meta, "key set updated"),
        JwksOutcome::Unchanged => jwks_event!(Level::DEBUG, meta, "key set unchanged"),
        JwksOutcome::Failed => jwks_event!(Level::WARN, meta, "key set refresh failed"),
        JwksOutcome::Expired => jwks_event!(Level::WARN, meta, "key set expired"),
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
        token_type = claims.and_then(|c| c.token_type),
        user_id = claims.map(|c| c.user_id),
        session_id = claims.and_then(|c| c.session_id),
        session_type = claims.and_then(|c| c.session_type),
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
        token_type = claims.and_then(|c| c.token_type),
        user_id = claims.map(|c| c.user_id),
        session_id = claims.and_then(|c| c.session_id),
        session_type = claims.and_then(|c| c.session_type),
        error = meta.error.map(tracing::field::display),
        error_kind = meta.error.map(|e| tracing::field::debug(e.kind())),
        "token invalid"
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fmt;
    use std::io;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, PoisonError};

    use tracing::Subscriber;
    use tracing::field::{Field, Visit};
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

    use super::*;
    use crate::error::{AuthError, AuthErrorKind};
    use crate::telemetry::{ClaimMeta, JwksMeta, JwksOutcome, JwksTrigger, Telemetry};

    /// A token that a verification pipeline would have handled; it must never show up.
    const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLXNlY3JldA";

    #[derive(Debug, Clone, PartialEq)]
    struct Captured {
        name: &'static str,
        target: String,
        level: Level,
        fields: BTreeMap<String, String>,
    }

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<Captured>>>);

    impl Capture {
        fn take(&self) -> Vec<Captured> {
            std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
        }
    }

    struct Fields(BTreeMap<String, String>);

    impl Visit for Fields {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.insert(field.name().to_owned(), value.to_owned());
        }
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.0.insert(field.name().to_owned(), format!("{value:?}"));
        }
    }

    impl<S: Subscriber> Layer<S> for Capture {
        fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
            let meta = event.metadata();
            let mut fields = Fields(BTreeMap::new());
            event.record(&mut fields);
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Captured {
                    name: meta.name(),
                    target: meta.target().to_owned(),
                    level: *meta.level(),
                    fields: fields.0,
                });
        }
    }

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn emit_all(telemetry: &Telemetry, error: &AuthError) {
        let session = SessionMeta::new(Some("sid-1"), "user-1", "full");
        for kind in [
            EventKind::SessionCreate,
            EventKind::SessionRefresh,
            EventKind::SessionDelete,
            EventKind::SessionLockConflict,
        ] {
            telemetry.emit(kind, || Event::session(kind, session));
        }
        telemetry.emit(EventKind::SessionDeleteAll, || {
            Event::session(
                EventKind::SessionDeleteAll,
                SessionMeta::new(None, "user-1", "oauth2"),
            )
        });
        let claims = ClaimMeta::new("access", "user-1", "sid-1", "full");
        telemetry.emit(EventKind::TokenValid, || {
            Event::token(TokenMeta::new(
                false,
                Some(Transport::Bearer),
                Some(claims),
                None,
            ))
        });
        telemetry.emit(EventKind::TokenInvalid, || {
            Event::token(TokenMeta::new(
                true,
                Some(Transport::CookieOnly),
                Some(ClaimMeta::new("refresh", "user-1", "sid-1", "full")),
                Some(error),
            ))
        });
        let not_found = AuthError::new(AuthErrorKind::TokenNotFound);
        telemetry.emit(EventKind::TokenInvalid, || {
            Event::token(TokenMeta::new(false, None, None, Some(&not_found)))
        });
        let source = "https://auth.example/.well-known/jwks.json";
        telemetry.emit(EventKind::JwksRefresh, || {
            Event::JwksRefresh(JwksMeta::new(
                source,
                JwksTrigger::Interval,
                JwksOutcome::Updated,
                2,
            ))
        });
        telemetry.emit(EventKind::JwksRefresh, || {
            Event::JwksRefresh(
                JwksMeta::new(source, JwksTrigger::UnknownKid, JwksOutcome::Failed, 2)
                    .with_error("timeout", "the JWKS request timed out"),
            )
        });
    }

    #[test]
    fn one_tracing_event_per_telemetry_event_with_name_target_level_and_fields() {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry()
            .with(LevelFilter::TRACE)
            .with(capture.clone());
        let telemetry = Telemetry::new(vec![Arc::new(TracingHandler::new())]);
        let error = AuthError::new(AuthErrorKind::Expired);
        tracing::subscriber::with_default(subscriber, || emit_all(&telemetry, &error));

        let session = |name, message| Captured {
            name,
            target: "charon::session".into(),
            level: Level::DEBUG,
            fields: fields(&[
                ("message", message),
                ("session_id", "sid-1"),
                ("session_type", "full"),
                ("user_id", "user-1"),
            ]),
        };
        let expected = vec![
            session("charon.session.create", "session created"),
            session("charon.session.refresh", "session refreshed"),
            session("charon.session.delete", "session deleted"),
            session("charon.session.lock_conflict", "session lock conflict"),
            Captured {
                name: "charon.session.delete_all",
                target: "charon::session".into(),
                level: Level::DEBUG,
                fields: fields(&[
                    ("message", "all sessions deleted"),
                    ("session_type", "oauth2"),
                    ("user_id", "user-1"),
                ]),
            },
            Captured {
                name: "charon.token.valid",
                target: "charon::token".into(),
                level: Level::TRACE,
                fields: fields(&[
                    ("message", "token valid"),
                    ("session_id", "sid-1"),
                    ("session_loaded", "false"),
                    ("session_type", "full"),
                    ("token_transport", "bearer"),
                    ("token_type", "access"),
                    ("user_id", "user-1"),
                ]),
            },
            Captured {
                name: "charon.token.invalid",
                target: "charon::token".into(),
                level: Level::DEBUG,
                fields: fields(&[
                    ("error", "bearer token expired"),
                    ("error_kind", "Expired"),
                    ("message", "token invalid"),
                    ("session_id", "sid-1"),
                    ("session_loaded", "true"),
                    ("session_type", "full"),
                    ("token_transport", "cookie_only"),
                    ("token_type", "refresh"),
                    ("user_id", "user-1"),
                ]),
            },
            Captured {
                name: "charon.token.invalid",
                target: "charon::token".into(),
                level: Level::DEBUG,
                fields: fields(&[
                    ("error", "bearer token not found"),
                    ("error_kind", "TokenNotFound"),
                    ("message", "token invalid"),
                    ("session_loaded", "false"),
                ]),
            },
            Captured {
                name: "charon.jwks.refresh",
                target: "charon::jwks".into(),
                level: Level::DEBUG,
                fields: fields(&[
                    ("key_count", "2"),
                    ("message", "key set updated"),
                    ("outcome", "updated"),
                    ("source", "https://auth.example/.well-known/jwks.json"),
                    ("trigger", "interval"),
                ]),
            },
            Captured {
                name: "charon.jwks.refresh",
                target: "charon::jwks".into(),
                level: Level::WARN,
                fields: fields(&[
                    ("error", "the JWKS request timed out"),
                    ("error_kind", "timeout"),
                    ("key_count", "2"),
                    ("message", "key set refresh failed"),
                    ("outcome", "failed"),
                    ("source", "https://auth.example/.well-known/jwks.json"),
                    ("trigger", "unknown_kid"),
                ]),
            },
        ];
        let captured = capture.take();
        assert_eq!(captured, expected);
        // The documented table agrees with what is emitted.
        for event in &captured {
            let kind = EventKind::ALL.into_iter().find(|k| k.name() == event.name);
            assert!(kind.is_some(), "unknown event name {}", event.name);
            if let Some(kind) = kind {
                if kind.is_jwks() {
                    // WARN when failed or expired, DEBUG otherwise; `level` is the WARN.
                    assert_eq!(TracingHandler::level(kind), Level::WARN);
                    assert!([Level::WARN, Level::DEBUG].contains(&event.level));
                } else {
                    assert_eq!(TracingHandler::level(kind), event.level);
                }
                assert_eq!(TracingHandler::target(kind), event.target);
            }
        }
    }

    #[test]
    fn enabled_follows_the_subscriber_filter() {
        let handler = TracingHandler::new();
        let telemetry = Telemetry::new(vec![Arc::new(handler)]);
        let check = |subscriber: tracing::Dispatch, expect: &dyn Fn(EventKind) -> bool| {
            tracing::dispatcher::with_default(&subscriber, || {
                for kind in EventKind::ALL {
                    assert_eq!(handler.enabled(kind), expect(kind), "{kind}");
                    let built = AtomicUsize::new(0);
                    telemetry.emit(kind, || {
                        built.fetch_add(1, Ordering::SeqCst);
                        Event::session(EventKind::SessionCreate, SessionMeta::new(None, "u", "t"))
                    });
                    assert_eq!(built.load(Ordering::SeqCst), usize::from(expect(kind)));
                }
            });
        };
        let capture = Capture::default();
        // INFO: only the key-set event, whose failures are WARN.
        check(
            tracing_subscriber::registry()
                .with(LevelFilter::INFO)
                .with(capture.clone())
                .into(),
            &|kind| kind == EventKind::JwksRefresh,
        );
        // Per-target: only the key-set events.
        check(
            tracing_subscriber::registry()
                .with(Targets::new().with_target("charon::jwks", Level::WARN))
                .with(capture.clone())
                .into(),
            &|kind| kind == EventKind::JwksRefresh,
        );
        // DEBUG: everything but token.valid.
        check(
            tracing_subscriber::registry()
                .with(LevelFilter::DEBUG)
                .with(capture.clone())
                .into(),
            // The span-style events are never `tracing` events.
            &|kind| kind != EventKind::TokenValid && !kind.is_span(),
        );
        // TRACE on the store target: store spans, still no store events.
        check(
            tracing_subscriber::registry()
                .with(Targets::new().with_target("charon::store", Level::TRACE))
                .with(capture.clone())
                .into(),
            &|_| false,
        );
        // Per-target: only the token events.
        check(
            tracing_subscriber::registry()
                .with(Targets::new().with_target("charon::token", Level::TRACE))
                .with(capture.clone())
                .into(),
            &|kind| kind.is_token(),
        );
        // Per-target: only the session events.
        check(
            tracing_subscriber::registry()
                .with(Targets::new().with_target("charon::session", Level::DEBUG))
                .with(capture.clone())
                .into(),
            &|kind| kind.is_session(),
        );
        // No subscriber at all.
        check(tracing::Dispatch::none(), &|_| false);
        // Disabled events were not emitted either: the make closures built session events,
        // so only those that were enabled reached the layer.
        assert!(
            capture
                .take()
                .iter()
                .all(|c| c.name == "charon.session.create")
        );
    }

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn fmt_output_names_events_and_never_contains_tokens() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let telemetry = Telemetry::new(vec![Arc::new(TracingHandler::new())]);
        // The error a pipeline raises for a forged token such as `TOKEN`: the events
        // carry its decoded metadata, never the token.
        let error = AuthError::new(AuthErrorKind::SignatureInvalid);
        tracing::subscriber::with_default(subscriber, || emit_all(&telemetry, &error));
        let bytes = buffer
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let out = String::from_utf8_lossy(&bytes);
        assert_eq!(out.lines().count(), 10, "{out}");
        for needle in [
            "charon::session",
            "charon::token",
            "session created",
            "token invalid",
            "error=bearer token signature invalid",
            "error_kind=SignatureInvalid",
            "token_transport=\"cookie_only\"",
            "session_id=\"sid-1\"",
        ] {
            assert!(out.contains(needle), "missing {needle:?} in {out}");
        }
        for part in TOKEN.split('.') {
            assert!(!out.contains(part), "token text in log: {out}");
        }
        assert!(!out.contains("eyJ"), "{out}");
    }
}
