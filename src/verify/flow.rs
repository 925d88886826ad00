//! The verification steps of one request, in order, and the token event they end with.
//!
//! transport gate → (CSRF for cookie-only) → signature → claims → extra checks →
//! (refresh: load session → freshness, reuse revocation) → `charon.token.valid|invalid`.

use std::sync::Arc;

use http::{HeaderMap, Method};

use super::{Authenticated, ClaimCheck};
use crate::Charon;
use crate::clock::UnixTime;
use crate::config::{ReuseDetection, secs};
use crate::error::{AuthError, AuthErrorKind};
use crate::session::{Session, SessionKey, SessionType, freshness};
use crate::telemetry::{ClaimMeta, Event, EventKind, TokenMeta};
use crate::token::{Claims, TokenType};
use crate::transport::{Transport, extract_token};

/// What the steps found out, for the token event.
#[derive(Default)]
struct Trace {
    transport: Option<Transport>,
    claims: Option<Arc<Claims>>,
    session_loaded: bool,
}

/// Verify a request's token of `kind` (access or refresh); refresh tokens also load their
/// session and must be fresh. Emits exactly one token event.
pub(crate) async fn verify_request(
    charon: &Charon,
    method: &Method,
    headers: &HeaderMap,
    kind: TokenType,
    checks: &[ClaimCheck],
    now: UnixTime,
) -> Result<Authenticated, AuthError> {
    let mut trace = Trace::default();
    let result = match verify_token(charon, method, headers, kind, checks, now, &mut trace) {
        Ok(auth) if kind == TokenType::Refresh => load_session(charon, auth, &mut trace).await,
        other => other,
    };
    emit(charon, &trace, result.as_ref().err());
    result
}

/// Verify an access token without touching the store: synchronous, for the hot path.
pub(crate) fn verify_access_sync(
    charon: &Charon,
    method: &Method,
    headers: &HeaderMap,
    checks: &[ClaimCheck],
    now: UnixTime,
) -> Result<Authenticated, AuthError> {
    let mut trace = Trace::default();
    let result = verify_token(
        charon,
        method,
        headers,
        TokenType::Access,
        checks,
        now,
        &mut trace,
    );
    emit(charon, &trace, result.as_ref().err());
    result
}

fn verify_token(
    charon: &Charon,
    method: &Method,
    headers: &HeaderMap,
    kind: TokenType,
    checks: &[ClaimCheck],
    now: UnixTime,
    trace: &mut Trace,
) -> Result<Authenticated, AuthError> {
    let cookie_name = match kind {
        TokenType::Access => charon.cookies().access_name(),
        TokenType::Refresh => charon.cookies().refresh_name(),
    };
    let found = extract_token(headers, cookie_name, charon.gate_limits())?;
    trace.transport = Some(found.transport);
    charon.csrf().check(found.transport, method, headers)?;
    let claims = charon
        .token_cache()
        .get_or_verify_at(&found.token, now, || {
            charon.codec().verify_claims(&found.token)
        })?;
    trace.claims = Some(Arc::clone(&claims));
    charon.codec().validate(&claims, now, kind)?;
    for check in checks {
        check.check(&claims)?;
    }
    Ok(Authenticated {
        claims,
        transport: found.transport,
        session: None,
        now,
        new_cycle: false,
    })
}

async fn load_session(
    charon: &Charon,
    mut auth: Authenticated,
    trace: &mut Trace,
) -> Result<Authenticated, AuthError> {
    let session_type =
        SessionType::new(auth.session_type()).map_err(|_| AuthError::claim_invalid("styp"))?;
    let key = SessionKey::new(auth.session_id(), auth.user_id(), &session_type);
    let session: Session = match charon.store().get(key, auth.now).await {
        Ok(Some(session)) => session,
        Ok(None) => return Err(AuthError::new(AuthErrorKind::SessionNotFound)),
        Err(e) => return Err(AuthError::new(AuthErrorKind::StoreUnavailable).with_source(e)),
    };
    trace.session_loaded = true;
    let times = charon.times();
    let fresh = freshness::check(
        &session,
        auth.claims.iat,
        auth.now,
        secs(times.new_cycle_after),
        secs(times.leeway),
    );
    if !fresh.fresh {
        if charon.reuse_detection() == ReuseDetection::RevokeSession {
            // A stale refresh token was replayed: most likely stolen. End the session so
            // neither the thief nor the victim can refresh it any more (RFC 9700 4.14.2).
            // A store failure here still rejects the request.
            if let Err(_error) = charon.store().delete(key, auth.now).await {
                #[cfg(feature = "tracing")]
                tracing::warn!(
                    target: "charon::token",
                    error = %_error,
                    "could not revoke the session of a replayed refresh token"
                );
            }
        }
        return Err(AuthError::new(AuthErrorKind::TokenStale));
    }
    auth.new_cycle = fresh.new_cycle;
    auth.session = Some(Arc::new(session));
    Ok(auth)
}

fn emit(charon: &Charon, trace: &Trace, error: Option<&AuthError>) {
    let kind = if error.is_some() {
        EventKind::TokenInvalid
    } else {
        EventKind::TokenValid
    };
    charon.telemetry().emit(kind, || {
        let claims = trace
            .claims
            .as_deref()
            .map(|c| ClaimMeta::new(c.token_type.as_str(), &c.sub, &c.sid, &c.styp));
        Event::token(TokenMeta::new(
            trace.session_loaded,
            trace.transport,
            claims,
            error,
        ))
    });
}
