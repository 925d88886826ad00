//! A per-handler metadata filter for privacy: drop or keyed-hash `user_id` and
//! `session_id` before the handler sees them.

use std::fmt::{self, Write as _};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{ClaimMeta, Event, EventKind, SessionMeta, TelemetryHandler, TokenMeta};
use crate::error::{ConfigError, ConfigErrorKind};

/// A secret key for [`FieldPolicy::Hash`]: HMAC-SHA256 keyed with it. At least
/// [`MIN_LEN`](Self::MIN_LEN) bytes; generate it once (e.g. 32 random bytes) and keep it as
/// you keep other secrets, so that the same id hashes the same across restarts and
/// instances. Its `Debug` prints `REDACTED`.
#[derive(Clone)]
pub struct IdHashKey {
    mac: Hmac<Sha256>,
}

impl IdHashKey {
    /// The shortest key accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// A key from its bytes.
    ///
    /// # Errors
    ///
    /// [`ConfigErrorKind::Invalid`] for a key shorter than [`MIN_LEN`](Self::MIN_LEN).
    pub fn new(key: &[u8]) -> Result<Self, ConfigError> {
        if key.len() < Self::MIN_LEN {
            return Err(ConfigError::new(
                ConfigErrorKind::Invalid,
                "an id hash key needs at least 32 bytes",
            ));
        }
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| {
            ConfigError::new(ConfigErrorKind::Invalid, "the id hash key was refused")
        })?;
        Ok(Self { mac })
    }

    /// The keyed hash of `value`: the first 16 bytes of HMAC-SHA256(key, value), as 32
    /// lowercase hex digits. The same value always hashes the same under one key, so events
    /// can still be correlated by user or session; without the key the ids cannot be
    /// recovered or confirmed by guessing.
    pub fn hash(&self, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(32);
        for byte in digest.iter().take(16) {
            // Writing to a String cannot fail.
            let _ = write!(out, "{byte:02x}");
        }
        out
    }
}

impl fmt::Debug for IdHashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdHashKey(REDACTED)")
    }
}

/// What a [`MetadataFilter`] does with one id field.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum FieldPolicy {
    /// Pass the id through unchanged (the default).
    #[default]
    Keep,
    /// Remove it: an optional field (`session_id`) becomes `None`, `user_id` the empty
    /// string.
    Drop,
    /// Replace it by its keyed hash ([`IdHashKey::hash`]).
    Hash(IdHashKey),
}

impl FieldPolicy {
    fn apply(&self, value: &str) -> Option<String> {
        match self {
            FieldPolicy::Keep => Some(value.to_owned()),
            FieldPolicy::Drop => None,
            FieldPolicy::Hash(key) => Some(key.hash(value)),
        }
    }

    fn keeps(&self) -> bool {
        matches!(self, FieldPolicy::Keep)
    }
}

/// A metadata filter for one handler: what happens to `user_id` and `session_id` (in
/// `charon.session.*` events and in the claims of `charon.token.*` events) before the
/// handler sees them. The other events carry no ids and pass unchanged.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use charon_auth::telemetry::{
///     Event, EventKind, FieldPolicy, IdHashKey, MetadataFilter, SessionMeta, Telemetry,
/// };
///
/// let key = IdHashKey::new(&[7; 32])?;
/// let filter = MetadataFilter::new()
///     .user_id(FieldPolicy::Hash(key.clone()))
///     .session_id(FieldPolicy::Drop);
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let telemetry = Telemetry::none();
/// telemetry.attach_many("audit", [EventKind::SessionCreate], filter.wrap(move |e: &Event<'_>| {
///     let meta = e.session_meta().copied();
///     log.lock().unwrap().push(meta.map(|m| (m.user_id.to_owned(), m.session_id.is_some())));
/// }))?;
/// telemetry.emit(EventKind::SessionCreate, || {
///     Event::session(EventKind::SessionCreate, SessionMeta::new(Some("sid"), "alice", "full"))
/// });
/// assert_eq!(*seen.lock().unwrap(), [Some((key.hash("alice"), false))]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct MetadataFilter {
    user_id: FieldPolicy,
    session_id: FieldPolicy,
}

impl MetadataFilter {
    /// A filter that keeps everything (set the fields' policies).
    pub fn new() -> Self {
        Self::default()
    }

    /// What to do with `user_id`. Defaults to [`FieldPolicy::Keep`].
    pub fn user_id(mut self, policy: FieldPolicy) -> Self {
        self.user_id = policy;
        self
    }

    /// What to do with `session_id`. Defaults to [`FieldPolicy::Keep`].
    pub fn session_id(mut self, policy: FieldPolicy) -> Self {
        self.session_id = policy;
        self
    }

    /// `handler` behind this filter: itself a handler, to attach or register at build
    /// time.
    pub fn wrap<H: TelemetryHandler>(self, handler: H) -> Filtered<H> {
        Filtered {
            filter: self,
            handler,
        }
    }

    fn keeps_all(&self) -> bool {
        self.user_id.keeps() && self.session_id.keeps()
    }
}

/// A handler behind a [`MetadataFilter`] ([`MetadataFilter::wrap`]).
#[derive(Debug, Clone)]
pub struct Filtered<H> {
    filter: MetadataFilter,
    handler: H,
}

impl<H> Filtered<H> {
    /// The wrapped handler.
    pub fn get_ref(&self) -> &H {
        &self.handler
    }

    /// The wrapped handler, unwrapped.
    pub fn into_inner(self) -> H {
        self.handler
    }
}

impl<H: TelemetryHandler> TelemetryHandler for Filtered<H> {
    fn enabled(&self, kind: EventKind) -> bool {
        self.handler.enabled(kind)
    }

    fn handle(&self, event: &Event<'_>) {
        if self.filter.keeps_all() {
            return self.handler.handle(event);
        }
        let mut event = *event;
        match &mut event {
            Event::SessionCreate(meta)
            | Event::SessionRefresh(meta)
            | Event::SessionDelete(meta)
            | Event::SessionDeleteAll(meta)
            | Event::SessionLockConflict(meta) => {
                let (user_id, session_id) = self.ids(meta.user_id, meta.session_id);
                let filtered = SessionMeta {
                    user_id: user_id.as_deref().unwrap_or(""),
                    session_id: session_id.as_deref(),
                    ..*meta
                };
                let kind = event.kind();
                self.handler.handle(&Event::session(kind, filtered));
            }
            Event::TokenValid(meta) | Event::TokenInvalid(meta) => {
                let Some(claims) = meta.claims else {
                    return self.handler.handle(&event);
                };
                let (user_id, session_id) = self.ids(claims.user_id, claims.session_id);
                let filtered = TokenMeta {
                    claims: Some(ClaimMeta {
                        user_id: user_id.as_deref().unwrap_or(""),
                        session_id: session_id.as_deref(),
                        ..claims
                    }),
                    ..*meta
                };
                self.handler.handle(&match event {
                    Event::TokenValid(_) => Event::TokenValid(filtered),
                    _ => Event::TokenInvalid(filtered),
                });
            }
            _ => self.handler.handle(&event),
        }
    }
}

impl<H> Filtered<H> {
    /// The filtered user id and session id (owned: they live for one delivery).
    fn ids(&self, user_id: &str, session_id: Option<&str>) -> (Option<String>, Option<String>) {
        (
            self.filter.user_id.apply(user_id),
            session_id.and_then(|sid| self.filter.session_id.apply(sid)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_key_is_refused() {
        let err = IdHashKey::new(&[1; 31]).err().map(|e| e.kind());
        assert_eq!(err, Some(ConfigErrorKind::Invalid));
        assert!(IdHashKey::new(&[1; 32]).is_ok());
    }

    #[test]
    fn the_hash_is_hmac_sha256_truncated_to_16_bytes() {
        // RFC 4231, test case 6 (a 131-byte key): HMAC-SHA256 =
        // 60e431591ee0b67f0d8a26aacbf5b77f 8e0bc6213728c5140546040f0ee37f54.
        let key = [0xaa_u8; 131];
        let hashed = IdHashKey::new(&key)
            .map(|k| k.hash("Test Using Larger Than Block-Size Key - Hash Key First"))
            .ok();
        assert_eq!(hashed.as_deref(), Some("60e431591ee0b67f0d8a26aacbf5b77f"));
        // Another key, another hash; the key never shows in Debug.
        let other = IdHashKey::new(&[0xab; 131])
            .map(|k| k.hash("Test Using Larger Than Block-Size Key - Hash Key First"))
            .ok();
        assert_ne!(other, hashed);
        let debug = format!("{:?}", IdHashKey::new(&key).ok());
        assert!(debug.contains("REDACTED") && !debug.contains("170"));
    }
}
