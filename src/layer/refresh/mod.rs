//! The refresh layer: [`RefreshLayer`] makes a [`Refresh`] service whose
//! [`ResponseFuture`] loads the session, then answers with the inner service's response or
//! the rejection.

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::RefreshLayer;
pub use service::Refresh;
