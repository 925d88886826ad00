//! # charon-auth
//!
//! Session and token authentication middleware for axum/hyper services, built as Tower
//! layers. A port of the Elixir library Charon.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod charon;
pub mod clock;
pub mod config;
pub mod error;
#[cfg(feature = "axum")]
pub mod extract;
pub mod session;
pub mod store;
pub mod telemetry;
#[cfg(feature = "test-util")]
pub mod test_util;
pub mod token;
pub mod transport;
pub mod verify;

pub use charon::{Charon, CharonBuilder};
pub use clock::{Clock, ManualClock, SystemClock, UnixTime};
pub use config::{ReuseDetection, SessionTtl};
pub use error::{
    AuthError, AuthErrorKind, ConfigError, ConfigErrorKind, SessionError, SessionErrorKind,
    StoreError, StoreErrorKind,
};
pub use session::{CreateSession, IssuedTokens, LoggedOut, RefreshSession, Session, SessionType};
pub use token::{Claims, JwtCodec, Key, Keyset, TokenType};
pub use transport::Transport;
pub use verify::{AuthLayer, Authenticated};
