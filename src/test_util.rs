//! Helpers for applications' own tests (feature `test-util`), like Charon's TestHelpers:
//! sign a user in without a login round trip and put the tokens on a test request.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use charon_auth::{Charon, Transport};
//! use charon_auth::test_util::TestSession;
//!
//! let charon = Charon::builder()
//!     .issuer("my-app")
//!     .base_secret("a test secret that is at least 32 bytes long")
//!     .build()?;
//! let session = TestSession::create(&charon, "user-1", Transport::Bearer).await?;
//! let request = session.access_request(http::Request::get("/me")).body(())?;
//! assert!(request.headers().contains_key("authorization"));
//! # Ok(()) }
//! ```

use http::header::{AUTHORIZATION, COOKIE, HeaderValue};
use http::request::Builder;

use crate::charon::{CreateSession, IssuedTokens, RefreshSession};
use crate::session::UserId;
use crate::{AuthError, Charon, SessionError, SessionType, Transport};

pub use crate::telemetry::{RecordedEvent, RecordingHandler};

/// Why [`TestSession::refresh`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestRefreshError {
    /// The refresh checks refused the refresh token.
    #[error(transparent)]
    Refused(#[from] AuthError),
    /// The rotation failed.
    #[error(transparent)]
    Refresh(#[from] SessionError),
    /// The test request could not be built (a token that is no header value).
    #[error("the refresh request could not be built: {0}")]
    Request(http::Error),
}

/// A session created directly through the session API, with what a client would hold.
#[derive(Debug, Clone)]
pub struct TestSession {
    tokens: IssuedTokens,
    access_cookie_name: String,
    refresh_cookie_name: String,
}

impl TestSession {
    /// Create a `full` session for `user_id` with tokens shaped for `transport`.
    ///
    /// # Errors
    ///
    /// Whatever [`Charon::create_session`] returns.
    pub async fn create(
        charon: &Charon,
        user_id: impl Into<UserId>,
        transport: Transport,
    ) -> Result<Self, SessionError> {
        Self::create_with(charon, CreateSession::new(user_id, transport)).await
    }

    /// Create a session of another type.
    ///
    /// # Errors
    ///
    /// Whatever [`Charon::create_session`] returns.
    pub async fn create_typed(
        charon: &Charon,
        user_id: impl Into<UserId>,
        transport: Transport,
        session_type: SessionType,
    ) -> Result<Self, SessionError> {
        Self::create_with(
            charon,
            CreateSession::new(user_id, transport).session_type(session_type),
        )
        .await
    }

    /// Create a session from a full [`CreateSession`].
    ///
    /// # Errors
    ///
    /// Whatever [`Charon::create_session`] returns.
    pub async fn create_with(
        charon: &Charon,
        request: CreateSession,
    ) -> Result<Self, SessionError> {
        let tokens = charon
            .create_session(request, crate::RequestContext::no_request())
            .await?;
        Ok(Self::from_tokens(charon, tokens))
    }

    /// Wrap tokens issued by a login or refresh.
    pub fn from_tokens(charon: &Charon, tokens: IssuedTokens) -> Self {
        Self {
            tokens,
            access_cookie_name: charon.cookies().access_name().to_owned(),
            refresh_cookie_name: charon.cookies().refresh_name().to_owned(),
        }
    }

    /// The issued tokens.
    pub fn tokens(&self) -> &IssuedTokens {
        &self.tokens
    }

    /// Refresh as a client would: the refresh token on a `POST /refresh`, the refresh
    /// checks ([`Charon::authenticate_refresh`]), then [`Charon::refresh_session`]; the
    /// session with its new tokens.
    ///
    /// # Errors
    ///
    /// [`TestRefreshError::Refused`] when the checks refuse the token (stale, session
    /// gone, …), [`TestRefreshError::Refresh`] when the rotation fails (a conflict, …).
    pub async fn refresh(&self, charon: &Charon) -> Result<Self, TestRefreshError> {
        self.refresh_with(charon, RefreshSession::new()).await
    }

    /// [`refresh`](Self::refresh) with [`RefreshSession`] options.
    ///
    /// # Errors
    ///
    /// As [`refresh`](Self::refresh).
    pub async fn refresh_with(
        &self,
        charon: &Charon,
        options: RefreshSession,
    ) -> Result<Self, TestRefreshError> {
        let request = self
            .refresh_request(http::Request::post("/refresh"))
            .body(())
            .map_err(TestRefreshError::Request)?;
        let auth = charon
            .authenticate_refresh(request.method(), request.headers())
            .await?;
        let tokens = charon.refresh_session(&auth, options).await?;
        Ok(Self::from_tokens(charon, tokens))
    }

    /// Add the access token to a request, as a client of this transport would.
    pub fn access_request(&self, builder: Builder) -> Builder {
        self.put(
            builder,
            self.tokens.access_token(),
            &self.access_cookie_name,
        )
    }

    /// Add the refresh token to a request, as a client of this transport would.
    pub fn refresh_request(&self, builder: Builder) -> Builder {
        self.put(
            builder,
            self.tokens.refresh_token(),
            &self.refresh_cookie_name,
        )
    }

    fn put(&self, mut builder: Builder, body_token: Option<&str>, cookie_name: &str) -> Builder {
        if let Some(token) = body_token {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(value) = cookie_value(&self.tokens, cookie_name)
            && let Ok(v) = HeaderValue::from_str(&format!("{cookie_name}={value}"))
        {
            builder = builder.header(COOKIE, v);
        }
        builder
    }
}

/// The value of the `Set-Cookie` named `name` among the issued cookies.
pub fn cookie_value(tokens: &IssuedTokens, name: &str) -> Option<String> {
    tokens.set_cookies().iter().find_map(|v| {
        let text = v.to_str().ok()?;
        let pair = text.split(';').next()?;
        let (n, value) = pair.split_once('=')?;
        (n == name).then(|| value.to_owned())
    })
}
