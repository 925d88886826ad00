//! Shared test support.

pub mod redis;
