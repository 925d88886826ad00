//! HTTP-level tests of the demo contract (`examples/demo/app.rs`) for every flow and each
//! transport, on the memory store and on Redis (standalone), with the exact token events.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../examples/demo/app.rs"]
#[allow(dead_code)]
mod app;
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use charon_auth::layer::Revocation;
use charon_auth::store::SessionStore;
use charon_auth::telemetry::{EventKind, RecordingHandler};
use charon_auth::{AuthErrorKind, Charon, ManualClock, Transport};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// One app under test: router, clock, recorded events.
struct Harness {
    app: Router,
    clock: ManualClock,
    events: RecordingHandler,
    charon: Charon,
}

/// The demo as it is served by default: `CHARON_ACCESS_REVOCATION=strict`.
fn harness(store: Arc<dyn SessionStore>) -> Harness {
    harness_with(store, Revocation::Strict)
}

fn harness_with(store: Arc<dyn SessionStore>, revocation: Revocation) -> Harness {
    let clock = ManualClock::at_system_time();
    let events = RecordingHandler::default();
    let charon = Charon::builder()
        .issuer("http-tests")
        .base_secret("http tests secret, at least thirty-two bytes")
        .access_ttl(Duration::from_secs(60))
        .refresh_ttl(Duration::from_secs(3600))
        .store_arc(store)
        .clock(clock.clone())
        .on_event(events.clone())
        .build()
        .unwrap();
    Harness {
        app: app::router(&charon, Arc::new(String::new), revocation),
        clock,
        events,
        charon,
    }
}

/// A client that keeps what a browser or app would: body tokens and cookies.
#[derive(Clone, Default)]
struct Client {
    access: Option<String>,
    refresh: Option<String>,
    cookies: BTreeMap<String, String>,
    csrf: bool,
}

struct Answer {
    status: StatusCode,
    body: Value,
    set_cookies: Vec<String>,
    clear_site_data: Option<String>,
}

impl Client {
    fn request(&self, method: &str, path: &str, token: Option<&String>) -> Request<Body> {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(cookies) = support::cookie_jar::cookie_header(&self.cookies) {
            b = b.header(header::COOKIE, cookies);
        }
        if self.csrf {
            b = b.header("sec-fetch-site", "same-origin");
        }
        b.body(Body::empty()).unwrap()
    }

    fn absorb(&mut self, answer: &Answer) {
        support::cookie_jar::absorb_set_cookies(&mut self.cookies, &answer.set_cookies);
        if answer.status == StatusCode::OK
            && let Some((access, refresh)) = support::cookie_jar::body_tokens(&answer.body)
        {
            self.access = access;
            self.refresh = refresh;
        }
    }
}

async fn send(app: &Router, req: Request<Body>) -> Answer {
    into_answer(app.clone().oneshot(req).await.unwrap()).await
}

async fn into_answer(res: Response<Body>) -> Answer {
    let status = res.status();
    let set_cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let clear_site_data = res
        .headers()
        .get("clear-site-data")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Answer {
        status,
        body,
        set_cookies,
        clear_site_data,
    }
}

impl Harness {
    async fn login(&self, user: &str, transport: Transport) -> Client {
        let mut client = Client {
            csrf: true,
            ..Client::default()
        };
        let req = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"user_id": user, "transport": transport.as_str()}).to_string(),
            ))
            .unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        assert_eq!(
            res.headers()[header::CACHE_CONTROL],
            "no-store",
            "tokens are never cached"
        );
        let answer = into_answer(res).await;
        assert_eq!(answer.status, StatusCode::OK, "login: {:?}", answer.body);
        client.absorb(&answer);
        client
    }

    async fn call(&self, client: &mut Client, method: &str, path: &str) -> Answer {
        let token = if path == "/refresh" {
            client.refresh.clone()
        } else {
            client.access.clone()
        };
        let req = client.request(method, path, token.as_ref());
        let answer = send(&self.app, req).await;
        client.absorb(&answer);
        answer
    }

    /// The token events recorded since the last call, as (kind, error kind).
    fn token_events(&self) -> Vec<(EventKind, Option<AuthErrorKind>)> {
        self.events
            .take()
            .into_iter()
            .filter(|e| e.kind.is_token())
            .map(|e| (e.kind, e.error_kind))
            .collect()
    }
}

const TRANSPORTS: [Transport; 3] = [Transport::Bearer, Transport::Cookie, Transport::CookieOnly];

async fn full_flow(store: Arc<dyn SessionStore>) {
    for transport in TRANSPORTS {
        let h = harness(Arc::clone(&store));
        let user = charon_auth::session::random_id();
        let mut c = h.login(&user, transport).await;
        match transport {
            Transport::Bearer => {
                assert!(c.access.is_some() && c.cookies.is_empty());
            }
            Transport::Cookie => {
                assert_eq!(c.access.as_ref().unwrap().matches('.').count(), 1);
                assert!(c.cookies.values().all(|v| v.starts_with('.')));
                assert_eq!(c.cookies.len(), 2);
            }
            Transport::CookieOnly => {
                assert!(c.access.is_none() && c.refresh.is_none());
                assert_eq!(c.cookies.len(), 2);
            }
            _ => unreachable!(),
        }
        let create = h.events.take();
        assert_eq!(create.len(), 1);
        assert_eq!(create[0].kind, EventKind::SessionCreate);
        assert_eq!(create[0].user_id.as_deref(), Some(user.as_str()));

        let me = h.call(&mut c, "GET", "/me").await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.body["user_id"], user.as_str());
        assert_eq!(me.body["transport"], transport.as_str());
        assert_eq!(me.body["session_type"], "full");
        let ev = h.events.take();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, EventKind::TokenValid);
        assert_eq!(ev[0].token_transport, Some(transport));
        assert_eq!(ev[0].token_type.as_deref(), Some("access"));
        // The demo checks sessions on access routes (strict).
        assert_eq!(ev[0].session_loaded, Some(true));

        h.clock.advance(30);
        let old_refresh = (c.refresh.clone(), c.cookies.clone());
        let r = h.call(&mut c, "POST", "/refresh").await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_ne!(
            (c.refresh.clone(), c.cookies.clone()),
            old_refresh,
            "tokens rotated"
        );
        let ev = h.events.take();
        let kinds: Vec<_> = ev.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::TokenValid, EventKind::SessionRefresh]);
        assert_eq!(ev[0].session_loaded, Some(true));
        assert_eq!(ev[0].token_type.as_deref(), Some("refresh"));

        // The refreshed access token works; the transport was kept.
        let me = h.call(&mut c, "GET", "/me").await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.body["transport"], transport.as_str());

        // A second session, then list, then logout of one, then logout-all.
        let mut c2 = h.login(&user, transport).await;
        let list = h.call(&mut c, "GET", "/sessions").await;
        assert_eq!(list.status, StatusCode::OK);
        assert_eq!(list.body.as_array().unwrap().len(), 2);

        let out = h.call(&mut c2, "POST", "/logout").await;
        assert_eq!(out.status, StatusCode::NO_CONTENT);
        assert_eq!(out.set_cookies.len(), 2);
        for sc in &out.set_cookies {
            assert!(sc.contains("Max-Age=0"), "{sc}");
        }
        // Cookie clients are also told to drop cookies the server cannot name (planted by
        // a sibling subdomain); bearer clients hold no cookies.
        let expected = (transport != Transport::Bearer).then(|| "\"cookies\"".to_owned());
        assert_eq!(out.clear_site_data, expected, "{transport}");
        let list = h.call(&mut c, "GET", "/sessions").await;
        assert_eq!(list.body.as_array().unwrap().len(), 1);

        h.events.take();
        let before_logout = c.clone();
        let out = h.call(&mut c, "POST", "/logout-all").await;
        assert_eq!(out.status, StatusCode::NO_CONTENT);
        let ev = h.events.take();
        assert!(
            ev.iter()
                .any(|e| e.kind == EventKind::SessionDeleteAll && e.session_id.is_none())
        );
        // The client's cookies are cleared; replaying what it held before still fails.
        let mut replay = before_logout;
        let r = h.call(&mut replay, "POST", "/refresh").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.body["error"], "session not found");
    }
}

async fn rejections(store: Arc<dyn SessionStore>) {
    let h = harness(store);
    let user = charon_auth::session::random_id();
    let mut c = h.login(&user, Transport::Bearer).await;
    h.events.take();

    // No token at all.
    let r = send(&h.app, Request::get("/me").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"], "bearer token not found");
    assert_eq!(
        h.token_events(),
        [(EventKind::TokenInvalid, Some(AuthErrorKind::TokenNotFound))]
    );

    // Wrong token type both ways.
    let mut swapped = c.clone();
    swapped.access = c.refresh.clone();
    let r = h.call(&mut swapped, "GET", "/me").await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("bearer token claim type invalid")
        )
    );
    let ev = h.events.take();
    assert_eq!(
        ev[0].token_type.as_deref(),
        Some("refresh"),
        "claims decoded, so metadata present"
    );
    let mut swapped = c.clone();
    swapped.refresh = c.access.clone();
    let r = h.call(&mut swapped, "POST", "/refresh").await;
    assert_eq!(r.body["error"], "bearer token claim type invalid");
    assert_eq!(
        h.token_events(),
        [(EventKind::TokenInvalid, Some(AuthErrorKind::ClaimInvalid))]
    );

    // Tampered payload.
    let mut tampered = c.clone();
    let t = tampered.access.clone().unwrap();
    let mut parts: Vec<&str> = t.split('.').collect();
    let forged_payload = {
        use base64::Engine as _;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value = serde_json::from_slice(&e.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = "mallory".into();
        e.encode(claims.to_string())
    };
    parts[1] = &forged_payload;
    tampered.access = Some(parts.join("."));
    let r = h.call(&mut tampered, "GET", "/me").await;
    assert_eq!(r.body["error"], "bearer token signature invalid");
    assert_eq!(
        h.token_events(),
        [(
            EventKind::TokenInvalid,
            Some(AuthErrorKind::SignatureInvalid)
        )]
    );

    // Wrong issuer: a token from another service sharing the key.
    // On the harness's clock: on the system clock its `iat` would run ahead of the
    // harness's by however long the test took so far (a loaded machine made it "not yet
    // valid" before the issuer was checked).
    let other = Charon::builder()
        .issuer("someone-else")
        .base_secret("http tests secret, at least thirty-two bytes")
        .clock(h.clock.clone())
        .build()
        .unwrap();
    let foreign = other
        .create_session(
            charon_auth::CreateSession::new(&user, Transport::Bearer),
            charon_auth::RequestContext::no_request(),
        )
        .await
        .unwrap();
    let mut fc = c.clone();
    fc.access = foreign.access_token().map(str::to_owned);
    let r = h.call(&mut fc, "GET", "/me").await;
    assert_eq!(r.body["error"], "bearer token claim iss invalid");
    assert_eq!(
        h.token_events(),
        [(EventKind::TokenInvalid, Some(AuthErrorKind::ClaimInvalid))]
    );

    // Not yet valid: the clock goes back beyond the leeway.
    h.clock.advance(-10);
    let r = h.call(&mut c, "GET", "/me").await;
    assert_eq!(r.body["error"], "bearer token not yet valid");
    assert_eq!(
        h.token_events(),
        [(EventKind::TokenInvalid, Some(AuthErrorKind::NotYetValid))]
    );
    h.clock.advance(10);

    // Expired: access TTL 60 s plus 5 s leeway.
    h.clock.advance(64);
    assert_eq!(h.call(&mut c, "GET", "/me").await.status, StatusCode::OK);
    h.clock.advance(1);
    let r = h.call(&mut c, "GET", "/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"], "bearer token expired");
    assert_eq!(
        h.token_events().last(),
        Some(&(EventKind::TokenInvalid, Some(AuthErrorKind::Expired)))
    );

    // Malformed request: two Authorization headers → 400.
    let req = Request::get("/me")
        .header(header::AUTHORIZATION, "Bearer a.b.c")
        .header(header::AUTHORIZATION, "Bearer d.e.f")
        .body(Body::empty())
        .unwrap();
    let r = send(&h.app, req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        h.token_events(),
        [(
            EventKind::TokenInvalid,
            Some(AuthErrorKind::MalformedRequest)
        )]
    );
}

async fn stale_refresh_revokes(store: Arc<dyn SessionStore>) {
    let h = harness(Arc::clone(&store));
    let user = charon_auth::session::random_id();
    let mut c = h.login(&user, Transport::Bearer).await;
    let first = c.clone();
    // Two generations later the first refresh token is stale.
    h.clock.advance(11);
    assert_eq!(
        h.call(&mut c, "POST", "/refresh").await.status,
        StatusCode::OK
    );
    // Within the previous generation the old token still works (retry after a lost response).
    let mut retry = first.clone();
    assert_eq!(
        h.call(&mut retry, "POST", "/refresh").await.status,
        StatusCode::OK
    );
    h.clock.advance(11);
    assert_eq!(
        h.call(&mut c, "POST", "/refresh").await.status,
        StatusCode::OK
    );
    h.events.take();
    let mut thief = first.clone();
    let r = h.call(&mut thief, "POST", "/refresh").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"], "token stale");
    let ev = h.events.take();
    let kinds: Vec<_> = ev.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EventKind::SessionDelete, EventKind::TokenInvalid],
        "reuse revokes"
    );
    assert_eq!(ev[1].error_kind, Some(AuthErrorKind::TokenStale));
    assert_eq!(ev[1].session_loaded, Some(true));
    // The legitimate client's newest token no longer works either.
    let r = h.call(&mut c, "POST", "/refresh").await;
    assert_eq!(r.body["error"], "session not found");
}

/// The session cap at the HTTP level, with the library's default of 10 (the demo's
/// `CHARON_MAX_SESSIONS` default): the 11th login of one user evicts the first, with a
/// `charon.session.delete` event naming it; `/sessions` lists 10; the first client can no
/// longer refresh.
async fn session_cap_evicts_the_oldest_login(store: Arc<dyn SessionStore>) {
    const CAP: usize = 10;
    let h = harness(Arc::clone(&store));
    assert_eq!(h.charon.max_sessions_per_user().get() as usize, CAP);
    let user = charon_auth::session::random_id();
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..CAP {
        let mut c = h.login(&user, Transport::Bearer).await;
        let me = h.call(&mut c, "GET", "/me").await;
        ids.push(me.body["session_id"].as_str().unwrap().to_owned());
        clients.push(c);
        // One second apart, so every login ends (and is evicted) in order.
        h.clock.advance(1);
    }
    let deletes = |events: Vec<charon_auth::telemetry::RecordedEvent>| -> Vec<Option<String>> {
        events
            .into_iter()
            .filter(|e| e.kind == EventKind::SessionDelete)
            .map(|e| e.session_id)
            .collect()
    };
    assert_eq!(deletes(h.events.take()), Vec::<Option<String>>::new());

    let mut newest = h.login(&user, Transport::Bearer).await;
    assert_eq!(deletes(h.events.take()), [Some(ids[0].clone())]);
    let list = h.call(&mut newest, "GET", "/sessions").await;
    assert_eq!(list.status, StatusCode::OK);
    let listed: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), CAP, "{listed:?}");
    assert!(!listed.contains(&ids[0].as_str()));
    assert!(ids[1..].iter().all(|id| listed.contains(&id.as_str())));

    let r = h.call(&mut clients[0], "POST", "/refresh").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"], "session not found");
    let r = h.call(&mut clients[1], "POST", "/refresh").await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn refresh_after_logout(store: Arc<dyn SessionStore>) {
    // Mode off, so that the logged-out session's access token still reaches `/sessions`.
    let h = harness_with(Arc::clone(&store), Revocation::Off);
    let user = charon_auth::session::random_id();
    let mut c = h.login(&user, Transport::Bearer).await;
    let keep = c.clone();
    assert_eq!(
        h.call(&mut c, "POST", "/logout").await.status,
        StatusCode::NO_CONTENT
    );
    let mut replay = keep.clone();
    let r = h.call(&mut replay, "POST", "/refresh").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"], "session not found");
    // Not recreated: the access token (still valid until it expires) sees no session.
    let list = h.call(&mut replay, "GET", "/sessions").await;
    assert_eq!(list.body, json!([]));
}

async fn concurrent_refresh_one_wins(store: Arc<dyn SessionStore>) {
    use axum::routing::post;
    use charon_auth::{RefreshAuth, RefreshLayer, RefreshSession};
    const N: usize = 8;
    let h = harness(store);
    let user = charon_auth::session::random_id();
    let c = h.login(&user, Transport::Bearer).await;
    // A refresh route that lets every request pass the layer (each loads the same session
    // version) before any of them writes.
    let barrier = Arc::new(tokio::sync::Barrier::new(N));
    let charon = h.charon.clone();
    let app = Router::new()
        .route(
            "/refresh",
            post(move |auth: RefreshAuth| {
                let barrier = Arc::clone(&barrier);
                let charon = charon.clone();
                async move {
                    barrier.wait().await;
                    match charon.refresh_session(&auth, RefreshSession::new()).await {
                        Ok(t) => axum::response::IntoResponse::into_response(t),
                        Err(e) => axum::response::IntoResponse::into_response(e),
                    }
                }
            }),
        )
        .route_layer(RefreshLayer::new(&h.charon));
    h.events.take();
    let mut tasks = Vec::new();
    for _ in 0..N {
        let app = app.clone();
        let req = c.request("POST", "/refresh", c.refresh.as_ref());
        tasks.push(tokio::spawn(async move { send(&app, req).await.status }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let conflict = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflict), (1, N - 1), "{statuses:?}");
    let ev = h.events.take();
    assert_eq!(
        ev.iter()
            .filter(|e| e.kind == EventKind::SessionRefresh)
            .count(),
        1
    );
    assert_eq!(
        ev.iter()
            .filter(|e| e.kind == EventKind::SessionLockConflict)
            .count(),
        N - 1
    );
}

async fn csrf_on_cookie_only(store: Arc<dyn SessionStore>) {
    let h = harness(store);
    let user = charon_auth::session::random_id();
    let mut c = h.login(&user, Transport::CookieOnly).await;
    c.csrf = false;
    // Safe method: no CSRF signal needed.
    assert_eq!(h.call(&mut c, "GET", "/me").await.status, StatusCode::OK);
    h.events.take();
    let r = h.call(&mut c, "POST", "/logout").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        h.token_events(),
        [(EventKind::TokenInvalid, Some(AuthErrorKind::CsrfFailed))]
    );
    let r = h.call(&mut c, "POST", "/refresh").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A cross-site request is refused too.
    let mut req = c.request("POST", "/logout", None);
    req.headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(send(&h.app, req).await.status, StatusCode::FORBIDDEN);
    c.csrf = true;
    assert_eq!(
        h.call(&mut c, "POST", "/logout").await.status,
        StatusCode::NO_CONTENT
    );
}

async fn browser_enforcement(store: Arc<dyn SessionStore>) {
    let h = harness(store);
    for (transport, expected) in [
        ("bearer", StatusCode::BAD_REQUEST),
        ("cookie", StatusCode::OK),
        ("cookie_only", StatusCode::OK),
    ] {
        let req = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/json")
            .header("sec-fetch-mode", "cors")
            .body(Body::from(
                json!({"user_id": "u", "transport": transport}).to_string(),
            ))
            .unwrap();
        assert_eq!(send(&h.app, req).await.status, expected, "{transport}");
    }
}

async fn declared_session_types(store: Arc<dyn SessionStore>) {
    let h = harness(store);
    let login = |session_type: Value| {
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"user_id": "u", "transport": "bearer", "session_type": session_type})
                    .to_string(),
            ))
            .unwrap()
    };
    for declared in app::SESSION_TYPES {
        let r = send(&h.app, login(declared.into())).await;
        assert_eq!(r.status, StatusCode::OK, "{declared}: {:?}", r.body);
        let mut c = Client::default();
        c.absorb(&r);
        let me = h.call(&mut c, "GET", "/me").await;
        assert_eq!(me.body["session_type"], declared);
    }
    assert_eq!(app::session_types().len(), app::SESSION_TYPES.len());
    h.events.take();
    // Any other type, well-formed or not, is refused before a session is created.
    for undeclared in ["mobile", "full2", "FULL", "type-1999"] {
        let r = send(&h.app, login(undeclared.into())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{undeclared}");
        assert_eq!(
            r.body["error"], "session_type must be one of: full, oauth2",
            "{undeclared}"
        );
    }
    // A malformed one is not a `SessionType`: the typed login body refuses it, naming
    // the field and the session type rule.
    for malformed in ["has space", ""] {
        let r = send(&h.app, login(malformed.into())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{malformed}");
        let error = r.body["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("session_type") && error.contains("1 to 64 characters"),
            "{malformed}: {error}"
        );
    }
    let r = send(&h.app, login(Value::Null)).await;
    assert_eq!(r.status, StatusCode::OK, "no session_type means full");
    let kinds: Vec<_> = h.events.take().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EventKind::SessionCreate],
        "only the last login created one"
    );
}

async fn admin_requires_the_admin_scope(store: Arc<dyn SessionStore>) {
    let h = harness(store);
    let login = |scope: Option<&str>| {
        let mut body = json!({"user_id": "ada", "transport": "bearer"});
        if let Some(scope) = scope {
            body["scope"] = scope.into();
        }
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let mut admin = Client::default();
    admin.absorb(&send(&h.app, login(Some("read admin"))).await);
    let r = h.call(&mut admin, "GET", "/admin").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body, json!({"user_id": "ada"}));

    for scope in [Some("read write"), None] {
        let mut reader = Client::default();
        reader.absorb(&send(&h.app, login(scope)).await);
        assert_eq!(
            h.call(&mut reader, "GET", "/me").await.status,
            StatusCode::OK
        );
        let req = reader.request("GET", "/admin", reader.access.as_ref());
        let res = h.app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{scope:?}");
        let challenge = res.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(
            challenge.starts_with("Bearer error=\"insufficient_scope\"")
                && challenge.ends_with("scope=\"admin\""),
            "{challenge}"
        );
        let body = into_answer(res).await.body;
        assert_eq!(body["kind"], "insufficient_scope");
    }
    // No token at all is still 401, not 403.
    let r = send(&h.app, Request::get("/admin").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// A login naming a device, from a client with a `User-Agent`.
/// The payload of a token as the body carries it (whole or `header.payload`).
fn payload_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn login_body(body: &Value) -> Request<Body> {
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// `POST /login` with a JSON number: Charon's integer user ids (an Ecto primary key).
async fn integer_user_ids(store: Arc<dyn SessionStore>) {
    let h = harness(store);
    let n = support::contract::random_integer_user();
    for transport in ["bearer", "cookie"] {
        let r = send(
            &h.app,
            login_body(&json!({"user_id": n, "transport": transport})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{transport}: {:?}", r.body);
        let mut c = Client {
            csrf: true,
            ..Client::default()
        };
        c.absorb(&r);
        let access = c.access.clone().unwrap();
        assert_eq!(payload_of(&access)["sub"], json!(n), "signed as a number");
        let me = h.call(&mut c, "GET", "/me").await;
        assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
        assert_eq!(me.body["user_id"], json!(n), "and read back as one");

        // A refresh of a session created with a number signs the number again.
        h.clock.advance(30);
        let r = h.call(&mut c, "POST", "/refresh").await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        for token in [&c.access, &c.refresh] {
            assert_eq!(payload_of(token.as_ref().unwrap())["sub"], json!(n));
        }
        assert_eq!(h.call(&mut c, "GET", "/me").await.body["user_id"], json!(n));
    }
    let mut text = h.login(&n.to_string(), Transport::Bearer).await;
    assert_eq!(
        payload_of(text.access.as_ref().unwrap())["sub"],
        json!(n.to_string())
    );
    assert_eq!(
        h.call(&mut text, "GET", "/me").await.body["user_id"],
        json!(n.to_string()),
        "the string id stays a string"
    );
    // The store keys the user by its text, as Charon's Redis store does: the three
    // sessions of `n` and `"n"` are listed together, each with its own type.
    // (The whole records: the list API's `SessionInfo` view carries no user id.)
    let listed = h
        .charon
        .store()
        .get_all(&n.to_string(), &Default::default(), h.charon.now())
        .await
        .unwrap();
    let mut integers: Vec<bool> = listed.iter().map(|s| s.user_id.is_integer()).collect();
    integers.sort_unstable();
    assert_eq!(integers, [false, true, true]);
    assert_eq!(
        h.call(&mut text, "GET", "/sessions")
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    // Logout ends the integer session only.
    let mut last = Client::default();
    last.absorb(
        &send(
            &h.app,
            login_body(&json!({"user_id": n, "transport": "bearer"})),
        )
        .await,
    );
    assert_eq!(
        h.call(&mut last, "POST", "/logout").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.call(&mut last, "GET", "/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(h.call(&mut text, "GET", "/me").await.status, StatusCode::OK);

    // Not user ids: 0 (the session API's InvalidInput), and what is no integer or string
    // (the typed login body).
    let r = send(
        &h.app,
        login_body(&json!({"user_id": 0, "transport": "bearer"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert_eq!(r.body["kind"], "invalid_input", "{:?}", r.body);
    for bad in [json!(-1), json!(4.2), json!(true), json!(null), json!([1])] {
        let r = send(
            &h.app,
            login_body(&json!({"user_id": bad, "transport": "bearer"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {:?}", r.body);
        let error = r.body["error"].as_str().unwrap_or_default();
        assert!(error.contains("user_id"), "{bad}: {error}");
    }
}

/// The demo puts the login's `scope` in the access token; a refresh keeps it (the session
/// keeps its extra claims), so `/admin` still answers 200 after one.
async fn scope_survives_refresh(store: Arc<dyn SessionStore>) {
    let h = harness(store);
    let r = send(
        &h.app,
        login_body(&json!({"user_id": "ada", "transport": "bearer", "scope": "read admin"})),
    )
    .await;
    let mut c = Client::default();
    c.absorb(&r);
    assert_eq!(h.call(&mut c, "GET", "/admin").await.status, StatusCode::OK);
    for _ in 0..2 {
        h.clock.advance(30);
        let r = h.call(&mut c, "POST", "/refresh").await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(
            payload_of(c.access.as_ref().unwrap())["scope"],
            "read admin"
        );
        let admin = h.call(&mut c, "GET", "/admin").await;
        assert_eq!(admin.status, StatusCode::OK, "{:?}", admin.body);
    }
}

async fn login_from(h: &Harness, user: &str, device: &str, agent: &str) -> Client {
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, agent)
        .body(Body::from(
            json!({"user_id": user, "transport": "bearer", "device": device}).to_string(),
        ))
        .unwrap();
    let answer = send(&h.app, req).await;
    assert_eq!(answer.status, StatusCode::OK, "login: {:?}", answer.body);
    let mut client = Client::default();
    client.absorb(&answer);
    client
}

/// `DELETE /sessions/{id}` ("sign out that device"), `GET /sessions` with metadata, and
/// `GET /me` after a logout in each `CHARON_ACCESS_REVOCATION` mode.
async fn sign_out_that_device(store: Arc<dyn SessionStore>) {
    let h = harness(Arc::clone(&store));
    let user = charon_auth::session::random_id();
    let mut laptop = login_from(&h, &user, "laptop", "Firefox/140").await;
    let mut phone = login_from(&h, &user, "phone", "Safari/19").await;
    let mut stranger = login_from(&h, &format!("{user}-x"), "theirs", "curl/8").await;

    let list = h.call(&mut laptop, "GET", "/sessions").await;
    assert_eq!(list.status, StatusCode::OK);
    let items = list.body.as_array().unwrap();
    assert_eq!(items.len(), 2);
    let phone_item = items
        .iter()
        .find(|s| s["metadata"]["device"] == "phone")
        .unwrap_or_else(|| panic!("{items:?}"));
    assert_eq!(phone_item["metadata"]["user_agent"], "Safari/19");
    assert_eq!(phone_item["current"], false);
    let phone_sid = phone_item["session_id"].as_str().unwrap().to_owned();
    let stranger_list = h.call(&mut stranger, "GET", "/sessions").await;
    let stranger_sid = stranger_list.body[0]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Someone else's session, and an unknown id: 404, nothing ended.
    for sid in [stranger_sid.as_str(), "no-such-session"] {
        let r = h
            .call(&mut laptop, "DELETE", &format!("/sessions/{sid}"))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{sid}: {:?}", r.body);
    }
    assert_eq!(
        h.call(&mut stranger, "GET", "/me").await.status,
        StatusCode::OK
    );

    // The laptop signs the phone out: the phone's access token stops at once.
    assert_eq!(
        h.call(&mut phone, "GET", "/me").await.status,
        StatusCode::OK
    );
    let r = h
        .call(&mut laptop, "DELETE", &format!("/sessions/{phone_sid}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let me = h.call(&mut phone, "GET", "/me").await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{:?}", me.body);
    assert_eq!(me.body["error"], "session not found");
    let list = h.call(&mut laptop, "GET", "/sessions").await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    // Twice: gone already.
    let r = h
        .call(&mut laptop, "DELETE", &format!("/sessions/{phone_sid}"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // `GET /me` after `/logout`: 401 in strict and cached, 200 (until expiry) in off.
    for (mode, after_logout) in [
        (Revocation::Strict, StatusCode::UNAUTHORIZED),
        (Revocation::Cached, StatusCode::UNAUTHORIZED),
        (Revocation::Off, StatusCode::OK),
    ] {
        let h = harness_with(Arc::clone(&store), mode);
        let mut c = h.login(&user, Transport::Bearer).await;
        let mut kept = c.clone();
        assert_eq!(h.call(&mut c, "GET", "/me").await.status, StatusCode::OK);
        assert_eq!(
            h.call(&mut c, "POST", "/logout").await.status,
            StatusCode::NO_CONTENT
        );
        let me = h.call(&mut kept, "GET", "/me").await;
        assert_eq!(me.status, after_logout, "{mode}: {:?}", me.body);
    }
}

macro_rules! flows_for {
    ($module:ident, $store:expr) => {
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn full_flow_every_transport() {
                full_flow($store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rejections_and_their_events() {
                rejections($store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn stale_refresh_token_revokes_the_session() {
                stale_refresh_revokes($store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_eleventh_login_evicts_the_first() {
                session_cap_evicts_the_oldest_login($store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn refresh_after_logout_is_refused_and_not_recreated() {
                refresh_after_logout($store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_refreshes_one_200_the_rest_409() {
                concurrent_refresh_one_wins($store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn csrf_required_for_cookie_only_unsafe_methods() {
                csrf_on_cookie_only($store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn login_accepts_only_the_declared_session_types() {
                declared_session_types($store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn admin_answers_403_insufficient_scope_without_the_admin_scope() {
                admin_requires_the_admin_scope($store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sign_out_that_device_and_revocation_modes() {
                sign_out_that_device($store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn bearer_refused_for_browsers() {
                browser_enforcement($store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn integer_user_ids_are_signed_as_numbers_and_keep_their_type() {
                integer_user_ids($store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_scope_claim_is_kept_across_refreshes() {
                scope_survives_refresh($store).await;
            }
        }
    };
}

async fn memory_store() -> Arc<dyn SessionStore> {
    Arc::new(charon_auth::store::MemoryStore::default())
}

async fn redis_store() -> Arc<dyn SessionStore> {
    use charon_auth::store::redis::{RedisStore, SigningKey};
    let store = RedisStore::builder_with_key(SigningKey::from_bytes([9; 32]))
        .connect(&support::redis::standalone_url())
        .await
        .unwrap_or_else(|e| panic!("connect to the harness Redis: {e}"));
    Arc::new(store)
}

flows_for!(memory, memory_store().await);
flows_for!(redis, redis_store().await);
