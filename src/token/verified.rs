//! The result of a successful signature check.

use jsonwebtoken::Algorithm;

/// A compact JWS whose signature verified. Claims are not checked yet.
///
/// Returned by [`JwtCodec::verify_signature`](crate::token::JwtCodec::verify_signature).
/// The payload is raw bytes: JSON for Charon tokens, but any octets for other JWS.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedJws {
    pub(crate) kid: String,
    pub(crate) algorithm: Algorithm,
    pub(crate) payload: Vec<u8>,
}

impl VerifiedJws {
    /// The kid of the key that verified the signature (`kid_not_set.<ALG>` for tokens
    /// without a `kid` header).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm of that key.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The decoded payload.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The decoded payload, by value.
    pub fn into_payload(self) -> Vec<u8> {
        self.payload
    }
}

impl std::fmt::Debug for VerifiedJws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The payload is user data (ids, extra claims): show its size only.
        f.debug_struct("VerifiedJws")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}
