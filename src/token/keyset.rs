//! A set of keys by key id, at most one of them used for signing.

use std::collections::HashMap;
use std::fmt;

use crate::error::{ConfigError, ConfigErrorKind};
use crate::token::derive::{JWT_DEFAULT_SALT, MIN_BASE_SECRET_LEN, derive_key};
use crate::token::key::{Key, alg_name};

/// Longest accepted key id, in bytes.
pub const MAX_KID_LEN: usize = 128;

/// Prefix of the fallback kid for tokens whose header has no `kid`.
///
/// A token without `kid` and with `"alg":"HS256"` verifies only if the keyset holds a key
/// under the kid `kid_not_set.HS256` (Charon's rule); there is no implicit default.
pub const KID_NOT_SET_PREFIX: &str = "kid_not_set.";

/// Kid of the key derived by [`Keyset::from_base_secret`].
pub const DEFAULT_KID: &str = "default";

/// Keys by key id (`kid`): at most one signing kid, any number of verify-only kids.
///
/// A keyset built with [`new`](Self::new) signs with one of its keys; one built with
/// [`verify_only`](Self::verify_only) or [`from_jwks`](Self::from_jwks) has no signing key
/// and only verifies (a resource service holding public keys), and
/// [`JwtCodec::sign`](crate::token::JwtCodec::sign) answers it with
/// [`SignErrorKind::NoSigningKey`](crate::token::SignErrorKind::NoSigningKey).
///
/// Rotation: add the new key with [`with_key`](Self::with_key), switch with
/// [`with_signing_kid`](Self::with_signing_kid), and keep the old key as long as tokens
/// signed with it may still be presented; they keep verifying through their `kid`.
///
/// ```
/// use charon_auth::token::{Key, Keyset};
/// let keyset = Keyset::new("2024", Key::hs256(&[1u8; 32])?)?
///     .with_key("2025", Key::hs256(&[2u8; 32])?)?
///     .with_signing_kid("2025")?;
/// assert_eq!(keyset.signing_kid(), Some("2025"));
/// assert!(keyset.get("2024").is_some());
///
/// // A verifier's keyset: public keys only, no signing key.
/// let signer = Key::generate_ed25519()?;
/// let public = Key::from_jwk(&signer.key().to_jwk()?)?;
/// let verify_only = Keyset::verify_only([(signer.kid(), public)])?;
/// assert!(!verify_only.can_sign());
/// assert_eq!(verify_only.signing_kid(), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Keyset {
    keys: HashMap<String, Key>,
    signing: Option<Signing>,
}

#[derive(Clone)]
struct Signing {
    kid: String,
    key: Key,
}

impl Keyset {
    /// A keyset holding one key, used for signing. The key must be able to sign
    /// ([`ConfigErrorKind::InvalidKey`] otherwise) and the kid must be valid
    /// ([`ConfigErrorKind::InvalidKid`]).
    pub fn new(signing_kid: impl Into<String>, key: Key) -> Result<Self, ConfigError> {
        let signing_kid = signing_kid.into();
        check_kid(&signing_kid, &key)?;
        check_can_sign(&signing_kid, &key)?;
        let mut keys = HashMap::new();
        keys.insert(signing_kid.clone(), key.clone());
        Ok(Self {
            keys,
            signing: Some(Signing {
                kid: signing_kid,
                key,
            }),
        })
    }

    /// A verify-only keyset: these keys by kid, none of them used for signing.
    ///
    /// The keys are usually public keys ([`Key::ed25519_public_from_pem`],
    /// [`Key::from_jwk`], …); a key that could sign is only used to verify here. At least
    /// one key ([`ConfigErrorKind::Missing`] otherwise); every kid valid and distinct, as
    /// for [`with_key`](Self::with_key) ([`ConfigErrorKind::InvalidKid`]).
    /// [`with_signing_kid`](Self::with_signing_kid) can still pick a signing key later.
    pub fn verify_only<K: Into<String>>(
        keys: impl IntoIterator<Item = (K, Key)>,
    ) -> Result<Self, ConfigError> {
        let mut keyset = Self {
            keys: HashMap::new(),
            signing: None,
        };
        for (kid, key) in keys {
            keyset = keyset.with_key(kid, key)?;
        }
        if keyset.keys.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::Missing,
                "a verify-only keyset needs at least one key",
            ));
        }
        Ok(keyset)
    }

    /// Charon's default keyset: kid `default`, an HS256 key derived from `base_secret`
    /// with PBKDF2 and the salt `charon_jwt_default` (see [`derive_key`]).
    ///
    /// The base secret must be at least 32 bytes ([`ConfigErrorKind::KeyTooShort`]).
    /// Derivation is slow by design: call this once at start-up.
    pub fn from_base_secret(base_secret: &[u8]) -> Result<Self, ConfigError> {
        if base_secret.len() < MIN_BASE_SECRET_LEN {
            return Err(ConfigError::new(
                ConfigErrorKind::KeyTooShort,
                format!("the base secret must be at least {MIN_BASE_SECRET_LEN} bytes"),
            ));
        }
        let mut secret = derive_key(base_secret, JWT_DEFAULT_SALT);
        let key = Key::hs256(&secret);
        secret.fill(0);
        Self::new(DEFAULT_KID, key?)
    }

    /// Add a key under `kid`, verify-only unless made the signing key later.
    ///
    /// [`ConfigErrorKind::InvalidKid`] if the kid is empty, longer than [`MAX_KID_LEN`]
    /// bytes, contains control characters, is already present, or is a
    /// `kid_not_set.<ALG>` kid whose `<ALG>` differs from the key's algorithm.
    pub fn with_key(mut self, kid: impl Into<String>, key: Key) -> Result<Self, ConfigError> {
        let kid = kid.into();
        check_kid(&kid, &key)?;
        if self.keys.contains_key(&kid) {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidKid,
                format!("kid {kid:?} appears twice in the keyset"),
            ));
        }
        self.keys.insert(kid, key);
        Ok(self)
    }

    /// Sign new tokens with the key under `kid`.
    ///
    /// [`ConfigErrorKind::UnknownSigningKid`] if no key has that kid,
    /// [`ConfigErrorKind::InvalidKey`] if that key is verify-only.
    pub fn with_signing_kid(mut self, kid: impl Into<String>) -> Result<Self, ConfigError> {
        let kid = kid.into();
        let Some(key) = self.keys.get(&kid) else {
            return Err(ConfigError::new(
                ConfigErrorKind::UnknownSigningKid,
                format!("signing kid {kid:?} is not in the keyset"),
            ));
        };
        check_can_sign(&kid, key)?;
        self.signing = Some(Signing {
            key: key.clone(),
            kid,
        });
        Ok(self)
    }

    /// The kid new tokens are signed with; `None` for a verify-only keyset.
    pub fn signing_kid(&self) -> Option<&str> {
        self.signing.as_ref().map(|s| s.kid.as_str())
    }

    /// The key new tokens are signed with; `None` for a verify-only keyset.
    pub fn signing_key(&self) -> Option<&Key> {
        self.signing.as_ref().map(|s| &s.key)
    }

    /// Whether this keyset has a signing key (`false` for a verify-only keyset).
    pub fn can_sign(&self) -> bool {
        self.signing.is_some()
    }

    /// The key under `kid`, if any.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.keys.get(kid)
    }

    /// All kids with their keys, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Key)> {
        self.keys.iter().map(|(kid, key)| (kid.as_str(), key))
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the keyset holds no key. Never true for a keyset built by this crate's
    /// constructors, which all require a key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl fmt::Debug for Keyset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        f.debug_struct("Keyset")
            .field("signing_kid", &self.signing_kid())
            .field("kids", &kids)
            .finish()
    }
}

pub(crate) fn check_kid(kid: &str, key: &Key) -> Result<(), ConfigError> {
    let problem = if kid.is_empty() {
        Some("a kid must not be empty")
    } else if kid.len() > MAX_KID_LEN {
        Some("a kid must be at most 128 bytes")
    } else if kid.chars().any(char::is_control) {
        Some("a kid must not contain control characters")
    } else if kid
        .strip_prefix(KID_NOT_SET_PREFIX)
        .is_some_and(|alg| alg != alg_name(key.algorithm()))
    {
        Some("a kid_not_set.<ALG> kid must hold a key of algorithm <ALG>")
    } else {
        None
    };
    match problem {
        Some(message) => Err(ConfigError::new(ConfigErrorKind::InvalidKid, message)),
        None => Ok(()),
    }
}

fn check_can_sign(kid: &str, key: &Key) -> Result<(), ConfigError> {
    if key.can_sign() {
        Ok(())
    } else {
        Err(ConfigError::new(
            ConfigErrorKind::InvalidKey,
            format!("the signing key {kid:?} is verify-only"),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hs(byte: u8) -> Key {
        Key::hs256(&[byte; 32]).unwrap()
    }

    fn kind<T>(r: Result<T, ConfigError>) -> Option<ConfigErrorKind> {
        r.err().map(|e| e.kind())
    }

    #[test]
    fn kid_rules() {
        assert_eq!(
            kind(Keyset::new("", hs(1))),
            Some(ConfigErrorKind::InvalidKid)
        );
        let long = "k".repeat(MAX_KID_LEN + 1);
        assert_eq!(
            kind(Keyset::new(long, hs(1))),
            Some(ConfigErrorKind::InvalidKid)
        );
        assert!(Keyset::new("k".repeat(MAX_KID_LEN), hs(1)).is_ok());
        assert_eq!(
            kind(Keyset::new("a\nb", hs(1))),
            Some(ConfigErrorKind::InvalidKid)
        );
        let dup = Keyset::new("a", hs(1)).and_then(|k| k.with_key("a", hs(2)));
        assert_eq!(kind(dup), Some(ConfigErrorKind::InvalidKid));
        let mismatch = Keyset::new("a", hs(1)).and_then(|k| k.with_key("kid_not_set.HS512", hs(2)));
        assert_eq!(kind(mismatch), Some(ConfigErrorKind::InvalidKid));
        let fallback = Keyset::new("a", hs(1)).and_then(|k| k.with_key("kid_not_set.HS256", hs(2)));
        assert!(fallback.is_ok());
    }

    #[test]
    fn signing_kid_rules() {
        let unknown = Keyset::new("a", hs(1)).and_then(|k| k.with_signing_kid("b"));
        assert_eq!(kind(unknown), Some(ConfigErrorKind::UnknownSigningKid));
        let switched = Keyset::new("a", hs(1))
            .and_then(|k| k.with_key("b", hs(2)))
            .and_then(|k| k.with_signing_kid("b"));
        assert_eq!(
            switched.as_ref().ok().and_then(Keyset::signing_kid),
            Some("b")
        );
        assert!(switched.is_ok_and(|k| k.get("a").is_some() && k.iter().count() == 2));
    }

    #[test]
    fn verify_only_keysets() {
        let keyset = Keyset::verify_only([("a", hs(1)), ("b", hs(2))]).unwrap();
        assert!(!keyset.can_sign());
        assert_eq!(keyset.signing_kid(), None);
        assert!(keyset.signing_key().is_none());
        assert_eq!(keyset.len(), 2);
        let text = format!("{keyset:?}");
        assert!(text.contains("signing_kid: None"), "{text}");
        // A verify-only keyset can be given a signing key later.
        let signing = keyset.with_signing_kid("b").unwrap();
        assert_eq!(signing.signing_kid(), Some("b"));
        let empty = Keyset::verify_only(Vec::<(String, Key)>::new());
        assert_eq!(kind(empty), Some(ConfigErrorKind::Missing));
        let dup = Keyset::verify_only([("a", hs(1)), ("a", hs(2))]);
        assert_eq!(kind(dup), Some(ConfigErrorKind::InvalidKid));
        let bad = Keyset::verify_only([("", hs(1))]);
        assert_eq!(kind(bad), Some(ConfigErrorKind::InvalidKid));
    }

    #[test]
    fn short_base_secret_is_refused() {
        let err = kind(Keyset::from_base_secret(&[1u8; 31]));
        assert_eq!(err, Some(ConfigErrorKind::KeyTooShort));
    }

    #[test]
    fn debug_lists_kids_only() {
        let keyset = Keyset::new("b", hs(1)).and_then(|k| k.with_key("a", hs(2)));
        let text = format!("{:?}", keyset.ok());
        assert!(text.contains(r#"kids: ["a", "b"]"#), "{text}");
        assert!(!text.contains("material"));
    }
}
