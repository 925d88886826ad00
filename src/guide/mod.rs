//! Guides: the decisions around the API, one page each.
//!
//! - [`transports`]: bearer, split-token cookie or cookie-only?
//! - [`key_rotation`]: adding, switching and retiring signing keys.
//! - [`redis_deployment`]: what the Redis store needs from your Redis.
//! - [`telemetry`]: every event, and the Prometheus and OpenTelemetry recipes.
//! - [`operations`]: health and readiness probes, the Grafana dashboard.
//! - [`coming_from_charon`]: what maps to what, and what differs on purpose.

pub mod coming_from_charon;
pub mod key_rotation;
pub mod operations;
pub mod redis_deployment;
pub mod telemetry;
pub mod transports;
