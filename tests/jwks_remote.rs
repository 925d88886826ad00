//! Remote JWKS tests.
