//! [`RefreshAuth`]: a refresh request that passed the refresh checks, and those checks:
//! verify the refresh token → load its session → freshness (reuse revokes the session).

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, Method};

use crate::Charon;
use crate::clock::UnixTime;
use crate::config::{ReuseDetection, secs};
use crate::error::{AuthError, AuthErrorKind};
use crate::session::{Session, SessionKey, SessionType, freshness};
use crate::token::TokenType;
use crate::verifier::{Attempt, Authenticated, ClaimCheck};

/// A request whose refresh token verified, whose session was loaded and is fresh: put in
/// the request by the [`RefreshLayer`](crate::layer::RefreshLayer), and the only thing
/// [`Charon::refresh_session`] accepts, so a refresh route without the refresh layer does
/// not compile.
///
/// Cheap to clone. Its [`Authenticated`] (with the session) is in the request too.
#[derive(Clone)]
pub struct RefreshAuth {
    auth: Authenticated,
    session: Arc<Session>,
    new_cycle: bool,
}

impl RefreshAuth {
    /// The verified identity (its [`session`](Authenticated::session) is the loaded one).
    pub fn authenticated(&self) -> &Authenticated {
        &self.auth
    }

    /// The session the refresh token belongs to, as loaded from the store.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The user id.
    pub fn user_id(&self) -> &str {
        self.session.user_id.as_str()
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        &self.session.id
    }

    /// The session type.
    pub fn session_type(&self) -> &SessionType {
        &self.session.session_type
    }

    /// The request time every check used; the refresh reuses it.
    pub fn now(&self) -> UnixTime {
        self.auth.now()
    }

    /// Whether a refresh from this request starts a new token generation.
    pub fn starts_new_generation(&self) -> bool {
        self.new_cycle
    }
}

impl fmt::Debug for RefreshAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshAuth")
            .field("auth", &self.auth)
            .field("new_cycle", &self.new_cycle)
            .finish()
    }
}

impl Charon {
    /// Run the refresh route's checks on a request, as the
    /// [`RefreshLayer`](crate::layer::RefreshLayer) does (without claim checks): the refresh
    /// token from the `Authorization` header and the refresh cookie, CSRF for the
    /// cookie-only transport, the token verified as a refresh token of this handle's own
    /// issuer, its session loaded from the store, and freshness; a stale (replayed) token
    /// revokes the session by default. Emits exactly one token event. For code outside
    /// Tower.
    ///
    /// # Errors
    ///
    /// The [`AuthError`] of the first failed step (`session not found`, `token stale`, 503
    /// when the store fails, …).
    pub async fn authenticate_refresh(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<RefreshAuth, AuthError> {
        self.authenticate_refresh_with(method, headers, &[], self.now())
            .await
    }

    /// [`authenticate_refresh`](Self::authenticate_refresh) with the layer's claim checks
    /// and time.
    pub(crate) async fn authenticate_refresh_with(
        &self,
        method: &Method,
        headers: &HeaderMap,
        checks: &[ClaimCheck],
        now: UnixTime,
    ) -> Result<RefreshAuth, AuthError> {
        let verifier = self.verifier();
        let mut attempt = Attempt::default();
        let result = match verifier.check_request(
            method,
            headers,
            TokenType::Refresh,
            checks,
            now,
            &mut attempt,
        ) {
            Ok(auth) => self.load_fresh_session(auth, &mut attempt).await,
            Err(error) => Err(error),
        };
        verifier.emit(&attempt, result.as_ref().err());
        result
    }

    async fn load_fresh_session(
        &self,
        mut auth: Authenticated,
        attempt: &mut Attempt,
    ) -> Result<RefreshAuth, AuthError> {
        // Only refresh tokens of this handle's own issuer name one of its sessions.
        if auth.issuer() != self.issuer() {
            return Err(AuthError::claim_invalid("iss"));
        }
        let (Some(sid), Some(styp), Some(iat)) =
            (auth.session_id(), auth.session_type(), auth.claims().iat)
        else {
            return Err(AuthError::claim_not_found("sid"));
        };
        let session_type = SessionType::new(styp).map_err(|_| AuthError::claim_invalid("styp"))?;
        let key = SessionKey::new(sid, auth.user_id(), &session_type);
        let session: Session = match self.store().get(key, auth.now()).await {
            // Stores key by the user id's text; `sub` must also have its type (42 is not
            // "42"), as Charon's stores match it.
            Ok(Some(session)) if session.user_id == *auth.user_id_value() => session,
            Ok(_) => return Err(AuthError::new(AuthErrorKind::SessionNotFound)),
            Err(e) => return Err(AuthError::new(AuthErrorKind::StoreUnavailable).with_source(e)),
        };
        attempt.session_loaded = true;
        let times = self.times();
        let fresh = freshness::check(
            &session,
            iat,
            auth.now(),
            secs(times.new_cycle_after),
            secs(times.leeway),
        );
        if !fresh.fresh {
            if self.reuse_detection() == ReuseDetection::RevokeSession {
                // A stale refresh token was replayed: most likely stolen. End the session so
                // neither the thief nor the victim can refresh it any more (RFC 9700 4.14.2).
                // A store failure here still rejects the request.
                if let Err(_error) = self.store().delete(key, auth.now()).await {
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
        let session = Arc::new(session);
        auth.session = Some(Arc::clone(&session));
        Ok(RefreshAuth {
            auth,
            session,
            new_cycle: fresh.new_cycle,
        })
    }
}
