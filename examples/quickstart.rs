//! An in-process tour of charon-auth: no server, no Redis.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! Logs a user in, calls a protected service with the access token, refreshes, shows
//! rejections (tampered token, refresh token replayed after rotation), logs out, and prints
//! every telemetry event each step emitted.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use charon_auth::telemetry::Event;
use charon_auth::{
    AccessLayer, Authenticated, Charon, CreateSession, ManualClock, RefreshAuth, RefreshLayer,
    RefreshSession, Transport,
};
use http::{Request, Response};
use tower::{Layer, ServiceExt, service_fn};

type Events = Arc<Mutex<Vec<String>>>;

fn describe(event: &Event<'_>) -> String {
    let mut line = event.name().to_owned();
    if let Some(m) = event.session_meta() {
        line += &format!(" user={} type={}", m.user_id, m.session_type);
        if let Some(sid) = m.session_id {
            line += &format!(" session={}…", &sid[..6]);
        }
    }
    if let Some(m) = event.token_meta() {
        if let Some(t) = m.token_transport {
            line += &format!(" transport={t}");
        }
        line += &format!(" session_loaded={}", m.session_loaded);
        if let Some(c) = &m.claims {
            line += &format!(
                " token_type={} user={}",
                c.token_type.unwrap_or("-"),
                c.user_id
            );
        }
        if let Some(e) = m.error {
            line += &format!(" error=\"{e}\"");
        }
    }
    line
}

fn step(title: &str, events: &Events) {
    for e in events.lock().unwrap().drain(..) {
        println!("    event: {e}");
    }
    println!("\n== {title}");
}

/// A protected "handler": answers with the verified user id.
async fn me(req: Request<String>) -> Result<Response<String>, Infallible> {
    let auth = req.extensions().get::<Authenticated>().unwrap();
    Ok(Response::new(format!(
        "hello {} (session {}…, via {})",
        auth.user_id(),
        auth.session_id()
            .unwrap_or_default()
            .get(..6)
            .unwrap_or_default(),
        auth.transport()
    )))
}

fn bearer(token: &str) -> Request<String> {
    Request::get("/")
        .header("authorization", format!("Bearer {token}"))
        .body(String::new())
        .unwrap()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let events: Events = Arc::default();
    let sink = Arc::clone(&events);
    let clock = ManualClock::at_system_time();
    let charon = Charon::builder()
        .issuer("quickstart")
        .base_secret("quickstart demo secret, at least 32 bytes long!")
        .access_ttl(Duration::from_secs(60))
        .clock(clock.clone())
        .on_event(move |e: &Event<'_>| sink.lock().unwrap().push(describe(e)))
        .build()?;
    println!("built {charon:?}", charon = charon.issuer());

    step("1. login (bearer transport)", &events);
    let login = charon
        .create_session(
            CreateSession::new("alice", Transport::Bearer),
            // A login outside any HTTP request; a handler passes its request's parts.
            charon_auth::RequestContext::no_request(),
        )
        .await?;
    let access = login.access_token().unwrap().to_owned();
    let refresh = login.refresh_token().unwrap().to_owned();
    println!(
        "    access token: {}… (expires at {})",
        &access[..24],
        login.access_token_exp()
    );

    step("2. call a protected service with the access token", &events);
    let access_layer = AccessLayer::new(&charon);
    let res = access_layer
        .layer(service_fn(me))
        .oneshot(bearer(&access))
        .await?;
    println!("    {} {}", res.status(), res.body());

    step("3. a tampered token is rejected", &events);
    let mut tampered = access.clone();
    tampered.pop();
    tampered.push(if access.ends_with('A') { 'B' } else { 'A' });
    let res = access_layer
        .layer(service_fn(me))
        .oneshot(bearer(&tampered))
        .await?;
    println!("    {} {}", res.status(), res.body());

    step(
        "4. refresh (20 s later): the refresh layer loads the session",
        &events,
    );
    clock.advance(20);
    let refresh_layer = RefreshLayer::new(&charon);
    let c = charon.clone();
    let refreshed = refresh_layer
        .layer(service_fn(move |req: Request<String>| {
            let c = c.clone();
            async move {
                let auth = req.extensions().get::<RefreshAuth>().unwrap().clone();
                let tokens = c
                    .refresh_session(&auth, RefreshSession::new())
                    .await
                    .unwrap();
                Ok::<_, Infallible>(Response::new(tokens.refresh_token().unwrap().to_owned()))
            }
        }))
        .oneshot(bearer(&refresh))
        .await?;
    println!(
        "    {} new refresh token {}…",
        refreshed.status(),
        &refreshed.body()[..24]
    );
    let new_refresh = refreshed.into_body();

    step(
        "5. two generations later, the first refresh token is stale: reuse revokes the session",
        &events,
    );
    clock.advance(20);
    let c = charon.clone();
    let rotate = move |token: String| {
        let c = c.clone();
        async move {
            RefreshLayer::new(&c)
                .layer(service_fn(move |req: Request<String>| {
                    let c = c.clone();
                    async move {
                        let auth = req.extensions().get::<RefreshAuth>().unwrap().clone();
                        let t = c
                            .refresh_session(&auth, RefreshSession::new())
                            .await
                            .unwrap();
                        Ok::<_, Infallible>(Response::new(t.refresh_token().unwrap().to_owned()))
                    }
                }))
                .oneshot(bearer(&token))
                .await
                .unwrap()
        }
    };
    let res = rotate(new_refresh).await;
    println!("    newest token: {}", res.status());
    let newest = res.into_body();
    clock.advance(20);
    let res = rotate(refresh.clone()).await;
    println!("    replayed first token: {} {}", res.status(), res.body());
    let res = rotate(newest).await;
    println!(
        "    and now even the newest token: {} {}",
        res.status(),
        res.body()
    );

    step("6. log in again and log out", &events);
    let login = charon
        .create_session(
            CreateSession::new("alice", Transport::Cookie),
            // A login outside any HTTP request; a handler passes its request's parts.
            charon_auth::RequestContext::no_request(),
        )
        .await?;
    println!(
        "    cookie transport: body carries {}… and {} Set-Cookie headers",
        &login.access_token().unwrap()[..16],
        login.set_cookies().len()
    );
    let sessions = charon.list_sessions("alice", &Default::default()).await?;
    println!("    alice has {} active session(s)", sessions.len());
    charon
        .delete_all_sessions("alice", &Default::default())
        .await?;
    let sessions = charon.list_sessions("alice", &Default::default()).await?;
    println!(
        "    after log-out-everywhere: {} session(s)",
        sessions.len()
    );
    step("done", &events);
    Ok(())
}
