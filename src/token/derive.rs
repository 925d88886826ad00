//! Charon-compatible key derivation (`Charon.Internal.KeyGenerator`).
//!
//! Charon derives every secret it needs from one base secret with
//! PBKDF2-HMAC-SHA256, 250 000 iterations, 32 bytes of output, and a fixed salt per use.
//! The same base secret therefore yields the same keys here and in Charon, so tokens
//! signed by one verify in the other.
//!
//! Derivation is deliberately slow (tens of milliseconds in release builds, seconds in a
//! dependent's unoptimised debug build): derive once at start-up and keep the result, never
//! per request. [`derive_key`] remembers its last few results for the life of the process,
//! so building several handles (or a handle and its Redis store, or one per test) from the
//! same secret derives each key once.

use std::sync::OnceLock;

use quick_cache::sync::Cache;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// PBKDF2 iteration count Charon uses.
pub const PBKDF2_ITERATIONS: u32 = 250_000;

/// Length of a derived key in bytes.
pub const DERIVED_KEY_LEN: usize = 32;

/// Minimum length of a base secret in bytes.
pub const MIN_BASE_SECRET_LEN: usize = 32;

/// Salt of the default JWT signing key (kid `default`, HS256).
pub const JWT_DEFAULT_SALT: &str = "charon_jwt_default";

/// Derive a 32-byte key from `base_secret` for the purpose named by `salt`, exactly as
/// Charon's `KeyGenerator.derive_key/3` with its defaults.
///
/// This function does not check the length of `base_secret`; callers that accept a base
/// secret from configuration reject anything shorter than [`MIN_BASE_SECRET_LEN`] (as
/// [`Keyset::from_base_secret`](crate::token::Keyset::from_base_secret) does).
///
/// Results are remembered per (secret, salt) for the life of the process, at most
/// [`DERIVED_KEY_MEMO`] of them: the memo is keyed by a SHA-256 of the two (never the secret
/// itself) and holds the derived keys, which the handles built from them hold anyway.
#[must_use]
pub fn derive_key(base_secret: &[u8], salt: &str) -> [u8; DERIVED_KEY_LEN] {
    let id = memo_key(base_secret, salt);
    let memo = MEMO.get_or_init(|| Cache::new(DERIVED_KEY_MEMO));
    if let Some(key) = memo.get(&id) {
        return *key;
    }
    let key = pbkdf2::pbkdf2_hmac_array::<Sha256, DERIVED_KEY_LEN>(
        base_secret,
        salt.as_bytes(),
        PBKDF2_ITERATIONS,
    );
    memo.insert(id, Zeroizing::new(key));
    key
}

/// How many derived keys [`derive_key`] remembers.
pub const DERIVED_KEY_MEMO: usize = 16;

/// Derived keys by SHA-256(len(salt) ‖ salt ‖ secret); wiped from memory when evicted.
static MEMO: OnceLock<Cache<[u8; 32], Zeroizing<[u8; DERIVED_KEY_LEN]>>> = OnceLock::new();

fn memo_key(base_secret: &[u8], salt: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update((salt.len() as u64).to_be_bytes());
    hash.update(salt.as_bytes());
    hash.update(base_secret);
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_an_independent_pbkdf2() {
        // Computed with Python's hashlib, independently of this crate:
        // python3 -c "import hashlib; print(hashlib.pbkdf2_hmac('sha256',
        //   b'a base secret of at least 32 bytes!!', b'charon_jwt_default', 250000, 32).hex())"
        let expected = "602cc96ede5fd019c5344c5509d22fdc40d72927f3c544aea3de2da2514245ab";
        let key = derive_key(b"a base secret of at least 32 bytes!!", JWT_DEFAULT_SALT);
        assert_eq!(hex::encode(key), expected);
        // Remembered: the second call returns the same key (from the memo).
        let again = derive_key(b"a base secret of at least 32 bytes!!", JWT_DEFAULT_SALT);
        assert_eq!(again, key);
    }

    #[test]
    fn the_memo_tells_secrets_and_salts_apart() {
        let a = derive_key(b"secret number one, 32 bytes long!", "salt-a");
        let b = derive_key(b"secret number one, 32 bytes long!", "salt-b");
        let c = derive_key(b"secret number two, 32 bytes long!", "salt-a");
        assert_ne!(a, b);
        assert_ne!(a, c);
        // A salt/secret boundary shift is a different input, not a memo hit.
        assert_ne!(memo_key(b"bc", "a"), memo_key(b"c", "ab"));
        assert_eq!(
            a,
            pbkdf2::pbkdf2_hmac_array::<Sha256, DERIVED_KEY_LEN>(
                b"secret number one, 32 bytes long!",
                b"salt-a",
                PBKDF2_ITERATIONS
            )
        );
    }
}
