//! [`Authenticated`]: the verified identity a request carries.

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::clock::UnixTime;
use crate::error::AuthError;
use crate::session::{Session, UserId};
use crate::token::{Claims, TokenType};
use crate::transport::Transport;

/// The verified identity of a request, put in its extensions by the access layer (and, for
/// refresh routes, inside [`RefreshAuth`](crate::RefreshAuth)).
///
/// Read it with `req.extensions().get::<Authenticated>()`, or with the axum extractors
/// (feature `axum`). Cheap to clone.
#[derive(Clone)]
pub struct Authenticated {
    pub(crate) claims: Arc<Claims>,
    pub(crate) transport: Transport,
    pub(crate) now: UnixTime,
    pub(crate) session: Option<Arc<Session>>,
}

impl Authenticated {
    pub(crate) fn new(claims: Arc<Claims>, transport: Transport, now: UnixTime) -> Self {
        Self {
            claims,
            transport,
            now,
            session: None,
        }
    }

    /// The user id (claim `sub`) as text: a string id itself, an integer id's decimal
    /// digits (`"sub": 42` reads `"42"`). [`user_id_value`](Self::user_id_value) keeps the
    /// type.
    pub fn user_id(&self) -> &str {
        self.claims.sub.as_str()
    }

    /// The user id (claim `sub`) with its JSON type: an integer for `"sub": 42` (what
    /// Charon signs for an integer id), a string for `"sub": "42"`.
    ///
    /// ```
    /// # use charon_auth::session::UserId;
    /// # fn handler(auth: charon_auth::Authenticated) {
    /// match auth.user_id_value().as_u64() {
    ///     Some(id) => println!("user #{id}"),
    ///     None => println!("user {}", auth.user_id()),
    /// }
    /// # }
    /// ```
    pub fn user_id_value(&self) -> &UserId {
        &self.claims.sub
    }

    /// The issuer (claim `iss`).
    pub fn issuer(&self) -> &str {
        &self.claims.iss
    }

    /// The session id (claim `sid`); `None` for a token of another issuer, which names no
    /// session.
    pub fn session_id(&self) -> Option<&str> {
        self.claims.session_id()
    }

    /// The session type (claim `styp`); `None` for a token naming no session.
    pub fn session_type(&self) -> Option<&str> {
        self.claims.session_type()
    }

    /// The token type (claim `type`); `None` for a token naming no session (such tokens are
    /// only accepted as access tokens).
    pub fn token_type(&self) -> Option<TokenType> {
        self.claims.token_type()
    }

    /// All verified claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The verified claims as the application's own type: every claim, reserved and extra,
    /// deserialized into `T` (e.g. a struct with `sub`, `scope` and a custom `tenant`).
    ///
    /// # Errors
    ///
    /// [`AuthError::claim_invalid`] naming `T`'s complaint when the claims do not fit `T`
    /// (a layer configured with [`typed_claims`](crate::layer::AccessLayer::typed_claims)
    /// refuses such tokens up front).
    pub fn claims_as<T: DeserializeOwned>(&self) -> Result<T, AuthError> {
        deserialize_claims(&self.claims)
    }

    /// How the token arrived; a refresh keeps it.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The session, when a layer loaded it (the refresh layer always does; the access layer
    /// with a session check does).
    pub fn session(&self) -> Option<&Session> {
        self.session.as_deref()
    }

    /// The request time every check used; the session API reuses it.
    pub fn now(&self) -> UnixTime {
        self.now
    }
}

impl fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticated")
            .field("claims", &self.claims)
            .field("transport", &self.transport)
            .field("now", &self.now)
            .field("session", &self.session)
            .finish()
    }
}

/// `claims` as a `T`, or `claim_invalid("claims")`.
pub(crate) fn deserialize_claims<T: DeserializeOwned>(claims: &Claims) -> Result<T, AuthError> {
    let value = serde_json::to_value(claims).map_err(|_| AuthError::claim_invalid("claims"))?;
    serde_json::from_value(value).map_err(|e| {
        // serde's message names the field ("missing field `tenant`"); keep it as the source.
        AuthError::claim_invalid("claims").with_source(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let auth = Authenticated::new(Arc::new(claims), Transport::Bearer, 0);
        let text = format!("{auth:?}");
        assert!(!text.contains("the-refresh-token-id"), "{text}");
        assert!(text.contains("REDACTED") && text.contains("user"), "{text}");
        // Access token ids are random per token and identify nothing: they stay visible.
        let access = Claims::new(TokenType::Access, "iss", "u", "s", "full", "access-jti");
        assert!(format!("{access:?}").contains("access-jti"));
    }

    #[test]
    fn typed_claims() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Mine {
            sub: String,
            tenant: String,
        }
        let mut claims = Claims::new(TokenType::Access, "iss", "u", "s", "full", "j");
        let auth = Authenticated::new(Arc::new(claims.clone()), Transport::Bearer, 0);
        let err = auth.claims_as::<Mine>().unwrap_err();
        assert_eq!(err, AuthError::claim_invalid("claims"));
        claims
            .insert_extra("tenant", "acme".into())
            .map_err(|e| e.to_string())
            .unwrap_or_default();
        let auth = Authenticated::new(Arc::new(claims), Transport::Bearer, 0);
        assert_eq!(
            auth.claims_as::<Mine>().ok(),
            Some(Mine {
                sub: "u".into(),
                tenant: "acme".into()
            })
        );
    }
}
