//! Tower layers that authenticate each request, one type per kind of route, so that wiring
//! mistakes do not compile:
//!
//! - [`AccessLayer`] (built from a [`Verifier`](crate::Verifier) or `&Charon`): access
//!   tokens, by default no store round trip (with a [`Revocation`] check, the session
//!   loaded too); the request carries an [`Authenticated`](crate::Authenticated).
//! - [`RefreshLayer`] (built from `&Charon`): refresh tokens, loads the session (from the
//!   store, or with [`SessionRead::Cached`] through its coherent cache) and checks
//!   freshness; the request carries a [`RefreshAuth`](crate::RefreshAuth), the only thing
//!   [`Charon::refresh_session`](crate::Charon::refresh_session) accepts.
//!
//! Each answers failures with a [`Rejection`] ([`JsonRejection`] by default,
//! [`GrpcRejection`] for gRPC), or, in optional mode, leaves an [`AuthOutcome`] for the
//! handler. A layer's verdict replaces any an outer layer left, so a handler sees the
//! verdict of the innermost layer it sits behind.

pub mod access;
mod claim_checks;
pub mod refresh;
mod rejection;
mod verdict;

pub use crate::charon::SessionRead;
pub use access::{AccessLayer, Revocation};
pub(crate) use claim_checks::ClaimChecks;
pub use refresh::RefreshLayer;
pub(crate) use rejection::reject;
pub use rejection::{EmptyRejection, GrpcRejection, JsonRejection, Rejection, www_authenticate};
pub use verdict::AuthOutcome;
pub(crate) use verdict::Verdict;
