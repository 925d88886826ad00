//! Generating Ed25519 and ES256 signing keys with the crypto backend.

use std::fmt;

use jsonwebtoken::{Algorithm, EncodingKey};
use zeroize::Zeroizing;

use crate::error::{ConfigError, ConfigErrorKind};
use crate::token::key::{Key, alg_name};
use crate::token::keyset::Keyset;

/// A freshly generated signing key, its kid, and its private key as PEM for storing it.
///
/// The kid is the key's RFC 7638 thumbprint ([`Key::thumbprint`]), so the same key read
/// back from its PEM later gets the same kid. The PEM is PKCS#8 (`-----BEGIN PRIVATE
/// KEY-----`), what [`Key::ed25519_from_pem`] and [`Key::ec_from_pem`] read and what
/// `openssl pkey` understands. It is the only way this crate hands out private material:
/// write it to a file only readable by the service, never log it. It is overwritten with
/// zeros (`zeroize`) when the `GeneratedKey` is dropped; `Debug` shows the kid only.
///
/// ```
/// use charon_auth::token::{Algorithm, Key};
/// let generated = Key::generate_ed25519()?;
/// assert!(generated.key().can_sign());
/// assert_eq!(generated.key().algorithm(), Algorithm::EdDSA);
/// // Stored and read back: the same key, the same kid.
/// let again = Key::ed25519_from_pem(generated.private_key_pem().as_bytes())?;
/// assert_eq!(again.thumbprint()?, generated.kid());
/// assert!(!format!("{generated:?}").contains("PRIVATE"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct GeneratedKey {
    key: Key,
    kid: String,
    pem: Zeroizing<String>,
}

impl GeneratedKey {
    /// The key; it can sign.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// The kid: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key as a PKCS#8 PEM, for storing it. Secret.
    pub fn private_key_pem(&self) -> &str {
        &self.pem
    }

    /// A keyset signing with this key under its kid.
    pub fn keyset(&self) -> Result<Keyset, ConfigError> {
        Keyset::new(self.kid.clone(), self.key.clone())
    }

    /// The key, dropping (and zeroing) the PEM.
    pub fn into_key(self) -> Key {
        self.key
    }
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("alg", &format_args!("{}", alg_name(self.key.algorithm())))
            .field("kid", &self.kid)
            .field("private_key_pem", &"REDACTED")
            .finish()
    }
}

impl Key {
    /// Generate an Ed25519 (`EdDSA`) signing key with the crypto backend's random generator
    /// (aws-lc-rs; with only `rust_crypto`, the operating system's generator).
    ///
    /// [`ConfigErrorKind::InvalidKey`] if the backend fails, which it does not in practice.
    pub fn generate_ed25519() -> Result<GeneratedKey, ConfigError> {
        let der = backend::ed25519_pkcs8()?;
        let key = Key::ed25519_from_pkcs8_der(&der)?;
        finish(key, private_pem(&der))
    }

    /// Generate an ECDSA P-256 (`ES256`) signing key with the crypto backend (aws-lc-rs, or
    /// the `p256` crate with only `rust_crypto`).
    ///
    /// [`ConfigErrorKind::InvalidKey`] if the backend fails, which it does not in practice.
    pub fn generate_es256() -> Result<GeneratedKey, ConfigError> {
        let der = backend::es256_pkcs8()?;
        let key = Key::from_private(Algorithm::ES256, EncodingKey::from_ec_der(&der))?;
        finish(key, private_pem(&der))
    }
}

fn finish(key: Key, pem: Zeroizing<String>) -> Result<GeneratedKey, ConfigError> {
    let kid = key
        .thumbprint()
        .map_err(|e| generation_failed().with_source(e))?;
    Ok(GeneratedKey { key, kid, pem })
}

fn private_pem(der: &[u8]) -> Zeroizing<String> {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    Zeroizing::new(pem::encode_config(
        &pem::Pem::new("PRIVATE KEY", der),
        config,
    ))
}

fn generation_failed() -> ConfigError {
    ConfigError::new(ConfigErrorKind::InvalidKey, "key generation failed")
}

#[cfg(feature = "aws_lc_rs")]
mod backend {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
    use zeroize::Zeroizing;

    use super::generation_failed;
    use crate::error::ConfigError;

    /// A PKCS#8 v1 document: the form jsonwebtoken (and `openssl genpkey`) use.
    pub(super) fn ed25519_pkcs8() -> Result<Zeroizing<Vec<u8>>, ConfigError> {
        let document = Ed25519KeyPair::generate_pkcs8v1(&SystemRandom::new())
            .map_err(|_| generation_failed())?;
        Ok(Zeroizing::new(document.as_ref().to_vec()))
    }

    pub(super) fn es256_pkcs8() -> Result<Zeroizing<Vec<u8>>, ConfigError> {
        let document =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| generation_failed())?;
        Ok(Zeroizing::new(document.as_ref().to_vec()))
    }
}

#[cfg(not(feature = "aws_lc_rs"))]
mod backend {
    use p256::pkcs8::EncodePrivateKey as _;
    use rand::TryRngCore as _;
    use zeroize::Zeroizing;

    use super::generation_failed;
    use crate::error::ConfigError;

    /// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410), followed by the 32-byte seed.
    const ED25519_PKCS8_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];

    /// An Ed25519 private key is 32 random bytes (RFC 8032 §5.1.5), from the OS generator.
    pub(super) fn ed25519_pkcs8() -> Result<Zeroizing<Vec<u8>>, ConfigError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng
            .try_fill_bytes(seed.as_mut())
            .map_err(|_| generation_failed())?;
        let mut der = Zeroizing::new(Vec::with_capacity(48));
        der.extend_from_slice(&ED25519_PKCS8_PREFIX);
        der.extend_from_slice(seed.as_ref());
        Ok(der)
    }

    pub(super) fn es256_pkcs8() -> Result<Zeroizing<Vec<u8>>, ConfigError> {
        let secret = p256::SecretKey::random(&mut rand_core::OsRng);
        let document = secret.to_pkcs8_der().map_err(|_| generation_failed())?;
        Ok(Zeroizing::new(document.as_bytes().to_vec()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::token::{Claims, JwtCodec, TokenType};

    #[test]
    fn generated_keys_sign_and_reload_from_their_pem() {
        let generated = [Key::generate_ed25519(), Key::generate_es256()];
        for generated in generated {
            let generated = generated.unwrap();
            let alg = generated.key().algorithm();
            let pem = generated.private_key_pem().to_owned();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
            assert!(!pem.contains('\r'));
            let reloaded = match alg {
                Algorithm::EdDSA => Key::ed25519_from_pem(pem.as_bytes()).unwrap(),
                _ => Key::ec_from_pem(alg, pem.as_bytes()).unwrap(),
            };
            assert_eq!(reloaded.thumbprint().unwrap(), generated.kid());
            // 43 base64url characters: a SHA-256.
            assert_eq!(generated.kid().len(), 43);
            let codec = JwtCodec::new(generated.keyset().unwrap(), "iss").unwrap();
            let claims =
                Claims::new(TokenType::Access, "iss", "u", "s", "full", "j").with_validity(1, 2);
            let token = codec.sign(&claims).unwrap();
            let verifier = JwtCodec::new(
                Keyset::verify_only([(generated.kid(), reloaded)]).unwrap(),
                "iss",
            )
            .unwrap();
            assert_eq!(
                verifier.verify(&token, 1, TokenType::Access).unwrap(),
                claims
            );
        }
        // Two generations give two keys.
        let a = Key::generate_ed25519().unwrap();
        let b = Key::generate_ed25519().unwrap();
        assert_ne!(a.kid(), b.kid());
    }
}
