//! Session lists: [`Charon::list_sessions`], [`Charon::list_all_sessions_of_user`].

use super::Charon;
use super::issue::session_of;
use crate::error::SessionError;
use crate::session::{Session, SessionType};
use crate::verifier::Authenticated;

impl Charon {
    /// The active sessions of a user and type.
    ///
    /// # Errors
    ///
    /// `Store` when the store fails.
    pub async fn list_sessions(
        &self,
        user_id: &str,
        session_type: &SessionType,
    ) -> Result<Vec<Session>, SessionError> {
        Ok(self
            .store()
            .get_all(user_id, session_type, self.now())
            .await?)
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
    ) -> Result<Vec<Session>, SessionError> {
        let mut all = Vec::new();
        for session_type in self.session_types_of_user(user_id).await? {
            all.extend(self.list_sessions(user_id, &session_type).await?);
        }
        Ok(all)
    }

    /// The active sessions of this request's user and session type, as
    /// [`list_sessions`](Self::list_sessions).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a token naming no session (one of another issuer), `Store`.
    pub async fn list_sessions_of(
        &self,
        auth: &Authenticated,
    ) -> Result<Vec<Session>, SessionError> {
        let (_, session_type) = session_of(auth)?;
        self.list_sessions(auth.user_id(), &session_type).await
    }
}
