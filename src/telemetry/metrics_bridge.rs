//! The `metrics` bridge (feature `metrics`): one counter increment per telemetry event, and
//! histograms of the measured durations.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

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
/// | `charon.jwks.refresh` | `charon_jwks_refresh_total` | `trigger`, `outcome`, `error_kind` |
///
/// # Histograms
///
/// Three histograms of durations, in seconds, from the events' [`Measurements`](super::Measurements):
///
/// | histogram | from | labels |
/// |---|---|---|
/// | `charon_token_verification_duration_seconds` | `charon.token.valid`, `charon.token.invalid` | `outcome` (`valid`, `invalid`), `token_type` |
/// | `charon_store_operation_duration_seconds` | `charon.store.operation.stop`, `.exception` | `operation` (`get`, `create`, `update`, `delete`, `get_all`, `delete_all`), `outcome` (`ok`, `conflict`, `not_found`, or the error kind: `timeout`, `backend`, `unavailable`, …) |
/// | `charon_jwks_refresh_duration_seconds` | `charon.jwks.refresh.stop`, `.exception` | `outcome` (`updated`, `unchanged`, `failed`) |
///
/// Their labels are bounded like the counters' (closed enumerations, no ids, no session
/// type). The `*.start` events record nothing.
///
/// With `metrics`, the bucket boundaries belong to the exporter. The ones chosen for these
/// durations are [`VERIFICATION_BUCKETS`](Self::VERIFICATION_BUCKETS) (1 µs to 10 ms: a
/// verification costs microseconds, a cache hit well under one),
/// [`STORE_BUCKETS`](Self::STORE_BUCKETS) (25 µs to 2.5 s: a Redis round trip on loopback is
/// ≈ 0.1 ms, across a network a few ms; the top buckets catch timeouts) and
/// [`JWKS_REFRESH_BUCKETS`](Self::JWKS_REFRESH_BUCKETS) (5 ms to 30 s: an HTTPS fetch);
/// [`HISTOGRAMS`](Self::HISTOGRAMS) lists them by name. With `metrics-exporter-prometheus`:
///
/// ```ignore
/// use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
/// use charon_auth::telemetry::MetricsHandler;
///
/// let mut builder = PrometheusBuilder::new();
/// for (name, buckets) in MetricsHandler::HISTOGRAMS {
///     builder = builder.set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)?;
/// }
/// let prometheus = builder.install_recorder()?;
/// ```
///
/// Without buckets, that exporter renders histograms as summaries (quantiles computed in
/// the process, not aggregatable across instances): set them.
///
/// # Bounded labels
///
/// Labels never carry an id, and every label has a bounded set of values, whatever the
/// requests and tokens say, so no client can grow the number of series:
///
/// - `session_type`: the session type (`full`, `oauth2`, …); for token events the `styp`
///   claim, or `none` when the claims were not decoded; `invalid` for a claim that is not a
///   valid [`SessionType`]. Session types are chosen by the application, but often from
///   request input (a login form's "remember me", a client kind), so this label is bounded
///   twice:
///   - with an allowlist ([`with_session_types`](Self::with_session_types), or
///     [`CharonBuilder::metrics_session_types`](crate::CharonBuilder::metrics_session_types)
///     for the handler the builder installs), only the listed types keep their name;
///     every other type is counted as `other`;
///   - whatever the configuration, one handler reports at most
///     [`MAX_SESSION_TYPE_LABELS`](Self::MAX_SESSION_TYPE_LABELS) (32) distinct session
///     types: without an allowlist the first 32 seen keep their name and any later new one
///     is `other`; an allowlist keeps its first 32 types.
///
///   So `session_type` takes at most 32 values plus `other`, `invalid` and `none`.
///   Without an allowlist the first 32 types seen win: when session types can come from
///   requests, give the allowlist (and refuse undeclared types at login).
/// - `token_transport`: `bearer`, `cookie`, `cookie_only`, or `none` when no token was
///   found.
/// - `token_type`: `access` or `refresh`; `other` for any other `type` claim, `none` when
///   the claims were not decoded.
/// - `error_kind`: [`AuthErrorKind::as_str`](crate::AuthErrorKind::as_str) (`expired`,
///   `signature_invalid`, `token_stale`, …), a fixed set; `none` when there is no error.
///
/// A session type literally named `other`, `invalid` or `none` shares its series with
/// that marker.
///
/// Every series of a counter carries the same label keys. Call [`describe`](Self::describe)
/// after installing the recorder to give the counters their help texts.
///
/// ```
/// use charon_auth::session::SessionType;
/// use charon_auth::telemetry::MetricsHandler;
///
/// // Only `full` and `oauth2` get their own series; any other type counts as `other`.
/// let handler = MetricsHandler::new()
///     .with_session_types([SessionType::new("full")?, SessionType::new("oauth2")?]);
/// # let _ = handler;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Clones share their label set: a clone counts against the same cap.
#[derive(Clone, Default)]
pub struct MetricsHandler {
    session_types: Arc<SessionTypeLabels>,
}

/// The `session_type` label values one handler may report.
enum SessionTypeLabels {
    /// An allowlist: these keep their name, everything else is `other`.
    Allowed(Box<[Arc<str>]>),
    /// No allowlist: the first [`MetricsHandler::MAX_SESSION_TYPE_LABELS`] distinct valid
    /// types seen keep their name.
    FirstSeen(RwLock<Vec<Arc<str>>>),
}

impl Default for SessionTypeLabels {
    fn default() -> Self {
        SessionTypeLabels::FirstSeen(RwLock::new(Vec::new()))
    }
}

fn find(labels: &[Arc<str>], session_type: &str) -> Option<Label> {
    labels
        .iter()
        .find(|l| &***l == session_type)
        .map(|l| Label::new("session_type", Arc::clone(l)))
}

impl SessionTypeLabels {
    fn label(&self, session_type: &str) -> Label {
        const OTHER: Label = Label::from_static_parts("session_type", "other");
        if !SessionType::is_valid(session_type) {
            return Label::from_static_parts("session_type", "invalid");
        }
        match self {
            SessionTypeLabels::Allowed(allowed) => find(allowed, session_type).unwrap_or(OTHER),
            SessionTypeLabels::FirstSeen(seen) => {
                {
                    let seen = seen.read().unwrap_or_else(PoisonError::into_inner);
                    if let Some(label) = find(&seen, session_type) {
                        return label;
                    }
                    if seen.len() >= MetricsHandler::MAX_SESSION_TYPE_LABELS {
                        return OTHER;
                    }
                }
                let mut seen = seen.write().unwrap_or_else(PoisonError::into_inner);
                if let Some(label) = find(&seen, session_type) {
                    return label;
                }
                if seen.len() >= MetricsHandler::MAX_SESSION_TYPE_LABELS {
                    return OTHER;
                }
                let value: Arc<str> = Arc::from(session_type);
                seen.push(Arc::clone(&value));
                Label::new("session_type", value)
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            SessionTypeLabels::Allowed(allowed) => allowed.len(),
            SessionTypeLabels::FirstSeen(seen) => {
                seen.read().unwrap_or_else(PoisonError::into_inner).len()
            }
        }
    }
}

impl fmt::Debug for MetricsHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowlist = match &*self.session_types {
            SessionTypeLabels::Allowed(allowed) => Some(allowed),
            SessionTypeLabels::FirstSeen(_) => None,
        };
        f.debug_struct("MetricsHandler")
            .field("session_type_allowlist", &allowlist)
            .field("session_type_labels", &self.session_types.len())
            .finish()
    }
}

impl MetricsHandler {
    /// Most distinct session types one handler reports in the `session_type` label; any
    /// further type is counted as `other`. See [Bounded labels](Self#bounded-labels).
    pub const MAX_SESSION_TYPE_LABELS: usize = 32;

    /// A metrics handler without an allowlist: the first
    /// [`MAX_SESSION_TYPE_LABELS`](Self::MAX_SESSION_TYPE_LABELS) distinct session types
    /// it sees keep their name in the `session_type` label, later ones are `other`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Report only these session types under their own name; every other session type is
    /// counted as `other` (an empty list counts every type as `other`). At most
    /// [`MAX_SESSION_TYPE_LABELS`](Self::MAX_SESSION_TYPE_LABELS) distinct types are kept,
    /// the first ones given; types beyond them are counted as `other` too
    /// ([`CharonBuilder::metrics_session_types`](crate::CharonBuilder::metrics_session_types)
    /// refuses such a list instead). Defaults to no allowlist (the first 32 types seen).
    #[must_use]
    pub fn with_session_types(mut self, types: impl IntoIterator<Item = SessionType>) -> Self {
        let mut allowed: Vec<Arc<str>> = Vec::new();
        for t in types {
            if allowed.len() >= Self::MAX_SESSION_TYPE_LABELS {
                break;
            }
            if !allowed.iter().any(|a| &**a == t.as_str()) {
                allowed.push(Arc::from(t.as_str()));
            }
        }
        self.session_types = Arc::new(SessionTypeLabels::Allowed(allowed.into()));
        self
    }

    /// The histogram of verification durations (`charon.token.*`).
    pub const VERIFICATION_DURATION: &'static str = "charon_token_verification_duration_seconds";
    /// The histogram of store operation durations (`charon.store.operation.stop|exception`).
    pub const STORE_DURATION: &'static str = "charon_store_operation_duration_seconds";
    /// The histogram of key-set fetch durations (`charon.jwks.refresh.stop|exception`).
    pub const JWKS_REFRESH_DURATION: &'static str = "charon_jwks_refresh_duration_seconds";

    /// Bucket boundaries (seconds) for [`VERIFICATION_DURATION`](Self::VERIFICATION_DURATION):
    /// 1 µs to 10 ms.
    pub const VERIFICATION_BUCKETS: &'static [f64] = &[
        0.000_001, 0.000_002, 0.000_005, 0.000_01, 0.000_02, 0.000_05, 0.000_1, 0.000_25, 0.000_5,
        0.001, 0.002_5, 0.01,
    ];
    /// Bucket boundaries (seconds) for [`STORE_DURATION`](Self::STORE_DURATION): 25 µs to
    /// 2.5 s.
    pub const STORE_BUCKETS: &'static [f64] = &[
        0.000_025, 0.000_05, 0.000_1, 0.000_2, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
        0.1, 0.25, 0.5, 1.0, 2.5,
    ];
    /// Bucket boundaries (seconds) for [`JWKS_REFRESH_DURATION`](Self::JWKS_REFRESH_DURATION):
    /// 5 ms to 30 s.
    pub const JWKS_REFRESH_BUCKETS: &'static [f64] = &[
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];
    /// Each histogram's name with its bucket boundaries, to configure an exporter (see
    /// [Histograms](Self#histograms)).
    pub const HISTOGRAMS: [(&'static str, &'static [f64]); 3] = [
        (Self::VERIFICATION_DURATION, Self::VERIFICATION_BUCKETS),
        (Self::STORE_DURATION, Self::STORE_BUCKETS),
        (Self::JWKS_REFRESH_DURATION, Self::JWKS_REFRESH_BUCKETS),
    ];

    /// The name of the counter that counts events of `kind`, e.g.
    /// `charon_session_create_total`; `None` for the span-style events, which are not
    /// counted (their durations go to the histograms).
    pub const fn counter_name(kind: EventKind) -> Option<&'static str> {
        Some(match kind {
            EventKind::SessionCreate => "charon_session_create_total",
            EventKind::SessionRefresh => "charon_session_refresh_total",
            EventKind::SessionDelete => "charon_session_delete_total",
            EventKind::SessionDeleteAll => "charon_session_delete_all_total",
            EventKind::SessionLockConflict => "charon_session_lock_conflict_total",
            EventKind::TokenValid => "charon_token_valid_total",
            EventKind::TokenInvalid => "charon_token_invalid_total",
            EventKind::JwksRefresh => "charon_jwks_refresh_total",
            EventKind::StoreStart
            | EventKind::StoreStop
            | EventKind::StoreException
            | EventKind::JwksRefreshStart
            | EventKind::JwksRefreshStop
            | EventKind::JwksRefreshException => return None,
        })
    }

    /// Register a help text for each of the eight counters and the three histograms with
    /// the installed recorder (`# HELP` lines in Prometheus). Optional; call it once after
    /// installing the recorder.
    pub fn describe() {
        metrics::describe_histogram!(
            Self::VERIFICATION_DURATION,
            metrics::Unit::Seconds,
            "Token verification time by outcome and token type (charon.token.*)."
        );
        metrics::describe_histogram!(
            Self::STORE_DURATION,
            metrics::Unit::Seconds,
            "Session store round trips by operation and outcome (charon.store.operation.*)."
        );
        metrics::describe_histogram!(
            Self::JWKS_REFRESH_DURATION,
            metrics::Unit::Seconds,
            "Remote key-set fetch time by outcome (charon.jwks.refresh.*)."
        );
        for kind in EventKind::CHARON {
            let Some(name) = Self::counter_name(kind) else {
                continue;
            };
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
                EventKind::JwksRefresh => {
                    "Remote key-set refreshes by trigger and outcome (charon.jwks.refresh)."
                }
                _ => continue,
            };
            metrics::describe_counter!(name, metrics::Unit::Count, help);
        }
    }

    fn token_labels(&self, meta: &TokenMeta<'_>) -> Vec<Label> {
        let claims = meta.claims.as_ref();
        let mut labels = Vec::with_capacity(4);
        labels.push(Label::from_static_parts(
            "token_transport",
            meta.token_transport.map_or("none", |t| t.as_str()),
        ));
        labels.push(Label::from_static_parts(
            "token_type",
            claims
                .and_then(|c| c.token_type)
                .map_or("none", token_type_label),
        ));
        labels.push(match claims.and_then(|c| c.session_type) {
            Some(styp) => self.session_types.label(styp),
            None => Label::from_static_parts("session_type", "none"),
        });
        labels
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

impl TelemetryHandler for MetricsHandler {
    fn enabled(&self, kind: EventKind) -> bool {
        !kind.is_start()
    }

    fn handle(&self, event: &Event<'_>) {
        let seconds = event.measurements().duration.as_secs_f64();
        let labels = match event {
            Event::SessionCreate(m)
            | Event::SessionRefresh(m)
            | Event::SessionDelete(m)
            | Event::SessionDeleteAll(m)
            | Event::SessionLockConflict(m) => vec![self.session_types.label(m.session_type)],
            Event::TokenValid(m) => {
                verification_histogram("valid", m, seconds);
                self.token_labels(m)
            }
            Event::TokenInvalid(m) => {
                verification_histogram("invalid", m, seconds);
                let mut labels = self.token_labels(m);
                labels.push(Label::from_static_parts(
                    "error_kind",
                    m.error.map_or("none", |e| e.kind().as_str()),
                ));
                labels
            }
            Event::JwksRefresh(m) => vec![
                Label::from_static_parts("trigger", m.trigger.as_str()),
                Label::from_static_parts("outcome", m.outcome.as_str()),
                Label::from_static_parts("error_kind", m.error_kind.unwrap_or("none")),
            ],
            Event::StoreStop(m) | Event::StoreException(m) => {
                let labels = [
                    Label::from_static_parts("operation", m.operation.as_str()),
                    Label::from_static_parts("outcome", m.outcome_name()),
                ];
                metrics::histogram!(Self::STORE_DURATION, labels.iter()).record(seconds);
                return;
            }
            Event::JwksRefreshStop(m) | Event::JwksRefreshException(m) => {
                let outcome = m.outcome.map_or("failed", |o| o.as_str());
                let labels = [Label::from_static_parts("outcome", outcome)];
                metrics::histogram!(Self::JWKS_REFRESH_DURATION, labels.iter()).record(seconds);
                return;
            }
            _ => return,
        };
        if let Some(name) = Self::counter_name(event.kind()) {
            metrics::counter!(name, labels).increment(1);
        }
    }
}

/// One verification duration: labels `outcome` and `token_type` (bounded).
fn verification_histogram(outcome: &'static str, meta: &TokenMeta<'_>, seconds: f64) {
    let token_type = meta
        .claims
        .as_ref()
        .and_then(|c| c.token_type)
        .map_or("none", token_type_label);
    let labels = [
        Label::from_static_parts("outcome", outcome),
        Label::from_static_parts("token_type", token_type),
    ];
    metrics::histogram!(MetricsHandler::VERIFICATION_DURATION, labels.iter()).record(seconds);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use metrics_util::MetricKind;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;
    use crate::error::{AuthError, AuthErrorKind};
    use crate::telemetry::{ClaimMeta, JwksMeta, JwksOutcome, JwksTrigger, SessionMeta, Telemetry};
    use crate::transport::Transport;

    type Series = BTreeMap<(String, Vec<(String, String)>), u64>;

    /// Run `f` against a fresh local recorder; returns every counter series with its value,
    /// labels sorted by key.
    fn record(f: impl FnOnce()) -> (Series, Vec<Option<String>>) {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, f);
        let mut series = Series::new();
        let mut descriptions = Vec::new();
        for (key, _unit, description, value) in snapshotter.snapshot().into_vec() {
            if key.kind() != MetricKind::Counter {
                // The histograms have their own tests.
                continue;
            }
            let mut labels: Vec<_> = key
                .key()
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            let DebugValue::Counter(count) = value else {
                unreachable!("only counters are recorded")
            };
            series.insert((key.key().name().to_owned(), labels), count);
            descriptions.push(description.map(|d| d.to_string()));
        }
        (series, descriptions)
    }

    fn series(
        name: &str,
        labels: &[(&str, &str)],
        count: u64,
    ) -> ((String, Vec<(String, String)>), u64) {
        let mut labels: Vec<_> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        labels.sort();
        ((name.to_owned(), labels), count)
    }

    #[test]
    fn one_counter_per_event_with_low_cardinality_labels() {
        let telemetry = Telemetry::new(vec![Arc::new(MetricsHandler::new())]);
        let expired = AuthError::new(AuthErrorKind::Expired);
        let stale = AuthError::new(AuthErrorKind::TokenStale);
        let not_found = AuthError::new(AuthErrorKind::TokenNotFound);
        let (counters, _) = record(|| {
            // Two users, two sessions each: ids must not split the series.
            for (sid, uid) in [("sid-1", "user-1"), ("sid-2", "user-2")] {
                for kind in [
                    EventKind::SessionCreate,
                    EventKind::SessionRefresh,
                    EventKind::SessionDelete,
                    EventKind::SessionLockConflict,
                ] {
                    telemetry.emit(kind, || {
                        Event::session(kind, SessionMeta::new(Some(sid), uid, "full"))
                    });
                }
                telemetry.emit(EventKind::SessionDeleteAll, || {
                    Event::session(
                        EventKind::SessionDeleteAll,
                        SessionMeta::new(None, uid, "oauth2"),
                    )
                });
                let claims = ClaimMeta::new("access", uid, sid, "full");
                telemetry.emit(EventKind::TokenValid, || {
                    Event::token(TokenMeta::new(
                        false,
                        Some(Transport::Bearer),
                        Some(claims),
                        None,
                    ))
                });
                let claims = ClaimMeta::new("refresh", uid, sid, "full");
                telemetry.emit(EventKind::TokenInvalid, || {
                    Event::token(TokenMeta::new(
                        true,
                        Some(Transport::Cookie),
                        Some(claims),
                        Some(&expired),
                    ))
                });
            }
            let claims = ClaimMeta::new("refresh", "user-1", "sid-1", "full");
            telemetry.emit(EventKind::TokenInvalid, || {
                Event::token(TokenMeta::new(
                    true,
                    Some(Transport::CookieOnly),
                    Some(claims),
                    Some(&stale),
                ))
            });
            telemetry.emit(EventKind::TokenInvalid, || {
                Event::token(TokenMeta::new(false, None, None, Some(&not_found)))
            });
        });

        let full = [("session_type", "full")];
        let expected: Series = [
            series("charon_session_create_total", &full, 2),
            series("charon_session_refresh_total", &full, 2),
            series("charon_session_delete_total", &full, 2),
            series("charon_session_lock_conflict_total", &full, 2),
            series(
                "charon_session_delete_all_total",
                &[("session_type", "oauth2")],
                2,
            ),
            series(
                "charon_token_valid_total",
                &[
                    ("session_type", "full"),
                    ("token_transport", "bearer"),
                    ("token_type", "access"),
                ],
                2,
            ),
            series(
                "charon_token_invalid_total",
                &[
                    ("error_kind", "expired"),
                    ("session_type", "full"),
                    ("token_transport", "cookie"),
                    ("token_type", "refresh"),
                ],
                2,
            ),
            series(
                "charon_token_invalid_total",
                &[
                    ("error_kind", "token_stale"),
                    ("session_type", "full"),
                    ("token_transport", "cookie_only"),
                    ("token_type", "refresh"),
                ],
                1,
            ),
            series(
                "charon_token_invalid_total",
                &[
                    ("error_kind", "token_not_found"),
                    ("session_type", "none"),
                    ("token_transport", "none"),
                    ("token_type", "none"),
                ],
                1,
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(counters, expected);

        // No id anywhere in a label.
        for (_, labels) in counters.keys() {
            for (key, value) in labels {
                assert!(
                    [
                        "session_type",
                        "token_transport",
                        "token_type",
                        "error_kind"
                    ]
                    .contains(&key.as_str()),
                    "unexpected label {key}"
                );
                assert!(
                    !value.contains("sid-") && !value.contains("user-"),
                    "{value}"
                );
            }
        }
    }

    #[test]
    fn untrusted_claim_values_are_bounded() {
        let telemetry = Telemetry::new(vec![Arc::new(MetricsHandler::new())]);
        let error = AuthError::new(AuthErrorKind::SignatureInvalid);
        let (counters, _) = record(|| {
            for (token_type, session_type) in [("id", "has space"), ("x".repeat(100).as_str(), "")]
            {
                let claims = ClaimMeta::new(token_type, "u", "s", session_type);
                telemetry.emit(EventKind::TokenInvalid, || {
                    Event::token(TokenMeta::new(
                        false,
                        Some(Transport::Bearer),
                        Some(claims),
                        Some(&error),
                    ))
                });
            }
        });
        let expected: Series = [series(
            "charon_token_invalid_total",
            &[
                ("error_kind", "signature_invalid"),
                ("session_type", "invalid"),
                ("token_transport", "bearer"),
                ("token_type", "other"),
            ],
            2,
        )]
        .into_iter()
        .collect();
        assert_eq!(counters, expected);
    }

    fn session_type(name: &str) -> SessionType {
        SessionType::new(name).unwrap()
    }

    /// Every `session_type` value of counter `name`, with its count.
    fn by_session_type(counters: &Series, name: &str) -> BTreeMap<String, u64> {
        counters
            .iter()
            .filter(|((n, _), _)| n == name)
            .map(|((_, labels), count)| {
                let value = labels
                    .iter()
                    .find(|(k, _)| k == "session_type")
                    .map(|(_, v)| v.clone())
                    .unwrap();
                (value, *count)
            })
            .collect()
    }

    /// 2 000 distinct session types through session and token events.
    fn emit_many_types(telemetry: &Telemetry, n: usize) {
        for i in 0..n {
            let t = format!("type-{i}");
            telemetry.emit(EventKind::SessionCreate, || {
                Event::session(
                    EventKind::SessionCreate,
                    SessionMeta::new(Some("s"), "u", &t),
                )
            });
            let claims = ClaimMeta::new("access", "u", "s", &t);
            telemetry.emit(EventKind::TokenValid, || {
                Event::token(TokenMeta::new(
                    false,
                    Some(Transport::Bearer),
                    Some(claims),
                    None,
                ))
            });
        }
    }

    #[test]
    fn session_type_labels_are_capped_without_an_allowlist() {
        const CAP: usize = MetricsHandler::MAX_SESSION_TYPE_LABELS;
        const N: usize = 2_000;
        let handler = MetricsHandler::new();
        let telemetry = Telemetry::new(vec![Arc::new(handler.clone())]);
        let (counters, _) = record(|| {
            emit_many_types(&telemetry, N);
            // A type seen before the cap was reached keeps its label afterwards.
            telemetry.emit(EventKind::SessionCreate, || {
                Event::session(
                    EventKind::SessionCreate,
                    SessionMeta::new(Some("s"), "u", "type-0"),
                )
            });
        });
        for name in ["charon_session_create_total", "charon_token_valid_total"] {
            let series = by_session_type(&counters, name);
            assert_eq!(series.len(), CAP + 1, "{name}: {series:?}");
            for i in 0..CAP {
                let expected = if i == 0 && name == "charon_session_create_total" {
                    2
                } else {
                    1
                };
                assert_eq!(series.get(&format!("type-{i}")), Some(&expected), "{name}");
            }
            assert_eq!(series.get("other"), Some(&((N - CAP) as u64)), "{name}");
        }
        // Clones share the cap.
        assert!(format!("{handler:?}").contains("session_type_labels: 32"));
    }

    #[test]
    fn allowlisted_session_types_keep_their_label_the_rest_are_other() {
        const N: usize = 2_000;
        let handler = MetricsHandler::new().with_session_types([
            session_type("full"),
            session_type("oauth2"),
            session_type("full"),
        ]);
        let telemetry = Telemetry::new(vec![Arc::new(handler)]);
        let error = AuthError::new(AuthErrorKind::Expired);
        let (counters, _) = record(|| {
            emit_many_types(&telemetry, N);
            for t in ["full", "oauth2"] {
                telemetry.emit(EventKind::SessionCreate, || {
                    Event::session(
                        EventKind::SessionCreate,
                        SessionMeta::new(Some("s"), "u", t),
                    )
                });
            }
            for t in ["full", "not allowed", "type-1"] {
                let claims = ClaimMeta::new("refresh", "u", "s", t);
                telemetry.emit(EventKind::TokenInvalid, || {
                    Event::token(TokenMeta::new(
                        true,
                        Some(Transport::Cookie),
                        Some(claims),
                        Some(&error),
                    ))
                });
            }
        });
        let expected: BTreeMap<String, u64> = [
            ("full".into(), 1),
            ("oauth2".into(), 1),
            ("other".into(), N as u64),
        ]
        .into();
        assert_eq!(
            by_session_type(&counters, "charon_session_create_total"),
            expected
        );
        assert_eq!(
            by_session_type(&counters, "charon_token_valid_total"),
            [("other".to_owned(), N as u64)].into()
        );
        let expected: BTreeMap<String, u64> = [
            ("full".into(), 1),
            ("invalid".into(), 1),
            ("other".into(), 1),
        ]
        .into();
        assert_eq!(
            by_session_type(&counters, "charon_token_invalid_total"),
            expected
        );
    }

    #[test]
    fn a_huge_allowlist_is_capped_too() {
        const CAP: usize = MetricsHandler::MAX_SESSION_TYPE_LABELS;
        const N: usize = 1_000;
        let handler = MetricsHandler::new()
            .with_session_types((0..N).map(|i| session_type(&format!("type-{i}"))));
        let telemetry = Telemetry::new(vec![Arc::new(handler)]);
        let (counters, _) = record(|| emit_many_types(&telemetry, N));
        let series = by_session_type(&counters, "charon_session_create_total");
        assert_eq!(series.len(), CAP + 1, "{series:?}");
        assert!((0..CAP).all(|i| series.get(&format!("type-{i}")) == Some(&1)));
        assert_eq!(series.get("other"), Some(&((N - CAP) as u64)));
    }

    #[test]
    fn an_empty_allowlist_counts_every_type_as_other() {
        let handler = MetricsHandler::new().with_session_types([]);
        let telemetry = Telemetry::new(vec![Arc::new(handler)]);
        let (counters, _) = record(|| emit_many_types(&telemetry, 3));
        assert_eq!(
            by_session_type(&counters, "charon_session_create_total"),
            [("other".to_owned(), 3)].into()
        );
    }

    #[test]
    fn counter_names_render_unchanged_in_prometheus() {
        let names: Vec<_> = EventKind::CHARON
            .into_iter()
            .filter_map(MetricsHandler::counter_name)
            .collect();
        assert_eq!(names.len(), EventKind::CHARON.len());
        for kind in EventKind::SPANS {
            assert_eq!(MetricsHandler::counter_name(kind), None);
        }
        for (kind, name) in EventKind::CHARON.into_iter().zip(&names) {
            // The event name with `_` for `.`, plus `_total`.
            assert_eq!(*name, format!("{}_total", kind.name().replace('.', "_")));
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
    }

    #[test]
    fn describe_gives_every_counter_a_help_text() {
        let telemetry = Telemetry::new(vec![Arc::new(MetricsHandler::new())]);
        let error = AuthError::new(AuthErrorKind::Expired);
        let (counters, descriptions) = record(|| {
            MetricsHandler::describe();
            for kind in EventKind::CHARON {
                telemetry.emit(kind, || match kind {
                    EventKind::TokenValid => Event::token(TokenMeta::new(false, None, None, None)),
                    EventKind::TokenInvalid => {
                        Event::token(TokenMeta::new(false, None, None, Some(&error)))
                    }
                    EventKind::JwksRefresh => Event::JwksRefresh(JwksMeta::new(
                        "https://auth.example/jwks",
                        JwksTrigger::Initial,
                        JwksOutcome::Updated,
                        1,
                    )),
                    _ => Event::session(kind, SessionMeta::new(Some("s"), "u", "full")),
                });
            }
        });
        assert_eq!(counters.len(), 8);
        assert_eq!(descriptions.len(), 8);
        for description in descriptions {
            assert!(description.is_some_and(|d| d.contains("(charon.")));
        }
    }

    #[test]
    fn jwks_refreshes_count_by_trigger_outcome_and_error_kind() {
        let telemetry = Telemetry::new(vec![Arc::new(MetricsHandler::new())]);
        let (counters, _) = record(|| {
            // Two sources: the URL never becomes a label.
            for source in ["https://a.example/jwks", "https://b.example/jwks"] {
                telemetry.emit(EventKind::JwksRefresh, || {
                    Event::JwksRefresh(JwksMeta::new(
                        source,
                        JwksTrigger::Interval,
                        JwksOutcome::Unchanged,
                        3,
                    ))
                });
                telemetry.emit(EventKind::JwksRefresh, || {
                    Event::JwksRefresh(
                        JwksMeta::new(source, JwksTrigger::UnknownKid, JwksOutcome::Failed, 3)
                            .with_error("http_status", "the JWKS endpoint answered 503"),
                    )
                });
            }
        });
        let expected: Series = [
            series(
                "charon_jwks_refresh_total",
                &[
                    ("error_kind", "none"),
                    ("outcome", "unchanged"),
                    ("trigger", "interval"),
                ],
                2,
            ),
            series(
                "charon_jwks_refresh_total",
                &[
                    ("error_kind", "http_status"),
                    ("outcome", "failed"),
                    ("trigger", "unknown_kid"),
                ],
                2,
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(counters, expected);
    }

    #[test]
    fn handler_wants_every_kind_but_the_start_events() {
        for kind in EventKind::ALL {
            assert_eq!(
                MetricsHandler::new().enabled(kind),
                !kind.is_start(),
                "{kind}"
            );
        }
    }
}
