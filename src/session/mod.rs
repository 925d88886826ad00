//! Sessions: the server-side record, its type and ids, and the rules that build it.

pub mod freshness;
mod id;
mod lifetimes;
mod model;
mod session_type;

pub use id::random_id;
pub use lifetimes::Lifetimes;
pub use model::{SCHEMA_VERSION, Session, SessionKey};
pub use session_type::{MAX_SESSION_TYPE_LEN, SessionType};
