//! # charon-auth
//!
//! Session and token authentication middleware for axum/hyper services, built as Tower
//! layers. A port of the Elixir library Charon.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod clock;
pub mod error;
pub mod session;
pub mod store;
pub mod telemetry;
pub mod token;
pub mod transport;

pub use clock::{Clock, ManualClock, SystemClock, UnixTime};
pub use error::{
    AuthError, AuthErrorKind, ConfigError, ConfigErrorKind, SessionError, SessionErrorKind,
    StoreError, StoreErrorKind,
};
pub use session::{Session, SessionType};
pub use token::{Claims, JwtCodec, Key, Keyset, TokenType};
pub use transport::Transport;
