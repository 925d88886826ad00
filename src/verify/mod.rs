//! Verification layers: Tower middleware that authenticates each request.
//!
//! [`AuthLayer`] makes an [`Auth`] service whose [`ResponseFuture`] answers with the inner
//! service's response, or with a [`Rejection`]. The verified identity travels in the
//! request extensions as [`Authenticated`].

mod authenticated;
mod checks;
mod flow;
mod future;
mod layer;
mod rejection;
mod service;

pub use authenticated::{AuthOutcome, Authenticated};
pub use checks::{ClaimCheck, claim_value};
pub use future::ResponseFuture;
pub use layer::AuthLayer;
pub use rejection::{EmptyRejection, JsonRejection, Rejection, www_authenticate};
pub use service::Auth;
