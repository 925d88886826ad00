//! Sessions: the server-side record, its type and ids, and the rules that build it.

mod id;
mod model;
mod session_type;

pub use id::random_id;
pub use model::{SCHEMA_VERSION, Session, SessionKey};
pub use session_type::{MAX_SESSION_TYPE_LEN, SessionType};
