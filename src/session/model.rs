//! The server-side session record and its versioned serialized form.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::payload::{self, PayloadError};
use super::{SessionType, UserId};
use crate::clock::UnixTime;

/// Current schema version of the serialized session (field `v`).
pub const SCHEMA_VERSION: u32 = 1;

/// The most [`Session::metadata`] entries a session may carry.
pub const MAX_METADATA_ENTRIES: usize = 8;
/// The longest [`Session::metadata`] key, in bytes (keys are 1 to this many bytes of
/// `[A-Za-z0-9_.-]`).
pub const MAX_METADATA_KEY_LEN: usize = 32;
/// The longest [`Session::metadata`] value, in bytes (no control characters).
pub const MAX_METADATA_VALUE_LEN: usize = 256;

/// Check session metadata against the limits ([`MAX_METADATA_ENTRIES`],
/// [`MAX_METADATA_KEY_LEN`], [`MAX_METADATA_VALUE_LEN`]); the complaint on failure.
pub(crate) fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<(), &'static str> {
    if metadata.len() > MAX_METADATA_ENTRIES {
        return Err("session metadata holds at most 8 entries");
    }
    for (key, value) in metadata {
        let key_ok = !key.is_empty()
            && key.len() <= MAX_METADATA_KEY_LEN
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !key_ok {
            return Err("session metadata keys are 1 to 32 characters of [A-Za-z0-9_.-]");
        }
        if value.len() > MAX_METADATA_VALUE_LEN || value.chars().any(char::is_control) {
            return Err("session metadata values are at most 256 bytes without control characters");
        }
    }
    Ok(())
}

/// A server-side session (Charon's session model v7, plus a schema version on the wire).
///
/// Sessions are created and changed by the session API on [`Charon`](crate::Charon); stores
/// keep them exactly as they went in. Fields are public for reading.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Session {
    /// Session id: 16 random bytes, base64url (22 characters).
    pub id: String,
    /// The user this session belongs to (claim `sub`): a positive integer or a string,
    /// kept with its JSON type ([`UserId`]).
    pub user_id: UserId,
    /// Session type (claim `styp`), default `full`.
    #[serde(rename = "type")]
    pub session_type: SessionType,
    /// When the session was created.
    pub created_at: UnixTime,
    /// Absolute end of the session; `None` means infinite. Never changed by a refresh.
    pub expires_at: Option<UnixTime>,
    /// Expiry of the newest refresh token; the store forgets the session after it.
    pub refresh_expires_at: UnixTime,
    /// When the session was last written (create or refresh).
    pub refreshed_at: UnixTime,
    /// `jti` of the newest refresh token, rotated on every refresh.
    pub refresh_token_id: String,
    /// Start of the current token generation.
    pub tokens_fresh_from: UnixTime,
    /// Start of the previous token generation.
    pub prev_tokens_fresh_from: UnixTime,
    /// Application payload kept server-side; kept across refreshes unless replaced. Read
    /// it as your own type with [`extra_payload_as`](Self::extra_payload_as).
    #[serde(default)]
    pub extra_payload: Map<String, Value>,
    /// Optimistic-locking counter, incremented by the store on every successful write.
    #[serde(default)]
    pub lock_version: u64,
    /// Application metadata given at login
    /// ([`CreateSession::metadata`](crate::CreateSession::metadata)), e.g. a device name, a
    /// user agent, an IP label; kept across refreshes and returned by the session list, so
    /// that a user can tell their sessions apart. **Not for secrets**: it is shown to the
    /// user and to whoever lists sessions. Bounded: at most [`MAX_METADATA_ENTRIES`]
    /// entries, keys of at most [`MAX_METADATA_KEY_LEN`] bytes, values of at most
    /// [`MAX_METADATA_VALUE_LEN`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The extra claims of the session's access tokens
    /// ([`CreateSession::access_claim`](crate::CreateSession::access_claim)), signed again
    /// on every refresh unless the refresh replaces them. Never a reserved claim.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub access_claims: Map<String, Value>,
    /// The extra claims of the session's refresh tokens, kept as
    /// [`access_claims`](Self::access_claims) are.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub refresh_claims: Map<String, Value>,
}

impl fmt::Debug for Session {
    /// Redacts the refresh token id and the contents of the extra payload (server-side
    /// data the application may consider secret); shows the payload's keys count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("session_type", &self.session_type)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("refreshed_at", &self.refreshed_at)
            .field("refresh_token_id", &"REDACTED")
            .field("tokens_fresh_from", &self.tokens_fresh_from)
            .field("prev_tokens_fresh_from", &self.prev_tokens_fresh_from)
            .field(
                "extra_payload",
                &format_args!("{} entries", self.extra_payload.len()),
            )
            .field("lock_version", &self.lock_version)
            .field("metadata", &format_args!("{} entries", self.metadata.len()))
            .field(
                "access_claims",
                &format_args!("{} entries", self.access_claims.len()),
            )
            .field(
                "refresh_claims",
                &format_args!("{} entries", self.refresh_claims.len()),
            )
            .finish()
    }
}

/// The identity of a stored session: (session id, user id, session type).
///
/// The user id is its text form ([`UserId::as_str`]): stores key sessions by it, as
/// Charon's Redis store keys them by `to_string(user_id)`, so the integer `42` and the
/// string `"42"` share a key. Where a token names its session, the session API also checks
/// that the session's user id has the token's `sub` type, as Charon's stores do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionKey<'a> {
    /// Session id.
    pub session_id: &'a str,
    /// User id, in its text form ([`UserId::as_str`]).
    pub user_id: &'a str,
    /// Session type.
    pub session_type: &'a SessionType,
}

impl<'a> SessionKey<'a> {
    /// A key from its three parts; the user id as text (a `&str`, or a
    /// [`&UserId`](UserId), whose text form is used).
    pub fn new<U: AsRef<str> + ?Sized>(
        session_id: &'a str,
        user_id: &'a U,
        session_type: &'a SessionType,
    ) -> Self {
        Self {
            session_id,
            user_id: user_id.as_ref(),
            session_type,
        }
    }
}

impl Session {
    /// A brand-new session record (lock version 0), as written on login.
    ///
    /// `expires_at` is `None` for an infinite session. `refresh_expires_at` must not exceed
    /// `expires_at`; the session API computes it with the TTL rules.
    pub fn new(
        id: String,
        user_id: UserId,
        session_type: SessionType,
        now: UnixTime,
        expires_at: Option<UnixTime>,
        refresh_expires_at: UnixTime,
        refresh_token_id: String,
    ) -> Self {
        Self {
            id,
            user_id,
            session_type,
            created_at: now,
            expires_at,
            refresh_expires_at,
            refreshed_at: now,
            refresh_token_id,
            tokens_fresh_from: now,
            prev_tokens_fresh_from: now,
            extra_payload: Map::new(),
            lock_version: 0,
            metadata: BTreeMap::new(),
            access_claims: Map::new(),
            refresh_claims: Map::new(),
        }
    }

    /// This session's store key.
    pub fn key(&self) -> SessionKey<'_> {
        SessionKey::new(&self.id, &self.user_id, &self.session_type)
    }

    /// The [extra payload](Self::extra_payload) as the application's own type (what
    /// [`CreateSession::extra_payload_typed`](crate::CreateSession::extra_payload_typed)
    /// stored).
    ///
    /// ```
    /// # use charon_auth::{Session, SessionType};
    /// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    /// struct Cart { items: Vec<String> }
    /// let mut session = Session::new("sid".into(), 42_u64.into(), SessionType::default(), 0, None, 60, "rt".into());
    /// session.extra_payload = serde_json::json!({"items": ["tea"]}).as_object().cloned().unwrap_or_default();
    /// assert_eq!(session.extra_payload_as::<Cart>()?, Cart { items: vec!["tea".into()] });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`PayloadErrorKind::Deserialize`](super::PayloadErrorKind::Deserialize) when the
    /// payload does not fit `T` (serde's complaint is the source), never a panic.
    pub fn extra_payload_as<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        payload::from_object(&self.extra_payload)
    }

    /// Whether the session is past its refresh expiry at `now` (stores never return it then).
    pub fn is_expired(&self, now: UnixTime) -> bool {
        self.refresh_expires_at < now
    }

    /// Whether this session belongs to `key` (same id, user and type).
    /// The user id is compared in its text form, as stores key it ([`SessionKey`]).
    pub fn matches(&self, key: &SessionKey<'_>) -> bool {
        self.id == key.session_id
            && self.user_id.as_str() == key.user_id
            && &self.session_type == key.session_type
    }

    /// Serialize to the versioned wire form (JSON with `"v": SCHEMA_VERSION`).
    pub fn to_versioned_bytes(&self) -> Vec<u8> {
        let wire = WireRef {
            v: SCHEMA_VERSION,
            session: self,
        };
        // Serializing a struct of strings, integers and a JSON map cannot fail.
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// Parse the versioned wire form, upgrading older schema versions.
    /// Returns `None` for unknown versions or malformed data; never panics.
    pub fn from_versioned_bytes(bytes: &[u8]) -> Option<Self> {
        // Version 1 is the only schema so far: read it in one pass (no version probe, no
        // `flatten`, which buffers every field first), then check the version. A later
        // schema adds its own struct and a probe for older blobs.
        let wire: WireV1 = serde_json::from_slice(bytes).ok()?;
        (wire.v == 1).then_some(Session {
            id: wire.id,
            user_id: wire.user_id,
            session_type: wire.session_type,
            created_at: wire.created_at,
            expires_at: wire.expires_at,
            refresh_expires_at: wire.refresh_expires_at,
            refreshed_at: wire.refreshed_at,
            refresh_token_id: wire.refresh_token_id,
            tokens_fresh_from: wire.tokens_fresh_from,
            prev_tokens_fresh_from: wire.prev_tokens_fresh_from,
            extra_payload: wire.extra_payload,
            lock_version: wire.lock_version,
            metadata: wire.metadata,
            access_claims: wire.access_claims,
            refresh_claims: wire.refresh_claims,
        })
    }
}

#[derive(Serialize)]
struct WireRef<'a> {
    v: u32,
    #[serde(flatten)]
    session: &'a Session,
}

/// Schema version 1 as read: the fields of [`Session`] (same names and defaults) and `v`.
#[derive(Deserialize)]
struct WireV1 {
    v: u32,
    id: String,
    /// A number or a string (blobs written before integer ids are strings).
    user_id: UserId,
    #[serde(rename = "type")]
    session_type: SessionType,
    created_at: UnixTime,
    expires_at: Option<UnixTime>,
    refresh_expires_at: UnixTime,
    refreshed_at: UnixTime,
    refresh_token_id: String,
    tokens_fresh_from: UnixTime,
    prev_tokens_fresh_from: UnixTime,
    #[serde(default)]
    extra_payload: Map<String, Value>,
    #[serde(default)]
    lock_version: u64,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    #[serde(default)]
    access_claims: Map<String, Value>,
    #[serde(default)]
    refresh_claims: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Session {
        let mut s = Session::new(
            "sid".into(),
            "user".into(),
            SessionType::default(),
            100,
            Some(1000),
            500,
            "rtid".into(),
        );
        s.extra_payload
            .insert("k".into(), serde_json::json!([1, 2]));
        s
    }

    #[test]
    fn round_trips_with_version() {
        let s = sample();
        let bytes = s.to_versioned_bytes();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["v"], 1);
        assert_eq!(json["type"], "full");
        assert_eq!(Session::from_versioned_bytes(&bytes), Some(s));
    }

    #[test]
    fn unknown_version_and_garbage_read_as_none() {
        let s = sample();
        let mut json: serde_json::Value = serde_json::from_slice(&s.to_versioned_bytes()).unwrap();
        json["v"] = 99.into();
        assert_eq!(
            Session::from_versioned_bytes(json.to_string().as_bytes()),
            None
        );
        assert_eq!(Session::from_versioned_bytes(b"not json"), None);
        assert_eq!(Session::from_versioned_bytes(b"{}"), None);
        json["v"] = 1.into();
        json["type"] = "bad type".into();
        assert_eq!(
            Session::from_versioned_bytes(json.to_string().as_bytes()),
            None
        );
    }

    #[test]
    fn debug_redacts_the_refresh_token_id_and_payload() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("rtid"), "{text}");
        assert!(
            text.contains("REDACTED") && text.contains("1 entries"),
            "{text}"
        );
    }

    #[test]
    fn metadata_round_trips_and_is_absent_from_old_blobs() {
        let mut s = sample();
        let old = s.to_versioned_bytes();
        assert!(!String::from_utf8_lossy(&old).contains("metadata"));
        assert_eq!(Session::from_versioned_bytes(&old), Some(s.clone()));
        s.metadata.insert("device".into(), "Ann's phone".into());
        assert_eq!(
            Session::from_versioned_bytes(&s.to_versioned_bytes()),
            Some(s)
        );
    }

    #[test]
    fn metadata_is_bounded() {
        let ok: BTreeMap<String, String> = [("device".into(), "phone".into())].into();
        assert!(check_metadata(&ok).is_ok());
        let many: BTreeMap<String, String> = (0..=MAX_METADATA_ENTRIES)
            .map(|i| (format!("k{i}"), String::new()))
            .collect();
        assert!(check_metadata(&many).is_err());
        for (key, value) in [
            ("", "v".to_owned()),
            ("has space", "v".to_owned()),
            (&"k".repeat(MAX_METADATA_KEY_LEN + 1), "v".to_owned()),
            ("k", "v".repeat(MAX_METADATA_VALUE_LEN + 1)),
            ("k", "line\nbreak".to_owned()),
        ] {
            let one: BTreeMap<String, String> = [(key.to_owned(), value)].into();
            assert!(check_metadata(&one).is_err(), "{key:?}");
        }
    }

    #[test]
    fn integer_user_ids_and_kept_claims_round_trip_in_the_blob() {
        let mut s = sample();
        let old = s.to_versioned_bytes();
        let text = String::from_utf8_lossy(&old).into_owned();
        assert!(text.contains(r#""user_id":"user""#), "{text}");
        assert!(!text.contains("access_claims") && !text.contains("refresh_claims"));
        s.user_id = UserId::from(42_u64);
        s.access_claims.insert("scope".into(), "read".into());
        s.refresh_claims.insert("device".into(), "phone".into());
        let bytes = s.to_versioned_bytes();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["user_id"], serde_json::json!(42), "stored as a number");
        let back = Session::from_versioned_bytes(&bytes).unwrap();
        assert_eq!(back.user_id.as_u64(), Some(42));
        assert_eq!(back, s);
        // A float or a negative id is no user id: the blob does not load.
        for bad in [serde_json::json!(4.2), serde_json::json!(-1)] {
            let mut json = json.clone();
            json["user_id"] = bad;
            assert_eq!(
                Session::from_versioned_bytes(json.to_string().as_bytes()),
                None
            );
        }
    }

    #[test]
    fn infinite_session_round_trips() {
        let mut s = sample();
        s.expires_at = None;
        assert_eq!(
            Session::from_versioned_bytes(&s.to_versioned_bytes()),
            Some(s)
        );
    }
}
