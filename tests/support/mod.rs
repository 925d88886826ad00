//! Shared test support. Test binaries declare `mod support;` and use what they need.
//!
//! - [`contract`]: the store contract suite every `SessionStore` must pass.
//! - [`cookie_jar`]: what an HTTP client keeps between requests.
//! - [`model`]: a randomized concurrent workload checked against a sequential model of the
//!   store contract (linearizability per user and type).
//! - [`redis`]: real `redis-server` processes (standalone and a 3-master cluster).
//! - [`session_check`]: the contract of the access layer's session check over any store
//!   (features `axum` and `test-util`).
#![allow(unreachable_pub, dead_code, unused_macros, unused_imports)]

pub mod contract;
pub mod cookie_jar;
pub mod model;
pub mod redis;
#[cfg(all(feature = "axum", feature = "test-util"))]
pub mod session_check;
