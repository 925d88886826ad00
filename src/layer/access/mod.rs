//! The access layer: [`AccessLayer`] makes an [`Access`] service whose [`ResponseFuture`]
//! answers with the inner service's response, or with the rejection.

mod admission;
mod future;
mod layer;
mod revocation;
mod service;

pub use future::ResponseFuture;
#[cfg(feature = "axum")]
pub(crate) use layer::TypedClaimsExt;
pub use layer::{AccessLayer, AccessSource};
pub use revocation::Revocation;
pub use service::Access;
