//! The access layer: [`AccessLayer`] makes an [`Access`] service whose [`ResponseFuture`]
//! answers with the inner service's response, or with the rejection.

mod admission;
mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::AccessLayer;
#[cfg(feature = "axum")]
pub(crate) use layer::TypedClaimsExt;
pub use service::Access;
