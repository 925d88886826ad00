//! What a verified request carries in its extensions.

use std::sync::Arc;

use crate::clock::UnixTime;
use crate::error::AuthError;
use crate::session::Session;
use crate::token::Claims;
use crate::transport::Transport;

/// The verified identity of a request, put in its extensions by the verification layers.
///
/// Read it with `req.extensions().get::<Authenticated>()`, or with the axum extractors
/// (feature `axum`). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub(crate) claims: Arc<Claims>,
    pub(crate) transport: Transport,
    pub(crate) session: Option<Arc<Session>>,
    pub(crate) now: UnixTime,
    pub(crate) new_cycle: bool,
}

impl Authenticated {
    /// The user id (claim `sub`).
    pub fn user_id(&self) -> &str {
        &self.claims.sub
    }

    /// The session id (claim `sid`).
    pub fn session_id(&self) -> &str {
        &self.claims.sid
    }

    /// The session type (claim `styp`).
    pub fn session_type(&self) -> &str {
        &self.claims.styp
    }

    /// All verified claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// How the token arrived; a refresh keeps it.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The session, loaded by the refresh layer (`None` behind the access layer).
    pub fn session(&self) -> Option<&Session> {
        self.session.as_deref()
    }

    /// The request time every check used; the session API reuses it.
    pub fn now(&self) -> UnixTime {
        self.now
    }

    /// Whether a refresh from this request starts a new token generation.
    pub fn starts_new_generation(&self) -> bool {
        self.new_cycle
    }
}

/// The outcome placed in the extensions by a layer in
/// [`optional`](super::AuthLayer::optional) mode: the identity, or why there is none.
pub type AuthOutcome = Result<Authenticated, AuthError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::TokenType;

    #[test]
    fn debug_redacts_the_refresh_token_id() {
        let claims = Claims::new(
            TokenType::Refresh,
            "iss",
            "user",
            "sid",
            "full",
            "the-refresh-token-id",
        );
        let auth = Authenticated {
            claims: Arc::new(claims),
            transport: Transport::Bearer,
            session: None,
            now: 0,
            new_cycle: false,
        };
        let text = format!("{auth:?}");
        assert!(!text.contains("the-refresh-token-id"), "{text}");
        assert!(text.contains("REDACTED") && text.contains("user"), "{text}");
        // Access token ids are random per token and identify nothing: they stay visible.
        let access = Claims::new(TokenType::Access, "iss", "u", "s", "full", "access-jti");
        assert!(format!("{access:?}").contains("access-jti"));
    }
}
