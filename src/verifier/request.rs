//! Authenticating one request: the steps in order, and the token event they end with.
//!
//! transport gate → (CSRF for cookie-only) → signature → claims → the route's claim checks
//! → `charon.token.valid|invalid`. The refresh route adds the session load and freshness
//! (in [`Charon`](crate::Charon)) before the event.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method};

use super::{Authenticated, ClaimCheck, Verifier};
use crate::clock::UnixTime;
use crate::error::AuthError;
use crate::telemetry::{ClaimMeta, Event, EventKind, TokenMeta};
use crate::token::{Claims, TokenType};
use crate::transport::{Transport, extract_token};

/// What one request's verification found out, for its token event.
#[derive(Debug, Default)]
pub(crate) struct Attempt {
    pub(crate) transport: Option<Transport>,
    pub(crate) claims: Option<Arc<Claims>>,
    pub(crate) session_loaded: bool,
    /// How long the verification took (`None` when it began without a handler wanting token events).
    pub(crate) duration: Option<Duration>,
}

impl Verifier {
    /// Authenticate a request by its access token, as the
    /// [`AccessLayer`](crate::layer::AccessLayer) does (without claim checks): read the
    /// token from the `Authorization` header and the access cookie, check CSRF for the
    /// cookie-only transport, verify it at the clock's current time, and emit exactly one
    /// `charon.token.valid` or `charon.token.invalid` event. For code outside Tower (plain
    /// hyper, other frameworks).
    ///
    /// # Errors
    ///
    /// The [`AuthError`] of the first failed step; its [`status`](AuthError::status) is
    /// the HTTP answer.
    pub fn authenticate(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Authenticated, AuthError> {
        self.authenticate_with(method, headers, &[], self.now())
    }

    /// [`authenticate`](Self::authenticate), and when the token names a key its issuer's
    /// remote JWKS has not published to this verifier yet, fetch it first (rate-limited by
    /// the JWKS) and verify again, as the access layer does. Emits exactly one event.
    ///
    /// # Errors
    ///
    /// As [`authenticate`](Self::authenticate).
    pub async fn authenticate_fetching(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Authenticated, AuthError> {
        let now = self.now();
        let mut attempt = Attempt::default();
        let result = self.check_request(method, headers, TokenType::Access, &[], now, &mut attempt);
        if let Err(error) = &result
            && self.may_fetch_keys(error)
            && let Some(fetch) = self.access_token(headers).and_then(|t| self.key_fetch(&t))
        {
            fetch.await;
            return self.authenticate_with(method, headers, &[], self.now());
        }
        self.emit(&attempt, result.as_ref().err());
        result
    }

    /// The access token of a request (header or cookie), when the gate accepts it.
    pub(crate) fn access_token<'h>(&self, headers: &'h HeaderMap) -> Option<Cow<'h, str>> {
        extract_token(headers, self.cookies().access_name(), self.gate_limits())
            .ok()
            .map(|found| found.token)
    }

    /// [`authenticate`](Self::authenticate) with the layer's claim checks and time.
    pub(crate) fn authenticate_with(
        &self,
        method: &Method,
        headers: &HeaderMap,
        checks: &[ClaimCheck],
        now: UnixTime,
    ) -> Result<Authenticated, AuthError> {
        let mut attempt = Attempt::default();
        let result = self.check_request(
            method,
            headers,
            TokenType::Access,
            checks,
            now,
            &mut attempt,
        );
        self.emit(&attempt, result.as_ref().err());
        result
    }

    /// The steps up to the claim checks for a token of `kind`, recording what they found in
    /// `attempt` and how long they took, in the `charon.verify` span; emits nothing.
    pub(crate) fn check_request(
        &self,
        method: &Method,
        headers: &HeaderMap,
        kind: TokenType,
        checks: &[ClaimCheck],
        now: UnixTime,
        attempt: &mut Attempt,
    ) -> Result<Authenticated, AuthError> {
        let timer = self.telemetry().verification_timer(kind.as_str());
        let result =
            timer.in_scope(|| self.check_steps(method, headers, kind, checks, now, attempt));
        attempt.duration = timer.finish(attempt.transport, result.as_ref().err());
        result
    }

    fn check_steps(
        &self,
        method: &Method,
        headers: &HeaderMap,
        kind: TokenType,
        checks: &[ClaimCheck],
        now: UnixTime,
        attempt: &mut Attempt,
    ) -> Result<Authenticated, AuthError> {
        let cookie_name = match kind {
            TokenType::Access => self.cookies().access_name(),
            TokenType::Refresh => self.cookies().refresh_name(),
        };
        let found = extract_token(headers, cookie_name, self.gate_limits())?;
        attempt.transport = Some(found.transport);
        self.csrf().check(found.transport, method, headers)?;
        let claims = self.decode(&found.token, now)?;
        // From here on the signature is verified: a token failing a later check (expired,
        // wrong type) still names its user and session in the event.
        attempt.claims = Some(Arc::clone(&claims));
        self.validate(&claims, now, kind)?;
        for check in checks {
            check.check(&claims)?;
        }
        Ok(Authenticated::new(claims, found.transport, now))
    }

    /// Emit the token event of `attempt`: `charon.token.invalid` with `error`, or
    /// `charon.token.valid`.
    pub(crate) fn emit(&self, attempt: &Attempt, error: Option<&AuthError>) {
        let kind = if error.is_some() {
            EventKind::TokenInvalid
        } else {
            EventKind::TokenValid
        };
        let Some(duration) = attempt.duration else {
            return;
        };
        self.telemetry().emit(kind, || {
            let claims = attempt.claims.as_deref().map(ClaimMeta::of);
            let mut meta = TokenMeta::new(attempt.session_loaded, attempt.transport, claims, error);
            meta.measurements.duration = duration;
            Event::token(meta)
        });
    }
}
