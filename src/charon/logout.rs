//! Logout: [`Charon::delete_session`], [`Charon::delete_all_sessions`] and
//! [`Charon::revoke_session`], each also for the current request's user (`*_of`);
//! revocation by an administrator: [`Charon::revoke_all_sessions_of_user`].

use super::{Charon, LoggedOut, issue::session_of};
use crate::error::SessionError;
use crate::session::{SessionKey, SessionType};
use crate::transport::Transport;
use crate::verifier::Authenticated;

impl Charon {
    /// Log out: delete the session of a verified request and clear both token cookies.
    /// The access token stays valid until it expires (keep access TTLs short), except on
    /// access layers with a [session check](crate::layer::AccessLayer::revocation).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a token naming no session (one of another issuer), `Store` when
    /// the store fails.
    pub async fn delete_session(&self, auth: &Authenticated) -> Result<LoggedOut, SessionError> {
        let (sid, session_type) = session_of(auth)?;
        let key = SessionKey::new(sid, auth.user_id(), &session_type);
        let deleted = self.store().delete(key, auth.now()).await?;
        Ok(LoggedOut {
            set_cookies: self.clearing_cookies(),
            deleted,
            clear_site_data: auth.transport() != Transport::Bearer
                && self.cookies().clear_site_data(),
        })
    }

    /// Revoke one session by id, for "sign out that device" (from the user's own session
    /// list) or an administrator: deletes the session `session_id` of `user_id` and
    /// `session_type`; returns whether it was there. The key names the user, so a user
    /// asking with their own id can never end someone else's session (the answer is
    /// `false`, as for an unknown id). Emits `charon.session.delete`. Access tokens of the
    /// session stop at once on access layers with a
    /// [session check](crate::layer::AccessLayer::revocation), otherwise when they expire.
    ///
    /// # Errors
    ///
    /// [`SessionErrorKind::Store`](crate::SessionErrorKind::Store) when the store fails (the
    /// session may still exist; retry).
    pub async fn revoke_session(
        &self,
        user_id: &str,
        session_type: &SessionType,
        session_id: &str,
    ) -> Result<bool, SessionError> {
        let key = SessionKey::new(session_id, user_id, session_type);
        Ok(self.store().delete(key, self.now()).await?)
    }

    /// "Sign out that device" from the user's own session list: revoke the session
    /// `session_id` of this request's user and session type, as
    /// [`revoke_session`](Self::revoke_session) (`false` for an unknown id or a session of
    /// someone else: the key names the user), without rebuilding the session type from the
    /// token.
    ///
    /// ```
    /// use charon_auth::{Authenticated, Charon, SessionError};
    ///
    /// // Behind an access layer: `DELETE /sessions/{id}`.
    /// async fn sign_out_device(
    ///     charon: &Charon,
    ///     auth: &Authenticated,
    ///     session_id: &str,
    /// ) -> Result<bool, SessionError> {
    ///     charon.revoke_session_of(auth, session_id).await
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a token naming no session (one of another issuer), `Store`.
    pub async fn revoke_session_of(
        &self,
        auth: &Authenticated,
        session_id: &str,
    ) -> Result<bool, SessionError> {
        let (_, session_type) = session_of(auth)?;
        self.revoke_session(auth.user_id(), &session_type, session_id)
            .await
    }

    /// Revoke every session of a user, of every session type (an administrator's "sign this
    /// user out everywhere", an account that was compromised or closed). Returns the types
    /// it deleted the sessions of. The caller's cookies are left alone: an administrator is
    /// not logging themself out.
    ///
    /// It asks the store which types the user may have sessions of
    /// ([`SessionStore::session_types`](crate::store::SessionStore::session_types)), adds
    /// the default type, then deletes every session of each type as
    /// [`delete_all_sessions`](Self::delete_all_sessions) does, one type after the other,
    /// each type atomically: `charon.session.delete_all` is emitted once per type. A login
    /// that runs at the same time may end before or after it; any session created before
    /// the call began is gone when it returns. Access tokens of the deleted sessions stop
    /// at once on access layers with a
    /// [session check](crate::layer::AccessLayer::revocation), otherwise when they expire.
    ///
    /// With the Redis store, the types come from a per-user index that every write keeps
    /// (see [`RedisStore`](crate::store::redis::RedisStore), "Every type of a user"):
    /// sessions written by a version without it are covered once they are refreshed (or
    /// when they are of the default type); until then, delete the others with
    /// [`delete_all_sessions`](Self::delete_all_sessions) per type.
    ///
    /// # Errors
    ///
    /// [`SessionErrorKind::Store`](crate::SessionErrorKind::Store) when the store fails, or
    /// cannot list a user's session types (a custom store without
    /// [`session_types`](crate::store::SessionStore::session_types)). The sessions of some
    /// types may be deleted already; the call is idempotent, retry it.
    pub async fn revoke_all_sessions_of_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<SessionType>, SessionError> {
        let types = self.session_types_of_user(user_id).await?;
        for session_type in &types {
            self.store().delete_all(user_id, session_type).await?;
        }
        Ok(types)
    }

    /// The types `user_id` may have sessions of: the store's answer and the default type,
    /// sorted, without duplicates.
    pub(super) async fn session_types_of_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<SessionType>, SessionError> {
        let mut types = self.store().session_types(user_id, self.now()).await?;
        types.push(SessionType::default());
        types.sort_unstable();
        types.dedup();
        Ok(types)
    }

    /// Log out everywhere: delete every session of a user and type, and clear the cookies
    /// of the current client.
    ///
    /// # Errors
    ///
    /// `Store` when the store fails.
    pub async fn delete_all_sessions(
        &self,
        user_id: &str,
        session_type: &SessionType,
    ) -> Result<LoggedOut, SessionError> {
        self.store().delete_all(user_id, session_type).await?;
        Ok(LoggedOut {
            set_cookies: self.clearing_cookies(),
            deleted: true,
            // The caller's transport is not known here; browsers (cookie clients) act on
            // the header, other clients ignore it.
            clear_site_data: self.cookies().clear_site_data(),
        })
    }

    /// Log out everywhere for the user of this request: every session of its user and
    /// session type, as [`delete_all_sessions`](Self::delete_all_sessions), without
    /// rebuilding the session type from the token.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a token naming no session (one of another issuer), `Store`.
    pub async fn delete_all_sessions_of(
        &self,
        auth: &Authenticated,
    ) -> Result<LoggedOut, SessionError> {
        let (_, session_type) = session_of(auth)?;
        self.delete_all_sessions(auth.user_id(), &session_type)
            .await
    }
}
