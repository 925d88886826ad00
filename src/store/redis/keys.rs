//! Key layout.
//!
//! Per (user, type) the store keeps two keys that share one hash tag, so they always live in
//! the same Cluster slot and one Lua script may touch both:
//!
//! - `<prefix>{<enc_user>:<type>}:s`: a hash, `<sid> -> signed blob` and
//!   `l.<sid> -> lock version` (decimal);
//! - `<prefix>{<enc_user>:<type>}:e`: a sorted set, `<sid> -> refresh_expires_at`;
//! - `<prefix>{<enc_user>:<type>}:i`: a hash, `until -> t`: the type index below lists this
//!   type until `t` at least (the "index horizon").
//!
//! and per user one key in a slot of its own:
//!
//! - `<prefix>{<enc_user>}:t`: the type index, a sorted set
//!   `<type> -> a time up to which that type may have live sessions` (see `scripts.rs`).
//!
//! The per-user tag `{<enc_user>}` contains no `:` and the per-type tags always do, so it
//! is never one of them.
//!
//! `enc_user` is the user id percent-encoded: every byte outside the RFC 3986 unreserved
//! set `[A-Za-z0-9_.~-]` becomes `%XX` (uppercase hex). The encoding is injective and never
//! contains `{`, `}`, `:` or `%` unescaped, so the tag cannot be closed early and no two
//! (user, type) pairs share a tag: the session type is `[A-Za-z0-9_.-]` (no `:`), so the
//! single `:` inside the tag splits it unambiguously. The prefix is validated to contain no
//! braces, so the first `{` of a key always opens the tag.

use std::fmt::Write as _;

use crate::error::{ConfigError, ConfigErrorKind};
use crate::session::SessionType;

/// Default key prefix.
pub(crate) const DEFAULT_PREFIX: &str = "charon:";

/// Longest accepted key prefix, in bytes.
pub(crate) const MAX_PREFIX_LEN: usize = 64;

/// Prefix of the lock-version field of a session in the hash.
pub(crate) const LOCK_FIELD_PREFIX: &str = "l.";

/// Validate a key prefix: 1 to 64 bytes of `[A-Za-z0-9_.:-]`.
pub(crate) fn validate_prefix(prefix: &str) -> Result<(), ConfigError> {
    let ok = !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_LEN
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            ConfigErrorKind::InvalidKeyPrefix,
            "redis key prefix must be 1 to 64 characters of [A-Za-z0-9_.:-]",
        ))
    }
}

/// Append the percent-encoding of `user_id` to `out`.
fn encode_user(out: &mut String, user_id: &str) {
    for b in user_id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'~' | b'-') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// The two Redis keys holding the sessions of one (user, type); see
/// [`RedisStore::keys`](super::RedisStore::keys). Useful for inspection and operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserKeys {
    sessions: String,
    expiries: String,
    horizon: String,
}

impl UserKeys {
    /// The keys of `(user_id, session_type)` under `prefix`.
    /// The hash: `sid -> signed blob`, `l.sid -> lock version`.
    pub fn sessions(&self) -> &str {
        &self.sessions
    }

    /// The sorted set: `sid -> refresh_expires_at`.
    pub fn expiries(&self) -> &str {
        &self.expiries
    }

    /// The hash `until -> t`: the user's [type index](super::RedisStore::type_index_key)
    /// lists this type until `t` at least.
    pub fn index_horizon(&self) -> &str {
        &self.horizon
    }

    pub(crate) fn new(prefix: &str, user_id: &str, session_type: &SessionType) -> Self {
        let mut base = tag_base(prefix, user_id, session_type);
        let mut sessions = String::with_capacity(base.len() + 2);
        sessions.push_str(&base);
        sessions.push_str(":s");
        let mut horizon = String::with_capacity(base.len() + 2);
        horizon.push_str(&base);
        horizon.push_str(":i");
        base.push_str(":e");
        Self {
            sessions,
            expiries: base,
            horizon,
        }
    }
}

/// The key of `user_id`'s type index under `prefix`: `<prefix>{<enc_user>}:t`, a sorted
/// set `session type -> a time up to which it may have live sessions`, in a slot of its own.
pub(crate) fn type_index_key(prefix: &str, user_id: &str) -> String {
    let mut key = String::with_capacity(prefix.len() + user_id.len() + 4);
    key.push_str(prefix);
    key.push('{');
    encode_user(&mut key, user_id);
    key.push_str("}:t");
    key
}

/// `<prefix>{<enc_user>:<type>}`.
fn tag_base(prefix: &str, user_id: &str, session_type: &SessionType) -> String {
    let mut base = String::with_capacity(prefix.len() + user_id.len() + 24);
    push_tag_base(&mut base, prefix, user_id, session_type);
    base
}

/// Append `<prefix>{<enc_user>:<type>}` to `key`.
fn push_tag_base(key: &mut String, prefix: &str, user_id: &str, session_type: &SessionType) {
    key.push_str(prefix);
    key.push('{');
    encode_user(key, user_id);
    key.push(':');
    key.push_str(session_type.as_str());
    key.push('}');
}

/// The session hash's key alone ([`UserKeys::sessions`]), for reads (one allocation).
pub(crate) fn sessions_key(prefix: &str, user_id: &str, session_type: &SessionType) -> String {
    let mut key = String::with_capacity(prefix.len() + user_id.len() + 26);
    push_tag_base(&mut key, prefix, user_id, session_type);
    key.push_str(":s");
    key
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use std::collections::HashSet;

    use super::*;

    fn tag(key: &str) -> &str {
        let open = key.find('{').unwrap();
        let close = open + key[open..].find('}').unwrap();
        &key[open + 1..close]
    }

    fn hostile_ids() -> Vec<String> {
        vec![
            String::new(),
            "{".into(),
            "}".into(),
            "{}".into(),
            "}{".into(),
            ":".into(),
            "%".into(),
            "%7B".into(),
            "%25".into(),
            "%3A".into(),
            "a:b".into(),
            "a".into(),
            "b:c".into(),
            "a:b:c".into(),
            "a:full".into(),
            "a%3Afull".into(),
            "é".into(),
            "%C3%A9".into(),
            "日本".into(),
            "\0".into(),
            "\n".into(),
            " ".into(),
            "+".into(),
            "x".repeat(10 * 1024),
            "{".repeat(10 * 1024),
            "l.abc".into(),
            "user}:s".into(),
        ]
    }

    #[test]
    fn encoding_is_injective_and_stays_inside_the_tag() {
        let types = [
            SessionType::default(),
            SessionType::new("oauth2").unwrap(),
            SessionType::new("b").unwrap(),
            SessionType::new("full.x").unwrap(),
        ];
        let mut seen = HashSet::new();
        let mut seen_tags = HashSet::new();
        for id in hostile_ids() {
            for ty in &types {
                let keys = UserKeys::new(DEFAULT_PREFIX, &id, ty);
                assert!(seen.insert(keys.sessions.clone()), "collision for {id:?}");
                assert!(seen_tags.insert(tag(&keys.sessions).to_owned()));
                // Exactly one `{` and one `}`: the tag cannot escape.
                let index = type_index_key(DEFAULT_PREFIX, &id);
                for k in [&keys.sessions, &keys.expiries, &keys.horizon, &index] {
                    assert_eq!(k.matches('{').count(), 1, "{k}");
                    assert_eq!(k.matches('}').count(), 1, "{k}");
                    assert!(k.is_ascii());
                }
                assert_eq!(tag(&keys.sessions), tag(&keys.expiries));
                assert_eq!(tag(&keys.sessions), tag(&keys.horizon));
                // The user's index has a tag of its own, never a (user, type)'s.
                assert_eq!(tag(&index), tag_user(&id));
                assert!(!tag(&index).contains(':'));
                if ty == &types[0] {
                    // Distinct per user, and from every (user, type) tag.
                    assert!(seen_tags.insert(tag(&index).to_owned()), "{id:?}");
                }
                assert_eq!(
                    tag(&keys.sessions),
                    format!("{}:{}", tag_user(&id), ty.as_str())
                );
            }
        }
    }

    fn tag_user(id: &str) -> String {
        let mut s = String::new();
        encode_user(&mut s, id);
        s
    }

    #[test]
    fn colon_splits_are_distinct() {
        // ("a:b", "c") vs ("a", "b:c") cannot both be types, but check the user side.
        let t = SessionType::default();
        assert_ne!(
            UserKeys::new("p:", "a:b", &t).sessions,
            UserKeys::new("p:", "a", &t).sessions
        );
        let c = SessionType::new("c").unwrap();
        let bc = SessionType::new("b.c").unwrap();
        assert_ne!(
            UserKeys::new("p:", "a:b", &c).sessions,
            UserKeys::new("p:", "a", &bc).sessions
        );
        assert_ne!(
            UserKeys::new("p:", "a.b", &c).sessions,
            UserKeys::new("p:", "a", &bc).sessions
        );
    }

    #[test]
    fn layout() {
        let k = UserKeys::new("charon:", "u{1}", &SessionType::default());
        assert_eq!(
            sessions_key("charon:", "u{1}", &SessionType::default()),
            k.sessions
        );
        assert_eq!(k.sessions, "charon:{u%7B1%7D:full}:s");
        assert_eq!(k.expiries, "charon:{u%7B1%7D:full}:e");
        assert_eq!(k.horizon, "charon:{u%7B1%7D:full}:i");
        assert_eq!(type_index_key("charon:", "u{1}"), "charon:{u%7B1%7D}:t");
    }

    #[test]
    fn prefix_validation() {
        for ok in ["charon:", "a", "app.v1-x_y:", &"p".repeat(64)] {
            assert!(validate_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["", "{", "a}", "a b", "é", &"p".repeat(65), "a\n"] {
            let err = validate_prefix(bad).unwrap_err();
            assert_eq!(err.kind(), ConfigErrorKind::InvalidKeyPrefix);
        }
    }
}
