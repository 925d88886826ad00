//! One trusted issuer inside a [`Verifier`](super::Verifier): its rules and its current
//! codec (static keys, or the latest key set of a remote JWKS).

use std::fmt;
use std::ops::Deref;
#[cfg(feature = "jwks")]
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "jwks")]
use crate::error::AuthErrorKind;
use crate::error::{AuthError, ConfigError, ConfigErrorKind};
use crate::token::{ClaimsProfile, JwtCodec, Keyset, TokenType};

use super::TrustedIssuer;
use super::issuer::IssuerKeys;

/// What every codec of one issuer applies, whatever its keys.
#[derive(Debug, Clone)]
struct Rules {
    iss: String,
    profile: ClaimsProfile,
    leeway: Duration,
    audiences: Vec<String>,
    max_access_lifetime: Option<Duration>,
    max_refresh_lifetime: Option<Duration>,
}

impl Rules {
    fn codec(&self, keys: Keyset) -> Result<JwtCodec, ConfigError> {
        let mut codec = JwtCodec::new(keys, self.iss.clone())?
            .with_leeway(self.leeway)?
            .with_profile(self.profile)
            .with_audiences(self.audiences.iter().cloned());
        if let Some(max) = self.max_access_lifetime {
            codec = codec.with_max_lifetime(TokenType::Access, max);
        }
        if let Some(max) = self.max_refresh_lifetime {
            codec = codec.with_max_lifetime(TokenType::Refresh, max);
        }
        Ok(codec)
    }
}

/// One trusted issuer of a verifier.
pub(super) struct IssuerSlot {
    rules: Rules,
    keys: SlotKeys,
}

enum SlotKeys {
    Static(JwtCodec),
    #[cfg(feature = "jwks")]
    Remote(RemoteKeys),
}

/// A remote key set and the codec built for its latest version.
#[cfg(feature = "jwks")]
struct RemoteKeys {
    jwks: crate::jwks::RemoteJwks,
    current: arc_swap::ArcSwapOption<RemoteCodec>,
}

#[cfg(feature = "jwks")]
pub(super) struct RemoteCodec {
    keys: Arc<Keyset>,
    codec: JwtCodec,
}

/// The codec an issuer verifies with right now.
pub(super) enum Codec<'a> {
    Static(&'a JwtCodec),
    #[cfg(feature = "jwks")]
    Remote(Arc<RemoteCodec>),
}

impl Deref for Codec<'_> {
    type Target = JwtCodec;

    fn deref(&self) -> &JwtCodec {
        match self {
            Codec::Static(codec) => codec,
            #[cfg(feature = "jwks")]
            Codec::Remote(remote) => &remote.codec,
        }
    }
}

impl IssuerSlot {
    /// The slot of `issuer` under the verifier's leeway and audiences.
    pub(super) fn new(
        issuer: TrustedIssuer,
        leeway: Duration,
        audiences: &[String],
    ) -> Result<Self, ConfigError> {
        for max in [issuer.max_access_lifetime, issuer.max_refresh_lifetime]
            .into_iter()
            .flatten()
        {
            if max.is_zero() || max > crate::config::MAX_TTL {
                return Err(ConfigError::new(
                    ConfigErrorKind::InvalidTtl,
                    "a maximum token lifetime must lie between 1 s and 100 years",
                ));
            }
        }
        let rules = Rules {
            iss: issuer.iss,
            profile: issuer.profile,
            leeway,
            audiences: audiences.to_vec(),
            max_access_lifetime: issuer.max_access_lifetime,
            max_refresh_lifetime: issuer.max_refresh_lifetime,
        };
        let keys = match issuer.keys {
            IssuerKeys::Static(keys) => SlotKeys::Static(rules.codec(keys)?),
            #[cfg(feature = "jwks")]
            IssuerKeys::Remote(jwks) => SlotKeys::Remote(RemoteKeys {
                jwks,
                current: arc_swap::ArcSwapOption::empty(),
            }),
        };
        Ok(Self { rules, keys })
    }

    /// The issuer (`iss`).
    pub(super) fn iss(&self) -> &str {
        &self.rules.iss
    }

    /// The static codec, for an issuer with static keys.
    pub(super) fn static_codec(&self) -> Option<&JwtCodec> {
        match &self.keys {
            SlotKeys::Static(codec) => Some(codec),
            #[cfg(feature = "jwks")]
            SlotKeys::Remote(_) => None,
        }
    }

    /// The codec to verify with now. For remote keys, the codec of the latest key set,
    /// built once per key set; `key_set_changed` runs when it had to be rebuilt (tokens
    /// verified with the previous keys must be verified again).
    ///
    /// # Errors
    ///
    /// [`AuthErrorKind::KeysUnavailable`] when a remote issuer has no keys.
    pub(super) fn codec(&self, key_set_changed: impl FnOnce()) -> Result<Codec<'_>, AuthError> {
        match &self.keys {
            SlotKeys::Static(codec) => {
                let _ = key_set_changed;
                Ok(Codec::Static(codec))
            }
            #[cfg(feature = "jwks")]
            SlotKeys::Remote(remote) => {
                let unavailable = || AuthError::new(AuthErrorKind::KeysUnavailable);
                let keys = remote.jwks.current().ok_or_else(unavailable)?;
                if let Some(current) = remote.current.load_full()
                    && Arc::ptr_eq(&current.keys, &keys)
                {
                    return Ok(Codec::Remote(current));
                }
                let codec = self
                    .rules
                    .codec((*keys).clone())
                    .map_err(|e| unavailable().with_source(e))?;
                let built = Arc::new(RemoteCodec { keys, codec });
                remote.current.store(Some(Arc::clone(&built)));
                key_set_changed();
                Ok(Codec::Remote(built))
            }
        }
    }

    /// The remote key set, for an issuer whose keys come from a JWKS endpoint.
    #[cfg(feature = "jwks")]
    pub(super) fn remote(&self) -> Option<&crate::jwks::RemoteJwks> {
        match &self.keys {
            SlotKeys::Static(_) => None,
            SlotKeys::Remote(remote) => Some(&remote.jwks),
        }
    }
}

impl fmt::Debug for IssuerSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Issuer");
        d.field("iss", &self.rules.iss)
            .field("profile", &self.rules.profile);
        match &self.keys {
            SlotKeys::Static(codec) => d.field("keys", codec.keyset()),
            #[cfg(feature = "jwks")]
            SlotKeys::Remote(remote) => d.field("keys", &remote.jwks),
        };
        d.finish()
    }
}
