//! Signed session blobs.
//!
//! A stored value is
//!
//! ```text
//! b"c1." || HMAC-SHA256(signing_key, payload) (32 raw bytes) || payload
//! ```
//!
//! where `payload` is [`Session::to_versioned_bytes`] (JSON carrying its own schema version
//! `"v"`). `c1` names this blob layout; a future layout gets a new tag. The signing key is
//! derived from the base secret with PBKDF2-HMAC-SHA256 (250 000 iterations, 32 bytes,
//! salt `"RedisStore HMAC"`, as Charon does) and checked in constant time.
//!
//! The signature is defence in depth against a writable Redis: a value that fails to verify,
//! has an unknown layout or schema version, is garbage, or belongs to another session id,
//! user or type, decodes to `None` (the store reports "not found"). Decoding never panics.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::session::{Session, SessionKey};

type HmacSha256 = Hmac<Sha256>;

/// Tag that opens every blob of the current layout.
pub const BLOB_TAG: &[u8] = b"c1.";

/// Length of the HMAC-SHA256 tag, in bytes.
const MAC_LEN: usize = 32;

/// PBKDF2 salt of the signing key (Charon's).
pub const SIGNING_KEY_SALT: &str = "RedisStore HMAC";

/// The 32-byte key that signs stored sessions.
///
/// Deriving it costs 250 000 PBKDF2 rounds (tens of milliseconds in release builds), so derive
/// it once and share it; [`RedisStoreBuilder`](super::RedisStoreBuilder) does that for you.
/// `Debug` never prints the key.
#[derive(Clone)]
pub struct SigningKey {
    /// The HMAC keyed once: every blob clones this state instead of re-keying.
    mac: HmacSha256,
}

impl SigningKey {
    /// Derive the key from a base secret: PBKDF2-HMAC-SHA256, 250 000 iterations, salt
    /// `"RedisStore HMAC"`, 32 bytes (the same key Charon derives from the same secret).
    pub fn derive(base_secret: &[u8]) -> Self {
        Self::from_bytes(crate::token::derive_key(base_secret, SIGNING_KEY_SALT))
    }

    /// Use 32 bytes of key material as is (a key you derived yourself, or for fuzzing).
    pub fn from_bytes(key: [u8; 32]) -> Self {
        // HMAC accepts keys of any length; 32 bytes never fails.
        let mac = match <HmacSha256 as Mac>::new_from_slice(&key) {
            Ok(mac) => mac,
            Err(_) => unreachable_hmac(),
        };
        Self { mac }
    }

    fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }
}

#[cold]
fn unreachable_hmac() -> HmacSha256 {
    // `new_from_slice` only fails for fixed-size-key MACs; HMAC takes any key length.
    #[allow(clippy::unwrap_used)]
    <HmacSha256 as Mac>::new_from_slice(&[0u8; 32]).unwrap()
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(REDACTED)")
    }
}

/// Serialize and sign `session` into a stored blob.
pub fn encode_blob(key: &SigningKey, session: &Session) -> Vec<u8> {
    let payload = session.to_versioned_bytes();
    let mut mac = key.mac();
    mac.update(&payload);
    let tag = mac.finalize().into_bytes();
    let mut out = Vec::with_capacity(BLOB_TAG.len() + MAC_LEN + payload.len());
    out.extend_from_slice(BLOB_TAG);
    out.extend_from_slice(&tag);
    out.extend_from_slice(&payload);
    out
}

/// Whether two blobs are the same bytes, their signatures compared in constant time (as
/// [`decode_blob`] checks a signature), so that comparing a blob read from Redis with one
/// known good leaks nothing of the good one's signature through timing.
pub(crate) fn same_blob(a: &[u8], b: &[u8]) -> bool {
    let split = BLOB_TAG.len() + MAC_LEN;
    match (a.split_at_checked(split), b.split_at_checked(split)) {
        (Some((a_head, a_payload)), Some((b_head, b_payload))) => {
            a_payload == b_payload && bool::from(a_head.ct_eq(b_head))
        }
        // Shorter than a signature: no blob at all; compared as plain bytes.
        _ => a == b,
    }
}

/// Verify and parse a stored blob, accepting it only for the session `expected`.
///
/// Returns `None` when the layout tag is unknown, the blob is truncated, the signature does
/// not verify (checked in constant time), the payload is not a known schema version, or the
/// session's id, user id or type differ from `expected`. Expiry is not checked here. Never
/// panics, whatever the input.
pub fn decode_blob(key: &SigningKey, blob: &[u8], expected: SessionKey<'_>) -> Option<Session> {
    let rest = blob.strip_prefix(BLOB_TAG)?;
    if rest.len() < MAC_LEN {
        return None;
    }
    let (tag, payload) = rest.split_at(MAC_LEN);
    let mut mac = key.mac();
    mac.update(payload);
    mac.verify_slice(tag).ok()?;
    let session = Session::from_versioned_bytes(payload)?;
    session.matches(&expected).then_some(session)
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::session::SessionType;

    fn key() -> SigningKey {
        SigningKey::from_bytes([7; 32])
    }

    fn session(user: &str) -> Session {
        session_of("sid1", user)
    }

    /// A session of `user` with the id `sid` (also for the memo's tests).
    pub(in crate::store::redis) fn session_of(sid: &str, user: &str) -> Session {
        Session::new(
            sid.into(),
            user.into(),
            SessionType::default(),
            100,
            None,
            200,
            "rt".into(),
        )
    }

    #[test]
    fn round_trip() {
        let s = session("u");
        let blob = encode_blob(&key(), &s);
        assert!(blob.starts_with(b"c1."));
        assert_eq!(decode_blob(&key(), &blob, s.key()), Some(s));
    }

    #[test]
    fn rejects_tampering_and_garbage() {
        let s = session("u");
        let blob = encode_blob(&key(), &s);
        // Wrong key.
        assert_eq!(
            decode_blob(&SigningKey::from_bytes([8; 32]), &blob, s.key()),
            None
        );
        // Any flipped byte.
        for i in 0..blob.len() {
            let mut b = blob.clone();
            b[i] ^= 1;
            assert_eq!(decode_blob(&key(), &b, s.key()), None, "byte {i}");
        }
        // Truncations.
        for n in 0..blob.len() {
            assert_eq!(decode_blob(&key(), &blob[..n], s.key()), None);
        }
        // Other user / type / id, validly signed.
        let other = session("v");
        let other_blob = encode_blob(&key(), &other);
        assert_eq!(decode_blob(&key(), &other_blob, s.key()), None);
        let t = SessionType::new("oauth2").unwrap();
        assert_eq!(
            decode_blob(&key(), &blob, SessionKey::new("sid1", "u", &t)),
            None
        );
        assert_eq!(
            decode_blob(
                &key(),
                &blob,
                SessionKey::new("sid2", "u", &SessionType::default())
            ),
            None
        );
        // Signed garbage and unknown schema version.
        for payload in [&b"garbage"[..], br#"{"v":99}"#, b""] {
            let mut mac = key().mac();
            mac.update(payload);
            let mut b = b"c1.".to_vec();
            b.extend_from_slice(&mac.finalize().into_bytes());
            b.extend_from_slice(payload);
            assert_eq!(decode_blob(&key(), &b, s.key()), None);
        }
        assert_eq!(decode_blob(&key(), b"", s.key()), None);
        assert_eq!(decode_blob(&key(), b"signed.xxx", s.key()), None);
    }

    #[test]
    fn same_blob_compares_every_byte() {
        let blob = encode_blob(&key(), &session("u"));
        assert!(same_blob(&blob, &blob.clone()));
        for i in 0..blob.len() {
            let mut b = blob.clone();
            b[i] ^= 1;
            assert!(!same_blob(&blob, &b), "byte {i}");
        }
        for n in 0..blob.len() {
            assert!(!same_blob(&blob, &blob[..n]), "length {n}");
            assert!(same_blob(&blob[..n], &blob[..n]));
        }
        let mut longer = blob.clone();
        longer.push(b'x');
        assert!(!same_blob(&blob, &longer));
    }

    #[test]
    fn derivation_matches_pbkdf2_reference() {
        // PBKDF2-HMAC-SHA256("secret", "RedisStore HMAC", 250000, 32), from Python's hashlib.
        let k = SigningKey::derive(b"secret");
        let reference: [u8; 32] =
            hex::decode("7192850e5ec6513280c53d8d93ed7b73240a73f9f7f408abb791ce78ab77a096")
                .unwrap()
                .try_into()
                .unwrap();
        // The key is only kept keyed into the HMAC: compare what it signs.
        let tag = |k: &SigningKey| k.mac().chain_update(b"probe").finalize().into_bytes();
        assert_eq!(tag(&k), tag(&SigningKey::from_bytes(reference)));
        assert_ne!(tag(&k), tag(&SigningKey::from_bytes([0; 32])));
        assert_eq!(format!("{k:?}"), "SigningKey(REDACTED)");
    }
}
