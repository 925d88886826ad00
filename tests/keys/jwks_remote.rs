//! Remote JWKS against real HTTP and HTTPS servers on loopback: first fetch, rotation and
//! its rate limit, endpoint failures and the maximum staleness, hostile documents, size
//! limits, OIDC discovery, a custom CA. No timing assertions: waits are bounded retries.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use charon_auth::jwks::{JwksErrorKind, JwksState, RemoteJwks};
use charon_auth::telemetry::{Event, JwksOutcome, JwksTrigger, Telemetry, TelemetryHandler};
use charon_auth::token::{
    Claims, GeneratedKey, JwkErrorKind, JwtCodec, Key, Keyset, MAX_JWKS_KEYS, TokenType,
};
use charon_auth::{ConfigError, ConfigErrorKind};
use serde_json::{Value, json};

use crate::jwks_server;
use jwks_server::{Reply, TestServer, eventually, jwks_of};

const ISS: &str = "https://auth.test";
const NOW: i64 = 1_700_000_000;

// ------------------------------------------------------------------------------------------
// Keys, tokens, telemetry
// ------------------------------------------------------------------------------------------

fn generate() -> GeneratedKey {
    Key::generate_ed25519().unwrap()
}

fn token(signer: &GeneratedKey) -> String {
    let claims = Claims::new(TokenType::Access, ISS, "user-1", "sid-1", "full", "jti-1")
        .with_validity(NOW, NOW + 900);
    JwtCodec::new(signer.keyset().unwrap(), ISS)
        .unwrap()
        .sign(&claims)
        .unwrap()
}

fn verifies(keys: &Keyset, token: &str) -> bool {
    JwtCodec::new(keys.clone(), ISS)
        .unwrap()
        .verify(token, NOW, TokenType::Access)
        .is_ok()
}

type Seen = (JwksTrigger, JwksOutcome, usize, Option<&'static str>);

#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<Seen>>>);

impl TelemetryHandler for Events {
    fn handle(&self, event: &Event<'_>) {
        if let Some(m) = event.jwks_meta() {
            assert!(m.source.starts_with("http"), "{}", m.source);
            self.0
                .lock()
                .unwrap()
                .push((m.trigger, m.outcome, m.key_count, m.error_kind));
        }
    }
}

impl Events {
    fn telemetry(&self) -> Telemetry {
        Telemetry::new(vec![Arc::new(self.clone())])
    }

    fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }

    fn count(&self, outcome: JwksOutcome) -> usize {
        self.all().iter().filter(|e| e.1 == outcome).count()
    }
}

const HOUR: Duration = Duration::from_secs(3600);

// ------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn first_fetch_gives_verify_only_keys_and_a_status() {
    let server = TestServer::start().await;
    let a = generate();
    server.set("/jwks.json", jwks_of(&[&a]));
    let events = Events::default();
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .telemetry(events.telemetry())
        .start()
        .unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    let keys = jwks.current().unwrap();
    assert!(!keys.can_sign());
    assert!(keys.get(a.kid()).is_some());
    assert!(verifies(&keys, &token(&a)));
    assert!(!verifies(&keys, &token(&generate())));

    let status = jwks.status();
    assert_eq!(status.state, JwksState::Fresh);
    assert_eq!(status.key_count, 1);
    assert_eq!(status.source, server.url("/jwks.json"));
    assert!(status.last_success.is_some() && status.last_error.is_none());
    assert!(status.expires_at > status.last_success);
    assert_eq!(
        events.all(),
        [(JwksTrigger::Initial, JwksOutcome::Updated, 1, None)]
    );
    assert!(format!("{jwks:?}").contains("Fresh"));
}

#[tokio::test]
async fn a_new_kid_is_picked_up_on_first_sight_within_the_rate_limit() {
    let server = TestServer::start().await;
    let (a, b, c) = (generate(), generate(), generate());
    server.set("/jwks.json", jwks_of(&[&a]));
    let events = Events::default();
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .refresh_interval(HOUR)
        .max_staleness(2 * HOUR)
        .unknown_kid_cooldown(HOUR)
        .telemetry(events.telemetry())
        .start()
        .unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    assert_eq!(server.hits("/jwks.json"), 1);
    let first = jwks.current().unwrap();

    // Rotation: the auth service publishes B next to A and signs with B.
    server.set("/jwks.json", jwks_of(&[&a, &b]));
    assert!(first.get(b.kid()).is_none());
    let keys = jwks.refresh_for_unknown_kid(b.kid()).await.unwrap();
    assert_eq!(server.hits("/jwks.json"), 2);
    assert!(verifies(&keys, &token(&b)));
    // Old tokens keep verifying while their key is published.
    assert!(verifies(&keys, &token(&a)));
    assert!(Arc::ptr_eq(&keys, &jwks.current().unwrap()));

    // A known kid needs no fetch.
    assert!(jwks.refresh_for_unknown_kid(a.kid()).await.is_some());
    // Within the cooldown, another unknown kid does not fetch.
    server.set("/jwks.json", jwks_of(&[&a, &b, &c]));
    assert!(jwks.refresh_for_unknown_kid(c.kid()).await.is_none());
    for _ in 0..20 {
        assert!(jwks.refresh_for_unknown_kid("made-up").await.is_none());
    }
    // Kids that cannot exist never fetch either.
    assert!(jwks.refresh_for_unknown_kid("").await.is_none());
    assert!(
        jwks.refresh_for_unknown_kid(&"k".repeat(500))
            .await
            .is_none()
    );
    assert_eq!(server.hits("/jwks.json"), 2);
    assert!(jwks.current().unwrap().get(c.kid()).is_none());
    assert_eq!(
        events.all(),
        [
            (JwksTrigger::Initial, JwksOutcome::Updated, 1, None),
            (JwksTrigger::UnknownKid, JwksOutcome::Updated, 2, None),
        ]
    );

    // A manual refresh is not rate-limited.
    let keys = jwks.refresh().await.unwrap();
    assert!(keys.get(c.kid()).is_some());
    // The same document again: unchanged, and the same `Arc`.
    let again = jwks.refresh().await.unwrap();
    assert!(Arc::ptr_eq(&keys, &again));
    assert_eq!(
        events.all().last(),
        Some(&(JwksTrigger::Manual, JwksOutcome::Unchanged, 3, None))
    );
}

#[tokio::test]
async fn the_rate_limit_lets_a_fetch_through_after_the_cooldown() {
    let server = TestServer::start().await;
    let (a, b) = (generate(), generate());
    server.set("/jwks.json", jwks_of(&[&a]));
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .refresh_interval(HOUR)
        .max_staleness(2 * HOUR)
        .unknown_kid_cooldown(Duration::from_millis(200))
        .start()
        .unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    assert!(jwks.refresh_for_unknown_kid("not-there").await.is_some());
    assert_eq!(server.hits("/jwks.json"), 2);
    server.set("/jwks.json", jwks_of(&[&a, &b]));
    // Calls inside the cooldown return None without fetching; one after it fetches B.
    let mut found = None;
    for _ in 0..750 {
        if let Some(keys) = jwks.refresh_for_unknown_kid(b.kid()).await {
            found = Some(keys);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(found.unwrap().get(b.kid()).is_some());
    assert_eq!(server.hits("/jwks.json"), 3);
}

#[tokio::test]
async fn concurrent_unknown_kids_share_one_fetch() {
    let server = TestServer::start().await;
    let (a, b) = (generate(), generate());
    server.set("/jwks.json", jwks_of(&[&a]));
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .refresh_interval(HOUR)
        .max_staleness(2 * HOUR)
        .unknown_kid_cooldown(HOUR)
        .start()
        .unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    server.set("/jwks.json", jwks_of(&[&a, &b]));
    let kid = b.kid().to_owned();
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let jwks = jwks.clone();
            let kid = kid.clone();
            tokio::spawn(async move { jwks.refresh_for_unknown_kid(&kid).await })
        })
        .collect();
    for call in calls {
        let keys = call.await.unwrap().unwrap();
        assert!(keys.get(&kid).is_some());
    }
    assert_eq!(server.hits("/jwks.json"), 2);
}

#[tokio::test]
async fn a_failing_endpoint_keeps_the_last_good_keys() {
    let server = TestServer::start().await;
    let a = generate();
    server.set("/jwks.json", jwks_of(&[&a]));
    let events = Events::default();
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .refresh_interval(Duration::from_millis(50))
        .retry_interval(Duration::from_millis(20))
        .max_staleness(HOUR)
        .telemetry(events.telemetry())
        .start()
        .unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    let good = jwks.current().unwrap();

    // The endpoint answers 503: refreshes fail, retried, the keys stay.
    server.set("/jwks.json", Reply::Status(503));
    eventually("two failed refreshes", || {
        events.count(JwksOutcome::Failed) >= 2
    })
    .await;
    let status = jwks.status();
    assert_eq!(status.state, JwksState::Stale);
    let error = status.last_error.unwrap();
    assert_eq!(error.kind(), JwksErrorKind::HttpStatus);
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(status.key_count, 1);
    assert!(Arc::ptr_eq(&good, &jwks.current().unwrap()));
    assert!(verifies(&jwks.current().unwrap(), &token(&a)));
    assert!(events.all().contains(&(
        JwksTrigger::Retry,
        JwksOutcome::Failed,
        1,
        Some("http_status")
    )));

    // The server goes away entirely: connections fail, keys still there.
    server.go_down();
    let before = events.count(JwksOutcome::Failed);
    eventually("a refused connection", || {
        jwks.status()
            .last_error
            .is_some_and(|e| e.kind() == JwksErrorKind::Connect)
            && events.count(JwksOutcome::Failed) > before
    })
    .await;
    assert!(Arc::ptr_eq(&good, &jwks.current().unwrap()));
    assert_eq!(jwks.status().state, JwksState::Stale);
}

#[tokio::test]
async fn keys_are_dropped_after_the_maximum_staleness_and_come_back() {
    let server = TestServer::start().await;
    let a = generate();
    server.set("/jwks.json", jwks_of(&[&a]));
    let events = Events::default();
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .refresh_interval(Duration::from_millis(50))
        .retry_interval(Duration::from_millis(50))
        .max_staleness(Duration::from_millis(300))
        .telemetry(events.telemetry())
        .start()
        .unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    server.set("/jwks.json", Reply::Status(500));
    eventually("keys dropped", || jwks.current().is_none()).await;
    let status = jwks.status();
    assert_eq!(status.state, JwksState::Unavailable);
    assert_eq!(status.key_count, 0);
    assert!(status.expires_at.is_none());
    assert!(!status.state.has_keys());
    assert!(
        events
            .all()
            .contains(&(JwksTrigger::Expiry, JwksOutcome::Expired, 0, None))
    );
    // The endpoint recovers: keys again.
    server.set("/jwks.json", jwks_of(&[&a]));
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    assert_eq!(jwks.status().state, JwksState::Fresh);
}

#[tokio::test]
async fn a_service_starts_while_its_key_endpoint_is_down() {
    // A server that closes every connection.
    let crashed = TestServer::start().await;
    crashed.go_down();
    let events = Events::default();
    let down = RemoteJwks::builder(crashed.url("/jwks.json"))
        .retry_interval(Duration::from_millis(20))
        .telemetry(events.telemetry())
        .start()
        .unwrap();
    assert!(down.current().is_none());
    assert!(!down.status().state.has_keys());
    assert!(!down.wait_ready(Duration::from_millis(200)).await);
    eventually("a failed first fetch", || {
        down.status().state == JwksState::Unavailable
    })
    .await;
    assert_eq!(
        down.status().last_error.unwrap().kind(),
        JwksErrorKind::Connect
    );
    assert_eq!(
        events.all().first(),
        Some(&(
            JwksTrigger::Initial,
            JwksOutcome::Failed,
            0,
            Some("connect")
        ))
    );
    // An unknown kid does not conjure keys.
    assert!(down.refresh_for_unknown_kid("k").await.is_none());

    // Same with an endpoint that answers 503 first and then comes up.
    let server = TestServer::start().await;
    server.set("/jwks.json", Reply::Status(503));
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .retry_interval(Duration::from_millis(20))
        .start()
        .unwrap();
    eventually("a failed first fetch", || server.hits("/jwks.json") >= 1).await;
    assert!(jwks.current().is_none());
    let a = generate();
    server.set("/jwks.json", jwks_of(&[&a]));
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    assert!(verifies(&jwks.current().unwrap(), &token(&a)));
}

#[tokio::test]
async fn hostile_documents_never_replace_good_keys() {
    let server = TestServer::start().await;
    let a = generate();
    server.set("/jwks.json", jwks_of(&[&a]));
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .refresh_interval(HOUR)
        .max_staleness(2 * HOUR)
        .start()
        .unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    let good = jwks.current().unwrap();
    let a_jwk: Value =
        serde_json::from_str(&a.key().to_jwk().unwrap().with_kid(a.kid()).to_json()).unwrap();
    let with = |extra: Value| {
        let mut key = a_jwk.clone();
        for (k, v) in extra.as_object().unwrap() {
            key[k] = v.clone();
        }
        key
    };
    let many: Vec<Value> = (0..=MAX_JWKS_KEYS)
        .map(|i| with(json!({"kid": format!("k{i}")})))
        .collect();
    let cases: Vec<(&str, String, Option<JwkErrorKind>)> = vec![
        ("symmetric", json!({"keys": [{"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA", "kid": "hs"}]}).to_string(), Some(JwkErrorKind::Symmetric)),
        ("private part", json!({"keys": [with(json!({"d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}))]}).to_string(), Some(JwkErrorKind::PrivateKey)),
        ("alg mismatch", json!({"keys": [with(json!({"alg": "HS256"}))]}).to_string(), Some(JwkErrorKind::AlgorithmMismatch)),
        ("crv mismatch", json!({"keys": [with(json!({"crv": "P-256"}))]}).to_string(), Some(JwkErrorKind::AlgorithmMismatch)),
        ("repeated kid", json!({"keys": [a_jwk.clone(), with(json!({"x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}))]}).to_string(), Some(JwkErrorKind::DuplicateKid)),
        ("no usable key", json!({"keys": [with(json!({"use": "enc"}))]}).to_string(), Some(JwkErrorKind::NoKeys)),
        ("empty set", r#"{"keys":[]}"#.to_owned(), Some(JwkErrorKind::NoKeys)),
        ("too many keys", json!({ "keys": many }).to_string(), Some(JwkErrorKind::TooManyKeys)),
        ("not JSON", "<html>maintenance</html>".to_owned(), Some(JwkErrorKind::Malformed)),
        ("repeated member", r#"{"keys":[],"keys":[]}"#.to_owned(), Some(JwkErrorKind::Malformed)),
    ];
    for (name, body, expected) in cases {
        server.set("/jwks.json", Reply::Json(body));
        let error = jwks.refresh().await.unwrap_err();
        assert_eq!(
            error.kind(),
            JwksErrorKind::InvalidDocument,
            "{name}: {error}"
        );
        assert_eq!(error.jwk_error().map(|e| e.kind()), expected, "{name}");
        assert!(Arc::ptr_eq(&good, &jwks.current().unwrap()), "{name}");
        let status = jwks.status();
        assert_eq!(status.state, JwksState::Stale, "{name}");
        assert_eq!(status.key_count, 1);
        // The error never repeats private material.
        assert!(!error.to_string().contains("nWGxne"), "{name}: {error}");
    }
    // An unknown-kid refresh that gets a hostile document returns nothing.
    let hostile =
        json!({"keys": [with(json!({"d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}))]});
    server.set("/jwks.json", Reply::Json(hostile.to_string()));
    assert!(jwks.refresh_for_unknown_kid("new").await.is_none());
    assert!(Arc::ptr_eq(&good, &jwks.current().unwrap()));
    // A good document again.
    server.set("/jwks.json", jwks_of(&[&a]));
    assert!(jwks.refresh().await.is_ok());
    assert_eq!(jwks.status().state, JwksState::Fresh);
}

#[tokio::test]
async fn oversized_responses_and_http_errors_are_refused() {
    let server = TestServer::start().await;
    let a = generate();
    server.set("/jwks.json", jwks_of(&[&a]));
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .refresh_interval(HOUR)
        .max_staleness(2 * HOUR)
        .max_response_bytes(2048)
        .start()
        .unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    // A valid JWKS padded past the limit, with Content-Length and chunked.
    let mut padded: Value = match jwks_of(&[&a]) {
        Reply::Json(body) => serde_json::from_str(&body).unwrap(),
        _ => unreachable!(),
    };
    padded["padding"] = json!("x".repeat(4096));
    let padded = padded.to_string();
    for reply in [
        Reply::Json(padded.clone()),
        Reply::Chunked(padded.clone().into_bytes()),
    ] {
        server.set("/jwks.json", reply);
        let error = jwks.refresh().await.unwrap_err();
        assert_eq!(error.kind(), JwksErrorKind::TooLarge, "{error}");
    }
    // Chunked and within the limit: fine.
    server.set(
        "/jwks.json",
        match jwks_of(&[&a]) {
            Reply::Json(body) => Reply::Chunked(body.into_bytes()),
            other => other,
        },
    );
    assert!(jwks.refresh().await.is_ok());
    // Statuses, redirects included (never followed).
    for (reply, code) in [
        (Reply::Status(404), 404),
        (Reply::Status(500), 500),
        (Reply::Redirect(server.url("/elsewhere.json")), 302),
    ] {
        server.set("/jwks.json", reply);
        let error = jwks.refresh().await.unwrap_err();
        assert_eq!(error.kind(), JwksErrorKind::HttpStatus);
        assert_eq!(error.status().map(|s| s.as_u16()), Some(code));
    }
    assert_eq!(server.hits("/elsewhere.json"), 0);
    assert!(verifies(&jwks.current().unwrap(), &token(&a)));
}

#[tokio::test]
async fn discovery_finds_the_jwks_uri() {
    let server = TestServer::start().await;
    let a = generate();
    let issuer = server.url("/realms/demo");
    server.set("/realms/demo/keys", jwks_of(&[&a]));
    server.set(
        "/realms/demo/.well-known/openid-configuration",
        Reply::Json(
            json!({
                "issuer": issuer,
                "jwks_uri": server.url("/realms/demo/keys"),
                "id_token_signing_alg_values_supported": ["EdDSA"],
            })
            .to_string(),
        ),
    );
    // A trailing slash on the configured issuer is fine.
    let jwks = RemoteJwks::discover(format!("{issuer}/"))
        .refresh_interval(HOUR)
        .max_staleness(2 * HOUR)
        .start()
        .unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    assert!(verifies(&jwks.current().unwrap(), &token(&a)));
    assert_eq!(jwks.status().source, server.url("/realms/demo/keys"));
    // Discovery ran once; later refreshes go straight to the keys.
    jwks.refresh().await.unwrap();
    assert_eq!(
        server.hits("/realms/demo/.well-known/openid-configuration"),
        1
    );
    assert_eq!(server.hits("/realms/demo/keys"), 2);
}

#[tokio::test]
async fn bad_discovery_documents_are_refused() {
    let server = TestServer::start().await;
    let a = generate();
    server.set("/keys", jwks_of(&[&a]));
    let issuer = server.url("");
    let path = "/.well-known/openid-configuration";
    let cases = [
        (
            "another issuer",
            json!({"issuer": "https://evil.example", "jwks_uri": server.url("/keys")}).to_string(),
        ),
        ("no jwks_uri", json!({"issuer": issuer}).to_string()),
        (
            "jwks_uri not a string",
            json!({"issuer": issuer, "jwks_uri": 5}).to_string(),
        ),
        // Refused before any request: no traffic leaves loopback.
        (
            "plain http elsewhere",
            json!({"issuer": issuer, "jwks_uri": "http://keys.example/jwks"}).to_string(),
        ),
        (
            "credentials",
            json!({"issuer": issuer, "jwks_uri": format!("http://user:pw@{}/keys", server.addr)})
                .to_string(),
        ),
        ("not JSON", "nope".to_owned()),
    ];
    for (name, body) in cases {
        server.set(path, Reply::Json(body));
        let jwks = RemoteJwks::discover(issuer.clone())
            .refresh_interval(HOUR)
            .max_staleness(2 * HOUR)
            .retry_interval(HOUR)
            .start()
            .unwrap();
        let error = jwks.refresh().await.unwrap_err();
        assert_eq!(error.kind(), JwksErrorKind::Discovery, "{name}: {error}");
        assert!(jwks.current().is_none());
    }
    assert_eq!(server.hits("/keys"), 0);
    // Discovery that 404s.
    let jwks = RemoteJwks::discover(server.url("/nothing-here"))
        .retry_interval(HOUR)
        .start()
        .unwrap();
    assert_eq!(
        jwks.refresh().await.unwrap_err().kind(),
        JwksErrorKind::HttpStatus
    );
}

#[tokio::test]
async fn https_with_a_custom_ca() {
    let server = TestServer::start_tls().await;
    let a = generate();
    server.set("/jwks.json", jwks_of(&[&a]));
    let ca = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tls/ca.pem"
    ))
    .unwrap();
    // Trusting only the test CA.
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .add_root_certificate_pem(&ca)
        .built_in_roots(false)
        .start()
        .unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    assert!(verifies(&jwks.current().unwrap(), &token(&a)));
    // The test CA next to the built-in roots.
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .add_root_certificate_pem(&ca)
        .start()
        .unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    // Without it, the certificate is not trusted: a connect error, no keys.
    let untrusted = RemoteJwks::builder(server.url("/jwks.json"))
        .retry_interval(HOUR)
        .start()
        .unwrap();
    let error = untrusted.refresh().await.unwrap_err();
    assert_eq!(error.kind(), JwksErrorKind::Connect, "{error}");
    assert!(untrusted.current().is_none());
    // Plain HTTP against the TLS port fails too.
    let plain = RemoteJwks::builder(format!("http://127.0.0.1:{}/jwks.json", server.addr.port()))
        .retry_interval(HOUR)
        .start()
        .unwrap();
    assert!(plain.refresh().await.is_err());
}

#[tokio::test]
async fn dropping_the_last_handle_stops_the_refresh() {
    let server = TestServer::start().await;
    let a = generate();
    server.set("/jwks.json", jwks_of(&[&a]));
    let events = Events::default();
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .refresh_interval(Duration::from_millis(20))
        .max_staleness(HOUR)
        .telemetry(events.telemetry())
        .start()
        .unwrap();
    let clone = jwks.clone();
    eventually("a few refreshes", || server.hits("/jwks.json") >= 3).await;
    drop(jwks);
    // A clone keeps it running.
    let hits = server.hits("/jwks.json");
    eventually("more refreshes", || server.hits("/jwks.json") > hits).await;
    drop(clone);
    // The background task let go of everything: the telemetry handler is freed.
    eventually("the task ended", || Arc::strong_count(&events.0) == 1).await;
}

// ------------------------------------------------------------------------------------------
// Configuration
// ------------------------------------------------------------------------------------------

fn config_kind(r: Result<RemoteJwks, ConfigError>) -> ConfigErrorKind {
    r.unwrap_err().kind()
}

#[tokio::test]
async fn configuration_errors() {
    use ConfigErrorKind as K;
    let url = "https://auth.example/.well-known/jwks.json";
    let cases: Vec<(&str, Result<RemoteJwks, ConfigError>, ConfigErrorKind)> = vec![
        (
            "plain http to another host",
            RemoteJwks::builder("http://auth.example/jwks").start(),
            K::Invalid,
        ),
        (
            "issuer over plain http",
            RemoteJwks::discover("http://auth.example").start(),
            K::Invalid,
        ),
        (
            "relative URL",
            RemoteJwks::builder("/jwks.json").start(),
            K::Invalid,
        ),
        (
            "not a URL",
            RemoteJwks::builder("not a url").start(),
            K::Invalid,
        ),
        (
            "ftp",
            RemoteJwks::builder("ftp://auth.example/jwks").start(),
            K::Invalid,
        ),
        (
            "credentials",
            RemoteJwks::builder("https://u:p@auth.example/jwks").start(),
            K::Invalid,
        ),
        (
            "zero interval",
            RemoteJwks::builder(url)
                .refresh_interval(Duration::ZERO)
                .start(),
            K::InvalidTtl,
        ),
        (
            "zero timeout",
            RemoteJwks::builder(url).timeout(Duration::ZERO).start(),
            K::InvalidTtl,
        ),
        (
            "zero cooldown",
            RemoteJwks::builder(url)
                .unknown_kid_cooldown(Duration::ZERO)
                .start(),
            K::InvalidTtl,
        ),
        (
            "staleness below interval",
            RemoteJwks::builder(url)
                .refresh_interval(HOUR)
                .max_staleness(HOUR)
                .start(),
            K::InvalidTtl,
        ),
        (
            "zero size limit",
            RemoteJwks::builder(url).max_response_bytes(0).start(),
            K::Invalid,
        ),
        (
            "no roots",
            RemoteJwks::builder(url).built_in_roots(false).start(),
            K::Missing,
        ),
        (
            "bad PEM",
            RemoteJwks::builder(url)
                .add_root_certificate_pem("not a pem")
                .start(),
            K::Invalid,
        ),
    ];
    for (name, result, expected) in cases {
        assert_eq!(config_kind(result), expected, "{name}");
    }
    // (Plain HTTP to another host with `insecure_http(true)` is checked by the unit tests
    // of the URL rules: starting it here would send a request off loopback.)
}

#[test]
fn start_outside_a_runtime_is_a_config_error() {
    let result = RemoteJwks::builder("https://auth.example/jwks").start();
    assert_eq!(config_kind(result), ConfigErrorKind::Invalid);
}

#[tokio::test]
async fn every_fetch_is_a_span_with_its_duration() {
    use charon_auth::telemetry::{EventKind, event_channel};

    let server = TestServer::start().await;
    let a = generate();
    server.set("/jwks.json", jwks_of(&[&a]));
    let telemetry = Telemetry::none();
    let (sender, mut stream) = event_channel(64).unwrap();
    telemetry
        .attach_many(
            "jwks",
            [
                EventKind::JwksRefreshStart,
                EventKind::JwksRefreshStop,
                EventKind::JwksRefreshException,
                EventKind::JwksRefresh,
            ],
            sender,
        )
        .unwrap();
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .refresh_interval(HOUR)
        .max_staleness(2 * HOUR)
        .telemetry(telemetry)
        .start()
        .unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    // The initial fetch: start, stop (updated, one key), then charon.jwks.refresh with the
    // same duration.
    let mut events = Vec::new();
    while events.len() < 3 {
        events.push(stream.recv().await.unwrap());
    }
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::JwksRefreshStart,
            EventKind::JwksRefreshStop,
            EventKind::JwksRefresh
        ]
    );
    let (start, stop, refresh) = (&events[0], &events[1], &events[2]);
    assert_eq!(start.trigger, Some(JwksTrigger::Initial));
    assert_eq!(
        start.source.as_deref(),
        Some(server.url("/jwks.json").as_str())
    );
    assert_eq!(start.measurements.duration, Duration::ZERO);
    assert_eq!((stop.outcome, stop.key_count), (Some("updated"), Some(1)));
    assert!(stop.measurements.duration > Duration::ZERO);
    assert_eq!(refresh.measurements.duration, stop.measurements.duration);
    assert!(start.measurements.system_time <= stop.measurements.system_time);

    // A failed fetch: exception with the error kind, the keys kept.
    server.set("/jwks.json", Reply::Status(503));
    assert!(jwks.refresh().await.is_err());
    let mut events = Vec::new();
    while let Some(e) = stream.try_recv() {
        events.push(e);
    }
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::JwksRefreshStart,
            EventKind::JwksRefreshException,
            EventKind::JwksRefresh
        ]
    );
    let exception = &events[1];
    assert_eq!(exception.trigger, Some(JwksTrigger::Manual));
    assert_eq!(exception.outcome, Some("failed"));
    assert_eq!(exception.key_count, Some(1));
    assert_eq!(exception.error_kind, Some("http_status"));
    assert!(exception.error.is_some());
    assert!(exception.measurements.duration > Duration::ZERO);
    assert_eq!(
        events[2].measurements.duration,
        exception.measurements.duration
    );
    assert_eq!(stream.dropped(), 0);
}

/// The health check of remote keys (issue 16): ok while fresh, degraded (with the refresh
/// error's kind) while stale, failed with `no_keys` once they are dropped, ok again after.
#[tokio::test]
async fn the_remote_keys_check_follows_the_key_state() {
    use charon_auth::health::{Check, CheckErrorKind, HealthStatus};
    use charon_auth::verifier::{TrustedIssuer, Verifier};

    let server = TestServer::start().await;
    let a = generate();
    server.set("/jwks.json", Reply::Status(503));
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .refresh_interval(Duration::from_millis(50))
        .retry_interval(Duration::from_millis(50))
        .max_staleness(Duration::from_millis(600))
        .start()
        .unwrap();
    // A verifier fed by it reports the same check, named `keys`; a static issuer beside it
    // is always ok.
    let static_keys = Keyset::new("s", Key::hs256(&[9; 32]).unwrap()).unwrap();
    let verifier = Verifier::builder()
        .trust(TrustedIssuer::charon(ISS, jwks.clone()))
        .trust(TrustedIssuer::external("https://idp.test", static_keys))
        .build()
        .unwrap();
    let verifier_keys = || {
        let report = verifier.health();
        assert_eq!(
            report.check("keys:https://idp.test").unwrap().status(),
            HealthStatus::Ok
        );
        let keys = report.check("keys").unwrap();
        (keys.status(), keys.error_kind(), report.is_ready())
    };
    // Never fetched: no keys, failed.
    eventually("a failed first fetch", || server.hits("/jwks.json") >= 1).await;
    let check = Check::remote_keys("keys", &jwks);
    assert_eq!(check.status(), HealthStatus::Failed);
    assert_eq!(check.error_kind(), Some(CheckErrorKind::NoKeys));
    assert_eq!(
        verifier_keys(),
        (HealthStatus::Failed, Some(CheckErrorKind::NoKeys), false)
    );

    server.set("/jwks.json", jwks_of(&[&a]));
    assert!(jwks.wait_ready(Duration::from_secs(15)).await);
    eventually("fresh keys", || jwks.status().state == JwksState::Fresh).await;
    let check = Check::remote_keys("keys", &jwks);
    assert_eq!(check.status(), HealthStatus::Ok, "{check:?}");
    assert_eq!(check.error_kind(), None);
    assert_eq!(verifier_keys(), (HealthStatus::Ok, None, true));

    server.set("/jwks.json", Reply::Status(500));
    eventually("stale keys", || jwks.status().state == JwksState::Stale).await;
    let check = Check::remote_keys("keys", &jwks);
    assert_eq!(check.status(), HealthStatus::Degraded, "{check:?}");
    assert_eq!(
        check.error_kind(),
        Some(CheckErrorKind::Jwks(JwksErrorKind::HttpStatus))
    );
    assert!(check.error().is_some());
    assert_eq!(
        verifier_keys(),
        (
            HealthStatus::Degraded,
            Some(CheckErrorKind::Jwks(JwksErrorKind::HttpStatus)),
            true
        )
    );

    eventually("keys dropped", || jwks.current().is_none()).await;
    let check = Check::remote_keys("keys", &jwks);
    assert_eq!(check.status(), HealthStatus::Failed, "{check:?}");
    assert_eq!(check.error_kind(), Some(CheckErrorKind::NoKeys));
}
