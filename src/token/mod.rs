//! Keys, claims, JWT signing and verification.
