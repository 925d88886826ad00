//! Session lists: [`Charon::list_sessions`].

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
