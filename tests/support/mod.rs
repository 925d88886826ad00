//! Shared test support. Test binaries declare `mod support;` and use what they need.
//!
//! - [`contract`]: the store contract suite every `SessionStore` must pass.
//! - [`model`]: a randomized concurrent workload checked against a sequential model of the
//!   store contract (linearizability per user and type).
#![allow(unreachable_pub, dead_code)]

pub mod contract;
pub mod model;
