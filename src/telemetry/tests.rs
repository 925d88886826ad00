//! Tests of the typed events, the dispatcher and the recording handler.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::error::{AuthError, AuthErrorKind};
use crate::transport::Transport;

fn session_meta() -> SessionMeta<'static> {
    SessionMeta::new(Some("sid-1"), "user-1", "full")
}

fn claims() -> ClaimMeta<'static> {
    ClaimMeta::new("access", "user-1", "sid-1", "full")
}

/// Emits one event of `kind` with representative metadata.
fn emit_sample(telemetry: &Telemetry, kind: EventKind, error: &AuthError) {
    telemetry.emit(kind, || sample_event(kind, error));
}

fn sample_event(kind: EventKind, error: &AuthError) -> Event<'_> {
    match kind {
        EventKind::TokenValid => Event::token(TokenMeta::new(
            false,
            Some(Transport::Bearer),
            Some(claims()),
            None,
        )),
        EventKind::TokenInvalid => Event::token(TokenMeta::new(
            true,
            Some(Transport::Cookie),
            Some(claims()),
            Some(error),
        )),
        EventKind::SessionDeleteAll => {
            Event::session(kind, SessionMeta::new(None, "user-1", "full"))
        }
        EventKind::JwksRefresh => Event::JwksRefresh(JwksMeta::new(
            "https://auth.example/.well-known/jwks.json",
            JwksTrigger::Interval,
            JwksOutcome::Updated,
            2,
        )),
        EventKind::StoreStart => Event::StoreStart(StoreMeta::start(StoreOperation::Get, "full")),
        EventKind::StoreStop => Event::StoreStop(
            StoreMeta::start(StoreOperation::Update, "full").with_outcome(StoreOutcome::Conflict),
        ),
        EventKind::StoreException => Event::StoreException(
            StoreMeta::start(StoreOperation::Create, "full").with_error(store_error()),
        ),
        EventKind::JwksRefreshStart => {
            Event::JwksRefreshStart(JwksSpanMeta::start(JWKS_URL, JwksTrigger::Initial))
        }
        EventKind::JwksRefreshStop => Event::JwksRefreshStop(
            JwksSpanMeta::start(JWKS_URL, JwksTrigger::Initial)
                .with_outcome(JwksOutcome::Updated, 2),
        ),
        EventKind::JwksRefreshException => Event::JwksRefreshException(
            JwksSpanMeta::start(JWKS_URL, JwksTrigger::Retry)
                .with_outcome(JwksOutcome::Failed, 0)
                .with_error("timeout", "the JWKS endpoint timed out"),
        ),
        _ => Event::session(kind, session_meta()),
    }
}

const JWKS_URL: &str = "https://auth.example/.well-known/jwks.json";

fn store_error() -> &'static crate::StoreError {
    static ERROR: std::sync::OnceLock<crate::StoreError> = std::sync::OnceLock::new();
    ERROR.get_or_init(|| crate::StoreError::new(crate::StoreErrorKind::Timeout))
}

#[test]
fn event_names_are_stable() {
    let names: Vec<_> = EventKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(
        names,
        [
            "charon.session.create",
            "charon.session.refresh",
            "charon.session.delete",
            "charon.session.delete_all",
            "charon.session.lock_conflict",
            "charon.token.valid",
            "charon.token.invalid",
            "charon.jwks.refresh",
            "charon.store.operation.start",
            "charon.store.operation.stop",
            "charon.store.operation.exception",
            "charon.jwks.refresh.start",
            "charon.jwks.refresh.stop",
            "charon.jwks.refresh.exception",
        ]
    );
    assert_eq!(
        EventKind::CHARON
            .iter()
            .chain(&EventKind::SPANS)
            .copied()
            .collect::<Vec<_>>(),
        EventKind::ALL
    );
    let mut bits = 0u32;
    for kind in EventKind::ALL {
        assert_eq!(bits & kind.bit(), 0, "one bit per kind");
        bits |= kind.bit();
        assert_eq!(kind.is_span(), EventKind::SPANS.contains(&kind));
        assert_eq!(kind.is_store(), kind.name().starts_with("charon.store."));
        assert_eq!(kind.is_start(), kind.name().ends_with(".start"));
    }
    for kind in EventKind::ALL {
        assert_eq!(kind.to_string(), kind.name());
        assert_eq!(kind.is_token(), kind.name().starts_with("charon.token."));
        assert_eq!(
            kind.is_session(),
            kind.name().starts_with("charon.session.")
        );
        assert_eq!(kind.is_jwks(), kind.name().starts_with("charon.jwks."));
    }
}

#[test]
fn events_report_their_kind_and_metadata() {
    let error = AuthError::new(AuthErrorKind::Expired);
    for kind in EventKind::ALL {
        let event = sample_event(kind, &error);
        assert_eq!(event.kind(), kind);
        assert_eq!(event.name(), kind.name());
        assert_eq!(event.session_meta().is_some(), kind.is_session());
        assert_eq!(event.token_meta().is_some(), kind.is_token());
        assert_eq!(event.jwks_meta().is_some(), kind == EventKind::JwksRefresh);
        assert_eq!(event.store_meta().is_some(), kind.is_store());
        assert_eq!(
            event.jwks_span_meta().is_some(),
            kind.is_jwks() && kind.is_span()
        );
    }
    // `Event::token` picks valid/invalid from the error.
    let valid = Event::token(TokenMeta::new(false, None, None, None));
    assert_eq!(valid.kind(), EventKind::TokenValid);
    let invalid = Event::token(TokenMeta::new(false, None, None, Some(&error)));
    assert_eq!(invalid.kind(), EventKind::TokenInvalid);
}

#[test]
fn closure_handler_receives_typed_event() {
    type Seen = Vec<(EventKind, Option<String>, String)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let sink = Arc::clone(&seen);
    let handler = move |event: &Event<'_>| {
        if let Event::SessionCreate(meta) = event {
            sink.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((
                    event.kind(),
                    meta.session_id.map(str::to_owned),
                    meta.user_id.to_owned(),
                ));
        }
    };
    let telemetry = Telemetry::new(vec![Arc::new(handler)]);
    let error = AuthError::new(AuthErrorKind::Expired);
    for kind in EventKind::ALL {
        emit_sample(&telemetry, kind, &error);
    }
    let seen = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    assert_eq!(
        *seen,
        [(
            EventKind::SessionCreate,
            Some("sid-1".to_owned()),
            "user-1".to_owned()
        )]
    );
}

#[test]
fn several_handlers_get_the_event_built_once() {
    let a = RecordingHandler::new();
    let b = RecordingHandler::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let closure_calls = Arc::clone(&calls);
    let telemetry = Telemetry::new(vec![
        Arc::new(a.clone()),
        Arc::new(NoopHandler),
        Arc::new(move |_: &Event<'_>| {
            closure_calls.fetch_add(1, Ordering::SeqCst);
        }),
        Arc::new(b.clone()),
    ]);
    assert_eq!(telemetry.len(), 4);
    assert!(!telemetry.is_empty());

    let built = AtomicUsize::new(0);
    telemetry.emit(EventKind::SessionRefresh, || {
        built.fetch_add(1, Ordering::SeqCst);
        Event::session(EventKind::SessionRefresh, session_meta())
    });
    assert_eq!(built.load(Ordering::SeqCst), 1, "event built exactly once");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(a.kinds(), [EventKind::SessionRefresh]);
    assert_eq!(a.events(), b.events());
}

#[test]
fn make_is_not_called_when_no_handler_is_enabled() {
    let only_create = RecordingHandler::only([EventKind::SessionCreate]);
    let telemetry = Telemetry::new(vec![Arc::new(NoopHandler), Arc::new(only_create.clone())]);
    assert!(!telemetry.enabled(EventKind::TokenValid));
    assert!(telemetry.enabled(EventKind::SessionCreate));

    let built = AtomicUsize::new(0);
    telemetry.emit(EventKind::TokenValid, || {
        built.fetch_add(1, Ordering::SeqCst);
        Event::token(TokenMeta::new(false, None, None, None))
    });
    assert_eq!(built.load(Ordering::SeqCst), 0, "make must not run");
    assert!(only_create.is_empty());

    telemetry.emit(EventKind::SessionCreate, || {
        built.fetch_add(1, Ordering::SeqCst);
        Event::session(EventKind::SessionCreate, session_meta())
    });
    assert_eq!(built.load(Ordering::SeqCst), 1);
    assert_eq!(only_create.count(EventKind::SessionCreate), 1);
}

#[test]
fn handlers_only_receive_kinds_they_enable() {
    let all = RecordingHandler::all();
    let charon = RecordingHandler::new();
    let tokens = RecordingHandler::only([EventKind::TokenValid, EventKind::TokenInvalid]);
    let telemetry = Telemetry::new(vec![
        Arc::new(all.clone()),
        Arc::new(charon.clone()),
        Arc::new(tokens.clone()),
    ]);
    let error = AuthError::new(AuthErrorKind::SignatureInvalid);
    for kind in EventKind::ALL {
        emit_sample(&telemetry, kind, &error);
    }
    assert_eq!(all.kinds(), EventKind::ALL);
    assert_eq!(charon.kinds(), EventKind::CHARON);
    assert_eq!(
        tokens.kinds(),
        [EventKind::TokenValid, EventKind::TokenInvalid]
    );
}

#[test]
fn noop_handler_wants_nothing() {
    for kind in EventKind::ALL {
        assert!(!NoopHandler.enabled(kind));
    }
    // Handling directly is harmless too.
    NoopHandler.handle(&Event::session(EventKind::SessionCreate, session_meta()));
    let telemetry = Telemetry::new(vec![Arc::new(NoopHandler)]);
    let built = AtomicUsize::new(0);
    telemetry.emit(EventKind::SessionCreate, || {
        built.fetch_add(1, Ordering::SeqCst);
        Event::session(EventKind::SessionCreate, session_meta())
    });
    assert_eq!(built.load(Ordering::SeqCst), 0);
}

#[test]
fn telemetry_none_never_builds_events() {
    for telemetry in [
        Telemetry::none(),
        Telemetry::default(),
        Telemetry::new(vec![]),
    ] {
        assert!(telemetry.is_empty());
        assert_eq!(telemetry.len(), 0);
        let built = AtomicUsize::new(0);
        for kind in EventKind::ALL {
            assert!(!telemetry.enabled(kind));
            telemetry.emit(kind, || {
                built.fetch_add(1, Ordering::SeqCst);
                Event::session(EventKind::SessionCreate, session_meta())
            });
        }
        assert_eq!(built.load(Ordering::SeqCst), 0);
        assert_eq!(
            format!("{telemetry:?}"),
            "Telemetry { handlers: 0, attached: [], tracing_spans: false }"
        );
    }
}

#[test]
fn clones_share_handlers() {
    let recorder = RecordingHandler::new();
    let telemetry = Telemetry::new(vec![Arc::new(recorder.clone())]);
    let clone = telemetry.clone();
    for t in [&telemetry, &clone] {
        t.emit(EventKind::SessionDelete, || {
            Event::session(EventKind::SessionDelete, session_meta())
        });
    }
    assert_eq!(recorder.count(EventKind::SessionDelete), 2);
}

#[test]
fn recorded_events_copy_all_metadata() {
    let recorder = RecordingHandler::new();
    let telemetry = Telemetry::new(vec![Arc::new(recorder.clone())]);
    let error = AuthError::claim_invalid("iss");
    for kind in EventKind::ALL {
        emit_sample(&telemetry, kind, &error);
    }
    let events = recorder.events();
    assert_eq!(events.len(), 8);

    let create = RecordedEvent {
        kind: EventKind::SessionCreate,
        session_id: Some("sid-1".into()),
        user_id: Some("user-1".into()),
        session_type: Some("full".into()),
        session_loaded: None,
        token_transport: None,
        token_type: None,
        error_kind: None,
        error: None,
    };
    assert_eq!(events.first(), Some(&create));
    assert_eq!(create.name(), "charon.session.create");

    let delete_all = events
        .iter()
        .find(|e| e.kind == EventKind::SessionDeleteAll);
    assert_eq!(
        delete_all,
        Some(&RecordedEvent {
            kind: EventKind::SessionDeleteAll,
            session_id: None,
            ..create
        })
    );

    let valid = RecordedEvent {
        kind: EventKind::TokenValid,
        session_id: Some("sid-1".into()),
        user_id: Some("user-1".into()),
        session_type: Some("full".into()),
        session_loaded: Some(false),
        token_transport: Some(Transport::Bearer),
        token_type: Some("access".into()),
        error_kind: None,
        error: None,
    };
    assert_eq!(events.get(5), Some(&valid));
    let invalid = RecordedEvent {
        kind: EventKind::TokenInvalid,
        session_loaded: Some(true),
        token_transport: Some(Transport::Cookie),
        error_kind: Some(AuthErrorKind::ClaimInvalid),
        error: Some("bearer token claim iss invalid".into()),
        ..valid
    };
    assert_eq!(events.get(6), Some(&invalid));
    // The key-set event is recorded by kind only: it has none of these fields.
    assert_eq!(
        recorder.last(),
        Some(RecordedEvent {
            kind: EventKind::JwksRefresh,
            session_id: None,
            user_id: None,
            session_type: None,
            session_loaded: None,
            token_transport: None,
            token_type: None,
            error_kind: None,
            error: None,
        })
    );

    // A token event without decoded claims nor a token.
    recorder.clear();
    let not_found = AuthError::new(AuthErrorKind::TokenNotFound);
    telemetry.emit(EventKind::TokenInvalid, || {
        Event::token(TokenMeta::new(false, None, None, Some(&not_found)))
    });
    assert_eq!(
        recorder.take(),
        [RecordedEvent {
            kind: EventKind::TokenInvalid,
            session_id: None,
            user_id: None,
            session_type: None,
            session_loaded: Some(false),
            token_transport: None,
            token_type: None,
            error_kind: Some(AuthErrorKind::TokenNotFound),
            error: Some("bearer token not found".into()),
        }]
    );
    assert!(recorder.is_empty());
}

#[test]
fn recording_helpers() {
    let recorder = RecordingHandler::new();
    let telemetry = Telemetry::new(vec![Arc::new(recorder.clone())]);
    assert!(recorder.is_empty());
    assert_eq!(recorder.last(), None);
    let error = AuthError::new(AuthErrorKind::Expired);
    emit_sample(&telemetry, EventKind::TokenValid, &error);
    emit_sample(&telemetry, EventKind::TokenValid, &error);
    emit_sample(&telemetry, EventKind::SessionCreate, &error);
    assert_eq!(recorder.len(), 3);
    assert_eq!(recorder.count(EventKind::TokenValid), 2);
    assert_eq!(recorder.count(EventKind::SessionCreate), 1);
    assert_eq!(recorder.count(EventKind::TokenInvalid), 0);
    assert_eq!(
        recorder.last().map(|e| e.kind),
        Some(EventKind::SessionCreate)
    );
    let taken = recorder.take();
    assert_eq!(taken.len(), 3);
    assert!(recorder.is_empty());
    emit_sample(&telemetry, EventKind::SessionDelete, &error);
    assert_eq!(recorder.kinds(), [EventKind::SessionDelete]);
    recorder.clear();
    assert!(recorder.kinds().is_empty());
}

#[test]
fn a_verification_reads_the_clock_only_for_a_handler_wanting_token_events() {
    let tokens = [EventKind::TokenValid, EventKind::TokenInvalid];
    let sessions_only = Telemetry::new(vec![Arc::new(RecordingHandler::only([
        EventKind::SessionCreate,
    ]))]);
    assert!(!sessions_only.stopwatch_for(&tokens).is_running());
    assert!(sessions_only.stopwatch().is_running());
    let invalid_only = Telemetry::new(vec![Arc::new(RecordingHandler::only([
        EventKind::TokenInvalid,
    ]))]);
    assert!(invalid_only.stopwatch_for(&tokens).is_running());
    assert!(!Telemetry::default().stopwatch_for(&tokens).is_running());
    assert!(!Telemetry::default().stopwatch().is_running());
}
