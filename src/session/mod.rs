//! The session model: the server-side record ([`Session`]), its key, type and ids, and the
//! rules that build it (TTLs in [`Lifetimes`], token generations in [`freshness`]).
//!
//! # User ids
//!
//! A [`UserId`] is a positive integer or a string, as in Charon, and keeps its JSON type
//! (`"sub": 42` stays a number across refreshes and in the store). Stores key sessions by
//! the user id's text ([`SessionKey`]), as Charon's Redis store keys them by
//! `to_string(user_id)`, so `42` and `"42"` share a key and are listed and deleted
//! together by [`Charon::list_sessions`](crate::Charon::list_sessions) and
//! [`Charon::delete_all_sessions`](crate::Charon::delete_all_sessions). Where a token names
//! its session (the refresh layer, the access layer's session check), the session's user
//! id must also have the token's `sub` type, as Charon's stores match it: a token for
//! `"42"` never loads a session of `42`.
//!
//! Nothing here signs tokens or talks to a store: the session API that does lives on the
//! session authority, [`Charon`](crate::Charon), and the stores in [`store`](crate::store).

pub mod freshness;
mod id;
mod lifetimes;
mod memo;
mod model;
mod payload;
mod session_type;
mod user_id;

pub use id::{
    MAX_SESSION_ID_LEN, MAX_USER_ID_LEN, is_valid_session_id, is_valid_user_id, random_id,
};
pub use lifetimes::Lifetimes;
pub use memo::SessionMemo;
#[cfg(feature = "redis")]
pub(crate) use memo::{Memo, ReadToken};
pub(crate) use model::check_metadata;
pub use model::{
    MAX_METADATA_ENTRIES, MAX_METADATA_KEY_LEN, MAX_METADATA_VALUE_LEN, SCHEMA_VERSION, Session,
    SessionKey,
};
pub use payload::{PayloadError, PayloadErrorKind};
pub(crate) use payload::{reserved_claim, to_object};
pub use session_type::{MAX_SESSION_TYPE_LEN, SessionType};
pub use user_id::UserId;
