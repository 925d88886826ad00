//! Telemetry through a real `Charon` (memory store and a real `redis-server`): every
//! event's measurements, the store and key-set span events, run-time attach/detach, the
//! bounded event stream, the privacy filter and the `metrics` histograms as
//! `metrics-exporter-prometheus` renders them.
//!
//! No timing is asserted: only that durations exist where work was done (non-zero, and no
//! longer than the call that did it), are zero for `*.start` events, and that a session
//! event and its store span carry the same measured round trip.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use charon_auth::store::redis::RedisStore;
use charon_auth::telemetry::{
    Event, EventKind, EventStream, FieldPolicy, IdHashKey, MetadataFilter, MetricsHandler,
    OwnedEvent, StoreOperation, Telemetry, TelemetryErrorKind, event_channel,
};
use charon_auth::test_util::{RecordingHandler, TestSession};
use charon_auth::{Charon, CreateSession, RefreshSession, Transport};
use http::{HeaderMap, Method, Request};
use support::redis::RedisServer;

const SECRET: &str = "telemetry tests secret, at least thirty-two bytes";

fn charon() -> Charon {
    Charon::builder()
        .issuer("telemetry-tests")
        .base_secret(SECRET)
        .build()
        .unwrap()
}

fn headers(request: http::request::Builder) -> HeaderMap {
    request.body(()).unwrap().headers().clone()
}

fn drain(stream: &mut EventStream) -> Vec<OwnedEvent> {
    let mut events = Vec::new();
    while let Some(event) = stream.try_recv() {
        events.push(event);
    }
    events
}

fn of_kind(events: &[OwnedEvent], kind: EventKind) -> Vec<&OwnedEvent> {
    events.iter().filter(|e| e.kind == kind).collect()
}

/// Run `work`, returning its output, the events it produced (drained from `stream`) and
/// the wall-clock window and monotonic duration around it.
async fn observe<T>(
    stream: &mut EventStream,
    work: impl Future<Output = T>,
) -> (T, Vec<OwnedEvent>, Window) {
    let before = SystemTime::now();
    let started = Instant::now();
    let out = work.await;
    let window = Window {
        before,
        after: SystemTime::now(),
        elapsed: started.elapsed(),
    };
    (out, drain(stream), window)
}

struct Window {
    before: SystemTime,
    after: SystemTime,
    elapsed: Duration,
}

impl Window {
    /// The event happened inside the window and measured work no longer than it.
    fn check(&self, event: &OwnedEvent) {
        let m = event.measurements;
        assert!(
            m.system_time >= self.before && m.system_time <= self.after,
            "{}: system_time outside the call",
            event.name()
        );
        assert!(m.duration <= self.elapsed, "{}: duration", event.name());
        if event.kind.is_start() {
            assert_eq!(m.duration, Duration::ZERO, "{}", event.name());
        } else {
            assert!(m.duration > Duration::ZERO, "{}: no duration", event.name());
        }
    }
}

/// The store span of one operation: start, then exactly one stop (or exception).
fn store_span(events: &[OwnedEvent], op: StoreOperation) -> (&OwnedEvent, &OwnedEvent) {
    let mine: Vec<&OwnedEvent> = events.iter().filter(|e| e.operation == Some(op)).collect();
    assert_eq!(mine.len(), 2, "{op:?}: {mine:?}");
    assert_eq!(mine[0].kind, EventKind::StoreStart);
    assert!(matches!(
        mine[1].kind,
        EventKind::StoreStop | EventKind::StoreException
    ));
    (mine[0], mine[1])
}

#[tokio::test]
async fn every_event_carries_its_measurements() {
    let charon = charon();
    let mut stream = charon
        .telemetry()
        .subscribe("all", EventKind::ALL, 256)
        .unwrap();

    // Login: store create span, then charon.session.create with the same round trip.
    let (session, events, window) = observe(
        &mut stream,
        TestSession::create(&charon, "user-1", Transport::Bearer),
    )
    .await;
    let session = session.unwrap();
    let (start, stop) = store_span(&events, StoreOperation::Create);
    assert_eq!(stop.kind, EventKind::StoreStop);
    assert_eq!(stop.outcome, Some("ok"));
    assert_eq!(stop.session_type.as_deref(), Some("full"));
    let create = of_kind(&events, EventKind::SessionCreate);
    assert_eq!(create.len(), 1);
    assert_eq!(create[0].measurements.duration, stop.measurements.duration);
    assert_eq!(create[0].user_id.as_deref(), Some("user-1"));
    for event in [start, stop, create[0]] {
        window.check(event);
    }
    assert!(start.measurements.system_time <= stop.measurements.system_time);

    // Access token: charon.token.valid measured; no store operation.
    let access = headers(session.access_request(Request::get("/me")));
    let verifier = charon.verifier().clone();
    let (auth, events, window) = observe(&mut stream, async {
        verifier.authenticate(&Method::GET, &access)
    })
    .await;
    assert!(auth.is_ok());
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, EventKind::TokenValid);
    assert_eq!(events[0].token_type.as_deref(), Some("access"));
    window.check(&events[0]);

    // A forged token: charon.token.invalid measured too.
    let mut forged = access.clone();
    forged.insert(
        http::header::AUTHORIZATION,
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA"
            .parse()
            .unwrap(),
    );
    let (auth, events, window) = observe(&mut stream, async {
        verifier.authenticate(&Method::GET, &forged)
    })
    .await;
    assert!(auth.is_err());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::TokenInvalid);
    assert!(events[0].error_kind.is_some());
    window.check(&events[0]);

    // Refresh: the store read, then the refresh token's event; then the update.
    let refresh = headers(session.refresh_request(Request::post("/refresh")));
    let (auth, events, window) = observe(
        &mut stream,
        charon.authenticate_refresh(&Method::POST, &refresh),
    )
    .await;
    let auth = auth.unwrap();
    let (start, stop) = store_span(&events, StoreOperation::Get);
    let valid = of_kind(&events, EventKind::TokenValid);
    assert_eq!(valid.len(), 1);
    assert_eq!(valid[0].session_loaded, Some(true));
    assert_eq!(valid[0].token_type.as_deref(), Some("refresh"));
    for event in [start, stop, valid[0]] {
        window.check(event);
    }

    let (tokens, events, window) = observe(
        &mut stream,
        charon.refresh_session(&auth, RefreshSession::default()),
    )
    .await;
    assert!(tokens.is_ok());
    let (start, stop) = store_span(&events, StoreOperation::Update);
    let refreshed = of_kind(&events, EventKind::SessionRefresh);
    assert_eq!(refreshed.len(), 1);
    assert_eq!(
        refreshed[0].measurements.duration,
        stop.measurements.duration
    );
    for event in [start, stop, refreshed[0]] {
        window.check(event);
    }

    // The same read refreshed again: the update loses the lock race.
    let (tokens, events, window) = observe(
        &mut stream,
        charon.refresh_session(&auth, RefreshSession::default()),
    )
    .await;
    assert!(tokens.is_err());
    let (_, stop) = store_span(&events, StoreOperation::Update);
    assert_eq!(stop.kind, EventKind::StoreStop);
    assert_eq!(stop.outcome, Some("conflict"));
    let conflict = of_kind(&events, EventKind::SessionLockConflict);
    assert_eq!(conflict.len(), 1);
    assert_eq!(
        conflict[0].measurements.duration,
        stop.measurements.duration
    );
    window.check(conflict[0]);

    // Logout, then log out everywhere.
    let access = headers(session.access_request(Request::get("/")));
    let auth = verifier.authenticate(&Method::GET, &access).unwrap();
    drain(&mut stream);
    let (deleted, events, window) = observe(&mut stream, charon.delete_session(&auth)).await;
    assert!(deleted.is_ok());
    let (_, stop) = store_span(&events, StoreOperation::Delete);
    let delete = of_kind(&events, EventKind::SessionDelete);
    assert_eq!(delete.len(), 1);
    assert_eq!(delete[0].measurements.duration, stop.measurements.duration);
    window.check(delete[0]);

    let full = charon_auth::SessionType::default();
    let (deleted, events, window) =
        observe(&mut stream, charon.delete_all_sessions("user-1", &full)).await;
    assert!(deleted.is_ok());
    let (_, stop) = store_span(&events, StoreOperation::DeleteAll);
    let all = of_kind(&events, EventKind::SessionDeleteAll);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].session_id, None);
    assert_eq!(all[0].measurements.duration, stop.measurements.duration);
    window.check(all[0]);

    // Listing reads: a get_all span, no session event.
    let (listed, events, window) =
        observe(&mut stream, charon.list_sessions("user-1", &full)).await;
    assert!(listed.is_ok());
    let (start, stop) = store_span(&events, StoreOperation::GetAll);
    assert_eq!(events.len(), 2);
    window.check(start);
    window.check(stop);
    assert_eq!(stream.dropped(), 0);
}

#[tokio::test]
async fn an_evicting_login_measures_each_delete_with_the_create_round_trip() {
    let charon = Charon::builder()
        .issuer("telemetry-tests")
        .base_secret(SECRET)
        .max_sessions_per_user(1)
        .build()
        .unwrap();
    TestSession::create(&charon, "user-1", Transport::Bearer)
        .await
        .unwrap();
    let mut stream = charon
        .telemetry()
        .subscribe("sessions", EventKind::ALL, 64)
        .unwrap();
    let (second, events, window) = observe(
        &mut stream,
        TestSession::create(&charon, "user-1", Transport::Bearer),
    )
    .await;
    assert!(second.is_ok());
    let (_, stop) = store_span(&events, StoreOperation::Create);
    let kinds: Vec<EventKind> = events
        .iter()
        .map(|e| e.kind)
        .filter(|k| k.is_session())
        .collect();
    assert_eq!(kinds, [EventKind::SessionDelete, EventKind::SessionCreate]);
    for event in events.iter().filter(|e| e.kind.is_session()) {
        assert_eq!(event.measurements.duration, stop.measurements.duration);
        window.check(event);
    }
}

#[tokio::test]
async fn store_failures_are_exceptions_with_their_error_kind() {
    let mut server = RedisServer::spawn();
    let store = RedisStore::builder(SECRET)
        .connect_timeout(Duration::from_millis(200))
        .response_timeout(Duration::from_millis(200))
        .connect(&server.url())
        .await
        .unwrap();
    let charon = Charon::builder()
        .issuer("telemetry-tests")
        .base_secret(SECRET)
        .store(store)
        .build()
        .unwrap();
    let session = TestSession::create(&charon, "user-1", Transport::Bearer)
        .await
        .unwrap();
    let mut stream = charon
        .telemetry()
        .subscribe("store", EventKind::ALL, 64)
        .unwrap();

    server.stop();
    let refresh = headers(session.refresh_request(Request::post("/refresh")));
    let (auth, events, window) = observe(
        &mut stream,
        charon.authenticate_refresh(&Method::POST, &refresh),
    )
    .await;
    assert!(auth.is_err());
    let (start, exception) = store_span(&events, StoreOperation::Get);
    assert_eq!(exception.kind, EventKind::StoreException);
    assert_eq!(exception.outcome, None);
    let kind = exception.error_kind.unwrap();
    assert!(
        ["backend", "timeout", "unavailable"].contains(&kind),
        "{kind}"
    );
    assert!(exception.error.is_some());
    window.check(start);
    window.check(exception);
    // The refresh token's event says the store failed; no session event.
    let invalid = of_kind(&events, EventKind::TokenInvalid);
    assert_eq!(invalid.len(), 1);
    assert!(events.iter().all(|e| !e.kind.is_session()));
}

#[tokio::test]
async fn handlers_attach_and_detach_at_run_time_by_id() {
    let built_in = RecordingHandler::new();
    let charon = Charon::builder()
        .issuer("telemetry-tests")
        .base_secret(SECRET)
        .on_event(built_in.clone())
        .build()
        .unwrap();
    let telemetry = charon.telemetry();
    let creates = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&creates);
    telemetry
        .attach_many(
            "creates",
            [EventKind::SessionCreate, EventKind::TokenValid],
            move |event: &Event<'_>| {
                if event.kind() == EventKind::SessionCreate {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            },
        )
        .unwrap();

    // Twice: a typed error, and the first handler stays.
    let twice = telemetry.attach("creates", EventKind::SessionDelete, |_: &Event<'_>| {});
    let err = twice.unwrap_err();
    assert_eq!(err.kind(), TelemetryErrorKind::AlreadyAttached);
    assert_eq!(err.id(), Some("creates"));
    assert!(err.to_string().contains("creates"));
    assert_eq!(telemetry.attached(), ["creates"]);
    // No kinds: refused.
    let none = telemetry.attach_many("nothing", [], |_: &Event<'_>| {});
    assert_eq!(
        none.map_err(|e| e.kind()),
        Err(TelemetryErrorKind::NoEventKinds)
    );

    // The verifier shares the handle: its token events reach the attached handler too.
    let tokens = charon
        .verifier()
        .telemetry()
        .subscribe("tokens", [EventKind::TokenValid], 8);
    let mut tokens = tokens.unwrap();
    assert_eq!(telemetry.attached(), ["creates", "tokens"]);

    let session = TestSession::create(&charon, "user-1", Transport::Bearer)
        .await
        .unwrap();
    let access = headers(session.access_request(Request::get("/me")));
    charon
        .verifier()
        .authenticate(&Method::GET, &access)
        .unwrap();
    assert_eq!(creates.load(Ordering::SeqCst), 1);
    assert_eq!(
        drain(&mut tokens)
            .iter()
            .map(|e| e.kind)
            .collect::<Vec<_>>(),
        [EventKind::TokenValid]
    );

    // Detached: no more events; detaching again or an unknown id is a typed error.
    telemetry.detach("creates").unwrap();
    assert_eq!(
        telemetry.detach("creates").map_err(|e| e.kind()),
        Err(TelemetryErrorKind::NotAttached)
    );
    assert_eq!(
        telemetry.detach("never-attached").map_err(|e| e.kind()),
        Err(TelemetryErrorKind::NotAttached)
    );
    TestSession::create(&charon, "user-2", Transport::Bearer)
        .await
        .unwrap();
    assert_eq!(creates.load(Ordering::SeqCst), 1);
    assert_eq!(telemetry.attached(), ["tokens"]);
    // The id is free again.
    telemetry
        .attach("creates", EventKind::SessionCreate, |_: &Event<'_>| {})
        .unwrap();

    // The build-time handler saw everything all along, and cannot be detached.
    assert_eq!(
        built_in.kinds(),
        [
            EventKind::SessionCreate,
            EventKind::TokenValid,
            EventKind::SessionCreate
        ]
    );
    assert!(telemetry.detach("").is_err());
}

#[tokio::test]
async fn the_stream_drops_and_counts_under_pressure_without_blocking_requests() {
    let charon = charon();
    let mut stream = charon
        .telemetry()
        .subscribe("audit", [EventKind::SessionCreate], 2)
        .unwrap();
    for i in 0..5 {
        // Every login succeeds although the stream is full from the third on.
        TestSession::create(&charon, &format!("user-{i}"), Transport::Bearer)
            .await
            .unwrap();
    }
    assert_eq!(stream.len(), 2);
    assert_eq!(stream.dropped(), 3);
    let first = stream.recv().await.unwrap();
    assert_eq!(first.user_id.as_deref(), Some("user-0"));
    // `Stream`: the second one, then nothing waiting.
    let second = futures_util::StreamExt::next(&mut stream).await.unwrap();
    assert_eq!(second.user_id.as_deref(), Some("user-1"));
    assert!(stream.is_empty());

    // Room again: the next event arrives, the drop count stays.
    TestSession::create(&charon, "user-5", Transport::Bearer)
        .await
        .unwrap();
    assert_eq!(
        stream.try_recv().and_then(|e| e.user_id).as_deref(),
        Some("user-5")
    );
    assert_eq!(stream.dropped(), 3);

    // A capacity of zero is refused.
    assert_eq!(
        charon
            .telemetry()
            .subscribe("zero", [EventKind::SessionCreate], 0)
            .map(|_| ())
            .map_err(|e| e.kind()),
        Err(TelemetryErrorKind::ZeroCapacity)
    );

    // A dropped stream wants no more events: nothing is built for it.
    charon.telemetry().detach("audit").unwrap();
    let alone = Telemetry::none();
    let stream = alone
        .subscribe("audit", [EventKind::SessionCreate], 1)
        .unwrap();
    assert!(alone.enabled(EventKind::SessionCreate));
    drop(stream);
    assert!(!alone.enabled(EventKind::SessionCreate));
}

#[tokio::test]
async fn the_metadata_filter_drops_or_hashes_ids_per_handler() {
    let charon = charon();
    let key = IdHashKey::new(&[42; 32]).unwrap();
    let kinds = [EventKind::SessionCreate, EventKind::TokenValid];
    let subscribe = |id: &str, filter: Option<MetadataFilter>| {
        let (sender, stream) = event_channel(16).unwrap();
        match filter {
            Some(filter) => charon
                .telemetry()
                .attach_many(id, kinds, filter.wrap(sender)),
            None => charon.telemetry().attach_many(id, kinds, sender),
        }
        .unwrap();
        stream
    };
    let mut raw = subscribe("raw", None);
    let mut dropped = subscribe(
        "dropped",
        Some(
            MetadataFilter::new()
                .user_id(FieldPolicy::Drop)
                .session_id(FieldPolicy::Drop),
        ),
    );
    let mut hashed = subscribe(
        "hashed",
        Some(
            MetadataFilter::new()
                .user_id(FieldPolicy::Hash(key.clone()))
                .session_id(FieldPolicy::Hash(key.clone())),
        ),
    );
    let mut users_only = subscribe(
        "users-only",
        Some(MetadataFilter::new().session_id(FieldPolicy::Drop)),
    );

    let session = TestSession::create(&charon, "alice", Transport::Bearer)
        .await
        .unwrap();
    let sid = session.tokens().session().id.clone();
    let access = headers(session.access_request(Request::get("/me")));
    charon
        .verifier()
        .authenticate(&Method::GET, &access)
        .unwrap();

    let ids = |stream: &mut EventStream| {
        drain(stream)
            .into_iter()
            .map(|e| (e.kind, e.user_id, e.session_id))
            .collect::<Vec<_>>()
    };
    let both = |user: Option<String>, session: Option<String>| {
        vec![
            (EventKind::SessionCreate, user.clone(), session.clone()),
            (EventKind::TokenValid, user, session),
        ]
    };
    assert_eq!(ids(&mut raw), both(Some("alice".into()), Some(sid.clone())));
    assert_eq!(ids(&mut dropped), both(Some(String::new()), None));
    let hashed_ids = ids(&mut hashed);
    assert_eq!(
        hashed_ids,
        both(Some(key.hash("alice")), Some(key.hash(&sid)))
    );
    assert_ne!(key.hash("alice"), "alice");
    assert_eq!(ids(&mut users_only), both(Some("alice".into()), None));
}

/// Everything the Prometheus exporter renders for the series of `name`.
fn series<'a>(rendered: &'a str, name: &str) -> Vec<&'a str> {
    rendered
        .lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .collect()
}

#[test]
fn the_histograms_render_with_their_buckets_and_bounded_labels() {
    let mut builder = metrics_exporter_prometheus::PrometheusBuilder::new();
    for (name, buckets) in MetricsHandler::HISTOGRAMS {
        builder = builder
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(name.to_owned()),
                buckets,
            )
            .unwrap();
    }
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut server = RedisServer::spawn();
    let mut sids = Vec::new();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            MetricsHandler::describe();
            let charon = charon();
            let verifier = charon.verifier().clone();
            for user in ["user-a", "user-b"] {
                let session = TestSession::create(&charon, user, Transport::Bearer)
                    .await
                    .unwrap();
                sids.push(session.tokens().session().id.clone());
                let access = headers(session.access_request(Request::get("/")));
                verifier.authenticate(&Method::GET, &access).unwrap();
                let refresh = headers(session.refresh_request(Request::post("/")));
                let auth = charon
                    .authenticate_refresh(&Method::POST, &refresh)
                    .await
                    .unwrap();
                charon
                    .refresh_session(&auth, RefreshSession::default())
                    .await
                    .unwrap();
                // Lost race.
                assert!(
                    charon
                        .refresh_session(&auth, RefreshSession::default())
                        .await
                        .is_err()
                );
            }
            assert!(
                verifier
                    .authenticate(&Method::GET, &HeaderMap::new())
                    .is_err()
            );

            // A store that fails: exceptions by error kind.
            let store = RedisStore::builder(SECRET)
                .connect_timeout(Duration::from_millis(200))
                .response_timeout(Duration::from_millis(200))
                .connect(&server.url())
                .await
                .unwrap();
            let redis_charon = Charon::builder()
                .issuer("telemetry-tests")
                .base_secret(SECRET)
                .store(store)
                .build()
                .unwrap();
            server.stop();
            let failed = redis_charon
                .create_session(
                    CreateSession::new("user-c", Transport::Bearer),
                    charon_auth::RequestContext::no_request(),
                )
                .await;
            assert!(failed.is_err());
        });
    });
    let rendered = handle.render();

    // Verification: by outcome and token type, with the documented buckets.
    let verification = series(&rendered, MetricsHandler::VERIFICATION_DURATION);
    for labels in [
        r#"outcome="valid",token_type="access""#,
        r#"outcome="valid",token_type="refresh""#,
        r#"outcome="invalid",token_type="none""#,
    ] {
        let count = format!(
            "{}_count{{{labels}}} 2",
            MetricsHandler::VERIFICATION_DURATION
        );
        let count_once = format!(
            "{}_count{{{labels}}} 1",
            MetricsHandler::VERIFICATION_DURATION
        );
        assert!(
            verification.iter().any(|l| *l == count || *l == count_once),
            "{labels}: {verification:#?}"
        );
        for le in MetricsHandler::VERIFICATION_BUCKETS {
            let bucket = format!(
                "{}_bucket{{{labels},le=\"{le}\"}}",
                MetricsHandler::VERIFICATION_DURATION
            );
            assert!(
                verification.iter().any(|l| l.starts_with(&bucket)),
                "{bucket}: {verification:#?}"
            );
        }
    }

    // Store operations: by operation and outcome, failures by error kind.
    let store = series(&rendered, MetricsHandler::STORE_DURATION);
    for labels in [
        r#"operation="create",outcome="ok""#,
        r#"operation="get",outcome="ok""#,
        r#"operation="update",outcome="ok""#,
        r#"operation="update",outcome="conflict""#,
    ] {
        let count = format!("{}_count{{{labels}}} 2", MetricsHandler::STORE_DURATION);
        assert!(store.contains(&count.as_str()), "{labels}: {store:#?}");
        let top = format!(
            "{}_bucket{{{labels},le=\"{}\"}}",
            MetricsHandler::STORE_DURATION,
            MetricsHandler::STORE_BUCKETS.last().unwrap()
        );
        assert!(store.iter().any(|l| l.starts_with(&top)), "{top}");
    }
    assert!(
        store.iter().any(|l| {
            l.starts_with(&format!(
                "{}_count{{operation=\"create\",outcome=\"",
                MetricsHandler::STORE_DURATION
            )) && ["backend", "timeout", "unavailable"]
                .iter()
                .any(|kind| l.contains(&format!("outcome=\"{kind}\"")))
        }),
        "{store:#?}"
    );
    // Help texts, and the counters beside the histograms.
    assert!(rendered.contains(&format!(
        "# HELP {} Token verification time",
        MetricsHandler::VERIFICATION_DURATION
    )));
    assert!(rendered.contains("charon_session_create_total{session_type=\"full\"} 2"));
    // No id in any label.
    for id in ["user-a", "user-b", "user-c"]
        .iter()
        .copied()
        .chain(sids.iter().map(String::as_str))
    {
        assert!(!rendered.contains(id), "{id} in a label");
    }
}
