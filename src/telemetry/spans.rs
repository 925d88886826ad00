//! The `tracing` spans (feature `tracing`) around verification, store operations and
//! key-set fetches; documented in [the module docs](super#spans).

use tracing::field::Empty;
use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
use tracing::{Level, Span};

use super::{StoreOperation, Telemetry};
use crate::error::{AuthError, StoreError};
use crate::transport::Transport;

/// Whether some subscriber may want spans at `level`: what `tracing::span!` checks first.
///
/// The spans below check it before `span!`, and [`only_enabled`] after it, because a
/// disabled span is not free when `tracing`'s `log` feature is on (axum's default
/// `tower-log` feature turns it on): `span!` then records the span's fields for a `log`
/// logger even when no subscriber wants it, and the span keeps its metadata, so that every
/// later `record`, `enter` and its drop check that logger again. These spans carry fields
/// for a tracing backend, not log lines, so a span no subscriber wants is not built.
fn wanted(level: Level) -> bool {
    level <= STATIC_MAX_LEVEL && level <= LevelFilter::current()
}

/// `span`, or [`Span::none`] when no subscriber enabled it (some subscriber wanted its
/// level, but not its target): recording on it and entering it are then skipped.
fn only_enabled(span: Span) -> Span {
    if span.is_disabled() {
        Span::none()
    } else {
        span
    }
}

/// The span of one token verification: `charon.verify`, target `charon::token`, TRACE.
pub(crate) fn verification(telemetry: &Telemetry, token_type: &'static str) -> Span {
    if !telemetry.tracing_spans() || !wanted(Level::TRACE) {
        return Span::none();
    }
    only_enabled(tracing::span!(
        target: "charon::token",
        Level::TRACE,
        "charon.verify",
        token_type,
        token_transport = Empty,
        outcome = Empty,
        error_kind = Empty,
    ))
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
    if !telemetry.tracing_spans() || !wanted(Level::TRACE) {
        return Span::none();
    }
    only_enabled(tracing::span!(
        target: "charon::store",
        Level::TRACE,
        "charon.store.operation",
        operation = operation.as_str(),
        session_type,
        outcome = Empty,
        error_kind = Empty,
    ))
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
    if !telemetry.tracing_spans() || !wanted(Level::DEBUG) {
        return Span::none();
    }
    only_enabled(tracing::span!(
        target: "charon::jwks",
        Level::DEBUG,
        "charon.jwks.refresh",
        source,
        trigger,
        outcome = Empty,
        key_count = Empty,
        error_kind = Empty,
    ))
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    fn telemetry() -> Telemetry {
        Telemetry::new(Vec::new()).with_tracing_spans(true)
    }

    #[test]
    fn a_span_no_subscriber_wants_is_none() {
        // (Not "no subscriber at all": while another test's thread holds a subscriber
        // that wants everything, `tracing` may cache that as the callsite's interest and
        // build the span for this thread's no-op subscriber.)
        // No subscriber wants TRACE.
        let info = tracing_subscriber::fmt()
            .with_max_level(Level::INFO)
            .finish();
        tracing::subscriber::with_default(info, || {
            let span = verification(&telemetry(), "access");
            assert!(span.is_none());
            // Recording on it is skipped, not an error.
            verified(&span, None, None);
            assert!(store(&telemetry(), StoreOperation::Get, "full").is_none());
        });
        // A subscriber wants TRACE, but of another target.
        let other = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("other=trace"))
            .finish();
        tracing::subscriber::with_default(other, || {
            assert!(LevelFilter::current() >= LevelFilter::TRACE);
            assert!(verification(&telemetry(), "access").is_none());
            assert!(store(&telemetry(), StoreOperation::Get, "full").is_none());
        });
    }

    #[test]
    fn a_span_a_subscriber_wants_is_kept() {
        let trace = tracing_subscriber::fmt()
            .with_max_level(Level::TRACE)
            .finish();
        tracing::subscriber::with_default(trace, || {
            let span = verification(&telemetry(), "access");
            assert!(!span.is_disabled());
            assert_eq!(span.metadata().map(|m| m.name()), Some("charon.verify"));
            let span = store(&telemetry(), StoreOperation::Get, "full");
            assert_eq!(
                span.metadata().map(|m| m.name()),
                Some("charon.store.operation")
            );
        });
    }

    #[test]
    fn spans_off_opens_none() {
        let trace = tracing_subscriber::fmt()
            .with_max_level(Level::TRACE)
            .finish();
        tracing::subscriber::with_default(trace, || {
            let off = Telemetry::new(Vec::new());
            assert!(verification(&off, "access").is_none());
        });
    }
}
