//! Token verification on its own: what a resource service, a gateway or a gRPC back end
//! needs, with no signing key, no base secret and no session store.
//!
//! - [`Verifier`] (built with [`VerifierBuilder`]): the issuers it trusts, the audiences it
//!   answers to, leeway, a cache of verified tokens, how tokens are read from requests, and
//!   telemetry. [`Verifier::authenticate`] checks a request; [`Verifier::verify`] a token.
//! - [`TrustedIssuer`]: one issuer, its keys, its claims profile (Charon's claims, or an
//!   outside identity provider's), its maximum token lifetimes.
//! - [`Authenticated`]: the verified identity a request carries.
//! - [`ClaimCheck`]: extra checks a route requires of the claims.
//!
//! The session authority, [`Charon`](crate::Charon), holds a `Verifier` for its own tokens;
//! the Tower layers in [`layer`](crate::layer) are built from either.

mod authenticated;
mod builder;
mod checks;
mod handle;
mod health;
mod issuer;
mod request;
mod slot;

pub use authenticated::Authenticated;
pub(crate) use authenticated::deserialize_claims;
pub use builder::VerifierBuilder;
pub use checks::{ClaimCheck, claim_value};
pub(crate) use handle::KeyFetch;
pub use handle::Verifier;
pub use issuer::{IssuerKeys, TrustedIssuer};
pub(crate) use request::Attempt;
