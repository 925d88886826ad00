//! Charon-compatible key derivation (`Charon.Internal.KeyGenerator`).
//!
//! Charon derives every secret it needs from one base secret with
//! PBKDF2-HMAC-SHA256, 250 000 iterations, 32 bytes of output, and a fixed salt per use.
//! The same base secret therefore yields the same keys here and in Charon, so tokens
//! signed by one verify in the other.
//!
//! Derivation is deliberately slow (tens of milliseconds in release builds): derive once at
//! start-up and keep the result, never per request.

use sha2::Sha256;

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
#[must_use]
pub fn derive_key(base_secret: &[u8], salt: &str) -> [u8; DERIVED_KEY_LEN] {
    pbkdf2::pbkdf2_hmac_array::<Sha256, DERIVED_KEY_LEN>(
        base_secret,
        salt.as_bytes(),
        PBKDF2_ITERATIONS,
    )
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
    }
}
