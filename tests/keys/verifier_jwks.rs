//! A verifier whose keys come from a remote JWKS (feature `jwks`), behind the access layer,
//! against a real HTTP server on loopback: a new signing kid is picked up on first sight,
//! old tokens verify while their key is published and stop once it is withdrawn, the
//! endpoint going down keeps the cached keys, and a verifier that never had keys answers
//! 503 `keys_unavailable` (not 401) until it has some. No timing assertions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::jwks_server;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use charon_auth::clock::ManualClock;
use charon_auth::jwks::RemoteJwks;
use charon_auth::telemetry::{Event, EventKind, JwksTrigger, Telemetry, TelemetryHandler};
use charon_auth::token::{Claims, GeneratedKey, JwtCodec, Key};
use charon_auth::{AccessLayer, Authenticated, TokenType, TrustedIssuer, Verifier};
use http_body_util::BodyExt;
use jwks_server::{Reply, TestServer, eventually, jwks_of};
use serde_json::Value;
use tower::ServiceExt;

const ISS: &str = "https://auth.test";
const NOW: i64 = 1_700_000_000;
const HOUR: Duration = Duration::from_secs(3600);

/// What the verifier's telemetry saw: token events (error kind, if any) and key fetches.
#[derive(Clone, Default)]
struct Seen {
    tokens: Arc<Mutex<Vec<Option<String>>>>,
    fetches: Arc<Mutex<Vec<JwksTrigger>>>,
}

impl TelemetryHandler for Seen {
    fn handle(&self, event: &Event<'_>) {
        match event.kind() {
            EventKind::TokenValid => self.tokens.lock().unwrap().push(None),
            EventKind::TokenInvalid => {
                let kind = event.token_meta().and_then(|m| m.error).map(|e| e.kind());
                self.tokens
                    .lock()
                    .unwrap()
                    .push(Some(kind.map_or("?".into(), |k| k.as_str().to_owned())));
            }
            _ => {}
        }
        if let Some(meta) = event.jwks_meta() {
            self.fetches.lock().unwrap().push(meta.trigger);
        }
    }
}

fn token(signer: &GeneratedKey, user: &str) -> String {
    let claims = Claims::new(TokenType::Access, ISS, user, "sid-1", "full", "jti-1")
        .with_validity(NOW, NOW + 900);
    JwtCodec::new(signer.keyset().unwrap(), ISS)
        .unwrap()
        .sign(&claims)
        .unwrap()
}

struct Service {
    app: Router,
    jwks: RemoteJwks,
    verifier: Verifier,
    seen: Seen,
}

/// A resource service whose only keys are those of `server`'s JWKS.
fn service(server: &TestServer) -> Service {
    let seen = Seen::default();
    let telemetry = Telemetry::new(vec![Arc::new(seen.clone())]);
    let jwks = RemoteJwks::builder(server.url("/jwks.json"))
        .refresh_interval(HOUR)
        .max_staleness(2 * HOUR)
        .retry_interval(Duration::from_millis(50))
        .unknown_kid_cooldown(Duration::from_millis(1))
        .timeout(Duration::from_secs(2))
        .telemetry(telemetry.clone())
        .start()
        .unwrap();
    let verifier = Verifier::builder()
        .trust(TrustedIssuer::charon(ISS, jwks.clone()))
        .clock(ManualClock::new(NOW + 10))
        .telemetry(telemetry)
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/me",
            get(|auth: Authenticated| async move { auth.user_id().to_owned() }),
        )
        .layer(AccessLayer::new(&verifier));
    Service {
        app,
        jwks,
        verifier,
        seen,
    }
}

async fn me(app: &Router, token: &str) -> (StatusCode, String) {
    let req = Request::get("/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn error_kind(body: &str) -> String {
    let json: Value = serde_json::from_str(body).unwrap();
    json["kind"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn tokens_verify_through_the_jwks_and_a_new_kid_is_fetched_on_first_sight() {
    let server = TestServer::start().await;
    let a = Key::generate_ed25519().unwrap();
    server.set("/jwks.json", jwks_of(&[&a]));
    let svc = service(&server);
    assert!(svc.jwks.wait_ready(Duration::from_secs(15)).await);

    assert_eq!(
        me(&svc.app, &token(&a, "alice")).await,
        (StatusCode::OK, "alice".into())
    );

    // The auth service rotates: it publishes B beside A and signs with B. The resource
    // service has not refreshed (interval: an hour); the first token of B fetches it.
    let b = Key::generate_ed25519().unwrap();
    server.set("/jwks.json", jwks_of(&[&a, &b]));
    let fetched = server.hits("/jwks.json");
    assert_eq!(
        me(&svc.app, &token(&b, "bob")).await,
        (StatusCode::OK, "bob".into())
    );
    assert_eq!(server.hits("/jwks.json"), fetched + 1);
    assert!(
        svc.seen
            .fetches
            .lock()
            .unwrap()
            .contains(&JwksTrigger::UnknownKid)
    );
    // A's tokens keep verifying while A is published.
    assert_eq!(
        me(&svc.app, &token(&a, "carol")).await,
        (StatusCode::OK, "carol".into())
    );

    // One token event per request, the fetching one included.
    assert_eq!(*svc.seen.tokens.lock().unwrap(), vec![None, None, None]);

    // The public API fetches the same way, once the unknown-kid cooldown (1 ms here) since
    // B's fetch is over: on a fast machine the requests above take less than that, and C's
    // fetch would be refused as too soon.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let c = Key::generate_ed25519().unwrap();
    server.set("/jwks.json", jwks_of(&[&b, &c]));
    let claims = svc
        .verifier
        .verify_fetching(&token(&c, "dave"), NOW + 10, TokenType::Access)
        .await
        .unwrap();
    assert_eq!(claims.sub.as_str(), "dave");
}

#[tokio::test]
async fn a_withdrawn_key_stops_verifying_even_for_cached_tokens() {
    let server = TestServer::start().await;
    let a = Key::generate_ed25519().unwrap();
    let b = Key::generate_ed25519().unwrap();
    server.set("/jwks.json", jwks_of(&[&a, &b]));
    let svc = service(&server);
    assert!(svc.jwks.wait_ready(Duration::from_secs(15)).await);
    let old = token(&a, "alice");
    assert_eq!(me(&svc.app, &old).await.0, StatusCode::OK);
    assert_eq!(svc.verifier.token_cache().len(), 1);

    // A is withdrawn (compromised): once the verifier has the new key set, the cached
    // verdict of A's token is gone with it.
    server.set("/jwks.json", jwks_of(&[&b]));
    svc.jwks.refresh().await.unwrap();
    let (status, body) = me(&svc.app, &old).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(error_kind(&body), "key_not_found");
    assert_eq!(me(&svc.app, &token(&b, "bob")).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_endpoint_going_down_keeps_the_cached_keys() {
    let server = TestServer::start().await;
    let a = Key::generate_ed25519().unwrap();
    server.set("/jwks.json", jwks_of(&[&a]));
    let svc = service(&server);
    assert!(svc.jwks.wait_ready(Duration::from_secs(15)).await);

    server.go_down();
    assert!(svc.jwks.refresh().await.is_err());
    for user in ["u1", "u2", "u3"] {
        assert_eq!(
            me(&svc.app, &token(&a, user)).await,
            (StatusCode::OK, user.into())
        );
    }
    // An unknown kid while the endpoint is down: the fetch fails, the token is refused
    // as signed by an unknown key (401), and the known keys still work.
    let (status, body) = me(&svc.app, &token(&Key::generate_ed25519().unwrap(), "x")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(error_kind(&body), "key_not_found");
    assert_eq!(me(&svc.app, &token(&a, "u4")).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_service_that_starts_while_its_jwks_is_down_answers_503_until_it_has_keys() {
    let server = TestServer::start().await;
    let a = Key::generate_ed25519().unwrap();
    server.set("/jwks.json", Reply::Status(503));
    let svc = service(&server);

    let (status, body) = me(&svc.app, &token(&a, "alice")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_kind(&body), "keys_unavailable");
    // The event says why, as for any refused token.
    assert!(
        svc.seen
            .tokens
            .lock()
            .unwrap()
            .contains(&Some("keys_unavailable".into()))
    );

    // The endpoint comes back: the retry schedule fetches the keys, and tokens verify.
    server.set("/jwks.json", jwks_of(&[&a]));
    assert!(svc.jwks.wait_ready(Duration::from_secs(15)).await);
    eventually("the service verifies once it has keys", || {
        svc.jwks.current().is_some()
    })
    .await;
    assert_eq!(
        me(&svc.app, &token(&a, "alice")).await,
        (StatusCode::OK, "alice".into())
    );
}

#[tokio::test]
async fn hostile_documents_leave_the_service_without_keys_rather_than_with_bad_ones() {
    let server = TestServer::start().await;
    let a = Key::generate_ed25519().unwrap();
    // A symmetric key in a JWKS: refused as a document, never used to verify.
    server.set(
        "/jwks.json",
        Reply::Json(r#"{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"}]}"#.into()),
    );
    let svc = service(&server);
    assert!(!svc.jwks.wait_ready(Duration::from_millis(300)).await);
    let (status, body) = me(&svc.app, &token(&a, "alice")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_kind(&body), "keys_unavailable");
}
