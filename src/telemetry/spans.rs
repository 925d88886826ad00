//! The `tracing` spans (feature `tracing`) around verification, store operations and
//! key-set fetches; documented in [the module docs](super#spans).

use tracing::field::Empty;
use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
use tracing::{Level, Span};

use super::{StoreOperation, Telemetry};
use crate::error::{AuthError, StoreError};
use crate::transport::Transport;

/// The span `make` builds, when spans are on and some subscriber wants it; else
/// [`Span::none`], on which recording and entering are skipped.
///
/// A disabled span is not free when `tracing`'s `log` feature is on (axum's default
/// `tower-log` feature turns it on): `span!` then records the span's fields for a `log`
/// logger even when no subscriber wants it, and the span keeps its metadata, so that every
/// later `record`, `enter` and its drop check that logger again. These spans carry fields
/// for a tracing backend, not log lines, so a span no subscriber wants is not built: the
/// level is checked first (what `span!` checks first), and a span some subscriber wanted
/// the level of but not the target is dropped for `Span::none`.
fn open(telemetry: &Telemetry, level: Level, make: impl FnOnce() -> Span) -> Span {
    if !telemetry.tracing_spans() || level > STATIC_MAX_LEVEL || level > LevelFilter::current() {
        return Span::none();
    }
    let span = make();
    if span.is_disabled() {
        Span::none()
    } else {
        span
    }
}

/// The span of one token verification: `charon.verify`, target `charon::token`, TRACE.
pub(crate) fn verification(telemetry: &Telemetry, token_type: &'static str) -> Span {
    open(telemetry, Level::TRACE, || {
        tracing::span!(
            target: "charon::token",
            Level::TRACE,
            "charon.verify",
            token_type,
            token_transport = Empty,
            outcome = Empty,
            error_kind = Empty,
        )
    })
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
    open(telemetry, Level::TRACE, || {
        tracing::span!(
            target: "charon::store",
            Level::TRACE,
            "charon.store.operation",
            operation = operation.as_str(),
            session_type,
            outcome = Empty,
            error_kind = Empty,
        )
    })
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
    open(telemetry, Level::DEBUG, || {
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn telemetry() -> Telemetry {
        Telemetry::new(Vec::new()).with_tracing_spans(true)
    }

    /// Run `f` under a subscriber with the `EnvFilter` directives `filter`.
    fn under(filter: &str, f: impl FnOnce()) {
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .finish();
        tracing::subscriber::with_default(subscriber, f);
    }

    #[test]
    fn a_span_no_subscriber_wants_is_none() {
        // (Not "no subscriber at all": while another test's thread holds a subscriber
        // that wants everything, `tracing` may cache that as the callsite's interest and
        // build the span for this thread's no-op subscriber.)
        // No subscriber wants TRACE.
        under("info", || {
            let span = verification(&telemetry(), "access");
            assert!(span.is_none());
            // Recording on it is skipped, not an error.
            verified(&span, None, None);
            assert!(store(&telemetry(), StoreOperation::Get, "full").is_none());
        });
        // A subscriber wants TRACE, but of another target.
        under("other=trace", || {
            assert!(LevelFilter::current() >= LevelFilter::TRACE);
            assert!(verification(&telemetry(), "access").is_none());
            assert!(store(&telemetry(), StoreOperation::Get, "full").is_none());
        });
    }

    #[test]
    fn a_span_a_subscriber_wants_is_kept() {
        under("trace", || {
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
        under("trace", || {
            let off = Telemetry::new(Vec::new());
            assert!(verification(&off, "access").is_none());
        });
    }
}
