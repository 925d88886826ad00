//! Signing and verification keys, each bound to one algorithm.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::{Sha256, Sha384, Sha512};
use simple_asn1::ASN1Block;

use crate::error::{ConfigError, ConfigErrorKind};

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410): version 0, algorithm id
/// `1.3.101.112`, then an OCTET STRING wrapping the 32-byte seed as an OCTET STRING.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A key for one JWS algorithm.
///
/// The algorithm is fixed when the key is built and decides how tokens are signed and
/// verified: a token header naming another algorithm is refused, so the header cannot
/// steer verification (no algorithm confusion). A key built from private material can sign
/// and verify; a key built from public material only verifies.
///
/// Cheap to clone (the material sits behind an `Arc`). `Debug` never shows key material.
///
/// ```
/// use charon_auth::token::Key;
/// let key = Key::hs256(&[7u8; 32])?;
/// assert!(key.can_sign());
/// assert_eq!(format!("{key:?}"), r#"Key { alg: HS256, material: "REDACTED" }"#);
/// assert!(Key::hs256(b"too short").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Key {
    inner: Arc<KeyInner>,
}

struct KeyInner {
    alg: Algorithm,
    signing: Option<EncodingKey>,
    verifying: DecodingKey,
    /// HS* keys: the keyed HMAC state, computed once (jsonwebtoken re-keys on every call).
    hmac: Option<HmacKey>,
}

/// A keyed HMAC, ready to be cloned and fed one message.
#[derive(Clone)]
pub(crate) enum HmacKey {
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

/// The longest HMAC tag (SHA-512): 64 bytes.
pub(crate) const MAX_HMAC_LEN: usize = 64;

impl HmacKey {
    fn new(alg: Algorithm, secret: &[u8]) -> Option<Self> {
        Some(match alg {
            Algorithm::HS256 => Self::Sha256(Mac::new_from_slice(secret).ok()?),
            Algorithm::HS384 => Self::Sha384(Mac::new_from_slice(secret).ok()?),
            Algorithm::HS512 => Self::Sha512(Mac::new_from_slice(secret).ok()?),
            _ => return None,
        })
    }

    /// Whether `tag` is the HMAC of `message`, compared in constant time.
    pub(crate) fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        fn check<M: Mac + Clone>(mac: &M, message: &[u8], tag: &[u8]) -> bool {
            let mut mac = mac.clone();
            mac.update(message);
            mac.verify_slice(tag).is_ok()
        }
        match self {
            Self::Sha256(mac) => check(mac, message, tag),
            Self::Sha384(mac) => check(mac, message, tag),
            Self::Sha512(mac) => check(mac, message, tag),
        }
    }

    /// The HMAC of `message`, written to the start of `out`; returns its length.
    pub(crate) fn sign(&self, message: &[u8], out: &mut [u8; MAX_HMAC_LEN]) -> usize {
        fn tag<M: Mac + Clone>(mac: &M, message: &[u8], out: &mut [u8]) -> usize {
            let mut mac = mac.clone();
            mac.update(message);
            let bytes = mac.finalize().into_bytes();
            let n = bytes.len().min(out.len());
            if let (Some(dst), Some(src)) = (out.get_mut(..n), bytes.get(..n)) {
                dst.copy_from_slice(src);
            }
            n
        }
        match self {
            Self::Sha256(mac) => tag(mac, message, out),
            Self::Sha384(mac) => tag(mac, message, out),
            Self::Sha512(mac) => tag(mac, message, out),
        }
    }
}

impl Key {
    /// An HMAC key (`HS256`, `HS384` or `HS512`).
    ///
    /// The secret must be at least as long as the hash output: 32, 48 or 64 bytes
    /// (RFC 7518 §3.2), otherwise [`ConfigErrorKind::KeyTooShort`]. Another algorithm gives
    /// [`ConfigErrorKind::InvalidKey`].
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, ConfigError> {
        let min = match alg {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => return Err(invalid("Key::hmac takes HS256, HS384 or HS512")),
        };
        if secret.len() < min {
            return Err(ConfigError::new(
                ConfigErrorKind::KeyTooShort,
                format!(
                    "{} secret must be at least {min} bytes, got {}",
                    alg_name(alg),
                    secret.len()
                ),
            ));
        }
        let mut key = Self::build(
            alg,
            Some(EncodingKey::from_secret(secret)),
            DecodingKey::from_secret(secret),
        );
        if let Some(inner) = Arc::get_mut(&mut key.inner) {
            inner.hmac = HmacKey::new(alg, secret);
        }
        Ok(key)
    }

    /// An `HS256` key; the secret must be at least 32 bytes.
    pub fn hs256(secret: &[u8]) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS256, secret)
    }

    /// An `HS384` key; the secret must be at least 48 bytes.
    pub fn hs384(secret: &[u8]) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS384, secret)
    }

    /// An `HS512` key; the secret must be at least 64 bytes.
    pub fn hs512(secret: &[u8]) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS512, secret)
    }

    /// An Ed25519 (`EdDSA`) signing key from a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`,
    /// as written by `openssl genpkey -algorithm ed25519`).
    pub fn ed25519_from_pem(pem: &[u8]) -> Result<Self, ConfigError> {
        let encoding = EncodingKey::from_ed_pem(pem).map_err(invalid_source)?;
        Self::from_private(Algorithm::EdDSA, encoding)
    }

    /// An Ed25519 (`EdDSA`) signing key from PKCS#8 v1 DER bytes.
    pub fn ed25519_from_pkcs8_der(der: &[u8]) -> Result<Self, ConfigError> {
        Self::from_private(Algorithm::EdDSA, EncodingKey::from_ed_der(der))
    }

    /// An Ed25519 (`EdDSA`) signing key from the raw 32-byte private seed (RFC 8032), the
    /// form Charon keysets and JWK `d` values hold.
    pub fn ed25519_from_seed(seed: &[u8]) -> Result<Self, ConfigError> {
        if seed.len() != 32 {
            return Err(invalid("an Ed25519 seed is exactly 32 bytes"));
        }
        let mut der = Vec::with_capacity(ED25519_PKCS8_PREFIX.len() + seed.len());
        der.extend_from_slice(&ED25519_PKCS8_PREFIX);
        der.extend_from_slice(seed);
        let encoding = EncodingKey::from_ed_der(&der);
        der.fill(0);
        Self::from_private(Algorithm::EdDSA, encoding)
    }

    /// A verify-only Ed25519 (`EdDSA`) key from a public-key PEM
    /// (`-----BEGIN PUBLIC KEY-----`).
    pub fn ed25519_public_from_pem(pem: &[u8]) -> Result<Self, ConfigError> {
        let decoding = DecodingKey::from_ed_pem(pem).map_err(invalid_source)?;
        Self::from_public(Algorithm::EdDSA, decoding)
    }

    /// A verify-only Ed25519 (`EdDSA`) key from the raw 32-byte public key (JWK `x`).
    pub fn ed25519_public_from_bytes(public_key: &[u8]) -> Result<Self, ConfigError> {
        Self::from_public(Algorithm::EdDSA, DecodingKey::from_ed_der(public_key))
    }

    /// An ECDSA signing key (`ES256` on P-256 or `ES384` on P-384) from a PKCS#8 PEM.
    ///
    /// A key on the wrong curve for `alg` is [`ConfigErrorKind::InvalidKey`].
    pub fn ec_from_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, ConfigError> {
        require_ec(alg)?;
        let encoding = EncodingKey::from_ec_pem(pem).map_err(invalid_source)?;
        Self::from_private(alg, encoding)
    }

    /// A verify-only ECDSA key (`ES256` or `ES384`) from a public-key PEM.
    pub fn ec_public_from_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, ConfigError> {
        require_ec(alg)?;
        let decoding = DecodingKey::from_ec_pem(pem).map_err(invalid_source)?;
        Self::from_public(alg, decoding)
    }

    /// An RSA signing key (`RS256/384/512` or `PS256/384/512`) from a PEM, PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`).
    ///
    /// The modulus must have at least [`MIN_RSA_BITS`] bits, otherwise
    /// [`ConfigErrorKind::KeyTooShort`].
    pub fn rsa_from_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, ConfigError> {
        require_rsa(alg)?;
        let encoding = EncodingKey::from_rsa_pem(pem).map_err(invalid_source)?;
        check_rsa_size(encoding.as_bytes(), true)?;
        Self::from_private(alg, encoding)
    }

    /// A verify-only RSA key from a public-key PEM, PKCS#1 (`BEGIN RSA PUBLIC KEY`) or
    /// SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`). Same modulus rule as
    /// [`rsa_from_pem`](Self::rsa_from_pem).
    pub fn rsa_public_from_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, ConfigError> {
        require_rsa(alg)?;
        let decoding = DecodingKey::from_rsa_pem(pem).map_err(invalid_source)?;
        check_rsa_size(decoding.try_get_as_bytes().map_err(invalid_source)?, false)?;
        Self::from_public(alg, decoding)
    }

    /// The algorithm this key signs and verifies with.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.alg
    }

    /// Whether this key holds private material and can sign.
    pub fn can_sign(&self) -> bool {
        self.inner.signing.is_some()
    }

    pub(crate) fn encoding_key(&self) -> Option<&EncodingKey> {
        self.inner.signing.as_ref()
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.inner.verifying
    }

    /// The precomputed HMAC of an HS* key.
    pub(crate) fn hmac_key(&self) -> Option<&HmacKey> {
        self.inner.hmac.as_ref()
    }

    fn build(alg: Algorithm, signing: Option<EncodingKey>, verifying: DecodingKey) -> Self {
        // Every key goes through here before any signing or verification can happen.
        crate::token::provider::ensure_installed();
        Self {
            inner: Arc::new(KeyInner {
                alg,
                signing,
                verifying,
                hmac: None,
            }),
        }
    }

    /// Whether this is an HMAC (`HS*`) key: a shared secret, never exported.
    pub(crate) fn is_symmetric(&self) -> bool {
        matches!(
            self.inner.alg,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        )
    }

    /// Validate private material by deriving its public half through the crypto backend.
    pub(crate) fn from_private(alg: Algorithm, encoding: EncodingKey) -> Result<Self, ConfigError> {
        crate::token::provider::ensure_installed();
        let jwk = Jwk::from_encoding_key(&encoding, alg).map_err(invalid_source)?;
        check_public(alg, &jwk)?;
        let decoding = DecodingKey::from_jwk(&jwk).map_err(invalid_source)?;
        Ok(Self::build(alg, Some(encoding), decoding))
    }

    pub(crate) fn from_public(alg: Algorithm, decoding: DecodingKey) -> Result<Self, ConfigError> {
        crate::token::provider::ensure_installed();
        let jwk = Jwk::from_decoding_key(&decoding, Some(alg)).map_err(invalid_source)?;
        check_public(alg, &jwk)?;
        Ok(Self::build(alg, None, decoding))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("alg", &format_args!("{}", alg_name(self.inner.alg)))
            .field("material", &"REDACTED")
            .finish()
    }
}

/// The JOSE name of an algorithm (`"HS256"`, `"EdDSA"`, …).
pub(crate) fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        // Keys are only ever built for the algorithms above.
        _ => "unsupported",
    }
}

/// Check the public half against the algorithm: curve, key size.
fn check_public(alg: Algorithm, jwk: &Jwk) -> Result<(), ConfigError> {
    match (&jwk.algorithm, alg) {
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA) => {
            let len = URL_SAFE_NO_PAD.decode(&p.x).map(|x| x.len());
            if len != Ok(32) {
                return Err(invalid("an Ed25519 public key is exactly 32 bytes"));
            }
        }
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256 | Algorithm::ES384) => {
            let want = if alg == Algorithm::ES256 {
                jsonwebtoken::jwk::EllipticCurve::P256
            } else {
                jsonwebtoken::jwk::EllipticCurve::P384
            };
            if p.curve != want {
                return Err(invalid(
                    "the EC key is on the wrong curve for its algorithm",
                ));
            }
        }
        // The modulus size was checked on the DER before the backend parsed it (aws-lc-rs
        // refuses keys under 2048 bits with an opaque error).
        (AlgorithmParameters::RSA(_), _) if require_rsa(alg).is_ok() => {}
        _ => return Err(invalid("key material does not fit the algorithm")),
    }
    Ok(())
}

/// Refuse an RSA key whose modulus is shorter than [`MIN_RSA_BITS`].
///
/// `der` is a PKCS#1 `RSAPrivateKey` (`SEQUENCE { version, modulus, ... }`) when `private`,
/// else an `RSAPublicKey` (`SEQUENCE { modulus, publicExponent }`): what jsonwebtoken's PEM
/// readers hand out for both PKCS#1 and PKCS#8/SPKI files.
fn check_rsa_size(der: &[u8], private: bool) -> Result<(), ConfigError> {
    let bits = rsa_modulus_bits(der, private)
        .ok_or_else(|| invalid("the RSA key structure could not be read"))?;
    if bits < MIN_RSA_BITS as u64 {
        return Err(ConfigError::new(
            ConfigErrorKind::KeyTooShort,
            format!("RSA modulus must be at least {MIN_RSA_BITS} bits, got {bits}"),
        ));
    }
    Ok(())
}

fn rsa_modulus_bits(der: &[u8], private: bool) -> Option<u64> {
    let blocks = simple_asn1::from_der(der).ok()?;
    let ASN1Block::Sequence(_, items) = blocks.first()? else {
        return None;
    };
    match items.get(usize::from(private))? {
        // `to_biguint` is `None` for a negative integer.
        ASN1Block::Integer(_, n) => n.to_biguint().map(|n| n.bits()),
        _ => None,
    }
}

fn require_ec(alg: Algorithm) -> Result<(), ConfigError> {
    match alg {
        Algorithm::ES256 | Algorithm::ES384 => Ok(()),
        _ => Err(invalid("an EC key takes ES256 or ES384")),
    }
}

fn require_rsa(alg: Algorithm) -> Result<(), ConfigError> {
    match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => Ok(()),
        _ => Err(invalid("an RSA key takes RS256/384/512 or PS256/384/512")),
    }
}

fn invalid(message: &'static str) -> ConfigError {
    ConfigError::new(ConfigErrorKind::InvalidKey, message)
}

fn invalid_source(source: jsonwebtoken::errors::Error) -> ConfigError {
    invalid("key material could not be parsed").with_source(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_modulus_bits_reads_the_der() {
        // SEQUENCE { INTEGER 0x00ff (8 bits), INTEGER 3 }: an RSAPublicKey shape.
        let public = [0x30, 0x07, 0x02, 0x02, 0x00, 0xff, 0x02, 0x01, 0x03];
        assert_eq!(rsa_modulus_bits(&public, false), Some(8));
        assert_eq!(rsa_modulus_bits(&public, true), Some(2));
        assert_eq!(rsa_modulus_bits(&[0x02, 0x01, 0x03], false), None);
        assert_eq!(rsa_modulus_bits(b"junk", false), None);
    }

    #[test]
    fn hmac_lengths() {
        let cases = [
            (Algorithm::HS256, 32),
            (Algorithm::HS384, 48),
            (Algorithm::HS512, 64),
        ];
        for (alg, min) in cases {
            let short = vec![1u8; min - 1];
            let err = Key::hmac(alg, &short).err().map(|e| e.kind());
            assert_eq!(err, Some(ConfigErrorKind::KeyTooShort), "{alg:?}");
            let key = Key::hmac(alg, &vec![1u8; min]);
            assert_eq!(key.map(|k| k.algorithm()).ok(), Some(alg));
        }
        let err = Key::hmac(Algorithm::EdDSA, &[1u8; 64])
            .err()
            .map(|e| e.kind());
        assert_eq!(err, Some(ConfigErrorKind::InvalidKey));
    }

    #[test]
    fn debug_is_redacted() {
        let secret = [0x41u8; 32];
        let key = Key::hs256(&secret).ok();
        let text = format!("{key:?}");
        assert_eq!(text, r#"Some(Key { alg: HS256, material: "REDACTED" })"#);
        assert!(!text.contains("65") && !text.contains("AAAA"));
    }

    #[test]
    fn ed25519_seed_must_be_32_bytes() {
        let err = Key::ed25519_from_seed(&[1u8; 31]).err().map(|e| e.kind());
        assert_eq!(err, Some(ConfigErrorKind::InvalidKey));
        let key = Key::ed25519_from_seed(&[1u8; 32]);
        assert!(key.is_ok_and(|k| k.can_sign() && k.algorithm() == Algorithm::EdDSA));
        let err = Key::ed25519_public_from_bytes(&[1u8; 31])
            .err()
            .map(|e| e.kind());
        assert_eq!(err, Some(ConfigErrorKind::InvalidKey));
    }
}
