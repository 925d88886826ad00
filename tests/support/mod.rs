//! Shared test support. Test binaries declare `mod support;` and use what they need.
//!
//! - [`contract`]: the store contract suite every `SessionStore` must pass.
#![allow(unreachable_pub, dead_code)]

pub mod contract;
