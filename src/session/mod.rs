//! Sessions: the server-side record, its type and ids, the rules that build it, and the
//! session API on [`Charon`](crate::Charon) (create, refresh, delete, delete all, list).

mod api;
pub mod freshness;
mod id;
mod issued;
mod lifetimes;
mod model;
mod session_type;

pub use api::{CreateSession, RefreshSession};
pub use id::{
    MAX_SESSION_ID_LEN, MAX_USER_ID_LEN, is_valid_session_id, is_valid_user_id, random_id,
};
pub use issued::{IssuedTokens, LoggedOut};
pub use lifetimes::Lifetimes;
pub use model::{SCHEMA_VERSION, Session, SessionKey};
pub use session_type::{MAX_SESSION_TYPE_LEN, SessionType};
