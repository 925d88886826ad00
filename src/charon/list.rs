//! Session lists: [`Charon::list_sessions`], [`Charon::list_all_sessions_of_user`] and the
//! view they return, [`SessionInfo`].

use std::collections::BTreeMap;

use serde::Serialize;

use super::Charon;
use super::issue::session_of;
use crate::clock::UnixTime;
use crate::error::SessionError;
use crate::session::{Session, SessionType};
use crate::verifier::Authenticated;

/// A session as its user may see it in a session list ("your devices"): what tells the
/// sessions apart and when each ends, nothing that works as a credential. What the list
/// calls return, safe to serialize straight into a response.
///
/// In it: the session id (to [revoke](Charon::revoke_session_of) that one session), its
/// type, when it was created and last refreshed, when it ends (`expires_at`, absolute,
/// `None` for an infinite session; `refresh_expires_at`, when it ends unless refreshed),
/// and the application [metadata](crate::CreateSession::metadata) given at login.
///
/// Not in it, unlike the stored [`Session`] (whose `Serialize` writes every field): the
/// refresh token id (the `jti` of the live refresh token), the extra payload (server-side
/// data the application may keep secret), the token generation times and the lock version
/// (the store's internals), and the user id (a list is of one user's sessions). Read the
/// whole records from [`Charon::store`] when the application itself needs them.
///
/// It serializes as
/// `{"session_id", "session_type", "created_at", "refreshed_at", "expires_at",
/// "refresh_expires_at", "metadata"}` (times in Unix seconds, `metadata` an object of
/// strings, `{}` when none).
///
/// ```
/// use charon_auth::{Charon, CreateSession, RequestContext, Transport};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let charon = Charon::builder()
///     .issuer("my-app")
///     .base_secret("at least 32 bytes of secret entropy!!")
///     .build()?;
/// let login = CreateSession::new("ann", Transport::Bearer).metadata("device", "laptop");
/// charon.create_session(login, RequestContext::no_request()).await?;
///
/// let listed = charon.list_sessions("ann", &Default::default()).await?;
/// let json = serde_json::to_value(&listed)?;
/// assert_eq!(json[0]["metadata"]["device"], "laptop");
/// assert!(json[0].get("refresh_token_id").is_none());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session id (claim `sid`).
    pub session_id: String,
    /// The session type (claim `styp`).
    pub session_type: SessionType,
    /// When the session was created (login).
    pub created_at: UnixTime,
    /// When the session was last written (login or refresh).
    pub refreshed_at: UnixTime,
    /// The absolute end of the session; `None`: infinite.
    pub expires_at: Option<UnixTime>,
    /// When the session ends unless it is refreshed before (the newest refresh token's
    /// expiry).
    pub refresh_expires_at: UnixTime,
    /// The application metadata given at login ([`Session::metadata`]).
    pub metadata: BTreeMap<String, String>,
}

impl SessionInfo {
    /// Whether this is the session of the request `auth` was verified from (same session
    /// id and type), e.g. to mark "this device" in a list from
    /// [`list_sessions_of`](Charon::list_sessions_of).
    pub fn is_current(&self, auth: &Authenticated) -> bool {
        auth.session_id() == Some(self.session_id.as_str())
            && auth.session_type() == Some(self.session_type.as_str())
    }
}

impl From<&Session> for SessionInfo {
    fn from(session: &Session) -> Self {
        Self {
            session_id: session.id.clone(),
            session_type: session.session_type.clone(),
            created_at: session.created_at,
            refreshed_at: session.refreshed_at,
            expires_at: session.expires_at,
            refresh_expires_at: session.refresh_expires_at,
            metadata: session.metadata.clone(),
        }
    }
}

impl From<Session> for SessionInfo {
    fn from(session: Session) -> Self {
        Self {
            session_id: session.id,
            session_type: session.session_type,
            created_at: session.created_at,
            refreshed_at: session.refreshed_at,
            expires_at: session.expires_at,
            refresh_expires_at: session.refresh_expires_at,
            metadata: session.metadata,
        }
    }
}

impl Charon {
    /// The active sessions of a user and type, as the safe view [`SessionInfo`] (no
    /// refresh token id, no extra payload). The whole records:
    /// `charon.store().get_all(user_id, session_type, charon.now())`.
    ///
    /// # Errors
    ///
    /// `Store` when the store fails.
    pub async fn list_sessions(
        &self,
        user_id: &str,
        session_type: &SessionType,
    ) -> Result<Vec<SessionInfo>, SessionError> {
        Ok(self
            .store()
            .get_all(user_id, session_type, self.now())
            .await?
            .into_iter()
            .map(SessionInfo::from)
            .collect())
    }

    /// The active sessions of a user, of every session type (for an administrator's view,
    /// or a "your devices" page across apps): the types as
    /// [`revoke_all_sessions_of_user`](Self::revoke_all_sessions_of_user) finds them, then
    /// one [`list_sessions`](Self::list_sessions) per type. Ordered by session type, then
    /// as each type's list is (not one atomic snapshot across types).
    ///
    /// # Errors
    ///
    /// `Store` when the store fails or cannot list a user's session types.
    pub async fn list_all_sessions_of_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<SessionInfo>, SessionError> {
        let mut all = Vec::new();
        for session_type in self.session_types_of_user(user_id).await? {
            all.extend(self.list_sessions(user_id, &session_type).await?);
        }
        Ok(all)
    }

    /// The active sessions of this request's user and session type, as
    /// [`list_sessions`](Self::list_sessions); [`SessionInfo::is_current`] tells which one
    /// the request came with.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a token naming no session (one of another issuer), `Store`.
    pub async fn list_sessions_of(
        &self,
        auth: &Authenticated,
    ) -> Result<Vec<SessionInfo>, SessionError> {
        let (_, session_type) = session_of(auth)?;
        self.list_sessions(auth.user_id(), &session_type).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_serializes_no_credential_and_no_payload() {
        let mut session = Session::new(
            "sid-1".into(),
            "ann".into(),
            SessionType::default(),
            1_000,
            None,
            2_000,
            "the-refresh-jti".into(),
        );
        session
            .extra_payload
            .insert("secret".into(), "server-side only".into());
        session.metadata.insert("device".into(), "phone".into());
        // The stored record writes both (the store needs them)…
        let record = serde_json::to_string(&session).unwrap();
        assert!(record.contains("the-refresh-jti") && record.contains("server-side only"));

        let json = serde_json::to_value(SessionInfo::from(&session)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "session_id": "sid-1",
                "session_type": "full",
                "created_at": 1_000,
                "refreshed_at": 1_000,
                "expires_at": null,
                "refresh_expires_at": 2_000,
                "metadata": {"device": "phone"},
            })
        );
        // …the view neither, under any name.
        let text = json.to_string();
        assert!(!text.contains("the-refresh-jti") && !text.contains("server-side only"));
        assert_eq!(
            SessionInfo::from(session.clone()),
            SessionInfo::from(&session)
        );
    }
}
