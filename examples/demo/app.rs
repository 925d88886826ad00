//! The demo HTTP contract, shared by `examples/axum_server.rs` and the HTTP tests
//! (`tests/http_flows.rs` includes this file), so the tests check exactly what the demo
//! serves.
//!
//! | route | layer | answer |
//! |---|---|---|
//! | `POST /login` `{"user_id", "transport", "session_type"?, "scope"?, "device"?}` | – | 200 tokens + cookies; 400 for a `session_type` not in [`SESSION_TYPES`] or a malformed field. `user_id` is a string or a positive integer (`42`, signed `"sub": 42`) |
//! | `GET /me` | access | 200 `{user_id, session_id, session_type, transport}` (`user_id` with the type it was given at login) |
//! | `POST /refresh` | refresh | 200 tokens + cookies |
//! | `POST /logout` | access | 204, cookies cleared |
//! | `POST /logout-all` | access | 204, every session of the user and type gone |
//! | `GET /sessions` | access | 200 array of the caller's active sessions (same user and type), each the library's `SessionInfo` (`session_id`, `session_type`, `created_at`, `refreshed_at`, `expires_at`, `refresh_expires_at`, `metadata`: `device`, `user_agent` given at login) plus `current`; never the refresh token id or the extra payload |
//! | `DELETE /sessions/{session_id}` | access | 204: that session of the caller (same user and type) ended ("sign out that device"); 404 for an unknown id or someone else's session |
//! | `GET /metrics` | – | Prometheus text |
//! | `GET /healthz` | – | 200 `ok` (kept for existing probes; asks nothing) |
//! | `GET /health` | – | liveness: 200 `{"status":"alive"}` while the process runs |
//! | `GET /health/ready` | – | readiness ([`Charon::health`]): 200 `{"status":"ready","checks":{…}}`, or 503 `{"status":"degraded","checks":{"redis":{…},…}}` when a check failed (Redis down) |
//! | `GET /.well-known/jwks.json` | – | 200 the public signing keys (EdDSA, ES256); 404 with HS256 ([`jwks_route`]) |
//! | `GET /` | – | the demo page (`static/index.html`, plain HTML, no build step) |
//! | `GET /app.js` | – | its script (`static/app.js`) |
//! | `GET /charts.js` | – | its live charts of `/metrics` (`static/charts.js`, inline SVG) |
//!
//! The demo declares its session types ([`SESSION_TYPES`]: `full`, the default, and
//! `oauth2`); `/login` refuses any other with 400, and `examples/axum_server.rs` gives the
//! same list to the metrics bridge as its allowlist, so `/metrics` cannot grow a series per
//! invented session type.
//!
//! The access routes check the token's session as the [`Revocation`] mode given to
//! [`router`] says (`examples/axum_server.rs` reads `CHARON_ACCESS_REVOCATION`: `off`,
//! `strict` — the demo's default — or `cached`): in `strict` and `cached`, `GET /me` with
//! an access token of a logged-out session answers 401.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, Json, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use charon_auth::extract::CurrentSession;
use charon_auth::layer::Revocation;
use charon_auth::session::UserId;
use charon_auth::token::JwksDocument;
use charon_auth::{
    AccessLayer, Authenticated, Charon, CreateSession, RefreshAuth, RefreshLayer, RefreshSession,
    RequestContext, SessionInfo, SessionType, Transport,
};
use serde::{Deserialize, Serialize};

/// The session types `/login` accepts (`full` when the body names none). Also the metrics
/// bridge's allowlist of `session_type` label values ([`session_types`]).
pub(crate) const SESSION_TYPES: [&str; 2] = ["full", "oauth2"];

/// [`SESSION_TYPES`] as session types, for
/// [`CharonBuilder::metrics_session_types`](charon_auth::CharonBuilder::metrics_session_types).
pub(crate) fn session_types() -> Vec<SessionType> {
    SESSION_TYPES
        .iter()
        .filter_map(|t| SessionType::new(*t).ok())
        .collect()
}

/// Renders the `/metrics` body.
pub(crate) type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Clone)]
struct AppState {
    charon: Charon,
    metrics: MetricsRender,
}

impl FromRef<AppState> for Charon {
    /// For the extractors that need the handle ([`CurrentSession`]).
    fn from_ref(state: &AppState) -> Self {
        state.charon.clone()
    }
}

/// Login request body, typed: a malformed `user_id`, `transport` or `session_type` is
/// refused (400) by deserialization, with the crate's own complaint.
#[derive(Debug, Deserialize)]
pub(crate) struct Login {
    /// A string or a positive integer (an integer id is signed as a JSON number).
    user_id: UserId,
    transport: Transport,
    session_type: Option<SessionType>,
    /// OAuth2-style scope, space-separated, put in the access token's `scope` claim.
    scope: Option<String>,
    /// A device name the user gives, shown in the session list.
    device: Option<String>,
}

/// The longest `User-Agent` kept in a session's metadata.
const USER_AGENT_KEPT: usize = 200;

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": message })),
    )
        .into_response()
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<Login>, JsonRejection>,
) -> Response {
    let login = match body {
        Ok(Json(login)) => login,
        // A field of the wrong type or value: serde's message names it.
        Err(JsonRejection::JsonDataError(e)) => return bad_request(&e.body_text()),
        Err(_) => {
            return bad_request(
                "expected JSON {\"user_id\", \"transport\", \"session_type\"?, \"scope\"?}",
            );
        }
    };
    let mut request = CreateSession::new(login.user_id, login.transport);
    // What tells a user's sessions apart in `GET /sessions`; not secret (see
    // `Session::metadata`).
    if let Some(device) = login.device {
        request = request.metadata("device", device);
    }
    if let Some(agent) = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
    {
        let mut cut = agent.len().min(USER_AGENT_KEPT);
        while !agent.is_char_boundary(cut) {
            cut -= 1;
        }
        request = request.metadata("user_agent", &agent[..cut]);
    }
    if let Some(t) = login.session_type {
        // Only the declared types: each one is a metrics series and a session partition.
        if !SESSION_TYPES.contains(&t.as_str()) {
            let allowed = SESSION_TYPES.join(", ");
            return bad_request(&format!("session_type must be one of: {allowed}"));
        }
        request = request.session_type(t);
    }
    if let Some(scope) = login.scope {
        // A demo grants what is asked; a real application grants what the user may have.
        request = match request.access_claim("scope", scope) {
            Ok(request) => request,
            // Refused only for a reserved claim name, which "scope" is not.
            Err(e) => {
                return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
            }
        };
    }
    // A demo: no password. A real application checks credentials here.
    match state
        .charon
        .create_session(request, RequestContext::from_headers(&headers))
        .await
    {
        Ok(tokens) => tokens.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn me(auth: Authenticated) -> Response {
    Json(serde_json::json!({
        "user_id": auth.user_id_value(),
        "session_id": auth.session_id(),
        "session_type": auth.session_type(),
        "transport": auth.transport().as_str(),
    }))
    .into_response()
}

/// Behind a layer requiring scope `admin`: 403 `insufficient_scope` otherwise.
async fn admin(auth: Authenticated) -> Response {
    Json(serde_json::json!({ "user_id": auth.user_id_value() })).into_response()
}

async fn refresh(State(state): State<AppState>, auth: RefreshAuth) -> Response {
    match state
        .charon
        .refresh_session(&auth, RefreshSession::new())
        .await
    {
        Ok(tokens) => tokens.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn logout(State(state): State<AppState>, auth: Authenticated) -> Response {
    match state.charon.delete_session(&auth).await {
        Ok(done) => done.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn logout_all(State(state): State<AppState>, auth: Authenticated) -> Response {
    match state.charon.delete_all_sessions_of(&auth).await {
        Ok(done) => done.into_response(),
        Err(e) => e.into_response(),
    }
}

/// The caller's sessions, as the library's safe view (`SessionInfo`: no refresh token
/// id, no extra payload) plus whether each is the one the request came with.
async fn sessions(current: CurrentSession) -> Response {
    #[derive(Serialize)]
    struct Listed {
        #[serde(flatten)]
        info: SessionInfo,
        current: bool,
    }
    match current.list().await {
        Ok(list) => {
            let items: Vec<Listed> = list
                .into_iter()
                .map(|info| Listed {
                    current: info.is_current(current.auth()),
                    info,
                })
                .collect();
            Json(items).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// Liveness: the process runs and serves requests. Asks nothing else, so a Redis outage
/// never gets the process restarted.
async fn liveness() -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "status": "alive" })),
    )
        .into_response()
}

/// Readiness: [`Charon::health`] (the store answered a ping within the deadline, the keys
/// are there). 200 `ready`, or 503 `degraded` with the checks that failed.
async fn readiness(State(state): State<AppState>) -> Response {
    let report = state.charon.health().await;
    let (status, word) = if report.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded")
    };
    let checks = serde_json::to_value(&report)
        .ok()
        .and_then(|mut v| v.get_mut("checks").map(serde_json::Value::take))
        .unwrap_or_default();
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "status": word, "checks": checks })),
    )
        .into_response()
}

/// "Sign out that device": end one of the caller's own sessions (same user and type).
async fn revoke(current: CurrentSession, Path(session_id): Path<String>) -> Response {
    match current.revoke(&session_id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": "no such session" })),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        (state.metrics)(),
    )
        .into_response()
}

/// The page's `Content-Security-Policy`: scripts only from this origin (no inline script,
/// no `eval`), requests only to this origin, the inline `<style>` allowed.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
    style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

async fn index_page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("static/index.html"),
    )
        .into_response()
}

async fn charts_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("static/charts.js"),
    )
        .into_response()
}

async fn index_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("static/app.js"),
    )
        .into_response()
}

/// The demo router; its access routes check sessions as `revocation` says.
pub(crate) fn router(
    charon: &Charon,
    metrics_render: MetricsRender,
    revocation: Revocation,
) -> Router {
    let state = AppState {
        charon: charon.clone(),
        metrics: metrics_render,
    };
    let access = Router::new()
        .route("/me", get(me))
        .route("/logout", post(logout))
        .route("/logout-all", post(logout_all))
        .route("/sessions", get(sessions))
        .route("/sessions/{session_id}", delete(revoke))
        .route_layer(AccessLayer::new(charon).revocation(revocation));
    let admin = Router::new().route("/admin", get(admin)).route_layer(
        AccessLayer::new(charon)
            .revocation(revocation)
            .claim_contains_all("scope", ["admin"]),
    );
    let refresh = Router::new()
        .route("/refresh", post(refresh))
        .route_layer(RefreshLayer::new(charon));
    Router::new()
        .route("/", get(index_page))
        .route("/app.js", get(index_script))
        .route("/charts.js", get(charts_script))
        .route("/login", post(login))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/health", get(liveness))
        .route("/health/ready", get(readiness))
        .merge(access)
        .merge(admin)
        .merge(refresh)
        .with_state(state)
}

/// `GET /.well-known/jwks.json`: the public keys of the demo's asymmetric signing keys
/// (`CHARON_SIGNING_ALG=EdDSA` or `ES256`), with `Cache-Control: public, max-age=300`.
///
/// With HS256 (`None`) the route answers 404 with a JSON error: an HMAC key is a shared
/// secret and is never published, and an empty key set would look like a working endpoint
/// to a resource server that is then unable to verify anything.
pub(crate) fn jwks_route(jwks: Option<JwksDocument>) -> Router {
    let route = match jwks {
        Some(document) => get(document.handler()),
        None => get(|| async {
            (
                StatusCode::NOT_FOUND,
                Json(serde_json::json!({
                    "error": "no public keys: the demo signs with HS256, a shared secret; \
                              start it with CHARON_SIGNING_ALG=EdDSA or ES256",
                })),
            )
        }),
    };
    Router::new().route("/.well-known/jwks.json", route)
}
