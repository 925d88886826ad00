//! The session model: the server-side record ([`Session`]), its key, type and ids, and the
//! rules that build it (TTLs in [`Lifetimes`], token generations in [`freshness`]).
//!
//! Nothing here signs tokens or talks to a store: the session API that does lives on the
//! session authority, [`Charon`](crate::Charon), and the stores in [`store`](crate::store).

pub mod freshness;
mod id;
mod lifetimes;
mod model;
mod session_type;

pub use id::{
    MAX_SESSION_ID_LEN, MAX_USER_ID_LEN, is_valid_session_id, is_valid_user_id, random_id,
};
pub use lifetimes::Lifetimes;
pub(crate) use model::check_metadata;
pub use model::{
    MAX_METADATA_ENTRIES, MAX_METADATA_KEY_LEN, MAX_METADATA_VALUE_LEN, SCHEMA_VERSION, Session,
    SessionKey,
};
pub use session_type::{MAX_SESSION_TYPE_LEN, SessionType};
