//! The `metrics` bridge (feature `metrics`): one counter increment per telemetry event.

use metrics::Label;

use super::{Event, EventKind, TelemetryHandler, TokenMeta};
use crate::session::SessionType;

/// A [`TelemetryHandler`] that counts every telemetry event with the `metrics` crate,
/// through whatever recorder the application installed.
///
/// One counter per event, named in Prometheus style so that it renders unchanged (no
/// sanitising, no doubled `_total` suffix) with `metrics-exporter-prometheus` and reads
/// fine with any other exporter:
///
/// | event | counter | labels |
/// |---|---|---|
/// | `charon.session.create` | `charon_session_create_total` | `session_type` |
/// | `charon.session.refresh` | `charon_session_refresh_total` | `session_type` |
/// | `charon.session.delete` | `charon_session_delete_total` | `session_type` |
/// | `charon.session.delete_all` | `charon_session_delete_all_total` | `session_type` |
/// | `charon.session.lock_conflict` | `charon_session_lock_conflict_total` | `session_type` |
/// | `charon.token.valid` | `charon_token_valid_total` | `token_transport`, `token_type`, `session_type` |
/// | `charon.token.invalid` | `charon_token_invalid_total` | `token_transport`, `token_type`, `session_type`, `error_kind` |
///
/// Labels have low cardinality only, never an id:
///
/// - `session_type`: the session type (`full`, `oauth2`, …); for token events the `styp`
///   claim, or `none` when the claims were not decoded. A claim that is not a valid
///   [`SessionType`] is reported as `invalid`.
/// - `token_transport`: `bearer`, `cookie`, `cookie_only`, or `none` when no token was
///   found.
/// - `token_type`: `access` or `refresh`; `other` for any other `type` claim, `none` when
///   the claims were not decoded.
/// - `error_kind`: [`AuthErrorKind::as_str`](crate::AuthErrorKind::as_str) (`expired`,
///   `signature_invalid`, `token_stale`, …).
///
/// Every series of a counter carries the same label keys. Call [`describe`](Self::describe)
/// after installing the recorder to give the counters their help texts.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct MetricsHandler;

impl MetricsHandler {
    /// A metrics handler.
    pub const fn new() -> Self {
        MetricsHandler
    }

    /// The name of the counter that counts events of `kind`, e.g.
    /// `charon_session_create_total`.
    pub const fn counter_name(kind: EventKind) -> &'static str {
        match kind {
            EventKind::SessionCreate => "charon_session_create_total",
            EventKind::SessionRefresh => "charon_session_refresh_total",
            EventKind::SessionDelete => "charon_session_delete_total",
            EventKind::SessionDeleteAll => "charon_session_delete_all_total",
            EventKind::SessionLockConflict => "charon_session_lock_conflict_total",
            EventKind::TokenValid => "charon_token_valid_total",
            EventKind::TokenInvalid => "charon_token_invalid_total",
        }
    }

    /// Register a help text for each of the seven counters with the installed recorder
    /// (`# HELP` lines in Prometheus). Optional; call it once after installing the recorder.
    pub fn describe() {
        for kind in EventKind::ALL {
            let help = match kind {
                EventKind::SessionCreate => "Sessions created (charon.session.create).",
                EventKind::SessionRefresh => "Sessions refreshed (charon.session.refresh).",
                EventKind::SessionDelete => "Sessions deleted (charon.session.delete).",
                EventKind::SessionDeleteAll => {
                    "Deletions of all sessions of a user and type (charon.session.delete_all)."
                }
                EventKind::SessionLockConflict => {
                    "Session writes that lost the optimistic-lock race (charon.session.lock_conflict)."
                }
                EventKind::TokenValid => "Tokens that verified (charon.token.valid).",
                EventKind::TokenInvalid => "Tokens that were rejected (charon.token.invalid).",
            };
            metrics::describe_counter!(Self::counter_name(kind), metrics::Unit::Count, help);
        }
    }
}

/// The `token_type` label: bounded to `access`, `refresh`, `other`.
fn token_type_label(token_type: &str) -> &'static str {
    match token_type {
        "access" => "access",
        "refresh" => "refresh",
        _ => "other",
    }
}

/// The `session_type` label value, bounded by the session type rules.
fn session_type_label(session_type: &str) -> String {
    if SessionType::is_valid(session_type) {
        session_type.to_owned()
    } else {
        "invalid".to_owned()
    }
}

fn token_labels(meta: &TokenMeta<'_>) -> Vec<Label> {
    let claims = meta.claims.as_ref();
    let mut labels = Vec::with_capacity(4);
    labels.push(Label::from_static_parts(
        "token_transport",
        meta.token_transport.map_or("none", |t| t.as_str()),
    ));
    labels.push(Label::from_static_parts(
        "token_type",
        claims.map_or("none", |c| token_type_label(c.token_type)),
    ));
    labels.push(match claims {
        Some(c) => Label::new("session_type", session_type_label(c.session_type)),
        None => Label::from_static_parts("session_type", "none"),
    });
    labels
}

impl TelemetryHandler for MetricsHandler {
    fn handle(&self, event: &Event<'_>) {
        let name = Self::counter_name(event.kind());
        let labels = match event {
            Event::SessionCreate(m)
            | Event::SessionRefresh(m)
            | Event::SessionDelete(m)
            | Event::SessionDeleteAll(m)
            | Event::SessionLockConflict(m) => {
                vec![Label::new(
                    "session_type",
                    session_type_label(m.session_type),
                )]
            }
            Event::TokenValid(m) => token_labels(m),
            Event::TokenInvalid(m) => {
                let mut labels = token_labels(m);
                labels.push(Label::from_static_parts(
                    "error_kind",
                    m.error.map_or("none", |e| e.kind().as_str()),
                ));
                labels
            }
        };
        metrics::counter!(name, labels).increment(1);
    }
}
