//! The `tracing` spans (feature `tracing`) around verification, store operations and
//! key-set fetches; documented in [the module docs](super#spans).

use tracing::field::Empty;
use tracing::{Level, Span};

use super::{StoreOperation, Telemetry};
use crate::error::{AuthError, StoreError};
use crate::transport::Transport;

/// The span of one token verification: `charon.verify`, target `charon::token`, TRACE.
pub(crate) fn verification(telemetry: &Telemetry, token_type: &'static str) -> Span {
    if !telemetry.tracing_spans() {
        return Span::none();
    }
    tracing::span!(
        target: "charon::token",
        Level::TRACE,
        "charon.verify",
        token_type,
        token_transport = Empty,
        outcome = Empty,
        error_kind = Empty,
    )
}

/// Record how a verification ended on its span.
pub(crate) fn verified(span: &Span, transport: Option<Transport>, error: Option<&AuthError>) {
    if span.is_none() {
        return;
    }
    if let Some(transport) = transport {
        span.record("token_transport", transport.as_str());
    }
    match error {
        None => span.record("outcome", "valid"),
        Some(error) => span
            .record("outcome", "invalid")
            .record("error_kind", error.kind().as_str()),
    };
}

/// The span of one store operation: `charon.store.operation`, target `charon::store`, TRACE.
pub(crate) fn store(telemetry: &Telemetry, operation: StoreOperation, session_type: &str) -> Span {
    if !telemetry.tracing_spans() {
        return Span::none();
    }
    tracing::span!(
        target: "charon::store",
        Level::TRACE,
        "charon.store.operation",
        operation = operation.as_str(),
        session_type,
        outcome = Empty,
        error_kind = Empty,
    )
}

/// Record how a store operation ended on its span: `outcome` as the `metrics` label
/// (`ok`, `conflict`, `not_found`, or the error kind), `error_kind` for an exception.
pub(crate) fn stored(span: &Span, outcome: &'static str, error: Option<&StoreError>) {
    if span.is_none() {
        return;
    }
    span.record("outcome", outcome);
    if let Some(error) = error {
        span.record("error_kind", error.kind().as_str());
    }
}

/// The span of one key-set fetch: `charon.jwks.refresh`, target `charon::jwks`, DEBUG.
#[cfg(feature = "jwks")]
pub(crate) fn jwks_refresh(telemetry: &Telemetry, source: &str, trigger: &'static str) -> Span {
    if !telemetry.tracing_spans() {
        return Span::none();
    }
    tracing::span!(
        target: "charon::jwks",
        Level::DEBUG,
        "charon.jwks.refresh",
        source,
        trigger,
        outcome = Empty,
        key_count = Empty,
        error_kind = Empty,
    )
}
