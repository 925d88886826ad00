//! The verified-blob memo: the session each recently read blob decoded to, so that a read
//! that gets the same bytes back from Redis skips the HMAC check and the JSON decode.
//!
//! Decoding ([`decode_blob`]) is a pure function of the signing key, the blob's bytes and
//! the key asked for (session id, user, type): the same bytes asked for under the same key
//! decode to the same session. So an entry is served only when the blob Redis has just
//! answered is byte for byte the one it was decoded from ([`same_blob`]: the signatures
//! compared in constant time, as a full decode compares them), and its session
//! [matches](Session::matches) the key asked for; anything else (a session written since, an
//! entry-key collision, a blob that did not verify) is decoded in full. Expiry is checked by
//! the caller against its own `now` either way.
//!
//! The memo never answers in place of Redis: every read still makes its round trip, and a
//! session deleted there is not found whatever the memo holds. It saves CPU (about 2 µs a
//! read of a typical session in the README's load runs), not the read; for reads without
//! a round trip see [`SessionCache`](super::SessionCache).

use std::fmt;
use std::hash::BuildHasher as _;
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, UnitWeighter};

use super::codec::{SigningKey, decode_blob, same_blob};
use crate::session::{Session, SessionKey};

/// The memo's capacity, in sessions, unless set with
/// [`RedisStoreBuilder::verified_blobs`](super::RedisStoreBuilder::verified_blobs).
pub const DEFAULT_VERIFIED_BLOBS: usize = 4096;

/// A decoded blob: the bytes it was decoded from and the session they hold.
struct Verified {
    blob: Box<[u8]>,
    session: Arc<Session>,
}

/// The decoder of a store's blobs, with the memo; shared by the store's clones. See the
/// [module docs](self).
pub(crate) struct VerifiedBlobs {
    /// The key every blob is checked with: one memo, one key.
    signing_key: SigningKey,
    /// Keyed by a seeded hash of the session key (user, type, id): inline, nothing to
    /// allocate on a lookup. A collision costs a full decode, never a wrong answer. `None`:
    /// no memo (capacity 0), every blob decoded.
    map: Option<Cache<u64, Arc<Verified>, UnitWeighter, DefaultHashBuilder>>,
    key_hasher: DefaultHashBuilder,
}

impl VerifiedBlobs {
    /// A decoder of blobs signed with `signing_key` remembering at most `capacity` sessions
    /// (0: none).
    pub(crate) fn new(signing_key: SigningKey, capacity: usize) -> Self {
        Self {
            signing_key,
            map: (capacity > 0).then(|| {
                Cache::with(
                    capacity,
                    u64::try_from(capacity).unwrap_or(u64::MAX),
                    UnitWeighter,
                    DefaultHashBuilder::default(),
                    Default::default(),
                )
            }),
            key_hasher: DefaultHashBuilder::default(),
        }
    }

    /// [`decode_blob`] of `blob` for `expected`, from the memo when it decoded these very
    /// bytes for this key before; a session decoded anew is remembered.
    pub(crate) fn decode(&self, blob: &[u8], expected: SessionKey<'_>) -> Option<Arc<Session>> {
        let Some(map) = &self.map else {
            return decode_blob(&self.signing_key, blob, expected).map(Arc::new);
        };
        let entry_key = self.key_hasher.hash_one((
            expected.user_id,
            expected.session_type.as_str(),
            expected.session_id,
        ));
        if let Some(seen) = map.get(&entry_key)
            && same_blob(&seen.blob, blob)
            && seen.session.matches(&expected)
        {
            return Some(Arc::clone(&seen.session));
        }
        let session = Arc::new(decode_blob(&self.signing_key, blob, expected)?);
        map.insert(
            entry_key,
            Arc::new(Verified {
                blob: blob.into(),
                session: Arc::clone(&session),
            }),
        );
        Some(session)
    }

    /// Sessions held.
    pub(crate) fn len(&self) -> usize {
        self.map.as_ref().map_or(0, Cache::len)
    }

    /// The most sessions held (0: no memo).
    pub(crate) fn capacity(&self) -> u64 {
        self.map.as_ref().map_or(0, Cache::capacity)
    }
}

impl fmt::Debug for VerifiedBlobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the signing key (its own Debug redacts it too).
        f.debug_struct("VerifiedBlobs")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::session::SessionType;
    use crate::store::redis::codec::encode_blob;

    fn signing_key() -> SigningKey {
        SigningKey::from_bytes([7; 32])
    }

    fn session(sid: &str, user: &str) -> Session {
        crate::store::redis::codec::tests::session_of(sid, user)
    }

    #[test]
    fn the_same_bytes_are_served_from_the_memo_and_other_bytes_decoded() {
        let key = signing_key();
        let memo = VerifiedBlobs::new(key.clone(), 16);
        let mut s = session("sid1", "u");
        let blob = encode_blob(&key, &s);
        let first = memo.decode(&blob, s.key()).unwrap();
        assert_eq!(*first, s);
        let again = memo.decode(&blob, s.key()).unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the same bytes: the memo's session"
        );
        // A session written since: new bytes, decoded anew, and that answer remembered.
        s.lock_version += 1;
        let newer = encode_blob(&key, &s);
        let decoded = memo.decode(&newer, s.key()).unwrap();
        assert_eq!(decoded.lock_version, s.lock_version);
        assert!(!Arc::ptr_eq(&first, &decoded));
        assert!(Arc::ptr_eq(
            &decoded,
            &memo.decode(&newer, s.key()).unwrap()
        ));
        assert_eq!(memo.len(), 1);
    }

    #[test]
    fn a_remembered_blob_is_never_served_for_another_key_or_after_tampering() {
        let key = signing_key();
        let memo = VerifiedBlobs::new(key.clone(), 16);
        let s = session("sid1", "u");
        let blob = encode_blob(&key, &s);
        memo.decode(&blob, s.key()).unwrap();
        // The same bytes asked for as another session, user or type: not that session.
        let other_type = SessionType::new("oauth2").unwrap();
        for other in [
            SessionKey::new("sid2", "u", &SessionType::default()),
            SessionKey::new("sid1", "v", &SessionType::default()),
            SessionKey::new("sid1", "u", &other_type),
        ] {
            assert_eq!(memo.decode(&blob, other), None);
        }
        // A flipped byte or a truncation of the remembered blob: decoded, and refused.
        let mut flipped = blob.clone();
        if let Some(last) = flipped.last_mut() {
            *last ^= 1;
        }
        assert_eq!(memo.decode(&flipped, s.key()), None);
        assert_eq!(memo.decode(&blob[..blob.len() - 1], s.key()), None);
        // The same session signed with another key: refused.
        let stranger = SigningKey::from_bytes([8; 32]);
        assert_eq!(memo.decode(&encode_blob(&stranger, &s), s.key()), None);
        // The remembered answer is intact.
        assert_eq!(*memo.decode(&blob, s.key()).unwrap(), s);
    }

    #[test]
    fn bounded_or_off() {
        let key = signing_key();
        let memo = VerifiedBlobs::new(key.clone(), 64);
        let off = VerifiedBlobs::new(key.clone(), 0);
        for i in 0..1_000 {
            let s = session(&format!("sid{i}"), &format!("user{i}"));
            let blob = encode_blob(&key, &s);
            assert_eq!(*memo.decode(&blob, s.key()).unwrap(), s);
            let decoded = off.decode(&blob, s.key()).unwrap();
            assert_eq!(*decoded, s);
            assert!(!Arc::ptr_eq(&decoded, &off.decode(&blob, s.key()).unwrap()));
        }
        assert!(memo.len() <= 64, "{} sessions held", memo.len());
        assert_eq!((off.len(), off.capacity()), (0, 0));
        let shown = format!("{memo:?}");
        assert!(
            shown.contains("capacity: 64") && !shown.contains("Signing"),
            "{shown}"
        );
    }
}
